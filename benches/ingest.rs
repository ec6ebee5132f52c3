//! The build's first stage alone: parse + normalise + key (no index writing), in MB/s
//! of dump, on a 2-thread pool, over the CSV and TSV files of a `gen` archive.
//!
//! `cargo bench --bench ingest`; `LEAKSCOPE_BENCH_RECORDS` sets the archive size
//! (default 300,000 records; the files are generated once into a temp directory).
//!
//! On a shared machine wall-clock throughput is noise. `LEAKSCOPE_INGEST_PASSES=N`
//! skips criterion and makes exactly N passes over each file on one thread, so that
//! `perf stat -e cycles:u` compares two builds on the same work (run it with `N=0`
//! too, to take away the cost of generating the archive).

use criterion::{Criterion, Throughput, criterion_group};
use leakscope::field::FieldKind;
use leakscope::keys::{self, Key, Secret};
use leakscope::normalize::Person;
use leakscope::source::{Overrides, SourceFile, map_dataset, survey::SAMPLE_RECORDS};
use leakscope::synth::{GenConfig, generate};
use std::hint::black_box;

#[derive(Default)]
struct State {
    person: Person,
    keys: Vec<Key>,
    count: u64,
}

/// The files measured, each with its column kinds as the build maps them.
fn files(
    records: u64,
    dir: &std::path::Path,
) -> Vec<(&'static str, SourceFile, Vec<Option<FieldKind>>)> {
    let cfg = GenConfig {
        records,
        register: 1000,
        ..GenConfig::default()
    };
    generate(&cfg, dir).expect("gen archive");
    [
        "council_tax_2006_2014.csv",
        "parking_permits.tsv",
        "electoral_registration_2014_2020.csv",
    ]
    .into_iter()
    .map(|name| {
        let path = dir.join("dump").join(name);
        let file = SourceFile::open(&path, name, None).expect("dump opens");
        let info = &file.datasets()[0];
        let sample = file.sample(0, SAMPLE_RECORDS);
        let mapping = map_dataset(&info.name, &info.columns, &sample, &Overrides::default());
        let kinds: Vec<_> = mapping.iter().map(|m| m.kind).collect();
        (name, file, kinds)
    })
    .collect()
}

/// Parse + normalise + key every record of `file`; the number of keys.
fn pass(file: &SourceFile, kinds: &[Option<FieldKind>], secret: &Secret) -> u64 {
    let out = file.scan(State::default, |st, rec| {
        st.person.fill_from(kinds, rec.fields);
        st.keys.clear();
        keys::derive(&st.person, secret, &mut st.keys);
        st.count += st.keys.len() as u64;
    });
    out.states.iter().map(|s| s.count).sum()
}

fn records() -> u64 {
    std::env::var("LEAKSCOPE_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000)
}

fn ingest(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = files(records(), dir.path());
    let secret = Secret::generate().expect("secret");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("pool");
    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    for (name, file, kinds) in &files {
        group.throughput(Throughput::Bytes(file.len_bytes()));
        group.bench_function(*name, |b| {
            b.iter(|| black_box(pool.install(|| pass(file, kinds, &secret))))
        });
    }
    group.finish();
}

/// `LEAKSCOPE_INGEST_PASSES=N`: N passes per file on one thread, then the wall time.
fn fixed_passes(passes: u32) {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = files(records(), dir.path());
    let secret = Secret::from_bytes(&[7u8; leakscope::keys::SECRET_LEN]).expect("secret");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    for (name, file, kinds) in &files {
        let started = std::time::Instant::now();
        let cpu_before = cpu_seconds();
        let mut total = 0;
        for _ in 0..passes {
            total += pool.install(|| pass(file, kinds, &secret));
        }
        let secs = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu_before;
        let mib = file.len_bytes() as f64 * f64::from(passes) / (1 << 20) as f64;
        println!(
            "{name}: {passes} passes, {total} keys, {:.1} MiB/s on one thread, {:.1} MiB per CPU second",
            mib / secs,
            mib / cpu
        );
    }
}

/// User + system CPU time of this process so far (Linux; 0 elsewhere), which a busy
/// machine disturbs far less than wall time.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14th and 15th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: f64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

criterion_group!(benches, ingest);

fn main() {
    if let Some(passes) = std::env::var("LEAKSCOPE_INGEST_PASSES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        fixed_passes(passes);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
