//! `leakscope lookup` (being written).

use clap::Args;
use std::process::ExitCode;

/// Arguments of `leakscope lookup`.
#[derive(Args, Debug)]
pub struct LookupArgs {}

/// Run `leakscope lookup`.
pub fn run(_args: LookupArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("'lookup' is not built yet")
}
