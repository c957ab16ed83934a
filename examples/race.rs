//! The classic map race: a writer thread inserts keys while the main thread reads the same map,
//! shared through a raw pointer with no synchronization. maprace reports it and exits with 66.
//!
//! ```text
//! cargo run --example race
//! ```

use maprace::HashMap;
use std::thread;

/// Lets the map's address cross to another thread, as unsafe code and FFI do.
#[derive(Clone, Copy)]
struct Shared(*mut HashMap<u64, u64>);
// SAFETY: this is the bug maprace finds: nothing orders the two threads' use of the map.
unsafe impl Send for Shared {}

fn main() {
    let mut map = HashMap::new();
    let shared = Shared(&mut map);

    let writer = thread::Builder::new()
        .name("writer".into())
        .spawn(move || {
            let shared = shared;
            for key in 0..1000 {
                // SAFETY: none; this is the race.
                unsafe { (*shared.0).insert(key, key * 2) };
            }
        })
        .unwrap();

    let mut found = 0;
    for key in 0..1000 {
        if map.contains_key(&key) {
            found += 1;
        }
    }
    writer.join().unwrap();
    println!("found {found} keys while the writer was inserting");
}
