//! False reports and hangs found in review, each kept as the program that showed it.

// With the detector compiled out, the iterators these tests leak are std's, some without `Drop`.
#![allow(clippy::forget_non_drop)]

mod common;

use common::Shared;
use maprace::sync::Mutex;

type Map = maprace::HashMap<u32, u32>;

static LOCK: Mutex<()> = Mutex::new(());
static SHARED_MAP: Mutex<Option<usize>> = Mutex::new(None);

/// Reads the map published in `SHARED_MAP`, from a thread-local destructor.
struct ReadsInDestructor {
    release_first: bool,
}

impl Drop for ReadsInDestructor {
    fn drop(&mut self) {
        if self.release_first {
            drop(LOCK.lock().unwrap()); // a visible release: the thread's clock ticks
        }
        let address = SHARED_MAP.lock().unwrap().expect("published");
        // SAFETY: the map outlives this thread (the test joins it before using the map again).
        let map = unsafe { &*(address as *const Map) };
        assert_eq!(map.get(&1), Some(&1));
    }
}

thread_local! {
    static FIRST_TOUCH: ReadsInDestructor = const { ReadsInDestructor { release_first: false } };
    static AFTER_RELEASE: ReadsInDestructor = const { ReadsInDestructor { release_first: true } };
}

/// `pthread_join` returns after the thread's thread-local destructors: what they did is ordered
/// before what follows the join, even when they make the thread's first tracked operation, or
/// release something first.
fn destructor_then_join(key: &'static std::thread::LocalKey<ReadsInDestructor>) {
    let mut map = Map::new();
    map.insert(1, 1);
    *SHARED_MAP.lock().unwrap() = Some(&map as *const Map as usize);
    std::thread::spawn(move || key.with(|_| {})).join().unwrap();
    map.insert(1, 2);
    *SHARED_MAP.lock().unwrap() = None;
}

scenario!(
    a_map_read_first_in_a_thread_local_destructor_is_ordered_by_the_join,
    {
        destructor_then_join(&FIRST_TOUCH);
    },
    |out| out.assert_clean()
);

scenario!(
    a_map_read_after_a_release_in_a_thread_local_destructor_is_ordered_by_the_join,
    {
        destructor_then_join(&AFTER_RELEASE);
    },
    |out| out.assert_clean()
);

scenario!(
    a_relaxed_load_and_an_acquire_fence_take_the_first_release_of_an_atomic,
    {
        use maprace::sync::atomic::{AtomicU32, Ordering, fence};
        for round in 0..2000 {
            let flag = AtomicU32::new(0);
            let mut map = Map::new();
            let shared = Shared(&mut map as *mut Map);
            let go = std::sync::Barrier::new(2); // std's: orders nothing for maprace
            std::thread::scope(|s| {
                let (go, flag) = (&go, &flag);
                let writer = s.spawn(move || {
                    let shared = shared;
                    go.wait();
                    shared.get().insert(1, round);
                    flag.store(1, Ordering::Release); // this atomic's first release
                });
                go.wait();
                while flag.load(Ordering::Relaxed) == 0 {
                    std::hint::spin_loop();
                }
                fence(Ordering::Acquire);
                assert_eq!(shared.get().get(&1), Some(&round));
                writer.join().unwrap();
            });
        }
    },
    |out| out.assert_clean()
);

scenario!(
    after_a_caught_report_a_later_ordered_access_is_not_an_overlap,
    options = "action=panic",
    {
        let mut map = Map::new();
        map.insert(0, 0);
        // A true race, caught: the report panics inside `clear` (a write in progress).
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            common::unordered(&mut map, |m| m.len(), |m| m.clear());
        }));
        assert_eq!(caught.is_err(), maprace::COMPILED_IN);
        // Ordered after all of that by the spawn: nothing to report.
        let shared = Shared(&mut map as *mut Map);
        std::thread::spawn(move || {
            let shared = shared;
            shared.get().get(&0);
        })
        .join()
        .unwrap();
    },
    |out| {
        if maprace::COMPILED_IN {
            out.assert_clean_exit_after_report();
            assert!(!out.stderr.contains("in progress"), "{out}");
        } else {
            out.assert_clean();
        }
    }
);

scenario!(
    a_race_in_a_thread_local_destructor_during_exit_does_not_hang,
    {
        struct RacesAtExit(Shared<Map>);
        impl Drop for RacesAtExit {
            fn drop(&mut self) {
                self.0.get().insert(7, 7);
            }
        }
        thread_local! {
            static AT_EXIT: std::cell::RefCell<Option<RacesAtExit>> = const { std::cell::RefCell::new(None) };
        }
        let map: &'static mut Map = Box::leak(Box::new(Map::new()));
        let shared = Shared(map as *mut Map);
        let (done, finished) = std::sync::mpsc::channel();
        let writer = std::thread::spawn(move || {
            let shared = shared;
            shared.get().insert(1, 1);
            done.send(()).unwrap();
        });
        finished.recv().unwrap();
        // Armed on this thread: `exit` runs it after the first report, and it races again.
        AT_EXIT.with(|slot| *slot.borrow_mut() = Some(RacesAtExit(shared)));
        shared.get().get(&1); // the first report: the program stops here
        writer.join().unwrap();
    },
    |out| {
        if maprace::COMPILED_IN {
            out.assert_report_shape(66, "stopping at the first race (exit code 66)");
        } else {
            out.assert_clean();
        }
    }
);

scenario!(
    with_action_panic_every_race_is_reported,
    options = "action=panic",
    {
        // Two different races, each caught: both are reported (the first must not silence the rest).
        let mut first = Map::new();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            common::unordered(&mut first, |m| m.insert(1, 1), |m| m.get(&1).copied())
        }));
        assert_eq!(caught.is_err(), maprace::COMPILED_IN);
        let mut second = Map::new();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            common::unordered(&mut second, |m| m.insert(2, 2), |m| m.len())
        }));
        assert_eq!(caught.is_err(), maprace::COMPILED_IN);
    },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_clean();
        }
        assert_eq!(out.code, Some(0), "{out}");
        assert!(out.stdout.contains(common::DONE), "{out}");
        // Each printed, and raised as the message of the panic that was caught.
        assert_eq!(out.stderr.matches("WARNING: MAP RACE").count(), 4, "{out}");
        assert_eq!(
            out.stderr.matches(common::PANICKED_WITH_REPORT).count(),
            2,
            "{out}"
        );
        assert!(out.stderr.contains("Read (get) of key 1 in map#1"), "{out}");
        assert!(out.stderr.contains("Read (len) of map#2"), "{out}");
    }
);

/// A key whose `Hash` panics once `HASHES_LEFT` calls have been made (it starts unlimited).
#[derive(PartialEq, Eq)]
struct PanicsWhenHashed(u32);

static HASHES_LEFT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(i64::MAX);

impl std::hash::Hash for PanicsWhenHashed {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        use std::sync::atomic::Ordering::Relaxed;
        if HASHES_LEFT.fetch_sub(1, Relaxed) <= 0 {
            panic!("the key's Hash panics");
        }
        self.0.hash(state);
    }
}

scenario!(
    issue_10_5_a_key_whose_hash_panics_while_the_report_is_made_still_gets_its_report,
    {
        let mut map = maprace::HashMap::new();
        common::unordered(
            &mut map,
            |m| at!("previous", m.insert(PanicsWhenHashed(1), 1)),
            |m| {
                // `get` checks the map's structure before its lookup hashes the key: the next
                // hash is the report's, and it panics. (Compiled out, no report hashes it.)
                let left = if maprace::COMPILED_IN { 0 } else { i64::MAX };
                HASHES_LEFT.store(left, std::sync::atomic::Ordering::Relaxed);
                at!("current", m.get(&PanicsWhenHashed(1)).copied())
            },
        );
    },
    |out| {
        out.assert_race(
            common::Side {
                access: "Read (get) of key <unprintable: its Hash panicked> (PanicsWhenHashed) in map#1",
                thread: common::TEST_THREAD,
            },
            common::Side {
                access: "write (insert) of the map's structure",
                thread: "writer",
            },
        );
    }
);

scenario!(
    issue_10_9_a_race_repeated_10k_times_is_reported_once_and_made_once,
    options = "halt_on_error=0",
    {
        const N: usize = 10_000;
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| at!("previous", m.insert(1, 1)),
            // The same two sites each time: one race, made into a report once.
            |m| at!("current", (0..N).filter(|_| m.contains_key(&1)).count()),
        );
        println!("reports made: {}", maprace::__private::race_reports_made());
    },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_clean();
        }
        assert_eq!(out.code, Some(66), "{out}");
        assert!(out.stdout.contains(common::DONE), "{out}");
        out.assert_sides(
            common::Side {
                access: "Read (contains_key) of key 1 in map#1",
                thread: common::TEST_THREAD,
            },
            common::get_after_insert().1,
        );
        assert_eq!(out.stderr.matches("WARNING: MAP RACE").count(), 1, "{out}");
        assert!(
            out.stderr.trim_end().ends_with("maprace: found 1 race(s)"),
            "{out}"
        );
        assert!(out.stdout.contains("reports made: 1\n"), "{out}");
    }
);

/// Leaks an iterator that writes the map as it goes (`mem::forget`, safe code), then reads the
/// map's length on a thread spawned afterwards (ordered after the leak by the spawn).
fn leak_then_len_on_a_later_thread<M: Sync>(
    map: &mut M,
    leak: impl FnOnce(&mut M),
    len: fn(&M) -> usize,
) -> usize {
    leak(map);
    let map = &*map;
    maprace::thread::scope(|s| s.spawn(|| len(map)).join().unwrap())
}

type Tree = maprace::BTreeMap<u32, u32>;

scenario!(
    issue_10_2_a_forgotten_hash_map_drain_leaves_the_map_usable,
    {
        let mut map = Map::from([(1, 1), (2, 2)]);
        let leak = |m: &mut Map| {
            let mut drain = m.drain();
            drain.next();
            std::mem::forget(drain);
        };
        // std's drain leaves the map empty when leaked.
        assert_eq!(leak_then_len_on_a_later_thread(&mut map, leak, Map::len), 0);
    },
    |out| out.assert_clean()
);

scenario!(
    issue_10_2_a_forgotten_hash_map_extract_if_leaves_the_map_usable,
    {
        let mut map = Map::from([(1, 1), (2, 2)]);
        let leak = |m: &mut Map| std::mem::forget(m.extract_if(|_, _| true));
        assert_eq!(leak_then_len_on_a_later_thread(&mut map, leak, Map::len), 2);
    },
    |out| out.assert_clean()
);

scenario!(
    issue_10_2_a_forgotten_btree_map_extract_if_leaves_the_map_usable,
    {
        let mut map = Tree::from([(1, 1), (2, 2)]);
        let leak = |m: &mut Tree| {
            let mut extract = m.extract_if(.., |_, _| true);
            extract.next();
            std::mem::forget(extract);
        };
        assert_eq!(
            leak_then_len_on_a_later_thread(&mut map, leak, Tree::len),
            1
        );
    },
    |out| out.assert_clean()
);

/// The race each of the leaks above would be without the spawn's order: the test thread's
/// `len` against the writer's `op`, made by the leaked iterator.
fn assert_len_after_leak_race(out: &common::Outcome, map: &str, op: &str) {
    out.assert_race(
        common::Side {
            access: &format!("Read (len) of map#1 ({map})"),
            thread: common::TEST_THREAD,
        },
        common::Side {
            access: &format!("write ({op}) of the map's structure at"),
            thread: "writer",
        },
    );
}

scenario!(
    issue_10_2_a_forgotten_drain_unordered_with_a_later_access_is_still_a_race,
    {
        let mut map = Map::from([(1, 1)]);
        common::unordered(
            &mut map,
            |m| at!("previous", std::mem::forget(m.drain())),
            |m| at!("current", m.len()),
        );
    },
    |out| assert_len_after_leak_race(&out, "HashMap<u32, u32>", "drain")
);

scenario!(
    issue_10_2_a_forgotten_btree_extract_if_unordered_with_a_later_access_is_still_a_race,
    {
        let mut map = Tree::from([(1, 1)]);
        common::unordered(
            &mut map,
            |m| at!("previous", std::mem::forget(m.extract_if(.., |_, _| true))),
            |m| at!("current", m.len()),
        );
    },
    |out| assert_len_after_leak_race(&out, "BTreeMap<u32, u32>", "extract_if")
);

scenario!(
    issue_10_2_an_access_between_two_steps_of_a_live_extract_if_is_a_race,
    {
        // The writer makes an `extract_if` and takes one step, then the test's thread reads the
        // length (a std channel between them: no edge for maprace) while the iterator lives.
        let mut map = Tree::from([(1, 1), (2, 2)]);
        let shared = Shared(&mut map as *mut Tree);
        let (stepped, took_a_step) = std::sync::mpsc::channel();
        let (read, was_read) = std::sync::mpsc::channel::<()>();
        let writer = std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || {
                let shared = shared;
                // Each step's write is made at the site of the `extract_if` call.
                let mut extract = at!("previous", shared.get().extract_if(.., |_, _| true));
                extract.next();
                stepped.send(()).unwrap();
                let _ = was_read.recv();
                extract.next();
            })
            .unwrap();
        took_a_step.recv().unwrap();
        assert_eq!(at!("current", shared.get().len()), 1);
        drop(read);
        writer.join().unwrap();
    },
    // Unordered with the write of the writer's step, which is over (not "in progress").
    |out| assert_len_after_leak_race(&out, "BTreeMap<u32, u32>", "extract_if")
);
