//! `maprace::sync` locks: Mutex, RwLock, Condvar, Barrier. Each synchronized program runs clean;
//! its twin that misuses the primitive is reported with both sites.

mod common;
use common::{Shared, Side};
use maprace::sync::{Arc, Barrier, Condvar, Mutex, RwLock};
use std::time::Instant;

type Map = maprace::HashMap<u32, u32>;

fn writer() -> std::thread::Builder {
    std::thread::Builder::new().name("writer".into())
}

scenario!(
    insert_and_get_under_the_same_mutex_run_clean,
    {
        let lock = Mutex::new(());
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| {
                let _held = lock.lock().unwrap();
                m.insert(1, 1);
            },
            |m| {
                let _held = lock.lock().unwrap();
                m.get(&1);
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    insert_and_get_under_two_different_mutexes_are_reported,
    {
        let (a, b) = (Mutex::new(()), Mutex::new(()));
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| {
                let _held = a.lock().unwrap();
                at!("previous", m.insert(1, 1));
            },
            |m| {
                let _held = b.lock().unwrap();
                at!("current", m.get(&1));
            },
        );
    },
    |out| out.assert_get_after_insert()
);

/// A lock taken back by the thread that released it last: the writer releases the mutex, this
/// thread takes it in between (and so has seen that release), the writer takes it twice more
/// and inserts under it; then this thread reads, under the mutex (`locked`) or not. The turns
/// are told through std channels, which maprace cannot see. (maprace keeps a thread in one
/// epoch while nobody else takes its lock: this checks that one taker in between ends that.)
fn lock_taken_back(locked: bool) {
    let lock = Mutex::new(());
    let mut map = Map::new();
    let shared = Shared(&mut map as *mut Map);
    let (to_writer, writer_turn) = std::sync::mpsc::channel::<()>();
    let (to_reader, reader_turn) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|s| {
        let lock = &lock;
        let writer = writer()
            .spawn_scoped(s, move || {
                let shared = shared;
                drop(lock.lock().unwrap());
                to_reader.send(()).unwrap();
                writer_turn.recv().unwrap();
                drop(lock.lock().unwrap());
                let held = lock.lock().unwrap();
                at!("previous", shared.get().insert(1, 1));
                drop(held);
                to_reader.send(()).unwrap();
                let _ = writer_turn.recv(); // stays alive until the read is over
            })
            .unwrap();
        reader_turn.recv().unwrap();
        drop(lock.lock().unwrap()); // sees the writer's first release
        to_writer.send(()).unwrap();
        reader_turn.recv().unwrap();
        let held = locked.then(|| lock.lock().unwrap());
        at!("current", shared.get().get(&1));
        drop(held);
        drop(to_writer);
        writer.join().unwrap();
    });
}

scenario!(
    a_read_under_the_lock_its_writer_took_back_runs_clean,
    { lock_taken_back(true) },
    |out| out.assert_clean()
);

scenario!(
    a_read_without_the_lock_its_writer_took_back_is_reported,
    { lock_taken_back(false) },
    |out| out.assert_get_after_insert()
);

/// An epoch resumed under one lock and released into two: the writer takes `outer` back (its
/// epoch goes on), takes and releases `inner` inside it, then releases `outer`; this thread
/// takes `outer` (and so has seen the writer's epoch then); the writer takes `inner` back
/// (nobody took it since) and inserts under it. This thread then reads under `inner`
/// (`locked`: ordered) or under `outer` alone, which orders nothing after the writer's release
/// of it. (Taking `inner` back once let the writer's epoch go on, though `outer` held it too.)
fn nested_lock_taken_back(locked: bool) {
    let (outer, inner) = (Mutex::new(()), Mutex::new(()));
    let mut map = Map::new();
    let shared = Shared(&mut map as *mut Map);
    let (to_writer, writer_turn) = std::sync::mpsc::channel::<()>();
    let (to_reader, reader_turn) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|s| {
        let (outer, inner) = (&outer, &inner);
        let writer = writer()
            .spawn_scoped(s, move || {
                let shared = shared;
                drop(outer.lock().unwrap());
                let held = outer.lock().unwrap(); // taken back: the epoch goes on
                drop(inner.lock().unwrap());
                drop(held);
                to_reader.send(()).unwrap();
                writer_turn.recv().unwrap();
                let held = inner.lock().unwrap(); // taken back, but `outer` was taken
                at!("previous", shared.get().insert(1, 1));
                drop(held);
                to_reader.send(()).unwrap();
                let _ = writer_turn.recv(); // stays alive until the read is over
            })
            .unwrap();
        reader_turn.recv().unwrap();
        drop(outer.lock().unwrap()); // sees the writer's release of `outer`
        to_writer.send(()).unwrap();
        reader_turn.recv().unwrap();
        let held = if locked {
            inner.lock().unwrap()
        } else {
            outer.lock().unwrap()
        };
        at!("current", shared.get().get(&1));
        drop(held);
        drop(to_writer);
        writer.join().unwrap();
    });
}

scenario!(
    a_read_under_the_inner_lock_its_writer_took_back_runs_clean,
    { nested_lock_taken_back(true) },
    |out| out.assert_clean()
);

scenario!(
    a_read_under_the_outer_lock_after_the_writer_took_the_inner_one_back_is_reported,
    { nested_lock_taken_back(false) },
    |out| out.assert_get_after_insert()
);

scenario!(
    a_write_after_readers_of_the_same_rwlock_runs_clean,
    {
        let lock = RwLock::new(());
        let mut map = Map::new();
        map.insert(1, 1);
        common::unordered(
            &mut map,
            |m| {
                let _read = lock.read().unwrap();
                m.get(&1);
            },
            |m| {
                let _write = lock.write().unwrap();
                m.insert(1, 2);
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    a_read_under_an_rwlock_then_a_write_under_another_is_reported,
    {
        let (a, b) = (RwLock::new(()), RwLock::new(()));
        let mut map = Map::new();
        map.insert(1, 1);
        common::unordered(
            &mut map,
            |m| {
                let _read = a.read().unwrap();
                at!("previous", m.get(&1));
            },
            |m| {
                let _write = b.write().unwrap();
                at!("current", m.insert(1, 2));
            },
        );
    },
    |out| out.assert_race(
        Side {
            access: "Write (insert) of key 1 in map#1",
            thread: common::TEST_THREAD,
        },
        Side {
            access: "read (get)",
            thread: "writer",
        },
    )
);

scenario!(
    a_write_then_a_read_of_the_same_rwlock_runs_clean,
    {
        let lock = RwLock::new(());
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| {
                let _write = lock.write().unwrap();
                m.insert(1, 1);
            },
            |m| {
                let _read = lock.try_read().unwrap();
                m.get(&1);
            },
        );
    },
    |out| out.assert_clean()
);

/// A producer thread and a consumer (this thread) that waits on a condvar for `ready`; the
/// producer inserts before (`inside`) or after (`!inside`) it sets `ready` under the mutex.
fn condvar_handoff(inside: bool) {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let mut map = Map::new();
    let shared = Shared(&mut map as *mut Map);
    let (done, finished) = std::sync::mpsc::channel();
    let producer = {
        let pair = Arc::clone(&pair);
        writer()
            .spawn(move || {
                let shared = shared;
                if inside {
                    shared.get().insert(1, 1);
                }
                *pair.0.lock().unwrap() = true;
                pair.1.notify_one();
                if !inside {
                    at!("previous", shared.get().insert(1, 1));
                }
                done.send(()).unwrap();
            })
            .unwrap()
    };
    let (lock, ready) = &*pair;
    let guard = ready.wait_while(lock.lock().unwrap(), |r| !*r).unwrap();
    drop(guard);
    finished.recv().unwrap(); // in real time only: a std channel is invisible
    at!("current", shared.get().get(&1));
    producer.join().unwrap();
}

scenario!(
    an_insert_before_the_condvar_notification_runs_clean,
    { condvar_handoff(true) },
    |out| out.assert_clean()
);

scenario!(
    an_insert_after_the_condvar_notification_is_reported,
    { condvar_handoff(false) },
    |out| out.assert_get_after_insert()
);

scenario!(
    condvar_wait_and_wait_timeout_reacquire_the_mutex_clock,
    {
        let pair = Arc::new((Mutex::new(0), Condvar::new()));
        let mut map = Map::new();
        let shared = Shared(&mut map as *mut Map);
        let producer = {
            let pair = Arc::clone(&pair);
            writer()
                .spawn(move || {
                    let shared = shared;
                    for step in 1..=2 {
                        let mut current = pair.0.lock().unwrap();
                        shared.get().insert(step, step);
                        *current = step;
                        drop(current);
                        pair.1.notify_all();
                    }
                })
                .unwrap()
        };
        let (lock, cv) = &*pair;
        let mut step = lock.lock().unwrap();
        while *step < 1 {
            step = cv.wait(step).unwrap();
        }
        shared.get().get(&1);
        while *step < 2 {
            step = cv
                .wait_timeout(step, std::time::Duration::from_millis(5))
                .unwrap()
                .0;
        }
        shared.get().get(&2);
        let (step, timeout) = cv
            .wait_timeout_while(step, std::time::Duration::from_millis(1), |s| *s < 3)
            .unwrap();
        assert!(timeout.timed_out());
        drop(step);
        producer.join().unwrap();
    },
    |out| out.assert_clean()
);

/// Two threads meet at a barrier; the writer inserts before it, this thread reads after
/// (`after_barrier`) or before it.
fn barrier_phase(after_barrier: bool) {
    let barrier = Arc::new(Barrier::new(2));
    let mut map = Map::new();
    let shared = Shared(&mut map as *mut Map);
    let (inserted, seen) = std::sync::mpsc::channel();
    let other = {
        let barrier = Arc::clone(&barrier);
        writer()
            .spawn(move || {
                let shared = shared;
                at!("previous", shared.get().insert(1, 1));
                inserted.send(()).unwrap();
                barrier.wait();
            })
            .unwrap()
    };
    seen.recv().unwrap(); // in real time only
    if after_barrier {
        barrier.wait();
        shared.get().get(&1);
    } else {
        at!("current", shared.get().get(&1));
        barrier.wait();
    }
    other.join().unwrap();
}

scenario!(
    a_read_after_the_barrier_runs_clean,
    { barrier_phase(true) },
    |out| out.assert_clean()
);

scenario!(
    a_read_before_the_barrier_is_reported,
    { barrier_phase(false) },
    |out| out.assert_get_after_insert()
);

scenario!(
    barrier_phases_repeat_and_a_fast_thread_does_not_leak_into_the_next_phase,
    {
        // Each round: every thread writes its own key, then after the barrier reads all keys.
        const N: u32 = 4;
        let barrier = Arc::new(Barrier::new(N as usize));
        let mut maps: Vec<Map> = (0..N).map(|_| Map::new()).collect();
        let shared = Shared(&mut maps as *mut Vec<Map>);
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..N)
                .map(|me| {
                    let barrier = Arc::clone(&barrier);
                    s.spawn(move || {
                        let shared = shared;
                        for round in 0..20 {
                            shared.get()[me as usize].insert(round, me);
                            barrier.wait();
                            for map in shared.get().iter() {
                                assert!(map.get(&round).is_some());
                            }
                            barrier.wait();
                        }
                    })
                })
                .collect();
            for worker in workers {
                worker.join().unwrap();
            }
        });
    },
    |out| out.assert_clean()
);

scenario!(
    sixty_four_threads_inserting_under_a_mutex_run_clean,
    {
        let start = Instant::now();
        let map = Arc::new(Mutex::new(maprace::HashMap::new()));
        let threads: Vec<_> = (0..64u32)
            .map(|t| {
                let map = Arc::clone(&map);
                std::thread::spawn(move || {
                    for k in 0..200u32 {
                        map.lock().unwrap().insert(t * 1000 + k, k);
                        map.lock().unwrap().get(&(t * 1000));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(map.lock().unwrap().len(), 64 * 200);
        println!(
            "maprace-test: 64 threads x 200 inserts under a Mutex: {:?}",
            start.elapsed()
        );
    },
    |out| {
        out.assert_clean();
        let time = out.stdout.lines().find(|l| l.contains("64 threads"));
        eprintln!("{}", time.unwrap_or("no time"));
    }
);

scenario!(
    a_poisoned_mutex_still_hands_over_its_clock,
    {
        let lock = Arc::new(Mutex::new(Map::new()));
        let poisoner = {
            let lock = Arc::clone(&lock);
            std::thread::spawn(move || {
                let mut map = lock.lock().unwrap();
                map.insert(1, 1);
                panic!("poison the lock");
            })
        };
        assert!(poisoner.join().is_err());
        assert!(lock.is_poisoned());
        let map = lock.lock().unwrap_err().into_inner();
        assert_eq!(map.get(&1), Some(&1));
    },
    |out| out.assert_clean()
);

scenario!(
    a_condvar_condition_that_panics_still_releases_into_the_mutex,
    {
        // The condition writes the map under the lock, then panics: std's wait_while unwinds and
        // unlocks (poisoning the mutex), and the next thread to lock is ordered after the write.
        let map = Mutex::new(Map::new());
        let ready = Condvar::new();
        let mut unused = Map::new();
        common::unordered(
            &mut unused,
            |_| {
                let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let _guard = ready.wait_while(map.lock().unwrap(), |m| {
                        m.insert(1, 1);
                        panic!("the condition fails after its insert");
                    });
                }));
                assert!(failed.is_err());
            },
            |_| {
                let guard = map.lock().unwrap_err().into_inner();
                guard.get(&1);
            },
        );
    },
    |out| out.assert_clean()
);
