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
        [64, 64, 80, 72, 72]
    } else {
        DASHMAPS
    };
    assert_eq!(sizes, expected, "Ref, RefMut, Entry, Occupied, Vacant");
}

// ---------------------------------------------------------------------------------------------
// A guard keeps its shard in 16 bits: a map of more shards is refused, with a clear error, and
// a guard on the last shard of the most a map may have keeps its shard whole.

mod common;
use std::hash::{BuildHasherDefault, Hasher};

/// `u64` keys hashed to themselves, so that a test picks a key's shard: with `2^16` shards,
/// dashmap's shard is bits 41 to 56 of the hash.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys")
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Identical = BuildHasherDefault<Identity>;

#[test]
fn a_map_of_more_than_65536_shards_is_refused_with_a_clear_error() {
    let made = std::panic::catch_unwind(|| {
        maprace::DashMap::<u64, u64, Identical>::with_hasher_and_shard_amount(
            Identical::default(),
            1 << 17,
        )
        .len()
    });
    if maprace::COMPILED_IN {
        let error = made.expect_err("a map of 2^17 shards");
        let message = error
            .downcast_ref::<String>()
            .expect("a formatted panic message");
        assert_eq!(
            message,
            "maprace::DashMap takes at most 65536 shards (a guard keeps its shard in 16 bits), \
             not 131072"
        );
    } else {
        assert_eq!(made.ok(), Some(0), "dashmap itself takes them");
    }
}

/// The key on the last of `2^16` shards.
const LAST: u64 = 0xFFFF << 41;

scenario!(
    a_guard_on_the_last_of_65536_shards_and_a_call_on_it_are_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let map = maprace::DashMap::<u64, u64, Identical>::with_hasher_and_shard_amount(
            Identical::default(),
            1 << 16,
        );
        map.insert(LAST, 1);
        let mut r = at!("guard", map.get_mut(&LAST)).unwrap();
        *r += 1;
        at!("call", map.get(&LAST));
    },
    |out| {
        out.assert_deadlock_or_hang(&format!("Get (shared) of key {LAST}"), &["guard"]);
        if maprace::COMPILED_IN {
            let held = "Guard exclusive on shard 65535 of map#1";
            assert!(out.stderr.contains(held), "{held:?} in\n{}", out.stderr);
        }
    }
);

scenario!(
    a_guard_on_the_last_of_65536_shards_dropped_before_the_call_runs_clean,
    {
        let map = maprace::DashMap::<u64, u64, Identical>::with_hasher_and_shard_amount(
            Identical::default(),
            1 << 16,
        );
        map.insert(LAST, 1);
        let mut r = map.get_mut(&LAST).unwrap();
        *r += 1;
        drop(r);
        assert_eq!(*map.get(&LAST).unwrap(), 2);
    },
    |out| out.assert_clean()
);

scenario!(
    a_write_on_the_last_of_65536_shards_is_released_to_that_shard,
    {
        // The order is the shard's lock alone (the flag is a std atomic, which maprace does
        // not see): the reader is ordered after the writer only through the clock of the shard
        // the writer's guard released, which must be the key's.
        use std::sync::atomic::{AtomicBool, Ordering};
        let map = maprace::DashMap::<u64, u64, Identical>::with_hasher_and_shard_amount(
            Identical::default(),
            1 << 16,
        );
        map.insert(LAST, 1);
        let written = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                *map.get_mut(&LAST).unwrap() += 1;
                written.store(true, Ordering::Release);
            });
            s.spawn(|| {
                while !written.load(Ordering::Acquire) {
                    std::thread::yield_now();
                }
                assert_eq!(*map.get(&LAST).unwrap(), 2);
            });
        });
    },
    |out| out.assert_clean()
);
