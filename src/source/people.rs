//! The people of one record: a housing-benefit claim with a partner, a council-tax
//! account with joint liable parties, a household's members. Such a record is one
//! row of its dataset but several data subjects, and pairing one person's name
//! with another's date of birth would tell someone who is not in the leak that
//! they are. [`People::split`] gives one record per person, each holding that
//! person's values ([`PersonGroup`] of the mapping, and for an array of people,
//! the element each value came from) and every shared value.
//!
//! ```
//! use leakscope::field::FieldKind;
//! use leakscope::source::{ColumnMap, Origin, People, PersonGroup};
//! let column = |name: &str, kind, number| ColumnMap {
//!     column: name.to_string(),
//!     kind: Some(kind),
//!     origin: Origin::Header,
//!     person: number.map(|number| PersonGroup { number, path: String::new(), array: false }),
//! };
//! let people = People::new(&[
//!     column("Forename", FieldKind::FirstName, Some(1)),
//!     column("Partner Forename", FieldKind::FirstName, Some(2)),
//!     column("Postcode", FieldKind::Postcode, None),
//! ]);
//! assert!(!people.is_empty());
//! ```

use super::fields::{Element, Fields};
use super::mapping::{ColumnMap, PersonGroup};
use crate::field::FieldKind;
use crate::normalize::is_placeholder;

/// The most people one record is split into (the record table has eight bits for
/// them, 0 meaning the whole record); a record holding more is indexed whole.
pub const MAX_PEOPLE: usize = 255;

/// How a dataset's records split into people: each column's person, if it has one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct People {
    roles: Vec<Option<Role>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Role {
    group: u16,
    /// Byte length of the person's JSON object path: values in an array at or
    /// above it are told apart by element.
    object: Option<u32>,
    /// The column's kind when a value of it makes its person one of the record's
    /// people: a name, a date of birth or an identifier.
    identifies: Option<FieldKind>,
}

impl Role {
    /// Which person of the record a value of this column, from `element`, is.
    fn person(&self, element: Option<Element>) -> (u16, u32) {
        match (self.object, element) {
            (Some(len), Some(e)) if e.array <= len => (self.group, e.index),
            _ => (self.group, 0),
        }
    }
}

impl People {
    /// From a dataset's mapping.
    pub fn new(mapping: &[ColumnMap]) -> People {
        let kinds: Vec<Option<FieldKind>> = mapping.iter().map(|m| m.kind).collect();
        let groups: Vec<Option<&PersonGroup>> = mapping.iter().map(|m| m.person.as_ref()).collect();
        People::from_parts(&kinds, &groups)
    }

    /// From each column's kind and person group (as an index's manifest keeps them).
    pub fn from_parts(kinds: &[Option<FieldKind>], groups: &[Option<&PersonGroup>]) -> People {
        let roles: Vec<Option<Role>> = groups
            .iter()
            .enumerate()
            .map(|(col, group)| {
                let group = (*group)?;
                let kind = kinds.get(col).copied().flatten();
                Some(Role {
                    group: group.number,
                    object: (!group.path.is_empty())
                        .then(|| u32::try_from(group.path.len()).ok())
                        .flatten(),
                    identifies: kind.filter(|k| {
                        k.is_identifier()
                            || matches!(
                                k,
                                FieldKind::FirstName
                                    | FieldKind::MiddleName
                                    | FieldKind::LastName
                                    | FieldKind::FullName
                                    | FieldKind::Dob
                            )
                    }),
                })
            })
            .collect();
        if roles.iter().all(Option::is_none) {
            return People::default();
        }
        People { roles }
    }

    /// True when every record of the dataset is one person.
    pub fn is_empty(&self) -> bool {
        self.roles.is_empty()
    }

    /// The people of the record in `fields`, in the order of their groups and, in
    /// an array, of its elements: `(group, element)`. A group's element is one of
    /// the record's people when it holds a name, a date of birth or an identifier;
    /// the values of one that holds none are shared like the record's own.
    fn who(&self, fields: &Fields, people: &mut Vec<(u16, u32)>) {
        people.clear();
        for (col, role) in self.roles.iter().enumerate() {
            let Some(role) = role else { continue };
            let Some(kind) = role.identifies else {
                continue;
            };
            for (value, element) in fields.elements(col) {
                if value.trim().is_empty() || is_placeholder(value, kind) {
                    continue;
                }
                let person = role.person(element);
                if !people.contains(&person) {
                    people.push(person);
                }
            }
        }
        people.sort_unstable();
    }

    /// Splits the record in `fields` into one record per person, in `out` (its
    /// buffers reused), and returns how many people it holds; 0 when it is one
    /// person (or none, or more than [`MAX_PEOPLE`]): then `fields` is the record,
    /// as if it held no groups. Each person's record holds the values of their
    /// columns (of their element, in an array) and every shared value: no value is
    /// lost (each is in at least one person's record) and none is given to a person
    /// whose it is not.
    pub fn split(&self, fields: &Fields, out: &mut Vec<Fields>) -> usize {
        if self.is_empty() {
            return 0;
        }
        let mut people = Vec::new();
        self.who(fields, &mut people);
        if people.len() < 2 || people.len() > MAX_PEOPLE {
            return 0;
        }
        if out.len() < people.len() {
            out.resize_with(people.len(), Fields::new);
        }
        for (who, record) in people.iter().zip(out.iter_mut()) {
            fields.select_into(record, |col, element, _| {
                match self.roles.get(col).copied().flatten() {
                    None => true,
                    Some(role) => {
                        let person = role.person(element);
                        person == *who || !people.contains(&person)
                    }
                }
            });
        }
        people.len()
    }

    /// Makes `fields` (a whole record) hold person `person` of it only, as
    /// [`People::split`] numbers them from 1; person 0 is the whole record. False
    /// when the record holds no such person (it was read otherwise than when it was
    /// indexed).
    pub fn take(&self, fields: &mut Fields, person: u8) -> bool {
        if person == 0 {
            return true;
        }
        let mut out = Vec::new();
        let n = self.split(fields, &mut out);
        match out.get_mut(usize::from(person) - 1) {
            Some(one) if usize::from(person) <= n => {
                std::mem::swap(fields, one);
                true
            }
            _ => false,
        }
    }
}
