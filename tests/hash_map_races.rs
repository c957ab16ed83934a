//! Every row of the access table (README, "What it finds"), as pairs: a racy scenario that must
//! be reported (the map shared by raw pointer, the two accesses ordered in real time by a std
//! channel that maprace cannot see) and its synchronized twin (the writer joined first) that
//! must run clean.

// Every form of the API is called on purpose, also where a shorter one exists.
#![allow(
    clippy::iter_count,
    clippy::for_kv_map,
    clippy::into_iter_on_ref,
    clippy::iter_kv_map
)]

mod common;

use common::{Side, TEST_THREAD};

type Map = maprace::HashMap<u32, u32>;

/// `$reported`: `previous` on the "writer" thread, then `current` on the test's thread, with
/// no synchronization maprace sees. `$clean`: the same, with the writer joined in between.
macro_rules! pair {
    (
        $reported:ident, $clean:ident,
        setup: $setup:expr,
        previous: $previous:expr,
        current: $current:expr,
        report: $current_words:literal, $previous_words:literal $(,)?
    ) => {
        scenario!(
            $reported,
            {
                let mut map = Map::new();
                ($setup)(&mut map);
                common::unordered(&mut map, $previous, $current);
            },
            |out| out.assert_race(
                Side {
                    access: $current_words,
                    thread: TEST_THREAD
                },
                Side {
                    access: $previous_words,
                    thread: "writer"
                },
            )
        );

        scenario!(
            $clean,
            {
                let mut map = Map::new();
                ($setup)(&mut map);
                common::joined(&mut map, $previous, $current);
            },
            |out| out.assert_clean()
        );
    };
}

fn one_key(m: &mut Map) {
    m.insert(1, 10);
}

// Row 1: get, contains_key, get_key_value, Index read the structure and the key.

pair!(
    get_vs_overwrite_without_sync_is_reported,
    get_vs_overwrite_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.insert(1, 11)),
    current: |m: &mut Map| at!("current", m.get(&1).copied()),
    report: "Read (get) of key 1 in map#1 (HashMap<u32, u32>)", "write (insert) of key 1",
);

pair!(
    contains_key_vs_get_mut_without_sync_is_reported,
    contains_key_vs_get_mut_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.get_mut(&1).map(|v| *v += 1)),
    current: |m: &mut Map| at!("current", m.contains_key(&1)),
    report: "Read (contains_key) of key 1", "write (get_mut) of key 1",
);

pair!(
    get_key_value_vs_remove_without_sync_is_reported,
    get_key_value_vs_remove_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.remove(&1)),
    current: |m: &mut Map| at!("current", m.get_key_value(&1).is_some()),
    report: "Read (get_key_value) of key 1", "write (remove) of the map's structure",
);

pair!(
    index_vs_overwrite_without_sync_is_reported,
    index_vs_overwrite_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.insert(1, 12)),
    current: |m: &mut Map| at!("current", m[&1]),
    report: "Read (index) of key 1", "write (insert) of key 1",
);

// Row 2: inserting a new key, removing one, an entry that inserts: write the structure.

pair!(
    insert_new_vs_get_of_another_key_without_sync_is_reported,
    insert_new_vs_get_of_another_key_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.get(&1).copied()),
    current: |m: &mut Map| at!("current", m.insert(2, 20)),
    report: "Write (insert) of key 2", "read (get) of the map's structure",
);

pair!(
    remove_vs_len_without_sync_is_reported,
    remove_vs_len_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.len()),
    current: |m: &mut Map| at!("current", m.remove(&1)),
    report: "Write (remove) of key 1", "read (len) of the map's structure",
);

pair!(
    remove_entry_vs_get_without_sync_is_reported,
    remove_entry_vs_get_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.get(&1).copied()),
    current: |m: &mut Map| at!("current", m.remove_entry(&1)),
    report: "Write (remove_entry) of key 1", "read (get) of the map's structure",
);

pair!(
    entry_or_insert_new_vs_contains_key_without_sync_is_reported,
    entry_or_insert_new_vs_contains_key_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.contains_key(&7)),
    current: |m: &mut Map| at!("current", *m.entry(7).or_insert(70)),
    report: "Write (entry) of key 7", "read (contains_key) of the map's structure",
);

// Row 3: overwriting, get_mut, modifying an occupied entry, values_mut, iter_mut: read the
// structure, write the key.

pair!(
    overwrite_vs_get_without_sync_is_reported,
    overwrite_vs_get_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.get(&1).copied()),
    current: |m: &mut Map| at!("current", m.insert(1, 13)),
    report: "Write (insert) of key 1", "read (get) of key 1",
);

pair!(
    get_mut_vs_get_without_sync_is_reported,
    get_mut_vs_get_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.get(&1).copied()),
    current: |m: &mut Map| at!("current", m.get_mut(&1).map(|v| *v = 5)),
    report: "Write (get_mut) of key 1", "read (get) of key 1",
);

pair!(
    entry_and_modify_vs_get_without_sync_is_reported,
    entry_and_modify_vs_get_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.get(&1).copied()),
    current: |m: &mut Map| at!("current", *m.entry(1).and_modify(|v| *v += 1).or_insert(0)),
    report: "Write (entry) of key 1", "read (get) of key 1",
);

pair!(
    values_mut_vs_get_without_sync_is_reported,
    values_mut_vs_get_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.get(&1).copied()),
    current: |m: &mut Map| at!("current", m.values_mut().for_each(|v| *v += 1)),
    report: "Write (values_mut) of key 1", "read (get) of key 1",
);

pair!(
    iter_mut_vs_contains_key_without_sync_is_reported,
    iter_mut_vs_contains_key_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.contains_key(&1)),
    current: |m: &mut Map| at!("current", m.iter_mut().for_each(|(_, v)| *v += 1)),
    report: "Write (iter_mut) of key 1", "read (contains_key) of key 1",
);

/// Keys 1, 2, ... until the table is full (`len == capacity`): its next insert grows it, even
/// over a key it has (as std's does), a write of the structure.
fn full_table(m: &mut Map) {
    let mut k = 1;
    while k == 1 || m.len() < m.capacity() {
        m.insert(k, k * 10);
        k += 1;
    }
}

pair!(
    overwrite_in_a_full_table_vs_get_of_another_key_without_sync_is_reported,
    overwrite_in_a_full_table_vs_get_of_another_key_after_join_runs_clean,
    setup: full_table,
    previous: |m: &mut Map| at!("previous", m.get(&2).copied()),
    current: |m: &mut Map| at!("current", m.insert(1, 13)),
    report: "Write (insert) of key 1", "read (get) of the map's structure",
);

pair!(
    insert_new_in_a_full_table_vs_get_without_sync_is_reported,
    insert_new_in_a_full_table_vs_get_after_join_runs_clean,
    setup: full_table,
    previous: |m: &mut Map| at!("previous", m.get(&1).copied()),
    current: |m: &mut Map| at!("current", m.insert(1_000, 0)),
    report: "Write (insert) of key 1000", "read (get) of the map's structure",
);

// Row 4: len, is_empty, capacity read the structure; iter, values, Debug, Clone, PartialEq
// also read every key they visit.

pair!(
    len_vs_insert_new_without_sync_is_reported,
    len_vs_insert_new_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.insert(2, 20)),
    current: |m: &mut Map| at!("current", m.len()),
    report: "Read (len) of map#1", "write (insert) of the map's structure",
);

pair!(
    is_empty_vs_remove_without_sync_is_reported,
    is_empty_vs_remove_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.remove(&1)),
    current: |m: &mut Map| at!("current", m.is_empty()),
    report: "Read (is_empty) of map#1", "write (remove) of the map's structure",
);

pair!(
    capacity_vs_reserve_without_sync_is_reported,
    capacity_vs_reserve_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.reserve(100)),
    current: |m: &mut Map| at!("current", m.capacity()),
    report: "Read (capacity) of map#1", "write (reserve) of the map's structure",
);

pair!(
    iter_vs_overwrite_without_sync_is_reported,
    iter_vs_overwrite_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.insert(1, 14)),
    current: |m: &mut Map| at!("current", m.iter().map(|(k, v)| k + v).sum::<u32>()),
    report: "Read (iter) of key 1", "write (insert) of key 1",
);

pair!(
    values_vs_get_mut_without_sync_is_reported,
    values_vs_get_mut_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.get_mut(&1).map(|v| *v = 0)),
    current: |m: &mut Map| at!("current", m.values().count()),
    report: "Read (values) of key 1", "write (get_mut) of key 1",
);

pair!(
    debug_vs_overwrite_without_sync_is_reported,
    debug_vs_overwrite_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.insert(1, 15)),
    current: |m: &mut Map| at!("current", format!("{m:?}")),
    report: "Read (fmt) of key 1", "write (insert) of key 1",
);

pair!(
    clone_vs_overwrite_without_sync_is_reported,
    clone_vs_overwrite_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.insert(1, 16)),
    current: |m: &mut Map| at!("current", m.clone()),
    report: "Read (clone) of key 1", "write (insert) of key 1",
);

pair!(
    eq_vs_overwrite_without_sync_is_reported,
    eq_vs_overwrite_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.insert(1, 17)),
    current: |m: &mut Map| at!("current", *m == Map::from([(1, 10)])),
    report: "Read (eq) of key 1 in map#1", "write (insert) of key 1",
);

pair!(
    keys_vs_insert_new_without_sync_is_reported,
    keys_vs_insert_new_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.insert(3, 30)),
    current: |m: &mut Map| at!("current", m.keys().count()),
    report: "Read (keys) of map#1", "write (insert) of the map's structure",
);

// Row 5: clear, retain, drain, extend, reserve, shrink_to: write the structure.

pair!(
    clear_vs_get_without_sync_is_reported,
    clear_vs_get_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.get(&1).copied()),
    current: |m: &mut Map| at!("current", m.clear()),
    report: "Write (clear) of map#1", "read (get) of the map's structure",
);

pair!(
    retain_vs_get_without_sync_is_reported,
    retain_vs_get_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.get(&1).copied()),
    current: |m: &mut Map| at!("current", m.retain(|_, v| *v > 100)),
    report: "Write (retain) of map#1", "read (get) of the map's structure",
);

pair!(
    drain_vs_len_without_sync_is_reported,
    drain_vs_len_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.len()),
    current: |m: &mut Map| at!("current", m.drain().count()),
    report: "Write (drain) of map#1", "read (len) of the map's structure",
);

pair!(
    extend_vs_get_without_sync_is_reported,
    extend_vs_get_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.get(&1).copied()),
    current: |m: &mut Map| at!("current", m.extend([(5, 50), (6, 60)])),
    report: "Write (extend) of map#1", "read (get) of the map's structure",
);

pair!(
    reserve_vs_get_without_sync_is_reported,
    reserve_vs_get_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.get(&1).copied()),
    current: |m: &mut Map| at!("current", m.reserve(1000)),
    report: "Write (reserve) of map#1", "read (get) of the map's structure",
);

pair!(
    shrink_to_vs_iter_without_sync_is_reported,
    shrink_to_vs_iter_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.iter().count()),
    current: |m: &mut Map| at!("current", m.shrink_to(0)),
    report: "Write (shrink_to) of map#1", "read (iter) of the map's structure",
);

pair!(
    shrink_to_fit_vs_get_without_sync_is_reported,
    shrink_to_fit_vs_get_after_join_runs_clean,
    setup: one_key,
    previous: |m: &mut Map| at!("previous", m.get(&1).copied()),
    current: |m: &mut Map| at!("current", m.shrink_to_fit()),
    report: "Write (shrink_to_fit) of map#1", "read (get) of the map's structure",
);

// What does not conflict: reads with reads, and keys that share no memory.

scenario!(
    reads_of_the_same_key_from_two_threads_run_clean,
    {
        let mut map = Map::new();
        one_key(&mut map);
        common::unordered(
            &mut map,
            |m| m.get(&1).copied(),
            |m| {
                (
                    m.get(&1).copied(),
                    m.contains_key(&1),
                    m.len(),
                    m.iter().count(),
                    m[&1],
                )
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    overwriting_key_a_vs_reading_key_b_runs_clean,
    {
        let mut map = Map::new();
        map.insert(1, 10);
        map.insert(2, 20);
        common::unordered(&mut map, |m| m.insert(1, 11), |m| m.get(&2).copied());
    },
    |out| out.assert_clean()
);

scenario!(
    get_mut_of_key_a_vs_iterating_keys_runs_clean,
    {
        let mut map = Map::new();
        map.insert(1, 10);
        common::unordered(
            &mut map,
            |m| m.get_mut(&1).map(|v| *v = 0),
            |m| m.keys().count(),
        );
    },
    |out| out.assert_clean()
);

pair!(
    inserting_key_a_vs_reading_key_b_without_sync_is_reported,
    inserting_key_a_vs_reading_key_b_after_join_runs_clean,
    setup: |m: &mut Map| { m.insert(2, 20); },
    previous: |m: &mut Map| at!("previous", m.insert(1, 10)),
    current: |m: &mut Map| at!("current", m.get(&2).copied()),
    report: "Read (get) of key 2", "write (insert) of the map's structure",
);

// Other synchronized twins: spawning after the write, and maprace's Mutex.

scenario!(
    a_thread_spawned_after_the_write_reads_clean,
    {
        let mut map = Map::new();
        map.insert(1, 10);
        let shared = common::Shared(&mut map as *mut Map);
        std::thread::spawn(move || {
            let shared = shared;
            assert_eq!(shared.get().get(&1), Some(&10));
        })
        .join()
        .unwrap();
        map.insert(1, 11);
    },
    |out| out.assert_clean()
);

scenario!(
    every_operation_under_a_maprace_mutex_runs_clean,
    {
        use maprace::sync::{Arc, Mutex};
        let map = Arc::new(Mutex::new(Map::new()));
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let map = Arc::clone(&map);
                std::thread::spawn(move || {
                    for k in 0..50 {
                        let mut m = map.lock().unwrap();
                        m.insert(k, t);
                        m.get(&k);
                        m.retain(|_, v| *v < 4);
                        m.values_mut().for_each(|v| *v += 0);
                    }
                })
            })
            .collect();
        for _ in 0..50 {
            let m = map.lock().unwrap();
            let _ = (m.len(), m.iter().count(), format!("{m:?}").len());
        }
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(map.lock().unwrap().len(), 50);
    },
    |out| out.assert_clean()
);

// Happens-before, not timing: accesses far apart in time are still a race.

scenario!(
    accesses_fifty_milliseconds_apart,
    {
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| at!("previous", m.insert(1, 1)),
            |m| {
                std::thread::sleep(std::time::Duration::from_millis(50));
                at!("current", m.len())
            },
        );
    },
    |out| out.assert_race(
        Side {
            access: "Read (len) of map#1",
            thread: TEST_THREAD
        },
        Side {
            access: "write (insert) of the map's structure",
            thread: "writer"
        },
    )
);

#[test]
fn a_race_fifty_milliseconds_apart_is_reported_on_every_run() {
    if std::env::var("MAPRACE_CHILD").is_ok() {
        return; // only the parent repeats the scenario
    }
    for run in 0..5 {
        let out = common::child("accesses_fifty_milliseconds_apart", "", || {}).unwrap();
        if maprace::COMPILED_IN {
            assert_eq!(out.code, Some(66), "run {run}\n{out}");
            assert!(out.stderr.contains("WARNING: MAP RACE"), "run {run}\n{out}");
        } else {
            out.assert_clean();
        }
    }
}

// The end of a std::thread::scope is invisible (it waits without a join); maprace's scope is
// the drop-in that orders it, and the report says so.

scenario!(
    a_read_after_a_std_scope_is_reported_with_the_scope_hint,
    {
        let mut map = Map::new();
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("writer".into())
                .spawn_scoped(s, || at!("previous", map.insert(1, 1)))
                .unwrap();
        });
        let _ = at!("current", map.get(&1).copied());
    },
    |out| {
        out.assert_get_after_insert();
        if maprace::COMPILED_IN {
            assert!(out.stderr.contains("Thread 'writer' (T"), "{out}");
            assert!(out.stderr.contains("was created by this thread"), "{out}");
            assert!(
                out.stderr
                    .contains("the end of a std::thread::scope does not"),
                "{out}"
            );
        }
    }
);

scenario!(
    a_read_after_a_maprace_scope_runs_clean,
    {
        let mut map = Map::new();
        maprace::thread::scope(|s| {
            s.spawn(|| map.insert(1, 1));
        });
        assert_eq!(map.get(&1), Some(&1));
    },
    |out| out.assert_clean()
);
