//! `RwLock`: lock_api's reader-writer lock over maprace's `RawRwLock`, which wraps parking_lot's
//! and makes `maprace::sync::RwLock`'s edges, through the same two `SyncClock`s: writers release
//! into `writes`, readers (shared and upgradable) into `reads`; a reader acquires `writes`, a
//! writer both. An upgrade makes the upgradable reader a writer: it acquires `reads` (the
//! readers that left before it could upgrade). A downgrade ends the writer's exclusive part: it
//! releases into `writes` before the readers it lets in can acquire it. Releases happen before
//! the real unlock, acquires after the real lock.
//!
//! The self-deadlock checks (`rt::deadlock::lock_raw`): `read`, `write`, `upgradable_read` or
//! `read_recursive` while this thread writes, `write` or `upgradable_read` while it holds the
//! upgradable read, `write` while it reads, and an `upgrade` while it holds another read of the
//! lock are certain deadlocks; `read` or `upgradable_read` while it reads (and holds no
//! upgradable read) is a latent one: parking_lot's lock is fair to writers, so the second read
//! waits whenever a writer asks in between. `read_recursive` is made for that and is not
//! reported. As for `Mutex`, each hold is recorded by the raw lock, and timed calls are not
//! checked. An upgrade or a downgrade changes the hold's mode and keeps its site.

use crate::rt::deadlock::{self, LockCall, LockId, LockMode};
use crate::rt::site::{Op, Site};
use crate::rt::thread::SyncClock;
use parking_lot::lock_api::{self, RawRwLock as _};
use std::panic::Location;
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
    /// The lock in deadlock checks' held lists.
    id: LockId,
}

impl RawRwLock {
    /// Shared (or upgradable) access has just been taken.
    #[inline]
    fn read_locked(&self) {
        self.writes.acquire_lock();
    }

    /// Exclusive access has just been taken.
    #[inline]
    fn write_locked(&self) {
        self.writes.acquire_lock_with(&self.reads);
    }

    /// `locked` if `taken`, which it returns.
    #[inline]
    fn if_taken(&self, taken: bool, locked: fn(&Self)) -> bool {
        if taken {
            locked(self);
        }
        taken
    }

    /// A blocking `call`, made at `site`, that takes the lock in `mode`: the checks, then
    /// `blocking` (unless `try_lock` took it), then the edge and the hold.
    #[inline(always)]
    fn lock_with(
        &self,
        call: LockCall,
        site: Site,
        try_lock: impl FnOnce() -> bool,
        blocking: impl FnOnce(),
        locked: fn(&Self),
    ) {
        deadlock::lock_raw(
            &self.id,
            call,
            site,
            &deadlock::PL_RWLOCK,
            try_lock,
            blocking,
        );
        locked(self);
        self.hold_taken(call.mode(), site);
    }

    /// `if_taken` for a call that does not block, made at `site`: the hold too, in `mode`.
    #[inline(always)]
    fn if_held(&self, taken: bool, locked: fn(&Self), mode: LockMode, site: Site) -> bool {
        if self.if_taken(taken, locked) {
            self.hold_taken(mode, site);
        }
        taken
    }

    #[inline(always)]
    fn hold_taken(&self, mode: LockMode, site: Site) {
        if super::records_holds() {
            deadlock::raw_taken(&self.id, mode, site, &deadlock::PL_RWLOCK);
        }
    }

    /// The hold in `mode` ends: the lock is about to be unlocked.
    #[inline(always)]
    fn hold_ends(&self, mode: LockMode) {
        if super::records_holds() {
            deadlock::raw_released(&self.id, mode);
        }
    }

    /// The hold goes from `from` mode to `to`.
    #[inline(always)]
    fn hold_changes(&self, from: LockMode, to: LockMode) {
        if super::records_holds() {
            deadlock::raw_changed(&self.id, from, to, &deadlock::PL_RWLOCK);
        }
    }
}

/// Where a call was made, as `op`.
#[inline(always)]
#[track_caller]
fn here(op: Op) -> Site {
    Site::new(op, Location::caller())
}

// SAFETY: parking_lot's raw lock gives the exclusion; the clocks have locks of their own.
unsafe impl lock_api::RawRwLock for RawRwLock {
    #[allow(clippy::declare_interior_mutable_const)] // lock_api's way to build a `static`
    const INIT: RawRwLock = RawRwLock {
        writes: SyncClock::new(),
        reads: SyncClock::new(),
        inner: <parking_lot::RawRwLock as lock_api::RawRwLock>::INIT,
        id: LockId::new(),
    };

    type GuardMarker = <parking_lot::RawRwLock as lock_api::RawRwLock>::GuardMarker;

    #[inline]
    #[track_caller]
    fn lock_shared(&self) {
        self.lock_with(
            LockCall::Shared,
            here(Op::Read),
            || self.inner.try_lock_shared(),
            || self.inner.lock_shared(),
            Self::read_locked,
        );
    }

    #[inline]
    #[track_caller]
    fn try_lock_shared(&self) -> bool {
        let taken = self.inner.try_lock_shared();
        self.if_held(taken, Self::read_locked, LockMode::Shared, here(Op::Read))
    }

    #[inline]
    unsafe fn unlock_shared(&self) {
        self.hold_ends(LockMode::Shared);
        self.reads.release();
        // SAFETY: lock_api's contract: shared access is held.
        unsafe { self.inner.unlock_shared() };
    }

    #[inline]
    #[track_caller]
    fn lock_exclusive(&self) {
        self.lock_with(
            LockCall::Exclusive,
            here(Op::Write),
            || self.inner.try_lock_exclusive(),
            || self.inner.lock_exclusive(),
            Self::write_locked,
        );
    }

    #[inline]
    #[track_caller]
    fn try_lock_exclusive(&self) -> bool {
        let taken = self.inner.try_lock_exclusive();
        self.if_held(
            taken,
            Self::write_locked,
            LockMode::Exclusive,
            here(Op::Write),
        )
    }

    #[inline]
    unsafe fn unlock_exclusive(&self) {
        self.hold_ends(LockMode::Exclusive);
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
        self.hold_ends(LockMode::Shared);
        self.reads.release();
        // SAFETY: lock_api's contract: shared access is held.
        unsafe { self.inner.unlock_shared_fair() };
    }

    #[inline]
    unsafe fn unlock_exclusive_fair(&self) {
        self.hold_ends(LockMode::Exclusive);
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
        self.hold_changes(LockMode::Exclusive, LockMode::Shared);
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
    #[track_caller]
    fn try_lock_shared_for(&self, timeout: Duration) -> bool {
        let taken = self.inner.try_lock_shared_for(timeout);
        self.if_held(taken, Self::read_locked, LockMode::Shared, here(Op::Read))
    }

    #[inline]
    #[track_caller]
    fn try_lock_shared_until(&self, timeout: Instant) -> bool {
        let taken = self.inner.try_lock_shared_until(timeout);
        self.if_held(taken, Self::read_locked, LockMode::Shared, here(Op::Read))
    }

    #[inline]
    #[track_caller]
    fn try_lock_exclusive_for(&self, timeout: Duration) -> bool {
        let taken = self.inner.try_lock_exclusive_for(timeout);
        self.if_held(
            taken,
            Self::write_locked,
            LockMode::Exclusive,
            here(Op::Write),
        )
    }

    #[inline]
    #[track_caller]
    fn try_lock_exclusive_until(&self, timeout: Instant) -> bool {
        let taken = self.inner.try_lock_exclusive_until(timeout);
        self.if_held(
            taken,
            Self::write_locked,
            LockMode::Exclusive,
            here(Op::Write),
        )
    }
}

// SAFETY: as above; a recursive read is a read.
unsafe impl lock_api::RawRwLockRecursive for RawRwLock {
    #[inline]
    #[track_caller]
    fn lock_shared_recursive(&self) {
        self.lock_with(
            LockCall::SharedRecursive,
            here(Op::ReadRecursive),
            || self.inner.try_lock_shared_recursive(),
            || self.inner.lock_shared_recursive(),
            Self::read_locked,
        );
    }

    #[inline]
    #[track_caller]
    fn try_lock_shared_recursive(&self) -> bool {
        let taken = self.inner.try_lock_shared_recursive();
        let site = here(Op::ReadRecursive);
        self.if_held(taken, Self::read_locked, LockMode::Shared, site)
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockRecursiveTimed for RawRwLock {
    #[inline]
    #[track_caller]
    fn try_lock_shared_recursive_for(&self, timeout: Duration) -> bool {
        let taken = self.inner.try_lock_shared_recursive_for(timeout);
        let site = here(Op::ReadRecursive);
        self.if_held(taken, Self::read_locked, LockMode::Shared, site)
    }

    #[inline]
    #[track_caller]
    fn try_lock_shared_recursive_until(&self, timeout: Instant) -> bool {
        let taken = self.inner.try_lock_shared_recursive_until(timeout);
        let site = here(Op::ReadRecursive);
        self.if_held(taken, Self::read_locked, LockMode::Shared, site)
    }
}

// SAFETY: as above. An upgradable read is a read (it excludes writers and other upgradable
// readers, not readers); its upgrade is the exclusive lock's acquire of the readers' releases.
unsafe impl lock_api::RawRwLockUpgrade for RawRwLock {
    #[inline]
    #[track_caller]
    fn lock_upgradable(&self) {
        self.lock_with(
            LockCall::Upgradable,
            here(Op::UpgradableRead),
            || self.inner.try_lock_upgradable(),
            || self.inner.lock_upgradable(),
            Self::read_locked,
        );
    }

    #[inline]
    #[track_caller]
    fn try_lock_upgradable(&self) -> bool {
        let taken = self.inner.try_lock_upgradable();
        let site = here(Op::UpgradableRead);
        self.if_held(taken, Self::read_locked, LockMode::Upgradable, site)
    }

    #[inline]
    unsafe fn unlock_upgradable(&self) {
        self.hold_ends(LockMode::Upgradable);
        self.reads.release();
        // SAFETY: lock_api's contract: upgradable access is held.
        unsafe { self.inner.unlock_upgradable() };
    }

    #[inline]
    #[track_caller]
    unsafe fn upgrade(&self) {
        deadlock::lock_raw(
            &self.id,
            LockCall::Upgrade,
            here(Op::Upgrade),
            &deadlock::PL_RWLOCK,
            // SAFETY (both): lock_api's contract: upgradable access is held.
            || unsafe { self.inner.try_upgrade() },
            || unsafe { self.inner.upgrade() },
        );
        self.reads.acquire_lock();
        self.hold_changes(LockMode::Upgradable, LockMode::Exclusive);
    }

    #[inline]
    unsafe fn try_upgrade(&self) -> bool {
        // SAFETY: lock_api's contract: upgradable access is held.
        let upgraded = unsafe { self.inner.try_upgrade() };
        if upgraded {
            self.reads.acquire_lock();
            self.hold_changes(LockMode::Upgradable, LockMode::Exclusive);
        }
        upgraded
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockUpgradeFair for RawRwLock {
    #[inline]
    unsafe fn unlock_upgradable_fair(&self) {
        self.hold_ends(LockMode::Upgradable);
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
        self.hold_changes(LockMode::Upgradable, LockMode::Shared);
        // SAFETY: lock_api's contract: upgradable access is held.
        unsafe { self.inner.downgrade_upgradable() };
    }

    #[inline]
    unsafe fn downgrade_to_upgradable(&self) {
        // Readers may come in once it returns, and they acquire `writes`.
        self.hold_changes(LockMode::Exclusive, LockMode::Upgradable);
        self.writes.release();
        // SAFETY: lock_api's contract: exclusive access is held.
        unsafe { self.inner.downgrade_to_upgradable() };
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockUpgradeTimed for RawRwLock {
    #[inline]
    #[track_caller]
    fn try_lock_upgradable_for(&self, timeout: Duration) -> bool {
        let taken = self.inner.try_lock_upgradable_for(timeout);
        let site = here(Op::UpgradableRead);
        self.if_held(taken, Self::read_locked, LockMode::Upgradable, site)
    }

    #[inline]
    #[track_caller]
    fn try_lock_upgradable_until(&self, timeout: Instant) -> bool {
        let taken = self.inner.try_lock_upgradable_until(timeout);
        let site = here(Op::UpgradableRead);
        self.if_held(taken, Self::read_locked, LockMode::Upgradable, site)
    }

    #[inline]
    unsafe fn try_upgrade_for(&self, timeout: Duration) -> bool {
        // SAFETY: lock_api's contract: upgradable access is held.
        let upgraded = unsafe { self.inner.try_upgrade_for(timeout) };
        if upgraded {
            self.reads.acquire_lock();
            self.hold_changes(LockMode::Upgradable, LockMode::Exclusive);
        }
        upgraded
    }

    #[inline]
    unsafe fn try_upgrade_until(&self, timeout: Instant) -> bool {
        // SAFETY: lock_api's contract: upgradable access is held.
        let upgraded = unsafe { self.inner.try_upgrade_until(timeout) };
        if upgraded {
            self.reads.acquire_lock();
            self.hold_changes(LockMode::Upgradable, LockMode::Exclusive);
        }
        upgraded
    }
}
