//! `RwLock`: lock_api's reader-writer lock over maprace's `RawRwLock`, which wraps parking_lot's
//! and makes `maprace::sync::RwLock`'s edges, through the same two `SyncClock`s: writers release
//! into `writes`, readers (shared and upgradable) into `reads`; a reader acquires `writes`, a
//! writer both. An upgrade makes the upgradable reader a writer: it acquires `reads` (the
//! readers that left before it could upgrade). A downgrade ends the writer's exclusive part: it
//! releases into `writes` before the readers it lets in can acquire it. Releases happen before
//! the real unlock, acquires after the real lock.

use crate::rt::thread::SyncClock;
use parking_lot::lock_api::{self, RawRwLock as _};
use std::time::{Duration, Instant};

/// A reader-writer lock whose locking maprace sees. See
/// [`parking_lot::RwLock`](https://docs.rs/parking_lot/0.12/parking_lot/type.RwLock.html); the
/// API is parking_lot's, upgradable reads included.
///
/// ```
/// use maprace::parking_lot::{RwLock, RwLockUpgradableReadGuard};
/// use std::sync::Arc;
///
/// let config = Arc::new(RwLock::new(maprace::HashMap::new()));
/// let writer = {
///     let config = Arc::clone(&config);
///     std::thread::spawn(move || {
///         let read = config.upgradable_read();
///         if !read.contains_key("mode") {
///             RwLockUpgradableReadGuard::upgrade(read).insert("mode", "fast");
///         }
///     })
/// };
/// writer.join().unwrap();
/// assert_eq!(config.read()["mode"], "fast");
/// ```
pub type RwLock<T> = lock_api::RwLock<RawRwLock, T>;

/// Shared access. See parking_lot's `RwLockReadGuard`.
pub type RwLockReadGuard<'a, T> = lock_api::RwLockReadGuard<'a, RawRwLock, T>;

/// Exclusive access. See parking_lot's `RwLockWriteGuard`.
pub type RwLockWriteGuard<'a, T> = lock_api::RwLockWriteGuard<'a, RawRwLock, T>;

/// Shared access that can be upgraded to exclusive. See parking_lot's
/// `RwLockUpgradableReadGuard`.
pub type RwLockUpgradableReadGuard<'a, T> = lock_api::RwLockUpgradableReadGuard<'a, RawRwLock, T>;

/// A read guard narrowed by `RwLockReadGuard::map`. See parking_lot's `MappedRwLockReadGuard`.
pub type MappedRwLockReadGuard<'a, T> = lock_api::MappedRwLockReadGuard<'a, RawRwLock, T>;

/// A write guard narrowed by `RwLockWriteGuard::map`. See parking_lot's
/// `MappedRwLockWriteGuard`.
pub type MappedRwLockWriteGuard<'a, T> = lock_api::MappedRwLockWriteGuard<'a, RawRwLock, T>;

/// Creates a new reader-writer lock in a const context. See parking_lot's `const_rwlock`.
///
/// ```
/// use maprace::parking_lot::{RwLock, const_rwlock};
///
/// static LIMIT: RwLock<u32> = const_rwlock(8);
/// assert_eq!(*LIMIT.read(), 8);
/// ```
pub const fn const_rwlock<T>(val: T) -> RwLock<T> {
    RwLock::const_new(RawRwLock::INIT, val)
}

/// parking_lot's raw reader-writer lock with the lock's two clocks.
pub struct RawRwLock {
    writes: SyncClock,
    reads: SyncClock,
    inner: parking_lot::RawRwLock,
}

impl RawRwLock {
    /// Shared (or upgradable) access has just been taken.
    #[inline]
    fn read_locked(&self) {
        self.writes.acquire();
    }

    /// Exclusive access has just been taken.
    #[inline]
    fn write_locked(&self) {
        self.writes.acquire();
        self.reads.acquire();
    }

    /// `locked` if `taken`, which it returns.
    #[inline]
    fn if_taken(&self, taken: bool, locked: fn(&Self)) -> bool {
        if taken {
            locked(self);
        }
        taken
    }
}

// SAFETY: parking_lot's raw lock gives the exclusion; the clocks have locks of their own.
unsafe impl lock_api::RawRwLock for RawRwLock {
    #[allow(clippy::declare_interior_mutable_const)] // lock_api's way to build a `static`
    const INIT: RawRwLock = RawRwLock {
        writes: SyncClock::new(),
        reads: SyncClock::new(),
        inner: <parking_lot::RawRwLock as lock_api::RawRwLock>::INIT,
    };

    type GuardMarker = <parking_lot::RawRwLock as lock_api::RawRwLock>::GuardMarker;

    #[inline]
    fn lock_shared(&self) {
        self.inner.lock_shared();
        self.read_locked();
    }

    #[inline]
    fn try_lock_shared(&self) -> bool {
        self.if_taken(self.inner.try_lock_shared(), Self::read_locked)
    }

    #[inline]
    unsafe fn unlock_shared(&self) {
        self.reads.release();
        // SAFETY: lock_api's contract: shared access is held.
        unsafe { self.inner.unlock_shared() };
    }

    #[inline]
    fn lock_exclusive(&self) {
        self.inner.lock_exclusive();
        self.write_locked();
    }

    #[inline]
    fn try_lock_exclusive(&self) -> bool {
        self.if_taken(self.inner.try_lock_exclusive(), Self::write_locked)
    }

    #[inline]
    unsafe fn unlock_exclusive(&self) {
        self.writes.release();
        // SAFETY: lock_api's contract: exclusive access is held.
        unsafe { self.inner.unlock_exclusive() };
    }

    #[inline]
    fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    #[inline]
    fn is_locked_exclusive(&self) -> bool {
        self.inner.is_locked_exclusive()
    }
}

// SAFETY: as above; fair unlocks are unlocks, a bump is an unlock and a lock.
unsafe impl lock_api::RawRwLockFair for RawRwLock {
    #[inline]
    unsafe fn unlock_shared_fair(&self) {
        self.reads.release();
        // SAFETY: lock_api's contract: shared access is held.
        unsafe { self.inner.unlock_shared_fair() };
    }

    #[inline]
    unsafe fn unlock_exclusive_fair(&self) {
        self.writes.release();
        // SAFETY: lock_api's contract: exclusive access is held.
        unsafe { self.inner.unlock_exclusive_fair() };
    }

    #[inline]
    unsafe fn bump_shared(&self) {
        self.reads.release();
        // SAFETY: lock_api's contract: shared access is held.
        unsafe { self.inner.bump_shared() };
        self.read_locked();
    }

    #[inline]
    unsafe fn bump_exclusive(&self) {
        self.writes.release();
        // SAFETY: lock_api's contract: exclusive access is held.
        unsafe { self.inner.bump_exclusive() };
        self.write_locked();
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockDowngrade for RawRwLock {
    #[inline]
    unsafe fn downgrade(&self) {
        // Readers may come in once it returns, and they acquire `writes`.
        self.writes.release();
        // SAFETY: lock_api's contract: exclusive access is held.
        unsafe { self.inner.downgrade() };
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockTimed for RawRwLock {
    type Duration = Duration;
    type Instant = Instant;

    #[inline]
    fn try_lock_shared_for(&self, timeout: Duration) -> bool {
        self.if_taken(self.inner.try_lock_shared_for(timeout), Self::read_locked)
    }

    #[inline]
    fn try_lock_shared_until(&self, timeout: Instant) -> bool {
        self.if_taken(self.inner.try_lock_shared_until(timeout), Self::read_locked)
    }

    #[inline]
    fn try_lock_exclusive_for(&self, timeout: Duration) -> bool {
        let taken = self.inner.try_lock_exclusive_for(timeout);
        self.if_taken(taken, Self::write_locked)
    }

    #[inline]
    fn try_lock_exclusive_until(&self, timeout: Instant) -> bool {
        let taken = self.inner.try_lock_exclusive_until(timeout);
        self.if_taken(taken, Self::write_locked)
    }
}

// SAFETY: as above; a recursive read is a read.
unsafe impl lock_api::RawRwLockRecursive for RawRwLock {
    #[inline]
    fn lock_shared_recursive(&self) {
        self.inner.lock_shared_recursive();
        self.read_locked();
    }

    #[inline]
    fn try_lock_shared_recursive(&self) -> bool {
        let taken = self.inner.try_lock_shared_recursive();
        self.if_taken(taken, Self::read_locked)
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockRecursiveTimed for RawRwLock {
    #[inline]
    fn try_lock_shared_recursive_for(&self, timeout: Duration) -> bool {
        let taken = self.inner.try_lock_shared_recursive_for(timeout);
        self.if_taken(taken, Self::read_locked)
    }

    #[inline]
    fn try_lock_shared_recursive_until(&self, timeout: Instant) -> bool {
        let taken = self.inner.try_lock_shared_recursive_until(timeout);
        self.if_taken(taken, Self::read_locked)
    }
}

// SAFETY: as above. An upgradable read is a read (it excludes writers and other upgradable
// readers, not readers); its upgrade is the exclusive lock's acquire of the readers' releases.
unsafe impl lock_api::RawRwLockUpgrade for RawRwLock {
    #[inline]
    fn lock_upgradable(&self) {
        self.inner.lock_upgradable();
        self.read_locked();
    }

    #[inline]
    fn try_lock_upgradable(&self) -> bool {
        self.if_taken(self.inner.try_lock_upgradable(), Self::read_locked)
    }

    #[inline]
    unsafe fn unlock_upgradable(&self) {
        self.reads.release();
        // SAFETY: lock_api's contract: upgradable access is held.
        unsafe { self.inner.unlock_upgradable() };
    }

    #[inline]
    unsafe fn upgrade(&self) {
        // SAFETY: lock_api's contract: upgradable access is held.
        unsafe { self.inner.upgrade() };
        self.reads.acquire();
    }

    #[inline]
    unsafe fn try_upgrade(&self) -> bool {
        // SAFETY: lock_api's contract: upgradable access is held.
        let upgraded = unsafe { self.inner.try_upgrade() };
        if upgraded {
            self.reads.acquire();
        }
        upgraded
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockUpgradeFair for RawRwLock {
    #[inline]
    unsafe fn unlock_upgradable_fair(&self) {
        self.reads.release();
        // SAFETY: lock_api's contract: upgradable access is held.
        unsafe { self.inner.unlock_upgradable_fair() };
    }

    #[inline]
    unsafe fn bump_upgradable(&self) {
        self.reads.release();
        // SAFETY: lock_api's contract: upgradable access is held.
        unsafe { self.inner.bump_upgradable() };
        self.read_locked();
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockUpgradeDowngrade for RawRwLock {
    #[inline]
    unsafe fn downgrade_upgradable(&self) {
        // Upgradable to shared: a reader either way, nothing to order.
        // SAFETY: lock_api's contract: upgradable access is held.
        unsafe { self.inner.downgrade_upgradable() };
    }

    #[inline]
    unsafe fn downgrade_to_upgradable(&self) {
        // Readers may come in once it returns, and they acquire `writes`.
        self.writes.release();
        // SAFETY: lock_api's contract: exclusive access is held.
        unsafe { self.inner.downgrade_to_upgradable() };
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockUpgradeTimed for RawRwLock {
    #[inline]
    fn try_lock_upgradable_for(&self, timeout: Duration) -> bool {
        let taken = self.inner.try_lock_upgradable_for(timeout);
        self.if_taken(taken, Self::read_locked)
    }

    #[inline]
    fn try_lock_upgradable_until(&self, timeout: Instant) -> bool {
        let taken = self.inner.try_lock_upgradable_until(timeout);
        self.if_taken(taken, Self::read_locked)
    }

    #[inline]
    unsafe fn try_upgrade_for(&self, timeout: Duration) -> bool {
        // SAFETY: lock_api's contract: upgradable access is held.
        let upgraded = unsafe { self.inner.try_upgrade_for(timeout) };
        if upgraded {
            self.reads.acquire();
        }
        upgraded
    }

    #[inline]
    unsafe fn try_upgrade_until(&self, timeout: Instant) -> bool {
        // SAFETY: lock_api's contract: upgradable access is held.
        let upgraded = unsafe { self.inner.try_upgrade_until(timeout) };
        if upgraded {
            self.reads.acquire();
        }
        upgraded
    }
}
