//! Candidate generation: from a query's keys to the few dump records worth verifying.
//!
//! Every key of the query is looked up in every segment. Short posting lists (at
//! most [`Limits::long`] records) are unioned; each record collects a rank from the
//! keys it hit, rarer keys counting more (`log2(total / postings)` bits per key, at
//! least one). Longer lists (a common given + family name in a big archive, a block
//! of flats) only add their hit to records the short lists already found, by one
//! merge pass over the sorted ids: a record sharing nothing but a common name with
//! the query is not worth reading. When no short list found anyone, long lists are
//! unioned like short ones. Keys whose lists are huge ([`Limits::huge`]: a common
//! name with a common date, a placeholder email shared by thousands of rows) never
//! flood the candidate set:
//!
//! - when smaller keys found candidates, huge keys are skipped (iterating them would
//!   cost more than the whole rest of the query, and the smaller keys already name
//!   every record that shares anything distinctive with the query);
//! - when only huge keys exist, they narrow each other: their roaring bitmaps are
//!   intersected, smallest first, and only the first [`Limits::verify`] records of
//!   the intersection are kept (such a query says too little to single anyone out,
//!   so which few are verified does not change its verdict).
//!
//! The scope bitmap, when given, removes records outside it. Then the best
//! [`Limits::verify`] records by rank are kept for verification, plus every record
//! that hit an identifier key carried by at most [`Limits::identifier_all`] records
//! (an email or NI number match must never be lost to the cap).
//!
//! ```
//! use leakscope::index::{Segment, SegmentWriter};
//! use leakscope::keys::{Key, KeyRecipe};
//! use leakscope::matching::candidates::{Candidates, Limits};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let mut writer = SegmentWriter::new(dir.path(), 1 << 20, 4)?;
//! let a = writer.add_record(0, 1, 0, 10)?;
//! let b = writer.add_record(0, 2, 10, 10)?;
//! writer.add_keys(&[(11, KeyRecipe::Email.id(), a), (22, KeyRecipe::LastDob.id(), a),
//!                   (22, KeyRecipe::LastDob.id(), b)])?;
//! writer.finish(&dir.path().join("s.seg"))?;
//! let segments = [Segment::open(&dir.path().join("s.seg"))?];
//! let keys = [Key { recipe: KeyRecipe::Email, hash: 11 }, Key { recipe: KeyRecipe::LastDob, hash: 22 }];
//! let mut found = Candidates::default();
//! found.gather(&segments, &keys, None, &Limits::default(), false);
//! let best = found.selected()[0];
//! assert_eq!((best.record, best.hits, best.identifier), (a, 2, true));
//! assert_eq!(found.postings_of(22), Some(2));
//! # Ok(()) }
//! ```

use crate::index::Segment;
use crate::keys::Key;
use roaring::RoaringBitmap;

/// How many candidates are verified, and what counts as a huge posting list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most candidates verified by rank (default 64): a person has a handful of
    /// records and a namesake or a household a few more, so 64 leaves ample room
    /// while bounding the work of a vague query.
    pub verify: usize,
    /// A key whose posting list (in one segment) is longer than this (default 64)
    /// only adds to candidates found by shorter lists, unless there are none.
    pub long: usize,
    /// A key whose posting list (in one segment) is longer than this (default
    /// 4,096) is huge: see the module documentation.
    pub huge: usize,
    /// Records hitting an identifier key that no more than this many records carry
    /// (default 32) are verified whatever their rank. A longer list is a shared
    /// value (a switchboard, `none@none.com`) and is ranked like any other key.
    pub identifier_all: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            verify: 64,
            long: 64,
            huge: 4096,
            identifier_all: 32,
        }
    }
}

/// One record worth verifying, with what led to it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    /// Segment number (position in the index's segment list).
    pub segment: u32,
    /// Record id in that segment.
    pub record: u32,
    /// Rank: the summed rarity, in bits, of the keys it hit.
    pub rank: f32,
    /// How many of the query's keys it hit.
    pub hits: u16,
    /// Which of the query's first 64 keys it hit (bit `i` for `keys[i]`).
    pub keys: u64,
    /// It hit an identifier key carried by few records.
    pub identifier: bool,
    /// It is inside the query's scope (always, without one). A candidate outside
    /// it is kept only when [`Candidates::gather`] is asked to keep strong ones
    /// outside: it may only lend identifiers, never be part of an answer.
    pub in_scope: bool,
}

impl Candidate {
    /// Segment and record as one number, in their order.
    fn place(&self) -> u64 {
        (u64::from(self.segment) << 32) | u64::from(self.record)
    }

    /// The order candidates are verified in, as one number (smallest first):
    /// identifier hits first, then by rank and by hits, highest first, then by
    /// place. One integer comparison instead of four.
    fn order(&self) -> u128 {
        // `f32::total_cmp`'s order as an unsigned number.
        let bits = self.rank.to_bits();
        let rank = if bits >> 31 == 1 {
            !bits
        } else {
            bits | (1 << 31)
        };
        let descending =
            (u128::from(self.identifier) << 48) | (u128::from(rank) << 16) | u128::from(self.hits);
        (!descending & ((1u128 << 49) - 1)) << 64 | u128::from(self.place())
    }
}

/// A query key and how many records carry it, over all segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyCount {
    /// The key.
    pub key: Key,
    /// Records carrying it.
    pub postings: u64,
}

/// Reusable buffers of candidate generation: keep one per thread and call
/// [`Candidates::gather`] for each query, so that querying allocates nothing once
/// the buffers have grown.
#[derive(Debug, Default)]
pub struct Candidates {
    hits: Vec<Candidate>,
    selected: Vec<Candidate>,
    counts: Vec<KeyCount>,
    /// `(key index, segment)` of the lists found long.
    long: Vec<(usize, usize)>,
    /// `(key index, segment)` of the lists found huge.
    huge: Vec<(usize, usize)>,
    /// The query's key hashes, for batched lookups.
    hashes: Vec<u64>,
}

/// Rank contribution of a key carried by `len` of `total` records.
fn rarity(len: usize, total: u64) -> f32 {
    let bits = (total.max(1) as f64 / len.max(1) as f64).log2();
    bits.max(1.0) as f32
}

impl Candidates {
    /// Finds the candidates of `keys` in `segments`; `scope`, when given, holds one
    /// bitmap of allowed record ids per segment. With `outside`, the strong
    /// candidates outside the scope (an identifier hit, or two keys) are kept too,
    /// marked [`Candidate::in_scope`] false and capped apart, so that a person's
    /// records outside the scope can still lend the identifiers that find their
    /// records inside it. Results are read with [`selected`](Self::selected) and
    /// [`counts`](Self::counts).
    pub fn gather(
        &mut self,
        segments: &[Segment],
        keys: &[Key],
        scope: Option<&[RoaringBitmap]>,
        limits: &Limits,
        outside: bool,
    ) {
        self.hits.clear();
        self.selected.clear();
        self.counts.clear();
        self.long.clear();
        self.huge.clear();
        let total: u64 = segments.iter().map(|s| u64::from(s.record_count())).sum();

        // Every list of every key, segment by segment: `lists[s * keys.len() + i]`.
        self.hashes.clear();
        self.hashes.extend(keys.iter().map(|k| k.hash));
        let mut lists = Vec::with_capacity(keys.len() * segments.len());
        for segment in segments {
            segment.lookup_batch(&self.hashes, &mut lists);
        }
        for (i, key) in keys.iter().enumerate() {
            let mut postings = 0u64;
            for s in 0..segments.len() {
                let Some(&list) = lists.get(s * keys.len() + i) else {
                    continue;
                };
                postings += list.len() as u64;
                if list.is_empty() {
                    continue;
                }
                if list.len() > limits.huge {
                    self.huge.push((i, s));
                    continue;
                }
                if list.len() > limits.long {
                    self.long.push((i, s));
                    continue;
                }
                self.add_all(s, i, key, &list, total, limits);
            }
            self.counts.push(KeyCount {
                key: *key,
                postings,
            });
        }

        if self.hits.is_empty() {
            // Nothing short: the long lists are all there is.
            for &(i, s) in &std::mem::take(&mut self.long) {
                if let (Some(key), Some(list)) = (keys.get(i), lists.get(s * keys.len() + i)) {
                    self.add_all(s, i, key, list, total, limits);
                }
            }
        }
        self.merge();
        for &(i, s) in &std::mem::take(&mut self.long) {
            if let Some(list) = lists.get(s * keys.len() + i) {
                self.join(s, i, list, total);
            }
        }
        if let Some(scope) = scope {
            let inside = |c: &Candidate| {
                scope
                    .get(c.segment as usize)
                    .is_some_and(|b| b.contains(c.record))
            };
            if outside {
                for c in &mut self.hits {
                    c.in_scope = inside(c);
                }
                self.hits
                    .retain(|c| c.in_scope || c.identifier || c.hits >= 2);
            } else {
                self.hits.retain(inside);
            }
        }
        if !self.hits.iter().any(|c| c.in_scope) && !self.huge.is_empty() {
            self.narrow_huge(segments, keys, scope, limits);
        }

        // Identifier hits first, then by rank; ties by position for a stable answer.
        // Every identifier hit is kept, and `limits.verify` others inside the scope
        // (and as many outside it).
        self.hits.sort_unstable_by_key(Candidate::order);
        let (mut inside, mut beyond) = (0usize, 0usize);
        for c in &self.hits {
            let taken = if c.in_scope { &mut inside } else { &mut beyond };
            if c.identifier {
                self.selected.push(*c);
            } else if *taken < limits.verify {
                *taken += 1;
                self.selected.push(*c);
            }
        }
    }

    /// Every record of `list` as a hit of key `i`.
    fn add_all(
        &mut self,
        segment: usize,
        i: usize,
        key: &Key,
        list: &crate::index::Postings<'_>,
        total: u64,
        limits: &Limits,
    ) {
        let rank = rarity(list.len(), total);
        let identifier = key.recipe.is_identifier() && list.len() <= limits.identifier_all;
        let mask = if i < 64 { 1u64 << i } else { 0 };
        self.hits.extend(list.iter().map(|record| Candidate {
            segment: segment as u32,
            record,
            rank,
            hits: 1,
            keys: mask,
            identifier,
            in_scope: true,
        }));
    }

    /// Adds key `i`'s hit to the (merged, sorted) candidates of `segment` that its
    /// list holds: one pass over both sorted sequences.
    fn join(&mut self, segment: usize, i: usize, list: &crate::index::Postings<'_>, total: u64) {
        let seg = segment as u32;
        let start = self.hits.partition_point(|c| c.segment < seg);
        let end = self.hits.partition_point(|c| c.segment <= seg);
        let Some(mine) = self.hits.get_mut(start..end) else {
            return;
        };
        if mine.is_empty() {
            return;
        }
        let rank = rarity(list.len(), total);
        let mask = if i < 64 { 1u64 << i } else { 0 };
        // The candidates are few and the list long: seek each candidate in it
        // (a roaring list skips whole containers) rather than read it all.
        let mut ids = list.iter();
        let mut next = None;
        for c in mine.iter_mut() {
            if next.is_none_or(|id| id < c.record) {
                next = ids.next_at_least(c.record);
            }
            let Some(id) = next else {
                break;
            };
            if id == c.record {
                c.rank += rank;
                c.hits = c.hits.saturating_add(1);
                c.keys |= mask;
            }
        }
    }

    /// Folds the hits of one record into one candidate.
    fn merge(&mut self) {
        self.hits.sort_unstable_by_key(Candidate::place);
        let mut out = 0usize;
        for i in 0..self.hits.len() {
            let c = self.hits[i];
            if out > 0 {
                let last = &mut self.hits[out - 1];
                if (last.segment, last.record) == (c.segment, c.record) {
                    last.rank += c.rank;
                    last.hits = last.hits.saturating_add(1);
                    last.keys |= c.keys;
                    last.identifier |= c.identifier;
                    continue;
                }
            }
            self.hits[out] = c;
            out += 1;
        }
        self.hits.truncate(out);
    }

    /// Only huge keys: intersect them per segment, smallest list first.
    fn narrow_huge(
        &mut self,
        segments: &[Segment],
        keys: &[Key],
        scope: Option<&[RoaringBitmap]>,
        limits: &Limits,
    ) {
        let total: u64 = segments.iter().map(|s| u64::from(s.record_count())).sum();
        for (s, segment) in segments.iter().enumerate() {
            let mut lists: Vec<(usize, crate::index::Postings<'_>)> = self
                .huge
                .iter()
                .filter(|&&(_, seg)| seg == s)
                .filter_map(|&(i, _)| Some((i, segment.lookup(keys.get(i)?.hash))))
                .collect();
            lists.sort_by_key(|(_, p)| p.len());
            let Some(((first_key, first), rest)) = lists.split_first() else {
                continue;
            };
            let mut records = first.to_bitmap();
            let mut mask = if *first_key < 64 {
                1u64 << first_key
            } else {
                0
            };
            for (i, list) in rest {
                let narrowed = &records & list.to_bitmap();
                // A key that shares nothing with the others is noise (a stale
                // address); keep the narrowing that still leaves someone.
                if !narrowed.is_empty() {
                    records = narrowed;
                    if *i < 64 {
                        mask |= 1u64 << i;
                    }
                }
            }
            if let Some(allowed) = scope.and_then(|sc| sc.get(s)) {
                records &= allowed;
            } else if scope.is_some() {
                continue;
            }
            let hits = mask.count_ones() as u16;
            let rank: f32 = lists
                .iter()
                .filter(|(i, _)| *i < 64 && mask & (1u64 << i) != 0)
                .map(|(_, p)| rarity(p.len(), total))
                .sum();
            self.hits
                .extend(records.iter().take(limits.verify).map(|record| Candidate {
                    segment: s as u32,
                    record,
                    rank,
                    hits,
                    keys: mask,
                    identifier: false,
                    in_scope: true,
                }));
        }
    }

    /// The candidates to verify, best first.
    pub fn selected(&self) -> &[Candidate] {
        &self.selected
    }

    /// Every query key with the number of records carrying it (huge ones included),
    /// in query-key order: the frequencies the scorer needs.
    pub fn counts(&self) -> &[KeyCount] {
        &self.counts
    }

    /// How many records carry the key with this hash, if it was one of the query's.
    pub fn postings_of(&self, hash: u64) -> Option<u64> {
        self.counts
            .iter()
            .find(|c| c.key.hash == hash)
            .map(|c| c.postings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::SegmentWriter;
    use crate::keys::KeyRecipe;
    use proptest::prelude::*;

    proptest! {
        /// `Candidate::order` sorts as the comparison it replaces: identifier hits
        /// first, rank and hits highest first, then place; `place` as the
        /// (segment, record) pair.
        #[test]
        fn order_keys_sort_as_the_comparisons(
            raw in proptest::collection::vec(
                (0u32..3, 0u32..6, any::<bool>(), prop_oneof![
                    Just(1.0f32), Just(2.5f32), Just(0.0f32), Just(-0.0f32), Just(-3.0f32),
                    Just(f32::INFINITY), 0.0f32..64.0
                ], 0u16..4),
                0..40,
            )
        ) {
            let cands: Vec<Candidate> = raw
                .iter()
                .map(|&(segment, record, identifier, rank, hits)| Candidate {
                    segment,
                    record,
                    rank,
                    hits,
                    keys: 0,
                    identifier,
                    in_scope: true,
                })
                .collect();
            let mut by_key = cands.clone();
            by_key.sort_by_key(Candidate::order);
            let mut by_cmp = cands.clone();
            by_cmp.sort_by(|a, b| {
                b.identifier
                    .cmp(&a.identifier)
                    .then(b.rank.total_cmp(&a.rank))
                    .then(b.hits.cmp(&a.hits))
                    .then((a.segment, a.record).cmp(&(b.segment, b.record)))
            });
            let bits = |v: &[Candidate]| -> Vec<(u32, u32, bool, u32, u16)> {
                v.iter().map(|c| (c.segment, c.record, c.identifier, c.rank.to_bits(), c.hits)).collect()
            };
            prop_assert_eq!(bits(&by_key), bits(&by_cmp));
            let mut by_place = cands.clone();
            by_place.sort_by_key(Candidate::place);
            let mut by_pair = cands;
            by_pair.sort_by_key(|c| (c.segment, c.record));
            prop_assert_eq!(bits(&by_place), bits(&by_pair));
        }
    }

    /// A segment of `records` records with the given `(hash, recipe, record)` keys.
    fn segment(records: u32, keys: &[(u64, KeyRecipe, u32)]) -> (tempfile::TempDir, Segment) {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        };
        let built = (|| -> Result<Segment, crate::index::IndexError> {
            let mut w = SegmentWriter::new(dir.path(), 1 << 20, 4)?;
            for r in 0..records {
                w.add_record(0, u64::from(r) + 1, u64::from(r) * 10, 10)?;
            }
            let batch: Vec<(u64, u8, u32)> =
                keys.iter().map(|&(h, rc, id)| (h, rc.id(), id)).collect();
            w.add_keys(&batch)?;
            let path = dir.path().join("t.seg");
            w.finish(&path)?;
            Segment::open(&path)
        })();
        match built {
            Ok(s) => (dir, s),
            Err(e) => panic!("segment: {e}"),
        }
    }

    fn key(recipe: KeyRecipe, hash: u64) -> Key {
        Key { recipe, hash }
    }

    const EMAIL: u64 = 1;
    const LAST_DOB: u64 = 2;
    const COMMON_GIVEN_LAST: u64 = 3;
    const COMMON_DOB_POSTCODE: u64 = 4;

    /// 10,000 records: a common name on 0..6000, a common date+postcode on
    /// 3000..10000, a rare last name + dob on 5000 and 5001, an email on 5001.
    fn archive() -> (tempfile::TempDir, Segment) {
        let mut keys = Vec::new();
        for r in 0..6000 {
            keys.push((COMMON_GIVEN_LAST, KeyRecipe::GivenLast, r));
        }
        for r in 3000..10_000 {
            keys.push((COMMON_DOB_POSTCODE, KeyRecipe::DobPostcode, r));
        }
        keys.push((LAST_DOB, KeyRecipe::LastDob, 5000));
        keys.push((LAST_DOB, KeyRecipe::LastDob, 5001));
        keys.push((EMAIL, KeyRecipe::Email, 5001));
        segment(10_000, &keys)
    }

    fn records(c: &Candidates) -> Vec<u32> {
        c.selected().iter().map(|c| c.record).collect()
    }

    #[test]
    fn huge_lists_are_skipped_when_smaller_keys_exist() {
        let (_dir, seg) = archive();
        let segs = [seg];
        let keys = [
            key(KeyRecipe::GivenLast, COMMON_GIVEN_LAST),
            key(KeyRecipe::LastDob, LAST_DOB),
            key(KeyRecipe::Email, EMAIL),
            key(KeyRecipe::DobPostcode, COMMON_DOB_POSTCODE),
        ];
        let mut c = Candidates::default();
        c.gather(&segs, &keys, None, &Limits::default(), false);
        // Only the two records of the small keys; the email one first.
        assert_eq!(records(&c), [5001, 5000]);
        assert_eq!(c.selected()[0].hits, 2);
        assert!(c.selected()[0].identifier);
        assert!(!c.selected()[1].identifier);
        // Counts still report the huge lists, for the scorer's frequencies.
        assert_eq!(c.postings_of(COMMON_GIVEN_LAST), Some(6000));
        assert_eq!(c.postings_of(COMMON_DOB_POSTCODE), Some(7000));
        assert_eq!(c.counts().len(), 4);
    }

    #[test]
    fn only_huge_lists_are_intersected_and_capped() {
        let (_dir, seg) = archive();
        let segs = [seg];
        let keys = [
            key(KeyRecipe::GivenLast, COMMON_GIVEN_LAST),
            key(KeyRecipe::DobPostcode, COMMON_DOB_POSTCODE),
        ];
        let limits = Limits {
            huge: 1000,
            ..Limits::default()
        };
        let mut c = Candidates::default();
        c.gather(&segs, &keys, None, &limits, false);
        let got = records(&c);
        assert_eq!(got.len(), limits.verify);
        // Every one of them is in both lists: 3000..6000.
        assert!(got.iter().all(|r| (3000..6000).contains(r)), "{got:?}");
        assert!(c.selected().iter().all(|c| c.hits == 2));
    }

    #[test]
    fn scope_removes_records_outside_it() {
        let (_dir, seg) = archive();
        let segs = [seg];
        let keys = [
            key(KeyRecipe::LastDob, LAST_DOB),
            key(KeyRecipe::Email, EMAIL),
        ];
        let scope: Vec<RoaringBitmap> = vec![(0..5001).collect()];
        let mut c = Candidates::default();
        c.gather(&segs, &keys, Some(&scope), &Limits::default(), false);
        assert_eq!(records(&c), [5000]);
        // The huge-only path honours the scope too.
        let keys = [
            key(KeyRecipe::GivenLast, COMMON_GIVEN_LAST),
            key(KeyRecipe::DobPostcode, COMMON_DOB_POSTCODE),
        ];
        let scope: Vec<RoaringBitmap> = vec![(5990..7000).collect()];
        let limits = Limits {
            huge: 1000,
            ..Limits::default()
        };
        c.gather(&segs, &keys, Some(&scope), &limits, false);
        assert_eq!(records(&c), (5990..6000).collect::<Vec<_>>());
    }

    #[test]
    fn strong_records_outside_the_scope_are_kept_marked_when_asked() {
        let (_dir, seg) = archive();
        let segs = [seg];
        let keys = [
            key(KeyRecipe::LastDob, LAST_DOB),
            key(KeyRecipe::Email, EMAIL),
        ];
        let marked = |c: &Candidates| -> Vec<(u32, bool)> {
            let mut v: Vec<(u32, bool)> = c
                .selected()
                .iter()
                .map(|c| (c.record, c.in_scope))
                .collect();
            v.sort_unstable();
            v
        };
        // 5001 (email and last name + dob) lies outside: kept, marked.
        let scope: Vec<RoaringBitmap> = vec![(0..5001).collect()];
        let mut c = Candidates::default();
        c.gather(&segs, &keys, Some(&scope), &Limits::default(), true);
        assert_eq!(marked(&c), [(5000, true), (5001, false)]);
        // 5000 (one composite key) outside the scope is weak: left out.
        let scope: Vec<RoaringBitmap> = vec![(5001..5002).collect()];
        c.gather(&segs, &keys, Some(&scope), &Limits::default(), true);
        assert_eq!(marked(&c), [(5001, true)]);
        // Without a scope every candidate is inside it.
        c.gather(&segs, &keys, None, &Limits::default(), true);
        assert_eq!(marked(&c), [(5000, true), (5001, true)]);
    }

    #[test]
    fn rank_cap_keeps_identifier_hits() {
        // 200 records share a composite key; one of them (and one other) has the email.
        let mut keys = Vec::new();
        for r in 0..200 {
            keys.push((LAST_DOB, KeyRecipe::LastDob, r));
        }
        keys.push((EMAIL, KeyRecipe::Email, 150));
        keys.push((EMAIL, KeyRecipe::Email, 250));
        let (_dir, seg) = segment(300, &keys);
        let segs = [seg];
        let query = [
            key(KeyRecipe::LastDob, LAST_DOB),
            key(KeyRecipe::Email, EMAIL),
        ];
        let limits = Limits {
            verify: 5,
            long: 1000,
            ..Limits::default()
        };
        let mut c = Candidates::default();
        c.gather(&segs, &query, None, &limits, false);
        let got = records(&c);
        assert_eq!(got.len(), 7, "{got:?}");
        assert_eq!(got.get(..2), Some(&[150, 250][..]));
        assert_eq!(c.selected()[0].keys, 0b11);
    }

    #[test]
    fn long_lists_only_add_to_what_short_lists_found() {
        // 200 records share a common name; two of them, and one other, share a
        // date-of-birth key with the query.
        let mut keys = Vec::new();
        for r in 0..200 {
            keys.push((COMMON_GIVEN_LAST, KeyRecipe::GivenLast, r));
        }
        for r in [20, 120, 250] {
            keys.push((LAST_DOB, KeyRecipe::LastDob, r));
        }
        let (_dir, seg) = segment(300, &keys);
        let segs = [seg];
        let query = [
            key(KeyRecipe::GivenLast, COMMON_GIVEN_LAST),
            key(KeyRecipe::LastDob, LAST_DOB),
        ];
        let mut c = Candidates::default();
        c.gather(&segs, &query, None, &Limits::default(), false);
        let by_record: Vec<(u32, u16)> = c.selected().iter().map(|c| (c.record, c.hits)).collect();
        assert_eq!(by_record, [(20, 2), (120, 2), (250, 1)]);
        assert_eq!(c.postings_of(COMMON_GIVEN_LAST), Some(200));
        // Alone, the long list is all there is: its records are candidates.
        c.gather(&segs, &query[..1], None, &Limits::default(), false);
        assert_eq!(c.selected().len(), Limits::default().verify);
    }

    #[test]
    fn unknown_keys_give_nothing() {
        let (_dir, seg) = archive();
        let mut c = Candidates::default();
        c.gather(
            &[seg],
            &[key(KeyRecipe::Phone, 99)],
            None,
            &Limits::default(),
            false,
        );
        assert!(c.selected().is_empty());
        assert_eq!(c.postings_of(99), Some(0));
        assert_eq!(c.postings_of(98), None);
    }
}
