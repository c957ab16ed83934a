//! Self-deadlocks on maprace's own locks (issue 12, point 3), and lock-order cycles between two
//! threads: reported as `WARNING: MAP DEADLOCK` instead of hanging. In the off build the locks
//! are std's, and each program is shown to hang; each has a correct twin that runs clean.

mod common;
use maprace::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::Duration;

scenario!(
    locking_a_mutex_this_thread_holds_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let lock = Mutex::new(0);
        let mut held = at!("guard", lock.lock()).unwrap();
        *held += 1;
        let _again = at!("call", lock.lock());
    },
    |out| out.assert_deadlock_or_hang("Lock (exclusive) on maprace::sync::Mutex 0x", &["guard"])
);

scenario!(
    locking_a_mutex_again_after_its_guard_is_dropped_runs_clean,
    {
        let lock = Mutex::new(0);
        *lock.lock().unwrap() += 1;
        *lock.lock().unwrap() += 1;
        assert_eq!(*lock.lock().unwrap(), 2);
        let held = lock.lock().unwrap();
        assert!(
            lock.try_lock().is_err(),
            "try_lock never blocks, never reported"
        );
        drop(held);
    },
    |out| out.assert_clean()
);

scenario!(
    writing_a_rwlock_this_thread_reads_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let lock = RwLock::new(0);
        let read = at!("guard", lock.read()).unwrap();
        if *read == 0 {
            *at!("call", lock.write()).unwrap() = 1;
        }
    },
    |out| out.assert_deadlock_or_hang("Write (exclusive) on maprace::sync::RwLock 0x", &["guard"])
);

scenario!(
    reading_a_rwlock_this_thread_writes_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let lock = RwLock::new(0);
        let mut write = at!("guard", lock.write()).unwrap();
        *write = 1;
        let _read = at!("call", lock.read());
    },
    |out| out.assert_deadlock_or_hang("Read (shared) on maprace::sync::RwLock 0x", &["guard"])
);

scenario!(
    writing_a_rwlock_this_thread_writes_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let lock = RwLock::new(0);
        let _write = at!("guard", lock.write()).unwrap();
        let _again = at!("call", lock.write());
    },
    |out| out.assert_deadlock_or_hang("Write (exclusive) on maprace::sync::RwLock 0x", &["guard"])
);

scenario!(
    a_rwlock_read_then_written_after_the_read_guard_is_dropped_runs_clean,
    {
        let lock = RwLock::new(0);
        let first = lock.read().unwrap();
        let value = *first;
        drop(first);
        *lock.write().unwrap() = value + 1;
        assert_eq!(*lock.read().unwrap(), 1);
    },
    |out| out.assert_clean()
);

// A read inside a read of the same `RwLock`: std's lock (futex-based on Linux) makes a new reader
// wait while a writer waits, so the second read hangs whenever another thread asks to write
// between the two. Reported as latent, when the second read is called, whether a writer waits
// or not; here one does, and the off build hangs.

scenario!(
    reading_a_rwlock_this_thread_reads_while_a_writer_waits_is_a_latent_deadlock,
    hangs_after = common::hangs_after(),
    {
        let lock = RwLock::new(0);
        std::thread::scope(|s| {
            let first = at!("guard", lock.read()).unwrap();
            s.spawn(|| *lock.write().unwrap() += 1);
            std::thread::sleep(Duration::from_millis(100)); // the writer waits for `first`
            let second = at!("call", lock.read()).unwrap();
            assert_eq!(*first + *second, 0);
        });
    },
    |out| {
        if maprace::COMPILED_IN {
            out.assert_deadlock(
                "latent",
                "Read (shared) on maprace::sync::RwLock 0x",
                &["guard"],
            );
        } else {
            out.assert_hangs();
        }
    }
);

scenario!(
    reading_a_rwlock_this_thread_reads_with_no_writer_is_a_latent_deadlock,
    {
        let lock = RwLock::new(0);
        let first = at!("guard", lock.read()).unwrap();
        let second = at!("call", lock.read()).unwrap();
        assert_eq!(*first + *second, 0);
    },
    |out| {
        if maprace::COMPILED_IN {
            out.assert_deadlock(
                "latent",
                "Read (shared) on maprace::sync::RwLock 0x",
                &["guard"],
            );
        } else {
            out.assert_clean(); // no writer came between: the second read returned
        }
    }
);

scenario!(
    reading_a_rwlock_again_after_the_first_read_guard_is_dropped_while_a_writer_waits_runs_clean,
    {
        let lock = RwLock::new(0);
        std::thread::scope(|s| {
            let first = lock.read().unwrap();
            let value = *first;
            s.spawn(|| *lock.write().unwrap() += 1);
            std::thread::sleep(Duration::from_millis(100)); // the writer waits for `first`
            drop(first);
            let second = lock.read().unwrap();
            assert!(*second == value || *second == value + 1);
        });
        assert_eq!(*lock.read().unwrap(), 1);
    },
    |out| out.assert_clean()
);

scenario!(
    try_read_of_a_rwlock_this_thread_reads_runs_clean,
    {
        let lock = RwLock::new(0);
        let first = lock.read().unwrap();
        let second = lock.try_read().expect("no writer: try_read never blocks"); // never reported
        assert_eq!(*first + *second, 0);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// Two threads, two locks, opposite orders: reported when the second thread would block.

scenario!(
    two_mutexes_locked_in_opposite_orders_by_two_threads_are_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let (accounts, audit) = (Mutex::new(0), Mutex::new(0));
        let both = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                let _accounts = at!("first guard", accounts.lock()).unwrap();
                both.wait();
                drop(audit.lock()); // blocks: the other thread holds it
            });
            let _audit = at!("second guard", audit.lock()).unwrap();
            both.wait();
            std::thread::sleep(Duration::from_millis(200)); // the other thread blocks first
            drop(at!("call", accounts.lock()));
        });
    },
    |out| out.assert_lock_cycle(
        "Lock (exclusive) on maprace::sync::Mutex 0x",
        Some("maprace::sync::Mutex")
    )
);

// A thread that blocked once (on a lock a third party held) and then took another lock: a
// cycle through that later lock is still found. A held list published only when its thread
// blocks must be published again, whole, at every block: this pins it for such a design.
scenario!(
    a_lock_taken_after_the_thread_blocked_once_closes_a_cycle_found_later,
    hangs_after = common::hangs_after(),
    {
        let (gate, early, late, theirs) =
            (Mutex::new(0), Mutex::new(0), Mutex::new(0), Mutex::new(0));
        let ready = std::sync::Barrier::new(2);
        let both = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            let gate_held = gate.lock().unwrap();
            s.spawn(|| {
                let _early = early.lock().unwrap();
                ready.wait();
                drop(gate.lock()); // blocks (holding `early`) until the main thread opens it
                let _late = at!("first guard", late.lock()).unwrap();
                both.wait();
                drop(theirs.lock()); // blocks: the main thread holds it
            });
            ready.wait();
            std::thread::sleep(Duration::from_millis(100)); // the other thread blocks on `gate`
            drop(gate_held);
            let _theirs = at!("second guard", theirs.lock()).unwrap();
            both.wait();
            std::thread::sleep(Duration::from_millis(200)); // the other thread blocks first
            drop(at!("call", late.lock()));
        });
    },
    |out| out.assert_lock_cycle(
        "Lock (exclusive) on maprace::sync::Mutex 0x",
        Some("maprace::sync::Mutex")
    )
);

scenario!(
    two_mutexes_locked_in_the_same_order_by_two_threads_run_clean,
    {
        let (accounts, audit) = (Mutex::new(0), Mutex::new(0));
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..500 {
                        let mut a = accounts.lock().unwrap();
                        let mut b = audit.lock().unwrap();
                        *a += 1;
                        *b += 1;
                    }
                });
            }
        });
        assert_eq!(*accounts.lock().unwrap(), 1000);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// A condvar wait gives the mutex back (another thread locks it: not a deadlock) and takes it
// again (locking it once more from the woken thread is one).

scenario!(
    a_condvar_wait_gives_the_mutex_back_and_takes_it_again,
    hangs_after = common::hangs_after(),
    {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        std::thread::scope(|s| {
            s.spawn(|| {
                let (ready, woken) = &*pair;
                std::thread::sleep(Duration::from_millis(50));
                *ready.lock().unwrap() = true;
                woken.notify_one();
            });
            let (ready, woken) = &*pair;
            let guard = woken
                .wait_while(at!("guard", ready.lock()).unwrap(), |ready| !*ready)
                .unwrap();
            assert!(*guard);
            let _again = at!("call", ready.lock());
        });
    },
    |out| out.assert_deadlock_or_hang("Lock (exclusive) on maprace::sync::Mutex 0x", &["guard"])
);

scenario!(
    a_condvar_wait_and_the_notifiers_lock_run_clean,
    {
        let pair = Arc::new((Mutex::new(0), Condvar::new()));
        std::thread::scope(|s| {
            s.spawn(|| {
                let (count, woken) = &*pair;
                for _ in 0..3 {
                    *count.lock().unwrap() += 1;
                    woken.notify_one();
                }
            });
            let (count, woken) = &*pair;
            let guard = woken.wait_while(count.lock().unwrap(), |c| *c < 3).unwrap();
            assert_eq!(*guard, 3);
        });
    },
    |out| out.assert_clean()
);

/// Locks a mutex twice when dropped, at the end of its thread (the second lock waits for the
/// first for good).
struct LocksTwiceOnDrop;

impl Drop for LocksTwiceOnDrop {
    fn drop(&mut self) {
        let lock = Mutex::new(0);
        let _held = at!("guard", lock.lock());
        let _again = at!("call", lock.lock());
    }
}

thread_local! {
    static LOCKS_TWICE: LocksTwiceOnDrop = const { LocksTwiceOnDrop };
}

// One `action=panic` policy for every kind of finding: where a panic cannot unwind (a
// thread-local destructor) the report is printed in full and the program exits as with
// `action=exit`. Before, a deadlock found there panicked, and the process aborted (SIGABRT).
scenario!(
    a_deadlock_in_a_thread_local_destructor_with_action_panic_is_reported_and_exits,
    options = "action=panic",
    hangs_after = common::hangs_after(),
    {
        std::thread::spawn(|| LOCKS_TWICE.with(|_| ()))
            .join()
            .unwrap();
    },
    |out| out.assert_deadlock_or_hang("Lock (exclusive) on maprace::sync::Mutex 0x", &["guard"])
);

/// Locks a mutex twice in a row when dropped, releasing it between.
struct LocksInTurnOnDrop;

impl Drop for LocksInTurnOnDrop {
    fn drop(&mut self) {
        let lock = Mutex::new(0);
        *lock.lock().unwrap() += 1;
        *lock.lock().unwrap() += 1;
    }
}

thread_local! {
    static LOCKS_IN_TURN: LocksInTurnOnDrop = const { LocksInTurnOnDrop };
}

scenario!(
    locking_in_turn_in_a_thread_local_destructor_with_action_panic_runs_clean,
    options = "action=panic",
    {
        std::thread::spawn(|| LOCKS_IN_TURN.with(|_| ()))
            .join()
            .unwrap();
    },
    |out| out.assert_clean()
);
