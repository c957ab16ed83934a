//! [`stats()`]: what the detector has seen so far, the numbers of the trace's exit line.

use std::fmt;
use std::time::Duration;

/// A snapshot of the detector's counters, from [`stats()`].
///
/// `threads`, `races` and the registry's size are always counted. The others are gathered only while the stats trace
/// is on (`MAPRACE_OPTIONS=trace=1`, see `traced`), so that the default mode pays nothing for
/// them. With the detector compiled out, everything is zero.
///
/// `Display` prints the fields in the order of the trace's exit line:
///
/// ```
/// let stats = maprace::stats();
/// println!("maprace: {stats}");
/// // maprace: maps 3, threads 2, checks 12034, races 0, peak shadow 4096 B, check time 0.401 ms (1.2%)
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Whether the per-access counters below were gathered (`trace=1`).
    pub traced: bool,
    /// Tracked maps that made at least one traced access.
    pub maps: u64,
    /// Threads the detector has seen (the main thread included), ended ones included.
    pub threads: u64,
    /// Slots in vector clocks: about the most threads alive at once, plus up to 256 ended ones
    /// that nothing ordered before a later thread yet (a slot is reused after that), plus the
    /// slots whose clock was used up (never reused; at most one per 2^32 releases of a thread).
    /// Always counted; not in `Display`.
    pub thread_slots: u64,
    /// Threads the detector keeps a record of for its reports: the live ones and a bounded
    /// number of ended ones (see the README's limitations). Always counted; not in `Display`.
    pub thread_records: u64,
    /// Shadow cells checked (an operation checks one to a few: the map's structure, its key).
    pub checks: u64,
    /// Races reported.
    pub races: u64,
    /// The most shadow memory the traced maps held at once, in bytes.
    pub peak_shadow_bytes: u64,
    /// Time spent in checks, estimated from a sample (one check in 64 is timed).
    pub check_time: Duration,
    /// Time since the start of the run (when the detector read its options).
    pub elapsed: Duration,
}

impl Stats {
    /// `check_time` as a share of `elapsed`, in percent.
    pub fn check_share(&self) -> f64 {
        if self.elapsed.is_zero() {
            return 0.0;
        }
        100.0 * self.check_time.as_secs_f64() / self.elapsed.as_secs_f64()
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "maps {}, threads {}, checks {}, races {}, peak shadow {} B, check time {:.3} ms ({:.1}%)",
            self.maps,
            self.threads,
            self.checks,
            self.races,
            self.peak_shadow_bytes,
            self.check_time.as_secs_f64() * 1e3,
            self.check_share()
        )
    }
}

/// The detector's counters now. See [`Stats`].
///
/// ```
/// let mut map = maprace::HashMap::new();
/// map.insert(1, "one");
/// let stats = maprace::stats();
/// assert_eq!(stats.races, 0);
/// ```
#[cfg(maprace_detect)]
pub fn stats() -> Stats {
    crate::rt::stats::snapshot()
}

/// The detector's counters: with the detector compiled out, all zero.
#[cfg(not(maprace_detect))]
#[inline]
pub fn stats() -> Stats {
    Stats::default()
}
