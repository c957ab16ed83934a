//! What the stats trace and `history=full` cost: get and insert on `maprace::HashMap` with
//! `trace=0` (the default), `trace=1` and `history=full`, as ratios to plain std.
//!
//! ```text
//! cargo bench --bench trace --features detect-in-release
//! ```
//!
//! Options are read once per process, so each mode runs in a child process of this benchmark.
//! Rounds interleave the modes (one child per mode per round) and, inside each child, std and
//! maprace batch by batch; each child prints its median ratio per workload, and the parent
//! prints the median over rounds, with the tracked map's ns per operation.

use std::collections::HashMap as StdMap;
use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

const KEYS: u64 = 1_000;
const BATCHES: usize = 41;
const ROUNDS: usize = 5;
const CHILD: &str = "MAPRACE_BENCH_TRACE_CHILD";

const MODES: [(&str, &str); 3] = [
    ("trace=0", ""),
    ("trace=1", "trace=1"),
    ("history=full", "history=full"),
];

/// The operations timed, on a warm map of `KEYS` keys.
trait Map {
    fn fresh() -> Self;
    fn get_all(&self) -> u64;
    fn insert_all(&mut self);
}

/// Wrappers, because with the detector compiled out the two map types are the same type.
struct Plain(StdMap<u64, u64>);
struct Tracked(maprace::HashMap<u64, u64>);

macro_rules! map_impl {
    ($wrapper:ident, $ty:ty) => {
        impl Map for $wrapper {
            fn fresh() -> Self {
                let mut map = <$ty>::default();
                for k in 0..KEYS {
                    map.insert(k, k);
                }
                $wrapper(map)
            }
            fn get_all(&self) -> u64 {
                let mut sum = 0;
                for k in 0..KEYS {
                    sum += self.0.get(black_box(&k)).copied().unwrap_or(0);
                }
                sum
            }
            fn insert_all(&mut self) {
                for k in 0..KEYS {
                    black_box(self.0.insert(black_box(k), k));
                }
            }
        }
    };
}

map_impl!(Plain, StdMap<u64, u64>);
map_impl!(Tracked, maprace::HashMap<u64, u64>);

/// Nanoseconds per operation of one batch of `KEYS` operations.
fn batch(f: &mut impl FnMut()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_nanos() as f64 / KEYS as f64
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

/// (median ratio to std, median tracked ns/op) over interleaved batches.
fn compare(mut std: impl FnMut(), mut tracked: impl FnMut()) -> (f64, f64) {
    let (mut ratios, mut ns) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        batch(&mut std);
        batch(&mut tracked);
    }
    for _ in 0..BATCHES {
        let s = batch(&mut std);
        let t = batch(&mut tracked);
        ratios.push(t / s);
        ns.push(t);
    }
    (median(ratios), median(ns))
}

type Workload = (&'static str, fn() -> (f64, f64));

const WORKLOADS: [Workload; 3] = [
    ("get (hit)", || {
        let (s, t) = (Plain::fresh(), Tracked::fresh());
        compare(
            || {
                black_box(s.get_all());
            },
            || {
                black_box(t.get_all());
            },
        )
    }),
    ("insert over existing key", || {
        let (mut s, mut t) = (Plain::fresh(), Tracked::fresh());
        compare(|| s.insert_all(), || t.insert_all())
    }),
    ("insert new keys (from empty)", || {
        compare(
            || drop(black_box(Plain::fresh())),
            || drop(black_box(Tracked::fresh())),
        )
    }),
];

fn child() {
    for (name, run) in WORKLOADS {
        let (ratio, ns) = run();
        println!("{name}\t{ratio}\t{ns}");
    }
}

fn main() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    if !maprace::COMPILED_IN {
        println!("the detector is compiled out: run with --features detect-in-release");
    }
    let exe = std::env::current_exe().expect("the benchmark's path");
    // results[mode][workload] = (ratios, ns) over rounds
    let mut results = vec![vec![(Vec::new(), Vec::new()); WORKLOADS.len()]; MODES.len()];
    for _ in 0..ROUNDS {
        for (m, (_, options)) in MODES.iter().enumerate() {
            let out = Command::new(&exe)
                .env(CHILD, "1")
                .env("MAPRACE_OPTIONS", options)
                .output()
                .expect("run a child");
            let stdout = String::from_utf8_lossy(&out.stdout);
            for (w, line) in stdout.lines().enumerate() {
                let fields: Vec<&str> = line.split('\t').collect();
                results[m][w].0.push(fields[1].parse::<f64>().unwrap());
                results[m][w].1.push(fields[2].parse::<f64>().unwrap());
            }
        }
    }
    println!(
        "ratio to std::collections::HashMap (median of {ROUNDS} rounds x {BATCHES} batches of {KEYS} ops; tracked ns/op)"
    );
    print!("{:<30}", "workload");
    for (mode, _) in MODES {
        print!("{mode:>24}");
    }
    println!();
    for (w, (name, _)) in WORKLOADS.iter().enumerate() {
        print!("{name:<30}");
        for by_workload in &results {
            let (ratios, ns) = by_workload[w].clone();
            let cell = format!("{:.2} ({:.0} ns)", median(ratios), median(ns));
            print!("{cell:>24}");
        }
        println!();
    }
}
