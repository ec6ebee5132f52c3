//! What each column means: detected from its header name, else from sniffed
//! values, unless the user said otherwise with `--map COLUMN=KIND` or a
//! `--mapping FILE.toml`.
//!
//! Precedence, most specific first: a mapping file's `[datasets."NAME".columns]`,
//! then `--map`, then the mapping file's `[columns]`, then detection. Column names
//! in overrides match exactly, or else ignoring ASCII case.
//!
//! A record may hold several people: an applicant and a partner, a household's
//! members. [`person_groups`] then says which person each column describes (its
//! [`PersonGroup`]): the JSON objects holding a person's names (`applicant.*`,
//! `partner.*`, each element of `members[]`), header prefixes naming another person
//! (`Partner Forename`, `Spouse DOB`, `Joint Tenant Name`, `2nd Applicant Surname`,
//! `Applicant 2 Name`), and the record's main person (names, dates of birth and
//! gender outside those). The other columns (a claim number, the household's
//! address, a top-level email) are shared by every person of the record.
//!
//! ```
//! use leakscope::field::FieldKind;
//! use leakscope::source::{map_dataset, Origin, Overrides};
//! let mut o = Overrides::new();
//! o.add_map("Ref=ignore")?;
//! let cols = ["E-mail Address", "Ref", "Balance"].map(String::from);
//! let m = map_dataset("x.csv", &cols, &[], &o);
//! assert_eq!((m[0].kind, m[0].origin), (Some(FieldKind::Email), Origin::Header));
//! assert_eq!((m[1].kind, m[1].origin), (Some(FieldKind::Ignore), Origin::Given));
//! assert_eq!((m[2].kind, m[2].origin), (None, Origin::None));
//! # Ok::<(), leakscope::source::MappingError>(())
//! ```

use super::{DatasetInfo, Fields};
use crate::field::{FieldKind, UnknownKind};
use crate::normalize::name::{given_groups, is_known_given, split_full};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where a column's kind came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Recognised from the header name.
    Header,
    /// Sniffed from sample values.
    Values,
    /// Given by `--map` or a mapping file.
    Given,
    /// Not mapped: the column is the data class `other:<column>`.
    None,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Header => "header",
            Origin::Values => "values",
            Origin::Given => "given",
            Origin::None => "unmapped",
        })
    }
}

/// The meaning of one column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnMap {
    /// The column name.
    pub column: String,
    /// Its kind; `None` = unmapped (data class `other:<column>`).
    pub kind: Option<FieldKind>,
    /// How the kind was decided.
    pub origin: Origin,
    /// For a `dob` column, the order its numeric dates are written in: month first
    /// when its sampled values show it (`12/25/1970`, and none `25/12/1970`).
    pub order: crate::normalize::date::Order,
    /// Which person of the record the column describes, in a dataset whose
    /// records may hold several; `None`: every person of the record has it (and
    /// in a dataset of one person per record, every column is `None`).
    pub person: Option<PersonGroup>,
}

/// One person of the records of a dataset whose records may hold several (see
/// [`person_groups`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PersonGroup {
    /// 1-based, in the order of the columns.
    pub number: u16,
    /// The JSON object holding the person (`partner`, `household.members`); empty
    /// for the main person and for a header prefix (`Partner Forename`). The values
    /// of each element of an array at or above it (`members[0]`, `members[1]`) are
    /// each another person.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Whether the sampled records hold the object in an array, one person per
    /// element (shown by `--dry-run`; records are split by element either way).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub array: bool,
}

impl fmt::Display for PersonGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "person {}", self.number)?;
        if self.array {
            write!(f, ", one per element of {}", self.path)?;
        }
        Ok(())
    }
}

impl ColumnMap {
    /// The data class this column contributes when non-empty: the kind's name, or
    /// `other:<column>` for an unmapped or ignored column.
    pub fn data_class(&self) -> String {
        match self.kind {
            Some(k) if k != FieldKind::Ignore => k.name().to_string(),
            _ => format!("other:{}", self.column),
        }
    }
}

impl ColumnMap {
    /// How the kind was decided, and whose the column is when records may hold
    /// several people: `header`, `unmapped`, `header, person 2`.
    pub fn how(&self) -> String {
        let origin = match self.kind {
            Some(_) => self.origin,
            None => Origin::None,
        };
        let order =
            if self.kind.is_some() && self.order == crate::normalize::date::Order::MonthFirst {
                ", month first"
            } else {
                ""
            };
        match &self.person {
            Some(p) => format!("{origin}{order}, {p}"),
            None => format!("{origin}{order}"),
        }
    }
}

impl fmt::Display for ColumnMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Some(k) => write!(f, "{} -> {k} ({})", self.column, self.how()),
            None => write!(
                f,
                "{} -> {} ({})",
                self.column,
                self.data_class(),
                self.how()
            ),
        }
    }
}

/// A `--map` or mapping file the user must fix.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// `--map` without `=`.
    #[error("--map '{given}': expected COLUMN=KIND, e.g. --map \"Post Code=postcode\"")]
    BadMap {
        /// What the user wrote.
        given: String,
    },
    /// A kind that is not in the vocabulary.
    #[error("{context}: {source}")]
    Kind {
        /// Where the kind was written.
        context: String,
        /// The unknown kind, with the valid ones.
        source: UnknownKind,
    },
    /// The mapping file could not be read.
    #[error("cannot read mapping file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The mapping file is not valid TOML or not shaped as expected.
    #[error("mapping file {}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// User-given column kinds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--map`, for every dataset.
    args: Vec<(String, FieldKind)>,
    /// The mapping file's `[columns]`.
    file_columns: Vec<(String, FieldKind)>,
    /// The mapping file's `[datasets."NAME".columns]`.
    datasets: Vec<(String, Vec<(String, FieldKind)>)>,
}

impl Overrides {
    /// No overrides: everything is detected.
    pub fn new() -> Overrides {
        Overrides::default()
    }

    /// Overrides from the command line: repeated `--map` values and an optional
    /// `--mapping` file.
    pub fn from_cli(maps: &[String], file: Option<&Path>) -> Result<Overrides, MappingError> {
        let mut o = Overrides::new();
        for m in maps {
            o.add_map(m)?;
        }
        if let Some(path) = file {
            o.load_file(path)?;
        }
        Ok(o)
    }

    /// Add one `COLUMN=KIND` (applies to every dataset).
    pub fn add_map(&mut self, spec: &str) -> Result<(), MappingError> {
        let (column, kind) = spec.rsplit_once('=').ok_or_else(|| MappingError::BadMap {
            given: spec.to_string(),
        })?;
        let column = column.trim();
        if column.is_empty() {
            return Err(MappingError::BadMap {
                given: spec.to_string(),
            });
        }
        let kind = kind
            .parse::<FieldKind>()
            .map_err(|source| MappingError::Kind {
                context: format!("--map '{spec}'"),
                source,
            })?;
        self.args.push((column.to_string(), kind));
        Ok(())
    }

    /// Read a mapping file.
    pub fn load_file(&mut self, path: &Path) -> Result<(), MappingError> {
        let text = std::fs::read_to_string(path).map_err(|source| MappingError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.add_toml(&text, path)
    }

    /// Add the contents of a mapping file (`path` only names it in errors).
    ///
    /// ```toml
    /// [columns]
    /// "Post Code" = "postcode"
    /// [datasets."archive.sql#residents".columns]
    /// "claimant.name.first" = "first_name"
    /// ```
    pub fn add_toml(&mut self, text: &str, path: &Path) -> Result<(), MappingError> {
        let file_err = |message: String| MappingError::File {
            path: path.to_path_buf(),
            message,
        };
        // The parser's own message quotes the offending line: this file may be a
        // dump given by mistake, so only the position and the message are kept.
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            let place = e.span().map_or_else(String::new, |span| {
                let before = text.get(..span.start).unwrap_or_default();
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!("line {line}, column {column}: ")
            });
            file_err(format!("not valid TOML: {place}{}", e.message().trim()))
        })?;
        for (key, value) in &table {
            match key.as_str() {
                "columns" => {
                    let t = value.as_table().ok_or_else(|| {
                        file_err("[columns] must be a table of COLUMN = \"KIND\"".into())
                    })?;
                    let cols = columns_of(t, "[columns]", path)?;
                    self.file_columns.extend(cols);
                }
                "datasets" => {
                    let t = value.as_table().ok_or_else(|| {
                        file_err(
                            "[datasets] must hold tables like [datasets.\"NAME\".columns]".into(),
                        )
                    })?;
                    for (name, ds) in t {
                        let cols = ds
                            .as_table()
                            .and_then(|d| d.get("columns"))
                            .and_then(toml::Value::as_table)
                            .ok_or_else(|| {
                                file_err(format!(
                                    "dataset '{name}' needs a [datasets.\"{name}\".columns] table"
                                ))
                            })?;
                        let cols =
                            columns_of(cols, &format!("[datasets.\"{name}\".columns]"), path)?;
                        self.datasets.push((name.clone(), cols));
                    }
                }
                other => {
                    return Err(file_err(format!(
                        "unknown key '{other}'; expected [columns] or [datasets.\"NAME\".columns]"
                    )));
                }
            }
        }
        Ok(())
    }

    /// True when nothing was given.
    pub fn is_empty(&self) -> bool {
        self.args.is_empty() && self.file_columns.is_empty() && self.datasets.is_empty()
    }

    /// The user's kind for a column of a dataset, if any (most specific wins).
    pub fn lookup(&self, dataset: &str, column: &str) -> Option<FieldKind> {
        self.datasets
            .iter()
            .filter(|(name, _)| name == dataset)
            .find_map(|(_, cols)| find(cols, column))
            .or_else(|| find(&self.args, column))
            .or_else(|| find(&self.file_columns, column))
    }

    /// Entries that name no column of the given datasets (likely typos), described
    /// for a warning.
    pub fn unmatched(&self, datasets: &[DatasetInfo]) -> Vec<String> {
        self.unmatched_saying(datasets, "is in no dataset")
    }

    /// [`Overrides::unmatched`], saying `missing` of a column no dataset has (a
    /// register: "is not a column of the register").
    pub fn unmatched_saying(&self, datasets: &[DatasetInfo], missing: &str) -> Vec<String> {
        let has = |ds: &DatasetInfo, col: &str| ds.columns.iter().any(|c| same_column(c, col));
        let mut out = Vec::new();
        for (col, _) in self.args.iter().chain(&self.file_columns) {
            if !datasets.iter().any(|d| has(d, col)) {
                out.push(format!("column '{col}' {missing}"));
            }
        }
        for (name, cols) in &self.datasets {
            match datasets.iter().find(|d| &d.name == name) {
                None => out.push(format!("no dataset named '{name}'")),
                Some(d) => {
                    for (col, _) in cols {
                        if !has(d, col) {
                            out.push(format!("dataset '{name}' has no column '{col}'"));
                        }
                    }
                }
            }
        }
        out
    }
}

fn same_column(a: &str, b: &str) -> bool {
    a == b || a.trim().eq_ignore_ascii_case(b.trim())
}

fn find(list: &[(String, FieldKind)], column: &str) -> Option<FieldKind> {
    // Later entries win over earlier ones, exact names over case-folded ones.
    list.iter()
        .rev()
        .find(|(c, _)| c == column)
        .or_else(|| list.iter().rev().find(|(c, _)| same_column(c, column)))
        .map(|(_, k)| *k)
}

/// `COLUMN = "KIND"` pairs of a table; nested tables (an unquoted dotted key
/// such as `claimant.name.first`) flatten back into dotted column names.
fn columns_of(
    t: &toml::Table,
    context: &str,
    path: &Path,
) -> Result<Vec<(String, FieldKind)>, MappingError> {
    let mut out = Vec::new();
    flatten(t, "", context, path, &mut out)?;
    Ok(out)
}

fn flatten(
    t: &toml::Table,
    prefix: &str,
    context: &str,
    path: &Path,
    out: &mut Vec<(String, FieldKind)>,
) -> Result<(), MappingError> {
    for (k, v) in t {
        let column = format!("{prefix}{k}");
        match v {
            toml::Value::String(kind) => {
                let kind = kind
                    .parse::<FieldKind>()
                    .map_err(|source| MappingError::Kind {
                        context: format!("mapping file {}, {context} \"{column}\"", path.display()),
                        source,
                    })?;
                out.push((column, kind));
            }
            toml::Value::Table(inner) => flatten(inner, &format!("{column}."), context, path, out)?,
            _ => {
                return Err(MappingError::File {
                    path: path.to_path_buf(),
                    message: format!(
                        "{context} \"{column}\": the kind must be a string such as \"email\""
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Decide every column's kind: given, else from the header, else from values.
/// Bare `First` and `Last` headers say nothing alone, but side by side in one
/// dataset they are a person's names (see [`name_pairs`]).
pub fn map_dataset(
    dataset: &str,
    columns: &[String],
    sample: &[Fields],
    overrides: &Overrides,
) -> Vec<ColumnMap> {
    let mut map: Vec<ColumnMap> = columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let (kind, origin) = if let Some(k) = overrides.lookup(dataset, column) {
                (Some(k), Origin::Given)
            } else if let Some(k) = kind_from_header(column) {
                (Some(k), Origin::Header)
            } else if let Some(k) = (!never_sniff(column))
                .then(|| kind_from_values(sample.iter().flat_map(|f| f.values(i))))
                .flatten()
            {
                (Some(k), Origin::Values)
            } else {
                (None, Origin::None)
            };
            ColumnMap {
                column: column.clone(),
                kind,
                origin,
                order: Default::default(),
                person: None,
            }
        })
        .collect();
    name_twins(&mut map, sample);
    name_pairs(&mut map, sample);
    // Names from values only for what neither the header nor a pair decided.
    for (i, m) in map.iter_mut().enumerate() {
        if m.kind.is_none() && m.origin == Origin::None && !never_sniff(&m.column) {
            m.kind = names_from_values(&column_values(sample, i));
            if m.kind.is_some() {
                m.origin = Origin::Values;
            }
        }
    }
    family_beside_given(&mut map, sample);
    // US exports write dates month first: read a column so when its values say so.
    for (i, m) in map.iter_mut().enumerate() {
        if m.kind == Some(FieldKind::Dob) {
            m.order = crate::normalize::date::column_order(column_values(sample, i));
        }
    }
    person_groups(&mut map, sample);
    map
}

/// Maps bare `first` / `given` and `last` / `family` headers (`First`, `LAST`,
/// `Given`) to first and last names when a dataset has one of each, no other
/// column already holds that name, and the sampled values of both read as names
/// (no digits); a bare `middle` beside them becomes the middle name. Each word
/// alone is left unmapped, and so is a pair of dates: `First` and `Last` might be
/// a first and a last visit. Under a JSON parent (`applicant.first`,
/// `partner.first`) each parent's pair is its own person's, mapped unless a column
/// under that same parent already holds the name.
fn name_pairs(map: &mut [ColumnMap], sample: &[Fields]) {
    let mut parents: Vec<String> = Vec::new();
    for m in map.iter() {
        if bare(m, &["first", "given"]) {
            let parent = split_leaf(&m.column).0;
            if !parents.contains(&parent) {
                parents.push(parent);
            }
        }
    }
    for parent in parents {
        name_pair_under(map, sample, &parent);
    }
}

/// A JSON path's last step counts (`person.first`) and its parent (`person`).
fn split_leaf(c: &str) -> (String, String) {
    match c.rsplit_once('.') {
        Some((parent, leaf)) => (parent.to_string(), compact(leaf)),
        None => (String::new(), compact(c)),
    }
}

/// An unmapped column whose (last) step is one of `words`.
fn bare(m: &ColumnMap, words: &[&str]) -> bool {
    m.kind.is_none() && words.contains(&split_leaf(&m.column).1.as_str())
}

/// [`name_pairs`] for the pair under one parent (`""`: top-level columns).
fn name_pair_under(map: &mut [ColumnMap], sample: &[Fields], parent: &str) {
    let beside =
        |m: &ColumnMap, words: &[&str]| bare(m, words) && split_leaf(&m.column).0 == parent;
    let Some(first) = map.iter().position(|m| beside(m, &["first", "given"])) else {
        return;
    };
    let Some(last) = map.iter().position(|m| beside(m, &["last", "family"])) else {
        return;
    };
    // Another parent's names are another person's.
    let has = |map: &[ColumnMap], kind: FieldKind| {
        map.iter().any(|m| {
            m.kind == Some(kind) && (parent.is_empty() || split_leaf(&m.column).0 == parent)
        })
    };
    if has(map, FieldKind::FirstName) || has(map, FieldKind::LastName) {
        return;
    }
    // At least 80% of the non-empty sampled values without a digit.
    let names = |col: usize| {
        let values = column_values(sample, col);
        let wordy = values
            .iter()
            .filter(|v| !v.bytes().any(|b| b.is_ascii_digit()))
            .count();
        wordy * 5 >= values.len() * 4
    };
    if !names(first) || !names(last) {
        return;
    }
    let middle = map.iter().position(|m| beside(m, &["middle"]));
    for (at, kind) in [
        (Some(first), FieldKind::FirstName),
        (Some(last), FieldKind::LastName),
        (middle, FieldKind::MiddleName),
    ] {
        if let Some(m) = at.and_then(|at| map.get_mut(at)) {
            m.kind = Some(kind);
            m.origin = Origin::Header;
        }
    }
}

/// Two adjacent columns with one name header (`Name,Name`), both of single words:
/// a form export's given and family names, not two full names. The column whose
/// values are more often given names the nickname table knows is the first name
/// (the left one on a tie). Left alone when another column holds a first or last
/// name, or when either column's sample is empty or holds several words.
fn name_twins(map: &mut [ColumnMap], sample: &[Fields]) {
    let has = |map: &[ColumnMap], kind: FieldKind| map.iter().any(|m| m.kind == Some(kind));
    if has(map, FieldKind::FirstName) || has(map, FieldKind::LastName) {
        return;
    }
    let header_full =
        |m: &ColumnMap| m.kind == Some(FieldKind::FullName) && m.origin == Origin::Header;
    let Some(at) = (1..map.len()).find(|&i| {
        header_full(&map[i - 1])
            && header_full(&map[i])
            && compact(&map[i - 1].column) == compact(&map[i].column)
    }) else {
        return;
    };
    let (left, right) = (column_values(sample, at - 1), column_values(sample, at));
    let single = |values: &[&str]| {
        !values.is_empty()
            && values
                .iter()
                .filter(|v| is_wordy(v) && v.split_whitespace().count() == 1)
                .count()
                * 5
                >= values.len() * 4
    };
    if !single(&left) || !single(&right) {
        return;
    }
    // Shares of known given names, compared as fractions.
    let given = |values: &[&str]| values.iter().filter(|v| is_known_given(v)).count();
    let right_first = given(&right) * left.len() > given(&left) * right.len();
    let (first, last) = if right_first {
        (at, at - 1)
    } else {
        (at - 1, at)
    };
    for (col, kind) in [(first, FieldKind::FirstName), (last, FieldKind::LastName)] {
        if let Some(m) = map.get_mut(col) {
            m.kind = Some(kind);
            m.origin = Origin::Values;
        }
    }
}

/// The sampled values of column `col`, trimmed, blanks left out.
fn column_values(sample: &[Fields], col: usize) -> Vec<&str> {
    sample
        .iter()
        .flat_map(|f| f.values(col))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect()
}

/// A header reduced to lower-case ASCII letters and digits, with any
/// parenthesised note (`DOB (dd/mm/yyyy)`) dropped: how two headers are told to
/// name the same column.
pub fn compact(s: &str) -> String {
    let mut depth = 0u32;
    let mut out = String::with_capacity(s.len());
    for c in deunicode::deunicode(s).chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            c if depth == 0 && c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
            _ => {}
        }
    }
    out
}

/// Whose the value is, or which one: words that prefix a header without
/// changing what kind it is (`Customer Email`, `Home Phone`, `Claimant DOB`).
const QUALIFIERS: [&str; 34] = [
    "primary",
    "home",
    "work",
    "personal",
    "contact",
    "main",
    "alternative",
    "alt",
    "other",
    "secondary",
    "current",
    "previous",
    "prev",
    "customer",
    "cust",
    "client",
    "resident",
    "claimant",
    "applicant",
    "tenant",
    "accountholder",
    "holder",
    "person",
    "patient",
    "member",
    "billing",
    "mailing",
    "correspondence",
    "residential",
    "your",
    "the",
    "registered",
    "daytime",
    "emergency",
];

/// Header words that say nothing on their own but do under a parent: `name.first`,
/// `address.line1`, `phone.number`.
const NEEDS_PARENT: [&str; 10] = [
    "first", "last", "middle", "given", "family", "line", "number", "no", "num", "code",
];

/// Parents under which a name is not a person's.
const NOT_PEOPLE: [&str; 14] = [
    "company",
    "organisation",
    "organization",
    "business",
    "employer",
    "school",
    "bank",
    "file",
    "product",
    "street",
    "road",
    "team",
    "project",
    "town",
];

/// The kind a compacted header names, by exact vocabulary.
fn dictionary(c: &str) -> Option<FieldKind> {
    use FieldKind::*;
    Some(match c {
        "email" | "emails" | "emailaddress" | "emailaddr" | "mail" | "emailid"
        | "emailaddresses" => Email,
        "phone" | "phones" | "phoneno" | "phonenumber" | "phonenum" | "phonenumbers" | "tel"
        | "telno" | "telnumber" | "telephone" | "telephoneno" | "telephonenumber" | "mobile"
        | "mobileno" | "mobilenumber" | "mobilephone" | "mob" | "cell" | "cellphone" | "cellno"
        | "landline" | "contactnumber" | "contactno" | "contacttel" | "msisdn" | "phonemobile"
        | "telmobile" | "sms" | "smsnumber" => Phone,
        "nino"
        | "ni"
        | "ninumber"
        | "ninum"
        | "nationalinsurance"
        | "nationalinsuranceno"
        | "nationalinsurancenumber"
        | "nationalinsurancenum"
        | "nationalinsnumber" => NiNumber,
        "accountref"
        | "accountreference"
        | "acctref"
        | "ref"
        | "reference"
        | "referenceno"
        | "referencenumber"
        | "customerref"
        | "customerreference"
        | "customerno"
        | "customernumber"
        | "claimref"
        | "claimno"
        | "claimnumber"
        | "claimreference"
        | "caseref"
        | "caseno"
        | "casenumber"
        | "casereference"
        | "counciltaxref"
        | "counciltaxreference"
        | "counciltaxaccount"
        | "counciltaxaccountno"
        | "counciltaxaccountnumber"
        | "ctaxref"
        | "ctaxaccount"
        | "ssn"
        | "socialsecuritynumber"
        | "socialsecurityno"
        | "membershipno"
        | "membershipnumber"
        | "tenancyref"
        | "tenancyreference"
        | "policyno"
        | "policynumber"
        | "applicationref"
        | "applicationno"
        | "applicationnumber"
        | "benefitref"
        // Claim, permit, membership and electoral references name one person's
        // record in one system: what DESIGN.md calls an account reference.
        | "claimid"
        | "permitno"
        | "permitnumber"
        | "permitref"
        | "memberid"
        | "memberno"
        | "membernumber"
        | "electorno"
        | "electornumber"
        | "libraryno"
        | "librarycardno" => AccountRef,
        "uprn" => Uprn,
        "accountno" | "accountnumber" | "accountnum" | "acctno" | "acctnumber" | "bankaccount"
        | "bankaccountno" | "bankaccountnumber" | "bankacc" | "bankaccno" | "bankacct" => {
            BankAccount
        }
        "sortcode" | "banksortcode" | "sortcd" => SortCode,
        "cardnumber" | "cardno" | "cardnum" | "creditcard" | "creditcardnumber"
        | "creditcardno" | "ccnumber" | "ccno" | "pan" | "debitcard" | "debitcardnumber" => {
            CardNumber
        }
        "passport" | "passportno" | "passportnumber" | "passportnum" => Passport,
        "drivinglicence"
        | "drivinglicense"
        | "drivinglicenceno"
        | "drivinglicencenumber"
        | "drivinglicenseno"
        | "drivinglicensenumber"
        | "licenceno"
        | "licencenumber"
        | "licenseno"
        | "licensenumber"
        | "dln"
        | "driverlicense"
        | "driverslicense"
        | "driverlicence" => DrivingLicence,
        "username" | "login" | "loginname" | "screenname" | "handle" | "nickname" => Username,
        "ip" | "ipaddress" | "ipaddr" | "lastip" | "lastloginip" | "remoteaddr" | "remoteip"
        | "clientip" | "signupip" | "regip" | "ipv4" | "ipv6" => Ip,
        "firstname" | "forename" | "forenames" | "givenname" | "givennames" | "fname"
        | "christianname" | "namefirst" | "namegiven" | "firstnames" | "namesfirst"
        | "namesgiven" => FirstName,
        "middlename" | "middlenames" | "middleinitial" | "mname" | "namemiddle" | "othernames" => {
            MiddleName
        }
        "lastname" | "surname" | "familyname" | "lname" | "namelast" | "namefamily"
        | "namesurname" | "namessurname" | "nameslast" => LastName,
        "name" | "fullname" | "namefull" | "holdername" | "accountholdername" | "accountname"
        | "personname" | "nameofholder" | "displayname" | "names" | "accountholder"
        | "accountholders" | "holder" | "holders" => FullName,
        "dob" | "dateofbirth" | "birthdate" | "birthday" | "dobirth" | "bday" | "birthdt"
        | "born" | "bornon" | "birth" => Dob,
        "gender" | "sex" => Gender,
        "houseno" | "housenumber" | "housenum" | "buildingnumber" | "buildingno"
        | "streetnumber" | "streetno" | "doornumber" | "propertynumber" | "addressnumber" => {
            HouseNumber
        }
        "street" | "streetname" | "road" | "roadname" | "thoroughfare" | "addressstreet" => Street,
        "address" | "addressline" | "addr" | "addrline" | "fulladdress" | "postaladdress"
        | "addresses" | "addresslines" | "propertyaddress" | "streetaddress" | "premises"
        | "line" => Address,
        "town" | "city" | "posttown" | "towncity" | "citytown" | "locality" | "addresstown"
        | "addresscity" => Town,
        "postcode" | "postalcode" | "zip" | "zipcode" | "pcode" | "postcd" | "postzip"
        | "addresspostcode" => Postcode,
        "dateopened" | "opened" | "openedon" | "opendate" | "accountopened" | "created"
        | "createdat" | "createdon" | "createddate" | "datecreated" | "creationdate"
        | "recorddate" | "registered" | "registeredon" | "dateregistered" | "registrationdate"
        | "applicationdate" | "dateofapplication" | "claimdate" | "dateofclaim" | "date"
        | "datereceived" | "received" | "submitted" | "submittedat" | "timestamp" | "entrydate"
        | "dateadded" | "added" | "signupdate" | "joined" | "joindate" | "datejoined"
        | "startdate" | "tenancystart" | "moveindate" | "movedin" | "paymentdate" | "datepaid"
        | "paidon" | "transactiondate" => RecordDate,
        _ => return None,
    })
}

/// Look a compacted name up, also without trailing digits (`address1`,
/// `phone2`), without leading qualifiers (`customeremail`) and without a prefix
/// naming another person of the record (`partnerforename`: [`other_person`]).
fn lookup_compact(c: &str) -> Option<FieldKind> {
    lookup_plain(c).or_else(|| other_person(c).map(|(_, kind)| kind))
}

/// Header prefixes (compacted) naming another person of the record than its main
/// one: `Partner Forename`, `Spouse DOB`, `Joint Tenant Name`, `2nd Applicant
/// Surname`. Longer prefixes first.
const OTHER_PERSON: [&str; 28] = [
    "jointaccountholder",
    "jointliableparty",
    "secondapplicant",
    "secondoccupant",
    "secondresident",
    "secondclaimant",
    "jointapplicant",
    "secondpartner",
    "jointclaimant",
    "secondperson",
    "secondholder",
    "secondtenant",
    "civilpartner",
    "jointholder",
    "jointtenant",
    "secondadult",
    "secondowner",
    "jointowner",
    "jointparty",
    "otheradult",
    // `Partner's DOB` compacts to `partnersdob`.
    "partners",
    "partner",
    "husband",
    "spouses",
    "spouse",
    "wife",
    "jlp",
    // Last: every `joint…` above is longer.
    "joint",
];

/// Words numbered to say which person a header is about (`Applicant 2 Name`,
/// `Adult1 DOB`, `Person 3 Surname`).
const NUMBERED_PERSON: [&str; 11] = [
    "adult",
    "applicant",
    "claimant",
    "tenant",
    "holder",
    "person",
    "occupant",
    "member",
    "resident",
    "party",
    "owner",
];

/// The kinds a bare `joint` prefix may head (`Joint Forename`, not `Joint Account
/// No`: a joint account is the household's).
fn joint_kind(kind: FieldKind) -> bool {
    use FieldKind::*;
    matches!(
        kind,
        FirstName | MiddleName | LastName | FullName | Dob | Gender | NiNumber | Email | Phone
    )
}

/// A compacted header that names another person of the record (`partnerdob`,
/// `2ndapplicantsurname`, `applicant2name`): that person (`partner`,
/// `secondapplicant`, `applicant2`) and the kind the rest of the header names.
fn other_person(c: &str) -> Option<(String, FieldKind)> {
    // `2nd` and `second` are one word.
    let c = match c.strip_prefix("2nd") {
        Some(rest) => format!("second{rest}"),
        None => c.to_string(),
    };
    for prefix in OTHER_PERSON {
        let Some(rest) = c.strip_prefix(prefix) else {
            continue;
        };
        // `Joint Liable Party 2 Name`: the second of them.
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (number, rest) = rest.split_at(digits);
        if !rest.is_empty()
            && let Some(kind) = lookup_plain(rest)
            && (prefix != "joint" || joint_kind(kind))
        {
            let who = match prefix {
                "jlp" => "jointliableparty",
                "partners" => "partner",
                "spouses" => "spouse",
                other => other,
            };
            return Some((format!("{who}{}", number.trim_start_matches('0')), kind));
        }
    }
    for word in NUMBERED_PERSON {
        let Some(rest) = c.strip_prefix(word) else {
            continue;
        };
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (number, rest) = rest.split_at(digits);
        if !number.is_empty()
            && !rest.is_empty()
            && let Some(kind) = lookup_plain(rest)
        {
            return Some((format!("{word}{}", number.trim_start_matches('0')), kind));
        }
    }
    None
}

/// [`lookup_compact`] without other people's prefixes.
fn lookup_plain(c: &str) -> Option<FieldKind> {
    let undigit = |s: &str| {
        s.trim_end_matches(|ch: char| ch.is_ascii_digit())
            .to_string()
    };
    let mut cur = c.to_string();
    for _ in 0..3 {
        if let Some(k) = dictionary(&cur).or_else(|| dictionary(&undigit(&cur))) {
            return Some(k);
        }
        match QUALIFIERS
            .iter()
            .find(|q| cur.starts_with(*q) && cur.len() > q.len())
        {
            Some(q) => cur = cur[q.len()..].to_string(),
            None => return None,
        }
    }
    None
}

/// Dates that are not when the record was made.
const OTHER_DATES: [&str; 8] = [
    "birth", "expir", "due", "end", "leav", "death", "closed", "valid",
];

/// The kind a header name (or dotted JSON path) says, if it says one.
pub fn kind_from_header(column: &str) -> Option<FieldKind> {
    let whole = compact(column);
    if whole.is_empty() {
        return None;
    }
    let kind = kind_from_words(column, &whole);
    // `Name (First)`, `Name [Surname]`: the note in brackets says which name.
    if kind == Some(FieldKind::FullName)
        && let Some(part) = bracketed_name_part(column)
    {
        return Some(part);
    }
    if kind.is_none() && whole.ends_with("date") && !OTHER_DATES.iter().any(|w| whole.contains(w)) {
        // `Claim Start Date`, `visit_date`: when something happened to the record.
        return Some(FieldKind::RecordDate);
    }
    kind
}

/// The part of a name a bracketed note names (`(First)`, `[Last Name]`,
/// `(Surname)`, `(Given)`): a first, middle or last name, if it names one.
fn bracketed_name_part(column: &str) -> Option<FieldKind> {
    let mut depth = 0u32;
    let mut inner = String::new();
    for c in deunicode::deunicode(column).chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            c if depth > 0 && c.is_ascii_alphanumeric() => inner.push(c.to_ascii_lowercase()),
            _ => {}
        }
    }
    if inner.is_empty() {
        return None;
    }
    [
        inner.clone(),
        format!("name{inner}"),
        format!("{inner}name"),
    ]
    .iter()
    .find_map(|c| dictionary(c))
    .filter(|k| {
        matches!(
            k,
            FieldKind::FirstName | FieldKind::MiddleName | FieldKind::LastName
        )
    })
}

fn kind_from_words(column: &str, whole: &str) -> Option<FieldKind> {
    if !NEEDS_PARENT.contains(&whole.trim_end_matches(|c: char| c.is_ascii_digit()))
        && let Some(k) = lookup_compact(whole)
    {
        return Some(k);
    }
    // A dotted path: the last segment, read with its parent for context.
    let mut segs = column.rsplit('.');
    let last = compact(segs.next()?);
    let parent = segs.next().map(compact).unwrap_or_default();
    if parent.is_empty() {
        return None;
    }
    if let Some(k) = lookup_compact(&format!("{parent}{last}")) {
        return Some(k);
    }
    if NEEDS_PARENT.contains(&last.trim_end_matches(|c: char| c.is_ascii_digit())) {
        return None;
    }
    let k = lookup_compact(&last)?;
    if k == FieldKind::FullName && NOT_PEOPLE.contains(&parent.as_str()) {
        return None;
    }
    Some(k)
}

/// Headers that are never mapped from their values, whatever they hold.
fn never_sniff(column: &str) -> bool {
    let c = compact(column);
    const NEVER: [&str; 16] = [
        "title",
        "balance",
        "notes",
        "note",
        "comments",
        "comment",
        "description",
        "amount",
        "status",
        "id",
        "type",
        "category",
        "memo",
        "remarks",
        "message",
        "text",
    ];
    NEVER.contains(&c.as_str()) || c.starts_with("vehicle") || c.ends_with("id")
}

/// The kind most sample values have the shape of, if any (≥ 80% of at least
/// two non-empty values).
pub fn kind_from_values<'a>(values: impl Iterator<Item = &'a str>) -> Option<FieldKind> {
    let values: Vec<&str> = values.map(str::trim).filter(|v| !v.is_empty()).collect();
    if values.len() < 2 {
        return None;
    }
    let share =
        |f: &dyn Fn(&str) -> bool| values.iter().filter(|v| f(v)).count() * 5 >= values.len() * 4;
    if share(&looks_like_email) {
        return Some(FieldKind::Email);
    }
    if share(&looks_like_ni) {
        return Some(FieldKind::NiNumber);
    }
    if share(&looks_like_postcode) {
        return Some(FieldKind::Postcode);
    }
    if share(&|v| date_year(v).is_some()) {
        let mut years: Vec<i32> = values.iter().filter_map(|v| date_year(v)).collect();
        years.sort_unstable();
        let median = years.get(years.len() / 2).copied().unwrap_or(0);
        return Some(if median < 2005 {
            FieldKind::Dob
        } else {
            FieldKind::RecordDate
        });
    }
    if share(&looks_like_phone) {
        return Some(FieldKind::Phone);
    }
    None
}

/// Given or full names, known by the given names the nickname table holds: at least
/// half the values (a register's first names are about half in it; family names
/// rarely, about one in forty), and 80% shaped like names.
fn names_from_values(values: &[&str]) -> Option<FieldKind> {
    if values.len() < 2 {
        return None;
    }
    let share =
        |f: &dyn Fn(&str) -> bool| values.iter().filter(|v| f(v)).count() * 5 >= values.len() * 4;
    let half =
        |f: &dyn Fn(&str) -> bool| values.iter().filter(|v| f(v)).count() * 2 >= values.len();
    if share(&|v| is_wordy(v) && v.split_whitespace().count() == 1) && half(&is_known_given) {
        return Some(FieldKind::FirstName);
    }
    let given_first = |v: &str| {
        split_full(v)
            .first
            .is_some_and(|f| !given_groups(&f).is_empty())
    };
    if share(&|v| is_wordy(v) && (2..=4).contains(&v.split_whitespace().count()))
        && half(&given_first)
    {
        return Some(FieldKind::FullName);
    }
    None
}

/// Letters with at most the punctuation names carry (`O'Brien`, `Smith-Jones`,
/// `Doe, Jane`, `J.`): no digit, no `@`.
fn is_wordy(v: &str) -> bool {
    v.chars().any(char::is_alphabetic)
        && v.chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.' | ','))
}

/// A given-name column found from its values (`Jane`, `John`…) with no family name
/// column: the unmapped column of single words beside it, after it as in
/// `Jane,Doe` or else before it as in `Doe,Jane`, holds the family names.
fn family_beside_given(map: &mut [ColumnMap], sample: &[Fields]) {
    let has = |kind: FieldKind| map.iter().any(|m| m.kind == Some(kind));
    if has(FieldKind::LastName) || has(FieldKind::FullName) {
        return;
    }
    let mut given = map
        .iter()
        .enumerate()
        .filter(|(_, m)| m.kind == Some(FieldKind::FirstName));
    let (Some((at, m)), None) = (given.next(), given.next()) else {
        return;
    };
    if m.origin != Origin::Values {
        return;
    }
    let single_words = |col: usize| {
        let values = column_values(sample, col);
        values.len() >= 2
            && values
                .iter()
                .filter(|v| is_wordy(v) && v.split_whitespace().count() == 1)
                .count()
                * 5
                >= values.len() * 4
    };
    let free =
        |m: &ColumnMap| m.kind.is_none() && m.origin == Origin::None && !never_sniff(&m.column);
    let beside = [Some(at + 1), at.checked_sub(1)]
        .into_iter()
        .flatten()
        .find(|&i| map.get(i).is_some_and(free) && single_words(i));
    if let Some(m) = beside.and_then(|i| map.get_mut(i)) {
        m.kind = Some(FieldKind::LastName);
        m.origin = Origin::Values;
    }
}

/// Whose a column is when a record holds several people ([`PersonGroup`]):
///
/// - a JSON object holding a person's names (`applicant.first`, `partner.name`,
///   `claimant.name.first`: a `name` object is its parent's) is one person, with
///   every column under it (`partner.dob`, `partner.email`, `partner.address.*`);
///   each element of an array at or above it (`members[]`) is a person of its own.
///   Objects that hold another name of the same person (`aliases`,
///   `previous_names`) or a place's (`address.name`) are no person of their own;
/// - a header naming another person (`Partner Forename`, `Spouse DOB`,
///   `Applicant 2 Name`) is that person's;
/// - names, dates of birth and genders outside those are the main person's, when
///   the record names one there;
/// - every other column is shared by all the record's people.
///
/// Columns are given a group only when records may hold several people: two
/// groups or more, or one the sample shows in an array; otherwise every record
/// is one person, as if there were no groups.
pub fn person_groups(map: &mut [ColumnMap], sample: &[Fields]) {
    #[derive(Clone, PartialEq)]
    enum Key {
        Main,
        Object(String),
        Header(String),
    }
    let name = |k: Option<FieldKind>| {
        matches!(
            k,
            Some(
                FieldKind::FirstName
                    | FieldKind::MiddleName
                    | FieldKind::LastName
                    | FieldKind::FullName
            )
        )
    };
    let personal =
        |k: Option<FieldKind>| name(k) || matches!(k, Some(FieldKind::Dob | FieldKind::Gender));
    let header_person = |m: &ColumnMap| {
        (!m.column.contains('.'))
            .then(|| other_person(&compact(&m.column)).map(|(who, _)| who))
            .flatten()
    };
    let mut objects: Vec<String> = Vec::new();
    let mut main_named = false;
    for m in map.iter().filter(|m| name(m.kind)) {
        if header_person(m).is_some() {
            continue;
        }
        match person_object(&m.column) {
            Some(object) if object.is_empty() => main_named = true,
            Some(object) if !objects.contains(&object) => objects.push(object),
            _ => {}
        }
    }
    let in_object = |m: &ColumnMap| {
        objects.iter().any(|o| {
            m.column
                .strip_prefix(o.as_str())
                .is_some_and(|rest| rest.starts_with('.'))
        })
    };
    // Identifier kinds another person of the row has a column of (`Partner Email`,
    // `partner.email`): beside those, the row's own column of that kind is its main
    // person's, not the household's (the partner's letter must not list it).
    let others_kinds: Vec<FieldKind> = map
        .iter()
        .filter(|m| header_person(m).is_some() || in_object(m))
        .filter_map(|m| m.kind.filter(|k| k.is_identifier()))
        .collect();
    let keys: Vec<Option<Key>> = map
        .iter()
        .map(|m| {
            if let Some(who) = header_person(m) {
                return Some(Key::Header(who));
            }
            let object = objects
                .iter()
                .filter(|o| {
                    m.column
                        .strip_prefix(o.as_str())
                        .is_some_and(|rest| rest.starts_with('.'))
                })
                .max_by_key(|o| o.len());
            if let Some(o) = object {
                return Some(Key::Object(o.clone()));
            }
            let own_identifier = m.kind.is_some_and(|k| others_kinds.contains(&k));
            (main_named && (personal(m.kind) || own_identifier)).then_some(Key::Main)
        })
        .collect();
    let mut groups: Vec<(Key, bool)> = Vec::new();
    for (col, key) in keys.iter().enumerate() {
        let Some(key) = key else { continue };
        // In an array when a sampled value sits in an array at or above the object.
        let in_array = match key {
            Key::Object(o) => sample.iter().any(|f| {
                f.elements(col)
                    .any(|(_, e)| e.is_some_and(|e| e.array as usize <= o.len()))
            }),
            _ => false,
        };
        match groups.iter_mut().find(|(k, _)| k == key) {
            Some((_, array)) => *array |= in_array,
            None => groups.push((key.clone(), in_array)),
        }
    }
    if groups.len() < 2 && !groups.iter().any(|(_, array)| *array) {
        return;
    }
    for (m, key) in map.iter_mut().zip(&keys) {
        let Some(key) = key else { continue };
        let Some(at) = groups.iter().position(|(k, _)| k == key) else {
            continue;
        };
        m.person = Some(PersonGroup {
            number: u16::try_from(at + 1).unwrap_or(u16::MAX),
            path: match key {
                Key::Object(o) => o.clone(),
                _ => String::new(),
            },
            array: groups.get(at).is_some_and(|(_, array)| *array),
        });
    }
}

/// Object steps that hold another name of the same person, or a name that is a
/// place's or an organisation's: no person of their own.
const SAME_PERSON_OBJECTS: [&str; 12] = [
    "alias",
    "aliases",
    "aka",
    "akas",
    "previousname",
    "previousnames",
    "formername",
    "formernames",
    "othernames",
    "maidenname",
    "knownas",
    "names",
];

/// Objects whose `name` is not a person's (a house name, a centre).
const PLACE_OBJECTS: [&str; 12] = [
    "address",
    "addresses",
    "property",
    "premises",
    "building",
    "home",
    "location",
    "site",
    "venue",
    "centre",
    "center",
    "office",
];

/// The JSON object a name column's person is (`applicant` for
/// `applicant.first` and `applicant.name.first`); `""` for the record itself
/// (`first_name`, `name.first`); `None` when the name is not a person's of its own
/// (under an address or a company).
fn person_object(column: &str) -> Option<String> {
    let mut object = column.rsplit_once('.').map_or("", |(parent, _)| parent);
    loop {
        let (up, step) = match object.rsplit_once('.') {
            Some((up, step)) => (up, step),
            None => ("", object),
        };
        if step.is_empty() {
            return Some(String::new());
        }
        let c = compact(step);
        if PLACE_OBJECTS.contains(&c.as_str()) || NOT_PEOPLE.contains(&c.as_str()) {
            return None;
        }
        if dictionary(&c) == Some(FieldKind::FullName) || SAME_PERSON_OBJECTS.contains(&c.as_str())
        {
            object = up;
            continue;
        }
        return Some(object.to_string());
    }
}

/// The shape of one value, as far as telling a header row from a data row needs:
/// the shapes a column name never has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    Email,
    Date,
    NiNumber,
    Postcode,
    /// Digits with at most separators, signs and currency around them: an
    /// amount, a count, a reference, a phone number.
    Number,
}

/// The shape of a (trimmed) value, if it has one of the [`Shape`]s.
pub(crate) fn value_shape(v: &str) -> Option<Shape> {
    if looks_like_email(v) {
        Some(Shape::Email)
    } else if date_year(v).is_some() {
        Some(Shape::Date)
    } else if looks_like_ni(v) {
        Some(Shape::NiNumber)
    } else if looks_like_postcode(v) {
        Some(Shape::Postcode)
    } else if v.bytes().any(|b| b.is_ascii_digit())
        && v.chars()
            .all(|c| c.is_ascii_digit() || " -+.,()%£$€".contains(c))
    {
        Some(Shape::Number)
    } else {
        None
    }
}

fn looks_like_email(v: &str) -> bool {
    match v.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !v.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

/// Two letters, six digits, optional suffix letter (spaces ignored).
fn looks_like_ni(v: &str) -> bool {
    let s: Vec<u8> = v.bytes().filter(|b| *b != b' ').collect();
    let stem = s.len() == 8 || (s.len() == 9 && s[8].is_ascii_alphabetic());
    stem && s[..2].iter().all(u8::is_ascii_alphabetic) && s[2..8].iter().all(u8::is_ascii_digit)
}

/// UK postcode shape: `A9 9AA`, `A99 9AA`, `AA9 9AA`, `AA99 9AA`, `A9A 9AA`, `AA9A 9AA`.
fn looks_like_postcode(v: &str) -> bool {
    let s: Vec<u8> = v
        .bytes()
        .filter(|b| *b != b' ')
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if !(5..=7).contains(&s.len()) {
        return false;
    }
    let (outward, inward) = s.split_at(s.len() - 3);
    let inward_ok = inward[0].is_ascii_digit() && inward[1..].iter().all(u8::is_ascii_alphabetic);
    let outward_ok = match outward {
        [a, d] => a.is_ascii_alphabetic() && d.is_ascii_digit(),
        [a, b, c] => {
            a.is_ascii_alphabetic()
                && (b.is_ascii_alphanumeric())
                && c.is_ascii_alphanumeric()
                && (b.is_ascii_digit() || c.is_ascii_digit())
        }
        [a, b, c, d] => {
            a.is_ascii_alphabetic()
                && b.is_ascii_alphabetic()
                && c.is_ascii_digit()
                && d.is_ascii_alphanumeric()
        }
        _ => false,
    };
    inward_ok && outward_ok
}

/// A national or international phone number: 10 to 13 digits, starting with 0,
/// `+` or 44 (separators ignored).
fn looks_like_phone(v: &str) -> bool {
    let plus = v.trim_start().starts_with('+');
    if v.chars()
        .any(|c| !(c.is_ascii_digit() || " -()+.".contains(c)))
    {
        return false;
    }
    let digits: String = v.chars().filter(char::is_ascii_digit).collect();
    (10..=13).contains(&digits.len())
        && (plus || digits.starts_with('0') || digits.starts_with("44"))
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// The year of a date in a common shape (ISO, day-first with `/`, `-` or `.`,
/// `YYYYMMDD`, `3 Feb 1980`), if it is one.
fn date_year(v: &str) -> Option<i32> {
    let v = v.trim();
    // Drop a time part.
    let date = v.split(['T', ' ']).next().unwrap_or(v);
    let valid = |y: i32, m: u32, d: u32| {
        (1900..=2100).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d)
    };
    let nums: Vec<&str> = date.split(['-', '/', '.']).collect();
    if let [a, b, c] = nums.as_slice()
        && [a, b, c]
            .iter()
            .all(|s| !s.is_empty() && s.bytes().all(|x| x.is_ascii_digit()))
    {
        let (a_n, b_n, c_n) = (
            a.parse::<i32>().ok()?,
            b.parse::<u32>().ok()?,
            c.parse::<i32>().ok()?,
        );
        if a.len() == 4 {
            let d = u32::try_from(c_n).ok()?;
            return valid(a_n, b_n, d).then_some(a_n);
        }
        if c.len() == 4 {
            let d = u32::try_from(a_n).ok()?;
            // Day-first, or month-first when the "month" cannot be one.
            return (valid(c_n, b_n, d) || valid(c_n, d, b_n)).then_some(c_n);
        }
        return None;
    }
    if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) {
        let y = date.get(..4)?.parse().ok()?;
        let m = date.get(4..6)?.parse().ok()?;
        let d = date.get(6..8)?.parse().ok()?;
        return valid(y, m, d).then_some(y);
    }
    // `3 Feb 1980`, `03-Feb-1980`, `Feb 3, 1980`.
    let words: Vec<String> = v
        .split([' ', '-', ',', '/'])
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if words.len() == 3 {
        let month = words
            .iter()
            .position(|w| w.len() >= 3 && MONTHS.iter().any(|m| w.starts_with(m)))?;
        let year: i32 = words.last()?.parse().ok()?;
        let day_word = if month == 0 { &words[1] } else { &words[0] };
        let day: u32 = day_word
            .trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .parse()
            .ok()?;
        return valid(year, 1, day).then_some(year);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::TextEncoding;
    use FieldKind::*;

    #[test]
    fn realistic_headers() {
        let cases: &[(&str, Option<FieldKind>)] = &[
            ("E-mail Address", Some(Email)),
            ("email", Some(Email)),
            ("Customer Email", Some(Email)),
            ("D.O.B", Some(Dob)),
            ("Date of Birth", Some(Dob)),
            ("DOB (dd/mm/yyyy)", Some(Dob)),
            ("Forename", Some(FirstName)),
            ("Given Name", Some(FirstName)),
            ("Surname", Some(LastName)),
            ("Post Code", Some(Postcode)),
            ("NINO", Some(NiNumber)),
            ("NI Number", Some(NiNumber)),
            ("Tel", Some(Phone)),
            ("Telephone", Some(Phone)),
            ("Mobile", Some(Phone)),
            ("Home Phone", Some(Phone)),
            ("Phone 2", Some(Phone)),
            ("Date Opened", Some(RecordDate)),
            ("Created", Some(RecordDate)),
            ("Account Ref", Some(AccountRef)),
            ("claim_id", Some(AccountRef)),
            ("Permit No", Some(AccountRef)),
            ("member_id", Some(AccountRef)),
            ("Elector No", Some(AccountRef)),
            ("booking_id", None),
            ("UPRN", Some(Uprn)),
            ("Sort Code", Some(SortCode)),
            ("Account No", Some(BankAccount)),
            ("House No", Some(HouseNumber)),
            ("Street", Some(Street)),
            ("Street Name", Some(Street)),
            ("Address Line 1", Some(Address)),
            ("address_line_2", Some(Address)),
            ("Town", Some(Town)),
            ("City", Some(Town)),
            ("Name", Some(FullName)),
            ("Full Name", Some(FullName)),
            ("Holder Name", Some(FullName)),
            ("User Name", Some(Username)),
            ("claimant.name.first", Some(FirstName)),
            ("claimant.name.last", Some(LastName)),
            ("claimant.name", Some(FullName)),
            ("contact.phones", Some(Phone)),
            ("contact.email", Some(Email)),
            ("address.line1", Some(Address)),
            ("address.postcode", Some(Postcode)),
            ("bank.sort_code", Some(SortCode)),
            ("meta.created_at", Some(RecordDate)),
            ("Téléphone", Some(Phone)),
            ("tenancy_start", Some(RecordDate)),
            ("Claim Start Date", Some(RecordDate)),
            ("Expiry Date", None),
            // Not people's data, or not saying which.
            ("Balance", None),
            ("Notes", None),
            ("Title", None),
            ("Vehicle Registration", None),
            ("Company Name", None),
            ("company.name", None),
            ("File Name", None),
            ("email_verified", None),
            ("id", None),
            ("First", None),
            ("line1", None),
            ("", None),
            // Which name a form export's column holds, bracketed or suffixed.
            ("Name (First)", Some(FirstName)),
            ("Name (Last)", Some(LastName)),
            ("Name (Middle)", Some(MiddleName)),
            ("Name [Surname]", Some(LastName)),
            ("Name (First Name)", Some(FirstName)),
            ("Names (Given)", Some(FirstName)),
            ("Name - First", Some(FirstName)),
            ("Name: Last", Some(LastName)),
            ("Name_Last", Some(LastName)),
            ("First Name (Legal)", Some(FirstName)),
            ("Last Name (Surname)", Some(LastName)),
            ("Name (Legal)", Some(FullName)),
            ("Name (as on card)", Some(FullName)),
            // Another person of the record: the rest of the header says the kind.
            ("Partner Forename", Some(FirstName)),
            ("Partner Surname", Some(LastName)),
            ("Partner DOB", Some(Dob)),
            ("Partner NI Number", Some(NiNumber)),
            ("Partner Home Phone", Some(Phone)),
            ("Spouse Date of Birth", Some(Dob)),
            ("Joint Tenant Name", Some(FullName)),
            ("Joint Liable Party Name", Some(FullName)),
            ("JLP Name", Some(FullName)),
            ("Joint Forename", Some(FirstName)),
            ("Partner's Date of Birth", Some(Dob)),
            ("JLP 2 Surname", Some(LastName)),
            ("2nd Applicant Surname", Some(LastName)),
            ("Second Adult DOB", Some(Dob)),
            ("Applicant 2 Name", Some(FullName)),
            ("Adult1 Surname", Some(LastName)),
            ("partner.dob", Some(Dob)),
            // A joint account is the household's; a prefix alone says nothing.
            ("Joint Account No", None),
            ("Partner", None),
            ("Applicant 2", None),
        ];
        for (h, want) in cases {
            assert_eq!(kind_from_header(h), *want, "{h}");
        }
    }

    #[test]
    fn bare_first_and_last_side_by_side_are_names() {
        let o = Overrides::new();
        let kinds = |cols: &[&str]| -> Vec<Option<FieldKind>> {
            let cols: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
            map_dataset("r.csv", &cols, &[], &o)
                .into_iter()
                .map(|m| m.kind)
                .collect()
        };
        assert_eq!(
            kinds(&["id", "First", "Middle", "LAST", "email"]),
            [
                None,
                Some(FirstName),
                Some(MiddleName),
                Some(LastName),
                Some(Email)
            ]
        );
        assert_eq!(
            kinds(&["Given", "Family"]),
            [Some(FirstName), Some(LastName)]
        );
        // One of the pair alone, or beside a column that already names the person,
        // says nothing.
        assert_eq!(kinds(&["Last", "Middle"]), [None, None]);
        assert_eq!(kinds(&["First", "Visits"]), [None, None]);
        assert_eq!(
            kinds(&["Forename", "First", "Last"]),
            [Some(FirstName), None, None]
        );
        // JSON paths pair under one parent (`person.first`, `person.last`), not
        // across two.
        assert_eq!(
            kinds(&["person.first", "person.middle", "person.last"]),
            [Some(FirstName), Some(MiddleName), Some(LastName)]
        );
        assert_eq!(kinds(&["a.first", "b.last"]), [None, None]);
        // Each parent's pair is its own person's, whatever another parent holds.
        assert_eq!(
            kinds(&[
                "applicant.first",
                "applicant.last",
                "partner.first",
                "partner.last"
            ]),
            [
                Some(FirstName),
                Some(LastName),
                Some(FirstName),
                Some(LastName)
            ]
        );
        assert_eq!(
            kinds(&["applicant.first_name", "partner.first", "partner.last"]),
            [Some(FirstName), Some(FirstName), Some(LastName)]
        );
        // Values decide between names and, say, a first and a last visit.
        let cols = ["First", "Last"].map(String::from);
        let rows = |pairs: &[(&str, &str)]| -> Vec<Fields> {
            pairs
                .iter()
                .map(|(a, b)| {
                    let mut f = Fields::new();
                    f.begin(2);
                    f.push_bytes(0, a.as_bytes());
                    f.push_bytes(1, b.as_bytes());
                    f.finish(TextEncoding::Utf8);
                    f
                })
                .collect()
        };
        let names = rows(&[("Ann", "Lee"), ("José", "O'Brien"), ("", "Smith")]);
        let visits = rows(&[("2019-01-02", "2020-03-04"), ("03/02/2018", "04/05/2019")]);
        let mapped = |sample: &[Fields]| -> Vec<Option<FieldKind>> {
            map_dataset("r.csv", &cols, sample, &o)
                .into_iter()
                .map(|m| m.kind)
                .collect()
        };
        assert_eq!(mapped(&names), [Some(FirstName), Some(LastName)]);
        let got = mapped(&visits);
        assert!(
            !got.contains(&Some(FirstName)) && !got.contains(&Some(LastName)),
            "{got:?}"
        );
        // Digits in one column are enough to leave the pair alone; the given names
        // in the other are still known as such from their values.
        let codes = rows(&[("Ann", "B12"), ("Bob", "C34"), ("Cy", "D56")]);
        assert_eq!(mapped(&codes), [Some(FirstName), None]);
        // A given mapping wins.
        let mut given = Overrides::new();
        given.add_map("First=ignore").expect("a valid --map");
        let cols = ["First", "Last"].map(String::from);
        let m = map_dataset("r.csv", &cols, &[], &given);
        assert_eq!((m[0].kind, m[1].kind), (Some(Ignore), None));
    }

    /// A column's person as mapped: number, object path, array.
    type Whose = Option<(u16, String, bool)>;

    /// Each column's kind and person as mapped.
    fn people_of(cols: &[&str], sample: &[Fields]) -> Vec<(Option<FieldKind>, Whose)> {
        let cols: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
        map_dataset("d", &cols, sample, &Overrides::new())
            .into_iter()
            .map(|m| (m.kind, m.person.map(|p| (p.number, p.path, p.array))))
            .collect()
    }

    fn person(number: u16, path: &str) -> Whose {
        Some((number, path.to_string(), false))
    }

    #[test]
    fn each_object_holding_a_persons_names_is_a_person() {
        // An applicant and a partner: the partner's bare first and last are names
        // too, and everything under each object is that person's.
        let got = people_of(
            &[
                "claim",
                "applicant.first",
                "applicant.last",
                "applicant.dob",
                "partner.first",
                "partner.last",
                "partner.dob",
                "partner.email",
                "partner.title",
                "postcode",
            ],
            &[],
        );
        assert_eq!(
            got,
            [
                (None, None),
                (Some(FirstName), person(1, "applicant")),
                (Some(LastName), person(1, "applicant")),
                (Some(Dob), person(1, "applicant")),
                (Some(FirstName), person(2, "partner")),
                (Some(LastName), person(2, "partner")),
                (Some(Dob), person(2, "partner")),
                (Some(Email), person(2, "partner")),
                (None, person(2, "partner")),
                (Some(Postcode), None),
            ]
        );
        // The main person at the top, a partner beside: the main person's names,
        // date of birth and gender are theirs; a top-level email is shared.
        let got = people_of(
            &[
                "first_name",
                "last_name",
                "dob",
                "email",
                "partner.name",
                "partner.dob",
            ],
            &[],
        );
        let main = person(1, "");
        assert_eq!(
            got,
            [
                (Some(FirstName), main.clone()),
                (Some(LastName), main.clone()),
                (Some(Dob), main),
                (Some(Email), None),
                (Some(FullName), person(2, "partner")),
                (Some(Dob), person(2, "partner")),
            ]
        );
    }

    #[test]
    fn a_record_of_one_person_has_no_groups() {
        // The synthetic archive's claims: a `name` object is its parent's.
        let one = [
            "claim_id",
            "claimant.name.title",
            "claimant.name.first",
            "claimant.name.last",
            "claimant.dob",
            "claimant.nino",
            "contact.phones",
            "address.postcode",
        ];
        assert!(people_of(&one, &[]).iter().all(|(_, p)| p.is_none()));
        // Aliases and former names are the same person's; an address's name is a
        // house's.
        let one = [
            "name",
            "dob",
            "aliases.name",
            "previous_names.last",
            "address.name",
        ];
        assert!(people_of(&one, &[]).iter().all(|(_, p)| p.is_none()));
        // A partner alone is the record's one person.
        let one = ["Partner Forename", "Partner DOB", "Postcode"];
        assert!(people_of(&one, &[]).iter().all(|(_, p)| p.is_none()));
    }

    #[test]
    fn an_array_of_people_is_one_group_of_one_person_per_element() {
        let line = r#"{"claim_id":"HB1","members":[{"name":"John Smith","dob":"1950-05-05"},{"name":"Mary Smith","dob":"1982-03-03"}],"postcode":"E8 1AA"}"#;
        let file = crate::source::SourceFile::from_bytes(
            format!("{line}\n").into_bytes(),
            "h.jsonl",
            &crate::source::ReadOptions::default(),
        )
        .unwrap();
        let cols = file.datasets()[0].columns.clone();
        let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
        let members = Some((1, "members".to_string(), true));
        let got = people_of(&cols, &file.sample(0, 10));
        assert_eq!(
            got,
            [
                (Some(AccountRef), None),
                (Some(FullName), members.clone()),
                (Some(Dob), members),
                (Some(Postcode), None),
            ]
        );
        // Without a sample showing the array, one object of names is one person.
        assert!(people_of(&cols, &[]).iter().all(|(_, p)| p.is_none()));
    }

    #[test]
    fn header_prefixes_name_other_people() {
        let got = people_of(
            &[
                "Forename",
                "Surname",
                "DOB",
                "Partner Forename",
                "Partner Surname",
                "Partner DOB",
                "Partner NI Number",
                "Email",
                "Postcode",
                "Joint Account No",
            ],
            &[],
        );
        let (main, partner) = (person(1, ""), person(2, ""));
        assert_eq!(
            got,
            [
                (Some(FirstName), main.clone()),
                (Some(LastName), main.clone()),
                (Some(Dob), main),
                (Some(FirstName), partner.clone()),
                (Some(LastName), partner.clone()),
                (Some(Dob), partner.clone()),
                (Some(NiNumber), partner),
                (Some(Email), None),
                (Some(Postcode), None),
                (None, None),
            ]
        );
        // Numbered applicants, and `2nd` written either way.
        let got = people_of(
            &[
                "Applicant 1 Name",
                "Applicant 1 DOB",
                "Applicant 2 Name",
                "Applicant 2 DOB",
                "2nd Applicant Surname",
                "Second Applicant Forename",
                "Address",
            ],
            &[],
        );
        let who: Vec<Option<u16>> = got.iter().map(|(_, p)| p.as_ref().map(|p| p.0)).collect();
        assert_eq!(
            who,
            [Some(1), Some(1), Some(2), Some(2), Some(3), Some(3), None]
        );
        // The dry run says whose each column is.
        let cols = ["Forename", "Partner DOB"].map(String::from);
        let m = map_dataset("d.csv", &cols, &[], &Overrides::new());
        assert_eq!(m[1].to_string(), "Partner DOB -> dob (header, person 2)");
        assert_eq!(m[0].how(), "header, person 1");
    }

    fn column(values: &[&str]) -> Vec<Fields> {
        values
            .iter()
            .map(|v| {
                let mut f = Fields::new();
                f.begin(1);
                f.push_bytes(0, v.as_bytes());
                f.finish(TextEncoding::Utf8);
                f
            })
            .collect()
    }

    #[test]
    fn value_sniffing() {
        let sniff = |v: &[&str]| kind_from_values(v.iter().copied());
        assert_eq!(sniff(&["a@x.com", "b@y.org", "", "c@z.co.uk"]), Some(Email));
        assert_eq!(
            sniff(&["SW1A 1AA", "m1 1ae", "B33 8TH", "CR2 6XH", "DN55 1PT"]),
            Some(Postcode)
        );
        assert_eq!(
            sniff(&["AB123456C", "QQ 12 34 56 A", "ab123456"]),
            Some(NiNumber)
        );
        assert_eq!(sniff(&["03/02/1980", "1975-12-31", "19600101"]), Some(Dob));
        assert_eq!(
            sniff(&["2019-03-04", "2012-01-01T10:00:00", "3 Feb 2015"]),
            Some(RecordDate)
        );
        assert_eq!(
            sniff(&["07911 123456", "+44 20 7946 0000", "(020) 7946-0001"]),
            Some(Phone)
        );
        // Not enough evidence, or nothing personal.
        assert_eq!(sniff(&["a@x.com"]), None);
        assert_eq!(sniff(&["12.50", "-3.00", "100"]), None);
        assert_eq!(sniff(&["100023336956", "100023336957"]), None);
        assert_eq!(sniff(&["AB12 CDE", "XY99 ZZZ"]), None);
        assert_eq!(sniff(&["a@x.com", "no", "no", "no"]), None);
    }

    #[test]
    fn names_are_sniffed_from_the_given_names_among_them() {
        let sniff = |v: &[&str]| names_from_values(v);
        // Half or more known given names (Zebedee and Ngozi are not in the table).
        assert_eq!(sniff(&["Jane", "JOHN", "Zebedee", "mary"]), Some(FirstName));
        assert_eq!(
            sniff(&["Jane Doe", "Mr John Smith", "Ngozi Okafor", "Lee, Ann"]),
            Some(FullName)
        );
        // Family names, towns, words: not names.
        assert_eq!(sniff(&["Smith", "Okafor", "Jones", "Featherstone"]), None);
        assert_eq!(sniff(&["London", "Leeds", "Bath", "Victoria"]), None);
        assert_eq!(sniff(&["Gym", "Swim", "Squash", "Gym"]), None);
        assert_eq!(
            sniff(&["Jane was late", "John called back twice today"]),
            None
        );
        assert_eq!(sniff(&["Jane", "J4ne", "Mary2", "x@y.com"]), None);
    }

    #[test]
    fn a_family_name_column_sits_beside_a_sniffed_given_name_column() {
        let o = Overrides::new();
        let rows = |rows: &[[&str; 3]]| -> Vec<Fields> {
            rows.iter()
                .map(|r| {
                    let mut f = Fields::new();
                    f.begin(3);
                    for (i, v) in r.iter().enumerate() {
                        f.push_bytes(i, v.as_bytes());
                    }
                    f.finish(TextEncoding::Utf8);
                    f
                })
                .collect()
        };
        let cols = ["column_1", "column_2", "column_3"].map(String::from);
        let kinds = |sample: &[Fields]| -> Vec<Option<FieldKind>> {
            map_dataset("x.csv", &cols, sample, &o)
                .into_iter()
                .map(|m| m.kind)
                .collect()
        };
        let after = rows(&[
            ["Jane", "Doe", "12.00"],
            ["John", "Smith", "3.50"],
            ["Mary", "O'Brien", "1.00"],
        ]);
        assert_eq!(kinds(&after), [Some(FirstName), Some(LastName), None]);
        let before = rows(&[
            ["4", "Doe", "Jane"],
            ["5", "Smith", "John"],
            ["6", "Lee", "Ann"],
        ]);
        assert_eq!(kinds(&before), [None, Some(LastName), Some(FirstName)]);
        // Beside it only words of several parts: no family name is guessed.
        let notes = rows(&[
            ["Jane", "rang twice", "x"],
            ["John", "no answer", "y"],
            ["Mary", "left a note", "z"],
        ]);
        assert_eq!(kinds(&notes), [Some(FirstName), None, None]);
    }

    #[test]
    fn two_name_columns_of_single_words_are_first_and_last_names() {
        let o = Overrides::new();
        let rows = |rows: &[[&str; 3]]| -> Vec<Fields> {
            rows.iter()
                .map(|r| {
                    let mut f = Fields::new();
                    f.begin(3);
                    for (i, v) in r.iter().enumerate() {
                        f.push_bytes(i, v.as_bytes());
                    }
                    f.finish(TextEncoding::Utf8);
                    f
                })
                .collect()
        };
        let kinds = |cols: [&str; 3], sample: &[Fields]| -> Vec<Option<FieldKind>> {
            map_dataset("x.csv", &cols.map(String::from), sample, &o)
                .into_iter()
                .map(|m| m.kind)
                .collect()
        };
        let given_family = rows(&[
            ["Janet", "Arkwright", "LS1 4AP"],
            ["Kevin", "Bright", "LS2 7EE"],
        ]);
        assert_eq!(
            kinds(["Name", "Name", "Postcode"], &given_family),
            [Some(FirstName), Some(LastName), Some(Postcode)]
        );
        // Family name first: the given names tell.
        let family_given = rows(&[
            ["Arkwright", "Janet", "LS1 4AP"],
            ["Bright", "Kevin", "LS2 7EE"],
        ]);
        assert_eq!(
            kinds(["Name", "Name", "Postcode"], &family_given),
            [Some(LastName), Some(FirstName), Some(Postcode)]
        );
        // Full names, or no rows to tell by, stay full names.
        let full = rows(&[
            ["Janet Arkwright", "Kevin Bright", "LS1 4AP"],
            ["Ann Lee", "Bob Brown", "LS2 7EE"],
        ]);
        assert_eq!(
            kinds(["Name", "Name", "Postcode"], &full),
            [Some(FullName), Some(FullName), Some(Postcode)]
        );
        assert_eq!(
            kinds(["Name", "Name", "Postcode"], &[]),
            [Some(FullName), Some(FullName), Some(Postcode)]
        );
        // Not side by side, or another column holds a first name: left alone.
        assert_eq!(
            kinds(["Name", "Postcode", "Name"], &given_family)[0],
            Some(FullName)
        );
        assert_eq!(
            kinds(["Name", "Name", "Forename"], &given_family)[..2],
            [Some(FullName), Some(FullName)]
        );
    }

    #[test]
    fn mapping_uses_header_then_values_and_never_sniffs_notes() {
        let cols = ["Contact", "Notes", "Forename", "Balance"].map(String::from);
        let contact = column(&["a@x.com", "b@y.com"]);
        let notes = column(&["a@x.com", "b@y.com"]);
        let sample: Vec<Fields> = contact
            .iter()
            .zip(&notes)
            .map(|(c, n)| {
                let mut f = Fields::new();
                f.begin(4);
                f.push_bytes(0, c.get(0).as_bytes());
                f.push_bytes(1, n.get(0).as_bytes());
                f.push_bytes(2, b"Jane");
                f.push_bytes(3, b"12.00");
                f.finish(TextEncoding::Utf8);
                f
            })
            .collect();
        let m = map_dataset("x.csv", &cols, &sample, &Overrides::new());
        let got: Vec<(Option<FieldKind>, Origin)> = m.iter().map(|c| (c.kind, c.origin)).collect();
        assert_eq!(
            got,
            [
                (Some(Email), Origin::Values),
                (None, Origin::None),
                (Some(FirstName), Origin::Header),
                (None, Origin::None)
            ]
        );
        assert_eq!(m[3].data_class(), "other:Balance");
        assert_eq!(m[2].to_string(), "Forename -> first_name (header)");
    }

    #[test]
    fn override_precedence() -> Result<(), MappingError> {
        let mut o = Overrides::new();
        o.add_map("Ref=ignore")?;
        o.add_map("post code = postcode")?;
        o.add_toml(
            r#"
            [columns]
            Ref = "uprn"
            Notes = "ignore"
            claimant.name.first = "full_name"
            [datasets."a.csv".columns]
            Ref = "account_ref"
            "#,
            Path::new("m.toml"),
        )?;
        assert_eq!(o.lookup("a.csv", "Ref"), Some(AccountRef)); // dataset-specific
        assert_eq!(o.lookup("b.csv", "Ref"), Some(Ignore)); // --map beats [columns]
        assert_eq!(o.lookup("b.csv", "Notes"), Some(Ignore));
        assert_eq!(o.lookup("b.csv", "Post Code"), Some(Postcode)); // case-insensitive
        assert_eq!(o.lookup("b.csv", "claimant.name.first"), Some(FullName));
        assert_eq!(o.lookup("b.csv", "Email"), None);
        let cols = ["Ref".to_string(), "Email".to_string()];
        let m = map_dataset("a.csv", &cols, &[], &o);
        assert_eq!((m[0].kind, m[0].origin), (Some(AccountRef), Origin::Given));
        assert_eq!((m[1].kind, m[1].origin), (Some(Email), Origin::Header));
        let unmatched = o.unmatched(&[DatasetInfo {
            name: "a.csv".into(),
            columns: cols.to_vec(),
        }]);
        assert!(
            unmatched.iter().any(|u| u.contains("'post code'")),
            "{unmatched:?}"
        );
        Ok(())
    }

    #[test]
    fn override_errors_are_actionable() {
        let mut o = Overrides::new();
        let e = o.add_map("Ref").unwrap_err().to_string();
        assert!(e.contains("COLUMN=KIND"), "{e}");
        let e = o.add_map("Ref=emial").unwrap_err().to_string();
        assert!(e.contains("'emial'") && e.contains("ni_number"), "{e}");
        let e = o
            .add_toml("[colums]\nx = \"email\"", Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown key 'colums'"), "{e}");
        let e = o
            .add_toml("[columns]\nx = 3", Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("must be a string"), "{e}");
        let e = o
            .add_toml("[columns]\nx = \"nope\"", Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("'nope'") && e.contains("valid kinds"), "{e}");
    }
}
