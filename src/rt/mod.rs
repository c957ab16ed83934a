//! The detector's runtime: clocks, shadow cells, threads and reports. Nothing outside the crate
//! can reach it; the public mirrors (`collections`, `sync`, `thread`) call in through `Access`,
//! `SyncClock` and the thread hooks, and do no bookkeeping of their own.

pub(crate) mod annotate;
pub(crate) mod atomic;
pub(crate) mod barrier;
pub(crate) mod cell;
pub(crate) mod channel;
pub(crate) mod clock;
pub(crate) mod history;
pub(crate) mod key;
pub(crate) mod map;
pub(crate) mod options;
pub(crate) mod os;
pub(crate) mod output;
pub(crate) mod park;
pub(crate) mod race;
pub(crate) mod report;
pub(crate) mod site;
pub(crate) mod stack;
pub(crate) mod stats;
pub(crate) mod table;
pub(crate) mod thread;
pub(crate) mod trace;

use options::Options;

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

/// The run-time switches every tracked operation looks at, in one byte so that one load answers
/// all of them: `enabled=0` turns every check into this load. It starts out enabled so that
/// accesses made before the options are read (from other constructors) are checked.
static MODE: AtomicU8 = AtomicU8::new(ENABLED);

/// `MODE` bit: the detector is active (`enabled=1`).
pub(crate) const ENABLED: u8 = 1;
/// `MODE` bit: the stats trace is on (`trace=1`).
pub(crate) const TRACE: u8 = 2;
/// `MODE` bit: each access's stack is kept (`history=full`).
pub(crate) const HISTORY: u8 = 4;

/// Is the detector active? The first question of every tracked operation.
#[inline]
pub(crate) fn enabled() -> bool {
    mode() & ENABLED != 0
}

/// All the `MODE` bits.
#[inline]
pub(crate) fn mode() -> u8 {
    MODE.load(Relaxed)
}

static OPTIONS: OnceLock<Options> = OnceLock::new();

/// The options. The first call starts the runtime (see `start`).
pub(crate) fn options() -> &'static Options {
    OPTIONS.get_or_init(read_options_and_start)
}

/// Starts the runtime, once: before `main` (`os::at_start`), or earlier, at the first use of the
/// runtime by another start-up routine.
pub(crate) fn start() {
    options();
}

/// Reads `MAPRACE_OPTIONS` (a malformed one ends the program here, with a message that names the
/// bad key or value), then sets the mode and starts the stats, and with the trace on arranges
/// its exit line.
fn read_options_and_start() -> Options {
    let spec = std::env::var(options::VAR).unwrap_or_default();
    let options = Options::parse(&spec).unwrap_or_else(|bad| {
        eprintln!("maprace: bad {}: {bad}", options::VAR);
        os::exit_now(2)
    });
    MODE.store(options.mode(), Relaxed);
    let traced = options.enabled && options.trace;
    stats::start(traced);
    if traced {
        os::at_exit(at_exit);
    }
    options
}

/// The program exits normally, with the trace on: the trace's exit line.
extern "C" fn at_exit() {
    stats::exit_line();
}

/// A report let the program go on (`halt_on_error=0`): when it exits, the trace's exit line, the
/// summary of the reports, and `exitcode`. Called once, at the first report.
pub(crate) fn exit_with_findings_at_end() {
    os::at_exit(at_exit_with_findings);
}

extern "C" fn at_exit_with_findings() {
    stats::exit_line();
    report::summary();
    os::exit_now(options().exitcode);
}

/// The runtime cannot go on (a broken invariant of the platform, not of the user's program).
#[cold]
pub(crate) fn fatal(what: &str) -> ! {
    eprintln!("maprace: fatal: {what}");
    os::exit_now(70)
}

/// Locks one of the runtime's own std mutexes, ignoring poison: nothing in the runtime panics
/// while holding one, but a poisoned lock must never take the detector (or a report) down.
pub(crate) fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
