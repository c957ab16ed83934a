//! Everything that talks to the C library: the `pthread_create` / `pthread_join` /
//! `pthread_detach` hooks that give plain `std::thread::spawn` and `join` their happens-before
//! edges, the start-up hook that reads the options before `main`, and process exit.
//!
//! The hooks work by symbol interposition: this crate defines `pthread_create` & co., the static
//! linker binds std's calls to these definitions, and they call the C library's through
//! `dlsym(RTLD_NEXT)`. The object file holding them is linked whenever the runtime is, because the
//! runtime calls `os::link()` (see there).

use super::clock::VectorClock;
use super::lock;
use super::thread;
use libc::{c_int, c_void, pthread_attr_t, pthread_t};
use std::collections::HashMap;
use std::ffi::CStr;
use std::sync::Mutex;

type StartRoutine = extern "C" fn(*mut c_void) -> *mut c_void;
type CreateFn =
    unsafe extern "C" fn(*mut pthread_t, *const pthread_attr_t, StartRoutine, *mut c_void) -> c_int;
type JoinFn = unsafe extern "C" fn(pthread_t, *mut *mut c_void) -> c_int;
type DetachFn = unsafe extern "C" fn(pthread_t) -> c_int;

/// The C library's own definition of `name`.
fn next_symbol(name: &CStr) -> *mut c_void {
    // SAFETY: `name` is NUL-terminated; RTLD_NEXT looks the symbol up in the objects loaded
    // after this one, which is where the C library's definition is.
    let sym = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) };
    if sym.is_null() {
        super::fatal(&format!("cannot find the C library's {name:?}"));
    }
    sym
}

macro_rules! real {
    ($name:literal as $ty:ty) => {{
        static REAL: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        let addr = *REAL.get_or_init(|| next_symbol($name) as usize);
        // SAFETY: the symbol is the C library's function of that name, whose C signature `$ty`
        // spells out.
        unsafe { std::mem::transmute::<usize, $ty>(addr) }
    }};
}

/// How each thread created through the hook ended, for its joiner; a thread is in at most one
/// of the two sets until it has been both ended and joined (or detached).
#[derive(Default)]
struct Exits {
    /// Final clocks of threads that ended and were not joined or detached yet.
    clocks: HashMap<pthread_t, VectorClock>,
    /// Threads detached while still running: nobody will join them.
    detached: std::collections::HashSet<pthread_t>,
}

static EXITS: Mutex<Option<Exits>> = Mutex::new(None);

struct Start {
    routine: StartRoutine,
    arg: *mut c_void,
    fork: Box<thread::Fork>,
}

extern "C" fn start_tracked(start: *mut c_void) -> *mut c_void {
    // SAFETY: `start` is the `Box<Start>` that `pthread_create` below leaked for this thread.
    let Start { routine, arg, fork } = *unsafe { Box::from_raw(start.cast::<Start>()) };
    thread::start_child(fork);
    // The end of the thread (its joiner's edge) is taken by `thread`'s last thread-local
    // destructor, after every other one: see `thread_exited`.
    routine(arg)
}

/// Called at the very end of a thread created through the hook (from its last thread-local
/// destructor, also after `pthread_exit`): `clock` is what its joiner acquires.
pub(crate) fn thread_exited(clock: VectorClock) {
    // SAFETY: pthread_self has no preconditions.
    let me = unsafe { libc::pthread_self() };
    let mut exits = lock(&EXITS);
    let exits = exits.get_or_insert_with(Exits::default);
    if !exits.detached.remove(&me) {
        exits.clocks.insert(me, clock);
    }
}

/// Interposes the C library's `pthread_create`: the child starts with the parent's clock.
///
/// # Safety
/// The C contract of `pthread_create`.
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn pthread_create(
    native: *mut pthread_t,
    attr: *const pthread_attr_t,
    routine: StartRoutine,
    arg: *mut c_void,
) -> c_int {
    let create = real!(c"pthread_create" as CreateFn);
    if !super::enabled() {
        // SAFETY: forwarded unchanged, under the caller's contract.
        return unsafe { create(native, attr, routine, arg) };
    }
    let start = Box::into_raw(Box::new(Start {
        routine,
        arg,
        fork: thread::fork(),
    }));
    // SAFETY: the caller's arguments, with our start routine, which takes ownership of `start`.
    let rc = unsafe { create(native, attr, start_tracked, start.cast()) };
    if rc != 0 {
        // SAFETY: the thread was not created, so `start` is still ours.
        drop(unsafe { Box::from_raw(start) });
    }
    rc
}

/// Interposes the C library's `pthread_join`: the joiner acquires the child's final clock.
///
/// # Safety
/// The C contract of `pthread_join`.
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn pthread_join(native: pthread_t, retval: *mut *mut c_void) -> c_int {
    let join = real!(c"pthread_join" as JoinFn);
    // SAFETY: forwarded unchanged, under the caller's contract.
    let rc = unsafe { join(native, retval) };
    if rc == 0 {
        let clock = lock(&EXITS).as_mut().and_then(|e| e.clocks.remove(&native));
        if let Some(clock) = clock {
            thread::acquire(&clock);
        }
    }
    rc
}

/// Interposes the C library's `pthread_detach`, so the final clocks of threads nobody will join
/// are not kept.
///
/// # Safety
/// The C contract of `pthread_detach`.
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn pthread_detach(native: pthread_t) -> c_int {
    let detach = real!(c"pthread_detach" as DetachFn);
    {
        let mut exits = lock(&EXITS);
        let exits = exits.get_or_insert_with(Exits::default);
        if exits.clocks.remove(&native).is_none() {
            exits.detached.insert(native);
        }
    }
    // SAFETY: forwarded unchanged, under the caller's contract.
    unsafe { detach(native) }
}

/// Runs before `main` (the C runtime calls everything in `.init_array`): the runtime starts
/// there, so a malformed `MAPRACE_OPTIONS` stops the program at start, not at its first map
/// operation.
extern "C" fn at_start() {
    super::start();
}

#[used]
#[unsafe(link_section = ".init_array")]
static AT_START: extern "C" fn() = at_start;

/// Called from the runtime's entry points. An archive member is linked only when something
/// refers to it: referring to this function, which lives in the same object as the hooks, is
/// what pulls them (and `AT_START`) into every program that uses a tracked map.
#[inline(never)]
pub(crate) fn link() -> usize {
    std::hint::black_box(pthread_create as *const () as usize)
}

/// Ends the process now with `code`, without running exit handlers (which could report again).
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit has no preconditions.
    unsafe { libc::_exit(code) }
}

/// Registers `handler` to run when the process exits normally.
pub(crate) fn at_exit(handler: extern "C" fn()) {
    // SAFETY: `handler` is a plain function valid for the life of the program.
    if unsafe { libc::atexit(handler) } != 0 {
        super::fatal("cannot register the exit handler");
    }
}
