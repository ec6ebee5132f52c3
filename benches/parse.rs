//! Parse throughput of `leakscope::source` on generated dumps (~100 MB CSV, and
//! smaller JSON Lines and SQL), on a 2-thread pool as the build target assumes.
//!
//! `cargo bench --bench parse`; set `LEAKSCOPE_BENCH_MB` to change the CSV size
//! and `LEAKSCOPE_BENCH_QUICK=1` to print only the quick wall/CPU-time figures.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use leakscope::source::{ReadOptions, SourceFile};
use std::hint::black_box;
use std::io::Write;
use std::path::Path;

/// A small deterministic generator (no dependency, same bytes every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() as usize) % xs.len()]
    }
}

const FIRST: [&str; 8] = [
    "Jane",
    "Bill",
    "Zoë",
    "Siân",
    "Mohammed",
    "Olu",
    "Agnieszka",
    "Tom",
];
const LAST: [&str; 8] = [
    "Doe",
    "Smith",
    "O'Brien",
    "Evans",
    "Khan",
    "Adeyemi",
    "Nowak",
    "Featherstonehaugh",
];
const TOWNS: [&str; 4] = ["London", "Croydon", "Harrow", "Barnet"];

fn csv_bytes(target: usize) -> Vec<u8> {
    let mut g = Lcg(42);
    let mut out = Vec::with_capacity(target + 256);
    out.extend_from_slice(b"Account Ref,Forename,Surname,D.O.B,Address,Town,Post Code,Tel,E-mail Address,Balance,Notes,Date Opened\n");
    let mut i = 0u64;
    while out.len() < target {
        let (first, last) = (g.pick(&FIRST), g.pick(&LAST));
        let last = if last.contains('\'') {
            "\"O'Brien\""
        } else {
            last
        };
        let notes = match g.next() % 10 {
            0 => "\"called, left message\"",
            1 => "\"moved out\nforwarding address given\"",
            2 => "\"said \"\"not me\"\"\"",
            _ => "",
        };
        writeln!(
            out,
            "CT{i:08},{first},{last},{:02}/{:02}/{},\"{} High Street, Flat {}\",{},SW{} {}AA,07700 9{:05},{}.{}{i}@example.com,{}.{:02},{notes},{:02}/{:02}/20{:02}",
            1 + g.next() % 28,
            1 + g.next() % 12,
            1930 + g.next() % 80,
            1 + g.next() % 200,
            1 + g.next() % 9,
            g.pick(&TOWNS),
            1 + g.next() % 20,
            g.next() % 10,
            g.next() % 100_000,
            first.to_lowercase(),
            last.trim_matches('"').to_lowercase(),
            g.next() % 5000,
            g.next() % 100,
            1 + g.next() % 28,
            1 + g.next() % 12,
            6 + g.next() % 15,
        )
        .expect("write to Vec");
        i += 1;
    }
    out
}

fn jsonl_bytes(target: usize) -> Vec<u8> {
    let mut g = Lcg(7);
    let mut out = Vec::with_capacity(target + 256);
    let mut i = 0u64;
    while out.len() < target {
        writeln!(
            out,
            r#"{{"claim_no":"HB-{i}","claimant":{{"name":{{"first":"{}","last":"{}"}},"dob":"19{:02}-0{}-1{}"}},"contact":{{"email":"c{i}@example.com","phones":["07700 9{:05}","020 7946 {:04}"]}},"address":{{"line1":"{} Station Road","postcode":"N{} 9GU"}},"amount":{}.5,"approved":true}}"#,
            g.pick(&FIRST),
            g.pick(&LAST).replace('\'', "\\u0027"),
            g.next() % 100,
            1 + g.next() % 9,
            g.next() % 10,
            g.next() % 100_000,
            g.next() % 10_000,
            1 + g.next() % 300,
            1 + g.next() % 20,
            g.next() % 900,
        )
        .expect("write to Vec");
        i += 1;
    }
    out
}

fn sql_bytes(target: usize) -> Vec<u8> {
    let mut g = Lcg(9);
    let mut out = Vec::with_capacity(target + 256);
    out.extend_from_slice(b"CREATE TABLE `residents` (`id` int, `first_name` varchar(50), `last_name` varchar(50), `dob` date, `postcode` varchar(8), `email` varchar(100), `notes` text);\n");
    let mut i = 0u64;
    while out.len() < target {
        // mysqldump-style extended inserts of ~1 MB.
        out.extend_from_slice(b"INSERT INTO `residents` VALUES ");
        let start = out.len();
        while out.len() - start < 1 << 20 {
            if out.len() > start {
                out.push(b',');
            }
            write!(
                out,
                "({i},'{}','{}','19{:02}-0{}-1{}','E{} 6AN','r{i}@example.com','note with \\'quote\\' and \\\\ slash')",
                g.pick(&FIRST),
                g.pick(&LAST).replace('\'', "\\'"),
                g.next() % 100,
                1 + g.next() % 9,
                g.next() % 10,
                1 + g.next() % 20,
            )
            .expect("write to Vec");
            i += 1;
        }
        out.extend_from_slice(b";\n");
    }
    out
}

/// Touch every value, as the index builder will.
fn scan_all(pool: &rayon::ThreadPool, file: &SourceFile) -> usize {
    let out = pool.install(|| {
        file.scan(
            || 0usize,
            |n, rec| {
                for c in 0..rec.fields.len() {
                    *n += rec.fields.get(c).len();
                }
            },
        )
    });
    out.states.iter().sum()
}

/// Process CPU time (all threads) in seconds, from /proc (Linux only).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) in clock ticks of 1/100 s.
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Wall-clock throughput depends on what else the (shared) machine runs; CPU
/// time does not. Print both so a loaded machine still gives a usable number.
fn report_cpu_throughput(pool: &rayon::ThreadPool, file: &SourceFile, name: &str, len: usize) {
    let runs = 5;
    let cpu0 = cpu_seconds();
    let t0 = std::time::Instant::now();
    for _ in 0..runs {
        black_box(scan_all(pool, file));
    }
    let wall = t0.elapsed().as_secs_f64();
    let mb = (len * runs) as f64 / (1 << 20) as f64;
    match cpu0.zip(cpu_seconds()) {
        Some((a, b)) if b > a => eprintln!(
            "{name}: {:.0} MiB/s wall on {} thread(s), {:.0} MiB/s per CPU-second (so ~{:.0} MiB/s on 2 idle cores)",
            mb / wall,
            pool.current_num_threads(),
            mb / (b - a),
            2.0 * mb / (b - a)
        ),
        _ => eprintln!(
            "{name}: {:.0} MiB/s wall on {} thread(s)",
            mb / wall,
            pool.current_num_threads()
        ),
    }
}

fn bench_file(c: &mut Criterion, pool: &rayon::ThreadPool, dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write bench input");
    let t0 = std::time::Instant::now();
    let file = pool
        .install(|| SourceFile::open_with(&path, name, &ReadOptions::default()))
        .expect("open bench input");
    // Opening reads the whole file once too (encoding; JSON paths; SQL statements).
    eprintln!(
        "{name}: open {:.0} MiB/s wall",
        bytes.len() as f64 / (1 << 20) as f64 / t0.elapsed().as_secs_f64()
    );
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("thread pool");
    report_cpu_throughput(&one, &file, name, bytes.len());
    report_cpu_throughput(pool, &file, name, bytes.len());
    if std::env::var_os("LEAKSCOPE_BENCH_QUICK").is_some() {
        return;
    }
    let mut group = c.benchmark_group("parse");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function(name, |b| b.iter(|| black_box(scan_all(pool, &file))));
    group.finish();
}

fn parse(c: &mut Criterion) {
    let mb: usize = std::env::var("LEAKSCOPE_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("thread pool");
    let dir = tempfile::tempdir().expect("temp dir");
    bench_file(
        c,
        &pool,
        dir.path(),
        "council_tax.csv",
        &csv_bytes(mb << 20),
    );
    bench_file(
        c,
        &pool,
        dir.path(),
        "claims.jsonl",
        &jsonl_bytes((mb / 4).max(1) << 20),
    );
    bench_file(
        c,
        &pool,
        dir.path(),
        "archive.sql",
        &sql_bytes((mb / 4).max(1) << 20),
    );
}

criterion_group!(benches, parse);
criterion_main!(benches);
