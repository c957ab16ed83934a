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
    tuple::value(key)
}

/// Tuples of 2 or 3 printable values. A generic function cannot name them one by one, so the
/// tuple's type name is split into its elements' names and each element read at its offset, from
/// tables the compiler computed for every combination (`offset_of!`). Pairs take any of the 16
/// printable types; triples the 8 most common key types (the first 8 below): rustc's time for
/// the table grows faster than the number of types, and 16³ triples cost a minute and a half.
mod tuple {
    use std::any::type_name;
    use std::fmt::Debug;
    use std::mem::{offset_of, size_of, size_of_val};

    macro_rules! elements {
        ($m:ident!()) => {
            $m!([
                u8, u32, u64, usize, i32, i64, &'static str, String, u16, u128, i8, i16, i128,
                isize, char, bool
            ])
        };
    }

    macro_rules! triple_elements {
        ($m:ident!()) => {
            $m!([u8, u32, u64, usize, i32, i64, &'static str, String])
        };
    }
    const TRIPLE_ELEMENTS: usize = 8;

    macro_rules! printers {
        ([$($ty:ty),*]) => {
            [$((type_name::<$ty>, show::<$ty>),)*]
        };
    }

    /// Per element: its type's name, and how to print a value of it given its address.
    type Printer = (fn() -> &'static str, unsafe fn(*const u8) -> String);
    const PRINTERS: [Printer; 16] = elements!(printers!());

    /// # Safety
    /// `at` is the address of a live, aligned `T`.
    unsafe fn show<T: Debug>(at: *const u8) -> String {
        // SAFETY: per the contract.
        format!("{:?}", unsafe { &*at.cast::<T>() })
    }

    macro_rules! pairs {
        ([$($a:ty),*]) => { pairs!(@rows [$($a),*] [$($a),*]) };
        (@rows [$($a:ty),*] $all:tt) => { [$(pairs!(@row $a; $all),)*] };
        (@row $a:ty; [$($b:ty),*]) => {
            [$([
                offset_of!(($a, $b), 0) as u8,
                offset_of!(($a, $b), 1) as u8,
                size_of::<($a, $b)>() as u8,
            ],)*]
        };
    }

    macro_rules! triples {
        ([$($a:ty),*]) => { triples!(@a [$($a),*] [$($a),*]) };
        (@a [$($a:ty),*] $all:tt) => { [$(triples!(@b $a; $all; $all),)*] };
        (@b $a:ty; [$($b:ty),*]; $all:tt) => { [$(triples!(@c $a, $b; $all),)*] };
        (@c $a:ty, $b:ty; [$($c:ty),*]) => {
            [$([
                offset_of!(($a, $b, $c), 0) as u8,
                offset_of!(($a, $b, $c), 1) as u8,
                offset_of!(($a, $b, $c), 2) as u8,
                size_of::<($a, $b, $c)>() as u8,
            ],)*]
        };
    }

    /// `[a][b]`: offsets of the two fields of `(a, b)`, then its size.
    static PAIRS: [[[u8; 3]; 16]; 16] = elements!(pairs!());
    /// `[a][b][c]`: offsets of the three fields of `(a, b, c)`, then its size.
    static TRIPLES: [[[[u8; 4]; TRIPLE_ELEMENTS]; TRIPLE_ELEMENTS]; TRIPLE_ELEMENTS] =
        triple_elements!(triples!());

    pub(super) fn value<Q: ?Sized>(key: &Q) -> Option<String> {
        let name = type_name::<Q>();
        let inner = name.strip_prefix('(')?.strip_suffix(')')?;
        let mut elements = [0usize; 3];
        let mut count = 0;
        for part in inner.split(", ") {
            let index = PRINTERS.iter().position(|(name, _)| name() == part)?;
            *elements.get_mut(count)? = index;
            count += 1;
        }
        let [a, b, c] = elements;
        let layout: &[u8] = match count {
            2 => &PAIRS[a][b],
            3 => TRIPLES.get(a)?.get(b)?.get(c)?,
            _ => return None,
        };
        let (offsets, size) = layout.split_at(count);
        if size_of_val(key) != usize::from(size[0]) {
            return None;
        }
        let base = (key as *const Q).cast::<u8>();
        let shown: Vec<String> = elements[..count]
            .iter()
            .zip(offsets)
            .map(|(&element, &offset)| {
                // SAFETY: `Q` is the tuple whose elements' type names these are (a tuple's type
                // name is its elements', and the names matched are primitives' or std's, which
                // no other type has), so each element of type `element` lives at `offset`.
                unsafe { (PRINTERS[element].1)(base.add(usize::from(offset))) }
            })
            .collect();
        Some(format!("({})", shown.join(", ")))
    }
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
    }

    #[test]
    fn tuples_of_printable_values_print_their_value() {
        assert_eq!(value(&(1u8, 2u8)).as_deref(), Some("(1, 2)"));
        assert_eq!(
            value(&(String::from("ab"), -7i64)).as_deref(),
            Some("(\"ab\", -7)")
        );
        assert_eq!(
            value(&('x', u128::MAX)).as_deref(),
            Some("('x', 340282366920938463463374607431768211455)")
        );
        assert_eq!(value(&(true, 1u16)).as_deref(), Some("(true, 1)"));
        assert_eq!(
            value(&(u64::MAX, -1i32, 7u8)).as_deref(),
            Some("(18446744073709551615, -1, 7)")
        );
        assert_eq!(
            value(&("k", 3usize, String::from("v"))).as_deref(),
            Some("(\"k\", 3, \"v\")")
        );
        // Not (yet) printable: nested tuples, 4 elements, other element types.
        assert_eq!(value(&((1u8, 2u8), 3u8)), None);
        assert_eq!(value(&(1u8, 2u8, 3u8, 4u8)), None);
        assert_eq!(
            value(&('x', 1u8, 2u8)),
            None,
            "char is not a triple's element"
        );
        assert_eq!(value(&(1u8, 2.5f64)), None);
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
