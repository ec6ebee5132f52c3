//! `leakscope match`: match a whole resident register against an index and write
//! one answer per register row, in register order, with a summary for the breach
//! report.
//!
//! The register is read like a dump (any format, same column detection and
//! overrides). Rows are matched in parallel a group of chunks at a time, so a
//! register of millions of rows needs memory for one group's output only; each
//! chunk formats its own lines into one buffer and the groups are written in order.
//! The per-row work is any `Fn(&Person) -> Answer`, so the whole command logic is
//! tested here without an index.

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use leakscope::field::FieldKind;
use leakscope::matching::engine::{MatchOptions, Matcher};
use leakscope::matching::report::Summary;
use leakscope::matching::{Answer, Scope, Thresholds};
use leakscope::normalize::{Date, Person, date};
use leakscope::outfile::{Destination, destination, lies_inside, open_in_place};
use leakscope::source::{
    ColumnMap, Fields, Origin, Overrides, ReadOptions, RecordRef, Reject, SourceFile, map_dataset,
    rejects::{REJECTS_HEADER, create_rejects_file, write_reject},
};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use xxhash_rust::xxh3::xxh3_64;

use super::{progress_bar, thread_pool};

/// Arguments of `leakscope match`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "Output: one row per register row, in register order, header
  register_id,verdict,score,records,data_classes,evidence
verdict is exposed (score >= --exposed-threshold), possible (for human review)
or not_found; unsearchable for a row with nothing to look up (a name or a date
alone: it needs an identifier, or two of first name, last name, date of birth
and postcode), unreadable for a row that could not be read (the reason is its
evidence): neither was matched, so neither says the resident is safe. records lists dataset:row, best first, then for an exposed
resident the records linked through an email, phone or other personal identifier
of their surest records (--direct-only leaves those out); data_classes is what
those records hold; evidence explains the best match (field names and weights,
never values). With --format jsonl, one JSON object per line with the same fields.

register_id comes from --id-column, else from a column named like an id (id,
resident_id, rec_id, person_id, customer_id, ...), else it is the row number.
The id column is never used for matching. Register rows that cannot be read are
counted, reported and written to --rejects FILE, and get their unreadable row.

A summary (verdicts, exposed residents by data class, dataset and year) goes to
stderr, and with --report to a self-contained HTML page holding counts only."
)]
pub struct MatchArgs {
    /// Index directory built by `leakscope index`.
    #[arg(long, value_name = "INDEX")]
    index: PathBuf,
    /// The resident register: CSV/TSV/PSV, JSON Lines or SQL, optionally gzipped.
    #[arg(value_name = "REGISTER")]
    register: PathBuf,
    /// Write the answers to FILE (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Csv)]
    format: OutputFormat,
    /// Column meaning override, e.g. --map "Tel=phone" (repeatable).
    #[arg(long = "map", value_name = "COLUMN=KIND")]
    maps: Vec<String>,
    /// Mapping file ([columns] and [datasets."NAME".columns] tables).
    #[arg(long, value_name = "FILE.toml")]
    mapping: Option<PathBuf>,
    /// Column holding the register's own id (never used for matching).
    #[arg(long, value_name = "COLUMN")]
    id_column: Option<String>,
    /// Only count records in this scope, e.g. 'dataset:council* and year:2010..2014'.
    #[arg(long, value_name = "EXPR")]
    scope: Option<String>,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// List only records that match the given details themselves, not those found
    /// through an email, phone or other personal identifier of the person's exposed
    /// records.
    #[arg(long)]
    direct_only: bool,
    /// Also write the summary as a self-contained HTML page (counts only).
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    /// Match probability from which a resident is `exposed`.
    #[arg(long, value_name = "X", default_value_t = 0.9)]
    exposed_threshold: f64,
    /// Match probability from which a resident is `possible` (for review).
    #[arg(long, value_name = "Y", default_value_t = 0.5)]
    possible_threshold: f64,
    /// Write rejected register rows (dataset, row, offset, reason) to FILE (mode 0600).
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,
}

/// How answers are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// CSV with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Registers at least this big (about 10,000 rows) have the index mapped in whole
/// before matching ([`MatchOptions::preload`]).
const PRELOAD_REGISTER_BYTES: u64 = 1 << 20;

/// Run `leakscope match`.
pub fn run(args: MatchArgs) -> anyhow::Result<ExitCode> {
    let thresholds = thresholds(args.exposed_threshold, args.possible_threshold)?;
    let scope = args
        .scope
        .as_deref()
        .map(Scope::parse)
        .transpose()
        .context("--scope")?;
    // Files this run writes must not be the register it reads, and a report that
    // cannot be written is found out before the answers are.
    for (flag, path) in [
        ("--out", &args.out),
        ("--report", &args.report),
        ("--rejects", &args.rejects),
    ] {
        if let Some(path) = path
            && same_file(path, &args.register)
        {
            bail!(
                "{flag} {} is the register itself: writing it would destroy the register; write to another file",
                path.display()
            );
        }
    }
    // Two outputs on one file: one of them would be lost.
    let outputs: Vec<(&str, PathBuf)> = [
        ("--out", &args.out),
        ("--report", &args.report),
        ("--rejects", &args.rejects),
    ]
    .into_iter()
    .filter_map(|(flag, path)| Some((flag, destination(path.as_ref()?).path().to_path_buf())))
    .collect();
    for (i, (flag, path)) in outputs.iter().enumerate() {
        for (other, other_path) in outputs.iter().skip(i + 1) {
            if path == other_path || same_file(path, other_path) {
                bail!(
                    "{flag} and {other} name the same file {}: one would overwrite the other; give each its own",
                    path.display()
                );
            }
        }
    }
    if let Some(path) = &args.report
        && let Destination::Regular(target) = destination(path)
    {
        writable_beside(&target)
            .with_context(|| format!("cannot write the report {}", path.display()))?;
    }
    let overrides = Overrides::from_cli(&args.maps, args.mapping.as_deref())?;
    let register = Register::open(
        &args.register,
        &overrides,
        args.id_column.as_deref(),
        CHUNK_BYTES,
    )?;
    register.describe();
    let pool = thread_pool(args.threads)?;
    // A big register touches most of the index: map it in at once rather than a
    // page fault at a time (a small one would pay for pages it never reads).
    let preload =
        std::fs::metadata(&args.register).is_ok_and(|m| m.len() >= PRELOAD_REGISTER_BYTES);
    let opts = MatchOptions {
        thresholds,
        scope,
        reveal: false,
        preload,
        direct_only: args.direct_only,
    };
    let matcher = Matcher::open(&args.index, opts)?;
    refuse_own_files(&matcher, &args)?;
    for warning in matcher.warnings() {
        say!("warning: {warning}");
    }

    let mut rejects_out = match &args.rejects {
        Some(path) => Some(
            create_rejects_file(path)
                .with_context(|| format!("cannot create the rejects file {}", path.display()))?,
        ),
        None => None,
    };
    let mut output = Output::open(args.out.as_deref())?;
    let bar = progress_bar(register.file.len_bytes(), "matching");
    let started = std::time::Instant::now();
    let result = pool.install(|| {
        match_register(
            &register,
            args.format,
            &|person| matcher.query_brief(person),
            output.writer(),
            rejects_out.as_mut().map(|w| w as &mut dyn Write),
            &|done| {
                if let Some(bar) = &bar {
                    bar.set_position(done);
                }
            },
        )
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let mut summary = match result {
        Ok(summary) => summary,
        // The reader went away (`| head`): not an error of ours.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Err(e) => {
            output.abandon();
            return Err(anyhow::Error::new(e).context("writing the match output"));
        }
    };
    if let Some(w) = rejects_out.as_mut() {
        w.flush().context("writing the rejects file")?;
    }
    output.finish()?;
    let seconds = started.elapsed().as_secs_f64();
    summary.scope = args.scope.clone();

    {
        use std::io::Write as _;
        let _ = write!(io::stderr(), "{summary}");
    }
    say!(
        "matched {} register rows against {} records in {} datasets in {:.2} s ({:.0} rows/s)",
        summary.answered(),
        matcher.record_count(),
        matcher.dataset_names().len(),
        seconds,
        summary.rows() as f64 / seconds.max(1e-9)
    );
    if summary.duplicate_ids > 0 {
        say!(
            "warning: {} register rows repeat an id an earlier row has: their output rows \
             share it, so tell them apart by position",
            summary.duplicate_ids
        );
    }
    if !summary.unusable.is_empty() {
        let each: Vec<String> = summary
            .unusable
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        say!(
            "warning: register values that are not a usable value of their column's kind (an email without '@', an impossible date...) were left out of their rows: {}; check those columns' format (`--map` if a column is mapped wrongly)",
            each.join(", ")
        );
    }
    if summary.blank_ids > 0 {
        say!(
            "warning: {} register rows have a blank id: their output rows have an empty register_id",
            summary.blank_ids
        );
    }
    if summary.rejects > 0 && args.rejects.is_none() {
        say!(
            "warning: {} register rows could not be read and were not matched; \
             list them with --rejects FILE",
            summary.rejects
        );
    }
    if let Some(path) = &args.report {
        let title = format!("leakscope match: {}", register.name);
        write_atomically(path, summary.html(&title).as_bytes())
            .with_context(|| format!("cannot write the report {}", path.display()))?;
        say!("report written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn thresholds(exposed: f64, possible: f64) -> anyhow::Result<Thresholds> {
    Thresholds::new(exposed, possible).map_err(anyhow::Error::msg)
}

/// The register file, what its columns mean and where its ids are.
pub(crate) struct Register {
    pub(crate) file: SourceFile,
    name: String,
    mapping: Vec<ColumnMap>,
    /// Kind per column, `None` for the id column and unmapped ones.
    pub(crate) kinds: Vec<Option<FieldKind>>,
    /// The order each column's numeric dates are written in (a month-first `dob`).
    pub(crate) orders: Vec<date::Order>,
    id_column: Option<usize>,
    /// The day the match runs: register dates of birth after it are typos.
    today: Date,
}

/// Register chunks: small enough that even a small register spreads over the
/// threads and that a group ends with little idle time on the last chunk (a
/// 64 KiB chunk is about 600 rows, a few tens of milliseconds), large enough that
/// a chunk's setup is noise.
pub(crate) const CHUNK_BYTES: usize = 64 << 10;

/// Chunks matched together per thread before their answers are written: the
/// threads wait for each other at the end of a group, so the more chunks per
/// group, the less that wait costs; a group's answers are held in memory.
const CHUNKS_PER_THREAD: usize = 32;

impl Register {
    pub(crate) fn open(
        path: &Path,
        overrides: &Overrides,
        id_column: Option<&str>,
        chunk_bytes: usize,
    ) -> anyhow::Result<Self> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().trim_end_matches(".gz").to_string())
            .unwrap_or_else(|| path.display().to_string());
        let options = ReadOptions {
            chunk_size: chunk_bytes,
            // One answer per line: a blank line is a resident with nothing given.
            blank_rows: true,
            ..ReadOptions::default()
        };
        let file = SourceFile::open_with(path, &name, &options)
            .with_context(|| format!("cannot read the register {}", path.display()))?;
        let datasets = file.datasets();
        let info = match datasets {
            [one] => one.clone(),
            [] => anyhow::bail!("the register {} holds no rows", path.display()),
            many => anyhow::bail!(
                "the register {} holds {} tables; give one table per file",
                path.display(),
                many.len()
            ),
        };
        anyhow::ensure!(
            file.len_bytes() > 0 && !info.columns.is_empty(),
            "the register {} is empty: nothing to match",
            path.display()
        );
        for warning in file.warnings() {
            say!("warning: {warning}");
        }
        for warning in overrides.unmatched_saying(datasets, "is not a column of the register") {
            say!(
                "warning: register: {warning} (its columns: {})",
                info.columns.join(", ")
            );
        }
        let sample = file.sample(0, 200);
        let mapping = map_dataset(&info.name, &info.columns, &sample, overrides);
        let id_column = match id_column {
            Some(wanted) => Some(find_column(&info.columns, wanted).with_context(|| {
                format!(
                    "--id-column '{wanted}': the register has no such column (it has {})",
                    info.columns.join(", ")
                )
            })?),
            None => detect_id_column(&mapping, &sample),
        };
        let mut kinds: Vec<Option<FieldKind>> = mapping.iter().map(|m| m.kind).collect();
        if let Some(slot) = id_column.and_then(|c| kinds.get_mut(c)) {
            // An id column that holds something to match on (an email, say) is the
            // id only: say so, since the answers then leave it out.
            if let Some(kind) = slot.filter(|k| *k != FieldKind::Ignore) {
                let column = id_column
                    .and_then(|c| info.columns.get(c))
                    .map_or("", String::as_str);
                say!(
                    "warning: the id column '{column}' reads as {kind}; as the id it is not matched on"
                );
            }
            *slot = None;
        }
        // A register row is one resident, its first person: a partner's columns
        // (`Partner Forename`, `partner.dob`) would let another person's details
        // answer for them.
        let others: Vec<&str> = mapping
            .iter()
            .zip(kinds.iter_mut())
            .filter(|(m, kind)| kind.is_some() && m.person.as_ref().is_some_and(|p| p.number > 1))
            .map(|(m, kind)| {
                *kind = None;
                m.column.as_str()
            })
            .collect();
        if !others.is_empty() {
            say!(
                "warning: register columns {} are about another person than the row's resident; they are not matched on",
                others.join(", ")
            );
        }
        anyhow::ensure!(
            kinds
                .iter()
                .any(|k| k.is_some_and(|k| k != FieldKind::Ignore)),
            "no register column could be mapped to a field kind (columns: {}); \
             say what they hold with --map COLUMN=KIND",
            info.columns.join(", ")
        );
        let orders = mapping.iter().map(|m| m.order).collect();
        Ok(Register {
            file,
            name: info.name,
            mapping,
            kinds,
            orders,
            id_column,
            today: date::today(),
        })
    }

    /// The mapping used, on stderr (column names only, never values).
    fn describe(&self) {
        say!(
            "register {}  {} {}",
            self.name,
            self.file.format(),
            self.file.encoding()
        );
        for (i, m) in self.mapping.iter().enumerate() {
            if Some(i) == self.id_column {
                say!("  {} -> register_id (not matched)", m.column);
            } else {
                say!("  {m}");
            }
        }
        if self.id_column.is_none() {
            say!("  register_id = row number (no id column; name one with --id-column)");
        }
    }
}

/// A column by name: exactly, else ignoring ASCII case and surrounding spaces.
fn find_column(columns: &[String], wanted: &str) -> Option<usize> {
    let wanted = wanted.trim();
    columns.iter().position(|c| c == wanted).or_else(|| {
        columns
            .iter()
            .position(|c| c.trim().eq_ignore_ascii_case(wanted))
    })
}

/// Words that, followed by `id`, name a register's own row id.
const ID_OWNERS: [&str; 12] = [
    "", "resident", "rec", "record", "person", "customer", "client", "register", "row", "citizen",
    "member", "unique",
];

/// Last words of a column named like an id of some kind: `Case ID`, `resident_no`,
/// `Voter Number`, `Ref ID`.
const ID_WORDS: [&str; 6] = ["id", "no", "nbr", "num", "number", "ref"];

/// Words naming something a resident shares or that is not a row of the register
/// (`account_id`, `Household No`, `Flat Number`): never taken as its id by name.
const SHARED_OWNERS: [&str; 21] = [
    "account",
    "household",
    "property",
    "address",
    "uprn",
    "family",
    "group",
    "batch",
    "file",
    "import",
    "parent",
    "flat",
    "house",
    "building",
    "street",
    "door",
    "unit",
    "room",
    "phone",
    "vehicle",
    "car",
];

/// The column that holds the register's own id.
///
/// First by name alone: folded to lower-case letters and digits, it is `id`,
/// `uid`, `urn` or `<owner>id` (`resident_id`, `Rec ID`, `personId`). Else the
/// first column named `<word> id`, `<word> no`, `<word> number` or `<word> ref`
/// (one or two words before: `Case ID`, `resident_no`, `Ref ID`), not about
/// something residents share (`account_id`, `Flat Number`), that detection left
/// without a kind (a `Case Ref` read as an account reference, a `Phone Number`,
/// are matched on) and whose sampled values are all different, mostly hold a
/// digit and are not shaped like another kind's (emails, NI numbers, phones,
/// dates, postcodes). A column the
/// user gave a kind with `--map` is theirs to match on, not an id.
fn detect_id_column(mapping: &[ColumnMap], sample: &[Fields]) -> Option<usize> {
    let folded = |m: &ColumnMap| -> String {
        m.column
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let by_name = mapping.iter().position(|m| {
        if m.origin == Origin::Given {
            return false;
        }
        let folded = folded(m);
        matches!(folded.as_str(), "uid" | "urn")
            || folded
                .strip_suffix("id")
                .is_some_and(|owner| ID_OWNERS.contains(&owner))
    });
    if by_name.is_some() {
        return by_name;
    }
    mapping.iter().enumerate().position(|(i, m)| {
        if m.origin == Origin::Given || m.kind.is_some() {
            return false;
        }
        let words = column_words(&m.column);
        let Some((last, owners)) = words.split_last() else {
            return false;
        };
        if !ID_WORDS.contains(&last.as_str())
            || !(1..=2).contains(&owners.len())
            || owners.iter().any(|w| SHARED_OWNERS.contains(&w.as_str()))
        {
            return false;
        }
        let values: Vec<&str> = sample
            .iter()
            .map(|f| f.get(i).trim())
            .filter(|v| !v.is_empty())
            .collect();
        let mut distinct = values.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let digits = values
            .iter()
            .filter(|v| v.bytes().any(|b| b.is_ascii_digit()))
            .count();
        !values.is_empty()
            && distinct.len() == values.len()
            && digits * 5 >= values.len() * 4
            && leakscope::source::mapping::kind_from_values(values.iter().copied()).is_none()
    })
}

/// A column name's words, lower-case: split at anything not a letter or digit and
/// where a lower-case letter meets an upper-case one (`caseId` → `case`, `id`).
fn column_words(column: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut prev_lower = false;
    for c in column.chars() {
        if !c.is_ascii_alphanumeric() {
            prev_lower = false;
            if words.last().is_some_and(|w| !w.is_empty()) {
                words.push(String::new());
            }
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower {
            words.push(String::new());
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        match words.last_mut() {
            Some(w) => w.push(c.to_ascii_lowercase()),
            None => words.push(c.to_ascii_lowercase().to_string()),
        }
    }
    words.retain(|w| !w.is_empty());
    words
}

/// One chunk's answers, formatted: the lines' text after the id, the ids (when
/// the register has an id column) and where each row ends in both.
#[derive(Default)]
struct ChunkOut {
    person: Person,
    scratch: String,
    text: String,
    ids: String,
    rows: Vec<RowEnd>,
    summary: Summary,
}

struct RowEnd {
    local_row: u64,
    id_end: usize,
    text_end: usize,
    /// The row is a blank line: its id, if the register has an id column, is
    /// `row N`, as an unreadable row's.
    blank: bool,
}

/// Match every register row with `query` and write the answers to `out` in
/// register order; rejected rows go to `rejects` (CSV) and the summary.
/// `progress` gets the bytes of register done so far.
pub(crate) fn match_register(
    register: &Register,
    format: OutputFormat,
    query: &(dyn Fn(&Person) -> Answer + Sync),
    out: &mut dyn Write,
    mut rejects: Option<&mut dyn Write>,
    progress: &dyn Fn(u64),
) -> io::Result<Summary> {
    let file = &register.file;
    if format == OutputFormat::Csv {
        out.write_all(b"register_id,verdict,score,records,data_classes,evidence\n")?;
    }
    if let Some(w) = rejects.as_mut() {
        w.write_all(REJECTS_HEADER.as_bytes())?;
    }
    let chunks = file.chunk_count();
    let per_group = (CHUNKS_PER_THREAD * rayon::current_num_threads()).max(1);
    let mut summary = Summary::default();
    // Ids seen (hashed): a duplicate or blank id would make two letters
    // indistinguishable in a mail merge, so they are counted and warned about.
    let mut ids_seen: HashSet<u64> = HashSet::new();
    let mut rows_before = [0u64];
    let mut line = String::new();
    let mut start = 0;
    while start < chunks {
        let end = (start + per_group).min(chunks);
        let mut scan = file.scan_range(start..end, &rows_before, ChunkOut::default, |st, rec| {
            answer_row(register, format, query, st, rec);
        });
        let states = std::mem::take(&mut scan.states);
        // A rejected row still gets its line, where its row falls: the output has one
        // line per register row, so a mail merge cannot lose a resident unseen.
        let mut unreadable: Vec<&Reject> = scan.rejects.iter().collect();
        unreadable.sort_by_key(|r| r.row);
        let mut unreadable = unreadable.into_iter().peekable();
        for (chunk, state) in states.into_iter().enumerate() {
            let (mut id_start, mut text_start) = (0, 0);
            for row in &state.rows {
                let at = scan.row(0, chunk, row.local_row);
                while let Some(r) = unreadable.next_if(|r| r.row < at) {
                    write_unreadable(out, &mut line, register, format, r)?;
                }
                line.clear();
                let id = state.ids.get(id_start..row.id_end).unwrap_or("");
                let text = state.text.get(text_start..row.text_end).unwrap_or("");
                let number;
                let id = if register.id_column.is_some() && id.is_empty() && row.blank {
                    number = format!("row {at}");
                    number.as_str()
                } else if register.id_column.is_some() {
                    if id.is_empty() {
                        summary.blank_ids += 1;
                    } else if !ids_seen.insert(xxh3_64(id.as_bytes())) {
                        summary.duplicate_ids += 1;
                    }
                    id
                } else {
                    number = scan.row(0, chunk, row.local_row).to_string();
                    number.as_str()
                };
                match format {
                    OutputFormat::Csv => push_csv(&mut line, id),
                    OutputFormat::Jsonl => {
                        line.push_str("{\"register_id\":");
                        push_json(&mut line, id);
                    }
                }
                line.push(',');
                out.write_all(line.as_bytes())?;
                out.write_all(text.as_bytes())?;
                (id_start, text_start) = (row.id_end, row.text_end);
            }
            summary.merge(state.summary);
        }
        for r in unreadable {
            write_unreadable(out, &mut line, register, format, r)?;
        }
        for r in &scan.rejects {
            summary.add_reject();
            if let Some(w) = rejects.as_mut() {
                write_reject(&mut **w, &register.name, r)?;
            }
        }
        rows_before[0] = scan.rows(0);
        progress(file.len_bytes().saturating_mul(end as u64) / chunks as u64);
        start = end;
    }
    out.flush()?;
    if let Some(w) = rejects.as_mut() {
        w.flush()?;
    }
    Ok(summary)
}

/// The line of a register row that could not be read: verdict `unreadable`, no
/// score, the reason as evidence. Its id is its row number (`row N` when the register
/// has an id column, whose value could not be read).
fn write_unreadable(
    out: &mut dyn Write,
    line: &mut String,
    register: &Register,
    format: OutputFormat,
    r: &Reject,
) -> io::Result<()> {
    line.clear();
    let id = if register.id_column.is_some() {
        format!("row {}", r.row)
    } else {
        r.row.to_string()
    };
    let evidence = format!("row {} could not be read: {}", r.row, r.reason);
    match format {
        OutputFormat::Csv => push_csv(line, &id),
        OutputFormat::Jsonl => {
            line.push_str("{\"register_id\":");
            push_json(line, &id);
        }
    }
    line.push(',');
    push_unmatched(line, format, "unreadable", &evidence);
    out.write_all(line.as_bytes())
}

/// Everything after `register_id,` of the line of a row that was not matched
/// (`unreadable`, `unsearchable`): the verdict, no score, records or classes, and
/// the reason as evidence.
fn push_unmatched(out: &mut String, format: OutputFormat, verdict: &str, evidence: &str) {
    match format {
        OutputFormat::Csv => {
            out.push_str(verdict);
            out.push_str(",,,,");
            push_csv(out, evidence);
            out.push('\n');
        }
        OutputFormat::Jsonl => {
            out.push_str("\"verdict\":\"");
            out.push_str(verdict);
            out.push_str("\",\"score\":null,\"records\":[],\"data_classes\":[],\"evidence\":");
            push_json(out, evidence);
            out.push_str("}\n");
        }
    }
}

/// The per-row work, on a worker thread: normalise, query, count, format.
fn answer_row(
    register: &Register,
    format: OutputFormat,
    query: &(dyn Fn(&Person) -> Answer + Sync),
    st: &mut ChunkOut,
    rec: &RecordRef<'_>,
) {
    if rec.dataset != 0 {
        return;
    }
    fill_counting_unusable(
        &mut st.person,
        (&register.kinds, &register.orders),
        rec.fields,
        &mut st.summary,
    );
    // A register's date of birth in the future (or before 1880) is a typo: compared,
    // it would count against the resident it belongs to.
    let today = register.today;
    let dobs = st.person.dobs.len();
    st.person.dobs.retain(|d| d.is_possible_birth(today));
    let dropped = dobs - st.person.dobs.len();
    if dropped > 0 {
        *st.summary
            .unusable
            .entry(FieldKind::Dob.name())
            .or_insert(0) += dropped as u64;
    }
    let answer = query(&st.person);
    st.summary.add(&answer);
    if let Some(col) = register.id_column {
        st.ids.push_str(rec.fields.get(col).trim());
    }
    write_answer(&mut st.text, &mut st.scratch, format, &answer);
    st.rows.push(RowEnd {
        local_row: rec.local_row,
        id_end: st.ids.len(),
        text_end: st.text.len(),
        blank: rec.len == 0,
    });
}

/// `Person::fill_from`, also counting in `summary` the values that were not usable
/// (nothing normalised from them), so that a register column in a format leakscope
/// cannot read is reported, not silently left out.
fn fill_counting_unusable(
    person: &mut Person,
    (kinds, orders): (&[Option<FieldKind>], &[date::Order]),
    fields: &leakscope::source::Fields,
    summary: &mut Summary,
) {
    person.clear();
    for (col, kind) in kinds.iter().enumerate() {
        let Some(kind) = *kind else { continue };
        if kind == FieldKind::Ignore {
            continue;
        }
        let order = orders.get(col).copied().unwrap_or_default();
        for value in fields.values(col).filter(|v| !v.is_empty()) {
            let before = person.value_count();
            person.add_in(kind, value, order);
            // Nothing added: unusable, a placeholder, or a repeat (only the first
            // counts, and only after the costlier check).
            if person.value_count() == before
                && !leakscope::normalize::is_placeholder(value, kind)
                && leakscope::normalize::canonical(kind, value).is_none()
            {
                *summary.unusable.entry(kind.name()).or_insert(0) += 1;
            }
        }
    }
}

/// The evidence of an `unsearchable` row.
const UNSEARCHABLE: &str = "nothing to match on: needs an identifier (email, phone, NI number...) or two of first name, last name, date of birth and postcode (a first or last name of one letter, an initial, does not count)";

/// Everything after `register_id,` of one output line, newline included.
fn write_answer(out: &mut String, scratch: &mut String, format: OutputFormat, answer: &Answer) {
    if answer.unsearchable {
        push_unmatched(out, format, "unsearchable", UNSEARCHABLE);
        return;
    }
    let score = if answer.score.is_finite() {
        answer.score.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let evidence = evidence(answer);
    match format {
        OutputFormat::Csv => {
            out.push_str(answer.verdict.name());
            // Most rows are not found: skip float formatting for them.
            if score == 0.0 {
                out.push_str(",0.000,");
            } else {
                let _ = write!(out, ",{score:.3},");
            }
            scratch.clear();
            for (i, m) in answer.matches.iter().enumerate() {
                if i > 0 {
                    scratch.push(';');
                }
                let _ = write!(scratch, "{}:{}", m.dataset, m.row);
            }
            push_csv(out, scratch);
            out.push(',');
            scratch.clear();
            for (i, c) in answer.data_classes.iter().enumerate() {
                if i > 0 {
                    scratch.push(';');
                }
                scratch.push_str(c);
            }
            push_csv(out, scratch);
            out.push(',');
            push_csv(out, &evidence);
            out.push('\n');
        }
        OutputFormat::Jsonl => {
            out.push_str("\"verdict\":\"");
            out.push_str(answer.verdict.name());
            let _ = write!(out, "\",\"score\":{score:.3},\"records\":[");
            for (i, m) in answer.matches.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                scratch.clear();
                let _ = write!(scratch, "{}:{}", m.dataset, m.row);
                push_json(out, scratch);
            }
            out.push_str("],\"data_classes\":[");
            for (i, c) in answer.data_classes.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json(out, c);
            }
            out.push_str("],\"evidence\":");
            push_json(out, &evidence);
            out.push_str("}\n");
        }
    }
}

/// The `evidence` column: the best match's field-by-field summary, and whether
/// some candidate was judged from the index alone.
fn evidence(answer: &Answer) -> String {
    let mut text = answer
        .matches
        .first()
        .map(|m| m.evidence.summary())
        .unwrap_or_default();
    if answer.index_only {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str("(index only)");
    }
    text
}

/// Appends `s` as one CSV field, quoted only when it must be.
fn push_csv(out: &mut String, s: &str) {
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push('"');
        for c in s.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// Appends `s` as a JSON string.
fn push_json(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Refuses an `--out`, `--report` or `--rejects` that would replace a file of the
/// index (its secret, manifest or a segment: the index lost for good) or a dump it
/// was built from, before anything is written.
fn refuse_own_files(matcher: &Matcher, args: &MatchArgs) -> anyhow::Result<()> {
    let (index_dir, dumps) = matcher.own_files();
    for (flag, path) in [
        ("--out", &args.out),
        ("--report", &args.report),
        ("--rejects", &args.rejects),
    ] {
        let Some(path) = path else { continue };
        let Destination::Regular(target) = destination(path) else {
            continue;
        };
        if lies_inside(&target, &index_dir) {
            bail!(
                "{flag} {} is inside the index {}: writing it could destroy the index; write outside it",
                path.display(),
                args.index.display()
            );
        }
        if dumps.iter().any(|d| same_file(&target, d)) {
            bail!(
                "{flag} {} is a dump the index was built from: writing it would destroy the leaked data the answers point into; write to another file",
                path.display()
            );
        }
    }
    Ok(())
}

/// Where the answers go: stdout, or a temporary file renamed over `--out` once
/// complete, so a reader never sees half an output; or, for a device or FIFO
/// (`/dev/stdout`), that file written in place.
enum Output {
    Stdout(BufWriter<io::Stdout>),
    Special {
        writer: BufWriter<File>,
        path: PathBuf,
    },
    File {
        writer: BufWriter<File>,
        temp: PathBuf,
        path: PathBuf,
        /// The temporary is unlinked if a truncated map kills the process.
        _doomed: super::sigbus::RemovedOnCrash,
    },
}

impl Output {
    fn open(out: Option<&Path>) -> anyhow::Result<Output> {
        let Some(path) = out else {
            return Ok(Output::Stdout(BufWriter::with_capacity(
                256 << 10,
                io::stdout(),
            )));
        };
        let target = match destination(path) {
            Destination::Special(special) => {
                let file = open_in_place(&special)
                    .with_context(|| format!("cannot open the output {}", path.display()))?;
                return Ok(Output::Special {
                    writer: BufWriter::with_capacity(256 << 10, file),
                    path: path.to_path_buf(),
                });
            }
            Destination::Regular(target) => target,
        };
        let temp = temp_name(&target);
        let doomed = super::sigbus::remove_on_crash(&temp);
        // Named as the user gave it: the temporary sibling is ours.
        let file = File::create(&temp)
            .with_context(|| format!("cannot create the output {}", path.display()))?;
        Ok(Output::File {
            writer: BufWriter::with_capacity(256 << 10, file),
            temp,
            path: target,
            _doomed: doomed,
        })
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::Stdout(w) => w,
            Output::Special { writer, .. } | Output::File { writer, .. } => writer,
        }
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Output::Stdout(mut w) => match w.flush() {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    Err(anyhow::Error::new(e).context("writing the match output"))
                }
                _ => Ok(()),
            },
            Output::Special { mut writer, path } => writer
                .flush()
                .with_context(|| format!("cannot write the output {}", path.display())),
            Output::File {
                writer, temp, path, ..
            } => {
                let done = writer
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .and_then(|f| f.sync_all())
                    .and_then(|()| std::fs::rename(&temp, &path));
                if let Err(e) = done {
                    let _ = std::fs::remove_file(&temp);
                    return Err(anyhow::Error::new(e)
                        .context(format!("cannot write the output {}", path.display())));
                }
                Ok(())
            }
        }
    }

    fn abandon(self) {
        if let Output::File { writer, temp, .. } = self {
            drop(writer);
            let _ = std::fs::remove_file(&temp);
        }
    }
}

/// `dir/.name.tmp-<pid>`: next to the target, so the rename stays on one
/// file system.
fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "match".to_string());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Whether `a` and `b` name one existing file (through links, `..`, or a second
/// hard link).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Checks that a file can be created beside `path` (where [`write_atomically`]
/// will put its temporary), leaving nothing behind.
fn writable_beside(path: &Path) -> io::Result<()> {
    let probe = temp_name(path);
    File::create(&probe)?;
    std::fs::remove_file(&probe)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let path = match destination(path) {
        Destination::Special(special) => {
            return open_in_place(&special)?.write_all(bytes);
        }
        Destination::Regular(target) => target,
    };
    let path = path.as_path();
    let temp = temp_name(path);
    let written = File::create(&temp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temp, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    renamed
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakscope::matching::{Evidence, RecordMatch, Verdict};

    fn columns(names: &[&str]) -> Vec<ColumnMap> {
        names
            .iter()
            .map(|n| ColumnMap {
                column: n.to_string(),
                kind: None,
                origin: Origin::None,
                order: Default::default(),
                person: None,
            })
            .collect()
    }

    #[test]
    fn id_columns_are_recognised_by_name() {
        for (names, want) in [
            (&["first_name", "resident_id", "email"][..], Some(1)),
            (&["ID", "email"][..], Some(0)),
            (&["email", "Rec ID"][..], Some(1)),
            (&["personId", "email"][..], Some(0)),
            (&["Customer-ID"][..], Some(0)),
            (&["email", "uprn", "account_id", "paid"][..], None),
            (&["email", "phone"][..], None),
        ] {
            assert_eq!(detect_id_column(&columns(names), &[]), want, "{names:?}");
        }
        let mut given = columns(&["resident_id", "id"]);
        given[0].origin = Origin::Given;
        assert_eq!(detect_id_column(&given, &[]), Some(1));
    }

    #[test]
    fn columns_are_found_exactly_then_ignoring_case() {
        let cols: Vec<String> = ["Ref", "ref", " Name "].map(String::from).into();
        assert_eq!(find_column(&cols, "ref"), Some(1));
        assert_eq!(find_column(&cols, "REF"), Some(0));
        assert_eq!(find_column(&cols, "name"), Some(2));
        assert_eq!(find_column(&cols, "email"), None);
    }

    #[test]
    fn thresholds_are_validated() {
        assert!(thresholds(0.9, 0.5).is_ok());
        assert!(thresholds(0.5, 0.9).is_err());
        assert!(thresholds(1.5, 0.5).is_err());
        assert!(thresholds(0.9, 0.0).is_err());
        assert!(thresholds(f64::NAN, 0.5).is_err());
    }

    fn record(dataset: &str, row: u64) -> RecordMatch {
        RecordMatch {
            record: 0,
            dataset: dataset.into(),
            row,
            year: Some(2010),
            probability: 0.97,
            evidence: Evidence::default(),
            data_classes: vec!["email".into()],
            fields: Vec::new(),
            index_only: false,
            linked: false,
        }
    }

    /// Exposed when the row's email is `nN@x.org` with N divisible by 3; the record
    /// row is N so the output can be checked against the input.
    fn fake(person: &Person) -> Answer {
        let n: Option<u64> = person
            .identifiers_of(FieldKind::Email)
            .next()
            .and_then(|e| e.strip_prefix('n'))
            .and_then(|e| e.strip_suffix("@x.org"))
            .and_then(|n| n.parse().ok());
        match n {
            Some(n) if n.is_multiple_of(3) => Answer {
                verdict: Verdict::Exposed,
                score: 0.96789,
                matches: vec![record("a,b.csv", n), record("c.csv", n + 1)],
                data_classes: vec!["dob".into(), "email".into()],
                index_only: n.is_multiple_of(2),
                unsearchable: false,
            },
            _ => Answer::not_found(),
        }
    }

    fn register(text: &str, id: Option<&str>, chunk_bytes: usize) -> (tempfile::TempDir, Register) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("register.csv");
        std::fs::write(&path, text).unwrap();
        let reg = Register::open(&path, &Overrides::new(), id, chunk_bytes).unwrap();
        (dir, reg)
    }

    fn run_fake(reg: &Register, format: OutputFormat) -> (String, String, Summary) {
        let mut out = Vec::new();
        let mut rejects = Vec::new();
        let pool = thread_pool(Some(2)).unwrap();
        let summary = pool
            .install(|| match_register(reg, format, &fake, &mut out, Some(&mut rejects), &|_| {}))
            .unwrap();
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(rejects).unwrap(),
            summary,
        )
    }

    fn numbered(rows: u64) -> String {
        let mut text = String::from("resident_id,last_name,email\n");
        for n in 1..=rows {
            text.push_str(&format!("R{n:05},Smith,n{n}@x.org\n"));
        }
        text
    }

    #[test]
    fn a_partners_register_columns_are_not_matched_on() {
        let text = "id,Forename,Surname,DOB,Partner Forename,Partner DOB,Postcode\n\
                    R1,Jane,Doe,01/02/1970,John,03/04/1968,SW1A 1AA\n";
        let (_dir, reg) = register(text, None, 1 << 16);
        assert_eq!(
            reg.kinds,
            [
                None,
                Some(FieldKind::FirstName),
                Some(FieldKind::LastName),
                Some(FieldKind::Dob),
                None,
                None,
                Some(FieldKind::Postcode)
            ]
        );
    }

    #[test]
    fn csv_rows_come_out_in_register_order_with_ids() {
        // Tiny chunks: many chunks and several groups.
        let (_dir, reg) = register(&numbered(3000), None, 512);
        assert!(reg.file.chunk_count() > 40, "{}", reg.file.chunk_count());
        assert_eq!(reg.id_column, Some(0));
        assert_eq!(reg.kinds[0], None);
        let (out, rejects, summary) = run_fake(&reg, OutputFormat::Csv);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "register_id,verdict,score,records,data_classes,evidence"
        );
        assert_eq!(lines.len(), 3001);
        for (i, line) in lines[1..].iter().enumerate() {
            let n = i as u64 + 1;
            assert!(line.starts_with(&format!("R{n:05},")), "{line}");
            if n.is_multiple_of(3) {
                let keys = if n.is_multiple_of(2) {
                    "(index only)"
                } else {
                    ""
                };
                assert_eq!(
                    *line,
                    format!(
                        "R{n:05},exposed,0.968,\"a,b.csv:{n};c.csv:{}\",dob;email,{keys}",
                        n + 1
                    )
                );
            } else {
                assert_eq!(*line, format!("R{n:05},not_found,0.000,,,"));
            }
        }
        assert_eq!(rejects, "dataset,row,offset,reason\n");
        assert_eq!(
            (summary.exposed, summary.not_found, summary.rejects),
            (1000, 2000, 0)
        );
        assert_eq!(summary.by_dataset.get("c.csv"), Some(&1000));
    }

    #[test]
    fn row_numbers_are_ids_without_an_id_column_and_rejects_keep_their_row() {
        let text = "email,last_name\nn3@x.org,Doe\nbroken,a,b\nn4@x.org,Roe\nn6@x.org,\"Li\n";
        let (_dir, reg) = register(text, None, 1 << 20);
        assert_eq!(reg.id_column, None);
        let (out, rejects, summary) = run_fake(&reg, OutputFormat::Csv);
        let lines: Vec<&str> = out.lines().skip(1).collect();
        let ids: Vec<&str> = lines
            .iter()
            .map(|l| l.split(',').next().unwrap_or(""))
            .collect();
        // One line per register row: the unreadable ones too, in their place.
        assert_eq!(ids, ["1", "2", "3", "4"]);
        assert_eq!(
            lines[1],
            "2,unreadable,,,,row 2 could not be read: wrong number of fields"
        );
        assert!(lines[3].starts_with("4,unreadable,,,,row 4 could not be read: "));
        assert!(!out.contains("Li"), "no values of an unreadable row");
        let (jsonl, _, _) = run_fake(&reg, OutputFormat::Jsonl);
        let second: serde_json::Value = serde_json::from_str(jsonl.lines().nth(1).unwrap_or(""))
            .unwrap_or_else(|e| panic!("{e}: {jsonl}"));
        assert_eq!(second["register_id"], "2");
        assert_eq!(second["verdict"], "unreadable");
        assert!(second["score"].is_null());
        assert_eq!(summary.rejects, 2);
        assert_eq!(summary.rows(), 4);
        let rejected: Vec<&str> = rejects.lines().skip(1).collect();
        assert_eq!(rejected.len(), 2, "{rejects}");
        assert!(rejected[0].starts_with("register.csv,2,"), "{rejects}");
        assert!(rejected[1].starts_with("register.csv,4,"), "{rejects}");
        assert!(!rejects.contains("Li"), "no values in the rejects list");
    }

    #[test]
    fn an_explicit_id_column_is_used_and_not_matched() {
        let text = r#"ref,email,last_name
"A,""1",n3@x.org,Doe
B 2,n5@x.org,Roe
"#;
        let (_dir, reg) = register(text, Some("Email"), 1 << 20);
        assert_eq!(reg.id_column, Some(1));
        assert_eq!(reg.kinds[1], None);
        // The email is now the id, so nothing matches.
        let (out, _, summary) = run_fake(&reg, OutputFormat::Csv);
        assert_eq!(summary.exposed, 0);
        assert!(out.contains("\nn3@x.org,not_found,"), "{out}");

        let (_dir, reg) = register(text, Some("ref"), 1 << 20);
        let (out, _, _) = run_fake(&reg, OutputFormat::Csv);
        assert!(out.contains("\n\"A,\"\"1\",exposed,"), "{out}");
        // An unreadable row's id cannot be read either: it is named by its row, in
        // a form no id of the column is mistaken for.
        let (_dir, reg) = register(&format!("{text}C 3,broken,a,b\n"), Some("ref"), 1 << 20);
        let (out, _, _) = run_fake(&reg, OutputFormat::Csv);
        assert!(
            out.ends_with(
                "\nrow 3,unreadable,,,,row 3 could not be read: wrong number of fields\n"
            ),
            "{out}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, text).unwrap();
        let err = Register::open(&path, &Overrides::new(), Some("nope"), 1 << 20)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("--id-column 'nope'"), "{err}");
    }

    #[test]
    fn jsonl_lines_parse_with_the_same_fields() {
        let (_dir, reg) = register(&numbered(50), None, 256);
        let (out, _, _) = run_fake(&reg, OutputFormat::Jsonl);
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 50);
        for (i, v) in lines.iter().enumerate() {
            let n = i as u64 + 1;
            assert_eq!(v["register_id"], format!("R{n:05}"));
            if n == 6 {
                assert_eq!(v["verdict"], "exposed");
                assert_eq!(v["score"], 0.968);
                assert_eq!(v["records"], serde_json::json!(["a,b.csv:6", "c.csv:7"]));
                assert_eq!(v["data_classes"], serde_json::json!(["dob", "email"]));
                assert_eq!(v["evidence"], "(index only)");
            }
            if n == 7 {
                assert_eq!(v["verdict"], "not_found");
                assert_eq!(v["records"], serde_json::json!([]));
            }
        }
    }

    #[test]
    fn a_register_with_nothing_to_match_on_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, "resident_id,colour\n1,blue\n").unwrap();
        let err = Register::open(&path, &Overrides::new(), None, 1 << 20)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("--map"), "{err}");
    }

    #[test]
    fn json_and_csv_escaping() {
        let mut s = String::new();
        push_json(&mut s, "a\"b\\c\nd\u{1}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\nd\\u0001é\"");
        let back: String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, "a\"b\\c\nd\u{1}é");
        s.clear();
        push_csv(&mut s, "plain");
        push_csv(&mut s, "a,\"b\"");
        assert_eq!(s, "plain\"a,\"\"b\"\"\"");
    }

    #[test]
    fn output_file_appears_only_when_complete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let mut out = Output::open(Some(&path)).unwrap();
        out.writer().write_all(b"x\n").unwrap();
        assert!(!path.exists());
        out.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "x\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
