//! Long-lived maps used by many short threads in turn, so that thread slots are reused under
//! them (a joined thread's slot goes to the next thread at once; a detached one's after 256
//! more ended): a map behind a maprace `Mutex`, a map handed from thread to thread through
//! maprace channels, a DashMap. Every access is ordered (the lock, the channels, the shard
//! locks), so the run is clean; after it, an unordered pair of accesses to the handed map is
//! still reported, at its sites. A missed order between a slot's old and new holder would be a
//! false report here; a floor set too high, a missed one in the mirror.

mod common;
use common::{Side, TEST_THREAD};
use maprace::sync::{Arc, Mutex, mpsc};

type Map = maprace::HashMap<u64, u64>;

/// `threads` short threads, one after another (every third detached: nothing joins it), each
/// taking the handed map from the one before it through a maprace channel, using all three
/// maps, and handing the map on. Returns the handed map.
fn churn(threads: u64) -> Box<Map> {
    let locked = Arc::new(Mutex::new(Map::new()));
    #[cfg(feature = "dashmap")]
    let dash = Arc::new(maprace::DashMap::<u64, u64>::new());
    let (hand_on, handed) = mpsc::channel::<Box<Map>>();
    hand_on.send(Box::new(Map::new())).unwrap();
    let handed = Arc::new(Mutex::new(handed));
    // Each thread says it is done (the detached ones cannot be joined).
    let (done, all_done) = mpsc::channel::<()>();
    let mut joins = Vec::new();
    for t in 0..threads {
        let (locked, handed, hand_on, done) = (
            Arc::clone(&locked),
            Arc::clone(&handed),
            hand_on.clone(),
            done.clone(),
        );
        #[cfg(feature = "dashmap")]
        let dash = Arc::clone(&dash);
        let handle = std::thread::spawn(move || {
            let mut map = handed.lock().unwrap().recv().unwrap();
            let before = map.get(&(t % 16)).copied().unwrap_or(0);
            map.insert(t % 16, before + 1);
            {
                let mut locked = locked.lock().unwrap();
                let n = locked.get(&(t % 8)).copied().unwrap_or(0);
                locked.insert(t % 8, n + 1);
            }
            #[cfg(feature = "dashmap")]
            {
                *dash.entry(t % 8).or_insert(0) += 1;
                let _ = dash.get(&((t + 1) % 8)).map(|v| *v);
            }
            hand_on.send(map).unwrap();
            done.send(()).unwrap();
        });
        if t % 3 == 2 {
            drop(handle); // detached
        } else {
            joins.push(handle);
            if joins.len() > 4 {
                joins.remove(0).join().unwrap();
            }
        }
    }
    for handle in joins {
        handle.join().unwrap();
    }
    for _ in 0..threads {
        all_done.recv().unwrap();
    }
    let map = handed.lock().unwrap().recv().unwrap();
    assert_eq!(map.values().sum::<u64>(), threads);
    assert_eq!(locked.lock().unwrap().values().sum::<u64>(), threads);
    #[cfg(feature = "dashmap")]
    assert_eq!(dash.iter().map(|e| *e.value()).sum::<u64>(), threads);
    map
}

scenario!(
    maps_used_in_turn_by_fifteen_hundred_short_threads_run_clean,
    {
        churn(1_500);
    },
    |out| out.assert_clean()
);

scenario!(
    after_fifteen_hundred_short_threads_an_unordered_pair_on_the_handed_map_is_reported,
    {
        let mut map = churn(1_500);
        common::unordered(
            &mut *map,
            |m| at!("previous", m.insert(3, 0)),
            |m| at!("current", m.get(&3).copied()),
        );
    },
    |out| out.assert_race(
        Side {
            access: "Read (get) of key 3 in map#1",
            thread: TEST_THREAD,
        },
        Side {
            access: "write (insert) of key 3",
            thread: "writer",
        },
    )
);
