//! `RwLock` with std's API and poisoning. It has two clocks: writers release into `writes`,
//! readers into `reads`. A reader acquires `writes` (it is ordered after every earlier writer,
//! not after other readers); a writer acquires both (it is ordered after every earlier writer
//! and every earlier reader). Releases happen before the real unlock, acquires after the lock.
//!
//! `write` while this thread holds the lock (shared or exclusive), and `read` while it holds it
//! exclusively, are reported (`WARNING: MAP DEADLOCK`) instead of hanging (see `sync::Mutex`);
//! `read` while it reads the lock already is reported as a latent deadlock: std's lock (futex-based
//! on Linux) makes new readers wait while a writer waits, so it hangs whenever a writer comes
//! between.

use super::poison::{try_wrap, wrap};
use crate::rt::deadlock::{self, LockHold, LockId, Mode, Resource};
use crate::rt::site::{Op, Site};
use crate::rt::thread::SyncClock;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::{LockResult, TryLockResult};

/// A reader-writer lock whose locking maprace sees. See [`std::sync::RwLock`].
///
/// ```
/// use maprace::sync::{Arc, RwLock};
///
/// let config = Arc::new(RwLock::new(maprace::HashMap::new()));
/// let writer = {
///     let config = Arc::clone(&config);
///     std::thread::spawn(move || {
///         config.write().unwrap().insert("mode", "fast");
///     })
/// };
/// writer.join().unwrap();
/// assert_eq!(config.read().unwrap()["mode"], "fast");
/// ```
#[derive(Default)]
pub struct RwLock<T: ?Sized> {
    writes: SyncClock,
    reads: SyncClock,
    /// The lock in deadlock checks' held lists.
    id: LockId,
    inner: std::sync::RwLock<T>,
}

/// Shared access: dropping it releases the read lock. See [`std::sync::RwLockReadGuard`].
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    reads: &'a SyncClock,
    /// Dropped before `inner` (the real unlock).
    _hold: LockHold,
    inner: std::sync::RwLockReadGuard<'a, T>,
}

/// Exclusive access: dropping it releases the write lock. See [`std::sync::RwLockWriteGuard`].
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    writes: &'a SyncClock,
    /// Dropped before `inner` (the real unlock).
    _hold: LockHold,
    inner: std::sync::RwLockWriteGuard<'a, T>,
}

impl<T> RwLock<T> {
    /// Creates a new unlocked `RwLock`. See [`std::sync::RwLock::new`].
    pub const fn new(t: T) -> RwLock<T> {
        RwLock {
            writes: SyncClock::new(),
            reads: SyncClock::new(),
            id: LockId::new(),
            inner: std::sync::RwLock::new(t),
        }
    }

    /// Consumes the lock, returning the data. See [`std::sync::RwLock::into_inner`].
    pub fn into_inner(self) -> LockResult<T> {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// The lock in held lists.
    fn resource(&self) -> Resource {
        self.id.resource()
    }

    fn read_guard<'a>(
        &'a self,
        inner: std::sync::RwLockReadGuard<'a, T>,
        site: &'static Location<'static>,
    ) -> RwLockReadGuard<'a, T> {
        self.writes.acquire_lock();
        RwLockReadGuard {
            reads: &self.reads,
            _hold: LockHold::taken(
                || self.resource(),
                Mode::Shared,
                Site::new(Op::Read, site),
                &deadlock::RWLOCK,
            ),
            inner,
        }
    }

    fn write_guard<'a>(
        &'a self,
        inner: std::sync::RwLockWriteGuard<'a, T>,
        site: &'static Location<'static>,
    ) -> RwLockWriteGuard<'a, T> {
        self.writes.acquire_lock_with(&self.reads);
        RwLockWriteGuard {
            writes: &self.writes,
            _hold: LockHold::taken(
                || self.resource(),
                Mode::Exclusive,
                Site::new(Op::Write, site),
                &deadlock::RWLOCK,
            ),
            inner,
        }
    }

    /// Blocks until shared access is held. See [`std::sync::RwLock::read`]. Reading while
    /// this thread holds the write lock is reported as a deadlock instead of hanging, and
    /// reading while it reads already as a latent one (std's lock makes a new reader wait
    /// behind a waiting writer, so the second read hangs whenever a writer comes between).
    #[track_caller]
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        let site = Location::caller();
        let result = deadlock::acquire_read(
            || self.resource(),
            Site::new(Op::Read, site),
            &deadlock::RWLOCK,
            || deadlock::unless_taken(self.inner.try_read()),
            || self.inner.read(),
        );
        wrap(result, |g| self.read_guard(g, site))
    }

    /// Takes shared access if no writer holds the lock. See [`std::sync::RwLock::try_read`].
    #[track_caller]
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        let site = Location::caller();
        try_wrap(self.inner.try_read(), |g| self.read_guard(g, site))
    }

    /// Blocks until exclusive access is held. See [`std::sync::RwLock::write`]. Writing while
    /// this thread holds the lock (shared or exclusive) is reported as a deadlock instead of
    /// hanging.
    #[track_caller]
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        let site = Location::caller();
        let result = deadlock::acquire(
            || self.resource(),
            Mode::Exclusive,
            Site::new(Op::Write, site),
            &deadlock::RWLOCK,
            || deadlock::unless_taken(self.inner.try_write()),
            || self.inner.write(),
        );
        wrap(result, |g| self.write_guard(g, site))
    }

    /// Takes exclusive access if the lock is free. See [`std::sync::RwLock::try_write`].
    #[track_caller]
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        let site = Location::caller();
        try_wrap(self.inner.try_write(), |g| self.write_guard(g, site))
    }

    /// Whether a writer panicked while holding the lock. See [`std::sync::RwLock::is_poisoned`].
    pub fn is_poisoned(&self) -> bool {
        self.inner.is_poisoned()
    }

    /// Clears the poisoned state. See [`std::sync::RwLock::clear_poison`].
    pub fn clear_poison(&self) {
        self.inner.clear_poison();
    }

    /// A mutable reference to the data; no locking is needed (the borrow is exclusive).
    /// See [`std::sync::RwLock::get_mut`].
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        self.inner.get_mut()
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(t: T) -> Self {
        RwLock::new(t)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        // Release before `inner` (a field) is dropped, which is the real unlock.
        self.reads.release();
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        // Release before `inner` (a field) is dropped, which is the real unlock.
        self.writes.release();
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}
