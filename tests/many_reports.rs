//! Many reports in one run with every observer on (`halt_on_error=0 history=full trace=1`):
//! sixteen races at sixteen pairs of sites, each reported once at its own sites; then several
//! threads racing on shared maps at once, so reports are made concurrently; then a
//! check-then-act. No crash, no hang, every report whole, the summary's counts equal to the
//! reports printed, exit code 66 at the end.

mod common;
use common::Shared;
use maprace::sync::{Arc, Mutex};

type Map = maprace::HashMap<u64, u64>;

/// A race whose two accesses are on the line of this macro's use: the writer's insert, then
/// this thread's get (ordered only by a std channel). Prints the line for the check.
macro_rules! race_here {
    () => {{
        println!("maprace-test: pair {}", line!());
        let mut map = Map::new();
        common::unordered(&mut map, |m| m.insert(1, 1), |m| m.get(&1).copied());
    }};
}

/// Reports in `stderr`, each as its lines from the headline to the closing rule.
fn reports(stderr: &str) -> Vec<Vec<&str>> {
    let lines: Vec<&str> = stderr.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("WARNING: MAP ") {
            let end = (i..lines.len())
                .find(|&j| lines[j].starts_with("=================="))
                .unwrap_or_else(|| panic!("a report without its closing rule:\n{stderr}"));
            found.push(lines[i..end].to_vec());
        }
    }
    found
}

scenario!(
    many_reports_with_history_full_trace_and_halt_on_error_0_are_each_whole_and_counted,
    options = "halt_on_error=0 history=full trace=1",
    {
        race_here!();
        race_here!();
        race_here!();
        race_here!();
        race_here!();
        race_here!();
        race_here!();
        race_here!();
        race_here!();
        race_here!();
        race_here!();
        race_here!();
        race_here!();
        race_here!();
        race_here!();
        race_here!();
        // The same sixteen again: each already reported, none printed again.
        for _ in 0..2 {
            race_here!();
        }
        // Threads racing at once on shared maps (reports made concurrently, at four sites).
        // Every key there before the threads start, so that no insert changes the table's
        // layout under another thread (which would corrupt it, not only race).
        let maps: Vec<Map> = (0..4).map(|_| (0..8).map(|k| (k, 0)).collect()).collect();
        let maps = Box::leak(maps.into_boxed_slice());
        let shared: Vec<Shared<Map>> = maps.iter_mut().map(|m| Shared(m as *mut Map)).collect();
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let shared = shared.clone();
                s.spawn(move || {
                    for i in 0..500u64 {
                        let map = shared[((i + t) % 4) as usize].get();
                        if i % 2 == 0 {
                            map.insert(i % 8, t);
                        } else {
                            let _ = map.get(&(i % 8));
                        }
                    }
                });
            }
        });
        // A check-then-act among them.
        let counts = Arc::new(Mutex::new(Map::new()));
        counts.lock().unwrap().insert(7, 0);
        let other = Arc::clone(&counts);
        common::between(
            || counts.lock().unwrap().get(&7).copied().unwrap(),
            move || _ = other.lock().unwrap().insert(7, 100),
            |n| counts.lock().unwrap().insert(7, n + 1),
        );
        println!("went on");
    },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_clean();
        }
        assert_eq!(out.code, Some(66), "{out}");
        assert!(out.stdout.contains("went on"), "{out}");
        assert!(out.stdout.contains(common::DONE), "{out}");
        let reports = reports(&out.stderr);
        let races: Vec<_> = reports
            .iter()
            .filter(|r| r[0] == "WARNING: MAP RACE")
            .collect();
        let ctas = reports
            .iter()
            .filter(|r| r[0] == "WARNING: MAP CHECK-THEN-ACT")
            .count();
        assert_eq!(
            races.len() + ctas,
            reports.len(),
            "only races and one check-then-act\n{out}"
        );
        assert_eq!(ctas, 1, "the check-then-act\n{out}");
        // Each of the sixteen pairs: one report, both accesses on its line.
        let pairs: Vec<u32> = out
            .stdout
            .lines()
            .filter_map(|l| {
                l.split_once("maprace-test: pair ")
                    .map(|(_, n)| n.parse().unwrap())
            })
            .collect();
        assert_eq!(pairs.len(), 18, "{out}");
        let mut lines = pairs.clone();
        lines.sort_unstable();
        lines.dedup();
        assert_eq!(lines.len(), 17, "sixteen lines and the loop's\n{out}");
        for line in lines {
            let at = format!(" at tests/many_reports.rs:{line}:");
            let here: Vec<_> = races.iter().filter(|r| r[1].contains(&at)).collect();
            assert_eq!(
                here.len(),
                1,
                "one report for the pair on line {line}\n{out}"
            );
            let report = here[0];
            assert!(
                report[1].starts_with("Read (get) of key 1 in map#"),
                "{line}: the current access\n{out}"
            );
            let previous = report
                .iter()
                .find(|l| l.starts_with("Previous "))
                .unwrap_or_else(|| panic!("{line}: no previous access\n{out}"));
            assert!(
                previous.starts_with("Previous write (insert) of the map's structure")
                    && previous.contains(&at),
                "{line}: the previous access\n{out}"
            );
            // history=full: the previous access's stack, not only its site.
            let stack = report
                .iter()
                .skip_while(|l| !l.starts_with("Previous "))
                .skip(2)
                .take_while(|l| l.starts_with("    "))
                .count();
            assert!(stack > 0, "{line}: the previous access's stack\n{out}");
        }
        // The concurrent races: each report whole (current access, thread, previous access),
        // on the threads' maps.
        for report in &races {
            assert!(
                report[2].starts_with("  by thread '"),
                "the current thread\n{out}"
            );
            assert!(
                report.iter().any(|l| l.starts_with("Previous ")),
                "the previous access\n{out}"
            );
        }
        assert!(races.len() > 16, "the threads' races too\n{out}");
        let summary = format!(
            "maprace: found {} race(s), 1 check-then-act(s)",
            races.len()
        );
        assert!(out.stderr.contains(&summary), "expected {summary:?}\n{out}");
        assert!(
            out.stderr.contains("maprace: exit @"),
            "trace=1's exit line\n{out}"
        );
    }
);
