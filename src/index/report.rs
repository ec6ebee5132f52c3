//! What `leakscope inspect` shows: an index described from its manifest, its
//! segments' statistics and scope bitmaps, and the state of its dump files.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::dir::{DumpState, Index};
use super::error::IndexError;
use crate::keys::KeyRecipe;

/// A whole index, described.
#[derive(Debug, Clone, Serialize)]
pub struct IndexReport {
    /// The index directory.
    pub path: String,
    /// Manifest format version.
    pub format_version: u32,
    /// Segment format version (every segment opened has it).
    pub segment_format: u32,
    /// The leakscope version that built it.
    pub built_by: String,
    /// Bytes on disk (manifest, secret, segments, decompressed copies).
    pub size_bytes: u64,
    /// Records over all segments: one per person of a row holding several.
    pub records: u64,
    /// Rows indexed as several people (one record each), over all datasets.
    #[serde(skip_serializing_if = "is_zero")]
    pub several: u64,
    /// Distinct keys over all segments.
    pub keys: u64,
    /// (key, record) pairs.
    pub postings: u64,
    /// Key table and postings bytes per posting.
    pub bytes_per_posting: f64,
    /// Bytes of record features (with their offsets) and name tables: what
    /// verification reads instead of the dumps.
    pub feature_bytes: u64,
    /// Distinct names in the name tables.
    pub names: u64,
    /// One entry per dataset.
    pub datasets: Vec<DatasetReport>,
    /// One entry per key recipe present.
    pub recipes: Vec<RecipeReport>,
    /// Records per data class.
    pub data_classes: BTreeMap<String, u64>,
    /// Records per year of `record_date`.
    pub years: BTreeMap<u16, u64>,
    /// Each dump file and whether it is still as indexed.
    pub dumps: Vec<DumpReport>,
}

/// One dataset of the index.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetReport {
    /// Dataset name.
    pub name: String,
    /// Format and encoding as read.
    pub format: String,
    /// Encoding as read.
    pub encoding: String,
    /// Rows read, rejects included.
    pub rows: u64,
    /// Records indexed (rows less rejects).
    pub records: u64,
    /// Rows indexed as several people.
    #[serde(skip_serializing_if = "is_zero")]
    pub several: u64,
    /// The people of the `several` rows.
    #[serde(skip_serializing_if = "is_zero")]
    pub people: u64,
    /// Rejected rows per reason.
    pub rejects: BTreeMap<String, u64>,
    /// Column → (kind or `other:<column>`, origin).
    pub mapping: Vec<(String, String, String)>,
}

/// One key recipe's statistics.
#[derive(Debug, Clone, Serialize)]
pub struct RecipeReport {
    /// Recipe name (`email`, `last_dob`…).
    pub recipe: String,
    /// Distinct keys.
    pub keys: u64,
    /// (key, record) pairs.
    pub postings: u64,
    /// Longest posting list.
    pub largest: u64,
    /// Mean posting-list length.
    pub mean: f64,
}

/// One dump file and its state.
#[derive(Debug, Clone, Serialize)]
pub struct DumpReport {
    /// Path recorded at build time.
    pub path: String,
    /// Size recorded at build time.
    pub size: u64,
    /// Present and unchanged, changed, or missing.
    pub state: DumpState,
}

/// Describe `index`. Reads every scope bitmap's cardinality and checks every dump
/// file (size and time; a checksum only when the time changed).
pub fn inspect(index: &Index) -> Result<IndexReport, IndexError> {
    inspect_with(index, false)
}

/// [`inspect`]; with `checksum_dumps`, every dump file is read in full and its
/// checksum compared (an edit that kept the size and put the time back is found).
pub fn inspect_with(index: &Index, checksum_dumps: bool) -> Result<IndexReport, IndexError> {
    let manifest = index.manifest();
    let mut records = 0u64;
    let mut keys = 0u64;
    let mut postings = 0u64;
    let mut key_bytes = 0u64;
    let mut feature_bytes = 0u64;
    let mut names = 0u64;
    let mut recipes: BTreeMap<u8, super::stats::RecipeStats> = BTreeMap::new();
    let mut data_classes = BTreeMap::new();
    let mut years = BTreeMap::new();
    for segment in index.segments() {
        records += u64::from(segment.record_count());
        keys += segment.key_count();
        postings += segment.posting_count();
        key_bytes += segment.key_and_posting_bytes();
        feature_bytes += segment.feature_bytes();
        names += segment.names().len() as u64;
        for s in segment.recipe_stats() {
            recipes
                .entry(s.recipe)
                .and_modify(|r| r.merge(&s))
                .or_insert(s);
        }
        for name in segment.scope_names()? {
            let count = segment.scope(name)?.map_or(0, |b| b.len());
            if let Some(class) = name.strip_prefix("class:") {
                *data_classes.entry(class.to_string()).or_insert(0) += count;
            } else if let Some(year) = name.strip_prefix("year:").and_then(|y| y.parse().ok()) {
                *years.entry(year).or_insert(0) += count;
            }
        }
    }
    let mut size_bytes = 0u64;
    if let Ok(entries) = std::fs::read_dir(index.path()) {
        for e in entries.flatten() {
            size_bytes += dir_size(&e.path());
        }
    }
    let datasets = manifest
        .datasets
        .iter()
        .map(|d| DatasetReport {
            name: d.name.clone(),
            format: d.format.clone(),
            encoding: d.encoding.clone(),
            rows: d.rows,
            records: d.records,
            several: d.several,
            people: d.people,
            rejects: d.rejects_by_reason.clone(),
            mapping: d
                .columns
                .iter()
                .map(|c| {
                    let kind = c
                        .kind
                        .as_ref()
                        .filter(|k| k.as_str() != "ignore")
                        .cloned()
                        .unwrap_or_else(|| format!("other:{}", c.name));
                    let origin = match &c.person {
                        Some(p) => format!("{}, {p}", c.origin),
                        None => c.origin.clone(),
                    };
                    (c.name.clone(), kind, origin)
                })
                .collect(),
        })
        .collect();
    let dumps = manifest
        .segments
        .iter()
        .flat_map(|s| s.dumps.iter())
        .map(|d| DumpReport {
            path: d.path.clone(),
            size: d.size,
            state: if checksum_dumps {
                d.state_by_checksum()
            } else {
                d.state()
            },
        })
        .collect();
    Ok(IndexReport {
        path: index.path().display().to_string(),
        format_version: manifest.format_version,
        segment_format: super::format::FORMAT_VERSION,
        built_by: manifest.leakscope_version.clone(),
        size_bytes,
        records,
        several: manifest.datasets.iter().map(|d| d.several).sum(),
        keys,
        postings,
        bytes_per_posting: if postings == 0 {
            0.0
        } else {
            key_bytes as f64 / postings as f64
        },
        feature_bytes,
        names,
        datasets,
        recipes: recipes
            .values()
            .map(|r| RecipeReport {
                recipe: KeyRecipe::from_id(r.recipe)
                    .map_or_else(|| format!("recipe#{}", r.recipe), |k| k.name().to_string()),
                keys: r.keys,
                postings: r.postings,
                largest: r.largest,
                mean: r.mean_postings(),
            })
            .collect(),
        data_classes,
        years,
        dumps,
    })
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn dir_size(path: &std::path::Path) -> u64 {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|rd| rd.flatten().map(|e| dir_size(&e.path())).sum())
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

impl fmt::Display for IndexReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "index {}", self.path)?;
        writeln!(
            f,
            "  built by leakscope {}, manifest format {}, segment format {}; {:.1} MB on disk",
            self.built_by,
            self.format_version,
            self.segment_format,
            self.size_bytes as f64 / 1e6
        )?;
        let people = match self.several {
            0 => String::new(),
            1 => " (people: 1 row holds several)".to_string(),
            n => format!(" (people: {n} rows hold several)"),
        };
        writeln!(
            f,
            "  {} records{people}, {} keys, {} postings, {:.2} bytes per posting",
            self.records, self.keys, self.postings, self.bytes_per_posting
        )?;
        writeln!(
            f,
            "  record features {:.1} MB ({:.0} bytes per record), {} distinct names",
            self.feature_bytes as f64 / 1e6,
            if self.records == 0 {
                0.0
            } else {
                self.feature_bytes as f64 / self.records as f64
            },
            self.names
        )?;
        writeln!(f, "\ndatasets")?;
        for d in &self.datasets {
            let rejected: u64 = d.rejects.values().sum();
            let people = match d.several {
                0 => String::new(),
                1 => format!("; 1 row holds several people: {} people", d.people),
                n => format!("; {n} rows hold several people: {} people", d.people),
            };
            writeln!(
                f,
                "  {}  ({}, {}): {} rows, {} records, {} rejected{people}",
                d.name, d.format, d.encoding, d.rows, d.records, rejected
            )?;
            for (reason, n) in &d.rejects {
                writeln!(f, "      rejected: {n} {reason}")?;
            }
            let width = d.mapping.iter().map(|m| m.0.len()).max().unwrap_or(0);
            for (column, kind, origin) in &d.mapping {
                writeln!(f, "      {column:width$}  -> {kind} ({origin})")?;
            }
        }
        writeln!(f, "\nkeys per recipe")?;
        writeln!(
            f,
            "  {:<24} {:>12} {:>12} {:>10} {:>8}",
            "recipe", "keys", "postings", "largest", "mean"
        )?;
        for r in &self.recipes {
            writeln!(
                f,
                "  {:<24} {:>12} {:>12} {:>10} {:>8.2}",
                r.recipe, r.keys, r.postings, r.largest, r.mean
            )?;
        }
        writeln!(f, "\nrecords per data class")?;
        for (class, n) in &self.data_classes {
            writeln!(f, "  {class:<32} {n:>12}")?;
        }
        if self.years.is_empty() {
            writeln!(f, "\nyears covered: none (no record_date column)")?;
        } else {
            let first = self.years.keys().next().copied().unwrap_or(0);
            let last = self.years.keys().last().copied().unwrap_or(0);
            writeln!(f, "\nyears covered: {first}–{last}")?;
            for (year, n) in &self.years {
                writeln!(f, "  {year}  {n:>12}")?;
            }
        }
        writeln!(f, "\ndump files")?;
        for d in &self.dumps {
            writeln!(f, "  {}  ({} bytes): {}", d.path, d.size, d.state)?;
        }
        Ok(())
    }
}
