//! `maprace::thread` and the thread edges maprace sees below std: spawn and join (also of a
//! thread made with `libc::pthread_create`), join chains, scope ends, park/unpark.

mod common;
use common::Shared;
use maprace::thread;
use std::time::Instant;

type Map = maprace::HashMap<u32, u32>;

scenario!(
    a_join_chain_orders_a_grandchild_before_the_main_thread,
    {
        let mut map = Map::new();
        let shared = Shared(&mut map as *mut Map);
        let child = thread::spawn(move || {
            let grandchild = thread::Builder::new()
                .name("grandchild".into())
                .spawn(move || {
                    let shared = shared;
                    shared.get().insert(1, 1);
                })
                .unwrap();
            grandchild.join().unwrap();
        });
        child.join().unwrap();
        map.get(&1);
    },
    |out| out.assert_clean()
);

scenario!(
    a_grandchild_nobody_joined_is_reported,
    {
        let mut map = Map::new();
        let shared = Shared(&mut map as *mut Map);
        let (done, finished) = std::sync::mpsc::channel();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let child = thread::spawn(move || {
            thread::Builder::new()
                .name("writer".into())
                .spawn(move || {
                    let shared = shared;
                    at!("previous", shared.get().insert(1, 1));
                    done.send(()).unwrap();
                    let _ = stopped.recv();
                })
                .unwrap()
        });
        let grandchild = child.join().unwrap();
        finished.recv().unwrap();
        at!("current", map.get(&1));
        drop(stop);
        grandchild.join().unwrap();
    },
    |out| out.assert_get_after_insert()
);

/// The end of a scope: maprace's orders what its threads did before what follows; std's is
/// not visible (its threads are detached, and the scope waits on a counter).
fn after_scope(visible: bool) {
    let mut map = Map::new();
    let shared = Shared(&mut map as *mut Map);
    let write = move || {
        let shared = shared;
        at!("previous", shared.get().insert(1, 1));
    };
    if visible {
        thread::scope(|s| {
            thread::Builder::new()
                .name("writer".into())
                .spawn_scoped(s, write)
                .unwrap();
        });
    } else {
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("writer".into())
                .spawn_scoped(s, write)
                .unwrap();
        });
    }
    at!("current", map.get(&1));
}

scenario!(
    the_end_of_a_maprace_scope_runs_clean,
    { after_scope(true) },
    |out| out.assert_clean()
);

scenario!(
    the_end_of_a_std_scope_is_invisible_and_reported,
    { after_scope(false) },
    |out| out.assert_get_after_insert()
);

scenario!(
    the_end_of_a_maprace_scope_whose_thread_panicked_runs_clean,
    {
        // The scope joins its threads and then panics (one of them did): what they did still
        // happens before what follows the caught panic.
        let mut map = Map::new();
        let shared = Shared(&mut map as *mut Map);
        let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            thread::scope(|s| {
                thread::Builder::new()
                    .name("writer".into())
                    .spawn_scoped(s, move || {
                        let shared = shared;
                        shared.get().insert(1, 1);
                        panic!("the writer fails after its insert");
                    })
                    .unwrap();
            })
        }));
        assert!(ended.is_err());
        map.get(&1);
    },
    |out| out.assert_clean()
);

scenario!(
    the_end_of_a_maprace_scope_whose_closure_panicked_runs_clean,
    {
        let mut map = Map::new();
        let shared = Shared(&mut map as *mut Map);
        let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            thread::scope(|s| {
                thread::Builder::new()
                    .name("writer".into())
                    .spawn_scoped(s, move || {
                        let shared = shared;
                        shared.get().insert(1, 1);
                    })
                    .unwrap();
                panic!("the scope's closure fails");
            })
        }));
        assert!(ended.is_err());
        map.get(&1);
    },
    |out| out.assert_clean()
);

/// A worker inserts, then unparks this thread through maprace's `Thread` (`visible`) or std's;
/// this thread parks (std's Linux parker never wakes spuriously), then reads.
fn park_unpark(visible: bool) {
    let mut map = Map::new();
    let shared = Shared(&mut map as *mut Map);
    let me = thread::current();
    let worker = thread::Builder::new()
        .name("writer".into())
        .spawn(move || {
            let shared = shared;
            at!("previous", shared.get().insert(1, 1));
            if visible {
                me.unpark();
            } else {
                // With the detector compiled out both are std's `Thread` already.
                #[allow(clippy::useless_conversion)]
                std::thread::Thread::from(me).unpark();
            }
        })
        .unwrap();
    thread::park();
    at!("current", map.get(&1));
    worker.join().unwrap();
}

scenario!(
    an_unpark_happens_before_the_park_it_wakes,
    { park_unpark(true) },
    |out| out.assert_clean()
);

scenario!(
    an_unpark_through_std_thread_is_invisible_and_reported,
    { park_unpark(false) },
    |out| out.assert_get_after_insert()
);

scenario!(
    unparking_a_spawned_thread_through_its_join_handle_runs_clean,
    {
        let mut map = Map::new();
        let shared = Shared(&mut map as *mut Map);
        let (parked, ready) = std::sync::mpsc::channel();
        let reader = thread::spawn(move || {
            let shared = shared;
            parked.send(()).unwrap();
            thread::park_timeout(std::time::Duration::from_secs(30));
            shared.get().get(&1).copied()
        });
        ready.recv().unwrap();
        map.insert(1, 1);
        reader.thread().unpark();
        assert_eq!(reader.join().unwrap(), Some(1));
    },
    |out| out.assert_clean()
);

/// A thread made with `libc::pthread_create` directly (no std in between).
extern "C" fn insert_one(map: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: `map` is the scenario's map, alive until the thread is joined.
    let map = unsafe { &mut *map.cast::<Map>() };
    map.insert(1, 1);
    WRITTEN.store(true, std::sync::atomic::Ordering::SeqCst);
    std::ptr::null_mut()
}

static WRITTEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn pthread(join_first: bool) {
    let mut map = Map::new();
    let mut native: libc::pthread_t = 0;
    // SAFETY: a valid start routine and argument; the map outlives the thread (joined below).
    let rc = unsafe {
        libc::pthread_create(
            &mut native,
            std::ptr::null(),
            insert_one,
            (&mut map as *mut Map).cast(),
        )
    };
    assert_eq!(rc, 0);
    if join_first {
        // SAFETY: `native` is a joinable thread created above.
        assert_eq!(
            unsafe { libc::pthread_join(native, std::ptr::null_mut()) },
            0
        );
    }
    while !WRITTEN.load(std::sync::atomic::Ordering::SeqCst) {
        std::hint::spin_loop();
    }
    common::mark("current", file!(), line!() + 1);
    map.get(&1);
    if !join_first {
        // SAFETY: as above.
        assert_eq!(
            unsafe { libc::pthread_join(native, std::ptr::null_mut()) },
            0
        );
    }
}

scenario!(
    a_thread_from_libc_pthread_create_is_joined_visibly,
    { pthread(true) },
    |out| out.assert_clean()
);

scenario!(
    a_thread_from_libc_pthread_create_not_joined_yet_is_reported,
    { pthread(false) },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_clean();
        }
        out.assert_report_shape(66, "stopping at the first race (exit code 66)");
        let current = format!(" at {}:", out.site("current"));
        assert!(out.stderr.contains(&current), "{out}");
        // A thread without a Rust name is named after its slot.
        assert!(out.stderr.contains("Previous write (insert)"), "{out}");
        assert!(out.stderr.contains("  by thread 'T"), "{out}");
        assert!(out.stderr.contains("tests/sync_threads.rs:"), "{out}");
    }
);

scenario!(
    a_thousand_threads_spawned_and_joined_in_sequence_run_clean,
    {
        let start = Instant::now();
        let mut map = Map::new();
        let shared = Shared(&mut map as *mut Map);
        for i in 0..1000 {
            thread::spawn(move || {
                let shared = shared;
                shared.get().insert(i, i);
                shared.get().get(&0);
            })
            .join()
            .unwrap();
            map.len();
        }
        assert_eq!(map.len(), 1000);
        println!(
            "maprace-test: 1000 threads spawned and joined: {:?}",
            start.elapsed()
        );
    },
    |out| {
        out.assert_clean();
        let time = out.stdout.lines().find(|l| l.contains("1000 threads"));
        eprintln!("{}", time.unwrap_or("no time"));
    }
);

#[test]
fn current_sleep_yield_and_available_parallelism_are_there() {
    let me = thread::current();
    assert_eq!(me.id(), std::thread::current().id());
    assert_eq!(me.name(), std::thread::current().name());
    thread::sleep(std::time::Duration::from_millis(1));
    thread::yield_now();
    assert!(thread::available_parallelism().unwrap().get() >= 1);
    let handle = thread::Builder::new()
        .name("named".into())
        .stack_size(1 << 20)
        .spawn(|| thread::current().name().map(str::to_owned))
        .unwrap();
    assert_eq!(handle.thread().name(), Some("named"));
    assert_eq!(handle.join().unwrap().as_deref(), Some("named"));
}
