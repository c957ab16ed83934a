//! A drop-in for [`std::thread`].
//!
//! Everything std has is here. `spawn`, `Builder::spawn` and `JoinHandle::join` need nothing
//! from maprace: it sees thread creation and join below std (so plain `std::thread::spawn`
//! works too). What it cannot see is the end of a `std::thread::scope`, so [`scope`] here is
//! maprace's: the end of the scope happens after everything its threads did.

pub use std::thread::*;

#[cfg(maprace_detect)]
pub use scoped::{Scope, scope};

#[cfg(maprace_detect)]
mod scoped {
    use crate::rt::thread::SyncClock;
    use std::marker::PhantomData;
    use std::thread::ScopedJoinHandle;

    /// A scope to spawn scoped threads in. See [`std::thread::Scope`].
    pub struct Scope<'scope, 'env> {
        std: &'scope std::thread::Scope<'scope, 'env>,
        /// Every scoped thread releases into it as it ends; the end of the scope acquires it.
        ends: SyncClock,
        _env: PhantomData<&'env ()>,
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
        // boxed there and freed here, after std's scope has joined every thread.
        let mut boxed: *mut () = std::ptr::null_mut();
        let result = std::thread::scope(|std_scope| {
            let scope = Box::into_raw(Box::new(Scope {
                std: std_scope,
                ends: SyncClock::new(),
                _env: PhantomData,
            }));
            boxed = scope.cast();
            // SAFETY: freed below, after every scoped thread (the only other users) ended.
            f(unsafe { &*scope })
        });
        // SAFETY: `boxed` is the `Box<Scope>` made above; no thread of the scope runs any more,
        // and `Scope` has no destructor that could use its expired borrow.
        let scope = unsafe { Box::from_raw(boxed.cast::<Scope<'_, 'env>>()) };
        scope.ends.acquire();
        result
    }

    impl<'scope, 'env> Scope<'scope, 'env> {
        /// Spawns a scoped thread. See [`std::thread::Scope::spawn`].
        pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
        where
            F: FnOnce() -> T + Send + 'scope,
            T: Send + 'scope,
        {
            let ends = &self.ends;
            self.std.spawn(move || {
                let _end = ReleaseOnDrop(ends);
                f()
            })
        }
    }

    impl std::fmt::Debug for Scope<'_, '_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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
