//! Index lookup speed on a large synthetic segment.
//!
//! The segment models a breach archive: `LEAKSCOPE_BENCH_RECORDS` records (default
//! 10 million) of people who appear in about 2.5 records each, with eleven keys per
//! record in the spirit of the real recipes: per-person identifiers (email, phone,
//! NI number, dob + postcode), shared ones (last name + dob, first name + dob,
//! first + last name, phonetic name + dob, household), a per-record account
//! reference, and for one record in ten a very common value (long posting lists).
//! About 110 million postings at the default size.
//!
//! The segment is built once and cached under `target/bench-data/` (delete it to
//! rebuild). Build time, size and bytes per posting are printed before the
//! measurements.
//!
//! Run with `cargo bench --bench lookup`. Set `LEAKSCOPE_BENCH_BUDGET_MB` to also
//! rebuild under that memory budget (spilling to disk) and check the output is the
//! same file.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use leakscope::index::{Postings, Segment, SegmentWriter};
use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64_with_seed;

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The key of `value` under `recipe`, as the real key path would hash it.
fn key(recipe: u8, value: u64) -> u64 {
    xxh3_64_with_seed(&value.to_le_bytes(), u64::from(recipe))
}

struct Model {
    records: u64,
    people: u64,
}

const ACCOUNT: u8 = 9;
const EMAIL: u8 = 0;
const COMMON: u8 = 10;

impl Model {
    fn person(&self, record: u64) -> u64 {
        mix(record) % self.people
    }

    /// The `(hash, recipe)` keys of one record.
    fn keys(&self, record: u64, out: &mut Vec<(u64, u8, u32)>) {
        let p = self.person(record);
        let r = record as u32;
        let people = self.people;
        out.extend_from_slice(&[
            (key(EMAIL, p), EMAIL, r),
            (key(1, p), 1, r),
            (key(2, p), 2, r),
            (key(3, p % (people * 5 / 6).max(1)), 3, r),
            (key(4, p % (people / 3).max(1)), 4, r),
            (key(5, p % (people / 5).max(1)), 5, r),
            (key(6, p), 6, r),
            (key(7, p / 3), 7, r),
            (key(8, p % (people / 4).max(1)), 8, r),
            (key(ACCOUNT, record), ACCOUNT, r),
        ]);
        if record.is_multiple_of(10) {
            out.push((key(COMMON, mix(record) % 1000), COMMON, r));
        }
    }
}

fn build(model: &Model, path: &Path, budget: usize) {
    let scratch = path.parent().unwrap_or(path).to_path_buf();
    let start = Instant::now();
    let mut writer = SegmentWriter::new(&scratch, budget, 8).unwrap();
    for r in 0..model.records {
        writer
            .add_record((r % 40) as u32, r + 1, r * 180, 180)
            .unwrap();
    }
    let chunk = 1_000_000u64;
    for lo in (0..model.records).step_by(chunk as usize) {
        let hi = (lo + chunk).min(model.records);
        let starts: Vec<u64> = (lo..hi).step_by(50_000).collect();
        let batches: Vec<Vec<(u64, u8, u32)>> = starts
            .par_iter()
            .map(|&from| {
                let to = (from + 50_000).min(hi);
                let mut out = Vec::with_capacity((to - from) as usize * 11);
                for r in from..to {
                    model.keys(r, &mut out);
                }
                out
            })
            .collect();
        for b in &batches {
            writer.add_keys(b).unwrap();
        }
    }
    let stats = writer.finish(path).unwrap();
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_string();
            Some(line.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    eprintln!(
        "built {} records, {} keys, {} postings in {:.1} s ({} spills, {} MB budget; \
         process peak RSS so far {peak}, including the generator's batches)",
        stats.records,
        stats.keys,
        stats.postings,
        start.elapsed().as_secs_f64(),
        stats.spills,
        budget >> 20
    );
}

fn open_or_build(model: &Model) -> Segment {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("lookup-{}.seg", model.records));
    let cached = Segment::open(&path)
        .ok()
        .filter(|s| u64::from(s.record_count()) == model.records);
    let segment = match cached {
        Some(segment) => segment,
        None => {
            build(model, &path, 2 << 30);
            Segment::open(&path).unwrap()
        }
    };
    // Optionally rebuild under a small memory budget (forcing spills) and check the
    // result is the same file.
    if let Some(mb) = std::env::var("LEAKSCOPE_BENCH_BUDGET_MB")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    {
        let small = dir.join(format!("lookup-{}-budget.seg", model.records));
        build(model, &small, mb << 20);
        let rebuilt = Segment::open(&small).unwrap();
        assert_eq!(
            rebuilt.checksum(),
            segment.checksum(),
            "budget changed the output"
        );
        assert_eq!(rebuilt.size_bytes(), segment.size_bytes());
        eprintln!("a {mb} MB budget gave the same segment");
        drop(rebuilt);
        std::fs::remove_file(&small).unwrap();
    }
    segment
}

fn report(segment: &Segment) {
    let start = Instant::now();
    segment.verify().unwrap();
    let verify = start.elapsed();
    let stats = segment.recipe_stats();
    let postings = segment.posting_count();
    let size = segment.size_bytes();
    let records_table = u64::from(segment.record_count()) * 16;
    let keys_and_postings = size - records_table - segment.datasets_bytes().len() as u64;
    eprintln!(
        "segment: {} records, {} keys, {postings} postings, {:.1} MB; verify {:.1} s",
        segment.record_count(),
        segment.key_count(),
        size as f64 / 1e6,
        verify.as_secs_f64()
    );
    eprintln!(
        "bytes per posting: {:.2} (directory + key table + postings; whole file {:.2})",
        keys_and_postings as f64 / postings as f64,
        size as f64 / postings as f64
    );
    for s in stats {
        eprintln!(
            "  recipe {:>2}: {:>10} keys, mean {:>8.2}, largest {:>7}",
            s.recipe,
            s.keys,
            s.mean_postings(),
            s.largest
        );
    }
}

/// Nanoseconds this thread has run on a CPU (Linux), to measure despite other
/// processes competing for the cores; `None` elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Times `n` calls of `work` by wall clock and by this thread's CPU time.
fn cpu_probe(label: &str, n: usize, mut work: impl FnMut(usize) -> u64) {
    let (wall, cpu) = (Instant::now(), thread_cpu_ns());
    let mut total = 0u64;
    for i in 0..n {
        total = total.wrapping_add(work(i));
    }
    black_box(total);
    let wall_ns = wall.elapsed().as_nanos() as f64 / n as f64;
    match (cpu, thread_cpu_ns()) {
        (Some(a), Some(b)) => eprintln!(
            "{label:<12} {wall_ns:>8.0} ns wall, {:>8.0} ns on-CPU per lookup",
            (b - a) as f64 / n as f64
        ),
        _ => eprintln!("{label:<12} {wall_ns:>8.0} ns wall per lookup"),
    }
}

fn sum(p: Postings<'_>) -> u64 {
    p.iter().map(u64::from).sum()
}

fn benches(c: &mut Criterion) {
    let records: u64 = std::env::var("LEAKSCOPE_BENCH_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let model = Model {
        records,
        people: (records * 2 / 5).max(10),
    };
    let segment = open_or_build(&model);
    report(&segment);

    // Probe keys spread over the whole file, so lookups miss the CPU caches like
    // real ones; the file itself is in the page cache (warm).
    const PROBES: u64 = 1 << 20;
    let hits: Vec<u64> = (0..PROBES)
        .map(|i| key(EMAIL, model.person(mix(i) % model.records)))
        .collect();
    let misses: Vec<u64> = (0..PROBES).map(|i| mix(i ^ 0xdead_beef)).collect();
    let inline: Vec<u64> = (0..PROBES)
        .map(|i| key(ACCOUNT, mix(i) % model.records))
        .collect();
    let short: Vec<u64> = hits
        .iter()
        .copied()
        .filter(|&h| segment.lookup(h).len() >= 2)
        .take(1 << 16)
        .collect();
    let long: Vec<u64> = (0..1000).map(|v| key(COMMON, v)).collect();
    assert!(hits.iter().all(|&h| !segment.lookup(h).is_empty()));
    let mean_short = short
        .iter()
        .map(|&h| segment.lookup(h).len())
        .sum::<usize>() as f64
        / short.len().max(1) as f64;
    let mean_long = long.iter().map(|&h| segment.lookup(h).len()).sum::<usize>() as f64 / 1000.0;
    eprintln!(
        "decode classes: short lists mean {mean_short:.1} ids, long lists mean {mean_long:.0} ids"
    );

    // Other processes competing for the cores inflate wall-clock times; on-CPU
    // time (Linux) shows what a lookup itself costs.
    let pick = |v: &[u64], i: usize| black_box(v[i % v.len()]);
    for _ in 0..2 {
        cpu_probe("hit", 2_000_000, |i| {
            segment.lookup(pick(&hits, i)).len() as u64
        });
        cpu_probe("miss", 2_000_000, |i| {
            segment.lookup(pick(&misses, i)).len() as u64
        });
        cpu_probe("inline_1", 2_000_000, |i| {
            sum(segment.lookup(pick(&inline, i)))
        });
        cpu_probe("short", 2_000_000, |i| sum(segment.lookup(pick(&short, i))));
        cpu_probe("long", 20_000, |i| sum(segment.lookup(pick(&long, i))));
    }

    let mut group = c.benchmark_group("lookup");
    group.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    group.bench_function("hit", |b| {
        b.iter(|| {
            i = (i + 1) & (PROBES as usize - 1);
            black_box(segment.lookup(black_box(hits[i])).len())
        })
    });
    group.bench_function("miss", |b| {
        b.iter(|| {
            i = (i + 1) & (PROBES as usize - 1);
            black_box(segment.lookup(black_box(misses[i])).is_empty())
        })
    });
    group.finish();

    let mut group = c.benchmark_group("lookup_and_decode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("inline_1", |b| {
        b.iter(|| {
            i = (i + 1) & (PROBES as usize - 1);
            black_box(sum(segment.lookup(black_box(inline[i]))))
        })
    });
    group.bench_function(format!("short_mean_{mean_short:.0}"), |b| {
        b.iter(|| {
            i = (i + 1) % short.len();
            black_box(sum(segment.lookup(black_box(short[i]))))
        })
    });
    group.bench_function(format!("long_mean_{mean_long:.0}"), |b| {
        b.iter(|| {
            i = (i + 1) % long.len();
            black_box(sum(segment.lookup(black_box(long[i]))))
        })
    });
    group.finish();
}

criterion_group!(lookup, benches);
criterion_main!(lookup);
