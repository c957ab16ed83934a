//! A drop-in for [`std::sync`] whose primitives are visible to maprace: unlocking a
//! `maprace::sync::Mutex` and locking it again orders the map accesses on either side, and so
//! do `RwLock`, `Condvar` waits, `Barrier` phases, `OnceLock`/`LazyLock`/`Once` initialization,
//! `mpsc` messages and atomics with Release/Acquire (or stronger) orderings.
//!
//! Each primitive has std's API, poisoning and result types (`LockResult`, `PoisonError`...
//! are std's own). With the detector compiled out, every item here is std's own: this module is
//! the one place that decides.

#[cfg(maprace_detect)]
pub mod atomic;
#[cfg(maprace_detect)]
mod barrier;
#[cfg(maprace_detect)]
mod condvar;
#[cfg(maprace_detect)]
mod lazy_lock;
#[cfg(maprace_detect)]
pub mod mpsc;
#[cfg(maprace_detect)]
mod mutex;
#[cfg(maprace_detect)]
pub(crate) mod once;
#[cfg(maprace_detect)]
mod once_lock;
#[cfg(maprace_detect)]
mod poison;
#[cfg(maprace_detect)]
mod rwlock;

#[cfg(maprace_detect)]
pub use barrier::Barrier;
#[cfg(maprace_detect)]
pub use condvar::Condvar;
#[cfg(maprace_detect)]
pub use lazy_lock::LazyLock;
#[cfg(maprace_detect)]
pub use mutex::{Mutex, MutexGuard};
#[cfg(maprace_detect)]
pub use once::Once;
#[cfg(maprace_detect)]
pub use once_lock::OnceLock;
#[cfg(maprace_detect)]
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};

#[cfg(not(maprace_detect))]
pub use std::sync::{
    Barrier, Condvar, LazyLock, Mutex, MutexGuard, Once, OnceLock, RwLock, RwLockReadGuard,
    RwLockWriteGuard, atomic, mpsc,
};

pub use std::sync::{
    Arc, BarrierWaitResult, LockResult, OnceState, PoisonError, TryLockError, TryLockResult,
    WaitTimeoutResult, Weak,
};
