//! DashMap guards made on a thread that then ends (returned by its join, or sent before it
//! ends): the maker's held list is cleared and goes back to the pool at its end, and a thread
//! started later may take that very list. The guard still holds its shard, so its new owner's
//! call into that shard is the certain deadlock a guard held on the calling thread is
//! (`tests/dashmap_deadlocks.rs`, row 1); without the detector, the program hangs. Each twin
//! drops the guard before the call and runs clean.

#![cfg(feature = "dashmap")]

mod common;
use maprace::DashMap;
use maprace::dashmap::mapref::one::RefMut;

fn filled() -> DashMap<u64, u64> {
    let map = DashMap::new();
    for k in 0..100 {
        map.insert(k, k);
    }
    map
}

/// A guard on key 7, made (and written through) on a thread that has ended when this returns.
fn made_by_an_ended_thread(map: &DashMap<u64, u64>) -> RefMut<'_, u64, u64> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut r = at!("guard", map.get_mut(&7)).unwrap();
            *r += 1;
            r
        })
        .join()
        .unwrap()
    })
}

scenario!(
    #[ignore = "missed deadlock (it hangs): the maker's end cleared the guard's hold, and the guard's new owner, which has not used it, holds nothing in its list"]
    a_call_on_the_shard_of_a_guard_an_ended_thread_made_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let r = made_by_an_ended_thread(&map);
        at!("call", map.get(&7));
        drop(r);
    },
    |out| out.assert_deadlock_or_hang("Get (shared) of key 7", &["guard"])
);

scenario!(
    a_call_on_the_shard_of_a_guard_an_ended_thread_made_and_this_one_used_is_a_certain_deadlock,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let mut r = made_by_an_ended_thread(&map);
        *r += 1; // a use here: the guard is this thread's now
        at!("call", map.get(&7));
        drop(r);
    },
    |out| out.assert_deadlock_or_hang("Get (shared) of key 7", &["guard"])
);

scenario!(
    /// The guard's new owner is a thread started after the maker ended, whose first tracked
    /// call is that use: it takes the maker's own list from the pool.
    a_guard_used_first_by_a_thread_started_after_its_maker_ended_is_that_threads,
    hangs_after = common::hangs_after(),
    {
        let map = filled();
        let r = made_by_an_ended_thread(&map);
        let map = &map;
        std::thread::scope(|s| {
            s.spawn(move || {
                let mut r = r;
                *r += 1;
                at!("call", map.get(&7));
                drop(r);
            });
        });
    },
    |out| out.assert_deadlock_or_hang("Get (shared) of key 7", &["guard"])
);

scenario!(
    a_guard_an_ended_thread_made_dropped_before_the_call_runs_clean,
    {
        let map = filled();
        let r = made_by_an_ended_thread(&map);
        drop(r);
        assert_eq!(*map.get(&7).unwrap(), 8);
        let r = made_by_an_ended_thread(&map);
        let map = &map;
        std::thread::scope(|s| {
            s.spawn(move || {
                let mut r = r;
                *r += 1;
                drop(r);
                assert_eq!(*map.get(&7).unwrap(), 10);
            });
        });
    },
    |out| out.assert_clean()
);
