//! Read-set churn on racy keys (sets made, grown, retired and handed out again) must not
//! corrupt the verdict of other keys, whose accesses are ordered by a maprace RwLock (readers
//! unordered with each other: read sets, grown past 4 and 8 slots; writers after all of them).
//! Every report must name a racy key.
mod common;
use common::Shared;
use maprace::sync::RwLock;

type Map = maprace::HashMap<u32, u32>;

const RACY: u32 = 4; // keys 0..4 raced on
const KEYS: u32 = 12;

scenario!(
    racy_keys_churning_read_sets_leave_the_ordered_keys_clean,
    options = "halt_on_error=0 check_then_act=0",
    {
        let mut map = Map::new();
        for k in 0..KEYS {
            map.insert(k, 0);
        }
        let shared = Shared(&mut map as *mut Map);
        let lock = RwLock::new(());
        std::thread::scope(|s| {
            // Racy threads: reads and writes of keys 0..4 with nothing between them.
            for t in 0..4u32 {
                s.spawn(move || {
                    let shared = shared;
                    let mut x = t.wrapping_mul(2654435761);
                    for i in 0..200_000u32 {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        let k = x % RACY;
                        if i % 5 == 0 {
                            shared.get().insert(k, i);
                        } else {
                            std::hint::black_box(shared.get().get(&k));
                        }
                    }
                });
            }
            // Ordered threads: keys 4..12 read under the read lock (unordered readers: sets),
            // written under the write lock.
            for t in 0..10u32 {
                let lock = &lock;
                s.spawn(move || {
                    let shared = shared;
                    for i in 0..30_000u32 {
                        let k = RACY + (i + t) % (KEYS - RACY);
                        if (i + t) % 7 == 0 {
                            let _w = lock.write().unwrap();
                            shared.get().insert(k, i);
                        } else {
                            let _r = lock.read().unwrap();
                            std::hint::black_box(shared.get().get(&k));
                        }
                    }
                });
            }
        });
    },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_clean();
        }
        let mut reports = 0;
        for line in out.stderr.lines() {
            if let Some(at) = line.find(" of key ") {
                let key: u32 = line[at + 8..]
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(key < RACY, "a report on an ordered key: {line}\n{out}");
                reports += 1;
            }
        }
        assert!(reports > 0, "the racy keys are reported\n{out}");
    }
);
