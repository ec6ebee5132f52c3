//! `leakscope index`: read dump files and build an index of keyed hashes, or, with
//! `--dry-run`, show how each dataset would be read and mapped.

use super::outln;
use anyhow::Context;
use clap::Args;
use leakscope::index::build::{self, BuildOptions};
use leakscope::keys::Secret;
use leakscope::source::{
    LeaveOut, Overrides, ReadOptions, SourceFile, discover_leaving_out, short_rows_note,
    skipped_warning, survey,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{parse_size, progress_bar, thread_pool};

/// Arguments of `leakscope index`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "DUMP is a file or a directory (read recursively). Formats by extension
and content: .csv .tsv .psv .txt (delimiter sniffed), .jsonl .ndjson, .sql
(INSERT statements and pg_dump COPY blocks), any of them gzip-compressed (.gz).
Column meanings are detected from header names and sample values; --map and
--mapping override them column by column. The mapping used is printed.

Mapping file (TOML):
  [columns]                      # every dataset
  \"Tel\" = \"phone\"
  [datasets.\"archive.sql#members\".columns]
  \"ref\" = \"account_ref\"

The index directory holds keyed hashes, never plain identifiers, and a secret
key: it is pseudonymised, not anonymous. Protect it as you protect the dump."
)]
pub struct IndexArgs {
    /// Index directory to create.
    #[arg(long, value_name = "INDEX", required_unless_present = "dry_run")]
    out: Option<PathBuf>,
    /// Column meaning override, e.g. --map "Tel=phone" (repeatable).
    #[arg(long = "map", value_name = "COLUMN=KIND")]
    maps: Vec<String>,
    /// Mapping file ([columns] and [datasets."NAME".columns] tables).
    #[arg(long, value_name = "FILE.toml")]
    mapping: Option<PathBuf>,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Memory the build may use, e.g. 2G, 512M.
    #[arg(long, value_name = "SIZE", default_value = "2G", value_parser = parse_size)]
    memory: u64,
    /// Replace an existing index (atomically).
    #[arg(long)]
    force: bool,
    /// Write every rejected row (dataset, row, offset, reason) to FILE (mode 0600).
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,
    /// Hash with the key in FILE (e.g. an earlier index's `secret`) instead of a new
    /// random one, so a rebuild of the same dumps is byte-identical.
    #[arg(long, value_name = "FILE")]
    secret: Option<PathBuf>,
    /// Only show, per dataset, format, encoding, rows, rejects and column mapping.
    #[arg(long)]
    dry_run: bool,
    /// Dump files or directories.
    #[arg(required = true, value_name = "DUMP")]
    dumps: Vec<PathBuf>,
}

/// Run `leakscope index`.
pub fn run(args: IndexArgs) -> anyhow::Result<ExitCode> {
    let overrides = Overrides::from_cli(&args.maps, args.mapping.as_deref())?;
    let pool = thread_pool(args.threads)?;
    pool.install(|| {
        if args.dry_run {
            return dry_run(&args, &overrides);
        }
        let out = args
            .out
            .clone()
            .context("--out INDEX is required to build")?;
        // A rejects file inside the index directory goes with the old index when
        // `--force` replaces it: refused before anything is read or written.
        if let Some(rejects) = &args.rejects
            && let leakscope::outfile::Destination::Regular(target) =
                leakscope::outfile::destination(rejects)
            && leakscope::outfile::lies_inside(&target, &out)
        {
            anyhow::bail!(
                "--rejects {} is inside the index directory {}: a rebuild replaces that directory and the list would be lost; write it outside",
                rejects.display(),
                out.display()
            );
        }
        // The rejects file named as the only thing to read: say so, rather than
        // that no dump was found.
        if let Some(rejects) = &args.rejects {
            let leave_out = LeaveOut::new().file(rejects, "the --rejects file");
            if args.dumps.iter().all(|d| leave_out.what_is(d).is_some()) {
                let dumps: Vec<String> = args.dumps.iter().map(|d| d.display().to_string()).collect();
                anyhow::bail!(
                    "--rejects {} names the dump given to read ({}): one file cannot be both; write the rejects to another file, e.g. --rejects rejects.csv",
                    rejects.display(),
                    dumps.join(", ")
                );
            }
        }
        let opts = BuildOptions {
            force: args.force,
            memory_budget: usize::try_from(args.memory).unwrap_or(usize::MAX),
            overrides: overrides.clone(),
            rejects: args.rejects.clone(),
            read: ReadOptions::default(),
            secret: match &args.secret {
                Some(path) => {
                    let bytes = std::fs::read(path)
                        .with_context(|| format!("cannot read the secret {}", path.display()))?;
                    Some(Secret::from_bytes(&bytes).with_context(|| {
                        format!("{} is not a leakscope secret", path.display())
                    })?)
                }
                None => None,
            },
        };
        let bar = progress_bar(0, "indexing");
        let summary = build::build(&args.dumps, &out, &opts, &|done, total| {
            if let Some(bar) = &bar {
                bar.set_length(total);
                bar.set_position(done);
            }
        })?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        for note in &summary.notes {
            say!("note: {note}");
        }
        for d in &summary.datasets {
            let rejects: u64 = d.rejects.iter().map(|(_, n)| n).sum();
            say!(
                "{}  {} {}  {} rows, {} indexed, {} rejected{}",
                d.name,
                d.format,
                d.encoding,
                d.rows,
                d.records,
                rejects,
                several_people(d.several, d.people)
            );
            for (reason, n) in &d.rejects {
                say!("  rejected: {n} {reason}");
            }
            if d.short_rows > 0 {
                say!("  note: {}", short_rows_note(d.short_rows));
            }
            for m in &d.mapping {
                say!("  {m}");
            }
        }
        let s = &summary.stats;
        let mb = summary.input_bytes as f64 / 1e6;
        // Index records are people; a row of several people is one record.
        let rows: u64 = summary.datasets.iter().map(|d| d.records).sum();
        let indexed = if rows == s.records {
            format!("{rows} records")
        } else {
            format!("{rows} records ({} people)", s.records)
        };
        say!(
            "indexed {} from {} datasets ({:.1} MB) in {:.2} s ({:.0} MB/s): {} keys, {} postings, {:.1} bytes/posting, {:.1} MB on disk",
            indexed,
            summary.datasets.len(),
            mb,
            summary.seconds,
            mb / summary.seconds.max(1e-9),
            s.keys,
            s.postings,
            s.bytes_per_posting(),
            s.size_bytes as f64 / 1e6
        );
        for warning in &summary.warnings {
            say!("warning: {warning}");
        }
        say!("index written to {}", summary.index.display());
        Ok(ExitCode::SUCCESS)
    })
}

/// `; 2 rows hold several people: 4 people indexed` after a dataset's counts, when
/// some of its rows hold several people (`people`: those rows' people).
fn several_people(several: u64, people: u64) -> String {
    match several {
        0 => String::new(),
        1 => format!("; 1 row holds several people: {people} people indexed"),
        n => format!("; {n} rows hold several people: {people} people indexed"),
    }
}

fn dry_run(args: &IndexArgs, overrides: &Overrides) -> anyhow::Result<ExitCode> {
    let files = open_all(&args.dumps, args.out.as_deref())?;
    let reports = survey(&files, overrides);
    for r in &reports {
        outln!("{r}");
    }
    let unmapped: usize = reports
        .iter()
        .map(|r| r.mapping.iter().filter(|m| m.kind.is_none()).count())
        .sum();
    if unmapped > 0 {
        outln!(
            "{unmapped} column(s) were not mapped to a field kind: they are not used for matching but are still reported as data classes (other:<column>). Map them with --map COLUMN=KIND or --mapping FILE.toml if they identify people."
        );
    }
    let infos: Vec<_> = files.iter().flat_map(|f| f.datasets().to_vec()).collect();
    for warning in overrides.unmatched(&infos) {
        say!("warning: {warning}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens every dump under `dumps`, leaving out the index directory `out` if one
/// is named (an index is never read as a dump).
fn open_all(dumps: &[PathBuf], out: Option<&Path>) -> anyhow::Result<Vec<SourceFile>> {
    let leave_out = match out {
        Some(out) => LeaveOut::new().index(out),
        None => LeaveOut::new(),
    };
    let found = discover_leaving_out(dumps, &leave_out)?;
    for note in &found.notes {
        say!("note: {note}");
    }
    if let Some(warning) = skipped_warning(&found.skipped) {
        say!("warning: {warning}");
    }
    anyhow::ensure!(!found.files.is_empty(), "no dump files found");
    found
        .files
        .iter()
        .map(|(path, name)| SourceFile::open(path, name, None).map_err(anyhow::Error::from))
        .collect()
}
