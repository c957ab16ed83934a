//! The tracked mirror of [`std::collections::hash_map`].
//!
//! [`HashMap`] has std's API, generics and behaviour; each method checks the shadow cells it
//! touches (see "What it finds" in the crate docs) before doing the real work, and is `#[track_caller]`, so a report names
//! the line in your code that made the access.

use crate::rt::map::{Access, Hashed, MapShadow, Stored, WritingIter};
use crate::rt::site::Op;
use std::borrow::Borrow;
use std::collections::TryReserveError;
use std::collections::hash_map as base;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::iter::FusedIterator;
use std::mem;
use std::ops::Index;

pub use std::collections::hash_map::{DefaultHasher, RandomState};

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
    base: base::HashMap<K, Stored<V>, S>,
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
            base: base::HashMap::with_hasher(hash_builder),
            shadow: MapShadow::new(std::any::type_name::<Self>),
        }
    }

    /// Creates an empty `HashMap` with room for `capacity` elements, using `hasher`.
    /// See [`std::collections::HashMap::with_capacity_and_hasher`].
    #[must_use]
    #[track_caller]
    pub fn with_capacity_and_hasher(capacity: usize, hasher: S) -> HashMap<K, V, S> {
        HashMap {
            base: base::HashMap::with_capacity_and_hasher(capacity, hasher),
            shadow: MapShadow::new(std::any::type_name::<Self>),
        }
    }

    /// The number of elements the map can hold without reallocating (reads the structure).
    #[track_caller]
    pub fn capacity(&self) -> usize {
        access!(self, Op::Capacity).read_structure();
        self.base.capacity()
    }

    /// An iterator over the keys (reads the structure; keys never change in place, so no value
    /// is read). See [`std::collections::HashMap::keys`].
    #[track_caller]
    pub fn keys(&self) -> Keys<'_, K, V> {
        access!(self, Op::Keys).read_structure();
        Keys {
            base: self.base.keys(),
        }
    }

    /// Consumes the map into its keys. See [`std::collections::HashMap::into_keys`].
    #[track_caller]
    pub fn into_keys(self) -> IntoKeys<K, V> {
        IntoKeys {
            base: self.into_base(Op::IntoKeys).into_keys(),
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
            base: self.into_base(Op::IntoValues).into_values(),
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
        let access = access!(self, op);
        access.read_structure();
        Iter {
            base: self.base.iter(),
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
        let access = access!(self, op);
        access.read_structure();
        IterMut {
            base: self.base.iter_mut(),
            access,
        }
    }

    /// The number of elements (reads the structure).
    #[inline]
    #[track_caller]
    pub fn len(&self) -> usize {
        access!(self, Op::Len).read_structure();
        self.base.len()
    }

    /// Whether the map is empty (reads the structure).
    #[inline]
    #[track_caller]
    pub fn is_empty(&self) -> bool {
        access!(self, Op::IsEmpty).read_structure();
        self.base.is_empty()
    }

    /// Removes every entry, returning them in an iterator. Making it, each step and its drop
    /// write the structure. See [`std::collections::HashMap::drain`].
    #[track_caller]
    pub fn drain(&mut self) -> Drain<'_, K, V> {
        let access = access!(self, Op::Drain);
        Drain {
            writing: access.writing_iter(),
            base: self.base.drain(),
        }
    }

    /// Removes and yields the entries for which `pred` is true. Making it, each step and its
    /// drop write the structure. See [`std::collections::HashMap::extract_if`].
    #[track_caller]
    pub fn extract_if<'a, F>(&'a mut self, mut pred: F) -> ExtractIf<'a, K, V, F>
    where
        F: FnMut(&K, &mut V) -> bool + 'a,
    {
        let access = access!(self, Op::ExtractIf);
        let on_stored: StoredPredicate<'a, K, V> =
            Box::new(move |key, stored| pred(key, &mut stored.value));
        ExtractIf {
            writing: access.writing_iter(),
            base: self.base.extract_if(on_stored),
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
        let access = access!(self, Op::Retain);
        let _writing = access.write_structure();
        self.base.retain(|key, stored| f(key, &mut stored.value));
    }

    /// Removes every entry (writes the structure). See [`std::collections::HashMap::clear`].
    #[track_caller]
    pub fn clear(&mut self) {
        let access = access!(self, Op::Clear);
        let _writing = access.write_structure();
        self.base.clear();
    }

    /// The map's hasher. See [`std::collections::HashMap::hasher`].
    pub fn hasher(&self) -> &S {
        self.base.hasher()
    }

    /// Takes the real map out for a consuming operation, which writes the whole structure.
    #[track_caller]
    fn into_base(self, op: Op) -> base::HashMap<K, Stored<V>, S> {
        let this = &self;
        drop(access!(this, op).write_structure());
        let HashMap { base, .. } = self;
        base
    }
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
        let access = access!(self, Op::Reserve);
        let _writing = access.write_structure();
        let old = self.base.capacity();
        self.base.reserve(additional);
        access.resized::<V>(old, self.base.capacity(), self.base.len());
    }

    /// Tries to reserve room for at least `additional` more elements (writes the structure).
    /// See [`std::collections::HashMap::try_reserve`].
    #[track_caller]
    pub fn try_reserve(&mut self, additional: usize) -> Result<(), TryReserveError> {
        let access = access!(self, Op::TryReserve);
        let _writing = access.write_structure();
        let old = self.base.capacity();
        let result = self.base.try_reserve(additional);
        access.resized::<V>(old, self.base.capacity(), self.base.len());
        result
    }

    /// Shrinks the capacity as much as possible (writes the structure).
    /// See [`std::collections::HashMap::shrink_to_fit`].
    #[track_caller]
    pub fn shrink_to_fit(&mut self) {
        let access = access!(self, Op::ShrinkToFit);
        let _writing = access.write_structure();
        let old = self.base.capacity();
        self.base.shrink_to_fit();
        access.resized::<V>(old, self.base.capacity(), self.base.len());
    }

    /// Shrinks the capacity with a lower limit (writes the structure).
    /// See [`std::collections::HashMap::shrink_to`].
    #[track_caller]
    pub fn shrink_to(&mut self, min_capacity: usize) {
        let access = access!(self, Op::ShrinkTo);
        let _writing = access.write_structure();
        let old = self.base.capacity();
        self.base.shrink_to(min_capacity);
        access.resized::<V>(old, self.base.capacity(), self.base.len());
    }

    /// The entry for `key`, for in-place manipulation. Reads the structure, and writes it if
    /// making room for a vacant entry grows the table. See [`std::collections::HashMap::entry`].
    #[inline]
    #[track_caller]
    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        let access = access!(self, Op::Entry);
        access.read_structure_of(Hashed(&key, self.base.hasher()));
        // std's `entry` grows a full table before it returns a vacant entry: done here, as a
        // write of the structure (and so that the trace sees the new capacity).
        let growing = if self.base.len() == self.base.capacity() && !self.base.contains_key(&key) {
            let growing = access.write_structure_of(Some(Hashed(&key, self.base.hasher())));
            let old = self.base.capacity();
            self.base.reserve(1);
            access.resized::<V>(old, self.base.capacity(), self.base.len());
            growing
        } else {
            None
        };
        let entry = match self.base.entry(key) {
            base::Entry::Occupied(base) => Entry::Occupied(OccupiedEntry { base, access }),
            base::Entry::Vacant(base) => Entry::Vacant(VacantEntry { base, access }),
        };
        drop(growing);
        entry
    }

    /// The value for `k` (reads the structure and the key).
    /// See [`std::collections::HashMap::get`].
    #[inline]
    #[track_caller]
    pub fn get<Q>(&self, k: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let access = access!(self, Op::Get);
        access.read_structure_of(Hashed(k, self.base.hasher()));
        let stored = self.base.get(k)?;
        access.read_key(&stored.cell, Hashed(k, self.base.hasher()));
        Some(&stored.value)
    }

    /// The key-value pair for `k` (reads the structure and the key).
    /// See [`std::collections::HashMap::get_key_value`].
    #[inline]
    #[track_caller]
    pub fn get_key_value<Q>(&self, k: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let access = access!(self, Op::GetKeyValue);
        access.read_structure_of(Hashed(k, self.base.hasher()));
        let (key, stored) = self.base.get_key_value(k)?;
        access.read_key(&stored.cell, Hashed(k, self.base.hasher()));
        Some((key, &stored.value))
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
        let access = access!(self, Op::GetDisjointMut);
        access.read_structure();
        written_values(&access, ks, self.base.get_disjoint_mut(ks))
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
        let access = access!(self, Op::GetDisjointMut);
        access.read_structure();
        // SAFETY: the caller promises what std's method requires.
        let found = unsafe { self.base.get_disjoint_unchecked_mut(ks) };
        written_values(&access, ks, found)
    }

    /// Whether the map has `k` (reads the structure and the key).
    /// See [`std::collections::HashMap::contains_key`].
    #[inline]
    #[track_caller]
    pub fn contains_key<Q>(&self, k: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let access = access!(self, Op::ContainsKey);
        access.read_structure_of(Hashed(k, self.base.hasher()));
        match self.base.get(k) {
            Some(stored) => {
                access.read_key(&stored.cell, Hashed(k, self.base.hasher()));
                true
            }
            None => false,
        }
    }

    /// A mutable reference to the value of `k` (reads the structure, writes the key).
    /// See [`std::collections::HashMap::get_mut`].
    #[inline]
    #[track_caller]
    pub fn get_mut<Q>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let access = access!(self, Op::GetMut);
        access.read_structure_of(Hashed(k, self.base.hasher()));
        let stored = self.base.get_mut(k)?;
        access.write_key(&stored.cell, k);
        Some(&mut stored.value)
    }

    /// Inserts a key-value pair: over an existing key it reads the structure and writes the
    /// key; a new key writes the structure. See [`std::collections::HashMap::insert`].
    #[inline]
    #[track_caller]
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        let access = access!(self, Op::Insert);
        access.read_structure_of(Hashed(&k, self.base.hasher()));
        if self.base.len() == self.base.capacity() {
            // `entry` would grow the table before we know whether the key is new.
            if let Some(stored) = self.base.get_mut(&k) {
                access.write_key(&stored.cell, &k);
                let _writing = access.writing(&stored.cell);
                return Some(mem::replace(&mut stored.value, v));
            }
            let _writing = access.write_structure_of(Some(Hashed(&k, self.base.hasher())));
            let cell = access.new_cell();
            let old = self.base.capacity();
            self.base.insert(k, Stored { value: v, cell });
            access.resized::<V>(old, self.base.capacity(), self.base.len());
            return None;
        }
        match self.base.entry(k) {
            base::Entry::Occupied(entry) => {
                access.write_key(&entry.get().cell, entry.key());
                let stored = entry.into_mut();
                let _writing = access.writing(&stored.cell);
                Some(mem::replace(&mut stored.value, v))
            }
            base::Entry::Vacant(entry) => {
                let _writing = access.write_structure_of(Some(entry.key()));
                let cell = access.new_cell();
                entry.insert(Stored { value: v, cell });
                None
            }
        }
    }

    /// Removes `k`, returning its value: writes the structure if the key was there, reads it
    /// otherwise. See [`std::collections::HashMap::remove`].
    #[inline]
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
    #[inline]
    #[track_caller]
    pub fn remove_entry<Q>(&mut self, k: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_with(Op::RemoveEntry, k)
    }

    #[inline]
    #[track_caller]
    fn remove_with<Q>(&mut self, op: Op, k: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let access = access!(self, op);
        access.read_structure_of(Hashed(k, self.base.hasher()));
        // Removing an absent key changes nothing; a present one must be marked written before
        // the table changes, so the lookup is done twice.
        if !self.base.contains_key(k) {
            return None;
        }
        let _writing = access.write_structure_of(Some(Hashed(k, self.base.hasher())));
        self.base
            .remove_entry(k)
            .map(|(key, stored)| (key, stored.value))
    }
}

/// The values `get_disjoint_*mut` found for `ks`, each key written (through the `&mut V`).
fn written_values<'a, Q: ?Sized, V, const N: usize>(
    access: &Access<'_>,
    ks: [&Q; N],
    found: [Option<&'a mut Stored<V>>; N],
) -> [Option<&'a mut V>; N] {
    let mut i = 0;
    found.map(|stored| {
        let key = ks[i];
        i += 1;
        stored.map(|stored| {
            access.write_key(&stored.cell, key);
            &mut stored.value
        })
    })
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
        let access = access!(self, Op::Clone);
        access.read_structure();
        for (key, stored) in &self.base {
            access.read_key(&stored.cell, key);
        }
        HashMap {
            base: self.base.clone(),
            shadow: MapShadow::new(std::any::type_name::<Self>),
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
        let mine = access!(self, Op::Eq);
        let theirs = access!(other, Op::Eq);
        mine.read_structure();
        theirs.read_structure();
        if self.base.len() != other.base.len() {
            return false;
        }
        self.base.iter().all(|(key, stored)| {
            mine.read_key(&stored.cell, key);
            other.base.get(key).is_some_and(|their| {
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
        let access = access!(self, Op::Index);
        access.read_structure_of(Hashed(key, self.base.hasher()));
        let stored = self.base.get(key).expect("no entry found for key");
        access.read_key(&stored.cell, Hashed(key, self.base.hasher()));
        &stored.value
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
            base: self.into_base(Op::IntoIter).into_iter(),
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
        let mut map = HashMap::with_capacity(N);
        map.extend_with(arr);
        map
    }
}

impl<K, V, S> HashMap<K, V, S>
where
    K: Eq + Hash,
    S: BuildHasher,
{
    /// Inserts every pair while the structure is marked written.
    #[track_caller]
    fn extend_with<T: IntoIterator<Item = (K, V)>>(&mut self, iter: T) {
        let access = access!(self, Op::Extend);
        let _writing = access.write_structure();
        let old = self.base.capacity();
        let iter = iter.into_iter();
        let (lower, _) = iter.size_hint();
        self.base.reserve(if self.base.is_empty() {
            lower
        } else {
            lower.div_ceil(2)
        });
        for (key, value) in iter {
            match self.base.entry(key) {
                base::Entry::Occupied(entry) => {
                    access.write_key(&entry.get().cell, entry.key());
                    entry.into_mut().value = value;
                }
                base::Entry::Vacant(entry) => {
                    let cell = access.new_cell();
                    entry.insert(Stored { value, cell });
                }
            }
        }
        access.resized::<V>(old, self.base.capacity(), self.base.len());
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
    base: base::OccupiedEntry<'a, K, Stored<V>>,
    access: Access<'a>,
}

/// A view into a vacant entry. See [`std::collections::hash_map::VacantEntry`].
pub struct VacantEntry<'a, K, V> {
    base: base::VacantEntry<'a, K, Stored<V>>,
    access: Access<'a>,
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
    base: base::Iter<'a, K, Stored<V>>,
    access: Access<'a>,
}

/// A mutable iterator over the entries of a `HashMap`. See [`std::collections::hash_map::IterMut`].
pub struct IterMut<'a, K, V> {
    base: base::IterMut<'a, K, Stored<V>>,
    access: Access<'a>,
}

/// An owning iterator over the entries of a `HashMap`. See [`std::collections::hash_map::IntoIter`].
pub struct IntoIter<K, V> {
    base: base::IntoIter<K, Stored<V>>,
}

/// An iterator over the keys of a `HashMap`. See [`std::collections::hash_map::Keys`].
pub struct Keys<'a, K, V> {
    base: base::Keys<'a, K, Stored<V>>,
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
    base: base::IntoKeys<K, Stored<V>>,
}

/// An owning iterator over the values of a `HashMap`. See [`std::collections::hash_map::IntoValues`].
pub struct IntoValues<K, V> {
    base: base::IntoValues<K, Stored<V>>,
}

/// A draining iterator over the entries of a `HashMap`; each step writes the map's structure,
/// as its creation and its drop do. See [`std::collections::hash_map::Drain`].
pub struct Drain<'a, K, V> {
    // First: dropped before the real iterator (see `WritingIter`).
    writing: WritingIter<'a>,
    base: base::Drain<'a, K, Stored<V>>,
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
    base: base::ExtractIf<'a, K, Stored<V>, StoredPredicate<'a, K, V>>,
    _pred: std::marker::PhantomData<F>,
}

/// The user's predicate, applied to the value of a `Stored`.
type StoredPredicate<'a, K, V> = Box<dyn FnMut(&K, &mut Stored<V>) -> bool + 'a>;

// SAFETY: the boxed predicate is the user's `F` and nothing else, and the rest is std's
// `ExtractIf` and a borrow of the map's shadow (atomics): `Send` and `Sync` exactly when std's
// `ExtractIf<'_, K, V, F>` is.
unsafe impl<K: Send, V: Send, F: Send + FnMut(&K, &mut V) -> bool> Send for ExtractIf<'_, K, V, F> {}
// SAFETY: as for `Send`.
unsafe impl<K: Sync, V: Sync, F: Sync + FnMut(&K, &mut V) -> bool> Sync for ExtractIf<'_, K, V, F> {}

checked_iter!(Iter => (&'a K, &'a V), read_key, |stored| &stored.value);
checked_iter!(IterMut => (&'a K, &'a mut V), write_key, |stored| &mut stored.value);
mapped_iter!(IntoIter<K, V>.base => (K, V), |(key, stored)| (key, stored.value));
mapped_iter!(Keys<'a, K, V>.base => &'a K, |key| key);
mapped_iter!(Values<'a, K, V>.inner => &'a V, |(_, value)| value);
mapped_iter!(ValuesMut<'a, K, V>.inner => &'a mut V, |(_, value)| value);
mapped_iter!(IntoKeys<K, V>.base => K, |key| key);
mapped_iter!(IntoValues<K, V>.base => V, |stored| stored.value);

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
    Keys<'a, K, V> where K: Debug;
    IntoKeys<K, V> where K: Debug;
    IntoValues<K, V> where V: Debug;
    Drain<'a, K, V> where K: Debug, V: Debug;
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
