//! The tracked mirror of [`std::collections::hash_map`].
//!
//! [`HashMap`] has std's API, generics and behaviour; each method checks the shadow cells it
//! touches (see "What it finds" in the crate docs) before doing the real work, and is
//! `#[track_caller]`, so a report names the line in your code that made the access.
//!
//! The table is hashbrown's `HashTable` (std's own implementation) of `(key, Stored)` pairs
//! and the hasher, driven as std drives it: the same hashes, `Eq` calls, probes and capacities,
//! and one hash per operation.

use super::hash_table::Table;
use crate::rt::map::{Access, Hashed, Lookups, MapShadow, Rehash, Stored, WritingIter};
use crate::rt::site::Op;
use hashbrown::hash_table::{self, HashTable};
use std::borrow::Borrow;
use std::collections::TryReserveError;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::iter::FusedIterator;
use std::mem;
use std::ops::Index;

pub use std::collections::hash_map::{DefaultHasher, RandomState};

/// What the table holds for each key.
type Pair<K, V> = (K, Stored<V>);

/// A hash map whose concurrent misuse is reported, with std's API.
///
/// This is what `maprace::HashMap` is when the detector is compiled in; otherwise it is
/// `std::collections::HashMap` itself.
///
/// ```
/// let mut scores = maprace::HashMap::new();
/// scores.insert("ada", 10);
/// assert_eq!(scores.get("ada"), Some(&10));
/// ```
// The shadow first, so that what every operation touches (its structure cell and the map's
// address) starts the value: in a `maprace::sync::Mutex`, on a cache line of its own.
#[repr(C)]
pub struct HashMap<K, V, S = RandomState> {
    shadow: MapShadow,
    table: Table<Pair<K, V>>,
    hash_builder: S,
}

/// Rehashes a pair as std's map does: its key with the map's hasher.
#[inline]
fn hasher<K: Hash, V, S: BuildHasher>(hash_builder: &S) -> impl Fn(&Pair<K, V>) -> u64 + '_ {
    move |(key, _)| hash_builder.hash_one(key)
}

/// The pairs of the table as the shadow sees them, to forget their history after a move.
fn stored<K, V>(table: &HashTable<Pair<K, V>>) -> impl Iterator<Item = &Stored<V>> {
    table.iter().map(|(_, stored)| stored)
}

/// One hot operation on a map, dispatched once on what the thread found (`CtxRef::hot`): `$on`
/// with the detector on (its checks inline, the mode known to the compiler, the thread's
/// context fetched once), std's code alone (`$off`) with `enabled=0`, and `$on` out of line
/// with `trace=1` or `history=full` (and for a thread's first operation, which makes its
/// context). The mode bits a map does not look at (`deadlock`) do not leave the fast path.
macro_rules! hot {
    ($map:ident, $op:expr, |$access:ident| $on:expr, off: $off:expr) => {{
        let location = std::panic::Location::caller();
        let hot = crate::rt::thread::CtxRef::hot();
        if hot.checked() {
            let me = hot.ctx();
            let $access = $map.shadow.access_at($op, crate::rt::ENABLED, location);
            if $access.begin() {
                crate::rt::map::forget_history(stored(&$map.table));
            }
            let $access = $access.on(&me);
            $on
        } else if hot.off() || crate::rt::thread::settle_off() {
            $off
        } else {
            crate::rt::map::observed(|| {
                let $access = $map.shadow.access_at($op, crate::rt::mode(), location);
                if $access.begin() {
                    crate::rt::map::forget_history(stored(&$map.table));
                }
                $on
            })
        }
    }};
}

impl<K, V> HashMap<K, V, RandomState> {
    /// Creates an empty `HashMap`. See [`std::collections::HashMap::new`].
    #[must_use]
    #[track_caller]
    pub fn new() -> HashMap<K, V, RandomState> {
        HashMap::with_hasher(RandomState::new())
    }

    /// Creates an empty `HashMap` with room for `capacity` elements.
    /// See [`std::collections::HashMap::with_capacity`].
    #[must_use]
    #[track_caller]
    pub fn with_capacity(capacity: usize) -> HashMap<K, V, RandomState> {
        HashMap::with_capacity_and_hasher(capacity, RandomState::new())
    }
}

impl<K, V, S> HashMap<K, V, S> {
    /// Creates an empty `HashMap` which will use `hash_builder` to hash keys.
    /// See [`std::collections::HashMap::with_hasher`].
    #[must_use]
    #[track_caller]
    pub const fn with_hasher(hash_builder: S) -> HashMap<K, V, S> {
        HashMap {
            shadow: MapShadow::new(std::any::type_name::<Self>),
            table: Table::new(HashTable::new()),
            hash_builder,
        }
    }

    /// Creates an empty `HashMap` with room for `capacity` elements, using `hasher`.
    /// See [`std::collections::HashMap::with_capacity_and_hasher`].
    #[must_use]
    #[track_caller]
    pub fn with_capacity_and_hasher(capacity: usize, hasher: S) -> HashMap<K, V, S> {
        HashMap {
            shadow: MapShadow::new(std::any::type_name::<Self>),
            table: Table::new(HashTable::with_capacity(capacity)),
            hash_builder: hasher,
        }
    }

    /// The number of elements the map can hold without reallocating (reads the structure).
    #[track_caller]
    pub fn capacity(&self) -> usize {
        access!(self, Op::Capacity, stored(&self.table)).read_structure();
        self.table.capacity()
    }

    /// An iterator over the keys (reads the structure; keys never change in place, so no value
    /// is read). See [`std::collections::HashMap::keys`].
    #[track_caller]
    pub fn keys(&self) -> Keys<'_, K, V> {
        access!(self, Op::Keys, stored(&self.table)).read_structure();
        Keys {
            base: self.table.iter(),
        }
    }

    /// Consumes the map into its keys. See [`std::collections::HashMap::into_keys`].
    #[track_caller]
    pub fn into_keys(self) -> IntoKeys<K, V> {
        IntoKeys {
            base: self.into_table(Op::IntoKeys).into_iter(),
        }
    }

    /// An iterator over the values (reads each key it visits).
    /// See [`std::collections::HashMap::values`].
    #[track_caller]
    pub fn values(&self) -> Values<'_, K, V> {
        Values {
            inner: self.iter_with(Op::Values),
        }
    }

    /// An iterator over mutable values (writes each key it visits).
    /// See [`std::collections::HashMap::values_mut`].
    #[track_caller]
    pub fn values_mut(&mut self) -> ValuesMut<'_, K, V> {
        ValuesMut {
            inner: self.iter_mut_with(Op::ValuesMut),
        }
    }

    /// Consumes the map into its values. See [`std::collections::HashMap::into_values`].
    #[track_caller]
    pub fn into_values(self) -> IntoValues<K, V> {
        IntoValues {
            base: self.into_table(Op::IntoValues).into_iter(),
        }
    }

    /// An iterator over the entries (reads each key it visits).
    /// See [`std::collections::HashMap::iter`].
    #[track_caller]
    pub fn iter(&self) -> Iter<'_, K, V> {
        self.iter_with(Op::Iter)
    }

    #[track_caller]
    fn iter_with(&self, op: Op) -> Iter<'_, K, V> {
        let access = access!(self, op, stored(&self.table));
        access.read_structure();
        Iter {
            base: self.table.iter(),
            access,
        }
    }

    /// An iterator over the entries with mutable values (writes each key it visits).
    /// See [`std::collections::HashMap::iter_mut`].
    #[track_caller]
    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        self.iter_mut_with(Op::IterMut)
    }

    #[track_caller]
    fn iter_mut_with(&mut self, op: Op) -> IterMut<'_, K, V> {
        let access = access!(self, op, stored(&self.table));
        access.read_structure();
        IterMut {
            base: self.table.iter_mut(),
            access,
        }
    }

    /// The number of elements (reads the structure).
    #[inline]
    #[track_caller]
    pub fn len(&self) -> usize {
        access!(self, Op::Len, stored(&self.table)).read_structure();
        self.table.len()
    }

    /// Whether the map is empty (reads the structure).
    #[inline]
    #[track_caller]
    pub fn is_empty(&self) -> bool {
        access!(self, Op::IsEmpty, stored(&self.table)).read_structure();
        self.table.is_empty()
    }

    /// Removes every entry, returning them in an iterator. Making it, each step and its drop
    /// write the structure. See [`std::collections::HashMap::drain`].
    #[track_caller]
    pub fn drain(&mut self) -> Drain<'_, K, V> {
        let access = access!(self, Op::Drain, stored(&self.table));
        Drain {
            writing: access.writing_iter(),
            base: self.table.drain(),
        }
    }

    /// Removes and yields the entries for which `pred` is true. Making it, each step and its
    /// drop write the structure. See [`std::collections::HashMap::extract_if`].
    #[track_caller]
    pub fn extract_if<'a, F>(&'a mut self, mut pred: F) -> ExtractIf<'a, K, V, F>
    where
        F: FnMut(&K, &mut V) -> bool + 'a,
    {
        let access = access!(self, Op::ExtractIf, stored(&self.table));
        let on_stored: StoredPredicate<'a, K, V> =
            Box::new(move |(key, stored)| pred(key, &mut stored.value));
        ExtractIf {
            writing: access.writing_iter(),
            base: self.table.extract_if(on_stored),
            _pred: std::marker::PhantomData,
        }
    }

    /// Keeps only the entries for which `f` is true (writes the structure).
    /// See [`std::collections::HashMap::retain`].
    #[track_caller]
    pub fn retain<F>(&mut self, mut f: F)
    where
        F: FnMut(&K, &mut V) -> bool,
    {
        let access = access!(self, Op::Retain, stored(&self.table));
        let _writing = access.write_structure();
        self.table.retain(|(key, stored)| f(key, &mut stored.value));
    }

    /// Removes every entry (writes the structure). See [`std::collections::HashMap::clear`].
    #[track_caller]
    pub fn clear(&mut self) {
        let access = access!(self, Op::Clear, stored(&self.table));
        let _writing = access.write_structure();
        self.table.clear();
    }

    /// The map's hasher. See [`std::collections::HashMap::hasher`].
    pub fn hasher(&self) -> &S {
        &self.hash_builder
    }

    /// Takes the table out for a consuming operation, which writes the whole structure.
    #[track_caller]
    fn into_table(self, op: Op) -> HashTable<Pair<K, V>> {
        let this = &self;
        drop(access!(this, op, stored(&this.table)).write_structure());
        let HashMap { table, .. } = self;
        table.into_inner()
    }

    /// The pair of `k`, found as std's map finds it (an empty map hashes nothing).
    #[inline(always)]
    fn find<Q>(&self, k: &Q) -> Option<&Pair<K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        S: BuildHasher,
    {
        match self.lookup(k) {
            Lookup::Found(_, pair) => Some(pair),
            _ => None,
        }
    }

    /// `find`, with the hash it computed.
    #[inline(always)]
    fn lookup<Q>(&self, k: &Q) -> Lookup<&Pair<K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        S: BuildHasher,
    {
        if self.table.is_empty() {
            return Lookup::Empty;
        }
        let hash = self.hash_builder.hash_one(k);
        match self.table.find(hash, |(key, _)| k == key.borrow()) {
            Some(pair) => Lookup::Found(hash, pair),
            None => Lookup::Missing(hash),
        }
    }

    /// A lookup's check-then-act record: `found`'s key cell read, or the key found absent.
    #[inline(always)]
    fn checked<'a, Q>(
        &self,
        access: &impl Lookups,
        k: &Q,
        found: Lookup<&'a Pair<K, V>>,
    ) -> Option<&'a Pair<K, V>>
    where
        Q: Hash + ?Sized,
        S: BuildHasher,
    {
        match found {
            Lookup::Found(hash, pair) => {
                access.check_key(&pair.1.cell, Hashed(k, &self.hash_builder), hash);
                Some(pair)
            }
            Lookup::Missing(hash) => {
                access.check_absent(hash);
                None
            }
            Lookup::Empty => {
                access.check_absent_in_empty(k);
                None
            }
        }
    }
}

/// What a lookup found, and the key's hash when it computed one (an empty map hashes nothing).
enum Lookup<P> {
    Empty,
    Missing(u64),
    Found(u64, P),
}

/// `HashMap::find`, for a mutable pair (a function of the fields, so that the map's shadow stays
/// borrowed by the operation's `Access` meanwhile), with the key's hash.
#[inline(always)]
fn find_mut<'t, K, V, Q, S>(
    table: &'t mut HashTable<Pair<K, V>>,
    hash_builder: &S,
    k: &Q,
) -> Option<(u64, &'t mut Pair<K, V>)>
where
    K: Borrow<Q>,
    Q: Hash + Eq + ?Sized,
    S: BuildHasher,
{
    if table.is_empty() {
        return None;
    }
    let hash = hash_builder.hash_one(k);
    table
        .find_mut(hash, |(key, _)| k == key.borrow())
        .map(|pair| (hash, pair))
}

impl<K, V, S> HashMap<K, V, S>
where
    K: Eq + Hash,
    S: BuildHasher,
{
    /// Reserves room for at least `additional` more elements (writes the structure).
    /// See [`std::collections::HashMap::reserve`].
    #[track_caller]
    pub fn reserve(&mut self, additional: usize) {
        let access = access!(self, Op::Reserve, stored(&self.table));
        let _writing = access.write_structure();
        let old = self.table.capacity();
        self.table.reserve(additional, hasher(&self.hash_builder));
        access.resized::<V>(old, self.table.capacity(), self.table.len());
    }

    /// Tries to reserve room for at least `additional` more elements (writes the structure).
    /// See [`std::collections::HashMap::try_reserve`].
    #[track_caller]
    pub fn try_reserve(&mut self, additional: usize) -> Result<(), TryReserveError> {
        let access = access!(self, Op::TryReserve, stored(&self.table));
        let _writing = access.write_structure();
        let old = self.table.capacity();
        let result = self
            .table
            .try_reserve(additional, hasher(&self.hash_builder));
        access.resized::<V>(old, self.table.capacity(), self.table.len());
        result.map_err(std_reserve_error)
    }

    /// Shrinks the capacity as much as possible (writes the structure).
    /// See [`std::collections::HashMap::shrink_to_fit`].
    #[track_caller]
    pub fn shrink_to_fit(&mut self) {
        let access = access!(self, Op::ShrinkToFit, stored(&self.table));
        let _writing = access.write_structure();
        let old = self.table.capacity();
        self.table.shrink_to(0, hasher(&self.hash_builder));
        access.resized::<V>(old, self.table.capacity(), self.table.len());
    }

    /// Shrinks the capacity with a lower limit (writes the structure).
    /// See [`std::collections::HashMap::shrink_to`].
    #[track_caller]
    pub fn shrink_to(&mut self, min_capacity: usize) {
        let access = access!(self, Op::ShrinkTo, stored(&self.table));
        let _writing = access.write_structure();
        let old = self.table.capacity();
        self.table
            .shrink_to(min_capacity, hasher(&self.hash_builder));
        access.resized::<V>(old, self.table.capacity(), self.table.len());
    }

    /// The entry for `key`, for in-place manipulation. Reads the structure, and writes it if
    /// making room for a vacant entry grows the table (std grows a full table before it returns
    /// a vacant entry). See [`std::collections::HashMap::entry`].
    #[inline]
    #[track_caller]
    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        let mut access = access!(self, Op::Entry, stored(&self.table));
        let hash = self.hash_builder.hash_one(&key);
        access.read_structure_of(Hashed(&key, &self.hash_builder));
        // As std's: a lookup, then, for a vacant entry, room for one more.
        let table = match self.table.find_entry(hash, |(k, _)| *k == key) {
            Ok(base) => {
                access.check_entry(&base.get().1.cell, hash);
                return Entry::Occupied(OccupiedEntry {
                    base: TableOccupied(base),
                    access,
                });
            }
            Err(absent) => {
                access.check_absent(hash);
                absent.into_table()
            }
        };
        if table.len() == table.capacity() {
            let _growing = access.write_structure_of(Some(Hashed(&key, &self.hash_builder)));
            let old = table.capacity();
            table.reserve(1, hasher(&self.hash_builder));
            access.resized::<V>(old, table.capacity(), table.len());
        }
        Entry::Vacant(VacantEntry {
            base: TableVacant { table, hash, key },
            access,
        })
    }

    /// The value for `k` (reads the structure and the key).
    /// See [`std::collections::HashMap::get`].
    #[inline(always)]
    #[track_caller]
    pub fn get<Q>(&self, k: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        hot!(self, Op::Get, |access| {
            access.read_structure_of(Hashed(k, &self.hash_builder));
            self.checked(&access, k, self.lookup(k)).map(|(_, stored)| &stored.value)
        }, off: self.find(k).map(|(_, stored)| &stored.value))
    }

    /// The key-value pair for `k` (reads the structure and the key).
    /// See [`std::collections::HashMap::get_key_value`].
    #[inline(always)]
    #[track_caller]
    pub fn get_key_value<Q>(&self, k: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        hot!(self, Op::GetKeyValue, |access| {
            access.read_structure_of(Hashed(k, &self.hash_builder));
            self.checked(&access, k, self.lookup(k)).map(|(key, stored)| (key, &stored.value))
        }, off: self.find(k).map(|(key, stored)| (key, &stored.value)))
    }

    /// Mutable references to the values of `ks`, all at once (reads the structure, writes each
    /// key found). Panics if two keys are equal, as std does.
    /// See [`std::collections::HashMap::get_disjoint_mut`].
    #[track_caller]
    pub fn get_disjoint_mut<Q, const N: usize>(&mut self, ks: [&Q; N]) -> [Option<&'_ mut V>; N]
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let access = access!(self, Op::GetDisjointMut, stored(&self.table));
        access.read_structure();
        let hashes = ks.map(|k| self.hash_builder.hash_one(k));
        let found = self
            .table
            .get_disjoint_mut(hashes, |i, (key, _)| ks[i] == key.borrow());
        written_values(&access, ks, hashes, found)
    }

    /// [`get_disjoint_mut`](Self::get_disjoint_mut) without the check that keys are distinct.
    ///
    /// # Safety
    /// As [`std::collections::HashMap::get_disjoint_unchecked_mut`]: calling it with
    /// overlapping keys is undefined behavior even if the result is unused.
    #[track_caller]
    pub unsafe fn get_disjoint_unchecked_mut<Q, const N: usize>(
        &mut self,
        ks: [&Q; N],
    ) -> [Option<&'_ mut V>; N]
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let access = access!(self, Op::GetDisjointMut, stored(&self.table));
        access.read_structure();
        let hashes = ks.map(|k| self.hash_builder.hash_one(k));
        // SAFETY: the caller promises what std's method requires (the keys are distinct).
        let found = unsafe {
            self.table
                .get_disjoint_unchecked_mut(hashes, |i, (key, _)| ks[i] == key.borrow())
        };
        written_values(&access, ks, hashes, found)
    }

    /// Whether the map has `k` (reads the structure and the key).
    /// See [`std::collections::HashMap::contains_key`].
    #[inline(always)]
    #[track_caller]
    pub fn contains_key<Q>(&self, k: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        hot!(self, Op::ContainsKey, |access| {
            access.read_structure_of(Hashed(k, &self.hash_builder));
            self.checked(&access, k, self.lookup(k)).is_some()
        }, off: self.find(k).is_some())
    }

    /// A mutable reference to the value of `k` (reads the structure, writes the key).
    /// See [`std::collections::HashMap::get_mut`].
    #[inline(always)]
    #[track_caller]
    pub fn get_mut<Q>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        hot!(self, Op::GetMut, |access| {
            access.read_structure_of(Hashed(k, &self.hash_builder));
            match find_mut(&mut self.table, &self.hash_builder, k) {
                Some((hash, (_, stored))) => {
                    access.act_key(&stored.cell, k, Some(hash));
                    Some(&mut stored.value)
                }
                None => None,
            }
        }, off: find_mut(&mut self.table, &self.hash_builder, k).map(|(_, (_, stored))| &mut stored.value))
    }

    /// Inserts a key-value pair: over an existing key it reads the structure and writes the
    /// key; a new key writes the structure. See [`std::collections::HashMap::insert`].
    #[inline(always)]
    #[track_caller]
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        hot!(self, Op::Insert, |access| {
            // std's insert makes room for one more before it looks (a full table grows even
            // for a key that is there): that is a write of the structure, marked before the
            // key is hashed (a `Hash` that takes long is inside the write). Its own branch,
            // so that the common one keeps no guard that may be there.
            // (No closures over `access` here: one left out of line puts it in memory.)
            if self.table.len() == self.table.capacity() {
                let growing = access.write_structure_of(Some(Hashed(&k, &self.hash_builder)));
                let hash = self.hash_builder.hash_one(&k);
                let old = self.table.capacity();
                let entry = self
                    .table
                    .entry(hash, |(key, _)| k == *key, hasher(&self.hash_builder));
                let found = match entry {
                    hash_table::Entry::Occupied(mut entry) => {
                        let stored = &mut entry.get_mut().1;
                        // (The key's hash left to a report: see `Rehash`.)
                        let key = Rehash(&k, &self.hash_builder);
                        let _writing = access.act_key_in_progress(&stored.cell, key, None);
                        Some(mem::replace(&mut stored.value, v))
                    }
                    hash_table::Entry::Vacant(entry) => {
                        let cell = access.new_cell();
                        entry.insert((k, Stored { value: v, cell }));
                        None
                    }
                };
                drop(growing);
                access.resized::<V>(old, self.table.capacity(), self.table.len());
                return found;
            }
            let hash = self.hash_builder.hash_one(&k);
            let entry = self
                .table
                .entry(hash, |(key, _)| k == *key, hasher(&self.hash_builder));
            match entry {
                hash_table::Entry::Occupied(mut entry) => {
                    access.read_structure_of(Hashed(&k, &self.hash_builder));
                    let stored = &mut entry.get_mut().1;
                    // (The key's hash left to a report: see `Rehash`.)
                    let key = Rehash(&k, &self.hash_builder);
                    let _writing = access.act_key_in_progress(&stored.cell, key, None);
                    Some(mem::replace(&mut stored.value, v))
                }
                hash_table::Entry::Vacant(entry) => {
                    // (Room for one more: the table does not grow.)
                    let _writing =
                        access.write_structure_of(Some(Hashed(&k, &self.hash_builder)));
                    let cell = access.new_cell();
                    entry.insert((k, Stored { value: v, cell }));
                    None
                }
            }
        }, off: {
            let hash = self.hash_builder.hash_one(&k);
            match self
                .table
                .entry(hash, |(key, _)| k == *key, hasher(&self.hash_builder))
            {
                hash_table::Entry::Occupied(mut entry) => {
                    Some(mem::replace(&mut entry.get_mut().1.value, v))
                }
                hash_table::Entry::Vacant(entry) => {
                    let cell = crate::rt::cell::Cell::new();
                    entry.insert((k, Stored { value: v, cell }));
                    None
                }
            }
        })
    }

    /// Removes `k`, returning its value: writes the structure if the key was there, reads it
    /// otherwise. See [`std::collections::HashMap::remove`].
    #[inline(always)]
    #[track_caller]
    pub fn remove<Q>(&mut self, k: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_with(Op::Remove, k).map(|(_, v)| v)
    }

    /// Removes `k`, returning the stored key and value (as [`remove`](Self::remove)).
    /// See [`std::collections::HashMap::remove_entry`].
    #[inline(always)]
    #[track_caller]
    pub fn remove_entry<Q>(&mut self, k: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_with(Op::RemoveEntry, k)
    }

    #[inline(always)]
    #[track_caller]
    fn remove_with<Q>(&mut self, op: Op, k: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        hot!(self, op, |access| {
            let hash = self.hash_builder.hash_one(k);
            // Found, the pair is marked written (the structure) before the table changes.
            match self.table.find_entry(hash, |(key, _)| k == key.borrow()) {
                Ok(entry) => {
                    access.act_remove(&entry.get().1.cell, Hashed(k, &self.hash_builder), Some(hash));
                    let _writing = access.write_structure_of(Some(Hashed(k, &self.hash_builder)));
                    let ((key, stored), _) = entry.remove();
                    Some((key, stored.value))
                }
                Err(_) => {
                    access.read_structure_of(Hashed(k, &self.hash_builder));
                    None
                }
            }
        }, off: {
            let hash = self.hash_builder.hash_one(k);
            match self.table.find_entry(hash, |(key, _)| k == key.borrow()) {
                Ok(entry) => {
                    let ((key, stored), _) = entry.remove();
                    Some((key, stored.value))
                }
                Err(_) => None,
            }
        })
    }
}

/// The values `get_disjoint_*mut` found for `ks` (whose hashes are `hashes`), each key written
/// (through the `&mut V`): acts, as `get_mut`'s.
fn written_values<'a, Q: ?Sized, K, V, const N: usize>(
    access: &Access<'_>,
    ks: [&Q; N],
    hashes: [u64; N],
    found: [Option<&'a mut Pair<K, V>>; N],
) -> [Option<&'a mut V>; N] {
    let mut i = 0;
    found.map(|pair| {
        let (key, hash) = (ks[i], hashes[i]);
        i += 1;
        pair.map(|(_, stored)| {
            access.act_key(&stored.cell, key, Some(hash));
            &mut stored.value
        })
    })
}

/// std's error for a failed `try_reserve`, of the same kind as the table's (std's error type
/// has no public constructor: each kind is made by a request that fails the same way).
#[cold]
fn std_reserve_error(error: hashbrown::TryReserveError) -> TryReserveError {
    let impossible = match error {
        // More elements than a size can count.
        hashbrown::TryReserveError::CapacityOverflow => usize::MAX,
        // A valid size that no allocator can give.
        hashbrown::TryReserveError::AllocError { .. } => isize::MAX as usize,
    };
    match Vec::<u8>::new().try_reserve_exact(impossible) {
        Err(error) => error,
        Ok(()) => unreachable!("an allocation of {impossible} bytes succeeded"),
    }
}

impl<K, V, S> Clone for HashMap<K, V, S>
where
    K: Clone,
    V: Clone,
    S: Clone,
{
    /// Reads the source's structure and every key; the clone is a new map with no history.
    #[track_caller]
    fn clone(&self) -> Self {
        let access = access!(self, Op::Clone, stored(&self.table));
        access.read_structure();
        for (key, stored) in self.table.iter() {
            access.read_key(&stored.cell, key);
        }
        HashMap {
            shadow: MapShadow::new(std::any::type_name::<Self>),
            table: self.table.clone(),
            hash_builder: self.hash_builder.clone(),
        }
    }
}

impl<K, V, S> PartialEq for HashMap<K, V, S>
where
    K: Eq + Hash,
    V: PartialEq,
    S: BuildHasher,
{
    /// Reads both maps' structures and every key compared.
    #[track_caller]
    fn eq(&self, other: &HashMap<K, V, S>) -> bool {
        let mine = access!(self, Op::Eq, stored(&self.table));
        let theirs = access!(other, Op::Eq, stored(&other.table));
        mine.read_structure();
        theirs.read_structure();
        if self.table.len() != other.table.len() {
            return false;
        }
        self.table.iter().all(|(key, stored)| {
            mine.read_key(&stored.cell, key);
            other.find(key).is_some_and(|(_, their)| {
                theirs.read_key(&their.cell, key);
                stored.value == their.value
            })
        })
    }
}

impl<K, V, S> Eq for HashMap<K, V, S>
where
    K: Eq + Hash,
    V: Eq,
    S: BuildHasher,
{
}

impl<K, V, S> fmt::Debug for HashMap<K, V, S>
where
    K: fmt::Debug,
    V: fmt::Debug,
{
    /// Reads the structure and every key, like `iter`.
    #[track_caller]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter_with(Op::Debug)).finish()
    }
}

impl<K, V, S> Default for HashMap<K, V, S>
where
    S: Default,
{
    /// Creates an empty `HashMap<K, V, S>`, with the `Default` value for the hasher.
    #[track_caller]
    fn default() -> HashMap<K, V, S> {
        HashMap::with_hasher(Default::default())
    }
}

impl<K, Q, V, S> Index<&Q> for HashMap<K, V, S>
where
    K: Eq + Hash + Borrow<Q>,
    Q: Eq + Hash + ?Sized,
    S: BuildHasher,
{
    type Output = V;

    /// The value of `key` (reads the structure and the key).
    ///
    /// # Panics
    /// If the key is not present, as std does.
    #[track_caller]
    fn index(&self, key: &Q) -> &V {
        let found = hot!(self, Op::Index, |access| {
            access.read_structure_of(Hashed(key, &self.hash_builder));
            match self.lookup(key) {
                Lookup::Found(hash, (_, stored)) => {
                    access.check_key(&stored.cell, Hashed(key, &self.hash_builder), hash);
                    Some(&stored.value)
                }
                _ => None,
            }
        }, off: self.find(key).map(|(_, stored)| &stored.value));
        found.expect("no entry found for key")
    }
}

impl<'a, K, V, S> IntoIterator for &'a HashMap<K, V, S> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    #[track_caller]
    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

impl<'a, K, V, S> IntoIterator for &'a mut HashMap<K, V, S> {
    type Item = (&'a K, &'a mut V);
    type IntoIter = IterMut<'a, K, V>;

    #[track_caller]
    fn into_iter(self) -> IterMut<'a, K, V> {
        self.iter_mut()
    }
}

impl<K, V, S> IntoIterator for HashMap<K, V, S> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;

    /// Consumes the map (writes the structure).
    #[track_caller]
    fn into_iter(self) -> IntoIter<K, V> {
        IntoIter {
            base: self.into_table(Op::IntoIter).into_iter(),
        }
    }
}

impl<K, V, S> FromIterator<(K, V)> for HashMap<K, V, S>
where
    K: Eq + Hash,
    S: BuildHasher + Default,
{
    #[track_caller]
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> HashMap<K, V, S> {
        let mut map = HashMap::with_hasher(Default::default());
        map.extend_with(iter);
        map
    }
}

impl<K, V, const N: usize> From<[(K, V); N]> for HashMap<K, V, RandomState>
where
    K: Eq + Hash,
{
    /// Creates a map from an array of pairs. See [`std::collections::HashMap::from`].
    #[track_caller]
    fn from(arr: [(K, V); N]) -> Self {
        HashMap::from_iter(arr)
    }
}

impl<K, V, S> HashMap<K, V, S>
where
    K: Eq + Hash,
    S: BuildHasher,
{
    /// Inserts every pair while the structure is marked written, as std's `extend` does:
    /// room for the iterator's lower bound (half of it in a non-empty map), then an insert each.
    #[track_caller]
    fn extend_with<T: IntoIterator<Item = (K, V)>>(&mut self, iter: T) {
        let access = access!(self, Op::Extend, stored(&self.table));
        let _writing = access.write_structure();
        let old = self.table.capacity();
        let iter = iter.into_iter();
        let (lower, _) = iter.size_hint();
        let reserve = if self.table.is_empty() {
            lower
        } else {
            lower.div_ceil(2)
        };
        self.table.reserve(reserve, hasher(&self.hash_builder));
        for (key, value) in iter {
            let hash = self.hash_builder.hash_one(&key);
            match self
                .table
                .entry(hash, |(k, _)| key == *k, hasher(&self.hash_builder))
            {
                hash_table::Entry::Occupied(mut entry) => {
                    let stored = &mut entry.get_mut().1;
                    access.write_key(&stored.cell, &key);
                    stored.value = value;
                }
                hash_table::Entry::Vacant(entry) => {
                    let cell = access.new_cell();
                    entry.insert((key, Stored { value, cell }));
                }
            }
        }
        access.resized::<V>(old, self.table.capacity(), self.table.len());
    }
}

impl<K, V, S> Extend<(K, V)> for HashMap<K, V, S>
where
    K: Eq + Hash,
    S: BuildHasher,
{
    /// Inserts every pair (writes the structure).
    #[track_caller]
    fn extend<T: IntoIterator<Item = (K, V)>>(&mut self, iter: T) {
        self.extend_with(iter);
    }
}

impl<'a, K, V, S> Extend<(&'a K, &'a V)> for HashMap<K, V, S>
where
    K: Eq + Hash + Copy,
    V: Copy,
    S: BuildHasher,
{
    /// Inserts every pair (writes the structure).
    #[track_caller]
    fn extend<T: IntoIterator<Item = (&'a K, &'a V)>>(&mut self, iter: T) {
        self.extend_with(iter.into_iter().map(|(&k, &v)| (k, v)));
    }
}

/// Names the map in reports (used by `#[maprace::track]` through `__private::named`).
impl<K, V, S> crate::__private::Nameable for HashMap<K, V, S> {
    fn set_name(&mut self, name: &'static str) {
        self.shadow.set_name(name);
    }
}

// ---------------------------------------------------------------------------------------------
// The Entry API.

/// A view into a single entry of a map, vacant or occupied. See [`std::collections::hash_map::Entry`].
pub enum Entry<'a, K, V> {
    /// An occupied entry.
    Occupied(OccupiedEntry<'a, K, V>),
    /// A vacant entry.
    Vacant(VacantEntry<'a, K, V>),
}

/// A view into an occupied entry. See [`std::collections::hash_map::OccupiedEntry`].
pub struct OccupiedEntry<'a, K, V> {
    base: TableOccupied<'a, K, V>,
    access: Access<'a>,
}

/// A view into a vacant entry. See [`std::collections::hash_map::VacantEntry`].
pub struct VacantEntry<'a, K, V> {
    base: TableVacant<'a, K, V>,
    access: Access<'a>,
}

/// The table's occupied entry, with the methods of std's that the Entry API is written with.
struct TableOccupied<'a, K, V>(hash_table::OccupiedEntry<'a, Pair<K, V>>);

impl<'a, K, V> TableOccupied<'a, K, V> {
    fn key(&self) -> &K {
        &self.0.get().0
    }

    fn get(&self) -> &Stored<V> {
        &self.0.get().1
    }

    fn get_mut(&mut self) -> &mut Stored<V> {
        &mut self.0.get_mut().1
    }

    fn into_mut(self) -> &'a mut Stored<V> {
        &mut self.0.into_mut().1
    }

    fn remove_entry(self) -> (K, Stored<V>) {
        self.0.remove().0
    }
}

/// A vacant entry as std's: the key, its hash, and a table that has room for it (std's `entry`
/// made room), so that inserting it probes for a free slot only, with no `Eq` call.
struct TableVacant<'a, K, V> {
    table: &'a mut HashTable<Pair<K, V>>,
    hash: u64,
    key: K,
}

impl<'a, K, V> TableVacant<'a, K, V> {
    fn key(&self) -> &K {
        &self.key
    }

    fn into_key(self) -> K {
        self.key
    }

    fn insert(self, stored: Stored<V>) -> &'a mut Stored<V> {
        self.insert_entry(stored).into_mut()
    }

    fn insert_entry(self, stored: Stored<V>) -> TableOccupied<'a, K, V> {
        // The table has room (`entry` reserved it, and nothing has changed it since: this
        // borrows it): it does not grow, so the pairs are never rehashed.
        let no_rehash = |_: &Pair<K, V>| unreachable!("the table had room for the vacant entry");
        TableOccupied(
            self.table
                .insert_unique(self.hash, (self.key, stored), no_rehash),
        )
    }
}

entry_methods!(K);

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Entry<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Vacant(v) => f.debug_tuple("Entry").field(v).finish(),
            Entry::Occupied(o) => f.debug_tuple("Entry").field(o).finish(),
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for OccupiedEntry<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OccupiedEntry")
            .field("key", self.key())
            .field("value", self.get())
            .finish_non_exhaustive()
    }
}

impl<K: fmt::Debug, V> fmt::Debug for VacantEntry<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("VacantEntry").field(self.key()).finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Iterators. Those that borrow the map check each key as they reach it, with the site of the
// call that made the iterator. Their `Debug` prints what is left, as std's does, without
// checking.

/// An iterator over the entries of a `HashMap`. See [`std::collections::hash_map::Iter`].
pub struct Iter<'a, K, V> {
    base: hash_table::Iter<'a, Pair<K, V>>,
    access: Access<'a>,
}

/// A mutable iterator over the entries of a `HashMap`. See [`std::collections::hash_map::IterMut`].
pub struct IterMut<'a, K, V> {
    base: hash_table::IterMut<'a, Pair<K, V>>,
    access: Access<'a>,
}

/// An owning iterator over the entries of a `HashMap`. See [`std::collections::hash_map::IntoIter`].
pub struct IntoIter<K, V> {
    base: hash_table::IntoIter<Pair<K, V>>,
}

/// An iterator over the keys of a `HashMap`. See [`std::collections::hash_map::Keys`].
pub struct Keys<'a, K, V> {
    base: hash_table::Iter<'a, Pair<K, V>>,
}

/// An iterator over the values of a `HashMap`. See [`std::collections::hash_map::Values`].
pub struct Values<'a, K, V> {
    inner: Iter<'a, K, V>,
}

/// A mutable iterator over the values of a `HashMap`. See [`std::collections::hash_map::ValuesMut`].
pub struct ValuesMut<'a, K, V> {
    inner: IterMut<'a, K, V>,
}

/// An owning iterator over the keys of a `HashMap`. See [`std::collections::hash_map::IntoKeys`].
pub struct IntoKeys<K, V> {
    base: hash_table::IntoIter<Pair<K, V>>,
}

/// An owning iterator over the values of a `HashMap`. See [`std::collections::hash_map::IntoValues`].
pub struct IntoValues<K, V> {
    base: hash_table::IntoIter<Pair<K, V>>,
}

/// A draining iterator over the entries of a `HashMap`; each step writes the map's structure,
/// as its creation and its drop do. See [`std::collections::hash_map::Drain`].
pub struct Drain<'a, K, V> {
    // First: dropped before the real iterator (see `WritingIter`).
    writing: WritingIter<'a>,
    base: hash_table::Drain<'a, Pair<K, V>>,
}

/// An iterator that removes and yields the entries matching a predicate; each step writes the
/// map's structure, as its creation and its drop do.
/// See [`std::collections::hash_map::ExtractIf`].
pub struct ExtractIf<'a, K, V, F>
where
    F: FnMut(&K, &mut V) -> bool,
{
    // First: dropped before the real iterator (see `WritingIter`).
    writing: WritingIter<'a>,
    base: hash_table::ExtractIf<'a, Pair<K, V>, StoredPredicate<'a, K, V>>,
    _pred: std::marker::PhantomData<F>,
}

/// The user's predicate, applied to the value of a `Stored`.
type StoredPredicate<'a, K, V> = Box<dyn FnMut(&mut Pair<K, V>) -> bool + 'a>;

// SAFETY: the boxed predicate is the user's `F` and nothing else, and the rest is std's
// `ExtractIf` and a borrow of the map's shadow (atomics): `Send` and `Sync` exactly when std's
// `ExtractIf<'_, K, V, F>` is.
unsafe impl<K: Send, V: Send, F: Send + FnMut(&K, &mut V) -> bool> Send for ExtractIf<'_, K, V, F> {}
// SAFETY: as for `Send`.
unsafe impl<K: Sync, V: Sync, F: Sync + FnMut(&K, &mut V) -> bool> Sync for ExtractIf<'_, K, V, F> {}

checked_iter!(Iter => (&'a K, &'a V), read_key, |stored| &stored.value);

impl<'a, K, V> Iterator for IterMut<'a, K, V> {
    type Item = (&'a K, &'a mut V);

    fn next(&mut self) -> Option<(&'a K, &'a mut V)> {
        let (key, stored) = self.base.next()?;
        self.access.write_key(&stored.cell, &*key);
        Some((key, &mut stored.value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.base.size_hint()
    }
}

mapped_iter!(IntoIter<K, V>.base => (K, V), |(key, stored)| (key, stored.value));
mapped_iter!(Keys<'a, K, V>.base => &'a K, |(key, _)| key);
mapped_iter!(Values<'a, K, V>.inner => &'a V, |(_, value)| value);
mapped_iter!(ValuesMut<'a, K, V>.inner => &'a mut V, |(_, value)| value);
mapped_iter!(IntoKeys<K, V>.base => K, |(key, _)| key);
mapped_iter!(IntoValues<K, V>.base => V, |(_, stored)| stored.value);

impl<K, V> Iterator for Drain<'_, K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        let _writing = self.writing.step();
        self.base.next().map(|(key, stored)| (key, stored.value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.base.size_hint()
    }
}

impl<K, V, F> Iterator for ExtractIf<'_, K, V, F>
where
    F: FnMut(&K, &mut V) -> bool,
{
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        let _writing = self.writing.step();
        self.base.next().map(|(key, stored)| (key, stored.value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.base.size_hint()
    }
}

exact_size!(
    Iter<'a, K, V>,
    IterMut<'a, K, V>,
    IntoIter<K, V>,
    Keys<'a, K, V>,
    Values<'a, K, V>,
    ValuesMut<'a, K, V>,
    IntoKeys<K, V>,
    IntoValues<K, V>,
    Drain<'a, K, V>,
);

fused!(
    Iter<'a, K, V>,
    IterMut<'a, K, V>,
    IntoIter<K, V>,
    Keys<'a, K, V>,
    Values<'a, K, V>,
    ValuesMut<'a, K, V>,
    IntoKeys<K, V>,
    IntoValues<K, V>,
    Drain<'a, K, V>,
);

impl<K, V, F> FusedIterator for ExtractIf<'_, K, V, F> where F: FnMut(&K, &mut V) -> bool {}

clone_as_std! {
    Iter { base, access };
    Keys { base };
    Values { inner };
}

default_as_std! {
    Iter<'a, K, V> => Iter { base: Default::default(), access: Access::detached() };
    IterMut<'a, K, V> => IterMut { base: Default::default(), access: Access::detached() };
    IntoIter<K, V> => IntoIter { base: Default::default() };
    Keys<'a, K, V> => Keys { base: Default::default() };
    Values<'a, K, V> => Values { inner: Iter::default() };
    ValuesMut<'a, K, V> => ValuesMut { inner: IterMut::default() };
    IntoKeys<K, V> => IntoKeys { base: Default::default() };
    IntoValues<K, V> => IntoValues { base: Default::default() };
}

debug_as_std! {
    Iter<'a, K, V> where K: Debug, V: Debug;
    IterMut<'a, K, V> where K: Debug, V: Debug;
    IntoIter<K, V> where K: Debug, V: Debug;
    Drain<'a, K, V> where K: Debug, V: Debug;
}

/// `Debug` as std's for the iterators over keys or values alone: the items not yet yielded
/// (`$left`: how the real iterator shows what it has left without advancing).
macro_rules! debug_items {
    ($($iter:ident<$($lt:lifetime,)? K, V> where $bound:ident: Debug, $left:ident,
        |$pair:pat_param| $item:expr;)*) => {$(
        impl<$($lt,)? K, V> fmt::Debug for $iter<$($lt,)? K, V>
        where
            $bound: fmt::Debug,
        {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.base.$left().map(|$pair| $item)).finish()
            }
        }
    )*};
}

debug_items! {
    Keys<'a, K, V> where K: Debug, clone, |(key, _)| key;
    IntoKeys<K, V> where K: Debug, iter, |(key, _)| key;
    IntoValues<K, V> where V: Debug, iter, |(_, stored)| &stored.value;
}

debug_values!();

impl<K, V, F> fmt::Debug for ExtractIf<'_, K, V, F>
where
    F: FnMut(&K, &mut V) -> bool,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtractIf").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::HashMap;
    use crate::rt::{self, map::OBSERVED_RUNS};

    /// The default options turn on a mode bit that a map does not look at (`deadlock`): the hot
    /// operations still take the fast path, with their checks inline, and not the observed one
    /// (out of line, for `trace=1` and `history=full`, and a thread's first operation), which
    /// they took when the mode was compared whole.
    #[test]
    fn hot_operations_under_the_default_options_take_the_fast_path() {
        rt::start();
        if std::env::var_os("MAPRACE_OPTIONS").is_none() {
            assert_eq!(rt::mode(), rt::ENABLED | rt::DEADLOCK, "the defaults");
        }
        assert_eq!(
            rt::mode() & rt::OBSERVED,
            0,
            "run without trace=1 or history=full"
        );
        let mut map = HashMap::new();
        map.insert(0, 0); // the thread's first operation makes its context
        let before = OBSERVED_RUNS.get();
        map.insert(1, 10);
        map.insert(1, 11);
        assert_eq!(map.get(&1), Some(&11));
        assert_eq!(map.get_key_value(&1), Some((&1, &11)));
        assert!(map.contains_key(&1));
        *map.get_mut(&1).unwrap() += 1;
        assert_eq!(map[&1], 12);
        assert_eq!(map.remove(&1), Some(12));
        assert_eq!(map.remove_entry(&1), None);
        assert_eq!(OBSERVED_RUNS.get(), before, "no operation was observed");
    }
}
