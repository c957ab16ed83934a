//! The tracked maps, and the one place that decides whether they are tracked.
//!
//! With the detector compiled in (see the crate docs), `hash_map` is maprace's mirror of
//! [`std::collections::hash_map`]; otherwise it *is* std's module, and `HashMap` is std's type.

#[cfg(maprace_detect)]
pub mod hash_map;
#[cfg(not(maprace_detect))]
pub use std::collections::hash_map;

pub use hash_map::HashMap;
