//! The clock of an atomic variable, and fences.
//!
//! Rules (the C++/Rust memory model, as ThreadSanitizer applies it): a Release (or stronger)
//! store makes the variable's clock the storer's clock; a Release read-modify-write joins it in
//! (it continues the release sequence); an Acquire (or stronger) load joins the variable's clock
//! into the loader's. Relaxed accesses order nothing, except through fences: a Release fence
//! lends its clock to the thread's later Relaxed stores, and an Acquire fence acquires what the
//! thread's earlier Relaxed loads read.
//!
//! The real operation runs with the clock's lock held, so the edge and the value travel
//! together: a compare-exchange releases only if it succeeds, and a load acquires the clock of
//! the store it read, not of a later one.

use super::clock::VectorClock;
use super::thread;
use std::cell::RefCell;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{self, AcqRel, Acquire, Relaxed, Release, SeqCst};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What an operation does to the variable.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Load,
    Store,
    Rmw,
}

fn releases(order: Ordering) -> bool {
    matches!(order, Release | AcqRel | SeqCst)
}

fn acquires(order: Ordering) -> bool {
    matches!(order, Acquire | AcqRel | SeqCst)
}

/// The fence state of one thread.
#[derive(Default)]
struct Fences {
    /// The clock of the last Release fence, released by later Relaxed stores.
    released: Option<VectorClock>,
    /// What Relaxed loads read since; the next Acquire fence acquires it.
    pending: VectorClock,
}

thread_local! {
    static FENCES: RefCell<Fences> = RefCell::new(Fences::default());
}

/// The happens-before side of an atomic variable.
pub(crate) struct AtomicClock {
    /// Set before the first release into the clock: Relaxed loads of a variable nobody ever
    /// released into have nothing to carry and skip the lock.
    used: AtomicBool,
    clock: Mutex<VectorClock>,
}

impl Default for AtomicClock {
    fn default() -> AtomicClock {
        AtomicClock::new()
    }
}

impl AtomicClock {
    pub(crate) const fn new() -> AtomicClock {
        AtomicClock {
            used: AtomicBool::new(false),
            clock: Mutex::new(VectorClock::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, VectorClock> {
        // The lock is held only around one atomic instruction and clock arithmetic.
        self.clock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `real`, an operation of kind `op` with ordering `order`, with its edges.
    #[inline]
    pub(crate) fn run<R>(&self, op: Op, order: Ordering, real: impl FnOnce() -> R) -> R {
        if !super::enabled() || self.is_free(op, order) {
            return real();
        }
        let mut clock = self.lock();
        let result = real();
        self.apply(&mut clock, op, order);
        result
    }

    /// A compare-exchange: the success ordering applies if it stored, the failure one if not.
    #[inline]
    pub(crate) fn compare_exchange<T>(
        &self,
        success: Ordering,
        failure: Ordering,
        real: impl FnOnce() -> Result<T, T>,
    ) -> Result<T, T> {
        if !super::enabled() || (self.is_free(Op::Rmw, success) && self.is_free(Op::Load, failure))
        {
            return real();
        }
        let mut clock = self.lock();
        let result = real();
        match result {
            Ok(_) => self.apply(&mut clock, Op::Rmw, success),
            Err(_) => self.apply(&mut clock, Op::Load, failure),
        }
        result
    }

    /// Nothing to record: a Relaxed access with no fence to lend a clock and nothing to read.
    fn is_free(&self, op: Op, order: Ordering) -> bool {
        if order != Relaxed {
            return false;
        }
        let reads_clock = op != Op::Store && self.used.load(Relaxed);
        let fenced =
            op != Op::Load && FENCES.try_with(|f| f.borrow().released.is_some()) == Ok(true);
        !reads_clock && !fenced
    }

    fn apply(&self, clock: &mut VectorClock, op: Op, order: Ordering) {
        if op != Op::Store {
            if acquires(order) {
                thread::acquire(clock);
            } else {
                let _ = FENCES.try_with(|f| f.borrow_mut().pending.join(clock));
            }
        }
        if op != Op::Load {
            let fenced = || {
                FENCES
                    .try_with(|f| f.borrow().released.clone())
                    .ok()
                    .flatten()
            };
            match (op, releases(order)) {
                (Op::Store, true) => {
                    self.used.store(true, Relaxed);
                    thread::release_store(clock);
                }
                (Op::Rmw, true) => {
                    self.used.store(true, Relaxed);
                    thread::release(clock);
                }
                (Op::Store, false) => {
                    if let Some(fence) = fenced() {
                        self.used.store(true, Relaxed);
                        *clock = fence;
                    }
                }
                _ => {
                    if let Some(fence) = fenced() {
                        self.used.store(true, Relaxed);
                        clock.join(&fence);
                    }
                }
            }
        }
    }
}

/// `std::sync::atomic::fence` with its edges, then the real fence.
pub(crate) fn fence(order: Ordering) {
    if super::enabled() {
        if releases(order) {
            let mut snapshot = VectorClock::new();
            thread::release(&mut snapshot);
            let _ = FENCES.try_with(|f| f.borrow_mut().released = Some(snapshot));
        }
        if acquires(order) {
            let _ = FENCES.try_with(|f| thread::acquire(&f.borrow().pending));
        }
    }
    std::sync::atomic::fence(order);
}
