//! `sync=assume`: a std lock maprace cannot see makes a report with the hint; with
//! `MAPRACE_OPTIONS=sync=assume` the same program runs clean, and an access that overlaps a
//! write in progress is still reported.

mod common;
use common::{Shared, Side};
use std::sync::{Arc, Mutex, mpsc};

type Map = maprace::HashMap<u32, u32>;

/// A map behind a `std::sync::Mutex` (the macro did not see it): a writer inserts under it,
/// then this thread reads under it.
fn under_a_std_mutex() {
    let map = Arc::new(Mutex::new(Map::new()));
    let (done, finished) = mpsc::channel();
    let (stop, stopped) = mpsc::channel::<()>();
    let writer = {
        let map = Arc::clone(&map);
        std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || {
                at!("previous", map.lock().unwrap().insert(1, 1));
                done.send(()).unwrap();
                let _ = stopped.recv(); // alive until the end: the report is about the lock
            })
            .unwrap()
    };
    finished.recv().unwrap();
    let map_now = map.lock().unwrap();
    at!("current", map_now.get(&1));
    drop(map_now);
    drop(stop);
    writer.join().unwrap();
}

scenario!(
    a_std_mutex_is_invisible_and_reported_with_the_hint,
    { under_a_std_mutex() },
    |out| {
        out.assert_get_after_insert();
        if maprace::COMPILED_IN {
            for fix in ["maprace::sync", "maprace::annotate", "sync=assume"] {
                assert!(out.stderr.contains(fix), "the hint names {fix}\n{out}");
            }
        }
    }
);

scenario!(
    a_std_mutex_runs_clean_with_sync_assume,
    options = "sync=assume",
    { under_a_std_mutex() },
    |out| out.assert_clean()
);

/// A key whose `Hash` stops inside every call until the other thread has tried its access, so
/// that one of its tries falls inside the writer's insert, whatever the order of the hashes.
/// The writer closes `inside` when its insert is over.
struct SlowKey {
    inside: Arc<Mutex<Option<mpsc::SyncSender<()>>>>,
    tried: Arc<Mutex<mpsc::Receiver<()>>>,
}

impl std::hash::Hash for SlowKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        0u8.hash(state);
        let inside = self.inside.lock().unwrap().clone();
        if inside.is_some_and(|inside| inside.send(()).is_ok()) {
            let _ = self.tried.lock().unwrap().recv();
        }
    }
}

impl PartialEq for SlowKey {
    fn eq(&self, _: &SlowKey) -> bool {
        true // there is only one
    }
}

impl Eq for SlowKey {}

#[allow(clippy::mutable_key_type)] // the key's channels are not part of its identity
fn overlap(overlapping: bool) {
    let mut map: maprace::HashMap<SlowKey, u32> = maprace::HashMap::new();
    let (inside, entered) = mpsc::sync_channel(0);
    let (tried, next) = mpsc::channel();
    let inside = Arc::new(Mutex::new(Some(inside)));
    let key = SlowKey {
        inside: Arc::clone(&inside),
        tried: Arc::new(Mutex::new(next)),
    };
    let shared = Shared(&mut map as *mut maprace::HashMap<SlowKey, u32>);
    let writer = std::thread::Builder::new()
        .name("writer".into())
        .spawn(move || {
            let shared = shared;
            at!("previous", shared.get().insert(key, 1));
            inside.lock().unwrap().take();
        })
        .unwrap();
    let len = at!("current", |m: &maprace::HashMap<SlowKey, u32>| m.len());
    while entered.recv().is_ok() {
        if overlapping {
            len(shared.get());
        }
        tried.send(()).unwrap();
    }
    writer.join().unwrap();
    len(shared.get());
}

scenario!(
    sync_assume_still_reports_an_access_inside_a_write,
    options = "sync=assume",
    { overlap(true) },
    |out| {
        out.assert_race(
            Side {
                access: "Read (len) of map#1",
                thread: common::TEST_THREAD,
            },
            Side {
                access: "write (insert)",
                thread: "writer",
            },
        );
        if maprace::COMPILED_IN {
            assert!(out.stderr.contains("still in progress"), "{out}");
            assert!(out.stderr.contains("overlapped in time"), "{out}");
        }
    }
);

scenario!(
    sync_assume_accepts_the_same_access_after_the_write,
    options = "sync=assume",
    { overlap(false) },
    |out| out.assert_clean()
);
