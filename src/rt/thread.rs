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
    /// The thread that created it, when maprace saw the creation.
    parent: Option<Tid>,
}

impl ThreadInfo {
    pub(crate) fn parent(&self) -> Option<Tid> {
        self.parent
    }

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

fn register(created_at: Option<Backtrace>, parent: Option<Tid>) -> Arc<ThreadInfo> {
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
        parent,
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

/// The current thread's view of time. It lives on the heap for the thread's life; the hot path
/// reaches it through one thread-local pointer. Only its own thread touches it, and the runtime
/// never calls user code while it uses it, so interior mutability is enough.
pub(crate) struct Ctx {
    pub(crate) tid: Tid,
    /// `vc[tid]@tid`, cached: the stamp of every access this thread makes until its next release.
    epoch: std::cell::Cell<Epoch>,
    vc: UnsafeCell<VectorClock>,
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
        Ctx::with_clock(tid, vc, options::get().assume_sync())
    }

    fn with_clock(tid: Tid, vc: VectorClock, assume_sync: bool) -> Ctx {
        Ctx {
            tid,
            epoch: std::cell::Cell::new(Epoch::new(tid, vc.get(tid))),
            vc: UnsafeCell::new(vc),
            assume_sync,
        }
    }

    #[cfg(test)]
    pub(crate) fn for_test(tid: Tid, vc: VectorClock) -> Ctx {
        Ctx::with_clock(tid, vc, false)
    }

    #[inline]
    pub(crate) fn epoch(&self) -> Epoch {
        self.epoch.get()
    }

    /// Does the access stamped `epoch` happen before what this thread does now?
    #[inline]
    pub(crate) fn happens_before(&self, epoch: Epoch) -> bool {
        self.vc().happens_before(epoch)
    }

    fn vc(&self) -> &VectorClock {
        // SAFETY: see the type's docs: no `&mut` to the clock is alive outside `update`.
        unsafe { &*self.vc.get() }
    }

    /// Changes the clock; nothing else looks at it meanwhile (see the type's docs).
    fn update(&self, f: impl FnOnce(&mut VectorClock)) {
        // SAFETY: the only borrow of the clock while `f` runs; `f` is the runtime's own code.
        f(unsafe { &mut *self.vc.get() });
        self.epoch
            .set(Epoch::new(self.tid, self.vc().get(self.tid)));
    }

    /// After a release, this thread's later accesses must not be covered by what it released.
    fn tick(&self) {
        let tid = self.tid;
        self.update(|vc| vc.tick(tid));
    }
}

/// A thread created through `pthread_create`, between the parent's call and the child's first
/// tracked operation.
pub(crate) struct Fork {
    info: Arc<ThreadInfo>,
    vc: VectorClock,
}

/// `CURRENT` after the thread's context was freed (the thread is ending).
const GONE: usize = 1;

thread_local! {
    /// The current thread's context: null until its first use, `GONE` once freed.
    static CURRENT: std::cell::Cell<*const Ctx> = const { std::cell::Cell::new(std::ptr::null()) };
    /// Frees the context when the thread ends (the only thread-local here with a destructor,
    /// so the hot path's `CURRENT` needs no destructor-state check).
    static OWNER: Owner = const { Owner };
    /// Set by the spawn hook in the child before user code runs; taken when the context is made.
    static PENDING_FORK: Cell<Option<Box<Fork>>> = const { Cell::new(None) };
}

struct Owner;

impl Drop for Owner {
    fn drop(&mut self) {
        let ctx = CURRENT.replace(GONE as *const Ctx);
        if ctx as usize > GONE {
            // SAFETY: made by `Box::into_raw` in `create`; `CURRENT` no longer points to it.
            drop(unsafe { Box::from_raw(ctx.cast_mut()) });
        }
    }
}

#[cold]
#[inline(never)]
fn create() -> *const Ctx {
    let ctx = match PENDING_FORK.take() {
        Some(fork) => Ctx::new(fork.info, fork.vc),
        None => Ctx::new(register(None, None), VectorClock::new()),
    };
    let ctx = Box::into_raw(Box::new(ctx));
    CURRENT.set(ctx);
    OWNER.with(|_| {}); // registers the destructor that frees it
    ctx
}

/// The current thread's context, for the length of one operation: `!Send`, and what it derefs
/// to cannot outlive it, so it never reaches another thread or outlives its own.
pub(crate) struct Current {
    ctx: *const Ctx,
}

impl Current {
    /// The context, created at the thread's first use. `None` once the thread's context is gone
    /// (accesses from late thread-local destructors go unchecked).
    #[inline(always)]
    pub(crate) fn get() -> Option<Current> {
        let mut ctx = CURRENT.get();
        if ctx as usize <= GONE {
            if !ctx.is_null() {
                return None;
            }
            ctx = create();
        }
        Some(Current { ctx })
    }
}

impl std::ops::Deref for Current {
    type Target = Ctx;

    #[inline(always)]
    fn deref(&self) -> &Ctx {
        // SAFETY: a live context of this thread: it is freed only by `Owner` at the thread's
        // end, after which `get` returns `None`.
        unsafe { &*self.ctx }
    }
}

/// Runs `f` with the current thread's context (see `Current::get`).
#[inline]
pub(crate) fn with<R>(f: impl FnOnce(&Ctx) -> R) -> Option<R> {
    Current::get().map(|me| f(&me))
}

/// Parent side of thread creation: a child slot whose clock has seen everything the parent did
/// so far. The parent then ticks, so what it does next is unordered with the child.
pub(crate) fn fork() -> Box<Fork> {
    let created_at = Backtrace::new_unresolved();
    // The parent takes its slot first, so slots follow creation order (main is T0).
    let parent = with(|me| me.tid);
    let info = register(Some(created_at), parent);
    let vc = with(|parent| {
        let mut vc = parent.vc().clone();
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
        me.vc().clone()
    })
    .unwrap_or_default()
}

/// Acquire `clock`: everything that happened before it happens before what this thread does next.
pub(crate) fn acquire(clock: &VectorClock) {
    with(|me| me.update(|vc| vc.join(clock)));
}

/// Release into `clock`: what this thread did so far happens before whoever acquires it.
pub(crate) fn release(clock: &mut VectorClock) {
    with(|me| {
        clock.join(me.vc());
        me.tick();
    });
}

/// Release-store into `clock`: it becomes this thread's clock, so whoever acquires it is ordered
/// after this thread only (not after earlier releasers), as a release store to an atomic says.
pub(crate) fn release_store(clock: &mut VectorClock) {
    with(|me| {
        clock.clone_from(me.vc());
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

/// The clock of an exclusive lock, touched only while the real lock is held (after locking,
/// before unlocking): the lock itself serializes it, so it needs no lock of its own.
///
/// FastTrack's lock rules: a release *copies* the holder's clock (the holder acquired the lock's
/// clock when it locked, so its clock already covers it: a copy is the join, without the
/// comparisons), and an acquire by the thread that released last has nothing to join.
#[derive(Default)]
pub(crate) struct LockedClock {
    clock: UnsafeCell<VectorClock>,
    last_releaser: std::cell::Cell<Option<Tid>>,
}

// SAFETY: the fields are only reached through `release` and `acquire`, whose callers hold the
// primitive's real lock, so no two threads ever touch them at once.
unsafe impl Sync for LockedClock {}

impl LockedClock {
    pub(crate) const fn new() -> LockedClock {
        LockedClock {
            clock: UnsafeCell::new(VectorClock::new()),
            last_releaser: std::cell::Cell::new(None),
        }
    }

    /// # Safety
    /// The caller holds the real lock this clock belongs to.
    pub(crate) unsafe fn release(&self) {
        if super::enabled() {
            // SAFETY: the lock is held (the caller's contract), so this is the only access.
            let clock = unsafe { &mut *self.clock.get() };
            with(|me| {
                clock.clone_from(me.vc());
                self.last_releaser.set(Some(me.tid));
                me.tick();
            });
        }
    }

    /// # Safety
    /// The caller holds the real lock this clock belongs to.
    pub(crate) unsafe fn acquire(&self) {
        if super::enabled() {
            // SAFETY: as in `release`.
            let clock = unsafe { &*self.clock.get() };
            with(|me| {
                if self.last_releaser.get() != Some(me.tid) {
                    me.update(|vc| vc.join(clock));
                }
            });
        }
    }
}
