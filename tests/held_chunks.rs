//! Held lists past their 8 entries in place (chunk entries): a cycle through such a hold is
//! found, holds taken in one order run clean, lock guards ended by a thread-local destructor
//! and DashMap guards in chunks moved to another thread leave nothing behind.
mod common;
use maprace::sync::Mutex;
use std::time::Duration;

// A lock-order cycle whose hold on the other thread's side is in a chunk entry (its 10th
// hold, past the 8 in place), taken after the list's entries were used, freed and reused.
scenario!(
    a_cycle_through_a_hold_in_a_chunk_is_found,
    hangs_after = common::hangs_after(),
    {
        let many: Vec<Mutex<u32>> = (0..12).map(Mutex::new).collect();
        let mine = Mutex::new(0);
        let both = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                // Use and free chunk entries first (free chain, len past INLINE).
                {
                    let _g: Vec<_> = many.iter().map(|m| m.lock().unwrap()).collect();
                }
                let _low: Vec<_> = many[..9].iter().map(|m| m.lock().unwrap()).collect();
                let _tenth = at!("first guard", many[9].lock()).unwrap();
                both.wait();
                drop(mine.lock()); // blocks: the main thread holds it
            });
            let _mine = at!("second guard", mine.lock()).unwrap();
            both.wait();
            std::thread::sleep(Duration::from_millis(300));
            drop(at!("call", many[9].lock()));
        });
    },
    |out| out.assert_lock_cycle("Lock (exclusive) on maprace::sync::Mutex 0x", None)
);

// The twin: same holds, no cycle (the main thread takes the tenth lock without holding
// `mine`): clean.
scenario!(
    holds_in_chunks_taken_in_one_order_run_clean,
    {
        let many: Vec<Mutex<u32>> = (0..12).map(Mutex::new).collect();
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..200 {
                        let g: Vec<_> = many.iter().map(|m| m.lock().unwrap()).collect();
                        drop(g);
                    }
                });
            }
        });
    },
    |out| out.assert_clean()
);

thread_local! {
    static KEPT: std::cell::RefCell<Option<maprace::sync::MutexGuard<'static, u32>>> =
        const { std::cell::RefCell::new(None) };
}
static TLS_LOCK: Mutex<u32> = Mutex::new(0);

// A maprace lock guard kept in a thread-local and dropped by its destructor, when the list may
// be back in the pool (Token::end's slow path): no report, and the lock and the list work after.
scenario!(
    a_lock_guard_dropped_by_a_thread_local_destructor_leaves_nothing_behind,
    {
        for _ in 0..20 {
            std::thread::spawn(|| {
                let other = Mutex::new(1);
                let _o = other.lock().unwrap();
                KEPT.with(|k| *k.borrow_mut() = Some(TLS_LOCK.lock().unwrap()));
            })
            .join()
            .unwrap();
            // The lock is free, and a new thread (which may take the pooled list) holds it.
            std::thread::spawn(|| {
                let g = TLS_LOCK.lock().unwrap();
                let again = TLS_LOCK.try_lock();
                assert!(again.is_err());
                drop(g);
                drop(TLS_LOCK.lock().unwrap());
            })
            .join()
            .unwrap();
        }
    },
    |out| out.assert_clean()
);

// DashMap guards past the 8 in place (chunk entries) moved to another thread and dropped there;
// the owner then takes guards again and calls into the map: no false deadlock.
scenario!(
    #[cfg(feature = "dashmap")]
    dashmap_guards_in_chunks_moved_and_dropped_elsewhere_leave_no_false_deadlock,
    {
        let map: maprace::DashMap<u64, u64> = maprace::DashMap::with_shard_amount(64);
        for k in 0..1000 {
            map.insert(k, k);
        }
        std::thread::scope(|s| {
            for round in 0..20u64 {
                let keys: Vec<u64> = (0..12).collect();
                let guards: Vec<_> = keys.iter().map(|k| map.get(k).unwrap()).collect();
                let moved = s.spawn(move || {
                    let mut sum = 0;
                    for g in &guards {
                        sum += **g; // a use: taken over
                    }
                    drop(guards);
                    sum
                });
                moved.join().unwrap();
                // Exclusive calls on those shards now: nothing held.
                for k in &keys {
                    map.insert(*k, round);
                }
                let held: Vec<_> = keys.iter().map(|k| map.get(k).unwrap()).collect();
                drop(held);
            }
        });
    },
    |out| out.assert_clean()
);
