//! The generations of a `maprace::sync::Barrier`, and their clocks. Every arrival releases into
//! the clock of its generation before the real wait, and every thread leaving acquires that
//! clock after it: all that the `n` threads of a generation did before the barrier happens
//! before what any of them does after it.
//!
//! A generation is the real wait too: each has a std barrier of its own, which exactly the `n`
//! threads counted into it wait on, so the threads whose clocks it joins are exactly those it
//! releases, however many threads wait at once and whatever order they enter the real wait
//! in (with one std barrier for all, a thread late between its count here and the real wait
//! could be released with threads of the next generation: an edge invented or lost). A fast
//! thread that arrives again while a slow one is still leaving counts into the next
//! generation, whose clock is another.

use super::clock::VectorClock;
use super::{lock, thread};
use std::sync::{Arc, BarrierWaitResult, Mutex};

pub(crate) struct Generations {
    /// Threads per generation (std's count: a barrier of 0 releases each thread alone).
    n: usize,
    forming: Mutex<Forming>,
}

struct Forming {
    /// Threads counted into `current` so far.
    arrived: usize,
    /// The generation the next arrival belongs to (made by its first arrival).
    current: Option<Arc<Generation>>,
}

/// One generation: the real wait of its `n` threads and the clock their arrivals release into.
pub(crate) struct Generation {
    threads: std::sync::Barrier,
    clock: Mutex<VectorClock>,
}

impl Generations {
    /// For a barrier of `n` threads.
    pub(crate) const fn new(n: usize) -> Generations {
        Generations {
            n,
            forming: Mutex::new(Forming {
                arrived: 0,
                current: None,
            }),
        }
    }

    /// This thread arrives: it is counted into the forming generation (the first arrival makes
    /// it, the `n`-th closes it) and, with the detector on, releases into its clock.
    pub(crate) fn arrive(&self) -> Arc<Generation> {
        let generation = {
            let mut forming = lock(&self.forming);
            let generation = match &forming.current {
                Some(generation) => Arc::clone(generation),
                None => Arc::clone(forming.current.insert(Arc::new(Generation {
                    threads: std::sync::Barrier::new(self.n),
                    clock: Mutex::new(VectorClock::new()),
                }))),
            };
            forming.arrived += 1;
            if forming.arrived >= self.n {
                forming.arrived = 0;
                forming.current = None;
            }
            generation
        };
        if super::enabled() {
            thread::release(&mut lock(&generation.clock));
        }
        generation
    }
}

impl Generation {
    /// The real wait, until the generation's `n` threads have arrived, then (with the detector
    /// on) the acquire of what they released: every one of them released before its wait.
    pub(crate) fn wait(&self) -> BarrierWaitResult {
        let result = self.threads.wait();
        if super::enabled() {
            thread::acquire(&lock(&self.clock));
        }
        result
    }
}
