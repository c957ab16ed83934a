//! The stats trace (`trace=1`), a gctrace for maps: one line on stderr per event, each also a
//! `tracing` event (target `maprace::trace`, INFO). Events: a tracked map's capacity changes;
//! the program exits. The README documents every field.
//!
//! Per map, the trace keeps a `MapTrace`, allocated at the map's first traced access (so
//! `MapShadow::new` stays `const` and a map made with `trace=0` never has one). Its counters are
//! written with plain loads and stores by whoever accesses the map: two threads that count at
//! once may lose a count, which only happens in a program that races on the map (and is being
//! reported), or that reads it from several threads under a lock, where the lock orders them.

use super::lock;
use super::map::MapShadow;
use super::report::display_path;
use super::site::Op;
use super::thread;
use crate::stats::Stats;
use std::io::Write as _;
use std::mem::size_of;
use std::panic::Location;
use std::sync::Mutex;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::atomic::{AtomicPtr, AtomicU64};

/// The trace's state for one map.
#[derive(Default)]
pub(crate) struct MapTrace {
    /// Operations since the map's previous trace line, by whether they may write the map.
    reads: AtomicU64,
    writes: AtomicU64,
    /// Threads that touched the map: one bit per thread (by serial) below `BITMAP_THREADS`;
    /// later threads (the 257th of the process on) in `more_threads`.
    threads: [AtomicU64; BITMAP_THREADS / 64],
    more_threads: Mutex<Vec<u64>>,
    /// Races reported on this map.
    races: AtomicU64,
    /// Trace lines printed for this map.
    lines: AtomicU64,
    /// The map's shadow bytes as of its last capacity change.
    shadow: AtomicU64,
}

const BITMAP_THREADS: usize = 256;

/// The shadow a map has whatever its size: its `MapShadow` and, traced, its `MapTrace`.
const FIXED_SHADOW: u64 = (size_of::<MapShadow>() + size_of::<MapTrace>()) as u64;

impl MapTrace {
    /// The map's trace state, made at its first traced access.
    pub(crate) fn of(slot: &AtomicPtr<MapTrace>) -> &MapTrace {
        // Acquire: the `MapTrace` another thread installed is initialized before we read it.
        let mut ptr = slot.load(Acquire);
        if ptr.is_null() {
            ptr = Self::install(slot);
        }
        // SAFETY: a non-null pointer in the slot is a live `MapTrace`, freed only by `free` when
        // the map (which `slot` belongs to) is dropped.
        unsafe { &*ptr }
    }

    #[cold]
    fn install(slot: &AtomicPtr<MapTrace>) -> *mut MapTrace {
        let fresh = Box::into_raw(Box::new(MapTrace {
            shadow: AtomicU64::new(FIXED_SHADOW),
            ..MapTrace::default()
        }));
        match slot.compare_exchange(std::ptr::null_mut(), fresh, AcqRel, Acquire) {
            Ok(_) => {
                super::stats::map_traced(FIXED_SHADOW);
                fresh
            }
            Err(theirs) => {
                // SAFETY: `fresh` was never published.
                drop(unsafe { Box::from_raw(fresh) });
                theirs
            }
        }
    }

    /// Frees the map's trace state (the map is dropped).
    pub(crate) fn free(slot: &mut AtomicPtr<MapTrace>) {
        let ptr = *slot.get_mut();
        if ptr.is_null() {
            return;
        }
        // SAFETY: made by `install`; the map is being dropped, so nothing else can reach it.
        let trace = unsafe { Box::from_raw(ptr) };
        super::stats::shadow_changed(trace.shadow.load(Relaxed), 0);
    }

    fn bump(counter: &AtomicU64) {
        counter.store(counter.load(Relaxed) + 1, Relaxed);
    }

    /// One operation on the map (`trace=1` only).
    pub(crate) fn count(&self, op: Op) {
        if writes(op) {
            Self::bump(&self.writes);
        } else {
            Self::bump(&self.reads);
        }
        // Threads, not slots: a slot serves several threads over time.
        let Some(thread) = thread::with(|me| me.serial) else {
            return;
        };
        match self.threads.get(thread as usize / 64) {
            Some(word) => {
                let bit = 1 << (thread % 64);
                // Written once per thread and map; every later access only loads.
                if word.load(Relaxed) & bit == 0 {
                    word.fetch_or(bit, Relaxed);
                }
            }
            None => {
                let mut more = lock(&self.more_threads);
                if !more.contains(&thread) {
                    more.push(thread);
                }
            }
        }
    }

    fn threads(&self) -> u64 {
        let bitmap: u32 = self
            .threads
            .iter()
            .map(|w| w.load(Relaxed).count_ones())
            .sum();
        let more = lock(&self.more_threads).len();
        u64::from(bitmap) + more as u64
    }

    /// A race was reported on the map.
    pub(crate) fn race(&self) {
        Self::bump(&self.races);
    }
}

/// Does `op` (possibly) write the map? The rest only read it. Operations added to `Op` later
/// count as writes until they are listed here.
fn writes(op: Op) -> bool {
    !matches!(
        op,
        Op::Get
            | Op::GetKeyValue
            | Op::ContainsKey
            | Op::Index
            | Op::Len
            | Op::IsEmpty
            | Op::Capacity
            | Op::Iter
            | Op::Keys
            | Op::Values
            | Op::Debug
            | Op::Clone
            | Op::Eq
            | Op::Hasher
    )
}

/// What a growth line says about its map.
pub(crate) struct Growth<'a> {
    pub(crate) name: &'a str,
    pub(crate) created_at: &'static Location<'static>,
    pub(crate) len: usize,
    pub(crate) old_capacity: usize,
    pub(crate) new_capacity: usize,
    /// Shadow bytes per slot of capacity (the key's cell and its padding next to the value).
    pub(crate) slot_shadow: usize,
}

/// A traced map's capacity changed: prints its line.
pub(crate) fn grew(map: &MapShadow, growth: Growth<'_>) {
    let trace = map.trace();
    let shadow = FIXED_SHADOW + (growth.new_capacity * growth.slot_shadow) as u64;
    let old_shadow = trace.shadow.swap(shadow, Relaxed);
    super::stats::shadow_changed(old_shadow, shadow);
    let line = trace.lines.load(Relaxed) + 1;
    trace.lines.store(line, Relaxed);
    let reads = trace.reads.swap(0, Relaxed);
    let writes = trace.writes.swap(0, Relaxed);
    let threads = trace.threads();
    let races = trace.races.load(Relaxed);
    let at = super::stats::elapsed().as_secs_f64();
    let created_at = display_location(growth.created_at);
    let Growth {
        name,
        len,
        old_capacity,
        new_capacity,
        ..
    } = growth;
    let text = format!(
        "map {name} #{line} @{at:.3}s: cap {old_capacity}->{new_capacity}, len {len}, \
         threads {threads}, reads {reads}, writes {writes}, shadow {shadow} B, races {races}, \
         created at {created_at}"
    );
    tracing::info!(
        target: "maprace::trace",
        event = "grow",
        map = name,
        line,
        at_secs = at,
        old_capacity,
        new_capacity,
        len,
        threads,
        reads,
        writes,
        shadow_bytes = shadow,
        races,
        created_at = created_at.as_str(),
        "{text}"
    );
    stderr_line(&text);
}

/// The exit line.
pub(crate) fn exit_line(stats: &Stats) {
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
    stderr_line(&text);
}

/// Trace lines go to stderr (as Go's gctrace does), whatever `log_path` says.
fn stderr_line(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "maprace: {text}");
}

fn display_location(location: &Location<'_>) -> String {
    format!(
        "{}:{}:{}",
        display_path(location.file()),
        location.line(),
        location.column()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_are_told_apart() {
        assert!(!writes(Op::Get));
        assert!(!writes(Op::Len));
        assert!(writes(Op::Insert));
        assert!(writes(Op::Remove));
        assert!(writes(Op::Entry));
        assert!(writes(Op::Drop));
    }

    #[test]
    fn threads_are_counted_once_each() {
        let trace = MapTrace::default();
        for _ in 0..3 {
            trace.count(Op::Get);
        }
        std::thread::scope(|s| {
            s.spawn(|| trace.count(Op::Insert));
        });
        assert_eq!(trace.threads(), 2);
        assert_eq!(trace.reads.load(Relaxed), 3);
        assert_eq!(trace.writes.load(Relaxed), 1);
    }
}
