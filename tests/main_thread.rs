//! Scenarios that need the process's own main thread, whose end is the process's exit (libtest
//! runs each test on a thread of its own, so this file has no harness: `main` runs each
//! scenario in a child, where the scenario runs on the main thread and then exits).

mod common;

use common::{Outcome, Shared, Side};
use std::sync::atomic::{AtomicPtr, Ordering::SeqCst};

type Map = maprace::HashMap<u32, u32>;

/// The map `WritesAtExit` writes into.
static MAP: AtomicPtr<Map> = AtomicPtr::new(std::ptr::null_mut());

/// Writes into `MAP` from the main thread's thread-local destructors, at exit.
struct WritesAtExit;

impl Drop for WritesAtExit {
    fn drop(&mut self) {
        let map = MAP.load(SeqCst);
        // SAFETY: the map is leaked: it outlives every thread of the process.
        let map = unsafe { &mut *map };
        at!("current", map.insert(2, 2));
    }
}

thread_local! {
    static AT_EXIT: WritesAtExit = const { WritesAtExit };
}

/// Issue 10, point 4: the main thread's thread-local is registered before the main thread's
/// first map operation; its destructor, at exit, writes the map a thread wrote (`join`: after
/// a join, or not ordered at all).
fn thread_local_written_at_exit(join: bool) {
    AT_EXIT.with(|_| {});
    let map: &'static mut Map = Box::leak(Box::new(Map::new()));
    MAP.store(map, SeqCst);
    let shared = Shared(map as *mut Map);
    let (done, written) = std::sync::mpsc::channel();
    let writer = std::thread::Builder::new()
        .name("writer".into())
        .spawn(move || {
            let shared = shared;
            at!("previous", shared.get().insert(1, 1));
            done.send(()).unwrap();
        })
        .unwrap();
    written.recv().unwrap();
    if join {
        writer.join().unwrap();
    }
}

/// The report, and the policy after it, for a report made at exit (after the scenario printed
/// that it was done).
fn assert_race_at_exit(out: &Outcome, current: Side<'_>, previous: Side<'_>) {
    if !maprace::COMPILED_IN {
        return out.assert_clean();
    }
    assert_eq!(out.code, Some(66), "exit code\n{out}");
    assert_eq!(
        out.stderr.matches("WARNING: MAP RACE").count(),
        1,
        "one report\n{out}"
    );
    assert!(
        out.stderr
            .contains("maprace: stopping at the first race (exit code 66)"),
        "{out}"
    );
    out.assert_sides(current, previous);
}

fn main() {
    if let Some(out) = common::child("a_main_thread_local_written_at_exit_is_checked", "", || {
        thread_local_written_at_exit(false)
    }) {
        assert_race_at_exit(
            &out,
            Side {
                // An insert of a new key writes the structure (it is looked up after room is
                // made for it, as std does, so nothing is read first).
                access: "Write (insert) of key 2 in map#1",
                thread: "main",
            },
            Side {
                access: "write (insert) of the map's structure",
                thread: "writer",
            },
        );
    }
    if let Some(out) = common::child(
        "a_main_thread_local_written_at_exit_after_a_join_is_not_reported",
        "",
        || thread_local_written_at_exit(true),
    ) {
        out.assert_clean();
    }
    println!("main_thread: ok");
}
