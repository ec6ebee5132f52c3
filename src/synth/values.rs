//! Valid-looking UK values and the many ways systems write them: dates, postcodes,
//! phone numbers, NI numbers, email addresses, UPRNs, bank details, vehicle
//! registrations.
//!
//! Identifiers that must name one person (phones, NI numbers, bank accounts) come from
//! a keyed bijection of a person's id ([`permute`]), so two people never share one by
//! accident; a collision would be a false "exposed" that no matcher could avoid.

use super::rng::{Rng, hash3, permute};

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day {
    /// Full year.
    pub year: u16,
    /// 1–12.
    pub month: u8,
    /// 1–31, valid for the month.
    pub day: u8,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days in a month of a year (Gregorian).
pub fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// How a system writes a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateStyle {
    /// `03/02/1980` (UK day first).
    DayMonthYear,
    /// `1980-02-03`.
    Iso,
    /// `19800203`.
    Compact,
    /// `03-Feb-1980` (old Oracle-backed systems).
    DayMonName,
    /// `3 Feb 1980`.
    Long,
}

impl Day {
    /// A date, or `None` for an impossible one.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Day> {
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month))
            .then_some(Day { year, month, day })
    }

    /// A uniformly chosen month and day in `year`.
    pub fn random_in_year(rng: &mut Rng, year: u16) -> Day {
        let month = rng.range(1, 12) as u8;
        let day = rng.range(1, u32::from(days_in_month(year, month))) as u8;
        Day { year, month, day }
    }

    /// Written in `style`.
    pub fn format(self, style: DateStyle) -> String {
        let Day { year, month, day } = self;
        let mon = MONTHS[usize::from(month.clamp(1, 12) - 1)];
        match style {
            DateStyle::DayMonthYear => format!("{day:02}/{month:02}/{year:04}"),
            DateStyle::Iso => format!("{year:04}-{month:02}-{day:02}"),
            DateStyle::Compact => format!("{year:04}{month:02}{day:02}"),
            DateStyle::DayMonName => format!("{day:02}-{mon}-{year:04}"),
            DateStyle::Long => format!("{day} {mon} {year:04}"),
        }
    }

    /// Day and month exchanged (a US-style slip), when that is still a date.
    pub fn swapped(self) -> Option<Day> {
        Day::new(self.year, self.day, self.month)
    }
}

/// A time of day in office hours, as `HH:MM:SS`.
pub fn office_time(rng: &mut Rng) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        rng.range(8, 18),
        rng.range(0, 59),
        rng.range(0, 59)
    )
}

/// Letters allowed in the last two characters of a UK postcode (no C I K M O V).
pub const INWARD_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

/// A UK postcode, held canonically (`SW1A 1AA`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Postcode {
    /// District: `W8`, `SW1A`.
    pub outward: String,
    /// Sector digit and unit letters: `4PT`.
    pub inward: String,
}

impl Postcode {
    /// The postcode of a stretch of street: houses close together share one, as the
    /// Royal Mail's units do (about a dozen numbers on a side).
    pub fn for_house(seed: u64, street: usize, outward: &str, number: u16) -> Postcode {
        let unit = u64::from(number / 12) * 2 + u64::from(number % 2);
        let h = hash3(seed ^ 0x5053_5443, street as u64, unit);
        let digit = (b'1' + (h % 9) as u8) as char;
        let a = INWARD_LETTERS[((h >> 8) % INWARD_LETTERS.len() as u64) as usize] as char;
        let b = INWARD_LETTERS[((h >> 16) % INWARD_LETTERS.len() as u64) as usize] as char;
        Postcode {
            outward: outward.to_string(),
            inward: format!("{digit}{a}{b}"),
        }
    }

    /// `SW1A 1AA`.
    pub fn canonical(&self) -> String {
        format!("{} {}", self.outward, self.inward)
    }

    /// As a careless system or person writes it: no space, lower case, doubled space.
    pub fn messy(&self, rng: &mut Rng) -> String {
        match rng.index(10) {
            0..=5 => self.canonical(),
            6 => format!("{}{}", self.outward, self.inward),
            7 => self.canonical().to_lowercase(),
            8 => format!("{}{}", self.outward, self.inward).to_lowercase(),
            _ => format!("{}  {}", self.outward, self.inward),
        }
    }
}

/// Whether `s` has the shape of a UK postcode, written canonically: outward
/// `A9`, `A99`, `AA9`, `AA99`, `A9A` or `AA9A`, one space, inward digit + two letters
/// from [`INWARD_LETTERS`].
pub fn is_uk_postcode(s: &str) -> bool {
    let Some((out, inw)) = s.split_once(' ') else {
        return false;
    };
    let o = out.as_bytes();
    let i = inw.as_bytes();
    let alpha = |c: &u8| c.is_ascii_uppercase();
    let digit = |c: &u8| c.is_ascii_digit();
    let outward_ok = match o {
        [a, d] => alpha(a) && digit(d),
        [a, b, c] => alpha(a) && ((digit(b) && (digit(c) || alpha(c))) || (alpha(b) && digit(c))),
        [a, b, c, d] => alpha(a) && alpha(b) && digit(c) && (digit(d) || alpha(d)),
        _ => false,
    };
    let inward_ok = match i {
        [d, x, y] => digit(d) && INWARD_LETTERS.contains(x) && INWARD_LETTERS.contains(y),
        _ => false,
    };
    outward_ok && inward_ok
}

/// A UK phone number, held as national digits (`07911123456`, `02079460123`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(pub String);

/// Mobile prefixes in use (07 then a digit; 070 and 076 are not mobiles).
const MOBILE_THIRD: [u8; 6] = [b'4', b'5', b'7', b'8', b'9', b'3'];

impl Phone {
    /// A mobile unique to `(id, generation)`: generation 0 is a person's first mobile,
    /// 1 a later one, 2 the one the register has after a change.
    pub fn mobile(seed: u64, id: u64, generation: u8) -> Phone {
        let third = MOBILE_THIRD[usize::from(generation) % MOBILE_THIRD.len()] as char;
        let n = permute(
            id,
            100_000_000,
            hash3(seed, 0x004D_4F42, u64::from(generation)),
        );
        Phone(format!("07{third}{n:08}"))
    }

    /// A London landline unique to `id` (020 3xxx, 7xxx or 8xxx).
    pub fn landline(seed: u64, id: u64) -> Phone {
        let n = permute(id, 30_000_000, hash3(seed, 0x004C_414E, 0));
        let lead = [b'7', b'8', b'3'][(n / 10_000_000) as usize] as char;
        Phone(format!("020{lead}{:07}", n % 10_000_000))
    }

    /// Whether this is a mobile number.
    pub fn is_mobile(&self) -> bool {
        self.0.starts_with("07")
    }

    /// The number as someone typed it: spaced, run together, international.
    pub fn messy(&self, rng: &mut Rng) -> String {
        let d = &self.0;
        let rest = d.get(1..).unwrap_or("");
        if self.is_mobile() {
            let (a, b) = (d.get(..5).unwrap_or(""), d.get(5..).unwrap_or(""));
            match rng.index(12) {
                0..=4 => format!("{a} {b}"),
                5..=6 => d.clone(),
                7 => format!("+44 {} {b}", rest.get(..4).unwrap_or("")),
                8 => format!("+44{rest}"),
                9 => format!("+44 (0){} {b}", rest.get(..4).unwrap_or("")),
                10 => format!(
                    "{} {} {}",
                    d.get(..4).unwrap_or(""),
                    d.get(4..7).unwrap_or(""),
                    d.get(7..).unwrap_or("")
                ),
                _ => format!("0044{rest}"),
            }
        } else {
            let (area, a, b) = (
                d.get(..3).unwrap_or(""),
                d.get(3..7).unwrap_or(""),
                d.get(7..).unwrap_or(""),
            );
            match rng.index(10) {
                0..=4 => format!("{area} {a} {b}"),
                5 => d.clone(),
                // The common mistake: the area code written 0207 / 0208.
                6 => format!(
                    "{}{} {} {b}",
                    area,
                    a.get(..1).unwrap_or(""),
                    a.get(1..).unwrap_or("")
                ),
                7 => format!("+44 20 {a} {b}"),
                8 => format!("({area}) {a} {b}"),
                _ => format!("+44 (0)20 {a}{b}"),
            }
        }
    }
}

/// Letters never used in either NI prefix letter.
const NI_BANNED: &[u8] = b"DFIQUV";
/// Prefixes never issued.
const NI_BANNED_PAIRS: [&str; 7] = ["BG", "GB", "NK", "KN", "TN", "NT", "ZZ"];

/// Every valid NI number prefix, in a fixed order.
pub fn ni_prefixes() -> Vec<[u8; 2]> {
    let mut out = Vec::new();
    for a in b'A'..=b'Z' {
        for b in b'A'..=b'Z' {
            let pair = [a, b];
            let ok = !NI_BANNED.contains(&a)
                && !NI_BANNED.contains(&b)
                && b != b'O'
                && !NI_BANNED_PAIRS.iter().any(|p| p.as_bytes() == pair);
            if ok {
                out.push(pair);
            }
        }
    }
    out
}

/// A National Insurance number, held as `AB123456C`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NiNumber(pub String);

impl NiNumber {
    /// The NI number unique to `id`, with a suffix letter A–D.
    pub fn for_id(seed: u64, id: u64, prefixes: &[[u8; 2]]) -> NiNumber {
        let space = prefixes.len() as u64 * 1_000_000;
        let n = permute(id, space, hash3(seed, 0x4E49_4E4F, 0));
        let [a, b] = prefixes
            .get((n / 1_000_000) as usize)
            .copied()
            .unwrap_or(*b"AB");
        let suffix = (b'A' + (hash3(seed, id, 0x5355_4646) % 4) as u8) as char;
        NiNumber(format!(
            "{}{}{:06}{suffix}",
            a as char,
            b as char,
            n % 1_000_000
        ))
    }

    /// As written on forms: spaced in pairs, lower case, suffix left off.
    pub fn messy(&self, rng: &mut Rng) -> String {
        let s = &self.0;
        let stem = s.get(..8).unwrap_or(s);
        match rng.index(10) {
            0..=4 => s.clone(),
            5..=6 => format!(
                "{} {} {} {} {}",
                s.get(..2).unwrap_or(""),
                s.get(2..4).unwrap_or(""),
                s.get(4..6).unwrap_or(""),
                s.get(6..8).unwrap_or(""),
                s.get(8..).unwrap_or("")
            ),
            7 => s.to_lowercase(),
            8 => stem.to_string(),
            _ => format!("{} {}", stem, s.get(8..).unwrap_or("")),
        }
    }
}

/// Whether `s` is a valid NI number written canonically (`AB123456C`).
pub fn is_valid_ni(s: &str) -> bool {
    let b = s.as_bytes();
    let [p1, p2, digits @ .., suffix] = b else {
        return false;
    };
    digits.len() == 6
        && digits.iter().all(u8::is_ascii_digit)
        && (b'A'..=b'D').contains(suffix)
        && ni_prefixes().contains(&[*p1, *p2])
}

/// A bank sort code and account number unique to `(id, generation)`.
pub fn bank_details(seed: u64, id: u64, generation: u8) -> (String, String) {
    // First pairs of real clearing banks' ranges (Barclays 20, Lloyds 30/77, HSBC 40,
    // NatWest 60, Santander 09, Nationwide 07).
    const BANKS: [u8; 7] = [20, 30, 40, 60, 9, 7, 77];
    let h = hash3(seed, id, 0x534F_5254 + u64::from(generation));
    let bank = BANKS[(h % BANKS.len() as u64) as usize];
    let sort = format!("{bank:02}-{:02}-{:02}", (h >> 8) % 100, (h >> 16) % 100);
    let acct = permute(
        id * 4 + u64::from(generation),
        100_000_000,
        hash3(seed, 0x4143_4354, 0),
    );
    (sort, format!("{acct:08}"))
}

/// A sort code as typed: `20-45-67`, `204567`, `20 45 67`.
pub fn messy_sort_code(sort: &str, rng: &mut Rng) -> String {
    match rng.index(6) {
        0..=3 => sort.to_string(),
        4 => sort.replace('-', ""),
        _ => sort.replace('-', " "),
    }
}

/// A UK registration plate of the current format for a car first registered in
/// `year` (2006–2020): area letters, age identifier, three random letters.
pub fn vehicle_registration(rng: &mut Rng, year: u16) -> String {
    const AREA: &[u8] = b"ABCDEFGHKLMNOPRSVWY";
    const RANDOM: &[u8] = b"ABCDEFGHJKLMNOPRSTUVWXYZ";
    let yy = year % 100;
    let age = if rng.chance(0.5) { yy } else { yy + 50 };
    let mut s = String::with_capacity(8);
    s.push(*rng.pick(AREA) as char);
    s.push(*rng.pick(RANDOM) as char);
    s.push_str(&format!("{age:02} "));
    for _ in 0..3 {
        s.push(*rng.pick(RANDOM) as char);
    }
    s
}

/// The year a current-format plate was first issued (`AB12 CDE` → 2012, `AB62 CDE`
/// → 2012), or `None` for another shape.
pub fn registration_year(plate: &str) -> Option<u16> {
    let age: u16 = plate.get(2..4)?.parse().ok()?;
    Some(2000 + if age >= 50 { age - 50 } else { age })
}

/// Email providers UK residents use, with rough shares.
const PROVIDERS: [(&str, u32); 18] = [
    ("gmail.com", 300),
    ("hotmail.co.uk", 120),
    ("hotmail.com", 90),
    ("yahoo.co.uk", 100),
    ("outlook.com", 80),
    ("btinternet.com", 70),
    ("sky.com", 50),
    ("icloud.com", 50),
    ("live.co.uk", 40),
    ("aol.com", 25),
    ("googlemail.com", 30),
    ("virginmedia.com", 30),
    ("talktalk.net", 20),
    ("me.com", 15),
    ("yahoo.com", 20),
    ("blueyonder.co.uk", 8),
    ("ntlworld.com", 8),
    ("nhs.net", 15),
];

const TAGS: [&str; 6] = ["council", "bills", "home", "news", "shop", "london"];
const HANDLES: [&str; 16] = [
    "sunny", "blue", "happy", "london", "chelsea", "fulham", "qpr", "cat", "lucky", "star", "red",
    "green", "tiger", "smiley", "rose", "music",
];

/// ASCII letters of a name for an email address (`Siân O'Brien-Jones` → `sian`,
/// `obrienjones`).
pub fn email_part(name: &str) -> String {
    deunicode::deunicode(name)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .flat_map(|c| c.to_lowercase())
        .collect()
}

/// Which of a person's email addresses: their first, a later one in the archive
/// years, or the new one the register holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailGeneration {
    /// The address they had first.
    First = 0,
    /// One they switched to during 2006–2020.
    Later = 1,
    /// One they have now and never gave the old systems.
    Current = 2,
}

/// The number that makes person `id`'s address of `generation` unique: a keyed
/// bijection, so no two people (and no two of one person's addresses) ever share it.
/// Unique while `id` stays below 33 million.
pub fn email_number(seed: u64, id: u64, generation: EmailGeneration) -> u64 {
    permute(
        id * 3 + generation as u64,
        100_000_000,
        hash3(seed, 0x454D_4149, 0),
    )
}

/// An email address derived from a person's name, carrying `number`
/// ([`email_number`]) so that namesakes never share one: every local part has exactly
/// one run of digits, and it is that number.
pub fn email_for(rng: &mut Rng, first: &str, last: &str, number: u64) -> String {
    let f = email_part(first);
    let l = email_part(last);
    let f = if f.is_empty() { "x".to_string() } else { f };
    let l = if l.is_empty() { "y".to_string() } else { l };
    let initial = f.get(..1).unwrap_or("x");
    let n = number;
    let local = match rng.index(20) {
        0..=5 => format!("{f}.{l}{n}"),
        6..=8 => format!("{f}{l}{n}"),
        9..=10 => format!("{initial}{l}{n}"),
        11 => format!("{f}_{l}{n}"),
        12 => format!("{l}.{f}{n}"),
        13..=14 => format!("{f}{}{n}", l.get(..1).unwrap_or("")),
        15 => format!("{}{n}", rng.pick(&HANDLES)),
        16 => format!("{f}.{l}.{n}"),
        _ => format!("{initial}.{l}{n}"),
    };
    let total: u32 = PROVIDERS.iter().map(|p| p.1).sum();
    let mut r = rng.below(u64::from(total)) as u32;
    let mut domain = PROVIDERS[0].0;
    for (d, w) in PROVIDERS {
        if r < w {
            domain = d;
            break;
        }
        r -= w;
    }
    if rng.chance(0.05) {
        format!("{local}+{}@{domain}", rng.pick(&TAGS))
    } else {
        format!("{local}@{domain}")
    }
}

/// An email address as it ends up in a system: mostly as given, sometimes upper-cased
/// by an old form, sometimes with stray spaces.
pub fn messy_email(email: &str, rng: &mut Rng) -> String {
    match rng.index(40) {
        0 => email.to_uppercase(),
        1 => format!(" {email}"),
        2 => format!("{email} "),
        3..=4 => capitalise_first(email),
        _ => email.to_string(),
    }
}

fn capitalise_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A locality (the line above "London" on a letter) for a postcode district.
pub fn locality(outward: &str) -> &'static str {
    match outward {
        "W1B" | "W1C" | "W1D" | "W1F" => "Soho",
        "W1G" | "W1H" | "W1U" | "NW1" => "Marylebone",
        "W1J" | "W1K" | "W1S" => "Mayfair",
        "W1T" | "W1W" => "Fitzrovia",
        "W2" => "Bayswater",
        "W6" => "Hammersmith",
        "W8" => "Kensington",
        "W9" => "Maida Vale",
        "W10" => "North Kensington",
        "W11" => "Notting Hill",
        "W12" => "Shepherd's Bush",
        "W14" => "West Kensington",
        "SW1A" | "SW1Y" => "St James's",
        "SW1E" | "SW1H" | "SW1P" => "Westminster",
        "SW1V" => "Pimlico",
        "SW1W" | "SW1X" => "Belgravia",
        "SW3" => "Chelsea",
        "SW5" => "Earls Court",
        "SW6" => "Fulham",
        "SW7" => "South Kensington",
        "SW10" => "West Brompton",
        "NW8" => "St John's Wood",
        "NW6" => "Kilburn",
        _ if outward.starts_with("WC2") => "Covent Garden",
        _ => "Westminster",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{prop_assert, proptest};
    use std::collections::HashSet;

    #[test]
    fn dates_validate_and_format() {
        assert!(Day::new(2001, 2, 29).is_none());
        assert!(Day::new(2000, 2, 29).is_some());
        assert!(Day::new(1980, 13, 1).is_none());
        let d = Day::new(1980, 2, 3).unwrap();
        assert_eq!(d.format(DateStyle::DayMonthYear), "03/02/1980");
        assert_eq!(d.format(DateStyle::Iso), "1980-02-03");
        assert_eq!(d.format(DateStyle::Compact), "19800203");
        assert_eq!(d.format(DateStyle::DayMonName), "03-Feb-1980");
        assert_eq!(d.format(DateStyle::Long), "3 Feb 1980");
        assert_eq!(d.swapped(), Day::new(1980, 3, 2));
        assert_eq!(Day::new(1980, 2, 13).unwrap().swapped(), None);
    }

    #[test]
    fn random_days_are_valid() {
        let mut rng = Rng::new(1);
        for y in 1920..2021 {
            let d = Day::random_in_year(&mut rng, y);
            assert!(Day::new(d.year, d.month, d.day).is_some(), "{d:?}");
        }
    }

    #[test]
    fn postcode_shapes() {
        for ok in [
            "SW1A 1AA", "W8 4PT", "NW8 9QT", "W10 5XY", "EC1A 1BB", "M1 1AE",
        ] {
            assert!(is_uk_postcode(ok), "{ok}");
        }
        for bad in [
            "SW1A1AA", "W8 4PC", "W8 4PI", "8W 4PT", "W8 PT4", "WWW1 1AA", "",
        ] {
            assert!(!is_uk_postcode(bad), "{bad}");
        }
    }

    #[test]
    fn generated_postcodes_are_valid_and_stable() {
        let t = super::super::tables::tables();
        for (i, street) in t.streets.iter().enumerate() {
            for out in &street.outwards {
                let p = Postcode::for_house(42, i, out, 12);
                assert!(is_uk_postcode(&p.canonical()), "{}", p.canonical());
                assert_eq!(p, Postcode::for_house(42, i, out, 12));
            }
        }
        // Neighbours on the same side share a unit; the two sides do not have to.
        assert_eq!(
            Postcode::for_house(42, 3, "W8", 12),
            Postcode::for_house(42, 3, "W8", 14)
        );
    }

    #[test]
    fn messy_postcodes_keep_their_characters() {
        let p = Postcode {
            outward: "SW1A".into(),
            inward: "1AA".into(),
        };
        let mut rng = Rng::new(2);
        for _ in 0..200 {
            let m = p.messy(&mut rng);
            let squashed: String = m.chars().filter(|c| !c.is_whitespace()).collect();
            assert_eq!(squashed.to_uppercase(), "SW1A1AA");
        }
    }

    #[test]
    fn ni_prefix_rules() {
        let ps = ni_prefixes();
        for p in &ps {
            assert!(!p.iter().any(|c| b"DFIQUV".contains(c)));
            assert_ne!(p[1], b'O');
        }
        for banned in ["BG", "GB", "NK", "KN", "TN", "NT", "ZZ"] {
            assert!(!ps.iter().any(|p| p == banned.as_bytes()));
        }
        assert!(ps.contains(b"AB") && ps.contains(b"ZY") && ps.contains(b"OA"));
    }

    #[test]
    fn generated_ni_numbers_are_valid_and_distinct() {
        let ps = ni_prefixes();
        let mut seen = HashSet::new();
        for id in 0..5000 {
            let ni = NiNumber::for_id(42, id, &ps);
            assert!(is_valid_ni(&ni.0), "{}", ni.0);
            assert!(seen.insert(ni.0.get(..8).unwrap().to_string()));
        }
        assert!(!is_valid_ni("DA123456A"));
        assert!(!is_valid_ni("AO123456A"));
        assert!(!is_valid_ni("AB123456E"));
        assert!(!is_valid_ni("AB12345A"));
    }

    #[test]
    fn messy_ni_keeps_the_stem() {
        let ni = NiNumber("AB123456C".into());
        let mut rng = Rng::new(4);
        for _ in 0..100 {
            let m: String = ni
                .messy(&mut rng)
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            assert!(m.to_uppercase().starts_with("AB123456"), "{m}");
        }
    }

    #[test]
    fn phones_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for id in 0..5000 {
            for g in 0..3 {
                let m = Phone::mobile(42, id, g);
                assert_eq!(m.0.len(), 11);
                assert!(m.0.starts_with("07") && m.is_mobile());
                assert!(seen.insert(m.0));
            }
            let l = Phone::landline(42, id);
            assert_eq!(l.0.len(), 11);
            assert!(
                ["0207", "0208", "0203"].iter().any(|p| l.0.starts_with(p)),
                "{}",
                l.0
            );
            assert!(seen.insert(l.0));
        }
    }

    #[test]
    fn messy_phones_keep_the_digits() {
        let mut rng = Rng::new(8);
        for p in [Phone("07911123456".into()), Phone("02079460123".into())] {
            for _ in 0..200 {
                let m = p.messy(&mut rng);
                let digits: String = m.chars().filter(char::is_ascii_digit).collect();
                let national = if let Some(rest) = digits.strip_prefix("0044") {
                    format!("0{rest}")
                } else if let Some(rest) = digits.strip_prefix("440") {
                    format!("0{rest}")
                } else if let Some(rest) = digits.strip_prefix("44") {
                    format!("0{rest}")
                } else {
                    digits
                };
                assert_eq!(national, p.0, "{m}");
            }
        }
    }

    #[test]
    fn emails_are_plausible() {
        let mut rng = Rng::new(3);
        for i in 0..500 {
            let n = email_number(42, i, EmailGeneration::First);
            let e = email_for(&mut rng, "Siân", "O'Brien-Jones", n);
            let (local, domain) = e.split_once('@').unwrap();
            assert!(!local.is_empty() && domain.contains('.'), "{e}");
            assert!(e.is_ascii(), "{e}");
            assert!(!e.contains('\''), "{e}");
            let local = local.split('+').next().unwrap();
            assert_eq!(
                local
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>(),
                n.to_string()
            );
        }
        assert_eq!(email_part("Zoë D'Souza"), "zoedsouza");
    }

    #[test]
    fn email_numbers_are_unique_per_person_and_generation() {
        let mut seen = HashSet::new();
        for id in 0..20_000 {
            for g in [
                EmailGeneration::First,
                EmailGeneration::Later,
                EmailGeneration::Current,
            ] {
                assert!(seen.insert(email_number(42, id, g)));
            }
        }
    }

    #[test]
    fn bank_details_are_well_formed_and_distinct() {
        let mut seen = HashSet::new();
        for id in 0..3000 {
            let (sort, acct) = bank_details(42, id, 0);
            assert_eq!(sort.len(), 8, "{sort}");
            assert_eq!(acct.len(), 8);
            assert!(seen.insert(acct));
        }
    }

    #[test]
    fn vehicle_registrations_have_the_current_shape() {
        let mut rng = Rng::new(5);
        for year in 2006..=2020 {
            let r = vehicle_registration(&mut rng, year);
            let b = r.as_bytes();
            assert_eq!(b.len(), 8, "{r}");
            assert!(b[0].is_ascii_uppercase() && b[1].is_ascii_uppercase());
            assert!(b[2].is_ascii_digit() && b[3].is_ascii_digit() && b[4] == b' ');
            assert!(!r.contains('I') && !r.contains('Q'), "{r}");
            assert_eq!(registration_year(&r), Some(year));
        }
    }

    proptest! {
        #[test]
        fn email_part_is_ascii_lowercase(name in "\\PC{0,30}") {
            let p = email_part(&name);
            prop_assert!(p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        }

        #[test]
        fn is_uk_postcode_never_panics(s in "\\PC{0,12}") {
            let _ = is_uk_postcode(&s);
            let _ = is_valid_ni(&s);
        }
    }
}
