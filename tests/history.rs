//! `history=full`: the previous access's whole stack in reports; `history=location` (the
//! default): its `file:line:col` only, never less. Also how keys are shown in reports.

mod common;

use common::Side;

#[inline(never)]
fn fill_the_cache(map: &mut maprace::HashMap<u32, u32>) {
    store_one(map);
}

#[inline(never)]
fn store_one(map: &mut maprace::HashMap<u32, u32>) {
    at!("previous", map.insert(1, 1));
}

fn racy_pair(map: &mut maprace::HashMap<u32, u32>) {
    common::unordered(map, fill_the_cache, |m| {
        at!("current", m.get(&1));
    });
}

fn sides() -> (Side<'static>, Side<'static>) {
    (
        Side {
            access: "Read (get) of key 1 in map#1",
            thread: common::TEST_THREAD,
        },
        Side {
            access: "write (insert)",
            thread: "writer",
        },
    )
}

/// The lines of the report's "Previous" section, up to the blank line that ends it.
fn previous_section(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .skip_while(|l| !l.starts_with("Previous "))
        .take_while(|l| !l.is_empty())
        .collect()
}

scenario!(
    with_history_full_the_previous_access_has_its_whole_stack,
    options = "history=full",
    {
        let mut map = maprace::HashMap::new();
        racy_pair(&mut map);
    },
    |out| {
        let (current, previous) = sides();
        out.assert_race(current, previous);
        if !maprace::COMPILED_IN {
            return;
        }
        let section = previous_section(&out.stderr);
        assert!(section[1].ends_with("):"), "a stack follows\n{out}");
        let frames: Vec<&str> = section[2..]
            .iter()
            .filter(|l| !l.trim_start().starts_with("at "))
            .map(|l| l.trim())
            .collect();
        // Innermost first: the function that made the access, then its callers.
        assert_eq!(
            frames[..2],
            ["history::store_one", "history::fill_the_cache"],
            "{out}"
        );
        let site = out.site("previous");
        assert!(
            section[3].trim() == format!("at {site}:{}", column(section[0])),
            "the innermost frame is at the previous site\n{out}"
        );
    }
);

/// The column of the `file:line:col` that ends a report line.
fn column(line: &str) -> &str {
    line.rsplit(':').next().unwrap()
}

scenario!(
    with_history_location_the_previous_access_keeps_its_site,
    options = "history=location",
    {
        let mut map = maprace::HashMap::new();
        racy_pair(&mut map);
    },
    |out| {
        let (current, previous) = sides();
        out.assert_race(current, previous);
        if !maprace::COMPILED_IN {
            return;
        }
        let section = previous_section(&out.stderr);
        let site = format!(" at {}:", out.site("previous"));
        assert!(section[0].contains(&site), "{out}");
        assert!(
            column(section[0]).parse::<u32>().is_ok(),
            "file:line:col\n{out}"
        );
        assert_eq!(section.len(), 2, "no stack, only the thread\n{out}");
        assert!(!section[1].ends_with(':'), "{out}");
    }
);

#[derive(Hash, PartialEq, Eq)]
struct Point {
    x: i32,
    y: i32,
}

scenario!(
    a_key_without_a_printable_value_is_shown_by_its_hash_and_type,
    {
        let mut map = maprace::HashMap::new();
        common::unordered(
            &mut map,
            |m| at!("previous", m.insert(Point { x: 1, y: 2 }, "a")),
            |m| {
                at!("current", m.get(&Point { x: 1, y: 2 }));
            },
        );
    },
    |out| {
        out.assert_race(
            Side {
                access: "Read (get) of key <hash 0x",
                thread: common::TEST_THREAD,
            },
            Side {
                access: "write (insert)",
                thread: "writer",
            },
        );
        if maprace::COMPILED_IN {
            let headline = out.stderr.lines().nth(2).unwrap();
            let hash = &headline["Read (get) of key <hash 0x".len()..][..16];
            assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{out}");
            assert!(headline.contains("> (Point) in map#1"), "{out}");
        }
    }
);

scenario!(
    a_tuple_key_is_shown_by_its_value,
    {
        let mut map = maprace::HashMap::new();
        common::unordered(
            &mut map,
            |m| at!("previous", m.insert((String::from("eu"), 7u64, -1i32), 0)),
            |m| {
                at!("current", m.insert((String::from("eu"), 7u64, -1i32), 1));
            },
        );
    },
    |out| out.assert_race(
        Side {
            access: "Read (insert) of key (\"eu\", 7, -1) in map#1",
            thread: common::TEST_THREAD,
        },
        Side {
            access: "write (insert)",
            thread: "writer",
        },
    )
);
