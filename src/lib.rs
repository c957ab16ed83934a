// The crate's documentation is the README, so every Rust example in it is compiled and run.
#![doc = include_str!("../README.md")]

#[cfg(maprace_detect)]
mod rt;

pub mod annotate;
pub mod collections;
#[cfg(feature = "crossbeam-channel")]
pub mod crossbeam_channel;
#[cfg(feature = "parking_lot")]
pub mod parking_lot;
mod stats;
pub mod sync;
pub mod thread;

#[doc(hidden)]
pub mod __private;

pub use collections::{BTreeMap, HashMap};
pub use maprace_macros::track;
pub use stats::{Stats, stats};

/// Whether this build has the detector compiled in (the `detect` feature in a build with debug
/// assertions, or `detect-in-release`). When it is `false`, every maprace type is std's own.
pub const COMPILED_IN: bool = cfg!(maprace_detect);
