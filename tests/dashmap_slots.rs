//! DashMap reader slots and reused thread slots: a shard keeps one reader clock per thread
//! slot, and slots go to new threads (see `rt::dashmap::ReaderSlot`). A slot given to a thread
//! that nothing ordered after its old holder (the quarantine's way, once 256 unordered ends
//! wait) must not lose the old holder's release into the row (a false report), nor make a
//! reader look ordered after it (a missed race).

#![cfg(feature = "dashmap")]

mod common;

use common::{Shared, Side, TEST_THREAD};
use maprace::DashMap;
use std::sync::{Arc, mpsc};
use std::thread;

type Map = maprace::HashMap<u32, u32>;

/// Detached threads that read `dash`, more than the quarantine holds, one after another: the
/// slots of the first to end go to the later ones, whose reads write the rows those slots had.
const RECYCLING: usize = 400;

/// The test thread writes key 1 of a map and starts "old", which reads the DashMap (its reader
/// slot of the key's shard then holds a clock that has seen the write), and ends detached.
/// Then "filler" starts `RECYCLING` detached threads that read the DashMap: once 256 unordered
/// ends wait, each new one takes the slot of the oldest, "old"'s first, and its read writes
/// "old"'s row. None of them has seen the write. Last, "checker" (started before the write,
/// told when to go through channels maprace does not see) takes the shard exclusively, if
/// `exclusive`, or shared, then reads key 1. Exclusive: "old"'s read unlock comes before its
/// write lock, so the write happens before the read. Shared: nothing orders them (read
/// unlock to read lock is not an edge), a race.
fn recycled_reader_slot_then_read(exclusive: bool) {
    let mut map = Map::new();
    let shared = Shared(&mut map as *mut Map);
    let dash = Arc::new(DashMap::<u32, u32>::new());
    dash.insert(0, 0);
    let (go_check, check) = mpsc::channel::<()>();
    let checker = {
        let dash = dash.clone();
        thread::Builder::new()
            .name("checker".into())
            .spawn(move || {
                let shared = shared;
                check.recv().unwrap();
                if exclusive {
                    drop(dash.get_mut(&0));
                } else {
                    drop(dash.get(&0));
                }
                at!("current", shared.get().get(&1).copied())
            })
            .unwrap()
    };
    let (go_fill, fill) = mpsc::channel::<()>();
    let (filled, fill_done) = mpsc::channel::<()>();
    let filler = {
        let dash = dash.clone();
        thread::Builder::new()
            .name("filler".into())
            .spawn(move || {
                fill.recv().unwrap();
                for _ in 0..RECYCLING {
                    let (ended, end) = mpsc::channel::<()>();
                    let dash = dash.clone();
                    drop(thread::spawn(move || {
                        drop(dash.get(&0));
                        ended.send(()).unwrap();
                    }));
                    end.recv().unwrap();
                }
                filled.send(()).unwrap();
            })
            .unwrap()
    };
    at!("previous", map.insert(1, 1));
    let (ended, end) = mpsc::channel::<()>();
    {
        let dash = dash.clone();
        drop(
            thread::Builder::new()
                .name("old".into())
                .spawn(move || {
                    drop(dash.get(&0));
                    ended.send(()).unwrap();
                })
                .unwrap(),
        );
    }
    end.recv().unwrap();
    // Its end is recorded after its closure returns (its thread-locals' destructors): let it be
    // the oldest unordered end.
    thread::sleep(std::time::Duration::from_millis(50));
    go_fill.send(()).unwrap();
    fill_done.recv().unwrap();
    thread::sleep(std::time::Duration::from_millis(50));
    go_check.send(()).unwrap();
    assert_eq!(checker.join().unwrap(), Some(1));
    filler.join().unwrap();
}

scenario!(
    an_exclusive_guard_after_a_recycled_reader_slot_is_ordered_after_the_old_readers_write,
    { recycled_reader_slot_then_read(true) },
    |out| out.assert_clean()
);

scenario!(
    a_shared_guard_after_a_recycled_reader_slot_is_still_reported,
    { recycled_reader_slot_then_read(false) },
    |out| out.assert_race(
        Side {
            access: "Read (get) of key 1",
            thread: "checker",
        },
        Side {
            access: "write (insert) of the map's structure",
            thread: TEST_THREAD,
        },
    )
);

/// `n` detached threads, one after another, each taking a DashMap guard and, while holding it,
/// a maprace lock (its held list records both; the lock's check looks at it).
fn guards_in_detached_threads(
    dash: &Arc<DashMap<u32, u32>>,
    lock: &Arc<maprace::sync::Mutex<u32>>,
    n: usize,
) {
    for i in 0..n as u32 {
        let (done, finished) = mpsc::channel();
        let (dash, lock) = (dash.clone(), lock.clone());
        drop(thread::spawn(move || {
            let guard = dash.get(&0);
            *lock.lock().unwrap() += 1;
            drop(guard);
            dash.insert(i % 64, i);
            done.send(()).unwrap();
        }));
        finished.recv().unwrap();
    }
}

// The deadlock checks keep a held list (holds and a published wait) per thread that takes a
// guard or lock: it goes back to a pool at the thread's end, so their number follows the
// threads alive at once, not every thread created, also with slots and records reused.
scenario!(
    twenty_thousand_detached_threads_with_guards_reuse_a_bounded_number_of_held_lists,
    {
        let dash = Arc::new(DashMap::<u32, u32>::new());
        dash.insert(0, 0);
        let lock = Arc::new(maprace::sync::Mutex::new(0));
        guards_in_detached_threads(&dash, &lock, 10_000);
        let half = maprace::__private::held_lists();
        guards_in_detached_threads(&dash, &lock, 10_000);
        let all = maprace::__private::held_lists();
        println!("held lists after 10k threads: {half}, after 20k: {all}");
        if maprace::COMPILED_IN {
            // The threads alive or ending at any time (a detached thread may still be in its
            // thread-locals' destructors as the next one starts): a few, not 20,000.
            assert!((1..=64).contains(&half), "{half}");
            assert!(all <= 64, "{all}");
        }
    },
    |out| out.assert_clean()
);
