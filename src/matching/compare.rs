//! Field-by-field comparison of a query person with one candidate record.
//!
//! [`compare`] looks at each [`FieldFamily`] (given name, family name, date of birth,
//! address, each identifier kind, …) and says how the two sides relate: they agree
//! exactly, agree in a known fuzzy way ([`Outcome::Nickname`], a day/month swap, the
//! same postcode sector …), disagree, or one side lacks the field. It assigns no
//! weights: that is [`super::score`]'s job, so the rules for *what counts as a near
//! miss* and *what a near miss is worth* can be read and tuned apart.
//!
//! Both sides are [`Person`]s already in canonical form, so comparing never
//! normalises. Fields are lists (a record may carry two phones); a family's outcome is
//! the best one over all pairs of values.
//!
//! ```
//! use leakscope::matching::{compare, FieldFamily, Outcome};
//! use leakscope::normalize::Person;
//!
//! let query = Person { first_names: vec!["bill".into()], ..Person::default() };
//! let record = Person { first_names: vec!["william".into()], ..Person::default() };
//! let found = compare(&query, &record);
//! let first = found.get(FieldFamily::FirstName).map(|c| c.outcome);
//! assert_eq!(first, Some(Outcome::Nickname));
//! ```

use crate::field::FieldKind;
use crate::normalize::{Date, Person, address, email, phone, postcode};
use serde::Serialize;
use std::fmt;

/// Jaro-Winkler similarity from which two different given names count as one name
/// mistyped. Lower than for family names because given names are short and a single
/// slip (`jonathon`/`jonathan`) costs more similarity.
pub(crate) const GIVEN_NAME_JW: f64 = 0.90;
/// Family names are longer; 0.92 keeps `smith`/`smyth` out (that is phonetic agreement,
/// weighed separately) while admitting `thomson`/`thompson`.
pub(crate) const FAMILY_NAME_JW: f64 = 0.92;
/// Street lines vary a lot in writing (`flat 2`, missing `road`); 0.90 is loose enough
/// for that and still well above two different streets of one town.
pub(crate) const STREET_JW: f64 = 0.90;
/// Town names are few and distinct; only typos should pass.
pub(crate) const TOWN_JW: f64 = 0.92;
/// A family name that contains the other (`smithjones` / `jones`) counts as fuzzy
/// agreement only when the shorter one is at least this long, so `li` in `williams`
/// does not.
pub(crate) const MIN_CONTAINED_NAME: usize = 4;
/// Digits a phone number must share at its end for [`Outcome::LastDigits`]: nine is a UK
/// subscriber number without trunk prefix or country code.
const PHONE_TAIL_DIGITS: usize = 9;

/// A group of fields compared as one: the unit a weight is attached to and an
/// explanation line talks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldFamily {
    /// Given names (first names, checked against the other side's middle names too).
    FirstName,
    /// Middle names.
    MiddleName,
    /// Family names.
    LastName,
    /// Date of birth.
    Dob,
    /// Gender marker.
    Gender,
    /// House number, flat, street and postcode together: they describe one place, so
    /// they get one outcome instead of four correlated ones.
    Address,
    /// Town, compared only when a postcode is not available on both sides (a postcode
    /// already says the town).
    Town,
    /// Email address.
    Email,
    /// Phone number (E.164).
    Phone,
    /// National Insurance number.
    NiNumber,
    /// Any other reference number (council tax account, claim number …).
    AccountRef,
    /// Unique Property Reference Number.
    Uprn,
    /// Bank account number.
    BankAccount,
    /// Bank sort code.
    SortCode,
    /// Payment card number.
    CardNumber,
    /// Passport number.
    Passport,
    /// Driving licence number.
    DrivingLicence,
    /// User name of an online account.
    Username,
    /// IP address.
    Ip,
}

/// Families in the order of their codes (`family as usize`).
const FAMILIES: [FieldFamily; 19] = [
    FieldFamily::FirstName,
    FieldFamily::MiddleName,
    FieldFamily::LastName,
    FieldFamily::Dob,
    FieldFamily::Gender,
    FieldFamily::Address,
    FieldFamily::Town,
    FieldFamily::Email,
    FieldFamily::Phone,
    FieldFamily::NiNumber,
    FieldFamily::AccountRef,
    FieldFamily::Uprn,
    FieldFamily::BankAccount,
    FieldFamily::SortCode,
    FieldFamily::CardNumber,
    FieldFamily::Passport,
    FieldFamily::DrivingLicence,
    FieldFamily::Username,
    FieldFamily::Ip,
];

impl FieldFamily {
    /// How many families there are.
    pub const COUNT: usize = FAMILIES.len();
    /// Every family, in code order.
    pub const ALL: [FieldFamily; FieldFamily::COUNT] = FAMILIES;

    /// The family's name as it appears in explanations (`first_name`, `address`, `email`).
    pub fn name(self) -> &'static str {
        match self {
            FieldFamily::FirstName => "first_name",
            FieldFamily::MiddleName => "middle_name",
            FieldFamily::LastName => "last_name",
            FieldFamily::Dob => "dob",
            FieldFamily::Gender => "gender",
            FieldFamily::Address => "address",
            FieldFamily::Town => "town",
            FieldFamily::Email => "email",
            FieldFamily::Phone => "phone",
            FieldFamily::NiNumber => "ni_number",
            FieldFamily::AccountRef => "account_ref",
            FieldFamily::Uprn => "uprn",
            FieldFamily::BankAccount => "bank_account",
            FieldFamily::SortCode => "sort_code",
            FieldFamily::CardNumber => "card_number",
            FieldFamily::Passport => "passport",
            FieldFamily::DrivingLicence => "driving_licence",
            FieldFamily::Username => "username",
            FieldFamily::Ip => "ip",
        }
    }

    /// The family an identifier kind is compared in; `None` for kinds that are not
    /// identifiers (names, dates and address parts have their own fields in [`Person`]).
    pub fn of_identifier(kind: FieldKind) -> Option<FieldFamily> {
        match kind {
            FieldKind::Email => Some(FieldFamily::Email),
            FieldKind::Phone => Some(FieldFamily::Phone),
            FieldKind::NiNumber => Some(FieldFamily::NiNumber),
            FieldKind::AccountRef => Some(FieldFamily::AccountRef),
            FieldKind::Uprn => Some(FieldFamily::Uprn),
            FieldKind::BankAccount => Some(FieldFamily::BankAccount),
            FieldKind::SortCode => Some(FieldFamily::SortCode),
            FieldKind::CardNumber => Some(FieldFamily::CardNumber),
            FieldKind::Passport => Some(FieldFamily::Passport),
            FieldKind::DrivingLicence => Some(FieldFamily::DrivingLicence),
            FieldKind::Username => Some(FieldFamily::Username),
            FieldKind::Ip => Some(FieldFamily::Ip),
            _ => None,
        }
    }

    /// Whether this family is a strong identifier (email, phone, NI number …).
    pub fn is_identifier(self) -> bool {
        self >= FieldFamily::Email
    }
}

impl fmt::Display for FieldFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the two sides of one family relate.
///
/// Declared from strongest to weakest agreement: when a family has several values on
/// each side, the outcome kept is the first in this order that any pair reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Same canonical value.
    Exact,
    /// Given names from one nickname group (`bill` / `william`).
    Nickname,
    /// Names within Jaro-Winkler distance, or one family name containing the other.
    Fuzzy,
    /// One side's given name is the other side's middle name.
    MiddleName,
    /// Same phonetic code (`smith` / `smyth`).
    Phonetic,
    /// One side has only an initial, and it matches.
    Initial,
    /// Date of birth with day and month swapped (US vs UK order).
    DayMonthSwapped,
    /// Date of birth one digit off (`1980-02-03` / `1980-02-08`).
    OneDigit,
    /// Date of birth in the same year and month.
    SameYearMonth,
    /// Same postcode and house number, a flat number on one side only: the building
    /// agrees, the household within it is not known.
    Building,
    /// Same house number and postcode, street written differently.
    StreetVariant,
    /// Same postcode; a house number is missing on one side.
    Postcode,
    /// Same street and house number; postcodes missing or different (a postcode typo).
    StreetAndHouse,
    /// Same street (no house numbers to compare, no postcodes).
    Street,
    /// Same postcode, different house number or different flat: a neighbour, or a
    /// move within the postcode.
    OtherHouse,
    /// Same postcode sector (`SW1A 1`), different postcode.
    Sector,
    /// Same postcode district (outward code `SW1A`), different sector.
    District,
    /// Same email local part at another domain.
    LocalPart,
    /// Same last nine phone digits, different prefix.
    LastDigits,
    /// Both sides have values and none of the above holds.
    Disagree,
    /// One side has no value for this family.
    Missing,
}

impl Outcome {
    /// How many outcomes there are.
    pub const COUNT: usize = Outcome::Missing as usize + 1;

    /// Every outcome, in declaration order (strongest first): `ALL[o as usize] == o`.
    pub const ALL: [Outcome; Outcome::COUNT] = {
        use Outcome::*;
        [
            Exact,
            Nickname,
            Fuzzy,
            MiddleName,
            Phonetic,
            Initial,
            DayMonthSwapped,
            OneDigit,
            SameYearMonth,
            Building,
            StreetVariant,
            Postcode,
            StreetAndHouse,
            Street,
            OtherHouse,
            Sector,
            District,
            LocalPart,
            LastDigits,
            Disagree,
            Missing,
        ]
    };

    /// The outcome's name in explanations (`exact`, `nickname`, `day_month_swapped`).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Exact => "exact",
            Outcome::Nickname => "nickname",
            Outcome::Fuzzy => "fuzzy",
            Outcome::MiddleName => "middle_name",
            Outcome::Phonetic => "phonetic",
            Outcome::Initial => "initial",
            Outcome::DayMonthSwapped => "day_month_swapped",
            Outcome::OneDigit => "one_digit",
            Outcome::SameYearMonth => "same_year_month",
            Outcome::Building => "building",
            Outcome::StreetVariant => "street_variant",
            Outcome::Postcode => "postcode",
            Outcome::StreetAndHouse => "street_and_house",
            Outcome::Street => "street",
            Outcome::OtherHouse => "other_house",
            Outcome::Sector => "sector",
            Outcome::District => "district",
            Outcome::LocalPart => "local_part",
            Outcome::LastDigits => "last_digits",
            Outcome::Disagree => "disagree",
            Outcome::Missing => "missing",
        }
    }

    /// Whether the outcome is evidence *for* a match (exact or fuzzy agreement).
    pub fn is_agreement(self) -> bool {
        self < Outcome::Disagree
    }

    /// Whether the outcome is a near miss rather than exact agreement.
    pub fn is_fuzzy(self) -> bool {
        self != Outcome::Exact && self.is_agreement()
    }
}

impl fmt::Display for Outcome {
    /// `exact`, `disagree`, `missing`, or `fuzzy:<how>` for near misses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_fuzzy() {
            write!(f, "fuzzy:{}", self.name())
        } else {
            f.write_str(self.name())
        }
    }
}

/// The query-side value that agreed, so that scoring can ask how common it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agreed<'q> {
    /// A canonical string value (a name, a postcode, an identifier).
    Text(&'q str),
    /// A date of birth.
    Date(Date),
}

/// The outcome of one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Comparison<'q> {
    /// Which family.
    pub family: FieldFamily,
    /// How the two sides relate.
    pub outcome: Outcome,
    /// For agreements whose weight depends on how common the value is: the query's
    /// value. For [`FieldFamily::Address`] this is the postcode.
    pub value: Option<Agreed<'q>>,
}

/// Every family's outcome for one query/record pair; families neither side has are
/// absent. A fixed array: comparing allocates nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparisons<'q> {
    slots: [Option<Comparison<'q>>; FieldFamily::COUNT],
}

impl<'q> Comparisons<'q> {
    /// No family compared yet.
    pub(crate) fn new() -> Self {
        Comparisons {
            slots: [None; FieldFamily::COUNT],
        }
    }

    /// The comparison of one family, if either side has it.
    pub fn get(&self, family: FieldFamily) -> Option<&Comparison<'q>> {
        self.slots[family as usize].as_ref()
    }

    /// The compared families in code order.
    pub fn iter(&self) -> impl Iterator<Item = &Comparison<'q>> {
        self.slots.iter().flatten()
    }

    pub(crate) fn set(&mut self, family: FieldFamily, outcome: Outcome, value: Option<Agreed<'q>>) {
        self.slots[family as usize] = Some(Comparison {
            family,
            outcome,
            value,
        });
    }
}

/// Compares a query person with one candidate record, family by family.
pub fn compare<'q>(query: &'q Person, record: &Person) -> Comparisons<'q> {
    let mut out = Comparisons::new();
    compare_part(query, record, Part::Person, &mut out);
    compare_part(query, record, Part::Place, &mut out);
    out
}

/// The two halves of a comparison. The engine compares a record's person first and
/// its place (the costliest fields to normalise) only when they can still matter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    /// Names, date of birth, gender and identifiers.
    Person,
    /// [`FieldFamily::Address`] and [`FieldFamily::Town`]: house number, street,
    /// postcode and town.
    Place,
}

impl Part {
    /// The part a family belongs to.
    pub(crate) fn of(family: FieldFamily) -> Part {
        match family {
            FieldFamily::Address | FieldFamily::Town => Part::Place,
            _ => Part::Person,
        }
    }

    /// The part a record's field kind feeds (`None`: no comparison reads it).
    pub(crate) fn of_kind(kind: FieldKind) -> Option<Part> {
        match kind {
            FieldKind::HouseNumber
            | FieldKind::Street
            | FieldKind::Address
            | FieldKind::Town
            | FieldKind::Postcode => Some(Part::Place),
            FieldKind::RecordDate | FieldKind::Ignore => None,
            _ => Some(Part::Person),
        }
    }
}

/// Compares the families of one [`Part`] into `out`; the other part's slots are
/// left as they are.
pub(crate) fn compare_part<'q>(
    query: &'q Person,
    record: &Person,
    part: Part,
    out: &mut Comparisons<'q>,
) {
    if part == Part::Place {
        if let Some((outcome, value)) = compare_address(query, record) {
            out.set(FieldFamily::Address, outcome, value.map(Agreed::Text));
        }
        let postcodes_on_both = !query.postcodes.is_empty() && !record.postcodes.is_empty();
        if !postcodes_on_both
            && let Some((outcome, value)) =
                best_pair(&query.towns, &record.towns, |a, b| similar(a, b, TOWN_JW))
        {
            out.set(FieldFamily::Town, outcome, value.map(Agreed::Text));
        }
        return;
    }
    if let Some((outcome, value)) = compare_given(query, record) {
        out.set(FieldFamily::FirstName, outcome, value.map(Agreed::Text));
    }
    if let Some((outcome, value)) = best_pair(&query.middle_names, &record.middle_names, |a, b| {
        middle_pair(a, b)
    }) {
        out.set(FieldFamily::MiddleName, outcome, value.map(Agreed::Text));
    }
    if let Some((outcome, value)) = best_pair(&query.last_names, &record.last_names, |a, b| {
        family_pair(a, b)
    }) {
        out.set(FieldFamily::LastName, outcome, value.map(Agreed::Text));
    }
    if let Some((outcome, value)) = compare_dob(&query.dobs, &record.dobs) {
        out.set(FieldFamily::Dob, outcome, value.map(Agreed::Date));
    }
    if let Some(outcome) = compare_gender(&query.genders, &record.genders) {
        out.set(FieldFamily::Gender, outcome, None);
    }
    compare_identifiers(query, record, out);
}

/// The best outcome over all pairs, with the query value of an exact pair; `None`
/// when neither side has a value, `Missing` when only one has.
fn best_pair<'q>(
    query: &'q [String],
    record: &[String],
    pair: impl Fn(&str, &str) -> Outcome,
) -> Option<(Outcome, Option<&'q str>)> {
    match (query.is_empty(), record.is_empty()) {
        (true, true) => return None,
        (true, false) | (false, true) => return Some((Outcome::Missing, None)),
        (false, false) => {}
    }
    let mut best = Outcome::Disagree;
    for q in query {
        for r in record {
            let outcome = pair(q, r);
            if outcome == Outcome::Exact {
                return Some((Outcome::Exact, Some(q.as_str())));
            }
            best = best.min(outcome);
        }
    }
    Some((best, None))
}

use super::similarity::jaro_winkler;

fn similar(a: &str, b: &str, threshold: f64) -> Outcome {
    if a == b {
        Outcome::Exact
    } else if jaro_winkler(a, b) >= threshold {
        Outcome::Fuzzy
    } else {
        Outcome::Disagree
    }
}

fn is_initial(name: &str) -> bool {
    name.chars().count() == 1
}

fn same_initial(a: &str, b: &str) -> bool {
    a.chars().next() == b.chars().next()
}

fn given_pair(a: &str, b: &str) -> Outcome {
    if a == b {
        return Outcome::Exact;
    }
    if is_initial(a) || is_initial(b) {
        return if same_initial(a, b) {
            Outcome::Initial
        } else {
            Outcome::Disagree
        };
    }
    if nickname_match(a, b) {
        Outcome::Nickname
    } else if jaro_winkler(a, b) >= GIVEN_NAME_JW {
        Outcome::Fuzzy
    } else if phonetic_match(a, b) && full_phonetic_match(a, b) {
        Outcome::Phonetic
    } else {
        Outcome::Disagree
    }
}

/// Given names, with a second look at middle names: people go by their middle name
/// (`James Paul Smith` known as Paul), and forms put it in the first-name box.
fn compare_given<'q>(query: &'q Person, record: &Person) -> Option<(Outcome, Option<&'q str>)> {
    let (outcome, value) = best_pair(&query.first_names, &record.first_names, |a, b| {
        given_pair(a, b)
    })?;
    if outcome <= Outcome::MiddleName || outcome == Outcome::Missing {
        return Some((outcome, value));
    }
    let crosses = |names: &[String], middles: &[String]| {
        names
            .iter()
            .any(|n| !is_initial(n) && middles.iter().any(|m| m == n))
    };
    if crosses(&query.first_names, &record.middle_names)
        || crosses(&record.first_names, &query.middle_names)
    {
        return Some((Outcome::MiddleName, None));
    }
    Some((outcome, value))
}

fn middle_pair(a: &str, b: &str) -> Outcome {
    if a == b {
        Outcome::Exact
    } else if is_initial(a) || is_initial(b) {
        if same_initial(a, b) {
            Outcome::Initial
        } else {
            Outcome::Disagree
        }
    } else if jaro_winkler(a, b) >= GIVEN_NAME_JW {
        Outcome::Fuzzy
    } else {
        Outcome::Disagree
    }
}

fn family_pair(a: &str, b: &str) -> Outcome {
    if a == b {
        return Outcome::Exact;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    // A double-barrelled name taken or dropped at marriage keeps the other part whole.
    let contained =
        short.len() >= MIN_CONTAINED_NAME && (long.starts_with(short) || long.ends_with(short));
    if contained || jaro_winkler(a, b) >= FAMILY_NAME_JW {
        Outcome::Fuzzy
    } else if phonetic_match(a, b) {
        Outcome::Phonetic
    } else {
        Outcome::Disagree
    }
}

/// A date as the number `yyyymmdd`, for digit-level comparison.
fn date_number(d: Date) -> u32 {
    u32::from(d.year) * 10_000 + u32::from(d.month) * 100 + u32::from(d.day)
}

fn differing_digits(mut a: u32, mut b: u32) -> u32 {
    let mut differing = 0;
    while a > 0 || b > 0 {
        if a % 10 != b % 10 {
            differing += 1;
        }
        a /= 10;
        b /= 10;
    }
    differing
}

fn dob_pair(a: Date, b: Date) -> Outcome {
    if a == b {
        Outcome::Exact
    } else if a.year == b.year && a.day == b.month && a.month == b.day {
        Outcome::DayMonthSwapped
    } else if differing_digits(date_number(a), date_number(b)) == 1 && a.year.abs_diff(b.year) < 10
    {
        // A slipped digit, but not in the decade or century: a date ten or more
        // years away is far likelier a namesake (a father and son) than a typo.
        Outcome::OneDigit
    } else if a.year == b.year && a.month == b.month {
        Outcome::SameYearMonth
    } else {
        Outcome::Disagree
    }
}

fn compare_dob(query: &[Date], record: &[Date]) -> Option<(Outcome, Option<Date>)> {
    match (query.is_empty(), record.is_empty()) {
        (true, true) => return None,
        (true, false) | (false, true) => return Some((Outcome::Missing, None)),
        (false, false) => {}
    }
    let mut best = Outcome::Disagree;
    for &q in query {
        for &r in record {
            let outcome = dob_pair(q, r);
            if outcome == Outcome::Exact {
                return Some((Outcome::Exact, Some(q)));
            }
            best = best.min(outcome);
        }
    }
    Some((best, None))
}

/// `m` and `f` are compared; `x` (unspecified, or neither) says nothing either way.
fn compare_gender(query: &[u8], record: &[u8]) -> Option<Outcome> {
    let definite = |g: &&u8| matches!(g, b'm' | b'f');
    let has_q = query.iter().any(|g| definite(&g));
    let has_r = record.iter().any(|g| definite(&g));
    match (has_q, has_r) {
        (false, false) => None,
        (true, false) | (false, true) => Some(Outcome::Missing),
        (true, true) => {
            let agree = query
                .iter()
                .filter(definite)
                .any(|q| record.iter().filter(definite).any(|r| r == q));
            Some(if agree {
                Outcome::Exact
            } else {
                Outcome::Disagree
            })
        }
    }
}

fn postcode_pair(a: &str, b: &str) -> Outcome {
    if a == b {
        return Outcome::Exact;
    }
    match (postcode::uk_parts(a), postcode::uk_parts(b)) {
        (Some((out_a, sec_a)), Some((out_b, sec_b))) if out_a == out_b => {
            if sec_a == sec_b {
                Outcome::Sector
            } else {
                Outcome::District
            }
        }
        _ => Outcome::Disagree,
    }
}

/// How two sides' flat numbers relate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flats {
    /// Neither side names a flat.
    Neither,
    /// Both name one, and they share one.
    Same,
    /// Both name one, and none is shared: two dwellings.
    Differ,
    /// Only one side names a flat.
    OneSided,
}

impl Flats {
    /// The relation of two sides' flat lists from whether each side has one and
    /// whether any value is on both (the features path decides that from hashes).
    pub(crate) fn of(query_has: bool, record_has: bool, shared: bool) -> Flats {
        match (query_has, record_has) {
            (false, false) => Flats::Neither,
            (true, true) if shared => Flats::Same,
            (true, true) => Flats::Differ,
            _ => Flats::OneSided,
        }
    }

    /// Whether the two sides are one dwelling, from whether they are one house number
    /// (`None`: a house number is missing on a side): different flats are different
    /// dwellings whatever the house numbers say.
    pub(crate) fn same_dwelling(self, same_house: Option<bool>) -> Option<bool> {
        if self == Flats::Differ {
            Some(false)
        } else {
            same_house
        }
    }
}

/// Whether two street lines name the same street: equal, or equal word for word
/// once abbreviations are expanded and numbers dropped.
fn street_same(a: &str, b: &str) -> bool {
    a == b || address::street_name_words(a).eq(address::street_name_words(b))
}

/// Whether two street lines name the same street, or one written a little
/// differently (a typo, a missing word).
fn street_agrees(a: &str, b: &str) -> bool {
    street_same(a, b) || jaro_winkler(a, b) >= STREET_JW
}

/// Whether any pair of the two sides' values satisfies `pair`.
fn any_pair(query: &[String], record: &[String], pair: impl Fn(&str, &str) -> bool) -> bool {
    query.iter().any(|q| record.iter().any(|r| pair(q, r)))
}

/// House number, flat, street and postcode as one comparison. A record may list
/// several of each without saying which belong together, so each part is compared on
/// its own (best pair) and the parts are then read together.
///
/// A building with flats is several households. Two different flat numbers are two
/// dwellings, whatever the house numbers say: the pair is read as different houses
/// (`other_house` with the postcode agreeing). A flat number on one side only leaves
/// the household unknown: with the postcode and house number agreeing that is
/// [`Outcome::Building`], not `exact`; or `street_variant`, the weaker, when the
/// lines' words differ too (as they do by the word `flat` when the flat is in the
/// line and the other side has none), so that no pair weighs more than before.
///
/// Street lines are compared last and only as far as the outcome needs: with the
/// postcode agreeing, only "same street or not" matters; otherwise only "similar
/// or not", and only when the house number or a missing postcode leaves the street
/// to decide. Most candidates are settled by postcode and house number alone.
fn compare_address<'q>(query: &'q Person, record: &Person) -> Option<(Outcome, Option<&'q str>)> {
    let query_has =
        !query.postcodes.is_empty() || !query.streets.is_empty() || !query.house_numbers.is_empty();
    let record_has = !record.postcodes.is_empty()
        || !record.streets.is_empty()
        || !record.house_numbers.is_empty();
    if !query_has && !record_has {
        return None;
    }

    let mut postcode: Option<(Outcome, Option<&'q str>)> = None;
    if !query.postcodes.is_empty() && !record.postcodes.is_empty() {
        let mut best = (Outcome::Disagree, None);
        'pairs: for q in &query.postcodes {
            for r in &record.postcodes {
                let outcome = postcode_pair(q, r);
                if outcome < best.0 {
                    best = (outcome, Some(q.as_str()));
                    if outcome == Outcome::Exact {
                        break 'pairs;
                    }
                }
            }
        }
        postcode = Some(best);
    }
    let same_house =
        (!query.house_numbers.is_empty() && !record.house_numbers.is_empty()).then(|| {
            query
                .house_numbers
                .iter()
                .any(|q| record.house_numbers.contains(q))
        });
    let flats = Flats::of(
        !query.flats.is_empty(),
        !record.flats.is_empty(),
        query.flats.iter().any(|q| record.flats.contains(q)),
    );
    let same_house = flats.same_dwelling(same_house);
    let streets_on_both = !query.streets.is_empty() && !record.streets.is_empty();
    let streets_agree =
        || streets_on_both && any_pair(&query.streets, &record.streets, street_agrees);

    if let Some((Outcome::Exact, value)) = postcode {
        let outcome = match same_house {
            Some(true)
                if streets_on_both && !any_pair(&query.streets, &record.streets, street_same) =>
            {
                Outcome::StreetVariant
            }
            Some(true) if flats == Flats::OneSided => Outcome::Building,
            Some(true) => Outcome::Exact,
            Some(false) => Outcome::OtherHouse,
            None => Outcome::Postcode,
        };
        return Some((outcome, value));
    }
    if same_house == Some(true) && streets_agree() {
        return Some((Outcome::StreetAndHouse, None));
    }
    if let Some((outcome, _)) = postcode {
        // Sector, district or disagree; the postcode value only matters for exact.
        return Some((outcome, None));
    }
    // No postcode on one side: only the street can speak.
    if !streets_on_both {
        return Some((Outcome::Missing, None));
    }
    let outcome = if !streets_agree() {
        Outcome::Disagree
    } else {
        match same_house {
            Some(false) => Outcome::OtherHouse,
            // Same house with an agreeing street was settled above.
            Some(true) | None => Outcome::Street,
        }
    };
    Some((outcome, None))
}

fn identifier_pair(family: FieldFamily, a: &str, b: &str) -> Outcome {
    if a == b {
        return Outcome::Exact;
    }
    match family {
        // One mailbox written two ways (`jane.doe+tax@gmail.com`, `janedoe@gmail.com`).
        FieldFamily::Email if email::mailbox(a) == email::mailbox(b) => Outcome::Exact,
        FieldFamily::Email => {
            let local = email::local_part(a);
            if !local.is_empty() && local == email::local_part(b) {
                Outcome::LocalPart
            } else {
                Outcome::Disagree
            }
        }
        FieldFamily::Phone => {
            let long_enough = |p: &str| phone::tail(p).count() >= PHONE_TAIL_DIGITS;
            if long_enough(a)
                && long_enough(b)
                && phone::tail(a)
                    .take(PHONE_TAIL_DIGITS)
                    .eq(phone::tail(b).take(PHONE_TAIL_DIGITS))
            {
                Outcome::LastDigits
            } else {
                Outcome::Disagree
            }
        }
        // The suffix letter (A–D) is optional and often dropped: compare the stem.
        FieldFamily::NiNumber if a.get(..8).is_some_and(|s| Some(s) == b.get(..8)) => {
            Outcome::Exact
        }
        _ => Outcome::Disagree,
    }
}

fn compare_identifiers<'q>(query: &'q Person, record: &Person, out: &mut Comparisons<'q>) {
    let mut query_has = [false; FieldFamily::COUNT];
    let mut record_has = [false; FieldFamily::COUNT];
    let mut best: [(Outcome, Option<&'q str>); FieldFamily::COUNT] =
        [(Outcome::Disagree, None); FieldFamily::COUNT];
    for (kind, _) in &record.identifiers {
        if let Some(family) = FieldFamily::of_identifier(*kind) {
            record_has[family as usize] = true;
        }
    }
    for (kind, q) in &query.identifiers {
        let Some(family) = FieldFamily::of_identifier(*kind) else {
            continue;
        };
        let slot = family as usize;
        query_has[slot] = true;
        if best[slot].0 == Outcome::Exact {
            continue;
        }
        for (_, r) in record.identifiers.iter().filter(|(k, _)| k == kind) {
            let outcome = identifier_pair(family, q, r);
            if outcome < best[slot].0 {
                best[slot] = (outcome, (outcome == Outcome::Exact).then_some(q.as_str()));
            }
        }
    }
    for family in FieldFamily::ALL.into_iter().filter(|f| f.is_identifier()) {
        let slot = family as usize;
        let (outcome, value) = match (query_has[slot], record_has[slot]) {
            (false, false) => continue,
            (true, true) => best[slot],
            _ => (Outcome::Missing, None),
        };
        out.set(family, outcome, value.map(Agreed::Text));
    }
}

/// Shortest given name read as a shortening of a longer one (`fran` / `francesca`);
/// two letters (`al`, `jo`) are too ambiguous and left to the nickname table.
pub(crate) const MIN_SHORTENED_NAME: usize = 3;

/// Whether two folded given names are one name in nickname form: in one group of the
/// shared nickname table the keys use too (`bill` / `william`), or one is the other
/// cut short (`fran` / `francesca`, `sam` / `samantha`), which no table lists in full.
fn nickname_match(a: &str, b: &str) -> bool {
    if crate::normalize::name::same_given(a, b) {
        return true;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.len() >= MIN_SHORTENED_NAME && long.len() > short.len() && long.starts_with(short)
}

/// Whether two folded names sound alike: the same primary Double Metaphone code.
/// Called only after the cheaper checks failed; codes are cached per thread.
fn phonetic_match(a: &str, b: &str) -> bool {
    let code = crate::normalize::name::phonetic_code(a);
    !code.is_empty() && code == crate::normalize::name::phonetic_code(b)
}

/// Whether two given names sound alike over their whole length. The four-letter code
/// of [`phonetic_match`] (the keys' blocking code) ends before a given name's
/// distinguishing part: `christine` and `christopher` are both `KRST`, and a pair of
/// twins then looked like one person with a misspelt name. Called only when the short
/// codes agree, so computing the long codes uncached costs little.
fn full_phonetic_match(a: &str, b: &str) -> bool {
    crate::normalize::name::full_phonetic(a) == crate::normalize::name::full_phonetic(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_outcome_is_listed_at_its_own_position() {
        for (i, o) in Outcome::ALL.iter().enumerate() {
            assert_eq!(*o as usize, i, "{o:?}");
        }
    }

    fn date(year: u16, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn outcome(query: &Person, record: &Person, family: FieldFamily) -> Option<Outcome> {
        compare(query, record).get(family).map(|c| c.outcome)
    }

    #[test]
    fn given_names_that_share_only_a_phonetic_prefix_disagree() {
        assert_eq!(given_pair("christine", "christopher"), Outcome::Disagree);
        assert!(phonetic_match("christine", "christopher"));
        assert!(!full_phonetic_match("christine", "christopher"));
        assert!(full_phonetic_match("katherine", "catherine"));
        assert!(full_phonetic_match("steven", "stephen"));
    }

    #[test]
    fn given_names_exact_nickname_fuzzy_phonetic_initial_disagree() {
        assert_eq!(given_pair("jane", "jane"), Outcome::Exact);
        assert_eq!(given_pair("bill", "william"), Outcome::Nickname);
        assert_eq!(given_pair("fran", "francesca"), Outcome::Nickname);
        assert_eq!(given_pair("samantha", "sam"), Outcome::Nickname);
        assert_ne!(given_pair("jo", "joseph"), Outcome::Nickname);
        assert_eq!(given_pair("jonathon", "jonathan"), Outcome::Fuzzy);
        assert_eq!(given_pair("j", "jane"), Outcome::Initial);
        assert_eq!(given_pair("k", "jane"), Outcome::Disagree);
        assert_eq!(given_pair("mary", "jane"), Outcome::Disagree);
        assert_eq!(given_pair("stephen", "stevan"), Outcome::Phonetic);
    }

    #[test]
    fn family_names_fuzzy_phonetic_and_double_barrelled() {
        assert_eq!(family_pair("thompson", "thomson"), Outcome::Fuzzy);
        assert_eq!(family_pair("smith", "smyth"), Outcome::Phonetic);
        assert_eq!(family_pair("smithjones", "jones"), Outcome::Fuzzy);
        assert_eq!(family_pair("williams", "li"), Outcome::Disagree);
        assert_eq!(family_pair("smith", "patel"), Outcome::Disagree);
    }

    #[test]
    fn double_barrelled_and_former_names_agree_with_their_parts() {
        use FieldKind::{FirstName, FullName, LastName};
        let last = |q: &[(FieldKind, &str)], r: &[(FieldKind, &str)]| {
            let (q, r) = (Person::of(q), Person::of(r));
            let there = outcome(&q, &r, FieldFamily::LastName);
            // Either way round.
            assert_eq!(
                there,
                outcome(&r, &q, FieldFamily::LastName),
                "{q:?} / {r:?}"
            );
            there
        };
        // A part of three letters agrees as one of five does.
        assert_eq!(
            last(&[(LastName, "Doe")], &[(LastName, "Doe-Smith")]),
            Some(Outcome::Exact)
        );
        assert_eq!(
            last(&[(LastName, "Clark")], &[(LastName, "Clark-Wood")]),
            Some(Outcome::Exact)
        );
        assert_eq!(
            last(&[(FullName, "Jane Smith")], &[(FullName, "Jane Doe-Smith")]),
            Some(Outcome::Exact)
        );
        assert_eq!(
            last(&[(LastName, "Li")], &[(LastName, "Li-Williams")]),
            Some(Outcome::Exact)
        );
        // Written together, a short part still does not count.
        assert_eq!(
            last(&[(LastName, "Li")], &[(LastName, "Williams")]),
            Some(Outcome::Disagree)
        );
        // The current and the former name both agree.
        for name in ["Sarah Jones", "Sarah Brown"] {
            assert_eq!(
                last(
                    &[(FullName, name)],
                    &[(FullName, "Sarah Jones (nee Brown)")]
                ),
                Some(Outcome::Exact),
                "{name}"
            );
        }
        assert_eq!(
            last(
                &[(FirstName, "Helen"), (LastName, "Morris")],
                &[(FullName, "Mrs Helen Carter née Morris")]
            ),
            Some(Outcome::Exact)
        );
        assert_eq!(
            last(
                &[(FullName, "John Cooper")],
                &[(FullName, "John Cooper (deceased)")]
            ),
            Some(Outcome::Exact)
        );
    }

    #[test]
    fn written_abbreviations_of_given_names_are_nicknames() {
        assert_eq!(given_pair("wm", "william"), Outcome::Nickname);
        assert_eq!(given_pair("jno", "john"), Outcome::Nickname);
        assert_eq!(given_pair("jn", "jonathan"), Outcome::Nickname);
        assert_eq!(given_pair("richd", "richard"), Outcome::Nickname);
        assert_eq!(given_pair("xtopher", "christopher"), Outcome::Nickname);
        // Other names stay apart.
        assert_ne!(given_pair("thos", "timothy"), Outcome::Nickname);
        assert_ne!(given_pair("wm", "walter"), Outcome::Nickname);
    }

    #[test]
    fn given_name_against_middle_name() {
        let query = Person {
            first_names: names(&["paul"]),
            ..Person::default()
        };
        let record = Person {
            first_names: names(&["james"]),
            middle_names: names(&["paul"]),
            ..Person::default()
        };
        assert_eq!(
            outcome(&query, &record, FieldFamily::FirstName),
            Some(Outcome::MiddleName)
        );
        assert_eq!(
            outcome(&query, &record, FieldFamily::MiddleName),
            Some(Outcome::Missing)
        );
    }

    #[test]
    fn best_outcome_over_several_values_and_value_reported() {
        let query = Person {
            last_names: names(&["jones", "smith"]),
            ..Person::default()
        };
        let record = Person {
            last_names: names(&["smyth", "smith"]),
            ..Person::default()
        };
        let found = compare(&query, &record);
        let last = found.get(FieldFamily::LastName).copied();
        assert_eq!(
            last,
            Some(Comparison {
                family: FieldFamily::LastName,
                outcome: Outcome::Exact,
                value: Some(Agreed::Text("smith")),
            })
        );
    }

    #[test]
    fn missing_when_one_side_lacks_absent_when_both_do() {
        let query = Person {
            last_names: names(&["smith"]),
            ..Person::default()
        };
        let found = compare(&query, &Person::default());
        assert_eq!(
            found.get(FieldFamily::LastName).map(|c| c.outcome),
            Some(Outcome::Missing)
        );
        assert!(found.get(FieldFamily::FirstName).is_none());
        assert_eq!(found.iter().count(), 1);
    }

    #[test]
    fn dob_near_misses() {
        let d = date(1980, 2, 3);
        assert_eq!(dob_pair(d, d), Outcome::Exact);
        assert_eq!(dob_pair(d, date(1980, 3, 2)), Outcome::DayMonthSwapped);
        assert_eq!(dob_pair(d, date(1980, 2, 8)), Outcome::OneDigit);
        assert_eq!(dob_pair(d, date(1981, 2, 3)), Outcome::OneDigit);
        // The decade digit: another generation, not a typo.
        assert_eq!(dob_pair(d, date(2000, 2, 3)), Outcome::Disagree);
        assert_eq!(dob_pair(d, date(1960, 2, 3)), Outcome::Disagree);
        assert_eq!(dob_pair(d, date(1980, 2, 27)), Outcome::SameYearMonth);
        assert_eq!(dob_pair(d, date(1975, 6, 19)), Outcome::Disagree);
        // Day 12, month 12 swapped is the same date: exact, not a swap.
        assert_eq!(
            dob_pair(date(1980, 12, 12), date(1980, 12, 12)),
            Outcome::Exact
        );
    }

    #[test]
    fn gender_unspecified_is_not_compared() {
        assert_eq!(compare_gender(b"m", b"m"), Some(Outcome::Exact));
        assert_eq!(compare_gender(b"m", b"f"), Some(Outcome::Disagree));
        assert_eq!(compare_gender(b"x", b"f"), Some(Outcome::Missing));
        assert_eq!(compare_gender(b"x", b""), None);
    }

    #[test]
    fn postcode_sector_and_district() {
        assert_eq!(postcode::uk_parts("SW1A1AA"), Some(("SW1A", b'1')));
        assert_eq!(postcode::uk_parts("E17AB"), Some(("E1", b'7')));
        assert_eq!(postcode::uk_parts("75001"), None);
        assert_eq!(postcode_pair("SW1A1AA", "SW1A1BB"), Outcome::Sector);
        assert_eq!(postcode_pair("SW1A1AA", "SW1A2AA"), Outcome::District);
        assert_eq!(postcode_pair("SW1A1AA", "N16XY"), Outcome::Disagree);
        assert_eq!(postcode_pair("75001", "75002"), Outcome::Disagree);
    }

    fn address(house: &[&str], street: &[&str], postcode: &[&str]) -> Person {
        Person {
            house_numbers: names(house),
            streets: names(street),
            postcodes: names(postcode),
            ..Person::default()
        }
    }

    #[test]
    fn address_outcomes() {
        let home = address(&["12"], &["high street"], &["SW1A1AA"]);
        let cases = [
            (address(&["12"], &["high st"], &["SW1A1AA"]), Outcome::Exact),
            (
                address(&["12"], &["flat b high stret"], &["SW1A1AA"]),
                Outcome::StreetVariant,
            ),
            (address(&[], &[], &["SW1A1AA"]), Outcome::Postcode),
            (
                address(&["14"], &["high street"], &["SW1A1AA"]),
                Outcome::OtherHouse,
            ),
            (
                address(&["12"], &["high street"], &["SW1A1AB"]),
                Outcome::StreetAndHouse,
            ),
            (
                address(&["3"], &["low road"], &["SW1A1ZZ"]),
                Outcome::Sector,
            ),
            (
                address(&["3"], &["low road"], &["SW1A2ZZ"]),
                Outcome::District,
            ),
            (
                address(&["3"], &["low road"], &["N16XY"]),
                Outcome::Disagree,
            ),
            (address(&[], &["high street"], &[]), Outcome::Street),
            (
                address(&["12"], &["high street"], &[]),
                Outcome::StreetAndHouse,
            ),
            (address(&["12"], &["low road"], &[]), Outcome::Disagree),
            (address(&["12"], &[], &[]), Outcome::Missing),
        ];
        for (record, want) in cases {
            assert_eq!(
                outcome(&home, &record, FieldFamily::Address),
                Some(want),
                "{record:?}"
            );
        }
        assert_eq!(
            outcome(&Person::default(), &Person::default(), FieldFamily::Address),
            None
        );
    }

    fn with_flats(mut p: Person, flats: &[&str]) -> Person {
        p.flats = names(flats);
        p
    }

    #[test]
    fn flats_tell_households_apart() {
        // The flat in a column of its own (or a line of its own): the street line
        // names the street alone.
        let home = with_flats(address(&["12"], &["rose court"], &["SW1A1AA"]), &["3"]);
        let cases = [
            // Another flat of the building: a neighbour.
            (
                with_flats(address(&["12"], &["rose court"], &["SW1A1AA"]), &["7"]),
                Outcome::OtherHouse,
            ),
            (
                with_flats(
                    address(&["12"], &["flat 7 12 rose court"], &["SW1A1AA"]),
                    &["7"],
                ),
                Outcome::OtherHouse,
            ),
            // The same flat.
            (
                with_flats(address(&["12"], &["rose ct"], &["SW1A1AA"]), &["3"]),
                Outcome::Exact,
            ),
            (
                with_flats(address(&["12"], &[], &["SW1A1AA"]), &["3", "3a"]),
                Outcome::Exact,
            ),
            // The flat left out: the building agrees, the household is unknown.
            (
                address(&["12"], &["12 rose court"], &["SW1A1AA"]),
                Outcome::Building,
            ),
            (address(&["12"], &[], &["SW1A1AA"]), Outcome::Building),
            // ... unless the lines differ too: the weaker of the two.
            (
                address(&["12"], &["rose cort"], &["SW1A1AA"]),
                Outcome::StreetVariant,
            ),
            // Another flat without a house number, or without postcodes.
            (
                with_flats(address(&[], &["flat 7 rose court"], &["SW1A1AA"]), &["7"]),
                Outcome::OtherHouse,
            ),
            (
                with_flats(address(&["12"], &["rose court"], &[]), &["7"]),
                Outcome::OtherHouse,
            ),
            // The flat, postcode missing: street and house as before.
            (
                with_flats(address(&["12"], &["rose court"], &[]), &["3"]),
                Outcome::StreetAndHouse,
            ),
            // House number on one side only: the postcode, as before.
            (address(&[], &[], &["SW1A1AA"]), Outcome::Postcode),
            // Another building: flats do not matter.
            (
                address(&["14"], &["14 rose court"], &["SW1A1AA"]),
                Outcome::OtherHouse,
            ),
        ];
        for (record, want) in cases {
            assert_eq!(
                outcome(&home, &record, FieldFamily::Address),
                Some(want),
                "{record:?}"
            );
            assert_eq!(
                outcome(&record, &home, FieldFamily::Address),
                Some(want),
                "{record:?}"
            );
        }
        // Flats in both lines: another flat is a neighbour, as before `exact`.
        let line = |flat: &str| {
            with_flats(
                address(
                    &["12"],
                    &[&format!("flat {flat} 12 rose court")],
                    &["SW1A1AA"],
                ),
                &[flat],
            )
        };
        assert_eq!(
            outcome(&line("3"), &line("7"), FieldFamily::Address),
            Some(Outcome::OtherHouse)
        );
        assert_eq!(
            outcome(&line("3"), &line("3"), FieldFamily::Address),
            Some(Outcome::Exact)
        );
        // Neither side with a flat: as before.
        let house = address(&["12"], &["12 rose court"], &["SW1A1AA"]);
        assert_eq!(
            outcome(&house, &house, FieldFamily::Address),
            Some(Outcome::Exact)
        );
    }

    #[test]
    fn flats_are_read_from_every_address_kind() {
        use FieldKind as K;
        // The defect found on generated data: a register line without the flat, and
        // an electoral-roll record with it in the house-number column.
        let register = Person::of(&[
            (K::FirstName, "Mohammed"),
            (K::LastName, "Clarke"),
            (K::Address, "58 Hollywood Close"),
            (K::Postcode, "sw10 8nf"),
        ]);
        let record = Person::of(&[
            (K::FullName, "Mr Mohammed Fenbrook"),
            (K::HouseNumber, "Flat 12, 58"),
            (K::Street, "Hollywood Close"),
            (K::Postcode, "SW10 8NF"),
        ]);
        assert_eq!(record.flats, ["12"]);
        assert_eq!(record.house_numbers, ["58"]);
        assert_eq!(
            outcome(&register, &record, FieldFamily::Address),
            Some(Outcome::Building)
        );
        let neighbour = Person::of(&[(K::Address, "Flat 7, 58 Hollywood Close, SW10 8NF")]);
        assert_eq!(neighbour.flats, ["7"]);
        assert_eq!(
            outcome(&neighbour, &record, FieldFamily::Address),
            Some(Outcome::OtherHouse)
        );
        let resident = Person::of(&[
            (K::Address, "FLAT 12\n58 Hollywood Close\nLondon"),
            (K::Postcode, "SW10 8NF"),
        ]);
        assert_eq!(resident.flats, ["12"]);
        // The same flat; the lines' words differ (`flat`, `london`).
        assert_eq!(
            outcome(&resident, &record, FieldFamily::Address),
            Some(Outcome::StreetVariant)
        );
        let parking = Person::of(&[(K::HouseNumber, "58 (Flat 12)")]);
        assert_eq!(
            (parking.house_numbers, parking.flats),
            (names(&["58"]), names(&["12"]))
        );
    }

    #[test]
    fn town_only_without_postcodes_on_both_sides() {
        let mut query = Person {
            towns: names(&["london"]),
            ..Person::default()
        };
        let record = Person {
            towns: names(&["londn"]),
            postcodes: names(&["SW1A1AA"]),
            ..Person::default()
        };
        assert_eq!(
            outcome(&query, &record, FieldFamily::Town),
            Some(Outcome::Fuzzy)
        );
        query.postcodes = names(&["N16XY"]);
        assert_eq!(outcome(&query, &record, FieldFamily::Town), None);
    }

    fn ids(list: &[(FieldKind, &str)]) -> Person {
        Person {
            identifiers: list.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            ..Person::default()
        }
    }

    #[test]
    fn identifiers_per_kind() {
        use FieldKind as K;
        let query = ids(&[
            (K::Email, "jane.doe+shop@example.com"),
            (K::Phone, "+447911123456"),
            (K::NiNumber, "AB123456"),
            (K::AccountRef, "CT0001"),
            (K::Passport, "123456789"),
        ]);
        let record = ids(&[
            (K::Email, "jane.doe@other.org"),
            (K::Phone, "+337911123456"),
            (K::NiNumber, "AB123456C"),
            (K::AccountRef, "CT0002"),
            (K::Username, "janed"),
        ]);
        let found = compare(&query, &record);
        let get = |f| found.get(f).map(|c| c.outcome);
        assert_eq!(get(FieldFamily::Email), Some(Outcome::LocalPart));
        // One mailbox written two ways is one address.
        for (a, b) in [
            ("jane.doe+shop@example.com", "jane.doe@example.com"),
            ("jane.doe+tax@gmail.com", "janedoe@googlemail.com"),
            ("j.ane@gmail.com", "jane+council@gmail.com"),
        ] {
            let (qa, rb) = (ids(&[(K::Email, a)]), ids(&[(K::Email, b)]));
            let found = compare(&qa, &rb);
            let outcome = found.get(FieldFamily::Email).map(|c| c.outcome);
            assert_eq!(outcome, Some(Outcome::Exact), "{a} / {b}");
        }
        let qa = ids(&[(K::Email, "jane.doe@outlook.com")]);
        let rb = ids(&[(K::Email, "janedoe@outlook.com")]);
        let found = compare(&qa, &rb);
        let outcome = found.get(FieldFamily::Email).map(|c| c.outcome);
        assert_eq!(
            outcome,
            Some(Outcome::Disagree),
            "dots matter outside gmail"
        );
        assert_eq!(get(FieldFamily::Phone), Some(Outcome::LastDigits));
        assert_eq!(get(FieldFamily::NiNumber), Some(Outcome::Exact));
        assert_eq!(get(FieldFamily::AccountRef), Some(Outcome::Disagree));
        assert_eq!(get(FieldFamily::Passport), Some(Outcome::Missing));
        assert_eq!(get(FieldFamily::Username), Some(Outcome::Missing));
        assert_eq!(get(FieldFamily::CardNumber), None);
        // Short numbers do not get the last-digits allowance.
        assert_eq!(
            identifier_pair(FieldFamily::Phone, "+4412345", "+3312345"),
            Outcome::Disagree
        );
    }

    #[test]
    fn exact_identifier_reports_query_value() {
        let query = ids(&[
            (FieldKind::Phone, "+447700900000"),
            (FieldKind::Phone, "+447911123456"),
        ]);
        let record = ids(&[(FieldKind::Phone, "+447911123456")]);
        let found = compare(&query, &record);
        assert_eq!(
            found.get(FieldFamily::Phone).and_then(|c| c.value),
            Some(Agreed::Text("+447911123456"))
        );
    }

    #[test]
    fn outcome_display_and_serde_names_agree() {
        assert_eq!(Outcome::Nickname.to_string(), "fuzzy:nickname");
        assert_eq!(Outcome::Exact.to_string(), "exact");
        assert_eq!(Outcome::Missing.to_string(), "missing");
        for family in FieldFamily::ALL {
            let json = serde_json::to_string(&family).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", family.name()));
        }
        let json = serde_json::to_string(&Outcome::DayMonthSwapped).unwrap_or_default();
        assert_eq!(json, "\"day_month_swapped\"");
    }

    #[test]
    fn parts_split_the_comparison() {
        let query = Person {
            first_names: names(&["jane"]),
            towns: names(&["london"]),
            house_numbers: names(&["12"]),
            postcodes: names(&["SW1A1AA"]),
            identifiers: vec![(FieldKind::Email, "j@x.com".into())],
            ..Person::default()
        };
        let record = Person {
            first_names: names(&["jane"]),
            towns: names(&["londn"]),
            house_numbers: names(&["12"]),
            identifiers: vec![(FieldKind::Email, "k@x.com".into())],
            ..Person::default()
        };
        let whole = compare(&query, &record);
        for part in [Part::Person, Part::Place] {
            let mut half = Comparisons::new();
            compare_part(&query, &record, part, &mut half);
            assert!(half.iter().count() > 0);
            for c in half.iter() {
                assert_eq!(Part::of(c.family), part, "{}", c.family);
                assert_eq!(whole.get(c.family), Some(c));
            }
        }
        assert_eq!(
            whole.get(FieldFamily::Town).map(|c| c.outcome),
            Some(Outcome::Fuzzy)
        );
        for kind in FieldKind::ALL {
            if let Some(family) = FieldFamily::of_identifier(kind) {
                assert_eq!(Part::of_kind(kind), Some(Part::of(family)));
            }
        }
        assert_eq!(Part::of_kind(FieldKind::Postcode), Some(Part::Place));
        assert_eq!(Part::of_kind(FieldKind::FullName), Some(Part::Person));
    }

    #[test]
    fn family_codes_are_positions() {
        for (i, f) in FieldFamily::ALL.iter().enumerate() {
            assert_eq!(*f as usize, i);
        }
        for kind in FieldKind::ALL {
            assert_eq!(
                FieldFamily::of_identifier(kind).is_some(),
                kind.is_identifier()
            );
        }
    }

    /// The address comparison as first written: every part compared up front.
    /// The lazy [`compare_address`] must agree with it everywhere.
    fn eager_address(query: &Person, record: &Person) -> Option<Outcome> {
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        enum Street {
            Same,
            Similar,
            Different,
        }
        let has = |p: &Person| {
            !p.postcodes.is_empty() || !p.streets.is_empty() || !p.house_numbers.is_empty()
        };
        if !has(query) && !has(record) {
            return None;
        }
        let postcode = (!query.postcodes.is_empty() && !record.postcodes.is_empty()).then(|| {
            query
                .postcodes
                .iter()
                .flat_map(|q| record.postcodes.iter().map(move |r| postcode_pair(q, r)))
                .min()
                .unwrap_or(Outcome::Disagree)
        });
        let same_house = (!query.house_numbers.is_empty() && !record.house_numbers.is_empty())
            .then(|| {
                query
                    .house_numbers
                    .iter()
                    .any(|q| record.house_numbers.contains(q))
            });
        let flats_on_both = !query.flats.is_empty() && !record.flats.is_empty();
        let flat_shared = query.flats.iter().any(|q| record.flats.contains(q));
        let flat_one_sided = query.flats.is_empty() != record.flats.is_empty();
        // Different flats are different dwellings.
        let same_house = if flats_on_both && !flat_shared {
            Some(false)
        } else {
            same_house
        };
        let street = (!query.streets.is_empty() && !record.streets.is_empty()).then(|| {
            let relation = |a: &str, b: &str| {
                if street_same(a, b) {
                    Street::Same
                } else if strsim::jaro_winkler(a, b) >= STREET_JW {
                    Street::Similar
                } else {
                    Street::Different
                }
            };
            query
                .streets
                .iter()
                .flat_map(|q| record.streets.iter().map(move |r| relation(q, r)))
                .min()
                .unwrap_or(Street::Different)
        });
        let agrees = matches!(street, Some(Street::Same | Street::Similar));
        if postcode == Some(Outcome::Exact) {
            return Some(match (same_house, street) {
                (Some(true), Some(Street::Similar | Street::Different)) => Outcome::StreetVariant,
                (Some(true), _) if flat_one_sided => Outcome::Building,
                (Some(true), _) => Outcome::Exact,
                (Some(false), _) => Outcome::OtherHouse,
                (None, _) => Outcome::Postcode,
            });
        }
        if agrees && same_house == Some(true) {
            return Some(Outcome::StreetAndHouse);
        }
        if let Some(outcome) = postcode {
            return Some(outcome);
        }
        Some(match (street, same_house) {
            (Some(Street::Different), _) => Outcome::Disagree,
            (Some(_), Some(false)) => Outcome::OtherHouse,
            (Some(_), None) => Outcome::Street,
            _ => Outcome::Missing,
        })
    }

    fn arb_address() -> impl Strategy<Value = Person> {
        let list = |s: &'static str| proptest::collection::vec(s, 0..3);
        (
            list("1[0-2]|[0-9]"),
            list("(high|hgh|low) (st|street|road)|flat [0-9] high street"),
            list("SW1A1A[AB]|SW1A2AA|N16XY"),
            list("[1-3]|3a"),
        )
            .prop_map(|(house_numbers, streets, postcodes, flats)| Person {
                house_numbers,
                streets,
                postcodes,
                flats,
                ..Person::default()
            })
    }

    fn arb_person() -> impl Strategy<Value = Person> {
        let name = "[a-z]{0,8}";
        let list = |s: &'static str| proptest::collection::vec(s, 0..3);
        (
            list(name),
            list(name),
            proptest::collection::vec((1900u16..2030, 1u8..13, 1u8..29), 0..3),
            list("[0-9]{1,3}[a-z]?"),
            list("[a-z ]{0,12}"),
            list("[A-Z]{1,2}[0-9]{1,2}[0-9][A-Z]{2}|[0-9]{5}"),
            list("[ -~]{0,14}"),
            list("[1-3][a-b]?"),
        )
            .prop_map(
                |(first, last, dobs, houses, streets, postcodes, emails, flats)| Person {
                    first_names: first,
                    last_names: last,
                    dobs: dobs
                        .into_iter()
                        .map(|(year, month, day)| Date { year, month, day })
                        .collect(),
                    house_numbers: houses,
                    streets,
                    postcodes,
                    flats,
                    identifiers: emails.into_iter().map(|e| (FieldKind::Email, e)).collect(),
                    ..Person::default()
                },
            )
    }

    proptest! {
        #[test]
        fn comparing_is_symmetric_in_outcomes(a in arb_person(), b in arb_person()) {
            let ab = compare(&a, &b);
            let ba = compare(&b, &a);
            for family in FieldFamily::ALL {
                prop_assert_eq!(
                    ab.get(family).map(|c| c.outcome),
                    ba.get(family).map(|c| c.outcome),
                    "{}", family
                );
            }
        }

        #[test]
        fn a_person_agrees_exactly_with_itself(a in arb_person()) {
            for c in compare(&a, &a).iter() {
                prop_assert!(
                    matches!(c.outcome, Outcome::Exact | Outcome::Postcode | Outcome::Street
                        | Outcome::StreetAndHouse | Outcome::Missing),
                    "{} {:?}", c.family, c.outcome
                );
            }
        }

        #[test]
        fn lazy_address_comparison_equals_the_eager_one(a in arb_address(), b in arb_address()) {
            prop_assert_eq!(
                compare_address(&a, &b).map(|(o, _)| o),
                eager_address(&a, &b),
                "{:?} / {:?}", a, b
            );
        }

        #[test]
        fn phonetic_match_never_panics_and_is_reflexive(s in "\\PC{0,20}") {
            let folded = crate::normalize::name::fold(&s).unwrap_or_default();
            let code = crate::normalize::name::phonetic_code(&folded);
            prop_assert_eq!(phonetic_match(&folded, &folded), !code.is_empty());
            prop_assert!(!phonetic_match(&s, ""));
        }
    }
}
