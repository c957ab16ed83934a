//! `Once` with std's API: the initialization releases into the `Once`'s clock before it
//! completes (or, if it panics, before the `Once` is poisoned: the next initializer, which
//! `call_once_force` runs, is ordered after it, as in std), and every call that observes
//! completion acquires it.

use crate::rt::thread::SyncClock;
use std::fmt;
use std::sync::OnceState;

/// A one-time initialization whose completion maprace sees. See [`std::sync::Once`].
///
/// ```
/// use maprace::sync::Once;
///
/// static INIT: Once = Once::new();
/// INIT.call_once(|| println!("initialized"));
/// assert!(INIT.is_completed());
/// ```
pub struct Once {
    clock: SyncClock,
    inner: std::sync::Once,
}

impl Once {
    /// Creates a new `Once`. See [`std::sync::Once::new`].
    #[must_use]
    #[allow(clippy::new_without_default)] // std's `Once` has no `Default` either
    pub const fn new() -> Once {
        Once {
            clock: SyncClock::new(),
            inner: std::sync::Once::new(),
        }
    }

    /// Runs `f` once; every call returns after it completed. See [`std::sync::Once::call_once`].
    #[track_caller]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        self.inner.call_once(|| {
            let _released = ReleaseAtEnd(&self.clock);
            f();
        });
        self.clock.acquire();
    }

    /// `call_once` that also runs after an earlier initializer panicked.
    /// See [`std::sync::Once::call_once_force`].
    #[track_caller]
    pub fn call_once_force<F: FnOnce(&OnceState)>(&self, f: F) {
        self.inner.call_once_force(|state| {
            self.clock.acquire(); // an initializer that panicked before this one
            let _released = ReleaseAtEnd(&self.clock);
            f(state);
        });
        self.clock.acquire();
    }

    /// Whether the initialization completed. See [`std::sync::Once::is_completed`].
    pub fn is_completed(&self) -> bool {
        let done = self.inner.is_completed();
        if done {
            self.clock.acquire();
        }
        done
    }

    /// Blocks until the initialization completed. See [`std::sync::Once::wait`].
    pub fn wait(&self) {
        self.inner.wait();
        self.clock.acquire();
    }

    /// `wait` that also returns after an initializer panicked.
    /// See [`std::sync::Once::wait_force`].
    pub fn wait_force(&self) {
        self.inner.wait_force();
        self.clock.acquire();
    }
}

/// An initializer's end, when it returns or unwinds: releases into the clock of its `Once` (or
/// `OnceLock`), before std (or parking_lot) marks it complete or poisoned.
pub(crate) struct ReleaseAtEnd<'a>(pub(crate) &'a SyncClock);

impl Drop for ReleaseAtEnd<'_> {
    fn drop(&mut self) {
        self.0.release();
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}
