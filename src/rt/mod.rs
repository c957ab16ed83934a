//! The detector's runtime: clocks, shadow cells, threads and reports. Nothing outside the crate
//! can reach it; the public mirrors (`collections`, `sync`, `thread`) call in through
//! `map::Access`, the clocks of the sync objects and the thread hooks, and do no bookkeeping of
//! their own.
//!
//! This file starts the runtime (`start`: the options read, the mode set, the stats started)
//! and stops it (the exit handlers), and keeps it usable across a `fork` (the fork handlers,
//! which hold every room's locks over it); it holds the `MODE` byte that every operation reads and the
//! options, and two helpers for every room (`lock`, `fatal`). It calls the rooms only to start
//! and to stop them (`options`, `output`, `stats`, `os`, `report`'s summary at exit).
//!
//! The rooms, callers first. Each calls only rooms listed below it (and this file), except the
//! one natural pair named at the end.
//!
//! - `dashmap` (feature `dashmap`): a DashMap's shadow (`DashShadow`: per-shard clocks, the
//!   readers' slots), the hash capture that names an operation's shard, `Call` (the checks
//!   before a call into dashmap: the guard deadlock table) and `Hold` (the runtime side of a
//!   guard: its clock edges, its cells, its entry in the thread's held list). Calls `deadlock`,
//!   `map`, `race` and `report` (a race on a key), `cell`, `thread`, `clock`, `key`, `site`.
//! - `deadlock`: what each thread holds (DashMap guards, maprace locks) and the one wait it has
//!   published, the checks before a thread blocks (its own conflicting hold; a cycle of waits
//!   through other threads), and the deadlock report, a `report::Finding`. The API a lock mirror
//!   uses: `holding`, `acquire`, `unless_taken`, `LockHold`. Calls `map` (map numbers), `report`,
//!   `stack`, `site`, `stats`, `thread`, `key`, `clock`.
//! - `map`: a map's shadow (`MapShadow`: its structure cell, name, address) and `Access`, the
//!   handle through which a mirror's method checks each cell it touches; makes the race report
//!   when a check finds a conflict. Calls the rooms of the check (`cell`, `thread`, `history`,
//!   `trace`, `stats`) and of the report (`race`, `report`, `key`, `site`, `stack`: a drop's
//!   conflict asks the stack how the map was dropped).
//! - `race`: the race report, a value with `Display` that implements `report::Finding`. Calls
//!   `report`, `stack`, `site`, `thread` (who the threads are), `cell` and `clock` (types).
//! - `report`: what every finding shares: the policy (`emit`: `halt_on_error`, `action`,
//!   `exitcode`, one report at a time, each printed once, the summary at exit) and the pieces of
//!   text of every report (`RULE`, `ThreadLabel`). A new kind of finding is a new room beside
//!   `race` and a new `stats::FindingKind`. Calls `stats`, `output`, `thread`.
//! - `history`: the stack of each access, kept beside the shadow with `history=full`. Calls
//!   `table`, `stack`, `cell` and `site` (types).
//! - `trace`: a map's trace state and its growth lines (`trace=1`). Calls `stats`, `output`,
//!   `site`, `thread` (who is counting).
//! - `stats`: every counter (checks and their time, maps, shadow bytes, findings by kind) and
//!   the trace's exit line. Calls `output`, `thread` (threads seen).
//! - `cell`: a shadow cell (one key's, or a map's structure: two words) and the rules that
//!   check it (`track_read`, `track_write`). Calls `read_set`, `thread` (the context), `clock`,
//!   `site`.
//! - `read_set`: the reads of a cell from threads unordered with each other, in storage that is
//!   never freed and recycled by generation (what a flagged read word refers to). Calls `clock`,
//!   `site` (types).
//! - `annotate`, `atomic`, `barrier`, `channel`, `park`: the clocks of annotated addresses, of
//!   atomics and fences, of a barrier's generations, of a channel's messages, of park tokens.
//!   Call `thread` (acquire, release), `clock`; `annotate` also `table`.
//! - `stack`: stacks in reports, captured unresolved and symbolized when printed, cut to the
//!   user's frames; how a map's drop was reached (`drop_path`: the last `Arc`, or not); and the
//!   lock every capture takes, which keeps them out of the way of a fork.
//!   Calls `site`.
//! - `site`: `Site` (a map operation, `Op`, and its `file:line:col` in one word) and every
//!   location format (`SourcePos`). Calls no room (reads `strip_path_prefix` here).
//! - `key`: how a key is shown in a report. Calls no room.
//! - `table`: a table shared by all threads, in shards with a lock each. Calls no room.
//! - `output`: where text goes: reports to stderr, stdout or the `log_path` file (opened at
//!   start), trace lines to stderr. Calls no room (reads `log_path` here).
//! - `options`: `MAPRACE_OPTIONS` parsed into `Options`, and nothing else. Calls no room.
//! - `thread`: each thread's context (`Ctx`: its slot, vector clock and epoch, reached through
//!   `CtxRef`) and the happens-before edges of thread creation and end and of sync objects;
//!   children `registry` (which thread held which slot, what reports say about it) and
//!   `lock_clock` (`SyncClock`, `LockedClock`). Calls `clock`, `os`, `stack` (a creation stack).
//! - `os`: everything that talks to the C library: the `pthread_*` hooks, the hook that tells
//!   a thread's teardown, the start-up hook, process exit. Calls `thread` (the natural pair below), `clock`.
//! - `clock`: epochs and vector clocks, plain values. Calls no room.
//!
//! The natural pair: `thread` and `os` call each other, because the `pthread_*` hooks in `os`
//! are thread creation and join seen from below (they call `thread::fork`, `start_child`,
//! `acquire`), and a thread's end (in `thread`) hands its final clock to its joiner through
//! them (`os::thread_exited`; `os::link` keeps the hooks linked in).

pub(crate) mod annotate;
pub(crate) mod atomic;
pub(crate) mod barrier;
pub(crate) mod cell;
pub(crate) mod channel;
pub(crate) mod clock;
pub(crate) mod cta;
#[cfg(feature = "dashmap")]
pub(crate) mod dashmap;
pub(crate) mod deadlock;
pub(crate) mod history;
pub(crate) mod key;
pub(crate) mod map;
pub(crate) mod options;
pub(crate) mod os;
pub(crate) mod output;
pub(crate) mod park;
pub(crate) mod race;
pub(crate) mod read_set;
pub(crate) mod report;
pub(crate) mod site;
pub(crate) mod stack;
pub(crate) mod stats;
pub(crate) mod table;
pub(crate) mod thread;
pub(crate) mod trace;

use options::Options;

use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

/// The run-time switches every tracked operation looks at, in one byte so that one load answers
/// all of them: `enabled=0` turns every check into this load (a `HashMap`'s hot operations
/// read a thread-local first, `thread::CtxRef::hot`, which settles them without it once the
/// thread has made its first operation). Set once, before any thread context is made (making
/// one reads the options). It starts out enabled so that
/// accesses made before the options are read (from other constructors) are checked.
static MODE: AtomicU8 = AtomicU8::new(ENABLED | DEADLOCK);

/// `MODE` bit: the detector is active (`enabled=1`).
pub(crate) const ENABLED: u8 = 1;
/// `MODE` bit: the stats trace is on (`trace=1`).
pub(crate) const TRACE: u8 = 2;
/// `MODE` bit: each access's stack is kept (`history=full`).
pub(crate) const HISTORY: u8 = 4;
/// The `MODE` bits that make a map operation observed (counted, or its stack kept): out of the
/// fast path.
pub(crate) const OBSERVED: u8 = TRACE | HISTORY;
/// `MODE` bit: DashMap guards and maprace locks are checked for deadlocks (`deadlock=1`).
pub(crate) const DEADLOCK: u8 = 8;

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

/// Reads `MAPRACE_OPTIONS` and opens `log_path` (a malformed value, or a log file that cannot
/// be opened, ends the program here with exit code 2 and a message that names it), then sets
/// the mode and starts the stats, and with the trace on arranges its exit line.
fn read_options_and_start() -> Options {
    let bad = |why: &dyn std::fmt::Display| -> ! {
        eprintln!("maprace: bad {}: {why}", options::VAR);
        os::exit_now(2)
    };
    let options = Options::from_env(std::env::var_os(options::VAR).as_deref())
        .unwrap_or_else(|why| bad(&why));
    if options.enabled {
        output::open(&options.log_path).unwrap_or_else(|why| bad(&why));
    }
    MODE.store(options.mode(), Relaxed);
    let traced = options.enabled && options.trace;
    stats::start(traced);
    os::at_fork(before_fork, after_fork_in_parent, after_fork_in_child);
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
    if STOPPING.load(Relaxed) {
        return; // a later report stopped the program: its trailer was the last line
    }
    if stats::FindingKind::ALL
        .iter()
        .all(|&kind| stats::findings(kind) == 0)
    {
        return; // the child of a fork, which found nothing of its own
    }
    stats::exit_line();
    report::summary();
    os::exit_now(options().exitcode);
}

/// A report is stopping the program (with `exit`, which runs the exit handlers): the summary of
/// findings that went on before it is not printed after its `stopping at` line.
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Ends the process with `code` after a report that stops the program, running its exit
/// handlers (but not the summary of findings, see `STOPPING`), unless an exit is already under
/// way on this thread (a report from a thread-local destructor or an exit handler of the main
/// thread, which runs them from inside `exit`, which must not be called again): then only
/// maprace's own exit line is printed before the process ends.
pub(crate) fn exit(code: i32) -> ! {
    STOPPING.store(true, Relaxed);
    if os::exiting() {
        stats::exit_line();
        os::exit_now(code)
    }
    std::process::exit(code)
}

thread_local! {
    /// The runtime's locks, held by this thread from `before_fork` to the handler after it.
    static HELD_FOR_FORK: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// Before a fork: takes every lock of the runtime's own, in one order (a lock another one is
/// sometimes taken under comes first), so that no other thread holds one at the fork: the
/// child, which has only the forking thread, could never take it again. The capture lock
/// comes last (a report's creation stacks are symbolized under the report's lock, a drop's
/// frames under `drop_path`'s cache), and keeps other threads out of the unwinder and the
/// `backtrace` crate's lock.
///
/// `read_set`'s pools are leaves (nothing is locked under one), held by the forking thread
/// like the others; so are `deadlock`'s (its map tags and numbers, taken under a report's lock,
/// and the pool of held lists, which a thread takes at its first guard or lock and gives back
/// at its end). `dashmap` keeps no lock of its own across maps. Not covered: the small lock of
/// each `SyncClock` (held for a few instructions; a child that uses the same object may still
/// block on one), which includes a DashMap shard's clock for `iter_mut`'s items. A DashMap
/// guard held, or waited for, by another thread at the fork is the program's: in the child that
/// shard stays locked, as it would without maprace, and the child's checks still see the hold
/// (it is true there: the lock is held for good).
extern "C" fn before_fork() {
    let held: Vec<Box<dyn Any>> = vec![
        Box::new(report::hold_for_fork()),
        Box::new(deadlock::hold_for_fork()),
        Box::new(annotate::hold_for_fork()),
        Box::new(history::hold_for_fork()),
        Box::new(os::hold_for_fork()),
        Box::new(thread::hold_for_fork()),
        Box::new(stats::hold_for_fork()),
        Box::new(read_set::hold_for_fork()),
        Box::new(stack::hold_frames_for_fork()),
        Box::new(stack::hold_for_fork()),
    ];
    let _ = HELD_FOR_FORK.try_with(|h| *h.borrow_mut() = held);
}

/// After a fork, in the parent: the locks go back.
extern "C" fn after_fork_in_parent() {
    let _ = HELD_FOR_FORK.try_with(|h| drop(h.take()));
}

/// After a fork, in the child: the locks go back (the child's copies, taken by its only thread
/// before the fork), and the child's findings start from zero.
extern "C" fn after_fork_in_child() {
    let _ = HELD_FOR_FORK.try_with(|h| drop(h.take()));
    stats::forget_findings();
    report::forget_printed();
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
