//! The items of the iterators: [`RefMulti`] (from `iter`: its shard shared) and
//! [`RefMutMulti`] (from `iter_mut`: its shard exclusively). An item holds its shard until it is
//! dropped, also after the iterator has gone on (a collected `Vec` of items holds every shard it
//! has items of). See `dashmap::mapref::multiple`.

use crate::rt::dashmap::Hold;
use crate::rt::map::Stored;
use std::hash::Hash;
use std::ops::{Deref, DerefMut};

type BaseRefMulti<'a, K, V> = ::dashmap::mapref::multiple::RefMulti<'a, K, Stored<V>>;
type BaseRefMutMulti<'a, K, V> = ::dashmap::mapref::multiple::RefMutMulti<'a, K, Stored<V>>;

/// An item of `iter`: a shared guard on one entry. See `dashmap::mapref::multiple::RefMulti`.
pub struct RefMulti<'a, K, V> {
    hold: Hold<'a>,
    base: BaseRefMulti<'a, K, V>,
}

impl<'a, K: Eq + Hash, V> RefMulti<'a, K, V> {
    pub(crate) fn new(hold: Hold<'a>, base: BaseRefMulti<'a, K, V>) -> Self {
        RefMulti { hold, base }
    }

    /// The entry's key.
    pub fn key(&self) -> &K {
        self.pair().0
    }

    /// The entry's value.
    pub fn value(&self) -> &V {
        self.pair().1
    }

    /// The entry's key and value.
    pub fn pair(&self) -> (&K, &V) {
        self.hold.touch();
        let (k, slot) = self.base.pair();
        (k, &slot.value)
    }
}

impl<K: Eq + Hash, V> Deref for RefMulti<'_, K, V> {
    type Target = V;

    fn deref(&self) -> &V {
        self.value()
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

    /// The entry's key.
    pub fn key(&self) -> &K {
        self.pair().0
    }

    /// The entry's value.
    pub fn value(&self) -> &V {
        self.pair().1
    }

    /// The entry's value, mutably.
    pub fn value_mut(&mut self) -> &mut V {
        self.pair_mut().1
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

impl<K: Eq + Hash, V> Deref for RefMutMulti<'_, K, V> {
    type Target = V;

    fn deref(&self) -> &V {
        self.value()
    }
}

impl<K: Eq + Hash, V> DerefMut for RefMutMulti<'_, K, V> {
    fn deref_mut(&mut self) -> &mut V {
        self.value_mut()
    }
}
