//! `#[maprace::track]` at run time: the code the attribute expands to finds the races of the
//! annotated items, names their maps after the fields, bindings and statics it saw, and makes
//! the std locks it rewrote visible (so correctly locked code runs clean). Then the classic Go
//! map bugs, rendered in Rust, each with its synchronized twin.

mod common;
use common::{Shared, Side};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::thread;

// ---------------------------------------------------------------------------------------------
// A struct with a plain map field: the report names the field.

#[maprace::track]
struct Inventory {
    stock: HashMap<&'static str, u32>,
}

#[maprace::track]
impl Inventory {
    fn new() -> Self {
        Inventory {
            stock: HashMap::new(),
        }
    }
}

scenario!(
    a_racy_access_to_an_annotated_structs_map_field_is_reported_under_the_fields_name,
    {
        let mut inventory = Inventory::new();
        common::unordered(
            &mut inventory,
            |i| at!("previous", i.stock.insert("apples", 3)),
            |i| at!("current", i.stock.get("apples").copied()),
        );
    },
    |out| {
        out.assert_race(
            Side {
                access: "Read (get) of key \"apples\" in stock (HashMap<&str, u32>)",
                thread: common::TEST_THREAD,
            },
            Side {
                access: "write (insert) of the map's structure",
                thread: "writer",
            },
        );
    }
);

scenario!(
    the_same_access_to_an_annotated_structs_map_field_after_join_runs_clean,
    {
        let mut inventory = Inventory::new();
        common::joined(
            &mut inventory,
            |i| i.stock.insert("apples", 3),
            |i| assert_eq!(i.stock.get("apples"), Some(&3)),
        );
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// A struct with a `Mutex<HashMap>` field: the attribute rewrote the lock, so maprace sees it.

#[maprace::track]
struct HitCounter {
    hits: Mutex<HashMap<u32, u64>>,
}

#[maprace::track]
impl HitCounter {
    fn new() -> Self {
        HitCounter {
            hits: Mutex::new(HashMap::new()),
        }
    }
}

/// The same struct with `maps_only`: the map is tracked, the lock stays std's (invisible).
#[maprace::track(maps_only)]
struct HitCounterWithStdLock {
    hits: Mutex<HashMap<u32, u64>>,
}

#[maprace::track(maps_only)]
impl HitCounterWithStdLock {
    fn new() -> Self {
        HitCounterWithStdLock {
            hits: Mutex::new(HashMap::new()),
        }
    }
}

scenario!(
    an_annotated_structs_locked_map_shared_by_four_threads_runs_clean,
    {
        let counter = Arc::new(HitCounter::new());
        let workers: Vec<_> = (0..4u64)
            .map(|worker| {
                let counter = Arc::clone(&counter);
                thread::spawn(move || {
                    for page in 0..50u32 {
                        *counter.hits.lock().unwrap().entry(page % 8).or_default() += worker;
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        let hits = counter.hits.lock().unwrap();
        assert_eq!(hits.len(), 8);
        assert_eq!(hits.values().sum::<u64>(), 50 * (1 + 2 + 3));
    },
    |out| out.assert_clean()
);

scenario!(
    the_same_struct_with_maps_only_keeps_the_std_lock_which_maprace_cannot_see,
    {
        let mut counter = HitCounterWithStdLock::new();
        common::unordered(
            &mut counter,
            |c| at!("previous", c.hits.lock().unwrap().insert(1, 1)),
            |c| at!("current", c.hits.lock().unwrap().get(&1).copied()),
        );
    },
    |out| {
        out.assert_race(
            Side {
                access: "Read (get) of key 1 in hits (HashMap<u32, u64>)",
                thread: common::TEST_THREAD,
            },
            Side {
                access: "write (insert) of the map's structure",
                thread: "writer",
            },
        );
    }
);

// ---------------------------------------------------------------------------------------------
// An annotated `fn`: the map it builds is named after its binding.

#[maprace::track]
fn count_in_parallel(words: &'static [&'static str]) -> HashMap<&'static str, usize> {
    let counts = Arc::new(Mutex::new(HashMap::new()));
    let workers: Vec<_> = words
        .chunks(2)
        .map(|chunk| {
            let counts = Arc::clone(&counts);
            thread::spawn(move || {
                for word in chunk {
                    *counts.lock().unwrap().entry(*word).or_insert(0) += 1;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    counts.lock().unwrap().clone()
}

#[maprace::track]
fn count_without_the_lock() {
    let mut counts = HashMap::new();
    common::unordered(
        &mut counts,
        |c| at!("previous", c.insert("to", 1)),
        |c| at!("current", c.get("to").copied()),
    );
}

scenario!(
    an_annotated_fns_map_behind_arc_mutex_runs_clean_across_threads,
    {
        let counts = count_in_parallel(&["to", "be", "or", "not", "to", "be"]);
        assert_eq!(counts["to"], 2);
        assert_eq!(counts["or"], 1);
        assert_eq!(counts.len(), 4);
    },
    |out| out.assert_clean()
);

scenario!(
    an_annotated_fns_map_shared_without_the_lock_is_reported_under_its_binding,
    { count_without_the_lock() },
    |out| {
        out.assert_race(
            Side {
                access: "Read (get) of key \"to\" in counts (HashMap<&str, i32>)",
                thread: common::TEST_THREAD,
            },
            Side {
                access: "write (insert) of the map's structure",
                thread: "writer",
            },
        );
    }
);

// ---------------------------------------------------------------------------------------------
// An annotated `static` behind `LazyLock`: the map built in the initializer is named after the
// static. (The initializer's own accesses are ordered before the readers' by the move of the map
// into the static; the lock inside is what needs to be visible.)

#[maprace::track]
static SESSIONS: LazyLock<Mutex<HashMap<u32, String>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

#[maprace::track(maps_only)]
static SESSIONS_WITH_STD_LOCK: LazyLock<Mutex<HashMap<u32, String>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

scenario!(
    an_annotated_static_lazy_lock_initialised_by_one_thread_and_read_by_others_runs_clean,
    {
        // Whichever thread comes first initializes; the others wait for it and read.
        let threads: Vec<_> = (0..4u32)
            .map(|id| {
                thread::spawn(move || {
                    SESSIONS.lock().unwrap().insert(id, format!("user{id}"));
                    SESSIONS.lock().unwrap().values().count()
                })
            })
            .collect();
        for thread in threads {
            assert!(thread.join().unwrap() >= 1);
        }
        assert_eq!(SESSIONS.lock().unwrap().len(), 4);
    },
    |out| out.assert_clean()
);

scenario!(
    an_annotated_static_with_maps_only_is_reported_under_the_statics_name,
    {
        common::unordered(
            &mut (),
            |_| {
                let mut sessions = SESSIONS_WITH_STD_LOCK.lock().unwrap();
                at!("previous", sessions.insert(1, "a".into()));
            },
            |_| {
                let sessions = SESSIONS_WITH_STD_LOCK.lock().unwrap();
                at!("current", sessions.get(&1).cloned())
            },
        );
    },
    |out| {
        out.assert_race(
            Side {
                access: "Read (get) of key 1 in SESSIONS_WITH_STD_LOCK (HashMap<u32, String>)",
                thread: common::TEST_THREAD,
            },
            Side {
                access: "write (insert) of the map's structure",
                thread: "writer",
            },
        );
    }
);

// ---------------------------------------------------------------------------------------------
// Go's classic map bugs, in Rust.

/// Runs `first` on a thread named "worker-1" and `second` on one named "worker-2", the second
/// after the first in real time but told so through a std channel, which maprace cannot see.
fn two_workers(first: impl FnOnce() + Send, second: impl FnOnce() + Send) {
    let (done, finished) = std::sync::mpsc::channel();
    thread::scope(|s| {
        let spawn = |name: &str| thread::Builder::new().name(name.into());
        let one = spawn("worker-1")
            .spawn_scoped(s, move || {
                first();
                done.send(()).unwrap();
            })
            .unwrap();
        let two = spawn("worker-2")
            .spawn_scoped(s, move || {
                finished.recv().unwrap();
                second();
            })
            .unwrap();
        two.join().unwrap();
        one.join().unwrap();
    });
}

#[maprace::track(name = "results")]
fn new_results() -> HashMap<u32, u32> {
    HashMap::new()
}

#[maprace::track(name = "results")]
fn new_locked_results() -> Arc<Mutex<HashMap<u32, u32>>> {
    Arc::new(Mutex::new(HashMap::new()))
}

scenario!(
    // Go: `for i := range jobs { go func() { results[i] = work(i) }() }`
    go_closures_capturing_one_map_in_spawned_threads_are_reported,
    {
        let mut results = new_results();
        let shared = Shared(std::ptr::from_mut(&mut results));
        two_workers(
            move || {
                at!("previous", shared.get().insert(1, 10));
            },
            move || {
                at!("current", shared.get().insert(2, 20));
            },
        );
    },
    |out| {
        out.assert_race(
            Side {
                // An insert of a new key writes the structure (it is looked up after room is
                // made for it, as std does, so nothing is read first).
                access: "Write (insert) of key 2 in results (HashMap<u32, u32>)",
                thread: "worker-2",
            },
            Side {
                access: "write (insert) of the map's structure",
                thread: "worker-1",
            },
        );
    }
);

scenario!(
    go_closures_capturing_the_map_behind_an_annotated_mutex_run_clean,
    {
        let results = new_locked_results();
        let (one, two) = (Arc::clone(&results), Arc::clone(&results));
        two_workers(
            move || assert_eq!(one.lock().unwrap().insert(1, 10), None),
            move || assert_eq!(two.lock().unwrap().insert(2, 20), None),
        );
        assert_eq!(results.lock().unwrap().len(), 2);
    },
    |out| out.assert_clean()
);

#[maprace::track(name = "scratch")]
fn new_scratch() -> HashMap<u32, u32> {
    HashMap::new()
}

/// Hands `job` to a thread named "worker" and, once it has finished in real time (told through
/// a std channel, which maprace cannot see), runs `next` here; joins the worker after that.
fn run_job_then<R: Send>(job: impl FnOnce() -> R + Send, next: impl FnOnce()) -> R {
    let (done, finished) = std::sync::mpsc::channel();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    thread::scope(|s| {
        let worker = thread::Builder::new()
            .name("worker".into())
            .spawn_scoped(s, move || {
                let result = job();
                done.send(()).unwrap();
                let _ = stopped.recv();
                result
            })
            .unwrap();
        finished.recv().unwrap();
        next();
        drop(stop);
        worker.join().unwrap()
    })
}

scenario!(
    // Go: a pool that reuses one scratch map per job, cleared for the next job while a worker
    // may still be reading it.
    go_worker_pool_reusing_one_map_across_jobs_is_reported,
    {
        let mut scratch = new_scratch();
        scratch.insert(1, 10); // job 1's input
        let shared = Shared(std::ptr::from_mut(&mut scratch));
        let output = run_job_then(
            move || at!("previous", shared.get().get(&1).copied()),
            move || at!("current", shared.get().clear()), // reused for job 2
        );
        assert_eq!(output, Some(10));
    },
    |out| {
        out.assert_race(
            Side {
                access: "Write (clear) of scratch (HashMap<u32, u32>)",
                thread: common::TEST_THREAD,
            },
            Side {
                access: "read (get) of the map's structure",
                thread: "worker",
            },
        );
    }
);

/// The synchronized twin of `run_job_then`: `next` runs after the worker was joined.
fn run_job_joined_then<R: Send>(job: impl FnOnce() -> R + Send, next: impl FnOnce()) -> R {
    let result = thread::scope(|s| {
        let worker = thread::Builder::new().name("worker".into());
        worker.spawn_scoped(s, job).unwrap().join().unwrap()
    });
    next();
    result
}

scenario!(
    go_worker_pool_that_waits_for_the_job_before_reusing_the_map_runs_clean,
    {
        let mut scratch = new_scratch();
        scratch.insert(1, 10);
        let shared = Shared(std::ptr::from_mut(&mut scratch));
        let output = run_job_joined_then(
            move || shared.get().get(&1).copied(),
            move || shared.get().clear(),
        );
        assert_eq!(output, Some(10));
        scratch.insert(2, 20); // job 2's input
        assert_eq!(scratch.len(), 1);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// A DashMap field: the attribute makes it the mirror, and a guard deadlock on it is reported
// under the field's name.

#[cfg(feature = "dashmap")]
#[maprace::track]
mod sessions {
    use dashmap::DashMap;

    pub(crate) struct Sessions {
        pub(crate) by_user: DashMap<u64, String>,
    }

    impl Sessions {
        pub(crate) fn new() -> Self {
            Sessions {
                by_user: DashMap::new(),
            }
        }
    }
}

#[cfg(feature = "dashmap")]
scenario!(
    a_guard_deadlock_on_an_annotated_structs_dashmap_field_is_reported_under_the_fields_name,
    hangs_after = if maprace::COMPILED_IN {
        std::time::Duration::from_secs(100)
    } else {
        std::time::Duration::from_secs(2)
    },
    {
        let sessions = sessions::Sessions::new();
        sessions.by_user.insert(1, "ada".into());
        let name = at!("guard", sessions.by_user.get(&1)).unwrap();
        at!("call", sessions.by_user.insert(1, name.to_uppercase()));
    },
    |out| {
        out.assert_deadlock_or_hang("Insert (exclusive) of key 1 on shard ", &["guard"]);
        if maprace::COMPILED_IN {
            assert!(
                out.stderr
                    .contains(" of by_user (DashMap<u64, String>) at "),
                "{out}"
            );
        }
    }
);
