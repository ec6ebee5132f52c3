//! File-system helpers for writing durably: directory fsync, temporary names, and a
//! scratch directory that cleans up after itself.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::IndexError;

/// Makes a rename or file creation inside `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        // Directories cannot be opened for syncing here; renames are durable enough.
        let _ = dir;
        Ok(())
    }
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A hidden sibling name for `path` tagged with `tag`, this process's id and a
/// counter, e.g. `.index.tmp-1234-0`. Used for things not yet (or no longer) in
/// place; the counter keeps two writers in one process apart.
pub(crate) fn sibling_name(path: &Path, tag: &str) -> Result<PathBuf, IndexError> {
    let name = path.file_name().ok_or_else(|| {
        IndexError::InvalidInput(format!(
            "{} does not name a file or directory",
            path.display()
        ))
    })?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    Ok(parent_of(path).join(format!(
        ".{}.{tag}-{}-{n}",
        name.to_string_lossy(),
        std::process::id()
    )))
}

/// A private directory for temporary files, removed (with its contents) on drop.
#[derive(Debug)]
pub(crate) struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    pub(crate) fn new_in(parent: &Path) -> Result<ScratchDir, IndexError> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = parent.join(format!(".scratch-{}-{n}", std::process::id()));
        fs::create_dir_all(&path).map_err(|e| IndexError::write_path(&path, e))?;
        Ok(ScratchDir { path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Best effort: a leftover scratch directory only wastes space.
        let _ = fs::remove_dir_all(&self.path);
    }
}
