//! [`ReadOnlyView`]: a map no one can change any more, read without locks.
//! See `dashmap::ReadOnlyView`.

use super::map::DashMap;
use crate::rt::dashmap::{DashShadow, Hooked};
use crate::rt::map::Stored;
use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash};

/// A read-only view of a map, from `DashMap::into_read_only`: no locks, no guards, so nothing to
/// deadlock on. Made by the map's one owner, who has then acquired everything released into
/// the map. See `dashmap::ReadOnlyView`.
///
/// ```
/// let map = maprace::DashMap::new();
/// map.insert("ada", 36);
/// let view = map.into_read_only();
/// assert_eq!(view.get("ada"), Some(&36));
/// ```
pub struct ReadOnlyView<K, V, S = RandomState> {
    shadow: DashShadow,
    base: ::dashmap::ReadOnlyView<K, Stored<V>, Hooked<S>>,
}

impl<K: Eq + Hash + Clone, V: Clone, S: Clone> Clone for ReadOnlyView<K, V, S> {
    #[track_caller]
    fn clone(&self) -> Self {
        ReadOnlyView {
            shadow: self.shadow.fresh_like(),
            base: self.base.clone(),
        }
    }
}

impl<K: Eq + Hash + fmt::Debug, V: fmt::Debug, S: BuildHasher + Clone> fmt::Debug
    for ReadOnlyView<K, V, S>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K, V, S> ReadOnlyView<K, V, S> {
    pub(crate) fn new(
        shadow: DashShadow,
        base: ::dashmap::ReadOnlyView<K, Stored<V>, Hooked<S>>,
    ) -> Self {
        ReadOnlyView { shadow, base }
    }

    /// The map back, for changes.
    pub fn into_inner(self) -> DashMap<K, V, S> {
        DashMap::from_parts(self.shadow, self.base.into_inner())
    }
}

impl<'a, K: 'a + Eq + Hash, V: 'a, S: BuildHasher + Clone> ReadOnlyView<K, V, S> {
    /// The number of entries.
    pub fn len(&self) -> usize {
        self.base.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.base.is_empty()
    }

    /// The number of entries the map can hold without reallocating.
    pub fn capacity(&self) -> usize {
        self.base.capacity()
    }

    /// Whether the map has `key`.
    pub fn contains_key<Q>(&'a self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.base.contains_key(key)
    }

    /// The value of `key`.
    pub fn get<Q>(&'a self, key: &Q) -> Option<&'a V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.base.get(key).map(|slot| &slot.value)
    }

    /// The key and value of `key`.
    pub fn get_key_value<Q>(&'a self, key: &Q) -> Option<(&'a K, &'a V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.base
            .get_key_value(key)
            .map(|(k, slot)| (k, &slot.value))
    }

    /// An iterator over the entries.
    pub fn iter(&'a self) -> impl Iterator<Item = (&'a K, &'a V)> + 'a {
        self.base.iter().map(|(k, slot)| (k, &slot.value))
    }

    /// An iterator over the keys.
    pub fn keys(&'a self) -> impl Iterator<Item = &'a K> + 'a {
        self.base.keys()
    }

    /// An iterator over the values.
    pub fn values(&'a self) -> impl Iterator<Item = &'a V> + 'a {
        self.base.values().map(|slot| &slot.value)
    }
}
