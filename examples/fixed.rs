//! The same work as `race.rs`, done right: the map lives behind a `maprace::sync::Mutex`, so
//! every access is ordered by a lock maprace sees. It runs clean.
//!
//! ```text
//! cargo run --example fixed
//! ```

use maprace::HashMap;
use maprace::sync::{Arc, Mutex};
use std::thread;

fn main() {
    let map = Arc::new(Mutex::new(HashMap::new()));

    let writer = {
        let map = Arc::clone(&map);
        thread::Builder::new()
            .name("writer".into())
            .spawn(move || {
                for key in 0..1000u64 {
                    map.lock().unwrap().insert(key, key * 2);
                }
            })
            .unwrap()
    };

    let mut found = 0;
    for key in 0..1000u64 {
        if map.lock().unwrap().contains_key(&key) {
            found += 1;
        }
    }
    writer.join().unwrap();
    let total = map.lock().unwrap().len();
    println!("found {found} keys while the writer was inserting; {total} in the end");
}
