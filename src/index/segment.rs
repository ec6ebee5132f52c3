//! Reading a segment: one self-contained, memory-mapped file that answers "which
//! records carry this key?" in about a microsecond.
//!
//! [`Segment::open`] validates the header and section bounds (cheap, whatever the
//! file size) and touches nothing else; [`Segment::verify`] reads every byte. The
//! accessors decode with bounds checks, so a damaged file gives errors or empty
//! answers, never a panic or an out-of-bounds read. The layout is described in
//! `format`.
//!
//! ```
//! # fn demo() -> Result<(), leakscope::index::IndexError> {
//! use leakscope::index::{Segment, SegmentWriter};
//! let dir = std::env::temp_dir().join(format!("leakscope-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).map_err(|e| leakscope::index::IndexError::InvalidInput(e.to_string()))?;
//! let mut writer = SegmentWriter::new(&dir, 1 << 20, 4)?;
//! let record = writer.add_record(0, 1, 0, 42)?;
//! writer.add_keys(&[(0xfeed, 1, record)])?;
//! let path = dir.join("doc.seg");
//! writer.finish(&path)?;
//! let segment = Segment::open(&path)?;
//! assert_eq!(segment.lookup(0xfeed).iter().collect::<Vec<_>>(), vec![record]);
//! assert!(segment.lookup(0xbeef).is_empty());
//! # let _ = std::fs::remove_dir_all(&dir);
//! # Ok(()) }
//! # demo().unwrap();
//! ```

use std::fs::File;
use std::ops::{Deref, Range};
use std::path::Path;

use memmap2::Mmap;
use roaring::RoaringBitmap;
use xxhash_rust::xxh3::xxh3_64;

use super::error::IndexError;
use super::format::HISTOGRAM_BUCKETS;
use super::format::{
    FEATURE_OFFSET_WIDTHS, FOOTER_LEN, Header, RECORD_LEN, STATS_LEN, Section, read_u32, read_u64,
    read_uint,
};
use super::postings::{Postings, list_end};
use super::stats::{RecipeStats, histogram_bucket};
use crate::features::{NameTable, RecordView};

/// Where one record lives: which dataset, and which bytes of its dump file.
///
/// A row holding several people is indexed once per person, each entry with the
/// row's bytes and its `person` (1, 2…, in the order `source::People::split`
/// gives them); `person` 0 is the whole row, as every entry of a segment written
/// before people were told apart reads. On disk the person is the top
/// [`PERSON_BITS`] bits of the dataset's `u32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordEntry {
    /// The dataset number (the caller's numbering; see the dataset table), below
    /// [`MAX_DATASETS`].
    pub dataset: u32,
    /// Which person of the row this entry is (0: the whole row).
    pub person: u8,
    /// 1-based row of the record in its dataset (rejected rows count too).
    pub row: u32,
    /// Byte offset of the record in its (decompressed) dump file.
    pub offset: u64,
    /// Length of the record in bytes.
    pub len: u32,
}

/// Bits of a record-table entry's dataset word that hold the person.
pub const PERSON_BITS: u32 = 8;

/// Datasets a segment can name: the dataset word's bits below the person's.
pub const MAX_DATASETS: u32 = 1 << (32 - PERSON_BITS);

impl RecordEntry {
    /// The entry's bytes; `None` when its dataset does not fit beside the person.
    pub(crate) fn try_encode(&self) -> Option<[u8; RECORD_LEN]> {
        if self.dataset >= MAX_DATASETS {
            return None;
        }
        let word = self.dataset | (u32::from(self.person) << (32 - PERSON_BITS));
        let mut out = [0u8; RECORD_LEN];
        out[0..4].copy_from_slice(&word.to_le_bytes());
        out[4..8].copy_from_slice(&self.row.to_le_bytes());
        out[8..16].copy_from_slice(&self.offset.to_le_bytes());
        out[16..20].copy_from_slice(&self.len.to_le_bytes());
        Some(out)
    }

    fn decode(bytes: &[u8]) -> Option<RecordEntry> {
        let word = read_u32(bytes, 0)?;
        Some(RecordEntry {
            dataset: word & (MAX_DATASETS - 1),
            person: (word >> (32 - PERSON_BITS)) as u8,
            row: read_u32(bytes, 4)?,
            offset: read_u64(bytes, 8)?,
            len: read_u32(bytes, 16)?,
        })
    }
}

enum Storage {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

impl Deref for Storage {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Storage::Mapped(map) => map,
            Storage::Owned(bytes) => bytes,
        }
    }
}

struct ScopeSlot {
    name: Range<usize>,
    bitmap: Range<usize>,
}

/// One segment file, opened for lookups.
pub struct Segment {
    storage: Storage,
    what: String,
    header: Header,
    /// Bytes per record feature offset (4 or 8).
    offset_width: usize,
    /// Scope names (validated UTF-8) and bitmap ranges, sorted by name; read at
    /// first use (the names lie between the bitmaps, a page apart in a large
    /// segment: walking them was a tenth of the page faults of a `lookup` process
    /// that never asks for a scope).
    scopes: std::sync::OnceLock<Result<Vec<ScopeSlot>, String>>,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("what", &self.what)
            .field("records", &self.header.record_count)
            .field("keys", &self.header.key_count)
            .field("postings", &self.header.posting_count)
            .finish()
    }
}

impl Segment {
    /// Memory-maps the segment at `path` and validates its header and section bounds.
    pub fn open(path: &Path) -> Result<Segment, IndexError> {
        Segment::open_as(path, path.display().to_string())
    }

    /// Like [`Segment::open`], naming the segment `what` in errors
    /// (e.g. `segment 0 of /srv/index`).
    pub fn open_as(path: &Path, what: String) -> Result<Segment, IndexError> {
        let file = File::open(path).map_err(|e| IndexError::read(what.clone(), e))?;
        let len = file
            .metadata()
            .map_err(|e| IndexError::read(what.clone(), e))?
            .len();
        let storage = if len == 0 {
            // Mapping an empty file fails on some platforms; it is damaged anyway.
            Storage::Owned(Vec::new())
        } else {
            // SAFETY: the map is read-only and every access is bounds-checked against
            // the length seen here. Segments are written once and never modified in
            // place, but if another process truncates the file while it is mapped,
            // reading the lost pages raises SIGBUS; no safe API can prevent that, and
            // an index is not something leakscope (or anyone) edits in place. The
            // command line turns the signal into a one-line error and exit 2
            // (`cli::sigbus`).
            let map = unsafe { Mmap::map(&file) }.map_err(|e| IndexError::read(what.clone(), e))?;
            Storage::Mapped(map)
        };
        Segment::new(storage, what)
    }

    /// A segment held in memory (tests, or bytes from elsewhere).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Segment, IndexError> {
        Segment::new(Storage::Owned(bytes), "segment (in memory)".to_string())
    }

    fn new(storage: Storage, what: String) -> Result<Segment, IndexError> {
        let header = Header::decode(&storage, &what)?;
        if NameTable::parse(storage.get(header.section(Section::Names)).unwrap_or(&[])).is_none() {
            return Err(IndexError::damaged(&what, "the name table is malformed"));
        }
        // The header check made the offsets section one of the widths times the
        // records (plus one).
        let offsets_len = header.section(Section::FeatureOffsets).len();
        let offset_width = FEATURE_OFFSET_WIDTHS
            .into_iter()
            .find(|&w| (header.record_count as usize + 1).checked_mul(w) == Some(offsets_len))
            .unwrap_or(8);
        Ok(Segment {
            offset_width,
            storage,
            what,
            header,
            scopes: std::sync::OnceLock::new(),
        })
    }

    fn section(&self, section: Section) -> &[u8] {
        self.storage
            .get(self.header.section(section))
            .unwrap_or(&[])
    }

    /// How errors name this segment.
    pub fn name(&self) -> &str {
        &self.what
    }

    /// The records that carry key `hash` (empty if none).
    #[inline]
    pub fn lookup(&self, hash: u64) -> Postings<'_> {
        match self.find(hash) {
            Some(value) => Postings::from_value(value, self.section(Section::Postings)),
            None => Postings::empty(),
        }
    }

    /// The records of each of `hashes`, as [`lookup`](Self::lookup) gives them, in
    /// `hashes` order, appended to `out`.
    ///
    /// A lookup is a chain of dependent reads (directory, key table, postings), each
    /// usually a cache miss in a large segment. Looking up a query's keys together
    /// lets those misses overlap: each step is requested for a batch of keys before
    /// any of them is read.
    pub fn lookup_batch<'s>(&'s self, hashes: &[u64], out: &mut Vec<Postings<'s>>) {
        const BATCH: usize = 32;
        let bytes: &[u8] = &self.storage;
        let layout = self.header.layout;
        let dir = self.header.section(Section::Directory).start;
        let keys = self.header.section(Section::Keys).start;
        let postings = self.section(Section::Postings);
        let dw = usize::from(layout.dir_width);
        let width = layout.entry_width();
        for batch in hashes.chunks(BATCH) {
            for &hash in batch {
                prefetch(bytes, dir + layout.bucket_of(hash) as usize * dw);
            }
            for &hash in batch {
                let bucket = layout.bucket_of(hash) as usize;
                let (Some(start), Some(end)) = (
                    read_uint(bytes, dir + bucket * dw, dw),
                    read_uint(bytes, dir + (bucket + 1) * dw, dw),
                ) else {
                    continue;
                };
                if start < end && end <= self.header.key_count {
                    // Where `find` probes first.
                    let n = u128::from(end - start);
                    let rank = ((u128::from(hash << layout.dir_bits) * n) >> 64) as usize;
                    prefetch(bytes, keys + (start as usize + rank) * width);
                }
            }
            let mut values = [None; BATCH];
            for (slot, &hash) in values.iter_mut().zip(batch) {
                *slot = self.find(hash);
                if let Some(value) = *slot
                    && value & 1 == 1
                {
                    prefetch(postings, usize::try_from(value >> 1).unwrap_or(usize::MAX));
                }
            }
            out.extend(values.iter().take(batch.len()).map(|value| match *value {
                Some(value) => Postings::from_value(value, postings),
                None => Postings::empty(),
            }));
        }
    }

    /// The key-table value of `hash`, if present.
    #[inline]
    fn find(&self, hash: u64) -> Option<u64> {
        // Offsets are absolute in the file: the header check put every section
        // inside it, before the footer, so reads stay in bounds and can use the
        // fast 8-byte path; `read_uint` still checks.
        let bytes: &[u8] = &self.storage;
        let layout = self.header.layout;
        let dir = self.header.section(Section::Directory).start;
        let keys = self.header.section(Section::Keys).start;
        let dw = usize::from(layout.dir_width);
        let bucket = layout.bucket_of(hash) as usize;
        let start = read_uint(bytes, dir + bucket * dw, dw)?;
        let end = read_uint(bytes, dir + (bucket + 1) * dw, dw)?;
        if start >= end || end > self.header.key_count {
            return None;
        }
        let (start, end) = (start as usize, end as usize);
        let width = layout.entry_width();
        let sw = usize::from(layout.suffix_width);
        let target = layout.suffix_of(hash);
        let suffix = |i: usize| read_uint(bytes, keys + i * width, sw).unwrap_or(u64::MAX);

        // Hashes are uniform, so a key's rank in its bucket is about the fraction
        // its bits below the bucket make: probe there first, gallop to bracket the
        // key, then bisect the bracket. Usually one or two cache lines.
        let below_bucket = hash << layout.dir_bits;
        let n = (end - start) as u128;
        let guess = start + ((u128::from(below_bucket) * n) >> 64) as usize;
        let at_guess = suffix(guess);
        let (mut lo, mut hi);
        if at_guess == target {
            return read_uint(
                bytes,
                keys + guess * width + sw,
                usize::from(layout.value_width),
            );
        } else if at_guess < target {
            (lo, hi) = (guess + 1, end);
            let mut step = 1;
            while lo + step - 1 < end {
                let probe = lo + step - 1;
                if suffix(probe) >= target {
                    hi = probe + 1;
                    break;
                }
                lo = probe + 1;
                step *= 2;
            }
        } else {
            (lo, hi) = (start, guess);
            let mut step = 1;
            while hi >= start + step {
                let probe = hi - step;
                if suffix(probe) <= target {
                    lo = probe;
                    break;
                }
                hi = probe;
                step *= 2;
            }
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if suffix(mid) < target {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo < end && suffix(lo) == target {
            read_uint(
                bytes,
                keys + lo * width + sw,
                usize::from(layout.value_width),
            )
        } else {
            None
        }
    }

    /// Where record `id` lives, or `None` if there is no such record.
    pub fn record(&self, id: u32) -> Option<RecordEntry> {
        let pos = (id as usize).checked_mul(RECORD_LEN)?;
        RecordEntry::decode(self.section(Section::Records).get(pos..pos + RECORD_LEN)?)
    }

    /// Starts loading record `id`'s entry into the cache, so that reading the
    /// entries of many candidates waits for memory once, not once per record.
    #[inline]
    pub fn prefetch_record(&self, id: u32) {
        if let Some(pos) = (id as usize).checked_mul(RECORD_LEN) {
            prefetch(self.section(Section::Records), pos);
        }
    }

    /// Maps every page of the segment into the process now (they are read from the
    /// page cache, or the disk, as needed) instead of one fault at a time as queries
    /// touch them: worth it before many queries (a bulk match, a long-lived service),
    /// not before one. Errors are only a hint's: the segment works without.
    pub fn preload(&self) -> std::io::Result<()> {
        match &self.storage {
            Storage::Owned(_) => Ok(()),
            Storage::Mapped(map) => {
                #[cfg(target_os = "linux")]
                if map.advise(memmap2::Advice::PopulateRead).is_ok() {
                    return Ok(());
                }
                // Older kernels: touch one byte of every page.
                let mut sum = 0u8;
                for page in map.chunks(4096) {
                    sum = sum.wrapping_add(page.first().copied().unwrap_or(0));
                }
                std::hint::black_box(sum);
                Ok(())
            }
        }
    }

    /// The feature bytes of record `id` ([`crate::features`]), or `None` if there is
    /// no such record or its offsets are damaged.
    pub fn features(&self, id: u32) -> Option<&[u8]> {
        let offsets = self.section(Section::FeatureOffsets);
        let w = self.offset_width;
        let pos = (id as usize).checked_mul(w)?;
        let start = usize::try_from(read_uint(offsets, pos, w)?).ok()?;
        let end = usize::try_from(read_uint(offsets, pos + w, w)?).ok()?;
        self.section(Section::Features).get(start..end)
    }

    /// Record `id`'s features, parsed; `None` if there is no such record or its
    /// features are damaged.
    pub fn record_features(&self, id: u32) -> Option<RecordView<'_>> {
        RecordView::parse(self.features(id)?)
    }

    /// Starts loading record `id`'s feature offsets into the cache.
    #[inline]
    pub fn prefetch_feature_offsets(&self, id: u32) {
        if let Some(pos) = (id as usize).checked_mul(self.offset_width) {
            prefetch(self.section(Section::FeatureOffsets), pos);
        }
    }

    /// Starts loading record `id`'s features into the cache (its offsets are read,
    /// so prefetch those first).
    #[inline]
    pub fn prefetch_features(&self, id: u32) {
        let offsets = self.section(Section::FeatureOffsets);
        let w = self.offset_width;
        let Some(start) = (id as usize)
            .checked_mul(w)
            .and_then(|pos| read_uint(offsets, pos, w))
        else {
            return;
        };
        let start = usize::try_from(start).unwrap_or(usize::MAX);
        let features = self.section(Section::Features);
        prefetch(features, start);
        prefetch(features, start.saturating_add(64));
    }

    /// The segment's name table (validated at open).
    pub fn names(&self) -> NameTable<'_> {
        NameTable::parse(self.section(Section::Names)).unwrap_or(NameTable::empty())
    }

    /// Bytes of the record features, their offsets and the name table.
    pub fn feature_bytes(&self) -> u64 {
        [Section::Features, Section::FeatureOffsets, Section::Names]
            .iter()
            .map(|s| self.section(*s).len() as u64)
            .sum()
    }

    /// Number of records; record ids are `0..record_count()`.
    pub fn record_count(&self) -> u32 {
        // The header check guarantees it fits.
        self.header.record_count as u32
    }

    /// Number of distinct keys.
    pub fn key_count(&self) -> u64 {
        self.header.key_count
    }

    /// Number of (key, record) pairs.
    pub fn posting_count(&self) -> u64 {
        self.header.posting_count
    }

    /// The scope table, read the first time it is needed.
    fn scope_table(&self) -> Result<&[ScopeSlot], &str> {
        self.scopes
            .get_or_init(|| {
                let section = self.header.section(Section::Scopes);
                parse_scopes(
                    self.storage.get(section.clone()).unwrap_or(&[]),
                    section.start,
                )
            })
            .as_deref()
            .map_err(String::as_str)
    }

    fn scope_slots(&self) -> Result<&[ScopeSlot], IndexError> {
        self.scope_table()
            .map_err(|detail| IndexError::damaged(&self.what, detail))
    }

    /// The scope bitmap called `name`, `Ok(None)` if there is no such scope.
    pub fn scope(&self, name: &str) -> Result<Option<RoaringBitmap>, IndexError> {
        let slots = self.scope_slots()?;
        let found = slots.binary_search_by(|slot| {
            self.storage
                .get(slot.name.clone())
                .unwrap_or(&[])
                .cmp(name.as_bytes())
        });
        let Ok(i) = found else {
            return Ok(None);
        };
        let range = slots.get(i).map(|s| s.bitmap.clone()).unwrap_or(0..0);
        let bytes = self.storage.get(range).unwrap_or(&[]);
        RoaringBitmap::deserialize_from(bytes)
            .map(Some)
            .map_err(|e| {
                IndexError::damaged(&self.what, format!("scope {name:?} does not decode ({e})"))
            })
    }

    /// The names of all scopes, sorted.
    pub fn scope_names(&self) -> Result<Vec<&str>, IndexError> {
        Ok(self
            .scope_slots()?
            .iter()
            .filter_map(|s| std::str::from_utf8(self.storage.get(s.name.clone())?).ok())
            .collect())
    }

    /// Bytes of the key directory, key table and postings: what
    /// "bytes per posting" counts.
    pub fn key_and_posting_bytes(&self) -> u64 {
        [Section::Directory, Section::Keys, Section::Postings]
            .iter()
            .map(|s| self.section(*s).len() as u64)
            .sum()
    }

    /// Per-recipe statistics, by recipe id.
    pub fn recipe_stats(&self) -> Vec<RecipeStats> {
        self.section(Section::Stats)
            .chunks_exact(STATS_LEN)
            .filter_map(RecipeStats::decode)
            .collect()
    }

    /// The dataset table, exactly as the writer was given it.
    pub fn datasets_bytes(&self) -> &[u8] {
        self.section(Section::Datasets)
    }

    /// Size of the segment file.
    pub fn size_bytes(&self) -> u64 {
        self.storage.len() as u64
    }

    /// The footer checksum (as stored; [`Segment::verify`] checks it).
    pub fn checksum(&self) -> u64 {
        let footer = self.storage.len() - FOOTER_LEN;
        read_u64(&self.storage, footer).unwrap_or(0)
    }

    /// Reads the whole file: checks the checksum, then that every structure decodes
    /// and agrees with the header. Costs a pass over the file.
    pub fn verify(&self) -> Result<(), IndexError> {
        let bytes: &[u8] = &self.storage;
        let footer = bytes.len() - FOOTER_LEN;
        let computed = xxh3_64(bytes.get(..footer).unwrap_or(&[]));
        if computed != self.checksum() {
            return Err(IndexError::damaged(&self.what, "checksum mismatch"));
        }
        self.check_structure()
            .map_err(|detail| IndexError::damaged(&self.what, detail))
    }

    fn check_structure(&self) -> Result<(), String> {
        let layout = self.header.layout;
        let dir = self.section(Section::Directory);
        let keys = self.section(Section::Keys);
        let postings = self.section(Section::Postings);
        let dw = usize::from(layout.dir_width);
        let width = layout.entry_width();
        let sw = usize::from(layout.suffix_width);
        let vw = usize::from(layout.value_width);
        let records = self.header.record_count;

        let mut next_key = 0u64;
        let mut postings_seen = 0u64;
        let mut postings_end = 0usize;
        let mut largest = 0u64;
        let mut histogram = [0u64; HISTOGRAM_BUCKETS];
        let buckets = layout.buckets();
        let mut start = read_uint(dir, 0, dw).ok_or("the key directory is unreadable")?;
        if start != 0 {
            return Err("the key directory does not start at the first key".into());
        }
        for bucket in 0..buckets {
            let end = read_uint(dir, (bucket as usize + 1) * dw, dw)
                .ok_or("the key directory is unreadable")?;
            if end < start || end > self.header.key_count {
                return Err("the key directory is out of order".into());
            }
            let mut prev_suffix: Option<u64> = None;
            for i in start as usize..end as usize {
                let suffix = read_uint(keys, i * width, sw).ok_or("the key table is unreadable")?;
                // Where suffix and bucket overlap, their shared bits must agree.
                let overlap = sw as u32 * 8 + u32::from(layout.dir_bits) - 64;
                let hash_bits_ok = overlap == 0
                    || suffix >> (64 - u32::from(layout.dir_bits))
                        == bucket & ((1u64 << overlap) - 1);
                if !hash_bits_ok {
                    return Err("a key is filed under the wrong directory bucket".into());
                }
                if prev_suffix.is_some_and(|p| p >= suffix) {
                    return Err("the key table is not sorted".into());
                }
                prev_suffix = Some(suffix);
                let value =
                    read_uint(keys, i * width + sw, vw).ok_or("the key table is unreadable")?;
                let list = Postings::from_value(value, postings);
                if list.is_empty() {
                    return Err("a key has no readable postings".into());
                }
                if value & 1 == 1 {
                    let offset = (value >> 1) as usize;
                    if offset != postings_end {
                        return Err("posting lists are not laid out in key order".into());
                    }
                    postings_end =
                        list_end(postings, offset).ok_or("a posting list runs past its section")?;
                }
                list.check(records)?;
                let len = list.len() as u64;
                postings_seen += len;
                largest = largest.max(len);
                if let Some(slot) = histogram.get_mut(histogram_bucket(len)) {
                    *slot += 1;
                }
                next_key += 1;
            }
            start = end;
        }
        if next_key != self.header.key_count {
            return Err("the key directory does not cover every key".into());
        }
        if postings_end != postings.len() {
            return Err("the postings section has trailing bytes".into());
        }
        if postings_seen != self.header.posting_count {
            return Err(format!(
                "the key table holds {postings_seen} postings, the header says {}",
                self.header.posting_count
            ));
        }

        let reserved_clear = self.storage.get(44..48) == Some(&[0; 4])
            && self.storage.get(52..56) == Some(&[0; 4])
            && self
                .section(Section::Stats)
                .chunks_exact(STATS_LEN)
                .all(|entry| entry.get(1..8) == Some(&[0; 7]));
        if !reserved_clear {
            return Err("reserved bytes are not zero".into());
        }

        let stats = self.recipe_stats();
        let (keys_total, postings_total) = stats.iter().fold((0u64, 0u64), |(k, p), s| {
            (k.saturating_add(s.keys), p.saturating_add(s.postings))
        });
        if keys_total != self.header.key_count || postings_total != self.header.posting_count {
            return Err("the recipe statistics do not add up to the header's counts".into());
        }
        if stats.windows(2).any(|w| w[0].recipe >= w[1].recipe) {
            return Err("the recipe statistics are not in recipe order".into());
        }
        let mut stats_histogram = [0u64; HISTOGRAM_BUCKETS];
        for s in &stats {
            for (total, n) in stats_histogram.iter_mut().zip(s.histogram) {
                // Damaged counts may be anything: no overflow.
                *total = total.saturating_add(n);
            }
        }
        let stats_largest = stats.iter().map(|s| s.largest).max().unwrap_or(0);
        let self_consistent = stats.iter().all(|s| {
            s.histogram.iter().fold(0u64, |a, n| a.saturating_add(*n)) == s.keys
                && s.largest <= s.postings
        });
        if stats_histogram != histogram || stats_largest != largest || !self_consistent {
            return Err("the recipe statistics do not match the posting lists".into());
        }

        self.scope_table().map_err(str::to_string)?;
        for name in self.scope_names().map_err(|e| e.to_string())? {
            let bitmap = self
                .scope(name)
                .map_err(|e| e.to_string())?
                .unwrap_or_default();
            if bitmap.max().is_some_and(|m| u64::from(m) >= records) {
                return Err(format!("scope {name:?} names a record that does not exist"));
            }
        }
        self.check_features()
    }

    /// Every record's features are in order, inside their section, and parse.
    fn check_features(&self) -> Result<(), String> {
        let offsets = self.section(Section::FeatureOffsets);
        let features_len = self.section(Section::Features).len() as u64;
        let mut prev = 0u64;
        for (i, entry) in offsets.chunks_exact(self.offset_width).enumerate() {
            let at = read_uint(entry, 0, self.offset_width)
                .ok_or("the feature offsets are unreadable")?;
            if (i == 0 && at != 0) || at < prev || at > features_len {
                return Err("the record feature offsets are out of order".into());
            }
            prev = at;
        }
        if prev != features_len {
            return Err("the record features section has trailing bytes".into());
        }
        for id in 0..self.record_count() {
            if self.record_features(id).is_none() {
                return Err(format!("the features of record {id} do not decode"));
            }
        }
        let names = self.names();
        let mut last = 0u64;
        for i in 0..names.len() {
            let Some(hash) = names.hash_at(i) else {
                return Err("the name table is unreadable".into());
            };
            if i > 0 && hash <= last {
                return Err("the name table is not sorted".into());
            }
            if names.get(hash).is_none() {
                return Err("a name is filed under the wrong directory bucket".into());
            }
            last = hash;
        }
        Ok(())
    }
}

/// Parses the scope section: count u32, then per scope name length u32, name,
/// bitmap length u64, bitmap. `base` is the section's offset in the file.
fn parse_scopes(bytes: &[u8], base: usize) -> Result<Vec<ScopeSlot>, String> {
    let bad = || "the scope table is malformed".to_string();
    let count = read_u32(bytes, 0).ok_or_else(bad)?;
    let mut pos = 4usize;
    // Each scope takes at least 12 bytes, which bounds the allocation.
    if count as usize > bytes.len() / 12 {
        return Err(bad());
    }
    let mut slots = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let name_len = read_u32(bytes, pos).ok_or_else(bad)? as usize;
        let name = pos + 4..(pos + 4).checked_add(name_len).ok_or_else(bad)?;
        let name_bytes = bytes.get(name.clone()).ok_or_else(bad)?;
        std::str::from_utf8(name_bytes).map_err(|_| bad())?;
        let bitmap_len = read_u64(bytes, name.end).ok_or_else(bad)?;
        let bitmap_start = name.end + 8;
        let bitmap_end = usize::try_from(bitmap_len)
            .ok()
            .and_then(|l| bitmap_start.checked_add(l))
            .filter(|&end| end <= bytes.len())
            .ok_or_else(bad)?;
        if let Some(prev) = slots
            .last()
            .and_then(|p: &ScopeSlot| bytes.get(p.name.clone()))
            && prev >= name_bytes
        {
            return Err("the scope table is not sorted".into());
        }
        slots.push(ScopeSlot {
            name,
            bitmap: bitmap_start..bitmap_end,
        });
        pos = bitmap_end;
    }
    if pos != bytes.len() {
        return Err(bad());
    }
    // Stored relative to the file, so accessors slice the whole map.
    for slot in &mut slots {
        slot.name = base + slot.name.start..base + slot.name.end;
        slot.bitmap = base + slot.bitmap.start..base + slot.bitmap.end;
    }
    Ok(slots)
}

use crate::features::prefetch;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::SegmentWriter;

    #[test]
    fn record_entries_keep_the_person_in_the_top_bits_of_the_dataset() {
        let entry = |dataset, person| RecordEntry {
            dataset,
            person,
            row: 7,
            offset: 1 << 40,
            len: 99,
        };
        for (dataset, person) in [(0, 0), (5, 1), (MAX_DATASETS - 1, 255), (3, 2)] {
            let e = entry(dataset, person);
            let bytes = e.try_encode().expect("fits");
            assert_eq!(RecordEntry::decode(&bytes), Some(e));
        }
        // An entry written before people were told apart (a plain dataset word)
        // is the whole row, person 0.
        let mut old = [0u8; RECORD_LEN];
        old[0..4].copy_from_slice(&41u32.to_le_bytes());
        old[4..8].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(
            RecordEntry::decode(&old).map(|e| (e.dataset, e.person, e.row)),
            Some((41, 0, 3))
        );
        // A dataset that does not fit beside the person is refused, not misread.
        assert_eq!(entry(MAX_DATASETS, 0).try_encode(), None);
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = SegmentWriter::new(dir.path(), 1 << 20, 4).expect("writer");
        let err = w.add_person(MAX_DATASETS, 1, 1, 0, 1).map(|_| ());
        assert!(matches!(err, Err(IndexError::InvalidInput(_))), "{err:?}");
        assert_eq!(w.add_person(2, 3, 1, 0, 1).ok(), Some(0));
        assert_eq!(w.add_record(2, 2, 5, 1).ok(), Some(1));
        let path = dir.path().join("p.seg");
        w.finish(&path).expect("finish");
        let segment = Segment::open(&path).expect("open");
        let got = |id| segment.record(id).map(|e| (e.dataset, e.person, e.row));
        assert_eq!((got(0), got(1)), (Some((2, 3, 1)), Some((2, 0, 2))));
    }

    #[test]
    fn a_damaged_scope_table_is_refused_when_first_used() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        };
        let built = (|| -> Result<Vec<u8>, IndexError> {
            let mut w = SegmentWriter::new(dir.path(), 1 << 20, 4)?;
            for r in 0..10u32 {
                w.add_record(0, u64::from(r) + 1, u64::from(r) * 10, 10)?;
            }
            w.add_keys(&[(7, 1u8, 3)])?;
            w.set_scope("dataset:a.csv", (0..10).collect());
            w.set_scope("year:2010", (2..5).collect());
            let path = dir.path().join("s.seg");
            w.finish(&path)?;
            std::fs::read(&path).map_err(|e| IndexError::read(String::from("s.seg"), e))
        })();
        let mut bytes = match built {
            Ok(b) => b,
            Err(e) => panic!("segment: {e}"),
        };
        let good = match Segment::from_bytes(bytes.clone()) {
            Ok(s) => s,
            Err(e) => panic!("open: {e}"),
        };
        assert_eq!(
            good.scope_names().ok(),
            Some(vec!["dataset:a.csv", "year:2010"])
        );
        let at = good.header.section(Section::Scopes).start;
        // A scope count far beyond what the section holds, behind a valid checksum.
        bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let footer = bytes.len() - FOOTER_LEN;
        let sum = xxh3_64(&bytes[..footer]);
        bytes[footer..footer + 8].copy_from_slice(&sum.to_le_bytes());
        // Opening reads the header only; the first use of the scopes refuses them.
        let damaged = match Segment::from_bytes(bytes) {
            Ok(s) => s,
            Err(e) => panic!("open: {e}"),
        };
        assert_eq!(damaged.lookup(7).iter().collect::<Vec<_>>(), vec![3]);
        for err in [
            damaged.scope_names().err(),
            damaged.scope("year:2010").err(),
            damaged.verify().err(),
        ] {
            let msg = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(
                msg.contains("is damaged: the scope table is malformed"),
                "{msg}"
            );
        }
    }

    #[test]
    fn batch_lookup_equals_single_lookups() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        };
        let built = (|| -> Result<Segment, IndexError> {
            let mut w = SegmentWriter::new(dir.path(), 1 << 20, 4)?;
            for r in 0..500u32 {
                w.add_record(0, u64::from(r) + 1, u64::from(r) * 10, 10)?;
            }
            // Keys with one, a few and many records.
            let mut keys = Vec::new();
            for r in 0..500u32 {
                let spread = u64::from(r).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                keys.push((spread, 1u8, r));
                keys.push((u64::from(r % 7) << 60 | 5, 1u8, r));
            }
            keys.sort_unstable();
            w.add_keys(&keys)?;
            let path = dir.path().join("b.seg");
            w.finish(&path)?;
            Segment::open(&path)
        })();
        let segment = match built {
            Ok(s) => s,
            Err(e) => panic!("segment: {e}"),
        };
        // More than one batch, present and absent keys, a repeat.
        let mut hashes: Vec<u64> = (0..70u64)
            .map(|r| r.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        hashes.extend((0..8u64).map(|m| m << 60 | 5));
        hashes.extend([1, 2, 3, hashes[3]]);
        let mut out = vec![Postings::empty()];
        segment.lookup_batch(&hashes, &mut out);
        assert_eq!(out.len(), hashes.len() + 1);
        let mut nonempty = 0;
        for (got, &hash) in out.iter().skip(1).zip(&hashes) {
            let want: Vec<u32> = segment.lookup(hash).iter().collect();
            assert_eq!(got.iter().collect::<Vec<_>>(), want);
            nonempty += usize::from(!want.is_empty());
        }
        assert_eq!(nonempty, 70 + 7 + 1);
    }
}
