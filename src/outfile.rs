//! Where an output file the user named really is.
//!
//! Answers, reports and rejects files are written to a temporary sibling and
//! renamed into place, so that a reader never sees half of one. Renaming over a
//! name replaces whatever the name held: a device (`/dev/null`, which every other
//! program on the machine then writes into as a plain file), a FIFO a reader is
//! waiting on, or a symbolic link (which would become a file, its target never
//! written). [`destination`] says how to write instead.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// How to write an output named by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Something that exists and is not a regular file or directory (a device, a
    /// FIFO, a socket, `/dev/stdout`): opened for appending and written in place,
    /// never renamed over, never truncated or re-permissioned (appending, so that a
    /// `>>` redirection behind `/dev/stdout` keeps what it held).
    Special(PathBuf),
    /// A regular file, or nothing yet: written beside this path (the name given,
    /// with its symbolic links followed) and renamed over it.
    Regular(PathBuf),
}

impl Destination {
    /// The path to open or to write beside.
    pub fn path(&self) -> &Path {
        match self {
            Destination::Special(p) | Destination::Regular(p) => p,
        }
    }
}

/// Opens a [`Destination::Special`] to write in place: appending, never truncating.
pub fn open_in_place(path: &Path) -> io::Result<File> {
    OpenOptions::new().append(true).open(path)
}

/// Whether a file written at `target` lies inside directory `dir`, through links
/// and `..` (a directory not made yet compares by name).
pub fn lies_inside(target: &Path, dir: &Path) -> bool {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match (std::fs::canonicalize(parent), std::fs::canonicalize(dir)) {
        (Ok(parent), Ok(dir)) => parent.starts_with(dir),
        _ => parent == dir,
    }
}

/// How to write `path`. Links are followed one at a time (a relative target is
/// taken from the link's directory, up to 32 links), so that a link to a file
/// that does not exist yet still leads to it.
pub fn destination(path: &Path) -> Destination {
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return Destination::Special(path.to_path_buf());
    }
    let mut at = path.to_path_buf();
    for step in 0..=32 {
        // A loop of links: opened in place, the open fails and says so
        // ("too many levels of symbolic links") instead of the link being replaced.
        if step == 32 {
            return Destination::Special(path.to_path_buf());
        }
        // A name under /proc (`/dev/stdout` → `/proc/self/fd/1` → a file the shell
        // opened, perhaps for appending) stands for an open file: written in place.
        if at.starts_with("/proc") {
            return Destination::Special(path.to_path_buf());
        }
        let is_link = std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            break;
        }
        let Ok(target) = std::fs::read_link(&at) else {
            break;
        };
        at = match at.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
    }
    Destination::Regular(at)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn devices_fifos_and_proc_names_are_written_in_place() {
        assert_eq!(
            destination(Path::new("/dev/null")),
            Destination::Special("/dev/null".into())
        );
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(destination(&fifo), Destination::Special(fifo.clone()));
        let link = dir.path().join("to-fifo");
        symlink(&fifo, &link).unwrap();
        assert_eq!(destination(&link), Destination::Special(link.clone()));
        let fd = Path::new("/proc/self/fd/0");
        assert!(matches!(destination(fd), Destination::Special(_)));
    }

    #[test]
    fn links_lead_to_the_file_they_name_existing_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("answers.csv");
        assert_eq!(destination(&file), Destination::Regular(file.clone()));
        // A dangling relative link, then a link to that link.
        let link = dir.path().join("latest.csv");
        symlink("answers.csv", &link).unwrap();
        assert_eq!(destination(&link), Destination::Regular(file.clone()));
        let again = dir.path().join("again.csv");
        symlink(&link, &again).unwrap();
        assert_eq!(destination(&again), Destination::Regular(file.clone()));
        std::fs::write(&file, "x").unwrap();
        assert_eq!(destination(&again), Destination::Regular(file));
    }
}
