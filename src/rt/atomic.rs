//! The clock of an atomic variable, and fences.
//!
//! Rules (the C++20/Rust memory model): a Release (or stronger) store makes the
//! variable's clock the storer's clock; a Release read-modify-write joins it in (it continues the
//! release sequence), and so does a Relaxed one (it leaves the clock as it is); a Relaxed store
//! empties it (it ends the release sequence); an Acquire (or stronger) load joins the variable's
//! clock into the loader's. Relaxed accesses order nothing, except through fences: a Release
//! fence lends its clock to the thread's later Relaxed stores, and an Acquire fence acquires what
//! the thread's earlier Relaxed loads read.
//!
//! The real operation runs with the clock's lock held, so the edge and the value travel
//! together: a compare-exchange releases only if it succeeds, and a load acquires the clock of
//! the store it read, not of a later one.

use super::clock::VectorClock;
use super::lock;
use super::thread;
use std::cell::RefCell;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{self, AcqRel, Acquire, Relaxed, Release, SeqCst};

/// What an operation does to the variable.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum AtomicOp {
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

/// A Relaxed store or read-modify-write made now releases the clock of an earlier Release fence.
fn lends_fence(op: AtomicOp) -> bool {
    op != AtomicOp::Load && FENCES.try_with(|f| f.borrow().released.is_some()) == Ok(true)
}

/// The happens-before side of an atomic variable.
pub(crate) struct AtomicClock {
    /// Set before the first release into the clock (before the real store): Relaxed reads of
    /// a variable nobody ever released into have nothing to carry and skip the lock.
    used: AtomicBool,
    /// Held only around one atomic instruction and clock arithmetic.
    clock: Mutex<Clocks>,
}

struct Clocks {
    /// The clock of the release sequence the variable's value belongs to (empty if none).
    current: VectorClock,
    /// Every clock a store has replaced (joined), for a Relaxed read made without the lock
    /// while the first release came (see `relaxed`).
    ended: VectorClock,
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
            clock: Mutex::new(Clocks {
                current: VectorClock::new(),
                ended: VectorClock::new(),
            }),
        }
    }

    /// Runs `real`, an operation of kind `op` with ordering `order`, with its edges.
    #[inline]
    pub(crate) fn run<R>(&self, op: AtomicOp, order: Ordering, real: impl FnOnce() -> R) -> R {
        if !super::enabled() {
            return real();
        }
        if order == Relaxed && !lends_fence(op) {
            return self.relaxed(op, real);
        }
        let mut clocks = lock(&self.clock);
        self.mark_used(op, order);
        let result = real();
        self.apply(&mut clocks, op, order);
        result
    }

    /// A release is about to store into the variable: say so *before* the real store, so that
    /// a Relaxed reader that reads the stored value also sees the mark (see `relaxed`).
    fn mark_used(&self, op: AtomicOp, order: Ordering) {
        if op != AtomicOp::Load && (releases(order) || lends_fence(op)) {
            self.used.store(true, Relaxed);
        }
    }

    /// A Relaxed access with no fence to lend releases nothing; if it reads, the value may come
    /// from a release, whose clock the thread's next Acquire fence takes.
    ///
    /// A Relaxed *store* ends the release sequence of the last release (only read-modify-writes
    /// continue one): a load that reads its value acquires nothing, so the clock is emptied.
    ///
    /// Once anything was released into the variable, the real operation runs under the clock's
    /// lock, as a release's does, so that a read takes the clock of the value it read (not one
    /// a later store left) and a Relaxed store empties the clock of the value it replaces. Before
    /// that, Relaxed accesses skip the lock: the read comes first, and the fence after it orders
    /// the `used` check after the read, so a value stored by a release is never read without its
    /// clock (a real fence: free on x86, and it only makes the program more ordered, never
    /// less). Such a read that finds the first release made meanwhile takes the clock and every
    /// clock a store has replaced (`ended`): it may have read the value of any store since
    /// (edges too many, never too few). A Relaxed store that does not see the first release's mark yet
    /// leaves its clock in place, though it may come after it: an edge too many as well.
    fn relaxed<R>(&self, op: AtomicOp, real: impl FnOnce() -> R) -> R {
        if self.used.load(Relaxed) {
            let mut clocks = lock(&self.clock);
            let result = real();
            let Clocks { current, ended } = &mut *clocks;
            if op == AtomicOp::Store {
                ended.join(current);
                current.clear();
            } else {
                let _ = FENCES.try_with(|f| f.borrow_mut().pending.join(current));
            }
            return result;
        }
        let result = real();
        if op != AtomicOp::Store {
            std::sync::atomic::fence(Acquire);
            if self.used.load(Relaxed) {
                let clocks = lock(&self.clock);
                let _ = FENCES.try_with(|f| {
                    let pending = &mut f.borrow_mut().pending;
                    pending.join(&clocks.current);
                    pending.join(&clocks.ended);
                });
            }
        }
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
        if !super::enabled() {
            return real();
        }
        if success == Relaxed && failure == Relaxed && !lends_fence(AtomicOp::Rmw) {
            // Either way it reads; it releases nothing.
            return self.relaxed(AtomicOp::Rmw, real);
        }
        let mut clocks = lock(&self.clock);
        self.mark_used(AtomicOp::Rmw, success);
        let result = real();
        match result {
            Ok(_) => self.apply(&mut clocks, AtomicOp::Rmw, success),
            Err(_) => self.apply(&mut clocks, AtomicOp::Load, failure),
        }
        result
    }

    /// The edges of an operation made under the lock. A store replaces the clock (it begins a
    /// release sequence, or ends one): the clock it replaces goes to `ended` (see `relaxed`).
    fn apply(&self, clocks: &mut Clocks, op: AtomicOp, order: Ordering) {
        let Clocks { current, ended } = clocks;
        if op != AtomicOp::Store {
            if acquires(order) {
                thread::acquire(current);
            } else {
                let _ = FENCES.try_with(|f| f.borrow_mut().pending.join(current));
            }
        }
        if op != AtomicOp::Load {
            let fenced = || {
                FENCES
                    .try_with(|f| f.borrow().released.clone())
                    .ok()
                    .flatten()
            };
            match (op, releases(order)) {
                (AtomicOp::Store, true) => {
                    ended.join(current);
                    thread::release_store(current);
                }
                (AtomicOp::Rmw, true) => thread::release(current),
                (AtomicOp::Store, false) => {
                    ended.join(current);
                    match fenced() {
                        Some(fence) => *current = fence,
                        None => current.clear(),
                    }
                }
                _ => {
                    if let Some(fence) = fenced() {
                        current.join(&fence);
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
