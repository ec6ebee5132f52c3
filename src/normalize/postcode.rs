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
///
/// Before that, trailing `.`, `,`, `;` and `:` are dropped (`E1 6AN.`), and so is a
/// country after a UK postcode (`E2 8AA, UK`, `United Kingdom`, `GB`, `England`…).
/// A code that is a UK postcode but for a letter O written for a zero, or I for a
/// one, or the other way round (`SW1A OAA`), is that postcode ([`misread_uk`]).
pub fn canonical(raw: &str) -> Option<String> {
    let text = trim_end_punctuation(raw);
    let code = compact(text);
    if let Some(code) = &code
        && let Some(uk) = uk_or_misread(code.as_str())
    {
        return Some(uk);
    }
    if let Some(rest) = strip_country(text)
        && let Some(rest) = compact(trim_end_punctuation(rest))
        && let Some(uk) = uk_or_misread(rest.as_str())
    {
        return Some(uk);
    }
    let code = code?;
    let code = code.as_str();
    (code.len() >= 3 && code.bytes().any(|b| b.is_ascii_digit())).then(|| code.to_string())
}

/// Up to ten upper-case ASCII letters and digits, built on the stack.
struct Compact {
    buf: [u8; 10],
    len: usize,
}

impl Compact {
    fn as_str(&self) -> &str {
        // Only ASCII letters and digits are ever written.
        std::str::from_utf8(self.buf.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

/// The letters and digits of `text`, upper-cased, spaces, tabs and hyphens
/// dropped; `None` when it holds anything else or more than ten of them.
fn compact(text: &str) -> Option<Compact> {
    let mut c = Compact {
        buf: [0; 10],
        len: 0,
    };
    for b in text.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => {
                *c.buf.get_mut(c.len)? = b.to_ascii_uppercase();
                c.len += 1;
            }
            b' ' | b'\t' | b'-' => {}
            _ => return None,
        }
    }
    Some(c)
}

/// `text` without surrounding whitespace and trailing `.`, `,`, `;`, `:`.
fn trim_end_punctuation(text: &str) -> &str {
    text.trim()
        .trim_end_matches(|c: char| matches!(c, '.' | ',' | ';' | ':') || c.is_whitespace())
}

/// Country names written after a UK postcode, lower-case (`U.K.` has lost its last
/// point to [`trim_end_punctuation`]).
const UK_COUNTRIES: [&str; 11] = [
    "uk",
    "u.k",
    "gb",
    "g.b",
    "united kingdom",
    "great britain",
    "britain",
    "england",
    "scotland",
    "wales",
    "northern ireland",
];

/// `text` without a UK country name that ends it after a space, comma or hyphen, or
/// in brackets (`CO1 1AA (UK)`).
fn strip_country(text: &str) -> Option<&str> {
    let is_country = |name: &str| {
        let name = name.trim().trim_end_matches('.');
        UK_COUNTRIES.iter().any(|c| name.eq_ignore_ascii_case(c))
    };
    for (open, close) in [('(', ')'), ('[', ']')] {
        if let Some(inner) = text.strip_suffix(close)
            && let Some(at) = inner.rfind(open)
            && let (Some(head), Some(name)) = (inner.get(..at), inner.get(at + 1..))
            && is_country(name)
        {
            return Some(
                head.trim_end_matches(|c: char| c == ',' || c == '-' || c.is_whitespace()),
            );
        }
    }
    UK_COUNTRIES.iter().find_map(|country| {
        let cut = text.len().checked_sub(country.len())?;
        let tail = text.get(cut..)?;
        let head = text.get(..cut)?;
        (tail.eq_ignore_ascii_case(country)
            && head.ends_with(|c: char| c == ',' || c == '-' || c.is_whitespace()))
        .then(|| head.trim_end_matches(|c: char| c == ',' || c == '-' || c.is_whitespace()))
    })
}

/// `code` when it is a UK postcode, else the postcode [`misread_uk`] finds in it.
fn uk_or_misread(code: &str) -> Option<String> {
    if is_uk(code) {
        Some(code.to_string())
    } else {
        misread_uk(code)
    }
}

/// The postcode areas (the letters before the district number) Royal Mail uses,
/// with BFPO's `BF`, the non-geographic `BX` and `GIR`.
const AREAS: &[&str] = &[
    "AB", "AL", "B", "BA", "BB", "BD", "BF", "BH", "BL", "BN", "BR", "BS", "BT", "BX", "CA", "CB",
    "CF", "CH", "CM", "CO", "CR", "CT", "CV", "CW", "DA", "DD", "DE", "DG", "DH", "DL", "DN", "DT",
    "DY", "E", "EC", "EH", "EN", "EX", "FK", "FY", "G", "GIR", "GL", "GU", "GY", "HA", "HD", "HG",
    "HP", "HR", "HS", "HU", "HX", "IG", "IM", "IP", "IV", "JE", "KA", "KT", "KW", "KY", "L", "LA",
    "LD", "LE", "LL", "LN", "LS", "LU", "M", "ME", "MK", "ML", "N", "NE", "NG", "NN", "NP", "NR",
    "NW", "OL", "OX", "PA", "PE", "PH", "PL", "PO", "PR", "RG", "RH", "RM", "S", "SA", "SE", "SG",
    "SK", "SL", "SM", "SN", "SO", "SP", "SR", "SS", "ST", "SW", "SY", "TA", "TD", "TF", "TN", "TQ",
    "TR", "TS", "TW", "UB", "W", "WA", "WC", "WD", "WF", "WN", "WR", "WS", "WV", "YO", "ZE",
];

/// Whether a UK-shaped postcode's area is one Royal Mail uses.
fn known_area(uk: &str) -> bool {
    let letters = uk.bytes().take_while(u8::is_ascii_uppercase).count();
    uk.get(..letters).is_some_and(|area| AREAS.contains(&area))
}

/// The UK postcode a compact code spells when letters O and I are read for the
/// digits 0 and 1 they look like, or the digits for the letters (`SW1AOAA` →
/// `SW1A0AA`, `0L11AA` → `OL11AA`): of the codes that exchange some of those
/// characters, the ones that are UK postcodes of a known area, with the fewest
/// characters exchanged, when there is exactly one. Anything else (a foreign code,
/// `1012AB`, which `I012AB` would be, is not; a code two postcodes could be) is
/// `None`, and the caller keeps the code as it was.
pub fn misread_uk(code: &str) -> Option<String> {
    let b = code.as_bytes();
    if !(5..=7).contains(&b.len()) {
        return None;
    }
    let mut at = [0usize; 7];
    let mut k = 0;
    for (i, c) in b.iter().enumerate() {
        if matches!(c, b'O' | b'0' | b'I' | b'1') {
            *at.get_mut(k)? = i;
            k += 1;
        }
    }
    let mut best: Option<([u8; 7], u32)> = None;
    let mut tied = false;
    for mask in 1u32..(1 << k) {
        let mut v = [0u8; 7];
        v.get_mut(..b.len())?.copy_from_slice(b);
        for (bit, &i) in at.iter().take(k).enumerate() {
            if mask & (1 << bit) != 0 {
                let c = v.get_mut(i)?;
                *c = match *c {
                    b'O' => b'0',
                    b'0' => b'O',
                    b'I' => b'1',
                    _ => b'I',
                };
            }
        }
        let text = std::str::from_utf8(v.get(..b.len())?).ok()?;
        if !(is_uk(text) && known_area(text)) {
            continue;
        }
        let changes = mask.count_ones();
        match best {
            Some((_, c)) if c < changes => {}
            Some((_, c)) if c == changes => tied = true,
            _ => {
                best = Some((v, changes));
                tied = false;
            }
        }
    }
    let (v, _) = best.filter(|_| !tied)?;
    Some(std::str::from_utf8(v.get(..b.len())?).ok()?.to_string())
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
    fn trailing_punctuation_and_countries_are_dropped() {
        for (raw, want) in [
            ("E1 6AN.", "E16AN"),
            ("E1 6AN,", "E16AN"),
            ("E1 6AN ;", "E16AN"),
            ("E2 8AA, UK", "E28AA"),
            ("E2 8AA UK", "E28AA"),
            ("E2 8AA, U.K.", "E28AA"),
            ("e2 8aa, united kingdom", "E28AA"),
            ("E2 8AA United Kingdom.", "E28AA"),
            ("E2 8AA, GB", "E28AA"),
            ("E2 8AA - England", "E28AA"),
            ("SW1A OAA, UK", "SW1A0AA"),
            ("CO1 1AA (UK)", "CO11AA"),
            ("CO1 1AA, (U.K.)", "CO11AA"),
            ("co1 1aa [England]", "CO11AA"),
            ("75008.", "75008"),
            // A postcode ending in GB is not a country.
            ("W1 1GB", "W11GB"),
        ] {
            assert_eq!(canonical(raw).as_deref(), Some(want), "{raw:?}");
        }
        // A country is dropped after a UK postcode only; as before otherwise.
        assert_eq!(canonical("75008, France"), None);
        assert_eq!(canonical("12345 UK").as_deref(), Some("12345UK"));
        assert_eq!(canonical("CO1 1AA (Essex)"), None);
    }

    #[test]
    fn o_for_zero_and_i_for_one_are_read_as_uk_shape_demands() {
        for (raw, want) in [
            ("SW1A OAA", "SW1A0AA"),
            ("SWIA 0AA", "SW1A0AA"),
            ("SW1A IAA", "SW1A1AA"),
            ("0L1 1AA", "OL11AA"),
            ("0X1 OAA", "OX10AA"),
            ("1G1 1AA", "IG11AA"),
            ("GIR OAA", "GIR0AA"),
            ("SW1O 1AA", "SW101AA"),
            ("e1 6an", "E16AN"),
        ] {
            assert_eq!(canonical(raw).as_deref(), Some(want), "{raw:?}");
        }
        // Foreign codes keep their letters and digits.
        for (raw, want) in [
            ("1012 AB", "1012AB"),
            ("1234 AB", "1234AB"),
            ("K1A 0B6", "K1A0B6"),
            ("10115", "10115"),
            ("D02 X285", "D02X285"),
        ] {
            assert_eq!(canonical(raw).as_deref(), Some(want), "{raw:?}");
        }
        // The fewest exchanges win: `SO1 0AA`, not `S01 0AA`.
        assert_eq!(misread_uk("SO1OAA"), Some("SO10AA".to_string()));
        // `I012AB` has a UK shape, but no postcode area is `I`.
        assert_eq!(misread_uk("1012AB"), None);
        assert_eq!(misread_uk("SW1A1AA"), None);
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

    /// A UK postcode of a known area.
    fn uk_postcode() -> impl Strategy<Value = String> {
        (
            proptest::sample::select(AREAS),
            1u8..=9,
            proptest::option::of(0u8..=9),
            0u8..=9,
            "[ABD-HJLNP-UW-Z]{2}",
        )
            .prop_map(|(area, d, d2, inward, letters)| {
                let area = if area == "GIR" { "G" } else { area };
                let d2 = d2.map(|x| x.to_string()).unwrap_or_default();
                format!("{area}{d}{d2} {inward}{letters}")
            })
    }

    proptest! {
        #[test]
        fn canonical_is_idempotent(s in prop_oneof![
            "\\PC{0,12}",
            "[A-Z0-9OI ]{5,8}[.,;: ]{0,2}",
            "[A-Z0-9OI]{2,4} [0-9OI][A-Z]{2}[ ,-]{0,2}(UK|GB|United Kingdom|u\\.k\\.|France)?[.,]?",
        ]) {
            if let Some(c) = canonical(&s) {
                prop_assert_eq!(canonical(&c), Some(c.clone()));
            }
        }

        #[test]
        fn postcodes_with_punctuation_or_a_country_are_themselves(
            pc in uk_postcode(),
            tail in proptest::sample::select(&[
                "", ".", ",", " ;", ", UK", " UK", " uk.", ", United Kingdom", " GB", ", England", " (UK)",
                " [Wales]",
            ][..]),
        ) {
            let want = canonical(&pc);
            prop_assert!(want.as_deref().is_some_and(is_uk), "{}", pc);
            prop_assert_eq!(canonical(&format!("{pc}{tail}")), want);
        }

        #[test]
        fn a_letter_for_the_inward_digit_is_read_back(pc in uk_postcode()) {
            let want = canonical(&pc);
            let n = pc.len();
            let misread = match pc.as_bytes()[n - 3] {
                b'0' => "O",
                b'1' => "I",
                _ => return Ok(()),
            };
            let written = format!("{}{}{}", &pc[..n - 3], misread, &pc[n - 2..]);
            prop_assert_eq!(canonical(&written), want);
        }

        #[test]
        fn numeric_foreign_codes_are_kept(code in "[0-9]{4,6}") {
            prop_assert_eq!(canonical(&code), Some(code.clone()));
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
