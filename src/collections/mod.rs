//! The tracked maps, and the one place that decides whether they are tracked.
//!
//! With the detector compiled in (see the crate docs), `hash_map` and `btree_map` are maprace's
//! mirrors of [`std::collections::hash_map`] and [`std::collections::btree_map`]; otherwise they
//! *are* std's modules, and `HashMap` and `BTreeMap` are std's types.

/// Starts the checks of one operation on `$map` (`self`, whose real map is `$map.base` and whose
/// shadow is `$map.shadow`): notices a move (then forgets the history of the keys too) and
/// captures the caller's site. Shared by the map mirrors.
#[cfg(maprace_detect)]
macro_rules! access {
    ($map:ident, $op:expr) => {{
        let (access, moved) = $map.shadow.access($op);
        if moved {
            $crate::collections::forget_history($map.base.values());
        }
        access
    }};
}

/// A moved map's key cells: everything before the move happens before what comes next.
/// The methods of the Entry API, the same for both maps (whose `Entry`, `OccupiedEntry` and
/// `VacantEntry` are distinct types, as in std): `$key` is the key parameter with the map's
/// bound (`K` or `K: Ord`). Each entry holds the real map's entry in `base` and the checks of
/// the operation that made it in `access`.
#[cfg(maprace_detect)]
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

#[cfg(maprace_detect)]
#[cold]
fn forget_history<'a, V: 'a>(stored: impl Iterator<Item = &'a crate::rt::map::Stored<V>>) {
    for stored in stored {
        stored.cell.reset();
    }
}

#[cfg(maprace_detect)]
pub mod btree_map;
#[cfg(maprace_detect)]
pub mod hash_map;
#[cfg(not(maprace_detect))]
pub use std::collections::btree_map;
#[cfg(not(maprace_detect))]
pub use std::collections::hash_map;

pub use btree_map::BTreeMap;
pub use hash_map::HashMap;
