//! What a dump file was when it was opened: its size, modification time and
//! identity, taken from the open file. An index records these (and a checksum of
//! the bytes mapped) rather than what the file is by the time the build ends, and
//! a build compares them with the file at its end to notice a dump that changed
//! while it was being read.

use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// A file's size, modification time and identity at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStamp {
    path: PathBuf,
    size: u64,
    modified: Option<SystemTime>,
    /// Device and inode: a file renamed over the original is another file, even
    /// with the same size and time.
    identity: Option<(u64, u64)>,
}

impl FileStamp {
    /// The stamp of `path` from its metadata (of the open file, so that it
    /// describes the very file read).
    pub fn of(path: &Path, meta: &Metadata) -> FileStamp {
        #[cfg(unix)]
        let identity = {
            use std::os::unix::fs::MetadataExt;
            Some((meta.dev(), meta.ino()))
        };
        #[cfg(not(unix))]
        let identity = None;
        FileStamp {
            path: path.to_path_buf(),
            size: meta.len(),
            modified: meta.modified().ok(),
            identity,
        }
    }

    /// The path the file was opened by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Modification time in whole seconds since the Unix epoch (0 if unknown), as
    /// an index records it.
    pub fn modified_secs(&self) -> u64 {
        self.modified
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs())
    }

    /// True when the file at the path still has this size, modification time (to
    /// the file system's precision) and identity; false when it has changed or is
    /// gone.
    pub fn is_current(&self) -> bool {
        std::fs::metadata(&self.path).is_ok_and(|meta| FileStamp::of(&self.path, &meta) == *self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn stamp(path: &Path) -> FileStamp {
        FileStamp::of(path, &std::fs::metadata(path).unwrap())
    }

    #[test]
    fn a_stamp_notices_growth_rewrites_and_removal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        std::fs::write(&path, "email\nj@example.com\n").unwrap();
        let before = stamp(&path);
        assert!(before.is_current());
        assert_eq!(before.size(), 20);
        assert!(before.modified_secs() > 0);

        // Appended to.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"k@example.com\n").unwrap();
        drop(f);
        assert!(!before.is_current());

        // Replaced by another file of the same size and time.
        let now = stamp(&path);
        let other = dir.path().join("b.csv");
        std::fs::write(&other, std::fs::read(&path).unwrap()).unwrap();
        let file = std::fs::File::options().write(true).open(&other).unwrap();
        file.set_modified(std::fs::metadata(&path).unwrap().modified().unwrap())
            .unwrap();
        drop(file);
        std::fs::rename(&other, &path).unwrap();
        assert_eq!(stamp(&path).size(), now.size());
        assert!(!now.is_current());

        let replaced = stamp(&path);
        std::fs::remove_file(&path).unwrap();
        assert!(!replaced.is_current());
    }
}
