//! A drop-in for [`parking_lot`](https://docs.rs/parking_lot/0.12) whose locks are visible to
//! maprace (the `parking_lot` feature): unlocking a `maprace::parking_lot::Mutex` and locking it
//! again orders the map accesses on either side, and so do `RwLock` (with its upgradable reads,
//! upgrades and downgrades), `ReentrantMutex`, `Condvar` waits and `Once`.
//!
//! The API is parking_lot's own, because the types are: parking_lot's `Mutex<T>` is
//! `lock_api::Mutex<parking_lot::RawMutex, T>`, and maprace's is `lock_api::Mutex<RawMutex, T>`
//! with maprace's `RawMutex`, which wraps parking_lot's and makes the happens-before edges.
//! Every guard method (`MutexGuard::map`, `unlocked`, `bump`, `RwLockWriteGuard::downgrade`,
//! `RwLockUpgradableReadGuard::upgrade`, ...) locks and unlocks through the raw lock, so each
//! has its edge. No poisoning, guards returned directly, `try_lock_for`: all as in parking_lot.
//!
//! With the detector compiled out, every item here is parking_lot's own: this module is the one
//! place that decides. parking_lot's other items (`FairMutex`, ...) are not mirrored: maprace
//! sees nothing of them.

#[cfg(maprace_detect)]
mod condvar;
#[cfg(maprace_detect)]
mod mutex;
#[cfg(maprace_detect)]
mod once;
#[cfg(maprace_detect)]
mod remutex;
#[cfg(maprace_detect)]
mod rwlock;

/// Whether lock_api's guards of these locks stay on the thread that locked (parking_lot's
/// `GuardNoSend`, its default): only then does an unlock happen on the thread whose list has
/// the hold, and the raw locks record holds for the deadlock checks. With parking_lot's
/// `send_guard` feature (on for the whole build if any crate asks for it), a guard may be
/// dropped on another thread, and these locks are not checked (never a wrong verdict).
#[cfg(maprace_detect)]
#[inline(always)]
fn records_holds() -> bool {
    use std::any::TypeId;
    type Marker = <parking_lot::RawMutex as lock_api::RawMutex>::GuardMarker;
    TypeId::of::<Marker>() == TypeId::of::<lock_api::GuardNoSend>()
}

#[cfg(maprace_detect)]
pub use condvar::Condvar;
#[cfg(maprace_detect)]
pub use mutex::{MappedMutexGuard, Mutex, MutexGuard, RawMutex, const_mutex};
#[cfg(maprace_detect)]
pub use once::Once;
#[cfg(maprace_detect)]
pub use remutex::{
    MappedReentrantMutexGuard, ReentrantMutex, ReentrantMutexGuard, const_reentrant_mutex,
};
#[cfg(maprace_detect)]
pub use rwlock::{
    MappedRwLockReadGuard, MappedRwLockWriteGuard, RawRwLock, RwLock, RwLockReadGuard,
    RwLockUpgradableReadGuard, RwLockWriteGuard, const_rwlock,
};

#[cfg(not(maprace_detect))]
pub use parking_lot::{
    Condvar, MappedMutexGuard, MappedReentrantMutexGuard, MappedRwLockReadGuard,
    MappedRwLockWriteGuard, Mutex, MutexGuard, Once, RawMutex, RawRwLock, ReentrantMutex,
    ReentrantMutexGuard, RwLock, RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard,
    const_mutex, const_reentrant_mutex, const_rwlock,
};

/// parking_lot's own in both builds (they carry no synchronization).
pub use parking_lot::{OnceState, RawThreadId, WaitTimeoutResult, lock_api};
