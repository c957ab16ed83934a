//! Guard deadlocks on a DashMap (DESIGN §2a): every row of the table, each reported with its
//! verdict and both sites, and its correct twin, which runs clean. The certain ones are the
//! programs that hang with plain dashmap: in the off build (the detector compiled out, where
//! `maprace::DashMap` is `dashmap::DashMap`), each is shown to hang (killed after a deadline).

#![cfg(feature = "dashmap")]

mod common;
use maprace::DashMap;
use std::hash::{BuildHasher, Hash};
use std::time::Duration;

/// A map of the keys 0 to 99 (every shard has some).
fn filled() -> DashMap<u64, u64> {
    let map = DashMap::new();
    for k in 0..100 {
        map.insert(k, k);
    }
    map
}

// ---------------------------------------------------------------------------------------------
// Row 1: an exclusive guard on shard s, and any call on s.

scenario!(
    a_get_while_holding_a_ref_mut_to_the_same_key_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let mut r = at!("guard", map.get_mut(&7)).unwrap();
        *r += 1;
        at!("call", map.get(&7));
    },
    |out| out.assert_deadlock_or_hang("Get (shared) of key 7", &["guard"])
);

scenario!(
    a_get_after_the_ref_mut_is_dropped_runs_clean,
    {
        let map = filled();
        let mut r = map.get_mut(&7).unwrap();
        *r += 1;
        drop(r);
        assert_eq!(*map.get(&7).unwrap(), 8);
    },
    |out| out.assert_clean()
);

scenario!(
    an_insert_while_holding_the_keys_entry_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let entry = at!("guard", map.entry(7));
        at!("call", map.insert(7, 0));
        drop(entry);
    },
    |out| out.assert_deadlock_or_hang("Insert (exclusive) of key 7", &["guard"])
);

scenario!(
    inserting_through_the_entry_runs_clean,
    {
        let map = filled();
        let entry = map.entry(7);
        *entry.insert(0) += 1;
        assert_eq!(*map.get(&7).unwrap(), 1);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// Row 2: a shared guard on shard s, and an exclusive call on s.

scenario!(
    an_insert_while_holding_a_ref_to_the_same_key_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let value = at!("guard", map.get(&7)).unwrap();
        at!("call", map.insert(7, *value + 1));
    },
    |out| out.assert_deadlock_or_hang("Insert (exclusive) of key 7", &["guard"])
);

scenario!(
    an_insert_after_cloning_the_value_out_runs_clean,
    {
        let map = filled();
        let value = *map.get(&7).unwrap();
        map.insert(7, value + 1);
        assert_eq!(*map.get(&7).unwrap(), 8);
    },
    |out| out.assert_clean()
);

scenario!(
    a_remove_while_iterating_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        for item in at!("guard", map.iter()) {
            if *item.value() % 2 == 0 {
                at!("call", map.remove(item.key()));
            }
        }
    },
    |out| out.assert_deadlock_or_hang("Remove (exclusive) of key ", &["guard"])
);

scenario!(
    retain_instead_of_remove_in_iter_runs_clean,
    {
        let map = filled();
        map.retain(|_, v| *v % 2 != 0);
        assert_eq!(map.len(), 50);
    },
    |out| out.assert_clean()
);

scenario!(
    an_entry_while_holding_a_ref_to_the_same_key_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let value = at!("guard", map.get(&7)).unwrap();
        if *value > 3 {
            *at!("call", map.entry(7)).or_insert(0) -= 3;
        }
    },
    |out| out.assert_deadlock_or_hang("Entry (exclusive) of key 7", &["guard"])
);

scenario!(
    alter_reads_and_writes_under_one_guard_and_runs_clean,
    {
        let map = filled();
        map.alter(&7, |_, v| if v > 3 { v - 3 } else { v });
        assert_eq!(*map.get(&7).unwrap(), 4);
    },
    |out| out.assert_clean()
);

scenario!(
    a_remove_if_decides_under_the_removals_own_guard_and_runs_clean,
    {
        let map = filled();
        assert_eq!(map.remove_if(&7, |_, v| *v == 7), Some((7, 7)));
        assert_eq!(map.remove_if(&8, |_, v| *v == 0), None);
        assert!(map.contains_key(&8));
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// Row 3: any exclusive guard in the map, and a call that reads every shard.

scenario!(
    len_while_holding_a_ref_mut_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let _r = at!("guard", map.get_mut(&7)).unwrap();
        at!("call", map.len());
    },
    |out| out.assert_deadlock_or_hang("Len (shared), every shard in turn,", &["guard"])
);

scenario!(
    len_is_empty_and_capacity_after_the_ref_mut_is_dropped_run_clean,
    {
        let map = filled();
        drop(map.get_mut(&7).unwrap());
        assert_eq!(map.len(), 100);
        assert!(!map.is_empty());
        assert!(map.capacity() >= 100);
    },
    |out| out.assert_clean()
);

scenario!(
    iterating_while_holding_a_ref_mut_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let _r = at!("guard", map.get_mut(&7)).unwrap();
        let _ = at!("call", map.iter()).count();
    },
    |out| out.assert_deadlock_or_hang("Iter (shared), every shard in turn,", &["guard"])
);

scenario!(
    debug_formatting_while_holding_an_entry_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let _entry = at!("guard", map.entry(7));
        let _ = at!("call", format!("{map:?}"));
    },
    |out| out.assert_deadlock_or_hang("Fmt (shared), every shard in turn,", &["guard"])
);

scenario!(
    clone_while_holding_a_ref_mut_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let _r = at!("guard", map.get_mut(&7)).unwrap();
        let _copy = at!("call", map.clone());
    },
    |out| out.assert_deadlock_or_hang("Clone (shared), every shard in turn,", &["guard"])
);

scenario!(
    iterating_formatting_and_cloning_while_holding_a_ref_run_clean,
    {
        let map = filled();
        let r = map.get(&7).unwrap();
        assert_eq!(map.iter().count(), 100);
        assert!(format!("{map:?}").contains("7: 7"));
        assert_eq!(map.clone().len(), 100);
        assert_eq!(map.len(), 100);
        drop(r);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// Row 4: any guard in the map, and a call that locks every shard exclusively.

scenario!(
    clear_while_holding_a_ref_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let _r = at!("guard", map.get(&7)).unwrap();
        at!("call", map.clear());
    },
    |out| out.assert_deadlock_or_hang("Clear (exclusive), every shard in turn,", &["guard"])
);

scenario!(
    clear_after_the_ref_is_dropped_runs_clean,
    {
        let map = filled();
        let seven = *map.get(&7).unwrap();
        map.clear();
        assert!(map.is_empty());
        map.insert(7, seven);
    },
    |out| out.assert_clean()
);

scenario!(
    retain_while_iterating_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        for item in at!("guard", map.iter()) {
            if *item.key() == 50 {
                at!("call", map.retain(|_, v| *v != 50));
            }
        }
    },
    |out| out.assert_deadlock_or_hang("Retain (exclusive), every shard in turn,", &["guard"])
);

scenario!(
    iter_mut_while_holding_a_ref_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let _r = at!("guard", map.get(&7)).unwrap();
        for mut item in at!("call", map.iter_mut()) {
            *item += 1;
        }
    },
    |out| out.assert_deadlock_or_hang("Iter_mut (exclusive), every shard in turn,", &["guard"])
);

scenario!(
    alter_all_while_holding_a_ref_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let _r = at!("guard", map.get(&7)).unwrap();
        at!("call", map.alter_all(|_, v| v + 1));
    },
    |out| out.assert_deadlock_or_hang("Alter_all (exclusive), every shard in turn,", &["guard"])
);

scenario!(
    shrink_to_fit_while_holding_a_ref_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let _r = at!("guard", map.get(&7)).unwrap();
        at!("call", map.shrink_to_fit());
    },
    |out| {
        out.assert_deadlock_or_hang(
            "Shrink_to_fit (exclusive), every shard in turn,",
            &["guard"],
        )
    }
);

scenario!(
    whole_map_writes_with_no_guard_held_run_clean,
    {
        let map = filled();
        for mut item in map.iter_mut() {
            *item += 1;
        }
        map.alter_all(|_, v| v * 2);
        map.retain(|k, _| *k < 50);
        map.shrink_to_fit();
        assert_eq!(map.len(), 50);
        assert_eq!(*map.get(&7).unwrap(), 16);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// Row 5: a conflicting guard on another shard, and a single-key call: latent (it hangs whenever
// the two keys share a shard). Checked with several shard amounts and the default; when the two
// keys do share a shard in a run, the verdict is certain, and the test says which it expects.

/// dashmap's shard of `key` in a map of `shards` shards (dashmap's `determine_shard`).
fn shard_of<K: Hash, S: BuildHasher>(hasher: &S, shards: usize, key: &K) -> usize {
    let hash = hasher.hash_one(key) as usize;
    (hash << 7) >> (usize::BITS - shards.trailing_zeros())
}

/// dashmap's default shard amount.
fn default_shards() -> usize {
    (std::thread::available_parallelism().map_or(1, usize::from) * 4).next_power_of_two()
}

fn latent(map: DashMap<u64, u64>, shards: usize) {
    for k in 0..100 {
        map.insert(k, k);
    }
    let same = shard_of(map.hasher(), shards, &1u64) == shard_of(map.hasher(), shards, &2u64);
    println!(
        "maprace-test: expect {}",
        if same { "certain" } else { "latent" }
    );
    let one = at!("guard", map.get(&1)).unwrap();
    at!("call", map.insert(2, *one));
}

/// The verdict the child said to expect, then the report with it.
fn assert_latent(out: &common::Outcome) {
    if !maprace::COMPILED_IN {
        return out.assert_hangs_or_finishes();
    }
    let verdict = if out.stdout.contains("maprace-test: expect certain") {
        "certain"
    } else {
        assert!(out.stdout.contains("maprace-test: expect latent"), "{out}");
        "latent"
    };
    out.assert_deadlock(verdict, "Insert (exclusive) of key 2", &["guard"]);
}

scenario!(
    an_insert_of_another_key_while_holding_a_ref_is_a_latent_deadlock_with_2_shards,
    hangs_after = common::hangs_after(),
    { latent(DashMap::with_shard_amount(2), 2) },
    |out| assert_latent(&out)
);

scenario!(
    an_insert_of_another_key_while_holding_a_ref_is_a_latent_deadlock_with_8_shards,
    hangs_after = common::hangs_after(),
    { latent(DashMap::with_shard_amount(8), 8) },
    |out| assert_latent(&out)
);

scenario!(
    an_insert_of_another_key_while_holding_a_ref_is_a_latent_deadlock_with_64_shards,
    hangs_after = common::hangs_after(),
    { latent(DashMap::with_shard_amount(64), 64) },
    |out| assert_latent(&out)
);

scenario!(
    an_insert_of_another_key_while_holding_a_ref_is_a_latent_deadlock_with_the_default_shards,
    hangs_after = common::hangs_after(),
    { latent(DashMap::new(), default_shards()) },
    |out| assert_latent(&out)
);

scenario!(
    latent_deadlocks_follow_halt_on_error_and_the_run_goes_on,
    options = "halt_on_error=0",
    {
        let map = DashMap::with_shard_amount(64);
        for k in 0..100u64 {
            map.insert(k, k);
        }
        // Two keys on different shards (so the call does not block in this run).
        let other = (2..100u64)
            .find(|k| shard_of(map.hasher(), 64, k) != shard_of(map.hasher(), 64, &1u64))
            .unwrap();
        let one = at!("guard", map.get(&1)).unwrap();
        at!("call", map.insert(other, *one));
    },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_clean();
        }
        assert_eq!(out.code, Some(66), "{out}");
        assert!(out.stdout.contains(common::DONE), "it went on\n{out}");
        out.assert_deadlock_sides("latent", "Insert (exclusive) of key ", &["guard"]);
        assert!(
            out.stderr
                .trim_end()
                .ends_with("maprace: found 1 deadlock(s)"),
            "{out}"
        );
    }
);

scenario!(
    a_latent_deadlock_repeated_in_a_loop_is_reported_once,
    options = "halt_on_error=0",
    {
        let map = DashMap::with_shard_amount(64);
        for k in 0..100u64 {
            map.insert(k, k);
        }
        let other = (2..100u64)
            .find(|k| shard_of(map.hasher(), 64, k) != shard_of(map.hasher(), 64, &1u64))
            .unwrap();
        let started = std::time::Instant::now();
        for _ in 0..10_000 {
            let one = map.get(&1).unwrap();
            map.insert(other, *one);
        }
        // One stack captured and symbolized, not 10,000 (each takes milliseconds).
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_clean();
        }
        assert!(out.stdout.contains(common::DONE), "it went on\n{out}");
        assert_eq!(
            out.stderr.matches("WARNING: MAP DEADLOCK (latent)").count(),
            1,
            "{out}"
        );
        assert!(
            out.stderr
                .trim_end()
                .ends_with("maprace: found 1 deadlock(s)"),
            "{out}"
        );
    }
);

scenario!(
    an_insert_of_another_key_after_the_ref_is_dropped_runs_clean,
    {
        let map = DashMap::with_shard_amount(2);
        map.insert(1u64, 1u64);
        let one = *map.get(&1).unwrap();
        map.insert(2, one);
        assert_eq!(map.len(), 2);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// Row 6: shared and shared is fine (dashmap's lock lets readers in ahead of waiting writers).

scenario!(
    reads_while_holding_a_ref_run_clean,
    {
        let map = filled();
        let seven = map.get(&7).unwrap();
        let again = map.get(&7).unwrap();
        assert!(map.contains_key(&8));
        assert_eq!(map.view(&9, |_, v| *v), Some(9));
        assert_eq!(*seven + *again, 14);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// try_* never block, and are never reported.

scenario!(
    try_calls_on_a_held_shard_say_locked_and_are_never_reported,
    {
        let map = filled();
        let r = map.get_mut(&7).unwrap();
        assert!(map.try_get(&7).is_locked());
        assert!(map.try_get_mut(&7).is_locked());
        assert!(map.try_entry(7).is_none());
        drop(r);
        let shared = map.get(&7).unwrap();
        assert!(map.try_get(&7).is_present());
        assert!(map.try_get_mut(&7).is_locked());
        drop(shared);
        assert!(map.try_get_mut(&7).is_present());
        assert!(map.try_get(&1000).is_absent());
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// Guards that move keep their hold: downgrade, Entry to RefMut, map.

scenario!(
    a_downgraded_guard_holds_its_shard_shared,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let r = at!("guard", map.get_mut(&7)).unwrap().downgrade();
        assert_eq!(*map.get(&7).unwrap(), *r, "a shared guard lets readers in");
        at!("call", map.insert(7, 0));
    },
    |out| {
        out.assert_deadlock_or_hang("Insert (exclusive) of key 7", &["guard"]);
        if maprace::COMPILED_IN {
            assert!(out.stderr.contains("\nGuard shared on shard "), "{out}");
        }
    }
);

scenario!(
    an_entry_turned_into_a_ref_mut_keeps_its_exclusive_hold,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let mut r = at!("guard", map.entry(1000)).or_insert(0);
        *r += 1;
        at!("call", map.contains_key(&1000));
    },
    |out| {
        out.assert_deadlock_or_hang("Contains_key (shared) of key 1000", &["guard"]);
        if maprace::COMPILED_IN {
            assert!(out.stderr.contains("\nGuard exclusive on shard "), "{out}");
        }
    }
);

scenario!(
    a_mapped_ref_keeps_its_hold,
    hangs_after = common::hangs_after(),
    {
        let map = DashMap::new();
        map.insert(1, (1u8, 2u8));
        let second = at!("guard", map.get(&1)).unwrap().map(|pair| &pair.1);
        at!("call", map.remove(&1));
        drop(second);
    },
    |out| out.assert_deadlock_or_hang("Remove (exclusive) of key 1", &["guard"])
);

// ---------------------------------------------------------------------------------------------
// Iterators: the shard of the last item stays held until the iterator or the item is dropped.

scenario!(
    a_collected_vec_of_items_holds_every_shard_it_touched,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let items: Vec<_> = at!("guard", map.iter()).collect();
        at!("call", map.insert(42, 0));
        drop(items);
    },
    |out| out.assert_deadlock_or_hang("Insert (exclusive) of key 42", &["guard"])
);

scenario!(
    collecting_the_keys_instead_of_the_items_runs_clean,
    {
        let map = filled();
        let keys: Vec<u64> = map.iter().map(|item| *item.key()).collect();
        for k in keys {
            map.insert(k, 0);
        }
        assert_eq!(*map.get(&42).unwrap(), 0);
    },
    |out| out.assert_clean()
);

scenario!(
    an_ended_iterator_still_holds_the_last_shard,
    hangs_after = common::hangs_after(),
    {
        let map = DashMap::with_shard_amount(8);
        let last = (0..1000u64)
            .find(|k| shard_of(map.hasher(), 8, k) == 7)
            .unwrap();
        map.insert(last, 0);
        let mut items = at!("guard", map.iter());
        while items.next().is_some() {}
        at!("call", map.insert(last, 1));
    },
    |out| out.assert_deadlock_or_hang("Insert (exclusive) of key ", &["guard"])
);

scenario!(
    an_iterator_dropped_before_the_call_runs_clean,
    {
        let map = filled();
        let mut items = map.iter();
        while items.next().is_some() {}
        drop(items);
        map.insert(1, 1);
        let mut items = map.iter_mut();
        let first = items.next().unwrap();
        let key = *first.key();
        drop((first, items));
        map.insert(key, 2);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// Guards sent to another thread belong to the thread that uses them.

scenario!(
    a_guard_sent_to_another_thread_and_used_there_is_that_threads,
    {
        let map = filled();
        let mut r = map.get_mut(&7).unwrap();
        std::thread::scope(|s| {
            s.spawn(move || {
                *r += 1;
                std::thread::sleep(Duration::from_millis(600));
                *r += 1;
            });
            std::thread::sleep(Duration::from_millis(50));
            // Waits for the other thread to drop the guard: not a deadlock.
            let eight = *map.get(&8).unwrap();
            map.insert(7, eight);
        });
        assert_eq!(*map.get(&7).unwrap(), 8);
    },
    |out| out.assert_clean()
);

scenario!(
    a_guard_dropped_on_another_thread_leaves_no_hold_behind,
    {
        let map = filled();
        let r = map.get(&7).unwrap();
        std::thread::scope(|s| {
            s.spawn(move || drop(r));
        });
        map.insert(7, 0);
        assert_eq!(*map.get(&7).unwrap(), 0);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// dashmap issue 369: two threads each hold a ref, then each inserts the other's key. The latent
// rule reports it at the first insert (certain if the two keys share a shard); it never hangs.

fn each_inserts_the_others_key() {
    let map = DashMap::new();
    map.insert(1u64, 1u64);
    map.insert(2, 2);
    let both = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        for (mine, theirs) in [(1u64, 2u64), (2, 1)] {
            let (map, both) = (&map, &both);
            s.spawn(move || {
                let r = at!("guard", map.get(&mine)).unwrap();
                both.wait();
                at!("call", map.insert(theirs, *r));
            });
        }
    });
}

scenario!(
    issue_369_two_threads_inserting_each_others_key_while_holding_a_ref_are_reported_not_hung,
    hangs_after = common::hangs_after(),
    { each_inserts_the_others_key() },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_hangs();
        }
        assert_eq!(out.code, Some(66), "{out}");
        assert!(
            out.stderr.contains("WARNING: MAP DEADLOCK (latent)")
                || out.stderr.contains("WARNING: MAP DEADLOCK (certain)"),
            "{out}"
        );
        assert!(
            out.stderr
                .contains("maprace: stopping at the first deadlock (exit code 66)"),
            "{out}"
        );
        let verdict = if out.stderr.contains("(latent)") {
            "latent"
        } else {
            "certain"
        };
        out.assert_deadlock_sides(verdict, "Insert (exclusive) of key ", &["guard"]);
    }
);

scenario!(
    issue_369_with_halt_on_error_0_the_cycle_is_reported_when_the_second_thread_would_block,
    options = "halt_on_error=0",
    hangs_after = common::hangs_after(),
    { each_inserts_the_others_key() },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_hangs();
        }
        // Latent reports go on; the cycle (or a shared shard) is certain, and stops.
        assert_eq!(out.code, Some(66), "{out}");
        assert!(
            out.stderr.contains("WARNING: MAP DEADLOCK (certain)"),
            "{out}"
        );
        assert!(
            out.stderr
                .contains("maprace: stopping at the first deadlock (exit code 66)"),
            "{out}"
        );
    }
);

scenario!(
    issue_369_with_the_values_cloned_out_first_runs_clean,
    {
        let map = DashMap::new();
        map.insert(1u64, 1u64);
        map.insert(2, 2);
        let both = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            for (mine, theirs) in [(1u64, 2u64), (2, 1)] {
                let (map, both) = (&map, &both);
                s.spawn(move || {
                    let value = *map.get(&mine).unwrap();
                    both.wait();
                    map.insert(theirs, value);
                });
            }
        });
        assert_eq!(map.len(), 2);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// Cycles the latent rule cannot see: across two maps, or a DashMap guard and a maprace lock.

/// The `Guard` lines of a cycle name both threads' guards; the call is the second thread's.
fn assert_cycle(out: &common::Outcome, call: &str) {
    if !maprace::COMPILED_IN {
        return out.assert_hangs();
    }
    out.assert_deadlock("certain", call, &["first guard", "second guard"]);
    assert!(
        out.stderr.contains(", which waits for "),
        "the other thread's wait\n{out}"
    );
    assert!(
        out.stderr.contains("(T2) created at:"),
        "where the other thread was created\n{out}"
    );
}

scenario!(
    two_maps_guarded_in_opposite_orders_by_two_threads_are_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let (users, orders) = (filled(), filled());
        let both = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                let _user = at!("first guard", users.get_mut(&1)).unwrap();
                both.wait();
                orders.insert(2, 0); // blocks: the other thread holds it
            });
            let _order = at!("second guard", orders.get_mut(&2)).unwrap();
            both.wait();
            std::thread::sleep(Duration::from_millis(200)); // the other thread blocks first
            at!("call", users.insert(1, 0));
        });
    },
    |out| {
        assert_cycle(&out, "Insert (exclusive) of key 1");
        if maprace::COMPILED_IN {
            for map in ["map#1", "map#2"] {
                let created = format!("Map {map} created at tests/dashmap_deadlocks.rs:");
                assert!(out.stderr.contains(&created), "both maps\n{out}");
            }
        }
    }
);

scenario!(
    a_dashmap_guard_and_a_mutex_taken_in_opposite_orders_are_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let lock = maprace::sync::Mutex::new(0);
        let both = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                let _entry = at!("first guard", map.get_mut(&1)).unwrap();
                both.wait();
                drop(lock.lock()); // blocks: the other thread holds it
            });
            let _held = at!("second guard", lock.lock()).unwrap();
            both.wait();
            std::thread::sleep(Duration::from_millis(200));
            at!("call", map.get(&1));
        });
    },
    |out| assert_cycle(&out, "Get (shared) of key 1")
);

// A guard made on one thread, moved to another by a use there, and held by that thread while
// it blocks: the cycle goes through the receiver, whose list now holds the guard.
scenario!(
    a_guard_moved_to_a_thread_that_then_blocks_closes_a_cycle,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let lock = maprace::sync::Mutex::new(0);
        let both = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            let r = at!("first guard", map.get_mut(&1)).unwrap();
            let _held = at!("second guard", lock.lock()).unwrap();
            s.spawn(|| {
                let mut r = r;
                *r += 1; // a use here: the guard is this thread's now
                both.wait();
                drop(lock.lock()); // blocks: the main thread holds it
                drop(r);
            });
            both.wait();
            std::thread::sleep(Duration::from_millis(200)); // the other thread blocks first
            at!("call", map.get(&1));
        });
    },
    |out| out.assert_lock_cycle("Get (shared) of key 1", Some("maprace::sync::Mutex"))
);

scenario!(
    two_maps_guarded_in_the_same_order_run_clean,
    {
        let (users, orders) = (filled(), filled());
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..200 {
                        let mut user = users.get_mut(&1).unwrap();
                        let mut order = orders.get_mut(&2).unwrap();
                        *user += 1;
                        *order += 1;
                    }
                });
            }
        });
        assert_eq!(*users.get(&1).unwrap(), 401);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// The policy.

scenario!(
    deadlock_0_turns_the_checks_off,
    options = "deadlock=0",
    hangs_after = Duration::from_secs(3),
    {
        let map = filled();
        let value = map.get(&7).unwrap();
        map.insert(7, *value + 1);
    },
    |out| out.assert_hangs()
);

scenario!(
    a_certain_deadlock_with_action_panic_unwinds_the_thread_that_would_block,
    options = "action=panic",
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let value = at!("guard", map.get(&7)).unwrap();
            at!("call", map.insert(7, *value + 1));
        }));
        assert!(caught.is_err(), "the call panicked");
        // The guard was dropped while unwinding: the map is usable again.
        map.insert(7, 0);
    },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_hangs();
        }
        assert_eq!(out.code, Some(0), "{out}");
        assert!(out.stdout.contains(common::DONE), "{out}");
        assert!(out.stderr.contains("maprace: map deadlock"), "{out}");
        out.assert_deadlock_sides("certain", "Insert (exclusive) of key 7", &["guard"]);
    }
);

scenario!(
    a_certain_deadlock_stops_even_with_halt_on_error_0,
    options = "halt_on_error=0",
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let value = at!("guard", map.get(&7)).unwrap();
        at!("call", map.insert(7, *value + 1));
    },
    |out| out.assert_deadlock_or_hang("Insert (exclusive) of key 7", &["guard"])
);
