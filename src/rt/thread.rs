//! Threads as the detector sees them: a slot and a vector clock per thread (kept in a
//! thread-local), a registry of what reports say about each thread (name, creation stack), and
//! the happens-before edges of thread creation, thread end and sync objects.

use super::clock::{Epoch, Tid, VectorClock};
use super::options;
use backtrace::Backtrace;
use std::cell::{Cell, UnsafeCell};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

/// What a report can say about a thread, kept after the thread ends.
pub(crate) struct ThreadInfo {
    pub(crate) tid: Tid,
    /// Filled by the thread itself at its first tracked operation (std names a thread only once
    /// it runs, after our spawn hook).
    name: OnceLock<String>,
    /// Where `pthread_create` was called, captured unresolved (cheap) and resolved when printed.
    created_at: Option<Mutex<Backtrace>>,
    /// Its start routine returned (whether or not anything joined it).
    ended: AtomicBool,
}

impl ThreadInfo {
    pub(crate) fn has_ended(&self) -> bool {
        self.ended.load(Relaxed)
    }

    pub(crate) fn name(&self) -> &str {
        self.name.get().map_or("<unnamed>", String::as_str)
    }

    /// The creation stack, symbolized now (only reports call this).
    pub(crate) fn created_at(&self) -> Option<Backtrace> {
        let bt = self.created_at.as_ref()?;
        let mut bt = bt.lock().unwrap_or_else(PoisonError::into_inner);
        bt.resolve();
        Some(bt.clone())
    }
}

static REGISTRY: Mutex<Vec<Arc<ThreadInfo>>> = Mutex::new(Vec::new());

fn registry() -> MutexGuard<'static, Vec<Arc<ThreadInfo>>> {
    // Nothing panics while holding it, but a poisoned registry must not take reports down.
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

fn register(created_at: Option<Backtrace>) -> Arc<ThreadInfo> {
    let mut threads = registry();
    let tid = Tid::try_from(threads.len())
        .ok()
        .filter(|&tid| tid <= Epoch::MAX_TID)
        .unwrap_or_else(|| super::fatal("more than 8 million threads in one process"));
    let info = Arc::new(ThreadInfo {
        tid,
        name: OnceLock::new(),
        created_at: created_at.map(Mutex::new),
        ended: AtomicBool::new(false),
    });
    threads.push(info.clone());
    info
}

/// How many threads the detector has seen (slots given out), for `maprace::stats()`.
pub(crate) fn seen() -> usize {
    registry().len()
}

/// The thread in slot `tid`, for reports.
pub(crate) fn info(tid: Tid) -> Option<Arc<ThreadInfo>> {
    registry().get(tid as usize).cloned()
}

/// The current thread's view of time.
pub(crate) struct Ctx {
    pub(crate) tid: Tid,
    /// `vc[tid]@tid`, cached: the stamp of every access this thread makes until its next release.
    pub(crate) epoch: Epoch,
    pub(crate) vc: VectorClock,
    /// `sync=assume`: unordered accesses are presumed ordered; only overlaps are reported.
    pub(crate) assume_sync: bool,
}

impl Ctx {
    fn new(info: Arc<ThreadInfo>, mut vc: VectorClock) -> Ctx {
        let tid = info.tid;
        if vc.get(tid) == 0 {
            vc.set(tid, 1);
        }
        let name = std::thread::current()
            .name()
            .map_or_else(|| format!("T{tid}"), str::to_owned);
        let _ = info.name.set(name);
        super::os::link();
        Ctx {
            tid,
            epoch: Epoch::new(tid, vc.get(tid)),
            vc,
            assume_sync: options::get().assume_sync(),
        }
    }

    #[cfg(test)]
    pub(crate) fn for_test(tid: Tid, vc: VectorClock) -> Ctx {
        Ctx {
            tid,
            epoch: Epoch::new(tid, vc.get(tid)),
            vc,
            assume_sync: false,
        }
    }

    /// After a release, this thread's later accesses must not be covered by what it released.
    fn tick(&mut self) {
        self.vc.tick(self.tid);
        self.epoch = Epoch::new(self.tid, self.vc.get(self.tid));
    }
}

/// A thread created through `pthread_create`, between the parent's call and the child's first
/// tracked operation.
pub(crate) struct Fork {
    info: Arc<ThreadInfo>,
    vc: VectorClock,
}

thread_local! {
    static CTX: UnsafeCell<Option<Ctx>> = const { UnsafeCell::new(None) };
    /// Set by the spawn hook in the child before user code runs; taken when `CTX` is created.
    static PENDING_FORK: Cell<Option<Box<Fork>>> = const { Cell::new(None) };
}

fn init(slot: &mut Option<Ctx>) -> &mut Ctx {
    slot.get_or_insert_with(|| match PENDING_FORK.take() {
        Some(fork) => Ctx::new(fork.info, fork.vc),
        None => Ctx::new(register(None), VectorClock::new()),
    })
}

/// Runs `f` with the current thread's context, creating it at the thread's first use. `None`
/// while the thread-local is being destroyed (accesses from TLS destructors go unchecked).
#[inline]
pub(crate) fn with<R>(f: impl FnOnce(&Ctx) -> R) -> Option<R> {
    CTX.try_with(|slot| {
        // SAFETY: the context is only borrowed inside `with`/`with_mut`, whose closures are the
        // runtime's own code: they call no user code and never nest, so this is the only borrow.
        let slot = unsafe { &mut *slot.get() };
        f(init(slot))
    })
    .ok()
}

fn with_mut<R>(f: impl FnOnce(&mut Ctx) -> R) -> Option<R> {
    CTX.try_with(|slot| {
        // SAFETY: as in `with`.
        let slot = unsafe { &mut *slot.get() };
        f(init(slot))
    })
    .ok()
}

/// Parent side of thread creation: a child slot whose clock has seen everything the parent did
/// so far. The parent then ticks, so what it does next is unordered with the child.
pub(crate) fn fork() -> Box<Fork> {
    let created_at = Backtrace::new_unresolved();
    // The parent takes its slot first, so slots follow creation order (main is T0).
    with(|_| ());
    let info = register(Some(created_at));
    let vc = with_mut(|parent| {
        let mut vc = parent.vc.clone();
        vc.set(info.tid, 1);
        parent.tick();
        vc
    })
    .unwrap_or_default();
    Box::new(Fork { info, vc })
}

/// Child side of thread creation, before any user code runs.
pub(crate) fn start_child(fork: Box<Fork>) {
    PENDING_FORK.set(Some(fork));
}

/// The thread's start routine returned: the clock a joiner acquires.
pub(crate) fn end() -> VectorClock {
    if let Some(fork) = PENDING_FORK.take() {
        // The child never made a tracked operation: its clock is the one it was born with.
        fork.info.ended.store(true, Relaxed);
        return fork.vc;
    }
    with(|me| {
        if let Some(info) = info(me.tid) {
            info.ended.store(true, Relaxed);
        }
        me.vc.clone()
    })
    .unwrap_or_default()
}

/// Acquire `clock`: everything that happened before it happens before what this thread does next.
pub(crate) fn acquire(clock: &VectorClock) {
    with_mut(|me| me.vc.join(clock));
}

/// Release into `clock`: what this thread did so far happens before whoever acquires it.
pub(crate) fn release(clock: &mut VectorClock) {
    with_mut(|me| {
        clock.join(&me.vc);
        me.tick();
    });
}

/// Release-store into `clock`: it becomes this thread's clock, so whoever acquires it is ordered
/// after this thread only (not after earlier releasers), as a release store to an atomic says.
pub(crate) fn release_store(clock: &mut VectorClock) {
    with_mut(|me| {
        clock.clone_from(&me.vc);
        me.tick();
    });
}

/// The clock of a synchronization object (a lock, a scope's end): releases join into it,
/// acquires join from it. It has its own small lock, so it serves any primitive.
#[derive(Default)]
pub(crate) struct SyncClock {
    clock: Mutex<VectorClock>,
}

impl SyncClock {
    pub(crate) const fn new() -> SyncClock {
        SyncClock {
            clock: Mutex::new(VectorClock::new()),
        }
    }

    fn clock(&self) -> MutexGuard<'_, VectorClock> {
        self.clock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn release(&self) {
        if super::enabled() {
            release(&mut self.clock());
        }
    }

    pub(crate) fn acquire(&self) {
        if super::enabled() {
            acquire(&self.clock());
        }
    }
}

/// The clock of a lock, touched only while the real lock is held (after locking, before
/// unlocking): the lock itself serializes it, so it needs no lock of its own.
#[derive(Default)]
pub(crate) struct LockedClock {
    clock: UnsafeCell<VectorClock>,
}

// SAFETY: the clock is only reached through `release` and `acquire`, whose callers hold the
// primitive's real lock, so no two threads ever touch it at once.
unsafe impl Sync for LockedClock {}

impl LockedClock {
    pub(crate) const fn new() -> LockedClock {
        LockedClock {
            clock: UnsafeCell::new(VectorClock::new()),
        }
    }

    /// # Safety
    /// The caller holds the real lock this clock belongs to.
    pub(crate) unsafe fn release(&self) {
        if super::enabled() {
            // SAFETY: the lock is held (the caller's contract), so this is the only access.
            release(unsafe { &mut *self.clock.get() });
        }
    }

    /// # Safety
    /// The caller holds the real lock this clock belongs to.
    pub(crate) unsafe fn acquire(&self) {
        if super::enabled() {
            // SAFETY: as in `release`.
            acquire(unsafe { &*self.clock.get() });
        }
    }
}
