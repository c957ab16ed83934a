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
//!
//! With the detector off at a barrier's first arrival (`enabled=0`), its waits are one std
//! barrier's, as std's own, for good (the choice is kept, so that no wait can ever go the
//! other way and be left alone).

use super::clock::VectorClock;
use super::{lock, thread};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, BarrierWaitResult, Mutex};

pub(crate) struct Generations {
    /// Threads per generation (std's count: a barrier of 0 releases each thread alone).
    n: usize,
    forming: Mutex<Forming>,
    /// Set (once, under `forming`'s lock) when the first arrival found the detector off.
    untracked: AtomicBool,
    /// The real wait of an untracked barrier.
    plain: std::sync::Barrier,
}

/// How a thread waits: on the untracked barrier's std barrier, or on its generation's.
pub(crate) enum Arrival<'a> {
    Untracked(&'a std::sync::Barrier),
    Tracked(Arc<Generation>),
}

struct Forming {
    /// The detector was on at the first arrival (`None` before it).
    tracked: Option<bool>,
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
                tracked: None,
                arrived: 0,
                current: None,
            }),
            untracked: AtomicBool::new(false),
            plain: std::sync::Barrier::new(n),
        }
    }

    /// This thread arrives: it is counted into the forming generation (the first arrival makes
    /// it, the `n`-th closes it) and, with the detector on, releases into its clock.
    #[inline]
    pub(crate) fn arrive(&self) -> Arrival<'_> {
        // Relaxed: the flag is set once and never cleared; nothing else is read through it.
        if self.untracked.load(Relaxed) {
            return Arrival::Untracked(&self.plain);
        }
        self.arrive_tracked()
    }

    fn arrive_tracked(&self) -> Arrival<'_> {
        let generation = {
            let mut forming = lock(&self.forming);
            if !*forming.tracked.get_or_insert_with(super::enabled) {
                self.untracked.store(true, Relaxed);
                return Arrival::Untracked(&self.plain);
            }
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
        Arrival::Tracked(generation)
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
