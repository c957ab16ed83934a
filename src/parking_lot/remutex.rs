//! `ReentrantMutex`: lock_api's reentrant mutex over maprace's `RawMutex`. lock_api takes the
//! raw lock only at a thread's outermost lock and gives it up at its outermost unlock, which is
//! where the edges belong (the inner ones are the same thread's). A reentrant mutex cannot
//! deadlock on its own holder (lock_api never asks the raw lock twice), so only cycles through
//! other threads are reported; its raw lock is `RawMutex` under another name for the reports.

use super::mutex::RawMutex;
use crate::rt::deadlock;
use crate::rt::site::{Op, Site};
use parking_lot::RawThreadId;
use parking_lot::lock_api::{self, GetThreadId as _, RawMutex as _};
use std::panic::Location;
use std::time::{Duration, Instant};

/// A mutex that its holder may lock again, whose locking maprace sees. See
/// [`parking_lot::ReentrantMutex`](https://docs.rs/parking_lot/0.12/parking_lot/type.ReentrantMutex.html).
///
/// ```
/// use maprace::parking_lot::ReentrantMutex;
/// use std::cell::RefCell;
///
/// let log = ReentrantMutex::new(RefCell::new(maprace::HashMap::new()));
/// let outer = log.lock();
/// log.lock().borrow_mut().insert(1, "inner");
/// assert_eq!(outer.borrow()[&1], "inner");
/// ```
pub type ReentrantMutex<T> = lock_api::ReentrantMutex<RawReentrantMutex, RawThreadId, T>;

/// The lock held. See parking_lot's `ReentrantMutexGuard`.
pub type ReentrantMutexGuard<'a, T> =
    lock_api::ReentrantMutexGuard<'a, RawReentrantMutex, RawThreadId, T>;

/// A guard narrowed by `ReentrantMutexGuard::map`. See parking_lot's
/// `MappedReentrantMutexGuard`.
pub type MappedReentrantMutexGuard<'a, T> =
    lock_api::MappedReentrantMutexGuard<'a, RawReentrantMutex, RawThreadId, T>;

/// Creates a new reentrant mutex in a const context. See parking_lot's
/// `const_reentrant_mutex`.
pub const fn const_reentrant_mutex<T>(val: T) -> ReentrantMutex<T> {
    ReentrantMutex::const_new(RawReentrantMutex::INIT, RawThreadId::INIT, val)
}

/// The raw lock of a `ReentrantMutex`: maprace's `RawMutex`, named as the reentrant mutex in
/// deadlock reports.
pub struct RawReentrantMutex(RawMutex);

const TAG: &deadlock::Tag = &deadlock::PL_REENTRANT_MUTEX;

// SAFETY: it is `RawMutex`'s lock, locked and unlocked exactly as lock_api asks.
unsafe impl lock_api::RawMutex for RawReentrantMutex {
    #[allow(clippy::declare_interior_mutable_const)] // lock_api's way to build a `static`
    const INIT: RawReentrantMutex = RawReentrantMutex(RawMutex::INIT);

    type GuardMarker = <RawMutex as lock_api::RawMutex>::GuardMarker;

    #[inline]
    #[track_caller]
    fn lock(&self) {
        self.0.lock_at(Site::new(Op::Lock, Location::caller()), TAG);
    }

    #[inline]
    #[track_caller]
    fn try_lock(&self) -> bool {
        let site = Site::new(Op::Lock, Location::caller());
        self.0.if_locked(self.0.raw().try_lock(), site, TAG)
    }

    #[inline]
    unsafe fn unlock(&self) {
        // SAFETY: lock_api's contract, passed on.
        unsafe { self.0.unlock() };
    }

    #[inline]
    fn is_locked(&self) -> bool {
        self.0.is_locked()
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawMutexFair for RawReentrantMutex {
    #[inline]
    unsafe fn unlock_fair(&self) {
        // SAFETY: lock_api's contract, passed on.
        unsafe { lock_api::RawMutexFair::unlock_fair(&self.0) };
    }

    #[inline]
    unsafe fn bump(&self) {
        // SAFETY: lock_api's contract, passed on.
        unsafe { lock_api::RawMutexFair::bump(&self.0) };
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawMutexTimed for RawReentrantMutex {
    type Duration = Duration;
    type Instant = Instant;

    #[inline]
    #[track_caller]
    fn try_lock_for(&self, timeout: Duration) -> bool {
        let site = Site::new(Op::Lock, Location::caller());
        self.0
            .if_locked(self.0.raw().try_lock_for(timeout), site, TAG)
    }

    #[inline]
    #[track_caller]
    fn try_lock_until(&self, timeout: Instant) -> bool {
        let site = Site::new(Op::Lock, Location::caller());
        self.0
            .if_locked(self.0.raw().try_lock_until(timeout), site, TAG)
    }
}
