//! Parsing the arguments of `#[maprace::track(...)]`.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::{LitStr, Token};

/// What the attribute was asked to do.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Args {
    /// `maps_only`: rewrite the map types only, not the sync and thread paths.
    pub(crate) maps_only: bool,
    /// `name = "..."`: the name of every map constructed in the item; overrides the inferred
    /// names (binding, field, static), not a field's own `#[maprace(name = "...")]`.
    pub(crate) name: Option<String>,
}

const ACCEPTED: &str = "`#[maprace::track]` accepts `maps_only` and `name = \"...\"`";

/// Parses the tokens inside the parentheses (empty for a bare `#[maprace::track]`). The first
/// mistake is the error, spanned at the argument that makes it.
pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Args> {
    let mut args = Args::default();
    let parser = syn::meta::parser(|meta| args.accept(meta));
    parser.parse2(tokens)?;
    Ok(args)
}

impl Args {
    fn accept(&mut self, meta: ParseNestedMeta<'_>) -> syn::Result<()> {
        if meta.path.is_ident("maps_only") {
            if self.maps_only {
                return Err(meta.error("duplicate argument `maps_only`"));
            }
            if !(meta.input.is_empty() || meta.input.peek(Token![,])) {
                return Err(meta.error("`maps_only` takes no value: write `maps_only`"));
            }
            self.maps_only = true;
            Ok(())
        } else if meta.path.is_ident("name") {
            if self.name.is_some() {
                return Err(meta.error("duplicate argument `name`"));
            }
            self.name = Some(parse_name(&meta)?);
            Ok(())
        } else {
            let path = meta.path.segments.iter().map(|s| s.ident.to_string());
            let path = path.collect::<Vec<_>>().join("::");
            Err(meta.error(format!("unknown argument `{path}`; {ACCEPTED}")))
        }
    }
}

/// Parses the `= "..."` after `name`: a non-empty string literal.
pub(crate) fn parse_name(meta: &ParseNestedMeta<'_>) -> syn::Result<String> {
    let lit: LitStr = meta.value()?.parse()?;
    let name = lit.value();
    if name.is_empty() {
        return Err(syn::Error::new(lit.span(), "`name` must not be empty"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn error(tokens: TokenStream) -> String {
        parse(tokens).unwrap_err().to_string()
    }

    #[test]
    fn no_arguments_rewrite_everything_without_a_name() {
        assert_eq!(parse(quote!()).unwrap(), Args::default());
    }

    #[test]
    fn maps_only_and_name_combine_in_any_order() {
        let want = Args {
            maps_only: true,
            name: Some("x".into()),
        };
        assert_eq!(parse(quote!(maps_only, name = "x")).unwrap(), want);
        assert_eq!(parse(quote!(name = "x", maps_only)).unwrap(), want);
        assert_eq!(
            parse(quote!(name = "x",)).unwrap().name.as_deref(),
            Some("x")
        );
    }

    #[test]
    fn an_unknown_argument_is_named_with_what_is_accepted() {
        assert_eq!(
            error(quote!(mapsonly)),
            format!("unknown argument `mapsonly`; {ACCEPTED}")
        );
        assert!(error(quote!(maps_only, sync = "assume")).starts_with("unknown argument `sync`"));
    }

    #[test]
    fn a_duplicate_argument_is_an_error() {
        assert_eq!(
            error(quote!(maps_only, maps_only)),
            "duplicate argument `maps_only`"
        );
        assert_eq!(
            error(quote!(name = "a", name = "b")),
            "duplicate argument `name`"
        );
    }

    #[test]
    fn a_bad_value_is_an_error() {
        assert!(error(quote!(maps_only = true)).contains("takes no value"));
        assert_eq!(error(quote!(name = "")), "`name` must not be empty");
        assert!(error(quote!(name = sessions)).contains("expected string literal"));
        assert!(error(quote!(name)).contains("expected `=`"));
    }
}
