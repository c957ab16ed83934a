//! Correct programs that hand a DashMap guard to another thread through a channel maprace does
//! not see (std's `mpsc`), found by `stress_correct_programs`: the sender writes a tracked map,
//! takes a guard and sends it; the receiver writes through the guard (or only reads through
//! it), drops it, then reads the sender's map. The channel orders the read after the write; the
//! README says the receiver's owning use (its write or its release) learns the sender's epoch as
//! a whole, so none of these may be reported.
#![cfg(feature = "dashmap")]

mod common;
use maprace::DashMap;
use maprace::dashmap::mapref::entry::Entry;
use std::sync::mpsc;

type Inner = maprace::HashMap<u64, u64>;

/// Each kind of guard the sender can hand over.
enum Guard<'a> {
    Ref(maprace::dashmap::mapref::one::Ref<'a, u64, u64>),
    Mut(maprace::dashmap::mapref::one::RefMut<'a, u64, u64>),
    Occupied(maprace::dashmap::mapref::entry::OccupiedEntry<'a, u64, u64>),
    Vacant(maprace::dashmap::mapref::entry::VacantEntry<'a, u64, u64>),
}

/// The sender writes `side`, takes a guard with `take`, sends it through std's channel; the
/// receiver uses it, drops it, and reads `side`.
fn hand_over(take: for<'a> fn(&'a DashMap<u64, u64>) -> Guard<'a>) {
    let map: DashMap<u64, u64> = DashMap::new();
    map.insert(1, 1);
    let mut side = Inner::new();
    let side = common::Shared(&mut side as *mut Inner);
    let (send, recv) = mpsc::channel::<Guard<'_>>();
    let map = &map;
    maprace::thread::scope(|s| {
        maprace::thread::Builder::new()
            .name("sender".into())
            .spawn_scoped(s, move || {
                let side = side;
                side.get().insert(2, 1);
                send.send(take(map))
                    .unwrap_or_else(|_| panic!("receiver gone"));
            })
            .unwrap();
        maprace::thread::Builder::new()
            .name("receiver".into())
            .spawn_scoped(s, move || {
                let side = side;
                match recv.recv().unwrap() {
                    Guard::Ref(guard) => drop(std::hint::black_box(*guard)),
                    Guard::Mut(mut guard) => *guard += 1,
                    Guard::Occupied(mut entry) => *entry.get_mut() += 1,
                    Guard::Vacant(entry) => *entry.insert(1) += 1,
                }
                std::hint::black_box(side.get().get(&2));
            })
            .unwrap();
    });
}

scenario!(
    a_ref_mut_handed_over_by_std_mpsc_orders_the_senders_earlier_write,
    { hand_over(|map| Guard::Mut(map.get_mut(&1).unwrap())) },
    |out| out.assert_clean()
);

scenario!(
    a_ref_handed_over_by_std_mpsc_orders_the_senders_earlier_write,
    { hand_over(|map| Guard::Ref(map.get(&1).unwrap())) },
    |out| out.assert_clean()
);

scenario!(
    a_downgraded_ref_handed_over_by_std_mpsc_orders_the_senders_earlier_write,
    {
        hand_over(|map| {
            let mut guard = map.get_mut(&1).unwrap();
            *guard += 1;
            Guard::Ref(guard.downgrade())
        })
    },
    |out| out.assert_clean()
);

scenario!(
    an_occupied_entry_written_through_then_handed_over_by_std_mpsc_orders_the_senders_earlier_write,
    {
        hand_over(|map| match map.entry(1) {
            Entry::Occupied(mut entry) => {
                *entry.get_mut() += 1;
                Guard::Occupied(entry)
            }
            Entry::Vacant(_) => unreachable!(),
        })
    },
    |out| out.assert_clean()
);

// Found by `stress_correct_programs` (seed 2): false reports before `Hold::taken_over` ordered a
// guard's making (its maker's epoch) before the receiver's first owning use.
scenario!(
    an_occupied_entry_handed_over_by_std_mpsc_orders_the_senders_earlier_write,
    {
        hand_over(|map| match map.entry(1) {
            Entry::Occupied(entry) => Guard::Occupied(entry),
            Entry::Vacant(_) => unreachable!(),
        })
    },
    |out| out.assert_clean()
);

scenario!(
    a_vacant_entry_handed_over_by_std_mpsc_orders_the_senders_earlier_write,
    {
        hand_over(|map| match map.entry(7) {
            Entry::Vacant(entry) => Guard::Vacant(entry),
            Entry::Occupied(_) => unreachable!(),
        })
    },
    |out| out.assert_clean()
);
