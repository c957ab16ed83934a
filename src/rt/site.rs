//! Where an access happened: the operation and the user's `file:line:col`, packed in one word
//! so a shadow cell can keep it for free (no stack unwinding; `#[track_caller]` gives it); and
//! every place in the sources as reports and trace lines print it (`SourcePos`).

use std::fmt;
use std::panic::Location;

macro_rules! ops {
    ($($op:ident => $name:literal,)*) => {
        /// A map operation, as named in reports.
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        #[repr(u8)]
        pub(crate) enum Op { $($op,)* }

        impl Op {
            const ALL: &'static [Op] = &[$(Op::$op,)*];

            pub(crate) fn name(self) -> &'static str {
                match self { $(Op::$op => $name,)* }
            }
        }
    };
}

ops! {
    Get => "get",
    GetKeyValue => "get_key_value",
    GetMut => "get_mut",
    GetDisjointMut => "get_disjoint_mut",
    ContainsKey => "contains_key",
    Index => "index",
    Insert => "insert",
    Remove => "remove",
    RemoveEntry => "remove_entry",
    Entry => "entry",
    Len => "len",
    IsEmpty => "is_empty",
    Capacity => "capacity",
    Iter => "iter",
    IterMut => "iter_mut",
    Keys => "keys",
    Values => "values",
    ValuesMut => "values_mut",
    IntoKeys => "into_keys",
    IntoValues => "into_values",
    IntoIter => "into_iter",
    Debug => "fmt",
    Clone => "clone",
    Eq => "eq",
    Clear => "clear",
    Retain => "retain",
    Drain => "drain",
    ExtractIf => "extract_if",
    Extend => "extend",
    Reserve => "reserve",
    TryReserve => "try_reserve",
    ShrinkTo => "shrink_to",
    ShrinkToFit => "shrink_to_fit",
    Hasher => "hasher",
    FirstKeyValue => "first_key_value",
    LastKeyValue => "last_key_value",
    FirstEntry => "first_entry",
    LastEntry => "last_entry",
    PopFirst => "pop_first",
    PopLast => "pop_last",
    Range => "range",
    RangeMut => "range_mut",
    SplitOff => "split_off",
    Append => "append",
    Cmp => "cmp",
    PartialCmp => "partial_cmp",
    Hash => "hash",
    Drop => "drop",
}

/// `op << 56 | &'static Location`: user-space addresses fit in 56 bits on every 64-bit target
/// Rust supports with `std` (x86_64 with 5-level paging included).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Site(u64);

const OP_SHIFT: u32 = 56;

impl Site {
    #[inline]
    pub(crate) fn new(op: Op, location: &'static Location<'static>) -> Site {
        let addr = location as *const Location<'static> as u64;
        debug_assert!(addr >> OP_SHIFT == 0);
        Site(((op as u64) << OP_SHIFT) | addr)
    }

    /// A site whose location is not known where the access is made: a map's drop (drop glue
    /// has no caller location). A report finds it in the stack.
    pub(crate) const fn unlocated(op: Op) -> Site {
        Site((op as u64) << OP_SHIFT)
    }

    pub(crate) fn from_bits(bits: u64) -> Site {
        Site(bits)
    }

    #[inline]
    pub(crate) fn bits(self) -> u64 {
        self.0
    }

    pub(crate) fn op(self) -> Op {
        Op::ALL[(self.0 >> OP_SHIFT) as usize]
    }

    pub(crate) fn location(self) -> Option<&'static Location<'static>> {
        let addr = self.0 & ((1 << OP_SHIFT) - 1);
        // SAFETY: a non-zero address was made by `Site::new` from a `&'static Location`.
        (addr != 0).then(|| unsafe { &*(addr as *const Location<'static>) })
    }
}

/// A place in the sources as reports and trace lines print it: `file:line:col`, with the file
/// shown by `display_path`.
pub(crate) struct SourcePos {
    /// As `display_path` shows it.
    pub(crate) file: String,
    pub(crate) line: u32,
    pub(crate) col: u32,
}

impl SourcePos {
    /// The place `path:line:col` (a path as the compiler or the debug info gives it).
    pub(crate) fn new(path: &str, line: u32, col: u32) -> SourcePos {
        SourcePos {
            file: display_path(path),
            line,
            col,
        }
    }

    pub(crate) fn of(location: &Location<'_>) -> SourcePos {
        SourcePos::new(location.file(), location.line(), location.column())
    }
}

impl fmt::Display for SourcePos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// A path as reports print it: relative to the current directory when under it, then with
/// `strip_path_prefix` cut.
fn display_path(path: &str) -> String {
    let mut path = path;
    let cwd = std::env::current_dir().ok();
    let cwd = cwd.as_ref().and_then(|d| d.to_str());
    if let Some(rest) = cwd.and_then(|cwd| path.strip_prefix(cwd)) {
        path = rest.trim_start_matches('/');
    }
    if let Some(rest) = super::options()
        .strip_path_prefix
        .as_deref()
        .and_then(|prefix| path.strip_prefix(prefix))
    {
        path = rest;
    }
    path.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_gives_back_its_op_and_location() {
        let here = Location::caller();
        let site = Site::new(Op::Drop, here);
        assert_eq!(site.op(), Op::Drop);
        assert_eq!(site.location(), Some(here));
        assert_eq!(Site::from_bits(site.bits()), site);
        assert_eq!(Site::from_bits(0).location(), None);
        let drop = Site::unlocated(Op::Drop);
        assert_eq!((drop.op(), drop.location()), (Op::Drop, None));
    }
}
