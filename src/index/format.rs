//! The byte layout of a segment file, shared by the writer and the reader.
//!
//! ```text
//! header   magic "LKSCSEG1", version u32, header length u32,
//!          record count u64, key count u64, posting count u64,
//!          directory bits u8, key suffix width u8, value width u8, directory width u8,
//!          4 reserved bytes, section count u32, 4 reserved bytes,
//!          section table: (offset u64, length u64) for each `Section`, in enum order
//! sections (any order, non-overlapping, between header and footer): key directory,
//!          key table, postings, record table, dataset table, scopes, recipe
//!          statistics, record features, record feature offsets, name table
//! footer   xxh3-64 of every byte before the footer (u64), version u32, magic
//! ```
//!
//! All integers are little-endian and read with `from_le_bytes` from byte slices, so
//! the file needs no alignment.
//!
//! Key table: keys sorted by hash. The top `directory bits` of a hash select a
//! directory bucket; the directory holds, for each bucket, the index of its first key
//! (plus one final entry: the key count). Each key entry stores only the low
//! `suffix width` bytes of its hash (the bucket supplies the rest) and a `value width`
//! value: an even value is `record id << 1` (the only posting, inline); an odd value
//! is `offset << 1 | 1` into the postings section, where a varint count is followed
//! either by delta-coded varints (count ≤ [`SHORT_MAX`]) or by a varint byte length
//! and a portable roaring bitmap.
//!
//! Record table: one 20-byte entry per record (`dataset`, `row`, `offset`, `len`),
//! the dataset's top 8 bits the person of a row holding several (1, 2…; 0 for the
//! whole row, as every entry of an older segment reads): see
//! [`super::segment::RecordEntry`].
//!
//! Record features ([`crate::features`]): each record's feature bytes, back to back
//! in record order; the offsets section holds `records + 1` offsets into them
//! (record `i` is `offsets[i]..offsets[i + 1]`), u32 while the features fit in
//! 4 GiB and u64 beyond (the section's length tells which). The name table is
//! [`crate::features::NameTable`]'s layout.
//!
//! Version 2 added the three feature sections; version 1 segments are refused with
//! a request to rebuild.

use std::ops::Range;

use super::error::IndexError;

/// The first eight bytes of every segment (and the last eight).
pub const MAGIC: [u8; 8] = *b"LKSCSEG1";
/// The segment format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;
/// Longest posting list stored as delta varints; longer ones are roaring bitmaps.
pub const SHORT_MAX: usize = 64;

pub(crate) const SECTION_COUNT: usize = 10;
const HEADER_FIXED: usize = 56;
pub(crate) const HEADER_LEN: usize = HEADER_FIXED + SECTION_COUNT * 16;
pub(crate) const FOOTER_LEN: usize = 8 + 4 + 8;
/// Bytes per entry of the record feature offsets (one per record plus the end):
/// 4 while the features fit in 4 GiB, else 8. A reader tells which from the
/// section's length.
pub(crate) const FEATURE_OFFSET_WIDTHS: [usize; 2] = [4, 8];

/// The offset width of a segment whose features are `features_len` bytes long.
pub(crate) fn feature_offset_width(features_len: u64) -> usize {
    if features_len <= u64::from(u32::MAX) {
        4
    } else {
        8
    }
}
/// Bytes per record-table entry: dataset u32 (its top 8 bits the person of a row
/// holding several, 0 for the whole row), row u32, offset u64, length u32.
pub(crate) const RECORD_LEN: usize = 20;
/// Posting-list length histogram: bucket `i` counts lists of length `2^i ..= 2^(i+1)-1`.
pub const HISTOGRAM_BUCKETS: usize = 33;
/// Bytes per statistics entry: recipe u8 + 7 reserved, keys, postings, largest, histogram.
pub(crate) const STATS_LEN: usize = 8 + 3 * 8 + HISTOGRAM_BUCKETS * 8;

/// The sections of a segment, in section-table order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Section {
    Directory = 0,
    Keys = 1,
    Postings = 2,
    Records = 3,
    Datasets = 4,
    Scopes = 5,
    Stats = 6,
    Features = 7,
    FeatureOffsets = 8,
    Names = 9,
}

impl Section {
    pub(crate) const ALL: [Section; SECTION_COUNT] = [
        Section::Directory,
        Section::Keys,
        Section::Postings,
        Section::Records,
        Section::Datasets,
        Section::Scopes,
        Section::Stats,
        Section::Features,
        Section::FeatureOffsets,
        Section::Names,
    ];

    fn name(self) -> &'static str {
        match self {
            Section::Directory => "key directory",
            Section::Keys => "key table",
            Section::Postings => "postings",
            Section::Records => "record table",
            Section::Datasets => "dataset table",
            Section::Scopes => "scopes",
            Section::Stats => "recipe statistics",
            Section::Features => "record features",
            Section::FeatureOffsets => "record feature offsets",
            Section::Names => "name table",
        }
    }
}

/// How keys are packed: chosen by the writer from the counts, read back from the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyLayout {
    /// Number of top hash bits that select a directory bucket (0..=32).
    pub dir_bits: u8,
    /// Bytes of each key's stored hash suffix (1..=8); suffix and bucket cover 64 bits.
    pub suffix_width: u8,
    /// Bytes of each key's value (1..=8).
    pub value_width: u8,
    /// Bytes of each directory entry (4 or 8).
    pub dir_width: u8,
}

impl KeyLayout {
    /// Picks the smallest key table for `keys` keys whose values fit in `max_value`,
    /// keeping buckets small (about 2 to 32 keys) so a lookup scans little.
    pub(crate) fn choose(keys: u64, max_value: u64) -> KeyLayout {
        let dir_width: u8 = if keys <= u64::from(u32::MAX) { 4 } else { 8 };
        let value_width = width_for(max_value);
        let dir_bits = if keys < 2 {
            0
        } else {
            let log2 = 63 - keys.leading_zeros();
            let lowest = log2.saturating_sub(4);
            let highest = log2.saturating_sub(1).min(32);
            let cost = |bits: u32| -> u128 {
                let suffix = u128::from(suffix_width_for(bits));
                let dir = ((1u128 << bits) + 1) * u128::from(dir_width);
                u128::from(keys) * suffix + dir
            };
            // Ties go to the larger directory: same size, shorter scans.
            (lowest..=highest)
                .rev()
                .min_by_key(|&bits| cost(bits))
                .unwrap_or(0)
        };
        KeyLayout {
            dir_bits: dir_bits as u8,
            suffix_width: suffix_width_for(dir_bits),
            value_width: value_width as u8,
            dir_width,
        }
    }

    pub(crate) fn entry_width(self) -> usize {
        usize::from(self.suffix_width) + usize::from(self.value_width)
    }

    pub(crate) fn buckets(self) -> u64 {
        1u64 << self.dir_bits
    }

    pub(crate) fn bucket_of(self, hash: u64) -> u64 {
        if self.dir_bits == 0 {
            0
        } else {
            hash >> (64 - u32::from(self.dir_bits))
        }
    }

    pub(crate) fn suffix_of(self, hash: u64) -> u64 {
        if self.suffix_width >= 8 {
            hash
        } else {
            hash & ((1u64 << (8 * u32::from(self.suffix_width))) - 1)
        }
    }
}

fn suffix_width_for(dir_bits: u32) -> u8 {
    (64 - dir_bits).div_ceil(8).max(1) as u8
}

/// The decoded, validated header of a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub record_count: u64,
    pub key_count: u64,
    pub posting_count: u64,
    pub layout: KeyLayout,
    pub sections: [Range<usize>; SECTION_COUNT],
}

impl Header {
    pub(crate) fn section(&self, section: Section) -> Range<usize> {
        self.sections[section as usize].clone()
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(HEADER_LEN as u32).to_le_bytes());
        out.extend_from_slice(&self.record_count.to_le_bytes());
        out.extend_from_slice(&self.key_count.to_le_bytes());
        out.extend_from_slice(&self.posting_count.to_le_bytes());
        out.extend_from_slice(&[
            self.layout.dir_bits,
            self.layout.suffix_width,
            self.layout.value_width,
            self.layout.dir_width,
            0,
            0,
            0,
            0,
        ]);
        out.extend_from_slice(&(SECTION_COUNT as u32).to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        for range in &self.sections {
            out.extend_from_slice(&(range.start as u64).to_le_bytes());
            out.extend_from_slice(&(range.len() as u64).to_le_bytes());
        }
        out
    }

    /// Reads and validates the header and footer frame of `bytes`, a whole segment
    /// file: magic, version, widths, section bounds and the counts the section
    /// lengths imply. Touches nothing else.
    pub(crate) fn decode(bytes: &[u8], what: &str) -> Result<Header, IndexError> {
        let damaged = |detail: String| IndexError::damaged(what, detail);
        if bytes.is_empty() {
            return Err(damaged("the file is empty".into()));
        }
        let magic_len = bytes.len().min(MAGIC.len());
        if bytes.get(..magic_len) != MAGIC.get(..magic_len) {
            return Err(IndexError::NotASegment {
                what: what.to_string(),
            });
        }
        if bytes.len() < HEADER_LEN + FOOTER_LEN {
            if let Some(version) = read_u32(bytes, 8)
                && version > FORMAT_VERSION
            {
                return Err(newer(what, version));
            }
            return Err(damaged(format!(
                "truncated: {} bytes, shorter than any segment",
                bytes.len()
            )));
        }
        let version = read_u32(bytes, 8).unwrap_or(0);
        if version > FORMAT_VERSION {
            return Err(newer(what, version));
        }
        if version == 1 {
            return Err(IndexError::OlderVersion {
                what: what.to_string(),
                found: version,
            });
        }
        if version != FORMAT_VERSION {
            return Err(damaged(format!("impossible format version {version}")));
        }
        let footer = bytes.len() - FOOTER_LEN;
        if bytes.get(footer + 12..) != Some(&MAGIC[..])
            || read_u32(bytes, footer + 8) != Some(FORMAT_VERSION)
        {
            return Err(damaged(
                "the footer is missing: the file was truncated or overwritten".into(),
            ));
        }
        let header_len = read_u32(bytes, 12).unwrap_or(0);
        if header_len as usize != HEADER_LEN {
            return Err(damaged(format!("unexpected header length {header_len}")));
        }
        let field = |pos: usize| read_u64(bytes, pos).unwrap_or(0);
        let record_count = field(16);
        let key_count = field(24);
        let posting_count = field(32);
        let layout = KeyLayout {
            dir_bits: bytes.get(40).copied().unwrap_or(u8::MAX),
            suffix_width: bytes.get(41).copied().unwrap_or(0),
            value_width: bytes.get(42).copied().unwrap_or(0),
            dir_width: bytes.get(43).copied().unwrap_or(0),
        };
        if layout.dir_bits > 32
            || !(1..=8).contains(&layout.suffix_width)
            || u32::from(layout.suffix_width) * 8 + u32::from(layout.dir_bits) < 64
            || !(1..=8).contains(&layout.value_width)
            || !matches!(layout.dir_width, 4 | 8)
        {
            return Err(damaged(format!("impossible key layout {layout:?}")));
        }
        if read_u32(bytes, 48) != Some(SECTION_COUNT as u32) {
            return Err(damaged("unexpected number of sections".into()));
        }
        if record_count > u64::from(u32::MAX) {
            return Err(damaged(format!("impossible record count {record_count}")));
        }
        if posting_count < key_count {
            return Err(damaged(format!(
                "{key_count} keys but only {posting_count} postings"
            )));
        }

        let mut sections: [Range<usize>; SECTION_COUNT] = Default::default();
        for (i, section) in Section::ALL.iter().enumerate() {
            let pos = HEADER_FIXED + i * 16;
            let start = field(pos);
            let len = field(pos + 8);
            let end = start.checked_add(len);
            match end {
                Some(end) if start >= HEADER_LEN as u64 && end <= footer as u64 => {
                    // Both fit in usize: they are at most the slice length.
                    sections[i] = start as usize..end as usize;
                }
                _ => {
                    return Err(damaged(format!(
                        "the {} section ({start}+{len}) lies outside the file",
                        section.name()
                    )));
                }
            }
        }
        let mut by_start: Vec<&Range<usize>> = sections.iter().collect();
        by_start.sort_by_key(|r| (r.start, r.end));
        if by_start.windows(2).any(|w| w[0].end > w[1].start) {
            return Err(damaged("sections overlap".into()));
        }

        let expect = |section: Section, len: Option<u64>| -> Result<(), IndexError> {
            let actual = sections[section as usize].len() as u64;
            if len == Some(actual) {
                Ok(())
            } else {
                Err(IndexError::damaged(
                    what,
                    format!(
                        "the {} section is {actual} bytes, which does not fit the counts in the header",
                        section.name()
                    ),
                ))
            }
        };
        expect(
            Section::Directory,
            (layout.buckets() + 1).checked_mul(u64::from(layout.dir_width)),
        )?;
        expect(
            Section::Keys,
            key_count.checked_mul(layout.entry_width() as u64),
        )?;
        expect(
            Section::Records,
            record_count.checked_mul(RECORD_LEN as u64),
        )?;
        let offsets_len = sections[Section::FeatureOffsets as usize].len() as u64;
        let fits = FEATURE_OFFSET_WIDTHS
            .iter()
            .any(|&w| (record_count + 1).checked_mul(w as u64) == Some(offsets_len));
        if !fits {
            return Err(damaged(format!(
                "the record feature offsets section is {offsets_len} bytes, which does not fit the counts in the header"
            )));
        }
        if !sections[Section::Stats as usize]
            .len()
            .is_multiple_of(STATS_LEN)
        {
            return Err(damaged(
                "the recipe statistics section has a partial entry".into(),
            ));
        }
        Ok(Header {
            record_count,
            key_count,
            posting_count,
            layout,
            sections,
        })
    }
}

fn newer(what: &str, found: u32) -> IndexError {
    IndexError::NewerVersion {
        what: what.to_string(),
        found,
        supported: FORMAT_VERSION,
    }
}

/// Bytes needed to hold `value` (at least one).
pub(crate) fn width_for(value: u64) -> usize {
    (((64 - value.leading_zeros()) as usize).div_ceil(8)).max(1)
}

pub(crate) fn read_u32(bytes: &[u8], pos: usize) -> Option<u32> {
    let b = bytes.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

pub(crate) fn read_u64(bytes: &[u8], pos: usize) -> Option<u64> {
    let b = bytes.get(pos..pos.checked_add(8)?)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

/// Reads a `width`-byte (1..=8) little-endian unsigned integer.
#[inline]
pub(crate) fn read_uint(bytes: &[u8], pos: usize, width: usize) -> Option<u64> {
    let width = width.clamp(1, 8);
    let end = pos.checked_add(width)?;
    if end > bytes.len() {
        return None;
    }
    // Fast path: one unaligned 8-byte load, masked (no variable-length copy).
    if let Some(wide) = pos.checked_add(8).and_then(|e| bytes.get(pos..e)) {
        let value = u64::from_le_bytes(wide.try_into().ok()?);
        return Some(if width == 8 {
            value
        } else {
            value & ((1u64 << (8 * width)) - 1)
        });
    }
    let mut buf = [0u8; 8];
    buf.get_mut(..width)?.copy_from_slice(bytes.get(pos..end)?);
    Some(u64::from_le_bytes(buf))
}

/// Appends the low `width` bytes of `value`, little-endian.
pub(crate) fn put_uint(out: &mut Vec<u8>, value: u64, width: usize) {
    let bytes = value.to_le_bytes();
    out.extend_from_slice(&bytes[..width.min(8)]);
}

/// Appends `value` as an LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads an LEB128 varint at `*pos`, advancing it; `None` if truncated or over 64 bits.
#[inline]
pub(crate) fn get_varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*pos)?;
        *pos += 1;
        let low = u64::from(byte & 0x7f);
        if shift == 63 && low > 1 {
            return None;
        }
        value |= low << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn layout_for_no_keys_is_a_single_bucket() {
        let layout = KeyLayout::choose(0, 0);
        assert_eq!(layout.dir_bits, 0);
        assert_eq!(layout.suffix_width, 8);
        assert_eq!(layout.bucket_of(u64::MAX), 0);
    }

    #[test]
    fn layout_for_a_hundred_million_keys_stores_five_byte_suffixes() {
        let layout = KeyLayout::choose(100_000_000, 1 << 30);
        assert_eq!(layout.dir_bits, 24);
        assert_eq!(layout.suffix_width, 5);
        assert_eq!(layout.value_width, 4);
        assert_eq!(layout.dir_width, 4);
    }

    #[test]
    fn bucket_and_suffix_recover_the_hash() {
        for keys in [1u64, 2, 1000, 1 << 20, 1 << 40] {
            let layout = KeyLayout::choose(keys, 5);
            let hash = 0xdead_beef_0123_4567u64;
            let bucket = layout.bucket_of(hash);
            let suffix = layout.suffix_of(hash);
            let rebuilt = if layout.dir_bits == 0 {
                suffix
            } else {
                (bucket << (64 - u32::from(layout.dir_bits))) | suffix
            };
            assert_eq!(rebuilt, hash, "keys={keys} layout={layout:?}");
        }
    }

    #[test]
    fn widths() {
        assert_eq!(width_for(0), 1);
        assert_eq!(width_for(255), 1);
        assert_eq!(width_for(256), 2);
        assert_eq!(width_for(u64::MAX), 8);
    }

    #[test]
    fn varint_rejects_overlong_input() {
        let bytes = [0xffu8; 11];
        assert_eq!(get_varint(&bytes, &mut 0), None);
        let mut pos = 0;
        assert_eq!(get_varint(&[0x80, 0x80], &mut pos), None);
    }

    proptest! {
        #[test]
        fn varint_round_trips(values in proptest::collection::vec(any::<u64>(), 0..50)) {
            let mut out = Vec::new();
            for &v in &values {
                put_varint(&mut out, v);
            }
            let mut pos = 0;
            for &v in &values {
                prop_assert_eq!(get_varint(&out, &mut pos), Some(v));
            }
            prop_assert_eq!(pos, out.len());
        }

        #[test]
        fn varint_never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut pos = 0;
            while get_varint(&bytes, &mut pos).is_some() {}
            prop_assert!(pos <= bytes.len());
        }

        #[test]
        fn uint_round_trips(value in any::<u64>(), pad in 0usize..10) {
            let width = width_for(value);
            let mut out = Vec::new();
            put_uint(&mut out, value, width);
            // With and without bytes after it (fast and slow paths).
            out.extend(std::iter::repeat_n(0xAB, pad));
            prop_assert_eq!(read_uint(&out, 0, width), Some(value));
            prop_assert_eq!(read_uint(&out, out.len() + 1 - width, width + 1), None);
        }

        #[test]
        fn header_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Header::decode(&bytes, "test");
        }
    }
}
