//! A shadow cell: the access history of one key (or of a map's structure), checked with the
//! FastTrack rules. 32 bytes, kept next to the entry it describes (see `Cell`'s layout).
//!
//! The words are atomics accessed with plain loads and stores, never read-modify-write: in a
//! correctly synchronized program the synchronization itself orders them, and in a racy one a
//! lost update can only hide a race that the next access finds, never invent one. A repeated
//! access in the same epoch writes nothing.

use super::clock::{Epoch, Tid};
use super::lock;
use super::site::Site;
use super::thread::Ctx;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// Is the access a read or a write of the cell?
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Read,
    Write,
}

/// The earlier access a new one conflicts with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Previous {
    pub(crate) kind: Kind,
    pub(crate) epoch: Epoch,
    pub(crate) site: Site,
    /// The other thread was still inside its operation when this one started.
    pub(crate) in_progress: bool,
}

/// `repr(C)`, the read words first: a read in a new epoch stores those two and only loads the
/// rest. In the entry of a `u64 -> u64` map (key, value, cell: 48 bytes, 16-byte aligned in the
/// table) they are then 16-byte aligned and never straddle two cache lines: a read dirties one
/// line, which the other core must fetch back at its next access to that entry.
#[derive(Default)]
#[repr(C)]
pub(crate) struct Cell {
    /// Epoch of the last read (`Epoch::NONE` after a write), or, with the flag set, the address
    /// of a `ReadSet` when reads from several threads are unordered with each other.
    read: AtomicU64,
    read_site: AtomicU64,
    /// Epoch of the last write; its flag is set while that write is in progress.
    write: AtomicU64,
    write_site: AtomicU64,
}

impl Cell {
    /// A cell with no history (`Default`, usable in a `const` map constructor).
    pub(crate) const fn new() -> Cell {
        Cell {
            write: AtomicU64::new(0),
            read: AtomicU64::new(0),
            write_site: AtomicU64::new(0),
            read_site: AtomicU64::new(0),
        }
    }

    /// The cell of a key that has just been inserted, at `epoch`, by the current access.
    #[inline]
    pub(crate) fn written(epoch: Epoch, site: Site) -> Cell {
        Cell {
            write: AtomicU64::new(epoch.bits()),
            read: AtomicU64::new(0),
            write_site: AtomicU64::new(site.bits()),
            read_site: AtomicU64::new(0),
        }
    }

    /// Read rule: a read conflicts with the last write unless that write happens before it.
    ///
    /// Inline, the cases a correctly synchronized program meets on every operation: a repeated
    /// read in the same epoch (nothing to store), the first read of a new epoch after a read
    /// that happens before it (FastTrack's [READ EXCLUSIVE]), and a read kept in the thread's
    /// own entry of a shared set ([READ SHARED]). Threads that take turns at a lock are in a new
    /// epoch at every turn, so these are as hot as the first. The rest (a first unordered
    /// reader, a conflict, `sync=assume`) goes out of line.
    ///
    /// `epoch` is `me.epoch()`, which the caller has already taken.
    #[inline(always)]
    pub(crate) fn track_read(&self, me: &Ctx, epoch: Epoch, site: Site) -> Option<Previous> {
        let write = Epoch::from_bits(self.write.load(Relaxed));
        let read = self.read.load(Acquire);
        if write_is_ordered(write, me) {
            let epoch = epoch.bits();
            if read == epoch {
                return None; // [READ SAME EPOCH]
            }
            let last = Epoch::from_bits(read);
            if !last.flagged() {
                // (One test for this thread's own reads too, whose epochs its clock covers: on
                // a key read and written at random, a branch on whose read it was mispredicts.)
                if me.happens_before(last) {
                    self.read.store(epoch, Relaxed);
                    self.read_site.store(site.bits(), Relaxed);
                    return None;
                }
            } else {
                // SAFETY: a flagged read word holds a live `ReadSet`.
                let set = unsafe { ReadSet::from_word(read) };
                if let Some(entry) = set.entries.get(me.tid as usize) {
                    if entry.epoch.load(Relaxed) != epoch {
                        entry.epoch.store(epoch, Relaxed);
                        entry.site.store(site.bits(), Relaxed);
                    }
                    return None;
                }
            }
        }
        self.read_slow(me, site)
    }

    #[inline(never)]
    fn read_slow(&self, me: &Ctx, site: Site) -> Option<Previous> {
        let conflict = self.check_last_write(me);
        let read = self.read.load(Acquire);
        if !read_is_recorded(read, me) {
            self.record_read(Epoch::from_bits(read), me, site);
        }
        conflict
    }

    /// Write rule: a write conflicts with the last write and with every read since, unless they
    /// happen before it. With `in_progress`, the cell says so until `end_write`, and any access
    /// another thread starts meanwhile is an overlap.
    ///
    /// Inline, as for reads: a repeated write in the same epoch, and a write in a new epoch after
    /// a write and at most one read that happen before it ([WRITE EXCLUSIVE]).
    #[inline(always)]
    pub(crate) fn track_write(
        &self,
        me: &Ctx,
        epoch: Epoch,
        site: Site,
        in_progress: bool,
    ) -> Option<Previous> {
        let mark = if in_progress {
            epoch.with_flag().bits()
        } else {
            epoch.bits()
        };
        let epoch = epoch.bits();
        let write = self.write.load(Relaxed);
        let read = self.read.load(Acquire);
        // [WRITE SAME EPOCH] with no read since but this thread's: only the marks change.
        if write == epoch && (read == 0 || read == epoch) {
            if in_progress {
                self.write.store(mark, Relaxed);
            }
            if self.write_site.load(Relaxed) != site.bits() {
                self.write_site.store(site.bits(), Relaxed);
            }
            return None;
        }
        let last = Epoch::from_bits(read);
        if write_is_ordered(Epoch::from_bits(write), me)
            && !last.flagged()
            && me.happens_before(last)
        {
            // The read, if any, is covered by this write from now on.
            if read != 0 {
                self.read.store(0, Relaxed);
            }
            self.write.store(mark, Relaxed);
            self.write_site.store(site.bits(), Relaxed);
            return None;
        }
        self.write_slow(me, site, in_progress)
    }

    #[inline(never)]
    fn write_slow(&self, me: &Ctx, site: Site, in_progress: bool) -> Option<Previous> {
        let conflict = self.check_last_write(me);
        let epoch = me.epoch();
        let read = self.read.load(Acquire);
        let conflict = if read != epoch.bits() && read != 0 {
            let read_conflict = self.check_reads_since(Epoch::from_bits(read), me);
            // FastTrack's [WRITE SHARED]: reads before a write are covered by it from now on.
            self.read.store(0, Relaxed);
            if Epoch::from_bits(read).flagged() {
                ReadSet::retire(read);
            }
            conflict.or(read_conflict)
        } else {
            conflict
        };
        let mark = if in_progress {
            epoch.with_flag()
        } else {
            epoch
        };
        self.write.store(mark.bits(), Relaxed);
        self.write_site.store(site.bits(), Relaxed);
        conflict
    }

    /// A write already checked by `track_write` is in progress until `end_write`.
    #[inline]
    pub(crate) fn begin_write(&self, me: Epoch) {
        self.write.store(me.with_flag().bits(), Relaxed);
    }

    /// The write begun by `track_write(.., in_progress = true)` or `begin_write` is over.
    #[inline]
    pub(crate) fn end_write(&self, me: Epoch) {
        self.write.store(me.bits(), Relaxed);
    }

    /// Forgets all history (the map moved: everything before happens before what comes next).
    pub(crate) fn reset(&self) {
        self.write.store(0, Relaxed);
        self.write_site.store(0, Relaxed);
        self.read_site.store(0, Relaxed);
        let read = self.read.swap(0, Relaxed);
        if Epoch::from_bits(read).flagged() {
            ReadSet::retire(read);
        }
    }

    #[inline]
    fn check_last_write(&self, me: &Ctx) -> Option<Previous> {
        let write = Epoch::from_bits(self.write.load(Relaxed));
        if write.tid() == me.tid {
            return None; // program order
        }
        let in_progress = write.flagged();
        if in_progress || (!me.sync_assume && !me.happens_before(write)) {
            return Some(Previous {
                kind: Kind::Write,
                epoch: write.without_flag(),
                site: Site::from_bits(self.write_site.load(Relaxed)),
                in_progress,
            });
        }
        None
    }

    #[cold]
    fn check_reads_since(&self, read: Epoch, me: &Ctx) -> Option<Previous> {
        if me.sync_assume {
            return None;
        }
        let unordered = |epoch: Epoch, site: u64| {
            (epoch.tid() != me.tid && !me.happens_before(epoch)).then(|| Previous {
                kind: Kind::Read,
                epoch,
                site: Site::from_bits(site),
                in_progress: false,
            })
        };
        if !read.flagged() {
            return unordered(read, self.read_site.load(Relaxed));
        }
        // SAFETY: a flagged read word holds a live `ReadSet` (see `ReadSet::retire`).
        let set = unsafe { ReadSet::from_word(read.bits()) };
        set.entries.iter().find_map(|entry| {
            let epoch = Epoch::from_bits(entry.epoch.load(Relaxed));
            if epoch.is_none() {
                return None;
            }
            unordered(epoch, entry.site.load(Relaxed))
        })
    }

    fn record_read(&self, read: Epoch, me: &Ctx, site: Site) {
        if read.flagged() {
            // SAFETY: a flagged read word holds a live `ReadSet`.
            let set = unsafe { ReadSet::from_word(read.bits()) };
            if let Some(entry) = set.entries.get(me.tid as usize) {
                // Each thread writes only its own entry: no read-modify-write needed.
                if entry.epoch.load(Relaxed) != me.epoch().bits() {
                    entry.epoch.store(me.epoch().bits(), Relaxed);
                    entry.site.store(site.bits(), Relaxed);
                }
                return;
            }
            let grown = set.grown_for(me.tid);
            grown.record(me.epoch(), site);
            self.publish_read_set(read.bits(), grown, me, site);
        } else if read.is_none()
            || read.tid() == me.tid
            || me.sync_assume
            || me.happens_before(read)
        {
            // FastTrack's [READ EXCLUSIVE]: the previous read is covered by this one.
            self.read.store(me.epoch().bits(), Relaxed);
            self.read_site.store(site.bits(), Relaxed);
        } else {
            // [READ SHARE]: two unordered readers; remember both.
            let set = ReadSet::with_capacity_for(read.tid().max(me.tid));
            set.record(read, Site::from_bits(self.read_site.load(Relaxed)));
            set.record(me.epoch(), site);
            self.publish_read_set(read.bits(), set, me, site);
        }
    }

    /// Installs `set` in place of `expected`. This is the one compare-and-swap of the cell, on
    /// the path where reads become shared (at most once per reader per cell and write).
    #[cold]
    fn publish_read_set(&self, expected: u64, set: Box<ReadSet>, me: &Ctx, site: Site) {
        let word = ReadSet::into_word(set);
        match self.read.compare_exchange(expected, word, Release, Acquire) {
            // A set outgrown by a new reader's entry is never freed: readers that race with no
            // one (reads do not conflict) may still be using it. This is bounded: a cell's set
            // grows only when a thread with a higher slot reads it, and slots are reused.
            Ok(_) => {}
            Err(now) => {
                // Another reader changed the word first: take its state as the starting point.
                ReadSet::free(word);
                self.record_read(Epoch::from_bits(now), me, site);
            }
        }
    }
}

/// The last write is this thread's, or happens before what it does now (or, with
/// `sync=assume`, is presumed to); and no write is in progress in another thread.
#[inline(always)]
fn write_is_ordered(write: Epoch, me: &Ctx) -> bool {
    if write.tid_and_flag() == me.tid as u64 {
        return true; // program order
    }
    !write.flagged() && (me.sync_assume || me.happens_before(write))
}

/// This thread has already read the cell in its current epoch.
#[inline(always)]
fn read_is_recorded(read: u64, me: &Ctx) -> bool {
    let epoch = me.epoch().bits();
    if read == epoch {
        return true;
    }
    if !Epoch::from_bits(read).flagged() {
        return false;
    }
    // SAFETY: a flagged read word holds a live `ReadSet`.
    let set = unsafe { ReadSet::from_word(read) };
    set.entries
        .get(me.tid as usize)
        .is_some_and(|entry| entry.epoch.load(Relaxed) == epoch)
}

impl Drop for Cell {
    fn drop(&mut self) {
        let read = *self.read.get_mut();
        if Epoch::from_bits(read).flagged() {
            ReadSet::retire(read);
        }
    }
}

/// The reads since the last write, one entry per thread slot, once reads from different threads
/// are unordered with each other (FastTrack's read vector clock, with each read's site).
struct ReadSet {
    entries: Box<[ReadEntry]>,
}

#[derive(Default)]
struct ReadEntry {
    epoch: AtomicU64,
    site: AtomicU64,
}

impl ReadSet {
    fn with_capacity_for(tid: Tid) -> Box<ReadSet> {
        let len = (tid as usize + 1).next_power_of_two().max(4);
        Box::new(ReadSet {
            entries: (0..len).map(|_| ReadEntry::default()).collect(),
        })
    }

    fn grown_for(&self, tid: Tid) -> Box<ReadSet> {
        let grown = ReadSet::with_capacity_for(tid);
        for (new, old) in grown.entries.iter().zip(self.entries.iter()) {
            new.epoch.store(old.epoch.load(Relaxed), Relaxed);
            new.site.store(old.site.load(Relaxed), Relaxed);
        }
        grown
    }

    fn record(&self, epoch: Epoch, site: Site) {
        let entry = &self.entries[epoch.tid() as usize];
        entry.epoch.store(epoch.bits(), Relaxed);
        entry.site.store(site.bits(), Relaxed);
    }

    fn into_word(set: Box<ReadSet>) -> u64 {
        Box::into_raw(set) as u64 | Epoch::FLAG
    }

    /// # Safety
    /// `word` came from `into_word` and was not freed.
    unsafe fn from_word<'a>(word: u64) -> &'a ReadSet {
        // SAFETY: per the contract, the address is a live `ReadSet`.
        unsafe { &*((word & !Epoch::FLAG) as *const ReadSet) }
    }

    fn free(word: u64) {
        // SAFETY: only called on a word that was never published.
        drop(unsafe { Box::from_raw((word & !Epoch::FLAG) as *mut ReadSet) });
    }

    /// A set replaced in its cell may still be read for a moment by a thread that loaded the
    /// word before (only in a racy program, which is being reported): it waits in quarantine
    /// before it is freed, as ThreadSanitizer does with freed memory.
    fn retire(word: u64) {
        const QUARANTINE: usize = 1024;
        static RETIRED: Mutex<VecDeque<usize>> = Mutex::new(VecDeque::new());
        let mut retired = lock(&RETIRED);
        retired.push_back(word as usize);
        if retired.len() > QUARANTINE {
            let oldest = retired.pop_front().unwrap_or_default();
            ReadSet::free(oldest as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::clock::VectorClock;
    use super::super::site::Op;
    use super::*;
    use std::panic::Location;
    use std::sync::Arc;

    fn ctx(tid: Tid, clocks: &[(Tid, u64)]) -> Ctx {
        let mut vc = VectorClock::new();
        for &(t, c) in clocks {
            vc.set(t, c);
        }
        Ctx::for_test(tid, vc)
    }

    fn site(op: Op) -> Site {
        Site::new(op, Location::caller())
    }

    #[test]
    fn a_read_dirties_one_cache_line_of_a_u64_map_entry() {
        // The entry of a `HashMap<u64, u64>` in the real table: the key, then what is stored for it.
        type Entry = (u64, super::super::map::Stored<u64>);
        let read_words = std::mem::offset_of!(Entry, 1.cell) + std::mem::offset_of!(Cell, read);
        assert_eq!((size_of::<Entry>() % 16, read_words % 16), (0, 0));
        assert_eq!(std::mem::offset_of!(Cell, read_site), 8);
    }

    #[test]
    fn unordered_write_then_read_conflicts_and_ordered_does_not() {
        let a = ctx(0, &[(0, 1)]);
        let cell = Cell::written(a.epoch(), site(Op::Insert));
        let b = ctx(1, &[(1, 1)]);
        let prev = cell
            .track_read(&b, b.epoch(), site(Op::Get))
            .expect("unordered read");
        assert_eq!(
            (prev.kind, prev.epoch.tid(), prev.site.op()),
            (Kind::Write, 0, Op::Insert)
        );
        let c = ctx(2, &[(0, 1), (2, 1)]);
        assert!(cell.track_read(&c, c.epoch(), site(Op::Get)).is_none());
    }

    #[test]
    fn reads_never_conflict_with_reads_and_share_when_unordered() {
        let cell = Cell::default();
        let a = ctx(0, &[(0, 3)]);
        let b = ctx(1, &[(1, 5)]);
        assert!(cell.track_read(&a, a.epoch(), site(Op::Get)).is_none());
        assert!(cell.track_read(&b, b.epoch(), site(Op::Get)).is_none());
        assert!(
            Epoch::from_bits(cell.read.load(Relaxed)).flagged(),
            "reads are shared"
        );
        // A write ordered after one reader only conflicts with the other reader.
        let w = ctx(2, &[(0, 3), (2, 1)]);
        let prev = cell
            .track_write(&w, w.epoch(), site(Op::Insert), false)
            .expect("b's read is unordered");
        assert_eq!((prev.kind, prev.epoch.tid()), (Kind::Read, 1));
    }

    #[test]
    fn repeated_reads_in_one_epoch_write_nothing() {
        let cell = Cell::default();
        let a = ctx(0, &[(0, 1)]);
        cell.track_read(&a, a.epoch(), site(Op::Get));
        let before = (cell.read.load(Relaxed), cell.read_site.load(Relaxed));
        cell.track_read(&a, a.epoch(), site(Op::ContainsKey));
        assert_eq!(
            before,
            (cell.read.load(Relaxed), cell.read_site.load(Relaxed))
        );
    }

    #[test]
    fn a_write_in_progress_makes_any_other_access_an_overlap() {
        let a = ctx(0, &[(0, 1)]);
        let cell = Cell::default();
        assert!(
            cell.track_write(&a, a.epoch(), site(Op::Insert), true)
                .is_none()
        );
        // Even a thread whose clock covers the write (or that assumes sync) overlaps with it.
        let mut b = ctx(1, &[(0, 1), (1, 1)]);
        b.sync_assume = true;
        let prev = cell
            .track_read(&b, b.epoch(), site(Op::Get))
            .expect("overlap");
        assert!(prev.in_progress);
        cell.end_write(a.epoch());
        assert!(cell.track_read(&b, b.epoch(), site(Op::Get)).is_none());
    }

    #[test]
    fn reset_forgets_history() {
        let a = ctx(0, &[(0, 1)]);
        let cell = Cell::written(a.epoch(), site(Op::Insert));
        cell.reset();
        let b = ctx(1, &[(1, 1)]);
        assert!(
            cell.track_write(&b, b.epoch(), site(Op::Insert), false)
                .is_none()
        );
    }

    #[test]
    fn ordered_reads_from_two_threads_stay_one_epoch() {
        let cell = Cell::default();
        let a = ctx(1, &[(1, 1)]);
        let b = ctx(2, &[(1, 1), (2, 1)]); // ordered after a's read
        assert!(cell.track_read(&a, a.epoch(), site(Op::Get)).is_none());
        assert!(cell.track_read(&b, b.epoch(), site(Op::Get)).is_none());
        assert_eq!(cell.read.load(Relaxed), Epoch::new(2, 1).bits());
        // A write ordered after b's read (so after a's) is not a race; one that is not, is.
        let w = ctx(3, &[(1, 1), (2, 1), (3, 1)]);
        assert!(
            cell.track_write(&w, w.epoch(), site(Op::Insert), false)
                .is_none()
        );
        let b_again = ctx(2, &[(1, 1), (2, 2), (3, 1)]);
        assert!(
            cell.track_read(&b_again, b_again.epoch(), site(Op::Get))
                .is_none()
        );
        let late = ctx(3, &[(1, 1), (2, 1), (3, 2)]);
        let prev = cell
            .track_write(&late, late.epoch(), site(Op::Remove), false)
            .expect("b's second read is unordered with the write");
        assert_eq!((prev.kind, prev.epoch), (Kind::Read, Epoch::new(2, 2)));
    }

    #[test]
    fn read_sets_grow_for_late_threads() {
        let cell = Arc::new(Cell::default());
        let a = ctx(0, &[(0, 1)]);
        let b = ctx(1, &[(1, 1)]);
        let late = ctx(40, &[(40, 1)]);
        for t in [&a, &b, &late] {
            assert!(cell.track_read(t, t.epoch(), site(Op::Get)).is_none());
        }
        let w = ctx(41, &[(0, 1), (1, 1), (41, 1)]);
        let prev = cell
            .track_write(&w, w.epoch(), site(Op::Remove), false)
            .expect("late read");
        assert_eq!(prev.epoch.tid(), 40);
    }
}
