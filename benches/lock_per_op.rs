//! The README's performance table, "2 threads, a lock per operation": `maprace::sync::Mutex<maprace::HashMap>` against
//! `std::sync::Mutex<std::collections::HashMap>`, two threads each taking the lock for every
//! operation (3 gets to 1 insert, over 1k keys). Runs interleave the two sides; the ratio of
//! the medians is printed. Target: ≤ 2.0.
//!
//! ```text
//! cargo bench --bench lock_per_op --features detect-in-release   # the detector compiled in
//! cargo bench --bench lock_per_op                                # compiled out: ratio ~1.0
//! ```

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEYS: u64 = 1_000;
const OPS_PER_THREAD: u64 = 200_000;
const RUNS: usize = 11;

macro_rules! run {
    ($new_lock:path, $new_map:path) => {{
        let map = Arc::new($new_lock($new_map()));
        for k in 0..KEYS {
            map.lock().unwrap().insert(k, k);
        }
        let start = Instant::now();
        let threads: Vec<_> = (0..2u64)
            .map(|t| {
                let map = Arc::clone(&map);
                std::thread::spawn(move || {
                    let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                    for i in 0..OPS_PER_THREAD {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let key = x % KEYS;
                        if i % 4 == 0 {
                            map.lock().unwrap().insert(key, i);
                        } else {
                            black_box(map.lock().unwrap().get(&key).copied());
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        start.elapsed()
    }};
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let (mut tracked, mut plain, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..RUNS {
        // Interleaved, alternating which goes first, so drift in the machine's speed (and
        // contention from elsewhere) lands on both; the ratio is taken per round.
        let (t, p) = if round % 2 == 0 {
            let t = run!(maprace::sync::Mutex::new, maprace::HashMap::new);
            (
                t,
                run!(std::sync::Mutex::new, std::collections::HashMap::new),
            )
        } else {
            let p = run!(std::sync::Mutex::new, std::collections::HashMap::new);
            (run!(maprace::sync::Mutex::new, maprace::HashMap::new), p)
        };
        tracked.push(t);
        plain.push(p);
        ratios.push(t.as_secs_f64() / p.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios[ratios.len() / 2];
    let (tracked, plain) = (median(tracked), median(plain));
    let ops = 2 * OPS_PER_THREAD;
    println!(
        "lock_per_op (2 threads, {ops} ops, {KEYS} keys, median of {RUNS}): \
         maprace {:.1} ns/op, std {:.1} ns/op, ratio {:.2} (median of per-round ratios; \
         target <= 2.0; detector compiled in: {})",
        tracked.as_nanos() as f64 / ops as f64,
        plain.as_nanos() as f64 / ops as f64,
        ratio,
        maprace::COMPILED_IN,
    );
}
