//! `MAPRACE_OPTIONS` parsed into one struct, and nothing else: the runtime's start-up (`rt::start`)
//! reads the variable once and acts on what it says. The format is Go's `GORACE`: `key=value`
//! pairs separated by spaces.

use std::ffi::OsStr;
use std::fmt;

/// The environment variable the options are read from.
pub(crate) const VAR: &str = "MAPRACE_OPTIONS";

/// What happens once a report is printed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Action {
    /// Exit with `exitcode` (at once, or at the end with `halt_on_error=0`).
    Exit,
    /// SIGABRT right after the report (a core dump, a debugger stop).
    Abort,
    /// Panic in the thread that found the race, so a test harness fails one test and goes on.
    Panic,
}

/// Where reports go (`log_path`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LogPath {
    /// `stderr`, the default.
    Stderr,
    /// `log_path=stdout`.
    Stdout,
    /// Any other `log_path`: a file, `<path>.<pid>`.
    File(String),
}

/// Every option, by the key that sets it (the README's "Options" table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Options {
    /// `halt_on_error`: stop at the first report (1) or report all and exit at the end (0).
    pub(crate) halt_on_error: bool,
    /// `exitcode`: the exit status after a report.
    pub(crate) exitcode: i32,
    /// `action`: `exit`, `abort` or `panic`.
    pub(crate) action: Action,
    /// `log_path`: reports go to stderr, stdout, or the file `<log_path>.<pid>`.
    pub(crate) log_path: LogPath,
    /// `strip_path_prefix`: cut from the file paths printed in reports.
    pub(crate) strip_path_prefix: Option<String>,
    /// `sync`: `visible` (false) or `assume` (true): unordered accesses are presumed ordered and
    /// only accesses that overlap in time are reported.
    pub(crate) sync_assume: bool,
    /// `enabled`: 0 keeps the detector compiled in but inactive.
    pub(crate) enabled: bool,
    /// `trace`: 1 prints the stats trace (a line per map growth, a summary at exit).
    pub(crate) trace: bool,
    /// `history`: `location` (false) or `full` (true): the previous access's full stack is
    /// captured at every access and printed in reports.
    pub(crate) history_full: bool,
    /// `deadlock`: 0 turns off the deadlock checks (DashMap guards, maprace's locks).
    pub(crate) deadlock: bool,
    /// `check_then_act`: 0 turns off the check-then-act reports (and their records).
    pub(crate) check_then_act: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            halt_on_error: true,
            exitcode: 66,
            action: Action::Exit,
            log_path: LogPath::Stderr,
            strip_path_prefix: None,
            sync_assume: false,
            enabled: true,
            trace: false,
            history_full: false,
            deadlock: true,
            check_then_act: true,
        }
    }
}

/// The keys this version knows, in the order the error message lists them.
const KEYS: &str = "halt_on_error, exitcode, action, log_path, strip_path_prefix, sync, enabled, \
                    trace, history, deadlock, check_then_act";

/// A key or value `parse` rejects, with the words to show the user.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BadOption(String);

impl fmt::Display for BadOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What `value` names among `choices` (name, meaning), for `key`.
fn one_of<T: Copy>(key: &str, value: &str, choices: &[(&str, T)]) -> Result<T, BadOption> {
    if let Some(&(_, meaning)) = choices.iter().find(|(name, _)| *name == value) {
        return Ok(meaning);
    }
    let names: Vec<&str> = choices.iter().map(|&(name, _)| name).collect();
    let (last, others) = names.split_last().unwrap_or((&"", &[]));
    Err(BadOption(format!(
        "bad value `{value}` for `{key}` (expected {} or {last})",
        others.join(", ")
    )))
}

fn flag(key: &str, value: &str) -> Result<bool, BadOption> {
    one_of(key, value, &[("0", false), ("1", true)])
}

fn text(key: &str, value: &str) -> Result<Option<String>, BadOption> {
    if value.is_empty() {
        return Err(BadOption(format!("`{key}` needs a value")));
    }
    Ok(Some(value.to_owned()))
}

impl Options {
    /// Parses the value of `MAPRACE_OPTIONS` as the environment holds it (`None`: unset), which
    /// must be valid UTF-8: bytes that are not are rejected, not skipped (ignoring the whole
    /// value would leave `enabled=0 \xff` with the detector on).
    pub(crate) fn from_env(value: Option<&OsStr>) -> Result<Options, BadOption> {
        let Some(value) = value else {
            return Ok(Options::default());
        };
        match value.to_str() {
            Some(spec) => Options::parse(spec),
            None => Err(BadOption(format!("{value:?} is not valid UTF-8"))),
        }
    }

    /// Parses the contents of `MAPRACE_OPTIONS`.
    pub(crate) fn parse(spec: &str) -> Result<Options, BadOption> {
        let mut options = Options::default();
        let mut seen = Vec::new();
        for pair in spec.split_ascii_whitespace() {
            // Echoed raw, a control character would reach the terminal (an escape sequence);
            // in a path it is almost surely a mistake. Spaces, tabs and newlines separate pairs.
            if pair.chars().any(char::is_control) {
                return Err(BadOption(format!(
                    "`{}` contains a control character",
                    pair.escape_debug()
                )));
            }
            let Some((key, value)) = pair.split_once('=') else {
                return Err(BadOption(format!("`{pair}` is not of the form key=value")));
            };
            if seen.contains(&key) {
                return Err(BadOption(format!("`{key}` is given twice")));
            }
            seen.push(key);
            match key {
                "halt_on_error" => options.halt_on_error = flag(key, value)?,
                "exitcode" => {
                    options.exitcode = value.parse::<u8>().map(i32::from).map_err(|_| {
                        BadOption(format!(
                            "bad value `{value}` for `exitcode` (expected 0 to 255)"
                        ))
                    })?
                }
                "action" => {
                    let actions = [
                        ("exit", Action::Exit),
                        ("abort", Action::Abort),
                        ("panic", Action::Panic),
                    ];
                    options.action = one_of(key, value, &actions)?;
                }
                "log_path" => {
                    options.log_path = match value {
                        "stderr" => LogPath::Stderr,
                        "stdout" => LogPath::Stdout,
                        _ => LogPath::File(text(key, value)?.unwrap_or_default()),
                    }
                }
                "strip_path_prefix" => options.strip_path_prefix = text(key, value)?,
                "sync" => {
                    options.sync_assume =
                        one_of(key, value, &[("visible", false), ("assume", true)])?
                }
                "enabled" => options.enabled = flag(key, value)?,
                "trace" => options.trace = flag(key, value)?,
                "deadlock" => options.deadlock = flag(key, value)?,
                "history" => {
                    options.history_full =
                        one_of(key, value, &[("location", false), ("full", true)])?
                }
                "check_then_act" => options.check_then_act = flag(key, value)?,
                _ => {
                    return Err(BadOption(format!(
                        "unknown key `{key}` (known keys: {KEYS})"
                    )));
                }
            }
        }
        Ok(options)
    }

    /// The `MODE` bits these options turn on.
    pub(super) fn mode(&self) -> u8 {
        if !self.enabled {
            return 0;
        }
        let mut mode = super::ENABLED;
        if self.trace {
            mode |= super::TRACE;
        }
        if self.history_full {
            mode |= super::HISTORY;
        }
        if self.deadlock {
            mode |= super::DEADLOCK;
        }
        mode
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_spec_gives_the_defaults() {
        assert_eq!(Options::parse("").unwrap(), Options::default());
        assert_eq!(Options::parse("   ").unwrap(), Options::default());
    }

    #[test]
    fn every_key_is_read() {
        let o = Options::parse(
            "halt_on_error=0 exitcode=7 action=panic log_path=races strip_path_prefix=/src/ \
             sync=assume enabled=0 trace=1 history=full deadlock=0",
        )
        .unwrap();
        assert!(!o.halt_on_error);
        assert_eq!(o.exitcode, 7);
        assert_eq!(o.action, Action::Panic);
        assert_eq!(o.log_path, LogPath::File("races".into()));
        assert_eq!(o.strip_path_prefix.as_deref(), Some("/src/"));
        assert!(o.sync_assume);
        assert!(!o.enabled);
        assert!(o.trace);
        assert!(o.history_full);
        assert!(!o.deadlock);
    }

    #[test]
    fn log_path_stdout_and_stderr_name_those_streams() {
        let log = |s: &str| Options::parse(s).unwrap().log_path;
        assert_eq!(log(""), LogPath::Stderr);
        assert_eq!(log("log_path=stderr"), LogPath::Stderr);
        assert_eq!(log("log_path=stdout"), LogPath::Stdout);
        assert_eq!(log("log_path=./stdout"), LogPath::File("./stdout".into()));
    }

    #[test]
    fn options_that_are_not_utf8_are_rejected() {
        use std::os::unix::ffi::OsStrExt;
        let spec = OsStr::from_bytes(b"enabled=0 \xff");
        let err = Options::from_env(Some(spec)).unwrap_err().to_string();
        assert_eq!(err, r#""enabled=0 \xFF" is not valid UTF-8"#);
        assert_eq!(Options::from_env(None).unwrap(), Options::default());
        let ok = Options::from_env(Some(OsStr::new("enabled=0"))).unwrap();
        assert!(!ok.enabled);
    }

    #[test]
    fn a_control_character_is_rejected_and_shown_escaped() {
        let err = |s: &str| Options::parse(s).unwrap_err().to_string();
        assert_eq!(
            err("log_path=races\u{1b}[2J"),
            r"`log_path=races\u{1b}[2J` contains a control character"
        );
        assert_eq!(
            err("halt_on_error=1 k\u{7f}=1"),
            r"`k\u{7f}=1` contains a control character"
        );
        // Whitespace between pairs is not part of a pair.
        assert!(Options::parse("halt_on_error=0\ttrace=1\n").is_ok());
    }

    #[test]
    fn trace_history_and_deadlock_set_their_mode_bits() {
        use super::super::{DEADLOCK, ENABLED, HISTORY, TRACE};
        let mode = |s: &str| Options::parse(s).unwrap().mode();
        assert_eq!(mode(""), ENABLED | DEADLOCK);
        assert_eq!(mode("trace=1"), ENABLED | DEADLOCK | TRACE);
        assert_eq!(mode("history=full trace=0"), ENABLED | DEADLOCK | HISTORY);
        assert_eq!(mode("history=location"), ENABLED | DEADLOCK);
        assert_eq!(mode("deadlock=0"), ENABLED);
        // enabled=0 wins: nothing is traced or kept.
        assert_eq!(mode("enabled=0 trace=1 history=full"), 0);
    }

    #[test]
    fn bad_input_names_the_key_or_value() {
        let err = |s: &str| Options::parse(s).unwrap_err().to_string();
        assert!(err("halt_on_eror=1").contains("unknown key `halt_on_eror`"));
        assert!(err("halt_on_error=yes").contains("bad value `yes` for `halt_on_error`"));
        assert!(err("exitcode=300").contains("bad value `300` for `exitcode`"));
        assert!(err("action=stop").contains("bad value `stop` for `action`"));
        assert!(err("sync=maybe").contains("bad value `maybe` for `sync`"));
        assert!(err("trace=2").contains("bad value `2` for `trace`"));
        assert!(err("history=stack").contains("bad value `stack` for `history`"));
        assert!(err("deadlock=yes").contains("bad value `yes` for `deadlock`"));
        assert!(err("enabled").contains("`enabled` is not of the form key=value"));
        assert!(err("log_path=").contains("`log_path` needs a value"));
        assert!(err("exitcode=1 exitcode=2").contains("`exitcode` is given twice"));
    }
}
