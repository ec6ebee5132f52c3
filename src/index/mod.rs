//! The on-disk index: which records carry a given key, answered from a
//! memory-mapped file in about a microsecond.
//!
//! - [`SegmentWriter`] builds one segment file with bounded memory;
//!   [`Segment`] opens it (memory-mapped) and answers [`Segment::lookup`].
//! - [`IndexWriter`] and [`Index`] manage the index directory: `manifest.json`,
//!   the `secret` hashing key, and the segments, written once and renamed into
//!   place so a reader never sees half an index.
//!
//! - [`build::build`] is the whole build: dumps read, normalised and keyed into one
//!   segment.
//!
//! Keys arrive already hashed (keyed xxh3-64, see `keys`) with an opaque recipe id;
//! records are the writer's `u32` ids. The index never sees a plain identifier.

pub mod build;
mod dir;
mod error;
mod format;
mod fsutil;
mod postings;
pub mod report;
mod roaring_view;
mod segment;
mod stats;
mod writer;

pub use dir::{
    ColumnEntry, DatasetEntry, DumpFile, DumpState, Index, IndexWriter, MANIFEST_FILE,
    MANIFEST_VERSION, Manifest, SECRET_FILE, SECRET_LEN, SegmentEntry, segment_file_name,
};
pub use error::IndexError;
pub use format::{FORMAT_VERSION, HISTOGRAM_BUCKETS, MAGIC, SHORT_MAX};
pub use postings::{Postings, PostingsIter};
pub use segment::{MAX_DATASETS, PERSON_BITS, RecordEntry, Segment};
pub use stats::{RecipeStats, SegmentStats, histogram_bucket};
pub use writer::{DEFAULT_PARTITION_BITS, KeyBatch, MAX_PARTITION_BITS, SegmentWriter};
