//! Clocks for `maprace::annotate`: one per annotated address, in a sharded table so unrelated
//! addresses rarely contend. Entries live as long as the program (an address may be annotated
//! again at any time, and nothing says when its object dies).

use super::clock::VectorClock;
use super::thread;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

const SHARDS: usize = 64;

type Shard = Mutex<Option<HashMap<usize, VectorClock>>>;

static TABLE: [Shard; SHARDS] = [const { Mutex::new(None) }; SHARDS];

fn shard(address: usize) -> MutexGuard<'static, Option<HashMap<usize, VectorClock>>> {
    // Objects are at least word-aligned in practice; mix the bits above the alignment.
    let index = (address >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (usize::BITS - 6);
    TABLE[index % SHARDS]
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// What this thread did so far happens before whoever acquires `address` next.
pub(crate) fn release(address: usize) {
    if super::enabled() {
        let mut shard = shard(address);
        let clock = shard
            .get_or_insert_with(HashMap::new)
            .entry(address)
            .or_default();
        thread::release(clock);
    }
}

/// Everything released through `address` so far happens before what this thread does next.
pub(crate) fn acquire(address: usize) {
    if super::enabled() {
        let shard = shard(address);
        if let Some(clock) = shard.as_ref().and_then(|table| table.get(&address)) {
            thread::acquire(clock);
        }
    }
}
