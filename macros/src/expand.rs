//! The phases in order: parse the arguments, check the item kind, read the field names, rewrite.
//!
//! On bad input the output is ONE spanned `compile_error!` followed by the original item (with
//! the `#[maprace(...)]` field attributes removed, as they are not real attributes), so the user
//! sees one error and not a cascade from a missing item.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{Item, ItemMod};

use crate::table::Families;
use crate::{args, names, rewrite};

/// Expands `#[maprace::track(args)] item`.
pub(crate) fn track(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut parsed: Item = match syn::parse2(item.clone()) {
        Ok(parsed) => parsed,
        Err(error) => return with_error(error, item),
    };
    let args = match args::parse(args) {
        Ok(args) => args,
        Err(error) => return with_error(error, strip(parsed)),
    };
    if let Err(error) = check_kind(&parsed) {
        return with_error(error, strip(parsed));
    }
    let fields = match names::collect(&mut parsed) {
        Ok(fields) => fields,
        Err(error) => return with_error(error, parsed.into_token_stream()),
    };
    let families = if args.maps_only {
        Families::MAPS
    } else {
        Families::ALL
    };
    let mut probe = parsed.clone();
    let rewritten = rewrite::rewrite(&mut probe, &args, &fields, families);
    let switches: Vec<Switch> = SWITCHES
        .iter()
        .copied()
        .filter(|switch| (switch.used)(rewritten.used))
        .collect();
    if switches.is_empty() {
        let keep_imports_used = rewrite::keep_imports_used(&mut probe, &rewritten.bare);
        return quote!(#probe #keep_imports_used);
    }
    select(&parsed, &args, &fields, families, &switches)
}

/// A family of rows that only maprace's features can decide: whether maprace was built with
/// `parking_lot` (or `crossbeam-channel`) is a cfg of maprace's, which a proc-macro crate cannot
/// see. So the expansion has both versions of the item, rewritten with and without those rows,
/// and a `macro_rules!` of maprace's, defined for maprace's features, keeps one of them. (A
/// feature forwarded to this crate would do the same where both crates are built together with
/// one feature set; maprace's own macro is right by construction.)
#[derive(Clone, Copy)]
struct Switch {
    /// The macro in `maprace::__private`: `{ with } { without }` → one of them.
    selector: &'static str,
    /// Whether the rewrite used the family.
    used: fn(Families) -> bool,
    /// The families without this one.
    without: fn(Families) -> Families,
}

const SWITCHES: &[Switch] = &[
    Switch {
        selector: "if_dashmap",
        used: |f| f.dashmap,
        without: |f| Families {
            dashmap: false,
            ..f
        },
    },
    Switch {
        selector: "if_parking_lot",
        used: |f| f.parking_lot,
        without: |f| Families {
            parking_lot: false,
            ..f
        },
    },
    Switch {
        selector: "if_crossbeam_channel",
        used: |f| f.crossbeam,
        without: |f| Families {
            crossbeam: false,
            ..f
        },
    },
];

/// The item rewritten with `families`, each of `switches` deciding between its version with and
/// without its family.
fn select(
    item: &Item,
    args: &args::Args,
    fields: &names::FieldNames,
    families: Families,
    switches: &[Switch],
) -> TokenStream {
    let Some((switch, rest)) = switches.split_first() else {
        let mut item = item.clone();
        let rewritten = rewrite::rewrite(&mut item, args, fields, families);
        let keep_imports_used = rewrite::keep_imports_used(&mut item, &rewritten.bare);
        return quote!(#item #keep_imports_used);
    };
    let with = select(item, args, fields, families, rest);
    let without = select(item, args, fields, (switch.without)(families), rest);
    let selector = Ident::new(switch.selector, Span::call_site());
    quote!(::maprace::__private::#selector! { { #with } { #without } })
}

fn with_error(error: syn::Error, item: TokenStream) -> TokenStream {
    let error = error.to_compile_error();
    quote!(#error #item)
}

/// The item without its `#[maprace(...)]` field attributes, otherwise untouched.
fn strip(mut item: Item) -> TokenStream {
    let _ = names::collect(&mut item);
    item.into_token_stream()
}

const ACCEPTED: &str = "it accepts a struct, enum, fn, inline mod, impl block, static, const, \
                        type alias or trait";

/// Accepts the item kinds the attribute documents; anything else is an error spanned at its
/// keyword.
fn check_kind(item: &Item) -> syn::Result<()> {
    let (what, span): (&str, TokenStream) = match item {
        Item::Struct(_)
        | Item::Enum(_)
        | Item::Fn(_)
        | Item::Impl(_)
        | Item::Static(_)
        | Item::Const(_)
        | Item::Type(_)
        | Item::Trait(_)
        | Item::Mod(ItemMod {
            content: Some(_), ..
        }) => return Ok(()),
        Item::Mod(m) => {
            let (token, ident) = (&m.mod_token, &m.ident);
            ("a non-inline `mod` (`mod name;`)", quote!(#token #ident))
        }
        Item::Union(u) => ("a `union`", u.union_token.to_token_stream()),
        Item::Macro(m) => ("a macro item", m.mac.path.to_token_stream()),
        Item::Use(u) => ("a `use` declaration", u.use_token.to_token_stream()),
        Item::ForeignMod(f) => ("an `extern` block", f.abi.to_token_stream()),
        Item::ExternCrate(e) => {
            let (token, krate) = (&e.extern_token, &e.crate_token);
            ("an `extern crate`", quote!(#token #krate))
        }
        Item::TraitAlias(t) => ("a trait alias", t.trait_token.to_token_stream()),
        other => ("this item", other.to_token_stream()),
    };
    Err(syn::Error::new_spanned(
        span,
        format!("`#[maprace::track]` cannot be applied to {what}; {ACCEPTED}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(item: TokenStream) -> String {
        track(TokenStream::new(), item).to_string()
    }

    #[test]
    fn an_item_kind_not_accepted_gives_one_error_and_the_item_unchanged() {
        let cases = [
            (quote! { mod outside; }, "a non-inline `mod`"),
            (quote! { union U { a: u8 } }, "a `union`"),
            (quote! { macro_rules! m { () => {} } }, "a macro item"),
            (
                quote! { use std::collections::HashMap; },
                "a `use` declaration",
            ),
            (quote! { extern "C" { fn f(); } }, "an `extern` block"),
            (quote! { extern crate alloc; }, "an `extern crate`"),
        ];
        for (item, what) in cases {
            let out = expand(item.clone());
            assert_eq!(out.matches("compile_error").count(), 1, "{out}");
            assert!(out.contains(what), "{out}");
            assert!(out.contains("it accepts a struct, enum, fn"), "{out}");
            assert!(out.ends_with(&item.to_string()), "{out}");
        }
    }

    #[test]
    fn a_bad_argument_gives_one_error_and_the_item_unchanged() {
        let item = quote!(
            struct S {
                m: HashMap<u8, u8>,
            }
        );
        let out = track(quote!(maps_only, maps_only), item.clone()).to_string();
        assert_eq!(out.matches("compile_error").count(), 1, "{out}");
        assert!(out.contains("duplicate argument `maps_only`"), "{out}");
        assert!(out.ends_with(&item.to_string()), "{out}");
    }

    #[test]
    fn a_bad_field_attribute_gives_one_error_and_the_stripped_item() {
        let out = expand(quote!(
            struct S {
                #[maprace(nam = "x")]
                m: HashMap<u8, u8>,
            }
        ));
        assert_eq!(out.matches("compile_error").count(), 1, "{out}");
        assert!(
            out.ends_with(
                &quote!(
                    struct S {
                        m: HashMap<u8, u8>,
                    }
                )
                .to_string()
            ),
            "{out}"
        );
    }

    #[test]
    fn on_an_argument_error_the_field_attributes_are_stripped_too() {
        let out = track(
            quote!(bogus),
            quote!(
                struct S {
                    #[maprace(name = "x")]
                    m: u8,
                }
            ),
        );
        assert!(!out.to_string().contains("maprace (name"), "{out}");
    }
}
