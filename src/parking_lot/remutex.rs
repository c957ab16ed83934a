//! `ReentrantMutex`: lock_api's reentrant mutex over maprace's `RawMutex`. lock_api takes the
//! raw lock only at a thread's outermost lock and gives it up at its outermost unlock, which is
//! where the edges belong (the inner ones are the same thread's). A reentrant mutex cannot
//! deadlock on its own holder, so there is nothing to check there.

use super::mutex::RawMutex;
use parking_lot::RawThreadId;
use parking_lot::lock_api::{self, GetThreadId as _, RawMutex as _};

/// A mutex that its holder may lock again, whose locking maprace sees. See
/// [`parking_lot::ReentrantMutex`](https://docs.rs/parking_lot/0.12/parking_lot/type.ReentrantMutex.html).
///
/// ```
/// use maprace::parking_lot::ReentrantMutex;
/// use std::cell::RefCell;
///
/// let log = ReentrantMutex::new(RefCell::new(maprace::HashMap::new()));
/// let outer = log.lock();
/// log.lock().borrow_mut().insert(1, "inner");
/// assert_eq!(outer.borrow()[&1], "inner");
/// ```
pub type ReentrantMutex<T> = lock_api::ReentrantMutex<RawMutex, RawThreadId, T>;

/// The lock held. See parking_lot's `ReentrantMutexGuard`.
pub type ReentrantMutexGuard<'a, T> = lock_api::ReentrantMutexGuard<'a, RawMutex, RawThreadId, T>;

/// A guard narrowed by `ReentrantMutexGuard::map`. See parking_lot's
/// `MappedReentrantMutexGuard`.
pub type MappedReentrantMutexGuard<'a, T> =
    lock_api::MappedReentrantMutexGuard<'a, RawMutex, RawThreadId, T>;

/// Creates a new reentrant mutex in a const context. See parking_lot's
/// `const_reentrant_mutex`.
pub const fn const_reentrant_mutex<T>(val: T) -> ReentrantMutex<T> {
    ReentrantMutex::const_new(RawMutex::INIT, RawThreadId::INIT, val)
}
