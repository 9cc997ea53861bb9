//! Helpers shared by the integration tests that run the `needmap` binary as a user would: a
//! command in a given directory, and a failure report that prints the command and both streams.
#![allow(dead_code)] // each test crate uses its own subset

pub mod tileserver;

use std::path::Path;
use std::process::{Command, Output};

/// Runs the built `needmap` with `args` in `dir`.
pub fn needmap(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_needmap")).args(args).current_dir(dir).output().unwrap()
}

/// The command, its status and both streams, for assertion messages.
pub fn show(args: &[&str], o: &Output) -> String {
    format!(
        "needmap {}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs, expects exit code 1 and exactly one line on stderr; returns it.
pub fn fails(dir: &Path, args: &[&str]) -> String {
    let o = needmap(dir, args);
    assert_eq!(o.status.code(), Some(1), "{}", show(args, &o));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(err.lines().count(), 1, "{}", show(args, &o));
    assert!(!err.contains("panicked"), "{}", show(args, &o));
    err.trim_end().to_string()
}

/// The names in `dir`, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}
