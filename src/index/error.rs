//! The one error type of the index: every way reading or writing an index can fail,
//! each with a message that names the file and says what to do.

use std::io;
use std::path::{Path, PathBuf};

/// Why an index, or one of its segments, could not be written or read.
///
/// `what` fields name the thing in the user's words: a path, or
/// `segment 0 of INDEX` when the segment belongs to an index directory.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// An operating-system error while reading.
    #[error("cannot read {what}: {source}")]
    Read {
        /// The file or directory being read.
        what: String,
        /// The underlying error.
        source: io::Error,
    },
    /// An operating-system error while writing (disk full, permissions, ...).
    #[error("cannot write {what}: {source}")]
    Write {
        /// The file or directory being written.
        what: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The file starts like a segment but its contents are inconsistent.
    #[error("{what} is damaged: {detail}; rebuild the index with `leakscope index --force`")]
    Damaged {
        /// The damaged file.
        what: String,
        /// What was found wrong.
        detail: String,
    },
    /// The file is not a segment at all.
    #[error("{what} is not a leakscope segment (bad magic)")]
    NotASegment {
        /// The foreign file.
        what: String,
    },
    /// The file (segment or manifest) uses a format this build cannot read.
    #[error(
        "{what} was written by a newer leakscope (format version {found}, this build reads {supported}); upgrade leakscope"
    )]
    NewerVersion {
        /// The file.
        what: String,
        /// The version found in the file.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// The segment was written by an older leakscope in a format this build no
    /// longer reads.
    #[error(
        "{what} was written by an older leakscope (format version {found}, this build reads {supported}); rebuild the index with `leakscope index --force`",
        supported = super::format::FORMAT_VERSION
    )]
    OlderVersion {
        /// The file.
        what: String,
        /// The version found in the file.
        found: u32,
    },
    /// `IndexWriter::create` found an index (or an empty directory) at the output
    /// path, and `--force` was not given.
    #[error("{path} already exists; use --force to replace it")]
    Exists {
        /// The output path.
        path: PathBuf,
    },
    /// The output path holds something that is not an index (nor an empty
    /// directory): never replaced, with or without `--force`.
    #[error(
        "{path} exists and is not a leakscope index; it will not be replaced, even with --force: choose another --out"
    )]
    NotReplaceable {
        /// The output path.
        path: PathBuf,
    },
    /// The directory is not a (complete) index.
    #[error("{path} is not a leakscope index: {detail}")]
    NotAnIndex {
        /// The directory.
        path: PathBuf,
        /// Why not.
        detail: String,
    },
    /// The index directory has no usable `secret` file, so queries cannot be hashed.
    #[error(
        "{path} has no usable secret ({detail}); the index is incomplete or was copied without it: copy the secret file too, or rebuild the index"
    )]
    BadSecret {
        /// The index directory.
        path: PathBuf,
        /// What is wrong with the secret.
        detail: String,
    },
    /// The caller used the writer wrongly (a bug in the caller, or an input too big).
    #[error("cannot build the index: {0}")]
    InvalidInput(String),
}

impl IndexError {
    pub(crate) fn read(what: impl Into<String>, source: io::Error) -> Self {
        IndexError::Read {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn write(what: impl Into<String>, source: io::Error) -> Self {
        IndexError::Write {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn write_path(path: &Path, source: io::Error) -> Self {
        IndexError::write(path.display().to_string(), source)
    }

    pub(crate) fn damaged(what: &str, detail: impl Into<String>) -> Self {
        IndexError::Damaged {
            what: what.to_string(),
            detail: detail.into(),
        }
    }
}
