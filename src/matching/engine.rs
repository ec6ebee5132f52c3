//! The matching engine: one query [`Person`] in, an [`Answer`] out.
//!
//! [`Matcher::open`] opens an index once: its segments, its secret, the dump files
//! it was built from (each checked against the manifest: present? same size and
//! modification time? if not, the checksum decides), the column kinds of every
//! dataset, and the `--scope` as one bitmap per segment. [`Matcher::query`] then
//! answers a person in microseconds, from any number of threads:
//!
//! 1. the query's keys, by the same normalise → keys path as the build;
//! 2. candidates from the index ([`super::candidates`]);
//! 3. each candidate compared with the query through the features the index stores
//!    for it ([`crate::features`], [`super::verify`]): keyed hashes of its canonical
//!    values, decided family by family exactly as comparing the values would, and
//!    scored with the index's posting-list lengths as value frequencies. Only where
//!    a near-miss spelling (Jaro-Winkler) cannot be ruled out from the stored
//!    signature, and the record could matter, is it re-read from the memory-mapped
//!    dump at its offset and normalised with its dataset's column kinds. Strong
//!    candidates (an identifier key, or two keys) are verified first; records
//!    sharing a single composite key are verified only when no strong one is exposed;
//! 4. the verdict from the best record; the matches are every record whose own
//!    probability reaches that verdict's threshold. Their data classes and years come
//!    from the features; `query` re-reads them from the dump to show their values.
//!
//! A row holding several people was indexed as one record per person (see
//! [`crate::source::People`]); re-reading such a record splits the row the same
//! way and takes that person, and an answer lists each `dataset:row` once, as its
//! best person.
//!
//! When a dump is missing or changed since the build, its records are still judged
//! field by field from the index, a near-miss the features cannot settle taken at
//! its best; such records, and the answer, say `index_only`, and their values
//! cannot be shown.
//!
//! ```no_run
//! use leakscope::field::FieldKind;
//! use leakscope::matching::engine::{MatchOptions, Matcher};
//! use leakscope::normalize::Person;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let matcher = Matcher::open(std::path::Path::new("leak.idx"), MatchOptions::default())?;
//! let mut query = Person::default();
//! query.add(FieldKind::Email, "Jane.Doe@example.com");
//! let answer = matcher.query(&query);
//! println!("{} ({:.2})", answer.verdict, answer.score);
//! # Ok(()) }
//! ```

use super::answer::{Answer, RecordMatch};
use super::candidates::{Candidate, Candidates, KeyCount, Limits};
use super::compare::{Comparison, Comparisons, FieldFamily, Outcome, Part, compare_part};
use super::explain::Evidence;
use super::scope::{self, Scope};
use super::score::{
    Frequencies, Scale, Thresholds, Verdict, WeightMemo, Weights, comparisons_probability,
    person_part_bound, place_weight_bound, score_comparisons,
};
use super::verify::{Possible, PossibleComparisons, QueryFeatures, QueryMemo, compare_features};
use crate::features::{FeatureHasher, NameList};
use crate::field::FieldKind;
use crate::index::{DumpFile, Index, IndexError, Segment};
use crate::keys::{self, Key, KeyError, KeyRecipe, Secret};
use crate::normalize::date::Order as DateOrder;
use crate::normalize::{Date, Person, email, name};
use crate::source::{Fields, FileLayout, Format, People, SourceFile};
use roaring::RoaringBitmap;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How queries are answered.
#[derive(Clone, Debug, Default)]
pub struct MatchOptions {
    /// Probabilities from which a record is `exposed` / `possible`.
    pub thresholds: Thresholds,
    /// Only records in this scope may answer.
    pub scope: Option<Scope>,
    /// Keep [`RecordMatch::fields`] unmasked (`--reveal`).
    pub reveal: bool,
    /// Map the whole index in at open ([`crate::index::Segment::preload`]): for
    /// many queries (a bulk match, a long-lived service), not for one.
    pub preload: bool,
    /// Only records that match the query directly: no records linked through an
    /// identifier of the person's exposed records (see [`LINK_KINDS`]).
    pub direct_only: bool,
}

/// How sure a record must be to lend its identifiers to the query (see
/// [`LINK_KINDS`]): a record kept at 0.9 may be a namesake in the same building,
/// and its mobile number would bring in all of the namesake's records.
const LEND: f64 = 0.99;

/// Identifiers that a person's exposed records lend to the query, one hop, to find
/// the rest of their records: a leisure booking that holds only a name and the
/// mobile number of the same person's council tax record. Kinds that one person
/// holds, not a household or a system (a UPRN, a sort code, an IP address or an
/// account reference are left out).
pub const LINK_KINDS: [FieldKind; 7] = [
    FieldKind::Email,
    FieldKind::Phone,
    FieldKind::NiNumber,
    FieldKind::BankAccount,
    FieldKind::CardNumber,
    FieldKind::Passport,
    FieldKind::DrivingLicence,
];

/// [`LINK_KINDS`] as [`fill_needed`]'s mask (they are all [`Part::Person`] kinds).
const LINK_MASK: [bool; FieldKind::ALL.len()] = {
    let mut mask = [false; FieldKind::ALL.len()];
    let mut i = 0;
    while i < LINK_KINDS.len() {
        mask[LINK_KINDS[i] as usize] = true;
        i += 1;
    }
    mask
};

/// Why an index could not be opened for matching.
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    /// The index directory or one of its segments could not be read.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// The index's secret is unusable.
    #[error(transparent)]
    Secret(#[from] KeyError),
    /// A segment's scope bitmaps are damaged.
    #[error("cannot evaluate --scope on {segment}: {source}; rebuild the index")]
    Scope {
        /// Which segment.
        segment: String,
        /// What failed.
        source: IndexError,
    },
    /// A `dataset:` term of the scope matches no dataset: a typo, which would
    /// otherwise answer `not_found` for everyone.
    #[error(
        "--scope term '{term}' names no dataset of this index; its datasets are {datasets} (see `leakscope inspect`)"
    )]
    ScopeNamesNoDataset {
        /// The term as written.
        term: String,
        /// The index's dataset names, a few of them.
        datasets: String,
    },
    /// A `has:other:COLUMN` term names no unmapped column of the index: a typo,
    /// which would otherwise answer `not_found` for everyone.
    #[error(
        "--scope term '{term}' names no column of this index; its unmapped columns are {columns}{hint}"
    )]
    ScopeNamesNoColumn {
        /// The term as written.
        term: String,
        /// The index's `other:` classes, a few of them.
        columns: String,
        /// How to write a column name with spaces, with one of the index's own,
        /// when it has one; else empty.
        hint: String,
    },
}

/// What verification needs to know about one dataset.
#[derive(Debug)]
struct DatasetState {
    name: Arc<str>,
    /// The open dump file and the dataset's number in it; `None`: the dump is
    /// unusable and its records are judged from the index alone.
    source: Option<(usize, usize)>,
    columns: Vec<String>,
    kinds: Vec<Option<FieldKind>>,
    /// The order each column's numeric dates are written in (a month-first `dob`).
    orders: Vec<DateOrder>,
    /// Each column's data class (kind name, or `other:<column>`) as its place in
    /// [`Matcher::classes`].
    class_of_column: Vec<usize>,
    /// How a row splits into people, as the build split it.
    people: People,
}

/// An opened index, ready to answer queries from many threads.
pub struct Matcher {
    index: Index,
    secret: Secret,
    files: Vec<SourceFile>,
    datasets: Vec<DatasetState>,
    /// Every dataset's data classes, sorted and distinct: a record's classes are a
    /// set of places in it, and an answer's union is read off in this order.
    classes: Vec<Arc<str>>,
    /// One bitmap per segment when a scope was given.
    scope: Option<Vec<RoaringBitmap>>,
    hasher: FeatureHasher,
    total: u64,
    weights: Weights,
    /// [`place_weight_bound`] of `weights`, computed once.
    place_bound: f64,
    limits: Limits,
    opts: MatchOptions,
    warnings: Vec<String>,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("index", &self.index.path())
            .field("records", &self.total)
            .field("datasets", &self.datasets.len())
            .finish_non_exhaustive()
    }
}

/// Per-thread buffers: a query allocates only for what it returns.
#[derive(Default)]
struct Scratch {
    keys: Vec<Key>,
    /// The candidate record being verified, as read from its dump.
    fields: Fields,
    variant: Person,
    candidates: Candidates,
    record: Person,
    evidence: Evidence,
    memo: QueryMemo,
    /// The query as hashed for comparing with stored features, refilled per query.
    query_features: QueryFeatures,
    weights_memo: WeightMemo,
    /// What the direct pass lends the linked one, and the query it makes.
    link: Link,
    linked_query: Person,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Probability below which a candidate's exact value is not worth computing: `match`
/// writes scores with three decimals, so a best score below it reads `0.000`
/// whatever it is.
const NEGLIGIBLE: f64 = 0.0005;

/// The two passes of a query. `Direct` answers the query as given and, when asked
/// (`Some`) and the answer is `exposed`, fills a [`Link`]; `Linked` answers the
/// query plus the identifiers that link lent it, reading only records that hit an
/// identifier and are not among the known ones, and no weak candidate.
enum Pass<'a> {
    Direct(Option<&'a mut Link>),
    Linked(&'a Link),
}

/// A kept record that may lend identifiers, and where it lives.
struct Lender<'m> {
    segment: &'m Segment,
    ds: &'m DatasetState,
    file: &'m SourceFile,
    local: usize,
    record: u32,
}

/// What the direct pass hands the linked one.
#[derive(Default)]
struct Link {
    /// A person holding only the identifiers of the kept records ([`LINK_KINDS`],
    /// from records at [`LEND`] or above) that the query does not hold.
    lent: Person,
    /// Every kept record, as (segment, record).
    known: Vec<(u32, u32)>,
    /// The direct pass's key counts, for the linked pass's frequencies.
    counts: Vec<KeyCount>,
}

impl Link {
    /// Whether the linked pass reads candidate `c`: it hit an identifier key (one
    /// the direct pass lent, as a rule) and the direct pass did not keep it.
    fn reads(&self, c: &Candidate) -> bool {
        c.identifier && !self.known.contains(&(c.segment, c.record))
    }

    /// Empty, keeping its buffers.
    fn clear(&mut self) {
        self.lent.clear();
        self.known.clear();
        self.counts.clear();
    }
}

/// One verified record that may make it into the answer.
struct Scored {
    candidate: Candidate,
    dataset: u32,
    row: u64,
    year: Option<u16>,
    evidence: Evidence,
    index_only: bool,
    data_classes: Classes,
    fields: Vec<(String, String)>,
}

/// A set of data classes, as places in [`Matcher::classes`]: one word for an index
/// with up to 128 classes (the usual case), more words beyond. Unions are bitwise
/// and the names come out sorted, with no string compared or copied.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Classes {
    Mask(u128),
    Words(Vec<u64>),
}

impl Classes {
    /// The empty set, sized for `count` classes.
    fn empty(count: usize) -> Classes {
        if count <= 128 {
            Classes::Mask(0)
        } else {
            Classes::Words(vec![0; count.div_ceil(64)])
        }
    }

    /// The classes of the columns of `ds` that `has_column` says hold a value.
    fn of(count: usize, ds: &DatasetState, has_column: impl Fn(usize) -> bool) -> Classes {
        let mut set = Classes::empty(count);
        for (col, &class) in ds.class_of_column.iter().enumerate() {
            if has_column(col) {
                set.insert(class);
            }
        }
        set
    }

    fn insert(&mut self, class: usize) {
        match self {
            Classes::Mask(mask) => {
                if class < 128 {
                    *mask |= 1u128 << class;
                }
            }
            Classes::Words(words) => {
                if let Some(w) = words.get_mut(class / 64) {
                    *w |= 1u64 << (class % 64);
                }
            }
        }
    }

    fn contains(&self, class: usize) -> bool {
        match self {
            Classes::Mask(mask) => class < 128 && mask & (1u128 << class) != 0,
            Classes::Words(words) => words
                .get(class / 64)
                .is_some_and(|w| w & (1u64 << (class % 64)) != 0),
        }
    }

    /// Adds every class of `other` (a set of the same size).
    fn union_with(&mut self, other: &Classes) {
        match (self, other) {
            (Classes::Mask(a), Classes::Mask(b)) => *a |= b,
            (Classes::Words(a), Classes::Words(b)) => {
                for (x, y) in a.iter_mut().zip(b) {
                    *x |= y;
                }
            }
            // Sets of one matcher all have the same size.
            _ => {}
        }
    }

    /// The places in the set, ascending: only its set bits are visited, however
    /// many classes the index has.
    fn places(&self) -> impl Iterator<Item = usize> + '_ {
        // A mask is two words; a `Words` set leaves them empty.
        let (mask, words): ([u64; 2], &[u64]) = match self {
            Classes::Mask(m) => ([*m as u64, (*m >> 64) as u64], &[]),
            Classes::Words(w) => ([0, 0], w),
        };
        let bits_of = |(w, mut bits): (usize, u64)| {
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let b = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    w * 64 + b
                })
            })
        };
        (mask.into_iter().enumerate())
            .chain(words.iter().copied().enumerate())
            .flat_map(bits_of)
    }

    /// The class names, sorted (the order of `all`).
    fn names<'a>(&'a self, all: &'a [Arc<str>]) -> impl Iterator<Item = &'a Arc<str>> {
        self.places().filter_map(|p| all.get(p))
    }
}

/// Verification by re-reading a record from its dump: what the features cannot
/// settle (a near-miss spelling), or records whose features are damaged.
struct DumpPath {
    /// The record kinds that can change the query's score.
    needed: [bool; FieldKind::ALL.len()],
    /// Whether the query has any place family.
    needs_place: bool,
    /// The most the place families can add ([`place_weight_bound`]).
    place_bound: f64,
    /// Probability below which a record is not scored in full.
    negligible: f64,
}

impl DumpPath {
    /// Normalises the record in `fields` (the person first; the place only if it can
    /// still matter) and scores it into `evidence`; `None` when it is negligible.
    #[allow(clippy::too_many_arguments)]
    fn score(
        &self,
        q: &Person,
        (kinds, orders): (&[Option<FieldKind>], &[DateOrder]),
        fields: &Fields,
        record: &mut Person,
        freq: &Frequencies<'_>,
        weights: &Weights,
        evidence: &mut Evidence,
    ) -> Option<()> {
        record.clear();
        fill_needed(record, (kinds, orders), fields, &self.needed, Part::Person);
        unswap_names(q, record);
        let mut comparisons = Comparisons::new();
        compare_part(q, record, Part::Person, &mut comparisons);
        if self.needs_place {
            if person_part_bound(&comparisons, self.place_bound, freq, weights) < self.negligible {
                return None;
            }
            fill_needed(record, (kinds, orders), fields, &self.needed, Part::Place);
            compare_part(q, record, Part::Place, &mut comparisons);
        }
        score_comparisons(&comparisons, freq, weights, evidence);
        Some(())
    }
}

/// What became of a dump file at open time.
enum DumpState {
    Usable,
    Missing,
    Changed,
}

fn check_dump(path: &Path, recorded: Option<&DumpFile>) -> DumpState {
    match recorded.map(DumpFile::state) {
        Some(crate::index::DumpState::Unchanged) => DumpState::Usable,
        Some(crate::index::DumpState::Changed) => DumpState::Changed,
        Some(crate::index::DumpState::Missing) => DumpState::Missing,
        None if path.is_file() => DumpState::Usable,
        None => DumpState::Missing,
    }
}

/// The dump layouts the build saved (absent in indexes built before they were
/// saved: those dumps are opened, and read, in full).
fn load_layouts(index_dir: &Path, warnings: &mut Vec<String>) -> BTreeMap<String, FileLayout> {
    let path = index_dir.join(crate::index::build::LAYOUTS_FILE);
    // Mapped rather than read: at 10 M records the file is a quarter of a megabyte,
    // and copying it into fresh memory was a twentieth of a whole `lookup`.
    let Ok(file) = std::fs::File::open(&path) else {
        return BTreeMap::new();
    };
    // SAFETY: a read-only private map of a file the index build wrote once and never
    // modifies; it is parsed at once and unmapped before this returns. A process
    // truncating it meanwhile could raise SIGBUS, as for any mapped index file (the
    // command line's handler makes that a one-line error and exit 2: `cli::sigbus`).
    let bytes = match unsafe { memmap2::Mmap::map(&file) } {
        Ok(map) => map,
        // An empty file cannot be mapped on some platforms; it is unreadable anyway.
        Err(_) => match std::fs::read(&path) {
            Ok(bytes) => return parse_layouts(&path, &bytes, warnings),
            Err(_) => return BTreeMap::new(),
        },
    };
    parse_layouts(&path, &bytes, warnings)
}

fn parse_layouts(
    path: &Path,
    bytes: &[u8],
    warnings: &mut Vec<String>,
) -> BTreeMap<String, FileLayout> {
    match serde_json::from_slice(bytes) {
        Ok(layouts) => layouts,
        Err(e) => {
            warnings.push(format!(
                "{} is unreadable ({e}): dumps are read in full to re-read records",
                path.display()
            ));
            BTreeMap::new()
        }
    }
}

/// The dataset-name base `SourceFile::open` expects: an SQL table's dataset is
/// `file.sql#table`, the file itself `file.sql`.
fn name_base<'a>(dataset: &'a str, format: &str) -> &'a str {
    if format == "sql" {
        dataset.rsplit_once('#').map_or(dataset, |(base, _)| base)
    } else {
        dataset
    }
}

impl Matcher {
    /// Opens the index at `index_dir` for matching; see the module documentation.
    /// Problems with dump files are not errors: they become [`warnings`](Self::warnings)
    /// and the affected records are judged from the index alone.
    pub fn open(index_dir: &Path, opts: MatchOptions) -> Result<Matcher, MatchError> {
        let index = Index::open(index_dir)?;
        if opts.preload {
            // Only a hint: queries work (more slowly at first) without it.
            let _ = index.preload();
        }
        let secret = Secret::from_bytes(index.secret())?;
        let hasher = FeatureHasher::new(&secret);
        let manifest = index.manifest().clone();
        let mut warnings = Vec::new();
        if manifest.key_rules.as_deref() != Some(keys::rules_fingerprint().as_str()) {
            warnings.push(format!(
                "{} was built under other normalisation rules than this leakscope's (an older \
                 version, or another nickname table): some values now have other keys, and \
                 records keyed the old way can be missed; build the index again",
                index_dir.display()
            ));
        }
        let recorded: Vec<&DumpFile> = manifest
            .segments
            .iter()
            .flat_map(|s| s.dumps.iter())
            .collect();

        let layouts = load_layouts(index_dir, &mut warnings);
        let mut files: Vec<SourceFile> = Vec::new();
        // Dump path → the open file's number, or None when unusable.
        let mut opened: Vec<(String, Option<usize>)> = Vec::new();
        let mut datasets = Vec::with_capacity(manifest.datasets.len());
        // Each dataset's column classes, until every dataset's are known.
        let mut column_classes: Vec<Vec<String>> = Vec::with_capacity(manifest.datasets.len());
        for entry in &manifest.datasets {
            let file = match opened.iter().find(|(dump, _)| *dump == entry.dump) {
                Some((_, file)) => *file,
                None => {
                    let file = open_dump(
                        index_dir,
                        entry,
                        recorded.iter().copied().find(|d| d.path == entry.dump),
                        &layouts,
                        &mut files,
                        &mut warnings,
                    );
                    opened.push((entry.dump.clone(), file));
                    file
                }
            };
            let source = file.and_then(|f| {
                let local = files
                    .get(f)?
                    .datasets()
                    .iter()
                    .position(|d| d.name == entry.name);
                if local.is_none() {
                    warnings.push(format!(
                        "dataset {} is no longer in {}: its records are judged from the index alone and lend no identifiers to find linked records",
                        entry.name, entry.dump
                    ));
                }
                Some((f, local?))
            });
            let mut kinds = Vec::with_capacity(entry.columns.len());
            let orders = entry
                .columns
                .iter()
                .map(|c| {
                    if c.month_first {
                        DateOrder::MonthFirst
                    } else {
                        DateOrder::DayFirst
                    }
                })
                .collect();
            let mut classes = Vec::with_capacity(entry.columns.len());
            for column in &entry.columns {
                let kind = column
                    .kind
                    .as_deref()
                    .and_then(|k| k.parse::<FieldKind>().ok());
                if kind.is_none() && column.kind.is_some() {
                    warnings.push(format!(
                        "column {} of {} has a kind this version does not know; it is not used for matching",
                        column.name, entry.name
                    ));
                }
                classes.push(match kind {
                    Some(k) if k != FieldKind::Ignore => k.name().to_string(),
                    _ => format!("other:{}", column.name),
                });
                kinds.push(kind);
            }
            column_classes.push(classes);
            let groups: Vec<_> = entry.columns.iter().map(|c| c.person.as_ref()).collect();
            datasets.push(DatasetState {
                name: Arc::from(entry.name.as_str()),
                source,
                columns: entry.columns.iter().map(|c| c.name.clone()).collect(),
                people: People::from_parts(&kinds, &groups),
                kinds,
                orders,
                class_of_column: Vec::new(),
            });
        }
        let mut all_classes: Vec<String> = column_classes.iter().flatten().cloned().collect();
        all_classes.sort_unstable();
        all_classes.dedup();
        for (ds, classes) in datasets.iter_mut().zip(&column_classes) {
            ds.class_of_column = classes
                .iter()
                .map(|c| all_classes.binary_search(c).unwrap_or(0))
                .collect();
        }
        let all_classes: Vec<Arc<str>> =
            all_classes.iter().map(|c| Arc::from(c.as_str())).collect();

        let scope = match &opts.scope {
            None => None,
            Some(expr) => Some(resolve_scope(&index, expr, &mut warnings)?),
        };
        let total = index
            .segments()
            .iter()
            .map(|s| u64::from(s.record_count()))
            .sum();
        let weights = Weights::default();
        Ok(Matcher {
            index,
            secret,
            files,
            datasets,
            classes: all_classes,
            scope,
            hasher,
            total,
            place_bound: place_weight_bound(&weights),
            weights,
            limits: Limits::default(),
            opts,
            warnings,
        })
    }

    /// The index's directory and every dump it was built from (as recorded, and as
    /// opened now): files that an output must never replace.
    pub fn own_files(&self) -> (PathBuf, Vec<PathBuf>) {
        let mut dumps: Vec<PathBuf> = self
            .index
            .manifest()
            .segments
            .iter()
            .flat_map(|s| s.dumps.iter().map(|d| PathBuf::from(&d.path)))
            .collect();
        dumps.extend(self.files.iter().map(|f| f.path().to_path_buf()));
        (self.index.path().to_path_buf(), dumps)
    }

    /// What the user should know about this index: missing or changed dumps, scope
    /// terms that name nothing.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Records in the index.
    pub fn record_count(&self) -> u64 {
        self.total
    }

    /// Dataset names, in the index's order.
    pub fn dataset_names(&self) -> Vec<&str> {
        self.datasets.iter().map(|d| &*d.name).collect()
    }

    /// The options the matcher was opened with.
    pub fn options(&self) -> &MatchOptions {
        &self.opts
    }

    /// Replaces the scorer's weight table (for tuning and experiments).
    pub fn set_weights(&mut self, weights: Weights) {
        self.place_bound = place_weight_bound(&weights);
        self.weights = weights;
    }

    /// Replaces the candidate limits.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Answers one person: verdict, the records that support it, their data
    /// classes, and each record's values for a caseworker (masked unless
    /// [`MatchOptions::reveal`]).
    pub fn query(&self, q: &Person) -> Answer {
        self.answer(q, true)
    }

    /// As [`query`](Self::query) without [`RecordMatch::fields`] and without each
    /// match's own [`RecordMatch::data_classes`] (the answer's union is there): for
    /// bulk matching, where nobody reads them and building them costs time.
    pub fn query_brief(&self, q: &Person) -> Answer {
        self.answer(q, false)
    }

    fn answer(&self, q: &Person, with_fields: bool) -> Answer {
        SCRATCH.with_borrow_mut(|s| {
            if self.opts.direct_only {
                return self.answer_with(q, with_fields, s, Pass::Direct(None));
            }
            // Taken out of the scratch while the passes borrow it, buffers and all.
            let mut link = std::mem::take(&mut s.link);
            link.clear();
            let mut answer = self.answer_with(q, with_fields, s, Pass::Direct(Some(&mut link)));
            if !link.lent.identifiers.is_empty() {
                let mut linked_query = std::mem::take(&mut s.linked_query);
                linked_query.copy_from(q);
                linked_query
                    .identifiers
                    .extend(link.lent.identifiers.iter().cloned());
                let linked = self.answer_with(&linked_query, with_fields, s, Pass::Linked(&link));
                if answer.verdict == Verdict::Exposed {
                    answer.add_linked(linked);
                } else if linked.verdict == Verdict::Exposed {
                    // Only under a scope: the query matched the person's records
                    // outside it, and inside it only records found through them.
                    answer = linked.into_linked();
                }
                s.linked_query = linked_query;
            }
            s.link = link;
            answer
        })
    }

    /// The answer to `q`, in one of the two passes of [`Pass`].
    fn answer_with(
        &self,
        q: &Person,
        with_fields: bool,
        s: &mut Scratch,
        pass: Pass<'_>,
    ) -> Answer {
        s.keys.clear();
        let keyed = match &pass {
            // The query's own keys were looked up by the direct pass: only the lent
            // identifiers' are new.
            Pass::Linked(link) => &link.lent,
            Pass::Direct(_) => q,
        };
        keys::derive(keyed, &self.secret, &mut s.keys);
        slip_keys(keyed, &self.secret, &mut s.keys, &mut s.variant);
        if s.keys.is_empty() {
            return match pass {
                Pass::Direct(_) => Answer::unsearchable(),
                Pass::Linked(_) => Answer::not_found(),
            };
        }
        let segments = self.index.segments();
        s.candidates.gather(
            segments,
            &s.keys,
            self.scope.as_deref(),
            &self.limits,
            // The direct pass of a linking query keeps the person's strong
            // records outside the scope: they may lend the identifiers that find
            // the person's records inside it.
            matches!(pass, Pass::Direct(Some(_))),
        );
        if s.candidates.selected().is_empty() {
            return Answer::not_found();
        }
        // Lent identifiers that lead only back to records the direct pass kept (the
        // usual case: a person's phone is on their other records too) need no more.
        if let Pass::Linked(link) = &pass
            && !s.candidates.selected().iter().any(|c| link.reads(c))
        {
            return Answer::not_found();
        }
        // Frequencies from every key of the query: the direct pass's and the new.
        let joined: Vec<KeyCount>;
        let counts = match &pass {
            Pass::Linked(link) => {
                joined = [link.counts.as_slice(), s.candidates.counts()].concat();
                joined.as_slice()
            }
            Pass::Direct(_) => s.candidates.counts(),
        };
        let table = FrequencyTable::new(
            q,
            &self.secret,
            counts,
            &self.weights,
            self.total,
            self.index.segments(),
        );
        let count = |family: FieldFamily, value: &str| table.count(family, value);
        s.weights_memo.clear();
        let freq = Frequencies {
            total: self.total,
            count: &count,
            memo: Some(&s.weights_memo),
        };
        let keep_from = self
            .opts
            .thresholds
            .possible
            .min(self.opts.thresholds.exposed);
        let mut kept: Vec<Scored> = Vec::new();
        let mut best = 0.0f64;
        let mut any_index_only = false;
        let Scratch {
            fields: record_fields,
            candidates,
            record,
            evidence,
            memo,
            query_features: qf,
            ..
        } = s;
        let needed = needed_kinds(q);
        let dump = DumpPath {
            needs_place: FieldKind::ALL
                .into_iter()
                .any(|k| needed[k as usize] && Part::of_kind(k) == Some(Part::Place)),
            needed,
            place_bound: self.place_bound,
            // A record that cannot reach this is not worth normalising in full: it
            // could neither be kept nor change the score as written (three decimals).
            negligible: keep_from.min(NEGLIGIBLE),
        };
        qf.fill(&self.hasher, q, memo);
        let qf = &*qf;
        let mut possible = PossibleComparisons::new();
        let prior = self.weights.prior(freq.total);
        // Strong candidates first: they share an identifier or two keys with the
        // query. Only when none of them is the person are the weak ones read: a
        // record sharing one composite key and nothing else (a neighbour in the same
        // building, a namesake) is almost never the person.
        let strong = |c: &Candidate| c.identifier || c.hits >= 2;
        // The linked pass reads only the records `Link::reads` says.
        let linked_pass = matches!(pass, Pass::Linked(_));
        let first = |c: &Candidate| match &pass {
            Pass::Linked(link) => link.reads(c),
            Pass::Direct(_) => strong(c),
        };
        // Each group's features are read ahead in stages (offsets, then bytes, then
        // the name-table entries of names other than the query's), each stage asked
        // for every candidate before any is read, so that the misses overlap.
        let read_ahead = |group: bool| -> Vec<Option<crate::features::RecordView<'_>>> {
            let selected = candidates.selected();
            for c in selected.iter().filter(|c| first(c) == group) {
                if let Some(segment) = segments.get(c.segment as usize) {
                    segment.prefetch_feature_offsets(c.record);
                }
            }
            for c in selected.iter().filter(|c| first(c) == group) {
                if let Some(segment) = segments.get(c.segment as usize) {
                    segment.prefetch_features(c.record);
                }
            }
            selected
                .iter()
                .map(|c| {
                    if first(c) != group {
                        return None;
                    }
                    let segment = segments.get(c.segment as usize)?;
                    let view = segment.record_features(c.record)?;
                    let names = segment.names();
                    for list in [NameList::First, NameList::Middle, NameList::Last] {
                        for h in view.names(list) {
                            if !qf.has_name(h) {
                                names.prefetch(h);
                            }
                        }
                    }
                    Some(view)
                })
                .collect()
        };
        // Verifies one candidate from its stored features, re-reading it from the dump
        // only when a near-miss spelling the features cannot rule out could matter;
        // returns its probability (0 when it is negligible).
        let mut verify = |view: Option<crate::features::RecordView<'_>>,
                          candidate: Candidate,
                          best: f64|
         -> f64 {
            let Some(segment) = segments.get(candidate.segment as usize) else {
                return 0.0;
            };
            // The record table (where the record lives in its dump) is read only for
            // records that are kept or re-read: the features name the dataset.
            let entry = || segment.record(candidate.record);
            let dataset = match &view {
                Some(v) => v.dataset(),
                None => match entry() {
                    Some(e) => e.dataset,
                    None => return 0.0,
                },
            };
            let Some(ds) = self.datasets.get(dataset as usize) else {
                return 0.0;
            };
            let file = ds
                .source
                .and_then(|(f, local)| Some((self.files.get(f)?, local)));
            // Whether `record_fields` holds this record, read from its dump.
            let mut read = false;
            // A record of a missing or changed dump is judged from the index alone.
            let index_only = file.is_none();
            let reread = |fields: &mut Fields| -> bool {
                file.is_some_and(|(f, local)| {
                    entry().is_some_and(|e| {
                        f.read_record_into(local, e.offset, e.len, fields).is_ok()
                            && ds.people.take(fields, e.person)
                    })
                })
            };
            // Scores the record as read from its dump; false when it is negligible.
            let from_dump = |fields: &Fields, record: &mut Person, evidence: &mut Evidence| {
                dump.score(
                    q,
                    (&ds.kinds, &ds.orders),
                    fields,
                    record,
                    &freq,
                    &self.weights,
                    evidence,
                )
                .is_some()
            };
            match &view {
                Some(view) => {
                    compare_features(&self.hasher, q, qf, view, &segment.names(), &mut possible);
                    if possible.is_decided() {
                        let comparisons =
                            possible.resolve(|p| p.outcomes.best().unwrap_or(Outcome::Disagree));
                        score_comparisons(&comparisons, &freq, &self.weights, evidence);
                    } else {
                        let weight = |p: &Possible<'_>, o: Outcome| {
                            let c = Comparison {
                                family: p.family,
                                outcome: o,
                                value: None,
                            };
                            self.weights.weight(&c, prior, &freq)
                        };
                        let highest = possible.resolve(|p| {
                            p.outcomes
                                .iter()
                                .max_by(|a, b| weight(p, *a).total_cmp(&weight(p, *b)))
                                .unwrap_or(Outcome::Disagree)
                        });
                        let hi = comparisons_probability(&highest, &freq, &self.weights);
                        // Neither kept nor the best whatever its spelling: not worth
                        // reading.
                        if hi < dump.negligible || (hi < keep_from && hi <= best) {
                            return 0.0;
                        }
                        read = reread(record_fields);
                        if read {
                            if !from_dump(record_fields, record, evidence) {
                                return 0.0;
                            }
                        } else {
                            // No dump to settle the spelling: judged at the bound.
                            score_comparisons(&highest, &freq, &self.weights, evidence);
                        }
                    }
                }
                None => {
                    // Damaged features: only the dump can tell.
                    read = reread(record_fields);
                    if !read || !from_dump(record_fields, record, evidence) {
                        return 0.0;
                    }
                }
            }
            any_index_only |= index_only;
            let p = evidence.probability;
            if p < keep_from {
                return p;
            }
            if with_fields && !read {
                read = reread(record_fields);
            }
            let (year, data_classes) = match &view {
                Some(view) => (
                    view.year(),
                    Classes::of(self.classes.len(), ds, |col| view.has_column(col)),
                ),
                None => {
                    record_year(record, &ds.kinds, record_fields);
                    (
                        record.record_year,
                        Classes::of(self.classes.len(), ds, |col| record_fields.has_value(col)),
                    )
                }
            };
            let fields = if with_fields && read {
                self.record_fields(ds, record_fields)
            } else {
                Vec::new()
            };
            let Some(entry) = entry() else {
                return p;
            };
            kept.push(Scored {
                candidate,
                dataset,
                row: u64::from(entry.row),
                year,
                evidence: evidence.clone(),
                index_only,
                data_classes,
                fields,
            });
            p
        };
        // `best` over every record read, `best_in` over those inside the scope (the
        // same without one): the verdict is `best_in`'s, lending follows `best`.
        let mut best_in = 0.0f64;
        // The strong group first; the weak one only while nobody inside the scope
        // is exposed yet (and never in the linked pass).
        for group in [true, false] {
            if !group && (best_in >= self.opts.thresholds.exposed || linked_pass) {
                break;
            }
            let views = read_ahead(group);
            for (at, &candidate) in candidates.selected().iter().enumerate() {
                if first(&candidate) == group {
                    let p = verify(views.get(at).copied().flatten(), candidate, best);
                    best = best.max(p);
                    if candidate.in_scope {
                        best_in = best_in.max(p);
                    }
                }
            }
        }

        let verdict = self.opts.thresholds.verdict(best_in);
        let threshold = match verdict {
            Verdict::Exposed => self.opts.thresholds.exposed,
            Verdict::Possible => self.opts.thresholds.possible,
            Verdict::NotFound => f64::INFINITY,
        };
        kept.sort_by(|a, b| {
            b.evidence
                .probability
                .total_cmp(&a.evidence.probability)
                .then((a.dataset, a.row).cmp(&(b.dataset, b.row)))
        });
        let exposed = self.opts.thresholds.exposed;
        let link = match pass {
            Pass::Direct(Some(link)) if best >= exposed => {
                link.known.extend(
                    kept.iter()
                        .filter(|k| k.evidence.probability >= exposed)
                        .map(|k| (k.candidate.segment, k.candidate.record)),
                );
                Some(link)
            }
            _ => None,
        };
        // Two people of one row: the row once, as the best of them (it alone may
        // lend identifiers; the linked pass knows both).
        let several = |k: &Scored| {
            self.datasets
                .get(k.dataset as usize)
                .is_some_and(|d| !d.people.is_empty())
        };
        if kept.len() > 1 && kept.iter().any(several) {
            let mut rows: Vec<(u32, u64)> = Vec::new();
            kept.retain(|k| {
                if !several(k) {
                    return true;
                }
                let row = (k.dataset, k.row);
                let first = !rows.contains(&row);
                if first {
                    rows.push(row);
                }
                first
            });
        }
        if let Some(link) = link {
            let lenders: Vec<Lender<'_>> = kept
                .iter()
                .filter(|k| !k.index_only && k.evidence.probability >= LEND.max(exposed))
                .filter_map(|k| self.lender(k))
                .collect();
            self.lend(
                &lenders,
                q,
                record_fields,
                record,
                &mut link.lent.identifiers,
            );
            if !link.lent.identifiers.is_empty() {
                link.counts.extend_from_slice(candidates.counts());
            }
        }
        kept.retain(|k| k.candidate.in_scope && k.evidence.probability >= threshold);
        let mut union = Classes::empty(self.classes.len());
        for k in &kept {
            union.union_with(&k.data_classes);
        }
        let data_classes: Vec<Arc<str>> = union.names(&self.classes).cloned().collect();
        let matches: Vec<RecordMatch> = kept
            .into_iter()
            .map(|k| {
                let ds = self.datasets.get(k.dataset as usize);
                RecordMatch {
                    record: k.candidate.record,
                    dataset: ds.map_or_else(
                        || Arc::from(format!("dataset {}", k.dataset)),
                        |d| Arc::clone(&d.name),
                    ),
                    row: k.row,
                    year: k.year,
                    probability: k.evidence.probability,
                    // Bulk answers carry only the union (see `query_brief`).
                    data_classes: if with_fields {
                        k.data_classes.names(&self.classes).cloned().collect()
                    } else {
                        Vec::new()
                    },
                    evidence: k.evidence,
                    fields: k.fields,
                    index_only: k.index_only,
                    linked: false,
                }
            })
            .collect();
        Answer {
            verdict,
            score: best_in,
            matches,
            data_classes,
            index_only: any_index_only,
            unsearchable: false,
        }
    }

    /// Where a kept record that may lend identifiers lives, if it may: a record
    /// with a value in a column of [`LINK_KINDS`], unless that value agreed exactly
    /// with the query's and the column holds one value (one column of its kind, not
    /// a JSON array). The rest are not read again.
    fn lender(&self, kept: &Scored) -> Option<Lender<'_>> {
        let segment = self.index.segments().get(kept.candidate.segment as usize)?;
        let ds = self.datasets.get(kept.dataset as usize)?;
        let (file, local) = ds
            .source
            .and_then(|(f, local)| Some((self.files.get(f)?, local)))?;
        let arrays = file.format() == Format::JsonLines;
        let agreed = |kind: FieldKind| {
            !arrays
                && ds.kinds.iter().filter(|k| **k == Some(kind)).count() == 1
                && FieldFamily::of_identifier(kind).is_some_and(|family| {
                    kept.evidence
                        .fields
                        .iter()
                        .any(|f| f.family == family && f.outcome == Outcome::Exact)
                })
        };
        let lends = ds.kinds.iter().enumerate().any(|(col, kind)| {
            kind.is_some_and(|k| LINK_KINDS.contains(&k) && !agreed(k))
                && ds
                    .class_of_column
                    .get(col)
                    .is_some_and(|&class| kept.data_classes.contains(class))
        });
        lends.then_some(Lender {
            segment,
            ds,
            file,
            local,
            record: kept.candidate.record,
        })
    }

    /// Adds to `learned` the identifiers of the `lenders`, read back from their
    /// dumps, that neither `q` nor `learned` holds yet. Each record's entry, then
    /// its bytes, are asked of memory for all of them before any is read.
    fn lend(
        &self,
        lenders: &[Lender<'_>],
        q: &Person,
        fields: &mut Fields,
        record: &mut Person,
        learned: &mut Vec<(FieldKind, String)>,
    ) {
        for l in lenders {
            l.segment.prefetch_record(l.record);
        }
        let entries: Vec<_> = lenders
            .iter()
            .map(|l| {
                let entry = l.segment.record(l.record);
                if let Some(e) = &entry {
                    l.file.prefetch(e.offset);
                }
                entry
            })
            .collect();
        for (l, entry) in lenders.iter().zip(entries) {
            let Some(entry) = entry else { continue };
            if l.file
                .read_record_into(l.local, entry.offset, entry.len, fields)
                .is_err()
                || !l.ds.people.take(fields, entry.person)
            {
                continue;
            }
            record.clear();
            fill_needed(
                record,
                (&l.ds.kinds, &l.ds.orders),
                fields,
                &LINK_MASK,
                Part::Person,
            );
            for id in record.identifiers.drain(..) {
                if !q.identifiers.contains(&id) && !learned.contains(&id) {
                    learned.push(id);
                }
            }
        }
    }

    /// The record's non-empty values by column, masked unless `reveal`.
    fn record_fields(&self, ds: &DatasetState, fields: &Fields) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (col, header) in ds.columns.iter().enumerate() {
            let kind = ds.kinds.get(col).copied().flatten();
            for value in fields.values(col).filter(|v| !v.trim().is_empty()) {
                let shown = if self.opts.reveal {
                    value.to_string()
                } else {
                    mask(kind, value)
                };
                out.push((header.clone(), shown));
            }
        }
        out
    }
}

/// Appends the keys of what the build's keys cannot see from the query's side: a
/// date of birth with day and month swapped (US order), a name written family name
/// first in a full-name column (`Smith Mary`), and the other forms of one mailbox (a
/// record keys `jane@gmail.com` as an email and `jane+tax@gmail.com` as an email plus
/// its alias `jane@gmail.com`: a query for either form looks the other's key up too).
/// A few more lookups per query; keys already present are not repeated, so each
/// key's position (its bit in [`Candidate::keys`]) stays that of [`keys::derive`].
fn slip_keys(q: &Person, secret: &Secret, keys: &mut Vec<Key>, variant: &mut Person) {
    let start = keys.len();
    let key = |recipe: KeyRecipe, parts: &[&[u8]]| Key {
        recipe,
        hash: keys::hash(secret, recipe, parts),
    };
    for value in q.identifiers_of(FieldKind::Email) {
        keys.push(key(KeyRecipe::EmailAlias, &[value.as_bytes()]));
        if let Some(alias) = email::alias(value) {
            keys.push(key(KeyRecipe::Email, &[alias.as_bytes()]));
        }
    }
    if q.dobs.iter().any(|d| d.swapped().is_some()) {
        variant.clear();
        variant.first_names.clone_from(&q.first_names);
        variant.last_names.clone_from(&q.last_names);
        variant.postcodes.clone_from(&q.postcodes);
        variant.dobs.extend(q.dobs.iter().filter_map(Date::swapped));
        keys::derive(variant, secret, keys);
    }
    // An initial keys nothing (see `keys::derive`), either way round.
    let named = |n: &&String| n.chars().nth(1).is_some();
    for first in q.first_names.iter().filter(named) {
        for last in q.last_names.iter().filter(named) {
            let parts: [&[u8]; 2] = [name::given_key_ref(last).as_bytes(), first.as_bytes()];
            keys.push(key(KeyRecipe::GivenLast, &parts));
        }
    }
    let mut i = start;
    while i < keys.len() {
        let k = keys[i];
        if keys.get(..i).is_some_and(|before| before.contains(&k)) {
            keys.remove(i);
        } else {
            i += 1;
        }
    }
}

/// A record whose full name was written family name first (`Morcombe Michael`)
/// reads as given name `morcombe`, family name `michael`: when that is exactly the
/// query's name reversed, read it the right way round.
pub(crate) fn unswap_names(q: &Person, record: &mut Person) {
    let (Some(first), Some(last)) = (record.first_names.first(), record.last_names.first()) else {
        return;
    };
    if record.first_names.len() == 1
        && record.last_names.len() == 1
        && first != last
        && q.first_names.contains(last)
        && q.last_names.contains(first)
    {
        std::mem::swap(&mut record.first_names, &mut record.last_names);
    }
}

/// Opens one dump (its decompressed copy for `.gz`), or says why it cannot be used.
fn open_dump(
    index_dir: &Path,
    entry: &crate::index::DatasetEntry,
    recorded: Option<&DumpFile>,
    layouts: &BTreeMap<String, FileLayout>,
    files: &mut Vec<SourceFile>,
    warnings: &mut Vec<String>,
) -> Option<usize> {
    let dump = Path::new(&entry.dump);
    let path = match &entry.copy {
        // The copy is exactly the bytes the offsets point into, whatever became of
        // the compressed original.
        Some(copy) => {
            let copy = index_dir.join(copy);
            if !copy.is_file() {
                warnings.push(format!(
                    "the decompressed copy of dump {} is missing from the index: its records are judged from the index alone and lend no identifiers to find linked records",
                    entry.dump
                ));
                return None;
            }
            copy
        }
        None => {
            match check_dump(dump, recorded) {
                DumpState::Usable => {}
                DumpState::Missing => {
                    warnings.push(format!(
                        "dump {} is missing: its records are judged from the index alone and lend no identifiers to find linked records",
                        entry.dump
                    ));
                    return None;
                }
                DumpState::Changed => {
                    warnings.push(format!(
                        "dump {} changed since the index was built: its records are judged from the index alone and lend no identifiers to find linked records (rebuild the index to see their values)",
                        entry.dump
                    ));
                    return None;
                }
            }
            dump.to_path_buf()
        }
    };
    // The layout saved at build time spares reading the whole dump again.
    let opened = match layouts.get(&entry.dump) {
        Some(layout) => SourceFile::reopen(&path, name_base(&entry.name, &entry.format), layout),
        None => SourceFile::open(&path, name_base(&entry.name, &entry.format), None),
    };
    match opened {
        Ok(file) => {
            files.push(file);
            Some(files.len() - 1)
        }
        Err(e) => {
            warnings.push(format!(
                "dump {} cannot be read ({e}): its records are judged from the index alone and lend no identifiers to find linked records",
                entry.dump
            ));
            None
        }
    }
}

/// The scope as one bitmap per segment; terms that name nothing become warnings.
fn resolve_scope(
    index: &Index,
    expr: &Scope,
    warnings: &mut Vec<String>,
) -> Result<Vec<RoaringBitmap>, MatchError> {
    let mut out = Vec::with_capacity(index.segments().len());
    let mut named = vec![false; expr.atoms().len()];
    for segment in index.segments() {
        let scope_error = |source| MatchError::Scope {
            segment: segment.name().to_string(),
            source,
        };
        let names: Vec<String> = segment
            .scope_names()
            .map_err(scope_error)?
            .into_iter()
            .map(str::to_string)
            .collect();
        for (hit, atom) in named.iter_mut().zip(expr.atoms()) {
            *hit |= scope::atom_names_any(atom, &names);
        }
        // Fetch every bitmap up front so that a damaged one is an error, not an
        // empty scope.
        let mut bitmaps = Vec::with_capacity(names.len());
        for name in &names {
            let bitmap = segment
                .scope(name)
                .map_err(scope_error)?
                .unwrap_or_default();
            bitmaps.push(bitmap);
        }
        let get = |name: &str| -> Option<RoaringBitmap> {
            let i = names.iter().position(|n| n == name)?;
            bitmaps.get(i).cloned()
        };
        let universe: RoaringBitmap = (0..segment.record_count()).collect();
        out.push(expr.eval(&universe, &|atom| scope::resolve_atom(atom, &names, &get)));
    }
    let few = |mut names: Vec<String>| -> String {
        names.sort();
        names.dedup();
        if names.is_empty() {
            return "none".to_string();
        }
        let shown = names.len().min(6);
        let mut list = names.get(..shown).unwrap_or_default().join(", ");
        if names.len() > shown {
            list.push_str(&format!(" and {} more", names.len() - shown));
        }
        list
    };
    for (hit, atom) in named.iter().zip(expr.atoms()) {
        if !hit && matches!(atom, scope::Atom::Dataset(_)) {
            let names = index
                .manifest()
                .datasets
                .iter()
                .map(|d| d.name.clone())
                .collect();
            return Err(MatchError::ScopeNamesNoDataset {
                term: atom.to_string(),
                datasets: few(names),
            });
        }
        // A kind no record holds (`has:passport`) is a real answer, "none"; an
        // unmapped column no dataset has is a misspelt header.
        if !hit && let scope::Atom::Has(scope::DataClass::Other(wanted)) = atom {
            let columns: Vec<String> = index
                .manifest()
                .datasets
                .iter()
                .flat_map(|d| d.columns.iter())
                .filter(|c| {
                    c.kind
                        .as_deref()
                        .is_none_or(|k| k == FieldKind::Ignore.name())
                })
                .map(|c| format!("other:{}", c.name))
                .collect();
            // A column written another way (`Vehicle_Reg`, `vehicle reg`) is named;
            // else how to quote one of this index's names with spaces.
            let wanted = crate::source::mapping::compact(wanted);
            let hint = match columns.iter().find(|c| {
                c.strip_prefix("other:")
                    .is_some_and(|name| crate::source::mapping::compact(name) == wanted)
            }) {
                Some(c) => format!("; did you mean has:\"{c}\"?"),
                None => columns
                    .iter()
                    .find(|c| c.contains(' '))
                    .map(|c| format!(" (a name with spaces is quoted: has:\"{c}\")"))
                    .unwrap_or_default(),
            };
            return Err(MatchError::ScopeNamesNoColumn {
                term: atom.to_string(),
                columns: few(columns),
                hint,
            });
        }
        if !hit {
            warnings.push(format!(
                "scope term '{atom}' names nothing in this index (datasets: see `leakscope inspect`)"
            ));
        }
    }
    Ok(out)
}

/// Which field kinds of a record can change the query's score: those of the
/// families the query has (a family only one side has weighs nothing). The
/// record's year is read apart, for kept records only ([`record_year`]).
pub(crate) fn needed_kinds(q: &Person) -> [bool; FieldKind::ALL.len()] {
    let mut needed = [false; FieldKind::ALL.len()];
    let mut need = |kind: FieldKind| {
        if let Some(slot) = needed.get_mut(kind as usize) {
            *slot = true;
        }
    };
    let names = !q.first_names.is_empty() || !q.middle_names.is_empty() || !q.last_names.is_empty();
    if names {
        for kind in [
            FieldKind::FirstName,
            FieldKind::MiddleName,
            FieldKind::LastName,
            FieldKind::FullName,
        ] {
            need(kind);
        }
    }
    if !q.dobs.is_empty() {
        need(FieldKind::Dob);
    }
    if !q.genders.is_empty() {
        need(FieldKind::Gender);
    }
    if !q.house_numbers.is_empty() || !q.streets.is_empty() || !q.postcodes.is_empty() {
        for kind in [
            FieldKind::HouseNumber,
            FieldKind::Street,
            FieldKind::Address,
            FieldKind::Postcode,
        ] {
            need(kind);
        }
    }
    if !q.towns.is_empty() {
        // Town is compared only without postcodes on both sides, so the record's
        // postcodes matter too.
        for kind in [FieldKind::Town, FieldKind::Address, FieldKind::Postcode] {
            need(kind);
        }
    }
    for (kind, _) in &q.identifiers {
        need(*kind);
        // An IBAN in a bank-account column yields the sort code too.
        if matches!(kind, FieldKind::SortCode | FieldKind::BankAccount) {
            need(FieldKind::SortCode);
            need(FieldKind::BankAccount);
        }
    }
    needed
}

/// [`Person::fill_from`] limited to the kinds in `needed` that feed `part`: the same
/// normalisation (through [`Person::add`]), without the cost of values that cannot
/// change the score. Adds to `record` (the two parts fill different fields).
fn fill_needed(
    record: &mut Person,
    (kinds, orders): (&[Option<FieldKind>], &[DateOrder]),
    fields: &Fields,
    needed: &[bool; FieldKind::ALL.len()],
    part: Part,
) {
    for (col, kind) in kinds.iter().enumerate() {
        let Some(kind) = *kind else { continue };
        if Part::of_kind(kind) != Some(part) || !needed.get(kind as usize).copied().unwrap_or(false)
        {
            continue;
        }
        let order = orders.get(col).copied().unwrap_or_default();
        for value in fields.values(col) {
            if !value.is_empty() {
                record.add_in(kind, value, order);
            }
        }
    }
}

/// The record's year, from its first `record_date` column that has one: read only
/// for records that make it into an answer.
fn record_year(record: &mut Person, kinds: &[Option<FieldKind>], fields: &Fields) {
    record.record_year = None;
    for (col, kind) in kinds.iter().enumerate() {
        if *kind != Some(FieldKind::RecordDate) {
            continue;
        }
        for value in fields.values(col) {
            if !value.is_empty() {
                record.add(FieldKind::RecordDate, value);
            }
        }
    }
}

/// How common the query's values are, from the posting-list lengths of its own keys.
///
/// Identifiers have keys of their own: their counts are exact. Names, dates of birth
/// and postcodes only appear in composite keys, whose lengths are lower bounds (at
/// least as many records carry `smith` as carry `smith` with this date of birth).
/// A lower bound may only make a value look *more* common than the weight table's
/// default assumes, never rarer, so such counts are reported only above it.
struct FrequencyTable<'q> {
    entries: Vec<(FieldFamily, FreqValue<'q>, u64)>,
}

#[derive(Clone, Copy, PartialEq)]
enum FreqValue<'q> {
    Text(&'q str),
    Date(Date),
}

impl<'q> FrequencyTable<'q> {
    fn new(
        q: &'q Person,
        secret: &Secret,
        counts: &[KeyCount],
        weights: &Weights,
        total: u64,
        segments: &[Segment],
    ) -> FrequencyTable<'q> {
        let mut entries = Vec::new();
        let postings = |recipe: KeyRecipe, parts: &[&[u8]]| -> u64 {
            let hash = keys::hash(secret, recipe, parts);
            counts
                .iter()
                .find(|c| c.key.hash == hash)
                .map_or(0, |c| c.postings)
        };
        for (kind, value) in &q.identifiers {
            let (Some(family), Some(recipe)) =
                (FieldFamily::of_identifier(*kind), primary_recipe(*kind))
            else {
                continue;
            };
            let hash = keys::hash(secret, recipe, &[value.as_bytes()]);
            let mut n = postings(recipe, &[value.as_bytes()]);
            if n > weights.shared_identifier {
                n = others_sharing(segments, hash, n);
            }
            if n > 0 {
                entries.push((family, FreqValue::Text(value.as_str()), n));
            }
        }
        // Lower bounds, reported only when they say "more common than assumed".
        // `u` is how often *another* person's record shares the value, so the
        // records that may be the person's own (`records_per_person` of them) are
        // not counted: in a five-record dump holding the resident's two records,
        // "Mary" is not a name two in five people bear, and agreeing on it exactly
        // must not weigh less than a swapped date of birth.
        let own = weights.records_per_person.max(0.0).round() as u64;
        let mut bound = |family: FieldFamily, value: FreqValue<'q>, n: u64| {
            let Some(rule) = weights.rule(family, Outcome::Exact) else {
                return;
            };
            let factor = match rule.scale {
                Scale::Frequency { factor, .. } => factor,
                _ => 1.0,
            };
            let others = n.saturating_sub(own);
            if total > 0 && others as f64 / total as f64 * factor > rule.u {
                entries.push((family, value, others));
            }
        };
        let givens: Vec<&str> = q
            .first_names
            .iter()
            .map(|g| name::given_key_ref(g))
            .collect();
        for last in &q.last_names {
            let l = last.as_bytes();
            let mut n = 0;
            for d in &q.dobs {
                n = n.max(postings(KeyRecipe::LastDob, &[l, &d.digits()]));
            }
            for g in &givens {
                n = n.max(postings(KeyRecipe::GivenLast, &[g.as_bytes(), l]));
            }
            for p in &q.postcodes {
                n = n.max(postings(KeyRecipe::LastPostcode, &[l, p.as_bytes()]));
            }
            bound(FieldFamily::LastName, FreqValue::Text(last), n);
        }
        for (first, g) in q.first_names.iter().zip(&givens) {
            let mut n = 0;
            for d in &q.dobs {
                n = n.max(postings(KeyRecipe::GivenDob, &[g.as_bytes(), &d.digits()]));
            }
            for last in &q.last_names {
                n = n.max(postings(
                    KeyRecipe::GivenLast,
                    &[g.as_bytes(), last.as_bytes()],
                ));
            }
            for p in &q.postcodes {
                n = n.max(postings(
                    KeyRecipe::GivenPostcode,
                    &[g.as_bytes(), p.as_bytes()],
                ));
            }
            bound(FieldFamily::FirstName, FreqValue::Text(first), n);
        }
        for d in &q.dobs {
            let digits = d.digits();
            let mut n = 0;
            for last in &q.last_names {
                n = n.max(postings(KeyRecipe::LastDob, &[last.as_bytes(), &digits]));
            }
            for g in &givens {
                n = n.max(postings(KeyRecipe::GivenDob, &[g.as_bytes(), &digits]));
            }
            for p in &q.postcodes {
                n = n.max(postings(KeyRecipe::DobPostcode, &[&digits, p.as_bytes()]));
            }
            bound(FieldFamily::Dob, FreqValue::Date(*d), n);
        }
        for p in &q.postcodes {
            let mut n = 0;
            for h in &q.house_numbers {
                n = n.max(postings(
                    KeyRecipe::HouseNumberPostcode,
                    &[h.as_bytes(), p.as_bytes()],
                ));
            }
            for last in &q.last_names {
                n = n.max(postings(
                    KeyRecipe::LastPostcode,
                    &[last.as_bytes(), p.as_bytes()],
                ));
            }
            for g in &givens {
                n = n.max(postings(
                    KeyRecipe::GivenPostcode,
                    &[g.as_bytes(), p.as_bytes()],
                ));
            }
            bound(FieldFamily::Address, FreqValue::Text(p), n);
        }
        FrequencyTable { entries }
    }

    fn count(&self, family: FieldFamily, value: &str) -> Option<u64> {
        let date = if family == FieldFamily::Dob {
            Date::parse_iso(value)
        } else {
            None
        };
        self.entries
            .iter()
            .find(|(f, v, _)| {
                *f == family
                    && match v {
                        FreqValue::Text(t) => *t == value,
                        FreqValue::Date(d) => Some(*d) == date,
                    }
            })
            .map(|e| e.2)
    }
}

/// Records of an identifier's posting list read to tell one person's many records
/// from a value many people share.
const SHARED_SAMPLE: u64 = 64;

/// Of the `n` records carrying an identifier's key (`hash`), about how many are not
/// the commonest family name's: a regular swimmer's thirty bookings under one email,
/// or thirty years of council tax under one NI number, are one person's records, not
/// a value thirty people share (a switchboard, `none@none.com`). Up to
/// [`SHARED_SAMPLE`] of the records are read: those of the family name most of them
/// carry count as one person's, the rest (other family names, and records with none,
/// which cannot be told apart) as others', scaled to `n`.
fn others_sharing(segments: &[Segment], hash: u64, n: u64) -> u64 {
    let mut surnames: Vec<(u64, u64)> = Vec::new();
    let mut sampled = 0u64;
    'segments: for segment in segments {
        for id in segment.lookup(hash).iter() {
            if sampled >= SHARED_SAMPLE {
                break 'segments;
            }
            sampled += 1;
            let surname = segment
                .record_features(id)
                .and_then(|view| view.names(NameList::Last).next());
            if let Some(h) = surname {
                match surnames.iter_mut().find(|(name, _)| *name == h) {
                    Some((_, records)) => *records += 1,
                    None => surnames.push((h, 1)),
                }
            }
        }
    }
    let Some(commonest) = surnames.iter().map(|&(_, records)| records).max() else {
        return n;
    };
    let others = sampled - commonest;
    // Rounded up: a value some other person carries is never counted as nobody's.
    (others * n).div_ceil(sampled)
}

/// The single-field recipe of an identifier kind (the canonical value's key).
fn primary_recipe(kind: FieldKind) -> Option<KeyRecipe> {
    match kind {
        FieldKind::Email => Some(KeyRecipe::Email),
        FieldKind::BankAccount => Some(KeyRecipe::BankAccount),
        FieldKind::SortCode => None,
        k => KeyRecipe::ALL
            .into_iter()
            .find(|r| r.is_identifier() && r.field_kind() == Some(k)),
    }
}

/// A value as a caseworker may see it without `--reveal`: enough to recognise, not
/// enough to misuse. Emails keep their first letter and domain (`j***@gmail.com`),
/// phones their first two and last three digits (`07*** ***456`), names their
/// initials, dates of birth their year, addresses their words but not their
/// numbers, postcodes their outward code; other identifiers and unmapped columns
/// show only their last two characters or each word's first letter.
pub fn mask(kind: Option<FieldKind>, value: &str) -> String {
    let value = value.trim();
    match kind {
        Some(FieldKind::Email) => match value.rsplit_once('@') {
            Some((local, domain)) => {
                let first: String = local.chars().take(1).collect();
                format!("{first}***@{domain}")
            }
            None => stars_but_last(value, 2),
        },
        Some(FieldKind::Phone) => mask_phone(value),
        Some(
            FieldKind::FirstName
            | FieldKind::MiddleName
            | FieldKind::LastName
            | FieldKind::FullName,
        ) => initials(value),
        Some(FieldKind::Dob) => mask_digits_but_year(value),
        Some(FieldKind::Postcode) => match value.split_whitespace().next() {
            Some(outward) if value.contains(' ') => format!("{outward} ***"),
            _ => {
                let keep = value.len().saturating_sub(3);
                format!("{} ***", value.get(..keep).unwrap_or(""))
            }
        },
        Some(FieldKind::Address | FieldKind::Street | FieldKind::HouseNumber) => value
            .chars()
            .map(|c| if c.is_ascii_digit() { '*' } else { c })
            .collect(),
        Some(FieldKind::Town | FieldKind::Gender | FieldKind::RecordDate) => value.to_string(),
        Some(k) if k.is_identifier() => stars_but_last(value, 2),
        _ => word_initials(value),
    }
}

fn mask_phone(value: &str) -> String {
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let mut seen = 0;
    value
        .chars()
        .map(|c| {
            if !c.is_ascii_digit() {
                return c;
            }
            seen += 1;
            if seen <= 2 || seen + 3 > digits {
                c
            } else {
                '*'
            }
        })
        .collect()
}

fn initials(value: &str) -> String {
    value
        .split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphabetic()))
        .map(|c| format!("{}.", c.to_uppercase()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn mask_digits_but_year(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let mut out = String::with_capacity(value.len());
    let mut i = 0;
    while i < chars.len() {
        let run = chars.get(i..).map_or(0, |rest| {
            rest.iter().take_while(|c| c.is_ascii_digit()).count()
        });
        if run == 0 {
            // A month written as a word (`3-Feb-1980`) tells as much as its digits.
            out.extend(
                chars
                    .get(i)
                    .map(|&c| if c.is_alphabetic() { '*' } else { c }),
            );
            i += 1;
            continue;
        }
        let digits = chars.get(i..i + run).unwrap_or(&[]);
        if run == 4 {
            out.extend(digits);
        } else {
            out.extend(std::iter::repeat_n('*', run));
        }
        i += run;
    }
    out
}

fn stars_but_last(value: &str, keep: usize) -> String {
    let n = value.chars().count();
    value
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i + keep >= n || !c.is_alphanumeric() {
                c
            } else {
                '*'
            }
        })
        .collect()
}

fn word_initials(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut start = true;
    for c in value.chars() {
        if c.is_whitespace() {
            start = true;
            out.push(c);
        } else if start {
            out.push(c);
            start = false;
        } else {
            out.push('*');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A set of classes, either size, holds what was inserted or united into it
    /// and names it in the order of the class list.
    #[test]
    fn class_sets_unite_and_name_in_order() {
        for count in [5usize, 128, 129, 300] {
            let all: Vec<Arc<str>> = (0..count).map(|i| format!("c{i:03}").into()).collect();
            let ds = DatasetState {
                name: "d".into(),
                source: None,
                columns: vec!["a".into(), "b".into(), "c".into()],
                kinds: vec![None; 3],
                orders: Vec::new(),
                class_of_column: vec![count - 1, 0, count / 2],
                people: People::default(),
            };
            let a = Classes::of(count, &ds, |col| col != 1);
            let b = Classes::of(count, &ds, |col| col == 1);
            assert!(a.contains(count - 1) && a.contains(count / 2) && !a.contains(0));
            let mut union = Classes::empty(count);
            union.union_with(&a);
            union.union_with(&b);
            let mut want = vec![&all[0], &all[count / 2]];
            if count - 1 != count / 2 {
                want.push(&all[count - 1]);
            }
            assert_eq!(union.names(&all).collect::<Vec<_>>(), want, "{count}");
            let places: Vec<usize> = union.places().collect();
            let every: Vec<usize> = (0..count).filter(|&c| union.contains(c)).collect();
            assert_eq!(places, every, "{count}");
            assert_eq!(Classes::empty(count).names(&all).count(), 0);
        }
    }

    #[test]
    fn masks_hide_identifiers() {
        assert_eq!(
            mask(Some(FieldKind::Email), "jane.doe@gmail.com"),
            "j***@gmail.com"
        );
        assert_eq!(mask(Some(FieldKind::Phone), "07911 123456"), "07*** ***456");
        assert_eq!(
            mask(Some(FieldKind::Phone), "+44 7911 123456"),
            "+44 **** ***456"
        );
        assert_eq!(mask(Some(FieldKind::FullName), "Jane  van Doe"), "J. V. D.");
        assert_eq!(mask(Some(FieldKind::Dob), "03/02/1980"), "**/**/1980");
        assert_eq!(mask(Some(FieldKind::Dob), "1980-02-03"), "1980-**-**");
        assert_eq!(mask(Some(FieldKind::Dob), "3-Feb-1980"), "*-***-1980");
        assert_eq!(
            mask(Some(FieldKind::Dob), "3 February 1980"),
            "* ******** 1980"
        );
        assert_eq!(mask(Some(FieldKind::Postcode), "SW1A 1AA"), "SW1A ***");
        assert_eq!(mask(Some(FieldKind::Postcode), "sw1a1aa"), "sw1a ***");
        assert_eq!(mask(Some(FieldKind::NiNumber), "AB123456C"), "*******6C");
        assert_eq!(
            mask(Some(FieldKind::Address), "Flat 2, 19 High St"),
            "Flat *, ** High St"
        );
        assert_eq!(mask(None, "AB12 CDE"), "A*** C**");
        assert_eq!(mask(Some(FieldKind::Town), "London"), "London");
    }

    #[test]
    fn name_base_strips_sql_tables_only() {
        assert_eq!(name_base("archive.sql#members", "sql"), "archive.sql");
        assert_eq!(name_base("a#b.csv", "csv"), "a#b.csv");
    }

    #[test]
    fn matcher_is_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Matcher>();
    }

    #[test]
    fn the_link_mask_is_the_link_kinds_and_all_are_person_kinds() {
        for kind in FieldKind::ALL {
            assert_eq!(
                LINK_MASK[kind as usize],
                LINK_KINDS.contains(&kind),
                "{kind:?}"
            );
        }
        // `lend` fills the person part only: a place kind here would never be lent.
        for kind in LINK_KINDS {
            assert_eq!(Part::of_kind(kind), Some(Part::Person), "{kind:?}");
        }
    }

    #[test]
    fn needed_kinds_follow_the_query() {
        let mut q = Person::default();
        q.add(FieldKind::Email, "a@b.com");
        q.add(FieldKind::LastName, "Smith");
        let needed = needed_kinds(&q);
        let has = |k: FieldKind| needed[k as usize];
        assert!(has(FieldKind::Email) && has(FieldKind::FullName));
        assert!(!has(FieldKind::Phone) && !has(FieldKind::Dob) && !has(FieldKind::Postcode));
        // With everything needed, the filtered fill is exactly `fill_from`.
        let kinds = [
            Some(FieldKind::FullName),
            Some(FieldKind::Phone),
            None,
            Some(FieldKind::Ignore),
        ];
        let file = SourceFile::from_bytes(
            b"name,tel,notes,skip\nMr Bill Smith,07911 123456,x,y\n".to_vec(),
            "t.csv",
            &crate::source::ReadOptions::default(),
        );
        let file = match file {
            Ok(f) => f,
            Err(e) => panic!("{e}"),
        };
        let out = file.scan(Vec::new, |v: &mut Vec<Fields>, rec| {
            v.push(rec.fields.clone())
        });
        let Some(fields) = out.states.iter().flatten().next() else {
            panic!("no record");
        };
        let (mut all, mut some, mut reference) =
            (Person::default(), Person::default(), Person::default());
        for part in [Part::Place, Part::Person] {
            fill_needed(
                &mut all,
                (&kinds, &[]),
                fields,
                &[true; FieldKind::ALL.len()],
                part,
            );
        }
        reference.fill_from(&kinds, fields);
        assert_eq!(all, reference);
        for part in [Part::Place, Part::Person] {
            fill_needed(&mut some, (&kinds, &[]), fields, &needed, part);
        }
        assert_eq!(some.last_names, ["smith"]);
        assert!(some.identifiers.is_empty());
    }

    proptest! {
        #[test]
        fn masking_never_panics_and_hides_email_local_parts(
            local in "[a-z]{2,12}", domain in "[a-z]{1,8}\\.com", any in "\\PC{0,30}"
        ) {
            let email = format!("{local}@{domain}");
            let masked = mask(Some(FieldKind::Email), &email);
            let first = local.get(..1).unwrap_or("");
            prop_assert_eq!(masked, format!("{first}***@{domain}"));
            for kind in FieldKind::ALL {
                let _ = mask(Some(kind), &any);
            }
            let _ = mask(None, &any);
        }
    }
}
