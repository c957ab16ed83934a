//! Vector-clock slots are reused (a thread takes over the slot of one its parent has joined), so
//! clocks grow with the threads alive, not with every thread a program started. Reuse must not
//! change a verdict, nor the thread a report names.

mod common;

use common::{Shared, Side, TEST_THREAD};
use std::sync::mpsc;
use std::thread;

type Map = maprace::HashMap<u32, u32>;

fn named(name: &str) -> thread::Builder {
    thread::Builder::new().name(name.into())
}

scenario!(
    threads_that_take_over_joined_slots_stay_ordered_after_them,
    {
        let mut map = Map::new();
        let shared = Shared(&mut map as *mut Map);
        // Each thread is joined before the next starts: every one may reuse its predecessor's slot,
        // and each reads what the previous one wrote.
        for round in 0..50 {
            named(&format!("round {round}"))
                .spawn(move || {
                    let shared = shared;
                    let map = shared.get();
                    if round > 0 {
                        assert_eq!(map.get(&(round - 1)), Some(&(round - 1)));
                    }
                    map.insert(round, round);
                })
                .unwrap()
                .join()
                .unwrap();
        }
        assert_eq!(map.len(), 50);
    },
    |out| out.assert_clean()
);

scenario!(
    a_report_names_the_thread_that_made_the_access_not_the_slots_later_owner,
    {
        let mut map = Map::new();
        let shared = Shared(&mut map as *mut Map);
        let (go, wait) = mpsc::channel::<()>();
        // "unsynced" starts before "first" ends and never synchronizes with it.
        let unsynced = named("unsynced")
            .spawn(move || {
                let shared = shared;
                wait.recv().unwrap();
                at!("current", shared.get().get(&1).copied())
            })
            .unwrap();
        let first = named("first")
            .spawn(move || {
                let shared = shared;
                at!("previous", shared.get().insert(1, 1))
            })
            .unwrap();
        first.join().unwrap();
        // Joined: "second" may take over "first"'s slot. Its own access is ordered after "first"'s.
        named("second")
            .spawn(move || {
                let shared = shared;
                assert_eq!(shared.get().get(&1), Some(&1));
            })
            .unwrap()
            .join()
            .unwrap();
        go.send(()).unwrap();
        let _ = unsynced.join();
        drop(map);
    },
    |out| {
        out.assert_race(
            Side {
                access: "Read (get) of key 1",
                thread: "unsynced",
            },
            Side {
                access: "write (insert) of the map's structure",
                thread: "first",
            },
        );
        if maprace::COMPILED_IN {
            assert!(!out.stderr.contains("'second'"), "{out}");
        }
    }
);

scenario!(
    a_thread_that_ended_without_a_join_keeps_its_slot_and_is_reported,
    {
        let mut map = Map::new();
        let (done, ended) = mpsc::channel();
        let shared = Shared(&mut map as *mut Map);
        // Detached: its end is seen (so its slot is free), but nothing acquires its clock.
        drop(
            named("detached")
                .spawn(move || {
                    let shared = shared;
                    at!("previous", shared.get().insert(1, 1));
                    done.send(()).unwrap();
                })
                .unwrap(),
        );
        ended.recv().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        // This thread's parent (the test thread) never joined "detached": no slot to take over.
        named("later").spawn(|| ()).unwrap().join().unwrap();
        let _ = at!("current", map.get(&1).copied());
    },
    |out| out.assert_race(
        Side {
            access: "Read (get) of key 1",
            thread: TEST_THREAD
        },
        Side {
            access: "write (insert) of the map's structure",
            thread: "detached"
        },
    )
);

/// Spawns `n` threads one after the other, each making a tracked operation; `join`: joined,
/// else detached (the next starts once the previous has told it is done, through a channel
/// maprace does not see).
fn spawn_in_sequence(n: usize, join: bool) {
    for i in 0..n as u32 {
        let (done, finished) = mpsc::channel();
        let handle = thread::spawn(move || {
            let mut own = Map::new();
            own.insert(i, i);
            done.send(()).unwrap();
        });
        finished.recv().unwrap();
        if join {
            handle.join().unwrap();
        }
    }
}

// Issue 10, point 10: a detached thread's slot was never reused, so clocks grew with every
// thread ever detached, and each spawn copied them (30k detached threads: 28.6 s, joined 1.65).
scenario!(
    thirty_thousand_detached_threads_share_a_bounded_number_of_slots,
    {
        spawn_in_sequence(30_000, false);
        let stats = maprace::stats();
        println!(
            "slots {}, records {}",
            stats.thread_slots, stats.thread_records
        );
        if maprace::COMPILED_IN {
            assert!(stats.threads > 30_000, "{stats:?}");
            // The quarantine (256), and the few threads alive or ending at any time.
            assert!(stats.thread_slots <= 256 + 64, "{stats:?}");
        }
    },
    |out| out.assert_clean()
);

/// Resident memory, in KB (for the test's output only: the assertion is on the counters).
fn resident_kb() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split(' ')
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

// Issue 10, point 11: about 1 KB per thread ever created (name, creation stack) was kept.
scenario!(
    a_hundred_thousand_threads_in_sequence_keep_the_registry_bounded,
    {
        spawn_in_sequence(50_000, true);
        let half = maprace::stats();
        let half_kb = resident_kb();
        spawn_in_sequence(50_000, true);
        let all = maprace::stats();
        println!(
            "after 50k threads: records {}, slots {}, {half_kb} KB; after 100k: records {}, slots {}, {} KB",
            half.thread_records,
            half.thread_slots,
            all.thread_records,
            all.thread_slots,
            resident_kb()
        );
        if maprace::COMPILED_IN {
            assert!(all.threads > 100_000, "{all:?}");
            assert_eq!(
                all.thread_records, half.thread_records,
                "no growth: {all:?}"
            );
            // 4096 ended threads' records (1024 of them with details), and the live ones.
            assert!(all.thread_records <= 4096 + 16, "{all:?}");
            assert!(all.thread_slots <= 16, "{all:?}");
        }
    },
    |out| out.assert_clean()
);

/// Spawns "writer", which inserts key 1 and is never joined (it ends, detached).
fn detached_writer(map: &mut Map) {
    let shared = Shared(map as *mut Map);
    let (done, written) = mpsc::channel();
    drop(
        named("writer")
            .spawn(move || {
                let shared = shared;
                at!("previous", shared.get().insert(1, 1));
                done.send(()).unwrap();
            })
            .unwrap(),
    );
    written.recv().unwrap();
}

scenario!(
    a_detached_thread_keeps_its_slot_while_less_than_256_later_ones_ended,
    {
        let mut map = Map::new();
        detached_writer(&mut map);
        spawn_in_sequence(200, false);
        let _ = at!("current", map.get(&1).copied());
    },
    |out| out.assert_race(
        Side {
            access: "Read (get) of key 1",
            thread: TEST_THREAD
        },
        Side {
            access: "write (insert) of the map's structure",
            thread: "writer"
        },
    )
);

scenario!(
    a_thread_on_a_slot_given_up_by_a_detached_thread_is_checked_as_its_own,
    {
        let mut map = Map::new();
        let shared = Shared(&mut map as *mut Map);
        // 300 detached threads: the first ones' slots leave the quarantine.
        spawn_in_sequence(300, false);
        // The heir is the first thread that takes a slot given up (the number of slots stays
        // the same); until then (the last ends may not be seen yet), candidates end detached.
        let (stop, stopped) = mpsc::channel::<()>();
        let mut stopped = Some(stopped);
        let mut heir = None;
        for _ in 0..1000 {
            let slots = maprace::stats().thread_slots;
            let (go, wait) = mpsc::channel::<bool>();
            let (done, written) = mpsc::channel();
            let stopped_here = stopped.take().unwrap();
            let (back, returned) = mpsc::channel();
            let candidate = named("heir")
                .spawn(move || {
                    let shared = shared;
                    if wait.recv().unwrap() {
                        at!("previous", shared.get().insert(1, 1));
                        done.send(()).unwrap();
                        let _ = stopped_here.recv();
                    } else {
                        back.send(stopped_here).unwrap();
                    }
                })
                .unwrap();
            if !maprace::COMPILED_IN || maprace::stats().thread_slots == slots {
                go.send(true).unwrap();
                written.recv().unwrap();
                heir = Some(candidate);
                break;
            }
            go.send(false).unwrap();
            stopped = Some(returned.recv().unwrap());
            drop(candidate); // detached: its slot is not one a join gives back
        }
        let heir = heir.expect("no thread took over a slot given up");
        let _ = at!("current", map.get(&1).copied());
        drop(stop);
        heir.join().unwrap();
    },
    |out| out.assert_race(
        Side {
            access: "Read (get) of key 1",
            thread: TEST_THREAD
        },
        Side {
            access: "write (insert) of the map's structure",
            thread: "heir"
        },
    )
);

scenario!(
    a_race_with_a_thread_whose_details_were_dropped_names_its_serial,
    {
        let mut map = Map::new();
        println!("writer's serial: T{}", maprace::stats().threads);
        detached_writer(&mut map);
        // More ended threads than the registry keeps the details of (1024).
        spawn_in_sequence(1100, true);
        let _ = at!("current", map.get(&1).copied());
    },
    |out| {
        out.assert_race(
            Side {
                access: "Read (get) of key 1",
                thread: TEST_THREAD,
            },
            Side {
                access: "write (insert) of the map's structure",
                thread: "?",
            },
        );
        if maprace::COMPILED_IN {
            let serial = out
                .stdout
                .lines()
                .find_map(|l| l.split_once("writer's serial: ").map(|(_, s)| s))
                .unwrap();
            let label = format!(
                "  by thread '?' ({serial}, ended; its name and creation stack were not kept)"
            );
            assert!(out.stderr.lines().any(|l| l == label), "{label:?}\n{out}");
            let creation = |l: &str| l.starts_with("Thread '?'") && l.ends_with("created at:");
            assert!(
                !out.stderr.lines().any(creation),
                "no creation stack: {out}"
            );
        }
    }
);
