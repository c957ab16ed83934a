//! The rewrite: one `syn::visit_mut` pass over the item.
//!
//! - Every path (types, expressions, patterns, trait bounds, turbofish, casts, at any depth) is
//!   matched against `table::ROWS` and rewritten to its `::maprace::` mirror.
//! - `use` declarations inside the item are split: the rewritten leaves become `use ::maprace::..`
//!   items, the rest stays as written (`use std::sync::{Arc, Mutex};` keeps `Arc` from std).
//! - A map constructor call (`HashMap::new()`, `<HashMap<K, V>>::default()`, ...) is wrapped in
//!   `::maprace::__private::named(.., "name")` when the nearest context gives a name.
//!
//! Macro calls (`vec![..]`, `println!(..)`, user macros) are opaque token streams, not syntax
//! trees: they are left as written. So are attributes and visibilities.

use std::collections::{BTreeMap, HashSet};
use std::mem;

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{
    Attribute, Block, Expr, ExprCall, ExprClosure, ExprConst, ExprMethodCall, ExprStruct,
    GenericArgument, Ident, ImplItemConst, ImplItemFn, Item, ItemConst, ItemFn, ItemImpl, ItemMod,
    ItemStatic, ItemUse, Local, Macro, Member, Pat, Path, PathSegment, Stmt, TraitItemConst,
    TraitItemFn, Type, UseTree, Visibility, parse_quote,
};

use crate::args::Args;
use crate::names::FieldNames;
use crate::table::{self, Families};

/// What a rewrite did.
pub(crate) struct Rewritten {
    /// The bare names it rewrote that the user imports from outside the item (for
    /// [`keep_imports_used`]).
    pub(crate) bare: BTreeMap<String, Span>,
    /// The families whose rows matched somewhere in the item.
    pub(crate) used: Families,
}

/// Rewrites `item` in place with the rows of `families`.
pub(crate) fn rewrite(
    item: &mut Item,
    args: &Args,
    fields: &FieldNames,
    families: Families,
) -> Rewritten {
    let mut shadows = Shadows {
        families,
        names: HashSet::new(),
    };
    shadows.visit_item_mut(item);
    let mut rewriter = Rewriter {
        args,
        families,
        used: Families::default(),
        fields,
        shadowed: shadows.names,
        name: None,
        in_const: false,
        self_ty: None,
        bare: BTreeMap::new(),
        imported_inside: HashSet::new(),
        inner_glob: false,
    };
    rewriter.visit_item_mut(item);
    let mut names = rewriter.bare;
    names.retain(|name, _| !rewriter.imported_inside.contains(name));
    if rewriter.inner_glob {
        // A bare name may come from the glob, which the code outside the item cannot see.
        names.clear();
    }
    Rewritten {
        bare: names,
        used: rewriter.used,
    }
}

/// After the rewrite, `HashMap` in `use std::collections::HashMap; #[maprace::track] struct S {
/// m: HashMap<u8, u8> }` no longer refers to the import, and rustc would call the import unused.
/// `use HashMap as _;` resolves the name where the user's code did, which keeps the import used.
/// It goes after items that only stand in a module or block, and first in the body of a `fn`
/// (which may be an associated fn); a `const` or `type` may be an associated item: none there.
/// Each `use` carries the span of the user's name, so a name not in scope is reported there.
pub(crate) fn keep_imports_used(item: &mut Item, names: &BTreeMap<String, Span>) -> TokenStream {
    let uses = names.iter().map(|(name, span)| {
        let ident = Ident::new(name, *span);
        quote!(#[allow(unused_imports)] use #ident as _;)
    });
    match item {
        Item::Fn(f) => {
            let stmts = uses.map(|tokens| syn::parse2(tokens).expect("a use statement parses"));
            f.block.stmts.splice(0..0, stmts.collect::<Vec<Stmt>>());
            TokenStream::new()
        }
        Item::Struct(_)
        | Item::Enum(_)
        | Item::Mod(_)
        | Item::Impl(_)
        | Item::Static(_)
        | Item::Trait(_) => uses.collect(),
        _ => TokenStream::new(),
    }
}

/// The pre-pass: bare names of rows that the item defines itself (`struct Mutex`) or imports from
/// elsewhere (`use parking_lot::Mutex;`). A bare path with such a name is not rewritten.
struct Shadows {
    families: Families,
    names: HashSet<String>,
}

impl Shadows {
    fn define(&mut self, ident: &Ident) {
        if table::is_row_ident(ident) {
            self.names.insert(ident.to_string());
        }
    }

    fn imports(&mut self, tree: &UseTree, prefix: &mut Vec<Ident>, leading_colon: bool) {
        let (path, local) = match tree {
            UseTree::Path(p) => {
                prefix.push(p.ident.clone());
                self.imports(&p.tree, prefix, leading_colon);
                prefix.pop();
                return;
            }
            UseTree::Group(g) => {
                for tree in &g.items {
                    self.imports(tree, prefix, leading_colon);
                }
                return;
            }
            UseTree::Glob(_) => return,
            UseTree::Name(n) => (use_path(prefix, &n.ident, leading_colon), &n.ident),
            UseTree::Rename(r) => (use_path(prefix, &r.ident, leading_colon), &r.rename),
        };
        // The import leaves the bare name ours when it imports what the bare name's row is
        // rewritten to anyway (`use std::sync::Mutex;`, and a module, `use
        // std::collections::hash_map;`, when an item inside it is). Anything else shadows it: an
        // import from elsewhere, or one rewritten to another mirror (`use parking_lot::Mutex;`
        // becomes `use ::maprace::parking_lot::Mutex;`, and the bare `Mutex` is that import).
        let inside = |mut path: Path| {
            path.segments
                .push(PathSegment::from(Ident::new("item", local.span())));
            path
        };
        let bare = Path::from(PathSegment::from(local.clone()));
        let imported = table::find(&inside(path), self.families, &|_| false);
        let as_bare = table::find(&inside(bare), self.families, &|_| false);
        let same =
            matches!((imported, as_bare), (Some(a), Some(b)) if a.row.target == b.row.target);
        if !same {
            self.define(local);
        }
    }
}

impl VisitMut for Shadows {
    fn visit_item_mut(&mut self, item: &mut Item) {
        match item {
            Item::Struct(i) => self.define(&i.ident),
            Item::Enum(i) => self.define(&i.ident),
            Item::Union(i) => self.define(&i.ident),
            Item::Type(i) => self.define(&i.ident),
            Item::Trait(i) => self.define(&i.ident),
            Item::Fn(i) => self.define(&i.sig.ident),
            Item::Static(i) => self.define(&i.ident),
            Item::Const(i) => self.define(&i.ident),
            Item::Use(u) => self.imports(&u.tree, &mut Vec::new(), u.leading_colon.is_some()),
            _ => {}
        }
        visit_mut::visit_item_mut(self, item);
    }
}

/// The path a `use` leaf imports: its prefix and its ident.
fn use_path(prefix: &[Ident], ident: &Ident, leading_colon: bool) -> Path {
    let mut path = Path::from(PathSegment::from(ident.clone()));
    path.segments = prefix
        .iter()
        .chain([ident])
        .cloned()
        .map(PathSegment::from)
        .collect();
    if leading_colon {
        path.leading_colon = Some(Default::default());
    }
    path
}

struct Rewriter<'a> {
    args: &'a Args,
    /// The rows applied.
    families: Families,
    /// The families whose rows matched.
    used: Families,
    fields: &'a FieldNames,
    shadowed: HashSet<String>,
    /// The name the nearest context gives to a map constructed here (binding, field, static).
    name: Option<String>,
    /// Inside a `const`/`static` initializer or a `const fn` (outside closures): `named` is not a
    /// `const fn`, so nothing is wrapped there.
    in_const: bool,
    /// The ident of the `impl` block's self type, for `Self { .. }` literals.
    self_ty: Option<String>,
    /// The first segments of rewritten paths that name something in the user's scope (`HashMap`,
    /// `thread` in `thread::spawn`; not `std`).
    bare: BTreeMap<String, Span>,
    /// The names a `use` inside the item imports.
    imported_inside: HashSet<String>,
    /// Whether the item has a glob import (`use std::sync::*;`).
    inner_glob: bool,
}

impl Rewriter<'_> {
    /// Runs `f` with the naming context set to `name` and `in_const`, then restores it.
    fn scoped(&mut self, name: Option<String>, in_const: bool, f: impl FnOnce(&mut Self)) {
        let saved_name = mem::replace(&mut self.name, name);
        let saved_const = mem::replace(&mut self.in_const, in_const);
        f(self);
        self.name = saved_name;
        self.in_const = saved_const;
    }

    /// The name for a map constructed here: the context's, else the argument's.
    fn current_name(&self) -> Option<String> {
        self.name.clone().or_else(|| self.args.name.clone())
    }

    /// The name a context with its own `inferred` name gives: the argument overrides it.
    fn context_name(&self, inferred: Option<&Ident>) -> Option<String> {
        self.args
            .name
            .clone()
            .or_else(|| inferred.map(|ident| ident.to_string()))
    }

    /// The struct or variant a struct-literal or tuple-constructor path names.
    fn owner(&self, path: &Path) -> Option<String> {
        let last = path.segments.last()?.ident.to_string();
        if last == "Self" && path.segments.len() == 1 {
            self.self_ty.clone()
        } else {
            Some(last)
        }
    }

    /// Splits the `use` items of a list (see the module docs).
    fn split_uses(&mut self, items: Vec<Item>) -> Vec<Item> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Item::Use(u) => out.extend(self.split_use(u).into_iter().map(Item::Use)),
                other => out.push(other),
            }
        }
        out
    }

    fn split_use(&mut self, mut item: ItemUse) -> Vec<ItemUse> {
        let mut rewritten = Vec::new();
        let leading_colon = item.leading_colon.is_some();
        let kept = self.filter_use(
            item.tree.clone(),
            &mut Vec::new(),
            leading_colon,
            &mut rewritten,
        );
        let mut out = Vec::new();
        for (path, rename) in rewritten {
            let (attrs, vis) = (&item.attrs, &item.vis);
            let rename = rename.map(|ident| quote_spanned!(ident.span()=> as #ident));
            // The item's own paths are rewritten to absolute ones: the import may go unused.
            out.push(parse_quote!(#(#attrs)* #[allow(unused_imports)] #vis use #path #rename;));
        }
        if let Some(tree) = kept {
            item.tree = tree;
            out.insert(0, item);
        }
        out
    }

    /// `tree` without its rewritten leaves (None when nothing is left); the rewritten leaves, as
    /// full paths with their renames, go to `out`.
    fn filter_use(
        &mut self,
        tree: UseTree,
        prefix: &mut Vec<Ident>,
        leading_colon: bool,
        out: &mut Vec<(Path, Option<Ident>)>,
    ) -> Option<UseTree> {
        let (ident, rename) = match &tree {
            UseTree::Path(p) => {
                let mut p = p.clone();
                prefix.push(p.ident.clone());
                let sub = self.filter_use((*p.tree).clone(), prefix, leading_colon, out);
                prefix.pop();
                return sub.map(|sub| {
                    *p.tree = sub;
                    UseTree::Path(p)
                });
            }
            UseTree::Group(g) => {
                let mut g = g.clone();
                let was_empty = g.items.is_empty();
                g.items = mem::take(&mut g.items)
                    .into_iter()
                    .filter_map(|tree| self.filter_use(tree, prefix, leading_colon, out))
                    .collect();
                return (was_empty || !g.items.is_empty()).then_some(UseTree::Group(g));
            }
            UseTree::Glob(_) => {
                self.inner_glob = true;
                return Some(tree);
            }
            UseTree::Name(n) => (&n.ident, None),
            UseTree::Rename(r) => (&r.ident, Some(r.rename.clone())),
        };
        self.imported_inside
            .insert(rename.as_ref().unwrap_or(ident).to_string());
        let mut path = use_path(prefix, ident, leading_colon);
        // `self` imports a module, and modules are kept (`hash_map::{self, Entry}`).
        if ident != "self" && self.rewrite_path(&mut path) {
            out.push((path, rename));
            None
        } else {
            Some(tree)
        }
    }

    fn rewrite_path(&mut self, path: &mut Path) -> bool {
        let shadowed = |name: &str| self.shadowed.contains(name);
        let Some(found) = table::find(path, self.families, &shadowed) else {
            return false;
        };
        self.used.add(found.row.family);
        // `HashMap::new`, `thread::spawn`: the first segment comes from the user's scope (not
        // `std::`, `parking_lot::`: a crate's name).
        let first = &path.segments[0].ident;
        if path.leading_colon.is_none() && !table::is_crate(first) {
            self.bare.entry(first.to_string()).or_insert(first.span());
        }
        table::apply(path, found);
        true
    }

    /// Wraps `expr` in `named(.., name)` if it constructs a map and a name is known here.
    fn name_constructed_map(&self, expr: &mut Expr) {
        if self.in_const || !is_map_constructor(expr) {
            return;
        }
        if let Some(name) = self.current_name() {
            wrap_named(expr, &name);
        }
    }

    fn visit_struct_literal(&mut self, literal: &mut ExprStruct) {
        if let Some(qself) = &mut literal.qself {
            self.visit_type_mut(&mut qself.ty);
        }
        self.visit_path_mut(&mut literal.path);
        let owner = self.owner(&literal.path);
        for field in &mut literal.fields {
            let inferred = match &field.member {
                Member::Named(ident) => Some(ident),
                Member::Unnamed(_) => None,
            };
            let given = owner
                .as_deref()
                .and_then(|o| self.fields.get(o, &field.member));
            let name = given
                .map(str::to_owned)
                .or_else(|| self.context_name(inferred));
            let in_const = self.in_const;
            self.scoped(name, in_const, |me| me.visit_expr_mut(&mut field.expr));
        }
        if let Some(rest) = &mut literal.rest {
            let in_const = self.in_const;
            self.scoped(None, in_const, |me| me.visit_expr_mut(rest));
        }
    }

    fn visit_call(&mut self, call: &mut ExprCall) {
        self.visit_expr_mut(&mut call.func);
        // A tuple struct or variant of this invocation: `Self(HashMap::new())`.
        let owner = match &*call.func {
            Expr::Path(p) if p.qself.is_none() => self.owner(&p.path),
            _ => None,
        };
        for (index, arg) in call.args.iter_mut().enumerate() {
            let given = owner
                .as_deref()
                .and_then(|o| self.fields.get(o, &Member::from(index)));
            let name = given.map(str::to_owned).or_else(|| self.name.clone());
            let in_const = self.in_const;
            self.scoped(name, in_const, |me| me.visit_expr_mut(arg));
        }
    }
}

impl VisitMut for Rewriter<'_> {
    fn visit_path_mut(&mut self, path: &mut Path) {
        self.rewrite_path(path);
        visit_mut::visit_path_mut(self, path);
    }

    // Opaque or not ours: macro bodies are token streams; attributes and visibilities hold paths
    // that name neither types nor values.
    fn visit_macro_mut(&mut self, _: &mut Macro) {}
    fn visit_attribute_mut(&mut self, _: &mut Attribute) {}
    fn visit_visibility_mut(&mut self, _: &mut Visibility) {}

    fn visit_item_mod_mut(&mut self, item: &mut ItemMod) {
        if let Some((_, items)) = &mut item.content {
            *items = self.split_uses(mem::take(items));
        }
        self.scoped(None, false, |me| visit_mut::visit_item_mod_mut(me, item));
    }

    fn visit_block_mut(&mut self, block: &mut Block) {
        let mut stmts = Vec::with_capacity(block.stmts.len());
        for stmt in mem::take(&mut block.stmts) {
            match stmt {
                Stmt::Item(Item::Use(u)) => {
                    let split = self.split_use(u).into_iter();
                    stmts.extend(split.map(|u| Stmt::Item(Item::Use(u))));
                }
                other => stmts.push(other),
            }
        }
        block.stmts = stmts;
        visit_mut::visit_block_mut(self, block);
    }

    fn visit_item_impl_mut(&mut self, item: &mut ItemImpl) {
        let self_ty = match &*item.self_ty {
            Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        };
        let saved = mem::replace(&mut self.self_ty, self_ty);
        self.scoped(None, false, |me| visit_mut::visit_item_impl_mut(me, item));
        self.self_ty = saved;
    }

    fn visit_item_fn_mut(&mut self, item: &mut ItemFn) {
        let in_const = item.sig.constness.is_some();
        self.scoped(None, in_const, |me| visit_mut::visit_item_fn_mut(me, item));
    }

    fn visit_impl_item_fn_mut(&mut self, item: &mut ImplItemFn) {
        let in_const = item.sig.constness.is_some();
        self.scoped(None, in_const, |me| {
            visit_mut::visit_impl_item_fn_mut(me, item)
        });
    }

    fn visit_trait_item_fn_mut(&mut self, item: &mut TraitItemFn) {
        let in_const = item.sig.constness.is_some();
        self.scoped(None, in_const, |me| {
            visit_mut::visit_trait_item_fn_mut(me, item)
        });
    }

    fn visit_item_static_mut(&mut self, item: &mut ItemStatic) {
        let name = self.context_name(Some(&item.ident));
        self.scoped(name, true, |me| visit_mut::visit_item_static_mut(me, item));
    }

    fn visit_item_const_mut(&mut self, item: &mut ItemConst) {
        let name = self.context_name(Some(&item.ident));
        self.scoped(name, true, |me| visit_mut::visit_item_const_mut(me, item));
    }

    fn visit_impl_item_const_mut(&mut self, item: &mut ImplItemConst) {
        let name = self.context_name(Some(&item.ident));
        self.scoped(name, true, |me| {
            visit_mut::visit_impl_item_const_mut(me, item)
        });
    }

    fn visit_trait_item_const_mut(&mut self, item: &mut TraitItemConst) {
        let name = self.context_name(Some(&item.ident));
        self.scoped(name, true, |me| {
            visit_mut::visit_trait_item_const_mut(me, item)
        });
    }

    fn visit_expr_closure_mut(&mut self, closure: &mut ExprClosure) {
        // A closure runs at run time even inside a `static` initializer (`LazyLock::new(|| ..)`).
        let name = self.name.clone();
        self.scoped(name, false, |me| {
            visit_mut::visit_expr_closure_mut(me, closure)
        });
    }

    fn visit_expr_const_mut(&mut self, block: &mut ExprConst) {
        self.scoped(None, true, |me| visit_mut::visit_expr_const_mut(me, block));
    }

    fn visit_local_mut(&mut self, local: &mut Local) {
        self.visit_pat_mut(&mut local.pat);
        let (binding, annotated_map) = match &local.pat {
            Pat::Ident(p) => (Some(&p.ident), false),
            Pat::Type(t) => match &*t.pat {
                Pat::Ident(p) => (Some(&p.ident), is_map_type(&t.ty)),
                _ => (None, false),
            },
            _ => (None, false),
        };
        let name = self.context_name(binding);
        let in_const = self.in_const;
        let Some(init) = &mut local.init else { return };
        if annotated_map {
            // `let m: HashMap<..> = <any expr>;`: the whole initializer is the map.
            self.scoped(None, in_const, |me| me.visit_expr_mut(&mut init.expr));
            if let Some(name) = name.filter(|_| !in_const && !is_named_call(&init.expr)) {
                wrap_named(&mut init.expr, &name);
            }
        } else {
            self.scoped(name, in_const, |me| me.visit_expr_mut(&mut init.expr));
        }
        if let Some((_, diverge)) = &mut init.diverge {
            self.scoped(None, in_const, |me| me.visit_expr_mut(diverge));
        }
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Struct(literal) => self.visit_struct_literal(literal),
            Expr::Call(call) => self.visit_call(call),
            _ => visit_mut::visit_expr_mut(self, expr),
        }
        self.name_constructed_map(expr);
    }
}

/// Whether `ty` is a rewritten map type (`::maprace::HashMap<K, V>`).
fn is_map_type(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p.qself.is_none() && table::is_map_path(&p.path),
        Type::Paren(p) => is_map_type(&p.elem),
        Type::Group(g) => is_map_type(&g.elem),
        _ => false,
    }
}

/// Whether `expr` constructs a map: a constructor called on a rewritten map path
/// (`::maprace::HashMap::new()`, `<::maprace::HashMap<K, V>>::default()`), or
/// `.collect::<::maprace::HashMap<..>>()`.
fn is_map_constructor(expr: &Expr) -> bool {
    match expr {
        Expr::Call(ExprCall { func, .. }) => match &**func {
            Expr::Path(p) => match &p.qself {
                None => table::is_map_constructor_path(&p.path),
                Some(qself) => {
                    is_map_type(&qself.ty)
                        && p.path.segments.len() == qself.position + 1
                        && p.path
                            .segments
                            .last()
                            .is_some_and(|s| table::is_constructor(&s.ident))
                }
            },
            _ => false,
        },
        Expr::MethodCall(ExprMethodCall {
            method, turbofish, ..
        }) => {
            method == "collect" && turbofish.as_ref().is_some_and(|t| {
                t.args.len() == 1
                    && matches!(t.args.first(), Some(GenericArgument::Type(ty)) if is_map_type(ty))
            })
        }
        _ => false,
    }
}

/// Whether `expr` is already `::maprace::__private::named(..)`.
fn is_named_call(expr: &Expr) -> bool {
    let Expr::Call(call) = expr else { return false };
    let Expr::Path(p) = &*call.func else {
        return false;
    };
    let idents: Vec<String> = p
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    idents == ["maprace", "__private", "named"]
}

/// `expr` becomes `::maprace::__private::named(expr, "name")`, spanned at `expr`.
fn wrap_named(expr: &mut Expr, name: &str) {
    let span = expr.span();
    let inner = mem::replace(expr, Expr::Verbatim(TokenStream::new()));
    *expr = syn::parse2(quote_spanned!(span=> ::maprace::__private::named(#inner, #name)))
        .expect("a call expression parses");
}

#[cfg(test)]
mod tests;
