//! Check-then-act (DESIGN §2a): a thread observes a key, lets go of the lock around the map,
//! takes it again and writes the key without looking again, while another thread wrote it in
//! between. Every access is synchronized, so no race is reported; the other thread's write is
//! lost all the same.
//!
//! The rule, for an *act* of thread T on key k (an `insert` over k, a `remove` of k, a
//! `get_mut` of k) whose cell's last write is U's (U ≠ T):
//!
//! - U's write is not in T's clock as it was when T's current *stretch* began, nor did T
//!   acquire anything but locks since. A stretch begins each time T takes a lock (a mutex, an
//!   `RwLock`, a DashMap shard) that brings it news of another thread (see `open_stretch`): the
//!   lock around the map orders every check-then-act, so it never counts as T learning of U's
//!   write; a channel, a join or an atomic does (`learned`).
//! - T checked k in the stretch just before the current one, and U's write came after that
//!   check: T's record of the check (a small table of this thread's own, `Local::checks`) holds
//!   the key's write word T saw, and the key's write word is another now; or the key's cell
//!   still holds T's read, *covered* by a later write (see `cell::Cell`), made between the
//!   openings of the previous and the current stretch.
//! - T's last look at k before U's write was that check: the cell's last read is not T's own
//!   uncovered read (T looked again since U's write, however), nor a read of T's that T's own
//!   write spent (T wrote k after the check: write, remote write, write is serializable); a
//!   write through the entry that made a record spends the record too.
//!
//! The records cost plain stores into memory the thread owns, made where the cell stores
//! anyway (a read in a new epoch), and at every lookup that finds a key absent; the act's test
//! is made where the cell stores anyway too (a write in a new epoch), and is one comparison
//! with the clock copy when the last write is another thread's.

use super::cell::{Previous, Unseen};
use super::clock::{ClockCopy, Epoch, Tid, VectorClock};
use super::map::ShowKey;
use super::race::MapLabel;
use super::report::{self, Capitalized, Finding, RULE, ThreadLabel};
use super::site::{Op, Site, SiteId, SourcePos};
use super::stack::{self, Frame, Stack};
use super::stats::FindingKind;
use super::thread;
use backtrace::Backtrace;
use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::panic::Location;

/// Records kept per thread (direct-mapped by the key's tag): the checks of one critical section
/// on up to this many keys are all kept when their tags spread, and most when they collide.
const SLOTS: usize = 64;

/// A record's `seen` for a lookup that found the key absent: no write word has this value (a
/// write word's top bit is the in-progress flag, cleared in what a record keeps).
const ABSENT: u64 = Epoch::FLAG;

/// The slot of the records that keeps the checks of the key tagged `tag`: the tag's top bits
/// once multiplied (a multiply-shift), so that tags that differ only in their low bits (a
/// hasher that gives integers as themselves) spread over the slots as well as any.
#[inline(always)]
fn slot_of(tag: u64) -> usize {
    (tag.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SLOTS.trailing_zeros())) as usize
}

/// A thread's check-then-act state, in its context: only its own thread touches it.
pub(crate) struct Local {
    /// `check_then_act=1`. Off, no stretch ever begins, so no act is ever tested, and nothing
    /// is recorded.
    on: bool,
    /// How many stretches this thread has begun, plus one (a record made before the first
    /// has stretch 1; an empty slot, 0).
    stretch: Cell<u64>,
    /// The thread's clock just before the lock that began the current stretch joined its own.
    before: UnsafeCell<ClockCopy>,
    /// Since the current stretch began, the thread acquired, by an edge other than a lock, a
    /// clock that `before` does not cover (or no stretch has begun yet): it may know of any
    /// write it knows of otherwise than through the lock, so no act is tested.
    learned: Cell<bool>,
    /// The clocks (of the thread's own slot) of the reads made in the previous stretch are in
    /// `previous_from..=opened`: `opened` is the clock at which the current stretch began, and
    /// a stretch's reads start at the clock it began at, or the next one if the thread owed a
    /// tick then (its first access paid it: see `thread::LockedClock`). `current_from` is where
    /// the current stretch's reads start.
    previous_from: Cell<u64>,
    opened: Cell<u64>,
    current_from: Cell<u64>,
    checks: [Check; SLOTS],
    /// The last lookup this thread made on an empty `HashMap` whose key has no tag (the map
    /// hashes nothing then, as std's does): recorded by the key's fingerprint.
    empty: Check,
}

/// One recorded check: what key (`tag`), the key's write word it saw (`seen`, or `ABSENT`),
/// the address of the key's cell it saw (`cell`: 0 for `ABSENT`), and when and where (`at`:
/// the stretch, above the site id; 0 for no record: stretches are counted from 1).
///
/// A tag names a key by its map and hash, and two unequal keys may share a hash (a `Hash` that
/// reads part of the key): a check of a present key counts only for an act on the very cell it
/// saw, and a check that found a key absent only for an act on a cell made after it (see
/// `find_check`).
struct Check {
    tag: Cell<u64>,
    seen: Cell<u64>,
    cell: Cell<usize>,
    at: Cell<u64>,
}

impl Check {
    const fn new() -> Check {
        Check {
            tag: Cell::new(0),
            seen: Cell::new(0),
            cell: Cell::new(0),
            at: Cell::new(0),
        }
    }
}

/// A check the act is based on, as the report tells it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Checked {
    pub(crate) site: Site,
    /// The check found the key absent.
    pub(crate) absent: bool,
}

/// A key's tag in this thread's records: its map (the map's serial) and its hash in that map.
/// Within one map, two hashes have two tags (the map's part is the same). Two unequal keys
/// may share a hash: the record's cell tells them apart (see `Check`).
#[inline(always)]
pub(crate) fn tag(serial: u64, hash: u64) -> u64 {
    hash ^ serial.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The tag of a key known by its fingerprint (see `key::fingerprint`), kept apart from hashes.
fn fingerprint_tag(serial: u64, fingerprint: u64) -> u64 {
    tag(serial, fingerprint ^ 0xC2B2_AE3D_27D4_EB4F)
}

impl Local {
    /// A thread's state at its start, at clock `clock` of its own slot.
    pub(crate) fn new(on: bool, clock: u64) -> Local {
        Local {
            on,
            stretch: Cell::new(1),
            before: UnsafeCell::new(ClockCopy::new()),
            learned: Cell::new(true),
            previous_from: Cell::new(clock),
            opened: Cell::new(clock),
            current_from: Cell::new(clock),
            checks: [const { Check::new() }; SLOTS],
            empty: Check::new(),
        }
    }

    #[inline(always)]
    fn before(&self) -> &ClockCopy {
        // SAFETY: only the thread that owns this state touches it, and the one `&mut` borrow
        // (in `open_stretch`) ends before it returns.
        unsafe { &*self.before.get() }
    }

    /// The thread takes a lock whose last release was another thread's (`clock` is the thread's
    /// clock before the lock's is joined, `epoch` its cached epoch, flagged if a tick is owed):
    /// a new stretch begins.
    #[inline(always)]
    pub(crate) fn open_stretch(&self, clock: &VectorClock, epoch: Epoch) {
        if !self.on {
            return;
        }
        // SAFETY: as in `before`; no other borrow of the copy is alive.
        unsafe { &mut *self.before.get() }.copy_from(clock);
        self.stretch.set(self.stretch.get() + 1);
        self.learned.set(false);
        self.previous_from.set(self.current_from.get());
        self.opened.set(epoch.clock());
        self.current_from
            .set(epoch.clock() + u64::from(epoch.flagged()));
    }

    /// The thread acquires `clock` through something other than a lock (a channel, a join, an
    /// atomic, a barrier, an annotation): if it holds anything the thread's clock did not when
    /// its stretch began, no act is tested until the next stretch (the thread may have learned
    /// of the other thread's write this way, even if the lock told it too).
    #[inline(always)]
    pub(crate) fn acquired(&self, clock: &VectorClock) {
        if !self.learned.get() && !clock.covered_by(self.before()) {
            self.learned.set(true);
        }
    }

    /// Records a check of the key tagged `tag`, whose cell is at `cell` and had the write word
    /// `write`.
    #[inline(always)]
    pub(crate) fn record(
        &self,
        tag: u64,
        cell: *const super::cell::Cell,
        write: u64,
        site: SiteId,
    ) {
        if self.on {
            self.store(tag, write & !Epoch::FLAG, cell as usize, site);
        }
    }

    /// The thread wrote the key tagged `tag` through the entry whose making recorded a check
    /// of it: the check is spent (the entry read and wrote the key as one step).
    #[inline(always)]
    pub(crate) fn spend(&self, tag: u64) {
        let slot = &self.checks[slot_of(tag)];
        if slot.tag.get() == tag {
            slot.at.set(0);
        }
    }

    /// Records a lookup that found the key tagged `tag` absent.
    #[inline(always)]
    pub(crate) fn record_absent(&self, tag: u64, site: SiteId) {
        if self.on {
            self.store(tag, ABSENT, 0, site);
        }
    }

    #[inline(always)]
    fn store(&self, tag: u64, seen: u64, cell: usize, site: SiteId) {
        let slot = &self.checks[slot_of(tag)];
        slot.tag.set(tag);
        slot.seen.set(seen);
        slot.cell.set(cell);
        slot.at
            .set(self.stretch.get() << Epoch::SITE_BITS | site.bits());
    }

    /// Records a lookup on an empty map (serial `serial`) of a key whose fingerprint is
    /// `fingerprint`.
    #[cold]
    pub(crate) fn record_absent_in_empty(&self, serial: u64, fingerprint: u64, site: SiteId) {
        if self.on {
            let empty = &self.empty;
            empty.tag.set(fingerprint_tag(serial, fingerprint));
            empty.seen.set(ABSENT);
            empty.cell.set(0);
            empty
                .at
                .set(self.stretch.get() << Epoch::SITE_BITS | site.bits());
        }
    }

    /// Is the last write `write` of a key this thread acts on another thread's, made after this
    /// thread's stretch began (as far as its clock then tells), and learned since by locks only?
    /// Then the act may be a check-then-act (see `find_check`).
    #[inline(always)]
    pub(crate) fn unseen(&self, write: u64, me: Tid) -> bool {
        let last = Epoch::of_word(write);
        last.tid() != me && !self.learned.get() && !self.before().happens_before(last)
    }

    /// The check of the key an act is based on, if the act is a check-then-act: `write` is the
    /// key's last write, which `unseen` found, `read` the key's read word before the act, `cell`
    /// the address of the key's cell, and `me` the act's thread. `serial` and `hash` name the
    /// key in the records (a map without hashes has none), `fingerprint` gives its fingerprint
    /// when maprace knows its type.
    ///
    /// A record names a key by its map and hash, which two unequal keys may share, so:
    ///
    /// - a check that found its key present counts only if it saw this very cell (the record
    ///   keeps its address), and the cell was not made after the check: a cell made at the
    ///   address of a removed one (another key's, which may share the hash) carries the mark of
    ///   its making in its read word (`SiteId::CREATED`, with the insert's epoch) until the
    ///   next read in another epoch, and a making this thread did not know of when its
    ///   stretch began came after the check;
    /// - a check that found its key absent counts only if the cell was made after it (the same
    ///   mark, so known only while it stands): a key whose cell is older than the check, or
    ///   made before it, was present at the check, so the check was another key's.
    #[cold]
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn find_check(
        &self,
        write: u64,
        read: u64,
        cell: usize,
        me: Tid,
        serial: u64,
        hash: Option<u64>,
        fingerprint: &dyn Fn() -> Option<u64>,
    ) -> Option<Checked> {
        // Stretches are counted from 1: the previous one is at least 1.
        let previous = self.stretch.get().checked_sub(2)? + 1;
        let reader = Epoch::of_word(read);
        let read_site = SiteId::of_word(read);
        let one_read = read & Epoch::FLAG == 0 && read != 0;
        // The cell's last read is this thread's, and no write covers it: this thread looked at
        // the key again after the write it acts over (an iteration, say, which the records do
        // not see), so the act is based on what it saw then. (Every write covers the read it
        // finds, so an uncovered read came after the last write.)
        let own = one_read && reader.tid() == me;
        if own && read & Epoch::FLAG2 == 0 {
            return None;
        }
        // The cell was made by an insert this thread did not know of when its stretch began:
        // after any check this thread made of a key in its previous stretch. Known while the
        // making is still the cell's last read (`SiteId::CREATED`, covered by the writes
        // since).
        let made_after =
            one_read && read_site == SiteId::CREATED && !self.before().happens_before(reader);
        // The cell's last read is this thread's and was spent by its own write since (see
        // `cell`), or is the making of the cell by this thread's own insert: this thread's last
        // look at the key before the other thread's write was that write of its own, and
        // write, remote write, write loses nothing a check saw. Unless a record says this
        // thread checked the key again after that write (it saw a write of its own later than
        // the read).
        let spent = own && read_site.is_spent();
        let spent_at = reader.clock();
        let seen_then = |check: &Check, tag: u64| {
            let at = check.at.get();
            let seen = check.seen.get();
            let absent = seen == ABSENT;
            let after_spending = !absent
                && Epoch::of_word(seen).tid() == me
                && Epoch::of_word(seen).clock() > spent_at;
            // The record is of this key's cell (see above), made in the previous stretch, and
            // the key's write word is not the one the check saw: a write came after it.
            let this_key = if absent {
                made_after
            } else {
                check.cell.get() == cell && !made_after
            };
            (check.tag.get() == tag
                && at >> Epoch::SITE_BITS == previous
                && this_key
                && seen != write & !Epoch::FLAG
                && (!spent || after_spending))
                .then(|| Checked {
                    site: SiteId::of_word(at).site(),
                    absent,
                })
        };
        if let Some(hash) = hash {
            let tag = tag(serial, hash);
            if let Some(check) = seen_then(&self.checks[slot_of(tag)], tag) {
                return Some(check);
            }
            if let Some(fingerprint) = fingerprint()
                && let Some(check) = seen_then(&self.empty, fingerprint_tag(serial, fingerprint))
            {
                return Some(check);
            }
        }
        // The cell: this thread's read, covered by a later write, between the openings of the
        // previous and the current stretch.
        let covered = read & (Epoch::FLAG | Epoch::FLAG2) == Epoch::FLAG2 && !spent;
        let between = (self.previous_from.get()..=self.opened.get()).contains(&reader.clock());
        (covered && reader.tid() == me && between).then(|| Checked {
            site: read_site.site(),
            absent: false,
        })
    }
}

/// How an access to a key's cell is tracked for check-then-act.
#[derive(Clone, Copy)]
pub(crate) enum Track {
    /// Not at all (the map's structure, or an access that is neither a check nor an act).
    Plain,
    /// A lookup of the key whose hash in the map is this: a check, recorded.
    Check(u64),
    /// An act, tested against the thread's checks (by the key's hash, if the map has hashes).
    Act(Option<u64>),
}

impl Track {
    /// An act's hash, if it is an act.
    pub(crate) fn act_hash(self) -> Option<u64> {
        match self {
            Track::Act(hash) => hash,
            _ => None,
        }
    }
}

/// An act that found its key's last write unseen, as `report` needs it.
pub(crate) struct ActSite {
    /// The act's site, and the one that stands for it in the finding's identity.
    pub(crate) site: Site,
    pub(crate) identity: Site,
    pub(crate) epoch: Epoch,
    /// The map in the records (see `tag`), and the key's hash there, if the map has hashes.
    pub(crate) serial: u64,
    pub(crate) hash: Option<u64>,
    pub(crate) family: Family,
}

/// An act found its key's last write (`write`, with `Previous::unseen`) unseen: if the thread
/// checked the key in its previous stretch and that write came after the check, reports the
/// check-then-act (once per three sites), under the policy.
#[cold]
#[inline(never)]
pub(crate) fn report(
    act: ActSite,
    write: Previous,
    key: Option<&dyn ShowKey>,
    map: impl FnOnce() -> MapLabel,
) {
    let Some(Unseen {
        write: word,
        read,
        cell,
    }) = write.unseen
    else {
        return;
    };
    let Some(me) = thread::CtxRef::get() else {
        return;
    };
    let fingerprint = || key.and_then(|k| k.fingerprint());
    let tid = act.epoch.tid();
    // (A hot act may leave its key's hash to be computed again here: see `map::Rehash`.)
    let hash = act.hash.or_else(|| key.and_then(|k| k.hash()));
    let Some(check) = me
        .cta
        .find_check(word, read, cell, tid, act.serial, hash, &fingerprint)
    else {
        return;
    };
    let identity = identity(act.identity, write.site, check.site);
    if !report::is_new(FindingKind::CheckThenAct, identity) {
        return;
    }
    let mut stack = stack::capture();
    stack.resolve();
    let shown = Act {
        op: act.site.op(),
        location: act.site.location(),
        key: key.map(|k| k.show()),
        epoch: act.epoch,
    };
    let finding = CheckThenActReport::new(shown, write, check, map(), act.family, &stack);
    report::emit(&finding);
}

/// What the report shows of the map (the fix it suggests depends on the map's kind).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Family {
    /// `HashMap` or `BTreeMap`, behind a lock.
    Locked,
    /// `DashMap`: its shards are the locks.
    #[cfg_attr(not(feature = "dashmap"), allow(dead_code))]
    Dash,
}

/// The access that acts.
struct Act {
    op: Op,
    location: Option<&'static Location<'static>>,
    key: Option<String>,
    epoch: Epoch,
}

/// A check-then-act: the act, the other thread's write it did not see, the check it is based
/// on.
pub(crate) struct CheckThenActReport {
    act: Act,
    write: Previous,
    check: Checked,
    map: MapLabel,
    family: Family,
    stack: Vec<Frame>,
}

/// A check-then-act's identity (see `Finding::identity`): its three sites.
fn identity(act: Site, write: Site, check: Site) -> [u64; 3] {
    [act.bits(), write.bits(), check.bits()]
}

fn site_text(site: Option<&'static Location<'static>>) -> String {
    match site {
        Some(location) => SourcePos::of(location).to_string(),
        None => "an unknown site".to_owned(),
    }
}

impl CheckThenActReport {
    fn new(
        act: Act,
        write: Previous,
        check: Checked,
        map: MapLabel,
        family: Family,
        stack: &Backtrace,
    ) -> CheckThenActReport {
        CheckThenActReport {
            act,
            write,
            check,
            map,
            family,
            stack: stack::user_frames(stack),
        }
    }

    fn act_site(&self) -> String {
        let from_stack = || {
            self.stack
                .iter()
                .filter(|frame| frame.is_user())
                .find_map(|frame| frame.file.as_ref())
                .map(ToString::to_string)
        };
        match self.act.location {
            Some(location) if !stack::is_std_source(location.file()) => site_text(Some(location)),
            location => from_stack().unwrap_or_else(|| site_text(location)),
        }
    }

    fn key(&self) -> &str {
        self.act.key.as_deref().unwrap_or("?")
    }

    /// The last paragraph: what went wrong, and the call that fixes it for this map.
    fn fix(&self) -> String {
        let key = self.key();
        let what = if self.check.absent {
            "the check found the key absent, and the act overwrites what the other thread stored."
        } else {
            "the act is based on what the check saw, and the other thread's write is lost."
        };
        let calls = match (self.family, self.act.op, self.check.absent) {
            (Family::Dash, Op::Remove | Op::RemoveEntry, _) => {
                "map.remove_if(&key, |_, v| ..) decides and removes under one shard lock."
            }
            (Family::Dash, _, true) => {
                "map.entry(key).or_insert_with(|| ..) inserts only if the key is still absent."
            }
            (Family::Dash, _, false) => {
                "map.alter(&key, |_, v| ..) or *map.entry(key).or_insert(0) += 1 updates the key \
                 under one shard lock, as does a RefMut from get_mut or entry kept across both."
            }
            (Family::Locked, Op::Remove | Op::RemoveEntry, _) => {
                "if let Entry::Occupied(e) = map.entry(key) { e.remove(); } looks and removes in \
                 one call."
            }
            (Family::Locked, _, true) => {
                "map.entry(key).or_insert_with(|| ..) inserts only if the key is still absent."
            }
            (Family::Locked, _, false) => {
                "*map.entry(key).or_insert(0) += 1 (or .and_modify(..)) reads and writes the key \
                 in one call."
            }
        };
        let guard = match self.family {
            Family::Dash => "make them one call on the map:",
            Family::Locked => {
                "hold one guard across both (let mut map = lock.lock().unwrap(); once, then the \
                 check and the act on it), or make them one call:"
            }
        };
        wrap(&format!(
            "Between this thread's check of key {key} and its act, {} wrote the key, and this \
             thread learned of that write only by taking the lock it acts under again: {what} \
             To make the check and the act one step, {guard} {calls}",
            ThreadLabel(self.write.epoch)
        ))
    }
}

/// `text` broken into lines of at most 92 columns (as the race report's diagnosis is), at spaces.
fn wrap(text: &str) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split(' ') {
        if line > 0 && line + 1 + word.len() > 92 {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += word.len();
    }
    out
}

impl Finding for CheckThenActReport {
    fn kind(&self) -> FindingKind {
        FindingKind::CheckThenAct
    }

    fn identity(&self) -> [u64; 3] {
        let location = self.act.location.unwrap_or(self.map.created_at);
        identity(
            Site::new(self.act.op, location),
            self.write.site,
            self.check.site,
        )
    }

    fn event(&self) {
        tracing::error!(
            target: "maprace",
            kind = "check-then-act",
            op = self.act.op.name(),
            key = self.act.key.as_deref(),
            map = self.map.name.as_str(),
            map_type = self.map.type_name.as_str(),
            site = self.act_site().as_str(),
            thread = ThreadLabel(self.act.epoch).to_string().as_str(),
            write_op = self.write.site.op().name(),
            write_site = site_text(self.write.site.location()).as_str(),
            write_thread = ThreadLabel(self.write.epoch).to_string().as_str(),
            check_op = self.check.site.op().name(),
            check_site = site_text(self.check.site.location()).as_str(),
            check_found = if self.check.absent { "absent" } else { "present" },
            map_created_at = SourcePos::of(self.map.created_at).to_string().as_str(),
            "WARNING: MAP CHECK-THEN-ACT: {} ({}) in {} at {}",
            self.act.op.name(),
            self.key(),
            self.map.name,
            self.act_site()
        );
    }
}

impl fmt::Display for CheckThenActReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (act, write, check, map) = (&self.act, &self.write, &self.check, &self.map);
        let key = self.key();
        writeln!(f, "{RULE}")?;
        writeln!(f, "WARNING: MAP CHECK-THEN-ACT")?;
        writeln!(
            f,
            "Act ({}) of key {key} in {} ({}) at {}",
            act.op.name(),
            map.name,
            map.type_name,
            self.act_site()
        )?;
        writeln!(f, "  by {}:", ThreadLabel(act.epoch))?;
        write!(f, "{}", Stack(&self.stack))?;
        writeln!(f)?;
        writeln!(
            f,
            "Other thread's write ({}) of key {key} at {}",
            write.site.op().name(),
            site_text(write.site.location())
        )?;
        writeln!(f, "  by {}", ThreadLabel(write.epoch))?;
        writeln!(f)?;
        let found = if check.absent { "absent" } else { "present" };
        writeln!(
            f,
            "Check ({}) of key {key}, found {found}, at {}",
            check.site.op().name(),
            site_text(check.site.location())
        )?;
        writeln!(
            f,
            "  by {}, before it last took a lock that another thread had held",
            ThreadLabel(act.epoch)
        )?;

        let mut threads = vec![act.epoch, write.epoch];
        threads.dedup_by_key(|epoch| thread::info(*epoch).map(|t| t.serial));
        for epoch in threads {
            let Some(created_at) = thread::info(epoch).and_then(|t| t.created_at()) else {
                continue;
            };
            writeln!(f)?;
            writeln!(f, "{} created at:", Capitalized(ThreadLabel(epoch)))?;
            write!(f, "{}", Stack(&stack::user_frames(&created_at)))?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "Map {} created at {}",
            map.name,
            SourcePos::of(map.created_at)
        )?;
        writeln!(f)?;
        writeln!(f, "{}", self.fix())?;
        writeln!(f, "{RULE}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(components: &[(Tid, u64)]) -> VectorClock {
        let mut vc = VectorClock::new();
        for &(tid, c) in components {
            vc.set(tid, c);
        }
        vc
    }

    /// A cell's address, as a record keeps it, and another cell's.
    const CELL: *const super::super::cell::Cell = 0x1000 as *const _;
    const OTHER: usize = 0x2000;

    /// The read word of a cell made by an insert of `tid` at `clock` (see `Cell::written`).
    fn made(tid: Tid, clock: u64) -> u64 {
        Epoch::new(tid, clock).bits() | SiteId::CREATED.bits()
    }

    fn write_of(tid: Tid, clock: u64) -> u64 {
        Epoch::new(tid, clock).bits()
    }

    /// The epoch of slot 1 at `clock`, with a tick owed (`owed`) or not.
    fn at(clock: u64, owed: bool) -> Epoch {
        let epoch = Epoch::new(1, clock);
        if owed { epoch.with_flag() } else { epoch }
    }

    #[test]
    fn no_act_is_tested_before_a_stretch_begins_or_after_news_by_another_edge() {
        let me = Local::new(true, 1);
        assert!(!me.unseen(write_of(2, 5), 1), "no stretch yet");
        me.open_stretch(&clock(&[(1, 1)]), at(1, false));
        assert!(me.unseen(write_of(2, 5), 1));
        assert!(!me.unseen(write_of(1, 5), 1), "its own write");
        me.acquired(&clock(&[(1, 1)]));
        assert!(me.unseen(write_of(2, 5), 1), "a clock with nothing new");
        me.acquired(&clock(&[(2, 5)]));
        assert!(
            !me.unseen(write_of(2, 5), 1),
            "learned by a channel, a join..."
        );
        me.open_stretch(&clock(&[(1, 2), (2, 5)]), at(2, false));
        assert!(!me.unseen(write_of(2, 5), 1), "known before the lock");
        assert!(me.unseen(write_of(2, 6), 1));
    }

    #[test]
    fn off_nothing_is_recorded_and_no_act_is_tested() {
        let me = Local::new(false, 1);
        me.open_stretch(&clock(&[(1, 1)]), at(1, false));
        assert!(!me.unseen(write_of(2, 5), 1));
        me.record(tag(1, 7), CELL, 0, SiteId::UNKNOWN);
        assert_eq!(me.checks.iter().map(|c| c.at.get()).max(), Some(0));
    }

    #[test]
    fn a_record_counts_only_in_the_previous_stretch_and_only_if_a_write_came_after_it() {
        let me = Local::new(true, 1);
        let key = tag(3, 0xfeed_beef_1234_5678);
        let before = write_of(1, 1);
        me.record(key, CELL, before, SiteId::UNKNOWN);
        let none = |_: &()| None;
        let find = |write| {
            me.find_check(
                write,
                0,
                CELL as usize,
                1,
                3,
                Some(0xfeed_beef_1234_5678),
                &|| none(&()),
            )
        };
        assert!(find(write_of(2, 4)).is_none(), "same stretch");
        me.open_stretch(&clock(&[(1, 1)]), at(1, false));
        assert!(find(before).is_none(), "the write the check saw");
        let found = find(write_of(2, 4)).expect("a write after the check");
        assert!(!found.absent);
        let read_again = Epoch::new(1, 2).bits();
        assert!(
            me.find_check(
                write_of(2, 4),
                read_again,
                CELL as usize,
                1,
                3,
                Some(0xfeed_beef_1234_5678),
                &|| None
            )
            .is_none(),
            "the key read again since the write (an uncovered read of this thread's)"
        );
        let covered = read_again | Epoch::FLAG2;
        assert!(
            me.find_check(
                write_of(2, 4),
                covered,
                CELL as usize,
                1,
                3,
                Some(0xfeed_beef_1234_5678),
                &|| None
            )
            .is_some(),
            "a read the write covers is from before it"
        );
        me.open_stretch(&clock(&[(1, 2)]), at(2, false));
        assert!(find(write_of(2, 4)).is_none(), "two stretches back");
    }

    #[test]
    fn an_absent_record_sees_any_write_as_after_it() {
        let me = Local::new(true, 1);
        me.record_absent(tag(3, 99), SiteId::UNKNOWN);
        me.open_stretch(&clock(&[(1, 1)]), at(1, false));
        let found = me
            .find_check(write_of(2, 1), made(2, 1), OTHER, 1, 3, Some(99), &|| None)
            .expect("inserted after the check");
        assert!(found.absent);
        assert!(
            me.find_check(write_of(2, 1), made(2, 1), OTHER, 1, 4, Some(99), &|| None)
                .is_none(),
            "another map"
        );
    }

    #[test]
    fn a_covered_read_in_the_cell_counts_in_the_previous_stretch_only() {
        let me = Local::new(true, 1);
        me.open_stretch(&clock(&[(1, 3)]), at(3, true)); // its reads from clock 4 on
        me.open_stretch(&clock(&[(1, 5)]), at(5, true));
        let read = |tid, clock| Epoch::new(tid, clock).bits() | Epoch::FLAG2;
        let find = |read| me.find_check(write_of(2, 9), read, OTHER, 1, 3, None, &|| None);
        assert!(find(read(1, 4)).is_some());
        assert!(find(read(1, 5)).is_some());
        assert!(find(read(1, 3)).is_none(), "before the previous stretch");
        assert!(find(read(1, 6)).is_none(), "after the current one began");
        assert!(find(read(2, 4)).is_none(), "another thread's read");
        assert!(find(read(1, 4) & !Epoch::FLAG2).is_none(), "not covered");
        // A stretch begun with no tick owed shares its first clock with the one before.
        me.open_stretch(&clock(&[(1, 6)]), at(6, false));
        me.open_stretch(&clock(&[(1, 8)]), at(8, true));
        assert!(find(read(1, 6)).is_some());
        assert!(find(read(1, 5)).is_none());
    }
}
