//! Check-then-act on a `maprace::DashMap` (issue 14): each call takes its key's shard lock, so
//! a check in one call and an act in the next are two critical sections, and another thread's
//! write can land between them. As in `check_then_act.rs`, the other thread's write is made to
//! land between (std channels, which maprace does not see); each report names the act, the
//! write and the check; each twin, fixed as a user would, runs clean.

#![cfg(feature = "dashmap")]

mod common;
use common::{act, between, writer};
use maprace::DashMap;
use maprace::sync::Arc;

fn fetch(url: &str) -> String {
    format!("<page {url}>")
}

fn cache() -> Arc<DashMap<String, String>> {
    let cache = Arc::new(DashMap::new());
    cache.insert("/index".to_owned(), "<html>".to_owned());
    cache
}

scenario!(
    /// The second example: `if !cache.contains_key(&url) { cache.insert(url, ..) }`.
    contains_then_insert_on_a_dashmap_is_reported,
    {
        let cache = cache();
        let other = Arc::clone(&cache);
        let url = "/about";
        between(
            || at!("check", cache.contains_key(url)),
            move || _ = at!("write", other.insert(url.to_owned(), fetch(url))),
            |present| {
                if !present {
                    at!("act", cache.insert(url.to_owned(), fetch(url)));
                }
            },
        );
    },
    |out| out.assert_check_then_act(
        act("Act (insert) of key \"/about\" in map#1 (DashMap<String, String>)"),
        writer("write (insert) of key \"/about\""),
        "Check (contains_key) of key \"/about\", found absent",
    )
);

scenario!(
    contains_then_insert_on_an_empty_dashmap_is_reported,
    {
        let cache: Arc<DashMap<String, String>> = Arc::default();
        let other = Arc::clone(&cache);
        let url = "/about";
        between(
            || at!("check", cache.contains_key(url)),
            move || _ = at!("write", other.insert(url.to_owned(), fetch(url))),
            |present| {
                if !present {
                    at!("act", cache.insert(url.to_owned(), fetch(url)));
                }
            },
        );
    },
    |out| out.assert_check_then_act(
        act("Act (insert) of key \"/about\" in map#1"),
        writer("write (insert) of key \"/about\""),
        "Check (contains_key) of key \"/about\", found absent",
    )
);

scenario!(
    initialising_a_dashmap_entry_with_or_insert_with_runs_clean,
    {
        let cache = cache();
        let other = Arc::clone(&cache);
        let url = "/about";
        between(
            || cache.contains_key(url),
            move || _ = other.insert(url.to_owned(), "fresher".to_owned()),
            |present| {
                if !present {
                    cache.entry(url.to_owned()).or_insert_with(|| fetch(url));
                }
            },
        );
        assert_eq!(*cache.get(url).unwrap(), "fresher");
    },
    |out| out.assert_clean()
);

fn counts() -> Arc<DashMap<u64, u64>> {
    let counts = Arc::new(DashMap::new());
    counts.insert(7, 0);
    counts
}

scenario!(
    a_dashmap_counter_read_then_written_in_two_calls_is_reported,
    {
        let counts = counts();
        let other = Arc::clone(&counts);
        between(
            || at!("check", counts.get(&7)).map(|n| *n).unwrap_or(0),
            move || _ = at!("write", other.insert(7, 100)),
            |n| at!("act", counts.insert(7, n + 1)),
        );
    },
    |out| out.assert_check_then_act(
        act("Act (insert) of key 7 in map#1 (DashMap<u64, u64>)"),
        writer("write (insert) of key 7"),
        "Check (get) of key 7, found present",
    )
);

scenario!(
    a_dashmap_counter_read_then_written_through_get_mut_is_reported,
    {
        let counts = counts();
        let other = Arc::clone(&counts);
        between(
            || at!("check", counts.view(&7, |_, n| *n)).unwrap_or(0),
            move || _ = at!("write", other.insert(7, 100)),
            |n| *at!("act", counts.get_mut(&7)).unwrap() = n + 1,
        );
    },
    |out| out.assert_check_then_act(
        act("Act (get_mut) of key 7 in map#1"),
        writer("write (insert) of key 7"),
        "Check (view) of key 7, found present",
    )
);

scenario!(
    a_dashmap_counter_updated_with_entry_alter_or_a_ref_mut_runs_clean,
    {
        let counts = counts();
        let other = Arc::clone(&counts);
        between(
            || {
                let seen = counts.get(&7).map(|n| *n); // for a log line, say
                *counts.entry(7).or_insert(0) += 1;
                seen
            },
            move || _ = other.insert(7, 100),
            |_| {
                counts.alter(&7, |_, n| n + 1);
                *counts.get_mut(&7).unwrap() += 1;
                counts.entry(7).and_modify(|n| *n += 1).or_insert(1);
            },
        );
        assert_eq!(*counts.get(&7).unwrap(), 103);
    },
    |out| out.assert_clean()
);

scenario!(
    get_then_remove_on_a_dashmap_is_reported,
    {
        let sessions: Arc<DashMap<u64, u64>> = Arc::new(DashMap::from_iter([(1, 0)]));
        let other = Arc::clone(&sessions);
        between(
            || at!("check", sessions.get(&1)).map(|age| *age) == Some(0),
            move || _ = at!("write", other.insert(1, 9)), // renewed
            |expired| {
                if expired {
                    at!("act", sessions.remove(&1));
                }
            },
        );
    },
    |out| out.assert_check_then_act(
        act("Act (remove) of key 1 in map#1"),
        writer("write (insert) of key 1"),
        "Check (get) of key 1, found present",
    )
);

scenario!(
    get_then_remove_if_on_a_dashmap_runs_clean,
    {
        let sessions: Arc<DashMap<u64, u64>> = Arc::new(DashMap::from_iter([(1, 0)]));
        let other = Arc::clone(&sessions);
        between(
            || sessions.get(&1).map(|age| *age) == Some(0),
            move || _ = other.insert(1, 9),
            |expired| {
                if expired {
                    sessions.remove_if(&1, |_, age| *age == 0);
                }
            },
        );
        assert_eq!(sessions.get(&1).map(|age| *age), Some(9), "renewed, kept");
    },
    |out| out.assert_clean()
);

scenario!(
    /// Eight threads update shared keys of one DashMap with the entry API and `alter` (and read
    /// them between updates), 100,000 operations in all.
    eight_threads_doing_entry_api_updates_on_a_dashmap_run_clean,
    {
        let counts: Arc<DashMap<u64, u64>> = Arc::default();
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let counts = Arc::clone(&counts);
                std::thread::spawn(move || {
                    let mut updates = 0;
                    for i in 0..12_500u64 {
                        let key = (t + i) % 16;
                        match i % 4 {
                            0 => drop(counts.get(&key).map(|n| *n)),
                            1 => *counts.entry(key).or_insert(0) += 1,
                            2 => drop(counts.entry(key).and_modify(|n| *n += 1).or_insert(1)),
                            _ => {
                                drop(counts.entry(key).or_insert(0));
                                counts.alter(&key, |_, n| n + 1);
                            }
                        }
                        updates += u64::from(i % 4 != 0);
                    }
                    updates
                })
            })
            .collect();
        let updates: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        let total: u64 = counts.iter().map(|r| *r.value()).sum();
        assert_eq!(total, updates);
    },
    |out| out.assert_clean()
);

scenario!(
    /// An iteration is a check of every key it visits: a scan that picks expired sessions, then
    /// removes them one call each.
    a_dashmap_scan_then_remove_is_reported,
    {
        let sessions: Arc<DashMap<u64, u64>> = Arc::new(DashMap::from_iter([(1, 0), (2, 5)]));
        let other = Arc::clone(&sessions);
        between(
            || {
                let mut expired = Vec::new();
                for session in at!("check", sessions.iter()) {
                    if *session.value() == 0 {
                        expired.push(*session.key());
                    }
                }
                expired
            },
            move || _ = at!("write", other.insert(1, 9)), // renewed
            |expired| {
                for id in expired {
                    at!("act", sessions.remove(&id));
                }
            },
        );
    },
    |out| {
        out.assert_check_then_act(
            act("Act (remove) of key 1 in map#1"),
            writer("write (insert) of key 1"),
            "Check (iter) of key 1, found present",
        );
        if maprace::COMPILED_IN {
            // The act is checked inside dashmap's `remove_if`: the stack starts at the user's
            // frame all the same, with dashmap's and maprace's own frames cut.
            let lines: Vec<&str> = out.stderr.lines().collect();
            let act = lines.iter().position(|l| l.starts_with("Act (remove)")).unwrap();
            assert!(
                lines[act + 2].starts_with(
                    "    dashmap_check_then_act::a_dashmap_scan_then_remove_is_reported::"
                ),
                "the first frame\n{out}"
            );
        }
    }
);

scenario!(
    a_dashmap_entry_dropped_vacant_then_an_insert_is_reported,
    {
        let cache = cache();
        let other = Arc::clone(&cache);
        let url = "/about";
        between(
            || {
                let entry = at!("check", cache.entry(url.to_owned()));
                matches!(entry, maprace::dashmap::mapref::entry::Entry::Vacant(_))
            },
            move || _ = at!("write", other.insert(url.to_owned(), fetch(url))),
            |vacant| {
                if vacant {
                    at!("act", cache.insert(url.to_owned(), fetch(url)));
                }
            },
        );
    },
    |out| out.assert_check_then_act(
        act("Act (insert) of key \"/about\" in map#1"),
        writer("write (insert) of key \"/about\""),
        "Check (entry) of key \"/about\", found absent",
    )
);

scenario!(
    a_dashmap_try_get_then_insert_is_reported,
    {
        let counts = counts();
        let other = Arc::clone(&counts);
        between(
            || {
                at!("check", counts.try_get(&7))
                    .try_unwrap()
                    .map(|n| *n)
                    .unwrap_or(0)
            },
            move || _ = at!("write", other.insert(7, 100)),
            |n| at!("act", counts.insert(7, n + 1)),
        );
    },
    |out| out.assert_check_then_act(
        act("Act (insert) of key 7 in map#1"),
        writer("write (insert) of key 7"),
        "Check (try_get) of key 7, found present",
    )
);

// ---------------------------------------------------------------------------------------------
// Never reported (issue 14, point 2), each with the other thread's write between this thread's
// two calls, as in the scenarios above.

scenario!(
    /// One guard across the check and the act: a `RefMut`, or an entry matched on.
    a_dashmap_check_and_act_under_one_guard_run_clean,
    {
        let counts = counts();
        let other = Arc::clone(&counts);
        let increment = |counts: &DashMap<u64, u64>| {
            let mut n = counts.get_mut(&7).unwrap();
            let seen = *n;
            *n = seen + 1;
        };
        let init = |counts: &DashMap<u64, u64>| match counts.entry(8) {
            maprace::dashmap::mapref::entry::Entry::Occupied(mut e) => *e.get_mut() += 1,
            maprace::dashmap::mapref::entry::Entry::Vacant(e) => _ = e.insert(1),
        };
        between(
            || {
                increment(&counts);
                init(&counts);
            },
            move || {
                other.insert(7, 100);
                other.insert(8, 100);
            },
            |()| {
                increment(&counts);
                init(&counts);
            },
        );
        assert_eq!((*counts.get(&7).unwrap(), *counts.get(&8).unwrap()), (101, 101));
    },
    |out| out.assert_clean()
);

scenario!(
    /// This thread never looked at the key: its second write is blind.
    a_blind_dashmap_write_runs_clean,
    {
        let counts = counts();
        let other = Arc::clone(&counts);
        between(
            || _ = counts.insert(7, 1),
            move || _ = other.insert(7, 100),
            |()| _ = counts.insert(7, 2),
        );
    },
    |out| out.assert_clean()
);

scenario!(
    /// Each thread touches its own keys (on one shard or another).
    threads_that_touch_their_own_dashmap_keys_run_clean,
    {
        let counts = counts();
        counts.insert(8, 0);
        let other = Arc::clone(&counts);
        between(
            || counts.get(&7).map(|n| *n).unwrap_or(0),
            move || _ = other.insert(8, 100),
            |n| _ = counts.insert(7, n + 1),
        );
    },
    |out| out.assert_clean()
);

scenario!(
    /// The other thread's write comes before the check: the check saw it.
    a_dashmap_write_ordered_before_the_check_runs_clean,
    {
        let counts = counts();
        let other = Arc::clone(&counts);
        let (written, wait_write) = std::sync::mpsc::channel::<()>();
        let writer = std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || {
                other.insert(7, 100);
                written.send(()).unwrap();
            })
            .unwrap();
        wait_write.recv().unwrap(); // std's: maprace sees only the shard's lock
        let n = counts.get(&7).map(|n| *n).unwrap_or(0);
        counts.insert(7, n + 1);
        writer.join().unwrap();
        assert_eq!(*counts.get(&7).unwrap(), 101);
    },
    |out| out.assert_clean()
);

scenario!(
    /// This thread looks at the key again right before writing it.
    a_dashmap_check_repeated_before_the_act_runs_clean,
    {
        let counts = counts();
        let other = Arc::clone(&counts);
        between(
            || counts.get(&7).map(|n| *n),
            move || _ = other.insert(7, 100),
            |_| {
                let n = counts.get(&7).map(|n| *n).unwrap_or(0);
                counts.insert(7, n + 1);
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    /// As above, the key looked at again by an iteration (which visits it) rather than a lookup.
    a_dashmap_check_repeated_by_an_iteration_before_the_act_runs_clean,
    {
        let counts = counts();
        let other = Arc::clone(&counts);
        between(
            || counts.get(&7).map(|n| *n),
            move || _ = other.insert(7, 100),
            |_| {
                let total: u64 = counts.iter().map(|n| *n).sum();
                counts.insert(7, total + 1);
            },
        );
        assert_eq!(*counts.get(&7).unwrap(), 101);
    },
    |out| out.assert_clean()
);

scenario!(
    /// This thread's check was followed by its own write of the key (through the entry, or a
    /// RefMut), and its later write is blind (see `check_then_act.rs`).
    a_blind_dashmap_write_after_a_check_and_this_threads_own_write_runs_clean,
    {
        let counts = counts();
        let other = Arc::clone(&counts);
        between(
            || {
                *counts.entry(7).or_insert(0) += 1;
                if !counts.contains_key(&8) {
                    counts.insert(8, 1);
                }
                let seen = counts.get(&9).map(|n| *n);
                *counts.entry(9).or_insert(0) += seen.unwrap_or(1);
            },
            move || {
                other.insert(7, 100);
                other.insert(8, 100);
                other.insert(9, 100);
            },
            |()| {
                counts.insert(7, 0);
                counts.insert(8, 0);
                counts.remove(&9);
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    /// This thread joined the writer before it acts: the join, not the shard's lock, orders the
    /// write before the act.
    a_dashmap_write_learned_through_a_join_runs_clean,
    {
        let counts = counts();
        let other = Arc::clone(&counts);
        let n = counts.get(&7).map(|n| *n).unwrap_or(0);
        std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || _ = other.insert(7, 100))
            .unwrap()
            .join()
            .unwrap();
        counts.insert(7, n + 1);
    },
    |out| out.assert_clean()
);

scenario!(
    /// The writer tells this thread through a maprace channel after its write, and this thread
    /// waits for it before the act.
    a_dashmap_write_learned_through_a_channel_runs_clean,
    {
        let counts = counts();
        let other = Arc::clone(&counts);
        let (written, wait_write) = maprace::sync::mpsc::channel::<()>();
        let n = counts.get(&7).map(|n| *n).unwrap_or(0);
        let writer = std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || {
                other.insert(7, 100);
                written.send(()).unwrap();
            })
            .unwrap();
        wait_write.recv().unwrap();
        counts.insert(7, n + 1);
        writer.join().unwrap();
    },
    |out| out.assert_clean()
);

scenario!(
    check_then_act_0_turns_the_dashmap_report_off,
    options = "check_then_act=0",
    {
        let counts = counts();
        let other = Arc::clone(&counts);
        between(
            || counts.get(&7).map(|n| *n).unwrap_or(0),
            move || _ = other.insert(7, 100),
            |n| _ = counts.insert(7, n + 1),
        );
    },
    |out| out.assert_clean()
);
