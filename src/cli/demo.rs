//! `leakscope demo` (being written).

use clap::Args;
use std::process::ExitCode;

/// Arguments of `leakscope demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {}

/// Run `leakscope demo`.
pub fn run(_args: DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("'demo' is not built yet")
}
