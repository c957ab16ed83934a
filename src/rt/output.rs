//! Where the runtime's text goes: reports to stderr or to `log_path`, trace lines to stderr.

use std::io::Write as _;

/// Writes a report (or the summary of the reports at exit) to stderr, or to `<log_path>.<pid>`
/// (falling back to stderr if it cannot be opened).
pub(crate) fn report(text: &str) {
    if let Some(path) = &super::options().log_path {
        let path = format!("{path}.{}", std::process::id());
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path);
        if file
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .is_ok()
        {
            return;
        }
        eprintln!("maprace: cannot write to {path}; reporting on stderr");
    }
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// Writes a line of the stats trace: to stderr (as Go's gctrace does), whatever `log_path` says.
pub(crate) fn trace_line(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "maprace: {text}");
}
