//! Address lines: the building number and flat for keys, and a folded line for
//! fuzzy comparison (`Flat 3, 12A High St., London SW1A 1AA` → `flat 3 12a high
//! street london`).
//!
//! ```
//! use leakscope::normalize::address;
//! assert_eq!(address::house_number("Flat 3, 12a High St").as_deref(), Some("12a"));
//! assert_eq!(address::flat("Flat 3, 12a High St").as_deref(), Some("3"));
//! assert_eq!(address::fold_line("12 St John's Rd, London N1 2AB"), "12 saint johns road london");
//! ```

use std::borrow::Cow;

use super::postcode;

/// Words that introduce a flat, unit or box number rather than a building number.
const FLAT_WORDS: &[&str] = &[
    "flat",
    "flt",
    "apartment",
    "apt",
    "unit",
    "room",
    "rm",
    "suite",
    "studio",
    "maisonette",
    "box",
];

/// Words that say a comma-separated part names a building, whose own number is then
/// less likely to be the street number than a number in a later part.
const BUILDING_WORDS: &[&str] = &[
    "court",
    "ct",
    "house",
    "hse",
    "lodge",
    "mansions",
    "building",
    "buildings",
    "bldgs",
    "block",
    "tower",
    "towers",
    "apartments",
    "flats",
];

/// Lower-cases and transliterates a line, deleting apostrophes (`John's` → `johns`)
/// and turning other punctuation into spaces, except `,` `;` and newlines, which
/// become `,` to keep the line's parts apart.
fn prepare(raw: &str) -> String {
    let text: Cow<'_, str> = if raw.is_ascii() {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(deunicode::deunicode(raw))
    };
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => out.push(b as char),
            b'A'..=b'Z' => out.push(b.to_ascii_lowercase() as char),
            b'\'' | b'`' => {}
            b',' | b';' | b'\n' | b'\r' => out.push(','),
            _ => out.push(' '),
        }
    }
    out
}

/// The parts of a prepared line, each a list of words.
fn parts(prepared: &str) -> impl Iterator<Item = impl Iterator<Item = &str> + Clone> {
    prepared
        .split(',')
        .map(|p| p.split(' ').filter(|w| !w.is_empty()))
}

/// `12`, `12a`, `12-14` (→ `12`), `12/3` (→ `12`): a number of at most five digits
/// with an optional single letter.
fn number_word(word: &str) -> Option<String> {
    let b = word.as_bytes();
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || n > 5 {
        return None;
    }
    match b.get(n..) {
        Some([]) => word.get(..n).map(str::to_string),
        Some([l]) if l.is_ascii_alphabetic() => Some(word.to_string()),
        _ => None,
    }
}

/// The building number of an address line (`12`, `12a`), not a flat number: in
/// `Flat 3, 12a High St` it is `12a`; in `3 Rose Court, 12 High St` (a numbered
/// building part followed by another numbered part) it is `12`; `12-14 High St` gives
/// `12`. A UK postcode in the line is ignored. `None` when the line has no number.
pub fn house_number(line: &str) -> Option<String> {
    let prepared = without_postcodes(line);
    let mut found: Option<String> = None;
    for part in parts(&prepared) {
        let mut skip_next = false;
        let mut number = None;
        for w in part.clone() {
            if skip_next {
                skip_next = false;
                continue;
            }
            if FLAT_WORDS.contains(&w) {
                skip_next = true;
                continue;
            }
            // A range or fraction was split on its punctuation: the first number wins.
            if let Some(n) = number_word(w) {
                number = Some(n);
                break;
            }
        }
        let Some(n) = number else { continue };
        let building_part = part.clone().any(|w| BUILDING_WORDS.contains(&w));
        if found.is_none() {
            found = Some(n);
            if !building_part {
                break;
            }
        } else {
            return Some(n);
        }
    }
    found
}

/// The flat, apartment or unit number of an address line (`Flat 3A` → `3a`,
/// `Apartment B` → `b`), when it has one.
pub fn flat(line: &str) -> Option<String> {
    let prepared = prepare(line);
    for part in parts(&prepared) {
        let mut words = part.clone();
        while let Some(w) = words.next() {
            if w != "box" && FLAT_WORDS.contains(&w) {
                return words.next().map(str::to_string);
            }
        }
    }
    None
}

/// The prepared line with UK postcodes blanked out.
fn without_postcodes(line: &str) -> String {
    let mut prepared = prepare(line);
    // Blank the postcodes in the prepared text: its bytes align with the ASCII line.
    while let Some((s, e, _)) = postcode::find_span(&prepared) {
        let blank = " ".repeat(e - s);
        prepared.replace_range(s..e, &blank);
    }
    prepared
}

/// The expansion of a common address abbreviation.
fn expand(word: &str) -> &str {
    match word {
        "rd" => "road",
        "ave" | "av" | "avn" => "avenue",
        "gdns" | "gdn" => "gardens",
        "sq" => "square",
        "ct" | "crt" => "court",
        "pl" => "place",
        "cres" | "cresc" | "cr" => "crescent",
        "ln" => "lane",
        "dr" | "drv" => "drive",
        "cl" => "close",
        "gr" | "grv" => "grove",
        "tce" | "terr" | "ter" => "terrace",
        "pk" => "park",
        "pde" => "parade",
        "wk" => "walk",
        "wy" => "way",
        "mws" => "mews",
        "hts" => "heights",
        "hse" | "ho" => "house",
        "bldgs" | "bldg" => "buildings",
        "est" => "estate",
        "mt" => "mount",
        "blvd" | "bvd" => "boulevard",
        "apt" | "apartment" | "flt" => "flat",
        "nth" => "north",
        "sth" => "south",
        "gt" => "great",
        "upr" => "upper",
        "lwr" => "lower",
        _ => word,
    }
}

/// Whether `a` (and `b` after it, if given) spell a UK postcode.
fn is_postcode_words(a: &str, b: Option<&str>) -> bool {
    let mut buf = [0u8; 7];
    let mut n = 0;
    for &c in a.as_bytes().iter().chain(b.unwrap_or("").as_bytes()) {
        let Some(slot) = buf.get_mut(n) else {
            return false;
        };
        *slot = c.to_ascii_uppercase();
        n += 1;
    }
    buf.get(..n)
        .and_then(|s| std::str::from_utf8(s).ok())
        .is_some_and(postcode::is_uk)
}

/// A line folded for fuzzy comparison: ASCII, lower-case, punctuation removed,
/// common abbreviations expanded (`rd` → `road`, `gdns` → `gardens`…; `st` is
/// `saint` after a number or at the start of a part, `street` elsewhere), UK
/// postcodes removed, words separated by one space.
pub fn fold_line(raw: &str) -> String {
    let prepared = prepare(raw);
    // (word, starts a part)
    let mut words: Vec<(&str, bool)> = Vec::new();
    for part in parts(&prepared) {
        let mut first = true;
        for w in part {
            words.push((w, first));
            first = false;
        }
    }
    // Remove postcodes until none is left, so folding a folded line changes nothing.
    loop {
        let before = words.len();
        let mut i = 0;
        while i < words.len() {
            let w = words.get(i).map_or("", |x| x.0);
            let next = words.get(i + 1).map(|x| x.0);
            if next.is_some_and(|n| n.len() == 3 && (2..=4).contains(&w.len()))
                && is_postcode_words(w, next)
            {
                words.drain(i..i + 2);
            } else if (5..=7).contains(&w.len()) && is_postcode_words(w, None) {
                words.remove(i);
            } else {
                i += 1;
            }
        }
        if words.len() == before {
            break;
        }
    }
    let mut out = String::with_capacity(prepared.len());
    let mut prev: Option<&str> = None;
    for &(w, starts_part) in &words {
        let word = if w == "st" {
            let after_number = prev.is_some_and(|p| p.starts_with(|c: char| c.is_ascii_digit()));
            if starts_part || after_number || prev.is_none() {
                "saint"
            } else {
                "street"
            }
        } else {
            expand(w)
        };
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        prev = Some(w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn house_numbers() {
        for (line, want) in [
            ("12 High Street", Some("12")),
            ("12A High Street", Some("12a")),
            ("221b Baker Street", Some("221b")),
            ("Flat 3, 12a High St", Some("12a")),
            ("Flat 3 12a High St", Some("12a")),
            ("Apartment 5B, 7 Mill Lane", Some("7")),
            ("12-14 High Street", Some("12")),
            ("3 Rose Court, 12 High St", Some("12")),
            ("3 Rose Court", Some("3")),
            ("3 Rose Court, High St", Some("3")),
            ("Rose Cottage, 4 Church Lane", Some("4")),
            ("Flat 3", None),
            ("PO Box 123, London", None),
            ("High Street, London SW1A 1AA", None),
            ("London M1 1AE", None),
            ("Rose Cottage", None),
            ("123456 Long Road", None),
            ("12", Some("12")),
            ("No. 12, The Green", Some("12")),
        ] {
            assert_eq!(house_number(line).as_deref(), want, "{line}");
        }
    }

    #[test]
    fn flats() {
        assert_eq!(flat("Flat 3A, 12 High St").as_deref(), Some("3a"));
        assert_eq!(flat("Apartment B, Riverside").as_deref(), Some("b"));
        assert_eq!(flat("Apt. 4, 1 Mill Lane").as_deref(), Some("4"));
        assert_eq!(flat("12 High St"), None);
        assert_eq!(flat("PO Box 5"), None);
    }

    #[test]
    fn folded_lines() {
        assert_eq!(
            fold_line("Flat 3, 12A High St., London SW1A 1AA"),
            "flat 3 12a high street london"
        );
        assert_eq!(
            fold_line("12 St John's Rd, London N1 2AB"),
            "12 saint johns road london"
        );
        assert_eq!(fold_line("St Albans"), "saint albans");
        assert_eq!(fold_line("4 Acacia Ave"), "4 acacia avenue");
        assert_eq!(fold_line("Kensington Gdns Sq"), "kensington gardens square");
        assert_eq!(fold_line("  Bryn-y-Môr Cres  "), "bryn y mor crescent");
        assert_eq!(
            fold_line("Apt 2, 5 Church Pl, M11AE"),
            "flat 2 5 church place"
        );
        assert_eq!(fold_line(""), "");
        assert_eq!(fold_line("12 HIGH STREET"), fold_line("12, High St."));
    }

    proptest! {
        #[test]
        fn fold_line_is_idempotent(s in "\\PC{0,60}") {
            let f = fold_line(&s);
            prop_assert_eq!(fold_line(&f), f.clone());
            let _ = house_number(&s);
            let _ = flat(&s);
        }

        #[test]
        fn fold_line_of_address_shapes(n in 1u16..999, street in "[A-Z][a-z]{2,8}", pc in "[A-PR-UWYZ][A-HK-Y]?[0-9] [0-9][ABD-HJLNP-UW-Z]{2}") {
            let line = format!("{n} {street} Rd, {pc}");
            prop_assert_eq!(fold_line(&line), format!("{n} {} road", street.to_lowercase()));
            prop_assert_eq!(house_number(&line), Some(n.to_string()));
        }
    }
}
