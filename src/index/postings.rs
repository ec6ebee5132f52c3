//! Posting lists: the record ids that carry a key, in the three shapes a segment
//! stores them (one id inline in the key table, a short delta-coded list, a long
//! list as a portable roaring bitmap), and [`Postings`], the view a lookup returns.
//!
//! Decoding never trusts the bytes: a malformed list reads as shorter or empty,
//! never as a panic. `Segment::verify` is what reports such damage.

use roaring::RoaringBitmap;

use super::format::{SHORT_MAX, get_varint, put_varint};
use super::roaring_view::RoaringIter;

/// Encodes the sorted, distinct `ids` (at least two) at the end of `out`.
pub(crate) fn encode_list(ids: &[u32], out: &mut Vec<u8>) {
    put_varint(out, ids.len() as u64);
    if ids.len() <= SHORT_MAX {
        let mut prev: Option<u32> = None;
        for &id in ids {
            match prev {
                None => put_varint(out, u64::from(id)),
                // Ids are strictly increasing, so gaps are at least 1.
                Some(p) => put_varint(out, u64::from(id - p - 1)),
            }
            prev = Some(id);
        }
    } else {
        let mut bitmap: RoaringBitmap = ids.iter().copied().collect();
        // Runs where they are smaller (dense stretches of records).
        bitmap.optimize();
        put_varint(out, bitmap.serialized_size() as u64);
        // Writing into a Vec cannot fail.
        let _ = bitmap.serialize_into(&mut *out);
    }
}

/// The value stored for a key whose only record is `id`.
pub(crate) fn inline_value(id: u32) -> u64 {
    u64::from(id) << 1
}

/// The value stored for a key whose list starts at `offset` in the postings section.
pub(crate) fn list_value(offset: u64) -> u64 {
    (offset << 1) | 1
}

#[derive(Clone, Copy, Debug)]
enum Repr<'a> {
    Empty,
    One(u32),
    /// `bytes` starts at the first id and may run past the list's end.
    Short {
        count: u32,
        bytes: &'a [u8],
    },
    /// `bytes` is exactly the serialized bitmap.
    Long {
        count: u64,
        bytes: &'a [u8],
    },
}

/// The records that carry one key: what `Segment::lookup` returns.
///
/// Cheap to create and copy; `len` is known without decoding. Ids come out in
/// increasing order.
#[derive(Clone, Copy, Debug)]
pub struct Postings<'a> {
    repr: Repr<'a>,
}

impl<'a> Postings<'a> {
    /// No records: the key is not in the segment.
    pub fn empty() -> Postings<'a> {
        Postings { repr: Repr::Empty }
    }

    /// Decodes a key-table value against the postings section.
    pub(crate) fn from_value(value: u64, postings: &'a [u8]) -> Postings<'a> {
        if value & 1 == 0 {
            return match u32::try_from(value >> 1) {
                Ok(id) => Postings {
                    repr: Repr::One(id),
                },
                Err(_) => Postings::empty(),
            };
        }
        Postings::from_list(postings, value >> 1).unwrap_or_else(Postings::empty)
    }

    fn from_list(postings: &'a [u8], offset: u64) -> Option<Postings<'a>> {
        let mut pos = usize::try_from(offset).ok()?;
        let count = get_varint(postings, &mut pos)?;
        if count < 2 {
            return None;
        }
        let repr = if count <= SHORT_MAX as u64 {
            Repr::Short {
                count: count as u32,
                bytes: postings.get(pos..)?,
            }
        } else {
            let len = usize::try_from(get_varint(postings, &mut pos)?).ok()?;
            Repr::Long {
                count,
                bytes: postings.get(pos..pos.checked_add(len)?)?,
            }
        };
        Some(Postings { repr })
    }

    /// Number of records (as stored; a damaged list may yield fewer).
    pub fn len(&self) -> usize {
        match self.repr {
            Repr::Empty => 0,
            Repr::One(_) => 1,
            Repr::Short { count, .. } => count as usize,
            Repr::Long { count, .. } => usize::try_from(count).unwrap_or(usize::MAX),
        }
    }

    /// True when no record carries the key.
    pub fn is_empty(&self) -> bool {
        matches!(self.repr, Repr::Empty)
    }

    /// The record ids, in increasing order.
    pub fn iter(&self) -> PostingsIter<'a> {
        let state = match self.repr {
            Repr::Empty => IterState::Done,
            Repr::One(id) => IterState::One(id),
            Repr::Short { count, bytes } => IterState::Short {
                bytes,
                pos: 0,
                remaining: count,
                prev: None,
            },
            Repr::Long { bytes, .. } => IterState::Long(RoaringIter::new(bytes)),
        };
        PostingsIter { state }
    }

    /// True when record `id` carries the key.
    pub fn contains(&self, id: u32) -> bool {
        match self.repr {
            Repr::Empty => false,
            Repr::One(only) => only == id,
            Repr::Short { .. } | Repr::Long { .. } => {
                self.iter().take_while(|&x| x <= id).any(|x| x == id)
            }
        }
    }

    /// The record ids as a bitmap, e.g. to intersect with a scope.
    pub fn to_bitmap(&self) -> RoaringBitmap {
        match self.repr {
            Repr::Long { bytes, .. } => RoaringBitmap::deserialize_from(bytes).unwrap_or_default(),
            _ => self.iter().collect(),
        }
    }

    /// Checks the list decodes to exactly `len()` strictly increasing ids below
    /// `record_count`; returns a description of the first problem.
    pub(crate) fn check(&self, record_count: u64) -> Result<(), String> {
        let expected = self.len();
        let mut seen = 0usize;
        let mut prev: Option<u32> = None;
        match self.repr {
            Repr::Long { bytes, count } => {
                let bitmap = RoaringBitmap::deserialize_from(bytes)
                    .map_err(|e| format!("a long posting list does not decode ({e})"))?;
                if bitmap.len() != count {
                    return Err(format!(
                        "a long posting list holds {} ids, its header says {count}",
                        bitmap.len()
                    ));
                }
                if bitmap.max().is_some_and(|m| u64::from(m) >= record_count) {
                    return Err("a posting names a record that does not exist".into());
                }
                // Lookups read the list in place; make sure that agrees too.
                if RoaringIter::new(bytes).count() as u64 != count {
                    return Err("a long posting list reads back inconsistently".into());
                }
                return Ok(());
            }
            _ => {
                for id in self.iter() {
                    if prev.is_some_and(|p| id <= p) || u64::from(id) >= record_count {
                        return Err("a posting names a record that does not exist".into());
                    }
                    prev = Some(id);
                    seen += 1;
                }
            }
        }
        if seen != expected {
            return Err(format!(
                "a posting list holds {seen} readable ids, its header says {expected}"
            ));
        }
        Ok(())
    }
}

/// Where the list starting at `offset` in `postings` ends; `None` if it runs past
/// the section or is malformed.
pub(crate) fn list_end(postings: &[u8], offset: usize) -> Option<usize> {
    let mut pos = offset;
    let count = get_varint(postings, &mut pos)?;
    if count < 2 {
        return None;
    }
    if count <= SHORT_MAX as u64 {
        for _ in 0..count {
            get_varint(postings, &mut pos)?;
        }
        Some(pos)
    } else {
        let len = usize::try_from(get_varint(postings, &mut pos)?).ok()?;
        let end = pos.checked_add(len)?;
        (end <= postings.len()).then_some(end)
    }
}

impl<'a> IntoIterator for &Postings<'a> {
    type Item = u32;
    type IntoIter = PostingsIter<'a>;

    fn into_iter(self) -> PostingsIter<'a> {
        self.iter()
    }
}

/// Iterator over the record ids of a [`Postings`].
pub struct PostingsIter<'a> {
    state: IterState<'a>,
}

enum IterState<'a> {
    Done,
    One(u32),
    Short {
        bytes: &'a [u8],
        pos: usize,
        remaining: u32,
        prev: Option<u32>,
    },
    Long(RoaringIter<'a>),
}

impl PostingsIter<'_> {
    /// The next id at or above `target`; long (roaring) lists skip whole
    /// containers below it without reading them.
    pub fn next_at_least(&mut self, target: u32) -> Option<u32> {
        if let IterState::Long(it) = &mut self.state {
            it.skip_below(target);
        }
        self.find(|&id| id >= target)
    }
}

impl Iterator for PostingsIter<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        match &mut self.state {
            IterState::Done => None,
            IterState::One(id) => {
                let id = *id;
                self.state = IterState::Done;
                Some(id)
            }
            IterState::Short {
                bytes,
                pos,
                remaining,
                prev,
            } => {
                if *remaining == 0 {
                    self.state = IterState::Done;
                    return None;
                }
                let raw = get_varint(bytes, pos);
                let id = match (raw, *prev) {
                    (Some(v), None) => u32::try_from(v).ok(),
                    (Some(gap), Some(p)) => u32::try_from(gap)
                        .ok()
                        .and_then(|g| p.checked_add(g)?.checked_add(1)),
                    (None, _) => None,
                };
                match id {
                    Some(id) => {
                        *remaining -= 1;
                        *prev = Some(id);
                        Some(id)
                    }
                    None => {
                        self.state = IterState::Done;
                        None
                    }
                }
            }
            IterState::Long(iter) => iter.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encoded(ids: &[u32]) -> Vec<u8> {
        let mut out = vec![0xAA]; // a list never starts at offset 0 in these tests
        encode_list(ids, &mut out);
        out
    }

    #[test]
    fn inline_value_is_one_record() {
        let p = Postings::from_value(inline_value(42), &[]);
        assert_eq!(p.len(), 1);
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![42]);
        assert!(p.contains(42));
        assert!(!p.contains(41));
    }

    #[test]
    fn every_size_class_round_trips() {
        for n in [2usize, 3, SHORT_MAX, SHORT_MAX + 1, 5000] {
            let ids: Vec<u32> = (0..n as u32).map(|i| i * 7 + 3).collect();
            let bytes = encoded(&ids);
            let p = Postings::from_value(list_value(1), &bytes);
            assert_eq!(p.len(), n);
            assert_eq!(p.iter().collect::<Vec<_>>(), ids, "n={n}");
            assert_eq!(p.to_bitmap().len(), n as u64);
            assert!(p.contains(ids[n / 2]));
            assert!(!p.contains(ids[n / 2] + 1));
            assert_eq!(p.check(u64::from(u32::MAX)), Ok(()));
            assert_eq!(list_end(&bytes, 1), Some(bytes.len()));
        }
    }

    #[test]
    fn extreme_ids_round_trip() {
        let ids = [0, 1, u32::MAX - 1, u32::MAX];
        let bytes = encoded(&ids);
        let p = Postings::from_value(list_value(1), &bytes);
        assert_eq!(p.iter().collect::<Vec<_>>(), ids);
    }

    #[test]
    fn truncated_list_reads_short_and_fails_check() {
        let ids: Vec<u32> = (0..10).map(|i| i * 1000).collect();
        let bytes = encoded(&ids);
        let cut = &bytes[..bytes.len() - 3];
        let p = Postings::from_value(list_value(1), cut);
        assert_eq!(p.len(), 10);
        assert!(p.iter().count() < 10);
        assert!(p.check(1 << 20).is_err());
    }

    #[test]
    fn out_of_range_offset_is_empty() {
        let p = Postings::from_value(list_value(1 << 40), &[1, 2, 3]);
        assert!(p.is_empty());
        assert_eq!(p.iter().count(), 0);
    }

    proptest! {
        #[test]
        fn lists_round_trip(mut ids in proptest::collection::vec(any::<u32>(), 2..200)) {
            ids.sort_unstable();
            ids.dedup();
            prop_assume!(ids.len() >= 2);
            let bytes = encoded(&ids);
            let p = Postings::from_value(list_value(1), &bytes);
            prop_assert_eq!(p.iter().collect::<Vec<_>>(), ids);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), value in any::<u64>(), probe in any::<u32>()) {
            let p = Postings::from_value(value, &bytes);
            let _ = p.iter().take(100_000).count();
            let _ = p.contains(probe);
            let _ = p.to_bitmap();
            let _ = p.check(1000);
            let _ = list_end(&bytes, (value >> 1) as usize);
        }
    }
}
