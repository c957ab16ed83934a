//! [`DashSet`], the tracked mirror of `dashmap::DashSet`: a [`DashMap`] of keys to `()`, as
//! dashmap's is, with the same checks.

use super::iter_set::{Iter, OwningIter};
use super::map::DashMap;
use super::setref::one::Ref;
use crate::rt::site::Op;
use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash};

/// A concurrent hash set whose guard deadlocks are reported instead of hanging, with dashmap
/// 6's API. See [`dashmap::DashSet`](https://docs.rs/dashmap/6/dashmap/struct.DashSet.html).
///
/// ```
/// let seen = maprace::DashSet::new();
/// assert!(seen.insert("ada"));
/// assert!(!seen.insert("ada"));
/// assert!(seen.contains("ada"));
/// ```
pub struct DashSet<K, S = RandomState> {
    inner: DashMap<K, (), S>,
}

impl<K: Eq + Hash + fmt::Debug, S: BuildHasher + Clone> fmt::Debug for DashSet<K, S> {
    /// As dashmap's: the underlying map of keys to `()`.
    #[track_caller]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl<K: Eq + Hash + Clone, S: BuildHasher + Clone> Clone for DashSet<K, S> {
    #[track_caller]
    fn clone(&self) -> Self {
        DashSet {
            inner: self.inner.clone(),
        }
    }
}

impl<K, S> Default for DashSet<K, S>
where
    K: Eq + Hash,
    S: Default + BuildHasher + Clone,
{
    #[track_caller]
    fn default() -> Self {
        Self::with_hasher(Default::default())
    }
}

impl<K: Eq + Hash> DashSet<K, RandomState> {
    /// Creates an empty set. See `dashmap::DashSet::new`.
    #[must_use]
    #[track_caller]
    pub fn new() -> Self {
        Self::with_hasher(RandomState::default())
    }

    /// Creates an empty set with room for `capacity` keys.
    #[must_use]
    #[track_caller]
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_capacity_and_hasher(capacity, RandomState::default())
    }
}

impl<'a, K: 'a + Eq + Hash, S: BuildHasher + Clone> DashSet<K, S> {
    /// Creates an empty set that uses `hasher`.
    #[must_use]
    #[track_caller]
    pub fn with_hasher(hasher: S) -> Self {
        Self::with_capacity_and_hasher(0, hasher)
    }

    /// Creates an empty set with room for `capacity` keys, using `hasher`.
    #[must_use]
    #[track_caller]
    pub fn with_capacity_and_hasher(capacity: usize, hasher: S) -> Self {
        DashSet {
            inner: DashMap::tracked_as(capacity, hasher, None, std::any::type_name::<Self>),
        }
    }

    /// The hash of `item` by the set's hasher.
    pub fn hash_usize<T: Hash>(&self, item: &T) -> usize {
        self.inner.hash_usize(item)
    }

    /// Adds `key`; `true` if it was not there.
    #[track_caller]
    pub fn insert(&self, key: K) -> bool {
        self.inner.insert_with(Op::Insert, key, ()).is_none()
    }

    /// Removes `key`, returning the stored key.
    #[track_caller]
    pub fn remove<Q>(&self, key: &Q) -> Option<K>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.remove(key).map(|(k, _)| k)
    }

    /// Removes `key` if `f` says so.
    #[track_caller]
    pub fn remove_if<Q>(&self, key: &Q, f: impl FnOnce(&K) -> bool) -> Option<K>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.remove_if(key, |k, _| f(k)).map(|(k, _)| k)
    }

    /// An iterator over the keys; each item holds its shard shared.
    #[track_caller]
    pub fn iter(&'a self) -> Iter<'a, K, S, DashMap<K, (), S>> {
        Iter::new(self.inner.iter())
    }

    /// A shared guard on `key`.
    #[track_caller]
    pub fn get<Q>(&'a self, key: &Q) -> Option<Ref<'a, K>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.get(key).map(Ref::new)
    }

    /// Shrinks every shard's capacity as much as possible.
    #[track_caller]
    pub fn shrink_to_fit(&self) {
        self.inner.shrink_to_fit()
    }

    /// Keeps only the keys for which `f` is true.
    #[track_caller]
    pub fn retain(&self, mut f: impl FnMut(&K) -> bool) {
        self.inner.retain(|k, _| f(k))
    }

    /// The number of keys.
    #[track_caller]
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether the set is empty.
    #[track_caller]
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Removes every key.
    #[track_caller]
    pub fn clear(&self) {
        self.inner.clear()
    }

    /// The number of keys the set can hold without reallocating.
    #[track_caller]
    pub fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    /// Whether the set has `key`.
    #[track_caller]
    pub fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.contains_with(Op::Contains, key)
    }
}

impl<K: Eq + Hash, S: BuildHasher + Clone> IntoIterator for DashSet<K, S> {
    type Item = K;

    type IntoIter = OwningIter<K, S>;

    fn into_iter(self) -> Self::IntoIter {
        OwningIter::new(self.inner.into_iter())
    }
}

impl<K: Eq + Hash, S: BuildHasher + Clone> Extend<K> for DashSet<K, S> {
    #[track_caller]
    fn extend<T: IntoIterator<Item = K>>(&mut self, iter: T) {
        self.inner.extend(iter.into_iter().map(|k| (k, ())))
    }
}

impl<K: Eq + Hash, S: BuildHasher + Clone + Default> FromIterator<K> for DashSet<K, S> {
    #[track_caller]
    fn from_iter<I: IntoIterator<Item = K>>(iter: I) -> Self {
        let mut set = DashSet::default();
        set.extend(iter);
        set
    }
}

/// Names the set in reports (used by `#[maprace::track]` through `__private::named`).
impl<K, S> crate::__private::Nameable for DashSet<K, S> {
    fn set_name(&mut self, name: &'static str) {
        crate::__private::Nameable::set_name(&mut self.inner, name);
    }
}
