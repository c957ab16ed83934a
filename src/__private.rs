//! Support for the code `#[maprace::track]` generates. Not a public API.

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
