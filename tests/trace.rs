//! The stats trace (`trace=1`): its line formats, its numbers, its `tracing` events, and that
//! `trace=0` (and the off build) print nothing.

mod common;

use common::Side;
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

/// One growth line, split into its fields.
#[derive(Debug)]
struct Grow {
    map: String,
    number: u64,
    old: u64,
    new: u64,
    len: u64,
    threads: u64,
    reads: u64,
    writes: u64,
    shadow: u64,
    races: u64,
    created_at: String,
}

/// `maprace: map <name> #<n> @<t>s: cap <old>-><new>, len <l>, threads <t>, reads <r>,
/// writes <w>, shadow <b> B, races <n>, created at <site>`
fn parse_grow(line: &str) -> Grow {
    let rest = line.strip_prefix("maprace: map ").expect("a growth line");
    let (head, fields) = rest.split_once(": ").expect("head: fields");
    let mut head = head.split(' ');
    let map = head.next().unwrap().to_owned();
    let number = head
        .next()
        .unwrap()
        .strip_prefix('#')
        .unwrap()
        .parse()
        .unwrap();
    let at = head.next().unwrap();
    assert!(at.starts_with('@') && at.ends_with('s'), "{line}");
    let fields: Vec<&str> = fields.split(", ").collect();
    let names: Vec<&str> = fields
        .iter()
        .map(|f| f.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "cap", "len", "threads", "reads", "writes", "shadow", "races", "created"
        ],
        "fields in order: {line}"
    );
    let value = |i: usize| fields[i].split(' ').nth(1).unwrap();
    let num = |i: usize| value(i).parse::<u64>().unwrap();
    let (old, new) = value(0).split_once("->").unwrap();
    assert!(fields[5].ends_with(" B"), "{line}");
    Grow {
        map,
        number,
        old: old.parse().unwrap(),
        new: new.parse().unwrap(),
        len: num(1),
        threads: num(2),
        reads: num(3),
        writes: num(4),
        shadow: num(5),
        races: num(6),
        created_at: fields[7].strip_prefix("created at ").unwrap().to_owned(),
    }
}

/// The exit line's numbers, by name.
fn parse_exit(line: &str) -> Vec<(String, String)> {
    let rest = line.strip_prefix("maprace: exit @").expect("the exit line");
    let (at, fields) = rest.split_once("s: ").unwrap();
    at.parse::<f64>().expect("seconds");
    fields
        .split(", ")
        .map(|f| {
            // `<name> <value>[ <unit>...]`, the name one or two words, the value a number.
            let at = f.find(|c: char| c.is_ascii_digit()).unwrap();
            let (name, value) = f.split_at(at);
            (name.trim_end().to_owned(), value.to_owned())
        })
        .collect()
}

fn trace_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("maprace: "))
        .collect()
}

const KEYS: u64 = 1000;

scenario!(
    a_map_grown_to_1000_keys_prints_consistent_growth_lines_and_an_exit_line,
    options = "trace=1",
    {
        let mut map = maprace::HashMap::new();
        common::mark("created", file!(), line!() - 1);
        for key in 0..KEYS {
            map.insert(key, key);
            assert_eq!(map.get(&key), Some(&key));
        }
        // What the program itself can read, in the exit line's words.
        println!("maprace-test: stats {}", maprace::stats());
    },
    |out| {
        assert_eq!(out.code, Some(0), "{out}");
        let lines = trace_lines(&out.stderr);
        if !maprace::COMPILED_IN {
            assert!(lines.is_empty(), "the off build traces nothing\n{out}");
            assert!(out.stdout.contains(
                "maprace-test: stats maps 0, threads 0, checks 0, races 0, peak shadow 0 B, \
                 check time 0.000 ms (0.0%)"
            ));
            return;
        }
        let (exit, grows) = lines.split_last().expect("trace lines");
        let grows: Vec<Grow> = grows.iter().map(|l| parse_grow(l)).collect();
        assert!(
            grows.len() >= 8,
            "a table doubles its way to 1000 keys\n{out}"
        );
        let mut capacity = 0;
        for (i, grow) in grows.iter().enumerate() {
            assert_eq!(grow.map, grows[0].map, "{grow:?}");
            assert_eq!(grow.number, i as u64 + 1, "{grow:?}");
            assert_eq!(grow.old, capacity, "each line starts where the last ended");
            assert!(grow.new > grow.old, "{grow:?}");
            assert!(grow.len <= grow.new && grow.len > grow.old, "{grow:?}");
            assert_eq!((grow.threads, grow.races), (1, 0), "{grow:?}");
            assert!(
                grow.shadow >= 16 * grow.new,
                "a 16-byte cell per slot: {grow:?}"
            );
            let created = format!("{}:", out.site("created"));
            assert!(grow.created_at.starts_with(&created), "{grow:?}");
            capacity = grow.new;
        }
        // Every insert added a key and each was followed by a get: the counts since the
        // previous line add up to the keys inserted up to the last growth.
        let last = grows.last().unwrap();
        let writes: u64 = grows.iter().map(|g| g.writes).sum();
        let reads: u64 = grows.iter().map(|g| g.reads).sum();
        assert_eq!(writes, last.len, "{out}");
        assert_eq!(reads, last.len - 1, "{out}");

        let exit = parse_exit(exit);
        let names: Vec<&str> = exit.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "maps",
                "threads",
                "checks",
                "races",
                "peak shadow",
                "check time"
            ],
            "exit line fields in order\n{out}"
        );
        let num = |i: usize| exit[i].1.split(' ').next().unwrap().parse::<u64>().unwrap();
        assert_eq!(num(0), 1, "maps\n{out}");
        assert!(num(1) >= 1, "threads\n{out}");
        // insert of a new key: the structure written (std's insert looks the key up after
        // making room, so nothing is read first); get: the structure and the key read; drop:
        // the structure written.
        assert_eq!(num(2), 3 * KEYS + 1, "checks\n{out}");
        assert_eq!(num(3), 0, "races\n{out}");
        assert!(exit[4].1.ends_with(" B"), "{out}");
        assert!(
            out.stderr.contains(&format!(
                "peak shadow {} B",
                last.shadow.max(grows[grows.len() - 2].shadow)
            )),
            "the peak is the biggest map's shadow\n{out}"
        );
        let time = &exit[5].1;
        assert!(time.contains(" ms (") && time.ends_with("%)"), "{out}");
        // The program's own `stats()` a moment earlier said the same, but for the drop.
        let stats = out
            .stdout
            .lines()
            .find_map(|l| l.split_once("maprace-test: stats ").map(|(_, s)| s))
            .expect("stats printed");
        assert!(
            stats.starts_with(&format!(
                "maps 1, threads {}, checks {}, races 0, peak shadow",
                num(1),
                3 * KEYS
            )),
            "{stats}\n{out}"
        );
    }
);

scenario!(
    trace_0_prints_nothing_extra,
    options = "trace=0",
    {
        let mut map = maprace::HashMap::new();
        for key in 0..100u32 {
            map.insert(key, key);
        }
        map.reserve(1000);
        let stats = maprace::stats();
        assert!(!stats.traced);
        assert_eq!(
            (stats.maps, stats.checks, stats.peak_shadow_bytes),
            (0, 0, 0)
        );
    },
    |out| out.assert_clean()
);

scenario!(
    reserve_and_shrink_print_a_line_each_capacity_change,
    options = "trace=1",
    {
        let mut map: maprace::HashMap<u8, u8> = maprace::HashMap::new();
        map.reserve(100);
        map.reserve(10); // no change, no line
        map.insert(1, 1);
        map.shrink_to_fit();
    },
    |out| {
        let lines = trace_lines(&out.stderr);
        if !maprace::COMPILED_IN {
            return assert!(lines.is_empty(), "{out}");
        }
        assert_eq!(lines.len(), 3, "two lines and the exit line\n{out}");
        let (grow, shrink) = (parse_grow(lines[0]), parse_grow(lines[1]));
        assert_eq!((grow.old, grow.len, grow.writes), (0, 0, 1), "{out}");
        assert!(grow.new >= 100);
        assert_eq!((shrink.old, shrink.len), (grow.new, 1), "{out}");
        assert!(shrink.new < shrink.old);
        // reserve (no change), insert and shrink_to_fit since the first line.
        assert_eq!((shrink.reads, shrink.writes), (0, 3), "{out}");
    }
);

/// Collects every event's target, level and fields, and prints them on stdout at once (the
/// race stops the process right after its event).
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

struct Fields(Vec<String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push(format!("{}={value:?}", field.name()));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push(format!("{}={value}", field.name()));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        let meta = event.metadata();
        let line = format!(
            "maprace-test: event {} {} {}",
            meta.target(),
            meta.level(),
            fields.0.join(" | ")
        );
        println!("{line}");
        self.0.lock().unwrap().push(line);
    }
}

fn events(out: &common::Outcome) -> Vec<&str> {
    out.stdout
        .lines()
        .filter_map(|l| l.split_once("maprace-test: event ").map(|(_, e)| e))
        .collect()
}

scenario!(
    a_scoped_subscriber_sees_growth_and_race_events_with_their_fields,
    options = "trace=1",
    {
        let subscriber = tracing_subscriber::registry().with(Capture::default());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "app", "the program's own event");
            let mut map = maprace::HashMap::new();
            common::unordered(
                &mut map,
                |m| at!("previous", m.insert((7u32, "seven"), 1)),
                |m| {
                    at!("current", m.get(&(7u32, "seven")));
                },
            );
        });
    },
    |out| {
        let events = events(&out);
        assert_eq!(
            events[0], "app INFO message=the program's own event",
            "{out}"
        );
        if !maprace::COMPILED_IN {
            assert_eq!(events.len(), 1, "{out}");
            return out.assert_clean();
        }
        out.assert_race(
            Side {
                access: "Read (get) of key (7, \"seven\") in map#1",
                thread: common::TEST_THREAD,
            },
            Side {
                access: "write (insert)",
                thread: "writer",
            },
        );
        // The growth happened on the writer thread, outside the scoped subscriber: only the
        // race, which the test's thread found, reached it.
        assert_eq!(events.len(), 2, "{out}");
        let race = events[1];
        assert!(race.starts_with("maprace ERROR "), "{race}");
        let site = out.site("current");
        let previous = out.site("previous");
        for field in [
            "message=WARNING: MAP RACE: read (get) in map#1 at ".to_owned(),
            "kind=race".to_owned(),
            "access=read".to_owned(),
            "op=get".to_owned(),
            "key=(7, \"seven\")".to_owned(),
            "map=map#1".to_owned(),
            "map_type=HashMap<(u32, &str), i32>".to_owned(),
            format!("site={site}:"),
            format!("thread=thread '{}' (T", out.test),
            "previous_access=write".to_owned(),
            "previous_op=insert".to_owned(),
            format!("previous_site={previous}:"),
            "previous_thread=thread 'writer' (T".to_owned(),
        ] {
            assert!(race.contains(&field), "expected {field:?} in {race}");
        }
    }
);

scenario!(
    growth_events_carry_the_lines_numbers_as_fields,
    options = "trace=1",
    {
        let subscriber = tracing_subscriber::registry().with(Capture::default());
        tracing::subscriber::with_default(subscriber, || {
            let mut map = maprace::HashMap::new();
            for key in 0..4u8 {
                map.insert(key, ());
            }
        });
    },
    |out| {
        let events = events(&out);
        if !maprace::COMPILED_IN {
            return assert!(events.is_empty(), "{out}");
        }
        let grows: Vec<&&str> = events.iter().filter(|e| e.contains("event=grow")).collect();
        assert_eq!(grows.len(), 2, "0->3, then 3->7\n{out}");
        for field in [
            "maprace::trace INFO ",
            "map=map#1",
            "line=2",
            "old_capacity=3",
            "new_capacity=7",
            "len=4",
            "threads=1",
            "reads=0",
            "writes=3",
            "races=0",
            "created_at=tests/trace.rs:",
        ] {
            assert!(
                grows[1].contains(field),
                "expected {field:?} in {}",
                grows[1]
            );
        }
        // The same numbers as the stderr line.
        let line = trace_lines(&out.stderr)[1];
        assert!(
            line.contains("#2 @") && line.contains("cap 3->7, len 4, threads 1, reads 0, writes 3"),
            "{line}"
        );
    }
);
