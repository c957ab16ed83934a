//! How a key is shown in a report. The maps only require `Hash + Eq` of their keys, so the value
//! is printed when the key's type is one maprace knows how to print, and otherwise the key's
//! hash (by the map's own hasher) with its type name.

use std::any::type_name;
use std::mem::size_of;

/// The key's value for integers, strings, `char` and `bool`; `None` for other types.
pub(crate) fn value<Q: ?Sized>(key: &Q) -> Option<String> {
    macro_rules! known {
        ($($ty:ty),*) => {$(
            // `type_name` is the only identity a non-`'static` type has; the size check keeps the
            // cast sound for the unsized case too.
            if type_name::<Q>() == type_name::<$ty>() && size_of::<&Q>() == size_of::<&$ty>() {
                // SAFETY: `Q` is `$ty` (same type name, and the primitives' names are unique:
                // a user type is always printed with its path).
                let key = unsafe { *(&key as *const &Q as *const &$ty) };
                return Some(format!("{key:?}"));
            }
        )*};
    }
    known!(
        u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, char, bool, str, &str,
        String
    );
    None
}

/// `value`, or `<hash 0x...> (Type)` when the type is not printable.
pub(crate) fn describe<Q: ?Sized>(key: &Q, hash: impl FnOnce() -> Option<u64>) -> String {
    value(key).unwrap_or_else(|| match hash() {
        Some(hash) => format!(
            "<hash {hash:#018x}> ({})",
            short_type_name(type_name::<Q>())
        ),
        None => format!("<{}>", short_type_name(type_name::<Q>())),
    })
}

/// `std::collections::HashMap<alloc::string::String, u64>` → `HashMap<String, u64>`.
pub(crate) fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            segment.push(c);
        } else {
            out.push_str(segment.rsplit("::").next().unwrap_or(""));
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(segment.rsplit("::").next().unwrap_or(""));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_keys_print_their_value() {
        assert_eq!(value(&7u64).as_deref(), Some("7"));
        assert_eq!(value(&-3i32).as_deref(), Some("-3"));
        assert_eq!(value(&'x').as_deref(), Some("'x'"));
        assert_eq!(value(&String::from("ab")).as_deref(), Some("\"ab\""));
        assert_eq!(value("ab").as_deref(), Some("\"ab\""));
        assert_eq!(value(&"ab").as_deref(), Some("\"ab\""));
        assert_eq!(value(&(1u8, 2u8)), None);
    }

    #[test]
    fn other_keys_print_their_hash_and_type() {
        #[derive(Hash)]
        struct Point;
        assert_eq!(
            describe(&Point, || Some(0xab)),
            "<hash 0x00000000000000ab> (Point)"
        );
    }

    #[test]
    fn type_names_lose_their_paths() {
        assert_eq!(
            short_type_name("std::collections::hash::map::HashMap<alloc::string::String, u64>"),
            "HashMap<String, u64>"
        );
        assert_eq!(
            short_type_name("&[core::option::Option<u8>]"),
            "&[Option<u8>]"
        );
    }
}
