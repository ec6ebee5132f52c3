//! Canonical forms of raw values, one submodule per field-kind family.
//!
//! [`Person`] is the one path from raw values to canonical ones: the index builder
//! fills one per dump record, `lookup` and `match` fill one per query, and both then
//! derive keys from it (`crate::keys`). A value normalised differently at build and at
//! query time is a resident silently missed, so nothing else may normalise.

pub mod name;

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
