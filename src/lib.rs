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

pub mod collections;
pub mod sync;
pub mod thread;

#[doc(hidden)]
pub mod __private;

pub use collections::HashMap;
pub use maprace_macros::track;
