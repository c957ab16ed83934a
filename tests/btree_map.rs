//! `maprace::BTreeMap`: the ordered operations in the access table (README, "What it finds"), each racy scenario with its
//! synchronized twin, and a model test against std's `BTreeMap`.

mod common;
use common::Side;
use maprace::BTreeMap;

/// A map with keys 1, 2, 3 (values 10, 20, 30), made on the test's thread before any other
/// thread exists.
fn three() -> BTreeMap<u32, u32> {
    BTreeMap::from([(1, 10), (2, 20), (3, 30)])
}

scenario!(
    insert_new_vs_range_without_sync_is_reported,
    {
        let mut map = three();
        common::unordered(
            &mut map,
            |m| at!("previous", m.insert(5, 50)),
            |m| at!("current", m.range(2..).count()),
        );
    },
    |out| {
        out.assert_race(
            Side {
                access: "Read (range) of map#1 (BTreeMap<u32, u32>)",
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
    insert_new_vs_range_after_join_runs_clean,
    {
        let mut map = three();
        common::joined(
            &mut map,
            |m| m.insert(5, 50),
            |m| assert_eq!(m.range(2..).count(), 3),
        );
    },
    |out| out.assert_clean()
);

scenario!(
    pop_first_vs_get_without_sync_is_reported,
    {
        let mut map = three();
        common::unordered(
            &mut map,
            |m| at!("previous", m.pop_first()),
            |m| at!("current", m.get(&3).copied()),
        );
    },
    |out| {
        out.assert_race(
            Side {
                access: "Read (get) of key 3 in map#1",
                thread: common::TEST_THREAD,
            },
            Side {
                access: "write (pop_first) of the map's structure",
                thread: "writer",
            },
        );
    }
);

scenario!(
    pop_first_vs_get_after_join_runs_clean,
    {
        let mut map = three();
        common::joined(
            &mut map,
            |m| m.pop_first(),
            |m| assert_eq!(m.get(&3), Some(&30)),
        );
    },
    |out| out.assert_clean()
);

scenario!(
    overwrite_vs_iter_over_the_same_key_without_sync_is_reported,
    {
        let mut map = three();
        common::unordered(
            &mut map,
            |m| at!("previous", m.insert(2, 21)),
            |m| at!("current", m.iter().count()),
        );
    },
    |out| {
        out.assert_race(
            Side {
                access: "Read (iter) of key 2 in map#1",
                thread: common::TEST_THREAD,
            },
            Side {
                access: "write (insert) of key 2",
                thread: "writer",
            },
        );
    }
);

scenario!(
    overwrite_vs_iter_after_join_runs_clean,
    {
        let mut map = three();
        common::joined(
            &mut map,
            |m| m.insert(2, 21),
            |m| assert_eq!(m.iter().fold(0, |sum, (_, v)| sum + v), 61),
        );
    },
    |out| out.assert_clean()
);

scenario!(
    overwrite_of_one_key_vs_get_of_another_without_sync_runs_clean,
    {
        // An overwrite writes its key only; another key shares nothing with it.
        let mut map = three();
        common::unordered(
            &mut map,
            |m| assert_eq!(m.insert(1, 11), Some(10)),
            |m| assert_eq!(m.get(&2), Some(&20)),
        );
    },
    |out| out.assert_clean()
);

scenario!(
    overwrite_of_one_key_vs_get_of_the_same_key_without_sync_is_reported,
    {
        // The twin of the clean scenario above: the same operations, on the same key.
        let mut map = three();
        common::unordered(
            &mut map,
            |m| at!("previous", m.insert(1, 11)),
            |m| at!("current", m.get(&1).copied()),
        );
    },
    |out| {
        out.assert_race(
            Side {
                access: "Read (get) of key 1 in map#1",
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
    range_mut_vs_get_of_a_visited_key_without_sync_is_reported,
    {
        let mut map = three();
        common::unordered(
            &mut map,
            |m| at!("previous", m.range_mut(..=2).for_each(|(_, v)| *v += 1)),
            |m| at!("current", m.get(&2).copied()),
        );
    },
    |out| {
        out.assert_race(
            Side {
                access: "Read (get) of key 2 in map#1",
                thread: common::TEST_THREAD,
            },
            Side {
                access: "write (range_mut) of key 2",
                thread: "writer",
            },
        );
    }
);

scenario!(
    range_mut_vs_get_of_a_key_outside_the_range_without_sync_runs_clean,
    {
        let mut map = three();
        common::unordered(
            &mut map,
            |m| m.range_mut(..=2).for_each(|(_, v)| *v += 1),
            |m| assert_eq!(m.get(&3), Some(&30)),
        );
    },
    |out| out.assert_clean()
);

scenario!(
    split_off_vs_len_without_sync_is_reported,
    {
        let mut map = three();
        common::unordered(
            &mut map,
            |m| at!("previous", m.split_off(&2)),
            |m| at!("current", m.len()),
        );
    },
    |out| {
        out.assert_race(
            Side {
                access: "Read (len) of map#1",
                thread: common::TEST_THREAD,
            },
            Side {
                access: "write (split_off) of the map's structure",
                thread: "writer",
            },
        );
    }
);

scenario!(
    split_off_vs_len_after_join_runs_clean,
    {
        let mut map = three();
        common::joined(
            &mut map,
            |m| assert_eq!(m.split_off(&2).len(), 2),
            |m| assert_eq!(m.len(), 1),
        );
    },
    |out| out.assert_clean()
);

scenario!(
    append_vs_first_key_value_without_sync_is_reported,
    {
        let mut map = three();
        common::unordered(
            &mut map,
            |m| at!("previous", m.append(&mut BTreeMap::from([(0, 0)]))),
            |m| at!("current", m.first_key_value().map(|(k, _)| *k)),
        );
    },
    |out| {
        out.assert_race(
            Side {
                access: "Read (first_key_value) of map#1",
                thread: common::TEST_THREAD,
            },
            Side {
                access: "write (append) of the map's structure",
                thread: "writer",
            },
        );
    }
);

scenario!(
    append_vs_first_key_value_after_join_runs_clean,
    {
        let mut map = three();
        common::joined(
            &mut map,
            |m| m.append(&mut BTreeMap::from([(0, 0)])),
            |m| assert_eq!(m.first_key_value(), Some((&0, &0))),
        );
    },
    |out| out.assert_clean()
);

scenario!(
    a_static_map_made_by_the_const_constructor_is_tracked,
    {
        // `BTreeMap::new` is `const`, as std's: a `static` can hold one.
        static EMPTY: BTreeMap<u8, u8> = BTreeMap::new();
        let readers: Vec<_> = (0..2)
            .map(|_| std::thread::spawn(|| EMPTY.is_empty()))
            .collect();
        for reader in readers {
            assert!(reader.join().unwrap());
        }
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// The model: for any sequence of operations, maprace's map gives the results std's gives and
// ends with the same contents (nothing lost, nothing changed).

mod model {
    use proptest::prelude::*;
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};
    use std::ops::Bound;

    type Tracked = maprace::BTreeMap<u8, u16>;
    type Std = std::collections::BTreeMap<u8, u16>;

    #[derive(Clone, Debug)]
    enum Operation {
        Insert(u8, u16),
        Remove(u8),
        RemoveEntry(u8),
        Get(u8),
        GetMut(u8, u16),
        ContainsKey(u8),
        EntryOrInsert(u8, u16),
        EntryAndModify(u8, u16),
        EntryRemove(u8),
        FirstKeyValue,
        LastKeyValue,
        PopFirst,
        PopLast,
        FirstEntryInsert(u16),
        LastEntryRemove,
        Range(Bound<u8>, Bound<u8>),
        RangeMutAdd(Bound<u8>, Bound<u8>, u16),
        RangeRev(u8),
        SplitOffAndAppend(u8),
        SplitOffKeep(u8),
        Append(Vec<(u8, u16)>),
        Retain(u8),
        ExtractIf(u8, u8),
        Extend(Vec<(u8, u16)>),
        ValuesMutAdd(u16),
        IterRev,
        Keys,
        Clear,
    }

    fn bound() -> impl Strategy<Value = Bound<u8>> {
        prop_oneof![
            Just(Bound::Unbounded),
            (0..40u8).prop_map(Bound::Included),
            (0..40u8).prop_map(Bound::Excluded),
        ]
    }

    /// A range std accepts (start <= end, not both excluded at the same key).
    fn range() -> impl Strategy<Value = (Bound<u8>, Bound<u8>)> {
        (bound(), bound()).prop_map(|(a, b)| {
            let key = |b: &Bound<u8>| match b {
                Bound::Included(k) | Bound::Excluded(k) => Some(*k),
                Bound::Unbounded => None,
            };
            match (key(&a), key(&b)) {
                (Some(x), Some(y)) if x > y => (b, a),
                (Some(x), Some(y))
                    if x == y
                        && matches!(a, Bound::Excluded(_))
                        && matches!(b, Bound::Excluded(_)) =>
                {
                    (Bound::Included(x), b)
                }
                _ => (a, b),
            }
        })
    }

    fn pairs() -> impl Strategy<Value = Vec<(u8, u16)>> {
        prop::collection::vec((0..40u8, any::<u16>()), 0..8)
    }

    fn operation() -> impl Strategy<Value = Operation> {
        use Operation::*;
        let key = || 0..40u8;
        prop_oneof![
            (key(), any::<u16>()).prop_map(|(k, v)| Insert(k, v)),
            key().prop_map(Remove),
            key().prop_map(RemoveEntry),
            key().prop_map(Get),
            (key(), any::<u16>()).prop_map(|(k, v)| GetMut(k, v)),
            key().prop_map(ContainsKey),
            (key(), any::<u16>()).prop_map(|(k, v)| EntryOrInsert(k, v)),
            (key(), any::<u16>()).prop_map(|(k, v)| EntryAndModify(k, v)),
            key().prop_map(EntryRemove),
            Just(FirstKeyValue),
            Just(LastKeyValue),
            Just(PopFirst),
            Just(PopLast),
            any::<u16>().prop_map(FirstEntryInsert),
            Just(LastEntryRemove),
            range().prop_map(|(a, b)| Range(a, b)),
            (range(), any::<u16>()).prop_map(|((a, b), n)| RangeMutAdd(a, b, n)),
            key().prop_map(RangeRev),
            key().prop_map(SplitOffAndAppend),
            key().prop_map(SplitOffKeep),
            pairs().prop_map(Append),
            (1..5u8).prop_map(Retain),
            (key(), 1..4u8).prop_map(|(k, m)| ExtractIf(k, m)),
            pairs().prop_map(Extend),
            any::<u16>().prop_map(ValuesMutAdd),
            Just(IterRev),
            Just(Keys),
            Just(Clear),
        ]
    }

    /// Runs `op` on a map through `$m` and returns what it gave, printed (the two maps' iterator
    /// and entry types differ, their items do not).
    macro_rules! apply {
        ($m:expr, $op:expr, $Map:ty) => {{
            use Operation::*;
            let m = $m;
            match $op.clone() {
                Insert(k, v) => format!("{:?}", m.insert(k, v)),
                Remove(k) => format!("{:?}", m.remove(&k)),
                RemoveEntry(k) => format!("{:?}", m.remove_entry(&k)),
                Get(k) => format!("{:?}", m.get(&k)),
                GetMut(k, v) => format!("{:?}", m.get_mut(&k).map(|x| std::mem::replace(x, v))),
                ContainsKey(k) => format!("{:?}", m.contains_key(&k)),
                EntryOrInsert(k, v) => format!("{:?}", *m.entry(k).or_insert(v)),
                EntryAndModify(k, v) => {
                    let entry = m.entry(k).and_modify(|x| *x = x.wrapping_add(v));
                    format!("{:?}", *entry.or_default())
                }
                EntryRemove(k) => {
                    format!(
                        "{:?}",
                        match m.entry(k) {
                            Occupied(o) => Some(o.remove_entry()),
                            Vacant(v) => {
                                assert_eq!(*v.key(), k);
                                None
                            }
                        }
                    )
                }
                FirstKeyValue => format!("{:?}", m.first_key_value()),
                LastKeyValue => format!("{:?}", m.last_key_value()),
                PopFirst => format!("{:?}", m.pop_first()),
                PopLast => format!("{:?}", m.pop_last()),
                FirstEntryInsert(v) => format!("{:?}", m.first_entry().map(|mut e| e.insert(v))),
                LastEntryRemove => format!("{:?}", m.last_entry().map(|e| e.remove())),
                Range(a, b) => format!("{:?}", m.range((a, b)).collect::<Vec<_>>()),
                RangeMutAdd(a, b, n) => {
                    let mut seen = Vec::new();
                    for (k, v) in m.range_mut((a, b)) {
                        *v = v.wrapping_add(n);
                        seen.push(*k);
                    }
                    format!("{seen:?}")
                }
                RangeRev(k) => format!("{:?}", m.range(..k).rev().take(3).collect::<Vec<_>>()),
                SplitOffAndAppend(k) => {
                    let mut tail = m.split_off(&k);
                    let shown = format!("{:?} {:?}", m.len(), tail.iter().collect::<Vec<_>>());
                    m.append(&mut tail);
                    assert!(tail.is_empty());
                    shown
                }
                SplitOffKeep(k) => format!("{:?}", m.split_off(&k).into_iter().collect::<Vec<_>>()),
                Append(pairs) => {
                    let mut other: $Map = pairs.into_iter().collect();
                    m.append(&mut other);
                    format!("{}", other.len())
                }
                Retain(n) => {
                    m.retain(|k, v| {
                        *v = v.wrapping_add(1);
                        k % n == 0
                    });
                    String::new()
                }
                ExtractIf(k, n) => {
                    let out: Vec<_> = m
                        .extract_if(k.., |k, v| {
                            *v = v.wrapping_add(1);
                            k % n == 0
                        })
                        .collect();
                    format!("{out:?}")
                }
                Extend(pairs) => {
                    m.extend(pairs.iter().take(3).map(|(k, v)| (k, v)));
                    m.extend(pairs.into_iter().skip(3));
                    String::new()
                }
                ValuesMutAdd(n) => {
                    m.values_mut().for_each(|v| *v = v.wrapping_add(n));
                    format!("{:?}", m.values().rev().collect::<Vec<_>>())
                }
                IterRev => format!(
                    "{:?} {}",
                    m.iter().rev().collect::<Vec<_>>(),
                    m.iter().len()
                ),
                Keys => format!("{:?} {:?}", m.keys().collect::<Vec<_>>(), m.keys().last()),
                Clear => {
                    m.clear();
                    format!("{}", m.is_empty())
                }
            }
        }};
    }

    fn hash_of(value: &impl Hash) -> u64 {
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        hasher.finish()
    }

    proptest! {
        #[test]
        fn a_tracked_btree_map_behaves_like_std(
            initial in pairs(),
            ops in prop::collection::vec(operation(), 1..40),
        ) {
            let mut tracked: Tracked = initial.iter().copied().collect();
            let mut model: Std = initial.iter().copied().collect();
            for op in &ops {
                let got = {
                    use maprace::collections::btree_map::Entry::*;
                    apply!(&mut tracked, op, Tracked)
                };
                let want = {
                    use std::collections::btree_map::Entry::*;
                    apply!(&mut model, op, Std)
                };
                prop_assert_eq!(got, want, "after {:?}", op);
                prop_assert_eq!(
                    tracked.iter().collect::<Vec<_>>(),
                    model.iter().collect::<Vec<_>>(),
                    "contents after {:?}", op
                );
            }
            prop_assert_eq!(format!("{tracked:?}"), format!("{model:?}"));
            prop_assert_eq!(hash_of(&tracked), hash_of(&model));
            prop_assert_eq!(tracked.len(), model.len());
            let copy = tracked.clone();
            prop_assert!(copy == tracked);
            let smaller: Tracked = model.iter().skip(1).map(|(k, v)| (*k, *v)).collect();
            let model_smaller: Std = model.iter().skip(1).map(|(k, v)| (*k, *v)).collect();
            prop_assert_eq!(tracked.cmp(&smaller), model.cmp(&model_smaller));
            prop_assert_eq!(
                tracked.partial_cmp(&smaller),
                model.partial_cmp(&model_smaller)
            );
            prop_assert_eq!(
                tracked.into_values().collect::<Vec<_>>(),
                model.into_values().collect::<Vec<_>>()
            );
        }
    }
}
