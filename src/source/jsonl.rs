//! JSON Lines: one object per line, nested keys flattened to dotted paths.
//!
//! The parser is a small strict one of our own, because building a
//! `serde_json::Value` per line would allocate for every node. It hands each
//! scalar leaf to a sink with its path: arrays add no path segment, so every
//! element of `contact.phones` is one more value of that column; `null` is no value.
//! Each value inside an array also carries which element of the outermost array
//! holding it it came from (a packed [`super::fields::place`]), so that the values
//! of `members[0]` and `members[1]` stay apart however many fields each has.

use super::fields::Fields;
use super::{Chunk, Event, PASS_WINDOW, RejectReason, Release, TextEncoding, find2};
use crate::field::FieldKind;
use memchr::memchr;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use xxhash_rust::xxh3::Xxh3DefaultBuilder;

/// Objects nested deeper than this are rejected rather than risking the stack.
pub(super) const MAX_DEPTH: u32 = 128;

/// A JSON Lines file: its columns (dotted paths) and where its lines start.
#[derive(Clone, Debug)]
pub(crate) struct Jsonl {
    pub columns: Vec<String>,
    lookup: HashMap<Vec<u8>, u32, Xxh3DefaultBuilder>,
    data_start: usize,
}

impl Jsonl {
    /// Discover the columns: the union of leaf paths over the valid lines of the
    /// file, in order of first appearance (computed per chunk in parallel, merged in
    /// chunk order, which gives the sequential order).
    /// The chunks are surveyed a window at a time, `release` told where each ends.
    pub fn open(data: &[u8], body_start: usize, chunk_size: usize, release: Release<'_>) -> Jsonl {
        let chunks = plan_lines(data, body_start, chunk_size);
        let per_window = (PASS_WINDOW / chunk_size.max(1))
            .max(rayon::current_num_threads())
            .max(1);
        let mut per_chunk: Vec<Vec<Vec<u8>>> = Vec::with_capacity(chunks.len());
        for window in chunks.chunks(per_window) {
            per_chunk.par_extend(window.par_iter().map(|c| {
                let mut sink = PathSink::default();
                if let Chunk::Range { start, end } = *c {
                    for_each_line(data, start, end, |_, line| {
                        sink.pending.clear();
                        sink.paths.line();
                        if parse_line(line, &mut sink).is_ok() {
                            for p in sink.pending.drain(..) {
                                if sink.seen.insert(p.clone()) {
                                    sink.order.push(p);
                                }
                            }
                            // Every path of a valid line is now seen.
                            sink.paths.keep();
                        }
                    });
                }
                sink.order
            }));
            if let Some(Chunk::Range { end, .. }) = window.last() {
                release(*end);
            }
        }
        let mut seen = HashSet::new();
        let mut columns = Vec::new();
        for path in per_chunk.into_iter().flatten() {
            if seen.insert(path.clone()) {
                columns.push(String::from_utf8_lossy(&path).into_owned());
            }
        }
        Jsonl::from_columns(columns, body_start)
    }

    /// The layout of a file whose columns are already known (an index saved them).
    pub fn from_columns(columns: Vec<String>, data_start: usize) -> Jsonl {
        let mut lookup = HashMap::with_hasher(Xxh3DefaultBuilder::new());
        for (i, c) in columns.iter().enumerate() {
            lookup.entry(c.as_bytes().to_vec()).or_insert(i as u32);
        }
        Jsonl {
            columns,
            lookup,
            data_start,
        }
    }

    /// Where the first line starts (after a BOM).
    pub fn data_start(&self) -> usize {
        self.data_start
    }

    /// Chunks of about `chunk_size` bytes ending at newlines (a JSON string never
    /// holds a raw newline, so every newline ends a record).
    pub fn plan(&self, data: &[u8], chunk_size: usize) -> Vec<Chunk> {
        plan_lines(data, self.data_start, chunk_size)
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
        let Chunk::Range { start, end } = *chunk else {
            return;
        };
        let mut cache = LineCache::default();
        for_each_line(data, start, end, |offset, line| {
            let status = self.parse_cached(line, encoding, max_field, fields, &mut cache);
            emit(match status {
                Ok(()) => Event::Record {
                    dataset: 0,
                    offset,
                    len: line.len(),
                    fields,
                },
                Err(reason) => Event::Reject {
                    dataset: 0,
                    offset,
                    len: line.len(),
                    reason,
                },
            });
        });
    }

    /// The first `n` good records.
    pub fn sample(&self, data: &[u8], n: usize, encoding: TextEncoding) -> Vec<Fields> {
        let mut out = Vec::new();
        let mut fields = Fields::new();
        let mut pos = self.data_start;
        while out.len() < n && pos < data.len() {
            let end = memchr(b'\n', &data[pos..]).map_or(data.len(), |k| pos + k + 1);
            for_each_line(data, pos, end, |_, line| {
                if self
                    .parse_record(line, encoding, usize::MAX, &mut fields)
                    .is_ok()
                {
                    out.push(fields.clone());
                }
            });
            pos = end;
        }
        out
    }

    /// Parse the record at exactly `line`.
    pub fn parse_record(
        &self,
        line: &[u8],
        encoding: TextEncoding,
        max_field: usize,
        fields: &mut Fields,
    ) -> Result<(), RejectReason> {
        self.parse_cached(line, encoding, max_field, fields, &mut LineCache::default())
    }

    /// [`parse_record`](Self::parse_record) with the columns of the last record's
    /// leaves at hand.
    fn parse_cached(
        &self,
        line: &[u8],
        encoding: TextEncoding,
        max_field: usize,
        fields: &mut Fields,
        cache: &mut LineCache,
    ) -> Result<(), RejectReason> {
        if line.len() > super::MAX_RECORD_BYTES {
            return Err(RejectReason::RecordTooLong);
        }
        fields.begin(self.columns.len());
        cache.line();
        let mut sink = ValueSink {
            lookup: &self.lookup,
            cache,
            fields,
            max_field,
            too_long: false,
        };
        let parsed = parse_line(line, &mut sink);
        // Columns do not depend on the line being valid: keep them either way.
        sink.cache.keep();
        parsed?;
        if sink.too_long {
            return Err(RejectReason::FieldTooLong);
        }
        fields.finish(encoding);
        Ok(())
    }
}

/// Chunks from `start`, each ending just after a newline (or at the end).
fn plan_lines(data: &[u8], start: usize, chunk_size: usize) -> Vec<Chunk> {
    let chunk_size = chunk_size.max(1);
    let mut out = Vec::new();
    let mut s = start;
    while s < data.len() {
        let nominal = s.saturating_add(chunk_size).min(data.len());
        let e = match memchr(b'\n', &data[nominal.saturating_sub(1).max(s)..]) {
            Some(k) => nominal.saturating_sub(1).max(s) + k + 1,
            None => data.len(),
        };
        out.push(Chunk::Range { start: s, end: e });
        s = e;
    }
    out
}

/// Call `f(offset, line)` for every non-blank line in `start..end` (without its
/// line ending).
fn for_each_line(data: &[u8], start: usize, end: usize, mut f: impl FnMut(usize, &[u8])) {
    let mut pos = start;
    while pos < end {
        let nl = memchr(b'\n', &data[pos..end]).map_or(end, |k| pos + k);
        let mut line = &data[pos..nl];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        if !line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            f(pos, line);
        }
        pos = nl + 1;
    }
}

/// A scalar as found in the line.
enum Leaf<'a> {
    /// String contents between the quotes, still escaped if `escaped`.
    Str { raw: &'a [u8], escaped: bool },
    /// A number, `true` or `false`, as written.
    Raw(&'a [u8]),
}

trait Sink {
    /// A scalar at `path`; `place` says which array element it is in (0: none).
    fn leaf(&mut self, path: &[u8], leaf: Leaf<'_>, place: u32);
}

/// The leaf paths of the last line (kept), by position, with a value each, and
/// those of the line being read. Lines of one file mostly have the same keys in the
/// same order, so a leaf's path is usually the one at its position in the last
/// line: comparing the bytes costs less than hashing them.
#[derive(Default)]
struct LineCache {
    kept: PathList,
    current: PathList,
}

#[derive(Default)]
struct PathList {
    /// Paths back to back; the i-th ends at `ends[i]`.
    bytes: Vec<u8>,
    ends: Vec<usize>,
    values: Vec<u32>,
}

impl PathList {
    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        self.values.clear();
    }
}

impl LineCache {
    /// Starts a line.
    fn line(&mut self) {
        self.current.clear();
    }

    /// The value kept for the next leaf if its path is `path`.
    fn lookup(&self, path: &[u8]) -> Option<u32> {
        let i = self.current.ends.len();
        let end = *self.kept.ends.get(i)?;
        let start = match i.checked_sub(1) {
            Some(j) => *self.kept.ends.get(j)?,
            None => 0,
        };
        (self.kept.bytes.get(start..end)? == path)
            .then(|| self.kept.values.get(i).copied())
            .flatten()
    }

    /// Notes the next leaf's path and value.
    fn note(&mut self, path: &[u8], value: u32) {
        self.current.bytes.extend_from_slice(path);
        self.current.ends.push(self.current.bytes.len());
        self.current.values.push(value);
    }

    /// Keeps the line just read for the next one.
    fn keep(&mut self) {
        std::mem::swap(&mut self.kept, &mut self.current);
    }
}

/// Collects the paths of one chunk in first-appearance order.
#[derive(Default)]
struct PathSink {
    seen: HashSet<Vec<u8>>,
    order: Vec<Vec<u8>>,
    /// New paths of the current line, kept only if the line is valid.
    pending: Vec<Vec<u8>>,
    /// Paths of the last valid line, all of them in `seen`.
    paths: LineCache,
}

impl Sink for PathSink {
    fn leaf(&mut self, path: &[u8], _leaf: Leaf<'_>, _place: u32) {
        let known = self.paths.lookup(path).is_some();
        self.paths.note(path, 0);
        if !known && !self.seen.contains(path) && !self.pending.iter().any(|p| p == path) {
            self.pending.push(path.to_vec());
        }
    }
}

/// Writes leaf values into a record's fields.
struct ValueSink<'a> {
    lookup: &'a HashMap<Vec<u8>, u32, Xxh3DefaultBuilder>,
    /// Columns of the last record's leaves (`NO_COLUMN` for unknown paths).
    cache: &'a mut LineCache,
    fields: &'a mut Fields,
    max_field: usize,
    too_long: bool,
}

/// A leaf path that is no column.
const NO_COLUMN: u32 = u32::MAX;

impl Sink for ValueSink<'_> {
    fn leaf(&mut self, path: &[u8], leaf: Leaf<'_>, place: u32) {
        let col = match self.cache.lookup(path) {
            Some(col) => col,
            None => self.lookup.get(path).copied().unwrap_or(NO_COLUMN),
        };
        self.cache.note(path, col);
        // A path missing from the columns means the file changed since it was opened.
        if col == NO_COLUMN {
            return;
        }
        let start = self.fields.mark();
        match leaf {
            Leaf::Str {
                raw,
                escaped: false,
            }
            | Leaf::Raw(raw) => self.fields.raw().extend_from_slice(raw),
            Leaf::Str { raw, escaped: true } => unescape(raw, self.fields.raw()),
        }
        if self.fields.mark() - start > self.max_field {
            self.too_long = true;
        }
        self.fields.push_value_at(col as usize, start, place);
    }
}

/// Parse one line: it must be exactly one JSON object.
fn parse_line(line: &[u8], sink: &mut impl Sink) -> Result<(), RejectReason> {
    let mut p = Parser {
        s: line,
        i: 0,
        path: Vec::new(),
        depth: 0,
        outer: None,
    };
    p.ws();
    let is_object = p.peek() == Some(b'{');
    if is_object {
        p.value(sink)?;
    } else {
        // Tell "valid JSON but not an object" apart from garbage.
        p.value(&mut NullSink)?;
    }
    p.ws();
    if p.i != line.len() {
        return Err(RejectReason::InvalidJson);
    }
    if is_object {
        Ok(())
    } else {
        Err(RejectReason::NotAnObject)
    }
}

struct NullSink;

impl Sink for NullSink {
    fn leaf(&mut self, _path: &[u8], _leaf: Leaf<'_>, _place: u32) {}
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    path: Vec<u8>,
    depth: u32,
    /// The outermost array being read: its path's length and the element's index.
    outer: Option<(usize, usize)>,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Where the next leaf sits among arrays ([`super::fields::place`]).
    fn place(&self) -> u32 {
        self.outer
            .map_or(0, |(path, index)| super::fields::place(path, index))
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.peek() {
            self.i += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), RejectReason> {
        if self.peek() == Some(b) {
            self.i += 1;
            Ok(())
        } else {
            Err(RejectReason::InvalidJson)
        }
    }

    fn value(&mut self, sink: &mut impl Sink) -> Result<(), RejectReason> {
        match self.peek().ok_or(RejectReason::InvalidJson)? {
            b'{' => self.object(sink),
            b'[' => self.array(sink),
            b'"' => {
                let (raw, escaped) = self.string()?;
                sink.leaf(&self.path, Leaf::Str { raw, escaped }, self.place());
                Ok(())
            }
            b't' => self.literal(b"true", sink),
            b'f' => self.literal(b"false", sink),
            b'n' => {
                let end = self.i + 4;
                if self.s.get(self.i..end) == Some(b"null") {
                    self.i = end;
                    Ok(())
                } else {
                    Err(RejectReason::InvalidJson)
                }
            }
            b'-' | b'0'..=b'9' => {
                let raw = self.number()?;
                sink.leaf(&self.path, Leaf::Raw(raw), self.place());
                Ok(())
            }
            _ => Err(RejectReason::InvalidJson),
        }
    }

    fn enter(&mut self) -> Result<(), RejectReason> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(RejectReason::JsonTooDeep);
        }
        self.i += 1;
        self.ws();
        Ok(())
    }

    fn object(&mut self, sink: &mut impl Sink) -> Result<(), RejectReason> {
        self.object_typed(sink, None)
    }

    /// An object; with `typed` (a word and a member name), that member's path ends
    /// in the word instead (see [`Parser::value_type`]).
    fn object_typed(
        &mut self,
        sink: &mut impl Sink,
        typed: Option<(&[u8], &[u8])>,
    ) -> Result<(), RejectReason> {
        self.enter()?;
        if self.peek() == Some(b'}') {
            self.i += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(RejectReason::InvalidJson);
            }
            let (key, escaped) = self.string()?;
            let base = self.path.len();
            if base > 0 {
                self.path.push(b'.');
            }
            match typed {
                Some((word, member)) if !escaped && key == member => {
                    self.path.extend_from_slice(word)
                }
                _ if escaped => unescape(key, &mut self.path),
                _ => self.path.extend_from_slice(key),
            }
            self.ws();
            self.expect(b':')?;
            self.ws();
            self.value(sink)?;
            self.path.truncate(base);
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b'}') => {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return Err(RejectReason::InvalidJson),
            }
        }
    }

    fn array(&mut self, sink: &mut impl Sink) -> Result<(), RejectReason> {
        self.enter()?;
        if self.peek() == Some(b']') {
            self.i += 1;
            self.depth -= 1;
            return Ok(());
        }
        // Elements are told apart by the outermost array only: `members[1].phones[0]`
        // is element 1 of `members`.
        let outermost = self.outer.is_none();
        let done = self.elements(sink, outermost);
        if outermost {
            self.outer = None;
        }
        done
    }

    /// The elements of an array whose `[` was read.
    fn elements(&mut self, sink: &mut impl Sink, outermost: bool) -> Result<(), RejectReason> {
        let mut element = 0usize;
        loop {
            if outermost {
                self.outer = Some((self.path.len(), element));
                element += 1;
            }
            // `[{"system": "phone", "value": "07700 900401"}, …]` (FHIR, CRM
            // exports): each value's column is named by its type, `telecom.phone`,
            // so that it is mapped like a phone and not lost as `telecom.value`.
            match self.value_type() {
                Some((word, member)) => self.object_typed(sink, Some((&word, member)))?,
                None => self.value(sink)?,
            }
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b']') => {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return Err(RejectReason::InvalidJson),
            }
        }
    }

    /// For an array element that is an object holding a scalar `value` and a string
    /// saying what kind of value it is (`system`, `type`, `kind`, `channel`,
    /// `medium`, in that order of preference), that kind as a path segment: a short
    /// lower-case word (`phone`, `email`, `home_phone`), with the member it names
    /// (`value`). An `address` or `number` member is such a value too when the kind
    /// names an email or a phone (`{"kind":"email","address":"…"}`): else it is a
    /// postal address or some number, and keeps its name. Read ahead without
    /// consuming anything; `None` for any other element, or one that does not parse
    /// (the real parse then says why).
    fn value_type(&self) -> Option<(Vec<u8>, &'static [u8])> {
        const MEMBERS: [&[u8]; 3] = [b"value", b"address", b"number"];
        const TYPES: [&[u8]; 5] = [b"system", b"type", b"kind", b"channel", b"medium"];
        if self.peek() != Some(b'{') {
            return None;
        }
        let mut ahead = Parser {
            s: self.s,
            i: self.i,
            path: Vec::new(),
            depth: self.depth,
            outer: None,
        };
        ahead.enter().ok()?;
        // The value members present, by their place in MEMBERS.
        let mut has_value = [false; MEMBERS.len()];
        let mut best: Option<(usize, &[u8])> = None;
        while ahead.peek() == Some(b'"') {
            let (key, escaped) = ahead.string().ok()?;
            ahead.ws();
            ahead.expect(b':').ok()?;
            ahead.ws();
            let rank = (!escaped)
                .then(|| TYPES.iter().position(|t| *t == key))
                .flatten();
            match (rank, ahead.peek()) {
                (Some(rank), Some(b'"')) => {
                    let (word, escaped) = ahead.string().ok()?;
                    if !escaped && best.is_none_or(|(r, _)| rank < r) {
                        best = Some((rank, word));
                    }
                }
                _ => {
                    let scalar = matches!(ahead.peek(), Some(b'"' | b'-' | b'0'..=b'9'));
                    if let Some(m) = MEMBERS.iter().position(|m| *m == key)
                        && !escaped
                        && scalar
                        && let Some(present) = has_value.get_mut(m)
                    {
                        *present = true;
                    }
                    ahead.value(&mut NullSink).ok()?;
                }
            }
            ahead.ws();
            match ahead.peek() {
                Some(b',') => {
                    ahead.i += 1;
                    ahead.ws();
                }
                _ => break,
            }
        }
        let (_, word) = best?;
        let word = word.trim_ascii();
        if word.is_empty() || word.len() > 24 {
            return None;
        }
        let mut segment = Vec::with_capacity(word.len());
        for &b in word {
            match b {
                b'a'..=b'z' | b'0'..=b'9' | b'_' => segment.push(b),
                b'A'..=b'Z' => segment.push(b.to_ascii_lowercase()),
                b' ' | b'-' => segment.push(b'_'),
                _ => return None,
            }
        }
        let member = if has_value[0] {
            MEMBERS[0]
        } else {
            let names_contact = std::str::from_utf8(&segment)
                .ok()
                .and_then(super::mapping::kind_from_header)
                .is_some_and(|k| matches!(k, FieldKind::Email | FieldKind::Phone));
            let m = has_value
                .iter()
                .position(|&p| p)
                .filter(|_| names_contact)?;
            MEMBERS.get(m).copied()?
        };
        Some((segment, member))
    }

    /// A string starting at the opening quote: its raw contents and whether they
    /// hold escapes. Escapes are validated here so unescaping cannot fail.
    fn string(&mut self) -> Result<(&'a [u8], bool), RejectReason> {
        let s: &'a [u8] = self.s;
        let start = self.i + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            let k =
                find2(s.get(i..).unwrap_or(&[]), b'"', b'\\').ok_or(RejectReason::InvalidJson)?;
            i += k;
            if s[i] == b'"' {
                self.i = i + 1;
                return Ok((&s[start..i], escaped));
            }
            escaped = true;
            match s.get(i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                Some(b'u') => {
                    let hex = s.get(i + 2..i + 6).ok_or(RejectReason::InvalidJson)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return Err(RejectReason::InvalidJson);
                    }
                    i += 6;
                }
                _ => return Err(RejectReason::InvalidJson),
            }
        }
    }

    fn literal(&mut self, word: &[u8], sink: &mut impl Sink) -> Result<(), RejectReason> {
        let end = self.i + word.len();
        if self.s.get(self.i..end) != Some(word) {
            return Err(RejectReason::InvalidJson);
        }
        sink.leaf(&self.path, Leaf::Raw(word), self.place());
        self.i = end;
        Ok(())
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<&'a [u8], RejectReason> {
        let s: &'a [u8] = self.s;
        let start = self.i;
        let mut i = start;
        let digits = |i: &mut usize| {
            let from = *i;
            while s.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i - from
        };
        if s.get(i) == Some(&b'-') {
            i += 1;
        }
        match s.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                digits(&mut i);
            }
            _ => return Err(RejectReason::InvalidJson),
        }
        if s.get(i) == Some(&b'.') {
            i += 1;
            if digits(&mut i) == 0 {
                return Err(RejectReason::InvalidJson);
            }
        }
        if let Some(b'e' | b'E') = s.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = s.get(i) {
                i += 1;
            }
            if digits(&mut i) == 0 {
                return Err(RejectReason::InvalidJson);
            }
        }
        self.i = i;
        Ok(&s[start..i])
    }
}

/// Append the unescaped form of validated string contents to `out`.
fn unescape(raw: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        let Some(k) = memchr(b'\\', &raw[i..]) else {
            out.extend_from_slice(&raw[i..]);
            return;
        };
        out.extend_from_slice(&raw[i..i + k]);
        i += k;
        let Some(&e) = raw.get(i + 1) else { return };
        i += 2;
        let c = match e {
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(raw, i);
                i += 4;
                let code = if (0xD800..0xDC00).contains(&hi)
                    && raw.get(i) == Some(&b'\\')
                    && raw.get(i + 1) == Some(&b'u')
                    && (0xDC00..0xE000).contains(&hex4(raw, i + 2))
                {
                    let lo = hex4(raw, i + 2);
                    i += 6;
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else {
                    hi
                };
                char::from_u32(code).unwrap_or('\u{FFFD}')
            }
            other => other as char,
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
}

fn hex4(raw: &[u8], i: usize) -> u32 {
    raw.get(i..i + 4)
        .and_then(|h| std::str::from_utf8(h).ok())
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .unwrap_or(0xFFFD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::keep_pages;

    /// Lines whose keys come in changing orders, with unknown, repeated and array
    /// paths, invalid lines and blank ones.
    fn shuffled_lines() -> impl proptest::strategy::Strategy<Value = Vec<String>> {
        let line = proptest::sample::select(vec![
            r#"{"a":1,"b":{"c":"x","d":[1,2]},"e":null}"#,
            r#"{"b":{"d":[3],"c":"y"},"a":2}"#,
            r#"{"a":3,"f":"new","b":{"c":"z"}}"#,
            r#"{"a":4,"b":{"c":"w"},"g":{"h":"i"}"#,
            r#"{"a":"unterminated}"#,
            r#"[1,2]"#,
            r#"{"e":"only","a":5}"#,
            r#"{"b":{"c":"q","c":"r"},"a":6}"#,
            "",
            r#"{"aA":"esc","a":7}"#,
        ]);
        proptest::collection::vec(
            proptest::strategy::Strategy::prop_map(line, str::to_string),
            0..30,
        )
    }

    proptest::proptest! {
        #[test]
        fn remembered_paths_change_nothing(lines in shuffled_lines(), chunk in 1usize..200) {
            let text = lines.join("\n") + "\n";
            let data = text.as_bytes();
            let j = Jsonl::open(data, 0, chunk, &keep_pages);
            // Columns: as found line by line with nothing remembered.
            let mut order: Vec<Vec<u8>> = Vec::new();
            for l in &lines {
                let mut sink = PathSink::default();
                if parse_line(l.as_bytes(), &mut sink).is_ok() {
                    for p in sink.pending {
                        if !order.contains(&p) {
                            order.push(p);
                        }
                    }
                }
            }
            let expected: Vec<String> =
                order.iter().map(|p| String::from_utf8_lossy(p).into_owned()).collect();
            proptest::prop_assert_eq!(&j.columns, &expected);
            // Values: a chunk's records as each line parsed alone.
            let mut fields = Fields::new();
            let mut got = Vec::new();
            for c in j.plan(data, chunk) {
                j.parse_chunk(data, &c, TextEncoding::Utf8, usize::MAX, &mut fields, &mut |e| {
                    got.push(match e {
                        Event::Record { fields, .. } => Ok(fields.to_vecs()),
                        Event::Reject { reason, .. } => Err(reason),
                        Event::ShortRow { .. } => return,
                    });
                });
            }
            let alone: Vec<_> = lines
                .iter()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    let mut f = Fields::new();
                    j.parse_record(l.as_bytes(), TextEncoding::Utf8, usize::MAX, &mut f)
                        .map(|()| f.to_vecs())
                })
                .collect();
            proptest::prop_assert_eq!(got, alone);
        }
    }

    fn leaves(line: &str) -> Result<Vec<(String, String)>, RejectReason> {
        struct Collect(Vec<(String, String)>);
        impl Sink for Collect {
            fn leaf(&mut self, path: &[u8], leaf: Leaf<'_>, _place: u32) {
                let mut v = Vec::new();
                match leaf {
                    Leaf::Str { raw, escaped: true } => unescape(raw, &mut v),
                    Leaf::Str { raw, .. } | Leaf::Raw(raw) => v.extend_from_slice(raw),
                }
                self.0.push((
                    String::from_utf8_lossy(path).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                ));
            }
        }
        let mut c = Collect(Vec::new());
        parse_line(line.as_bytes(), &mut c).map(|()| c.0)
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn nested_objects_become_dotted_paths() {
        assert_eq!(
            leaves(
                r#"{"id": 7, "claimant": {"name": {"first": "Zo\u00eb"}, "ok": true}, "x": null}"#
            ),
            Ok(pairs(&[
                ("id", "7"),
                ("claimant.name.first", "Zoë"),
                ("claimant.ok", "true")
            ]))
        );
    }

    #[test]
    fn typed_values_in_arrays_are_named_by_their_type() {
        let line = r#"{"telecom":[{"system":"phone","value":"07700 900401","use":"mobile"},{"value":"a@b.com","system":"Email"},{"type":"Home Phone","system":"x y!","value":2079460000}],"ids":[{"system":"nhs","value":{"v":1}}]}"#;
        assert_eq!(
            leaves(line).unwrap(),
            pairs(&[
                ("telecom.system", "phone"),
                ("telecom.phone", "07700 900401"),
                ("telecom.use", "mobile"),
                ("telecom.email", "a@b.com"),
                ("telecom.system", "Email"),
                // `system` is preferred, but says nothing a column can be named by.
                ("telecom.type", "Home Phone"),
                ("telecom.system", "x y!"),
                ("telecom.value", "2079460000"),
                // A `value` that is no scalar keeps its path.
                ("ids.system", "nhs"),
                ("ids.value.v", "1"),
            ])
        );
        // Outside an array, or without a type, `value` is a plain key.
        assert_eq!(
            leaves(r#"{"a":{"system":"phone","value":"1"},"b":[{"value":"2"}]}"#).unwrap(),
            pairs(&[("a.system", "phone"), ("a.value", "1"), ("b.value", "2")])
        );
        // Broken elements are still rejected by the real parse.
        assert_eq!(
            leaves(r#"{"t":[{"system":"phone","value":"1",}]}"#),
            Err(RejectReason::InvalidJson)
        );
        // An email's `address`, a phone's `number`: named by their kind. A postal
        // `address` (its kind names no email or phone) keeps its name.
        assert_eq!(
            leaves(
                r#"{"c":[{"kind":"email","address":"cy@cole.com"},{"kind":"Mobile","number":"07700 900403"},{"type":"home","address":"12 High St"},{"system":"sms","value":"1"}]}"#
            )
            .unwrap(),
            pairs(&[
                ("c.kind", "email"),
                ("c.email", "cy@cole.com"),
                ("c.kind", "Mobile"),
                ("c.mobile", "07700 900403"),
                ("c.type", "home"),
                ("c.address", "12 High St"),
                ("c.system", "sms"),
                ("c.sms", "1"),
            ])
        );
    }

    #[test]
    fn arrays_give_several_values_for_one_path() {
        assert_eq!(
            leaves(
                r#"{"contact": {"phones": ["0791", "0208"]}, "a": [{"b": 1}, {"b": 2}], "e": []}"#
            ),
            Ok(pairs(&[
                ("contact.phones", "0791"),
                ("contact.phones", "0208"),
                ("a.b", "1"),
                ("a.b", "2")
            ]))
        );
    }

    #[test]
    fn values_say_which_element_of_the_outermost_array_they_are_in() {
        let line = r#"{"claim":"C1","members":[{"name":"Ann","dob":"1950","phones":["1","2"]},{"dob":"1982"},{"name":"Cy","tel":[{"system":"phone","value":"3"}]}],"tags":["t"],"household":{"members":[{"name":"Di"}]}}"#;
        let j = Jsonl::open(line.as_bytes(), 0, 1 << 20, &keep_pages);
        let mut f = Fields::new();
        j.parse_record(line.as_bytes(), TextEncoding::Utf8, usize::MAX, &mut f)
            .unwrap();
        let col = |name: &str| j.columns.iter().position(|c| c == name).unwrap();
        let of = |name: &str| -> Vec<(String, Option<(u32, u32)>)> {
            f.elements(col(name))
                .map(|(v, e)| (v.to_string(), e.map(|e| (e.array, e.index))))
                .collect()
        };
        let at = |v: &str, a: u32, i: u32| (v.to_string(), Some((a, i)));
        assert_eq!(of("claim"), [("C1".to_string(), None)]);
        // `members` is 7 bytes long: each value names its element, whatever the
        // elements before it lacked.
        assert_eq!(of("members.name"), [at("Ann", 7, 0), at("Cy", 7, 2)]);
        assert_eq!(of("members.dob"), [at("1950", 7, 0), at("1982", 7, 1)]);
        // An array inside an element is that element's.
        assert_eq!(of("members.phones"), [at("1", 7, 0), at("2", 7, 0)]);
        assert_eq!(of("members.tel.phone"), [at("3", 7, 2)]);
        assert_eq!(of("tags"), [at("t", 4, 0)]);
        assert_eq!(of("household.members.name"), [at("Di", 17, 0)]);
    }

    #[test]
    fn escapes_and_surrogates() {
        assert_eq!(
            leaves(r#"{"s": "a\"b\\c\/d\n\ud83d\ude00\u0041"}"#),
            Ok(pairs(&[("s", "a\"b\\c/d\n😀A")]))
        );
    }

    #[test]
    fn invalid_lines_are_told_apart() {
        for bad in [
            "{\"a\": 1",
            "{\"a\" 1}",
            "{\"a\": 01}",
            "{\"a\": 1.}",
            "{\"a\": tru}",
            "{\"a\": \"x\\q\"}",
            "{\"a\": 1} x",
            "{a: 1}",
            "{\"a\": 1,}",
        ] {
            assert_eq!(leaves(bad), Err(RejectReason::InvalidJson), "{bad}");
        }
        assert_eq!(leaves("[1, 2]"), Err(RejectReason::NotAnObject));
        assert_eq!(leaves("\"x\""), Err(RejectReason::NotAnObject));
    }

    #[test]
    fn lines_nested_too_deep_say_so() {
        let nested = |n: usize| "{\"a\":".repeat(n) + "1" + &"}".repeat(n);
        let path = |n: usize| vec!["a"; n].join(".");
        for n in [100, MAX_DEPTH as usize] {
            assert_eq!(leaves(&nested(n)), Ok(pairs(&[(&path(n), "1")])), "{n}");
        }
        for n in [MAX_DEPTH as usize + 1, 200, 100_000] {
            assert_eq!(leaves(&nested(n)), Err(RejectReason::JsonTooDeep), "{n}");
        }
        // Arrays count too, inside an object or as the whole line.
        let arrays = "{\"a\":".to_string() + &"[".repeat(200) + &"]".repeat(200) + "}";
        assert_eq!(leaves(&arrays), Err(RejectReason::JsonTooDeep));
        let bare = "[".repeat(100_000) + &"]".repeat(100_000);
        assert_eq!(leaves(&bare), Err(RejectReason::JsonTooDeep));
        assert_eq!(
            RejectReason::JsonTooDeep.to_string(),
            "JSON nested too deep (over 128 levels)"
        );
    }

    #[test]
    fn columns_are_first_appearance_order_whatever_the_chunking() {
        let data =
            b"{\"b\":1}\n{\"a\":1,\"b\":2}\nnot json {\"z\":1}\n{\"c\":{\"d\":[1]}}\n{\"a\":3}\n";
        let whole = Jsonl::open(data, 0, usize::MAX, &keep_pages).columns;
        assert_eq!(whole, ["b", "a", "c.d"]);
        for size in 1..data.len() {
            assert_eq!(Jsonl::open(data, 0, size, &keep_pages).columns, whole);
        }
    }
}
