//! Everything that talks to the C library: the `pthread_create` / `pthread_join` /
//! `pthread_detach` hooks that give plain `std::thread::spawn` and `join` their happens-before
//! edges, the hook that tells when a thread's thread-local destructors have begun (glibc's
//! `__cxa_thread_atexit_impl`), the start-up hook that reads the options before `main`, and
//! process exit.
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
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

type StartRoutine = extern "C" fn(*mut c_void) -> *mut c_void;
type CreateFn =
    unsafe extern "C" fn(*mut pthread_t, *const pthread_attr_t, StartRoutine, *mut c_void) -> c_int;
type JoinFn = unsafe extern "C" fn(pthread_t, *mut *mut c_void) -> c_int;
type TimedJoinFn =
    unsafe extern "C" fn(pthread_t, *mut *mut c_void, *const libc::timespec) -> c_int;
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

/// How a thread created through the hook ended, for its joiner: made by `pthread_create`,
/// shared with the child through its start routine's argument, and found by the joiner under
/// the thread's `pthread_t`.
///
/// The C library reuses a `pthread_t` as soon as the real join has freed the thread, before the
/// join returns to its caller: a new thread may start, end and be joined under the same value
/// meanwhile. So the record is taken out of `EXITS` by the joiner *before* it calls the real
/// join, while the `pthread_t` still names the thread it joins, and read after the real join
/// returned; the child stores its final clock into its own record, never under a `pthread_t`.
#[derive(Default)]
struct ExitRecord {
    /// The thread's final clock, set once by the thread itself at its very end.
    clock: OnceLock<VectorClock>,
    /// Nobody will join the thread: its end need not keep its clock.
    detached: AtomicBool,
}

/// The records of threads created through the hook and not yet joined or detached, by
/// `pthread_t` (unique among them: a `pthread_t` is reused only once its thread was joined, or
/// detached and ended, and both take the record out first).
static EXITS: Mutex<Option<HashMap<pthread_t, Arc<ExitRecord>>>> = Mutex::new(None);

fn exits() -> MutexGuard<'static, Option<HashMap<pthread_t, Arc<ExitRecord>>>> {
    lock(&EXITS)
}

thread_local! {
    /// This thread's own record (from `Arc::into_raw`), if it was created through the hook;
    /// null once the thread ended. A raw pointer has no destructor, so it is there until the
    /// thread's very end, whatever order thread-local destructors run in.
    static MY_EXIT: std::cell::Cell<*const ExitRecord> =
        const { std::cell::Cell::new(std::ptr::null()) };
}

struct Start {
    routine: StartRoutine,
    arg: *mut c_void,
    fork: Box<thread::Fork>,
    exit: Arc<ExitRecord>,
}

extern "C" fn start_tracked(start: *mut c_void) -> *mut c_void {
    // SAFETY: `start` is the `Box<Start>` that `pthread_create` below leaked for this thread.
    let Start {
        routine,
        arg,
        fork,
        exit,
    } = *unsafe { Box::from_raw(start.cast::<Start>()) };
    MY_EXIT.set(Arc::into_raw(exit));
    thread::start_child(fork);
    // The end of the thread (its joiner's edge) is taken by `thread`'s last thread-local
    // destructor, after every other one: see `thread_exited`.
    routine(arg)
}

/// Called at the very end of a thread created through the hook (from its last thread-local
/// destructor, also after `pthread_exit`): `clock` is what its joiner acquires.
pub(crate) fn thread_exited(clock: VectorClock) {
    let exit = MY_EXIT.replace(std::ptr::null());
    if exit.is_null() {
        return;
    }
    // SAFETY: `MY_EXIT` held the `Arc::into_raw` of `start_tracked`, and no longer does.
    let exit = unsafe { Arc::from_raw(exit) };
    if !exit.detached.load(Relaxed) {
        let _ = exit.clock.set(clock);
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
    let exit = Arc::new(ExitRecord::default());
    let start = Box::into_raw(Box::new(Start {
        routine,
        arg,
        fork: thread::fork(),
        exit: exit.clone(),
    }));
    // SAFETY: the caller's arguments, with our start routine, which takes ownership of `start`.
    let rc = unsafe { create(native, attr, start_tracked, start.cast()) };
    if rc != 0 {
        // SAFETY: the thread was not created, so `start` is still ours.
        drop(unsafe { Box::from_raw(start) });
        return rc;
    }
    // Registered before the caller learns the `pthread_t`, so before anyone can join it. (The
    // child itself could detach first, through `pthread_self`: its record says so.)
    let mut exits = exits();
    if !exit.detached.load(Relaxed) {
        // SAFETY: the real `pthread_create` succeeded, so it wrote the new thread's id there.
        let native = unsafe { *native };
        exits.get_or_insert_with(HashMap::new).insert(native, exit);
    }
    rc
}

/// The record of `native`, taken out while `native` still names the thread about to be joined.
fn take_exit(native: pthread_t) -> Option<Arc<ExitRecord>> {
    exits().as_mut()?.remove(&native)
}

/// After a join: `rc == 0`, the thread has ended and this thread acquires its final clock;
/// otherwise (not joined) the record goes back, for the next attempt.
fn joined(native: pthread_t, exit: Option<Arc<ExitRecord>>, rc: c_int) -> c_int {
    let Some(exit) = exit else { return rc };
    if rc == 0 {
        if let Some(clock) = exit.clock.get() {
            thread::acquire(clock);
        }
    } else {
        exits()
            .get_or_insert_with(HashMap::new)
            .entry(native)
            .or_insert(exit);
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
    let exit = take_exit(native);
    // SAFETY: forwarded unchanged, under the caller's contract.
    joined(native, exit, unsafe { join(native, retval) })
}

/// Interposes glibc's `pthread_tryjoin_np` as `pthread_join`.
///
/// # Safety
/// The C contract of `pthread_tryjoin_np`.
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn pthread_tryjoin_np(
    native: pthread_t,
    retval: *mut *mut c_void,
) -> c_int {
    let join = real!(c"pthread_tryjoin_np" as JoinFn);
    let exit = take_exit(native);
    // SAFETY: forwarded unchanged, under the caller's contract.
    joined(native, exit, unsafe { join(native, retval) })
}

/// Interposes glibc's `pthread_timedjoin_np` as `pthread_join`.
///
/// # Safety
/// The C contract of `pthread_timedjoin_np`.
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn pthread_timedjoin_np(
    native: pthread_t,
    retval: *mut *mut c_void,
    abstime: *const libc::timespec,
) -> c_int {
    let join = real!(c"pthread_timedjoin_np" as TimedJoinFn);
    let exit = take_exit(native);
    // SAFETY: forwarded unchanged, under the caller's contract.
    joined(native, exit, unsafe { join(native, retval, abstime) })
}

/// Interposes the C library's `pthread_detach`: nobody will acquire the thread's final clock,
/// so it is not kept.
///
/// # Safety
/// The C contract of `pthread_detach`.
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn pthread_detach(native: pthread_t) -> c_int {
    let detach = real!(c"pthread_detach" as DetachFn);
    // Before the real detach, after which an ended thread's `pthread_t` may be reused at once;
    // under the lock, so that a thread detaching itself before its creator registered its
    // record (it can, through `pthread_self`) either finds it or marks it before it is.
    let mut exits = exits();
    let exit = exits.as_mut().and_then(|exits| exits.remove(&native));
    if let Some(exit) = exit {
        exit.detached.store(true, Relaxed);
    } else {
        let mine = MY_EXIT.get();
        // SAFETY: pthread_self has no preconditions.
        if !mine.is_null() && native == unsafe { libc::pthread_self() } {
            // SAFETY: a non-null `MY_EXIT` is this thread's own live record (see
            // `thread_exited`, which runs on this thread only).
            unsafe { &*mine }.detached.store(true, Relaxed);
        }
    }
    drop(exits);
    // SAFETY: forwarded unchanged, under the caller's contract.
    unsafe { detach(native) }
}

/// For the fork handler: no thread's end or join is recorded until the guard is dropped.
pub(crate) fn hold_for_fork() -> impl Sized {
    exits()
}

/// Registers the handlers `fork` runs: `prepare` before it, `parent` and `child` after it in
/// the two processes.
pub(crate) fn at_fork(prepare: extern "C" fn(), parent: extern "C" fn(), child: extern "C" fn()) {
    // SAFETY: plain functions valid for the life of the program.
    if unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) } != 0 {
        super::fatal("cannot register the fork handlers");
    }
}

/// Runs before `main` (the C runtime calls everything in `.init_array`): the runtime starts
/// there, so a malformed `MAPRACE_OPTIONS` stops the program at start, not at its first map
/// operation; and the main thread's end is registered there, before any thread-local of the
/// program's can be, so that it runs after all of their destructors (see `thread::Owner`).
extern "C" fn at_start() {
    super::start();
    thread::start_main();
}

thread_local! {
    /// This thread's thread-local destructors have begun to run (see `__cxa_thread_atexit_impl`).
    static TEARING_DOWN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Is this thread running its thread-local destructors? A panic cannot unwind out of one (the
/// standard library aborts the process instead). Known on glibc, where the registration of
/// those destructors is interposed; elsewhere always `false`.
pub(crate) fn tearing_down() -> bool {
    TEARING_DOWN.get()
}

/// Is the process exiting on this thread: the main thread running its thread-local
/// destructors, which it does only from inside `exit` (then its exit handlers)?
pub(crate) fn exiting() -> bool {
    // SAFETY: getpid and gettid have no preconditions.
    tearing_down() && unsafe { libc::getpid() == libc::gettid() }
}

extern "C" fn teardown_began(_: *mut c_void) {
    TEARING_DOWN.set(true);
}

type ThreadAtexitFn =
    unsafe extern "C" fn(unsafe extern "C" fn(*mut c_void), *mut c_void, *mut c_void) -> c_int;

/// Interposes glibc's `__cxa_thread_atexit_impl`, through which the standard library registers
/// each thread-local's destructor: after each one, a marker whose destructor says that teardown
/// has begun. Destructors run in reverse order of registration, so the marker registered last
/// runs first, before any destructor of the thread.
///
/// No allocation here (the marker is a plain function, `teardown_began`) and no lock: a global
/// allocator's own thread-locals may be registered from inside an allocation.
///
/// # Safety
/// The C contract of `__cxa_thread_atexit_impl`.
#[cfg(target_env = "gnu")]
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn __cxa_thread_atexit_impl(
    dtor: unsafe extern "C" fn(*mut c_void),
    obj: *mut c_void,
    dso_symbol: *mut c_void,
) -> c_int {
    static REAL: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let mut addr = REAL.load(Relaxed);
    if addr == 0 {
        // Threads racing here find the same symbol.
        addr = next_symbol(c"__cxa_thread_atexit_impl") as usize;
        REAL.store(addr, Relaxed);
    }
    // SAFETY: the symbol is glibc's function of that name, whose C signature this is.
    let real = unsafe { std::mem::transmute::<usize, ThreadAtexitFn>(addr) };
    // SAFETY: forwarded unchanged, under the caller's contract.
    let rc = unsafe { real(dtor, obj, dso_symbol) };
    if rc == 0 && !TEARING_DOWN.get() {
        // SAFETY: a function that is valid for the life of the program, with no object; the
        // same DSO as the destructor's. If this fails, teardown is not seen: nothing worse.
        let _ = unsafe { real(teardown_began, std::ptr::null_mut(), dso_symbol) };
    }
    rc
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
