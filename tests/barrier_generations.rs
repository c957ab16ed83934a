//! A `maprace::sync::Barrier` of `n` waited on by more than `n` threads at a time: the threads
//! whose clocks a generation joins must be exactly the threads that generation releases.
//!
//! The schedule is controlled (with std atomics, which maprace does not see, and
//! `__private::after_barrier_count`, a function a thread runs after maprace counted it and
//! before the real wait): with a barrier of 2, threads A, B, C, D are counted in that order,
//! and B is made late between its count and the real wait, until A has left or 300 ms have
//! passed. A looks, after leaving, whether B had entered the real wait before: that tells it
//! which of B and C was released with it (B had not, so its partner was C).

mod common;
use common::{Shared, Side};
use maprace::sync::{Arc, Barrier};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

type Map = maprace::HashMap<u32, u32>;

/// B's key and C's key (each written before the barrier by its thread).
const B_KEY: u32 = 2;
const C_KEY: u32 = 3;

static COUNTED: AtomicUsize = AtomicUsize::new(0);
static A_LEFT: AtomicBool = AtomicBool::new(false);
static B_ENTERING: AtomicBool = AtomicBool::new(false);

/// A, C and D, once counted.
fn counted() {
    COUNTED.fetch_add(1, SeqCst);
}

/// A's left, or the timeout passed (the schedule's step for B's real wait and for D).
fn a_left_or_timeout(since: Instant) {
    while !A_LEFT.load(SeqCst) && since.elapsed() < Duration::from_millis(300) {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// B, once counted: late until A has left (or the timeout).
fn b_counted() {
    let since = Instant::now();
    COUNTED.fetch_add(1, SeqCst);
    a_left_or_timeout(since);
    B_ENTERING.store(true, SeqCst);
}

fn until_counted(n: usize) {
    while COUNTED.load(SeqCst) < n {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Runs the schedule; A (thread "reader"), after leaving the barrier, reads the key that
/// `read` chooses from "B had entered the real wait before I left".
fn four_threads_at_a_barrier_of_two(read: fn(b_entered: bool) -> u32) {
    if !maprace::COMPILED_IN {
        return; // std's barrier: the schedule's hook is never called
    }
    let barrier = Arc::new(Barrier::new(2));
    let mut map = Map::new();
    map.insert(B_KEY, 0);
    map.insert(C_KEY, 0);
    let shared = Shared(&mut map as *mut Map);
    let spawn = |name: &str, body: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new()
            .name(name.into())
            .spawn(body)
            .unwrap()
    };
    let a = {
        let barrier = Arc::clone(&barrier);
        spawn(
            "reader",
            Box::new(move || {
                let shared = shared;
                maprace::__private::after_barrier_count(Some(counted));
                barrier.wait();
                let b_entered = B_ENTERING.load(SeqCst);
                A_LEFT.store(true, SeqCst);
                let key = read(b_entered);
                at!("current", shared.get().get(&key));
            }),
        )
    };
    until_counted(1);
    let b = {
        let barrier = Arc::clone(&barrier);
        spawn(
            "b",
            Box::new(move || {
                let shared = shared;
                shared.get().insert(B_KEY, 1);
                maprace::__private::after_barrier_count(Some(b_counted));
                barrier.wait();
            }),
        )
    };
    until_counted(2);
    let since = Instant::now();
    let c = {
        let barrier = Arc::clone(&barrier);
        spawn(
            "c",
            Box::new(move || {
                let shared = shared;
                at!("previous", shared.get().insert(C_KEY, 1));
                maprace::__private::after_barrier_count(Some(counted));
                barrier.wait();
            }),
        )
    };
    until_counted(3);
    a_left_or_timeout(since);
    let d = {
        let barrier = Arc::clone(&barrier);
        spawn(
            "d",
            Box::new(move || {
                maprace::__private::after_barrier_count(Some(counted));
                barrier.wait();
            }),
        )
    };
    for thread in [a, b, c, d] {
        thread.join().unwrap();
    }
}

scenario!(
    /// A reads the key of the thread it was released with: ordered, clean. (Before the
    /// generations followed the real wait, maprace counted A with B but the real wait released
    /// A with C, whose write was reported: a false race.)
    a_thread_reading_what_the_thread_released_with_it_wrote_runs_clean,
    {
        four_threads_at_a_barrier_of_two(|b_entered| if b_entered { B_KEY } else { C_KEY })
    },
    |out| out.assert_clean()
);

scenario!(
    /// A reads the key of a thread it was not released with: reported. (Before, maprace counted
    /// A with B, released with C instead, and took B's write as ordered: a missed race.)
    a_thread_reading_what_a_thread_of_another_generation_wrote_is_reported,
    {
        four_threads_at_a_barrier_of_two(|b_entered| if b_entered { C_KEY } else { B_KEY })
    },
    |out| out.assert_race(
        Side {
            access: "Read (get) of key 3 in map#1",
            thread: "reader",
        },
        Side {
            access: "write (insert) of key 3",
            thread: "c",
        },
    )
);

scenario!(
    /// Eight threads at a barrier of two, each waiting once, ten rounds: each generation has
    /// one leader, as std's (40 generations), and every thread gets through; the Debug output
    /// is std's. (Each thread waits once a round: with more waits, the threads left could be
    /// fewer than `n`, with std's barrier too.)
    more_threads_than_n_each_generation_has_one_leader,
    { more_threads_than_n() },
    |out| out.assert_clean()
);

scenario!(
    /// The same with the detector off at run time (the waits are one std barrier's).
    more_threads_than_n_each_generation_has_one_leader_with_enabled_0,
    options = "enabled=0",
    { more_threads_than_n() },
    |out| out.assert_clean()
);

/// Eight threads at a barrier of two, each waiting once, ten rounds (see the scenarios).
fn more_threads_than_n() {
    const THREADS: usize = 8;
    const ROUNDS: usize = 10;
    let barrier = Arc::new(Barrier::new(2));
    let leaders = Arc::new(AtomicUsize::new(0));
    for _ in 0..ROUNDS {
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let (barrier, leaders) = (Arc::clone(&barrier), Arc::clone(&leaders));
                std::thread::spawn(move || {
                    if barrier.wait().is_leader() {
                        leaders.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    }
    assert_eq!(leaders.load(SeqCst), THREADS * ROUNDS / 2);
    assert!(Barrier::new(0).wait().is_leader());
    assert_eq!(
        format!("{barrier:?}"),
        format!("{:?}", std::sync::Barrier::new(2))
    );
}
