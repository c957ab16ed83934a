//! The iterators of a [`DashMap`]: [`Iter`] (each shard shared in turn), [`IterMut`] (each
//! shard exclusively in turn), [`OwningIter`] (the map consumed). See `dashmap::iter`.
//!
//! An iterator holds the shard of the item it yielded last until it goes on (and, once it has
//! ended, the last shard until it is dropped, as dashmap's does); each item holds its shard until
//! it is dropped. Before each step, the iterator checks the guards its thread holds on the
//! shards it has yet to lock. dashmap does not say which shard an item comes from: the mirror
//! hashes each item's key to know (the cost of a `get`'s hash per item).

use super::Base;
use super::map::DashMap;
use super::mapref::multiple::{RefMulti, RefMutMulti};
use crate::rt::dashmap::{Call, Hold, Hooked, Whole};
use crate::rt::deadlock::Mode;
use crate::rt::map::Stored;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;

/// Where an iteration is: the shard it holds, and the first one it has not reached.
struct Walk<'a> {
    call: Call<'a>,
    mode: Mode,
    hold: Option<Hold<'a>>,
    next: usize,
    shards: usize,
}

impl<'a> Walk<'a> {
    fn new(call: Call<'a>, mode: Mode, shards: usize) -> Walk<'a> {
        Walk {
            call,
            mode,
            hold: None,
            next: 0,
            shards,
        }
    }

    fn whole(&self) -> Whole {
        match self.mode {
            Mode::Shared => Whole::Shared,
            Mode::Exclusive => Whole::Exclusive,
        }
    }

    /// Before dashmap's step, which may lock the shards from `next` on and let the current one go.
    #[inline]
    fn before_step(&self) {
        self.call.before_shards_from(self.whole(), self.next);
        if let Some(hold) = &self.hold {
            hold.touch();
            hold.release_now();
        }
    }

    /// The step yielded an item of `shard`: the shards it passed were empty (`passed` makes
    /// their edges), and the iterator holds `shard` now. Returns the item's hold.
    #[inline]
    fn reached(&mut self, shard: usize, mut passed: impl FnMut(usize)) -> Hold<'a> {
        if !self.call.active() {
            return self.call.visit(0, self.mode);
        }
        for empty in self.next..shard {
            passed(empty);
        }
        match &mut self.hold {
            Some(hold) if hold.shard() == shard => {}
            Some(hold) => hold.move_to(shard, true),
            None => self.hold = Some(self.call.hold(shard, self.mode).shared_with_items()),
        }
        self.next = shard + 1;
        let hold = self.hold.as_ref().expect("the iterator holds a shard");
        hold.for_item(hold.site())
    }

    /// The step found no more items: dashmap locked each remaining shard in turn and keeps the
    /// last one.
    fn ended(&mut self, mut passed: impl FnMut(usize)) {
        if self.next >= self.shards || !self.call.active() {
            self.next = self.shards;
            return;
        }
        let last = self.shards - 1;
        for empty in self.next..last {
            passed(empty);
        }
        match &mut self.hold {
            Some(hold) => hold.move_to(last, true),
            None => self.hold = Some(self.call.hold(last, self.mode).shared_with_items()),
        }
        self.next = self.shards;
    }
}

/// An iterator over the entries of a [`DashMap`]; each item is a shared guard.
/// See `dashmap::iter::Iter`.
///
/// ```
/// let map = maprace::DashMap::new();
/// map.insert(1, "one");
/// map.insert(2, "two");
/// let mut keys: Vec<i32> = map.iter().map(|item| *item.key()).collect();
/// keys.sort();
/// assert_eq!(keys, [1, 2]);
/// ```
// `walk` first: its hold releases before dashmap's iterator lets the shard go.
pub struct Iter<'a, K, V, S = RandomState, M = DashMap<K, V, S>> {
    walk: Walk<'a>,
    map: &'a DashMap<K, V, S>,
    base: ::dashmap::iter::Iter<'a, K, Stored<V>, Hooked<S>, Base<K, V, S>>,
    marker: PhantomData<fn() -> M>,
}

impl<'a, K: Eq + Hash, V, S: 'a + BuildHasher + Clone, M> Iter<'a, K, V, S, M> {
    pub(crate) fn new(map: &'a DashMap<K, V, S>, call: Call<'a>) -> Self {
        Iter {
            walk: Walk::new(call, Mode::Shared, map.shadow.shard_count()),
            map,
            base: map.base.iter(),
            marker: PhantomData,
        }
    }
}

impl<K: Clone + Hash + Eq, V: Clone, S: Clone + BuildHasher> Clone for Iter<'_, K, V, S> {
    /// A new iteration from the start, as dashmap's.
    fn clone(&self) -> Self {
        Iter::new(self.map, self.walk.call.clone())
    }
}

/// The edge of a shard an iteration passed (empty): taken again if it is free now (an
/// iterator's step must not block where dashmap's does not).
fn passed_edge<K: Eq + Hash, V, S: BuildHasher + Clone>(
    map: &DashMap<K, V, S>,
    call: &Call<'_>,
    shard: usize,
    mode: Mode,
) {
    let lock = &map.base.shards()[shard];
    call.edge(shard, mode, |edge| match mode {
        Mode::Shared => {
            if let Some(_held) = lock.try_read() {
                edge();
            }
        }
        Mode::Exclusive => {
            if let Some(_held) = lock.try_write() {
                edge();
            }
        }
    });
}

impl<'a, K: Eq + Hash, V, S: 'a + BuildHasher + Clone, M> Iterator for Iter<'a, K, V, S, M> {
    type Item = RefMulti<'a, K, V>;

    fn next(&mut self) -> Option<Self::Item> {
        self.walk.before_step();
        let (map, call) = (self.map, self.walk.call.clone());
        match self.base.next() {
            Some(base) => {
                let shard = if call.active() {
                    map.base.determine_map(base.key())
                } else {
                    0
                };
                let hold = self
                    .walk
                    .reached(shard, |empty| passed_edge(map, &call, empty, Mode::Shared));
                hold.read(&base.value().cell, base.key());
                Some(RefMulti::new(hold, base))
            }
            None => {
                self.walk
                    .ended(|empty| passed_edge(map, &call, empty, Mode::Shared));
                None
            }
        }
    }
}

/// An iterator over the entries of a [`DashMap`] with mutable values; each item is an exclusive
/// guard. See `dashmap::iter::IterMut`.
///
/// ```
/// let map = maprace::DashMap::new();
/// map.insert(1, 10);
/// for mut item in map.iter_mut() {
///     *item += 1;
/// }
/// assert_eq!(*map.get(&1).unwrap(), 11);
/// ```
pub struct IterMut<'a, K, V, S = RandomState, M = DashMap<K, V, S>> {
    walk: Walk<'a>,
    map: &'a DashMap<K, V, S>,
    base: ::dashmap::iter::IterMut<'a, K, Stored<V>, Hooked<S>, Base<K, V, S>>,
    marker: PhantomData<fn() -> M>,
}

impl<'a, K: Eq + Hash, V, S: 'a + BuildHasher + Clone, M> IterMut<'a, K, V, S, M> {
    pub(crate) fn new(map: &'a DashMap<K, V, S>, call: Call<'a>) -> Self {
        IterMut {
            walk: Walk::new(call, Mode::Exclusive, map.shadow.shard_count()),
            map,
            base: map.base.iter_mut(),
            marker: PhantomData,
        }
    }
}

impl<'a, K: Eq + Hash, V, S: 'a + BuildHasher + Clone, M> Iterator for IterMut<'a, K, V, S, M> {
    type Item = RefMutMulti<'a, K, V>;

    fn next(&mut self) -> Option<Self::Item> {
        self.walk.before_step();
        let (map, call) = (self.map, self.walk.call.clone());
        match self.base.next() {
            Some(base) => {
                let shard = if call.active() {
                    map.base.determine_map(base.key())
                } else {
                    0
                };
                let hold = self.walk.reached(shard, |empty| {
                    passed_edge(map, &call, empty, Mode::Exclusive)
                });
                hold.write(&base.value().cell, base.key());
                Some(RefMutMulti::new(hold, base))
            }
            None => {
                self.walk
                    .ended(|empty| passed_edge(map, &call, empty, Mode::Exclusive));
                None
            }
        }
    }
}

/// An iterator that consumes a [`DashMap`] (no guards: the map is owned).
/// See `dashmap::iter::OwningIter`.
pub struct OwningIter<K, V, S = RandomState> {
    base: ::dashmap::iter::OwningIter<K, Stored<V>, Hooked<S>>,
}

impl<K: Eq + Hash, V, S: BuildHasher + Clone> OwningIter<K, V, S> {
    pub(crate) fn new(base: ::dashmap::iter::OwningIter<K, Stored<V>, Hooked<S>>) -> Self {
        OwningIter { base }
    }
}

impl<K: Eq + Hash, V, S: BuildHasher + Clone> Iterator for OwningIter<K, V, S> {
    type Item = (K, V);

    fn next(&mut self) -> Option<Self::Item> {
        self.base.next().map(|(key, slot)| (key, slot.value))
    }
}
