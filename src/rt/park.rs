//! The clock of each thread's park token: `Thread::unpark` releases into the target thread's
//! clock before the real unpark, and `park` acquires it after the real park returns.
//!
//! The clock is reached through the thread's handle (`maprace::thread::Thread` holds an `Arc`
//! of it) and through a thread-local on the parked side. A thread spawned by maprace gets its
//! clock from the parent, so `JoinHandle::thread().unpark()` works before the child first runs;
//! any other thread makes its own at the first `current()` or `park()`.

use super::thread::SyncClock;
use std::cell::OnceCell;
use std::sync::Arc;

thread_local! {
    static PARKER: OnceCell<Arc<SyncClock>> = const { OnceCell::new() };
}

/// The current thread's park clock.
pub(crate) fn current() -> Arc<SyncClock> {
    PARKER
        .try_with(|p| p.get_or_init(|| Arc::new(SyncClock::new())).clone())
        .unwrap_or_else(|_| Arc::new(SyncClock::new()))
}

/// At the start of a thread spawned by maprace, before any user code: the clock its handle has.
pub(crate) fn install(clock: Arc<SyncClock>) {
    let _ = PARKER.try_with(|p| p.set(clock));
}
