//! A reader holding a read set that left its cell and was handed out again, to another key's
//! cell, meanwhile (left by the read-set work, found in review): its late store lands in its
//! own slot's entry of the set under the old generation. The new owner ignores that value, but
//! if the set's new owner held a read of the same thread there (copied in by the thread that
//! made the set), the store must not lose it, or a write of the other key unordered with that
//! read is missed.
//!
//! The schedule is controlled (with std atomics, which maprace does not see, and two hidden
//! hooks: `__private::after_read_set_copy`, run by a thread that grows a set between its copy
//! and its swap, and `__private::before_read_set_entry`, run on a read's slow path just before
//! the thread stores its entry in a set it loaded from the cell). Slots, in the order the
//! threads are started: P, Q (a set of 4 entries for key 1), a filler, R, G1, Z (R's slot
//! below 8, past 4), a filler, G2 (past 8).
//!
//! 1. P and Q read key 1: a set of 4 entries. R reads key 2 (alone: its read is the cell's
//!    read word), then key 1: its slot is past the set's, so it grows a copy, and is held
//!    between the copy and the swap.
//! 2. G1 reads key 1 and grows the set itself (to 8 entries, R's among them). R's swap then
//!    fails; it loads the word again, finds G1's set, which has its entry, and is held before
//!    storing there (`before_read_set_entry`).
//! 3. G2 reads key 1 and grows G1's set to 16 entries: G1's set is retired, the last of its
//!    size. Z reads key 2, unordered with R's read of it: it makes key 2's set, and gets G1's
//!    set back in its next generation, and copies R's read of key 2 into R's entry.
//! 4. R stores its read of key 1 in its entry of G1's set (the old generation), sees the cell
//!    changed, records its read again in G2's set, and ends its `get`.
//! 5. The test thread joins all but R (so their reads are ordered before it) and writes key 2:
//!    unordered with R's read of key 2 alone.

mod common;
use common::{Shared, Side, TEST_THREAD};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

type Map = maprace::HashMap<u32, u32>;

static STEP: AtomicUsize = AtomicUsize::new(0);
static R_GROWS: AtomicUsize = AtomicUsize::new(0);
static R_ENTRIES: AtomicUsize = AtomicUsize::new(0);
static R_DONE: AtomicBool = AtomicBool::new(false);
static G1_GROWS: AtomicUsize = AtomicUsize::new(0);
static G2_GROWS: AtomicUsize = AtomicUsize::new(0);
static Z_GREW: AtomicBool = AtomicBool::new(false);

/// The steps (`STEP`): R held after its copy; G1 grew; R held before its entry; G2 grew; Z read.
const R_COPIED: usize = 3;
const G1_READ: usize = 4;
const R_AT_ENTRY: usize = 5;
const G2_READ: usize = 6;
const Z_READ: usize = 7;

fn until(done: impl Fn() -> bool) {
    let since = Instant::now();
    while !done() {
        assert!(
            since.elapsed() < Duration::from_secs(20),
            "the schedule did not happen (step {})",
            STEP.load(SeqCst)
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Holds the calling thread (in a hook, inside maprace: no assertion may unwind there) until
/// `step`, for at most 20 s (the schedule's asserts then fail).
fn hold_until(step: usize) {
    let since = Instant::now();
    while STEP.load(SeqCst) < step && since.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// R's grows: the map's structure's set at its read of key 2 (let through), then key 1's set,
/// held between the copy and the swap until G1 has grown that set itself.
fn r_copied() {
    if R_GROWS.fetch_add(1, SeqCst) == 1 {
        STEP.store(R_COPIED, SeqCst);
        hold_until(G1_READ);
    }
}

/// R, about to store its read of key 1 in G1's set (loaded after its swap failed): held until
/// G2 has retired that set and Z has taken it for key 2.
fn r_at_entry() {
    if R_ENTRIES.fetch_add(1, SeqCst) == 0 {
        STEP.store(R_AT_ENTRY, SeqCst);
        hold_until(Z_READ);
    }
}

fn g1_grew() {
    G1_GROWS.fetch_add(1, SeqCst);
}

fn g2_grew() {
    G2_GROWS.fetch_add(1, SeqCst);
}

fn z_grew() {
    Z_GREW.store(true, SeqCst);
}

/// Runs the schedule, then the test thread writes key 2 (with R joined first if `join_r`).
fn a_stale_entry_store_into_a_set_handed_out_again(join_r: bool) {
    if !maprace::COMPILED_IN {
        return; // no read sets: the hooks are never called
    }
    let mut map = Map::new();
    map.insert(1, 0);
    map.insert(2, 0);
    let shared = Shared(&mut map as *mut Map);
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let stopped = std::sync::Arc::new(std::sync::Mutex::new(stopped));
    let spawn = |name: &str, body: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new()
            .name(name.into())
            .spawn(body)
            .unwrap()
    };
    let filler = || {
        let stopped = std::sync::Arc::clone(&stopped);
        spawn(
            "filler",
            Box::new(move || {
                let _ = stopped.lock().unwrap().recv();
            }),
        )
    };
    // A thread that waits for `step`, sets `hook` as its grow hook, reads `key`, then moves
    // the schedule to `next`.
    let reader = |name: &'static str, step: usize, hook: fn(), key: u32, next: usize| {
        spawn(
            name,
            Box::new(move || {
                let shared = shared;
                maprace::__private::after_read_set_copy(Some(hook));
                until(|| STEP.load(SeqCst) == step);
                shared.get().get(&key);
                STEP.store(next, SeqCst);
            }),
        )
    };
    let p = reader("p", 0, z_grew, 1, 1);
    let q = reader("q", 1, z_grew, 1, 2);
    let filler_low = filler();
    let r = spawn(
        "r",
        Box::new(move || {
            let shared = shared;
            maprace::__private::after_read_set_copy(Some(r_copied));
            maprace::__private::before_read_set_entry(Some(r_at_entry));
            until(|| STEP.load(SeqCst) == 2);
            at!("previous", shared.get().get(&2));
            shared.get().get(&1);
            R_DONE.store(true, SeqCst);
        }),
    );
    let g1 = reader("g1", R_COPIED, g1_grew, 1, G1_READ);
    let z = reader("z", G2_READ, z_grew, 2, Z_READ);
    let filler_high = filler();
    let g2 = spawn(
        "g2",
        Box::new(move || {
            let shared = shared;
            maprace::__private::after_read_set_copy(Some(g2_grew));
            until(|| STEP.load(SeqCst) == R_AT_ENTRY);
            shared.get().get(&1);
            STEP.store(G2_READ, SeqCst);
        }),
    );
    for thread in [p, q, g1, g2, z] {
        thread.join().unwrap();
    }
    until(|| R_DONE.load(SeqCst));
    assert_eq!(
        R_GROWS.load(SeqCst),
        2,
        "R grew the structure's set and key 1's"
    );
    assert_eq!(
        R_ENTRIES.load(SeqCst),
        2,
        "R stored in G1's set, then in G2's"
    );
    assert_eq!(G1_GROWS.load(SeqCst), 1, "G1 grew key 1's set");
    assert_eq!(
        G2_GROWS.load(SeqCst),
        2,
        "G2 grew the structure's set and key 1's"
    );
    assert!(!Z_GREW.load(SeqCst), "P, Q and Z grew no set");
    let r = if join_r {
        r.join().unwrap();
        None
    } else {
        Some(r)
    };
    at!("current", shared.get().insert(2, 1));
    if let Some(r) = r {
        r.join().unwrap();
    }
    drop(stop);
    for thread in [filler_low, filler_high] {
        thread.join().unwrap();
    }
}

scenario!(
    /// The write of key 2 is unordered with R's read of it, which Z copied into the set it
    /// took: reported. Before, R's late store of its read of key 1 (under the set's old
    /// generation) replaced that entry, and the write found nothing: exit 0.
    a_late_store_into_a_set_handed_out_again_loses_no_read_of_the_new_owner,
    { a_stale_entry_store_into_a_set_handed_out_again(false) },
    |out| out.assert_race(current(), previous())
);

scenario!(
    /// The twin: R is joined before the write, which is then ordered after every read.
    a_late_store_into_a_set_handed_out_again_then_joined_runs_clean,
    { a_stale_entry_store_into_a_set_handed_out_again(true) },
    |out| out.assert_clean()
);

fn current() -> Side<'static> {
    Side {
        access: "Write (insert) of key 2 in map#1",
        thread: TEST_THREAD,
    }
}

fn previous() -> Side<'static> {
    Side {
        access: "read (get) of key 2",
        thread: "r",
    }
}
