//! `Barrier` with std's API: all that the `n` threads did before the barrier happens before what
//! any of them does after it (the generations and their clocks are `rt::barrier`'s).

use crate::rt::barrier::{Arrival, Generations};
use std::fmt;
use std::sync::BarrierWaitResult;

/// A barrier whose phases maprace sees. See [`std::sync::Barrier`].
///
/// With more than `n` threads waiting at once, the threads a generation releases are the `n`
/// counted into it, in the order they arrive here (as std's, in the order they enter its wait),
/// and their clocks are the ones it joins; one of them gets `is_leader`.
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
    generations: Generations,
}

impl Barrier {
    /// Creates a barrier for `n` threads. See [`std::sync::Barrier::new`].
    #[must_use]
    pub const fn new(n: usize) -> Barrier {
        Barrier {
            generations: Generations::new(n),
        }
    }

    /// Blocks until all `n` threads have arrived. See [`std::sync::Barrier::wait`].
    pub fn wait(&self) -> BarrierWaitResult {
        match self.generations.arrive() {
            Arrival::Untracked(plain) => plain.wait(),
            Arrival::Tracked(generation) => {
                crate::__private::barrier_counted();
                generation.wait()
            }
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier").finish_non_exhaustive()
    }
}
