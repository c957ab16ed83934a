//! The tracked map behaves exactly like std's: same results, same contents, same panics.

// Every form of the API is called on purpose, also where a shorter one exists.
#![allow(
    clippy::iter_count,
    clippy::for_kv_map,
    clippy::into_iter_on_ref,
    clippy::iter_kv_map
)]

mod common;

use proptest::prelude::*;
use std::collections::HashMap as StdMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher, Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};

#[derive(Debug, Clone)]
enum Op {
    Insert(u8, u16),
    Get(u8),
    GetMut(u8, u16),
    GetKeyValue(u8),
    ContainsKey(u8),
    Remove(u8),
    RemoveEntry(u8),
    EntryOrInsert(u8, u16),
    EntryAndModify(u8),
    EntryInsertEntry(u8, u16),
    OccupiedRemove(u8),
    GetDisjointMut(u8, u8),
    Retain(u16),
    ExtractIf(u16),
    Extend(Vec<(u8, u16)>),
    Drain,
    Clear,
    Reserve(u8),
    ShrinkToFit,
    ValuesMut,
    CloneEq,
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0u8..24;
    prop_oneof![
        4 => (key.clone(), any::<u16>()).prop_map(|(k, v)| Op::Insert(k, v)),
        2 => key.clone().prop_map(Op::Get),
        1 => (key.clone(), any::<u16>()).prop_map(|(k, v)| Op::GetMut(k, v)),
        1 => key.clone().prop_map(Op::GetKeyValue),
        1 => key.clone().prop_map(Op::ContainsKey),
        2 => key.clone().prop_map(Op::Remove),
        1 => key.clone().prop_map(Op::RemoveEntry),
        2 => (key.clone(), any::<u16>()).prop_map(|(k, v)| Op::EntryOrInsert(k, v)),
        1 => key.clone().prop_map(Op::EntryAndModify),
        1 => (key.clone(), any::<u16>()).prop_map(|(k, v)| Op::EntryInsertEntry(k, v)),
        1 => key.clone().prop_map(Op::OccupiedRemove),
        1 => (key.clone(), key.clone()).prop_map(|(a, b)| Op::GetDisjointMut(a, b)),
        1 => any::<u16>().prop_map(Op::Retain),
        1 => any::<u16>().prop_map(Op::ExtractIf),
        1 => prop::collection::vec((key.clone(), any::<u16>()), 0..6).prop_map(Op::Extend),
        1 => Just(Op::Drain),
        1 => Just(Op::Clear),
        1 => any::<u8>().prop_map(Op::Reserve),
        1 => Just(Op::ShrinkToFit),
        1 => Just(Op::ValuesMut),
        1 => Just(Op::CloneEq),
    ]
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// A key type for the tests: `u8`, or a key that counts the calls made to its `Hash` and `Eq`.
trait Key: Copy + Eq + Hash + Ord + std::fmt::Debug + From<u8> {}

impl Key for u8 {}

/// A key whose `Hash` and `Eq` calls are counted (per thread): how many a map makes is part of
/// the behaviour a panicking or counting `Eq` sees (issue 10, point 18).
#[derive(Clone, Copy, PartialOrd, Ord, Debug)]
struct Counted(u8);

thread_local! {
    static CALLS: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

impl From<u8> for Counted {
    fn from(k: u8) -> Counted {
        Counted(k)
    }
}

impl Hash for Counted {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let (hashes, eqs) = CALLS.get();
        CALLS.set((hashes + 1, eqs));
        self.0.hash(state);
    }
}

impl PartialEq for Counted {
    fn eq(&self, other: &Counted) -> bool {
        let (hashes, eqs) = CALLS.get();
        CALLS.set((hashes, eqs + 1));
        self.0 == other.0
    }
}

impl Eq for Counted {}

impl Key for Counted {}

/// Runs `f` and says what it returned, with the `Hash` and `Eq` calls it made.
fn counting(f: impl FnOnce() -> String) -> String {
    let (hashes, eqs) = CALLS.get();
    let result = f();
    let (after_hashes, after_eqs) = CALLS.get();
    format!(
        "{result} (hash calls {}, eq calls {})",
        after_hashes - hashes,
        after_eqs - eqs
    )
}

/// Applies `op` to both maps and returns both results, rendered as text with the `Hash` and
/// `Eq` calls each map made.
fn apply<K: Key, S: BuildHasher + Clone>(
    op: &Op,
    std: &mut StdMap<K, u16, S>,
    ours: &mut maprace::HashMap<K, u16, S>,
) -> (String, String) {
    macro_rules! both {
        (|$m:ident| $e:expr) => {{
            let a = counting(|| {
                let $m = &mut *std;
                format!("{:?}", $e)
            });
            let b = counting(|| {
                let $m = &mut *ours;
                format!("{:?}", $e)
            });
            (a, b)
        }};
    }
    let key = K::from;
    match *op {
        Op::Insert(k, v) => both!(|m| m.insert(key(k), v)),
        Op::Get(k) => both!(|m| m.get(&key(k)).copied()),
        Op::GetMut(k, v) => both!(|m| m.get_mut(&key(k)).map(|x| std::mem::replace(x, v))),
        Op::GetKeyValue(k) => both!(|m| m.get_key_value(&key(k)).map(|(a, b)| (*a, *b))),
        Op::ContainsKey(k) => both!(|m| m.contains_key(&key(k))),
        Op::Remove(k) => both!(|m| m.remove(&key(k))),
        Op::RemoveEntry(k) => both!(|m| m.remove_entry(&key(k))),
        Op::EntryOrInsert(k, v) => both!(|m| *m.entry(key(k)).or_insert(v)),
        Op::EntryAndModify(k) => both!(|m| *m
            .entry(key(k))
            .and_modify(|x| *x = x.wrapping_add(1))
            .or_default()),
        Op::EntryInsertEntry(k, v) => both!(|m| {
            let e = m.entry(key(k)).insert_entry(v);
            (*e.key(), *e.get())
        }),
        Op::OccupiedRemove(k) => (
            counting(|| {
                format!(
                    "{:?}",
                    match std.entry(key(k)) {
                        std::collections::hash_map::Entry::Occupied(o) => Some(o.remove_entry()),
                        std::collections::hash_map::Entry::Vacant(v) => Some((v.into_key(), 0)),
                    }
                )
            }),
            counting(|| {
                format!(
                    "{:?}",
                    match ours.entry(key(k)) {
                        maprace::collections::hash_map::Entry::Occupied(o) => {
                            Some(o.remove_entry())
                        }
                        maprace::collections::hash_map::Entry::Vacant(v) => {
                            Some((v.into_key(), 0))
                        }
                    }
                )
            }),
        ),
        Op::GetDisjointMut(a, b) if a != b => both!(|m| {
            let [x, y] = m.get_disjoint_mut([&key(a), &key(b)]);
            (x.map(|v| *v), y.map(|v| *v))
        }),
        Op::GetDisjointMut(..) => (String::new(), String::new()),
        Op::Retain(t) => both!(|m| m.retain(|_, v| *v < t)),
        Op::ExtractIf(t) => both!(|m| sorted(m.extract_if(|_, v| *v > t).collect::<Vec<_>>())),
        Op::Extend(ref items) => both!(|m| m.extend(items.iter().map(|&(k, v)| (key(k), v)))),
        Op::Drain => both!(|m| sorted(m.drain().collect::<Vec<_>>())),
        Op::Clear => both!(|m| m.clear()),
        Op::Reserve(n) => both!(|m| m.reserve(n as usize)),
        Op::ShrinkToFit => both!(|m| m.shrink_to_fit()),
        Op::ValuesMut => both!(|m| m.values_mut().for_each(|v| *v = v.wrapping_mul(3))),
        Op::CloneEq => both!(|m| {
            let copy = m.clone();
            copy == *m && copy.len() == m.len()
        }),
    }
}

/// Runs `ops` on std's map and the tracked one, each with the hasher `S::default()`: the same
/// results, the same `Hash` and `Eq` calls, the same length and capacity after each, and the
/// same contents at the end. (With `RandomState` the two maps hash differently, so which keys
/// collide, and the `Eq` calls that follow, differ: call counts are compared with one hasher.)
fn same_as_std<K: Key, S: BuildHasher + Default + Clone>(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut std: StdMap<K, u16, S> = StdMap::with_hasher(S::default());
    let mut ours = maprace::HashMap::with_hasher(S::default());
    for op in ops {
        let (expected, got) = apply(op, &mut std, &mut ours);
        prop_assert_eq!(&expected, &got, "after {:?}", op);
        prop_assert_eq!(std.len(), ours.len());
        prop_assert_eq!(std.capacity(), ours.capacity(), "capacity after {:?}", op);
    }
    let mut expected: Vec<_> = std.iter().map(|(k, v)| (*k, *v)).collect();
    let mut got: Vec<_> = ours.iter().map(|(k, v)| (*k, *v)).collect();
    expected.sort();
    got.sort();
    prop_assert_eq!(&expected, &got);
    let mut keys: Vec<_> = ours.keys().copied().collect();
    keys.sort();
    prop_assert_eq!(keys, expected.iter().map(|(k, _)| *k).collect::<Vec<_>>());
    let mut owned: Vec<_> = ours.into_iter().collect();
    owned.sort();
    prop_assert_eq!(owned, expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_operation_sequences_give_std_results(ops in prop::collection::vec(op(), 1..60)) {
        same_as_std::<u8, std::hash::RandomState>(&ops)?;
    }

    /// Issue 10, point 18: the same calls to the key's `Hash` and `Eq` as std's map, and the
    /// same capacities (a full table grows on an insert even over a present key, as std's).
    #[test]
    fn random_operation_sequences_make_std_calls_and_capacities(
        ops in prop::collection::vec(op(), 1..60)
    ) {
        same_as_std::<Counted, BuildHasherDefault<DefaultHasher>>(&ops)?;
    }
}

#[test]
fn the_rest_of_the_api_matches_std() {
    let pairs = [(1u8, "a"), (2, "b"), (3, "c")];
    let std = StdMap::from(pairs);
    let ours = maprace::HashMap::from(pairs);
    assert_eq!(ours.len(), std.len());
    assert_eq!(ours[&2], std[&2]);
    let collected: maprace::HashMap<u8, &str> = pairs.into_iter().collect();
    assert_eq!(collected, ours);
    let mut by_ref = maprace::HashMap::new();
    by_ref.extend(pairs.iter().map(|(k, v)| (k, v)));
    assert_eq!(by_ref, ours);
    assert_eq!(sorted(ours.clone().into_keys().collect()), vec![1, 2, 3]);
    assert_eq!(
        sorted(ours.clone().into_values().collect()),
        vec!["a", "b", "c"]
    );
    assert_eq!(format!("{:?}", maprace::HashMap::from([(1, 2)])), "{1: 2}");
    let mut with_hasher =
        maprace::HashMap::with_capacity_and_hasher(10, std::hash::RandomState::new());
    assert!(with_hasher.capacity() >= 10);
    with_hasher.insert(1, 1);
    assert!(with_hasher.try_reserve(5).is_ok());
    with_hasher.shrink_to(0);
    assert_eq!(with_hasher.iter().count(), 1);
    let _: &std::hash::RandomState = with_hasher.hasher();
    let default: maprace::HashMap<u8, u8> = Default::default();
    assert!(default.is_empty());
    let mut m = maprace::HashMap::new();
    match m.entry("k") {
        maprace::collections::hash_map::Entry::Vacant(v) => {
            assert_eq!(*v.key(), "k");
            *v.insert(1) += 1;
        }
        maprace::collections::hash_map::Entry::Occupied(_) => unreachable!(),
    }
    assert_eq!(*m.entry("k").or_insert_with(|| 9), 2);
    assert_eq!(*m.entry("j").or_insert_with_key(|k| k.len()), 1);
    for (_, v) in &mut m {
        *v *= 10;
    }
    assert_eq!(
        sorted((&m).into_iter().map(|(k, v)| (*k, *v)).collect()),
        vec![("j", 10), ("k", 20)]
    );
}

#[test]
#[should_panic(expected = "no entry found for key")]
fn indexing_a_missing_key_panics_like_std() {
    let m: maprace::HashMap<u8, u8> = maprace::HashMap::new();
    let _ = m[&1];
}

/// A key whose `Hash` panics once its `bomb` is armed.
#[derive(PartialEq, Eq, Debug, Clone)]
struct Fragile(u32);

thread_local! {
    static ARMED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Hash for Fragile {
    fn hash<H: Hasher>(&self, state: &mut H) {
        if ARMED.get() && self.0 % 7 == 3 {
            panic!("Fragile::hash");
        }
        self.0.hash(state);
    }
}

scenario!(
    a_panicking_hash_leaves_the_map_and_the_detector_usable,
    {
        let mut std = StdMap::new();
        let mut ours = maprace::HashMap::new();
        for k in 0..20 {
            std.insert(Fragile(k), k);
            ours.insert(Fragile(k), k);
        }
        ARMED.set(true);
        // A growth rehashes every key: the panic comes from inside the structure write.
        for k in 20..200 {
            let a = catch_unwind(AssertUnwindSafe(|| std.insert(Fragile(k), k)));
            let b = catch_unwind(AssertUnwindSafe(|| ours.insert(Fragile(k), k)));
            assert_eq!(a.is_err(), b.is_err(), "key {k}");
            assert_eq!(std.len(), ours.len(), "key {k}");
        }
        ARMED.set(false);
        let mut expected: Vec<_> = std.iter().map(|(k, v)| (k.0, *v)).collect();
        let mut got: Vec<_> = ours.iter().map(|(k, v)| (k.0, *v)).collect();
        expected.sort();
        got.sort();
        assert_eq!(expected, got);
        // The detector is still usable: another thread (joined) uses the map with no report of an
        // access "still in progress".
        let shared = common::Shared(&mut ours as *mut maprace::HashMap<Fragile, u32>);
        std::thread::spawn(move || {
            let shared = shared;
            shared.get().insert(Fragile(1000), 1);
            assert_eq!(shared.get().get(&Fragile(1)), Some(&1));
        })
        .join()
        .unwrap();
        assert_eq!(ours.len(), std.len() + 1);
    },
    |out| out.assert_clean()
);

scenario!(
    two_hundred_threads_spawned_and_joined_one_after_another_run_clean,
    {
        let mut map = maprace::HashMap::new();
        let shared = common::Shared(&mut map as *mut maprace::HashMap<u32, u32>);
        for t in 0..200u32 {
            std::thread::spawn(move || {
                let shared = shared;
                let m = shared.get();
                m.insert(t, t);
                if t > 0 {
                    assert_eq!(m.get(&(t - 1)), Some(&(t - 1)));
                }
                *m.entry(0).or_insert(0) += 0;
                assert_eq!(m.len() as u32, t + 1);
            })
            .join()
            .unwrap();
        }
        assert_eq!(map.len(), 200);
    },
    |out| out.assert_clean()
);
