//! `OnceLock` with std's API: the initialization releases into the cell's clock before the
//! value is published (or, if it panics, before the next initializer runs), and every read of
//! the value (`get`, `get_or_init`, `wait`) acquires it, so the initialization happens before
//! every use.

use super::once::ReleaseAtEnd;
use crate::rt::thread::SyncClock;
use std::fmt;

/// A cell written once, whose initialization maprace sees. See [`std::sync::OnceLock`].
///
/// ```
/// use maprace::sync::OnceLock;
///
/// static COUNTRIES: OnceLock<maprace::HashMap<&str, &str>> = OnceLock::new();
///
/// fn capital(country: &str) -> Option<&'static str> {
///     let map = COUNTRIES.get_or_init(|| maprace::HashMap::from([("fr", "Paris")]));
///     map.get(country).copied()
/// }
/// let reader = std::thread::spawn(|| capital("fr"));
/// assert_eq!(capital("fr"), Some("Paris"));
/// assert_eq!(reader.join().unwrap(), Some("Paris"));
/// ```
pub struct OnceLock<T> {
    clock: SyncClock,
    inner: std::sync::OnceLock<T>,
}

impl<T> OnceLock<T> {
    /// Creates an empty cell. See [`std::sync::OnceLock::new`].
    #[must_use]
    pub const fn new() -> OnceLock<T> {
        OnceLock {
            clock: SyncClock::new(),
            inner: std::sync::OnceLock::new(),
        }
    }

    /// The value, if initialized. See [`std::sync::OnceLock::get`].
    pub fn get(&self) -> Option<&T> {
        let value = self.inner.get()?;
        self.clock.acquire();
        Some(value)
    }

    /// A mutable reference to the value, if initialized (the borrow is exclusive).
    /// See [`std::sync::OnceLock::get_mut`].
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.inner.get_mut()
    }

    /// Blocks until the cell is initialized. See [`std::sync::OnceLock::wait`].
    pub fn wait(&self) -> &T {
        let value = self.inner.wait();
        self.clock.acquire();
        value
    }

    /// Initializes the cell with `value` unless it already was (then returns `Err(value)`).
    /// See [`std::sync::OnceLock::set`].
    pub fn set(&self, value: T) -> Result<(), T> {
        let mut value = Some(value);
        self.get_or_init(|| value.take().expect("called once"));
        match value {
            None => Ok(()),
            Some(value) => Err(value),
        }
    }

    /// The value, initializing it with `f` first if needed.
    /// See [`std::sync::OnceLock::get_or_init`].
    pub fn get_or_init<F>(&self, f: F) -> &T
    where
        F: FnOnce() -> T,
    {
        let value = self.inner.get_or_init(|| {
            self.clock.acquire(); // an initializer that panicked before this one
            // Before std publishes the value, or, if `f` panics, before the next initializer.
            let _released = ReleaseAtEnd(&self.clock);
            f()
        });
        self.clock.acquire();
        value
    }

    /// Consumes the cell, returning the value if initialized.
    /// See [`std::sync::OnceLock::into_inner`].
    pub fn into_inner(self) -> Option<T> {
        self.inner.into_inner()
    }

    /// Takes the value out, leaving the cell empty (the borrow is exclusive).
    /// See [`std::sync::OnceLock::take`].
    pub fn take(&mut self) -> Option<T> {
        self.inner.take()
    }
}

impl<T> Default for OnceLock<T> {
    fn default() -> OnceLock<T> {
        OnceLock::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<T: Clone> Clone for OnceLock<T> {
    fn clone(&self) -> OnceLock<T> {
        let cell = OnceLock::new();
        if let Some(value) = self.get() {
            let _ = cell.set(value.clone());
        }
        cell
    }
}

impl<T> From<T> for OnceLock<T> {
    fn from(value: T) -> OnceLock<T> {
        let cell = OnceLock::new();
        let _ = cell.set(value);
        cell
    }
}

impl<T: PartialEq> PartialEq for OnceLock<T> {
    fn eq(&self, other: &OnceLock<T>) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceLock<T> {}
