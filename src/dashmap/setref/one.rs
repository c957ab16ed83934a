//! [`Ref`]: a shared guard on a key of a set, from `DashSet::get`. See `dashmap::setref::one`.

use crate::dashmap::mapref;
use std::hash::Hash;
use std::ops::Deref;

/// A shared guard on a key of a set. See `dashmap::setref::one::Ref`.
pub struct Ref<'a, K> {
    inner: mapref::one::Ref<'a, K, ()>,
}

impl<'a, K: Eq + Hash> Ref<'a, K> {
    pub(crate) fn new(inner: mapref::one::Ref<'a, K, ()>) -> Self {
        Ref { inner }
    }

    /// The key.
    pub fn key(&self) -> &K {
        self.inner.key()
    }
}

impl<K: Eq + Hash> Deref for Ref<'_, K> {
    type Target = K;

    fn deref(&self) -> &K {
        self.key()
    }
}
