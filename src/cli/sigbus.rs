//! A one-line error instead of a bare crash when a mapped file shrinks under us.
//!
//! Dumps (and index segments) are memory-mapped. If another program truncates a
//! mapped file, reading the pages that are gone raises SIGBUS, whose default action
//! kills the process without a word (exit 135 from a shell). The handler installed
//! here writes a fixed message to stderr and exits with status 2, like any other
//! error. It cannot unwind or clean up: a build's temporary directory is left for
//! the next build to remove (`IndexWriter` removes those of processes that are
//! gone), and the index at `--out` is untouched.

/// What the handler writes: fixed, since formatting is not async-signal-safe.
pub(crate) const MESSAGE: &[u8] = b"leakscope: error: a file shrank while it was being read \
(another program truncated or rewrote a dump or the index); stopped before finishing, nothing \
was replaced: run again once the files are stable\n";

extern "C" fn on_sigbus(_signal: libc::c_int) {
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
    fn the_handler_is_installed_for_sigbus() {
        install().unwrap();
        assert_eq!(current_handler(), handler_address());
        // One line, naming no file or value.
        let text = std::str::from_utf8(MESSAGE).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(text.starts_with("leakscope: error: ") && text.ends_with('\n'));
    }
}
