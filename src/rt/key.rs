//! How a key is shown in a report. The maps only require `Hash + Eq` of their keys, so the value
//! is printed when the key's type is one maprace knows how to print, and otherwise the key's
//! hash (by the map's own hasher) with its type name.
//!
//! A type is known by its `TypeId`, never by its name: `type_name` is not a unique identifier
//! (a test crate named `alloc` can define an `alloc::string::String` of its own). The keys are
//! not `'static`, so the `TypeId` is that of the key's type with its lifetimes erased
//! (`erased_type_id`).

use std::any::{TypeId, type_name};
use std::marker::PhantomData;

/// The `TypeId` of `T` with its lifetimes erased: the same for `&'a str` as for `&'static str`.
///
/// `TypeId::of` requires `T: 'static`, which std's map bounds do not give. The call below is
/// made through a trait object whose lifetime bound is transmuted to `'static`: the method reads
/// no data (the object is a zero-sized `PhantomData`), and a `TypeId` does not depend on
/// lifetimes (the compiler computes it after erasing them), so the value is `T`'s, modulo
/// lifetimes. What two equal results tell, then, is that two types are the same up to their
/// lifetimes, which is all `value` and `tuple::value` rely on.
fn erased_type_id<T: ?Sized>() -> TypeId {
    trait ErasedTypeId {
        fn type_id(&self) -> TypeId
        where
            Self: 'static;
    }
    impl<T: ?Sized> ErasedTypeId for PhantomData<T> {
        fn type_id(&self) -> TypeId
        where
            Self: 'static,
        {
            TypeId::of::<T>()
        }
    }
    let object: &dyn ErasedTypeId = &PhantomData::<T>;
    // SAFETY: only the trait object's lifetime bound changes (the two pointer types have the
    // same layout), and the one method called through it reads no data and returns a value
    // that no lifetime enters: nothing outlives what it borrows.
    let object: &(dyn ErasedTypeId + 'static) =
        unsafe { std::mem::transmute::<&dyn ErasedTypeId, &(dyn ErasedTypeId + 'static)>(object) };
    object.type_id()
}

/// The key's value for integers, strings, `char` and `bool` (and tuples of them); `None` for
/// other types.
pub(crate) fn value<Q: ?Sized>(key: &Q) -> Option<String> {
    let id = erased_type_id::<Q>();
    macro_rules! known {
        ($($ty:ty),*) => {$(
            if id == TypeId::of::<$ty>() {
                // SAFETY: `Q` is `$ty` up to lifetimes (equal `TypeId`s), so `&Q` is a `&$ty`:
                // the same layout (thin, or a `str`'s fat pointer), the same value. The one
                // `$ty` with a lifetime, `&'static str`, is read here as the `&'a str` it is,
                // within the borrow of `key`.
                let key = unsafe { *(&key as *const &Q as *const &$ty) };
                return Some(format!("{key:?}"));
            }
        )*};
    }
    known!(
        u8,
        u16,
        u32,
        u64,
        u128,
        usize,
        i8,
        i16,
        i32,
        i64,
        i128,
        isize,
        char,
        bool,
        str,
        &'static str,
        String
    );
    tuple::value(key)
}

/// A key's fingerprint, when its type is one `value` prints (tuples aside): equal keys have
/// equal fingerprints whichever of the types a map's key borrows as is looked up (`String`,
/// `str` and `&str` alike), and distinct integers of up to 64 bits distinct ones (the mix is a
/// bijection); strings and 128-bit integers get a 64-bit hash of their bytes. A `HashMap` that
/// is empty hashes no key (std's does not), and check-then-act knows the key of such a lookup
/// by this. Reads no `Hash` impl of the user's, allocates nothing.
pub(crate) fn fingerprint<Q: ?Sized>(key: &Q) -> Option<u64> {
    let id = erased_type_id::<Q>();
    macro_rules! integers {
        ($($ty:ty),*) => {$(
            if id == TypeId::of::<$ty>() {
                // SAFETY: `Q` is `$ty` (equal `TypeId`s; these types have no lifetimes).
                let key = unsafe { *(key as *const Q as *const $ty) };
                return Some(mix(key as u64));
            }
        )*};
    }
    integers!(
        u8, u16, u32, u64, usize, i8, i16, i32, i64, isize, char, bool
    );
    macro_rules! wide {
        ($($ty:ty),*) => {$(
            if id == TypeId::of::<$ty>() {
                // SAFETY: as above.
                let key = unsafe { *(key as *const Q as *const $ty) };
                return Some(bytes(&key.to_le_bytes()));
            }
        )*};
    }
    wide!(u128, i128);
    let text: Option<&str> = if id == TypeId::of::<str>() {
        // SAFETY: `Q` is `str`, so `&Q` is a `&str` (the same fat pointer).
        Some(unsafe { *(&key as *const &Q as *const &str) })
    } else if id == TypeId::of::<&'static str>() {
        // SAFETY: `Q` is `&str` up to its lifetime, read as the `&'a str` it is, within the
        // borrow of `key`.
        Some(unsafe { *(key as *const Q as *const &str) })
    } else if id == TypeId::of::<String>() {
        // SAFETY: `Q` is `String`.
        Some(unsafe { &*(key as *const Q as *const String) }.as_str())
    } else {
        None
    };
    text.map(|text| bytes(text.as_bytes()))
}

/// A bijection of `u64` (splitmix64's finalizer).
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A 64-bit hash of `bytes` (FNV-1a, then mixed), not a bijection: kept apart from the
/// integers' by a last step they do not have.
fn bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h).rotate_left(17) ^ 0x5bd1_e995
}

/// Tuples of 2 or 3 printable values. A generic function cannot name them one by one, so the
/// key's `TypeId` is looked up in tables of every pair's and triple's, and each element read at
/// its offset, from tables the compiler computed for every combination (`offset_of!`). Pairs
/// take any of the 16 printable types; triples the 8 most common key types (the first 8 below):
/// rustc's time for the tables grows faster than the number of types, and 16³ triples cost a
/// minute and a half.
mod tuple {
    use std::any::TypeId;
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
            [$(show::<$ty> as Printer,)*]
        };
    }

    /// Per element: how to print a value of it given its address.
    type Printer = unsafe fn(*const u8) -> String;
    const PRINTERS: [Printer; 16] = elements!(printers!());

    /// # Safety
    /// `at` is the address of a live, aligned `T`.
    unsafe fn show<T: Debug>(at: *const u8) -> String {
        // SAFETY: per the contract.
        format!("{:?}", unsafe { &*at.cast::<T>() })
    }

    /// A tuple's `TypeId`, made when asked (a table of these is a table of function pointers).
    type Id = fn() -> TypeId;

    macro_rules! pairs {
        ([$($a:ty),*]) => { pairs!(@rows [$($a),*] [$($a),*]) };
        (@rows [$($a:ty),*] $all:tt) => { [$(pairs!(@row $a; $all),)*] };
        (@row $a:ty; [$($b:ty),*]) => {
            [$((
                TypeId::of::<($a, $b)> as Id,
                [
                    offset_of!(($a, $b), 0) as u8,
                    offset_of!(($a, $b), 1) as u8,
                    size_of::<($a, $b)>() as u8,
                ],
            ),)*]
        };
    }

    macro_rules! triples {
        ([$($a:ty),*]) => { triples!(@a [$($a),*] [$($a),*]) };
        (@a [$($a:ty),*] $all:tt) => { [$(triples!(@b $a; $all; $all),)*] };
        (@b $a:ty; [$($b:ty),*]; $all:tt) => { [$(triples!(@c $a, $b; $all),)*] };
        (@c $a:ty, $b:ty; [$($c:ty),*]) => {
            [$((
                TypeId::of::<($a, $b, $c)> as Id,
                [
                    offset_of!(($a, $b, $c), 0) as u8,
                    offset_of!(($a, $b, $c), 1) as u8,
                    offset_of!(($a, $b, $c), 2) as u8,
                    size_of::<($a, $b, $c)>() as u8,
                ],
            ),)*]
        };
    }

    /// A pair's `TypeId`, then the offsets of its two fields and its size.
    type Pair = (Id, [u8; 3]);
    /// A triple's `TypeId`, then the offsets of its three fields and its size.
    type Triple = (Id, [u8; 4]);

    /// `[a][b]`: `(a, b)`.
    static PAIRS: [[Pair; 16]; 16] = elements!(pairs!());
    /// `[a][b][c]`: `(a, b, c)`.
    static TRIPLES: [[[Triple; TRIPLE_ELEMENTS]; TRIPLE_ELEMENTS]; TRIPLE_ELEMENTS] =
        triple_elements!(triples!());

    /// The elements' indices in `PRINTERS` (the first 8 are the triples' elements, in the same
    /// order) and the layout (offsets, then size) of the printable pair or triple whose `TypeId`
    /// is `id`.
    fn lookup(id: TypeId) -> Option<([usize; 3], &'static [u8])> {
        for (a, row) in PAIRS.iter().enumerate() {
            for (b, (pair, layout)) in row.iter().enumerate() {
                if pair() == id {
                    return Some(([a, b, 0], layout));
                }
            }
        }
        for (a, plane) in TRIPLES.iter().enumerate() {
            for (b, row) in plane.iter().enumerate() {
                for (c, (triple, layout)) in row.iter().enumerate() {
                    if triple() == id {
                        return Some(([a, b, c], layout));
                    }
                }
            }
        }
        None
    }

    pub(super) fn value<Q: ?Sized>(key: &Q) -> Option<String> {
        let id = super::erased_type_id::<Q>();
        let (elements, layout) = lookup(id)?;
        let count = layout.len() - 1;
        let (offsets, size) = layout.split_at(count);
        if size_of_val(key) != usize::from(size[0]) {
            return None;
        }
        let base = (key as *const Q).cast::<u8>();
        let shown: Vec<String> = elements[..count]
            .iter()
            .zip(offsets)
            .map(|(&element, &offset)| {
                // SAFETY: `Q` is the tuple whose `TypeId` (up to lifetimes) is in the table at
                // these elements' indices, so each element, of type `element`, lives at
                // `offset`, as `offset_of!` computed for that tuple type.
                unsafe { PRINTERS[element](base.add(usize::from(offset))) }
            })
            .collect();
        Some(format!("({})", shown.join(", ")))
    }
}

/// `value`, or `<hash 0x...> (Type)` when the type is not printable. `hash` runs the key's own
/// `Hash`, user code that may panic: then the key is shown as unprintable, and the report that
/// asked goes on (a report lost to the user's panic would let the program end as if nothing
/// had been found).
pub(crate) fn describe<Q: ?Sized>(key: &Q, hash: impl FnOnce() -> Option<u64>) -> String {
    if let Some(value) = value(key) {
        return value;
    }
    let type_name = short_type_name(type_name::<Q>());
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(hash)) {
        Ok(Some(hash)) => format!("<hash {hash:#018x}> ({type_name})"),
        Ok(None) => format!("<{type_name}>"),
        Err(_) => format!("<unprintable: its Hash panicked> ({type_name})"),
    }
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
    fn borrowed_strings_are_known_whatever_their_lifetime() {
        let owned = String::from("short-lived");
        let borrowed: &str = &owned;
        assert_eq!(value(&borrowed).as_deref(), Some("\"short-lived\""));
        assert_eq!(
            value(&(borrowed, 7u8)).as_deref(),
            Some("(\"short-lived\", 7)")
        );
        assert_eq!(
            value(&(1u32, borrowed, String::from("v"))).as_deref(),
            Some("(1, \"short-lived\", \"v\")")
        );
    }

    #[test]
    fn a_type_is_known_by_its_id_not_its_name() {
        // Same names as the known types' own, different types.
        #[allow(non_camel_case_types)]
        struct u64;
        assert_eq!(value(&u64), None);
        assert_ne!(erased_type_id::<u64>(), TypeId::of::<std::primitive::u64>());
        assert_eq!(erased_type_id::<&str>(), TypeId::of::<&'static str>());
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
    fn a_key_whose_hash_panics_is_shown_as_unprintable() {
        struct Point;
        assert_eq!(
            describe(&Point, || panic!("the key's Hash panics")),
            "<unprintable: its Hash panicked> (Point)"
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
