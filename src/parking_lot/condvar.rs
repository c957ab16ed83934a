//! `Condvar` with parking_lot's API. Its edge is the mutex's: a wait releases the thread's clock
//! into the mutex's before parking_lot's wait unlocks it, and acquires it once the wait has
//! locked it again. `notify_*` carries no edge of its own (a notification without the mutex
//! orders nothing, in parking_lot either). The thread's hold of the mutex ends for the wait and
//! starts again after it, with the site where the mutex was locked, as for
//! `maprace::sync::Condvar`.

use super::mutex::{MutexGuard, RawMutex};
use crate::rt::deadlock;
use crate::rt::site::Site;
use parking_lot::WaitTimeoutResult;
use std::cell::Cell;
use std::fmt;
use std::mem::ManuallyDrop;
use std::time::{Duration, Instant};

/// A condition variable whose waits maprace sees. See
/// [`parking_lot::Condvar`](https://docs.rs/parking_lot/0.12/parking_lot/struct.Condvar.html).
///
/// ```
/// use maprace::parking_lot::{Condvar, Mutex};
/// use std::sync::Arc;
///
/// let pair = Arc::new((Mutex::new(maprace::HashMap::new()), Condvar::new()));
/// let producer = {
///     let pair = Arc::clone(&pair);
///     std::thread::spawn(move || {
///         let (map, ready) = &*pair;
///         map.lock().insert("job", 1);
///         ready.notify_one();
///     })
/// };
/// let (map, ready) = &*pair;
/// let mut map = map.lock();
/// ready.wait_while(&mut map, |m| m.is_empty());
/// assert_eq!(map["job"], 1);
/// # drop(map);
/// # producer.join().unwrap();
/// ```
#[derive(Default)]
pub struct Condvar {
    inner: parking_lot::Condvar,
}

impl Condvar {
    /// Creates a new condition variable. See parking_lot's `Condvar::new`.
    #[must_use]
    pub const fn new() -> Condvar {
        Condvar {
            inner: parking_lot::Condvar::new(),
        }
    }

    /// Wakes one waiting thread; whether one was woken. See parking_lot's `notify_one`.
    #[inline]
    pub fn notify_one(&self) -> bool {
        self.inner.notify_one()
    }

    /// Wakes every waiting thread; how many were woken. See parking_lot's `notify_all`.
    #[inline]
    pub fn notify_all(&self) -> usize {
        self.inner.notify_all()
    }

    /// Runs `wait` on parking_lot's condvar with parking_lot's guard of the same lock, with the
    /// edges and the hold around it (`Gap`).
    fn with_lock<T: ?Sized, R>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        wait: impl FnOnce(&parking_lot::Condvar, &mut parking_lot::MutexGuard<'_, ()>, &Gap<'_>) -> R,
    ) -> R {
        let raw = lock_api_raw(guard);
        // SAFETY: `guard` holds the lock, and parking_lot's guard made here is never dropped:
        // it is `ManuallyDrop` (also if `wait` unwinds), so the lock stays `guard`'s to unlock.
        let inner = unsafe { raw.inner_guard() };
        let mut inner = ManuallyDrop::new(inner);
        let gap = Gap {
            raw,
            site: Cell::new(None),
            open: Cell::new(false),
        };
        let result = wait(&self.inner, &mut inner, &gap);
        // A wait that timed out relocks without calling the condition again (parking_lot's
        // `wait_while_*`): the gap it opened before waiting is closed here.
        gap.close();
        result
    }

    /// Blocks until notified, unlocking the mutex meanwhile. See parking_lot's `Condvar::wait`.
    pub fn wait<T: ?Sized>(&self, mutex_guard: &mut MutexGuard<'_, T>) {
        self.with_lock(mutex_guard, |cv, inner, gap| {
            gap.open();
            cv.wait(inner);
            gap.close();
        });
    }

    /// Blocks until notified or `timeout` is reached. See parking_lot's `Condvar::wait_until`.
    pub fn wait_until<T: ?Sized>(
        &self,
        mutex_guard: &mut MutexGuard<'_, T>,
        timeout: Instant,
    ) -> WaitTimeoutResult {
        self.with_lock(mutex_guard, |cv, inner, gap| {
            gap.open();
            let result = cv.wait_until(inner, timeout);
            gap.close();
            result
        })
    }

    /// Blocks until notified or `timeout` has passed. See parking_lot's `Condvar::wait_for`.
    pub fn wait_for<T: ?Sized>(
        &self,
        mutex_guard: &mut MutexGuard<'_, T>,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        self.with_lock(mutex_guard, |cv, inner, gap| {
            gap.open();
            let result = cv.wait_for(inner, timeout);
            gap.close();
            result
        })
    }

    /// Blocks while `condition` returns `true`. See parking_lot's `Condvar::wait_while`.
    pub fn wait_while<T, F>(&self, mutex_guard: &mut MutexGuard<'_, T>, condition: F)
    where
        T: ?Sized,
        F: FnMut(&mut T) -> bool,
    {
        let data: *mut T = &mut **mutex_guard;
        self.with_lock(mutex_guard, |cv, inner, gap| {
            cv.wait_while(inner, checked(data, gap, condition));
        });
    }

    /// Blocks while `condition` returns `true`, until `timeout` at most.
    /// See parking_lot's `Condvar::wait_while_until`.
    pub fn wait_while_until<T, F>(
        &self,
        mutex_guard: &mut MutexGuard<'_, T>,
        condition: F,
        timeout: Instant,
    ) -> WaitTimeoutResult
    where
        T: ?Sized,
        F: FnMut(&mut T) -> bool,
    {
        let data: *mut T = &mut **mutex_guard;
        self.with_lock(mutex_guard, |cv, inner, gap| {
            cv.wait_while_until(inner, checked(data, gap, condition), timeout)
        })
    }

    /// Blocks while `condition` returns `true`, `timeout` at most.
    /// See parking_lot's `Condvar::wait_while_for`.
    pub fn wait_while_for<T: ?Sized, F>(
        &self,
        mutex_guard: &mut MutexGuard<'_, T>,
        condition: F,
        timeout: Duration,
    ) -> WaitTimeoutResult
    where
        F: FnMut(&mut T) -> bool,
    {
        let data: *mut T = &mut **mutex_guard;
        self.with_lock(mutex_guard, |cv, inner, gap| {
            cv.wait_while_for(inner, checked(data, gap, condition), timeout)
        })
    }
}

/// maprace's raw mutex under a guard.
fn lock_api_raw<'a, T: ?Sized>(guard: &MutexGuard<'a, T>) -> &'a super::RawMutex {
    let mutex = MutexGuard::mutex(guard);
    // SAFETY: only the raw lock's own methods are used on it, by the holder of the lock.
    unsafe { mutex.raw() }
}

/// A wait's gap in the holding of the mutex: opened before parking_lot unlocks it (the release
/// of the thread's clock, the end of its hold), closed once parking_lot has locked it again
/// (the acquire, the hold again with its site). Closing a gap that is not open does nothing.
struct Gap<'a> {
    raw: &'a RawMutex,
    /// Where the hold was taken, while the gap is open (if it was recorded).
    site: Cell<Option<Site>>,
    open: Cell<bool>,
}

impl Gap<'_> {
    /// The lock is held, and parking_lot unlocks it next.
    fn open(&self) {
        if self.open.replace(true) {
            return;
        }
        self.site.set(self.raw.hold_ends());
        // SAFETY: the lock is held (parking_lot unlocks it after this returns).
        unsafe { self.raw.clock().release() };
    }

    /// The lock is held again.
    fn close(&self) {
        if !self.open.replace(false) {
            return;
        }
        // SAFETY: the lock is held (parking_lot relocked it before returning).
        unsafe { self.raw.clock().acquire() };
        self.raw.hold_taken(self.site.take(), &deadlock::PL_MUTEX);
    }
}

/// The condition parking_lot calls with the lock held, after each relock (and first, before any
/// wait): it closes the gap before `condition` reads the data, and opens it again when
/// parking_lot is about to wait (unlock).
fn checked<'c, T: ?Sized + 'c>(
    data: *mut T,
    gap: &'c Gap<'c>,
    mut condition: impl FnMut(&mut T) -> bool + 'c,
) -> impl FnMut(&mut ()) -> bool + 'c {
    move |_| {
        gap.close();
        // SAFETY: `data` is the data of the lock the caller's guard holds (its `&mut` borrow
        // lasts the whole wait, so nothing else reaches it), and the lock is held now.
        let wait = condition(unsafe { &mut *data });
        if wait {
            gap.open();
        }
        wait
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}
