//! The CSV reader on arbitrary bytes: never a panic, and the parallel reader (with tiny
//! blocks, so every record boundary is tried) gives exactly what the csv crate gives:
//! the same households, the same report, or the same error.
#![no_main]

use std::io::Write as _;

use libfuzzer_sys::fuzz_target;
use needmap::data::{ImportOptions, Keep, Tuning, import_tuned};
use needmap::progress::Progress;

fuzz_target!(|data: &[u8]| {
    let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    f.write_all(data).unwrap();
    f.flush().unwrap();
    let opts = ImportOptions::default();
    let run = |parallel_csv, block_bytes| {
        let r = import_tuned(f.path(), &opts, &Keep::All, &Progress::new(), Tuning { parallel_csv, block_bytes, ..Tuning::default() });
        format!("{r:#?}")
    };
    let serial = run(false, 8 << 20);
    let parallel = run(true, 64);
    assert_eq!(serial, parallel, "the parallel CSV reader disagrees with the csv crate");
});
