//! `leakscope index` (being written).

use clap::Args;
use std::process::ExitCode;

/// Arguments of `leakscope index`.
#[derive(Args, Debug)]
pub struct IndexArgs {}

/// Run `leakscope index`.
pub fn run(_args: IndexArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("'index' is not built yet")
}
