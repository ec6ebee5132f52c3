//! Reference numbers and other strong identifiers: National Insurance numbers,
//! account references, UPRNs, bank details, card numbers, passports, driving
//! licences, usernames and IP addresses.
//!
//! Each function takes what a person or a system wrote and returns the form keys
//! are made from, or `None` when the value cannot be that identifier. They are
//! deliberately forgiving about separators (`AB 12 34 56 C`, `12-34-56`) and strict
//! about content, because a wrong identifier makes a wrong key.
//!
//! ```
//! use leakscope::normalize::ids;
//! assert_eq!(ids::ni_number("ab 12 34 56 c").as_deref(), Some("AB123456"));
//! assert_eq!(ids::sort_code("12-34-56").as_deref(), Some("123456"));
//! assert_eq!(ids::uprn("000100023336956").as_deref(), Some("100023336956"));
//! ```

use std::net::{IpAddr, SocketAddr};

/// Upper-case ASCII letters and digits of `raw`, skipping the separators people put
/// in identifiers (space, hyphen, dot, slash); `None` on any other character.
fn compact(raw: &str, max: usize) -> Option<String> {
    let mut out = String::with_capacity(raw.len().min(max));
    for b in raw.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => {
                if out.len() == max {
                    return None;
                }
                out.push(b.to_ascii_uppercase() as char);
            }
            b' ' | b'\t' | b'-' | b'.' | b'/' => {}
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Only the digits of `raw` (at most `max`), skipping spaces and hyphens; `None` on
/// any other character.
fn digits(raw: &str, max: usize) -> Option<String> {
    let mut out = String::with_capacity(max);
    for b in raw.trim().bytes() {
        match b {
            b'0'..=b'9' => {
                if out.len() == max {
                    return None;
                }
                out.push(b as char);
            }
            b' ' | b'-' => {}
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A National Insurance number as its 8-character stem (`AB123456`): two prefix
/// letters HMRC allocates, six digits, and the optional suffix letter A–D dropped
/// (systems disagree on storing it). Spaces and hyphens are ignored. Prefixes never
/// allocated (`BG`, `GB`, `KN`, `NK`, `NT`, `TN`, `ZZ`, or a D, F, I, Q, U, V; O second)
/// are rejected: they are placeholders, not people.
pub fn ni_number(raw: &str) -> Option<String> {
    let c = compact(raw, 9)?;
    let b = c.as_bytes();
    let stem = match b.len() {
        8 => b,
        9 if matches!(b.get(8), Some(b'A'..=b'D')) => b.get(..8)?,
        _ => return None,
    };
    let (prefix, number) = stem.split_at(2);
    let ok_first = |l: u8| l.is_ascii_uppercase() && !b"DFIQUV".contains(&l);
    let ok_second = |l: u8| l.is_ascii_uppercase() && !b"DFIQUVO".contains(&l);
    let valid = matches!(prefix, [a, b] if ok_first(*a) && ok_second(*b))
        && !matches!(
            prefix,
            b"BG" | b"GB" | b"KN" | b"NK" | b"NT" | b"TN" | b"ZZ"
        )
        && number.iter().all(u8::is_ascii_digit);
    valid.then(|| c.get(..8).map(str::to_string)).flatten()
}

/// Any other reference number (council tax account, claim, customer number) as its
/// upper-case letters and digits: `ct-000123/a` → `CT000123A`. At least three
/// characters including a digit, so `N/A` and `none` are not references.
pub fn account_ref(raw: &str) -> Option<String> {
    reference(raw, 40)
}

fn reference(raw: &str, max: usize) -> Option<String> {
    let c = compact(raw, max)?;
    (c.len() >= 3 && c.bytes().any(|b| b.is_ascii_digit())).then_some(c)
}

/// A Unique Property Reference Number: up to 12 digits, leading zeros dropped
/// (`000100023336956` → `100023336956`). A trailing `.0`, left by spreadsheet and
/// dataframe exports of numeric columns, is accepted.
pub fn uprn(raw: &str) -> Option<String> {
    let t = raw.trim();
    let t = t.strip_suffix(".0").unwrap_or(t);
    let d = digits(t, 20)?;
    let d = d.trim_start_matches('0');
    (!d.is_empty() && d.len() <= 12).then(|| d.to_string())
}

/// A UK bank account number as 8 digits. Six- and seven-digit numbers are padded
/// with leading zeros, the conversion banks themselves apply and the repair for a
/// spreadsheet that dropped a leading zero; nine- and ten-digit numbers (some building
/// societies) are kept as written. A GB IBAN gives its account number.
pub fn bank_account(raw: &str) -> Option<String> {
    if let Some((_, account)) = gb_iban(raw) {
        return Some(account);
    }
    let d = digits(raw, 10)?;
    match d.len() {
        6 | 7 => Some(format!("{d:0>8}")),
        8..=10 => Some(d),
        _ => None,
    }
}

/// A sort code as 6 digits (`12-34-56`, `12 34 56`, `123456` → `123456`). A GB IBAN
/// gives its sort code.
pub fn sort_code(raw: &str) -> Option<String> {
    if let Some((sort, _)) = gb_iban(raw) {
        return Some(sort);
    }
    digits(raw, 6).filter(|d| d.len() == 6)
}

/// The sort code and account number in a GB IBAN (`GB29 NWBK 6016 1331 9268 19`),
/// when its check digits are right.
pub fn gb_iban(raw: &str) -> Option<(String, String)> {
    let c = compact(raw, 22)?;
    let b = c.as_bytes();
    if b.len() != 22 || !c.starts_with("GB") {
        return None;
    }
    let bank = b.get(4..8)?;
    let rest = b.get(8..)?;
    if !bank.iter().all(u8::is_ascii_uppercase) || !rest.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // ISO 13616: move the first four characters to the end, letters as 10–35, mod 97.
    let mut rem: u32 = 0;
    for &ch in b.get(4..)?.iter().chain(b.get(..4)?) {
        let v = if ch.is_ascii_digit() {
            u32::from(ch - b'0')
        } else {
            u32::from(ch - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    if rem != 1 {
        return None;
    }
    Some((c.get(8..14)?.to_string(), c.get(14..22)?.to_string()))
}

/// A payment card number: 12 to 19 digits (spaces and hyphens ignored) that pass the
/// Luhn check. Masked numbers (`**** **** **** 1234`) are `None`: they cannot be keyed.
pub fn card_number(raw: &str) -> Option<String> {
    let d = digits(raw, 19)?;
    ((12..=19).contains(&d.len()) && luhn(d.as_bytes())).then_some(d)
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A passport number as upper-case letters and digits (UK: 9 digits; others mix
/// letters). At least five characters including a digit.
pub fn passport(raw: &str) -> Option<String> {
    reference(raw, 20).filter(|c| c.len() >= 5)
}

/// A driving licence number as upper-case letters and digits. A UK licence is 16
/// characters (`MORGA753116SM9IJ`); the two-digit issue number some systems append
/// is dropped so every issue of one licence is one key.
pub fn driving_licence(raw: &str) -> Option<String> {
    let mut c = reference(raw, 24)?;
    if c.len() == 18 && is_uk_licence(c.as_bytes()) {
        c.truncate(16);
    }
    (c.len() >= 5).then_some(c)
}

/// Five surname characters (letters, `9` as padding), six digits of the birth date,
/// then initials and check characters, and the issue number's two digits.
fn is_uk_licence(b: &[u8]) -> bool {
    let surname = b
        .get(..5)
        .is_some_and(|s| s.iter().all(|&c| c.is_ascii_uppercase() || c == b'9'));
    let born = b
        .get(5..11)
        .is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let issue = b
        .get(16..18)
        .is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    surname && born && issue
}

/// A username or login: trimmed and lower-cased; `None` when empty.
pub fn username(raw: &str) -> Option<String> {
    let t = raw.trim();
    if t.is_empty() {
        None
    } else if t.is_ascii() {
        Some(t.to_ascii_lowercase())
    } else {
        Some(t.to_lowercase())
    }
}

/// An IP address in its standard text form (`2001:DB8::0001` → `2001:db8::1`); an
/// IPv4 address mapped into IPv6 (`::ffff:192.0.2.1`) is the IPv4 address, and a port
/// (`192.0.2.1:443`, `[2001:db8::1]:443`) is dropped.
pub fn ip(raw: &str) -> Option<String> {
    let t = raw.trim();
    let addr = t
        .parse::<IpAddr>()
        .ok()
        .or_else(|| t.parse::<SocketAddr>().ok().map(|s| s.ip()))?;
    Some(addr.to_canonical().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ni_numbers() {
        for raw in [
            "AB123456C",
            "ab 12 34 56 c",
            "AB 123456",
            "AB-12-34-56-D",
            " ab123456 ",
        ] {
            assert_eq!(ni_number(raw).as_deref(), Some("AB123456"), "{raw}");
        }
        for raw in [
            "AB123456E",
            "AB12345",
            "AB1234567",
            "GB123456A",
            "TN123456A",
            "ZZ123456A",
            "DA123456A",
            "AO123456A",
            "A1123456A",
            "AB12345XA",
            "",
            "AB123456CC",
        ] {
            assert_eq!(ni_number(raw), None, "{raw}");
        }
    }

    #[test]
    fn account_refs_and_uprns() {
        assert_eq!(account_ref("ct-000123/a").as_deref(), Some("CT000123A"));
        assert_eq!(account_ref(" 12 345 678 ").as_deref(), Some("12345678"));
        assert_eq!(account_ref("N/A"), None);
        assert_eq!(account_ref("none"), None);
        assert_eq!(account_ref("12"), None);
        assert_eq!(account_ref("CT#123"), None);
        assert_eq!(uprn("100023336956").as_deref(), Some("100023336956"));
        assert_eq!(uprn("000100023336956").as_deref(), Some("100023336956"));
        assert_eq!(uprn("100023336956.0").as_deref(), Some("100023336956"));
        assert_eq!(uprn("0000"), None);
        assert_eq!(uprn("1234567890123"), None);
        assert_eq!(uprn("12a"), None);
    }

    #[test]
    fn bank_details() {
        assert_eq!(bank_account("12345678").as_deref(), Some("12345678"));
        assert_eq!(bank_account("1234567").as_deref(), Some("01234567"));
        assert_eq!(bank_account("123456").as_deref(), Some("00123456"));
        assert_eq!(bank_account("1234 5678").as_deref(), Some("12345678"));
        assert_eq!(bank_account("1234567890").as_deref(), Some("1234567890"));
        assert_eq!(bank_account("12345"), None);
        assert_eq!(bank_account("12345678901"), None);
        assert_eq!(sort_code("12-34-56").as_deref(), Some("123456"));
        assert_eq!(sort_code("12 34 56").as_deref(), Some("123456"));
        assert_eq!(sort_code("1234567"), None);
        assert_eq!(sort_code("12-34-5"), None);
        let iban = "GB29 NWBK 6016 1331 9268 19";
        assert_eq!(
            gb_iban(iban),
            Some(("601613".to_string(), "31926819".to_string()))
        );
        assert_eq!(bank_account(iban).as_deref(), Some("31926819"));
        assert_eq!(sort_code(iban).as_deref(), Some("601613"));
        assert_eq!(gb_iban("GB28 NWBK 6016 1331 9268 19"), None);
        assert_eq!(gb_iban("DE89 3704 0044 0532 0130 00"), None);
    }

    #[test]
    fn card_numbers() {
        assert_eq!(
            card_number("4539 1488 0343 6467").as_deref(),
            Some("4539148803436467")
        );
        assert_eq!(
            card_number("4539-1488-0343-6467").as_deref(),
            Some("4539148803436467")
        );
        assert_eq!(card_number("4539 1488 0343 6468"), None);
        assert_eq!(card_number("**** **** **** 6467"), None);
        assert_eq!(card_number("79927398713"), None); // Luhn-valid but 11 digits
    }

    #[test]
    fn passports_licences_usernames() {
        assert_eq!(passport("123 456 789").as_deref(), Some("123456789"));
        assert_eq!(passport("p1234"), Some("P1234".to_string()));
        assert_eq!(passport("none"), None);
        assert_eq!(
            driving_licence("MORGA 753116 SM9IJ").as_deref(),
            Some("MORGA753116SM9IJ")
        );
        assert_eq!(
            driving_licence("morga753116sm9ij 35").as_deref(),
            Some("MORGA753116SM9IJ")
        );
        assert_eq!(username("  JaneD99 ").as_deref(), Some("janed99"));
        assert_eq!(username("   "), None);
    }

    #[test]
    fn ip_addresses() {
        assert_eq!(ip(" 192.0.2.1 ").as_deref(), Some("192.0.2.1"));
        assert_eq!(ip("2001:DB8::0001").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("::ffff:192.0.2.1").as_deref(), Some("192.0.2.1"));
        assert_eq!(ip("192.0.2.1:443").as_deref(), Some("192.0.2.1"));
        assert_eq!(ip("[2001:db8::1]:443").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("192.0.2.256"), None);
        assert_eq!(ip("localhost"), None);
    }

    proptest! {
        #[test]
        fn every_id_is_idempotent(s in "\\PC{0,30}") {
            let fns: [fn(&str) -> Option<String>; 10] = [
                ni_number, account_ref, uprn, bank_account, sort_code, card_number,
                passport, driving_licence, username, ip,
            ];
            for f in fns {
                if let Some(c) = f(&s) {
                    prop_assert_eq!(f(&c), Some(c.clone()));
                }
            }
        }

        #[test]
        fn luhn_catches_one_digit_changes(d in "[0-9]{15}", pos in 0usize..16, delta in 1u8..10) {
            // Append the check digit that makes the number valid.
            let check = (0..10u8).find(|c| luhn(format!("{d}{c}").as_bytes())).unwrap_or(0);
            let valid = format!("{d}{check}");
            prop_assert_eq!(card_number(&valid), Some(valid.clone()));
            let mut bytes = valid.into_bytes();
            if let Some(b) = bytes.get_mut(pos) {
                *b = b'0' + (*b - b'0' + delta) % 10;
            }
            prop_assert!(!luhn(&bytes));
        }
    }
}
