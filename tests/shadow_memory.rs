//! The shadow's memory stays bounded by what is alive, however long the program runs.

mod common;

use maprace::HashMap;
use maprace::sync::{Arc, Barrier, RwLock};

const READERS: usize = 4;
const KEYS: u64 = 200;
const ROUNDS: u64 = 400;

// Issue 10, point 12: readers under a `maprace::sync::RwLock` share read sets on every key
// they read together; keys churned by a writer used to leave their sets behind (74 MB after 400
// rounds, twice as much as after 200). Each round the writer inserts fresh keys, the readers
// read them all (four readers: slots 1 to 4, so a key's set also grows past its first size),
// and the writer removes them. The sets alive at the same point of round 400 are as many as at
// round 50.
scenario!(
    read_sets_of_churned_keys_are_recycled_issue_10_12,
    {
        let map = Arc::new(RwLock::new(HashMap::<u64, u64>::new()));
        let start = Arc::new(Barrier::new(READERS + 1));
        let done = Arc::new(Barrier::new(READERS + 1));
        let readers: Vec<_> = (0..READERS)
            .map(|_| {
                let (map, start, done) = (map.clone(), start.clone(), done.clone());
                std::thread::spawn(move || {
                    for round in 0..ROUNDS {
                        start.wait();
                        let map = map.read().unwrap();
                        for key in round * KEYS..(round + 1) * KEYS {
                            assert_eq!(map.get(&key), Some(&key));
                        }
                        drop(map);
                        done.wait();
                    }
                })
            })
            .collect();
        let mut alive = Vec::new();
        for round in 0..ROUNDS {
            let keys = round * KEYS..(round + 1) * KEYS;
            let mut writing = map.write().unwrap();
            for key in keys.clone() {
                writing.insert(key, key);
            }
            drop(writing);
            start.wait();
            done.wait();
            if round == 49 || round == ROUNDS - 1 {
                alive.push(maprace::__private::live_read_sets());
            }
            let mut writing = map.write().unwrap();
            for key in keys {
                writing.remove(&key);
            }
        }
        for reader in readers {
            reader.join().unwrap();
        }
        let (after_50, after_400) = (alive[0], alive[1]);
        println!(
            "maprace-test: read sets alive after 50 rounds: {after_50}, after 400: {after_400}"
        );
        if maprace::COMPILED_IN {
            assert!(
                after_50 >= KEYS as usize,
                "each key read by all readers has a set"
            );
        }
        assert!(
            after_400 * 2 <= after_50 * 3,
            "read sets alive after 400 rounds ({after_400}) within 1.5x of after 50 ({after_50})"
        );
    },
    |out| out.assert_clean()
);
