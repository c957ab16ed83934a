//! A user `Hash` or `Eq` that panics inside a tracked operation (the panic caught by the
//! program, which goes on): the map's shadow and the thread's state must stay consistent, so a
//! correct program after the panic runs clean (with `sync=assume`, a write left marked in
//! progress by the unwinding would be reported as an overlap), and a race after it is still
//! reported at its sites. On a DashMap, the key's `Eq` panics under the shard's lock, while
//! the thread holds a guard on another shard (its wait is published for the deadlock checks).

mod common;
use common::{Side, TEST_THREAD};
use maprace::sync::{Arc, Mutex};
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// While set, every `Bomb`'s `Hash` (`HASH`) or `Eq` (`EQ`) panics.
static HASH: AtomicBool = AtomicBool::new(false);
static EQ: AtomicBool = AtomicBool::new(false);

#[derive(Clone, Copy, Debug)]
struct Bomb(u64);

impl PartialEq for Bomb {
    fn eq(&self, other: &Self) -> bool {
        assert!(!EQ.load(Relaxed), "Bomb::eq");
        self.0 == other.0
    }
}

impl Eq for Bomb {}

impl Hash for Bomb {
    fn hash<H: Hasher>(&self, state: &mut H) {
        assert!(!HASH.load(Relaxed), "Bomb::hash");
        self.0.hash(state);
    }
}

/// Runs `f` with `flag` set, and expects it to panic (the panic caught, its message silenced).
fn exploding(flag: &AtomicBool, f: impl FnOnce()) {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    flag.store(true, Relaxed);
    let result = catch_unwind(AssertUnwindSafe(f));
    flag.store(false, Relaxed);
    std::panic::set_hook(hook);
    assert!(result.is_err(), "the key's method panicked");
}

type Map = maprace::HashMap<Bomb, u64>;

/// A locked map of eight keys, then one insert of each panicking kind: an insert into the full
/// table (which marks the structure written before it hashes), an insert over a key the map has
/// (`Eq` runs), a lookup and a remove; each panic caught, the lock's poison ignored.
fn after_panics() -> Arc<Mutex<Map>> {
    let map = Arc::new(Mutex::new(Map::new()));
    let locked = || map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for k in 0..7 {
        locked().insert(Bomb(k), k);
    }
    {
        let full = locked();
        assert_eq!(full.len(), full.capacity(), "a full table");
    }
    exploding(&HASH, || _ = locked().insert(Bomb(100), 0));
    exploding(&EQ, || _ = locked().insert(Bomb(3), 0));
    exploding(&EQ, || _ = locked().get(&Bomb(4)));
    exploding(&HASH, || _ = locked().remove(&Bomb(5)));
    exploding(&EQ, || _ = locked().entry(Bomb(6)));
    map.clear_poison();
    assert_eq!(locked().len(), 7);
    map
}

scenario!(
    a_map_whose_keys_hash_or_eq_panicked_inside_its_operations_runs_clean_after,
    options = "sync=assume",
    {
        let map = after_panics();
        std::thread::scope(|s| {
            for t in 0..2 {
                let map = &map;
                s.spawn(move || {
                    for i in 0..200 {
                        let mut m = map.lock().unwrap();
                        let k = Bomb((i + t) % 9);
                        if m.get(&k).is_some() {
                            m.insert(k, i);
                        } else {
                            m.remove(&k);
                        }
                    }
                });
            }
        });
        assert!(map.lock().unwrap().len() <= 9);
    },
    |out| out.assert_clean()
);

/// The race both HashMap scenarios make: the writer's insert of `Bomb(3)`, then this thread's
/// `get` of it (a key maprace cannot print is shown by its hash, then its type).
fn assert_race_on_key_3(out: &common::Outcome) {
    out.assert_race(
        Side {
            access: "Read (get) of key <hash 0x",
            thread: TEST_THREAD,
        },
        Side {
            access: "write (insert) of key <hash 0x",
            thread: "writer",
        },
    );
    if maprace::COMPILED_IN {
        assert!(
            out.stderr
                .contains("> (Bomb) in map#1 (HashMap<Bomb, u64>) at "),
            "the key's type and the map\n{out}"
        );
    }
}

scenario!(
    a_race_after_a_keys_panic_inside_an_insert_is_reported,
    {
        let map = after_panics();
        let mut map = map.lock().unwrap().clone();
        common::unordered(
            &mut map,
            |m| at!("previous", m.insert(Bomb(3), 30)),
            |m| at!("current", m.get(&Bomb(3)).copied()),
        );
    },
    |out| assert_race_on_key_3(&out)
);

scenario!(
    /// The same race, on the map the panics happened in (its shadow, not a clone's).
    a_race_on_the_map_a_key_panicked_in_is_reported,
    {
        let map = after_panics();
        let mut guard = map.lock().unwrap();
        common::unordered(
            &mut *guard,
            |m| at!("previous", m.insert(Bomb(3), 30)),
            |m| at!("current", m.get(&Bomb(3)).copied()),
        );
    },
    |out| assert_race_on_key_3(&out)
);

// ---------------------------------------------------------------------------------------------
// DashMap: `Eq` runs under the shard's lock.

#[cfg(feature = "dashmap")]
/// Keys of `map` in two different shards (dashmap's `determine_shard` with its default
/// amount of shards): `(held, other)`.
fn two_shards(map: &maprace::DashMap<Bomb, u64>) -> (Bomb, Bomb) {
    let shards =
        (std::thread::available_parallelism().map_or(1, usize::from) * 4).next_power_of_two();
    let shard = |k: &Bomb| {
        let hash = std::hash::BuildHasher::hash_one(map.hasher(), k) as usize;
        (hash << 7) >> (usize::BITS - shards.trailing_zeros())
    };
    let held = Bomb(0);
    let other = (1..).map(Bomb).find(|k| shard(k) != shard(&held)).unwrap();
    (held, other)
}

scenario!(
    #[cfg(feature = "dashmap")]
    a_dashmap_keys_eq_panicking_under_the_shard_lock_while_a_guard_is_held_leaves_no_wait_behind,
    hangs_after = common::hangs_after(),
    {
        let map: maprace::DashMap<Bomb, u64> = maprace::DashMap::new();
        let (held, other) = two_shards(&map);
        map.insert(held, 0);
        map.insert(other, 0);
        {
            let _guard = map.get(&held).unwrap();
            // A call on another shard while holding a guard: checked and its wait published;
            // `Eq` panics under that shard's lock.
            exploding(&EQ, || _ = map.get(&other));
            exploding(&EQ, || _ = map.contains_key(&other));
        }
        // And with nothing held, the exclusive calls.
        exploding(&EQ, || _ = map.insert(other, 1));
        exploding(&EQ, || _ = map.entry(other));
        exploding(&HASH, || _ = map.get_mut(&other));
        // Two threads: shared guards on both shards at once, then each key written with
        // nothing held, by the entry API (a read in one call and a write in a later one would
        // be a check-then-act, rightly reported). A wait or a hold the panics left behind would
        // make a false deadlock (or a false race).
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for i in 0..200 {
                        let first = map.get(&held).unwrap();
                        let second = map.get(&other).map(|v| *v);
                        drop(first);
                        assert!(second.is_some());
                        *map.entry(held).or_insert(0) += 1;
                        *map.entry(other).or_insert(0) += i;
                    }
                });
            }
        });
        assert_eq!(*map.get(&held).unwrap(), 400);
    },
    |out| out.assert_clean()
);

scenario!(
    #[cfg(feature = "dashmap")]
    a_dashmap_race_after_a_keys_eq_panicked_under_the_shard_lock_is_reported,
    {
        let map: &'static maprace::DashMap<Bomb, u64> =
            Box::leak(Box::new(maprace::DashMap::new()));
        map.insert(Bomb(1), 0);
        exploding(&EQ, || _ = map.get(&Bomb(1)));
        exploding(&EQ, || _ = map.insert(Bomb(1), 2));
        // A plain map beside it, raced on after the panics: the shard's lock orders nothing
        // for it.
        let mut side: maprace::HashMap<u64, u64> = maprace::HashMap::new();
        side.insert(1, 0);
        common::unordered(
            &mut side,
            |m| {
                map.insert(Bomb(1), 3);
                at!("previous", m.insert(1, 10))
            },
            |m| at!("current", m.get(&1).copied()),
        );
    },
    |out| out.assert_race(
        Side {
            access: "Read (get) of key 1 in map#1",
            thread: TEST_THREAD,
        },
        Side {
            access: "write (insert) of key 1",
            thread: "writer",
        },
    )
);
