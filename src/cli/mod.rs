//! Command-line front end: one file per subcommand (arguments and printing only).

/// A line on stderr, as `eprintln!` writes it, except that a stderr that cannot be
/// written (a closed pipe: `2>&1 | head -1`) is not a panic: the work goes on and
/// its output is still written.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod bench;
mod demo;
mod gen_cmd;
mod index;
mod inspect;
mod lookup;
mod match_cmd;
#[cfg(unix)]
mod sigbus;

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
    // Before anything is mapped: a dump truncated under us is then an error, not a
    // bare crash. Without the handler, such a crash is all that is lost.
    #[cfg(unix)]
    let _ = sigbus::install();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        // The reader went away (`leakscope inspect IDX | head`): a normal end.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            say!("leakscope: error: {}", one_line(&err));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line: a cause whose text the line already holds
/// (an error that prints its source) is not repeated, and line breaks become spaces.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `println!` that returns an error instead of panicking when standard output is
/// closed (a broken pipe then ends the command quietly, see `main`).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// `print!` in the manner of [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?
    }};
}

pub(crate) use {out, outln};

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

/// A progress bar on stderr when it is a terminal, `None` otherwise (no bar in
/// pipes, logs or CI).
pub(crate) fn progress_bar(len: u64, what: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    let style = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(what.to_string());
    Some(bar)
}

/// A rayon pool of `threads` workers (all cores when not given).
pub(crate) fn thread_pool(threads: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        anyhow::ensure!(n > 0, "--threads must be at least 1");
        builder = builder.num_threads(n);
    }
    Ok(builder.build()?)
}

/// Parse a size such as `2G`, `512M`, `64k` or a plain number of bytes.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("'{text}' is not a size (try 2G, 512M or 1048576)"))?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1u64,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size unit '{other}' in '{text}' (use K, M, G or T)"
            ));
        }
    };
    let bytes = value * scale as f64;
    if !(1.0..=1.8e19).contains(&bytes) {
        return Err(format!("'{text}' is out of range"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("2X").is_err());
        assert!(parse_size("0").is_err());
    }
}
