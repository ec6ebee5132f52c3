//! Postcodes: upper-case without spaces (`sw1a 1aa` → `SW1A1AA`), UK shapes checked
//! against the Royal Mail format, foreign codes (`75008`, `K1A 0B6`) kept as written.
//!
//! ```
//! use leakscope::normalize::postcode;
//! assert_eq!(postcode::canonical("sw1a 1aa").as_deref(), Some("SW1A1AA"));
//! assert!(postcode::is_uk("SW1A1AA"));
//! assert_eq!(postcode::outward("SW1A1AA"), Some("SW1A"));
//! assert_eq!(postcode::find_in("10 Downing St, London SW1A 2AA").as_deref(), Some("SW1A2AA"));
//! ```

/// The canonical postcode: ASCII letters upper-cased, spaces and hyphens removed.
/// A UK shape is accepted as is; anything else is kept when it could be a foreign
/// postal code (3 to 10 letters and digits, at least one digit). Other characters,
/// or no digit at all (`London`, `N/A`), give `None`.
pub fn canonical(raw: &str) -> Option<String> {
    // Built on the stack: one allocation, for the answer.
    let mut buf = [0u8; 10];
    let mut n = 0;
    for b in raw.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => {
                *buf.get_mut(n)? = b.to_ascii_uppercase();
                n += 1;
            }
            b' ' | b'\t' | b'-' => {}
            _ => return None,
        }
    }
    let code = std::str::from_utf8(buf.get(..n)?).ok()?;
    if is_uk(code) || (n >= 3 && code.bytes().any(|b| b.is_ascii_digit())) {
        return Some(code.to_string());
    }
    None
}

/// Whether a canonical postcode has a UK shape: an outward code (`A9`, `A99`, `AA9`,
/// `AA99`, `A9A`, `AA9A`, with the letters Royal Mail allows in each position) and an
/// inward code (`9AA`, without C, I, K, M, O or V), or the special `GIR0AA`.
pub fn is_uk(canonical: &str) -> bool {
    let b = canonical.as_bytes();
    if !(5..=7).contains(&b.len()) {
        return false;
    }
    if b == b"GIR0AA" {
        return true;
    }
    let (out, inw) = b.split_at(b.len() - 3);
    let inward_ok =
        matches!(inw, [d, x, y] if d.is_ascii_digit() && inward_letter(*x) && inward_letter(*y));
    inward_ok && outward_ok(out)
}

fn inward_letter(b: u8) -> bool {
    b.is_ascii_uppercase() && !matches!(b, b'C' | b'I' | b'K' | b'M' | b'O' | b'V')
}

fn first_letter(b: u8) -> bool {
    b.is_ascii_uppercase() && !matches!(b, b'Q' | b'V' | b'X')
}

fn second_letter(b: u8) -> bool {
    b.is_ascii_uppercase() && !matches!(b, b'I' | b'J' | b'Z')
}

fn outward_ok(out: &[u8]) -> bool {
    let digit = |b: &u8| b.is_ascii_digit();
    match out {
        [a, n] => first_letter(*a) && digit(n),
        [a, n, m] if digit(n) && digit(m) => first_letter(*a),
        [a, n, l] if digit(n) => first_letter(*a) && b"ABCDEFGHJKPSTUW".contains(l),
        [a, b, n] => first_letter(*a) && second_letter(*b) && digit(n),
        [a, b, n, m] if digit(m) => first_letter(*a) && second_letter(*b) && digit(n),
        [a, b, n, l] => {
            first_letter(*a) && second_letter(*b) && digit(n) && b"ABEHMNPRVWXY".contains(l)
        }
        _ => false,
    }
}

/// The outward code (postcode district) of a canonical UK postcode: `SW1A` of
/// `SW1A1AA`, `M1` of `M11AE`. `None` for a foreign code.
pub fn outward(canonical: &str) -> Option<&str> {
    if is_uk(canonical) {
        canonical.get(..canonical.len() - 3)
    } else {
        None
    }
}

/// The canonical UK postcode in a free address line (`Flat 3, 12a High St, London
/// SW1A 1AA`), written with or without its space. The last one wins: a postcode ends
/// an address. The same reading as `address::parse`, so a lookup's postcode is the
/// one the index took from the same line.
pub fn find_in(text: &str) -> Option<String> {
    super::address::last_postcode(text)
}

/// A UK postcode's outward code and sector digit (`SW1A1AA` → `SW1A`, `1`), for
/// comparing neighbouring postcodes; `None` for anything not shaped like one
/// (foreign codes are compared exactly only).
pub fn uk_parts(postcode: &str) -> Option<(&str, u8)> {
    let bytes = postcode.as_bytes();
    if !(5..=7).contains(&bytes.len()) || !postcode.is_ascii() {
        return None;
    }
    let split = bytes.len() - 3;
    let (outward, inward) = bytes.split_at(split);
    let shaped = outward.first().is_some_and(u8::is_ascii_uppercase)
        && outward.iter().all(u8::is_ascii_alphanumeric)
        && matches!(inward, [d, a, b] if d.is_ascii_digit()
            && a.is_ascii_uppercase() && b.is_ascii_uppercase());
    if !shaped {
        return None;
    }
    Some((postcode.get(..split)?, *inward.first()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn uk_postcodes_of_every_shape() {
        for (raw, want) in [
            ("sw1a 1aa", "SW1A1AA"),
            ("SW1A1AA", "SW1A1AA"),
            (" Sw1A  1aA ", "SW1A1AA"),
            ("M1 1AE", "M11AE"),
            ("B33 8TH", "B338TH"),
            ("CR2 6XH", "CR26XH"),
            ("DN55 1PT", "DN551PT"),
            ("W1A 0AX", "W1A0AX"),
            ("EC1A 1BB", "EC1A1BB"),
            ("GIR 0AA", "GIR0AA"),
            ("BT1-1AA", "BT11AA"),
        ] {
            assert_eq!(canonical(raw).as_deref(), Some(want), "{raw}");
            assert!(is_uk(want), "{want}");
        }
    }

    #[test]
    fn foreign_codes_are_kept_not_uk() {
        for (raw, want) in [
            ("75008", "75008"),
            ("10115", "10115"),
            ("K1A 0B6", "K1A0B6"),
            ("1012 ab", "1012AB"),
            ("90210-1234", "902101234"),
            ("D02 X285", "D02X285"),
        ] {
            assert_eq!(canonical(raw).as_deref(), Some(want), "{raw}");
            assert!(!is_uk(want), "{want}");
            assert_eq!(outward(want), None);
        }
    }

    #[test]
    fn not_postcodes() {
        for raw in [
            "",
            "London",
            "N/A",
            "12",
            "SW1A 1AA!",
            "12345678901",
            "SW1A·1AA",
        ] {
            assert_eq!(canonical(raw), None, "{raw:?}");
        }
        // Letters Royal Mail never uses in those positions.
        for bad in ["QA11AA", "SW1A1CA", "VA11AA", "AZ11AA", "A1I1AA", "AB1C1AA"] {
            assert!(!is_uk(bad), "{bad}");
        }
    }

    #[test]
    fn outward_codes() {
        assert_eq!(outward("SW1A1AA"), Some("SW1A"));
        assert_eq!(outward("M11AE"), Some("M1"));
        assert_eq!(outward("DN551PT"), Some("DN55"));
        assert_eq!(outward("75008"), None);
    }

    #[test]
    fn postcodes_found_in_address_lines() {
        for (line, want) in [
            ("Flat 3, 12a High St, London SW1A 1AA", Some("SW1A1AA")),
            ("12 High St London sw1a1aa", Some("SW1A1AA")),
            ("1 Deansgate, Manchester, M3 1AZ.", Some("M31AZ")),
            ("SW1A 1AA", Some("SW1A1AA")),
            ("B33 8TH Birmingham", Some("B338TH")),
            ("12 High Street, London", None),
            ("Flat 3A, 12 High St", None),
            ("", None),
            ("Zoë12 3AB", None),
        ] {
            assert_eq!(find_in(line).as_deref(), want, "{line}");
        }
    }

    proptest! {
        #[test]
        fn canonical_is_idempotent(s in "\\PC{0,12}") {
            if let Some(c) = canonical(&s) {
                prop_assert_eq!(canonical(&c), Some(c.clone()));
            }
        }

        #[test]
        fn find_in_never_panics_and_finds_uk(s in "\\PC{0,40}") {
            if let Some(pc) = find_in(&s) {
                prop_assert!(is_uk(&pc));
                prop_assert_eq!(canonical(&pc), Some(pc.clone()));
            }
        }

        #[test]
        fn spaced_and_unspaced_agree(out in "[A-PR-UWYZ][A-HK-Y]?[0-9]", inw in "[0-9][ABD-HJLNP-UW-Z]{2}") {
            let joined = canonical(&format!("{out}{inw}"));
            prop_assert!(joined.as_deref().is_some_and(is_uk));
            prop_assert_eq!(canonical(&format!(" {} {} ", out.to_lowercase(), inw)), joined.clone());
            prop_assert_eq!(find_in(&format!("1 High St, {out} {inw}")), joined);
        }
    }
}
