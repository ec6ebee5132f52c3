//! Delimited text (CSV, TSV, PSV, `;`): delimiter sniffing, the header, splitting
//! a file into chunks on true record boundaries, and the record parser.
//!
//! Quoting follows RFC 4180 as the `csv` crate reads it: a field is quoted only
//! when its first byte is `"`; inside, `""` is a quote; bytes after the closing
//! quote up to the delimiter are kept; a `"` inside an unquoted field is literal.
//!
//! Splitting in parallel needs to know whether a byte lies inside a quoted field.
//! That state changes only at `"` bytes, and which way depends only on the bytes
//! next to each quote, so a block can be run from both possible start states by
//! jumping from quote to quote (memchr); chaining the blocks' results gives the
//! true state at every block start, hence chunk starts that the sequential parser
//! would also see as record starts.

use super::fields::Fields;
use super::mapping::{Shape, kind_from_header, value_shape};
use super::{Chunk, Event, PASS_WINDOW, RejectReason, Release, TextEncoding};
use crate::normalize::name::is_known_given;
use memchr::{memchr, memchr_iter, memchr2};
use rayon::prelude::*;

/// The quote byte.
const QUOTE: u8 = b'"';

/// How a delimited file is laid out.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Delimited {
    pub delimiter: u8,
    pub columns: Vec<String>,
    /// First byte of the first data record (after BOM and header).
    pub data_start: usize,
    /// Blank lines are rows of empty values ([`super::ReadOptions::blank_rows`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub blank_rows: bool,
    /// Where the file's trailing run of line breaks starts: blank lines from there
    /// on are not rows.
    #[serde(skip)]
    pub blank_tail: usize,
    /// Lines above the header that were skipped as a title (a preamble such as
    /// `Council Tax Accounts Export`, `Generated 01/04/2014`, a blank line).
    #[serde(skip)]
    pub title_lines: usize,
}

/// One record as the parser found it.
struct Parsed {
    offset: usize,
    len: usize,
    next: usize,
    status: Result<(), RejectReason>,
    /// Fewer fields than the header, read with the trailing ones empty.
    short: bool,
}

impl Delimited {
    /// Read the header (or decide there is none) and sniff the delimiter.
    /// `body_start` is where the text starts (after a BOM).
    pub fn open(data: &[u8], body_start: usize, extension: &str, encoding: TextEncoding) -> Self {
        let sniffed = sniff_delimiter(data, body_start, extension);
        // Title lines above the header: the header is where the table starts.
        let (start, delimiter, title_lines) =
            match find_preamble(data, body_start, sniffed, extension, encoding) {
                Some((header, d)) => (header, d, line_count(data, body_start, header)),
                None => (body_start, sniffed, 0),
            };
        let mut fields = Fields::new();
        let Some(header) = parse_raw(data, start, data.len(), delimiter, usize::MAX, &mut fields)
        else {
            return Delimited {
                delimiter,
                columns: Vec::new(),
                data_start: data.len(),
                blank_rows: false,
                blank_tail: data.len(),
                title_lines,
            };
        };
        fields.set_columns(fields.value_count());
        fields.finish(encoding);
        let values = trimmed(&fields);
        let below = rows_below(data, header.next, delimiter, encoding, &mut fields);
        if !is_header(&values, &below) {
            return Delimited {
                delimiter,
                columns: (1..=values.len()).map(|i| format!("column_{i}")).collect(),
                data_start: header.offset,
                blank_rows: false,
                blank_tail: data.len(),
                title_lines,
            };
        }
        let columns = values
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                if v.is_empty() {
                    format!("column_{}", i + 1)
                } else {
                    v
                }
            })
            .collect();
        Delimited {
            delimiter,
            columns,
            data_start: header.next,
            blank_rows: false,
            blank_tail: data.len(),
            title_lines,
        }
    }

    /// Chunks of about `chunk_size` bytes starting on true record boundaries.
    /// `release` is told how far the quote-parity scan has gone.
    pub fn plan(&self, data: &[u8], chunk_size: usize, release: Release<'_>) -> Vec<Chunk> {
        plan(data, self.data_start, self.delimiter, chunk_size, release)
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
        match *chunk {
            Chunk::Range { start, end } => {
                let mut pos = start;
                while let Some(p) = self.parse_one(data, pos, end, encoding, max_field, fields) {
                    pos = p.next;
                    if p.status.is_err() && spans_lines(data, &p) {
                        self.reparse_lines(data, &p, encoding, max_field, fields, emit);
                    } else {
                        p.emit(fields, emit);
                    }
                }
            }
            Chunk::Reject { start, end, reason } => emit(Event::Reject {
                dataset: 0,
                offset: start,
                len: end - start,
                reason,
            }),
            Chunk::Sql { .. } => {}
        }
    }

    /// A record spanning lines that came out malformed (wrong field count, too long)
    /// is most often a stray `"` at the start of a value, paired with another one
    /// rows later: read that way, the rows in between are one record and lost. They
    /// are read again a line at a time instead, each line its own record or reject,
    /// so that only the lines holding the stray quotes are rejected. Every line lies
    /// inside the record, hence inside its chunk: splitting stays deterministic, and
    /// [`Delimited::read_record`] reads each line back alone exactly as here.
    fn reparse_lines(
        &self,
        data: &[u8],
        whole: &Parsed,
        encoding: TextEncoding,
        max_field: usize,
        fields: &mut Fields,
        emit: &mut dyn FnMut(Event<'_>),
    ) {
        let end = whole.offset + whole.len;
        let mut pos = whole.offset;
        while pos < end {
            let stop = line_stop(data, pos, end);
            if let Some(mut p) = self.parse_one(data, pos, stop, encoding, max_field, fields) {
                // A short line holding a quote is a piece of the broken record (the
                // stray quote's line, or the tail of a value), not a row of its own.
                let line = data.get(p.offset..p.offset + p.len).unwrap_or_default();
                if p.short && memchr(QUOTE, line).is_some() {
                    p.short = false;
                    p.status = Err(RejectReason::FieldCount);
                }
                p.emit(fields, emit);
            }
            // Past the line break (a `\r\n` is skipped by the next parse).
            pos = stop + 1;
        }
    }

    /// Makes blank lines rows of empty values, except those ending the file.
    pub fn count_blank_rows(&mut self, data: &[u8]) {
        self.blank_rows = true;
        let tail = data
            .iter()
            .rev()
            .take_while(|b| matches!(b, b'\n' | b'\r'))
            .count();
        self.blank_tail = data.len() - tail;
    }

    /// The blank line at `pos` as a row of empty values, unless only blank lines
    /// remain in the file (a file's trailing newlines are not rows).
    fn blank_row(
        &self,
        data: &[u8],
        pos: usize,
        encoding: TextEncoding,
        fields: &mut Fields,
    ) -> Option<Parsed> {
        if pos >= self.blank_tail {
            return None;
        }
        let rest = data.get(pos..).unwrap_or_default();
        let next = if rest.starts_with(b"\r\n") {
            pos + 2
        } else {
            pos + 1
        };
        fields.begin(0);
        let at = fields.mark();
        for col in 0..self.columns.len() {
            fields.push_span(col, at, at);
        }
        fields.set_columns(self.columns.len());
        fields.finish(encoding);
        Some(Parsed {
            offset: pos,
            len: 0,
            next,
            status: Ok(()),
            short: false,
        })
    }

    /// Parse the record at exactly `offset..offset + len`.
    pub fn read_record(
        &self,
        data: &[u8],
        offset: usize,
        len: usize,
        encoding: TextEncoding,
        fields: &mut Fields,
    ) -> Result<(), RejectReason> {
        let end = offset + len;
        // The bytes must be a whole record: nothing of it before or after.
        let starts = offset == self.data_start
            || offset
                .checked_sub(1)
                .and_then(|i| data.get(i))
                .is_some_and(|b| matches!(b, b'\n' | b'\r'));
        let ends = matches!(data.get(end), None | Some(b'\n' | b'\r'));
        if !starts || !ends {
            return Err(RejectReason::FieldCount);
        }
        match self.parse_one(data, offset, end, encoding, usize::MAX, fields) {
            Some(p) if p.offset == offset && p.len == len => p.status,
            _ => Err(RejectReason::FieldCount),
        }
    }

    /// The first `n` good records, read sequentially from the start.
    pub fn sample(&self, data: &[u8], n: usize, encoding: TextEncoding) -> Vec<Fields> {
        let mut out = Vec::new();
        let mut fields = Fields::new();
        let mut pos = self.data_start;
        while out.len() < n {
            let Some(p) = self.parse_one(data, pos, data.len(), encoding, usize::MAX, &mut fields)
            else {
                break;
            };
            if p.status.is_ok() {
                out.push(fields.clone());
            }
            pos = p.next;
        }
        out
    }

    fn parse_one(
        &self,
        data: &[u8],
        pos: usize,
        end: usize,
        encoding: TextEncoding,
        max_field: usize,
        fields: &mut Fields,
    ) -> Option<Parsed> {
        if self.blank_rows && pos < end && matches!(data.get(pos), Some(b'\n' | b'\r')) {
            return self.blank_row(data, pos, encoding, fields);
        }
        let mut p = parse_raw(data, pos, end, self.delimiter, max_field, fields)?;
        if p.status.is_ok() {
            let n = fields.value_count();
            let want = self.columns.len();
            if n > want && (want..n).all(|i| fields.value_len(i) == 0) {
                // A trailing delimiter: common in hand-made exports, and loses nothing.
                fields.truncate_values(want);
            } else if n < want && (n >= 2 || want <= 2) && !spans_lines(data, &p) {
                // Trailing fields left off (`Ben,Bolt,02/02/1971,ben@bolt.com` under
                // six columns): read with them empty, as most CSV tools do. A lone
                // value under a wider header (a footer such as `Total: 3`) and a
                // short record spanning lines (stray quotes pairing up) are not.
                p.short = true;
            } else if n != want {
                p.status = Err(RejectReason::FieldCount);
            }
        }
        if p.status.is_ok() {
            fields.set_columns(self.columns.len());
            fields.finish(encoding);
        }
        Some(p)
    }
}

/// Parse one record starting at `pos` (skipping blank lines) into `fields`, without
/// checking its field count. `None` when only blank lines remain before `end`.
///
/// Unquoted fields are found with memchr over the line (the delimiters, then the line
/// end) and are not copied one by one: the bytes between quoted fields are copied
/// into `fields` in one piece, delimiters included, and each value is a span of them.
fn parse_raw(
    data: &[u8],
    mut pos: usize,
    end: usize,
    delim: u8,
    max_field: usize,
    fields: &mut Fields,
) -> Option<Parsed> {
    let end = end.min(data.len());
    while pos < end && matches!(data.get(pos), Some(b'\n' | b'\r')) {
        pos += 1;
    }
    if pos >= end {
        return None;
    }
    fields.begin(0);
    let offset = pos;
    let mut i = pos;
    let mut status = Ok(());
    let mut col = 0usize;
    // Source bytes from `window` on are not copied yet; they will land at `base`.
    let mut window = pos;
    let mut base = fields.mark();
    // Where the line (hence every unquoted field) stops, and the delimiters before it.
    let mut stop = line_stop(data, i, end);
    let mut delims = memchr_iter(delim, data.get(i..stop).unwrap_or_default());
    let mut delims_from = i;
    let rec_end;
    let next;
    loop {
        if data.get(i) == Some(&QUOTE) {
            fields
                .raw()
                .extend_from_slice(data.get(window..i).unwrap_or_default());
            let start = fields.mark();
            i += 1;
            let mut closed = false;
            while let Some(k) = memchr(QUOTE, data.get(i..end).unwrap_or_default()) {
                fields
                    .raw()
                    .extend_from_slice(data.get(i..i + k).unwrap_or_default());
                i += k + 1;
                if i < end && data.get(i) == Some(&QUOTE) {
                    fields.raw().push(QUOTE);
                    i += 1;
                } else {
                    closed = true;
                    break;
                }
            }
            if !closed {
                fields
                    .raw()
                    .extend_from_slice(data.get(i..end).unwrap_or_default());
                i = end;
                status = Err(RejectReason::UnterminatedQuote);
            }
            // Text after the closing quote belongs to the field, as in the csv crate.
            let s = i;
            while i < end && !data.get(i).is_some_and(|&b| is_special(b, delim)) {
                i += 1;
            }
            fields
                .raw()
                .extend_from_slice(data.get(s..i).unwrap_or_default());
            fields.push_value(col, start);
            if fields.mark() - start > max_field && status.is_ok() {
                status = Err(RejectReason::FieldTooLong);
            }
            window = i;
            base = fields.mark();
            if i > stop {
                stop = line_stop(data, i, end);
            }
            delims = memchr_iter(delim, data.get(i..stop).unwrap_or_default());
            delims_from = i;
        } else {
            // After a quoted field the delimiters are found again from its end, which
            // may be the delimiter already stepped over.
            let e = loop {
                match delims.next() {
                    Some(k) if delims_from + k < i => {}
                    Some(k) => break delims_from + k,
                    None => break stop,
                }
            };
            fields.push_span(col, base + (i - window), base + (e - window));
            if e - i > max_field && status.is_ok() {
                status = Err(RejectReason::FieldTooLong);
            }
            i = e;
        }
        col += 1;
        if i >= end {
            rec_end = end;
            next = end;
            break;
        }
        let b = data.get(i).copied().unwrap_or(b'\n');
        if b == delim {
            i += 1;
            if i >= end {
                // A delimiter at the very end: one more, empty, field.
                let at = base + (i - window);
                fields.push_span(col, at, at);
                rec_end = end;
                next = end;
                break;
            }
            continue;
        }
        rec_end = i;
        next = if b == b'\r' && data.get(i + 1) == Some(&b'\n') && i + 1 < end {
            i + 2
        } else {
            i + 1
        };
        break;
    }
    fields
        .raw()
        .extend_from_slice(data.get(window..rec_end).unwrap_or_default());
    let len = rec_end - offset;
    if len > super::MAX_RECORD_BYTES && status.is_ok() {
        status = Err(RejectReason::RecordTooLong);
    }
    Some(Parsed {
        offset,
        len,
        next,
        status,
        short: false,
    })
}

/// Whether a parsed record holds a line break (inside a quoted value).
fn spans_lines(data: &[u8], p: &Parsed) -> bool {
    memchr2(
        b'\n',
        b'\r',
        data.get(p.offset..p.offset + p.len).unwrap_or_default(),
    )
    .is_some()
}

impl Parsed {
    /// Report this record: a short row is said first, then the record or reject.
    fn emit(&self, fields: &Fields, emit: &mut dyn FnMut(Event<'_>)) {
        if self.short && self.status.is_ok() {
            emit(Event::ShortRow { dataset: 0 });
        }
        emit(self.event(fields));
    }

    /// The event for this record, its values in `fields` when it is good.
    fn event<'a>(&self, fields: &'a Fields) -> Event<'a> {
        match self.status {
            Ok(()) => Event::Record {
                dataset: 0,
                offset: self.offset,
                len: self.len,
                fields,
            },
            Err(reason) => Event::Reject {
                dataset: 0,
                offset: self.offset,
                len: self.len,
                reason,
            },
        }
    }
}

/// The first line break at or after `from`, or `end`.
fn line_stop(data: &[u8], from: usize, end: usize) -> usize {
    memchr2(b'\n', b'\r', data.get(from..end).unwrap_or_default()).map_or(end, |k| from + k)
}

#[inline(always)]
fn is_special(b: u8, delim: u8) -> bool {
    b == delim || b == b'\n' || b == b'\r'
}

/// A parsed record's values, trimmed.
fn trimmed(fields: &Fields) -> Vec<String> {
    (0..fields.len())
        .map(|i| fields.get(i).trim().to_string())
        .collect()
}

/// The first rows after `start` (at most 20, within 64 KB), trimmed: what a
/// would-be header is compared with.
fn rows_below(
    data: &[u8],
    start: usize,
    delimiter: u8,
    encoding: TextEncoding,
    fields: &mut Fields,
) -> Vec<Vec<String>> {
    const SAMPLE: usize = 64 * 1024;
    const ROWS: usize = 20;
    let end = data.len().min(start.saturating_add(SAMPLE));
    let mut rows = Vec::new();
    let mut pos = start;
    while rows.len() < ROWS {
        let Some(p) = parse_raw(data, pos, end, delimiter, usize::MAX, fields) else {
            break;
        };
        if p.next >= end && end < data.len() {
            break; // possibly cut by the sample's end
        }
        fields.set_columns(fields.value_count());
        fields.finish(encoding);
        rows.push(trimmed(fields));
        pos = p.next;
    }
    rows
}

/// Does the first row name the columns? Its cells must read as column names:
/// most hold a letter, and none has the shape of the values its column holds
/// below (an email, a date, a postcode, a number), unless more cells are known
/// header names than are shaped like their column's values. Digits inside a
/// name (`balance_2019`, `ref 123`) say nothing either way. A cell shaped like
/// a value, with nothing below to compare it with, counts as a value; an email
/// is never a column name.
fn is_header(first: &[String], below: &[Vec<String>]) -> bool {
    let mut filled = 0;
    let mut wordy = 0;
    let mut named = 0;
    let mut values = 0;
    // Cells that are given names over a column of given names (`Jane` above `John`,
    // `Mary`): a headerless file of names, whose first person must not be read as
    // column names.
    let mut given = 0;
    for (i, cell) in first.iter().enumerate() {
        if cell.is_empty() {
            continue;
        }
        filled += 1;
        if cell.chars().any(char::is_alphabetic) {
            wordy += 1;
        }
        let column: Vec<&str> = below
            .iter()
            .filter_map(|row| row.get(i).map(String::as_str))
            .filter(|v| !v.is_empty())
            .collect();
        let Some(shape) = value_shape(cell) else {
            if kind_from_header(cell).is_some() {
                named += 1;
            } else if (is_known_given(cell)
                && column.iter().filter(|v| is_known_given(v)).count() * 2 >= column.len()
                || is_full_name(cell)
                    && column.iter().filter(|v| is_full_name(v)).count() * 2 >= column.len())
                && !column.is_empty()
            {
                given += 1;
            }
            continue;
        };
        if shape == Shape::Email {
            return false;
        }
        let alike = column
            .iter()
            .filter(|v| value_shape(v) == Some(shape))
            .count();
        if alike * 2 >= column.len() {
            values += 1;
        }
    }
    if filled == 0 {
        // A blank first row: taken as a header of unnamed columns.
        return true;
    }
    // Even beside a cell that reads as a header (`Rose,Town`, `April,Date`): a
    // header naming a column after a given name over given names is unheard of.
    if given > 0 {
        return false;
    }
    if values == 0 {
        wordy * 2 > filled
    } else {
        named > values
    }
}

/// A cell that reads as a person's full name: two to four words of letters (and
/// `-`, `'`), the first a given name leakscope knows (`Rose Fisher`). Over a column
/// of such names it is a first row of data, not a header.
fn is_full_name(cell: &str) -> bool {
    let mut words = cell.split_whitespace();
    let Some(first) = words.next() else {
        return false;
    };
    let rest = words.count();
    (1..=3).contains(&rest)
        && cell.split_whitespace().all(|w| {
            w.chars()
                .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
        })
        && is_common_given(first)
}

/// A given name of the nickname table or of the common given names `gen` draws
/// from (a few hundred, written for leakscope): enough to tell a list of people
/// from a row of column names.
fn is_common_given(word: &str) -> bool {
    static NAMES: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let t = crate::synth::tables::tables();
        t.female
            .items()
            .iter()
            .chain(t.male.items())
            .map(|n| n.to_lowercase())
            .collect()
    });
    is_known_given(word) || names.contains(&word.to_lowercase())
}

/// Pick the delimiter among `,` tab `|` `;` that splits the first lines most
/// consistently into the most fields; the extension breaks ties.
fn sniff_delimiter(data: &[u8], start: usize, extension: &str) -> u8 {
    const SAMPLE: usize = 64 * 1024;
    const LINES: usize = 50;
    let preferred = match extension {
        "tsv" | "tab" => b'\t',
        "psv" => b'|',
        _ => b',',
    };
    let end = data.len().min(start + SAMPLE);
    let whole = end == data.len();
    let mut best: Option<(u8, (usize, usize, usize, bool))> = None;
    let mut fields = Fields::new();
    for &d in b",\t|;" {
        let mut counts = Vec::new();
        let mut pos = start;
        while counts.len() < LINES {
            let Some(p) = parse_raw(data, pos, end, d, usize::MAX, &mut fields) else {
                break;
            };
            if p.next >= end && !whole {
                break; // possibly cut by the sample's end
            }
            counts.push(fields.value_count());
            pos = p.next;
        }
        let Some(&first) = counts.first() else {
            continue;
        };
        if first < 2 {
            continue;
        }
        let agree = counts.iter().filter(|&&c| c == first).count();
        // Consistency first (as a share of lines, in per mille), then field count.
        let score = (
            agree * 1000 / counts.len(),
            first,
            usize::from(d == preferred),
            d == preferred,
        );
        if best.as_ref().is_none_or(|(_, s)| score > *s) {
            best = Some((d, score));
        }
    }
    best.map_or(preferred, |(d, _)| d)
}

/// Lines above the header a title may take (`Council Tax Accounts Export`,
/// `Generated 01/04/2014 by CTAX v3`, a blank line).
const MAX_TITLE_LINES: usize = 10;

/// Where the header starts when title lines sit above it, and the delimiter of the
/// table below them; `None` when the first row starts the table.
///
/// The table's width is the most common field count of the first rows. The header
/// is the first row of that width with more than half its cells filled; the rows
/// above it (at most [`MAX_TITLE_LINES`]) must read as titles (at most one cell
/// filled, or fewer fields than the table and at most half of them filled), most
/// rows below it must have its width, it must read as a header ([`is_header`]) and
/// the delimiter sniffed from it on must be the same. The sniffed delimiter is
/// tried first; when the table starts on its first row, there is no preamble.
fn find_preamble(
    data: &[u8],
    start: usize,
    sniffed: u8,
    extension: &str,
    encoding: TextEncoding,
) -> Option<(usize, u8)> {
    const SAMPLE: usize = 64 * 1024;
    const ROWS: usize = 50;
    let end = data.len().min(start.saturating_add(SAMPLE));
    let whole = end == data.len();
    let mut fields = Fields::new();
    let others = b",\t|;".iter().copied().filter(|&d| d != sniffed);
    for d in std::iter::once(sniffed).chain(others) {
        // (offset, next, fields, cells filled) of each row.
        let mut rows: Vec<(usize, usize, usize, usize)> = Vec::new();
        let mut pos = start;
        while rows.len() < ROWS {
            let Some(p) = parse_raw(data, pos, end, d, usize::MAX, &mut fields) else {
                break;
            };
            if p.next >= end && !whole {
                break; // possibly cut by the sample's end
            }
            fields.set_columns(fields.value_count());
            fields.finish(encoding);
            let filled = (0..fields.len())
                .filter(|&i| !fields.get(i).trim().is_empty())
                .count();
            rows.push((p.offset, p.next, fields.value_count(), filled));
            pos = p.next;
        }
        // The most common field count (the wider on a tie).
        let mut counts: Vec<usize> = rows.iter().map(|r| r.2).collect();
        counts.sort_unstable();
        let width = counts
            .chunk_by(|a, b| a == b)
            .max_by_key(|run| (run.len(), run[0]))
            .map_or(0, |run| run[0]);
        if width < 2 {
            continue;
        }
        let Some(k) = rows.iter().position(|r| r.2 == width && r.3 * 2 > width) else {
            continue;
        };
        if k == 0 {
            if d == sniffed {
                return None;
            }
            continue;
        }
        let title =
            |r: &(usize, usize, usize, usize)| r.3 <= 1 || (r.2 < width && r.3 * 2 <= width);
        if k > MAX_TITLE_LINES || !rows[..k].iter().all(title) {
            continue;
        }
        let body = &rows[k + 1..];
        if body.iter().filter(|r| r.2 == width).count() * 3 < body.len() * 2 {
            continue;
        }
        let (offset, next, ..) = rows[k];
        let Some(_) = parse_raw(data, offset, data.len(), d, usize::MAX, &mut fields) else {
            continue;
        };
        fields.set_columns(fields.value_count());
        fields.finish(encoding);
        let header = trimmed(&fields);
        let below = rows_below(data, next, d, encoding, &mut fields);
        if is_header(&header, &below) && sniff_delimiter(data, offset, extension) == d {
            return Some((offset, d));
        }
    }
    None
}

/// Lines in `data[from..to]` (each ended by `\n`, `\r\n` or `\r`).
fn line_count(data: &[u8], from: usize, to: usize) -> usize {
    let bytes = data.get(from..to).unwrap_or_default();
    let lf = memchr_iter(b'\n', bytes).count();
    let lone_cr = memchr_iter(b'\r', bytes)
        .filter(|&i| bytes.get(i + 1) != Some(&b'\n'))
        .count();
    lf + lone_cr
}

/// Quote state between bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Q {
    Out,
    In,
}

/// What running the quote machine over one block found.
#[derive(Clone, Copy, Debug)]
struct Run {
    end: Q,
    /// First newline outside quotes.
    first_nl: Option<usize>,
    /// Last newline outside quotes (only when asked for).
    last_nl: Option<usize>,
    /// Last quote that changed the state.
    last_transition: Option<usize>,
}

/// Run the quote state machine over `from..to` starting in `state`. `seg_start` is
/// a record start (a quote there opens a field whatever precedes it).
fn run(
    data: &[u8],
    seg_start: usize,
    from: usize,
    to: usize,
    mut state: Q,
    delim: u8,
    want_last_nl: bool,
) -> Run {
    let mut r = Run {
        end: state,
        first_nl: None,
        last_nl: None,
        last_transition: None,
    };
    let mut pos = from;
    while pos < to {
        let hay = &data[pos..to];
        match state {
            Q::Out => {
                let hit = if r.first_nl.is_none() || want_last_nl {
                    memchr2(QUOTE, b'\n', hay)
                } else {
                    memchr(QUOTE, hay)
                };
                let Some(k) = hit else { break };
                let p = pos + k;
                pos = p + 1;
                if data[p] == b'\n' {
                    r.first_nl.get_or_insert(p);
                    r.last_nl = Some(p);
                } else if p == seg_start
                    || matches!(data[p - 1], b'\n' | b'\r')
                    || data[p - 1] == delim
                {
                    state = Q::In;
                    r.last_transition = Some(p);
                }
            }
            Q::In => {
                let Some(k) = memchr(QUOTE, hay) else { break };
                let p = pos + k;
                if p + 1 < to && data[p + 1] == QUOTE {
                    pos = p + 2;
                } else {
                    pos = p + 1;
                    state = Q::Out;
                    r.last_transition = Some(p);
                }
            }
        }
    }
    r.end = state;
    r
}

/// Give up recovering from unterminated quotes after this many: the rest of the
/// file is then one rejected record, as a sequential reader would see it.
const MAX_RECOVERIES: usize = 256;

/// Split `data[start..]` into chunks that begin on record starts, telling `release`
/// how far the scan has gone.
pub(crate) fn plan(
    data: &[u8],
    start: usize,
    delim: u8,
    chunk_size: usize,
    release: Release<'_>,
) -> Vec<Chunk> {
    let chunk_size = chunk_size.max(1);
    let mut out = Vec::new();
    let mut seg = start;
    let mut recoveries = 0;
    while seg < data.len() {
        if recoveries >= MAX_RECOVERIES {
            out.push(Chunk::Range {
                start: seg,
                end: data.len(),
            });
            break;
        }
        match plan_segment(data, seg, delim, chunk_size, &mut out, release) {
            None => break,
            Some((r, reject_end, next)) => {
                out.push(Chunk::Reject {
                    start: r,
                    end: reject_end,
                    reason: RejectReason::UnterminatedQuote,
                });
                seg = next;
                recoveries += 1;
            }
        }
    }
    out
}

/// Plan `data[seg..]`. When it ends inside a quoted field, the chunks stop at the
/// start of the record holding the unclosed quote, and the result says which bytes
/// to reject (to the end of that quote's line) and where to resume.
fn plan_segment(
    data: &[u8],
    seg: usize,
    delim: u8,
    chunk_size: usize,
    out: &mut Vec<Chunk>,
    release: Release<'_>,
) -> Option<(usize, usize, usize)> {
    let len = data.len();
    let mut starts = vec![seg];
    let mut nominal = seg;
    loop {
        nominal = nominal.saturating_add(chunk_size);
        let mut b = nominal.max(starts.last().copied().unwrap_or(seg) + 1);
        // A block never starts or ends next to a quote, so the machine never needs
        // to look across a block edge.
        while b < len && (data[b] == QUOTE || data[b - 1] == QUOTE) {
            b += 1;
        }
        if b >= len {
            break;
        }
        nominal = b;
        starts.push(b);
    }
    // Blocks are scanned a window at a time so that the pages behind can go.
    let per_window = (PASS_WINDOW / chunk_size)
        .max(rayon::current_num_threads())
        .max(1);
    let mut runs: Vec<(Run, Run)> = Vec::with_capacity(starts.len());
    for first in (0..starts.len()).step_by(per_window) {
        let last = (first + per_window).min(starts.len());
        runs.par_extend((first..last).into_par_iter().map(|i| {
            let from = starts[i];
            let to = starts.get(i + 1).copied().unwrap_or(len);
            rayon::join(
                || run(data, seg, from, to, Q::Out, delim, false),
                || run(data, seg, from, to, Q::In, delim, false),
            )
        }));
        release(starts.get(last).copied().unwrap_or(len));
    }
    let mut state = Q::Out;
    let mut bounds = vec![seg];
    let mut true_runs = Vec::with_capacity(runs.len());
    for (i, (out_run, in_run)) in runs.iter().enumerate() {
        let r = if state == Q::Out { *out_run } else { *in_run };
        if i > 0
            && let Some(nl) = r.first_nl
            && nl + 1 < len
        {
            bounds.push(nl + 1);
        }
        true_runs.push(r);
        state = r.end;
    }
    if state == Q::Out {
        push_ranges(&bounds, len, out);
        return None;
    }
    // The file ends inside quotes: find the quote that never closed.
    let q = true_runs.iter().rev().find_map(|r| r.last_transition)?;
    let c = bounds
        .iter()
        .copied()
        .filter(|&b| b <= q)
        .max()
        .unwrap_or(seg);
    let r = run(data, seg, c, q, Q::Out, delim, true)
        .last_nl
        .map_or(c, |nl| nl + 1);
    let kept: Vec<usize> = bounds.iter().copied().filter(|&b| b < r).collect();
    push_ranges(&kept, r, out);
    let (reject_end, next) = match memchr(b'\n', &data[q..]) {
        Some(k) => {
            let nl = q + k;
            let e = if nl > r && data[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            };
            (e, nl + 1)
        }
        None => (len, len),
    };
    Some((r, reject_end, next))
}

fn push_ranges(bounds: &[usize], end: usize, out: &mut Vec<Chunk>) {
    for (i, &s) in bounds.iter().enumerate() {
        let e = bounds.get(i + 1).copied().unwrap_or(end);
        if s < e {
            out.push(Chunk::Range { start: s, end: e });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-by-byte parser [`parse_raw`] replaced: the reference it must agree with.
    /// Parse one record starting at `pos` (skipping blank lines) into `fields`, without
    /// checking its field count. `None` when only blank lines remain before `end`.
    fn parse_raw_reference(
        data: &[u8],
        mut pos: usize,
        end: usize,
        delim: u8,
        max_field: usize,
        fields: &mut Fields,
    ) -> Option<Parsed> {
        let end = end.min(data.len());
        while pos < end && matches!(data[pos], b'\n' | b'\r') {
            pos += 1;
        }
        if pos >= end {
            return None;
        }
        fields.begin(0);
        let offset = pos;
        let mut i = pos;
        let mut status = Ok(());
        let mut col = 0usize;
        let rec_end;
        let next;
        loop {
            let start = fields.mark();
            if data[i] == QUOTE {
                i += 1;
                let mut closed = false;
                while let Some(k) = memchr(QUOTE, &data[i..end]) {
                    fields.raw().extend_from_slice(&data[i..i + k]);
                    i += k + 1;
                    if i < end && data[i] == QUOTE {
                        fields.raw().push(QUOTE);
                        i += 1;
                    } else {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    fields.raw().extend_from_slice(&data[i..end]);
                    i = end;
                    status = Err(RejectReason::UnterminatedQuote);
                }
                // Text after the closing quote belongs to the field, as in the csv crate.
                let s = i;
                while i < end && !is_special(data[i], delim) {
                    i += 1;
                }
                fields.raw().extend_from_slice(&data[s..i]);
            } else {
                let s = i;
                while i < end && !is_special(data[i], delim) {
                    i += 1;
                }
                fields.raw().extend_from_slice(&data[s..i]);
            }
            fields.push_value(col, start);
            if fields.mark() - start > max_field && status.is_ok() {
                status = Err(RejectReason::FieldTooLong);
            }
            col += 1;
            if i >= end {
                rec_end = end;
                next = end;
                break;
            }
            let b = data[i];
            if b == delim {
                i += 1;
                if i >= end {
                    // A delimiter at the very end: one more, empty, field.
                    let start = fields.mark();
                    fields.push_value(col, start);
                    rec_end = end;
                    next = end;
                    break;
                }
                continue;
            }
            rec_end = i;
            next = if b == b'\r' && data.get(i + 1) == Some(&b'\n') && i + 1 < end {
                i + 2
            } else {
                i + 1
            };
            break;
        }
        let len = rec_end - offset;
        if len > crate::source::MAX_RECORD_BYTES && status.is_ok() {
            status = Err(RejectReason::RecordTooLong);
        }
        Some(Parsed {
            offset,
            len,
            next,
            status,
            short: false,
        })
    }

    fn records(
        data: &[u8],
        chunk_size: usize,
    ) -> Vec<(usize, usize, Result<Vec<String>, RejectReason>)> {
        records_of(
            &Delimited::open(data, 0, "csv", TextEncoding::Utf8),
            data,
            chunk_size,
        )
    }

    /// Every record and reject as `d` reads `data` in chunks of `chunk_size`.
    fn records_of(
        d: &Delimited,
        data: &[u8],
        chunk_size: usize,
    ) -> Vec<(usize, usize, Result<Vec<String>, RejectReason>)> {
        let mut fields = Fields::new();
        let mut out = Vec::new();
        for chunk in d.plan(data, chunk_size, &crate::source::keep_pages) {
            d.parse_chunk(
                data,
                &chunk,
                TextEncoding::Utf8,
                usize::MAX,
                &mut fields,
                &mut |e| match e {
                    Event::Record {
                        offset,
                        len,
                        fields,
                        ..
                    } => out.push((
                        offset,
                        len,
                        Ok((0..fields.len())
                            .map(|c| fields.get(c).to_string())
                            .collect()),
                    )),
                    Event::Reject {
                        offset,
                        len,
                        reason,
                        ..
                    } => out.push((offset, len, Err(reason))),
                    Event::ShortRow { .. } => {}
                },
            );
        }
        out
    }

    #[test]
    fn blank_lines_are_rows_of_a_register_but_not_at_its_end() {
        let data = b"email\na@x.com\n\nb@x.com\r\n\r\n\nc@x.com\n\n\r\n";
        let mut d = Delimited::open(data, 0, "csv", TextEncoding::Utf8);
        d.count_blank_rows(data);
        let rows = |chunk_size: usize| -> Vec<String> {
            records_of(&d, data, chunk_size)
                .into_iter()
                .filter_map(|(_, _, r)| r.ok()?.into_iter().next())
                .collect()
        };
        let whole = rows(usize::MAX);
        assert_eq!(whole, ["a@x.com", "", "b@x.com", "", "", "c@x.com"]);
        for size in 1..data.len() {
            assert_eq!(rows(size), whole, "chunk size {size}");
        }
        // A dump's blank lines are nothing.
        assert_eq!(records(data, usize::MAX).len(), 3);
    }

    #[test]
    fn sniffs_common_delimiters() {
        assert_eq!(sniff_delimiter(b"a,b,c\n1,2,3\n", 0, "txt"), b',');
        assert_eq!(sniff_delimiter(b"a\tb\tc\n1\t2\t3\n", 0, "txt"), b'\t');
        assert_eq!(sniff_delimiter(b"a|b\n1|2\n", 0, "txt"), b'|');
        assert_eq!(sniff_delimiter(b"a;b;c\n\"x;y\";2;3\n", 0, "csv"), b';');
        // Commas inside quotes do not count.
        assert_eq!(
            sniff_delimiter(b"name\tnote\nx\t\"a, b, c\"\n", 0, "csv"),
            b'\t'
        );
        assert_eq!(sniff_delimiter(b"single\nx\n", 0, "tsv"), b'\t');
    }

    #[test]
    fn quoted_fields_newlines_and_doubled_quotes() {
        let data = b"a,b\n\"x,1\",\"he said \"\"hi\"\"\"\r\n\"multi\nline\",2\n";
        let r = records(data, 1 << 20);
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[0].2,
            Ok(vec!["x,1".to_string(), "he said \"hi\"".to_string()])
        );
        assert_eq!(r[1].2, Ok(vec!["multi\nline".to_string(), "2".to_string()]));
        assert_eq!(&data[r[1].0..r[1].0 + r[1].1], b"\"multi\nline\",2");
    }

    #[test]
    fn stray_quotes_are_literal_and_do_not_confuse_chunking() {
        let data = b"a,b\n5'10\",x\n\"q\nq\",y\nz,\"w\n\"\n";
        let whole = records(data, usize::MAX);
        for size in 1..data.len() {
            assert_eq!(records(data, size), whole, "chunk size {size}");
        }
        assert_eq!(whole[0].2, Ok(vec!["5'10\"".to_string(), "x".to_string()]));
    }

    #[test]
    fn unclosed_quote_costs_one_row() {
        // The file ends inside the quote opened on row 2: only that row is lost.
        let data = b"a,b\n1,2\n\"oops,3\n4,5\r\n6,7";
        let whole = records(data, usize::MAX);
        assert_eq!(whole.len(), 4);
        assert_eq!(whole[1].2, Err(RejectReason::UnterminatedQuote));
        assert_eq!(&data[whole[1].0..whole[1].0 + whole[1].1], b"\"oops,3");
        assert_eq!(whole[2].2, Ok(vec!["4".to_string(), "5".to_string()]));
        assert_eq!(whole[3].2, Ok(vec!["6".to_string(), "7".to_string()]));
        for size in 1..data.len() {
            assert_eq!(records(data, size), whole, "chunk size {size}");
        }
    }

    #[test]
    fn stray_quotes_that_pair_up_cost_only_their_own_rows() {
        // Read as the csv crate would, rows 1 to 3 are one record of the wrong width
        // (the quote opened on row 1 closes on row 3) and row 2 is lost with them.
        let data = b"a,b,c\n\"Jack,Smith,1\nMary,Jones,2\r\nAnn,\"Lee,3\nBob,Brown,4\n";
        let whole = records(data, usize::MAX);
        let got: Vec<_> = whole
            .iter()
            .map(|(o, l, r)| (&data[*o..*o + *l], r.clone()))
            .collect();
        let row = |v: [&str; 3]| Ok(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            got,
            vec![
                (&b"\"Jack,Smith,1"[..], Err(RejectReason::UnterminatedQuote)),
                (&b"Mary,Jones,2"[..], row(["Mary", "Jones", "2"])),
                (&b"Ann,\"Lee,3"[..], Err(RejectReason::UnterminatedQuote)),
                (&b"Bob,Brown,4"[..], row(["Bob", "Brown", "4"])),
            ]
        );
        for size in 1..data.len() {
            assert_eq!(records(data, size), whole, "chunk size {size}");
        }
        // Each recovered row reads back alone, as the match stage re-reads it.
        let d = Delimited::open(data, 0, "csv", TextEncoding::Utf8);
        let mut fields = Fields::new();
        let (o, l, _) = whole[1];
        assert_eq!(
            d.read_record(data, o, l, TextEncoding::Utf8, &mut fields),
            Ok(())
        );
        assert_eq!(fields.get(1), "Jones");
        // A record that spans lines and is well formed is one record, as before.
        let data = b"a,b,c\n\"3 High St\nLondon\",x,1\ny,z,2\n";
        let r = records(data, usize::MAX);
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[0].2,
            Ok(vec![
                "3 High St\nLondon".to_string(),
                "x".into(),
                "1".into()
            ])
        );
    }

    #[test]
    fn a_value_is_decoded_on_its_own_even_when_its_neighbour_completes_a_character() {
        // `a\xE9\xA9` then `\xA9`: together valid UTF-8 (one CJK character), apart
        // not; each value is Windows-1252 text in a mixed file.
        let d = Delimited {
            delimiter: b',',
            columns: vec!["a".into(), "b".into()],
            data_start: 0,
            blank_rows: false,
            blank_tail: 0,
            title_lines: 0,
        };
        let data = b"a\xE9\xA9,\xA9\n";
        let mut fields = Fields::new();
        d.parse_one(
            data,
            0,
            data.len(),
            TextEncoding::Mixed,
            usize::MAX,
            &mut fields,
        );
        assert_eq!((fields.get(0), fields.get(1)), ("a\u{e9}\u{a9}", "\u{a9}"));
    }

    #[test]
    fn headerless_file_gets_numbered_columns() {
        let d = Delimited::open(b"jane@x.com,07911123456\n", 0, "csv", TextEncoding::Utf8);
        assert_eq!(d.columns, ["column_1", "column_2"]);
        assert_eq!(d.data_start, 0);
    }

    /// The columns and data start `open` decides for `text`.
    fn opened(text: &str) -> (Vec<String>, usize) {
        let d = Delimited::open(text.as_bytes(), 0, "csv", TextEncoding::Utf8);
        (d.columns, d.data_start)
    }

    #[test]
    fn headers_with_digits_in_their_names_are_headers() {
        let headers = [
            "first_name,last_name,email,dob,balance_2019\n\
             Jane,Doe,jane@example.com,03/02/1980,10.00\n\
             John,Roe,john@example.com,04/05/1970,20.00\n",
            "Name,tax_2019,tax_2020,Post Code\nJane Doe,120.50,130.00,SW1A 1AA\n",
            "ref 123,Surname,DOB\nAB/77,Doe,03/02/1980\n",
            "field100,field101,field102\nx,y,z\n1,2,3\n",
            "email,consent_2021,consent_2022\njane@example.com,yes,no\n",
            "Account No 2006,Forename,Phone 1,Phone 2\n\
             12345678,Jane,07911 123456,020 7946 0018\n",
            "id,First Name,Date of Birth,balance_2019\n1,Jane,03/02/1980,10.00\n2,John,1975-07-09,5\n",
            // Known header names outvote a year over its numbers.
            "first_name,last_name,dob,2019\nJane,Doe,03/02/1980,10.00\n",
            // Nothing below: a name is still a name.
            "first_name,balance_2019\n",
        ];
        for text in headers {
            let (columns, start) = opened(text);
            let first = text.lines().next().unwrap_or_default();
            assert_eq!(columns.join(","), first, "{text}");
            assert_eq!(start, first.len() + 1, "{text}");
        }
    }

    #[test]
    fn a_header_that_holds_a_given_name_is_still_a_header() {
        // `Bill` is a given name, but the column below it holds amounts, not names;
        // `Forename` names a kind whatever sits below it.
        for (text, first) in [
            ("Bill,Tenant\n12.50,Jane Doe\n8.00,John Roe\n", "Bill"),
            ("Forename,Surname\nJane,Doe\nJohn,Roe\n", "Forename"),
            ("Mark,Comment\n7,Jane was late\n9,fine\n", "Mark"),
            // A header of two words over full names: a known header name.
            (
                "Full Name,Condition\nRose Fisher,Depression\nIsla Jones,None\n",
                "Full Name",
            ),
            (
                "Account Holder,Notes\nRose Fisher,x\nIsla Jones,y\n",
                "Account Holder",
            ),
        ] {
            let (columns, start) = opened(text);
            assert_eq!(columns.first().map(String::as_str), Some(first), "{text}");
            assert!(start > 0, "{text}");
        }
    }

    #[test]
    fn headerless_files_stay_headerless() {
        let headerless = [
            "jane@x.com,07911123456\n",
            "Jane,Doe,jane@example.com,03/02/1980\nJohn,Roe,john@example.com,04/05/1970\n",
            "Jane,Doe,03/02/1980,SW1A 1AA\nJohn,Roe,04/05/1970,W8 4PT\n",
            "1,Jane,Doe,10.00\n2,John,Roe,20.00\n",
            "AB123456C,Jane Doe\nCD654321A,John Roe\n",
            "100023336956,Jane,London\n100023336957,John,Leeds\n",
            // A value that is also a header word is outvoted by the values.
            "Jane,Street,BA16 0AA,07911 123456\nJohn,Street,BA16 0AB,07911 654321\n",
            "1,2,3\na,b,c\n",
            // Names alone: the first person is a row, not column names.
            "Jane,Doe\nJohn,Smith\nMary,Jones\n",
            "Smith,Bill\nJones,Mary\nLee,Ann\n",
            // A family name that is also a header word does not make a header.
            "Mary,Town\nJohn,Smith\nJane,Jones\n",
            "Jane,Name\nJohn,Smith\nMary,Jones\n",
            "Jane,Kelly,Hope,Faith\nJohn,Smith,x,y\nMary,Jones,z,w\n",
            // Full names with a note: the first person's note is no column name.
            "Rose Fisher,Depression\nIsla Jones,None\nKaren Price,None\nSam Li,Asthma\n",
        ];
        for text in headerless {
            let (columns, start) = opened(text);
            let n = text.lines().next().unwrap_or_default().split(',').count();
            let numbered: Vec<String> = (1..=n).map(|i| format!("column_{i}")).collect();
            assert_eq!(columns, numbered, "{text}");
            assert_eq!(start, 0, "{text}");
        }
    }

    /// Every good record's values and every reject's reason, as `d` reads `data`
    /// in chunks of `chunk_size`, checked against the whole file read at once.
    fn read_all(text: &str) -> (Delimited, Vec<Result<Vec<String>, RejectReason>>) {
        let data = text.as_bytes();
        let d = Delimited::open(data, 0, "csv", TextEncoding::Utf8);
        let whole = records_of(&d, data, usize::MAX);
        for size in 1..data.len() {
            assert_eq!(records_of(&d, data, size), whole, "chunk size {size}");
        }
        (d, whole.into_iter().map(|(_, _, r)| r).collect())
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn title_lines_above_the_header_are_skipped() {
        let text = "Council Tax Accounts Export\n\
                    Generated 01/04/2014 by CTAX v3\n\
                    \n\
                    Account Ref,Forename,Surname,D.O.B,Post Code,E-mail Address\n\
                    1001,Alice,Archer,01/01/1970,AB1 2CD,alice@archer.com\n\
                    1002,Bob,Baker,02/02/1971,AB1 2CE,bob@baker.com\n";
        let (d, rows) = read_all(text);
        assert_eq!(d.columns[0], "Account Ref");
        assert_eq!(d.columns[5], "E-mail Address");
        assert_eq!(d.title_lines, 3);
        assert_eq!(&text[d.data_start..d.data_start + 5], "1001,");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[1],
            Ok(strings(&[
                "1002",
                "Bob",
                "Baker",
                "02/02/1971",
                "AB1 2CE",
                "bob@baker.com"
            ]))
        );
        // A title saved from a spreadsheet (trailing delimiters), a `;` table, CRLF.
        let text = "Residents export,,,\r\n,,,\r\nName;Email;Town;DOB\r\n\
                    Jane Doe;jane@example.com;Leeds;03/02/1980\r\n\
                    John Roe;john@example.com;York;04/05/1970\r\n";
        let (d, rows) = read_all(text);
        assert_eq!((d.delimiter, d.title_lines), (b';', 2));
        assert_eq!(d.columns, strings(&["Name", "Email", "Town", "DOB"]));
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(Result::is_ok), "{rows:?}");
        let (d, rows) = read_all("Report\nname,email\nJane,jane@example.com\n");
        assert_eq!((d.title_lines, d.columns.len(), rows.len()), (1, 2, 1));
    }

    #[test]
    fn a_first_row_as_wide_as_the_table_is_no_title() {
        for text in [
            // A header with an empty cell, a sparse first row, a headerless file.
            "id,,name,email\n1,x,Jane,jane@example.com\n2,y,John,john@example.com\n",
            "a,b,c\n1,,\n4,5,6\n",
            "jane@example.com,Jane\njohn@example.com,John\n",
            // A title over data with no header: nothing reads as a header below it.
            "Export\njane@example.com,03/02/1980\njohn@example.com,04/05/1970\n",
        ] {
            let d = Delimited::open(text.as_bytes(), 0, "csv", TextEncoding::Utf8);
            assert_eq!(d.title_lines, 0, "{text}");
        }
    }

    #[test]
    fn short_rows_are_read_with_their_trailing_fields_empty() {
        let text = "first_name,last_name,dob,email,phone,notes\n\
                    Ada,Abel,01/01/1970,ada@abel.com,07700900301,ok\n\
                    Ben,Bolt,02/02/1971,ben@bolt.com\n\
                    Total: 3\n\
                    Cy,Cole,03/03/1972,cy@cole.com,07700900303,ok,extra\n\
                    Don,Dunn,04/04/1973,don@dunn.com,07700900304,\n";
        let (_, rows) = read_all(text);
        assert_eq!(
            rows,
            vec![
                Ok(strings(&[
                    "Ada",
                    "Abel",
                    "01/01/1970",
                    "ada@abel.com",
                    "07700900301",
                    "ok"
                ])),
                Ok(strings(&[
                    "Ben",
                    "Bolt",
                    "02/02/1971",
                    "ben@bolt.com",
                    "",
                    ""
                ])),
                // A lone value is a footer, not a person; more fields stay wrong.
                Err(RejectReason::FieldCount),
                Err(RejectReason::FieldCount),
                Ok(strings(&[
                    "Don",
                    "Dunn",
                    "04/04/1973",
                    "don@dunn.com",
                    "07700900304",
                    ""
                ])),
            ]
        );
        // Each short row is said once, and reads back alone as it was read.
        let data = text.as_bytes();
        let d = Delimited::open(data, 0, "csv", TextEncoding::Utf8);
        for size in [usize::MAX, 7, 1] {
            let mut short = 0;
            for chunk in d.plan(data, size, &crate::source::keep_pages) {
                let mut fields = Fields::new();
                d.parse_chunk(
                    data,
                    &chunk,
                    TextEncoding::Utf8,
                    usize::MAX,
                    &mut fields,
                    &mut |e| {
                        if let Event::ShortRow { .. } = e {
                            short += 1;
                        }
                    },
                );
            }
            assert_eq!(short, 1, "chunk size {size}");
        }
        let ben = text.find("Ben").unwrap_or_default();
        let mut fields = Fields::new();
        let len = "Ben,Bolt,02/02/1971,ben@bolt.com".len();
        assert_eq!(
            d.read_record(data, ben, len, TextEncoding::Utf8, &mut fields),
            Ok(())
        );
        assert_eq!(
            (fields.len(), fields.get(3), fields.get(5)),
            (6, "ben@bolt.com", "")
        );
        // Under two columns a lone value is half a row.
        let (_, rows) = read_all("email,phone\njane@example.com\n");
        assert_eq!(rows, vec![Ok(strings(&["jane@example.com", ""]))]);
    }

    #[test]
    fn a_short_record_spanning_lines_is_not_a_short_row() {
        // Stray quotes pairing up into a record of too few fields: read again line
        // by line; the lines holding the stray quotes are rejected, not kept short.
        let text = "a,b,c\n\"Jack,Smith,1\nMary,Jones,2\nAnn\",3\nBob,Brown,4\n";
        let (_, rows) = read_all(text);
        assert_eq!(
            rows,
            vec![
                Err(RejectReason::UnterminatedQuote),
                Ok(strings(&["Mary", "Jones", "2"])),
                Err(RejectReason::FieldCount),
                Ok(strings(&["Bob", "Brown", "4"])),
            ]
        );
        // A short line with no quote between them is a short row.
        let text = "a,b,c\n\"Jack,Smith,1\nMary,Jones\nAnn\",3\nBob,Brown,4\n";
        let (_, rows) = read_all(text);
        assert_eq!(rows[1], Ok(strings(&["Mary", "Jones", ""])));
    }

    type Parser = fn(&[u8], usize, usize, u8, usize, &mut Fields) -> Option<Parsed>;
    type Seen = (
        usize,
        usize,
        usize,
        Result<(), RejectReason>,
        Vec<(u32, Vec<u8>)>,
    );

    /// Every record of `data` as `(offset, len, next, status, values)`.
    fn all_records(parse: Parser, data: &[u8], delim: u8, max_field: usize) -> Vec<Seen> {
        let mut out = Vec::new();
        let mut fields = Fields::new();
        let mut pos = 0;
        while let Some(p) = parse(data, pos, data.len(), delim, max_field, &mut fields) {
            out.push((p.offset, p.len, p.next, p.status, fields.raw_values()));
            assert!(p.next > pos, "no progress at {pos}");
            pos = p.next;
        }
        out
    }

    /// A header of `n` names over rows of numbers.
    fn table() -> impl proptest::strategy::Strategy<Value = (Vec<String>, Vec<Vec<String>>)> {
        use proptest::prelude::*;
        (2usize..7).prop_flat_map(|n| {
            (
                proptest::collection::vec("[A-Z][a-z]{2,8}", n),
                proptest::collection::vec(proptest::collection::vec("[0-9]{1,6}", n), 3..20),
            )
        })
    }

    fn csv_text(header: &[String], rows: &[Vec<String>], delim: &str) -> String {
        let mut text = header.join(delim);
        text.push('\n');
        for r in rows {
            text.push_str(&r.join(delim));
            text.push('\n');
        }
        text
    }

    proptest::proptest! {
        /// Title lines above a table never change its columns or rows, whatever
        /// the delimiter and chunk size.
        #[test]
        fn title_lines_above_a_table_leave_it_as_it_is(
            (header, rows) in table(),
            titles in proptest::collection::vec("([A-Z][A-Za-z0-9 /:]{0,30})?", 1..5),
            delim in proptest::sample::select(vec![",", ";", "\t", "|"]),
            chunk in 1usize..200,
        ) {
            let body = csv_text(&header, &rows, delim);
            let mut text: String = titles.iter().map(|t| format!("{t}\n")).collect();
            text.push_str(&body);
            let d = Delimited::open(text.as_bytes(), 0, "txt", TextEncoding::Utf8);
            proptest::prop_assert_eq!(&d.columns, &header);
            // Blank lines alone above a header are no title: they are skipped.
            let lines = if titles.iter().all(String::is_empty) { 0 } else { titles.len() };
            proptest::prop_assert_eq!(d.title_lines, lines);
            let got: Vec<_> = records_of(&d, text.as_bytes(), chunk)
                .into_iter()
                .map(|(_, _, r)| r)
                .collect();
            let want: Vec<_> = rows.iter().map(|r| Ok(r.clone())).collect();
            proptest::prop_assert_eq!(got, want);
        }

        /// A row with trailing fields left off reads as the whole row with those
        /// fields empty, whatever the chunk size.
        #[test]
        fn short_rows_read_as_rows_with_empty_trailing_fields(
            (header, rows) in table(),
            cut in proptest::collection::vec(0usize..6, 20),
            chunk in 1usize..200,
        ) {
            let n = header.len();
            // Cut rows keep at least two fields (a lone value under a wider header
            // is rejected).
            let short: Vec<Vec<String>> = rows
                .iter()
                .zip(&cut)
                .map(|(r, &c)| r[..n - c.min(n - 2)].to_vec())
                .collect();
            let text = csv_text(&header, &short, ",");
            let d = Delimited::open(text.as_bytes(), 0, "csv", TextEncoding::Utf8);
            proptest::prop_assert_eq!(&d.columns, &header);
            let got: Vec<_> = records_of(&d, text.as_bytes(), chunk)
                .into_iter()
                .map(|(_, _, r)| r)
                .collect();
            let want: Vec<_> = short
                .iter()
                .map(|r| {
                    let mut full = r.clone();
                    full.resize(n, String::new());
                    Ok(full)
                })
                .collect();
            proptest::prop_assert_eq!(got, want);
        }

        #[test]
        fn memchr_parser_agrees_with_the_byte_by_byte_one(
            bytes in proptest::collection::vec(
                proptest::sample::select(vec![
                    b'a', b'b', b'a', b'b', b' ', b',', b',', b';', b'\t', b'"', b'"', b'\n',
                    b'\r', 0xC3, 0xA9, 0xE9,
                ]),
                0..200,
            ),
            delim in proptest::sample::select(vec![b',', b';', b'\t']),
            max_field in proptest::sample::select(vec![3usize, 1 << 20]),
        ) {
            proptest::prop_assert_eq!(
                all_records(parse_raw, &bytes, delim, max_field),
                all_records(parse_raw_reference, &bytes, delim, max_field)
            );
        }
    }
}
