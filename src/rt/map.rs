//! The shadow of a whole map (its structure cell, name, creation site, last address) and
//! `Access`, the handle through which a mirror's method checks each cell it touches.

use super::cell::{Cell, Kind, Previous};
use super::clock::Epoch;
use super::report::{self, Current, MapLabel, Report};
use super::site::{Op, Site};
use super::{key, thread};
use std::panic::Location;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU64, AtomicUsize};

/// Per-map shadow state, kept inline in the mirror (creating a map allocates nothing).
pub(crate) struct MapShadow {
    /// Read by every operation, written by those that add or remove keys or reshape the table.
    structure: Cell,
    /// Where the map was at its last access. A map found elsewhere was moved, by the one thread
    /// that owned it: all its history happens before what comes next.
    address: AtomicUsize,
    /// `map#N`, given out at the first report that needs it.
    id: AtomicU64,
    name: Option<&'static str>,
    created_at: &'static Location<'static>,
}

impl MapShadow {
    #[track_caller]
    pub(crate) fn new() -> MapShadow {
        MapShadow {
            structure: Cell::default(),
            address: AtomicUsize::new(0),
            id: AtomicU64::new(0),
            name: None,
            created_at: Location::caller(),
        }
    }

    pub(crate) fn set_name(&mut self, name: &'static str) {
        self.name = Some(name);
    }

    fn label(&self, type_name: &str) -> MapLabel {
        let name = match self.name {
            Some(name) => name.to_owned(),
            None => {
                static NEXT_ID: AtomicU64 = AtomicU64::new(1);
                let mut id = self.id.load(Relaxed);
                if id == 0 {
                    let fresh = NEXT_ID.fetch_add(1, Relaxed);
                    id = match self.id.compare_exchange(0, fresh, Relaxed, Relaxed) {
                        Ok(_) => fresh,
                        Err(taken) => taken,
                    };
                }
                format!("map#{id}")
            }
        };
        MapLabel {
            name,
            type_name: key::short_type_name(type_name),
            created_at: self.created_at,
        }
    }

    /// Starts checking one operation on the map at `address` (the mirror's own address).
    /// Returns `None` when the map has just moved: the caller then resets its key cells.
    #[inline]
    #[track_caller]
    pub(crate) fn access(
        &self,
        address: *const (),
        op: Op,
        type_name: &'static str,
    ) -> (Access<'_>, bool) {
        let active = super::enabled();
        let moved = active && self.address.load(Relaxed) != address as usize;
        if moved {
            self.structure.reset();
            self.address.store(address as usize, Relaxed);
        }
        let access = Access {
            map: self,
            site: Site::new(op, Location::caller()),
            type_name,
            active,
        };
        (access, moved)
    }
}

/// One operation on one map, checking the cells it touches before it touches them.
pub(crate) struct Access<'a> {
    map: &'a MapShadow,
    site: Site,
    type_name: &'static str,
    active: bool,
}

/// A write that other threads must not overlap; it ends when this is dropped (also when the
/// operation unwinds, e.g. from a panicking `Hash`), so a cell is never left marked busy.
pub(crate) struct InProgress<'a> {
    cell: &'a Cell,
    epoch: Epoch,
}

impl Drop for InProgress<'_> {
    fn drop(&mut self) {
        self.cell.end_write(self.epoch);
    }
}

impl<'a> Access<'a> {
    pub(crate) fn read_structure(&self) {
        if self.active {
            self.check(&self.map.structure, Kind::Read, None::<&()>, false);
        }
    }

    /// Marks the structure written for the whole life of the returned guard.
    pub(crate) fn write_structure(&self) -> Option<InProgress<'a>> {
        self.write_structure_of(None::<&()>)
    }

    /// `write_structure` for an operation made with `key`, which the report shows.
    pub(crate) fn write_structure_of<Q: ?Sized>(&self, key: Option<&Q>) -> Option<InProgress<'a>> {
        if !self.active {
            return None;
        }
        let epoch = self.check(&self.map.structure, Kind::Write, key, true)?;
        Some(InProgress {
            cell: &self.map.structure,
            epoch,
        })
    }

    /// Reads the structure on behalf of a keyed operation (the report shows the key).
    pub(crate) fn read_structure_of<Q: ?Sized>(&self, key: &Q) {
        if self.active {
            self.check(&self.map.structure, Kind::Read, Some(key), false);
        }
    }

    pub(crate) fn read_key<Q: ?Sized>(&self, cell: &Cell, key: &Q) {
        if self.active {
            self.check(cell, Kind::Read, Some(key), false);
        }
    }

    /// A write of the key's value that happens after this call returns (through `&mut V`).
    pub(crate) fn write_key<Q: ?Sized>(&self, cell: &Cell, key: &Q) {
        if self.active {
            self.check(cell, Kind::Write, Some(key), false);
        }
    }

    /// Marks `cell`, already checked by `write_key`, as being written by this thread until the
    /// guard drops: another thread that touches the key meanwhile overlaps with this write.
    pub(crate) fn writing<'c>(&self, cell: &'c Cell) -> Option<InProgress<'c>> {
        if !self.active {
            return None;
        }
        let epoch = thread::with(|me| me.epoch)?;
        cell.begin_write(epoch);
        Some(InProgress { cell, epoch })
    }

    /// The cell of a key this access inserts.
    pub(crate) fn new_cell(&self) -> Cell {
        if !self.active {
            return Cell::default();
        }
        thread::with(|me| Cell::written(me, self.site)).unwrap_or_default()
    }

    /// Checks and records the access; returns the epoch it was recorded with.
    #[inline]
    fn check<Q: ?Sized>(
        &self,
        cell: &Cell,
        kind: Kind,
        key: Option<&Q>,
        in_progress: bool,
    ) -> Option<Epoch> {
        let (epoch, tid, conflict) = thread::with(|me| {
            let conflict = match kind {
                Kind::Read => cell.track_read(me, self.site),
                Kind::Write => cell.track_write(me, self.site, in_progress),
            };
            (me.epoch, me.tid, conflict)
        })?;
        if let Some(previous) = conflict {
            let on_key = !std::ptr::eq(cell, &self.map.structure);
            self.report(kind, key, tid, previous, on_key);
        }
        Some(epoch)
    }

    #[cold]
    #[inline(never)]
    fn report<Q: ?Sized>(
        &self,
        kind: Kind,
        key: Option<&Q>,
        tid: u32,
        previous: Previous,
        on_key: bool,
    ) {
        let current = Current {
            kind,
            op: self.site.op(),
            location: self.site.location().unwrap_or(self.map.created_at),
            key: key.map(|k| key::describe(k, || None)),
            tid,
        };
        report::emit(Report::new(
            current,
            previous,
            on_key,
            self.map.label(self.type_name),
        ));
    }
}

impl Clone for Access<'_> {
    fn clone(&self) -> Self {
        *self
    }
}

impl Copy for Access<'_> {}

/// A map's value and the shadow cell of its key, side by side in the real map's entry, so the
/// check costs no second lookup.
pub(crate) struct Slot<V> {
    pub(crate) value: V,
    pub(crate) cell: Cell,
}

impl<V: Clone> Clone for Slot<V> {
    /// A clone is a new map: its keys have no history.
    fn clone(&self) -> Self {
        Slot {
            value: self.value.clone(),
            cell: Cell::default(),
        }
    }
}
