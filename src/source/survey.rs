//! What `leakscope index --dry-run` prints: per dataset, its format, encoding,
//! rows, rejects by reason and column mapping.

use super::mapping::{ColumnMap, Overrides, map_dataset};
use super::{Format, RejectReason, SourceFile, TextEncoding, short_rows_note};
use std::fmt;
use std::path::PathBuf;

/// How many leading records feed value sniffing.
pub const SAMPLE_RECORDS: usize = 200;

/// One dataset, read and mapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetReport {
    /// Dataset name (`x.csv`, `archive.sql#residents`).
    pub name: String,
    /// The file read.
    pub path: PathBuf,
    /// The file's format.
    pub format: Format,
    /// The file's encoding.
    pub encoding: TextEncoding,
    /// Bytes of the file (decompressed).
    pub bytes: u64,
    /// Rows, rejected ones included.
    pub rows: u64,
    /// Rejected rows per reason.
    pub rejects: Vec<(RejectReason, u64)>,
    /// Rows read with trailing fields left off (fewer fields than the header).
    pub short_rows: u64,
    /// What each column means.
    pub mapping: Vec<ColumnMap>,
    /// File-level warnings (empty file, unreadable statements).
    pub warnings: Vec<String>,
}

/// Read every file (a full parallel scan each, counting rows and rejects), sample
/// each dataset and map its columns.
pub fn survey(files: &[SourceFile], overrides: &Overrides) -> Vec<DatasetReport> {
    let mut out = Vec::new();
    for file in files {
        let scan = file.scan(|| (), |_, _| {});
        if file.datasets().is_empty() {
            out.push(DatasetReport {
                name: file.name().to_string(),
                path: file.path().to_path_buf(),
                format: file.format(),
                encoding: file.encoding(),
                bytes: file.len_bytes(),
                rows: 0,
                rejects: Vec::new(),
                short_rows: 0,
                mapping: Vec::new(),
                warnings: file.warnings().to_vec(),
            });
            continue;
        }
        for (i, ds) in file.datasets().iter().enumerate() {
            let sample = file.sample(i, SAMPLE_RECORDS);
            out.push(DatasetReport {
                name: ds.name.clone(),
                path: file.path().to_path_buf(),
                format: file.format(),
                encoding: file.encoding(),
                bytes: file.len_bytes(),
                rows: scan.rows(i),
                rejects: scan.rejects_by_reason(i),
                short_rows: scan.short_rows(i),
                mapping: map_dataset(&ds.name, &ds.columns, &sample, overrides),
                warnings: file.warnings().to_vec(),
            });
        }
    }
    out
}

impl fmt::Display for DatasetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rejected: u64 = self.rejects.iter().map(|(_, n)| n).sum();
        write!(
            f,
            "{}: {}, {}, {} bytes, {} rows",
            self.name, self.format, self.encoding, self.bytes, self.rows
        )?;
        if rejected > 0 {
            let reasons: Vec<String> = self
                .rejects
                .iter()
                .map(|(r, n)| format!("{n} {r}"))
                .collect();
            write!(f, " ({rejected} rejected: {})", reasons.join(", "))?;
        }
        writeln!(f)?;
        let width = self
            .mapping
            .iter()
            .map(|m| m.column.chars().count())
            .max()
            .unwrap_or(0);
        for m in &self.mapping {
            let kind = match m.kind {
                Some(k) if m.order == crate::normalize::date::Order::MonthFirst => {
                    format!("{k} ({}, month first)", m.origin)
                }
                Some(k) => format!("{k} ({})", m.origin),
                None => m.data_class(),
            };
            writeln!(f, "  {:<width$}  -> {kind}", m.column)?;
        }
        if self.short_rows > 0 {
            writeln!(f, "  note: {}", short_rows_note(self.short_rows))?;
        }
        for w in &self.warnings {
            writeln!(f, "  warning: {w}")?;
        }
        Ok(())
    }
}
