//! Building a segment with bounded memory.
//!
//! Callers add records (their location in the dumps) and batches of
//! `(key hash, recipe, record)` entries in any order. Entries are buffered up to the
//! memory budget; when the buffer is full it is sorted (in parallel) and spilled to
//! a run file in the scratch directory. [`SegmentWriter::finish`] splits the hash
//! space into partitions by top bits, merges each partition's runs in parallel into
//! posting lists, then streams everything into the segment file. The output depends
//! only on the set of entries added: not on batch order, thread count, or spilling.

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
    FEATURE_OFFSET_LEN, FORMAT_VERSION, HEADER_LEN, Header, KeyLayout, MAGIC, RECORD_LEN,
    SECTION_COUNT, STATS_LEN, Section, put_uint,
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

/// One `(hash, record, recipe)` entry; the derived order is the sort order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    hash: u64,
    record: u32,
    recipe: u8,
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
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.hash.to_le_bytes());
        out.extend_from_slice(&self.record.to_le_bytes());
        out.push(self.recipe);
    }

    fn decode(b: &[u8; RUN_ENTRY_LEN]) -> Entry {
        let mut hash = [0u8; 8];
        hash.copy_from_slice(&b[0..8]);
        let mut record = [0u8; 4];
        record.copy_from_slice(&b[8..12]);
        Entry {
            hash: u64::from_le_bytes(hash),
            record: u32::from_le_bytes(record),
            recipe: b[12],
        }
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
    buffer: Vec<Entry>,
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
            .field("buffered", &self.buffer.len())
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
            buffer: Vec::new(),
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
            row,
            offset,
            len,
        };
        self.records
            .write_all(&entry.encode())
            .map_err(|e| IndexError::write_path(&self.records_path, e))?;
        self.record_count += 1;
        Ok(id)
    }

    /// Adds several records; returns the id of the first (the rest follow in order).
    pub fn add_records(&mut self, records: &[RecordEntry]) -> Result<u32, IndexError> {
        let first = u32::try_from(self.record_count).unwrap_or(u32::MAX);
        for r in records {
            self.add_record(r.dataset, u64::from(r.row), r.offset, r.len)?;
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
            if self.buffer.len() >= self.capacity {
                self.spill()?;
            }
            let room = self.capacity - self.buffer.len();
            let (now, later) = rest.split_at(room.min(rest.len()));
            let needed = self.buffer.len() + now.len();
            if needed > self.buffer.capacity() {
                // Grow by doubling, but never past the budget.
                let target = needed.max(self.buffer.capacity() * 2).min(self.capacity);
                self.buffer.reserve_exact(target - self.buffer.len());
            }
            self.buffer
                .extend(now.iter().map(|&(hash, recipe, record)| Entry {
                    hash,
                    record,
                    recipe,
                }));
            rest = later;
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

    fn partition_of(&self, hash: u64) -> usize {
        if self.partition_bits == 0 {
            0
        } else {
            (hash >> (64 - self.partition_bits)) as usize
        }
    }

    /// Sorts the buffer and its partition bounds; the buffer is then a valid run.
    fn sort_buffer(&mut self) -> Vec<u64> {
        self.buffer.par_sort_unstable();
        self.buffer.dedup();
        let mut bounds = Vec::with_capacity(self.partitions() + 1);
        for p in 0..self.partitions() {
            bounds.push(
                self.buffer
                    .partition_point(|e| self.partition_of(e.hash) < p) as u64,
            );
        }
        bounds.push(self.buffer.len() as u64);
        bounds
    }

    fn next_run_path(&mut self) -> PathBuf {
        self.run_serial += 1;
        self.scratch
            .path()
            .join(format!("run-{:05}.bin", self.run_serial))
    }

    fn spill(&mut self) -> Result<(), IndexError> {
        let bounds = self.sort_buffer();
        let path = self.next_run_path();
        let file = File::create(&path).map_err(|e| IndexError::write_path(&path, e))?;
        let mut out = BufWriter::with_capacity(IO_BUFFER, file);
        let mut chunk = Vec::with_capacity(IO_BUFFER);
        for group in self.buffer.chunks(IO_BUFFER / RUN_ENTRY_LEN) {
            chunk.clear();
            for entry in group {
                entry.encode(&mut chunk);
            }
            out.write_all(&chunk)
                .map_err(|e| IndexError::write_path(&path, e))?;
        }
        out.flush().map_err(|e| IndexError::write_path(&path, e))?;
        self.runs.push(Run { path, bounds });
        self.buffer.clear();
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
        let bounds = self.sort_buffer();
        let buffer = std::mem::take(&mut self.buffer);
        let parts: Vec<PartOut> = {
            let ctx = PartContext {
                scratch: self.scratch.path(),
                runs: &self.runs,
                record_count: self.record_count,
            };
            (0..self.partitions())
                .into_par_iter()
                .map(|p| {
                    let lo = bounds.get(p).copied().unwrap_or(0) as usize;
                    let hi = bounds.get(p + 1).copied().unwrap_or(0) as usize;
                    ctx.build(p, buffer.get(lo..hi).unwrap_or(&[]))
                })
                .collect::<Result<_, _>>()?
        };
        drop(buffer);
        for run in &self.runs {
            let _ = fs::remove_file(&run.path);
        }
        let spills = self.spills;
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
        lengths[Section::FeatureOffsets as usize] =
            (self.record_count + 1) * FEATURE_OFFSET_LEN as u64;
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
        let mut out = HashingWriter::new(BufWriter::with_capacity(IO_BUFFER, file));
        out.write_all(&header.encode()).map_err(werr)?;

        for &section in order {
            let expected_start = header.section(section).start as u64;
            if out.written != expected_start {
                return Err(IndexError::InvalidInput(format!(
                    "internal error: section {section:?} at {} instead of {expected_start}",
                    out.written
                )));
            }
            match section {
                Section::Keys => self.write_keys(&mut out, header, parts)?,
                Section::Directory => {
                    let dir = self.scratch.path().join("directory.bin");
                    copy_file(&dir, &mut out)?;
                }
                Section::Postings => {
                    for part in parts {
                        if let Some(p) = &part.postings_path {
                            copy_file(p, &mut out)?;
                        }
                    }
                }
                Section::Records => copy_file(&self.records_path, &mut out)?,
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
                Section::Features => copy_file(&self.features.bytes_path, &mut out)?,
                Section::FeatureOffsets => copy_file(&self.features.offsets_path, &mut out)?,
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
        file.sync_all().map_err(werr)?;
        Ok(checksum)
    }

    /// Packs every partition's keys into the key table and writes the directory
    /// (to a scratch file copied in next).
    fn write_keys(
        &self,
        out: &mut HashingWriter<BufWriter<File>>,
        header: &Header,
        parts: &[PartOut],
    ) -> Result<(), IndexError> {
        let layout = header.layout;
        let dir_path = self.scratch.path().join("directory.bin");
        let dir_file = File::create(&dir_path).map_err(|e| IndexError::write_path(&dir_path, e))?;
        let mut dir = BufWriter::with_capacity(IO_BUFFER, dir_file);
        let mut dir_buf = Vec::with_capacity(IO_BUFFER);
        let mut keys_buf = Vec::with_capacity(IO_BUFFER + 16);
        let (sw, vw, dw) = (
            usize::from(layout.suffix_width),
            usize::from(layout.value_width),
            usize::from(layout.dir_width),
        );
        let mut next_bucket = 0u64;
        let mut index = 0u64;
        let mut base = 0u64;
        let out_what = "the segment being written";
        for part in parts {
            if let Some(keys_path) = &part.keys_path {
                for_each_chunk(keys_path, PART_KEY_LEN, |chunk| {
                    for key in chunk.chunks_exact(PART_KEY_LEN) {
                        let hash = super::format::read_u64(key, 0).unwrap_or(0);
                        let mut value = super::format::read_u64(key, 8).unwrap_or(0);
                        if value & 1 == 1 {
                            value += base << 1;
                        }
                        let bucket = layout.bucket_of(hash);
                        while next_bucket <= bucket {
                            put_uint(&mut dir_buf, index, dw);
                            next_bucket += 1;
                        }
                        index += 1;
                        put_uint(&mut keys_buf, layout.suffix_of(hash), sw);
                        put_uint(&mut keys_buf, value, vw);
                        if keys_buf.len() >= IO_BUFFER {
                            out.write_all(&keys_buf)
                                .map_err(|e| IndexError::write(out_what, e))?;
                            keys_buf.clear();
                        }
                        if dir_buf.len() >= IO_BUFFER {
                            dir.write_all(&dir_buf)
                                .map_err(|e| IndexError::write_path(&dir_path, e))?;
                            dir_buf.clear();
                        }
                    }
                    Ok(())
                })?;
            }
            base += part.postings_bytes;
        }
        while next_bucket <= layout.buckets() {
            put_uint(&mut dir_buf, index, dw);
            next_bucket += 1;
            if dir_buf.len() >= IO_BUFFER {
                dir.write_all(&dir_buf)
                    .map_err(|e| IndexError::write_path(&dir_path, e))?;
                dir_buf.clear();
            }
        }
        out.write_all(&keys_buf)
            .map_err(|e| IndexError::write(out_what, e))?;
        dir.write_all(&dir_buf)
            .and_then(|()| dir.flush())
            .map_err(|e| IndexError::write_path(&dir_path, e))?;
        Ok(())
    }
}

fn to_usize(n: u64) -> Result<usize, IndexError> {
    usize::try_from(n)
        .map_err(|_| IndexError::InvalidInput("segment too large for this platform".into()))
}

/// Calls `f` on successive chunks of `path`, each a whole number of `record` bytes.
fn for_each_chunk(
    path: &Path,
    record: usize,
    mut f: impl FnMut(&[u8]) -> Result<(), IndexError>,
) -> Result<(), IndexError> {
    let mut file = File::open(path).map_err(|e| IndexError::read(path.display().to_string(), e))?;
    let mut buf = vec![0u8; (IO_BUFFER / record).max(1) * record];
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

fn copy_file(path: &Path, out: &mut impl Write) -> Result<(), IndexError> {
    let mut file = File::open(path).map_err(|e| IndexError::read(path.display().to_string(), e))?;
    io::copy(&mut file, out).map_err(|e| IndexError::write(path.display().to_string(), e))?;
    Ok(())
}

/// A writer that hashes and counts everything it passes on.
struct HashingWriter<W> {
    inner: W,
    hasher: Xxh3Default,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Xxh3Default::new(),
            written: 0,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let done = buf.get(..n).unwrap_or(buf);
        self.hasher.update(done);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A partition's keys and postings, written to scratch files.
struct PartOut {
    keys_path: Option<PathBuf>,
    postings_path: Option<PathBuf>,
    keys: u64,
    postings: u64,
    postings_bytes: u64,
    stats: BTreeMap<u8, RecipeStats>,
}

struct PartContext<'a> {
    scratch: &'a Path,
    runs: &'a [Run],
    record_count: u64,
}

impl PartContext<'_> {
    /// Merges partition `p` (the in-memory slice plus its part of every run) into
    /// posting lists.
    fn build(&self, p: usize, memory: &[Entry]) -> Result<PartOut, IndexError> {
        let mut sources = run_sources(self.runs, p)?;
        sources.push(Source::Memory(memory.iter()));
        let mut merged = Merge::new(sources)?;
        let mut out = PartOut {
            keys_path: None,
            postings_path: None,
            keys: 0,
            postings: 0,
            postings_bytes: 0,
            stats: BTreeMap::new(),
        };
        let Some(first) = merged.next()? else {
            return Ok(out);
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
        let mut list_buf = Vec::new();
        let mut ids: Vec<u32> = Vec::new();
        let mut current = first;
        let mut recipe = first.recipe;
        self.check_record(&first)?;
        ids.push(first.record);
        let mut emit =
            |hash: u64, recipe: u8, ids: &[u32], out: &mut PartOut| -> Result<(), IndexError> {
                let value = match ids {
                    [only] => inline_value(*only),
                    _ => {
                        list_buf.clear();
                        encode_list(ids, &mut list_buf);
                        let value = list_value(out.postings_bytes);
                        postings
                            .write_all(&list_buf)
                            .map_err(|e| IndexError::write_path(&postings_path, e))?;
                        out.postings_bytes += list_buf.len() as u64;
                        value
                    }
                };
                let mut key = [0u8; PART_KEY_LEN];
                key[..8].copy_from_slice(&hash.to_le_bytes());
                key[8..].copy_from_slice(&value.to_le_bytes());
                keys.write_all(&key)
                    .map_err(|e| IndexError::write_path(&keys_path, e))?;
                out.keys += 1;
                out.postings += ids.len() as u64;
                out.stats
                    .entry(recipe)
                    .or_insert_with(|| RecipeStats::new(recipe))
                    .add_key(ids.len() as u64);
                Ok(())
            };
        while let Some(entry) = merged.next()? {
            if entry.hash == current.hash {
                // Sorted by (hash, record, recipe): a repeat record is a duplicate
                // whose recipe is no smaller.
                if entry.record != current.record {
                    self.check_record(&entry)?;
                    ids.push(entry.record);
                }
                recipe = recipe.min(entry.recipe);
            } else {
                emit(current.hash, recipe, &ids, &mut out)?;
                ids.clear();
                self.check_record(&entry)?;
                ids.push(entry.record);
                recipe = entry.recipe;
            }
            current = entry;
        }
        emit(current.hash, recipe, &ids, &mut out)?;
        keys.flush()
            .map_err(|e| IndexError::write_path(&keys_path, e))?;
        postings
            .flush()
            .map_err(|e| IndexError::write_path(&postings_path, e))?;
        out.keys_path = Some(keys_path);
        out.postings_path = Some(postings_path);
        Ok(out)
    }

    fn check_record(&self, entry: &Entry) -> Result<(), IndexError> {
        if u64::from(entry.record) < self.record_count {
            Ok(())
        } else {
            Err(IndexError::InvalidInput(format!(
                "a key names record {} but only {} records were added",
                entry.record, self.record_count
            )))
        }
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
    Memory(std::slice::Iter<'a, Entry>),
    File {
        reader: BufReader<File>,
        remaining: u64,
        path: &'a Path,
    },
}

impl Source<'_> {
    fn next(&mut self) -> Result<Option<Entry>, IndexError> {
        match self {
            Source::Memory(iter) => Ok(iter.next().copied()),
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

/// A k-way merge of sorted sources.
struct Merge<'a> {
    sources: Vec<Source<'a>>,
    heap: BinaryHeap<Reverse<(Entry, usize)>>,
}

impl<'a> Merge<'a> {
    fn new(mut sources: Vec<Source<'a>>) -> Result<Merge<'a>, IndexError> {
        let mut heap = BinaryHeap::with_capacity(sources.len());
        for (i, source) in sources.iter_mut().enumerate() {
            if let Some(entry) = source.next()? {
                heap.push(Reverse((entry, i)));
            }
        }
        Ok(Merge { sources, heap })
    }

    fn next(&mut self) -> Result<Option<Entry>, IndexError> {
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
    fn too_many_partition_bits_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(SegmentWriter::new(dir.path(), 1 << 20, 13).is_err());
    }
}
