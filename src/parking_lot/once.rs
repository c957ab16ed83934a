//! `Once` with parking_lot's API: the initialization releases into the `Once`'s clock before it
//! completes (or, if it panics, before the `Once` is poisoned), and every call that observes completion acquires it.

use crate::rt::thread::SyncClock;
use crate::sync::once::ReleaseAtEnd;
use parking_lot::OnceState;
use std::fmt;

/// A one-time initialization whose completion maprace sees. See
/// [`parking_lot::Once`](https://docs.rs/parking_lot/0.12/parking_lot/struct.Once.html).
///
/// ```
/// use maprace::parking_lot::Once;
///
/// static INIT: Once = Once::new();
/// INIT.call_once(|| println!("initialized"));
/// assert!(INIT.state().done());
/// ```
#[derive(Default)]
pub struct Once {
    clock: SyncClock,
    inner: parking_lot::Once,
}

impl Once {
    /// Creates a new `Once`. See parking_lot's `Once::new`.
    #[must_use]
    pub const fn new() -> Once {
        Once {
            clock: SyncClock::new(),
            inner: parking_lot::Once::new(),
        }
    }

    /// The state of the initialization; `Done` acquires it. See parking_lot's `Once::state`.
    #[inline]
    pub fn state(&self) -> OnceState {
        let state = self.inner.state();
        if state.done() {
            self.clock.acquire();
        }
        state
    }

    /// Runs `f` once; every call returns after it completed. See parking_lot's `call_once`.
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        self.inner.call_once(|| {
            let _released = ReleaseAtEnd(&self.clock);
            f();
        });
        self.clock.acquire();
    }

    /// `call_once` that also runs after an earlier initializer panicked.
    /// See parking_lot's `call_once_force`.
    pub fn call_once_force<F: FnOnce(OnceState)>(&self, f: F) {
        self.inner.call_once_force(|state| {
            self.clock.acquire(); // an initializer that panicked before this one
            let _released = ReleaseAtEnd(&self.clock);
            f(state);
        });
        self.clock.acquire();
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}
