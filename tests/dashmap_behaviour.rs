//! The tracked DashMap behaves exactly like dashmap's: same results, same contents, same
//! lengths and capacities, for random operation sequences (each guard dropped before the next
//! operation), and the rest of the API matches.

#![cfg(feature = "dashmap")]
// Every form of the API is called on purpose, also where a shorter one exists.
#![allow(clippy::iter_count)]

mod common;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::hash::{BuildHasherDefault, DefaultHasher};

/// One hasher for both maps, so that their shards and tables grow the same way.
type Fixed = BuildHasherDefault<DefaultHasher>;
type Theirs = dashmap::DashMap<u8, u16, Fixed>;
type Ours = maprace::DashMap<u8, u16, Fixed>;

#[derive(Debug, Clone)]
enum Op {
    Insert(u8, u16),
    Get(u8),
    GetMut(u8, u16),
    TryGet(u8),
    TryGetMut(u8, u16),
    ContainsKey(u8),
    Remove(u8),
    RemoveIf(u8, u16),
    RemoveIfMut(u8, u16),
    EntryOrInsert(u8, u16),
    EntryAndModify(u8),
    EntryInsertEntry(u8, u16),
    OccupiedRemove(u8),
    OccupiedReplace(u8, u16),
    TryEntry(u8, u16),
    Alter(u8),
    AlterAll,
    View(u8),
    Retain(u16),
    IterMut,
    Iter,
    Clear,
    ShrinkToFit,
    Extend(Vec<(u8, u16)>),
    Downgrade(u8),
    Map(u8),
    Clone,
    ReadOnly(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0u8..32;
    prop_oneof![
        6 => (key.clone(), any::<u16>()).prop_map(|(k, v)| Op::Insert(k, v)),
        2 => key.clone().prop_map(Op::Get),
        1 => (key.clone(), any::<u16>()).prop_map(|(k, v)| Op::GetMut(k, v)),
        1 => key.clone().prop_map(Op::TryGet),
        1 => (key.clone(), any::<u16>()).prop_map(|(k, v)| Op::TryGetMut(k, v)),
        1 => key.clone().prop_map(Op::ContainsKey),
        2 => key.clone().prop_map(Op::Remove),
        1 => (key.clone(), any::<u16>()).prop_map(|(k, v)| Op::RemoveIf(k, v)),
        1 => (key.clone(), any::<u16>()).prop_map(|(k, v)| Op::RemoveIfMut(k, v)),
        2 => (key.clone(), any::<u16>()).prop_map(|(k, v)| Op::EntryOrInsert(k, v)),
        1 => key.clone().prop_map(Op::EntryAndModify),
        1 => (key.clone(), any::<u16>()).prop_map(|(k, v)| Op::EntryInsertEntry(k, v)),
        1 => key.clone().prop_map(Op::OccupiedRemove),
        1 => (key.clone(), any::<u16>()).prop_map(|(k, v)| Op::OccupiedReplace(k, v)),
        1 => (key.clone(), any::<u16>()).prop_map(|(k, v)| Op::TryEntry(k, v)),
        1 => key.clone().prop_map(Op::Alter),
        1 => Just(Op::AlterAll),
        1 => key.clone().prop_map(Op::View),
        1 => any::<u16>().prop_map(Op::Retain),
        1 => Just(Op::IterMut),
        1 => Just(Op::Iter),
        1 => Just(Op::Clear),
        1 => Just(Op::ShrinkToFit),
        1 => prop::collection::vec((key.clone(), any::<u16>()), 0..6).prop_map(Op::Extend),
        1 => key.clone().prop_map(Op::Downgrade),
        1 => key.clone().prop_map(Op::Map),
        1 => Just(Op::Clone),
        1 => key.clone().prop_map(Op::ReadOnly),
    ]
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// What a `TryResult` was, with the value it gave.
fn tried<T: std::ops::Deref<Target = u16>>(
    r: dashmap::try_result::TryResult<T>,
) -> Result<Option<u16>, &'static str> {
    match r {
        dashmap::try_result::TryResult::Present(v) => Ok(Some(*v)),
        dashmap::try_result::TryResult::Absent => Ok(None),
        dashmap::try_result::TryResult::Locked => Err("locked"),
    }
}

/// Applies `op` to both maps (the same code, once per map type) and returns both results,
/// rendered as text.
fn apply(op: &Op, theirs: &mut Theirs, ours: &mut Ours) -> (String, String) {
    macro_rules! both {
        ($entry:ident, $try_result:path, |$m:ident| $e:expr) => {{
            #[allow(unused_imports)]
            let a = {
                use dashmap::mapref::entry as $entry;
                use $try_result as _;
                let $m = &mut *theirs;
                format!("{:?}", $e)
            };
            #[allow(unused_imports)]
            let b = {
                use maprace::dashmap::mapref::entry as $entry;
                let $m = &mut *ours;
                format!("{:?}", $e)
            };
            (a, b)
        }};
        (|$m:ident| $e:expr) => {
            both!(entry, dashmap::try_result::TryResult, |$m| $e)
        };
    }
    match *op {
        Op::Insert(k, v) => both!(|m| m.insert(k, v)),
        Op::Get(k) => both!(|m| m.get(&k).map(|r| (*r.key(), *r.value()))),
        Op::GetMut(k, v) => both!(|m| m.get_mut(&k).map(|mut r| std::mem::replace(&mut *r, v))),
        Op::TryGet(k) => both!(|m| tried(m.try_get(&k))),
        Op::TryGetMut(k, v) => both!(|m| {
            let old = tried(m.try_get(&k));
            if let Some(mut r) = m.try_get_mut(&k).try_unwrap() {
                *r = v;
            }
            old
        }),
        Op::ContainsKey(k) => both!(|m| m.contains_key(&k)),
        Op::Remove(k) => both!(|m| m.remove(&k)),
        Op::RemoveIf(k, t) => both!(|m| m.remove_if(&k, |_, v| *v < t)),
        Op::RemoveIfMut(k, t) => both!(|m| m.remove_if_mut(&k, |_, v| {
            *v = v.wrapping_add(1);
            *v > t
        })),
        Op::EntryOrInsert(k, v) => both!(|m| *m.entry(k).or_insert(v)),
        Op::EntryAndModify(k) => both!(|m| *m
            .entry(k)
            .and_modify(|x| *x = x.wrapping_add(1))
            .or_default()),
        Op::EntryInsertEntry(k, v) => both!(|m| {
            let e = m.entry(k).insert_entry(v);
            (*e.key(), *e.get())
        }),
        Op::OccupiedRemove(k) => both!(
            entry,
            dashmap::try_result::TryResult,
            |m| match m.entry(k) {
                entry::Entry::Occupied(o) => Some(o.remove_entry()),
                entry::Entry::Vacant(v) => Some((v.into_key(), 0)),
            }
        ),
        Op::OccupiedReplace(k, v) => both!(entry, dashmap::try_result::TryResult, |m| match m
            .entry(k)
        {
            entry::Entry::Occupied(o) => Some(o.replace_entry(v)),
            entry::Entry::Vacant(e) => {
                let r = e.insert(v);
                Some((*r.key(), *r.value()))
            }
        }),
        Op::TryEntry(k, v) => both!(|m| m.try_entry(k).map(|e| *e.or_insert(v))),
        Op::Alter(k) => both!(|m| {
            m.alter(&k, |_, v| v.wrapping_mul(5));
            m.get(&k).map(|r| *r)
        }),
        Op::AlterAll => both!(|m| m.alter_all(|k, v| v ^ u16::from(*k))),
        Op::View(k) => both!(|m| m.view(&k, |k, v| (*k, *v))),
        Op::Retain(t) => both!(|m| m.retain(|_, v| *v < t)),
        Op::IterMut => both!(|m| {
            for mut r in m.iter_mut() {
                *r = r.wrapping_add(7);
            }
            sorted(m.iter().map(|r| (*r.key(), *r.value())).collect::<Vec<_>>())
        }),
        Op::Iter => both!(|m| {
            let pairs: Vec<_> = m.iter().map(|r| *r.pair().0).collect();
            (
                pairs.len(),
                sorted(pairs),
                m.iter().count(),
                (&*m).into_iter().count(),
            )
        }),
        Op::Clear => both!(|m| m.clear()),
        Op::ShrinkToFit => both!(|m| {
            m.shrink_to_fit();
            m.capacity()
        }),
        Op::Extend(ref items) => both!(|m| m.extend(items.iter().copied())),
        Op::Downgrade(k) => both!(|m| {
            let shared = m.get_mut(&k).map(|mut r| {
                *r = r.wrapping_add(1);
                r.downgrade()
            });
            let seen = shared.as_ref().map(|r| **r);
            drop(shared);
            (seen, m.get(&k).map(|r| *r))
        }),
        Op::Map(k) => both!(|m| {
            let bytes = m.get(&k).map(|r| r.map(|v| v).to_string());
            let low = m
                .get_mut(&k)
                .and_then(|r| r.try_map(|v| (*v > 100).then_some(v)).ok())
                .map(|mut r| {
                    *r -= 1;
                    *r
                });
            (bytes, low)
        }),
        Op::Clone => both!(|m| {
            let copy = m.clone();
            (
                copy.len(),
                sorted(
                    copy.iter()
                        .map(|r| (*r.key(), *r.value()))
                        .collect::<Vec<_>>(),
                ),
            )
        }),
        Op::ReadOnly(k) => (
            {
                let view = std::mem::take(theirs).into_read_only();
                let seen = (view.get(&k).copied(), view.contains_key(&k), view.len());
                let seen = (
                    seen,
                    view.get_key_value(&k).map(|(a, b)| (*a, *b)),
                    sorted(view.keys().copied().collect::<Vec<_>>()),
                    sorted(view.values().copied().collect::<Vec<_>>()),
                    view.iter().count(),
                    view.is_empty(),
                    view.capacity(),
                );
                *theirs = view.into_inner();
                format!("{seen:?}")
            },
            {
                let view = std::mem::take(ours).into_read_only();
                let seen = (view.get(&k).copied(), view.contains_key(&k), view.len());
                let seen = (
                    seen,
                    view.get_key_value(&k).map(|(a, b)| (*a, *b)),
                    sorted(view.keys().copied().collect::<Vec<_>>()),
                    sorted(view.values().copied().collect::<Vec<_>>()),
                    view.iter().count(),
                    view.is_empty(),
                    view.capacity(),
                );
                *ours = view.into_inner();
                format!("{seen:?}")
            },
        ),
    }
}

fn contents(pairs: impl Iterator<Item = (u8, u16)>) -> Vec<(u8, u16)> {
    sorted(pairs.collect())
}

/// The sequence `ops` on both maps, checked after every operation.
fn same_results(shards: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut theirs = Theirs::with_hasher_and_shard_amount(Fixed::default(), shards);
    let mut ours = Ours::with_hasher_and_shard_amount(Fixed::default(), shards);
    for op in ops {
        let (expected, got) = apply(op, &mut theirs, &mut ours);
        prop_assert_eq!(&expected, &got, "after {:?}", op);
        prop_assert_eq!(theirs.len(), ours.len(), "len after {:?}", op);
        prop_assert_eq!(theirs.is_empty(), ours.is_empty());
        prop_assert_eq!(
            theirs.capacity(),
            ours.capacity(),
            "capacity after {:?}",
            op
        );
        prop_assert_eq!(
            contents(theirs.iter().map(|r| (*r.key(), *r.value()))),
            contents(ours.iter().map(|r| (*r.key(), *r.value()))),
            "contents after {:?}",
            op
        );
    }
    let expected = contents(theirs.into_iter());
    prop_assert_eq!(contents(ours.into_iter()), expected);
    Ok(())
}

fn sequences() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (
        prop::sample::select(vec![2usize, 4, 16]),
        prop::collection::vec(op(), 1..60),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_operation_sequences_give_dashmaps_results((shards, ops) in sequences()) {
        same_results(shards, &ops)?;
    }
}

// The same with the detector off at run time (`enabled=0`), where `get_mut`, `entry` and
// `contains_key` take a path of their own: dashmap's call, and a guard that keeps nothing.
scenario!(
    random_operation_sequences_give_dashmaps_results_with_the_detector_off,
    options = "enabled=0",
    {
        let config = ProptestConfig {
            cases: 128,
            ..ProptestConfig::default()
        };
        let mut runner = proptest::test_runner::TestRunner::new(config);
        let result = runner.run(&sequences(), |(shards, ops)| same_results(shards, &ops));
        if let Err(failure) = result {
            panic!("{failure}");
        }
    },
    |out| out.assert_clean()
);

#[test]
fn the_rest_of_the_api_matches_dashmaps() {
    let pairs = [(1u8, "a"), (2, "b"), (3, "c")];
    let theirs: dashmap::DashMap<u8, &str> = pairs.into_iter().collect();
    let ours: maprace::DashMap<u8, &str> = pairs.into_iter().collect();
    assert_eq!(ours.len(), theirs.len());
    assert_eq!(*ours.get(&2).unwrap(), *theirs.get(&2).unwrap());
    assert_eq!(
        ours.hash_usize(&7u8),
        maprace::DashMap::<u8, u8>::with_hasher(ours.hasher().clone()).hash_usize(&7u8)
    );
    assert_eq!(format!("{:?}", maprace::DashMap::<u8, u8>::new()), "{}");
    let one = maprace::DashMap::new();
    one.insert(1, 2);
    assert_eq!(format!("{one:?}"), "{1: 2}");
    assert_eq!(format!("{:?}", one.clone().into_read_only()), "{1: 2}");
    assert!(format!("{:?}", one.get(&1).unwrap()).starts_with("Ref { k: 0x"));
    assert!(format!("{:?}", one.get_mut(&1).unwrap()).starts_with("RefMut { k: 0x"));

    // The operators.
    let map = maprace::DashMap::new();
    assert_eq!(&map << (1, 10), None);
    assert_eq!(*(&map >> &1), 10);
    *(&map | &1) += 1;
    assert!(&map & &1);
    assert_eq!(&map - &1, Some((1, 11)));
    assert!(!(&map & &1));

    // Constructors, capacity, try_reserve.
    let mut sized = maprace::DashMap::<u8, u8>::with_capacity_and_shard_amount(64, 8);
    assert!(sized.capacity() >= 64);
    assert!(sized.try_reserve(100).is_ok());
    assert!(sized.try_reserve(usize::MAX).is_err());
    let _ = maprace::DashMap::<u8, u8>::with_capacity(4);
    let _ = maprace::DashMap::<u8, u8, Fixed>::with_capacity_and_hasher(4, Fixed::default());
    let _: maprace::DashMap<u8, u8, Fixed> = Default::default();
    let _ = std::panic::catch_unwind(|| maprace::DashMap::<u8, u8>::with_shard_amount(3))
        .expect_err("a shard amount that is not a power of two panics, as dashmap's");

    // Entry's other forms.
    let map = maprace::DashMap::new();
    assert_eq!(
        map.entry(1).or_try_insert_with(|| Err::<u8, _>("no")).err(),
        Some("no")
    );
    assert_eq!(*map.entry(1).or_insert_with(|| 5), 5);
    assert_eq!(*map.entry(1).insert(6), 6);
    assert_eq!(map.entry(2).into_key(), 2);
    assert_eq!(*map.entry(1).key(), 1);
    assert_eq!(map.entry(1).into_key(), 1);

    // The set.
    let set = maprace::DashSet::new();
    assert!(set.insert(1));
    assert!(!set.insert(1));
    assert!(set.contains(&1));
    assert_eq!(*set.get(&1).unwrap(), 1);
    assert_eq!(set.iter().map(|k| *k).collect::<Vec<_>>(), [1]);
    assert_eq!(set.remove_if(&1, |k| *k == 2), None);
    assert_eq!(set.remove(&1), Some(1));
    assert!(set.is_empty());
    let mut set: maprace::DashSet<u8> = [1, 2, 3].into_iter().collect();
    set.extend([4]);
    set.retain(|k| *k != 2);
    assert_eq!(set.len(), 3);
    assert!(set.capacity() >= 3);
    set.shrink_to_fit();
    assert_eq!(sorted(set.clone().into_iter().collect()), vec![1, 3, 4]);
    assert_eq!(format!("{:?}", maprace::DashSet::<u8>::new()), "{}");
    set.clear();
    assert!(set.is_empty());
    assert_eq!(set.hash_usize(&1u8), set.hash_usize(&1u8));
}
