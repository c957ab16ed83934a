//! Read sets: the reads of one cell since its last write, one entry per thread slot, once reads
//! from different threads are unordered with each other (FastTrack's read vector clock, with
//! each read's site). A flagged read word holds a `SetRef`: the address of the set's memory, in
//! storage that is never returned to the allocator, and the generation the set was handed out
//! with.
//!
//! Why this is sound in a racy program, where a reader may load a cell's read word, be
//! preempted, and write its entry after the set was retired and handed to another cell: the
//! memory is still a read set (type-stable: chunks are leaked, never freed), and every entry
//! word carries the generation it was written under, so a checker of the new owner ignores it.
//! The verdict (generation and clock) is one word, written whole; the entry's site is a second
//! word, evidence only, tagged with the low bits of the generation (a site written under another
//! generation is shown as unknown). Retired sets are recycled at once, so memory is bounded by
//! the read sets alive at one time, not by how many were ever made, but for the sets whose
//! generations are used up (2^17 - 1 of them: one set's memory, `32 * capacity` bytes, per
//! 131,071 reuses of it), which are dropped rather than reused.
//!
//! What the tags alone do not make harmless: such a late write replaces the word of its slot's
//! entry in the new owner's set. So each set has two entries per slot: its *own* entry, which
//! its slot's thread stores its reads in (`record`), and a *carried* one, which holds the reads
//! of other threads that the thread making the set put in it before publishing it (the cell's
//! read at a share, the old set's reads at a grow: `carry`), and that a grower's merge adds
//! (`merge`, by compare-and-swap, never over a later generation). A checker takes the later of
//! the two (a slot's clocks only grow). No late store replaces a read the new owner holds:
//!
//! - a late store lands only in an own entry (the storing thread's own slot);
//! - the thread made it right after loading the old generation's word from a cell, with no
//!   other cell's word loaded in between; every generation handed out later was handed out
//!   after that word left the cell (the retire follows the compare-and-swap that took it out),
//!   so the thread loads a later generation, and stores its own reads there, only after its
//!   late store: the own entry it replaces holds none of the new owner's reads of its own;
//! - what the new owner's maker copied in for that thread is carried, where no thread's read
//!   path stores (the maker stores it in the own entry too, for the thread's repeats to stay
//!   on the fast path: a late store may replace that copy, and the thread's next read then
//!   records it again).
//!
//! The late writer itself records its read again in its own cell (`Cell::record_read`).

use super::clock::{Epoch, Tid};
use super::lock;
use super::site::SiteId;
use std::sync::Mutex;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize};

/// Size classes: class `k` holds `4 << k` entries, up to one per possible thread slot.
const CLASSES: usize = 13;
const _: () = assert!(4 << (CLASSES - 1) > Epoch::MAX_TID as usize);
/// At most `1 << INDEX_BITS` sets per class; chunk `j` of class `k` holds `first_chunk(k) << j`
/// sets.
const INDEX_BITS: u32 = 26;
/// Chunks per class: `INDEX_BITS + 1` needed.
const CHUNKS: usize = 32;
const _: () = assert!((INDEX_BITS as usize) < CHUNKS);
/// Generation bits of a `SetRef`: a set is dropped (not reused) after `2^17` reuses.
const GENERATION_BITS: u32 = 17;
/// A set's memory is aligned to `1 << ALIGN_BITS` bytes (its `2 * capacity` entries of 16
/// bytes take a multiple of that), and lies below `2^48`, where user-space addresses do on
/// x86-64 and on aarch64 with 48-bit virtual addresses (Linux puts an aarch64 program's heap and
/// mappings above `2^47`, so 47 bits would not do): the word keeps its address's `BASE_BITS`
/// bits in between.
const ALIGN_BITS: u32 = 7;
const BASE_BITS: u32 = 41;
const BASE_SHIFT: u32 = GENERATION_BITS;
const SHIFT_SHIFT: u32 = BASE_SHIFT + BASE_BITS;
const _: () = assert!(SHIFT_SHIFT + 4 == 62 && ALIGN_BITS + BASE_BITS == 48);
const _: () = assert!(32 * 4 == 1 << ALIGN_BITS && std::mem::size_of::<ReadEntry>() == 16);

/// The first chunk of a class: 64 KiB of own entries and as many carried ones (a single set
/// from class 10 on), so that the first set of a large class does not make megabytes at once.
#[inline]
const fn first_chunk(class: usize) -> usize {
    let sets = 1024 >> class;
    if sets == 0 { 1 } else { sets }
}

/// `first_chunk(class)` is `1 << first_chunk_shift(class)`.
#[inline]
const fn first_chunk_shift(class: usize) -> u32 {
    10usize.saturating_sub(class) as u32
}

/// The chunk that holds set `index` of `class`, and the set's place in it.
#[inline]
fn chunk_of(class: usize, index: usize) -> (usize, usize) {
    let shift = first_chunk_shift(class);
    // Chunk `j` holds the sets from `first * (2^j - 1)` on.
    let j = (usize::BITS - 1 - ((index >> shift) + 1).leading_zeros()) as usize;
    (j, index - (((1 << j) - 1) << shift))
}

/// A reference to a read set, as a flagged read word holds it:
/// `[FLAG:1][0:1][capacity shift:4][address / 128:41][generation:17]`: the address of the
/// set's memory (its `capacity` own entries, then as many carried ones), so that finding a
/// slot's entry is a shift, a mask and an add, with no table to load (every read a thread
/// repeats in its own entry, the steady state of threads that share keys they only read,
/// finds its entry so).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct SetRef(u64);

// `SetRef::entry_word` moves an epoch's clock to an entry word's high half with one shift.
const _: () = assert!(Epoch::SITE_BITS == 16 && Epoch::MAX_CLOCK == u32::MAX as u64);

/// One thread slot's read: `[clock:32][generation:32]` (the slot is the entry's index), and
/// its site, `[generation's low 16 bits:16][site:16]`. All zeros is an entry with no read.
#[derive(Default)]
pub(crate) struct ReadEntry {
    word: AtomicU64,
    site: AtomicU32,
}

/// A read found in a set: its thread's epoch and its site.
pub(crate) struct SetRead {
    pub(crate) epoch: Epoch,
    pub(crate) site: SiteId,
}

impl SetRef {
    /// The set a flagged read word holds.
    ///
    /// # Safety
    ///
    /// `word` is a word `SetRef::word` returned (a cell's read word with `Epoch::FLAG` is one:
    /// `Cell::record_read` stores the only flagged read words, sets' words from `alloc`).
    #[inline]
    pub(crate) unsafe fn of_word(word: u64) -> SetRef {
        debug_assert!(word & Epoch::FLAG != 0);
        SetRef(word)
    }

    #[inline]
    pub(crate) fn word(self) -> u64 {
        self.0
    }

    /// The set whose memory starts at `base` (a set of `alloc`'s, `1 << shift` entries of
    /// each kind), in `generation`.
    #[inline]
    fn new(shift: u32, base: usize, generation: u32) -> SetRef {
        debug_assert!(
            base.is_multiple_of(1 << ALIGN_BITS) && base >> (ALIGN_BITS + BASE_BITS) == 0
        );
        debug_assert!((2..16).contains(&shift) && generation < 1 << GENERATION_BITS);
        SetRef(
            Epoch::FLAG
                | (u64::from(shift) << SHIFT_SHIFT)
                | ((base as u64 >> ALIGN_BITS) << BASE_SHIFT)
                | u64::from(generation),
        )
    }

    /// The capacity's shift: the set has `1 << shift` entries of each kind.
    #[inline(always)]
    fn shift(self) -> u32 {
        ((self.0 >> SHIFT_SHIFT) & 0xf) as u32
    }

    #[inline(always)]
    fn class(self) -> usize {
        self.shift() as usize - 2
    }

    /// The address of the set's memory.
    #[inline(always)]
    fn base(self) -> usize {
        ((self.0 >> (BASE_SHIFT - ALIGN_BITS)) & (((1 << BASE_BITS) - 1) << ALIGN_BITS)) as usize
    }

    #[inline(always)]
    fn generation(self) -> u32 {
        (self.0 & ((1 << GENERATION_BITS) - 1)) as u32
    }

    /// How many thread slots the set has an entry for.
    #[inline]
    pub(crate) fn capacity(self) -> usize {
        1 << self.shift()
    }

    /// The own entry of slot `tid`, if the set has one.
    ///
    /// Every step a shift, a mask, an add or a load (it is on the path of every read a thread
    /// repeats in its own entry): the bound by a shift of `tid` by the capacity's shift, the
    /// set's address from the word, the entry by `tid`.
    #[inline(always)]
    fn entry(self, tid: usize) -> Option<&'static ReadEntry> {
        self.entry_at(tid, tid)
    }

    /// The carried entry of slot `tid` (see `carry`), if the set has one.
    #[inline]
    fn carried(self, tid: usize) -> Option<&'static ReadEntry> {
        self.entry_at(tid, self.capacity() + tid)
    }

    /// The set's entry `at` (below `2 * capacity`), if `tid` is below the capacity.
    #[inline(always)]
    fn entry_at(self, tid: usize, at: usize) -> Option<&'static ReadEntry> {
        if tid >> self.shift() != 0 {
            return None;
        }
        debug_assert!(at < 2 * self.capacity());
        let base = std::ptr::with_exposed_provenance::<ReadEntry>(self.base());
        // SAFETY: a `SetRef` is made only by `alloc` (`SetRef::new`, or `of_word` of a word it
        // returned: see its contract) and `retire` keeps its address: `base` is a set's
        // memory in a chunk `chunk_for` made, exposed there and never freed, that holds
        // `2 * capacity` entries from `base` on (zeroed memory is an entry with no read), and
        // `at` is below that (`tid` below the capacity, tested above).
        Some(unsafe { &*base.add(at) })
    }

    /// Does the thread whose cached epoch's bits are `stamp` (`Ctx::stamp`) hold its read in
    /// this generation's entry at that epoch? The same as `has(epoch)` when `stamp` is an
    /// epoch's bits; a stamp marked with an owed tick (`Epoch::with_flag`) never is: its slot
    /// with the flag bits above it is past every set's capacity. So the hot path's first test
    /// of a read (`Cell::read_is_repeated`) settles a read repeated in a set, before the
    /// epoch is taken and with the read word loaded once.
    #[inline(always)]
    pub(crate) fn has_stamp(self, stamp: u64) -> bool {
        let epoch = Epoch::from_bits(stamp);
        let Some(entry) = self.entry(epoch.tid_and_flag() as usize) else {
            return false;
        };
        entry.word.load(Relaxed) == self.entry_word(epoch)
    }

    /// The read of slot `tid` in this generation of the set, if any: the later of the one its
    /// thread recorded and the one another thread carried in (see `carry`; a slot's clocks only
    /// grow, so the later one is the one that orders).
    #[inline]
    pub(crate) fn read_of(self, tid: Tid) -> Option<SetRead> {
        let own = self.entry(tid as usize)?;
        let carried = self.carried(tid as usize)?;
        let own = self.read_in(own, tid);
        let carried = self.read_in(carried, tid);
        match (own, carried) {
            (Some(own), Some(carried)) if carried.epoch.clock() > own.epoch.clock() => {
                Some(carried)
            }
            (Some(own), _) => Some(own),
            (None, carried) => carried,
        }
    }

    /// The read `entry` (slot `tid`'s own or carried entry) holds in this generation, if any.
    #[inline]
    fn read_in(self, entry: &ReadEntry, tid: Tid) -> Option<SetRead> {
        let word = entry.word.load(Acquire);
        if word as u32 != self.generation() || word >> 32 == 0 {
            return None;
        }
        let site = entry.site.load(Relaxed);
        let site = if site >> 16 == self.generation() & 0xffff {
            SiteId::of_word(u64::from(site))
        } else {
            SiteId::UNKNOWN
        };
        Some(SetRead {
            epoch: Epoch::new(tid, word >> 32),
            site,
        })
    }

    /// Does slot `tid`'s own entry hold this generation's read at `epoch`?
    #[inline(always)]
    pub(crate) fn has(self, epoch: Epoch) -> bool {
        let Some(entry) = self.entry(epoch.tid() as usize) else {
            return false;
        };
        entry.word.load(Relaxed) == self.entry_word(epoch)
    }

    #[inline(always)]
    fn entry_word(self, epoch: Epoch) -> u64 {
        // An epoch's bits have no site, and the slot and flags above the clock shift out: the
        // clock lands in the high half with one shift (`has_stamp` computes this per read).
        debug_assert_eq!(epoch.bits() & ((1 << Epoch::SITE_BITS) - 1), 0);
        (epoch.bits() << (32 - Epoch::SITE_BITS)) | u64::from(self.generation())
    }

    /// Records the read at `epoch` in its slot's own entry (the set has one: see `capacity`).
    /// Called by the slot's thread, with its own read, or through `carry` (see the module's
    /// docs: what a late store here can and cannot replace).
    #[inline(always)]
    pub(crate) fn record(self, epoch: Epoch, site: SiteId) {
        if let Some(entry) = self.entry(epoch.tid() as usize) {
            entry.site.store(
                ((self.generation() & 0xffff) << 16) | site.bits() as u32,
                Relaxed,
            );
            entry.word.store(self.entry_word(epoch), Release);
        }
    }

    /// Puts another thread's read, `read`, in its slot's carried entry, and in its own entry
    /// too (so that its thread's repeats are settled by `has_stamp`, which looks there only):
    /// called by the thread that made this set, before it publishes it (a read of the cell's
    /// word or of the set this one replaces). No slot's thread stores in its carried entries,
    /// so no late store of a stale reader replaces what is carried (see the module's docs).
    pub(crate) fn carry(self, read: &SetRead) {
        self.record(read.epoch, read.site);
        if let Some(entry) = self.carried(read.epoch.tid() as usize) {
            entry.site.store(
                ((self.generation() & 0xffff) << 16) | read.site.bits() as u32,
                Relaxed,
            );
            entry.word.store(self.entry_word(read.epoch), Release);
        }
    }

    /// Puts `read` (a read of another set, which this one replaces) in its slot's carried entry,
    /// unless that entry holds a read of this generation at the same or a later clock, or of a
    /// later generation: this set left its cell meanwhile and was handed out again, and the
    /// entry is its new owner's (an entry of an earlier generation is none to any owner, and
    /// may be written). By compare-and-swap, since a thread merging into an earlier generation
    /// of this set may still be at it (the grow path's repair, cold: see `Cell::record_read`).
    /// The slot's own entry is left alone: it is its thread's, and a checker takes the later
    /// of the two. The site is stored after the verdict, as evidence: a site written under
    /// another generation is shown as unknown.
    pub(crate) fn merge(self, read: &SetRead) {
        let Some(entry) = self.carried(read.epoch.tid() as usize) else {
            return;
        };
        let new = self.entry_word(read.epoch);
        let mut current = entry.word.load(Acquire);
        loop {
            let generation = current as u32;
            if generation > self.generation()
                || (generation == self.generation() && current >> 32 >= new >> 32)
            {
                return;
            }
            match entry.word.compare_exchange(current, new, Release, Acquire) {
                Ok(_) => break,
                Err(now) => current = now,
            }
        }
        entry.site.store(
            ((self.generation() & 0xffff) << 16) | read.site.bits() as u32,
            Relaxed,
        );
    }

    /// The reads recorded in this generation, in slot order.
    pub(crate) fn reads(self) -> impl Iterator<Item = SetRead> {
        (0..self.capacity() as Tid).filter_map(move |tid| self.read_of(tid))
    }
}

/// The sets of one size class free for reuse.
struct Class {
    pool: Mutex<Pool>,
}

struct Pool {
    /// Retired sets: address, and the generation to hand it out with next.
    free: Vec<(usize, u32)>,
    /// Sets ever made in this class.
    made: usize,
    /// The addresses of the class's chunks (0: not made yet). Never freed.
    chunks: [usize; CHUNKS],
}

static STORAGE: [Class; CLASSES] = [const {
    Class {
        pool: Mutex::new(Pool {
            free: Vec::new(),
            made: 0,
            chunks: [0; CHUNKS],
        }),
    }
}; CLASSES];

/// Read sets handed out and not retired.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Read sets alive now (a test's measure of memory: each holds `32 * capacity` bytes, its own
/// entries and its carried ones).
pub(crate) fn live() -> usize {
    LIVE.load(Relaxed)
}

/// A set with an entry for every slot up to `tid`, in a generation none of its entries has.
pub(crate) fn alloc(tid: Tid) -> SetRef {
    let capacity = (tid as usize + 1).next_power_of_two().max(4);
    let shift = capacity.trailing_zeros();
    let class = shift as usize - 2;
    let mut pool = lock(&STORAGE[class].pool);
    let (base, generation) = match pool.free.pop() {
        Some(reused) => reused,
        None => {
            let index = pool.made;
            if index >= 1 << INDEX_BITS {
                drop(pool);
                super::fatal("more than 67 million read sets alive in one size class");
            }
            pool.made += 1;
            let (j, offset) = chunk_of(class, index);
            let chunk = chunk_for(&mut pool, class, j, capacity);
            (
                chunk + offset * 2 * capacity * std::mem::size_of::<ReadEntry>(),
                1,
            )
        }
    };
    drop(pool);
    LIVE.fetch_add(1, Relaxed);
    SetRef::new(shift, base, generation)
}

/// The set is no longer in any cell: it may be handed out again, in its next generation. A
/// thread that loaded the cell's word before may still write its entry; that entry carries this
/// generation and is ignored from the next one on. The caller is the one thread that took the
/// set out of its cell (by compare-and-swap, or holding the cell exclusively).
pub(crate) fn retire(set: SetRef) {
    LIVE.fetch_sub(1, Relaxed);
    // A set whose generations are used up is not reused (one per 131,071 reuses).
    let next = set.generation() + 1;
    if next < 1 << GENERATION_BITS {
        lock(&STORAGE[set.class()].pool)
            .free
            .push((set.base(), next));
    }
}

/// For the fork handler: no set is handed out or retired until the guards are dropped.
pub(crate) fn hold_for_fork() -> impl Sized {
    STORAGE
        .iter()
        .map(|class| lock(&class.pool))
        .collect::<Vec<_>>()
}

/// The address of chunk `j` of `class` (sets of `capacity` entries of each kind), made (zeroed,
/// aligned to `1 << ALIGN_BITS`, never freed) if it does not exist yet: under the class pool's
/// lock, `pool`.
fn chunk_for(pool: &mut Pool, class: usize, j: usize, capacity: usize) -> usize {
    if pool.chunks[j] == 0 {
        let bytes = (first_chunk(class) << j) * 2 * capacity * std::mem::size_of::<ReadEntry>();
        let Ok(layout) = std::alloc::Layout::from_size_align(bytes, 1 << ALIGN_BITS) else {
            super::fatal("a read-set chunk too large to allocate");
        };
        // SAFETY: `layout` has a non-zero size (at least one set of 4 entries of each kind).
        let chunk = unsafe { std::alloc::alloc_zeroed(layout) };
        if chunk.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        // Never freed: a set's memory must stay a set for any thread that still holds it. Its
        // address goes into words (see `SetRef`), so its provenance is exposed.
        let address = chunk.expose_provenance();
        if (address + bytes) >> (ALIGN_BITS + BASE_BITS) != 0 {
            super::fatal("a read-set chunk above the 48-bit address space");
        }
        pool.chunks[j] = address;
    }
    pool.chunks[j]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Another thread holds a pool's lock when this one forks: the fork waits for it (the fork
    /// handlers hold every pool over it), so the child, which has only the forking thread, can
    /// still take a set of that size. Without that the child hangs in `alloc`.
    #[test]
    fn a_child_forked_while_another_thread_holds_a_pool_can_take_a_set() {
        let (held, holding) = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || {
            let pool = lock(&STORAGE[0].pool);
            held.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(200));
            drop(pool);
        });
        holding.recv().unwrap();
        // SAFETY: the child only takes and retires a set (maprace's code, which this test is
        // about) and ends with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            retire(alloc(0));
            // SAFETY: _exit has no preconditions.
            unsafe { libc::_exit(0) }
        }
        holder.join().unwrap();
        let start = std::time::Instant::now();
        let mut status = 0;
        // SAFETY: `pid` is this process's child; `status` is a valid out-pointer.
        while unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == 0 {
            if start.elapsed() > std::time::Duration::from_secs(30) {
                // SAFETY: as above.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, &mut status, 0);
                }
                panic!("the child hung taking a read set");
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "{status:#x}"
        );
    }

    #[test]
    fn a_set_records_one_read_per_slot_and_a_new_generation_sees_none_of_them() {
        // (A size class no other test uses, so that the retired set is the next one out.)
        let set = alloc(200);
        assert_eq!(set.capacity(), 256);
        let site = SiteId::of_word(7);
        set.record(Epoch::new(1, 10), site);
        set.record(Epoch::new(200, 3), site);
        assert!(set.has(Epoch::new(200, 3)));
        assert!(!set.has(Epoch::new(200, 4)));
        let reads: Vec<(Tid, u64)> = set
            .reads()
            .map(|r| (r.epoch.tid(), r.epoch.clock()))
            .collect();
        assert_eq!(reads, [(1, 10), (200, 3)]);
        assert_eq!(set.read_of(1).map(|r| r.site), Some(site));

        // Retired and handed out again: the same memory, in the next generation.
        retire(set);
        let again = alloc(200);
        assert_eq!(again.base(), set.base(), "recycled at once");
        assert_eq!(again.generation(), set.generation() + 1);
        assert_eq!(
            again.reads().count(),
            0,
            "the old generation's reads are ignored"
        );
        // A late write under the old generation (a thread that loaded the old word) is too.
        set.record(Epoch::new(1, 99), site);
        assert!(again.read_of(1).is_none());
        again.record(Epoch::new(1, 11), site);
        assert_eq!(again.read_of(1).map(|r| r.epoch), Some(Epoch::new(1, 11)));
    }

    /// A merge puts a read in an entry that has none of this generation, keeps a later read
    /// of the entry's own thread, and leaves alone the entries of a later generation (the set
    /// handed out again: its new owner's).
    #[test]
    fn a_merge_fills_missing_entries_and_leaves_later_reads_and_generations_alone() {
        // (A size class no other test uses, so that the retired set is the next one out.)
        let set = alloc(3000);
        let site = SiteId::of_word(7);
        let read = |tid, clock| SetRead {
            epoch: Epoch::new(tid, clock),
            site,
        };
        set.merge(&read(1, 5));
        assert_eq!(set.read_of(1).map(|r| r.epoch), Some(Epoch::new(1, 5)));
        set.record(Epoch::new(2, 9), site);
        set.merge(&read(2, 8));
        assert_eq!(set.read_of(2).map(|r| r.epoch), Some(Epoch::new(2, 9)));
        retire(set);
        let again = alloc(3000);
        assert_eq!(again.base(), set.base(), "recycled at once");
        again.carry(&read(3, 4));
        set.merge(&read(3, 6));
        set.merge(&read(1, 7));
        assert_eq!(again.read_of(3).map(|r| r.epoch), Some(Epoch::new(3, 4)));
        assert!(
            again.read_of(1).is_none(),
            "an old generation's write is ignored"
        );
        retire(again);
    }

    /// A thread that loaded a set's word before the set was retired and handed out again
    /// stores its read late, under the old generation, in its own entry: a read of the same
    /// thread that the new owner's maker carried into the set is still there (before, the late
    /// store replaced it, and a write unordered with that read found none).
    #[test]
    fn a_late_store_under_an_old_generation_loses_no_carried_read() {
        // (A size class no other test uses, so that the retired set is the next one out.)
        let set = alloc(1500);
        let site = SiteId::of_word(7);
        set.record(Epoch::new(5, 1), site);
        retire(set);
        let again = alloc(1500);
        assert_eq!(again.base(), set.base(), "recycled at once");
        again.carry(&SetRead {
            epoch: Epoch::new(5, 3),
            site,
        });
        assert!(
            again.has(Epoch::new(5, 3)),
            "its thread's repeats are settled"
        );
        set.record(Epoch::new(5, 2), site); // the late store
        assert_eq!(again.read_of(5).map(|r| r.epoch), Some(Epoch::new(5, 3)));
        assert!(!again.has(Epoch::new(5, 3)), "(its own entry was replaced)");
        // The thread's next read records it again in its own entry; the later clock counts.
        again.record(Epoch::new(5, 4), site);
        assert_eq!(again.read_of(5).map(|r| r.epoch), Some(Epoch::new(5, 4)));
        retire(again);
    }

    /// `chunk_of` places every set as the division by `first_chunk` did: chunk `j` from
    /// `first * (2^j - 1)` on, each chunk twice the one before.
    #[test]
    fn chunk_of_places_sets_as_the_chunk_sizes_say() {
        for class in 0..CLASSES {
            assert_eq!(first_chunk(class), 1 << first_chunk_shift(class));
            let first = first_chunk(class);
            let (mut j, mut start) = (0, 0);
            for index in 0..(first * 64).min(1 << 16) {
                if index == start + (first << j) {
                    (j, start) = (j + 1, start + (first << j));
                }
                assert_eq!(
                    chunk_of(class, index),
                    (j, index - start),
                    "class {class}, set {index}"
                );
            }
        }
    }

    /// A `SetRef` keeps its capacity, its address and its generation, at every class and at
    /// the limits of its bit fields, and stays a flagged read word (`FLAG`, not `FLAG2`: a
    /// covered read set is not a word a cell holds).
    #[test]
    fn a_set_ref_keeps_its_capacity_address_and_generation_at_the_limits() {
        let top = (1usize << (ALIGN_BITS + BASE_BITS)) - (1 << ALIGN_BITS);
        for class in 0..CLASSES {
            let shift = class as u32 + 2;
            for base in [
                0,
                1 << ALIGN_BITS,
                0x5555_5555_5580,
                0x7fff_f000_0000,
                0xaaaa_aaab_0000,
                top,
            ] {
                for generation in [1, 2, (1 << GENERATION_BITS) - 1] {
                    let set = SetRef::new(shift, base, generation);
                    assert_eq!(
                        (set.capacity(), set.class(), set.base(), set.generation()),
                        (4 << class, class, base, generation),
                        "{set:?}"
                    );
                    assert_eq!(set.word() & (Epoch::FLAG | Epoch::FLAG2), Epoch::FLAG);
                    // SAFETY: `set.word()` is a word `SetRef::word` returned.
                    assert_eq!(unsafe { SetRef::of_word(set.word()) }, set);
                }
            }
        }
    }

    /// Sets of one class lie in their chunks one after the other, `2 * capacity` entries each,
    /// and a set's own and carried entries are its own: no two sets' entries overlap.
    #[test]
    fn sets_of_a_class_do_not_overlap() {
        // (A size class no other test uses.)
        let sets: Vec<SetRef> = (0..3).map(|_| alloc(5000)).collect();
        let bytes = 2 * sets[0].capacity() * std::mem::size_of::<ReadEntry>();
        for (n, a) in sets.iter().enumerate() {
            assert!(a.base().is_multiple_of(1 << ALIGN_BITS));
            for b in &sets[n + 1..] {
                assert!(a.base().abs_diff(b.base()) >= bytes, "{a:?} {b:?}");
            }
            let last = a.capacity() - 1;
            let own = a.entry(last).unwrap() as *const ReadEntry as usize;
            let carried = a.carried(last).unwrap() as *const ReadEntry as usize;
            assert_eq!(own, a.base() + 16 * last);
            assert_eq!(carried, a.base() + bytes - 16);
            assert!(a.entry(last + 1).is_none() && a.carried(last + 1).is_none());
        }
        for set in sets {
            retire(set);
        }
    }

    #[test]
    fn sets_past_the_first_chunk_and_for_high_slots_have_their_own_entries() {
        for tid in [100, Epoch::MAX_TID] {
            let class = (tid as usize + 1).next_power_of_two().trailing_zeros() as usize - 2;
            let count = 3 * first_chunk(class) + 1; // three chunks
            let sets: Vec<SetRef> = (0..count).map(|_| alloc(tid)).collect();
            for (n, set) in sets.iter().enumerate() {
                set.record(Epoch::new(tid, n as u64 + 1), SiteId::UNKNOWN);
                set.record(Epoch::new(0, n as u64 + 7), SiteId::UNKNOWN);
            }
            for (n, set) in sets.iter().enumerate() {
                let read = set.read_of(tid).expect("recorded");
                assert_eq!(read.epoch.clock(), n as u64 + 1);
                assert_eq!(set.read_of(0).map(|r| r.epoch.clock()), Some(n as u64 + 7));
            }
            for set in sets {
                retire(set);
            }
        }
    }

    /// A set handed out in its last generation is not handed out again: its retire drops it,
    /// and the next set of its class is another one, in generation 1 (a generation past the
    /// word's bits would spill into its address bits).
    #[test]
    fn a_set_whose_generations_are_used_up_is_dropped_not_reused() {
        // (A size class no other test uses: tid 40, 64 entries.)
        let mut set = alloc(40);
        let first = set.base();
        while set.generation() < (1 << GENERATION_BITS) - 1 {
            retire(set);
            set = alloc(40);
            assert_eq!(set.base(), first, "reused while generations are left");
        }
        set.record(Epoch::new(3, 9), SiteId::UNKNOWN);
        retire(set);
        let next = alloc(40);
        assert_ne!(next.base(), first, "the used-up set is dropped");
        assert_eq!(next.generation(), 1);
        assert_eq!(next.read_of(3).map(|r| r.epoch), None);
        retire(next);
    }
}
