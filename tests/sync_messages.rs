//! Hand-offs without a lock: `maprace::sync::mpsc` messages, atomics (and fences), the
//! once-initialization family, and `maprace::annotate`. Each synchronized program runs clean;
//! its misusing twin is reported with both sites.

mod common;
use maprace::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use maprace::sync::{LazyLock, Once, OnceLock, mpsc};

type Map = maprace::HashMap<u32, u32>;

scenario!(
    an_insert_then_a_send_then_a_recv_runs_clean,
    {
        let (tx, rx) = mpsc::channel();
        let mut map = Map::new();
        common::unordered(
            &mut map,
            move |m| {
                m.insert(1, 1);
                tx.send(()).unwrap();
            },
            |m| {
                rx.recv().unwrap();
                m.get(&1);
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    a_send_before_the_insert_is_reported,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        let mut map = Map::new();
        common::unordered(
            &mut map,
            move |m| {
                tx.send(()).unwrap();
                at!("previous", m.insert(1, 1));
            },
            |m| {
                rx.recv().unwrap();
                at!("current", m.get(&1));
            },
        );
    },
    |out| out.assert_get_after_insert()
);

scenario!(
    each_message_carries_only_its_own_senders_clock,
    {
        // Message 1 is sent before the insert, message 2 by another thread after it: receiving
        // both orders this thread after neither insert (a channel-wide clock would hide it).
        // A third sender stays alive: the channel never disconnects, which would be an edge
        // from the writer's drop of its sender, made after its insert.
        let (tx, rx) = mpsc::channel();
        let (tx2, _kept) = (tx.clone(), tx.clone());
        let mut map = Map::new();
        common::unordered(
            &mut map,
            move |m| {
                tx.send(1).unwrap();
                at!("previous", m.insert(1, 1));
            },
            move |m| {
                std::thread::spawn(move || tx2.send(2).unwrap())
                    .join()
                    .unwrap();
                assert_eq!(rx.iter().take(2).collect::<Vec<_>>(), [1, 2]);
                assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Empty));
                at!("current", m.get(&1));
            },
        );
    },
    |out| out.assert_get_after_insert()
);

scenario!(
    recv_timeout_try_recv_and_the_iterators_acquire,
    {
        let (tx, rx) = mpsc::channel();
        let mut maps: Vec<Map> = (0..4).map(|_| Map::new()).collect();
        let shared = common::Shared(&mut maps as *mut Vec<Map>);
        let sender = std::thread::spawn(move || {
            let shared = shared;
            for i in 0..4 {
                shared.get()[i].insert(1, 1);
                tx.send(i).unwrap();
            }
        });
        let first = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
        maps[first].get(&1);
        let second = loop {
            if let Ok(i) = rx.try_recv() {
                break i;
            }
        };
        maps[second].get(&1);
        for i in &rx {
            maps[i].get(&1);
        }
        sender.join().unwrap();
    },
    |out| out.assert_clean()
);

scenario!(
    a_recv_that_finds_every_sender_gone_runs_clean,
    {
        // The sender's drop happens before the receive that reports the channel disconnected.
        let (tx, rx) = mpsc::channel::<()>();
        let mut map = Map::new();
        common::unordered(
            &mut map,
            move |m| {
                m.insert(1, 1);
                drop(tx);
            },
            |m| {
                assert!(rx.recv().is_err());
                assert!(rx.try_recv() == Err(mpsc::TryRecvError::Disconnected));
                m.get(&1);
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    a_recv_that_finds_the_senders_gone_is_not_ordered_after_an_insert_made_after_the_drop,
    {
        let (tx, rx) = mpsc::channel::<()>();
        let mut map = Map::new();
        common::unordered(
            &mut map,
            move |m| {
                drop(tx);
                at!("previous", m.insert(1, 1));
            },
            |m| {
                assert!(rx.recv().is_err());
                at!("current", m.get(&1));
            },
        );
    },
    |out| out.assert_get_after_insert()
);

scenario!(
    a_send_that_finds_the_receiver_gone_runs_clean,
    {
        let (tx, rx) = mpsc::sync_channel::<()>(1);
        let mut map = Map::new();
        common::unordered(
            &mut map,
            move |m| {
                m.insert(1, 1);
                drop(rx);
            },
            |m| {
                assert!(tx.send(()).is_err());
                assert!(tx.try_send(()).is_err());
                m.get(&1);
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    a_message_dropped_undelivered_with_the_channel_runs_clean,
    {
        // The map in the box never moves: its drop, by the receiver's drop on this thread, is
        // ordered after the sender's insert by the channel alone (the message was sent first).
        let (tx, rx) = mpsc::channel::<Box<Map>>();
        let mut unused = Map::new();
        common::unordered(
            &mut unused,
            move |_| {
                let mut boxed = Box::new(Map::new());
                boxed.insert(1, 1);
                tx.send(boxed).unwrap();
            },
            |_| drop(rx),
        );
    },
    |out| out.assert_clean()
);

/// The writer inserts, then sets a flag with `store`; this thread waits for it with `load`.
fn flag_handoff(store: Ordering, load: Ordering) {
    let flag = AtomicBool::new(false);
    let mut map = Map::new();
    common::unordered(
        &mut map,
        |m| {
            at!("previous", m.insert(1, 1));
            flag.store(true, store);
        },
        |m| {
            while !flag.load(load) {
                std::hint::spin_loop();
            }
            at!("current", m.get(&1));
        },
    );
}

scenario!(
    a_release_store_and_an_acquire_load_run_clean,
    { flag_handoff(Ordering::Release, Ordering::Acquire) },
    |out| out.assert_clean()
);

scenario!(
    seq_cst_store_and_load_run_clean,
    { flag_handoff(Ordering::SeqCst, Ordering::SeqCst) },
    |out| out.assert_clean()
);

scenario!(
    a_relaxed_flag_is_reported,
    { flag_handoff(Ordering::Relaxed, Ordering::Acquire) },
    |out| out.assert_get_after_insert()
);

scenario!(
    a_release_store_read_with_a_relaxed_load_is_reported,
    { flag_handoff(Ordering::Release, Ordering::Relaxed) },
    |out| out.assert_get_after_insert()
);

scenario!(
    relaxed_accesses_between_release_and_acquire_fences_run_clean,
    {
        let flag = AtomicBool::new(false);
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| {
                m.insert(1, 1);
                fence(Ordering::Release);
                flag.store(true, Ordering::Relaxed);
            },
            |m| {
                while !flag.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
                fence(Ordering::Acquire);
                m.get(&1);
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    a_compare_exchange_and_a_fetch_add_hand_over_their_clocks,
    {
        let turn = AtomicUsize::new(0);
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| {
                m.insert(1, 1);
                turn.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
                    .unwrap();
                m.insert(2, 2);
                turn.fetch_add(1, Ordering::Release);
            },
            |m| {
                while turn
                    .fetch_update(Ordering::Relaxed, Ordering::Acquire, |t| {
                        (t == 2).then_some(3)
                    })
                    .is_err()
                {}
                m.get(&1);
                m.get(&2);
            },
        );
    },
    |out| out.assert_clean()
);

/// The writer inserts, release-stores 1 into the flag, then `after` (which leaves 2 in it);
/// this thread waits for 2 with an Acquire load, then reads the key.
fn flag_then(after: impl FnOnce(&AtomicUsize) + Send) {
    let flag = AtomicUsize::new(0);
    let mut map = Map::new();
    common::unordered(
        &mut map,
        |m| {
            at!("previous", m.insert(1, 1));
            flag.store(1, Ordering::Release);
            after(&flag);
        },
        |m| {
            while flag.load(Ordering::Acquire) != 2 {
                std::hint::spin_loop();
            }
            at!("current", m.get(&1));
        },
    );
}

scenario!(
    a_relaxed_read_modify_write_continues_the_release_sequence_and_runs_clean,
    {
        // The load reads the fetch_add's 2, which is in the release sequence of the store of 1.
        flag_then(|flag| {
            flag.fetch_add(1, Ordering::Relaxed);
        })
    },
    |out| out.assert_clean()
);

scenario!(
    a_relaxed_store_ends_the_release_sequence_and_is_reported,
    {
        // A plain Relaxed store of 2 is no part of the store of 1's release sequence (the
        // memory model since C++20, which Rust's follows): the load that reads it synchronizes
        // with nothing, so the insert is unordered with the get.
        flag_then(|flag| flag.store(2, Ordering::Relaxed))
    },
    |out| out.assert_get_after_insert()
);

scenario!(
    a_failed_compare_exchange_releases_nothing,
    {
        let turn = AtomicUsize::new(5);
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| {
                at!("previous", m.insert(1, 1));
                assert!(
                    turn.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
                        .is_err()
                );
            },
            |m| {
                assert_eq!(turn.load(Ordering::Acquire), 5);
                at!("current", m.get(&1));
            },
        );
    },
    |out| out.assert_get_after_insert()
);

/// Side effects of a one-time initialization on another map, read by a thread that sees the
/// initialization done (`get`): ordered by maprace's `OnceLock`, not by std's.
fn once_lock_side_effects<const STD: bool>() {
    static VISIBLE: OnceLock<u32> = OnceLock::new();
    static INVISIBLE: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let mut map = Map::new();
    common::unordered(
        &mut map,
        |m| {
            let init = || at!("previous", m.insert(1, 1)).unwrap_or(7);
            if STD {
                INVISIBLE.get_or_init(init);
            } else {
                VISIBLE.get_or_init(init);
            }
        },
        |m| {
            if STD {
                assert_eq!(INVISIBLE.get(), Some(&7));
            } else {
                assert_eq!(VISIBLE.get(), Some(&7));
            }
            at!("current", m.get(&1));
        },
    );
}

scenario!(
    a_once_lock_initialization_happens_before_every_get,
    { once_lock_side_effects::<false>() },
    |out| out.assert_clean()
);

scenario!(
    std_once_lock_initialization_is_invisible_and_reported,
    { once_lock_side_effects::<true>() },
    |out| out.assert_get_after_insert()
);

scenario!(
    a_once_initialized_static_map_runs_clean,
    {
        static PORTS: LazyLock<maprace::HashMap<&str, u16>> = LazyLock::new(|| {
            let mut map = maprace::HashMap::new();
            map.insert("http", 80);
            map
        });
        static NAMES: OnceLock<maprace::HashMap<u16, &str>> = OnceLock::new();
        let other = std::thread::spawn(|| {
            let names = NAMES.get_or_init(|| maprace::HashMap::from([(80, "http")]));
            (PORTS["http"], names.len())
        });
        while NAMES.get().is_none() {
            std::hint::spin_loop();
        }
        assert_eq!(NAMES.wait()[&80], "http");
        assert_eq!(PORTS.get("http"), Some(&80));
        assert_eq!(other.join().unwrap(), (80, 1));
    },
    |out| out.assert_clean()
);

scenario!(
    once_call_once_happens_before_is_completed,
    {
        static INIT: Once = Once::new();
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| {
                INIT.call_once(|| {
                    m.insert(1, 1);
                })
            },
            |m| {
                assert!(INIT.is_completed());
                m.get(&1);
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    a_once_initializer_that_panicked_happens_before_the_forced_one,
    {
        // The poisoned `Once` orders the panicked attempt before the next one, in std too.
        let once = Once::new();
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| {
                let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    once.call_once(|| {
                        m.insert(1, 1);
                        panic!("the first initializer fails after its insert");
                    })
                }));
                assert!(failed.is_err());
            },
            |m| {
                once.call_once_force(|state| {
                    assert!(state.is_poisoned());
                    m.get(&1);
                });
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    a_once_lock_initializer_that_panicked_happens_before_the_next_one,
    {
        let cell = OnceLock::new();
        let mut map = Map::new();
        common::unordered(
            &mut map,
            |m| {
                let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    cell.get_or_init(|| {
                        m.insert(1, 1);
                        panic!("the first initializer fails after its insert");
                    })
                }));
                assert!(failed.is_err());
            },
            |m| {
                assert_eq!(*cell.get_or_init(|| m.get(&1).copied().unwrap_or(0)), 1);
            },
        );
    },
    |out| out.assert_clean()
);

/// A std `AtomicBool` flag, which maprace cannot see, made visible (or not) with `annotate`.
fn annotated_flag(annotate: bool) {
    let flag = std::sync::atomic::AtomicBool::new(false);
    let mut map = Map::new();
    common::unordered(
        &mut map,
        |m| {
            at!("previous", m.insert(1, 1));
            if annotate {
                maprace::annotate::release(&flag);
            }
            flag.store(true, std::sync::atomic::Ordering::Release);
        },
        |m| {
            while !flag.load(std::sync::atomic::Ordering::Acquire) {
                std::hint::spin_loop();
            }
            if annotate {
                maprace::annotate::acquire(&flag);
            }
            at!("current", m.get(&1));
        },
    );
}

scenario!(
    a_std_flag_with_annotate_release_and_acquire_runs_clean,
    { annotated_flag(true) },
    |out| out.assert_clean()
);

scenario!(
    a_std_flag_without_annotations_is_reported,
    { annotated_flag(false) },
    |out| {
        out.assert_get_after_insert();
        if maprace::COMPILED_IN {
            assert!(
                out.stderr.contains("maprace::annotate::{release, acquire}"),
                "{out}"
            );
        }
    }
);
