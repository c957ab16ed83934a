//! The Entry API: [`Entry`], [`OccupiedEntry`], [`VacantEntry`]. An entry holds its key's
//! shard exclusively until it is dropped or turned into a [`RefMut`]. See
//! `dashmap::mapref::entry`.

use super::one::RefMut;
use crate::rt::dashmap::Hold;
use crate::rt::map::Stored;
use std::hash::Hash;

type BaseEntry<'a, K, V> = ::dashmap::mapref::entry::Entry<'a, K, Stored<V>>;
type BaseOccupied<'a, K, V> = ::dashmap::mapref::entry::OccupiedEntry<'a, K, Stored<V>>;
type BaseVacant<'a, K, V> = ::dashmap::mapref::entry::VacantEntry<'a, K, Stored<V>>;

/// An entry of the map, occupied or vacant. See `dashmap::mapref::entry::Entry`.
///
/// ```
/// let counts = maprace::DashMap::new();
/// *counts.entry("ada").or_insert(0) += 1;
/// *counts.entry("ada").or_insert(0) += 1;
/// assert_eq!(*counts.get("ada").unwrap(), 2);
/// ```
pub enum Entry<'a, K, V> {
    /// The key is in the map.
    Occupied(OccupiedEntry<'a, K, V>),
    /// The key is not in the map.
    Vacant(VacantEntry<'a, K, V>),
}

impl<'a, K: Eq + Hash, V> Entry<'a, K, V> {
    #[inline(always)]
    pub(crate) fn new(hold: Hold<'a>, spends: u64, base: BaseEntry<'a, K, V>) -> Self {
        match base {
            BaseEntry::Occupied(base) => Entry::Occupied(OccupiedEntry { hold, spends, base }),
            BaseEntry::Vacant(base) => Entry::Vacant(VacantEntry { hold, base }),
        }
    }

    /// Calls `f` on the value if the entry is occupied.
    #[inline(always)]
    pub fn and_modify(self, f: impl FnOnce(&mut V)) -> Self {
        match self {
            Entry::Occupied(mut entry) => {
                f(entry.get_mut());
                Entry::Occupied(entry)
            }
            Entry::Vacant(entry) => Entry::Vacant(entry),
        }
    }

    /// The entry's key.
    pub fn key(&self) -> &K {
        match self {
            Entry::Occupied(entry) => entry.key(),
            Entry::Vacant(entry) => entry.key(),
        }
    }

    /// The key given to `entry`; the guard ends.
    pub fn into_key(self) -> K {
        match self {
            Entry::Occupied(entry) => entry.into_key(),
            Entry::Vacant(entry) => entry.into_key(),
        }
    }

    /// A guard on the value, inserting `V::default()` if the entry is vacant.
    pub fn or_default(self) -> RefMut<'a, K, V>
    where
        V: Default,
    {
        match self {
            Entry::Occupied(entry) => entry.into_ref(),
            Entry::Vacant(entry) => entry.insert(V::default()),
        }
    }

    /// A guard on the value, inserting `value` if the entry is vacant.
    #[inline(always)]
    pub fn or_insert(self, value: V) -> RefMut<'a, K, V> {
        match self {
            Entry::Occupied(entry) => entry.into_ref(),
            Entry::Vacant(entry) => entry.insert(value),
        }
    }

    /// A guard on the value, inserting `value()` if the entry is vacant.
    pub fn or_insert_with(self, value: impl FnOnce() -> V) -> RefMut<'a, K, V> {
        match self {
            Entry::Occupied(entry) => entry.into_ref(),
            Entry::Vacant(entry) => entry.insert(value()),
        }
    }

    /// A guard on the value, inserting the result of `value()` if the entry is vacant, or the
    /// error it gives.
    pub fn or_try_insert_with<E>(
        self,
        value: impl FnOnce() -> Result<V, E>,
    ) -> Result<RefMut<'a, K, V>, E> {
        match self {
            Entry::Occupied(entry) => Ok(entry.into_ref()),
            Entry::Vacant(entry) => Ok(entry.insert(value()?)),
        }
    }

    /// Sets the value, and returns a guard on it.
    pub fn insert(self, value: V) -> RefMut<'a, K, V> {
        match self {
            Entry::Occupied(mut entry) => {
                entry.insert(value);
                entry.into_ref()
            }
            Entry::Vacant(entry) => entry.insert(value),
        }
    }

    /// Sets the value, and returns the entry, occupied.
    pub fn insert_entry(self, value: V) -> OccupiedEntry<'a, K, V>
    where
        K: Clone,
    {
        match self {
            Entry::Occupied(mut entry) => {
                entry.insert(value);
                entry
            }
            Entry::Vacant(entry) => entry.insert_entry(value),
        }
    }
}

/// An entry whose key is not in the map. See `dashmap::mapref::entry::VacantEntry`.
pub struct VacantEntry<'a, K, V> {
    hold: Hold<'a>,
    base: BaseVacant<'a, K, V>,
}

impl<'a, K: Eq + Hash, V> VacantEntry<'a, K, V> {
    /// Inserts the value, and returns a guard on it.
    pub fn insert(self, value: V) -> RefMut<'a, K, V> {
        let VacantEntry { hold, base } = self;
        hold.touch();
        let cell = hold.new_cell();
        RefMut::new(hold, base.insert(Stored { value, cell }))
    }

    /// Inserts the value, and returns the entry, occupied.
    pub fn insert_entry(self, value: V) -> OccupiedEntry<'a, K, V>
    where
        K: Clone,
    {
        let VacantEntry { hold, base } = self;
        hold.touch();
        let cell = hold.new_cell();
        OccupiedEntry {
            hold,
            spends: 0,
            base: base.insert_entry(Stored { value, cell }),
        }
    }

    /// The key given to `entry`; the guard ends.
    pub fn into_key(self) -> K {
        let VacantEntry { hold, base } = self;
        drop(hold); // released before the real unlock
        base.into_key()
    }

    /// The key given to `entry`.
    pub fn key(&self) -> &K {
        self.hold.touch();
        self.base.key()
    }
}

/// An entry whose key is in the map. See `dashmap::mapref::entry::OccupiedEntry`.
pub struct OccupiedEntry<'a, K, V> {
    hold: Hold<'a>,
    /// The tag of the check the entry's making recorded (0: none): a write through the entry
    /// spends it (see `Call::check_entry`). Kept here, not in the hold, which every guard
    /// carries.
    spends: u64,
    base: BaseOccupied<'a, K, V>,
}

impl<'a, K: Eq + Hash, V> OccupiedEntry<'a, K, V> {
    /// The value.
    pub fn get(&self) -> &V {
        self.hold.touch();
        let slot = self.base.get();
        self.hold.read_shared(&slot.cell, self.base.key());
        &slot.value
    }

    /// The value, mutably.
    #[inline(always)]
    pub fn get_mut(&mut self) -> &mut V {
        self.hold.touch();
        let key = self.base.key();
        self.hold
            .write_spending(&self.base.get().cell, key, self.spends);
        &mut self.base.get_mut().value
    }

    /// Replaces the value, returning the old one.
    pub fn insert(&mut self, value: V) -> V {
        std::mem::replace(self.get_mut(), value)
    }

    /// A guard on the value, holding the same shard.
    #[inline(always)]
    pub fn into_ref(self) -> RefMut<'a, K, V> {
        let OccupiedEntry { hold, spends, base } = self;
        hold.touch();
        hold.write_spending(&base.get().cell, base.key(), spends);
        RefMut::new(hold, base.into_ref())
    }

    /// The key given to `entry` (not the one in the map); the guard ends.
    pub fn into_key(self) -> K {
        let OccupiedEntry { hold, base, .. } = self;
        drop(hold); // released before the real unlock
        base.into_key()
    }

    /// The key in the map.
    pub fn key(&self) -> &K {
        self.hold.touch();
        self.base.key()
    }

    /// Removes the entry, returning its value; the guard ends.
    pub fn remove(self) -> V {
        self.remove_entry().1
    }

    /// Removes the entry, returning its key and value; the guard ends.
    pub fn remove_entry(self) -> (K, V) {
        let OccupiedEntry { hold, spends, base } = self;
        hold.touch();
        hold.write_spending(&base.get().cell, base.key(), spends);
        drop(hold); // released before the real unlock, which `remove_entry` makes
        let (key, slot) = base.remove_entry();
        (key, slot.value)
    }

    /// Replaces the key and value with the key given to `entry` and `value`, returning the old
    /// ones; the guard ends.
    pub fn replace_entry(self, value: V) -> (K, V) {
        let OccupiedEntry { hold, spends, base } = self;
        hold.touch();
        hold.write_spending(&base.get().cell, base.key(), spends);
        let cell = hold.new_cell();
        drop(hold);
        let (key, slot) = base.replace_entry(Stored { value, cell });
        (key, slot.value)
    }
}
