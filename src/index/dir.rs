//! The index directory: `manifest.json`, `secret` and `segment-NNNN.seg` files,
//! written once and never modified in place.
//!
//! [`IndexWriter`] builds inside a hidden temporary sibling (`.NAME.tmp-<pid>-<n>`) and
//! renames it into place only after everything, the manifest last, is on disk. A
//! build killed part-way therefore leaves the previous index (or nothing) at
//! `NAME`; the leftover temporary directory does not open as an index and is
//! removed by the next build. [`Index`] opens a finished directory for queries.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3Default;

use super::error::IndexError;
use super::fsutil::{parent_of, sibling_name, sync_dir};
use super::segment::Segment;
use super::stats::SegmentStats;
use crate::source::FileStamp;

/// Length of the per-index hashing key in the `secret` file.
pub const SECRET_LEN: usize = 192;
/// The manifest format version this build writes and reads.
pub const MANIFEST_VERSION: u32 = 1;
/// File name of the manifest inside an index directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// File name of the hashing key inside an index directory.
pub const SECRET_FILE: &str = "secret";

/// The file name of segment `n`: `segment-0000.seg`, `segment-0001.seg`, ...
pub fn segment_file_name(n: u32) -> String {
    format!("segment-{n:04}.seg")
}

/// What an index holds and how it was built: `manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format version ([`MANIFEST_VERSION`]).
    pub format_version: u32,
    /// The leakscope version that built the index.
    #[serde(default)]
    pub leakscope_version: String,
    /// The segments, in order.
    pub segments: Vec<SegmentEntry>,
    /// The datasets; a record's dataset number indexes this list.
    #[serde(default)]
    pub datasets: Vec<DatasetEntry>,
    /// Build settings worth recording (memory budget, threads, mapping file...).
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// A keyed hash of a fixed text under the index's secret ([`secret_check`]), so
    /// that a `secret` file from another index is refused at open instead of making
    /// every key miss. Absent in indexes built before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_check: Option<String>,
    /// The fingerprint of the normalisation and key rules the index was built with
    /// (`keys::rules_fingerprint`): a query made under other rules may derive other
    /// keys for the same value, so the matcher warns when they differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_rules: Option<String>,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            format_version: MANIFEST_VERSION,
            leakscope_version: env!("CARGO_PKG_VERSION").to_string(),
            segments: Vec::new(),
            datasets: Vec::new(),
            settings: BTreeMap::new(),
            secret_check: None,
            key_rules: None,
        }
    }
}

/// The check value of a secret: xxh3-64, keyed with the secret, of a fixed text no
/// key is made of (keys start with a recipe id, never 0), as 16 hex digits. It says
/// nothing about any record; it only tells one secret from another.
pub fn secret_check(secret: &[u8; SECRET_LEN]) -> String {
    let value = xxhash_rust::xxh3::xxh3_64_with_secret(b"\0leakscope secret check", secret);
    format!("{value:016x}")
}

/// One segment of an index and the dump files it covers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentEntry {
    /// File name inside the index directory (see [`segment_file_name`]).
    pub file: String,
    /// Records in the segment.
    pub records: u64,
    /// Distinct keys.
    pub keys: u64,
    /// (key, record) pairs.
    pub postings: u64,
    /// File size.
    pub size_bytes: u64,
    /// The segment's footer checksum, 16 hex digits.
    pub checksum: String,
    /// The dump files whose records this segment holds.
    #[serde(default)]
    pub dumps: Vec<DumpFile>,
}

impl SegmentEntry {
    /// The entry for a segment written as `file` with `stats`.
    pub fn new(file: String, stats: &SegmentStats, dumps: Vec<DumpFile>) -> SegmentEntry {
        SegmentEntry {
            file,
            records: stats.records,
            keys: stats.keys,
            postings: stats.postings,
            size_bytes: stats.size_bytes,
            checksum: format!("{:016x}", stats.checksum),
            dumps,
        }
    }
}

/// A dump file as it was when indexed, to notice later if it changed or is missing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpFile {
    /// The path as given on the command line (or found under a directory argument).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds since the Unix epoch (0 if unknown).
    pub modified: u64,
    /// xxh3-64 of the file's bytes, 16 hex digits.
    pub checksum: String,
}

impl DumpFile {
    /// Reads `path` once to fill in its size, modification time and checksum;
    /// `recorded_as` is the path to store.
    pub fn describe(path: &Path, recorded_as: String) -> std::io::Result<DumpFile> {
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        let modified = FileStamp::of(path, &meta).modified_secs();
        let mut hasher = Xxh3Default::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            let chunk = buf.get(..n).unwrap_or(&[]);
            hasher.update(chunk);
            size += n as u64;
        }
        Ok(DumpFile {
            path: recorded_as,
            size,
            modified,
            checksum: format!("{:016x}", hasher.digest()),
        })
    }
}

/// One dataset: a file, or one table of an SQL file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetEntry {
    /// The dataset name (`council_tax_2006.csv`, `archive.sql#residents`).
    pub name: String,
    /// The dump file it came from (a [`DumpFile::path`]).
    pub dump: String,
    /// Where the index keeps a decompressed copy of a `.gz` dump, relative to the
    /// index directory; the copy is what record offsets point into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<String>,
    /// The format it was read as (`csv`, `jsonl`, `sql`...).
    #[serde(default)]
    pub format: String,
    /// The text encoding it was read as (`utf-8`, `windows-1252`...).
    #[serde(default)]
    pub encoding: String,
    /// Rows read, rejected ones included.
    pub rows: u64,
    /// Records indexed (rows less rejects).
    #[serde(default)]
    pub records: u64,
    /// Rows indexed as several people, one index record each (absent: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub several: u64,
    /// The people of the `several` rows, one index record each (absent: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub people: u64,
    /// Rows rejected as unreadable.
    #[serde(default)]
    pub rejects: u64,
    /// Rejected rows per reason.
    #[serde(default)]
    pub rejects_by_reason: BTreeMap<String, u64>,
    /// The columns and how they were mapped.
    #[serde(default)]
    pub columns: Vec<ColumnEntry>,
}

/// One column of a dataset and the field kind it was mapped to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnEntry {
    /// The column name (header, or dotted JSON path).
    pub name: String,
    /// The field kind (`email`, `dob`...), or `None` when unmapped (`other:<name>`).
    pub kind: Option<String>,
    /// Where the mapping came from (`detected`, `--map`, `mapping file`...).
    pub origin: String,
    /// A `dob` column written month first (`12/25/1970`), read so at build and when
    /// a record is read again; absent (day first) in most manifests and in older ones.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub month_first: bool,
    /// Which person of a row the column describes, in a dataset whose rows may
    /// hold several (absent: shared by all, or one person a row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<crate::source::PersonGroup>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Builds a new index directory; see the module documentation.
#[derive(Debug)]
pub struct IndexWriter {
    out: PathBuf,
    tmp: PathBuf,
    secret: Box<[u8; SECRET_LEN]>,
    force: bool,
    committed: bool,
}

impl IndexWriter {
    /// Starts building the index `out`. Refuses an existing `out` unless `force`
    /// (and even then, refuses anything that is not an index or an empty
    /// directory). Removes temporary directories left by killed builds of `out`,
    /// creates this build's own, and writes a fresh random secret (mode 0600).
    pub fn create(out: &Path, force: bool) -> Result<IndexWriter, IndexError> {
        let parent = parent_of(out);
        fs::create_dir_all(&parent).map_err(|e| IndexError::write_path(&parent, e))?;
        remove_stale_builds(out);
        check_replaceable(out, force)?;

        let tmp = sibling_name(out, "tmp")?;
        create_private_dir(&tmp)?;
        let mut secret = Box::new([0u8; SECRET_LEN]);
        getrandom::fill(&mut secret[..]).map_err(|e| {
            IndexError::write_path(&tmp.join(SECRET_FILE), std::io::Error::other(e.to_string()))
        })?;
        let writer = IndexWriter {
            out: out.to_path_buf(),
            tmp,
            secret,
            force,
            committed: false,
        };
        let secret_path = writer.tmp.join(SECRET_FILE);
        write_private_file(&secret_path, &writer.secret[..])?;
        Ok(writer)
    }

    /// Use `secret` instead of the fresh random one (to rebuild an index with the
    /// key of an earlier build, so that its segment comes out byte-identical).
    pub fn set_secret(&mut self, secret: &[u8; SECRET_LEN]) -> Result<(), IndexError> {
        self.secret.copy_from_slice(secret);
        let path = self.tmp.join(SECRET_FILE);
        fs::remove_file(&path).map_err(|e| IndexError::write_path(&path, e))?;
        write_private_file(&path, &self.secret[..])
    }

    /// The hashing key of the index being built.
    pub fn secret(&self) -> &[u8; SECRET_LEN] {
        &self.secret
    }

    /// The temporary build directory: segments go here, and it is the place for
    /// spill and scratch files (it is on the same file system as the index).
    pub fn build_dir(&self) -> &Path {
        &self.tmp
    }

    /// Where segment `n` must be written (pass it to `SegmentWriter::finish`).
    pub fn segment_path(&self, n: u32) -> PathBuf {
        self.tmp.join(segment_file_name(n))
    }

    /// Writes `manifest` last, makes everything durable, and moves the index into
    /// place (replacing the old one, when forced, atomically). Returns its path.
    pub fn commit(mut self, manifest: &Manifest) -> Result<PathBuf, IndexError> {
        for segment in &manifest.segments {
            check_plain_name(&segment.file).map_err(IndexError::InvalidInput)?;
            if !self.tmp.join(&segment.file).is_file() {
                return Err(IndexError::InvalidInput(format!(
                    "the manifest lists segment {} which was not written",
                    segment.file
                )));
            }
        }
        // The check value is always that of the secret this writer made.
        let manifest = Manifest {
            secret_check: Some(secret_check(&self.secret)),
            ..manifest.clone()
        };
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| IndexError::InvalidInput(format!("manifest: {e}")))?;
        let manifest_path = self.tmp.join(MANIFEST_FILE);
        write_private_file(&manifest_path, &json)?;
        sync_dir(&self.tmp).map_err(|e| IndexError::write_path(&self.tmp, e))?;

        let out = self.out.clone();
        // Something may have appeared at `out` since `create`.
        check_replaceable(&out, self.force)?;
        if out.symlink_metadata().is_ok() {
            let old = sibling_name(&out, "old")?;
            fs::rename(&out, &old).map_err(|e| IndexError::write_path(&out, e))?;
            if let Err(e) = fs::rename(&self.tmp, &out) {
                // Put the old index back rather than leave nothing.
                let _ = fs::rename(&old, &out);
                return Err(IndexError::write_path(&out, e));
            }
            self.committed = true;
            sync_dir(&parent_of(&out)).map_err(|e| IndexError::write_path(&out, e))?;
            fs::remove_dir_all(&old).map_err(|e| IndexError::write_path(&old, e))?;
        } else {
            fs::rename(&self.tmp, &out).map_err(|e| IndexError::write_path(&out, e))?;
            self.committed = true;
            sync_dir(&parent_of(&out)).map_err(|e| IndexError::write_path(&out, e))?;
        }
        Ok(out)
    }
}

impl Drop for IndexWriter {
    fn drop(&mut self) {
        if !self.committed {
            // Abandoned build (error or panic): leave no half index behind.
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Whether the index may be written at `out`: nothing there; or, with `force`, an
/// index or an empty directory. Anything else is refused with or without `force`,
/// and says so at once, so that the first message does not suggest a `--force`
/// that would be refused too.
fn check_replaceable(out: &Path, force: bool) -> Result<(), IndexError> {
    let Ok(meta) = out.symlink_metadata() else {
        return Ok(());
    };
    let is_index = meta.is_dir() && out.join(MANIFEST_FILE).is_file();
    let is_empty_dir = meta.is_dir()
        && fs::read_dir(out)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
    if !(is_index || is_empty_dir) {
        Err(IndexError::NotReplaceable {
            path: out.to_path_buf(),
        })
    } else if force {
        Ok(())
    } else {
        Err(IndexError::Exists {
            path: out.to_path_buf(),
        })
    }
}

/// Removes `.NAME.tmp-<pid>-<n>` and `.NAME.old-<pid>-<n>` siblings of `out` whose
/// process is gone. Best effort: a failure only leaves litter.
fn remove_stale_builds(out: &Path) {
    let Some(name) = out.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let Ok(entries) = fs::read_dir(parent_of(out)) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = build_pid(&file_name, &name) else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// The pid in `.NAME.tmp-<pid>-<n>` / `.NAME.old-<pid>-<n>`, if `file_name` is one
/// of those.
fn build_pid(file_name: &str, name: &str) -> Option<u32> {
    let rest = file_name.strip_prefix('.')?.strip_prefix(name)?;
    let tail = rest
        .strip_prefix(".tmp-")
        .or_else(|| rest.strip_prefix(".old-"))?;
    let (pid, n) = tail.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// True when a directory name looks like an unfinished build's (`.X.tmp-123-0`).
fn is_build_dir_name(file_name: &str) -> bool {
    file_name.starts_with('.')
        && [".tmp-", ".old-"].iter().any(|tag| {
            file_name.rsplit_once(tag).is_some_and(|(_, tail)| {
                tail.split_once('-').is_some_and(|(pid, n)| {
                    [pid, n]
                        .iter()
                        .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                })
            })
        })
}

fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        proc.join(pid.to_string()).exists()
    } else {
        // Cannot tell: assume alive, so another build's files are never removed.
        true
    }
}

fn check_plain_name(name: &str) -> Result<(), String> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && Path::new(name).file_name().is_some_and(|n| n == name);
    if plain {
        Ok(())
    } else {
        Err(format!(
            "segment file name {name:?} is not a plain file name"
        ))
    }
}

fn create_private_dir(path: &Path) -> Result<(), IndexError> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(path)
        .map_err(|e| IndexError::write_path(path, e))
}

/// Writes `bytes` to a new file readable only by its owner, and fsyncs it.
fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), IndexError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| IndexError::write_path(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| IndexError::write_path(path, e))
}

/// A finished index, opened for queries.
#[derive(Debug)]
pub struct Index {
    dir: PathBuf,
    manifest: Manifest,
    secret: Box<[u8; SECRET_LEN]>,
    segments: Vec<Segment>,
}

impl Index {
    /// Opens the index directory `dir`: reads the manifest (checking its version),
    /// the secret, and opens every segment (header and bounds checks only).
    pub fn open(dir: &Path) -> Result<Index, IndexError> {
        let not_index = |detail: &str| IndexError::NotAnIndex {
            path: dir.to_path_buf(),
            detail: detail.to_string(),
        };
        if !dir.is_dir() {
            return Err(not_index(if dir.exists() {
                "not a directory"
            } else {
                "no such directory"
            }));
        }
        if dir
            .file_name()
            .is_some_and(|n| is_build_dir_name(&n.to_string_lossy()))
        {
            return Err(not_index(
                "it is the temporary directory of an unfinished or interrupted build; build the index again",
            ));
        }
        let manifest_path = dir.join(MANIFEST_FILE);
        let json = match fs::read(&manifest_path) {
            Ok(json) => json,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(not_index(
                    "there is no manifest.json (an unfinished build, or not an index)",
                ));
            }
            Err(e) => return Err(IndexError::read(manifest_path.display().to_string(), e)),
        };
        let manifest = parse_manifest(&json, &manifest_path)?;
        let secret = read_secret(dir)?;
        if let Some(expected) = &manifest.secret_check
            && *expected != secret_check(&secret)
        {
            return Err(IndexError::BadSecret {
                path: dir.to_path_buf(),
                detail: format!(
                    "{SECRET_FILE} belongs to another index: its check value differs from the manifest's, so every key would miss"
                ),
            });
        }
        let mut segments = Vec::with_capacity(manifest.segments.len());
        for (i, entry) in manifest.segments.iter().enumerate() {
            let what = format!("segment {i} of {}", dir.display());
            check_plain_name(&entry.file).map_err(|d| IndexError::damaged(&what, d))?;
            let segment = Segment::open_as(&dir.join(&entry.file), what.clone())?;
            if segment.size_bytes() != entry.size_bytes
                || u64::from(segment.record_count()) != entry.records
                || segment.key_count() != entry.keys
                || segment.posting_count() != entry.postings
            {
                return Err(IndexError::damaged(
                    &what,
                    "its size or counts differ from the manifest (was the file replaced?)",
                ));
            }
            segments.push(segment);
        }
        Ok(Index {
            dir: dir.to_path_buf(),
            manifest,
            secret,
            segments,
        })
    }

    /// The index directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The hashing key (convert with `keys::Secret::from_bytes`).
    pub fn secret(&self) -> &[u8; SECRET_LEN] {
        &self.secret
    }

    /// Maps every segment's pages in now ([`Segment::preload`]).
    pub fn preload(&self) -> std::io::Result<()> {
        for s in &self.segments {
            s.preload()?;
        }
        Ok(())
    }

    /// The segments, in manifest order. Record ids are per segment.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Reads every segment in full: checksums, structure, and that each matches
    /// the checksum recorded in the manifest.
    pub fn verify(&self) -> Result<(), IndexError> {
        for (segment, entry) in self.segments.iter().zip(&self.manifest.segments) {
            segment.verify()?;
            if format!("{:016x}", segment.checksum()) != entry.checksum {
                return Err(IndexError::damaged(
                    segment.name(),
                    "its checksum differs from the one in the manifest (was the file replaced?)",
                ));
            }
        }
        Ok(())
    }
}

fn parse_manifest(json: &[u8], path: &Path) -> Result<Manifest, IndexError> {
    let what = path.display().to_string();
    // Check the version first, so a newer manifest gets the right message even if
    // its fields changed.
    let value: serde_json::Value = serde_json::from_slice(json)
        .map_err(|e| IndexError::damaged(&what, format!("not valid JSON ({e})")))?;
    let version = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| IndexError::damaged(&what, "it has no format_version"))?;
    if version > u64::from(MANIFEST_VERSION) {
        return Err(IndexError::NewerVersion {
            what,
            found: u32::try_from(version).unwrap_or(u32::MAX),
            supported: MANIFEST_VERSION,
        });
    }
    if version != u64::from(MANIFEST_VERSION) {
        return Err(IndexError::damaged(
            &what,
            format!("impossible format version {version}"),
        ));
    }
    serde_json::from_value(value).map_err(|e| IndexError::damaged(&what, e.to_string()))
}

fn read_secret(dir: &Path) -> Result<Box<[u8; SECRET_LEN]>, IndexError> {
    let bad = |detail: String| IndexError::BadSecret {
        path: dir.to_path_buf(),
        detail,
    };
    let bytes = match fs::read(dir.join(SECRET_FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(bad(format!("{SECRET_FILE} is missing")));
        }
        Err(e) => return Err(bad(format!("{SECRET_FILE} cannot be read: {e}"))),
    };
    let array: [u8; SECRET_LEN] = bytes.as_slice().try_into().map_err(|_| {
        bad(format!(
            "{SECRET_FILE} is {} bytes, expected {SECRET_LEN}",
            bytes.len()
        ))
    })?;
    Ok(Box::new(array))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_dir_names_are_recognised() {
        assert_eq!(build_pid(".idx.tmp-123-0", "idx"), Some(123));
        assert_eq!(build_pid(".idx.old-7-12", "idx"), Some(7));
        assert_eq!(build_pid(".idx.tmp-x-1", "idx"), None);
        assert_eq!(build_pid(".idx.tmp-5", "idx"), None);
        assert_eq!(build_pid(".other.tmp-1-0", "idx"), None);
        assert!(is_build_dir_name(".my.index.tmp-42-0"));
        assert!(!is_build_dir_name("index"));
        assert!(!is_build_dir_name(".index.tmp-"));
        assert!(!is_build_dir_name(".index.tmp-1-"));
    }

    #[test]
    fn only_an_index_or_an_empty_directory_is_replaceable() {
        let dir = tempfile::tempdir().unwrap();
        let nothing = dir.path().join("nothing");
        assert!(check_replaceable(&nothing, false).is_ok());
        let index = dir.path().join("index");
        fs::create_dir(&index).unwrap();
        // Empty: replaced with --force only.
        assert!(matches!(
            check_replaceable(&index, false),
            Err(IndexError::Exists { .. })
        ));
        assert!(check_replaceable(&index, true).is_ok());
        fs::write(index.join(MANIFEST_FILE), "{}").unwrap();
        assert!(matches!(
            check_replaceable(&index, false),
            Err(IndexError::Exists { .. })
        ));
        assert!(check_replaceable(&index, true).is_ok());
        // Not an index: refused either way, and the first refusal says so rather
        // than suggest --force.
        let home = dir.path().join("home");
        fs::create_dir(&home).unwrap();
        fs::write(home.join("thesis.txt"), "").unwrap();
        let file = dir.path().join("precious.csv");
        fs::write(&file, "").unwrap();
        for path in [&home, &file] {
            for force in [false, true] {
                let err = check_replaceable(path, force).unwrap_err();
                assert!(matches!(err, IndexError::NotReplaceable { .. }), "{err}");
                let msg = err.to_string();
                assert!(
                    msg.contains("is not a leakscope index") && msg.contains("not be replaced"),
                    "{msg}"
                );
            }
        }
    }

    #[test]
    fn segment_names_must_be_plain() {
        assert!(check_plain_name("segment-0000.seg").is_ok());
        for bad in ["", "../x.seg", "a/b", ".hidden", "..", "c:\\x"] {
            assert!(check_plain_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn manifest_versions_are_checked() {
        let path = Path::new("m.json");
        let newer = br#"{"format_version": 9, "segments": []}"#;
        assert!(matches!(
            parse_manifest(newer, path),
            Err(IndexError::NewerVersion { found: 9, .. })
        ));
        assert!(parse_manifest(b"{", path).is_err());
        let ok = serde_json::to_vec(&Manifest::default()).unwrap();
        assert_eq!(parse_manifest(&ok, path).unwrap(), Manifest::default());
    }

    #[test]
    fn dump_files_are_described() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        fs::write(&path, b"a,b\n1,2\n").unwrap();
        let d = DumpFile::describe(&path, "d.csv".into()).unwrap();
        assert_eq!(d.size, 8);
        assert_eq!(
            d.checksum,
            format!("{:016x}", xxhash_rust::xxh3::xxh3_64(b"a,b\n1,2\n"))
        );
        assert!(d.modified > 0);
    }
}

/// Whether a dump file is still as it was when the index was built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DumpState {
    /// Present, same size, and the same bytes (same modification time, or the same
    /// checksum when the time changed).
    Unchanged,
    /// Present but different: record offsets can no longer be trusted.
    Changed,
    /// Not there (moved, deleted, or on a machine without the dumps).
    Missing,
}

impl std::fmt::Display for DumpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DumpState::Unchanged => "present, unchanged",
            DumpState::Changed => "CHANGED since the build",
            DumpState::Missing => "MISSING",
        })
    }
}

impl DumpFile {
    /// Compare the file on disk with what the manifest recorded. Size and
    /// modification time decide cheaply; only when the size agrees but the time does
    /// not is the file read again to compare checksums.
    pub fn state(&self) -> DumpState {
        let path = Path::new(&self.path);
        let Ok(meta) = fs::metadata(path) else {
            return DumpState::Missing;
        };
        if meta.len() != self.size {
            return DumpState::Changed;
        }
        if FileStamp::of(path, &meta).modified_secs() == self.modified {
            return DumpState::Unchanged;
        }
        self.compare_checksum()
    }

    /// As [`state`](Self::state), but the file is always read in full and its
    /// checksum compared (`inspect --verify`): an edit that kept the size and had its
    /// modification time put back is found too.
    pub fn state_by_checksum(&self) -> DumpState {
        match fs::metadata(Path::new(&self.path)) {
            Err(_) => DumpState::Missing,
            Ok(meta) if meta.len() != self.size => DumpState::Changed,
            Ok(_) => self.compare_checksum(),
        }
    }

    fn compare_checksum(&self) -> DumpState {
        match DumpFile::describe(Path::new(&self.path), self.path.clone()) {
            Ok(now) if now.checksum == self.checksum => DumpState::Unchanged,
            Ok(_) => DumpState::Changed,
            Err(_) => DumpState::Missing,
        }
    }
}
