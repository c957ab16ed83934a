//! A guard forgotten with `mem::forget` (safe) leaves its hold in the thread's list for good. A
//! new lock made later in the same memory (a vector's slot, a stack slot) is another lock: the
//! forgotten hold must not be taken for one of it. Each scenario checks that the memory really
//! was reused, then makes the call that a hold taken for the new lock's would turn into a false
//! `MAP DEADLOCK`; its twin forgets the guard of the lock it then calls, which does deadlock.
//! A DashMap is known by a number no other map shares: its scenario runs clean, as it did before.
//! At the end, which of two reads of one parking_lot `RwLock` a report names once one has ended.

mod common;
use std::sync::mpsc;
use std::time::Duration;

/// Another thread holds a lock (`hold` takes it, then calls `held`, which tells this thread and
/// waits) while this one makes `call`, long enough that `call` finds it taken and blocks.
fn contended(hold: impl FnOnce(&dyn Fn()) + Send, call: impl FnOnce()) {
    std::thread::scope(|s| {
        let (taken, holding) = mpsc::channel();
        s.spawn(move || {
            hold(&|| {
                taken.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(300));
            })
        });
        holding.recv().unwrap();
        call();
    });
}

/// The lock in `slot` dropped and `new` put in its memory (a vector's buffer, kept).
fn reused<L>(slot: &mut Vec<L>, new: L) -> &L {
    let old = slot.as_ptr() as usize;
    slot.clear();
    slot.push(new);
    assert_eq!(slot.as_ptr() as usize, old, "the memory was reused");
    &slot[0]
}

// ---------------------------------------------------------------------------------------------
// maprace::sync

scenario!(
    a_new_sync_mutex_where_one_with_a_forgotten_guard_was_is_another_lock,
    {
        use maprace::sync::Mutex;
        let mut slot = vec![Mutex::new(0u64)];
        std::mem::forget(slot[0].lock().unwrap());
        let lock = reused(&mut slot, Mutex::new(0u64));
        contended(
            |held| {
                let _guard = lock.lock().unwrap();
                held()
            },
            || *lock.lock().unwrap() += 1,
        );
        assert_eq!(*lock.lock().unwrap(), 1);
    },
    |out| out.assert_clean()
);

scenario!(
    locking_a_sync_mutex_whose_guard_was_forgotten_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let lock = maprace::sync::Mutex::new(0u64);
        std::mem::forget(at!("guard", lock.lock()));
        let _again = at!("call", lock.lock());
    },
    |out| out.assert_deadlock_or_hang("Lock (exclusive) on maprace::sync::Mutex 0x", &["guard"])
);

scenario!(
    a_new_sync_rwlock_where_one_with_a_forgotten_read_was_is_another_lock,
    {
        use maprace::sync::RwLock;
        let mut slot = vec![RwLock::new(0u64)];
        std::mem::forget(slot[0].read().unwrap());
        let lock = reused(&mut slot, RwLock::new(0u64));
        contended(
            |held| {
                let _guard = lock.read().unwrap();
                held()
            },
            || *lock.write().unwrap() += 1,
        );
        assert_eq!(*lock.read().unwrap(), 1);
    },
    |out| out.assert_clean()
);

scenario!(
    writing_a_sync_rwlock_whose_read_guard_was_forgotten_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let lock = maprace::sync::RwLock::new(0u64);
        std::mem::forget(at!("guard", lock.read()));
        let _write = at!("call", lock.write());
    },
    |out| out.assert_deadlock_or_hang("Write (exclusive) on maprace::sync::RwLock 0x", &["guard"])
);

// ---------------------------------------------------------------------------------------------
// maprace::parking_lot

scenario!(
    #[cfg(feature = "parking_lot")]
    a_new_parking_lot_mutex_where_one_with_a_forgotten_guard_was_is_another_lock,
    {
        use maprace::parking_lot::Mutex;
        let mut slot = vec![Mutex::new(0u64)];
        std::mem::forget(slot[0].lock());
        let lock = reused(&mut slot, Mutex::new(0u64));
        contended(
            |held| {
                let _guard = lock.lock();
                held()
            },
            || *lock.lock() += 1,
        );
        assert_eq!(*lock.lock(), 1);
    },
    |out| out.assert_clean()
);

scenario!(
    #[cfg(feature = "parking_lot")]
    a_new_parking_lot_mutex_in_a_stack_slot_where_one_with_a_forgotten_guard_was_is_another_lock,
    {
        use maprace::parking_lot::Mutex;
        #[inline(never)]
        fn forget_a_guard() -> usize {
            let lock = Mutex::new(0u64);
            std::mem::forget(lock.lock());
            &lock as *const Mutex<u64> as usize
        }
        #[inline(never)]
        fn lock_contended() -> usize {
            let lock = Mutex::new(0u64);
            contended(
                |held| {
                    let _guard = lock.lock();
                    held()
                },
                || *lock.lock() += 1,
            );
            assert_eq!(*lock.lock(), 1);
            &lock as *const Mutex<u64> as usize
        }
        let first = forget_a_guard();
        let second = lock_contended();
        // (The off build's locks are parking_lot's own, of another size: nothing to inherit.)
        if maprace::COMPILED_IN {
            assert_eq!(second, first, "the stack slot was reused");
        }
    },
    |out| out.assert_clean()
);

scenario!(
    #[cfg(feature = "parking_lot")]
    locking_a_parking_lot_mutex_whose_guard_was_forgotten_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let lock = maprace::parking_lot::Mutex::new(0u64);
        std::mem::forget(at!("guard", lock.lock()));
        let _again = at!("call", lock.lock());
    },
    |out| out.assert_deadlock_or_hang(
        "Lock (exclusive) on maprace::parking_lot::Mutex 0x",
        &["guard"]
    )
);

scenario!(
    #[cfg(feature = "parking_lot")]
    a_new_parking_lot_rwlock_where_one_with_a_forgotten_read_was_is_another_lock,
    {
        use maprace::parking_lot::RwLock;
        let mut slot = vec![RwLock::new(0u64)];
        std::mem::forget(slot[0].read());
        let lock = reused(&mut slot, RwLock::new(0u64));
        let read = lock.read(); // a read inside a read would be latent
        drop(read);
        contended(
            |held| {
                let _guard = lock.read();
                held()
            },
            || *lock.write() += 1,
        );
        assert_eq!(*lock.read(), 1);
    },
    |out| out.assert_clean()
);

scenario!(
    #[cfg(feature = "parking_lot")]
    reading_a_parking_lot_rwlock_whose_read_guard_was_forgotten_is_a_latent_deadlock,
    {
        let lock = maprace::parking_lot::RwLock::new(0u64);
        std::mem::forget(at!("guard", lock.read()));
        let _again = at!("call", lock.read());
    },
    |out| {
        if maprace::COMPILED_IN {
            out.assert_deadlock(
                "latent",
                "Read (shared) on maprace::parking_lot::RwLock 0x",
                &["guard"],
            );
        } else {
            out.assert_clean(); // no writer came between: the second read returned
        }
    }
);

// ---------------------------------------------------------------------------------------------
// Which of a thread's reads of one parking_lot RwLock a report names.

scenario!(
    #[cfg(feature = "parking_lot")]
    a_write_after_the_newer_of_two_reads_ends_names_the_older_read_still_held,
    hangs_after = common::hangs_after(),
    {
        let lock = maprace::parking_lot::RwLock::new(0u64);
        let older = at!("guard", lock.read());
        let newer = lock.read_recursive();
        drop(newer);
        let _write = at!("call", lock.write());
        drop(older);
    },
    |out| out.assert_deadlock_or_hang(
        "Write (exclusive) on maprace::parking_lot::RwLock 0x",
        &["guard"]
    )
);

scenario!(
    #[cfg(feature = "parking_lot")]
    a_write_after_both_reads_end_runs_clean,
    {
        let lock = maprace::parking_lot::RwLock::new(0u64);
        let older = lock.read();
        let newer = lock.read_recursive();
        drop(newer);
        drop(older);
        *lock.write() += 1;
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// DashMap

scenario!(
    #[cfg(feature = "dashmap")]
    a_new_dashmap_where_one_with_a_forgotten_ref_was_is_another_map,
    {
        use maprace::DashMap;
        let mut slot = vec![DashMap::new()];
        slot[0].insert(1u64, 0u64);
        std::mem::forget(slot[0].get(&1).expect("present"));
        let map = reused(&mut slot, DashMap::new());
        map.insert(1u64, 0u64);
        contended(
            |held| {
                let _guard = map.get_mut(&1).expect("present");
                held()
            },
            || *map.get_mut(&1).expect("present") += 1,
        );
        assert_eq!(*map.get(&1).expect("present"), 1);
    },
    |out| out.assert_clean()
);
