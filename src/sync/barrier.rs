//! `Barrier` with std's API. Every arrival releases into the clock of its generation before the
//! real wait, and every thread leaving acquires that clock after it: all that the `n` threads
//! did before the barrier happens before what any of them does after it.
//!
//! Two clocks alternate between generations, so a fast thread that already arrives at the next
//! barrier does not leak its new work to a slow one still leaving this barrier.

use crate::rt::clock::VectorClock;
use crate::rt::thread;
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
    n: usize,
    arrivals: std::sync::Mutex<Arrivals>,
    inner: std::sync::Barrier,
}

struct Arrivals {
    /// Arrivals so far; `count / n` is the generation of the next one.
    count: u64,
    /// The clock of even and of odd generations.
    clocks: [VectorClock; 2],
}

impl Barrier {
    /// Creates a barrier for `n` threads. See [`std::sync::Barrier::new`].
    #[must_use]
    pub const fn new(n: usize) -> Barrier {
        Barrier {
            // std treats a barrier of 0 as a barrier of 1.
            n: if n == 0 { 1 } else { n },
            arrivals: std::sync::Mutex::new(Arrivals {
                count: 0,
                clocks: [VectorClock::new(), VectorClock::new()],
            }),
            inner: std::sync::Barrier::new(n),
        }
    }

    /// Blocks until all `n` threads have arrived. See [`std::sync::Barrier::wait`].
    pub fn wait(&self) -> BarrierWaitResult {
        if !crate::rt::enabled() {
            return self.inner.wait();
        }
        let generation = {
            let mut arrivals = crate::rt::lock(&self.arrivals);
            let n = self.n as u64;
            let generation = (arrivals.count / n % 2) as usize;
            if arrivals.count.is_multiple_of(n) {
                // The first arrival: everyone has left the barrier two generations ago.
                arrivals.clocks[generation] = VectorClock::new();
            }
            arrivals.count += 1;
            thread::release(&mut arrivals.clocks[generation]);
            generation
        };
        let result = self.inner.wait();
        let arrivals = crate::rt::lock(&self.arrivals);
        thread::acquire(&arrivals.clocks[generation]);
        result
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}
