//! maprace's cost, as ratios to plain std (the README's performance table): each workload runs on
//! `std::collections::HashMap` and on `maprace::HashMap`, interleaved round by round, and the
//! ratio printed is the median of the per-round ratios (the machines are noisy).
//!
//! ```text
//! cargo bench --bench overhead --features detect-in-release   # the detector compiled in
//! cargo bench --bench overhead                                # compiled out: ratios ~1.00
//! ```
//!
//! The `enabled=0` row runs in a child process of this benchmark, since options are read once.
//!
//! Single-thread costs are decided with instruction counts, which are stable on a shared
//! machine where timings are not: `--callgrind <workload> <std|tracked>` sets a workload up and
//! runs one batch of one side inside `measured`, so that callgrind counts only that batch:
//!
//! ```text
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*' \
//!     target/release/deps/overhead-<hash> --callgrind get_small tracked
//! ```
//!
//! (the batch's operation count is printed, to divide by; `--callgrind list` names the workloads).

use std::collections::HashMap as StdMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

type Tracked = maprace::HashMap<u64, u64>;

const ROUNDS: usize = 31;

/// A map operation workload, run on both map types.
trait Workload {
    const NAME: &'static str;
    /// The name `--callgrind` knows it by.
    const KEY: &'static str;
    const TARGET: f64;
    /// Map operations in one batch.
    const OPS: u64;
    fn std(&mut self) -> Duration;
    fn tracked(&mut self) -> Duration;
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

/// Runs `w` interleaved and returns (median ns per std batch, median ratio).
fn measure<W: Workload>(w: &mut W) -> (f64, f64) {
    // Warm up both (allocations, caches, the detector's thread context).
    w.std();
    w.tracked();
    let mut ratios = Vec::with_capacity(ROUNDS);
    let mut base = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        // Alternate which goes first, so drift in the machine's speed does not favour one.
        let (s, t) = if round % 2 == 0 {
            let s = w.std();
            (s, w.tracked())
        } else {
            let t = w.tracked();
            (w.std(), t)
        };
        base.push(s.as_nanos() as f64);
        ratios.push(t.as_secs_f64() / s.as_secs_f64());
    }
    (median(base), median(ratios))
}

fn keys(n: u64) -> Vec<u64> {
    // A fixed shuffle, so lookups do not walk the table in insertion order.
    (0..n)
        .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % n)
        .collect()
}

struct Get {
    keys: Vec<u64>,
    std: StdMap<u64, u64>,
    tracked: Tracked,
}

impl Get {
    fn new(n: u64) -> Get {
        Get {
            keys: keys(n),
            std: (0..n).map(|k| (k, k)).collect(),
            tracked: (0..n).map(|k| (k, k)).collect(),
        }
    }
}

macro_rules! get_loop {
    ($map:expr, $keys:expr) => {
        timed(|| {
            let mut sum = 0u64;
            for _ in 0..20 {
                for k in $keys {
                    sum = sum.wrapping_add(*$map.get(black_box(k)).unwrap());
                }
            }
            black_box(sum);
        })
    };
}

/// The insert-new + remove loop, the same code for both sides of both map types (as
/// `get_loop!`).
macro_rules! insert_remove_loop {
    ($map:expr, $keys:expr) => {
        timed(|| {
            for _ in 0..20 {
                for &k in $keys.iter() {
                    $map.insert(black_box(k + 1_000_000), k);
                }
                for &k in $keys.iter() {
                    black_box($map.remove(&black_box(k + 1_000_000)));
                }
            }
        })
    };
}

struct GetSmall(Get);
impl Workload for GetSmall {
    const NAME: &'static str = "get, 1k keys (cache-resident)";
    const KEY: &'static str = "get_small";
    const OPS: u64 = 20 * 1_000;
    const TARGET: f64 = 1.15;
    fn std(&mut self) -> Duration {
        get_loop!(self.0.std, &self.0.keys)
    }
    fn tracked(&mut self) -> Duration {
        get_loop!(self.0.tracked, &self.0.keys)
    }
}

/// `get` again, in a child process run with `MAPRACE_OPTIONS=enabled=0`.
struct GetDisabled(Get);
impl Workload for GetDisabled {
    const NAME: &'static str = "get, 1k keys, enabled=0";
    const KEY: &'static str = "get_disabled";
    const OPS: u64 = 20 * 1_000;
    const TARGET: f64 = 1.05;
    fn std(&mut self) -> Duration {
        get_loop!(self.0.std, &self.0.keys)
    }
    fn tracked(&mut self) -> Duration {
        get_loop!(self.0.tracked, &self.0.keys)
    }
}

struct GetLarge(Get);
impl Workload for GetLarge {
    const NAME: &'static str = "get, 1M keys";
    const KEY: &'static str = "get_large";
    const OPS: u64 = 20 * 100_000;
    const TARGET: f64 = 1.20;
    fn std(&mut self) -> Duration {
        let keys = &self.0.keys[..100_000];
        get_loop!(self.0.std, keys)
    }
    fn tracked(&mut self) -> Duration {
        let keys = &self.0.keys[..100_000];
        get_loop!(self.0.tracked, keys)
    }
}

/// `get` on a `BTreeMap` of 1k keys (callgrind only: DESIGN §7 has no BTreeMap row), to count
/// what the mirror adds to std's search, with every check on and with `enabled=0`.
struct BTreeGet {
    keys: Vec<u64>,
    std: std::collections::BTreeMap<u64, u64>,
    tracked: maprace::BTreeMap<u64, u64>,
}

impl BTreeGet {
    fn new(n: u64) -> BTreeGet {
        BTreeGet {
            keys: keys(n),
            std: (0..n).map(|k| (k, k)).collect(),
            tracked: (0..n).map(|k| (k, k)).collect(),
        }
    }
}

impl Workload for BTreeGet {
    const NAME: &'static str = "BTreeMap get, 1k keys";
    const KEY: &'static str = "btree_get";
    const OPS: u64 = 20 * 1_000;
    const TARGET: f64 = f64::INFINITY;
    fn std(&mut self) -> Duration {
        get_loop!(self.std, &self.keys)
    }
    fn tracked(&mut self) -> Duration {
        get_loop!(self.tracked, &self.keys)
    }
}

/// Insert of a new key + remove on a `BTreeMap` of 1k keys (callgrind only, as `BTreeGet`).
struct BTreeInsertRemove(BTreeGet);
impl Workload for BTreeInsertRemove {
    const NAME: &'static str = "BTreeMap insert new + remove, 1k keys";
    const KEY: &'static str = "btree_insert_remove";
    const OPS: u64 = 20 * 2_000;
    const TARGET: f64 = f64::INFINITY;
    fn std(&mut self) -> Duration {
        let BTreeGet { keys, std, .. } = &mut self.0;
        insert_remove_loop!(std, keys)
    }
    fn tracked(&mut self) -> Duration {
        let BTreeGet { keys, tracked, .. } = &mut self.0;
        insert_remove_loop!(tracked, keys)
    }
}

struct Overwrite(Get);
impl Workload for Overwrite {
    const NAME: &'static str = "insert over an existing key, 1k keys";
    const KEY: &'static str = "overwrite";
    const OPS: u64 = 20 * 1_000;
    const TARGET: f64 = 1.25;
    fn std(&mut self) -> Duration {
        let Get { keys, std, .. } = &mut self.0;
        timed(|| {
            for round in 0..20 {
                for &k in keys.iter() {
                    black_box(std.insert(black_box(k), round));
                }
            }
        })
    }
    fn tracked(&mut self) -> Duration {
        let Get { keys, tracked, .. } = &mut self.0;
        timed(|| {
            for round in 0..20 {
                for &k in keys.iter() {
                    black_box(tracked.insert(black_box(k), round));
                }
            }
        })
    }
}

struct InsertRemove(Get);
impl Workload for InsertRemove {
    const NAME: &'static str = "insert new + remove, 1k keys";
    const KEY: &'static str = "insert_remove";
    const OPS: u64 = 20 * 2_000;
    const TARGET: f64 = 1.30;
    fn std(&mut self) -> Duration {
        let Get { keys, std, .. } = &mut self.0;
        insert_remove_loop!(std, keys)
    }
    fn tracked(&mut self) -> Duration {
        let Get { keys, tracked, .. } = &mut self.0;
        insert_remove_loop!(tracked, keys)
    }
}

/// Two threads reading the same keys with no synchronization in between that maprace sees.
///
/// The threads live as long as the workload (made once, in `new`): each round only wakes them
/// with a `std::sync::Barrier` (std's own, which maprace does not see) and waits at it for
/// their end, so that neither their creation nor a join lands in the timing, and their epochs
/// never move. After the first round each key's read set holds both threads' entries, and a
/// read finds its own entry there: no shadow writes at all (`--callgrind shared_reads tracked`
/// under `valgrind --fair-sched=yes`, rounds `MAPRACE_BENCH_ROUNDS` n and 2n: the difference
/// is the steady state).
struct SharedReads {
    pool: std::sync::Arc<Pool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// What `SharedReads`' threads share: the maps, the side to run (0 std, 1 tracked, 2 stop)
/// and the barrier that starts and ends a round.
struct Pool {
    get: Get,
    side: std::sync::atomic::AtomicU8,
    barrier: std::sync::Barrier,
}

/// Passes over the 1k keys per thread per round (so a round is long next to the barrier's
/// wake-up).
const SHARED_PASSES: usize = 100;

impl SharedReads {
    fn new(get: Get) -> SharedReads {
        use std::sync::atomic::Ordering::Relaxed;
        let pool = std::sync::Arc::new(Pool {
            get,
            side: std::sync::atomic::AtomicU8::new(0),
            barrier: std::sync::Barrier::new(3),
        });
        let threads = (0..2)
            .map(|_| {
                let pool = std::sync::Arc::clone(&pool);
                std::thread::spawn(move || {
                    loop {
                        pool.barrier.wait();
                        let g = &pool.get;
                        match pool.side.load(Relaxed) {
                            0 => {
                                for _ in 0..SHARED_PASSES / 20 {
                                    get_loop!(g.std, &g.keys);
                                }
                            }
                            1 => {
                                for _ in 0..SHARED_PASSES / 20 {
                                    get_loop!(g.tracked, &g.keys);
                                }
                            }
                            _ => return,
                        }
                        pool.barrier.wait();
                    }
                })
            })
            .collect();
        SharedReads { pool, threads }
    }

    /// One round of `side`: the threads' passes, from the barrier that starts them to the one
    /// they end at.
    fn round(&self, side: u8) -> Duration {
        self.pool
            .side
            .store(side, std::sync::atomic::Ordering::Relaxed);
        timed(|| {
            self.pool.barrier.wait();
            self.pool.barrier.wait();
        })
    }
}

impl Drop for SharedReads {
    fn drop(&mut self) {
        self.pool
            .side
            .store(2, std::sync::atomic::Ordering::Relaxed);
        self.pool.barrier.wait();
        for t in self.threads.drain(..) {
            t.join().unwrap();
        }
    }
}

impl Workload for SharedReads {
    const NAME: &'static str = "2 threads reading the same 1k keys";
    const KEY: &'static str = "shared_reads";
    const OPS: u64 = 2 * SHARED_PASSES as u64 * 1_000;
    const TARGET: f64 = 1.3;
    fn std(&mut self) -> Duration {
        self.round(0)
    }
    fn tracked(&mut self) -> Duration {
        self.round(1)
    }
}

/// Building a map of 1M keys from empty, growth included (the map is dropped outside the timing).
struct Build {
    keys: Vec<u64>,
}

impl Workload for Build {
    const NAME: &'static str = "build a 1M-key map from empty";
    const KEY: &'static str = "build_large";
    const OPS: u64 = 1_000_000;
    const TARGET: f64 = 1.30;
    fn std(&mut self) -> Duration {
        let mut map = StdMap::new();
        let t = timed(|| {
            for &k in &self.keys {
                map.insert(black_box(k), k);
            }
        });
        black_box(&map);
        t
    }
    fn tracked(&mut self) -> Duration {
        let mut map = Tracked::new();
        let t = timed(|| {
            for &k in &self.keys {
                map.insert(black_box(k), k);
            }
        });
        black_box(&map);
        t
    }
}

/// One batch of one side, alone in a function that callgrind can be told to count.
#[inline(never)]
fn measured<W: Workload>(w: &mut W, tracked: bool) -> Duration {
    if tracked { w.tracked() } else { w.std() }
}

/// `--callgrind <workload> <std|tracked>`: one warm-up batch, then one batch in `measured`.
fn callgrind_batch<W: Workload>(mut w: W, side: &str) {
    let tracked = side == "tracked";
    // Warm-up (the thread's context, allocations), outside `measured`: callgrind counts only
    // what runs inside it.
    if tracked {
        w.tracked();
    } else {
        w.std();
    }
    measured(&mut w, tracked);
    println!(
        "{} {side}: {} operations in the measured batch",
        W::KEY,
        W::OPS
    );
}

/// `--callgrind shared_reads <std|tracked>`: `MAPRACE_BENCH_ROUNDS` rounds (default 4) of one
/// side, whole-program (the threads' work is not inside `measured`): run it with n and 2n
/// rounds under `valgrind --fair-sched=yes` and divide the difference by n rounds' operations.
fn shared_reads_rounds(side: &str) {
    let rounds: u64 = std::env::var("MAPRACE_BENCH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(4);
    let w = SharedReads::new(Get::new(1_000));
    for _ in 0..rounds {
        w.round(u8::from(side == "tracked"));
    }
    println!(
        "shared_reads {side}: {rounds} rounds of {} operations",
        SharedReads::OPS
    );
}

fn callgrind(args: &[String]) {
    let (workload, side) = match args {
        [w, s] if s == "std" || s == "tracked" => (w.as_str(), s.as_str()),
        _ => ("list", ""),
    };
    let small = || Get::new(1_000);
    match workload {
        "get_small" => callgrind_batch(GetSmall(small()), side),
        "get_disabled" => callgrind_batch(GetDisabled(small()), side),
        "overwrite" => callgrind_batch(Overwrite(small()), side),
        "insert_remove" => callgrind_batch(InsertRemove(small()), side),
        "get_large" => callgrind_batch(GetLarge(Get::new(1_000_000)), side),
        "shared_reads" => shared_reads_rounds(side),
        "btree_get" => callgrind_batch(BTreeGet::new(1_000), side),
        "btree_insert_remove" => callgrind_batch(BTreeInsertRemove(BTreeGet::new(1_000)), side),
        "build_large" => callgrind_batch(
            Build {
                keys: keys(1_000_000),
            },
            side,
        ),
        _ => println!(
            "--callgrind <get_small|get_disabled|overwrite|insert_remove|get_large|build_large|shared_reads|btree_get|btree_insert_remove> <std|tracked>\n\
             (get_disabled: run it with MAPRACE_OPTIONS=enabled=0)"
        ),
    }
}

fn row<W: Workload>(w: &mut W) {
    let (base, ratio) = measure(w);
    let verdict = if ratio <= W::TARGET { "ok" } else { "OVER" };
    println!(
        "{:<40} std {:>9.1} us/batch   ratio {:>5.2}   target <= {:.2}  {verdict}",
        W::NAME,
        base / 1000.0,
        ratio,
        W::TARGET
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and test harness probes
    }
    if let Some(at) = args.iter().position(|a| a == "--callgrind") {
        return callgrind(&args[at + 1..]);
    }
    if args.iter().any(|a| a == "--shared-reads") {
        return row(&mut SharedReads::new(Get::new(1_000))); // that row alone
    }
    let child = std::env::var("MAPRACE_BENCH_CHILD").is_ok();
    if !child {
        println!(
            "maprace overhead (detector compiled in: {}; {} rounds, median of per-round ratios)",
            maprace::COMPILED_IN,
            ROUNDS
        );
        println!(
            "maprace::HashMap is std's type: {}",
            std::any::TypeId::of::<maprace::HashMap<u64, u64>>()
                == std::any::TypeId::of::<StdMap<u64, u64>>()
        );
    }
    let small = || Get::new(1_000);
    if child {
        return row(&mut GetDisabled(small()));
    }
    row(&mut GetSmall(small()));
    row(&mut Overwrite(small()));
    row(&mut InsertRemove(small()));
    row(&mut GetLarge(Get::new(1_000_000)));
    row(&mut Build {
        keys: keys(1_000_000),
    });
    row(&mut SharedReads::new(small()));

    if maprace::COMPILED_IN {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env("MAPRACE_BENCH_CHILD", "1")
            .env("MAPRACE_OPTIONS", "enabled=0")
            .output()
            .expect("run the enabled=0 child");
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
}
