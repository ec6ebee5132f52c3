//! The index's on-disk format through the library: round trips, determinism,
//! damage of every kind, and builds killed part-way.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use leakscope::index::{
    HISTOGRAM_BUCKETS, Index, IndexError, IndexWriter, Manifest, RecordEntry, SECRET_LEN,
    SHORT_MAX, Segment, SegmentEntry, SegmentWriter, histogram_bucket, segment_file_name,
};
use proptest::prelude::*;
use roaring::RoaringBitmap;

/// Deterministic pseudo-random numbers (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What a test segment should contain.
struct Spec {
    records: u32,
    /// key hash → (recipe, records)
    keys: BTreeMap<u64, (u8, BTreeSet<u32>)>,
    scopes: BTreeMap<String, RoaringBitmap>,
    datasets: Vec<u8>,
}

impl Spec {
    /// Keys of every posting-list size class plus `random_keys` keys of 1..=10 records.
    fn new(records: u32, random_keys: usize, seed: u64) -> Spec {
        let mut rng = Rng(seed);
        let mut keys = BTreeMap::new();
        let sizes = [
            1,
            2,
            3,
            SHORT_MAX as u32,
            SHORT_MAX as u32 + 1,
            records / 2,
            records,
        ];
        for (i, &size) in sizes.iter().enumerate() {
            let size = size.min(records);
            let mut set = BTreeSet::new();
            while set.len() < size as usize {
                set.insert(rng.below(u64::from(records)) as u32);
            }
            keys.insert(rng.next(), ((i % 3) as u8, set));
        }
        for _ in 0..random_keys {
            let n = 1 + rng.below(10);
            let set = (0..n)
                .map(|_| rng.below(u64::from(records)) as u32)
                .collect();
            keys.insert(rng.next(), ((rng.below(4) + 1) as u8, set));
        }
        let mut scopes = BTreeMap::new();
        scopes.insert(
            "dataset:council_tax.csv".to_string(),
            (0..records / 3).collect(),
        );
        scopes.insert(
            "year:2011".to_string(),
            (0..records).filter(|r| r % 7 == 0).collect(),
        );
        scopes.insert("class:other:Notes".to_string(), RoaringBitmap::new());
        Spec {
            records,
            keys,
            scopes,
            datasets: br#"[{"name":"council_tax.csv"}]"#.to_vec(),
        }
    }

    fn entries(&self) -> Vec<(u64, u8, u32)> {
        self.keys
            .iter()
            .flat_map(|(&hash, (recipe, set))| set.iter().map(move |&r| (hash, *recipe, r)))
            .collect()
    }

    fn record(&self, id: u32) -> RecordEntry {
        RecordEntry {
            dataset: id % 5,
            person: 0,
            row: id / 5 + 1,
            offset: u64::from(id) * 1000 + 7,
            len: id % 300 + 1,
        }
    }

    /// Writes the segment to `path`, feeding `batches` of entries.
    fn write(
        &self,
        scratch: &Path,
        path: &Path,
        budget: usize,
        partition_bits: u32,
        batches: &[Vec<(u64, u8, u32)>],
    ) -> leakscope::index::SegmentStats {
        let mut w = SegmentWriter::new(scratch, budget, partition_bits).unwrap();
        // Keys before records is allowed.
        for b in batches {
            w.add_keys(b).unwrap();
        }
        for id in 0..self.records {
            let r = self.record(id);
            assert_eq!(
                w.add_record(r.dataset, u64::from(r.row), r.offset, r.len)
                    .unwrap(),
                id
            );
        }
        for (name, bitmap) in &self.scopes {
            w.set_scope(name.clone(), bitmap.clone());
        }
        w.set_datasets(self.datasets.clone());
        w.finish(path).unwrap()
    }

    fn bytes(&self, budget: usize) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.seg");
        self.write(dir.path(), &path, budget, 4, &[self.entries()]);
        fs::read(&path).unwrap()
    }
}

fn shuffled_batches(
    entries: &[(u64, u8, u32)],
    seed: u64,
    with_duplicates: bool,
) -> Vec<Vec<(u64, u8, u32)>> {
    let mut rng = Rng(seed);
    let mut all = entries.to_vec();
    if with_duplicates {
        all.extend_from_slice(&entries[..entries.len() / 2]);
    }
    for i in (1..all.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        all.swap(i, j);
    }
    all.chunks(1 + rng.below(500) as usize)
        .map(<[_]>::to_vec)
        .collect()
}

#[test]
fn round_trip_finds_every_key_and_nothing_else() {
    let spec = Spec::new(3000, 4000, 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("segment-0000.seg");
    let stats = spec.write(dir.path(), &path, 1 << 20, 4, &[spec.entries()]);
    let segment = Segment::open(&path).unwrap();
    segment.verify().unwrap();

    assert_eq!(segment.record_count(), spec.records);
    assert_eq!(segment.key_count(), spec.keys.len() as u64);
    let postings: usize = spec.keys.values().map(|(_, s)| s.len()).sum();
    assert_eq!(segment.posting_count(), postings as u64);
    assert_eq!(stats.postings, postings as u64);
    assert_eq!(segment.size_bytes(), stats.size_bytes);
    assert_eq!(segment.size_bytes(), fs::metadata(&path).unwrap().len());

    for (&hash, (_, set)) in &spec.keys {
        let p = segment.lookup(hash);
        let ids: Vec<u32> = p.iter().collect();
        assert_eq!(ids, set.iter().copied().collect::<Vec<_>>());
        assert_eq!(p.len(), set.len());
        assert!(!p.is_empty());
        assert_eq!(
            p.to_bitmap(),
            set.iter().copied().collect::<RoaringBitmap>()
        );
        let first = *set.iter().next().unwrap();
        assert!(p.contains(first));
        let absent = (0..spec.records).find(|r| !set.contains(r));
        if let Some(absent) = absent {
            assert!(!p.contains(absent));
        }
    }
    let mut rng = Rng(99);
    for _ in 0..20_000 {
        let hash = rng.next();
        if !spec.keys.contains_key(&hash) {
            let p = segment.lookup(hash);
            assert!(p.is_empty());
            assert_eq!(p.len(), 0);
            assert_eq!(p.iter().count(), 0);
        }
    }
    // Neighbours of real keys share buckets and most of their bits.
    for &hash in spec.keys.keys() {
        for probe in [hash ^ 1, hash ^ (1 << 40), hash.wrapping_add(1)] {
            if !spec.keys.contains_key(&probe) {
                assert!(segment.lookup(probe).is_empty());
            }
        }
    }

    for id in [0, 1, spec.records / 2, spec.records - 1] {
        assert_eq!(segment.record(id), Some(spec.record(id)));
    }
    assert_eq!(segment.record(spec.records), None);
    assert_eq!(segment.record(u32::MAX), None);

    let names: Vec<&str> = spec.scopes.keys().map(String::as_str).collect();
    assert_eq!(segment.scope_names().unwrap(), names);
    for (name, bitmap) in &spec.scopes {
        assert_eq!(segment.scope(name).unwrap().as_ref(), Some(bitmap));
    }
    assert_eq!(segment.scope("year:1999").unwrap(), None);
    assert_eq!(segment.datasets_bytes(), &spec.datasets[..]);
}

#[test]
fn recipe_statistics_are_exact() {
    let spec = Spec::new(500, 800, 2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.seg");
    let stats = spec.write(dir.path(), &path, 1 << 20, 3, &[spec.entries()]);
    let segment = Segment::open(&path).unwrap();

    let mut expected: BTreeMap<u8, (u64, u64, u64, [u64; HISTOGRAM_BUCKETS])> = BTreeMap::new();
    for (recipe, set) in spec.keys.values() {
        let e = expected
            .entry(*recipe)
            .or_insert((0, 0, 0, [0; HISTOGRAM_BUCKETS]));
        let n = set.len() as u64;
        e.0 += 1;
        e.1 += n;
        e.2 = e.2.max(n);
        e.3[histogram_bucket(n)] += 1;
    }
    let got = segment.recipe_stats();
    assert_eq!(got, stats.recipes);
    assert_eq!(got.len(), expected.len());
    for (s, (recipe, e)) in got.iter().zip(&expected) {
        assert_eq!(s.recipe, *recipe);
        assert_eq!((s.keys, s.postings, s.largest, s.histogram), *e);
    }
    assert!(stats.bytes_per_posting() > 0.0);
}

#[test]
fn a_key_added_under_two_recipes_counts_once_under_the_smaller() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SegmentWriter::new(dir.path(), 1 << 20, 2).unwrap();
    for _ in 0..3 {
        w.add_record(0, 1, 0, 1).unwrap();
    }
    w.add_keys(&[(5, 9, 0), (5, 4, 1), (5, 7, 1), (5, 9, 0), (6, 1, 2)])
        .unwrap();
    let path = dir.path().join("s.seg");
    let stats = w.finish(&path).unwrap();
    let segment = Segment::open(&path).unwrap();
    assert_eq!(segment.lookup(5).iter().collect::<Vec<_>>(), vec![0, 1]);
    let recipes: Vec<(u8, u64, u64)> = stats
        .recipes
        .iter()
        .map(|s| (s.recipe, s.keys, s.postings))
        .collect();
    assert_eq!(recipes, vec![(1, 1, 1), (4, 1, 2)]);
}

#[test]
fn empty_segment_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let w = SegmentWriter::new(dir.path(), 1 << 20, 0).unwrap();
    let path = dir.path().join("empty.seg");
    let stats = w.finish(&path).unwrap();
    assert_eq!((stats.records, stats.keys, stats.postings), (0, 0, 0));
    let segment = Segment::open(&path).unwrap();
    segment.verify().unwrap();
    assert!(segment.lookup(0).is_empty());
    assert!(segment.lookup(u64::MAX).is_empty());
    assert_eq!(segment.record(0), None);
    assert!(segment.scope_names().unwrap().is_empty());
}

#[test]
fn output_is_byte_identical_whatever_the_order_threads_partitions_and_spilling() {
    let spec = Spec::new(2000, 3000, 3);
    let entries = spec.entries();
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("ref.seg");
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let ref_stats = one_thread.install(|| {
        spec.write(
            dir.path(),
            &reference,
            1 << 24,
            0,
            std::slice::from_ref(&entries),
        )
    });
    assert_eq!(ref_stats.spills, 0);
    let reference = fs::read(&reference).unwrap();

    let four_threads = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    for (i, (budget, bits, seed)) in [
        (1 << 24, 8, 10),
        (4096, 4, 11),
        (16 * 100, 12, 12),
        (1 << 24, 1, 13),
    ]
    .into_iter()
    .enumerate()
    {
        let path = dir.path().join(format!("{i}.seg"));
        let batches = shuffled_batches(&entries, seed, true);
        let stats = four_threads.install(|| spec.write(dir.path(), &path, budget, bits, &batches));
        if budget < 1 << 20 {
            assert!(stats.spills > 0, "budget {budget} should spill");
        }
        assert!(
            fs::read(&path).unwrap() == reference,
            "segment {i} (budget {budget}, {bits} partition bits) differs"
        );
        assert_eq!(stats.checksum, ref_stats.checksum);
    }
}

/// A small segment (a few KB) that still has every kind of posting list, and its keys.
fn small_segment() -> (Vec<u64>, Vec<u8>) {
    static SMALL: std::sync::OnceLock<(Vec<u64>, Vec<u8>)> = std::sync::OnceLock::new();
    SMALL
        .get_or_init(|| {
            let spec = Spec::new(100, 40, 4);
            (spec.keys.keys().copied().collect(), spec.bytes(1 << 20))
        })
        .clone()
}

/// Opens `bytes` and exercises every accessor; must never panic.
fn poke(bytes: Vec<u8>, probes: &[u64]) -> Result<(), IndexError> {
    let segment = Segment::from_bytes(bytes)?;
    for &hash in probes {
        let p = segment.lookup(hash);
        let n = p.iter().take(1 << 20).count();
        let _ = (n, p.len(), p.contains(3), p.to_bitmap());
    }
    for id in 0..segment.record_count().min(1000) {
        let _ = segment.record(id);
    }
    for name in segment.scope_names()? {
        let _ = segment.scope(name);
    }
    let _ = segment.recipe_stats();
    let _ = segment.datasets_bytes();
    segment.verify()
}

fn fix_checksum(bytes: &mut [u8]) {
    let footer = bytes.len() - 20;
    let sum = xxhash_rust::xxh3::xxh3_64(&bytes[..footer]);
    bytes[footer..footer + 8].copy_from_slice(&sum.to_le_bytes());
}

#[test]
fn every_flipped_byte_is_refused_by_verify_without_panicking() {
    let (keys, bytes) = small_segment();
    assert!(
        bytes.len() > 1000 && bytes.len() < 20_000,
        "{}",
        bytes.len()
    );
    let probes: Vec<u64> = keys.into_iter().chain([0, u64::MAX, 12345]).collect();
    poke(bytes.clone(), &probes).unwrap();
    for pos in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut damaged = bytes.clone();
            damaged[pos] ^= mask;
            let err = poke(damaged, &probes).expect_err("damage went unnoticed");
            let msg = err.to_string();
            assert!(
                msg.contains("segment (in memory)"),
                "error does not name the segment: {msg}"
            );
        }
    }
}

#[test]
fn damage_behind_a_valid_checksum_is_caught_by_structure_checks() {
    // Flips in the key table, directory and postings, with the checksum recomputed,
    // must still be reported (or be harmless), never panic.
    let (probes, bytes) = small_segment();
    let mut caught = 0;
    for pos in 168..bytes.len() - 20 {
        let mut damaged = bytes.clone();
        damaged[pos] ^= 0x10;
        fix_checksum(&mut damaged);
        if poke(damaged, &probes).is_err() {
            caught += 1;
        }
    }
    assert!(caught > 100, "only {caught} structural errors found");
}

#[test]
fn truncated_segments_are_refused() {
    let (probes, bytes) = small_segment();
    for len in 0..bytes.len() {
        let err = poke(bytes[..len].to_vec(), &probes).expect_err("truncation went unnoticed");
        let msg = err.to_string();
        assert!(msg.contains("damaged"), "len {len}: {msg}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.seg");
    fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let msg = Segment::open(&path).unwrap_err().to_string();
    assert!(msg.contains("cut.seg is damaged"), "{msg}");
    assert!(msg.contains("truncated"), "{msg}");
    fs::write(&path, b"").unwrap();
    let msg = Segment::open(&path).unwrap_err().to_string();
    assert!(msg.contains("empty"), "{msg}");
}

#[test]
fn foreign_files_and_future_versions_are_refused_clearly() {
    let (_, bytes) = small_segment();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    fs::write(&path, b"name,email\nJane,jane@example.com\n").unwrap();
    let msg = Segment::open(&path).unwrap_err().to_string();
    assert!(
        msg.ends_with("notes.txt is not a leakscope segment (bad magic)"),
        "{msg}"
    );

    let mut wrong_magic = bytes.clone();
    wrong_magic[0] = b'X';
    assert!(matches!(
        Segment::from_bytes(wrong_magic),
        Err(IndexError::NotASegment { .. })
    ));

    let mut future = bytes.clone();
    future[8..12].copy_from_slice(&7u32.to_le_bytes());
    let msg = Segment::from_bytes(future).unwrap_err().to_string();
    assert!(
        msg.contains("was written by a newer leakscope (format version 7, this build reads 2)"),
        "{msg}"
    );

    // Format 1 had no record features: such a segment asks to be rebuilt.
    let mut older = bytes.clone();
    older[8..12].copy_from_slice(&1u32.to_le_bytes());
    let msg = Segment::from_bytes(older).unwrap_err().to_string();
    assert!(
        msg.contains("was written by an older leakscope (format version 1, this build reads 2)")
            && msg.contains("rebuild the index"),
        "{msg}"
    );

    let missing = Segment::open(&dir.path().join("nope.seg")).unwrap_err();
    assert!(matches!(missing, IndexError::Read { .. }), "{missing}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_corruption_never_panics(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        fix in any::<bool>(),
    ) {
        let (keys, mut bytes) = small_segment();
        for (pos, value) in edits {
            let len = bytes.len();
            bytes[pos % len] = value;
        }
        if fix {
            fix_checksum(&mut bytes);
        }
        let _ = poke(bytes, &keys);
    }

    #[test]
    fn garbage_with_a_plausible_frame_never_panics(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        probes in proptest::collection::vec(any::<u64>(), 1..20),
    ) {
        // Valid magic, version and footer frame around random bytes, so decoding
        // goes past the first checks.
        let mut bytes = b"LKSCSEG1".to_vec();
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(b"LKSCSEG1");
        let _ = poke(bytes, &probes);
    }

    #[test]
    fn pure_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = poke(bytes, &[0, 1, u64::MAX]);
    }
}

// ---------------------------------------------------------------------------
// The index directory

fn build_index(out: &Path, force: bool, generation: &str) -> Result<PathBuf, IndexError> {
    let writer = IndexWriter::create(out, force)?;
    assert_eq!(writer.secret().len(), SECRET_LEN);
    let spec = Spec::new(50, 20, 5);
    let file = segment_file_name(0);
    let stats = spec.write(
        writer.build_dir(),
        &writer.segment_path(0),
        1 << 20,
        2,
        &[spec.entries()],
    );
    let mut manifest = Manifest::default();
    manifest
        .segments
        .push(SegmentEntry::new(file, &stats, Vec::new()));
    manifest
        .settings
        .insert("generation".into(), generation.into());
    writer.commit(&manifest)
}

fn generation(index: &Index) -> &str {
    index.manifest().settings["generation"].as_str()
}

#[test]
fn index_round_trips_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("idx");
    build_index(&out, false, "first").unwrap();
    let index = Index::open(&out).unwrap();
    index.verify().unwrap();
    assert_eq!(generation(&index), "first");
    assert_eq!(index.segments().len(), 1);
    assert_eq!(index.segments()[0].record_count(), 50);
    let secret = *index.secret();
    assert_ne!(secret, [0u8; SECRET_LEN]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(out.join("secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let err = build_index(&out, false, "second").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{} already exists; use --force to replace it",
            out.display()
        )
    );
    build_index(&out, true, "second").unwrap();
    let index = Index::open(&out).unwrap();
    assert_eq!(generation(&index), "second");
    assert_ne!(*index.secret(), secret, "a rebuilt index gets a new secret");

    // Nothing is left beside the index.
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["idx".to_string()]);
}

#[test]
fn force_never_replaces_something_that_is_not_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("precious.csv");
    fs::write(&file, b"data").unwrap();
    let err = build_index(&file, true, "x").unwrap_err();
    assert!(matches!(err, IndexError::NotReplaceable { .. }), "{err}");
    let folder = dir.path().join("home");
    fs::create_dir(&folder).unwrap();
    fs::write(folder.join("thesis.txt"), b"data").unwrap();
    assert!(matches!(
        build_index(&folder, true, "x"),
        Err(IndexError::NotReplaceable { .. })
    ));
    assert_eq!(fs::read(&file).unwrap(), b"data");
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    build_index(&empty, true, "x").unwrap();
    Index::open(&empty).unwrap();
}

#[test]
fn broken_index_directories_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("idx");
    build_index(&out, false, "g").unwrap();

    let copy = |name: &str| -> PathBuf {
        let to = dir.path().join(name);
        fs::create_dir(&to).unwrap();
        for entry in fs::read_dir(&out).unwrap() {
            let entry = entry.unwrap();
            fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
        to
    };

    let no_secret = copy("no-secret");
    fs::remove_file(no_secret.join("secret")).unwrap();
    let msg = Index::open(&no_secret).unwrap_err().to_string();
    assert!(
        msg.contains("has no usable secret (secret is missing)"),
        "{msg}"
    );

    let short_secret = copy("short-secret");
    fs::write(short_secret.join("secret"), [1u8; 10]).unwrap();
    let msg = Index::open(&short_secret).unwrap_err().to_string();
    assert!(msg.contains("10 bytes, expected 192"), "{msg}");

    // Another index's secret (right length, wrong bytes) would make every key
    // miss: refused, not answered with `not_found` for everyone.
    let other_secret = copy("other-secret");
    fs::write(other_secret.join("secret"), [7u8; SECRET_LEN]).unwrap();
    let msg = Index::open(&other_secret).unwrap_err().to_string();
    assert!(msg.contains("belongs to another index"), "{msg}");
    // An index from before the check value was recorded still opens.
    let unchecked = copy("unchecked");
    let text = fs::read_to_string(unchecked.join("manifest.json")).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let removed = value.as_object_mut().and_then(|m| m.remove("secret_check"));
    assert!(removed.is_some_and(|v| v.is_string()), "{text}");
    fs::write(unchecked.join("manifest.json"), value.to_string()).unwrap();
    Index::open(&unchecked).unwrap();

    let no_manifest = copy("no-manifest");
    fs::remove_file(no_manifest.join("manifest.json")).unwrap();
    let msg = Index::open(&no_manifest).unwrap_err().to_string();
    assert!(msg.contains("is not a leakscope index"), "{msg}");

    let newer = copy("newer");
    let text = fs::read_to_string(newer.join("manifest.json")).unwrap();
    fs::write(
        newer.join("manifest.json"),
        text.replace("\"format_version\": 1", "\"format_version\": 3"),
    )
    .unwrap();
    let msg = Index::open(&newer).unwrap_err().to_string();
    assert!(
        msg.contains("format version 3, this build reads 1"),
        "{msg}"
    );

    let damaged = copy("damaged");
    let seg = damaged.join(segment_file_name(0));
    let mut bytes = fs::read(&seg).unwrap();
    // The last byte before the footer: a statistics count, which open does not read.
    let last = bytes.len() - 21;
    bytes[last] ^= 0xff;
    fs::write(&seg, &bytes).unwrap();
    let index = Index::open(&damaged).unwrap();
    let msg = index.verify().unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!(
            "segment 0 of {} is damaged: checksum mismatch",
            damaged.display()
        )),
        "{msg}"
    );

    let replaced = copy("replaced");
    let seg = replaced.join(segment_file_name(0));
    let other = Spec::new(50, 21, 6).bytes(1 << 20);
    fs::write(&seg, other).unwrap();
    let err = Index::open(&replaced)
        .and_then(|i| i.verify())
        .unwrap_err()
        .to_string();
    assert!(err.contains("differ"), "{err}");

    let missing_segment = copy("missing-segment");
    fs::remove_file(missing_segment.join(segment_file_name(0))).unwrap();
    let msg = Index::open(&missing_segment).unwrap_err().to_string();
    assert!(msg.contains("cannot read segment 0 of"), "{msg}");

    let msg = Index::open(&dir.path().join("absent"))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("no such directory"), "{msg}");
}

#[test]
fn commit_refuses_an_index_that_appeared_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("idx");
    let slow = IndexWriter::create(&out, false).unwrap();
    build_index(&out, false, "faster").unwrap();
    let err = slow.commit(&Manifest::default()).unwrap_err();
    assert!(matches!(err, IndexError::Exists { .. }), "{err}");
    assert_eq!(generation(&Index::open(&out).unwrap()), "faster");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn an_abandoned_build_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("idx");
    {
        let writer = IndexWriter::create(&out, false).unwrap();
        fs::write(writer.build_dir().join("partial"), b"x").unwrap();
        // Dropped without commit, as on an error.
    }
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------
// A build killed part-way, in a child process (this test binary, re-run).

const CHILD_OUT: &str = "LEAKSCOPE_TEST_KILLED_BUILD_OUT";
const CHILD_STAGE: &str = "LEAKSCOPE_TEST_KILLED_BUILD_STAGE";

/// Not a test on its own: the child side of `a_killed_build_leaves_no_usable_half_index`.
#[test]
fn killed_build_child() {
    let Ok(out) = std::env::var(CHILD_OUT) else {
        return;
    };
    let out = PathBuf::from(out);
    let stage = std::env::var(CHILD_STAGE).unwrap_or_default();
    let marker = out.with_extension("marker");
    let writer = IndexWriter::create(&out, true).unwrap();
    let spec = Spec::new(400, 2000, 7);
    let mut w = SegmentWriter::new(writer.build_dir(), 16 * 64, 3).unwrap();
    for id in 0..spec.records {
        w.add_record(0, u64::from(id) + 1, u64::from(id), 1)
            .unwrap();
    }
    w.add_keys(&spec.entries()).unwrap(); // spills many runs
    if stage == "segment" {
        w.finish(&writer.segment_path(0)).unwrap();
    }
    fs::write(&marker, b"ready").unwrap();
    // Wait to be killed; give up after a minute so a broken parent leaves no orphan.
    std::thread::sleep(Duration::from_secs(60));
    std::process::exit(3);
}

fn run_and_kill_child(out: &Path, stage: &str) -> u32 {
    let marker = out.with_extension("marker");
    let _ = fs::remove_file(&marker);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "killed_build_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_OUT, out)
        .env(CHILD_STAGE, stage)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !marker.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("child exited early: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "child never got ready"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id();
    child.kill().unwrap();
    child.wait().unwrap();
    fs::remove_file(&marker).unwrap();
    pid
}

/// The build directory process `pid` left for index `name` in `dir`.
fn build_dir_of(dir: &Path, name: &str, pid: u32) -> PathBuf {
    let prefix = format!(".{name}.tmp-{pid}-");
    let found: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&prefix)
        })
        .collect();
    assert_eq!(found.len(), 1, "build directories of {pid}: {found:?}");
    found[0].clone()
}

#[test]
fn a_killed_build_leaves_no_usable_half_index() {
    let dir = tempfile::tempdir().unwrap();

    // No previous index: nothing at `out` afterwards.
    let out = dir.path().join("fresh");
    let pid = run_and_kill_child(&out, "spill");
    assert!(!out.exists());
    assert!(matches!(
        Index::open(&out),
        Err(IndexError::NotAnIndex { .. })
    ));
    let tmp = build_dir_of(dir.path(), "fresh", pid);
    assert!(
        tmp.join("secret").exists(),
        "the child should have left its build directory"
    );
    let msg = Index::open(&tmp).unwrap_err().to_string();
    assert!(msg.contains("unfinished or interrupted build"), "{msg}");

    // A previous index survives a killed rebuild, even one killed after writing
    // its segment.
    let kept = dir.path().join("kept");
    build_index(&kept, false, "old").unwrap();
    let pid2 = run_and_kill_child(&kept, "segment");
    let tmp2 = build_dir_of(dir.path(), "kept", pid2);
    assert!(tmp2.join(segment_file_name(0)).exists());
    let index = Index::open(&kept).unwrap();
    index.verify().unwrap();
    assert_eq!(generation(&index), "old");
    assert!(Index::open(&tmp2).is_err());

    // The next build cleans up after the killed one.
    build_index(&kept, true, "new").unwrap();
    assert!(!tmp2.exists(), "stale build directory not removed");
    assert_eq!(generation(&Index::open(&kept).unwrap()), "new");
    build_index(&out, false, "new").unwrap();
    assert!(!tmp.exists(), "stale build directory not removed");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Lookups must hold however hashes cluster: uniform, all in one bucket, or
    /// sharing every bit but the lowest.
    #[test]
    fn clustered_hashes_are_all_found(
        seeds in proptest::collection::btree_set(any::<u64>(), 1..600),
        shape in 0u8..3,
    ) {
        let hashes: BTreeSet<u64> = seeds
            .iter()
            .map(|&s| match shape {
                0 => s,
                1 => (0xABCD_u64 << 48) | (s >> 16),
                _ => 0x1234_5678_9ABC_0000 | (s & 0xffff),
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let mut w = SegmentWriter::new(dir.path(), 1 << 20, 2).unwrap();
        w.add_record(0, 1, 0, 1).unwrap();
        let entries: Vec<(u64, u8, u32)> = hashes.iter().map(|&h| (h, 0, 0)).collect();
        w.add_keys(&entries).unwrap();
        let path = dir.path().join("c.seg");
        w.finish(&path).unwrap();
        let segment = Segment::open(&path).unwrap();
        segment.verify().unwrap();
        for &h in &hashes {
            prop_assert_eq!(segment.lookup(h).len(), 1);
            for probe in [h.wrapping_add(1), h.wrapping_sub(1), !h] {
                prop_assert_eq!(segment.lookup(probe).is_empty(), !hashes.contains(&probe));
            }
        }
    }
}

#[test]
fn readers_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Segment>();
    shareable::<Index>();
    shareable::<IndexError>();
}
