//! The tracked mirror of [`std::collections::btree_map`].
//!
//! [`BTreeMap`] has std's API, generics and behaviour; each method checks the shadow cells it
//! touches (see "What it finds" in the crate docs) before doing the real work, and is `#[track_caller]`, so a report names
//! the line in your code that made the access. The ordered operations fit the same table:
//! `range` and iteration read the structure and each key they visit, `range_mut` writes each key
//! it visits, and `append`, `split_off`, `pop_first` / `pop_last` and `extract_if` write the
//! structure, as insert-new and remove do.
//!
//! ```
//! use maprace::collections::btree_map::{BTreeMap, Entry};
//!
//! let mut ranks = BTreeMap::new();
//! ranks.insert(3, "bronze");
//! ranks.insert(1, "gold");
//! if let Entry::Vacant(silver) = ranks.entry(2) {
//!     silver.insert("silver");
//! }
//! assert_eq!(ranks.range(2..).map(|(_, v)| *v).collect::<Vec<_>>(), ["silver", "bronze"]);
//! assert_eq!(ranks.pop_first(), Some((1, "gold")));
//! ```

use crate::rt::map::{Access, MapShadow, Stored, WritingIter};
use crate::rt::site::Op;
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::btree_map as base;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::iter::FusedIterator;
use std::marker::PhantomData;
use std::mem;
use std::ops::{Index, RangeBounds};

/// One keyed operation on `$map`: std's operation alone (`$off`, on the real map) when the
/// detector is off at run time (`enabled=0`), tested first, before anything of maprace is made;
/// else `$on`, with the operation's `Access` made under the mode read for that test (as
/// `access!`: the site captured, a move noticed). Before the options are read the mode is
/// enabled, as for every other operation. Used where it pays, by instruction counts: `insert`
/// and `remove` (whose off path searches the tree once, as std's, not twice); the lookups keep
/// `access!` (`get` with such an off path counted 207 instructions instead of 200: the search
/// loop, then in two copies, compiled one instruction longer per key compared).
macro_rules! keyed {
    ($map:ident, $op:expr, |$access:ident| $on:expr, off: $off:expr) => {{
        let mode = $crate::rt::mode();
        if mode & $crate::rt::ENABLED == 0 {
            $off
        } else {
            let $access = $map
                .shadow
                .access_at($op, mode, ::std::panic::Location::caller());
            if $access.begin() {
                $crate::rt::map::forget_history($map.base.values());
            }
            $on
        }
    }};
}

/// An ordered map whose concurrent misuse is reported, with std's API.
///
/// This is what `maprace::BTreeMap` is when the detector is compiled in; otherwise it is
/// `std::collections::BTreeMap` itself.
///
/// ```
/// let mut deadlines = maprace::BTreeMap::new();
/// deadlines.insert(20, "review");
/// deadlines.insert(10, "build");
/// assert_eq!(deadlines.first_key_value(), Some((&10, &"build")));
/// assert_eq!(deadlines.keys().copied().collect::<Vec<_>>(), [10, 20]);
/// ```
// The shadow first, as in `HashMap`.
#[repr(C)]
pub struct BTreeMap<K, V> {
    shadow: MapShadow,
    base: base::BTreeMap<K, Stored<V>>,
}

impl<K, V> BTreeMap<K, V> {
    /// Makes a new, empty `BTreeMap` (usable in a `const` or `static`, as std's).
    /// See [`std::collections::BTreeMap::new`].
    #[must_use]
    #[track_caller]
    pub const fn new() -> BTreeMap<K, V> {
        BTreeMap {
            base: base::BTreeMap::new(),
            shadow: MapShadow::new(std::any::type_name::<Self>),
        }
    }

    /// Removes every entry (writes the structure). See [`std::collections::BTreeMap::clear`].
    #[track_caller]
    pub fn clear(&mut self) {
        let access = access!(self, Op::Clear);
        let _writing = access.write_structure();
        self.base.clear();
    }

    /// The value for `key` (reads the structure and the key).
    /// See [`std::collections::BTreeMap::get`].
    #[inline]
    #[track_caller]
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q> + Ord,
        Q: Ord + ?Sized,
    {
        let access = access!(self, Op::Get);
        access.read_structure_of(key);
        let stored = self.base.get(key)?;
        access.read_key(&stored.cell, key);
        Some(&stored.value)
    }

    /// The key-value pair for `k` (reads the structure and the key).
    /// See [`std::collections::BTreeMap::get_key_value`].
    #[inline]
    #[track_caller]
    pub fn get_key_value<Q>(&self, k: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q> + Ord,
        Q: Ord + ?Sized,
    {
        let access = access!(self, Op::GetKeyValue);
        access.read_structure_of(k);
        let (key, stored) = self.base.get_key_value(k)?;
        access.read_key(&stored.cell, k);
        Some((key, &stored.value))
    }

    /// The first (smallest) key and its value (reads the structure and that key).
    /// See [`std::collections::BTreeMap::first_key_value`].
    #[track_caller]
    pub fn first_key_value(&self) -> Option<(&K, &V)>
    where
        K: Ord,
    {
        let access = access!(self, Op::FirstKeyValue);
        access.read_structure();
        let (key, stored) = self.base.first_key_value()?;
        access.read_key(&stored.cell, key);
        Some((key, &stored.value))
    }

    /// The entry of the first key, for in-place manipulation (reads the structure).
    /// See [`std::collections::BTreeMap::first_entry`].
    #[track_caller]
    pub fn first_entry(&mut self) -> Option<OccupiedEntry<'_, K, V>>
    where
        K: Ord,
    {
        let access = access!(self, Op::FirstEntry);
        access.read_structure();
        let base = self.base.first_entry()?;
        Some(OccupiedEntry { base, access })
    }

    /// Removes and returns the first entry: writes the structure if there was one.
    /// See [`std::collections::BTreeMap::pop_first`].
    #[track_caller]
    pub fn pop_first(&mut self) -> Option<(K, V)>
    where
        K: Ord,
    {
        let access = access!(self, Op::PopFirst);
        // Read before the tree is touched; written (in progress) before anything is removed.
        access.read_structure();
        let (key, _) = self.base.first_key_value()?;
        let _writing = access.write_structure_of(Some(key));
        let (key, stored) = self.base.pop_first()?;
        Some((key, stored.value))
    }

    /// The last (largest) key and its value (reads the structure and that key).
    /// See [`std::collections::BTreeMap::last_key_value`].
    #[track_caller]
    pub fn last_key_value(&self) -> Option<(&K, &V)>
    where
        K: Ord,
    {
        let access = access!(self, Op::LastKeyValue);
        access.read_structure();
        let (key, stored) = self.base.last_key_value()?;
        access.read_key(&stored.cell, key);
        Some((key, &stored.value))
    }

    /// The entry of the last key, for in-place manipulation (reads the structure).
    /// See [`std::collections::BTreeMap::last_entry`].
    #[track_caller]
    pub fn last_entry(&mut self) -> Option<OccupiedEntry<'_, K, V>>
    where
        K: Ord,
    {
        let access = access!(self, Op::LastEntry);
        access.read_structure();
        let base = self.base.last_entry()?;
        Some(OccupiedEntry { base, access })
    }

    /// Removes and returns the last entry: writes the structure if there was one.
    /// See [`std::collections::BTreeMap::pop_last`].
    #[track_caller]
    pub fn pop_last(&mut self) -> Option<(K, V)>
    where
        K: Ord,
    {
        let access = access!(self, Op::PopLast);
        // Read before the tree is touched; written (in progress) before anything is removed.
        access.read_structure();
        let (key, _) = self.base.last_key_value()?;
        let _writing = access.write_structure_of(Some(key));
        let (key, stored) = self.base.pop_last()?;
        Some((key, stored.value))
    }

    /// Whether the map has `key` (reads the structure and the key).
    /// See [`std::collections::BTreeMap::contains_key`].
    #[inline]
    #[track_caller]
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q> + Ord,
        Q: Ord + ?Sized,
    {
        let access = access!(self, Op::ContainsKey);
        access.read_structure_of(key);
        match self.base.get(key) {
            Some(stored) => {
                access.read_key(&stored.cell, key);
                true
            }
            None => false,
        }
    }

    /// A mutable reference to the value of `key` (reads the structure, writes the key).
    /// See [`std::collections::BTreeMap::get_mut`].
    #[inline]
    #[track_caller]
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q> + Ord,
        Q: Ord + ?Sized,
    {
        let access = access!(self, Op::GetMut);
        access.read_structure_of(key);
        let stored = self.base.get_mut(key)?;
        access.act_key(&stored.cell, key, None);
        Some(&mut stored.value)
    }

    /// Inserts a key-value pair: over an existing key it reads the structure and writes the
    /// key (and keeps the old key, as std does); a new key writes the structure.
    /// See [`std::collections::BTreeMap::insert`].
    #[inline]
    #[track_caller]
    pub fn insert(&mut self, key: K, value: V) -> Option<V>
    where
        K: Ord,
    {
        keyed!(self, Op::Insert, |access| {
            access.read_structure_of(&key);
            match self.base.entry(key) {
                base::Entry::Occupied(entry) => {
                    access.act_key(&entry.get().cell, entry.key(), None);
                    let stored = entry.into_mut();
                    let _writing = access.writing(&stored.cell);
                    Some(mem::replace(&mut stored.value, value))
                }
                base::Entry::Vacant(entry) => {
                    let _writing = access.write_structure_of(Some(entry.key()));
                    let cell = access.new_cell();
                    entry.insert(Stored { value, cell });
                    None
                }
            }
        }, off: {
            let stored = Stored {
                value,
                cell: crate::rt::cell::Cell::default(),
            };
            // std's own insert: over a key, the old key stays and the value is replaced.
            self.base.insert(key, stored).map(|old| old.value)
        })
    }

    /// Removes `key`, returning its value: writes the structure if the key was there, reads it
    /// otherwise. See [`std::collections::BTreeMap::remove`].
    #[inline]
    #[track_caller]
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q> + Ord,
        Q: Ord + ?Sized,
    {
        self.remove_with(Op::Remove, key).map(|(_, v)| v)
    }

    /// Removes `key`, returning the stored key and value (as [`remove`](Self::remove)).
    /// See [`std::collections::BTreeMap::remove_entry`].
    #[inline]
    #[track_caller]
    pub fn remove_entry<Q>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q> + Ord,
        Q: Ord + ?Sized,
    {
        self.remove_with(Op::RemoveEntry, key)
    }

    #[inline]
    #[track_caller]
    fn remove_with<Q>(&mut self, op: Op, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q> + Ord,
        Q: Ord + ?Sized,
    {
        keyed!(self, op, |access| {
            access.read_structure_of(key);
            // Removing an absent key changes nothing; a present one must be marked written
            // before the tree changes, so the lookup is done twice (once with the detector off,
            // as std's).
            let stored = self.base.get(key)?;
            access.act_remove(&stored.cell, key, None);
            let _writing = access.write_structure_of(Some(key));
            let (key, stored) = self.base.remove_entry(key)?;
            Some((key, stored.value))
        }, off: self.base.remove_entry(key).map(|(key, stored)| (key, stored.value)))
    }

    /// Keeps only the entries for which `f` is true (writes the structure).
    /// See [`std::collections::BTreeMap::retain`].
    #[track_caller]
    pub fn retain<F>(&mut self, mut f: F)
    where
        K: Ord,
        F: FnMut(&K, &mut V) -> bool,
    {
        let access = access!(self, Op::Retain);
        let _writing = access.write_structure();
        self.base.retain(|key, stored| f(key, &mut stored.value));
    }

    /// Moves every entry of `other` into `self`, leaving `other` empty; a key in both takes
    /// `other`'s value. Writes the structure of both maps; the moved keys count as written by
    /// this call. See [`std::collections::BTreeMap::append`].
    #[track_caller]
    pub fn append(&mut self, other: &mut Self)
    where
        K: Ord,
    {
        let mine = access!(self, Op::Append);
        let theirs = access!(other, Op::Append);
        let _writing = mine.write_structure();
        let _emptying = theirs.write_structure();
        for stored in other.base.values_mut() {
            stored.cell = mine.new_cell();
        }
        self.base.append(&mut other.base);
    }

    /// An iterator over the entries in `range`, in order (reads the structure, and each key it
    /// visits). See [`std::collections::BTreeMap::range`].
    ///
    /// # Panics
    /// As std: if the range's start is after its end, or start and end are equal and both
    /// excluded.
    #[track_caller]
    pub fn range<T, R>(&self, range: R) -> Range<'_, K, V>
    where
        T: Ord + ?Sized,
        K: Borrow<T> + Ord,
        R: RangeBounds<T>,
    {
        let access = access!(self, Op::Range);
        access.read_structure();
        Range {
            base: self.base.range(range),
            access,
        }
    }

    /// An iterator over the entries in `range` with mutable values (reads the structure, writes
    /// each key it visits). See [`std::collections::BTreeMap::range_mut`].
    ///
    /// # Panics
    /// As [`range`](Self::range).
    #[track_caller]
    pub fn range_mut<T, R>(&mut self, range: R) -> RangeMut<'_, K, V>
    where
        T: Ord + ?Sized,
        K: Borrow<T> + Ord,
        R: RangeBounds<T>,
    {
        let access = access!(self, Op::RangeMut);
        access.read_structure();
        RangeMut {
            base: self.base.range_mut(range),
            access,
        }
    }

    /// The entry for `key`, for in-place manipulation (reads the structure; inserting through
    /// it writes the structure, modifying writes the key).
    /// See [`std::collections::BTreeMap::entry`].
    #[inline]
    #[track_caller]
    pub fn entry(&mut self, key: K) -> Entry<'_, K, V>
    where
        K: Ord,
    {
        let access = access!(self, Op::Entry);
        access.read_structure_of(&key);
        match self.base.entry(key) {
            base::Entry::Occupied(base) => Entry::Occupied(OccupiedEntry { base, access }),
            base::Entry::Vacant(base) => Entry::Vacant(VacantEntry { base, access }),
        }
    }

    /// Splits the map in two at `key`: returns the entries from `key` on, as a new map with no
    /// history (writes the structure). See [`std::collections::BTreeMap::split_off`].
    #[track_caller]
    pub fn split_off<Q>(&mut self, key: &Q) -> Self
    where
        K: Borrow<Q> + Ord,
        Q: Ord + ?Sized,
    {
        let access = access!(self, Op::SplitOff);
        let _writing = access.write_structure_of(Some(key));
        // The moved keys' cells keep their history until the new map's first access, which
        // finds it at a new address and forgets it.
        BTreeMap {
            base: self.base.split_off(key),
            shadow: MapShadow::new(std::any::type_name::<Self>),
        }
    }

    /// Removes and yields the entries in `range` for which `pred` is true, in order. Making
    /// the iterator, each step and its drop write the structure.
    /// See [`std::collections::BTreeMap::extract_if`].
    ///
    /// (Unlike std's, `pred` must outlive the borrow of the map: it is kept behind a pointer.)
    #[track_caller]
    pub fn extract_if<'a, R, F>(&'a mut self, range: R, mut pred: F) -> ExtractIf<'a, K, V, R, F>
    where
        K: Ord,
        R: RangeBounds<K>,
        F: FnMut(&K, &mut V) -> bool + 'a,
    {
        let access = access!(self, Op::ExtractIf);
        let on_stored: StoredPredicate<'a, K, V> =
            Box::new(move |key, stored| pred(key, &mut stored.value));
        ExtractIf {
            writing: access.writing_iter(),
            base: self.base.extract_if(range, on_stored),
            _pred: PhantomData,
        }
    }

    /// Consumes the map into its keys, in order. See [`std::collections::BTreeMap::into_keys`].
    #[track_caller]
    pub fn into_keys(self) -> IntoKeys<K, V> {
        IntoKeys {
            base: self.into_base(Op::IntoKeys).into_keys(),
        }
    }

    /// Consumes the map into its values, in key order.
    /// See [`std::collections::BTreeMap::into_values`].
    #[track_caller]
    pub fn into_values(self) -> IntoValues<K, V> {
        IntoValues {
            base: self.into_base(Op::IntoValues).into_values(),
        }
    }

    /// An iterator over the entries, in order (reads the structure and each key it visits).
    /// See [`std::collections::BTreeMap::iter`].
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

    /// An iterator over the entries with mutable values, in order (reads the structure, writes
    /// each key it visits). See [`std::collections::BTreeMap::iter_mut`].
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

    /// An iterator over the keys, in order (reads the structure; keys never change in place, so
    /// no value is read). See [`std::collections::BTreeMap::keys`].
    #[track_caller]
    pub fn keys(&self) -> Keys<'_, K, V> {
        access!(self, Op::Keys).read_structure();
        Keys {
            base: self.base.keys(),
        }
    }

    /// An iterator over the values, in key order (reads each key it visits).
    /// See [`std::collections::BTreeMap::values`].
    #[track_caller]
    pub fn values(&self) -> Values<'_, K, V> {
        Values {
            inner: self.iter_with(Op::Values),
        }
    }

    /// An iterator over mutable values, in key order (writes each key it visits).
    /// See [`std::collections::BTreeMap::values_mut`].
    #[track_caller]
    pub fn values_mut(&mut self) -> ValuesMut<'_, K, V> {
        ValuesMut {
            inner: self.iter_mut_with(Op::ValuesMut),
        }
    }

    /// The number of elements (reads the structure). Unlike std's, not a `const fn`: it checks.
    /// See [`std::collections::BTreeMap::len`].
    #[inline]
    #[track_caller]
    pub fn len(&self) -> usize {
        access!(self, Op::Len).read_structure();
        self.base.len()
    }

    /// Whether the map is empty (reads the structure). Unlike std's, not a `const fn`.
    /// See [`std::collections::BTreeMap::is_empty`].
    #[inline]
    #[track_caller]
    pub fn is_empty(&self) -> bool {
        access!(self, Op::IsEmpty).read_structure();
        self.base.is_empty()
    }

    /// Takes the real map out for a consuming operation, which writes the whole structure.
    #[track_caller]
    fn into_base(self, op: Op) -> base::BTreeMap<K, Stored<V>> {
        let this = &self;
        drop(access!(this, op).write_structure());
        let BTreeMap { base, .. } = self;
        base
    }

    /// Inserts every pair while the structure is marked written.
    #[track_caller]
    fn extend_with<T: IntoIterator<Item = (K, V)>>(&mut self, iter: T)
    where
        K: Ord,
    {
        let access = access!(self, Op::Extend);
        let _writing = access.write_structure();
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
    }

    /// A new map of `pairs`, built as std builds one (sorted, the last of equal keys kept).
    #[track_caller]
    fn from_pairs(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Ord,
    {
        // A new map's cells have no history: its first access finds it at a new address.
        let base = pairs
            .into_iter()
            .map(|(key, value)| {
                let cell = Default::default();
                (key, Stored { value, cell })
            })
            .collect();
        BTreeMap {
            base,
            shadow: MapShadow::new(std::any::type_name::<Self>),
        }
    }
}

impl<K: Hash, V: Hash> Hash for BTreeMap<K, V> {
    /// Reads the structure and every key; hashes as std's map with the same contents does.
    #[track_caller]
    fn hash<H: Hasher>(&self, state: &mut H) {
        let iter = self.iter_with(Op::Hash);
        // std writes the length with `write_length_prefix`, which is `write_usize` on stable.
        state.write_usize(self.base.len());
        for entry in iter {
            entry.hash(state);
        }
    }
}

impl<K: PartialEq, V: PartialEq> PartialEq for BTreeMap<K, V> {
    /// Reads both maps' structures and every key compared.
    #[track_caller]
    fn eq(&self, other: &BTreeMap<K, V>) -> bool {
        let mine = self.iter_with(Op::Eq);
        let theirs = other.iter_with(Op::Eq);
        self.base.len() == other.base.len() && mine.zip(theirs).all(|(a, b)| a == b)
    }
}

impl<K: Eq, V: Eq> Eq for BTreeMap<K, V> {}

impl<K: PartialOrd, V: PartialOrd> PartialOrd for BTreeMap<K, V> {
    /// Reads both maps' structures and every key compared.
    #[track_caller]
    fn partial_cmp(&self, other: &BTreeMap<K, V>) -> Option<Ordering> {
        self.iter_with(Op::PartialCmp)
            .partial_cmp(other.iter_with(Op::PartialCmp))
    }
}

impl<K: Ord, V: Ord> Ord for BTreeMap<K, V> {
    /// Reads both maps' structures and every key compared.
    #[track_caller]
    fn cmp(&self, other: &BTreeMap<K, V>) -> Ordering {
        self.iter_with(Op::Cmp).cmp(other.iter_with(Op::Cmp))
    }
}

impl<K: Clone, V: Clone> Clone for BTreeMap<K, V> {
    /// Reads the source's structure and every key; the clone is a new map with no history.
    #[track_caller]
    fn clone(&self) -> Self {
        let access = access!(self, Op::Clone);
        access.read_structure();
        for (key, stored) in &self.base {
            access.read_key(&stored.cell, key);
        }
        BTreeMap {
            base: self.base.clone(),
            shadow: MapShadow::new(std::any::type_name::<Self>),
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for BTreeMap<K, V> {
    /// Reads the structure and every key, like `iter`.
    #[track_caller]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter_with(Op::Debug)).finish()
    }
}

impl<K, V> Default for BTreeMap<K, V> {
    /// Creates an empty `BTreeMap`.
    #[track_caller]
    fn default() -> BTreeMap<K, V> {
        BTreeMap::new()
    }
}

impl<K, Q, V> Index<&Q> for BTreeMap<K, V>
where
    K: Borrow<Q> + Ord,
    Q: Ord + ?Sized,
{
    type Output = V;

    /// The value of `key` (reads the structure and the key).
    ///
    /// # Panics
    /// If the key is not present, as std does.
    #[track_caller]
    fn index(&self, key: &Q) -> &V {
        let access = access!(self, Op::Index);
        access.read_structure_of(key);
        let stored = self.base.get(key).expect("no entry found for key");
        access.read_key(&stored.cell, key);
        &stored.value
    }
}

impl<'a, K, V> IntoIterator for &'a BTreeMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    #[track_caller]
    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

impl<'a, K, V> IntoIterator for &'a mut BTreeMap<K, V> {
    type Item = (&'a K, &'a mut V);
    type IntoIter = IterMut<'a, K, V>;

    #[track_caller]
    fn into_iter(self) -> IterMut<'a, K, V> {
        self.iter_mut()
    }
}

impl<K, V> IntoIterator for BTreeMap<K, V> {
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

impl<K: Ord, V> FromIterator<(K, V)> for BTreeMap<K, V> {
    /// As std: for equal keys, the last pair wins.
    #[track_caller]
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> BTreeMap<K, V> {
        BTreeMap::from_pairs(iter)
    }
}

impl<K: Ord, V> Extend<(K, V)> for BTreeMap<K, V> {
    /// Inserts every pair (writes the structure).
    #[track_caller]
    fn extend<T: IntoIterator<Item = (K, V)>>(&mut self, iter: T) {
        self.extend_with(iter);
    }
}

impl<'a, K: Ord + Copy, V: Copy> Extend<(&'a K, &'a V)> for BTreeMap<K, V> {
    /// Inserts every pair (writes the structure).
    #[track_caller]
    fn extend<T: IntoIterator<Item = (&'a K, &'a V)>>(&mut self, iter: T) {
        self.extend_with(iter.into_iter().map(|(&k, &v)| (k, v)));
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for BTreeMap<K, V> {
    /// Creates a map from an array of pairs (for equal keys, the last wins).
    /// See [`std::collections::BTreeMap::from`].
    #[track_caller]
    fn from(arr: [(K, V); N]) -> Self {
        BTreeMap::from_pairs(arr)
    }
}

/// Names the map in reports (used by `#[maprace::track]` through `__private::named`).
impl<K, V> crate::__private::Nameable for BTreeMap<K, V> {
    fn set_name(&mut self, name: &'static str) {
        self.shadow.set_name(name);
    }
}

// ---------------------------------------------------------------------------------------------
// The Entry API.

/// A view into a single entry of a map, vacant or occupied.
/// See [`std::collections::btree_map::Entry`].
pub enum Entry<'a, K, V> {
    /// A vacant entry.
    Vacant(VacantEntry<'a, K, V>),
    /// An occupied entry.
    Occupied(OccupiedEntry<'a, K, V>),
}

/// A view into a vacant entry. See [`std::collections::btree_map::VacantEntry`].
pub struct VacantEntry<'a, K, V> {
    base: base::VacantEntry<'a, K, Stored<V>>,
    access: Access<'a>,
}

/// A view into an occupied entry. See [`std::collections::btree_map::OccupiedEntry`].
pub struct OccupiedEntry<'a, K, V> {
    base: base::OccupiedEntry<'a, K, Stored<V>>,
    access: Access<'a>,
}

entry_methods!(K: Ord);

impl<K: fmt::Debug + Ord, V: fmt::Debug> fmt::Debug for Entry<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Vacant(v) => f.debug_tuple("Entry").field(v).finish(),
            Entry::Occupied(o) => f.debug_tuple("Entry").field(o).finish(),
        }
    }
}

impl<K: fmt::Debug + Ord, V> fmt::Debug for VacantEntry<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("VacantEntry").field(self.key()).finish()
    }
}

impl<K: fmt::Debug + Ord, V: fmt::Debug> fmt::Debug for OccupiedEntry<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OccupiedEntry")
            .field("key", self.key())
            .field("value", self.get())
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Iterators. Those that borrow the map check each key as they reach it (from either end), with
// the site of the call that made the iterator. Their `Debug` prints what is left, as std's does,
// without checking.

/// An iterator over the entries of a `BTreeMap`. See [`std::collections::btree_map::Iter`].
pub struct Iter<'a, K, V> {
    base: base::Iter<'a, K, Stored<V>>,
    access: Access<'a>,
}

/// A mutable iterator over the entries of a `BTreeMap`.
/// See [`std::collections::btree_map::IterMut`].
pub struct IterMut<'a, K, V> {
    base: base::IterMut<'a, K, Stored<V>>,
    access: Access<'a>,
}

/// An owning iterator over the entries of a `BTreeMap`.
/// See [`std::collections::btree_map::IntoIter`].
pub struct IntoIter<K, V> {
    base: base::IntoIter<K, Stored<V>>,
}

/// An iterator over the keys of a `BTreeMap`. See [`std::collections::btree_map::Keys`].
pub struct Keys<'a, K, V> {
    base: base::Keys<'a, K, Stored<V>>,
}

/// An iterator over the values of a `BTreeMap`. See [`std::collections::btree_map::Values`].
pub struct Values<'a, K, V> {
    inner: Iter<'a, K, V>,
}

/// A mutable iterator over the values of a `BTreeMap`.
/// See [`std::collections::btree_map::ValuesMut`].
pub struct ValuesMut<'a, K, V> {
    inner: IterMut<'a, K, V>,
}

/// An owning iterator over the keys of a `BTreeMap`.
/// See [`std::collections::btree_map::IntoKeys`].
pub struct IntoKeys<K, V> {
    base: base::IntoKeys<K, Stored<V>>,
}

/// An owning iterator over the values of a `BTreeMap`.
/// See [`std::collections::btree_map::IntoValues`].
pub struct IntoValues<K, V> {
    base: base::IntoValues<K, Stored<V>>,
}

/// An iterator over a sub-range of the entries of a `BTreeMap`.
/// See [`std::collections::btree_map::Range`].
pub struct Range<'a, K, V> {
    base: base::Range<'a, K, Stored<V>>,
    access: Access<'a>,
}

/// A mutable iterator over a sub-range of the entries of a `BTreeMap`.
/// See [`std::collections::btree_map::RangeMut`].
pub struct RangeMut<'a, K, V> {
    base: base::RangeMut<'a, K, Stored<V>>,
    access: Access<'a>,
}

/// An iterator that removes and yields the entries in a range that match a predicate; each
/// step writes the map's structure, as its creation and its drop do.
/// See [`std::collections::btree_map::ExtractIf`].
pub struct ExtractIf<'a, K, V, R, F>
where
    F: FnMut(&K, &mut V) -> bool,
{
    // First: dropped before the real iterator (see `WritingIter`).
    writing: WritingIter<'a>,
    base: base::ExtractIf<'a, K, Stored<V>, R, StoredPredicate<'a, K, V>>,
    _pred: PhantomData<F>,
}

/// The user's predicate, applied to the value of a `Stored`.
type StoredPredicate<'a, K, V> = Box<dyn FnMut(&K, &mut Stored<V>) -> bool + 'a>;

// SAFETY: the boxed predicate is the user's `F` and nothing else, and the rest is std's
// `ExtractIf` and a borrow of the map's shadow (atomics): `Send` and `Sync` exactly when std's
// `ExtractIf<'_, K, V, R, F>` is.
unsafe impl<K: Send, V: Send, R: Send, F: Send + FnMut(&K, &mut V) -> bool> Send
    for ExtractIf<'_, K, V, R, F>
{
}
// SAFETY: as for `Send`.
unsafe impl<K: Sync, V: Sync, R: Sync, F: Sync + FnMut(&K, &mut V) -> bool> Sync
    for ExtractIf<'_, K, V, R, F>
{
}

checked_iter!(double_ended Iter => (&'a K, &'a V), read_key, |stored| &stored.value);
checked_iter!(double_ended IterMut => (&'a K, &'a mut V), write_key, |stored| &mut stored.value);
checked_iter!(double_ended Range => (&'a K, &'a V), read_key, |stored| &stored.value);
checked_iter!(double_ended RangeMut => (&'a K, &'a mut V), write_key, |stored| &mut stored.value);
mapped_iter!(double_ended IntoIter<K, V>.base => (K, V), |(key, stored)| (key, stored.value));
mapped_iter!(double_ended Keys<'a, K, V>.base => &'a K, |key| key);
mapped_iter!(double_ended Values<'a, K, V>.inner => &'a V, |(_, value)| value);
mapped_iter!(double_ended ValuesMut<'a, K, V>.inner => &'a mut V, |(_, value)| value);
mapped_iter!(double_ended IntoKeys<K, V>.base => K, |key| key);
mapped_iter!(double_ended IntoValues<K, V>.base => V, |stored| stored.value);

impl<K, V, R, F> Iterator for ExtractIf<'_, K, V, R, F>
where
    K: Ord,
    R: RangeBounds<K>,
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
    Range<'a, K, V>,
    RangeMut<'a, K, V>,
);

impl<K, V, R, F> FusedIterator for ExtractIf<'_, K, V, R, F>
where
    K: Ord,
    R: RangeBounds<K>,
    F: FnMut(&K, &mut V) -> bool,
{
}

clone_as_std! {
    Iter { base, access };
    Range { base, access };
    Keys { base };
    Values { inner };
}

default_as_std! {
    Iter<'a, K, V> => Iter { base: Default::default(), access: Access::detached() };
    IterMut<'a, K, V> => IterMut { base: Default::default(), access: Access::detached() };
    Range<'a, K, V> => Range { base: Default::default(), access: Access::detached() };
    RangeMut<'a, K, V> => RangeMut { base: Default::default(), access: Access::detached() };
    IntoIter<K, V> => IntoIter { base: Default::default() };
    Keys<'a, K, V> => Keys { base: Default::default() };
    Values<'a, K, V> => Values { inner: Default::default() };
    ValuesMut<'a, K, V> => ValuesMut { inner: Default::default() };
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
    Range<'a, K, V> where K: Debug, V: Debug;
    RangeMut<'a, K, V> where K: Debug, V: Debug;
}

debug_values!();

impl<K, V, R, F> fmt::Debug for ExtractIf<'_, K, V, R, F>
where
    F: FnMut(&K, &mut V) -> bool,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtractIf").finish_non_exhaustive()
    }
}
