//! Check-then-act (issue 14) on maps behind `maprace::parking_lot` locks (the `parking_lot`
//! feature): the same rule as behind `maprace::sync` locks, each unlock and lock an edge of the
//! same kind. As in `check_then_act.rs`, the other thread's write is made to land between the
//! check and the act (std channels, which maprace does not see); each report names the act, the
//! write and the check; each twin, fixed as a user would, runs clean.

#![cfg(feature = "parking_lot")]
// The twins check and insert under one guard on purpose (the fix a user makes first); with
// the detector compiled out the map is std's, and clippy's `map_entry` would have them use the
// entry API, the other fix, which has twins of its own.
#![allow(clippy::map_entry)]

mod common;
use common::{act, between, writer};
use maprace::parking_lot::{Mutex, RwLock, RwLockUpgradableReadGuard};
use maprace::sync::Arc;

type Map = maprace::HashMap<u64, u64>;

fn counter() -> Arc<Mutex<Map>> {
    let counts = Arc::new(Mutex::new(Map::new()));
    counts.lock().insert(7, 0);
    counts
}

scenario!(
    a_counter_read_and_written_in_two_parking_lot_critical_sections_is_reported,
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        between(
            || at!("check", counts.lock().get(&7).copied()).unwrap_or(0),
            move || _ = at!("write", other.lock().insert(7, 100)),
            |n| at!("act", counts.lock().insert(7, n + 1)),
        );
    },
    |out| out.assert_check_then_act(
        act("Act (insert) of key 7 in map#1 (HashMap<u64, u64>)"),
        writer("write (insert) of key 7"),
        "Check (get) of key 7, found present",
    )
);

scenario!(
    a_counter_updated_under_one_parking_lot_guard_runs_clean,
    {
        let counts = counter();
        let other = Arc::clone(&counts);
        let increment = |counts: &Mutex<Map>| {
            let mut map = counts.lock();
            let n = map.get(&7).copied().unwrap_or(0);
            map.insert(7, n + 1);
        };
        between(
            || increment(&counts),
            move || _ = other.lock().insert(7, 100),
            |()| increment(&counts),
        );
        assert_eq!(counts.lock()[&7], 101);
    },
    |out| out.assert_clean()
);

scenario!(
    a_parking_lot_read_guard_check_then_a_write_guard_act_is_reported,
    {
        let config = Arc::new(RwLock::new(Map::new()));
        let other = Arc::clone(&config);
        between(
            || at!("check", config.read().contains_key(&1)),
            move || _ = at!("write", other.write().insert(1, 5)),
            |present| {
                if !present {
                    at!("act", config.write().insert(1, 9));
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
    /// The fix parking_lot offers for the upgrade bug: an upgradable read guard keeps writers
    /// out from the check to the act. Another thread's read guard comes and goes between them,
    /// so the upgrade (an acquire of the readers' releases) brings news of another thread, as a
    /// lock taken again would: it still orders no write of the key between the check and the act.
    a_parking_lot_upgradable_read_upgraded_for_the_act_runs_clean,
    {
        let config = Arc::new(RwLock::new(Map::new()));
        config.write().insert(1, 0);
        let (other, reader) = (Arc::clone(&config), Arc::clone(&config));
        let (written, wait_write) = std::sync::mpsc::channel::<()>();
        let (checked, wait_check) = std::sync::mpsc::channel::<()>();
        let (read, wait_read) = std::sync::mpsc::channel::<()>();
        let writer = std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || {
                other.write().insert(1, 5);
                written.send(()).unwrap();
            })
            .unwrap();
        let reader = std::thread::Builder::new()
            .name("reader".into())
            .spawn(move || {
                wait_check.recv().unwrap();
                _ = reader.read().get(&1).copied();
                read.send(()).unwrap();
            })
            .unwrap();
        wait_write.recv().unwrap(); // std's channels: maprace sees only the lock
        let map = config.upgradable_read();
        let n = map.get(&1).copied().unwrap_or(0);
        checked.send(()).unwrap();
        wait_read.recv().unwrap();
        RwLockUpgradableReadGuard::upgrade(map).insert(1, n + 1);
        writer.join().unwrap();
        reader.join().unwrap();
        assert_eq!(config.read()[&1], 6);
    },
    |out| out.assert_clean()
);

scenario!(
    a_parking_lot_write_guard_held_across_the_check_and_the_act_runs_clean,
    {
        let config = Arc::new(RwLock::new(Map::new()));
        let other = Arc::clone(&config);
        let set_default = |config: &RwLock<Map>| {
            let mut map = config.write();
            if !map.contains_key(&1) {
                map.insert(1, 9);
            }
        };
        between(
            || config.read().len(),
            move || _ = other.write().insert(1, 5),
            |_| set_default(&config),
        );
        assert_eq!(config.read()[&1], 5);
    },
    |out| out.assert_clean()
);
