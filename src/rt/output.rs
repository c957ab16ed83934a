//! Where the runtime's text goes: reports to stderr, stdout or the `log_path` file, trace lines
//! to stderr.
//!
//! The `log_path` file is opened at start (`open`), as Go's `GORACE` and ThreadSanitizer do, so
//! that a path that cannot be written stops the program before it runs rather than at its first
//! report, when the report would have nowhere to go.

use super::lock;
use super::options::LogPath;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::sync::{Mutex, OnceLock};

/// The `log_path` file, and the process it was opened for: a child made by `fork` writes to a
/// file of its own, `<path>.<its pid>`, opened at its first report.
struct LogFile {
    path: String,
    opened: Mutex<(u32, File)>,
}

static LOG_FILE: OnceLock<LogFile> = OnceLock::new();

/// `<path>.<pid>`, opened for appending (created if need be).
fn open_for(path: &str, pid: u32) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("{path}.{pid}"))
}

/// Opens the `log_path` file, at start. The error names the file that could not be opened.
pub(crate) fn open(log_path: &LogPath) -> Result<(), String> {
    let LogPath::File(path) = log_path else {
        return Ok(());
    };
    let pid = std::process::id();
    let file = open_for(path, pid)
        .map_err(|e| format!("cannot open log_path `{path}.{pid}` for writing: {e}"))?;
    let _ = LOG_FILE.set(LogFile {
        path: path.clone(),
        opened: Mutex::new((pid, file)),
    });
    Ok(())
}

/// Writes a report (or the summary of the reports at exit) where `log_path` says (falling
/// back to stderr if the file cannot be written).
pub(crate) fn report(text: &str) {
    match &super::options().log_path {
        LogPath::Stdout => {
            let mut stdout = io::stdout().lock();
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
            return;
        }
        LogPath::File(_) => {
            if let Some(log) = LOG_FILE.get() {
                match log.write(text) {
                    Ok(()) => return,
                    Err(why) => eprintln!("maprace: {why}; reporting on stderr"),
                }
            }
        }
        LogPath::Stderr => {}
    }
    let mut stderr = io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

impl LogFile {
    fn write(&self, text: &str) -> Result<(), String> {
        let mut opened = lock(&self.opened);
        let pid = std::process::id();
        if opened.0 != pid {
            let file = open_for(&self.path, pid)
                .map_err(|e| format!("cannot open `{}.{pid}`: {e}", self.path))?;
            *opened = (pid, file);
        }
        opened
            .1
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot write to `{}.{pid}`: {e}", self.path))
    }
}

/// Writes a line of the stats trace: to stderr (as Go's gctrace does), whatever `log_path` says.
pub(crate) fn trace_line(text: &str) {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "maprace: {text}");
}
