//! The people of one record: a housing-benefit claim with a partner, a council-tax
//! account with joint liable parties, a household's members. Such a record is one
//! row of its dataset but several data subjects, and pairing one person's name
//! with another's date of birth would tell someone who is not in the leak that
//! they are. [`People::split`] gives one record per person, each holding that
//! person's values ([`PersonGroup`] of the mapping, and for an array of people,
//! the element each value came from) and every shared value.
//!
//! ```
//! use leakscope::source::{People, ReadOptions, SourceFile, map_dataset, Overrides};
//! let csv = "Forename,DOB,Partner Forename,Partner DOB,Postcode\n\
//!            Jane,01/02/1970,John,03/04/1968,SW1A 1AA\n";
//! let file = SourceFile::from_bytes(csv.into(), "ct.csv", &ReadOptions::default())?;
//! let info = &file.datasets()[0];
//! let mapping = map_dataset(&info.name, &info.columns, &file.sample(0, 10), &Overrides::new());
//! assert_eq!(mapping[2].to_string(), "Partner Forename -> first_name (header, person 2)");
//! let people = People::new(&mapping);
//! let row = file.read_record(0, 51, 40)?;
//! let mut each = Vec::new();
//! assert_eq!(people.split(&row, &mut each), 2);
//! assert_eq!(each[0].to_vecs(), [vec!["Jane"], vec!["01/02/1970"], vec![], vec![], vec!["SW1A 1AA"]]);
//! assert_eq!(each[1].to_vecs(), [vec![], vec![], vec!["John"], vec!["03/04/1968"], vec!["SW1A 1AA"]]);
//! # Ok::<(), leakscope::source::SourceError>(())
//! ```

use super::fields::{Element, Fields};
use super::mapping::{ColumnMap, PersonGroup};
use crate::field::FieldKind;
use crate::normalize::is_placeholder;

/// The most people one record is split into (the record table has eight bits for
/// them, 0 meaning the whole record); a record holding more is indexed whole.
pub const MAX_PEOPLE: usize = 255;

/// The warning for `rows` rows of dataset `name` that hold more people than a row
/// is split into.
pub fn crowded_warning(name: &str, rows: u64) -> String {
    let (rows, hold) = if rows == 1 {
        ("1 row".to_string(), "holds")
    } else {
        (format!("{rows} rows"), "each hold")
    };
    format!(
        "{name}: {rows} {hold} more than {} people, too many to index one record per \
         person: indexed whole, so one person's name may be matched with another's details \
         (split such rows into one row per person before indexing to avoid it)",
        MAX_PEOPLE
    )
}

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
        self.split_or_crowd(fields, out).unwrap_or(0)
    }

    /// [`People::split`], telling a record of more than [`MAX_PEOPLE`] people
    /// (`Err` with their number; `fields` is then the record) from one of one
    /// person, so that a build can say that it indexed such a record whole.
    pub fn split_or_crowd(&self, fields: &Fields, out: &mut Vec<Fields>) -> Result<usize, usize> {
        if self.is_empty() {
            return Ok(0);
        }
        let mut people = Vec::new();
        self.who(fields, &mut people);
        if people.len() > MAX_PEOPLE {
            return Err(people.len());
        }
        if people.len() < 2 {
            return Ok(0);
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
        Ok(people.len())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::TextEncoding;
    use crate::source::fields::place;
    use proptest::prelude::*;

    /// A column's kind and person, as an index's manifest keeps them.
    type Column = (Option<FieldKind>, Option<PersonGroup>);

    /// A column of `kind` (None: unmapped), of person `group` (0: shared), under
    /// the JSON object `path`.
    fn col(kind: Option<FieldKind>, group: u16, path: &str) -> Column {
        let person = (group > 0).then(|| PersonGroup {
            number: group,
            path: path.to_string(),
            array: false,
        });
        (kind, person)
    }

    fn layout_of(columns: &[Column]) -> People {
        let kinds: Vec<Option<FieldKind>> = columns.iter().map(|c| c.0).collect();
        let groups: Vec<Option<&PersonGroup>> = columns.iter().map(|c| c.1.as_ref()).collect();
        People::from_parts(&kinds, &groups)
    }

    /// A record of `ncols` columns from (column, value, array element) triples;
    /// elements are of an array whose path is 7 bytes long (`members`).
    fn record(ncols: usize, values: &[(usize, &str, Option<usize>)]) -> Fields {
        let mut f = Fields::new();
        f.begin(ncols);
        for (c, v, e) in values {
            let start = f.mark();
            f.raw().extend_from_slice(v.as_bytes());
            f.push_value_at(*c, start, e.map_or(0, |e| place(7, e)));
        }
        f.finish(TextEncoding::Utf8);
        f
    }

    use FieldKind::*;

    #[test]
    fn an_applicant_and_a_partner_are_two_people_sharing_the_rest() {
        let people = layout_of(&[
            col(None, 0, ""),
            col(Some(FirstName), 1, "applicant"),
            col(Some(Dob), 1, "applicant"),
            col(Some(NiNumber), 1, "applicant"),
            col(Some(FirstName), 2, "partner"),
            col(Some(Dob), 2, "partner"),
            col(Some(Postcode), 0, ""),
        ]);
        let f = record(
            7,
            &[
                (0, "C1", None),
                (1, "Oscar", None),
                (2, "1954-10-16", None),
                (3, "AB123456C", None),
                (4, "Constance", None),
                (5, "1958-01-02", None),
                (6, "SW3 4JA", None),
            ],
        );
        let mut out = Vec::new();
        assert_eq!(people.split(&f, &mut out), 2);
        let v = |f: &Fields| f.to_vecs();
        assert_eq!(
            v(&out[0]),
            [
                vec!["C1"],
                vec!["Oscar"],
                vec!["1954-10-16"],
                vec!["AB123456C"],
                vec![],
                vec![],
                vec!["SW3 4JA"]
            ]
        );
        assert_eq!(
            v(&out[1]),
            [
                vec!["C1"],
                vec![],
                vec![],
                vec![],
                vec!["Constance"],
                vec!["1958-01-02"],
                vec!["SW3 4JA"]
            ]
        );
        // Person 2 of the row, as a query re-reads it; 0 is the whole row.
        let mut g = f.clone();
        assert!(people.take(&mut g, 2));
        assert_eq!(g, out[1]);
        let mut g = f.clone();
        assert!(people.take(&mut g, 0));
        assert_eq!(g, f);
        assert!(!people.take(&mut f.clone(), 3));
        // Without a partner (or with only placeholders for one), the row is one
        // person: whole, as if there were no groups.
        let alone = record(
            7,
            &[(1, "Oscar", None), (4, "N/A", None), (6, "SW3 4JA", None)],
        );
        assert_eq!(people.split(&alone, &mut out), 0);
        assert!(!people.take(&mut alone.clone(), 1));
        assert!(layout_of(&[col(Some(Email), 0, "")]).is_empty());
    }

    #[test]
    fn each_element_of_an_array_of_people_is_a_person() {
        let people = layout_of(&[
            col(Some(AccountRef), 0, ""),
            col(Some(FullName), 1, "members"),
            col(Some(Dob), 1, "members"),
            col(None, 1, "members"),
            col(Some(Phone), 1, "members"),
        ]);
        // The second member has no name, the third no date of birth, the fourth
        // only a relationship (no person: shared); phones in an inner array stay
        // with their member.
        let f = record(
            5,
            &[
                (0, "HB1", None),
                (1, "John Smith", Some(0)),
                (2, "1950-05-05", Some(0)),
                (4, "0791", Some(0)),
                (4, "0792", Some(0)),
                (2, "1982-03-03", Some(1)),
                (1, "Amy Smith", Some(2)),
                (3, "lodger", Some(3)),
            ],
        );
        let mut out = Vec::new();
        assert_eq!(people.split(&f, &mut out), 3);
        let v = |i: usize| out[i].to_vecs();
        assert_eq!(
            v(0),
            [
                vec!["HB1"],
                vec!["John Smith"],
                vec!["1950-05-05"],
                vec!["lodger"],
                vec!["0791", "0792"]
            ]
        );
        assert_eq!(
            v(1),
            [
                vec!["HB1"],
                vec![],
                vec!["1982-03-03"],
                vec!["lodger"],
                vec![]
            ]
        );
        assert_eq!(
            v(2),
            [
                vec!["HB1"],
                vec!["Amy Smith"],
                vec![],
                vec!["lodger"],
                vec![]
            ]
        );
        // An object holding the group below an array's element is still split by it
        // (`households[i].partner`: the array's path is shorter than the object's).
        let below = layout_of(&[col(Some(FullName), 1, "members.person")]);
        let f = record(1, &[(0, "A", Some(0)), (0, "B", Some(1))]);
        assert_eq!(below.split(&f, &mut out), 2);
        // An array inside the person's object (`partner.phones`) is not: the
        // array's path is longer than the object's.
        let inner = layout_of(&[col(Some(FullName), 1, "p"), col(Some(FullName), 2, "q")]);
        let f = record(2, &[(0, "A", Some(0)), (0, "B", Some(1)), (1, "C", None)]);
        assert_eq!(inner.split(&f, &mut out), 2);
        assert_eq!(out[0].to_vecs(), [vec!["A", "B"], vec![]]);
    }

    #[test]
    fn a_row_of_too_many_people_is_indexed_whole() {
        let people = layout_of(&[col(Some(FullName), 1, "members")]);
        let names: Vec<String> = (0..=MAX_PEOPLE).map(|i| format!("P{i}")).collect();
        let values: Vec<(usize, &str, Option<usize>)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (0, n.as_str(), Some(i)))
            .collect();
        let mut out = Vec::new();
        assert_eq!(people.split(&record(1, &values), &mut out), 0);
        assert_eq!(
            people.split_or_crowd(&record(1, &values), &mut out),
            Err(MAX_PEOPLE + 1)
        );
        assert_eq!(
            people.split(&record(1, &values[..MAX_PEOPLE]), &mut out),
            MAX_PEOPLE
        );
    }

    /// Columns: shared, then two people, one of them in an array; kinds that make
    /// a person and kinds that do not.
    fn layout() -> People {
        layout_of(&[
            col(Some(Postcode), 0, ""),
            col(None, 0, ""),
            col(Some(FirstName), 1, "applicant"),
            col(Some(Gender), 1, "applicant"),
            col(Some(FullName), 2, "members"),
            col(Some(Dob), 2, "members"),
            col(None, 2, "members"),
        ])
    }

    proptest! {
        /// Splitting never loses a value (each is in some person's record) nor
        /// invents one (each person's values are the row's), and a value of one
        /// person is in no other person's record.
        #[test]
        fn splitting_never_loses_or_invents_a_value(
            values in proptest::collection::vec(
                (0usize..7, proptest::sample::select(vec!["", "N/A", "Ann", "Bo", "1980-01-02"]),
                 proptest::option::of(0usize..4)),
                0..16,
            )
        ) {
            let people = layout();
            let f = record(7, &values);
            let mut out = Vec::new();
            let n = people.split(&f, &mut out);
            prop_assert!(n != 1);
            if n == 0 {
                return Ok(());
            }
            let with_elements = |f: &Fields| -> Vec<Vec<(String, Option<Element>)>> {
                (0..7).map(|c| f.elements(c).map(|(v, e)| (v.to_string(), e)).collect()).collect()
            };
            let row = with_elements(&f);
            let parts: Vec<_> = out.iter().take(n).map(with_elements).collect();
            for (c, values) in row.iter().enumerate() {
                // Multiset inclusion, both ways.
                for value in values {
                    let in_row = values.iter().filter(|v| *v == value).count();
                    let most = parts.iter().map(|p| p[c].iter().filter(|v| *v == value).count()).max().unwrap_or(0);
                    prop_assert!(most >= 1, "lost {value:?} of column {c}");
                    prop_assert!(most <= in_row, "invented {value:?} of column {c}");
                }
                for p in &parts {
                    prop_assert!(p[c].iter().all(|v| values.contains(v)));
                }
            }
            // A value of a person who is one of the row's people is theirs alone.
            for (c, role) in people.roles.iter().enumerate() {
                let Some(role) = role else { continue };
                for value in &row[c] {
                    let owners = parts.iter().filter(|p| p[c].contains(value)).count();
                    let mut who = Vec::new();
                    people.who(&f, &mut who);
                    if who.contains(&role.person(value.1)) {
                        prop_assert_eq!(owners, 1, "{:?} of column {} given to {}", value, c, owners);
                    } else {
                        prop_assert_eq!(owners, n, "{:?} of column {} not shared", value, c);
                    }
                }
            }
        }
    }
}
