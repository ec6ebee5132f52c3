//! Query latency of the matching engine on a generated archive.
//!
//! Generates `LEAKSCOPE_BENCH_QUERY_RECORDS` dump records (default 1 million) with
//! `synth::generate`, indexes them, and caches both under `target/bench-data/`
//! (delete the directory to rebuild). The queries are the register's rows,
//! normalised as `leakscope match` reads them: half of them people in the dump
//! (verified against their records), half strangers, namesakes and relatives.
//!
//! Before the criterion runs it times every register row once, on one thread, and
//! prints p50 / p90 / p99 / max for the exposed residents (a verified person query)
//! and for all rows.
//!
//! Run with `cargo bench --bench query`. To measure on an archive built elsewhere
//! (an `index/` and a `register.csv` side by side, e.g. one made by `leakscope gen`
//! and `leakscope index`), set `LEAKSCOPE_BENCH_QUERY_DIR` to its directory: nothing
//! is generated or rebuilt then.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use leakscope::field::FieldKind;
use leakscope::index::build::{self, BuildOptions};
use leakscope::matching::{MatchOptions, Matcher, Verdict};
use leakscope::normalize::Person;
use leakscope::source::{Overrides, SourceFile, map_dataset};
use leakscope::synth::{self, GenConfig};

fn records() -> u64 {
    std::env::var("LEAKSCOPE_BENCH_QUERY_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    panic!("{what}: {e}")
}

/// The archive and its index, generated once and then reused.
fn archive(records: u64) -> PathBuf {
    if let Some(dir) = std::env::var_os("LEAKSCOPE_BENCH_QUERY_DIR") {
        return PathBuf::from(dir);
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-data")
        .join(format!("query-{records}"));
    let index = dir.join("index");
    if index.join("manifest.json").is_file() {
        return dir;
    }
    let started = Instant::now();
    let cfg = GenConfig {
        records,
        register: GenConfig::default_register(records).min(20_000),
        ..GenConfig::default()
    };
    let generated = synth::generate(&cfg, &dir).unwrap_or_else(|e| fail("generate", e));
    let opts = BuildOptions {
        force: true,
        ..BuildOptions::default()
    };
    let built = build::build(
        std::slice::from_ref(&generated.dump_dir),
        &index,
        &opts,
        &|_, _| {},
    )
    .unwrap_or_else(|e| fail("build", e));
    eprintln!(
        "generated and indexed {records} records in {:.1} s ({} keys, {:.0} MB index)",
        started.elapsed().as_secs_f64(),
        built.stats.keys,
        built.stats.size_bytes as f64 / 1e6
    );
    dir
}

/// The register's rows as query persons, in order.
fn register(path: &Path) -> Vec<Person> {
    let file = SourceFile::open(path, "register.csv", None).unwrap_or_else(|e| fail("register", e));
    let Some(info) = file.datasets().first().cloned() else {
        fail("register", "no columns")
    };
    let kinds: Vec<Option<FieldKind>> = map_dataset(
        &info.name,
        &info.columns,
        &file.sample(0, 200),
        &Overrides::default(),
    )
    .iter()
    .map(|m| m.kind)
    .collect();
    let scan = file.scan(Vec::new, |rows: &mut Vec<Person>, rec| {
        let mut p = Person::default();
        p.fill_from(&kinds, rec.fields);
        rows.push(p);
    });
    scan.states.into_iter().flatten().collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    eprintln!(
        "{what}: {} queries, p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        times.len(),
        us(percentile(&times, 0.5)),
        us(percentile(&times, 0.9)),
        us(percentile(&times, 0.99)),
        us(times.last().copied().unwrap_or_default()),
    );
}

fn benches(c: &mut Criterion) {
    let n = records();
    let dir = archive(n);
    // A long-lived matcher: the index mapped in whole, as `match` and `bench` do.
    let opts = MatchOptions {
        preload: true,
        ..MatchOptions::default()
    };
    let matcher = Matcher::open(&dir.join("index"), opts).unwrap_or_else(|e| fail("open index", e));
    // The index's own count: an archive given by LEAKSCOPE_BENCH_QUERY_DIR has its
    // own size.
    let n = matcher.record_count();
    let people = register(&dir.join("register.csv"));
    // Warm the page cache and the per-thread buffers.
    let verdicts: Vec<Verdict> = people
        .iter()
        .map(|p| matcher.query_brief(p).verdict)
        .collect();
    let exposed: Vec<&Person> = people
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| **v == Verdict::Exposed)
        .map(|(p, _)| p)
        .collect();

    // The same queries without the linked pass, to show what it costs.
    let direct = Matcher::open(
        &dir.join("index"),
        MatchOptions {
            preload: true,
            direct_only: true,
            ..MatchOptions::default()
        },
    )
    .unwrap_or_else(|e| fail("open index", e));
    for (what, set) in [
        ("verified person query (exposed residents)", exposed.clone()),
        ("any register row", people.iter().collect()),
    ] {
        // Alternated query by query, so that both see the same minute of the machine,
        // each one first half of the time (the second finds the first's cache lines).
        let mut linked_times = Vec::new();
        let mut direct_times = Vec::new();
        let time = |m: &Matcher, p: &Person| {
            let t = Instant::now();
            black_box(m.query_brief(black_box(p)));
            t.elapsed()
        };
        for (i, p) in set.iter().enumerate() {
            if i % 2 == 0 {
                linked_times.push(time(&matcher, p));
                direct_times.push(time(&direct, p));
            } else {
                direct_times.push(time(&direct, p));
                linked_times.push(time(&matcher, p));
            }
        }
        report(&format!("{what}, {n} records"), linked_times);
        report(&format!("{what}, {n} records, --direct-only"), direct_times);
    }

    let mut group = c.benchmark_group(format!("query/{n}"));
    let mut i = 0usize;
    group.bench_function("exposed_resident", |b| {
        b.iter(|| {
            i = (i + 1) % exposed.len().max(1);
            exposed.get(i).map(|p| matcher.query_brief(black_box(p)))
        })
    });
    let mut j = 0usize;
    group.bench_function("register_row", |b| {
        b.iter(|| {
            j = (j + 1) % people.len().max(1);
            people.get(j).map(|p| matcher.query_brief(black_box(p)))
        })
    });
    let mut k = 0usize;
    group.bench_function("exposed_resident_with_fields", |b| {
        b.iter(|| {
            k = (k + 1) % exposed.len().max(1);
            exposed.get(k).map(|p| matcher.query(black_box(p)))
        })
    });
    group.finish();
}

criterion_group!(query, benches);
criterion_main!(query);
