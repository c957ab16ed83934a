//! A DashMap guard's shard is released by maprace exactly when dashmap's guard unlocks it: a
//! report raised while the guard is being made that unwinds (`action=panic`), and guards
//! written on one thread, sent by a channel maprace does not see and dropped on another (the
//! shard read from what the guard keeps), with and without the deadlock checks. The shard's
//! next holder is ordered after what the guard's thread did: never a false race.

#![cfg(feature = "dashmap")]

mod common;
use common::Shared;
use maprace::sync::Arc;

scenario!(
    /// T checks key 7, the writer writes it, T writes a plain map then acts on 7 with
    /// `get_mut` (a check-then-act: with `action=panic`, T panics inside `get_mut`, and
    /// catches it); then a thread that waited (by a std channel) takes 7's shard and reads the
    /// plain map: ordered after T's write by the shard's real lock.
    a_report_inside_get_mut_with_action_panic_still_releases_the_shard,
    options = "action=panic",
    {
        let map = Arc::new(maprace::DashMap::<u64, u64>::new());
        let filler = Arc::clone(&map);
        std::thread::spawn(move || _ = filler.insert(7, 0)).join().unwrap();
        let plain = Shared(Box::into_raw(Box::new(maprace::HashMap::<u64, u64>::new())));
        let (go, wait_go) = std::sync::mpsc::channel::<()>();
        let later = Arc::clone(&map);
        let reader = std::thread::Builder::new()
            .name("reader".into())
            .spawn(move || {
                let plain = plain;
                wait_go.recv().unwrap();
                let _shard = later.get(&7); // the shard T held, ordered after T's unlock
                let read = std::panic::catch_unwind(|| plain.get().get(&1).copied());
                println!("reader's read of the plain map reported: {}", read.is_err());
            })
            .unwrap();
        let other = Arc::clone(&map);
        let acted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            common::between(
                || map.get(&7).map(|v| *v),
                move || _ = other.insert(7, 100),
                |_| {
                    plain.get().insert(1, 1);
                    map.get_mut(&7).map(|mut v| *v += 1)
                },
            )
        }));
        println!("T's act reported: {}", acted.is_err());
        go.send(()).unwrap();
        reader.join().unwrap();
    },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_clean();
        }
        assert_eq!(out.code, Some(0), "{out}");
        assert!(out.stdout.contains("T's act reported: true"), "{out}");
        assert!(
            out.stdout
                .contains("reader's read of the plain map reported: false"),
            "{out}"
        );
    }
);

/// Guards on 32 keys (most of them on shards other than 0), each written on "maker", sent by a
/// std channel (which maprace does not see) to "dropper", which drops it; then this thread,
/// told by another std channel, reads every key: ordered after each write by the key's shard
/// lock, whose clock the drop released to, the shard read from the guard's kept bits.
fn guards_written_sent_and_dropped_elsewhere(kind: u32) {
    let map: &'static maprace::DashMap<u64, u64> = Box::leak(Box::new(maprace::DashMap::new()));
    let filler = std::thread::spawn(move || {
        for k in 0..32 {
            map.insert(k, 0);
        }
    });
    filler.join().unwrap();
    let (send, recv) = std::sync::mpsc::channel::<Box<dyn Send>>();
    let (done, wait_done) = std::sync::mpsc::channel::<()>();
    let maker = std::thread::Builder::new()
        .name("maker".into())
        .spawn(move || {
            for k in 0..32 {
                let guard: Box<dyn Send> = match kind {
                    0 => {
                        let mut g = map.get_mut(&k).unwrap();
                        *g += 1;
                        Box::new(g)
                    }
                    1 => {
                        let mut g = map.entry(k).or_insert(0);
                        *g += 1;
                        Box::new(g)
                    }
                    _ => match map.entry(k) {
                        maprace::dashmap::mapref::entry::Entry::Occupied(mut e) => {
                            *e.get_mut() += 1;
                            Box::new(e)
                        }
                        maprace::dashmap::mapref::entry::Entry::Vacant(_) => unreachable!(),
                    },
                };
                send.send(guard).unwrap();
            }
        })
        .unwrap();
    let dropper = std::thread::Builder::new()
        .name("dropper".into())
        .spawn(move || {
            for guard in recv.iter().take(32) {
                drop(guard);
            }
            done.send(()).unwrap();
        })
        .unwrap();
    wait_done.recv().unwrap();
    let sum: u64 = (0..32).map(|k| *map.get(&k).unwrap()).sum();
    assert_eq!(sum, 32);
    maker.join().unwrap();
    dropper.join().unwrap();
}

scenario!(
    refmuts_dropped_on_another_thread_release_their_shard_with_deadlock_checks_off,
    options = "deadlock=0",
    { guards_written_sent_and_dropped_elsewhere(0) },
    |out| out.assert_clean()
);

scenario!(
    entry_refmuts_dropped_on_another_thread_release_their_shard_with_deadlock_checks_off,
    options = "deadlock=0",
    { guards_written_sent_and_dropped_elsewhere(1) },
    |out| out.assert_clean()
);

scenario!(
    occupied_entries_dropped_on_another_thread_release_their_shard_with_deadlock_checks_off,
    options = "deadlock=0",
    { guards_written_sent_and_dropped_elsewhere(2) },
    |out| out.assert_clean()
);

scenario!(
    occupied_entries_dropped_on_another_thread_release_their_shard,
    { guards_written_sent_and_dropped_elsewhere(2) },
    |out| out.assert_clean()
);
