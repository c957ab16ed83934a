//! The README's DashMap rows: `maprace::DashMap` against plain `dashmap::DashMap` (`u64 ->
//! u64`, 1k keys), deadlock checks on (the default), interleaved round by round, the ratio being
//! the median of the per-round ratios.
//!
//! ```text
//! cargo bench --bench dashmap --features detect-in-release   # the detector compiled in
//! cargo bench --bench dashmap                                # compiled out: ratios ~1.00
//! ```
//!
//! The two-thread row is wall-clock on two cores and needs a quiet machine. For single-thread
//! instruction counts, one side of one workload runs alone with
//! `MAPRACE_BENCH_ONLY=<get|contains|overwrite>:<plain|tracked>:<rounds>` (e.g. under `valgrind --tool=callgrind`):
//! the difference between two round counts, divided by the operations, is the cost per operation
//! (`mixed`: the two-thread row's rounds of 400k operations, under `--fair-sched=yes`;
//! `MAPRACE_BENCH_ROW=mixed` times that row alone).

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

type Plain = dashmap::DashMap<u64, u64>;
type Tracked = maprace::DashMap<u64, u64>;

const KEYS: u64 = 1_000;
const ROUNDS: usize = 31;
/// Passes over the keys per batch.
const PASSES: u64 = 20;

fn keys() -> Vec<u64> {
    // A fixed shuffle, so lookups do not walk the table in insertion order.
    (0..KEYS)
        .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % KEYS)
        .collect()
}

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

/// The operations, written once for both map types.
macro_rules! get_batch {
    ($map:expr, $keys:expr) => {{
        let mut sum = 0u64;
        for _ in 0..PASSES {
            for k in $keys {
                sum = sum.wrapping_add(*$map.get(black_box(k)).unwrap());
            }
        }
        black_box(sum);
    }};
}

macro_rules! contains_batch {
    ($map:expr, $keys:expr) => {{
        let mut found = 0u64;
        for _ in 0..PASSES {
            for k in $keys {
                found += u64::from($map.contains_key(black_box(k)));
            }
        }
        black_box(found);
    }};
}

macro_rules! overwrite_batch {
    ($map:expr, $keys:expr) => {{
        for round in 0..PASSES {
            for &k in $keys {
                black_box($map.insert(black_box(k), round));
            }
        }
    }};
}

/// Two threads, each 3 gets to 1 insert over the same keys, started together.
macro_rules! mixed_round {
    ($map:expr) => {{
        let map = Arc::clone(&$map);
        let start = Arc::new(Barrier::new(3));
        let threads: Vec<_> = (0..2u64)
            .map(|t| {
                let (map, start) = (Arc::clone(&map), Arc::clone(&start));
                std::thread::spawn(move || {
                    let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                    start.wait();
                    for i in 0..200_000u64 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let key = x % KEYS;
                        if i % 4 == 0 {
                            // The atomic form: a blind `insert` after a `get` of the key
                            // is a check-then-act to maprace (see benches/lock_per_op.rs).
                            black_box(*map.entry(key).and_modify(|v| *v = i).or_insert(i));
                        } else {
                            black_box(map.get(&key).map(|v| *v));
                        }
                    }
                })
            })
            .collect();
        start.wait();
        let began = Instant::now();
        for thread in threads {
            thread.join().unwrap();
        }
        began.elapsed()
    }};
}

fn filled_plain() -> Plain {
    let map = Plain::new();
    for k in 0..KEYS {
        map.insert(k, k);
    }
    map
}

fn filled_tracked() -> Tracked {
    let map = Tracked::new();
    for k in 0..KEYS {
        map.insert(k, k);
    }
    map
}

/// Runs both sides interleaved (alternating which goes first) and returns (median plain ns per
/// batch, median ratio).
fn measure(
    mut plain: impl FnMut() -> Duration,
    mut tracked: impl FnMut() -> Duration,
) -> (f64, f64) {
    plain();
    tracked();
    let mut ratios = Vec::with_capacity(ROUNDS);
    let mut base = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let (p, t) = if round % 2 == 0 {
            let p = plain();
            (p, tracked())
        } else {
            let t = tracked();
            (plain(), t)
        };
        base.push(p.as_nanos() as f64);
        ratios.push(t.as_secs_f64() / p.as_secs_f64());
    }
    (median(base), median(ratios))
}

fn row(name: &str, target: f64, (base, ratio): (f64, f64)) {
    let verdict = if ratio <= target { "ok" } else { "OVER" };
    println!(
        "{name:<44} dashmap {:>9.1} us/batch   ratio {ratio:>5.2}   target <= {target:.2}  {verdict}",
        base / 1000.0
    );
}

/// One side of one workload alone (`MAPRACE_BENCH_ONLY`), for instruction counts. Each batch
/// is a function of its own, so that the code of one workload does not change how another is
/// compiled (they would otherwise all be inlined into one).
fn only(spec: &str) {
    let parts: Vec<&str> = spec.split(':').collect();
    let [workload, side, rounds] = parts[..] else {
        panic!(
            "MAPRACE_BENCH_ONLY=<get|contains|overwrite|mixed>:<plain|tracked>:<rounds>, not {spec:?}"
        );
    };
    let rounds: u64 = rounds.parse().expect("a number of rounds");
    let keys = keys();
    let (plain, tracked) = (filled_plain(), filled_tracked());
    if workload == "mixed" {
        // The two-thread row's rounds (400k operations each), e.g. under `valgrind
        // --fair-sched=yes`, which serializes the threads: instructions, not coherence.
        let (plain, tracked) = (Arc::new(plain), Arc::new(tracked));
        for _ in 0..rounds {
            match side {
                "plain" => mixed_round!(plain),
                _ => mixed_round!(tracked),
            };
        }
        return;
    }
    let batch: &dyn Fn() = match (workload, side) {
        ("get", "plain") => &|| get_plain(&plain, &keys),
        ("get", "tracked") => &|| get_tracked(&tracked, &keys),
        ("contains", "plain") => &|| contains_plain(&plain, &keys),
        ("contains", "tracked") => &|| contains_tracked(&tracked, &keys),
        ("overwrite", "plain") => &|| overwrite_plain(&plain, &keys),
        ("overwrite", "tracked") => &|| overwrite_tracked(&tracked, &keys),
        _ => panic!("unknown workload or side in {spec:?}"),
    };
    for _ in 0..rounds {
        batch();
    }
}

#[inline(never)]
fn get_plain(map: &Plain, keys: &[u64]) {
    get_batch!(map, keys)
}

#[inline(never)]
fn get_tracked(map: &Tracked, keys: &[u64]) {
    get_batch!(map, keys)
}

#[inline(never)]
fn contains_plain(map: &Plain, keys: &[u64]) {
    contains_batch!(map, keys)
}

#[inline(never)]
fn contains_tracked(map: &Tracked, keys: &[u64]) {
    contains_batch!(map, keys)
}

#[inline(never)]
fn overwrite_plain(map: &Plain, keys: &[u64]) {
    overwrite_batch!(map, keys)
}

#[inline(never)]
fn overwrite_tracked(map: &Tracked, keys: &[u64]) {
    overwrite_batch!(map, keys)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and test harness probes
    }
    if let Ok(spec) = std::env::var("MAPRACE_BENCH_ONLY") {
        return only(&spec);
    }
    println!(
        "maprace::DashMap overhead (detector compiled in: {}; {ROUNDS} rounds, median of per-round ratios)",
        maprace::COMPILED_IN
    );
    println!(
        "maprace::DashMap is dashmap's type: {}",
        std::any::TypeId::of::<maprace::DashMap<u64, u64>>() == std::any::TypeId::of::<Plain>()
    );
    let keys = keys();
    let (plain, tracked) = (filled_plain(), filled_tracked());
    // `MAPRACE_BENCH_ROW=mixed`: the two-thread row alone.
    let mixed_only = std::env::var("MAPRACE_BENCH_ROW").is_ok_and(|r| r == "mixed");
    if !mixed_only {
        row(
            "get, 1k keys",
            1.25,
            measure(
                || timed(|| get_batch!(plain, &keys)),
                || timed(|| get_batch!(tracked, &keys)),
            ),
        );
        row(
            "insert over an existing key, 1k keys",
            1.35,
            measure(
                || timed(|| overwrite_batch!(plain, &keys)),
                || timed(|| overwrite_batch!(tracked, &keys)),
            ),
        );
    }
    let (plain, tracked) = (Arc::new(plain), Arc::new(tracked));
    row(
        "2 threads, 3 gets : 1 insert, shared keys",
        1.5,
        measure(|| mixed_round!(plain), || mixed_round!(tracked)),
    );
}
