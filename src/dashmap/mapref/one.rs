//! Guards on one entry: [`Ref`] (from `get`: the shard shared), [`RefMut`] (from `get_mut`,
//! `entry`, `insert` through an entry: the shard exclusively), and their projections
//! [`MappedRef`], [`MappedRefMut`]. See `dashmap::mapref::one`.
//!
//! Each guard holds its shard's lock until it is dropped: while it lives, a call on the same map
//! that needs the shard in a conflicting mode is reported as a deadlock. The guards are `Send`
//! and `Sync` when dashmap's are: a guard belongs to the thread that last used it.

use crate::rt::dashmap::Hold;
use crate::rt::map::Stored;
use std::fmt::{self, Debug, Formatter};
use std::hash::Hash;

type BaseRef<'a, K, V> = ::dashmap::mapref::one::Ref<'a, K, Stored<V>>;
type BaseRefMut<'a, K, V> = ::dashmap::mapref::one::RefMut<'a, K, Stored<V>>;
type BaseMappedRef<'a, K, V, T> = ::dashmap::mapref::one::MappedRef<'a, K, Stored<V>, T>;
type BaseMappedRefMut<'a, K, V, T> = ::dashmap::mapref::one::MappedRefMut<'a, K, Stored<V>, T>;

guard_access!(Ref, V, "The entry's value.");
guard_access!(mut RefMut, V, "The entry's value");
guard_access!(MappedRef<T>, T, "The part of the value.");
guard_access!(mut MappedRefMut<T>, T, "The part of the value");

/// A shared guard on one entry. See `dashmap::mapref::one::Ref`.
///
/// ```
/// let map = maprace::DashMap::new();
/// map.insert("ada", 36);
/// let age: maprace::dashmap::mapref::one::Ref<'_, &str, u32> = map.get("ada").unwrap();
/// assert_eq!((*age.key(), *age), ("ada", 36));
/// ```
// `hold` first: it releases before dashmap's guard unlocks.
pub struct Ref<'a, K, V> {
    hold: Hold<'a>,
    base: BaseRef<'a, K, V>,
}

impl<'a, K: Eq + Hash, V> Ref<'a, K, V> {
    pub(crate) fn new(hold: Hold<'a>, base: BaseRef<'a, K, V>) -> Self {
        Ref { hold, base }
    }

    /// The entry's key and value.
    pub fn pair(&self) -> (&K, &V) {
        self.hold.touch();
        let (k, slot) = self.base.pair();
        (k, &slot.value)
    }

    /// A guard on a part of the value, holding the same shard.
    pub fn map<F, T>(self, f: F) -> MappedRef<'a, K, V, T>
    where
        F: FnOnce(&V) -> &T,
    {
        self.hold.touch();
        let Ref { hold, base } = self;
        MappedRef {
            hold,
            base: base.map(|slot| f(&slot.value)),
        }
    }

    /// A guard on a part of the value if `f` finds one, else the guard back.
    pub fn try_map<F, T>(self, f: F) -> Result<MappedRef<'a, K, V, T>, Self>
    where
        F: FnOnce(&V) -> Option<&T>,
    {
        self.hold.touch();
        let Ref { hold, base } = self;
        match base.try_map(|slot| f(&slot.value)) {
            Ok(base) => Ok(MappedRef { hold, base }),
            Err(base) => Err(Ref { hold, base }),
        }
    }
}

impl<K: Eq + Hash + Debug, V: Debug> Debug for Ref<'_, K, V> {
    /// As dashmap prints it (the key's and the value's addresses).
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (k, v) = self.pair();
        f.debug_struct("Ref")
            .field("k", &(k as *const K))
            .field("v", &(v as *const V))
            .finish()
    }
}

/// An exclusive guard on one entry. See `dashmap::mapref::one::RefMut`.
///
/// ```
/// let map = maprace::DashMap::new();
/// map.insert("ada", 36);
/// *map.get_mut("ada").unwrap() += 1;
/// assert_eq!(*map.get("ada").unwrap(), 37);
/// ```
pub struct RefMut<'a, K, V> {
    hold: Hold<'a>,
    base: BaseRefMut<'a, K, V>,
}

impl<'a, K: Eq + Hash, V> RefMut<'a, K, V> {
    pub(crate) fn new(hold: Hold<'a>, base: BaseRefMut<'a, K, V>) -> Self {
        RefMut { hold, base }
    }

    /// The entry's key and value.
    pub fn pair(&self) -> (&K, &V) {
        self.hold.touch();
        let (k, slot) = self.base.pair();
        (k, &slot.value)
    }

    /// The entry's key and value, mutably.
    pub fn pair_mut(&mut self) -> (&K, &mut V) {
        self.hold.touch();
        let (k, slot) = self.base.pair_mut();
        (k, &mut slot.value)
    }

    /// The guard becomes a shared one: other readers may take the shard from now on.
    pub fn downgrade(self) -> Ref<'a, K, V> {
        let RefMut { mut hold, base } = self;
        hold.downgrade();
        Ref {
            hold,
            base: base.downgrade(),
        }
    }

    /// A guard on a part of the value, holding the same shard.
    pub fn map<F, T>(self, f: F) -> MappedRefMut<'a, K, V, T>
    where
        F: FnOnce(&mut V) -> &mut T,
    {
        self.hold.touch();
        let RefMut { hold, base } = self;
        MappedRefMut {
            hold,
            base: base.map(|slot| f(&mut slot.value)),
        }
    }

    /// A guard on a part of the value if `f` finds one, else the guard back.
    pub fn try_map<F, T>(self, f: F) -> Result<MappedRefMut<'a, K, V, T>, Self>
    where
        F: FnOnce(&mut V) -> Option<&mut T>,
    {
        self.hold.touch();
        let RefMut { hold, base } = self;
        match base.try_map(|slot| f(&mut slot.value)) {
            Ok(base) => Ok(MappedRefMut { hold, base }),
            Err(base) => Err(RefMut { hold, base }),
        }
    }
}

impl<K: Eq + Hash + Debug, V: Debug> Debug for RefMut<'_, K, V> {
    /// As dashmap prints it (the key's and the value's addresses).
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (k, v) = self.pair();
        f.debug_struct("RefMut")
            .field("k", &(k as *const K))
            .field("v", &(v as *const V))
            .finish()
    }
}

/// A shared guard on a part of one entry's value. See `dashmap::mapref::one::MappedRef`.
pub struct MappedRef<'a, K, V, T> {
    hold: Hold<'a>,
    base: BaseMappedRef<'a, K, V, T>,
}

impl<'a, K: Eq + Hash, V, T> MappedRef<'a, K, V, T> {
    /// The entry's key and the part of its value.
    pub fn pair(&self) -> (&K, &T) {
        self.hold.touch();
        self.base.pair()
    }

    /// A guard on a part of this part.
    pub fn map<F, T2>(self, f: F) -> MappedRef<'a, K, V, T2>
    where
        F: FnOnce(&T) -> &T2,
    {
        self.hold.touch();
        let MappedRef { hold, base } = self;
        MappedRef {
            hold,
            base: base.map(f),
        }
    }

    /// A guard on a part of this part if `f` finds one, else the guard back.
    pub fn try_map<F, T2>(self, f: F) -> Result<MappedRef<'a, K, V, T2>, Self>
    where
        F: FnOnce(&T) -> Option<&T2>,
    {
        self.hold.touch();
        let MappedRef { hold, base } = self;
        match base.try_map(f) {
            Ok(base) => Ok(MappedRef { hold, base }),
            Err(base) => Err(MappedRef { hold, base }),
        }
    }
}

impl<K: Eq + Hash + Debug, V, T: Debug> Debug for MappedRef<'_, K, V, T> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (k, v) = self.pair();
        f.debug_struct("MappedRef")
            .field("k", &(k as *const K))
            .field("v", &(v as *const T))
            .finish()
    }
}

impl<K: Eq + Hash, V, T: fmt::Display> fmt::Display for MappedRef<'_, K, V, T> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.value(), f)
    }
}

impl<K: Eq + Hash, V, T: AsRef<TDeref>, TDeref: ?Sized> AsRef<TDeref> for MappedRef<'_, K, V, T> {
    fn as_ref(&self) -> &TDeref {
        self.value().as_ref()
    }
}

/// An exclusive guard on a part of one entry's value. See `dashmap::mapref::one::MappedRefMut`.
pub struct MappedRefMut<'a, K, V, T> {
    hold: Hold<'a>,
    base: BaseMappedRefMut<'a, K, V, T>,
}

impl<'a, K: Eq + Hash, V, T> MappedRefMut<'a, K, V, T> {
    /// The entry's key and the part of its value.
    pub fn pair(&self) -> (&K, &T) {
        self.hold.touch();
        self.base.pair()
    }

    /// The entry's key and the part of its value, mutably.
    pub fn pair_mut(&mut self) -> (&K, &mut T) {
        self.hold.touch();
        self.base.pair_mut()
    }

    /// A guard on a part of this part.
    pub fn map<F, T2>(self, f: F) -> MappedRefMut<'a, K, V, T2>
    where
        F: FnOnce(&mut T) -> &mut T2,
    {
        self.hold.touch();
        let MappedRefMut { hold, base } = self;
        MappedRefMut {
            hold,
            base: base.map(f),
        }
    }

    /// A guard on a part of this part if `f` finds one, else the guard back.
    pub fn try_map<F, T2>(self, f: F) -> Result<MappedRefMut<'a, K, V, T2>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut T2>,
    {
        self.hold.touch();
        let MappedRefMut { hold, base } = self;
        match base.try_map(f) {
            Ok(base) => Ok(MappedRefMut { hold, base }),
            Err(base) => Err(MappedRefMut { hold, base }),
        }
    }
}

impl<K: Eq + Hash + Debug, V, T: Debug> Debug for MappedRefMut<'_, K, V, T> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (k, v) = self.pair();
        f.debug_struct("MappedRefMut")
            .field("k", &(k as *const K))
            .field("v", &(v as *const T))
            .finish()
    }
}
