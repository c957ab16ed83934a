//! The iterators of a [`DashSet`](super::DashSet): [`Iter`] (each item a shared guard) and
//! [`OwningIter`]. See `dashmap::iter_set`.

use super::setref::multiple::RefMulti;
use std::hash::{BuildHasher, Hash};

/// An iterator over the keys of a set; each item is a shared guard.
/// See `dashmap::iter_set::Iter`.
pub struct Iter<'a, K, S, M> {
    inner: super::iter::Iter<'a, K, (), S, M>,
}

impl<'a, K: Eq + Hash, S: 'a + BuildHasher + Clone, M> Iter<'a, K, S, M> {
    pub(crate) fn new(inner: super::iter::Iter<'a, K, (), S, M>) -> Self {
        Iter { inner }
    }
}

impl<'a, K: Eq + Hash, S: 'a + BuildHasher + Clone, M> Iterator for Iter<'a, K, S, M> {
    type Item = RefMulti<'a, K>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(RefMulti::new)
    }
}

/// An iterator that consumes a set. See `dashmap::iter_set::OwningIter`.
pub struct OwningIter<K, S> {
    inner: super::iter::OwningIter<K, (), S>,
}

impl<K: Eq + Hash, S: BuildHasher + Clone> OwningIter<K, S> {
    pub(crate) fn new(inner: super::iter::OwningIter<K, (), S>) -> Self {
        OwningIter { inner }
    }
}

impl<K: Eq + Hash, S: BuildHasher + Clone> Iterator for OwningIter<K, S> {
    type Item = K;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|(k, _)| k)
    }
}
