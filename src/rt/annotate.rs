//! Clocks for `maprace::annotate`: one per annotated address, in a sharded table so unrelated
//! addresses rarely contend.
//!
//! Nothing says when an annotated object dies, and an address may be annotated again at any
//! time, so a clock cannot simply be dropped (an acquire would then miss its release: a false
//! report). The table is bounded all the same: a shard that holds `SHARD_LIMIT` addresses
//! joins all their clocks into its *lost* clock (kept under address 0, which no reference has)
//! and forgets them. An acquire of an address the shard does not hold acquires the lost clock,
//! and an address released again starts from it: every release ever made through an address is
//! still acquired through it (with others' besides: edges that may hide a race, never invent
//! one).

use super::clock::VectorClock;
use super::table::ShardedTable;
use super::thread;
use std::collections::HashMap;

static TABLE: ShardedTable<usize, VectorClock> = ShardedTable::new();

/// Addresses per shard before the shard's clocks are joined into its lost clock.
const SHARD_LIMIT: usize = 4096;
/// Where a shard keeps its lost clock.
const LOST: usize = 0;

/// Objects are at least word-aligned in practice: the bits above the alignment tell them apart.
fn spread(address: usize) -> usize {
    address >> 3
}

/// What this thread did so far happens before whoever acquires `address` next.
pub(crate) fn release(address: usize) {
    if super::enabled() {
        TABLE.with(spread(address), |table| {
            thread::release(clock_for_release(table, address));
        });
    }
}

/// Everything released through `address` so far happens before what this thread does next.
pub(crate) fn acquire(address: usize) {
    if super::enabled() {
        TABLE.with(spread(address), |table| {
            if let Some(clock) = table.get(&address).or_else(|| table.get(&LOST)) {
                thread::acquire(clock);
            }
        });
    }
}

/// For the fork handler: the table stays as it is until the guards are dropped.
pub(crate) fn hold_for_fork() -> impl Sized {
    TABLE.hold_all()
}

/// The clock `address` releases into, made if need be (from the lost clock, which holds what
/// earlier releases through it left, if they were forgotten).
fn clock_for_release(table: &mut HashMap<usize, VectorClock>, address: usize) -> &mut VectorClock {
    if !table.contains_key(&address) {
        if table.len() > SHARD_LIMIT {
            forget(table);
        }
        let start = table.get(&LOST).cloned().unwrap_or_default();
        table.insert(address, start);
    }
    table.get_mut(&address).expect("just made")
}

/// Joins every clock of the shard into its lost clock, and forgets the addresses.
fn forget(table: &mut HashMap<usize, VectorClock>) {
    let mut lost = table.remove(&LOST).unwrap_or_default();
    for (_, clock) in table.drain() {
        lost.join(&clock);
    }
    table.insert(LOST, lost);
}

/// Addresses the table holds, lost clocks included.
#[cfg(test)]
fn held() -> usize {
    let mut held = 0;
    TABLE.find_map(|table| {
        held += table.len();
        None::<()>
    });
    held
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forgotten_address_still_gives_its_releases_to_an_acquire() {
        let mut table = HashMap::new();
        let mut released = VectorClock::new();
        released.set(3, 7);
        clock_for_release(&mut table, 8).join(&released);
        for address in (16..).step_by(8).take(SHARD_LIMIT + 1) {
            clock_for_release(&mut table, address);
        }
        assert!(table.len() <= SHARD_LIMIT + 1, "bounded: {}", table.len());
        assert!(!table.contains_key(&8), "forgotten");
        // An acquire of 8 takes the lost clock, and a new release through 8 starts from it.
        assert_eq!(table.get(&LOST).unwrap().get(3), 7);
        assert_eq!(clock_for_release(&mut table, 8).get(3), 7);
    }

    #[test]
    fn the_table_stays_bounded_however_many_addresses_are_annotated() {
        let objects: Vec<u64> = vec![0; 400_000]; // more than 64 shards of 4096
        for object in &objects {
            release(object as *const u64 as usize);
        }
        assert!(
            held() <= 64 * (SHARD_LIMIT + 2),
            "{} addresses held",
            held()
        );
    }
}
