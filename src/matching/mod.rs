//! Verifying candidates: does this dump record describe the query's person, how
//! sure are we, and why.
//!
//! The index finds candidate records by key; this module decides. [`compare`] says,
//! family by family, how a query [`Person`](crate::normalize::Person) and a record
//! relate (exact, a nickname, a day/month swap, the same postcode sector, …);
//! [`score`] turns that into a Fellegi–Sunter match probability, adjusted for how
//! common the agreeing values are; [`Evidence`] keeps every contribution so each
//! answer can explain itself. [`Scope`] narrows answers to the datasets, years and
//! data classes the user names.
//!
//! ```
//! use leakscope::matching::{score, Frequencies, Thresholds, Verdict, Weights};
//! use leakscope::normalize::{Date, Person};
//!
//! let query = Person {
//!     first_names: vec!["bill".into()],
//!     last_names: vec!["smith".into()],
//!     dobs: vec![Date { year: 1980, month: 2, day: 3 }],
//!     ..Person::default()
//! };
//! let record = Person { first_names: vec!["william".into()], ..query.clone() };
//! let evidence = score(&query, &record, &Frequencies::unknown(), &Weights::default());
//! assert_eq!(evidence.verdict(&Thresholds::default()), Verdict::Exposed);
//! assert_eq!(evidence.agreed(), ["dob", "last_name", "first_name~nickname"]);
//! ```

pub mod answer;
pub mod candidates;
pub mod compare;
pub mod engine;
pub mod explain;
pub mod report;
pub mod scope;
pub mod score;
pub(crate) mod similarity;
pub(crate) mod verify;

pub use answer::{Answer, RecordMatch};
pub use compare::{Agreed, Comparison, Comparisons, FieldFamily, Outcome, compare};
pub use engine::{LINK_KINDS, MatchError, MatchOptions, Matcher};
pub use explain::{Evidence, FieldEvidence};
pub use scope::{Atom, DataClass, Scope, ScopeError, ScopeProblem, resolve_atom};
pub use score::{
    Frequencies, Rule, Scale, Thresholds, Verdict, WeightMemo, Weights, score, score_into,
};
