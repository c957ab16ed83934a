//! `Mutex` with std's API and poisoning, plus a happens-before edge from each unlock to the
//! next lock: the guard's drop releases the thread's clock into the lock's *before* the real
//! unlock, and `lock` acquires it *after* the real lock. The clock is only touched with the
//! real lock held, so it is a `LockedClock` (no lock of its own: measured in
//! `benches/lock_per_op.rs`, a second lock per operation cost more than the map check).
//!
//! A thread that locks a mutex it holds is reported (`WARNING: MAP DEADLOCK`) instead of
//! hanging, and so is a cycle of waits through other threads: the guard keeps its hold in the
//! thread's list (`rt::deadlock`), and `lock` checks before it blocks. The mutex is named there
//! by its `LockId` (its address and a generation), so that the hold a forgotten guard leaves
//! behind is never taken for a new mutex made in the same memory.

use super::poison::{try_wrap, wrap};
use crate::rt::deadlock::{self, Held, LockHold, LockId, Mode};
use crate::rt::site::{Op, Site};
use crate::rt::thread::{CtxRef, LockedClock};
use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::{LockResult, TryLockResult};

/// A mutual exclusion primitive whose lock and unlock maprace sees.
/// See [`std::sync::Mutex`]; the API, poisoning and result types are std's.
///
/// ```
/// use maprace::sync::{Arc, Mutex};
///
/// let scores = Arc::new(Mutex::new(maprace::HashMap::new()));
/// let writer = {
///     let scores = Arc::clone(&scores);
///     std::thread::spawn(move || {
///         scores.lock().unwrap().insert("ada", 1);
///     })
/// };
/// scores.lock().unwrap().insert("bob", 2);
/// writer.join().unwrap();
/// assert_eq!(scores.lock().unwrap().len(), 2);
/// ```
#[derive(Default)]
// Laid out for threads that take turns: every hand-off moves the cache lines the lock writes
// from one core to the other, so the clock (48 bytes), the lock's identity in held lists (4)
// and the real lock's word share one line, and the data starts on the next (for a tracked map,
// with its structure cell).
#[repr(C, align(64))]
pub struct Mutex<T: ?Sized> {
    state: LockState,
    inner: std::sync::Mutex<T>,
}

/// What maprace keeps of a mutex: the guard reaches it through one pointer, whatever `T` is.
#[derive(Default)]
pub(super) struct LockState {
    pub(super) clock: LockedClock,
    /// The mutex in deadlock checks' held lists.
    pub(super) id: LockId,
}

/// The lock held: dropping it unlocks the mutex. See [`std::sync::MutexGuard`].
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    /// The mutex's clock and identity (one pointer: a guard is moved at least twice on its way
    /// out of `lock`, and each word costs a store and a load).
    state: &'a LockState,
    /// The lock was taken with the detector on: its unlock releases the clock (if the thread's
    /// context is still alive) and ends the hold. Off, the hold is none (`lock_list` makes
    /// holds only with the detector on), so the drop skips both at one test.
    tracked: bool,
    /// The hold in the thread's list; ended in `Drop` before the real unlock.
    hold: ManuallyDrop<LockHold>,
    /// Where the lock was taken.
    site: &'static Location<'static>,
    /// Dropped by hand in `Drop`, after the release; moved out by `into_std`.
    inner: ManuallyDrop<std::sync::MutexGuard<'a, T>>,
}

impl<T> Mutex<T> {
    /// Creates a new unlocked mutex. See [`std::sync::Mutex::new`].
    pub const fn new(t: T) -> Mutex<T> {
        Mutex {
            state: LockState {
                clock: LockedClock::new(),
                id: LockId::new(),
            },
            inner: std::sync::Mutex::new(t),
        }
    }

    /// Consumes the mutex, returning the data. See [`std::sync::Mutex::into_inner`].
    pub fn into_inner(self) -> LockResult<T> {
        self.inner.into_inner()
    }
}

// `lock`, `try_lock` and the guard's drop are inline, as std's are. Under contention this is
// not about the calls' cost: the fewer instructions between an unlock and the same thread's
// next lock, the more often that thread takes the lock back before the other can, and every
// hand-off to the other core costs the cache lines both touch. Measured with two threads
// taking the lock for each of 2M map operations: out of line, the lock changed hands 600k to
// 790k times (std's: 250k to 560k); inline, 280k to 560k.
impl<T: ?Sized> Mutex<T> {
    /// Blocks until the lock is held. See [`std::sync::Mutex::lock`]. Locking a mutex this
    /// thread holds is reported as a deadlock instead of hanging.
    ///
    /// The run-time mode and the thread's held list are read once for the whole call (the lock,
    /// the edge and the hold): each read again costs a few instructions on every lock.
    #[inline(always)]
    #[track_caller]
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        let site = Location::caller();
        let mode = crate::rt::mode();
        if mode & crate::rt::ENABLED == 0 {
            // The detector is off: no edge and no hold (both need it on), so the guard is made
            // with nothing to undo, and its drop tests `tracked` alone.
            return wrap(self.inner.lock(), |inner| {
                MutexGuard::untracked(&self.state, inner, site)
            });
        }
        let list = deadlock::lock_list(mode);
        let Some(held) = deadlock::holding_in(list) else {
            // Nothing held (or no deadlock checks): nothing to check before blocking, and the
            // hold will be the list's first (see `deadlock::acquire_in`). A path of its own,
            // so that what follows the lock is not shared with the other and tests nothing
            // again.
            return wrap(self.inner.lock(), |inner| {
                MutexGuard::locked(&self.state, inner, site, mode, list, true)
            });
        };
        let result = deadlock::acquire_holding(
            held,
            || self.state.id.resource(),
            Mode::Exclusive,
            Site::new(Op::Lock, site),
            &deadlock::MUTEX,
            || deadlock::unless_taken(self.inner.try_lock()),
            || self.inner.lock(),
        );
        wrap(result, |inner| {
            MutexGuard::locked(&self.state, inner, site, mode, list, false)
        })
    }

    /// Takes the lock if it is free. See [`std::sync::Mutex::try_lock`].
    #[inline]
    #[track_caller]
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        let site = Location::caller();
        try_wrap(self.inner.try_lock(), |inner| {
            MutexGuard::from_std(&self.state, inner, site)
        })
    }

    /// Whether a thread panicked while holding the lock. See [`std::sync::Mutex::is_poisoned`].
    pub fn is_poisoned(&self) -> bool {
        self.inner.is_poisoned()
    }

    /// Clears the poisoned state. See [`std::sync::Mutex::clear_poison`].
    pub fn clear_poison(&self) {
        self.inner.clear_poison();
    }

    /// A mutable reference to the data; no locking is needed (the borrow is exclusive).
    /// See [`std::sync::Mutex::get_mut`].
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        self.inner.get_mut()
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(t: T) -> Self {
        Mutex::new(t)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The lock has just been taken (or retaken, after a condvar wait) at `site`: acquire its
    /// clock, and record the hold (the mutex named by its `LockId`, as in `Mutex::lock`).
    #[inline(always)]
    pub(super) fn from_std(
        state: &'a LockState,
        inner: std::sync::MutexGuard<'a, T>,
        site: &'static Location<'static>,
    ) -> Self {
        let mode = crate::rt::mode();
        MutexGuard::locked(state, inner, site, mode, deadlock::lock_list(mode), false)
    }

    /// A guard of a lock taken with the detector off: its drop releases nothing and ends no
    /// hold.
    #[inline(always)]
    fn untracked(
        state: &'a LockState,
        inner: std::sync::MutexGuard<'a, T>,
        site: &'static Location<'static>,
    ) -> Self {
        MutexGuard {
            state,
            tracked: false,
            // No list: no hold.
            hold: ManuallyDrop::new(LockHold::taken_in(
                None,
                false,
                || state.id.resource(),
                Mode::Exclusive,
                Site::UNKNOWN,
                &deadlock::MUTEX,
            )),
            site,
            inner: ManuallyDrop::new(inner),
        }
    }

    /// `from_std`, with the run-time `mode` and the thread's `list` (`deadlock::lock_list`)
    /// fetched by the caller, `empty` if it found the list holding nothing
    /// (`deadlock::acquire_in`).
    #[inline(always)]
    fn locked(
        state: &'a LockState,
        inner: std::sync::MutexGuard<'a, T>,
        site: &'static Location<'static>,
        mode: u8,
        list: Option<&'static Held>,
        empty: bool,
    ) -> Self {
        if mode & crate::rt::ENABLED == 0 {
            return MutexGuard::untracked(state, inner, site);
        }
        if let Some(me) = CtxRef::get() {
            // SAFETY: `inner` is the real lock, held.
            unsafe { state.clock.acquire_by(&me) };
        }
        let hold = LockHold::taken_in(
            list,
            empty,
            || state.id.resource(),
            Mode::Exclusive,
            Site::new(Op::Lock, site),
            &deadlock::MUTEX,
        );
        MutexGuard {
            state,
            tracked: true,
            hold: ManuallyDrop::new(hold),
            site,
            inner: ManuallyDrop::new(inner),
        }
    }

    /// Splits the guard without unlocking and without an edge, for `Condvar`, which hands
    /// std's guard to std's condvar and makes the unlock and relock edges itself. The hold ends
    /// (the wait unlocks); `from_std` records it again with the site returned.
    pub(super) fn into_std(self) -> (Relock<'a>, std::sync::MutexGuard<'a, T>) {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so `hold` and `inner` are taken out exactly once.
        drop(unsafe { ManuallyDrop::take(&mut this.hold) });
        // SAFETY: as above.
        let inner = unsafe { ManuallyDrop::take(&mut this.inner) };
        (
            Relock {
                state: this.state,
                site: this.site,
            },
            inner,
        )
    }
}

/// What a condvar wait keeps of a guard to make it again: the mutex's clock and identity, and
/// where it was locked.
#[derive(Clone, Copy)]
pub(super) struct Relock<'a> {
    pub(super) state: &'a LockState,
    pub(super) site: &'static Location<'static>,
}

impl<T: ?Sized> MutexGuard<'_, T> {
    /// The tracked half of the drop: the release and the end of the hold, before the real
    /// unlock. Out of line, so that the guard's drop glue (which the compiler keeps out of line
    /// when it is large) is small enough to inline: an untracked unlock is then one test and
    /// std's unlock.
    #[inline(never)]
    fn unlocking(&mut self) {
        if let Some(me) = CtxRef::get() {
            // SAFETY: the lock is still held (`inner` is alive).
            unsafe { self.state.clock.release_by(&me) };
        }
        // SAFETY: `hold` is dropped only here, once (the drop calls this once, for a tracked
        // guard; `into_std` forgets the guard instead). An untracked guard's hold is none: a
        // `LockHold` with nothing to drop.
        unsafe { ManuallyDrop::drop(&mut self.hold) };
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        if self.tracked {
            self.unlocking();
        }
        // SAFETY: `inner` is dropped only here, once, after the release and the hold's end;
        // `into_std` forgets the guard instead.
        unsafe { ManuallyDrop::drop(&mut self.inner) };
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::Mutex;

    #[test]
    fn the_clock_the_id_and_the_lock_word_share_a_line_and_the_data_starts_the_next() {
        let mutex = Mutex::new(0u64);
        let start = &mutex as *const Mutex<u64> as usize;
        let data = &*mutex.lock().unwrap() as *const u64 as usize;
        assert_eq!(start % 64, 0);
        assert_eq!(data - start, 64);
    }

    #[test]
    fn a_guard_reaches_the_clock_and_the_id_through_one_pointer() {
        // The state pointer, `tracked`, the hold (list, index, token), the site and std's guard
        // (whose pointer to the mutex is a wide one for unsized data).
        assert_eq!(size_of::<super::MutexGuard<'_, u64>>(), 64);
        assert_eq!(size_of::<super::MutexGuard<'_, [u64]>>(), 72);
    }
}
