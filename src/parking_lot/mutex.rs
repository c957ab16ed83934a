//! `Mutex`: lock_api's mutex over maprace's `RawMutex`, which wraps parking_lot's raw mutex and
//! makes `maprace::sync::Mutex`'s edge, through the same `LockedClock`: each unlock releases the
//! thread's clock into the lock's *before* the real unlock, each lock acquires it *after* the
//! real lock. Every way lock_api locks or unlocks (guards, `unlocked`, `bump`, `unlock_fair`,
//! `try_lock_for`, `force_unlock`, a `Condvar` wait) goes through these methods.
//!
//! Locking a mutex this thread holds is reported (`WARNING: MAP DEADLOCK`) instead of hanging,
//! and so is a cycle of waits through other threads: lock_api's guards keep nothing of
//! maprace's, so the raw lock records its hold in the thread's list when it locks and ends it
//! when it unlocks (`rt::deadlock::Kept`: the hold's place in the list, kept in the lock by its
//! holder), and `lock` checks before it blocks. The sites
//! come from lock_api's `#[track_caller]` methods, which pass the user's line down to these.
//! A timed lock (`try_lock_for`, `try_lock_until`) is not checked: it gives up at its timeout,
//! and a program may rely on that.

use crate::rt::deadlock::{self, Held, Kept, LockCall, LockId, Tag};
use crate::rt::site::{Op, Site};
use crate::rt::thread::{CtxRef, LockedClock};
use parking_lot::lock_api::{self, RawMutex as _};
use std::panic::Location;
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
    /// The lock in deadlock checks' held lists.
    id: LockId,
    /// The holder's hold in its list (in the line's last 8 bytes).
    kept: Kept,
}

impl RawMutex {
    /// parking_lot's raw lock inside.
    #[inline(always)]
    pub(super) fn raw(&self) -> &parking_lot::RawMutex {
        // SAFETY: `raw` only gives access to the lock word; the `()` it guards is never touched,
        // and this type locks and unlocks it exactly as lock_api asks of a raw mutex.
        unsafe { self.inner.raw() }
    }

    /// The thread's held list for a lock call, with the run-time `mode` read by the caller:
    /// none when holds are not recorded (deadlock checks off, or guards that may be sent).
    #[inline(always)]
    fn list(mode: u8) -> Option<&'static Held> {
        if !super::records_holds() {
            return None;
        }
        deadlock::lock_list(mode)
    }

    /// The lock has just been taken, the run-time mode being `mode`.
    #[inline(always)]
    fn locked(&self, mode: u8) {
        if mode & crate::rt::ENABLED != 0
            && let Some(me) = CtxRef::get()
        {
            // SAFETY: the real lock is held (the caller just took it).
            unsafe { self.clock.acquire_by(&me) };
        }
    }

    /// The lock is about to be given up, the run-time mode being `mode`.
    #[inline(always)]
    fn unlocking(&self, mode: u8) {
        if mode & crate::rt::ENABLED != 0
            && let Some(me) = CtxRef::get()
        {
            // SAFETY: the real lock is still held (the caller unlocks it next).
            unsafe { self.clock.release_by(&me) };
        }
    }

    /// Blocks until the lock is held, `lock` having been called at `site` on a lock of type
    /// `tag`: a lock this thread holds is reported instead (a `ReentrantMutex` never asks for
    /// it again). The run-time mode and the held list are read once for the whole call.
    #[inline(always)]
    pub(super) fn lock_at(&self, site: Site, tag: &'static Tag) {
        let mode = crate::rt::mode();
        if mode & crate::rt::ENABLED == 0 {
            // The detector is off: no edge and no hold (both need it on), one test.
            return self.raw().lock();
        }
        let list = RawMutex::list(mode);
        // Nothing held (or no deadlock checks): nothing to check before blocking, and the hold
        // will be the list's first. A path of its own, so that what follows the lock tests
        // nothing again.
        match deadlock::holding_in(list) {
            None => {
                self.raw().lock();
                self.taken(list, true, site, tag);
            }
            Some(held) => {
                deadlock::lock_raw_holding(
                    held,
                    &self.id,
                    LockCall::Exclusive,
                    site,
                    tag,
                    || self.raw().try_lock(),
                    || self.raw().lock(),
                );
                self.taken(list, false, site, tag);
            }
        }
    }

    /// The lock has just been taken with the detector on, at `site`: the edge, and the hold in
    /// `list` (`empty`: see `Kept::taken`).
    #[inline(always)]
    fn taken(&self, list: Option<&'static Held>, empty: bool, site: Site, tag: &'static Tag) {
        if let Some(me) = CtxRef::get() {
            // SAFETY: the real lock is held (the caller just took it).
            unsafe { self.clock.acquire_by(&me) };
        }
        self.kept.taken(list, empty, &self.id, site, tag);
    }

    /// `locked`, the result of a lock that does not block (`try_lock`, a timed lock)
    /// called at `site`: the edge and the hold if it is taken.
    #[inline(always)]
    pub(super) fn if_locked(&self, locked: bool, site: Site, tag: &'static Tag) -> bool {
        if locked {
            let mode = crate::rt::mode();
            self.locked(mode);
            self.kept
                .taken(RawMutex::list(mode), false, &self.id, site, tag);
        }
        locked
    }

    /// The hold of this locked mutex goes in the thread's list, taken at `site` (none: a hold
    /// that was not recorded stays so).
    #[inline(always)]
    pub(super) fn hold_taken(&self, site: Option<Site>, tag: &'static Tag) {
        if let Some(site) = site {
            self.kept.taken(
                RawMutex::list(crate::rt::mode()),
                false,
                &self.id,
                site,
                tag,
            );
        }
    }

    /// The hold of this locked mutex ends (it is about to be unlocked): where it was taken, if
    /// it was recorded.
    #[inline(always)]
    pub(super) fn hold_ends(&self) -> Option<Site> {
        self.kept.released(&self.id)
    }

    /// For `Condvar`: the lock's clock.
    pub(super) fn clock(&self) -> &LockedClock {
        &self.clock
    }

    /// For `Condvar`: parking_lot's guard of the lock this thread holds.
    ///
    /// # Safety
    /// The current thread holds this lock, and the guard returned is never dropped (the lock
    /// stays the user's guard's to unlock): the caller forgets it.
    pub(super) unsafe fn inner_guard(&self) -> parking_lot::MutexGuard<'_, ()> {
        // SAFETY: the caller's contract: the lock is held.
        unsafe { self.inner.make_guard_unchecked() }
    }

    /// The lock is about to be given up (an unlock of lock_api's): the hold ends, then the
    /// release.
    ///
    /// With the detector off there is neither: a hold is recorded only with it on
    /// (`deadlock::lock_list`), and the mode is set once, at start-up. (A lock held across
    /// that moment by a constructor that ran first, and unlocked with the detector off, leaves
    /// its hold in a list that no check reads again: deadlock checks are off with it.) The
    /// rest is out of line, so that lock_api's guard drop is small enough to inline: an unlock
    /// with the detector off is then one test and parking_lot's unlock.
    #[inline(always)]
    fn unlock_edge(&self) {
        if crate::rt::mode() & crate::rt::ENABLED != 0 {
            self.unlock_edge_tracked();
        }
    }

    /// `unlock_edge` with the detector on.
    #[inline(never)]
    fn unlock_edge_tracked(&self) {
        self.kept.ended(&self.id);
        if let Some(me) = CtxRef::get() {
            // SAFETY: the real lock is still held (the caller unlocks it next).
            unsafe { self.clock.release_by(&me) };
        }
    }
}

// SAFETY: parking_lot's raw mutex gives mutual exclusion; the clock is touched only while it is
// held (after a lock succeeds, before an unlock).
unsafe impl lock_api::RawMutex for RawMutex {
    #[allow(clippy::declare_interior_mutable_const)] // lock_api's way to build a `static`
    const INIT: RawMutex = RawMutex {
        clock: LockedClock::new(),
        inner: parking_lot::const_mutex(()),
        id: LockId::new(),
        kept: Kept::new(),
    };

    type GuardMarker = <parking_lot::RawMutex as lock_api::RawMutex>::GuardMarker;

    #[inline(always)]
    #[track_caller]
    fn lock(&self) {
        self.lock_at(Site::new(Op::Lock, Location::caller()), &deadlock::PL_MUTEX);
    }

    #[inline]
    #[track_caller]
    fn try_lock(&self) -> bool {
        let site = Site::new(Op::Lock, Location::caller());
        self.if_locked(self.raw().try_lock(), site, &deadlock::PL_MUTEX)
    }

    #[inline(always)]
    unsafe fn unlock(&self) {
        self.unlock_edge();
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
        self.unlock_edge();
        // SAFETY: lock_api's contract: the lock is held.
        unsafe { self.raw().unlock_fair() };
    }

    #[inline]
    unsafe fn bump(&self) {
        // parking_lot hands the lock to a waiter, if there is one, and takes it back: an
        // unlock and a lock. (With no waiter, the release and acquire keep the same epoch.)
        // The hold stays: the guard goes on holding the lock.
        let mode = crate::rt::mode();
        self.unlocking(mode);
        // SAFETY: lock_api's contract: the lock is held.
        unsafe { self.raw().bump() };
        self.locked(mode);
    }
}

// SAFETY: as for `RawMutex`.
unsafe impl lock_api::RawMutexTimed for RawMutex {
    type Duration = Duration;
    type Instant = Instant;

    #[inline]
    #[track_caller]
    fn try_lock_for(&self, timeout: Duration) -> bool {
        let site = Site::new(Op::Lock, Location::caller());
        self.if_locked(self.raw().try_lock_for(timeout), site, &deadlock::PL_MUTEX)
    }

    #[inline]
    #[track_caller]
    fn try_lock_until(&self, timeout: Instant) -> bool {
        let site = Site::new(Op::Lock, Location::caller());
        self.if_locked(
            self.raw().try_lock_until(timeout),
            site,
            &deadlock::PL_MUTEX,
        )
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
