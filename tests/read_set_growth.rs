//! A key's read set grown by a reader whose slot it has no entry for, while another reader
//! records its first read of the key in the old set (found in review): the grower copies the
//! old set's reads, then swaps the larger set in; a read recorded in the old set between the
//! copy and the swap must not be lost, or a write unordered with it is missed.
//!
//! The schedule is controlled (with std atomics, which maprace does not see, and
//! `__private::after_read_set_copy`, a function the grower runs between its copy and its swap):
//! C is started first (so its slot is below A's and B's) and waits; readers A and B make a set
//! (entries up to B's slot, C's among them); filler threads push the slots on, so that G's is
//! past the set's capacity; G reads the key and grows the set,
//! and is held between the copy and the swap until C has read the key (in the old set, its
//! first read). Then the test thread joins A, B and G (so their reads are ordered before it)
//! and writes the key: unordered with C's read alone.

mod common;
use common::{Shared, Side, TEST_THREAD};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

type Map = maprace::HashMap<u32, u32>;

/// Threads started between C and G, alive until the end (so that no slot is reused).
const FILLERS: usize = 16;

static G_COPIED: AtomicBool = AtomicBool::new(false);
static G_GROWS: AtomicUsize = AtomicUsize::new(0);
static C_READ: AtomicBool = AtomicBool::new(false);
static C_GREW: AtomicBool = AtomicBool::new(false);
static STEP: AtomicUsize = AtomicUsize::new(0);

fn until(done: impl Fn() -> bool) {
    let since = Instant::now();
    while !done() {
        assert!(
            since.elapsed() < Duration::from_secs(20),
            "the schedule did not happen"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// G, between its copy of the old set and its swap: at the key's set, held until C has read.
/// (A `get` reads the map's structure, then the key: G grows the structure's set first.)
fn g_copied() {
    if G_GROWS.fetch_add(1, SeqCst) == 1 {
        G_COPIED.store(true, SeqCst);
        let since = Instant::now();
        while !C_READ.load(SeqCst) && since.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// C would grow the set itself: its slot is past the set's capacity, not the schedule tested.
fn c_grew() {
    C_GREW.store(true, SeqCst);
}

/// Runs the schedule, then the test thread writes the key (with C joined first if `join_c`).
fn grow_while_a_first_read_lands_in_the_old_set(join_c: bool) {
    if !maprace::COMPILED_IN {
        return; // no read sets: the hook is never called
    }
    let mut map = Map::new();
    map.insert(1, 0);
    let shared = Shared(&mut map as *mut Map);
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let stopped = std::sync::Arc::new(std::sync::Mutex::new(stopped));
    let spawn = |name: &str, body: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new()
            .name(name.into())
            .spawn(body)
            .unwrap()
    };
    // A and B read at once when started (in order), then stay alive until joined.
    let reader = |name: &'static str, step: usize| {
        spawn(
            name,
            Box::new(move || {
                let shared = shared;
                until(|| STEP.load(SeqCst) == step);
                shared.get().get(&1);
                STEP.store(step + 1, SeqCst);
            }),
        )
    };
    let c = spawn(
        "c",
        Box::new(move || {
            let shared = shared;
            maprace::__private::after_read_set_copy(Some(c_grew));
            until(|| G_COPIED.load(SeqCst));
            at!("previous", shared.get().get(&1));
            C_READ.store(true, SeqCst);
        }),
    );
    let a = reader("a", 0);
    until(|| STEP.load(SeqCst) == 1);
    let b = reader("b", 1);
    until(|| STEP.load(SeqCst) == 2);
    let fillers: Vec<_> = (0..FILLERS)
        .map(|_| {
            let stopped = std::sync::Arc::clone(&stopped);
            spawn(
                "filler",
                Box::new(move || {
                    let _ = stopped.lock().unwrap().recv();
                }),
            )
        })
        .collect();
    let g = spawn(
        "g",
        Box::new(move || {
            let shared = shared;
            maprace::__private::after_read_set_copy(Some(g_copied));
            shared.get().get(&1);
        }),
    );
    for thread in [a, b, g] {
        thread.join().unwrap();
    }
    assert!(G_COPIED.load(SeqCst), "G did not grow the set");
    until(|| C_READ.load(SeqCst));
    assert!(!C_GREW.load(SeqCst), "C's slot was past the set's capacity");
    let c = if join_c {
        c.join().unwrap();
        None
    } else {
        Some(c)
    };
    at!("current", shared.get().insert(1, 1));
    if let Some(c) = c {
        c.join().unwrap();
    }
    drop(stop);
    for thread in fillers {
        thread.join().unwrap();
    }
}

scenario!(
    /// The write is unordered with C's read, stored in the old set between G's copy and its
    /// swap: reported (G's merge after its swap finds it). Before, the read was in neither set
    /// once the swap landed: exit 0.
    a_read_stored_between_the_copy_and_the_swap_is_seen_by_an_unordered_write,
    { grow_while_a_first_read_lands_in_the_old_set(false) },
    |out| out.assert_race(current(), previous())
);

scenario!(
    /// The twin: C is joined before the write, which is then ordered after every read.
    a_read_stored_between_the_copy_and_the_swap_then_joined_runs_clean,
    { grow_while_a_first_read_lands_in_the_old_set(true) },
    |out| out.assert_clean()
);

fn current() -> Side<'static> {
    Side {
        access: "Write (insert) of key 1 in map#1",
        thread: TEST_THREAD,
    }
}

fn previous() -> Side<'static> {
    Side {
        access: "read (get) of key 1",
        thread: "c",
    }
}
