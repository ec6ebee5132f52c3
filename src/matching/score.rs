//! What a comparison is worth: Fellegi–Sunter weights, frequency adjustment, the
//! prior, and the verdict.
//!
//! Each (family, outcome) pair has a [`Rule`]: `m`, how often the outcome happens when
//! both sides are the same person, and `u`, how often it happens when they are not.
//! Its weight is `log2(m / u)` bits; the match probability is
//! `sigmoid(prior + Σ weights)` (base 2). The defaults ([`Weights::default`]) are a
//! documented table that needs no training: every number is a rough population
//! fact, written next to the reasoning behind it.
//!
//! Three refinements keep the sum honest where the independence assumption of
//! Fellegi–Sunter is plainly false:
//!
//! - **Frequency**: agreeing on `smith` is weaker evidence than agreeing on
//!   `featherstonehaugh`. When the index says how many of its records carry the query's
//!   value ([`Frequencies`]), that share replaces `u` (never below a floor, so a value
//!   seen once does not weigh like a passport number).
//! - **Identifiers scale with the index**: a random record shares my email with a
//!   chance of about one in the number of people in the index, so identifier `u`s are
//!   per person and grow stronger exactly as the prior grows weaker. A value carried by
//!   many records (a placeholder `none@none.com`) is weighed by its real frequency.
//! - **Relatives**: family name, address, town and property references are shared by
//!   everyone in a household, and a twin shares the date of birth too. Their summed
//!   weight is capped so that on their own they point at the household, not the
//!   person: only given names, gender and identifiers tell household members apart.
//!   This is what keeps a twin or a parent from being reported as the resident.

use super::compare::{Agreed, Comparison, Comparisons, FieldFamily, Outcome, Part, compare};
use super::explain::{Evidence, FieldEvidence};
use crate::normalize::Person;
use serde::Serialize;
use std::fmt;

/// How a rule's `u` is read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scale {
    /// `u` is a share of the population, whatever the index size.
    Fixed,
    /// As `Fixed`, but when the index knows how many records carry the query's value,
    /// `u` becomes `factor × count / total`, never below `floor`.
    Frequency {
        /// Multiplies the value's share: for addresses the value is the postcode, and
        /// a given house is about one in twelve of a postcode's records.
        factor: f64,
        /// The rarest a value is allowed to look.
        floor: f64,
    },
    /// `u` is per person in the index: `u × records_per_person / total`. For strong
    /// identifiers, whose chance of being shared falls as the index grows.
    PerPerson,
}

/// The likelihoods of one outcome of one family.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rule {
    /// P(outcome | same person).
    pub m: f64,
    /// P(outcome | different people), for a typical value; read according to `scale`.
    pub u: f64,
    /// How `u` depends on the value and on the index.
    pub scale: Scale,
}

impl Rule {
    const fn fixed(m: f64, u: f64) -> Rule {
        Rule {
            m,
            u,
            scale: Scale::Fixed,
        }
    }

    const fn per_person(m: f64, u: f64) -> Rule {
        Rule {
            m,
            u,
            scale: Scale::PerPerson,
        }
    }

    const fn frequency(m: f64, u: f64, factor: f64, floor: f64) -> Rule {
        Rule {
            m,
            u,
            scale: Scale::Frequency { factor, floor },
        }
    }

    fn bits(&self) -> f64 {
        (self.m / self.u).log2()
    }
}

use FieldFamily as F;
use Outcome as O;

/// The default likelihoods. `m` values of a family's outcomes are read *given which
/// parts both sides have* (an initial-only name, a postcode without house number), so
/// they need not sum to one across the table. Outcomes not listed weigh nothing.
const DEFAULT_RULES: &[(FieldFamily, Outcome, Rule)] = &[
    // Given names. About 1 in 100 random pairs share a first name (the commonest UK
    // names hold ~2% of people); a name seen in 1 of 20,000 records is as rare as we
    // trust a count to say. Data entry keeps the name 90% of the time; the rest is
    // nicknames, typos, middle names used as first, initials.
    (
        F::FirstName,
        O::Exact,
        Rule::frequency(0.90, 0.01, 1.0, 5e-5),
    ),
    (F::FirstName, O::Nickname, Rule::fixed(0.04, 0.002)),
    (F::FirstName, O::Fuzzy, Rule::fixed(0.03, 0.003)),
    // A first name that is the other side's middle name: the person going by their
    // middle name, or a relative named after them (a son whose middle name is his
    // father's first name), who shares the family name, the address and, for a
    // twin, the date of birth that brought the record here. Among such candidates
    // it is as likely for another person as for the same one: no evidence either
    // way, only not a disagreement (measured on `gen` at 10 M with 4.3 bits for it:
    // 43 look-alikes exposed on it, no resident).
    (F::FirstName, O::MiddleName, Rule::fixed(0.02, 0.02)),
    (F::FirstName, O::Phonetic, Rule::fixed(0.01, 0.004)),
    // One side an initial: it agrees for the same person, and for ~1 in 14 others.
    (F::FirstName, O::Initial, Rule::fixed(0.95, 0.07)),
    // Different given names are the one thing that separates twins and siblings:
    // strong evidence against.
    (F::FirstName, O::Disagree, Rule::fixed(0.02, 0.98)),
    // Middle names are often dropped (then missing, weightless) but rarely wrong.
    (
        F::MiddleName,
        O::Exact,
        Rule::frequency(0.70, 0.02, 1.0, 1e-4),
    ),
    (F::MiddleName, O::Initial, Rule::fixed(0.90, 0.07)),
    (F::MiddleName, O::Fuzzy, Rule::fixed(0.05, 0.005)),
    (F::MiddleName, O::Disagree, Rule::fixed(0.05, 0.95)),
    // Family names: ~1 in 500 random pairs share one (Smith alone is ~1%). 6% of
    // people change it over the 15 years an archive spans (marriage, divorce), so
    // disagreeing is only moderate evidence against.
    (
        F::LastName,
        O::Exact,
        Rule::frequency(0.88, 0.002, 1.0, 5e-5),
    ),
    (F::LastName, O::Fuzzy, Rule::fixed(0.04, 0.002)),
    (F::LastName, O::Phonetic, Rule::fixed(0.02, 0.004)),
    (F::LastName, O::Disagree, Rule::fixed(0.06, 0.99)),
    // Dates of birth spread over ~80 years: 1 in 29,000 random pairs share one. A
    // date shared by many records (1900-01-01, 1970-01-01) is a placeholder and the
    // frequency adjustment makes it nearly worthless.
    (F::Dob, O::Exact, Rule::frequency(0.95, 3.4e-5, 1.0, 1e-5)),
    (F::Dob, O::DayMonthSwapped, Rule::fixed(0.01, 3.4e-5)),
    // ~50 dates lie one digit away from any date; ~30 share its year and month.
    (F::Dob, O::OneDigit, Rule::fixed(0.015, 1.5e-3)),
    (F::Dob, O::SameYearMonth, Rule::fixed(0.01, 1.1e-3)),
    (F::Dob, O::Disagree, Rule::fixed(0.01, 0.997)),
    (F::Gender, O::Exact, Rule::fixed(0.96, 0.5)),
    (F::Gender, O::Disagree, Rule::fixed(0.03, 0.5)),
    // Addresses: about half the people in a 2006–2020 archive have moved since, so
    // agreement is likely but disagreement weak (-1.3 bits). A postcode holds ~1 in
    // 30,000 records of a city archive, a house about 1 in 12 of its postcode.
    (
        F::Address,
        O::Exact,
        Rule::frequency(0.45, 2.4e-6, 0.08, 1e-7),
    ),
    // A flat number on one side only, postcode and house number agreeing. `m` as
    // for `exact`, read (like every `m` here) given which parts both sides have:
    // systems drop the flat as a matter of habit (a register or a library card
    // writes `58 Hollywood Close` for Flat 12), so a missing flat says little about
    // who it is, but the building no longer names a household. What it names is a
    // building known to hold flats: a London block or converted house of about five
    // households, so `u` is five houses' share of the postcode (5 × 1/12 ≈ 0.4),
    // 2.3 bits below `exact` and still above the postcode alone. A given name
    // shared with a neighbour (+6 to +7 bits) no longer lifts a different family
    // name to `exposed`. Two different flats are two dwellings: `other_house`. (A
    // line whose words differ too, `Flat 12, 58 Hollywood Close` against `58
    // Hollywood Close`, stays `street_variant`, 0.9 bits weaker still.)
    (
        F::Address,
        O::Building,
        Rule::frequency(0.45, 1.2e-5, 0.4, 4e-7),
    ),
    (
        F::Address,
        O::StreetVariant,
        Rule::frequency(0.05, 2.4e-6, 0.08, 1e-7),
    ),
    (
        F::Address,
        O::Postcode,
        Rule::frequency(0.50, 3e-5, 1.0, 1e-6),
    ),
    (F::Address, O::StreetAndHouse, Rule::fixed(0.03, 1e-5)),
    // Street names repeat across towns (every town has a High Street).
    (F::Address, O::Street, Rule::fixed(0.30, 5e-3)),
    // A neighbour: another house of the postcode, or another flat of the building
    // (a move within a block, or a flat number mistyped, is as rare for the same
    // person as a move within the postcode; a block's other flats are fewer than
    // the postcode's other houses, which this `u` overstates by a bit or so).
    (
        F::Address,
        O::OtherHouse,
        Rule::frequency(0.01, 3e-5, 1.0, 1e-6),
    ),
    // A leaked archive is local: a council's records sit in a few dozen districts,
    // so one postcode sector holds ~1 in 200 of them and a district ~1 in 30.
    (F::Address, O::Sector, Rule::fixed(0.03, 5e-3)),
    (F::Address, O::District, Rule::fixed(0.04, 3e-2)),
    (F::Address, O::Disagree, Rule::fixed(0.40, 0.99)),
    (F::Town, O::Exact, Rule::frequency(0.80, 0.02, 1.0, 1e-4)),
    (F::Town, O::Fuzzy, Rule::fixed(0.05, 0.005)),
    (F::Town, O::Disagree, Rule::fixed(0.20, 0.98)),
    // Identifiers: `u` per other person in the index. People change emails, phones
    // and banks, so disagreeing is weak evidence against; a shared family email or
    // landline is why the per-person `u` is above zero.
    (F::Email, O::Exact, Rule::per_person(0.60, 0.01)),
    (F::Email, O::LocalPart, Rule::per_person(0.05, 0.5)),
    (F::Email, O::Disagree, Rule::fixed(0.40, 1.0)),
    (F::Phone, O::Exact, Rule::per_person(0.50, 0.05)),
    (F::Phone, O::LastDigits, Rule::per_person(0.02, 0.1)),
    (F::Phone, O::Disagree, Rule::fixed(0.50, 1.0)),
    // An NI number is for life: a different one is strong evidence against.
    (F::NiNumber, O::Exact, Rule::per_person(0.95, 0.002)),
    (F::NiNumber, O::Disagree, Rule::fixed(0.005, 1.0)),
    // Reference numbers differ between systems (a council tax account is not a claim
    // number), so disagreement says next to nothing; short refs do collide.
    (F::AccountRef, O::Exact, Rule::per_person(0.30, 0.05)),
    (F::AccountRef, O::Disagree, Rule::fixed(0.95, 1.0)),
    // A property reference is shared by its ~2.5 residents.
    (F::Uprn, O::Exact, Rule::per_person(0.50, 2.5)),
    (F::Uprn, O::Disagree, Rule::fixed(0.40, 1.0)),
    (F::BankAccount, O::Exact, Rule::per_person(0.50, 0.05)),
    (F::BankAccount, O::Disagree, Rule::fixed(0.50, 1.0)),
    // A sort code is a branch: shared by many neighbours.
    (F::SortCode, O::Exact, Rule::fixed(0.60, 0.01)),
    (F::SortCode, O::Disagree, Rule::fixed(0.40, 0.99)),
    (F::CardNumber, O::Exact, Rule::per_person(0.50, 0.01)),
    (F::CardNumber, O::Disagree, Rule::fixed(0.60, 1.0)),
    // Passports and licences are renewed with new numbers every ten years.
    (F::Passport, O::Exact, Rule::per_person(0.80, 0.001)),
    (F::Passport, O::Disagree, Rule::fixed(0.20, 1.0)),
    (F::DrivingLicence, O::Exact, Rule::per_person(0.85, 0.001)),
    (F::DrivingLicence, O::Disagree, Rule::fixed(0.15, 1.0)),
    // `jsmith` exists in every system.
    (F::Username, O::Exact, Rule::per_person(0.40, 1.0)),
    (F::Username, O::Disagree, Rule::fixed(0.60, 1.0)),
    // IP addresses are shared behind routers and reassigned over time.
    (F::Ip, O::Exact, Rule::per_person(0.10, 20.0)),
    (F::Ip, O::Disagree, Rule::fixed(0.90, 1.0)),
];

/// Which cap a family's weight counts towards.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    /// Tells people apart: given names, gender, personal identifiers.
    Person,
    /// Shared by a household: family name, address, town, property, router.
    Household,
    /// Shared by twins.
    Dob,
}

fn group(family: FieldFamily) -> Group {
    match family {
        F::LastName | F::Address | F::Town | F::Uprn | F::Ip => Group::Household,
        F::Dob => Group::Dob,
        _ => Group::Person,
    }
}

/// The group of one comparison: as its family's, except that a UK geographic
/// landline (`+441…`, `+442…`) rings a whole household, so agreeing on one points at
/// the household like an address does.
fn group_of(comparison: &Comparison<'_>) -> Group {
    match (comparison.family, comparison.value) {
        (F::Phone, Some(Agreed::Text(phone)))
            if phone.starts_with("+441") || phone.starts_with("+442") =>
        {
            Group::Household
        }
        (family, _) => group(family),
    }
}

/// The weight table and the few constants around it. [`Weights::default`] is the
/// untrained table described in this module; a caller may adjust single rules.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    rules: [[Option<Rule>; Outcome::COUNT]; FieldFamily::COUNT],
    bits: [[f64; Outcome::COUNT]; FieldFamily::COUNT],
    /// Prior log2-odds when the index size is unknown (about a million records).
    pub unknown_prior: f64,
    /// How many records one person has in a dump, on average: the prior is
    /// `log2(records_per_person / total)`.
    pub records_per_person: f64,
    /// The prior is kept within `[min_prior, max_prior]`.
    pub min_prior: f64,
    /// The highest prior (−15: one in 2^15 records, about 16,000 people at two
    /// records each), however small the index. The people a leaked record could
    /// belong to are the population it was drawn from, not only the people in the
    /// dump: a resident who shares only a name with one record of a 3,000-record
    /// leak is most likely one of that name's other bearers in the borough, not the
    /// record's person. With the prior at `log2(2 / 3000)` (−10.5), first and last
    /// name agreeing alone made a namesake `exposed` (gen archives of 2,000–6,000
    /// records: 2–5 of ~500 exposed answers wrong); at −15 none is, and no truly
    /// exposed resident is lost. Identifier weights follow the prior (they are per
    /// person), so an email match weighs the same net of it.
    pub max_prior: f64,
    /// Household fields alone may lift the log-odds to at most this (−0.5: odds of
    /// 1 to 1.4, one member of an average UK household of 2.4 people).
    pub household_cap: f64,
    /// Household fields plus date of birth may lift the log-odds to at most this
    /// (+6: twins are about one birth in 65).
    pub twin_cap: f64,
    /// An identifier carried by more records than this is shared (a placeholder, an
    /// office switchboard) and is weighed by its frequency.
    pub shared_identifier: u64,
}

impl Default for Weights {
    fn default() -> Self {
        let mut weights = Weights {
            rules: [[None; Outcome::COUNT]; FieldFamily::COUNT],
            bits: [[0.0; Outcome::COUNT]; FieldFamily::COUNT],
            unknown_prior: -20.0,
            records_per_person: 2.0,
            min_prior: -30.0,
            max_prior: -15.0,
            household_cap: -0.5,
            twin_cap: 6.0,
            shared_identifier: 20,
        };
        for (family, outcome, rule) in DEFAULT_RULES {
            weights.set_rule(*family, *outcome, *rule);
        }
        weights
    }
}

impl Weights {
    /// The rule of one outcome of one family, if it carries weight.
    pub fn rule(&self, family: FieldFamily, outcome: Outcome) -> Option<Rule> {
        self.rules[family as usize][outcome as usize]
    }

    /// Replaces one rule. `m` and `u` must be positive; a non-positive or non-finite
    /// pair is ignored (the outcome then weighs nothing).
    pub fn set_rule(&mut self, family: FieldFamily, outcome: Outcome, rule: Rule) {
        let valid = rule.m > 0.0 && rule.u > 0.0 && rule.bits().is_finite();
        let (f, o) = (family as usize, outcome as usize);
        self.rules[f][o] = valid.then_some(rule);
        self.bits[f][o] = if valid { rule.bits() } else { 0.0 };
    }

    /// The prior log2-odds that a candidate is the person, for an index of `total`
    /// records (0: unknown).
    pub fn prior(&self, total: u64) -> f64 {
        let prior = if total == 0 {
            self.unknown_prior
        } else {
            (self.records_per_person / total as f64).log2()
        };
        prior.clamp(self.min_prior, self.max_prior)
    }

    /// The most any outcome of `family` can weigh, whatever the value's frequency
    /// and the index size (never below 0: a missing value weighs nothing).
    pub fn max_weight(&self, family: FieldFamily) -> f64 {
        let mut most = 0.0f64;
        for rule in self.rules[family as usize].iter().flatten() {
            let bits = match rule.scale {
                Scale::Fixed => rule.bits(),
                // A share never makes `u` smaller than the floor.
                Scale::Frequency { floor, .. } => rule.bits().max((rule.m / floor).log2()),
                // `u` shrinks with the prior, which is never below `min_prior`.
                Scale::PerPerson => rule.bits() - self.min_prior.min(self.max_prior),
            };
            if bits.is_finite() {
                most = most.max(bits);
            } else {
                return f64::INFINITY;
            }
        }
        most
    }

    /// The weight in bits of one comparison, given the prior and the frequencies.
    pub fn weight(&self, comparison: &Comparison<'_>, prior: f64, freq: &Frequencies<'_>) -> f64 {
        let (f, o) = (comparison.family as usize, comparison.outcome as usize);
        let Some(rule) = self.rules[f][o] else {
            return 0.0;
        };
        let base = self.bits[f][o];
        let costly = match rule.scale {
            Scale::Fixed => false,
            Scale::Frequency { .. } => comparison.value.is_some(),
            Scale::PerPerson => true,
        };
        if !costly {
            // However common the value, agreeing is never evidence against.
            return if comparison.outcome.is_agreement() {
                base.max(0.0)
            } else {
                base
            };
        }
        let key = ValueKey::of(comparison.value);
        if let Some(w) = freq
            .memo
            .and_then(|m| m.get(comparison.family, comparison.outcome, key))
        {
            return w;
        }
        let w = self.weight_of(comparison, rule, base, prior, freq);
        if let Some(m) = freq.memo {
            m.put(comparison.family, comparison.outcome, key, w);
        }
        w
    }

    fn weight_of(
        &self,
        comparison: &Comparison<'_>,
        rule: Rule,
        base: f64,
        prior: f64,
        freq: &Frequencies<'_>,
    ) -> f64 {
        let share = comparison
            .value
            .and_then(|value| freq.share(comparison.family, value));
        let bits = match (rule.scale, share) {
            (Scale::Fixed, _) | (Scale::Frequency { .. }, None) => base,
            (Scale::Frequency { factor, floor }, Some((_, share))) => {
                (rule.m / (share * factor).max(floor)).log2()
            }
            (Scale::PerPerson, share) => {
                // 2^prior is one over the number of people in the index.
                let per_person = rule.u * prior.exp2();
                let u = match share {
                    Some((count, share)) if count > self.shared_identifier => per_person.max(share),
                    _ => per_person,
                };
                (rule.m / u).log2()
            }
        };
        // However common the value, agreeing is never evidence against.
        if comparison.outcome.is_agreement() {
            bits.max(0.0)
        } else {
            bits
        }
    }
}

fn no_counts(_: FieldFamily, _: &str) -> Option<u64> {
    None
}

/// How common the query's values are in the index: the posting-list length of the
/// value's key, and the index's record count. Only agreeing values are looked up, and
/// only the query's side, so a caller can compute them once per query.
#[derive(Clone, Copy)]
pub struct Frequencies<'a> {
    /// Records in the index; 0 when unknown.
    pub total: u64,
    /// How many records carry this canonical value of this family (`None`: unknown).
    /// Dates come as `YYYY-MM-DD`; for [`FieldFamily::Address`] the value is the
    /// postcode.
    pub count: &'a dyn Fn(FieldFamily, &str) -> Option<u64>,
    /// Where weights already computed for this query are remembered (`None`:
    /// computed every time).
    pub memo: Option<&'a WeightMemo>,
}

/// The weights of one query's values that cost a logarithm (frequency-scaled and
/// per-person rules), remembered while its candidates are scored: every candidate
/// agreeing on the query's email weighs the same. Valid for one query (one
/// [`Frequencies`]); [`clear`](Self::clear) it before the next.
#[derive(Debug)]
pub struct WeightMemo {
    /// Per (family, outcome): the query generation it was computed in, the value,
    /// the weight.
    slots: std::cell::RefCell<Vec<(u32, ValueKey, f64)>>,
    generation: std::cell::Cell<u32>,
}

impl Default for WeightMemo {
    fn default() -> Self {
        WeightMemo {
            slots: std::cell::RefCell::new(vec![
                (0, ValueKey::None, 0.0);
                FieldFamily::COUNT * Outcome::COUNT
            ]),
            generation: std::cell::Cell::new(1),
        }
    }
}

/// A query value by identity: the query's own strings, or a date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ValueKey {
    None,
    Text(usize, usize),
    Date(crate::normalize::Date),
}

impl ValueKey {
    fn of(value: Option<Agreed<'_>>) -> ValueKey {
        match value {
            None => ValueKey::None,
            Some(Agreed::Text(t)) => ValueKey::Text(t.as_ptr() as usize, t.len()),
            Some(Agreed::Date(d)) => ValueKey::Date(d),
        }
    }
}

impl WeightMemo {
    /// Forgets every weight (a new query): one counter step, nothing cleared.
    pub fn clear(&self) {
        let next = self.generation.get().wrapping_add(1);
        if next == 0 {
            // Once in four billion queries: really clear, so no stale slot matches.
            if let Ok(mut slots) = self.slots.try_borrow_mut() {
                slots.iter_mut().for_each(|s| s.0 = 0);
            }
            self.generation.set(1);
        } else {
            self.generation.set(next);
        }
    }

    fn slot(family: FieldFamily, outcome: Outcome) -> usize {
        family as usize * Outcome::COUNT + outcome as usize
    }

    fn get(&self, family: FieldFamily, outcome: Outcome, key: ValueKey) -> Option<f64> {
        let slots = self.slots.try_borrow().ok()?;
        let &(generation, k, w) = slots.get(Self::slot(family, outcome))?;
        (generation == self.generation.get() && k == key).then_some(w)
    }

    fn put(&self, family: FieldFamily, outcome: Outcome, key: ValueKey, weight: f64) {
        if let Ok(mut slots) = self.slots.try_borrow_mut()
            && let Some(slot) = slots.get_mut(Self::slot(family, outcome))
        {
            *slot = (self.generation.get(), key, weight);
        }
    }
}

impl Frequencies<'static> {
    /// Nothing known: default `u`s and the default prior.
    pub fn unknown() -> Self {
        Frequencies {
            total: 0,
            count: &no_counts,
            memo: None,
        }
    }

    /// Only the index size known: the prior follows it, `u`s stay default.
    pub fn with_total(total: u64) -> Self {
        Frequencies {
            total,
            count: &no_counts,
            memo: None,
        }
    }
}

impl fmt::Debug for Frequencies<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frequencies")
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl Frequencies<'_> {
    /// The count and the share of records carrying `value`, when both are known.
    fn share(&self, family: FieldFamily, value: Agreed<'_>) -> Option<(u64, f64)> {
        if self.total == 0 {
            return None;
        }
        let mut buf = [0u8; 10];
        let text = match value {
            Agreed::Text(text) => text,
            Agreed::Date(date) => iso_date(date, &mut buf)?,
        };
        let count = (self.count)(family, text).filter(|&c| c > 0)?;
        Some((count, count as f64 / self.total as f64))
    }
}

/// `YYYY-MM-DD` in a stack buffer (no allocation on the hot path).
fn iso_date(date: crate::normalize::Date, buf: &mut [u8; 10]) -> Option<&str> {
    if date.year > 9999 || date.month > 99 || date.day > 99 {
        return None;
    }
    let digit = |n: u16| b'0' + (n % 10) as u8;
    let (y, m, d) = (date.year, u16::from(date.month), u16::from(date.day));
    *buf = [
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        digit(m / 10),
        digit(m),
        b'-',
        digit(d / 10),
        digit(d),
    ];
    std::str::from_utf8(buf).ok()
}

/// Scores one candidate record against the query and explains the result.
pub fn score(
    query: &Person,
    record: &Person,
    freq: &Frequencies<'_>,
    weights: &Weights,
) -> Evidence {
    let mut evidence = Evidence {
        fields: Vec::with_capacity(FieldFamily::COUNT),
        ..Evidence::default()
    };
    score_into(query, record, freq, weights, &mut evidence);
    evidence
}

/// As [`score`], reusing `out`'s buffer: for bulk matching, where one allocation per
/// candidate would show.
pub fn score_into(
    query: &Person,
    record: &Person,
    freq: &Frequencies<'_>,
    weights: &Weights,
    out: &mut Evidence,
) {
    score_comparisons(&compare(query, record), freq, weights, out);
}

/// The three capped sums of a set of comparisons.
struct Sums {
    person: f64,
    household: f64,
    dob: f64,
}

/// The group sums of `comparisons`; `each` sees every comparison with its weight.
fn sums(
    comparisons: &Comparisons<'_>,
    prior: f64,
    freq: &Frequencies<'_>,
    weights: &Weights,
    mut each: impl FnMut(&Comparison<'_>, f64),
) -> Sums {
    let mut sums = Sums {
        person: 0.0,
        household: 0.0,
        dob: 0.0,
    };
    for comparison in comparisons.iter() {
        let weight = weights.weight(comparison, prior, freq);
        each(comparison, weight);
        match group_of(comparison) {
            Group::Person => sums.person += weight,
            Group::Household => sums.household += weight,
            Group::Dob => sums.dob += weight,
        }
    }
    sums
}

impl Sums {
    /// The log-odds: prior plus the sums, household and twin caps applied.
    fn log_odds(&self, prior: f64, weights: &Weights) -> f64 {
        let household_capped = f64::min(self.household, weights.household_cap - prior);
        let shared = f64::min(household_capped + self.dob, weights.twin_cap - prior);
        prior + shared + self.person
    }
}

/// As [`score_into`], from comparisons already made.
pub(crate) fn score_comparisons(
    comparisons: &Comparisons<'_>,
    freq: &Frequencies<'_>,
    weights: &Weights,
    out: &mut Evidence,
) {
    let prior = weights.prior(freq.total);
    out.fields.clear();
    let sums = sums(comparisons, prior, freq, weights, |comparison, weight| {
        out.fields.push(FieldEvidence {
            family: comparison.family,
            outcome: comparison.outcome,
            weight,
        });
    });
    let log_odds = sums.log_odds(prior, weights);
    let household_capped = f64::min(sums.household, weights.household_cap - prior);
    let shared = f64::min(household_capped + sums.dob, weights.twin_cap - prior);
    out.prior = prior;
    out.capped = (sums.household + sums.dob) - shared;
    out.log_odds = log_odds;
    out.probability = probability(log_odds);
}

/// The probability alone of a set of comparisons (as [`score_comparisons`] would
/// give it), for bounding a record over its possible outcomes.
pub(crate) fn comparisons_probability(
    comparisons: &Comparisons<'_>,
    freq: &Frequencies<'_>,
    weights: &Weights,
) -> f64 {
    let prior = weights.prior(freq.total);
    let sums = sums(comparisons, prior, freq, weights, |_, _| {});
    probability(sums.log_odds(prior, weights))
}

/// The probability of base-2 log-odds.
fn probability(log_odds: f64) -> f64 {
    1.0 / (1.0 + (-log_odds).exp2())
}

/// The most the [`Part::Place`] families can add to a record's weights together:
/// the bound [`person_part_bound`] needs, the same for every record of a query.
pub(crate) fn place_weight_bound(weights: &Weights) -> f64 {
    FieldFamily::ALL
        .into_iter()
        .filter(|f| Part::of(*f) == Part::Place)
        .map(|f| weights.max_weight(f))
        .sum()
}

/// The highest probability a record can reach once its place is compared, given
/// the comparisons of its [`Part::Person`] (`comparisons` holds no place family)
/// and [`place_weight_bound`]. Place families count towards the household, so
/// whatever they add is bounded by their best outcomes' weights, and by the
/// household cap.
pub(crate) fn person_part_bound(
    comparisons: &Comparisons<'_>,
    place_bound: f64,
    freq: &Frequencies<'_>,
    weights: &Weights,
) -> f64 {
    let prior = weights.prior(freq.total);
    let mut sums = sums(comparisons, prior, freq, weights, |_, _| {});
    sums.household += place_bound;
    probability(sums.log_odds(prior, weights))
}

/// The answer for one person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The best record reaches the exposure threshold: notify.
    Exposed,
    /// Something close, for a person to review.
    Possible,
    /// Nothing above the review threshold.
    NotFound,
}

impl Verdict {
    /// `exposed`, `possible` or `not_found`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Exposed => "exposed",
            Verdict::Possible => "possible",
            Verdict::NotFound => "not_found",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Probability thresholds of the verdicts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// From this probability on, `exposed` (default 0.9).
    pub exposed: f64,
    /// From this probability on, `possible` (default 0.5).
    pub possible: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            exposed: 0.9,
            possible: 0.5,
        }
    }
}

impl Thresholds {
    /// Thresholds a user gave: both probabilities, `0 < possible <= exposed <= 1`
    /// (a possible threshold of 0 would call everyone possible). The error names
    /// the command-line flags.
    pub fn new(exposed: f64, possible: f64) -> Result<Thresholds, String> {
        if !(possible.is_finite() && exposed.is_finite() && 0.0 < possible && possible <= exposed) {
            return Err(format!(
                "thresholds must satisfy 0 < --possible-threshold ({possible}) <= --exposed-threshold ({exposed})"
            ));
        }
        if exposed > 1.0 {
            return Err(format!(
                "--exposed-threshold {exposed} is above 1: nobody could ever be exposed"
            ));
        }
        Ok(Thresholds { exposed, possible })
    }

    /// The verdict for a best-candidate probability.
    pub fn verdict(&self, probability: f64) -> Verdict {
        if probability >= self.exposed {
            Verdict::Exposed
        } else if probability >= self.possible {
            Verdict::Possible
        } else {
            Verdict::NotFound
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::FieldKind;
    use crate::matching::compare::compare_part;
    use crate::normalize::Date;
    use proptest::prelude::*;

    const TOTAL: u64 = 1_000_000;

    /// Posting-list lengths of a million-record council archive.
    fn counts(family: FieldFamily, value: &str) -> Option<u64> {
        let count = match (family, value) {
            (F::FirstName, "john") => 12_000,
            (F::FirstName, "jane") => 4_000,
            (F::FirstName, "william") => 6_000,
            (F::FirstName, "mary") => 5_000,
            (F::LastName, "smith") => 10_000,
            (F::LastName, "doe") => 300,
            (F::LastName, "featherstonehaugh") => 3,
            (F::Dob, "1900-01-01") => 40_000,
            (F::Dob, _) => 35,
            (F::Address, "SW1A1AA") => 40,
            (F::Email, "none@none.com") => 5_000,
            (F::Email | F::Phone | F::NiNumber, _) => 2,
            _ => return None,
        };
        Some(count)
    }

    #[test]
    fn remembered_weights_are_the_computed_ones_and_forgotten_per_query() {
        let weights = Weights::default();
        let memo = WeightMemo::default();
        let with_memo = Frequencies {
            memo: Some(&memo),
            ..freq()
        };
        let prior = weights.prior(TOTAL);
        let emails = ["none@none.com".to_string(), "jane@example.com".to_string()];
        for round in 0..2 {
            for e in &emails {
                let c = Comparison {
                    family: FieldFamily::Email,
                    outcome: Outcome::Exact,
                    value: Some(Agreed::Text(e)),
                };
                let plain = weights.weight(&c, prior, &freq());
                // First call computes, second call remembers: both the same.
                assert_eq!(
                    weights.weight(&c, prior, &with_memo).to_bits(),
                    plain.to_bits()
                );
                assert_eq!(
                    weights.weight(&c, prior, &with_memo).to_bits(),
                    plain.to_bits()
                );
            }
            let _ = round;
            memo.clear();
        }
        // The shared placeholder weighs less than a personal email, memo or not.
        let w = |e: &str| {
            let c = Comparison {
                family: FieldFamily::Email,
                outcome: Outcome::Exact,
                value: Some(Agreed::Text(e)),
            };
            weights.weight(&c, prior, &with_memo)
        };
        assert!(w(&emails[0]) < w(&emails[1]));
    }

    fn freq() -> Frequencies<'static> {
        Frequencies {
            total: TOTAL,
            count: &counts,
            memo: None,
        }
    }

    fn s(v: &str) -> Vec<String> {
        vec![v.to_string()]
    }

    fn dob(year: u16, month: u8, day: u8) -> Vec<Date> {
        vec![Date { year, month, day }]
    }

    /// Jane Doe as a register row, already normalised.
    fn jane() -> Person {
        Person {
            first_names: s("jane"),
            last_names: s("doe"),
            dobs: dob(1980, 2, 3),
            genders: vec![b'f'],
            house_numbers: s("10"),
            streets: s("downing street"),
            postcodes: s("SW1A1AA"),
            identifiers: vec![
                (FieldKind::Email, "jane.doe@example.com".into()),
                (FieldKind::Phone, "+447911123456".into()),
            ],
            ..Person::default()
        }
    }

    fn probability(query: &Person, record: &Person) -> Evidence {
        score(query, record, &freq(), &Weights::default())
    }

    fn assert_at_least(e: &Evidence, p: f64) {
        assert!(
            e.probability >= p,
            "{} < {p}: {}",
            e.probability,
            e.summary()
        );
    }

    fn assert_below(e: &Evidence, p: f64) {
        assert!(
            e.probability < p,
            "{} >= {p}: {}",
            e.probability,
            e.summary()
        );
    }

    #[test]
    fn nickname_typo_and_reformatted_phone_is_exposed() {
        // Register: "Bill Smyth, 03/02/1980, 10 Downing St, sw1a 1aa, 07911 123456".
        let query = Person {
            first_names: s("bill"),
            last_names: s("smyth"),
            dobs: dob(1980, 2, 3),
            house_numbers: s("10"),
            streets: s("downing st"),
            postcodes: s("SW1A1AA"),
            identifiers: vec![(FieldKind::Phone, "+447911123456".into())],
            ..Person::default()
        };
        // Dump: "WILLIAM SMITH, 1980-02-03, 10 Downing Street, SW1A 1AA, +44 7911 123456".
        let record = Person {
            first_names: s("william"),
            last_names: s("smith"),
            dobs: dob(1980, 2, 3),
            genders: vec![b'm'],
            house_numbers: s("10"),
            streets: s("downing street"),
            postcodes: s("SW1A1AA"),
            identifiers: vec![
                (FieldKind::Phone, "+447911123456".into()),
                (FieldKind::Email, "bill@example.com".into()),
            ],
            ..Person::default()
        };
        let e = probability(&query, &record);
        assert_at_least(&e, 0.9);
        assert_eq!(
            e.agreed(),
            [
                "phone",
                "address",
                "dob",
                "first_name~nickname",
                "last_name~phonetic"
            ]
        );
        // Without the phone the names, date and address still suffice.
        let mut no_phone = query.clone();
        no_phone.identifiers.clear();
        assert_at_least(&probability(&no_phone, &record), 0.9);
    }

    #[test]
    fn same_name_different_dob_is_not_exposed() {
        let query = Person {
            first_names: s("john"),
            last_names: s("smith"),
            dobs: dob(1980, 2, 3),
            postcodes: s("N16XY"),
            ..Person::default()
        };
        let record = Person {
            dobs: dob(1975, 6, 19),
            postcodes: s("E17AB"),
            ..query.clone()
        };
        assert_below(&probability(&query, &record), 0.5);
        // Father and son of one name at one address: still not the same person.
        let son = Person {
            postcodes: s("N16XY"),
            ..record
        };
        assert_below(&probability(&query, &son), 0.9);
    }

    #[test]
    fn twin_is_not_exposed() {
        let twin = Person {
            first_names: s("mary"),
            ..jane()
        };
        let mut query = jane();
        query.identifiers.clear();
        let mut record = twin;
        record.identifiers.clear();
        let e = probability(&query, &record);
        assert_below(&e, 0.9);
        assert!(e.capped > 0.0, "{}", e.summary());
        // Even with the rarest surname.
        query.last_names = s("featherstonehaugh");
        record.last_names = s("featherstonehaugh");
        assert_below(&probability(&query, &record), 0.9);
    }

    #[test]
    fn a_first_name_that_is_the_other_sides_middle_name_is_no_evidence() {
        // John Michael Smith's twin brother Michael on a library card: the record
        // agrees on the family name and the date of birth, and its first name is
        // John's middle name.
        let query = Person {
            first_names: s("john"),
            middle_names: s("michael"),
            last_names: s("smith"),
            dobs: dob(1990, 2, 3),
            ..Person::default()
        };
        let brother = Person {
            first_names: s("michael"),
            middle_names: Vec::new(),
            ..query.clone()
        };
        let e = probability(&query, &brother);
        assert_below(&e, 0.9);
        // John himself, going by Michael, with his phone on the record: exposed.
        let phone = vec![(FieldKind::Phone, "+447911123456".to_string())];
        let query = Person {
            identifiers: phone.clone(),
            ..query
        };
        let himself = Person {
            identifiers: phone,
            ..brother
        };
        assert_at_least(&probability(&query, &himself), 0.9);
    }

    #[test]
    fn shared_landline_points_at_the_household_not_the_person() {
        let mut query = jane();
        query.identifiers = vec![(FieldKind::Phone, "+442087634738".into())];
        // Her brother: same home, same landline, another name and birth date.
        let brother = Person {
            first_names: s("harry"),
            dobs: dob(1956, 6, 25),
            genders: vec![b'm'],
            ..query.clone()
        };
        assert_below(&probability(&query, &brother), 0.5);
        // The same with a mobile number: a personal identifier, strong evidence.
        let mut mobile_query = query.clone();
        mobile_query.identifiers = vec![(FieldKind::Phone, "+447911123456".into())];
        let mut mobile_brother = brother.clone();
        mobile_brother.identifiers = mobile_query.identifiers.clone();
        let mobile = probability(&mobile_query, &mobile_brother);
        assert!(mobile.probability > probability(&query, &brother).probability);
    }

    #[test]
    fn family_member_at_same_address_is_not_found() {
        let mut query = jane();
        query.identifiers.clear();
        let father = Person {
            first_names: s("john"),
            dobs: dob(1952, 11, 30),
            genders: vec![b'm'],
            ..query.clone()
        };
        assert_below(&probability(&query, &father), 0.5);
    }

    #[test]
    fn married_name_change_is_still_exposed() {
        let query = Person {
            last_names: s("smith"),
            postcodes: s("E17AB"),
            house_numbers: s("3"),
            ..jane()
        };
        let record = jane();
        let e = probability(&query, &record);
        assert_at_least(&e, 0.9);
        assert!(
            e.fields
                .iter()
                .any(|f| f.family == F::LastName && f.outcome == O::Disagree && f.weight < -2.0)
        );
        // Same first name, date of birth and address, no email: still her.
        let mut no_ids = query.clone();
        no_ids.identifiers.clear();
        no_ids.postcodes = s("SW1A1AA");
        no_ids.house_numbers = s("10");
        assert_at_least(&probability(&no_ids, &record), 0.9);
    }

    fn last_name_weight(e: &Evidence) -> f64 {
        e.fields
            .iter()
            .find(|f| f.family == F::LastName)
            .map_or(f64::NAN, |f| f.weight)
    }

    #[test]
    fn rare_surname_weighs_more_than_smith() {
        let person = |last: &str| Person {
            first_names: s("john"),
            last_names: s(last),
            ..Person::default()
        };
        let smith = probability(&person("smith"), &person("smith"));
        let rare = probability(&person("featherstonehaugh"), &person("featherstonehaugh"));
        assert!(last_name_weight(&rare) > last_name_weight(&smith) + 5.0);
        assert!(rare.probability > smith.probability);
        // Unknown frequency: the default sits in between.
        let unknown = score(
            &person("smith"),
            &person("smith"),
            &Frequencies::with_total(TOTAL),
            &Weights::default(),
        );
        assert!(last_name_weight(&unknown) > last_name_weight(&smith));
        assert!(last_name_weight(&unknown) < last_name_weight(&rare));
    }

    #[test]
    fn strong_identifiers() {
        let email_only = Person {
            identifiers: vec![(FieldKind::Email, "jane.doe@example.com".into())],
            ..Person::default()
        };
        assert_at_least(&probability(&email_only, &jane()), 0.9);
        let phone_only = Person {
            identifiers: vec![(FieldKind::Phone, "+447911123456".into())],
            ..Person::default()
        };
        assert_at_least(&probability(&phone_only, &jane()), 0.9);
        // A placeholder shared by 5,000 records proves nothing.
        let placeholder = Person {
            identifiers: vec![(FieldKind::Email, "none@none.com".into())],
            ..Person::default()
        };
        let record = Person {
            identifiers: placeholder.identifiers.clone(),
            ..jane()
        };
        assert_below(&probability(&placeholder, &record), 0.5);
    }

    #[test]
    fn ni_number_disagreeing_is_strong_but_email_weak() {
        let mut query = jane();
        query.identifiers = vec![(FieldKind::NiNumber, "AB123456".into())];
        let mut record = jane();
        record.identifiers = vec![(FieldKind::NiNumber, "CD654321".into())];
        let with_ni = probability(&query, &record);
        query.identifiers = vec![(FieldKind::Email, "jane@new.example".into())];
        let with_email = probability(&query, &jane());
        let weight = |e: &Evidence, family| {
            e.fields
                .iter()
                .find(|f| f.family == family)
                .map_or(f64::NAN, |f| f.weight)
        };
        assert!(weight(&with_ni, F::NiNumber) < -6.0);
        assert!(weight(&with_email, F::Email) > -2.0 && weight(&with_email, F::Email) < 0.0);
        assert_at_least(&with_email, 0.9);
        assert!(with_ni.probability < with_email.probability);
    }

    #[test]
    fn placeholder_dob_weighs_less() {
        let person = |d: Vec<Date>| Person {
            last_names: s("doe"),
            dobs: d,
            ..Person::default()
        };
        let real = probability(&person(dob(1980, 2, 3)), &person(dob(1980, 2, 3)));
        let placeholder = probability(&person(dob(1900, 1, 1)), &person(dob(1900, 1, 1)));
        assert!(real.log_odds > placeholder.log_odds + 8.0);
    }

    #[test]
    fn nothing_in_common_is_not_found_and_explanations_hold_no_values() {
        let nobody = Person::default();
        let e = probability(&nobody, &jane());
        assert_below(&e, 0.01);
        assert!(e.fields.iter().all(|f| f.outcome == O::Missing));
        let e = probability(&jane(), &jane());
        let line = e.summary();
        for value in ["jane", "doe", "SW1A", "07911", "7911", "example", "1980"] {
            assert!(!line.contains(value), "{line}");
        }
        assert!(line.starts_with("email exact (+"), "{line}");
    }

    #[test]
    fn prior_follows_index_size_within_bounds() {
        let w = Weights::default();
        assert_eq!(w.prior(0), w.unknown_prior);
        assert!((w.prior(1 << 21) - -20.0).abs() < 1e-9);
        assert_eq!(w.prior(10), w.max_prior);
        assert_eq!(w.prior(u64::MAX), w.min_prior);
    }

    #[test]
    fn a_name_alone_does_not_expose_anyone_in_a_small_index() {
        // A 3,000-record leak holds one "Sarah Mitchell" with no date of birth; the
        // resident of that name gives hers. The names are all they share.
        let query = Person {
            first_names: s("sarah"),
            last_names: s("mitchell"),
            dobs: dob(1986, 10, 14),
            ..Person::default()
        };
        let record = Person {
            first_names: s("sarah"),
            last_names: s("mitchell"),
            ..Person::default()
        };
        let small = Frequencies::with_total(3000);
        let w = Weights::default();
        assert_below(&score(&query, &record, &small, &w), 0.9);
        // The prior below the cap would have exposed her.
        let loose = Weights {
            max_prior: -4.0,
            ..Weights::default()
        };
        assert_at_least(&score(&query, &record, &small, &loose), 0.9);
        // What the record shares beyond the name still counts in full: her email, or
        // her date of birth.
        let mut with_email = record.clone();
        with_email
            .identifiers
            .push((FieldKind::Email, "sarah.m@example.org".into()));
        let mut q_email = query.clone();
        q_email.identifiers = with_email.identifiers.clone();
        assert_at_least(&score(&q_email, &with_email, &small, &w), 0.9);
        let with_dob = Person {
            dobs: query.dobs.clone(),
            ..record
        };
        assert_at_least(&score(&query, &with_dob, &small, &w), 0.9);
    }

    #[test]
    fn score_into_reuses_and_matches_score() {
        let mut out = probability(&jane(), &Person::default());
        score_into(&jane(), &jane(), &freq(), &Weights::default(), &mut out);
        assert_eq!(out, probability(&jane(), &jane()));
    }

    #[test]
    fn invalid_rules_are_ignored() {
        let mut w = Weights::default();
        w.set_rule(F::Email, O::Exact, Rule::fixed(0.0, 0.5));
        assert_eq!(w.rule(F::Email, O::Exact), None);
        w.set_rule(F::Email, O::Exact, Rule::fixed(f64::NAN, 0.5));
        assert_eq!(w.rule(F::Email, O::Exact), None);
        let e = score(&jane(), &jane(), &freq(), &w);
        assert!(e.probability.is_finite());
    }

    #[test]
    fn iso_dates_for_frequency_lookups() {
        let mut buf = [0; 10];
        let d = Date {
            year: 987,
            month: 2,
            day: 3,
        };
        assert_eq!(iso_date(d, &mut buf), Some("0987-02-03"));
        let far = Date {
            year: 12_000,
            month: 1,
            day: 1,
        };
        assert_eq!(iso_date(far, &mut buf), None);
    }

    fn arb_person() -> impl Strategy<Value = Person> {
        let names = |re: &'static str| proptest::collection::vec(re, 0..2);
        (
            names("john|jane|bill|william|mary|j|[a-z]{3,7}"),
            names("smith|doe|smyth|featherstonehaugh|[a-z]{3,9}"),
            proptest::collection::vec((1900u16..2010, 1u8..13, 1u8..29), 0..2),
            proptest::collection::vec(any::<u8>().prop_map(|g| b"mfx"[usize::from(g % 3)]), 0..2),
            names("1|10|12a"),
            names("downing street|high st|[a-z]{4,8} road"),
            names("SW1A1AA|SW1A1AB|SW1A2AA|E17AB|75001"),
            names("london|londn|leeds"),
            proptest::collection::vec(
                (
                    0usize..4,
                    "[a-z]{1,4}@x\\.com|\\+4479111234[0-9]{2}|AB12345[0-9]",
                ),
                0..3,
            ),
        )
            .prop_map(
                |(first, last, dobs, genders, houses, streets, postcodes, towns, ids)| {
                    let kinds = [
                        FieldKind::Email,
                        FieldKind::Phone,
                        FieldKind::NiNumber,
                        FieldKind::AccountRef,
                    ];
                    Person {
                        first_names: first,
                        last_names: last,
                        dobs: dobs
                            .into_iter()
                            .map(|(year, month, day)| Date { year, month, day })
                            .collect(),
                        genders,
                        house_numbers: houses,
                        streets,
                        postcodes,
                        towns,
                        identifiers: ids
                            .into_iter()
                            .map(|(k, v)| (kinds[k % kinds.len()], v))
                            .collect(),
                        ..Person::default()
                    }
                },
            )
    }

    /// Gives `record` the query's values of one family it has none of.
    fn add_agreeing(query: &Person, record: &mut Person, which: usize) {
        match which {
            0 if record.first_names.is_empty() => record.first_names = query.first_names.clone(),
            1 if record.last_names.is_empty() => record.last_names = query.last_names.clone(),
            2 if record.dobs.is_empty() => record.dobs = query.dobs.clone(),
            3 if record.genders.is_empty() => record.genders = query.genders.clone(),
            4 if record.postcodes.is_empty()
                && record.streets.is_empty()
                && record.house_numbers.is_empty() =>
            {
                record.postcodes = query.postcodes.clone();
                record.streets = query.streets.clone();
                record.house_numbers = query.house_numbers.clone();
            }
            5 if record.towns.is_empty() => record.towns = query.towns.clone(),
            6..=9 => {
                let kind = [
                    FieldKind::Email,
                    FieldKind::Phone,
                    FieldKind::NiNumber,
                    FieldKind::AccountRef,
                ][which - 6];
                if record.identifiers.iter().all(|(k, _)| *k != kind) {
                    record.identifiers.extend(
                        query
                            .identifiers
                            .iter()
                            .filter(|(k, _)| *k == kind)
                            .cloned(),
                    );
                }
            }
            _ => {}
        }
    }

    #[test]
    fn person_part_bound_prunes_strangers_not_namesakes() {
        let weights = Weights::default();
        let place = place_weight_bound(&weights);
        assert!(place.is_finite() && place > 0.0);
        let query = jane();
        let bound = |record: &Person| {
            let mut person = Comparisons::new();
            compare_part(&query, record, Part::Person, &mut person);
            person_part_bound(&person, place, &freq(), &weights)
        };
        // A neighbour at Jane's address: another name, another birthday, other contacts.
        let neighbour = Person {
            first_names: s("mohammed"),
            last_names: s("khan"),
            dobs: dob(1961, 7, 22),
            genders: vec![b'm'],
            identifiers: vec![(FieldKind::Email, "mk@example.org".into())],
            ..jane()
        };
        assert!(bound(&neighbour) < 0.0005, "{}", bound(&neighbour));
        // A namesake born the same day elsewhere: only the address can tell.
        let namesake = Person {
            identifiers: Vec::new(),
            house_numbers: s("4"),
            postcodes: s("E17AB"),
            ..jane()
        };
        assert!(bound(&namesake) >= 0.5, "{}", bound(&namesake));
    }

    proptest! {
        #[test]
        fn adding_an_agreeing_field_never_lowers_the_score(
            query in arb_person(),
            record in arb_person(),
            which in 0usize..10,
        ) {
            let weights = Weights::default();
            let before = score(&query, &record, &freq(), &weights);
            let mut more = record.clone();
            add_agreeing(&query, &mut more, which);
            let after = score(&query, &more, &freq(), &weights);
            prop_assert!(
                after.log_odds >= before.log_odds - 1e-9,
                "{} -> {}\n{}\n{}", before.log_odds, after.log_odds,
                before.summary(), after.summary()
            );
        }

        #[test]
        fn person_part_bound_is_never_below_the_full_score(
            query in arb_person(),
            record in arb_person(),
            total in prop_oneof![Just(0u64), Just(50), Just(TOTAL)],
        ) {
            let weights = Weights::default();
            let freq = Frequencies {
                total,
                count: &counts,
                memo: None,
            };
            let full = score(&query, &record, &freq, &weights);
            let mut person = Comparisons::new();
            compare_part(&query, &record, Part::Person, &mut person);
            let bound = person_part_bound(&person, place_weight_bound(&weights), &freq, &weights);
            prop_assert!(
                bound >= full.probability,
                "bound {} < {}: {}", bound, full.probability, full.summary()
            );
        }

        #[test]
        fn probability_is_a_probability(query in arb_person(), record in arb_person()) {
            let e = score(&query, &record, &freq(), &Weights::default());
            prop_assert!((0.0..=1.0).contains(&e.probability));
            prop_assert!(e.log_odds.is_finite());
            prop_assert!(e.capped >= 0.0);
            let sum: f64 = e.fields.iter().map(|f| f.weight).sum();
            prop_assert!((e.prior + sum - e.capped - e.log_odds).abs() < 1e-6);
        }
    }
}
