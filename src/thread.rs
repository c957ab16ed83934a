//! A drop-in for [`std::thread`].
//!
//! Everything std has is here, and plain std threads need nothing from maprace: it sees thread
//! creation and join below std (`pthread_create` / `pthread_join`), so `std::thread::spawn` and
//! `JoinHandle::join` order the parent's and the child's accesses with no change to the code.
//! Two things cannot be seen from below, and are maprace's own here:
//!
//! - the end of a scope: [`scope`] ends after everything its threads did;
//! - `park` / `unpark`: [`Thread::unpark`] releases into the clock of the thread it wakes, and
//!   [`park`] acquires it after it returns. std's `Thread::unpark` is a method of std's type and
//!   ends in a futex wake, which maprace cannot interpose, so [`Thread`] is maprace's (a std
//!   `Thread` plus that clock), and so are the handles that hand one out ([`current`],
//!   [`JoinHandle::thread`], [`ScopedJoinHandle::thread`]). A `std::thread::Thread` obtained
//!   elsewhere still unparks, without an edge: the access after the `park` is then reported,
//!   with a hint to use `maprace::thread`. `From<Thread> for std::thread::Thread` gives std's
//!   handle when an API needs it.
//!
//! With the detector compiled out, every item here is std's own.

pub use std::thread::*;

#[cfg(maprace_detect)]
pub use mirror::{
    Builder, JoinHandle, Scope, ScopedJoinHandle, Thread, current, park, park_timeout, scope, spawn,
};

#[cfg(maprace_detect)]
mod mirror {
    use crate::rt::park as parker;
    use crate::rt::thread::SyncClock;
    use std::fmt;
    use std::io;
    use std::marker::PhantomData;
    use std::sync::Arc;
    use std::thread::{Result, ThreadId};
    use std::time::Duration;

    /// A handle to a thread, whose [`unpark`](Thread::unpark) maprace sees.
    /// See [`std::thread::Thread`].
    ///
    /// ```
    /// use maprace::thread;
    ///
    /// let main = thread::current();
    /// let mut map = maprace::HashMap::new();
    /// map.insert(1, "a");
    /// let shared = std::sync::Arc::new(std::sync::Mutex::new(Some(map)));
    /// let worker = {
    ///     let shared = shared.clone();
    ///     thread::spawn(move || {
    ///         shared.lock().unwrap().as_mut().unwrap().insert(2, "b");
    ///         main.unpark();
    ///     })
    /// };
    /// thread::park();
    /// # worker.join().unwrap();
    /// ```
    #[derive(Clone)]
    pub struct Thread {
        std: std::thread::Thread,
        parker: Arc<SyncClock>,
    }

    impl Thread {
        /// The thread's unique id. See [`std::thread::Thread::id`].
        #[must_use]
        pub fn id(&self) -> ThreadId {
            self.std.id()
        }

        /// The thread's name. See [`std::thread::Thread::name`].
        #[must_use]
        pub fn name(&self) -> Option<&str> {
            self.std.name()
        }

        /// Makes the thread's park token available: what this thread did so far happens before
        /// what the thread does after the `park` that consumes it.
        /// See [`std::thread::Thread::unpark`].
        pub fn unpark(&self) {
            self.parker.release();
            self.std.unpark();
        }
    }

    impl fmt::Debug for Thread {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.std.fmt(f)
        }
    }

    impl From<Thread> for std::thread::Thread {
        fn from(thread: Thread) -> std::thread::Thread {
            thread.std
        }
    }

    /// The handle of the calling thread. See [`std::thread::current`].
    #[must_use]
    pub fn current() -> Thread {
        Thread {
            std: std::thread::current(),
            parker: parker::current(),
        }
    }

    /// Blocks until the thread's token is made available; the `unpark` that made it happens
    /// before what follows. See [`std::thread::park`].
    pub fn park() {
        std::thread::park();
        parker::current().acquire();
    }

    /// `park`, for at most `dur`. See [`std::thread::park_timeout`].
    pub fn park_timeout(dur: Duration) {
        std::thread::park_timeout(dur);
        parker::current().acquire();
    }

    /// An owned permission to join a thread. See [`std::thread::JoinHandle`].
    pub struct JoinHandle<T> {
        std: std::thread::JoinHandle<T>,
        thread: Thread,
    }

    impl<T> JoinHandle<T> {
        /// Waits for the thread to end; everything it did happens before what follows.
        /// See [`std::thread::JoinHandle::join`].
        pub fn join(self) -> Result<T> {
            self.std.join()
        }

        /// The thread's handle. See [`std::thread::JoinHandle::thread`].
        #[must_use]
        pub fn thread(&self) -> &Thread {
            &self.thread
        }

        /// Whether the thread's main function has returned.
        /// See [`std::thread::JoinHandle::is_finished`].
        pub fn is_finished(&self) -> bool {
            self.std.is_finished()
        }
    }

    impl<T> fmt::Debug for JoinHandle<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.std.fmt(f)
        }
    }

    /// Spawns a thread. See [`std::thread::spawn`].
    ///
    /// ```
    /// let mut map = maprace::HashMap::new();
    /// map.insert(1, 1);
    /// let handle = maprace::thread::spawn(move || map.len());
    /// assert_eq!(handle.join().unwrap(), 1);
    /// ```
    pub fn spawn<F, T>(f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Builder::new().spawn(f).expect("failed to spawn thread")
    }

    /// Thread factory: name and stack size. See [`std::thread::Builder`].
    #[derive(Debug)]
    #[must_use = "must eventually spawn the thread"]
    pub struct Builder {
        std: std::thread::Builder,
    }

    impl Builder {
        /// A builder with std's defaults. See [`std::thread::Builder::new`].
        #[allow(clippy::new_without_default)] // as std
        pub fn new() -> Builder {
            Builder {
                std: std::thread::Builder::new(),
            }
        }

        /// Names the thread (reports show the name). See [`std::thread::Builder::name`].
        pub fn name(self, name: String) -> Builder {
            Builder {
                std: self.std.name(name),
            }
        }

        /// Sets the stack size. See [`std::thread::Builder::stack_size`].
        pub fn stack_size(self, size: usize) -> Builder {
            Builder {
                std: self.std.stack_size(size),
            }
        }

        /// Spawns the thread. See [`std::thread::Builder::spawn`].
        pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
        where
            F: FnOnce() -> T + Send + 'static,
            T: Send + 'static,
        {
            let clock = Arc::new(SyncClock::new());
            let child = Arc::clone(&clock);
            let std = self.std.spawn(move || {
                parker::install(child);
                f()
            })?;
            let thread = Thread {
                std: std.thread().clone(),
                parker: clock,
            };
            Ok(JoinHandle { std, thread })
        }

        /// Spawns a thread in maprace's `scope`. See [`std::thread::Builder::spawn_scoped`].
        pub fn spawn_scoped<'scope, 'env, F, T>(
            self,
            scope: &'scope Scope<'scope, 'env>,
            f: F,
        ) -> io::Result<ScopedJoinHandle<'scope, T>>
        where
            F: FnOnce() -> T + Send + 'scope,
            T: Send + 'scope,
        {
            let clock = Arc::new(SyncClock::new());
            let child = Arc::clone(&clock);
            let ends = &scope.ends;
            let std = self.std.spawn_scoped(scope.std, move || {
                parker::install(child);
                let _end = ReleaseOnDrop(ends);
                f()
            })?;
            let thread = Thread {
                std: std.thread().clone(),
                parker: clock,
            };
            Ok(ScopedJoinHandle { std, thread })
        }
    }

    /// A scope to spawn scoped threads in. See [`std::thread::Scope`].
    pub struct Scope<'scope, 'env> {
        std: &'scope std::thread::Scope<'scope, 'env>,
        /// Every scoped thread releases into it as it ends; the end of the scope acquires it.
        ends: Arc<SyncClock>,
        _env: PhantomData<&'env ()>,
    }

    /// An owned permission to join a scoped thread. See [`std::thread::ScopedJoinHandle`].
    pub struct ScopedJoinHandle<'scope, T> {
        std: std::thread::ScopedJoinHandle<'scope, T>,
        thread: Thread,
    }

    impl<T> ScopedJoinHandle<'_, T> {
        /// Waits for the thread to end; everything it did happens before what follows.
        /// See [`std::thread::ScopedJoinHandle::join`].
        pub fn join(self) -> Result<T> {
            self.std.join()
        }

        /// The thread's handle. See [`std::thread::ScopedJoinHandle::thread`].
        #[must_use]
        pub fn thread(&self) -> &Thread {
            &self.thread
        }

        /// Whether the thread's main function has returned.
        /// See [`std::thread::ScopedJoinHandle::is_finished`].
        pub fn is_finished(&self) -> bool {
            self.std.is_finished()
        }
    }

    impl<T> fmt::Debug for ScopedJoinHandle<'_, T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.std.fmt(f)
        }
    }

    /// Creates a scope for spawning scoped threads; returns when all of them have ended, and
    /// everything they did happens before what follows. See [`std::thread::scope`].
    ///
    /// ```
    /// let mut totals = maprace::HashMap::new();
    /// totals.insert("a", 0);
    /// maprace::thread::scope(|s| {
    ///     s.spawn(|| *totals.get_mut("a").unwrap() += 1);
    /// });
    /// assert_eq!(totals["a"], 1);
    /// ```
    #[track_caller]
    pub fn scope<'env, F, T>(f: F) -> T
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
    {
        // The scope must live as long as std's, which only exists inside the closure: it is
        // boxed there and freed by `end`, after std's scope has joined every thread, also when
        // it unwinds (a scoped thread, or `f`, panicked): std's scope joins them first.
        let ends = Arc::new(SyncClock::new());
        let mut end = ScopeEnd {
            ends: Arc::clone(&ends),
            boxed: std::ptr::null_mut(),
        };
        std::thread::scope(|std_scope| {
            let scope = Box::into_raw(Box::new(Scope {
                std: std_scope,
                ends,
                _env: PhantomData,
            }));
            end.boxed = scope.cast();
            // SAFETY: freed by `end`, after every scoped thread (the only other users) ended.
            f(unsafe { &*scope })
        })
    }

    /// The end of a `scope`, when std's has returned or is unwinding (its threads have ended
    /// either way): frees the boxed `Scope`, and acquires what its threads released.
    struct ScopeEnd {
        ends: Arc<SyncClock>,
        /// The `Box<Scope>` made inside std's scope (null if std's never ran the closure).
        boxed: *mut (),
    }

    impl Drop for ScopeEnd {
        fn drop(&mut self) {
            if !self.boxed.is_null() {
                // SAFETY: `boxed` is the `Box<Scope>` that `scope` made, freed only here; no
                // thread of the scope runs any more. The lifetimes of the cast are not the
                // ones it was made with, which changes nothing: they name borrows only, and
                // `Scope`'s drop (its `Arc`) uses none of them.
                drop(unsafe { Box::from_raw(self.boxed.cast::<Scope<'_, '_>>()) });
            }
            self.ends.acquire();
        }
    }

    impl<'scope> Scope<'scope, '_> {
        /// Spawns a scoped thread. See [`std::thread::Scope::spawn`].
        pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
        where
            F: FnOnce() -> T + Send + 'scope,
            T: Send + 'scope,
        {
            Builder::new()
                .spawn_scoped(self, f)
                .expect("failed to spawn thread")
        }
    }

    impl fmt::Debug for Scope<'_, '_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.std.fmt(f)
        }
    }

    /// Releases at the end of a scoped thread, also when it panics.
    struct ReleaseOnDrop<'a>(&'a SyncClock);

    impl Drop for ReleaseOnDrop<'_> {
        fn drop(&mut self) {
            self.0.release();
        }
    }
}
