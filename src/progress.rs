//! Progress reports and cancellation shared by the CLI and the app.
//!
//! Long stages take a [`Progress`] handle. They call [`Progress::set`] between chunks of
//! work and [`Progress::check`] to stop early when the user cancels; the CLI passes a
//! handle nobody cancels, the app's worker thread passes one its Cancel button sets. Both
//! run the very same code path.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// With `NEEDMAP_TIMINGS` set, prints `what` and the time since `since` on stderr, as
/// `needmap: timing WHAT: 0.123 s` (for benchmarks and profiling; off otherwise).
pub fn lap(what: impl std::fmt::Display, since: std::time::Instant) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("NEEDMAP_TIMINGS").is_some()) {
        eprintln!("needmap: timing {what}: {:.3} s", since.elapsed().as_secs_f64());
    }
}

/// The signal (SIGINT 2, SIGTERM 15) that interrupted the command-line run, or 0.
static INTERRUPTED: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// The signal that interrupted this process's run, if one did (see [`on_interrupt`]).
pub fn interrupted() -> Option<i32> {
    match INTERRUPTED.load(Ordering::Relaxed) {
        0 => None,
        s => Some(s),
    }
}

/// From now on, Ctrl-C (SIGINT) or SIGTERM cancels `progress` (the long stages stop at their
/// next check, and writers do not put an output in place: see `export::atomic`); a second
/// signal ends the process at once. The CLI calls this; the app has its own Cancel.
#[cfg(unix)]
pub fn on_interrupt(progress: &Progress) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else { return };
    let progress = progress.clone();
    std::thread::spawn(move || {
        for sig in signals.forever() {
            if INTERRUPTED.swap(sig, Ordering::SeqCst) != 0 {
                std::process::exit(128 + sig);
            }
            progress.cancel();
        }
    });
}

#[cfg(not(unix))]
pub fn on_interrupt(_progress: &Progress) {}

/// The user cancelled the work; nothing was produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;

/// A cloneable handle: progress written by the worker, read by the UI; cancel set by the UI.
#[derive(Clone, Default)]
pub struct Progress {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    cancel: AtomicBool,
    done: AtomicU64,
    total: AtomicU64,
    stage: Mutex<&'static str>,
}

impl Progress {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a stage named by a stable key (e.g. `"import"`, `"cluster"`); the app
    /// translates the key for display.
    pub fn stage(&self, key: &'static str, total: u64) {
        *self.inner.stage.lock().unwrap_or_else(|e| e.into_inner()) = key;
        self.inner.total.store(total, Ordering::Relaxed);
        self.inner.done.store(0, Ordering::Relaxed);
    }

    /// Records how much of the current stage is done.
    pub fn set(&self, done: u64) {
        self.inner.done.store(done, Ordering::Relaxed);
    }

    /// Adds to the amount done (for parallel chunks).
    pub fn add(&self, n: u64) {
        self.inner.done.fetch_add(n, Ordering::Relaxed);
    }

    /// `(stage key, done, total)`.
    pub fn snapshot(&self) -> (&'static str, u64, u64) {
        let stage = *self.inner.stage.lock().unwrap_or_else(|e| e.into_inner());
        (stage, self.inner.done.load(Ordering::Relaxed), self.inner.total.load(Ordering::Relaxed))
    }

    /// Asks the work to stop at its next check.
    pub fn cancel(&self) {
        self.inner.cancel.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once [`Progress::cancel`] was called.
    #[inline]
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() { Err(Cancelled) } else { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_is_seen_by_clones() {
        let p = Progress::new();
        let q = p.clone();
        assert!(q.check().is_ok());
        p.cancel();
        assert_eq!(q.check(), Err(Cancelled));
    }

    #[test]
    fn stage_resets_counts() {
        let p = Progress::new();
        p.stage("import", 10);
        p.add(4);
        p.add(3);
        assert_eq!(p.snapshot(), ("import", 7, 10));
        p.stage("cluster", 5);
        assert_eq!(p.snapshot(), ("cluster", 0, 5));
    }
}
