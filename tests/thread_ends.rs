//! A thread's end as its joiner sees it: the joiner acquires the clock of the thread it joined,
//! and of no other, even when the C library hands the joined thread's `pthread_t` to a new
//! thread before the join has returned (issue 10, point 1).

mod common;

use common::{Shared, Side};
use std::ffi::CStr;
use std::os::unix::thread::JoinHandleExt;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering::SeqCst};
use std::thread;
use std::time::Duration;

type Map = maprace::HashMap<u32, u32>;

fn named(name: &str) -> thread::Builder {
    thread::Builder::new().name(name.into())
}

/// `tests/shim/join_delay.c`, built once per test binary with the C compiler the Rust toolchain
/// links with.
fn join_delay_shim() -> &'static str {
    static SHIM: OnceLock<String> = OnceLock::new();
    SHIM.get_or_init(|| {
        let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/shim/join_delay.c");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let built = dir.join("libjoin_delay.so");
        let partial = dir.join(format!("libjoin_delay.so.{}", std::process::id()));
        let status = std::process::Command::new(std::env::var("CC").unwrap_or("cc".into()))
            .args(["-shared", "-fPIC", "-O1", "-o"])
            .arg(&partial)
            .arg(&source)
            .arg("-ldl")
            .status()
            .expect("run the C compiler");
        assert!(status.success(), "building {}", source.display());
        std::fs::rename(&partial, &built).unwrap();
        built.to_str().unwrap().to_owned()
    })
}

/// A function of the preloaded shim.
fn shim_fn<T: Copy>(name: &CStr) -> T {
    // SAFETY: `name` is NUL-terminated; RTLD_DEFAULT searches every loaded object.
    let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    assert!(!sym.is_null(), "{name:?}: the shim is not preloaded");
    assert_eq!(size_of::<T>(), size_of::<*mut libc::c_void>());
    // SAFETY: the symbol is the shim's function of that name, whose C signature `T` spells out.
    unsafe { std::mem::transmute_copy(&sym) }
}

/// Runs `body` in a child with the shim preloaded.
fn with_shim(name: &str, body: impl FnOnce(), check: impl FnOnce(common::Outcome)) {
    let preload = |child: &mut std::process::Command| {
        child.env("LD_PRELOAD", join_delay_shim());
    };
    if let Some(out) = common::child_with(name, "", preload, body) {
        check(out);
    }
}

/// The `pthread_t` of "first child", once "joiner" has it.
static JOINED: AtomicU64 = AtomicU64::new(0);

/// The interleaving of issue 10, point 1, made certain: thread "joiner" joins "first child",
/// which wrote `first`; the shim holds that join after the real one returned, while this thread
/// creates threads ("reuser") until one gets the joined thread's `pthread_t`. That one runs
/// `reuse`, and this thread ends it with `end_reuser` (the others are joined). Then the held
/// join returns and "joiner" runs `after_join`. Prints both `pthread_t`s.
fn join_past_a_reuse(
    first: &mut Map,
    reuse: impl Fn() + Send + Copy + 'static,
    end_reuser: fn(thread::JoinHandle<()>),
    after_join: impl FnOnce() + Send + 'static,
) {
    let arm: extern "C" fn() = shim_fn(c"join_delay_arm");
    let waiting: extern "C" fn() -> libc::c_int = shim_fn(c"join_delay_waiting");
    let release: extern "C" fn() = shim_fn(c"join_delay_release");
    let first = Shared(first as *mut Map);
    let joiner = named("joiner")
        .spawn(move || {
            let child = named("first child")
                .spawn(move || {
                    let first = first;
                    first.get().insert(1, 1);
                })
                .unwrap();
            JOINED.store(child.as_pthread_t(), SeqCst);
            arm();
            child.join().unwrap();
            after_join();
        })
        .unwrap();
    while waiting() == 0 {
        thread::sleep(Duration::from_millis(1));
    }
    // "first child" is joined for real: the C library may give its `pthread_t` to a new thread.
    let joined = JOINED.load(SeqCst);
    let mut reused = 0;
    for _ in 0..100 {
        let other = named("reuser")
            .spawn(move || {
                // SAFETY: pthread_self has no preconditions.
                if unsafe { libc::pthread_self() } == JOINED.load(SeqCst) {
                    reuse();
                }
            })
            .unwrap();
        reused = other.as_pthread_t();
        if reused == joined {
            end_reuser(other);
            break;
        }
        other.join().unwrap();
    }
    release();
    joiner.join().unwrap();
    println!("pthread_t: first child {joined:#x}, reuser {reused:#x}");
}

/// The child printed the same `pthread_t` for both threads: the interleaving happened.
fn assert_reused(out: &common::Outcome) {
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.split_once("pthread_t: first child ").map(|(_, ids)| ids)) // libtest's line may come first
        .unwrap_or_else(|| panic!("no pthread_t line\n{out}"));
    let (first, reuser) = line.split_once(", reuser ").unwrap();
    assert_eq!(
        first, reuser,
        "the reuser did not get the joined thread's pthread_t\n{out}"
    );
}

#[test]
fn a_join_held_past_the_reuse_of_its_pthread_t_still_orders_the_joined_thread() {
    with_shim(
        "a_join_held_past_the_reuse_of_its_pthread_t_still_orders_the_joined_thread",
        || {
            let mut first = Map::new();
            let shared = Shared(&mut first as *mut Map);
            join_past_a_reuse(
                &mut first,
                || {},
                |reuser| reuser.join().unwrap(),
                move || {
                    let shared = shared;
                    assert_eq!(shared.get().get(&1), Some(&1)); // after the join: ordered
                },
            );
        },
        |out| {
            out.assert_clean();
            assert_reused(&out);
        },
    );
}

/// Waits for the thread to end without `pthread_join` (no hook of maprace's sees it: nothing is
/// acquired, and the thread's exit record stays for a joiner).
fn try_join_until_ended(reuser: thread::JoinHandle<()>) {
    let native = reuser.into_pthread_t();
    // SAFETY: `native` is a joinable thread that nothing else joins.
    while unsafe { libc::pthread_tryjoin_np(native, std::ptr::null_mut()) } != 0 {
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_join_held_past_the_reuse_of_its_pthread_t_does_not_take_the_new_threads_clock() {
    with_shim(
        "a_join_held_past_the_reuse_of_its_pthread_t_does_not_take_the_new_threads_clock",
        || {
            let mut first = Map::new();
            let mut second = Box::new(Map::new()); // the first map a report names: map#1
            let shared = Shared(&mut *second as *mut Map);
            join_past_a_reuse(
                &mut first,
                move || {
                    let shared = shared;
                    at!("previous", shared.get().insert(1, 1));
                },
                try_join_until_ended,
                move || {
                    let shared = shared;
                    // "joiner" joined "first child", not "reuser": unordered with its insert.
                    at!("current", shared.get().get(&1));
                },
            );
        },
        |out| {
            out.assert_race(
                Side {
                    access: "Read (get) of key 1 in map#1",
                    thread: "joiner",
                },
                Side {
                    access: "write (insert) of the map's structure",
                    thread: "reuser",
                },
            );
        },
    );
}

/// The map `ReadsAtEnd` reads.
static READ_AT_END: AtomicPtr<Map> = AtomicPtr::new(std::ptr::null_mut());

/// Reads key 1 of `READ_AT_END` when dropped.
struct ReadsAtEnd;

impl Drop for ReadsAtEnd {
    fn drop(&mut self) {
        // SAFETY: the scenario's map, alive until the thread that drops this has ended.
        let map = unsafe { &*READ_AT_END.load(SeqCst) };
        at!("current", map.get(&1));
    }
}

thread_local! {
    static ENDS_WITH_A_READ: ReadsAtEnd = const { ReadsAtEnd };
}

/// Thread "ender" reads the map from a thread-local destructor, where a panic cannot unwind.
fn read_in_a_thread_local_destructor(map: &mut Map) {
    READ_AT_END.store(map, SeqCst);
    named("ender")
        .spawn(|| ENDS_WITH_A_READ.with(|_| {}))
        .unwrap()
        .join()
        .unwrap();
}

fn insert_one(map: &mut Map) {
    at!("previous", map.insert(1, 1));
}

fn read_vs_insert(reader: &str) -> (Side<'_>, Side<'static>) {
    (
        Side {
            access: "Read (get) of key 1 in map#1",
            thread: reader,
        },
        Side {
            access: "write (insert) of the map's structure",
            thread: "writer",
        },
    )
}

// Issue 10, point 4: the panic of `action=panic` would abort the process there (SIGABRT).
scenario!(
    a_race_in_a_thread_local_destructor_with_action_panic_is_reported_and_exits,
    options = "action=panic",
    {
        let mut map = Map::new();
        common::unordered(&mut map, insert_one, read_in_a_thread_local_destructor);
    },
    |out| {
        let (current, previous) = read_vs_insert("ender");
        out.assert_race(current, previous);
    }
);

scenario!(
    a_read_in_a_thread_local_destructor_after_a_join_is_not_reported,
    options = "action=panic",
    {
        let mut map = Map::new();
        common::joined(&mut map, insert_one, read_in_a_thread_local_destructor);
    },
    |out| out.assert_clean()
);

/// Reads key 1 of the map when dropped.
struct ReadsOnDrop(Shared<Map>);

impl Drop for ReadsOnDrop {
    fn drop(&mut self) {
        at!("current", self.0.get().get(&1));
    }
}

/// The test thread reads the map while it unwinds from a panic of its own.
fn read_while_unwinding(map: &mut Map) {
    let shared = Shared(map as *mut Map);
    let unwound = std::panic::catch_unwind(move || {
        let _reads = ReadsOnDrop(shared);
        panic!("the scenario's own panic");
    });
    assert!(unwound.is_err());
}

// A second panic while unwinding would abort the process; before, the report was printed and
// the program went on as if nothing had been found.
scenario!(
    a_race_found_while_unwinding_with_action_panic_is_reported_and_exits,
    options = "action=panic",
    {
        let mut map = Map::new();
        common::unordered(&mut map, insert_one, read_while_unwinding);
    },
    |out| {
        let (current, previous) = read_vs_insert(common::TEST_THREAD);
        out.assert_race(current, previous);
    }
);

scenario!(
    a_read_while_unwinding_after_a_join_is_not_reported,
    options = "action=panic",
    {
        let mut map = Map::new();
        common::joined(&mut map, insert_one, read_while_unwinding);
    },
    |out| out.assert_clean()
);
