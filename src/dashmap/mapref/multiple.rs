//! The items of the iterators: [`RefMulti`] (from `iter`: its shard shared) and
//! [`RefMutMulti`] (from `iter_mut`: its shard exclusively). An item holds its shard until it is
//! dropped, also after the iterator has gone on (a collected `Vec` of items holds every shard it
//! has items of). See `dashmap::mapref::multiple`.

use crate::rt::dashmap::Hold;
use crate::rt::map::Stored;
use std::hash::Hash;

type BaseRefMulti<'a, K, V> = ::dashmap::mapref::multiple::RefMulti<'a, K, Stored<V>>;
type BaseRefMutMulti<'a, K, V> = ::dashmap::mapref::multiple::RefMutMulti<'a, K, Stored<V>>;

guard_access!(RefMulti, V, "The entry's value.");
guard_access!(mut RefMutMulti, V, "The entry's value");

/// An item of `iter`: a shared guard on one entry. See `dashmap::mapref::multiple::RefMulti`.
pub struct RefMulti<'a, K, V> {
    hold: Hold<'a>,
    base: BaseRefMulti<'a, K, V>,
}

impl<'a, K: Eq + Hash, V> RefMulti<'a, K, V> {
    pub(crate) fn new(hold: Hold<'a>, base: BaseRefMulti<'a, K, V>) -> Self {
        RefMulti { hold, base }
    }

    /// The entry's key and value.
    pub fn pair(&self) -> (&K, &V) {
        self.hold.touch();
        let (k, slot) = self.base.pair();
        (k, &slot.value)
    }
}

/// An item of `iter_mut`: an exclusive guard on one entry.
/// See `dashmap::mapref::multiple::RefMutMulti`.
pub struct RefMutMulti<'a, K, V> {
    hold: Hold<'a>,
    base: BaseRefMutMulti<'a, K, V>,
}

impl<'a, K: Eq + Hash, V> RefMutMulti<'a, K, V> {
    pub(crate) fn new(hold: Hold<'a>, base: BaseRefMutMulti<'a, K, V>) -> Self {
        RefMutMulti { hold, base }
    }

    /// The entry's key and value.
    pub fn pair(&self) -> (&K, &V) {
        self.hold.touch();
        let (k, slot) = self.base.pair();
        (k, &slot.value)
    }

    /// The entry's key and value, mutably.
    pub fn pair_mut(&mut self) -> (&K, &mut V) {
        self.hold.touch();
        let (k, slot) = self.base.pair_mut();
        (k, &mut slot.value)
    }
}
