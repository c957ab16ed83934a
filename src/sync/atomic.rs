//! A drop-in for [`std::sync::atomic`]: each atomic carries a clock. Release, AcqRel and SeqCst
//! stores and read-modify-writes release into it; Acquire, AcqRel and SeqCst loads (and the read
//! half of read-modify-writes) acquire from it; Relaxed orders nothing, except through
//! [`fence`]. A Release store replaces the clock, a Release read-modify-write joins into it (the
//! release sequence goes on), as in the memory model.
//!
//! Not mirrored: `from_ptr` (a maprace atomic is bigger than the plain integer, so it cannot be
//! conjured from one), and methods newer than maprace's minimum Rust version.

use crate::rt::atomic::{AtomicClock, AtomicOp};
use std::fmt;

pub use std::sync::atomic::{Ordering, compiler_fence};

/// A memory fence maprace sees: a Release fence lends the thread's clock to its later Relaxed
/// stores, an Acquire fence acquires what its earlier Relaxed loads read.
/// See [`std::sync::atomic::fence`].
///
/// ```
/// use maprace::sync::atomic::{AtomicBool, Ordering, fence};
///
/// static READY: AtomicBool = AtomicBool::new(false);
/// READY.store(true, Ordering::Relaxed);
/// fence(Ordering::Acquire);
/// ```
pub fn fence(order: Ordering) {
    crate::rt::atomic::fence(order);
}

/// Methods every atomic has, over a value type `$v`.
macro_rules! common {
    ($v:ty, $std:ty) => {
        /// A mutable reference to the value (the borrow is exclusive).
        #[doc = concat!("See [`", stringify!($std), "::get_mut`].")]
        pub fn get_mut(&mut self) -> &mut $v {
            self.inner.get_mut()
        }

        /// Consumes the atomic, returning the value.
        #[doc = concat!("See [`", stringify!($std), "::into_inner`].")]
        pub fn into_inner(self) -> $v {
            self.inner.into_inner()
        }

        /// Loads the value; Acquire (or stronger) acquires the atomic's clock.
        #[doc = concat!("See [`", stringify!($std), "::load`].")]
        pub fn load(&self, order: Ordering) -> $v {
            self.clock
                .run(AtomicOp::Load, order, || self.inner.load(order))
        }

        /// Stores a value; Release (or stronger) releases into the atomic's clock.
        #[doc = concat!("See [`", stringify!($std), "::store`].")]
        pub fn store(&self, val: $v, order: Ordering) {
            self.clock
                .run(AtomicOp::Store, order, || self.inner.store(val, order))
        }

        /// Stores a value, returning the previous one.
        #[doc = concat!("See [`", stringify!($std), "::swap`].")]
        pub fn swap(&self, val: $v, order: Ordering) -> $v {
            self.clock
                .run(AtomicOp::Rmw, order, || self.inner.swap(val, order))
        }

        /// Stores `new` if the value is `current`; the edges are those of `success` if it
        /// stored, of `failure` if not.
        #[doc = concat!("See [`", stringify!($std), "::compare_exchange`].")]
        pub fn compare_exchange(
            &self,
            current: $v,
            new: $v,
            success: Ordering,
            failure: Ordering,
        ) -> Result<$v, $v> {
            self.clock.compare_exchange(success, failure, || {
                self.inner.compare_exchange(current, new, success, failure)
            })
        }

        /// `compare_exchange` that may fail spuriously.
        #[doc = concat!("See [`", stringify!($std), "::compare_exchange_weak`].")]
        pub fn compare_exchange_weak(
            &self,
            current: $v,
            new: $v,
            success: Ordering,
            failure: Ordering,
        ) -> Result<$v, $v> {
            self.clock.compare_exchange(success, failure, || {
                self.inner
                    .compare_exchange_weak(current, new, success, failure)
            })
        }

        /// Applies `f` until it stores or `f` returns `None`.
        #[doc = concat!("See [`", stringify!($std), "::fetch_update`].")]
        pub fn fetch_update<F>(
            &self,
            set_order: Ordering,
            fetch_order: Ordering,
            mut f: F,
        ) -> Result<$v, $v>
        where
            F: FnMut($v) -> Option<$v>,
        {
            let mut prev = self.load(fetch_order);
            while let Some(next) = f(prev) {
                match self.compare_exchange_weak(prev, next, set_order, fetch_order) {
                    done @ Ok(_) => return done,
                    Err(next_prev) => prev = next_prev,
                }
            }
            Err(prev)
        }

        /// A raw pointer to the value; accesses through it are not seen by maprace.
        #[doc = concat!("See [`", stringify!($std), "::as_ptr`].")]
        pub const fn as_ptr(&self) -> *mut $v {
            self.inner.as_ptr()
        }
    };
}

/// A read-modify-write method `fetch_*` forwarded with its edges.
macro_rules! rmw {
    ($std:ty, $v:ty, $($name:ident),*) => {$(
        #[doc = concat!("A read-modify-write with its edges. See [`", stringify!($std), "::", stringify!($name), "`].")]
        pub fn $name(&self, val: $v, order: Ordering) -> $v {
            self.clock.run(AtomicOp::Rmw, order, || self.inner.$name(val, order))
        }
    )*};
}

macro_rules! atomic_int {
    ($(#[$cfg:meta])* $name:ident, $int:ty) => {
        $(#[$cfg])*
        #[doc = concat!("An atomic `", stringify!($int), "` that carries a clock. See [`std::sync::atomic::", stringify!($name), "`].")]
        ///
        /// ```
        #[doc = concat!("use maprace::sync::atomic::{", stringify!($name), ", Ordering};")]
        ///
        #[doc = concat!("let n = ", stringify!($name), "::new(1);")]
        /// n.fetch_add(2, Ordering::AcqRel);
        /// assert_eq!(n.load(Ordering::Acquire), 3);
        /// ```
        #[derive(Default)]
        pub struct $name {
            clock: AtomicClock,
            inner: std::sync::atomic::$name,
        }

        $(#[$cfg])*
        impl $name {
            #[doc = concat!("Creates a new atomic. See [`std::sync::atomic::", stringify!($name), "::new`].")]
            #[must_use]
            pub const fn new(v: $int) -> $name {
                $name {
                    clock: AtomicClock::new(),
                    inner: std::sync::atomic::$name::new(v),
                }
            }

            common!($int, std::sync::atomic::$name);
            rmw!(std::sync::atomic::$name, $int, fetch_add, fetch_sub, fetch_and, fetch_nand,
                fetch_or, fetch_xor, fetch_max, fetch_min);
        }

        $(#[$cfg])*
        impl From<$int> for $name {
            fn from(v: $int) -> $name {
                $name::new(v)
            }
        }

        $(#[$cfg])*
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.inner.fmt(f)
            }
        }
    };
}

atomic_int!(
    #[cfg(target_has_atomic = "8")]
    AtomicI8,
    i8
);
atomic_int!(
    #[cfg(target_has_atomic = "8")]
    AtomicU8,
    u8
);
atomic_int!(
    #[cfg(target_has_atomic = "16")]
    AtomicI16,
    i16
);
atomic_int!(
    #[cfg(target_has_atomic = "16")]
    AtomicU16,
    u16
);
atomic_int!(
    #[cfg(target_has_atomic = "32")]
    AtomicI32,
    i32
);
atomic_int!(
    #[cfg(target_has_atomic = "32")]
    AtomicU32,
    u32
);
atomic_int!(
    #[cfg(target_has_atomic = "64")]
    AtomicI64,
    i64
);
atomic_int!(
    #[cfg(target_has_atomic = "64")]
    AtomicU64,
    u64
);
atomic_int!(
    #[cfg(target_has_atomic = "ptr")]
    AtomicIsize,
    isize
);
atomic_int!(
    #[cfg(target_has_atomic = "ptr")]
    AtomicUsize,
    usize
);

/// An atomic `bool` that carries a clock. See [`std::sync::atomic::AtomicBool`].
///
/// ```
/// use maprace::sync::atomic::{AtomicBool, Ordering};
///
/// let ready = AtomicBool::new(false);
/// ready.store(true, Ordering::Release);
/// assert!(ready.load(Ordering::Acquire));
/// ```
#[derive(Default)]
pub struct AtomicBool {
    clock: AtomicClock,
    inner: std::sync::atomic::AtomicBool,
}

impl AtomicBool {
    /// Creates a new atomic. See [`std::sync::atomic::AtomicBool::new`].
    #[must_use]
    pub const fn new(v: bool) -> AtomicBool {
        AtomicBool {
            clock: AtomicClock::new(),
            inner: std::sync::atomic::AtomicBool::new(v),
        }
    }

    common!(bool, std::sync::atomic::AtomicBool);
    rmw!(
        std::sync::atomic::AtomicBool,
        bool,
        fetch_and,
        fetch_nand,
        fetch_or,
        fetch_xor
    );

    /// Logical "not", returning the previous value.
    /// See [`std::sync::atomic::AtomicBool::fetch_not`].
    pub fn fetch_not(&self, order: Ordering) -> bool {
        self.clock
            .run(AtomicOp::Rmw, order, || self.inner.fetch_not(order))
    }
}

impl From<bool> for AtomicBool {
    fn from(v: bool) -> AtomicBool {
        AtomicBool::new(v)
    }
}

impl fmt::Debug for AtomicBool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// An atomic raw pointer that carries a clock. See [`std::sync::atomic::AtomicPtr`].
///
/// ```
/// use maprace::sync::atomic::{AtomicPtr, Ordering};
///
/// let mut five = 5;
/// let ptr = AtomicPtr::new(&mut five);
/// assert_eq!(unsafe { *ptr.load(Ordering::Acquire) }, 5);
/// ```
pub struct AtomicPtr<T> {
    clock: AtomicClock,
    inner: std::sync::atomic::AtomicPtr<T>,
}

impl<T> AtomicPtr<T> {
    /// Creates a new atomic. See [`std::sync::atomic::AtomicPtr::new`].
    #[must_use]
    pub const fn new(p: *mut T) -> AtomicPtr<T> {
        AtomicPtr {
            clock: AtomicClock::new(),
            inner: std::sync::atomic::AtomicPtr::new(p),
        }
    }

    common!(*mut T, std::sync::atomic::AtomicPtr);
}

impl<T> Default for AtomicPtr<T> {
    fn default() -> AtomicPtr<T> {
        AtomicPtr::new(std::ptr::null_mut())
    }
}

impl<T> From<*mut T> for AtomicPtr<T> {
    fn from(p: *mut T) -> AtomicPtr<T> {
        AtomicPtr::new(p)
    }
}

impl<T> fmt::Debug for AtomicPtr<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<T> fmt::Pointer for AtomicPtr<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&self.inner.load(Ordering::Relaxed), f)
    }
}
