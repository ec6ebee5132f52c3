//! Canonical forms of raw values, one submodule per field-kind family.
//!
//! [`Person`] is the one path from raw values to canonical ones: the index builder
//! fills one per dump record, `lookup` and `match` fill one per query, and both then
//! derive keys from it (`crate::keys`). A value normalised differently at build and at
//! query time is a resident silently missed, so nothing else may normalise.

pub mod address;
pub mod date;
pub mod email;
pub mod gender;
pub mod ids;
mod memo;
pub mod name;
pub mod phone;
pub mod postcode;

use crate::field::FieldKind;

/// A calendar date, validated (no 31 February).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    /// Full year, e.g. 1980.
    pub year: u16,
    /// 1–12.
    pub month: u8,
    /// 1–31, valid for the month.
    pub day: u8,
}

/// The canonical values of one record or one query, grouped by what they say about a
/// person. Values that fail to normalise (an impossible date, an empty string) are left
/// out: missing, never guessed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Person {
    /// Folded given names (`zoe`, `william`), as written (nicknames are not expanded here).
    pub first_names: Vec<String>,
    /// Folded middle names.
    pub middle_names: Vec<String>,
    /// Folded family names (`obrien`, `smithjones`).
    pub last_names: Vec<String>,
    /// Dates of birth.
    pub dobs: Vec<Date>,
    /// `m`, `f` or `x`.
    pub genders: Vec<u8>,
    /// House or flat numbers as canonical strings (`12`, `12a`).
    pub house_numbers: Vec<String>,
    /// Street / address lines, folded for fuzzy comparison.
    pub streets: Vec<String>,
    /// Flat numbers inside a building (`3`, `3a`, `b`), from address, street and
    /// house-number values ([`address::flat`]).
    pub flats: Vec<String>,
    /// Folded towns.
    pub towns: Vec<String>,
    /// Postcodes, upper-case without spaces.
    pub postcodes: Vec<String>,
    /// Strong identifiers in canonical form: email, phone (E.164), NI number stem,
    /// account references, UPRN, bank account, sort code, card, passport, licence,
    /// username, ip.
    pub identifiers: Vec<(FieldKind, String)>,
    /// Year of the record's `record_date`, when it has one.
    pub record_year: Option<u16>,
}

/// Values systems write for "nothing here" (`N/A`, `NULL`, `-`, `Not known`),
/// recognised by their letters and digits alone so `#N/A`, `n.a.` and `(null)` are
/// caught too. Checked before any normaliser so that a thousand `N/A` account
/// references never become one shared key. A value with no letter or digit at all
/// is a placeholder. `Na` written as a plain word is kept for names: it is also a
/// family name. A date of birth that systems store for "not known" (`01/01/1900`,
/// `1899-12-31`, `9999-12-31`: [`date::is_unknown_birth`]) is one too; a record date
/// holding it is not (its year still places the record).
pub fn is_placeholder(raw: &str, kind: FieldKind) -> bool {
    if kind == FieldKind::Dob && date::is_unknown_birth(raw) {
        return true;
    }
    // Every value goes through here: settle most of them on their first letter.
    // Non-alphanumerics are skipped below, so surrounding spaces need no trim.
    let t = raw;
    if t.len() > 40 {
        return false;
    }
    // Every placeholder's first letter is n, u or t. Any other first ASCII letter or
    // digit is the value's first alphanumeric character (else a non-ASCII one came
    // before it, which is real text), so the value is not a placeholder.
    match t.bytes().find(u8::is_ascii_alphanumeric) {
        Some(b'n' | b'N' | b'u' | b'U' | b't' | b'T') | None => {}
        Some(_) => return false,
    }
    let mut buf = [0u8; 12];
    let mut n = 0;
    let mut letters_only = true;
    for c in t.chars() {
        if !c.is_alphanumeric() {
            letters_only = false;
            continue;
        }
        if !c.is_ascii() {
            // Real text in some script: not one of the ASCII placeholders.
            return false;
        }
        let Some(slot) = buf.get_mut(n) else {
            return false;
        };
        *slot = c.to_ascii_lowercase() as u8;
        n += 1;
    }
    match buf.get(..n).unwrap_or_default() {
        b"" | b"null" | b"none" | b"nil" | b"nan" | b"unknown" | b"notknown" | b"tbc"
        | b"undefined" | b"notprovided" | b"notrecorded" | b"notapplicable" => true,
        b"na" => {
            let name = matches!(
                kind,
                FieldKind::FirstName
                    | FieldKind::MiddleName
                    | FieldKind::LastName
                    | FieldKind::FullName
            );
            !(name && letters_only)
        }
        _ => false,
    }
}

thread_local! {
    /// Street lines repeat across records (a street's residents, case variants) and
    /// taking one apart costs far more than looking it up. Measured: memos for names
    /// and dates, whose normalisers are cheap, cost more in cache misses than they
    /// saved, so only this one is kept.
    static ADDRESS_MEMO: std::cell::RefCell<memo::Memo<address::AddressParts>> =
        std::cell::RefCell::new(memo::Memo::new(12));
}

fn push_unique<T: PartialEq>(values: &mut Vec<T>, value: Option<T>) {
    if let Some(v) = value
        && !values.contains(&v)
    {
        values.push(v);
    }
}

impl Person {
    /// Fills `self` (cleared first) from one record: every value of every column
    /// that has a kind. Build and verification both read records through this.
    pub fn fill_from(&mut self, kinds: &[Option<FieldKind>], fields: &crate::source::Fields) {
        self.fill_from_ordered(kinds, &[], fields);
    }

    /// [`fill_from`](Self::fill_from), reading the numeric dates of column `c` in
    /// `orders[c]` (a column the mapping found written month first); columns past
    /// the end of `orders` are day first.
    pub fn fill_from_ordered(
        &mut self,
        kinds: &[Option<FieldKind>],
        orders: &[date::Order],
        fields: &crate::source::Fields,
    ) {
        self.clear();
        for (col, kind) in kinds.iter().enumerate() {
            let Some(kind) = *kind else { continue };
            if kind == FieldKind::Ignore {
                continue;
            }
            let order = orders.get(col).copied().unwrap_or_default();
            for value in fields.values(col) {
                if !value.is_empty() {
                    self.add_in(kind, value, order);
                }
            }
        }
    }

    /// [`add`](Self::add), a date of birth's numbers read in `order`.
    pub fn add_in(&mut self, kind: FieldKind, raw: &str, order: date::Order) {
        if kind == FieldKind::Dob && order == date::Order::MonthFirst {
            if !is_placeholder(raw, kind) {
                push_unique(&mut self.dobs, date::parse_in(raw, order));
            }
            return;
        }
        self.add(kind, raw);
    }

    /// Adds one raw value of the given kind, normalised. Values that do not
    /// normalise (`N/A`, `31/02/1980`, an email without `@`) are left out, and a value
    /// already present is not added twice.
    ///
    /// - `full_name` is split into given, middle and family names; a `first_name`
    ///   column with several words gives a given name and middle names, as a full name
    ///   would. A full or family name adds, after its family name, a former one
    ///   (`Jones (née Brown)`) and the parts of a double-barrelled one (`doe`, `smith`).
    /// - `address` and `street` add the folded line to `streets`, and the house number,
    ///   flat number and UK postcode the line contains (address line 1 is often mapped
    ///   as `street` and carries the number); `house_number` adds a flat number too
    ///   (`Flat 3, 12`).
    /// - an `email` or `phone` cell holding several values (`07911 100003 / 07911
    ///   200003`, `a@x.com; b@x.com`, separated by `/ , ; |`, a line break, ` or ` or
    ///   ` & `) adds each of them, when each is one ([`listed_identifiers`]).
    /// - `record_date` sets `record_year` (the first one wins); `ignore` adds nothing.
    pub fn add(&mut self, kind: FieldKind, raw: &str) {
        if is_placeholder(raw, kind) {
            return;
        }
        match kind {
            FieldKind::BankAccount => {
                if let Some((sort, account)) = ids::gb_iban(raw) {
                    self.push_id(FieldKind::SortCode, Some(sort));
                    self.push_id(FieldKind::BankAccount, Some(account));
                } else {
                    self.push_id(kind, ids::bank_account(raw));
                }
            }
            FieldKind::Email | FieldKind::Phone if is_list(raw) => {
                for value in listed_identifiers(kind, raw) {
                    self.push_id(kind, Some(value));
                }
            }
            k if k.is_identifier() => self.push_id(k, canonical_identifier(k, raw)),
            FieldKind::FirstName => {
                let (first, middles) = name::split_given(raw);
                push_unique(&mut self.first_names, real_name(first));
                for m in middles {
                    push_unique(&mut self.middle_names, real_name(Some(m)));
                }
            }
            FieldKind::MiddleName => {
                let (first, middles) = name::split_given(raw);
                for m in first.into_iter().chain(middles) {
                    push_unique(&mut self.middle_names, real_name(Some(m)));
                }
            }
            FieldKind::LastName => {
                let family = name::split_family(raw);
                push_unique(&mut self.last_names, real_name(family.last));
                for other in family.others {
                    push_unique(&mut self.last_names, real_name(Some(other)));
                }
            }
            FieldKind::FullName => {
                let full = name::split_full(raw);
                push_unique(&mut self.first_names, real_name(full.first));
                // A couple's record (`John & Mary Smith`) is either's.
                for partner in full.partners {
                    push_unique(&mut self.first_names, real_name(Some(partner)));
                }
                for m in full.middles {
                    push_unique(&mut self.middle_names, real_name(Some(m)));
                }
                push_unique(&mut self.last_names, real_name(full.last));
                for other in full.others {
                    push_unique(&mut self.last_names, real_name(Some(other)));
                }
            }
            FieldKind::Dob => push_unique(&mut self.dobs, date::parse(raw)),
            FieldKind::Gender => push_unique(&mut self.genders, gender::canonical(raw)),
            FieldKind::HouseNumber => {
                push_unique(&mut self.house_numbers, address::house_number(raw));
                push_unique(&mut self.flats, address::flat(raw));
            }
            FieldKind::Street | FieldKind::Address => {
                let parts =
                    ADDRESS_MEMO.with_borrow_mut(|m| m.get_or_insert_with(raw, address::parse));
                push_unique(&mut self.streets, non_empty(parts.line));
                push_unique(&mut self.house_numbers, parts.house_number);
                push_unique(&mut self.postcodes, parts.postcode);
                push_unique(&mut self.flats, parts.flat);
            }
            FieldKind::Town => push_unique(&mut self.towns, non_empty(address::fold_line(raw))),
            FieldKind::Postcode => push_unique(&mut self.postcodes, postcode::canonical(raw)),
            FieldKind::RecordDate if self.record_year.is_none() => {
                self.record_year = date::record_year(raw);
            }
            FieldKind::Ignore => {}
            // Identifiers are all handled above.
            _ => {}
        }
    }

    fn push_id(&mut self, kind: FieldKind, value: Option<String>) {
        if let Some(v) = value
            && !self.identifiers.iter().any(|(k, x)| *k == kind && *x == v)
        {
            self.identifiers.push((kind, v));
        }
    }

    /// The canonical values of one identifier kind, in the order they were added.
    pub fn identifiers_of(&self, kind: FieldKind) -> impl Iterator<Item = &str> {
        self.identifiers
            .iter()
            .filter(move |(k, _)| *k == kind)
            .map(|(_, v)| v.as_str())
    }

    /// Empties the person, keeping the allocated capacity: the index builder reuses
    /// one `Person` per thread instead of allocating a new one per record.
    pub fn clear(&mut self) {
        self.first_names.clear();
        self.middle_names.clear();
        self.last_names.clear();
        self.dobs.clear();
        self.genders.clear();
        self.house_numbers.clear();
        self.streets.clear();
        self.flats.clear();
        self.towns.clear();
        self.postcodes.clear();
        self.identifiers.clear();
        self.record_year = None;
    }

    /// Makes `self` a copy of `other`, reusing `self`'s buffers (the derived
    /// `clone_from` would allocate every value anew).
    pub fn copy_from(&mut self, other: &Person) {
        self.first_names.clone_from(&other.first_names);
        self.middle_names.clone_from(&other.middle_names);
        self.last_names.clone_from(&other.last_names);
        self.dobs.clone_from(&other.dobs);
        self.genders.clone_from(&other.genders);
        self.house_numbers.clone_from(&other.house_numbers);
        self.streets.clone_from(&other.streets);
        self.flats.clone_from(&other.flats);
        self.towns.clone_from(&other.towns);
        self.postcodes.clone_from(&other.postcodes);
        self.identifiers.clone_from(&other.identifiers);
        self.record_year = other.record_year;
    }

    /// How many normalised values the person holds (`record_year` not counted): a
    /// value that adds none was unusable or already there.
    pub fn value_count(&self) -> usize {
        self.first_names.len()
            + self.middle_names.len()
            + self.last_names.len()
            + self.dobs.len()
            + self.genders.len()
            + self.house_numbers.len()
            + self.streets.len()
            + self.flats.len()
            + self.towns.len()
            + self.postcodes.len()
            + self.identifiers.len()
    }

    /// Whether nothing that could identify a person was added (`record_year` alone
    /// does not count).
    pub fn is_empty(&self) -> bool {
        self.first_names.is_empty()
            && self.middle_names.is_empty()
            && self.last_names.is_empty()
            && self.dobs.is_empty()
            && self.genders.is_empty()
            && self.house_numbers.is_empty()
            && self.streets.is_empty()
            && self.flats.is_empty()
            && self.towns.is_empty()
            && self.postcodes.is_empty()
            && self.identifiers.is_empty()
    }
}

/// A folded line, unless folding left nothing or a placeholder (`Ñ/A` → `n a`).
fn non_empty(s: String) -> Option<String> {
    (!is_placeholder(&s, FieldKind::Street)).then_some(s)
}

/// A folded name, unless it folded to a placeholder (`Ñone` → `none`).
fn real_name(s: Option<String>) -> Option<String> {
    s.filter(|s| !is_placeholder(s, FieldKind::LastName))
}

/// Whether an email or phone cell may hold a list: it has a separator
/// [`listed_identifiers`] splits at.
fn is_list(raw: &str) -> bool {
    raw.bytes()
        .any(|b| matches!(b, b'/' | b',' | b';' | b'|' | b'\n' | b'\r'))
        || word_separator(raw).is_some()
}

/// The first ` or ` or ` & ` in `s` (any case, between whitespace): its start and end.
fn word_separator(s: &str) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    let space = |i: usize| b.get(i).is_some_and(u8::is_ascii_whitespace);
    (0..b.len()).find_map(|i| {
        if !space(i) {
            return None;
        }
        let word = if b.get(i + 1) == Some(&b'&') {
            1
        } else if b
            .get(i + 1..i + 3)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"or"))
        {
            2
        } else {
            return None;
        };
        space(i + 1 + word).then_some((i, i + 2 + word))
    })
}

/// The canonical values of an email or phone cell that may hold several
/// (`07911 100003 / 07911 200003`, `"d1@x.com, d2@x.com"`, `c1@x.com; c2@x.com`,
/// `07911 100003 or 07911 200003`): the cell is cut at `/ , ; |`, line breaks and
/// the words ` or ` and ` & `, and when every non-blank piece is a value of the kind,
/// those values are the cell's, unless the whole cell is one value and the pieces
/// give no more than one. Otherwise the cell is one value, as before (`07911/123456`,
/// `"Elton, Edgar" <e1@x.com>`, `o/brien@x.com`), or none.
pub fn listed_identifiers(kind: FieldKind, raw: &str) -> Vec<String> {
    let whole = canonical_identifier(kind, raw);
    if is_list(raw)
        && let Some(values) = list_values(kind, raw)
        && (values.len() >= 2 || whole.is_none())
    {
        return values;
    }
    whole.into_iter().collect()
}

/// The distinct values of the pieces of a list cell ([`listed_identifiers`]), when
/// every non-blank piece is one and there is at least one.
fn list_values(kind: FieldKind, raw: &str) -> Option<Vec<String>> {
    let mut values = Vec::new();
    for piece in raw.split(['/', ',', ';', '|', '\n', '\r']) {
        let mut rest = Some(piece);
        while let Some(text) = rest {
            let part = match word_separator(text) {
                Some((start, end)) => {
                    rest = text.get(end..);
                    text.get(..start).unwrap_or_default()
                }
                None => {
                    rest = None;
                    text
                }
            };
            if part.trim().is_empty() {
                continue;
            }
            let value = canonical_identifier(kind, part)?;
            if !values.contains(&value) {
                values.push(value);
            }
        }
    }
    (!values.is_empty()).then_some(values)
}

fn canonical_identifier(kind: FieldKind, raw: &str) -> Option<String> {
    match kind {
        FieldKind::Email => email::canonical(raw),
        FieldKind::Phone => phone::canonical(raw),
        FieldKind::NiNumber => ids::ni_number(raw),
        FieldKind::AccountRef => ids::account_ref(raw),
        FieldKind::Uprn => ids::uprn(raw),
        FieldKind::BankAccount => ids::bank_account(raw),
        FieldKind::SortCode => ids::sort_code(raw),
        FieldKind::CardNumber => ids::card_number(raw),
        FieldKind::Passport => ids::passport(raw),
        FieldKind::DrivingLicence => ids::driving_licence(raw),
        FieldKind::Username => ids::username(raw),
        FieldKind::Ip => ids::ip(raw),
        _ => None,
    }
}

/// The canonical text of one value, for display and comparison: what
/// [`Person::add`] would store, written out (`+447911123456`, `SW1A1AA`,
/// `1980-02-03`, `john a smith` for a full name, `m` for a gender, a record date's
/// ISO date or year; the values of an email or phone cell holding several, joined by
/// `, `). `None` when the value does not normalise or the kind is `ignore`.
pub fn canonical(kind: FieldKind, raw: &str) -> Option<String> {
    if is_placeholder(raw, kind) {
        return None;
    }
    let join = |parts: Vec<String>| {
        let kept: Vec<String> = parts
            .into_iter()
            .filter_map(|p| real_name(Some(p)))
            .collect();
        (!kept.is_empty()).then(|| kept.join(" "))
    };
    match kind {
        FieldKind::Email | FieldKind::Phone => {
            let values = listed_identifiers(kind, raw);
            (!values.is_empty()).then(|| values.join(", "))
        }
        k if k.is_identifier() => canonical_identifier(k, raw),
        FieldKind::FirstName | FieldKind::MiddleName => {
            let (first, middles) = name::split_given(raw);
            join(first.into_iter().chain(middles).collect())
        }
        FieldKind::LastName => real_name(name::family(raw)),
        FieldKind::FullName => {
            let full = name::split_full(raw);
            join(
                full.first
                    .into_iter()
                    .chain(full.middles)
                    .chain(full.last)
                    .collect(),
            )
        }
        FieldKind::Dob => date::parse(raw).map(|d| d.iso()),
        FieldKind::Gender => gender::canonical(raw).map(|g| char::from(g).to_string()),
        FieldKind::HouseNumber => address::house_number(raw),
        FieldKind::Street | FieldKind::Address | FieldKind::Town => {
            non_empty(address::fold_line(raw))
        }
        FieldKind::Postcode => postcode::canonical(raw),
        FieldKind::RecordDate => date::parse_record(raw)
            .map(|d| d.iso())
            .or_else(|| date::record_year(raw).map(|y| y.to_string())),
        _ => None,
    }
}

#[cfg(test)]
impl Person {
    /// A person from `(kind, value)` pairs, as a record's columns give them (tests).
    pub(crate) fn of(values: &[(FieldKind, &str)]) -> Person {
        let mut p = Person::default();
        for (k, v) in values {
            p.add(*k, v);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn copy_from_equals_the_original_whatever_was_there() {
        let full = Person::of(&[
            (FieldKind::FullName, "Mary Ann Smith-Jones"),
            (FieldKind::Dob, "03/02/1980"),
            (FieldKind::Email, "m@x.org"),
            (FieldKind::Phone, "07911 123456"),
            (FieldKind::Address, "12a High Street"),
            (FieldKind::Postcode, "sw1a1aa"),
            (FieldKind::Town, "London"),
            (FieldKind::Gender, "F"),
            (FieldKind::RecordDate, "2012-05-01"),
        ]);
        let small = Person::of(&[(FieldKind::FirstName, "Bob")]);
        for (mut into, from) in [
            (small.clone(), &full),
            (full.clone(), &small),
            (Person::default(), &full),
        ] {
            into.copy_from(from);
            assert_eq!(&into, from);
        }
    }

    #[test]
    fn add_dispatches_every_kind() {
        let p = Person::of(&[
            (FieldKind::FullName, "Mrs Jane A. O'Brien"),
            (FieldKind::Dob, "03/02/1980"),
            (FieldKind::Gender, "F"),
            (FieldKind::Email, "Jane.OBrien@Example.com"),
            (FieldKind::Phone, "07911 123456"),
            (FieldKind::NiNumber, "ab 12 34 56 c"),
            (FieldKind::Address, "Flat 3, 12a High St, London SW1A 1AA"),
            (FieldKind::Town, "London"),
            (FieldKind::RecordDate, "14/07/2006"),
            (FieldKind::Ignore, "whatever"),
        ]);
        assert_eq!(p.first_names, vec!["jane"]);
        assert_eq!(p.middle_names, vec!["a"]);
        assert_eq!(p.last_names, vec!["obrien"]);
        assert_eq!(
            p.dobs,
            vec![Date {
                year: 1980,
                month: 2,
                day: 3
            }]
        );
        assert_eq!(p.genders, vec![b'f']);
        assert_eq!(p.house_numbers, vec!["12a"]);
        assert_eq!(p.postcodes, vec!["SW1A1AA"]);
        assert_eq!(p.streets, vec!["flat 3 12a high street london"]);
        assert_eq!(p.towns, vec!["london"]);
        assert_eq!(p.record_year, Some(2006));
        assert_eq!(
            p.identifiers,
            vec![
                (FieldKind::Email, "jane.obrien@example.com".to_string()),
                (FieldKind::Phone, "+447911123456".to_string()),
                (FieldKind::NiNumber, "AB123456".to_string()),
            ]
        );
        assert!(!p.is_empty());
    }

    #[test]
    fn duplicates_and_placeholders_are_not_added() {
        let p = Person::of(&[
            (FieldKind::Phone, "07911 123456"),
            (FieldKind::Phone, "+44 7911 123456"),
            (FieldKind::LastName, "O'BRIEN"),
            (FieldKind::FullName, "Jane O'Brien"),
            (FieldKind::Postcode, "sw1a1aa"),
            (FieldKind::Postcode, "SW1A 1AA"),
            (FieldKind::AccountRef, "N/A"),
            (FieldKind::Email, "null"),
            (FieldKind::Dob, "31/02/1980"),
            (FieldKind::Town, "--"),
        ]);
        assert_eq!(p.identifiers.len(), 1);
        assert_eq!(p.last_names, vec!["obrien"]);
        assert_eq!(p.postcodes, vec!["SW1A1AA"]);
        assert!(p.dobs.is_empty() && p.towns.is_empty());
        assert_eq!(
            Person::of(&[(FieldKind::LastName, "Na")]).last_names,
            vec!["na"]
        );
        for raw in [
            "N/A",
            "#N/A",
            "n.a.",
            "(null)",
            "NULL",
            "-",
            " ",
            "?",
            "Not Known",
        ] {
            assert!(
                Person::of(&[(FieldKind::LastName, raw)]).is_empty(),
                "{raw}"
            );
            assert!(
                Person::of(&[(FieldKind::AccountRef, raw)]).is_empty(),
                "{raw}"
            );
        }
        assert!(Person::of(&[(FieldKind::Street, "N/A")]).is_empty());
        assert!(!Person::of(&[(FieldKind::LastName, "王")]).is_empty());
    }

    #[test]
    fn unknown_dates_of_birth_are_missing() {
        for (raw, year) in [
            ("01/01/1900", 1900),
            ("1900-01-01 00:00:00", 1900),
            ("19000101", 1900),
            ("31/12/1899", 1899),
            ("1 Jan 1901", 1901),
        ] {
            assert!(is_placeholder(raw, FieldKind::Dob), "{raw}");
            assert!(Person::of(&[(FieldKind::Dob, raw)]).is_empty(), "{raw}");
            assert_eq!(canonical(FieldKind::Dob, raw), None, "{raw}");
            // A record date holding it still places its record.
            assert!(!is_placeholder(raw, FieldKind::RecordDate), "{raw}");
            let p = Person::of(&[(FieldKind::RecordDate, raw)]);
            assert_eq!(p.record_year, Some(year), "{raw}");
        }
        // The Unix epoch is a real birthday.
        assert!(!is_placeholder("01/01/1970", FieldKind::Dob));
        assert_eq!(
            Person::of(&[(FieldKind::Dob, "01/01/1970")]).dobs,
            vec![Date {
                year: 1970,
                month: 1,
                day: 1
            }]
        );
        assert!(!is_placeholder("01/01/1900", FieldKind::LastName));
    }

    #[test]
    fn two_digit_years_of_birth_and_of_records() {
        // On whatever day this runs, a two-digit year of birth is never after it;
        // a record date's pivots at 30.
        let today = date::today();
        let next = format!("01/01/{:02}", (today.year + 1) % 100);
        let born = Person::of(&[(FieldKind::Dob, next.as_str())]);
        assert!(born.dobs.iter().all(|d| *d <= today), "{:?}", born.dobs);
        assert_eq!(born.dobs.len(), 1);
        assert_eq!(
            Person::of(&[(FieldKind::RecordDate, "14/07/29")]).record_year,
            Some(2029)
        );
        assert_eq!(
            canonical(FieldKind::RecordDate, "14/07/29").as_deref(),
            Some("2029-07-14")
        );
    }

    #[test]
    fn cells_with_several_emails_or_phones_give_each() {
        let ids = |kind, raw: &str| {
            Person::of(&[(kind, raw)])
                .identifiers_of(kind)
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        for raw in [
            "07911 100003 / 07911 200003",
            "07911 100003, 07911 200003",
            "07911 100003;07911 200003",
            "07911 100003 or 07911 200003",
            "07911 100003 OR +44 7911 200003",
            "07911 100003 & 07911 200003",
            "07911 100003 | 07911 200003",
            "07911 100003\n07911 200003",
            "07911 100003 (home) / 07911 200003 (work)",
        ] {
            assert_eq!(
                ids(FieldKind::Phone, raw),
                ["+447911100003", "+447911200003"],
                "{raw:?}"
            );
        }
        for raw in [
            "d1@x.com, d2@x.com",
            "d1@x.com; d2@x.com",
            "d1@x.com / D2@x.com",
            "d1@x.com or d2@x.com",
            "Dee One <d1@x.com>, Dee Two <d2@x.com>",
        ] {
            assert_eq!(
                ids(FieldKind::Email, raw),
                ["d1@x.com", "d2@x.com"],
                "{raw:?}"
            );
        }
        // One value, however written: as before.
        for (kind, raw, want) in [
            (FieldKind::Phone, "07911/123456", "+447911123456"),
            (FieldKind::Phone, "07911 123456 / ext 23", "+447911123456"),
            (FieldKind::Phone, "07911 123456,", "+447911123456"),
            (FieldKind::Phone, "447911100101.0", "+447911100101"),
            (FieldKind::Phone, "4.47911100101E+11", "+447911100101"),
            (
                FieldKind::Email,
                "Edgar Elton <e1@example.com>",
                "e1@example.com",
            ),
            (
                FieldKind::Email,
                "\"Elton, Edgar\" <e1@example.com>",
                "e1@example.com",
            ),
            (
                FieldKind::Email,
                "o/brien@example.com",
                "o/brien@example.com",
            ),
            (FieldKind::Email, "d1@x.com, d1@x.com", "d1@x.com"),
        ] {
            assert_eq!(ids(kind, raw), [want], "{raw:?}");
        }
        // A piece that is not a value: the cell is one value, here none.
        assert!(ids(FieldKind::Email, "d1@x.com, see notes").is_empty());
        assert!(ids(FieldKind::Phone, "07911 100003 / 07911 2000").is_empty());
        // The canonical text lists them; it reads back the same.
        let c = canonical(FieldKind::Email, "d1@x.com; d2@x.com");
        assert_eq!(c.as_deref(), Some("d1@x.com, d2@x.com"));
        assert_eq!(canonical(FieldKind::Email, "d1@x.com, d2@x.com"), c);
        assert_eq!(
            canonical(FieldKind::Phone, "07911 100003 / 07911 200003").as_deref(),
            Some("+447911100003, +447911200003")
        );
    }

    #[test]
    fn columns_and_full_names_agree() {
        let a = Person::of(&[
            (FieldKind::FirstName, "Mary Jane"),
            (FieldKind::LastName, "de la Cruz"),
        ]);
        let b = Person::of(&[(FieldKind::FullName, "Ms Mary Jane de la Cruz")]);
        assert_eq!(a, b);
    }

    #[test]
    fn iban_gives_sort_code_and_account() {
        let p = Person::of(&[(FieldKind::BankAccount, "GB29 NWBK 6016 1331 9268 19")]);
        assert_eq!(
            p.identifiers_of(FieldKind::SortCode).collect::<Vec<_>>(),
            ["601613"]
        );
        assert_eq!(
            p.identifiers_of(FieldKind::BankAccount).collect::<Vec<_>>(),
            ["31926819"]
        );
    }

    #[test]
    fn empty_person() {
        assert!(Person::default().is_empty());
        let mut p = Person::of(&[
            (FieldKind::FullName, "Jane Doe"),
            (FieldKind::RecordDate, "2006"),
        ]);
        p.clear();
        assert_eq!(p, Person::default());
        let p = Person::of(&[(FieldKind::RecordDate, "2006"), (FieldKind::Email, "n/a")]);
        assert!(p.is_empty());
        assert_eq!(p.record_year, Some(2006));
    }

    #[test]
    fn canonical_text_per_kind() {
        let c = |k, v| canonical(k, v);
        assert_eq!(
            c(FieldKind::Phone, "+44 (0)20 7946 0018").as_deref(),
            Some("+442079460018")
        );
        assert_eq!(
            c(FieldKind::FullName, "SMITH, Mr John A").as_deref(),
            Some("john a smith")
        );
        assert_eq!(
            c(FieldKind::Dob, "3 Feb 1980").as_deref(),
            Some("1980-02-03")
        );
        assert_eq!(c(FieldKind::Gender, "female").as_deref(), Some("f"));
        assert_eq!(c(FieldKind::RecordDate, "2006").as_deref(), Some("2006"));
        assert_eq!(
            c(FieldKind::RecordDate, "14/7/2006").as_deref(),
            Some("2006-07-14")
        );
        assert_eq!(
            c(FieldKind::Postcode, "sw1a 1aa").as_deref(),
            Some("SW1A1AA")
        );
        assert_eq!(
            c(FieldKind::Street, "12 High St.").as_deref(),
            Some("12 high street")
        );
        assert_eq!(c(FieldKind::Ignore, "x"), None);
        assert_eq!(c(FieldKind::Email, "N/A"), None);
    }

    /// What [`is_placeholder`] decides, written the slow, obvious way.
    fn placeholder_reference(raw: &str, kind: FieldKind) -> bool {
        let alnum: String = raw.chars().filter(|c| c.is_alphanumeric()).collect();
        if raw.len() > 40 || !alnum.is_ascii() || alnum.len() > 12 {
            return false;
        }
        let name = matches!(
            kind,
            FieldKind::FirstName
                | FieldKind::MiddleName
                | FieldKind::LastName
                | FieldKind::FullName
        );
        match alnum.to_ascii_lowercase().as_str() {
            "" | "null" | "none" | "nil" | "nan" | "unknown" | "notknown" | "tbc" | "undefined"
            | "notprovided" | "notrecorded" => true,
            "na" => !(name && raw.chars().all(char::is_alphanumeric)),
            _ => false,
        }
    }

    proptest! {
        #[test]
        fn placeholder_check_agrees_with_its_reference(
            s in prop_oneof!["[nNuUtTaAlLoOeEkKwb/ .#()\u{f1}\u{738b}\u{a0}-]{0,16}", "\\PC{0,44}"],
            name in any::<bool>(),
        ) {
            let kind = if name { FieldKind::LastName } else { FieldKind::AccountRef };
            prop_assert_eq!(is_placeholder(&s, kind), placeholder_reference(&s, kind));
        }

        #[test]
        fn add_never_panics(s in "\\PC{0,40}") {
            let mut p = Person::default();
            for kind in FieldKind::ALL {
                p.add(kind, &s);
                if let Some(c) = canonical(kind, &s) {
                    prop_assert!(!c.is_empty());
                }
            }
        }

        #[test]
        fn listed_cells_never_panic_and_read_back(
            s in prop_oneof![
                "\\PC{0,40}",
                "([0-9 +()]{6,14}|[a-z]{1,5}@[a-z]{1,5}\\.com|n/a)([/,;|&\n]| or | & |, )([0-9 +()]{6,14}|[a-z]{1,5}@[a-z]{1,5}\\.com|[a-z ]{0,6})",
            ],
        ) {
            for kind in [FieldKind::Email, FieldKind::Phone] {
                let values = listed_identifiers(kind, &s);
                let p = Person::of(&[(kind, s.as_str())]);
                if !is_placeholder(&s, kind) {
                    prop_assert_eq!(p.identifiers_of(kind).collect::<Vec<_>>(), values.iter().map(String::as_str).collect::<Vec<_>>());
                }
                for v in &values {
                    prop_assert_eq!(listed_identifiers(kind, v), vec![v.clone()]);
                }
                if let Some(c) = canonical(kind, &s) {
                    prop_assert_eq!(listed_identifiers(kind, &c), values.clone());
                }
            }
        }

        #[test]
        fn one_well_formed_phone_is_read_as_before(
            area in prop_oneof!["7[0-9]{3}", "20", "1[0-9]{3}", "1[0-9]{2}"],
            rest in "[1-9][0-9]{5}",
            style in 0usize..8,
        ) {
            let digits = format!("{area}{rest}");
            let raw = match style {
                0 => format!("0{area} {rest}"),
                1 => format!("+44 (0){area} {rest}"),
                2 => format!("0{area}/{rest}"),
                3 => format!("0{area}-{rest}"),
                4 => format!("(0{area}) {rest}"),
                5 => format!("0044 {digits}"),
                6 => format!("0{area} {rest} ext 12"),
                _ => format!("0{digits}"),
            };
            let before = phone::canonical(&raw);
            prop_assert_eq!(listed_identifiers(FieldKind::Phone, &raw), before.into_iter().collect::<Vec<_>>());
        }

        #[test]
        fn a_float_phone_is_its_digits(rest in "[1-9][0-9]{8}", e in any::<bool>()) {
            let digits = format!("447{rest}");
            let float = if e {
                format!("{}.{}E+{}", &digits[..1], &digits[1..], digits.len() - 1)
            } else {
                format!("{digits}.0")
            };
            prop_assert_eq!(phone::canonical(&float), Some(format!("+447{rest}")));
            prop_assert_eq!(listed_identifiers(FieldKind::Phone, &float), vec![format!("+447{rest}")]);
        }

        #[test]
        fn one_well_formed_email_is_read_as_before(
            local in "[a-z0-9._+/&,-]{1,12}", dom in "[a-z0-9]{1,8}\\.(com|co\\.uk|org)",
        ) {
            let raw = format!("{local}@{dom}");
            let before = email::canonical(&raw);
            prop_assert_eq!(listed_identifiers(FieldKind::Email, &raw), before.into_iter().collect::<Vec<_>>());
        }

        #[test]
        fn canonical_is_idempotent_where_it_applies(s in "\\PC{0,40}") {
            // Kinds whose canonical text is itself a valid raw value of the kind.
            for kind in [
                FieldKind::Email, FieldKind::Phone, FieldKind::NiNumber, FieldKind::AccountRef,
                FieldKind::Uprn, FieldKind::BankAccount, FieldKind::SortCode,
                FieldKind::CardNumber, FieldKind::Passport, FieldKind::DrivingLicence,
                FieldKind::Username, FieldKind::Ip, FieldKind::LastName, FieldKind::Dob,
                FieldKind::Gender, FieldKind::Street, FieldKind::Town, FieldKind::Postcode,
            ] {
                if let Some(c) = canonical(kind, &s) {
                    prop_assert_eq!(canonical(kind, &c), Some(c.clone()), "{}", kind);
                }
            }
        }
    }
}
