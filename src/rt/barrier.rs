//! The clocks of a `maprace::sync::Barrier`. Every arrival releases into the clock of its
//! generation before the real wait, and every thread leaving acquires that clock after it: all
//! that the `n` threads did before the barrier happens before what any of them does after it.
//!
//! Two clocks alternate between generations, so a fast thread that already arrives at the next
//! barrier does not leak its new work to a slow one still leaving this barrier.

use super::clock::VectorClock;
use super::{lock, thread};
use std::sync::Mutex;

pub(crate) struct BarrierClocks {
    /// Threads per generation.
    n: u64,
    arrivals: Mutex<Arrivals>,
}

struct Arrivals {
    /// Arrivals so far; `count / n` is the generation of the next one.
    count: u64,
    /// The clock of even and of odd generations.
    clocks: [VectorClock; 2],
}

/// An arrival at the barrier, until it leaves: the generation it belongs to (`None` with the
/// detector off).
#[must_use]
pub(crate) struct Arrival(Option<usize>);

impl BarrierClocks {
    /// For a barrier of `n` threads (std treats a barrier of 0 as a barrier of 1).
    pub(crate) const fn new(n: usize) -> BarrierClocks {
        BarrierClocks {
            n: if n == 0 { 1 } else { n as u64 },
            arrivals: Mutex::new(Arrivals {
                count: 0,
                clocks: [VectorClock::new(), VectorClock::new()],
            }),
        }
    }

    /// This thread arrives, before the real wait.
    pub(crate) fn arrive(&self) -> Arrival {
        if !super::enabled() {
            return Arrival(None);
        }
        let mut arrivals = lock(&self.arrivals);
        let n = self.n;
        let generation = (arrivals.count / n % 2) as usize;
        if arrivals.count.is_multiple_of(n) {
            // The first arrival: everyone has left the barrier two generations ago.
            arrivals.clocks[generation] = VectorClock::new();
        }
        arrivals.count += 1;
        thread::release(&mut arrivals.clocks[generation]);
        Arrival(Some(generation))
    }

    /// This thread leaves, after the real wait returned.
    pub(crate) fn leave(&self, arrival: Arrival) {
        if let Arrival(Some(generation)) = arrival {
            thread::acquire(&lock(&self.arrivals).clocks[generation]);
        }
    }
}
