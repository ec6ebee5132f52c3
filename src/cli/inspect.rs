//! `leakscope inspect` (being written).

use clap::Args;
use std::process::ExitCode;

/// Arguments of `leakscope inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {}

/// Run `leakscope inspect`.
pub fn run(_args: InspectArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("'inspect' is not built yet")
}
