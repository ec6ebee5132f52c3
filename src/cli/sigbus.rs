//! A one-line error instead of a bare crash when a mapped file shrinks under us.
//!
//! Dumps (and index segments) are memory-mapped. If another program truncates a
//! mapped file, reading the pages that are gone raises SIGBUS, whose default action
//! kills the process without a word (exit 135 from a shell). The handler installed
//! here writes a fixed message to stderr and exits with status 2, like any other
//! error. It cannot unwind: a build's temporary directory is left for the next
//! build to remove (`IndexWriter` removes those of processes that are gone), and
//! the index at `--out` is untouched. The temporary files registered with
//! [`remove_on_crash`] (a `match` output being written) are unlinked first, since
//! nothing else would ever remove them.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};

/// Paths the handler unlinks: NUL-terminated, or null for a free slot.
static DOOMED: [AtomicPtr<libc::c_char>; 8] = [const { AtomicPtr::new(null_mut()) }; 8];

/// While alive, the registered file is unlinked if the process dies of SIGBUS.
pub(crate) struct RemovedOnCrash {
    slot: Option<usize>,
}

/// Registers `path` (a temporary file of ours) to be unlinked by the SIGBUS
/// handler, until the returned guard is dropped. With every slot taken the file
/// is simply not registered.
pub(crate) fn remove_on_crash(path: &Path) -> RemovedOnCrash {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return RemovedOnCrash { slot: None };
    };
    // Never freed: the handler may be reading it on another thread when the guard
    // drops, and a few bytes per temporary file are cheap.
    let ptr = c.into_raw();
    let slot = DOOMED.iter().position(|s| {
        s.compare_exchange(null_mut(), ptr, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    });
    RemovedOnCrash { slot }
}

impl Drop for RemovedOnCrash {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.and_then(|i| DOOMED.get(i)) {
            slot.store(null_mut(), Ordering::Release);
        }
    }
}

/// What the handler writes: fixed, since formatting is not async-signal-safe.
pub(crate) const MESSAGE: &[u8] = b"leakscope: error: a file shrank while it was being read \
(another program truncated or rewrote a dump or the index); stopped before finishing, nothing \
was replaced: run again once the files are stable\n";

extern "C" fn on_sigbus(_signal: libc::c_int) {
    for slot in &DOOMED {
        let path = slot.load(Ordering::Acquire);
        if !path.is_null() {
            // SAFETY: unlink(2) is async-signal-safe, and a non-null slot holds a
            // NUL-terminated string from `CString::into_raw` that is never freed.
            unsafe {
                libc::unlink(path);
            }
        }
    }
    // SAFETY: write(2) and _exit(2) are async-signal-safe, and MESSAGE is a static
    // byte string valid for its whole length. Nothing else runs here: no
    // allocation, no lock, no unwinding.
    unsafe {
        let _ = libc::write(libc::STDERR_FILENO, MESSAGE.as_ptr().cast(), MESSAGE.len());
        libc::_exit(2);
    }
}

/// The handler as `sigaction` takes it.
fn handler_address() -> libc::sighandler_t {
    on_sigbus as extern "C" fn(libc::c_int) as libc::sighandler_t
}

/// Installs the SIGBUS handler for the whole process (every thread).
pub(crate) fn install() -> std::io::Result<()> {
    // SAFETY: `action` is fully initialised (zeroed, then the handler and an empty
    // mask set) before sigaction reads it, and a null old-action pointer is allowed.
    // The handler itself only makes async-signal-safe calls (see `on_sigbus`).
    let status = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler_address();
        libc::sigemptyset(&mut action.sa_mask);
        action.sa_flags = 0;
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut())
    };
    if status == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current_handler() -> libc::sighandler_t {
        // SAFETY: a null new action only reads the current one into `old`, which
        // is a valid, writable sigaction.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            assert_eq!(libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut old), 0);
            old.sa_sigaction
        }
    }

    #[test]
    fn a_registered_file_holds_a_slot_until_its_guard_drops() {
        let guard = remove_on_crash(Path::new("/tmp/.x.tmp-1"));
        let slot = &DOOMED[guard.slot.unwrap()];
        // SAFETY: the slot holds a string from `CString::into_raw`, never freed.
        let held = unsafe { std::ffi::CStr::from_ptr(slot.load(Ordering::Acquire)) };
        assert_eq!(held.to_bytes(), b"/tmp/.x.tmp-1");
        drop(guard);
        assert!(slot.load(Ordering::Acquire).is_null());
    }

    #[test]
    fn the_handler_is_installed_for_sigbus() {
        install().unwrap();
        assert_eq!(current_handler(), handler_address());
        // One line, naming no file or value.
        let text = std::str::from_utf8(MESSAGE).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(text.starts_with("leakscope: error: ") && text.ends_with('\n'));
    }
}
