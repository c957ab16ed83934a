//! [`DashMap`], the tracked mirror of `dashmap::DashMap`.

use super::Base;
use super::iter::{Iter, IterMut, OwningIter};
use super::mapref::entry::Entry;
use super::mapref::one::{Ref, RefMut};
use super::read_only::ReadOnlyView;
use super::try_result::TryResult;
use crate::rt::cell::Kind;
use crate::rt::cta::Track;
use crate::rt::dashmap::{Call, DashShadow, Hooked, Whole};
use crate::rt::deadlock::Mode;
use crate::rt::map::{Hashed, Stored};
use crate::rt::site::Op;
use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::ops::{BitAnd, BitOr, Shl, Shr, Sub};

/// dashmap's `len` and `capacity`: a sum over the shards, each read under its read lock in
/// turn. (A macro: the shards' table type is dashmap's private one, which a closure's argument
/// can only get by inference in place.)
macro_rules! sum_shards {
    ($map:ident, $op:expr, |$table:ident| $count:expr) => {{
        let call = $map.shadow.call($op);
        call.before_all(Whole::Shared);
        $map.base
            .shards()
            .iter()
            .enumerate()
            .map(|(shard, lock)| {
                let $table = lock.read();
                let _hold = call.visit(shard, Mode::Shared);
                $count
            })
            .sum::<usize>()
    }};
}

/// A concurrent hash map whose guard deadlocks are reported instead of hanging, with dashmap
/// 6's API. See [`dashmap::DashMap`](https://docs.rs/dashmap/6/dashmap/struct.DashMap.html).
///
/// This is what `maprace::DashMap` is when the detector is compiled in; otherwise it is
/// `dashmap::DashMap` itself. Every method that locks a shard checks the guards the calling
/// thread holds first (see the module docs), and is `#[track_caller]`, so a report names your
/// line.
///
/// ```
/// let scores = maprace::DashMap::new();
/// scores.insert("ada", 10);
/// *scores.get_mut("ada").unwrap() += 1;
/// assert_eq!(*scores.get("ada").unwrap(), 11);
/// ```
// The shadow first: dropping the map acquires every clock (`DashShadow`'s drop) before the
// values are dropped.
pub struct DashMap<K, V, S = RandomState> {
    pub(super) shadow: DashShadow,
    pub(super) base: Base<K, V, S>,
}

impl<K, V, S> DashMap<K, V, S> {
    pub(super) fn from_parts(shadow: DashShadow, base: Base<K, V, S>) -> Self {
        DashMap { shadow, base }
    }
}

impl<K, V, S> Default for DashMap<K, V, S>
where
    K: Eq + Hash,
    S: Default + BuildHasher + Clone,
{
    /// An empty map with the `Default` hasher.
    #[track_caller]
    fn default() -> Self {
        Self::with_hasher(Default::default())
    }
}

impl<K: Eq + Hash, V> DashMap<K, V, RandomState> {
    /// Creates an empty map. See `dashmap::DashMap::new`.
    #[must_use]
    #[track_caller]
    pub fn new() -> Self {
        DashMap::with_hasher(RandomState::default())
    }

    /// Creates an empty map with room for `capacity` entries.
    #[must_use]
    #[track_caller]
    pub fn with_capacity(capacity: usize) -> Self {
        DashMap::with_capacity_and_hasher(capacity, RandomState::default())
    }

    /// Creates an empty map with `shard_amount` shards (a power of two, more than 1).
    #[must_use]
    #[track_caller]
    pub fn with_shard_amount(shard_amount: usize) -> Self {
        Self::with_capacity_and_hasher_and_shard_amount(0, RandomState::default(), shard_amount)
    }

    /// Creates an empty map with room for `capacity` entries in `shard_amount` shards.
    #[must_use]
    #[track_caller]
    pub fn with_capacity_and_shard_amount(capacity: usize, shard_amount: usize) -> Self {
        Self::with_capacity_and_hasher_and_shard_amount(
            capacity,
            RandomState::default(),
            shard_amount,
        )
    }
}

impl<'a, K: 'a + Eq + Hash, V: 'a, S: BuildHasher + Clone> DashMap<K, V, S> {
    /// Wraps the map into a read-only view (no locks). Everything released into the map so far
    /// happens before what this thread does next.
    #[track_caller]
    pub fn into_read_only(self) -> ReadOnlyView<K, V, S> {
        let DashMap { mut shadow, base } = self;
        shadow.acquire_all();
        ReadOnlyView::new(shadow, base.into_read_only())
    }

    /// Creates an empty map that uses `hasher`.
    #[must_use]
    #[track_caller]
    pub fn with_hasher(hasher: S) -> Self {
        Self::with_capacity_and_hasher(0, hasher)
    }

    /// Creates an empty map with room for `capacity` entries, using `hasher`.
    #[must_use]
    #[track_caller]
    pub fn with_capacity_and_hasher(capacity: usize, hasher: S) -> Self {
        Self::tracked_as(capacity, hasher, None, std::any::type_name::<Self>)
    }

    /// Creates an empty map with `shard_amount` shards, using `hasher`.
    #[must_use]
    #[track_caller]
    pub fn with_hasher_and_shard_amount(hasher: S, shard_amount: usize) -> Self {
        Self::with_capacity_and_hasher_and_shard_amount(0, hasher, shard_amount)
    }

    /// Creates an empty map with room for `capacity` entries in `shard_amount` shards, using
    /// `hasher`.
    #[must_use]
    #[track_caller]
    pub fn with_capacity_and_hasher_and_shard_amount(
        capacity: usize,
        hasher: S,
        shard_amount: usize,
    ) -> Self {
        Self::tracked_as(
            capacity,
            hasher,
            Some(shard_amount),
            std::any::type_name::<Self>,
        )
    }

    /// A new map (dashmap's default shard amount when `None`), shown in reports as `type_name`
    /// says (a `DashSet` is a map of keys to `()`).
    #[track_caller]
    pub(super) fn tracked_as(
        capacity: usize,
        hasher: S,
        shard_amount: Option<usize>,
        type_name: fn() -> &'static str,
    ) -> Self {
        let base = match shard_amount {
            Some(shards) => {
                Base::with_capacity_and_hasher_and_shard_amount(capacity, Hooked(hasher), shards)
            }
            None => Base::with_capacity_and_hasher(capacity, Hooked(hasher)),
        };
        let shards = base.shards().len();
        DashMap {
            shadow: DashShadow::new(type_name, shards),
            base,
        }
    }

    /// The hash of `item` by the map's hasher.
    pub fn hash_usize<T: Hash>(&self, item: &T) -> usize {
        self.base.hash_usize(item)
    }

    /// The map's hasher.
    pub fn hasher(&self) -> &S {
        &self.base.hasher().0
    }

    /// The shard `hash` falls in.
    #[inline(always)]
    fn shard_of_hash(&self, hash: usize) -> usize {
        self.base.determine_shard(hash)
    }

    /// The shard of `key`, from the hash the armed call captured (once per call: see
    /// `Call::captured_shard`; in builds with debug
    /// assertions, checked against a second hash: the test suite checks the capture on every
    /// call it makes).
    #[inline(always)]
    fn shard_of<Q>(&self, call: &Call<'_>, key: &Q) -> usize
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let shard = call.captured_shard(|h| self.shard_of_hash(h));
        debug_assert!(
            !call.active() || shard == self.base.determine_map(key),
            "the captured hash is the key's"
        );
        shard
    }

    /// Whether `shard` could be locked in `mode` right now (a probe before a call that may block,
    /// made only while the thread holds something).
    fn shard_free(&self, shard: usize, mode: Mode) -> bool {
        let lock = &self.base.shards()[shard];
        match mode {
            Mode::Shared => lock.try_read().is_some(),
            Mode::Exclusive => lock.try_write().is_some(),
        }
    }

    /// The call took `shard`'s lock in `mode` and gave no guard back: its edge, under the lock
    /// taken again.
    #[cold]
    #[inline(never)]
    fn edge_without_guard(&self, call: &Call<'_>, shard: usize, mode: Mode) {
        let lock = &self.base.shards()[shard];
        call.edge(shard, mode, |edge| match mode {
            Mode::Shared => {
                let _held = lock.read();
                edge();
            }
            Mode::Exclusive => {
                let _held = lock.write();
                edge();
            }
        });
    }

    /// The edge of a non-blocking call that gave no guard back: taken again only if the lock is
    /// free now (it must not block).
    #[cold]
    #[inline(never)]
    fn edge_if_free(&self, call: &Call<'_>, shard: usize, mode: Mode) {
        let lock = &self.base.shards()[shard];
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

    /// The checks before a single-key call on `key` that locks its shard in `mode`, then the
    /// hash capture armed for it.
    #[inline(always)]
    fn start<Q>(&self, call: &Call<'_>, key: &Q, mode: Mode) -> Option<crate::rt::deadlock::Waiting>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let waiting = call.before_key(
            mode,
            || self.base.determine_map(key),
            Hashed(key, self.hasher()),
            |shard, mode| self.shard_free(shard, mode),
        );
        call.arm();
        waiting
    }

    /// Inserts a key and a value, returning the old value if the key was there (an exclusive
    /// guard on the key's shard, for the call). See `dashmap::DashMap::insert`.
    #[inline]
    #[track_caller]
    pub fn insert(&self, key: K, value: V) -> Option<V> {
        self.insert_with(Op::Insert, key, value)
    }

    #[inline(always)]
    #[track_caller]
    pub(super) fn insert_with(&self, op: Op, key: K, value: V) -> Option<V> {
        let call = self.shadow.call(op);
        let waiting = self.start(&call, &key, Mode::Exclusive);
        // dashmap's own `insert` is this: an entry, then an insert through it.
        let entry = self.base.entry(key);
        drop(waiting); // the lock is held: the wait is over
        let shard = match &entry {
            ::dashmap::Entry::Occupied(entry) => self.shard_of(&call, entry.key()),
            ::dashmap::Entry::Vacant(entry) => self.shard_of(&call, entry.key()),
        };
        // No user code runs from here to the unlock (`K::eq`, and `K::hash` when the table
        // grows, ran inside `entry`, before this: the vacant entry's insert writes the slot
        // `entry` found and never grows the table): no hold is recorded, and the edges are made
        // at once (released before the real unlock).
        match entry {
            ::dashmap::Entry::Occupied(mut entry) => {
                let cell = &entry.get().cell;
                let act = Track::Act(Some(call.hash()));
                call.access_in_place(shard, Mode::Exclusive, cell, Kind::Write, entry.key(), act);
                let old = std::mem::replace(&mut entry.get_mut().value, value);
                drop(entry);
                Some(old)
            }
            ::dashmap::Entry::Vacant(entry) => {
                let cell = call.insert_in_place(shard);
                let inserted = entry.insert(Stored { value, cell });
                drop(inserted);
                None
            }
        }
    }

    /// Removes `key`, returning the stored key and value. See `dashmap::DashMap::remove`.
    #[track_caller]
    pub fn remove<Q>(&self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_where(Op::Remove, key, None::<fn(&K, &V) -> bool>)
    }

    /// Removes `key` if `f` says so. See `dashmap::DashMap::remove_if`.
    #[track_caller]
    pub fn remove_if<Q>(&self, key: &Q, f: impl FnOnce(&K, &V) -> bool) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_where(Op::RemoveIf, key, Some(f))
    }

    /// Removes `key` if `f`, which may change the value, says so.
    /// See `dashmap::DashMap::remove_if_mut`.
    #[track_caller]
    pub fn remove_if_mut<Q>(&self, key: &Q, f: impl FnOnce(&K, &mut V) -> bool) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let call = self.shadow.call(Op::RemoveIfMut);
        let _waiting = self.start(&call, key, Mode::Exclusive);
        let mut found = false;
        let removed = self.base.remove_if_mut(key, |k, slot| {
            found = true;
            let hold = call.hold(self.shard_of::<K>(&call, k), Mode::Exclusive);
            hold.write(&slot.cell, k);
            f(k, &mut slot.value)
        });
        self.removed(&call, key, found, removed)
    }

    #[inline]
    #[track_caller]
    fn remove_where<Q>(
        &self,
        op: Op,
        key: &Q,
        f: Option<impl FnOnce(&K, &V) -> bool>,
    ) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let call = self.shadow.call(op);
        let _waiting = self.start(&call, key, Mode::Exclusive);
        let mut found = false;
        let removed = self.base.remove_if(key, |k, slot| {
            found = true;
            // Under the shard's lock; the hold ends (and releases) before dashmap removes the
            // entry and unlocks. It is recorded only while user code (`f`) runs.
            let shard = self.shard_of::<K>(&call, k);
            let Some(f) = f else {
                let act = Track::Act(Some(call.hash()));
                call.access_in_place(shard, Mode::Exclusive, &slot.cell, Kind::Write, k, act);
                return true;
            };
            let hold = call.hold(shard, Mode::Exclusive);
            hold.read(&slot.cell, k);
            let remove = f(k, &slot.value);
            if remove {
                hold.write(&slot.cell, k);
            }
            remove
        });
        self.removed(&call, key, found, removed)
    }

    /// The end of a `remove*`: `found` says whether the key was there (then the closure made
    /// the edges, under the lock).
    fn removed<Q>(
        &self,
        call: &Call<'_>,
        key: &Q,
        found: bool,
        removed: Option<(K, Stored<V>)>,
    ) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if !found {
            let shard = self.shard_of(call, key);
            self.edge_without_guard(call, shard, Mode::Exclusive);
        }
        removed.map(|(key, slot)| (key, slot.value))
    }

    /// An iterator over the entries; each item holds its shard shared. See
    /// `dashmap::DashMap::iter`.
    #[track_caller]
    pub fn iter(&'a self) -> Iter<'a, K, V, S, DashMap<K, V, S>> {
        let call = self.shadow.call(Op::Iter);
        call.before_all(Whole::Shared);
        Iter::<K, V, S, Self>::new(self, call)
    }

    /// An iterator over the entries with mutable values; each item holds its shard exclusively.
    /// See `dashmap::DashMap::iter_mut`.
    #[track_caller]
    pub fn iter_mut(&'a self) -> IterMut<'a, K, V, S, DashMap<K, V, S>> {
        let call = self.shadow.call(Op::IterMut);
        call.before_all(Whole::Exclusive);
        IterMut::<K, V, S, Self>::new(self, call)
    }

    /// A shared guard on `key`'s entry. See `dashmap::DashMap::get`.
    #[inline]
    #[track_caller]
    pub fn get<Q>(&'a self, key: &Q) -> Option<Ref<'a, K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get_with(Op::Get, key)
    }

    #[inline(always)]
    #[track_caller]
    pub(super) fn get_with<Q>(&'a self, op: Op, key: &Q) -> Option<Ref<'a, K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let call = self.shadow.call(op);
        let waiting = self.start(&call, key, Mode::Shared);
        let found = self.base.get(key);
        // The lock is held: the wait is over. (Ended here, not at the scope's end, so that no
        // call sits between the hold's making and the guard's: the hold is built in place.)
        drop(waiting);
        let shard = self.shard_of(&call, key);
        match found {
            Some(base) => {
                let hold = call.guard(
                    shard,
                    Mode::Shared,
                    &base.value().cell,
                    Kind::Read,
                    base.key(),
                    Track::Check(call.hash()),
                );
                Some(Ref::new(hold, base))
            }
            None => {
                self.edge_without_guard(&call, shard, Mode::Shared);
                call.check_absent();
                None
            }
        }
    }

    /// An exclusive guard on `key`'s entry. See `dashmap::DashMap::get_mut`.
    #[inline]
    #[track_caller]
    pub fn get_mut<Q>(&'a self, key: &Q) -> Option<RefMut<'a, K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let call = self.shadow.call(Op::GetMut);
        if !call.active() {
            return self
                .base
                .get_mut(key)
                .map(|base| RefMut::new(call.off(), base));
        }
        let waiting = self.start(&call, key, Mode::Exclusive);
        let found = self.base.get_mut(key);
        drop(waiting); // the lock is held: the wait is over (see `get_with`)
        let shard = self.shard_of(&call, key);
        match found {
            Some(base) => {
                let hold = call.guard(
                    shard,
                    Mode::Exclusive,
                    &base.value().cell,
                    Kind::Write,
                    base.key(),
                    Track::Act(Some(call.hash())),
                );
                Some(RefMut::new(hold, base))
            }
            None => {
                self.edge_without_guard(&call, shard, Mode::Exclusive);
                None
            }
        }
    }

    /// `get` without blocking: `Locked` if the shard is locked exclusively. Never reported.
    /// See `dashmap::DashMap::try_get`.
    #[track_caller]
    pub fn try_get<Q>(&'a self, key: &Q) -> TryResult<Ref<'a, K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let call = self.shadow.call(Op::TryGet);
        call.arm();
        let found = self.base.try_get(key);
        let shard = self.shard_of(&call, key);
        match found {
            TryResult::Present(base) => {
                let hold = call.guard(
                    shard,
                    Mode::Shared,
                    &base.value().cell,
                    Kind::Read,
                    base.key(),
                    Track::Check(call.hash()),
                );
                TryResult::Present(Ref::new(hold, base))
            }
            TryResult::Absent => {
                self.edge_if_free(&call, shard, Mode::Shared);
                TryResult::Absent
            }
            TryResult::Locked => TryResult::Locked,
        }
    }

    /// `get_mut` without blocking: `Locked` if the shard is locked. Never reported.
    /// See `dashmap::DashMap::try_get_mut`.
    #[track_caller]
    pub fn try_get_mut<Q>(&'a self, key: &Q) -> TryResult<RefMut<'a, K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let call = self.shadow.call(Op::TryGetMut);
        call.arm();
        let found = self.base.try_get_mut(key);
        let shard = self.shard_of(&call, key);
        match found {
            TryResult::Present(base) => {
                let hold = call.guard(
                    shard,
                    Mode::Exclusive,
                    &base.value().cell,
                    Kind::Write,
                    base.key(),
                    Track::Act(Some(call.hash())),
                );
                TryResult::Present(RefMut::new(hold, base))
            }
            TryResult::Absent => {
                self.edge_if_free(&call, shard, Mode::Exclusive);
                TryResult::Absent
            }
            TryResult::Locked => TryResult::Locked,
        }
    }

    /// Shrinks every shard's capacity as much as possible (each shard exclusively, in turn).
    #[track_caller]
    pub fn shrink_to_fit(&self) {
        let call = self.shadow.call(Op::ShrinkToFit);
        call.before_all(Whole::Exclusive);
        for (shard, lock) in self.base.shards().iter().enumerate() {
            // dashmap's own `shrink_to_fit`, shard by shard, with the edges under each lock.
            let mut table = lock.write();
            let _hold = call.visit(shard, Mode::Exclusive);
            let len = table.len();
            let hasher = self.base.hasher();
            table.shrink_to(len, |(key, _)| hasher.hash_one(key));
        }
    }

    /// Keeps only the entries for which `f` is true (each shard exclusively, in turn).
    /// See `dashmap::DashMap::retain`.
    #[track_caller]
    pub fn retain(&self, mut f: impl FnMut(&K, &mut V) -> bool) {
        self.retain_with(Op::Retain, |k, v| f(k, v));
    }

    #[track_caller]
    fn retain_with(&self, op: Op, mut f: impl FnMut(&K, &mut V) -> bool) {
        let call = self.shadow.call(op);
        call.before_all(Whole::Exclusive);
        let mut visited = Visited::new(&call, self.shadow.shard_count());
        self.base.retain(|key, slot| {
            let shard = visited.item(|| self.base.determine_map(key));
            let hold = call.hold(shard, Mode::Exclusive);
            hold.write(&slot.cell, key);
            f(key, &mut slot.value)
        });
        visited.edges_of_the_rest(|shard| self.edge_without_guard(&call, shard, Mode::Exclusive));
    }

    /// The number of entries (each shard shared, in turn). See `dashmap::DashMap::len`.
    #[track_caller]
    pub fn len(&self) -> usize {
        sum_shards!(self, Op::Len, |table| table.len())
    }

    /// Whether the map is empty (each shard shared, in turn). See `dashmap::DashMap::is_empty`.
    #[track_caller]
    pub fn is_empty(&self) -> bool {
        // dashmap's own `is_empty` is `len() == 0`.
        sum_shards!(self, Op::IsEmpty, |table| table.len()) == 0
    }

    /// The number of entries the map can hold without reallocating (each shard shared, in
    /// turn). See `dashmap::DashMap::capacity`.
    #[track_caller]
    pub fn capacity(&self) -> usize {
        sum_shards!(self, Op::Capacity, |table| table.capacity())
    }

    /// Removes every entry (each shard exclusively, in turn). See `dashmap::DashMap::clear`.
    #[track_caller]
    pub fn clear(&self) {
        // dashmap's own `clear` is this.
        self.retain_with(Op::Clear, |_, _| false);
    }

    /// Replaces the value of `key` by `f(key, old)` under one exclusive guard.
    /// See `dashmap::DashMap::alter`.
    #[track_caller]
    pub fn alter<Q>(&self, key: &Q, f: impl FnOnce(&K, V) -> V)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let call = self.shadow.call(Op::Alter);
        let _waiting = self.start(&call, key, Mode::Exclusive);
        let mut found = false;
        self.base.alter(key, |k, slot| {
            found = true;
            let hold = call.hold(self.shard_of::<K>(&call, k), Mode::Exclusive);
            hold.write(&slot.cell, k);
            let Stored { value, cell } = slot;
            let value = f(k, value);
            drop(hold);
            Stored { value, cell }
        });
        if !found {
            let shard = self.shard_of(&call, key);
            self.edge_without_guard(&call, shard, Mode::Exclusive);
        }
    }

    /// Replaces every value by `f(key, old)` (each shard exclusively, in turn).
    /// See `dashmap::DashMap::alter_all`.
    #[track_caller]
    pub fn alter_all(&self, mut f: impl FnMut(&K, V) -> V) {
        let call = self.shadow.call(Op::AlterAll);
        call.before_all(Whole::Exclusive);
        let mut visited = Visited::new(&call, self.shadow.shard_count());
        self.base.alter_all(|key, slot| {
            let shard = visited.item(|| self.base.determine_map(key));
            let hold = call.hold(shard, Mode::Exclusive);
            hold.write(&slot.cell, key);
            let Stored { value, cell } = slot;
            let value = f(key, value);
            drop(hold);
            Stored { value, cell }
        });
        visited.edges_of_the_rest(|shard| self.edge_without_guard(&call, shard, Mode::Exclusive));
    }

    /// Calls `f` on `key`'s entry under a shared guard. See `dashmap::DashMap::view`.
    #[track_caller]
    pub fn view<Q, R>(&self, key: &Q, f: impl FnOnce(&K, &V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let call = self.shadow.call(Op::View);
        let _waiting = self.start(&call, key, Mode::Shared);
        let seen = self.base.view(key, |k, slot| {
            let hold = call.hold(self.shard_of::<K>(&call, k), Mode::Shared);
            hold.check_read(&slot.cell, k, call.hash());
            let result = f(k, &slot.value);
            drop(hold);
            result
        });
        if seen.is_none() {
            let shard = self.shard_of(&call, key);
            self.edge_without_guard(&call, shard, Mode::Shared);
            call.check_absent();
        }
        seen
    }

    /// Whether the map has `key` (a shared guard, for the call).
    /// See `dashmap::DashMap::contains_key`.
    #[inline]
    #[track_caller]
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.contains_with(Op::ContainsKey, key)
    }

    /// dashmap's own `contains_key` is a `get` whose guard is dropped at once: no user code
    /// runs while it is held, so the hold is not recorded.
    #[inline]
    #[track_caller]
    pub(super) fn contains_with<Q>(&self, op: Op, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let call = self.shadow.call(op);
        if !call.active() {
            return self.base.contains_key(key);
        }
        let _waiting = self.start(&call, key, Mode::Shared);
        let found = self.base.get(key);
        let shard = self.shard_of(&call, key);
        match found {
            Some(base) => {
                // Released before the real unlock.
                call.access_in_place(
                    shard,
                    Mode::Shared,
                    &base.value().cell,
                    Kind::Read,
                    base.key(),
                    Track::Check(call.hash()),
                );
                drop(base);
                true
            }
            None => {
                self.edge_without_guard(&call, shard, Mode::Shared);
                call.check_absent();
                false
            }
        }
    }

    /// The entry for `key` (an exclusive guard on its shard until dropped).
    /// See `dashmap::DashMap::entry`.
    // Inline, with `Entry::new`, `and_modify`, `or_insert`, `into_ref` and `get_mut`: out of
    // line, each passes the 88-byte entry through the stack, and copying a value just written
    // field by field stalls the loads (store forwarding), a cost instruction counts do not show.
    #[track_caller]
    #[inline(always)]
    pub fn entry(&'a self, key: K) -> Entry<'a, K, V> {
        let call = self.shadow.call(Op::Entry);
        // The detector off at run time (`enabled=0`): dashmap's call and a guard that keeps
        // nothing, with none of the checks' code between (the same in `get_mut` and
        // `contains_key`; `get` and `insert` measured no better this way).
        if !call.active() {
            return Entry::new(call.off(), 0, self.base.entry(key));
        }
        let waiting = self.start(&call, &key, Mode::Exclusive);
        let base = self.base.entry(key);
        drop(waiting); // the lock is held: the wait is over (see `get_with`)
        let shard = self.shard_of(&call, base.key());
        let (hold, spends) = entry_hold(&call, shard, &base);
        Entry::new(hold, spends, base)
    }

    /// `entry` without blocking: `None` if the shard is locked. Never reported.
    /// See `dashmap::DashMap::try_entry`.
    #[track_caller]
    pub fn try_entry(&'a self, key: K) -> Option<Entry<'a, K, V>> {
        let call = self.shadow.call(Op::TryEntry);
        call.arm();
        let Some(base) = self.base.try_entry(key) else {
            // The shard is locked: dashmap hashed the key and gave nothing back.
            call.take_hash();
            return None;
        };
        let shard = self.shard_of(&call, base.key());
        let (hold, spends) = entry_hold(&call, shard, &base);
        Some(Entry::new(hold, spends, base))
    }

    /// Reserves room for `additional` more entries in every shard.
    /// See `dashmap::DashMap::try_reserve`.
    pub fn try_reserve(&mut self, additional: usize) -> Result<(), super::TryReserveError> {
        // `&mut self`: no guard is alive and no other thread can reach the map.
        self.base.try_reserve(additional)
    }
}

/// Which shards a whole-map call (`retain`, `alter_all`) visited through items, so that the
/// others (empty then) get their edges afterwards.
struct Visited<'c> {
    call: &'c Call<'c>,
    seen: Vec<bool>,
    /// The shard of the last item, and whether it needs computing.
    current: Option<usize>,
}

impl<'c> Visited<'c> {
    fn new(call: &'c Call<'c>, shards: usize) -> Visited<'c> {
        Visited {
            call,
            seen: if call.active() {
                vec![false; shards]
            } else {
                Vec::new()
            },
            current: None,
        }
    }

    /// The shard of an item the call reached (`shard` hashes its key).
    #[inline]
    fn item(&mut self, shard: impl FnOnce() -> usize) -> usize {
        if !self.call.active() {
            return 0;
        }
        let shard = shard();
        self.seen[shard] = true;
        self.current = Some(shard);
        shard
    }

    fn edges_of_the_rest(self, mut edge: impl FnMut(usize)) {
        for (shard, seen) in self.seen.iter().enumerate() {
            if !seen {
                edge(shard);
            }
        }
    }
}

impl<K, V, S> Clone for DashMap<K, V, S>
where
    K: Eq + Hash + Clone,
    V: Clone,
    S: BuildHasher + Clone,
{
    /// A new map with the same entries (each shard shared, in turn), and no history.
    /// (dashmap's `Clone` does not require `S: BuildHasher`; this one locks the shards itself,
    /// which needs it.)
    #[track_caller]
    fn clone(&self) -> Self {
        let call = self.shadow.call(Op::Clone);
        call.before_all(Whole::Shared);
        let shards = self.base.shards();
        let mut base = Base::with_capacity_and_hasher_and_shard_amount(
            0,
            self.base.hasher().clone(),
            shards.len(),
        );
        for ((shard, lock), copy) in shards.iter().enumerate().zip(base.shards_mut()) {
            let table = lock.read();
            let _hold = call.visit(shard, Mode::Shared);
            *copy.get_mut() = table.clone();
        }
        DashMap {
            shadow: self.shadow.fresh_like(),
            base,
        }
    }
}

impl<K: Eq + Hash + fmt::Debug, V: fmt::Debug, S: BuildHasher + Clone> fmt::Debug
    for DashMap<K, V, S>
{
    /// Lists the entries (each shard shared, in turn).
    #[track_caller]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let call = self.shadow.call(Op::Debug);
        call.before_all(Whole::Shared);
        let mut map = f.debug_map();
        for r in Iter::<K, V, S, Self>::new(self, call) {
            let (k, v) = r.pair();
            map.entry(k, v);
        }
        map.finish()
    }
}

impl<'a, K: 'a + Eq + Hash, V: 'a, S: BuildHasher + Clone> Shl<(K, V)> for &'a DashMap<K, V, S> {
    type Output = Option<V>;

    /// `map << (key, value)` is `map.insert(key, value)`.
    #[track_caller]
    fn shl(self, pair: (K, V)) -> Self::Output {
        self.insert(pair.0, pair.1)
    }
}

impl<'a, K: 'a + Eq + Hash, V: 'a, S: BuildHasher + Clone, Q> Shr<&Q> for &'a DashMap<K, V, S>
where
    K: Borrow<Q>,
    Q: Hash + Eq + ?Sized,
{
    type Output = Ref<'a, K, V>;

    /// `map >> key` is `map.get(key).unwrap()`.
    #[track_caller]
    fn shr(self, key: &Q) -> Self::Output {
        self.get(key).unwrap()
    }
}

impl<'a, K: 'a + Eq + Hash, V: 'a, S: BuildHasher + Clone, Q> BitOr<&Q> for &'a DashMap<K, V, S>
where
    K: Borrow<Q>,
    Q: Hash + Eq + ?Sized,
{
    type Output = RefMut<'a, K, V>;

    /// `map | key` is `map.get_mut(key).unwrap()`.
    #[track_caller]
    fn bitor(self, key: &Q) -> Self::Output {
        self.get_mut(key).unwrap()
    }
}

impl<'a, K: 'a + Eq + Hash, V: 'a, S: BuildHasher + Clone, Q> Sub<&Q> for &'a DashMap<K, V, S>
where
    K: Borrow<Q>,
    Q: Hash + Eq + ?Sized,
{
    type Output = Option<(K, V)>;

    /// `map - key` is `map.remove(key)`.
    #[track_caller]
    fn sub(self, key: &Q) -> Self::Output {
        self.remove(key)
    }
}

impl<'a, K: 'a + Eq + Hash, V: 'a, S: BuildHasher + Clone, Q> BitAnd<&Q> for &'a DashMap<K, V, S>
where
    K: Borrow<Q>,
    Q: Hash + Eq + ?Sized,
{
    type Output = bool;

    /// `map & key` is `map.contains_key(key)`.
    #[track_caller]
    fn bitand(self, key: &Q) -> Self::Output {
        self.contains_key(key)
    }
}

impl<K: Eq + Hash, V, S: BuildHasher + Clone> IntoIterator for DashMap<K, V, S> {
    type Item = (K, V);

    type IntoIter = OwningIter<K, V, S>;

    /// Consumes the map. Everything released into it so far happens before what this thread
    /// does next.
    fn into_iter(self) -> Self::IntoIter {
        let DashMap { shadow, base } = self;
        drop(shadow); // acquires every clock
        OwningIter::new(base.into_iter())
    }
}

impl<'a, K: Eq + Hash, V, S: BuildHasher + Clone> IntoIterator for &'a DashMap<K, V, S> {
    type Item = super::mapref::multiple::RefMulti<'a, K, V>;

    type IntoIter = Iter<'a, K, V, S, DashMap<K, V, S>>;

    #[track_caller]
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<K: Eq + Hash, V, S: BuildHasher + Clone> Extend<(K, V)> for DashMap<K, V, S> {
    /// Inserts every pair, one `insert` each (as dashmap does).
    #[track_caller]
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, intoiter: I) {
        for (key, value) in intoiter {
            self.insert_with(Op::Extend, key, value);
        }
    }
}

impl<K: Eq + Hash, V, S: BuildHasher + Clone + Default> FromIterator<(K, V)> for DashMap<K, V, S> {
    #[track_caller]
    fn from_iter<I: IntoIterator<Item = (K, V)>>(intoiter: I) -> Self {
        let mut map = DashMap::default();
        map.extend(intoiter);
        map
    }
}

/// Names the map in reports (used by `#[maprace::track]` through `__private::named`).
impl<K, V, S> crate::__private::Nameable for DashMap<K, V, S> {
    fn set_name(&mut self, name: &'static str) {
        self.shadow.set_name(name);
    }
}

/// The exclusive hold of an entry just made on `shard`: the entry is a check-then-act's check of
/// its key, found (as it is now) or absent; with the tag of the check a write through an
/// occupied entry spends (0: none).
#[inline(always)]
fn entry_hold<'a, K: Eq + Hash, V>(
    call: &Call<'a>,
    shard: usize,
    base: &::dashmap::mapref::entry::Entry<'_, K, Stored<V>>,
) -> (crate::rt::dashmap::Hold<'a>, u64) {
    let hold = call.hold(shard, Mode::Exclusive);
    let spends = match base {
        ::dashmap::mapref::entry::Entry::Occupied(entry) => call.check_entry(&entry.get().cell),
        ::dashmap::mapref::entry::Entry::Vacant(_) => {
            call.check_absent();
            0
        }
    };
    (hold, spends)
}
