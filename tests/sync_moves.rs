//! Moves are edges: a map whose address changed since its last access was moved by
//! the one thread that owned it, so its history is forgotten. Each move below goes through
//! something maprace cannot see (a std channel, a std scope); each twin shares the map by
//! pointer over the same invisible path, and is reported.

mod common;
use common::{Shared, Side};
use std::sync::mpsc;

type Map = maprace::HashMap<u32, u32>;
type Job = Box<dyn FnOnce() + Send>;

/// A worker (named "writer") that runs what it is sent, alive before the map exists, so the
/// spawn orders nothing; the std channel is invisible.
fn worker() -> (mpsc::Sender<Job>, std::thread::JoinHandle<()>) {
    let (jobs, inbox) = mpsc::channel::<Job>();
    let handle = std::thread::Builder::new()
        .name("writer".into())
        .spawn(move || {
            for job in inbox {
                job();
            }
        })
        .unwrap();
    (jobs, handle)
}

fn through_a_std_channel(moved: bool) {
    let (jobs, handle) = worker();
    let (back, returned) = mpsc::channel::<Map>();
    let (done, finished) = mpsc::channel::<()>();
    if moved {
        let back = back.clone();
        jobs.send(Box::new(move || {
            let mut map = Map::new();
            map.insert(1, 1);
            back.send(map).unwrap();
        }))
        .unwrap();
        let map = returned.recv().unwrap();
        map.get(&1);
    } else {
        let mut map = Map::new();
        let shared = Shared(&mut map as *mut Map);
        jobs.send(Box::new(move || {
            let shared = shared;
            at!("previous", shared.get().insert(1, 1));
            done.send(()).unwrap();
        }))
        .unwrap();
        finished.recv().unwrap();
        at!("current", map.get(&1));
    }
    drop(jobs);
    handle.join().unwrap();
}

scenario!(
    a_map_sent_through_a_std_channel_runs_clean,
    { through_a_std_channel(true) },
    |out| out.assert_clean()
);

scenario!(
    a_map_shared_by_pointer_over_a_std_channel_is_reported,
    { through_a_std_channel(false) },
    |out| out.assert_get_after_insert()
);

scenario!(
    a_map_returned_from_a_join_runs_clean,
    {
        let handle = std::thread::spawn(|| {
            let mut map = Map::new();
            map.insert(1, 1);
            map
        });
        let map = handle.join().unwrap();
        map.get(&1);
    },
    |out| out.assert_clean()
);

scenario!(
    a_map_written_by_a_thread_not_joined_yet_is_reported,
    {
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| at!("previous", m.insert(1, 1)),
            |m| at!("current", m.get(&1)).copied(),
        );
    },
    |out| out.assert_get_after_insert()
);

fn into_a_closure(moved: bool) {
    let (jobs, handle) = worker();
    let (done, finished) = mpsc::channel::<()>();
    let mut map = Map::new();
    let shared = Shared(&mut map as *mut Map);
    at!("previous", map.insert(1, 1));
    if moved {
        // The closure owns the map: it moved into the box, then runs on the worker.
        jobs.send(Box::new(move || {
            map.get(&1);
            done.send(()).unwrap();
        }))
        .unwrap();
        finished.recv().unwrap();
    } else {
        jobs.send(Box::new(move || {
            let shared = shared;
            at!("current", shared.get().get(&1));
            done.send(()).unwrap();
        }))
        .unwrap();
        finished.recv().unwrap();
    }
    drop(jobs);
    handle.join().unwrap();
}

scenario!(
    a_map_moved_into_a_closure_runs_clean,
    { into_a_closure(true) },
    |out| out.assert_clean()
);

scenario!(
    a_map_captured_by_pointer_in_a_closure_is_reported,
    { into_a_closure(false) },
    |out| out.assert_race(
        Side {
            access: "Read (get) of key 1 in map#1",
            thread: "writer",
        },
        Side {
            access: "write (insert)",
            thread: common::TEST_THREAD,
        },
    )
);

/// The writer inserts into `maps[0]`; then this thread pushes one more map, which reallocates
/// the vector (`reallocate`) or not, and reads `maps[0]`.
fn in_a_vec(reallocate: bool) {
    let mut maps: Vec<Map> = Vec::with_capacity(if reallocate { 1 } else { 2 });
    maps.push(Map::new());
    let before = maps.as_ptr();
    common::unordered(
        &mut maps,
        |maps| at!("previous", maps[0].insert(1, 1)),
        |maps| {
            maps.push(Map::new());
            assert_eq!(maps.as_ptr() != before, reallocate);
            at!("current", maps[0].get(&1)).copied()
        },
    );
}

scenario!(
    a_map_in_a_vec_that_reallocates_runs_clean,
    { in_a_vec(true) },
    |out| out.assert_clean()
);

scenario!(
    a_map_in_a_vec_that_keeps_its_buffer_is_reported,
    { in_a_vec(false) },
    |out| out.assert_get_after_insert()
);
