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

/// Which switch governs a row: maps are always rewritten, sync rows not under `maps_only`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// Map types and the map modules (`HashMap`, `hash_map::Entry`).
    Map,
    /// Synchronization and threads (`Mutex`, `mpsc::channel`, `thread::spawn`).
    Sync,
}

/// One rewritten name.
#[derive(Debug)]
pub(crate) struct Row {
    /// The segment that names the item, as the user writes it.
    pub(crate) ident: &'static str,
    /// The segments that may stand before `ident` (`&[]`: the bare name). A leading `::` is
    /// accepted only before a prefix that starts with `std`.
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

use Family::{Map, Sync};

/// Every rewritten name; the first row that matches wins, so items come before their modules.
/// Adding a type is one line.
pub(crate) const ROWS: &[Row] = &[
    item("HashMap", HASH_MAP, &["HashMap"], Map),
    item("BTreeMap", BTREE_MAP, &["BTreeMap"], Map),
    // The DashMap row goes here, with the DashMap mirror:
    // item("DashMap", &[&[], &["dashmap"]], &["DashMap"], Map),
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
];

/// A row matched in a path: the row, and the index of the segment that names it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Match {
    /// The row.
    pub(crate) row: &'static Row,
    /// Index of the segment equal to `row.ident`.
    pub(crate) at: usize,
}

/// The first row that `path` matches. `shadowed` says whether a bare name is defined or imported
/// from elsewhere inside the item (then the bare name is not ours to rewrite).
pub(crate) fn find(path: &Path, maps_only: bool, shadowed: &dyn Fn(&str) -> bool) -> Option<Match> {
    let segments: Vec<&PathSegment> = path.segments.iter().collect();
    ROWS.iter()
        .filter(|row| !(maps_only && row.family == Family::Sync))
        .find_map(|row| {
            row.prefixes.iter().find_map(|prefix| {
                let at = prefix.len();
                let matches = segments.len() > at + usize::from(row.module)
                    && segments[at].ident == row.ident
                    && segments[..at]
                        .iter()
                        .zip(prefix.iter())
                        .all(|(seg, want)| seg.ident == want && seg.arguments.is_none())
                    && (path.leading_colon.is_none() || prefix.first() == Some(&"std"))
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
            .filter(|row| row.family == Family::Map && !row.module)
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
