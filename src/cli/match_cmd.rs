//! `leakscope match` (being written).

use clap::Args;
use std::process::ExitCode;

/// Arguments of `leakscope match`.
#[derive(Args, Debug)]
pub struct MatchArgs {}

/// Run `leakscope match`.
pub fn run(_args: MatchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("'match' is not built yet")
}
