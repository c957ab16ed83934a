//! Threads as the detector sees them: a slot and a vector clock per thread (kept in a
//! thread-local), a registry of what reports say about each thread (name, creation stack), and
//! the happens-before edges of thread creation, thread end and sync objects.

use super::clock::{ClockCopy, Epoch, Tid, VectorClock};
use super::lock;
use backtrace::Backtrace;
use std::cell::{Cell, UnsafeCell};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// What a report can say about a thread, kept after the thread ends.
pub(crate) struct ThreadInfo {
    /// The slot it holds in vector clocks (reused by later threads, see `Registry`).
    pub(crate) tid: Tid,
    /// Its number among all threads maprace has seen, as reports print it (`T<serial>`).
    pub(crate) serial: u64,
    /// The slot's clock when this thread took it: epochs of the slot from here on are its.
    first_clock: u64,
    /// Filled by the thread itself at its first tracked operation (std names a thread only once
    /// it runs, after our spawn hook).
    name: OnceLock<String>,
    /// Where `pthread_create` was called, captured unresolved (cheap) and resolved when printed.
    created_at: Option<Mutex<Backtrace>>,
    /// It has ended (whether or not anything joined it).
    ended: AtomicBool,
    /// The serial of the thread that created it, when maprace saw the creation.
    parent: Option<u64>,
}

impl ThreadInfo {
    pub(crate) fn parent(&self) -> Option<u64> {
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
        let mut bt = lock(self.created_at.as_ref()?);
        bt.resolve();
        Some(bt.clone())
    }
}

/// Every thread maprace has seen, by slot.
///
/// Slots are reused, so that vector clocks (and every join and copy of one) grow with the
/// threads alive, not with all the threads a program ever started. A thread that ended leaves
/// its slot with the slot's final clock `c`; a new thread may take the slot over when its
/// parent's clock has seen `c` (the parent joined the old thread, directly or through others).
/// Then every access of the old thread happens before the new one's, so the slot's program
/// order stays true, and the new thread goes on from `c + 1`. Reports find the thread of an
/// epoch by the clock at which each thread took its slot.
struct Registry {
    /// Per slot, the threads that held it, in order.
    slots: Vec<Vec<Arc<ThreadInfo>>>,
    /// Slots whose thread ended, with the slot's clock at that end.
    free: Vec<(Tid, u64)>,
    /// Threads seen.
    serials: u64,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    slots: Vec::new(),
    free: Vec::new(),
    serials: 0,
});

fn registry() -> MutexGuard<'static, Registry> {
    // Nothing panics while holding it, but a poisoned registry must not take reports down.
    lock(&REGISTRY)
}

impl Registry {
    /// The thread that held `epoch`'s slot at `epoch`'s clock.
    fn holder(&self, epoch: Epoch) -> Option<Arc<ThreadInfo>> {
        let holders = self.slots.get(epoch.tid() as usize)?;
        holders
            .iter()
            .rev()
            .find(|t| t.first_clock <= epoch.clock())
            .or(holders.first())
            .cloned()
    }

    /// A slot for a new thread: a free one its parent's clock `seen` covers, else a new one.
    fn take_slot(
        &mut self,
        seen: Option<&VectorClock>,
        parent: Option<u64>,
        created_at: Option<Backtrace>,
    ) -> Arc<ThreadInfo> {
        let reusable = seen.and_then(|seen| {
            self.free
                .iter()
                .position(|&(tid, end)| seen.get(tid) >= end)
        });
        let (tid, first_clock) = match reusable {
            Some(i) => {
                let (tid, end) = self.free.swap_remove(i);
                (tid, end + 1)
            }
            None => {
                let tid = Tid::try_from(self.slots.len())
                    .ok()
                    .filter(|&tid| tid <= Epoch::MAX_TID)
                    .unwrap_or_else(|| {
                        super::fatal("more than 8 million threads alive in one process")
                    });
                self.slots.push(Vec::new());
                (tid, 1)
            }
        };
        self.serials += 1;
        let info = Arc::new(ThreadInfo {
            tid,
            serial: self.serials - 1,
            first_clock,
            name: OnceLock::new(),
            created_at: created_at.map(Mutex::new),
            ended: AtomicBool::new(false),
            parent,
        });
        self.slots[tid as usize].push(info.clone());
        info
    }
}

/// How many threads the detector has seen, for `maprace::stats()`.
pub(crate) fn seen() -> usize {
    registry().serials as usize
}

/// The thread that made the access stamped `epoch`, for reports.
pub(crate) fn info(epoch: Epoch) -> Option<Arc<ThreadInfo>> {
    registry().holder(epoch)
}

/// The current thread's view of time. It lives on the heap for the thread's life; the hot path
/// reaches it through one thread-local pointer. Only its own thread touches it, and the runtime
/// never calls user code while it uses it, so interior mutability is enough.
pub(crate) struct Ctx {
    pub(crate) tid: Tid,
    /// `vc[tid]@tid`, cached: the stamp of every access this thread makes until its next release.
    /// Flagged while the tick that follows a lock's release is owed (see `LockedClock`).
    epoch: std::cell::Cell<Epoch>,
    vc: UnsafeCell<VectorClock>,
    /// `sync=assume`: unordered accesses are presumed ordered; only overlaps are reported.
    pub(crate) assume_sync: bool,
    /// The thread's `ThreadInfo::serial` (slots are shared over time, serials are not).
    pub(crate) serial: u64,
}

impl Ctx {
    fn new(info: Arc<ThreadInfo>, mut vc: VectorClock) -> Ctx {
        let tid = info.tid;
        if vc.get(tid) < info.first_clock {
            vc.set(tid, info.first_clock);
        }
        // `current()` may panic once the thread's std data is gone (a first tracked operation
        // in a late thread-local destructor, or a spawn from one): never let that reach the C
        // caller of the spawn hook.
        let name = std::panic::catch_unwind(|| std::thread::current().name().map(str::to_owned))
            .ok()
            .flatten()
            .unwrap_or_else(|| format!("T{}", info.serial));
        let _ = info.name.set(name);
        super::os::link();
        Ctx::with_clock(tid, info.serial, vc, super::options().sync_assume)
    }

    fn with_clock(tid: Tid, serial: u64, mut vc: VectorClock, assume_sync: bool) -> Ctx {
        vc.pad_for_copies();
        Ctx {
            serial,
            tid,
            epoch: std::cell::Cell::new(Epoch::new(tid, vc.get(tid))),
            vc: UnsafeCell::new(vc),
            assume_sync,
        }
    }

    #[cfg(test)]
    pub(crate) fn for_test(tid: Tid, vc: VectorClock) -> Ctx {
        Ctx::with_clock(tid, u64::from(tid), vc, false)
    }

    /// The stamp of an access made now: pays the tick a lock's release left owed.
    #[inline(always)]
    pub(crate) fn epoch(&self) -> Epoch {
        let epoch = self.epoch.get();
        if epoch.flagged() {
            return self.pay_owed_tick();
        }
        epoch
    }

    #[cold]
    #[inline(never)]
    fn pay_owed_tick(&self) -> Epoch {
        self.tick();
        self.epoch.get()
    }

    /// Does the access stamped `epoch` happen before what this thread does now?
    #[inline]
    pub(crate) fn happens_before(&self, epoch: Epoch) -> bool {
        self.vc().happens_before(epoch)
    }

    #[inline]
    fn vc(&self) -> &VectorClock {
        // SAFETY: see the type's docs: no `&mut` to the clock is alive outside `update`.
        unsafe { &*self.vc.get() }
    }

    /// Changes the clock; nothing else looks at it meanwhile (see the type's docs).
    #[inline]
    fn update(&self, f: impl FnOnce(&mut VectorClock)) {
        // SAFETY: the only borrow of the clock while `f` runs; `f` is the runtime's own code.
        f(unsafe { &mut *self.vc.get() });
        // A join never raises the thread's own component (no other clock holds more of it), so
        // the cached epoch, and a tick it owes, stay as they are.
        debug_assert_eq!(self.vc().get(self.tid), self.epoch.get().clock());
    }

    /// After a release, this thread's later accesses must not be covered by what it released.
    /// (The cached epoch is always `vc[tid]@tid`, so the next one is known without a lookup.)
    #[inline]
    fn tick(&self) {
        let next = self.epoch.get().clock() + 1;
        // SAFETY: as in `update`.
        unsafe { &mut *self.vc.get() }.set(self.tid, next);
        self.epoch.set(Epoch::new(self.tid, next));
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
    /// This thread was created through the spawn hook: its end is a joiner's edge.
    static SPAWNED: Cell<bool> = const { Cell::new(false) };
}

struct Owner;

impl Drop for Owner {
    /// The thread's true end: for a thread created through the spawn hook, this destructor was
    /// registered before any other of its thread-locals, so it runs after all of them (they run
    /// in reverse order of registration) and whatever they did is covered by the clock the
    /// joiner acquires here. `pthread_join` returns only after it.
    fn drop(&mut self) {
        let ctx = CURRENT.replace(GONE as *const Ctx);
        let ended = if ctx as usize > GONE {
            // SAFETY: made by `Box::into_raw` in `create`; `CURRENT` no longer points to it.
            let ctx = unsafe { Box::from_raw(ctx.cast_mut()) };
            Some((info(ctx.epoch()), ctx.tid, ctx.vc().clone()))
        } else {
            // A child that never made a tracked operation ends with the clock it was born with.
            PENDING_FORK.take().map(|fork| {
                let tid = fork.info.tid;
                (Some(fork.info), tid, fork.vc)
            })
        };
        let Some((info, tid, clock)) = ended else {
            return;
        };
        if let Some(info) = info {
            info.ended.store(true, Relaxed);
        }
        registry().free.push((tid, clock.get(tid)));
        if SPAWNED.get() {
            super::os::thread_exited(clock);
        }
    }
}

#[cold]
#[inline(never)]
fn create() -> *const Ctx {
    let ctx = match PENDING_FORK.take() {
        Some(fork) => Ctx::new(fork.info, fork.vc),
        None => Ctx::new(registry().take_slot(None, None, None), VectorClock::new()),
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
    with(|parent| {
        let info = registry().take_slot(Some(parent.vc()), Some(parent.serial), Some(created_at));
        let mut vc = parent.vc().clone();
        vc.set(info.tid, info.first_clock);
        parent.tick();
        Box::new(Fork { info, vc })
    })
    .unwrap_or_else(|| {
        // The parent's context is gone (a thread spawned from a thread-local destructor).
        let info = registry().take_slot(None, None, None);
        let mut vc = VectorClock::new();
        vc.set(info.tid, info.first_clock);
        Box::new(Fork { info, vc })
    })
}

/// Child side of thread creation, before any user code runs. The fork waits for the child's
/// first tracked operation; `Owner` is registered now, before any other thread-local of the
/// thread, so that its destructor (the thread's end) runs last.
pub(crate) fn start_child(fork: Box<Fork>) {
    PENDING_FORK.set(Some(fork));
    SPAWNED.set(true);
    OWNER.with(|_| {});
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

    pub(crate) fn release(&self) {
        if super::enabled() {
            release(&mut lock(&self.clock));
        }
    }

    pub(crate) fn acquire(&self) {
        if super::enabled() {
            acquire(&lock(&self.clock));
        }
    }
}

/// The clock of an exclusive lock, touched only while the real lock is held (after locking,
/// before unlocking): the lock itself serializes it, so it needs no lock of its own.
///
/// FastTrack's lock rules: a release *copies* the holder's clock (the holder acquired the lock's
/// clock when it locked, so its clock already covers it: a copy is the join, without the
/// comparisons), and an acquire by the thread that released last has nothing to join.
///
/// And one rule of its own, for code that takes a lock for every operation: the tick that must
/// follow a release (so that the releaser's later accesses are not covered by it) is *owed*
/// until it is needed: by the thread's next access, by a release of anything else, or because
/// another thread has taken the lock since. When the releaser takes the lock back first, nobody
/// has seen that release, and the thread goes on in the same epoch: its accesses under the lock
/// stay in one epoch, and repeating one costs no store in the map's shadow. Sound because
/// while a tick is owed, that lock is the only object holding the thread's current clock (any
/// other release pays the tick first), and a thread that took the lock meanwhile would have
/// released it since, changing `last_release` (unless its context was gone by then: then it
/// makes no tracked access again, and what it saw orders nothing).
pub(crate) struct LockedClock {
    clock: UnsafeCell<ClockCopy>,
    /// The releaser's epoch at the last release (`Epoch::NONE` before the first).
    last_release: std::cell::Cell<Epoch>,
}

impl Default for LockedClock {
    fn default() -> Self {
        LockedClock::new()
    }
}

// SAFETY: the fields are only reached through `release` and `acquire`, whose callers hold the
// primitive's real lock, so no two threads ever touch them at once.
unsafe impl Sync for LockedClock {}

impl LockedClock {
    pub(crate) const fn new() -> LockedClock {
        LockedClock {
            clock: UnsafeCell::new(ClockCopy::new()),
            last_release: std::cell::Cell::new(Epoch::NONE),
        }
    }

    /// Was the last release of this lock the current thread's, at its current clock (with the
    /// tick still owed)? Then nobody has acquired it since.
    #[inline]
    fn owes_tick_to(&self, me: &Ctx) -> bool {
        me.epoch.get() == self.last_release.get().with_flag()
    }

    /// # Safety
    /// The caller holds the real lock this clock belongs to.
    #[inline]
    pub(crate) unsafe fn release(&self) {
        if super::enabled() {
            let Some(me) = Current::get() else { return };
            // SAFETY: the caller's contract.
            unsafe { self.release_by(&me) };
        }
    }

    /// # Safety
    /// The caller holds the real lock this clock belongs to.
    #[inline]
    pub(crate) unsafe fn acquire(&self) {
        if super::enabled() {
            let Some(me) = Current::get() else { return };
            // SAFETY: the caller's contract.
            unsafe { self.acquire_by(&me) };
        }
    }

    /// # Safety
    /// `me` holds the real lock this clock belongs to.
    #[inline(always)]
    unsafe fn release_by(&self, me: &Ctx) {
        if me.epoch.get().flagged() && !self.owes_tick_to(me) {
            me.tick(); // the current clock went to another lock: this one gets the next
        }
        // SAFETY: the lock is held (the caller's contract), so this is the only access.
        let clock = unsafe { &mut *self.clock.get() };
        clock.copy_from(me.vc());
        let epoch = me.epoch.get().without_flag();
        self.last_release.set(epoch);
        me.epoch.set(epoch.with_flag()); // the tick is owed
    }

    /// # Safety
    /// `me` holds the real lock this clock belongs to.
    #[inline(always)]
    unsafe fn acquire_by(&self, me: &Ctx) {
        if self.last_release.get().tid() != me.tid {
            // SAFETY: as in `release_by`.
            me.update(|vc| vc.join_copy(unsafe { &*self.clock.get() }));
        } else if self.owes_tick_to(me) {
            // Nobody took the lock since this thread released it: the epoch goes on.
            me.epoch.set(me.epoch.get().without_flag());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> Registry {
        Registry {
            slots: Vec::new(),
            free: Vec::new(),
            serials: 0,
        }
    }

    #[test]
    fn a_release_advances_the_threads_own_component_and_epoch_only() {
        let mut vc = VectorClock::new();
        vc.set(0, 7);
        vc.set(2, 3);
        let me = Ctx::for_test(2, vc);
        me.tick();
        me.tick();
        assert_eq!(me.epoch(), Epoch::new(2, 5));
        assert_eq!((me.vc().get(0), me.vc().get(2)), (7, 5));
    }

    /// A thread in slot `tid`, at clock 1.
    fn thread(tid: Tid) -> Ctx {
        let mut vc = VectorClock::new();
        vc.set(tid, 1);
        Ctx::for_test(tid, vc)
    }

    /// `other` has seen `me` at `clock`, and not where `me` is now: `me`'s next access would be
    /// unordered with what `other` does next.
    fn assert_saw_only(other: &Ctx, me: &Ctx, clock: u64) {
        assert!(other.happens_before(Epoch::new(me.tid, clock)));
        assert!(!other.happens_before(me.epoch()), "{:?}", me.epoch());
    }

    #[test]
    fn the_first_access_after_a_lock_release_is_in_a_new_epoch() {
        let (me, lock) = (thread(1), LockedClock::new());
        // SAFETY (all `_by` calls in these tests): one test thread plays every thread in
        // turn, so the lock's clock is never touched by two at once.
        unsafe { lock.release_by(&me) };
        assert_eq!(me.epoch(), Epoch::new(1, 2));
        assert_eq!(me.vc().get(1), 2);
    }

    #[test]
    fn a_lock_taken_back_by_its_last_releaser_keeps_the_epoch() {
        let (me, lock) = (thread(1), LockedClock::new());
        unsafe {
            lock.acquire_by(&me);
            lock.release_by(&me);
            lock.acquire_by(&me);
        }
        assert_eq!(me.epoch(), Epoch::new(1, 1));
        unsafe {
            lock.release_by(&me);
            lock.acquire_by(&me);
        }
        assert_eq!(me.epoch(), Epoch::new(1, 1), "any number of times");
    }

    #[test]
    fn a_thread_that_took_the_lock_in_between_does_not_cover_the_releasers_next_accesses() {
        let (me, other, lock) = (thread(1), thread(2), LockedClock::new());
        unsafe {
            lock.release_by(&me);
            lock.acquire_by(&other); // `other` has seen `me` at clock 1
            lock.release_by(&other);
            lock.acquire_by(&me);
            lock.release_by(&me); // not clock 1 again: `other` knows it
            lock.acquire_by(&me); // taken back: the epoch after that release goes on
        }
        assert_saw_only(&other, &me, 1);
    }

    #[test]
    fn releasing_another_lock_pays_the_owed_tick_first() {
        let (me, other, a, b) = (thread(1), thread(2), LockedClock::new(), LockedClock::new());
        unsafe {
            a.release_by(&me); // clock 1 to `a`, tick owed
            b.acquire_by(&me);
            b.release_by(&me); // `b` must not get clock 1 too
            a.acquire_by(&other); // `other` has seen `me` at clock 1, through `a`
            b.acquire_by(&me); // taken back, nobody took it: its epoch goes on
        }
        assert_saw_only(&other, &me, 1);
    }

    #[test]
    fn taking_back_a_lock_released_earlier_keeps_the_tick_owed_for_a_later_one() {
        let (me, other, a, b) = (thread(1), thread(2), LockedClock::new(), LockedClock::new());
        unsafe {
            b.release_by(&me); // clock 1 to `b`
            a.acquire_by(&me);
            a.release_by(&me); // clock 2 to `a`, tick owed
            a.acquire_by(&other); // `other` has seen `me` at clock 2
            b.acquire_by(&me); // `b` holds clock 1, not the one owed
        }
        assert_saw_only(&other, &me, 2);
    }

    #[test]
    fn a_join_keeps_an_owed_tick() {
        let (me, other, a, b) = (thread(1), thread(2), LockedClock::new(), LockedClock::new());
        unsafe {
            b.release_by(&other);
            a.release_by(&me); // tick owed
            b.acquire_by(&me); // joins `other`'s clock
        }
        assert_eq!(me.epoch(), Epoch::new(1, 2), "paid at the first access");
        assert!(me.happens_before(Epoch::new(2, 1)));
    }

    #[test]
    fn a_lock_clock_leaves_room_for_the_lock_word_in_its_cache_line() {
        // `sync::Mutex`'s layout: the clock, then the real lock's word, in one 64-byte line.
        assert!(size_of::<LockedClock>() + size_of::<std::sync::Mutex<()>>() <= 64);
    }

    #[test]
    fn a_slot_is_taken_over_only_by_a_thread_whose_parent_saw_its_end() {
        let mut registry = empty();
        let first = registry.take_slot(None, None, None);
        let _other = registry.take_slot(None, None, None);
        registry.free.push((first.tid, 5)); // `first` ended at its clock 5

        let mut parent = VectorClock::new();
        parent.set(first.tid, 4); // has not seen the end: a new slot
        let unrelated = registry.take_slot(Some(&parent), None, None);
        assert_eq!(unrelated.tid, 2);

        parent.set(first.tid, 5); // joined it: the slot goes on from clock 6
        let heir = registry.take_slot(Some(&parent), None, None);
        assert_eq!((heir.tid, heir.first_clock), (first.tid, 6));
        assert!(registry.free.is_empty());
        assert_eq!(registry.serials, 4, "every thread has its own serial");
        assert_ne!(heir.serial, first.serial);

        // Each epoch of the slot belongs to the thread that held it then.
        let serial_at = |clock| {
            registry
                .holder(Epoch::new(first.tid, clock))
                .unwrap()
                .serial
        };
        assert_eq!(serial_at(1), first.serial);
        assert_eq!(serial_at(5), first.serial);
        assert_eq!(serial_at(6), heir.serial);
        assert_eq!(serial_at(900), heir.serial);
    }
}
