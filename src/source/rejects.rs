//! The rejects file (`--rejects FILE` of `index` and `match`): one line per record
//! that could not be read, `dataset,row,offset,reason`. It holds positions and
//! reasons, never values, but it points into leaked data, so it is created readable
//! by its owner only.

use super::Reject;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// The first line of a rejects file.
pub const REJECTS_HEADER: &str = "dataset,row,offset,reason\n";

/// Create (or truncate) a rejects file, mode 0600, also when it existed with a wider
/// mode (the mode given at creation does not apply to an existing file). The caller
/// writes [`REJECTS_HEADER`] first.
pub fn create_rejects_file(path: &Path) -> io::Result<BufWriter<File>> {
    // A device or FIFO (`/dev/null`, a pipe to a reader) is written as it is: never
    // read, truncated or re-permissioned.
    if let crate::outfile::Destination::Special(special) = crate::outfile::destination(path) {
        let file = crate::outfile::open_in_place(&special)?;
        return Ok(BufWriter::with_capacity(64 << 10, file));
    }
    // `--rejects` pointed at a dump or a register by mistake would destroy it: only
    // an empty file or an earlier rejects file is replaced.
    if let Ok(existing) = File::open(path) {
        use std::io::Read;
        let mut head = Vec::with_capacity(REJECTS_HEADER.len());
        existing
            .take(REJECTS_HEADER.len() as u64)
            .read_to_end(&mut head)?;
        if !head.is_empty() && head != REJECTS_HEADER.as_bytes() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "it exists and is not a rejects file (its first line is not \"dataset,row,offset,reason\"); it will not be overwritten: choose another file",
            ));
        }
    }
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(BufWriter::with_capacity(64 << 10, file))
}

/// Write one rejected record of `dataset`.
pub fn write_reject(out: &mut dyn Write, dataset: &str, r: &Reject) -> io::Result<()> {
    writeln!(
        out,
        "{},{},{},{}",
        csv_field(dataset),
        r.row,
        r.offset,
        r.reason
    )
}

/// `s` as one CSV field, quoted only when it must be.
pub fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        std::borrow::Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::RejectReason;

    #[test]
    fn only_an_empty_file_or_an_earlier_rejects_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("r.csv");
        for (before, replaced) in [
            ("", true),
            (
                "dataset,row,offset,reason\na.csv,2,10,wrong number of fields\n",
                true,
            ),
            (
                "first_name,last_name,email\nJane,Doe,j@example.com\n",
                false,
            ),
            ("dataset", false),
        ] {
            std::fs::write(&path, before).unwrap_or_else(|e| panic!("{e}"));
            let made = create_rejects_file(&path);
            assert_eq!(made.is_ok(), replaced, "{before:?}");
            if !replaced {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                assert_eq!(text, before, "left as it was");
            }
        }
    }

    #[test]
    fn lines_quote_dataset_names_and_file_is_private() {
        let r = Reject {
            dataset: 0,
            row: 7,
            offset: 120,
            len: 9,
            reason: RejectReason::FieldCount,
        };
        let mut out = Vec::new();
        write_reject(&mut out, "a,b.csv", &r).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a,b.csv\",7,120,wrong number of fields\n"
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rejects.csv");
        let mut f = create_rejects_file(&path).unwrap();
        f.write_all(REJECTS_HEADER.as_bytes()).unwrap();
        write_reject(&mut f, "x.csv", &r).unwrap();
        f.flush().unwrap();
        drop(f);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(REJECTS_HEADER));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            // A file that existed, readable by all, is made private too.
            let old = dir.path().join("old.csv");
            std::fs::write(&old, REJECTS_HEADER).unwrap();
            std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
            drop(create_rejects_file(&old).unwrap());
            let mode = std::fs::metadata(&old).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
