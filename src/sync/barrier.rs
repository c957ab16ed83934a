//! `Barrier` with std's API: all that the `n` threads did before the barrier happens before what
//! any of them does after it (the clocks are `rt::barrier`'s).

use crate::rt::barrier::BarrierClocks;
use std::fmt;
use std::sync::BarrierWaitResult;

/// A barrier whose phases maprace sees. See [`std::sync::Barrier`].
///
/// ```
/// use maprace::sync::{Arc, Barrier, Mutex};
///
/// let barrier = Arc::new(Barrier::new(2));
/// let cache = Arc::new(Mutex::new(maprace::HashMap::new()));
/// let other = {
///     let (barrier, cache) = (Arc::clone(&barrier), Arc::clone(&cache));
///     std::thread::spawn(move || {
///         cache.lock().unwrap().insert(1, "one");
///         barrier.wait();
///     })
/// };
/// barrier.wait();
/// assert_eq!(cache.lock().unwrap()[&1], "one");
/// other.join().unwrap();
/// ```
pub struct Barrier {
    clocks: BarrierClocks,
    inner: std::sync::Barrier,
}

impl Barrier {
    /// Creates a barrier for `n` threads. See [`std::sync::Barrier::new`].
    #[must_use]
    pub const fn new(n: usize) -> Barrier {
        Barrier {
            clocks: BarrierClocks::new(n),
            inner: std::sync::Barrier::new(n),
        }
    }

    /// Blocks until all `n` threads have arrived. See [`std::sync::Barrier::wait`].
    pub fn wait(&self) -> BarrierWaitResult {
        let arrival = self.clocks.arrive();
        let result = self.inner.wait();
        self.clocks.leave(arrival);
        result
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}
