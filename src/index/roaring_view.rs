//! Iterating a roaring bitmap in its portable serialized form, in place.
//!
//! Deserializing allocates once per 65,536-id container, which dominates reading a
//! long posting list of scattered records. This reads the bytes where they lie
//! (array, bitmap and run containers) and stops at the first inconsistency, so a
//! damaged list yields fewer ids, never a panic. Ids come out strictly increasing.

use super::format::{read_u32, read_u64};

const COOKIE_NO_RUNS: u32 = 12346;
const COOKIE_RUNS: u32 = 12347;
const MAX_CONTAINERS: usize = 1 << 16;
const ARRAY_MAX: usize = 4096;
const BITMAP_BYTES: usize = 8192;

fn read_u16(bytes: &[u8], pos: usize) -> Option<u16> {
    let b = bytes.get(pos..pos.checked_add(2)?)?;
    Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
}

/// Current container being read.
#[derive(Clone, Copy, Debug)]
enum Container {
    /// Between containers: read the next descriptor.
    Next,
    Array {
        remaining: usize,
    },
    Bitmap {
        base: usize,
        word: usize,
        bits: u64,
    },
    Run {
        runs_left: usize,
        next: u32,
        /// Inclusive end of the current run; `next > end` means the run is spent.
        end: u32,
    },
    Done,
}

/// Iterator over the ids of a serialized roaring bitmap.
#[derive(Clone, Debug)]
pub(crate) struct RoaringIter<'a> {
    bytes: &'a [u8],
    containers: usize,
    run_flags: Option<&'a [u8]>,
    descriptors: usize,
    index: usize,
    pos: usize,
    high: u32,
    state: Container,
    last: Option<u32>,
}

impl<'a> RoaringIter<'a> {
    /// Reads the header of `bytes`; an unreadable header gives an empty iterator.
    pub(crate) fn new(bytes: &'a [u8]) -> RoaringIter<'a> {
        let mut iter = RoaringIter {
            bytes,
            containers: 0,
            run_flags: None,
            descriptors: 0,
            index: 0,
            pos: 0,
            high: 0,
            state: Container::Done,
            last: None,
        };
        if iter.parse_header().is_some() {
            iter.state = Container::Next;
        }
        iter
    }

    fn parse_header(&mut self) -> Option<()> {
        let cookie = read_u32(self.bytes, 0)?;
        let has_offsets;
        if cookie == COOKIE_NO_RUNS {
            self.containers = read_u32(self.bytes, 4)? as usize;
            self.descriptors = 8;
            has_offsets = true;
        } else if cookie & 0xffff == COOKIE_RUNS {
            self.containers = (cookie >> 16) as usize + 1;
            let flags_len = self.containers.div_ceil(8);
            self.run_flags = Some(self.bytes.get(4..4 + flags_len)?);
            self.descriptors = 4 + flags_len;
            has_offsets = self.containers >= 4;
        } else {
            return None;
        }
        if self.containers > MAX_CONTAINERS {
            return None;
        }
        let per_container = if has_offsets { 8 } else { 4 };
        self.pos = self.descriptors + per_container * self.containers;
        (self.pos <= self.bytes.len()).then_some(())
    }

    /// Moves to the next container; `None` when there is none or it is malformed.
    fn open_next(&mut self) -> Option<Container> {
        if self.index >= self.containers {
            return None;
        }
        let desc = self.descriptors + 4 * self.index;
        let key = u32::from(read_u16(self.bytes, desc)?);
        let cardinality = usize::from(read_u16(self.bytes, desc + 2)?) + 1;
        let is_run = match self.run_flags {
            Some(flags) => flags.get(self.index / 8)? & (1 << (self.index % 8)) != 0,
            None => false,
        };
        self.index += 1;
        self.high = key << 16;
        Some(if is_run {
            let runs = usize::from(read_u16(self.bytes, self.pos)?);
            self.pos += 2;
            Container::Run {
                runs_left: runs,
                next: 1,
                end: 0,
            }
        } else if cardinality <= ARRAY_MAX {
            Container::Array {
                remaining: cardinality,
            }
        } else {
            let base = self.pos;
            self.pos = base.checked_add(BITMAP_BYTES)?;
            if self.pos > self.bytes.len() {
                return None;
            }
            Container::Bitmap {
                base,
                word: 0,
                bits: read_u64(self.bytes, base)?,
            }
        })
    }

    /// The next low 16 bits within the current container, advancing the state.
    fn step(&mut self) -> Option<Option<u32>> {
        match &mut self.state {
            Container::Done => None,
            Container::Next => {
                self.state = self.open_next()?;
                Some(None)
            }
            Container::Array { remaining } => {
                if *remaining == 0 {
                    self.state = Container::Next;
                    return Some(None);
                }
                *remaining -= 1;
                let value = read_u16(self.bytes, self.pos)?;
                self.pos += 2;
                Some(Some(u32::from(value)))
            }
            Container::Bitmap { base, word, bits } => {
                if *bits != 0 {
                    let bit = bits.trailing_zeros();
                    *bits &= *bits - 1;
                    return Some(Some((*word as u32) * 64 + bit));
                }
                if *word + 1 >= BITMAP_BYTES / 8 {
                    self.state = Container::Next;
                    return Some(None);
                }
                *word += 1;
                *bits = read_u64(self.bytes, *base + *word * 8)?;
                Some(None)
            }
            Container::Run {
                runs_left,
                next,
                end,
            } => {
                if *next <= *end {
                    let value = *next;
                    *next += 1;
                    return Some(Some(value));
                }
                if *runs_left == 0 {
                    self.state = Container::Next;
                    return Some(None);
                }
                *runs_left -= 1;
                let start = u32::from(read_u16(self.bytes, self.pos)?);
                let len = u32::from(read_u16(self.bytes, self.pos + 2)?);
                self.pos += 4;
                if start + len > 0xffff {
                    return None;
                }
                *next = start;
                *end = start + len;
                Some(None)
            }
        }
    }
}

impl RoaringIter<'_> {
    /// Skips, without reading their values, the containers (and the rest of the
    /// current one) that hold only ids below `target`; the next id is then the
    /// first one at or above it (or after it, inside a container that starts lower).
    pub(crate) fn skip_below(&mut self, target: u32) {
        let target_high = target >> 16;
        // The rest of a container wholly below the target.
        if !matches!(self.state, Container::Next | Container::Done) && self.high >> 16 < target_high
        {
            match self.state {
                Container::Array { remaining } => {
                    self.pos = self.pos.saturating_add(2 * remaining);
                }
                Container::Run { runs_left, .. } => {
                    self.pos = self.pos.saturating_add(4 * runs_left);
                }
                // A bitmap's bytes were passed when it was opened.
                _ => {}
            }
            self.state = Container::Next;
        }
        while matches!(self.state, Container::Next) && self.index < self.containers {
            let desc = self.descriptors + 4 * self.index;
            let (Some(key), Some(card)) =
                (read_u16(self.bytes, desc), read_u16(self.bytes, desc + 2))
            else {
                self.state = Container::Done;
                return;
            };
            if u32::from(key) >= target_high {
                return;
            }
            let is_run = match self.run_flags {
                Some(flags) => flags
                    .get(self.index / 8)
                    .is_some_and(|f| f & (1 << (self.index % 8)) != 0),
                None => false,
            };
            let size = if is_run {
                match read_u16(self.bytes, self.pos) {
                    Some(runs) => 2 + 4 * usize::from(runs),
                    None => {
                        self.state = Container::Done;
                        return;
                    }
                }
            } else if usize::from(card) < ARRAY_MAX {
                2 * (usize::from(card) + 1)
            } else {
                BITMAP_BYTES
            };
            self.index += 1;
            self.pos = self.pos.saturating_add(size);
            self.high = u32::from(key) << 16;
        }
    }
}

impl Iterator for RoaringIter<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        loop {
            match self.step() {
                None => {
                    self.state = Container::Done;
                    return None;
                }
                Some(None) => continue,
                Some(Some(low)) => {
                    let id = self.high | low;
                    if self.last.is_some_and(|last| id <= last) {
                        self.state = Container::Done;
                        return None;
                    }
                    self.last = Some(id);
                    return Some(id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use roaring::RoaringBitmap;

    fn serialized(bitmap: &RoaringBitmap) -> Vec<u8> {
        let mut out = Vec::new();
        bitmap.serialize_into(&mut out).unwrap();
        out
    }

    fn check(bitmap: RoaringBitmap) {
        let plain = serialized(&bitmap);
        assert_eq!(
            RoaringIter::new(&plain).collect::<Vec<_>>(),
            bitmap.iter().collect::<Vec<_>>()
        );
        let mut optimized = bitmap.clone();
        optimized.optimize();
        let runs = serialized(&optimized);
        assert_eq!(
            RoaringIter::new(&runs).collect::<Vec<_>>(),
            bitmap.iter().collect::<Vec<_>>()
        );
    }

    #[test]
    fn every_container_kind_reads_back() {
        check(RoaringBitmap::new());
        check((0..3).collect()); // one array, few containers
        check((0..200_000).step_by(3).collect()); // bitmaps
        check((0..300_000).collect()); // runs when optimized
        check((0..10).map(|i| i * 70_000).collect()); // many containers, offsets
        check([0, u32::MAX - 1, u32::MAX].into_iter().collect());
        check(
            (0..5000)
                .chain(100_000..100_010)
                .chain([u32::MAX])
                .collect(),
        );
    }

    /// The ids from `target` on, reached by skipping first.
    fn skipping(bytes: &[u8], targets: &[u32]) -> Vec<u32> {
        let mut it = RoaringIter::new(bytes);
        let mut out = Vec::new();
        for &t in targets {
            it.skip_below(t);
            if let Some(id) = it.by_ref().find(|&id| id >= t) {
                out.push(id);
            }
        }
        out
    }

    #[test]
    fn foreign_bytes_read_as_empty() {
        assert_eq!(RoaringIter::new(b"").count(), 0);
        assert_eq!(RoaringIter::new(b"not a bitmap at all").count(), 0);
    }

    proptest! {
        #[test]
        fn random_bitmaps_read_back(ids in proptest::collection::vec(any::<u32>(), 0..300),
                                    dense_from in any::<u32>(), dense_len in 0u32..10_000) {
            let mut bitmap: RoaringBitmap = ids.into_iter().collect();
            bitmap.insert_range(dense_from..dense_from.saturating_add(dense_len));
            check(bitmap);
        }

        #[test]
        fn skipping_finds_what_reading_finds(ids in proptest::collection::vec(any::<u32>(), 0..300),
                                              dense_from in 0u32..1_000_000, dense_len in 0u32..10_000,
                                              mut targets in proptest::collection::vec(0u32..2_000_000, 0..40),
                                              optimize in any::<bool>()) {
            let mut bitmap: RoaringBitmap = ids.into_iter().map(|i| i % 2_000_000).collect();
            bitmap.insert_range(dense_from..dense_from.saturating_add(dense_len));
            if optimize {
                bitmap.optimize();
            }
            let bytes = serialized(&bitmap);
            targets.sort_unstable();
            // The first id at or above each target, read one by one.
            let mut expected = Vec::new();
            let mut it = bitmap.iter().peekable();
            for &t in &targets {
                while it.peek().is_some_and(|&id| id < t) {
                    it.next();
                }
                if let Some(id) = it.next() {
                    expected.push(id);
                }
            }
            prop_assert_eq!(skipping(&bytes, &targets), expected);
        }

        #[test]
        fn damaged_bitmaps_never_panic(ids in proptest::collection::vec(any::<u32>(), 0..200),
                                       edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
                                       cut in any::<usize>()) {
            let mut bitmap: RoaringBitmap = ids.into_iter().collect();
            bitmap.insert_range(1000..1200);
            bitmap.optimize();
            let mut bytes = serialized(&bitmap);
            for (pos, value) in edits {
                let len = bytes.len();
                bytes[pos % len] = value;
            }
            bytes.truncate(cut % (bytes.len() + 1));
            let ids: Vec<u32> = RoaringIter::new(&bytes).take(1 << 20).collect();
            prop_assert!(ids.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
