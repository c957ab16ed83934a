//! The detector's runtime: clocks, shadow cells, threads and reports. Nothing outside the crate
//! can reach it; the public mirrors (`collections`, `sync`, `thread`) call in through `Access`,
//! `SyncClock` and the thread hooks, and do no bookkeeping of their own.

pub(crate) mod annotate;
pub(crate) mod atomic;
pub(crate) mod cell;
pub(crate) mod clock;
pub(crate) mod history;
pub(crate) mod key;
pub(crate) mod map;
pub(crate) mod options;
pub(crate) mod os;
pub(crate) mod park;
pub(crate) mod report;
pub(crate) mod site;
pub(crate) mod stats;
pub(crate) mod table;
pub(crate) mod thread;
pub(crate) mod trace;

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard, PoisonError};

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

fn set_mode(mode: u8) {
    MODE.store(mode, Relaxed);
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
