//! The detector's runtime: clocks, shadow cells, threads and reports. Nothing outside the crate
//! can reach it; the public mirrors (`collections`, `sync`, `thread`) call in through `Access`,
//! `SyncClock` and the thread hooks, and do no bookkeeping of their own.

pub(crate) mod cell;
pub(crate) mod clock;
pub(crate) mod key;
pub(crate) mod map;
pub(crate) mod options;
pub(crate) mod os;
pub(crate) mod report;
pub(crate) mod site;
pub(crate) mod thread;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// `enabled=0` turns every check into one load of this flag. It starts out on so that accesses
/// made before the options are read (from other constructors) are checked.
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Is the detector active? The first question of every tracked operation.
#[inline]
pub(crate) fn enabled() -> bool {
    ENABLED.load(Relaxed)
}

fn set_enabled(on: bool) {
    ENABLED.store(on, Relaxed);
}

/// The runtime cannot go on (a broken invariant of the platform, not of the user's program).
#[cold]
pub(crate) fn fatal(what: &str) -> ! {
    eprintln!("maprace: fatal: {what}");
    os::exit_now(70)
}
