//! Key recipes and keyed hashing: how a [`Person`] becomes the 64-bit keys the
//! index stores and every query looks up.
//!
//! A key is `xxh3-64` of a recipe's normalised bytes, keyed with the index's
//! [`Secret`], so the index holds no plain identifier (it is pseudonymised, not
//! anonymous: whoever has the secret can test guesses). Single-field recipes cover
//! strong identifiers (email, phone, NI number…); composite recipes cover people
//! (family name + date of birth, house number + postcode…). Keys only find
//! candidates; matching verifies them.
//!
//! Recipes are data: a composite recipe is its list of [`Part`]s, so adding one is
//! a new variant, a new id, and a line in [`KeyRecipe::parts`]. Ids are stored in
//! indexes and must never be reused for a different recipe.
//!
//! ```
//! use leakscope::field::FieldKind;
//! use leakscope::keys::{self, Secret};
//! use leakscope::normalize::Person;
//!
//! # fn main() -> Result<(), keys::KeyError> {
//! let secret = Secret::from_bytes(&[7u8; 192])?;
//! let (mut a, mut b) = (Person::default(), Person::default());
//! a.add(FieldKind::Phone, "07911 123456");
//! b.add(FieldKind::Phone, "+44 7911 123456");
//! let (mut ka, mut kb) = (Vec::new(), Vec::new());
//! keys::derive(&a, &secret, &mut ka);
//! keys::derive(&b, &secret, &mut kb);
//! assert_eq!(ka, kb);
//! # Ok(())
//! # }
//! ```

use std::cell::RefCell;
use std::fmt;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64_with_secret;

use crate::field::FieldKind;
use crate::normalize::name::PhoneticCode;
use crate::normalize::{Person, email, name};

/// Length of an index secret in bytes (more than xxh3's 136-byte minimum).
pub const SECRET_LEN: usize = 192;

/// Separates the parts of a composite key, so (`ab`, `c`) and (`a`, `bc`) differ.
/// Normalised parts never contain it: they are letters, digits and a few symbols.
const SEPARATOR: u8 = 0x1F;

/// The version of the rules that turn values into keys (normalisation and recipes).
/// Raise it with any change that gives some value another key, so that an index
/// built under the old rules is flagged ([`rules_fingerprint`]). 2: emails are
/// compared by mailbox (the record features hash it). 3: `given_postcode` keys, and
/// an initial forms no given-name key. 4: notes and former names in a name cell, the
/// parts of a double-barrelled family name, South Slavic đ. 5: "unknown" dates of
/// birth (01/01/1900…) are missing, two-digit years of birth, postcodes with a
/// country or O for 0, several emails or phones in one cell. 6: record features
/// carry flat numbers (an older index compares addresses without them). 7: a row
/// holding several people is keyed person by person. 8: a note word after a single
/// given name is the family name (`Jo Tenant`); a family name of one letter forms no
/// key; a country in brackets after a postcode (`CO1 1AA (UK)`) is dropped; a flat
/// is no part of a street's name (the record features hash the street); a bracketed
/// former name before the family name (`Ann (née Black) White`), a trailing bare
/// `née`; a couple in one name cell (`John & Mary Smith`) keys both given names.
pub const KEY_RULES_VERSION: u32 = 8;

/// A fingerprint of the rules this build derives keys by: [`KEY_RULES_VERSION`] and
/// the nickname table (a name's group decides its given-name key), as 16 hex
/// digits. The index records it; a matcher whose fingerprint differs may derive
/// other keys than the build did for the same value (a resident missed), so it warns.
pub fn rules_fingerprint() -> String {
    let mut bytes = KEY_RULES_VERSION.to_le_bytes().to_vec();
    bytes.extend_from_slice(name::nickname_table_text().as_bytes());
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&bytes))
}

/// The per-index hashing key. Whoever holds it can test guesses against the index,
/// so it lives in a mode-0600 file and is never printed (`Debug` hides it).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret([u8; SECRET_LEN]);

/// Why a secret could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The bytes given are not a secret's length.
    #[error(
        "the index secret is {got} bytes long instead of {SECRET_LEN}: the index's secret file is damaged or belongs to something else; rebuild the index"
    )]
    WrongLength {
        /// How many bytes there were.
        got: usize,
    },
    /// The operating system gave no random bytes.
    #[error("could not get random bytes from the operating system for a new index secret: {0}")]
    Random(#[from] getrandom::Error),
}

impl Secret {
    /// A new random secret from the operating system's generator.
    pub fn generate() -> Result<Secret, KeyError> {
        let mut bytes = [0u8; SECRET_LEN];
        getrandom::fill(&mut bytes)?;
        Ok(Secret(bytes))
    }

    /// The secret stored in an index (exactly [`SECRET_LEN`] bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Secret, KeyError> {
        let arr: [u8; SECRET_LEN] = bytes
            .try_into()
            .map_err(|_| KeyError::WrongLength { got: bytes.len() })?;
        Ok(Secret(arr))
    }

    /// The bytes to store in the index's secret file.
    pub fn as_bytes(&self) -> &[u8; SECRET_LEN] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// One normalised value a composite recipe is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// The given name's nickname-group key (`bill` → `william`, see
    /// [`name::given_key`]).
    Given,
    /// The folded family name.
    Last,
    /// The Double Metaphone code of the family name.
    PhoneticLast,
    /// The date of birth as `YYYYMMDD`.
    Dob,
    /// The canonical postcode.
    Postcode,
    /// The canonical house number.
    HouseNumber,
}

/// What a key is made of. The `u8` ids are stored in indexes: stable, never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum KeyRecipe {
    /// Canonical email.
    Email = 1,
    /// Email without `+tag` (and gmail dots), when that differs.
    EmailAlias = 2,
    /// E.164 phone number.
    Phone = 3,
    /// NI number stem.
    NiNumber = 4,
    /// Other reference number.
    AccountRef = 5,
    /// Unique Property Reference Number.
    Uprn = 6,
    /// Bank account number alone (sort codes are often missing).
    BankAccount = 7,
    /// Sort code and account number together.
    SortCodeAccount = 8,
    /// Payment card number.
    CardNumber = 9,
    /// Passport number.
    Passport = 10,
    /// Driving licence number.
    DrivingLicence = 11,
    /// Username.
    Username = 12,
    /// IP address.
    Ip = 13,
    /// Family name + date of birth.
    LastDob = 32,
    /// Given-name key + date of birth.
    GivenDob = 33,
    /// Given-name key + family name.
    GivenLast = 34,
    /// Date of birth + postcode.
    DobPostcode = 35,
    /// House number + postcode.
    HouseNumberPostcode = 36,
    /// Phonetic family name + date of birth (catches spelling variants).
    PhoneticLastDob = 37,
    /// Family name + postcode.
    LastPostcode = 38,
    /// Given-name key + postcode: finds a resident by name and postcode alone when
    /// the family name changed (marriage) or is mistyped, and answers a query of a
    /// given name and a postcode.
    GivenPostcode = 39,
}

impl KeyRecipe {
    /// Every recipe, identifiers first.
    pub const ALL: [KeyRecipe; 21] = [
        KeyRecipe::Email,
        KeyRecipe::EmailAlias,
        KeyRecipe::Phone,
        KeyRecipe::NiNumber,
        KeyRecipe::AccountRef,
        KeyRecipe::Uprn,
        KeyRecipe::BankAccount,
        KeyRecipe::SortCodeAccount,
        KeyRecipe::CardNumber,
        KeyRecipe::Passport,
        KeyRecipe::DrivingLicence,
        KeyRecipe::Username,
        KeyRecipe::Ip,
        KeyRecipe::LastDob,
        KeyRecipe::GivenDob,
        KeyRecipe::GivenLast,
        KeyRecipe::DobPostcode,
        KeyRecipe::HouseNumberPostcode,
        KeyRecipe::PhoneticLastDob,
        KeyRecipe::LastPostcode,
        KeyRecipe::GivenPostcode,
    ];

    /// The composite recipes, in the order [`derive`] emits them.
    const COMPOSITES: [KeyRecipe; 8] = [
        KeyRecipe::LastDob,
        KeyRecipe::GivenDob,
        KeyRecipe::GivenLast,
        KeyRecipe::DobPostcode,
        KeyRecipe::HouseNumberPostcode,
        KeyRecipe::PhoneticLastDob,
        KeyRecipe::LastPostcode,
        KeyRecipe::GivenPostcode,
    ];

    /// The stored id.
    pub fn id(self) -> u8 {
        self as u8
    }

    /// The recipe with this stored id.
    pub fn from_id(id: u8) -> Option<KeyRecipe> {
        KeyRecipe::ALL.into_iter().find(|r| r.id() == id)
    }

    /// The recipe's name in manifests and explanations (`last_dob`).
    pub fn name(self) -> &'static str {
        match self {
            KeyRecipe::Email => "email",
            KeyRecipe::EmailAlias => "email_alias",
            KeyRecipe::Phone => "phone",
            KeyRecipe::NiNumber => "ni_number",
            KeyRecipe::AccountRef => "account_ref",
            KeyRecipe::Uprn => "uprn",
            KeyRecipe::BankAccount => "bank_account",
            KeyRecipe::SortCodeAccount => "sort_code_account",
            KeyRecipe::CardNumber => "card_number",
            KeyRecipe::Passport => "passport",
            KeyRecipe::DrivingLicence => "driving_licence",
            KeyRecipe::Username => "username",
            KeyRecipe::Ip => "ip",
            KeyRecipe::LastDob => "last_dob",
            KeyRecipe::GivenDob => "given_dob",
            KeyRecipe::GivenLast => "given_last",
            KeyRecipe::DobPostcode => "dob_postcode",
            KeyRecipe::HouseNumberPostcode => "house_number_postcode",
            KeyRecipe::PhoneticLastDob => "phonetic_last_dob",
            KeyRecipe::LastPostcode => "last_postcode",
            KeyRecipe::GivenPostcode => "given_postcode",
        }
    }

    /// The recipe with this [`name`](KeyRecipe::name).
    pub fn from_name(name: &str) -> Option<KeyRecipe> {
        KeyRecipe::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Whether the recipe is one strong identifier on its own.
    pub fn is_identifier(self) -> bool {
        self.parts().is_empty()
    }

    /// The parts of a composite recipe, in hashing order; empty for identifiers.
    pub fn parts(self) -> &'static [Part] {
        match self {
            KeyRecipe::LastDob => &[Part::Last, Part::Dob],
            KeyRecipe::GivenDob => &[Part::Given, Part::Dob],
            KeyRecipe::GivenLast => &[Part::Given, Part::Last],
            KeyRecipe::DobPostcode => &[Part::Dob, Part::Postcode],
            KeyRecipe::HouseNumberPostcode => &[Part::HouseNumber, Part::Postcode],
            KeyRecipe::PhoneticLastDob => &[Part::PhoneticLast, Part::Dob],
            KeyRecipe::LastPostcode => &[Part::Last, Part::Postcode],
            KeyRecipe::GivenPostcode => &[Part::Given, Part::Postcode],
            _ => &[],
        }
    }

    /// The identifier kind a single-field recipe keys (`Email` and `EmailAlias` both
    /// key `email`; `SortCodeAccount` keys `bank_account`).
    pub fn field_kind(self) -> Option<FieldKind> {
        Some(match self {
            KeyRecipe::Email | KeyRecipe::EmailAlias => FieldKind::Email,
            KeyRecipe::Phone => FieldKind::Phone,
            KeyRecipe::NiNumber => FieldKind::NiNumber,
            KeyRecipe::AccountRef => FieldKind::AccountRef,
            KeyRecipe::Uprn => FieldKind::Uprn,
            KeyRecipe::BankAccount | KeyRecipe::SortCodeAccount => FieldKind::BankAccount,
            KeyRecipe::CardNumber => FieldKind::CardNumber,
            KeyRecipe::Passport => FieldKind::Passport,
            KeyRecipe::DrivingLicence => FieldKind::DrivingLicence,
            KeyRecipe::Username => FieldKind::Username,
            KeyRecipe::Ip => FieldKind::Ip,
            _ => return None,
        })
    }

    /// The single-field recipe for an identifier's canonical value (`None` for
    /// `sort_code`, which names a bank branch, not a person, and for non-identifiers).
    fn for_identifier(kind: FieldKind) -> Option<KeyRecipe> {
        Some(match kind {
            FieldKind::Email => KeyRecipe::Email,
            FieldKind::Phone => KeyRecipe::Phone,
            FieldKind::NiNumber => KeyRecipe::NiNumber,
            FieldKind::AccountRef => KeyRecipe::AccountRef,
            FieldKind::Uprn => KeyRecipe::Uprn,
            FieldKind::BankAccount => KeyRecipe::BankAccount,
            FieldKind::CardNumber => KeyRecipe::CardNumber,
            FieldKind::Passport => KeyRecipe::Passport,
            FieldKind::DrivingLicence => KeyRecipe::DrivingLicence,
            FieldKind::Username => KeyRecipe::Username,
            FieldKind::Ip => KeyRecipe::Ip,
            _ => return None,
        })
    }
}

impl fmt::Display for KeyRecipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One key of a record or query: which recipe, and the keyed hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// The recipe the hash was made with.
    pub recipe: KeyRecipe,
    /// Keyed xxh3-64 of the recipe id and the parts.
    pub hash: u64,
}

thread_local! {
    /// Reused for every key built on this thread: deriving runs once per record.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(128));
}

/// The keyed hash of a recipe's parts: `xxh3_64_with_secret` over the recipe id
/// byte, then the parts separated by `0x1F`. [`derive`] produces exactly these.
pub fn hash(secret: &Secret, recipe: KeyRecipe, parts: &[&[u8]]) -> u64 {
    SCRATCH.with_borrow_mut(|buf| {
        buf.clear();
        buf.push(recipe.id());
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                buf.push(SEPARATOR);
            }
            buf.extend_from_slice(p);
        }
        xxh3_64_with_secret(buf, &secret.0)
    })
}

/// Appends every key of `person` to `out`: one per identifier value (plus the email
/// alias, and sort code + account when both are known), and every combination of
/// values for each composite recipe whose parts are all present. Keys already
/// appended by this call are not repeated; keys already in `out` before it are left
/// alone.
pub fn derive(person: &Person, secret: &Secret, out: &mut Vec<Key>) {
    SCRATCH.with_borrow_mut(|buf| {
        let mut d = Deriver {
            person,
            secret,
            out,
            start: 0,
            buf,
        };
        d.start = d.out.len();
        d.identifiers();
        d.composites();
    });
}

struct Deriver<'a> {
    person: &'a Person,
    secret: &'a Secret,
    out: &'a mut Vec<Key>,
    start: usize,
    buf: &'a mut Vec<u8>,
}

/// Most parts a composite recipe may have.
const MAX_PARTS: usize = 4;

/// Most distinct phonetic family-name codes keyed per person; more family names
/// than this is a malformed record.
const MAX_PHONETIC: usize = 8;
/// Most distinct given-name keys one person's keys are made of.
const MAX_GIVEN: usize = 8;
/// Most family names one person's keys are made of.
const MAX_LAST: usize = 8;

/// The names a person's composite keys are made of: initials left out.
struct Names<'a> {
    givens: &'a [&'a str],
    lasts: &'a [&'a str],
    phonetics: &'a [PhoneticCode],
}

impl Deriver<'_> {
    /// Hashes the buffer (which starts with `recipe`'s id) into a key, unless it is
    /// among the keys appended from `from` on.
    fn emit_from(&mut self, recipe: KeyRecipe, from: usize) {
        let key = Key {
            recipe,
            hash: xxh3_64_with_secret(self.buf, &self.secret.0),
        };
        // A record has a few dozen keys at most: a scan beats a set.
        if let Some(added) = self.out.get(from..)
            && !added.contains(&key)
        {
            self.out.push(key);
        }
    }

    /// [`Deriver::emit_from`] checking every key this call appended.
    fn emit(&mut self, recipe: KeyRecipe) {
        self.emit_from(recipe, self.start);
    }

    fn single(&mut self, recipe: KeyRecipe, value: &str) {
        self.buf.clear();
        self.buf.push(recipe.id());
        self.buf.extend_from_slice(value.as_bytes());
        self.emit(recipe);
    }

    fn identifiers(&mut self) {
        let person = self.person;
        for (kind, value) in &person.identifiers {
            let Some(recipe) = KeyRecipe::for_identifier(*kind) else {
                continue;
            };
            self.single(recipe, value);
            match kind {
                FieldKind::Email => {
                    self.buf.clear();
                    self.buf.push(KeyRecipe::EmailAlias.id());
                    if email::alias_into(value, self.buf) {
                        self.emit(KeyRecipe::EmailAlias);
                    }
                }
                FieldKind::BankAccount => {
                    for sort in person.identifiers_of(FieldKind::SortCode) {
                        self.buf.clear();
                        self.buf.push(KeyRecipe::SortCodeAccount.id());
                        self.buf.extend_from_slice(sort.as_bytes());
                        self.buf.push(SEPARATOR);
                        self.buf.extend_from_slice(value.as_bytes());
                        self.emit(KeyRecipe::SortCodeAccount);
                    }
                }
                _ => {}
            }
        }
    }

    fn composites(&mut self) {
        let person = self.person;
        // Given-name keys, each once. An initial names a letter, not a person: its
        // keys would only ever meet other initials (`j` never keys `jane`), and a
        // query of an initial and a family name would look searched when nothing
        // could be found.
        let mut given_keys = [""; MAX_GIVEN];
        let mut n_given = 0;
        for first in &person.first_names {
            if first.chars().nth(1).is_none() {
                continue;
            }
            let key = name::given_key_ref(first);
            if !given_keys[..n_given].contains(&key)
                && let Some(slot) = given_keys.get_mut(n_given)
            {
                *slot = key;
                n_given += 1;
            }
        }
        let givens = given_keys.get(..n_given).unwrap_or_default();
        // A family name of one letter (`Jane D.`) is an initial too: it would key a
        // letter, and its sound code would meet every family name with that sound.
        let mut last_names = [""; MAX_LAST];
        let mut n_last = 0;
        for last in &person.last_names {
            if last.chars().nth(1).is_none() {
                continue;
            }
            let Some(slot) = last_names.get_mut(n_last) else {
                break;
            };
            *slot = last.as_str();
            n_last += 1;
        }
        let lasts = last_names.get(..n_last).unwrap_or_default();
        let mut names = Names {
            givens,
            lasts,
            phonetics: &[],
        };
        // Double Metaphone is the slowest step: only for recipes that will use it.
        let needs_phonetic = !lasts.is_empty()
            && KeyRecipe::COMPOSITES.iter().any(|r| {
                r.parts().contains(&Part::PhoneticLast)
                    && r.parts()
                        .iter()
                        .all(|&p| p == Part::PhoneticLast || count(person, &names, p) > 0)
            });
        let mut codes = [PhoneticCode::default(); MAX_PHONETIC];
        let mut n_codes = 0;
        if needs_phonetic {
            for last in lasts {
                let code = name::phonetic_code(last);
                let known = codes.get(..n_codes).unwrap_or_default();
                if !code.is_empty() && !known.contains(&code) {
                    let Some(slot) = codes.get_mut(n_codes) else {
                        break;
                    };
                    *slot = code;
                    n_codes += 1;
                }
            }
        }
        names.phonetics = codes.get(..n_codes).unwrap_or_default();
        for recipe in KeyRecipe::COMPOSITES {
            let parts = recipe.parts();
            let mut counts = [0usize; MAX_PARTS];
            let mut any_missing = parts.len() > MAX_PARTS;
            for (c, &p) in counts.iter_mut().zip(parts) {
                *c = count(person, &names, p);
                any_missing |= *c == 0;
            }
            if any_missing {
                continue;
            }
            // Keys of other recipes never equal this one's: only its own can repeat it.
            let from = self.out.len();
            // Odometer over every combination of the parts' values.
            let mut idx = [0usize; MAX_PARTS];
            'combinations: loop {
                self.buf.clear();
                self.buf.push(recipe.id());
                for (j, (&p, &i)) in parts.iter().zip(&idx).enumerate() {
                    if j > 0 {
                        self.buf.push(SEPARATOR);
                    }
                    write_part(person, &names, p, i, self.buf);
                }
                self.emit_from(recipe, from);
                // j < parts.len() <= MAX_PARTS, checked above.
                let mut j = 0;
                loop {
                    if j == parts.len() {
                        break 'combinations;
                    }
                    idx[j] += 1;
                    if idx[j] < counts[j] {
                        break;
                    }
                    idx[j] = 0;
                    j += 1;
                }
            }
        }
    }
}

/// How many values a person has for a part.
fn count(person: &Person, names: &Names<'_>, part: Part) -> usize {
    match part {
        Part::Given => names.givens.len(),
        Part::Last => names.lasts.len(),
        Part::PhoneticLast => names.phonetics.len(),
        Part::Dob => person.dobs.len(),
        Part::Postcode => person.postcodes.len(),
        Part::HouseNumber => person.house_numbers.len(),
    }
}

/// Appends the `i`-th value of a part.
fn write_part(person: &Person, names: &Names<'_>, part: Part, i: usize, buf: &mut Vec<u8>) {
    let text = match part {
        Part::Given => names.givens.get(i).copied(),
        Part::Last => names.lasts.get(i).copied(),
        Part::PhoneticLast => names.phonetics.get(i).map(PhoneticCode::as_str),
        Part::Postcode => person.postcodes.get(i).map(String::as_str),
        Part::HouseNumber => person.house_numbers.get(i).map(String::as_str),
        Part::Dob => {
            if let Some(d) = person.dobs.get(i) {
                buf.extend_from_slice(&d.digits());
            }
            None
        }
    };
    if let Some(t) = text {
        buf.extend_from_slice(t.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn secret(b: u8) -> Secret {
        let mut bytes = [0u8; SECRET_LEN];
        for (i, x) in bytes.iter_mut().enumerate() {
            *x = b.wrapping_mul(31).wrapping_add(i as u8);
        }
        Secret(bytes)
    }

    fn keys_of(values: &[(FieldKind, &str)], s: &Secret) -> Vec<Key> {
        let mut p = Person::default();
        for (k, v) in values {
            p.add(*k, v);
        }
        let mut out = Vec::new();
        derive(&p, s, &mut out);
        out
    }

    fn recipes(keys: &[Key]) -> Vec<KeyRecipe> {
        let mut r: Vec<_> = keys.iter().map(|k| k.recipe).collect();
        r.sort();
        r.dedup();
        r
    }

    #[test]
    fn secret_lengths() {
        assert!(Secret::from_bytes(&[1u8; SECRET_LEN]).is_ok());
        let err = Secret::from_bytes(&[1u8; 10]).err();
        assert!(matches!(err, Some(KeyError::WrongLength { got: 10 })));
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("rebuild"), "{msg}");
        let a = Secret::generate().map(|s| *s.as_bytes());
        let b = Secret::generate().map(|s| *s.as_bytes());
        assert!(a.is_ok() && a.ok() != b.ok());
        assert_eq!(format!("{:?}", secret(1)), "Secret(..)");
    }

    #[test]
    fn recipe_ids_and_names_are_unique_and_round_trip() {
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        for r in KeyRecipe::ALL {
            assert!(ids.insert(r.id()), "{r}");
            assert!(names.insert(r.name()), "{r}");
            assert_eq!(KeyRecipe::from_id(r.id()), Some(r));
            assert_eq!(KeyRecipe::from_name(r.name()), Some(r));
            assert_eq!(r.is_identifier(), r.field_kind().is_some(), "{r}");
            let json = serde_json::to_string(&r).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", r.name()));
        }
        for r in KeyRecipe::COMPOSITES {
            assert!(!r.is_identifier() && r.parts().len() <= MAX_PARTS);
        }
        assert_eq!(
            KeyRecipe::ALL.iter().filter(|r| !r.is_identifier()).count(),
            KeyRecipe::COMPOSITES.len()
        );
        assert_eq!(KeyRecipe::from_id(0), None);
    }

    #[test]
    fn distinct_recipes_secrets_and_splits_give_distinct_hashes() {
        let s = secret(1);
        let bytes: &[&[u8]] = &[b"smith", b"19800203"];
        let mut seen = HashSet::new();
        for r in KeyRecipe::ALL {
            assert!(seen.insert(hash(&s, r, bytes)), "{r}");
        }
        assert_ne!(
            hash(&s, KeyRecipe::LastDob, bytes),
            hash(&secret(2), KeyRecipe::LastDob, bytes)
        );
        assert_ne!(
            hash(&s, KeyRecipe::GivenLast, &[b"ab", b"c"]),
            hash(&s, KeyRecipe::GivenLast, &[b"a", b"bc"])
        );
    }

    #[test]
    fn derive_matches_hash() {
        let s = secret(3);
        let keys = keys_of(
            &[
                (FieldKind::FullName, "Bill Smith"),
                (FieldKind::Dob, "3/2/1980"),
                (FieldKind::Email, "bill@x.com"),
            ],
            &s,
        );
        let want = [
            Key {
                recipe: KeyRecipe::Email,
                hash: hash(&s, KeyRecipe::Email, &[b"bill@x.com"]),
            },
            Key {
                recipe: KeyRecipe::LastDob,
                hash: hash(&s, KeyRecipe::LastDob, &[b"smith", b"19800203"]),
            },
            Key {
                recipe: KeyRecipe::GivenDob,
                hash: hash(&s, KeyRecipe::GivenDob, &[b"william", b"19800203"]),
            },
            Key {
                recipe: KeyRecipe::GivenLast,
                hash: hash(&s, KeyRecipe::GivenLast, &[b"william", b"smith"]),
            },
            Key {
                recipe: KeyRecipe::PhoneticLastDob,
                hash: hash(&s, KeyRecipe::PhoneticLastDob, &[b"SM0", b"19800203"]),
            },
        ];
        assert_eq!(keys, want);
    }

    #[test]
    fn same_person_written_two_ways_has_the_same_keys() {
        let s = secret(4);
        let a = keys_of(
            &[
                (FieldKind::FirstName, "Bill"),
                (FieldKind::LastName, "O'BRIEN"),
                (FieldKind::Dob, "03/02/1980"),
                (FieldKind::Phone, "07911 123456"),
                (FieldKind::Postcode, "sw1a1aa"),
                (FieldKind::Address, "12 High St"),
                (FieldKind::Email, "Bill.OBrien+tax@gmail.com"),
            ],
            &s,
        );
        let b = keys_of(
            &[
                (FieldKind::FullName, "Mr William O'Brien"),
                (FieldKind::Dob, "1980-02-03"),
                (FieldKind::Phone, "+44 7911 123456"),
                (FieldKind::Address, "12, High Street, London SW1A 1AA"),
                (FieldKind::Email, "billobrien@googlemail.com"),
            ],
            &s,
        );
        let shared: Vec<_> = a
            .iter()
            .filter(|k| b.contains(k))
            .map(|k| k.recipe)
            .collect();
        for r in [
            KeyRecipe::EmailAlias,
            KeyRecipe::Phone,
            KeyRecipe::LastDob,
            KeyRecipe::GivenDob,
            KeyRecipe::GivenLast,
            KeyRecipe::DobPostcode,
            KeyRecipe::HouseNumberPostcode,
            KeyRecipe::PhoneticLastDob,
            KeyRecipe::LastPostcode,
            KeyRecipe::GivenPostcode,
        ] {
            assert!(shared.contains(&r), "{r} not shared");
        }
        // The plain emails differ; only the alias joins them.
        assert!(!shared.contains(&KeyRecipe::Email));
    }

    #[test]
    fn an_initial_forms_no_given_name_key() {
        let s = secret(8);
        let initial = keys_of(
            &[
                (FieldKind::FirstName, "J."),
                (FieldKind::LastName, "Doe"),
                (FieldKind::Postcode, "SW1A 1AA"),
            ],
            &s,
        );
        assert_eq!(recipes(&initial), vec![KeyRecipe::LastPostcode]);
        let alone = keys_of(
            &[(FieldKind::FirstName, "J"), (FieldKind::LastName, "Doe")],
            &s,
        );
        assert!(alone.is_empty(), "{alone:?}");
    }

    #[test]
    fn a_family_name_of_one_letter_forms_no_family_name_key() {
        let s = secret(8);
        let initial = keys_of(
            &[
                (FieldKind::FirstName, "Jane"),
                (FieldKind::LastName, "D."),
                (FieldKind::Postcode, "SW1A 1AA"),
            ],
            &s,
        );
        assert_eq!(recipes(&initial), vec![KeyRecipe::GivenPostcode]);
        let alone = keys_of(
            &[(FieldKind::FirstName, "Jane"), (FieldKind::LastName, "D")],
            &s,
        );
        assert!(alone.is_empty(), "{alone:?}");
        let full = keys_of(&[(FieldKind::FullName, "Jane D.")], &s);
        assert!(full.is_empty(), "{full:?}");
    }

    #[test]
    fn given_name_and_postcode_find_a_changed_family_name() {
        let s = secret(9);
        let record = keys_of(
            &[
                (FieldKind::FullName, "Jane Featherstone"),
                (FieldKind::Postcode, "sw1a1aa"),
            ],
            &s,
        );
        let query = keys_of(
            &[
                (FieldKind::FirstName, "Jane"),
                (FieldKind::LastName, "Featherstonw"),
                (FieldKind::Postcode, "SW1A 1AA"),
            ],
            &s,
        );
        let shared: Vec<_> = query
            .iter()
            .filter(|k| record.contains(k))
            .map(|k| k.recipe)
            .collect();
        assert_eq!(shared, vec![KeyRecipe::GivenPostcode]);
    }

    #[test]
    fn phonetic_key_joins_spelling_variants() {
        let s = secret(5);
        let a = keys_of(
            &[(FieldKind::LastName, "Smith"), (FieldKind::Dob, "1/1/1970")],
            &s,
        );
        let b = keys_of(
            &[(FieldKind::LastName, "Smyth"), (FieldKind::Dob, "1/1/1970")],
            &s,
        );
        let shared: Vec<_> = a
            .iter()
            .filter(|k| b.contains(k))
            .map(|k| k.recipe)
            .collect();
        assert_eq!(shared, vec![KeyRecipe::PhoneticLastDob]);
    }

    #[test]
    fn every_combination_once() {
        let s = secret(6);
        let keys = keys_of(
            &[
                (FieldKind::LastName, "Smith"),
                (FieldKind::LastName, "Jones"),
                (FieldKind::Dob, "1/1/1970"),
                (FieldKind::Dob, "2/1/1970"),
                (FieldKind::Dob, "1/1/1970"),
                (FieldKind::Postcode, "N1 2AB"),
                (FieldKind::Phone, "07911 123456"),
                (FieldKind::Phone, "07911123456"),
            ],
            &s,
        );
        let n = |r| keys.iter().filter(|k| k.recipe == r).count();
        assert_eq!(n(KeyRecipe::LastDob), 4);
        assert_eq!(n(KeyRecipe::LastPostcode), 2);
        assert_eq!(n(KeyRecipe::DobPostcode), 2);
        assert_eq!(n(KeyRecipe::PhoneticLastDob), 4);
        assert_eq!(n(KeyRecipe::Phone), 1);
        assert_eq!(n(KeyRecipe::GivenDob), 0);
        let unique: HashSet<_> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len());
    }

    #[test]
    fn bank_details_and_ambiguous_nicknames() {
        let s = secret(7);
        let keys = keys_of(
            &[
                (FieldKind::SortCode, "60-16-13"),
                (FieldKind::BankAccount, "31926819"),
            ],
            &s,
        );
        assert_eq!(
            recipes(&keys),
            vec![KeyRecipe::BankAccount, KeyRecipe::SortCodeAccount]
        );
        let iban = keys_of(&[(FieldKind::BankAccount, "GB29NWBK60161331926819")], &s);
        assert_eq!(iban, keys);
        // `al` could be Alan or Alfred: it keys as itself, not as either.
        let al = keys_of(
            &[(FieldKind::FirstName, "Al"), (FieldKind::LastName, "Smith")],
            &s,
        );
        let alan = keys_of(
            &[
                (FieldKind::FirstName, "Alan"),
                (FieldKind::LastName, "Smith"),
            ],
            &s,
        );
        assert_ne!(al, alan);
    }

    #[test]
    fn derive_appends_without_touching_earlier_keys() {
        let s = secret(8);
        let first = keys_of(&[(FieldKind::Phone, "07911 123456")], &s);
        let mut p = Person::default();
        p.add(FieldKind::Phone, "07911 123456");
        let mut out = first.clone();
        derive(&p, &s, &mut out);
        assert_eq!(out.len(), 2 * first.len());
        let mut empty = Vec::new();
        derive(&Person::default(), &s, &mut empty);
        assert!(empty.is_empty());
    }

    proptest! {
        #[test]
        fn derive_never_panics_and_is_deterministic(
            values in proptest::collection::vec((0usize..25, "\\PC{0,30}"), 0..12)
        ) {
            let s = secret(9);
            let mut p = Person::default();
            for (k, v) in &values {
                if let Some(kind) = FieldKind::ALL.get(*k) {
                    p.add(*kind, v);
                }
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            derive(&p, &s, &mut a);
            derive(&p, &s, &mut b);
            prop_assert_eq!(&a, &b);
            let unique: HashSet<_> = a.iter().collect();
            prop_assert_eq!(unique.len(), a.len());
        }
    }
}
