//! Building an index: dump files → records → normalised [`Person`]s → keys → a segment.
//!
//! This is the only place the pipeline stages meet at build time. Each file is read
//! a group of chunks at a time so that memory stays bounded whatever the dump size:
//! a group is parsed, normalised and keyed in parallel, then its records and keys go
//! to the [`SegmentWriter`] (which spills to disk past its budget) before the next
//! group is read. Record ids follow file order, so the segment is the same whatever
//! the number of threads.
//!
//! A row holding several people (an applicant and a partner, a household's
//! members: [`People`]) is indexed as one record per person, each with the row's
//! place in its dump and the person's number in the record table, and its own
//! keys, features, names and data classes; a row of one person is indexed whole.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use roaring::RoaringBitmap;

use super::dir::{ColumnEntry, DatasetEntry, DumpFile, IndexWriter, Manifest, SegmentEntry};
use super::error::IndexError;
use super::stats::SegmentStats;
use super::writer::{DEFAULT_PARTITION_BITS, KeyBatch, SegmentWriter};
use crate::features::{self, FeatureHasher, NameEntry, NameRegistry, RecentNames};
use crate::field::FieldKind;
use crate::keys::{self, Key, KeyError, Secret};
use crate::normalize::Person;
use crate::source::{
    ChunkScan, ColumnMap, Discovery, Fields, LeaveOut, Overrides, People, ReadOptions, Reject,
    RejectReason, SourceError, SourceFile, discover_leaving_out, map_dataset,
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
    /// A dump's size, modification time or identity at the end of the build differ
    /// from those when it was opened: what was indexed may be neither the old file
    /// nor the new one.
    #[error(
        "{} changed while it was being indexed (it grew/shrank or was rewritten): build again once it is stable",
        path.display()
    )]
    DumpChanged {
        /// The dump file, as given or found.
        path: PathBuf,
    },
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
    /// Records indexed (rows less rejects).
    pub records: u64,
    /// Rows indexed as several people (one index record each).
    pub several: u64,
    /// The people of the `several` rows (the dataset's index records are its
    /// other records and these).
    pub people: u64,
    /// Rows holding more people than a row is split into
    /// ([`crate::source::MAX_PEOPLE`]): indexed whole, one record each.
    pub crowded: u64,
    /// Rejected rows per reason.
    pub rejects: Vec<(RejectReason, u64)>,
    /// Rows read with trailing fields left off (fewer fields than the header).
    pub short_rows: u64,
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
    /// What discovery left out and why (a file reached twice, the index's own
    /// directory inside a dump directory...).
    pub notes: Vec<String>,
}

/// Per-dataset facts the build keeps while scanning.
struct DatasetPlan {
    global: u32,
    kinds: Vec<Option<FieldKind>>,
    /// The order each column's numeric dates are written in.
    orders: Vec<crate::normalize::date::Order>,
    /// Data class id of each column.
    classes: Vec<u16>,
    mapping: Vec<ColumnMap>,
    /// How a row splits into people (empty: one person a row).
    people: People,
}

/// One parsed record, waiting for its id.
struct PendingRecord {
    dataset: u32,
    /// Which person of the row (0: the whole row).
    person: u8,
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
    /// The people of a row holding several, one record each.
    split: Vec<Fields>,
    /// Per dataset of the file: rows of more people than a row is split into.
    crowded: Vec<u64>,
}

/// Bitmaps of the scopes.
#[derive(Default)]
struct Scopes {
    datasets: Vec<RoaringBitmap>,
    years: BTreeMap<u16, RoaringBitmap>,
    classes: Vec<RoaringBitmap>,
}

/// Scope membership of one chunk's records, as bit sets over their ids (a few
/// instructions a record), each turned into a bitmap and OR-ed into its scope once
/// the chunk is done: much cheaper than inserting ids one by one.
#[derive(Default)]
struct ChunkBits {
    /// Id of bit 0 (a multiple of 8).
    base: u32,
    bytes: usize,
    /// Slots: datasets, then data classes, then years in order of appearance;
    /// each `bytes` long during a chunk.
    sets: Vec<Vec<u8>>,
    /// `year_slots[year]`: 1 + the year's slot, or 0 for a year not seen yet.
    year_slots: Vec<u32>,
    slot_years: Vec<u16>,
}

impl ChunkBits {
    /// Starts a chunk whose records have ids `first..first + count`, with
    /// `fixed` dataset and class slots.
    fn start(&mut self, first: u32, count: usize, fixed: usize) {
        self.base = first & !7;
        self.bytes = ((first - self.base) as usize + count).div_ceil(8);
        let slots = fixed + self.slot_years.len();
        if self.sets.len() < slots {
            self.sets.resize_with(slots, Vec::new);
        }
        for set in &mut self.sets {
            set.clear();
            set.resize(self.bytes, 0);
        }
    }

    fn set(&mut self, slot: usize, id: u32) {
        let i = id.wrapping_sub(self.base) as usize;
        if let Some(byte) = self.sets.get_mut(slot).and_then(|s| s.get_mut(i >> 3)) {
            *byte |= 1 << (i & 7);
        }
    }

    /// Slot of `year`'s scope, after the `fixed` dataset and class slots.
    fn year_slot(&mut self, fixed: usize, year: u16) -> usize {
        if self.year_slots.is_empty() {
            self.year_slots.resize(usize::from(u16::MAX) + 1, 0);
        }
        let known = self.year_slots.get(usize::from(year)).copied().unwrap_or(0);
        if known > 0 {
            return known as usize - 1;
        }
        let slot = fixed + self.slot_years.len();
        self.slot_years.push(year);
        if let Some(s) = self.year_slots.get_mut(usize::from(year)) {
            *s = slot as u32 + 1;
        }
        if self.sets.len() <= slot {
            self.sets.resize_with(slot + 1, Vec::new);
        }
        if let Some(set) = self.sets.get_mut(slot) {
            set.resize(self.bytes, 0);
        }
        slot
    }

    /// ORs each set into its scope.
    fn flush_into(&mut self, scopes: &mut Scopes) {
        let datasets = scopes.datasets.len();
        let fixed = datasets + scopes.classes.len();
        for (slot, set) in self.sets.iter().enumerate() {
            if set.iter().all(|&b| b == 0) {
                continue;
            }
            let bitmap = RoaringBitmap::from_lsb0_bytes(self.base, set);
            let target = if slot < datasets {
                scopes.datasets.get_mut(slot)
            } else if slot < fixed {
                scopes.classes.get_mut(slot - datasets)
            } else {
                self.slot_years
                    .get(slot - fixed)
                    .map(|year| scopes.years.entry(*year).or_default())
            };
            if let Some(t) = target {
                *t |= bitmap;
            }
        }
    }
}

/// What the build knows of one file's datasets so far, chunk after chunk.
struct FileTally {
    /// Rows (rejected ones included) in the chunks committed so far.
    rows: Vec<u64>,
    records: Vec<u64>,
    /// Rows indexed as several people, and the people in them.
    several: Vec<u64>,
    people: Vec<u64>,
    /// Rows of too many people to split, indexed whole.
    crowded: Vec<u64>,
    rejects: Vec<BTreeMap<RejectReason, u64>>,
    /// Rows read with trailing fields left off.
    short: Vec<u64>,
}

/// Takes the scanned chunks in file order: gives their records ids, hands their
/// keys to the segment writer, fills the scopes, counts and writes rejects.
struct Committer<'a, W: Write> {
    files: &'a [SourceFile],
    plans: &'a [Vec<DatasetPlan>],
    segment: &'a mut SegmentWriter,
    scopes: &'a mut Scopes,
    tallies: &'a mut [FileTally],
    rejects_out: &'a mut Option<(PathBuf, W)>,
    /// Chunks in a group: rejects are written sorted by dataset and row per group,
    /// and pages released and progress told per group, as a scan of the group would.
    per_group: usize,
    group_rejects: Vec<Reject>,
    bits: ChunkBits,
    done_bytes: u64,
    total_bytes: u64,
    progress: &'a (dyn Fn(u64, u64) + Sync),
}

impl<W: Write> Committer<'_, W> {
    /// Commits chunk `c` of file `f` (chunks come in file order).
    fn chunk(&mut self, f: usize, c: usize, scan: ChunkScan<ChunkOut>) -> Result<(), BuildError> {
        let (Some(file), Some(file_plans), Some(tally)) = (
            self.files.get(f),
            self.plans.get(f),
            self.tallies.get_mut(f),
        ) else {
            return Ok(());
        };
        for r in &scan.rejects {
            let before = tally.rows.get(r.dataset).copied().unwrap_or(0);
            self.group_rejects.push(Reject {
                row: before + r.row + 1,
                ..*r
            });
        }
        let state = &scan.state;
        let first = u32::try_from(self.segment.record_count()).unwrap_or(u32::MAX);
        let datasets = self.scopes.datasets.len();
        let fixed = datasets + self.scopes.classes.len();
        self.bits.start(first, state.records.len(), fixed);
        let mut batch = KeyBatch::with_capacity(state.keys.len());
        self.segment.add_names(state.names.iter().copied());
        let (mut k0, mut c0, mut f0) = (0usize, 0usize, 0usize);
        for rec in &state.records {
            let Some(plan) = file_plans.get(rec.dataset as usize) else {
                continue;
            };
            let d = rec.dataset as usize;
            let row = tally.rows.get(d).copied().unwrap_or(0) + rec.local_row + 1;
            let id = self
                .segment
                .add_person(plan.global, rec.person, row, rec.offset, rec.len)?;
            let f1 = rec.features_end as usize;
            self.segment
                .add_features(id, state.features.get(f0..f1).unwrap_or_default())?;
            f0 = f1;
            let (k1, c1) = (rec.keys_end as usize, rec.classes_end as usize);
            if let Some(ks) = state.keys.get(k0..k1) {
                for &(h, r) in ks {
                    batch.push(h, r, id);
                }
            }
            if let Some(cs) = state.classes.get(c0..c1) {
                for &class in cs {
                    if datasets + usize::from(class) < fixed {
                        self.bits.set(datasets + usize::from(class), id);
                    }
                }
            }
            (k0, c0) = (k1, c1);
            if (plan.global as usize) < datasets {
                self.bits.set(plan.global as usize, id);
            }
            if rec.year != 0 {
                let slot = self.bits.year_slot(fixed, rec.year);
                self.bits.set(slot, id);
            }
            // A row of several people is one record, its first person counted.
            if rec.person <= 1
                && let Some(n) = tally.records.get_mut(d)
            {
                *n += 1;
            }
            if rec.person == 1
                && let Some(n) = tally.several.get_mut(d)
            {
                *n += 1;
            }
            if rec.person >= 1
                && let Some(n) = tally.people.get_mut(d)
            {
                *n += 1;
            }
        }
        self.segment.add_batch(batch)?;
        self.bits.flush_into(self.scopes);
        for (total, n) in tally.rows.iter_mut().zip(&scan.rows) {
            *total += n;
        }
        for (total, n) in tally.short.iter_mut().zip(&scan.short_rows) {
            *total += n;
        }
        for (total, n) in tally.crowded.iter_mut().zip(&state.crowded) {
            *total += n;
        }
        let chunks = file.chunk_count();
        let per_group = self.per_group.max(1);
        if (c + 1).is_multiple_of(per_group) || c + 1 >= chunks {
            self.group_rejects.sort_by_key(|r| (r.dataset, r.row));
            for r in &self.group_rejects {
                if let Some(n) = tally.rejects.get_mut(r.dataset) {
                    *n.entry(r.reason).or_insert(0) += 1;
                }
                if let Some((path, out)) = self.rejects_out.as_mut() {
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
            self.group_rejects.clear();
            file.release_chunks_before(c + 1);
            let start = c - c % per_group;
            self.done_bytes += group_share(file.len_bytes(), start, c + 1, chunks);
            (self.progress)(self.done_bytes, self.total_bytes);
        }
        Ok(())
    }
}

/// Runs `scan(file, chunk)` for every chunk of every file, in parallel on the
/// current rayon pool with at most `window` chunks scanned or being scanned and
/// not yet committed, and hands each result to `commit` on this thread, in file
/// and chunk order. While it waits for the next result in order, this thread scans
/// chunks too. There is no barrier between groups of chunks or between files: a
/// thread done with its chunk takes the next. After an error from `commit` nothing
/// more is started; the chunks already running finish and the error is returned.
fn stream_chunks<R: Send>(
    files: &[SourceFile],
    window: usize,
    scan: impl Fn(usize, usize) -> R + Sync,
    mut commit: impl FnMut(usize, usize, R) -> Result<(), BuildError> + Send,
) -> Result<(), BuildError> {
    use std::collections::VecDeque;
    use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
    use std::sync::mpsc::{TryRecvError, channel};
    let scan = &scan;
    let window = window.max(1);
    rayon::scope_fifo(|s| {
        let (tx, rx) = channel::<(usize, std::thread::Result<R>)>();
        // Spawned and not yet committed, in order: file, chunk, result once in.
        let mut pending: VecDeque<(usize, usize, Option<std::thread::Result<R>>)> = VecDeque::new();
        let mut committed = 0usize;
        let (mut f, mut c) = (0usize, 0usize);
        let mut failed: Option<BuildError> = None;
        loop {
            while failed.is_none() && pending.len() < window {
                while f < files.len() && c >= files[f].chunk_count() {
                    f += 1;
                    c = 0;
                }
                if f >= files.len() {
                    break;
                }
                let tx = tx.clone();
                let (seq, file, chunk) = (committed + pending.len(), f, c);
                s.spawn_fifo(move |_| {
                    // A panic comes back to this thread as the chunk's result.
                    let outcome = catch_unwind(AssertUnwindSafe(|| scan(file, chunk)));
                    let _ = tx.send((seq, outcome));
                });
                pending.push_back((f, c, None));
                c += 1;
            }
            let Some(front) = pending.front_mut() else {
                break;
            };
            if let Some(outcome) = front.2.take() {
                let (file, chunk) = (front.0, front.1);
                pending.pop_front();
                committed += 1;
                match outcome {
                    Ok(r) if failed.is_none() => {
                        if let Err(e) = commit(file, chunk, r) {
                            failed = Some(e);
                        }
                    }
                    Ok(_) => {}
                    Err(panic) => resume_unwind(panic),
                }
                continue;
            }
            let got = match rx.try_recv() {
                Ok(m) => Some(m),
                Err(TryRecvError::Disconnected) => None,
                Err(TryRecvError::Empty) => match rayon::yield_now() {
                    Some(rayon::Yield::Executed) => None,
                    // Nothing to help with: every chunk not yet in is being
                    // scanned on another thread.
                    _ => rx.recv().ok(),
                },
            };
            if let Some((seq, outcome)) = got
                && let Some(entry) = seq.checked_sub(committed).and_then(|i| pending.get_mut(i))
            {
                entry.2 = Some(outcome);
            }
        }
        failed.map_or(Ok(()), Err)
    })
}

/// Normalises, keys and describes one person of a row (`fields`: the row itself,
/// or one person's part of it; `person` 0 for the whole row) into `st`.
#[allow(clippy::too_many_arguments)]
fn index_person(
    st: &mut ChunkOut,
    plan: &DatasetPlan,
    rec: &crate::source::RecordRef<'_>,
    fields: &Fields,
    person: u8,
    secret: &Secret,
    hasher: &FeatureHasher,
    name_registry: &NameRegistry,
) {
    st.person
        .fill_from_ordered(&plan.kinds, &plan.orders, fields);
    st.scratch.clear();
    keys::derive(&st.person, secret, &mut st.scratch);
    st.keys
        .extend(st.scratch.iter().map(|k| (k.hash, k.recipe.id())));
    let before = st.classes.len();
    st.columns.clear();
    st.columns.resize(plan.classes.len().div_ceil(8), 0);
    for (col, class) in plan.classes.iter().enumerate() {
        if fields.has_value(col) {
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
        person: canonical,
        columns,
        recent,
        ..
    } = st;
    features::encode_record(
        hasher,
        plan.global,
        canonical,
        columns,
        out,
        &mut |name, hash| name_registry.note(recent, hasher, name, hash, names),
    );
    st.records.push(PendingRecord {
        dataset: rec.dataset as u32,
        person,
        local_row: rec.local_row,
        offset: rec.offset,
        len: rec.len,
        year: st.person.record_year.unwrap_or(0),
        keys_end: st.keys.len() as u32,
        classes_end: st.classes.len() as u32,
        features_end: st.features.len() as u32,
    });
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
    // Never read what this build writes, even inside a dump directory: an earlier
    // index at `out` is replaced, the rejects file truncated, while mapped.
    let mut leave_out = LeaveOut::new().index(out);
    if let Some(rejects) = &opts.rejects {
        leave_out = leave_out.file(rejects, "the --rejects file");
    }
    let Discovery {
        files: found,
        skipped,
        notes,
    } = discover_leaving_out(dumps, &leave_out)?;
    if found.is_empty() {
        let args: Vec<String> = dumps.iter().map(|p| p.display().to_string()).collect();
        // What was left out says why nothing was found.
        let why = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        };
        return Err(BuildError::NoDumps(format!("{}{why}", args.join(", "))));
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
    warnings.extend(crate::source::skipped_warning(&skipped));
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
            let orders = mapping.iter().map(|m| m.order).collect();
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
            let people = People::new(&mapping);
            per_file.push(DatasetPlan {
                global,
                kinds,
                orders,
                classes,
                mapping,
                people,
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
    let mut scopes = Scopes {
        datasets: vec![RoaringBitmap::new(); global as usize],
        years: BTreeMap::new(),
        classes: vec![RoaringBitmap::new(); class_names.len()],
    };
    let mut tallies: Vec<FileTally> = files
        .iter()
        .map(|f| {
            let nd = f.datasets().len();
            FileTally {
                rows: vec![0; nd],
                records: vec![0; nd],
                several: vec![0; nd],
                people: vec![0; nd],
                crowded: vec![0; nd],
                rejects: vec![BTreeMap::new(); nd],
                short: vec![0; nd],
            }
        })
        .collect();
    // At most a group of chunks is in flight (being scanned, or scanned and not
    // yet committed).
    let per_group = (group_bytes / read.chunk_size.max(1)).max(1);
    let mut committer = Committer {
        files: &files,
        plans: &plans,
        segment: &mut segment,
        scopes: &mut scopes,
        tallies: &mut tallies,
        rejects_out: &mut rejects_out,
        per_group,
        group_rejects: Vec::new(),
        bits: ChunkBits::default(),
        done_bytes: 0,
        total_bytes,
        progress,
    };
    let scan = |f: usize, chunk: usize| {
        let (Some(file), Some(file_plans)) = (files.get(f), plans.get(f)) else {
            return None;
        };
        file.scan_chunk(chunk, ChunkOut::default(), |st, rec| {
            let Some(plan) = file_plans.get(rec.dataset) else {
                return;
            };
            // One record per person of a row that holds several; else the row.
            let mut split = std::mem::take(&mut st.split);
            let people = match plan.people.split_or_crowd(rec.fields, &mut split) {
                Ok(n) => n,
                Err(_) => {
                    if st.crowded.len() <= rec.dataset {
                        st.crowded.resize(rec.dataset + 1, 0);
                    }
                    if let Some(n) = st.crowded.get_mut(rec.dataset) {
                        *n += 1;
                    }
                    0
                }
            };
            if people == 0 {
                index_person(
                    st,
                    plan,
                    rec,
                    rec.fields,
                    0,
                    &secret,
                    &hasher,
                    &name_registry,
                );
            }
            for (person, fields) in split.iter().take(people).enumerate() {
                let person = u8::try_from(person + 1).unwrap_or(u8::MAX);
                index_person(
                    st,
                    plan,
                    rec,
                    fields,
                    person,
                    &secret,
                    &hasher,
                    &name_registry,
                );
            }
            st.split = split;
        })
    };
    stream_chunks(&files, per_group, scan, |f, c, out| match out {
        Some(out) => committer.chunk(f, c, out),
        None => Ok(()),
    })?;
    let mut datasets: Vec<BuiltDataset> = Vec::new();
    for (f, file) in files.iter().enumerate() {
        let (Some(file_plans), Some(tally)) = (plans.get(f), tallies.get(f)) else {
            continue;
        };
        for (d, plan) in file_plans.iter().enumerate() {
            let info = &file.datasets()[d];
            datasets.push(BuiltDataset {
                name: info.name.clone(),
                format: file.format().to_string(),
                encoding: file.encoding().to_string(),
                rows: tally.rows.get(d).copied().unwrap_or(0),
                records: tally.records.get(d).copied().unwrap_or(0),
                several: tally.several.get(d).copied().unwrap_or(0),
                people: tally.people.get(d).copied().unwrap_or(0),
                crowded: tally.crowded.get(d).copied().unwrap_or(0),
                rejects: tally
                    .rejects
                    .get(d)
                    .map(|m| m.iter().map(|(r, n)| (*r, *n)).collect())
                    .unwrap_or_default(),
                short_rows: tally.short.get(d).copied().unwrap_or(0),
                mapping: plan.mapping.clone(),
            });
        }
    }
    // A row of hundreds of people (a club's members in one JSON record) cannot be
    // split: indexed whole, its names and details may pair up across people.
    for d in &datasets {
        if d.crowded > 0 {
            warnings.push(crate::source::people_crowded_warning(&d.name, d.crowded));
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
    // Describing the dumps (a checksum of each) needs no segment: it runs beside
    // the segment's last, mostly serial steps (writing, fsync). The size and time
    // are those at open and the checksum is of the bytes mapped: what was indexed,
    // even if a dump grew since.
    let describe = || {
        found
            .par_iter()
            .zip(&files)
            .map(|((path, _), file)| describe_as_read(path, file))
            .collect::<Vec<_>>()
    };
    let (stats, dumps_described) = rayon::join(|| segment.finish(&seg_path), describe);
    let stats = stats?;
    // A dump that changed since it was opened (appended to, truncated, replaced)
    // was indexed as it was at open, at best: refuse to record that as the file.
    for ((path, _), file) in found.iter().zip(&files) {
        if file.stamp().is_some_and(|s| !s.is_current()) {
            return Err(BuildError::DumpChanged { path: path.clone() });
        }
    }
    let mut manifest = Manifest {
        datasets: entries,
        key_rules: Some(crate::keys::rules_fingerprint()),
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
        notes,
    })
}

/// The manifest's record of a dump as this build read it: its size and time when
/// it was opened, and a checksum of the bytes mapped.
fn describe_as_read(given: &Path, file: &SourceFile) -> DumpFile {
    let path = std::fs::canonicalize(given).unwrap_or_else(|_| given.to_path_buf());
    let (size, modified) = file
        .stamp()
        .map_or((file.len_bytes(), 0), |s| (s.size(), s.modified_secs()));
    DumpFile {
        path: path.display().to_string(),
        size,
        modified,
        checksum: format!("{:016x}", file.checksum_as_opened()),
    }
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
                several: d.several,
                people: d.people,
                rejects: d.rejects.iter().map(|(_, n)| n).sum(),
                rejects_by_reason: d.rejects.iter().map(|(r, n)| (r.to_string(), *n)).collect(),
                columns: d
                    .mapping
                    .iter()
                    .map(|m| ColumnEntry {
                        name: m.column.clone(),
                        kind: m.kind.map(|k| k.name().to_string()),
                        origin: m.origin.to_string(),
                        month_first: m.order == crate::normalize::date::Order::MonthFirst,
                        person: m.person.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn csv_file(rows: usize, chunk_size: usize) -> SourceFile {
        let mut text = String::from("name,email\n");
        for i in 0..rows {
            text.push_str(&format!("Person {i},p{i}@example.com\n"));
        }
        let opts = ReadOptions {
            chunk_size,
            ..ReadOptions::default()
        };
        SourceFile::from_bytes(text.into_bytes(), "x.csv", &opts).unwrap()
    }

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    #[test]
    fn streaming_commits_every_chunk_in_order_within_the_window() {
        let files = vec![csv_file(300, 256), csv_file(0, 256), csv_file(50, 128)];
        let all: Vec<(usize, usize)> = files
            .iter()
            .enumerate()
            .flat_map(|(f, file)| (0..file.chunk_count()).map(move |c| (f, c)))
            .collect();
        assert!(all.len() > 10, "{} chunks", all.len());
        for threads in [1, 3] {
            for window in [1, 2, 5] {
                let in_flight = AtomicUsize::new(0);
                let most = AtomicUsize::new(0);
                let seen = Mutex::new(Vec::new());
                let result = pool(threads).install(|| {
                    stream_chunks(
                        &files,
                        window,
                        |f, c| {
                            let n = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(n, Ordering::SeqCst);
                            // Rows seen, so that the work is real.
                            files[f]
                                .scan_chunk(c, 0u64, |n, _| *n += 1)
                                .map(|s| (f, c, s.state))
                        },
                        |f, c, r| {
                            in_flight.fetch_sub(1, Ordering::SeqCst);
                            assert_eq!(r.map(|(rf, rc, _)| (rf, rc)), Some((f, c)));
                            seen.lock().unwrap().push((f, c));
                            Ok(())
                        },
                    )
                });
                assert!(result.is_ok());
                assert_eq!(
                    *seen.lock().unwrap(),
                    all,
                    "threads {threads}, window {window}"
                );
                assert!(most.load(Ordering::SeqCst) <= window);
            }
        }
    }

    #[test]
    fn streaming_stops_at_the_first_commit_error() {
        let files = vec![csv_file(500, 128)];
        let chunks = files[0].chunk_count();
        assert!(chunks > 6);
        for threads in [1, 2] {
            let commits = AtomicUsize::new(0);
            let result = pool(threads).install(|| {
                stream_chunks(
                    &files,
                    3,
                    |_, c| c,
                    |_, c, _| {
                        commits.fetch_add(1, Ordering::SeqCst);
                        if c == 4 {
                            Err(BuildError::NoDumps(format!("chunk {c}")))
                        } else {
                            Ok(())
                        }
                    },
                )
            });
            let err = result.unwrap_err();
            assert!(err.to_string().contains("chunk 4"), "{err}");
            assert_eq!(commits.load(Ordering::SeqCst), 5);
        }
    }

    #[test]
    fn chunk_bits_give_the_same_scopes_as_inserting_ids() {
        let mut bits = ChunkBits::default();
        let mut scopes = Scopes {
            datasets: vec![RoaringBitmap::new(); 2],
            years: BTreeMap::new(),
            classes: vec![RoaringBitmap::new(); 3],
        };
        let mut expected_datasets = vec![RoaringBitmap::new(); 2];
        let mut expected_classes = vec![RoaringBitmap::new(); 3];
        let mut expected_years: BTreeMap<u16, RoaringBitmap> = BTreeMap::new();
        // Chunks of uneven sizes, crossing container (65536) and byte boundaries.
        let mut id = 0u32;
        for (n, chunk) in [5usize, 70_000, 3, 1, 65_531, 20].into_iter().enumerate() {
            bits.start(id, chunk, 5);
            for _ in 0..chunk {
                let d = usize::from(id.is_multiple_of(7));
                bits.set(d, id);
                expected_datasets[d].insert(id);
                for (class, expected) in expected_classes.iter_mut().enumerate() {
                    if (id as usize + class + n).is_multiple_of(class + 2) {
                        bits.set(2 + class, id);
                        expected.insert(id);
                    }
                }
                let year = 2000 + (id % 5) as u16;
                let slot = bits.year_slot(5, year);
                bits.set(slot, id);
                expected_years.entry(year).or_default().insert(id);
                id += 1;
            }
            bits.flush_into(&mut scopes);
        }
        assert_eq!(scopes.datasets, expected_datasets);
        assert_eq!(scopes.classes, expected_classes);
        assert_eq!(scopes.years, expected_years);
        // Serialized the same once optimised, as the segment stores them.
        for (mut a, mut b) in scopes.classes.into_iter().zip(expected_classes) {
            a.optimize();
            b.optimize();
            let (mut x, mut y) = (Vec::new(), Vec::new());
            a.serialize_into(&mut x).unwrap();
            b.serialize_into(&mut y).unwrap();
            assert_eq!(x, y);
        }
    }

    #[test]
    fn a_build_is_the_same_whatever_the_chunks_memory_and_threads() {
        // (Spilling is covered by the writer's tests: the writer keeps at least
        // 16 MB of keys, more than this archive has.)
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::synth::GenConfig {
            records: 3000,
            register: crate::synth::GenConfig::default_register(3000),
            ..crate::synth::GenConfig::default()
        };
        let generated = crate::synth::generate(&cfg, dir.path()).unwrap();
        let dumps = vec![generated.dump_dir.clone()];
        let mut secret = None;
        let mut reference: Option<(Vec<u8>, Vec<u8>)> = None;
        for (i, (chunk_size, memory, threads)) in [
            (4 << 20, 2usize << 30, 1),
            (1 << 20, 2 << 30, 2),
            (16 << 10, 2 << 30, 3),
            (16 << 10, 1 << 20, 2),
            (64 << 10, 1 << 20, 1),
            (4 << 20, 1 << 20, 2),
        ]
        .into_iter()
        .enumerate()
        {
            let out = dir.path().join(format!("index-{i}"));
            let opts = BuildOptions {
                memory_budget: memory,
                read: ReadOptions {
                    chunk_size,
                    ..ReadOptions::default()
                },
                secret: secret.clone(),
                ..BuildOptions::default()
            };
            let summary = pool(threads)
                .install(|| build(&dumps, &out, &opts, &|_, _| {}))
                .unwrap();
            assert_eq!(summary.stats.records, 3000);
            let seg = std::fs::read(out.join(super::super::dir::segment_file_name(0))).unwrap();
            let layouts = std::fs::read(out.join(LAYOUTS_FILE)).unwrap();
            if secret.is_none() {
                let bytes = std::fs::read(out.join(super::super::SECRET_FILE)).unwrap();
                secret = Some(Secret::from_bytes(&bytes).unwrap());
            }
            match &reference {
                None => reference = Some((seg, layouts)),
                Some((s, l)) => {
                    assert!(&seg == s, "build {i}: segment differs");
                    // Saved SQL statement splits follow the chunk size.
                    if chunk_size == 4 << 20 {
                        assert!(&layouts == l, "build {i}: layouts differ");
                    }
                }
            }
        }
    }

    /// A dump of `rows` people, one per line.
    fn write_dump(path: &Path, rows: usize) {
        let mut text = String::from("first_name,last_name,email\n");
        for i in 0..rows {
            text.push_str(&format!("N{i},S{i},p{i}@example.com\n"));
        }
        std::fs::write(path, text).unwrap();
    }

    /// Builds `dump` into `out` with `--force`, calling `meddle` with the dump's
    /// path once, at the first progress report: after every dump is open and
    /// before the build ends.
    fn build_meddled(
        dump: &Path,
        out: &Path,
        meddle: impl Fn(&Path) + Sync,
    ) -> Result<BuildSummary, BuildError> {
        let once = std::sync::Once::new();
        let opts = BuildOptions {
            force: true,
            ..BuildOptions::default()
        };
        build(&[dump.to_path_buf()], out, &opts, &|_, _| {
            once.call_once(|| meddle(dump));
        })
    }

    fn entries_of(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_dump_that_changes_during_the_build_fails_it_and_keeps_the_old_index() {
        let dir = tempfile::tempdir().unwrap();
        let dump = dir.path().join("a.csv");
        let out = dir.path().join("idx");
        write_dump(&dump, 200);
        build_meddled(&dump, &out, |_| {}).unwrap();
        let manifest = std::fs::read(out.join(super::super::MANIFEST_FILE)).unwrap();

        let append = |path: &Path| {
            use std::io::Write as _;
            let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
            f.write_all(b"Late,Comer,late.comer@example.com\n").unwrap();
        };
        // Replaced whole by a file of the same size (renamed over it).
        let rewrite = |path: &Path| {
            let other = path.with_extension("new");
            std::fs::copy(path, &other).unwrap();
            std::fs::rename(&other, path).unwrap();
        };
        for (what, meddle) in [
            ("appended", &append as &(dyn Fn(&Path) + Sync)),
            ("rewritten", &rewrite),
        ] {
            let err = build_meddled(&dump, &out, meddle).unwrap_err();
            assert!(
                matches!(err, BuildError::DumpChanged { .. }),
                "{what}: {err}"
            );
            assert_eq!(
                err.to_string(),
                format!(
                    "{} changed while it was being indexed (it grew/shrank or was rewritten): \
                     build again once it is stable",
                    dump.display()
                )
            );
            // The old index is untouched and no temporary directory is left.
            let now = std::fs::read(out.join(super::super::MANIFEST_FILE)).unwrap();
            assert!(now == manifest, "{what}: the old index was replaced");
            assert_eq!(entries_of(dir.path()), ["a.csv", "idx"], "{what}");
        }
        // Stable again: it builds, with the late row.
        let summary = build_meddled(&dump, &out, |_| {}).unwrap();
        assert_eq!(summary.stats.records, 201);
    }

    #[test]
    fn what_is_recorded_of_a_dump_is_what_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let dump = dir.path().join("a.csv");
        write_dump(&dump, 20);
        let before = std::fs::read(&dump).unwrap();
        let file = SourceFile::open(&dump, "a.csv", None).unwrap();
        {
            use std::io::Write as _;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&dump)
                .unwrap();
            f.write_all(b"Late,Comer,late.comer@example.com\n").unwrap();
        }
        assert_eq!(file.len_bytes(), before.len() as u64);
        assert!(file.stamp().is_some_and(|s| !s.is_current()));
        let recorded = describe_as_read(&dump, &file);
        assert_eq!(recorded.size, before.len() as u64);
        assert_eq!(
            recorded.checksum,
            format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&before))
        );
        // What the file is now differs, and is seen to.
        assert_eq!(recorded.state(), super::super::DumpState::Changed);
        // Unchanged, the record agrees with the file.
        let again = SourceFile::open(&dump, "a.csv", None).unwrap();
        let recorded = describe_as_read(&dump, &again);
        assert_eq!(
            recorded.state_by_checksum(),
            super::super::DumpState::Unchanged
        );
        assert_eq!(recorded.state(), super::super::DumpState::Unchanged);
    }
}
