//! Statistics a segment keeps about itself: per key recipe, how many keys and
//! postings, and how long the posting lists are. They size the index for
//! `leakscope inspect` and tell matching how common a value is.

use super::format::{HISTOGRAM_BUCKETS, STATS_LEN, read_u64};

/// Statistics of one key recipe within a segment.
///
/// The recipe is an opaque id chosen by the caller (see `keys`); names are the
/// caller's to attach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipeStats {
    /// The key recipe id.
    pub recipe: u8,
    /// Distinct keys of this recipe.
    pub keys: u64,
    /// (key, record) pairs of this recipe.
    pub postings: u64,
    /// The longest posting list of this recipe.
    pub largest: u64,
    /// `histogram[i]` counts keys whose posting list has `2^i ..= 2^(i+1) - 1` records.
    pub histogram: [u64; HISTOGRAM_BUCKETS],
}

impl RecipeStats {
    /// Empty statistics for `recipe`.
    pub fn new(recipe: u8) -> RecipeStats {
        RecipeStats {
            recipe,
            keys: 0,
            postings: 0,
            largest: 0,
            histogram: [0; HISTOGRAM_BUCKETS],
        }
    }

    /// Counts one key whose posting list has `len` (≥ 1) records.
    pub fn add_key(&mut self, len: u64) {
        self.keys += 1;
        self.postings += len;
        self.largest = self.largest.max(len);
        if let Some(slot) = self.histogram.get_mut(histogram_bucket(len)) {
            *slot += 1;
        }
    }

    /// Adds `other`'s counts into `self` (same recipe assumed).
    pub fn merge(&mut self, other: &RecipeStats) {
        self.keys += other.keys;
        self.postings += other.postings;
        self.largest = self.largest.max(other.largest);
        for (a, b) in self.histogram.iter_mut().zip(other.histogram.iter()) {
            *a += b;
        }
    }

    /// Mean posting-list length, or 0 for a recipe with no keys.
    pub fn mean_postings(&self) -> f64 {
        if self.keys == 0 {
            0.0
        } else {
            self.postings as f64 / self.keys as f64
        }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.recipe);
        out.extend_from_slice(&[0; 7]);
        out.extend_from_slice(&self.keys.to_le_bytes());
        out.extend_from_slice(&self.postings.to_le_bytes());
        out.extend_from_slice(&self.largest.to_le_bytes());
        for count in &self.histogram {
            out.extend_from_slice(&count.to_le_bytes());
        }
    }

    /// Decodes one `STATS_LEN`-byte entry; `None` if `bytes` is too short.
    pub(crate) fn decode(bytes: &[u8]) -> Option<RecipeStats> {
        if bytes.len() < STATS_LEN {
            return None;
        }
        let mut stats = RecipeStats::new(*bytes.first()?);
        stats.keys = read_u64(bytes, 8)?;
        stats.postings = read_u64(bytes, 16)?;
        stats.largest = read_u64(bytes, 24)?;
        for (i, slot) in stats.histogram.iter_mut().enumerate() {
            *slot = read_u64(bytes, 32 + i * 8)?;
        }
        Some(stats)
    }
}

/// The histogram bucket of a posting list of `len` records.
pub fn histogram_bucket(len: u64) -> usize {
    if len == 0 {
        0
    } else {
        ((63 - len.leading_zeros()) as usize).min(HISTOGRAM_BUCKETS - 1)
    }
}

/// What `SegmentWriter::finish` wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentStats {
    /// Records in the record table.
    pub records: u64,
    /// Distinct keys.
    pub keys: u64,
    /// (key, record) pairs.
    pub postings: u64,
    /// Size of the whole segment file.
    pub size_bytes: u64,
    /// Size of the key directory plus the key table.
    pub key_table_bytes: u64,
    /// Size of the postings section (lists that are not inline).
    pub postings_bytes: u64,
    /// Size of the record features and their offsets.
    pub feature_bytes: u64,
    /// Distinct names in the name table.
    pub names: u64,
    /// Size of the name table.
    pub name_bytes: u64,
    /// Per-recipe statistics, by recipe id.
    pub recipes: Vec<RecipeStats>,
    /// How many times the key buffer overflowed the memory budget and was spilled
    /// to disk (0 when everything fit).
    pub spills: usize,
    /// The footer checksum (xxh3-64 of the file before the footer).
    pub checksum: u64,
}

impl SegmentStats {
    /// Bytes of key table and postings per posting: the index's space efficiency.
    pub fn bytes_per_posting(&self) -> f64 {
        if self.postings == 0 {
            0.0
        } else {
            (self.key_table_bytes + self.postings_bytes) as f64 / self.postings as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_powers_of_two() {
        assert_eq!(histogram_bucket(1), 0);
        assert_eq!(histogram_bucket(2), 1);
        assert_eq!(histogram_bucket(3), 1);
        assert_eq!(histogram_bucket(4), 2);
        assert_eq!(histogram_bucket(65), 6);
        assert_eq!(histogram_bucket(u64::MAX), HISTOGRAM_BUCKETS - 1);
    }

    #[test]
    fn stats_round_trip_and_merge() {
        let mut a = RecipeStats::new(3);
        a.add_key(1);
        a.add_key(70);
        let mut b = RecipeStats::new(3);
        b.add_key(2);
        let mut encoded = Vec::new();
        a.encode(&mut encoded);
        assert_eq!(encoded.len(), STATS_LEN);
        assert_eq!(RecipeStats::decode(&encoded), Some(a.clone()));
        assert_eq!(RecipeStats::decode(&encoded[1..]), None);
        a.merge(&b);
        assert_eq!((a.keys, a.postings, a.largest), (3, 73, 70));
        assert_eq!(a.histogram[0..7], [1, 1, 0, 0, 0, 0, 1]);
        assert!((a.mean_postings() - 73.0 / 3.0).abs() < 1e-9);
    }
}
