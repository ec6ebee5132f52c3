//! Building a segment with bounded memory.
//!
//! Callers add records (their location in the dumps) and batches of
//! `(key hash, recipe, record)` entries in any order. Entries are buffered up to the
//! memory budget. Sorting is partition first: the buffer is cut into a few blocks,
//! each reordered in place by the top bits of the hash (a counting sort), and then
//! every partition (its piece of each block) is sorted on its own, in parallel.
//! When the buffer is full it is sorted that way and spilled to a run file in the
//! scratch directory.
//!
//! [`SegmentWriter::finish`] turns each partition into posting lists in parallel.
//! When nothing spilled, a partition's keys are compacted in place in the buffer and
//! its lists kept in memory, then streamed straight into the segment file. After a
//! spill, each partition's runs and in-memory entries are merged into scratch files
//! (a partition is never held whole), then copied in. The output depends only on the
//! set of entries added: not on batch order, thread count, or spilling.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use roaring::RoaringBitmap;
use xxhash_rust::xxh3::Xxh3Default;

use super::error::IndexError;
use super::format::{
    FORMAT_VERSION, HEADER_LEN, Header, KeyLayout, MAGIC, RECORD_LEN, SECTION_COUNT, STATS_LEN,
    Section, put_uint,
};
use super::fsutil::{ScratchDir, parent_of, sibling_name, sync_dir};
use super::postings::{encode_list, inline_value, list_value};
use super::segment::RecordEntry;
use super::stats::{RecipeStats, SegmentStats};
use crate::features::{NameEntry, NameTable};
use std::collections::HashMap;

/// Default number of top hash bits that split keys into partitions at finish.
pub const DEFAULT_PARTITION_BITS: u32 = 8;
/// Most partition bits accepted (each non-empty partition uses two scratch files).
pub const MAX_PARTITION_BITS: u32 = 12;

/// One `(hash, record, recipe)` entry in two words: the derived order (hash, then
/// `low`) is the order by (hash, record, recipe).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    hash: u64,
    /// `record << 8 | recipe`; once a partition is compacted into keys, the key's
    /// value (see [`compact_keys`]).
    low: u64,
}

/// Bytes per entry in a spill run.
const RUN_ENTRY_LEN: usize = 13;
/// Bytes per key in a partition's intermediate key file: hash u64, value u64.
const PART_KEY_LEN: usize = 16;
const IO_BUFFER: usize = 1 << 20;
/// Runs kept before they are merged into one, which bounds the files a
/// partition merge holds open (times the threads merging at once).
const MAX_RUNS: usize = 32;

impl Entry {
    fn new(hash: u64, recipe: u8, record: u32) -> Entry {
        Entry {
            hash,
            low: (u64::from(record) << 8) | u64::from(recipe),
        }
    }

    fn record(&self) -> u32 {
        (self.low >> 8) as u32
    }

    fn recipe(&self) -> u8 {
        self.low as u8
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.hash.to_le_bytes());
        out.extend_from_slice(&self.record().to_le_bytes());
        out.push(self.recipe());
    }

    fn decode(b: &[u8; RUN_ENTRY_LEN]) -> Entry {
        let mut hash = [0u8; 8];
        hash.copy_from_slice(&b[0..8]);
        let mut record = [0u8; 4];
        record.copy_from_slice(&b[8..12]);
        Entry::new(u64::from_le_bytes(hash), b[12], u32::from_le_bytes(record))
    }
}

/// A sorted run spilled to disk; `bounds[p]..bounds[p + 1]` are partition `p`'s entries.
struct Run {
    path: PathBuf,
    bounds: Vec<u64>,
}

/// Writes one segment file. See the module documentation.
pub struct SegmentWriter {
    scratch: ScratchDir,
    capacity: usize,
    partition_bits: u32,
    /// The buffered entries, as blocks: [`KeyBatch`]es as given, and the block
    /// [`SegmentWriter::add_keys`] fills (the last, while `tail_open`).
    blocks: Vec<Vec<Entry>>,
    buffered: usize,
    tail_open: bool,
    runs: Vec<Run>,
    /// Spills so far (runs may since have been merged).
    spills: usize,
    /// Names run files uniquely across merges.
    run_serial: usize,
    records: BufWriter<File>,
    records_path: PathBuf,
    record_count: u64,
    scopes: BTreeMap<String, RoaringBitmap>,
    datasets: Vec<u8>,
    features: FeatureSink,
    names: HashMap<u64, NameEntry>,
    /// Write u64 feature offsets even when u32 ones would do (tests of the wide form).
    wide_offsets: bool,
}

/// Record features streamed to scratch files in record order: the bytes, and the
/// offset where each record's bytes start.
struct FeatureSink {
    bytes: BufWriter<File>,
    bytes_path: PathBuf,
    offsets: BufWriter<File>,
    offsets_path: PathBuf,
    /// Feature bytes written so far.
    len: u64,
    /// Records whose features were written.
    records: u64,
}

/// The features of a record given none: no values, dataset 0, no columns.
const EMPTY_FEATURES: [u8; 3] = [0, 0, 0];

impl FeatureSink {
    fn new(dir: &Path) -> Result<FeatureSink, IndexError> {
        let bytes_path = dir.join("features.bin");
        let offsets_path = dir.join("feature-offsets.bin");
        let open = |p: &Path| -> Result<BufWriter<File>, IndexError> {
            let f = File::create(p).map_err(|e| IndexError::write_path(p, e))?;
            Ok(BufWriter::with_capacity(IO_BUFFER, f))
        };
        Ok(FeatureSink {
            bytes: open(&bytes_path)?,
            bytes_path,
            offsets: open(&offsets_path)?,
            offsets_path,
            len: 0,
            records: 0,
        })
    }

    fn push(&mut self, bytes: &[u8]) -> Result<(), IndexError> {
        self.offsets
            .write_all(&self.len.to_le_bytes())
            .map_err(|e| IndexError::write_path(&self.offsets_path, e))?;
        self.bytes
            .write_all(bytes)
            .map_err(|e| IndexError::write_path(&self.bytes_path, e))?;
        self.len += bytes.len() as u64;
        self.records += 1;
        Ok(())
    }

    /// Gives every record up to `records` its features (empty ones for records
    /// given none), writes the end offset and flushes.
    fn finish(&mut self, records: u64) -> Result<(), IndexError> {
        while self.records < records {
            self.push(&EMPTY_FEATURES)?;
        }
        self.offsets
            .write_all(&self.len.to_le_bytes())
            .and_then(|()| self.offsets.flush())
            .map_err(|e| IndexError::write_path(&self.offsets_path, e))?;
        self.bytes
            .flush()
            .map_err(|e| IndexError::write_path(&self.bytes_path, e))
    }
}

impl std::fmt::Debug for SegmentWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentWriter")
            .field("scratch", &self.scratch)
            .field("records", &self.record_count)
            .field("buffered", &self.buffered)
            .field("spills", &self.spills)
            .finish()
    }
}

impl SegmentWriter {
    /// A writer that keeps at most `memory_budget_bytes` of key entries in memory
    /// (16 bytes each), spilling to a private scratch directory inside
    /// `dir_for_spill`, and splits keys into `2^partition_bits` partitions
    /// ([`DEFAULT_PARTITION_BITS`] is a good choice; at most [`MAX_PARTITION_BITS`]).
    pub fn new(
        dir_for_spill: &Path,
        memory_budget_bytes: usize,
        partition_bits: u32,
    ) -> Result<SegmentWriter, IndexError> {
        if partition_bits > MAX_PARTITION_BITS {
            return Err(IndexError::InvalidInput(format!(
                "{partition_bits} partition bits is too many (at most {MAX_PARTITION_BITS})"
            )));
        }
        let scratch = ScratchDir::new_in(dir_for_spill)?;
        let records_path = scratch.path().join("records.bin");
        let records =
            File::create(&records_path).map_err(|e| IndexError::write_path(&records_path, e))?;
        let features = FeatureSink::new(scratch.path())?;
        Ok(SegmentWriter {
            scratch,
            capacity: (memory_budget_bytes / std::mem::size_of::<Entry>()).max(16),
            partition_bits,
            blocks: Vec::new(),
            buffered: 0,
            tail_open: false,
            runs: Vec::new(),
            spills: 0,
            run_serial: 0,
            records: BufWriter::with_capacity(IO_BUFFER, records),
            records_path,
            record_count: 0,
            scopes: BTreeMap::new(),
            datasets: Vec::new(),
            features,
            names: HashMap::new(),
            wide_offsets: false,
        })
    }

    /// Stores the features ([`crate::features::encode_record`]) of record `id`.
    /// Records get their features in id order; a record given none has empty
    /// features (no values), as do records added after the last call.
    pub fn add_features(&mut self, id: u32, bytes: &[u8]) -> Result<(), IndexError> {
        let id = u64::from(id);
        if id < self.features.records || id >= self.record_count {
            return Err(IndexError::InvalidInput(format!(
                "features of record {id} given out of order or before the record"
            )));
        }
        while self.features.records < id {
            self.features.push(&EMPTY_FEATURES)?;
        }
        self.features.push(bytes)
    }

    fn offset_width(&self) -> usize {
        if self.wide_offsets {
            8
        } else {
            super::format::feature_offset_width(self.features.len)
        }
    }

    /// Adds names to the segment's name table (a name already there is kept once).
    pub fn add_names(&mut self, entries: impl IntoIterator<Item = NameEntry>) {
        for e in entries {
            self.names.entry(e.hash).or_insert(e);
        }
    }

    /// Adds a record (its dataset, 1-based row, and bytes in the dump) and returns
    /// its id (ids are `0, 1, 2, …` in call order).
    pub fn add_record(
        &mut self,
        dataset: u32,
        row: u64,
        offset: u64,
        len: u32,
    ) -> Result<u32, IndexError> {
        self.add_person(dataset, 0, row, offset, len)
    }

    /// Adds person `person` (1, 2…; 0 for the whole row) of a row holding several
    /// people, as [`SegmentWriter::add_record`] adds a row; see [`RecordEntry`].
    pub fn add_person(
        &mut self,
        dataset: u32,
        person: u8,
        row: u64,
        offset: u64,
        len: u32,
    ) -> Result<u32, IndexError> {
        let row = u32::try_from(row).map_err(|_| {
            IndexError::InvalidInput(format!(
                "row {row} is beyond the 4 billion rows a dataset may have"
            ))
        })?;
        let id = u32::try_from(self.record_count)
            .ok()
            .filter(|&id| id < u32::MAX)
            .ok_or_else(|| {
                IndexError::InvalidInput(format!(
                    "more than {} records in one segment",
                    u32::MAX - 1
                ))
            })?;
        let entry = RecordEntry {
            dataset,
            person,
            row,
            offset,
            len,
        };
        let bytes = entry.try_encode().ok_or_else(|| {
            IndexError::InvalidInput(format!(
                "dataset {dataset} is beyond the {} datasets a segment may name",
                super::segment::MAX_DATASETS
            ))
        })?;
        self.records
            .write_all(&bytes)
            .map_err(|e| IndexError::write_path(&self.records_path, e))?;
        self.record_count += 1;
        Ok(id)
    }

    /// Adds several records; returns the id of the first (the rest follow in order).
    pub fn add_records(&mut self, records: &[RecordEntry]) -> Result<u32, IndexError> {
        let first = u32::try_from(self.record_count).unwrap_or(u32::MAX);
        for r in records {
            self.add_person(r.dataset, r.person, u64::from(r.row), r.offset, r.len)?;
        }
        Ok(first)
    }

    /// Number of records added so far.
    pub fn record_count(&self) -> u64 {
        self.record_count
    }

    /// Adds `(key hash, recipe, record id)` entries. Batches may come in any order
    /// and may repeat entries; a record may be added after keys that name it, as
    /// long as it is added before [`SegmentWriter::finish`].
    pub fn add_keys(&mut self, batch: &[(u64, u8, u32)]) -> Result<(), IndexError> {
        let mut rest = batch;
        while !rest.is_empty() {
            if self.buffered >= self.capacity {
                self.spill()?;
            }
            let room = self.capacity - self.buffered;
            let (now, later) = rest.split_at(room.min(rest.len()));
            if !self.tail_open {
                self.blocks.push(Vec::new());
                self.tail_open = true;
            }
            let others = self.buffered - self.blocks.last().map_or(0, Vec::len);
            let Some(tail) = self.blocks.last_mut() else {
                break;
            };
            let needed = tail.len() + now.len();
            if needed > tail.capacity() {
                // Grow by doubling, but never past the budget.
                let target = needed.max(tail.capacity() * 2).min(self.capacity - others);
                tail.reserve_exact(target - tail.len());
            }
            tail.extend(
                now.iter()
                    .map(|&(hash, recipe, record)| Entry::new(hash, recipe, record)),
            );
            self.buffered += now.len();
            rest = later;
        }
        Ok(())
    }

    /// Adds a batch of entries filled by the caller (see [`KeyBatch`]): like
    /// [`add_keys`](Self::add_keys), without copying the batch when it fits.
    pub fn add_batch(&mut self, batch: KeyBatch) -> Result<(), IndexError> {
        let mut entries = batch.entries;
        while !entries.is_empty() {
            if self.buffered >= self.capacity {
                self.spill()?;
            }
            let room = self.capacity - self.buffered;
            let rest = if entries.len() > room {
                let rest = entries.split_off(room);
                entries.shrink_to_fit();
                rest
            } else {
                Vec::new()
            };
            self.buffered += entries.len();
            self.blocks.push(entries);
            self.tail_open = false;
            entries = rest;
        }
        Ok(())
    }

    /// Sets (or replaces) the scope called `name`: the records it contains.
    pub fn set_scope(&mut self, name: impl Into<String>, mut records: RoaringBitmap) {
        // Scopes are mostly runs of consecutive records (a dataset, a year).
        records.optimize();
        self.scopes.insert(name.into(), records);
    }

    /// Sets the dataset table, stored as given (the caller's format, e.g. JSON).
    pub fn set_datasets(&mut self, bytes: Vec<u8>) {
        self.datasets = bytes;
    }

    fn partitions(&self) -> usize {
        1usize << self.partition_bits
    }

    fn next_run_path(&mut self) -> PathBuf {
        self.run_serial += 1;
        self.scratch
            .path()
            .join(format!("run-{:05}.bin", self.run_serial))
    }

    fn spill(&mut self) -> Result<(), IndexError> {
        let path = self.next_run_path();
        let mut blocks = std::mem::take(&mut self.blocks);
        let written = write_run(&path, &sorted_parts(&mut blocks, self.partition_bits));
        // The add_keys block keeps its memory for the next fill.
        let mut tail = if self.tail_open { blocks.pop() } else { None };
        drop(blocks);
        if let Some(t) = tail.as_mut() {
            t.clear();
            self.blocks.push(std::mem::take(t));
        }
        self.buffered = 0;
        let bounds = written?;
        self.runs.push(Run { path, bounds });
        self.spills += 1;
        if self.runs.len() >= MAX_RUNS {
            self.merge_runs()?;
        }
        Ok(())
    }

    /// Merges every run into one, partition by partition.
    fn merge_runs(&mut self) -> Result<(), IndexError> {
        let path = self.next_run_path();
        let werr = |e| IndexError::write_path(&path, e);
        let file = File::create(&path).map_err(werr)?;
        let mut out = BufWriter::with_capacity(IO_BUFFER, file);
        let mut chunk = Vec::with_capacity(IO_BUFFER + RUN_ENTRY_LEN);
        let mut bounds = Vec::with_capacity(self.partitions() + 1);
        let mut written = 0u64;
        for p in 0..self.partitions() {
            bounds.push(written);
            let mut merged = Merge::new(run_sources(&self.runs, p)?)?;
            let mut prev: Option<Entry> = None;
            while let Some(entry) = merged.next()? {
                if prev == Some(entry) {
                    continue;
                }
                prev = Some(entry);
                entry.encode(&mut chunk);
                written += 1;
                if chunk.len() >= IO_BUFFER {
                    out.write_all(&chunk).map_err(werr)?;
                    chunk.clear();
                }
            }
        }
        bounds.push(written);
        out.write_all(&chunk)
            .and_then(|()| out.flush())
            .map_err(werr)?;
        for run in self.runs.drain(..) {
            let _ = fs::remove_file(&run.path);
        }
        self.runs.push(Run { path, bounds });
        Ok(())
    }

    /// Writes the segment to `path` (via a temporary name, fsynced, then renamed)
    /// and returns what it holds. Fails if a key names a record never added.
    pub fn finish(mut self, path: &Path) -> Result<SegmentStats, IndexError> {
        self.records
            .flush()
            .map_err(|e| IndexError::write_path(&self.records_path, e))?;
        self.features.finish(self.record_count)?;
        let mut names: Vec<NameEntry> = self.names.drain().map(|(_, e)| e).collect();
        let mut name_table = Vec::new();
        NameTable::encode(&mut names, &mut name_table);
        let name_count = names.len() as u64;
        drop(names);
        for (name, bitmap) in &self.scopes {
            if bitmap
                .max()
                .is_some_and(|m| u64::from(m) >= self.record_count)
            {
                return Err(IndexError::InvalidInput(format!(
                    "scope {name:?} names a record that was never added"
                )));
            }
        }
        let mut blocks = std::mem::take(&mut self.blocks);
        let spills = self.spills;
        let record_count = self.record_count;
        let bits = self.partition_bits;
        if self.runs.is_empty() {
            // Everything is in memory: each partition is compacted into its keys in
            // place and its lists kept in memory, then written straight out.
            let parts: Vec<PartOut<'_>> = split_partitions(&mut blocks, self.partition_bits)
                .into_par_iter()
                .map_init(SortScratch::default, |scratch, part| {
                    build_in_memory(part, bits, scratch, record_count)
                })
                .collect::<Result<_, _>>()?;
            return self.assemble(path, &parts, spills, (&name_table, name_count));
        }
        let parts: Vec<PartOut<'_>> = {
            let ctx = PartContext {
                scratch: self.scratch.path(),
                runs: &self.runs,
                record_count,
            };
            sorted_parts(&mut blocks, self.partition_bits)
                .into_par_iter()
                .enumerate()
                .map(|(p, part)| ctx.build(p, part.valid()))
                .collect::<Result<_, _>>()?
        };
        drop(blocks);
        for run in &self.runs {
            let _ = fs::remove_file(&run.path);
        }
        self.assemble(path, &parts, spills, (&name_table, name_count))
    }

    /// Streams header, key table, directory, postings and the rest into `path`.
    fn assemble(
        &self,
        path: &Path,
        parts: &[PartOut],
        spills: usize,
        (name_table, name_count): (&[u8], u64),
    ) -> Result<SegmentStats, IndexError> {
        let key_count: u64 = parts.iter().map(|p| p.keys).sum();
        let posting_count: u64 = parts.iter().map(|p| p.postings).sum();
        let postings_len: u64 = parts.iter().map(|p| p.postings_bytes).sum();
        let mut recipes: BTreeMap<u8, RecipeStats> = BTreeMap::new();
        for part in parts {
            for (recipe, stats) in &part.stats {
                recipes
                    .entry(*recipe)
                    .or_insert_with(|| RecipeStats::new(*recipe))
                    .merge(stats);
            }
        }
        let max_value = (self.record_count << 1).max((postings_len << 1) | 1);
        let layout = KeyLayout::choose(key_count, max_value);

        let scopes_len = 4 + self
            .scopes
            .iter()
            .map(|(name, bitmap)| 4 + name.len() as u64 + 8 + bitmap.serialized_size() as u64)
            .sum::<u64>();
        let mut lengths = [0u64; SECTION_COUNT];
        lengths[Section::Keys as usize] = key_count * layout.entry_width() as u64;
        lengths[Section::Directory as usize] = (layout.buckets() + 1) * u64::from(layout.dir_width);
        lengths[Section::Postings as usize] = postings_len;
        lengths[Section::Records as usize] = self.record_count * RECORD_LEN as u64;
        lengths[Section::Datasets as usize] = self.datasets.len() as u64;
        lengths[Section::Scopes as usize] = scopes_len;
        lengths[Section::Stats as usize] = (recipes.len() * STATS_LEN) as u64;
        lengths[Section::Features as usize] = self.features.len;
        let offset_width = self.offset_width();
        lengths[Section::FeatureOffsets as usize] = (self.record_count + 1) * offset_width as u64;
        lengths[Section::Names as usize] = name_table.len() as u64;
        // File order: the directory follows the keys so both stream in one pass.
        let order = [
            Section::Keys,
            Section::Directory,
            Section::Postings,
            Section::Records,
            Section::Datasets,
            Section::Scopes,
            Section::Stats,
            Section::Features,
            Section::FeatureOffsets,
            Section::Names,
        ];
        let mut sections: [std::ops::Range<usize>; SECTION_COUNT] = Default::default();
        let mut at = HEADER_LEN as u64;
        for section in order {
            let len = lengths[section as usize];
            let (start, end) = (to_usize(at)?, to_usize(at + len)?);
            sections[section as usize] = start..end;
            at += len;
        }
        let header = Header {
            record_count: self.record_count,
            key_count,
            posting_count,
            layout,
            sections,
        };

        let tmp = sibling_name(path, "tmp")?;
        let result = self.write_file(&tmp, &header, &order, parts, &recipes, name_table);
        let checksum = match result {
            Ok(c) => c,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        fs::rename(&tmp, path).map_err(|e| IndexError::write_path(path, e))?;
        sync_dir(&parent_of(path)).map_err(|e| IndexError::write_path(path, e))?;

        let dir_and_keys = lengths[Section::Keys as usize] + lengths[Section::Directory as usize];
        Ok(SegmentStats {
            records: self.record_count,
            keys: key_count,
            postings: posting_count,
            size_bytes: at + super::format::FOOTER_LEN as u64,
            key_table_bytes: dir_and_keys,
            postings_bytes: postings_len,
            feature_bytes: lengths[Section::Features as usize]
                + lengths[Section::FeatureOffsets as usize],
            names: name_count,
            name_bytes: lengths[Section::Names as usize],
            recipes: recipes.into_values().collect(),
            spills,
            checksum,
        })
    }

    fn write_file(
        &self,
        tmp: &Path,
        header: &Header,
        order: &[Section],
        parts: &[PartOut],
        recipes: &BTreeMap<u8, RecipeStats>,
        name_table: &[u8],
    ) -> Result<u64, IndexError> {
        let what = tmp.display().to_string();
        let werr = |e: io::Error| IndexError::write(what.clone(), e);
        let file = File::create(tmp).map_err(werr)?;
        // Writeback starts while the file is still being written: a helper thread
        // flushes what has reached the file so far (fdatasync) each time it is
        // kicked, so that the final fsync only waits for the rest. Its errors are
        // reported like the final fsync's.
        let early = file.try_clone().map_err(werr)?;
        std::thread::scope(|scope| {
            let (kick, kicked) = std::sync::mpsc::channel::<()>();
            let helper = scope.spawn(move || {
                let mut result = Ok(());
                while kicked.recv().is_ok() {
                    while kicked.try_recv().is_ok() {}
                    if result.is_ok() {
                        result = early.sync_data();
                    }
                }
                result
            });
            let small = Small {
                recipes,
                name_table,
            };
            let written = self.write_sections(file, header, order, parts, small, kick);
            let early_result = helper
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the writeback thread panicked")));
            let (file, checksum) = written?;
            early_result.map_err(werr)?;
            file.sync_all().map_err(werr)?;
            Ok(checksum)
        })
    }

    /// Writes header, sections and footer to `file`; returns it (not yet synced)
    /// and the checksum.
    fn write_sections(
        &self,
        file: File,
        header: &Header,
        order: &[Section],
        parts: &[PartOut],
        small: Small<'_>,
        kick: std::sync::mpsc::Sender<()>,
    ) -> Result<(File, u64), IndexError> {
        let Small {
            recipes,
            name_table,
        } = small;
        let werr = |e: io::Error| IndexError::write("the segment being written", e);
        let mut out = HashingWriter::new(BufWriter::with_capacity(IO_BUFFER, file), Some(kick));
        out.write_all(&header.encode()).map_err(werr)?;
        // One read buffer for every scratch file copied in.
        let mut read_buf = Vec::new();
        let in_memory = parts
            .iter()
            .all(|p| !matches!(p.data, PartData::Files { .. }));

        for &section in order {
            let expected_start = header.section(section).start as u64;
            if out.written != expected_start {
                return Err(IndexError::InvalidInput(format!(
                    "internal error: section {section:?} at {} instead of {expected_start}",
                    out.written
                )));
            }
            match section {
                Section::Keys => {
                    self.write_keys(&mut out, header, parts, !in_memory, &mut read_buf)?;
                }
                Section::Directory if in_memory => write_directory(&mut out, header, parts)?,
                Section::Directory => {
                    let dir = self.scratch.path().join("directory.bin");
                    copy_file(&dir, &mut out, &mut read_buf)?;
                }
                Section::Postings => {
                    for part in parts {
                        match &part.data {
                            PartData::Empty => {}
                            PartData::Files { postings, .. } => {
                                copy_file(postings, &mut out, &mut read_buf)?;
                            }
                            PartData::Memory { postings, .. } => {
                                out.write_all(postings).map_err(werr)?;
                            }
                        }
                    }
                }
                Section::Records => copy_file(&self.records_path, &mut out, &mut read_buf)?,
                Section::Datasets => out.write_all(&self.datasets).map_err(werr)?,
                Section::Scopes => {
                    out.write_all(&(self.scopes.len() as u32).to_le_bytes())
                        .map_err(werr)?;
                    for (name, bitmap) in &self.scopes {
                        let mut buf =
                            Vec::with_capacity(bitmap.serialized_size() + name.len() + 12);
                        buf.extend_from_slice(&(name.len() as u32).to_le_bytes());
                        buf.extend_from_slice(name.as_bytes());
                        buf.extend_from_slice(&(bitmap.serialized_size() as u64).to_le_bytes());
                        bitmap.serialize_into(&mut buf).map_err(werr)?;
                        out.write_all(&buf).map_err(werr)?;
                    }
                }
                Section::Stats => {
                    let mut buf = Vec::with_capacity(recipes.len() * STATS_LEN);
                    for stats in recipes.values() {
                        stats.encode(&mut buf);
                    }
                    out.write_all(&buf).map_err(werr)?;
                }
                Section::Features => {
                    copy_file(&self.features.bytes_path, &mut out, &mut read_buf)?;
                }
                Section::FeatureOffsets => {
                    let width = self.offset_width();
                    copy_offsets(&self.features.offsets_path, width, &mut out, &mut read_buf)?;
                }
                Section::Names => out.write_all(name_table).map_err(werr)?,
            }
            let expected_end = header.section(section).end as u64;
            if out.written != expected_end {
                return Err(IndexError::InvalidInput(format!(
                    "internal error: section {section:?} ends at {} instead of {expected_end}",
                    out.written
                )));
            }
        }

        let checksum = out.hasher.digest();
        let mut footer = Vec::with_capacity(super::format::FOOTER_LEN);
        footer.extend_from_slice(&checksum.to_le_bytes());
        footer.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        footer.extend_from_slice(&MAGIC);
        let mut inner = out.inner;
        inner.write_all(&footer).map_err(werr)?;
        let file = inner.into_inner().map_err(|e| werr(e.into_error()))?;
        Ok((file, checksum))
    }

    /// Packs every partition's keys into the key table; with `dir_file`, also writes
    /// the directory to a scratch file (copied in next), as the keys are read only
    /// once from their files.
    fn write_keys(
        &self,
        out: &mut HashingWriter<BufWriter<File>>,
        header: &Header,
        parts: &[PartOut<'_>],
        dir_file: bool,
        read_buf: &mut Vec<u8>,
    ) -> Result<(), IndexError> {
        let layout = header.layout;
        let out_what = "the segment being written";
        if !dir_file {
            // Keys in memory: each partition's part of the table is packed on its
            // own, a few partitions per thread at a time, and written in order.
            let mut bases = Vec::with_capacity(parts.len());
            let mut base = 0u64;
            for part in parts {
                bases.push(base);
                base += part.postings_bytes;
            }
            let window = rayon::current_num_threads().max(1) * 4;
            for (ps, bs) in parts.chunks(window).zip(bases.chunks(window)) {
                let packed: Vec<Vec<u8>> = ps
                    .par_iter()
                    .zip(bs.par_iter())
                    .map(|(part, &base)| pack_keys(part, base, layout))
                    .collect();
                for bytes in &packed {
                    out.write_all(bytes)
                        .map_err(|e| IndexError::write(out_what, e))?;
                }
            }
            return Ok(());
        }
        let mut dir = if dir_file {
            let dir_path = self.scratch.path().join("directory.bin");
            let file = File::create(&dir_path).map_err(|e| IndexError::write_path(&dir_path, e))?;
            Some((
                DirectoryBuilder::new(layout),
                BufWriter::with_capacity(IO_BUFFER, file),
                dir_path,
            ))
        } else {
            None
        };
        let mut keys_buf = Vec::with_capacity(IO_BUFFER + 32);
        let sw = usize::from(layout.suffix_width);
        let width = layout.entry_width();
        let mut base = 0u64;
        for part in parts {
            for_each_key(part, read_buf, |hash, mut value| {
                if value & 1 == 1 {
                    value += base << 1;
                }
                // Suffix then value, each little-endian in its width; the value
                // fits its width, so the bytes past `width` are zero and dropped.
                let packed = u128::from(layout.suffix_of(hash)) | (u128::from(value) << (8 * sw));
                put_low_bytes(&mut keys_buf, &packed.to_le_bytes(), width);
                if keys_buf.len() >= IO_BUFFER {
                    out.write_all(&keys_buf)
                        .map_err(|e| IndexError::write(out_what, e))?;
                    keys_buf.clear();
                }
                if let Some((builder, file, path)) = dir.as_mut() {
                    builder.key(hash);
                    if builder.buf.len() >= IO_BUFFER {
                        file.write_all(&builder.buf)
                            .map_err(|e| IndexError::write_path(path, e))?;
                        builder.buf.clear();
                    }
                }
                Ok(())
            })?;
            base += part.postings_bytes;
        }
        out.write_all(&keys_buf)
            .map_err(|e| IndexError::write(out_what, e))?;
        if let Some((mut builder, mut file, path)) = dir {
            builder.finish();
            file.write_all(&builder.buf)
                .and_then(|()| file.flush())
                .map_err(|e| IndexError::write_path(&path, e))?;
        }
        Ok(())
    }
}

/// Writes the key directory of keys held in memory: for each bucket, the index of
/// its first key.
fn write_directory(
    out: &mut impl Write,
    header: &Header,
    parts: &[PartOut<'_>],
) -> Result<(), IndexError> {
    let werr = |e| IndexError::write("the segment being written", e);
    let mut dir = DirectoryBuilder::new(header.layout);
    let mut none = Vec::new();
    for part in parts {
        for_each_key(part, &mut none, |hash, _| {
            dir.key(hash);
            if dir.buf.len() >= IO_BUFFER {
                out.write_all(&dir.buf).map_err(werr)?;
                dir.buf.clear();
            }
            Ok(())
        })?;
    }
    dir.finish();
    out.write_all(&dir.buf).map_err(werr)
}

/// The key directory, built key by key (in key order).
struct DirectoryBuilder {
    layout: KeyLayout,
    next_bucket: u64,
    index: u64,
    buf: Vec<u8>,
}

impl DirectoryBuilder {
    fn new(layout: KeyLayout) -> DirectoryBuilder {
        DirectoryBuilder {
            layout,
            next_bucket: 0,
            index: 0,
            buf: Vec::with_capacity(IO_BUFFER + 64),
        }
    }

    fn key(&mut self, hash: u64) {
        let bucket = self.layout.bucket_of(hash);
        let dw = usize::from(self.layout.dir_width);
        while self.next_bucket <= bucket {
            put_low_bytes(&mut self.buf, &self.index.to_le_bytes(), dw);
            self.next_bucket += 1;
        }
        self.index += 1;
    }

    /// Entries for the buckets after the last key, and the closing entry.
    fn finish(&mut self) {
        let dw = usize::from(self.layout.dir_width);
        while self.next_bucket <= self.layout.buckets() {
            put_uint(&mut self.buf, self.index, dw);
            self.next_bucket += 1;
        }
    }
}

/// The key table entries of a partition held in memory, list offsets moved by
/// `base` (the partition's place in the postings section).
fn pack_keys(part: &PartOut<'_>, base: u64, layout: KeyLayout) -> Vec<u8> {
    let sw = usize::from(layout.suffix_width);
    let width = layout.entry_width();
    let mut out = Vec::with_capacity(part.keys as usize * width + 16);
    if let PartData::Memory { keys, .. } = &part.data {
        for key in keys.iter().flat_map(|s| s.iter()) {
            let mut value = key.low;
            if value & 1 == 1 {
                value += base << 1;
            }
            let packed = u128::from(layout.suffix_of(key.hash)) | (u128::from(value) << (8 * sw));
            put_low_bytes(&mut out, &packed.to_le_bytes(), width);
        }
    }
    out
}

/// Appends the first `width` of `bytes` (a fixed-size array, so that the copy is a
/// plain store rather than a call).
fn put_low_bytes<const N: usize>(out: &mut Vec<u8>, bytes: &[u8; N], width: usize) {
    out.extend_from_slice(bytes);
    out.truncate(out.len() - N + width.min(N));
}

/// Calls `f(hash, value)` for each key of a partition, in order (values local to
/// the partition). `read_buf` is reused for reading a key file.
fn for_each_key(
    part: &PartOut<'_>,
    read_buf: &mut Vec<u8>,
    mut f: impl FnMut(u64, u64) -> Result<(), IndexError>,
) -> Result<(), IndexError> {
    match &part.data {
        PartData::Empty => Ok(()),
        PartData::Memory { keys, .. } => {
            for slice in keys {
                for key in *slice {
                    f(key.hash, key.low)?;
                }
            }
            Ok(())
        }
        PartData::Files { keys, .. } => for_each_chunk(keys, PART_KEY_LEN, read_buf, |chunk| {
            for key in chunk.chunks_exact(PART_KEY_LEN) {
                let hash = super::format::read_u64(key, 0).unwrap_or(0);
                let value = super::format::read_u64(key, 8).unwrap_or(0);
                f(hash, value)?;
            }
            Ok(())
        }),
    }
}

fn to_usize(n: u64) -> Result<usize, IndexError> {
    usize::try_from(n)
        .map_err(|_| IndexError::InvalidInput("segment too large for this platform".into()))
}

/// Calls `f` on successive chunks of `path`, each a whole number of `record` bytes,
/// read through `buf` (sized on first use, then reused).
fn for_each_chunk(
    path: &Path,
    record: usize,
    buf: &mut Vec<u8>,
    mut f: impl FnMut(&[u8]) -> Result<(), IndexError>,
) -> Result<(), IndexError> {
    let mut file = File::open(path).map_err(|e| IndexError::read(path.display().to_string(), e))?;
    let size = (IO_BUFFER / record).max(1) * record;
    if buf.len() != size {
        buf.resize(size, 0);
    }
    let mut filled = 0;
    loop {
        let n = file
            .read(&mut buf[filled..])
            .map_err(|e| IndexError::read(path.display().to_string(), e))?;
        filled += n;
        if n == 0 || filled == buf.len() {
            let whole = filled - filled % record;
            f(&buf[..whole])?;
            buf.copy_within(whole..filled, 0);
            filled -= whole;
            if n == 0 {
                return Ok(());
            }
        }
    }
}

/// Appends the file at `path` to `out`, read through `buf`.
fn copy_file(path: &Path, out: &mut impl Write, buf: &mut Vec<u8>) -> Result<(), IndexError> {
    for_each_chunk(path, 1, buf, |chunk| {
        out.write_all(chunk)
            .map_err(|e| IndexError::write(path.display().to_string(), e))
    })
}

/// Copies the u64 offsets of `path` as `width`-byte offsets (4 or 8; the caller
/// knows every offset fits).
fn copy_offsets(
    path: &Path,
    width: usize,
    out: &mut impl Write,
    buf: &mut Vec<u8>,
) -> Result<(), IndexError> {
    if width == 8 {
        return copy_file(path, out, buf);
    }
    let mut narrow = Vec::with_capacity(IO_BUFFER / 2);
    for_each_chunk(path, 8, buf, |chunk| {
        narrow.clear();
        for o in chunk.chunks_exact(8) {
            narrow.extend_from_slice(&o[..width]);
        }
        out.write_all(&narrow)
            .map_err(|e| IndexError::write(path.display().to_string(), e))
    })
}

/// A writer that hashes and counts everything it passes on.
/// With `kick`, it is told (a message) each time another [`WRITEBACK_STEP`] bytes
/// have been passed on.
struct HashingWriter<W> {
    inner: W,
    hasher: Xxh3Default,
    written: u64,
    kick: Option<std::sync::mpsc::Sender<()>>,
    next_kick: u64,
}

/// Bytes of segment written between two early writebacks.
const WRITEBACK_STEP: u64 = 8 << 20;

impl<W: Write> HashingWriter<W> {
    fn new(inner: W, kick: Option<std::sync::mpsc::Sender<()>>) -> Self {
        HashingWriter {
            inner,
            hasher: Xxh3Default::new(),
            written: 0,
            kick,
            next_kick: WRITEBACK_STEP,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let done = buf.get(..n).unwrap_or(buf);
        self.hasher.update(done);
        self.written += n as u64;
        if self.written >= self.next_kick {
            self.next_kick = self.written + WRITEBACK_STEP;
            if let Some(kick) = &self.kick {
                // The bytes are in the buffer still; they reach the file when it
                // next fills, before the one after this kick is sent.
                let _ = kick.send(());
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The sections assembled in memory before the segment is written.
#[derive(Clone, Copy)]
struct Small<'a> {
    recipes: &'a BTreeMap<u8, RecipeStats>,
    name_table: &'a [u8],
}

/// A partition's keys and postings.
struct PartOut<'a> {
    data: PartData<'a>,
    keys: u64,
    postings: u64,
    postings_bytes: u64,
    stats: BTreeMap<u8, RecipeStats>,
}

/// Where a partition's keys (hash, value local to the partition) and lists are.
enum PartData<'a> {
    /// No keys.
    Empty,
    /// In scratch files (after a spill).
    Files { keys: PathBuf, postings: PathBuf },
    /// In memory: the keys compacted in place in the writer's buffer, as
    /// `Entry { hash, low: value }`, and the lists.
    Memory {
        keys: Vec<&'a [Entry]>,
        postings: Vec<u8>,
    },
}

impl PartOut<'_> {
    fn empty() -> PartOut<'static> {
        PartOut {
            data: PartData::Empty,
            keys: 0,
            postings: 0,
            postings_bytes: 0,
            stats: BTreeMap::new(),
        }
    }
}

/// Per-recipe statistics of one partition, found by recipe id without a search.
struct RecipeTally {
    slot: [u8; 256],
    stats: Vec<RecipeStats>,
}

impl RecipeTally {
    fn new() -> RecipeTally {
        RecipeTally {
            slot: [u8::MAX; 256],
            stats: Vec::new(),
        }
    }

    fn add_key(&mut self, recipe: u8, len: u64) {
        let i = usize::from(self.slot[usize::from(recipe)]);
        if let Some(stats) = self.stats.get_mut(i) {
            stats.add_key(len);
            return;
        }
        // A new recipe. With all 256 recipes present the last one's slot stays
        // u8::MAX, so it is found by a search instead.
        if let Some(stats) = self.stats.iter_mut().find(|s| s.recipe == recipe) {
            stats.add_key(len);
            return;
        }
        self.slot[usize::from(recipe)] = u8::try_from(self.stats.len()).unwrap_or(u8::MAX);
        let mut stats = RecipeStats::new(recipe);
        stats.add_key(len);
        self.stats.push(stats);
    }

    fn into_map(self) -> BTreeMap<u8, RecipeStats> {
        self.stats.into_iter().map(|s| (s.recipe, s)).collect()
    }
}

/// The partition of `hash` among `2^bits`.
fn part_of(hash: u64, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        (hash >> (64 - bits)) as usize
    }
}

/// Reorders `block` so that its entries come partition by partition (a counting
/// sort on the top `bits` of the hash, in place, each entry moved about once) and
/// returns the partition bounds (`2^bits + 1` of them).
fn partition_in_place(block: &mut [Entry], bits: u32) -> Vec<usize> {
    let parts = 1usize << bits;
    let mut bounds = vec![0usize; parts + 1];
    for e in block.iter() {
        bounds[part_of(e.hash, bits) + 1] += 1;
    }
    for p in 0..parts {
        bounds[p + 1] += bounds[p];
    }
    let mut heads = bounds[..parts].to_vec();
    for p in 0..parts {
        let end = bounds[p + 1];
        while heads[p] < end {
            // Follow the cycle through the entry at the head of `p`: each entry
            // displaced goes to the head of its own partition.
            let mut e = block[heads[p]];
            let mut d = part_of(e.hash, bits);
            while d != p {
                std::mem::swap(&mut e, &mut block[heads[d]]);
                heads[d] += 1;
                d = part_of(e.hash, bits);
            }
            block[heads[p]] = e;
            heads[p] += 1;
        }
    }
    bounds
}

/// Entries for [`SegmentWriter::add_batch`], filled by the caller: e.g. one batch
/// per chunk of a dump, built on any thread, handed over without a copy.
#[derive(Debug, Default)]
pub struct KeyBatch {
    entries: Vec<Entry>,
}

impl KeyBatch {
    /// An empty batch with room for `n` entries.
    pub fn with_capacity(n: usize) -> KeyBatch {
        KeyBatch {
            entries: Vec::with_capacity(n),
        }
    }

    /// Adds the entry `(key hash, recipe, record id)`.
    pub fn push(&mut self, hash: u64, recipe: u8, record: u32) {
        self.entries.push(Entry::new(hash, recipe, record));
    }

    /// Entries in the batch.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True for a batch without entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// One partition of the buffer: its piece of each block, and how many entries at
/// the start of the pieces (taken in order) are valid.
struct Part<'a> {
    pieces: Vec<&'a mut [Entry]>,
    len: usize,
}

impl<'a> Part<'a> {
    /// Sorts the partition's entries and drops repeats; they are then the first
    /// `len` entries of the pieces.
    fn sort(&mut self, bits: u32, scratch: &mut SortScratch) {
        self.sort_into(bits, scratch);
        scratch.sorted.dedup();
        self.put(&scratch.sorted);
    }

    /// Sorts the valid entries of this partition (of `2^bits`) into
    /// `scratch.sorted` (repeats kept): a counting sort by the hash bits below
    /// the partition's into buckets of a few entries each, then each bucket sorted.
    fn sort_into(&self, bits: u32, scratch: &mut SortScratch) {
        let valid = self.valid();
        let len = self.len;
        // About 8 to 16 entries a bucket; the hash is uniform.
        let sub_bits = (usize::BITS - len.leading_zeros())
            .saturating_sub(4)
            .min(16)
            .min(64 - bits.min(64));
        let bucket = |hash: u64| -> usize {
            if sub_bits == 0 {
                0
            } else {
                ((hash << bits) >> (64 - sub_bits)) as usize
            }
        };
        let buckets = 1usize << sub_bits;
        let starts = &mut scratch.starts;
        starts.clear();
        starts.resize(buckets + 1, 0);
        for slice in &valid {
            for e in *slice {
                starts[bucket(e.hash) + 1] += 1;
            }
        }
        for b in 0..buckets {
            starts[b + 1] += starts[b];
        }
        let heads = &mut scratch.heads;
        heads.clear();
        heads.extend_from_slice(&starts[..buckets]);
        let sorted = &mut scratch.sorted;
        sorted.clear();
        sorted.resize(len, Entry::default());
        for slice in &valid {
            for e in *slice {
                let b = bucket(e.hash);
                sorted[heads[b]] = *e;
                heads[b] += 1;
            }
        }
        // Buckets are in order; within one, a big bucket (many entries of one
        // hash) is sorted outright and the small ones by one insertion pass over
        // everything, which moves an entry only within its bucket.
        for b in 0..buckets {
            if starts[b + 1] - starts[b] > 32 {
                sorted[starts[b]..starts[b + 1]].sort_unstable();
            }
        }
        for i in 1..sorted.len() {
            let e = sorted[i];
            if e < sorted[i - 1] {
                let mut j = i;
                while j > 0 && sorted[j - 1] > e {
                    sorted[j] = sorted[j - 1];
                    j -= 1;
                }
                sorted[j] = e;
            }
        }
    }

    /// Stores `items` (at most as many as the pieces hold) as the valid entries.
    fn put(&mut self, items: &[Entry]) {
        self.len = items.len();
        let mut rest = items;
        for piece in &mut self.pieces {
            let n = piece.len().min(rest.len());
            let (now, later) = rest.split_at(n);
            piece[..n].copy_from_slice(now);
            rest = later;
        }
    }

    /// The valid entries, as slices in order.
    fn valid(&self) -> Vec<&[Entry]> {
        let mut left = self.len;
        let mut out = Vec::with_capacity(self.pieces.len());
        for piece in &self.pieces {
            let n = piece.len().min(left);
            if n > 0 {
                out.push(&piece[..n]);
            }
            left -= n;
        }
        out
    }

    /// Like [`valid`](Self::valid), keeping the borrow of the buffer.
    fn into_valid(self) -> Vec<&'a [Entry]> {
        let mut left = self.len;
        let mut out = Vec::with_capacity(self.pieces.len());
        for piece in self.pieces {
            let n = piece.len().min(left);
            if n > 0 {
                out.push(&piece[..n]);
            }
            left -= n;
        }
        out
    }
}

/// Buffers one thread reuses to sort partition after partition.
#[derive(Default)]
struct SortScratch {
    sorted: Vec<Entry>,
    starts: Vec<usize>,
    heads: Vec<usize>,
}

/// Cuts the buffered blocks into partitions by the top `bits` of the hash: each
/// block (big ones first cut so that each thread gets a share) is partitioned in
/// place, in parallel; a partition is then its piece of every block. Entries are
/// not sorted within a partition yet.
fn split_partitions(blocks: &mut [Vec<Entry>], bits: u32) -> Vec<Part<'_>> {
    let parts = 1usize << bits;
    let total: usize = blocks.iter().map(Vec::len).sum();
    let threads = rayon::current_num_threads().max(1);
    let most = total.div_ceil(threads).max(1);
    let slices: Vec<&mut [Entry]> = blocks.iter_mut().flat_map(|b| b.chunks_mut(most)).collect();
    let cut: Vec<(&mut [Entry], Vec<usize>)> = slices
        .into_par_iter()
        .map(|block| {
            let bounds = partition_in_place(block, bits);
            (block, bounds)
        })
        .collect();
    let mut out: Vec<Part<'_>> = (0..parts)
        .map(|_| Part {
            pieces: Vec::with_capacity(cut.len()),
            len: 0,
        })
        .collect();
    for (block, bounds) in cut {
        let mut rest = block;
        for (p, part) in out.iter_mut().enumerate() {
            let n = bounds[p + 1] - bounds[p];
            let (piece, tail) = std::mem::take(&mut rest).split_at_mut(n);
            part.len += n;
            part.pieces.push(piece);
            rest = tail;
        }
    }
    out
}

/// The buffer partitioned, each partition sorted and without repeats.
fn sorted_parts(blocks: &mut [Vec<Entry>], bits: u32) -> Vec<Part<'_>> {
    let mut parts = split_partitions(blocks, bits);
    parts
        .par_iter_mut()
        .for_each_init(SortScratch::default, |scratch, part| {
            part.sort(bits, scratch);
        });
    parts
}

/// Writes sorted partitions as a run file; returns the run's partition bounds.
fn write_run(path: &Path, parts: &[Part<'_>]) -> Result<Vec<u64>, IndexError> {
    let werr = |e| IndexError::write_path(path, e);
    let file = File::create(path).map_err(werr)?;
    let mut out = BufWriter::with_capacity(IO_BUFFER, file);
    let mut chunk = Vec::with_capacity(IO_BUFFER + RUN_ENTRY_LEN);
    let mut bounds = Vec::with_capacity(parts.len() + 1);
    let mut written = 0u64;
    for part in parts {
        bounds.push(written);
        for slice in part.valid() {
            for entry in slice {
                entry.encode(&mut chunk);
                if chunk.len() >= IO_BUFFER {
                    out.write_all(&chunk).map_err(werr)?;
                    chunk.clear();
                }
            }
        }
        written += part.len as u64;
    }
    bounds.push(written);
    out.write_all(&chunk)
        .and_then(|()| out.flush())
        .map_err(werr)?;
    Ok(bounds)
}

/// Refuses an entry naming a record that was never added.
fn check_record(entry: &Entry, record_count: u64) -> Result<(), IndexError> {
    if u64::from(entry.record()) < record_count {
        Ok(())
    } else {
        Err(IndexError::InvalidInput(format!(
            "a key names record {} but only {} records were added",
            entry.record(),
            record_count
        )))
    }
}

/// Builds posting lists from sorted entries, one key at a time.
struct ListBuilder {
    ids: Vec<u32>,
    hash: u64,
    recipe: u8,
    record_count: u64,
}

impl ListBuilder {
    fn new(record_count: u64) -> ListBuilder {
        ListBuilder {
            ids: Vec::new(),
            hash: 0,
            recipe: 0,
            record_count,
        }
    }

    /// Starts the key of `entry`.
    fn start(&mut self, entry: &Entry) -> Result<(), IndexError> {
        check_record(entry, self.record_count)?;
        self.ids.clear();
        self.ids.push(entry.record());
        self.hash = entry.hash;
        self.recipe = entry.recipe();
        Ok(())
    }

    /// Adds an entry of the same hash. Sorted by (hash, record, recipe): a repeat
    /// record is a duplicate whose recipe is no smaller.
    fn add(&mut self, entry: &Entry) -> Result<(), IndexError> {
        if self.ids.last() != Some(&entry.record()) {
            check_record(entry, self.record_count)?;
            self.ids.push(entry.record());
        }
        self.recipe = self.recipe.min(entry.recipe());
        Ok(())
    }

    /// Ends the key: its value, its list appended to `postings` if it has one.
    fn end(&self, postings: &mut Vec<u8>, tally: &mut RecipeTally) -> u64 {
        tally.add_key(self.recipe, self.ids.len() as u64);
        match self.ids.as_slice() {
            [only] => inline_value(*only),
            ids => {
                let value = list_value(postings.len() as u64);
                encode_list(ids, postings);
                value
            }
        }
    }
}

/// Turns sorted entries into keys in place (a repeated entry counts once): each run
/// of one hash becomes `Entry { hash, low: value }` at the front of `entries` (a
/// list's offset local to `postings`). Returns the number of keys.
fn compact_keys(
    entries: &mut [Entry],
    lists: &mut ListBuilder,
    postings: &mut Vec<u8>,
    tally: &mut RecipeTally,
) -> Result<usize, IndexError> {
    let n = entries.len();
    let mut keys = 0;
    let mut i = 0;
    while i < n {
        let first = entries[i];
        lists.start(&first)?;
        i += 1;
        while i < n && entries[i].hash == first.hash {
            lists.add(&entries[i])?;
            i += 1;
        }
        // `keys` < `i`: the key overwrites an entry already read.
        entries[keys] = Entry {
            hash: first.hash,
            low: lists.end(postings, tally),
        };
        keys += 1;
    }
    Ok(keys)
}

/// Sorts one partition held in memory and compacts it into its keys (left at the
/// start of its pieces) and lists.
fn build_in_memory<'a>(
    mut part: Part<'a>,
    bits: u32,
    scratch: &mut SortScratch,
    record_count: u64,
) -> Result<PartOut<'a>, IndexError> {
    let mut lists = ListBuilder::new(record_count);
    let mut postings = Vec::new();
    let mut tally = RecipeTally::new();
    part.sort_into(bits, scratch);
    let sorted = &mut scratch.sorted;
    let keys = compact_keys(sorted, &mut lists, &mut postings, &mut tally)?;
    part.put(&sorted[..keys]);
    if keys == 0 {
        return Ok(PartOut::empty());
    }
    let stats = tally.into_map();
    let postings_total = stats.values().map(|s| s.postings).sum();
    Ok(PartOut {
        keys: keys as u64,
        postings: postings_total,
        postings_bytes: postings.len() as u64,
        stats,
        data: PartData::Memory {
            keys: part.into_valid(),
            postings,
        },
    })
}

struct PartContext<'a> {
    scratch: &'a Path,
    runs: &'a [Run],
    record_count: u64,
}

impl PartContext<'_> {
    /// Merges partition `p` (its sorted entries in memory plus its part of every
    /// run) into posting lists in scratch files.
    fn build(&self, p: usize, memory: Vec<&[Entry]>) -> Result<PartOut<'static>, IndexError> {
        let mut sources = run_sources(self.runs, p)?;
        sources.push(Source::Memory {
            slices: memory,
            slice: 0,
            pos: 0,
        });
        let mut merged = Merge::new(sources)?;
        let Some(first) = merged.next()? else {
            return Ok(PartOut::empty());
        };
        let keys_path = self.scratch.join(format!("part-{p:04}.keys"));
        let postings_path = self.scratch.join(format!("part-{p:04}.postings"));
        let mut keys = BufWriter::with_capacity(
            1 << 16,
            File::create(&keys_path).map_err(|e| IndexError::write_path(&keys_path, e))?,
        );
        let mut postings = BufWriter::with_capacity(
            1 << 16,
            File::create(&postings_path).map_err(|e| IndexError::write_path(&postings_path, e))?,
        );
        let mut out = PartOut::empty();
        let mut lists = ListBuilder::new(self.record_count);
        let mut tally = RecipeTally::new();
        let mut list_buf = Vec::new();
        let mut emit = |lists: &ListBuilder, out: &mut PartOut<'_>| -> Result<(), IndexError> {
            list_buf.clear();
            let mut value = lists.end(&mut list_buf, &mut tally);
            if value & 1 == 1 {
                value = list_value(out.postings_bytes);
                postings
                    .write_all(&list_buf)
                    .map_err(|e| IndexError::write_path(&postings_path, e))?;
                out.postings_bytes += list_buf.len() as u64;
            }
            let mut key = [0u8; PART_KEY_LEN];
            key[..8].copy_from_slice(&lists.hash.to_le_bytes());
            key[8..].copy_from_slice(&value.to_le_bytes());
            keys.write_all(&key)
                .map_err(|e| IndexError::write_path(&keys_path, e))?;
            out.keys += 1;
            out.postings += lists.ids.len() as u64;
            Ok(())
        };
        lists.start(&first)?;
        while let Some(entry) = merged.next()? {
            if entry.hash == lists.hash {
                lists.add(&entry)?;
            } else {
                emit(&lists, &mut out)?;
                lists.start(&entry)?;
            }
        }
        emit(&lists, &mut out)?;
        keys.flush()
            .map_err(|e| IndexError::write_path(&keys_path, e))?;
        postings
            .flush()
            .map_err(|e| IndexError::write_path(&postings_path, e))?;
        out.stats = tally.into_map();
        out.data = PartData::Files {
            keys: keys_path,
            postings: postings_path,
        };
        Ok(out)
    }
}

/// Readers of partition `p`'s part of every run.
fn run_sources(runs: &[Run], p: usize) -> Result<Vec<Source<'_>>, IndexError> {
    let mut sources = Vec::with_capacity(runs.len() + 1);
    for run in runs {
        let lo = run.bounds.get(p).copied().unwrap_or(0);
        let hi = run.bounds.get(p + 1).copied().unwrap_or(0);
        if hi > lo {
            let rerr = |e| IndexError::read(run.path.display().to_string(), e);
            let mut file = File::open(&run.path).map_err(rerr)?;
            file.seek(SeekFrom::Start(lo * RUN_ENTRY_LEN as u64))
                .map_err(rerr)?;
            sources.push(Source::File {
                reader: BufReader::with_capacity(1 << 16, file),
                remaining: hi - lo,
                path: &run.path,
            });
        }
    }
    Ok(sources)
}

/// One sorted input of a partition merge.
enum Source<'a> {
    /// Sorted entries in memory, as slices in order.
    Memory {
        slices: Vec<&'a [Entry]>,
        slice: usize,
        pos: usize,
    },
    File {
        reader: BufReader<File>,
        remaining: u64,
        path: &'a Path,
    },
}

impl Source<'_> {
    fn next(&mut self) -> Result<Option<Entry>, IndexError> {
        match self {
            Source::Memory { slices, slice, pos } => {
                while let Some(s) = slices.get(*slice) {
                    if let Some(e) = s.get(*pos) {
                        *pos += 1;
                        return Ok(Some(*e));
                    }
                    *slice += 1;
                    *pos = 0;
                }
                Ok(None)
            }
            Source::File {
                reader,
                remaining,
                path,
            } => {
                if *remaining == 0 {
                    return Ok(None);
                }
                let mut buf = [0u8; RUN_ENTRY_LEN];
                reader
                    .read_exact(&mut buf)
                    .map_err(|e| IndexError::read(path.display().to_string(), e))?;
                *remaining -= 1;
                Ok(Some(Entry::decode(&buf)))
            }
        }
    }
}

/// A k-way merge of sorted sources (a single source is read straight through).
struct Merge<'a> {
    sources: Vec<Source<'a>>,
    heap: BinaryHeap<Reverse<(Entry, usize)>>,
}

impl<'a> Merge<'a> {
    fn new(mut sources: Vec<Source<'a>>) -> Result<Merge<'a>, IndexError> {
        let mut heap = BinaryHeap::with_capacity(sources.len());
        if sources.len() > 1 {
            for (i, source) in sources.iter_mut().enumerate() {
                if let Some(entry) = source.next()? {
                    heap.push(Reverse((entry, i)));
                }
            }
        }
        Ok(Merge { sources, heap })
    }

    fn next(&mut self) -> Result<Option<Entry>, IndexError> {
        if let [only] = self.sources.as_mut_slice() {
            return only.next();
        }
        let Some(Reverse((entry, i))) = self.heap.pop() else {
            return Ok(None);
        };
        if let Some(source) = self.sources.get_mut(i)
            && let Some(next) = source.next()?
        {
            self.heap.push(Reverse((next, i)));
        }
        Ok(Some(entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_read_back_with_narrow_and_wide_offsets() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut bytes_of = Vec::new();
        for wide in [false, true] {
            let mut w =
                SegmentWriter::new(dir.path(), 1 << 20, 2).unwrap_or_else(|e| panic!("{e}"));
            w.wide_offsets = wide;
            for r in 0..50u32 {
                let id = w
                    .add_record(0, u64::from(r) + 1, 0, 1)
                    .unwrap_or_else(|e| panic!("{e}"));
                if r % 7 != 3 {
                    // Some records get no features: they read back empty.
                    let f = vec![0, 0, r as u8, 0xAA, r as u8];
                    w.add_features(id, &f).unwrap_or_else(|e| panic!("{e}"));
                }
            }
            let path = dir.path().join(format!("f{wide}.seg"));
            w.finish(&path).unwrap_or_else(|e| panic!("{e}"));
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
            let seg = Segment::from_bytes(bytes.clone()).unwrap_or_else(|e| panic!("{e}"));
            seg.verify().unwrap_or_else(|e| panic!("{e}"));
            for r in 0..50u32 {
                let want: Vec<u8> = if r % 7 != 3 {
                    vec![0, 0, r as u8, 0xAA, r as u8]
                } else {
                    EMPTY_FEATURES.to_vec()
                };
                assert_eq!(seg.features(r), Some(&want[..]), "record {r} wide {wide}");
            }
            assert_eq!(seg.features(50), None);
            bytes_of.push(bytes.len());
        }
        // 51 offsets of 4 more bytes each.
        assert_eq!(bytes_of[1] - bytes_of[0], 51 * 4);
    }
    use crate::index::Segment;

    fn build(
        dir: &Path,
        name: &str,
        budget: usize,
        batches: &[Vec<(u64, u8, u32)>],
        records: u32,
    ) -> (Vec<u8>, SegmentStats) {
        let mut w = SegmentWriter::new(dir, budget, 4).unwrap();
        for i in 0..records {
            w.add_record(i % 3, u64::from(i) + 1, u64::from(i) * 100, 99)
                .unwrap();
        }
        for b in batches {
            w.add_keys(b).unwrap();
        }
        let path = dir.join(name);
        let stats = w.finish(&path).unwrap();
        (fs::read(&path).unwrap(), stats)
    }

    #[test]
    fn spilling_gives_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let entries: Vec<(u64, u8, u32)> = (0..5000u64)
            .map(|i| {
                let hash = (i % 700).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                (hash, (i % 5) as u8, (i * 7 % 1000) as u32)
            })
            .collect();
        let (a, sa) = build(
            dir.path(),
            "a.seg",
            1 << 20,
            std::slice::from_ref(&entries),
            1000,
        );
        let batches: Vec<Vec<_>> = entries.chunks(77).rev().map(|c| c.to_vec()).collect();
        let (b, sb) = build(dir.path(), "b.seg", 64 * 16, &batches, 1000);
        assert_eq!(sa.spills, 0);
        // Enough spills that runs were merged along the way.
        assert!(sb.spills > MAX_RUNS, "spills: {}", sb.spills);
        assert!(a == b, "segments differ");
        Segment::from_bytes(a).unwrap().verify().unwrap();
        // Scratch directories are gone.
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty());
    }

    /// Builds with `bits` partition bits on a pool of `threads` threads.
    fn build_with(
        dir: &Path,
        name: &str,
        budget: usize,
        bits: u32,
        threads: usize,
        batches: &[Vec<(u64, u8, u32)>],
        records: u32,
    ) -> (Vec<u8>, SegmentStats) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut w = SegmentWriter::new(dir, budget, bits).unwrap();
            for i in 0..records {
                w.add_record(i % 3, u64::from(i) + 1, u64::from(i) * 100, 99)
                    .unwrap();
            }
            for b in batches {
                w.add_keys(b).unwrap();
            }
            let path = dir.join(name);
            let stats = w.finish(&path).unwrap();
            (fs::read(&path).unwrap(), stats)
        })
    }

    /// Entries of every shape the writer must handle: a hash with hundreds of
    /// records (a big sort bucket), one record under a hash by two recipes, exact
    /// repeats, hashes at the ends of the hash space and of partitions, and many
    /// keys of one or two records.
    fn awkward_entries() -> Vec<(u64, u8, u32)> {
        let mut out = Vec::new();
        let common = 0x5555_0000_0000_0001u64;
        for r in 0..600u32 {
            out.push((common, 3, (r * 7) % 1000));
        }
        for r in 0..40u32 {
            out.push((0xA000_0000_0000_0000 | u64::from(r % 5), 2, r));
        }
        out.push((7, 1, 5));
        out.push((7, 0, 5));
        out.push((7, 4, 6));
        out.push((0, 0, 0));
        out.push((u64::MAX, 9, 999));
        out.push((u64::MAX, 9, 999));
        out.push((0x0FFF_FFFF_FFFF_FFFF, 1, 1));
        out.push((0x1000_0000_0000_0000, 1, 2));
        for i in 0..6000u64 {
            let hash = (i % 2500).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i % 3);
            out.push((hash, (i % 7) as u8, ((i * 13) % 1000) as u32));
        }
        out
    }

    /// What each hash should find, by a plain model.
    fn model(entries: &[(u64, u8, u32)]) -> BTreeMap<u64, Vec<u32>> {
        let mut m: BTreeMap<u64, std::collections::BTreeSet<u32>> = BTreeMap::new();
        for &(h, _, r) in entries {
            m.entry(h).or_default().insert(r);
        }
        m.into_iter()
            .map(|(h, ids)| (h, ids.into_iter().collect()))
            .collect()
    }

    fn assert_matches_model(bytes: Vec<u8>, entries: &[(u64, u8, u32)]) {
        let expected = model(entries);
        let seg = Segment::from_bytes(bytes).unwrap();
        seg.verify().unwrap();
        assert_eq!(seg.key_count(), expected.len() as u64);
        for (h, ids) in &expected {
            let found: Vec<u32> = seg.lookup(*h).iter().collect();
            assert_eq!(&found, ids, "hash {h:#x}");
        }
    }

    #[test]
    fn in_memory_and_spilled_builds_agree_whatever_the_threads() {
        let dir = tempfile::tempdir().unwrap();
        let entries = awkward_entries();
        let shuffled: Vec<Vec<_>> = entries.chunks(101).rev().map(|c| c.to_vec()).collect();
        for bits in [0, 3, 8] {
            let (reference, stats) = build_with(
                dir.path(),
                "ref.seg",
                1 << 24,
                bits,
                1,
                std::slice::from_ref(&entries),
                1000,
            );
            assert_eq!(stats.spills, 0);
            for threads in [1, 2, 3] {
                let (memory, s) =
                    build_with(dir.path(), "m.seg", 1 << 24, bits, threads, &shuffled, 1000);
                assert_eq!(s.spills, 0);
                assert!(
                    memory == reference,
                    "bits {bits}, threads {threads}: in memory"
                );
                let (spilled, s) = build_with(
                    dir.path(),
                    "s.seg",
                    200 * 16,
                    bits,
                    threads,
                    &shuffled,
                    1000,
                );
                assert!(s.spills > MAX_RUNS, "spills: {}", s.spills);
                assert!(
                    spilled == reference,
                    "bits {bits}, threads {threads}: spilled"
                );
            }
            assert_matches_model(reference, &entries);
        }
    }

    #[test]
    fn batches_and_slices_give_the_same_bytes_spilled_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let entries = awkward_entries();
        let (reference, _) = build_with(
            dir.path(),
            "ref.seg",
            1 << 24,
            8,
            1,
            std::slice::from_ref(&entries),
            1000,
        );
        for (budget, threads) in [(1usize << 24, 2usize), (300 * 16, 2), (50 * 16, 1)] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let bytes = pool.install(|| {
                let mut w = SegmentWriter::new(dir.path(), budget, 8).unwrap();
                for i in 0..1000u32 {
                    w.add_record(i % 3, u64::from(i) + 1, u64::from(i) * 100, 99)
                        .unwrap();
                }
                // Batches (some bigger than the budget), slices in between.
                for (i, part) in entries.chunks(333).enumerate() {
                    if i % 3 == 1 {
                        w.add_keys(part).unwrap();
                    } else {
                        let mut batch = KeyBatch::with_capacity(part.len());
                        for &(h, r, id) in part {
                            batch.push(h, r, id);
                        }
                        assert_eq!(batch.len(), part.len());
                        w.add_batch(batch).unwrap();
                    }
                }
                w.add_batch(KeyBatch::default()).unwrap();
                let path = dir.path().join("b.seg");
                w.finish(&path).unwrap();
                fs::read(&path).unwrap()
            });
            assert!(bytes == reference, "budget {budget}, threads {threads}");
        }
    }

    #[test]
    fn partitioning_in_place_groups_by_top_bits_and_keeps_every_entry() {
        for bits in [0u32, 1, 4, 8] {
            let mut entries: Vec<Entry> = (0..3000u64)
                .map(|i| {
                    Entry::new(
                        i.wrapping_mul(0xD6E8_FEB8_6659_FD93),
                        (i % 5) as u8,
                        i as u32,
                    )
                })
                .collect();
            let mut before = entries.clone();
            let bounds = partition_in_place(&mut entries, bits);
            assert_eq!(bounds.len(), (1 << bits) + 1);
            assert_eq!(bounds.last(), Some(&entries.len()));
            for p in 0..1usize << bits {
                for e in &entries[bounds[p]..bounds[p + 1]] {
                    assert_eq!(part_of(e.hash, bits), p);
                }
            }
            let mut after = entries.clone();
            before.sort_unstable();
            after.sort_unstable();
            assert_eq!(before, after);
        }
    }

    #[test]
    fn sorting_a_partition_in_pieces_sorts_and_drops_repeats() {
        let buffer: Vec<Entry> = (0..5000u64)
            .map(|i| {
                Entry::new(
                    (i % 1700).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    (i % 3) as u8,
                    (i % 11) as u32,
                )
            })
            .collect();
        let mut expected = buffer.clone();
        expected.sort_unstable();
        expected.dedup();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let sorted: Vec<Entry> = pool.install(|| {
            let mut blocks = vec![buffer[..1000].to_vec(), buffer[1000..].to_vec()];
            let parts = sorted_parts(&mut blocks, 2);
            // The big block is cut for the threads: 1000, then 1667 + 1667 + 666.
            assert!(parts.iter().all(|p| p.pieces.len() == 4));
            parts
                .iter()
                .flat_map(|p| p.valid().into_iter().flatten().copied().collect::<Vec<_>>())
                .collect()
        });
        assert_eq!(sorted, expected);
    }

    proptest::proptest! {
        #[test]
        fn any_entries_give_the_same_segment_spilled_or_not(
            raw in proptest::collection::vec((0u64..64, 0u8..4, 0u32..50), 0..400),
            budget in 16usize..200,
            spread in proptest::bool::ANY,
        ) {
            // Few distinct hashes, spread over the partitions or packed in one.
            let entries: Vec<(u64, u8, u32)> = raw
                .iter()
                .map(|&(h, r, id)| {
                    let hash = if spread { h.wrapping_mul(0x9E37_79B9_7F4A_7C15) } else { h };
                    (hash, r, id)
                })
                .collect();
            let dir = tempfile::tempdir().unwrap();
            let batches: Vec<Vec<_>> = entries.chunks(7).map(|c| c.to_vec()).collect();
            let (a, _) = build_with(dir.path(), "a.seg", 1 << 20, 4, 2, &batches, 50);
            let (b, _) = build_with(dir.path(), "b.seg", budget * 16, 4, 2, &batches, 50);
            proptest::prop_assert!(a == b);
            assert_matches_model(a, &entries);
        }
    }

    #[test]
    fn a_key_naming_a_missing_record_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SegmentWriter::new(dir.path(), 1 << 20, 2).unwrap();
        w.add_record(0, 1, 0, 1).unwrap();
        w.add_keys(&[(1, 0, 0), (2, 0, 1)]).unwrap();
        let err = w.finish(&dir.path().join("x.seg")).unwrap_err();
        assert!(err.to_string().contains("record 1"), "{err}");
        assert!(!dir.path().join("x.seg").exists());
    }

    #[test]
    fn a_key_naming_a_missing_record_is_refused_after_a_spill() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SegmentWriter::new(dir.path(), 16 * 16, 2).unwrap();
        for i in 0..10 {
            w.add_record(0, i + 1, 0, 1).unwrap();
        }
        let keys: Vec<(u64, u8, u32)> =
            (0..100u64).map(|i| (i << 58, 0, (i % 10) as u32)).collect();
        w.add_keys(&keys).unwrap();
        w.add_keys(&[(3, 0, 10)]).unwrap();
        let err = w.finish(&dir.path().join("x.seg")).unwrap_err();
        assert!(err.to_string().contains("record 10"), "{err}");
        assert!(!dir.path().join("x.seg").exists());
    }

    #[test]
    fn too_many_partition_bits_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(SegmentWriter::new(dir.path(), 1 << 20, 13).is_err());
    }
}
