//! The tracked maps, and the one place that decides whether they are tracked.
//!
//! With the detector compiled in (see the crate docs), `hash_map` and `btree_map` are maprace's
//! mirrors of [`std::collections::hash_map`] and [`std::collections::btree_map`]; otherwise they
//! *are* std's modules, and `HashMap` and `BTreeMap` are std's types.

/// Starts the checks of one operation on `$map` (`self`, whose real map is `$map.base` and whose
/// shadow is `$map.shadow`): notices a move (then forgets the history of the keys too) and
/// captures the caller's site. Shared by the map mirrors.
#[cfg(maprace_detect)]
macro_rules! access {
    ($map:ident, $op:expr) => {{
        let (access, moved) = $map.shadow.access($op);
        if moved {
            $crate::collections::forget_history($map.base.values());
        }
        access
    }};
}

/// A moved map's key cells: everything before the move happens before what comes next.
#[cfg(maprace_detect)]
#[cold]
fn forget_history<'a, V: 'a>(slots: impl Iterator<Item = &'a crate::rt::map::Slot<V>>) {
    for slot in slots {
        slot.cell.reset();
    }
}

#[cfg(maprace_detect)]
pub mod btree_map;
#[cfg(maprace_detect)]
pub mod hash_map;
#[cfg(not(maprace_detect))]
pub use std::collections::btree_map;
#[cfg(not(maprace_detect))]
pub use std::collections::hash_map;

pub use btree_map::BTreeMap;
pub use hash_map::HashMap;
