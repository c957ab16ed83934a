//! `Mutex`: lock_api's mutex over maprace's `RawMutex`, which wraps parking_lot's raw mutex and
//! makes `maprace::sync::Mutex`'s edge, through the same `LockedClock`: each unlock releases the
//! thread's clock into the lock's *before* the real unlock, each lock acquires it *after* the
//! real lock. Every way lock_api locks or unlocks (guards, `unlocked`, `bump`, `unlock_fair`,
//! `try_lock_for`, `force_unlock`, a `Condvar` wait) goes through these methods.

use crate::rt::thread::LockedClock;
use parking_lot::lock_api::{self, RawMutex as _};
use std::time::{Duration, Instant};

/// A mutual exclusion primitive whose lock and unlock maprace sees. See
/// [`parking_lot::Mutex`](https://docs.rs/parking_lot/0.12/parking_lot/type.Mutex.html); the
/// API is parking_lot's (no poisoning, the guard returned directly).
///
/// ```
/// use maprace::parking_lot::Mutex;
/// use std::sync::Arc;
///
/// let scores = Arc::new(Mutex::new(maprace::HashMap::new()));
/// let writer = {
///     let scores = Arc::clone(&scores);
///     std::thread::spawn(move || {
///         scores.lock().insert("ada", 1);
///     })
/// };
/// scores.lock().insert("bob", 2);
/// writer.join().unwrap();
/// assert_eq!(scores.lock().len(), 2);
/// ```
pub type Mutex<T> = lock_api::Mutex<RawMutex, T>;

/// The lock held: dropping it unlocks the mutex. See parking_lot's `MutexGuard`.
pub type MutexGuard<'a, T> = lock_api::MutexGuard<'a, RawMutex, T>;

/// A guard narrowed to a part of the data by `MutexGuard::map`. See parking_lot's
/// `MappedMutexGuard`.
pub type MappedMutexGuard<'a, T> = lock_api::MappedMutexGuard<'a, RawMutex, T>;

/// Creates a new mutex in a const context (a `static`). See parking_lot's `const_mutex`.
///
/// ```
/// use maprace::parking_lot::{Mutex, const_mutex};
///
/// static COUNT: Mutex<u32> = const_mutex(0);
/// *COUNT.lock() += 1;
/// assert_eq!(*COUNT.lock(), 1);
/// ```
pub const fn const_mutex<T>(val: T) -> Mutex<T> {
    Mutex::const_new(RawMutex::INIT, val)
}

/// parking_lot's raw mutex with the lock's clock. It holds parking_lot's lock as a
/// `parking_lot::Mutex<()>` (one byte, as its raw mutex is) so that `Condvar` can hand it to
/// parking_lot's condvar.
///
/// Laid out as `maprace::sync::Mutex` is, for threads that take turns: the clock and the lock's
/// word in one cache line, and the data (which lock_api places after this) on the next.
#[repr(C, align(64))]
pub struct RawMutex {
    clock: LockedClock,
    inner: parking_lot::Mutex<()>,
}

impl RawMutex {
    /// parking_lot's raw lock inside.
    #[inline(always)]
    fn raw(&self) -> &parking_lot::RawMutex {
        // SAFETY: `raw` only gives access to the lock word; the `()` it guards is never touched,
        // and this type locks and unlocks it exactly as lock_api asks of a raw mutex.
        unsafe { self.inner.raw() }
    }

    /// The lock has just been taken.
    #[inline(always)]
    fn locked(&self) {
        // SAFETY: the real lock is held (the caller just took it).
        unsafe { self.clock.acquire() };
    }

    /// The lock is about to be given up.
    #[inline(always)]
    fn unlocking(&self) {
        // SAFETY: the real lock is still held (the caller unlocks it next).
        unsafe { self.clock.release() };
    }

    /// For `Condvar`: parking_lot's guard of the lock this thread holds, and the clock.
    ///
    /// # Safety
    /// The current thread holds this lock, and the guard returned is never dropped (the lock
    /// stays the user's guard's to unlock): the caller forgets it.
    pub(super) unsafe fn parts(&self) -> (parking_lot::MutexGuard<'_, ()>, &LockedClock) {
        // SAFETY: the caller's contract: the lock is held.
        (unsafe { self.inner.make_guard_unchecked() }, &self.clock)
    }
}

// SAFETY: parking_lot's raw mutex gives mutual exclusion; the clock is touched only while it is
// held (after a lock succeeds, before an unlock).
unsafe impl lock_api::RawMutex for RawMutex {
    #[allow(clippy::declare_interior_mutable_const)] // lock_api's way to build a `static`
    const INIT: RawMutex = RawMutex {
        clock: LockedClock::new(),
        inner: parking_lot::const_mutex(()),
    };

    type GuardMarker = <parking_lot::RawMutex as lock_api::RawMutex>::GuardMarker;

    #[inline]
    fn lock(&self) {
        self.raw().lock();
        self.locked();
    }

    #[inline]
    fn try_lock(&self) -> bool {
        let locked = self.raw().try_lock();
        if locked {
            self.locked();
        }
        locked
    }

    #[inline]
    unsafe fn unlock(&self) {
        self.unlocking();
        // SAFETY: lock_api's contract: the lock is held in the current context.
        unsafe { self.raw().unlock() };
    }

    #[inline]
    fn is_locked(&self) -> bool {
        self.raw().is_locked()
    }
}

// SAFETY: as for `RawMutex`; a fair unlock is an unlock.
unsafe impl lock_api::RawMutexFair for RawMutex {
    #[inline]
    unsafe fn unlock_fair(&self) {
        self.unlocking();
        // SAFETY: lock_api's contract: the lock is held.
        unsafe { self.raw().unlock_fair() };
    }

    #[inline]
    unsafe fn bump(&self) {
        // parking_lot hands the lock to a waiter, if there is one, and takes it back: an
        // unlock and a lock. (With no waiter, the release and acquire keep the same epoch.)
        self.unlocking();
        // SAFETY: lock_api's contract: the lock is held.
        unsafe { self.raw().bump() };
        self.locked();
    }
}

// SAFETY: as for `RawMutex`.
unsafe impl lock_api::RawMutexTimed for RawMutex {
    type Duration = Duration;
    type Instant = Instant;

    #[inline]
    fn try_lock_for(&self, timeout: Duration) -> bool {
        let locked = self.raw().try_lock_for(timeout);
        if locked {
            self.locked();
        }
        locked
    }

    #[inline]
    fn try_lock_until(&self, timeout: Instant) -> bool {
        let locked = self.raw().try_lock_until(timeout);
        if locked {
            self.locked();
        }
        locked
    }
}

#[cfg(test)]
mod tests {
    use super::Mutex;

    #[test]
    fn the_clock_and_the_lock_word_share_a_line_and_the_data_starts_the_next() {
        let mutex = Mutex::new(0u64);
        let start = &mutex as *const Mutex<u64> as usize;
        let data = &*mutex.lock() as *const u64 as usize;
        assert_eq!(start % 64, 0);
        assert_eq!(data - start, 64);
    }
}
