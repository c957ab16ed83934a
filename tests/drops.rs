//! Dropping a map: a drop unordered with another thread's access is a race, reported at the
//! user's line that dropped the map (drop glue has no caller location); a drop that safe code
//! makes is never reported (the last `Arc`, moves out of an `Arc`, scoped borrows).

mod common;

use common::Shared;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

type Map = maprace::HashMap<u32, u32>;

/// A thread named "reader" that reads key 1 of the map at `shared` (marked "previous"), then
/// says so on `done` and waits for `stop` (std channels: maprace sees no edge in them).
fn reader(
    shared: Shared<Map>,
    done: Sender<()>,
    stop: Receiver<()>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("reader".into())
        .spawn(move || {
            let shared = shared;
            at!("previous", shared.get().get(&1));
            done.send(()).unwrap();
            let _ = stop.recv();
        })
        .unwrap()
}

/// The report of a drop by the test's thread after the reader's `get`: its headline names the
/// line marked "current", and its stack starts there.
fn assert_drop_race(out: &common::Outcome) {
    out.assert_race(
        common::Side {
            access: "Write (drop) of map#1 (HashMap<u32, u32>)",
            thread: common::TEST_THREAD,
        },
        common::Side {
            access: "read (get) of the map's structure",
            thread: "reader",
        },
    );
    if !maprace::COMPILED_IN {
        return;
    }
    let lines: Vec<&str> = out.stderr.lines().collect();
    let headline = lines
        .iter()
        .position(|l| *l == "WARNING: MAP RACE")
        .unwrap();
    assert!(
        lines[headline + 3].starts_with("    drops::"),
        "the stack starts with the test's frame\n{out}"
    );
    assert!(
        lines[headline + 4].starts_with(&format!("      at {}:", out.site("current"))),
        "at the line that dropped the map\n{out}"
    );
}

scenario!(
    a_map_dropped_at_the_end_of_its_scope_while_another_thread_read_it_is_reported_there,
    {
        let (done, finished) = channel();
        let (stop, stopped) = channel();
        let reading;
        {
            let mut map = Map::new();
            map.insert(1, 1);
            reading = reader(Shared(&mut map), done, stopped);
            finished.recv().unwrap();
            // The drop is the closing brace's, on the next line.
            common::mark("current", file!(), line!() + 1);
        }
        drop(stop);
        reading.join().unwrap();
    },
    |out| assert_drop_race(&out)
);

scenario!(
    a_map_assigned_over_through_a_pointer_while_another_thread_read_it_is_reported_there,
    {
        let (done, finished) = channel();
        let (stop, stopped) = channel();
        let mut map = Map::new();
        map.insert(1, 1);
        let shared = Shared(&mut map as *mut Map);
        let reading = reader(shared, done, stopped);
        finished.recv().unwrap();
        at!("current", *shared.get() = Map::new());
        drop(stop);
        reading.join().unwrap();
    },
    |out| assert_drop_race(&out)
);

scenario!(
    a_map_dropped_in_place_through_a_raw_pointer_while_another_thread_read_it_is_reported,
    {
        let (done, finished) = channel();
        let (stop, stopped) = channel();
        let mut map = std::mem::ManuallyDrop::new(Map::new());
        map.insert(1, 1);
        let shared = Shared(&mut *map as *mut Map);
        let reading = reader(shared, done, stopped);
        finished.recv().unwrap();
        // SAFETY: the map is not used again (`ManuallyDrop`); the race with the reader is the
        // bug under test.
        at!("current", unsafe { std::ptr::drop_in_place(shared.0) });
        drop(stop);
        reading.join().unwrap();
    },
    |out| assert_drop_race(&out)
);

/// `Arc<Map>` is `Send` and `Sync` when the map is: the test's `Map` is.
type Snapshot = Arc<Map>;

scenario!(
    a_map_freed_by_the_last_arc_on_another_thread_is_not_a_race,
    {
        // A copy-on-write snapshot: two request threads hold clones; one reads and lets go,
        // the other lets go last, and frees the map. Only std channels between them, which
        // maprace does not see: the reference count orders the read before the drop.
        let mut map = Map::new();
        map.insert(1, 1);
        let snapshot: Snapshot = Arc::new(map);
        let (read, was_read) = channel::<()>();
        let first = {
            let snapshot = Arc::clone(&snapshot);
            std::thread::spawn(move || {
                assert_eq!(snapshot.get(&1), Some(&1));
                drop(snapshot);
                read.send(()).unwrap();
            })
        };
        let last = {
            let snapshot = Arc::clone(&snapshot);
            std::thread::Builder::new()
                .name("last".into())
                .spawn(move || {
                    was_read.recv().unwrap();
                    drop(snapshot); // the last reference: the map is dropped here
                })
                .unwrap()
        };
        drop(snapshot);
        last.join().unwrap();
        first.join().unwrap();
    },
    |out| out.assert_clean()
);

scenario!(
    a_map_moved_out_of_the_last_arc_is_not_a_race,
    {
        for unwrap in [
            (|arc| Arc::into_inner(arc).unwrap()) as fn(Snapshot) -> Map,
            |arc| Arc::try_unwrap(arc).unwrap(),
            Arc::unwrap_or_clone,
        ] {
            let mut map = Map::new();
            map.insert(1, 1);
            let snapshot: Snapshot = Arc::new(map);
            let (read, was_read) = channel::<()>();
            let reader = {
                let snapshot = Arc::clone(&snapshot);
                std::thread::spawn(move || {
                    assert_eq!(snapshot.get(&1), Some(&1));
                    drop(snapshot);
                    read.send(()).unwrap();
                })
            };
            was_read.recv().unwrap();
            let mut map = unwrap(snapshot);
            map.insert(2, 2);
            drop(map);
            reader.join().unwrap();
        }
    },
    |out| out.assert_clean()
);

scenario!(
    a_map_borrowed_by_maprace_scoped_threads_and_dropped_after_the_scope_is_not_a_race,
    {
        let rc = std::rc::Rc::new({
            let mut map = Map::new();
            map.insert(1, 1);
            map
        });
        let map: &Map = &rc;
        maprace::thread::scope(|s| {
            s.spawn(|| assert_eq!(map.get(&1), Some(&1)));
        });
        drop(rc); // the last `Rc`: the map is dropped here, after the scope's visible end
    },
    |out| out.assert_clean()
);

/// A reader thread ("reader") reads key 1 through its clone of `snapshot` (marked "previous"),
/// lets go of it, and says so through a std channel (no edge for maprace): the reference count
/// alone orders the read before what the caller does next with the only `Arc` left.
fn read_through_a_clone_and_let_go(snapshot: &Snapshot) -> std::thread::JoinHandle<()> {
    let (read, was_read) = channel::<()>();
    let clone = Arc::clone(snapshot);
    let reader = std::thread::Builder::new()
        .name("reader".into())
        .spawn(move || {
            at!("previous", clone.get(&1));
            drop(clone);
            read.send(()).unwrap();
        })
        .unwrap();
    was_read.recv().unwrap();
    reader
}

scenario!(
    arc_get_mut_after_the_other_clones_let_go_is_reported_a_known_false_report,
    {
        // Safe code, and no race: `Arc::get_mut` succeeds only once every other clone is
        // gone, and the reference count orders their accesses before it. maprace cannot see
        // that edge, and the write made through the `&mut` has no stack that could tell (the
        // README's "Limitations"). Joining the reader, or `Arc::into_inner`, orders it.
        let mut snapshot: Snapshot = Arc::new(Map::from([(1, 1)]));
        let reader = read_through_a_clone_and_let_go(&snapshot);
        let map = Arc::get_mut(&mut snapshot).expect("the only reference");
        at!("current", map.insert(2, 2));
        reader.join().unwrap();
    },
    |out| out.assert_race(
        common::Side {
            access: "Write (insert) of key 2 in map#1",
            thread: common::TEST_THREAD,
        },
        common::Side {
            access: "read (get) of the map's structure",
            thread: "reader",
        },
    )
);

scenario!(
    arc_get_mut_after_joining_the_other_clones_thread_runs_clean,
    {
        let mut snapshot: Snapshot = Arc::new(Map::from([(1, 1)]));
        read_through_a_clone_and_let_go(&snapshot).join().unwrap();
        Arc::get_mut(&mut snapshot)
            .expect("the only reference")
            .insert(2, 2);
        Arc::make_mut(&mut snapshot).insert(3, 3);
    },
    |out| out.assert_clean()
);
