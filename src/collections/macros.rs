//! The helper macros both map mirrors use, so that each job is done one way: starting an
//! operation's checks (`access!`), the Entry API methods that are the same for both maps
//! (`entry_methods!`), and the iterators: `checked_iter!` for those that check each key they
//! reach, `mapped_iter!` for those that check nothing per item, then `exact_size!`, `fused!`,
//! `clone_as_std!`, `default_as_std!`, `debug_as_std!` and `debug_values!` for std's trait impls.
//! Paths in the expansions are absolute (`::std::...`, `$crate::...`), so they do not depend on a
//! mirror's imports; the mirror's own types (`Entry`, `Iter`...) are the caller's.

/// Starts the checks of one operation on `$map` (`self`, whose shadow is `$map.shadow`, and
/// whose `Stored` values are `$stored`, by default `$map.base.values()`): captures the caller's
/// site and notices a move (then forgets the history of the keys too). Shared by the mirrors.
macro_rules! access {
    ($map:ident, $op:expr) => {
        access!($map, $op, $map.base.values())
    };
    ($map:ident, $op:expr, $stored:expr) => {{
        let access = $map.shadow.access($op);
        if access.active() && access.begin() {
            $crate::rt::map::forget_history($stored);
        }
        access
    }};
}

/// The methods of the Entry API, the same for both maps (whose `Entry`, `OccupiedEntry` and
/// `VacantEntry` are distinct types, as in std): `$key` is the key parameter with the map's
/// bound (`K` or `K: Ord`). Each entry holds the real map's entry in `base` and the checks of
/// the operation that made it in `access`.
macro_rules! entry_methods {
    ($($key:tt)+) => {
        impl<'a, $($key)+, V> Entry<'a, K, V> {
            /// The value, inserting `default` if the entry is vacant.
            pub fn or_insert(self, default: V) -> &'a mut V {
                match self {
                    Entry::Occupied(entry) => entry.into_mut(),
                    Entry::Vacant(entry) => entry.insert(default),
                }
            }

            /// The value, inserting the result of `default` if the entry is vacant.
            pub fn or_insert_with<F: FnOnce() -> V>(self, default: F) -> &'a mut V {
                match self {
                    Entry::Occupied(entry) => entry.into_mut(),
                    Entry::Vacant(entry) => entry.insert(default()),
                }
            }

            /// The value, inserting `default(&key)` if the entry is vacant.
            pub fn or_insert_with_key<F: FnOnce(&K) -> V>(self, default: F) -> &'a mut V {
                match self {
                    Entry::Occupied(entry) => entry.into_mut(),
                    Entry::Vacant(entry) => {
                        let value = default(entry.key());
                        entry.insert(value)
                    }
                }
            }

            /// The entry's key.
            pub fn key(&self) -> &K {
                match self {
                    Entry::Occupied(entry) => entry.key(),
                    Entry::Vacant(entry) => entry.key(),
                }
            }

            /// Calls `f` on the value if the entry is occupied (a write of the key).
            #[must_use]
            pub fn and_modify<F: FnOnce(&mut V)>(self, f: F) -> Self {
                match self {
                    Entry::Occupied(mut entry) => {
                        f(entry.get_mut());
                        Entry::Occupied(entry)
                    }
                    Entry::Vacant(entry) => Entry::Vacant(entry),
                }
            }

            /// Sets the value of the entry and returns it as an occupied entry.
            pub fn insert_entry(self, value: V) -> OccupiedEntry<'a, K, V> {
                match self {
                    Entry::Occupied(mut entry) => {
                        entry.insert(value);
                        entry
                    }
                    Entry::Vacant(entry) => entry.insert_entry(value),
                }
            }
        }

        impl<'a, $($key)+, V: Default> Entry<'a, K, V> {
            /// The value, inserting `V::default()` if the entry is vacant.
            pub fn or_default(self) -> &'a mut V {
                self.or_insert_with(V::default)
            }
        }

        impl<'a, $($key)+, V> OccupiedEntry<'a, K, V> {
            /// The entry's key.
            pub fn key(&self) -> &K {
                self.base.key()
            }

            /// Removes the entry (writes the structure), returning its key and value.
            pub fn remove_entry(self) -> (K, V) {
                let _writing = self.access.write_structure_of(Some(self.base.key()));
                let (key, stored) = self.base.remove_entry();
                (key, stored.value)
            }

            /// The value (reads the key).
            pub fn get(&self) -> &V {
                let stored = self.base.get();
                self.access.read_key(&stored.cell, self.base.key());
                &stored.value
            }

            /// The value, mutably (writes the key).
            pub fn get_mut(&mut self) -> &mut V {
                self.access
                    .write_key(&self.base.get().cell, self.base.key());
                &mut self.base.get_mut().value
            }

            /// The value, mutably, for the lifetime of the map borrow (writes the key).
            pub fn into_mut(self) -> &'a mut V {
                self.access
                    .write_key(&self.base.get().cell, self.base.key());
                &mut self.base.into_mut().value
            }

            /// Replaces the value (writes the key), returning the old one.
            pub fn insert(&mut self, value: V) -> V {
                self.access
                    .write_key(&self.base.get().cell, self.base.key());
                let stored = self.base.get_mut();
                let _writing = self.access.writing(&stored.cell);
                std::mem::replace(&mut stored.value, value)
            }

            /// Removes the entry (writes the structure), returning its value.
            pub fn remove(self) -> V {
                self.remove_entry().1
            }
        }

        impl<'a, $($key)+, V> VacantEntry<'a, K, V> {
            /// The key that would be inserted.
            pub fn key(&self) -> &K {
                self.base.key()
            }

            /// Takes the key back.
            pub fn into_key(self) -> K {
                self.base.into_key()
            }

            /// Inserts the value (writes the structure), returning a mutable reference to it.
            pub fn insert(self, value: V) -> &'a mut V {
                let _writing = self.access.write_structure_of(Some(self.base.key()));
                let cell = self.access.new_cell();
                &mut self.base.insert($crate::rt::map::Stored { value, cell }).value
            }

            /// Inserts the value (writes the structure), returning the occupied entry.
            pub fn insert_entry(self, value: V) -> OccupiedEntry<'a, K, V> {
                let _writing = self.access.write_structure_of(Some(self.base.key()));
                let cell = self.access.new_cell();
                OccupiedEntry {
                    base: self.base.insert_entry($crate::rt::map::Stored { value, cell }),
                    access: self.access,
                }
            }
        }
    };
}

/// `Iterator` for an iterator whose `base` yields `(key, stored)` pairs: checks each key as it
/// reaches it, with `$check` (`read_key` or `write_key`) of the operation that made the iterator,
/// and yields `$out`. With `double_ended`, also from the back, and `last` is the back's first
/// item (so it checks that key only).
macro_rules! checked_iter {
    (double_ended $iter:ident => $item:ty, $check:ident, |$stored:ident| $out:expr) => {
        checked_iter!($iter => $item, $check, |$stored| $out;
            fn last(mut self) -> Option<$item> {
                self.next_back()
            }
        );

        impl<'a, K, V> DoubleEndedIterator for $iter<'a, K, V> {
            fn next_back(&mut self) -> Option<$item> {
                let (key, $stored) = self.base.next_back()?;
                self.access.$check(&$stored.cell, key);
                Some((key, $out))
            }
        }
    };
    ($iter:ident => $item:ty, $check:ident, |$stored:ident| $out:expr $(; $($more:tt)*)?) => {
        impl<'a, K, V> Iterator for $iter<'a, K, V> {
            type Item = $item;

            fn next(&mut self) -> Option<$item> {
                let (key, $stored) = self.base.next()?;
                self.access.$check(&$stored.cell, key);
                Some((key, $out))
            }

            fn size_hint(&self) -> (usize, Option<usize>) {
                self.base.size_hint()
            }

            $($($more)*)?
        }
    };
}

/// `Iterator` for an iterator that checks nothing per item: `$field` (the real iterator, or the
/// checked one it wraps) yields, and `|$x| $map` makes the item of what it yields. With
/// `double_ended`, also from the back, and `last` is the back's first item.
macro_rules! mapped_iter {
    (double_ended $iter:ident<$($lt:lifetime,)? K, V>.$field:ident => $item:ty,
        |$x:pat_param| $map:expr) => {
        mapped_iter!($iter<$($lt,)? K, V>.$field => $item, |$x| $map;
            fn last(mut self) -> Option<$item> {
                self.next_back()
            }
        );

        impl<$($lt,)? K, V> DoubleEndedIterator for $iter<$($lt,)? K, V> {
            fn next_back(&mut self) -> Option<$item> {
                self.$field.next_back().map(|$x| $map)
            }
        }
    };
    ($iter:ident<$($lt:lifetime,)? K, V>.$field:ident => $item:ty, |$x:pat_param| $map:expr
        $(; $($more:tt)*)?) => {
        impl<$($lt,)? K, V> Iterator for $iter<$($lt,)? K, V> {
            type Item = $item;

            fn next(&mut self) -> Option<$item> {
                self.$field.next().map(|$x| $map)
            }

            fn size_hint(&self) -> (usize, Option<usize>) {
                self.$field.size_hint()
            }

            $($($more)*)?
        }
    };
}

/// `len` from the exact `size_hint` of std's iterator.
macro_rules! exact_size {
    ($($iter:ident<$($lt:lifetime,)? K, V>),* $(,)?) => {$(
        impl<$($lt,)? K, V> ExactSizeIterator for $iter<$($lt,)? K, V> {
            fn len(&self) -> usize {
                self.size_hint().0
            }
        }
    )*};
}

/// Done once `None`, as std's iterators are.
macro_rules! fused {
    ($($iter:ident<$($lt:lifetime,)? K, V>),* $(,)?) => {$(
        impl<$($lt,)? K, V> ::std::iter::FusedIterator for $iter<$($lt,)? K, V> {}
    )*};
}

/// `Clone` for the iterators std's are `Clone` for: each field cloned (an iterator's `access`
/// is `Copy`, its clone checks what it reaches with the same site).
macro_rules! clone_as_std {
    ($($iter:ident { $($field:ident),* };)*) => {$(
        impl<K, V> Clone for $iter<'_, K, V> {
            fn clone(&self) -> Self {
                $iter {
                    $($field: self.$field.clone(),)*
                }
            }
        }
    )*};
}

/// `Default` as std's: an empty iterator (`$value`; a checked one with `Access::detached`).
macro_rules! default_as_std {
    ($($iter:ident<$($lt:lifetime,)? K, V> => $value:expr;)*) => {$(
        impl<$($lt,)? K, V> Default for $iter<$($lt,)? K, V> {
            /// An empty iterator, as std's.
            fn default() -> Self {
                $value
            }
        }
    )*};
}

/// `Debug` as std's: what the real iterator has left (a `Stored` prints as its value), without
/// checking anything. The bounds are std's.
macro_rules! debug_as_std {
    ($($iter:ident<$($lt:lifetime,)? K, V> where $($bound:ident: Debug),*;)*) => {$(
        impl<$($lt,)? K, V> ::std::fmt::Debug for $iter<$($lt,)? K, V>
        where
            $($bound: ::std::fmt::Debug,)*
        {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(&self.base, f)
            }
        }
    )*};
}

/// `Debug` for `Values` (the values not yet yielded, as std's) and `ValuesMut`.
macro_rules! debug_values {
    () => {
        impl<K, V: ::std::fmt::Debug> ::std::fmt::Debug for Values<'_, K, V> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_list()
                    .entries(self.inner.base.clone().map(|(_, stored)| &stored.value))
                    .finish()
            }
        }

        impl<K, V: ::std::fmt::Debug> ::std::fmt::Debug for ValuesMut<'_, K, V> {
            /// Unlike std's, it does not list the values: the iterator it wraps cannot be looked
            /// into without advancing it.
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct("ValuesMut").finish_non_exhaustive()
            }
        }
    };
}
