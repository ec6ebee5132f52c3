//! `leakscope bench` (being written).

use clap::Args;
use std::process::ExitCode;

/// Arguments of `leakscope bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {}

/// Run `leakscope bench`.
pub fn run(_args: BenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("'bench' is not built yet")
}
