//! `fork()` from a program with busy threads (issue 10, point 8): the child of a multi-threaded
//! parent has only the thread that forked, so a lock another thread held at the fork is never
//! released there. maprace's own locks, and the unwinder's (held while a stack is captured),
//! must never be.

mod common;

use common::Shared;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

type Map = maprace::HashMap<u32, u32>;

/// How a forked child ended: its exit code, or `None` if it did not end within `deadline` (it
/// is killed).
fn wait_for(pid: libc::pid_t, deadline: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: `pid` is a child of this process; `status` is a valid out-pointer.
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert!(done >= 0, "waitpid");
        if done == pid {
            return Some(if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                128 + libc::WTERMSIG(status)
            });
        }
        if start.elapsed() > deadline {
            // SAFETY: as above.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Forks; the child runs `child` and ends with its exit code, without running the parent's
/// exit handlers twice (`_exit`) unless `child` exits itself. Returns the child's pid.
fn fork(child: impl FnOnce() -> i32) -> libc::pid_t {
    // SAFETY: the child only runs `child` and ends; what it may use after a fork in a
    // multi-threaded process is what this test is about.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        let code = child();
        // SAFETY: _exit has no preconditions.
        unsafe { libc::_exit(code) }
    }
    pid
}

/// What each thread of `busy_threads` starts: a map operation.
extern "C" fn use_a_map(_: *mut libc::c_void) -> *mut libc::c_void {
    let mut map = Map::new();
    map.insert(1, 1);
    std::ptr::null_mut()
}

/// Threads that keep creating threads (maprace captures each one's creation stack, takes a slot
/// for it, records its end and its join) and using maps, until `stop`. The threads they create
/// are C library threads: a std thread's start and end take a lock of std's own, which a child
/// that spawns a thread would wait for just the same (a hang that is std's, not maprace's).
fn busy_threads(stop: &Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<()>> {
    const BUSY: usize = 3;
    // They are all running before this returns: their own starts (std threads) are over.
    let started = Arc::new(std::sync::Barrier::new(BUSY + 1));
    let busy = (0..BUSY)
        .map(|_| {
            let (stop, started) = (stop.clone(), started.clone());
            std::thread::spawn(move || {
                started.wait();
                let mut map = Map::new();
                let mut i = 0;
                while !stop.load(Relaxed) {
                    i += 1;
                    map.insert(i % 64, i);
                    let mut native: libc::pthread_t = 0;
                    // SAFETY: a valid start routine that ignores its argument.
                    let rc = unsafe {
                        libc::pthread_create(
                            &mut native,
                            std::ptr::null(),
                            use_a_map,
                            std::ptr::null_mut(),
                        )
                    };
                    assert_eq!(rc, 0);
                    // SAFETY: `native` is a joinable thread created above.
                    assert_eq!(
                        unsafe { libc::pthread_join(native, std::ptr::null_mut()) },
                        0
                    );
                }
            })
        })
        .collect();
    started.wait();
    busy
}

scenario!(
    children_forked_from_a_parent_with_busy_threads_never_hang,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let busy = busy_threads(&stop);
        let mut hung = 0;
        let mut failed = Vec::new();
        for _ in 0..200 {
            let pid = fork(|| {
                // What a child may do: use a map, spawn a thread (its creation stack is captured)
                // and join it.
                let mut map = Map::new();
                map.insert(1, 1);
                let shared = Shared(&mut map as *mut Map);
                std::thread::spawn(move || {
                    let shared = shared;
                    shared.get().insert(2, 2);
                })
                .join()
                .unwrap();
                i32::from(map.len() != 2)
            });
            match wait_for(pid, Duration::from_secs(5)) {
                None => hung += 1,
                Some(0) => {}
                Some(code) => failed.push(code),
            }
        }
        stop.store(true, Relaxed);
        for thread in busy {
            thread.join().unwrap();
        }
        assert_eq!(
            (hung, failed),
            (0, vec![]),
            "children hung, children failed"
        );
    },
    |out| out.assert_clean()
);

fn get_after_insert() {
    let mut map = Map::new();
    common::unordered(
        &mut map,
        |map| at!("previous", map.insert(1, 1)),
        |map| at!("current", map.get(&1).copied()),
    );
}

// With halt_on_error=0 the child inherited the parent's count: it ended with the parent's
// exit code and summary, and the parent's reports were not reported again in it.
scenario!(
    a_forked_child_counts_its_own_races_from_zero,
    options = "halt_on_error=0",
    {
        get_after_insert();
        let clean = fork(|| std::process::exit(0));
        let racy = fork(|| {
            get_after_insert(); // the same race, in the child: its own
            std::process::exit(0)
        });
        let clean = wait_for(clean, Duration::from_secs(60));
        let racy = wait_for(racy, Duration::from_secs(60));
        println!("children: clean {clean:?}, racy {racy:?}");
    },
    |out| {
        if !maprace::COMPILED_IN {
            return out.assert_clean();
        }
        assert!(
            out.stdout
                .contains("children: clean Some(0), racy Some(66)"),
            "{out}"
        );
        // The parent's report and summary, and the racy child's.
        assert_eq!(out.stderr.matches("WARNING: MAP RACE").count(), 2, "{out}");
        assert_eq!(
            out.stderr.matches("maprace: found 1 race(s)").count(),
            2,
            "{out}"
        );
        // Both name the same sites (each process marked them: the harness's `assert_sides`
        // wants one mark of each).
        let site = |label: &str| {
            let prefix = format!("maprace-test: site {label} ");
            let marked = out.stdout.lines().filter_map(|l| l.split_once(&prefix));
            let sites: Vec<&str> = marked.map(|(_, site)| site).collect();
            assert!(
                sites.len() == 2 && sites[0] == sites[1],
                "{label}: {sites:?}\n{out}"
            );
            format!(" at {}:", sites[0])
        };
        let (current, previous) = (site("current"), site("previous"));
        let lines: Vec<&str> = out.stderr.lines().collect();
        let headlines = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| **l == "WARNING: MAP RACE");
        // (The child names its new map after the parent's: map names count reports' maps.)
        for ((i, _), map) in headlines.zip(["map#1", "map#2"]) {
            let access = format!("Read (get) of key 1 in {map} ");
            assert!(lines[i + 1].starts_with(&access), "{access}\n{out}");
            assert!(lines[i + 1].contains(&current), "{out}");
            let previous_line = lines[i..].iter().find(|l| l.starts_with("Previous "));
            let previous_line = previous_line.unwrap();
            let write = "Previous write (insert) of the map's structure";
            assert!(previous_line.starts_with(write), "{out}");
            assert!(previous_line.contains(&previous), "{out}");
        }
        assert_eq!(out.code, Some(66), "{out}");
    }
);

/// What each churning thread of `guard_threads` starts (a C library thread, as in
/// `busy_threads`): a guard of a map its threads share.
#[cfg(feature = "dashmap")]
extern "C" fn take_a_guard(_: *mut libc::c_void) -> *mut libc::c_void {
    static SHARED: std::sync::LazyLock<maprace::DashMap<u32, u32>> =
        std::sync::LazyLock::new(maprace::DashMap::new);
    SHARED.insert(1, 1);
    drop(SHARED.get(&1));
    std::ptr::null_mut()
}

/// Threads of the parent that hold DashMap guards at the fork, or wait for one (with a guard of
/// another map held, so their wait is published for the cycle checks), while others make maps
/// (a tag each) and start threads that take a guard (a held list each, taken from the pool and
/// given back at the thread's end).
#[cfg(feature = "dashmap")]
fn guard_threads(stop: &Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<()>> {
    use maprace::DashMap;
    let contended = Arc::new(DashMap::<u32, u32>::new());
    contended.insert(0, 0);
    let started = Arc::new(std::sync::Barrier::new(5));
    let mut threads = Vec::new();
    for waits in [false, true] {
        let (stop, started, contended) = (stop.clone(), started.clone(), contended.clone());
        threads.push(std::thread::spawn(move || {
            let mine = DashMap::<u32, u32>::new();
            mine.insert(0, 0);
            started.wait();
            while !stop.load(Relaxed) {
                let _held = mine.get(&0);
                if waits {
                    // Waits while the other thread holds the key's shard.
                    drop(contended.get_mut(&0));
                } else {
                    let _guard = contended.get_mut(&0);
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }));
    }
    for _ in 0..2 {
        let (stop, started) = (stop.clone(), started.clone());
        threads.push(std::thread::spawn(move || {
            started.wait();
            while !stop.load(Relaxed) {
                let map = DashMap::<u32, u32>::new();
                map.insert(1, 1);
                let mut native: libc::pthread_t = 0;
                // SAFETY: a valid start routine that ignores its argument.
                let rc = unsafe {
                    libc::pthread_create(
                        &mut native,
                        std::ptr::null(),
                        take_a_guard,
                        std::ptr::null_mut(),
                    )
                };
                assert_eq!(rc, 0);
                // SAFETY: `native` is a joinable thread created above.
                assert_eq!(
                    unsafe { libc::pthread_join(native, std::ptr::null_mut()) },
                    0
                );
            }
        }));
    }
    started.wait();
    threads
}

#[cfg(feature = "dashmap")]
scenario!(
    children_forked_while_dashmap_guards_are_held_and_waited_for_never_hang,
    {
        use maprace::DashMap;
        let stop = Arc::new(AtomicBool::new(false));
        let threads = guard_threads(&stop);
        let mut hung = 0;
        let mut failed = Vec::new();
        for _ in 0..200 {
            let pid = fork(|| {
                // What a child may do: make maps (a tag each), take guards in a thread of its
                // own (a held list), and call a map while holding a guard of another.
                let map = Arc::new(DashMap::<u32, u32>::new());
                let used = map.clone();
                std::thread::spawn(move || {
                    used.insert(1, 1);
                    drop(used.get(&1));
                    used.insert(2, 2);
                })
                .join()
                .unwrap();
                let other = DashMap::<u32, u32>::new();
                let held = map.get(&1);
                other.insert(3, 3);
                i32::from(held.as_deref() != Some(&1) || other.len() != 1)
            });
            match wait_for(pid, Duration::from_secs(5)) {
                None => hung += 1,
                Some(0) => {}
                Some(code) => failed.push(code),
            }
        }
        stop.store(true, Relaxed);
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(
            (hung, failed),
            (0, vec![]),
            "children hung, children failed"
        );
    },
    |out| out.assert_clean()
);
