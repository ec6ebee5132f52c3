//! A small per-thread memory of a normaliser's answers, for values that repeat
//! heavily across a dump's records (family names, streets).
//!
//! It only remembers what the wrapped function returned for the same input, so the
//! one path from raw value to canonical form stays the function itself: a hit gives
//! exactly the answer a call would. Direct-mapped and of fixed size: a slot is
//! overwritten by the next input that hashes to it, so memory stays bounded, nothing
//! is ever cleared in bulk, and a slot's key buffer is reused without allocating.

use xxhash_rust::xxh3::xxh3_64;

/// Inputs longer than this are not remembered (they rarely repeat, and would keep
/// large buffers alive).
const MAX_KEY: usize = 64;

/// A fixed-size, direct-mapped map from input text to a function's answer.
pub(crate) struct Memo<V> {
    slots: Vec<Option<(String, V)>>,
    mask: usize,
}

impl<V: Clone> Memo<V> {
    /// A memory of `1 << bits` slots; nothing is allocated until first use.
    pub(crate) fn new(bits: u32) -> Memo<V> {
        Memo {
            slots: Vec::new(),
            mask: (1usize << bits) - 1,
        }
    }

    /// `f(key)`, remembered: the stored answer when `key` was seen last in its slot,
    /// else `f(key)` (then stored).
    pub(crate) fn get_or_insert_with(&mut self, key: &str, f: impl FnOnce(&str) -> V) -> V {
        if key.len() > MAX_KEY {
            return f(key);
        }
        if self.slots.is_empty() {
            self.slots.resize_with(self.mask + 1, || None);
        }
        let i = xxh3_64(key.as_bytes()) as usize & self.mask;
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

    proptest! {
        #[test]
        fn answers_what_the_function_answers(words in proptest::collection::vec("[a-c]{0,3}", 0..200)) {
            let mut memo: Memo<String> = Memo::new(3);
            for w in &words {
                let got = memo.get_or_insert_with(w, |s| s.to_uppercase());
                prop_assert_eq!(got, w.to_uppercase());
            }
        }
    }
}
