//! `leakscope inspect`: what an index holds, how big it is, and whether its dumps
//! are still there.

use super::{out, outln};
use clap::Args;
use leakscope::index::{Index, report};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `leakscope inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The index directory.
    #[arg(value_name = "INDEX")]
    index: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Also check every checksum of every segment (reads the whole index) and of
    /// every dump file (reads every dump).
    #[arg(long)]
    verify: bool,
}

/// Run `leakscope inspect`.
pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let index = Index::open(&args.index)?;
    if args.verify {
        index.verify()?;
    }
    let report = report::inspect_with(&index, args.verify)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{report}");
        if args.verify {
            outln!(
                "\nverified: every checksum of the index matches; dump files as listed above (by checksum)"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
