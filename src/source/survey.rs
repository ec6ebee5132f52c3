//! What `leakscope index --dry-run` prints: per dataset, its format, encoding,
//! rows, rejects by reason, column mapping (with the person each column is of,
//! where rows may hold several) and how many rows hold several people.

use super::mapping::{ColumnMap, Overrides, map_dataset};
use super::people::People;
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
    /// Rows that hold several people, and the people in them.
    pub several: u64,
    /// See [`DatasetReport::several`].
    pub people_in_several: u64,
    /// Rows of more people than a row is split into: indexed whole.
    pub crowded: u64,
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
        let mappings: Vec<Vec<ColumnMap>> = file
            .datasets()
            .iter()
            .enumerate()
            .map(|(i, ds)| {
                let sample = file.sample(i, SAMPLE_RECORDS);
                map_dataset(&ds.name, &ds.columns, &sample, overrides)
            })
            .collect();
        let people: Vec<People> = mappings.iter().map(|m| People::new(m)).collect();
        // Per dataset: rows of several people, and those people.
        let scan = file.scan(
            || (vec![(0u64, 0u64, 0u64); people.len()], Vec::new()),
            |(counts, split), rec| {
                let n = people
                    .get(rec.dataset)
                    .map_or(Ok(0), |p| p.split_or_crowd(rec.fields, split));
                let Some((rows, persons, crowded)) = counts.get_mut(rec.dataset) else {
                    return;
                };
                match n {
                    Ok(0) => {}
                    Ok(n) => {
                        *rows += 1;
                        *persons += n as u64;
                    }
                    Err(_) => *crowded += 1,
                }
            },
        );
        let mut several = vec![(0u64, 0u64, 0u64); people.len()];
        for (counts, _) in &scan.states {
            for (total, n) in several.iter_mut().zip(counts) {
                total.0 += n.0;
                total.1 += n.1;
                total.2 += n.2;
            }
        }
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
                several: 0,
                people_in_several: 0,
                crowded: 0,
                mapping: Vec::new(),
                warnings: file.warnings().to_vec(),
            });
            continue;
        }
        for ((i, ds), mapping) in file.datasets().iter().enumerate().zip(mappings) {
            let (several, people_in_several, crowded) =
                several.get(i).copied().unwrap_or((0, 0, 0));
            out.push(DatasetReport {
                name: ds.name.clone(),
                path: file.path().to_path_buf(),
                format: file.format(),
                encoding: file.encoding(),
                bytes: file.len_bytes(),
                rows: scan.rows(i),
                rejects: scan.rejects_by_reason(i),
                short_rows: scan.short_rows(i),
                several,
                people_in_several,
                crowded,
                mapping,
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
            let kind = match (m.kind, &m.person) {
                (Some(k), _) => format!("{k} ({})", m.how()),
                (None, Some(p)) => format!("{} ({p})", m.data_class()),
                (None, None) => m.data_class(),
            };
            writeln!(f, "  {:<width$}  -> {kind}", m.column)?;
        }
        match self.several {
            0 => {}
            1 => writeln!(
                f,
                "  1 row holds several people: {} people, indexed one record each",
                self.people_in_several
            )?,
            n => writeln!(
                f,
                "  {n} rows hold several people: {} people, indexed one record each",
                self.people_in_several
            )?,
        }
        if self.short_rows > 0 {
            writeln!(f, "  note: {}", short_rows_note(self.short_rows))?;
        }
        if self.crowded > 0 {
            writeln!(
                f,
                "  warning: {}",
                super::people::crowded_warning(&self.name, self.crowded)
            )?;
        }
        for w in &self.warnings {
            writeln!(f, "  warning: {w}")?;
        }
        Ok(())
    }
}
