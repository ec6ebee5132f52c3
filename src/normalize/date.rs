//! Dates as people and systems write them, read UK day-first: `03/02/1980` is
//! 3 February 1980.
//!
//! Accepted: numeric dates with `/`, `-`, `.` or spaces (`03/02/1980`, `3-2-80`,
//! `1980-02-03`, `1980/02/03`), eight digits (`19800203`, and `03021980` when that
//! cannot be year-first), month names in any order (`3 Feb 1980`, `3rd February
//! 1980`, `February 3, 1980`, `03-FEB-80`, `Sunday 3 February 1980`), and any of
//! these followed by a time (`1980-02-03T10:22:00Z`, `03/02/1980 00:00:00`).
//!
//! Decisions:
//! - **Two-digit years** of a date of birth ([`parse`]) are the latest year ending in
//!   those digits that does not put the birth after today: on 7 December 2026,
//!   `15/06/26` is 2026, `15/12/26` and `15/06/27` are 1926 and 1927. "Today" is read
//!   once per process, so one build reads every record alike; an index built before
//!   a date and queried after it differs only for two-digit years between the two
//!   days. A date written `15/06/24` stays ambiguous (a child of 2024 or a resident of
//!   102) and is read as 2024.
//! - Two-digit years of a **record date** ([`parse_record`], [`record_year`]) pivot
//!   at 30: `00`–`29` are 2000–2029, `30`–`99` are 1930–1999, whatever the day.
//! - **US order**: a numeric date is day-first; only when that is impossible and
//!   month-first is possible (`02/13/1980`) is it read month-first. Matching also
//!   compares dates with day and month swapped, for the ambiguous ones.
//! - Years outside 1800–2200 and impossible dates (`31/02/1980`, month 13) are `None`.
//! - Dates that systems store for an unknown date of birth (`01/01/1900`,
//!   `31/12/1899`, `9999-12-31`; not `01/01/1970`, a real birthday of many) are dates
//!   here; [`is_unknown_birth`] names them, and a date of birth holding one is
//!   missing (`normalize::is_placeholder`).
//!
//! ```
//! use leakscope::normalize::date;
//! let d = date::parse("3rd February 1980").map(|d| d.iso());
//! assert_eq!(d.as_deref(), Some("1980-02-03"));
//! assert_eq!(date::parse("03/02/1980"), date::parse("1980-02-03T10:22:00Z"));
//! ```

use super::Date;

const MIN_YEAR: u16 = 1800;
const MAX_YEAR: u16 = 2200;

impl Date {
    /// A validated date: `None` for month 13, 31 February, or a year outside
    /// 1800–2200.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let ok = (MIN_YEAR..=MAX_YEAR).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        ok.then_some(Date { year, month, day })
    }

    /// The ISO 8601 text, `1980-02-03`.
    pub fn iso(&self) -> String {
        let mut s = String::with_capacity(10);
        let b = self.digits();
        for (i, &c) in b.iter().enumerate() {
            if i == 4 || i == 6 {
                s.push('-');
            }
            s.push(c as char);
        }
        s
    }

    /// The date as eight ASCII digits `YYYYMMDD`, without allocating (what keys hash).
    pub fn digits(&self) -> [u8; 8] {
        let y = self.year;
        let digit = |v: u16| b'0' + (v % 10) as u8;
        [
            digit(y / 1000),
            digit(y / 100),
            digit(y / 10),
            digit(y),
            b'0' + self.month / 10,
            b'0' + self.month % 10,
            b'0' + self.day / 10,
            b'0' + self.day % 10,
        ]
    }

    /// Parses exactly `YYYY-MM-DD` (what [`Date::iso`] writes).
    pub fn parse_iso(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        Date::new(
            num(b.get(0..4)?)?,
            u8::try_from(num(b.get(5..7)?)?).ok()?,
            u8::try_from(num(b.get(8..10)?)?).ok()?,
        )
    }

    /// The same calendar date with day and month exchanged, when that is a date and
    /// a different one (`1980-02-03` → `1980-03-02`): the usual US/UK confusion.
    pub fn swapped(&self) -> Option<Date> {
        (self.day != self.month)
            .then(|| Date::new(self.year, self.day, self.month))
            .flatten()
    }
}

fn num(b: &[u8]) -> Option<u16> {
    if b.is_empty() || b.len() > 4 {
        return None;
    }
    b.iter().try_fold(0u16, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u16::from(c - b'0'))
    })
}

fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// One word of a date.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok {
    /// A number and how many digits it was written with.
    Num(u16, u8),
    /// A month name.
    Month(u8),
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// A month from its name or an abbreviation of at least three letters (`Feb`,
/// `Sept`, `febr`).
fn month_of(word: &str) -> Option<u8> {
    if word.len() < 3 {
        return None;
    }
    let i = MONTHS
        .iter()
        .position(|m| starts_with_ignore_case(m, word))?;
    u8::try_from(i + 1).ok()
}

fn is_weekday(word: &str) -> bool {
    word.len() >= 3 && WEEKDAYS.iter().any(|d| starts_with_ignore_case(d, word))
}

/// Whether the lower-case `name` starts with `word` in any case (`Feb`, `FEB`).
fn starts_with_ignore_case(name: &str, word: &str) -> bool {
    name.get(..word.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(word))
}

/// Cuts a trailing time: from the `T` or space before the first `hh:` onwards.
fn strip_time(s: &str) -> &str {
    let Some(colon) = s.find(':') else {
        return s;
    };
    let head = s.get(..colon).unwrap_or(s);
    match head.rfind(|c: char| c == 'T' || c == 't' || c.is_whitespace()) {
        Some(cut) => s.get(..cut).unwrap_or(s),
        None => s,
    }
}

/// Up to three date words; `None` on anything else (a stray word, a fourth number).
fn tokenize(s: &str) -> Option<([Tok; 3], usize)> {
    let mut toks = [Tok::Num(0, 0); 3];
    let mut n = 0;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = *b.get(i)?;
        if c.is_ascii_digit() {
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let digits = b.get(start..i)?;
            *toks.get_mut(n)? = Tok::Num(num(digits)?, u8::try_from(digits.len()).ok()?);
            n += 1;
            // An ordinal suffix right after a day number: 3rd, 21st.
            let rest = b.get(i..).unwrap_or_default();
            if rest.len() >= 2 {
                let suf = [rest[0].to_ascii_lowercase(), rest[1].to_ascii_lowercase()];
                let after = rest.get(2).copied();
                if matches!(&suf, b"st" | b"nd" | b"rd" | b"th")
                    && !after.is_some_and(|a| a.is_ascii_alphabetic())
                {
                    i += 2;
                }
            }
        } else if c.is_ascii_alphabetic() {
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_alphabetic) {
                i += 1;
            }
            let word = s.get(start..i)?;
            if let Some(m) = month_of(word) {
                *toks.get_mut(n)? = Tok::Month(m);
                n += 1;
            } else if !is_weekday(word) {
                return None;
            }
        } else if matches!(c, b'/' | b'-' | b'.' | b',' | b' ' | b'\t') {
            i += 1;
        } else {
            return None;
        }
    }
    Some((toks, n))
}

/// How a year written with two digits is read.
#[derive(Clone, Copy, Debug)]
enum TwoDigitYears {
    /// `00`–`29` are 2000–2029, `30`–`99` are 1930–1999 (record dates).
    Pivot30,
    /// The latest century that does not put the date after this day (dates of birth).
    NotAfter(Date),
}

/// The date `make` builds from the full year that `value`, written with `width`
/// digits, stands for under `years`.
fn with_year(
    value: u16,
    width: u8,
    years: TwoDigitYears,
    make: impl Fn(u16) -> Option<Date>,
) -> Option<Date> {
    match (width, years) {
        (4, _) => make(value),
        (2, TwoDigitYears::Pivot30) if value < 30 => make(2000 + value),
        (2, TwoDigitYears::Pivot30) => make(1900 + value),
        (2, TwoDigitYears::NotAfter(today)) => {
            let century = today.year - today.year % 100;
            match make(century + value) {
                Some(date) if date <= today => Some(date),
                // A 29 February valid in the earlier century is valid in the later
                // one too, so `None` above is never a date here.
                _ => make(century.checked_sub(100)? + value),
            }
        }
        _ => None,
    }
}

fn day_month(day: u16, month: u16, year: u16) -> Option<Date> {
    Date::new(year, u8::try_from(month).ok()?, u8::try_from(day).ok()?)
}

/// A date of birth in `raw`, read as the module documentation describes (a
/// two-digit year never puts the birth after today); `None` when it is not a date or
/// not a possible one.
pub fn parse(raw: &str) -> Option<Date> {
    parse_with(raw, TwoDigitYears::NotAfter(reading_day()), Order::DayFirst)
}

/// Which of the first two numbers of a numeric date is the day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// `03/02/1980` is 3 February (UK); month-first only when day-first is impossible.
    #[default]
    DayFirst,
    /// `02/03/1980` is 3 February: a column whose values show it is written US-style
    /// (some read only month-first, none only day-first, [`column_order`]); day-first
    /// only when month-first is impossible.
    MonthFirst,
}

/// A date of birth as [`parse`] reads it, numeric dates taken in `order`.
pub fn parse_in(raw: &str, order: Order) -> Option<Date> {
    parse_with(raw, TwoDigitYears::NotAfter(reading_day()), order)
}

/// The order a column of dates is written in, from a sample of its values: month
/// first when some values can only be month-first (`12/25/1970`) and none can only
/// be day-first (`25/12/1970`); else day first (UK), including when nothing in the
/// sample tells. Year-first and worded dates say nothing.
pub fn column_order<'a>(values: impl IntoIterator<Item = &'a str>) -> Order {
    let (mut day_first, mut month_first) = (0usize, 0usize);
    for value in values {
        let mut numbers = value
            .split(|c: char| !c.is_ascii_digit())
            .filter(|part| !part.is_empty());
        let (Some(a), Some(b), Some(_)) = (numbers.next(), numbers.next(), numbers.next()) else {
            continue;
        };
        if a.len() > 2 || b.len() > 2 {
            continue;
        }
        let (Ok(a), Ok(b)) = (a.parse::<u8>(), b.parse::<u8>()) else {
            continue;
        };
        match (a, b) {
            (13..=31, 1..=12) => day_first += 1,
            (1..=12, 13..=31) => month_first += 1,
            _ => {}
        }
    }
    if month_first > 0 && day_first == 0 {
        Order::MonthFirst
    } else {
        Order::DayFirst
    }
}

/// [`parse`] as it reads on the day `today`.
pub fn parse_birth(raw: &str, today: Date) -> Option<Date> {
    parse_with(raw, TwoDigitYears::NotAfter(today), Order::DayFirst)
}

/// A record date in `raw`: as [`parse`], but a two-digit year pivots at 30
/// (`14/07/06` is 2006, `14/07/99` is 1999) whatever the day.
pub fn parse_record(raw: &str) -> Option<Date> {
    parse_with(raw, TwoDigitYears::Pivot30, Order::DayFirst)
}

fn parse_with(raw: &str, years: TwoDigitYears, order: Order) -> Option<Date> {
    let s = strip_time(raw.trim());
    let b = s.as_bytes();
    if b.len() == 8 && b.iter().all(u8::is_ascii_digit) {
        return eight_digits(b);
    }
    if let Some(date) = ten_characters(b, order) {
        return date;
    }
    parse_words(s, years, order)
}

/// `a/b/year` in `order`, the other order when that is impossible.
fn either_order(a: u16, b: u16, year: u16, order: Order) -> Option<Date> {
    match order {
        Order::DayFirst => day_month(a, b, year).or_else(|| day_month(b, a, year)),
        Order::MonthFirst => day_month(b, a, year).or_else(|| day_month(a, b, year)),
    }
}

/// The day two-digit years of dates of birth are read against: [`today`], taken once
/// per process so that a build running past midnight reads its records alike.
fn reading_day() -> Date {
    static DAY: std::sync::OnceLock<Date> = std::sync::OnceLock::new();
    *DAY.get_or_init(today)
}

/// The general reader: tokens, then the shapes they may form.
fn parse_words(s: &str, years: TwoDigitYears, order: Order) -> Option<Date> {
    let (toks, n) = tokenize(s)?;
    match (n, toks) {
        (3, [Tok::Num(y, 4), Tok::Num(m, 1..=2), Tok::Num(d, 1..=2)]) => day_month(d, m, y),
        (
            3,
            [
                Tok::Num(a, 1..=2),
                Tok::Num(b, 1..=2),
                Tok::Num(y, w @ (2 | 4)),
            ],
        ) => with_year(y, w, years, |year| either_order(a, b, year, order)),
        (3, [Tok::Num(d, 1..=2), Tok::Month(m), Tok::Num(y, w)])
        | (3, [Tok::Month(m), Tok::Num(d, 1..=2), Tok::Num(y, w)]) => {
            with_year(y, w, years, |year| day_month(d, u16::from(m), year))
        }
        (3, [Tok::Num(y, 4), Tok::Month(m), Tok::Num(d, 1..=2)]) => day_month(d, u16::from(m), y),
        _ => None,
    }
}

/// The two commonest shapes, `dd/mm/yyyy` (any of `/-.` as separator) and
/// `yyyy-mm-dd`, read without tokenizing; `None` when `b` is neither shape, and
/// `Some(answer)` when it is, so the answer matches the general path's.
fn ten_characters(b: &[u8], order: Order) -> Option<Option<Date>> {
    let [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9] = *b else {
        return None;
    };
    let d = |x: u8| x.is_ascii_digit();
    let n2 = |x: u8, y: u8| u16::from(x - b'0') * 10 + u16::from(y - b'0');
    let sep = |x: u8| matches!(x, b'/' | b'-' | b'.');
    if sep(c2) && c5 == c2 && [c0, c1, c3, c4, c6, c7, c8, c9].into_iter().all(d) {
        let (a, m, y) = (n2(c0, c1), n2(c3, c4), n2(c6, c7) * 100 + n2(c8, c9));
        return Some(either_order(a, m, y, order));
    }
    if sep(c4) && c7 == c4 && [c0, c1, c2, c3, c5, c6, c8, c9].into_iter().all(d) {
        let (y, m, day) = (n2(c0, c1) * 100 + n2(c2, c3), n2(c5, c6), n2(c8, c9));
        return Some(day_month(day, m, y));
    }
    None
}

fn eight_digits(b: &[u8]) -> Option<Date> {
    let ymd = || day_month(num(b.get(6..8)?)?, num(b.get(4..6)?)?, num(b.get(0..4)?)?);
    let dmy = || day_month(num(b.get(0..2)?)?, num(b.get(2..4)?)?, num(b.get(4..8)?)?);
    ymd().or_else(dmy)
}

/// The year a record was made, from its `record_date`: any date [`parse_record`]
/// reads, or just a year (`2006`) or a year and month (`2006-07`, `07/2006`).
pub fn record_year(raw: &str) -> Option<u16> {
    if let Some(d) = parse_record(raw) {
        return Some(d.year);
    }
    let (toks, n) = tokenize(strip_time(raw.trim()))?;
    let year = match (n, toks) {
        (1, [Tok::Num(y, 4), ..])
        | (2, [Tok::Num(y, 4), Tok::Num(_, 1..=2), _])
        | (2, [Tok::Num(_, 1..=2), Tok::Num(y, 4), _])
        | (2, [Tok::Month(_), Tok::Num(y, 4), _]) => y,
        _ => return None,
    };
    (MIN_YEAR..=MAX_YEAR).contains(&year).then_some(year)
}

/// Dates that systems store for "date of birth not known" (year, month, day): day 0
/// and 1 of Excel (1899-12-31, 1900-01-01, also SQL Server's default), the OLE
/// Automation, Access and Delphi zero (1899-12-30), MUMPS's day 0 (1840-12-31), the
/// ends of 32-bit Unix time (1901-12-13, 2038-01-19), SQL Server's and .NET's
/// minima (1753-01-01, 0001-01-01), the Windows file-time epoch (1601-01-01), and
/// round "far past" and "far future" values. 1970-01-01 (the Unix epoch) is not one:
/// it is a real birthday of many people.
const UNKNOWN_BIRTHS: [(u16, u8, u8); 17] = [
    (1, 1, 1),
    (1601, 1, 1),
    (1753, 1, 1),
    (1800, 1, 1),
    (1840, 12, 31),
    (1899, 12, 30),
    (1899, 12, 31),
    (1900, 1, 1),
    (1901, 1, 1),
    (1901, 12, 13),
    (2038, 1, 19),
    (2099, 12, 31),
    (2100, 1, 1),
    (2199, 12, 31),
    (2200, 1, 1),
    (2999, 12, 31),
    (9999, 12, 31),
];

/// Whether `raw` is one of the dates systems store for an unknown date of birth
/// (`01/01/1900`, `1900-01-01 00:00:00`, `19000101`, `1 Jan 1900`, `31/12/1899`,
/// `9999-12-31`…), written with a four-digit year. Such a value says
/// nothing about the person: a date of birth holding it is missing.
pub fn is_unknown_birth(raw: &str) -> bool {
    let s = strip_time(raw.trim());
    let b = s.as_bytes();
    // Most dates of birth have no such year: settle them without tokenizing.
    if !digit_runs(b).any(|run| {
        let years = match run.len() {
            4 => [run, run],
            8 => [
                run.get(..4).unwrap_or_default(),
                run.get(4..).unwrap_or_default(),
            ],
            _ => return false,
        };
        years
            .iter()
            .any(|y| num(y).is_some_and(|y| UNKNOWN_BIRTHS.iter().any(|u| u.0 == y)))
    }) {
        return false;
    }
    let unknown = |y: u16, m: u16, d: u16| {
        UNKNOWN_BIRTHS
            .iter()
            .any(|&(uy, um, ud)| uy == y && u16::from(um) == m && u16::from(ud) == d)
    };
    if b.len() == 8 && b.iter().all(u8::is_ascii_digit) {
        let at = |r: std::ops::Range<usize>| b.get(r).and_then(num);
        return [(0..4, 4..6, 6..8), (4..8, 2..4, 0..2)]
            .into_iter()
            .any(|(y, m, d)| match (at(y), at(m), at(d)) {
                (Some(y), Some(m), Some(d)) => unknown(y, m, d),
                _ => false,
            });
    }
    let Some((toks, n)) = tokenize(s) else {
        return false;
    };
    match (n, toks) {
        (3, [Tok::Num(y, 4), Tok::Num(m, 1..=2), Tok::Num(d, 1..=2)]) => unknown(y, m, d),
        // Day-first or month-first, as `parse` may read it.
        (3, [Tok::Num(a, 1..=2), Tok::Num(b, 1..=2), Tok::Num(y, 4)]) => {
            unknown(y, b, a) || unknown(y, a, b)
        }
        (3, [Tok::Num(d, 1..=2), Tok::Month(m), Tok::Num(y, 4)])
        | (3, [Tok::Month(m), Tok::Num(d, 1..=2), Tok::Num(y, 4)])
        | (3, [Tok::Num(y, 4), Tok::Month(m), Tok::Num(d, 1..=2)]) => unknown(y, u16::from(m), d),
        _ => false,
    }
}

/// The maximal runs of ASCII digits in `b`.
fn digit_runs(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(|c| !c.is_ascii_digit())
        .filter(|run| !run.is_empty())
}

/// The earliest birth year taken as a living resident's (a person born in 1880
/// would have been 126 when the oldest archive records were made).
pub const EARLIEST_BIRTH_YEAR: u16 = 1880;

/// Today's date (UTC) from the system clock. A query's own dates of birth are
/// checked against it (a date of birth in the future is a typo), and [`parse`] reads
/// two-digit years of birth against it (once per process): apart from those, the
/// normalisation of dump values, and so every key, never depends on the day it runs.
pub fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    civil_from_days((secs / 86_400) as i64)
}

/// The calendar date `days` days after 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> Date {
    // Shift the epoch to 0000-03-01 so that leap days fall at the end of a year,
    // then count 400-year eras of 146,097 days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
    Date { year, month, day }
}

impl Date {
    /// Whether a person alive today could have been born on this date: not after
    /// `today`, not before [`EARLIEST_BIRTH_YEAR`].
    pub fn is_possible_birth(&self, today: Date) -> bool {
        self.year >= EARLIEST_BIRTH_YEAR && *self <= today
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn days_since_the_epoch_become_dates() {
        let d = |y, m, dd| Date {
            year: y,
            month: m,
            day: dd,
        };
        assert_eq!(civil_from_days(0), d(1970, 1, 1));
        assert_eq!(civil_from_days(59), d(1970, 3, 1));
        assert_eq!(civil_from_days(11_016), d(2000, 2, 29));
        assert_eq!(civil_from_days(20_788), d(2026, 12, 1));
        assert_eq!(civil_from_days(-1), d(1969, 12, 31));
        let t = today();
        assert!(t.year >= 2026, "{t:?}");
    }

    #[test]
    fn future_and_ancient_births_are_impossible() {
        let today = Date::new(2026, 12, 1).unwrap_or_else(|| panic!("a date"));
        let born = |raw: &str| parse(raw).is_some_and(|d| d.is_possible_birth(today));
        assert!(born("03/02/1980") && born("01/12/2026") && born("1880-01-01"));
        assert!(!born("02/12/2026") && !born("03/04/2030") && !born("1879-12-31"));
    }

    fn d(y: u16, m: u8, day: u8) -> Option<Date> {
        Some(Date {
            year: y,
            month: m,
            day,
        })
    }

    #[test]
    fn every_listed_format_is_3_february_1980() {
        for raw in [
            "03/02/1980",
            "3/2/1980",
            "03-02-1980",
            "03.02.1980",
            "03 02 1980",
            "1980-02-03",
            "1980/02/03",
            "1980-2-3",
            "19800203",
            "03021980",
            "3 Feb 1980",
            "3 feb 1980",
            "3rd February 1980",
            "3RD FEBRUARY 1980",
            "February 3, 1980",
            "Feb 3rd, 1980",
            "03-FEB-80",
            "03-Feb-1980",
            "1980 Feb 3",
            "Sunday 3 February 1980",
            "Sun, 3 Feb 1980",
            "1980-02-03T10:22:00Z",
            "1980-02-03T10:22:00.123+01:00",
            "1980-02-03 00:00:00",
            "03/02/1980 00:00",
            "  03/02/80 ",
        ] {
            assert_eq!(parse(raw), d(1980, 2, 3), "{raw:?}");
        }
    }

    #[test]
    fn two_digit_years_of_record_dates_pivot_at_30() {
        assert_eq!(parse_record("01/01/29"), d(2029, 1, 1));
        assert_eq!(parse_record("01/01/30"), d(1930, 1, 1));
        assert_eq!(parse_record("14/07/06"), d(2006, 7, 14));
        assert_eq!(parse_record("14 Jul 99"), d(1999, 7, 14));
        assert_eq!(parse_record("1980-02-03"), d(1980, 2, 3));
    }

    #[test]
    fn two_digit_years_of_birth_never_fall_after_today() {
        let today = Date::new(2026, 12, 7).unwrap_or_else(|| panic!("a date"));
        let born = |raw: &str| parse_birth(raw, today);
        // In the past this century: this century.
        assert_eq!(born("15/06/24"), d(2024, 6, 15));
        assert_eq!(born("07/12/26"), d(2026, 12, 7));
        assert_eq!(born("14 Jul 06"), d(2006, 7, 14));
        // After today this century: the century before.
        assert_eq!(born("08/12/26"), d(1926, 12, 8));
        assert_eq!(born("15/06/27"), d(1927, 6, 15));
        assert_eq!(born("01/01/29"), d(1929, 1, 1));
        assert_eq!(born("03-FEB-80"), d(1980, 2, 3));
        assert_eq!(born("Dec 25, 99"), d(1999, 12, 25));
        // Month-first only when day-first is impossible, in either century.
        assert_eq!(born("12/13/26"), d(1926, 12, 13));
        // 29 February of 2000 exists; of 1900 it does not.
        assert_eq!(born("29/02/00"), d(2000, 2, 29));
        assert_eq!(born("29/02/28"), d(1928, 2, 29));
        assert_eq!(born("29/02/27"), None);
        // Four-digit years are as written, future or not.
        assert_eq!(born("15/06/2027"), d(2027, 6, 15));
        // In January 2027, `26` is this century's.
        let later = Date::new(2027, 1, 2).unwrap_or_else(|| panic!("a date"));
        assert_eq!(parse_birth("08/12/26", later), d(2026, 12, 8));
        // `parse` reads against the real day.
        let real = super::today();
        let yy = real.year % 100;
        let next = format!("31/12/{:02}", (yy + 1) % 100);
        assert!(parse(&next).is_some_and(|b| b <= real), "{next}");
    }

    #[test]
    fn unknown_dates_of_birth() {
        for raw in [
            "01/01/1900",
            "1/1/1900",
            "1900-01-01",
            "1900-01-01 00:00:00",
            "1900-01-01T00:00:00.000Z",
            "19000101",
            "01011900",
            "1 Jan 1900",
            "January 1, 1900",
            "31/12/1899",
            "12/31/1899",
            "30/12/1899",
            "01/01/1901",
            "01/01/1800",
            "1753-01-01",
            "0001-01-01",
            "9999-12-31",
            "31/12/9999",
            "2099-12-31",
        ] {
            assert!(is_unknown_birth(raw), "{raw:?}");
        }
        for raw in [
            "01/01/1970",
            "1970-01-01",
            "02/01/1900",
            "01/01/1980",
            "03/02/1980",
            "01/01/00",
            "1900",
            "01/1900",
            "",
            "n/a",
            "19000102",
            "1 Feb 1900",
        ] {
            assert!(!is_unknown_birth(raw), "{raw:?}");
        }
    }

    #[test]
    fn a_column_is_month_first_only_when_its_values_say_so() {
        let us = ["12/25/1970", "11/30/1982", "02/03/1980", "01/31/1935"];
        assert_eq!(column_order(us), Order::MonthFirst);
        let uk = ["25/12/1970", "02/03/1980"];
        assert_eq!(column_order(uk), Order::DayFirst);
        // Mixed evidence, nothing telling, year first or worded: UK.
        assert_eq!(column_order(["12/25/1970", "25/12/1970"]), Order::DayFirst);
        assert_eq!(column_order(["02/03/1980", "1980-12-25"]), Order::DayFirst);
        assert_eq!(column_order(["3 Feb 1980", ""]), Order::DayFirst);
        assert_eq!(
            parse_in("02/03/1980", Order::MonthFirst)
                .map(|d| d.iso())
                .as_deref(),
            Some("1980-02-03")
        );
        assert_eq!(
            parse_in("02-03-80", Order::MonthFirst)
                .map(|d| d.iso())
                .as_deref(),
            Some("1980-02-03")
        );
        // Month first when possible, day first when that is impossible.
        assert_eq!(
            parse_in("25/12/1970", Order::MonthFirst)
                .map(|d| d.iso())
                .as_deref(),
            Some("1970-12-25")
        );
    }

    #[test]
    fn us_order_only_when_day_first_is_impossible() {
        assert_eq!(parse("02/13/1980"), d(1980, 2, 13));
        assert_eq!(parse("02/03/1980"), d(1980, 3, 2));
    }

    #[test]
    fn impossible_and_non_dates() {
        for raw in [
            "",
            "31/02/1980",
            "29/02/1981",
            "13/13/1980",
            "00/01/1980",
            "1980-13-01",
            "1980-02-30",
            "32 Jan 1980",
            "3 Foo 1980",
            "3 Feb",
            "1980",
            "03/02/1980/4",
            "0001-01-01",
            "12345678",
            "3 Ma 1980",
            "n/a",
            "1980—02—03",
            "3/2/5",
        ] {
            assert_eq!(parse(raw), None, "{raw:?}");
        }
        assert_eq!(parse("29/02/1980"), d(1980, 2, 29));
        assert_eq!(parse("29/02/2000"), d(2000, 2, 29));
        assert_eq!(parse("29/02/1900"), None);
    }

    #[test]
    fn iso_round_trip_and_swap() {
        let date = Date::new(1980, 2, 3);
        assert_eq!(date.map(|x| x.iso()).as_deref(), Some("1980-02-03"));
        assert_eq!(Date::parse_iso("1980-02-03"), date);
        assert_eq!(Date::parse_iso("1980-2-3"), None);
        assert_eq!(date.and_then(|x| x.swapped()), Date::new(1980, 3, 2));
        assert_eq!(Date::new(1980, 2, 13).and_then(|x| x.swapped()), None);
        assert_eq!(Date::new(1980, 5, 5).and_then(|x| x.swapped()), None);
        assert_eq!(date.map(|x| x.digits()), Some(*b"19800203"));
    }

    #[test]
    fn record_years() {
        assert_eq!(record_year("2006"), Some(2006));
        assert_eq!(record_year("2006-07"), Some(2006));
        assert_eq!(record_year("07/2006"), Some(2006));
        assert_eq!(record_year("July 2006"), Some(2006));
        assert_eq!(record_year("14/07/2006 09:30"), Some(2006));
        assert_eq!(record_year("14/07/06"), Some(2006));
        assert_eq!(record_year("06"), None);
        assert_eq!(record_year("1066"), None);
        assert_eq!(record_year("soon"), None);
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_iso_is_a_fixed_point(s in "\\PC{0,30}") {
            if let Some(date) = parse(&s) {
                let iso = date.iso();
                prop_assert_eq!(parse(&iso), Some(date));
                prop_assert_eq!(Date::parse_iso(&iso), Some(date));
            }
            let _ = record_year(&s);
        }

        #[test]
        fn fast_shapes_agree_with_the_general_reader(s in "[0-9]{2,4}[-/.][0-9]{2}[-/.][0-9]{2,4}") {
            for order in [Order::DayFirst, Order::MonthFirst] {
                if let Some(fast) = ten_characters(s.as_bytes(), order) {
                    prop_assert_eq!(fast, parse_words(&s, TwoDigitYears::Pivot30, order));
                    prop_assert_eq!(fast, parse_words(&s, TwoDigitYears::NotAfter(today()), order));
                }
            }
        }

        #[test]
        fn month_first_only_reorders_what_both_orders_could_read(s in "\\PC{0,30}") {
            // The same date when the day is over 12 or both numbers agree; the day
            // and month exchanged otherwise; never a date day-first could not give
            // one of.
            match (parse(&s), parse_in(&s, Order::MonthFirst)) {
                (Some(uk), Some(us)) => prop_assert!(us == uk || us.swapped() == Some(uk)),
                (uk, us) => prop_assert_eq!(uk, us),
            }
        }

        #[test]
        fn births_and_record_dates_differ_only_in_two_digit_years(s in "\\PC{0,30}") {
            let (birth, record) = (parse(&s), parse_record(&s));
            if birth != record {
                let (b, r) = (birth, record);
                prop_assert!(b.zip(r).is_some_and(|(b, r)| b.year % 100 == r.year % 100
                    && b.year.abs_diff(r.year) == 100), "{:?} {:?}", b, r);
            }
            if let Some(b) = parse(&s) && b > today() {
                // Only a four-digit year can be after today.
                prop_assert_eq!(parse_record(&s), Some(b));
            }
            let _ = is_unknown_birth(&s);
        }

        #[test]
        fn a_birth_two_digit_year_is_the_latest_not_after_today(
            day in 1u8..=28, m in 1u8..=12, yy in 0u16..100,
            ty in 1990u16..2150, tm in 1u8..=12, td in 1u8..=28,
        ) {
            let today = Date::new(ty, tm, td).unwrap_or_else(|| panic!("a date"));
            let read = parse_birth(&format!("{day:02}/{m:02}/{yy:02}"), today);
            let read = read.unwrap_or_else(|| panic!("a date"));
            prop_assert_eq!(read.year % 100, yy);
            prop_assert!(read <= today);
            // A century later would be after today.
            prop_assert!(Date::new(read.year + 100, m, day).is_none_or(|later| later > today));
        }

        #[test]
        fn unknown_births_are_found_in_every_format(i in 0usize..UNKNOWN_BIRTHS.len(), f in 0usize..5) {
            let (y, m, day) = UNKNOWN_BIRTHS[i];
            let mon = MONTHS[usize::from(m - 1)];
            let raw = match f {
                0 => format!("{day:02}/{m:02}/{y:04}"),
                1 => format!("{y:04}-{m:02}-{day:02}"),
                2 => format!("{y:04}{m:02}{day:02}"),
                3 => format!("{day} {} {y:04}", &mon[..3]),
                _ => format!("{y:04}-{m:02}-{day:02}T00:00:00Z"),
            };
            prop_assert!(is_unknown_birth(&raw), "{}", raw);
        }

        #[test]
        fn valid_dates_parse_in_every_format(y in 1900u16..2100, m in 1u8..=12, day in 1u8..=31) {
            if let Some(date) = Date::new(y, m, day) {
                let mon = MONTHS[usize::from(m - 1)];
                for raw in [
                    format!("{day:02}/{m:02}/{y}"),
                    format!("{day}.{m}.{y}"),
                    format!("{y}-{m:02}-{day:02}"),
                    format!("{y}{m:02}{day:02}"),
                    format!("{day} {} {y}", &mon[..3]),
                    format!("{mon} {day}, {y}"),
                    format!("{y}-{m:02}-{day:02}T12:00:00Z"),
                ] {
                    prop_assert_eq!(parse(&raw), Some(date), "{}", raw);
                }
            }
        }
    }
}
