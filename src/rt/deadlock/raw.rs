//! Raw locks: what parking_lot's mirrors call. Their guards are lock_api's own types and keep
//! nothing of maprace's, so the raw lock records the hold in the thread's list when it locks
//! (`raw_taken`) and finds it again by the lock's `LockId` and mode when it unlocks
//! (`raw_released`); an exclusive raw lock keeps its holder's place in the list instead, in a
//! word of its own that only the holder touches (`Kept`), and ends the hold there. That needs the unlock on the locking thread, as lock_api's guards are
//! unless parking_lot's `send_guard` feature is on (the mirrors then record nothing).

use super::{
    Call, Entry, Evidence, GONE, Held, Hold, INLINE, INLINE_BITS, LOCK_HINT, LockId, LockMode,
    MINE, Resource, Tag, Verdict, Waiting, check_own, holding, publish, report,
};
use crate::rt::{self, site::Site};
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

/// A raw lock's blocking call, as the self-deadlock rules tell them apart: parking_lot's
/// `RwLock` is fair to writers, so a new reader waits behind a writer that waits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum LockCall {
    /// `Mutex::lock`, `RwLock::write`: waits for every other hold.
    Exclusive,
    /// `upgradable_read`: waits for a writer or another upgradable reader, and, as a new reader,
    /// behind a writer that waits.
    Upgradable,
    /// `read`: waits for a writer, and behind a writer that waits.
    Shared,
    /// `read_recursive`: waits only for a writer that holds the lock.
    SharedRecursive,
    /// `upgrade` of this thread's upgradable read: waits for every other reader to leave.
    Upgrade,
}

impl LockCall {
    /// The mode the call waits to hold the lock in (and holds it in once it returns).
    pub(crate) fn mode(self) -> LockMode {
        match self {
            LockCall::Exclusive | LockCall::Upgrade => LockMode::Exclusive,
            LockCall::Upgradable => LockMode::Upgradable,
            LockCall::Shared | LockCall::SharedRecursive => LockMode::Shared,
        }
    }

    /// The verdict on this thread's own hold of the lock in `held` mode. `upgradable`: the
    /// thread holds the lock's upgradable read, so no writer can be waiting with the lock
    /// marked for it (it waits for the upgradable reader first), and a new read never waits.
    fn own_verdict(self, held: LockMode, upgradable: bool) -> Option<Verdict> {
        use LockCall as C;
        use LockMode as M;
        match (self, held) {
            (C::Upgrade, M::Upgradable) => None, // the hold being upgraded
            (C::Exclusive | C::Upgrade, _) | (_, M::Exclusive) => Some(Verdict::Certain),
            (C::Upgradable, M::Upgradable) => Some(Verdict::Certain),
            (C::Upgradable | C::Shared, M::Shared) if !upgradable => Some(Verdict::Latent),
            _ => None,
        }
    }
}

/// A raw lock's blocking `call` on `lock` at `site`: with nothing held, `blocking()` after one
/// test. Otherwise this thread's own holds of the lock are looked at first (a latent deadlock,
/// a read that waits whenever a writer comes between, is reported whether or not the lock is
/// free now), then `try_lock`; only if that fails, a certain self-deadlock is reported, the
/// wait published and a cycle looked for, then `blocking()`.
#[inline(always)]
pub(crate) fn lock_raw(
    lock: &LockId,
    call: LockCall,
    site: Site,
    tag: &'static Tag,
    try_lock: impl FnOnce() -> bool,
    blocking: impl FnOnce(),
) {
    let Some(list) = holding() else {
        return blocking();
    };
    lock_raw_holding(list, lock, call, site, tag, try_lock, blocking);
}

/// `lock_raw` for a thread whose `list` holds something (`deadlock::holding_in`). When it holds
/// nothing, `blocking()` is the whole call, and the list still holds nothing after it (only its
/// owner adds holds, and `blocking` adds none), so `Kept::taken` may be told so.
#[inline(always)]
pub(crate) fn lock_raw_holding(
    list: &'static Held,
    lock: &LockId,
    call: LockCall,
    site: Site,
    tag: &'static Tag,
    try_lock: impl FnOnce() -> bool,
    blocking: impl FnOnce(),
) {
    let what = String::new;
    let kind = call;
    let call = Call {
        resource: lock.resource(),
        mode: kind.mode(),
        site,
        tag,
        what: &what,
    };
    let certain = own_lock_holds(list, &call, kind);
    if try_lock() {
        return;
    }
    let waiting = lock_blocks(list, &call, certain);
    blocking();
    drop(waiting);
}

/// This thread's holds of the call's lock that certainly block it; a latent deadlock is
/// reported here.
#[cold]
#[inline(never)]
fn own_lock_holds(list: &Held, call: &Call<'_>, kind: LockCall) -> Option<Vec<Hold>> {
    let mine = |hold: &Hold| hold.resource == call.resource;
    let upgradable = list
        .holds()
        .any(|hold| mine(&hold) && hold.mode == LockMode::Upgradable);
    let conflict = |hold: &Hold| {
        mine(hold)
            .then(|| kind.own_verdict(hold.mode, upgradable))
            .flatten()
    };
    match check_own(list, call.site, &conflict)? {
        (Verdict::Certain, holds) => Some(holds),
        (Verdict::Latent, holds) => {
            report(
                call,
                Verdict::Latent,
                Evidence::Own(holds),
                READ_BEHIND_WRITER_HINT,
            );
            None
        }
    }
}

/// The lock is taken: `certain` (this thread's own holds) is reported, else the wait is
/// published and a cycle through other threads looked for.
#[cold]
#[inline(never)]
fn lock_blocks(list: &'static Held, call: &Call<'_>, certain: Option<Vec<Hold>>) -> Waiting {
    if let Some(holds) = certain {
        report(call, Verdict::Certain, Evidence::Own(holds), LOCK_HINT);
    }
    let waiting = publish(list, call);
    waiting.busy(call.what);
    waiting
}

const READ_BEHIND_WRITER_HINT: &str = "This thread already reads the lock, and the call waits behind any writer that waits for it:\n\
     parking_lot's RwLock is fair to writers. Whenever another thread asks to write between the\n\
     two reads, the writer waits for this thread's first read and the call waits for the writer,\n\
     forever. Use `read_recursive` for a read inside a read, or pass the guard down.";

/// A raw lock is now held in `mode`, taken at `site`: the hold goes in this thread's list.
#[inline]
pub(crate) fn raw_taken(lock: &LockId, mode: LockMode, site: Site, tag: &'static Tag) {
    const ON: u8 = rt::ENABLED | rt::DEADLOCK;
    if rt::mode() & ON != ON {
        return;
    }
    if let Some(list) = Held::mine() {
        list.push(lock.resource(), mode, site, tag);
    }
}

/// `Kept::packed`: the hold is in the list, but its index does not fit (it is found by the
/// lock's `LockId` instead, as `raw_released` finds it).
const KEPT_INDEX_UNKNOWN: u64 = 0xFFFF;

/// An exclusive raw lock's hold, kept by the lock itself (a word only its holder touches, under
/// the lock), so that the unlock ends it at its place in the list instead of looking for it:
/// `token << 16 | index`, 0 for none.
#[derive(Default)]
pub(crate) struct Kept(AtomicU64);

impl Kept {
    pub(crate) const fn new() -> Kept {
        Kept(AtomicU64::new(0))
    }

    /// The lock is now held exclusively, taken at `site`, by this thread, whose list (from
    /// `deadlock::lock_list`) is `list`: the hold goes in the list, and its place here.
    /// `empty`: the caller found the list holding nothing (`holding_in`) before it took the
    /// lock (see `lock_raw_holding`).
    #[inline(always)]
    pub(crate) fn taken(
        &self,
        list: Option<&'static Held>,
        empty: bool,
        lock: &LockId,
        site: Site,
        tag: &'static Tag,
    ) {
        let Some(list) = list else {
            return;
        };
        let token = match empty {
            true => list.push_first(lock.resource(), LockMode::Exclusive, site, tag),
            false => list.push(lock.resource(), LockMode::Exclusive, site, tag),
        };
        let index = (token.index as u64).min(KEPT_INDEX_UNKNOWN);
        self.0.store(token.token << 16 | index, Relaxed);
    }

    /// The lock is about to be unlocked on this thread (an unlock, not a wait that takes the
    /// lock back): its hold ends. In place when its entry is one of the list's first
    /// `INLINE`, as `Token::end` for a guard's hold: the list always has those (`len` is never
    /// below), so only the token is tested; else as `released`.
    #[inline(always)]
    pub(crate) fn ended(&self, lock: &LockId) {
        let packed = self.0.load(Relaxed);
        if packed == 0 {
            return;
        }
        let index = (packed & KEPT_INDEX_UNKNOWN) as usize;
        let list = MINE.get();
        if index < INLINE && (list as usize) > GONE {
            self.0.store(0, Relaxed);
            // SAFETY: lists are leaked at creation and never freed.
            unsafe { &*list }.pop_inline(index, packed >> 16);
        } else {
            self.released(lock);
        }
    }

    /// The lock is about to be unlocked on this thread: its hold ends. The site it was taken at,
    /// if it was recorded.
    #[inline(always)]
    pub(crate) fn released(&self, lock: &LockId) -> Option<Site> {
        let packed = self.0.load(Relaxed);
        if packed == 0 {
            return None;
        }
        self.0.store(0, Relaxed);
        let list = Held::peek()?;
        match packed & KEPT_INDEX_UNKNOWN {
            KEPT_INDEX_UNKNOWN => list.pop_lock(lock.recorded()?, LockMode::Exclusive),
            index => list.pop_at(index as usize, packed >> 16),
        }
    }
}

/// A raw lock held in `mode` is about to be unlocked on this thread: its hold ends. The site it
/// was taken at, if it was recorded.
#[inline]
pub(crate) fn raw_released(lock: &LockId, mode: LockMode) -> Option<Site> {
    const ON: u8 = rt::ENABLED | rt::DEADLOCK;
    if rt::mode() & ON != ON {
        return None;
    }
    let list = Held::peek().filter(|list| !list.is_empty())?;
    list.pop_lock(lock.recorded()?, mode)
}

/// A raw lock held in `from` mode is now held in `to` (an upgrade, a downgrade): the hold keeps
/// the site the lock was first taken at.
#[inline]
pub(crate) fn raw_changed(lock: &LockId, from: LockMode, to: LockMode, tag: &'static Tag) {
    if let Some(site) = raw_released(lock, from) {
        raw_taken(lock, to, site, tag);
    }
}

impl Held {
    /// The current thread's list, if it has one (none is made).
    #[inline(always)]
    fn peek() -> Option<&'static Held> {
        let list = MINE.get();
        // SAFETY: lists are leaked at creation and never freed.
        ((list as usize) > GONE).then(|| unsafe { &*list })
    }

    /// Owner only: ends the newest hold of `lock` in `mode` (holds of one lock in one mode
    /// differ only by their site: a thread's reads of one `RwLock`; guards are dropped newest
    /// first far more often than not, and a report then names the guard still held); its site.
    /// Tokens grow with each hold, so the newest is the one with the greatest. The common case
    /// first: one entry in use, in place, is the only candidate.
    fn pop_lock(&self, lock: Resource, mode: LockMode) -> Option<Site> {
        let info = Hold::new(lock, mode, Site::UNKNOWN, &RAW).info();
        let matches = |entry: &Entry, token: u64| {
            token != 0
                && entry.object.load(Relaxed) == lock.object
                && entry.info.load(Relaxed) == info
        };
        let used = self.used.load(Relaxed);
        let newest = if used & used.wrapping_sub(1) == 0 && used & INLINE_BITS != 0 {
            let index = used.trailing_zeros() as usize;
            let token = self.entries[index].token.load(Relaxed);
            matches(&self.entries[index], token).then_some((index, token))
        } else {
            self.newest_hold(&matches)
        };
        let (index, token) = newest?;
        // SAFETY: a live entry of this thread's own list, whose site word this thread stored
        // from `Site::bits` when it wrote the hold.
        let site = unsafe { Site::from_bits(self.entry(index).site.load(Relaxed)) };
        self.pop(index, token);
        Some(site)
    }

    /// Owner only: ends the hold `token` at `index`, if it is still there (the list may have been
    /// cleared and reused since); its site.
    #[inline(always)]
    fn pop_at(&self, index: usize, token: u64) -> Option<Site> {
        if index >= self.len.load(Relaxed) {
            return None;
        }
        let entry = self.entry(index);
        if entry.token.load(Relaxed) != token {
            return None;
        }
        // SAFETY: a live entry of this thread's own list, whose site word this thread stored
        // from `Site::bits` when it wrote the hold.
        let site = unsafe { Site::from_bits(entry.site.load(Relaxed)) };
        self.pop(index, token);
        Some(site)
    }

    /// Owner only: the entry of the newest hold that `matches`, and its token.
    #[inline(never)]
    fn newest_hold(&self, matches: &dyn Fn(&Entry, u64) -> bool) -> Option<(usize, u64)> {
        let mut newest: Option<(usize, u64)> = None;
        for index in 0..self.len.load(Relaxed) {
            let entry = self.entry(index);
            let token = entry.token.load(Relaxed);
            if matches(entry, token) && newest.is_none_or(|(_, newer)| token > newer) {
                newest = Some((index, token));
            }
        }
        newest
    }
}

/// A tag for `pop_lock`'s comparison (never stored).
static RAW: Tag = Tag::Lock("raw lock");

/// The tags of parking_lot's mirrors.
pub(crate) static PL_MUTEX: Tag = Tag::Lock("maprace::parking_lot::Mutex");
pub(crate) static PL_REENTRANT_MUTEX: Tag = Tag::Lock("maprace::parking_lot::ReentrantMutex");
pub(crate) static PL_RWLOCK: Tag = Tag::Lock("maprace::parking_lot::RwLock");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rt::site::Op;
    use std::panic::Location;

    #[test]
    fn a_raw_locks_hold_is_found_again_by_its_lock_and_mode() {
        let list: &'static Held = Box::leak(Box::new(Held::new()));
        let (a, b) = (
            Resource { object: 1, part: 0 },
            Resource { object: 2, part: 0 },
        );
        let read = Site::new(Op::Read, Location::caller());
        let write = Site::new(Op::Write, Location::caller());
        list.push(a, LockMode::Shared, read, &PL_RWLOCK);
        list.push(b, LockMode::Exclusive, write, &PL_RWLOCK);
        assert_eq!(list.pop_lock(a, LockMode::Exclusive), None, "not held so");
        assert_eq!(list.pop_lock(b, LockMode::Exclusive), Some(write));
        assert_eq!(list.pop_lock(b, LockMode::Exclusive), None, "ended once");
        assert_eq!(list.pop_lock(a, LockMode::Shared), Some(read));
        assert!(list.is_empty());
    }

    #[test]
    fn a_raw_locks_unlock_ends_the_newest_of_its_holds_in_that_mode() {
        let list: &'static Held = Box::leak(Box::new(Held::new()));
        let (a, b) = (
            Resource { object: 1, part: 7 },
            Resource { object: 2, part: 0 },
        );
        let sites = [
            Site::new(Op::Read, Location::caller()),
            Site::new(Op::Read, Location::caller()),
            Site::new(Op::Write, Location::caller()),
            Site::new(Op::Read, Location::caller()),
            Site::new(Op::Read, Location::caller()),
        ];
        let site = |n: usize| sites[n];
        list.push(a, LockMode::Shared, site(1), &PL_RWLOCK);
        list.push(b, LockMode::Exclusive, site(2), &PL_RWLOCK);
        list.push(a, LockMode::Shared, site(3), &PL_RWLOCK);
        assert_eq!(list.pop_lock(b, LockMode::Exclusive), Some(site(2)));
        list.push(a, LockMode::Shared, site(4), &PL_RWLOCK); // in b's entry, below site 3's
        let other_generation = Resource { object: 1, part: 8 };
        assert_eq!(list.pop_lock(other_generation, LockMode::Shared), None);
        assert_eq!(list.pop_lock(a, LockMode::Shared), Some(site(4)));
        assert_eq!(list.pop_lock(a, LockMode::Shared), Some(site(3)));
        assert_eq!(
            list.pop_lock(a, LockMode::Shared),
            Some(site(1)),
            "alone in the list"
        );
        assert_eq!(list.pop_lock(a, LockMode::Shared), None);
        assert!(list.is_empty());
    }

    #[test]
    fn an_exclusive_raw_locks_kept_hold_ends_at_its_place_once() {
        let list = Held::mine().expect("this thread's list");
        let (a, b) = (LockId::new(), LockId::new());
        let (kept_a, kept_b) = (Kept::new(), Kept::new());
        let site = Site::new(Op::Lock, Location::caller());
        kept_a.taken(Some(list), false, &a, site, &PL_MUTEX);
        kept_b.taken(Some(list), false, &b, site, &PL_MUTEX);
        assert_eq!(kept_a.released(&a), Some(site), "out of order");
        assert_eq!(kept_a.released(&a), None, "ended once");
        let left: Vec<Resource> = list.holds().map(|hold| hold.resource).collect();
        assert_eq!(left, [b.resource()]);
        assert_eq!(kept_b.released(&b), Some(site));
        assert!(list.is_empty());
        kept_a.taken(None, false, &a, site, &PL_MUTEX); // not recorded
        assert_eq!(kept_a.released(&a), None);
    }

    #[test]
    fn parking_lots_rules_on_the_threads_own_holds_of_the_lock() {
        use LockCall as C;
        use LockMode as M;
        use Verdict::{Certain, Latent};
        let rules = [
            (C::Exclusive, M::Shared, false, Some(Certain)),
            (C::Exclusive, M::Upgradable, true, Some(Certain)),
            (C::Shared, M::Exclusive, false, Some(Certain)),
            (C::SharedRecursive, M::Exclusive, false, Some(Certain)),
            (C::Upgradable, M::Exclusive, false, Some(Certain)),
            (C::Upgradable, M::Upgradable, true, Some(Certain)),
            (C::Upgrade, M::Shared, true, Some(Certain)),
            (C::Upgrade, M::Upgradable, true, None),
            (C::Shared, M::Shared, false, Some(Latent)),
            (C::Upgradable, M::Shared, false, Some(Latent)),
            (C::Shared, M::Shared, true, None),
            (C::Shared, M::Upgradable, true, None),
            (C::SharedRecursive, M::Shared, false, None),
            (C::SharedRecursive, M::Upgradable, true, None),
        ];
        for (call, held, upgradable, verdict) in rules {
            assert_eq!(
                call.own_verdict(held, upgradable),
                verdict,
                "{call:?} while holding {held:?} (upgradable read held: {upgradable})"
            );
        }
    }
}
