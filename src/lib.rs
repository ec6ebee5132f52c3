//! leakscope: after a data breach, find which people were in the leaked data and
//! which of their data was taken.
//!
//! The pipeline, stage by stage (each depends only on the ones before it):
//! [`source`] reads dump files into records, [`normalize`] turns raw values into
//! canonical ones, [`keys`] hashes them with the index's secret (and [`features`] keeps what
//! verification compares, hashed the same way), [`index`] stores
//! and serves postings, [`matching`] verifies candidates and explains verdicts.
//! [`synth`] generates synthetic archives with ground truth for tests and benchmarks.

pub mod features;
pub mod field;
pub mod index;
pub mod keys;
pub mod matching;
pub mod normalize;
pub mod outfile;
pub mod source;
pub mod synth;
