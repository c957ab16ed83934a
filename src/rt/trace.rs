//! The stats trace (`trace=1`), a gctrace for maps: one line on stderr per event, each also a
//! `tracing` event (target `maprace::trace`, INFO). Events: a tracked map's capacity changes
//! (its line is made here); the program exits (the exit line is `stats`'). The README documents
//! every field.
//!
//! Per map, the trace keeps a `MapTrace`, allocated at the map's first traced access (so
//! `MapShadow::new` stays `const` and a map made with `trace=0` never has one). Its counters are
//! written with plain loads and stores by whoever accesses the map: two threads that count at
//! once may lose a count, which only happens in a program that races on the map (and is being
//! reported), or that reads it from several threads under a lock, where the lock orders them.

use super::site::{Op, SourcePos};
use super::{lock, output, stats, thread};
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

impl MapTrace {
    /// The map's trace state, made at its first traced access, when the map's shadow is
    /// `fixed_shadow` bytes (all of it but its cells).
    pub(crate) fn of(field: &AtomicPtr<MapTrace>, fixed_shadow: u64) -> &MapTrace {
        // Acquire: the `MapTrace` another thread installed is initialized before we read it.
        let mut ptr = field.load(Acquire);
        if ptr.is_null() {
            ptr = Self::install(field, fixed_shadow);
        }
        // SAFETY: a non-null pointer in the field is a live `MapTrace`, freed only by `free` when
        // the map (which `field` belongs to) is dropped.
        unsafe { &*ptr }
    }

    #[cold]
    fn install(field: &AtomicPtr<MapTrace>, fixed_shadow: u64) -> *mut MapTrace {
        let fresh = Box::into_raw(Box::new(MapTrace {
            shadow: AtomicU64::new(fixed_shadow),
            ..MapTrace::default()
        }));
        match field.compare_exchange(std::ptr::null_mut(), fresh, AcqRel, Acquire) {
            Ok(_) => {
                stats::map_traced(fixed_shadow);
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
    pub(crate) fn free(field: &mut AtomicPtr<MapTrace>) {
        let ptr = *field.get_mut();
        if ptr.is_null() {
            return;
        }
        // SAFETY: made by `install`; the map is being dropped, so nothing else can reach it.
        let trace = unsafe { Box::from_raw(ptr) };
        stats::shadow_changed(trace.shadow.load(Relaxed), 0);
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
    /// The map's shadow bytes at the new capacity.
    pub(crate) shadow: u64,
}

/// A traced map's capacity changed: prints its line.
pub(crate) fn grew(trace: &MapTrace, growth: Growth<'_>) {
    let shadow = growth.shadow;
    let old_shadow = trace.shadow.swap(shadow, Relaxed);
    stats::shadow_changed(old_shadow, shadow);
    let line = trace.lines.load(Relaxed) + 1;
    trace.lines.store(line, Relaxed);
    let reads = trace.reads.swap(0, Relaxed);
    let writes = trace.writes.swap(0, Relaxed);
    let threads = trace.threads();
    let races = trace.races.load(Relaxed);
    let at = stats::elapsed().as_secs_f64();
    let created_at = SourcePos::of(growth.created_at).to_string();
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
    output::trace_line(&text);
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
