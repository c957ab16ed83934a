//! `LazyLock` with std's API, built on maprace's `OnceLock`: the initializer's work happens
//! before every dereference.

use super::OnceLock;
use std::fmt;
use std::ops::Deref;

/// A value initialized on first access, whose initialization maprace sees.
/// See [`std::sync::LazyLock`].
///
/// ```
/// use maprace::sync::LazyLock;
///
/// static PORTS: LazyLock<maprace::HashMap<&str, u16>> =
///     LazyLock::new(|| maprace::HashMap::from([("http", 80), ("https", 443)]));
///
/// let reader = std::thread::spawn(|| PORTS["http"]);
/// assert_eq!(PORTS["https"], 443);
/// assert_eq!(reader.join().unwrap(), 80);
/// ```
pub struct LazyLock<T, F = fn() -> T> {
    once: OnceLock<T>,
    /// Taken by the one thread that initializes; `None` after, or after it panicked.
    init: std::sync::Mutex<Option<F>>,
}

impl<T, F: FnOnce() -> T> LazyLock<T, F> {
    /// Creates a lazy value that `f` will initialize. See [`std::sync::LazyLock::new`].
    pub const fn new(f: F) -> LazyLock<T, F> {
        LazyLock {
            once: OnceLock::new(),
            init: std::sync::Mutex::new(Some(f)),
        }
    }

    /// Forces the evaluation and returns a reference to the value.
    /// See [`std::sync::LazyLock::force`].
    pub fn force(this: &LazyLock<T, F>) -> &T {
        this.once.get_or_init(|| {
            let init = crate::rt::lock(&this.init).take();
            match init {
                Some(f) => f(),
                None => panic!("LazyLock instance has previously been poisoned"),
            }
        })
    }
}

impl<T, F: FnOnce() -> T> Deref for LazyLock<T, F> {
    type Target = T;

    fn deref(&self) -> &T {
        LazyLock::force(self)
    }
}

impl<T: Default> Default for LazyLock<T> {
    fn default() -> LazyLock<T> {
        LazyLock::new(T::default)
    }
}

impl<T: fmt::Debug, F> fmt::Debug for LazyLock<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("LazyLock");
        match self.once.get() {
            Some(value) => d.field(value),
            None => d.field(&format_args!("<uninit>")),
        };
        d.finish()
    }
}
