//! Where an access happened: the operation and the user's `file:line:col`, packed in one word
//! (`Site`: no stack unwinding, `#[track_caller]` gives it), interned into 16 bits so that a
//! shadow cell's words can hold it (`SiteId`); and every place in the sources as reports and
//! trace lines print it (`SourcePos`).

use super::clock::Epoch;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::atomic::{AtomicU64, AtomicUsize};

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
    TryGet => "try_get",
    TryGetMut => "try_get_mut",
    TryEntry => "try_entry",
    RemoveIf => "remove_if",
    RemoveIfMut => "remove_if_mut",
    Alter => "alter",
    AlterAll => "alter_all",
    View => "view",
    Contains => "contains",
    Lock => "lock",
    Read => "read",
    Write => "write",
    ReadRecursive => "read_recursive",
    UpgradableRead => "upgradable_read",
    Upgrade => "upgrade",
    Unknown => "unknown operation",
}

/// `op << 56 | &'static Location`: user-space addresses fit in 56 bits on every 64-bit target
/// Rust supports with `std` (x86_64 with 5-level paging included).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Site(u64);

const OP_SHIFT: u32 = 56;

impl Site {
    /// No site: an access whose site was not recorded (see `SiteId::UNKNOWN`).
    pub(crate) const UNKNOWN: Site = Site((Op::Unknown as u64) << OP_SHIFT);

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

    #[inline]
    pub(crate) fn bits(self) -> u64 {
        self.0
    }

    /// The site whose `bits` these are (a held guard's site, kept in an atomic word).
    ///
    /// # Safety
    /// `bits` was returned by `Site::bits`: `location` dereferences the address it holds.
    #[inline]
    pub(crate) unsafe fn from_bits(bits: u64) -> Site {
        Site(bits)
    }

    pub(crate) fn op(self) -> Op {
        Op::ALL[(self.0 >> OP_SHIFT) as usize]
    }

    pub(crate) fn location(self) -> Option<&'static Location<'static>> {
        let addr = self.0 & ((1 << OP_SHIFT) - 1);
        // SAFETY: a `Site` is only made by `Site::new`, from a `&'static Location` (`UNKNOWN`
        // has address 0), and `SiteId::site` and `Site::from_bits` are given only values
        // `Site::bits` made (a held list's reader checks the entry's token before it uses one).
        (addr != 0).then(|| unsafe { &*(addr as *const Location<'static>) })
    }

    /// The site's id in a cell word. Inline, the common case: the site sits in its home slot
    /// (see `home`). Otherwise interned.
    #[inline(always)]
    pub(crate) fn id(self) -> SiteId {
        let home = home(self.0);
        // Slot 0 is never filled (it is `UNKNOWN`), so a site whose home is 0 takes the probe.
        if SITES.slots[home as usize].load(Relaxed) == self.0 {
            return SiteId(home);
        }
        SITES.intern(self.0)
    }
}

/// A site interned into a cell word's 16 site bits; `UNKNOWN` (0) once the table is full.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct SiteId(u16);

impl SiteId {
    /// A site that could not be interned (or an access with none): reports say "an unknown site".
    pub(crate) const UNKNOWN: SiteId = SiteId(0);

    /// Never a site's: a read word with this site holds a read that its own thread's later
    /// write spent (check-then-act, see `cell::Cell::track_write`). Shown as an unknown site.
    pub(crate) const SPENT: SiteId = SiteId(u16::MAX);

    /// Never a site's: a read word with this site holds the making of the cell by the insert
    /// of its key (`cell::Cell::written`), in the insert's epoch, until another thread reads
    /// the key: check-then-act tells from it that the cell came after a check (see
    /// `cta::Local::find_check`). Spent as `SPENT` is (the inserting thread's last look at the
    /// key is its insert). Shown as an unknown site.
    pub(crate) const CREATED: SiteId = SiteId(u16::MAX - 1);

    /// `SPENT` or `CREATED`: the read is its own thread's write, not a look at the key.
    #[inline]
    pub(crate) fn is_spent(self) -> bool {
        self.0 >= Self::CREATED.0
    }

    #[inline]
    pub(crate) fn bits(self) -> u64 {
        u64::from(self.0)
    }

    /// The id in the low bits of a cell word.
    #[inline]
    pub(crate) fn of_word(word: u64) -> SiteId {
        SiteId(word as u16)
    }

    /// The site this id was given to.
    pub(crate) fn site(self) -> Site {
        match SITES.slots[self.0 as usize].load(Acquire) {
            0 => Site::UNKNOWN,
            bits => Site(bits),
        }
    }
}

/// The slot a site's `bits` try first: its `Location`'s address in units of 8 bytes, plus its
/// op spread over the table, modulo the table. The op matters: one call site is often several
/// sites (`entry(k).or_insert(v)` records its check as `Entry` and its write as `Insert`,
/// both at the `entry` call's location), and with the address alone all but the first would
/// never sit at home: each of their accesses took the probe in `intern` (callgrind, a lock +
/// `get` + unlock mix with one entry write in four: 19 instructions per operation in `intern`).
#[inline(always)]
fn home(bits: u64) -> u16 {
    ((bits >> 3) ^ (bits >> OP_SHIFT).wrapping_mul(0x9E37)) as u16
}

/// The process's site table: open addressing, the slot index is the id. Slots are written
/// once (0 to a site's bits, by compare-and-swap), so a slot read with `Acquire` that holds a
/// site holds it forever. Filled to three quarters at most, so probes stay short.
struct Interner {
    slots: [AtomicU64; 1 << Epoch::SITE_BITS],
    /// Sites interned (the count may overshoot by one per thread racing at the limit).
    len: AtomicUsize,
}

/// Sites the table takes before later ones are `UNKNOWN`.
const SITE_CAPACITY: usize = (1 << Epoch::SITE_BITS) / 4 * 3 - 1;

static SITES: Interner = Interner::new();

impl Interner {
    const fn new() -> Interner {
        Interner {
            slots: [const { AtomicU64::new(0) }; 1 << Epoch::SITE_BITS],
            len: AtomicUsize::new(0),
        }
    }

    /// The id of `bits` (never 0), interning it if it has none, or `UNKNOWN` if the table is
    /// full. Out of line: once per site and thread whose home slot another site holds.
    #[cold]
    #[inline(never)]
    fn intern(&self, bits: u64) -> SiteId {
        let mask = self.slots.len() - 1;
        let mut slot = home(bits) as usize & mask;
        loop {
            if slot != 0 && slot < SiteId::CREATED.0 as usize {
                match self.slots[slot].load(Acquire) {
                    0 => {
                        if self.len.load(Relaxed) >= SITE_CAPACITY {
                            return SiteId::UNKNOWN;
                        }
                        match self.slots[slot].compare_exchange(0, bits, Acquire, Acquire) {
                            Ok(_) => {
                                self.len.fetch_add(1, Relaxed);
                                return SiteId(slot as u16);
                            }
                            Err(taken) if taken == bits => return SiteId(slot as u16),
                            Err(_) => {} // another site took it: go on probing
                        }
                    }
                    taken if taken == bits => return SiteId(slot as u16),
                    _ => {}
                }
            }
            slot = (slot + 1) & mask;
        }
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
        let drop = Site::unlocated(Op::Drop);
        assert_eq!((drop.op(), drop.location()), (Op::Drop, None));
        assert_eq!(drop.id().site(), drop, "interned too");
        assert_eq!(site.id().site(), site);
        assert_eq!(site.id(), site.id(), "interned once");
        assert_eq!(Site::UNKNOWN.location(), None);
        assert_eq!(Site::UNKNOWN.op(), Op::Unknown);
        assert_eq!(SiteId::UNKNOWN.site(), Site::UNKNOWN);
    }

    /// Sites of one location with different ops (an entry chain records its check as `Entry`
    /// and its write as `Insert` at the `entry` call's location): once interned, each is found
    /// in the slot `id` looks at inline, none is left to the probe.
    #[test]
    fn sites_of_one_location_with_different_ops_are_each_found_inline() {
        let here = Location::caller();
        for op in [Op::Entry, Op::Insert, Op::GetMut, Op::Remove] {
            let site = Site::new(op, here);
            let id = site.id();
            assert_eq!(id.site(), site);
            assert_eq!(
                SITES.slots[home(site.bits()) as usize].load(Relaxed),
                site.bits(),
                "{op:?} is not in its home slot (id {id:?})"
            );
        }
    }

    #[test]
    fn sites_past_the_tables_capacity_are_unknown_and_the_others_keep_their_ids() {
        // A table of its own, fed with keys as `Site::bits` makes them (8-aligned addresses,
        // clustered as a binary's `Location`s are, with an op in the top byte).
        static TABLE: Interner = Interner::new();
        let table = &TABLE;
        let key = |n: u64| ((n % 48) << OP_SHIFT) | (0x5555_0000_0000 + 24 * n);
        let ids: Vec<SiteId> = (0..SITE_CAPACITY as u64)
            .map(|n| table.intern(key(n)))
            .collect();
        assert!(
            ids.iter().all(|&id| id != SiteId::UNKNOWN),
            "every site below the capacity"
        );
        let mut distinct = ids.iter().map(|id| id.0).collect::<Vec<_>>();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), SITE_CAPACITY, "one id per site");
        for extra in 0..1_000 {
            let n = SITE_CAPACITY as u64 + extra;
            assert_eq!(
                table.intern(key(n)),
                SiteId::UNKNOWN,
                "site {n} is past the capacity"
            );
        }
        // Sites interned before the table filled keep their ids.
        for (n, &id) in ids.iter().enumerate().step_by(97) {
            assert_eq!(table.intern(key(n as u64)), id);
            assert_eq!(table.slots[id.0 as usize].load(Relaxed), key(n as u64));
        }
    }
}
