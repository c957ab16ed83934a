//! The registry of threads: which thread held which slot (a thread's index in vector clocks)
//! when, and what reports say about each (name, creation stack, parent), kept after it ends for
//! a bounded number of threads; and each slot's *floor*, below which its epochs count as
//! ordered before everything (what lets slots and records be reused in bounded memory).

use crate::rt::clock::{Epoch, Tid, VectorClock};
use crate::rt::lock;
use backtrace::Backtrace;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// Ended threads that nothing ordered before the thread taking their slot: the most recent
/// `QUARANTINE` keep their slots (and so a precise verdict), older ones give theirs up.
const QUARANTINE: usize = 256;
/// Ended threads whose name and creation stack are kept (about 1 KB each).
const DETAILS_KEPT: usize = 1024;
/// Threads whose slot has a later holder, whose records (serial, parent: 32 bytes) are kept.
const RECORDS_KEPT: usize = 4096;

/// What a report can say about a thread, kept after the thread ends.
pub(crate) struct ThreadInfo {
    /// The slot it was given when it was created (reused by later threads, see `Registry`;
    /// `Epoch::UNRECORDED` if none was left). A thread whose clock there is used up moves on to
    /// another slot, and keeps this record there (see `Registry::take_fresh_slot`).
    pub(crate) tid: Tid,
    /// Its number among all threads maprace has seen, as reports print it (`T<serial>`).
    pub(crate) serial: u64,
    /// The slot's clock when this thread took it: epochs of the slot from here on are its.
    pub(super) first_clock: u64,
    /// Filled by the thread itself at its first tracked operation (std names a thread only once
    /// it runs, after our spawn hook).
    pub(super) name: OnceLock<String>,
    /// Where `pthread_create` was called, captured unresolved (cheap) and resolved when printed.
    created_at: Option<Mutex<Backtrace>>,
    /// It has ended (whether or not anything joined it).
    ended: AtomicBool,
    /// The serial of the thread that created it, when maprace saw the creation.
    parent: Option<u64>,
    /// The registry no longer keeps this thread's name and creation stack (it ended long ago):
    /// only its serial, parent and end are known.
    details_dropped: bool,
}

impl ThreadInfo {
    pub(crate) fn parent(&self) -> Option<u64> {
        self.parent
    }

    pub(crate) fn has_ended(&self) -> bool {
        self.ended.load(Ordering::Relaxed)
    }

    pub(crate) fn name(&self) -> &str {
        self.name.get().map_or("<unnamed>", String::as_str)
    }

    /// The name and creation stack are known (see `details_dropped`).
    pub(crate) fn details_kept(&self) -> bool {
        !self.details_dropped
    }

    /// The creation stack, symbolized now (only reports call this).
    pub(crate) fn created_at(&self) -> Option<Backtrace> {
        let mut bt = lock(self.created_at.as_ref()?);
        crate::rt::stack::capturing(|| bt.resolve());
        Some(bt.clone())
    }
}

/// A thread that held a slot from the slot's clock `first_clock` on, as the registry
/// remembers it.
enum Holder {
    /// With its details (a live thread, or one of the `DETAILS_KEPT` that ended last).
    Kept {
        first_clock: u64,
        info: Arc<ThreadInfo>,
        /// The slot the thread held before this one, when it moved here because its clock there
        /// was used up. Its record there is that slot's last and shares `info`: it is the same
        /// thread for reports, and its details go when this record's do.
        moved_from: Option<Tid>,
    },
    /// Without them.
    Bare {
        first_clock: u64,
        serial: u64,
        parent: Option<u64>,
    },
}

impl Holder {
    fn first_clock(&self) -> u64 {
        match self {
            Holder::Kept { first_clock, .. } | Holder::Bare { first_clock, .. } => *first_clock,
        }
    }

    fn serial(&self) -> u64 {
        match self {
            Holder::Kept { info, .. } => info.serial,
            Holder::Bare { serial, .. } => *serial,
        }
    }

    /// The holder as reports see it.
    fn info(&self, tid: Tid) -> Arc<ThreadInfo> {
        match self {
            Holder::Kept { info, .. } => info.clone(),
            &Holder::Bare {
                first_clock,
                serial,
                parent,
            } => Arc::new(ThreadInfo {
                tid,
                serial,
                first_clock,
                name: OnceLock::new(),
                created_at: None,
                ended: AtomicBool::new(true),
                parent,
                details_dropped: true,
            }),
        }
    }

    /// Drops the details, keeping what `Bare` keeps; returns the slot the thread moved from,
    /// whose record of it still holds them.
    fn drop_details(&mut self) -> Option<Tid> {
        let Holder::Kept {
            first_clock,
            info,
            moved_from,
        } = self
        else {
            return None;
        };
        let moved_from = *moved_from;
        *self = Holder::Bare {
            first_clock: *first_clock,
            serial: info.serial,
            parent: info.parent,
        };
        moved_from
    }
}

/// Every thread maprace has seen, by slot, within bounds.
///
/// Slots are reused, so that vector clocks (and every join and copy of one) grow with the
/// threads alive, not with all the threads a program ever started. A thread that ended leaves
/// its slot with the slot's final clock `c`, and a new thread goes on in the slot from `c + 1`:
/// - precisely, when the new thread's parent's clock has seen `c` (the parent joined the old
///   thread, directly or through others): every access of the old thread happens before the
///   new one's, so the slot's program order stays true;
/// - otherwise (the old thread was detached, or joined by another), once `QUARANTINE` more
///   recent such ends are waiting, or when no fresh slot is left (the quarantine gives way
///   before a thread runs unrecorded): the slot's floor is raised to `c` (see `Floors`), so
///   that every access of the old thread counts as ordered before every later access. A race
///   with it is missed from then on, never invented.
///
/// There are `max_tid + 1` slots in all. A new thread takes, in this order: a free slot its
/// parent saw the end of; the quarantine's oldest, if the quarantine is full; a fresh slot (one
/// no thread held yet); the quarantine's oldest; and with none of these, it runs unrecorded
/// (`Epoch::UNRECORDED`, see `Epoch`: it has no record, and its end frees nothing).
///
/// A slot whose clock is used up (`Epoch::MAX_CLOCK`) is retired: its thread moves on to a
/// fresh slot (see `take_fresh_slot`) as the same thread for reports, and the retired slot is
/// never free again, so it is never quarantined or reused. It keeps its last holder's record
/// for good (one per retired slot at most), and its floor rises only over the holders before
/// that one, as their records are forgotten (below): a verdict about the last holder's
/// accesses there stays the vector clocks' own.
///
/// Reports find the thread of an epoch by the clock at which each thread took its slot. The
/// records of a slot's past holders are bounded too: the name and creation stack of the
/// `DETAILS_KEPT` threads that ended last are kept (a report about an older one names its serial
/// and says its details were dropped), and the `RECORDS_KEPT` holders superseded last keep a
/// record; the slot's floor is raised over the epochs of an older one, so no report needs it.
struct Registry {
    /// Per slot, its holders, oldest (lowest first clock) first (the last one holds it, or held
    /// it last).
    slots: Vec<VecDeque<Holder>>,
    /// Slots whose holder ended, with the slot's clock at that end, oldest end first.
    free: VecDeque<(Tid, u64)>,
    /// (slot, first clock there) of ended threads whose details are kept, oldest end first.
    ended_kept: VecDeque<(Tid, u64)>,
    /// The slot of each holder that has a successor in it, oldest first: a slot's oldest
    /// holder is superseded first.
    superseded: VecDeque<Tid>,
    /// Holders in `slots`.
    records: usize,
    /// Threads seen.
    serials: u64,
    /// The highest slot a thread can hold (`Epoch::MAX_TID`; smaller in tests).
    max_tid: Tid,
    floors: &'static Floors,
}

static FLOORS: Floors = Floors::new();

static REGISTRY: Mutex<Registry> = Mutex::new(Registry::new(&FLOORS));

fn registry() -> MutexGuard<'static, Registry> {
    lock(&REGISTRY)
}

impl Registry {
    const fn new(floors: &'static Floors) -> Registry {
        Registry {
            slots: Vec::new(),
            free: VecDeque::new(),
            ended_kept: VecDeque::new(),
            superseded: VecDeque::new(),
            records: 0,
            serials: 0,
            max_tid: Epoch::MAX_TID,
            floors,
        }
    }

    /// The thread that held `epoch`'s slot at `epoch`'s clock, if its record is kept.
    fn holder(&self, epoch: Epoch) -> Option<Arc<ThreadInfo>> {
        self.record(epoch).map(|h| h.info(epoch.tid()))
    }

    fn record(&self, epoch: Epoch) -> Option<&Holder> {
        let holders = self.slots.get(epoch.tid() as usize)?;
        holders
            .iter()
            .rev()
            .find(|h| h.first_clock() <= epoch.clock())
    }

    /// A slot for a new thread whose parent's clock is `seen` (see the type's docs).
    fn take_slot(
        &mut self,
        seen: Option<&VectorClock>,
        parent: Option<u64>,
        created_at: Option<Backtrace>,
    ) -> Arc<ThreadInfo> {
        let quarantine_full = self.free.len() >= QUARANTINE;
        let (tid, first_clock) = self
            .reuse_seen(seen)
            .or_else(|| quarantine_full.then(|| self.reuse_oldest()).flatten())
            .or_else(|| self.fresh_slot().map(|tid| (tid, 1)))
            .or_else(|| self.reuse_oldest())
            // No slot left: the thread runs unrecorded (see `Epoch`).
            .unwrap_or((Epoch::UNRECORDED, 0));
        self.serials += 1;
        let info = Arc::new(ThreadInfo {
            tid,
            serial: self.serials - 1,
            first_clock,
            name: OnceLock::new(),
            created_at: created_at.map(Mutex::new),
            ended: AtomicBool::new(false),
            parent,
            details_dropped: false,
        });
        self.hold(tid, first_clock, info.clone(), None);
        info
    }

    /// The thread of `epoch`, whose clock in `epoch`'s slot is used up and whose vector clock
    /// is `seen`, moves on: to a fresh slot, from clock 1 on; with none left, to a free slot as
    /// a new thread takes one (one whose end `seen` saw, else the quarantine's oldest); with
    /// none free either, it goes on unrecorded. Its record in the new slot is the one it had
    /// (see `Holder::Kept::moved_from`). Returns the slot and the clock it goes on from.
    fn take_fresh_slot(&mut self, epoch: Epoch, seen: &VectorClock) -> (Tid, u64) {
        let (tid, first_clock) = self
            .fresh_slot()
            .map(|tid| (tid, 1))
            .or_else(|| self.reuse_seen(Some(seen)))
            .or_else(|| self.reuse_oldest())
            .unwrap_or((Epoch::UNRECORDED, 0));
        let info = match self.record(epoch) {
            Some(Holder::Kept { info, .. }) => Some(info.clone()),
            _ => None, // a thread the registry has no record of (a test's)
        };
        if let Some(info) = info {
            self.hold(tid, first_clock, info, Some(epoch.tid()));
        }
        (tid, first_clock)
    }

    /// `info`'s thread holds slot `tid` from `first_clock` on (no record for `UNRECORDED`).
    fn hold(&mut self, tid: Tid, first_clock: u64, info: Arc<ThreadInfo>, moved_from: Option<Tid>) {
        if let Some(holders) = self.slots.get_mut(tid as usize) {
            holders.push_back(Holder::Kept {
                first_clock,
                info,
                moved_from,
            });
            self.records += 1;
        }
    }

    /// A slot no thread has held yet, if any is left.
    fn fresh_slot(&mut self) -> Option<Tid> {
        let tid = Tid::try_from(self.slots.len())
            .ok()
            .filter(|&tid| tid <= self.max_tid)?;
        self.slots.push(VecDeque::new());
        Some(tid)
    }

    /// A free slot whose end `seen` has seen, and the clock a new holder goes on from: every
    /// access of the old holder happens before the new one's.
    fn reuse_seen(&mut self, seen: Option<&VectorClock>) -> Option<(Tid, u64)> {
        let seen = seen?;
        let i = self
            .free
            .iter()
            .position(|&(tid, end)| seen.get(tid) >= end)?;
        let (tid, end) = self.free.remove(i)?;
        Some(self.supersede(tid, end))
    }

    /// The free slot whose holder ended first, and the clock a new holder goes on from: its
    /// floor rises to the old holder's end (see the type's docs).
    fn reuse_oldest(&mut self) -> Option<(Tid, u64)> {
        let (tid, end) = self.free.pop_front()?;
        self.floors.raise(tid, end);
        Some(self.supersede(tid, end))
    }

    /// Slot `tid`, whose holder ended at clock `end`, gets a new holder from `end + 1` on.
    fn supersede(&mut self, tid: Tid, end: u64) -> (Tid, u64) {
        self.superseded.push_back(tid);
        if self.superseded.len() > RECORDS_KEPT {
            self.forget_oldest_superseded();
        }
        (tid, end + 1)
    }

    /// The record of the holder superseded longest ago goes; the floor of its slot rises over
    /// its epochs, so that no report can be about it.
    fn forget_oldest_superseded(&mut self) {
        let Some(tid) = self.superseded.pop_front() else {
            return;
        };
        let holders = &mut self.slots[tid as usize];
        let Some(mut gone) = holders.pop_front() else {
            return;
        };
        self.records -= 1;
        if let Some(next) = holders.front() {
            self.floors.raise(tid, next.first_clock() - 1);
        }
        // Its records in the slots it moved from (kept: they are those slots' last) lose the
        // details with this one.
        let serial = gone.serial();
        let moved_from = gone.drop_details();
        self.drop_moved_details(serial, moved_from);
    }

    /// The thread in slot `tid` ended at clock `end`: its details are kept a while (see
    /// `DETAILS_KEPT`), and the slot may be taken over, unless it is no slot (an unrecorded
    /// thread's) or its clock is used up (no thread can go on from it).
    fn ended(&mut self, tid: Tid, end: u64) {
        if tid == Epoch::UNRECORDED {
            return;
        }
        let kept = match self.record(Epoch::new(tid, end)) {
            Some(Holder::Kept {
                first_clock, info, ..
            }) => {
                info.ended.store(true, Ordering::Relaxed);
                Some(*first_clock)
            }
            _ => None, // no record (a test's thread)
        };
        if let Some(first_clock) = kept {
            self.ended_kept.push_back((tid, first_clock));
            if self.ended_kept.len() > DETAILS_KEPT {
                let (tid, first_clock) = self.ended_kept.pop_front().expect("more than kept");
                self.drop_details(tid, first_clock);
            }
        }
        if end < Epoch::MAX_CLOCK {
            self.free.push_back((tid, end));
        }
    }

    /// The thread whose record in slot `tid` starts at `first_clock` loses its details there
    /// and in the slots it moved from (its record may be gone already, its details with it).
    fn drop_details(&mut self, tid: Tid, first_clock: u64) {
        let holders = &mut self.slots[tid as usize];
        // Holders are in clock order.
        if let Ok(i) = holders.binary_search_by_key(&first_clock, Holder::first_clock) {
            let serial = holders[i].serial();
            let moved_from = holders[i].drop_details();
            self.drop_moved_details(serial, moved_from);
        }
    }

    /// Thread `serial`'s records in the slots it moved from, starting at `moved_from`, lose
    /// their details: each is its slot's last (a slot it moved from is retired).
    fn drop_moved_details(&mut self, serial: u64, mut moved_from: Option<Tid>) {
        while let Some(tid) = moved_from {
            moved_from = self.slots[tid as usize]
                .back_mut()
                .filter(|h| h.serial() == serial)
                .and_then(Holder::drop_details);
        }
    }
}
/// Per slot, the clock at or below which every epoch of the slot counts as ordered before every
/// later access (0: none). Read without a lock by `Ctx::happens_before` when the thread's vector
/// clock says no, raised under the registry's lock. In chunks of `CHUNK` slots made at the first
/// raise in them (never freed, so a reader never sees one go), reached through a fixed table.
pub(crate) struct Floors {
    chunks: [AtomicPtr<[AtomicU64; CHUNK]>; CHUNKS],
}

const CHUNK: usize = 4096;
const CHUNKS: usize = (Epoch::MAX_TID as usize + 1).div_ceil(CHUNK);

impl Floors {
    const fn new() -> Floors {
        Floors {
            chunks: [const { AtomicPtr::new(std::ptr::null_mut()) }; CHUNKS],
        }
    }

    /// Does the slot's floor cover `epoch`?
    fn covers(&self, epoch: Epoch) -> bool {
        let tid = epoch.tid() as usize;
        let chunk = self.chunks[tid / CHUNK].load(Ordering::Acquire);
        // SAFETY: a non-null chunk pointer comes from `Box::into_raw` in `raise` and is never
        // freed; the Acquire load sees the chunk's initialization.
        !chunk.is_null() && epoch.clock() <= unsafe { &*chunk }[tid % CHUNK].load(Ordering::Relaxed)
    }

    /// Raises the floor of `tid` to `clock` (callers hold the registry's lock: one writer).
    fn raise(&self, tid: Tid, clock: u64) {
        let tid = tid as usize;
        let slot = &self.chunks[tid / CHUNK];
        let mut chunk = slot.load(Ordering::Acquire);
        if chunk.is_null() {
            chunk = Box::into_raw(Box::new([const { AtomicU64::new(0) }; CHUNK]));
            slot.store(chunk, Ordering::Release);
        }
        // SAFETY: as in `covers`.
        let floor = &unsafe { &*chunk }[tid % CHUNK];
        if floor.load(Ordering::Relaxed) < clock {
            floor.store(clock, Ordering::Relaxed);
        }
    }
}

/// Is `epoch` below its slot's floor: an access of a thread whose slot or record was given up,
/// ordered before everything from then on (see `Registry`)? Out of line: asked only when a
/// vector clock says no.
#[cold]
#[inline(never)]
pub(super) fn below_floor(epoch: Epoch) -> bool {
    FLOORS.covers(epoch)
}

/// Raises the floor of `tid` to `clock`, for tests of what a floor decides.
#[cfg(test)]
pub(crate) fn raise_floor_for_test(tid: Tid, clock: u64) {
    FLOORS.raise(tid, clock);
}

/// For the fork handler: the registry stays as it is until the guard is dropped.
pub(crate) fn hold_for_fork() -> impl Sized {
    registry()
}

/// How many threads the detector has seen, for `maprace::stats()`.
pub(crate) fn seen() -> usize {
    registry().serials as usize
}

/// The registry's size, for `maprace::stats()`: slots in vector clocks, and threads it keeps a
/// record of.
pub(crate) fn size() -> (usize, usize) {
    let registry = registry();
    (registry.slots.len(), registry.records)
}

/// The thread that made the access stamped `epoch`, for reports (`None`: its record was given
/// up, see `Registry`).
pub(crate) fn info(epoch: Epoch) -> Option<Arc<ThreadInfo>> {
    registry().holder(epoch)
}

/// A slot for a new thread whose parent's clock is `seen` (see `Registry`).
pub(super) fn take_slot(
    seen: Option<&VectorClock>,
    parent: Option<u64>,
    created_at: Option<Backtrace>,
) -> Arc<ThreadInfo> {
    registry().take_slot(seen, parent, created_at)
}

/// The thread of `epoch`, whose slot's clock is used up and whose vector clock is `seen`, moves
/// on to another slot: that slot and the clock it goes on from (`UNRECORDED` if none is left;
/// see `Registry::take_fresh_slot`).
pub(super) fn take_fresh_slot(epoch: Epoch, seen: &VectorClock) -> (Tid, u64) {
    registry().take_fresh_slot(epoch, seen)
}

/// The thread in slot `tid` ended, leaving the slot at clock `end`: a later thread may take the
/// slot over (unless its clock is used up: then no thread can go on from it).
pub(super) fn ended(tid: Tid, end: u64) {
    registry().ended(tid, end);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> Registry {
        Registry::new(Box::leak(Box::new(Floors::new())))
    }

    #[test]
    fn a_slot_is_taken_over_only_by_a_thread_whose_parent_saw_its_end() {
        let mut registry = empty();
        let first = registry.take_slot(None, None, None);
        let _other = registry.take_slot(None, None, None);
        registry.ended(first.tid, 5); // `first` ended at its clock 5

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
        assert!(
            !registry.floors.covers(Epoch::new(first.tid, 1)),
            "no floor"
        );

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

    /// Issue 13: more threads alive than the slot bits name run unrecorded, slots come back as
    /// threads end, and 100,000 threads over a run take turns at the same few slots.
    #[test]
    fn past_the_last_slot_threads_run_unrecorded_and_ended_slots_are_reused() {
        let mut registry = Registry {
            max_tid: 3,
            ..empty()
        };
        let alive: Vec<_> = (0..4)
            .map(|_| registry.take_slot(None, None, None))
            .collect();
        assert_eq!(
            alive.iter().map(|t| t.tid).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        let extra = registry.take_slot(None, None, None);
        assert_eq!(extra.tid, Epoch::UNRECORDED, "no slot left");
        assert!(registry.holder(Epoch::unrecorded()).is_none());
        // An unrecorded thread's end frees nothing; a used-up slot is never handed out again.
        registry.ended(Epoch::UNRECORDED, 0);
        registry.ended(alive[2].tid, Epoch::MAX_CLOCK);
        registry.ended(alive[1].tid, 40);
        assert_eq!(registry.free, [(alive[1].tid, 40)]);
        let mut parent = VectorClock::new();
        parent.set(alive[1].tid, 40);
        parent.set(alive[2].tid, Epoch::MAX_CLOCK);
        let heir = registry.take_slot(Some(&parent), None, None);
        assert_eq!((heir.tid, heir.first_clock), (alive[1].tid, 41));
        assert_eq!(
            registry.take_slot(Some(&parent), None, None).tid,
            Epoch::UNRECORDED
        );

        // 100,000 threads, each spawned after the previous one was joined: two slots in all,
        // and each epoch still belongs to the thread that made it.
        let mut registry = empty();
        let main = registry.take_slot(None, None, None);
        let mut seen = VectorClock::new();
        seen.set(main.tid, 1);
        let mut last_serials = Vec::new();
        for n in 0..100_000u64 {
            let child = registry.take_slot(Some(&seen), Some(main.serial), None);
            let end = child.first_clock + 2; // a few releases, then the end
            registry.ended(child.tid, end);
            seen.set(child.tid, end); // joined
            if n >= 99_998 {
                last_serials.push((child.tid, child.first_clock, child.serial));
            }
        }
        assert_eq!(
            registry.slots.len(),
            2,
            "one slot for the main thread, one taken in turns"
        );
        for (tid, first_clock, serial) in last_serials {
            let held = registry.holder(Epoch::new(tid, first_clock + 1)).unwrap();
            assert_eq!(held.serial, serial);
            // A thread that joined all of them has seen every epoch of the slot.
            assert!(seen.happens_before(Epoch::new(tid, first_clock + 1)));
        }
        assert!(
            !VectorClock::new().happens_before(Epoch::new(1, 3)),
            "an unjoined one has not"
        );
    }

    #[test]
    fn unordered_ends_keep_their_slots_for_a_quarantine_then_raise_the_floor() {
        let mut registry = empty();
        let nobody = VectorClock::new(); // a parent that joined nothing
        let mut ends = Vec::new();
        for round in 0..QUARANTINE as u64 + 10 {
            let thread = registry.take_slot(Some(&nobody), None, None);
            let end = thread.first_clock + 2 + round;
            registry.ended(thread.tid, end);
            ends.push((thread.tid, thread.first_clock, end));
        }
        assert_eq!(
            registry.slots.len(),
            QUARANTINE,
            "slots: the quarantine, then reuse"
        );
        // The first ten slots were taken over: their first holders' epochs are below the
        // floor, their heirs' are not.
        for &(tid, first_clock, end) in &ends[..10] {
            assert_eq!(first_clock, 1);
            assert!(registry.floors.covers(Epoch::new(tid, end)));
            assert!(!registry.floors.covers(Epoch::new(tid, end + 1)));
        }
        // The rest keep a precise verdict.
        for &(tid, _, end) in &ends[10..QUARANTINE] {
            assert!(!registry.floors.covers(Epoch::new(tid, end)), "slot {tid}");
        }
    }

    #[test]
    fn records_and_details_are_bounded_and_the_floor_covers_what_was_forgotten() {
        let mut registry = empty();
        let mut parent = VectorClock::new();
        let main = registry.take_slot(None, None, None);
        let mut threads = Vec::new();
        // Spawned and joined one after the other: each takes over the slot of the previous.
        for _ in 0..RECORDS_KEPT + DETAILS_KEPT + 100 {
            let thread = registry.take_slot(Some(&parent), Some(main.serial), None);
            let end = thread.first_clock + 1;
            registry.ended(thread.tid, end);
            parent.set(thread.tid, end); // joined
            threads.push((thread.serial, Epoch::new(thread.tid, end)));
        }
        assert_eq!(registry.slots.len(), 2);
        assert_eq!(
            registry.records,
            1 + RECORDS_KEPT + 1,
            "main, the superseded kept, the last"
        );
        let kept = |epoch| registry.holder(epoch).map(|t| (t.serial, t.details_kept()));
        let (last_serial, last) = *threads.last().unwrap();
        assert_eq!(kept(last), Some((last_serial, true)));
        let (serial, old) = threads[threads.len() - DETAILS_KEPT - 1];
        assert_eq!(kept(old), Some((serial, false)), "a record without details");
        let (_, forgotten) = threads[threads.len() - RECORDS_KEPT - 2];
        assert!(
            registry.floors.covers(forgotten),
            "what was forgotten is below the floor"
        );
        let (_, remembered) = threads[threads.len() - RECORDS_KEPT - 1];
        assert!(!registry.floors.covers(remembered));
    }

    /// The serial of the thread a report names for `epoch`, and whether its details are kept.
    fn named(registry: &Registry, epoch: Epoch) -> Option<(u64, bool)> {
        registry.holder(epoch).map(|t| (t.serial, t.details_kept()))
    }

    /// The slot limit and the quarantine in one registry: a thread whose clock is used up moves
    /// on as itself; the slot it leaves is retired (never free, and its floor is not raised by
    /// what happens next door); with no fresh slot left, the quarantine gives way to a new
    /// thread and a move takes a free slot; with none free, a thread runs unrecorded; and a
    /// moved thread's details go from every slot it held, its records in retired slots stay.
    #[test]
    fn a_moved_thread_keeps_its_record_and_the_slot_it_left_is_retired() {
        let mut registry = Registry {
            max_tid: 3,
            ..empty()
        };
        let main = registry.take_slot(None, None, None);
        let a = registry.take_slot(None, Some(main.serial), None);
        let x = registry.take_slot(None, Some(main.serial), None);
        assert_eq!((main.tid, a.tid, x.tid), (0, 1, 2));
        // a's clock in slot 1 is used up: it moves to the last fresh slot, from clock 1 on.
        let mut a_clock = VectorClock::new();
        a_clock.set(a.tid, Epoch::MAX_CLOCK);
        let moved = registry.take_fresh_slot(Epoch::new(a.tid, Epoch::MAX_CLOCK), &a_clock);
        assert_eq!(moved, (3, 1));
        for epoch in [
            Epoch::new(a.tid, 1),
            Epoch::new(a.tid, Epoch::MAX_CLOCK),
            Epoch::new(3, 1),
            Epoch::new(3, 900),
        ] {
            let info = registry.holder(epoch).unwrap();
            assert!(
                Arc::ptr_eq(&info, &a),
                "{epoch:?}: the same thread for reports"
            );
        }

        // x ends, then a ends in slot 3; nothing saw either end. Slot 1 stays out of use.
        registry.ended(x.tid, 4);
        registry.ended(3, 7);
        assert_eq!(registry.free, [(x.tid, 4), (3, 7)]);
        assert!(a.has_ended());
        // No fresh slot is left: a new thread takes the quarantine's oldest end, x's, and the
        // floor rises over x's epochs, next to the retired slot, whose epochs keep the vector
        // clocks' verdict.
        let c = registry.take_slot(None, Some(main.serial), None);
        assert_eq!((c.tid, c.first_clock), (x.tid, 5));
        assert!(registry.floors.covers(Epoch::new(x.tid, 4)));
        assert!(!registry.floors.covers(Epoch::new(x.tid, 5)));
        assert!(!registry.floors.covers(Epoch::new(a.tid, 1)));
        assert!(!registry.floors.covers(Epoch::new(a.tid, Epoch::MAX_CLOCK)));
        assert!(!registry.floors.covers(Epoch::new(3, 7)));

        // c's clock is used up too, with no fresh slot left: it moves to the free slot whose end
        // it saw (it joined a), precisely, as a new thread would take it.
        let mut c_clock = VectorClock::new();
        c_clock.set(c.tid, Epoch::MAX_CLOCK);
        c_clock.set(3, 7);
        let moved = registry.take_fresh_slot(Epoch::new(c.tid, Epoch::MAX_CLOCK), &c_clock);
        assert_eq!(moved, (3, 8));
        assert!(!registry.floors.covers(Epoch::new(3, 7)), "c saw a's end");
        assert_eq!(named(&registry, Epoch::new(3, 7)), Some((a.serial, true)));
        assert_eq!(named(&registry, Epoch::new(3, 8)), Some((c.serial, true)));
        assert_eq!(
            named(&registry, Epoch::new(x.tid, 5)),
            Some((c.serial, true))
        );
        // Nothing is free: a new thread runs unrecorded (slots 1 and 2 are retired).
        assert_eq!(registry.take_slot(None, None, None).tid, Epoch::UNRECORDED);

        // c ends in slot 3; then threads spawned and joined one after the other take slot 3
        // in turns, until c's and a's records there are forgotten.
        registry.ended(3, 9);
        let mut parent = c_clock.clone();
        parent.set(3, 9);
        for n in 0..DETAILS_KEPT + RECORDS_KEPT {
            let thread = registry.take_slot(Some(&parent), Some(main.serial), None);
            assert_eq!(thread.tid, 3);
            let end = thread.first_clock + 1;
            registry.ended(thread.tid, end);
            parent.set(thread.tid, end);
            if n == DETAILS_KEPT {
                // More than DETAILS_KEPT ends came after theirs: both lost their details, in
                // every slot each held.
                for (epoch, serial) in [
                    (Epoch::new(a.tid, 1), a.serial),
                    (Epoch::new(3, 7), a.serial),
                    (Epoch::new(x.tid, 5), c.serial),
                    (Epoch::new(3, 9), c.serial),
                ] {
                    assert_eq!(named(&registry, epoch), Some((serial, false)), "{epoch:?}");
                }
            }
        }
        // Their records in slot 3 are gone, under its floor; those in the retired slots stay.
        assert_eq!(named(&registry, Epoch::new(3, 9)), None);
        assert!(registry.floors.covers(Epoch::new(3, 9)));
        assert_eq!(
            named(&registry, Epoch::new(a.tid, 1)),
            Some((a.serial, false))
        );
        assert_eq!(
            named(&registry, Epoch::new(x.tid, 5)),
            Some((c.serial, false))
        );
        assert_eq!(
            named(&registry, Epoch::new(x.tid, 4)),
            None,
            "x's, forgotten"
        );
        assert!(!registry.floors.covers(Epoch::new(a.tid, Epoch::MAX_CLOCK)));
        assert_eq!(registry.slots.len(), 4);
        assert_eq!(
            registry.records,
            RECORDS_KEPT + 4,
            "main, a and c in the retired slots, slot 3's kept and last"
        );
    }

    /// A moved thread's record in its last slot may be forgotten before its details would be
    /// dropped (many slots free, few ends since): its record in the slot it moved from loses
    /// the details with it, so none outlive the bound.
    #[test]
    fn a_moved_threads_details_go_when_its_last_record_is_forgotten() {
        let mut registry = empty();
        let waiting: Vec<_> = (0..RECORDS_KEPT + 300)
            .map(|_| registry.take_slot(None, None, None))
            .collect();
        for (i, thread) in waiting.iter().enumerate() {
            registry.ended(thread.tid, 2 + i as u64); // free, and seen by nobody
        }
        let m = registry.take_slot(None, None, None); // the quarantine's oldest
        let from = (m.tid, m.first_clock);
        let mut m_clock = VectorClock::new();
        m_clock.set(m.tid, Epoch::MAX_CLOCK);
        let (to, first) = registry.take_fresh_slot(Epoch::new(m.tid, Epoch::MAX_CLOCK), &m_clock);
        assert_eq!(first, 1, "a fresh slot");
        registry.ended(to, 3);
        m_clock.set(to, 3);
        let heir = registry.take_slot(Some(&m_clock), None, None);
        assert_eq!((heir.tid, heir.first_clock), (to, 4));
        // RECORDS_KEPT more holders superseded, no thread ended.
        for _ in 0..RECORDS_KEPT {
            registry.take_slot(None, None, None);
        }
        assert_eq!(named(&registry, Epoch::new(to, 3)), None);
        assert!(registry.floors.covers(Epoch::new(to, 3)));
        assert_eq!(
            named(&registry, Epoch::new(from.0, from.1)),
            Some((m.serial, false)),
            "its record in the slot it left: named, without details"
        );
    }

    /// A thread that moves onto a reused slot may be older than the slot's previous holder:
    /// its records are found by clock, not by serial, when its details go.
    #[test]
    fn an_older_thread_moved_after_a_newer_one_loses_its_details_in_both_slots() {
        let mut registry = Registry {
            max_tid: 1,
            ..empty()
        };
        let old = registry.take_slot(None, None, None);
        let new = registry.take_slot(None, Some(old.serial), None);
        registry.ended(new.tid, 5);
        let mut clock = VectorClock::new();
        clock.set(old.tid, Epoch::MAX_CLOCK);
        clock.set(new.tid, 5); // joined it
        let moved = registry.take_fresh_slot(Epoch::new(old.tid, Epoch::MAX_CLOCK), &clock);
        assert_eq!(
            moved,
            (new.tid, 6),
            "no fresh slot: the one whose end it saw"
        );
        registry.ended(new.tid, 8);
        clock.set(new.tid, 8);
        for _ in 0..DETAILS_KEPT {
            let thread = registry.take_slot(Some(&clock), None, None);
            registry.ended(thread.tid, thread.first_clock);
            clock.set(thread.tid, thread.first_clock);
        }
        assert_eq!(
            named(&registry, Epoch::new(new.tid, 7)),
            Some((old.serial, false))
        );
        assert_eq!(
            named(&registry, Epoch::new(old.tid, 1)),
            Some((old.serial, false))
        );
        assert_eq!(
            named(&registry, Epoch::new(new.tid, 5)),
            Some((new.serial, false))
        );
    }
}
