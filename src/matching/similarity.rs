//! Jaro-Winkler similarity without allocation, for the comparisons that run once per
//! candidate record.
//!
//! Names and street lines reach comparison ASCII-folded, and are short, so the
//! common case is two ASCII strings of at most 64 bytes: then which characters are
//! matched is kept in two `u64` masks on the stack, and the bytes are compared
//! directly. Anything else (non-ASCII, longer lines) goes to `strsim`. Both paths
//! give the same number, bit for bit: a threshold test must not depend on which
//! path a string took.

/// Longest string (in bytes) the mask path handles: one bit per byte in a `u64`.
const MASK_BITS: usize = 64;

/// Only a Jaro similarity above this earns the common-prefix boost.
const BOOST_FROM: f64 = 0.7;

/// Longest common prefix that is rewarded.
const MAX_PREFIX: usize = 4;

/// Weight of each rewarded prefix character.
const PREFIX_SCALE: f64 = 0.1;

/// The Jaro-Winkler similarity of `a` and `b`, in `[0, 1]`; equal to
/// `strsim::jaro_winkler(a, b)`.
pub(crate) fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if x.len() > MASK_BITS || y.len() > MASK_BITS || !a.is_ascii() || !b.is_ascii() {
        return strsim::jaro_winkler(a, b);
    }
    let sim = jaro_ascii(x, y);
    if sim <= BOOST_FROM {
        return sim;
    }
    let prefix = x
        .iter()
        .zip(y)
        .take(MAX_PREFIX)
        .take_while(|(p, q)| p == q)
        .count();
    // Same operation order as strsim, so that rounding agrees too.
    sim + PREFIX_SCALE * prefix as f64 * (1.0 - sim)
}

/// Jaro similarity of two byte strings of at most [`MASK_BITS`] bytes.
fn jaro_ascii(a: &[u8], b: &[u8]) -> f64 {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return 1.0,
        (true, false) | (false, true) => return 0.0,
        (false, false) => {}
    }
    // Characters match when equal and no further apart than this.
    let reach = (a.len().max(b.len()) / 2).saturating_sub(1);
    let (mut a_hit, mut b_hit) = (0u64, 0u64);
    let mut matches = 0u32;
    for (i, &c) in a.iter().enumerate() {
        let lo = i.saturating_sub(reach);
        let hi = (i + reach + 1).min(b.len());
        let Some(window) = b.get(lo..hi) else {
            continue;
        };
        // Each character of `b` is matched at most once, the leftmost free one first.
        if let Some(j) = window
            .iter()
            .enumerate()
            .position(|(k, &d)| d == c && b_hit & (1u64 << (lo + k)) == 0)
        {
            b_hit |= 1u64 << (lo + j);
            a_hit |= 1u64 << i;
            matches += 1;
        }
    }
    if matches == 0 {
        return 0.0;
    }
    // Half the matched characters that are out of order.
    let mut out_of_order = 0u32;
    let (mut ra, mut rb) = (a_hit, b_hit);
    while ra != 0 && rb != 0 {
        let (i, j) = (ra.trailing_zeros() as usize, rb.trailing_zeros() as usize);
        if a.get(i) != b.get(j) {
            out_of_order += 1;
        }
        ra &= ra - 1;
        rb &= rb - 1;
    }
    let transpositions = out_of_order / 2;
    let m = f64::from(matches);
    (m / a.len() as f64 + m / b.len() as f64 + f64::from(matches - transpositions) / m) / 3.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same_as_strsim(a: &str, b: &str) -> Result<(), TestCaseError> {
        let ours = jaro_winkler(a, b);
        let theirs = strsim::jaro_winkler(a, b);
        prop_assert_eq!(ours.to_bits(), theirs.to_bits(), "{:?} {:?}", a, b);
        Ok(())
    }

    #[test]
    fn known_values() {
        let close = |a: &str, b: &str, want: f64| {
            let got = jaro_winkler(a, b);
            assert!((got - want).abs() < 1e-3, "{a} {b}: {got}");
        };
        close("martha", "marhta", 0.961);
        close("dwayne", "duane", 0.84);
        close("dixon", "dicksonx", 0.813);
        close("jonathon", "jonathan", 0.95);
        assert_eq!(jaro_winkler("", ""), 1.0);
        assert_eq!(jaro_winkler("a", ""), 0.0);
        assert_eq!(jaro_winkler("abc", "xyz"), 0.0);
        assert_eq!(jaro_winkler("smith", "smith"), 1.0);
    }

    #[test]
    fn matches_strsim_on_fixed_cases() {
        let cases = [
            ("high street", "high stret"),
            ("flat b high stret", "high street"),
            ("thompson", "thomson"),
            ("aab", "aba"),
            ("abcdefghij", "jihgfedcba"),
            ("a", "aaaaaaaaaaaaaaaaaaaaaa"),
            ("crate", "trace"),
            ("zoë", "zoe"),
        ];
        for (a, b) in cases {
            assert_eq!(
                jaro_winkler(a, b).to_bits(),
                strsim::jaro_winkler(a, b).to_bits(),
                "{a} {b}"
            );
        }
        // Longer than the mask: the fallback path.
        let long = "a".repeat(70);
        assert_eq!(jaro_winkler(&long, &long), 1.0);
    }

    proptest! {
        #[test]
        fn equals_strsim_on_small_alphabets(a in "[abc ]{0,14}", b in "[abc ]{0,14}") {
            same_as_strsim(&a, &b)?;
        }

        #[test]
        fn equals_strsim_on_names(a in "[a-z]{0,12}", b in "[a-z]{0,12}") {
            same_as_strsim(&a, &b)?;
        }

        #[test]
        fn equals_strsim_on_long_and_unicode(a in "[a-d]{50,80}", b in "[a-d]{50,80}", u in "\\PC{0,20}") {
            same_as_strsim(&a, &b)?;
            same_as_strsim(&u, &a)?;
            same_as_strsim(&u, &u)?;
        }

        #[test]
        fn is_symmetric_bounded_and_reflexive(a in "[a-f ]{0,30}", b in "[a-f ]{0,30}") {
            let ab = jaro_winkler(&a, &b);
            prop_assert!((0.0..=1.0).contains(&ab));
            prop_assert_eq!(jaro_winkler(&a, &a), 1.0);
            // Jaro itself is symmetric; the prefix boost is too.
            prop_assert!((ab - jaro_winkler(&b, &a)).abs() < 1e-12);
        }
    }
}
