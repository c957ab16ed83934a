//! `MAPRACE_OPTIONS`: each option changes what a report does, and bad input stops the program at
//! start with a message that names it.

mod common;

type Map = maprace::HashMap<u32, u32>;

/// A race on key 1: an insert on "writer", then a `get` on the test's thread.
fn race_on_key_one() {
    let mut map = Map::new();
    common::unordered(
        &mut map,
        |m| at!("previous", m.insert(1, 1)),
        |m| at!("current", m.get(&1).copied()),
    );
}

scenario!(
    exitcode_sets_the_exit_status,
    options = "exitcode=9",
    {
        race_on_key_one();
    },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_clean();
        }
        out.assert_report_shape(9, "stopping at the first race (exit code 9)");
        let (current, previous) = common::get_after_insert();
        out.assert_sides(current, previous);
    }
);

scenario!(
    halt_on_error_0_reports_every_race_and_exits_66_at_the_end,
    options = "halt_on_error=0",
    {
        race_on_key_one();
        // A second, different race (other sites), and the same one again (printed once).
        let mut other = Map::new();
        for _ in 0..2 {
            common::unordered(&mut other, |m| m.insert(2, 2), |m| m.len());
        }
        println!("went on");
    },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_clean();
        }
        assert_eq!(out.code, Some(66), "{out}");
        assert!(out.stdout.contains("went on"), "{out}");
        assert_eq!(out.stderr.matches("WARNING: MAP RACE").count(), 2, "{out}");
        assert!(!out.stderr.contains("stopping at the first race"), "{out}");
        assert!(
            out.stderr.trim_end().ends_with("maprace: found 2 race(s)"),
            "{out}"
        );
    }
);

scenario!(
    action_panic_fails_the_thread_that_found_it_and_the_program_goes_on,
    options = "action=panic",
    {
        let caught = std::panic::catch_unwind(race_on_key_one);
        let message = caught.err().and_then(|p| {
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
        });
        println!("caught:\n{}\nend of caught", message.unwrap_or_default());
        // The map and the detector are still usable after the panic.
        let mut map = Map::new();
        map.insert(3, 3);
        assert_eq!(map.get(&3), Some(&3));
    },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_clean();
        }
        out.assert_clean_exit_after_report();
        let (current, previous) = common::get_after_insert();
        out.assert_sides(current, previous);
        // The panic's message is the kind, then the whole report as it was printed, so that a
        // test harness shows it under the failing test.
        let (_, caught) = out.stdout.split_once("caught:\n").expect("the message");
        let (message, _) = caught.split_once("\nend of caught").expect("its end");
        let report = message
            .strip_prefix("maprace: map race\n")
            .unwrap_or_else(|| panic!("the message starts with the kind\n{out}"));
        assert!(
            report.starts_with("==================\nWARNING: MAP RACE\n"),
            "{out}"
        );
        assert!(report.ends_with("==================\n"), "{out}");
        let printed = out
            .stderr
            .find(report)
            .expect("the message is the printed report");
        assert!(
            !out.stderr[..printed].contains("WARNING: MAP RACE"),
            "printed before the panic\n{out}"
        );
    }
);

scenario!(
    action_abort_raises_sigabrt_after_the_report,
    options = "action=abort",
    {
        race_on_key_one();
    },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_clean();
        }
        const SIGABRT: i32 = 6; // Linux
        assert_eq!(out.code, None, "killed by a signal\n{out}");
        assert_eq!(out.signal, Some(SIGABRT), "{out}");
        assert!(
            out.stderr
                .contains("maprace: stopping at the first race (abort)"),
            "{out}"
        );
        let (current, previous) = common::get_after_insert();
        out.assert_sides(current, previous);
    }
);

scenario!(
    enabled_0_keeps_the_detector_quiet,
    options = "enabled=0",
    {
        race_on_key_one();
    },
    |out| out.assert_clean()
);

scenario!(
    strip_path_prefix_cuts_the_report_paths,
    options = "strip_path_prefix=tests/",
    {
        race_on_key_one();
    },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_clean();
        }
        assert_eq!(out.code, Some(66), "{out}");
        let current = out.site("current");
        let stripped = current.strip_prefix("tests/").expect("a site under tests/");
        assert!(out.stderr.contains(&format!(" at {stripped}:")), "{out}");
        assert!(!out.stderr.contains(&format!(" at {current}:")), "{out}");
    }
);

#[test]
fn log_path_writes_the_report_to_a_file_named_after_the_pid() {
    let dir = std::env::temp_dir().join(format!("maprace-log-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let options = format!("log_path={}", dir.join("races").display());
    let out = common::child("log_path_child", &options, || {}).unwrap();
    let logs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    if maprace::COMPILED_IN {
        assert_eq!(out.code, Some(66), "{out}");
        assert!(
            !out.stderr.contains("WARNING: MAP RACE"),
            "the report went to the file\n{out}"
        );
        assert_eq!(logs.len(), 1, "{logs:?}");
        assert!(logs[0].starts_with("races."), "{logs:?}");
        let pid: u32 = logs[0]["races.".len()..].parse().expect("races.<pid>");
        assert_ne!(pid, std::process::id(), "the child's pid");
        let report = std::fs::read_to_string(dir.join(&logs[0])).unwrap();
        assert!(report.contains("WARNING: MAP RACE"), "{report}");
        assert!(
            report.contains(&format!(" at {}:", out.site("current"))),
            "{report}"
        );
    } else {
        out.assert_clean();
        assert!(logs.is_empty(), "{logs:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

scenario!(
    log_path_child,
    {
        race_on_key_one();
    },
    |out| {
        // Also run by `log_path_writes_the_report_to_a_file_named_after_the_pid` with a log_path;
        // on its own it is an ordinary race scenario.
        let (current, previous) = common::get_after_insert();
        out.assert_race(current, previous);
    }
);

/// Runs this test binary with `MAPRACE_OPTIONS=options` and no test to run: the options are
/// read before `main`, so a bad one stops the process before any test starts.
fn start_with(options: impl AsRef<std::ffi::OsStr>) -> std::process::Output {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "no_such_test"])
        .env("MAPRACE_OPTIONS", options)
        .output()
        .unwrap()
}

/// A new, empty directory for one test.
fn fresh_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("maprace-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The names of the files in `dir`.
fn files_in(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

/// The program stopped at start with exit code 2 and `maprace: bad MAPRACE_OPTIONS: <message>`,
/// before any test ran.
fn assert_stopped_at_start(out: &std::process::Output, message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("maprace: bad MAPRACE_OPTIONS: {message}")),
        "expected {message:?}: {stderr}"
    );
    assert!(out.stdout.is_empty(), "no test ran: {stderr}");
}

#[test]
fn options_that_are_not_utf8_stop_the_program_at_start() {
    use std::os::unix::ffi::OsStrExt;
    // Ignored as a whole, `enabled=0` would be lost and the detector left on.
    let out = start_with(std::ffi::OsStr::from_bytes(b"enabled=0 \xff"));
    if maprace::COMPILED_IN {
        assert_stopped_at_start(&out, r#""enabled=0 \xFF" is not valid UTF-8"#);
    } else {
        assert_eq!(
            out.status.code(),
            Some(0),
            "compiled out, options are ignored"
        );
    }
}

#[test]
fn a_control_character_in_the_options_stops_the_program_and_is_shown_escaped() {
    for (options, shown) in [
        ("log_path=races\u{1b}[2J", r"`log_path=races\u{1b}[2J`"),
        ("ha\u{1b}lt=1", r"`ha\u{1b}lt=1`"),
    ] {
        let out = start_with(options);
        if !maprace::COMPILED_IN {
            assert_eq!(
                out.status.code(),
                Some(0),
                "compiled out, options are ignored"
            );
            continue;
        }
        assert_stopped_at_start(&out, &format!("{shown} contains a control character"));
        assert!(
            !out.stderr.contains(&0x1b),
            "the escape character reached the terminal: {:?}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_log_path_that_cannot_be_opened_stops_the_program_at_start() {
    let dir = fresh_dir("unwritable-log");
    let missing = dir.join("no-such-directory").join("races");
    let out = start_with(format!("log_path={}", missing.display()));
    if maprace::COMPILED_IN {
        // The child's pid is not known here: the message up to it, then the reason.
        assert_stopped_at_start(
            &out,
            &format!("cannot open log_path `{}.", missing.display()),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("No such file or directory"), "{stderr}");
    } else {
        assert_eq!(
            out.status.code(),
            Some(0),
            "compiled out, options are ignored"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `log_path_child` (a race) with `MAPRACE_OPTIONS=log_path=<stream>` in an empty
/// directory: the report is on that stream, and no file is made.
fn log_to_stream(stream: &str) -> common::Outcome {
    let dir = fresh_dir(&format!("log-{stream}"));
    let options = format!("log_path={stream}");
    let out = common::child_with(
        "log_path_child",
        &options,
        |c| {
            c.current_dir(&dir);
        },
        || {},
    )
    .unwrap();
    assert_eq!(files_in(&dir), Vec::<String>::new(), "no file\n{out}");
    std::fs::remove_dir_all(&dir).unwrap();
    out
}

#[test]
fn log_path_stdout_writes_the_reports_to_stdout() {
    let out = log_to_stream("stdout");
    if !maprace::COMPILED_IN {
        return out.assert_clean();
    }
    assert_eq!(out.code, Some(66), "{out}");
    assert!(!out.stderr.contains("WARNING: MAP RACE"), "{out}");
    // The report on stdout, as `assert_sides` reads it from stderr.
    let on_stdout = common::Outcome {
        stderr: out.stdout.clone(),
        test: out.test.clone(),
        code: out.code,
        signal: out.signal,
        timed_out: out.timed_out,
        stdout: out.stdout.clone(),
    };
    on_stdout.assert_report_shape(66, "stopping at the first race (exit code 66)");
    let (current, previous) = common::get_after_insert();
    on_stdout.assert_sides(current, previous);
}

#[test]
fn log_path_stderr_writes_the_reports_to_stderr() {
    let out = log_to_stream("stderr");
    let (current, previous) = common::get_after_insert();
    out.assert_race(current, previous);
}

#[test]
fn a_malformed_option_stops_the_program_at_start_naming_it() {
    let cases = [
        ("halt_on_eror=1", "unknown key `halt_on_eror`"),
        ("halt_on_error=2", "bad value `2` for `halt_on_error`"),
        ("exitcode=300", "bad value `300` for `exitcode`"),
        ("action=explode", "bad value `explode` for `action`"),
        ("sync=maybe", "bad value `maybe` for `sync`"),
        ("deadlock=no", "bad value `no` for `deadlock`"),
        ("deadlock=2", "bad value `2` for `deadlock`"),
        ("verbose", "`verbose` is not of the form key=value"),
    ];
    for (options, message) in cases {
        let out = start_with(options);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if maprace::COMPILED_IN {
            assert_eq!(out.status.code(), Some(2), "{options}: {stderr}");
            assert!(
                stderr.contains(&format!("maprace: bad MAPRACE_OPTIONS: {message}")),
                "{options}: {stderr}"
            );
            assert!(out.stdout.is_empty(), "no test ran: {options}");
        } else {
            assert_eq!(
                out.status.code(),
                Some(0),
                "compiled out, options are ignored: {stderr}"
            );
        }
    }
}

#[test]
fn good_options_let_the_program_start() {
    let out =
        start_with("halt_on_error=0 exitcode=3 action=panic sync=assume enabled=1 deadlock=0");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

scenario!(
    a_forked_child_reports_to_a_log_file_of_its_own,
    {
        // SAFETY: the child only makes a race (threads, a map) and exits; it does not return
        // into the test harness.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            race_on_key_one(); // stops the child with exit code 66
            // SAFETY: _exit has no preconditions.
            unsafe { libc::_exit(0) };
        }
        let mut status = 0;
        // SAFETY: `pid` is this process's child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status));
        println!("forked child {pid} exited {}", libc::WEXITSTATUS(status));
    },
    |out| {
        // Run by `forked_children_log_to_their_own_file` with a log_path; on its own, the
        // child's report is on the stderr both processes share, and the parent goes on.
        if !maprace::COMPILED_IN {
            return out.assert_clean();
        }
        assert_eq!(out.code, Some(0), "{out}");
        assert!(out.stdout.contains(common::DONE), "{out}");
        assert!(out.stdout.contains(" exited 66"), "{out}");
        assert_eq!(out.stderr.matches("WARNING: MAP RACE").count(), 1, "{out}");
    }
);

#[test]
fn forked_children_log_to_their_own_file() {
    let dir = fresh_dir("log-fork");
    let options = format!("log_path={}", dir.join("races").display());
    let out = common::child(
        "a_forked_child_reports_to_a_log_file_of_its_own",
        &options,
        || {},
    )
    .unwrap();
    out.assert_clean();
    let child: u32 = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("forked child "))
        .and_then(|rest| rest.split_once(' '))
        .map(|(pid, _)| pid.parse().unwrap())
        .unwrap_or_else(|| panic!("the child's pid\n{out}"));
    let mut logs = files_in(&dir);
    logs.sort();
    if !maprace::COMPILED_IN {
        assert!(logs.is_empty(), "{logs:?}");
        assert!(
            out.stdout
                .contains(&format!("forked child {child} exited 0"))
        );
        return std::fs::remove_dir_all(&dir).unwrap();
    }
    assert!(
        out.stdout
            .contains(&format!("forked child {child} exited 66")),
        "{out}"
    );
    // The parent's file, opened at start and empty, and the child's, with the report.
    assert_eq!(logs.len(), 2, "{logs:?}");
    let child_log = std::fs::read_to_string(dir.join(format!("races.{child}"))).unwrap();
    assert!(child_log.contains("WARNING: MAP RACE"), "{child_log}");
    assert!(
        child_log.contains(&format!(" at {}:", out.site("current"))),
        "{child_log}"
    );
    let parent_log = logs
        .iter()
        .find(|l| **l != format!("races.{child}"))
        .unwrap();
    let parent_log = std::fs::read_to_string(dir.join(parent_log)).unwrap();
    assert_eq!(parent_log, "", "the parent reported nothing");
    std::fs::remove_dir_all(&dir).unwrap();
}
