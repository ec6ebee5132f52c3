//! Telephone numbers in E.164 (`+447911123456`), with the United Kingdom as the
//! region a number without a country code belongs to.
//!
//! Dumps hold millions of phone numbers, nearly all British, so UK numbers take a
//! hand-written path (digits copied to a stack buffer, the UK numbering plan's shapes
//! checked, one allocation for the answer); only numbers with another country code,
//! or that do not fit the UK plan, go to the `phonenumber` crate.
//!
//! ```
//! use leakscope::normalize::phone;
//! for raw in ["07911 123456", "+44 (0)7911 123456", "0044 7911 123456", "447911123456"] {
//!     assert_eq!(phone::canonical(raw).as_deref(), Some("+447911123456"));
//! }
//! assert_eq!(phone::canonical("+33 1 42 68 53 00").as_deref(), Some("+33142685300"));
//! ```

use phonenumber::{Mode, country};

/// Longest digit string considered: E.164 allows 15 digits, plus `00` and a trunk `0`.
const MAX_DIGITS: usize = 18;

/// The E.164 form of a phone number, or `None` when it is not a valid number.
///
/// Spaces, hyphens, dots, slashes and brackets are ignored; words before the number
/// (`Tel:`, `mob`) are skipped and anything after it that starts with a letter (`x12`,
/// `ext 4`, `(home)`) is dropped as an extension or note. A UK number may be written
/// nationally (`020 7946 0018`), with `+44`, `0044` or a bare `44`, with the trunk
/// zero in brackets (`+44 (0)20…`), or with that zero lost to a spreadsheet
/// (`7911123456`). A number a spreadsheet or pandas wrote as a float
/// (`447911123456.0`, `4.47911123456E+11`) is its digits, when every digit is there
/// (`4.47911E+11` may stand for any of a million numbers and is `None`).
pub fn canonical(raw: &str) -> Option<String> {
    if let Some(float) = float_digits(raw) {
        let (digits, n) = float?;
        // Only ASCII digits, which are not a float again.
        return canonical(std::str::from_utf8(digits.get(..n)?).ok()?);
    }
    let mut buf = [0u8; MAX_DIGITS];
    let mut n = 0;
    let mut plus = false;
    for &b in raw.as_bytes() {
        match b {
            b'0'..=b'9' => {
                *buf.get_mut(n)? = b;
                n += 1;
            }
            b'+' if n == 0 && !plus => plus = true,
            b' ' | b'\t' | b'-' | b'.' | b'(' | b')' | b'/' | b'\xC2' | b'\xA0' => {}
            _ if n == 0 && (b.is_ascii_alphabetic() || b == b':') => {}
            _ if n > 0 && b.is_ascii_alphabetic() => break,
            _ => return None,
        }
    }
    let digits = buf.get(..n)?;
    let international = if plus {
        Some(digits)
    } else if let Some(rest) = digits.strip_prefix(b"00") {
        Some(rest)
    } else if let Some(nsn) = digits.strip_prefix(b"0") {
        return uk(nsn);
    } else if digits.starts_with(b"44") && (n == 12 || (n == 13 && digits.get(2) == Some(&b'0'))) {
        Some(digits)
    } else if n == 10 && matches!(digits.first(), Some(b'1' | b'2' | b'3' | b'7')) {
        // A national number whose leading zero a spreadsheet dropped.
        return uk(digits);
    } else {
        None
    };
    match international {
        Some(d) => match d.strip_prefix(b"44") {
            Some(nsn) => uk(nsn.strip_prefix(b"0").unwrap_or(nsn)),
            None => foreign(d),
        },
        None => national_fallback(digits),
    }
}

/// The digits of a whole number written as a float: `447911123456.0` (pandas writes
/// a column with a blank cell that way; one or two zeros after the point) or
/// `4.47911123456E+11` (one digit before the point, and exactly as many after it as
/// the exponent, so no digit was lost to rounding: `4.47911E+11` may stand for any of
/// a million numbers and gives `Some(None)`). `None` for anything not shaped so: a
/// number written with a leading zero or with other separators is not a float.
fn float_digits(raw: &str) -> Option<Option<([u8; MAX_DIGITS], usize)>> {
    let t = raw.trim().as_bytes();
    // Most phone numbers have no point at all.
    let point = t.iter().position(|&b| b == b'.')?;
    let (int, rest) = t.split_at(point);
    let frac_and_exp = rest.get(1..)?;
    let all_digits = |b: &[u8]| !b.is_empty() && b.iter().all(u8::is_ascii_digit);
    if !all_digits(int) || int.first() == Some(&b'0') {
        return None;
    }
    let mut buf = [0u8; MAX_DIGITS];
    let exp_at = frac_and_exp.iter().position(|&b| b == b'e' || b == b'E');
    let digits: &[u8] = match exp_at {
        None => {
            // `447911123456.0`
            let zeros = frac_and_exp.len();
            if !(1..=2).contains(&zeros) || frac_and_exp.iter().any(|&b| b != b'0') {
                return None;
            }
            int
        }
        Some(e) => {
            // `4.47911123456E+11`
            let (frac, exp) = frac_and_exp.split_at(e);
            let exp = exp.get(1..)?;
            let exp = exp.strip_prefix(b"+").unwrap_or(exp);
            if int.len() != 1 || !all_digits(frac) || !all_digits(exp) || exp.len() > 2 {
                return None;
            }
            let exp = exp
                .iter()
                .fold(0usize, |acc, &b| acc * 10 + usize::from(b - b'0'));
            if frac.len() != exp || 1 + exp > MAX_DIGITS {
                return Some(None);
            }
            let n = 1 + frac.len();
            buf.get_mut(..1)?.copy_from_slice(int);
            buf.get_mut(1..n)?.copy_from_slice(frac);
            return Some(Some((buf, n)));
        }
    };
    // More digits than any phone number: no number, as before.
    let Some(head) = buf.get_mut(..digits.len()) else {
        return Some(None);
    };
    head.copy_from_slice(digits);
    Some(Some((buf, digits.len())))
}

/// `+44` and a UK national significant number (no trunk zero), when its shape is one
/// the UK numbering plan allocates.
fn uk(nsn: &[u8]) -> Option<String> {
    let first = *nsn.first()?;
    let second = *nsn.get(1)?;
    let ok = match (first, nsn.len()) {
        // Geographic numbers; a few small areas have nine digits.
        (b'1', 9 | 10) => true,
        // London, Southampton/Portsmouth, Coventry, Northern Ireland, Cardiff.
        (b'2', 10) => matches!(second, b'0' | b'3' | b'4' | b'8' | b'9'),
        // UK-wide numbers charged as geographic.
        (b'3', 10) => matches!(second, b'0' | b'3' | b'4' | b'7'),
        // Corporate and VoIP.
        (b'5', 10) => matches!(second, b'5' | b'6'),
        // Mobiles, pagers, personal numbers.
        (b'7', 10) => true,
        // Freephone and special rate; 0800 also has nine-digit numbers.
        (b'8', 9) => nsn.starts_with(b"800"),
        (b'8', 10) => matches!(second, b'0' | b'4' | b'7'),
        // Premium rate.
        (b'9', 10) => matches!(second, b'0' | b'1' | b'8'),
        _ => false,
    };
    if !ok {
        return None;
    }
    let mut out = String::with_capacity(3 + nsn.len());
    out.push_str("+44");
    // The buffer holds only ASCII digits.
    out.extend(nsn.iter().map(|&b| b as char));
    Some(out)
}

/// A number with a country code other than 44, checked by the `phonenumber` crate.
fn foreign(digits: &[u8]) -> Option<String> {
    let mut text = String::with_capacity(digits.len() + 1);
    text.push('+');
    text.extend(digits.iter().map(|&b| b as char));
    let number = phonenumber::parse(None, &text).ok()?;
    phonenumber::is_valid(&number).then(|| number.format().mode(Mode::E164).to_string())
}

/// A number with no country code that is not a UK shape: let the `phonenumber` crate
/// judge it as a GB number (it knows the plan's rarer corners).
fn national_fallback(digits: &[u8]) -> Option<String> {
    if digits.len() < 6 {
        return None;
    }
    let text: String = digits.iter().map(|&b| b as char).collect();
    let number = phonenumber::parse(Some(country::Id::GB), &text).ok()?;
    phonenumber::is_valid(&number).then(|| number.format().mode(Mode::E164).to_string())
}

/// The digits of a canonical phone number from the last one backwards: the
/// subscriber number, whatever country code or trunk prefix came before it.
pub fn tail(phone: &str) -> impl Iterator<Item = u8> + '_ {
    phone.bytes().rev().filter(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn uk_mobile_written_every_way() {
        for raw in [
            "07911 123456",
            "07911123456",
            "+44 7911 123456",
            "+44 (0)7911 123456",
            "+44(0)7911-123-456",
            "0044 7911 123456",
            "447911123456",
            "4407911123456",
            "7911123456",
            "(07911) 123 456",
            "07911.123.456",
            "Tel: 07911 123456",
            "mob 07911 123456 (work)",
            " 07911\u{a0}123456 ",
        ] {
            assert_eq!(canonical(raw).as_deref(), Some("+447911123456"), "{raw:?}");
        }
    }

    #[test]
    fn uk_landlines_and_special_numbers() {
        assert_eq!(canonical("020 7946 0018").as_deref(), Some("+442079460018"));
        assert_eq!(
            canonical("(020) 7946-0018").as_deref(),
            Some("+442079460018")
        );
        assert_eq!(canonical("0161 496 0000").as_deref(), Some("+441614960000"));
        assert_eq!(canonical("029 2018 0123").as_deref(), Some("+442920180123"));
        assert_eq!(canonical("0300 123 4567").as_deref(), Some("+443001234567"));
        assert_eq!(canonical("0800 123 456").as_deref(), Some("+44800123456"));
        assert_eq!(canonical("0800 123 4567").as_deref(), Some("+448001234567"));
        assert_eq!(
            canonical("01632 960001 x23").as_deref(),
            Some("+441632960001")
        );
    }

    #[test]
    fn foreign_numbers_keep_their_country() {
        assert_eq!(
            canonical("+33 1 42 68 53 00").as_deref(),
            Some("+33142685300")
        );
        assert_eq!(
            canonical("0033 1 42 68 53 00").as_deref(),
            Some("+33142685300")
        );
        assert_eq!(
            canonical("+1 (202) 456-1111").as_deref(),
            Some("+12024561111")
        );
        assert_eq!(
            canonical("+353 87 123 4567").as_deref(),
            Some("+353871234567")
        );
    }

    #[test]
    fn invalid_numbers_are_none() {
        for raw in [
            "",
            "n/a",
            "0",
            "12345",
            "07911 12345",
            "07911 1234567",
            "021 1234 5678",
            "+44 21 1234 5678",
            "2125551234",
            "+999 123",
            "07911 123456 / 07922 654321 0",
            "07911 123456 !",
            "++447911123456",
            "07911 123456 0000000000000000",
            // A float that lost digits to rounding, or that is not a whole number.
            "4.47911E+11",
            "4.479111001010E+11",
            "4.47911100101E+12",
            "447911100101.5",
            "4479111001010000000.0",
        ] {
            assert_eq!(canonical(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn floats_a_spreadsheet_wrote_are_their_digits() {
        for raw in [
            "447911123456.0",
            " 447911123456.00 ",
            "7911123456.0",
            "4.47911123456E+11",
            "4.47911123456e+11",
            "4.47911123456E11",
        ] {
            assert_eq!(canonical(raw).as_deref(), Some("+447911123456"), "{raw:?}");
        }
        assert_eq!(
            canonical("442079460018.0").as_deref(),
            Some("+442079460018")
        );
        // Dots as separators are not a float (a leading zero, or not zeros after).
        assert_eq!(canonical("07911.123456").as_deref(), Some("+447911123456"));
        assert_eq!(canonical("0791112345.0"), canonical("07911123450"));
    }

    /// On allocated numbers the fast path and the crate agree. The fast path is more
    /// lenient (it accepts Ofcom's drama range `07700 900xxx`, which the crate
    /// rejects): keys need consistency, not proof a number was ever issued.
    #[test]
    fn fast_path_agrees_with_phonenumber() {
        assert_eq!(canonical("07700 900123").as_deref(), Some("+447700900123"));
        assert_eq!(canonical("01632 960001").as_deref(), Some("+441632960001"));
        for raw in [
            "07911 123456",
            "020 7946 0018",
            "0113 496 0000",
            "0161 496 0000",
            "028 9018 0000",
            "0300 123 4567",
            "0800 123 4567",
            "01223 123456",
            "07400 123456",
        ] {
            let lib = phonenumber::parse(Some(country::Id::GB), raw)
                .ok()
                .filter(phonenumber::is_valid)
                .map(|n| n.format().mode(Mode::E164).to_string());
            assert_eq!(canonical(raw), lib, "{raw:?}");
        }
    }

    proptest! {
        #[test]
        fn canonical_is_idempotent(s in "\\PC{0,30}") {
            if let Some(c) = canonical(&s) {
                prop_assert!(c.starts_with('+'));
                prop_assert_eq!(canonical(&c), Some(c.clone()));
            }
        }

        #[test]
        fn float_shapes_never_panic(s in "[0-9]{0,20}(\\.[0-9]{0,20})?([eE][+-]?[0-9]{0,3})?") {
            if let Some(c) = canonical(&s) {
                prop_assert_eq!(canonical(&c), Some(c.clone()));
            }
        }

        #[test]
        fn uk_mobiles_round_trip(rest in "[1-9][0-9]{8}") {
            let national = format!("07{rest}");
            let c = canonical(&national);
            prop_assert_eq!(c.clone(), Some(format!("+447{rest}")));
            prop_assert_eq!(canonical(&format!("+44 (0)7{rest}")), c);
        }
    }
}
