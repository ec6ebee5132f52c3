//! [`Fields`]: the values of one record, aligned to its dataset's columns.
//!
//! Parsers fill a `Fields` in two steps: raw bytes are appended value by value
//! (already unescaped, still in the file's encoding), then [`Fields::finish`] turns
//! them into UTF-8 text once per record. One `Fields` is reused for every record of
//! a chunk, so the steady state allocates nothing.
//!
//! A JSON value inside an array also says which element of the outermost array
//! holding it it came from ([`Element`]), so that a record holding several people
//! (`"members": [{…}, {…}]`) can be split exactly ([`super::people`]), whatever
//! fields each element lacks.

use super::TextEncoding;
use encoding_rs::WINDOWS_1252;
use std::fmt;

/// Where one value sits in the record's text, and which column it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    col: u32,
    start: u32,
    end: u32,
    /// The array element the value came from, packed ([`place`]); 0 for none.
    place: u32,
}

/// The array element a JSON value came from: the outermost array holding it (named
/// by the byte length of its dotted path: `members` for `members.name`) and the
/// element's 0-based index in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Element {
    /// Byte length of the outermost array's path, a prefix of the column's.
    pub array: u32,
    /// 0-based index of the element in that array.
    pub index: u32,
}

/// Bits of a packed place holding the element index (plus one).
const INDEX_BITS: u32 = 20;
/// Largest array path length a place holds; longer ones are unknown.
const MAX_ARRAY_PATH: u32 = (1 << (32 - INDEX_BITS)) - 2;

/// Packs where a value sits among arrays: the byte length of the outermost array's
/// path and the element's index. A path too long to pack gives no place (the value
/// is then not told apart by element); elements past about a million share the
/// last index.
pub(crate) fn place(array_path: usize, index: usize) -> u32 {
    let Some(array) = u32::try_from(array_path)
        .ok()
        .filter(|&a| a <= MAX_ARRAY_PATH)
    else {
        return 0;
    };
    let index = u32::try_from(index.saturating_add(1))
        .unwrap_or(u32::MAX)
        .min((1 << INDEX_BITS) - 1);
    (array << INDEX_BITS) | index
}

fn element(place: u32) -> Option<Element> {
    let index = place & ((1 << INDEX_BITS) - 1);
    (index != 0).then(|| Element {
        array: place >> INDEX_BITS,
        index: index - 1,
    })
}

/// Field values of one record, aligned to the dataset's columns.
///
/// A column may hold no value (missing, SQL `NULL`, JSON `null`), one value, or,
/// for a JSON array, several. [`Fields::get`] gives the first value or `""`;
/// [`Fields::values`] gives each of them.
///
/// `Debug` shows only counts: values are personal data and must not leak into logs.
#[derive(Clone, Default)]
pub struct Fields {
    /// Final UTF-8 text of every value, back to back.
    text: String,
    /// Raw bytes collected by the parser before `finish`.
    raw: Vec<u8>,
    /// Values in column order (stable for several values of one column).
    spans: Vec<Span>,
    /// When not dense: values of column `c` are `spans[index[c]..index[c + 1]]`.
    index: Vec<u32>,
    /// Exactly one value per column, in order: `spans[c]` is column `c`.
    dense: bool,
    ncols: usize,
}

impl Fields {
    /// An empty record with no columns.
    pub fn new() -> Fields {
        Fields::default()
    }

    /// The number of columns (of the dataset, not of values present).
    pub fn len(&self) -> usize {
        self.ncols
    }

    /// True when the dataset has no columns.
    pub fn is_empty(&self) -> bool {
        self.ncols == 0
    }

    /// The (first) value of column `col`; `""` when missing, `NULL` or out of range.
    pub fn get(&self, col: usize) -> &str {
        self.values(col).next().unwrap_or("")
    }

    /// Every value of column `col`, in record order (several for JSON arrays).
    pub fn values(&self, col: usize) -> impl Iterator<Item = &str> + '_ {
        self.column_spans(col).iter().map(|s| {
            self.text
                .get(s.start as usize..s.end as usize)
                .unwrap_or("")
        })
    }

    /// Every value of column `col` with the array element it came from (`None`
    /// outside arrays, and for every format but JSON Lines).
    pub fn elements(&self, col: usize) -> impl Iterator<Item = (&str, Option<Element>)> + '_ {
        self.column_spans(col).iter().map(|s| {
            let text = self
                .text
                .get(s.start as usize..s.end as usize)
                .unwrap_or("");
            (text, element(s.place))
        })
    }

    /// Makes `out` (a finished record of the same columns) hold only the values
    /// for which `keep(column, element, value)` is true, in the same order.
    pub fn select_into(
        &self,
        out: &mut Fields,
        mut keep: impl FnMut(usize, Option<Element>, &str) -> bool,
    ) {
        out.begin(self.ncols);
        for col in 0..self.ncols {
            for s in self.column_spans(col) {
                let text = self
                    .text
                    .get(s.start as usize..s.end as usize)
                    .unwrap_or("");
                if keep(col, element(s.place), text) {
                    let start = out.mark();
                    out.raw.extend_from_slice(text.as_bytes());
                    out.push_value_at(col, start, s.place);
                }
            }
        }
        // The text is UTF-8 already: nothing is decoded again.
        out.finish(TextEncoding::Utf8);
    }

    /// How many values column `col` holds in this record.
    pub fn count(&self, col: usize) -> usize {
        self.column_spans(col).len()
    }

    /// True when column `col` has at least one non-empty value.
    pub fn has_value(&self, col: usize) -> bool {
        // As `values(col).any(|v| !v.is_empty())`, without making the strings.
        self.column_spans(col).iter().any(|s| {
            s.end > s.start
                && self.text.is_char_boundary(s.start as usize)
                && self.text.is_char_boundary(s.end as usize)
        })
    }

    /// All values as owned strings, one vector per column (for tests and tools).
    pub fn to_vecs(&self) -> Vec<Vec<String>> {
        (0..self.ncols)
            .map(|c| self.values(c).map(str::to_string).collect())
            .collect()
    }

    fn column_spans(&self, col: usize) -> &[Span] {
        if col >= self.ncols {
            return &[];
        }
        if self.dense {
            return self.spans.get(col..col + 1).unwrap_or(&[]);
        }
        let (Some(&a), Some(&b)) = (self.index.get(col), self.index.get(col + 1)) else {
            return &[];
        };
        self.spans.get(a as usize..b as usize).unwrap_or(&[])
    }

    /// Start a new record of a dataset with `ncols` columns.
    pub(crate) fn begin(&mut self, ncols: usize) {
        self.raw.clear();
        self.spans.clear();
        self.ncols = ncols;
    }

    /// Set the column count once the parser knows it (delimited files learn it
    /// from the record itself before checking it against the header).
    pub(crate) fn set_columns(&mut self, ncols: usize) {
        self.ncols = ncols;
    }

    /// The raw byte buffer the parser appends value bytes to.
    #[inline]
    pub(crate) fn raw(&mut self) -> &mut Vec<u8> {
        &mut self.raw
    }

    /// Where the next value starts in the raw buffer.
    #[inline]
    pub(crate) fn mark(&self) -> usize {
        self.raw.len()
    }

    /// Close the value that started at `start` (a [`Fields::mark`]) for column `col`.
    #[inline]
    pub(crate) fn push_value(&mut self, col: usize, start: usize) {
        self.push_value_at(col, start, 0);
    }

    /// [`Fields::push_value`] for a value of an array element ([`place`]).
    #[inline]
    pub(crate) fn push_value_at(&mut self, col: usize, start: usize, place: u32) {
        self.spans.push(Span {
            col: col as u32,
            start: start as u32,
            end: self.raw.len() as u32,
            place,
        });
    }

    /// Record a value for column `col` that the parser already put in the raw buffer at
    /// `start..end` (bytes between values, such as delimiters, may sit in between).
    #[inline]
    pub(crate) fn push_span(&mut self, col: usize, start: usize, end: usize) {
        self.spans.push(Span {
            col: col as u32,
            start: start as u32,
            end: end as u32,
            place: 0,
        });
    }

    /// The values as pushed, before `finish`: column and raw bytes.
    #[cfg(test)]
    pub(crate) fn raw_values(&self) -> Vec<(u32, Vec<u8>)> {
        self.spans
            .iter()
            .map(|s| {
                let bytes = self.raw.get(s.start as usize..s.end as usize);
                (s.col, bytes.unwrap_or_default().to_vec())
            })
            .collect()
    }

    /// Append a whole value for column `col`.
    #[cfg(test)]
    pub(crate) fn push_bytes(&mut self, col: usize, bytes: &[u8]) {
        let start = self.mark();
        self.raw.extend_from_slice(bytes);
        self.push_value(col, start);
    }

    /// The number of values collected so far in this record.
    #[inline]
    pub(crate) fn value_count(&self) -> usize {
        self.spans.len()
    }

    /// The byte length of value `i` (in push order) before `finish`.
    #[inline]
    pub(crate) fn value_len(&self, i: usize) -> usize {
        self.spans.get(i).map_or(0, |s| (s.end - s.start) as usize)
    }

    /// Drop the values from push index `n` on (e.g. empty trailing CSV fields).
    pub(crate) fn truncate_values(&mut self, n: usize) {
        self.spans.truncate(n);
    }

    /// Turn the raw bytes into text according to the file's encoding and index the
    /// values by column.
    pub(crate) fn finish(&mut self, encoding: TextEncoding) {
        let whole_file_1252 = encoding == TextEncoding::Windows1252 && !self.raw.is_ascii();
        if !whole_file_1252 {
            let raw = std::mem::take(&mut self.raw);
            match String::from_utf8(raw) {
                Ok(text) => {
                    // Keep both allocations cycling between `raw` and `text`.
                    let old = std::mem::replace(&mut self.text, text);
                    self.raw = old.into_bytes();
                    self.raw.clear();
                    self.index_columns();
                    return;
                }
                Err(e) => self.raw = e.into_bytes(),
            }
        }
        self.transcode(encoding);
        self.index_columns();
    }

    /// Decode value by value: a Windows-1252 file decodes every value that way, a
    /// UTF-8 or mixed file only the values that are not valid UTF-8.
    fn transcode(&mut self, encoding: TextEncoding) {
        self.text.clear();
        for span in &mut self.spans {
            let bytes = self
                .raw
                .get(span.start as usize..span.end as usize)
                .unwrap_or(&[]);
            let start = self.text.len();
            match std::str::from_utf8(bytes) {
                Ok(s) if encoding != TextEncoding::Windows1252 || s.is_ascii() => {
                    self.text.push_str(s)
                }
                _ => self
                    .text
                    .push_str(&WINDOWS_1252.decode_without_bom_handling(bytes).0),
            }
            span.start = start as u32;
            span.end = self.text.len() as u32;
        }
    }

    fn index_columns(&mut self) {
        self.dense = self.spans.len() == self.ncols
            && self
                .spans
                .iter()
                .enumerate()
                .all(|(i, s)| s.col as usize == i);
        if self.dense {
            return;
        }
        // Stable: several values of one column keep their record order.
        self.spans.sort_by_key(|s| s.col);
        self.index.clear();
        self.index.resize(self.ncols + 1, 0);
        for s in &self.spans {
            if let Some(slot) = self.index.get_mut(s.col as usize + 1) {
                *slot += 1;
            }
        }
        for c in 0..self.ncols {
            self.index[c + 1] += self.index[c];
        }
    }
}

impl PartialEq for Fields {
    fn eq(&self, other: &Fields) -> bool {
        self.ncols == other.ncols && (0..self.ncols).all(|c| self.values(c).eq(other.values(c)))
    }
}

impl Eq for Fields {}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fields")
            .field("columns", &self.ncols)
            .field("values", &self.spans.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ncols: usize, values: &[(usize, &[u8])], enc: TextEncoding) -> Fields {
        let mut f = Fields::new();
        f.begin(ncols);
        for (c, v) in values {
            f.push_bytes(*c, v);
        }
        f.finish(enc);
        f
    }

    #[test]
    fn dense_record_reads_back() {
        let f = record(3, &[(0, b"a"), (1, b""), (2, b"ccc")], TextEncoding::Utf8);
        assert_eq!(f.len(), 3);
        assert_eq!(
            (f.get(0), f.get(1), f.get(2), f.get(3)),
            ("a", "", "ccc", "")
        );
        assert_eq!(f.count(1), 1);
        assert!(!f.has_value(1));
    }

    #[test]
    fn sparse_record_groups_values_by_column_in_order() {
        let f = record(
            3,
            &[(2, b"x"), (0, b"p1"), (2, b"y"), (0, b"p2")],
            TextEncoding::Utf8,
        );
        assert_eq!(f.values(0).collect::<Vec<_>>(), ["p1", "p2"]);
        assert_eq!(f.count(1), 0);
        assert_eq!(f.get(1), "");
        assert_eq!(f.values(2).collect::<Vec<_>>(), ["x", "y"]);
    }

    #[test]
    fn windows_1252_file_decodes_every_non_ascii_value() {
        // "Zoë" and "Siân" as cp1252 bytes; C3 A9 is valid UTF-8 but, in a cp1252
        // file, means "Ã©".
        let f = record(
            3,
            &[(0, b"Zo\xEB"), (1, b"Si\xE2n"), (2, b"\xC3\xA9")],
            TextEncoding::Windows1252,
        );
        assert_eq!((f.get(0), f.get(1), f.get(2)), ("Zoë", "Siân", "Ã©"));
    }

    #[test]
    fn mixed_file_decodes_field_by_field() {
        let f = record(
            2,
            &[(0, "Zoë".as_bytes()), (1, b"Si\xE2n")],
            TextEncoding::Mixed,
        );
        assert_eq!((f.get(0), f.get(1)), ("Zoë", "Siân"));
    }

    proptest::proptest! {
        #[test]
        fn has_value_is_a_non_empty_value(
            values in proptest::collection::vec((0usize..4, proptest::collection::vec(proptest::num::u8::ANY, 0..4)), 0..8),
            enc in proptest::sample::select(vec![TextEncoding::Utf8, TextEncoding::Windows1252, TextEncoding::Mixed]),
        ) {
            let pairs: Vec<(usize, &[u8])> = values.iter().map(|(c, v)| (*c, v.as_slice())).collect();
            let f = record(4, &pairs, enc);
            for col in 0..5 {
                proptest::prop_assert_eq!(f.has_value(col), f.values(col).any(|v| !v.is_empty()));
            }
        }
    }

    #[test]
    fn places_pack_and_unpack() {
        assert_eq!(element(0), None);
        assert_eq!(element(place(7, 0)), Some(Element { array: 7, index: 0 }));
        assert_eq!(
            element(place(0, 41)),
            Some(Element {
                array: 0,
                index: 41
            })
        );
        assert_eq!(
            element(place(MAX_ARRAY_PATH as usize, 3)),
            Some(Element {
                array: MAX_ARRAY_PATH,
                index: 3
            })
        );
        // A path too long to pack says nothing; elements past the last index share it.
        assert_eq!(element(place(MAX_ARRAY_PATH as usize + 1, 3)), None);
        let last = element(place(1, usize::MAX)).map(|e| e.index);
        assert_eq!(last, element(place(1, 1 << 21)).map(|e| e.index));
    }

    #[test]
    fn elements_come_with_their_values_and_selecting_keeps_them() {
        let mut f = Fields::new();
        f.begin(3);
        for (col, value, at) in [
            (0, "C1", 0),
            (1, "John", place(7, 0)),
            (2, "1950", place(7, 0)),
            (2, "1982", place(7, 1)),
            (1, "", place(7, 1)),
        ] {
            let start = f.mark();
            f.raw().extend_from_slice(value.as_bytes());
            f.push_value_at(col, start, at);
        }
        f.finish(TextEncoding::Utf8);
        let one = Some(Element { array: 7, index: 1 });
        assert_eq!(f.elements(0).collect::<Vec<_>>(), [("C1", None)]);
        assert_eq!(
            f.elements(2).collect::<Vec<_>>(),
            [
                ("1950", Some(Element { array: 7, index: 0 })),
                ("1982", one)
            ]
        );
        let mut second = Fields::new();
        f.select_into(&mut second, |_, e, _| e.is_none_or(|e| e.index == 1));
        assert_eq!(second.to_vecs(), [vec!["C1"], vec![""], vec!["1982"]]);
        assert_eq!(second.elements(2).next(), Some(("1982", one)));
        assert!(!second.has_value(1));
        // Reused, it keeps nothing of what it held.
        f.select_into(&mut second, |col, _, _| col == 0);
        assert_eq!(second.to_vecs(), [vec!["C1"], vec![], vec![]]);
    }

    #[test]
    fn reuse_leaves_no_trace_of_the_previous_record() {
        let mut f = record(2, &[(0, b"long value"), (1, b"x")], TextEncoding::Utf8);
        f.begin(2);
        f.push_bytes(1, b"y");
        f.finish(TextEncoding::Utf8);
        assert_eq!((f.get(0), f.get(1)), ("", "y"));
        assert_eq!(format!("{f:?}"), "Fields { columns: 2, values: 1, .. }");
    }
}
