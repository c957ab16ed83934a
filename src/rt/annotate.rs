//! Clocks for `maprace::annotate`: one per annotated address, in a sharded table so unrelated
//! addresses rarely contend. Entries live as long as the program (an address may be annotated
//! again at any time, and nothing says when its object dies).

use super::clock::VectorClock;
use super::table::ShardedTable;
use super::thread;

static TABLE: ShardedTable<usize, VectorClock> = ShardedTable::new();

/// Objects are at least word-aligned in practice: the bits above the alignment tell them apart.
fn spread(address: usize) -> usize {
    address >> 3
}

/// What this thread did so far happens before whoever acquires `address` next.
pub(crate) fn release(address: usize) {
    if super::enabled() {
        TABLE.with(spread(address), |table| {
            thread::release(table.entry(address).or_default());
        });
    }
}

/// Everything released through `address` so far happens before what this thread does next.
pub(crate) fn acquire(address: usize) {
    if super::enabled() {
        TABLE.with(spread(address), |table| {
            if let Some(clock) = table.get(&address) {
                thread::acquire(clock);
            }
        });
    }
}
