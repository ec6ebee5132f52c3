//! Comparing a query with a record's stored features ([`crate::features`]) instead
//! of its values re-read from the dump.
//!
//! [`QueryFeatures`] hashes a query once with the index's secret; [`compare_features`]
//! then gives, family by family, the outcomes [`super::compare`] would give for the
//! record's values, decided from hashes alone. It mirrors `compare` rule for rule, and
//! tests hold the two to agreeing. The one rule hashes cannot decide is Jaro-Winkler
//! similarity: where its upper bound ([`crate::features::jaro_winkler_bound`]) cannot
//! rule a near miss out, the family keeps both possible outcomes, and the engine either
//! bounds the score over them or re-reads the record.

use super::compare::{
    Agreed, Comparisons, FAMILY_NAME_JW, FieldFamily, Flats, GIVEN_NAME_JW, MIN_CONTAINED_NAME,
    MIN_SHORTENED_NAME, Outcome, STREET_JW, TOWN_JW,
};
use crate::features::{
    DobFeature, FeatureHasher, GENDER_F, GENDER_M, IdentifierFeature, NameEntry, NameList,
    NameTable, PREFIX_MAX, PostcodeFeature, RecordView, SUFFIX_MAX, jaro_winkler_bound,
};
use crate::field::FieldKind;
use crate::normalize::{Date, Person, name};
use std::collections::HashMap;
use std::rc::Rc;

/// A set of outcomes, one bit per [`Outcome`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Outcomes(u32);

impl Outcomes {
    const NONE: Outcomes = Outcomes(0);

    fn one(o: Outcome) -> Outcomes {
        Outcomes(1 << o as u32)
    }

    fn with(self, o: Outcome) -> Outcomes {
        Outcomes(self.0 | 1 << o as u32)
    }

    fn union(self, other: Outcomes) -> Outcomes {
        Outcomes(self.0 | other.0)
    }

    #[cfg(test)]
    fn contains(self, o: Outcome) -> bool {
        self.0 & (1 << o as u32) != 0
    }

    /// The single outcome, when the set holds exactly one.
    pub(crate) fn single(self) -> Option<Outcome> {
        if self.0.count_ones() == 1 {
            outcome_of(self.0.trailing_zeros())
        } else {
            None
        }
    }

    /// The outcomes in the set, strongest first.
    pub(crate) fn iter(self) -> impl Iterator<Item = Outcome> {
        (0..Outcome::COUNT as u32)
            .filter(move |i| self.0 & (1 << i) != 0)
            .filter_map(outcome_of)
    }

    pub(crate) fn best(self) -> Option<Outcome> {
        (self.0 != 0)
            .then(|| outcome_of(self.0.trailing_zeros()))
            .flatten()
    }

    fn worst(self) -> Option<Outcome> {
        (self.0 != 0)
            .then(|| outcome_of(31 - self.0.leading_zeros()))
            .flatten()
    }

    /// Every outcome `f` maps one of the set's outcomes to.
    fn map(self, f: impl Fn(Outcome) -> Outcome) -> Outcomes {
        self.iter()
            .fold(Outcomes::NONE, |acc, o| acc.union(Outcomes::one(f(o))))
    }
}

fn outcome_of(i: u32) -> Option<Outcome> {
    Outcome::ALL.get(i as usize).copied()
}

/// Whether a Jaro-Winkler test can pass: `No`, or `Maybe` (the bound allows it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tri {
    No,
    Maybe,
    Yes,
}

impl Tri {
    fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::Maybe, _) | (_, Tri::Maybe) => Tri::Maybe,
            _ => Tri::No,
        }
    }
}

/// Slack for floating-point rounding when a bound is held against a threshold: a
/// bound this close below still counts as "may reach it".
const BOUND_SLACK: f64 = 1e-9;

fn jw_may_reach(
    bits: &[u8],
    chars: usize,
    signature: u64,
    record_chars: u8,
    prefix: usize,
    threshold: f64,
) -> Tri {
    if record_chars == u8::MAX || chars >= usize::from(u8::MAX) {
        return Tri::Maybe;
    }
    let bound = jaro_winkler_bound(bits, signature, usize::from(record_chars), prefix);
    if bound + BOUND_SLACK >= threshold {
        Tri::Maybe
    } else {
        Tri::No
    }
}

/// One query name, hashed every way a record's name is compared with it.
#[derive(Debug, Default)]
struct QueryName {
    hash: u64,
    bytes: usize,
    chars: usize,
    ascii: bool,
    initial: u32,
    /// Prefix hashes of the query's first 2, 3 and 4 bytes (0 where it is shorter).
    prefix: [u32; 3],
    /// The whole name hashed as a record's prefix and suffix are.
    as_prefix: u32,
    as_suffix: u32,
    /// The query's first [`PREFIX_MAX`] and last [`SUFFIX_MAX`] bytes hashed as a
    /// record's are (0 where it is shorter or they split a character).
    long_prefix: u32,
    long_suffix: u32,
    phonetic: u32,
    phonetic_full: u32,
    bits: Vec<u8>,
    /// Name hashes of every name sharing a nickname group with the query's.
    nicknames: Vec<u64>,
    /// Name hashes of the query cut short (`francesca` → `fra`, `fran` …), from
    /// `MIN_SHORTENED_NAME` bytes.
    shortened: Vec<u64>,
    /// Name hashes of the query's leading and trailing parts from
    /// `MIN_CONTAINED_NAME` bytes (`smithjones` → `smit`…, `ones`…).
    contained: Vec<u64>,
}

impl QueryName {
    fn new(h: &FeatureHasher, folded: &str) -> QueryName {
        let bytes = folded.as_bytes();
        let mut prefix = [0u32; 3];
        for (i, slot) in prefix.iter_mut().enumerate() {
            let k = i + 2;
            if k <= bytes.len() && folded.is_char_boundary(k) {
                *slot = h.prefix(&bytes[..k]);
            }
        }
        let code = name::phonetic_code(folded);
        let mut nicknames: Vec<u64> = name::given_groups(folded)
            .iter()
            .flat_map(|&g| name::group_members(g))
            .map(|m| h.name(m))
            .collect();
        nicknames.sort_unstable();
        nicknames.dedup();
        let cut = |k: usize| folded.is_char_boundary(k);
        let shortened = (MIN_SHORTENED_NAME..bytes.len())
            .filter(|&k| cut(k))
            .filter_map(|k| folded.get(..k))
            .map(|p| h.name(p))
            .collect();
        let mut contained: Vec<u64> = Vec::new();
        for k in MIN_CONTAINED_NAME..bytes.len() {
            if let Some(p) = folded.get(..k) {
                contained.push(h.name(p));
            }
            if let Some(s) = folded.get(bytes.len() - k..) {
                contained.push(h.name(s));
            }
        }
        let mut bits = Vec::new();
        h.signature_bits(folded, &mut bits);
        QueryName {
            hash: h.name(folded),
            bytes: bytes.len(),
            chars: folded.chars().count(),
            ascii: folded.is_ascii(),
            initial: h.initial(folded),
            prefix,
            as_prefix: h.prefix(bytes),
            as_suffix: h.suffix(bytes),
            long_prefix: folded
                .get(..PREFIX_MAX)
                .map_or(0, |p| h.prefix(p.as_bytes())),
            long_suffix: bytes
                .len()
                .checked_sub(SUFFIX_MAX)
                .and_then(|at| folded.get(at..))
                .map_or(0, |p| h.suffix(p.as_bytes())),
            phonetic: h.phonetic(code.as_str()),
            phonetic_full: if code.is_empty() {
                0
            } else {
                h.phonetic_full(&name::full_phonetic(folded))
            },
            bits,
            nicknames,
            shortened,
            contained,
        }
    }

    fn is_initial(&self) -> bool {
        self.chars == 1
    }

    /// Whether a record name may start with this query name when the query is longer
    /// than the prefixes a name table keeps: not when their longest kept prefixes
    /// differ.
    fn long_prefix_may_match(&self, r: &NameEntry) -> Tri {
        match r.prefix(PREFIX_MAX) {
            Some(p) if p != 0 && p != self.long_prefix => Tri::No,
            _ => Tri::Maybe,
        }
    }

    /// As [`long_prefix_may_match`](Self::long_prefix_may_match), for suffixes.
    fn long_suffix_may_match(&self, r: &NameEntry) -> Tri {
        match r.suffix(SUFFIX_MAX) {
            Some(p) if p != 0 && p != self.long_suffix => Tri::No,
            _ => Tri::Maybe,
        }
    }

    /// An upper bound of the common prefix (at most four) with a record name.
    fn common_prefix(&self, r: &NameEntry) -> usize {
        if !(self.ascii && r.ascii) {
            return 4;
        }
        if self.initial != r.initial {
            return 0;
        }
        let mut l = 1;
        for k in 2..=4 {
            let mine = self.prefix.get(k - 2).copied().unwrap_or(0);
            if mine != 0 && Some(mine) == r.prefix(k) {
                l = k;
            } else {
                break;
            }
        }
        l
    }

    fn jw(&self, r: &NameEntry, threshold: f64) -> Tri {
        jw_may_reach(
            &self.bits,
            self.chars,
            r.signature,
            r.chars,
            self.common_prefix(r),
            threshold,
        )
    }
}

/// A query date of birth with the hashes of the dates it agrees with fuzzily.
#[derive(Debug)]
struct QueryDob {
    date: Date,
    parts: DobFeature,
    swapped: u32,
    /// Dates of the same year and month one digit of the day away, and of the same
    /// year and day one digit of the month away: hashed when a record first needs
    /// them.
    day_slips: std::cell::OnceCell<Vec<u32>>,
    month_slips: std::cell::OnceCell<Vec<u32>>,
}

impl QueryDob {
    fn new(h: &FeatureHasher, date: Date) -> QueryDob {
        let swapped = Date::new(date.year, date.day, date.month)
            .filter(|s| *s != date)
            .map_or(0, |s| h.dob(s));
        QueryDob {
            date,
            parts: h.dob_parts(date),
            swapped,
            day_slips: std::cell::OnceCell::new(),
            month_slips: std::cell::OnceCell::new(),
        }
    }

    /// Hashes of the valid dates that change one digit of `yyyymmdd` at the given
    /// places (1 and 10: the day; 100 and 1000: the month).
    fn slips(h: &FeatureHasher, date: Date, places: [u32; 2]) -> Vec<u32> {
        let number =
            u32::from(date.year) * 10_000 + u32::from(date.month) * 100 + u32::from(date.day);
        let mut out = Vec::with_capacity(18);
        for place in places {
            let digit = number / place % 10;
            for d in (0..10).filter(|&d| d != digit) {
                let n = number - digit * place + d * place;
                let (y, m, day) = (n / 10_000, n / 100 % 100, n % 100);
                let Ok(y) = u16::try_from(y) else { continue };
                if let Some(other) = Date::new(y, m as u8, day as u8) {
                    out.push(h.dob(other));
                }
            }
        }
        out
    }

    /// `dob_pair` of compare: exact, day and month swapped, one digit off (and less
    /// than ten years), same year and month, or disagreeing. Digits of the year
    /// other than the last change it by ten years or more, so a one-digit slip
    /// keeps the year and month, the year and day, or the month, day and decade.
    fn pair(&self, h: &FeatureHasher, r: &DobFeature) -> Outcome {
        if r.date == self.parts.date {
            Outcome::Exact
        } else if r.date == self.swapped {
            Outcome::DayMonthSwapped
        } else if r.year_month == self.parts.year_month {
            let slips = self
                .day_slips
                .get_or_init(|| QueryDob::slips(h, self.date, [1, 10]));
            if slips.contains(&r.date) {
                Outcome::OneDigit
            } else {
                Outcome::SameYearMonth
            }
        } else if r.year_day == self.parts.year_day {
            let slips = self
                .month_slips
                .get_or_init(|| QueryDob::slips(h, self.date, [100, 1000]));
            if slips.contains(&r.date) {
                Outcome::OneDigit
            } else {
                Outcome::Disagree
            }
        } else if r.month_day_decade == self.parts.month_day_decade {
            // Same month, day and decade, another year: its last digit differs.
            Outcome::OneDigit
        } else {
            Outcome::Disagree
        }
    }
}

/// A query's street line or town: its hash (as [`crate::features::SignedFeature::hash`]), signature
/// bits and characters.
#[derive(Debug, Default)]
struct QuerySigned {
    hash: u32,
    bits: Vec<u8>,
    chars: usize,
}

/// Query names and dates already hashed, per thread: register rows share first
/// names, family names and dates of birth, and hashing one every way it is compared
/// costs a few dozen keyed hashes. Tied to one index's secret.
#[derive(Debug, Default)]
pub(crate) struct QueryMemo {
    owner: u64,
    names: HashMap<String, Rc<QueryName>>,
    dobs: HashMap<Date, Rc<QueryDob>>,
}

/// Entries a memo holds before it starts again.
const MEMO_MAX: usize = 1 << 15;

impl QueryMemo {
    fn for_hasher(&mut self, h: &FeatureHasher) {
        if self.owner != h.fingerprint() || self.names.len() + self.dobs.len() > MEMO_MAX {
            self.names.clear();
            self.dobs.clear();
            self.owner = h.fingerprint();
        }
    }

    fn name(&mut self, h: &FeatureHasher, folded: &str) -> Rc<QueryName> {
        if let Some(n) = self.names.get(folded) {
            return Rc::clone(n);
        }
        let n = Rc::new(QueryName::new(h, folded));
        self.names.insert(folded.to_string(), Rc::clone(&n));
        n
    }

    fn dob(&mut self, h: &FeatureHasher, date: Date) -> Rc<QueryDob> {
        Rc::clone(
            self.dobs
                .entry(date)
                .or_insert_with(|| Rc::new(QueryDob::new(h, date))),
        )
    }
}

/// A query, hashed once for comparing with stored features.
#[derive(Debug, Default)]
pub(crate) struct QueryFeatures {
    first: Vec<Rc<QueryName>>,
    middle: Vec<Rc<QueryName>>,
    last: Vec<Rc<QueryName>>,
    dobs: Vec<Rc<QueryDob>>,
    genders: u8,
    houses: Vec<u32>,
    flats: Vec<u32>,
    streets: Vec<QuerySigned>,
    towns: Vec<QuerySigned>,
    postcodes: Vec<PostcodeFeature>,
    identifiers: Vec<IdentifierFeature>,
    /// Which identifier families a record's identifiers are compared in: the query's
    /// own (and sort code with bank account), as the dump path reads them.
    identifier_families: [bool; FieldFamily::COUNT],
}

impl QueryFeatures {
    /// [`fill`](Self::fill) into a new value.
    #[cfg(test)]
    pub(crate) fn new(h: &FeatureHasher, q: &Person, memo: &mut QueryMemo) -> QueryFeatures {
        let mut qf = QueryFeatures::default();
        qf.fill(h, q, memo);
        qf
    }

    /// Hashes `q` into `self` for comparing with records of an index keyed like
    /// `h`, through the thread's `memo`, reusing `self`'s buffers: a matcher keeps
    /// one per thread, so a query allocates nothing here once they have grown.
    pub(crate) fn fill(&mut self, h: &FeatureHasher, q: &Person, memo: &mut QueryMemo) {
        memo.for_hasher(h);
        let names = |out: &mut Vec<Rc<QueryName>>, list: &[String], memo: &mut QueryMemo| {
            out.clear();
            out.extend(list.iter().map(|n| memo.name(h, n)));
        };
        names(&mut self.first, &q.first_names, memo);
        names(&mut self.middle, &q.middle_names, memo);
        names(&mut self.last, &q.last_names, memo);
        self.genders = 0;
        for g in &q.genders {
            self.genders |= match g {
                b'm' => GENDER_M,
                b'f' => GENDER_F,
                _ => 0,
            };
        }
        self.identifier_families = [false; FieldFamily::COUNT];
        for (kind, _) in &q.identifiers {
            let kinds: &[FieldKind] = match kind {
                FieldKind::SortCode | FieldKind::BankAccount => {
                    &[FieldKind::SortCode, FieldKind::BankAccount]
                }
                k => std::slice::from_ref(k),
            };
            for k in kinds {
                if let Some(f) = FieldFamily::of_identifier(*k) {
                    self.identifier_families[f as usize] = true;
                }
            }
        }
        self.dobs.clear();
        self.dobs.extend(q.dobs.iter().map(|d| memo.dob(h, *d)));
        self.houses.clear();
        self.houses
            .extend(q.house_numbers.iter().map(|x| h.house(x)));
        self.flats.clear();
        self.flats.extend(q.flats.iter().map(|x| h.flat(x)));
        // Signed features keep their signature buffers from query to query.
        let signed = |out: &mut Vec<QuerySigned>, values: &[String], hash: &dyn Fn(&str) -> u32| {
            out.truncate(values.len());
            while out.len() < values.len() {
                out.push(QuerySigned::default());
            }
            for (f, v) in out.iter_mut().zip(values) {
                f.hash = hash(v);
                f.bits.clear();
                h.signature_bits(v, &mut f.bits);
                f.chars = v.chars().count();
            }
        };
        signed(&mut self.streets, &q.streets, &|s| h.street_words(s));
        signed(&mut self.towns, &q.towns, &|t| h.town(t));
        self.postcodes.clear();
        self.postcodes
            .extend(q.postcodes.iter().map(|p| h.postcode(p)));
        self.identifiers.clear();
        self.identifiers
            .extend(q.identifiers.iter().map(|(k, v)| h.identifier(*k, v)));
    }

    /// Whether `hash` is one of the query's names (any list).
    pub(crate) fn has_name(&self, hash: u64) -> bool {
        self.first
            .iter()
            .chain(&self.middle)
            .chain(&self.last)
            .any(|n| n.hash == hash)
    }

    fn has_names(&self) -> bool {
        !(self.first.is_empty() && self.middle.is_empty() && self.last.is_empty())
    }
}

/// The outcomes one family may have, and the query value of an exact agreement.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Possible<'q> {
    pub(crate) family: FieldFamily,
    pub(crate) outcomes: Outcomes,
    pub(crate) value: Option<Agreed<'q>>,
}

/// Every family's possible outcomes for one query/record pair.
#[derive(Clone, Debug)]
pub(crate) struct PossibleComparisons<'q> {
    slots: [Option<Possible<'q>>; FieldFamily::COUNT],
}

impl<'q> PossibleComparisons<'q> {
    /// No family compared yet.
    pub(crate) fn new() -> Self {
        PossibleComparisons {
            slots: [None; FieldFamily::COUNT],
        }
    }

    fn set(&mut self, family: FieldFamily, outcomes: Outcomes, value: Option<Agreed<'q>>) {
        if let Some(slot) = self.slots.get_mut(family as usize) {
            *slot = Some(Possible {
                family,
                outcomes,
                value,
            });
        }
    }

    /// The families with more than one possible outcome.
    pub(crate) fn undecided(&self) -> impl Iterator<Item = &Possible<'q>> {
        self.slots
            .iter()
            .flatten()
            .filter(|p| p.outcomes.single().is_none())
    }

    /// Whether every family has one outcome.
    pub(crate) fn is_decided(&self) -> bool {
        self.undecided().next().is_none()
    }

    /// The comparisons with each undecided family given the outcome `choose` picks
    /// from its possible ones (decided families keep theirs).
    pub(crate) fn resolve(
        &self,
        mut choose: impl FnMut(&Possible<'q>) -> Outcome,
    ) -> Comparisons<'q> {
        let mut out = Comparisons::new();
        for p in self.slots.iter().flatten() {
            let outcome = match p.outcomes.single() {
                Some(o) => o,
                None => choose(p),
            };
            let value = if outcome == Outcome::Exact || p.family == FieldFamily::Address {
                p.value
            } else {
                None
            };
            out.set(p.family, outcome, value);
        }
        out
    }
}

/// A record's name lists, read the right way round (see `unswap`).
struct RecordNames {
    first: NameList,
    last: NameList,
}

/// A record whose full name was written family name first (`Morcombe Michael`) reads
/// as given name `morcombe`, family name `michael`: when that is exactly the query's
/// name reversed, read it the right way round (as the dump path does).
fn unswap(q: &QueryFeatures, r: &RecordView<'_>) -> RecordNames {
    let straight = RecordNames {
        first: NameList::First,
        last: NameList::Last,
    };
    if r.name_count(NameList::First) != 1 || r.name_count(NameList::Last) != 1 {
        return straight;
    }
    let (Some(first), Some(last)) = (
        r.names(NameList::First).next(),
        r.names(NameList::Last).next(),
    ) else {
        return straight;
    };
    if first != last
        && q.first.iter().any(|n| n.hash == last)
        && q.last.iter().any(|n| n.hash == first)
    {
        RecordNames {
            first: NameList::Last,
            last: NameList::First,
        }
    } else {
        straight
    }
}

/// All outcomes a name pair may have when the record's name is not in the table
/// (a damaged segment): anything but exact.
fn unknown_name(family: FieldFamily) -> Outcomes {
    let base = Outcomes::one(Outcome::Disagree).with(Outcome::Fuzzy);
    match family {
        FieldFamily::FirstName => base
            .with(Outcome::Nickname)
            .with(Outcome::Phonetic)
            .with(Outcome::Initial),
        FieldFamily::MiddleName => base.with(Outcome::Initial),
        _ => base.with(Outcome::Phonetic),
    }
}

/// A stored prefix or suffix hash against the query's whole name (0: the record
/// name is too short or the cut splits a character, so it cannot contain it).
fn affix_tri(stored: u32, mine: u32) -> Tri {
    if stored != 0 && stored == mine {
        Tri::Yes
    } else {
        Tri::No
    }
}

fn given_pair(q: &QueryName, r: &NameEntry) -> Outcomes {
    if q.is_initial() || r.chars == 1 {
        return Outcomes::one(if q.initial == r.initial {
            Outcome::Initial
        } else {
            Outcome::Disagree
        });
    }
    // Nickname: a shared group, or one name the other cut short.
    let mut nickname = if q.nicknames.binary_search(&r.hash).is_ok() {
        Tri::Yes
    } else {
        Tri::No
    };
    if nickname == Tri::No {
        let r_bytes = usize::from(r.bytes);
        nickname = if q.bytes <= r_bytes {
            if q.bytes >= MIN_SHORTENED_NAME && (r_bytes > q.bytes || r.bytes == u8::MAX) {
                r.prefix(q.bytes)
                    .map_or_else(|| q.long_prefix_may_match(r), |p| affix_tri(p, q.as_prefix))
            } else {
                Tri::No
            }
        } else if r_bytes >= MIN_SHORTENED_NAME && q.shortened.contains(&r.hash) {
            Tri::Yes
        } else {
            Tri::No
        };
    }
    if nickname == Tri::Yes {
        return Outcomes::one(Outcome::Nickname);
    }
    let phonetic =
        q.phonetic != 0 && q.phonetic == r.phonetic && q.phonetic_full == r.phonetic_full;
    let mut out = Outcomes::one(if phonetic {
        Outcome::Phonetic
    } else {
        Outcome::Disagree
    });
    if q.jw(r, GIVEN_NAME_JW) != Tri::No {
        out = out.with(Outcome::Fuzzy);
    }
    if nickname == Tri::Maybe {
        out = out.with(Outcome::Nickname);
    }
    out
}

fn middle_pair(q: &QueryName, r: &NameEntry) -> Outcomes {
    if q.is_initial() || r.chars == 1 {
        return Outcomes::one(if q.initial == r.initial {
            Outcome::Initial
        } else {
            Outcome::Disagree
        });
    }
    let out = Outcomes::one(Outcome::Disagree);
    if q.jw(r, GIVEN_NAME_JW) == Tri::No {
        out
    } else {
        out.with(Outcome::Fuzzy)
    }
}

fn family_pair(q: &QueryName, r: &NameEntry) -> Outcomes {
    let r_bytes = usize::from(r.bytes);
    let contained = if q.bytes <= r_bytes {
        // The query is the shorter one (or as long: then containing means equal).
        if q.bytes >= MIN_CONTAINED_NAME && (r_bytes > q.bytes || r.bytes == u8::MAX) {
            let starts = r
                .prefix(q.bytes)
                .map_or_else(|| q.long_prefix_may_match(r), |p| affix_tri(p, q.as_prefix));
            let ends = r
                .suffix(q.bytes)
                .map_or_else(|| q.long_suffix_may_match(r), |p| affix_tri(p, q.as_suffix));
            starts.or(ends)
        } else {
            Tri::No
        }
    } else if r_bytes >= MIN_CONTAINED_NAME && q.contained.contains(&r.hash) {
        Tri::Yes
    } else {
        Tri::No
    };
    if contained == Tri::Yes {
        return Outcomes::one(Outcome::Fuzzy);
    }
    let phonetic = q.phonetic != 0 && q.phonetic == r.phonetic;
    let out = Outcomes::one(if phonetic {
        Outcome::Phonetic
    } else {
        Outcome::Disagree
    });
    if contained == Tri::Maybe || q.jw(r, FAMILY_NAME_JW) != Tri::No {
        out.with(Outcome::Fuzzy)
    } else {
        out
    }
}

/// The best outcome over every pair of values, as `compare`'s `best_pair`: the set of
/// outcomes the best may be, with the index of the first query value of an exact pair.
fn best_names(
    query: &[Rc<QueryName>],
    record: impl Iterator<Item = u64> + Clone,
    names: &NameTable<'_>,
    family: FieldFamily,
    pair: impl Fn(&QueryName, &NameEntry) -> Outcomes,
) -> Option<(Outcomes, Option<usize>)> {
    let record_empty = record.clone().next().is_none();
    match (query.is_empty(), record_empty) {
        (true, true) => return None,
        (true, false) | (false, true) => return Some((Outcomes::one(Outcome::Missing), None)),
        (false, false) => {}
    }
    let mut best = BestOf::new(Outcome::Disagree);
    for (i, q) in query.iter().enumerate() {
        for r in record.clone() {
            if q.hash == r {
                return Some((Outcomes::one(Outcome::Exact), Some(i)));
            }
            best.add(match names.get(r) {
                Some(entry) => pair(q, &entry),
                None => unknown_name(family),
            });
        }
    }
    Some((best.outcomes(), None))
}

/// The outcomes the minimum over pairs may take, each pair being one outcome of its
/// set, starting from `start` (as `best_pair` starts from `Disagree`): between the
/// least of the pairs' best outcomes and the least of their worst.
struct BestOf {
    start: Outcome,
    lo: Outcome,
    hi: Outcome,
    seen: Outcomes,
}

impl BestOf {
    fn new(start: Outcome) -> BestOf {
        BestOf {
            start,
            lo: start,
            hi: start,
            seen: Outcomes::NONE,
        }
    }

    fn add(&mut self, set: Outcomes) {
        if let (Some(b), Some(w)) = (set.best(), set.worst()) {
            self.lo = self.lo.min(b);
            self.hi = self.hi.min(w);
            self.seen = self.seen.union(set);
        }
    }

    fn outcomes(&self) -> Outcomes {
        let mut out = Outcomes(self.seen.0 & range_mask(self.lo, self.hi));
        if self.hi == self.start {
            out = out.with(self.start);
        }
        out
    }
}

/// The bits of the outcomes from `lo` to `hi`, both included.
fn range_mask(lo: Outcome, hi: Outcome) -> u32 {
    let (lo, hi) = (lo as u32, hi as u32);
    if lo > hi {
        return 0;
    }
    let upto_hi = if hi >= 31 {
        u32::MAX
    } else {
        (1u32 << (hi + 1)) - 1
    };
    upto_hi & !((1u32 << lo) - 1)
}

#[cfg(test)]
fn best_of(sets: &[Outcomes], start: Outcome) -> Outcomes {
    let mut b = BestOf::new(start);
    for s in sets {
        b.add(*s);
    }
    b.outcomes()
}

/// Compares a query with one record's features, family by family, as
/// [`super::compare::compare`] compares it with the record's values. `names` is the
/// segment's name table.
pub(crate) fn compare_features<'q>(
    h: &FeatureHasher,
    q: &'q Person,
    qf: &QueryFeatures,
    r: &RecordView<'_>,
    names: &NameTable<'_>,
    out: &mut PossibleComparisons<'q>,
) {
    out.slots = [None; FieldFamily::COUNT];
    if qf.has_names() {
        compare_names(q, qf, r, names, out);
    }
    if !qf.dobs.is_empty() {
        compare_dob(h, qf, r, out);
    }
    if qf.genders != 0 || !q.genders.is_empty() {
        compare_gender(q, qf, r, out);
    }
    compare_identifiers(q, qf, r, out);
    let address_needed = !(qf.houses.is_empty()
        && qf.streets.is_empty()
        && qf.postcodes.is_empty()
        && qf.towns.is_empty());
    if address_needed {
        compare_address(q, qf, r, out);
    }
    // Towns are compared only when a postcode is not on both sides.
    if !qf.towns.is_empty() && (qf.postcodes.is_empty() || !r.has_postcode()) {
        compare_town(q, qf, r, out);
    }
}

fn compare_names<'q>(
    q: &'q Person,
    qf: &QueryFeatures,
    r: &RecordView<'_>,
    names: &NameTable<'_>,
    out: &mut PossibleComparisons<'q>,
) {
    let lists = unswap(qf, r);
    let text = |list: &'q [String], i: Option<usize>| {
        i.and_then(|i| list.get(i))
            .map(|s| Agreed::Text(s.as_str()))
    };
    if let Some((set, exact)) = best_names(
        &qf.first,
        r.names(lists.first),
        names,
        FieldFamily::FirstName,
        given_pair,
    ) {
        // People go by their middle name: a first name that is the other side's
        // middle name (not an initial) agrees as such.
        let crosses = qf
            .first
            .iter()
            .any(|n| !n.is_initial() && r.names(NameList::Middle).any(|m| m == n.hash))
            || qf
                .middle
                .iter()
                .any(|m| !m.is_initial() && r.names(lists.first).any(|f| f == m.hash));
        let set = set.map(|o| {
            if o <= Outcome::MiddleName || o == Outcome::Missing || !crosses {
                o
            } else {
                Outcome::MiddleName
            }
        });
        out.set(FieldFamily::FirstName, set, text(&q.first_names, exact));
    }
    if let Some((set, exact)) = best_names(
        &qf.middle,
        r.names(NameList::Middle),
        names,
        FieldFamily::MiddleName,
        middle_pair,
    ) {
        out.set(FieldFamily::MiddleName, set, text(&q.middle_names, exact));
    }
    if let Some((set, exact)) = best_names(
        &qf.last,
        r.names(lists.last),
        names,
        FieldFamily::LastName,
        family_pair,
    ) {
        out.set(FieldFamily::LastName, set, text(&q.last_names, exact));
    }
}

fn compare_dob<'q>(
    h: &FeatureHasher,
    qf: &QueryFeatures,
    r: &RecordView<'_>,
    out: &mut PossibleComparisons<'q>,
) {
    if !r.has_dob() {
        out.set(FieldFamily::Dob, Outcomes::one(Outcome::Missing), None);
        return;
    }
    let mut best = Outcome::Disagree;
    for qd in &qf.dobs {
        for rd in r.dobs() {
            let o = qd.pair(h, &rd);
            if o == Outcome::Exact {
                out.set(
                    FieldFamily::Dob,
                    Outcomes::one(Outcome::Exact),
                    Some(Agreed::Date(qd.date)),
                );
                return;
            }
            best = best.min(o);
        }
    }
    out.set(FieldFamily::Dob, Outcomes::one(best), None);
}

fn compare_gender<'q>(
    q: &Person,
    qf: &QueryFeatures,
    r: &RecordView<'_>,
    out: &mut PossibleComparisons<'q>,
) {
    let _ = q;
    let definite = GENDER_M | GENDER_F;
    let has_q = qf.genders & definite != 0;
    let has_r = r.genders() & definite != 0;
    let outcome = match (has_q, has_r) {
        (false, false) => return,
        (true, false) | (false, true) => Outcome::Missing,
        (true, true) if qf.genders & r.genders() & definite != 0 => Outcome::Exact,
        (true, true) => Outcome::Disagree,
    };
    out.set(FieldFamily::Gender, Outcomes::one(outcome), None);
}

fn identifier_pair(family: FieldFamily, q: &IdentifierFeature, r: &IdentifierFeature) -> Outcome {
    if q.value == r.value {
        return Outcome::Exact;
    }
    match family {
        FieldFamily::Email if q.aux != 0 && q.aux == r.aux => Outcome::LocalPart,
        FieldFamily::Phone if q.aux != 0 && q.aux == r.aux => Outcome::LastDigits,
        _ => Outcome::Disagree,
    }
}

fn compare_identifiers<'q>(
    q: &'q Person,
    qf: &QueryFeatures,
    r: &RecordView<'_>,
    out: &mut PossibleComparisons<'q>,
) {
    let mut query_has = [false; FieldFamily::COUNT];
    let mut record_has = [false; FieldFamily::COUNT];
    let mut best: [(Outcome, Option<&'q str>); FieldFamily::COUNT] =
        [(Outcome::Disagree, None); FieldFamily::COUNT];
    for rf in r.identifiers() {
        if let Some(family) = FieldKind::from_code(rf.kind).and_then(FieldFamily::of_identifier)
            && qf.identifier_families[family as usize]
        {
            record_has[family as usize] = true;
        }
    }
    for ((kind, value), qv) in q.identifiers.iter().zip(&qf.identifiers) {
        let Some(family) = FieldFamily::of_identifier(*kind) else {
            continue;
        };
        let slot = family as usize;
        query_has[slot] = true;
        if best[slot].0 == Outcome::Exact {
            continue;
        }
        for rf in r.identifiers().filter(|rf| rf.kind == qv.kind) {
            let outcome = identifier_pair(family, qv, &rf);
            if outcome < best[slot].0 {
                best[slot] = (
                    outcome,
                    (outcome == Outcome::Exact).then_some(value.as_str()),
                );
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
        out.set(family, Outcomes::one(outcome), value.map(Agreed::Text));
    }
}

fn postcode_pair(q: &PostcodeFeature, r: &PostcodeFeature) -> Outcome {
    if q.whole == r.whole {
        Outcome::Exact
    } else if q.district != 0 && q.district == r.district {
        if q.sector == r.sector {
            Outcome::Sector
        } else {
            Outcome::District
        }
    } else {
        Outcome::Disagree
    }
}

/// House number, flat, street and postcode as one comparison: `compare_address`,
/// with the street similarity known only as "no" or "maybe" (flats, like house
/// numbers, are equal or not, which hashes decide).
fn compare_address<'q>(
    q: &'q Person,
    qf: &QueryFeatures,
    r: &RecordView<'_>,
    out: &mut PossibleComparisons<'q>,
) {
    let query_has = !(qf.postcodes.is_empty() && qf.streets.is_empty() && qf.houses.is_empty());
    let record_has = r.has_postcode() || r.has_street() || r.has_house();
    if !query_has && !record_has {
        return;
    }
    let mut postcode: Option<(Outcome, Option<usize>)> = None;
    if !qf.postcodes.is_empty() && r.has_postcode() {
        let mut best = (Outcome::Disagree, None);
        'pairs: for (i, qp) in qf.postcodes.iter().enumerate() {
            for rp in r.postcodes() {
                let o = postcode_pair(qp, &rp);
                if o < best.0 {
                    best = (o, Some(i));
                    if o == Outcome::Exact {
                        break 'pairs;
                    }
                }
            }
        }
        postcode = Some(best);
    }
    let same_house = (!qf.houses.is_empty() && r.has_house())
        .then(|| qf.houses.iter().any(|h| r.houses().any(|x| x == *h)));
    let flats = Flats::of(
        !qf.flats.is_empty(),
        r.has_flat(),
        qf.flats.iter().any(|f| r.flats().any(|x| x == *f)),
    );
    let same_house = flats.same_dwelling(same_house);
    let streets_on_both = !qf.streets.is_empty() && r.has_street();
    let street_same = streets_on_both
        && qf
            .streets
            .iter()
            .any(|s| r.streets().any(|x| x.hash == s.hash));
    let streets_agree = || -> Tri {
        if !streets_on_both {
            return Tri::No;
        }
        if street_same {
            return Tri::Yes;
        }
        let mut any = Tri::No;
        for s in &qf.streets {
            for x in r.streets() {
                any = any.or(jw_may_reach(
                    &s.bits,
                    s.chars,
                    x.signature,
                    x.chars,
                    4,
                    STREET_JW,
                ));
            }
        }
        any
    };
    let set = |o: Outcome| Outcomes::one(o);
    if let Some((Outcome::Exact, i)) = postcode {
        let outcome = match same_house {
            Some(true) if streets_on_both && !street_same => Outcome::StreetVariant,
            Some(true) if flats == Flats::OneSided => Outcome::Building,
            Some(true) => Outcome::Exact,
            Some(false) => Outcome::OtherHouse,
            None => Outcome::Postcode,
        };
        let value = i
            .and_then(|i| q.postcodes.get(i))
            .map(|p| Agreed::Text(p.as_str()));
        out.set(FieldFamily::Address, set(outcome), value);
        return;
    }
    // What the address is when the street-and-house test fails.
    let otherwise = |agree: Tri| -> Outcomes {
        if let Some((outcome, _)) = postcode {
            return set(outcome);
        }
        if !streets_on_both {
            return set(Outcome::Missing);
        }
        let agreeing = match same_house {
            Some(false) => Outcome::OtherHouse,
            Some(true) | None => Outcome::Street,
        };
        match agree {
            Tri::Yes => set(agreeing),
            Tri::No => set(Outcome::Disagree),
            Tri::Maybe => set(agreeing).with(Outcome::Disagree),
        }
    };
    let agree = if streets_on_both {
        streets_agree()
    } else {
        Tri::No
    };
    let outcomes = if same_house == Some(true) {
        match agree {
            Tri::Yes => set(Outcome::StreetAndHouse),
            // Failing the test means the streets disagree.
            Tri::No => otherwise(Tri::No),
            Tri::Maybe => set(Outcome::StreetAndHouse).union(otherwise(Tri::No)),
        }
    } else {
        otherwise(agree)
    };
    out.set(FieldFamily::Address, outcomes, None);
}

fn compare_town<'q>(
    q: &'q Person,
    qf: &QueryFeatures,
    r: &RecordView<'_>,
    out: &mut PossibleComparisons<'q>,
) {
    match (qf.towns.is_empty(), r.has_town()) {
        (true, true) | (true, false) => return,
        (false, false) => {
            out.set(FieldFamily::Town, Outcomes::one(Outcome::Missing), None);
            return;
        }
        (false, true) => {}
    }
    let mut best = BestOf::new(Outcome::Disagree);
    for (i, t) in qf.towns.iter().enumerate() {
        for x in r.towns() {
            if x.hash == t.hash {
                let value = q.towns.get(i).map(|s| Agreed::Text(s.as_str()));
                out.set(FieldFamily::Town, Outcomes::one(Outcome::Exact), value);
                return;
            }
            best.add(
                match jw_may_reach(&t.bits, t.chars, x.signature, x.chars, 4, TOWN_JW) {
                    Tri::No => Outcomes::one(Outcome::Disagree),
                    _ => Outcomes::one(Outcome::Disagree).with(Outcome::Fuzzy),
                },
            );
        }
    }
    out.set(FieldFamily::Town, best.outcomes(), None);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{NameEntry, encode_record};
    use crate::keys::Secret;
    use crate::matching::compare::{Part, compare};
    use proptest::prelude::*;

    fn hasher() -> FeatureHasher {
        FeatureHasher::new(&Secret::from_bytes(&[9u8; 192]).expect("secret"))
    }

    /// The record as the dump path reads it for this query: only the kinds the
    /// query needs, names unswapped.
    fn as_dump_path_reads(q: &Person, values: &[(FieldKind, String)]) -> Person {
        let needed = crate::matching::engine::needed_kinds(q);
        let mut record = Person::default();
        for part in [Part::Person, Part::Place] {
            for (kind, value) in values {
                if Part::of_kind(*kind) == Some(part) && needed[*kind as usize] {
                    record.add(*kind, value);
                }
            }
        }
        crate::matching::engine::unswap_names(q, &mut record);
        record
    }

    /// What `compare` says and what the features allow, for one query and record:
    /// every family's true outcome is among the possible ones, and decided families
    /// agree exactly (value included).
    fn agree(q: &Person, values: &[(FieldKind, String)]) -> Result<(), TestCaseError> {
        let h = hasher();
        let mut full = Person::default();
        for (kind, value) in values {
            full.add(*kind, value);
        }
        let mut bytes = Vec::new();
        let mut entries = Vec::new();
        encode_record(&h, 0, &full, &[1], &mut bytes, &mut |n, _| {
            entries.push(NameEntry::of(&h, n))
        });
        let mut table = Vec::new();
        NameTable::encode(&mut entries, &mut table);
        let names = NameTable::parse(&table).expect("table");
        let view = RecordView::parse(&bytes).expect("view");
        let qf = QueryFeatures::new(&h, q, &mut QueryMemo::default());
        let mut possible = PossibleComparisons::new();
        compare_features(&h, q, &qf, &view, &names, &mut possible);
        let truth = compare(q, &as_dump_path_reads(q, values));
        for family in FieldFamily::ALL {
            let t = truth.get(family);
            let p = possible.slots[family as usize];
            match (t, p) {
                (None, None) => {}
                (Some(t), Some(p)) => {
                    prop_assert!(
                        p.outcomes.contains(t.outcome),
                        "{family}: true {:?}, possible {:?}",
                        t.outcome,
                        p.outcomes.iter().collect::<Vec<_>>()
                    );
                    if p.outcomes.single().is_some() {
                        prop_assert_eq!(t.value, p.value, "{}", family);
                    }
                }
                (t, p) => {
                    // Families only one path sees must weigh nothing either way.
                    let missing = t.map(|c| c.outcome) == Some(Outcome::Missing)
                        || p.and_then(|p| p.outcomes.single()) == Some(Outcome::Missing);
                    prop_assert!(missing, "{family}: dump path {t:?}, features {p:?}");
                }
            }
        }
        Ok(())
    }

    fn values(values: &[(FieldKind, &str)]) -> Vec<(FieldKind, String)> {
        values.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn known_pairs_agree_with_the_dump_path() {
        use FieldKind::*;
        type Values<'a> = &'a [(FieldKind, &'a str)];
        let pairs: &[(Values, Values)] = &[
            (&[(FullName, "Bill Smith")], &[(FullName, "William Smyth")]),
            (
                &[(FullName, "Fran Jones")],
                &[(FullName, "Francesca Smith-Jones")],
            ),
            (
                &[(FullName, "Jonathon Thomson")],
                &[(FullName, "Jonathan Thompson")],
            ),
            (&[(FullName, "J Smith")], &[(FullName, "Jane Smith")]),
            (
                &[(FullName, "Paul Smith")],
                &[(FullName, "James Paul Smith")],
            ),
            (
                &[(FullName, "Michael Morcombe")],
                &[(FullName, "Morcombe Michael")],
            ),
            (
                &[(FullName, "Christine Lee")],
                &[(FullName, "Christopher Lee")],
            ),
            (&[(Dob, "1980-02-03")], &[(Dob, "1980-03-02")]),
            (&[(Dob, "1980-02-03")], &[(Dob, "1980-02-08")]),
            (&[(Dob, "1980-02-03")], &[(Dob, "1990-02-03")]),
            (&[(Dob, "1980-02-03")], &[(Dob, "1980-02-28")]),
            (&[(Email, "jane+x@a.com")], &[(Email, "jane@b.org")]),
            (&[(Email, "jane+x@a.com")], &[(Email, "jane@a.com")]),
            (
                &[(Email, "Jane.Doe+tax@gmail.com")],
                &[(Email, "janedoe@googlemail.com")],
            ),
            (
                &[(Email, "jane.doe@gmail.com")],
                &[(Email, "jane.doe@yahoo.com")],
            ),
            (
                &[(Phone, "07911 123456")],
                &[(Phone, "+1 202 791 112 3456")],
            ),
            (
                &[(Postcode, "SW1A 1AA"), (HouseNumber, "12")],
                &[(Address, "12 High St, SW1A 1AA")],
            ),
            (&[(Postcode, "SW1A 1AA")], &[(Postcode, "SW1A 1BB")]),
            (&[(Postcode, "SW1A 1AA")], &[(Postcode, "SW1A 2BB")]),
            (
                &[(Address, "12 High Street"), (Postcode, "E1 7AB")],
                &[(Address, "12 High St, N1 9GU")],
            ),
            (
                &[(Address, "12 High Street")],
                &[(Address, "12 Hihg Street")],
            ),
            (
                &[(Address, "4 Acacia Avenue")],
                &[(Address, "9 Acacia Ave")],
            ),
            // Flats: another flat of the building, the same one, one side without.
            (
                &[(Address, "Flat 3, 12 Rose Court"), (Postcode, "SW1A 1AA")],
                &[(Address, "Flat 7, 12 Rose Court, SW1A 1AA")],
            ),
            (
                &[(Address, "Flat 3, 12 Rose Court"), (Postcode, "SW1A 1AA")],
                &[(Address, "Apartment 3, 12 Rose Ct, SW1A 1AA")],
            ),
            (
                &[(Address, "58 Hollywood Close"), (Postcode, "sw10 8nf")],
                &[
                    (HouseNumber, "Flat 12, 58"),
                    (Street, "Hollywood Close"),
                    (Postcode, "SW10 8NF"),
                ],
            ),
            (
                &[(Address, "Flat 3, Rose Court"), (Postcode, "SW1A 1AA")],
                &[(Address, "Flat 7, Rose Court, SW1A 1AA")],
            ),
            (
                &[(Address, "Flat 3, 12 High Street")],
                &[(Address, "Flat 7, 12 High St")],
            ),
            (&[(Town, "London")], &[(Town, "Londn")]),
            (
                &[(Gender, "F"), (NiNumber, "AB123456C")],
                &[(Gender, "M"), (NiNumber, "AB 12 34 56")],
            ),
            (
                &[(BankAccount, "GB29 NWBK 6016 1331 9268 19")],
                &[(SortCode, "60-16-13")],
            ),
            // A double-barrelled name and one of its parts, however short.
            (&[(FullName, "Jane Doe")], &[(FullName, "Jane Doe-Smith")]),
            (
                &[(FirstName, "Jane"), (LastName, "Doe-Smith")],
                &[(FirstName, "Jane"), (LastName, "Doe")],
            ),
            (
                &[(FirstName, "Mary"), (LastName, "Clark")],
                &[(FullName, "Mary Clark-Wood")],
            ),
            // Former names and notes.
            (
                &[(FullName, "Sarah Brown")],
                &[(FullName, "Sarah Jones (nee Brown)")],
            ),
            (
                &[(FullName, "Helen Carter")],
                &[(FullName, "Mrs Helen Carter née Morris")],
            ),
            (
                &[(FullName, "Anne Lowe")],
                &[(FullName, "Anne Lowe (tenant)")],
            ),
            (
                &[(FirstName, "Sarah"), (LastName, "Jones née Brown")],
                &[(FullName, "Sarah Brown-Jones")],
            ),
            // Written abbreviations of given names.
            (
                &[(FullName, "Wm Ashcombe")],
                &[(FullName, "William Ashcombe")],
            ),
            (
                &[(FullName, "Jn Temshaw")],
                &[(FullName, "Jonathan Temshaw")],
            ),
            (&[(FullName, "Jno Temshaw")], &[(FullName, "Jon Temshaw")]),
            (
                &[(FullName, "Djordje Djukic")],
                &[(FullName, "Đorđe Đukić")],
            ),
        ];
        for (q, r) in pairs {
            if let Err(e) = agree(&Person::of(q), &values(r)) {
                panic!("{q:?} / {r:?}: {e}");
            }
            if let Err(e) = agree(&Person::of(r), &values(q)) {
                panic!("{r:?} / {q:?}: {e}");
            }
        }
    }

    #[test]
    fn exact_names_nicknames_and_shortenings_are_decided() {
        let h = hasher();
        let q = Person::of(&[(FieldKind::FullName, "Bill Jones")]);
        let qf = QueryFeatures::new(&h, &q, &mut QueryMemo::default());
        for (record, want) in [
            ("Bill Jones", Outcome::Exact),
            ("William Jones", Outcome::Nickname),
            ("Billy Jones", Outcome::Nickname),
        ] {
            let r = Person::of(&[(FieldKind::FullName, record)]);
            let mut bytes = Vec::new();
            let mut entries = Vec::new();
            encode_record(&h, 0, &r, &[1], &mut bytes, &mut |n, _| {
                entries.push(NameEntry::of(&h, n))
            });
            let mut table = Vec::new();
            NameTable::encode(&mut entries, &mut table);
            let names = NameTable::parse(&table).expect("table");
            let view = RecordView::parse(&bytes).expect("view");
            let mut p = PossibleComparisons::new();
            compare_features(&h, &q, &qf, &view, &names, &mut p);
            let first = p.slots[FieldFamily::FirstName as usize].expect("compared");
            assert_eq!(first.outcomes.single(), Some(want), "{record}");
            assert!(p.is_decided(), "{record}");
        }
    }

    /// The address outcome the features give for a query and a record's values;
    /// `old_index` encodes the record as an index built before flats were stored.
    fn address_from_features(q: &Person, record: &Person, old_index: bool) -> Option<Outcome> {
        let h = hasher();
        let mut record = record.clone();
        if old_index {
            record.flats.clear();
        }
        let mut bytes = Vec::new();
        encode_record(&h, 0, &record, &[1], &mut bytes, &mut |_, _| {});
        let view = RecordView::parse(&bytes).expect("view");
        let qf = QueryFeatures::new(&h, q, &mut QueryMemo::default());
        let mut p = PossibleComparisons::new();
        compare_features(&h, q, &qf, &view, &NameTable::empty(), &mut p);
        p.slots[FieldFamily::Address as usize].and_then(|a| a.outcomes.single())
    }

    #[test]
    fn flats_are_decided_from_features() {
        use FieldKind::*;
        let columns = |house: &str| {
            Person::of(&[
                (HouseNumber, house),
                (Street, "Rose Court"),
                (Postcode, "SW1A 1AA"),
            ])
        };
        let q = columns("Flat 3, 12");
        for (record, want) in [
            (columns("Flat 7, 12"), Outcome::OtherHouse),
            (columns("12 (Flat 3)"), Outcome::Exact),
            (columns("12"), Outcome::Building),
            (columns("Flat 7, 14"), Outcome::OtherHouse),
            (
                Person::of(&[(Address, "Flat 7, 12 Rose Court, SW1A 1AA")]),
                Outcome::OtherHouse,
            ),
            // The same flat written in one line: the flat is no part of the street.
            (
                Person::of(&[(Address, "Flat 3, 12 Rose Court, SW1A 1AA")]),
                Outcome::Exact,
            ),
        ] {
            assert_eq!(
                address_from_features(&q, &record, false),
                Some(want),
                "{record:?}"
            );
            assert_eq!(
                compare(&q, &record)
                    .get(FieldFamily::Address)
                    .map(|c| c.outcome),
                Some(want),
                "{record:?}"
            );
        }
        // A record of an index built before flats were stored has none: the query's
        // flat is one-sided, never `exact`, and the record still answers.
        assert_eq!(
            address_from_features(&q, &columns("Flat 7, 12"), true),
            Some(Outcome::Building)
        );
        // Without a flat in the query either: as before flats were compared.
        assert_eq!(
            address_from_features(&columns("12"), &columns("Flat 7, 12"), true),
            Some(Outcome::Exact)
        );
    }

    #[test]
    fn best_of_keeps_what_the_minimum_may_be() {
        let s = |os: &[Outcome]| os.iter().fold(Outcomes::NONE, |a, o| a.with(*o));
        use Outcome::*;
        assert_eq!(best_of(&[s(&[Disagree])], Disagree), s(&[Disagree]));
        assert_eq!(
            best_of(&[s(&[Fuzzy, Disagree]), s(&[Phonetic])], Disagree),
            s(&[Fuzzy, Phonetic])
        );
        assert_eq!(
            best_of(&[s(&[Fuzzy, Disagree]), s(&[Disagree])], Disagree),
            s(&[Fuzzy, Disagree])
        );
        assert_eq!(best_of(&[s(&[Nickname])], Disagree), s(&[Nickname]));
    }

    fn name_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("bill".to_string()),
            Just("william".to_string()),
            Just("will".to_string()),
            Just("jon".to_string()),
            Just("john".to_string()),
            Just("jonathan".to_string()),
            Just("jonathon".to_string()),
            Just("smith".to_string()),
            Just("smyth".to_string()),
            Just("smithjones".to_string()),
            Just("jones".to_string()),
            Just("j".to_string()),
            Just("christine".to_string()),
            Just("christopher".to_string()),
            Just("doe".to_string()),
            Just("Doe-Smith".to_string()),
            Just("Jones (née Doe)".to_string()),
            Just("Smith deceased".to_string()),
            Just("wm".to_string()),
            Just("jn".to_string()),
            "[a-e]{1,10}",
            "\\PC{1,10}",
        ]
    }

    /// Flat, house number, street, postcode, and whether they are in columns of their
    /// own (else one address line).
    type Address = (&'static str, &'static str, &'static str, &'static str, bool);

    fn address_strategy() -> impl Strategy<Value = Address> {
        (
            prop_oneof![
                Just(""),
                Just(""),
                Just("Flat 3, "),
                Just("Flat 7, "),
                Just("Apt 3 "),
                Just("Flat 3A, "),
            ],
            prop_oneof![Just("12"), Just("12a"), Just("4")],
            prop_oneof![
                Just("High Street"),
                Just("High St"),
                Just("Hgh Street"),
                Just("Acacia Avenue")
            ],
            prop_oneof![
                Just("SW1A 1AA"),
                Just("SW1A 1BB"),
                Just("SW1A 2AA"),
                Just("E1 7AB"),
                Just("")
            ],
            any::<bool>(),
        )
    }

    proptest! {
        #[test]
        fn address_features_agree_with_values(
            qa in proptest::collection::vec(address_strategy(), 0..3),
            ra in proptest::collection::vec(address_strategy(), 0..3),
            query_postcode in prop_oneof![Just(""), Just("SW1A 1AA"), Just("E1 7AB")],
        ) {
            let values = |addrs: &[Address]| {
                let mut v: Vec<(FieldKind, String)> = Vec::new();
                for (flat, h, s, pc, columns) in addrs {
                    if *columns {
                        v.push((FieldKind::HouseNumber, format!("{flat}{h}")));
                        v.push((FieldKind::Street, s.to_string()));
                        v.push((FieldKind::Postcode, pc.to_string()));
                    } else {
                        v.push((FieldKind::Address, format!("{flat}{h} {s} {pc}")));
                    }
                }
                v
            };
            let mut q = Person::default();
            for (k, v) in values(&qa) {
                q.add(k, &v);
            }
            q.add(FieldKind::Postcode, query_postcode);
            agree(&q, &values(&ra))?;
        }

        #[test]
        fn features_agree_with_values(
            qn in proptest::collection::vec((name_strategy(), 12usize..15), 0..4),
            rn in proptest::collection::vec((name_strategy(), 12usize..15), 0..4),
            qd in proptest::option::of((1975u16..1985, 1u8..13, 1u8..29)),
            rd in proptest::collection::vec((0u8..7, 1u8..29), 0..3),
            qa in proptest::collection::vec(address_strategy(), 0..2),
            ra in proptest::collection::vec(address_strategy(), 0..2),
            qt in proptest::collection::vec(prop_oneof![Just("london"), Just("londn"), Just("leeds")], 0..2),
            rt in proptest::collection::vec(prop_oneof![Just("london"), Just("londn"), Just("leeds")], 0..2),
            qi in proptest::collection::vec((0usize..3, prop_oneof![Just("jane@a.com"), Just("jane@b.com"), Just("07911 123456"), Just("+44 7911 123456"), Just("+33 7911 123456"), Just("AB123456C")]), 0..3),
            ri in proptest::collection::vec((0usize..3, prop_oneof![Just("jane@a.com"), Just("jane@b.com"), Just("07911 123456"), Just("+44 7911 123456"), Just("+33 7911 123456"), Just("AB123456C")]), 0..3),
            qg in proptest::option::of(prop_oneof![Just("m"), Just("f"), Just("x")]),
            rg in proptest::option::of(prop_oneof![Just("m"), Just("f"), Just("x")]),
        ) {
            let build = |names: &[(String, usize)], dobs: &[(u16, u8, u8)], addrs: &[Address], towns: &[&str], ids: &[(usize, &str)], g: Option<&str>| {
                let mut v: Vec<(FieldKind, String)> = Vec::new();
                for (n, k) in names {
                    v.push((FieldKind::ALL[*k], n.clone()));
                }
                for (y, m, d) in dobs {
                    v.push((FieldKind::Dob, format!("{y:04}-{m:02}-{d:02}")));
                }
                for (flat, h, s, pc, columns) in addrs {
                    if *columns {
                        // Electoral-roll style: the flat in the house-number column.
                        v.push((FieldKind::HouseNumber, format!("{flat}{h}")));
                        v.push((FieldKind::Street, s.to_string()));
                        v.push((FieldKind::Postcode, pc.to_string()));
                    } else {
                        v.push((FieldKind::Address, format!("{flat}{h} {s} {pc}")));
                    }
                }
                for t in towns {
                    v.push((FieldKind::Town, t.to_string()));
                }
                for (k, val) in ids {
                    let kind = [FieldKind::Email, FieldKind::Phone, FieldKind::NiNumber][*k];
                    v.push((kind, val.to_string()));
                }
                if let Some(g) = g {
                    v.push((FieldKind::Gender, g.to_string()));
                }
                v
            };
            let mut q = Person::default();
            for (k, v) in build(&qn, &qd.into_iter().collect::<Vec<_>>(), &qa, &qt, &qi, qg) {
                q.add(k, &v);
            }
            // Record dates near the query's: the same, swapped, one digit or a year
            // off, the same month, or anything.
            let base = qd.unwrap_or((1980, 2, 3));
            let rd: Vec<(u16, u8, u8)> = rd
                .iter()
                .map(|&(how, d)| match how {
                    0 => base,
                    1 => (base.0, base.2.min(12), base.1),
                    2 => (base.0, base.1, d),
                    3 => (base.0 + 1, base.1, base.2),
                    4 => (base.0 + 10, base.1, base.2),
                    5 => (base.0, d % 12 + 1, base.2),
                    _ => (1975 + u16::from(d % 10), d % 12 + 1, d),
                })
                .collect();
            let r = build(&rn, &rd, &ra, &rt, &ri, rg);
            agree(&q, &r)?;
        }
    }
}
