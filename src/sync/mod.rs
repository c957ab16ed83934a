//! A drop-in for [`std::sync`] whose primitives are visible to maprace: unlocking a
//! `maprace::sync::Mutex` and locking it again orders the map accesses on either side.
//!
//! With the detector compiled out, every item here is std's own.

#[cfg(maprace_detect)]
mod mutex;

#[cfg(maprace_detect)]
pub use mutex::{Mutex, MutexGuard};
#[cfg(not(maprace_detect))]
pub use std::sync::{Mutex, MutexGuard};

pub use std::sync::{Arc, LockResult, PoisonError, TryLockError, TryLockResult, Weak};
