//! maprace finds concurrency bugs on maps at run time, the way Go's `-race` finds data races.
//!
//! (The full tutorial is in the README; this is the short version.)
//!
//! ```no_run
//! let mut map = maprace::HashMap::new();
//! map.insert(1, "one");
//! ```
#![warn(missing_docs)]

#[cfg(maprace_detect)]
mod rt;

pub mod annotate;
pub mod collections;
mod stats;
pub mod sync;
pub mod thread;

#[doc(hidden)]
pub mod __private;

pub use collections::{BTreeMap, HashMap};
pub use stats::{Stats, stats};

/// Whether this build has the detector compiled in (the `detect` feature in a build with debug
/// assertions, or `detect-in-release`). When it is `false`, every maprace type is std's own.
pub const COMPILED_IN: bool = cfg!(maprace_detect);
pub use maprace_macros::track;
