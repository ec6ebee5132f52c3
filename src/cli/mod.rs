//! Command-line front end: one file per subcommand (arguments and printing only).

mod bench;
mod demo;
mod gen_cmd;
mod index;
mod inspect;
mod lookup;
mod match_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// leakscope: who was in the leaked data, and which of their data was taken.
#[derive(Parser, Debug)]
#[command(name = "leakscope", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate a synthetic leaked archive, a resident register and the ground truth.
    Gen(gen_cmd::GenArgs),
    /// Read dump files and build an index of keyed hashes.
    Index(index::IndexArgs),
    /// Describe an index: datasets, mappings, keys, sizes, scopes.
    Inspect(inspect::InspectArgs),
    /// Is this one person in the leaked data, and what of theirs was taken?
    Lookup(lookup::LookupArgs),
    /// Match a whole resident register against the index.
    Match(match_cmd::MatchArgs),
    /// Generate a small archive, index it, and show lookups and a bulk match.
    Demo(demo::DemoArgs),
    /// Measure build, lookup, match and accuracy on synthetic data.
    Bench(bench::BenchArgs),
}

/// Parse arguments, run the command, map the outcome to an exit status:
/// the command's own status on success, 2 with a one-line cause on error.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("leakscope: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Gen(a) => gen_cmd::run(a),
        Command::Index(a) => index::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Lookup(a) => lookup::run(a),
        Command::Match(a) => match_cmd::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Bench(a) => bench::run(a),
    }
}
