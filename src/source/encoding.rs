//! Deciding a file's text encoding: UTF-8 (with or without BOM), Windows-1252, or
//! mostly UTF-8 with a few bad bytes (decoded field by field).

use super::{PASS_WINDOW, Release};
use rayon::prelude::*;
use std::fmt;

/// How a file's bytes become text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TextEncoding {
    /// Valid UTF-8 throughout.
    Utf8,
    /// Valid UTF-8 after a byte-order mark.
    Utf8Bom,
    /// Not UTF-8: every non-ASCII value is read as Windows-1252.
    Windows1252,
    /// Mostly UTF-8 with some invalid bytes: each value that is not valid UTF-8 is
    /// read as Windows-1252, the others as UTF-8.
    Mixed,
}

impl fmt::Display for TextEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Utf8Bom => "utf-8 (bom)",
            TextEncoding::Windows1252 => "windows-1252",
            TextEncoding::Mixed => "utf-8 with windows-1252 fields",
        })
    }
}

/// The UTF-8 byte-order mark.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Counts from one block of the file.
#[derive(Default, Clone, Copy)]
struct Tally {
    /// Valid multi-byte UTF-8 characters.
    utf8_chars: u64,
    /// Invalid UTF-8 sequences.
    invalid: u64,
}

fn tally(block: &[u8]) -> Tally {
    let mut t = Tally::default();
    if block.is_ascii() {
        // Most blocks of most dumps: nothing to count.
        return t;
    }
    let mut rest = block;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                t.utf8_chars += lead_bytes(s.as_bytes());
                return t;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                t.utf8_chars += lead_bytes(good);
                match e.error_len() {
                    Some(n) => {
                        t.invalid += 1;
                        rest = bad.get(n..).unwrap_or(&[]);
                    }
                    // A character cut by the block's end (or the file's): not evidence.
                    None => return t,
                }
            }
        }
    }
}

/// Bytes of `valid` that start a multi-byte character (`0xC0..`), counted eight at
/// a time: a byte has its top two bits set exactly when bit 7 of the byte and of
/// the byte shifted left by one are both set.
fn lead_bytes(valid: &[u8]) -> u64 {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let (words, rest) = valid.as_chunks::<8>();
    let mut n = 0u64;
    for w in words {
        let w = u64::from_le_bytes(*w);
        n += u64::from((w & (w << 1) & HIGH).count_ones());
    }
    n + rest.iter().filter(|&&b| b >= 0xC0).count() as u64
}

/// Decide the encoding of a whole file. Runs in parallel on the current rayon pool,
/// one window of blocks at a time, telling `release` where each window ends.
pub(crate) fn detect(data: &[u8], release: Release<'_>) -> TextEncoding {
    const BLOCK: usize = 1 << 20;
    let bom = data.starts_with(BOM);
    let start = if bom { BOM.len() } else { 0 };
    let body = &data[start..];
    let per_window = (PASS_WINDOW / BLOCK).max(1);
    let mut total = Tally::default();
    for (w, window) in body.chunks(BLOCK * per_window).enumerate() {
        let t = tally_window(window, w == 0);
        total.utf8_chars += t.utf8_chars;
        total.invalid += t.invalid;
        release(start + (w + 1) * BLOCK * per_window);
    }
    if total.invalid == 0 {
        if bom {
            TextEncoding::Utf8Bom
        } else {
            TextEncoding::Utf8
        }
    } else if total.utf8_chars > total.invalid || bom {
        // Mostly UTF-8: the bad bytes are the exception, decode them one field at a time.
        TextEncoding::Mixed
    } else {
        TextEncoding::Windows1252
    }
}

/// Tally one window in parallel blocks. Windows and blocks are both multiples of
/// the block size, so a character cut at a window edge is handled like one cut at a
/// block edge.
fn tally_window(window: &[u8], first: bool) -> Tally {
    const BLOCK: usize = 1 << 20;
    window
        .par_chunks(BLOCK)
        .enumerate()
        .map(|(i, block)| {
            // Continuation bytes at a block's start finish a character that the
            // previous block saw cut; they are not invalid.
            let skip = if i == 0 && first {
                0
            } else {
                block
                    .iter()
                    .take(3)
                    .take_while(|&&b| (0x80..0xC0).contains(&b))
                    .count()
            };
            tally(block.get(skip..).unwrap_or(&[]))
        })
        .reduce(Tally::default, |a, b| Tally {
            utf8_chars: a.utf8_chars + b.utf8_chars,
            invalid: a.invalid + b.invalid,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::keep_pages;

    #[test]
    fn plain_ascii_is_utf8() {
        assert_eq!(detect(b"a,b\n1,2\n", &keep_pages), TextEncoding::Utf8);
        assert_eq!(detect(b"", &keep_pages), TextEncoding::Utf8);
    }

    #[test]
    fn bom_is_reported() {
        assert_eq!(
            detect("\u{FEFF}name\nZoë\n".as_bytes(), &keep_pages),
            TextEncoding::Utf8Bom
        );
    }

    #[test]
    fn cp1252_bytes_make_a_windows_1252_file() {
        assert_eq!(
            detect(b"name\nZo\xEB\nSi\xE2n\n", &keep_pages),
            TextEncoding::Windows1252
        );
    }

    #[test]
    fn a_few_bad_bytes_in_utf8_make_a_mixed_file() {
        let mut data = "name\nZoë\nSiân\nRenée\n".as_bytes().to_vec();
        data.extend_from_slice(b"Zo\xEB\n");
        assert_eq!(detect(&data, &keep_pages), TextEncoding::Mixed);
    }

    #[test]
    fn characters_cut_by_block_boundaries_are_not_invalid() {
        let mut data = vec![b'a'; (1 << 20) - 1];
        for _ in 0..1000 {
            data.extend_from_slice("ë".as_bytes());
        }
        assert_eq!(detect(&data, &keep_pages), TextEncoding::Utf8);
    }

    #[test]
    fn characters_cut_by_window_edges_are_not_invalid_and_windows_are_released() {
        let mut data = vec![b'a'; PASS_WINDOW - 1];
        for _ in 0..1000 {
            data.extend_from_slice("ë".as_bytes());
        }
        let released = std::sync::Mutex::new(Vec::new());
        let release = |end: usize| {
            if let Ok(mut r) = released.lock() {
                r.push(end);
            }
        };
        assert_eq!(detect(&data, &release), TextEncoding::Utf8);
        let released = released.into_inner().unwrap_or_default();
        assert_eq!(released.first(), Some(&PASS_WINDOW));
        assert!(released.last().is_some_and(|&e| e >= data.len()));
        assert!(released.windows(2).all(|w| w[0] < w[1]));
    }

    proptest::proptest! {
        #[test]
        fn lead_bytes_counts_bytes_from_0xc0(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..100)) {
            let plain = bytes.iter().filter(|&&b| b >= 0xC0).count() as u64;
            proptest::prop_assert_eq!(lead_bytes(&bytes), plain);
        }
    }

    #[test]
    fn truncated_character_at_the_end_is_not_evidence() {
        assert_eq!(detect(b"Zo\xC3", &keep_pages), TextEncoding::Utf8);
    }
}
