//! Every counter of the runtime (behind `maprace::stats()`): checks and their time, maps,
//! shadow bytes, findings by kind; and the trace's exit line, which prints them.
//!
//! Nothing here is touched per access unless `trace=1`. Even then no counter is a shared atomic
//! incremented per access: checks and their time are counted per thread (each thread writes only
//! its own counters, with plain loads and stores) and summed when read; the global counters
//! move at rare events only (a map's first traced access, a capacity change, a map's drop, a
//! report).

use super::{lock, output, thread};
use crate::stats::Stats;
use std::cell::Cell;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// When the options were read: the start of the run, as far as the trace is concerned.
static START: OnceLock<Instant> = OnceLock::new();
/// What one `Instant::now()` costs, taken off each timed check.
static CLOCK_COST: AtomicU64 = AtomicU64::new(0);

/// Maps that made a traced access.
static MAPS: AtomicU64 = AtomicU64::new(0);
/// Shadow bytes of the traced maps alive now, and the most there ever were.
static SHADOW: AtomicI64 = AtomicI64::new(0);
static PEAK_SHADOW: AtomicU64 = AtomicU64::new(0);

/// One check in `SAMPLE` is timed (an `Instant::now()` pair costs more than a check).
const SAMPLE: u64 = 64;

/// A thread's own counters: written by that thread only, read by whoever sums them.
#[derive(Default)]
struct ThreadCounters {
    checks: AtomicU64,
    /// Checks timed, and the nanoseconds they took.
    timed: AtomicU64,
    timed_nanos: AtomicU64,
}

impl ThreadCounters {
    const fn new() -> ThreadCounters {
        ThreadCounters {
            checks: AtomicU64::new(0),
            timed: AtomicU64::new(0),
            timed_nanos: AtomicU64::new(0),
        }
    }

    fn add_to(&self, sums: &mut [u64; 3]) {
        sums[0] += self.checks.load(Relaxed);
        sums[1] += self.timed.load(Relaxed);
        sums[2] += self.timed_nanos.load(Relaxed);
    }
}

/// The counters of the live threads that counted something.
static THREADS: Mutex<Vec<Arc<ThreadCounters>>> = Mutex::new(Vec::new());
/// The sums of the counters of threads that ended (updated under `THREADS`'s lock, so that a
/// sum never counts a thread twice or not at all).
static ENDED: ThreadCounters = ThreadCounters::new();

/// A thread's handle on its counters: at the thread's end, they are added to `ENDED`.
struct Mine(Arc<ThreadCounters>);

impl Drop for Mine {
    fn drop(&mut self) {
        let mut threads = lock(&THREADS);
        let mut sums = [0; 3];
        ENDED.add_to(&mut sums);
        self.0.add_to(&mut sums);
        ENDED.checks.store(sums[0], Relaxed);
        ENDED.timed.store(sums[1], Relaxed);
        ENDED.timed_nanos.store(sums[2], Relaxed);
        if let Some(i) = threads.iter().position(|c| Arc::ptr_eq(c, &self.0)) {
            threads.swap_remove(i);
        }
    }
}

thread_local! {
    static MINE: Mine = {
        let counters = Arc::new(ThreadCounters::default());
        lock(&THREADS).push(counters.clone());
        Mine(counters)
    };
    /// Re-entrancy guard: a check made while timing one (there is none today) is not timed.
    static TIMING: Cell<bool> = const { Cell::new(false) };
}

/// What a report is about: each kind is counted on its own, and named in the report's trailer
/// and in the summary at exit.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum FindingKind {
    Race,
    Deadlock,
    CheckThenAct,
}

impl FindingKind {
    /// Every kind, in the order the summary at exit lists them.
    pub(crate) const ALL: [FindingKind; 3] = [
        FindingKind::Race,
        FindingKind::Deadlock,
        FindingKind::CheckThenAct,
    ];

    /// As reports name it: `stopping at the first race`, `found 2 race(s)`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            FindingKind::Race => "race",
            FindingKind::Deadlock => "deadlock",
            FindingKind::CheckThenAct => "check-then-act",
        }
    }
}

/// Reports printed, by kind (`FindingKind as usize`).
static FINDINGS: [AtomicU64; FindingKind::ALL.len()] =
    [const { AtomicU64::new(0) }; FindingKind::ALL.len()];

/// Called once, at start-up: `traced` with `trace=1` (and `enabled=1`).
pub(crate) fn start(traced: bool) {
    START.get_or_init(Instant::now);
    if traced {
        CLOCK_COST.store(clock_cost(), Relaxed);
    }
}

/// The smallest gap between two back-to-back `Instant::now()` calls.
fn clock_cost() -> u64 {
    (0..256)
        .map(|_| {
            let t = Instant::now();
            t.elapsed().as_nanos() as u64
        })
        .min()
        .unwrap_or(0)
}

/// Time since the start of the run.
pub(crate) fn elapsed() -> Duration {
    START.get_or_init(Instant::now).elapsed()
}

/// Counts one check made by this thread; `true` if this one is to be timed.
#[inline]
pub(crate) fn count_check() -> bool {
    MINE.try_with(|Mine(mine)| {
        // Only this thread writes its counter: a load and a store, no read-modify-write.
        let n = mine.checks.load(Relaxed);
        mine.checks.store(n + 1, Relaxed);
        // Not the thread's first check, which also sets the thread up.
        n % SAMPLE == SAMPLE / 2 && !TIMING.replace(true)
    })
    .unwrap_or(false)
}

/// Live threads that counted something (the others' counts are summed in `ENDED`).
#[cfg(test)]
fn live_counters() -> usize {
    lock(&THREADS).len()
}

/// Adds the time of a check chosen by `count_check`.
pub(crate) fn timed_check(took: Duration) {
    TIMING.set(false);
    let nanos = (took.as_nanos() as u64).saturating_sub(CLOCK_COST.load(Relaxed));
    let _ = MINE.try_with(|Mine(mine)| {
        mine.timed.store(mine.timed.load(Relaxed) + 1, Relaxed);
        mine.timed_nanos
            .store(mine.timed_nanos.load(Relaxed) + nanos, Relaxed);
    });
}

/// A report of `kind` was printed; returns how many reports of any kind were, this one
/// included.
pub(crate) fn found(kind: FindingKind) -> u64 {
    FINDINGS[kind as usize].fetch_add(1, Relaxed);
    FINDINGS.iter().map(|n| n.load(Relaxed)).sum()
}

/// For the fork handler: no thread's counters come or go until the guard is dropped.
pub(crate) fn hold_for_fork() -> impl Sized {
    lock(&THREADS)
}

/// In the child of a fork: its findings start from zero, and its exit line is its own.
pub(crate) fn forget_findings() {
    for count in &FINDINGS {
        count.store(0, Relaxed);
    }
    SUMMARY_PRINTED.store(false, Relaxed);
}

/// Reports of `kind` printed so far.
pub(crate) fn findings(kind: FindingKind) -> u64 {
    FINDINGS[kind as usize].load(Relaxed)
}

/// A map made its first traced access.
pub(crate) fn map_traced(shadow_bytes: u64) {
    MAPS.fetch_add(1, Relaxed);
    shadow_changed(0, shadow_bytes);
}

/// A traced map's shadow went from `old` to `new` bytes (`new` is 0 when it is dropped).
pub(crate) fn shadow_changed(old: u64, new: u64) {
    let delta = new as i64 - old as i64;
    let now = SHADOW.fetch_add(delta, Relaxed) + delta;
    PEAK_SHADOW.fetch_max(now.max(0) as u64, Relaxed);
}

/// The counters now.
pub(crate) fn snapshot() -> Stats {
    let mut sums = [0; 3];
    {
        let threads = lock(&THREADS);
        ENDED.add_to(&mut sums);
        for counters in threads.iter() {
            counters.add_to(&mut sums);
        }
    }
    let [checks, timed, timed_nanos] = sums;
    let (slots, records) = thread::size();
    // The timed checks are a uniform sample of all checks: scale their time up.
    let check_nanos = if timed == 0 {
        0
    } else {
        (timed_nanos as u128 * checks as u128 / timed as u128) as u64
    };
    Stats {
        traced: super::mode() & super::TRACE != 0,
        maps: MAPS.load(Relaxed),
        threads: thread::seen() as u64,
        thread_slots: slots as u64,
        thread_records: records as u64,
        checks,
        races: findings(FindingKind::Race),
        peak_shadow_bytes: PEAK_SHADOW.load(Relaxed),
        check_time: Duration::from_nanos(check_nanos),
        elapsed: elapsed(),
    }
}

static SUMMARY_PRINTED: AtomicBool = AtomicBool::new(false);

/// The trace's exit line (`trace=1`), printed once (at normal exit, or before a
/// `halt_on_error=0` run ends with its exit code).
pub(crate) fn exit_line() {
    if super::mode() & super::TRACE == 0 || SUMMARY_PRINTED.swap(true, Relaxed) {
        return;
    }
    let stats = snapshot();
    let at = stats.elapsed.as_secs_f64();
    let text = format!("exit @{at:.3}s: {stats}");
    tracing::info!(
        target: "maprace::trace",
        event = "exit",
        at_secs = at,
        maps = stats.maps,
        threads = stats.threads,
        checks = stats.checks,
        races = stats.races,
        peak_shadow_bytes = stats.peak_shadow_bytes,
        check_time_ns = stats.check_time.as_nanos() as u64,
        check_share_pct = stats.check_share(),
        "{text}"
    );
    output::trace_line(&text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counters_of_ended_threads_are_summed_not_kept() {
        let before = snapshot().checks;
        for _ in 0..200 {
            std::thread::spawn(|| {
                for _ in 0..3 {
                    count_check();
                }
            })
            .join()
            .unwrap();
        }
        assert!(
            snapshot().checks >= before + 600,
            "every check still counted"
        );
        // (Other tests' threads may be counting at the same time.)
        assert!(live_counters() < 50, "{} counters kept", live_counters());
    }
}
