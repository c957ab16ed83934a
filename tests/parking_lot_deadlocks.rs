//! Self-deadlocks on `maprace::parking_lot` locks (issue 15, point 1): every call that certainly
//! blocks on the thread's own guard is reported as `WARNING: MAP DEADLOCK (certain)` instead of
//! hanging, a recursive `read` (which parking_lot's writer-fair `RwLock` hangs on whenever a
//! writer asks in between) as `latent`; cycles through parking_lot locks and DashMap guards come
//! from the same wait-for graph. In the off build the locks are parking_lot's own, and each
//! certain one is shown to hang. Each has a twin that runs clean: the guard dropped first,
//! `read_recursive`, `ReentrantMutex`, a `try_*` that gives up.
#![cfg(feature = "parking_lot")]

mod common;
use maprace::parking_lot::{
    Condvar, Mutex, ReentrantMutex, RwLock, RwLockUpgradableReadGuard, RwLockWriteGuard,
};
use std::time::Duration;

const MUTEX: &str = "on maprace::parking_lot::Mutex 0x";
const RWLOCK: &str = "on maprace::parking_lot::RwLock 0x";

fn call(op_and_mode: &str, on: &str) -> String {
    format!("{op_and_mode} {on}")
}

// ---------------------------------------------------------------------------------------------
// Mutex.

scenario!(
    locking_a_parking_lot_mutex_this_thread_holds_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let lock = Mutex::new(0);
        let mut held = at!("guard", lock.lock());
        *held += 1;
        let _again = at!("call", lock.lock());
    },
    |out| out.assert_deadlock_or_hang(&call("Lock (exclusive)", MUTEX), &["guard"])
);

scenario!(
    locking_a_parking_lot_mutex_again_after_its_guard_is_dropped_runs_clean,
    {
        let lock = Mutex::new(0);
        *lock.lock() += 1;
        *lock.lock() += 1;
        let held = lock.lock();
        assert!(lock.try_lock().is_none(), "try_lock never blocks");
        assert!(
            lock.try_lock_for(Duration::from_millis(20)).is_none(),
            "a timed lock gives up at its timeout: not reported"
        );
        drop(held);
        assert_eq!(*lock.try_lock().expect("free"), 2);
        let mut guard = lock.lock();
        let inside = maprace::parking_lot::MutexGuard::unlocked(&mut guard, || *lock.lock());
        assert_eq!(inside, 2, "`unlocked` gives the lock back for the closure");
    },
    |out| out.assert_clean()
);

scenario!(
    locking_a_parking_lot_reentrant_mutex_again_runs_clean,
    {
        let lock = ReentrantMutex::new(std::cell::Cell::new(0));
        let outer = lock.lock();
        let inner = lock.lock();
        inner.set(1);
        drop(inner);
        assert_eq!(outer.get(), 1);
        assert!(lock.try_lock().is_some(), "its holder may take it again");
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// RwLock while holding the write lock.

scenario!(
    reading_a_parking_lot_rwlock_this_thread_writes_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let lock = RwLock::new(0);
        let mut write = at!("guard", lock.write());
        *write = 1;
        let _read = at!("call", lock.read());
    },
    |out| out.assert_deadlock_or_hang(&call("Read (shared)", RWLOCK), &["guard"])
);

scenario!(
    writing_a_parking_lot_rwlock_this_thread_writes_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let lock = RwLock::new(0);
        let _write = at!("guard", lock.write());
        let _again = at!("call", lock.write());
    },
    |out| out.assert_deadlock_or_hang(&call("Write (exclusive)", RWLOCK), &["guard"])
);

scenario!(
    an_upgradable_read_of_a_parking_lot_rwlock_this_thread_writes_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let lock = RwLock::new(0);
        let _write = at!("guard", lock.write());
        let _read = at!("call", lock.upgradable_read());
    },
    |out| out.assert_deadlock_or_hang(&call("Upgradable_read (upgradable)", RWLOCK), &["guard"])
);

scenario!(
    a_recursive_read_of_a_parking_lot_rwlock_this_thread_writes_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let lock = RwLock::new(0);
        let _write = at!("guard", lock.write());
        let _read = at!("call", lock.read_recursive());
    },
    |out| out.assert_deadlock_or_hang(&call("Read_recursive (shared)", RWLOCK), &["guard"])
);

scenario!(
    a_parking_lot_rwlock_written_then_read_after_the_write_guard_is_dropped_runs_clean,
    {
        let lock = RwLock::new(0);
        let write = lock.write();
        assert!(lock.try_read().is_none(), "try_read never blocks");
        assert!(lock.try_write_for(Duration::from_millis(20)).is_none());
        drop(write);
        *lock.write() = 1;
        assert_eq!(*lock.read(), 1);
        assert_eq!(*lock.upgradable_read(), 1);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// RwLock while holding the upgradable read.

scenario!(
    writing_a_parking_lot_rwlock_this_thread_reads_upgradably_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let lock = RwLock::new(0);
        let read = at!("guard", lock.upgradable_read());
        if *read == 0 {
            *at!("call", lock.write()) = 1;
        }
    },
    |out| out.assert_deadlock_or_hang(&call("Write (exclusive)", RWLOCK), &["guard"])
);

scenario!(
    a_second_upgradable_read_of_a_parking_lot_rwlock_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let lock = RwLock::new(0);
        let _first = at!("guard", lock.upgradable_read());
        let _second = at!("call", lock.upgradable_read());
    },
    |out| out.assert_deadlock_or_hang(&call("Upgradable_read (upgradable)", RWLOCK), &["guard"])
);

scenario!(
    upgrading_a_parking_lot_rwlock_while_this_thread_reads_it_too_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let lock = RwLock::new(0);
        let upgradable = lock.upgradable_read();
        let read = at!("guard", lock.read()); // beside an upgradable read: fine
        if *read == 0 {
            let _write = at!("call", RwLockUpgradableReadGuard::upgrade(upgradable));
        }
    },
    |out| out.assert_deadlock_or_hang(&call("Upgrade (exclusive)", RWLOCK), &["guard"])
);

scenario!(
    a_parking_lot_upgradable_read_beside_reads_then_upgraded_alone_runs_clean,
    {
        let lock = RwLock::new(0);
        let upgradable = lock.upgradable_read();
        // Readers come in beside an upgradable read, and no writer can be waiting meanwhile.
        let (read, recursive) = (lock.read(), lock.read_recursive());
        assert_eq!(*read + *recursive, 0);
        drop((read, recursive));
        assert!(lock.try_upgradable_read().is_none());
        let mut write = RwLockUpgradableReadGuard::upgrade(upgradable);
        *write = 1;
        // Downgraded to the upgradable read, then to a read: its hold follows.
        let upgradable = RwLockWriteGuard::downgrade_to_upgradable(write);
        drop(lock.read()); // beside an upgradable read (no longer a write): fine
        let read = RwLockUpgradableReadGuard::downgrade(upgradable);
        assert_eq!(*read, 1);
        drop(read);
        *lock.write() = 2; // every hold ended: none is left to block it
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// RwLock while holding a read.

scenario!(
    writing_a_parking_lot_rwlock_this_thread_reads_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let lock = RwLock::new(0);
        let read = at!("guard", lock.read());
        if *read == 0 {
            *at!("call", lock.write()) = 1;
        }
    },
    |out| out.assert_deadlock_or_hang(&call("Write (exclusive)", RWLOCK), &["guard"])
);

scenario!(
    writing_a_parking_lot_rwlock_after_downgrading_its_write_guard_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let lock = RwLock::new(0);
        let read = RwLockWriteGuard::downgrade(at!("guard", lock.write()));
        if *read == 0 {
            *at!("call", lock.write()) = 1;
        }
    },
    |out| out.assert_deadlock_or_hang(&call("Write (exclusive)", RWLOCK), &["guard"])
);

/// A latent deadlock: reported (and the program stopped, as `halt_on_error=1` says) whether or
/// not a writer waits in this run; with no writer the off build finishes.
fn assert_latent(out: &common::Outcome, call_line: &str) {
    if maprace::COMPILED_IN {
        out.assert_deadlock("latent", call_line, &["guard"]);
    } else {
        out.assert_clean();
    }
}

scenario!(
    reading_a_parking_lot_rwlock_this_thread_reads_is_a_latent_deadlock,
    {
        let lock = RwLock::new(0);
        let first = at!("guard", lock.read());
        let second = at!("call", lock.read());
        assert_eq!(*first, *second);
    },
    |out| assert_latent(&out, &call("Read (shared)", RWLOCK))
);

scenario!(
    an_upgradable_read_of_a_parking_lot_rwlock_this_thread_reads_is_a_latent_deadlock,
    {
        let lock = RwLock::new(0);
        let first = at!("guard", lock.read());
        let second = at!("call", lock.upgradable_read());
        assert_eq!(*first, *second);
    },
    |out| assert_latent(&out, &call("Upgradable_read (upgradable)", RWLOCK))
);

scenario!(
    a_recursive_read_when_a_writer_waits_really_hangs_in_the_off_build,
    hangs_after = common::hangs_after(),
    {
        // What the latent verdict is about, made to happen: a writer waits between the reads.
        let lock = RwLock::new(0);
        std::thread::scope(|s| {
            let first = at!("guard", lock.read());
            s.spawn(|| *lock.write() = 1);
            std::thread::sleep(Duration::from_millis(200)); // the writer waits
            let second = at!("call", lock.read());
            assert_eq!(*first, *second);
        });
    },
    |out| {
        if maprace::COMPILED_IN {
            out.assert_deadlock("latent", &call("Read (shared)", RWLOCK), &["guard"]);
        } else {
            out.assert_hangs();
        }
    }
);

scenario!(
    read_recursive_inside_a_parking_lot_read_runs_clean_even_when_a_writer_waits,
    {
        let lock = RwLock::new(0);
        std::thread::scope(|s| {
            let first = lock.read();
            s.spawn(|| *lock.write() = 1);
            std::thread::sleep(Duration::from_millis(200)); // the writer waits
            let second = lock.read_recursive();
            assert_eq!(*first + *second, 0);
            assert!(lock.try_read_recursive().is_some());
        });
        assert_eq!(*lock.read(), 1);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// Condvar: a wait gives the mutex back (another thread locks it: no deadlock) and takes it
// again, with the site where it was locked.

scenario!(
    a_parking_lot_condvar_wait_gives_the_mutex_back_and_takes_it_again,
    hangs_after = common::hangs_after(),
    {
        let (ready, woken) = (Mutex::new(false), Condvar::new());
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(50));
                *ready.lock() = true;
                woken.notify_one();
            });
            let mut guard = at!("guard", ready.lock());
            woken.wait_while(&mut guard, |ready| !*ready);
            assert!(*guard);
            let _again = at!("call", ready.lock());
        });
    },
    |out| out.assert_deadlock_or_hang(&call("Lock (exclusive)", MUTEX), &["guard"])
);

scenario!(
    a_parking_lot_condvar_wait_that_times_out_gives_the_mutex_back_and_takes_it_again,
    hangs_after = common::hangs_after(),
    {
        let (ready, woken) = (Mutex::new(false), Condvar::new());
        let mut guard = at!("guard", ready.lock());
        let timed_out = woken.wait_while_for(&mut guard, |_| true, Duration::from_millis(20));
        assert!(timed_out.timed_out());
        assert!(
            woken
                .wait_for(&mut guard, Duration::from_millis(1))
                .timed_out()
        );
        let _again = at!("call", ready.lock());
    },
    |out| out.assert_deadlock_or_hang(&call("Lock (exclusive)", MUTEX), &["guard"])
);

// ---------------------------------------------------------------------------------------------
// Two threads: a parking_lot mutex and a DashMap guard taken in opposite orders.

#[cfg(feature = "dashmap")]
scenario!(
    a_parking_lot_mutex_and_a_dashmap_guard_taken_in_opposite_orders_are_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let (audit, cache) = (Mutex::new(0), maprace::DashMap::<u32, u32>::new());
        cache.insert(7, 0);
        let both = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                let _audit = at!("first guard", audit.lock());
                both.wait();
                cache.insert(7, 1); // blocks: the other thread holds key 7's shard
            });
            let _entry = at!("second guard", cache.get_mut(&7));
            both.wait();
            std::thread::sleep(Duration::from_millis(200)); // the other thread blocks first
            drop(at!("call", audit.lock()));
        });
    },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_hangs();
        }
        out.assert_deadlock(
            "certain",
            &call("Lock (exclusive)", MUTEX),
            &["first guard", "second guard"],
        );
        assert!(out.stderr.contains(", which waits for shard "), "{out}");
    }
);

#[cfg(feature = "dashmap")]
scenario!(
    a_parking_lot_mutex_and_a_dashmap_guard_taken_in_one_order_run_clean,
    {
        let (audit, cache) = (Mutex::new(0), maprace::DashMap::<u32, u32>::new());
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for i in 0..500 {
                        let mut audit = audit.lock();
                        *cache.entry(i % 7).or_insert(0) += 1;
                        *audit += 1;
                    }
                });
            }
        });
        assert_eq!(*audit.lock(), 1000);
    },
    |out| out.assert_clean()
);

scenario!(
    two_parking_lot_rwlocks_taken_in_opposite_orders_are_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let (accounts, audit) = (RwLock::new(0), Mutex::new(0));
        let both = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                let _accounts = at!("first guard", accounts.read());
                both.wait();
                drop(audit.lock()); // blocks: the other thread holds it
            });
            let _audit = at!("second guard", audit.lock());
            both.wait();
            std::thread::sleep(Duration::from_millis(200)); // the other thread blocks first
            drop(at!("call", accounts.write()));
        });
    },
    |out| out.assert_lock_cycle(&call("Write (exclusive)", RWLOCK), None)
);

scenario!(
    a_parking_lot_rwlock_and_a_maprace_sync_mutex_taken_in_opposite_orders_are_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let (config, audit) = (RwLock::new(0), maprace::sync::Mutex::new(0));
        let both = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                let _audit = at!("first guard", audit.lock()).unwrap();
                both.wait();
                drop(config.write()); // blocks: the other thread holds it
            });
            let _config = at!("second guard", config.upgradable_read());
            both.wait();
            std::thread::sleep(Duration::from_millis(200)); // the other thread blocks first
            drop(at!("call", audit.lock()));
        });
    },
    |out| out.assert_lock_cycle(
        "Lock (exclusive) on maprace::sync::Mutex 0x",
        Some("maprace::parking_lot::RwLock")
    )
);
