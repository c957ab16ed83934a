//! `BTreeMap` with the detector off at run time (`enabled=0`): `insert` and `remove` run std's
//! own operation, so they compare keys exactly as often as std's map does (before, `remove`
//! searched the tree twice even with the detector off), keep std's results (an insert over a
//! key keeps the old key), and report nothing. With the detector on, the same races are
//! reported (the twins at the end).

mod common;
use common::Side;

use std::cell::Cell;
use std::cmp::Ordering;

thread_local! {
    /// Comparisons made by `Counted` keys on this thread.
    static COMPARISONS: Cell<u64> = const { Cell::new(0) };
}

/// A key that counts its comparisons, and carries a tag that equality ignores (to tell which
/// of two equal keys a map kept).
#[derive(Clone, Copy, Debug)]
struct Counted {
    key: u32,
    tag: u32,
}

impl PartialEq for Counted {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Counted {}

impl PartialOrd for Counted {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Counted {
    fn cmp(&self, other: &Self) -> Ordering {
        COMPARISONS.set(COMPARISONS.get() + 1);
        self.key.cmp(&other.key)
    }
}

/// The comparisons `f` makes.
fn comparisons<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = COMPARISONS.get();
    let result = f();
    (result, COMPARISONS.get() - before)
}

fn key(key: u32) -> Counted {
    Counted { key, tag: 0 }
}

/// The same inserts and removes on std's map and on maprace's, each compared for its result
/// and its number of key comparisons.
fn same_as_std() {
    let mut std_map = std::collections::BTreeMap::new();
    let mut map = maprace::BTreeMap::new();
    // Enough keys for a tree of two levels (a node holds 11).
    let order: Vec<u32> = (0..200u32).map(|i| i.wrapping_mul(7919) % 200).collect();
    for &k in &order {
        let (theirs, std_count) = comparisons(|| std_map.insert(key(k), k));
        let (ours, count) = comparisons(|| map.insert(key(k), k));
        assert_eq!(ours, theirs, "insert {k}");
        assert_eq!(count, std_count, "comparisons of insert {k}");
    }
    // Over an existing key: the value is replaced, the old key kept.
    let (theirs, std_count) = comparisons(|| std_map.insert(Counted { key: 5, tag: 1 }, 50));
    let (ours, count) = comparisons(|| map.insert(Counted { key: 5, tag: 1 }, 50));
    assert_eq!((ours, count), (theirs, std_count), "insert over key 5");
    assert_eq!(
        map.get_key_value(&key(5)).map(|(k, v)| (k.tag, *v)),
        Some((0, 50))
    );
    for k in (0..220u32).rev() {
        let (theirs, std_count) = comparisons(|| std_map.remove(&key(k)));
        let (ours, count) = comparisons(|| map.remove(&key(k)));
        assert_eq!(ours, theirs, "remove {k}");
        assert_eq!(count, std_count, "comparisons of remove {k}");
    }
    let (theirs, std_count) = comparisons(|| std_map.remove_entry(&key(1)));
    let (ours, count) = comparisons(|| map.remove_entry(&key(1)));
    assert_eq!(
        (ours, count),
        (theirs, std_count),
        "remove_entry of an absent key"
    );
    assert!(map.is_empty());
}

scenario!(
    with_the_detector_off_insert_and_remove_compare_keys_as_std_does,
    options = "enabled=0",
    {
        same_as_std();
    },
    |out| out.assert_clean()
);

/// A race: an insert of a new key on "writer", then a remove on the test's thread.
fn insert_then_remove() {
    let mut map = maprace::BTreeMap::new();
    common::unordered(
        &mut map,
        |m| at!("previous", m.insert(1u32, 1u32)),
        |m| at!("current", m.remove(&1)),
    );
}

/// A race: an insert over a key on "writer", then another on the test's thread.
fn insert_then_insert() {
    let mut map = maprace::BTreeMap::new();
    map.insert(1u32, 0u32);
    common::unordered(
        &mut map,
        |m| at!("previous", m.insert(1, 1)),
        |m| at!("current", m.insert(1, 2)),
    );
}

scenario!(
    with_the_detector_off_a_racy_remove_is_not_reported,
    options = "enabled=0",
    {
        insert_then_remove();
        insert_then_insert();
    },
    |out| out.assert_clean()
);

scenario!(
    with_the_detector_on_the_same_remove_is_a_race,
    {
        insert_then_remove();
    },
    |out| {
        out.assert_race(
            Side {
                access: "Read (remove) of key 1 in map#1",
                thread: common::TEST_THREAD,
            },
            Side {
                access: "write (insert) of the map's structure",
                thread: "writer",
            },
        );
    }
);

scenario!(
    with_the_detector_on_the_same_insert_is_a_race,
    {
        insert_then_insert();
    },
    |out| {
        out.assert_race(
            Side {
                access: "Write (insert) of key 1 in map#1",
                thread: common::TEST_THREAD,
            },
            Side {
                access: "write (insert) of key 1",
                thread: "writer",
            },
        );
    }
);

scenario!(
    with_the_detector_on_the_same_accesses_after_a_join_run_clean,
    {
        let mut map = maprace::BTreeMap::new();
        common::joined(
            &mut map,
            |m| m.insert(1u32, 1u32),
            |m| assert_eq!(m.remove(&1), Some(1)),
        );
        map.insert(1, 0);
        common::joined(
            &mut map,
            |m| m.insert(1, 1),
            |m| assert_eq!(m.insert(1, 2), Some(1)),
        );
    },
    |out| out.assert_clean()
);
