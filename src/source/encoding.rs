//! Deciding a file's text encoding: UTF-8 (with or without BOM), Windows-1252, or
//! mostly UTF-8 with a few bad bytes (decoded field by field).

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

fn lead_bytes(valid: &[u8]) -> u64 {
    valid.iter().filter(|&&b| b >= 0xC0).count() as u64
}

/// Decide the encoding of a whole file. Runs in parallel on the current rayon pool.
pub(crate) fn detect(data: &[u8]) -> TextEncoding {
    const BLOCK: usize = 1 << 20;
    let bom = data.starts_with(BOM);
    let body = if bom { &data[BOM.len()..] } else { data };
    let total = body
        .par_chunks(BLOCK)
        .enumerate()
        .map(|(i, block)| {
            // Continuation bytes at a block's start finish a character that the
            // previous block saw cut; they are not invalid.
            let skip = if i == 0 {
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
        });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ascii_is_utf8() {
        assert_eq!(detect(b"a,b\n1,2\n"), TextEncoding::Utf8);
        assert_eq!(detect(b""), TextEncoding::Utf8);
    }

    #[test]
    fn bom_is_reported() {
        assert_eq!(
            detect("\u{FEFF}name\nZoë\n".as_bytes()),
            TextEncoding::Utf8Bom
        );
    }

    #[test]
    fn cp1252_bytes_make_a_windows_1252_file() {
        assert_eq!(
            detect(b"name\nZo\xEB\nSi\xE2n\n"),
            TextEncoding::Windows1252
        );
    }

    #[test]
    fn a_few_bad_bytes_in_utf8_make_a_mixed_file() {
        let mut data = "name\nZoë\nSiân\nRenée\n".as_bytes().to_vec();
        data.extend_from_slice(b"Zo\xEB\n");
        assert_eq!(detect(&data), TextEncoding::Mixed);
    }

    #[test]
    fn characters_cut_by_block_boundaries_are_not_invalid() {
        let mut data = vec![b'a'; (1 << 20) - 1];
        for _ in 0..1000 {
            data.extend_from_slice("ë".as_bytes());
        }
        assert_eq!(detect(&data), TextEncoding::Utf8);
    }

    #[test]
    fn truncated_character_at_the_end_is_not_evidence() {
        assert_eq!(detect(b"Zo\xC3"), TextEncoding::Utf8);
    }
}
