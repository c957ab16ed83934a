//! Vector clocks and FastTrack epochs.
//!
//! A thread's clock advances at each release it performs (unlock, spawn, send...). An access is
//! stamped with its thread's current *epoch*, `clock@tid`; access `a` happens before the current
//! thread's point of view `C` exactly when `a.clock <= C[a.tid]`.

/// Thread slot: a dense index into vector clocks (reused by a thread whose parent joined the
/// slot's previous holder, see `thread::Registry`).
pub(crate) type Tid = u32;

/// `clock@tid` packed in a `u64`, with one flag bit whose meaning belongs to the word holding
/// it (a write in progress, or a read word that points to a shared read set).
///
/// Layout: `[flag:1][tid:23][clock:40]`. 2^40 releases per thread and 2^23 threads per process.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Epoch(u64);

impl Epoch {
    const CLOCK_BITS: u32 = 40;
    const TID_BITS: u32 = 23;
    pub(crate) const FLAG: u64 = 1 << 63;
    const CLOCK_MASK: u64 = (1 << Self::CLOCK_BITS) - 1;
    pub(crate) const MAX_TID: Tid = (1 << Self::TID_BITS) - 1;

    #[inline]
    pub(crate) fn new(tid: Tid, clock: u64) -> Epoch {
        debug_assert!(tid <= Self::MAX_TID && clock <= Self::CLOCK_MASK);
        Epoch(((tid as u64) << Self::CLOCK_BITS) | clock)
    }

    #[inline]
    pub(crate) fn from_bits(bits: u64) -> Epoch {
        Epoch(bits)
    }

    #[inline]
    pub(crate) fn bits(self) -> u64 {
        self.0
    }

    #[inline]
    pub(crate) fn tid(self) -> Tid {
        ((self.0 & !Self::FLAG) >> Self::CLOCK_BITS) as Tid
    }

    /// The thread slot with the flag bit above it: equal to a bare `Tid` only when unflagged.
    #[inline]
    pub(crate) fn tid_and_flag(self) -> u64 {
        self.0 >> Self::CLOCK_BITS
    }

    #[inline]
    pub(crate) fn clock(self) -> u64 {
        self.0 & Self::CLOCK_MASK
    }

    #[inline]
    pub(crate) fn flagged(self) -> bool {
        self.0 & Self::FLAG != 0
    }

    #[inline]
    pub(crate) fn with_flag(self) -> Epoch {
        Epoch(self.0 | Self::FLAG)
    }

    #[inline]
    pub(crate) fn without_flag(self) -> Epoch {
        Epoch(self.0 & !Self::FLAG)
    }

    #[inline]
    pub(crate) fn is_none(self) -> bool {
        self.without_flag().clock() == 0
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
            self.clocks.resize(i + 1, 0);
        }
        self.clocks[i] = clock;
    }

    /// Advances `tid`'s own component: what it does from now on is not covered by what it has
    /// released so far.
    #[inline]
    pub(crate) fn tick(&mut self, tid: Tid) {
        let next = self.get(tid) + 1;
        self.set(tid, next);
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

    /// Does the access stamped `epoch` happen before the point this clock describes?
    #[inline]
    pub(crate) fn happens_before(&self, epoch: Epoch) -> bool {
        epoch.clock() <= self.get(epoch.tid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_packs_tid_clock_and_flag_independently() {
        let e = Epoch::new(Epoch::MAX_TID, 123_456_789_012);
        assert_eq!(e.tid(), Epoch::MAX_TID);
        assert_eq!(e.clock(), 123_456_789_012);
        let busy = e.with_flag();
        assert!(busy.flagged());
        assert_eq!(busy.tid(), Epoch::MAX_TID);
        assert_eq!(busy.without_flag(), e);
        assert!(Epoch::from_bits(0).is_none());
        assert!(!Epoch::new(0, 1).is_none());
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
    fn tick_moves_only_the_ticking_thread() {
        let mut c = VectorClock::new();
        c.set(0, 1);
        c.tick(2);
        c.tick(2);
        assert_eq!((c.get(0), c.get(2)), (1, 2));
    }
}
