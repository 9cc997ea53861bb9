//! The (Geo)Parquet reader on arbitrary bytes: an import report or an error naming the file,
//! never a panic.
#![no_main]

use std::io::Write as _;

use libfuzzer_sys::fuzz_target;
use needmap::data::{ImportOptions, Keep, import};
use needmap::progress::Progress;

fuzz_target!(|data: &[u8]| {
    let mut f = tempfile::Builder::new().suffix(".parquet").tempfile().unwrap();
    f.write_all(data).unwrap();
    f.flush().unwrap();
    if let Err(e) = import(f.path(), &ImportOptions::default(), &Keep::All, &Progress::new()) {
        let msg = e.to_string();
        assert!(msg.contains(&f.path().display().to_string()), "the message names the file: {msg}");
    }
});
