//! `Condvar` with std's API. Its happens-before edge is the mutex's: waiting releases the
//! thread's clock into the mutex's clock before the real wait unlocks it, and acquires it after
//! the wait has locked it again. `notify_*` carries no edge of its own (a notification without
//! the mutex orders nothing, in std either).

use super::mutex::{MutexGuard, Relock};
use super::poison::wrap;
use crate::rt::thread::LockedClock;
use std::fmt;
use std::sync::{LockResult, WaitTimeoutResult};
use std::time::Duration;

/// A condition variable whose waits maprace sees. See [`std::sync::Condvar`].
///
/// ```
/// use maprace::sync::{Arc, Condvar, Mutex};
///
/// let pair = Arc::new((Mutex::new(maprace::HashMap::new()), Condvar::new()));
/// let producer = {
///     let pair = Arc::clone(&pair);
///     std::thread::spawn(move || {
///         let (map, ready) = &*pair;
///         map.lock().unwrap().insert("job", 1);
///         ready.notify_one();
///     })
/// };
/// let (map, ready) = &*pair;
/// let map = ready.wait_while(map.lock().unwrap(), |m| m.is_empty()).unwrap();
/// assert_eq!(map["job"], 1);
/// # drop(map);
/// # producer.join().unwrap();
/// ```
#[derive(Default)]
pub struct Condvar {
    inner: std::sync::Condvar,
}

/// The guard back from std's wait, with the relock's acquire edge, poisoned or not.
fn relocked<'a, T: ?Sized>(
    relock: Relock<'a>,
    result: LockResult<std::sync::MutexGuard<'a, T>>,
) -> LockResult<MutexGuard<'a, T>> {
    wrap(result, |inner| {
        MutexGuard::from_std(relock.state, inner, relock.site)
    })
}

/// `relocked` for the timed waits, which also return whether they timed out.
fn relocked_timeout<'a, T: ?Sized>(
    relock: Relock<'a>,
    result: LockResult<(std::sync::MutexGuard<'a, T>, WaitTimeoutResult)>,
) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
    wrap(result, |(inner, timeout)| {
        (
            MutexGuard::from_std(relock.state, inner, relock.site),
            timeout,
        )
    })
}

/// The condition of a `wait_*while`, with the mutex's edges: std calls it with the lock held,
/// after each relock, so it acquires before it reads the data, and releases before std waits
/// (unlocks) again.
fn with_edges<T: ?Sized>(
    clock: &LockedClock,
    mut condition: impl FnMut(&mut T) -> bool,
) -> impl FnMut(&mut T) -> bool {
    move |value| {
        // SAFETY: std calls the condition with the lock held.
        unsafe { clock.acquire() };
        let unwinding = ReleaseOnUnwind(clock);
        let wait = condition(value);
        std::mem::forget(unwinding);
        if wait {
            // SAFETY: as above.
            unsafe { clock.release() };
        }
        wait
    }
}

/// Releases into the mutex's clock if the condition unwinds: std's `wait_*while` then drops its
/// guard, which unlocks the mutex (poisoned), after this (`MutexGuard::into_std` gave that guard
/// away, so no guard of maprace's releases).
struct ReleaseOnUnwind<'a>(&'a LockedClock);

impl Drop for ReleaseOnUnwind<'_> {
    fn drop(&mut self) {
        // SAFETY: dropped only while the condition unwinds (`with_edges` forgets it otherwise),
        // inside std's wait, whose guard, in a frame further out, still holds the lock.
        unsafe { self.0.release() };
    }
}

impl Condvar {
    /// Creates a new condition variable. See [`std::sync::Condvar::new`].
    #[must_use]
    pub const fn new() -> Condvar {
        Condvar {
            inner: std::sync::Condvar::new(),
        }
    }

    /// Blocks until notified, unlocking the mutex meanwhile. See [`std::sync::Condvar::wait`].
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        let (relock, inner) = guard.into_std();
        // SAFETY: the lock is held until std's wait unlocks it.
        unsafe { relock.state.clock.release() };
        relocked(relock, self.inner.wait(inner))
    }

    /// Blocks while `condition` returns `true`. See [`std::sync::Condvar::wait_while`].
    pub fn wait_while<'a, T, F>(
        &self,
        guard: MutexGuard<'a, T>,
        condition: F,
    ) -> LockResult<MutexGuard<'a, T>>
    where
        F: FnMut(&mut T) -> bool,
    {
        let (relock, inner) = guard.into_std();
        let result = self
            .inner
            .wait_while(inner, with_edges(&relock.state.clock, condition));
        relocked(relock, result)
    }

    /// Blocks until notified or `dur` has passed. See [`std::sync::Condvar::wait_timeout`].
    pub fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        dur: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let (relock, inner) = guard.into_std();
        // SAFETY: the lock is held until std's wait unlocks it.
        unsafe { relock.state.clock.release() };
        relocked_timeout(relock, self.inner.wait_timeout(inner, dur))
    }

    /// Blocks while `condition` returns `true`, at most `dur`.
    /// See [`std::sync::Condvar::wait_timeout_while`].
    pub fn wait_timeout_while<'a, T, F>(
        &self,
        guard: MutexGuard<'a, T>,
        dur: Duration,
        condition: F,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)>
    where
        F: FnMut(&mut T) -> bool,
    {
        let (relock, inner) = guard.into_std();
        let result =
            self.inner
                .wait_timeout_while(inner, dur, with_edges(&relock.state.clock, condition));
        relocked_timeout(relock, result)
    }

    /// Wakes one waiting thread. See [`std::sync::Condvar::notify_one`].
    pub fn notify_one(&self) {
        self.inner.notify_one();
    }

    /// Wakes every waiting thread. See [`std::sync::Condvar::notify_all`].
    pub fn notify_all(&self) {
        self.inner.notify_all();
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}
