//! The rewrite pass on items parsed from source: what each kind of path becomes.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use crate::expand::track;
use crate::table::Families;
use crate::{args, names};

/// Rewrites `#[maprace::track(args)] item` and compares it with `want`, both printed from the
/// parsed item so that spacing does not matter. The keep-alive `use`s are tested on their own.
/// This is the rewrite where maprace has neither the `parking_lot` nor the
/// `crossbeam-channel` feature (`check_with_mirrors` has them).
fn check(args: TokenStream, item: TokenStream, want: TokenStream) {
    check_families(args, item, want, false);
}

/// `check` where maprace has the `dashmap`, `parking_lot` and `crossbeam-channel` features.
fn check_with_mirrors(args: TokenStream, item: TokenStream, want: TokenStream) {
    check_families(args, item, want, true);
}

fn check_families(args: TokenStream, item: TokenStream, want: TokenStream, mirrors: bool) {
    let args = args::parse(args).expect("the arguments parse");
    let mut item: syn::Item = syn::parse2(item).expect("the item parses");
    let fields = names::collect(&mut item).expect("the field attributes parse");
    let families = Families {
        sync: !args.maps_only,
        parking_lot: mirrors && !args.maps_only,
        crossbeam: mirrors && !args.maps_only,
        dashmap: mirrors,
    };
    super::rewrite(&mut item, &args, &fields, families);
    let want = syn::parse2::<syn::Item>(want).expect("the expected item parses");
    assert_eq!(
        item.to_token_stream().to_string(),
        want.to_token_stream().to_string()
    );
}

/// Compares the whole expansion with `want`.
fn check_expansion(item: TokenStream, want: TokenStream) {
    let want: syn::File = syn::parse2(want).expect("the expected items parse");
    let got: syn::File = syn::parse2(track(TokenStream::new(), item)).expect("it parses");
    assert_eq!(
        got.to_token_stream().to_string(),
        want.to_token_stream().to_string()
    );
}

#[test]
fn imports_of_rewritten_bare_names_are_kept_used_after_the_item_or_in_the_fn_body() {
    check_expansion(
        quote! { struct S { a: HashMap<u8, Mutex<u8>>, b: std::collections::BTreeMap<u8, u8> } },
        quote! {
            struct S { a: ::maprace::HashMap<u8, ::maprace::sync::Mutex<u8>>, b: ::maprace::BTreeMap<u8, u8> }
            #[allow(unused_imports)] use HashMap as _;
            #[allow(unused_imports)] use Mutex as _;
        },
    );
    check_expansion(
        quote! { impl S { fn f() { thread::scope(|s| {}); sync::Mutex::new(1); } } },
        quote! {
            impl S { fn f() { ::maprace::thread::scope(|s| {}); ::maprace::sync::Mutex::new(1); } }
            #[allow(unused_imports)] use sync as _;
            #[allow(unused_imports)] use thread as _;
        },
    );
    check_expansion(
        quote! { fn f() -> HashMap<u8, u8> { HashMap::new() } },
        quote! {
            fn f() -> ::maprace::HashMap<u8, u8> {
                #[allow(unused_imports)] use HashMap as _;
                ::maprace::HashMap::new()
            }
        },
    );
}

#[test]
fn no_keep_alive_for_names_imported_inside_nor_next_to_a_glob_nor_for_a_const() {
    check_expansion(
        quote! { mod m { use std::collections::HashMap; struct S(HashMap<u8, u8>); } },
        quote! { mod m { #[allow(unused_imports)] use ::maprace::HashMap; struct S(::maprace::HashMap<u8, u8>); } },
    );
    check_expansion(
        quote! { mod m { use std::sync::*; struct S(Mutex<u8>); } },
        quote! { mod m { use std::sync::*; struct S(::maprace::sync::Mutex<u8>); } },
    );
    check_expansion(
        quote! { const C: Option<HashMap<u8, u8>> = None; },
        quote! { const C: Option<::maprace::HashMap<u8, u8>> = None; },
    );
}

#[test]
fn map_types_in_fields_are_rewritten_however_they_are_qualified() {
    check(
        quote!(),
        quote! {
            struct S {
                a: HashMap<u8, u8>,
                b: std::collections::HashMap<u8, u8>,
                c: ::std::collections::HashMap<u8, u8>,
                d: collections::BTreeMap<u8, u8>,
                e: std::collections::hash_map::HashMap<u8, u8, RandomState>,
                f: btree_map::BTreeMap<u8, u8>,
            }
        },
        quote! {
            struct S {
                a: ::maprace::HashMap<u8, u8>,
                b: ::maprace::HashMap<u8, u8>,
                c: ::maprace::HashMap<u8, u8>,
                d: ::maprace::BTreeMap<u8, u8>,
                e: ::maprace::HashMap<u8, u8, RandomState>,
                f: ::maprace::BTreeMap<u8, u8>,
            }
        },
    );
}

#[test]
fn nested_generics_tuples_arrays_references_and_fn_pointers_are_rewritten() {
    check(
        quote!(),
        quote! {
            enum E {
                A(Arc<Mutex<HashMap<K, V>>>),
                B(Vec<Option<BTreeMap<u8, Vec<HashMap<u8, u8>>>>>),
                C((HashMap<u8, u8>, [BTreeMap<u8, u8>; 2]), &'static RwLock<HashMap<u8, u8>>),
                D(fn(&HashMap<u8, u8>) -> BTreeMap<u8, u8>, Box<dyn Fn(HashMap<u8, u8>)>),
            }
        },
        quote! {
            enum E {
                A(Arc<::maprace::sync::Mutex<::maprace::HashMap<K, V>>>),
                B(Vec<Option<::maprace::BTreeMap<u8, Vec<::maprace::HashMap<u8, u8>>>>>),
                C(
                    (::maprace::HashMap<u8, u8>, [::maprace::BTreeMap<u8, u8>; 2]),
                    &'static ::maprace::sync::RwLock<::maprace::HashMap<u8, u8>>
                ),
                D(
                    fn(&::maprace::HashMap<u8, u8>) -> ::maprace::BTreeMap<u8, u8>,
                    Box<dyn Fn(::maprace::HashMap<u8, u8>)>
                ),
            }
        },
    );
}

#[test]
fn signatures_impl_trait_bounds_and_type_aliases_are_rewritten() {
    check(
        quote!(),
        quote! {
            fn f<T: Into<HashMap<u8, u8>>>(m: &mut HashMap<u8, u8>) -> impl Iterator<Item = BTreeMap<u8, u8>>
            where
                Mutex<T>: Send,
            {
                unreachable!()
            }
        },
        quote! {
            fn f<T: Into<::maprace::HashMap<u8, u8>>>(m: &mut ::maprace::HashMap<u8, u8>) -> impl Iterator<Item = ::maprace::BTreeMap<u8, u8>>
            where
                ::maprace::sync::Mutex<T>: Send,
            {
                unreachable!()
            }
        },
    );
    check(
        quote!(),
        quote!(
            type Shared = Arc<std::sync::RwLock<std::collections::BTreeMap<String, u8>>>;
        ),
        quote!(
            type Shared = Arc<::maprace::sync::RwLock<::maprace::BTreeMap<String, u8>>>;
        ),
    );
}

#[test]
fn expression_paths_keep_their_generic_arguments() {
    check(
        quote!(),
        quote! {
            fn f() {
                g(HashMap::new());
                g(HashMap::<u8, u8>::with_capacity(8));
                g(<HashMap<u8, u8>>::default());
                g(<BTreeMap<u8, u8> as Default>::default());
                g(std::collections::HashMap::from([(1, 2)]));
                g(HashMap::from_iter(v));
                g(v.into_iter().collect::<HashMap<_, _>>());
                g(size_of::<Mutex<u8>>());
                g(&x as &HashMap<u8, u8>);
                g(|m: &HashMap<u8, u8>| -> BTreeMap<u8, u8> { unreachable!() });
            }
        },
        quote! {
            fn f() {
                g(::maprace::HashMap::new());
                g(::maprace::HashMap::<u8, u8>::with_capacity(8));
                g(<::maprace::HashMap<u8, u8>>::default());
                g(<::maprace::BTreeMap<u8, u8> as Default>::default());
                g(::maprace::HashMap::from([(1, 2)]));
                g(::maprace::HashMap::from_iter(v));
                g(v.into_iter().collect::<::maprace::HashMap<_, _>>());
                g(size_of::<::maprace::sync::Mutex<u8>>());
                g(&x as &::maprace::HashMap<u8, u8>);
                g(|m: &::maprace::HashMap<u8, u8>| -> ::maprace::BTreeMap<u8, u8> { unreachable!() });
            }
        },
    );
}

#[test]
fn items_of_the_map_modules_are_rewritten_and_the_modules_kept() {
    check(
        quote!(),
        quote! {
            fn f(m: &mut HashMap<u8, u8>) {
                use std::collections::hash_map;
                match m.entry(1) {
                    std::collections::hash_map::Entry::Occupied(o) => {}
                    hash_map::Entry::Vacant(v) => {}
                }
                let _: Option<btree_map::Iter<'_, u8, u8>> = None;
            }
        },
        quote! {
            fn f(m: &mut ::maprace::HashMap<u8, u8>) {
                use std::collections::hash_map;
                match m.entry(1) {
                    ::maprace::collections::hash_map::Entry::Occupied(o) => {}
                    ::maprace::collections::hash_map::Entry::Vacant(v) => {}
                }
                let _: Option<::maprace::collections::btree_map::Iter<'_, u8, u8>> = None;
            }
        },
    );
}

#[test]
fn sync_mpsc_and_thread_paths_are_rewritten() {
    check(
        quote!(),
        quote! {
            fn f() {
                let (tx, rx): (mpsc::Sender<u8>, std::sync::mpsc::Receiver<u8>) = mpsc::channel();
                let (stx, _) = std::sync::mpsc::sync_channel::<u8>(1);
                let lock = std::sync::Mutex::new(0);
                let once: sync::OnceLock<u8> = ::std::sync::OnceLock::new();
                let (c, b) = (Condvar::new(), Barrier::new(2));
                thread::scope(|s| {});
                std::thread::spawn(move || tx.send(1));
                thread::Builder::new().name("w".into());
                thread::sleep(d);
                let a = std::sync::Arc::new(0);
            }
        },
        quote! {
            fn f() {
                let (tx, rx): (::maprace::sync::mpsc::Sender<u8>, ::maprace::sync::mpsc::Receiver<u8>) = ::maprace::sync::mpsc::channel();
                let (stx, _) = ::maprace::sync::mpsc::sync_channel::<u8>(1);
                let lock = ::maprace::sync::Mutex::new(0);
                let once: ::maprace::sync::OnceLock<u8> = ::maprace::sync::OnceLock::new();
                let (c, b) = (::maprace::sync::Condvar::new(), ::maprace::sync::Barrier::new(2));
                ::maprace::thread::scope(|s| {});
                ::maprace::thread::spawn(move || tx.send(1));
                ::maprace::thread::Builder::new().name("w".into());
                thread::sleep(d);
                let a = std::sync::Arc::new(0);
            }
        },
    );
}

#[test]
fn maps_only_leaves_sync_and_thread_paths_alone() {
    check(
        quote!(maps_only),
        quote! {
            fn f() {
                use std::sync::{Arc, Mutex};
                let m = Arc::new(Mutex::new(HashMap::<u8, u8>::new()));
                std::thread::spawn(move || m.lock());
            }
        },
        quote! {
            fn f() {
                use std::sync::{Arc, Mutex};
                let m = Arc::new(Mutex::new(::maprace::__private::named(::maprace::HashMap::<u8, u8>::new(), "m")));
                std::thread::spawn(move || m.lock());
            }
        },
    );
}

#[test]
fn paths_of_other_crates_and_of_this_crate_are_left_alone() {
    let item = quote! {
        struct S {
            a: parking_lot::Mutex<u8>,
            b: tokio::sync::Mutex<u8>,
            c: crate::HashMap<u8, u8>,
            d: self::sync::RwLock<u8>,
            e: ::sync::Mutex<u8>,
            f: hashbrown::HashMap<u8, u8>,
            g: std::sync::Arc<u8>,
        }
    };
    check(quote!(), item.clone(), item);
    let scope = quote!(
        fn f() {
            crossbeam::thread::scope(|s| {});
        }
    );
    check(quote!(), scope.clone(), scope);
}

#[test]
fn a_bare_name_imported_from_another_crate_in_the_item_is_left_alone() {
    check(
        quote!(),
        quote! {
            mod m {
                use parking_lot::Mutex;
                struct Condvar;
                struct S { a: Mutex<u8>, b: Condvar, c: RwLock<u8> }
            }
        },
        quote! {
            mod m {
                use parking_lot::Mutex;
                struct Condvar;
                struct S { a: Mutex<u8>, b: Condvar, c: ::maprace::sync::RwLock<u8> }
            }
        },
    );
}

#[test]
fn use_trees_are_split_into_maprace_uses_and_what_stays_std() {
    check(
        quote!(),
        quote! {
            mod m {
                use std::sync::{Arc, Mutex};
                pub use std::collections::HashMap as Map;
                use std::collections::{hash_map::{self, Entry}, BTreeMap, HashSet};
                use ::std::sync::mpsc::{self, channel};
                use std::thread::{self, spawn};
                use std::sync::*;
            }
        },
        quote! {
            mod m {
                use std::sync::{Arc};
                #[allow(unused_imports)] use ::maprace::sync::Mutex;
                #[allow(unused_imports)] pub use ::maprace::HashMap as Map;
                use std::collections::{hash_map::{self}, HashSet};
                #[allow(unused_imports)] use ::maprace::collections::hash_map::Entry;
                #[allow(unused_imports)] use ::maprace::BTreeMap;
                use ::std::sync::mpsc::{self};
                #[allow(unused_imports)] use ::maprace::sync::mpsc::channel;
                use std::thread::{self};
                #[allow(unused_imports)] use ::maprace::thread::spawn;
                use std::sync::*;
            }
        },
    );
}

#[test]
fn a_use_in_a_fn_body_is_split_and_a_fully_rewritten_use_disappears() {
    check(
        quote!(),
        quote! {
            fn f() {
                use std::collections::{BTreeMap, HashMap};
                let n = 1;
            }
        },
        quote! {
            fn f() {
                #[allow(unused_imports)] use ::maprace::BTreeMap;
                #[allow(unused_imports)] use ::maprace::HashMap;
                let n = 1;
            }
        },
    );
}

#[test]
fn a_let_binding_names_the_map_it_constructs() {
    check(
        quote!(),
        quote! {
            fn f() {
                let cache = HashMap::new();
                let mut sized = HashMap::<u8, u8>::with_capacity(8);
                let shared = Arc::new(Mutex::new(BTreeMap::new()));
                let collected = v.iter().collect::<HashMap<_, _>>();
                let (a, b) = (HashMap::new(), 1);
                g(HashMap::new());
            }
        },
        quote! {
            fn f() {
                let cache = ::maprace::__private::named(::maprace::HashMap::new(), "cache");
                let mut sized = ::maprace::__private::named(::maprace::HashMap::<u8, u8>::with_capacity(8), "sized");
                let shared = Arc::new(::maprace::sync::Mutex::new(::maprace::__private::named(::maprace::BTreeMap::new(), "shared")));
                let collected = ::maprace::__private::named(v.iter().collect::<::maprace::HashMap<_, _>>(), "collected");
                let (a, b) = (::maprace::HashMap::new(), 1);
                g(::maprace::HashMap::new());
            }
        },
    );
}

#[test]
fn a_let_annotated_with_a_map_type_names_the_whole_initializer_once() {
    check(
        quote!(),
        quote! {
            fn f() {
                let cache: HashMap<u8, u8> = Default::default();
                let direct: BTreeMap<u8, u8> = BTreeMap::new();
                let boxed: Box<HashMap<u8, u8>> = Box::default();
            }
        },
        quote! {
            fn f() {
                let cache: ::maprace::HashMap<u8, u8> = ::maprace::__private::named(Default::default(), "cache");
                let direct: ::maprace::BTreeMap<u8, u8> = ::maprace::__private::named(::maprace::BTreeMap::new(), "direct");
                let boxed: Box<::maprace::HashMap<u8, u8>> = Box::default();
            }
        },
    );
}

#[test]
fn a_struct_literal_field_names_its_map_and_a_field_attribute_overrides_it() {
    check(
        quote!(),
        quote! {
            mod registry {
                pub struct Registry {
                    #[maprace(name = "sessions by id")]
                    sessions: Mutex<HashMap<u64, String>>,
                    counts: BTreeMap<u8, u8>,
                }
                pub struct Pair(#[maprace(name = "left")] HashMap<u8, u8>, HashMap<u8, u8>);
                impl Registry {
                    pub fn new() -> Self {
                        Self { sessions: Mutex::new(HashMap::new()), counts: BTreeMap::new() }
                    }
                    pub fn pair() -> Pair {
                        Pair(HashMap::new(), HashMap::new())
                    }
                }
            }
        },
        quote! {
            mod registry {
                pub struct Registry {
                    sessions: ::maprace::sync::Mutex<::maprace::HashMap<u64, String>>,
                    counts: ::maprace::BTreeMap<u8, u8>,
                }
                pub struct Pair(::maprace::HashMap<u8, u8>, ::maprace::HashMap<u8, u8>);
                impl Registry {
                    pub fn new() -> Self {
                        Self {
                            sessions: ::maprace::sync::Mutex::new(::maprace::__private::named(::maprace::HashMap::new(), "sessions by id")),
                            counts: ::maprace::__private::named(::maprace::BTreeMap::new(), "counts")
                        }
                    }
                    pub fn pair() -> Pair {
                        Pair(::maprace::__private::named(::maprace::HashMap::new(), "left"), ::maprace::HashMap::new())
                    }
                }
            }
        },
    );
}

#[test]
fn a_static_names_the_map_built_in_its_lazy_initializer_only() {
    check(
        quote!(),
        quote! {
            static SESSIONS: LazyLock<Mutex<HashMap<u64, String>>> =
                LazyLock::new(|| Mutex::new(HashMap::new()));
        },
        quote! {
            static SESSIONS: ::maprace::sync::LazyLock<::maprace::sync::Mutex<::maprace::HashMap<u64, String>>> =
                ::maprace::sync::LazyLock::new(|| ::maprace::sync::Mutex::new(::maprace::__private::named(::maprace::HashMap::new(), "SESSIONS")));
        },
    );
    // In a const context `named` (not a `const fn`) cannot be called: nothing is wrapped.
    check(
        quote!(),
        quote!(
            static EMPTY: Mutex<BTreeMap<u8, u8>> = Mutex::new(BTreeMap::new());
        ),
        quote!(
            static EMPTY: ::maprace::sync::Mutex<::maprace::BTreeMap<u8, u8>> =
                ::maprace::sync::Mutex::new(::maprace::BTreeMap::new());
        ),
    );
    check(
        quote!(),
        quote!(
            const fn empty() -> BTreeMap<u8, u8> {
                let m = BTreeMap::new();
                m
            }
        ),
        quote!(
            const fn empty() -> ::maprace::BTreeMap<u8, u8> {
                let m = ::maprace::BTreeMap::new();
                m
            }
        ),
    );
}

#[test]
fn the_name_argument_overrides_inferred_names_and_names_every_map() {
    check(
        quote!(name = "sessions"),
        quote! {
            impl Store {
                fn new() -> Self {
                    let cache: HashMap<u8, u8> = HashMap::new();
                    Self { map: HashMap::new(), other: g(HashMap::default()) }
                }
            }
        },
        quote! {
            impl Store {
                fn new() -> Self {
                    let cache: ::maprace::HashMap<u8, u8> = ::maprace::__private::named(::maprace::HashMap::new(), "sessions");
                    Self {
                        map: ::maprace::__private::named(::maprace::HashMap::new(), "sessions"),
                        other: g(::maprace::__private::named(::maprace::HashMap::default(), "sessions"))
                    }
                }
            }
        },
    );
}

#[test]
fn trait_signatures_and_default_bodies_are_rewritten() {
    check(
        quote!(),
        quote! {
            trait Store {
                fn map(&self) -> &Mutex<HashMap<u8, u8>>;
                fn fresh() -> HashMap<u8, u8> {
                    let fresh = HashMap::new();
                    fresh
                }
            }
        },
        quote! {
            trait Store {
                fn map(&self) -> &::maprace::sync::Mutex<::maprace::HashMap<u8, u8>>;
                fn fresh() -> ::maprace::HashMap<u8, u8> {
                    let fresh = ::maprace::__private::named(::maprace::HashMap::new(), "fresh");
                    fresh
                }
            }
        },
    );
}

#[test]
fn macro_calls_are_opaque_and_left_as_written() {
    check(
        quote!(),
        quote! {
            fn f() {
                let v = vec![HashMap::<u8, u8>::new()];
                println!("{:?}", Mutex::new(1));
            }
        },
        quote! {
            fn f() {
                let v = vec![HashMap::<u8, u8>::new()];
                println!("{:?}", Mutex::new(1));
            }
        },
    );
}

#[test]
fn an_inline_mod_is_rewritten_at_any_depth() {
    check(
        quote!(),
        quote! {
            mod outer {
                mod inner {
                    fn f() -> Option<HashMap<u8, u8>> {
                        fn g() -> Mutex<u8> { Mutex::new(0) }
                        None
                    }
                }
            }
        },
        quote! {
            mod outer {
                mod inner {
                    fn f() -> Option<::maprace::HashMap<u8, u8>> {
                        fn g() -> ::maprace::sync::Mutex<u8> { ::maprace::sync::Mutex::new(0) }
                        None
                    }
                }
            }
        },
    );
}

#[test]
fn parking_lot_and_crossbeam_paths_become_the_mirrors_where_maprace_has_them() {
    let item = quote! {
        fn f() {
            let m: parking_lot::Mutex<HashMap<u8, u8>> = parking_lot::Mutex::new(HashMap::new());
            let r = ::parking_lot::RwLock::new(0);
            let g: Option<parking_lot::RwLockUpgradableReadGuard<'_, u8>> = None;
            static C: parking_lot::Mutex<u8> = parking_lot::const_mutex(0);
            let (tx, rx): (crossbeam_channel::Sender<u8>, crossbeam_channel::Receiver<u8>) =
                crossbeam_channel::unbounded();
            let (btx, brx) = crossbeam::channel::bounded::<u8>(1);
            let fair = parking_lot::FairMutex::new(0);
            let tick = crossbeam_channel::tick(d);
        }
    };
    check_with_mirrors(
        quote!(),
        item.clone(),
        quote! {
            fn f() {
                let m: ::maprace::parking_lot::Mutex<::maprace::HashMap<u8, u8>> = ::maprace::parking_lot::Mutex::new(::maprace::__private::named(::maprace::HashMap::new(), "m"));
                let r = ::maprace::parking_lot::RwLock::new(0);
                let g: Option<::maprace::parking_lot::RwLockUpgradableReadGuard<'_, u8>> = None;
                static C: ::maprace::parking_lot::Mutex<u8> = ::maprace::parking_lot::const_mutex(0);
                let (tx, rx): (::maprace::crossbeam_channel::Sender<u8>, ::maprace::crossbeam_channel::Receiver<u8>) =
                    ::maprace::crossbeam_channel::unbounded();
                let (btx, brx) = ::maprace::crossbeam_channel::bounded::<u8>(1);
                let fair = parking_lot::FairMutex::new(0);
                let tick = crossbeam_channel::tick(d);
            }
        },
    );
    // Without the features, and with `maps_only`: left as written.
    let maps_rewritten = quote! {
        fn f() {
            let m: parking_lot::Mutex<::maprace::HashMap<u8, u8>> = parking_lot::Mutex::new(::maprace::__private::named(::maprace::HashMap::new(), "m"));
            let r = ::parking_lot::RwLock::new(0);
            let g: Option<parking_lot::RwLockUpgradableReadGuard<'_, u8>> = None;
            static C: parking_lot::Mutex<u8> = parking_lot::const_mutex(0);
            let (tx, rx): (crossbeam_channel::Sender<u8>, crossbeam_channel::Receiver<u8>) =
                crossbeam_channel::unbounded();
            let (btx, brx) = crossbeam::channel::bounded::<u8>(1);
            let fair = parking_lot::FairMutex::new(0);
            let tick = crossbeam_channel::tick(d);
        }
    };
    check(quote!(), item.clone(), maps_rewritten.clone());
    check_with_mirrors(quote!(maps_only), item, maps_rewritten);
}

#[test]
fn a_parking_lot_use_in_the_item_is_rewritten_and_its_bare_names_follow_it() {
    check_with_mirrors(
        quote!(),
        quote! {
            mod m {
                use parking_lot::{Mutex, FairMutex, RwLock as Lock};
                use crossbeam_channel::{unbounded, Sender, select};
                struct S { a: Mutex<u8>, b: Lock<u8>, c: Sender<u8>, d: Condvar }
                fn f() { let (tx, rx) = unbounded::<u8>(); }
            }
        },
        quote! {
            mod m {
                use parking_lot::{FairMutex};
                #[allow(unused_imports)] use ::maprace::parking_lot::Mutex;
                #[allow(unused_imports)] use ::maprace::parking_lot::RwLock as Lock;
                use crossbeam_channel::{select};
                #[allow(unused_imports)] use ::maprace::crossbeam_channel::unbounded;
                #[allow(unused_imports)] use ::maprace::crossbeam_channel::Sender;
                struct S { a: Mutex<u8>, b: Lock<u8>, c: Sender<u8>, d: ::maprace::sync::Condvar }
                fn f() { let (tx, rx) = unbounded::<u8>(); }
            }
        },
    );
}

/// `check_expansion` for an expansion inside a macro call, whose tokens do not parse as items
/// (so the comparison ignores spacing, which `quote!` prints differently there: `> >`).
fn check_expansion_tokens(item: TokenStream, want: TokenStream) {
    let got = track(TokenStream::new(), item).to_string().replace(' ', "");
    assert_eq!(got, want.to_string().replace(' ', ""));
}

#[test]
fn an_item_with_mirror_paths_expands_to_one_version_per_feature_combination() {
    check_expansion_tokens(
        quote! { struct S { m: parking_lot::Mutex<HashMap<u8, u8>> } },
        quote! {
            ::maprace::__private::if_parking_lot! {
                {
                    struct S { m: ::maprace::parking_lot::Mutex<::maprace::HashMap<u8, u8>> }
                    #[allow(unused_imports)] use HashMap as _;
                }
                {
                    struct S { m: parking_lot::Mutex<::maprace::HashMap<u8, u8>> }
                    #[allow(unused_imports)] use HashMap as _;
                }
            }
        },
    );
    check_expansion_tokens(
        quote! { fn f() { parking_lot::Mutex::new(crossbeam_channel::unbounded::<u8>()); } },
        quote! {
            ::maprace::__private::if_parking_lot! {
                {
                    ::maprace::__private::if_crossbeam_channel! {
                        { fn f() { ::maprace::parking_lot::Mutex::new(::maprace::crossbeam_channel::unbounded::<u8>()); } }
                        { fn f() { ::maprace::parking_lot::Mutex::new(crossbeam_channel::unbounded::<u8>()); } }
                    }
                }
                {
                    ::maprace::__private::if_crossbeam_channel! {
                        { fn f() { parking_lot::Mutex::new(::maprace::crossbeam_channel::unbounded::<u8>()); } }
                        { fn f() { parking_lot::Mutex::new(crossbeam_channel::unbounded::<u8>()); } }
                    }
                }
            }
        },
    );
    // `maps_only`: no mirror rows, one version.
    let out = track(
        quote!(maps_only),
        quote! { struct S { m: parking_lot::Mutex<u8> } },
    );
    assert!(!out.to_string().contains("if_parking_lot"), "{out}");
}

#[test]
fn dashmap_types_constructors_and_paths_into_the_crate_become_the_mirrors() {
    check_with_mirrors(
        quote!(),
        quote! {
            mod m {
                use dashmap::{DashMap, mapref::one::Ref, try_result::TryResult};
                use dashmap::DashSet;
                struct S {
                    a: DashMap<u8, u8>,
                    b: dashmap::DashMap<u8, u8, RandomState>,
                    c: Arc<DashSet<u8>>,
                }
                fn f(m: &DashMap<u8, u8>) -> Option<dashmap::mapref::one::RefMut<'_, u8, u8>> {
                    let cache = DashMap::with_shard_amount(4);
                    let set = dashmap::DashSet::<u8>::new();
                    m.get_mut(&1)
                }
            }
        },
        quote! {
            mod m {
                #[allow(unused_imports)] use ::maprace::DashMap;
                #[allow(unused_imports)] use ::maprace::dashmap::mapref::one::Ref;
                #[allow(unused_imports)] use ::maprace::dashmap::try_result::TryResult;
                #[allow(unused_imports)] use ::maprace::DashSet;
                struct S {
                    a: ::maprace::DashMap<u8, u8>,
                    b: ::maprace::DashMap<u8, u8, RandomState>,
                    c: Arc<::maprace::DashSet<u8> >,
                }
                fn f(m: &::maprace::DashMap<u8, u8>) -> Option<::maprace::dashmap::mapref::one::RefMut<'_, u8, u8> > {
                    let cache = ::maprace::__private::named(::maprace::DashMap::with_shard_amount(4), "cache");
                    let set = ::maprace::__private::named(::maprace::DashSet::<u8>::new(), "set");
                    m.get_mut(&1)
                }
            }
        },
    );
    // Without maprace's `dashmap` feature they stay dashmap's.
    check(
        quote!(),
        quote! { struct S { a: DashMap<u8, u8>, b: dashmap::mapref::one::Ref<'static, u8, u8> } },
        quote! { struct S { a: DashMap<u8, u8>, b: dashmap::mapref::one::Ref<'static, u8, u8> } },
    );
}

#[test]
fn an_item_with_dashmap_paths_expands_to_a_version_with_and_without_the_mirror() {
    check_expansion_tokens(
        quote! { struct S { m: dashmap::DashMap<u8, u8> } },
        quote! {
            ::maprace::__private::if_dashmap! {
                { struct S { m: ::maprace::DashMap<u8, u8> } }
                { struct S { m: dashmap::DashMap<u8, u8> } }
            }
        },
    );
    // Maps: `maps_only` rewrites them too.
    let out = track(
        quote!(maps_only),
        quote! { struct S { m: DashMap<u8, u8> } },
    );
    assert!(out.to_string().contains("if_dashmap"), "{out}");
}
