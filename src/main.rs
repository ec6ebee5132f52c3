//! The `leakscope` binary: argument parsing and exit codes over the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
