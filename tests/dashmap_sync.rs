//! Happens-before through a DashMap (DESIGN §2a): it follows the shards' locks. A guard's drop
//! releases, taking a guard acquires (shared: the exclusive releases; exclusive: all), so a
//! tracked map published through the map, or kept in it as a value, is ordered for the threads
//! that take it out. Each clean scenario has a twin that bypasses the map and is reported.

#![cfg(feature = "dashmap")]

mod common;
use common::{Shared, Side};
use maprace::DashMap;
use maprace::sync::Arc;
use std::sync::mpsc;

type Inner = maprace::HashMap<u64, u64>;

fn reader() -> std::thread::Builder {
    std::thread::Builder::new().name("reader".into())
}

fn writer() -> std::thread::Builder {
    std::thread::Builder::new().name("writer".into())
}

// ---------------------------------------------------------------------------------------------
// A value published through the map.

scenario!(
    a_tracked_map_published_through_the_dashmap_is_ordered_for_its_reader,
    {
        let map: DashMap<&str, Arc<Inner>> = DashMap::new();
        let (told, heard) = mpsc::channel(); // std's: maprace cannot see it
        std::thread::scope(|s| {
            let map = &map;
            writer()
                .spawn_scoped(s, move || {
                    let mut inner = Inner::new();
                    inner.insert(1, 10);
                    map.insert("config", Arc::new(inner));
                    told.send(()).unwrap();
                })
                .unwrap();
            reader()
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    let config = map.get("config").unwrap();
                    assert_eq!(config.get(&1), Some(&10));
                })
                .unwrap();
        });
    },
    |out| out.assert_clean()
);

scenario!(
    a_tracked_map_written_after_it_was_published_is_a_race_with_its_reader,
    {
        let map: DashMap<&str, Arc<Inner>> = DashMap::new();
        let (told, heard) = mpsc::channel();
        let (done, finished) = mpsc::channel::<()>();
        std::thread::scope(|s| {
            let map = &map;
            writer()
                .spawn_scoped(s, move || {
                    let inner = Arc::new(Inner::new());
                    let raw = Shared(Arc::as_ptr(&inner).cast_mut());
                    map.insert("config", inner);
                    // After the publication, behind the map's back (the bug under test).
                    at!("previous", raw.get().insert(1, 10));
                    told.send(()).unwrap();
                    let _ = finished.recv();
                })
                .unwrap();
            reader()
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    let config = map.get("config").unwrap();
                    at!("current", config.get(&1));
                    drop(done);
                })
                .unwrap();
        });
    },
    |out| out.assert_race(
        Side {
            access: "Read (get) of key 1 in map#1",
            thread: "reader",
        },
        Side {
            access: "write (insert) of the map's structure",
            thread: "writer",
        },
    )
);

// ---------------------------------------------------------------------------------------------
// A tracked map kept as the value: read through a Ref on one thread, written through a RefMut
// on another (issue 12, point 4).

scenario!(
    a_tracked_map_value_read_through_a_ref_then_written_through_a_ref_mut_elsewhere_runs_clean,
    {
        let map: DashMap<u64, Inner> = DashMap::new();
        map.insert(1, Inner::new());
        map.get_mut(&1).unwrap().insert(5, 0);
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            let map = &map;
            reader()
                .spawn_scoped(s, move || {
                    assert_eq!(map.get(&1).unwrap().get(&5), Some(&0));
                    told.send(()).unwrap();
                })
                .unwrap();
            writer()
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    map.get_mut(&1).unwrap().insert(5, 1);
                    told_back(map);
                })
                .unwrap();
        });
    },
    |out| out.assert_clean()
);

/// The writer's last step: a reread through a shared guard, ordered after its own write.
fn told_back(map: &DashMap<u64, Inner>) {
    assert_eq!(map.get(&1).unwrap().get(&5), Some(&1));
}

scenario!(
    a_tracked_map_value_written_through_a_ref_mut_then_read_through_a_ref_elsewhere_runs_clean,
    {
        let map: DashMap<u64, Inner> = DashMap::new();
        map.insert(1, Inner::new());
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            let map = &map;
            writer()
                .spawn_scoped(s, move || {
                    map.get_mut(&1).unwrap().insert(5, 1);
                    map.alter(&1, |_, mut inner| {
                        inner.insert(6, 1);
                        inner
                    });
                    told.send(()).unwrap();
                })
                .unwrap();
            reader()
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    assert_eq!(map.get(&1).unwrap().get(&5), Some(&1));
                    assert_eq!(map.view(&1, |_, inner| inner.len()), Some(2));
                })
                .unwrap();
        });
    },
    |out| out.assert_clean()
);

scenario!(
    a_tracked_map_value_written_around_the_map_after_a_read_through_a_ref_is_a_race,
    {
        let map: DashMap<u64, Inner> = DashMap::new();
        map.insert(1, Inner::new());
        map.get_mut(&1).unwrap().insert(5, 0);
        let raw = {
            let mut inner = map.get_mut(&1).unwrap();
            Shared(&mut *inner as *mut Inner)
        };
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            let map = &map;
            reader()
                .spawn_scoped(s, move || {
                    let inner = map.get(&1).unwrap();
                    at!("previous", inner.get(&5));
                    drop(inner);
                    told.send(()).unwrap();
                })
                .unwrap();
            writer()
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    // No guard: the bug under test.
                    at!("current", raw.get().insert(5, 1));
                })
                .unwrap();
        });
    },
    |out| out.assert_race(
        Side {
            access: "Write (insert) of key 5 in map#1",
            thread: "writer",
        },
        Side {
            access: "read (get) of key 5",
            thread: "reader",
        },
    )
);

// ---------------------------------------------------------------------------------------------
// A lookup that finds its key absent took the shard's lock too: it is ordered after the remove
// it observes.

fn wait_for_the_removal(tell: impl Fn(&DashMap<u64, u64>) -> bool) {
    let map = DashMap::new();
    map.insert(1u64, 1u64);
    let mut results = Inner::new();
    let shared = Shared(&mut results as *mut Inner);
    std::thread::scope(|s| {
        let map = &map;
        writer()
            .spawn_scoped(s, move || {
                let shared = shared;
                at!("previous", shared.get().insert(7, 49));
                map.remove(&1);
            })
            .unwrap();
        while tell(map) {
            std::hint::spin_loop();
        }
        at!("current", shared.get().get(&7));
    });
}

scenario!(
    a_lookup_that_observes_a_removal_is_ordered_after_it,
    { wait_for_the_removal(|map| map.contains_key(&1)) },
    |out| out.assert_clean()
);

scenario!(
    waiting_for_the_removal_with_a_try_get_is_ordered_after_it,
    { wait_for_the_removal(|map| !map.try_get(&1).is_absent()) },
    |out| out.assert_clean()
);

scenario!(
    waiting_for_the_removal_through_another_map_orders_nothing,
    {
        let flag = std::sync::atomic::AtomicBool::new(false);
        let mut results = Inner::new();
        let shared = Shared(&mut results as *mut Inner);
        std::thread::scope(|s| {
            let flag = &flag;
            writer()
                .spawn_scoped(s, move || {
                    let shared = shared;
                    at!("previous", shared.get().insert(7, 49));
                    flag.store(true, std::sync::atomic::Ordering::Release);
                })
                .unwrap();
            // A std atomic: maprace cannot see it.
            while !flag.load(std::sync::atomic::Ordering::Acquire) {
                std::hint::spin_loop();
            }
            at!("current", shared.get().get(&7));
        });
    },
    |out| out.assert_race(
        Side {
            access: "Read (get) of key 7 in map#1",
            thread: common::TEST_THREAD,
        },
        Side {
            access: "write (insert) of the map's structure",
            thread: "writer",
        },
    )
);

// ---------------------------------------------------------------------------------------------
// The map's own values when the map is dropped or consumed by a thread that did not take them
// out: its owner has acquired everything released into it.

scenario!(
    a_dashmap_dropped_by_the_last_owner_after_others_wrote_its_values_runs_clean,
    {
        let map: Arc<DashMap<u64, Inner>> = Arc::new(DashMap::new());
        map.insert(1, Inner::new());
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            let theirs = Arc::clone(&map);
            writer()
                .spawn_scoped(s, move || {
                    theirs.get_mut(&1).unwrap().insert(5, 5);
                    drop(theirs);
                    told.send(()).unwrap();
                })
                .unwrap();
            heard.recv().unwrap();
            // The last `Arc`: the map, and the tracked map in it, are dropped here.
            drop(map);
        });
    },
    |out| out.assert_clean()
);

scenario!(
    values_taken_out_of_a_consumed_dashmap_after_others_wrote_them_run_clean,
    {
        let map: Arc<DashMap<u64, Inner>> = Arc::new(DashMap::new());
        map.insert(1, Inner::new());
        map.insert(2, Inner::new());
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            let theirs = Arc::clone(&map);
            writer()
                .spawn_scoped(s, move || {
                    theirs.get_mut(&1).unwrap().insert(5, 5);
                    theirs.get_mut(&2).unwrap().insert(6, 6);
                    drop(theirs);
                    told.send(()).unwrap();
                })
                .unwrap();
            heard.recv().unwrap();
        });
        let map = Arc::try_unwrap(map).ok().unwrap();
        let view = map.into_read_only();
        assert_eq!(view.get(&1).unwrap().get(&5), Some(&5));
        let map = view.into_inner();
        let total: usize = map.into_iter().map(|(_, inner)| inner.len()).sum();
        assert_eq!(total, 2);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// iter_mut's items share one exclusive lock: sent to two threads and dropped there, both
// threads' writes are released for the next reader.

scenario!(
    iter_mut_items_written_and_dropped_on_two_threads_are_ordered_for_the_next_reader,
    {
        let map: DashMap<u64, Inner> = DashMap::with_shard_amount(2);
        for k in 0..20 {
            map.insert(k, Inner::new());
        }
        let mut items: Vec<_> = map.iter_mut().collect();
        let second_half = items.split_off(10);
        std::thread::scope(|s| {
            for half in [items, second_half] {
                s.spawn(move || {
                    for mut item in half {
                        let k = *item.key();
                        item.insert(k, k);
                    }
                });
            }
        });
        for k in 0..20 {
            assert_eq!(map.get(&k).unwrap().get(&k), Some(&k));
        }
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// Many threads, many correct operations: no false deadlock, no false race.

/// Prints the marks of this line once, one per label (the mix runs each line thousands of times), then
/// evaluates the expression. The checks of `assert_cta_shapes` collect every mark of a label.
macro_rules! once_at {
    ([$($label:literal),+], $access:expr) => {{
        static MARKED: std::sync::Once = std::sync::Once::new();
        MARKED.call_once(|| {
            $(common::mark($label, file!(), line!());)+
        });
        $access
    }};
}

/// How the mix writes: `Plain`, each write a call of its own (`insert`, `get_mut`, `remove`),
/// which after a check of the same key in an earlier call is a check-then-act by the rule's
/// definition; `Atomic`, each through a form that looks and writes under one guard (an entry,
/// `alter`, `remove_if`), so that no check-then-act is there at all.
#[derive(Clone, Copy, PartialEq)]
enum Acts {
    Plain,
    Atomic,
}

/// Eight threads doing 10k random operations each on 64 shared keys of a DashMap whose values
/// are tracked maps: every access goes through the DashMap's guards, so nothing races and
/// nothing deadlocks. Each line the mix acts from is marked "act" once, each that writes
/// "write", each that looks at a key "check".
fn mixed_operations(acts: Acts) {
    const THREADS: u64 = 8;
    const OPS: u64 = 10_000;
    const KEYS: u64 = 64;
    let map: DashMap<u64, Inner> = DashMap::new();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let map = &map;
            s.spawn(move || {
                let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                for i in 0..OPS {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let k = x % KEYS;
                    match (i % 10, acts) {
                        (0, Acts::Plain) => {
                            let mut inner = Inner::new();
                            inner.insert(0, 1);
                            once_at!(["act", "write"], map.insert(k, inner));
                        }
                        (0, Acts::Atomic) => {
                            let mut inner = Inner::new();
                            inner.insert(0, 1);
                            once_at!(["write", "check"], map.entry(k).insert(inner));
                        }
                        (1 | 2, Acts::Plain) => {
                            let inner = once_at!(["act", "write", "check"], map.get_mut(&k));
                            if let Some(mut inner) = inner {
                                *inner.entry(0).or_insert(0) += 1;
                            }
                        }
                        (1 | 2, Acts::Atomic) => {
                            let entry = once_at!(["write", "check"], map.entry(k));
                            entry.and_modify(|inner| *inner.entry(0).or_insert(0) += 1);
                        }
                        (3, _) => {
                            let entry = once_at!(["write", "check"], map.entry(k));
                            *entry.or_default().entry(1).or_insert(0) += 1;
                        }
                        (4, _) => {
                            let add = |_: &u64, mut inner: Inner| {
                                inner.insert(2, t);
                                inner
                            };
                            once_at!(["write", "check"], map.alter(&k, add));
                        }
                        (5, Acts::Plain) => {
                            once_at!(["act", "write"], map.remove(&k));
                        }
                        (5, Acts::Atomic) => {
                            once_at!(["write", "check"], map.remove_if(&k, |_, _| true));
                        }
                        (6, _) => {
                            let look = |_: &u64, inner: &Inner| inner.get(&0).copied();
                            let _ = once_at!(["check"], map.view(&k, look));
                        }
                        (7, _) if i % 1000 == 7 => {
                            let items = once_at!(["check"], map.iter());
                            std::hint::black_box(items.map(|item| item.len()).sum::<usize>());
                        }
                        _ => {
                            if let Some(inner) = once_at!(["check"], map.get(&k)) {
                                std::hint::black_box(inner.get(&0));
                            }
                            std::hint::black_box(once_at!(["check"], map.contains_key(&(k + 1))));
                        }
                    }
                }
            });
        }
    });
    // Every value is a well-formed tracked map, reachable from here.
    let mut values = 0;
    for item in map.iter() {
        values += 1;
        assert!(item.len() <= 3);
    }
    assert_eq!(values, map.len());
}

scenario!(
    /// With check-then-act off: no race, no deadlock, no report at all.
    eight_threads_doing_10k_mixed_correct_operations_each_run_clean,
    options = "check_then_act=0",
    { mixed_operations(Acts::Plain) },
    |out| out.assert_clean()
);

scenario!(
    /// With every check on, the same mix: it looks at a key in one call and writes it in a later
    /// one (e.g. `contains_key(&(k + 1))`, then `insert(k, ..)`), check-then-act shapes by the
    /// rule's own definition. The program runs to its end (`halt_on_error=0`) and every report
    /// is a check-then-act whose act, other thread's write and check are at lines the mix acts,
    /// writes and looks from, the act and the check by one thread and the write by another; no
    /// race, no deadlock.
    eight_threads_doing_10k_mixed_operations_with_every_check_on_report_only_check_then_act_shapes,
    options = "halt_on_error=0",
    { mixed_operations(Acts::Plain) },
    |out| assert_cta_shapes(&out)
);

scenario!(
    /// With every check on, the mix whose writes are only atomic forms (an entry that looks and
    /// writes, `and_modify`, `alter`, `remove_if`): no check-then-act is there, and nothing at
    /// all is reported.
    eight_threads_doing_10k_mixed_operations_whose_acts_are_atomic_run_clean_with_every_check_on,
    { mixed_operations(Acts::Atomic) },
    |out| out.assert_clean()
);

/// The child ran to its end, reported no race and no deadlock, and each of its reports is a
/// check-then-act whose three sites are marked lines of the right label (see
/// `mixed_operations`), the act and the check by one thread, the write by another. The exit
/// code is 66 if it reported, 0 if not.
fn assert_cta_shapes(out: &common::Outcome) {
    if !maprace::COMPILED_IN {
        return out.assert_clean();
    }
    assert!(
        out.stdout.contains(common::DONE),
        "the scenario did not finish\n{out}"
    );
    for kind in ["WARNING: MAP RACE", "WARNING: MAP DEADLOCK"] {
        assert!(!out.stderr.contains(kind), "unexpected {kind}\n{out}");
    }
    let marked = |label: &str| -> Vec<String> {
        let prefix = format!("maprace-test: site {label} ");
        out.stdout
            .lines()
            .filter_map(|l| {
                l.split_once(&prefix)
                    .map(|(_, site)| format!(" at {site}:"))
            })
            .collect()
    };
    let (acts, writes, checks) = (marked("act"), marked("write"), marked("check"));
    assert!(
        !acts.is_empty() && !writes.is_empty() && !checks.is_empty(),
        "marks\n{out}"
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    let find = |from: usize, starts: &str| {
        (from..lines.len())
            .find(|&i| lines[i].starts_with(starts))
            .unwrap_or_else(|| panic!("no line starting {starts:?} after line {from}\n{out}"))
    };
    let thread = |line: &str| {
        line.split_once("' (T")
            .map(|(name, _)| name.to_owned())
            .unwrap_or_else(|| panic!("no thread in {line:?}\n{out}"))
    };
    let at_one_of = |line: &str, sites: &[String], what: &str| {
        assert!(
            sites.iter().any(|site| line.contains(site.as_str())),
            "{what} not at a line marked for it: {line:?}\n{out}"
        );
    };
    let mut reports = 0;
    for (headline, _) in lines
        .iter()
        .enumerate()
        .filter(|(_, l)| **l == "WARNING: MAP CHECK-THEN-ACT")
    {
        reports += 1;
        let act = headline + 1;
        assert!(
            lines[act].starts_with("Act ("),
            "the act comes first\n{out}"
        );
        at_one_of(lines[act], &acts, "act");
        let write = find(act, "Other thread's write (");
        at_one_of(lines[write], &writes, "other thread's write");
        let check = find(write, "Check (");
        at_one_of(lines[check], &checks, "check");
        let (act_by, write_by, check_by) = (
            thread(lines[act + 1]),
            thread(lines[write + 1]),
            thread(lines[check + 1]),
        );
        assert_eq!(
            act_by, check_by,
            "the act and the check by one thread\n{out}"
        );
        assert_ne!(act_by, write_by, "the write by another thread\n{out}");
    }
    assert_eq!(
        out.stderr.matches("WARNING: MAP").count(),
        reports,
        "every report is a check-then-act\n{out}"
    );
    assert_eq!(
        out.code,
        Some(if reports > 0 { 66 } else { 0 }),
        "exit code\n{out}"
    );
}

// ---------------------------------------------------------------------------------------------
// Every release reaches the next exclusive acquirer: a guard downgraded to a Ref releases into
// its reader's slot, and a map taken back by its owner (`into_read_only().into_inner()`) joins
// the slots without releasing them into the exclusive clocks: the next writer still joins them.

scenario!(
    a_tracked_map_value_read_through_a_downgraded_ref_mut_then_written_elsewhere_runs_clean,
    {
        let map: DashMap<u64, Inner> = DashMap::new();
        map.insert(0, Inner::new());
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            let map = &map;
            reader()
                .spawn_scoped(s, move || {
                    let mut inner = map.get_mut(&0).unwrap();
                    inner.insert(1, 1);
                    let inner = inner.downgrade();
                    assert_eq!(inner.get(&1), Some(&1));
                    drop(inner);
                    told.send(()).unwrap();
                })
                .unwrap();
            writer()
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    map.get_mut(&0).unwrap().insert(1, 2);
                })
                .unwrap();
        });
    },
    |out| out.assert_clean()
);

scenario!(
    a_tracked_map_value_written_around_the_map_after_a_read_through_a_downgraded_ref_mut_is_a_race,
    {
        let map: DashMap<u64, Inner> = DashMap::new();
        map.insert(0, Inner::new());
        map.get_mut(&0).unwrap().insert(1, 1);
        let raw = {
            let mut inner = map.get_mut(&0).unwrap();
            Shared(&mut *inner as *mut Inner)
        };
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            let map = &map;
            reader()
                .spawn_scoped(s, move || {
                    let inner = map.get_mut(&0).unwrap().downgrade();
                    at!("previous", inner.get(&1));
                    drop(inner);
                    told.send(()).unwrap();
                })
                .unwrap();
            writer()
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    // No guard: the bug under test.
                    at!("current", raw.get().insert(1, 2));
                })
                .unwrap();
        });
    },
    |out| out.assert_race(
        Side {
            access: "Write (insert) of key 1 in map#1",
            thread: "writer",
        },
        Side {
            access: "read (get) of key 1",
            thread: "reader",
        },
    )
);

scenario!(
    a_tracked_map_value_read_then_written_after_the_map_went_through_into_read_only_runs_clean,
    {
        let map: DashMap<u64, Inner> = DashMap::new();
        let mut inner = Inner::new();
        inner.insert(1, 1);
        map.insert(0, inner);
        // The writer starts first (a spawn would order it after everything main knew), and the
        // map goes to it through std's channel, which maprace cannot see.
        let (give, take) = mpsc::channel::<DashMap<u64, Inner>>();
        let writing = writer()
            .spawn(move || {
                let map = take.recv().unwrap();
                map.get_mut(&0).unwrap().insert(1, 2);
            })
            .unwrap();
        let map = std::sync::Arc::new(map); // std's: maprace cannot see it
        let (told, heard) = mpsc::channel();
        let reading = {
            let map = std::sync::Arc::clone(&map);
            reader()
                .spawn(move || {
                    assert_eq!(map.get(&0).unwrap().get(&1), Some(&1));
                    drop(map);
                    told.send(()).unwrap();
                })
                .unwrap()
        };
        heard.recv().unwrap();
        let map = std::sync::Arc::try_unwrap(map).ok().unwrap();
        let map = map.into_read_only().into_inner();
        give.send(map).unwrap();
        writing.join().unwrap();
        reading.join().unwrap();
    },
    |out| out.assert_clean()
);

scenario!(
    a_tracked_map_value_written_around_the_map_after_it_went_through_into_read_only_is_a_race,
    {
        let map: DashMap<u64, Inner> = DashMap::new();
        let mut inner = Inner::new();
        inner.insert(1, 1);
        map.insert(0, inner);
        let raw = {
            let mut inner = map.get_mut(&0).unwrap();
            Shared(&mut *inner as *mut Inner)
        };
        let (give, take) = mpsc::channel::<()>();
        let writing = writer()
            .spawn(move || {
                take.recv().unwrap();
                // No guard, and the map not handed over: the bug under test.
                at!("current", raw.get().insert(1, 2));
            })
            .unwrap();
        let map = std::sync::Arc::new(map);
        let (told, heard) = mpsc::channel();
        let reading = {
            let map = std::sync::Arc::clone(&map);
            reader()
                .spawn(move || {
                    let inner = map.get(&0).unwrap();
                    at!("previous", inner.get(&1));
                    drop(inner);
                    drop(map);
                    told.send(()).unwrap();
                })
                .unwrap()
        };
        heard.recv().unwrap();
        let map = std::sync::Arc::try_unwrap(map).ok().unwrap();
        let map = map.into_read_only().into_inner();
        give.send(()).unwrap();
        writing.join().unwrap();
        reading.join().unwrap();
        drop(map);
    },
    |out| out.assert_race(
        Side {
            access: "Write (insert) of key 1 in map#1",
            thread: "writer",
        },
        Side {
            access: "read (get) of key 1",
            thread: "reader",
        },
    )
);
