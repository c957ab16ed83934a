//! The README's performance table, "2 threads, a lock per operation": `maprace::sync::Mutex<maprace::HashMap>` against
//! `std::sync::Mutex<std::collections::HashMap>`, two threads each taking the lock for every
//! operation (3 gets to 1 write through the entry API, over 1k keys), with nothing to do between operations: the
//! lock changes hands as often as it can. Target (DESIGN's): ≤ 1.5.
//!
//! With the `parking_lot` feature, a second row: `maprace::parking_lot::Mutex<maprace::HashMap>`
//! against `parking_lot::Mutex<std::collections::HashMap>` (DESIGN's lock-per-op target, 1.5).
//!
//! ```text
//! cargo bench --bench lock_per_op --features detect-in-release               # compiled in
//! cargo bench --bench lock_per_op --features detect-in-release,parking_lot   # + parking_lot
//! cargo bench --bench lock_per_op                                            # compiled out: ~1.0
//! ```
//!
//! Contended hand-offs are noisy (who gets the lock next, and how far apart the two cores are,
//! change from round to round), so a round is long (half a million operations per thread), the
//! two sides alternate round by round, and what is printed is the median of the per-round
//! ratios with its quartiles.
//!
//! For single-thread instruction counts, one side of one row runs alone on one thread:
//! `--callgrind <std|parking_lot> <plain|tracked> <ops>` runs a warm-up batch of `ops` (the
//! thread's context, the lists, the map's cells), then `ops` more inside `measured`, so that
//! callgrind counts only those; divided by `ops`, the cost of a lock, an operation (3 gets to 1
//! entry write) and an unlock:
//!
//! ```text
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*' \
//!     target/release/deps/lock_per_op-<hash> --callgrind std tracked 100000
//! ```
//!
//! (`MAPRACE_BENCH_ONLY=<std|parking_lot>:<plain|tracked>:<ops>` runs the same side with no
//! warm-up, for whole-program counts: the difference between two op counts, divided by the
//! difference in operations.)
//!
//! The write goes through `entry(..).and_modify(..).or_insert(..)`, not `insert`: a blind
//! `insert` of a key this thread read in its previous critical section, with the other thread's
//! write in between, is what maprace reports as a check-then-act (it cannot tell that the value
//! written does not depend on the read), so a benchmark of a correct program uses the atomic form.

use std::hint::black_box;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const KEYS: u64 = 1_000;
const OPS_PER_THREAD: u64 = 500_000;
const THREADS: u64 = 2;
const ROUNDS: usize = 25;

/// `MAPRACE_BENCH_HANDOFFS=1`: count how often the lock changes hands (the holder before is the
/// other thread), and print it per operation for each side. It adds a load under the lock, and a
/// store at each hand-off, on both sides; off by default.
fn count_handoffs() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("MAPRACE_BENCH_HANDOFFS").is_some())
}

/// The thread that held the lock last, and the hand-offs counted (see `count_handoffs`).
static LAST_HOLDER: AtomicU64 = AtomicU64::new(u64::MAX);
static HANDOFFS: AtomicU64 = AtomicU64::new(0);

/// One round on one side: both threads start together, and the round lasts until both are done.
macro_rules! round {
    ($new_lock:path, $new_map:path) => {
        round!($new_lock, $new_map, |map| map.lock().unwrap())
    };
    ($new_lock:path, $new_map:path, |$m:ident| $lock:expr) => {{
        let map = Arc::new($new_lock($new_map()));
        for k in 0..KEYS {
            {
                let $m = &*map;
                $lock
            }
            .insert(k, k);
        }
        let start = Arc::new(Barrier::new(THREADS as usize + 1));
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (map, start) = (Arc::clone(&map), Arc::clone(&start));
                std::thread::spawn(move || {
                    let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                    start.wait();
                    let mut handoffs = 0u64;
                    for i in 0..OPS_PER_THREAD {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let key = x % KEYS;
                        let mut guard = {
                            let $m = &*map;
                            $lock
                        };
                        if count_handoffs() {
                            // Under the lock: a plain load and store, ordered by the lock.
                            if LAST_HOLDER.load(Relaxed) != t {
                                LAST_HOLDER.store(t, Relaxed);
                                handoffs += 1;
                            }
                        }
                        if i % 4 == 0 {
                            guard.entry(key).and_modify(|v| *v = i).or_insert(i);
                        } else {
                            black_box(guard.get(&key).copied());
                        }
                        drop(guard);
                    }
                    HANDOFFS.fetch_add(handoffs, Relaxed);
                })
            })
            .collect();
        start.wait();
        let began = Instant::now();
        for t in threads {
            t.join().unwrap();
        }
        began.elapsed()
    }};
}

fn tracked() -> Duration {
    round!(maprace::sync::Mutex::new, maprace::HashMap::new)
}

fn plain() -> Duration {
    round!(std::sync::Mutex::new, std::collections::HashMap::new)
}

#[cfg(feature = "parking_lot")]
fn tracked_parking_lot() -> Duration {
    round!(
        maprace::parking_lot::Mutex::new,
        maprace::HashMap::new,
        |map| map.lock()
    )
}

#[cfg(feature = "parking_lot")]
fn plain_parking_lot() -> Duration {
    round!(
        parking_lot::Mutex::new,
        std::collections::HashMap::new,
        |map| map.lock()
    )
}

/// The value at fraction `q` of the sorted `xs`.
fn quantile(xs: &[f64], q: f64) -> f64 {
    xs[((xs.len() - 1) as f64 * q).round() as usize]
}

/// Runs `ROUNDS` interleaved rounds of the two sides and prints the medians.
fn compare(row: &str, target: f64, tracked: fn() -> Duration, plain: fn() -> Duration) {
    let (mut ratios, mut tracked_ns, mut plain_ns) = (Vec::new(), Vec::new(), Vec::new());
    let per_op = |d: Duration| d.as_nanos() as f64 / (THREADS * OPS_PER_THREAD) as f64;
    let (mut tracked_handoffs, mut plain_handoffs) = (Vec::new(), Vec::new());
    let raw = std::env::var_os("MAPRACE_BENCH_RAW").is_some();
    let ops = (THREADS * OPS_PER_THREAD) as f64;
    for round in 0..ROUNDS {
        // Alternating which goes first, so drift in the machine's speed lands on both.
        let side = |f: fn() -> Duration| {
            HANDOFFS.store(0, Relaxed);
            let d = f();
            (d, HANDOFFS.load(Relaxed) as f64 / ops)
        };
        let ((t, th), (p, ph)) = if round % 2 == 0 {
            let t = side(tracked);
            (t, side(plain))
        } else {
            let p = side(plain);
            (side(tracked), p)
        };
        if raw {
            println!(
                "raw {row}: tracked {:.1} plain {:.1} ns/op ratio {:.3} handoffs/op {th:.3} {ph:.3}",
                per_op(t),
                per_op(p),
                t.as_secs_f64() / p.as_secs_f64()
            );
        }
        tracked_ns.push(per_op(t));
        plain_ns.push(per_op(p));
        ratios.push(t.as_secs_f64() / p.as_secs_f64());
        tracked_handoffs.push(th);
        plain_handoffs.push(ph);
    }
    if count_handoffs() {
        tracked_handoffs.sort_by(f64::total_cmp);
        plain_handoffs.sort_by(f64::total_cmp);
        println!(
            "lock_per_op, {row}: the lock changed hands at {:.3} (maprace) and {:.3} (plain) of the operations (medians)",
            quantile(&tracked_handoffs, 0.5),
            quantile(&plain_handoffs, 0.5),
        );
    }
    for xs in [&mut ratios, &mut tracked_ns, &mut plain_ns] {
        xs.sort_by(f64::total_cmp);
    }
    println!(
        "lock_per_op, {row} ({THREADS} threads, {} ops per round, {KEYS} keys, {ROUNDS} rounds): \
         maprace {:.1} ns/op, plain {:.1} ns/op (medians); ratio {:.2} (median of per-round \
         ratios; quartiles {:.2}..{:.2}; target <= {target}; detector compiled in: {})",
        THREADS * OPS_PER_THREAD,
        quantile(&tracked_ns, 0.5),
        quantile(&plain_ns, 0.5),
        quantile(&ratios, 0.5),
        quantile(&ratios, 0.25),
        quantile(&ratios, 0.75),
        maprace::COMPILED_IN,
    );
}

/// `ops` operations of the mix on this thread alone, each under the lock: `$warm` of them
/// first, then `$ops` inside `measured` (which callgrind can be told to count alone).
macro_rules! alone {
    ($new_lock:path, $new_map:path, $warm:expr, $ops:expr, |$m:ident| $lock:expr) => {{
        let map = $new_lock($new_map());
        for k in 0..KEYS {
            {
                let $m = &map;
                $lock
            }
            .insert(k, k);
        }
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15 | 1;
        let mut batch = |ops: u64| {
            for i in 0..ops {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let key = x % KEYS;
                let $m = &map;
                if i % 4 == 0 {
                    $lock.entry(key).and_modify(|v| *v = i).or_insert(i);
                } else {
                    black_box($lock.get(&key).copied());
                }
            }
        };
        batch($warm);
        measured(&mut || batch($ops));
    }};
}

/// `ops` operations of the mix on each of two threads that take strict turns (a turn passed
/// through a plain atomic, which maprace does not see: the lock is the only edge), so that every
/// lock finds the other thread's release: the hand-off path, for instruction counts under
/// `valgrind --fair-sched=yes` (which serializes the threads and has no coherence cost; the
/// turn-passing costs the same on both sides, so the tracked - plain difference is the
/// detector's).
macro_rules! handoff {
    ($new_lock:path, $new_map:path, $ops:expr, |$m:ident| $lock:expr) => {{
        use std::sync::atomic::{AtomicU64, Ordering};
        let map = Arc::new($new_lock($new_map()));
        for k in 0..KEYS {
            {
                let $m = &*map;
                $lock
            }
            .insert(k, k);
        }
        let turn = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..2u64)
            .map(|t| {
                let (map, turn) = (Arc::clone(&map), Arc::clone(&turn));
                std::thread::spawn(move || {
                    let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                    for i in 0..$ops {
                        while turn.load(Ordering::Acquire) != t {
                            std::thread::yield_now();
                        }
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let key = x % KEYS;
                        let $m = &*map;
                        if i % 4 == 0 {
                            $lock.entry(key).and_modify(|v| *v = i).or_insert(i);
                        } else {
                            black_box($lock.get(&key).copied());
                        }
                        turn.store(1 - t, Ordering::Release);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }};
}

/// `--handoff <std|parking_lot> <plain|tracked> <ops>`: `handoff!` (count two op counts and
/// take the difference: `(I(2n) - I(n)) / 2n` per operation).
fn handoff_only(args: &[&str]) {
    let [row, side, ops] = args[..] else {
        panic!("expected <std|parking_lot> <plain|tracked> <ops>, not {args:?}");
    };
    let ops: u64 = ops.parse().expect("a number of operations");
    match (row, side) {
        ("std", "tracked") => {
            handoff!(maprace::sync::Mutex::new, maprace::HashMap::new, ops, |m| m
                .lock()
                .unwrap())
        }
        ("std", "plain") => handoff!(
            std::sync::Mutex::new,
            std::collections::HashMap::new,
            ops,
            |m| m.lock().unwrap()
        ),
        #[cfg(feature = "parking_lot")]
        ("parking_lot", "tracked") => handoff!(
            maprace::parking_lot::Mutex::new,
            maprace::HashMap::new,
            ops,
            |m| m.lock()
        ),
        #[cfg(feature = "parking_lot")]
        ("parking_lot", "plain") => handoff!(
            parking_lot::Mutex::new,
            std::collections::HashMap::new,
            ops,
            |m| m.lock()
        ),
        _ => panic!("unknown row or side in {args:?}"),
    }
    println!("{row} {side}: {ops} hand-offs on each of 2 threads");
}

/// The batch callgrind counts (`--toggle-collect='*measured*'`).
#[inline(never)]
fn measured(batch: &mut dyn FnMut()) {
    batch();
}

/// One side of one row alone on this thread: `<std|parking_lot> <plain|tracked|lock> <ops>`
/// (`lock`: maprace's lock around std's map, the lock's own cost), from
/// `MAPRACE_BENCH_ONLY` (colon-separated, no warm-up: count two op counts and take the
/// difference) or `--callgrind` (a warm-up batch of the same size, then the measured one).
fn only(args: &[&str], warm: bool) {
    let [row, side, ops] = args[..] else {
        panic!("expected <std|parking_lot> <plain|tracked|lock> <ops>, not {args:?}");
    };
    let ops: u64 = ops.parse().expect("a number of operations");
    let warm = if warm { ops } else { 0 };
    match (row, side) {
        ("std", "tracked") => alone!(
            maprace::sync::Mutex::new,
            maprace::HashMap::new,
            warm,
            ops,
            |m| m.lock().unwrap()
        ),
        ("std", "lock") => alone!(
            maprace::sync::Mutex::new,
            std::collections::HashMap::new,
            warm,
            ops,
            |m| m.lock().unwrap()
        ),
        ("std", "plain") => alone!(
            std::sync::Mutex::new,
            std::collections::HashMap::new,
            warm,
            ops,
            |m| m.lock().unwrap()
        ),
        #[cfg(feature = "parking_lot")]
        ("parking_lot", "tracked") => alone!(
            maprace::parking_lot::Mutex::new,
            maprace::HashMap::new,
            warm,
            ops,
            |m| m.lock()
        ),
        #[cfg(feature = "parking_lot")]
        ("parking_lot", "lock") => alone!(
            maprace::parking_lot::Mutex::new,
            std::collections::HashMap::new,
            warm,
            ops,
            |m| m.lock()
        ),
        #[cfg(feature = "parking_lot")]
        ("parking_lot", "plain") => alone!(
            parking_lot::Mutex::new,
            std::collections::HashMap::new,
            warm,
            ops,
            |m| m.lock()
        ),
        _ => panic!("unknown row or side in {args:?}"),
    }
    println!("{row} {side}: {ops} lock + operation + unlock in the measured batch");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and test harness probes
    }
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--callgrind") {
        let rest: Vec<&str> = args[at + 1..].iter().map(String::as_str).collect();
        return only(&rest, true);
    }
    if let Some(at) = args.iter().position(|a| a == "--handoff") {
        let rest: Vec<&str> = args[at + 1..].iter().map(String::as_str).collect();
        return handoff_only(&rest);
    }
    if let Ok(spec) = std::env::var("MAPRACE_BENCH_ONLY") {
        return only(&spec.split(':').collect::<Vec<_>>(), false);
    }
    // `MAPRACE_BENCH_ROW=<std|parking_lot>`: that row alone.
    let row = std::env::var("MAPRACE_BENCH_ROW").ok();
    let wanted = |name: &str| row.as_deref().is_none_or(|r| r == name);
    if wanted("std") {
        compare("std::sync::Mutex", 1.5, tracked, plain);
    }
    #[cfg(feature = "parking_lot")]
    if wanted("parking_lot") {
        compare(
            "parking_lot::Mutex",
            1.5,
            tracked_parking_lot,
            plain_parking_lot,
        );
    }
}
