//! Threads as the detector sees them: a slot and a vector clock per thread (the context, `Ctx`,
//! kept in a thread-local and reached through `CtxRef`), and the happens-before edges of
//! thread creation and end (`fork`, `start_child`, the end in `Owner`) and of sync objects
//! (`acquire`, `release`). Children: `registry` (which thread held which slot, what reports say
//! about each), `lock_clock` (the clocks of sync objects, which reach into `Ctx`).

mod lock_clock;
mod registry;

pub(crate) use lock_clock::{LockedClock, SyncClock};
#[cfg(test)]
pub(crate) use registry::raise_floor_for_test;
pub(crate) use registry::{ThreadInfo, hold_for_fork, info, seen, size};

#[cfg(feature = "dashmap")]
use super::clock::ClockCopy;
use super::clock::{Epoch, Tid, VectorClock};
use std::cell::{Cell, UnsafeCell};
use std::sync::Arc;

/// The current thread's view of time. It lives on the heap for the thread's life; the hot path
/// reaches it through one thread-local pointer. Only its own thread touches it, and the runtime
/// never calls user code while it uses it, so interior mutability is enough.
pub(crate) struct Ctx {
    /// The thread's slot: changes only when its clock outgrows an epoch's clock bits (see
    /// `tick_past_the_limit`); `Epoch::UNRECORDED` for a thread that could not get one.
    tid: Cell<Tid>,
    /// `vc[tid]@tid`, cached: the stamp of every access this thread makes until its next release.
    /// Flagged while the tick that follows a lock's release is owed (see `LockedClock`).
    epoch: std::cell::Cell<Epoch>,
    vc: UnsafeCell<VectorClock>,
    /// `sync=assume`: unordered accesses are presumed ordered; only overlaps are reported.
    pub(crate) sync_assume: bool,
    /// The thread's `ThreadInfo::serial` (slots are shared over time, serials are not).
    pub(crate) serial: u64,
    /// What holds the epoch whose tick is owed (the epoch is flagged): the address of the
    /// `LockedClock` released last, the only lock that may resume the epoch (see `LockedClock`);
    /// `OWED_TO_MAP` after releases into DashMap clocks (see `release_to_map`), when no lock
    /// may resume it; 0 once the tick is paid.
    owed_to: std::cell::Cell<usize>,
    /// `version` when the lock `owed_to` names copied this thread's clock: while both stay, that
    /// lock's clock is a copy of this thread's (see `LockedClock::release_by`).
    copied_version: std::cell::Cell<u64>,
    /// Moves whenever the clock does (a join or a tick): a release into a DashMap clock that
    /// holds this thread's release at the same epoch and version need not copy the clock again.
    version: std::cell::Cell<u64>,
    /// Its slot's clock when this thread's time there began (at its start, or at its move to
    /// another slot): the epochs of the slot from here on are this thread's. Below it, they are
    /// a previous holder's, which this thread may not have seen (see `knows_release`).
    /// `u64::MAX` for a thread with no slot: no epoch is its own release (see
    /// `Epoch::UNRECORDED_RELEASE`).
    era_start: std::cell::Cell<u64>,
    /// Check-then-act: the thread's stretches and its records of checks (see `cta`).
    pub(crate) cta: super::cta::Local,
}

#[cfg(feature = "dashmap")]
/// A release into a DashMap clock, as the clock keeps it: the releaser's epoch (what acquirers
/// compare with their clock) and its clock's version then.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct MapRelease {
    pub(crate) epoch: Epoch,
    version: u64,
}

#[cfg(feature = "dashmap")]
impl MapRelease {
    /// No release yet.
    pub(crate) const NONE: MapRelease = MapRelease {
        epoch: Epoch::NONE,
        version: 0,
    };
}

impl Ctx {
    fn new(info: Arc<ThreadInfo>, mut vc: VectorClock) -> Ctx {
        let tid = info.tid;
        if tid != Epoch::UNRECORDED && vc.get(tid) < info.first_clock {
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
        let options = super::options();
        Ctx::with_clock(
            tid,
            info.serial,
            vc,
            options.sync_assume,
            options.check_then_act,
        )
    }

    fn with_clock(
        tid: Tid,
        serial: u64,
        mut vc: VectorClock,
        sync_assume: bool,
        check_then_act: bool,
    ) -> Ctx {
        vc.pad_for_copies();
        let epoch = if tid == Epoch::UNRECORDED {
            Epoch::unrecorded()
        } else {
            Epoch::new(tid, vc.get(tid))
        };
        Ctx {
            serial,
            tid: Cell::new(tid),
            epoch: std::cell::Cell::new(epoch),
            vc: UnsafeCell::new(vc),
            sync_assume,
            owed_to: std::cell::Cell::new(0),
            copied_version: std::cell::Cell::new(0),
            version: std::cell::Cell::new(1),
            era_start: std::cell::Cell::new(era_start(epoch)),
            cta: super::cta::Local::new(check_then_act, epoch.clock()),
        }
    }

    #[cfg(test)]
    pub(crate) fn for_test(tid: Tid, vc: VectorClock) -> Ctx {
        Ctx::with_clock(tid, u64::from(tid), vc, false, true)
    }

    /// A release's tick, for tests of what follows one.
    #[cfg(test)]
    pub(crate) fn tick_for_test(&self) {
        self.tick();
    }

    #[cfg(test)]
    pub(crate) fn vc_for_test(&self) -> &VectorClock {
        self.vc()
    }

    /// The thread's slot in vector clocks.
    #[inline]
    pub(crate) fn tid(&self) -> Tid {
        self.tid.get()
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

    /// The cached epoch's bits as they are, for the same-epoch tests of the hot path, which
    /// take them before `epoch` and so do not test for an owed tick: while one is owed, the
    /// bits are marked (`Epoch::with_flag`) and equal no cell word's epoch, so the access takes
    /// the path that pays it.
    #[inline(always)]
    pub(crate) fn stamp(&self) -> u64 {
        self.epoch.get().bits()
    }

    #[cold]
    #[inline(never)]
    fn pay_owed_tick(&self) -> Epoch {
        self.tick();
        self.epoch.get()
    }

    /// Does the access stamped `epoch` happen before what this thread does now? Its vector
    /// clock says so, or the epoch is below its slot's floor (its thread ended long ago and its
    /// slot or record was given up: see `registry`), which is asked only when the clock says no.
    #[inline]
    pub(crate) fn happens_before(&self, epoch: Epoch) -> bool {
        if self.vc().happens_before(epoch) {
            return true;
        }
        cold_path();
        registry::below_floor(epoch)
    }

    /// Has this thread seen everything a release made at `released` (its releaser's epoch then)
    /// put into a clock, so that acquiring that clock again would add nothing? Its own release
    /// since its time in its slot began, yes. Another's, when its clock covers `released`, unless
    /// `released` is below its slot's floor: the slot has had a holder since that nothing
    /// ordered after the releaser (see `registry`), and the component may come from that later
    /// holder, who never saw the release. (Floors rise before the later holder runs, and this
    /// thread learned of it through synchronization, so it reads the raised floor.) A floor
    /// orders a past thread's *accesses* before everything, not the releases of other threads'
    /// clocks it made: those must still be acquired.
    #[cfg(any(feature = "dashmap", test))]
    #[inline(always)]
    pub(crate) fn knows_release(&self, released: Epoch) -> bool {
        self.released_by_me(released) || self.knows_others_release(released)
    }

    /// Was `released` this thread's own epoch (not a previous holder's of its slot)?
    #[inline(always)]
    pub(crate) fn released_by_me(&self, released: Epoch) -> bool {
        released.tid() == self.tid() && released.clock() >= self.era_start.get()
    }

    #[cfg(any(feature = "dashmap", test))]
    #[inline(never)]
    fn knows_others_release(&self, released: Epoch) -> bool {
        // Clock 0: no release yet, or one by a thread with no slot (see `Epoch`), as before.
        released.clock() == 0
            || (self.vc().happens_before(released) && !registry::below_floor(released))
    }

    /// `happens_before`'s fast yes: the vector clock alone says the access stamped `epoch`
    /// happens before what this thread does now. The cell's inline rules use it, and leave a no
    /// to an out-of-line path that asks `happens_before`, so that no call to the floor is laid
    /// out inside an inlined operation. (Callgrind, instructions per operation against the
    /// clock test alone: `happens_before` in the inline rules cost +9 per `insert` over a key,
    /// +3.8 per `insert` of a new key or `remove`, +1.0 per `get`, though the floor was never
    /// asked; this way +4, +0.0 and +1.0.)
    #[inline(always)]
    pub(crate) fn clock_orders(&self, epoch: Epoch) -> bool {
        self.vc().happens_before(epoch)
    }

    #[inline]
    fn vc(&self) -> &VectorClock {
        // SAFETY: see the type's docs: no `&mut` to the clock is alive outside `update`.
        unsafe { &*self.vc.get() }
    }

    /// The thread takes a lock last released by another thread (before the lock's clock is
    /// joined): check-then-act's new stretch begins (see `cta`).
    #[inline(always)]
    fn lock_news(&self) {
        self.cta.open_stretch(self.vc(), self.epoch.get());
    }

    /// Changes the clock; nothing else looks at it meanwhile (see the type's docs).
    #[inline]
    fn update(&self, f: impl FnOnce(&mut VectorClock)) {
        // SAFETY: the only borrow of the clock while `f` runs; `f` is the runtime's own code.
        f(unsafe { &mut *self.vc.get() });
        self.version.set(self.version.get() + 1);
        // A join never raises the thread's own component (no other clock holds more of it), so
        // the cached epoch, and a tick it owes, stay as they are.
        debug_assert!(
            self.tid() == Epoch::UNRECORDED
                || self.vc().get(self.tid()) == self.epoch.get().clock()
        );
    }

    /// After a release, this thread's later accesses must not be covered by what it released.
    /// (The cached epoch is always `vc[tid]@tid`, so the next one is known without a lookup.)
    #[inline]
    fn tick(&self) {
        let epoch = self.epoch.get();
        let next = epoch.clock() + 1;
        self.owed_to.set(0);
        self.version.set(self.version.get() + 1);
        if next > Epoch::MAX_CLOCK || epoch.tid() == Epoch::UNRECORDED {
            return self.tick_past_the_limit();
        }
        // SAFETY: as in `update`.
        unsafe { &mut *self.vc.get() }.set(self.tid(), next);
        self.epoch.set(Epoch::new(self.tid(), next));
    }

    /// The tick that an epoch cannot hold: the slot's clock is used up, so the thread moves to a
    /// fresh slot (or, with none left, a free one: see `registry::take_fresh_slot`), where it is
    /// the same thread for reports. Its clock keeps the old slot's component (at its last value,
    /// which covers all the thread's earlier accesses, so program order stays), and so does
    /// every clock it releases into; the old slot is never used again. With no slot left, or for
    /// a thread that had none, the thread goes on unrecorded (see `Epoch`).
    #[cold]
    #[inline(never)]
    fn tick_past_the_limit(&self) {
        if self.tid() == Epoch::UNRECORDED {
            return; // nothing of its own to tick: it stamps clock 0
        }
        let (tid, first_clock) =
            registry::take_fresh_slot(self.epoch.get().without_flag(), self.vc());
        self.tid.set(tid);
        if tid == Epoch::UNRECORDED {
            self.epoch.set(Epoch::unrecorded());
            self.era_start.set(era_start(Epoch::unrecorded()));
            return;
        }
        // SAFETY: as in `update`.
        unsafe { &mut *self.vc.get() }.set(tid, first_clock);
        self.epoch.set(Epoch::new(tid, first_clock));
        self.era_start.set(first_clock);
    }

    /// The stamp of an access to a DashMap's own shadow (a key's cell), made under the shard's
    /// lock: the tick a release left owed is not paid for it. Such an access is ordered with
    /// every other access to the same cell through the shard's clocks, whatever its stamp; a
    /// stale stamp can only make it look ordered after more, never before less.
    #[inline(always)]
    pub(crate) fn map_epoch(&self) -> Epoch {
        self.epoch.get().without_flag()
    }

    /// Release into a DashMap's clock (a shard's exclusive clock, or this thread's reader slot
    /// of a shard), which holds the release `last`: the clock becomes this thread's (unless it
    /// holds this thread's clock already: the same epoch and version), and `last` this release.
    ///
    /// The tick that must follow is owed, and stays owed over further DashMap releases, which
    /// copy the same clock: it is paid by the thread's next access outside the map's shadow, by
    /// a release of anything else, or when the thread acquires news from another thread
    /// (`acquire_from_map`). Unlike a `LockedClock`'s owed tick, it is never forgiven, so several
    /// DashMap clocks may hold the same epoch. A tick owed to a lock is paid first: that lock
    /// must stay the only object holding the epoch it may resume.
    #[cfg(feature = "dashmap")]
    #[inline(always)]
    pub(crate) fn release_to_map(&self, into: &mut ClockCopy, last: &mut MapRelease) {
        if self.released_to_map_already(last) {
            return;
        }
        if self.epoch.get().flagged() && self.owed_to.get() != OWED_TO_MAP {
            self.pay_lock_tick();
        }
        let now = MapRelease {
            epoch: self.map_epoch(),
            version: self.version.get(),
        };
        if *last != now {
            self.copy_to_map(into, last, now);
        }
        self.epoch.set(now.epoch.with_flag());
        self.owed_to.set(OWED_TO_MAP);
    }

    /// Is `last`, a DashMap clock's release, this thread's release at its current epoch and
    /// version, with the tick owed to the map: then `release_to_map` changes nothing (no tick
    /// to pay, no clock to copy, the flag and the debt as they are), and is this test alone. The
    /// common case: a thread that takes and releases the same shard again and again, with
    /// nothing between from another thread.
    #[cfg(feature = "dashmap")]
    #[inline(always)]
    pub(crate) fn released_to_map_already(&self, last: &MapRelease) -> bool {
        self.epoch.get() == last.epoch.with_flag()
            && last.version == self.version.get()
            && self.owed_to.get() == OWED_TO_MAP
    }

    /// `release_to_map` into a clock that holds a release this thread has not seen (a DashMap
    /// reader slot's, left by the slot's previous holder: see `rt::dashmap::ReaderSlot`): the
    /// clock keeps it and joins this thread's clock in, and `last` stays that release, which no
    /// acquirer takes as seen, so every exclusive acquirer joins the whole clock.
    #[cfg(feature = "dashmap")]
    #[cold]
    #[inline(never)]
    pub(crate) fn release_joined_to_map(&self, into: &mut ClockCopy) {
        if self.epoch.get().flagged() && self.owed_to.get() != OWED_TO_MAP {
            self.tick();
        }
        into.join_from(self.vc());
        self.epoch.set(self.map_epoch().with_flag());
        self.owed_to.set(OWED_TO_MAP);
    }

    /// `release_to_map` after a lock's release, whose tick is paid first (out of line: the
    /// inline path is what every guard's drop runs).
    #[cfg(feature = "dashmap")]
    #[cold]
    #[inline(never)]
    fn pay_lock_tick(&self) {
        self.tick();
    }

    /// `release_to_map` into a clock that does not hold this thread's clock yet. A thread with
    /// no slot records `Epoch::UNRECORDED_RELEASE`, which no acquirer takes as seen (its own
    /// stamp, clock 0, every acquirer would), so it never matches `now` and every release of
    /// such a thread comes here.
    #[cfg(feature = "dashmap")]
    #[inline(never)]
    fn copy_to_map(&self, into: &mut ClockCopy, last: &mut MapRelease, now: MapRelease) {
        into.copy_from(self.vc());
        *last = now;
        if self.tid() == Epoch::UNRECORDED {
            last.epoch = Epoch::UNRECORDED_RELEASE;
        }
    }

    /// Acquire a DashMap clock released at `released` (its releaser's epoch then), unless this
    /// thread has seen that release already (then it has seen everything the clock holds). News
    /// from another thread moves this thread to a new epoch: its later accesses to the map's
    /// cells are then told apart from those before. The first news of one lock acquisition
    /// (`opened`: a shard's clocks are several) begins a check-then-act stretch (see `cta`).
    #[cfg(feature = "dashmap")]
    #[inline(always)]
    pub(crate) fn acquire_from_map(&self, released: Epoch, from: &ClockCopy, opened: &mut bool) {
        // This thread's own release at its current epoch (the common case of a thread that
        // was the last to hold the shard) is seen with one compare.
        if released != self.map_epoch() && !self.knows_release(released) {
            *opened = self.acquire_news(from, *opened);
        }
    }

    /// Joins `from`, news: begins a stretch unless the acquisition already `opened` one; true.
    /// (`opened` by value: a flag passed by reference out of line would be kept in memory, a
    /// store at every acquire.)
    #[cfg(feature = "dashmap")]
    #[inline(never)]
    fn acquire_news(&self, from: &ClockCopy, opened: bool) -> bool {
        if !opened {
            self.lock_news();
        }
        self.update(|vc| vc.join_copy(from));
        self.tick();
        true
    }

    /// Acquire `clock`, one of the clocks of a lock being acquired (see `acquire_from_map`).
    #[cfg(feature = "dashmap")]
    pub(crate) fn acquire_in_lock(&self, clock: &VectorClock, opened: &mut bool) {
        if !self.vc().covers(clock) {
            if !*opened {
                self.lock_news();
                *opened = true;
            }
            self.update(|vc| vc.join(clock));
        }
    }
}

/// `Ctx::era_start` of a thread whose epoch is `epoch` at its start or its move to a slot.
fn era_start(epoch: Epoch) -> u64 {
    if epoch.tid() == Epoch::UNRECORDED {
        u64::MAX
    } else {
        epoch.clock()
    }
}

/// Marks the path that calls it as unlikely (`std::hint::cold_path`, stable only since 1.95).
#[cold]
#[inline]
fn cold_path() {}

/// A thread created through `pthread_create`, between the parent's call and the child's first
/// tracked operation.
pub(crate) struct Fork {
    info: Arc<ThreadInfo>,
    vc: VectorClock,
}

/// `CURRENT` after the thread's context was freed (the thread is ending).
const GONE: usize = 1;

/// `Ctx::owed_to` after a release into a DashMap clock (no `LockedClock` is at this address).
#[cfg(feature = "dashmap")]
const OWED_TO_MAP: usize = 1;

/// `HOT` of a thread that found the detector disabled (`enabled=0`).
const OFF: usize = 1;

thread_local! {
    /// The current thread's context: null until its first use, `GONE` once freed.
    static CURRENT: std::cell::Cell<*const Ctx> = const { std::cell::Cell::new(std::ptr::null()) };
    /// What the hot operations of a map find first (see `CtxRef::hot`): the context, while it
    /// lives, if it was made with the detector on and no operation observed (the mode is set
    /// once, before any context is made); `OFF` once the thread found the detector disabled;
    /// else null (not settled yet, observed modes, a context gone).
    static HOT: std::cell::Cell<*const Ctx> = const { std::cell::Cell::new(std::ptr::null()) };
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
        HOT.set(std::ptr::null());
        let ctx = CURRENT.replace(GONE as *const Ctx);
        let ended = if ctx as usize > GONE {
            // SAFETY: made by `Box::into_raw` in `create`; `CURRENT` no longer points to it.
            let ctx = unsafe { Box::from_raw(ctx.cast_mut()) };
            Some((ctx.tid(), ctx.vc().clone()))
        } else {
            // A child that never made a tracked operation ends with the clock it was born with.
            PENDING_FORK.take().map(|fork| (fork.info.tid, fork.vc))
        };
        let Some((tid, clock)) = ended else {
            return;
        };
        registry::ended(tid, clock.get(tid));
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
        None => Ctx::new(registry::take_slot(None, None, None), VectorClock::new()),
    };
    let ctx = Box::into_raw(Box::new(ctx));
    CURRENT.set(ctx);
    OWNER.with(|_| {}); // registers the destructor that frees it
    // (`Ctx::new` read the options: the mode is final.)
    let mode = super::mode();
    if mode & (super::ENABLED | super::OBSERVED) == super::ENABLED {
        HOT.set(ctx);
    }
    ctx
}

/// What a hot map operation does on this thread (`CtxRef::hot`): the `HOT` thread-local's
/// value, tested by plain comparisons of it. (Not an enum of the three cases: the compiler
/// computed such an enum's discriminant from the pointer without branches, 7 instructions more
/// per operation than the two compares below, by callgrind.)
#[derive(Clone, Copy)]
pub(crate) struct Hot(*const Ctx);

impl Hot {
    /// Its checks, inline, with this context (the detector on, the operation not observed)?
    #[inline(always)]
    pub(crate) fn checked(self) -> bool {
        self.0 as usize > OFF
    }

    /// The context of a `checked` operation.
    #[inline(always)]
    pub(crate) fn ctx(self) -> CtxRef {
        debug_assert!(self.checked());
        CtxRef { ctx: self.0 }
    }

    /// Nothing to check: the detector is disabled (else, when not `checked`, the operation is
    /// not settled by the thread-local alone: ask the mode, `settle_off`).
    #[inline(always)]
    pub(crate) fn off(self) -> bool {
        self.0 as usize == OFF
    }
}

/// An operation that `CtxRef::hot` left unsettled: `true` if the detector is disabled (and
/// then the thread's later operations are `Hot::off` at once).
#[cold]
#[inline(never)]
pub(crate) fn settle_off() -> bool {
    if super::mode() & super::ENABLED != 0 {
        return false;
    }
    HOT.set(OFF as *const Ctx);
    true
}

/// The current thread's context, for the length of one operation: `!Send`, and what it derefs
/// to cannot outlive it, so it never reaches another thread or outlives its own.
pub(crate) struct CtxRef {
    ctx: *const Ctx,
}

impl CtxRef {
    /// The context, created at the thread's first use. `None` once the thread's context is gone
    /// (accesses from late thread-local destructors go unchecked).
    #[inline(always)]
    pub(crate) fn get() -> Option<CtxRef> {
        let mut ctx = CURRENT.get();
        if ctx as usize <= GONE {
            if !ctx.is_null() {
                return None;
            }
            ctx = create();
        }
        Some(CtxRef { ctx })
    }
}

impl CtxRef {
    /// The first question of a hot map operation, answered by one thread-local load in the
    /// common cases (see `HOT`): the mode is not read, and a thread whose context is made and
    /// alive needs no test of it. (The thread's first operation, an observed one, or one from a
    /// thread whose context is gone, is unsettled: its caller reads the mode.)
    #[inline(always)]
    pub(crate) fn hot() -> Hot {
        Hot(HOT.get())
    }
}

impl std::ops::Deref for CtxRef {
    type Target = Ctx;

    #[inline(always)]
    fn deref(&self) -> &Ctx {
        // SAFETY: a live context of this thread: it is freed only by `Owner` at the thread's
        // end, after which `get` returns `None`.
        unsafe { &*self.ctx }
    }
}

/// Runs `f` with the current thread's context (see `CtxRef::get`).
#[inline]
pub(crate) fn with<R>(f: impl FnOnce(&Ctx) -> R) -> Option<R> {
    CtxRef::get().map(|me| f(&me))
}

/// Parent side of thread creation: a child slot whose clock has seen everything the parent did
/// so far. The parent then ticks, so what it does next is unordered with the child.
pub(crate) fn fork() -> Box<Fork> {
    let created_at = super::stack::capture();
    with(|parent| {
        let info = registry::take_slot(Some(parent.vc()), Some(parent.serial), Some(created_at));
        let mut vc = parent.vc().clone();
        if info.tid != Epoch::UNRECORDED {
            vc.set(info.tid, info.first_clock);
        }
        parent.tick();
        Box::new(Fork { info, vc })
    })
    .unwrap_or_else(|| {
        // The parent's context is gone (a thread spawned from a thread-local destructor).
        let info = registry::take_slot(None, None, None);
        let mut vc = VectorClock::new();
        if info.tid != Epoch::UNRECORDED {
            vc.set(info.tid, info.first_clock);
        }
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

/// Is this thread running its thread-local destructors (see `os::tearing_down`)?
pub(crate) fn tearing_down() -> bool {
    super::os::tearing_down()
}

/// At the process's start, on the main thread: its end is registered before any thread-local
/// of the program's can be, as `start_child` does for other threads.
pub(crate) fn start_main() {
    let _ = OWNER.try_with(|_| {});
}

/// Acquire `clock`: everything that happened before it happens before what this thread does next.
/// (Not a lock's: what the thread learns this way is not learned through a lock, see `cta`.)
pub(crate) fn acquire(clock: &VectorClock) {
    with(|me| {
        me.cta.acquired(clock);
        me.update(|vc| vc.join(clock));
    });
}

/// Acquire the clocks of a lock just taken (an `RwLock`'s: for a writer, both), at once: a
/// lock that brings news begins a stretch (see `cta`).
pub(crate) fn acquire_lock(clocks: &[&VectorClock]) {
    with(|me| {
        if !clocks.iter().all(|clock| me.vc().covers(clock)) {
            me.lock_news();
            me.update(|vc| {
                for clock in clocks {
                    vc.join(clock);
                }
            });
        }
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The hot path's thread-local (`HOT`) holds the context only while it lives: at the
    /// thread's end it is cleared before the context is freed, so a map operation in a later
    /// thread-local destructor finds nothing there and goes unchecked, as through `CtxRef::get`.
    #[test]
    fn the_hot_path_finds_no_context_once_the_thread_has_freed_it() {
        let seen = std::thread::spawn(|| {
            let made = CtxRef::get().is_some();
            let hot_before = CtxRef::hot().checked();
            drop(Owner); // what the thread's end does, now
            let hot = CtxRef::hot();
            let hot_after = !hot.checked() && !hot.off();
            (made, hot_before, hot_after, CtxRef::get().is_none())
        })
        .join()
        .unwrap();
        assert_eq!(seen, (true, true, true, true));
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

    /// A release below its slot's floor counts as ordered for accesses, but not as seen: the
    /// clock that covers it may do so through a later holder of the slot, who never saw it.
    /// Its own releases, and others' above the floor that the clock covers, are seen.
    #[test]
    fn a_release_below_its_slots_floor_is_not_known_though_its_epoch_is_ordered() {
        let slot = 12_001; // a slot the registry has not handed out in this test process
        registry::raise_floor_for_test(slot, 10);
        let mut vc = VectorClock::new();
        vc.set(1, 3);
        vc.set(slot, 12); // the slot's later holder, at 12
        let me = Ctx::for_test(1, vc);
        let old = Epoch::new(slot, 5);
        assert!(me.happens_before(old));
        assert!(!me.knows_release(old));
        assert!(me.knows_release(Epoch::new(slot, 11)));
        assert!(!me.knows_release(Epoch::new(slot, 13)));
        assert!(me.knows_release(Epoch::new(1, 3)));
    }
}
