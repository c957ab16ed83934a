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
