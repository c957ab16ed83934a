//! The paths `#[maprace::track]` rewrites: one row per name, matched textually.
//!
//! A path matches a row when its segments start with one of the row's prefixes followed by the
//! row's ident (`std::collections::HashMap`, `collections::HashMap`, `HashMap`, ...). The matched
//! segments are replaced by `::maprace::` + the row's target, keeping the generic arguments of the
//! matched segment and every segment after it (`HashMap::<K, V>::new` becomes
//! `::maprace::HashMap::<K, V>::new`). Matching is textual: a type imported under another name
//! outside the annotated item is not seen (a documented limitation).

use proc_macro2::Ident;
use syn::punctuated::Punctuated;
use syn::{Path, PathSegment, Token};

/// Which switch governs a row: maps are always rewritten, the others not under `maps_only`,
/// and the dashmap, parking_lot and crossbeam-channel rows only where maprace has those features
/// (the expansion asks maprace, see `expand`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// Map types and the map modules (`HashMap`, `hash_map::Entry`).
    Map,
    /// std's synchronization and threads (`Mutex`, `mpsc::channel`, `thread::spawn`).
    Sync,
    /// parking_lot's locks (`parking_lot::Mutex`), mirrored by `maprace::parking_lot`.
    ParkingLot,
    /// crossbeam-channel's channels (`crossbeam_channel::unbounded`), mirrored by
    /// `maprace::crossbeam_channel`.
    Crossbeam,
    /// dashmap's maps (`DashMap`, `DashSet`, any `dashmap::` path), mirrored by `maprace::DashMap`
    /// and `maprace::dashmap`. Maps: rewritten under `maps_only` too.
    DashMap,
}

/// The families a rewrite applies (maps always).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Families {
    pub(crate) sync: bool,
    pub(crate) parking_lot: bool,
    pub(crate) crossbeam: bool,
    pub(crate) dashmap: bool,
}

impl Families {
    /// Every family.
    pub(crate) const ALL: Families = Families {
        sync: true,
        parking_lot: true,
        crossbeam: true,
        dashmap: true,
    };

    /// The map families only (`maps_only`).
    pub(crate) const MAPS: Families = Families {
        sync: false,
        parking_lot: false,
        crossbeam: false,
        dashmap: true,
    };

    /// Whether rows of `family` apply.
    pub(crate) fn has(self, family: Family) -> bool {
        match family {
            Family::Map => true,
            Family::Sync => self.sync,
            Family::ParkingLot => self.parking_lot,
            Family::Crossbeam => self.crossbeam,
            Family::DashMap => self.dashmap,
        }
    }

    /// Adds `family` (for recording which families a rewrite used).
    pub(crate) fn add(&mut self, family: Family) {
        match family {
            Family::Map => {}
            Family::Sync => self.sync = true,
            Family::ParkingLot => self.parking_lot = true,
            Family::Crossbeam => self.crossbeam = true,
            Family::DashMap => self.dashmap = true,
        }
    }
}

/// The crates whose paths rows match, which may stand after a leading `::`.
const CRATES: &[&str] = &[
    "std",
    "parking_lot",
    "crossbeam_channel",
    "crossbeam",
    "dashmap",
];

/// Whether `ident` is the name of a crate a row matches (`std`, `parking_lot`, ...).
pub(crate) fn is_crate(ident: &Ident) -> bool {
    CRATES.iter().any(|name| ident == name)
}

/// One rewritten name.
#[derive(Debug)]
pub(crate) struct Row {
    /// The segment that names the item, as the user writes it.
    pub(crate) ident: &'static str,
    /// The segments that may stand before `ident` (`&[]`: the bare name). A leading `::` is
    /// accepted only before a prefix that starts with a crate's name (`std`, `parking_lot`).
    pub(crate) prefixes: &'static [&'static [&'static str]],
    /// The replacement, after `::maprace::`.
    pub(crate) target: &'static [&'static str],
    /// Which switch governs the row.
    pub(crate) family: Family,
    /// A module row (`hash_map`) rewrites only paths to an item inside it (`hash_map::Entry`),
    /// never the module path itself (so `use std::collections::hash_map;` is kept).
    pub(crate) module: bool,
}

const fn item(
    ident: &'static str,
    prefixes: &'static [&'static [&'static str]],
    target: &'static [&'static str],
    family: Family,
) -> Row {
    Row {
        ident,
        prefixes,
        target,
        family,
        module: false,
    }
}

const fn module(
    ident: &'static str,
    prefixes: &'static [&'static [&'static str]],
    target: &'static [&'static str],
) -> Row {
    Row {
        ident,
        prefixes,
        target,
        family: Family::Map,
        module: true,
    }
}

const HASH_MAP: &[&[&str]] = &[
    &[],
    &["std", "collections"],
    &["collections"],
    &["std", "collections", "hash_map"],
    &["collections", "hash_map"],
    &["hash_map"],
];
const BTREE_MAP: &[&[&str]] = &[
    &[],
    &["std", "collections"],
    &["collections"],
    &["std", "collections", "btree_map"],
    &["collections", "btree_map"],
    &["btree_map"],
];
const COLLECTIONS: &[&[&str]] = &[&[], &["std", "collections"], &["collections"]];
const SYNC: &[&[&str]] = &[&[], &["sync"], &["std", "sync"]];
const MPSC: &[&[&str]] = &[&["mpsc"], &["sync", "mpsc"], &["std", "sync", "mpsc"]];
const THREAD: &[&[&str]] = &[&["thread"], &["std", "thread"]];
const PARKING_LOT: &[&[&str]] = &[&["parking_lot"]];
// `crossbeam::channel` is the `crossbeam` crate's re-export of crossbeam-channel.
const CROSSBEAM: &[&[&str]] = &[&["crossbeam_channel"], &["crossbeam", "channel"]];
const DASHMAP: &[&[&str]] = &[&[], &["dashmap"]];

use Family::{Crossbeam, DashMap, Map, ParkingLot, Sync};

/// A parking_lot row: `parking_lot::<ident>` becomes `maprace::parking_lot::<ident>`.
const fn parking_lot(ident: &'static str, target: &'static [&'static str]) -> Row {
    item(ident, PARKING_LOT, target, ParkingLot)
}

/// A crossbeam-channel row: `crossbeam_channel::<ident>` becomes
/// `maprace::crossbeam_channel::<ident>`.
const fn crossbeam(ident: &'static str, target: &'static [&'static str]) -> Row {
    item(ident, CROSSBEAM, target, Crossbeam)
}

/// Every rewritten name; the first row that matches wins, so items come before their modules.
/// Adding a type is one line.
pub(crate) const ROWS: &[Row] = &[
    item("HashMap", HASH_MAP, &["HashMap"], Map),
    item("BTreeMap", BTREE_MAP, &["BTreeMap"], Map),
    item("DashMap", DASHMAP, &["DashMap"], DashMap),
    item("DashSet", DASHMAP, &["DashSet"], DashMap),
    // Any other path into the crate (`dashmap::mapref::one::Ref`): `maprace::dashmap` mirrors
    // dashmap's module tree at the same paths.
    Row {
        ident: "dashmap",
        prefixes: &[&[]],
        target: &["dashmap"],
        family: DashMap,
        module: true,
    },
    module("hash_map", COLLECTIONS, &["collections", "hash_map"]),
    module("btree_map", COLLECTIONS, &["collections", "btree_map"]),
    item("Mutex", SYNC, &["sync", "Mutex"], Sync),
    item("RwLock", SYNC, &["sync", "RwLock"], Sync),
    item("Condvar", SYNC, &["sync", "Condvar"], Sync),
    item("Barrier", SYNC, &["sync", "Barrier"], Sync),
    item("OnceLock", SYNC, &["sync", "OnceLock"], Sync),
    item("LazyLock", SYNC, &["sync", "LazyLock"], Sync),
    item("channel", MPSC, &["sync", "mpsc", "channel"], Sync),
    item(
        "sync_channel",
        MPSC,
        &["sync", "mpsc", "sync_channel"],
        Sync,
    ),
    item("Sender", MPSC, &["sync", "mpsc", "Sender"], Sync),
    item("SyncSender", MPSC, &["sync", "mpsc", "SyncSender"], Sync),
    item("Receiver", MPSC, &["sync", "mpsc", "Receiver"], Sync),
    item("spawn", THREAD, &["thread", "spawn"], Sync),
    item("scope", THREAD, &["thread", "scope"], Sync),
    item("Builder", THREAD, &["thread", "Builder"], Sync),
    parking_lot("Mutex", &["parking_lot", "Mutex"]),
    parking_lot("MutexGuard", &["parking_lot", "MutexGuard"]),
    parking_lot("MappedMutexGuard", &["parking_lot", "MappedMutexGuard"]),
    parking_lot("RawMutex", &["parking_lot", "RawMutex"]),
    parking_lot("const_mutex", &["parking_lot", "const_mutex"]),
    parking_lot("RwLock", &["parking_lot", "RwLock"]),
    parking_lot("RwLockReadGuard", &["parking_lot", "RwLockReadGuard"]),
    parking_lot("RwLockWriteGuard", &["parking_lot", "RwLockWriteGuard"]),
    parking_lot(
        "RwLockUpgradableReadGuard",
        &["parking_lot", "RwLockUpgradableReadGuard"],
    ),
    parking_lot(
        "MappedRwLockReadGuard",
        &["parking_lot", "MappedRwLockReadGuard"],
    ),
    parking_lot(
        "MappedRwLockWriteGuard",
        &["parking_lot", "MappedRwLockWriteGuard"],
    ),
    parking_lot("RawRwLock", &["parking_lot", "RawRwLock"]),
    parking_lot("const_rwlock", &["parking_lot", "const_rwlock"]),
    parking_lot("Condvar", &["parking_lot", "Condvar"]),
    parking_lot("Once", &["parking_lot", "Once"]),
    parking_lot("ReentrantMutex", &["parking_lot", "ReentrantMutex"]),
    parking_lot(
        "ReentrantMutexGuard",
        &["parking_lot", "ReentrantMutexGuard"],
    ),
    parking_lot(
        "MappedReentrantMutexGuard",
        &["parking_lot", "MappedReentrantMutexGuard"],
    ),
    parking_lot(
        "const_reentrant_mutex",
        &["parking_lot", "const_reentrant_mutex"],
    ),
    crossbeam("unbounded", &["crossbeam_channel", "unbounded"]),
    crossbeam("bounded", &["crossbeam_channel", "bounded"]),
    crossbeam("Sender", &["crossbeam_channel", "Sender"]),
    crossbeam("Receiver", &["crossbeam_channel", "Receiver"]),
    crossbeam("Iter", &["crossbeam_channel", "Iter"]),
    crossbeam("TryIter", &["crossbeam_channel", "TryIter"]),
    crossbeam("IntoIter", &["crossbeam_channel", "IntoIter"]),
];

/// The associated functions that construct a map (`HashMap::new()`, ...): a call to one of them
/// on a rewritten map path is wrapped in `named(..)` when a name is known.
pub(crate) const CONSTRUCTORS: &[&str] = &[
    "new",
    "with_capacity",
    "with_hasher",
    "with_capacity_and_hasher",
    "default",
    "from",
    "from_iter",
    // DashMap's.
    "with_shard_amount",
    "with_capacity_and_shard_amount",
    "with_hasher_and_shard_amount",
    "with_capacity_and_hasher_and_shard_amount",
];

/// A row matched in a path: the row, and the index of the segment that names it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Match {
    /// The row.
    pub(crate) row: &'static Row,
    /// Index of the segment equal to `row.ident`.
    pub(crate) at: usize,
}

/// The first row of the `families` that `path` matches. `shadowed` says whether a bare name is
/// defined or imported from elsewhere inside the item (then the bare name is not ours to
/// rewrite).
pub(crate) fn find(
    path: &Path,
    families: Families,
    shadowed: &dyn Fn(&str) -> bool,
) -> Option<Match> {
    let segments: Vec<&PathSegment> = path.segments.iter().collect();
    ROWS.iter()
        .filter(|row| families.has(row.family))
        .find_map(|row| {
            row.prefixes.iter().find_map(|prefix| {
                let at = prefix.len();
                let matches = segments.len() > at + usize::from(row.module)
                    && segments[at].ident == row.ident
                    && segments[..at]
                        .iter()
                        .zip(prefix.iter())
                        .all(|(seg, want)| seg.ident == want && seg.arguments.is_none())
                    && (path.leading_colon.is_none()
                        || prefix.first().is_some_and(|first| CRATES.contains(first)))
                    && !(at == 0 && path.leading_colon.is_none() && shadowed(row.ident));
                matches.then_some(Match { row, at })
            })
        })
}

/// Replaces the matched segments of `path` by `::maprace::` + the row's target, keeping the
/// matched segment's generic arguments and the segments after it. The new segments carry the
/// span of the user's segment, so errors point at the user's code.
pub(crate) fn apply(path: &mut Path, found: Match) {
    let old = std::mem::take(&mut path.segments);
    let mut old = old.into_iter().skip(found.at);
    let named = old.next().expect("a match has its segment");
    let span = named.ident.span();
    let mut segments: Punctuated<PathSegment, Token![::]> = Punctuated::new();
    segments.push(PathSegment::from(Ident::new("maprace", span)));
    for ident in found.row.target {
        segments.push(PathSegment::from(Ident::new(ident, span)));
    }
    segments
        .last_mut()
        .expect("targets are not empty")
        .arguments = named.arguments;
    segments.extend(old);
    path.leading_colon = Some(Token![::](span));
    path.segments = segments;
}

/// Whether `path` is a rewritten map type (`::maprace::HashMap<..>`), followed by `extra` more
/// segments.
fn is_map_path_with(path: &Path, extra: usize) -> bool {
    let idents: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    path.leading_colon.is_some()
        && idents.first().is_some_and(|first| first == "maprace")
        && ROWS
            .iter()
            .filter(|row| matches!(row.family, Family::Map | Family::DashMap) && !row.module)
            .any(|row| {
                idents.len() == 1 + row.target.len() + extra
                    && idents[1..=row.target.len()]
                        .iter()
                        .zip(row.target)
                        .all(|(have, want)| have == want)
            })
}

/// Whether `path` is a rewritten map type: `::maprace::HashMap<K, V>`.
pub(crate) fn is_map_path(path: &Path) -> bool {
    is_map_path_with(path, 0)
}

/// Whether `path` is a rewritten map constructor: `::maprace::HashMap::<K, V>::new`.
pub(crate) fn is_map_constructor_path(path: &Path) -> bool {
    is_map_path_with(path, 1)
        && path
            .segments
            .last()
            .is_some_and(|s| is_constructor(&s.ident))
}

/// Whether `ident` names a map constructor (`new`, `with_capacity`, ...).
pub(crate) fn is_constructor(ident: &Ident) -> bool {
    CONSTRUCTORS.iter().any(|name| ident == name)
}

/// Whether `ident` is the last segment of some row (a name a local item could shadow).
pub(crate) fn is_row_ident(ident: &Ident) -> bool {
    ROWS.iter().any(|row| ident == row.ident)
}
