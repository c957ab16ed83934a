//! Dropping a map: a drop unordered with another thread's access is a race, reported at the
//! user's line that dropped the map (drop glue has no caller location).

mod common;

use common::Shared;
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
