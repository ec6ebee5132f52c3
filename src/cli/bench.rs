//! `leakscope bench`: a benchmark a user can run on their own machine. It generates
//! (or reuses) a synthetic archive with ground truth, then measures the index build,
//! single lookups, a bulk match of the whole register and the accuracy of the
//! answers, and prints one table (or one JSON object with `--json`).
//!
//! The build runs as a child process (`leakscope index`) so that its peak memory is
//! its own. Peak RSS is *sampled*: `/proc/<pid>/status` `VmHWM` (the kernel's own
//! high-water mark) is read every few milliseconds while the child runs and the
//! largest value kept, so only a build shorter than one sampling interval can be
//! missed. Without `/proc` (not Linux) it is reported as unknown.

use super::{out, outln};
use anyhow::Context;
use clap::Args;
use leakscope::index::Index;
use leakscope::keys::{self, Key, KeyRecipe, Secret};
use leakscope::matching::engine::{MatchOptions, Matcher};
use leakscope::normalize::Person;
use leakscope::source::Overrides;
use leakscope::synth::{self, GenConfig, rng::Rng};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use super::match_cmd::{CHUNK_BYTES, OutputFormat, Register, match_register};
use super::thread_pool;

/// Arguments of `leakscope bench`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "Steps, each timed: generate an archive (as `leakscope gen`; reused when
--dir already holds one made with the same --records, --register and --seed),
build its index in a child process (`leakscope index --force`), answer --queries
random register rows one at a time in this process, match the whole register
(as `leakscope match`, output to a file in the work directory), and score the
answers against truth.csv.

Reported: build wall time, MB/s of dump, peak RSS of the build (sampled from
/proc every few ms), bytes per posting and index size; lookup latency p50, p99
and max in microseconds, for a full query and for one raw exact-key (email)
lookup on the index; bulk match rows per second; precision, recall and F1 of
`exposed`, record-level recall (of the records truly belonging to correctly
exposed residents, the share listed) and the count of `possible` answers.

The work directory is a temporary one, removed at the end, unless --dir is
given (kept, and reused next time) or --keep is."
)]
pub struct BenchArgs {
    /// Dump records to generate.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    records: u64,
    /// Register rows [default: records/10, at least 1000 or records/4 if smaller].
    #[arg(long, value_name = "N")]
    register: Option<u64>,
    /// Work directory (kept; an archive already there with the same parameters is reused).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Keep the temporary work directory (its path is printed).
    #[arg(long)]
    keep: bool,
    /// Print the figures as one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Worker threads for generating, building and matching [default: all cores].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Single lookups to time (random register rows).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    queries: usize,
    /// Seed of the archive and of the choice of query rows.
    #[arg(long, value_name = "S", default_value_t = 42)]
    seed: u64,
    /// Fraction of register residents who are in the dump (as `gen --overlap`).
    #[arg(
        long,
        value_name = "F",
        default_value_t = 0.5,
        allow_negative_numbers = true
    )]
    overlap: f64,
    /// How much the register drifted from the dump (as `gen --drift`: every drift
    /// probability times F; 1 is the documented set, 0 a clean copy, 2 twice as messy).
    #[arg(
        long,
        value_name = "F",
        default_value_t = 1.0,
        allow_negative_numbers = true
    )]
    drift: f64,
}

/// Every figure of one run; the JSON field names are stable.
#[derive(Debug, Serialize)]
struct Report {
    records: u64,
    register: u64,
    seed: u64,
    overlap: f64,
    drift: f64,
    /// Worker threads used (`--threads`, else every core).
    threads: usize,
    /// The archive was already in `--dir` and was not generated again.
    reused_archive: bool,
    dump_bytes: u64,
    build: BuildFigures,
    lookup: Latency,
    key_lookup: KeyLookup,
    #[serde(rename = "match")]
    bulk: MatchFigures,
    accuracy: Accuracy,
}

#[derive(Debug, Serialize)]
struct BuildFigures {
    wall_s: f64,
    mb_per_s: f64,
    /// `None` when it could not be sampled (no `/proc`).
    peak_rss_mb: Option<f64>,
    bytes_per_posting: f64,
    index_bytes: u64,
    records: u64,
    keys: u64,
    postings: u64,
}

/// Latency of timed operations, in microseconds.
#[derive(Debug, Default, Serialize)]
struct Latency {
    queries: usize,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
}

#[derive(Debug, Serialize)]
struct KeyLookup {
    #[serde(flatten)]
    latency: Latency,
    /// Queries whose email key was found in the index.
    hits: usize,
}

#[derive(Debug, Serialize)]
struct MatchFigures {
    rows: u64,
    wall_s: f64,
    rows_per_s: f64,
    exposed: u64,
    possible: u64,
    not_found: u64,
}

/// Accuracy of `exposed` against the ground truth. A ratio whose denominator is
/// zero (no resident answered `exposed`, say) is reported as 0.
#[derive(Debug, Default, Serialize, PartialEq)]
struct Accuracy {
    truth_exposed: u64,
    true_positives: u64,
    false_positives: u64,
    false_negatives: u64,
    precision: f64,
    recall: f64,
    f1: f64,
    record_recall: f64,
    possible: u64,
    possible_truly_exposed: u64,
    /// The register's hard negatives (people who are not in the dump but look like
    /// someone who is), by kind (`namesake`, `family_member`, `twin`), and how many
    /// were answered `exposed` (each one a resident wrongly told) or `possible`.
    /// Empty for an archive without `hard_negatives.csv`.
    hard_negatives: BTreeMap<String, HardNegatives>,
}

/// How one kind of hard negative was answered.
#[derive(Debug, Default, Serialize, PartialEq)]
struct HardNegatives {
    residents: u64,
    exposed: u64,
    possible: u64,
}

/// The generation parameters of an archive, kept beside it so a later run with
/// the same parameters can reuse it.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct GenMarker {
    records: u64,
    register: u64,
    overlap: f64,
    seed: u64,
    /// Absent from markers written before `--drift` existed: those archives had 1.
    #[serde(default = "documented_drift")]
    drift: f64,
    leakscope: String,
}

fn documented_drift() -> f64 {
    1.0
}

const MARKER_FILE: &str = "bench-gen.json";

/// Run `leakscope bench`.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.queries > 0, "--queries must be at least 1");
    let cfg = GenConfig {
        records: args.records,
        register: args
            .register
            .unwrap_or_else(|| GenConfig::default_register(args.records)),
        overlap: args.overlap,
        seed: args.seed,
        drift: args.drift,
    };
    cfg.validate()?;
    let pool = thread_pool(args.threads)?;
    let work = WorkDir::new(args.dir.as_deref(), args.keep)?;
    let dir = work.path.clone();

    let reused = pool.install(|| prepare_archive(&cfg, &dir))?;
    let dump = dir.join("dump");
    let dump_bytes = tree_bytes(&dump)?;

    let index_dir = dir.join("index");
    let build = build_index(&dump, &index_dir, args.threads, dump_bytes)?;

    status("reading the register");
    let register = Register::open(
        &dir.join("register.csv"),
        &Overrides::new(),
        None,
        CHUNK_BYTES,
    )?;
    let persons = pool.install(|| sample_rows(&register, args.queries, args.seed));
    // The figures are warm ones, a long-lived service's: the index (and the dump,
    // which lookups read for the values they show) read once first, so that what
    // is timed is leakscope and not the disk, whatever the machine's cache did since
    // the build, and the index mapped in whole.
    status("reading the index and the dump once (warm figures)");
    warm(&index_dir)?;
    warm(&dump)?;
    let matcher = Matcher::open(
        &index_dir,
        MatchOptions {
            preload: true,
            ..MatchOptions::default()
        },
    )?;
    for warning in matcher.warnings() {
        say!("warning: {warning}");
    }
    status(&format!("timing {} single lookups", persons.len()));
    let lookup = time_queries(&matcher, &persons);
    let key_lookup = time_key_lookups(&index_dir, &persons)?;

    warm(&index_dir)?;
    status("matching the whole register");
    let match_out = dir.join("match.csv");
    let bulk = pool.install(|| bulk_match(&register, &matcher, &match_out))?;

    status("scoring against truth.csv");
    let accuracy = score(
        &dir.join("truth.csv"),
        &dir.join(synth::HARD_NEGATIVES_FILE),
        &match_out,
    )?;

    let report = Report {
        records: cfg.records,
        register: cfg.register,
        seed: cfg.seed,
        overlap: cfg.overlap,
        drift: cfg.drift,
        threads: pool.current_num_threads(),
        reused_archive: reused,
        dump_bytes,
        build,
        lookup,
        key_lookup,
        bulk,
        accuracy,
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{}", table(&report));
    }
    if work.keep {
        status(&format!("work directory kept: {}", dir.display()));
    }
    Ok(ExitCode::SUCCESS)
}

fn status(what: &str) {
    say!("bench: {what}");
}

/// The directory everything is written to; a temporary one is removed on drop
/// (also when a step fails) unless it is to be kept.
struct WorkDir {
    path: PathBuf,
    keep: bool,
}

impl WorkDir {
    fn new(given: Option<&Path>, keep: bool) -> anyhow::Result<WorkDir> {
        let (path, keep) = match given {
            Some(p) => (p.to_path_buf(), true),
            None => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0);
                let name = format!("leakscope-bench-{}-{nanos}", std::process::id());
                (std::env::temp_dir().join(name), keep)
            }
        };
        fs::create_dir_all(&path)
            .with_context(|| format!("cannot create the work directory {}", path.display()))?;
        Ok(WorkDir { path, keep })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Generates the archive into `dir` unless the marker says it already holds this
/// one. Returns whether it was reused.
fn prepare_archive(cfg: &GenConfig, dir: &Path) -> anyhow::Result<bool> {
    let marker_path = dir.join(MARKER_FILE);
    let wanted = GenMarker {
        records: cfg.records,
        register: cfg.register,
        overlap: cfg.overlap,
        seed: cfg.seed,
        drift: cfg.drift,
        leakscope: env!("CARGO_PKG_VERSION").to_string(),
    };
    let present = fs::read(&marker_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<GenMarker>(&b).ok());
    let complete = ["dump", "register.csv", "truth.csv"]
        .iter()
        .all(|f| dir.join(f).exists());
    if present.as_ref() == Some(&wanted) && complete {
        status(&format!(
            "reusing the archive of {} records in {}",
            cfg.records,
            dir.display()
        ));
        return Ok(true);
    }
    // No marker while generating: an interrupted run is never mistaken for a whole one.
    match fs::remove_file(&marker_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(anyhow::Error::new(e).context(format!(
                "cannot remove the stale marker {}",
                marker_path.display()
            )));
        }
        _ => {}
    }
    status(&format!(
        "generating {} records and a register of {} into {}",
        cfg.records,
        cfg.register,
        dir.display()
    ));
    let started = Instant::now();
    synth::generate(cfg, dir).with_context(|| format!("generating into {}", dir.display()))?;
    status(&format!(
        "generated in {:.2} s",
        started.elapsed().as_secs_f64()
    ));
    fs::write(&marker_path, serde_json::to_vec_pretty(&wanted)?)
        .with_context(|| format!("cannot write {}", marker_path.display()))?;
    Ok(false)
}

/// Total size of the files under `path`.
fn tree_bytes(path: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
            let meta = entry
                .metadata()
                .with_context(|| format!("cannot stat {}", entry.path().display()))?;
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                total += meta.len();
            }
        }
    }
    Ok(total)
}

/// How often the child's `VmHWM` is read.
const RSS_SAMPLE_EVERY: Duration = Duration::from_millis(3);

/// Reads every file under `path` once, so that its pages are in the page cache.
fn warm(path: &Path) -> anyhow::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let meta = fs::metadata(&p).with_context(|| format!("cannot read {}", p.display()))?;
        if meta.is_dir() {
            for entry in fs::read_dir(&p).with_context(|| format!("cannot list {}", p.display()))? {
                stack.push(entry?.path());
            }
        } else {
            let mut f =
                fs::File::open(&p).with_context(|| format!("cannot read {}", p.display()))?;
            while std::io::Read::read(&mut f, &mut buf)? > 0 {}
        }
    }
    Ok(())
}

/// Builds the index with `leakscope index --force` in a child process, timing it and
/// sampling its peak RSS; its stderr goes to `index.log` beside the index.
fn build_index(
    dump: &Path,
    index_dir: &Path,
    threads: Option<usize>,
    dump_bytes: u64,
) -> anyhow::Result<BuildFigures> {
    status("building the index (child process: leakscope index)");
    let exe = std::env::current_exe().context("cannot find the leakscope executable")?;
    let log_path = index_dir.with_file_name("index.log");
    let log =
        File::create(&log_path).with_context(|| format!("cannot create {}", log_path.display()))?;
    let mut cmd = Command::new(&exe);
    cmd.arg("index").arg("--out").arg(index_dir).arg("--force");
    if let Some(n) = threads {
        cmd.arg("--threads").arg(n.to_string());
    }
    cmd.arg(dump)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    let status_path = PathBuf::from(format!("/proc/{}/status", child.id()));
    let mut peak_kb: Option<u64> = None;
    let exit = loop {
        if let Some(kb) = fs::read_to_string(&status_path)
            .ok()
            .and_then(|s| vm_hwm_kb(&s))
        {
            peak_kb = Some(peak_kb.map_or(kb, |p| p.max(kb)));
        }
        match child.try_wait().context("waiting for the index build")? {
            Some(exit) => break exit,
            None => std::thread::sleep(RSS_SAMPLE_EVERY),
        }
    };
    let wall = started.elapsed().as_secs_f64();
    if !exit.success() {
        let log_text = fs::read_to_string(&log_path).unwrap_or_default();
        let last = log_text.lines().last().unwrap_or("(no output)").to_string();
        anyhow::bail!(
            "the index build failed ({exit}): {last} (full log: {})",
            log_path.display()
        );
    }
    let index = Index::open(index_dir)?;
    let (mut records, mut keys, mut postings, mut key_bytes) = (0, 0, 0, 0);
    for s in index.segments() {
        records += u64::from(s.record_count());
        keys += s.key_count();
        postings += s.posting_count();
        key_bytes += s.key_and_posting_bytes();
    }
    Ok(BuildFigures {
        wall_s: wall,
        mb_per_s: dump_bytes as f64 / 1e6 / wall.max(1e-9),
        peak_rss_mb: peak_kb.map(|kb| kb as f64 * 1024.0 / 1e6),
        bytes_per_posting: ratio(key_bytes, postings),
        index_bytes: tree_bytes(index_dir)?,
        records,
        keys,
        postings,
    })
}

/// The `VmHWM:` line of a `/proc/<pid>/status`, in kB.
fn vm_hwm_kb(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let rest = line.strip_prefix("VmHWM:")?.trim();
    rest.strip_suffix("kB").unwrap_or(rest).trim().parse().ok()
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Up to `n` distinct register rows chosen with `seed`, read into `Person`s
/// exactly as `match` reads them, in random order. Two passes over the register
/// so that only the chosen rows are kept in memory.
fn sample_rows(register: &Register, n: usize, seed: u64) -> Vec<Person> {
    let file = &register.file;
    // Good rows per chunk, to number rows across chunks.
    let counts = file.scan(
        || 0usize,
        |count, rec| *count += usize::from(rec.dataset == 0),
    );
    let mut first = Vec::with_capacity(counts.states.len());
    let mut total = 0usize;
    for c in &counts.states {
        first.push(total);
        total += c;
    }
    let chosen = Rng::new(seed).sample_indices(total, n);
    let wanted: HashSet<usize> = chosen.iter().copied().collect();
    let found = file.scan(Vec::new, |out: &mut Vec<(usize, Person)>, rec| {
        let Some(base) = first.get(rec.chunk) else {
            return;
        };
        let row = base + rec.local_row as usize;
        if rec.dataset == 0 && wanted.contains(&row) {
            let mut person = Person::default();
            person.fill_from_ordered(&register.kinds, &register.orders, rec.fields);
            out.push((row, person));
        }
    });
    let mut by_row: HashMap<usize, Person> = found.states.into_iter().flatten().collect();
    chosen.iter().filter_map(|r| by_row.remove(r)).collect()
}

/// Latency percentiles of `nanos` (sorted here), nearest rank.
fn latency(mut nanos: Vec<u64>) -> Latency {
    nanos.sort_unstable();
    let at = |p: f64| -> f64 {
        let n = nanos.len();
        if n == 0 {
            return 0.0;
        }
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
        nanos.get(rank - 1).copied().unwrap_or(0) as f64 / 1e3
    };
    Latency {
        queries: nanos.len(),
        p50_us: at(0.50),
        p99_us: at(0.99),
        max_us: nanos.last().copied().unwrap_or(0) as f64 / 1e3,
    }
}

fn nanos_since(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Each query answered in this process, one at a time.
fn time_queries(matcher: &Matcher, persons: &[Person]) -> Latency {
    let mut nanos = Vec::with_capacity(persons.len());
    for p in persons {
        let t = Instant::now();
        let answer = matcher.query_brief(std::hint::black_box(p));
        nanos.push(nanos_since(t));
        std::hint::black_box(answer);
    }
    latency(nanos)
}

/// The raw index speed: one exact-key lookup (the query's email key, derived
/// beforehand) on every segment, with the length of the posting list. Queries
/// without an email are skipped.
fn time_key_lookups(index_dir: &Path, persons: &[Person]) -> anyhow::Result<KeyLookup> {
    let index = Index::open(index_dir)?;
    let secret = Secret::from_bytes(index.secret())?;
    let mut keys: Vec<Key> = Vec::new();
    let mut nanos = Vec::with_capacity(persons.len());
    let mut hits = 0;
    for p in persons {
        keys.clear();
        keys::derive(p, &secret, &mut keys);
        let Some(key) = keys.iter().find(|k| k.recipe == KeyRecipe::Email) else {
            continue;
        };
        let hash = std::hint::black_box(key.hash);
        let t = Instant::now();
        let found: usize = index.segments().iter().map(|s| s.lookup(hash).len()).sum();
        nanos.push(nanos_since(t));
        hits += usize::from(std::hint::black_box(found) > 0);
    }
    Ok(KeyLookup {
        latency: latency(nanos),
        hits,
    })
}

/// The whole register through `match`'s own bulk path, answers to `out`.
fn bulk_match(register: &Register, matcher: &Matcher, out: &Path) -> anyhow::Result<MatchFigures> {
    let file = File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut writer = BufWriter::with_capacity(256 << 10, file);
    let started = Instant::now();
    let summary = match_register(
        register,
        OutputFormat::Csv,
        &|p| matcher.query_brief(p),
        &mut writer,
        None,
        &|_| {},
    )
    .and_then(|s| writer.flush().map(|()| s))
    .with_context(|| format!("writing {}", out.display()))?;
    let wall = started.elapsed().as_secs_f64();
    Ok(MatchFigures {
        rows: summary.rows(),
        wall_s: wall,
        rows_per_s: summary.rows() as f64 / wall.max(1e-9),
        exposed: summary.exposed,
        possible: summary.possible,
        not_found: summary.not_found,
    })
}

/// Scores `match.csv` against `truth.csv` and, when the archive has one,
/// `hard_negatives.csv`.
fn score(truth: &Path, hard_negatives: &Path, answers: &Path) -> anyhow::Result<Accuracy> {
    let mut verdicts: HashMap<String, (String, String)> = HashMap::new();
    let mut reader = csv::Reader::from_path(answers)
        .with_context(|| format!("cannot read {}", answers.display()))?;
    for row in reader.records() {
        let row = row.with_context(|| format!("reading {}", answers.display()))?;
        let field = |i| row.get(i).unwrap_or("").to_string();
        verdicts.insert(field(0), (field(1), field(3)));
    }
    let mut reader = csv::Reader::from_path(truth)
        .with_context(|| format!("cannot read {}", truth.display()))?;
    let mut tally = Tally::default();
    for row in reader.records() {
        let row = row.with_context(|| format!("reading {}", truth.display()))?;
        let id = row.get(0).unwrap_or("");
        let exposed = row.get(1) == Some("true");
        let records = row.get(2).unwrap_or("");
        let (verdict, listed) = verdicts
            .get(id)
            .map(|(v, r)| (v.as_str(), r.as_str()))
            .unwrap_or(("not_found", ""));
        tally.add(exposed, records, verdict, listed);
    }
    let mut acc = tally.finish();
    if hard_negatives.exists() {
        let mut reader = csv::Reader::from_path(hard_negatives)
            .with_context(|| format!("cannot read {}", hard_negatives.display()))?;
        for row in reader.records() {
            let row = row.with_context(|| format!("reading {}", hard_negatives.display()))?;
            let (id, kind) = (row.get(0).unwrap_or(""), row.get(1).unwrap_or(""));
            let verdict = verdicts.get(id).map_or("not_found", |(v, _)| v.as_str());
            let figures = acc.hard_negatives.entry(kind.to_string()).or_default();
            figures.residents += 1;
            figures.exposed += u64::from(verdict == "exposed");
            figures.possible += u64::from(verdict == "possible");
        }
    }
    Ok(acc)
}

/// Counts towards [`Accuracy`].
#[derive(Default)]
struct Tally {
    acc: Accuracy,
    true_records: u64,
    listed_true_records: u64,
}

impl Tally {
    /// One resident: truly `exposed` with `records`; answered `verdict` listing `listed`.
    fn add(&mut self, exposed: bool, records: &str, verdict: &str, listed: &str) {
        let a = &mut self.acc;
        a.truth_exposed += u64::from(exposed);
        match (exposed, verdict) {
            (true, "exposed") => {
                a.true_positives += 1;
                let listed: HashSet<&str> = listed.split(';').filter(|s| !s.is_empty()).collect();
                for r in records.split(';').filter(|s| !s.is_empty()) {
                    self.true_records += 1;
                    self.listed_true_records += u64::from(listed.contains(r));
                }
            }
            (false, "exposed") => a.false_positives += 1,
            (true, _) => a.false_negatives += 1,
            (false, _) => {}
        }
        if verdict == "possible" {
            a.possible += 1;
            a.possible_truly_exposed += u64::from(exposed);
        }
    }

    fn finish(self) -> Accuracy {
        let mut a = self.acc;
        a.precision = ratio(a.true_positives, a.true_positives + a.false_positives);
        a.recall = ratio(a.true_positives, a.true_positives + a.false_negatives);
        a.f1 = if a.precision + a.recall > 0.0 {
            2.0 * a.precision * a.recall / (a.precision + a.recall)
        } else {
            0.0
        };
        a.record_recall = ratio(self.listed_true_records, self.true_records);
        a
    }
}

/// How the hard negatives were answered, as one line of the table.
fn hard_negatives_line(kinds: &BTreeMap<String, HardNegatives>) -> String {
    if kinds.is_empty() {
        return "n/a (the archive has no hard_negatives.csv)".to_string();
    }
    let parts: Vec<String> = kinds
        .iter()
        .map(|(kind, h)| {
            format!(
                "{} {} of {} exposed ({} possible)",
                kind.replace('_', " "),
                h.exposed,
                h.residents,
                h.possible
            )
        })
        .collect();
    parts.join("; ")
}

/// The human table: one aligned line per figure.
fn table(r: &Report) -> String {
    let b = &r.build;
    let rss = b.peak_rss_mb.map_or_else(
        || "unknown (no /proc)".to_string(),
        |mb| format!("{mb:.0} MB"),
    );
    let lat = |l: &Latency| {
        format!(
            "p50 {:.2} µs, p99 {:.2} µs, max {:.2} µs ({} queries)",
            l.p50_us, l.p99_us, l.max_us, l.queries
        )
    };
    let a = &r.accuracy;
    let m = &r.bulk;
    let rows: Vec<(&str, String)> = vec![
        (
            "archive",
            format!(
                "{} records, {:.1} MB, register of {} (overlap {}, drift {}, seed {}{})",
                r.records,
                r.dump_bytes as f64 / 1e6,
                r.register,
                r.overlap,
                r.drift,
                r.seed,
                if r.reused_archive { ", reused" } else { "" }
            ),
        ),
        (
            "index build",
            format!("{:.2} s, {:.1} MB/s of dump", b.wall_s, b.mb_per_s),
        ),
        ("build peak RSS", format!("{rss} (sampled)")),
        (
            "index",
            format!(
                "{:.1} MB on disk, {} keys, {} postings, {:.2} bytes/posting",
                b.index_bytes as f64 / 1e6,
                b.keys,
                b.postings,
                b.bytes_per_posting
            ),
        ),
        ("lookup (query)", lat(&r.lookup)),
        (
            "lookup (email key)",
            format!("{}, {} hits", lat(&r.key_lookup.latency), r.key_lookup.hits),
        ),
        (
            "bulk match",
            format!(
                "{} rows in {:.2} s, {:.0} rows/s",
                m.rows, m.wall_s, m.rows_per_s
            ),
        ),
        (
            "verdicts",
            format!(
                "{} exposed, {} possible, {} not found",
                m.exposed, m.possible, m.not_found
            ),
        ),
        (
            "exposed accuracy",
            if a.truth_exposed == 0 {
                // Nothing to find: a precision or recall of 0 would read as a failure.
                "n/a (no register resident is truly exposed; give more --records)".to_string()
            } else {
                format!(
                    "precision {:.4}, recall {:.4}, F1 {:.4} ({} truly exposed)",
                    a.precision, a.recall, a.f1, a.truth_exposed
                )
            },
        ),
        ("record recall", format!("{:.4}", a.record_recall)),
        (
            "possible",
            format!(
                "{} ({} truly exposed)",
                a.possible, a.possible_truly_exposed
            ),
        ),
        ("hard negatives", hard_negatives_line(&a.hard_negatives)),
    ];
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        out.push_str(&format!("{k:<width$}  {v}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_read_from_proc_status() {
        let status = "Name:\tleakscope\nVmPeak:\t  9000 kB\nVmHWM:\t   12345 kB\nVmRSS:\t 100 kB\n";
        assert_eq!(vm_hwm_kb(status), Some(12345));
        assert_eq!(vm_hwm_kb("Name:\tx\n"), None);
        assert_eq!(vm_hwm_kb("VmHWM:\tlots kB\n"), None);
    }

    #[test]
    fn own_peak_rss_is_sampled() {
        let own = fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| vm_hwm_kb(&s));
        if Path::new("/proc/self/status").exists() {
            assert!(own.is_some_and(|kb| kb > 0));
        }
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let l = latency((1..=100).rev().map(|n| n * 1000).collect());
        assert_eq!(l.queries, 100);
        assert_eq!(l.p50_us, 50.0);
        assert_eq!(l.p99_us, 99.0);
        assert_eq!(l.max_us, 100.0);
        let one = latency(vec![2500]);
        assert_eq!((one.p50_us, one.p99_us, one.max_us), (2.5, 2.5, 2.5));
        assert_eq!(latency(Vec::new()).p99_us, 0.0);
    }

    #[test]
    fn accuracy_counts_residents_and_records() {
        let mut t = Tally::default();
        // Found, with one of its two records.
        t.add(true, "a.csv:1;b.csv:2", "exposed", "b.csv:2;c.csv:9");
        // Found, with all its records.
        t.add(true, "a.csv:5", "exposed", "a.csv:5");
        // Missed, only possible.
        t.add(true, "a.csv:7", "possible", "a.csv:7");
        // Missed.
        t.add(true, "a.csv:8", "not_found", "");
        // A false alarm, and a correct not found.
        t.add(false, "", "exposed", "a.csv:3");
        t.add(false, "", "not_found", "");
        t.add(false, "", "possible", "a.csv:4");
        let a = t.finish();
        assert_eq!(a.truth_exposed, 4);
        assert_eq!(
            (a.true_positives, a.false_positives, a.false_negatives),
            (2, 1, 2)
        );
        assert!((a.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((a.recall - 0.5).abs() < 1e-12);
        assert!((a.f1 - 4.0 / 7.0).abs() < 1e-12);
        assert!((a.record_recall - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!((a.possible, a.possible_truly_exposed), (2, 1));
    }

    #[test]
    fn hard_negatives_are_counted_by_kind_and_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let p = |f: &str| dir.path().join(f);
        fs::write(
            p("truth.csv"),
            "resident_id,exposed,records\nR1,false,\nR2,false,\nR3,false,\nR4,true,a.csv:1\nR5,false,\n",
        )
        .unwrap();
        fs::write(
            p("hard.csv"),
            "resident_id,kind\nR1,twin\nR2,twin\nR3,namesake\nR5,family_member\n",
        )
        .unwrap();
        fs::write(
            p("match.csv"),
            "register_id,verdict,score,records,data_classes,evidence\n\
             R1,exposed,0.95,a.csv:2,,\nR2,possible,0.6,a.csv:2,,\nR3,not_found,0,,,\n\
             R4,exposed,1,a.csv:1,,\nR5,possible,0.7,a.csv:9,,\n",
        )
        .unwrap();
        let a = score(&p("truth.csv"), &p("hard.csv"), &p("match.csv")).unwrap();
        let kinds: Vec<(&str, u64, u64, u64)> = a
            .hard_negatives
            .iter()
            .map(|(k, h)| (k.as_str(), h.residents, h.exposed, h.possible))
            .collect();
        assert_eq!(
            kinds,
            [
                ("family_member", 1, 0, 1),
                ("namesake", 1, 0, 0),
                ("twin", 2, 1, 1)
            ]
        );
        assert_eq!(a.false_positives, 1);
        assert!(
            hard_negatives_line(&a.hard_negatives).contains("twin 1 of 2 exposed (1 possible)")
        );
        // An archive made before the file existed scores without it.
        let old = score(&p("truth.csv"), &p("absent.csv"), &p("match.csv")).unwrap();
        assert!(old.hard_negatives.is_empty());
        assert!(hard_negatives_line(&old.hard_negatives).starts_with("n/a"));
    }

    #[test]
    fn accuracy_without_answers_is_zero_not_nan() {
        let mut t = Tally::default();
        t.add(true, "a.csv:1", "not_found", "");
        let a = t.finish();
        assert_eq!(
            (a.precision, a.recall, a.f1, a.record_recall),
            (0.0, 0.0, 0.0, 0.0)
        );
    }

    #[test]
    fn an_archive_is_reused_only_with_the_same_parameters() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = GenConfig {
            records: 400,
            register: 100,
            overlap: 0.5,
            seed: 3,
            drift: 1.0,
        };
        assert!(!prepare_archive(&cfg, dir.path()).unwrap());
        assert!(dir.path().join("truth.csv").exists());
        assert!(prepare_archive(&cfg, dir.path()).unwrap());
        let other = GenConfig { seed: 4, ..cfg };
        assert!(!prepare_archive(&other, dir.path()).unwrap());
        assert!(prepare_archive(&other, dir.path()).unwrap());
        fs::remove_file(dir.path().join("truth.csv")).unwrap();
        assert!(!prepare_archive(&other, dir.path()).unwrap());
    }

    #[test]
    fn a_temporary_work_dir_is_removed_unless_kept() {
        let w = WorkDir::new(None, false).unwrap();
        let p = w.path.clone();
        assert!(p.is_dir());
        drop(w);
        assert!(!p.exists());
        let w = WorkDir::new(None, true).unwrap();
        let p = w.path.clone();
        drop(w);
        assert!(p.is_dir());
        fs::remove_dir_all(&p).unwrap();
        let given = tempfile::tempdir().unwrap();
        drop(WorkDir::new(Some(given.path()), false).unwrap());
        assert!(given.path().is_dir());
    }
}
