//! SQL dumps: MySQL-style `INSERT INTO t [(cols)] VALUES (…),(…);` and pg_dump's
//! `COPY t (cols) FROM stdin;` blocks. Each table is one dataset.
//!
//! Opening the file lexes it once, sequentially, statement by statement: that is
//! where tables and their columns come from (`CREATE TABLE`, INSERT column lists,
//! COPY headers), and it notes tuple starts (or COPY line starts) about every
//! chunk-size bytes inside long statements. Scanning then parses those pieces in
//! parallel; a piece always starts on a tuple or line, so the parallel parse is
//! the sequential one.

use super::fields::Fields;
use super::{Chunk, Event, PASS_WINDOW, RejectReason, Release, TextEncoding, find1, find2};
use memchr::{memchr, memmem};
use std::collections::HashMap;
use std::sync::Arc;

/// One table of the dump.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Table {
    pub name: String,
    pub columns: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Kind {
    Insert,
    Copy,
}

/// A statement that carries rows. (An index saves a file's statements packed into
/// one string: see [`packed_stmts`].)
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct DataStmt {
    kind: Kind,
    dataset: u32,
    layout: u32,
    /// First byte of the rows (after `VALUES`, or the first COPY line).
    body: usize,
    /// End of the rows (after `;`, or before the `\.` line).
    end: usize,
    /// Tuple or line starts at which a chunk may begin (not kept in an index's
    /// saved layout: re-reading one record does not need them).
    #[serde(skip)]
    splits: Vec<usize>,
    /// Tuples that do not close where a tuple should (a stray quote), each with
    /// where reading resumes: the next tuple start from which tuples read again,
    /// or `end` (see [`Lexer::resync`]). Found when the file is lexed, so that
    /// chunks never start inside them; not kept in an index's saved layout.
    #[serde(skip)]
    breaks: Vec<(usize, usize)>,
    /// No `;` or `\.` before the end of the file.
    truncated: bool,
}

impl DataStmt {
    /// Where reading resumes when the tuple at `pos` is broken.
    fn break_at(&self, pos: usize) -> Option<usize> {
        let i = self.breaks.partition_point(|&(start, _)| start < pos);
        self.breaks
            .get(i)
            .filter(|&&(start, _)| start == pos)
            .map(|&(_, resume)| resume)
    }
}

/// A file's data statements. Lexing a dump makes the table directly; an index's
/// saved layout keeps it packed (see [`packed_stmts`]) with a checkpoint every
/// [`CHECKPOINT`] statements, and re-reading a record unpacks only the statements
/// from the checkpoint before it. Unpacking the whole table of a 10 M-record dump
/// (25,000 statements) was a sixth of a `lookup` process that touched it.
#[derive(Clone, Debug)]
enum Stmts {
    Table(Arc<Vec<DataStmt>>),
    Packed(Arc<packed_stmts::Packed>),
}

/// Statements between two checkpoints of a packed table.
const CHECKPOINT: usize = 32;

impl Stmts {
    fn table(table: Vec<DataStmt>) -> Stmts {
        Stmts::Table(Arc::new(table))
    }

    /// Every statement, in file order.
    fn all(&self) -> std::borrow::Cow<'_, [DataStmt]> {
        match self {
            Stmts::Table(t) => std::borrow::Cow::Borrowed(t.as_slice()),
            Stmts::Packed(p) => std::borrow::Cow::Owned(p.decode_from(0, usize::MAX, |_| false)),
        }
    }

    /// Statement `i`.
    fn at(&self, i: usize) -> Option<std::borrow::Cow<'_, DataStmt>> {
        match self {
            Stmts::Table(t) => t.get(i).map(std::borrow::Cow::Borrowed),
            Stmts::Packed(p) => {
                let from = i / CHECKPOINT;
                let want = i - from * CHECKPOINT + 1;
                let mut run = p.decode_from(from, want, |_| false);
                // Fewer: `i` is past the end (or the run is damaged).
                (run.len() == want)
                    .then(|| run.pop())
                    .flatten()
                    .map(std::borrow::Cow::Owned)
            }
        }
    }

    /// The last statement whose rows start at or before `offset`.
    fn containing(&self, offset: usize) -> Option<std::borrow::Cow<'_, DataStmt>> {
        match self {
            Stmts::Table(t) => {
                let i = t.partition_point(|s| s.body <= offset);
                t.get(i.checked_sub(1)?).map(std::borrow::Cow::Borrowed)
            }
            Stmts::Packed(p) => {
                if let Some(t) = p.table() {
                    let i = t.partition_point(|s| s.body <= offset);
                    return t.get(i.checked_sub(1)?).map(std::borrow::Cow::Borrowed);
                }
                let c = p.checkpoints.partition_point(|c| c.first_body <= offset);
                let from = c.checked_sub(1)?;
                let mut run = p.decode_from(from, CHECKPOINT, |st| st.body > offset);
                run.pop().map(std::borrow::Cow::Owned)
            }
        }
    }
}

/// The statement table as an index saves it (`layouts.json`): one hex string of
/// LEB128 numbers, five per statement — `kind | truncated << 1`, dataset, layout,
/// `body` minus the previous statement's `end`, and `end - body` — then `.` and the
/// checkpoints, also hex LEB128: the statement count, then for every
/// [`CHECKPOINT`]-th statement where it starts in the string (hex digits after the
/// previous checkpoint's), its `body` (after the previous checkpoint's) and the
/// previous statement's `end` (below its `body`). A large dump has tens of thousands
/// of statements; as JSON objects, reading them back took a third of a whole
/// `lookup` process at 10 M records, and walking the packed table to find the
/// checkpoints a tenth. Tables saved without checkpoints, or as lists of objects,
/// still read.
mod packed_stmts {
    use super::{CHECKPOINT, DataStmt, Kind, Stmts};
    use serde::de::{self, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;
    use std::sync::Arc;

    /// A saved table, its statements left packed.
    #[derive(Debug)]
    pub(super) struct Packed {
        /// The statements' hex digits.
        text: String,
        /// Where every [`CHECKPOINT`]-th statement starts.
        pub(super) checkpoints: Vec<Checkpoint>,
        pub(super) count: usize,
        /// Records re-read so far, and the whole table once they are many: a
        /// long-running matcher (`match`, `bench`) then finds a statement by one
        /// binary search, while a single `lookup` never unpacks more than a run.
        reads: std::sync::atomic::AtomicUsize,
        table: std::sync::OnceLock<Vec<DataStmt>>,
    }

    /// Re-reads after which a packed table is unpacked whole.
    const UNPACK_AFTER: usize = 256;

    #[derive(Debug, PartialEq)]
    pub(super) struct Checkpoint {
        /// Position in `text`.
        at: usize,
        /// The previous statement's `end` (the base of this one's `body`).
        prev_end: u64,
        /// This statement's `body`.
        pub(super) first_body: usize,
    }

    impl Packed {
        /// The whole table, once enough records have been re-read to be worth it.
        pub(super) fn table(&self) -> Option<&[DataStmt]> {
            if let Some(t) = self.table.get() {
                return Some(t);
            }
            let reads = self
                .reads
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if reads < UNPACK_AFTER {
                return None;
            }
            let t = self.table.get_or_init(|| {
                let all = self.decode_from(0, usize::MAX, |_| false);
                // A table damaged past its checks stays packed (its runs read what
                // they can).
                if all.len() == self.count {
                    all
                } else {
                    Vec::new()
                }
            });
            (!t.is_empty() || self.count == 0).then_some(t.as_slice())
        }

        /// Up to `n` statements from checkpoint `from` on, stopping before the first
        /// for which `stop` holds (or at damage, which leaves the rest unread).
        pub(super) fn decode_from(
            &self,
            from: usize,
            n: usize,
            stop: impl Fn(&DataStmt) -> bool,
        ) -> Vec<DataStmt> {
            let mut out = Vec::new();
            let Some(c) = self.checkpoints.get(from) else {
                return out;
            };
            let mut r = Numbers {
                hex: self.text.as_bytes(),
                pos: c.at,
            };
            let mut prev_end = c.prev_end;
            while out.len() < n {
                let Some(Some(st)) = r.stmt(&mut prev_end) else {
                    break;
                };
                if stop(&st) {
                    break;
                }
                out.push(st);
            }
            out
        }
    }

    pub fn serialize<S: Serializer>(stmts: &Stmts, s: S) -> Result<S::Ok, S::Error> {
        match stmts {
            Stmts::Table(t) => s.serialize_str(&encode(t)),
            Stmts::Packed(p) => {
                let mut out = p.text.clone();
                out.push('.');
                out.push_str(&encode_checkpoints(p.count, &p.checkpoints));
                s.serialize_str(&out)
            }
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Stmts, D::Error> {
        d.deserialize_any(StmtsVisitor)
    }

    struct StmtsVisitor;

    impl<'de> Visitor<'de> for StmtsVisitor {
        type Value = Stmts;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a packed statement table")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            read_packed(v)
                .map(|p| Stmts::Packed(Arc::new(p)))
                .ok_or_else(|| E::custom("damaged statement table"))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(st) = seq.next_element::<DataStmt>()? {
                out.push(st);
            }
            Ok(Stmts::table(out))
        }
    }

    fn push_varint(out: &mut Vec<u8>, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    /// A table's packed text, checkpoints included.
    pub(super) fn encode(stmts: &[DataStmt]) -> String {
        let mut bytes = Vec::with_capacity(stmts.len() * 10);
        let mut checkpoints = Vec::with_capacity(stmts.len() / CHECKPOINT + 1);
        let mut prev_end = 0u64;
        for (i, st) in stmts.iter().enumerate() {
            if i.is_multiple_of(CHECKPOINT) {
                checkpoints.push(Checkpoint {
                    at: bytes.len() * 2,
                    prev_end,
                    first_body: st.body,
                });
            }
            let (body, end) = (st.body as u64, st.end as u64);
            let flags = u64::from(st.kind == Kind::Copy) | (u64::from(st.truncated) << 1);
            push_varint(&mut bytes, flags);
            push_varint(&mut bytes, u64::from(st.dataset));
            push_varint(&mut bytes, u64::from(st.layout));
            // Statements are in file order, so `body` is past the previous `end`;
            // `wrapping_sub` keeps an unexpected order representable all the same.
            push_varint(&mut bytes, body.wrapping_sub(prev_end));
            push_varint(&mut bytes, end.wrapping_sub(body));
            prev_end = end;
        }
        let mut out = hex(&bytes);
        out.push('.');
        out.push_str(&encode_checkpoints(stmts.len(), &checkpoints));
        out
    }

    fn encode_checkpoints(count: usize, checkpoints: &[Checkpoint]) -> String {
        let mut bytes = Vec::with_capacity(checkpoints.len() * 8 + 4);
        push_varint(&mut bytes, count as u64);
        let (mut at, mut body) = (0u64, 0u64);
        for c in checkpoints {
            let (c_at, c_body) = (c.at as u64, c.first_body as u64);
            push_varint(&mut bytes, c_at.wrapping_sub(at));
            push_varint(&mut bytes, c_body.wrapping_sub(body));
            push_varint(&mut bytes, c_body.wrapping_sub(c.prev_end));
            (at, body) = (c_at, c_body);
        }
        hex(&bytes)
    }

    fn hex(bytes: &[u8]) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(bytes.len() * 2);
        for &b in bytes {
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
        out
    }

    /// Hex digit → value; 0xFF for any other byte.
    const NIBBLE: [u8; 256] = {
        let mut t = [0xFFu8; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    };

    /// The whole table at once (tests).
    #[cfg(test)]
    pub(super) fn decode(text: &str) -> Option<Vec<DataStmt>> {
        let p = read_packed(text)?;
        let all = p.decode_from(0, usize::MAX, |_| false);
        (all.len() == p.count).then_some(all)
    }

    /// Read a saved table; None when it is visibly damaged. With its checkpoints
    /// saved, the statements are only checked to be hex digits (a statement damaged
    /// otherwise fails to read back when it is needed, as a record that cannot be
    /// re-read); without, they are walked to find the checkpoints.
    fn read_packed(text: &str) -> Option<Packed> {
        let (stmts, saved) = match text.split_once('.') {
            Some((stmts, checkpoints)) => (stmts, Some(checkpoints)),
            None => (text, None),
        };
        if !stmts.len().is_multiple_of(2) || !stmts.bytes().all(|b| NIBBLE[usize::from(b)] < 16) {
            return None;
        }
        let (count, checkpoints) = match saved {
            Some(saved) => read_checkpoints(saved, stmts.len())?,
            None => walk(stmts)?,
        };
        Some(Packed {
            text: stmts.to_string(),
            checkpoints,
            count,
            reads: 0.into(),
            table: std::sync::OnceLock::new(),
        })
    }

    /// Saved checkpoints, checked to be in order, inside the text and as many as
    /// the count needs.
    fn read_checkpoints(saved: &str, text_len: usize) -> Option<(usize, Vec<Checkpoint>)> {
        let mut r = Numbers {
            hex: saved.as_bytes(),
            pos: 0,
        };
        let count = usize::try_from(r.number()?).ok()?;
        let mut checkpoints = Vec::with_capacity(count.div_ceil(CHECKPOINT).min(saved.len()));
        let (mut at, mut body) = (0usize, 0usize);
        while r.pos < saved.len() {
            let next_at = at.checked_add(usize::try_from(r.number()?).ok()?)?;
            let next_body = body.checked_add(usize::try_from(r.number()?).ok()?)?;
            let prev_end = (next_body as u64).wrapping_sub(r.number()?);
            if (!checkpoints.is_empty() && (next_at <= at || next_body < body))
                || next_at >= text_len
                || !next_at.is_multiple_of(2)
            {
                return None;
            }
            checkpoints.push(Checkpoint {
                at: next_at,
                prev_end,
                first_body: next_body,
            });
            (at, body) = (next_at, next_body);
        }
        (checkpoints.len() == count.div_ceil(CHECKPOINT)).then_some((count, checkpoints))
    }

    /// The checkpoints of a table saved without them, by reading every statement.
    fn walk(text: &str) -> Option<(usize, Vec<Checkpoint>)> {
        let mut checkpoints = Vec::new();
        let mut r = Numbers {
            hex: text.as_bytes(),
            pos: 0,
        };
        let mut prev_end = 0u64;
        let mut count = 0usize;
        loop {
            let (at, base) = (r.pos, prev_end);
            let Some(st) = r.stmt(&mut prev_end)? else {
                break;
            };
            if count.is_multiple_of(CHECKPOINT) {
                checkpoints.push(Checkpoint {
                    at,
                    prev_end: base,
                    first_body: st.body,
                });
            }
            count += 1;
        }
        Some((count, checkpoints))
    }

    /// A reader of hex LEB128 numbers.
    struct Numbers<'a> {
        hex: &'a [u8],
        pos: usize,
    }

    impl Numbers<'_> {
        /// The next number; None when damaged.
        #[inline]
        fn number(&mut self) -> Option<u64> {
            let mut v = 0u64;
            let mut shift = 0u32;
            loop {
                let pair = self.hex.get(self.pos..self.pos + 2)?;
                self.pos += 2;
                let (hi, lo) = (NIBBLE[usize::from(pair[0])], NIBBLE[usize::from(pair[1])]);
                if (hi | lo) & 0xF0 != 0 || shift > 63 {
                    return None;
                }
                let b = hi << 4 | lo;
                v |= u64::from(b & 0x7f).checked_shl(shift)?;
                if b & 0x80 == 0 {
                    return Some(v);
                }
                shift += 7;
            }
        }

        /// The next statement; Some(None) at the end of the table, None when
        /// damaged. `prev_end` is the previous statement's end, updated.
        fn stmt(&mut self, prev_end: &mut u64) -> Option<Option<DataStmt>> {
            if self.pos >= self.hex.len() {
                return Some(None);
            }
            let flags = self.number()?;
            let dataset = u32::try_from(self.number()?).ok()?;
            let layout = u32::try_from(self.number()?).ok()?;
            let body = prev_end.wrapping_add(self.number()?);
            let end = body.wrapping_add(self.number()?);
            if flags > 3 {
                return None;
            }
            *prev_end = end;
            Some(Some(DataStmt {
                kind: if flags & 1 == 1 {
                    Kind::Copy
                } else {
                    Kind::Insert
                },
                dataset,
                layout,
                body: usize::try_from(body).ok()?,
                end: usize::try_from(end).ok()?,
                splits: Vec::new(),
                breaks: Vec::new(),
                truncated: flags & 2 == 2,
            }))
        }
    }
}

/// A slice of one data statement, parsed as a unit by one chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    stmt: u32,
    from: usize,
    to: usize,
}

impl Piece {
    /// The piece's first byte.
    pub fn start(&self) -> usize {
        self.from
    }

    /// The byte just after the piece.
    pub fn end(&self) -> usize {
        self.to
    }
}

/// An SQL dump's tables and data statements.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Sql {
    pub tables: Vec<Table>,
    #[serde(with = "packed_stmts")]
    stmts: Stmts,
    /// For each layout: tuple position → column index.
    layouts: Vec<Vec<u32>>,
    /// Strings take backslash escapes (MySQL; PostgreSQL only without
    /// `standard_conforming_strings`).
    backslash: bool,
    pub has_insert: bool,
    pub has_copy: bool,
    /// Statements that looked like data but could not be read (not attributable to
    /// a table, so not a reject of any dataset).
    pub warnings: Vec<String>,
}

/// What the lexer learned about one table.
#[derive(Default)]
struct TableDraft {
    name: String,
    create: Option<Vec<String>>,
    /// Column lists of its INSERTs and COPYs (indexes into the file's lists).
    lists: Vec<u32>,
    arity: usize,
}

impl Sql {
    /// Lex the whole dump.
    ///
    /// `release` is told, every [`PASS_WINDOW`] bytes, how far the scan has gone.
    pub fn open(data: &[u8], body_start: usize, chunk_size: usize, release: Release<'_>) -> Sql {
        let chunk_size = chunk_size.max(1);
        let head = &data[..data.len().min(1 << 16)];
        let backslash = !contains_ci(head, b"standard_conforming_strings = on")
            && !contains_ci(head, b"standard_conforming_strings=on");
        let lx = Lexer { data, backslash };
        let mut drafts: Vec<TableDraft> = Vec::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        let mut table_of = |name: String, drafts: &mut Vec<TableDraft>| -> usize {
            if let Some(&t) = by_name.get(&name) {
                return t;
            }
            by_name.insert(name.clone(), drafts.len());
            drafts.push(TableDraft {
                name,
                ..TableDraft::default()
            });
            drafts.len() - 1
        };
        // Column lists, each parsed once: a dump with one INSERT per row repeats
        // the same list millions of times.
        let mut lists: Vec<Vec<String>> = Vec::new();
        let mut list_ids: HashMap<(usize, &[u8]), u32> = HashMap::new();
        let mut intern =
            |t: usize, (a, b): (usize, usize), drafts: &mut Vec<TableDraft>| -> Option<u32> {
                let raw = data.get(a..b)?;
                if let Some(&id) = list_ids.get(&(t, raw)) {
                    return Some(id);
                }
                let (names, _) = Lexer {
                    data: raw,
                    backslash,
                }
                .column_list(0)?;
                let id = lists.len() as u32;
                lists.push(names);
                list_ids.insert((t, raw), id);
                drafts[t].lists.push(id);
                Some(id)
            };
        // Statements before layouts exist; `layout` holds the column list id, or
        // POSITIONAL.
        const POSITIONAL: u32 = u32::MAX;
        let mut pending: Vec<DataStmt> = Vec::new();
        let mut warnings = Vec::new();
        let mut pos = body_start;
        let mut next_release = PASS_WINDOW;
        loop {
            pos = lx.skip_space_and_comments(pos);
            if pos >= next_release {
                release(pos);
                next_release = pos.saturating_add(PASS_WINDOW);
            }
            if pos >= data.len() {
                break;
            }
            if data[pos] == b';' {
                pos += 1;
                continue;
            }
            let word = word_at(data, pos).to_ascii_uppercase();
            match word.as_slice() {
                b"INSERT" | b"REPLACE" => match lx.insert_header(pos + word.len()) {
                    Some((table, cols, body)) => {
                        let t = table_of(table, &mut drafts);
                        let (mut end, mut truncated, mut splits, mut arity) =
                            lx.insert_body(body, chunk_size);
                        // A stray quote flips every quote after it: the scan then
                        // runs on through the statements that follow (taking a later
                        // `;` for its own, or running to the end of the file), and
                        // their rows would be lost uncounted. Such a statement is cut
                        // where the next one starts; its broken tuple is rejected.
                        if let Some(next) = lx.next_statement_line(body, end) {
                            end = next;
                            truncated = true;
                            splits.retain(|&s| s < next);
                        }
                        // A statement that ran on (a stray quote) or stops short: its
                        // tuples are walked one by one, and reading resumes after a
                        // broken tuple where tuples read again.
                        let mut breaks = Vec::new();
                        if truncated {
                            let good_arity;
                            (splits, breaks, good_arity) = lx.resync(body, end, chunk_size);
                            // The first tuple may be the broken one: count a good one.
                            arity = good_arity.unwrap_or(arity);
                        }
                        let layout = match cols {
                            Some(range) => intern(t, range, &mut drafts).unwrap_or(POSITIONAL),
                            None => {
                                drafts[t].arity = drafts[t].arity.max(arity);
                                POSITIONAL
                            }
                        };
                        pending.push(DataStmt {
                            kind: Kind::Insert,
                            dataset: t as u32,
                            layout,
                            body,
                            end,
                            splits,
                            breaks,
                            truncated,
                        });
                        pos = end;
                    }
                    None => {
                        warnings.push(format!(
                            "byte {pos}: an INSERT statement whose table or VALUES could not be read was skipped"
                        ));
                        pos = lx.statement_end(pos).0;
                    }
                },
                b"COPY" => match lx.copy_header(pos + 4) {
                    Some((table, cols, after)) => {
                        let t = table_of(table, &mut drafts);
                        let body =
                            memchr(b'\n', &data[after..]).map_or(data.len(), |k| after + k + 1);
                        let (end, next, truncated) = copy_end(data, body);
                        let splits = line_splits(data, body, end, chunk_size);
                        let layout = cols
                            .and_then(|range| intern(t, range, &mut drafts))
                            .unwrap_or(POSITIONAL);
                        if layout == POSITIONAL {
                            // Without a column list, count the fields of the first line.
                            let first = memchr(b'\n', &data[body..end]).map_or(end, |k| body + k);
                            let n = if body < end {
                                data[body..first].split(|&b| b == b'\t').count()
                            } else {
                                0
                            };
                            drafts[t].arity = drafts[t].arity.max(n);
                        }
                        pending.push(DataStmt {
                            kind: Kind::Copy,
                            dataset: t as u32,
                            layout,
                            body,
                            end,
                            splits,
                            breaks: Vec::new(),
                            truncated,
                        });
                        pos = next;
                    }
                    None => pos = lx.statement_end(pos).0,
                },
                b"CREATE" => {
                    let (end, _) = lx.statement_end(pos);
                    if let Some((table, cols)) = lx.create_table(pos + 6, end) {
                        let t = table_of(table, &mut drafts);
                        drafts[t].create.get_or_insert(cols);
                    }
                    pos = end;
                }
                _ => pos = lx.statement_end(pos).0.max(pos + 1),
            }
        }
        let mut tables = Vec::with_capacity(drafts.len());
        for d in &drafts {
            let mut columns = d.create.clone().unwrap_or_default();
            for &list in &d.lists {
                for c in lists.get(list as usize).into_iter().flatten() {
                    if find_column(&columns, c).is_none() {
                        columns.push(c.clone());
                    }
                }
            }
            for i in columns.len()..d.arity {
                columns.push(format!("column_{}", i + 1));
            }
            tables.push(Table {
                name: d.name.clone(),
                columns,
            });
        }
        // Layouts: one per table for positional rows, then one per column list.
        let mut layouts: Vec<Vec<u32>> = tables
            .iter()
            .map(|t| (0..t.columns.len() as u32).collect())
            .collect();
        let mut list_layout = vec![0u32; lists.len()];
        for (t, d) in drafts.iter().enumerate() {
            for &list in &d.lists {
                let columns = &tables[t].columns;
                let layout = lists
                    .get(list as usize)
                    .into_iter()
                    .flatten()
                    .map(|c| find_column(columns, c).unwrap_or(0) as u32)
                    .collect();
                list_layout[list as usize] = layouts.len() as u32;
                layouts.push(layout);
            }
        }
        let (mut has_insert, mut has_copy) = (false, false);
        let mut stmts = pending;
        for st in &mut stmts {
            st.layout = match st.layout {
                POSITIONAL => st.dataset,
                list => list_layout
                    .get(list as usize)
                    .copied()
                    .unwrap_or(st.dataset),
            };
            has_insert |= st.kind == Kind::Insert;
            has_copy |= st.kind == Kind::Copy;
        }
        Sql {
            tables,
            stmts: Stmts::table(stmts),
            layouts,
            backslash,
            has_insert,
            has_copy,
            warnings,
        }
    }

    /// Group statement pieces into chunks of about `chunk_size` bytes.
    pub fn plan(&self, chunk_size: usize) -> Vec<Chunk> {
        let mut out = Vec::new();
        let mut pieces = Vec::new();
        let mut size = 0usize;
        for (si, st) in self.stmts.all().iter().enumerate() {
            let mut bounds = Vec::with_capacity(st.splits.len() + 2);
            bounds.push(st.body);
            bounds.extend(st.splits.iter().copied());
            bounds.push(st.end);
            for w in bounds.windows(2) {
                if w[0] >= w[1] {
                    continue;
                }
                pieces.push(Piece {
                    stmt: si as u32,
                    from: w[0],
                    to: w[1],
                });
                size += w[1] - w[0];
                if size >= chunk_size {
                    out.push(Chunk::Sql {
                        pieces: std::mem::take(&mut pieces),
                    });
                    size = 0;
                }
            }
        }
        if !pieces.is_empty() {
            out.push(Chunk::Sql { pieces });
        }
        out
    }

    /// Parse one chunk, reporting each record or reject.
    pub fn parse_chunk(
        &self,
        data: &[u8],
        chunk: &Chunk,
        encoding: TextEncoding,
        max_field: usize,
        fields: &mut Fields,
        emit: &mut dyn FnMut(Event<'_>),
    ) {
        let Chunk::Sql { pieces } = chunk else {
            return;
        };
        for p in pieces {
            self.parse_piece(data, *p, encoding, max_field, fields, &mut |e| {
                emit(e);
                true
            });
        }
    }

    /// The first `n` good records of table `dataset`.
    pub fn sample(
        &self,
        data: &[u8],
        dataset: usize,
        n: usize,
        encoding: TextEncoding,
    ) -> Vec<Fields> {
        let mut out = Vec::new();
        let mut fields = Fields::new();
        for (si, st) in self.stmts.all().iter().enumerate() {
            if st.dataset as usize != dataset || out.len() >= n {
                continue;
            }
            let piece = Piece {
                stmt: si as u32,
                from: st.body,
                to: st.end,
            };
            self.parse_piece(data, piece, encoding, usize::MAX, &mut fields, &mut |e| {
                if let Event::Record { fields, .. } = e {
                    out.push(fields.clone());
                }
                out.len() < n
            });
        }
        out
    }

    /// Parse the tuple or COPY line at exactly `offset..offset + len`.
    pub fn read_record(
        &self,
        data: &[u8],
        dataset: usize,
        offset: usize,
        len: usize,
        encoding: TextEncoding,
        fields: &mut Fields,
    ) -> Result<(), RejectReason> {
        let st = self
            .stmts
            .containing(offset)
            .filter(|s| s.dataset as usize == dataset && offset + len <= s.end)
            .ok_or(RejectReason::BadSqlTuple)?;
        let st = &st;
        let layout = self.layout(st);
        let ncols = self.ncols(st);
        let bytes = data
            .get(offset..offset + len)
            .ok_or(RejectReason::BadSqlTuple)?;
        match st.kind {
            Kind::Insert => {
                if tuple_end(data, offset, st.end, self.backslash) != TupleEnd::Closed(offset + len)
                {
                    return Err(RejectReason::BadSqlTuple);
                }
                parse_tuple(bytes, layout, ncols, self.backslash, usize::MAX, fields)?
            }
            Kind::Copy => parse_copy_line(bytes, layout, ncols, usize::MAX, fields)?,
        }
        fields.finish(encoding);
        Ok(())
    }

    fn layout(&self, st: &DataStmt) -> &[u32] {
        self.layouts
            .get(st.layout as usize)
            .map_or(&[], Vec::as_slice)
    }

    fn ncols(&self, st: &DataStmt) -> usize {
        self.tables
            .get(st.dataset as usize)
            .map_or(0, |t| t.columns.len())
    }

    /// Parse one piece; `emit` returns false to stop early.
    fn parse_piece(
        &self,
        data: &[u8],
        piece: Piece,
        encoding: TextEncoding,
        max_field: usize,
        fields: &mut Fields,
        emit: &mut dyn FnMut(Event<'_>) -> bool,
    ) {
        let Some(st) = self.stmts.at(piece.stmt as usize) else {
            return;
        };
        let st = &*st;
        let dataset = st.dataset as usize;
        let layout = self.layout(st);
        let ncols = self.ncols(st);
        let reject = |offset: usize, len: usize, reason| Event::Reject {
            dataset,
            offset,
            len,
            reason,
        };
        let mut pos = piece.from;
        match st.kind {
            Kind::Insert => loop {
                while pos < piece.to && (data[pos].is_ascii_whitespace() || data[pos] == b',') {
                    pos += 1;
                }
                if pos >= piece.to || data[pos] != b'(' {
                    // `;`, the end, or a trailing clause such as ON DUPLICATE KEY UPDATE.
                    return;
                }
                if let Some(resume) = st.break_at(pos) {
                    // Each tuple lost to a stray quote is a reject: what lies before
                    // where tuples read again, or the rest of a statement cut short.
                    let reason = if resume >= st.end {
                        RejectReason::TruncatedStatement
                    } else {
                        RejectReason::BadSqlTuple
                    };
                    for (from, to) in lost_tuples(data, pos, resume, st.end) {
                        if !emit(reject(from, to - from, reason)) {
                            return;
                        }
                    }
                    if resume <= pos {
                        return;
                    }
                    pos = resume;
                    continue;
                }
                let (end, status) = read_tuple(
                    data,
                    pos,
                    st.end,
                    layout,
                    ncols,
                    self.backslash,
                    max_field,
                    fields,
                );
                let more = match status {
                    Ok(()) => {
                        fields.finish(encoding);
                        emit(Event::Record {
                            dataset,
                            offset: pos,
                            len: end - pos,
                            fields,
                        })
                    }
                    Err(reason) => emit(reject(pos, end - pos, reason)),
                };
                if !more || end <= pos {
                    return;
                }
                pos = end;
            },
            Kind::Copy => {
                while pos < piece.to {
                    let nl = memchr(b'\n', &data[pos..piece.to]).map(|k| pos + k);
                    let line_end = nl.unwrap_or(piece.to);
                    let mut line = &data[pos..line_end];
                    if let [rest @ .., b'\r'] = line {
                        line = rest;
                    }
                    let status = if nl.is_none() && st.truncated && line_end == st.end {
                        Err(RejectReason::TruncatedStatement)
                    } else if line.len() > super::MAX_RECORD_BYTES {
                        Err(RejectReason::RecordTooLong)
                    } else {
                        parse_copy_line(line, layout, ncols, max_field, fields)
                    };
                    let more = if line.is_empty() {
                        true
                    } else {
                        match status {
                            Ok(()) => {
                                fields.finish(encoding);
                                emit(Event::Record {
                                    dataset,
                                    offset: pos,
                                    len: line.len(),
                                    fields,
                                })
                            }
                            Err(reason) => emit(reject(pos, line.len(), reason)),
                        }
                    };
                    if !more {
                        return;
                    }
                    pos = line_end + 1;
                }
            }
        }
    }
}

/// Where a tuple starting at `(` ends.
#[derive(Debug, PartialEq, Eq)]
enum TupleEnd {
    /// Just after its closing `)`.
    Closed(usize),
    /// Not closed before a `;` or the end of the statement: where to resume.
    Broken(usize),
}

fn tuple_end(data: &[u8], start: usize, limit: usize, backslash: bool) -> TupleEnd {
    let limit = limit.min(data.len());
    let mut depth = 0usize;
    let mut i = start;
    while i < limit {
        match data[i] {
            q @ (b'\'' | b'"' | b'`') => {
                match skip_quoted(data, i, limit, q, backslash && q != b'`') {
                    Some(e) => i = e,
                    None => return TupleEnd::Broken(limit),
                }
            }
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
                if depth == 0 {
                    return TupleEnd::Closed(i);
                }
            }
            b';' => return TupleEnd::Broken(i),
            _ => i += 1,
        }
    }
    TupleEnd::Broken(limit)
}

/// The tuples lost between a broken tuple at `from` and where reading resumes,
/// `to`: the stretch cut where a tuple seems to end and the next to begin (`)`,
/// `,`, `(`, spaces between), so that each lost tuple counts as one reject. The
/// last piece ends at `to` when that is the statement's end (`stmt_end`), else
/// before the `,` leading to `to`.
fn lost_tuples(data: &[u8], from: usize, to: usize, stmt_end: usize) -> Vec<(usize, usize)> {
    let to = to.min(data.len());
    let mut out = Vec::new();
    let mut start = from;
    if from >= to {
        return out;
    }
    for c in memchr::memchr_iter(b'(', &data[from + 1..to]).map(|k| from + 1 + k) {
        if let Some(close) = boundary_before(data, from, c) {
            out.push((start, close));
            start = c;
        }
    }
    let mut end = to;
    if to < stmt_end {
        while end > start && (data[end - 1].is_ascii_whitespace() || data[end - 1] == b',') {
            end -= 1;
        }
    }
    out.push((start, if end > start { end } else { to }));
    out
}

/// When the `(` at `c` follows a `)` and a `,` (spaces between, none of them
/// before `floor`): the position just after that `)`.
fn boundary_before(data: &[u8], floor: usize, c: usize) -> Option<usize> {
    // The byte before `i`, spaces skipped (`i` moved onto it).
    let back = |i: &mut usize| {
        while *i > floor && data[*i - 1].is_ascii_whitespace() {
            *i -= 1;
        }
        *i = i.checked_sub(1).filter(|&j| j >= floor)?;
        Some(data[*i])
    };
    let mut i = c;
    if back(&mut i)? != b',' || back(&mut i)? != b')' {
        return None;
    }
    Some(i + 1)
}

/// How many values the complete tuple `t` holds, if its values read.
fn tuple_arity(t: &[u8], backslash: bool, scratch: &mut Fields) -> Option<usize> {
    parse_values(t, &[], 0, backslash, usize::MAX, scratch)
        .ok()
        .map(|(n, _)| n)
}

/// Read the tuple starting at `data[pos]` (its `(`) of a statement ending at
/// `limit`: where it ends and its values (or why it is rejected). A plain tuple is
/// parsed in one pass ([`parse_tuple_direct`]); anything else the two-pass way,
/// [`tuple_end`] then [`parse_tuple`], which defines the result.
#[allow(clippy::too_many_arguments)]
fn read_tuple(
    data: &[u8],
    pos: usize,
    limit: usize,
    layout: &[u32],
    ncols: usize,
    backslash: bool,
    max_field: usize,
    fields: &mut Fields,
) -> (usize, Result<(), RejectReason>) {
    if let Some(e) = parse_tuple_direct(
        data, pos, limit, layout, ncols, backslash, max_field, fields,
    ) {
        return (e, Ok(()));
    }
    match tuple_end(data, pos, limit, backslash) {
        TupleEnd::Closed(e) => {
            let s = if e - pos > super::MAX_RECORD_BYTES {
                Err(RejectReason::RecordTooLong)
            } else {
                parse_tuple(&data[pos..e], layout, ncols, backslash, max_field, fields)
            };
            (e, s)
        }
        TupleEnd::Broken(e) => (e, Err(RejectReason::TruncatedStatement)),
    }
}

/// Parse the tuple starting at `data[start]` (its `(`) straight from the statement,
/// finding its end on the way: in one pass what [`tuple_end`] then [`parse_tuple`]
/// give for a tuple that reads without error. Returns the position after the
/// tuple's `)`. `None` (the caller then takes the two-pass way) for anything but a
/// plain good tuple: an error of any kind, a backtick or `;` outside strings, a
/// string prefix whose escapes differ from the file's, a tuple over the size limit.
#[allow(clippy::too_many_arguments)]
fn parse_tuple_direct(
    data: &[u8],
    start: usize,
    limit: usize,
    layout: &[u32],
    ncols: usize,
    backslash: bool,
    max_field: usize,
    fields: &mut Fields,
) -> Option<usize> {
    let limit = limit.min(data.len());
    let ws = |mut i: usize| {
        while i < limit && data[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    fields.begin(ncols);
    let mut i = ws(start + 1);
    let mut n = 0usize;
    let mut too_long = false;
    if i < limit && data[i] == b')' {
        // `()`
        return (layout.is_empty() && i + 1 - start <= super::MAX_RECORD_BYTES).then_some(i + 1);
    }
    loop {
        if i >= limit {
            return None;
        }
        let mark = fields.mark();
        let mut present = true;
        let b = data[i];
        if let Some((skip, escapes)) = string_prefix(&data[i..limit]) {
            if escapes.is_some_and(|e| e != backslash) {
                return None;
            }
            i += skip;
            let q = data[i];
            i = read_string(data, i, limit, q, backslash, fields.raw())?;
        } else if b == b'\'' || b == b'"' {
            i = read_string(data, i, limit, b, backslash, fields.raw())?;
        } else {
            let s = i;
            let mut depth = 0usize;
            loop {
                if i >= limit {
                    return None;
                }
                match data[i] {
                    b'(' => depth += 1,
                    b')' if depth == 0 => break,
                    b')' => depth -= 1,
                    b',' if depth == 0 => break,
                    q @ (b'\'' | b'"') => {
                        i = skip_quoted(data, i, limit, q, backslash)?;
                        continue;
                    }
                    b'`' | b';' => return None,
                    _ => {}
                }
                i += 1;
            }
            let token = data[s..i].trim_ascii();
            if token.is_empty() {
                return None;
            }
            present = bare_token(token, fields);
        }
        if present {
            too_long |= end_value(fields, layout.get(n), mark, max_field);
        }
        n += 1;
        i = ws(i);
        if i >= limit {
            return None;
        }
        match data[i] {
            b',' => i += 1,
            b')' => {
                i += 1;
                break;
            }
            _ => return None,
        }
        i = ws(i);
    }
    (n == layout.len() && !too_long && i - start <= super::MAX_RECORD_BYTES).then_some(i)
}

/// Skip a quoted string or identifier starting at `start` (its opening quote).
/// Returns the position after the closing quote, or None when it never closes.
fn skip_quoted(data: &[u8], start: usize, limit: usize, q: u8, backslash: bool) -> Option<usize> {
    let mut i = start + 1;
    loop {
        let hay = data.get(i..limit)?;
        let k = if backslash {
            find2(hay, q, b'\\')
        } else {
            find1(hay, q)
        }?;
        i += k;
        if data[i] == b'\\' {
            i += 2;
            continue;
        }
        // A doubled quote is a quote inside the string.
        if i + 1 < limit && data[i + 1] == q {
            i += 2;
            continue;
        }
        return Some(i + 1);
    }
}

/// Parse the values of a complete tuple `( … )`.
fn parse_tuple(
    t: &[u8],
    layout: &[u32],
    ncols: usize,
    backslash: bool,
    max_field: usize,
    fields: &mut Fields,
) -> Result<(), RejectReason> {
    let (n, too_long) = parse_values(t, layout, ncols, backslash, max_field, fields)?;
    if n != layout.len() {
        return Err(RejectReason::FieldCount);
    }
    if too_long {
        return Err(RejectReason::FieldTooLong);
    }
    Ok(())
}

/// Parse the values of a complete tuple `( … )` into `fields` (those the layout
/// places): how many values it holds, and whether one is over `max_field`.
fn parse_values(
    t: &[u8],
    layout: &[u32],
    ncols: usize,
    backslash: bool,
    max_field: usize,
    fields: &mut Fields,
) -> Result<(usize, bool), RejectReason> {
    fields.begin(ncols);
    let bad = RejectReason::BadSqlTuple;
    let inner_end = t.len().checked_sub(1).ok_or(bad)?;
    let mut i = 1usize;
    let mut n = 0usize;
    let mut too_long = false;
    loop {
        while i < inner_end && t[i].is_ascii_whitespace() {
            i += 1;
        }
        if n == 0 && i == inner_end {
            break; // `()`
        }
        let start = fields.mark();
        let mut present = true;
        let b = *t.get(i).ok_or(bad)?;
        // String, with optional prefix: E'…' (PostgreSQL escapes), N'…', _utf8mb4'…'.
        let prefix = string_prefix(&t[i..inner_end]);
        if let Some((skip, escapes)) = prefix {
            i += skip;
            let q = t[i];
            i = read_string(
                t,
                i,
                inner_end,
                q,
                escapes.unwrap_or(backslash),
                fields.raw(),
            )
            .ok_or(bad)?;
        } else if b == b'\'' || b == b'"' {
            i = read_string(t, i, inner_end, b, backslash, fields.raw()).ok_or(bad)?;
        } else {
            // Unquoted: a number, NULL, TRUE, 0x…, X'…', or an expression such as NOW().
            let s = i;
            let mut depth = 0usize;
            while i < inner_end {
                match t[i] {
                    b'(' => depth += 1,
                    b')' => depth = depth.saturating_sub(1),
                    b',' if depth == 0 => break,
                    q @ (b'\'' | b'"') => {
                        i = skip_quoted(t, i, inner_end, q, backslash).ok_or(bad)?;
                        continue;
                    }
                    _ => {}
                }
                i += 1;
            }
            let token = t[s..i].trim_ascii();
            if token.is_empty() {
                return Err(bad);
            }
            present = bare_token(token, fields);
        }
        if present {
            too_long |= end_value(fields, layout.get(n), start, max_field);
        }
        n += 1;
        while i < inner_end && t[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= inner_end {
            break;
        }
        if t[i] != b',' {
            return Err(bad);
        }
        i += 1;
    }
    Ok((n, too_long))
}

/// A string-literal prefix at the start of `s`: how many bytes to skip to reach the
/// quote, and whether it forces backslash escapes on (`E'…'`).
fn string_prefix(s: &[u8]) -> Option<(usize, Option<bool>)> {
    match s {
        [b'E' | b'e', b'\'', ..] => Some((1, Some(true))),
        [b'N' | b'n', b'\'', ..] => Some((1, None)),
        [b'_', rest @ ..] => {
            let name = rest
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            let mut k = 1 + name;
            while s.get(k).is_some_and(u8::is_ascii_whitespace) {
                k += 1;
            }
            (name > 0 && s.get(k) == Some(&b'\'')).then_some((k, None))
        }
        _ => None,
    }
}

/// Read a quoted string starting at `t[i]` (the quote) into `out`, unescaped.
/// Returns the position after the closing quote.
fn read_string(
    t: &[u8],
    mut i: usize,
    limit: usize,
    q: u8,
    backslash: bool,
    out: &mut Vec<u8>,
) -> Option<usize> {
    i += 1;
    loop {
        let hay = t.get(i..limit)?;
        let k = if backslash {
            find2(hay, q, b'\\')
        } else {
            find1(hay, q)
        }?;
        out.extend_from_slice(&hay[..k]);
        i += k;
        if t[i] == b'\\' {
            let e = *t.get(i + 1).filter(|_| i + 1 < limit)?;
            match e {
                b'0' => out.push(0),
                b'b' => out.push(8),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'Z' => out.push(0x1A),
                // MySQL keeps the backslash before % and _ (they escape LIKE patterns).
                b'%' | b'_' => out.extend_from_slice(&[b'\\', e]),
                other => out.push(other),
            }
            i += 2;
            continue;
        }
        if i + 1 < limit && t[i + 1] == q {
            out.push(q);
            i += 2;
            continue;
        }
        return Some(i + 1);
    }
}

/// An unquoted tuple value (a number, `NULL`, a function call): copied as it is;
/// false for `NULL`, which is no value.
fn bare_token(token: &[u8], fields: &mut Fields) -> bool {
    if token.eq_ignore_ascii_case(b"NULL") {
        return false;
    }
    fields.raw().extend_from_slice(token);
    true
}

/// The value copied since `start` ends: it becomes column `col`'s (if the layout
/// has one for it). True when it is longer than `max_field`.
fn end_value(fields: &mut Fields, col: Option<&u32>, start: usize, max_field: usize) -> bool {
    if let Some(&col) = col {
        fields.push_value(col as usize, start);
    }
    fields.mark() - start > max_field
}

/// Parse one line of a COPY block (text format: tab-separated, `\N` is NULL).
fn parse_copy_line(
    line: &[u8],
    layout: &[u32],
    ncols: usize,
    max_field: usize,
    fields: &mut Fields,
) -> Result<(), RejectReason> {
    fields.begin(ncols);
    let mut n = 0usize;
    let mut too_long = false;
    for value in line.split(|&b| b == b'\t') {
        if value != b"\\N" {
            let start = fields.mark();
            unescape_copy(value, fields.raw());
            too_long |= end_value(fields, layout.get(n), start, max_field);
        }
        n += 1;
    }
    if n != layout.len() {
        return Err(RejectReason::FieldCount);
    }
    if too_long {
        return Err(RejectReason::FieldTooLong);
    }
    Ok(())
}

fn unescape_copy(v: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < v.len() {
        let Some(k) = memchr(b'\\', &v[i..]) else {
            out.extend_from_slice(&v[i..]);
            return;
        };
        out.extend_from_slice(&v[i..i + k]);
        i += k + 1;
        let Some(&e) = v.get(i) else { return };
        i += 1;
        match e {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut code = u32::from(e - b'0');
                for _ in 0..2 {
                    match v.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            code = code * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(code as u8);
            }
            b'x' if v.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let mut code = 0u32;
                for _ in 0..2 {
                    match v.get(i).and_then(|d| (*d as char).to_digit(16)) {
                        Some(d) => {
                            code = code * 16 + d;
                            i += 1;
                        }
                        None => break,
                    }
                }
                out.push(code as u8);
            }
            other => out.push(other),
        }
    }
}

/// The end of a COPY block's data starting at `body`: (end of data, where the
/// next statement may start, whether the `\.` line is missing).
fn copy_end(data: &[u8], body: usize) -> (usize, usize, bool) {
    let is_end_line = |p: usize| {
        data.get(p..p + 2) == Some(b"\\.")
            && matches!(data.get(p + 2), None | Some(b'\n') | Some(b'\r'))
    };
    let after = |p: usize| memchr(b'\n', &data[p..]).map_or(data.len(), |k| p + k + 1);
    if is_end_line(body) {
        return (body, after(body), false);
    }
    let finder = memmem::Finder::new(b"\n\\.");
    let mut from = body;
    while let Some(k) = finder.find(&data[from..]) {
        let nl = from + k;
        if is_end_line(nl + 1) {
            return (nl + 1, after(nl + 1), false);
        }
        from = nl + 1;
    }
    (data.len(), data.len(), true)
}

/// Line starts about every `chunk_size` bytes in `body..end`.
fn line_splits(data: &[u8], body: usize, end: usize, chunk_size: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = body;
    loop {
        let nominal = at.saturating_add(chunk_size);
        if nominal >= end {
            return out;
        }
        match memchr(b'\n', &data[nominal..end]) {
            Some(k) if nominal + k + 1 < end => {
                at = nominal + k + 1;
                out.push(at);
            }
            _ => return out,
        }
    }
}

fn find_column(columns: &[String], name: &str) -> Option<usize> {
    columns
        .iter()
        .position(|c| c == name)
        .or_else(|| columns.iter().position(|c| c.eq_ignore_ascii_case(name)))
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fn word_at(data: &[u8], pos: usize) -> &[u8] {
    let n = data[pos..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    &data[pos..pos + n]
}

/// A data statement's header: table, byte range of its column list (if any), and
/// where its rows start.
type Header = (String, Option<(usize, usize)>, usize);

/// Candidate tuple starts tried after a broken tuple before the rest of its
/// statement is given up (each lost tuple then still counted).
const MAX_RESYNC_CANDIDATES: usize = 4096;

/// Bytes a candidate tuple may span when resynchronising.
const RESYNC_WINDOW: usize = 1 << 20;

struct Lexer<'a> {
    data: &'a [u8],
    backslash: bool,
}

impl Lexer<'_> {
    fn skip_space_and_comments(&self, mut pos: usize) -> usize {
        let d = self.data;
        loop {
            while pos < d.len() && d[pos].is_ascii_whitespace() {
                pos += 1;
            }
            match d.get(pos..pos + 2) {
                Some(b"--") => pos = memchr(b'\n', &d[pos..]).map_or(d.len(), |k| pos + k + 1),
                Some([b'#', _]) => pos = memchr(b'\n', &d[pos..]).map_or(d.len(), |k| pos + k + 1),
                Some(b"/*") => {
                    pos = memmem::find(&d[pos + 2..], b"*/").map_or(d.len(), |k| pos + 2 + k + 2)
                }
                _ => return pos,
            }
        }
    }

    /// Just after the `;` ending the statement at `pos` (quotes and comments
    /// respected), and whether there was one.
    fn statement_end(&self, mut pos: usize) -> (usize, bool) {
        let d = self.data;
        while pos < d.len() {
            match d[pos] {
                b';' => return (pos + 1, true),
                q @ (b'\'' | b'"' | b'`') => {
                    match skip_quoted(d, pos, d.len(), q, self.backslash && q != b'`') {
                        Some(e) => pos = e,
                        None => return (d.len(), false),
                    }
                }
                b'-' if d.get(pos + 1) == Some(&b'-') => pos = self.skip_space_and_comments(pos),
                b'/' if d.get(pos + 1) == Some(&b'*') => pos = self.skip_space_and_comments(pos),
                _ => pos += 1,
            }
        }
        (d.len(), false)
    }

    fn ws(&self, mut pos: usize) -> usize {
        while pos < self.data.len() && self.data[pos].is_ascii_whitespace() {
            pos += 1;
        }
        pos
    }

    /// An identifier, quoted or bare, possibly qualified (`db`.`t`, public.t): the
    /// last part and the position after it.
    fn qualified_name(&self, pos: usize) -> Option<(String, usize)> {
        let (mut name, mut pos) = self.identifier(pos)?;
        while self.data.get(pos) == Some(&b'.') {
            let (next, p) = self.identifier(pos + 1)?;
            name = next;
            pos = p;
        }
        Some((name, pos))
    }

    fn identifier(&self, pos: usize) -> Option<(String, usize)> {
        let d = self.data;
        match *d.get(pos)? {
            q @ (b'`' | b'"') => {
                let end = skip_quoted(d, pos, d.len(), q, false)?;
                let raw = &d[pos + 1..end - 1];
                let doubled = [q, q];
                let text = String::from_utf8_lossy(raw).replace(
                    std::str::from_utf8(&doubled).unwrap_or("\"\""),
                    std::str::from_utf8(&doubled[..1]).unwrap_or("\""),
                );
                Some((text, end))
            }
            b'[' => {
                let end = memchr(b']', &d[pos..])? + pos;
                Some((
                    String::from_utf8_lossy(&d[pos + 1..end]).into_owned(),
                    end + 1,
                ))
            }
            _ => {
                let n = d[pos..]
                    .iter()
                    .take_while(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$') || **b >= 0x80
                    })
                    .count();
                (n > 0).then(|| {
                    (
                        String::from_utf8_lossy(&d[pos..pos + n]).into_owned(),
                        pos + n,
                    )
                })
            }
        }
    }

    /// The position after the `)` closing the list opened at `pos`, without
    /// reading the names (see [`Lexer::column_list`]).
    fn list_end(&self, pos: usize) -> Option<usize> {
        let d = self.data;
        let mut i = pos + 1;
        while i < d.len() {
            match d[i] {
                q @ (b'`' | b'"') => i = skip_quoted(d, i, d.len(), q, false)?,
                b')' => return Some(i + 1),
                b'(' | b';' => return None,
                _ => i += 1,
            }
        }
        None
    }

    /// `( a, b, … )` at `pos`: the names and the position after `)`.
    fn column_list(&self, pos: usize) -> Option<(Vec<String>, usize)> {
        let mut pos = self.ws(pos + 1);
        let mut cols = Vec::new();
        loop {
            let (name, p) = self.identifier(pos)?;
            cols.push(name);
            pos = self.ws(p);
            match self.data.get(pos)? {
                b',' => pos = self.ws(pos + 1),
                b')' => return Some((cols, pos + 1)),
                _ => return None,
            }
        }
    }

    /// After `INSERT`/`REPLACE`: table, column list, and where the tuples start.
    fn insert_header(&self, pos: usize) -> Option<Header> {
        let mut pos = self.ws(pos);
        loop {
            let w = word_at(self.data, pos).to_ascii_uppercase();
            if matches!(
                w.as_slice(),
                b"LOW_PRIORITY" | b"DELAYED" | b"HIGH_PRIORITY" | b"IGNORE" | b"INTO"
            ) {
                pos = self.ws(pos + w.len());
            } else {
                break;
            }
        }
        let (table, p) = self.qualified_name(pos)?;
        pos = self.ws(p);
        let mut cols = None;
        if self.data.get(pos) == Some(&b'(') {
            let p = self.list_end(pos)?;
            cols = Some((pos, p));
            pos = self.ws(p);
        }
        let w = word_at(self.data, pos).to_ascii_uppercase();
        if w != b"VALUES" && w != b"VALUE" {
            return None;
        }
        Some((table, cols, pos + w.len()))
    }

    /// Lex an INSERT's tuples from `body`: (statement end, truncated, split points,
    /// number of values in the first tuple).
    fn insert_body(&self, body: usize, chunk_size: usize) -> (usize, bool, Vec<usize>, usize) {
        let d = self.data;
        let mut splits = Vec::new();
        let mut last = body;
        let mut depth = 0usize;
        let (mut tuples, mut commas, mut arity) = (0usize, 0usize, 0usize);
        // Whether the tuple list goes on: the parser stops at the first thing after
        // it (`ON DUPLICATE KEY UPDATE …`), so no piece may start beyond that.
        let mut in_list = true;
        let mut i = body;
        while i < d.len() {
            if depth == 0
                && in_list
                && !(d[i].is_ascii_whitespace() || matches!(d[i], b',' | b'(' | b';'))
            {
                in_list = false;
            }
            match d[i] {
                q @ (b'\'' | b'"' | b'`') => {
                    match skip_quoted(d, i, d.len(), q, self.backslash && q != b'`') {
                        Some(e) => i = e,
                        None => return (d.len(), true, splits, arity),
                    }
                    continue;
                }
                b'(' => {
                    if depth == 0 && in_list {
                        if i - last >= chunk_size {
                            splits.push(i);
                            last = i;
                        }
                        tuples += 1;
                    }
                    depth += 1;
                }
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 && tuples == 1 && arity == 0 {
                        arity = commas + 1;
                    }
                }
                b',' if depth == 1 && tuples == 1 => commas += 1,
                b';' => return (i + 1, false, splits, arity),
                _ => {}
            }
            i += 1;
        }
        (d.len(), true, splits, arity)
    }

    /// The start of the first line in `from..end` that begins a statement (`INSERT
    /// INTO`, `REPLACE INTO`, `CREATE TABLE`, `COPY`, `DROP TABLE`, `LOCK TABLES`,
    /// any case): inside one INSERT, such a line means a quote went astray before it.
    /// One search for a newline in the usual case of one statement per line.
    fn next_statement_line(&self, from: usize, end: usize) -> Option<usize> {
        let d = self.data.get(..end)?;
        let mut at = from;
        while let Some(k) = memchr(b'\n', d.get(at..)?) {
            let line = at + k + 1;
            at = line;
            let first = word_at(d, line);
            let second = word_at(d, self.ws(line + first.len()).min(d.len()));
            let starts = match first.to_ascii_uppercase().as_slice() {
                b"INSERT" | b"REPLACE" => {
                    second.eq_ignore_ascii_case(b"INTO") || second.eq_ignore_ascii_case(b"IGNORE")
                }
                b"CREATE" | b"DROP" => second.eq_ignore_ascii_case(b"TABLE"),
                b"LOCK" => second.eq_ignore_ascii_case(b"TABLES"),
                b"COPY" => !second.is_empty(),
                _ => false,
            };
            if starts {
                return Some(line);
            }
        }
        None
    }

    /// Whether what follows a tuple ending at `e` (of a statement ending at `end`)
    /// is what follows a tuple: the next one (`,` then `(`), the statement's end
    /// (`;`, or `end`), or a trailing clause (`ON DUPLICATE KEY UPDATE`,
    /// `RETURNING`). Anything else means the tuple closed where it should not.
    fn tuple_follows(&self, e: usize, end: usize) -> bool {
        let d = self.data;
        let i = self.ws(e).min(end);
        if i >= end {
            return true;
        }
        match d[i] {
            b';' => true,
            b',' => {
                let j = self.ws(i + 1);
                j >= end || d[j] == b'('
            }
            _ => {
                let w = word_at(d, i);
                w.eq_ignore_ascii_case(b"ON") || w.eq_ignore_ascii_case(b"RETURNING")
            }
        }
    }

    /// Walk the tuples of an INSERT that ran on or stops short (`body..end`) the
    /// way the parser reads them: the tuple starts at which a chunk may begin
    /// (about every `chunk_size` bytes), the broken tuples, each with where
    /// reading resumes ([`Lexer::resume_after`], else `end`: the rest is lost),
    /// and how many values the first tuple that reads holds.
    #[allow(clippy::type_complexity)]
    fn resync(
        &self,
        body: usize,
        end: usize,
        chunk_size: usize,
    ) -> (Vec<usize>, Vec<(usize, usize)>, Option<usize>) {
        let d = self.data;
        let end = end.min(d.len());
        let (mut splits, mut breaks) = (Vec::new(), Vec::new());
        let mut scratch = Fields::new();
        let mut arity = None;
        let mut last = body;
        let mut pos = body;
        loop {
            while pos < end && (d[pos].is_ascii_whitespace() || d[pos] == b',') {
                pos += 1;
            }
            if pos >= end || d[pos] != b'(' {
                break;
            }
            if pos - last >= chunk_size {
                splits.push(pos);
                last = pos;
            }
            match tuple_end(d, pos, end, self.backslash) {
                TupleEnd::Closed(e) if self.tuple_follows(e, end) => {
                    if arity.is_none() {
                        arity = tuple_arity(&d[pos..e], self.backslash, &mut scratch);
                    }
                    pos = e;
                }
                _ => match self.resume_after(pos, end, arity, &mut scratch) {
                    Some(r) => {
                        breaks.push((pos, r));
                        pos = r;
                    }
                    None => {
                        breaks.push((pos, end));
                        break;
                    }
                },
            }
        }
        (splits, breaks, arity)
    }

    /// Where tuples read again after the broken tuple at `from`: the first `(`
    /// after a `),` that starts a tuple whose values read (as many as `arity`, the
    /// statement's first good tuple's, when known) and that is followed by the
    /// statement's end or by another such tuple. A quote gone astray pairs with
    /// the next one, so the tuples after it are found again; a candidate inside a
    /// value (`'a),(b'`) rarely passes. Candidates are bounded (the first
    /// [`MAX_RESYNC_CANDIDATES`], each tuple read within [`RESYNC_WINDOW`] bytes).
    fn resume_after(
        &self,
        from: usize,
        end: usize,
        arity: Option<usize>,
        scratch: &mut Fields,
    ) -> Option<usize> {
        let d = self.data;
        let reads = |at: usize, scratch: &mut Fields| -> Option<(usize, usize)> {
            let limit = end.min(at.saturating_add(RESYNC_WINDOW));
            match tuple_end(d, at, limit, self.backslash) {
                TupleEnd::Closed(e) => {
                    let n = tuple_arity(&d[at..e], self.backslash, scratch)?;
                    arity.is_none_or(|a| a == n).then_some((e, n))
                }
                TupleEnd::Broken(_) => None,
            }
        };
        let hay = d.get(from + 1..end)?;
        memchr::memchr_iter(b'(', hay)
            .map(|k| from + 1 + k)
            .filter(|&c| boundary_before(d, from, c).is_some())
            .take(MAX_RESYNC_CANDIDATES)
            .find(|&c| {
                let Some((e, n)) = reads(c, scratch) else {
                    return false;
                };
                let i = self.ws(e).min(end);
                if i >= end || d[i] == b';' {
                    return true;
                }
                if d[i] != b',' {
                    return false;
                }
                let j = self.ws(i + 1);
                j < end && d[j] == b'(' && reads(j, scratch).is_some_and(|(_, m)| m == n)
            })
    }

    /// After `COPY`: table, column list, and the position after `FROM stdin…;`.
    fn copy_header(&self, pos: usize) -> Option<Header> {
        let (table, p) = self.qualified_name(self.ws(pos))?;
        let mut pos = self.ws(p);
        let mut cols = None;
        if self.data.get(pos) == Some(&b'(') {
            let p = self.list_end(pos)?;
            cols = Some((pos, p));
            pos = self.ws(p);
        }
        if !word_at(self.data, pos).eq_ignore_ascii_case(b"FROM") {
            return None;
        }
        pos = self.ws(pos + 4);
        if !word_at(self.data, pos).eq_ignore_ascii_case(b"STDIN") {
            return None;
        }
        let semi = memchr(b';', &self.data[pos..])? + pos;
        Some((table, cols, semi + 1))
    }

    /// After `CREATE`, if this is `CREATE … TABLE name ( … )`: its column names.
    fn create_table(&self, pos: usize, end: usize) -> Option<(String, Vec<String>)> {
        let d = self.data;
        let mut pos = self.ws(pos);
        for _ in 0..4 {
            let w = word_at(d, pos).to_ascii_uppercase();
            pos = self.ws(pos + w.len());
            if w == b"TABLE" {
                break;
            }
            if !matches!(
                w.as_slice(),
                b"OR" | b"REPLACE" | b"TEMPORARY" | b"TEMP" | b"UNLOGGED" | b"GLOBAL" | b"LOCAL"
            ) {
                return None;
            }
        }
        if word_at(d, pos).eq_ignore_ascii_case(b"IF") {
            for w in [&b"IF"[..], b"NOT", b"EXISTS"] {
                if !word_at(d, pos).eq_ignore_ascii_case(w) {
                    return None;
                }
                pos = self.ws(pos + w.len());
            }
        }
        let (table, p) = self.qualified_name(pos)?;
        pos = self.ws(p);
        if d.get(pos) != Some(&b'(') {
            return None;
        }
        let mut cols = Vec::new();
        let mut item_start = pos + 1;
        let mut depth = 0usize;
        let mut i = pos;
        while i < end {
            match d[i] {
                q @ (b'\'' | b'"' | b'`') => {
                    i = skip_quoted(d, i, end, q, self.backslash && q == b'\'')?;
                    continue;
                }
                b'(' => depth += 1,
                b')' | b',' => {
                    if depth == 1 {
                        if let Some(c) = self.column_item(item_start) {
                            cols.push(c);
                        }
                        item_start = i + 1;
                    }
                    if d[i] == b')' {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return Some((table, cols));
                        }
                    }
                }
                _ => {}
            }
            i += 1;
        }
        Some((table, cols))
    }

    /// The column a CREATE TABLE item defines, if it is a column (not a key or
    /// constraint).
    fn column_item(&self, pos: usize) -> Option<String> {
        let pos = self.skip_space_and_comments(pos);
        let bare = !matches!(self.data.get(pos), Some(b'`' | b'"' | b'['));
        let (name, _) = self.identifier(pos)?;
        const NOT_COLUMNS: [&str; 12] = [
            "PRIMARY",
            "KEY",
            "UNIQUE",
            "INDEX",
            "CONSTRAINT",
            "FOREIGN",
            "CHECK",
            "FULLTEXT",
            "SPATIAL",
            "EXCLUDE",
            "LIKE",
            "PERIOD",
        ];
        if bare && NOT_COLUMNS.iter().any(|k| name.eq_ignore_ascii_case(k)) {
            return None;
        }
        Some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::keep_pages;

    fn stmt(kind: Kind, dataset: u32, layout: u32, body: usize, end: usize) -> DataStmt {
        DataStmt {
            kind,
            dataset,
            layout,
            body,
            end,
            splits: vec![body + 1],
            breaks: Vec::new(),
            truncated: false,
        }
    }

    /// Serializes a statement table as `Sql` does.
    struct TableOf<'a>(&'a Stmts);

    impl serde::Serialize for TableOf<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            packed_stmts::serialize(self.0, s)
        }
    }

    fn same(a: &[DataStmt], b: &[DataStmt]) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| {
                (x.kind, x.dataset, x.layout, x.body, x.end, x.truncated)
                    == (y.kind, y.dataset, y.layout, y.body, y.end, y.truncated)
            })
    }

    #[test]
    fn statement_tables_pack_and_unpack() {
        let mut last = stmt(Kind::Copy, 7, 300, usize::MAX - 10, usize::MAX);
        last.truncated = true;
        let stmts = vec![
            stmt(Kind::Insert, 0, 0, 120, 9_000_000),
            stmt(Kind::Insert, 1, 2, 9_000_001, 9_000_050),
            last,
        ];
        let packed = packed_stmts::encode(&stmts);
        let back = packed_stmts::decode(&packed).unwrap();
        assert!(same(&back, &stmts));
        assert!(back.iter().all(|s| s.splits.is_empty()));
        assert!(packed_stmts::decode("").unwrap().is_empty());
    }

    #[test]
    fn damaged_statement_tables_are_refused() {
        let packed = packed_stmts::encode(&[stmt(Kind::Insert, 0, 0, 5, 600)]);
        assert!(packed_stmts::decode(&packed[..packed.len() - 2]).is_none());
        assert!(packed_stmts::decode(&packed[..packed.len() - 1]).is_none());
        assert!(packed_stmts::decode(&packed.replace('0', "g")).is_none());
        assert!(packed_stmts::decode("ff").is_none());
        assert!(packed_stmts::decode("04000000").is_none());
    }

    #[test]
    fn saved_layouts_read_back_in_the_packed_and_the_older_form() {
        let data = b"INSERT INTO t (a, b) VALUES ('x', 'y'), ('z', 'w');\n";
        let s = Sql::open(data, 0, 1 << 20, &keep_pages);
        let json = serde_json::to_string(&s).unwrap();
        let back: Sql = serde_json::from_str(&json).unwrap();
        assert!(same(&back.stmts.all(), &s.stmts.all()));
        // Saved again before it was ever unpacked: the same packed text.
        let again: Sql = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&again).unwrap(), json);
        let mut old = serde_json::to_value(&s).unwrap();
        old["stmts"] = serde_json::to_value(&*s.stmts.all()).unwrap();
        assert!(old["stmts"].is_array());
        let back: Sql = serde_json::from_value(old).unwrap();
        assert!(same(&back.stmts.all(), &s.stmts.all()));
        // A damaged table is refused when the layout is read, not when it is used.
        let mut bad = serde_json::to_value(&s).unwrap();
        bad["stmts"] = serde_json::Value::String("ff".into());
        assert!(serde_json::from_value::<Sql>(bad).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_statement_table_round_trips(
            raw in proptest::collection::vec((0u8..4, 0u32..50, 0u32..5, 0usize..1 << 40, 0usize..1 << 30), 0..40)
        ) {
            let mut at = 0usize;
            let stmts: Vec<DataStmt> = raw
                .iter()
                .map(|&(flags, dataset, layout, gap, len)| {
                    let body = at + gap;
                    at = body + len;
                    let kind = if flags & 1 == 1 { Kind::Copy } else { Kind::Insert };
                    let mut st = stmt(kind, dataset, layout, body, at);
                    st.truncated = flags & 2 == 2;
                    st
                })
                .collect();
            let packed = packed_stmts::encode(&stmts);
            let back = packed_stmts::decode(&packed);
            proptest::prop_assert!(back.is_some_and(|b| same(&b, &stmts)));
        }

        #[test]
        fn a_packed_table_finds_what_the_table_finds(
            raw in proptest::collection::vec((0u32..3, 0usize..50, 1usize..80), 0..150),
            probes in proptest::collection::vec(0usize..20_000, 0..40),
        ) {
            let mut at = 0usize;
            let stmts: Vec<DataStmt> = raw
                .iter()
                .map(|&(dataset, gap, len)| {
                    let body = at + gap;
                    at = body + len;
                    stmt(Kind::Insert, dataset, dataset, body, at)
                })
                .collect();
            let text = packed_stmts::encode(&stmts);
            // As saved now (checkpoints after the `.`) and before (none: found by
            // walking the statements), the same table.
            let older = text.split_once('.').unwrap().0.to_string();
            let packed = packed_stmts::deserialize(serde_json::Value::String(text)).unwrap();
            let walked = packed_stmts::deserialize(serde_json::Value::String(older)).unwrap();
            let (Stmts::Packed(p), Stmts::Packed(w)) = (&packed, &walked) else {
                panic!("not packed");
            };
            proptest::prop_assert_eq!(&p.checkpoints, &w.checkpoints);
            proptest::prop_assert_eq!(p.count, w.count);
            let table = Stmts::table(stmts.clone());
            proptest::prop_assert!(matches!(packed, Stmts::Packed(_)));
            proptest::prop_assert!(same(&packed.all(), &stmts));
            let one = |s: Option<std::borrow::Cow<'_, DataStmt>>| s.map(|s| vec![s.into_owned()]);
            for i in 0..stmts.len() + 2 {
                let (a, b) = (one(packed.at(i)), one(table.at(i)));
                proptest::prop_assert_eq!(a.is_some(), b.is_some());
                proptest::prop_assert!(a.zip(b).is_none_or(|(a, b)| same(&a, &b)));
            }
            // Run by run at first, then (after many re-reads) from the whole table.
            for pass in 0..2 {
                for offset in probes.iter().copied().chain(stmts.iter().flat_map(|s| [s.body, s.end])) {
                    let (a, b) = (one(packed.containing(offset)), one(table.containing(offset)));
                    proptest::prop_assert_eq!(a.is_some(), b.is_some());
                    proptest::prop_assert!(a.zip(b).is_none_or(|(a, b)| same(&a, &b)));
                }
                if pass == 0 {
                    for _ in 0..300 {
                        let _ = packed.containing(0);
                    }
                    proptest::prop_assert!(p.table().is_some());
                }
            }
            // Saved again, a packed table is the text it was read from.
            proptest::prop_assert_eq!(
                serde_json::to_value(TableOf(&packed)).unwrap(),
                serde_json::Value::String(packed_stmts::encode(&stmts))
            );
        }

        #[test]
        fn decoding_any_string_never_panics(text in "[0-9a-g.]{0,64}") {
            let _ = packed_stmts::decode(&text);
        }
    }

    type Row = (usize, Result<Vec<Vec<String>>, RejectReason>);

    fn rows(sql: &str, chunk: usize) -> (Sql, Vec<Row>) {
        let data = sql.as_bytes();
        let s = Sql::open(data, 0, chunk, &keep_pages);
        let mut out = Vec::new();
        let mut f = Fields::new();
        for c in s.plan(chunk) {
            s.parse_chunk(
                data,
                &c,
                TextEncoding::Utf8,
                usize::MAX,
                &mut f,
                &mut |e| match e {
                    Event::Record {
                        dataset, fields, ..
                    } => out.push((dataset, Ok(fields.to_vecs()))),
                    Event::Reject {
                        dataset, reason, ..
                    } => out.push((dataset, Err(reason))),
                    Event::ShortRow { .. } => {}
                },
            );
        }
        (s, out)
    }

    fn v(x: &[&[&str]]) -> Vec<Vec<String>> {
        x.iter()
            .map(|c| c.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    #[test]
    fn mysql_escapes_nulls_and_create_table_columns() {
        let sql = "-- dump\n/*!40101 SET NAMES utf8 */;\nCREATE TABLE `residents` (\n  `id` int NOT NULL,\n  `name` varchar(50) DEFAULT 'x,y',\n  `note` text,\n  PRIMARY KEY (`id`),\n  KEY `n` (`name`)\n) ENGINE=InnoDB;\nINSERT INTO `residents` VALUES (1,'O\\'Brien','a''b'),(2,'back\\\\slash\\nnew',NULL);\n";
        let (s, r) = rows(sql, 1 << 20);
        assert_eq!(s.tables[0].name, "residents");
        assert_eq!(s.tables[0].columns, ["id", "name", "note"]);
        assert_eq!(r[0], (0, Ok(v(&[&["1"], &["O'Brien"], &["a'b"]]))));
        assert_eq!(r[1], (0, Ok(v(&[&["2"], &["back\\slash\nnew"], &[]]))));
    }

    #[test]
    fn column_lists_map_onto_table_columns() {
        let sql =
            "INSERT INTO t (b, a) VALUES ('1','2');\nINSERT INTO t (a, c) VALUES ('3','4');\n";
        let (s, r) = rows(sql, 1 << 20);
        assert_eq!(s.tables[0].columns, ["b", "a", "c"]);
        assert_eq!(r[0].1, Ok(v(&[&["1"], &["2"], &[]])));
        assert_eq!(r[1].1, Ok(v(&[&[], &["3"], &["4"]])));
    }

    #[test]
    fn positional_inserts_without_create_get_numbered_columns() {
        let (s, r) = rows("INSERT INTO x VALUES (1,'a'),(2,'b',3);", 1 << 20);
        assert_eq!(s.tables[0].columns, ["column_1", "column_2"]);
        assert_eq!(r[1].1, Err(RejectReason::FieldCount));
    }

    #[test]
    fn pg_copy_blocks() {
        let sql = "SET standard_conforming_strings = on;\nCOPY public.people (id, name, note) FROM stdin;\n1\tSi\\303\\242n\t\\N\n2\ta\\tb\\\\c\tx\\ny\n\\.\nCOPY public.other (k) FROM stdin;\n\\.\nINSERT INTO people VALUES (3, 'C:\\dir', NULL);\n";
        let (s, r) = rows(sql, 1 << 20);
        assert_eq!(
            s.tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["people", "other"]
        );
        assert_eq!(r[0].1, Ok(v(&[&["1"], &["Siân"], &[]])));
        assert_eq!(r[1].1, Ok(v(&[&["2"], &["a\tb\\c"], &["x\ny"]])));
        // standard_conforming_strings: the backslash is a plain character.
        assert_eq!(r[2].1, Ok(v(&[&["3"], &["C:\\dir"], &[]])));
    }

    #[test]
    fn truncated_statements_reject_the_last_tuple() {
        let (_, r) = rows("INSERT INTO t VALUES (1,'a'),(2,'b", 1 << 20);
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].1, Err(RejectReason::TruncatedStatement));
        let (_, r) = rows("COPY t (a, b) FROM stdin;\n1\t2\n3", 1 << 20);
        assert_eq!(r[1].1, Err(RejectReason::TruncatedStatement));
    }

    #[test]
    fn a_stray_quote_costs_its_own_row_not_the_rest_of_the_file() {
        // `'O'Brien'` flips every quote after it: without the cut, rows 3 to 5 ran
        // into one unterminated statement and were lost uncounted.
        let mut sql = String::new();
        for (i, name) in ["N", "O'Brien", "N", "N", "N"].iter().enumerate() {
            sql.push_str(&format!(
                "INSERT INTO people (id,name) VALUES ({},'{name}');\n",
                i + 1
            ));
        }
        for chunk in [1 << 20, 16] {
            let (_, r) = rows(&sql, chunk);
            assert_eq!(r.len(), 5, "{r:?}");
            assert_eq!(r[1].1, Err(RejectReason::TruncatedStatement));
            for (i, row) in r.iter().enumerate().filter(|(i, _)| *i != 1) {
                let id = (i + 1).to_string();
                assert_eq!(row.1, Ok(v(&[&[id.as_str()], &["N"]])), "row {i}");
            }
        }
        // A stray quote in a multi-row statement keeps the tuples before it, and
        // those after it are read again.
        let (_, r) = rows(
            "INSERT INTO t VALUES (1,'a'),(2,'b'c'),(3,'d');\nINSERT INTO t VALUES (4,'e');\n",
            1 << 20,
        );
        assert_eq!(r.len(), 4, "{r:?}");
        assert_eq!(r[0].1, Ok(v(&[&["1"], &["a"]])));
        assert_eq!(r[1].1, Err(RejectReason::BadSqlTuple));
        assert_eq!(r[2].1, Ok(v(&[&["3"], &["d"]])));
        assert_eq!(r[3].1, Ok(v(&[&["4"], &["e"]])));
        // Tuples on lines of their own, and a value holding a newline and the word
        // "insert", are one statement as before.
        let (_, r) = rows(
            "INSERT INTO t (a, b) VALUES\n(1,'x'),\n(2,'note:\ninsert coin'),\n(3,'z');\n",
            1 << 20,
        );
        assert_eq!(r.len(), 3, "{r:?}");
        assert!(r.iter().all(|x| x.1.is_ok()), "{r:?}");
        assert_eq!(r[1].1, Ok(v(&[&["2"], &["note:\ninsert coin"]])));
    }

    #[test]
    fn tuples_after_a_stray_quote_are_read_again() {
        // One INSERT of 100 tuples, `'O'Brien'` in the eleventh: the quotes after it
        // flip, and the statement runs into the next one. Reading resumes at the
        // twelfth tuple; only the broken one is lost, as one reject.
        let mut sql =
            String::from("CREATE TABLE `t` (`id` int, `ln` varchar(9), `email` varchar(99));\n");
        sql.push_str("INSERT INTO `t` VALUES ");
        for i in 0..100 {
            let name = if i == 10 {
                "O'Brien".to_string()
            } else {
                format!("S{i}")
            };
            let sep = if i == 99 { ";\n" } else { "," };
            sql.push_str(&format!("({i},'{name}','p{i}@x.com'){sep}"));
        }
        sql.push_str("INSERT INTO `t` VALUES (200,'Next','next@x.com');\n");
        let (_, whole) = rows(&sql, usize::MAX);
        assert_eq!(whole.len(), 101, "every tuple is a row");
        let bad: Vec<usize> = (0..whole.len()).filter(|&i| whole[i].1.is_err()).collect();
        assert_eq!(bad, [10]);
        assert_eq!(whole[10].1, Err(RejectReason::BadSqlTuple));
        assert_eq!(whole[11].1, Ok(v(&[&["11"], &["S11"], &["p11@x.com"]])));
        assert_eq!(whole[100].1, Ok(v(&[&["200"], &["Next"], &["next@x.com"]])));
        for size in [1, 7, 64, 500, 4096] {
            assert_eq!(rows(&sql, size).1, whole, "chunk size {size}");
        }
        // Re-read alone, a tuple after the stray quote is the one scanned.
        let (s, _) = rows(&sql, usize::MAX);
        let at = sql.find("(50,").unwrap_or_default();
        let len = "(50,'S50','p50@x.com')".len();
        let mut f = Fields::new();
        assert_eq!(
            s.read_record(sql.as_bytes(), 0, at, len, TextEncoding::Utf8, &mut f),
            Ok(())
        );
        assert_eq!(f.get(2), "p50@x.com");
    }

    proptest::proptest! {
        /// One stray quote in any tuple of a long INSERT costs that tuple alone,
        /// whatever the chunk size, and whether a statement follows or not.
        #[test]
        fn a_stray_quote_costs_one_tuple(
            names in proptest::collection::vec("[a-z]{1,8}", 2..60),
            stray in 0usize..60,
            next in proptest::bool::ANY,
            chunk in 1usize..300,
        ) {
            let stray = stray % names.len();
            let mut sql = String::from("INSERT INTO t VALUES ");
            for (i, name) in names.iter().enumerate() {
                let name = if i == stray { format!("{name}'{name}") } else { name.clone() };
                let sep = if i + 1 == names.len() { ";\n" } else { "," };
                sql.push_str(&format!("({i},'{name}'){sep}"));
            }
            if next {
                sql.push_str("INSERT INTO t VALUES (100,'next');\n");
            }
            let (_, whole) = rows(&sql, usize::MAX);
            proptest::prop_assert_eq!(whole.len(), names.len() + usize::from(next));
            for (i, row) in whole.iter().enumerate().take(names.len()) {
                if i == stray {
                    proptest::prop_assert!(row.1.is_err());
                } else {
                    let id = i.to_string();
                    proptest::prop_assert_eq!(&row.1, &Ok(v(&[&[id.as_str()], &[names[i].as_str()]])));
                }
            }
            proptest::prop_assert_eq!(rows(&sql, chunk).1, whole);
        }
    }

    #[test]
    fn tuples_that_cannot_be_read_again_are_each_counted() {
        // The file stops inside a quote: nothing after the broken tuple reads, and
        // each `),(`-separated tuple of the rest is a reject of its own.
        let sql = "INSERT INTO t VALUES (1,'a'),(2,'b'c'),(3,'d'),(4,'e";
        let (_, whole) = rows(sql, usize::MAX);
        let got: Vec<_> = whole.iter().map(|r| r.1.clone().map(|_| ())).collect();
        // `(3,'d')` reads, but the tuple after it does not: no place where tuples
        // read again is certain, so the rest is lost, a tuple at a time.
        let trunc = Err(RejectReason::TruncatedStatement);
        assert_eq!(got, vec![Ok(()), trunc, trunc, trunc]);
        for size in [1, 3, 9, 20] {
            assert_eq!(rows(sql, size).1, whole, "chunk size {size}");
        }
        // Two stray quotes that pair up across a tuple boundary make one tuple of
        // two (a known limit: it closes where a tuple may close).
        let sql = "INSERT INTO t VALUES (1,'a'),(2,'b'c'),(3,'d'e'),(4,'f'g')";
        let (_, whole) = rows(sql, usize::MAX);
        let got: Vec<_> = whole.iter().map(|r| r.1.clone().map(|_| ())).collect();
        assert_eq!(got, vec![Ok(()), Err(RejectReason::BadSqlTuple), trunc]);
        for size in [1, 3, 9, 20] {
            assert_eq!(rows(sql, size).1, whole, "chunk size {size}");
        }
    }

    #[test]
    fn bad_tuples_are_rejected_and_parsing_goes_on() {
        let (_, r) = rows("INSERT INTO t VALUES (1,'a' 'b'),(2,'c');", 1 << 20);
        assert_eq!(r[0].1, Err(RejectReason::BadSqlTuple));
        assert_eq!(r[1].1, Ok(v(&[&["2"], &["c"]])));
    }

    /// The two-pass reading `read_tuple` falls back to, alone.
    fn two_pass(
        data: &[u8],
        ncols: usize,
        backslash: bool,
        max_field: usize,
        fields: &mut Fields,
    ) -> (usize, Result<(), RejectReason>) {
        let layout: Vec<u32> = (0..ncols as u32).collect();
        match tuple_end(data, 0, data.len(), backslash) {
            TupleEnd::Closed(e) => (
                e,
                parse_tuple(&data[..e], &layout, ncols, backslash, max_field, fields),
            ),
            TupleEnd::Broken(e) => (e, Err(RejectReason::TruncatedStatement)),
        }
    }

    fn tuple_pieces() -> impl proptest::strategy::Strategy<Value = Vec<&'static str>> {
        proptest::collection::vec(
            proptest::sample::select(vec![
                "(",
                ")",
                ",",
                ", ",
                " ",
                "'",
                "\"",
                "`",
                "\\",
                ";",
                "a",
                "12",
                "NULL",
                "null",
                "E'",
                "e'\\n'",
                "N'x'",
                "_utf8mb4 'z'",
                "_x",
                "''",
                "'it''s'",
                "'a\\'b'",
                "'x,y'",
                "'(p)'",
                "\"q\"",
                "NOW()",
                "f('a)')",
                "-1.5",
                "\n",
                "`c`",
                "'long value'",
            ]),
            0..24,
        )
    }

    proptest::proptest! {
        #[test]
        fn one_pass_tuples_read_as_two_pass_ones(
            pieces in tuple_pieces(),
            values in proptest::collection::vec(proptest::sample::select(vec![
                "'ab'", "1", "NULL", "'x y'", "'it''s'", "E'\\t'", "NOW()", "'a\\'b'", "''", "\"d\"",
            ]), 0..5),
            backslash in proptest::bool::ANY,
            ncols in 0usize..5,
            max_field in proptest::sample::select(vec![3usize, 1 << 20]),
        ) {
            // Mostly well-formed tuples, then anything after them; or anything at all.
            let text = if values.len() % 2 == 0 {
                format!("({}){}", values.join(", "), pieces.concat())
            } else {
                format!("({}", pieces.concat())
            };
            let data = text.as_bytes();
            let layout: Vec<u32> = (0..ncols as u32).collect();
            let mut a = Fields::new();
            let mut b = Fields::new();
            let one = read_tuple(data, 0, data.len(), &layout, ncols, backslash, max_field, &mut a);
            let two = two_pass(data, ncols, backslash, max_field, &mut b);
            proptest::prop_assert_eq!(one, two, "{:?}", text);
            if one.1.is_ok() {
                a.finish(TextEncoding::Utf8);
                b.finish(TextEncoding::Utf8);
                proptest::prop_assert_eq!(a.to_vecs(), b.to_vecs(), "{:?}", text);
            }
        }
    }

    #[test]
    fn small_chunks_give_the_same_rows() {
        let mut sql = String::from("CREATE TABLE t (a text, b text);\n");
        for i in 0..50 {
            sql.push_str(&format!(
                "INSERT INTO t VALUES ({i},'x;y),(z'),({i},'q');\n"
            ));
        }
        sql.push_str("COPY u (a) FROM stdin;\n");
        for i in 0..100 {
            sql.push_str(&format!("{i}\n"));
        }
        sql.push_str("\\.\n");
        let (_, whole) = rows(&sql, usize::MAX);
        assert_eq!(whole.len(), 200);
        for size in [1, 7, 64, 500] {
            assert_eq!(rows(&sql, size).1, whole, "chunk size {size}");
        }
    }
}
