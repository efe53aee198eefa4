//! Progress of long computations — bootstrap replicates, random starts — reported to whoever
//! embeds strata, as the `log` crate reports messages: a library loop opens a [`Task`] with
//! [`task`] and calls [`Task::advance`] as each unit of work ends; an application installs one
//! [`Observer`] with [`set_observer`] (the `strata` command line draws a progress bar on a
//! terminal). Without an observer a task does nothing but one atomic load.
//!
//! Only the outermost task is reported: a task opened while another is open (the random starts
//! of each refit inside a bootstrap, tasks on other threads) is silent, so an observer sees one
//! task at a time and its count never runs backwards.
//!
//! ```
//! use strata_core::progress;
//!
//! let task = progress::task("bootstrap replicates", 100);
//! for _ in 0..100 {
//!     // … one replicate …
//!     task.advance(1);
//! }
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// What an application does with progress: draw a bar, write a log line, update a GUI.
pub trait Observer: Send + Sync {
    /// A task of `total` units, described by `what`, has started.
    fn start(&self, what: &str, total: u64);
    /// `units` more units of the current task have ended (called from any thread).
    fn advance(&self, units: u64);
    /// The current task has ended, whole or not (an error ends it early).
    fn finish(&self);
}

static OBSERVER: OnceLock<Box<dyn Observer>> = OnceLock::new();

/// Whether a reported task is open.
static OPEN: AtomicBool = AtomicBool::new(false);

/// Installs the observer of this process's progress; only the first call has an effect.
///
/// # Errors
/// The observer given, when one was installed already.
pub fn set_observer(observer: Box<dyn Observer>) -> Result<(), Box<dyn Observer>> {
    OBSERVER.set(observer)
}

/// A task being reported, or a silent one (no observer, or another task open); it finishes
/// when dropped.
#[must_use = "a task finishes when dropped"]
pub struct Task {
    observer: Option<&'static dyn Observer>,
}

/// Opens a task of `total` units described by `what`.
pub fn task(what: &str, total: u64) -> Task {
    let observer = OBSERVER
        .get()
        .filter(|_| OPEN.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_ok())
        .map(AsRef::as_ref);
    if let Some(observer) = observer {
        observer.start(what, total);
    }
    Task { observer }
}

impl Task {
    /// Reports that `units` more units have ended.
    pub fn advance(&self, units: u64) {
        if let Some(observer) = self.observer {
            observer.advance(units);
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if let Some(observer) = self.observer {
            observer.finish();
            OPEN.store(false, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;

    /// Counts what it is told.
    struct Counter {
        started: AtomicU64,
        units: AtomicU64,
        finished: AtomicU64,
    }

    impl Observer for Arc<Counter> {
        fn start(&self, _: &str, _: u64) {
            self.started.fetch_add(1, Ordering::Relaxed);
        }
        fn advance(&self, units: u64) {
            self.units.fetch_add(units, Ordering::Relaxed);
        }
        fn finish(&self) {
            self.finished.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn only_the_outermost_task_is_reported() {
        let counter =
            Arc::new(Counter { started: AtomicU64::new(0), units: AtomicU64::new(0), finished: AtomicU64::new(0) });
        assert!(set_observer(Box::new(Arc::clone(&counter))).is_ok());
        {
            let outer = task("replicates", 3);
            for _ in 0..3 {
                let inner = task("starts", 10);
                inner.advance(10);
                outer.advance(1);
            }
        }
        let again = task("again", 1);
        again.advance(1);
        drop(again);
        assert_eq!(counter.started.load(Ordering::Relaxed), 2);
        assert_eq!(counter.units.load(Ordering::Relaxed), 4);
        assert_eq!(counter.finished.load(Ordering::Relaxed), 2);
    }
}
