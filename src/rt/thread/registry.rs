//! The registry of threads: which thread held which slot (a thread's index in vector clocks)
//! when, and what reports say about each (name, creation stack, parent), kept after it ends.

use crate::rt::clock::{Epoch, Tid, VectorClock};
use crate::rt::lock;
use backtrace::Backtrace;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// What a report can say about a thread, kept after the thread ends.
pub(crate) struct ThreadInfo {
    /// The slot it holds in vector clocks (reused by later threads, see `Registry`).
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
    /// The highest slot a thread can hold (`Epoch::MAX_TID`; smaller in tests).
    max_tid: Tid,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    slots: Vec::new(),
    free: Vec::new(),
    serials: 0,
    max_tid: Epoch::MAX_TID,
});

fn registry() -> MutexGuard<'static, Registry> {
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
            None => match self.fresh_slot() {
                Some(tid) => (tid, 1),
                // No slot left: the thread runs unrecorded (see `Epoch`).
                None => (Epoch::UNRECORDED, 0),
            },
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
        if let Some(holders) = self.slots.get_mut(tid as usize) {
            holders.push(info.clone());
        }
        info
    }

    /// The thread in slot `tid` ended at clock `end`: the slot may be taken over, unless it is
    /// no slot (an unrecorded thread's) or its clock is used up (no thread can go on from it).
    fn ended(&mut self, tid: Tid, end: u64) {
        if tid != Epoch::UNRECORDED && end < Epoch::MAX_CLOCK {
            self.free.push((tid, end));
        }
    }

    /// A slot no thread has held yet, if any is left.
    fn fresh_slot(&mut self) -> Option<Tid> {
        let tid = Tid::try_from(self.slots.len())
            .ok()
            .filter(|&tid| tid <= self.max_tid)?;
        self.slots.push(Vec::new());
        Some(tid)
    }

    /// A fresh slot for the thread of `epoch`, whose clock in its slot is used up; the thread
    /// holds it from clock 1 on (being its first holder, it is found for every clock of it).
    fn take_fresh_slot(&mut self, epoch: Epoch) -> Tid {
        let holder = self.holder(epoch);
        match self.fresh_slot() {
            Some(tid) => {
                self.slots[tid as usize].extend(holder);
                tid
            }
            None => Epoch::UNRECORDED,
        }
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

/// A slot for a new thread whose parent's clock is `seen` (see `Registry`).
pub(super) fn take_slot(
    seen: Option<&VectorClock>,
    parent: Option<u64>,
    created_at: Option<Backtrace>,
) -> Arc<ThreadInfo> {
    registry().take_slot(seen, parent, created_at)
}

/// A fresh slot for the thread of `epoch`, whose slot's clock is used up (`UNRECORDED` if none
/// is left).
pub(super) fn take_fresh_slot(epoch: Epoch) -> Tid {
    registry().take_fresh_slot(epoch)
}

/// A thread ended, leaving its slot `tid` at clock `end`: a later thread may take the slot over
/// (unless its clock is used up: then no thread can go on from it).
pub(super) fn ended(info: Option<&ThreadInfo>, tid: Tid, end: u64) {
    if let Some(info) = info {
        info.ended.store(true, Relaxed);
    }
    registry().ended(tid, end);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> Registry {
        Registry {
            slots: Vec::new(),
            free: Vec::new(),
            serials: 0,
            max_tid: Epoch::MAX_TID,
        }
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
}
