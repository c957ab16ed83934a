//! Support for the code `#[maprace::track]` generates, and for maprace's own tests. Not a
//! public API.

/// A map that can carry a name for reports.
pub trait Nameable {
    /// Sets the name reports use for this map.
    fn set_name(&mut self, name: &'static str);
}

/// Names `map` in reports and gives it back (the macro wraps map constructors in this).
#[inline]
pub fn named<M: Nameable>(mut map: M, name: &'static str) -> M {
    map.set_name(name);
    map
}

// With the detector compiled out the maps are std's, and a name has nowhere to go.
#[cfg(not(maprace_detect))]
impl<K, V, S> Nameable for std::collections::HashMap<K, V, S> {
    #[inline]
    fn set_name(&mut self, _: &'static str) {}
}

#[cfg(not(maprace_detect))]
impl<K, V> Nameable for std::collections::BTreeMap<K, V> {
    #[inline]
    fn set_name(&mut self, _: &'static str) {}
}

#[cfg(all(feature = "dashmap", not(maprace_detect)))]
impl<K, V, S> Nameable for ::dashmap::DashMap<K, V, S> {
    #[inline]
    fn set_name(&mut self, _: &'static str) {}
}

#[cfg(all(feature = "dashmap", not(maprace_detect)))]
impl<K, S> Nameable for ::dashmap::DashSet<K, S> {
    #[inline]
    fn set_name(&mut self, _: &'static str) {}
}

// `#[maprace::track]` cannot see maprace's features, so for an item that names dashmap's,
// parking_lot's or crossbeam-channel's paths it expands to both versions of the item, rewritten with and without
// those rows, inside these macros: compiled with maprace's features, each keeps the one that
// matches them. `{ with } { without }` → `with` when the feature is on, `without` when it is off.

#[cfg(feature = "parking_lot")]
#[doc(hidden)]
#[macro_export]
macro_rules! __maprace_if_parking_lot {
    ({ $($with:tt)* } { $($without:tt)* }) => { $($with)* };
}

#[cfg(not(feature = "parking_lot"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __maprace_if_parking_lot {
    ({ $($with:tt)* } { $($without:tt)* }) => { $($without)* };
}

#[cfg(feature = "dashmap")]
#[doc(hidden)]
#[macro_export]
macro_rules! __maprace_if_dashmap {
    ({ $($with:tt)* } { $($without:tt)* }) => { $($with)* };
}

#[cfg(not(feature = "dashmap"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __maprace_if_dashmap {
    ({ $($with:tt)* } { $($without:tt)* }) => { $($without)* };
}

#[cfg(feature = "crossbeam-channel")]
#[doc(hidden)]
#[macro_export]
macro_rules! __maprace_if_crossbeam_channel {
    ({ $($with:tt)* } { $($without:tt)* }) => { $($with)* };
}

#[cfg(not(feature = "crossbeam-channel"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __maprace_if_crossbeam_channel {
    ({ $($with:tt)* } { $($without:tt)* }) => { $($without)* };
}

pub use crate::__maprace_if_crossbeam_channel as if_crossbeam_channel;
pub use crate::__maprace_if_dashmap as if_dashmap;
pub use crate::__maprace_if_parking_lot as if_parking_lot;

/// How many race reports the detector has made (each captures and symbolizes a stack): a race
/// that repeats must not make one each time. For maprace's own tests.
pub fn race_reports_made() -> u64 {
    #[cfg(maprace_detect)]
    return crate::rt::race::reports_made();
    #[cfg(not(maprace_detect))]
    0
}

/// Read sets alive now (memory the shadow holds for cells read by unordered threads): what the
/// tests of bounded shadow memory measure. 0 with the detector compiled out.
#[doc(hidden)]
pub fn live_read_sets() -> usize {
    #[cfg(maprace_detect)]
    return crate::rt::read_set::live();
    #[cfg(not(maprace_detect))]
    0
}

/// Deadlock checks' held lists made so far (one per thread alive at once that took a guard or
/// a lock; reused after the thread ends). 0 with the detector compiled out.
#[doc(hidden)]
pub fn held_lists() -> usize {
    #[cfg(maprace_detect)]
    return crate::rt::deadlock::lists_made();
    #[cfg(not(maprace_detect))]
    0
}

/// A test hook: a function one thread sets, run by that thread at one point of a cold path.
#[cfg(maprace_detect)]
type Hook = std::thread::LocalKey<std::cell::Cell<Option<fn()>>>;

#[cfg(maprace_detect)]
std::thread_local! {
    static AFTER_BARRIER_COUNT: std::cell::Cell<Option<fn()>> = const { std::cell::Cell::new(None) };
    static AFTER_READ_SET_COPY: std::cell::Cell<Option<fn()>> = const { std::cell::Cell::new(None) };
    static BEFORE_READ_SET_ENTRY: std::cell::Cell<Option<fn()>> = const { std::cell::Cell::new(None) };
}

/// Runs this thread's function at `hook`, if it set one.
#[cfg(maprace_detect)]
fn run(hook: &'static Hook) {
    if let Some(f) = hook.get() {
        f();
    }
}

/// Sets a function this thread calls at each `maprace::sync::Barrier::wait` after maprace has
/// counted it into a generation and before the real wait (`None` removes it): maprace's tests
/// use it to make a thread late there, in a known schedule. Does nothing with the detector
/// compiled out (the barrier is std's).
#[doc(hidden)]
pub fn after_barrier_count(hook: Option<fn()>) {
    #[cfg(maprace_detect)]
    AFTER_BARRIER_COUNT.set(hook);
    #[cfg(not(maprace_detect))]
    let _ = hook;
}

/// Runs this thread's `after_barrier_count` function, if it set one.
#[cfg(maprace_detect)]
pub(crate) fn barrier_counted() {
    run(&AFTER_BARRIER_COUNT);
}

/// Sets a function this thread calls when it grows a key's read set, after it copied the old
/// set's reads into the larger one and before it swaps the larger one in (`None` removes it):
/// maprace's tests use it to land another thread's read in between, in a known schedule. Does
/// nothing with the detector compiled out.
#[doc(hidden)]
pub fn after_read_set_copy(hook: Option<fn()>) {
    #[cfg(maprace_detect)]
    AFTER_READ_SET_COPY.set(hook);
    #[cfg(not(maprace_detect))]
    let _ = hook;
}

/// Runs this thread's `after_read_set_copy` function, if it set one (the grow path, cold).
#[cfg(maprace_detect)]
pub(crate) fn read_set_copied() {
    run(&AFTER_READ_SET_COPY);
}

/// Sets a function this thread calls on a read's slow path when it has loaded a read set from
/// the key's cell and is about to store its read in its own entry there (`None` removes it):
/// maprace's tests use it to hold a reader with a set another thread then takes out of the
/// cell, in a known schedule. Does nothing with the detector compiled out.
#[doc(hidden)]
pub fn before_read_set_entry(hook: Option<fn()>) {
    #[cfg(maprace_detect)]
    BEFORE_READ_SET_ENTRY.set(hook);
    #[cfg(not(maprace_detect))]
    let _ = hook;
}

/// Runs this thread's `before_read_set_entry` function, if it set one (the slow path's store
/// in a set's entry, reached only when the cell changed under the read: cold).
#[cfg(maprace_detect)]
pub(crate) fn read_set_entry_next() {
    run(&BEFORE_READ_SET_ENTRY);
}
