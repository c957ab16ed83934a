//! Runs detector scenarios in child processes and asserts on what they print.
//!
//! A report stops the process (exit code 66), and the detector's state is process-wide, so each
//! scenario runs in a child: the same test binary, filtered to the one test, with
//! `MAPRACE_CHILD` naming it. In the child, `scenario!` runs the body and exits; in the parent
//! it starts the child and hands its output to the checks.
//!
//! Sites: a scenario marks the accesses a report must name with `at!("current", expr)` and
//! `at!("previous", expr)`. The child prints each mark's `file:line` on stdout before running
//! the expression, and `Outcome::assert_race` checks that the report names exactly those lines.

#![allow(dead_code, unreachable_pub)] // each test file uses a different part

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable that makes a test binary run one scenario as a child.
const CHILD: &str = "MAPRACE_CHILD";
/// Printed by a child whose scenario ran to its end.
pub const DONE: &str = "maprace-test: scenario done";

/// What a child printed and how it ended.
#[derive(Debug)]
pub struct Outcome {
    /// The test's name, which is also the name of the thread the scenario starts on (libtest
    /// runs each test on a thread named after it).
    pub test: String,
    pub code: Option<i32>,
    /// The signal that ended the child, if one did.
    pub signal: Option<i32>,
    /// The child was still running at its deadline, and was killed (see `scenario!`'s
    /// `hangs_after`).
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
}

/// How the message of a panic raised by `action=panic` starts: the kind, then the report.
pub const PANICKED_WITH_REPORT: &str = "maprace: map race\n==================\nWARNING: MAP RACE\n";

/// The thread a scenario starts on (named after the test).
pub const TEST_THREAD: &str = "<the test's thread>";

/// One side of an expected race: the report's words for the access and the thread's name.
pub struct Side<'a> {
    /// E.g. `"Write (insert) of key 1"` for the current access, or `"read (get)"` for the
    /// previous one (the report writes `Previous read (get) ...`).
    pub access: &'a str,
    pub thread: &'a str,
}

/// The sides of the race most scenarios make: the "writer" thread's insert of key 1 into the
/// (empty) first map, which writes its structure, then the test thread's `get` of it.
pub fn get_after_insert() -> (Side<'static>, Side<'static>) {
    (
        Side {
            access: "Read (get) of key 1 in map#1",
            thread: TEST_THREAD,
        },
        Side {
            access: "write (insert) of the map's structure",
            thread: "writer",
        },
    )
}

/// Marks an access whose site the report must name, then evaluates it.
#[macro_export]
macro_rules! at {
    ($label:literal, $access:expr) => {{
        $crate::common::mark($label, file!(), line!());
        $access
    }};
}

/// Defines a `#[test]` that runs `$body` in a child process with `MAPRACE_OPTIONS=$options`,
/// then runs `$check` on the child's `Outcome` in the parent.
///
/// The deadline for a scenario that may hang (`hangs_after = common::hangs_after()`): long
/// enough for a deadlock check under a loaded machine when the detector is compiled in (where
/// the program must be reported, not hang), short in the off build (where it must hang).
pub fn hangs_after() -> Duration {
    if maprace::COMPILED_IN {
        Duration::from_secs(100)
    } else {
        Duration::from_secs(2)
    }
}

/// With `hangs_after = $deadline`, a child still running at the deadline is killed and its
/// outcome says `timed_out` (a program that hangs: the off build of a deadlock scenario).
#[macro_export]
macro_rules! scenario {
    ($(#[$attr:meta])* $name:ident, options = $options:expr, hangs_after = $deadline:expr, $body:block, |$out:ident| $check:expr) => {
        $(#[$attr])*
        #[test]
        fn $name() {
            if let Some($out) = $crate::common::child_until(stringify!($name), $options, Some($deadline), || $body) {
                $check
            }
        }
    };
    ($(#[$attr:meta])* $name:ident, hangs_after = $deadline:expr, $body:block, |$out:ident| $check:expr) => {
        $crate::scenario!($(#[$attr])* $name, options = "", hangs_after = $deadline, $body, |$out| $check);
    };
    ($(#[$attr:meta])* $name:ident, options = $options:expr, $body:block, |$out:ident| $check:expr) => {
        $(#[$attr])*
        #[test]
        fn $name() {
            if let Some($out) = $crate::common::child(stringify!($name), $options, || $body) {
                $check
            }
        }
    };
    ($(#[$attr:meta])* $name:ident, $body:block, |$out:ident| $check:expr) => {
        $crate::scenario!($(#[$attr])* $name, options = "", $body, |$out| $check);
    };
}

pub fn mark(label: &str, file: &str, line: u32) {
    println!("maprace-test: site {label} {file}:{line}");
}

/// In the child (the process started for `name`): runs `scenario`, prints `DONE` and exits 0.
/// In the parent: starts the child and returns its outcome.
pub fn child(name: &str, options: &str, scenario: impl FnOnce()) -> Option<Outcome> {
    child_full(name, options, None, |_| {}, scenario)
}

/// `child`, with the child's command changed by `configure` first (its directory, say).
pub fn child_with(
    name: &str,
    options: &str,
    configure: impl FnOnce(&mut Command),
    scenario: impl FnOnce(),
) -> Option<Outcome> {
    child_full(name, options, None, configure, scenario)
}

/// `child`, where a child still running after `hangs_after` is killed and reported as
/// `timed_out` (instead of failing the test at `CHILD_DEADLINE`).
pub fn child_until(
    name: &str,
    options: &str,
    hangs_after: Option<Duration>,
    scenario: impl FnOnce(),
) -> Option<Outcome> {
    child_full(name, options, hangs_after, |_| {}, scenario)
}

/// `child`, with both `hangs_after` and `configure`.
fn child_full(
    name: &str,
    options: &str,
    hangs_after: Option<Duration>,
    configure: impl FnOnce(&mut Command),
    scenario: impl FnOnce(),
) -> Option<Outcome> {
    if std::env::var(CHILD).as_deref() == Ok(name) {
        scenario();
        println!("{DONE}");
        std::process::exit(0);
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut command = Command::new(exe);
    command
        .args([
            name,
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "--include-ignored",
        ])
        .env(CHILD, name)
        .env("MAPRACE_OPTIONS", options)
        .env_remove("RUST_BACKTRACE");
    configure(&mut command);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the child process");
    let stdout = read_all(child.stdout.take());
    let stderr = read_all(child.stderr.take());
    // A detector that hangs must fail the test, not the whole run.
    let deadline = Instant::now() + CHILD_DEADLINE;
    let hang_deadline = hangs_after.map(|after| Instant::now() + after);
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if hang_deadline.is_some_and(|at| Instant::now() > at) {
            let _ = child.kill();
            timed_out = true;
            break child.wait().expect("wait for the killed child");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{name}: the child did not end within {CHILD_DEADLINE:?}\n--- stdout:\n{}\n--- stderr:\n{}",
                stdout.join().unwrap(),
                stderr.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Some(Outcome {
        test: name.to_owned(),
        code: status.code(),
        timed_out,
        signal: std::os::unix::process::ExitStatusExt::signal(&status),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    })
}

/// How long a scenario may run (the slowest take about a second; a machine under load, more).
const CHILD_DEADLINE: Duration = Duration::from_secs(120);

/// Reads a child's pipe to its end on a thread of its own (so neither pipe can fill and block).
fn read_all(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    let mut pipe = pipe.expect("a piped stream");
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

impl Outcome {
    /// The `file:line` the child marked with `label`.
    pub fn site(&self, label: &str) -> String {
        let prefix = format!("maprace-test: site {label} ");
        let mut sites: Vec<&str> = self
            .stdout
            .lines()
            .filter_map(|l| l.split_once(&prefix).map(|(_, site)| site)) // libtest's own line may come first
            .collect();
        sites.dedup(); // a mark in code that several threads run
        match sites.as_slice() {
            [site] => site.to_string(),
            _ => panic!("expected one site marked {label:?}, found {sites:?}\n{self}"),
        }
    }

    /// The scenario ran to its end and nothing was reported.
    pub fn assert_clean(&self) {
        assert!(
            self.stdout.contains(DONE),
            "the scenario did not finish\n{self}"
        );
        assert_eq!(self.code, Some(0), "exit code\n{self}");
        assert!(
            !self.stderr.contains("WARNING: MAP") && !self.stderr.contains("maprace:"),
            "unexpected report\n{self}"
        );
    }

    /// Exactly one map race was reported and the child stopped with code 66: the headline, the
    /// current access at the site marked "current" by `current.thread`, the previous access at
    /// the site marked "previous" by `previous.thread`.
    ///
    /// In a build without the detector (the off build), the same scenario must run clean.
    pub fn assert_race(&self, current: Side<'_>, previous: Side<'_>) {
        if !maprace::COMPILED_IN {
            return self.assert_clean();
        }
        self.assert_report_shape(66, "stopping at the first race (exit code 66)");
        self.assert_sides(current, previous);
    }

    /// The race most synchronized twins report when their synchronization is missing (see
    /// `get_after_insert`).
    pub fn assert_get_after_insert(&self) {
        let (current, previous) = get_after_insert();
        self.assert_race(current, previous);
    }

    /// The report's two sides, whatever the policy that followed it.
    pub fn assert_sides(&self, current: Side<'_>, previous: Side<'_>) {
        let lines: Vec<&str> = self.stderr.lines().collect();
        let headline = lines
            .iter()
            .position(|l| *l == "WARNING: MAP RACE")
            .unwrap_or_else(|| panic!("no headline\n{self}"));
        let current_line = lines[headline + 1];
        assert!(
            current_line.starts_with(current.access),
            "current access: expected {:?}\n{self}",
            current.access
        );
        let current_site = format!(" at {}:", self.site("current"));
        assert!(
            current_line.contains(&current_site),
            "current access: expected the site{current_site}\n{self}"
        );
        assert!(
            lines[headline + 2].starts_with(&format!("  by thread '{}' (T", self.thread(&current))),
            "current thread: expected {:?}\n{self}",
            current.thread
        );
        let previous_at = lines
            .iter()
            .position(|l| l.starts_with("Previous "))
            .unwrap_or_else(|| panic!("no previous access\n{self}"));
        let previous_line = lines[previous_at];
        assert!(
            previous_line.starts_with(&format!("Previous {}", previous.access)),
            "previous access: expected {:?}\n{self}",
            previous.access
        );
        let previous_site = format!(" at {}:", self.site("previous"));
        assert!(
            previous_line.contains(&previous_site),
            "previous access: expected the site{previous_site}\n{self}"
        );
        assert!(
            lines[previous_at + 1]
                .starts_with(&format!("  by thread '{}' (T", self.thread(&previous))),
            "previous thread: expected {:?}\n{self}",
            previous.thread
        );
    }

    /// Exactly one check-then-act was reported and the child stopped with code 66: the
    /// headline, then the act (`act.access`, e.g. `"Act (insert) of key 7 in map#1"`) at the
    /// site marked "act" by `act.thread`, the other thread's write (`write.access`, e.g.
    /// `"write (insert) of key 7"`, after `Other thread's `) at the site marked "write" by
    /// `write.thread`, and the check (`check`, e.g. `"Check (get) of key 7, found present"`) at
    /// the site marked "check" by the act's thread. No race report.
    ///
    /// In a build without the detector (the off build), the same scenario must run clean.
    pub fn assert_check_then_act(&self, act: Side<'_>, write: Side<'_>, check: &str) {
        if !maprace::COMPILED_IN {
            return self.assert_clean();
        }
        assert_eq!(self.code, Some(66), "exit code\n{self}");
        assert_eq!(
            self.stderr.matches("WARNING: MAP CHECK-THEN-ACT").count(),
            1,
            "one check-then-act report\n{self}"
        );
        assert!(
            !self.stderr.contains("WARNING: MAP RACE"),
            "a race report\n{self}"
        );
        assert!(
            self.stderr
                .contains("maprace: stopping at the first check-then-act (exit code 66)"),
            "the trailer\n{self}"
        );
        assert!(
            !self.stdout.contains(DONE),
            "the scenario went on after the report\n{self}"
        );
        self.assert_cta_sides(act, write, check);
    }

    /// The three parts of a check-then-act report (see `assert_check_then_act`), whatever the
    /// policy that followed it.
    pub fn assert_cta_sides(&self, act: Side<'_>, write: Side<'_>, check: &str) {
        let lines: Vec<&str> = self.stderr.lines().collect();
        let headline = lines
            .iter()
            .position(|l| *l == "WARNING: MAP CHECK-THEN-ACT")
            .unwrap_or_else(|| panic!("no headline\n{self}"));
        let act_thread = self.thread(&act);
        let by = |thread: &str| format!("  by thread '{thread}' (T");
        let part = |from: usize, starts: &str, label: &str, thread: &str| {
            let at = (from..lines.len())
                .find(|&i| lines[i].starts_with(starts))
                .unwrap_or_else(|| panic!("no line starting {starts:?}\n{self}"));
            let site = format!(" at {}:", self.site(label));
            assert!(
                lines[at].contains(&site),
                "{label}: expected the site{site}\n{self}"
            );
            assert!(
                lines[at + 1].starts_with(&by(thread)),
                "{label}: expected thread {thread:?}\n{self}"
            );
            at
        };
        let act_at = part(headline + 1, act.access, "act", act_thread);
        assert_eq!(act_at, headline + 1, "the act comes first\n{self}");
        let write_at = part(
            act_at,
            &format!("Other thread's {}", write.access),
            "write",
            self.thread(&write),
        );
        let check_at = part(write_at, check, "check", act_thread);
        assert!(
            lines[check_at + 1]
                .ends_with(", before it last took a lock that another thread had held"),
            "check: when\n{self}"
        );
    }

    fn thread<'a>(&'a self, side: &Side<'a>) -> &'a str {
        if side.thread == TEST_THREAD {
            &self.test
        } else {
            side.thread
        }
    }

    /// One report was printed and raised as a panic's message (`action=panic`), which the panic
    /// hook printed too; the panic was caught, and the program went on to the end of the
    /// scenario and exited 0.
    pub fn assert_clean_exit_after_report(&self) {
        assert_eq!(self.code, Some(0), "exit code\n{self}");
        assert!(
            self.stdout.contains(DONE),
            "the scenario did not finish\n{self}"
        );
        assert_eq!(
            self.stderr.matches(PANICKED_WITH_REPORT).count(),
            1,
            "one panic carrying the report\n{self}"
        );
        assert_eq!(
            self.stderr.matches("WARNING: MAP RACE").count(),
            2,
            "one report, printed and in the panic's message\n{self}"
        );
    }

    /// The child was still running at its `hangs_after` deadline (it hung), having printed no
    /// report.
    pub fn assert_hangs(&self) {
        assert!(self.timed_out, "expected the program to hang\n{self}");
        assert!(
            !self.stderr.contains("WARNING: MAP"),
            "unexpected report\n{self}"
        );
    }

    /// The child either hung or finished, and printed no report (a latent deadlock in the off
    /// build: it hangs when the keys share a shard in that run).
    pub fn assert_hangs_or_finishes(&self) {
        if self.timed_out {
            self.assert_hangs();
        } else {
            self.assert_clean();
        }
    }

    /// Exactly one deadlock was reported, `certain` or `latent` as `verdict` says, and the
    /// child stopped with code 66: the blocking call's line starts with `call` and names the
    /// site marked "call" by `thread`; for each label in `guards`, a `Guard` line names the site
    /// marked with it.
    pub fn assert_deadlock(&self, verdict: &str, call: &str, guards: &[&str]) {
        self.assert_deadlock_shape(66, "stopping at the first deadlock (exit code 66)");
        self.assert_deadlock_sides(verdict, call, guards);
    }

    /// A certain deadlock as `assert_deadlock` says; in the off build (plain dashmap, std
    /// locks), the same program hangs.
    pub fn assert_deadlock_or_hang(&self, call: &str, guards: &[&str]) {
        if maprace::COMPILED_IN {
            self.assert_deadlock("certain", call, guards);
        } else {
            self.assert_hangs();
        }
    }

    /// A lock-order cycle of two threads, each holding the guard marked "first guard" or
    /// "second guard" and blocking on the other's lock: one certain deadlock, as
    /// `assert_deadlock` says, whose blocking call starts with `call`; with `waits_for` (a lock
    /// type's name), the report says the other thread waits for a lock of that type. In the off
    /// build, the same program hangs.
    pub fn assert_lock_cycle(&self, call: &str, waits_for: Option<&str>) {
        if !maprace::COMPILED_IN {
            return self.assert_hangs();
        }
        self.assert_deadlock("certain", call, &["first guard", "second guard"]);
        if let Some(lock_type) = waits_for {
            let wait = format!(", which waits for {lock_type} 0x");
            assert!(
                self.stderr.contains(&wait),
                "the other thread's wait: expected {wait:?}\n{self}"
            );
        }
    }

    /// One deadlock report, closed by its rule, then `stopping` and the exit `code`.
    pub fn assert_deadlock_shape(&self, code: i32, stopping: &str) {
        assert_eq!(self.code, Some(code), "exit code\n{self}");
        assert_eq!(
            self.stderr.matches("WARNING: MAP").count(),
            1,
            "one report\n{self}"
        );
        assert!(
            self.stderr.contains(&format!("maprace: {stopping}")),
            "expected `maprace: {stopping}`\n{self}"
        );
        assert!(
            !self.stdout.contains(DONE),
            "the scenario went on after the report\n{self}"
        );
    }

    /// The deadlock report's headline, call and guards (see `assert_deadlock`), whatever the
    /// policy that followed it.
    pub fn assert_deadlock_sides(&self, verdict: &str, call: &str, guards: &[&str]) {
        let lines: Vec<&str> = self.stderr.lines().collect();
        let headline = lines
            .iter()
            .position(|l| l.starts_with("WARNING: MAP DEADLOCK"))
            .unwrap_or_else(|| panic!("no deadlock headline\n{self}"));
        assert_eq!(
            lines[headline],
            format!("WARNING: MAP DEADLOCK ({verdict})"),
            "verdict\n{self}"
        );
        let call_line = lines[headline + 1];
        assert!(
            call_line.starts_with(call),
            "the call: expected {call:?}\n{self}"
        );
        let call_site = format!(" at {}:", self.site("call"));
        assert!(
            call_line.contains(&call_site),
            "the call: expected the site{call_site}\n{self}"
        );
        for label in guards {
            let site = format!(" held since {}:", self.site(label));
            assert!(
                lines[headline..]
                    .iter()
                    .any(|l| l.starts_with("Guard ") && l.contains(&site)),
                "guard {label:?}: expected a Guard line{site}\n{self}"
            );
        }
    }

    /// One report, closed by its rule, then `stopping` and the exit `code`.
    pub fn assert_report_shape(&self, code: i32, stopping: &str) {
        assert_eq!(self.code, Some(code), "exit code\n{self}");
        assert_eq!(
            self.stderr.matches("WARNING: MAP RACE").count(),
            1,
            "one report\n{self}"
        );
        assert!(
            self.stderr.contains(&format!("maprace: {stopping}")),
            "expected `maprace: {stopping}`\n{self}"
        );
        assert!(
            !self.stdout.contains(DONE),
            "the scenario went on after the report\n{self}"
        );
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- exit code: {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A check-then-act report's act side: this (the test's) thread, as `between` runs it.
pub fn act(access: &'static str) -> Side<'static> {
    Side {
        access,
        thread: TEST_THREAD,
    }
}

/// A check-then-act report's other side: the thread `between` names "writer".
pub fn writer(access: &'static str) -> Side<'static> {
    Side {
        access,
        thread: "writer",
    }
}

/// Runs `check` on this thread, then `write` on a thread named "writer", then `act` on this
/// thread with what `check` returned. The writer waits for the check, and this thread for the
/// write, through std channels (which maprace does not see), so the write lands between.
pub fn between<C, R>(
    check: impl FnOnce() -> C,
    write: impl FnOnce() + Send,
    act: impl FnOnce(C) -> R,
) -> R {
    let (checked, wait_check) = std::sync::mpsc::channel::<()>();
    let (written, wait_write) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|s| {
        let writer = std::thread::Builder::new()
            .name("writer".into())
            .spawn_scoped(s, move || {
                wait_check.recv().unwrap();
                write();
                written.send(()).unwrap();
            })
            .unwrap();
        let seen = check();
        checked.send(()).unwrap();
        wait_write.recv().unwrap();
        let result = act(seen);
        writer.join().unwrap(); // visible: the end of a std scope is not
        result
    })
}

/// A map's address, sendable to another thread: how unsafe code and FFI share maps, and the
/// way every racy scenario here shares one.
pub struct Shared<M>(pub *mut M);

impl<M> Clone for Shared<M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M> Copy for Shared<M> {}
// SAFETY: these scenarios exist to make the detector see unsynchronized sharing.
unsafe impl<M> Send for Shared<M> {}

impl<M> Shared<M> {
    /// # Safety
    /// None: the scenarios use it to race on purpose.
    #[allow(clippy::mut_from_ref)]
    pub fn get(&self) -> &mut M {
        // SAFETY: the map outlives every thread of the scenario (they are joined before it is
        // dropped); the aliasing is the bug under test.
        unsafe { &mut *self.0 }
    }
}

/// Runs `first` on a thread named "writer", then `second` on this thread once the writer is done
/// in real time — told through a std channel, which maprace cannot see, so nothing orders the
/// two for the detector. The writer stays alive until `second` is over, then is joined.
pub fn unordered<M, A, B>(
    map: &mut M,
    first: impl FnOnce(&mut M) -> A + Send,
    second: impl FnOnce(&mut M) -> B,
) {
    let shared = Shared(map as *mut M);
    let (done, finished) = std::sync::mpsc::channel();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|s| {
        let writer = std::thread::Builder::new()
            .name("writer".into())
            .spawn_scoped(s, move || {
                let shared = shared;
                drop(first(shared.get()));
                done.send(()).unwrap();
                let _ = stopped.recv();
            })
            .unwrap();
        finished.recv().unwrap();
        // `second` may panic (`action=panic`): the writer is joined first all the same.
        let second = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            drop(second(shared.get()));
        }));
        drop(stop);
        // A visible join: the end of a std scope is not one, and the map is dropped next.
        writer.join().unwrap();
        if let Err(panic) = second {
            std::panic::resume_unwind(panic);
        }
    });
}

/// The synchronized twin of `unordered`: `second` runs after the writer was joined.
pub fn joined<M, A, B>(
    map: &mut M,
    first: impl FnOnce(&mut M) -> A + Send,
    second: impl FnOnce(&mut M) -> B,
) {
    let shared = Shared(map as *mut M);
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("writer".into())
            .spawn_scoped(s, move || {
                let shared = shared;
                drop(first(shared.get()));
            })
            .unwrap()
            .join()
            .unwrap();
    });
    drop(second(map));
}
