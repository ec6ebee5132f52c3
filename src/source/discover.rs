//! Walking `DUMP` arguments into dump files and their dataset names.

use super::{SourceError, strip_gz};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Extensions read when walking a directory (each also with `.gz`).
/// The extensions of the formats leakscope reads.
pub const DUMP_EXTENSIONS: [&str; 8] =
    ["csv", "tsv", "psv", "txt", "jsonl", "ndjson", "json", "sql"];

/// True when a file name has a dump extension (`.csv`, `.sql.gz`, …). Files named
/// explicitly are read whatever their name; files found in a directory only if
/// this holds, so a stray PDF in a leak folder is not parsed as CSV.
pub fn is_dump_name(file_name: &str) -> bool {
    let base = strip_gz(file_name);
    match base.rsplit_once('.') {
        Some((stem, ext)) => {
            !stem.is_empty() && DUMP_EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e))
        }
        None => false,
    }
}

/// Walk `DUMP` arguments into `(file, dataset name)` pairs.
///
/// A file argument is named by its file name; a directory argument is walked
/// recursively in sorted order (hidden files and directories skipped, only dump
/// extensions kept) and each file is named by its path relative to the directory,
/// with `/` separators. A `.gz` suffix is dropped from names. Two files that would
/// share a name are an error.
pub fn discover(args: &[PathBuf]) -> Result<Vec<(PathBuf, String)>, SourceError> {
    discover_noting_skipped(args).map(|(found, _)| found)
}

/// [`discover`], and the files its directory walks left out because their names
/// are not of a format leakscope reads (`.xlsx`, `.bz2`…): a leaked archive may hold
/// data in them, so a build names them rather than pass over them in silence.
#[allow(clippy::type_complexity)]
pub fn discover_noting_skipped(
    args: &[PathBuf],
) -> Result<(Vec<(PathBuf, String)>, Vec<PathBuf>), SourceError> {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for arg in args {
        let meta = fs::metadata(arg).map_err(|source| io_error(arg, source))?;
        if meta.is_dir() {
            walk(arg, "", &mut out, &mut skipped)?;
        } else {
            let name = arg
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| arg.to_string_lossy().into_owned());
            out.push((arg.clone(), strip_gz(&name).to_string()));
        }
    }
    let mut seen: HashMap<&str, &Path> = HashMap::new();
    for (path, name) in &out {
        if let Some(first) = seen.insert(name, path) {
            return Err(SourceError::DuplicateName {
                name: name.clone(),
                first: first.to_path_buf(),
                second: path.clone(),
            });
        }
    }
    Ok((out, skipped))
}

/// The warning for the files [`discover_noting_skipped`] left out, if any.
pub fn skipped_warning(skipped: &[PathBuf]) -> Option<String> {
    let first = skipped.first()?;
    Some(format!(
        "{} file(s) in the dump directories were not read: their names are not of a format \
         leakscope reads (.{}, each optionally .gz), e.g. {}; convert any that hold leaked data \
         and index them too",
        skipped.len(),
        DUMP_EXTENSIONS.join(" ."),
        first.display()
    ))
}

fn io_error(path: &Path, source: std::io::Error) -> SourceError {
    if source.kind() == std::io::ErrorKind::NotFound {
        SourceError::NotFound {
            path: path.to_path_buf(),
        }
    } else {
        SourceError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

fn walk(
    dir: &Path,
    prefix: &str,
    out: &mut Vec<(PathBuf, String)>,
    skipped: &mut Vec<PathBuf>,
) -> Result<(), SourceError> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        entries.push((name, entry.path()));
    }
    entries.sort();
    for (name, path) in entries {
        // `metadata` follows symlinks to files; symlinked directories are not
        // followed, which rules out cycles.
        let link = fs::symlink_metadata(&path).map_err(|e| io_error(&path, e))?;
        let meta = fs::metadata(&path).map_err(|e| io_error(&path, e))?;
        let rel = format!("{prefix}{name}");
        if meta.is_dir() {
            if !link.file_type().is_symlink() {
                walk(&path, &format!("{rel}/"), out, skipped)?;
            }
        } else if meta.is_file() && is_dump_name(&name) {
            out.push((path, strip_gz(&rel).to_string()));
        } else if meta.is_file() {
            skipped.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_names() {
        for yes in [
            "a.csv",
            "b.TSV",
            "c.sql.gz",
            "d.jsonl",
            "e.txt",
            "f.json.GZ",
        ] {
            assert!(is_dump_name(yes), "{yes}");
        }
        for no in ["a.pdf", "b", ".csv", "c.gz", "d.xlsx"] {
            assert!(!is_dump_name(no), "{no}");
        }
    }

    #[test]
    fn walks_sorted_skips_hidden_names_relative() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        fs::create_dir_all(root.join("sub/deeper"))?;
        fs::create_dir_all(root.join(".git"))?;
        for f in [
            "b.csv",
            "a.jsonl",
            "sub/x.sql.gz",
            "sub/deeper/y.tsv",
            ".hidden.csv",
            ".git/c.csv",
            "notes.pdf",
        ] {
            fs::write(root.join(f), "")?;
        }
        let found = discover(&[root.to_path_buf(), root.join("b.csv")]);
        // b.csv twice: the same name.
        assert!(matches!(found, Err(SourceError::DuplicateName { .. })));
        let found = discover(&[root.to_path_buf()])?;
        let names: Vec<&str> = found.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["a.jsonl", "b.csv", "sub/deeper/y.tsv", "sub/x.sql"]);
        assert_eq!(found[3].0, root.join("sub/x.sql.gz"));
        let single = discover(&[root.join("notes.pdf")])?;
        assert_eq!(single[0].1, "notes.pdf");
        let missing = discover(&[root.join("nope")]).unwrap_err();
        assert!(missing.to_string().contains("no such file"), "{missing}");
        Ok(())
    }
}
