//! A small per-thread memory of a normaliser's answers, for values that repeat
//! heavily across a dump's records (family names, streets).
//!
//! It only remembers what the wrapped function returned for the same input, so the
//! one path from raw value to canonical form stays the function itself: a hit gives
//! exactly the answer a call would. Direct-mapped and of bounded size: a slot is
//! overwritten by the next input that hashes to it, so memory stays bounded, nothing
//! is ever cleared in bulk, and a slot's key buffer is reused without allocating.
//! The table starts small and doubles up to its size as it fills.

use xxhash_rust::xxh3::xxh3_64;

/// Inputs longer than this are not remembered (they rarely repeat, and would keep
/// large buffers alive).
const MAX_KEY: usize = 64;

/// A fixed-size, direct-mapped map from input text to a function's answer.
pub(crate) struct Memo<V> {
    slots: Vec<Option<(String, V)>>,
    /// Slots holding an answer.
    filled: usize,
    /// The most slots the memory grows to.
    max_slots: usize,
}

/// Slots of a memory at first use. It doubles whenever half its slots are filled,
/// up to its full size: a process that normalises a handful of values (one `lookup`)
/// touches a few pages instead of clearing the whole table.
const FIRST_SLOTS: usize = 64;

impl<V: Clone> Memo<V> {
    /// A memory of `1 << bits` slots; nothing is allocated until first use.
    pub(crate) fn new(bits: u32) -> Memo<V> {
        Memo {
            slots: Vec::new(),
            filled: 0,
            max_slots: 1usize << bits,
        }
    }

    /// Double the slots (or make the first ones), keeping what fits.
    fn grow(&mut self) {
        let len = if self.slots.is_empty() {
            FIRST_SLOTS.min(self.max_slots)
        } else {
            (self.slots.len() * 2).min(self.max_slots)
        };
        let old = std::mem::take(&mut self.slots);
        self.slots.resize_with(len, || None);
        self.filled = 0;
        let mask = len - 1;
        for (k, v) in old.into_iter().flatten() {
            let slot = &mut self.slots[xxh3_64(k.as_bytes()) as usize & mask];
            if slot.is_none() {
                self.filled += 1;
            }
            *slot = Some((k, v));
        }
    }

    /// `f(key)`, remembered: the stored answer when `key` was seen last in its slot,
    /// else `f(key)` (then stored).
    pub(crate) fn get_or_insert_with(&mut self, key: &str, f: impl FnOnce(&str) -> V) -> V {
        if key.len() > MAX_KEY {
            return f(key);
        }
        if self.slots.is_empty()
            || (self.filled * 2 >= self.slots.len() && self.slots.len() < self.max_slots)
        {
            self.grow();
        }
        let i = xxh3_64(key.as_bytes()) as usize & (self.slots.len() - 1);
        let Some(slot) = self.slots.get_mut(i) else {
            return f(key);
        };
        match slot {
            Some((k, v)) if k == key => v.clone(),
            Some((k, v)) => {
                let value = f(key);
                k.clear();
                k.push_str(key);
                v.clone_from(&value);
                value
            }
            None => {
                let value = f(key);
                *slot = Some((key.to_string(), value.clone()));
                self.filled += 1;
                value
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn remembers_and_overwrites() {
        let calls = std::cell::Cell::new(0);
        let len = |s: &str| {
            calls.set(calls.get() + 1);
            s.len()
        };
        // One slot: every new input replaces the last.
        let mut memo: Memo<usize> = Memo::new(0);
        assert_eq!(memo.get_or_insert_with("smith", len), 5);
        assert_eq!(memo.get_or_insert_with("smith", len), 5);
        assert_eq!(calls.get(), 1);
        assert_eq!(memo.get_or_insert_with("ab", len), 2);
        assert_eq!(memo.get_or_insert_with("smith", len), 5);
        assert_eq!(calls.get(), 3);
        let long = "x".repeat(MAX_KEY + 1);
        assert_eq!(memo.get_or_insert_with(&long, len), MAX_KEY + 1);
        assert_eq!(memo.get_or_insert_with(&long, len), MAX_KEY + 1);
        assert_eq!(calls.get(), 5);
    }

    #[test]
    fn grows_to_its_full_size_and_no_further() {
        let mut memo: Memo<usize> = Memo::new(8);
        assert!(memo.slots.is_empty());
        memo.get_or_insert_with("a", str::len);
        assert_eq!(memo.slots.len(), FIRST_SLOTS);
        for i in 0..10_000 {
            let key = format!("k{i}");
            assert_eq!(memo.get_or_insert_with(&key, str::len), key.len());
        }
        assert_eq!(memo.slots.len(), 256);
        assert_eq!(memo.filled, memo.slots.iter().flatten().count());
        // A memory smaller than the first size starts at its full size.
        let mut small: Memo<usize> = Memo::new(2);
        small.get_or_insert_with("a", str::len);
        assert_eq!(small.slots.len(), 4);
    }

    proptest! {
        #[test]
        fn answers_what_the_function_answers(
            words in proptest::collection::vec("[a-e]{0,4}", 0..400),
            bits in 0u32..9,
        ) {
            let mut memo: Memo<String> = Memo::new(bits);
            for w in &words {
                let got = memo.get_or_insert_with(w, |s| s.to_uppercase());
                prop_assert_eq!(got, w.to_uppercase());
            }
        }
    }
}
