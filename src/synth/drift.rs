//! Today's resident register: how a dumped person's register row drifted from their
//! old records, and how the register formats everyone.
//!
//! The probabilities below are the contract `leakscope gen --help` documents; the
//! benchmark's accuracy numbers are only meaningful against them.

use super::mess::{Case, typo};
use super::people::{Address, Person, Sex, family_name};
use super::rng::Rng;
use super::tables::tables;
use super::values::{self, DateStyle, Day, EmailGeneration, Phone};

/// Register first name is a nickname (Bill for William), when the name has one.
pub const P_NICKNAME: f64 = 0.12;
/// One-character typo in the first name.
pub const P_FIRST_TYPO: f64 = 0.03;
/// Surname changed by marriage (women born 1960–1998); a fifth of them double-barrel.
pub const P_MARRIED: f64 = 0.12;
/// One-character typo in the surname.
pub const P_LAST_TYPO: f64 = 0.03;
/// Date of birth missing.
pub const P_DOB_MISSING: f64 = 0.03;
/// Date of birth mistyped (day and month swapped, or a day or year off by one).
pub const P_DOB_SLIP: f64 = 0.02;
/// Moved house since their last record.
pub const P_MOVED: f64 = 0.25;
/// Address line missing.
pub const P_ADDRESS_MISSING: f64 = 0.03;
/// Postcode missing.
pub const P_POSTCODE_MISSING: f64 = 0.03;
/// A new email address since their records.
pub const P_NEW_EMAIL: f64 = 0.20;
/// Email missing.
pub const P_EMAIL_MISSING: f64 = 0.15;
/// A new phone number since their records.
pub const P_NEW_PHONE: f64 = 0.15;
/// Phone missing.
pub const P_PHONE_MISSING: f64 = 0.15;
/// NI number missing (many registers never held it).
pub const P_NI_MISSING: f64 = 0.5;

/// The drift probabilities one archive uses: the documented ones above, or all of
/// them scaled by `gen --drift` (each capped at 1) to measure how accuracy holds up
/// as a register gets messier (`2`) or cleaner (`0`: every resident as their last
/// record, but formats).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// [`P_NICKNAME`].
    pub nickname: f64,
    /// [`P_FIRST_TYPO`].
    pub first_typo: f64,
    /// [`P_MARRIED`].
    pub married: f64,
    /// [`P_LAST_TYPO`].
    pub last_typo: f64,
    /// [`P_DOB_MISSING`].
    pub dob_missing: f64,
    /// [`P_DOB_SLIP`].
    pub dob_slip: f64,
    /// [`P_MOVED`].
    pub moved: f64,
    /// [`P_ADDRESS_MISSING`].
    pub address_missing: f64,
    /// [`P_POSTCODE_MISSING`].
    pub postcode_missing: f64,
    /// [`P_NEW_EMAIL`].
    pub new_email: f64,
    /// [`P_EMAIL_MISSING`].
    pub email_missing: f64,
    /// [`P_NEW_PHONE`].
    pub new_phone: f64,
    /// [`P_PHONE_MISSING`].
    pub phone_missing: f64,
    /// [`P_NI_MISSING`].
    pub ni_missing: f64,
}

impl Default for Rates {
    fn default() -> Self {
        Rates::scaled(1.0)
    }
}

impl Rates {
    /// Every documented probability times `factor` (at least 0, at most 1 each).
    /// `scaled(1.0)` is the documented set, and draws exactly what it always drew, so
    /// an archive of the default drift is byte-identical to one made before the
    /// setting existed.
    pub fn scaled(factor: f64) -> Rates {
        let f = |p: f64| (p * factor).clamp(0.0, 1.0);
        Rates {
            nickname: f(P_NICKNAME),
            first_typo: f(P_FIRST_TYPO),
            married: f(P_MARRIED),
            last_typo: f(P_LAST_TYPO),
            dob_missing: f(P_DOB_MISSING),
            dob_slip: f(P_DOB_SLIP),
            moved: f(P_MOVED),
            address_missing: f(P_ADDRESS_MISSING),
            postcode_missing: f(P_POSTCODE_MISSING),
            new_email: f(P_NEW_EMAIL),
            email_missing: f(P_EMAIL_MISSING),
            new_phone: f(P_NEW_PHONE),
            phone_missing: f(P_PHONE_MISSING),
            ni_missing: f(P_NI_MISSING),
        }
    }
}

/// One register row, every value as written (empty when missing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterRow {
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Date of birth in one of several formats.
    pub dob: String,
    /// First address line, sometimes with locality and town.
    pub address: String,
    /// Postcode, in one of several formats.
    pub postcode: String,
    /// Email address.
    pub email: String,
    /// Phone number, in one of several formats.
    pub phone: String,
    /// NI number, in one of several formats.
    pub ni_number: String,
}

impl RegisterRow {
    /// The row's CSV fields after `resident_id`, with the leading comma and line end.
    pub fn csv_tail(&self) -> String {
        let mut out = String::with_capacity(160);
        for v in [
            &self.first_name,
            &self.last_name,
            &self.dob,
            &self.address,
            &self.postcode,
            &self.email,
            &self.phone,
            &self.ni_number,
        ] {
            out.push(',');
            if v.contains([',', '"', '\n', '\r']) {
                out.push('"');
                out.push_str(&v.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(v);
            }
        }
        out.push('\n');
        out
    }
}

/// Which drifts a dumped resident's row went through (for the summary).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drift {
    /// First name became a nickname.
    pub nickname: bool,
    /// First or last name has a typo.
    pub typo: bool,
    /// Surname changed by marriage.
    pub married: bool,
    /// Date of birth mistyped.
    pub dob_slip: bool,
    /// Moved house.
    pub moved: bool,
    /// New email.
    pub new_email: bool,
    /// New phone.
    pub new_phone: bool,
}

/// A familiar form of `first`, if it has one.
pub fn nickname(first: &str, rng: &mut Rng) -> Option<String> {
    let nicks = tables().nicknames_of(first);
    (!nicks.is_empty()).then(|| rng.pick(nicks).clone())
}

/// A married surname different from `old`; sometimes double-barrelled with it.
pub fn married_name(old: &str, rng: &mut Rng) -> String {
    loop {
        let new = family_name(rng);
        if new != old {
            if rng.chance(0.2) && !old.contains([' ', '-']) && !new.contains([' ', '-']) {
                return format!("{old}-{new}");
            }
            return new;
        }
    }
}

/// A mistyped date of birth: day and month swapped when that is a date, otherwise the
/// day or the year one off. Never equal to `dob`.
pub fn dob_slip(dob: Day, rng: &mut Rng) -> Day {
    if let Some(s) = dob.swapped().filter(|s| *s != dob)
        && rng.chance(0.5)
    {
        return s;
    }
    if rng.chance(0.5) {
        let day = if dob.day > 1 { dob.day - 1 } else { 2 };
        Day { day, ..dob }
    } else {
        let year = if dob.year % 10 == 9 {
            dob.year - 1
        } else {
            dob.year + 1
        };
        // 29 February of a year that has none becomes the 28th.
        Day::new(year, dob.month, dob.day).unwrap_or(Day {
            year,
            month: dob.month,
            day: 28,
        })
    }
}

fn format_dob(dob: Day, rng: &mut Rng) -> String {
    match rng.index(20) {
        0..=11 => dob.format(DateStyle::DayMonthYear),
        12..=16 => dob.format(DateStyle::Iso),
        _ => dob.format(DateStyle::Long),
    }
}

fn format_address(a: &Address, rng: &mut Rng, case: Case) -> String {
    let line = a.first_line();
    let line = match rng.index(10) {
        0..=5 => line,
        6..=7 => format!("{line}, London"),
        8 => format!("{line}, {}", a.locality()),
        _ => line.replace(", ", " "),
    };
    case.apply(&line)
}

struct Values<'a> {
    first: String,
    last: String,
    dob: Option<Day>,
    address: Option<&'a Address>,
    email: Option<String>,
    phone: Option<Phone>,
    ni: Option<String>,
}

/// How the register system writes a resident's values.
fn write_row(v: Values, rng: &mut Rng, rates: &Rates) -> RegisterRow {
    let case = Case::random(rng, 0.1, 0.05);
    RegisterRow {
        first_name: case.apply(&v.first),
        last_name: case.apply(&v.last),
        dob: v.dob.map(|d| format_dob(d, rng)).unwrap_or_default(),
        address: v
            .address
            .filter(|_| !rng.chance(rates.address_missing))
            .map(|a| format_address(a, rng, case))
            .unwrap_or_default(),
        postcode: v
            .address
            .filter(|_| !rng.chance(rates.postcode_missing))
            .map(|a| a.postcode.messy(rng))
            .unwrap_or_default(),
        email: v.email.map(|e| e.trim().to_string()).unwrap_or_default(),
        phone: v.phone.map(|p| p.messy(rng)).unwrap_or_default(),
        ni_number: v
            .ni
            .map(|n| values::NiNumber(n).messy(rng))
            .unwrap_or_default(),
    }
}

/// What one of a person's dump records says, reduced to what links a register row to
/// it: its text folded for substring checks (lower case, no white space) and its digits.
struct RecordText {
    folded: String,
    digits: String,
}

impl RecordText {
    fn new(text: &str) -> RecordText {
        RecordText {
            folded: text
                .chars()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_lowercase)
                .collect(),
            digits: text.chars().filter(char::is_ascii_digit).collect(),
        }
    }

    fn has_email(&self, email: &str) -> bool {
        let e: String = email.chars().filter(|c| !c.is_whitespace()).collect();
        !e.is_empty() && self.folded.contains(&e.to_lowercase())
    }

    fn has_phone(&self, phone: &Phone) -> bool {
        // National significant number: what every format of it (`07…`, `+44 7…`) keeps.
        let nsn = phone.0.trim_start_matches('0');
        nsn.len() >= 9 && self.digits.contains(nsn)
    }

    fn has_ni(&self, ni: &str) -> bool {
        let stem: String = ni.chars().filter(|c| !c.is_whitespace()).take(8).collect();
        stem.len() == 8 && self.folded.contains(&stem.to_lowercase())
    }

    fn has_dob(&self, dob: Day) -> bool {
        [
            DateStyle::DayMonthYear,
            DateStyle::Iso,
            DateStyle::Compact,
            DateStyle::DayMonName,
            DateStyle::Long,
        ]
        .into_iter()
        .any(|s| {
            let f: String = dob
                .format(s)
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            self.folded.contains(&f.to_lowercase())
        })
    }
}

/// The register row of dumped person `p`, drifted from their records.
///
/// `records` are the texts of the person's dump records. Drift makes a resident hard
/// to find, never impossible: when none of the row's email, phone, NI number or date
/// of birth appears in any of those records (only a name would link them, and a name
/// alone names many people), the drift that cut the last link is undone: an email,
/// else a phone, else the NI number a record carries comes back, else the date of
/// birth and the old surname. Without records (unit tests) no check is made.
pub fn exposed_row(
    seed: u64,
    rng: &mut Rng,
    rates: &Rates,
    p: &Person,
    records: &[&str],
) -> (RegisterRow, Drift) {
    let mut d = Drift::default();
    let mut first = p.first.clone();
    if let Some(n) = nickname(&p.first, rng).filter(|_| rng.chance(rates.nickname)) {
        first = n;
        d.nickname = true;
    }
    if rng.chance(rates.first_typo) {
        first = typo(&first, rng);
        d.typo = true;
    }
    let mut last = p.last.clone();
    let may_marry = p.sex == Sex::Female && (1960..=1998).contains(&p.dob.year);
    if may_marry && rng.chance(rates.married) {
        last = married_name(&p.last, rng);
        d.married = true;
    }
    if rng.chance(rates.last_typo) {
        last = typo(&last, rng);
        d.typo = true;
    }
    let mut dob = Some(p.dob);
    if rng.chance(rates.dob_missing) {
        dob = None;
    } else if rng.chance(rates.dob_slip) {
        dob = Some(dob_slip(p.dob, rng));
        d.dob_slip = true;
    }
    let new_home;
    let mut address = p.latest_home();
    if rng.chance(rates.moved) {
        new_home = Address::random(seed, rng);
        address = &new_home;
        d.moved = true;
    }
    let mut email = p.latest_email().cloned();
    if rng.chance(rates.new_email) {
        let n = values::email_number(seed, p.id, EmailGeneration::Current);
        email = Some(values::email_for(rng, &first, &last, n));
        d.new_email = true;
    }
    if rng.chance(rates.email_missing) {
        email = None;
    }
    let mut phone = p.latest_mobile().or(p.landline.as_ref()).cloned();
    if rng.chance(rates.new_phone) {
        phone = Some(Phone::mobile(seed, p.id, 2));
        d.new_phone = true;
    }
    if rng.chance(rates.phone_missing) {
        phone = None;
    }
    let mut ni = (!rng.chance(rates.ni_missing)).then(|| p.ni.0.clone());

    // Hard, but never hopeless: someone whose every identifier changed or went missing
    // keeps a date of birth and at least one of their old names.
    let old_email = email.is_some() && !d.new_email;
    let old_phone = phone.is_some() && !d.new_phone;
    if !(old_email || old_phone || ni.is_some()) {
        if dob != Some(p.dob) {
            dob = Some(p.dob);
            d.dob_slip = false;
        }
        if (d.nickname || d.typo) && d.married {
            last = p.last.clone();
            d.married = false;
        }
    }
    if !records.is_empty() {
        let texts: Vec<RecordText> = records.iter().map(|t| RecordText::new(t)).collect();
        let any = |f: &dyn Fn(&RecordText) -> bool| texts.iter().any(f);
        let linked = email.as_deref().is_some_and(|e| any(&|t| t.has_email(e)))
            || phone.as_ref().is_some_and(|ph| any(&|t| t.has_phone(ph)))
            || ni.as_deref().is_some_and(|n| any(&|t| t.has_ni(n)))
            || (dob.is_some_and(|b| any(&|t| t.has_dob(b))) && !d.married);
        if !linked {
            let old_email = p
                .emails
                .iter()
                .map(|e| &e.value)
                .find(|e| any(&|t| t.has_email(e)));
            let old_phone = p
                .mobiles
                .iter()
                .map(|m| &m.value)
                .chain(p.landline.as_ref())
                .find(|ph| any(&|t| t.has_phone(ph)));
            if let Some(e) = old_email {
                email = Some(e.clone());
                d.new_email = false;
            } else if let Some(ph) = old_phone {
                phone = Some(ph.clone());
                d.new_phone = false;
            } else if any(&|t| t.has_ni(&p.ni.0)) {
                ni = Some(p.ni.0.clone());
            } else {
                dob = Some(p.dob);
                d.dob_slip = false;
                if d.married {
                    last = p.last.clone();
                    d.married = false;
                }
            }
        }
    }
    let row = write_row(
        Values {
            first,
            last,
            dob,
            address: Some(address),
            email,
            phone,
            ni,
        },
        rng,
        rates,
    );
    (row, d)
}

/// The register row of someone who is not in the dump.
pub fn fresh_row(rng: &mut Rng, rates: &Rates, p: &Person) -> RegisterRow {
    let dob = (!rng.chance(rates.dob_missing)).then_some(p.dob);
    let email = p
        .latest_email()
        .filter(|_| !rng.chance(rates.email_missing))
        .cloned();
    let phone = p
        .latest_mobile()
        .or(p.landline.as_ref())
        .filter(|_| !rng.chance(rates.phone_missing))
        .cloned();
    let ni = (!rng.chance(rates.ni_missing)).then(|| p.ni.0.clone());
    write_row(
        Values {
            first: p.first.clone(),
            last: p.last.clone(),
            dob,
            address: Some(p.latest_home()),
            email,
            phone,
            ni,
        },
        rng,
        rates,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{any, prop_assert_eq, proptest};

    #[test]
    fn rates_scale_every_probability_and_stay_probabilities() {
        let one = Rates::default();
        assert_eq!(one.moved, P_MOVED);
        assert_eq!(one.ni_missing, P_NI_MISSING);
        let zero = Rates::scaled(0.0);
        assert_eq!(
            (zero.nickname, zero.moved, zero.ni_missing),
            (0.0, 0.0, 0.0)
        );
        let three = Rates::scaled(3.0);
        assert!((three.moved - 3.0 * P_MOVED).abs() < 1e-12);
        // 3 x 50% is capped, not 150%.
        assert_eq!(three.ni_missing, 1.0);
    }

    #[test]
    fn nicknames_come_from_the_table() {
        let mut rng = Rng::new(1);
        let n = nickname("William", &mut rng).unwrap();
        assert!(["Bill", "Will", "Billy", "Liam"].contains(&n.as_str()));
        assert_eq!(nickname("Zoë", &mut rng), None);
    }

    #[test]
    fn married_names_differ() {
        let mut rng = Rng::new(2);
        for _ in 0..200 {
            let m = married_name("Smith", &mut rng);
            assert_ne!(m, "Smith");
        }
    }

    #[test]
    fn dob_slips_are_valid_and_different() {
        let mut rng = Rng::new(3);
        for (y, m, d) in [
            (1980, 2, 3),
            (2000, 2, 29),
            (1999, 12, 31),
            (1975, 5, 5),
            (1960, 1, 1),
        ] {
            let dob = Day::new(y, m, d).unwrap();
            for _ in 0..100 {
                let s = dob_slip(dob, &mut rng);
                assert_ne!(s, dob);
                assert!(Day::new(s.year, s.month, s.day).is_some(), "{s:?}");
            }
        }
    }

    #[test]
    fn drift_rates_roughly_match_the_documented_ones() {
        let mut moved = 0;
        let mut new_email = 0;
        let mut nick = 0;
        let mut nick_possible = 0;
        let n = 4000;
        for i in 0..n {
            let p = Person::dump(42, i);
            let mut rng = Rng::new(i);
            let (_, d) = exposed_row(42, &mut rng, &Rates::default(), &p, &[]);
            moved += usize::from(d.moved);
            new_email += usize::from(d.new_email);
            if !tables().nicknames_of(&p.first).is_empty() {
                nick_possible += 1;
                nick += usize::from(d.nickname);
            }
        }
        let rate = |k: usize, of: usize| k as f64 / of as f64;
        assert!((rate(moved, n as usize) - P_MOVED).abs() < 0.03);
        assert!((rate(new_email, n as usize) - P_NEW_EMAIL).abs() < 0.03);
        assert!((rate(nick, nick_possible) - P_NICKNAME).abs() < 0.04);
    }

    #[test]
    fn drifted_rows_keep_something_to_find_them_by() {
        for i in 0..3000 {
            let p = Person::dump(42, i);
            let mut rng = Rng::new(i + 99);
            let (row, d) = exposed_row(42, &mut rng, &Rates::default(), &p, &[]);
            let has_identifier = (!row.email.is_empty() && !d.new_email)
                || (!row.phone.is_empty() && !d.new_phone)
                || !row.ni_number.is_empty();
            if !has_identifier {
                assert!(!row.dob.is_empty());
                assert!(!d.dob_slip);
            }
            assert!(!row.first_name.is_empty() && !row.last_name.is_empty());
        }
    }

    #[test]
    fn csv_tail_quotes_addresses() {
        let row = RegisterRow {
            first_name: "Jane".into(),
            address: "Flat 3, 12 Abingdon Road".into(),
            ..RegisterRow::default()
        };
        assert_eq!(row.csv_tail(), ",Jane,,,\"Flat 3, 12 Abingdon Road\",,,,\n");
    }

    proptest! {
        #[test]
        fn exposed_rows_never_panic_and_are_deterministic(i in 0u64..100_000, seed in any::<u64>()) {
            let p = Person::dump(seed, i);
            let a = exposed_row(seed, &mut Rng::new(i), &Rates::default(), &p, &[]);
            let b = exposed_row(seed, &mut Rng::new(i), &Rates::default(), &p, &[]);
            prop_assert_eq!(a, b);
        }
    }
}
