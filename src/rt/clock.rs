//! Vector clocks and FastTrack epochs.
//!
//! A thread's clock advances at each release it performs (unlock, spawn, send...). An access is
//! stamped with its thread's current *epoch*, `clock@tid`; access `a` happens before the current
//! thread's point of view `C` exactly when `a.clock <= C[a.tid]`.

/// Thread slot: a dense index into vector clocks (reused by a thread whose parent joined the
/// slot's previous holder, see `thread::Registry`).
pub(crate) type Tid = u32;

/// `clock@tid` packed in a `u64`, laid out as a shadow cell's words are (see `cell::Cell`), with
/// the site bits zero: a cell word is an epoch, its flags and an interned site id.
///
/// Layout: `[flag:1][flag2:1][tid:14][clock:32][site:16]`. The flags' meaning belongs to the word
/// holding them: in a thread's cached epoch, `FLAG` says a tick is owed; in a write word, a write
/// in progress (`FLAG2` spare); in a read word, a read set (`FLAG`) and a covered read (`FLAG2`).
///
/// The widths, and what happens past each (never a wrong verdict):
/// - 14 bits of slot: 16,383 slots (0 to `MAX_TID`, and one value that means "none"), held by
///   the threads alive, by up to 256 ended ones nothing ordered yet and by used-up slots (see
///   `thread::Registry`); a thread that finds none left runs checked but unrecorded
///   (`UNRECORDED`: its accesses are checked against others' and stamped clock 0, which every
///   thread has seen; it carries and passes on clocks, so no edge is lost; races where its
///   access comes first are missed). Slots are reused, so this bounds the threads alive, not
///   the threads of a run.
/// - 32 bits of clock: 4.29 billion releases per slot. A thread whose clock would pass
///   `MAX_CLOCK` moves to a fresh slot (its vector clock keeps the old slot's component at its
///   last value, so its own earlier accesses stay ordered before its later ones); the old slot
///   is never used again. At one release every 20 ns, a slot lasts 86 s of nothing but releases.
/// - 16 bits of site: 49,151 distinct call sites (three quarters of the id space, so that
///   interning stays a short probe); later sites are recorded as unknown, and a report says so
///   (see `site::SiteId`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Epoch(u64);

impl Epoch {
    pub(crate) const SITE_BITS: u32 = 16;
    const CLOCK_BITS: u32 = 32;
    const TID_BITS: u32 = 14;
    const TID_SHIFT: u32 = Self::SITE_BITS + Self::CLOCK_BITS;
    pub(crate) const FLAG: u64 = 1 << 63;
    pub(crate) const FLAG2: u64 = 1 << 62;
    /// The bits of a word that are its epoch (slot and clock).
    pub(crate) const MASK: u64 =
        ((1 << (Self::TID_BITS + Self::CLOCK_BITS)) - 1) << Self::SITE_BITS;
    pub(crate) const MAX_CLOCK: u64 = (1 << Self::CLOCK_BITS) - 1;
    const TID_MASK: u64 = (1 << Self::TID_BITS) - 1;
    /// The highest slot a thread can hold.
    pub(crate) const MAX_TID: Tid = (1 << Self::TID_BITS) - 2;
    /// The slot of a thread that could not get one (see the type's docs).
    pub(crate) const UNRECORDED: Tid = (1 << Self::TID_BITS) - 1;
    /// No access (clock 0: every thread's clock starts at 1 or more).
    pub(crate) const NONE: Epoch = Epoch(0);

    #[inline]
    pub(crate) fn new(tid: Tid, clock: u64) -> Epoch {
        debug_assert!(tid <= Self::UNRECORDED && clock <= Self::MAX_CLOCK);
        Epoch(((tid as u64) << Self::TID_SHIFT) | (clock << Self::SITE_BITS))
    }

    /// The epoch of a thread that holds no slot: clock 0, which every clock covers.
    pub(crate) const fn unrecorded() -> Epoch {
        Epoch((Self::UNRECORDED as u64) << Self::TID_SHIFT)
    }

    /// What a DashMap clock records as the release of a thread that holds no slot: an epoch
    /// no clock covers (no clock has a component for `UNRECORDED`, and no thread's time in it
    /// begins: see `Ctx::era_start`), so every acquirer joins the clock. Its own stamp, clock 0,
    /// would say the opposite: that every thread has seen the release, whose clock carries
    /// what that thread joined from others.
    #[cfg(feature = "dashmap")]
    pub(crate) const UNRECORDED_RELEASE: Epoch =
        Epoch(((Self::UNRECORDED as u64) << Self::TID_SHIFT) | (1 << Self::SITE_BITS));

    /// The word as it is (flags and site bits included).
    #[inline]
    pub(crate) fn from_bits(bits: u64) -> Epoch {
        Epoch(bits)
    }

    /// The epoch of a cell word: its flags and site cleared.
    #[inline]
    pub(crate) fn of_word(word: u64) -> Epoch {
        Epoch(word & Self::MASK)
    }

    #[inline]
    pub(crate) fn bits(self) -> u64 {
        self.0
    }

    #[inline]
    pub(crate) fn tid(self) -> Tid {
        ((self.0 >> Self::TID_SHIFT) & Self::TID_MASK) as Tid
    }

    /// The thread slot with the flag bits above it: equal to a bare `Tid` only when unflagged.
    #[inline]
    pub(crate) fn tid_and_flag(self) -> u64 {
        self.0 >> Self::TID_SHIFT
    }

    #[inline]
    pub(crate) fn clock(self) -> u64 {
        (self.0 >> Self::SITE_BITS) & Self::MAX_CLOCK
    }

    #[inline]
    pub(crate) fn flagged(self) -> bool {
        self.0 & Self::FLAG != 0
    }

    /// The epoch marked (a thread's cached epoch whose tick is owed): both flag bits set, a
    /// pair that no cell word holds (a write word's `FLAG2` is spare; a read word has `FLAG2`
    /// only on a single read, `FLAG` only on a read set), so a marked epoch is never "the same
    /// epoch" as a cell word's (see `Ctx::stamp`).
    #[inline]
    pub(crate) fn with_flag(self) -> Epoch {
        Epoch(self.0 | Self::FLAG | Self::FLAG2)
    }

    #[inline]
    pub(crate) fn without_flag(self) -> Epoch {
        Epoch(self.0 & !(Self::FLAG | Self::FLAG2))
    }
}

/// A vector clock: for each thread slot, the last clock of that thread this one has seen.
/// Grows on demand, so there is no limit on the number of threads.
#[derive(Default, PartialEq, Eq, Debug)]
pub(crate) struct VectorClock {
    clocks: Vec<u64>,
}

impl Clone for VectorClock {
    fn clone(&self) -> Self {
        VectorClock {
            clocks: self.clocks.clone(),
        }
    }

    /// Reuses the allocation: a lock's release copies the holder's clock into the lock's, and
    /// must not allocate (`derive(Clone)` would, as its `clone_from` clones then replaces).
    fn clone_from(&mut self, source: &Self) {
        self.clocks.clone_from(&source.clocks);
    }
}

impl VectorClock {
    #[inline]
    pub(crate) const fn new() -> VectorClock {
        VectorClock { clocks: Vec::new() }
    }

    #[inline]
    pub(crate) fn get(&self, tid: Tid) -> u64 {
        self.clocks.get(tid as usize).copied().unwrap_or(0)
    }

    #[inline]
    pub(crate) fn set(&mut self, tid: Tid, clock: u64) {
        let i = tid as usize;
        if i >= self.clocks.len() {
            self.grow_to(i + 1);
        }
        self.clocks[i] = clock;
    }

    /// Out of line: clocks grow rarely, and the paths that set or join them are hot.
    #[cold]
    #[inline(never)]
    fn grow_to(&mut self, len: usize) {
        self.clocks.resize(len, 0);
    }

    /// Nothing seen (the allocation is kept).
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.clocks.clear();
    }

    /// Grows the clock to `ClockCopy::HEAD` components (zeros: nothing seen), so that a lock's
    /// copy of it is made by fixed moves. Threads' own clocks are padded when made.
    pub(crate) fn pad_for_copies(&mut self) {
        if self.clocks.len() < ClockCopy::HEAD {
            self.grow_to(ClockCopy::HEAD);
        }
    }

    /// Pointwise maximum: everything `other` has seen, this clock has now seen too.
    #[inline]
    pub(crate) fn join(&mut self, other: &VectorClock) {
        if other.clocks.len() > self.clocks.len() {
            self.clocks.resize(other.clocks.len(), 0);
        }
        for (mine, theirs) in self.clocks.iter_mut().zip(&other.clocks) {
            *mine = (*mine).max(*theirs);
        }
    }

    /// Has `copy` seen everything this clock has?
    pub(crate) fn covered_by(&self, copy: &ClockCopy) -> bool {
        self.clocks
            .iter()
            .enumerate()
            .all(|(tid, &mine)| mine <= copy.get(tid as Tid))
    }

    /// Has this clock seen everything `other` has?
    pub(crate) fn covers(&self, other: &VectorClock) -> bool {
        other
            .clocks
            .iter()
            .enumerate()
            .all(|(tid, &theirs)| theirs <= self.get(tid as Tid))
    }

    /// `join` with a `ClockCopy`: the same pointwise maximum, over its in-place head without a
    /// loop bound or a length check (this clock is first grown to the head's length, once).
    #[inline]
    pub(crate) fn join_copy(&mut self, copy: &ClockCopy) {
        self.pad_for_copies();
        for (mine, theirs) in self.clocks.iter_mut().zip(&copy.head) {
            *mine = (*mine).max(*theirs);
        }
        if let Some(tail) = &copy.tail {
            self.join_tail(tail);
        }
    }

    #[cold]
    fn join_tail(&mut self, tail: &[u64]) {
        let len = ClockCopy::HEAD + tail.len();
        if self.clocks.len() < len {
            self.grow_to(len);
        }
        for (mine, theirs) in self.clocks[ClockCopy::HEAD..].iter_mut().zip(tail) {
            *mine = (*mine).max(*theirs);
        }
    }

    /// Does the access stamped `epoch` happen before the point this clock describes?
    #[inline]
    pub(crate) fn happens_before(&self, epoch: Epoch) -> bool {
        epoch.clock() <= self.get(epoch.tid())
    }
}

/// A copy of a vector clock kept by a lock (its last releaser's clock), made and joined on
/// every lock operation. The first `HEAD` components live in place, in a value that shares a
/// cache line with the lock's own word (see `sync::Mutex`), so that copying and joining them
/// is a few fixed moves; the rest (programs with more thread slots alive) on the heap, reused
/// while the number of slots stays the same. The tail is behind a thin pointer (one word, not a
/// slice's two), which leaves room in `sync::Mutex`'s first cache line for its `LockId`.
#[derive(Default, Debug)]
pub(crate) struct ClockCopy {
    head: [u64; ClockCopy::HEAD],
    #[allow(clippy::box_collection)] // a thin pointer: see above
    tail: Option<Box<Vec<u64>>>,
}

impl ClockCopy {
    /// Slots in place: the main thread and three others.
    const HEAD: usize = 4;

    pub(crate) const fn new() -> ClockCopy {
        ClockCopy {
            head: [0; ClockCopy::HEAD],
            tail: None,
        }
    }

    /// The component of `tid`, as in the clock it copies.
    #[inline]
    pub(crate) fn get(&self, tid: Tid) -> u64 {
        let i = tid as usize;
        match self.head.get(i) {
            Some(&clock) => clock,
            None => self.tail_get(i - ClockCopy::HEAD),
        }
    }

    #[cold]
    fn tail_get(&self, i: usize) -> u64 {
        self.tail
            .as_ref()
            .and_then(|tail| tail.get(i).copied())
            .unwrap_or(0)
    }

    /// Does the access stamped `epoch` happen before the point the copied clock describes?
    #[inline]
    pub(crate) fn happens_before(&self, epoch: Epoch) -> bool {
        epoch.clock() <= self.get(epoch.tid())
    }

    /// Becomes a copy of `clock` (without allocating, unless its tail changed length).
    #[inline]
    pub(crate) fn copy_from(&mut self, clock: &VectorClock) {
        let clocks = clock.clocks.as_slice();
        match clocks.split_first_chunk::<{ ClockCopy::HEAD }>() {
            Some((head, tail)) => {
                self.head = *head;
                if !tail.is_empty() || self.tail.is_some() {
                    self.copy_tail(tail);
                }
            }
            None => self.copy_short(clocks),
        }
    }

    /// Becomes the pointwise maximum of itself and `clock` (allocating only when `clock` has
    /// more components than it had).
    #[cfg(feature = "dashmap")]
    pub(crate) fn join_from(&mut self, clock: &VectorClock) {
        let clocks = clock.clocks.as_slice();
        for (mine, theirs) in self.head.iter_mut().zip(clocks) {
            *mine = (*mine).max(*theirs);
        }
        let tail = clocks.get(ClockCopy::HEAD..).unwrap_or(&[]);
        if tail.len() > self.tail.as_ref().map_or(0, |t| t.len()) {
            let mut grown = vec![0; tail.len()];
            if let Some(old) = &self.tail {
                grown[..old.len()].copy_from_slice(old);
            }
            self.tail = Some(Box::new(grown));
        }
        if let Some(mine) = &mut self.tail {
            for (mine, theirs) in mine.iter_mut().zip(tail) {
                *mine = (*mine).max(*theirs);
            }
        }
    }

    /// A clock shorter than the head (threads' own clocks never are: see `pad_for_copies`).
    #[cold]
    #[inline(never)]
    fn copy_short(&mut self, clocks: &[u64]) {
        self.head = [0; ClockCopy::HEAD];
        self.head[..clocks.len()].copy_from_slice(clocks);
        self.copy_tail(&[]);
    }

    #[cold]
    #[inline(never)]
    fn copy_tail(&mut self, tail: &[u64]) {
        match &mut self.tail {
            _ if tail.is_empty() => self.tail = None,
            Some(mine) if mine.len() == tail.len() => mine.copy_from_slice(tail),
            _ => self.tail = Some(Box::new(tail.to_vec())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_packs_tid_clock_and_flag_independently() {
        let e = Epoch::new(Epoch::MAX_TID, Epoch::MAX_CLOCK);
        assert_eq!(e.tid(), Epoch::MAX_TID);
        assert_eq!(e.clock(), Epoch::MAX_CLOCK);
        assert_eq!(e.bits() & !Epoch::MASK, 0, "no flag or site bit");
        let word = e.bits() | Epoch::FLAG | Epoch::FLAG2 | 0xffff;
        assert_eq!(Epoch::of_word(word), e);
        assert_eq!(Epoch::from_bits(word).tid(), Epoch::MAX_TID);
        assert_eq!(Epoch::from_bits(word).clock(), Epoch::MAX_CLOCK);
        assert_eq!(Epoch::unrecorded().clock(), 0, "covered by every clock");
        assert_eq!(Epoch::unrecorded().tid(), Epoch::UNRECORDED);
        let busy = e.with_flag();
        assert!(busy.flagged());
        assert_eq!(busy.tid(), Epoch::MAX_TID);
        assert_eq!(busy.without_flag(), e);
    }

    #[test]
    fn join_takes_the_pointwise_maximum_and_grows() {
        let mut a = VectorClock::new();
        a.set(0, 5);
        let mut b = VectorClock::new();
        b.set(0, 2);
        b.set(3, 7);
        a.join(&b);
        assert_eq!((a.get(0), a.get(1), a.get(3)), (5, 0, 7));
    }

    #[test]
    fn happens_before_compares_the_epoch_with_its_own_thread_component() {
        let mut c = VectorClock::new();
        c.set(1, 4);
        assert!(c.happens_before(Epoch::new(1, 4)));
        assert!(!c.happens_before(Epoch::new(1, 5)));
        assert!(!c.happens_before(Epoch::new(9, 1)));
        assert!(
            c.happens_before(Epoch::from_bits(0)),
            "no access happens before everything"
        );
    }

    #[test]
    fn clone_from_copies_without_a_new_allocation() {
        let mut lock = VectorClock::new();
        lock.set(7, 1);
        let buffer = lock.clocks.as_ptr();
        let mut holder = VectorClock::new();
        holder.set(3, 9);
        lock.clone_from(&holder);
        assert_eq!(lock, holder);
        assert_eq!(lock.clocks.as_ptr(), buffer, "the lock's buffer is reused");
    }

    #[test]
    fn a_clock_copy_joins_as_the_clock_it_copies() {
        let clock = |len: Tid, base: u64| {
            let mut c = VectorClock::new();
            for tid in 0..len {
                c.set(tid, base + u64::from(tid));
            }
            c
        };
        for len in [1, 3, 4, 5, 9] {
            let original = clock(len, 10);
            // What the copy held before must not show through: a longer clock (its tail is
            // dropped), or one of the same length with larger components (its tail is reused).
            for before in [clock(13, 1), clock(len, 99)] {
                let mut copy = ClockCopy::new();
                copy.copy_from(&before);
                copy.copy_from(&original);

                let mut via_copy = VectorClock::new();
                via_copy.set(1, 50);
                let mut via_join = VectorClock::new();
                via_join.set(1, 50);
                via_copy.join_copy(&copy);
                via_join.join(&original);
                for tid in 0..16 {
                    assert_eq!(
                        via_copy.get(tid),
                        via_join.get(tid),
                        "len {len}, slot {tid}"
                    );
                }
            }
        }
    }
}
