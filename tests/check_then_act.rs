//! Check-then-act (issue 14): a thread checks a key in one critical section and acts on it in a
//! later one, while another thread wrote the key in between. Each scenario makes the other
//! thread's write land between the check and the act (the turns are told through std channels,
//! which maprace does not see: the only order it sees between the threads is the lock), and is
//! reported with the act, the other thread's write and the check, each at its site; its twin,
//! written as a user would fix it, runs clean. Then every case that must never be reported.

// The twins check and insert under one guard on purpose (the fix a user makes first); with
// the detector compiled out the map is std's, and clippy's `map_entry` would have them use the
// entry API, the other fix, which has twins of its own.
#![allow(clippy::map_entry)]

mod common;
use common::{act, between, writer};
use maprace::collections::hash_map::Entry;
use maprace::sync::{Arc, Mutex, RwLock};
use std::sync::mpsc;

type Map = maprace::HashMap<u64, u64>;

// ---------------------------------------------------------------------------------------------
// Read-then-write of a counter across two critical sections.

fn counter() -> Arc<Mutex<Map>> {
    let counts = Arc::new(Mutex::new(Map::new()));
    counts.lock().unwrap().insert(7, 0);
    counts
}

scenario!(
    a_counter_read_in_one_critical_section_and_written_in_the_next_is_reported,
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        between(
            || at!("check", counts.lock().unwrap().get(&7).copied()).unwrap_or(0),
            move || _ = at!("write", other.lock().unwrap().insert(7, 100)),
            |n| at!("act", counts.lock().unwrap().insert(7, n + 1)),
        );
    },
    |out| out.assert_check_then_act(
        act("Act (insert) of key 7 in map#1 (HashMap<u64, u64>)"),
        writer("write (insert) of key 7"),
        "Check (get) of key 7, found present",
    )
);

scenario!(
    a_counter_updated_under_one_guard_runs_clean,
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        between(
            || {
                let mut map = counts.lock().unwrap();
                let n = map.get(&7).copied().unwrap_or(0);
                map.insert(7, n + 1);
            },
            move || _ = other.lock().unwrap().insert(7, 100),
            |()| {
                let mut map = counts.lock().unwrap();
                let n = map.get(&7).copied().unwrap_or(0);
                map.insert(7, n + 1);
            },
        );
        assert_eq!(counts.lock().unwrap()[&7], 101);
    },
    |out| out.assert_clean()
);

scenario!(
    a_counter_updated_with_the_entry_api_runs_clean,
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        between(
            || *counts.lock().unwrap().entry(7).or_insert(0) += 1,
            move || _ = other.lock().unwrap().insert(7, 100),
            |()| *counts.lock().unwrap().entry(7).or_insert(0) += 1,
        );
        assert_eq!(counts.lock().unwrap()[&7], 101);
    },
    |out| out.assert_clean()
);

scenario!(
    /// Both threads run the same buggy increment, the other thread's whole increment between this
    /// thread's check and act: the other thread's read of the key does not hide this one's check.
    two_threads_running_the_same_read_then_write_increment_are_reported,
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        between(
            || at!("check", counts.lock().unwrap().get(&7).copied()).unwrap_or(0),
            move || {
                let n = other.lock().unwrap().get(&7).copied().unwrap_or(0);
                at!("write", other.lock().unwrap().insert(7, n + 1));
            },
            |n| at!("act", counts.lock().unwrap().insert(7, n + 1)),
        );
    },
    |out| out.assert_check_then_act(
        act("Act (insert) of key 7 in map#1"),
        writer("write (insert) of key 7"),
        "Check (get) of key 7, found present",
    )
);

scenario!(
    a_get_mut_write_in_the_critical_section_after_the_read_is_reported,
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        between(
            || at!("check", counts.lock().unwrap().get(&7).copied()).unwrap_or(0),
            move || _ = at!("write", other.lock().unwrap().insert(7, 100)),
            |n| {
                let mut map = counts.lock().unwrap();
                *at!("act", map.get_mut(&7)).unwrap() = n + 1;
            },
        );
    },
    |out| out.assert_check_then_act(
        act("Act (get_mut) of key 7 in map#1"),
        writer("write (insert) of key 7"),
        "Check (get) of key 7, found present",
    )
);

scenario!(
    a_get_mut_increment_in_one_critical_section_runs_clean,
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        between(
            || *counts.lock().unwrap().get_mut(&7).unwrap() += 1,
            move || _ = other.lock().unwrap().insert(7, 100),
            |()| *counts.lock().unwrap().get_mut(&7).unwrap() += 1,
        );
        assert_eq!(counts.lock().unwrap()[&7], 101);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// Contains-then-insert initialisation, and get-then-remove.

/// A cache of pages by URL that already holds one.
fn cache() -> Arc<Mutex<maprace::HashMap<String, String>>> {
    let pages = Arc::new(Mutex::new(maprace::HashMap::new()));
    pages
        .lock()
        .unwrap()
        .insert("/index".to_owned(), "<html>".to_owned());
    pages
}

fn fetch(url: &str) -> String {
    format!("<page {url}>")
}

scenario!(
    contains_then_insert_initialisation_is_reported,
    {
        let pages = cache();
        let other = Arc::clone(&pages);
        let url = "/about";
        between(
            || at!("check", pages.lock().unwrap().contains_key(url)),
            move || {
                let mut map = other.lock().unwrap();
                _ = at!("write", map.insert(url.to_owned(), fetch(url)));
            },
            |present| {
                if !present {
                    let page = fetch(url);
                    at!("act", pages.lock().unwrap().insert(url.to_owned(), page));
                }
            },
        );
    },
    |out| out.assert_check_then_act(
        act("Act (insert) of key \"/about\" in map#1 (HashMap<String, String>)"),
        writer("write (insert) of key \"/about\""),
        "Check (contains_key) of key \"/about\", found absent",
    )
);

scenario!(
    /// The same on a map that is still empty at the check: it hashes no key then (as std's), and
    /// the check is known by the key's value.
    contains_then_insert_on_an_empty_map_is_reported,
    {
        let pages: Arc<Mutex<maprace::HashMap<String, String>>> = Arc::default();
        let other = Arc::clone(&pages);
        let url = "/about";
        between(
            || at!("check", pages.lock().unwrap().contains_key(url)),
            move || _ = at!("write", other.lock().unwrap().insert(url.to_owned(), fetch(url))),
            |present| {
                if !present {
                    let page = fetch(url);
                    at!("act", pages.lock().unwrap().insert(url.to_owned(), page));
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
    a_get_miss_then_insert_is_reported,
    {
        let pages = cache();
        let other = Arc::clone(&pages);
        let url = "/about";
        between(
            || at!("check", pages.lock().unwrap().get(url).cloned()),
            move || {
                let mut map = other.lock().unwrap();
                _ = at!("write", map.insert(url.to_owned(), fetch(url)));
            },
            |page| {
                if page.is_none() {
                    let page = fetch(url);
                    at!("act", pages.lock().unwrap().insert(url.to_owned(), page));
                }
            },
        );
    },
    |out| out.assert_check_then_act(
        act("Act (insert) of key \"/about\" in map#1"),
        writer("write (insert) of key \"/about\""),
        "Check (get) of key \"/about\", found absent",
    )
);

scenario!(
    initialisation_with_or_insert_with_runs_clean,
    {
        let pages = cache();
        let other = Arc::clone(&pages);
        let url = "/about";
        between(
            || pages.lock().unwrap().contains_key(url),
            move || _ = other.lock().unwrap().insert(url.to_owned(), fetch(url)),
            |present| {
                if !present {
                    let page = fetch(url);
                    pages
                        .lock()
                        .unwrap()
                        .entry(url.to_owned())
                        .or_insert_with(|| page);
                }
            },
        );
        assert_eq!(pages.lock().unwrap()[url], fetch(url));
    },
    |out| out.assert_clean()
);

scenario!(
    initialisation_under_one_guard_runs_clean,
    {
        let pages = cache();
        let other = Arc::clone(&pages);
        let url = "/about";
        between(
            || {
                let mut map = pages.lock().unwrap();
                if !map.contains_key(url) {
                    map.insert(url.to_owned(), fetch(url));
                }
            },
            move || {
                _ = other
                    .lock()
                    .unwrap()
                    .insert(url.to_owned(), "fresher".to_owned())
            },
            |()| {
                let mut map = pages.lock().unwrap();
                if !map.contains_key(url) {
                    map.insert(url.to_owned(), fetch(url));
                }
            },
        );
        assert_eq!(pages.lock().unwrap()[url], "fresher");
    },
    |out| out.assert_clean()
);

/// Sessions by id, with their ages: an expired one (age 0) is removed.
fn sessions() -> Arc<Mutex<Map>> {
    let sessions = Arc::new(Mutex::new(Map::new()));
    sessions.lock().unwrap().extend([(1, 0), (2, 5)]);
    sessions
}

scenario!(
    get_then_remove_is_reported,
    {
        let sessions = sessions();
        let other = Arc::clone(&sessions);
        between(
            || at!("check", sessions.lock().unwrap().get(&1).copied()) == Some(0),
            move || _ = at!("write", other.lock().unwrap().insert(1, 9)), // renewed
            |expired| {
                if expired {
                    at!("act", sessions.lock().unwrap().remove(&1));
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
    get_then_remove_through_one_entry_runs_clean,
    {
        let sessions = sessions();
        let other = Arc::clone(&sessions);
        let expire = |sessions: &Mutex<Map>| {
            if let Entry::Occupied(session) = sessions.lock().unwrap().entry(1)
                && *session.get() == 0
            {
                session.remove();
            }
        };
        between(
            || sessions.lock().unwrap().get(&2).copied(),
            move || _ = other.lock().unwrap().insert(1, 9),
            |_| expire(&sessions),
        );
        assert_eq!(sessions.lock().unwrap().get(&1), Some(&9), "renewed, kept");
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// Several keys checked in one critical section, acted on in the next.

scenario!(
    several_keys_checked_in_one_critical_section_and_acted_on_in_the_next_are_reported,
    {
        let stock = Arc::new(Mutex::new(Map::new()));
        stock.lock().unwrap().extend((1..=3).map(|k| (k, 10)));
        let other = Arc::clone(&stock);
        between(
            || {
                let map = stock.lock().unwrap();
                let one = map[&1];
                let two = at!("check", map.get(&2).copied()).unwrap();
                (one, two, map[&3])
            },
            move || _ = at!("write", other.lock().unwrap().insert(2, 0)), // sold out
            |(one, two, three)| {
                let mut map = stock.lock().unwrap();
                map.insert(1, one - 1);
                at!("act", map.insert(2, two - 1));
                map.insert(3, three - 1);
            },
        );
    },
    |out| out.assert_check_then_act(
        act("Act (insert) of key 2 in map#1"),
        writer("write (insert) of key 2"),
        "Check (get) of key 2, found present",
    )
);

scenario!(
    several_keys_checked_and_acted_on_under_one_guard_run_clean,
    {
        let stock = Arc::new(Mutex::new(Map::new()));
        stock.lock().unwrap().extend((1..=3).map(|k| (k, 10)));
        let other = Arc::clone(&stock);
        let take_one_each = |stock: &Mutex<Map>| {
            let mut map = stock.lock().unwrap();
            for k in 1..=3 {
                let n = map[&k];
                map.insert(k, n.saturating_sub(1));
            }
        };
        between(
            || take_one_each(&stock),
            move || _ = other.lock().unwrap().insert(2, 0),
            |()| take_one_each(&stock),
        );
        assert_eq!(stock.lock().unwrap()[&2], 0);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// An RwLock: a read guard's check, then a write guard's act (the "upgrade" bug).

scenario!(
    a_read_guard_check_then_a_write_guard_act_is_reported,
    {
        let config = Arc::new(RwLock::new(Map::new()));
        let other = Arc::clone(&config);
        between(
            || at!("check", config.read().unwrap().contains_key(&1)),
            move || _ = at!("write", other.write().unwrap().insert(1, 5)),
            |present| {
                if !present {
                    at!("act", config.write().unwrap().insert(1, 9));
                }
            },
        );
    },
    |out| out.assert_check_then_act(
        act("Act (insert) of key 1 in map#1"),
        writer("write (insert) of key 1"),
        "Check (contains_key) of key 1, found absent",
    )
);

scenario!(
    a_write_guard_held_across_the_check_and_the_act_runs_clean,
    {
        let config = Arc::new(RwLock::new(Map::new()));
        let other = Arc::clone(&config);
        let set_default = |config: &RwLock<Map>| {
            let mut map = config.write().unwrap();
            if !map.contains_key(&1) {
                map.insert(1, 9);
            }
        };
        between(
            || config.read().unwrap().len(),
            move || _ = other.write().unwrap().insert(1, 5),
            |_| set_default(&config),
        );
        assert_eq!(config.read().unwrap()[&1], 5);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// Maps behind std-named locks, rewritten by `#[maprace::track]`.

#[maprace::track]
mod tracked {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    pub(crate) struct Hits {
        pub(crate) by_page: Mutex<HashMap<&'static str, u64>>,
    }

    impl Hits {
        pub(crate) fn new() -> Arc<Hits> {
            Arc::new(Hits {
                by_page: Mutex::new(HashMap::new()),
            })
        }
    }
}

scenario!(
    a_map_behind_a_std_mutex_rewritten_by_track_is_reported_under_its_field_name,
    {
        let hits = tracked::Hits::new();
        hits.by_page.lock().unwrap().insert("/", 0);
        let other = Arc::clone(&hits);
        between(
            || at!("check", hits.by_page.lock().unwrap().get("/").copied()).unwrap_or(0),
            move || _ = at!("write", other.by_page.lock().unwrap().insert("/", 100)),
            |n| at!("act", hits.by_page.lock().unwrap().insert("/", n + 1)),
        );
    },
    |out| out.assert_check_then_act(
        act("Act (insert) of key \"/\" in by_page (HashMap<&str, u64>)"),
        writer("write (insert) of key \"/\""),
        "Check (get) of key \"/\", found present",
    )
);

scenario!(
    a_map_behind_a_std_mutex_rewritten_by_track_and_updated_in_place_runs_clean,
    {
        let hits = tracked::Hits::new();
        let other = Arc::clone(&hits);
        between(
            || *hits.by_page.lock().unwrap().entry("/").or_insert(0) += 1,
            move || *other.by_page.lock().unwrap().entry("/").or_insert(0) += 100,
            |()| *hits.by_page.lock().unwrap().entry("/").or_insert(0) += 1,
        );
        assert_eq!(hits.by_page.lock().unwrap()["/"], 102);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// BTreeMap: present keys.

scenario!(
    a_btree_map_counter_read_then_written_across_two_critical_sections_is_reported,
    {
        let counts = Arc::new(Mutex::new(maprace::BTreeMap::new()));
        counts.lock().unwrap().insert(7u64, 0u64);
        let other = Arc::clone(&counts);
        between(
            || at!("check", counts.lock().unwrap().get(&7).copied()).unwrap_or(0),
            move || _ = at!("write", other.lock().unwrap().insert(7, 100)),
            |n| at!("act", counts.lock().unwrap().insert(7, n + 1)),
        );
    },
    |out| out.assert_check_then_act(
        act("Act (insert) of key 7 in map#1 (BTreeMap<u64, u64>)"),
        writer("write (insert) of key 7"),
        "Check (get) of key 7, found present",
    )
);

scenario!(
    a_btree_map_get_then_remove_is_reported,
    {
        let sessions = Arc::new(Mutex::new(maprace::BTreeMap::from([(1u64, 0u64)])));
        let other = Arc::clone(&sessions);
        between(
            || at!("check", sessions.lock().unwrap().get(&1).copied()) == Some(0),
            move || _ = at!("write", other.lock().unwrap().insert(1, 9)),
            |expired| {
                if expired {
                    at!("act", sessions.lock().unwrap().remove(&1));
                }
            },
        );
    },
    |out| out.assert_check_then_act(
        act("Act (remove) of key 1 in map#1 (BTreeMap<u64, u64>)"),
        writer("write (insert) of key 1"),
        "Check (get) of key 1, found present",
    )
);

scenario!(
    a_btree_map_counter_updated_with_the_entry_api_runs_clean,
    {
        let counts = Arc::new(Mutex::new(maprace::BTreeMap::new()));
        counts.lock().unwrap().insert(7u64, 0u64);
        let other = Arc::clone(&counts);
        between(
            || counts.lock().unwrap().get(&7).copied(),
            move || _ = other.lock().unwrap().insert(7, 100),
            |_| *counts.lock().unwrap().entry(7).or_insert(0) += 1,
        );
        assert_eq!(counts.lock().unwrap()[&7], 101);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// Never reported (issue 14, point 2), each with the other thread's write between this thread's
// two critical sections, as in the scenarios above.

scenario!(
    /// This thread never looked at the key: its second write is blind.
    a_blind_write_runs_clean,
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        between(
            || _ = counts.lock().unwrap().insert(7, 1),
            move || _ = other.lock().unwrap().insert(7, 100),
            |()| _ = counts.lock().unwrap().insert(7, 2),
        );
    },
    |out| out.assert_clean()
);

scenario!(
    /// Each thread touches its own keys: the other thread's write is not on the key acted on.
    threads_that_touch_their_own_keys_run_clean,
    {
        let counts = counter();
        counts.lock().unwrap().insert(8, 0);
        let other = Arc::clone(&counts);
        between(
            || counts.lock().unwrap().get(&7).copied().unwrap_or(0),
            move || _ = other.lock().unwrap().insert(8, 100),
            |n| _ = counts.lock().unwrap().insert(7, n + 1),
        );
    },
    |out| out.assert_clean()
);

scenario!(
    /// The other thread's write comes before the check: the check saw it.
    a_write_ordered_before_the_check_runs_clean,
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        let (written, wait_write) = mpsc::channel::<()>();
        let writer = std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || {
                other.lock().unwrap().insert(7, 100);
                written.send(()).unwrap();
            })
            .unwrap();
        wait_write.recv().unwrap(); // std's: maprace sees only the lock
        let n = counts.lock().unwrap().get(&7).copied().unwrap_or(0);
        counts.lock().unwrap().insert(7, n + 1);
        writer.join().unwrap();
        assert_eq!(counts.lock().unwrap()[&7], 101);
    },
    |out| out.assert_clean()
);

scenario!(
    /// This thread looks at the key again in the act's critical section before writing it.
    a_check_repeated_in_the_acts_critical_section_runs_clean,
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        between(
            || counts.lock().unwrap().get(&7).copied(),
            move || _ = other.lock().unwrap().insert(7, 100),
            |_| {
                let mut map = counts.lock().unwrap();
                let n = map.get(&7).copied().unwrap_or(0);
                map.insert(7, n + 1);
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    /// As above, the key looked at again by an iteration (which visits it) rather than a lookup.
    a_check_repeated_by_an_iteration_in_the_acts_critical_section_runs_clean,
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        between(
            || counts.lock().unwrap().get(&7).copied(),
            move || _ = other.lock().unwrap().insert(7, 100),
            |_| {
                let mut map = counts.lock().unwrap();
                let total: u64 = map.values().sum();
                map.insert(7, total + 1);
            },
        );
        assert_eq!(counts.lock().unwrap()[&7], 101);
    },
    |out| out.assert_clean()
);

scenario!(
    /// This thread's check was followed by its own write of the key (under the same guard, or
    /// through the entry), and its later write is blind: the other thread's write between is
    /// overwritten as any blind write overwrites, and no act is based on a stale check (write,
    /// remote write, write is serializable).
    a_blind_write_after_a_check_and_this_threads_own_write_runs_clean,
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        between(
            || {
                let mut map = counts.lock().unwrap();
                let n = map.get(&7).copied().unwrap_or(0);
                map.insert(7, n + 1);
                if !map.contains_key(&8) {
                    map.insert(8, 1);
                }
                drop(map);
                *counts.lock().unwrap().entry(9).or_insert(0) += 1;
            },
            move || {
                let mut map = other.lock().unwrap();
                map.extend([(7, 100), (8, 100), (9, 100)]);
            },
            |()| {
                let mut map = counts.lock().unwrap();
                map.insert(7, 0); // a reset
                map.insert(8, 0);
                map.remove(&9);
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    /// As above, the check a lookup in an empty map (which hashes nothing: recorded by the
    /// key's fingerprint), the own write an insert through a vacant entry.
    a_blind_write_after_a_miss_in_an_empty_map_and_this_threads_own_insert_runs_clean,
    {
        let counts = Arc::new(Mutex::new(Map::new()));
        let other = Arc::clone(&counts);
        between(
            || {
                let mut map = counts.lock().unwrap();
                if !map.contains_key(&7) {
                    map.entry(7).or_insert(1);
                }
            },
            move || _ = other.lock().unwrap().insert(7, 100),
            |()| _ = counts.lock().unwrap().insert(7, 0),
        );
    },
    |out| out.assert_clean()
);

scenario!(
    /// As above, on a BTreeMap (which keeps its checks in the keys' cells only).
    a_blind_btree_map_write_after_a_check_and_this_threads_own_write_runs_clean,
    {
        let counts = Arc::new(Mutex::new(maprace::BTreeMap::from([(7u64, 0u64), (9, 0)])));
        let other = Arc::clone(&counts);
        between(
            || {
                let mut map = counts.lock().unwrap();
                let n = map.get(&7).copied().unwrap_or(0);
                map.insert(7, n + 1);
                drop(map);
                *counts.lock().unwrap().entry(9).or_insert(0) += 1;
            },
            move || other.lock().unwrap().extend([(7, 100), (9, 100)]),
            |()| {
                let mut map = counts.lock().unwrap();
                map.insert(7, 0);
                map.remove(&9);
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    /// This thread joined the writer before it acts: the join, not the lock, orders the write
    /// before the act.
    a_write_learned_through_a_join_runs_clean,
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        let n = counts.lock().unwrap().get(&7).copied().unwrap_or(0);
        std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || _ = other.lock().unwrap().insert(7, 100))
            .unwrap()
            .join()
            .unwrap();
        counts.lock().unwrap().insert(7, n + 1);
    },
    |out| out.assert_clean()
);

scenario!(
    /// The writer tells this thread through a maprace channel after its write, and this thread
    /// waits for it before the act's critical section.
    a_write_learned_through_a_channel_before_the_act_runs_clean,
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        let (written, wait_write) = maprace::sync::mpsc::channel::<()>();
        let n = counts.lock().unwrap().get(&7).copied().unwrap_or(0);
        let writer = std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || {
                other.lock().unwrap().insert(7, 100);
                written.send(()).unwrap();
            })
            .unwrap();
        wait_write.recv().unwrap();
        counts.lock().unwrap().insert(7, n + 1);
        writer.join().unwrap();
    },
    |out| out.assert_clean()
);

scenario!(
    /// As above, with the message received inside the act's critical section.
    a_write_learned_through_a_channel_inside_the_acts_critical_section_runs_clean,
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        let (written, wait_write) = maprace::sync::mpsc::channel::<()>();
        let (locked, wait_locked) = mpsc::channel::<()>();
        let n = counts.lock().unwrap().get(&7).copied().unwrap_or(0);
        let writer = std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || {
                other.lock().unwrap().insert(7, 100);
                locked.send(()).unwrap();
                written.send(()).unwrap();
            })
            .unwrap();
        wait_locked.recv().unwrap(); // the writer's critical section is over (std's channel)
        let mut map = counts.lock().unwrap();
        wait_write.recv().unwrap();
        map.insert(7, n + 1);
        drop(map);
        writer.join().unwrap();
    },
    |out| out.assert_clean()
);

scenario!(
    /// Deliberately not considered (README, "Check-then-act"): a check two critical sections
    /// back, with another thread's turn at the lock between each.
    a_check_two_critical_sections_back_is_not_considered,
    {
        let counts = counter();
        counts.lock().unwrap().insert(8, 0);
        let (first, second) = (Arc::clone(&counts), Arc::clone(&counts));
        let n = between(
            || counts.lock().unwrap().get(&7).copied().unwrap_or(0),
            move || _ = first.lock().unwrap().insert(8, 1),
            |n| {
                let _ = counts.lock().unwrap().get(&8).copied(); // a critical section of its own
                n
            },
        );
        between(
            || (),
            move || _ = second.lock().unwrap().insert(7, 100),
            |()| _ = counts.lock().unwrap().insert(7, n + 1),
        );
    },
    |out| out.assert_clean()
);

scenario!(
    /// Eight threads update shared keys with the entry API (and read them for display between
    /// updates), 100,000 operations in all: every update is atomic.
    eight_threads_doing_entry_api_updates_on_shared_keys_run_clean,
    {
        let counts = Arc::new(Mutex::new(Map::new()));
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let counts = Arc::clone(&counts);
                std::thread::spawn(move || {
                    let mut updates = 0;
                    for i in 0..12_500u64 {
                        let key = (t + i) % 16;
                        match i % 4 {
                            0 => drop(counts.lock().unwrap().get(&key).copied()),
                            1 => *counts.lock().unwrap().entry(key).or_insert(0) += 1,
                            2 => {
                                counts
                                    .lock()
                                    .unwrap()
                                    .entry(key)
                                    .and_modify(|n| *n += 1)
                                    .or_insert(1);
                            }
                            _ => *counts.lock().unwrap().entry(key).or_default() += 1,
                        }
                        updates += u64::from(i % 4 != 0);
                    }
                    updates
                })
            })
            .collect();
        let updates: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(counts.lock().unwrap().values().sum::<u64>(), updates);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// The option and the policy.

scenario!(
    check_then_act_0_turns_the_report_off,
    options = "check_then_act=0",
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        between(
            || counts.lock().unwrap().get(&7).copied().unwrap_or(0),
            move || _ = other.lock().unwrap().insert(7, 100),
            |n| _ = counts.lock().unwrap().insert(7, n + 1),
        );
    },
    |out| out.assert_clean()
);

scenario!(
    a_bad_check_then_act_value_stops_the_program_at_start,
    options = "check_then_act=yes",
    {
        let _ = counter();
    },
    |out| {
        if maprace::COMPILED_IN {
            assert_eq!(out.code, Some(2), "{out}");
            assert!(
                out.stderr
                    .contains("bad value `yes` for `check_then_act` (expected 0 or 1)"),
                "{out}"
            );
            assert!(!out.stdout.contains(common::DONE), "{out}");
        } else {
            out.assert_clean();
        }
    }
);

scenario!(
    with_halt_on_error_0_the_program_goes_on_and_the_summary_counts_check_then_acts,
    options = "halt_on_error=0",
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        for _ in 0..3 {
            let other = Arc::clone(&other);
            between(
                || counts.lock().unwrap().get(&7).copied().unwrap_or(0),
                move || _ = other.lock().unwrap().insert(7, 100),
                |n| _ = counts.lock().unwrap().insert(7, n + 1),
            );
        }
    },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_clean();
        }
        assert_eq!(out.code, Some(66), "{out}");
        assert!(out.stdout.contains(common::DONE), "{out}");
        assert_eq!(
            out.stderr.matches("WARNING: MAP CHECK-THEN-ACT").count(),
            1,
            "the same three sites are reported once\n{out}"
        );
        assert!(
            out.stderr.contains("maprace: found 1 check-then-act(s)"),
            "{out}"
        );
    }
);

scenario!(
    with_action_panic_the_acting_thread_panics_with_the_report,
    options = "action=panic",
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            between(
                || counts.lock().unwrap().get(&7).copied().unwrap_or(0),
                move || _ = other.lock().unwrap().insert(7, 100),
                |n| _ = counts.lock().unwrap().insert(7, n + 1),
            )
        }));
        let message = panicked
            .err()
            .and_then(|p| p.downcast::<String>().ok())
            .map(|m| *m)
            .unwrap_or_default();
        println!(
            "panic message: {}",
            message.lines().take(2).collect::<Vec<_>>().join(" | ")
        );
    },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_clean();
        }
        assert_eq!(out.code, Some(0), "{out}");
        assert!(
            out.stdout
                .contains("panic message: maprace: map check-then-act | =================="),
            "{out}"
        );
    }
);
