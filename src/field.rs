//! The fixed vocabulary of column meanings ([`FieldKind`]) shared by every stage.
//!
//! A column of a dataset either has a kind from this list or is left unmapped;
//! an unmapped column is still a data class of its dataset (`other:<header>`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a column means. The names (`email`, `ni_number`, …) are the user's words and
/// appear in `--map`, mapping files, the index manifest and every output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum FieldKind {
    // identifiers
    Email = 0,
    Phone,
    NiNumber,
    AccountRef,
    Uprn,
    BankAccount,
    SortCode,
    CardNumber,
    Passport,
    DrivingLicence,
    Username,
    Ip,
    // person
    FirstName,
    MiddleName,
    LastName,
    FullName,
    Dob,
    Gender,
    // address
    HouseNumber,
    Street,
    Address,
    Town,
    Postcode,
    // other
    RecordDate,
    Ignore,
}

impl FieldKind {
    /// Every kind, in a stable order (the order of the `u8` codes).
    pub const ALL: [FieldKind; 25] = [
        FieldKind::Email,
        FieldKind::Phone,
        FieldKind::NiNumber,
        FieldKind::AccountRef,
        FieldKind::Uprn,
        FieldKind::BankAccount,
        FieldKind::SortCode,
        FieldKind::CardNumber,
        FieldKind::Passport,
        FieldKind::DrivingLicence,
        FieldKind::Username,
        FieldKind::Ip,
        FieldKind::FirstName,
        FieldKind::MiddleName,
        FieldKind::LastName,
        FieldKind::FullName,
        FieldKind::Dob,
        FieldKind::Gender,
        FieldKind::HouseNumber,
        FieldKind::Street,
        FieldKind::Address,
        FieldKind::Town,
        FieldKind::Postcode,
        FieldKind::RecordDate,
        FieldKind::Ignore,
    ];

    /// The kind's name as users write it.
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::Email => "email",
            FieldKind::Phone => "phone",
            FieldKind::NiNumber => "ni_number",
            FieldKind::AccountRef => "account_ref",
            FieldKind::Uprn => "uprn",
            FieldKind::BankAccount => "bank_account",
            FieldKind::SortCode => "sort_code",
            FieldKind::CardNumber => "card_number",
            FieldKind::Passport => "passport",
            FieldKind::DrivingLicence => "driving_licence",
            FieldKind::Username => "username",
            FieldKind::Ip => "ip",
            FieldKind::FirstName => "first_name",
            FieldKind::MiddleName => "middle_name",
            FieldKind::LastName => "last_name",
            FieldKind::FullName => "full_name",
            FieldKind::Dob => "dob",
            FieldKind::Gender => "gender",
            FieldKind::HouseNumber => "house_number",
            FieldKind::Street => "street",
            FieldKind::Address => "address",
            FieldKind::Town => "town",
            FieldKind::Postcode => "postcode",
            FieldKind::RecordDate => "record_date",
            FieldKind::Ignore => "ignore",
        }
    }

    /// The kind with this `u8` code (the inverse of `kind as u8`).
    pub fn from_code(code: u8) -> Option<FieldKind> {
        FieldKind::ALL.get(code as usize).copied()
    }

    /// Strong identifiers: a value that, on its own, nearly always names one person.
    pub fn is_identifier(self) -> bool {
        (self as u8) <= (FieldKind::Ip as u8)
    }
}

impl fmt::Display for FieldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `--map` or mapping-file kind that is not in the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown field kind '{given}'; valid kinds are: {}", valid_kinds())]
pub struct UnknownKind {
    /// What the user wrote.
    pub given: String,
}

/// The valid kind names, comma-separated (for error messages).
pub fn valid_kinds() -> String {
    FieldKind::ALL
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for FieldKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let want = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        FieldKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == want)
            .ok_or_else(|| UnknownKind {
                given: s.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_codes_are_positions() {
        for (i, k) in FieldKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i);
            assert_eq!(FieldKind::from_code(i as u8), Some(*k));
            assert_eq!(k.name().parse::<FieldKind>(), Ok(*k));
        }
        assert_eq!(FieldKind::from_code(FieldKind::ALL.len() as u8), None);
    }

    #[test]
    fn unknown_kind_lists_valid_ones() {
        let err = "emial".parse::<FieldKind>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("'emial'"), "{msg}");
        assert!(
            msg.contains("ni_number") && msg.contains("postcode"),
            "{msg}"
        );
    }

    #[test]
    fn identifiers_are_the_first_group() {
        assert!(FieldKind::Email.is_identifier());
        assert!(FieldKind::Ip.is_identifier());
        assert!(!FieldKind::FirstName.is_identifier());
        assert!(!FieldKind::Ignore.is_identifier());
    }
}
