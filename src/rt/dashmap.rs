//! A DashMap's shadow: happens-before through its shard locks, the hash capture that names an
//! operation's shard without hashing the key twice, the guard deadlock rules (DESIGN §2a), and
//! `Hold`, the runtime side of a guard.
//!
//! **Happens-before follows dashmap's real locks, per shard.** That is what the lock does (keys
//! that share a shard are ordered by it, whatever maprace thinks), it costs a few clocks per map
//! instead of clocks per key, and every edge it adds is one the program really has. A shard has
//! an exclusive clock, touched only under the shard's write lock (the last exclusive releaser's
//! clock), and one reader slot per thread, written only by that thread while it holds the shard
//! shared: shared guards never do an atomic read-modify-write. A shared guard acquires the
//! exclusive clock; an exclusive guard acquires it and every reader slot of the shard (only when
//! a reader took the shard since the last exclusive acquirer joined them: `ShardClock::read_since`).
//! Dropping a guard releases into the clock of its mode. A call that holds the lock with no
//! user code running (`insert`, `contains_key`, `remove`) makes both edges at once
//! (`Call::access_in_place`). An operation that takes the lock without giving a
//! guard back (a lookup of an absent key) takes the lock again for its edge (`Call::edge`).
//!
//! **The shard of an operation, without a second hash.** dashmap hashes the key once per
//! single-key operation, right before it locks the shard. The mirror's hasher (`Hooked`) records
//! that hash for the operation that armed it (`arm`): only the first hasher built after arming
//! records, so dashmap's rehashing (later, unarmed) and a key's `Hash` that itself uses a
//! tracked DashMap (which arms and consumes its own) leave it alone.
//!
//! **Guards and deadlocks.** Each guard records a hold in its thread's `deadlock::Held` list;
//! before a blocking call the thread checks its own holds on the map (`Call::before_key`,
//! `Call::before_all`), then publishes its wait for cycle checks through other threads.

use super::cell::{Cell, Kind, Previous};
use super::clock::{ClockCopy, Epoch};
use super::cta::{self, Family, Track};
use super::deadlock::{self, GuardToken, Held, Mode, Resource, Tag, Verdict};
use super::map::ShowKey;
use super::race::{self, CurrentAccess, MapLabel, RaceReport};
use super::report;
use super::site::{Op, Site};
use super::stack;
use super::stats::FindingKind;
use super::thread::{Ctx, CtxRef, MapRelease, SyncClock};
use std::cell::UnsafeCell;
use std::hash::{BuildHasher, Hasher};
use std::panic::Location;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize};

// ---------------------------------------------------------------------------------------------
// The hash capture.

/// The current thread's armed flag and last captured hash.
struct Capture {
    armed: std::cell::Cell<bool>,
    hash: std::cell::Cell<u64>,
}

thread_local! {
    static CAPTURE: Capture = const {
        Capture { armed: std::cell::Cell::new(false), hash: std::cell::Cell::new(0) }
    };
}

/// The next hasher built on this thread records its hash (see the module docs). Returns the
/// hash recorded before, which the call puts back once it has read its own (`take`).
#[inline(always)]
pub(crate) fn arm() -> u64 {
    CAPTURE.with(|c| {
        c.armed.set(true);
        c.hash.get()
    })
}

/// The hash recorded since the last `arm`, putting back `saved`, the one recorded before it. A
/// call into a DashMap made by the user's `K::eq` (or `K::hash` in a rehash) runs under the
/// outer call's shard lock, after the outer call's hash was recorded and before the outer call
/// reads it: the inner call's record would take its place, and the outer call would name the
/// wrong shard. Each call reads its own record once, and puts back what it found.
#[inline(always)]
fn take(saved: u64) -> u64 {
    CAPTURE.with(|c| c.hash.replace(saved))
}

/// The hash recorded since the last `arm` (for the tests).
#[cfg(test)]
fn captured() -> u64 {
    CAPTURE.with(|c| c.hash.get())
}

/// The mirror's hasher builder: `S`'s, recording the hash of the operation that armed it.
#[derive(Clone, Default, Debug)]
pub(crate) struct Hooked<S>(pub(crate) S);

impl<S: BuildHasher> BuildHasher for Hooked<S> {
    type Hasher = HookedHasher<S::Hasher>;

    #[inline]
    fn build_hasher(&self) -> Self::Hasher {
        let armed = CAPTURE.with(|c| c.armed.get() && c.armed.replace(false));
        HookedHasher {
            inner: self.0.build_hasher(),
            armed,
        }
    }
}

/// `S::Hasher`, the same hash to the bit: every method is forwarded.
pub(crate) struct HookedHasher<H> {
    inner: H,
    armed: bool,
}

macro_rules! forward_writes {
    ($($method:ident($ty:ty)),*) => {$(
        #[inline]
        fn $method(&mut self, i: $ty) {
            self.inner.$method(i)
        }
    )*};
}

impl<H: Hasher> Hasher for HookedHasher<H> {
    #[inline]
    fn finish(&self) -> u64 {
        let hash = self.inner.finish();
        if self.armed {
            CAPTURE.with(|c| c.hash.set(hash));
        }
        hash
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.inner.write(bytes)
    }

    forward_writes!(
        write_u8(u8),
        write_u16(u16),
        write_u32(u32),
        write_u64(u64),
        write_u128(u128),
        write_usize(usize),
        write_i8(i8),
        write_i16(i16),
        write_i32(i32),
        write_i64(i64),
        write_i128(i128),
        write_isize(isize)
    );
}

// ---------------------------------------------------------------------------------------------
// The clocks.

/// A shard's exclusive clock: the clock of its last exclusive releaser, and that release.
/// Written only under the shard's write lock, read under its read or write lock. On a cache
/// line of its own: it moves between cores with the shard's lock.
#[repr(align(64))]
struct ShardClock {
    last: UnsafeCell<MapRelease>,
    clock: UnsafeCell<ClockCopy>,
    /// `iter_mut`'s items share one exclusive lock and may be dropped on several threads at
    /// once, so they release into a clock with a lock of its own (made at the first such
    /// release), whose address is here with `SHARED_RELEASES` set until the next exclusive
    /// acquirer has joined it. Every acquirer joins it while the bit is set. Readers with no
    /// thread slot (no reader row) release into it too.
    shared_releases: AtomicUsize,
    /// A reader took this shard (and so released into its slot before unlocking) since the last
    /// exclusive acquirer joined the slots: only then does an exclusive acquirer look at them.
    /// Set by readers at their acquire (a plain store of `true`, the same by all of them, made
    /// only when it is clear: readers holding the shard together may all store it) while they
    /// hold the shard shared, cleared by an exclusive acquirer under the write lock: the lock
    /// orders the two.
    read_since: AtomicBool,
}

/// `ShardClock::shared_releases`: the clock holds releases not yet joined by an exclusive
/// acquirer.
const SHARED_RELEASES: usize = 1;

/// A thread's reader slot of a shard: its clock when it last released the shard shared.
/// Written only by that thread, while it holds the shard shared; read only under the shard's
/// write lock (the lock orders the two).
///
/// Rows are per thread *slot* (`tid`), and slots are reused (see `thread::registry`): a thread
/// that ended leaves its row to the slot's next holder, and a thread whose clock there is used
/// up moves to another slot and its row. Why every verdict stays sound:
/// - An exclusive acquirer joins what the slot holds: some thread's clock at a shared release
///   of this shard, made before the acquirer's write lock (the lock orders every read unlock
///   before it). Joining it is an edge the program has, whoever made it: a stale clock claims
///   less than its thread's latest, never more, so it cannot order anything falsely. No row
///   is ever joined by a reader (read unlock to read lock is not an edge maprace takes).
/// - Edges are lost only if a row's content is skipped or overwritten while a thread that
///   has not seen it needs it. Skipping: an acquirer skips a row whose release it knows
///   (`Ctx::knows_release`), its own since its time in the slot began, or one its clock
///   covers that is not below the slot's floor. A floor rises when the slot goes to a thread
///   that nothing ordered after the old holder (the quarantine's way), before that thread
///   runs, so a clock that covers the old epoch only through the new holder sees that floor
///   and joins. (`happens_before` also says yes below a floor, for accesses; releases need
///   this stricter test.) Overwriting: a holder whose parent joined the previous holder has
///   seen all it released, so its copy covers the row's content. A holder that has not (the
///   quarantine's, or one whose clock is not known to cover it) finds the row's release
///   unknown and joins its clock into the row instead of copying (`release_joined_to_map`),
///   leaving the old release as the row's `last`: below the floor for good, so every later
///   writer joins too and every exclusive acquirer joins the row. The row's content only grows.
/// - A thread moved to another slot on clock overflow keeps the old slot's component: its old
///   row is never written again (the slot is retired) and stays exact; in the new slot its
///   time begins at that slot's first clock, and the rules above apply to the row it finds.
/// - A thread with no slot (`Epoch::UNRECORDED`) writes no row: its shared releases go to the
///   shard's `shared_releases` clock, which has a lock of its own. Its exclusive releases are
///   recorded as `Epoch::UNRECORDED_RELEASE`, which no acquirer takes as seen, so what it
///   joined from the rows before it cleared `read_since` reaches the next exclusive acquirer.
#[repr(align(64))]
struct ReaderSlot {
    last: UnsafeCell<MapRelease>,
    clock: UnsafeCell<ClockCopy>,
}

impl ReaderSlot {
    fn new() -> ReaderSlot {
        ReaderSlot {
            last: UnsafeCell::new(MapRelease::NONE),
            clock: UnsafeCell::new(ClockCopy::new()),
        }
    }
}

/// Reader slots, a row (one slot per shard) per thread slot that has read the map, made by that
/// thread at its first shared release. The first `INLINE_ROWS` thread slots find their row in
/// place; the others through segments of doubling size (segment `k`, from 1, holds the
/// `INLINE_ROWS * 2^k` slots from `INLINE_ROWS * (2^k - 1)` on), each made once by the first
/// thread that needs it, so no row ever moves.
struct Readers {
    inline: [AtomicPtr<ReaderSlot>; INLINE_ROWS],
    segments: [AtomicPtr<AtomicPtr<ReaderSlot>>; SEGMENTS],
    /// One past the highest thread slot with a row.
    end: AtomicUsize,
}

const INLINE_ROWS: usize = 8;
/// Thread slots are below 2^14 (`Epoch::MAX_TID`).
const SEGMENTS: usize = 12;

/// The segment, its length and the index in it of thread slot `tid` (at least `INLINE_ROWS`).
#[inline]
fn segment_of(tid: usize) -> (usize, usize, usize) {
    let n = tid / INLINE_ROWS + 1;
    let k = (usize::BITS - 1 - n.leading_zeros()) as usize;
    let first = INLINE_ROWS * ((1 << k) - 1);
    (k, INLINE_ROWS << k, tid - first)
}

impl Readers {
    fn new() -> Readers {
        Readers {
            inline: [const { AtomicPtr::new(std::ptr::null_mut()) }; INLINE_ROWS],
            segments: [const { AtomicPtr::new(std::ptr::null_mut()) }; SEGMENTS],
            end: AtomicUsize::new(0),
        }
    }

    /// Where thread slot `tid`'s row pointer is (`None`: in a segment not made yet).
    #[inline(always)]
    fn entry(&self, tid: usize) -> Option<&AtomicPtr<ReaderSlot>> {
        if tid < INLINE_ROWS {
            return Some(&self.inline[tid]);
        }
        self.entry_in_segments(tid)
    }

    #[cold]
    fn entry_in_segments(&self, tid: usize) -> Option<&AtomicPtr<ReaderSlot>> {
        let (k, _, i) = segment_of(tid);
        let segment = self.segments[k].load(Acquire);
        // SAFETY: segment `k` has `INLINE_ROWS << k` entries, `i` is below that, and it lives
        // as long as `self`.
        (!segment.is_null()).then(|| unsafe { &*segment.add(i) })
    }

    /// Thread slot `tid`'s row, if it has one.
    #[inline(always)]
    fn row(&self, tid: usize) -> Option<*const ReaderSlot> {
        let row = self.entry(tid)?.load(Acquire);
        (!row.is_null()).then_some(row as *const ReaderSlot)
    }

    /// Thread slot `tid`'s row, made now if needed (by that thread only).
    #[cold]
    #[inline(never)]
    fn make_row(&self, tid: usize, shards: usize) -> *const ReaderSlot {
        if tid >= INLINE_ROWS {
            self.make_segment(tid);
        }
        let row: Box<[ReaderSlot]> = (0..shards).map(|_| ReaderSlot::new()).collect();
        let row = Box::into_raw(row) as *mut ReaderSlot;
        let entry = self.entry(tid).expect("the segment was made");
        // Only thread slot `tid` writes this entry, and it had no row.
        entry.store(row, Release);
        self.end.fetch_max(tid + 1, Release);
        row
    }

    fn make_segment(&self, tid: usize) {
        let (k, len, _) = segment_of(tid);
        if !self.segments[k].load(Acquire).is_null() {
            return;
        }
        let fresh: Box<[AtomicPtr<ReaderSlot>]> = (0..len)
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect();
        let fresh = Box::into_raw(fresh) as *mut AtomicPtr<ReaderSlot>;
        if self.segments[k]
            .compare_exchange(std::ptr::null_mut(), fresh, Release, Acquire)
            .is_err()
        {
            // SAFETY: `fresh` was made above from a boxed slice of `len`, never shared.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(fresh, len)) });
        }
    }

    /// Frees every row and segment (the map is being dropped).
    fn free(&mut self, shards: usize) {
        let free_row = |row: *mut ReaderSlot| {
            if !row.is_null() {
                // SAFETY: made in `make_row` as a boxed slice of `shards`; no guard is alive.
                drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(row, shards)) });
            }
        };
        for row in &mut self.inline {
            free_row(*row.get_mut());
        }
        for (k, segment) in self.segments.iter_mut().enumerate() {
            let segment = *segment.get_mut();
            if segment.is_null() {
                continue;
            }
            let len = INLINE_ROWS << k;
            // SAFETY: made in `make_segment` as a boxed slice of `len`; nothing else holds it.
            let segment =
                unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(segment, len)) };
            for row in segment.iter() {
                free_row(row.load(Relaxed));
            }
        }
    }
}

/// Per-map shadow state of a DashMap.
pub(crate) struct DashShadow {
    /// `deadlock::MAP_OBJECT | n`, unique in the process: the map in held lists.
    object: u64,
    tag: &'static Tag,
    name: Option<&'static str>,
    created_at: &'static Location<'static>,
    type_name: fn() -> &'static str,
    shards: Box<[ShardClock]>,
    readers: Readers,
}

// SAFETY: the clocks' `UnsafeCell`s are reached only as the lock protocol in the type docs
// says (each under the shard lock that orders it); the rest is immutable or atomic.
unsafe impl Sync for DashShadow {}
// SAFETY: as for `Sync`; the rows and segments are owned by the shadow.
unsafe impl Send for DashShadow {}

impl Drop for DashShadow {
    /// The map is dropped (or consumed) by its one owner: the values it drops next (tracked maps
    /// among them) are ordered after every guard's accesses to them.
    fn drop(&mut self) {
        self.acquire_all();
        let shards = self.shards.len();
        self.readers.free(shards);
        for clock in self.shards.iter_mut() {
            let shared = *clock.shared_releases.get_mut() & !SHARED_RELEASES;
            if shared != 0 {
                // SAFETY: made by `release_shared_lock`; no guard is alive, nothing else holds it.
                drop(unsafe { Box::from_raw(shared as *mut SyncClock) });
            }
        }
    }
}

impl DashShadow {
    #[track_caller]
    pub(crate) fn new(type_name: fn() -> &'static str, shards: usize) -> DashShadow {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let created_at = Location::caller();
        // A guard keeps its shard in 16 bits (see `Hold::token`).
        assert!(
            shards <= MAX_SHARDS,
            "maprace::DashMap takes at most {MAX_SHARDS} shards (a guard keeps its shard in 16 \
             bits), not {shards}"
        );
        DashShadow {
            object: deadlock::MAP_OBJECT | NEXT.fetch_add(1, Relaxed),
            tag: deadlock::map_tag(None, type_name(), created_at),
            name: None,
            created_at,
            type_name,
            shards: (0..shards)
                .map(|_| ShardClock {
                    last: UnsafeCell::new(MapRelease::NONE),
                    clock: UnsafeCell::new(ClockCopy::new()),
                    shared_releases: AtomicUsize::new(0),
                    read_since: AtomicBool::new(false),
                })
                .collect(),
            readers: Readers::new(),
        }
    }

    /// A shadow for a copy of this map (`clone`): same kind, new identity, no history.
    #[track_caller]
    pub(crate) fn fresh_like(&self) -> DashShadow {
        let mut fresh = DashShadow::new(self.type_name, self.shards.len());
        if let Some(name) = self.name {
            fresh.set_name(name);
        }
        fresh
    }

    pub(crate) fn set_name(&mut self, name: &'static str) {
        self.name = Some(name);
        self.tag = deadlock::map_tag(Some(name), (self.type_name)(), self.created_at);
    }

    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    fn label(&self) -> MapLabel {
        MapLabel {
            name: deadlock::display_name(self.object, self.tag),
            type_name: super::key::short_type_name((self.type_name)()),
            created_at: self.created_at,
        }
    }

    /// Starts one operation (the caller's site is the user's line).
    #[inline(always)]
    #[track_caller]
    pub(crate) fn call(&self, op: Op) -> Call<'_> {
        Call {
            map: self,
            site: Site::new(op, Location::caller()),
            mode: super::mode(),
            hash: std::cell::Cell::new(0),
        }
    }

    fn resource(&self, shard: usize) -> Resource {
        Resource {
            object: self.object,
            part: shard as u32,
        }
    }

    /// After the real lock of `shard` in `mode`: acquire its clocks (news in any of them begins
    /// one check-then-act stretch, see `cta`).
    #[inline(always)]
    fn acquire(&self, me: &Ctx, shard: usize, mode: Mode) {
        let clock = &self.shards[shard];
        let mut opened = false;
        // SAFETY: the shard is locked (shared at least): no one writes its exclusive clock.
        unsafe { me.acquire_from_map((*clock.last.get()).epoch, &*clock.clock.get(), &mut opened) };
        let more = match mode {
            // The reader will release into its slot before it unlocks: flagged now, while the
            // line is at hand (an exclusive acquirer, who waits for the unlock, finds both).
            Mode::Shared => {
                if !clock.read_since.load(Relaxed) {
                    clock.read_since.store(true, Relaxed);
                }
                false
            }
            Mode::Exclusive => clock.read_since.load(Relaxed),
        };
        if more || clock.shared_releases.load(Relaxed) & SHARED_RELEASES != 0 {
            self.acquire_more(me, shard, mode, opened);
        }
    }

    /// What an acquirer joins besides the exclusive clock: the releases of `iter_mut`'s items,
    /// and for an exclusive one, every reader's slot released since the last exclusive acquirer
    /// joined them (what that acquirer joined, it released into the exclusive clock).
    #[inline(never)]
    fn acquire_more(&self, me: &Ctx, shard: usize, mode: Mode, mut opened: bool) {
        let clock = &self.shards[shard];
        let shared = clock.shared_releases.load(Acquire);
        if shared & SHARED_RELEASES != 0 {
            // SAFETY: made by `release_shared_lock`, freed only with the shadow.
            unsafe { &*((shared & !SHARED_RELEASES) as *const SyncClock) }
                .acquire_in_lock(me, &mut opened);
            if mode == Mode::Exclusive {
                // No one else holds the shard: the next releaser copies what was joined here.
                clock
                    .shared_releases
                    .store(shared & !SHARED_RELEASES, Relaxed);
            }
        }
        if mode == Mode::Exclusive && clock.read_since.load(Relaxed) {
            clock.read_since.store(false, Relaxed);
            self.acquire_rows(me, shard, &mut opened);
        }
    }

    /// Joins every reader's slot of `shard` (held exclusively, or the map owned).
    fn acquire_rows(&self, me: &Ctx, shard: usize, opened: &mut bool) {
        for tid in 0..self.readers.end.load(Acquire) {
            // (Its own row too: it may hold a previous holder's release, see `ReaderSlot`;
            // its own releases are known, and skipped, in `acquire_from_map`.)
            let Some(row) = self.readers.row(tid) else {
                continue;
            };
            // SAFETY: a row has a slot per shard; the shard is locked exclusively (or the map
            // owned), so no reader writes its slot, and the lock ordered their last writes
            // before this.
            let slot = unsafe { &*row.add(shard) };
            // SAFETY: as just above.
            unsafe { me.acquire_from_map((*slot.last.get()).epoch, &*slot.clock.get(), opened) };
        }
    }

    /// Release of an exclusive lock that several guards hold (see `ShardClock`).
    #[cold]
    #[inline(never)]
    fn release_shared_lock(&self, me: &Ctx, shard: usize) {
        let slot = &self.shards[shard].shared_releases;
        let mut current = slot.load(Acquire);
        if current == 0 {
            let fresh = Box::into_raw(Box::new(SyncClock::new())) as usize;
            match slot.compare_exchange(0, fresh, AcqRel, Acquire) {
                Ok(_) => current = fresh,
                Err(theirs) => {
                    // SAFETY: made just above, never shared.
                    drop(unsafe { Box::from_raw(fresh as *mut SyncClock) });
                    current = theirs;
                }
            }
        }
        // SAFETY: as in `acquire_more`.
        unsafe { &*((current & !SHARED_RELEASES) as *const SyncClock) }.release_by(me);
        slot.fetch_or(SHARED_RELEASES, Release);
    }

    /// Before the real unlock of `shard` held in `mode`: release into the clock of that mode.
    /// `shared_lock`: an exclusive lock held by several guards at once (`iter_mut`'s items),
    /// which release into a clock with a lock of its own (see `ShardClock`).
    ///
    /// Inline, what a guard's drop meets on every operation: an exclusive lock of its own, and
    /// a shared one by a thread whose row is in place and made. The rest is out of line.
    #[inline(always)]
    fn release(&self, me: &Ctx, shard: usize, mode: Mode, shared_lock: bool) {
        match mode {
            Mode::Exclusive if !shared_lock => {
                let clock = &self.shards[shard];
                // SAFETY: the shard is locked exclusively: this is the only access.
                unsafe { me.release_to_map(&mut *clock.clock.get(), &mut *clock.last.get()) };
            }
            Mode::Shared => {
                let tid = me.tid() as usize;
                // (`Epoch::UNRECORDED` is past the rows in place: out of line.)
                let row = match self.readers.inline.get(tid) {
                    Some(entry) => entry.load(Acquire),
                    None => std::ptr::null_mut(),
                };
                if row.is_null() {
                    return self.release_shared_slow(me, shard);
                }
                // SAFETY: as in `release_into_row`.
                unsafe { self.release_into_row(me, row, shard) };
            }
            Mode::Exclusive => self.release_shared_lock(me, shard),
        }
    }

    /// `shard`, held exclusively by a guard that moved to `me` (see `Hold::arrived`): `me`
    /// acquires what the guard's maker acquired when it took the lock. The clocks are still as
    /// the maker found them (they change only at an exclusive guard's end, and this one holds
    /// the shard), except for what the maker's acquire marked as joined: the readers' slots
    /// and `iter_mut`'s items' releases, marked again so that this acquire joins them too.
    /// Rare (a guard sent by a way maprace does not see): out of line.
    #[cold]
    #[inline(never)]
    fn acquire_taken_over(&self, me: &Ctx, shard: usize) {
        let clock = &self.shards[shard];
        clock.read_since.store(true, Relaxed);
        let shared = clock.shared_releases.load(Relaxed);
        if shared != 0 {
            clock
                .shared_releases
                .store(shared | SHARED_RELEASES, Relaxed);
        }
        self.acquire(me, shard, Mode::Exclusive);
    }

    /// `release` of a shared lock by a thread whose row is not in place, or not made yet.
    #[cold]
    #[inline(never)]
    fn release_shared_slow(&self, me: &Ctx, shard: usize) {
        // A thread with no slot has no row. Its own accesses are stored as ordered before
        // everything, but its clock carries what it acquired from others: it releases into the
        // clock that `iter_mut`'s items share, which has a lock of its own (readers may release
        // into it together) and which every acquirer joins until an exclusive one has.
        if me.tid() == Epoch::UNRECORDED {
            return self.release_shared_lock(me, shard);
        }
        let tid = me.tid() as usize;
        let row = match self.readers.row(tid) {
            Some(row) => row,
            None => self.readers.make_row(tid, self.shards.len()),
        };
        // SAFETY: as in `release_into_row`.
        unsafe { self.release_into_row(me, row, shard) };
    }

    /// # Safety
    /// `row` is `me`'s row, and `me` holds `shard` shared.
    #[inline(always)]
    unsafe fn release_into_row(&self, me: &Ctx, row: *const ReaderSlot, shard: usize) {
        debug_assert!(shard < self.shards.len());
        // SAFETY: a row has a slot per shard. This thread's slot of a shard it holds shared:
        // only it writes the slot, and exclusive acquirers, who read it, wait for the lock.
        let slot = unsafe { &*row.add(shard) };
        // SAFETY: as just above.
        let (clock, last) = unsafe { (&mut *slot.clock.get(), &mut *slot.last.get()) };
        if me.released_to_map_already(last) {
            return; // (`release_to_map` would find the same)
        }
        // A release of the slot's previous holder that this thread has not seen is kept (see
        // `ReaderSlot`).
        if last.epoch == Epoch::NONE || me.knows_release(last.epoch) {
            me.release_to_map(clock, last);
        } else {
            me.release_joined_to_map(clock);
        }
    }

    /// Everything released into the map happens before what this thread does next: the map is
    /// owned by this thread now (dropped, consumed, or borrowed mutably), so no guard is alive
    /// and every clock may be read.
    pub(crate) fn acquire_all(&mut self) {
        if !super::enabled() {
            return;
        }
        let Some(me) = CtxRef::get() else { return };
        // It joins every clock and clears no flag: it releases nothing into the exclusive
        // clocks, so the next exclusive acquirer must still find the readers' slots and the
        // `iter_mut` items' releases (a release is forgotten only once it is in the exclusive
        // clock).
        for (shard, clock) in self.shards.iter().enumerate() {
            // (Each shard as one lock's acquire, as `acquire` makes it.)
            let mut opened = false;
            // SAFETY: `&mut self`: no guard is alive, no one writes any clock.
            unsafe {
                me.acquire_from_map((*clock.last.get()).epoch, &*clock.clock.get(), &mut opened)
            };
            let shared = clock.shared_releases.load(Acquire);
            if shared & SHARED_RELEASES != 0 {
                // SAFETY: as in `acquire_more`.
                unsafe { &*((shared & !SHARED_RELEASES) as *const SyncClock) }
                    .acquire_in_lock(&me, &mut opened);
            }
            if clock.read_since.load(Relaxed) {
                self.acquire_rows(&me, shard, &mut opened);
            }
        }
    }

    /// A guard of `shard` becomes shared (`downgrade`) under the exclusive lock: it will release
    /// into its reader's slot, which the next exclusive acquirer must join.
    fn read_from_now(&self, shard: usize) {
        self.shards[shard].read_since.store(true, Relaxed);
    }
}

// ---------------------------------------------------------------------------------------------
// One operation.

/// One operation on one DashMap: the checks before it calls into dashmap, and the holds after.
#[derive(Clone)]
pub(crate) struct Call<'a> {
    map: &'a DashShadow,
    site: Site,
    /// The run-time switches (`rt::MODE`), read once per operation.
    mode: u8,
    /// From `arm` to `captured_shard`, the record the call found at `arm`, which it puts back
    /// when it takes its own (see `take`); after, the hash the armed call recorded.
    hash: std::cell::Cell<u64>,
}

/// A map-wide operation's mode of each shard, for the whole-map rows of the table.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Whole {
    /// `len`, `is_empty`, `capacity`, `Debug`, `Clone`: every shard shared.
    Shared,
    /// `retain`, `clear`, `shrink_to_fit`, `alter_all`, `iter_mut`: every shard exclusively.
    Exclusive,
}

impl<'a> Call<'a> {
    /// The detector is on (`enabled=1`): clocks are kept.
    #[inline(always)]
    pub(crate) fn active(&self) -> bool {
        self.mode & super::ENABLED != 0
    }

    /// Deadlock checks are on too (`deadlock=1`).
    #[inline(always)]
    fn checking(&self) -> bool {
        self.mode & (super::ENABLED | super::DEADLOCK) == super::ENABLED | super::DEADLOCK
    }

    /// The thread's held list, when it holds anything and checks are on: the common path of
    /// every check is this test.
    #[inline(always)]
    fn holding(&self) -> Option<&'static Held> {
        if !self.checking() {
            return None;
        }
        deadlock::holding_when_checking()
    }

    /// Arms the hash capture for the dashmap call that follows (when clocks are kept).
    #[inline(always)]
    pub(crate) fn arm(&self) {
        if self.active() {
            self.hash.set(arm());
        }
    }

    /// The hash the armed call recorded (`captured_shard` took it from the thread's record).
    #[inline(always)]
    fn captured(&self) -> u64 {
        self.hash.get()
    }

    /// Before a single-key call that locks the key's shard (`shard()`, which hashes the key
    /// again: only when the thread holds something) in `mode`. Reports a deadlock with this
    /// thread's own guards (certain on the same shard, latent on another), then publishes the
    /// wait, and looks for a cycle through other threads if `free(shard)` says the shard is
    /// taken. The result is kept until the call returns.
    #[inline(always)]
    pub(crate) fn before_key(
        &self,
        mode: Mode,
        shard: impl FnOnce() -> usize,
        key: impl ShowKey,
        free: impl Fn(usize, Mode) -> bool,
    ) -> Option<deadlock::Waiting> {
        let list = self.holding()?;
        Some(self.before_key_slow(list, mode, shard(), &key, &free))
    }

    #[cold]
    #[inline(never)]
    fn before_key_slow(
        &self,
        list: &'static Held,
        mode: Mode,
        shard: usize,
        key: &dyn ShowKey,
        free: &dyn Fn(usize, Mode) -> bool,
    ) -> deadlock::Waiting {
        let object = self.map.object;
        let conflict = |hold: &deadlock::Hold| {
            if hold.resource.object != object || !hold.mode.conflicts_with(mode) {
                return None;
            }
            Some(if hold.resource.part as usize == shard {
                Verdict::Certain
            } else {
                Verdict::Latent
            })
        };
        let what = || format!(" of key {}", key.show());
        let call = self.deadlock_call(shard, mode, &what);
        if let Some((verdict, holds)) = deadlock::check_own(list, self.site, &conflict) {
            let hint = match verdict {
                Verdict::Certain if mode == Mode::Exclusive => OWN_EXCLUSIVE_HINT,
                Verdict::Certain => OWN_SHARED_HINT,
                Verdict::Latent => LATENT_HINT,
            };
            deadlock::report(&call, verdict, deadlock::Evidence::Own(holds), hint);
        }
        let waiting = deadlock::publish(list, &call);
        if !free(shard, mode) {
            waiting.busy(&what);
        }
        waiting
    }

    fn deadlock_call<'w>(
        &self,
        shard: usize,
        mode: Mode,
        what: &'w dyn Fn() -> String,
    ) -> deadlock::Call<'w> {
        deadlock::Call {
            resource: self.map.resource(shard),
            mode: mode.into(),
            site: self.site,
            tag: self.map.tag,
            what,
        }
    }

    /// Before a call that locks every shard in turn, in `whole` mode (the whole-map rows of the
    /// table): any guard of this thread on the map that the call's mode excludes blocks it.
    #[inline(always)]
    pub(crate) fn before_all(&self, whole: Whole) {
        if let Some(list) = self.holding() {
            self.before_shards_slow(list, whole, 0);
        }
    }

    /// Before an iterator's step: it will lock the shards from `next` on, in `whole` mode; a
    /// guard of this thread on one of them that the mode excludes blocks it.
    #[inline(always)]
    pub(crate) fn before_shards_from(&self, whole: Whole, next: usize) {
        if let Some(list) = self.holding() {
            self.before_shards_slow(list, whole, next);
        }
    }

    #[cold]
    #[inline(never)]
    fn before_shards_slow(&self, list: &'static Held, whole: Whole, from: usize) {
        let object = self.map.object;
        let want = match whole {
            Whole::Shared => Mode::Shared,
            Whole::Exclusive => Mode::Exclusive,
        };
        let conflict = |hold: &deadlock::Hold| {
            (hold.resource.object == object
                && hold.resource.part as usize >= from
                && hold.mode.conflicts_with(want))
            .then_some(Verdict::Certain)
        };
        if let Some((verdict, holds)) = deadlock::check_own(list, self.site, &conflict) {
            let shard = holds.first().map_or(0, |h| h.resource.part as usize);
            let what = || String::from(", every shard in turn,");
            let call = self.deadlock_call(shard, want, &what);
            let hint = match whole {
                Whole::Shared => WHOLE_SHARED_HINT,
                Whole::Exclusive => WHOLE_EXCLUSIVE_HINT,
            };
            deadlock::report(&call, verdict, deadlock::Evidence::Own(holds), hint);
        }
    }

    /// The shard of the key the armed call hashed (`determine` is the map's `determine_shard`).
    /// Called once per armed call, right after dashmap's call returns (or, for a call that
    /// runs a closure under the lock, first thing in it), before anything reads the hash: it
    /// takes the call's hash from the thread's record and puts back what the record held at
    /// `arm` (see `take`).
    #[inline(always)]
    pub(crate) fn captured_shard(&self, determine: impl FnOnce(usize) -> usize) -> usize {
        if self.active() {
            self.take_hash();
            determine(self.hash.get() as usize)
        } else {
            0
        }
    }

    /// The armed call's hash, taken from the thread's record (see `captured_shard`): by
    /// `captured_shard`, or by a call that needs no shard on a path that hashed the key (a
    /// `try_entry` that finds the shard locked).
    #[inline(always)]
    pub(crate) fn take_hash(&self) {
        if self.active() {
            self.hash.set(take(self.hash.get()));
        }
    }

    /// The real lock of `shard` is held in `mode` (a guard is about to be made): acquire its
    /// clocks, record the hold (unless `recorded` is false: no user code runs while the lock is
    /// held, as in `len` or `contains_key`), and check the key's `cell` if there is one.
    #[inline(always)]
    fn hold_with(
        &self,
        shard: usize,
        mode: Mode,
        recorded: bool,
        cell: Option<(&Cell, Kind, &dyn ShowKey, Track)>,
    ) -> Hold<'a> {
        // The hold is made last, from its parts: while the calls below run, no hold exists
        // that an unwinding would have to drop, so its parts stay in registers and the hold
        // is stored once, straight into its guard (a hold made first and filled in had to live
        // in memory from the start, and was copied into the guard: see `tests/dashmap_sizes.rs`).
        let mut flags = 0;
        let mut used = AtomicU64::new(0);
        let mut token = None;
        if self.active() {
            flags = ACTIVE
                | match mode {
                    Mode::Shared => 0,
                    Mode::Exclusive => EXCLUSIVE,
                };
            if let Some(me) = CtxRef::get() {
                self.map.acquire(&me, shard, mode);
                match cell {
                    Some((cell, kind, key, track)) => check(
                        self.map,
                        Some((shard, mode)),
                        self.site,
                        &used,
                        &me,
                        cell,
                        kind,
                        key,
                        track,
                    ),
                    None => used = AtomicU64::new(me.map_epoch().bits() | MADE),
                }
            }
            if recorded
                && self.checking()
                && let Some(list) = Held::mine()
            {
                token = Some(GuardToken::record(
                    list,
                    self.map.resource(shard),
                    mode,
                    self.site,
                    self.map.tag,
                    Hold::kept(shard, flags),
                ));
            }
        }
        Hold {
            map: self.map,
            site: self.site,
            token: token.unwrap_or_else(|| GuardToken::none(Hold::kept(shard, flags))),
            used,
        }
    }

    /// The guard of a call made with the detector off at run time (`enabled=0`): it keeps no
    /// clocks and records no hold.
    #[inline(always)]
    pub(crate) fn off(&self) -> Hold<'a> {
        debug_assert!(!self.active());
        self.hold_with(0, Mode::Shared, false, None)
    }

    /// `hold_with` for a guard the user holds: recorded, and checking the key's cell (`track`:
    /// a lookup's read is a check-then-act's check, a `get_mut`'s write an act).
    #[inline(always)]
    pub(crate) fn guard(
        &self,
        shard: usize,
        mode: Mode,
        cell: &Cell,
        kind: Kind,
        key: impl ShowKey,
        track: Track,
    ) -> Hold<'a> {
        self.hold_with(shard, mode, true, Some((cell, kind, &key, track)))
    }

    /// `hold_with` for a guard the user holds, on no key yet (an entry, an iterator).
    #[inline(always)]
    pub(crate) fn hold(&self, shard: usize, mode: Mode) -> Hold<'a> {
        self.hold_with(shard, mode, true, None)
    }

    /// `hold_with` for a lock held a moment with no user code running (`len`, `clone`,
    /// `contains_key`): the clocks' edges, the key's cell if any, and no hold in the list.
    #[inline(always)]
    pub(crate) fn visit(&self, shard: usize, mode: Mode) -> Hold<'a> {
        self.hold_with(shard, mode, false, None)
    }

    /// An access of a present key's `cell` under `shard`'s lock held in `mode`, with no user
    /// code running before the unlock (`insert` over a key, `contains_key`, `remove`): the
    /// acquire, the check and the release in one go, with no hold to record or drop.
    #[inline(always)]
    pub(crate) fn access_in_place(
        &self,
        shard: usize,
        mode: Mode,
        cell: &Cell,
        kind: Kind,
        key: impl ShowKey,
        track: Track,
    ) {
        if !self.active() {
            return;
        }
        let Some(me) = CtxRef::get() else { return };
        self.map.acquire(&me, shard, mode);
        let epoch = me.map_epoch();
        let conflict = match kind {
            Kind::Read => {
                let tag = || match track {
                    Track::Check(hash) => cta::tag(self.map.object, hash),
                    _ => 0,
                };
                cell.track_read(&me, epoch, self.site, tag)
            }
            Kind::Write => {
                let act = matches!(track, Track::Act(_));
                let word = epoch.bits() | self.site.id().bits();
                cell.track_write(&me, epoch, word, false, act)
            }
        };
        self.map.release(&me, shard, mode, false);
        // (Made after the release, still under the lock: a report may not return.)
        if let Some(previous) = conflict {
            if previous.unseen.is_some() {
                dash_check_then_act(self.map, self.site, &key, epoch, previous, track.act_hash());
            } else {
                report_race(self.map, self.site, kind, &key, epoch, previous);
            }
        }
    }

    /// The cell of a key inserted under `shard`'s exclusive lock, with no user code running
    /// before the unlock (`insert` of a new key): `access_in_place` for a new cell.
    #[inline(always)]
    pub(crate) fn insert_in_place(&self, shard: usize) -> Cell {
        if !self.active() {
            return Cell::default();
        }
        let Some(me) = CtxRef::get() else {
            return Cell::default();
        };
        self.map.acquire(&me, shard, Mode::Exclusive);
        let cell = Cell::written(me.map_epoch().bits() | self.site.id().bits());
        self.map.release(&me, shard, Mode::Exclusive, false);
        cell
    }

    /// The hash of the key of the last armed call (the key's hash in the map: what names it in
    /// check-then-act's records).
    #[inline(always)]
    pub(crate) fn hash(&self) -> u64 {
        if self.active() { self.captured() } else { 0 }
    }

    /// The call's lookup found its key absent (after its edge: the lookup is in the stretch the
    /// edge's acquire begins): a check-then-act's check.
    #[inline(always)]
    pub(crate) fn check_absent(&self) {
        if self.active() {
            let tag = cta::tag(self.map.object, self.captured());
            super::thread::with(|me| me.cta.record_absent(tag, self.site.id()));
        }
    }

    /// An entry made for a key the map has, whose cell is `cell` (after the guard's acquire): a
    /// check of the key as it is now (what is then written through the entry is not an act, and
    /// spends the check). The check's tag, which the entry keeps (0: none, the detector off).
    #[inline(always)]
    pub(crate) fn check_entry(&self, cell: &Cell) -> u64 {
        if !self.active() {
            return 0;
        }
        let tag = cta::tag(self.map.object, self.captured());
        super::thread::with(|me| me.cta.record(tag, cell, cell.write_word(), self.site.id()));
        tag
    }

    /// The call took `shard`'s lock in `mode` and let it go without giving a guard back (an
    /// absent key): `relock` takes the lock again and runs the edge it is given under it. The
    /// edge is later than the real one, so it orders more, never less.
    #[cold]
    #[inline(never)]
    pub(crate) fn edge(&self, shard: usize, mode: Mode, relock: impl FnOnce(&mut dyn FnMut())) {
        if !self.active() {
            return;
        }
        let Some(me) = CtxRef::get() else { return };
        relock(&mut || {
            self.map.acquire(&me, shard, mode);
            self.map.release(&me, shard, mode, false);
        });
    }
}

const OWN_EXCLUSIVE_HINT: &str = "The call needs the shard exclusively, and this thread holds a guard on it (a Ref, RefMut,\n\
     entry or iterator item that is still alive): the call would wait for this thread itself,\n\
     forever. Drop the guard before the call (end its scope, or clone the value out), or do both\n\
     under one guard (entry, alter, remove_if, or the RefMut itself).";

const OWN_SHARED_HINT: &str = "The call needs to read the shard, and this thread holds it exclusively (a RefMut, entry or\n\
     iter_mut item that is still alive): the call would wait for this thread itself, forever.\n\
     Read through the guard you hold, or drop it before the call.";

const LATENT_HINT: &str = "The call needs a shard that this thread's guard does not hold in this run, but the two keys\n\
     land on the same shard whenever their hashes agree in the shard bits (1 in shard_amount per\n\
     pair of keys, and another hasher seed or core count changes which): then the call waits for\n\
     this thread itself, forever, and two threads doing this to each other's keys deadlock in\n\
     every run. Drop the guard before the call, or clone the value out of it.";

const WHOLE_SHARED_HINT: &str = "The call reads every shard in turn, and this thread holds one of them exclusively (a RefMut,\n\
     entry or iter_mut item that is still alive): the call would wait for this thread itself,\n\
     forever. Drop the guard before the call.";

const WHOLE_EXCLUSIVE_HINT: &str = "The call locks every shard in turn exclusively, and this thread holds a guard on one of them\n\
     (a Ref, RefMut, entry, iterator or item that is still alive): the call would wait for this\n\
     thread itself, forever. Drop the guards before the call (collect what you need first).";

// ---------------------------------------------------------------------------------------------
// Guards.

/// `Hold::flags`: clocks are kept (`enabled=1` when the guard was made).
const ACTIVE: u64 = 1;
/// `Hold::flags`: the guard holds its shard exclusively.
const EXCLUSIVE: u64 = 2;
/// `Hold::flags`: an `iter_mut` item's (or iterator's): the exclusive lock is shared with other
/// guards.
const SHARED_LOCK: u64 = 4;
/// `Hold::flags`, all of them: the low bits of the token's kept bits.
const FLAGS: u64 = 7;
/// The token's kept bits: the shard from here up (16 bits).
const SHARD_SHIFT: u32 = 48;
/// The most shards a map may have: a shard's index fits the kept bits.
const MAX_SHARDS: usize = 1 << (64 - SHARD_SHIFT);
/// `Hold::used`: no access through the guard yet; the epoch is its maker's at the making (the
/// thread a use that owns the guard compares with its own, to tell that it moved: see
/// `Hold::arrived`).
/// (An epoch's site bits, this one among them, are 0.)
const MADE: u64 = 1;

/// The runtime side of a guard on one shard: it acquired the shard's clocks when made, and
/// releases them (then ends its hold in the thread's list) when dropped, before the real
/// unlock: a mirror's guard declares its `Hold` before dashmap's guard, so it drops first.
pub(crate) struct Hold<'a> {
    map: &'a DashShadow,
    site: Site,
    /// The hold in a thread's list (`deadlock=1`), and the guard's shard and flags, in the
    /// bits the token keeps for its guard (`[shard:16][..][flags:3]`, see `Hold::kept`): 40
    /// bytes in all (a `u64 -> u64` `Ref`, 64).
    token: GuardToken,
    /// The epoch of the last access to a key's cell through this guard by the thread that
    /// owned it last (`MADE`, and the maker's epoch: none yet; `Epoch::NONE`: no clocks kept).
    /// A guard that moved to another thread by a way maprace does not see (a std channel) is
    /// released by that thread, whose clock may not have it: the release adds it (see
    /// `Hold::release_by`). A read through `&` on another thread leaves it (see
    /// `Hold::read_shared`).
    used: AtomicU64,
}

impl<'a> Hold<'a> {
    /// The bits a hold's token keeps for it: `shard` (below `MAX_SHARDS`, which
    /// `DashShadow::new` checks) and `flags`.
    #[inline(always)]
    fn kept(shard: usize, flags: u64) -> u64 {
        debug_assert!(shard < MAX_SHARDS && flags & !FLAGS == 0);
        (shard as u64) << SHARD_SHIFT | flags
    }

    #[inline(always)]
    fn flags(&self) -> u64 {
        self.token.kept() & FLAGS
    }

    /// Sets the flags (`&mut`: see `GuardToken::set_kept`).
    fn set_flags(&mut self, flags: u64) {
        let kept = Hold::kept(self.shard(), flags);
        self.token.set_kept(kept);
    }

    fn mode(&self) -> Mode {
        if self.flags() & EXCLUSIVE != 0 {
            Mode::Exclusive
        } else {
            Mode::Shared
        }
    }

    #[inline(always)]
    fn active(&self) -> bool {
        self.flags() & ACTIVE != 0
    }

    /// The guard is used on the current thread: if it was made on (or last used by) another
    /// one, its hold moves to this thread's list (see `deadlock::GuardToken`).
    #[inline(always)]
    pub(crate) fn touch(&self) {
        self.token.touch(|| self.as_hold());
    }

    fn as_hold(&self) -> deadlock::Hold {
        deadlock::Hold::new(
            self.map.resource(self.shard()),
            self.mode(),
            self.site,
            self.map.tag,
        )
    }

    #[inline(always)]
    pub(crate) fn shard(&self) -> usize {
        (self.token.kept() >> SHARD_SHIFT) as usize
    }

    /// Where the guard was taken.
    pub(crate) fn site(&self) -> Site {
        self.site
    }

    /// What a write through this guard stores in a cell's write word: the epoch and the site.
    #[inline(always)]
    fn word(&self, epoch: Epoch) -> u64 {
        epoch.bits() | self.site.id().bits()
    }

    /// The cell of a key this guard inserts (an exclusive guard): a write of it, the guard's
    /// last access (see `used`).
    #[inline]
    pub(crate) fn new_cell(&self) -> Cell {
        if !self.active() {
            return Cell::default();
        }
        // An owning use (the entry is consumed): a guard made on another thread and moved
        // here orders its making before this write, as `arrived` does for other owning uses.
        match super::thread::with(|me| {
            self.arrived(me);
            me.map_epoch()
        }) {
            Some(epoch) => {
                self.used.store(epoch.bits(), Relaxed);
                Cell::written(self.word(epoch))
            }
            None => Cell::default(),
        }
    }

    /// A read of the key's cell (the guard reads the value).
    #[inline(always)]
    pub(crate) fn read(&self, cell: &Cell, key: impl ShowKey) {
        if self.active()
            && let Some(me) = CtxRef::get()
        {
            self.check(&me, cell, Kind::Read, &key, Track::Plain);
        }
    }

    /// A read of the key's cell through `&` to the guard (an `OccupiedEntry`'s `get`): `read`,
    /// unless the guard is another thread's (made or last used there, and not moved here
    /// since by a use that owns it: a write or a release). Such a read is neither checked nor
    /// recorded: it cannot race with any write of the key. A write before the guard's making
    /// happens before the making (the shard's lock), which happens before every use of the
    /// guard; a write through the guard took it by `&mut` or by value, so every `&` a later
    /// read uses, on any thread, was made after it; and a later write comes after the `&`
    /// is gone (through the guard), or after the guard's end, ordered by the lock. Checked,
    /// the read would meet a write this thread's clock may not have (the guard came by a way
    /// maprace does not see), and recorded, a read the shard's next holder may not learn
    /// (this thread's clock reaches it only through its own release). It learns nothing
    /// either: what the other thread did after the hand-over stays unordered. (A guard may
    /// be shared by reference, read by two threads at once: the read does not move it here.)
    #[inline(always)]
    pub(crate) fn read_shared(&self, cell: &Cell, key: impl ShowKey) {
        if self.active()
            && let Some(me) = CtxRef::get()
        {
            let used = Epoch::from_bits(self.used.load(Relaxed) & !MADE);
            if used == Epoch::NONE || used.tid() == me.tid() {
                self.check(&me, cell, Kind::Read, &key, Track::Plain);
            }
        }
    }

    /// A write of the key's cell (the guard writes the value).
    #[inline(always)]
    pub(crate) fn write(&self, cell: &Cell, key: impl ShowKey) {
        self.write_spending(cell, key, 0);
    }

    /// `write` through an occupied entry, which spends the check its making recorded (`spends`,
    /// its tag; 0: none, see `Call::check_entry`).
    #[inline(always)]
    pub(crate) fn write_spending(&self, cell: &Cell, key: impl ShowKey, spends: u64) {
        if self.active()
            && let Some(me) = CtxRef::get()
        {
            self.arrived(&me);
            self.check(&me, cell, Kind::Write, &key, Track::Plain);
            if spends != 0 {
                me.cta.spend(spends);
            }
        }
    }

    /// `read` of a lookup (`view`), a check-then-act's check: `hash` is the key's in the map.
    #[inline(always)]
    pub(crate) fn check_read(&self, cell: &Cell, key: impl ShowKey, hash: u64) {
        if self.active()
            && let Some(me) = CtxRef::get()
        {
            self.check(&me, cell, Kind::Read, &key, Track::Check(hash));
        }
    }

    #[inline(always)]
    fn check(&self, me: &Ctx, cell: &Cell, kind: Kind, key: &dyn ShowKey, track: Track) {
        check(
            self.map, None, self.site, &self.used, me, cell, kind, key, track,
        );
    }

    /// An exclusive guard becomes a shared one (`downgrade`): its writes are released to the
    /// readers the real downgrade lets in. Call before the real downgrade.
    pub(crate) fn downgrade(&mut self) {
        self.touch();
        if self.mode() == Mode::Shared {
            return;
        }
        self.release_now();
        self.set_flags(self.flags() & !EXCLUSIVE);
        if self.active() {
            // The exclusive acquire cleared the flag; no shared acquire will set it.
            self.map.read_from_now(self.shard());
        }
        let hold = self.as_hold();
        self.token.rewrite(hold);
    }

    /// An iterator's hold moves to `shard`, which the iterator now holds in the same mode (the
    /// real lock of the old one may already be gone: release it before the step, with
    /// `release_now`). Acquires the new shard's clocks.
    pub(crate) fn move_to(&mut self, shard: usize, acquire: bool) {
        let kept = Hold::kept(shard, self.flags());
        self.token.set_kept(kept);
        if self.active()
            && acquire
            && let Some(me) = CtxRef::get()
        {
            self.map.acquire(&me, shard, self.mode());
        }
        let hold = self.as_hold();
        self.token.rewrite(hold);
    }

    /// Releases the shard's clocks now, the guard staying alive (an iterator before a step,
    /// which may let the real lock go). Later accesses through it are released again at the
    /// next step or at the drop.
    #[inline(always)]
    pub(crate) fn release_now(&self) {
        if self.active()
            && let Some(me) = CtxRef::get()
        {
            self.release_by(&me);
        }
    }

    /// The release of the guard's shard by `me`, the current thread. A guard released on a
    /// thread other than the one that last accessed a key through it (dropped or downgraded
    /// there, or an iterator stepped there) was moved there, which orders that access before
    /// this release whatever carried it: the release includes it, so the shard's next holder is
    /// ordered after it as the real lock orders it.
    #[inline(always)]
    fn release_by(&self, me: &Ctx) {
        self.release_kept(me, self.token.kept());
    }

    /// `release_by`, the token's kept bits being `kept` (read once: each read of the token's
    /// word through `&` is an atomic load of its own).
    #[inline(always)]
    fn release_kept(&self, me: &Ctx, kept: u64) {
        self.arrived(me);
        let mode = if kept & EXCLUSIVE != 0 {
            Mode::Exclusive
        } else {
            Mode::Shared
        };
        let shard = (kept >> SHARD_SHIFT) as usize;
        self.map.release(me, shard, mode, kept & SHARED_LOCK != 0);
    }

    /// The guard is used by `me`, the current thread, which owns it (a release, or a write,
    /// which takes the guard by `&mut` or by value): if the last access to a key through it was
    /// another thread's, the guard was moved here since, which orders that access before this
    /// thread's next one (see `release_by`; `moved_here`). Not for a read through `&`: a
    /// guard shared by reference may have been read by the other thread meanwhile, and learning
    /// that read would order what that thread did next (an edge the program does not have).
    #[inline(always)]
    fn arrived(&self, me: &Ctx) {
        let used = self.used.load(Relaxed);
        if used == me.map_epoch().bits() {
            return; // this thread's access, in its current epoch: the common case, one compare
        }
        let epoch = Epoch::from_bits(used & !MADE);
        if epoch.tid() != me.tid() && epoch != Epoch::NONE {
            self.taken_over(me, used);
        }
    }

    /// The guard, made or last used on another thread, is used here by a use that owns it
    /// (see `arrived`): this thread learns the last access made through it (the making, if `MADE`),
    /// and, for an exclusive guard, what its maker acquired with the lock, which happens before
    /// the making (`DashShadow::acquire_taken_over`): without it, this thread's release would
    /// replace the shard's clock with one that lacks it, and the shard's next holder would
    /// meet the writes and reads ordered before the making as unordered. Rare: out of line.
    #[cold]
    #[inline(never)]
    fn taken_over(&self, me: &Ctx, used: u64) {
        // A guard made and sent before any access through it orders its maker's epoch at the
        // making before this use, as a used guard orders its last user's: the making happens
        // before the hand-over. (Without it, the maker's writes before it sent the guard were
        // met here as unordered: a false report.)
        moved_here(me, Epoch::from_bits(used & !MADE));
        if self.flags() & (EXCLUSIVE | SHARED_LOCK) == EXCLUSIVE {
            self.map.acquire_taken_over(me, self.shard());
        }
    }

    /// An iterator's hold: the lock may be shared with the items it yields.
    pub(crate) fn shared_with_items(mut self) -> Self {
        if self.flags() & EXCLUSIVE != 0 {
            self.set_flags(self.flags() | SHARED_LOCK);
        }
        self
    }

    /// A hold of the same shard in the same mode, for an item an iterator yields (the item
    /// holds the shard too, through dashmap's shared guard).
    pub(crate) fn for_item(&self, site: Site) -> Hold<'a> {
        let kept = self.token.kept();
        let mut item = Hold {
            map: self.map,
            site,
            token: GuardToken::none(kept),
            used: AtomicU64::new(self.used.load(Relaxed)),
        };
        if self.token.is_some()
            && let Some(list) = Held::mine()
        {
            item.token = GuardToken::push(list, &item.as_hold(), kept);
        }
        item
    }
}

/// An access of a key's `cell` through a guard made at `site` on `map` (`used`: the guard's
/// last access, see `Hold::used`), checked and recorded. A free function of the hold's parts,
/// so that a hold being made is not needed in memory (see `Call::hold_with`); the reports
/// take the map and the site, never the hold, for the same reason.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn check(
    map: &DashShadow,
    making: Option<(usize, Mode)>,
    site: Site,
    used: &AtomicU64,
    me: &Ctx,
    cell: &Cell,
    kind: Kind,
    key: &dyn ShowKey,
    track: Track,
) {
    let epoch = me.map_epoch();
    used.store(epoch.bits(), Relaxed);
    let conflict = match kind {
        Kind::Read => {
            let object = map.object;
            let tag = move || match track {
                Track::Check(hash) => cta::tag(object, hash),
                _ => 0,
            };
            cell.track_read(me, epoch, site, tag)
        }
        Kind::Write => {
            let act = matches!(track, Track::Act(_));
            let word = epoch.bits() | site.id().bits();
            cell.track_write(me, epoch, word, false, act)
        }
    };
    if let Some(previous) = conflict {
        report_found(map, me, making, site, kind, key, epoch, previous, track);
    }
}

/// Reports what `check` found. `making`: the shard and mode of a guard being made, for which
/// no `Hold` exists yet (`hold_with` makes it last); if the report then does not return
/// (`action=panic` unwinds), nothing else would release the shard's clocks acquired for the
/// guard, while dashmap's guard, dropped in the same unwinding, unlocks the shard, and its next
/// holder would meet this thread's accesses as unordered: the release made here on unwinding
/// is the one the hold's drop makes. (With a `Hold`, its drop releases.)
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn report_found(
    map: &DashShadow,
    me: &Ctx,
    making: Option<(usize, Mode)>,
    site: Site,
    kind: Kind,
    key: &dyn ShowKey,
    epoch: Epoch,
    previous: Previous,
    track: Track,
) {
    /// Releases the shard when dropped armed: only if the report unwinds.
    struct ReleaseIfUnwound<'m> {
        map: &'m DashShadow,
        me: &'m Ctx,
        shard: usize,
        mode: Mode,
        armed: bool,
    }
    impl Drop for ReleaseIfUnwound<'_> {
        fn drop(&mut self) {
            if self.armed {
                self.map.release(self.me, self.shard, self.mode, false);
            }
        }
    }
    let (shard, mode) = making.unwrap_or((0, Mode::Shared));
    let mut unwound = ReleaseIfUnwound {
        map,
        me,
        shard,
        mode,
        armed: making.is_some(),
    };
    if previous.unseen.is_some() {
        dash_check_then_act(map, site, key, epoch, previous, track.act_hash());
    } else {
        // The map's own locks order the two accesses, so this is a fault of maprace's, or of
        // unsafe code that reached the value around its guard: reported as a race, so it is
        // seen.
        report_race(map, site, kind, key, epoch, previous);
    }
    unwound.armed = false;
}

/// An act found its key's last write unseen (on a DashMap, whose call at `site` is the act): see
/// `cta::report`.
#[cold]
#[inline(never)]
fn dash_check_then_act(
    map: &DashShadow,
    site: Site,
    key: &dyn ShowKey,
    epoch: Epoch,
    write: Previous,
    hash: Option<u64>,
) {
    let act = cta::ActSite {
        site,
        identity: site,
        epoch,
        serial: map.object,
        hash,
        family: Family::Dash,
    };
    cta::report(act, write, Some(key), || map.label());
}

/// Two accesses to a key through the map's own locks that maprace finds unordered (see
/// `Hold::check`): the access at `site` on `map`.
#[cold]
#[inline(never)]
fn report_race(
    map: &DashShadow,
    site: Site,
    kind: Kind,
    key: &dyn ShowKey,
    epoch: Epoch,
    previous: Previous,
) {
    if !report::is_new(FindingKind::Race, race::identity(site, previous.site)) {
        return;
    }
    let mut stack = stack::capture();
    stack.resolve();
    let current = CurrentAccess {
        kind,
        op: site.op(),
        location: site.location(),
        key: Some(key.show()),
        epoch,
    };
    let race = RaceReport::new(current, previous, true, map.label(), &stack);
    report::emit(&race);
}

impl Drop for Hold<'_> {
    /// Inline, only the test of a guard made with the detector off (`enabled=0`, which keeps
    /// no clocks and records no hold); the rest out of line, in one function.
    #[inline(always)]
    fn drop(&mut self) {
        if self.token.kept_mut() & ACTIVE != 0 {
            self.end();
        }
    }
}

impl Hold<'_> {
    /// The guard's end: its release (see `release_by`), then the end of its hold.
    #[inline(never)]
    fn end(&mut self) {
        if let Some(me) = CtxRef::get() {
            let kept = self.token.kept_mut();
            self.release_kept(&me, kept);
        }
        self.token.end();
    }
}

/// The current thread learns `used`, the access of the thread a guard moved from (see
/// `Hold::release_by`): rare, out of line.
#[cold]
#[inline(never)]
fn moved_here(me: &Ctx, used: Epoch) {
    // (A thread with no slot stamps its accesses as ordered before everything.)
    if used.tid() == Epoch::UNRECORDED || me.happens_before(used) {
        return;
    }
    let mut clock = super::clock::VectorClock::new();
    clock.set(used.tid(), used.clock());
    super::thread::acquire(&clock);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The memory the README states: a shard's clock is two cache lines, a reader's slot one, a
    /// `u64 -> u64` entry 32 bytes, the rest of a map's shadow about 250.
    #[test]
    fn a_shard_costs_two_cache_lines_and_a_reading_thread_one_per_shard() {
        assert_eq!(std::mem::size_of::<ShardClock>(), 128);
        assert_eq!(std::mem::size_of::<ReaderSlot>(), 64);
        assert_eq!(
            std::mem::size_of::<Readers>(),
            (INLINE_ROWS + SEGMENTS + 1) * 8
        );
        // A `u64 -> u64` entry in a shard's table: the key, the value and its key's cell.
        type Entry = (u64, crate::rt::map::Stored<u64>);
        assert_eq!(std::mem::size_of::<Entry>(), 32);
        // The rest of a map's shadow, beside its shards' clocks.
        assert!(std::mem::size_of::<DashShadow>() <= 256);
    }

    /// A guard's runtime side, added to each of dashmap's guards (see `tests/dashmap_sizes.rs`
    /// for the guards themselves): every byte of it is copied wherever a guard moves.
    #[test]
    fn a_hold_is_40_bytes() {
        assert_eq!(std::mem::size_of::<Hold<'static>>(), 40);
    }

    /// A thread with no slot that takes a shard exclusively joins the readers' slots and
    /// forgets them (`read_since`): its release must not read as seen by everyone (its stamp,
    /// clock 0, does), or the next exclusive acquirer skips both the exclusive clock and the
    /// slots, and loses the reader's release.
    #[test]
    fn a_release_by_a_thread_with_no_slot_reaches_the_next_exclusive_acquirer() {
        use super::super::clock::VectorClock;
        let ctx = |tid, clock| {
            let mut vc = VectorClock::new();
            if tid != Epoch::UNRECORDED {
                vc.set(tid, clock);
            }
            Ctx::for_test(tid, vc)
        };
        let map = DashShadow::new(|| "test", 2);
        let reader = ctx(3001, 7);
        map.acquire(&reader, 1, Mode::Shared);
        let read = reader.map_epoch();
        map.release(&reader, 1, Mode::Shared, false);
        for round in 0..2 {
            let unrecorded = ctx(Epoch::UNRECORDED, 0);
            map.acquire(&unrecorded, 1, Mode::Exclusive);
            assert!(unrecorded.vc_for_test().happens_before(read));
            map.release(&unrecorded, 1, Mode::Exclusive, false);
            // Another thread with no slot, then one with a slot: both join the clock.
            let next = ctx(Epoch::UNRECORDED, 0);
            map.acquire(&next, 1, Mode::Exclusive);
            assert!(
                next.vc_for_test().happens_before(read),
                "round {round}: a thread with no slot skipped the release"
            );
            map.release(&next, 1, Mode::Exclusive, false);
            let writer = ctx(3002 + round, 1);
            map.acquire(&writer, 1, Mode::Exclusive);
            assert!(
                writer.vc_for_test().happens_before(read),
                "round {round}: the reader's release was lost"
            );
            map.release(&writer, 1, Mode::Exclusive, false);
        }
    }

    /// A reader with no slot has no row: its shared release still reaches the next exclusive
    /// acquirer (its clock carries what it acquired from others).
    #[test]
    fn a_shared_release_by_a_thread_with_no_slot_reaches_the_next_exclusive_acquirer() {
        use super::super::clock::VectorClock;
        let map = DashShadow::new(|| "test", 2);
        let mut vc = VectorClock::new();
        let seen = Epoch::new(3101, 9); // what the reader acquired from another thread
        vc.set(3101, 9);
        let unrecorded = Ctx::for_test(Epoch::UNRECORDED, vc);
        map.acquire(&unrecorded, 1, Mode::Shared);
        map.release(&unrecorded, 1, Mode::Shared, false);
        let mut vc = VectorClock::new();
        vc.set(3102, 1);
        let writer = Ctx::for_test(3102, vc);
        map.acquire(&writer, 1, Mode::Exclusive);
        assert!(
            writer.vc_for_test().happens_before(seen),
            "the reader's release was lost"
        );
        map.release(&writer, 1, Mode::Exclusive, false);
        // Once joined, it is in the exclusive clock: the next writer finds it there.
        let mut vc = VectorClock::new();
        vc.set(3103, 1);
        let next = Ctx::for_test(3103, vc);
        map.acquire(&next, 1, Mode::Exclusive);
        assert!(next.vc_for_test().happens_before(seen));
        map.release(&next, 1, Mode::Exclusive, false);
    }

    /// A reader's second release of a shard with nothing in between is the one test
    /// (`Ctx::released_to_map_already`) and leaves everything as the first one left it; a
    /// release into a slot that holds the reader's release of an older epoch (news came
    /// through another shard, whose release left the tick owed to the map again) copies.
    #[test]
    fn a_release_that_changes_nothing_is_skipped_and_one_over_an_older_epoch_is_not() {
        use super::super::clock::VectorClock;
        let ctx = |tid, clock| {
            let mut vc = VectorClock::new();
            vc.set(tid, clock);
            Ctx::for_test(tid, vc)
        };
        let last_of = |map: &DashShadow, tid: usize, shard: usize| {
            let row = map.readers.row(tid).expect("made at the first release");
            // SAFETY: a row has a slot per shard; no other thread uses this map.
            unsafe { *(*row.add(shard)).last.get() }
        };
        let map = DashShadow::new(|| "test", 2);
        let reader = ctx(3301, 4);
        map.acquire(&reader, 1, Mode::Shared);
        map.release(&reader, 1, Mode::Shared, false);
        let first = last_of(&map, 3301, 1);
        assert_eq!(first.epoch, reader.map_epoch());
        assert!(reader.released_to_map_already(&first));
        map.acquire(&reader, 1, Mode::Shared);
        map.release(&reader, 1, Mode::Shared, false);
        assert_eq!(last_of(&map, 3301, 1), first);
        assert_eq!(reader.map_epoch(), first.epoch);
        // News for the reader through shard 0 (another thread's exclusive release there): a
        // new epoch, and a release of shard 0, after which the tick is owed to the map again.
        let writer = ctx(3302, 9);
        map.acquire(&writer, 0, Mode::Exclusive);
        map.release(&writer, 0, Mode::Exclusive, false);
        map.acquire(&reader, 0, Mode::Shared);
        assert!(reader.vc_for_test().happens_before(writer.map_epoch()));
        assert_ne!(reader.map_epoch(), first.epoch, "news begins a new epoch");
        map.release(&reader, 0, Mode::Shared, false);
        // Shard 1 has no news, and its slot holds the reader's release of the old epoch: this
        // release must copy the new clock.
        map.acquire(&reader, 1, Mode::Shared);
        assert!(!reader.released_to_map_already(&first));
        map.release(&reader, 1, Mode::Shared, false);
        let second = last_of(&map, 3301, 1);
        assert_eq!(second.epoch, reader.map_epoch());
        assert_ne!(second, first);
        // The next exclusive acquirer of shard 1 learns, through the reader's slot, what the
        // reader learned on shard 0.
        let next = ctx(3303, 1);
        map.acquire(&next, 1, Mode::Exclusive);
        assert!(next.vc_for_test().happens_before(writer.map_epoch()));
        map.release(&next, 1, Mode::Exclusive, false);
    }

    #[test]
    fn every_thread_slot_has_one_place_for_its_row() {
        let mut seen = std::collections::HashSet::new();
        for tid in INLINE_ROWS..=Epoch::MAX_TID as usize {
            let (k, len, i) = segment_of(tid);
            assert!(
                k < SEGMENTS && i < len,
                "slot {tid}: segment {k} of {len}, index {i}"
            );
            assert!(seen.insert((k, i)), "slot {tid} shares its place");
        }
        // Segment 0 would be the slots in place; segment 1 starts right after them.
        assert_eq!(segment_of(INLINE_ROWS), (1, 2 * INLINE_ROWS, 0));
        assert_eq!(segment_of(3 * INLINE_ROWS), (2, 4 * INLINE_ROWS, 0));
        let last = segment_of(Epoch::MAX_TID as usize);
        assert!(last.0 < SEGMENTS && last.2 < last.1);
    }

    #[test]
    fn the_hooked_hasher_gives_the_inner_hashers_hash_and_records_it_once_armed() {
        use std::hash::{BuildHasherDefault, DefaultHasher};
        let inner = BuildHasherDefault::<DefaultHasher>::default();
        let hooked = Hooked(inner.clone());
        for key in [0u64, 1, 42, u64::MAX] {
            assert_eq!(hooked.hash_one(key), inner.hash_one(key));
            assert_eq!(hooked.hash_one("text"), inner.hash_one("text"));
        }
        arm();
        let hash = hooked.hash_one(7u64);
        assert_eq!(captured(), hash);
        let _unarmed = hooked.hash_one(8u64); // a rehash: not recorded
        assert_eq!(captured(), hash);
    }

    /// A call made inside another (by the user's `K::eq`, under the outer call's lock) records
    /// its own hash and puts back the outer one's before the outer call reads it.
    #[test]
    fn a_call_nested_in_another_leaves_the_outer_calls_hash_to_it() {
        use std::hash::{BuildHasherDefault, DefaultHasher};
        let hooked = Hooked(BuildHasherDefault::<DefaultHasher>::default());
        let map = DashShadow::new(|| "test", 4);
        let outer = map.call(Op::Get);
        outer.arm();
        let outer_hash = hooked.hash_one(1u64);
        // Under the outer call's lock: `K::eq` calls into a DashMap.
        let inner = map.call(Op::ContainsKey);
        inner.arm();
        let inner_hash = hooked.hash_one(2u64);
        assert_eq!(inner.captured_shard(|h| h), inner_hash as usize);
        assert_eq!(outer.captured_shard(|h| h), outer_hash as usize);
        // Read again, each call keeps its own.
        assert_eq!(inner.hash(), inner_hash);
        assert_eq!(outer.hash(), outer_hash);
    }
}
