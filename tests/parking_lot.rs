//! `maprace::parking_lot` (the `parking_lot` feature): each synchronized program runs clean; its
//! twin that misuses the primitive (a map accessed outside the lock, or under another lock) is
//! reported with both sites.
#![cfg(feature = "parking_lot")]

mod common;
use common::{Shared, Side};
use maprace::parking_lot::{
    Condvar, MutexGuard, Once, ReentrantMutex, RwLock, RwLockReadGuard, RwLockUpgradableReadGuard,
    RwLockWriteGuard, const_mutex, const_rwlock,
};
use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Map = maprace::HashMap<u32, u32>;
type Mutex<T> = maprace::parking_lot::Mutex<T>;

fn writer() -> std::thread::Builder {
    std::thread::Builder::new().name("writer".into())
}

/// The test thread's write of key 1 after the writer's read of it.
fn write_after_read() -> (Side<'static>, Side<'static>) {
    (
        Side {
            access: "Write (insert) of key 1 in map#1",
            thread: common::TEST_THREAD,
        },
        Side {
            access: "read (get)",
            thread: "writer",
        },
    )
}

scenario!(
    insert_and_get_under_the_same_parking_lot_mutex_run_clean,
    {
        let lock = Mutex::new(());
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| {
                let _held = lock.lock();
                m.insert(1, 1);
            },
            |m| {
                let _held = lock.lock();
                m.get(&1);
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    a_get_outside_the_parking_lot_mutex_is_reported,
    {
        let lock = Mutex::new(());
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| {
                let _held = lock.lock();
                at!("previous", m.insert(1, 1));
            },
            |m| at!("current", m.get(&1).copied()),
        );
    },
    |out| out.assert_get_after_insert()
);

scenario!(
    insert_and_get_under_two_different_parking_lot_mutexes_are_reported,
    {
        let (a, b) = (Mutex::new(()), Mutex::new(()));
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| {
                let _held = a.lock();
                at!("previous", m.insert(1, 1));
            },
            |m| {
                let _held = b.lock();
                at!("current", m.get(&1));
            },
        );
    },
    |out| out.assert_get_after_insert()
);

scenario!(
    the_guard_methods_hand_the_clock_over_as_lock_and_unlock_do,
    {
        // A map inside the mutex, written through every way parking_lot locks or unlocks:
        // `try_lock`, `try_lock_for`, `try_lock_until`, `map`, `bump`, `unlock_fair`, `unlocked`.
        let lock = Arc::new(Mutex::new(Map::new()));
        let other = {
            let lock = Arc::clone(&lock);
            writer()
                .spawn(move || {
                    lock.try_lock_for(Duration::from_secs(10))
                        .unwrap()
                        .insert(1, 1);
                    let mut mapped = MutexGuard::map(lock.lock(), |m| m);
                    mapped.insert(2, 2);
                    drop(mapped);
                    let mut guard = lock.lock();
                    guard.insert(3, 3);
                    MutexGuard::bump(&mut guard);
                    guard.insert(4, 4);
                    MutexGuard::unlock_fair(guard);
                    let mut guard = lock
                        .try_lock_until(Instant::now() + Duration::from_secs(10))
                        .unwrap();
                    MutexGuard::unlocked(&mut guard, || ());
                    guard.insert(5, 5);
                })
                .unwrap()
        };
        loop {
            let map = loop {
                if let Some(map) = lock.try_lock() {
                    break map;
                }
            };
            if map.len() == 5 {
                for k in 1..=5 {
                    assert_eq!(map.get(&k), Some(&k));
                }
                break;
            }
        }
        other.join().unwrap();
    },
    |out| out.assert_clean()
);

scenario!(
    a_write_inside_mutex_guard_unlocked_is_outside_the_lock_and_is_reported,
    {
        // The writer inserts inside `unlocked`; meanwhile this thread takes the lock, whose
        // clock has the writer's unlock, from before the insert. (Turns told through std
        // channels, which maprace cannot see.)
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
                    let mut held = lock.lock();
                    MutexGuard::unlocked(&mut held, || {
                        at!("previous", shared.get().insert(1, 1));
                        to_reader.send(()).unwrap();
                        let _ = writer_turn.recv();
                    });
                })
                .unwrap();
            reader_turn.recv().unwrap();
            let held = lock.lock();
            at!("current", shared.get().get(&1));
            drop(held);
            drop(to_writer);
            writer.join().unwrap();
        });
    },
    |out| out.assert_get_after_insert()
);

scenario!(
    a_write_after_readers_of_the_same_parking_lot_rwlock_runs_clean,
    {
        let lock = RwLock::new(());
        let mut map = Map::new();
        map.insert(1, 1);
        common::unordered(
            &mut map,
            |m| {
                let _read = lock.read();
                m.get(&1);
            },
            |m| {
                let _write = lock.write();
                m.insert(1, 2);
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    a_read_under_a_parking_lot_rwlock_then_a_write_under_another_is_reported,
    {
        let (a, b) = (RwLock::new(()), RwLock::new(()));
        let mut map = Map::new();
        map.insert(1, 1);
        common::unordered(
            &mut map,
            |m| {
                let _read = a.read_recursive();
                at!("previous", m.get(&1));
            },
            |m| {
                let _write = b.write();
                at!("current", m.insert(1, 2));
            },
        );
    },
    |out| {
        let (current, previous) = write_after_read();
        out.assert_race(current, previous)
    }
);

scenario!(
    an_upgradable_read_is_ordered_after_writers_and_its_upgrade_after_readers,
    {
        let lock = RwLock::new(());
        let mut map = Map::new();
        map.insert(1, 1);
        common::unordered(
            &mut map,
            |m| {
                // A writer, then a reader of key 1.
                let _w = lock.write();
                m.insert(2, 2);
                drop(_w);
                let _r = lock.read();
                m.get(&1);
            },
            |m| {
                let read = lock.upgradable_read();
                assert_eq!(m.get(&2), Some(&2)); // after the writer
                let _write = RwLockUpgradableReadGuard::upgrade(read);
                m.insert(1, 3); // after the reader
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    a_write_under_an_upgradable_read_that_was_not_upgraded_is_reported,
    {
        // The upgradable read excludes writers, not readers: the writer's read of key 1 under
        // `read` and this thread's insert under `upgradable_read` are unordered.
        let lock = RwLock::new(());
        let mut map = Map::new();
        map.insert(1, 1);
        common::unordered(
            &mut map,
            |m| {
                let _read = lock.read();
                at!("previous", m.get(&1));
            },
            |m| {
                let _read = lock.upgradable_read();
                at!("current", m.insert(1, 2));
            },
        );
    },
    |out| {
        let (current, previous) = write_after_read();
        out.assert_race(current, previous)
    }
);

/// The writer inserts under `write`, downgrades (to a read, or to an upgradable read and then
/// to a read) and unlocks; this thread then reads under `read`.
fn downgrade_handoff(to_upgradable: bool) {
    let lock = RwLock::new(());
    let mut map = Map::new();
    common::unordered(
        &mut map,
        |m| {
            let write = lock.write();
            m.insert(1, 1);
            if to_upgradable {
                let upgradable = RwLockWriteGuard::downgrade_to_upgradable(write);
                drop(RwLockUpgradableReadGuard::downgrade(upgradable));
            } else {
                drop(RwLockWriteGuard::downgrade(write));
            }
        },
        |m| {
            let _read = lock.try_read_for(Duration::from_secs(10)).unwrap();
            assert_eq!(m.get(&1), Some(&1));
        },
    );
}

scenario!(
    a_writer_downgraded_to_a_read_hands_its_writes_to_the_readers_it_lets_in,
    { downgrade_handoff(false) },
    |out| out.assert_clean()
);

scenario!(
    a_writer_downgraded_to_an_upgradable_read_hands_its_writes_to_the_readers_it_lets_in,
    { downgrade_handoff(true) },
    |out| out.assert_clean()
);

scenario!(
    a_write_after_a_downgrade_is_not_covered_by_it_and_is_reported,
    {
        // The writer downgrades, then writes again under another lock: a reader of the first
        // lock saw the writes before the downgrade only.
        let (lock, other) = (RwLock::new(()), Mutex::new(()));
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| {
                let read = RwLockWriteGuard::downgrade(lock.write());
                let _other = other.lock();
                at!("previous", m.insert(1, 1));
                drop(read);
            },
            |m| {
                let _read = RwLockReadGuard::map(lock.read(), |unit| unit);
                at!("current", m.get(&1));
            },
        );
    },
    |out| out.assert_get_after_insert()
);

/// A producer thread and a consumer (this thread) that waits on a parking_lot condvar for
/// `ready`; the producer inserts before (`inside`) or after (`!inside`) it sets `ready`.
fn condvar_handoff(inside: bool, wait: fn(&Condvar, &mut MutexGuard<'_, bool>)) {
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
                *pair.0.lock() = true;
                pair.1.notify_one();
                if !inside {
                    at!("previous", shared.get().insert(1, 1));
                }
                done.send(()).unwrap();
            })
            .unwrap()
    };
    let (lock, ready) = &*pair;
    let mut guard = lock.lock();
    wait(ready, &mut guard);
    drop(guard);
    finished.recv().unwrap(); // in real time only: a std channel is invisible
    at!("current", shared.get().get(&1));
    producer.join().unwrap();
}

fn wait_in_a_loop(cv: &Condvar, ready: &mut MutexGuard<'_, bool>) {
    while !**ready {
        cv.wait(ready);
    }
}

fn wait_while(cv: &Condvar, ready: &mut MutexGuard<'_, bool>) {
    cv.wait_while(ready, |ready| !*ready);
}

fn wait_for_in_a_loop(cv: &Condvar, ready: &mut MutexGuard<'_, bool>) {
    while !**ready {
        cv.wait_for(ready, Duration::from_millis(5));
    }
}

fn wait_while_until(cv: &Condvar, ready: &mut MutexGuard<'_, bool>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    assert!(
        !cv.wait_while_until(ready, |ready| !*ready, deadline)
            .timed_out()
    );
}

scenario!(
    an_insert_before_the_parking_lot_condvar_notification_runs_clean,
    {
        condvar_handoff(true, wait_in_a_loop);
        condvar_handoff(true, wait_while);
    },
    |out| out.assert_clean()
);

scenario!(
    the_timed_parking_lot_condvar_waits_reacquire_the_mutex_clock,
    {
        condvar_handoff(true, wait_for_in_a_loop);
        condvar_handoff(true, wait_while_until);
        let (lock, cv) = (Mutex::new(()), Condvar::new());
        let mut guard = lock.lock();
        assert!(
            cv.wait_while_for(&mut guard, |_| true, Duration::from_millis(1))
                .timed_out()
        );
        assert!(cv.wait_until(&mut guard, Instant::now()).timed_out());
    },
    |out| out.assert_clean()
);

scenario!(
    a_parking_lot_condvar_wait_while_that_times_out_acquires_what_was_written_meanwhile,
    {
        // parking_lot's `wait_while_for` relocks at the timeout without asking the condition
        // again: the writer's insert, made while the waiter waited, must still be ordered
        // before the waiter's reads under the relocked mutex.
        let (lock, woken) = (Mutex::new(Map::new()), Condvar::new());
        let written = std::sync::atomic::AtomicBool::new(false); // invisible to maprace
        std::thread::scope(|s| {
            let mut guard = lock.lock();
            s.spawn(|| {
                let mut map = lock.lock(); // while the waiter waits
                map.insert(1, 1);
                written.store(true, std::sync::atomic::Ordering::Relaxed);
            });
            while !written.load(std::sync::atomic::Ordering::Relaxed) {
                let waited = woken.wait_while_for(&mut guard, |_| true, Duration::from_millis(20));
                assert!(waited.timed_out());
            }
            assert_eq!(guard.get(&1), Some(&1));
        });
    },
    |out| out.assert_clean()
);

scenario!(
    an_insert_after_the_parking_lot_condvar_notification_is_reported,
    { condvar_handoff(false, wait_while) },
    |out| out.assert_get_after_insert()
);

/// The writer fills the map in a `Once`'s initializer (`inside`) or right after it; this thread
/// reads once the initialization is done.
fn once_handoff(inside: bool) {
    let once = Once::new();
    let mut map = Map::new();
    common::unordered(
        &mut map,
        |m| {
            once.call_once(|| {
                if inside {
                    m.insert(1, 1);
                }
            });
            if !inside {
                at!("previous", m.insert(1, 1));
            }
        },
        |m| {
            once.call_once(|| unreachable!("initialized by the writer"));
            assert!(once.state().done());
            at!("current", m.get(&1));
        },
    );
}

scenario!(
    an_insert_in_the_parking_lot_once_initializer_runs_clean,
    { once_handoff(true) },
    |out| out.assert_clean()
);

scenario!(
    an_insert_after_the_parking_lot_once_initializer_is_reported,
    { once_handoff(false) },
    |out| out.assert_get_after_insert()
);

scenario!(
    a_parking_lot_once_initializer_that_panicked_happens_before_the_forced_one,
    {
        let once = Once::new();
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| {
                let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    once.call_once(|| {
                        m.insert(1, 1);
                        panic!("the first initializer fails after its insert");
                    })
                }));
                assert!(failed.is_err());
            },
            |m| {
                once.call_once_force(|state| {
                    assert!(state.poisoned());
                    m.get(&1);
                });
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    a_reentrant_mutex_locked_twice_by_its_holder_hands_the_clock_over_at_the_outermost_unlock,
    {
        let lock = ReentrantMutex::new(RefCell::new(Map::new()));
        let lock = &lock;
        std::thread::scope(|s| {
            writer()
                .spawn_scoped(s, move || {
                    let outer = lock.lock();
                    lock.lock().borrow_mut().insert(1, 1);
                    outer.borrow_mut().insert(2, 2);
                })
                .unwrap();
        });
        // The end of a std scope orders nothing; the lock does.
        let held = lock.lock();
        assert_eq!(held.borrow().get(&1), Some(&1));
        assert_eq!(held.borrow().get(&2), Some(&2));
    },
    |out| out.assert_clean()
);

scenario!(
    a_get_outside_the_reentrant_mutex_is_reported,
    {
        let lock = ReentrantMutex::new(());
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| {
                let _outer = lock.lock();
                let _inner = lock.lock();
                at!("previous", m.insert(1, 1));
            },
            |m| at!("current", m.get(&1).copied()),
        );
    },
    |out| out.assert_get_after_insert()
);

static COUNTS: Mutex<Option<Map>> = const_mutex(None);
static LIMITS: RwLock<Option<Map>> = const_rwlock(None);

scenario!(
    const_mutex_and_const_rwlock_statics_hand_the_clock_over,
    {
        let writer = writer()
            .spawn(|| {
                COUNTS.lock().get_or_insert_with(Map::new).insert(1, 1);
                LIMITS.write().get_or_insert_with(Map::new).insert(2, 2);
            })
            .unwrap();
        // Without a join (which maprace sees): spin on the locks until the writes are there.
        while COUNTS.lock().as_ref().and_then(|m| m.get(&1)).is_none() {}
        while LIMITS.read().as_ref().and_then(|m| m.get(&2)).is_none() {}
        writer.join().unwrap();
    },
    |out| out.assert_clean()
);

scenario!(
    eight_threads_of_ten_thousand_operations_on_a_parking_lot_mutex_run_clean,
    {
        let map = Arc::new(Mutex::new(Map::new()));
        let threads: Vec<_> = (0..8u32)
            .map(|t| {
                let map = Arc::clone(&map);
                std::thread::spawn(move || {
                    for i in 0..10_000u32 {
                        let key = (t * 7919 + i) % 512;
                        match i % 4 {
                            0 => drop(map.lock().insert(key, i)),
                            1 => drop(map.lock().remove(&key)),
                            _ => drop(map.lock().get(&key).copied()),
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(map.lock().len() <= 512);
    },
    |out| out.assert_clean()
);

scenario!(
    a_map_ordered_by_parking_lots_own_mutex_is_reported_and_the_diagnosis_names_the_mirror,
    {
        let lock = parking_lot::Mutex::new(());
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| {
                let _held = lock.lock();
                at!("previous", m.insert(1, 1));
            },
            |m| {
                let _held = lock.lock();
                at!("current", m.get(&1));
            },
        );
    },
    |out| {
        out.assert_get_after_insert();
        if maprace::COMPILED_IN {
            let diagnosis = out
                .stderr
                .split("Map map#1 created at")
                .nth(1)
                .unwrap_or("");
            assert!(diagnosis.contains("maprace::parking_lot"), "{out}");
            assert!(
                diagnosis.contains("puts in place of parking_lot::"),
                "{out}"
            );
        }
    }
);
