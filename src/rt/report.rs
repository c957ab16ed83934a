//! What every report shares, whatever it is about (a race now; each kind of finding is a value
//! in a file of its own, `race.rs`, that implements `Finding`):
//!
//! - the policy: where a report goes and what happens next (`halt_on_error`, `action`,
//!   `exitcode`), the serialization of reports, the dedup of findings already printed, and the
//!   summary at exit with `halt_on_error=0`;
//! - the pieces of text every report is made of: its rule, thread labels.

use super::clock::Epoch;
use super::options::Action;
use super::stats::{self, FindingKind};
use super::{lock, output, thread};
use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::sync::Mutex;

/// A report's first and last line.
pub(crate) const RULE: &str = "==================";

/// A finding of any kind, as the policy sees it. Its `Display` is the report, rules included.
pub(crate) trait Finding: fmt::Display {
    /// What it is about: counted by kind, named in the trailer (`stopping at the first race`).
    fn kind(&self) -> FindingKind;

    /// The same finding made over and over (by the same sites) is reported once: findings of
    /// the same kind with the same identity (up to three sites' bits, unused ones 0) are one.
    fn identity(&self) -> [u64; 3];

    /// The report as a `tracing` event (target `maprace`, ERROR), for programs that collect
    /// their diagnostics through a subscriber. maprace installs none.
    fn event(&self);

    /// The program cannot go on after it, whatever `halt_on_error` says (it would hang).
    fn stops_the_program(&self) -> bool {
        false
    }
}

/// Serializes reports, remembers which were printed, and is never released once the program
/// is stopping, so no other report interleaves with the last one.
static PRINTED: Mutex<Option<HashSet<Printed>>> = Mutex::new(None);

/// A finding as `PRINTED` remembers it: its kind and identity.
type Printed = (FindingKind, [u64; 3]);

/// Would a finding of `kind` with `identity` be printed? Not if it was printed already, or if
/// this thread is reporting (see `emit`). Asked before a finding is made, so that one that
/// repeats (a racy loop with `halt_on_error=0`) costs this lookup, not a stack capture, its
/// symbols and its text each time.
pub(crate) fn is_new(kind: FindingKind, identity: [u64; 3]) -> bool {
    !REPORTING.get()
        && lock(&PRINTED)
            .as_ref()
            .is_none_or(|printed| !printed.contains(&(kind, identity)))
}

/// Prints `finding` and applies the policy of `halt_on_error` and `action`.
#[cold]
#[inline(never)]
pub(crate) fn emit(finding: &dyn Finding) {
    // A report made while this thread is already reporting is dropped: the lock is not
    // reentrant. That is a `tracing` subscriber that uses a tracked map, or a thread-local
    // destructor that the stopping report's `exit` runs on this thread and that races again
    // (waiting for the lock would hang the exit). Other threads that report meanwhile wait for
    // the lock, which a stopping report never releases, and end with the process.
    if REPORTING.get() {
        return;
    }
    REPORTING.set(true);
    let _reporting = OnDrop(|| REPORTING.set(false));
    let options = super::options();
    // A panic that cannot unwind (in a thread-local destructor, or while already panicking)
    // would abort the process: `exit` instead, for every kind alike. The report is printed in
    // full, and the program ends with `exitcode` (or goes on, a race with `halt_on_error=0`, as
    // `exit` does; a deadlock always stops).
    let action = match options.action {
        Action::Panic if std::thread::panicking() || thread::tearing_down() => Action::Exit,
        action => action,
    };
    let kind = finding.kind();
    let must_stop = finding.stops_the_program();
    let mut printed = lock(&PRINTED);
    // One that must stop is printed even if one with the same sites was (a latent deadlock that
    // then happens): going on would hang.
    if !printed
        .get_or_insert_with(HashSet::new)
        .insert((kind, finding.identity()))
        && !must_stop
    {
        return;
    }
    let count = stats::found(kind);
    let mut text = finding.to_string();
    let stopping = options.halt_on_error || action == Action::Abort || must_stop;
    let kind = kind.name();
    match action {
        Action::Exit if stopping => {
            let _ = writeln!(
                text,
                "maprace: stopping at the first {kind} (exit code {})",
                options.exitcode
            );
        }
        Action::Abort => {
            let _ = writeln!(text, "maprace: stopping at the first {kind} (abort)");
        }
        _ => {}
    }
    output::report(&text);
    finding.event();
    match action {
        Action::Exit if stopping => {
            std::mem::forget(printed);
            super::exit(options.exitcode)
        }
        Action::Abort => {
            std::mem::forget(printed);
            std::process::abort()
        }
        Action::Panic => {
            drop(printed);
            // The whole report in the message: a test harness shows it under the failing
            // test (libtest captures what the panic hook prints, not a write to stderr).
            std::panic::panic_any(panic_message(kind, &text));
        }
        Action::Exit => {
            if count == 1 {
                super::exit_with_findings_at_end();
            }
        }
    }
}

/// The message of the panic `action=panic` raises: the kind, then the report as printed.
fn panic_message(kind: &str, report: &str) -> String {
    format!("maprace: map {kind}\n{report}")
}

/// For the fork handler: no report is printed until the guard is dropped. (Not taken by a
/// thread that forks from inside `emit`, from a `tracing` subscriber: it holds it already.)
pub(crate) fn hold_for_fork() -> impl Sized {
    (!REPORTING.get()).then(|| lock(&PRINTED))
}

/// In the child of a fork: the findings its parent printed are not its own.
pub(crate) fn forget_printed() {
    if !REPORTING.get() {
        *lock(&PRINTED) = None;
    }
}

thread_local! {
    /// This thread is inside `emit`.
    static REPORTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs a closure when dropped (also when unwinding).
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

/// The findings of a run that went on after them (`halt_on_error=0`), counted by kind, as the
/// program exits: `maprace: found 2 race(s)`.
pub(crate) fn summary() {
    let found: Vec<String> = FindingKind::ALL
        .into_iter()
        .map(|kind| (kind, stats::findings(kind)))
        .filter(|&(_, n)| n > 0)
        .map(|(kind, n)| format!("{n} {}(s)", kind.name()))
        .collect();
    output::report(&format!("maprace: found {}\n", found.join(", ")));
}

/// A thread as reports name it, found by the epoch of one of its accesses.
pub(crate) struct ThreadLabel(pub(crate) Epoch);

impl fmt::Display for ThreadLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match thread::info(self.0) {
            Some(t) if !t.details_kept() => write!(
                f,
                "thread '?' (T{}, ended; its name and creation stack were not kept)",
                t.serial
            ),
            Some(t) => write!(f, "thread '{}' (T{})", t.name(), t.serial),
            None => write!(f, "thread '?' (slot {})", self.0.tid()),
        }
    }
}

/// Its text with the first letter in upper case, to start a sentence.
pub(crate) struct Capitalized<T>(pub(crate) T);

impl<T: fmt::Display> fmt::Display for Capitalized<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        let mut chars = text.chars();
        if let Some(first) = chars.next() {
            f.write_char(first.to_ascii_uppercase())?;
        }
        f.write_str(chars.as_str())
    }
}
