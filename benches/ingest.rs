//! The build's first stage alone: parse + normalise + key (no index writing), in MB/s
//! of dump, on a 2-thread pool, over the CSV and TSV files of a `gen` archive.
//!
//! `cargo bench --bench ingest`; `LEAKSCOPE_BENCH_RECORDS` sets the archive size
//! (default 300,000 records; the files are generated once into a temp directory).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
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

fn ingest(c: &mut Criterion) {
    let records = std::env::var("LEAKSCOPE_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = GenConfig {
        records,
        register: 1000,
        ..GenConfig::default()
    };
    generate(&cfg, dir.path()).expect("gen archive");
    let secret = Secret::generate().expect("secret");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("pool");
    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    for name in [
        "council_tax_2006_2014.csv",
        "parking_permits.tsv",
        "electoral_registration_2014_2020.csv",
    ] {
        let path = dir.path().join("dump").join(name);
        let file = SourceFile::open(&path, name, None).expect("dump opens");
        let info = &file.datasets()[0];
        let sample = file.sample(0, SAMPLE_RECORDS);
        let mapping = map_dataset(&info.name, &info.columns, &sample, &Overrides::default());
        let kinds: Vec<_> = mapping.iter().map(|m| m.kind).collect();
        group.throughput(Throughput::Bytes(file.len_bytes()));
        group.bench_function(name, |b| {
            b.iter(|| {
                let out = pool.install(|| {
                    file.scan(State::default, |st, rec| {
                        st.person.fill_from(&kinds, rec.fields);
                        st.keys.clear();
                        keys::derive(&st.person, &secret, &mut st.keys);
                        st.count += st.keys.len() as u64;
                    })
                });
                black_box(out.states.iter().map(|s| s.count).sum::<u64>())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
