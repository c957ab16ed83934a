// The crate's documentation is the README, so every Rust example in it is compiled and run.
#![doc = include_str!("../README.md")]

#[cfg(maprace_detect)]
mod rt;

pub mod annotate;
pub mod collections;
#[cfg(feature = "crossbeam-channel")]
pub mod crossbeam_channel;
/// The mirror of the `dashmap` crate (see its docs); with the detector compiled out, the
/// `dashmap` crate itself (below).
#[cfg(all(feature = "dashmap", maprace_detect))]
pub mod dashmap;
#[cfg(feature = "parking_lot")]
pub mod parking_lot;
mod stats;
pub mod sync;
pub mod thread;

#[doc(hidden)]
pub mod __private;

/// The `dashmap` crate itself: with the detector compiled out, `maprace::dashmap` *is*
/// `dashmap`, and `maprace::DashMap` is `dashmap::DashMap`. This is the one place that decides.
#[cfg(all(feature = "dashmap", not(maprace_detect)))]
pub use ::dashmap;
pub use collections::{BTreeMap, HashMap};
#[cfg(feature = "dashmap")]
pub use dashmap::{DashMap, DashSet};
pub use maprace_macros::track;
pub use stats::{Stats, stats};

/// Whether this build has the detector compiled in (the `detect` feature in a build with debug
/// assertions, or `detect-in-release`). When it is `false`, every maprace type is std's own.
pub const COMPILED_IN: bool = cfg!(maprace_detect);
