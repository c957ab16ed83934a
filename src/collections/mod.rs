//! The tracked maps, and the one place that decides whether they are tracked.
//!
//! With the detector compiled in (see the crate docs), `hash_map` and `btree_map` are maprace's
//! mirrors of [`std::collections::hash_map`] and [`std::collections::btree_map`]; otherwise they
//! *are* std's modules, and `HashMap` and `BTreeMap` are std's types.

#[cfg(maprace_detect)]
#[macro_use]
mod macros;

#[cfg(maprace_detect)]
pub mod btree_map;
#[cfg(maprace_detect)]
pub mod hash_map;
#[cfg(maprace_detect)]
mod hash_table;
#[cfg(not(maprace_detect))]
pub use std::collections::btree_map;
#[cfg(not(maprace_detect))]
pub use std::collections::hash_map;

pub use btree_map::BTreeMap;
pub use hash_map::HashMap;
