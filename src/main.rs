//! The `needmap` binary: headless subcommands over the core.
use std::process::ExitCode;

fn main() -> ExitCode {
    needmap::cli::main()
}
