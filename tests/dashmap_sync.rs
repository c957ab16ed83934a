//! Happens-before through a DashMap (DESIGN §2a): it follows the shards' locks. A guard's drop
//! releases, taking a guard acquires (shared: the exclusive releases; exclusive: all), so a
//! tracked map published through the map, or kept in it as a value, is ordered for the threads
//! that take it out. Each clean scenario has a twin that bypasses the map and is reported.

#![cfg(feature = "dashmap")]

mod common;
use common::{Shared, Side};
use maprace::DashMap;
use maprace::sync::Arc;
use std::sync::mpsc;

type Inner = maprace::HashMap<u64, u64>;

fn reader() -> std::thread::Builder {
    std::thread::Builder::new().name("reader".into())
}

fn writer() -> std::thread::Builder {
    std::thread::Builder::new().name("writer".into())
}

// ---------------------------------------------------------------------------------------------
// A value published through the map.

scenario!(
    a_tracked_map_published_through_the_dashmap_is_ordered_for_its_reader,
    {
        let map: DashMap<&str, Arc<Inner>> = DashMap::new();
        let (told, heard) = mpsc::channel(); // std's: maprace cannot see it
        std::thread::scope(|s| {
            let map = &map;
            writer()
                .spawn_scoped(s, move || {
                    let mut inner = Inner::new();
                    inner.insert(1, 10);
                    map.insert("config", Arc::new(inner));
                    told.send(()).unwrap();
                })
                .unwrap();
            reader()
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    let config = map.get("config").unwrap();
                    assert_eq!(config.get(&1), Some(&10));
                })
                .unwrap();
        });
    },
    |out| out.assert_clean()
);

scenario!(
    a_tracked_map_written_after_it_was_published_is_a_race_with_its_reader,
    {
        let map: DashMap<&str, Arc<Inner>> = DashMap::new();
        let (told, heard) = mpsc::channel();
        let (done, finished) = mpsc::channel::<()>();
        std::thread::scope(|s| {
            let map = &map;
            writer()
                .spawn_scoped(s, move || {
                    let inner = Arc::new(Inner::new());
                    let raw = Shared(Arc::as_ptr(&inner).cast_mut());
                    map.insert("config", inner);
                    // After the publication, behind the map's back (the bug under test).
                    at!("previous", raw.get().insert(1, 10));
                    told.send(()).unwrap();
                    let _ = finished.recv();
                })
                .unwrap();
            reader()
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    let config = map.get("config").unwrap();
                    at!("current", config.get(&1));
                    drop(done);
                })
                .unwrap();
        });
    },
    |out| out.assert_race(
        Side {
            access: "Read (get) of key 1 in map#1",
            thread: "reader",
        },
        Side {
            access: "write (insert) of the map's structure",
            thread: "writer",
        },
    )
);

// ---------------------------------------------------------------------------------------------
// A tracked map kept as the value: read through a Ref on one thread, written through a RefMut
// on another (issue 12, point 4).

scenario!(
    a_tracked_map_value_read_through_a_ref_then_written_through_a_ref_mut_elsewhere_runs_clean,
    {
        let map: DashMap<u64, Inner> = DashMap::new();
        map.insert(1, Inner::new());
        map.get_mut(&1).unwrap().insert(5, 0);
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            let map = &map;
            reader()
                .spawn_scoped(s, move || {
                    assert_eq!(map.get(&1).unwrap().get(&5), Some(&0));
                    told.send(()).unwrap();
                })
                .unwrap();
            writer()
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    map.get_mut(&1).unwrap().insert(5, 1);
                    told_back(map);
                })
                .unwrap();
        });
    },
    |out| out.assert_clean()
);

/// The writer's last step: a reread through a shared guard, ordered after its own write.
fn told_back(map: &DashMap<u64, Inner>) {
    assert_eq!(map.get(&1).unwrap().get(&5), Some(&1));
}

scenario!(
    a_tracked_map_value_written_through_a_ref_mut_then_read_through_a_ref_elsewhere_runs_clean,
    {
        let map: DashMap<u64, Inner> = DashMap::new();
        map.insert(1, Inner::new());
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            let map = &map;
            writer()
                .spawn_scoped(s, move || {
                    map.get_mut(&1).unwrap().insert(5, 1);
                    map.alter(&1, |_, mut inner| {
                        inner.insert(6, 1);
                        inner
                    });
                    told.send(()).unwrap();
                })
                .unwrap();
            reader()
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    assert_eq!(map.get(&1).unwrap().get(&5), Some(&1));
                    assert_eq!(map.view(&1, |_, inner| inner.len()), Some(2));
                })
                .unwrap();
        });
    },
    |out| out.assert_clean()
);

scenario!(
    a_tracked_map_value_written_around_the_map_after_a_read_through_a_ref_is_a_race,
    {
        let map: DashMap<u64, Inner> = DashMap::new();
        map.insert(1, Inner::new());
        map.get_mut(&1).unwrap().insert(5, 0);
        let raw = {
            let mut inner = map.get_mut(&1).unwrap();
            Shared(&mut *inner as *mut Inner)
        };
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            let map = &map;
            reader()
                .spawn_scoped(s, move || {
                    let inner = map.get(&1).unwrap();
                    at!("previous", inner.get(&5));
                    drop(inner);
                    told.send(()).unwrap();
                })
                .unwrap();
            writer()
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    // No guard: the bug under test.
                    at!("current", raw.get().insert(5, 1));
                })
                .unwrap();
        });
    },
    |out| out.assert_race(
        Side {
            access: "Write (insert) of key 5 in map#1",
            thread: "writer",
        },
        Side {
            access: "read (get) of key 5",
            thread: "reader",
        },
    )
);

// ---------------------------------------------------------------------------------------------
// A lookup that finds its key absent took the shard's lock too: it is ordered after the remove
// it observes.

fn wait_for_the_removal(tell: impl Fn(&DashMap<u64, u64>) -> bool) {
    let map = DashMap::new();
    map.insert(1u64, 1u64);
    let mut results = Inner::new();
    let shared = Shared(&mut results as *mut Inner);
    std::thread::scope(|s| {
        let map = &map;
        writer()
            .spawn_scoped(s, move || {
                let shared = shared;
                at!("previous", shared.get().insert(7, 49));
                map.remove(&1);
            })
            .unwrap();
        while tell(map) {
            std::hint::spin_loop();
        }
        at!("current", shared.get().get(&7));
    });
}

scenario!(
    a_lookup_that_observes_a_removal_is_ordered_after_it,
    { wait_for_the_removal(|map| map.contains_key(&1)) },
    |out| out.assert_clean()
);

scenario!(
    waiting_for_the_removal_with_a_try_get_is_ordered_after_it,
    { wait_for_the_removal(|map| !map.try_get(&1).is_absent()) },
    |out| out.assert_clean()
);

scenario!(
    waiting_for_the_removal_through_another_map_orders_nothing,
    {
        let flag = std::sync::atomic::AtomicBool::new(false);
        let mut results = Inner::new();
        let shared = Shared(&mut results as *mut Inner);
        std::thread::scope(|s| {
            let flag = &flag;
            writer()
                .spawn_scoped(s, move || {
                    let shared = shared;
                    at!("previous", shared.get().insert(7, 49));
                    flag.store(true, std::sync::atomic::Ordering::Release);
                })
                .unwrap();
            // A std atomic: maprace cannot see it.
            while !flag.load(std::sync::atomic::Ordering::Acquire) {
                std::hint::spin_loop();
            }
            at!("current", shared.get().get(&7));
        });
    },
    |out| out.assert_race(
        Side {
            access: "Read (get) of key 7 in map#1",
            thread: common::TEST_THREAD,
        },
        Side {
            access: "write (insert) of the map's structure",
            thread: "writer",
        },
    )
);

// ---------------------------------------------------------------------------------------------
// The map's own values when the map is dropped or consumed by a thread that did not take them
// out: its owner has acquired everything released into it.

scenario!(
    a_dashmap_dropped_by_the_last_owner_after_others_wrote_its_values_runs_clean,
    {
        let map: Arc<DashMap<u64, Inner>> = Arc::new(DashMap::new());
        map.insert(1, Inner::new());
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            let theirs = Arc::clone(&map);
            writer()
                .spawn_scoped(s, move || {
                    theirs.get_mut(&1).unwrap().insert(5, 5);
                    drop(theirs);
                    told.send(()).unwrap();
                })
                .unwrap();
            heard.recv().unwrap();
            // The last `Arc`: the map, and the tracked map in it, are dropped here.
            drop(map);
        });
    },
    |out| out.assert_clean()
);

scenario!(
    values_taken_out_of_a_consumed_dashmap_after_others_wrote_them_run_clean,
    {
        let map: Arc<DashMap<u64, Inner>> = Arc::new(DashMap::new());
        map.insert(1, Inner::new());
        map.insert(2, Inner::new());
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            let theirs = Arc::clone(&map);
            writer()
                .spawn_scoped(s, move || {
                    theirs.get_mut(&1).unwrap().insert(5, 5);
                    theirs.get_mut(&2).unwrap().insert(6, 6);
                    drop(theirs);
                    told.send(()).unwrap();
                })
                .unwrap();
            heard.recv().unwrap();
        });
        let map = Arc::try_unwrap(map).ok().unwrap();
        let view = map.into_read_only();
        assert_eq!(view.get(&1).unwrap().get(&5), Some(&5));
        let map = view.into_inner();
        let total: usize = map.into_iter().map(|(_, inner)| inner.len()).sum();
        assert_eq!(total, 2);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// iter_mut's items share one exclusive lock: sent to two threads and dropped there, both
// threads' writes are released for the next reader.

scenario!(
    iter_mut_items_written_and_dropped_on_two_threads_are_ordered_for_the_next_reader,
    {
        let map: DashMap<u64, Inner> = DashMap::with_shard_amount(2);
        for k in 0..20 {
            map.insert(k, Inner::new());
        }
        let mut items: Vec<_> = map.iter_mut().collect();
        let second_half = items.split_off(10);
        std::thread::scope(|s| {
            for half in [items, second_half] {
                s.spawn(move || {
                    for mut item in half {
                        let k = *item.key();
                        item.insert(k, k);
                    }
                });
            }
        });
        for k in 0..20 {
            assert_eq!(map.get(&k).unwrap().get(&k), Some(&k));
        }
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// Many threads, many correct operations: no false deadlock, no false race.

scenario!(
    /// (Without check-then-act: the random mix has its shapes, each thread looking at a key in
    /// one call and overwriting it blind in a later one, e.g. `contains_key(&(k + 1))` then
    /// `insert(k, ..)`, which `dashmap_check_then_act.rs` covers. This test is about races and
    /// deadlocks.)
    eight_threads_doing_10k_mixed_correct_operations_each_run_clean,
    options = "check_then_act=0",
    {
        const THREADS: u64 = 8;
        const OPS: u64 = 10_000;
        const KEYS: u64 = 64;
        let map: DashMap<u64, Inner> = DashMap::new();
        let added = std::sync::atomic::AtomicU64::new(0);
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (map, added) = (&map, &added);
                s.spawn(move || {
                    let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                    for i in 0..OPS {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let k = x % KEYS;
                        match i % 10 {
                            0 => {
                                let mut inner = Inner::new();
                                inner.insert(0, 1);
                                if map.insert(k, inner).is_none() {
                                    added.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                }
                            }
                            1 | 2 => {
                                if let Some(mut inner) = map.get_mut(&k) {
                                    *inner.entry(0).or_insert(0) += 1;
                                }
                            }
                            3 => {
                                *map.entry(k).or_default().entry(1).or_insert(0) += 1;
                            }
                            4 => {
                                map.alter(&k, |_, mut inner| {
                                    inner.insert(2, t);
                                    inner
                                });
                            }
                            5 => {
                                if map.remove(&k).is_some() {
                                    added.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                                }
                            }
                            6 => {
                                let _ = map.view(&k, |_, inner| inner.get(&0).copied());
                            }
                            7 if i % 1000 == 7 => {
                                let seen: usize = map.iter().map(|item| item.len()).sum();
                                std::hint::black_box(seen);
                            }
                            _ => {
                                if let Some(inner) = map.get(&k) {
                                    std::hint::black_box(inner.get(&0));
                                }
                                std::hint::black_box(map.contains_key(&(k + 1)));
                            }
                        }
                    }
                });
            }
        });
        // Every value is a well-formed tracked map, reachable from here.
        let mut values = 0;
        for item in map.iter() {
            values += 1;
            assert!(item.len() <= 3);
        }
        assert_eq!(values, map.len());
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// Every release reaches the next exclusive acquirer: a guard downgraded to a Ref releases into
// its reader's slot, and a map taken back by its owner (`into_read_only().into_inner()`) joins
// the slots without releasing them into the exclusive clocks: the next writer still joins them.

scenario!(
    a_tracked_map_value_read_through_a_downgraded_ref_mut_then_written_elsewhere_runs_clean,
    {
        let map: DashMap<u64, Inner> = DashMap::new();
        map.insert(0, Inner::new());
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            let map = &map;
            reader()
                .spawn_scoped(s, move || {
                    let mut inner = map.get_mut(&0).unwrap();
                    inner.insert(1, 1);
                    let inner = inner.downgrade();
                    assert_eq!(inner.get(&1), Some(&1));
                    drop(inner);
                    told.send(()).unwrap();
                })
                .unwrap();
            writer()
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    map.get_mut(&0).unwrap().insert(1, 2);
                })
                .unwrap();
        });
    },
    |out| out.assert_clean()
);

scenario!(
    a_tracked_map_value_written_around_the_map_after_a_read_through_a_downgraded_ref_mut_is_a_race,
    {
        let map: DashMap<u64, Inner> = DashMap::new();
        map.insert(0, Inner::new());
        map.get_mut(&0).unwrap().insert(1, 1);
        let raw = {
            let mut inner = map.get_mut(&0).unwrap();
            Shared(&mut *inner as *mut Inner)
        };
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            let map = &map;
            reader()
                .spawn_scoped(s, move || {
                    let inner = map.get_mut(&0).unwrap().downgrade();
                    at!("previous", inner.get(&1));
                    drop(inner);
                    told.send(()).unwrap();
                })
                .unwrap();
            writer()
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    // No guard: the bug under test.
                    at!("current", raw.get().insert(1, 2));
                })
                .unwrap();
        });
    },
    |out| out.assert_race(
        Side {
            access: "Write (insert) of key 1 in map#1",
            thread: "writer",
        },
        Side {
            access: "read (get) of key 1",
            thread: "reader",
        },
    )
);

scenario!(
    a_tracked_map_value_read_then_written_after_the_map_went_through_into_read_only_runs_clean,
    {
        let map: DashMap<u64, Inner> = DashMap::new();
        let mut inner = Inner::new();
        inner.insert(1, 1);
        map.insert(0, inner);
        // The writer starts first (a spawn would order it after everything main knew), and the
        // map goes to it through std's channel, which maprace cannot see.
        let (give, take) = mpsc::channel::<DashMap<u64, Inner>>();
        let writing = writer()
            .spawn(move || {
                let map = take.recv().unwrap();
                map.get_mut(&0).unwrap().insert(1, 2);
            })
            .unwrap();
        let map = std::sync::Arc::new(map); // std's: maprace cannot see it
        let (told, heard) = mpsc::channel();
        let reading = {
            let map = std::sync::Arc::clone(&map);
            reader()
                .spawn(move || {
                    assert_eq!(map.get(&0).unwrap().get(&1), Some(&1));
                    drop(map);
                    told.send(()).unwrap();
                })
                .unwrap()
        };
        heard.recv().unwrap();
        let map = std::sync::Arc::try_unwrap(map).ok().unwrap();
        let map = map.into_read_only().into_inner();
        give.send(map).unwrap();
        writing.join().unwrap();
        reading.join().unwrap();
    },
    |out| out.assert_clean()
);

scenario!(
    a_tracked_map_value_written_around_the_map_after_it_went_through_into_read_only_is_a_race,
    {
        let map: DashMap<u64, Inner> = DashMap::new();
        let mut inner = Inner::new();
        inner.insert(1, 1);
        map.insert(0, inner);
        let raw = {
            let mut inner = map.get_mut(&0).unwrap();
            Shared(&mut *inner as *mut Inner)
        };
        let (give, take) = mpsc::channel::<()>();
        let writing = writer()
            .spawn(move || {
                take.recv().unwrap();
                // No guard, and the map not handed over: the bug under test.
                at!("current", raw.get().insert(1, 2));
            })
            .unwrap();
        let map = std::sync::Arc::new(map);
        let (told, heard) = mpsc::channel();
        let reading = {
            let map = std::sync::Arc::clone(&map);
            reader()
                .spawn(move || {
                    let inner = map.get(&0).unwrap();
                    at!("previous", inner.get(&1));
                    drop(inner);
                    drop(map);
                    told.send(()).unwrap();
                })
                .unwrap()
        };
        heard.recv().unwrap();
        let map = std::sync::Arc::try_unwrap(map).ok().unwrap();
        let map = map.into_read_only().into_inner();
        give.send(()).unwrap();
        writing.join().unwrap();
        reading.join().unwrap();
        drop(map);
    },
    |out| out.assert_race(
        Side {
            access: "Write (insert) of key 1 in map#1",
            thread: "writer",
        },
        Side {
            access: "read (get) of key 1",
            thread: "reader",
        },
    )
);
