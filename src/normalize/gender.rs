//! Gender or sex as recorded: `b'm'`, `b'f'` or `b'x'` (any other recorded
//! gender), or nothing when the record says it is unknown.
//!
//! ```
//! use leakscope::normalize::gender;
//! assert_eq!(gender::canonical(" Female "), Some(b'f'));
//! assert_eq!(gender::canonical("Not known"), None);
//! ```

/// Reads the common spellings (`M`, `male`, `Man`, `F`, `woman`, `X`,
/// `non-binary`, `other`…) and the ISO/IEC 5218 and NHS codes `1` (male) and `2`
/// (female). Unknown, withheld and unrecognised values (`U`, `0`, `9`, `prefer not
/// to say`) are `None`: a missing gender never argues against a match.
pub fn canonical(raw: &str) -> Option<u8> {
    let t = raw.trim();
    if t.len() > 24 {
        return None;
    }
    let mut buf = [0u8; 24];
    let mut n = 0;
    for b in t.bytes() {
        // Compare letters and digits only: `Non-Binary`, `non binary` and `nonbinary` agree.
        if b.is_ascii_alphanumeric() {
            let slot = buf.get_mut(n)?;
            *slot = b.to_ascii_lowercase();
            n += 1;
        }
    }
    match buf.get(..n)? {
        b"m" | b"male" | b"man" | b"boy" | b"mr" | b"1" => Some(b'm'),
        b"f" | b"female" | b"woman" | b"girl" | b"w" | b"mrs" | b"ms" | b"miss" | b"2" => {
            Some(b'f')
        }
        b"x" | b"nonbinary" | b"nb" | b"enby" | b"other" | b"o" | b"intersex"
        | b"indeterminate" | b"genderqueer" | b"agender" => Some(b'x'),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn common_spellings() {
        for raw in ["M", "m", "Male", "MALE", " man ", "1", "Mr"] {
            assert_eq!(canonical(raw), Some(b'm'), "{raw}");
        }
        for raw in ["F", "female", "Woman", "2", "Mrs", "W"] {
            assert_eq!(canonical(raw), Some(b'f'), "{raw}");
        }
        for raw in ["X", "Non-Binary", "non binary", "Other", "Indeterminate"] {
            assert_eq!(canonical(raw), Some(b'x'), "{raw}");
        }
        for raw in [
            "",
            "U",
            "unknown",
            "Not known",
            "0",
            "9",
            "prefer not to say",
            "mf",
        ] {
            assert_eq!(canonical(raw), None, "{raw}");
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_canonical_reads_back(s in "\\PC{0,30}") {
            if let Some(g) = canonical(&s) {
                prop_assert!(matches!(g, b'm' | b'f' | b'x'));
                let text = [g];
                let text = std::str::from_utf8(&text).unwrap_or_default();
                prop_assert_eq!(canonical(text), Some(g));
            }
        }
    }
}
