//! `maprace::crossbeam_channel` (the `crossbeam-channel` feature): each message carries its
//! sender's clock. A hand-off through a message runs clean; a write after the send is reported
//! with both sites.
#![cfg(feature = "crossbeam-channel")]

mod common;
use maprace::crossbeam_channel::{bounded, unbounded};
use std::time::{Duration, Instant};

type Map = maprace::HashMap<u32, u32>;

scenario!(
    an_insert_then_a_crossbeam_send_then_a_recv_runs_clean,
    {
        let (tx, rx) = unbounded();
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
    an_insert_after_the_crossbeam_send_is_reported,
    {
        let (tx, rx) = bounded(1);
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
    each_crossbeam_message_carries_only_its_own_senders_clock,
    {
        // Message 1 is sent before the insert, message 2 by another thread after it: receiving
        // both orders this thread after neither insert (a channel-wide clock would hide it).
        // A third sender stays alive: the channel never disconnects, which would be an edge
        // from the writer's drop of its sender, made after its insert.
        let (tx, rx) = unbounded();
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
                assert_eq!(
                    rx.try_recv(),
                    Err(maprace::crossbeam_channel::TryRecvError::Empty)
                );
                at!("current", m.get(&1));
            },
        );
    },
    |out| out.assert_get_after_insert()
);

scenario!(
    every_crossbeam_send_and_receive_carries_the_clock,
    {
        // Eight maps, each filled before its index is sent, each way of sending and receiving.
        let (tx, rx) = bounded(8);
        let mut maps: Vec<Map> = (0..8).map(|_| Map::new()).collect();
        let shared = common::Shared(&mut maps as *mut Vec<Map>);
        let sender = std::thread::spawn(move || {
            let shared = shared;
            for i in 0..8 {
                shared.get()[i].insert(1, 1);
                match i % 4 {
                    0 => tx.send(i).unwrap(),
                    1 => tx.try_send(i).unwrap(),
                    2 => tx.send_timeout(i, Duration::from_secs(10)).unwrap(),
                    _ => tx
                        .send_deadline(i, Instant::now() + Duration::from_secs(10))
                        .unwrap(),
                }
            }
        });
        let ten_seconds = Duration::from_secs(10);
        let mut received = vec![rx.recv_timeout(ten_seconds).unwrap()];
        received.push(rx.recv_deadline(Instant::now() + ten_seconds).unwrap());
        received.push(loop {
            if let Ok(i) = rx.try_recv() {
                break i;
            }
        });
        received.push(rx.recv().unwrap());
        received.extend(rx.clone().into_iter().take(2));
        received.extend((&rx).into_iter().take(1));
        sender.join().unwrap(); // all sent: what is left is waiting
        received.extend(rx.try_iter());
        assert_eq!(received, (0..8).collect::<Vec<_>>());
        for i in received {
            maps[i].get(&1);
        }
    },
    |out| out.assert_clean()
);

scenario!(
    a_rendezvous_channel_hands_the_clock_over,
    {
        // `bounded(0)`: the send waits for the receive (so not through `common::unordered`,
        // which runs the writer to its end first).
        let (tx, rx) = bounded(0);
        let mut map = Map::new();
        let shared = common::Shared(&mut map as *mut Map);
        let writer = std::thread::spawn(move || {
            let shared = shared;
            shared.get().insert(1, 1);
            tx.send(()).unwrap();
        });
        rx.recv().unwrap();
        assert_eq!(shared.get().get(&1), Some(&1));
        writer.join().unwrap();
    },
    |out| out.assert_clean()
);

scenario!(
    a_failed_send_hands_the_message_back_and_orders_nothing,
    {
        let (tx, rx) = bounded::<Map>(0);
        drop(rx);
        let map = tx.send(Map::new()).unwrap_err().into_inner();
        assert!(map.is_empty());
        let (tx, _rx) = bounded(0);
        assert!(tx.try_send(1).unwrap_err().is_full());
        assert!(
            tx.send_timeout(1, Duration::from_millis(1))
                .unwrap_err()
                .is_timeout()
        );
    },
    |out| out.assert_clean()
);

scenario!(
    a_crossbeam_recv_that_finds_every_sender_gone_runs_clean,
    {
        let (tx, rx) = unbounded::<()>();
        let mut map = Map::new();
        common::unordered(
            &mut map,
            move |m| {
                m.insert(1, 1);
                drop(tx);
            },
            |m| {
                assert!(rx.recv().is_err());
                assert!(rx.recv_timeout(Duration::from_secs(10)).is_err());
                m.get(&1);
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    a_crossbeam_recv_that_finds_the_senders_gone_is_not_ordered_after_an_insert_made_after_the_drop,
    {
        let (tx, rx) = unbounded::<()>();
        let mut map = Map::new();
        common::unordered(
            &mut map,
            move |m| {
                drop(tx);
                at!("previous", m.insert(1, 1));
            },
            |m| {
                assert!(rx.try_recv().is_err());
                at!("current", m.get(&1));
            },
        );
    },
    |out| out.assert_get_after_insert()
);

scenario!(
    a_crossbeam_send_that_finds_every_receiver_gone_runs_clean,
    {
        let (tx, rx) = bounded::<()>(1);
        let mut map = Map::new();
        common::unordered(
            &mut map,
            move |m| {
                m.insert(1, 1);
                drop(rx);
            },
            |m| {
                assert!(tx.send(()).is_err());
                m.get(&1);
            },
        );
    },
    |out| out.assert_clean()
);

scenario!(
    a_crossbeam_message_dropped_undelivered_with_the_channel_runs_clean,
    {
        let (tx, rx) = unbounded::<Box<Map>>();
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

scenario!(
    a_crossbeam_worker_pool_of_eight_runs_clean,
    {
        // Jobs go out on one channel to eight workers (a cloned receiver each), each job a map
        // that the worker fills and sends back; the results come back on another channel.
        let (jobs, queue) = unbounded::<(u32, Map)>();
        let (results, done) = unbounded::<(u32, Map)>();
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let (queue, results) = (queue.clone(), results.clone());
                std::thread::spawn(move || {
                    for (job, mut map) in queue {
                        for k in 0..100 {
                            map.insert(k, job * k);
                        }
                        results.send((job, map)).unwrap();
                    }
                })
            })
            .collect();
        drop((queue, results));
        let mut maps: Vec<Map> = Vec::new();
        for job in 0..1_000u32 {
            let mut map = maps.pop().unwrap_or_default();
            map.clear();
            jobs.send((job, map)).unwrap();
            if job >= 16 {
                let (job, map) = done.recv().unwrap();
                assert_eq!(map.get(&99), Some(&(job * 99)));
                maps.push(map);
            }
        }
        drop(jobs);
        for (job, map) in done.iter() {
            assert_eq!(map.len(), 100);
            assert_eq!(map[&7], job * 7);
        }
        for worker in workers {
            worker.join().unwrap();
        }
    },
    |out| out.assert_clean()
);
