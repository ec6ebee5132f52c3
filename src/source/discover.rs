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

/// Paths a command writes while it reads the dumps (the index being built, the
/// `--rejects` file), never read as dumps even when they lie inside a dump
/// directory: reading them would index the command's own output (an earlier
/// index's manifest), and a file the command truncates while it is mapped would
/// crash the read.
#[derive(Debug, Clone, Default)]
pub struct LeaveOut {
    /// The index directory, resolved, and its file name.
    index: Option<(PathBuf, String)>,
    /// Files, resolved, and what each is in the user's words.
    files: Vec<(PathBuf, &'static str)>,
}

impl LeaveOut {
    /// Nothing left out.
    pub fn new() -> LeaveOut {
        LeaveOut::default()
    }

    /// Leaves out the index directory `out`, everything in it, and its temporary
    /// siblings (`.NAME.tmp-*`, `.NAME.old-*`: where `IndexWriter` builds and
    /// swaps).
    pub fn index(mut self, out: &Path) -> LeaveOut {
        let resolved = resolved(out);
        let name = resolved
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.index = Some((resolved, name));
        self
    }

    /// Leaves out the file `path`, which is `what` (`the --rejects file`).
    pub fn file(mut self, path: &Path, what: &'static str) -> LeaveOut {
        self.files.push((resolved(path), what));
        self
    }

    /// What `path` is, if it is left out (`the --rejects file`); links and `..`
    /// resolved.
    pub fn what_is(&self, path: &Path) -> Option<&'static str> {
        self.reason(&resolved(path))
    }

    /// What `path` (resolved) is, if it is left out.
    fn reason(&self, path: &Path) -> Option<&'static str> {
        if let Some((index, name)) = &self.index {
            if path.starts_with(index) {
                return Some("the index being written (--out)");
            }
            let sibling = path.parent() == index.parent()
                && path.file_name().is_some_and(|n| {
                    let n = n.to_string_lossy();
                    [".tmp-", ".old-"]
                        .iter()
                        .any(|tag| n.starts_with(&format!(".{name}{tag}")))
                });
            if sibling {
                return Some("a temporary directory of a build of the index (--out)");
            }
        }
        self.files
            .iter()
            .find(|(file, _)| file == path)
            .map(|(_, what)| *what)
    }
}

/// `path` with links and `..` resolved; for a path that does not exist yet (an
/// index about to be written), its nearest existing ancestor resolved and the
/// rest appended.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(real) = fs::canonicalize(path) {
        return real;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            resolved(parent).join(name)
        }
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
}

/// What walking the `DUMP` arguments found.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Each dump file once, with its dataset name, in a stable order.
    pub files: Vec<(PathBuf, String)>,
    /// Files the directory walks left out because their names are not of a format
    /// leakscope reads (`.xlsx`, `.bz2`…): a leaked archive may hold data in them,
    /// so a build names them (see [`skipped_warning`]) rather than pass over them
    /// in silence.
    pub skipped: Vec<PathBuf>,
    /// What else was left out and why, one line each: a file reached twice (a
    /// link, or given twice), a link to a directory, the command's own output.
    pub notes: Vec<String>,
}

/// Walk `DUMP` arguments into `(file, dataset name)` pairs.
///
/// A file argument is named by its file name; a directory argument is walked
/// recursively in sorted order (hidden files and directories too: they are leaked
/// data like any other; only dump extensions kept; version-control directories
/// such as `.git` and macOS `._NAME` metadata files left out, with a note) and
/// each file is named by its path relative to the directory, with `/`
/// separators. A `.gz` suffix is dropped from names, unless another file then has
/// the same name (`people.csv` beside `people.csv.gz`: the compressed one keeps
/// it). A file reached twice (through a link, or named twice) is read once, where
/// it is first reached. Two different files that would still share a name are an
/// error.
pub fn discover(args: &[PathBuf]) -> Result<Vec<(PathBuf, String)>, SourceError> {
    discover_leaving_out(args, &LeaveOut::new()).map(|found| found.files)
}

/// [`discover`], leaving out what `leave_out` names, and telling what it left out.
pub fn discover_leaving_out(
    args: &[PathBuf],
    leave_out: &LeaveOut,
) -> Result<Discovery, SourceError> {
    let mut walked = Walk {
        leave_out,
        found: Vec::new(),
        skipped: Vec::new(),
        notes: Vec::new(),
        metadata: Vec::new(),
    };
    for arg in args {
        let meta = fs::metadata(arg).map_err(|source| io_error(arg, source))?;
        let real = resolved(arg);
        if let Some(what) = leave_out.reason(&real) {
            walked.leave(arg, what);
        } else if meta.is_dir() {
            walked.dir(arg, "")?;
        } else {
            let name = arg
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| arg.to_string_lossy().into_owned());
            walked.found.push((arg.clone(), name, real));
        }
    }
    walked.note_metadata();
    let Walk {
        found,
        skipped,
        mut notes,
        ..
    } = walked;
    // One file once, where the stable order first reaches it.
    let mut files: Vec<(PathBuf, String)> = Vec::with_capacity(found.len());
    let mut first_at: HashMap<PathBuf, usize> = HashMap::new();
    for (path, name, real) in found {
        if let Some(&i) = first_at.get(&real) {
            if let Some((first, first_name)) = files.get(i) {
                let how = if fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink()) {
                    "is a link to a file read already"
                } else {
                    "is reached twice"
                };
                notes.push(format!(
                    "{} {how} (as {}): read once, as dataset {first_name}",
                    path.display(),
                    first.display()
                ));
            }
            continue;
        }
        first_at.insert(real, files.len());
        files.push((path, name));
    }
    // Names without `.gz`, unless that makes two files share one: a dump beside
    // its compressed copy (`people.csv`, `people.csv.gz`) are two datasets.
    let mut count: HashMap<String, usize> = HashMap::new();
    for (_, name) in &files {
        *count.entry(strip_gz(name).to_string()).or_default() += 1;
    }
    let mut kept_gz = Vec::new();
    for (path, name) in &mut files {
        let stripped = strip_gz(name).to_string();
        if count.get(&stripped).is_some_and(|&n| n > 1) && stripped != *name {
            kept_gz.push((path.clone(), name.clone(), stripped));
        } else {
            *name = stripped;
        }
    }
    for (path, name, stripped) in kept_gz {
        let other = files.iter().find(|(_, n)| *n == stripped).map_or_else(
            || "another file".to_string(),
            |(p, _)| p.display().to_string(),
        );
        notes.push(format!(
            "{} is dataset {name} (its .gz kept): {other} is dataset {stripped}",
            path.display()
        ));
    }
    let mut seen: HashMap<&str, &Path> = HashMap::new();
    for (path, name) in &files {
        if let Some(first) = seen.insert(name, path) {
            return Err(SourceError::DuplicateName {
                name: name.clone(),
                first: first.to_path_buf(),
                second: path.clone(),
            });
        }
    }
    Ok(Discovery {
        files,
        skipped,
        notes,
    })
}

/// The warning for the files a directory walk left out for their names
/// ([`Discovery::skipped`]), if any.
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

/// Directories of version-control systems: their files are the history of a
/// project (compressed objects, not dumps), never read inside a dump directory.
const VCS_DIRS: [&str; 4] = [".git", ".hg", ".svn", ".bzr"];

/// The first bytes of an AppleDouble file (`._NAME`, the metadata macOS writes
/// beside each file copied to a foreign file system).
const APPLE_DOUBLE: [u8; 4] = [0x00, 0x05, 0x16, 0x07];

/// A walk in progress: files found (path, dataset name with any `.gz`, resolved
/// path), in order.
struct Walk<'a> {
    leave_out: &'a LeaveOut,
    found: Vec<(PathBuf, String, PathBuf)>,
    skipped: Vec<PathBuf>,
    notes: Vec<String>,
    /// AppleDouble metadata files left out.
    metadata: Vec<PathBuf>,
}

/// Whether `path` is an AppleDouble metadata file (`._NAME` holding its magic).
fn is_apple_double(name: &str, path: &Path) -> bool {
    use std::io::Read;
    if !name.starts_with("._") {
        return false;
    }
    let mut head = [0u8; 4];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head == APPLE_DOUBLE)
}

impl Walk<'_> {
    /// One note for the AppleDouble files left out, if any.
    fn note_metadata(&mut self) {
        if let Some(first) = self.metadata.first() {
            self.notes.push(format!(
                "{} macOS metadata file(s) (AppleDouble `._NAME`, not data) were not read, e.g. {}",
                self.metadata.len(),
                first.display()
            ));
        }
    }

    fn leave(&mut self, path: &Path, what: &str) {
        self.notes.push(format!(
            "{} was not read as a dump: it is {what}",
            path.display()
        ));
    }

    fn dir(&mut self, dir: &Path, prefix: &str) -> Result<(), SourceError> {
        let mut entries = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
            let entry = entry.map_err(|e| io_error(dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // Hidden files are read like any other: a leaked `.old_export.csv` is
            // leaked data. What this command writes (`.NAME.tmp-*`) is left out
            // below, with a note.
            entries.push((name, entry.path()));
        }
        entries.sort();
        for (name, path) in entries {
            // `metadata` follows symlinks to files; symlinked directories are not
            // followed, which rules out cycles.
            let link = fs::symlink_metadata(&path).map_err(|e| io_error(&path, e))?;
            let meta = fs::metadata(&path).map_err(|e| io_error(&path, e))?;
            let rel = format!("{prefix}{name}");
            if !meta.is_dir() && !meta.is_file() {
                // A pipe, socket or device in a copied tree holds no dump to map.
                self.notes.push(format!(
                    "{} is not a regular file (a pipe, socket or device): not read",
                    path.display()
                ));
                continue;
            }
            let real = resolved(&path);
            if let Some(what) = self.leave_out.reason(&real) {
                self.leave(&path, what);
            } else if meta.is_dir() && link.file_type().is_symlink() {
                self.notes.push(format!(
                    "{} is a link to a directory: links to directories are not followed inside \
                     a dump directory; give it as a DUMP argument to read it",
                    path.display()
                ));
            } else if meta.is_dir() && VCS_DIRS.contains(&name.as_str()) {
                self.notes.push(format!(
                    "{} is a version-control directory ({name}): not read; give it as a DUMP \
                     argument to read it",
                    path.display()
                ));
            } else if meta.is_dir() {
                self.dir(&path, &format!("{rel}/"))?;
            } else if is_apple_double(&name, &path) {
                self.metadata.push(path);
            } else if is_dump_name(&name) {
                self.found.push((path, rel, real));
            } else {
                self.skipped.push(path);
            }
        }
        Ok(())
    }
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
    fn walks_sorted_reads_hidden_names_relative() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        fs::create_dir_all(root.join("sub/deeper"))?;
        fs::create_dir_all(root.join(".git"))?;
        fs::create_dir_all(root.join(".archive"))?;
        for f in [
            "b.csv",
            "a.jsonl",
            "sub/x.sql.gz",
            "sub/deeper/y.tsv",
            ".hidden.csv",
            ".archive/2012.csv",
            ".git/c.csv",
            "notes.pdf",
        ] {
            fs::write(root.join(f), "")?;
        }
        // macOS metadata beside a file copied from a Mac: not data.
        fs::write(root.join("._b.csv"), b"\x00\x05\x16\x07\x00\x02\x00\x00")?;
        // A hidden file is leaked data like any other.
        let found = discover_leaving_out(&[root.to_path_buf()], &LeaveOut::new())?;
        assert_eq!(
            names(&found),
            [
                ".archive/2012.csv",
                ".hidden.csv",
                "a.jsonl",
                "b.csv",
                "sub/deeper/y.tsv",
                "sub/x.sql"
            ]
        );
        assert_eq!(found.skipped, [root.join("notes.pdf")]);
        assert_eq!(found.notes.len(), 2, "{:?}", found.notes);
        assert!(
            found.notes[0].contains(".git is a version-control directory"),
            "{:?}",
            found.notes
        );
        assert!(
            found.notes[1].starts_with("1 macOS metadata file(s)"),
            "{:?}",
            found.notes
        );
        assert!(found.notes[1].ends_with("._b.csv"), "{:?}", found.notes);
        fs::remove_file(root.join(".hidden.csv"))?;
        fs::remove_dir_all(root.join(".archive"))?;
        // Two files that would share a name.
        let elsewhere = tempfile::tempdir()?;
        fs::write(elsewhere.path().join("b.csv"), "")?;
        let found = discover(&[root.to_path_buf(), elsewhere.path().join("b.csv")]);
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

    fn names(found: &Discovery) -> Vec<&str> {
        found.files.iter().map(|(_, n)| n.as_str()).collect()
    }

    #[test]
    fn a_dump_beside_its_compressed_copy_is_two_datasets() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let root = dir.path().join("dump");
        fs::create_dir_all(root.join("sub"))?;
        for f in ["people.csv", "people.csv.gz", "sub/only.csv.gz"] {
            fs::write(root.join(f), "")?;
        }
        let found = discover_leaving_out(std::slice::from_ref(&root), &LeaveOut::new())?;
        assert_eq!(
            names(&found),
            ["people.csv", "people.csv.gz", "sub/only.csv"]
        );
        assert_eq!(found.notes.len(), 1, "{:?}", found.notes);
        assert!(
            found.notes[0].contains("people.csv.gz is dataset people.csv.gz (its .gz kept): ")
                && found.notes[0].ends_with("people.csv is dataset people.csv"),
            "{:?}",
            found.notes
        );
        // Named as files, too.
        let files = [root.join("people.csv.gz"), root.join("people.csv")];
        let found = discover_leaving_out(&files, &LeaveOut::new())?;
        assert_eq!(names(&found), ["people.csv.gz", "people.csv"]);
        // Two files of one name in two places still need their folders in the name.
        let other = dir.path().join("other");
        fs::create_dir_all(&other)?;
        fs::write(other.join("people.csv"), "")?;
        let err = discover(&[root.join("people.csv"), other.join("people.csv")]).unwrap_err();
        assert!(
            err.to_string()
                .contains("give the directory that holds both"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn a_file_reached_twice_is_read_once_where_first_reached()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        fs::write(root.join("a.csv"), "email\nj@example.com\n")?;
        fs::write(root.join("z.csv"), "email\nz@example.com\n")?;
        std::os::unix::fs::symlink("a.csv", root.join("b.csv"))?;
        std::os::unix::fs::symlink("z.csv", root.join("y.csv"))?;
        let found = discover_leaving_out(&[root.to_path_buf()], &LeaveOut::new())?;
        // The walk is sorted: a.csv before its link b.csv, the link y.csv before z.csv.
        assert_eq!(names(&found), ["a.csv", "y.csv"]);
        assert_eq!(found.notes.len(), 2, "{:?}", found.notes);
        assert!(
            found.notes[0].contains("b.csv is a link to a file read already")
                && found.notes[0].ends_with("read once, as dataset a.csv"),
            "{:?}",
            found.notes
        );
        assert!(
            found.notes[1].contains("z.csv is reached twice"),
            "{:?}",
            found.notes
        );

        // The same file named twice, and named and inside a directory named.
        let a = root.join("a.csv");
        let twice = discover_leaving_out(&[a.clone(), a.clone()], &LeaveOut::new())?;
        assert_eq!(names(&twice), ["a.csv"]);
        assert_eq!(twice.notes.len(), 1, "{:?}", twice.notes);
        let both = discover_leaving_out(&[a, root.to_path_buf()], &LeaveOut::new())?;
        assert_eq!(names(&both), ["a.csv", "y.csv"]);
        Ok(())
    }

    #[test]
    fn links_to_directories_are_named_not_followed() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().join("d");
        fs::create_dir_all(root.join("real"))?;
        fs::write(root.join("real/x.csv"), "")?;
        std::os::unix::fs::symlink("real", root.join("via"))?;
        let found = discover_leaving_out(std::slice::from_ref(&root), &LeaveOut::new())?;
        assert_eq!(names(&found), ["real/x.csv"]);
        assert_eq!(found.notes.len(), 1);
        assert!(
            found.notes[0].contains("via is a link to a directory"),
            "{:?}",
            found.notes
        );
        // Given as an argument, a linked directory is read.
        let via = discover(&[root.join("via")])?;
        assert_eq!(via.len(), 1);
        assert_eq!(via[0].1, "x.csv");
        Ok(())
    }

    #[test]
    fn the_index_and_the_rejects_file_are_left_out() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().join("d");
        fs::create_dir_all(root.join("idx/gunzip"))?;
        fs::create_dir_all(root.join("idxs"))?;
        fs::write(root.join("a.csv"), "")?;
        fs::write(root.join("rejects.csv"), "")?;
        fs::write(root.join("idx/manifest.json"), "{}")?;
        fs::write(root.join("idx/gunzip/gunzip-0.csv"), "")?;
        fs::write(root.join("idxs/b.csv"), "")?;
        let leave_out = LeaveOut::new()
            .index(&root.join("idx"))
            .file(&root.join("rejects.csv"), "the --rejects file");
        let found = discover_leaving_out(std::slice::from_ref(&root), &leave_out)?;
        // `idxs` only shares a prefix with `idx`: it is read.
        assert_eq!(names(&found), ["a.csv", "idxs/b.csv"]);
        assert_eq!(found.notes.len(), 2, "{:?}", found.notes);
        assert!(found.notes[0].contains("it is the index being written"));
        assert!(found.notes[1].contains("it is the --rejects file"));
        // The same named directly, and through a relative path with `..`.
        let direct = discover_leaving_out(
            &[
                root.join("sub/../rejects.csv"),
                root.join("idx/manifest.json"),
            ],
            &LeaveOut::new()
                .index(&root.join("idx"))
                .file(&root.join("rejects.csv"), "the --rejects file"),
        );
        // `sub` does not exist, so that path is not found at all.
        assert!(direct.is_err());
        let direct = discover_leaving_out(
            &[
                root.join("idxs/../rejects.csv"),
                root.join("idx/manifest.json"),
            ],
            &leave_out,
        )?;
        assert!(direct.files.is_empty(), "{:?}", direct.files);
        assert_eq!(direct.notes.len(), 2);
        // A rejects file not written yet and an index not built yet are matched
        // by where they will be.
        let later = LeaveOut::new()
            .index(&root.join("new/idx"))
            .file(&root.join("new/r.csv"), "the --rejects file");
        fs::create_dir_all(root.join("new/idx"))?;
        fs::write(root.join("new/r.csv"), "")?;
        fs::create_dir_all(root.join("new/.idx.tmp-1-0"))?;
        assert!(
            later
                .reason(&resolved(&root.join("new/idx/x.csv")))
                .is_some()
        );
        assert!(later.reason(&resolved(&root.join("new/r.csv"))).is_some());
        assert!(
            later
                .reason(&resolved(&root.join("new/.idx.tmp-1-0")))
                .is_some()
        );
        assert!(
            later
                .reason(&resolved(&root.join("new/.idx2.tmp-1-0")))
                .is_none()
        );
        let found = discover_leaving_out(&[root.join("new")], &later)?;
        assert!(found.files.is_empty());
        Ok(())
    }
}
