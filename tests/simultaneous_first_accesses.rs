//! Two first accesses at the same instant see each other (issue 10, point 7).
//!
//! (The case is an iteration of a still-empty map racing with an insert; `len` makes
//! the same check of the map's structure.)
//!
//! A first read and a first write of a cell each store their word and then load the other's.
//! Without a store-load fence between the two, both loads may run before either store is
//! visible (store buffering), and if neither thread touches the cell again nothing ever finds
//! the race (about 1 pair in 1,000 on the development machine). Here thousands of such pairs,
//! each on a map of its own, started together by a spin barrier maprace cannot see: every
//! map must end with its race found. Reports of the same two sites are printed once, so each
//! map's own race count (the stats trace's `races` field) tells which were found.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

const PAIRS: usize = 20_000;

/// `at!`, marking the site in the first round only (the report names it once).
macro_rules! at_first {
    ($label:literal, $round:expr, $access:expr) => {{
        if $round == 0 {
            common::mark($label, file!(), line!());
        }
        $access
    }};
}

/// Two threads meet at each round of a spin barrier (std atomics: no edge for maprace).
struct Meet(AtomicUsize);

impl Meet {
    fn round(&self, round: usize) {
        self.0.fetch_add(1, Ordering::AcqRel);
        while self.0.load(Ordering::Acquire) < 2 * (round + 1) {
            std::hint::spin_loop();
        }
    }
}

scenario!(
    a_read_and_an_insert_at_the_same_instant_on_fresh_maps_are_always_reported,
    options = "halt_on_error=0 trace=1",
    {
        let mut maps: Vec<maprace::HashMap<u64, u64>> =
            (0..PAIRS).map(|_| maprace::HashMap::new()).collect();
        let shared = common::Shared(maps.as_mut_ptr());
        let meet = Meet(AtomicUsize::new(0));
        std::thread::scope(|s| {
            let meet = &meet;
            let reader = std::thread::Builder::new()
                .name("reader".into())
                .spawn_scoped(s, move || {
                    let shared = shared;
                    for round in 0..PAIRS {
                        meet.round(round);
                        // SAFETY: the vector outlives both threads and is not resized; the
                        // aliasing with the writer is the race under test.
                        let map = unsafe { &*shared.0.add(round) };
                        // `len` reads the structure as `iter` does, and its real work (one
                        // word) cannot crash on a table the writer is replacing.
                        at_first!("previous", round, map.len());
                    }
                })
                .unwrap();
            let writer = std::thread::Builder::new()
                .name("writer".into())
                .spawn_scoped(s, move || {
                    let shared = shared;
                    for round in 0..PAIRS {
                        meet.round(round);
                        // SAFETY: as for the reader.
                        let map = unsafe { &mut *shared.0.add(round) };
                        at_first!("current", round, map.insert(1, 1));
                    }
                })
                .unwrap();
            // Joined, so that what follows is ordered after both.
            reader.join().unwrap();
            writer.join().unwrap();
        });
        for map in &mut maps {
            map.reserve(100); // a trace line with the map's race count
        }
    },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_clean();
        }
        assert_eq!(out.code, Some(66), "exit code\n{}", tail(&out.stderr));
        // The last trace line of each map (the `reserve`) says how many races it had.
        let mut last = std::collections::HashMap::new();
        for line in out.stderr.lines() {
            if let Some(rest) = line.strip_prefix("maprace: map ") {
                let name = rest.split(' ').next().unwrap();
                let races: u64 = rest
                    .split(", races ")
                    .nth(1)
                    .and_then(|r| r.split(',').next())
                    .and_then(|r| r.parse().ok())
                    .expect("a races field");
                last.insert(name.to_owned(), races);
            }
        }
        assert_eq!(
            last.len(),
            PAIRS,
            "a trace line per map\n{}",
            tail(&out.stderr)
        );
        let missed = last.values().filter(|&&races| races == 0).count();
        assert_eq!(missed, 0, "pairs whose race nobody found, of {PAIRS}");
        // The first is printed as any report: both sites, either order.
        assert!(out.stderr.contains("WARNING: MAP RACE"));
        let (reader, writer) = (out.site("previous"), out.site("current"));
        assert!(
            out.stderr.contains(&format!(" at {reader}:"))
                && out.stderr.contains(&format!(" at {writer}:")),
            "both sites named\n{}",
            tail(&out.stderr)
        );
        assert!(out.stderr.contains("maprace: found "), "the summary");
    }
);

/// The end of a long stderr, for failure messages.
fn tail(text: &str) -> &str {
    &text[text.len().saturating_sub(4000)..]
}
