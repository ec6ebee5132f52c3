//! Provisional stand-in for the matching engine (written in another worktree), so
//! that `leakscope match` compiles here. Answers `not_found` to everything.

use super::answer::Answer;
use super::scope::Scope;
use super::score::Thresholds;
use crate::normalize::Person;
use std::path::Path;

/// How queries are answered.
#[derive(Clone, Debug, Default)]
pub struct MatchOptions {
    /// Verdict thresholds.
    pub thresholds: Thresholds,
    /// Only records in this scope count.
    pub scope: Option<Scope>,
    /// Show record values unmasked.
    pub reveal: bool,
}

/// Opening an index for matching failed.
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    /// The index could not be opened.
    #[error("cannot open index {path}: {reason}")]
    Open {
        /// The index directory.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Answers queries against one index.
#[derive(Debug)]
pub struct Matcher {
    _opts: MatchOptions,
}

impl Matcher {
    /// Open an index.
    pub fn open(index_dir: &Path, opts: MatchOptions) -> Result<Matcher, MatchError> {
        if !index_dir.is_dir() {
            return Err(MatchError::Open {
                path: index_dir.display().to_string(),
                reason: "not a directory".into(),
            });
        }
        Ok(Matcher { _opts: opts })
    }

    /// Problems found while opening.
    pub fn warnings(&self) -> &[String] {
        &[]
    }

    /// Answer one query.
    pub fn query(&self, _q: &Person) -> Answer {
        Answer::not_found()
    }

    /// Records in the index.
    pub fn record_count(&self) -> u64 {
        0
    }

    /// Dataset names of the index.
    pub fn dataset_names(&self) -> Vec<&str> {
        Vec::new()
    }
}
