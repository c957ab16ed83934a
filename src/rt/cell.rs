//! A shadow cell: the access history of one key (or of a map's structure), checked with the
//! FastTrack rules. 16 bytes, two words, kept next to the entry it describes:
//!
//! - the write word, `[in progress:1][spare:1][slot:14][clock:32][site:16]`: the last write
//!   (an epoch, see `clock::Epoch`, and an interned site, see `site::SiteId`), flagged while it
//!   is in progress;
//! - the read word: the last read since that write, `[0][covered:1][slot:14][clock:32][site:16]`
//!   (0: none), or, when reads from several threads are unordered with each other, a
//!   `read_set::SetRef` (`[1][covered:1]...`). A *covered* read is one a later write happens
//!   after: it orders nothing any more, and is kept, marked, for check-then-act. A read that
//!   its own thread's write covers (or follows in the same epoch) is *spent*: its site becomes
//!   `SiteId::SPENT`, since the thread's last look at the key is then its own write.
//!
//! A repeated access in the same epoch loads the words and stores nothing, or (a write) stores
//! its marks: no fence, no read-modify-write. An access that stores a *new* epoch must see any
//! other thread's access made at the same instant, even one that neither thread follows with
//! another (issue 10, point 7): each stores its word, then loads the other's, and without a
//! store-load barrier in between both loads may run before either store is visible (store
//! buffering). So these stores are full barriers, sequentially consistent: a read replaces
//! the read word by compare-and-swap (so that a read stored meanwhile by another thread, which
//! a plain store would overwrite unseen, is kept), a write swaps the write word (and sees a
//! write stored meanwhile), and each then loads the other word. On x86 a locked instruction
//! is the cheapest store-load barrier there is (a `fence(SeqCst)` is an `mfence`, no cheaper),
//! so the read-modify-write costs nothing that certainty does not. A read kept in a read set
//! stores its own entry (no other thread writes it) and then fences.

use super::clock::{Epoch, Tid};
use super::read_set::{self, SetRead, SetRef};
use super::site::{Site, SiteId};
use super::thread::Ctx;
use std::sync::atomic::Ordering::{Acquire, Relaxed, SeqCst};
use std::sync::atomic::{AtomicU64, fence};

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
    /// Not a conflict: the last write of the key an act writes, another thread's, which may have
    /// come after this thread's check (`cta::Local::unseen`).
    pub(crate) unseen: Option<Unseen>,
}

/// The cell's words as an act found them (see `Previous::unseen`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Unseen {
    pub(crate) write: u64,
    pub(crate) read: u64,
    /// The cell's address (what a record of a check of a present key saw: see `cta`).
    pub(crate) cell: usize,
}

/// `repr(C)`, the read word first (a read in a new epoch stores it and only loads the other).
/// In the entry of a `u64 -> u64` map (key, value, cell: 32 bytes) the cell is 16-byte aligned
/// in the table, so a check touches one cache line, the one the lookup touched.
#[derive(Default)]
#[repr(C)]
pub(crate) struct Cell {
    read: AtomicU64,
    write: AtomicU64,
}

/// A word's epoch is `stamp`'s, unflagged, whatever its site: the same thread in the same epoch.
#[inline(always)]
fn same_epoch(word: u64, stamp: u64) -> bool {
    (word ^ stamp) < 1 << Epoch::SITE_BITS
}

/// [WRITE SAME EPOCH]'s test: the last write, `write`, is the thread's in its epoch `stamp`,
/// and the read word `read` holds no read since but the thread's own in that epoch (or none).
/// One compare of both words' differences from the stamp (a read word of none counted as in
/// the epoch, by a select rather than a branch).
#[inline(always)]
fn repeated_write(write: u64, read: u64, stamp: u64) -> bool {
    let read = if read == 0 { stamp } else { read };
    ((write ^ stamp) | (read ^ stamp)) < 1 << Epoch::SITE_BITS
}

/// The read word `read` (one read) once a write by thread `writer` covers it: marked covered,
/// and spent if the read was the writer's own (see the module's docs).
#[inline(always)]
fn covered_by(read: u64, writer: Tid) -> u64 {
    if Epoch::of_word(read).tid() == writer {
        spent(read) | Epoch::FLAG2
    } else {
        read | Epoch::FLAG2
    }
}

/// `read` with its site replaced by `SiteId::SPENT`, unless it is the cell's making
/// (`SiteId::CREATED`), which is spent already and stays the mark of the making.
#[inline(always)]
fn spent(read: u64) -> u64 {
    if SiteId::of_word(read) == SiteId::CREATED {
        read
    } else {
        read & !((1 << Epoch::SITE_BITS) - 1) | SiteId::SPENT.bits()
    }
}

/// A read word with no read that orders anything: none since the write, or a covered one.
#[inline(always)]
fn no_live_read(read: u64) -> bool {
    read == 0 || read & (Epoch::FLAG | Epoch::FLAG2) == Epoch::FLAG2
}

impl Cell {
    /// A cell with no history (`Default`, usable in a `const` map constructor).
    pub(crate) const fn new() -> Cell {
        Cell {
            read: AtomicU64::new(0),
            write: AtomicU64::new(0),
        }
    }

    /// The cell of a key that has just been inserted by the current access (its write word,
    /// `Access::word`: the epoch and the site). Its read word holds a spent read of the
    /// inserting thread's, in the insert's epoch, with the site `SiteId::CREATED`: a lookup
    /// that found the key absent is spent by the insert (check-then-act, see `cta`), the
    /// thread's own accesses in the same epoch keep their fast paths (the read orders nothing
    /// its write does not), and until the next read in another epoch (writes keep it, covered)
    /// it says when the cell was made: check-then-act tells by it that the cell came after a
    /// check (of another key with the same hash, or found absent). (The write word's spare bit
    /// could say so until the next write instead, but then the hot paths' one-compare tests of
    /// a repeated write would need a mask.)
    #[inline]
    pub(crate) fn written(word: u64) -> Cell {
        let made = word & !(Epoch::FLAG | Epoch::FLAG2) & !((1 << Epoch::SITE_BITS) - 1);
        Cell {
            read: AtomicU64::new(made | SiteId::CREATED.bits()),
            write: AtomicU64::new(word),
        }
    }

    /// [READ SAME EPOCH], the first test of a read, made before the thread's epoch is taken:
    /// `stamp` is `Ctx::stamp`, which matches no word while a tick is owed. `true`: the read
    /// is checked and recorded already (nothing to store); else `track_read` checks it.
    ///
    /// Both cases of a read that stores nothing: the read word is the thread's read in this
    /// epoch, or a read set whose entry for the thread holds this epoch (`SetRef::has_stamp`:
    /// threads that share keys they only read, in steady state). `stamp` gives the stamp
    /// (`|| me.stamp()`), and the set's case takes it and the read word again: kept from the
    /// first test, they cost the single-thread path register copies at each cell (callgrind:
    /// 2 instructions per cell; the first compare folds a load into its `xor` this way).
    #[inline(always)]
    pub(crate) fn read_is_repeated(&self, stamp: impl Fn() -> u64) -> bool {
        if same_epoch(self.read.load(Acquire), stamp()) {
            return true;
        }
        let read = self.read.load(Acquire);
        // SAFETY: a flagged read word of a cell is a set's word (`record_read` stores the only
        // ones, from `read_set::alloc`).
        read & Epoch::FLAG != 0 && unsafe { SetRef::of_word(read) }.has_stamp(stamp())
    }

    /// [WRITE SAME EPOCH], the first test of a write, made before the thread's epoch is taken
    /// (`stamp` as in `read_is_repeated`): the last write is this thread's in this epoch and no
    /// read since is another's. Then only the marks change (the site, `site`, and the write in
    /// progress), and the word the write was recorded with is returned; else `track_write`
    /// checks it.
    #[inline(always)]
    pub(crate) fn write_if_repeated(
        &self,
        stamp: u64,
        site: u64,
        in_progress: bool,
    ) -> Option<u64> {
        let write = self.write.load(Relaxed);
        let read = self.read.load(Acquire);
        if !repeated_write(write, read, stamp) {
            return None;
        }
        let word = stamp | site;
        if in_progress {
            // (Stored whatever the word was: the last write, the thread's own, is over.)
            self.write.store(word | Epoch::FLAG, Relaxed);
        } else if write != word {
            self.write.store(word, Relaxed);
        }
        Some(word)
    }

    /// Read rule: a read conflicts with the last write unless that write happens before it.
    ///
    /// Inline, the cases a correctly synchronized program meets on every operation: a repeated
    /// read in the same epoch (one load, nothing stored), the first read of a new epoch after a
    /// read that happens before it (FastTrack's [READ EXCLUSIVE]), and a read kept in the
    /// thread's own entry of a read set ([READ SHARED]). Threads that take turns at a lock are in
    /// a new epoch at every turn, so these are as hot as the first. The rest (a first unordered
    /// reader, a conflict, `sync=assume`) goes out of line.
    ///
    /// `epoch` is `me.epoch()`, which the caller has already taken. A read that stores its
    /// epoch is also recorded as a check of the key for check-then-act (see `cta`), under the
    /// tag `tag` gives (0: not recorded): a read that stores nothing repeats one recorded in the
    /// same epoch, since which no write has come (a write covers the read, and the next read
    /// stores again).
    #[inline(always)]
    pub(crate) fn track_read(
        &self,
        me: &Ctx,
        epoch: Epoch,
        site: Site,
        tag: impl FnOnce() -> u64,
    ) -> Option<Previous> {
        let stamp = epoch.bits();
        let read = self.read.load(Acquire);
        if same_epoch(read, stamp) {
            return None; // [READ SAME EPOCH]
        }
        self.read_new_epoch(me, epoch, read, site, tag)
    }

    #[inline(always)]
    fn read_new_epoch(
        &self,
        me: &Ctx,
        epoch: Epoch,
        read: u64,
        site: Site,
        tag: impl FnOnce() -> u64,
    ) -> Option<Previous> {
        if read & Epoch::FLAG == 0 {
            // (One test for this thread's own reads too, whose epochs its clock covers: on a
            // key read and written at random, a branch on whose read it was mispredicts. The
            // clock's no is decided again in `record_read`, with the floor.)
            if no_live_read(read) || me.clock_orders(Epoch::of_word(read)) {
                // [READ EXCLUSIVE]: the previous read is covered by this one.
                let new = epoch.bits() | site.id().bits();
                if self
                    .read
                    .compare_exchange(read, new, SeqCst, Relaxed)
                    .is_ok()
                {
                    return self.then_check_write(me, epoch, site, tag());
                }
                // Another thread's read came in first: out of line.
                return self.read_slow(me, epoch, site, tag());
            }
        } else {
            // SAFETY: as in `read_is_repeated`.
            let set = unsafe { SetRef::of_word(read) };
            if set.has(epoch) {
                return None; // [READ SAME EPOCH], in the thread's entry of the set
            }
            if (epoch.tid() as usize) < set.capacity() {
                // [READ SHARED]: each thread writes only its own entry.
                set.record(epoch, site.id());
                fence(SeqCst);
                if self.read.load(Relaxed) != read {
                    // The set left the cell meanwhile (see `record_read`): recorded again.
                    return self.read_again(me, epoch, site, tag());
                }
                return self.then_check_write(me, epoch, site, tag());
            }
        }
        self.read_slow(me, epoch, site, tag())
    }

    /// After a read stored a new epoch with a full barrier: the last write's check (and the
    /// record of the check, with the write it saw).
    #[inline(always)]
    fn then_check_write(&self, me: &Ctx, epoch: Epoch, site: Site, tag: u64) -> Option<Previous> {
        let write = self.write.load(SeqCst);
        if tag != 0 {
            me.cta.record(tag, self, write, site.id());
        }
        if write_is_ordered(write, epoch, me) {
            return None;
        }
        self.check_write(write, me, epoch)
    }

    /// A read stored in a set's entry after the set left the cell: recorded again, in what the
    /// cell holds now (see `record_read`). Cold, so that the inline path keeps its layout.
    #[cold]
    #[inline(never)]
    fn read_again(&self, me: &Ctx, epoch: Epoch, site: Site, tag: u64) -> Option<Previous> {
        self.read_slow(me, epoch, site, tag)
    }

    #[inline(never)]
    fn read_slow(&self, me: &Ctx, epoch: Epoch, site: Site, tag: u64) -> Option<Previous> {
        loop {
            let in_set = if epoch.tid() != Epoch::UNRECORDED {
                self.record_read(me, epoch, site.id())
            } else {
                None
            };
            fence(SeqCst);
            // A read stored in a set's entry that then left the cell: recorded again (see
            // `record_read`).
            match in_set {
                Some(word) if self.read.load(Relaxed) != word => {}
                _ => break,
            }
        }
        let write = self.write.load(SeqCst);
        if tag != 0 {
            me.cta.record(tag, self, write, site.id());
        }
        self.check_write(write, me, epoch)
    }

    /// Write rule: a write conflicts with the last write and with every read since, unless they
    /// happen before it. With `in_progress`, the cell says so until `end_write`, and any access
    /// another thread starts meanwhile is an overlap.
    ///
    /// Inline, as for reads: a repeated write in the same epoch (the marks stored, no fence),
    /// and a write in a new epoch after a write and at most one read that happen before it
    /// ([WRITE EXCLUSIVE]). `word` is the access's `Access::word` (epoch and site).
    ///
    /// With `act` (the write is a check-then-act's act: see `cta`), a last write that another
    /// thread made unseen by this one before its lock is returned as `Previous::unseen` when
    /// nothing conflicts.
    #[inline(always)]
    pub(crate) fn track_write(
        &self,
        me: &Ctx,
        epoch: Epoch,
        word: u64,
        in_progress: bool,
        act: bool,
    ) -> Option<Previous> {
        let mark = if in_progress {
            word | Epoch::FLAG
        } else {
            word
        };
        let stamp = epoch.bits();
        let write = self.write.load(Relaxed);
        let read = self.read.load(Acquire);
        // [WRITE SAME EPOCH] with no read since but this thread's: only the marks change (and
        // this thread's read, if any, is spent).
        if repeated_write(write, read, stamp) {
            if write != mark {
                self.write.store(mark, Relaxed);
            }
            if read != 0 && !SiteId::of_word(read).is_spent() {
                self.read.store(spent(read), Relaxed);
            }
            return None;
        }
        // (The clock's no is decided again out of line, in `check_write` and
        // `check_reads_since`, with the floor.)
        if act && me.cta.unseen(write, epoch.tid()) {
            return self.write_unseen(me, epoch, mark, read);
        }
        if write_is_ordered(write, epoch, me)
            && read & Epoch::FLAG == 0
            && (no_live_read(read) || me.clock_orders(Epoch::of_word(read)))
        {
            // [WRITE EXCLUSIVE]
            let replaced = self.write.swap(mark, SeqCst);
            if replaced == write && self.read.load(SeqCst) == read {
                if !no_live_read(read) {
                    // The read is covered by this write from now on (kept, marked). A read
                    // stored meanwhile and overwritten here was made after the swap above, in
                    // the barriers' order, so its own load of the write word sees this write.
                    self.read.store(covered_by(read, epoch.tid()), Relaxed);
                }
                return None;
            }
            // Another write, or a read, came in since the loads: check them out of line.
            return self.write_checked(me, epoch, self.check_write(replaced, me, epoch));
        }
        self.write_slow(me, epoch, mark)
    }

    #[inline(never)]
    fn write_slow(&self, me: &Ctx, epoch: Epoch, mark: u64) -> Option<Previous> {
        let replaced = self.write.swap(mark, SeqCst);
        self.write_checked(me, epoch, self.check_write(replaced, me, epoch))
    }

    /// An act's write over another thread's write that this thread had not seen before its
    /// lock (`read`: the read word before it): the write as `write_slow` makes it, then, when
    /// nothing conflicts, the replaced write as `Previous::unseen`.
    #[cold]
    #[inline(never)]
    fn write_unseen(&self, me: &Ctx, epoch: Epoch, mark: u64, read: u64) -> Option<Previous> {
        let replaced = self.write.swap(mark, SeqCst);
        let conflict = self.write_checked(me, epoch, self.check_write(replaced, me, epoch));
        if conflict.is_some() {
            return conflict;
        }
        me.cta
            .unseen(replaced, epoch.tid())
            .then(|| Previous::unseen(replaced, read, self))
    }

    /// An act that does not write the key's cell (a `remove`, which writes the map's structure):
    /// its last write as `Previous::unseen`, if another thread made it unseen by this one before
    /// its lock (see `cta`).
    #[inline(always)]
    pub(crate) fn act_unseen(&self, me: &Ctx, epoch: Epoch) -> Option<Previous> {
        let write = self.write.load(Relaxed);
        if me.cta.unseen(write, epoch.tid()) {
            return Some(Previous::unseen(write, self.read.load(Acquire), self));
        }
        None
    }

    /// A write stored (by a swap): `conflict` is the last write's verdict; now the reads since.
    #[inline(never)]
    fn write_checked(
        &self,
        me: &Ctx,
        epoch: Epoch,
        conflict: Option<Previous>,
    ) -> Option<Previous> {
        loop {
            let read = self.read.load(Acquire);
            if no_live_read(read) {
                return conflict;
            }
            if same_epoch(read, epoch.bits()) {
                // This thread's own read, in this epoch: spent (a read stored meanwhile by
                // another thread is kept).
                let _ = self
                    .read
                    .compare_exchange(read, spent(read), Relaxed, Relaxed);
                return conflict;
            }
            let read_conflict = self.check_reads_since(read, me, epoch);
            // FastTrack's [WRITE SHARED]: the reads are covered by this write from now on. A
            // set leaves the cell (taken out by this one thread, then recycled); one read is
            // kept, marked.
            let covered = if read & Epoch::FLAG != 0 {
                0
            } else {
                covered_by(read, epoch.tid())
            };
            if self
                .read
                .compare_exchange(read, covered, Acquire, Relaxed)
                .is_ok()
            {
                if read & Epoch::FLAG != 0 {
                    // SAFETY: as in `read_is_repeated`.
                    read_set::retire(unsafe { SetRef::of_word(read) });
                }
                return conflict.or(read_conflict);
            }
        }
    }

    /// The last write is this thread's in its current epoch (`stamp` as in `read_is_repeated`):
    /// an act over it goes over this thread's own write, which no check-then-act can be.
    #[inline(always)]
    pub(crate) fn write_is_repeated(&self, stamp: u64) -> bool {
        same_epoch(self.write.load(Relaxed), stamp)
    }

    /// The last write (a check-then-act's check records it, see `cta`).
    #[inline(always)]
    pub(crate) fn write_word(&self) -> u64 {
        self.write.load(Relaxed)
    }

    /// Marks a write already checked by `track_write` in progress, until `end_write`.
    #[inline]
    pub(crate) fn begin_write(&self, word: u64) {
        self.write.store(word | Epoch::FLAG, Relaxed);
    }

    /// The write begun by `track_write(.., in_progress = true)` or `begin_write` is over.
    #[inline(always)]
    pub(crate) fn end_write(&self, word: u64) {
        self.write.store(word & !Epoch::FLAG, Relaxed);
    }

    /// Forgets all history (the map moved: everything before happens before what comes next).
    pub(crate) fn reset(&self) {
        self.write.store(0, Relaxed);
        let read = self.read.swap(0, Relaxed);
        if read & Epoch::FLAG != 0 {
            // SAFETY: as in `read_is_repeated`.
            read_set::retire(unsafe { SetRef::of_word(read) });
        }
    }

    /// The last write, `write`, if it conflicts with this access (one in progress always does).
    #[inline]
    fn check_write(&self, write: u64, me: &Ctx, epoch: Epoch) -> Option<Previous> {
        let last = Epoch::of_word(write);
        if last.tid() == epoch.tid() {
            return None; // program order
        }
        let in_progress = write & Epoch::FLAG != 0;
        if in_progress || (!me.sync_assume && !me.clock_orders(last)) {
            return write_conflict(write, me, in_progress);
        }
        None
    }

    #[cold]
    fn check_reads_since(&self, read: u64, me: &Ctx, epoch: Epoch) -> Option<Previous> {
        if me.sync_assume {
            return None;
        }
        let unordered = |other: Epoch, site: SiteId| {
            (other.tid() != epoch.tid() && !me.happens_before(other)).then(|| Previous {
                kind: Kind::Read,
                epoch: other,
                site: site.site(),
                in_progress: false,
                unseen: None,
            })
        };
        if read & Epoch::FLAG == 0 {
            return unordered(Epoch::of_word(read), SiteId::of_word(read));
        }
        // SAFETY: as in `read_is_repeated` (`read` has the flag: tested above).
        unsafe { SetRef::of_word(read) }
            .reads()
            .find_map(|r| unordered(r.epoch, r.site))
    }

    /// Records a read that the inline rules did not: the read word is another thread's
    /// unordered read (the two share a set from now on), a set without an entry for this
    /// thread's slot (a grown copy replaces it), or the inline case that a race left to here.
    /// Returns the read word when the read was stored in an entry of the set it holds: the
    /// caller fences, loads the word again and, if it changed, records the read again.
    ///
    /// Why both sides of a grow take a step after it. A reader that stores its entry in set
    /// `S` while another thread copies `S` into a larger set and swaps that in may land between
    /// the copy and the swap, in neither set, and a write unordered with it would miss it. So
    /// the grower fences after its swap and merges `S`'s reads into its copy again, and the
    /// reader fences after its store and loads the read word again: in the order of the two
    /// fences, the later one's side sees the earlier one's store (the reader's entry, or the
    /// swap), and the read is in the grown set either way. A reader that finds the word changed
    /// records again in whatever the cell holds now (a grown set, or none after a write: the
    /// read is then recorded after that write, and its check of the write word sees it).
    fn record_read(&self, me: &Ctx, epoch: Epoch, site: SiteId) -> Option<u64> {
        let stamp = epoch.bits();
        loop {
            let read = self.read.load(Acquire);
            let (set, replaced) = if read & Epoch::FLAG != 0 {
                // SAFETY: as in `read_is_repeated`.
                let set = unsafe { SetRef::of_word(read) };
                if set.has(epoch) {
                    return None;
                }
                if (epoch.tid() as usize) < set.capacity() {
                    crate::__private::read_set_entry_next();
                    set.record(epoch, site);
                    return Some(read);
                }
                // A reader in a higher slot than the set has: a grown copy replaces it.
                let grown = read_set::alloc(epoch.tid());
                for r in set.reads() {
                    grown.carry(&r);
                }
                crate::__private::read_set_copied();
                (grown, Some(set))
            } else if same_epoch(read, stamp) {
                return None;
            } else if no_live_read(read)
                || me.sync_assume
                || me.happens_before(Epoch::of_word(read))
            {
                // FastTrack's [READ EXCLUSIVE]: the previous read is covered by this one (unless
                // another thread's read came in meanwhile: then again, with it).
                let new = stamp | site.bits();
                if self
                    .read
                    .compare_exchange(read, new, SeqCst, Relaxed)
                    .is_ok()
                {
                    return None;
                }
                continue;
            } else {
                // [READ SHARE]: two unordered readers; remember both.
                let other = Epoch::of_word(read);
                let set = read_set::alloc(other.tid().max(epoch.tid()));
                set.carry(&SetRead {
                    epoch: other,
                    site: SiteId::of_word(read),
                });
                (set, None)
            };
            set.record(epoch, site);
            // The one compare-and-swap of a read: the set is published once (it was written
            // before, and readers load the word with `Acquire`).
            match self
                .read
                .compare_exchange(read, set.word(), SeqCst, Relaxed)
            {
                Ok(_) => {
                    if let Some(replaced) = replaced {
                        // A read stored in the old set after the copy: merged now (see the
                        // function's docs), before the old set may be handed out again.
                        fence(SeqCst);
                        for r in replaced.reads() {
                            set.merge(&r);
                        }
                        read_set::retire(replaced);
                    }
                    return None;
                }
                // Another thread changed the word first: the new set was never seen by anyone.
                Err(_) => read_set::retire(set),
            }
        }
    }
}

impl Previous {
    /// The write word `write`, unseen by an act that found the read word `read` in `cell`.
    fn unseen(write: u64, read: u64, cell: &Cell) -> Previous {
        Previous {
            kind: Kind::Write,
            epoch: Epoch::of_word(write),
            site: SiteId::of_word(write).site(),
            in_progress: false,
            unseen: Some(Unseen {
                write,
                read,
                cell: cell as *const Cell as usize,
            }),
        }
    }
}

/// The last write is this thread's, or happens before what it does now by the vector clock
/// (or, with `sync=assume`, is presumed to); and no write is in progress in another thread. (A
/// no is decided again in `check_write`, with the floor.)
#[inline(always)]
fn write_is_ordered(write: u64, epoch: Epoch, me: &Ctx) -> bool {
    if Epoch::from_bits(write).tid_and_flag() == u64::from(epoch.tid()) {
        return true; // program order
    }
    write & Epoch::FLAG == 0 && (me.sync_assume || me.clock_orders(Epoch::of_word(write)))
}

/// The last write, `write`, is in progress, or the vector clock does not order it before this
/// access: a conflict, unless it is done and its epoch is below its slot's floor (see
/// `Ctx::happens_before`). Out of line, so that the call to the floor is too.
#[cold]
#[inline(never)]
fn write_conflict(write: u64, me: &Ctx, in_progress: bool) -> Option<Previous> {
    let last = Epoch::of_word(write);
    if !in_progress && me.happens_before(last) {
        return None;
    }
    Some(Previous {
        kind: Kind::Write,
        epoch: last,
        site: SiteId::of_word(write).site(),
        in_progress,
        unseen: None,
    })
}

impl Drop for Cell {
    fn drop(&mut self) {
        let read = *self.read.get_mut();
        if read & Epoch::FLAG != 0 {
            // SAFETY: as in `read_is_repeated`.
            read_set::retire(unsafe { SetRef::of_word(read) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::clock::{Tid, VectorClock};
    use super::super::site::Op;
    use super::*;
    use std::panic::Location;

    fn ctx(tid: Tid, clocks: &[(Tid, u64)]) -> Ctx {
        let mut vc = VectorClock::new();
        for &(t, c) in clocks {
            vc.set(t, c);
        }
        Ctx::for_test(tid, vc)
    }

    #[track_caller]
    fn site(op: Op) -> Site {
        Site::new(op, Location::caller())
    }

    fn read(cell: &Cell, me: &Ctx, op: Op) -> Option<Previous> {
        cell.track_read(me, me.epoch(), site(op), || 0)
    }

    fn write(cell: &Cell, me: &Ctx, op: Op, in_progress: bool) -> Option<Previous> {
        let word = me.epoch().bits() | site(op).id().bits();
        cell.track_write(me, me.epoch(), word, in_progress, false)
    }

    fn written(me: &Ctx, op: Op) -> Cell {
        Cell::written(me.epoch().bits() | site(op).id().bits())
    }

    #[test]
    fn a_cell_is_16_bytes_and_a_u64_map_entry_32_with_the_cell_16_byte_aligned() {
        // The entry of a `HashMap<u64, u64>` in the real table: the key, then what is stored for it.
        type Entry = (u64, super::super::map::Stored<u64>);
        assert_eq!(size_of::<Cell>(), 16);
        assert_eq!(size_of::<Entry>(), 32);
        let cell = std::mem::offset_of!(Entry, 1.cell);
        assert_eq!((cell % 16, std::mem::offset_of!(Cell, read)), (0, 0));
    }

    #[test]
    fn unordered_write_then_read_conflicts_and_ordered_does_not() {
        let a = ctx(0, &[(0, 1)]);
        let cell = written(&a, Op::Insert);
        let b = ctx(1, &[(1, 1)]);
        let prev = read(&cell, &b, Op::Get).expect("unordered read");
        assert_eq!(
            (prev.kind, prev.epoch.tid(), prev.site.op()),
            (Kind::Write, 0, Op::Insert)
        );
        let c = ctx(2, &[(0, 1), (2, 1)]);
        assert!(read(&cell, &c, Op::Get).is_none());
    }

    #[test]
    fn reads_never_conflict_with_reads_and_share_when_unordered() {
        let cell = Cell::default();
        let a = ctx(0, &[(0, 3)]);
        let b = ctx(1, &[(1, 5)]);
        assert!(read(&cell, &a, Op::Get).is_none());
        assert!(read(&cell, &b, Op::Get).is_none());
        assert!(
            cell.read.load(Relaxed) & Epoch::FLAG != 0,
            "reads are shared"
        );
        // A write ordered after one reader only conflicts with the other reader.
        let w = ctx(2, &[(0, 3), (2, 1)]);
        let prev = write(&cell, &w, Op::Insert, false).expect("b's read is unordered");
        assert_eq!(
            (prev.kind, prev.epoch.tid(), prev.site.op()),
            (Kind::Read, 1, Op::Get)
        );
        assert_eq!(cell.read.load(Relaxed), 0, "the set left the cell");
    }

    #[test]
    fn repeated_reads_in_one_epoch_write_nothing() {
        let cell = Cell::default();
        let a = ctx(0, &[(0, 1)]);
        read(&cell, &a, Op::Get);
        let before = cell.read.load(Relaxed);
        read(&cell, &a, Op::ContainsKey);
        assert_eq!(before, cell.read.load(Relaxed));
    }

    /// Two threads share a key they only read (the two-thread reads row's steady state): once
    /// the read set holds both threads' reads, each repeated read is settled by the hot path's
    /// first test (`read_is_repeated`) and stores nothing, neither the read word nor an entry.
    /// Not for a thread with no entry in the set, one in a slot past the set's capacity, or
    /// one whose tick is owed after a release (its read is recorded again, in the new epoch).
    #[test]
    fn reads_repeated_in_their_own_entries_of_a_read_set_store_nothing() {
        use super::super::thread::LockedClock;
        let cell = Cell::default();
        let a = ctx(0, &[(0, 3)]);
        let b = ctx(1, &[(1, 5)]);
        assert!(read(&cell, &a, Op::Get).is_none());
        assert!(read(&cell, &b, Op::Get).is_none());
        let word = cell.read.load(Relaxed);
        assert!(word & Epoch::FLAG != 0, "reads are shared");
        // SAFETY: the cell's flagged read word, stored by `record_read`.
        let set = unsafe { SetRef::of_word(word) };
        let entries = || {
            set.reads()
                .map(|r| (r.epoch, r.site.bits()))
                .collect::<Vec<_>>()
        };
        let before = entries();
        assert_eq!(before.len(), 2);
        for _ in 0..3 {
            assert!(cell.read_is_repeated(|| a.stamp()), "a's own entry");
            assert!(cell.read_is_repeated(|| b.stamp()), "b's own entry");
        }
        assert_eq!(cell.read.load(Relaxed), word, "the read word is unchanged");
        assert_eq!(entries(), before, "no entry is stored again");
        assert_eq!(cell.write.load(Relaxed), 0);

        // No entry in the set, or a slot past its capacity: not repeated.
        let c = ctx(2, &[(2, 1)]);
        assert!(!cell.read_is_repeated(|| c.stamp()));
        let far = ctx(set.capacity() as Tid, &[(set.capacity() as Tid, 1)]);
        assert!(!cell.read_is_repeated(|| far.stamp()));

        // After a release, a's epoch moves: its entry is not this epoch's.
        let lock = LockedClock::new();
        // SAFETY: one test thread, so the lock's clock is never touched by two at once.
        unsafe { lock.release_for_test(&a) };
        assert!(!cell.read_is_repeated(|| a.stamp()), "the tick is owed");
        assert!(read(&cell, &a, Op::Get).is_none());
        assert_eq!(set.read_of(0).map(|r| r.epoch), Some(Epoch::new(0, 4)));
        assert!(
            cell.read_is_repeated(|| a.stamp()),
            "recorded in the new epoch"
        );
        assert!(cell.read_is_repeated(|| b.stamp()));
    }

    /// The same-epoch tests of the hot path take the thread's cached epoch as it is, owed tick
    /// and all (`Ctx::stamp`): after a release, nothing recorded before it may count as this
    /// epoch's, whatever bits the cell holds, or a read after the release would store nothing
    /// and look ordered before it.
    #[test]
    fn after_a_release_no_cell_word_is_the_same_epoch_as_the_owed_stamp() {
        use super::super::thread::LockedClock;
        let a = ctx(3, &[(3, 5)]);
        let cell = Cell::default();
        assert!(read(&cell, &a, Op::Get).is_none());
        assert!(cell.read_is_repeated(|| a.stamp()), "read in this epoch");
        let lock = LockedClock::new();
        // SAFETY: one test thread, so the lock's clock is never touched by two at once.
        unsafe { lock.release_for_test(&a) };
        let owed = a.stamp();
        let before = Epoch::new(3, 5).bits();
        // Every word an epoch's bits can stand in, with any flag and site: a single read
        // (covered or not), a read set whose bits happen to equal the epoch's, a write (in
        // progress or not).
        for flags in [0, Epoch::FLAG, Epoch::FLAG2] {
            for site in [0, 1, 0xffff] {
                let word = before | flags | site;
                let cell = Cell {
                    read: AtomicU64::new(word),
                    write: AtomicU64::new(word),
                };
                // (A flagged word here is no set's: `has_stamp`'s bound test turns the owed
                // stamp away before any entry is looked at, as for any set.)
                assert!(!cell.read_is_repeated(|| owed), "{word:#x}");
                assert_eq!(cell.write_if_repeated(owed, site, false), None, "{word:#x}");
                // Not a real read set: its drop must not retire it.
                cell.read.store(0, Relaxed);
            }
        }
        // The read after the release is recorded in the epoch the tick opens.
        assert!(!cell.read_is_repeated(|| owed));
        assert!(read(&cell, &a, Op::Get).is_none());
        assert_eq!(
            Epoch::of_word(cell.read.load(Relaxed)),
            Epoch::new(3, 6),
            "stored again, after the release"
        );
        assert!(cell.read_is_repeated(|| a.stamp()));
    }

    /// [WRITE SAME EPOCH]'s one-compare test (`repeated_write`) says what the rule says: the
    /// last write is this epoch's, and the read word holds nothing or a read of this epoch,
    /// whatever the sites and flags; a stamp with an owed tick matches no word. A repeated
    /// write in progress marks the cell busy and its end clears the mark, site and all.
    #[test]
    fn a_repeated_write_is_one_of_this_epoch_with_no_other_read_since() {
        let stamp = Epoch::new(3, 5).bits();
        let other_clock = Epoch::new(3, 4).bits();
        let other_thread = Epoch::new(4, 5).bits();
        let owed = Epoch::new(3, 5).with_flag().bits();
        let mut words = vec![0];
        for epoch in [stamp, other_clock, other_thread] {
            for flags in [0, Epoch::FLAG, Epoch::FLAG2, Epoch::FLAG | Epoch::FLAG2] {
                for site in [0, 1, 0xffff] {
                    words.push(epoch | flags | site);
                }
            }
        }
        let rule = |write: u64, read: u64, stamp: u64| {
            same_epoch(write, stamp) && (read == 0 || same_epoch(read, stamp))
        };
        for &write in &words {
            for &read in &words {
                for stamp in [stamp, owed] {
                    assert_eq!(
                        repeated_write(write, read, stamp),
                        rule(write, read, stamp),
                        "write {write:#x} read {read:#x} stamp {stamp:#x}"
                    );
                }
                // (No cell word carries both flags: see `Ctx::stamp`.)
                let both = Epoch::FLAG | Epoch::FLAG2;
                if write & both != both && read & both != both {
                    assert!(!repeated_write(write, read, owed), "{write:#x} {read:#x}");
                }
            }
        }
        let a = ctx(3, &[(3, 5)]);
        let cell = written(&a, Op::Insert);
        let site = 7;
        let word = cell
            .write_if_repeated(a.stamp(), site, true)
            .expect("the thread's own write in its epoch");
        assert_eq!(word, a.stamp() | site);
        assert_eq!(cell.write.load(Relaxed), word | Epoch::FLAG, "in progress");
        let b = ctx(4, &[(3, 5), (4, 1)]);
        assert!(
            read(&cell, &b, Op::Get).is_some_and(|p| p.in_progress),
            "another thread's access meanwhile overlaps"
        );
        cell.end_write(word);
        assert_eq!(cell.write.load(Relaxed), word, "over");
    }

    #[test]
    fn a_write_in_progress_makes_any_other_access_an_overlap() {
        let a = ctx(0, &[(0, 1)]);
        let cell = Cell::default();
        assert!(write(&cell, &a, Op::Insert, true).is_none());
        // Even a thread whose clock covers the write (or that assumes sync) overlaps with it.
        let mut b = ctx(1, &[(0, 1), (1, 1)]);
        b.sync_assume = true;
        let prev = read(&cell, &b, Op::Get).expect("overlap");
        assert!(prev.in_progress);
        assert_eq!(prev.site.op(), Op::Insert);
        cell.end_write(cell.write.load(Relaxed));
        let c = ctx(2, &[(0, 1), (2, 1)]);
        assert!(read(&cell, &c, Op::Get).is_none());
    }

    #[test]
    fn reset_forgets_history() {
        let a = ctx(0, &[(0, 1)]);
        let cell = written(&a, Op::Insert);
        cell.reset();
        let b = ctx(1, &[(1, 1)]);
        assert!(write(&cell, &b, Op::Insert, false).is_none());
    }

    #[test]
    fn a_read_its_own_threads_write_covers_is_spent_and_another_threads_is_kept() {
        let site_of = |cell: &Cell| SiteId::of_word(cell.read.load(Relaxed));
        // Read, then write in the same epoch ([WRITE SAME EPOCH]): spent, still one epoch.
        let a = ctx(1, &[(1, 1)]);
        let cell = written(&a, Op::Insert);
        assert!(
            site_of(&cell).is_spent(),
            "an insert spends its thread's lookups"
        );
        assert_eq!(site_of(&cell), SiteId::CREATED, "and marks the making");
        // Its own write in the same epoch, then in a later one, keeps the mark (covered).
        assert!(write(&cell, &a, Op::Insert, false).is_none());
        assert_eq!(site_of(&cell), SiteId::CREATED);
        assert!(write(&cell, &ctx(1, &[(1, 2)]), Op::Insert, false).is_none());
        let word = cell.read.load(Relaxed);
        assert_eq!(
            (
                word & Epoch::FLAG2 != 0,
                SiteId::of_word(word),
                Epoch::of_word(word)
            ),
            (true, SiteId::CREATED, Epoch::new(1, 1))
        );
        cell.reset();
        assert!(read(&cell, &a, Op::Get).is_none());
        assert_ne!(site_of(&cell), SiteId::SPENT);
        assert!(write(&cell, &a, Op::Insert, false).is_none());
        assert!(write(&cell, &a, Op::Insert, false).is_none());
        assert_eq!(site_of(&cell), SiteId::SPENT);
        assert_eq!(Epoch::of_word(cell.read.load(Relaxed)), Epoch::new(1, 1));
        // Read, then write in a later epoch ([WRITE EXCLUSIVE]): covered and spent.
        let a2 = ctx(1, &[(1, 2)]);
        assert!(read(&cell, &a2, Op::Get).is_none());
        let a3 = ctx(1, &[(1, 3)]);
        assert!(write(&cell, &a3, Op::Insert, false).is_none());
        let word = cell.read.load(Relaxed);
        assert_eq!(
            (word & Epoch::FLAG2 != 0, SiteId::of_word(word)),
            (true, SiteId::SPENT)
        );
        // Another thread's read, covered by this write: kept with its site.
        let b = ctx(2, &[(1, 3), (2, 1)]);
        assert!(read(&cell, &b, Op::Get).is_none());
        let a4 = ctx(1, &[(1, 4), (2, 1)]);
        assert!(write(&cell, &a4, Op::Insert, false).is_none());
        let word = cell.read.load(Relaxed);
        assert!(word & Epoch::FLAG2 != 0 && SiteId::of_word(word) != SiteId::SPENT);
        assert_eq!(Epoch::of_word(word), Epoch::new(2, 1));
    }

    #[test]
    fn ordered_reads_from_two_threads_stay_one_epoch() {
        let cell = Cell::default();
        let a = ctx(1, &[(1, 1)]);
        let b = ctx(2, &[(1, 1), (2, 1)]); // ordered after a's read
        assert!(read(&cell, &a, Op::Get).is_none());
        assert!(read(&cell, &b, Op::Get).is_none());
        assert_eq!(
            Epoch::of_word(cell.read.load(Relaxed)),
            Epoch::new(2, 1),
            "one read, b's"
        );
        // A write ordered after b's read (so after a's) is not a race; one that is not, is.
        let w = ctx(3, &[(1, 1), (2, 1), (3, 1)]);
        assert!(write(&cell, &w, Op::Insert, false).is_none());
        let covered = cell.read.load(Relaxed);
        assert_eq!(
            (covered & Epoch::FLAG2 != 0, Epoch::of_word(covered)),
            (true, Epoch::new(2, 1)),
            "the read is kept, covered by the write"
        );
        let b_again = ctx(2, &[(1, 1), (2, 2), (3, 1)]);
        assert!(read(&cell, &b_again, Op::Get).is_none());
        let late = ctx(3, &[(1, 1), (2, 1), (3, 2)]);
        let prev = write(&cell, &late, Op::Remove, false)
            .expect("b's second read is unordered with the write");
        assert_eq!((prev.kind, prev.epoch), (Kind::Read, Epoch::new(2, 2)));
    }

    #[test]
    fn read_sets_grow_for_late_threads() {
        let cell = Cell::default();
        let a = ctx(0, &[(0, 1)]);
        let b = ctx(1, &[(1, 1)]);
        let late = ctx(40, &[(40, 1)]);
        for t in [&a, &b, &late] {
            assert!(read(&cell, t, Op::Get).is_none());
        }
        let w = ctx(41, &[(0, 1), (1, 1), (41, 1)]);
        let prev = write(&cell, &w, Op::Remove, false).expect("late read");
        assert_eq!((prev.epoch.tid(), prev.site.op()), (40, Op::Get));
    }

    /// A reader that loaded the read word while it held set `S`, and stores its entry there
    /// only after another thread grew `S` into a larger set (swapped in, merged again, `S`
    /// retired): it loads the word again after its fence, finds it changed, and records its
    /// read in the grown set, so that a write unordered with it reports it. (Before, the read
    /// was only in the retired set and the write found nothing.) The reader's half of the grow's
    /// two-sided step; the grower's half is `tests/read_set_growth.rs`'s.
    #[test]
    fn a_read_stored_in_a_set_after_it_was_grown_is_recorded_again_in_the_grown_set() {
        // (Slots of size classes no other test uses: the retired set is not handed out again
        // while this test runs, so the late entry lands in no other test's set.)
        let (a, b, c, g) = (300, 301, 302, 600);
        let cell = Cell::default();
        assert!(read(&cell, &ctx(a, &[(a, 1)]), Op::Get).is_none());
        assert!(read(&cell, &ctx(b, &[(b, 1)]), Op::Get).is_none());
        let old = cell.read.load(Relaxed);
        assert_eq!(old & Epoch::FLAG, Epoch::FLAG, "a read set");
        // SAFETY: the cell's flagged read word, stored by `record_read`.
        assert_eq!(unsafe { SetRef::of_word(old) }.capacity(), 512);
        assert!(read(&cell, &ctx(g, &[(g, 1)]), Op::Get).is_none());
        assert_ne!(cell.read.load(Relaxed), old, "grown");
        // C loaded the word before the grow; it stores its read now.
        let late = ctx(c, &[(c, 1)]);
        assert!(
            cell.read_new_epoch(&late, late.epoch(), old, site(Op::Get), || 0)
                .is_none()
        );
        let w = ctx(7, &[(a, 1), (b, 1), (g, 1), (7, 1)]);
        let prev = write(&cell, &w, Op::Insert, false).expect("C's read is unordered");
        assert_eq!((prev.kind, prev.epoch), (Kind::Read, Epoch::new(c, 1)));
    }

    /// An access below its slot's floor counts as ordered on every path, though the inline
    /// rules ask only the vector clock: each of their noes is decided again out of line, with
    /// the floor. Just above the floor, each path reports.
    #[test]
    fn an_access_below_its_slots_floor_is_ordered_on_every_path() {
        let slot = 12_000; // a slot the registry has not handed out in this test process
        crate::rt::thread::raise_floor_for_test(slot, 10);
        let other = ctx(5, &[(5, 1)]); // has seen nothing of `slot`
        for (clock, ordered) in [(10, true), (11, false)] {
            let old = ctx(slot, &[(slot, clock)]);
            let verdict = |conflict: Option<Previous>| conflict.is_none() == ordered;
            // The last write: by a read, then by a write.
            assert!(verdict(read(&written(&old, Op::Insert), &other, Op::Get)));
            let cell = written(&old, Op::Insert);
            assert!(verdict(write(&cell, &other, Op::Insert, false)), "{clock}");
            // The last read: by a write (exclusive, then shared reads), and by another read.
            let cell = Cell::default();
            assert!(read(&cell, &old, Op::Get).is_none());
            assert!(verdict(write(&cell, &other, Op::Remove, false)), "{clock}");
            let cell = Cell::default();
            assert!(read(&cell, &old, Op::Get).is_none());
            assert!(read(&cell, &other, Op::Get).is_none());
            assert_eq!(
                cell.read.load(Relaxed) & Epoch::FLAG == 0,
                ordered,
                "a read set only for unordered readers ({clock})"
            );
            let third = ctx(6, &[(5, 1), (6, 1)]);
            assert!(verdict(write(&cell, &third, Op::Remove, false)), "{clock}");
        }
    }

    /// Issue 13: the packing at its limits gives the verdicts an unbounded one would.
    #[test]
    fn verdicts_stay_right_at_the_limits_of_the_epoch_and_site_packing() {
        // A clock at the last value its bits hold: the next release moves the thread to a
        // fresh slot, and its clock keeps the old slot's component.
        let old_slot = 1_000; // a slot the registry has not handed out in this test process
        let t = ctx(old_slot, &[(old_slot, Epoch::MAX_CLOCK)]);
        let before = written(&t, Op::Insert);
        let seen_before = ctx(5, &[(old_slot, Epoch::MAX_CLOCK), (5, 1)]); // acquired t's release
        t.tick_for_test();
        let new_slot = t.epoch().tid();
        assert_ne!(new_slot, old_slot);
        assert_eq!(
            (t.epoch().clock(), t.vc_for_test().get(old_slot)),
            (1, Epoch::MAX_CLOCK)
        );
        assert!(
            read(&before, &t, Op::Get).is_none(),
            "its own earlier write"
        );
        assert!(
            read(&before, &seen_before, Op::Get).is_none(),
            "ordered by the release"
        );
        let after = written(&t, Op::Insert);
        assert!(
            read(&after, &seen_before, Op::Get).is_some(),
            "a write after the release is not ordered before what acquired it"
        );
        let seen_after = ctx(6, &[(old_slot, Epoch::MAX_CLOCK), (new_slot, 1), (6, 1)]);
        assert!(read(&after, &seen_after, Op::Get).is_none());

        // A thread with no slot: checked, and what it stores orders before everything.
        let unrecorded = ctx(Epoch::UNRECORDED, &[]);
        assert_eq!(unrecorded.epoch(), Epoch::unrecorded());
        unrecorded.tick_for_test();
        assert_eq!(unrecorded.epoch(), Epoch::unrecorded(), "nothing to tick");
        let other = ctx(7, &[(7, 4)]);
        let by_other = written(&other, Op::Insert);
        let prev = read(&by_other, &unrecorded, Op::Get).expect("its accesses are checked");
        assert_eq!(prev.epoch, Epoch::new(7, 4));
        let by_unrecorded = Cell::default();
        assert!(write(&by_unrecorded, &unrecorded, Op::Insert, false).is_none());
        assert!(
            read(&by_unrecorded, &other, Op::Get).is_none(),
            "never a false report"
        );
        assert!(write(&by_unrecorded, &other, Op::Insert, false).is_none());
        // An unrecorded reader next to a recorded one makes no read set.
        let shared = Cell::default();
        assert!(read(&shared, &other, Op::Get).is_none());
        assert!(read(&shared, &unrecorded, Op::Get).is_none());
        assert_eq!(shared.read.load(Relaxed) & Epoch::FLAG, 0);

        // Every site id round-trips through a word, the unknown one included, and a site that
        // could not be interned changes no verdict: the report says "an unknown site".
        for id in (0..1u64 << Epoch::SITE_BITS).step_by(7) {
            let word = Epoch::new(Epoch::MAX_TID, Epoch::MAX_CLOCK).bits() | id;
            assert_eq!(SiteId::of_word(word).bits(), id);
            assert_eq!(
                Epoch::of_word(word),
                Epoch::new(Epoch::MAX_TID, Epoch::MAX_CLOCK)
            );
        }
        let unknown = Cell::written(Epoch::new(1, 9).bits() | SiteId::UNKNOWN.bits());
        let reader = ctx(2, &[(2, 1)]);
        let prev = read(&unknown, &reader, Op::Get).expect("the race is still reported");
        assert_eq!((prev.site, prev.site.location()), (Site::UNKNOWN, None));
        let ordered = ctx(4, &[(1, 9), (4, 1)]);
        assert!(read(&unknown, &ordered, Op::Get).is_none());
    }
}
