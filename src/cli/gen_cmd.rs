//! `leakscope gen` (being written).

use clap::Args;
use std::process::ExitCode;

/// Arguments of `leakscope gen`.
#[derive(Args, Debug)]
pub struct GenArgs {}

/// Run `leakscope gen`.
pub fn run(_args: GenArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("'gen' is not built yet")
}
