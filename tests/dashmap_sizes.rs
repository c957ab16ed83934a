//! The DashMap guards' sizes, `u64 -> u64`. A guard is returned by value and copied through
//! the stack as it passes up and down the user's calls: each byte beyond dashmap's own guard
//! costs time that instruction counts do not show (stores of the guard being built, read back
//! by wider loads that cannot be forwarded from them). These pin the sizes, so that one that
//! grows is a decision, not an accident.

#![cfg(feature = "dashmap")]

use std::mem::size_of;

type Map = maprace::dashmap::mapref::one::Ref<'static, u64, u64>;
type MapMut = maprace::dashmap::mapref::one::RefMut<'static, u64, u64>;
type Entry = maprace::dashmap::mapref::entry::Entry<'static, u64, u64>;
type Occupied = maprace::dashmap::mapref::entry::OccupiedEntry<'static, u64, u64>;
type Vacant = maprace::dashmap::mapref::entry::VacantEntry<'static, u64, u64>;

/// dashmap 6's own guards' sizes: Ref, RefMut, Entry, OccupiedEntry, VacantEntry.
const DASHMAPS: [usize; 5] = [24, 24, 32, 24, 32];

/// dashmap's own guards, for the record: the mirror's add its `Hold` to each.
#[test]
fn dashmaps_own_guards() {
    use dashmap::mapref::{entry, one};
    let sizes = [
        size_of::<one::Ref<'static, u64, u64>>(),
        size_of::<one::RefMut<'static, u64, u64>>(),
        size_of::<entry::Entry<'static, u64, u64>>(),
        size_of::<entry::OccupiedEntry<'static, u64, u64>>(),
        size_of::<entry::VacantEntry<'static, u64, u64>>(),
    ];
    assert_eq!(sizes, DASHMAPS, "Ref, RefMut, Entry, Occupied, Vacant");
}

/// With the detector compiled out, the mirror's guards are dashmap's own.
#[test]
fn the_mirrors_guards() {
    let sizes = [
        size_of::<Map>(),
        size_of::<MapMut>(),
        size_of::<Entry>(),
        size_of::<Occupied>(),
        size_of::<Vacant>(),
    ];
    let expected = if maprace::COMPILED_IN {
        [72, 72, 88, 80, 80]
    } else {
        DASHMAPS
    };
    assert_eq!(sizes, expected, "Ref, RefMut, Entry, Occupied, Vacant");
}
