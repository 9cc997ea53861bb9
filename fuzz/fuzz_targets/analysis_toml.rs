//! analysis.toml on arbitrary bytes: an analysis or an error naming the file, never a panic;
//! and whatever loads, written back with `to_toml`, loads again to the same analysis.
#![no_main]

use std::io::Write as _;

use libfuzzer_sys::fuzz_target;
use needmap::analysis::Analysis;

fuzz_target!(|data: &[u8]| {
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    f.write_all(data).unwrap();
    f.flush().unwrap();
    match Analysis::load(f.path()) {
        Ok(a) => {
            let mut g = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
            g.write_all(a.to_toml().as_bytes()).unwrap();
            g.flush().unwrap();
            let again = Analysis::load(g.path()).expect("an analysis written by needmap loads again");
            assert_eq!(again, a, "the analysis round-trips through to_toml");
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains(&f.path().display().to_string()), "the message names the file: {msg}");
        }
    }
});
