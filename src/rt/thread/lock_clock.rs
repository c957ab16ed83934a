//! The clocks of synchronization objects: `SyncClock` (with a lock of its own, for any
//! primitive) and `LockedClock` (touched only under the primitive's own exclusive lock).

use super::{Ctx, CtxRef, acquire, acquire_lock, release};
use crate::rt::clock::{ClockCopy, Epoch, VectorClock};
use crate::rt::lock;
use std::cell::UnsafeCell;
use std::sync::Mutex;

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
        if crate::rt::enabled() {
            release(&mut lock(&self.clock));
        }
    }

    pub(crate) fn acquire(&self) {
        if crate::rt::enabled() {
            acquire(&lock(&self.clock));
        }
    }

    /// `release` by `me`, the current thread's context (which a DashMap shard's code has at
    /// hand, its clocks being kept).
    #[cfg(feature = "dashmap")]
    pub(crate) fn release_by(&self, me: &Ctx) {
        lock(&self.clock).join(me.vc());
        me.tick();
    }

    /// `acquire` for a lock just taken (an `RwLock` reader's): see `thread::acquire_lock`.
    pub(crate) fn acquire_lock(&self) {
        if crate::rt::enabled() {
            acquire_lock(&[&lock(&self.clock)]);
        }
    }

    /// `acquire_lock` of this clock and `other`, two clocks of one lock (an `RwLock` writer
    /// acquires the writers' and the readers'), at once. Always locked in this order.
    pub(crate) fn acquire_lock_with(&self, other: &SyncClock) {
        if crate::rt::enabled() {
            let (mine, theirs) = (lock(&self.clock), lock(&other.clock));
            acquire_lock(&[&mine, &theirs]);
        }
    }

    /// `acquire` by `me` (as `release_by`), for one of the clocks of a lock being acquired (a DashMap shard's:
    /// see `Ctx::acquire_in_lock`).
    #[cfg(feature = "dashmap")]
    pub(crate) fn acquire_in_lock(&self, me: &Ctx, opened: &mut bool) {
        me.acquire_in_lock(&lock(&self.clock), opened);
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
/// other release pays the tick first, and the thread keeps which lock it owes the tick to: a
/// lock that resumed an epoch, released again after a nested lock took the same epoch, does
/// not hold it alone), and a thread that took the lock meanwhile would have
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
    /// tick still owed), and the last release the thread made? Then nobody has acquired it
    /// since, and no other object holds the epoch. (A tick owed since a DashMap release, or a
    /// release of another lock, is never forgiven here: that release may hold the same epoch,
    /// as a lock that resumed the epoch and was released again after another one was.)
    #[inline]
    fn owes_tick_to(&self, me: &Ctx) -> bool {
        me.epoch.get() == self.last_release.get().with_flag()
            && me.owed_to.get() == self as *const LockedClock as usize
    }

    /// # Safety
    /// The caller holds the real lock this clock belongs to.
    #[inline]
    pub(crate) unsafe fn release(&self) {
        if crate::rt::enabled() {
            let Some(me) = CtxRef::get() else { return };
            // SAFETY: the caller's contract.
            unsafe { self.release_by(&me) };
        }
    }

    /// # Safety
    /// The caller holds the real lock this clock belongs to.
    #[inline]
    pub(crate) unsafe fn acquire(&self) {
        if crate::rt::enabled() {
            let Some(me) = CtxRef::get() else { return };
            // SAFETY: the caller's contract.
            unsafe { self.acquire_by(&me) };
        }
    }

    /// `release` by `me`, the current thread's context, which the caller fetched.
    ///
    /// # Safety
    /// `me` holds the real lock this clock belongs to.
    #[inline(always)]
    pub(crate) unsafe fn release_by(&self, me: &Ctx) {
        let epoch = me.epoch.get();
        // The lock's clock is this thread's already when this thread released it last, at this
        // epoch (not flagged: the lock was taken back, and nothing was released since), and its
        // own clock has not changed since (no join, no tick): a lock taken back with nobody in
        // between. Then only the epoch's mark changes; otherwise (out of line) the clock is
        // copied.
        if self.last_release.get() == epoch
            && me.owed_to.get() == self as *const LockedClock as usize
            && me.copied_version.get() == me.version.get()
        {
            me.epoch.set(epoch.with_flag()); // the tick is owed, to this lock
        } else {
            // SAFETY: the caller's contract.
            unsafe { self.release_copying(me) }
        }
    }

    /// `release_by` of a clock the lock does not hold yet.
    ///
    /// # Safety
    /// As `release_by`.
    #[inline(never)]
    unsafe fn release_copying(&self, me: &Ctx) {
        if me.epoch.get().flagged() && !self.owes_tick_to(me) {
            me.tick(); // the current clock went to another lock: this one gets the next
        }
        let epoch = me.epoch.get().without_flag();
        // SAFETY: the lock is held (the caller's contract), so this is the only access.
        let clock = unsafe { &mut *self.clock.get() };
        clock.copy_from(me.vc());
        me.copied_version.set(me.version.get());
        self.last_release.set(epoch);
        me.epoch.set(epoch.with_flag()); // the tick is owed, to this lock
        me.owed_to.set(self as *const LockedClock as usize);
    }

    /// `release_by`, for tests of what follows a release elsewhere in the runtime.
    ///
    /// # Safety
    /// As `release_by`.
    #[cfg(test)]
    pub(crate) unsafe fn release_for_test(&self, me: &Ctx) {
        // SAFETY: the caller's contract.
        unsafe { self.release_by(me) }
    }

    /// `acquire` by `me`, the current thread's context, which the caller fetched.
    ///
    /// # Safety
    /// `me` holds the real lock this clock belongs to.
    #[inline(always)]
    pub(crate) unsafe fn acquire_by(&self, me: &Ctx) {
        // The common case of a lock taken for every operation first: nobody took the lock
        // since this thread released it, and the tick is owed to it: the epoch goes on. (Then
        // the last release is this thread's own.)
        if self.owes_tick_to(me) {
            me.epoch.set(me.epoch.get().without_flag());
            return;
        }
        // Not its own release (a previous holder of its slot's is another thread's).
        let last = self.last_release.get();
        if !me.released_by_me(last) {
            if last != Epoch::NONE {
                me.lock_news(); // another thread held it since: check-then-act's stretch
            }
            // SAFETY: as in `release_by`.
            me.update(|vc| vc.join_copy(unsafe { &*self.clock.get() }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rt::clock::Tid;

    /// A thread in slot `tid`, at clock 1.
    fn thread(tid: Tid) -> Ctx {
        let mut vc = VectorClock::new();
        vc.set(tid, 1);
        Ctx::for_test(tid, vc)
    }

    /// `other` has seen `me` at `clock`, and not where `me` is now: `me`'s next access would be
    /// unordered with what `other` does next.
    fn assert_saw_only(other: &Ctx, me: &Ctx, clock: u64) {
        assert!(other.happens_before(Epoch::new(me.tid(), clock)));
        assert!(!other.happens_before(me.epoch()), "{:?}", me.epoch());
    }

    /// A thread that took over slot 1 from a thread nothing ordered it after (the quarantine's
    /// way: its time there begins past the old holder's end) is not the lock's last releaser,
    /// though it has the same slot: it joins what the old holder released (here, what that
    /// holder had seen of slot 2), an edge the lock really makes.
    #[test]
    fn a_release_by_a_previous_holder_of_the_slot_is_acquired() {
        let lock = LockedClock::new();
        let mut vc = VectorClock::new();
        vc.set(1, 5);
        vc.set(2, 7); // what the old holder had seen of another thread
        let old = Ctx::for_test(1, vc);
        unsafe { lock.release_by(&old) };
        let mut vc = VectorClock::new();
        vc.set(1, 10); // after the old holder's end
        let heir = Ctx::for_test(1, vc);
        unsafe { lock.acquire_by(&heir) };
        assert_eq!(heir.vc().get(2), 7);
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

    /// The epoch a lock resumed (taken back, nobody in between) goes to a nested lock, then back
    /// to the outer one: both hold it, and taking the nested one back must not resume it, since
    /// another thread may have taken the outer one meanwhile.
    #[test]
    fn a_lock_released_inside_a_resumed_epoch_does_not_forgive_the_tick_owed_to_another() {
        let (me, other, outer, inner) =
            (thread(1), thread(2), LockedClock::new(), LockedClock::new());
        unsafe {
            outer.release_by(&me); // clock 1 to `outer`, tick owed
            outer.acquire_by(&me); // taken back: epoch 1 goes on
            inner.acquire_by(&me);
            inner.release_by(&me); // clock 1 to `inner`, tick owed
            outer.release_by(&me); // `outer` holds clock 1 too
            outer.acquire_by(&other); // `other` has seen `me` at clock 1
            inner.acquire_by(&me); // nobody took `inner`, but `outer` was taken
        }
        assert_saw_only(&other, &me, 1);
    }

    /// A release that finds the lock holding the thread's clock already copies nothing; one
    /// after a join (the same epoch, a changed clock) copies it.
    #[test]
    fn a_lock_taken_back_is_released_without_a_copy_until_the_clock_changes() {
        let (me, other, lock, b) = (thread(1), thread(2), LockedClock::new(), LockedClock::new());
        unsafe {
            lock.release_by(&me);
            lock.acquire_by(&me); // taken back: the epoch goes on
            lock.release_by(&me); // holds `me`'s clock already
        }
        assert_eq!(me.copied_version.get(), me.version.get());
        unsafe {
            b.release_by(&other);
            lock.acquire_by(&me); // taken back
            b.acquire_by(&me); // joins `other`'s clock: the same epoch, another clock
            lock.release_by(&me); // must copy it
        }
        let reader = thread(3);
        unsafe { lock.acquire_by(&reader) };
        assert!(
            reader.happens_before(Epoch::new(2, 1)),
            "the copy has `other` in it"
        );
        assert!(reader.happens_before(me.epoch.get().without_flag()));
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
    fn a_lock_clock_leaves_room_for_the_lock_id_and_word_in_its_cache_line() {
        // `sync::Mutex`'s layout: the clock, its `LockId`, then the real lock's word, in one
        // 64-byte line.
        use crate::rt::deadlock::LockId;
        assert_eq!(size_of::<LockedClock>(), 48);
        assert!(
            size_of::<LockedClock>() + size_of::<LockId>() + size_of::<std::sync::Mutex<()>>()
                <= 64
        );
    }

    #[cfg(feature = "dashmap")]
    #[test]
    fn a_tick_owed_since_a_dashmap_release_is_not_forgiven_by_a_lock_taken_back() {
        use crate::rt::clock::ClockCopy;
        use crate::rt::thread::MapRelease;
        let (me, other, lock) = (thread(1), thread(2), LockedClock::new());
        let (mut map_clock, mut last) = (ClockCopy::new(), MapRelease::NONE);
        unsafe {
            lock.release_by(&me); // clock 1 to the lock, tick owed
            lock.acquire_by(&me); // taken back: epoch 1 goes on
        }
        me.release_to_map(&mut map_clock, &mut last); // clock 1 to a shard too
        other.acquire_from_map(last.epoch, &map_clock, &mut false); // `other` has seen `me` at clock 1
        unsafe {
            lock.release_by(&me); // must tick first: a shard holds clock 1
            lock.acquire_by(&me); // and must not resume clock 1
        }
        assert_saw_only(&other, &me, 1);
    }

    #[cfg(feature = "dashmap")]
    #[test]
    fn a_dashmap_release_of_an_unchanged_clock_copies_nothing_and_a_changed_one_is_copied() {
        use crate::rt::clock::ClockCopy;
        use crate::rt::thread::MapRelease;
        let (me, other) = (thread(1), thread(2));
        let (mut map_clock, mut last) = (ClockCopy::new(), MapRelease::NONE);
        me.release_to_map(&mut map_clock, &mut last);
        let first = last;
        me.release_to_map(&mut map_clock, &mut last);
        assert_eq!(last, first, "the same epoch and version: nothing to copy");
        // `me` learns of `other` (a join): the same epoch, another version, a new copy.
        let (mut theirs, mut their_last) = (ClockCopy::new(), MapRelease::NONE);
        other.release_to_map(&mut theirs, &mut their_last);
        me.acquire_from_map(their_last.epoch, &theirs, &mut false);
        me.release_to_map(&mut map_clock, &mut last);
        assert_ne!(last, first);
        let reader = thread(3);
        reader.acquire_from_map(last.epoch, &map_clock, &mut false);
        assert!(
            reader.happens_before(Epoch::new(2, 1)),
            "the copy has `other` in it"
        );
        assert!(reader.happens_before(last.epoch));
    }
}
