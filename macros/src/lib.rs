//! The `#[maprace::track]` attribute, re-exported by the `maprace` crate as `maprace::track`.
//!
//! It rewrites, anywhere in the annotated item, the std map types and the std synchronization and
//! thread paths into maprace's tracked mirrors, and names the maps it sees constructed. Phases:
//! `args` (the arguments), `names` (the `#[maprace(name = "...")]` field attributes), `rewrite`
//! (the `syn::visit_mut` pass), with the table of rewritten paths in `table`; `expand` runs them
//! in order. Generated code uses absolute paths (`::maprace::...`), so the crate must be a
//! dependency under the name `maprace`.
//!
//! Limits, all textual: a type imported under another name (`use std::collections::HashMap as
//! Map;` outside the item) is missed; the bodies of macro calls (`vec![..]`, `println!(..)`) are
//! opaque token streams and are left as written; a type alias declared outside the item is not
//! seen through; a bare `Entry` is not matched (it could be either map's: write `hash_map::Entry`,
//! or import it inside the item). A module-level `use std::collections::HashMap;` used only by
//! annotated items is kept used by a `use HashMap as _;` that the expansion adds.

mod args;
mod expand;
mod names;
mod rewrite;
mod table;

use proc_macro::TokenStream;

/// Makes the maps of an item tracked by maprace.
///
/// Accepted on a `struct`, `enum`, `fn`, inline `mod`, `impl` block, `static`, `const`, `type`
/// alias or `trait`. Inside it, `HashMap` and `BTreeMap` (bare or `std::collections::`-qualified)
/// become `::maprace::HashMap` and `::maprace::BTreeMap`; `Mutex`, `RwLock`, `Condvar`, `Barrier`,
/// `OnceLock`, `LazyLock`, `mpsc::{channel, sync_channel, Sender, SyncSender, Receiver}` and
/// `thread::{spawn, scope, Builder}` become their `::maprace::sync` / `::maprace::thread`
/// mirrors. Where maprace has the matching feature, `DashMap`, `DashSet` (bare or
/// `dashmap::`-qualified) and every `dashmap::` path become `::maprace::dashmap`'s,
/// `parking_lot::` paths `::maprace::parking_lot`'s and `crossbeam_channel::` paths
/// `::maprace::crossbeam_channel`'s. Paths qualified with another crate (`tokio::sync::Mutex`)
/// are left alone.
///
/// Arguments:
/// - `maps_only`: rewrite the map types only;
/// - `name = "sessions"`: the name reports use for every map constructed in the item.
///
/// Without `name`, a constructed map is named after its `let` binding, struct-literal field or
/// `static`; a field can set its own with `#[maprace(name = "...")]`.
///
/// ```ignore
/// use std::sync::Mutex;
///
/// #[maprace::track]
/// struct Registry {
///     #[maprace(name = "sessions by id")]
///     sessions: Mutex<std::collections::HashMap<u64, String>>,
/// }
/// ```
///
/// (`ignore`: this crate cannot depend on `maprace`; the same code is compiled by maprace's
/// `tests/ui/pass` tests.)
#[proc_macro_attribute]
pub fn track(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::track(args.into(), item.into()).into()
}
