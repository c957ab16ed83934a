//! A table shared by all threads, split into shards with a lock each, so that unrelated keys
//! rarely contend: the side tables of `annotate` (a clock per address) and `history` (a stack
//! per access).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

const SHARDS: usize = 64;

/// `SHARDS` maps, each made at its first use (so that the table can be a `static`).
pub(crate) struct ShardedTable<K, V> {
    shards: [Mutex<Option<HashMap<K, V>>>; SHARDS],
}

impl<K: Hash + Eq, V> ShardedTable<K, V> {
    pub(crate) const fn new() -> ShardedTable<K, V> {
        ShardedTable {
            shards: [const { Mutex::new(None) }; SHARDS],
        }
    }

    /// Runs `f` on the shard of a key, locked. `spread` is what varies between keys (an address
    /// without its alignment bits, say): Fibonacci hashing spreads it over the shards.
    pub(crate) fn with<R>(&self, spread: usize, f: impl FnOnce(&mut HashMap<K, V>) -> R) -> R {
        let index = spread.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize)
            >> (usize::BITS - SHARDS.trailing_zeros());
        let mut shard = super::lock(&self.shards[index]);
        f(shard.get_or_insert_with(HashMap::new))
    }

    /// Every shard, locked (in order), until the guards are dropped.
    pub(crate) fn hold_all(&self) -> Vec<MutexGuard<'_, Option<HashMap<K, V>>>> {
        self.shards.iter().map(super::lock).collect()
    }

    /// The first `Some` that `f` gives for a shard, trying each shard in turn (locked).
    pub(crate) fn find_map<R>(&self, mut f: impl FnMut(&HashMap<K, V>) -> Option<R>) -> Option<R> {
        self.shards
            .iter()
            .find_map(|shard| super::lock(shard).as_ref().and_then(&mut f))
    }
}
