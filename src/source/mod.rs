//! Reading leaked dumps: files and directories in, records with byte offsets out.
//!
//! A leaked archive is a pile of CSV/TSV/PSV exports, JSON Lines, MySQL `INSERT`
//! dumps and pg_dump `COPY` blocks, some gzip-compressed, in UTF-8 or
//! Windows-1252. [`discover`] walks the `DUMP` arguments; [`SourceFile::open`]
//! maps one file, detects its format and encoding and reads its columns (CSV
//! header, `CREATE TABLE`, dotted JSON paths); [`SourceFile::scan`] parses every
//! record in parallel on the current rayon pool, chunk by chunk, each chunk
//! starting on a true record boundary so the result is exactly the sequential
//! one. Every record keeps its byte offset and length so the match stage can
//! re-read it as evidence with [`SourceFile::read_record`]. Bad rows never stop
//! a scan: they come back as [`Reject`]s, each still holding a row number.
//!
//! [`mapping`] says what each column means ([`map_dataset`]); [`survey`] puts it
//! all together for `leakscope index --dry-run`.
//!
//! ```
//! use leakscope::source::{discover, SourceFile};
//! # let dir = tempfile::tempdir()?;
//! # std::fs::write(dir.path().join("tenants.csv"), "Name,E-mail\nJane Doe,jane@example.com\n")?;
//! for (path, name) in discover(&[dir.path().to_path_buf()])? {
//!     let file = SourceFile::open(&path, &name, None)?;
//!     // One state per chunk: here, where each record with an email sits.
//!     let out = file.scan(Vec::new, |found, rec| {
//!         if !rec.fields.get(1).is_empty() {
//!             found.push((rec.dataset, rec.chunk, rec.local_row, rec.offset, rec.len));
//!         }
//!     });
//!     assert_eq!(out.rows(0), 1);
//!     for &(dataset, chunk, local_row, offset, len) in out.states.iter().flatten() {
//!         assert_eq!(out.row(dataset, chunk, local_row), 1); // `tenants.csv:1`
//!         // Later, as evidence: the record exactly as it was leaked.
//!         let record = file.read_record(dataset, offset, len)?;
//!         assert_eq!(record.get(0), "Jane Doe");
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod delimited;
mod discover;
mod encoding;
mod fields;
mod jsonl;
pub mod mapping;
mod people;
pub mod rejects;
mod sql;
mod stamp;
pub mod survey;

pub use discover::{
    DUMP_EXTENSIONS, Discovery, LeaveOut, discover, discover_leaving_out, is_dump_name,
    skipped_warning,
};
pub use encoding::TextEncoding;
pub use fields::{Element, Fields};
pub use mapping::{ColumnMap, MappingError, Origin, Overrides, PersonGroup, map_dataset};
pub use people::{MAX_PEOPLE, People, crowded_warning as people_crowded_warning};
pub use stamp::FileStamp;
pub use survey::{DatasetReport, survey};

use delimited::Delimited;
use flate2::read::MultiGzDecoder;
use jsonl::Jsonl;
use memmap2::{Mmap, MmapOptions};
use rayon::prelude::*;
use sql::Sql;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Records longer than this are rejected (offsets and lengths stay in `u32`).
pub(crate) const MAX_RECORD_BYTES: usize = 1 << 30;

/// The layout of a dump file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Format {
    /// Delimited text with a header row: CSV, TSV, PSV or `;`-separated.
    Delimited {
        /// The field separator: `,`, tab, `|` or `;`.
        delimiter: u8,
    },
    /// One JSON object per line.
    JsonLines,
    /// SQL `INSERT` statements (and possibly `COPY` blocks).
    Sql,
    /// A pg_dump with `COPY … FROM stdin` blocks and no `INSERT`s.
    PgCopy,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Delimited { delimiter: b',' } => "csv",
            Format::Delimited { delimiter: b'\t' } => "tsv",
            Format::Delimited { delimiter: b'|' } => "psv",
            Format::Delimited { delimiter: b';' } => "csv (;)",
            Format::Delimited { .. } => "delimited",
            Format::JsonLines => "jsonl",
            Format::Sql => "sql",
            Format::PgCopy => "pg-copy",
        })
    }
}

/// Why a record was rejected. `Display` gives a short reason for reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// A CSV row, SQL tuple or COPY line with a different number of fields than
    /// the header or table.
    FieldCount,
    /// A quoted CSV field that never closes.
    UnterminatedQuote,
    /// A JSON line that does not parse.
    InvalidJson,
    /// A JSON line that is valid JSON but not an object.
    NotAnObject,
    /// A JSON line nested deeper than the parser goes (objects and arrays
    /// within each other), whether or not the rest of it is valid.
    JsonTooDeep,
    /// An SQL tuple whose values do not parse.
    BadSqlTuple,
    /// An SQL statement or COPY block cut short: a truncated file, or a stray quote
    /// that ran the statement into the next one.
    TruncatedStatement,
    /// A field longer than the configured limit.
    FieldTooLong,
    /// A record longer than 1 GiB.
    RecordTooLong,
    /// A record holding a NUL byte: binary data inside a text file (a damaged
    /// copy), not a value.
    NulByte,
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RejectReason::FieldCount => "wrong number of fields",
            RejectReason::UnterminatedQuote => "unterminated quote",
            RejectReason::InvalidJson => "invalid JSON",
            RejectReason::NotAnObject => "JSON line is not an object",
            RejectReason::JsonTooDeep => {
                return write!(f, "JSON nested too deep (over {} levels)", jsonl::MAX_DEPTH);
            }
            RejectReason::BadSqlTuple => "unparseable SQL values",
            RejectReason::TruncatedStatement => {
                "SQL statement cut short (a truncated file, or a stray quote)"
            }
            RejectReason::FieldTooLong => "field over the length limit",
            RejectReason::RecordTooLong => "record over 1 GiB",
            RejectReason::NulByte => "NUL byte in the record (binary data)",
        })
    }
}

/// A record that could not be read. It still occupies its row number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reject {
    /// Index into [`SourceFile::datasets`].
    pub dataset: usize,
    /// 1-based row within the dataset.
    pub row: u64,
    /// Byte offset of the record in [`SourceFile::path`].
    pub offset: u64,
    /// Byte length of the record.
    pub len: u64,
    /// Why it was rejected.
    pub reason: RejectReason,
}

/// Reading a dump went wrong in a way the user must fix.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A `DUMP` argument or dump file does not exist.
    #[error("{}: no such file or directory", path.display())]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A `.gz` file that does not decompress.
    #[error("{}: not a readable gzip file: {source}", path.display())]
    Gzip {
        /// The compressed file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A file leakscope cannot read, and why.
    #[error("{}: {message}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// Two dump files would get the same dataset name.
    #[error(
        "two dump files would both be dataset '{name}' ({} and {}); give the directory that holds both \
         instead of the files (dataset names are then their paths inside it), or rename one",
        first.display(),
        second.display()
    )]
    DuplicateName {
        /// The dataset name.
        name: String,
        /// The first file.
        first: PathBuf,
        /// The second file.
        second: PathBuf,
    },
    /// A dataset index that the file does not have.
    #[error("{name}: no dataset number {dataset}")]
    NoDataset {
        /// The file's name.
        name: String,
        /// The index asked for.
        dataset: usize,
    },
    /// `read_record` with an offset and length that do not hold a record.
    #[error(
        "{name}: no readable record at byte {offset} (+{len}): {reason}; has the dump changed since it was indexed?"
    )]
    RecordUnreadable {
        /// The dataset's name.
        name: String,
        /// The offset asked for.
        offset: u64,
        /// The length asked for.
        len: u32,
        /// What failed.
        reason: String,
    },
}

impl SourceError {
    /// An I/O error on `path`: a missing file says so plainly.
    fn from_io(path: &Path, source: io::Error) -> SourceError {
        if source.kind() == io::ErrorKind::NotFound {
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
}

/// Drop the mapped pages of `map` before byte `end` (whole pages only; a failure
/// only means the pages stay cached).
fn release_pages(map: &Mmap, end: usize) {
    let len = end.min(map.len());
    let len = len - len % 4096;
    if len > 0 {
        // SAFETY: the map is a private read-only mapping of a file we never write
        // through it, so MADV_DONTNEED discards nothing: the range stays mapped and
        // later reads of these pages (through any slice still held) fault them in
        // again from the file, with the same bytes as long as the file is not
        // changed underneath us (the caveat every map of a dump already carries).
        let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, 0, len) };
    }
}

/// Maps the first `len` bytes of `file` (its size when it was opened: the map then
/// holds exactly what the index records of the file, whatever is appended later).
fn map_file(file: &File, len: u64) -> io::Result<Data> {
    if len == 0 {
        return Ok(Data::Owned(Vec::new()));
    }
    let len = usize::try_from(len).map_err(|_| io::Error::other("too large to map"))?;
    // SAFETY: the map is read-only and private to this process, and we never write
    // through it. What mapping cannot guard against is another process truncating
    // the file while it is mapped: reading the lost pages then raises SIGBUS. Like
    // ripgrep, we accept that for the speed of mapping (dump files are evidence and
    // not expected to change under us); the command line turns the signal into a
    // one-line error and exit 2 (`cli::sigbus`) instead of a bare crash, and a
    // build compares each dump's size and time at its end with those at open
    // (`FileStamp`), so a file that grew or was rewritten is an error too.
    let map = unsafe { MmapOptions::new().len(len).map(file) }?;
    Ok(Data::Mapped(map))
}

/// xxh3-64 of `data`, a window at a time, releasing the mapped pages behind.
fn checksum_releasing(data: &Data) -> u64 {
    let bytes = data.bytes();
    let mut hasher = xxhash_rust::xxh3::Xxh3Default::new();
    let mut at = 0;
    for window in bytes.chunks(PASS_WINDOW) {
        hasher.update(window);
        at += window.len();
        data.release_before(at);
    }
    hasher.digest()
}

/// Bytes [`find1`] and [`find2`] look at a word at a time before memchr takes over.
const SHORT_SCAN: usize = 32;
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Marks (the high bit) the bytes of `w` equal to the byte whose copies fill
/// `pattern`. Bits above the first mark may be wrong (a borrow), the lowest never is.
#[inline]
fn mark_equal(w: u64, pattern: u64) -> u64 {
    let x = w ^ pattern;
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The first `a` in `hay`, like `memchr::memchr`. Most quoted values in a dump are
/// short, so the first bytes are looked at eight at a time in a word, which costs
/// less than setting up a vector search; memchr takes over past them.
#[inline]
pub(crate) fn find1(hay: &[u8], a: u8) -> Option<usize> {
    let pa = ONES * u64::from(a);
    let (words, _) = hay[..hay.len().min(SHORT_SCAN)].as_chunks::<8>();
    for (n, w) in words.iter().enumerate() {
        let m = mark_equal(u64::from_le_bytes(*w), pa);
        if m != 0 {
            return Some(n * 8 + (m.trailing_zeros() / 8) as usize);
        }
    }
    let from = words.len() * 8;
    memchr::memchr(a, &hay[from..]).map(|k| from + k)
}

/// The first `a` or `b` in `hay`, like `memchr::memchr2`; see [`find1`].
#[inline]
pub(crate) fn find2(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    let (pa, pb) = (ONES * u64::from(a), ONES * u64::from(b));
    let (words, _) = hay[..hay.len().min(SHORT_SCAN)].as_chunks::<8>();
    for (n, w) in words.iter().enumerate() {
        let w = u64::from_le_bytes(*w);
        let m = mark_equal(w, pa) | mark_equal(w, pb);
        if m != 0 {
            return Some(n * 8 + (m.trailing_zeros() / 8) as usize);
        }
    }
    let from = words.len() * 8;
    memchr::memchr2(a, b, &hay[from..]).map(|k| from + k)
}

/// How to read dump files.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Target chunk size in bytes for parallel parsing.
    pub chunk_size: usize,
    /// Fields longer than this (in bytes, as stored) reject their record.
    pub max_field_bytes: usize,
    /// Where gzip files are decompressed to (then memory-mapped). `None` keeps the
    /// decompressed bytes in memory.
    pub scratch: Option<PathBuf>,
    /// Whether a blank line of a delimited file is a row (of empty values) rather
    /// than nothing: true for a register, where a blank line of a one-column file is
    /// a resident with no value and rows may be numbered by line. Blank lines that
    /// end the file are never rows.
    pub blank_rows: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            chunk_size: 4 << 20,
            max_field_bytes: 1 << 20,
            scratch: None,
            blank_rows: false,
        }
    }
}

/// One dataset of a file: a CSV or JSON Lines file, or one table of an SQL dump.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DatasetInfo {
    /// `file.csv`, `sub/x.jsonl`, `archive.sql#residents`.
    pub name: String,
    /// Column names: trimmed header names, dotted JSON paths, SQL column names.
    pub columns: Vec<String>,
}

/// One record as [`SourceFile::scan`] hands it to the visitor.
#[derive(Debug)]
pub struct RecordRef<'a> {
    /// Index into [`SourceFile::datasets`].
    pub dataset: usize,
    /// The chunk being parsed (index into [`ScanOutput::states`]).
    pub chunk: usize,
    /// 0-based row within this chunk and dataset, rejects included.
    pub local_row: u64,
    /// Byte offset of the record in [`SourceFile::path`].
    pub offset: u64,
    /// Byte length of the record.
    pub len: u32,
    /// The values.
    pub fields: &'a Fields,
}

/// What [`SourceFile::scan_chunk`] produced for one chunk.
#[derive(Debug)]
pub struct ChunkScan<S> {
    /// The visitor's state.
    pub state: S,
    /// Rows (good and rejected) per dataset in this chunk.
    pub rows: Vec<u64>,
    /// The rejected records, in order, each `row` 0-based within the chunk.
    pub rejects: Vec<Reject>,
    /// Rows per dataset in this chunk read with trailing fields left off (a CSV
    /// row with fewer fields than the header: the missing ones are empty).
    pub short_rows: Vec<u64>,
}

/// What a scan produced: the visitor's state per chunk, the rejects, and the row
/// counts needed to turn (chunk, local row) into dataset row numbers.
#[derive(Debug)]
pub struct ScanOutput<S> {
    /// One state per chunk, in chunk (file) order.
    pub states: Vec<S>,
    /// Every rejected record, ordered by dataset and row.
    pub rejects: Vec<Reject>,
    /// `first_row[dataset][chunk]`: rows of the dataset before the chunk.
    first_row: Vec<Vec<u64>>,
    /// Rows (good and rejected) per dataset.
    totals: Vec<u64>,
    /// Rows per dataset read with trailing fields left off.
    short: Vec<u64>,
}

impl<S> ScanOutput<S> {
    /// The 1-based dataset row of the record at `local_row` of `chunk`.
    ///
    /// # Panics
    /// If `dataset` or `chunk` is out of range.
    pub fn row(&self, dataset: usize, chunk: usize, local_row: u64) -> u64 {
        self.first_row[dataset][chunk] + local_row + 1
    }

    /// Rows of a dataset, rejected ones included.
    pub fn rows(&self, dataset: usize) -> u64 {
        self.totals.get(dataset).copied().unwrap_or(0)
    }

    /// Rows of a dataset read with trailing fields left off (fewer fields than
    /// the header; the missing ones are empty). See [`short_rows_note`].
    pub fn short_rows(&self, dataset: usize) -> u64 {
        self.short.get(dataset).copied().unwrap_or(0)
    }

    /// Rows of a dataset that were read (not rejected).
    pub fn good_rows(&self, dataset: usize) -> u64 {
        let bad = self.rejects.iter().filter(|r| r.dataset == dataset).count() as u64;
        self.rows(dataset) - bad
    }

    /// How many records of a dataset were rejected, per reason.
    pub fn rejects_by_reason(&self, dataset: usize) -> Vec<(RejectReason, u64)> {
        let mut out: Vec<(RejectReason, u64)> = Vec::new();
        for r in self.rejects.iter().filter(|r| r.dataset == dataset) {
            match out.iter_mut().find(|(reason, _)| *reason == r.reason) {
                Some((_, n)) => *n += 1,
                None => out.push((r.reason, 1)),
            }
        }
        out.sort();
        out
    }
}

/// What one chunk holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// Records of a delimited or JSON Lines file in `start..end`.
    Range { start: usize, end: usize },
    /// One record known to be bad (a CSV quote that never closes).
    Reject {
        start: usize,
        end: usize,
        reason: RejectReason,
    },
    /// Slices of SQL data statements.
    Sql { pieces: Vec<sql::Piece> },
}

/// What a parser found.
pub(crate) enum Event<'a> {
    /// The record reported next had fewer fields than its header: the trailing
    /// ones were left off and are read as empty.
    ShortRow { dataset: usize },
    Record {
        dataset: usize,
        offset: usize,
        len: usize,
        fields: &'a Fields,
    },
    Reject {
        dataset: usize,
        offset: usize,
        len: usize,
        reason: RejectReason,
    },
}

enum Data {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

impl Data {
    fn bytes(&self) -> &[u8] {
        match self {
            Data::Mapped(m) => m,
            Data::Owned(v) => v,
        }
    }

    /// Let the kernel drop the mapped pages before byte `end` (nothing to do for
    /// bytes held in memory).
    fn release_before(&self, end: usize) {
        if let Data::Mapped(map) = self {
            release_pages(map, end);
        }
    }
}

/// Bytes a whole-file pass (encoding check, CSV chunk plan, SQL statement scan, JSON
/// column survey) reads before it lets the pages behind it go: such a pass touches
/// every page of the dump, and without releasing as it goes a dump's pages would all
/// be resident at once (counted in the build's RSS although the kernel can reclaim
/// them).
pub(crate) const PASS_WINDOW: usize = 32 << 20;

/// Called by a whole-file pass with an offset before which it will not read again
/// (the pages may be dropped).
pub(crate) type Release<'a> = &'a (dyn Fn(usize) + Sync);

/// A [`Release`] that keeps every page (tests, bytes held in memory).
#[cfg(test)]
pub(crate) fn keep_pages(_: usize) {}

enum Layout {
    Delimited(Delimited),
    Json(Jsonl),
    Sql(Sql),
}

/// What `open` learnt about a file by reading it whole (format, encoding, columns,
/// where SQL statements are), saved by the index so that a query can re-read
/// records with [`SourceFile::reopen`] without scanning the dump again.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FileLayout {
    format: Format,
    encoding: TextEncoding,
    datasets: Vec<DatasetInfo>,
    len: u64,
    layout: SavedLayout,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
enum SavedLayout {
    Delimited(Delimited),
    Json {
        columns: Vec<String>,
        data_start: usize,
    },
    Sql(Sql),
}

/// One dump file, mapped (or decompressed) and understood: format, encoding,
/// datasets and columns.
pub struct SourceFile {
    path: PathBuf,
    name: String,
    data: Data,
    format: Format,
    encoding: TextEncoding,
    datasets: Vec<DatasetInfo>,
    layout: Layout,
    options: ReadOptions,
    warnings: Vec<String>,
    chunks: OnceLock<Vec<Chunk>>,
    /// The dump file as opened (the `.gz` itself for a compressed dump); `None`
    /// for bytes that came from memory.
    stamp: Option<FileStamp>,
    /// xxh3-64 of a `.gz` dump's compressed bytes, taken while they were mapped
    /// (a plain dump's checksum is of its mapped bytes, taken when asked).
    compressed_checksum: Option<u64>,
}

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceFile")
            .field("path", &self.path)
            .field("name", &self.name)
            .field("format", &self.format)
            .field("encoding", &self.encoding)
            .field("datasets", &self.datasets)
            .finish_non_exhaustive()
    }
}

impl SourceFile {
    /// Open a dump file with default options, decompressing `.gz` into `scratch`.
    ///
    /// `name` is the dataset name base from [`discover`] (which drops a `.gz`
    /// suffix unless another file would then share the name), used as given.
    /// Detects format and encoding and reads the columns.
    pub fn open(
        path: &Path,
        name: &str,
        scratch: Option<&Path>,
    ) -> Result<SourceFile, SourceError> {
        let options = ReadOptions {
            scratch: scratch.map(Path::to_path_buf),
            ..ReadOptions::default()
        };
        SourceFile::open_with(path, name, &options)
    }

    /// Open a dump file with explicit options.
    pub fn open_with(
        path: &Path,
        name: &str,
        options: &ReadOptions,
    ) -> Result<SourceFile, SourceError> {
        let io_err = |source: io::Error| SourceError::from_io(path, source);
        let file = File::open(path).map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        if meta.is_dir() {
            return Err(SourceError::Unsupported {
                path: path.to_path_buf(),
                message: "is a directory; pass it as a DUMP argument to read the files in it"
                    .into(),
            });
        }
        // A pipe or device has no length to map and cannot be read again for
        // evidence: read as a file, it looked empty and its data was lost.
        if !meta.is_file() {
            return Err(SourceError::Unsupported {
                path: path.to_path_buf(),
                message: "is not a regular file (a pipe, terminal or device): leakscope maps \
                          what it reads and reads it again for evidence, so save the data to a \
                          file first (a .gz file is read as it is)"
                    .into(),
            });
        }
        // What the index will record of the file: its state now, as mapped. Bytes
        // appended later are beyond the map and are not read.
        let stamp = FileStamp::of(path, &meta);
        let data = map_file(&file, meta.len()).map_err(io_err)?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let gz = file_name.to_ascii_lowercase().ends_with(".gz")
            || data.bytes().starts_with(&[0x1f, 0x8b]);
        let (data, read_path, truncated, compressed_checksum) = if gz {
            let checksum = checksum_releasing(&data);
            let (data, read_path, truncated) = gunzip(path, name, &data, options)?;
            (data, read_path, truncated, Some(checksum))
        } else {
            (data, path.to_path_buf(), false, None)
        };
        let name = name.to_string();
        let inner = strip_gz(&file_name).to_string();
        let mut file = SourceFile::build(read_path, name, &inner, data, options).map_err(|e| {
            // Name the file the user gave, not a decompressed copy of it.
            match e {
                SourceError::Unsupported { message, .. } if gz => SourceError::Unsupported {
                    path: path.to_path_buf(),
                    message,
                },
                e => e,
            }
        })?;
        file.stamp = Some(stamp);
        file.compressed_checksum = compressed_checksum;
        if truncated {
            file.warnings.push(format!(
                "the gzip stream is cut short; read the {} bytes it holds",
                file.len_bytes()
            ));
        }
        Ok(file)
    }

    /// What a later [`reopen`](Self::reopen) needs to re-read records of this file.
    pub fn layout(&self) -> FileLayout {
        FileLayout {
            format: self.format,
            encoding: self.encoding,
            datasets: self.datasets.clone(),
            len: self.len_bytes(),
            layout: match &self.layout {
                Layout::Delimited(d) => SavedLayout::Delimited(d.clone()),
                Layout::Json(j) => SavedLayout::Json {
                    columns: j.columns.clone(),
                    data_start: j.data_start(),
                },
                Layout::Sql(s) => SavedLayout::Sql(s.clone()),
            },
        }
    }

    /// Map `path` again with a saved layout, without reading the file: for
    /// [`read_record`](Self::read_record) at query time (milliseconds, whatever the
    /// dump's size). `path` is the file that was read (a `.gz` dump's decompressed
    /// copy). A file whose size differs from the saved one is refused: offsets into
    /// it would be meaningless. Scanning a reopened SQL file is not supported.
    pub fn reopen(path: &Path, name: &str, saved: &FileLayout) -> Result<SourceFile, SourceError> {
        let io_err = |source: io::Error| SourceError::from_io(path, source);
        let file = File::open(path).map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        let len = meta.len();
        if len != saved.len {
            return Err(SourceError::Unsupported {
                path: path.to_path_buf(),
                message: format!(
                    "is {len} bytes, but {} when it was indexed: it has changed",
                    saved.len
                ),
            });
        }
        let data = map_file(&file, len).map_err(io_err)?;
        let layout = match &saved.layout {
            SavedLayout::Delimited(d) => Layout::Delimited(d.clone()),
            SavedLayout::Json {
                columns,
                data_start,
            } => Layout::Json(Jsonl::from_columns(columns.clone(), *data_start)),
            SavedLayout::Sql(s) => Layout::Sql(s.clone()),
        };
        Ok(SourceFile {
            path: path.to_path_buf(),
            name: name.to_string(),
            data,
            format: saved.format,
            encoding: saved.encoding,
            datasets: saved.datasets.clone(),
            layout,
            options: ReadOptions::default(),
            warnings: Vec::new(),
            chunks: OnceLock::new(),
            stamp: Some(FileStamp::of(path, &meta)),
            compressed_checksum: None,
        })
    }

    /// Read a dump held in memory (tests, benchmarks, standard input). `name` also
    /// decides the format by its extension.
    pub fn from_bytes(
        bytes: Vec<u8>,
        name: &str,
        options: &ReadOptions,
    ) -> Result<SourceFile, SourceError> {
        let name = strip_gz(name).to_string();
        let inner = name.rsplit('/').next().unwrap_or(&name).to_string();
        SourceFile::build(
            PathBuf::from(&name),
            name,
            &inner,
            Data::Owned(bytes),
            options,
        )
    }

    fn build(
        path: PathBuf,
        name: String,
        file_name: &str,
        data: Data,
        options: &ReadOptions,
    ) -> Result<SourceFile, SourceError> {
        let bytes = data.bytes();
        // UTF-16 text read byte by byte would be NUL-ridden nonsense that still
        // "indexes": refused, with the way to convert it.
        let text = |b: u8| b.is_ascii_graphic() || b == b' ';
        let utf16 = bytes.starts_with(b"\xFF\xFE")
            || bytes.starts_with(b"\xFE\xFF")
            || matches!(bytes, [a, 0, c, 0, ..] | [0, a, 0, c, ..] if text(*a) && text(*c));
        if utf16 {
            return Err(SourceError::Unsupported {
                path,
                message:
                    "is UTF-16 text, which leakscope does not read; convert it to UTF-8 first \
                          (iconv -f UTF-16 -t UTF-8 FILE > FILE.utf8.csv)"
                        .into(),
            });
        }
        if is_binary(bytes) {
            return Err(SourceError::Unsupported {
                path,
                message: "is not text: it holds binary data (NUL or control bytes) — \
                          a spreadsheet, an archive or a database file? export it as CSV first"
                    .into(),
            });
        }
        let release = |end: usize| data.release_before(end);
        let encoding = encoding::detect(bytes, &release);
        let body = if bytes.starts_with(encoding::BOM) {
            encoding::BOM.len()
        } else {
            0
        };
        let ext = extension(file_name);
        let kind =
            detect_kind(&ext, &bytes[body..]).map_err(|message| SourceError::Unsupported {
                path: path.clone(),
                message,
            })?;
        let mut warnings = Vec::new();
        if bytes.len() == body {
            warnings.push("empty file".to_string());
        }
        let (format, layout, datasets) = match kind {
            Kind::Delimited => {
                let mut d = Delimited::open(bytes, body, &ext, encoding);
                if options.blank_rows {
                    d.count_blank_rows(bytes);
                }
                if d.title_lines > 0 {
                    warnings.push(title_lines_note(d.title_lines));
                }
                let info = DatasetInfo {
                    name: name.clone(),
                    columns: d.columns.clone(),
                };
                (
                    Format::Delimited {
                        delimiter: d.delimiter,
                    },
                    Layout::Delimited(d),
                    vec![info],
                )
            }
            Kind::Json => {
                let j = Jsonl::open(bytes, body, options.chunk_size, &release);
                let info = DatasetInfo {
                    name: name.clone(),
                    columns: j.columns.clone(),
                };
                (Format::JsonLines, Layout::Json(j), vec![info])
            }
            Kind::Sql => {
                let s = Sql::open(bytes, body, options.chunk_size, &release);
                let infos = s
                    .tables
                    .iter()
                    .map(|t| DatasetInfo {
                        name: format!("{name}#{}", t.name),
                        columns: t.columns.clone(),
                    })
                    .collect::<Vec<_>>();
                if infos.is_empty() && bytes.len() > body {
                    warnings.push("no INSERT or COPY data found".to_string());
                }
                warnings.extend(s.warnings.iter().cloned());
                let format = if s.has_copy && !s.has_insert {
                    Format::PgCopy
                } else {
                    Format::Sql
                };
                (format, Layout::Sql(s), infos)
            }
        };
        Ok(SourceFile {
            path,
            name,
            data,
            format,
            encoding,
            datasets,
            layout,
            options: options.clone(),
            warnings,
            chunks: OnceLock::new(),
            stamp: None,
            compressed_checksum: None,
        })
    }

    /// The file actually read (the decompressed copy for a `.gz` with a scratch
    /// directory).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The dataset name base (`x.csv`, `archive.sql`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The dump file as it was when opened (for a `.gz` dump, the compressed file):
    /// what an index records of it. `None` for bytes that came from memory.
    pub fn stamp(&self) -> Option<&FileStamp> {
        self.stamp.as_ref()
    }

    /// xxh3-64 of the dump file's bytes as opened: the bytes mapped (for a `.gz`
    /// dump, the compressed bytes, hashed when it was opened), so that it describes
    /// exactly what was read even if the file grew since. Reads a plain dump
    /// through once, letting its pages go behind.
    pub fn checksum_as_opened(&self) -> u64 {
        self.compressed_checksum
            .unwrap_or_else(|| checksum_releasing(&self.data))
    }

    /// The detected format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The detected text encoding.
    pub fn encoding(&self) -> TextEncoding {
        self.encoding
    }

    /// Size in bytes of the data read (decompressed).
    pub fn len_bytes(&self) -> u64 {
        self.data.bytes().len() as u64
    }

    /// True for a file with no data at all (0 bytes, or only a BOM).
    pub fn is_empty(&self) -> bool {
        self.warnings.iter().any(|w| w == "empty file")
    }

    /// Things worth telling the user that are not rejects of any dataset.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The datasets: one for CSV/JSON Lines, one per table for SQL.
    pub fn datasets(&self) -> &[DatasetInfo] {
        &self.datasets
    }

    /// The options the file was opened with.
    pub fn options(&self) -> &ReadOptions {
        &self.options
    }

    fn chunks(&self) -> &[Chunk] {
        self.chunks.get_or_init(|| {
            let bytes = self.data.bytes();
            let size = self.options.chunk_size;
            let release = |end: usize| self.data.release_before(end);
            match &self.layout {
                Layout::Delimited(d) => d.plan(bytes, size, &release),
                Layout::Json(j) => j.plan(bytes, size),
                Layout::Sql(s) => s.plan(size),
            }
        })
    }

    /// Tell the kernel the file's pages before the end of chunk `done - 1` are no
    /// longer needed, so a build over a dump larger than memory keeps only the part
    /// being parsed resident. The pages are read again from the file if touched.
    pub fn release_chunks_before(&self, done: usize) {
        let Data::Mapped(map) = &self.data else {
            return;
        };
        let Some(chunks) = self.chunks().get(..done) else {
            return;
        };
        let end = chunks
            .iter()
            .map(|c| match c {
                Chunk::Range { end, .. } | Chunk::Reject { end, .. } => *end,
                Chunk::Sql { pieces } => pieces.iter().map(sql::Piece::end).max().unwrap_or(0),
            })
            .max()
            .unwrap_or(0);
        release_pages(map, end);
    }

    /// Like [`release_chunks_before`](Self::release_chunks_before) for the whole
    /// file: after `open` read it through (encoding, SQL statements, JSON columns).
    pub fn release_all(&self) {
        if let Data::Mapped(map) = &self.data {
            release_pages(map, map.len());
        }
    }

    /// How many chunks a scan runs (one state each).
    pub fn chunk_count(&self) -> usize {
        self.chunks().len()
    }

    fn parse_chunk(&self, chunk: &Chunk, fields: &mut Fields, emit: &mut dyn FnMut(Event<'_>)) {
        let bytes = self.data.bytes();
        let (enc, max) = (self.encoding, self.options.max_field_bytes);
        match &self.layout {
            Layout::Delimited(d) => d.parse_chunk(bytes, chunk, enc, max, fields, emit),
            Layout::Json(j) => j.parse_chunk(bytes, chunk, enc, max, fields, emit),
            Layout::Sql(s) => s.parse_chunk(bytes, chunk, enc, max, fields, emit),
        }
    }

    /// Parse every record in parallel (rayon, current pool). `init` makes one state
    /// per chunk; `visit` sees each good record of that chunk in file order.
    /// Rejected records are not visited; they are in [`ScanOutput::rejects`].
    pub fn scan<S: Send>(
        &self,
        init: impl Fn() -> S + Sync,
        visit: impl Fn(&mut S, &RecordRef<'_>) + Sync,
    ) -> ScanOutput<S> {
        self.scan_range(0..self.chunk_count(), &[], init, visit)
    }

    /// Like [`scan`](Self::scan), over chunks `chunks` only, so that a caller can
    /// process a large file a group of chunks at a time with bounded memory.
    /// `rows_before[dataset]` is the number of rows of each dataset in the chunks
    /// before the range (missing entries count as 0), so row numbers stay those of
    /// the whole file; [`RecordRef::chunk`] and the states are relative to the range.
    pub fn scan_range<S: Send>(
        &self,
        chunks: std::ops::Range<usize>,
        rows_before: &[u64],
        init: impl Fn() -> S + Sync,
        visit: impl Fn(&mut S, &RecordRef<'_>) + Sync,
    ) -> ScanOutput<S> {
        let nd = self.datasets.len();
        let all = self.chunks();
        let range = all.get(chunks).unwrap_or(&[]);
        let per_chunk: Vec<ChunkScan<S>> = range
            .par_iter()
            .enumerate()
            .map(|(ci, chunk)| self.scan_one(chunk, ci, init(), &visit))
            .collect();
        let mut first_row = vec![Vec::with_capacity(per_chunk.len()); nd];
        let mut totals: Vec<u64> = (0..nd)
            .map(|d| rows_before.get(d).copied().unwrap_or(0))
            .collect();
        let mut states = Vec::with_capacity(per_chunk.len());
        let mut rejects = Vec::new();
        let mut short = vec![0u64; nd];
        for ChunkScan {
            state,
            rows: counts,
            rejects: chunk_rejects,
            short_rows,
        } in per_chunk
        {
            for (total, n) in short.iter_mut().zip(&short_rows) {
                *total += n;
            }
            for r in chunk_rejects {
                rejects.push(Reject {
                    row: totals[r.dataset] + r.row + 1,
                    ..r
                });
            }
            for d in 0..nd {
                first_row[d].push(totals[d]);
                totals[d] += counts[d];
            }
            states.push(state);
        }
        rejects.sort_by_key(|r| (r.dataset, r.row));
        ScanOutput {
            states,
            rejects,
            first_row,
            totals,
            short,
        }
    }

    /// Parse chunk `chunk` (of [`chunk_count`](Self::chunk_count)) alone, on the
    /// current thread: `visit` sees each good record in file order with
    /// [`RecordRef::chunk`] set to `chunk`. Row numbers are local to the chunk
    /// (`local_row`, and the rejects' `row`, 0-based); a caller scanning chunks one
    /// by one (in any order, on any threads) makes them dataset rows by adding the
    /// rows of the chunks before, as [`ChunkScan::rows`] counts them. `None` for a
    /// chunk that does not exist.
    pub fn scan_chunk<S>(
        &self,
        chunk: usize,
        state: S,
        visit: impl Fn(&mut S, &RecordRef<'_>),
    ) -> Option<ChunkScan<S>> {
        let c = self.chunks().get(chunk)?;
        Some(self.scan_one(c, chunk, state, &visit))
    }

    fn scan_one<S>(
        &self,
        chunk: &Chunk,
        ci: usize,
        mut state: S,
        visit: &impl Fn(&mut S, &RecordRef<'_>),
    ) -> ChunkScan<S> {
        let mut counts = vec![0u64; self.datasets.len()];
        let mut short = vec![0u64; self.datasets.len()];
        let mut short_next: Option<usize> = None;
        let mut rejects = Vec::new();
        let mut fields = Fields::new();
        // A NUL byte makes its record a reject: looked for record by record only
        // in a chunk that holds one (or for a record reaching outside the chunk).
        let bytes = self.data.bytes();
        let (lo, hi) = match chunk {
            Chunk::Range { start, end } => (*start, *end),
            Chunk::Reject { .. } => (0, 0),
            Chunk::Sql { pieces } => (
                pieces.iter().map(sql::Piece::start).min().unwrap_or(0),
                pieces.iter().map(sql::Piece::end).max().unwrap_or(0),
            ),
        };
        let nul_in =
            |a: usize, b: usize| memchr::memchr(0, bytes.get(a..b).unwrap_or_default()).is_some();
        let chunk_nul = nul_in(lo, hi);
        self.parse_chunk(chunk, &mut fields, &mut |event| match event {
            Event::ShortRow { dataset } => short_next = Some(dataset),
            Event::Record {
                dataset,
                offset,
                len,
                fields,
            } => {
                let short_row = std::mem::take(&mut short_next);
                let Some(n) = counts.get_mut(dataset) else {
                    return;
                };
                let local_row = *n;
                *n += 1;
                let end = offset.saturating_add(len);
                let outside = offset < lo || end > hi;
                if (chunk_nul || outside) && nul_in(offset, end) {
                    rejects.push(Reject {
                        dataset,
                        row: local_row,
                        offset: offset as u64,
                        len: len as u64,
                        reason: RejectReason::NulByte,
                    });
                    return;
                }
                if short_row == Some(dataset)
                    && let Some(s) = short.get_mut(dataset)
                {
                    *s += 1;
                }
                visit(
                    &mut state,
                    &RecordRef {
                        dataset,
                        chunk: ci,
                        local_row,
                        offset: offset as u64,
                        len: len as u32,
                        fields,
                    },
                );
            }
            Event::Reject {
                dataset,
                offset,
                len,
                reason,
            } => {
                short_next = None;
                let Some(n) = counts.get_mut(dataset) else {
                    return;
                };
                // The local row: made global by the caller.
                rejects.push(Reject {
                    dataset,
                    row: *n,
                    offset: offset as u64,
                    len: len as u64,
                    reason,
                });
                *n += 1;
            }
        });
        ChunkScan {
            state,
            rows: counts,
            rejects,
            short_rows: short,
        }
    }

    /// Re-read the record at `offset` (length `len`) of `dataset`, for evidence.
    /// Offsets and lengths come from a scan ([`RecordRef`]); bytes that do not
    /// hold exactly one record are refused.
    pub fn read_record(
        &self,
        dataset: usize,
        offset: u64,
        len: u32,
    ) -> Result<Fields, SourceError> {
        let mut fields = Fields::new();
        self.read_record_into(dataset, offset, len, &mut fields)?;
        Ok(fields)
    }

    /// Starts loading the cache line at `offset` of the file (nothing if it is out
    /// of bounds): a hint before [`read_record_into`](Self::read_record_into) of
    /// several records, so that their misses overlap.
    pub fn prefetch(&self, offset: u64) {
        if let Ok(pos) = usize::try_from(offset) {
            crate::features::prefetch(self.data.bytes(), pos);
        }
    }

    /// Like [`read_record`](Self::read_record), into `fields` (cleared first), so a
    /// caller verifying many candidates reuses one buffer.
    pub fn read_record_into(
        &self,
        dataset: usize,
        offset: u64,
        len: u32,
        fields: &mut Fields,
    ) -> Result<(), SourceError> {
        let info = self
            .datasets
            .get(dataset)
            .ok_or_else(|| SourceError::NoDataset {
                name: self.name.clone(),
                dataset,
            })?;
        let unreadable = |reason: String| SourceError::RecordUnreadable {
            name: info.name.clone(),
            offset,
            len,
            reason,
        };
        let bytes = self.data.bytes();
        let start = usize::try_from(offset).map_err(|_| unreadable("offset too large".into()))?;
        let end = start
            .checked_add(len as usize)
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| unreadable(format!("the file has {} bytes", bytes.len())))?;
        if memchr::memchr(0, bytes.get(start..end).unwrap_or_default()).is_some() {
            return Err(unreadable(RejectReason::NulByte.to_string()));
        }
        let status = match &self.layout {
            Layout::Delimited(d) => d.read_record(bytes, start, end - start, self.encoding, fields),
            Layout::Json(j) => {
                // A whole line, nothing before or after it.
                let line_start = start == 0
                    || bytes.get(start - 1) == Some(&b'\n')
                    || (start == encoding::BOM.len() && bytes.starts_with(encoding::BOM));
                let line_end = matches!(bytes.get(end), None | Some(b'\n' | b'\r'));
                if line_start && line_end {
                    j.parse_record(&bytes[start..end], self.encoding, usize::MAX, fields)
                } else {
                    Err(RejectReason::InvalidJson)
                }
            }
            Layout::Sql(s) => {
                s.read_record(bytes, dataset, start, end - start, self.encoding, fields)
            }
        };
        status.map_err(|r| unreadable(r.to_string()))
    }

    /// The first `n` good records of a dataset, for value sniffing.
    pub fn sample(&self, dataset: usize, n: usize) -> Vec<Fields> {
        let bytes = self.data.bytes();
        if let Layout::Sql(s) = &self.layout {
            return s.sample(bytes, dataset, n, self.encoding);
        }
        if dataset != 0 {
            return Vec::new();
        }
        match &self.layout {
            Layout::Delimited(d) => d.sample(bytes, n, self.encoding),
            Layout::Json(j) => j.sample(bytes, n, self.encoding),
            Layout::Sql(_) => Vec::new(),
        }
    }
}

/// What a file whose header sits below title lines says about them.
fn title_lines_note(lines: usize) -> String {
    let n = if lines == 1 {
        "1 title line".to_string()
    } else {
        format!("{lines} title lines")
    };
    format!(
        "skipped {n} above the header on line {}; row 1 is the line after the header",
        lines + 1
    )
}

/// The note for `n` rows of a dataset read with trailing fields left off
/// ([`ScanOutput::short_rows`]).
pub fn short_rows_note(n: u64) -> String {
    let rows = if n == 1 { "row" } else { "rows" };
    format!(
        "{n} {rows} had trailing fields left off (fewer fields than the header): read with those fields empty"
    )
}

fn strip_gz(name: &str) -> &str {
    let n = name.len();
    if n > 3 && name.is_char_boundary(n - 3) && name[n - 3..].eq_ignore_ascii_case(".gz") {
        &name[..n - 3]
    } else {
        name
    }
}

fn extension(file_name: &str) -> String {
    match file_name.rsplit_once('.') {
        Some((_, ext)) => ext.to_ascii_lowercase(),
        None => String::new(),
    }
}

enum Kind {
    Delimited,
    Json,
    Sql,
}

/// The format family, from the extension and, where that says little, the content.
fn detect_kind(ext: &str, body: &[u8]) -> Result<Kind, String> {
    let first = body.iter().copied().find(|b| !b.is_ascii_whitespace());
    match ext {
        "csv" | "tsv" | "psv" | "tab" => Ok(Kind::Delimited),
        "jsonl" | "ndjson" => Ok(Kind::Json),
        "sql" => Ok(Kind::Sql),
        "json" => {
            let first_line = body
                .split(|&b| b == b'\n')
                .map(<[u8]>::trim_ascii)
                .find(|l| !l.is_empty());
            match first {
                Some(b'[') => Err("a JSON array; only JSON Lines (one object per line) is read: convert it, e.g. with `jq -c '.[]'`".into()),
                _ if first_line == Some(b"{") => Err("a pretty-printed JSON document; only JSON Lines (one object per line) is read: convert it, e.g. with `jq -c .`".into()),
                _ => Ok(Kind::Json),
            }
        }
        _ => {
            let head = &body[..body.len().min(4096)];
            let upper = head.to_ascii_uppercase();
            let has = |w: &[u8]| upper.windows(w.len()).any(|x| x == w);
            if first == Some(b'{') {
                Ok(Kind::Json)
            } else if has(b"INSERT INTO") || has(b"CREATE TABLE") || has(b"FROM STDIN;") {
                Ok(Kind::Sql)
            } else {
                Ok(Kind::Delimited)
            }
        }
    }
}

/// Decompress a gzip file once: into the scratch directory (then mapped) or into
/// memory. A stream cut short (a leak interrupted mid-copy) keeps what it holds
/// and says so (the flag); a file that is not gzip at all is an error.
/// How much of a file's start decides whether it is text.
const TEXT_PROBE: usize = 64 * 1024;

/// How files that are never text begin: zip (an `.xlsx`, `.docx` or `.ods` is
/// one), an OLE2 compound file (`.xls`, `.doc`), SQLite, PDF, ELF, 7-Zip, RAR,
/// xz, zstd, bzip2 and an AppleDouble `._NAME` metadata file.
const BINARY_MAGIC: [&[u8]; 12] = [
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
    b"SQLite format 3\0",
    b"%PDF-",
    b"\x7FELF",
    b"7z\xBC\xAF\x27\x1C",
    b"Rar!\x1A\x07",
    b"\xFD7zXZ\0",
    b"\x28\xB5\x2F\xFD",
    b"BZh91AY&SY",
    b"\x00\x05\x16\x07",
];

/// Does a file (not UTF-16, decompressed) hold binary data rather than text? Yes
/// when it starts like a binary format ([`BINARY_MAGIC`]), or when control bytes
/// (NUL, and any other than tab, line feed, vertical tab (a line break inside a
/// FileMaker field), form feed and carriage return) make more than 1 in 32 of its
/// first [`TEXT_PROBE`] bytes (at least 8): random or compressed bytes have about
/// 1 in 9. A stray control byte or NUL in a field (the record holding a NUL is
/// rejected, [`RejectReason::NulByte`]), or Windows-1252 text (whose bytes
/// 0x80-0x9F are letters and punctuation), is text.
fn is_binary(bytes: &[u8]) -> bool {
    if BINARY_MAGIC.iter().any(|m| bytes.starts_with(m)) {
        return true;
    }
    let probe = bytes.get(..TEXT_PROBE).unwrap_or(bytes);
    let controls = probe
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r')) || b == 0x7F)
        .count();
    controls >= 8 && controls * 32 > probe.len()
}

fn gunzip(
    path: &Path,
    name: &str,
    data: &Data,
    options: &ReadOptions,
) -> Result<(Data, PathBuf, bool), SourceError> {
    let mut truncated = false;
    let mut gz_err = |source: io::Error, written: u64| {
        if source.kind() == io::ErrorKind::UnexpectedEof && written > 0 {
            truncated = true;
            Ok(())
        } else {
            Err(SourceError::Gzip {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let mut decoder = MultiGzDecoder::new(data.bytes());
    match &options.scratch {
        None => {
            let mut out = Vec::new();
            if let Err(e) = io::copy(&mut decoder, &mut out) {
                gz_err(e, out.len() as u64)?;
            }
            Ok((Data::Owned(out), path.to_path_buf(), truncated))
        }
        Some(dir) => {
            let io_err = |p: &Path| {
                let p = p.to_path_buf();
                move |source| SourceError::Io { path: p, source }
            };
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
            // Named by what it is a copy of (dataset name, compressed size and
            // modification time): opening the same dump again, e.g. at match time,
            // reuses the copy; a changed dump gets a new one. Files are only ever
            // renamed into place, never rewritten, so a copy mapped by another
            // process stays intact.
            let base = strip_gz(name);
            let modified = std::fs::metadata(path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            let key = format!("{base}\0{}\0{modified}", data.bytes().len());
            let hash = xxhash_rust::xxh3::xxh3_64(key.as_bytes());
            let ext = extension(base);
            let target = dir.join(format!("gunzip-{hash:016x}.{ext}"));
            if !target.is_file() {
                let unique = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                let tmp = dir.join(format!(
                    "gunzip-{hash:016x}.{ext}.{}-{unique}.tmp",
                    std::process::id()
                ));
                {
                    let mut out = io::BufWriter::new(File::create(&tmp).map_err(io_err(&tmp))?);
                    if let Err(e) = io::copy(&mut decoder, &mut out) {
                        let written = io::Write::flush(&mut out)
                            .and_then(|()| out.get_ref().metadata())
                            .map_or(0, |m| m.len());
                        if let Err(err) = gz_err(e, written) {
                            let _ = std::fs::remove_file(&tmp);
                            return Err(err);
                        }
                    }
                    io::Write::flush(&mut out).map_err(io_err(&tmp))?;
                }
                std::fs::rename(&tmp, &target).map_err(io_err(&target))?;
            }
            let file = File::open(&target).map_err(io_err(&target))?;
            let len = file.metadata().map_err(io_err(&target))?.len();
            // As any dump file (see `map_file`): a truncation of this copy by
            // another process while it is mapped raises SIGBUS.
            let data = map_file(&file, len).map_err(io_err(&target))?;
            Ok((data, target, truncated))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stamp_and_checksum_are_of_the_file_as_opened() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("a.csv");
        let text = b"email\nj@example.com\n";
        std::fs::write(&plain, text).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text).unwrap();
        let compressed = gz.finish().unwrap();
        let packed = dir.path().join("b.csv.gz");
        std::fs::write(&packed, &compressed).unwrap();
        let scratch = dir.path().join("scratch");
        for (path, bytes, scratch) in [
            (&plain, &text[..], None),
            (&packed, &compressed[..], None),
            (&packed, &compressed[..], Some(scratch.as_path())),
        ] {
            let file = SourceFile::open(path, "x.csv", scratch).unwrap();
            let stamp = file.stamp().unwrap();
            assert_eq!(stamp.path(), path.as_path());
            assert_eq!(stamp.size(), bytes.len() as u64);
            assert!(stamp.is_current());
            assert_eq!(file.checksum_as_opened(), xxhash_rust::xxh3::xxh3_64(bytes));
            // The decompressed bytes are what is read.
            assert_eq!(file.len_bytes(), text.len() as u64);
        }
        // Appended to after opening: the map, the size and the checksum stay those
        // at open.
        let file = SourceFile::open(&plain, "a.csv", None).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&plain)
            .unwrap();
        f.write_all(b"late@example.com\n").unwrap();
        drop(f);
        assert_eq!(file.len_bytes(), text.len() as u64);
        assert_eq!(file.checksum_as_opened(), xxhash_rust::xxh3::xxh3_64(text));
        assert!(file.stamp().is_some_and(|s| !s.is_current()));
        let scan = file.scan(|| 0u64, |n, _| *n += 1);
        assert_eq!(scan.rows(0), 1);
        // Bytes from memory have no file to stamp.
        let memory = SourceFile::from_bytes(text.to_vec(), "m.csv", &ReadOptions::default());
        assert!(memory.unwrap().stamp().is_none());
    }

    proptest::proptest! {
        #[test]
        fn word_searches_find_what_memchr_finds(
            hay in proptest::collection::vec(proptest::sample::select(vec![b'a', b'"', b'\\', b'\'', 0u8, 0x80, 0xFF, 0x21, 0x23]), 0..80),
            a in proptest::sample::select(vec![b'"', b'\'', 0u8, 0xFF, 0x22]),
            b in proptest::sample::select(vec![b'\\', b'a', 0x80u8]),
        ) {
            proptest::prop_assert_eq!(find1(&hay, a), memchr::memchr(a, &hay));
            proptest::prop_assert_eq!(find2(&hay, a, b), memchr::memchr2(a, b, &hay));
        }
    }

    #[test]
    fn format_display() {
        assert_eq!(Format::Delimited { delimiter: b',' }.to_string(), "csv");
        assert_eq!(Format::Delimited { delimiter: b'\t' }.to_string(), "tsv");
        assert_eq!(Format::Delimited { delimiter: b'|' }.to_string(), "psv");
        assert_eq!(Format::JsonLines.to_string(), "jsonl");
        assert_eq!(Format::Sql.to_string(), "sql");
        assert_eq!(Format::PgCopy.to_string(), "pg-copy");
    }

    #[test]
    fn gz_suffix_is_dropped_from_names() {
        assert_eq!(strip_gz("a.csv.gz"), "a.csv");
        assert_eq!(strip_gz("a.csv.GZ"), "a.csv");
        assert_eq!(strip_gz("a.csv"), "a.csv");
        assert_eq!(strip_gz(".gz"), ".gz");
    }

    #[test]
    fn json_arrays_are_refused_with_advice() {
        let err =
            SourceFile::from_bytes(b"[{\"a\":1}]".to_vec(), "x.json", &ReadOptions::default())
                .map(|_| ())
                .unwrap_err();
        assert!(err.to_string().contains("JSON Lines"), "{err}");
    }

    #[test]
    fn pretty_printed_json_is_refused_with_advice() {
        let err = SourceFile::from_bytes(
            b"{\n  \"a\": 1\n}\n".to_vec(),
            "x.json",
            &ReadOptions::default(),
        )
        .map(|_| ())
        .unwrap_err();
        assert!(err.to_string().contains("jq -c ."), "{err}");
    }

    #[test]
    fn content_decides_unknown_extensions() {
        let open = |b: &[u8]| {
            SourceFile::from_bytes(b.to_vec(), "dump.dat", &ReadOptions::default())
                .map(|f| f.format())
                .ok()
        };
        assert_eq!(open(b"{\"a\":1}\n"), Some(Format::JsonLines));
        assert_eq!(open(b"INSERT INTO t VALUES (1);"), Some(Format::Sql));
        assert_eq!(
            open(b"a|b\n1|2\n"),
            Some(Format::Delimited { delimiter: b'|' })
        );
    }

    /// `n` pseudo-random bytes (xorshift64*), the same every run.
    fn noise(n: usize) -> Vec<u8> {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        (0..n)
            .map(|_| {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
            })
            .collect()
    }

    fn open_err(bytes: &[u8], name: &str) -> Option<String> {
        SourceFile::from_bytes(bytes.to_vec(), name, &ReadOptions::default())
            .err()
            .map(|e| e.to_string())
    }

    const NOT_TEXT: &str = "x.csv: is not text: it holds binary data (NUL or control bytes) — \
                            a spreadsheet, an archive or a database file? export it as CSV first";

    #[test]
    fn binary_files_are_refused_whatever_their_name() {
        let random = noise(2 << 20);
        assert!(is_binary(&random));
        let no_nul: Vec<u8> = random.iter().map(|&b| b.max(1)).collect();
        assert!(is_binary(&no_nul), "control bytes alone");
        // A zipped spreadsheet: a local file header (with NULs), then deflated XML.
        let mut zip = b"PK\x03\x04\x14\x00\x06\x00\x08\x00".to_vec();
        zip.extend_from_slice(b"\x21\x00\x62\xee\x9d\x68\x5e\x01\x00\x00");
        zip.extend_from_slice(b"[Content_Types].xml");
        zip.extend_from_slice(&noise(4000));
        for (bytes, name) in [
            (&random, "x.csv"),
            (&no_nul, "x.csv"),
            (&zip, "x.csv"),
            (&random, "x.jsonl"),
            (&random, "x.sql"),
        ] {
            let want = NOT_TEXT.replace("x.csv", name);
            assert_eq!(open_err(bytes, name).as_deref(), Some(want.as_str()));
        }
        // UTF-16 keeps its own advice.
        let wide: Vec<u8> = b"\xFF\xFE"
            .iter()
            .copied()
            .chain("a,b\n1,2\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let err = open_err(&wide, "x.csv").unwrap_or_default();
        assert!(err.contains("is UTF-16 text"), "{err}");
    }

    /// Every good row's first value and every reject (row, reason) of `bytes`
    /// read as `name`, the same in chunks of any size.
    fn rows_and_rejects(bytes: &[u8], name: &str) -> (Vec<String>, Vec<(u64, RejectReason)>) {
        let read = |chunk_size: usize| {
            let options = ReadOptions {
                chunk_size,
                ..ReadOptions::default()
            };
            let file = SourceFile::from_bytes(bytes.to_vec(), name, &options).unwrap();
            let out = file.scan(Vec::new, |v: &mut Vec<String>, r| {
                v.push(r.fields.get(0).to_string())
            });
            let rejects = out.rejects.iter().map(|r| (r.row, r.reason)).collect();
            (out.states.concat(), rejects)
        };
        let whole = read(usize::MAX);
        for size in [1, 2, 3, 7, 16, 64] {
            assert_eq!(read(size), whole, "{name}: chunk size {size}");
        }
        whole
    }

    #[test]
    fn a_stray_nul_rejects_its_record_not_the_file() {
        let csv = b"email,name\na@x.com,Ann\nb@x.com,B\x00b\nc@x.com,Cy\n";
        assert!(!is_binary(csv));
        let (rows, rejects) = rows_and_rejects(csv, "x.csv");
        assert_eq!(rows, ["a@x.com", "c@x.com"]);
        assert_eq!(rejects, [(2, RejectReason::NulByte)]);
        let sql = b"INSERT INTO t VALUES ('a@x.com'),('b\x00@x.com'),('c\\0@x.com');\n";
        let (rows, rejects) = rows_and_rejects(sql, "x.sql");
        assert_eq!(
            rows,
            ["a@x.com", "c\u{0}@x.com"],
            "an escaped NUL is a value"
        );
        assert_eq!(rejects, [(2, RejectReason::NulByte)]);
        let jsonl = b"{\"email\":\"a@x.com\"}\n{\"email\":\"b\x00\"}\n{\"email\":\"c@x.com\"}\n";
        let (rows, rejects) = rows_and_rejects(jsonl, "x.jsonl");
        assert_eq!(rows, ["a@x.com", "c@x.com"]);
        assert_eq!(rejects.len(), 1);
        // A rejected record does not read back either.
        let f = SourceFile::from_bytes(csv.to_vec(), "x.csv", &ReadOptions::default()).unwrap();
        let at = csv.iter().position(|&b| b == b'b').unwrap_or_default();
        assert!(f.read_record(0, at as u64, 11).is_err());
        // Many NULs (a block of zeros, a binary file) are still refused whole.
        let mut zeros = b"email\na@x.com\n".to_vec();
        zeros.extend_from_slice(&[0; 4096]);
        assert!(is_binary(&zeros));
        for magic in [
            &b"PK\x03\x04rest"[..],
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
            b"SQLite format 3\0",
        ] {
            assert!(is_binary(magic));
        }
    }

    #[test]
    fn title_lines_and_short_rows_are_told() {
        let csv =
            b"Council Tax Accounts Export\nGenerated 01/04/2014\n\nRef,Forename,Surname,E-mail\n\
                    1,Ann,Lee,ann@x.com\n2,Bob,Roe\n3,Cy,Fox,cy@x.com\n";
        let f = SourceFile::from_bytes(csv.to_vec(), "t.csv", &ReadOptions::default()).unwrap();
        assert_eq!(
            f.warnings(),
            [
                "skipped 3 title lines above the header on line 4; row 1 is the line after the header"
            ]
        );
        assert_eq!(f.datasets()[0].columns[3], "E-mail");
        for size in [usize::MAX, 5, 1] {
            let options = ReadOptions {
                chunk_size: size,
                ..ReadOptions::default()
            };
            let f = SourceFile::from_bytes(csv.to_vec(), "t.csv", &options).unwrap();
            let out = f.scan(|| (), |_, _| {});
            assert_eq!(
                (out.rows(0), out.good_rows(0), out.short_rows(0)),
                (3, 3, 1)
            );
        }
        assert_eq!(
            short_rows_note(1),
            "1 row had trailing fields left off (fewer fields than the header): read with those fields empty"
        );
    }

    #[test]
    fn text_with_stray_control_bytes_or_windows_1252_is_read() {
        let mut cp1252 = b"Forename,Surname,Notes\n".to_vec();
        for _ in 0..2000 {
            cp1252.extend_from_slice(b"Zo\xEB,Caf\xE9,\x93quoted\x94 \x80 5 \x85\n");
        }
        let stray = b"name,note\nJane,a\x01b\nJohn,\x1B[0m\nAnn,\x07\x0Bline\x0Cpage\n".to_vec();
        let mut late_nul = "email\njane@example.com\n".repeat(4000).into_bytes();
        late_nul.extend_from_slice(b"x\x00y\n");
        assert!(late_nul.len() > TEXT_PROBE);
        for bytes in [&cp1252, &stray, &late_nul] {
            assert!(!is_binary(bytes));
            let opened = SourceFile::from_bytes(bytes.clone(), "x.csv", &ReadOptions::default());
            assert!(opened.is_ok(), "{:?}", opened.err());
        }
        let f = SourceFile::from_bytes(cp1252, "x.csv", &ReadOptions::default());
        assert_eq!(
            f.map(|f| f.encoding()).ok(),
            Some(TextEncoding::Windows1252)
        );
        let f = SourceFile::from_bytes(stray, "x.csv", &ReadOptions::default());
        assert_eq!(
            f.map(|f| f.datasets()[0].columns.clone()).ok(),
            Some(vec!["name".to_string(), "note".to_string()])
        );
    }
}
