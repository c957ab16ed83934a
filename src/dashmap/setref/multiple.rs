//! [`RefMulti`]: an item of a set's iterator, a shared guard on one key.
//! See `dashmap::setref::multiple`.

use crate::dashmap::mapref;
use std::hash::Hash;
use std::ops::Deref;

/// An item of a set's iterator. See `dashmap::setref::multiple::RefMulti`.
pub struct RefMulti<'a, K> {
    inner: mapref::multiple::RefMulti<'a, K, ()>,
}

impl<'a, K: Eq + Hash> RefMulti<'a, K> {
    pub(crate) fn new(inner: mapref::multiple::RefMulti<'a, K, ()>) -> Self {
        RefMulti { inner }
    }

    /// The key.
    pub fn key(&self) -> &K {
        self.inner.key()
    }
}

impl<K: Eq + Hash> Deref for RefMulti<'_, K> {
    type Target = K;

    fn deref(&self) -> &K {
        self.key()
    }
}
