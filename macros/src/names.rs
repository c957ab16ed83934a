//! Map names given on fields: `#[maprace(name = "...")]`.
//!
//! The field attribute is not a real attribute: the macro reads it, remembers the name for the
//! struct literals of the same invocation (`Self { sessions: HashMap::new() }`), and removes it
//! from the output, on success and on error alike (else rustc would add its own error about an
//! unknown attribute).

use std::collections::HashMap;

use syn::visit_mut::{self, VisitMut};
use syn::{Attribute, Fields, Ident, Item, ItemEnum, ItemStruct, ItemUnion, Member};

use crate::args::parse_name;

/// Names from field attributes, keyed by the struct or variant ident and the field.
#[derive(Default)]
pub(crate) struct FieldNames {
    names: HashMap<(String, Member), String>,
}

impl FieldNames {
    /// The name given to `field` of the struct or enum variant `owner`, if any.
    pub(crate) fn get(&self, owner: &str, field: &Member) -> Option<&str> {
        self.names
            .get(&(owner.to_owned(), field.clone()))
            .map(String::as_str)
    }
}

/// Reads and strips every `#[maprace(...)]` field attribute in `item`. The item is stripped even
/// when an attribute is malformed; the error is the first malformed one.
pub(crate) fn collect(item: &mut Item) -> syn::Result<FieldNames> {
    let mut collector = Collector::default();
    collector.visit_item_mut(item);
    match collector.error {
        Some(error) => Err(error),
        None => Ok(collector.names),
    }
}

#[derive(Default)]
struct Collector {
    names: FieldNames,
    error: Option<syn::Error>,
}

impl Collector {
    fn fields(&mut self, owner: &Ident, fields: &mut Fields) {
        for (index, field) in fields.iter_mut().enumerate() {
            let member = match &field.ident {
                Some(ident) => Member::Named(ident.clone()),
                None => Member::from(index),
            };
            let (ours, theirs) = std::mem::take(&mut field.attrs)
                .into_iter()
                .partition(|attr| attr.path().is_ident("maprace"));
            field.attrs = theirs;
            for attr in ours {
                match field_name(&attr) {
                    Ok(name) => {
                        self.names
                            .names
                            .insert((owner.to_string(), member.clone()), name);
                    }
                    Err(error) => {
                        self.error.get_or_insert(error);
                    }
                }
            }
        }
    }
}

/// Parses `#[maprace(name = "...")]`.
fn field_name(attr: &Attribute) -> syn::Result<String> {
    let mut name = None;
    attr.parse_nested_meta(|meta| {
        if !meta.path.is_ident("name") {
            return Err(meta.error(
                "unknown key in `#[maprace(...)]`; on a field it accepts `name = \"...\"`",
            ));
        }
        if name.is_some() {
            return Err(meta.error("duplicate key `name`"));
        }
        name = Some(parse_name(&meta)?);
        Ok(())
    })?;
    name.ok_or_else(|| syn::Error::new_spanned(attr, "expected `#[maprace(name = \"...\")]`"))
}

impl VisitMut for Collector {
    fn visit_item_struct_mut(&mut self, item: &mut ItemStruct) {
        self.fields(&item.ident, &mut item.fields);
        visit_mut::visit_item_struct_mut(self, item);
    }

    fn visit_item_enum_mut(&mut self, item: &mut ItemEnum) {
        for variant in &mut item.variants {
            self.fields(&variant.ident, &mut variant.fields);
        }
        visit_mut::visit_item_enum_mut(self, item);
    }

    fn visit_item_union_mut(&mut self, item: &mut ItemUnion) {
        let mut fields = Fields::Named(item.fields.clone());
        self.fields(&item.ident, &mut fields);
        if let Fields::Named(fields) = fields {
            item.fields = fields;
        }
        visit_mut::visit_item_union_mut(self, item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;
    use syn::parse_quote;

    #[test]
    fn a_field_name_is_read_and_the_attribute_stripped() {
        let mut item: Item = parse_quote! {
            struct Registry {
                #[maprace(name = "by_id")]
                #[serde(default)]
                sessions: HashMap<u64, String>,
                plain: u8,
            }
        };
        let names = collect(&mut item).unwrap();
        let sessions = Member::Named(parse_quote!(sessions));
        assert_eq!(names.get("Registry", &sessions), Some("by_id"));
        assert_eq!(
            names.get("Registry", &Member::Named(parse_quote!(plain))),
            None
        );
        let want: Item = parse_quote! {
            struct Registry {
                #[serde(default)]
                sessions: HashMap<u64, String>,
                plain: u8,
            }
        };
        assert_eq!(
            item.to_token_stream().to_string(),
            want.to_token_stream().to_string()
        );
    }

    #[test]
    fn tuple_fields_and_enum_variants_are_keyed_by_their_owner() {
        let mut item: Item = parse_quote! {
            mod m {
                struct Pair(#[maprace(name = "left")] HashMap<u8, u8>, u8);
                enum Cache { Warm { #[maprace(name = "hot")] map: HashMap<u8, u8> } }
            }
        };
        let names = collect(&mut item).unwrap();
        assert_eq!(names.get("Pair", &Member::from(0)), Some("left"));
        assert_eq!(
            names.get("Warm", &Member::Named(parse_quote!(map))),
            Some("hot")
        );
        assert!(!item.to_token_stream().to_string().contains("maprace"));
    }

    #[test]
    fn an_unknown_key_is_an_error_and_the_item_is_still_stripped() {
        let mut item: Item = parse_quote! {
            struct S { #[maprace(label = "x")] m: HashMap<u8, u8> }
        };
        let Err(error) = collect(&mut item) else {
            panic!("an unknown key is accepted")
        };
        let error = error.to_string();
        assert!(
            error.starts_with("unknown key in `#[maprace(...)]`"),
            "{error}"
        );
        assert!(!item.to_token_stream().to_string().contains("maprace"));
    }

    #[test]
    fn an_empty_or_bare_field_attribute_is_an_error() {
        for mut item in [
            parse_quote!(
                struct S {
                    #[maprace()]
                    m: u8,
                }
            ),
            parse_quote!(
                struct S {
                    #[maprace]
                    m: u8,
                }
            ),
            parse_quote!(
                struct S {
                    #[maprace(name = "a", name = "b")]
                    m: u8,
                }
            ),
        ] {
            assert!(collect(&mut item).is_err());
        }
    }
}
