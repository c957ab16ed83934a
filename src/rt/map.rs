//! The shadow of a whole map (its structure cell, name, creation site, last address) and
//! `Access`, the handle through which a mirror's method checks each cell it touches.

use super::cell::{Cell, Kind, Previous};
use super::clock::Epoch;
use super::cta::{self, Family, Track};
use super::race::{self, CurrentAccess, MapLabel, RaceReport};
use super::site::{Op, Site};
use super::stats::FindingKind;
use super::thread::Ctx;
use super::trace::{self, MapTrace};
use super::{history, key, report, stack, stats, thread};
use std::hash::{BuildHasher, Hash};
use std::panic::Location;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize};
use std::time::Instant;

/// The shadow a map has whatever its size: its `MapShadow` and, traced, its `MapTrace`.
const FIXED_SHADOW: u64 = (size_of::<MapShadow>() + size_of::<MapTrace>()) as u64;

/// Per-map shadow state, kept inline in the mirror (creating a map allocates nothing).
/// `repr(C)`, so that the fields every operation touches (the structure cell and the address)
/// come first, as the mirrors' layout expects.
#[repr(C)]
pub(crate) struct MapShadow {
    /// Read by every operation, written by those that add or remove keys or reshape the table.
    structure: Cell,
    /// Where the map was at its last access. A map found elsewhere was moved, by the one thread
    /// that owned it: all its history happens before what comes next.
    address: AtomicUsize,
    /// This map at this address, among all maps ever: given at its first access and at each
    /// move, it names the map in the records of check-then-act (an address is reused by the
    /// next map allocated there; a serial is not).
    serial: AtomicU64,
    /// `map#N`, given out at the first report that needs it.
    id: AtomicU64,
    name: Option<&'static str>,
    created_at: &'static Location<'static>,
    /// `std::any::type_name` of the map, called only when a report or trace line needs it.
    type_name: fn() -> &'static str,
    /// The stats trace's counters for this map, made at its first access with `trace=1`.
    trace: AtomicPtr<MapTrace>,
}

impl Drop for MapShadow {
    /// Dropping a map writes its structure: a thread still using it is a race. The check lives
    /// here, in a type that does not mention the map's `K` and `V`, so the maps themselves need
    /// no `Drop` and the borrow checker treats them at drop time as it treats std's (which may
    /// hold references that die first). Not checked while the thread unwinds: that drop is
    /// cleanup after a failure under way, and a second panic (`action=panic`) would abort.
    ///
    /// Drop glue has no caller location: the site is left unknown, and a report takes the
    /// user's line from the stack (see `report_drop`).
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let access = self.access_with(Site::unlocated(Op::Drop), super::mode());
            if access.active() {
                access.begin();
            }
            drop(access.write_structure());
        }
        MapTrace::free(&mut self.trace);
    }
}

impl MapShadow {
    /// `const`, so that `BTreeMap::new` can be, as std's is.
    #[track_caller]
    pub(crate) const fn new(type_name: fn() -> &'static str) -> MapShadow {
        MapShadow {
            type_name,
            structure: Cell::new(),
            address: AtomicUsize::new(0),
            serial: AtomicU64::new(0),
            id: AtomicU64::new(0),
            name: None,
            created_at: Location::caller(),
            trace: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Counts the operation for the trace (out of line: `trace=0` code stays as it was).
    #[cold]
    #[inline(never)]
    fn count(&self, op: Op) {
        self.trace().count(op);
    }

    /// The map's trace state (`trace=1`), made at the first call.
    pub(crate) fn trace(&self) -> &MapTrace {
        MapTrace::of(&self.trace, FIXED_SHADOW)
    }

    pub(crate) fn set_name(&mut self, name: &'static str) {
        self.name = Some(name);
    }

    fn label(&self) -> MapLabel {
        let name = match self.name {
            Some(name) => name.to_owned(),
            None => {
                let mut id = self.id.load(Relaxed);
                if id == 0 {
                    let fresh = next_map_number();
                    id = match self.id.compare_exchange(0, fresh, Relaxed, Relaxed) {
                        Ok(_) => fresh,
                        Err(taken) => taken,
                    };
                }
                format!("map#{id}")
            }
        };
        MapLabel {
            name,
            type_name: key::short_type_name((self.type_name)()),
            created_at: self.created_at,
        }
    }

    /// The map is not where its last access found it (`last`): if it was moved, forget the
    /// structure's history, and tell the caller to forget the keys'. A first access (`last` 0)
    /// has no history to forget, and must not clear what another thread's first access, at the
    /// same instant, is recording (that would hide the race between the two).
    #[cold]
    #[inline(never)]
    fn moved(&self, last: usize, address: *const ()) -> bool {
        static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);
        self.address.store(address as usize, Relaxed);
        self.serial
            .store(NEXT_SERIAL.fetch_add(1, Relaxed), Relaxed);
        if last == 0 {
            return false;
        }
        self.structure.reset();
        true
    }

    /// Starts checking one operation on the map (the caller then calls `Access::begin` when the
    /// detector is on): the site and the run-time switches, read once.
    #[inline(always)]
    #[track_caller]
    pub(crate) fn access(&self, op: Op) -> Access<'_> {
        self.access_at(op, super::mode(), Location::caller())
    }

    /// `access`, for a mirror that has read the mode and the caller's location itself (a hot
    /// operation tests the mode before it makes anything).
    #[inline(always)]
    pub(crate) fn access_at(
        &self,
        op: Op,
        mode: u8,
        location: &'static Location<'static>,
    ) -> Access<'_> {
        self.access_with(Site::new(op, location), mode)
    }

    /// `access`, made at `site` under `mode`.
    #[inline(always)]
    fn access_with(&self, site: Site, mode: u8) -> Access<'_> {
        Access {
            map: self,
            site,
            mode,
            spends: 0,
        }
    }
}

/// Runs an operation with `trace=1` or `history=full` out of line, so that the code of the
/// common modes stays small: a mirror's hot method dispatches on `Access::mode` once.
#[cold]
#[inline(never)]
pub(crate) fn observed<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(test)]
    OBSERVED_RUNS.set(OBSERVED_RUNS.get() + 1);
    f()
}

#[cfg(test)]
thread_local! {
    /// Operations this thread ran through `observed` (for the tests of the dispatch).
    pub(crate) static OBSERVED_RUNS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The `N` of the next `map#N`: tracked maps without a name are numbered in the order reports
/// first need them (every kind of tracked map, DashMaps included, shares the numbers).
pub(crate) fn next_map_number() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Relaxed)
}

/// One operation on one map, checking the cells it touches before it touches them.
pub(crate) struct Access<'a> {
    map: &'a MapShadow,
    site: Site,
    /// The run-time switches (`rt::MODE`), read once per operation.
    mode: u8,
    /// The tag of the check an occupied entry's making recorded (0: none): the entry's write
    /// spends it (see `check_entry`).
    spends: u64,
}

/// A write that other threads must not overlap; it ends when this is dropped (also when the
/// operation unwinds, e.g. from a panicking `Hash`), so a cell is never left marked busy.
pub(crate) struct InProgress<'a> {
    cell: &'a Cell,
    /// The write's word in the cell (its epoch and site).
    word: u64,
}

impl Drop for InProgress<'_> {
    /// Inline: every write of a hot operation ends here (out of line, the guard is made a value
    /// in memory for the call).
    #[inline(always)]
    fn drop(&mut self) {
        self.cell.end_write(self.word);
    }
}

/// The structure write of an iterator that changes the map as it goes (`drain`, `extract_if`):
/// a write checked when the iterator is made, at each step and when it is dropped, each in
/// progress only while it runs. Not one write in progress for the iterator's whole life: safe
/// code may leak the iterator (`mem::forget`), and the map must not stay busy forever after
/// (std's own iterators leave the map usable: `HashMap::drain`'s empty, `extract_if`'s with what
/// it has not yet removed). Each step records the write at the thread's epoch of that step, so
/// another thread's access between two steps, or after a leak, is still checked against the
/// latest write by happens-before.
pub(crate) struct WritingIter<'a> {
    access: Access<'a>,
}

impl<'a> WritingIter<'a> {
    /// One step of the iterator (`next`): the structure is written until the guard drops.
    #[inline]
    pub(crate) fn step(&self) -> Option<InProgress<'a>> {
        self.access.write_structure()
    }
}

impl Drop for WritingIter<'_> {
    /// The iterator's drop is its last write (`HashMap::drain`'s puts the emptied table back):
    /// declared before the real iterator, this runs just before its drop, in the same epoch.
    fn drop(&mut self) {
        drop(self.access.write_structure());
    }
}

impl<'a> Access<'a> {
    /// The structure write of an iterator that changes the map as it goes, made now (the
    /// iterator's creation is its first write).
    pub(crate) fn writing_iter(self) -> WritingIter<'a> {
        drop(self.write_structure());
        WritingIter { access: self }
    }

    /// Is the detector on for this operation (`enabled=1`)?
    #[inline(always)]
    pub(crate) fn active(&self) -> bool {
        self.mode & super::ENABLED != 0
    }

    /// Starts the checks of an operation with the detector on: counts it for the trace, and
    /// notices a move. `true`: the map has moved, and the caller forgets its keys' history.
    #[inline(always)]
    pub(crate) fn begin(&self) -> bool {
        if self.mode & super::TRACE != 0 {
            self.map.count(self.site.op());
        }
        // The shadow lives inside the map: its address moves with the map.
        let address = self.map as *const MapShadow as *const ();
        let last = self.map.address.load(Relaxed);
        last != address as usize && self.map.moved(last, address)
    }

    /// An access that checks nothing, for iterators made without a map (`Default`).
    pub(crate) fn detached() -> Access<'static> {
        static NO_MAP: MapShadow = MapShadow::new(|| "");
        Access {
            map: &NO_MAP,
            site: Site::UNKNOWN,
            mode: 0,
            spends: 0,
        }
    }

    #[inline(always)]
    pub(crate) fn read_structure(&self) {
        if self.active() {
            self.check(
                &self.map.structure,
                Kind::Read,
                None::<&()>,
                false,
                Track::Plain,
            );
        }
    }

    /// Marks the structure written for the whole life of the returned guard.
    #[inline]
    pub(crate) fn write_structure(&self) -> Option<InProgress<'a>> {
        self.write_structure_of(None::<&()>)
    }

    /// The map's capacity went from `old` to `new` during this operation (it has `len` keys,
    /// with values of type `V`): a trace line, with `trace=1`.
    pub(crate) fn resized<V>(&self, old: usize, new: usize, len: usize) {
        if old != new && self.mode & super::TRACE != 0 {
            self.resized_traced::<V>(old, new, len);
        }
    }

    #[cold]
    #[inline(never)]
    fn resized_traced<V>(&self, old: usize, new: usize, len: usize) {
        let label = self.map.label();
        // Per entry of capacity: the key's cell and its padding next to the value.
        let cell_shadow = size_of::<Stored<V>>() - size_of::<V>();
        trace::grew(
            self.map.trace(),
            trace::Growth {
                name: &label.name,
                created_at: label.created_at,
                len,
                old_capacity: old,
                new_capacity: new,
                shadow: FIXED_SHADOW + (new * cell_shadow) as u64,
            },
        );
    }

    /// `write_structure` for an operation made with `key`, which the report shows.
    #[inline]
    pub(crate) fn write_structure_of(&self, key: Option<impl ShowKey>) -> Option<InProgress<'a>> {
        if !self.active() {
            return None;
        }
        let word = self.check(&self.map.structure, Kind::Write, key, true, Track::Plain)?;
        Some(InProgress {
            cell: &self.map.structure,
            word,
        })
    }

    /// Reads the structure on behalf of a keyed operation (the report shows the key).
    #[inline(always)]
    pub(crate) fn read_structure_of(&self, key: impl ShowKey) {
        if self.active() {
            self.check(
                &self.map.structure,
                Kind::Read,
                Some(key),
                false,
                Track::Plain,
            );
        }
    }

    /// A read of the key (its value). For check-then-act, the key's cell keeps it (see `cta`).
    #[inline(always)]
    pub(crate) fn read_key(&self, cell: &Cell, key: impl ShowKey) {
        if self.active() {
            self.check(cell, Kind::Read, Some(key), false, Track::Plain);
        }
    }

    /// `read_key` of a lookup (`get`, `contains_key`...), a check-then-act's check: recorded by
    /// the key's `hash` in the map too.
    #[inline(always)]
    pub(crate) fn check_key(&self, cell: &Cell, key: impl ShowKey, hash: u64) {
        if self.active() {
            self.check(cell, Kind::Read, Some(key), false, Track::Check(hash));
        }
    }

    /// A lookup that found no key of `hash` in the map: a check-then-act's check.
    #[inline(always)]
    pub(crate) fn check_absent(&self, hash: u64) {
        if self.active() {
            let tag = self.tag(hash);
            thread::with(|me| me.cta.record_absent(tag, self.site.id()));
        }
    }

    /// A lookup of `key` in an empty map, which hashes nothing (as std's): a check-then-act's
    /// check, recorded by the key's fingerprint when maprace knows its type (`key::fingerprint`).
    #[inline]
    pub(crate) fn check_absent_in_empty<Q: ?Sized>(&self, key: &Q) {
        if self.active()
            && let Some(fingerprint) = key::fingerprint(key)
        {
            let serial = self.map.serial.load(Relaxed);
            thread::with(|me| {
                me.cta
                    .record_absent_in_empty(serial, fingerprint, self.site.id())
            });
        }
    }

    /// An entry made for a key the map has (`hash`, its cell `cell`): a check of the key as it
    /// is now (what is then written through the entry is not an act, and spends the check: the
    /// entry looked and wrote as one step).
    #[inline(always)]
    pub(crate) fn check_entry(&mut self, cell: &Cell, hash: u64) {
        if self.active() {
            let tag = self.tag(hash);
            thread::with(|me| me.cta.record(tag, cell, cell.write_word(), self.site.id()));
            self.spends = tag;
        }
    }

    /// The tag of the key whose hash in this map is `hash`, in check-then-act's records.
    #[inline(always)]
    fn tag(&self, hash: u64) -> u64 {
        cta::tag(self.map.serial.load(Relaxed), hash)
    }

    /// A write of the key's value that happens after this call returns (through `&mut V`).
    #[inline(always)]
    pub(crate) fn write_key(&self, cell: &Cell, key: impl ShowKey) {
        if self.active() {
            self.check(cell, Kind::Write, Some(key), false, Track::Plain);
            if self.spends != 0 {
                thread::with(|me| me.cta.spend(self.spends));
            }
        }
    }

    /// `write_key` of a check-then-act's act (`get_mut`): checked against the thread's checks
    /// of the key (by `hash`, if the map has hashes, and by the key's cell).
    #[inline(always)]
    pub(crate) fn act_key(&self, cell: &Cell, key: impl ShowKey, hash: Option<u64>) {
        if self.active() {
            self.check(cell, Kind::Write, Some(key), false, Track::Act(hash));
        }
    }

    /// `act_key` of a write made before the returned guard drops (`insert` over the key):
    /// another thread that touches the key meanwhile overlaps with it.
    #[inline(always)]
    pub(crate) fn act_key_in_progress<'c>(
        &self,
        cell: &'c Cell,
        key: impl ShowKey,
        hash: Option<u64>,
    ) -> Option<InProgress<'c>> {
        if !self.active() {
            return None;
        }
        let word = self.check(cell, Kind::Write, Some(key), true, Track::Act(hash))?;
        Some(InProgress { cell, word })
    }

    /// The removal of the key whose cell is `cell`, a check-then-act's act (see `act_key`). The
    /// cell goes with the key: the race check is the structure's write.
    #[inline(always)]
    pub(crate) fn act_remove(&self, cell: &Cell, key: impl ShowKey, hash: Option<u64>) {
        if !self.active() {
            return;
        }
        let Some(me) = thread::CtxRef::get() else {
            return;
        };
        let epoch = me.epoch();
        if let Some(write) = cell.act_unseen(&me, epoch) {
            self.check_then_act(Some(key), epoch, write, hash);
        }
    }

    /// Marks `cell`, already checked by `write_key`, as being written by this thread until the
    /// guard drops: another thread that touches the key meanwhile overlaps with this write.
    #[inline]
    pub(crate) fn writing<'c>(&self, cell: &'c Cell) -> Option<InProgress<'c>> {
        if !self.active() {
            return None;
        }
        let word = self.word(thread::with(|me| me.epoch())?);
        cell.begin_write(word);
        Some(InProgress { cell, word })
    }

    /// The cell of a key this access inserts.
    #[inline(always)]
    pub(crate) fn new_cell(&self) -> Cell {
        if !self.active() {
            return Cell::default();
        }
        let Some(epoch) = thread::with(|me| me.epoch()) else {
            return Cell::default();
        };
        if self.mode & super::HISTORY != 0 {
            // The cell's address is not known before it is in the table: found by its access.
            history::record(None, Kind::Write, epoch, self.site);
        }
        Cell::written(self.word(epoch))
    }

    /// What a write of this access stores in a cell's write word: the epoch and the site.
    #[inline(always)]
    fn word(&self, epoch: Epoch) -> u64 {
        epoch.bits() | self.site.id().bits()
    }

    /// Checks and records the access; returns the word a write was recorded with (for a read,
    /// the epoch's bits).
    #[inline(always)]
    fn check(
        &self,
        cell: &Cell,
        kind: Kind,
        key: Option<impl ShowKey>,
        in_progress: bool,
        track: Track,
    ) -> Option<u64> {
        if self.mode & (super::TRACE | super::HISTORY) != 0 {
            return self.check_observed(cell, kind, key, in_progress, track);
        }
        self.check_only(cell, kind, key, in_progress, track)
    }

    /// `check` with `trace=1` (counted, one in 64 timed) or `history=full` (the stack kept).
    #[inline(never)]
    fn check_observed(
        &self,
        cell: &Cell,
        kind: Kind,
        key: Option<impl ShowKey>,
        in_progress: bool,
        track: Track,
    ) -> Option<u64> {
        let mode = self.mode;
        if mode & super::HISTORY != 0 {
            // Kept before the cell records the access, so that a thread that finds it (even
            // still in progress) finds its stack too.
            if let Some(epoch) = thread::with(|me| me.epoch()) {
                history::record(Some(cell), kind, epoch, self.site);
            }
        }
        let timed = mode & super::TRACE != 0 && stats::count_check();
        let start = timed.then(Instant::now);
        let word = self.check_only(cell, kind, key, in_progress, track);
        if let Some(start) = start {
            stats::timed_check(start.elapsed());
        }
        word
    }

    #[inline(always)]
    fn check_only(
        &self,
        cell: &Cell,
        kind: Kind,
        key: Option<impl ShowKey>,
        in_progress: bool,
        track: Track,
    ) -> Option<u64> {
        let me = thread::CtxRef::get()?;
        Some(self.check_on(&me, cell, kind, key, in_progress, track))
    }

    /// `check_only` on the current thread, whose context is `me`.
    #[inline(always)]
    fn check_on(
        self,
        me: &Ctx,
        cell: &Cell,
        kind: Kind,
        key: Option<impl ShowKey>,
        in_progress: bool,
        track: Track,
    ) -> u64 {
        // Taken once (it pays the tick a lock's release may have left owed), for the cell's
        // rules and for the caller.
        let epoch = me.epoch();
        let (conflict, word) = match kind {
            Kind::Read => {
                let tag = || match track {
                    Track::Check(hash) => self.tag(hash),
                    _ => 0,
                };
                (cell.track_read(me, epoch, self.site, tag), epoch.bits())
            }
            Kind::Write => {
                let word = self.word(epoch);
                let act = matches!(track, Track::Act(_));
                (cell.track_write(me, epoch, word, in_progress, act), word)
            }
        };
        if let Some(previous) = conflict {
            if in_progress {
                // The report may panic (`action=panic`) before the caller's `InProgress` guard
                // exists: the cell must not stay marked busy.
                cell.end_write(word);
            }
            if previous.unseen.is_some() {
                self.check_then_act(key, epoch, previous, track.act_hash());
            } else {
                let on_key = !std::ptr::eq(cell, &self.map.structure);
                self.report(cell, kind, key, epoch, previous, on_key);
            }
            if in_progress {
                cell.begin_write(word);
            }
        }
        word
    }

    /// An act found its key's last write unseen (`write`): if the thread checked the key before
    /// its lock and that write came after the check, a check-then-act report. (By value, as
    /// `report`: by reference, the hot path made the `Access` a value in memory, five stores
    /// at every `remove`.)
    #[cold]
    #[inline(never)]
    fn check_then_act(
        self,
        key: Option<impl ShowKey>,
        epoch: Epoch,
        write: Previous,
        hash: Option<u64>,
    ) {
        let act = cta::ActSite {
            site: self.site,
            identity: self.identity_site(),
            epoch,
            serial: self.map.serial.load(Relaxed),
            hash,
            family: Family::Locked,
        };
        let key = key.as_ref().map(|k| k as &dyn ShowKey);
        cta::report(act, write, key, || self.map.label());
    }

    /// (By value: the hot path then keeps the `Access` in registers, and only this cold call
    /// makes it a value in memory.)
    #[cold]
    #[inline(never)]
    fn report(
        self,
        cell: &Cell,
        kind: Kind,
        key: Option<impl ShowKey>,
        epoch: Epoch,
        previous: Previous,
        on_key: bool,
    ) {
        let traced = self.mode & super::TRACE != 0;
        if traced && self.site.op() != Op::Drop {
            // Counted on the map whether or not it is printed (a race of the same two sites
            // on another map is printed once): the trace's `races` says what each map had. (A
            // drop's is counted once its stack shows it is one, below.)
            self.map.trace().race();
        }
        let identity = race::identity(self.identity_site(), previous.site);
        if !report::is_new(FindingKind::Race, identity) {
            return; // reported already: nothing more to do, and nothing costly
        }
        let mut stack = stack::capture();
        // No drop that safe code can make is reported. A map freed by the last `Arc` to it
        // was used through clones whose drops the reference count orders before this one;
        // maprace does not see that edge, but the stack shows the path. A drop in place
        // through a raw pointer does not go through `Arc::drop_slow`, and stays a race. Some
        // races look the same (another thread's raw pointer into an `Arc`'s map), and when the
        // stack has no symbols nothing can be told: then nothing is reported either. An
        // overlap is always reported: no thread is inside an operation on a map whose last
        // reference is going away, unless it reached the map without a reference.
        if self.site.op() == Op::Drop
            && !previous.in_progress
            && stack::drop_path(&stack) != stack::DropPath::Other
        {
            return;
        }
        if traced && self.site.op() == Op::Drop {
            self.map.trace().race();
        }
        stack::resolve(&mut stack);
        let current = CurrentAccess {
            kind,
            op: self.site.op(),
            location: self.site.location(),
            key: key.map(|k| k.show()),
            epoch,
        };
        let race = RaceReport::new(current, previous, on_key, self.map.label(), &stack)
            .with_previous_stack(history::find(cell, &previous));
        report::emit(&race);
    }

    /// The site that stands for this access in a race's identity: its own, or, for a drop
    /// (whose line is not known without its stack), the map's creation site.
    fn identity_site(&self) -> Site {
        let location = self.site.location().unwrap_or(self.map.created_at);
        Site::new(self.site.op(), location)
    }
}

/// An operation's checks with the thread's context fetched once, for the hot methods of a
/// mirror with the detector on and the operation not observed (`Access::on`): the methods of
/// `Access` that they call, each starting with the same-epoch test, which needs no epoch (see
/// `Ctx::stamp`). `Access` fetches the context at each check.
#[derive(Clone, Copy)]
pub(crate) struct Checks<'a, 'm> {
    access: Access<'a>,
    me: &'m Ctx,
}

impl<'a> Access<'a> {
    /// The checks of this access on the current thread, whose context is `me`. For an access
    /// made in the mode `rt::ENABLED` exactly (not observed).
    #[inline(always)]
    pub(crate) fn on(self, me: &Ctx) -> Checks<'a, '_> {
        debug_assert_eq!(self.mode, super::ENABLED);
        Checks { access: self, me }
    }
}

impl<'a> Checks<'a, '_> {
    /// See `Access::read_structure_of`.
    #[inline(always)]
    pub(crate) fn read_structure_of(&self, key: impl ShowKey) {
        self.read(&self.access.map.structure, key, Track::Plain);
    }

    /// See `Access::check_key`. A read repeated in the same epoch stores nothing: the record
    /// its first read made stands (see `Cell::track_read`).
    #[inline(always)]
    pub(crate) fn check_key(&self, cell: &Cell, key: impl ShowKey, hash: u64) {
        self.read(cell, key, Track::Check(hash));
    }

    /// See `Access::check_absent`.
    #[inline(always)]
    pub(crate) fn check_absent(&self, hash: u64) {
        let tag = self.access.tag(hash);
        self.me.cta.record_absent(tag, self.access.site.id());
    }

    /// See `Access::check_absent_in_empty`.
    #[inline]
    pub(crate) fn check_absent_in_empty<Q: ?Sized>(&self, key: &Q) {
        self.access.check_absent_in_empty(key);
    }

    /// See `Access::act_key`. A write repeated in the same epoch goes over this thread's own
    /// write: no act to test.
    #[inline(always)]
    pub(crate) fn act_key(&self, cell: &Cell, key: impl ShowKey, hash: Option<u64>) {
        self.write(cell, Some(key), false, Track::Act(hash));
    }

    /// See `Access::act_key_in_progress`.
    #[inline(always)]
    pub(crate) fn act_key_in_progress<'c>(
        &self,
        cell: &'c Cell,
        key: impl ShowKey,
        hash: Option<u64>,
    ) -> Option<InProgress<'c>> {
        let word = self.write(cell, Some(key), true, Track::Act(hash));
        Some(InProgress { cell, word })
    }

    /// See `Access::act_remove`.
    #[inline(always)]
    pub(crate) fn act_remove(&self, cell: &Cell, key: impl ShowKey, hash: Option<u64>) {
        // Before the epoch is taken, as the same-epoch tests (see `Ctx::stamp`).
        if cell.write_is_repeated(self.me.stamp()) {
            return;
        }
        let epoch = self.me.epoch();
        if let Some(write) = cell.act_unseen(self.me, epoch) {
            self.access.check_then_act(Some(key), epoch, write, hash);
        }
    }

    /// See `Access::write_structure_of`.
    #[inline(always)]
    pub(crate) fn write_structure_of(&self, key: Option<impl ShowKey>) -> Option<InProgress<'a>> {
        let cell = &self.access.map.structure;
        let word = self.write(cell, key, true, Track::Plain);
        Some(InProgress { cell, word })
    }

    /// See `Access::new_cell` (not observed: no history to keep).
    #[inline(always)]
    pub(crate) fn new_cell(&self) -> Cell {
        Cell::written(self.access.word(self.me.epoch()))
    }

    /// See `Access::resized`: nothing, since the operation is not observed (no trace line).
    /// (Through the `Access`, the compiler kept the capacities to compare at every insert.)
    #[inline(always)]
    pub(crate) fn resized<V>(&self, _old: usize, _new: usize, _len: usize) {}

    #[inline(always)]
    fn read(&self, cell: &Cell, key: impl ShowKey, track: Track) {
        if !cell.read_is_repeated(|| self.me.stamp()) {
            self.access
                .check_on(self.me, cell, Kind::Read, Some(key), false, track);
        }
    }

    /// The word the write was recorded with.
    #[inline(always)]
    fn write(
        &self,
        cell: &Cell,
        key: Option<impl ShowKey>,
        in_progress: bool,
        track: Track,
    ) -> u64 {
        let site = self.access.site.id().bits();
        match cell.write_if_repeated(self.me.stamp(), site, in_progress) {
            Some(word) => word,
            None => self
                .access
                .check_on(self.me, cell, Kind::Write, key, in_progress, track),
        }
    }
}

/// A lookup's check-then-act records, for code that runs with either handle (`Access`, or
/// `Checks` on the hot path).
pub(crate) trait Lookups {
    fn check_key(&self, cell: &Cell, key: impl ShowKey, hash: u64);
    fn check_absent(&self, hash: u64);
    fn check_absent_in_empty<Q: ?Sized>(&self, key: &Q);
}

impl Lookups for Access<'_> {
    #[inline(always)]
    fn check_key(&self, cell: &Cell, key: impl ShowKey, hash: u64) {
        Access::check_key(self, cell, key, hash);
    }

    #[inline(always)]
    fn check_absent(&self, hash: u64) {
        Access::check_absent(self, hash);
    }

    #[inline(always)]
    fn check_absent_in_empty<Q: ?Sized>(&self, key: &Q) {
        Access::check_absent_in_empty(self, key);
    }
}

impl Lookups for Checks<'_, '_> {
    #[inline(always)]
    fn check_key(&self, cell: &Cell, key: impl ShowKey, hash: u64) {
        Checks::check_key(self, cell, key, hash);
    }

    #[inline(always)]
    fn check_absent(&self, hash: u64) {
        Checks::check_absent(self, hash);
    }

    #[inline(always)]
    fn check_absent_in_empty<Q: ?Sized>(&self, key: &Q) {
        Checks::check_absent_in_empty(self, key);
    }
}

/// A key as a report shows it; `show` runs only when a report is made.
pub(crate) trait ShowKey {
    fn show(&self) -> String;

    /// The key's fingerprint (`key::fingerprint`), for check-then-act.
    fn fingerprint(&self) -> Option<u64>;

    /// The key's hash in its map, for check-then-act's report, if this knows the map's hasher
    /// and the act did not give it (`Rehash`).
    fn hash(&self) -> Option<u64> {
        None
    }
}

/// A key alone: its value when maprace can print it, else its type.
impl<Q: ?Sized> ShowKey for &Q {
    fn show(&self) -> String {
        key::describe(*self, || None)
    }

    fn fingerprint(&self) -> Option<u64> {
        key::fingerprint(*self)
    }
}

/// A key shown as a key alone (`&Q`), with its map's hasher: an act that leaves its key's hash
/// to the report (`cta::report` computes it again), so that the hot path keeps no hash for the
/// cold one (`insert` over a key: a hash kept across the write was spilled to the stack and
/// read back at every insert).
pub(crate) struct Rehash<'k, Q: ?Sized, S>(pub(crate) &'k Q, pub(crate) &'k S);

impl<Q: ?Sized + Hash, S: BuildHasher> ShowKey for Rehash<'_, Q, S> {
    fn show(&self) -> String {
        key::describe(self.0, || None)
    }

    fn fingerprint(&self) -> Option<u64> {
        key::fingerprint(self.0)
    }

    fn hash(&self) -> Option<u64> {
        Some(self.1.hash_one(self.0))
    }
}

/// A key with its map's hasher: its value when maprace can print it, else its hash (the one the
/// map itself computes) and type. Costs nothing until a report shows it.
pub(crate) struct Hashed<'k, Q: ?Sized, S>(pub(crate) &'k Q, pub(crate) &'k S);

impl<Q: ?Sized + Hash, S: BuildHasher> ShowKey for Hashed<'_, Q, S> {
    fn show(&self) -> String {
        key::describe(self.0, || Some(self.1.hash_one(self.0)))
    }

    fn fingerprint(&self) -> Option<u64> {
        key::fingerprint(self.0)
    }
}

impl Clone for Access<'_> {
    fn clone(&self) -> Self {
        *self
    }
}

impl Copy for Access<'_> {}

/// What the real map stores for a key: the value and the key's shadow cell, side by side in the
/// real map's entry, so the check costs no second lookup. `repr(C)`: the cell's place in the
/// entry is chosen (see `Cell`), not left to the compiler.
#[repr(C)]
pub(crate) struct Stored<V> {
    pub(crate) value: V,
    pub(crate) cell: Cell,
}

/// As the value alone, so that std's iterators over `Stored`s print what std's over values do.
impl<V: std::fmt::Debug> std::fmt::Debug for Stored<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value.fmt(f)
    }
}

impl<V: Clone> Clone for Stored<V> {
    /// A clone is a new map: its keys have no history.
    fn clone(&self) -> Self {
        Stored {
            value: self.value.clone(),
            cell: Cell::default(),
        }
    }
}

/// Forgets the history of a moved map's key cells: everything before the move happens before
/// what comes next.
#[cold]
pub(crate) fn forget_history<'a, V: 'a>(values: impl Iterator<Item = &'a Stored<V>>) {
    for stored in values {
        stored.cell.reset();
    }
}
