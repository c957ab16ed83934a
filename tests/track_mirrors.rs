//! `#[maprace::track]` on programs that lock with parking_lot and pass work over
//! crossbeam-channel. With maprace's `parking_lot` / `crossbeam-channel` features the attribute
//! puts the mirrors in place of those paths, and correctly synchronized programs run clean; without
//! them it leaves the paths alone (parking_lot's own types, today's behaviour), and maprace, which
//! sees nothing of those locks and channels, reports the same programs.

mod common;
use std::any::TypeId;
use std::collections::HashMap;
use std::sync::Arc;

const PARKING_LOT: bool = cfg!(feature = "parking_lot");
const CROSSBEAM: bool = cfg!(feature = "crossbeam-channel");

#[maprace::track]
struct Cache {
    entries: parking_lot::Mutex<HashMap<u32, u32>>,
    config: parking_lot::RwLock<HashMap<u32, u32>>,
}

#[maprace::track]
impl Cache {
    fn new() -> Self {
        Cache {
            entries: parking_lot::Mutex::new(HashMap::new()),
            config: parking_lot::RwLock::new(HashMap::new()),
        }
    }
}

/// The type of a value, for comparing a field's type with what it should be.
fn type_of<T: 'static>(_: &T) -> TypeId {
    TypeId::of::<T>()
}

#[test]
fn parking_lot_fields_are_the_mirror_exactly_when_maprace_has_the_feature() {
    let cache = Cache::new();
    let plain = TypeId::of::<parking_lot::Mutex<maprace::HashMap<u32, u32>>>();
    let entries = type_of(&cache.entries);
    #[cfg(feature = "parking_lot")]
    assert_eq!(
        entries,
        TypeId::of::<maprace::parking_lot::Mutex<maprace::HashMap<u32, u32>>>()
    );
    // The maps are rewritten either way; the lock is parking_lot's own without the feature
    // (and, with it but the detector compiled out, the mirror is parking_lot's type).
    assert_eq!(entries == plain, !PARKING_LOT || !maprace::COMPILED_IN);
}

#[maprace::track]
mod pipeline {
    use crossbeam_channel::{Receiver, Sender, unbounded};
    use std::collections::HashMap;
    use std::sync::Arc;

    pub(crate) type Job = (u32, Arc<HashMap<u32, u32>>);

    pub(crate) fn channel() -> (Sender<Job>, Receiver<Job>) {
        unbounded()
    }

    pub(crate) fn results() -> (
        crossbeam_channel::Sender<u64>,
        crossbeam_channel::Receiver<u64>,
    ) {
        crossbeam_channel::unbounded()
    }

    /// A table filled where it will stay (in its `Arc`): a map filled and then moved would be
    /// ordered by the move.
    pub(crate) fn job(n: u32) -> Job {
        let mut table = Arc::new(HashMap::new());
        let filling = Arc::get_mut(&mut table).expect("not shared yet");
        for k in 0..64 {
            filling.insert(k, n + k);
        }
        (n, table)
    }
}

#[test]
fn crossbeam_channels_are_the_mirror_exactly_when_maprace_has_the_feature() {
    let (tx, _rx) = pipeline::channel();
    #[cfg(feature = "crossbeam-channel")]
    assert_eq!(
        type_of(&tx),
        TypeId::of::<maprace::crossbeam_channel::Sender<pipeline::Job>>()
    );
    #[cfg(not(feature = "crossbeam-channel"))]
    assert_eq!(
        type_of(&tx),
        TypeId::of::<crossbeam_channel::Sender<pipeline::Job>>()
    );
    let (tx, _rx) = pipeline::results();
    let plain = TypeId::of::<crossbeam_channel::Sender<u64>>();
    assert_eq!(type_of(&tx) == plain, !CROSSBEAM || !maprace::COMPILED_IN);
}

scenario!(
    eight_threads_of_ten_thousand_operations_on_a_tracked_parking_lot_mutex,
    {
        let cache = Arc::new(Cache::new());
        cache.config.write().insert(0, 512);
        let threads: Vec<_> = (0..8u32)
            .map(|t| {
                let cache = Arc::clone(&cache);
                std::thread::spawn(move || {
                    let keys = cache.config.read()[&0];
                    for i in 0..10_000u32 {
                        let key = (t * 7919 + i) % keys;
                        match i % 4 {
                            0 => drop(cache.entries.lock().insert(key, i)),
                            1 => drop(cache.entries.lock().remove(&key)),
                            _ => drop(cache.entries.lock().get(&key).copied()),
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(cache.entries.lock().len() <= 512);
    },
    |out| {
        if PARKING_LOT || !maprace::COMPILED_IN {
            out.assert_clean();
        } else {
            assert_invisible_sync_is_reported(&out);
        }
    }
);

scenario!(
    a_tracked_crossbeam_worker_pool_of_eight,
    {
        // Jobs (a table built by this thread, shared read-only through an `Arc`: it never
        // moves, so only the channel orders its inserts before the workers' reads) go to eight
        // workers; their sums come back on another channel.
        let (jobs, queue) = pipeline::channel();
        let (results, sums) = pipeline::results();
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let (queue, results) = (queue.clone(), results.clone());
                std::thread::spawn(move || {
                    for (n, table) in queue {
                        let sum: u64 = (0..64).map(|k| u64::from(table[&k])).sum();
                        assert_eq!(sum, u64::from(64 * n + 2016));
                        results.send(sum).unwrap();
                    }
                })
            })
            .collect();
        drop((queue, results));
        for n in 0..1_000 {
            jobs.send(pipeline::job(n)).unwrap();
        }
        drop(jobs);
        assert_eq!(sums.iter().count(), 1_000);
        for worker in workers {
            worker.join().unwrap();
        }
    },
    |out| {
        if CROSSBEAM || !maprace::COMPILED_IN {
            out.assert_clean();
        } else {
            assert_invisible_sync_is_reported(&out);
        }
    }
);

/// Without the mirror, the lock or channel orders nothing for maprace: the program is reported
/// (one race, exit 66) with the diagnosis that maprace saw no synchronization.
fn assert_invisible_sync_is_reported(out: &common::Outcome) {
    out.assert_report_shape(66, "stopping at the first race (exit code 66)");
    assert!(
        out.stderr
            .contains("maprace saw no synchronization between these two accesses"),
        "{out}"
    );
}
