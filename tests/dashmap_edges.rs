//! Edges through a DashMap's shard lock in the corners of the guard protocol: user code that
//! dashmap runs under the lock (`K::eq`) before the mirror has acquired the shard's clocks, and
//! exclusive guards dropped (or downgraded) on a thread other than the one that wrote through
//! them (sent there, or kept in a thread-local and dropped as the thread ends). In each, the
//! next holder of the shard is ordered after the writes made under the guard by the lock alone;
//! a report would be a false one. The last section keeps two known missed races, ignored.

#![cfg(feature = "dashmap")]

mod common;
use maprace::DashMap;
use maprace::dashmap::mapref::one::RefMut;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc;

type Inner = maprace::HashMap<u64, u64>;

fn named(name: &str) -> std::thread::Builder {
    std::thread::Builder::new().name(name.into())
}

/// A map that lives for the whole scenario (threads that outlive a scope borrow it).
fn leaked<K: Eq + Hash, V>(map: DashMap<K, V>) -> &'static DashMap<K, V> {
    Box::leak(Box::new(map))
}

// ---------------------------------------------------------------------------------------------
// A key whose `eq` calls into another DashMap: dashmap runs it under the shard's lock, after the
// outer call's hash was captured. The inner call captures its own hash; the outer call must
// still find its own key's shard (its edges go to that shard's clocks).

/// A key whose equality asks another DashMap first (an interner, say).
struct Interned {
    id: u64,
    names: &'static DashMap<u64, u64>,
}

impl PartialEq for Interned {
    fn eq(&self, other: &Self) -> bool {
        let _ = self.names.contains_key(&self.id);
        self.id == other.id
    }
}

impl Eq for Interned {}

impl Hash for Interned {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

scenario!(
    a_key_whose_eq_calls_another_dashmap_keeps_its_calls_edges_on_its_own_shard,
    {
        let names = leaked(DashMap::new());
        for id in 0..64 {
            names.insert(id, id);
        }
        let map: &'static DashMap<Interned, Inner> = leaked(DashMap::with_shard_amount(64));
        for id in 0..64 {
            map.insert(Interned { id, names }, Inner::new());
        }
        let (told, heard) = mpsc::channel(); // std's: maprace cannot see it
        std::thread::scope(|s| {
            named("writer")
                .spawn_scoped(s, move || {
                    for id in 0..64 {
                        map.get_mut(&Interned { id, names }).unwrap().insert(id, 1);
                    }
                    told.send(()).unwrap();
                })
                .unwrap();
            named("reader")
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    for id in 0..64 {
                        let inner = map.get(&Interned { id, names }).unwrap();
                        assert_eq!(inner.get(&id), Some(&1));
                    }
                })
                .unwrap();
        });
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// An exclusive guard written through on one thread and dropped on another.

scenario!(
    a_ref_mut_sent_to_another_thread_and_dropped_there_orders_its_writes_for_the_next_holder,
    {
        let map: &'static DashMap<u64, Inner> = leaked(DashMap::new());
        map.insert(1, Inner::new());
        // std's channels: maprace sees neither the guard's trip nor the tell.
        let (send_guard, guard_sent) = mpsc::channel::<RefMut<'static, u64, Inner>>();
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            named("writer")
                .spawn_scoped(s, move || {
                    let mut inner = map.get_mut(&1).unwrap();
                    inner.insert(5, 1);
                    send_guard.send(inner).unwrap();
                })
                .unwrap();
            named("dropper")
                .spawn_scoped(s, move || {
                    let inner = guard_sent.recv().unwrap();
                    told.send(()).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    drop(inner);
                })
                .unwrap();
            named("reader")
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    // Waits for the dropper's unlock.
                    assert_eq!(map.get(&1).unwrap().get(&5), Some(&1));
                })
                .unwrap();
        });
    },
    |out| out.assert_clean()
);

thread_local! {
    /// A guard kept until the thread ends (its destructor drops it).
    static KEPT: std::cell::RefCell<Option<RefMut<'static, u64, Inner>>> =
        const { std::cell::RefCell::new(None) };
}

scenario!(
    a_ref_mut_kept_in_a_thread_local_and_dropped_as_its_thread_ends_orders_its_writes,
    {
        let map: &'static DashMap<u64, Inner> = leaked(DashMap::new());
        map.insert(1, Inner::new());
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            named("writer")
                .spawn_scoped(s, move || {
                    let mut inner = map.get_mut(&1).unwrap();
                    inner.insert(5, 1);
                    KEPT.with(|kept| *kept.borrow_mut() = Some(inner));
                    told.send(()).unwrap();
                })
                .unwrap();
            named("reader")
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    // Waits for the writer's thread-locals to be dropped.
                    assert_eq!(map.get(&1).unwrap().get(&5), Some(&1));
                })
                .unwrap();
        });
    },
    |out| out.assert_clean()
);

scenario!(
    a_ref_sent_to_another_thread_and_dropped_there_orders_its_read_for_the_next_writer,
    {
        let map: &'static DashMap<u64, u64> = leaked(DashMap::new());
        map.insert(1, 1);
        let (send_guard, guard_sent) =
            mpsc::channel::<maprace::dashmap::mapref::one::Ref<'static, u64, u64>>();
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            named("reader")
                .spawn_scoped(s, move || {
                    let one = map.get(&1).unwrap();
                    assert_eq!(*one, 1);
                    send_guard.send(one).unwrap();
                })
                .unwrap();
            named("dropper")
                .spawn_scoped(s, move || {
                    let one = guard_sent.recv().unwrap();
                    told.send(()).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    drop(one);
                })
                .unwrap();
            named("writer")
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    // Waits for the dropper's unlock.
                    *map.get_mut(&1).unwrap() += 1;
                })
                .unwrap();
        });
        assert_eq!(*map.get(&1).unwrap(), 2);
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// A key whose `eq` reads data that the shard's previous holder wrote under the shard's lock, and
// that nothing else orders. dashmap runs `eq` under the lock, but before the mirror acquires the
// shard's clocks (it learns the shard from the hash only once dashmap's call returns), so the
// read is not ordered after that write. Reachable only through unsafe code or synchronization
// maprace cannot see anyway: a key can only reach shared mutable data through interior
// mutability, and the visible kinds (maprace's locks, a DashMap) order it by themselves.

/// A tracked map shared by address, as unsafe code that relies on the shard's lock does.
#[derive(Clone, Copy)]
struct Log(*mut Inner);
// SAFETY: the scenario's accesses are ordered by the DashMap's shard lock (that is the point).
unsafe impl Send for Log {}
// SAFETY: as for `Send`.
unsafe impl Sync for Log {}

struct Logged {
    id: u64,
    log: Log,
}

impl PartialEq for Logged {
    fn eq(&self, other: &Self) -> bool {
        // SAFETY: see `Log`.
        let _ = unsafe { &*self.log.0 }.get(&0);
        self.id == other.id
    }
}

impl Eq for Logged {}

impl Hash for Logged {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

scenario!(
    #[ignore = "not fixed: K::eq runs under the shard lock before the mirror's acquire (see the README's limitations)"]
    a_keys_eq_reading_what_the_shards_previous_holder_wrote_under_its_lock_runs_clean,
    {
        let log = Log(Box::leak(Box::new(Inner::new())));
        let map: &'static DashMap<Logged, u64> = leaked(DashMap::new());
        map.insert(Logged { id: 1, log }, 1);
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            named("writer")
                .spawn_scoped(s, move || {
                    let guard = map.get_mut(&Logged { id: 1, log }).unwrap();
                    // SAFETY: see `Log`: under the shard's lock.
                    unsafe { &mut *log.0 }.insert(0, 1);
                    told.send(()).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    drop(guard);
                })
                .unwrap();
            named("reader")
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    // Waits for the writer's unlock; `eq` reads the log under the lock.
                    assert_eq!(*map.get(&Logged { id: 1, log }).unwrap(), 1);
                })
                .unwrap();
        });
    },
    |out| out.assert_clean()
);

/// A key whose equality tries an entry in another DashMap (which may find its shard locked).
struct Probing {
    id: u64,
    names: &'static DashMap<u64, u64>,
}

impl PartialEq for Probing {
    fn eq(&self, other: &Self) -> bool {
        let _ = self.names.try_entry(self.id).is_some();
        self.id == other.id
    }
}

impl Eq for Probing {}

impl Hash for Probing {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

scenario!(
    a_key_whose_eq_tries_a_locked_entry_in_another_dashmap_keeps_its_calls_shard,
    {
        let names = leaked(DashMap::new());
        let map: &'static DashMap<Probing, u64> = leaked(DashMap::with_shard_amount(64));
        for id in 0..64 {
            names.insert(id, id);
            map.insert(Probing { id, names }, id);
        }
        for id in 0..64 {
            // The other map's shard is held: the `try_entry` in `eq` finds it locked.
            let held = names.get_mut(&id).unwrap();
            *map.get_mut(&Probing { id, names }).unwrap() += 1;
            drop(held);
        }
        for id in 0..64 {
            assert_eq!(*map.get(&Probing { id, names }).unwrap(), id + 1);
        }
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// An exclusive guard written through on one thread and downgraded on another: the downgrade is
// the release that the shard's later readers acquire (they take the exclusive clock only).

scenario!(
    a_ref_mut_sent_to_another_thread_and_downgraded_there_orders_its_write_for_the_next_reader,
    {
        let map: &'static DashMap<u64, u64> = leaked(DashMap::new());
        map.insert(1, 1);
        // std's channels: maprace sees neither the guard's trip nor the tell.
        let (send_guard, guard_sent) = mpsc::channel::<RefMut<'static, u64, u64>>();
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            named("writer")
                .spawn_scoped(s, move || {
                    let mut one = map.get_mut(&1).unwrap();
                    *one += 1;
                    send_guard.send(one).unwrap();
                })
                .unwrap();
            named("downgrader")
                .spawn_scoped(s, move || {
                    let one = guard_sent.recv().unwrap().downgrade();
                    assert_eq!(*one, 2);
                    drop(one);
                    told.send(()).unwrap();
                })
                .unwrap();
            named("reader")
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    // After the downgraded guard's unlock: a shared lock, ordered after it.
                    assert_eq!(*map.get(&1).unwrap(), 2);
                })
                .unwrap();
        });
    },
    |out| out.assert_clean()
);

scenario!(
    a_ref_mut_of_a_key_inserted_through_an_entry_sent_and_dropped_elsewhere_orders_the_insert,
    {
        let map: &'static DashMap<u64, u64> = leaked(DashMap::new());
        map.insert(1, 1);
        // std's channels: maprace sees neither the guard's trip nor the tell.
        let (send_guard, guard_sent) = mpsc::channel::<RefMut<'static, u64, u64>>();
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            named("writer")
                .spawn_scoped(s, move || {
                    // A new key: its cell is written when the entry inserts it.
                    let two = map.entry(2).or_insert(5);
                    send_guard.send(two).unwrap();
                })
                .unwrap();
            named("dropper")
                .spawn_scoped(s, move || {
                    drop(guard_sent.recv().unwrap());
                    told.send(()).unwrap();
                })
                .unwrap();
            named("reader")
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    // After the dropper's unlock.
                    assert_eq!(*map.get(&2).unwrap(), 5);
                })
                .unwrap();
        });
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// An entry written through on one thread and written through again on another: the receiver's
// first write through it comes after the sender's, whatever carried the entry (the guard holds
// the lock throughout).

scenario!(
    an_occupied_entry_written_on_one_thread_and_written_through_on_another_runs_clean,
    {
        use maprace::dashmap::mapref::entry::{Entry, OccupiedEntry};
        let map: &'static DashMap<u64, u64> = leaked(DashMap::new());
        map.insert(1, 1);
        // std's channel: maprace does not see the entry's trip.
        let (send_entry, entry_sent) = mpsc::channel::<OccupiedEntry<'static, u64, u64>>();
        std::thread::scope(|s| {
            named("writer")
                .spawn_scoped(s, move || {
                    let Entry::Occupied(mut one) = map.entry(1) else {
                        unreachable!("inserted above")
                    };
                    *one.get_mut() += 1;
                    send_entry.send(one).unwrap();
                })
                .unwrap();
            named("reader")
                .spawn_scoped(s, move || {
                    let mut one = entry_sent.recv().unwrap();
                    *one.get_mut() += 1;
                    assert_eq!(*one.into_ref(), 3);
                })
                .unwrap();
        });
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// An entry written through on one thread and read through `&` on the thread a channel maprace
// does not see carried it to. The write needed the entry by `&mut`, so every `&` to it that a
// later read uses was made after the write: the write happens before the read whatever carried
// the entry (the guard held the lock throughout). The sender's later work is not ordered by it.

scenario!(
    an_occupied_entry_written_on_one_thread_and_read_through_ref_on_another_runs_clean,
    {
        use maprace::dashmap::mapref::entry::{Entry, OccupiedEntry};
        let map: &'static DashMap<u64, u64> = leaked(DashMap::new());
        map.insert(1, 1);
        // std's channels: maprace sees neither the entry's trip nor the tell.
        let (send_entry, entry_sent) = mpsc::channel::<OccupiedEntry<'static, u64, u64>>();
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            named("writer")
                .spawn_scoped(s, move || {
                    let Entry::Occupied(mut one) = map.entry(1) else {
                        unreachable!("inserted above")
                    };
                    *one.get_mut() += 1;
                    assert_eq!(*one.get(), 2); // its own read, then the hand-over
                    send_entry.send(one).unwrap();
                })
                .unwrap();
            named("receiver")
                .spawn_scoped(s, move || {
                    let one = entry_sent.recv().unwrap();
                    assert_eq!(*one.get(), 2);
                    assert_eq!(*one.get(), 2);
                    drop(one);
                    told.send(()).unwrap();
                })
                .unwrap();
            named("next")
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    // After the receiver's unlock: ordered after the write and the reads.
                    *map.get_mut(&1).unwrap() += 1;
                    assert_eq!(*map.get(&1).unwrap(), 3);
                })
                .unwrap();
        });
    },
    |out| out.assert_clean()
);

scenario!(
    a_write_the_sender_made_after_sending_an_entry_is_not_ordered_before_the_receivers_read,
    {
        use maprace::dashmap::mapref::entry::{Entry, OccupiedEntry};
        let map: &'static DashMap<u64, u64> = leaked(DashMap::new());
        map.insert(1, 1);
        let mut side: Inner = maprace::HashMap::new();
        side.insert(2, 0);
        let side = common::Shared(&mut side as *mut Inner);
        // std's channels: maprace sees neither the entry's trip nor the tell.
        let (send_entry, entry_sent) = mpsc::channel::<OccupiedEntry<'static, u64, u64>>();
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            named("writer")
                .spawn_scoped(s, move || {
                    let side = side;
                    let Entry::Occupied(mut one) = map.entry(1) else {
                        unreachable!("inserted above")
                    };
                    *one.get_mut() += 1;
                    send_entry.send(one).unwrap();
                    // After the hand-over: nothing orders it before the receiver's read.
                    at!("previous", side.get().insert(2, 1));
                    told.send(()).unwrap();
                })
                .unwrap();
            named("receiver")
                .spawn_scoped(s, move || {
                    let side = side;
                    let one = entry_sent.recv().unwrap();
                    assert_eq!(*one.get(), 2);
                    heard.recv().unwrap();
                    let _ = at!("current", side.get().get(&2));
                    drop(one);
                })
                .unwrap();
        });
    },
    |out| out.assert_race(
        common::Side {
            access: "Read (get) of key 2 in map#1",
            thread: "receiver",
        },
        common::Side {
            access: "write (insert) of key 2",
            thread: "writer",
        },
    )
);

// ---------------------------------------------------------------------------------------------
// An entry sent before any access through it. Everything the shard's lock ordered before the
// entry's making (another thread's insert of the key, another thread's read of it) is ordered
// before every use of the entry, on any thread, and before the next holder of the shard.

/// The schedule of this section: "inserter" inserts key 1, "reader" reads it, "maker" makes an
/// occupied entry of it and sends it by a channel maprace does not see to a thread named
/// `holder`, which runs `hold` on it (ending with the entry dropped); then "next" writes key 1
/// through the map.
fn an_entry_sent_untouched_to(
    holder: &str,
    hold: fn(maprace::dashmap::mapref::entry::OccupiedEntry<'static, u64, u64>),
) {
    use maprace::dashmap::mapref::entry::{Entry, OccupiedEntry};
    let map: &'static DashMap<u64, u64> = leaked(DashMap::new());
    // std's channels: maprace sees none of these trips.
    let (send_entry, entry_sent) = mpsc::channel::<OccupiedEntry<'static, u64, u64>>();
    let (inserted, heard_insert) = mpsc::channel();
    let (read, heard_read) = mpsc::channel();
    let (dropped, heard_drop) = mpsc::channel();
    std::thread::scope(|s| {
        named("inserter")
            .spawn_scoped(s, move || {
                map.insert(1, 1);
                inserted.send(()).unwrap();
            })
            .unwrap();
        named("reader")
            .spawn_scoped(s, move || {
                heard_insert.recv().unwrap();
                assert_eq!(*map.get(&1).unwrap(), 1);
                read.send(()).unwrap();
            })
            .unwrap();
        named("maker")
            .spawn_scoped(s, move || {
                heard_read.recv().unwrap();
                let Entry::Occupied(one) = map.entry(1) else {
                    unreachable!("inserted before")
                };
                send_entry.send(one).unwrap();
            })
            .unwrap();
        named(holder)
            .spawn_scoped(s, move || {
                hold(entry_sent.recv().unwrap());
                dropped.send(()).unwrap();
            })
            .unwrap();
        named("next")
            .spawn_scoped(s, move || {
                heard_drop.recv().unwrap();
                // After the holder's unlock: ordered after everything before.
                *map.get_mut(&1).unwrap() += 1;
            })
            .unwrap();
    });
}

scenario!(
    an_entry_sent_untouched_then_read_and_dropped_on_another_thread_runs_clean,
    {
        an_entry_sent_untouched_to("receiver", |one| {
            assert_eq!(*one.get(), 1);
            drop(one);
        })
    },
    |out| out.assert_clean()
);

scenario!(
    an_entry_sent_untouched_and_dropped_on_another_thread_orders_the_shards_past_for_the_next,
    { an_entry_sent_untouched_to("dropper", drop) },
    |out| out.assert_clean()
);

scenario!(
    an_entry_sent_untouched_and_written_through_on_another_thread_runs_clean,
    {
        an_entry_sent_untouched_to("dropper", |mut one| {
            // Its first write: after the insert and the read the lock ordered before the
            // entry's making.
            *one.get_mut() += 1;
            drop(one);
        })
    },
    |out| out.assert_clean()
);

scenario!(
    an_entry_written_then_read_in_a_later_epoch_and_sent_is_read_through_ref_clean_elsewhere,
    {
        use maprace::dashmap::mapref::entry::{Entry, OccupiedEntry};
        let map: &'static DashMap<u64, u64> = leaked(DashMap::new());
        map.insert(1, 1);
        // std's channel: maprace does not see the entry's trip.
        let (send_entry, entry_sent) = mpsc::channel::<OccupiedEntry<'static, u64, u64>>();
        std::thread::scope(|s| {
            named("writer")
                .spawn_scoped(s, move || {
                    let Entry::Occupied(mut one) = map.entry(1) else {
                        unreachable!("inserted above")
                    };
                    *one.get_mut() += 1;
                    // A thread made and joined (maprace sees both): a new epoch.
                    std::thread::spawn(|| ()).join().unwrap();
                    assert_eq!(*one.get(), 2);
                    send_entry.send(one).unwrap();
                })
                .unwrap();
            named("receiver")
                .spawn_scoped(s, move || {
                    let one = entry_sent.recv().unwrap();
                    assert_eq!(*one.get(), 2);
                })
                .unwrap();
        });
    },
    |out| out.assert_clean()
);

scenario!(
    an_entry_written_read_through_ref_on_a_second_thread_and_dropped_on_a_third_orders_the_next,
    {
        use maprace::dashmap::mapref::entry::{Entry, OccupiedEntry};
        let map: &'static DashMap<u64, u64> = leaked(DashMap::new());
        map.insert(1, 1);
        // std's channels: maprace sees none of these trips.
        let (send_entry, entry_sent) = mpsc::channel::<OccupiedEntry<'static, u64, u64>>();
        let (send_on, sent_on) = mpsc::channel::<OccupiedEntry<'static, u64, u64>>();
        let (told, heard) = mpsc::channel();
        std::thread::scope(|s| {
            named("writer")
                .spawn_scoped(s, move || {
                    let Entry::Occupied(mut one) = map.entry(1) else {
                        unreachable!("inserted above")
                    };
                    *one.get_mut() += 1;
                    send_entry.send(one).unwrap();
                })
                .unwrap();
            named("reader")
                .spawn_scoped(s, move || {
                    let one = entry_sent.recv().unwrap();
                    assert_eq!(*one.get(), 2);
                    send_on.send(one).unwrap();
                })
                .unwrap();
            named("dropper")
                .spawn_scoped(s, move || {
                    drop(sent_on.recv().unwrap());
                    told.send(()).unwrap();
                })
                .unwrap();
            named("next")
                .spawn_scoped(s, move || {
                    heard.recv().unwrap();
                    // After the dropper's unlock: ordered after the write and the read.
                    *map.get_mut(&1).unwrap() += 1;
                })
                .unwrap();
        });
    },
    |out| out.assert_clean()
);

// ---------------------------------------------------------------------------------------------
// Known missed races (ignored until fixed). A guard handed over by a channel maprace does not
// see: the receiver's release (or first write) through it learns the sender's epoch as a whole,
// so what the sender did after the send, in that same epoch, counts as ordered before the
// receiver's later accesses. maprace sees no point between the send and the sender's next access
// to split the epoch at; ordering only the guard's own key instead would report the data the
// sender wrote inside the value before the send, which the hand-over does order (a false report,
// the worse bug). Each scenario below is a real race, kept here with the report it should give.

/// The schedule both missed races share: the "writer" makes a guard on key 1 of a DashMap with
/// `make` (writing through it first, or not) and sends it to the "receiver" by a std channel
/// (maprace does not see the guard's trip), then inserts key 2 into a plain map; the receiver
/// drops the guard, waits for the insert in real time through a Relaxed flag (no happens-before
/// between them: a real race, whatever maprace sees) and reads key 2.
fn a_write_after_sending<G: Send + 'static>(make: fn(&'static DashMap<u64, u64>) -> G) {
    let map: &'static DashMap<u64, u64> = leaked(DashMap::new());
    map.insert(1, 1);
    // Leaked: the std scope's end is not a join maprace sees.
    let side: &'static mut Inner = Box::leak(Box::new(maprace::HashMap::new()));
    side.insert(2, 0);
    let side = common::Shared(side as *mut Inner);
    let (send_guard, guard_sent) = mpsc::channel::<G>();
    let told: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
    let heard = told;
    std::thread::scope(|s| {
        named("writer")
            .spawn_scoped(s, move || {
                let side = side;
                send_guard.send(make(map)).unwrap();
                // After the hand-over: nothing orders it before the receiver's read.
                at!("previous", side.get().insert(2, 1));
                told.store(true, Relaxed);
            })
            .unwrap();
        named("receiver")
            .spawn_scoped(s, move || {
                let side = side;
                drop(guard_sent.recv().unwrap());
                while !heard.load(Relaxed) {
                    std::hint::spin_loop();
                }
                let _ = at!("current", side.get().get(&2));
            })
            .unwrap();
    });
}

/// The report both missed races should give: the receiver's read of key 2 and the writer's
/// insert after the send.
fn assert_read_after_the_senders_insert(out: &common::Outcome) {
    out.assert_race(
        common::Side {
            access: "Read (get) of key 2 in map#1",
            thread: "receiver",
        },
        common::Side {
            access: "write (insert) of key 2",
            thread: "writer",
        },
    )
}

scenario!(
    #[ignore = "not fixed: an owning use of a moved guard learns the sender's whole epoch, what it did after the send too (see the README's limitations)"]
    a_write_the_sender_made_after_sending_a_ref_mut_is_not_ordered_before_the_receivers_read_after_the_drop,
    {
        a_write_after_sending::<RefMut<'static, u64, u64>>(|map| {
            let mut one = map.get_mut(&1).unwrap();
            *one += 1;
            one
        })
    },
    |out| assert_read_after_the_senders_insert(&out)
);

// The same with a shared guard (`get`): its drop on the receiver learns the sender's read.
scenario!(
    #[ignore = "not fixed: an owning use of a moved guard learns the sender's whole epoch, what it did after the send too (see the README's limitations)"]
    a_write_the_sender_made_after_sending_a_ref_is_not_ordered_before_the_receivers_read_after_the_drop,
    {
        a_write_after_sending::<maprace::dashmap::mapref::one::Ref<'static, u64, u64>>(|map| {
            map.get(&1).unwrap()
        })
    },
    |out| assert_read_after_the_senders_insert(&out)
);
