//! The tracked mirror of the [`dashmap`](https://docs.rs/dashmap/6) crate (version 6), at the
//! same paths: `use dashmap::mapref::one::Ref;` becomes `use maprace::dashmap::mapref::one::Ref;`.
//!
//! A [`DashMap`] cannot have a data race on its keys: every access goes through a shard's lock.
//! What its users hit instead is a **guard deadlock**: a thread that holds a [`Ref`], [`RefMut`],
//! an entry or an iterator item into a shard calls a method that needs the same shard, and
//! hangs. The mirror knows every guard each thread holds, checks before it calls into dashmap,
//! and reports `WARNING: MAP DEADLOCK` instead of hanging:
//!
//! ```no_run
//! let cache = maprace::DashMap::new();
//! cache.insert("k", 1);
//! let value = cache.get("k").unwrap(); // a shared guard on the key's shard
//! cache.insert("k", *value + 1); // reported (certain): it would wait for `value` forever
//! ```
//!
//! Happens-before follows the shards' locks: dropping a guard releases, taking one acquires, so a
//! value published through the map (a tracked map inside an `Arc`, or as the value itself) is
//! ordered for the threads that take it out. With the detector compiled out, this module *is*
//! the `dashmap` crate and [`DashMap`] is `dashmap::DashMap`.
//!
//! Not mirrored: the `raw-api` items (`shards`, `determine_map`, `SharedValue`, the lock
//! types), the `Map` trait dashmap implements its methods with, and the `serde` and `rayon`
//! integrations.
//!
//! [`Ref`]: crate::dashmap::mapref::one::Ref
//! [`RefMut`]: crate::dashmap::mapref::one::RefMut

pub mod iter;
pub mod iter_set;
mod map;
pub mod mapref;
mod read_only;
mod set;
pub mod setref;

/// The result of a non-blocking lookup (`try_get`, `try_get_mut`): dashmap's own type, holding
/// maprace's guards.
pub mod try_result {
    pub use ::dashmap::try_result::TryResult;
}

pub use ::dashmap::TryReserveError;
pub use map::DashMap;
pub use mapref::entry::{Entry, OccupiedEntry, VacantEntry};
pub use read_only::ReadOnlyView;
pub use set::DashSet;

use crate::rt::dashmap::Hooked;
use crate::rt::map::Stored;

/// The real map inside a mirror: values next to their key's shadow cell, and the hasher that
/// captures each operation's hash.
type Base<K, V, S> = ::dashmap::DashMap<K, Stored<V>, Hooked<S>>;
