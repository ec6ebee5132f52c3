//! Building an index: dump files → records → normalised [`Person`]s → keys → a segment.
//!
//! This is the only place the pipeline stages meet at build time. Each file is read
//! a group of chunks at a time so that memory stays bounded whatever the dump size:
//! a group is parsed, normalised and keyed in parallel, then its records and keys go
//! to the [`SegmentWriter`] (which spills to disk past its budget) before the next
//! group is read. Record ids follow file order, so the segment is the same whatever
//! the number of threads.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use roaring::RoaringBitmap;

use super::dir::{ColumnEntry, DatasetEntry, DumpFile, IndexWriter, Manifest, SegmentEntry};
use super::error::IndexError;
use super::stats::SegmentStats;
use super::writer::{DEFAULT_PARTITION_BITS, SegmentWriter};
use crate::features::{self, FeatureHasher, NameEntry, NameRegistry, RecentNames};
use crate::field::FieldKind;
use crate::keys::{self, Key, KeyError, Secret};
use crate::normalize::Person;
use crate::source::{
    ColumnMap, Overrides, ReadOptions, RejectReason, SourceError, SourceFile, discover,
    map_dataset,
    rejects::{REJECTS_HEADER, create_rejects_file, write_reject},
    survey::SAMPLE_RECORDS,
};

/// Name of the directory inside an index that holds decompressed copies of `.gz` dumps.
pub const GUNZIP_DIR: &str = "gunzip";

/// File inside an index with each dump file's saved layout (format, encoding,
/// columns, SQL statement positions), keyed by the dump path of the manifest, so
/// that queries re-read records without scanning dumps again.
pub const LAYOUTS_FILE: &str = "layouts.json";

/// How to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Replace an existing index.
    pub force: bool,
    /// Memory the build may use for its buffers, in bytes (`--memory`).
    pub memory_budget: usize,
    /// `--map` / `--mapping` overrides.
    pub overrides: Overrides,
    /// Write every rejected row (dataset, row, offset, reason) here, mode 0600.
    pub rejects: Option<PathBuf>,
    /// How dump files are read (chunk size, field length limit).
    pub read: ReadOptions,
    /// Reuse this hashing key rather than a fresh random one (reproducible rebuilds).
    pub secret: Option<Secret>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            force: false,
            memory_budget: 2 << 30,
            overrides: Overrides::default(),
            rejects: None,
            read: ReadOptions::default(),
            secret: None,
        }
    }
}

/// A build that could not finish. The previous index, if any, is untouched.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A dump could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The index could not be written.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// The hashing key could not be made.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The rejects file could not be written.
    #[error("cannot write the rejects file {}: {source}", path.display())]
    Rejects {
        /// The `--rejects` path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// No dump file was found under the arguments.
    #[error("no dump files found in {0}")]
    NoDumps(String),
}

/// One dataset as built: what `leakscope index` reports.
#[derive(Debug, Clone)]
pub struct BuiltDataset {
    /// Dataset name.
    pub name: String,
    /// Format and encoding, as detected (`csv`, `windows-1252`).
    pub format: String,
    /// Encoding, as detected.
    pub encoding: String,
    /// Rows read, rejected ones included.
    pub rows: u64,
    /// Records indexed.
    pub records: u64,
    /// Rejected rows per reason.
    pub rejects: Vec<(RejectReason, u64)>,
    /// The column mapping used.
    pub mapping: Vec<ColumnMap>,
}

/// What a finished build produced.
#[derive(Debug, Clone)]
pub struct BuildSummary {
    /// The index directory.
    pub index: PathBuf,
    /// Every dataset, in record-id order.
    pub datasets: Vec<BuiltDataset>,
    /// Bytes of dump read (decompressed).
    pub input_bytes: u64,
    /// The segment's statistics.
    pub stats: SegmentStats,
    /// Wall time of the build, seconds.
    pub seconds: f64,
    /// Things the user should know: `--map` entries naming no column, empty files.
    pub warnings: Vec<String>,
}

/// Per-dataset facts the build keeps while scanning.
struct DatasetPlan {
    global: u32,
    kinds: Vec<Option<FieldKind>>,
    /// Data class id of each column.
    classes: Vec<u16>,
    mapping: Vec<ColumnMap>,
}

/// One parsed record, waiting for its id.
struct PendingRecord {
    dataset: u32,
    local_row: u64,
    offset: u64,
    len: u32,
    year: u16,
    keys_end: u32,
    classes_end: u32,
    features_end: u32,
}

/// What the parallel scan produces for one chunk.
#[derive(Default)]
struct ChunkOut {
    records: Vec<PendingRecord>,
    keys: Vec<(u64, u8)>,
    classes: Vec<u16>,
    /// Every record's feature bytes, back to back.
    features: Vec<u8>,
    /// Entries of names this chunk saw first in the build.
    names: Vec<NameEntry>,
    person: Person,
    scratch: Vec<Key>,
    columns: Vec<u8>,
    recent: RecentNames,
}

/// Bitmaps of the scopes. Ids of one group of chunks are collected in sorted
/// vectors first and OR-ed in per group: much cheaper than a push per id.
#[derive(Default)]
struct Scopes {
    datasets: Vec<RoaringBitmap>,
    years: BTreeMap<u16, RoaringBitmap>,
    classes: Vec<RoaringBitmap>,
    pending_datasets: Vec<Vec<u32>>,
    pending_years: BTreeMap<u16, Vec<u32>>,
    pending_classes: Vec<Vec<u32>>,
}

impl Scopes {
    fn new(datasets: usize, classes: usize) -> Scopes {
        Scopes {
            datasets: vec![RoaringBitmap::new(); datasets],
            classes: vec![RoaringBitmap::new(); classes],
            pending_datasets: vec![Vec::new(); datasets],
            pending_classes: vec![Vec::new(); classes],
            ..Scopes::default()
        }
    }

    /// Move the pending ids (each list ascending) into the bitmaps.
    fn flush(&mut self) {
        fn merge(into: &mut RoaringBitmap, ids: &mut Vec<u32>) {
            if !ids.is_empty() {
                // Ids are assigned in increasing order, so each list is sorted.
                if let Ok(b) = RoaringBitmap::from_sorted_iter(ids.iter().copied()) {
                    *into |= b;
                } else {
                    into.extend(ids.iter().copied());
                }
                ids.clear();
            }
        }
        for (b, ids) in self.datasets.iter_mut().zip(&mut self.pending_datasets) {
            merge(b, ids);
        }
        for (b, ids) in self.classes.iter_mut().zip(&mut self.pending_classes) {
            merge(b, ids);
        }
        for (year, ids) in &mut self.pending_years {
            merge(self.years.entry(*year).or_default(), ids);
        }
    }
}

/// Build the index `out` from `dumps` (files or directories). `progress` is told the
/// bytes of dump processed so far and the total.
pub fn build(
    dumps: &[PathBuf],
    out: &Path,
    opts: &BuildOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<BuildSummary, BuildError> {
    let started = Instant::now();
    let found = discover(dumps)?;
    if found.is_empty() {
        let args: Vec<String> = dumps.iter().map(|p| p.display().to_string()).collect();
        return Err(BuildError::NoDumps(args.join(", ")));
    }
    let mut writer = IndexWriter::create(out, opts.force)?;
    if let Some(given) = &opts.secret {
        writer.set_secret(given.as_bytes())?;
    }
    let secret = Secret::from_bytes(writer.secret())?;
    let hasher = FeatureHasher::new(&secret);
    let name_registry = NameRegistry::default();
    let mut read = opts.read.clone();
    read.scratch = Some(writer.build_dir().join(GUNZIP_DIR));
    // Opening reads each file once (encoding, SQL statements, JSON columns): do the
    // files side by side.
    let files = found
        .par_iter()
        .map(|(path, name)| SourceFile::open_with(path, name, &read))
        .collect::<Result<Vec<_>, _>>()?;
    // Opening read every file through; let those pages go until the scan needs them.
    for file in &files {
        file.release_all();
    }
    let total_bytes: u64 = files.iter().map(SourceFile::len_bytes).sum();
    let infos: Vec<_> = files.iter().flat_map(|f| f.datasets().to_vec()).collect();
    let mut warnings = opts.overrides.unmatched(&infos);
    for file in &files {
        warnings.extend(
            file.warnings()
                .iter()
                .map(|w| format!("{}: {w}", file.name())),
        );
    }

    // Map every dataset's columns and give every data class a number.
    let mut class_names: Vec<String> = Vec::new();
    let mut class_ids: BTreeMap<String, u16> = BTreeMap::new();
    let mut plans: Vec<Vec<DatasetPlan>> = Vec::with_capacity(files.len());
    let mut global = 0u32;
    for file in &files {
        let mut per_file = Vec::new();
        for (d, info) in file.datasets().iter().enumerate() {
            let sample = file.sample(d, SAMPLE_RECORDS);
            let mapping = map_dataset(&info.name, &info.columns, &sample, &opts.overrides);
            let kinds = mapping.iter().map(|m| m.kind).collect();
            let classes = mapping
                .iter()
                .map(|m| {
                    let name = m.data_class();
                    *class_ids.entry(name.clone()).or_insert_with(|| {
                        class_names.push(name);
                        (class_names.len() - 1) as u16
                    })
                })
                .collect();
            per_file.push(DatasetPlan {
                global,
                kinds,
                classes,
                mapping,
            });
            global += 1;
        }
        plans.push(per_file);
    }

    let mut rejects_out = match &opts.rejects {
        Some(path) => {
            let rejects_err = |source| BuildError::Rejects {
                path: path.clone(),
                source,
            };
            let mut out = create_rejects_file(path).map_err(rejects_err)?;
            out.write_all(REJECTS_HEADER.as_bytes())
                .map_err(rejects_err)?;
            Some((path.clone(), out))
        }
        None => None,
    };
    // How the budget is shared (measured with RssAnon/RssFile at 5M records):
    // 45% for keys buffered in the writer; the group of chunks in flight gets a
    // sixteenth of the budget in dump bytes, whose parsed records and keys take about
    // 4x that (25%) while its mapped pages are resident too (6%); the rest is head
    // room for the allocator, the whole-file passes' windows and the scope bitmaps.
    let writer_budget = (opts.memory_budget / 20 * 9).max(16 << 20);
    let group_bytes = (opts.memory_budget / 16).clamp(8 << 20, 512 << 20);
    let mut segment =
        SegmentWriter::new(writer.build_dir(), writer_budget, DEFAULT_PARTITION_BITS)?;
    let mut scopes = Scopes::new(global as usize, class_names.len());
    let mut datasets: Vec<BuiltDataset> = Vec::new();
    let mut done_bytes = 0u64;
    let mut batch: Vec<(u64, u8, u32)> = Vec::new();

    for (file, file_plans) in files.iter().zip(&plans) {
        let chunks = file.chunk_count();
        let per_group = (group_bytes / read.chunk_size.max(1)).max(1);
        let nd = file.datasets().len();
        let mut rows_before = vec![0u64; nd];
        let mut records = vec![0u64; nd];
        let mut reject_counts: Vec<BTreeMap<RejectReason, u64>> = vec![BTreeMap::new(); nd];
        let mut start = 0;
        while start < chunks {
            let end = (start + per_group).min(chunks);
            let scan = file.scan_range(start..end, &rows_before, ChunkOut::default, |st, rec| {
                let Some(plan) = file_plans.get(rec.dataset) else {
                    return;
                };
                st.person.fill_from(&plan.kinds, rec.fields);
                st.scratch.clear();
                keys::derive(&st.person, &secret, &mut st.scratch);
                st.keys
                    .extend(st.scratch.iter().map(|k| (k.hash, k.recipe.id())));
                let before = st.classes.len();
                st.columns.clear();
                st.columns.resize(plan.classes.len().div_ceil(8), 0);
                for (col, class) in plan.classes.iter().enumerate() {
                    if rec.fields.has_value(col) {
                        if let Some(byte) = st.columns.get_mut(col / 8) {
                            *byte |= 1 << (col % 8);
                        }
                        if !st.classes[before..].contains(class) {
                            st.classes.push(*class);
                        }
                    }
                }
                let ChunkOut {
                    features: out,
                    names,
                    person,
                    columns,
                    recent,
                    ..
                } = st;
                features::encode_record(
                    &hasher,
                    plan.global,
                    person,
                    columns,
                    out,
                    &mut |name, hash| {
                        name_registry.note(recent, &hasher, name, hash, names);
                    },
                );
                st.records.push(PendingRecord {
                    dataset: rec.dataset as u32,
                    local_row: rec.local_row,
                    offset: rec.offset,
                    len: rec.len,
                    year: st.person.record_year.unwrap_or(0),
                    keys_end: st.keys.len() as u32,
                    classes_end: st.classes.len() as u32,
                    features_end: st.features.len() as u32,
                });
            });
            for r in &scan.rejects {
                if let Some(c) = reject_counts.get_mut(r.dataset) {
                    *c.entry(r.reason).or_insert(0) += 1;
                }
                if let Some((path, out)) = rejects_out.as_mut() {
                    let dataset = file
                        .datasets()
                        .get(r.dataset)
                        .map_or(file.name(), |d| d.name.as_str());
                    write_reject(out, dataset, r).map_err(|source| BuildError::Rejects {
                        path: path.clone(),
                        source,
                    })?;
                }
            }
            for (d, before) in rows_before.iter_mut().enumerate() {
                *before = scan.rows(d);
            }
            let rows_of = |d: usize, c: usize, local: u64| scan.row(d, c, local);
            for (chunk, state) in scan.states.iter().enumerate() {
                batch.clear();
                segment.add_names(state.names.iter().copied());
                let (mut k0, mut c0, mut f0) = (0usize, 0usize, 0usize);
                for rec in &state.records {
                    let Some(plan) = file_plans.get(rec.dataset as usize) else {
                        continue;
                    };
                    let row = rows_of(rec.dataset as usize, chunk, rec.local_row);
                    let id = segment.add_record(plan.global, row, rec.offset, rec.len)?;
                    let f1 = rec.features_end as usize;
                    segment.add_features(id, state.features.get(f0..f1).unwrap_or_default())?;
                    f0 = f1;
                    let (k1, c1) = (rec.keys_end as usize, rec.classes_end as usize);
                    if let Some(ks) = state.keys.get(k0..k1) {
                        batch.extend(ks.iter().map(|&(h, r)| (h, r, id)));
                    }
                    if let Some(cs) = state.classes.get(c0..c1) {
                        for &c in cs {
                            if let Some(ids) = scopes.pending_classes.get_mut(c as usize) {
                                ids.push(id);
                            }
                        }
                    }
                    (k0, c0) = (k1, c1);
                    if let Some(ids) = scopes.pending_datasets.get_mut(plan.global as usize) {
                        ids.push(id);
                    }
                    if rec.year != 0 {
                        scopes.pending_years.entry(rec.year).or_default().push(id);
                    }
                    if let Some(n) = records.get_mut(rec.dataset as usize) {
                        *n += 1;
                    }
                }
                segment.add_keys(&batch)?;
            }
            scopes.flush();
            file.release_chunks_before(end);
            done_bytes += group_share(file.len_bytes(), start, end, chunks);
            progress(done_bytes, total_bytes);
            start = end;
        }
        for (d, plan) in file_plans.iter().enumerate() {
            let info = &file.datasets()[d];
            datasets.push(BuiltDataset {
                name: info.name.clone(),
                format: file.format().to_string(),
                encoding: file.encoding().to_string(),
                rows: rows_before.get(d).copied().unwrap_or(0),
                records: records.get(d).copied().unwrap_or(0),
                rejects: reject_counts
                    .get(d)
                    .map(|m| m.iter().map(|(r, n)| (*r, *n)).collect())
                    .unwrap_or_default(),
                mapping: plan.mapping.clone(),
            });
        }
    }
    if let Some((path, out)) = rejects_out.as_mut() {
        out.flush().map_err(|source| BuildError::Rejects {
            path: path.clone(),
            source,
        })?;
    }

    for (i, b) in scopes.datasets.into_iter().enumerate() {
        if let Some(d) = datasets.get(i) {
            segment.set_scope(format!("dataset:{}", d.name), b);
        }
    }
    for (year, b) in scopes.years {
        segment.set_scope(format!("year:{year}"), b);
    }
    for (name, b) in class_names.iter().zip(scopes.classes) {
        segment.set_scope(format!("class:{name}"), b);
    }
    let entries = dataset_entries(&files, &found, &datasets, writer.build_dir());
    let table = serde_json::to_vec(&entries)
        .map_err(|e| IndexError::InvalidInput(format!("dataset table: {e}")))?;
    segment.set_datasets(table);
    let layouts: BTreeMap<String, crate::source::FileLayout> = found
        .iter()
        .zip(&files)
        .map(|((given, _), file)| {
            let key = std::fs::canonicalize(given)
                .unwrap_or_else(|_| given.clone())
                .display()
                .to_string();
            (key, file.layout())
        })
        .collect();
    let layouts_path = writer.build_dir().join(LAYOUTS_FILE);
    let json = serde_json::to_vec(&layouts)
        .map_err(|e| IndexError::InvalidInput(format!("dump layouts: {e}")))?;
    std::fs::write(&layouts_path, json).map_err(|e| IndexError::write_path(&layouts_path, e))?;
    let seg_path = writer.segment_path(0);
    let stats = segment.finish(&seg_path)?;

    let mut dumps_described = Vec::with_capacity(found.len());
    for (path, _) in &found {
        let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        let described = DumpFile::describe(&abs, abs.display().to_string()).map_err(|source| {
            SourceError::Io {
                path: abs.clone(),
                source,
            }
        })?;
        dumps_described.push(described);
    }
    let mut manifest = Manifest {
        datasets: entries,
        ..Manifest::default()
    };
    manifest.segments.push(SegmentEntry::new(
        super::dir::segment_file_name(0),
        &stats,
        dumps_described,
    ));
    manifest
        .settings
        .insert("memory_budget".into(), opts.memory_budget.to_string());
    manifest
        .settings
        .insert("threads".into(), rayon::current_num_threads().to_string());
    manifest
        .settings
        .insert("max_field_bytes".into(), read.max_field_bytes.to_string());
    let index = writer.commit(&manifest)?;
    Ok(BuildSummary {
        index,
        datasets,
        input_bytes: total_bytes,
        stats,
        seconds: started.elapsed().as_secs_f64(),
        warnings,
    })
}

/// The manifest's description of every dataset, in global dataset order.
fn dataset_entries(
    files: &[SourceFile],
    found: &[(PathBuf, String)],
    built: &[BuiltDataset],
    build_dir: &Path,
) -> Vec<DatasetEntry> {
    let mut out = Vec::with_capacity(built.len());
    let mut built_iter = built.iter();
    for (file, (given, _)) in files.iter().zip(found) {
        let dump = std::fs::canonicalize(given)
            .unwrap_or_else(|_| given.clone())
            .display()
            .to_string();
        // A decompressed copy lives in the index; record it relative to the index.
        let copy = file
            .path()
            .strip_prefix(build_dir)
            .ok()
            .map(|p| p.display().to_string());
        for _ in file.datasets() {
            let Some(d) = built_iter.next() else { break };
            out.push(DatasetEntry {
                name: d.name.clone(),
                dump: dump.clone(),
                copy: copy.clone(),
                format: d.format.clone(),
                encoding: d.encoding.clone(),
                rows: d.rows,
                records: d.records,
                rejects: d.rejects.iter().map(|(_, n)| n).sum(),
                rejects_by_reason: d.rejects.iter().map(|(r, n)| (r.to_string(), *n)).collect(),
                columns: d
                    .mapping
                    .iter()
                    .map(|m| ColumnEntry {
                        name: m.column.clone(),
                        kind: m.kind.map(|k| k.name().to_string()),
                        origin: m.origin.to_string(),
                    })
                    .collect(),
            });
        }
    }
    out
}

/// Bytes of a file attributed to chunks `start..end` of `chunks`, for progress.
fn group_share(bytes: u64, start: usize, end: usize, chunks: usize) -> u64 {
    if chunks == 0 {
        return bytes;
    }
    let at = |c: usize| bytes.saturating_mul(c as u64) / chunks as u64;
    at(end) - at(start)
}
