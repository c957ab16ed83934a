//! Deadlocks: what each thread holds (DashMap guards, maprace locks), what it is about to wait
//! for, the checks made before a thread blocks, and the `WARNING: MAP DEADLOCK` report.
//!
//! Every thread that takes a tracked guard or lock has a `Held` list: one entry per guard it
//! holds (the resource, shared or exclusive, where it was taken) and the one wait it has
//! published. Only its thread writes it, with plain stores on atomics (no read-modify-write), so
//! that other threads can read it: to look for a cycle of waits, and to take over a guard that
//! was sent to them (a DashMap guard is `Send`: it belongs to the thread that last used it, see
//! `Token::claim`). Lists are never freed: a thread's list goes back to a pool when the thread
//! ends and is reused (unless a live guard still names it: see `GiveBack`), so a token kept by
//! a guard on another thread always points to live memory, and the tokens it hands out are
//! never handed out again.
//!
//! Why the lists are written where other threads read them, rather than kept private to their
//! thread and published only before it blocks: on x86-64 the `Relaxed` and `Release` stores
//! and the `Release` fence of an entry's write are the plain moves a private list would make,
//! so privacy saves no instruction there; what a hold costs is its bookkeeping (the thread's
//! list, a free entry, a token, the words, the guard's token, and the same at its end).
//! Measured: a build that wrote none of a hold's words counted 15 instructions fewer per
//! DashMap `get` (of about 67 the hold costs) and 10 per lock, and that is the most a private
//! list could save, since it must still keep those words somewhere to publish. Publishing at
//! each block would also have to cover a thread that published, took more guards and blocked
//! again, and guards taken over by a thread that then blocks (`tests/sync_deadlocks.rs`,
//! `tests/dashmap_deadlocks.rs` pin both).
//!
//! The checks, in the order a blocking call makes them:
//! - the thread's own conflicting guard on the same resource: a certain deadlock (`check_own`,
//!   with the DashMap rules in `rt::dashmap`, and `before_lock` for maprace's locks);
//! - cycles through other threads: the call publishes "this thread waits for R" (`publish`),
//!   and if R is busy, follows holders and their published waits back to this thread
//!   (`Waiting::busy`). A thread that holds nothing cannot close a cycle, so the common path
//!   (an empty list) publishes nothing and costs one test.
//!
//! The API a lock mirror with guards of its own uses (maprace::sync), "this thread is
//! about to block on lock L in mode M at site S" and "L taken / released in mode M":
//! - `acquire(|| l.id.resource(), mode, site, &TAG, try_lock, blocking)` for a blocking
//!   acquisition: with nothing held it is `blocking()` after one test; otherwise `try_lock`
//!   first (`unless_taken` turns a std `TryLockResult` into what it wants), and only if the lock
//!   is taken, the checks (`before_lock`: a certain self-deadlock; then the wait is published and
//!   a cycle looked for), then `blocking()`;
//! - `LockHold::taken(|| l.id.resource(), mode, site, &TAG)` once the lock is held, kept by the guard and
//!   dropped before the real unlock (a mode change is a drop and a new `taken`);
//! - the lock keeps a `LockId`, its identity in the lists: its address and a generation no
//!   later lock in the same memory shares (a guard may be forgotten, its hold left behind);
//! - `holding()`, the test of the common path, for a mirror that checks by itself;
//! - a `static` `Tag::Lock("crate::Type")` per lock type, for reports.
//!
//! A raw lock (parking_lot's mirrors, whose guards are lock_api's and keep nothing of maprace's)
//! uses `raw` instead: `lock_raw` with a `LockCall` (parking_lot's `RwLock` has upgradable reads
//! and is fair to writers, so its rules are its own), `raw_taken` / `raw_released` /
//! `raw_changed`, which find a hold again by the lock's `LockId`. Holds are kept in `LockMode`s:
//! a DashMap guard's or `maprace::sync` lock's `Mode`, or upgradable.

// The DashMap parts (map tags, guard tokens, the latent verdict) serve only the `dashmap` feature.
#![cfg_attr(not(feature = "dashmap"), allow(dead_code))]

use super::clock::Epoch;
use super::report::{self, Capitalized, Finding, RULE, ThreadLabel};
use super::site::{Site, SourcePos};
use super::stack::{self, Frame, Stack};
use super::stats::FindingKind;
use super::{lock, thread};
use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, fence};
use std::sync::{LockResult, Mutex, MutexGuard, TryLockError, TryLockResult};
use std::time::{Duration, Instant};

#[cfg(feature = "parking_lot")]
mod raw;
#[cfg(feature = "parking_lot")]
pub(crate) use raw::{
    Kept, LockCall, PL_MUTEX, PL_REENTRANT_MUTEX, PL_RWLOCK, lock_raw, lock_raw_holding,
    raw_changed, raw_released, raw_taken,
};

/// How a DashMap guard or a `maprace::sync` lock holds its resource, or a call wants it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    Shared,
    Exclusive,
}

/// How a hold in a list holds its resource, or a published wait wants it: a DashMap guard's or
/// a `maprace::sync` lock's `Mode`, or a parking_lot `RwLock`'s third way, the upgradable read.
/// (A type of its own, so that DashMap code, which never holds anything upgradable, matches on
/// two modes.)
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum LockMode {
    Shared,
    /// A parking_lot upgradable read: it lets readers in, and excludes writers and the other
    /// upgradable readers.
    Upgradable,
    Exclusive,
}

impl From<Mode> for LockMode {
    #[inline(always)]
    fn from(mode: Mode) -> LockMode {
        match mode {
            Mode::Shared => LockMode::Shared,
            Mode::Exclusive => LockMode::Exclusive,
        }
    }
}

impl LockMode {
    /// Two holds conflict unless both are shared (dashmap's, std's and parking_lot's locks let
    /// readers in together), or one is shared and the other upgradable (parking_lot's lets
    /// readers in beside its upgradable reader).
    #[inline]
    pub(crate) fn conflicts_with(self, other: impl Into<LockMode>) -> bool {
        matches!(
            (self, other.into()),
            (LockMode::Exclusive, _)
                | (_, LockMode::Exclusive)
                | (LockMode::Upgradable, LockMode::Upgradable)
        )
    }

    pub(crate) fn word(self) -> &'static str {
        match self {
            LockMode::Shared => "shared",
            LockMode::Upgradable => "upgradable",
            LockMode::Exclusive => "exclusive",
        }
    }

    fn bits(self) -> u64 {
        match self {
            LockMode::Shared => 1,
            LockMode::Exclusive => 2,
            LockMode::Upgradable => 3,
        }
    }

    fn from_bits(bits: u64) -> LockMode {
        match bits {
            1 => LockMode::Shared,
            3 => LockMode::Upgradable,
            _ => LockMode::Exclusive,
        }
    }
}

/// Set in `Resource::object` for a DashMap (whose `part` is a shard); clear for a lock (whose
/// object is its `LockId`'s address, and `part` its generation).
pub(crate) const MAP_OBJECT: u64 = 1 << 63;

/// Something a thread holds and may block on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Resource {
    pub(crate) object: u64,
    pub(crate) part: u32,
}

/// A lock's identity in held lists, kept in the lock: its `Resource` is the `LockId`'s address
/// and a generation no later lock at that address shares, so a hold that a forgotten guard
/// (`mem::forget`, safe) left in a list stays its own lock's and is never taken for a new lock
/// made in the same memory. The generation comes from a global counter at the lock's first
/// recorded hold or wait (one atomic read-modify-write per lock, not per operation); 0 until
/// then, when no list names the lock.
#[derive(Default)]
pub(crate) struct LockId(AtomicU32);

impl LockId {
    pub(crate) const fn new() -> LockId {
        LockId(AtomicU32::new(0))
    }

    /// The lock in held lists, its generation taken now if it has none.
    #[inline(always)]
    pub(crate) fn resource(&self) -> Resource {
        let mut part = self.0.load(Relaxed);
        if part == 0 {
            part = self.first_use();
        }
        self.with(part)
    }

    /// The lock in held lists if any hold or wait of it was ever recorded (else none is).
    #[cfg(feature = "parking_lot")]
    #[inline(always)]
    pub(crate) fn recorded(&self) -> Option<Resource> {
        let part = self.0.load(Relaxed);
        (part != 0).then(|| self.with(part))
    }

    #[inline(always)]
    fn with(&self, part: u32) -> Resource {
        Resource {
            object: self as *const LockId as u64,
            part,
        }
    }

    /// The lock's generation, taken from the counter unless another thread took it first.
    #[cold]
    #[inline(never)]
    fn first_use(&self) -> u32 {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let mut part = NEXT.fetch_add(1, Relaxed);
        if part == 0 {
            part = NEXT.fetch_add(1, Relaxed); // the counter wrapped: 0 means unassigned
        }
        match self.0.compare_exchange(0, part, Relaxed, Relaxed) {
            Ok(_) => part,
            Err(theirs) => theirs,
        }
    }
}

impl Resource {
    fn is_map(self) -> bool {
        self.object & MAP_OBJECT != 0
    }
}

/// What a report says about a resource's object. Tags are `'static` (maps' are interned), so
/// that any thread may read them from any list at any time.
pub(crate) enum Tag {
    /// A lock type, e.g. `maprace::sync::Mutex`.
    Lock(&'static str),
    /// A DashMap: its name (else `map#N`), its type and where it was created.
    Map(MapTag),
}

pub(crate) struct MapTag {
    pub(crate) name: Option<&'static str>,
    pub(crate) type_name: String,
    pub(crate) created_at: &'static Location<'static>,
}

/// The tag of the DashMaps created at `created_at` with `name` and type `type_name`: made once
/// per such triple (a program has as many as it has construction sites), never freed.
pub(crate) fn map_tag(
    name: Option<&'static str>,
    type_name: &str,
    created_at: &'static Location<'static>,
) -> &'static Tag {
    let key = (
        created_at as *const Location<'static> as usize,
        name,
        type_name.to_owned(),
    );
    let mut tags = lock(&TAGS);
    tags.get_or_insert_with(HashMap::new)
        .entry(key)
        .or_insert_with(|| {
            Box::leak(Box::new(Tag::Map(MapTag {
                name,
                type_name: super::key::short_type_name(type_name),
                created_at,
            })))
        })
}

/// What `map_tag` keys its tags by: the construction site, the name and the type's name.
type TagKey = (usize, Option<&'static str>, String);

/// The tags `map_tag` made.
static TAGS: Mutex<Option<HashMap<TagKey, &'static Tag>>> = Mutex::new(None);

/// The numbers `map_number` gave.
static NUMBERS: Mutex<Option<HashMap<u64, u64>>> = Mutex::new(None);

/// For the fork handler: this module's locks stay as they are until the guard is dropped. They
/// are leaves (nothing else is locked under one of them), taken in this order.
pub(crate) fn hold_for_fork() -> impl Sized {
    (lock(&TAGS), lock(&NUMBERS), lists())
}

/// `map#N` for a DashMap without a name, numbered in the order reports first need them (the
/// numbers are the tracked maps', shared with `HashMap` and `BTreeMap`).
fn map_number(object: u64) -> u64 {
    let mut numbers = lock(&NUMBERS);
    *numbers
        .get_or_insert_with(HashMap::new)
        .entry(object)
        .or_insert_with(super::map::next_map_number)
}

/// A resource as a report names it: `shard 3 of cache (DashMap<u64, String>)`, or
/// `maprace::sync::Mutex 0x…` (its address).
fn describe(resource: Resource, tag: &Tag) -> String {
    match tag {
        Tag::Lock(type_name) => format!("{type_name} {:#x}", resource.object),
        Tag::Map(map) => format!(
            "shard {} of {} ({})",
            resource.part,
            map_name(resource.object, map),
            map.type_name
        ),
    }
}

/// A map's name in reports, from its tag: its own, or `map#N`.
pub(crate) fn display_name(object: u64, tag: &Tag) -> String {
    match tag {
        Tag::Map(map) => map_name(object, map),
        Tag::Lock(type_name) => (*type_name).to_owned(),
    }
}

fn map_name(object: u64, map: &MapTag) -> String {
    match map.name {
        Some(name) => name.to_owned(),
        None => format!("map#{}", map_number(object)),
    }
}

// ---------------------------------------------------------------------------------------------
// The lists.

/// Entries in place in a list; more go to chunks, allocated once and kept with the list.
const INLINE: usize = 8;
const CHUNK: usize = 32;
/// `Held::used`: the bits of the entries in place.
const INLINE_BITS: u64 = (1 << INLINE) - 1;
/// `Held::used`: entries in chunks are in use (`Held::chunk_live` of them).
const IN_CHUNKS: u64 = 1 << 63;
/// `Held::free`: no free entry.
const NO_ENTRY: usize = usize::MAX;
/// `Entry::site` of an entry on its list's free chain (a claimed entry keeps its site).
const ON_FREE_CHAIN: u64 = u64::MAX;

/// One guard held. Written by the list's owner only, as a seqlock: `token` is 0 while the
/// entry is free or being rewritten, and set (with `Release`) once the other words are; a
/// reader checks that it read the same token before and after them.
#[derive(Default)]
struct Entry {
    /// 0: free. Else unique in the list's life (which outlives its threads).
    token: AtomicU64,
    /// The resource's object; on the free chain, the next free entry.
    object: AtomicU64,
    /// `part | mode << 32`.
    info: AtomicU64,
    site: AtomicU64,
    tag: AtomicPtr<Tag>,
}

struct Chunk {
    entries: [Entry; CHUNK],
    next: AtomicPtr<Chunk>,
}

/// What an entry (or a published wait) says, read as one consistent value.
#[derive(Clone, Copy)]
pub(crate) struct Hold {
    pub(crate) resource: Resource,
    pub(crate) mode: LockMode,
    pub(crate) site: Site,
    pub(crate) tag: &'static Tag,
    /// The entry's token (for a wait, its sequence number): a later read with the same token
    /// is the same hold.
    token: u64,
}

impl Hold {
    /// A hold (or wanted resource) to record.
    pub(crate) fn new(
        resource: Resource,
        mode: impl Into<LockMode>,
        site: Site,
        tag: &'static Tag,
    ) -> Hold {
        Hold {
            resource,
            mode: mode.into(),
            site,
            tag,
            token: 0,
        }
    }

    fn info(&self) -> u64 {
        u64::from(self.resource.part) | self.mode.bits() << 32
    }
}

impl Entry {
    /// The entry's hold, if it is live and was not rewritten while being read.
    fn read(&self) -> Option<Hold> {
        let token = self.token.load(Acquire);
        if token == 0 {
            return None;
        }
        let object = self.object.load(Relaxed);
        let info = self.info.load(Relaxed);
        let site = self.site.load(Relaxed);
        let tag = self.tag.load(Relaxed);
        fence(Acquire);
        if self.token.load(Relaxed) != token || tag.is_null() {
            return None;
        }
        Some(Hold {
            resource: Resource {
                object,
                part: info as u32,
            },
            mode: LockMode::from_bits(info >> 32),
            // SAFETY: the token check says this word was stored with this hold, by `write`,
            // from `Site::bits`.
            site: unsafe { Site::from_bits(site) },
            // SAFETY: tags are `'static` (statics, or interned and never freed), and the token
            // check says this pointer was stored with this hold.
            tag: unsafe { &*tag },
            token,
        })
    }

    /// Owner only: writes a hold into a free entry.
    #[inline(always)]
    fn write(&self, hold: &Hold) {
        fence(Release); // the `token = 0` that freed it comes before the new words
        self.object.store(hold.resource.object, Relaxed);
        self.info.store(hold.info(), Relaxed);
        self.site.store(hold.site.bits(), Relaxed);
        self.tag.store(hold.tag as *const Tag as *mut Tag, Relaxed);
        self.token.store(hold.token, Release);
    }
}

/// The wait a thread has published: the resource it is about to block on. `seq` is 0 when it
/// waits for nothing; the other words are read as an `Entry`'s.
#[derive(Default)]
struct Wait {
    seq: AtomicU64,
    entry: Entry,
}

/// A thread's held guards and published wait (see the module docs).
///
/// The owner's hot path is the entries in place: a guard's hold takes the lowest free one
/// (`used` says which are taken, one bit each) and gives it back at its drop, a few loads and
/// stores on one cache line. Past `INLINE` holds, entries come from chunks through a free chain.
pub(crate) struct Held {
    /// Owner only: bit `i` for each entry `i` in place that is in use, and `IN_CHUNKS` while
    /// entries in chunks are. Zero: the list holds nothing (entries another thread took over
    /// count until the owner puts them back: see `claimed`).
    used: AtomicU64,
    /// Owner only: the entries in chunks in use.
    chunk_live: AtomicUsize,
    /// Entries from here on have never been used since the list was last cleared; never below
    /// `INLINE` (the entries in place are always scanned, so taking one stores no length).
    len: AtomicUsize,
    /// Owner only: the first free entry in chunks below `len` (then linked through
    /// `Entry::object`).
    free: AtomicUsize,
    /// Owner only: the last token handed out.
    tokens: AtomicU64,
    /// Entries freed by other threads that took their guard over (`Token::claim`), which the
    /// owner has not put back on its free chain yet.
    claimed: AtomicUsize,
    entries: [Entry; INLINE],
    chunks: AtomicPtr<Chunk>,
    wait: Wait,
    /// The owner's epoch when it took the list (reports find the thread's name with it).
    owner: AtomicU64,
}

impl Held {
    fn new() -> Held {
        Held {
            used: AtomicU64::new(0),
            chunk_live: AtomicUsize::new(0),
            len: AtomicUsize::new(INLINE),
            free: AtomicUsize::new(NO_ENTRY),
            tokens: AtomicU64::new(0),
            claimed: AtomicUsize::new(0),
            entries: Default::default(),
            chunks: AtomicPtr::new(std::ptr::null_mut()),
            wait: Wait::default(),
            owner: AtomicU64::new(0),
        }
    }

    /// The current thread's list, made at its first use. `None` once the thread is ending.
    #[inline]
    pub(crate) fn mine() -> Option<&'static Held> {
        let list = MINE.get();
        if (list as usize) > GONE {
            // SAFETY: lists are leaked at creation and never freed.
            return Some(unsafe { &*list });
        }
        if list.is_null() {
            Some(take_list())
        } else {
            None
        }
    }

    /// Holds nothing: the common path of every check.
    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.used.load(Relaxed) == 0
    }

    /// Owner only: holds nothing once the entries other threads took over are counted out.
    #[cold]
    #[inline(never)]
    fn is_empty_after_claims(&self) -> bool {
        if self.claimed.load(Relaxed) > 0 {
            self.reclaim();
        }
        self.is_empty()
    }

    /// The entry at `index` (below `len`).
    #[inline]
    fn entry(&self, index: usize) -> &Entry {
        if index < INLINE {
            return &self.entries[index];
        }
        self.entry_in_chunks(index - INLINE)
    }

    #[cold]
    fn entry_in_chunks(&self, mut index: usize) -> &Entry {
        let mut chunk = self.chunks.load(Acquire);
        loop {
            // SAFETY: chunks are linked before `len` covers them, and never freed.
            let c = unsafe { &*chunk };
            if index < CHUNK {
                return &c.entries[index];
            }
            index -= CHUNK;
            chunk = c.next.load(Acquire);
        }
    }

    /// Owner only: the lowest free entry in place, taken (`None`: all are in use).
    #[inline(always)]
    fn take_inline(&self) -> Option<usize> {
        let used = self.used.load(Relaxed);
        let free = !used & INLINE_BITS;
        if free == 0 {
            return None;
        }
        let index = free.trailing_zeros() as usize;
        self.used.store(used | 1 << index, Relaxed);
        Some(index)
    }

    /// Owner only: a free entry when those in place are all in use: one that claimers freed, or
    /// one in chunks (from the free chain, or a new one).
    #[cold]
    #[inline(never)]
    fn free_entry_slow(&self) -> usize {
        if self.claimed.load(Relaxed) > 0 {
            self.reclaim();
            if let Some(index) = self.take_inline() {
                return index;
            }
        }
        let free = self.free.load(Relaxed);
        let index = if free != NO_ENTRY {
            self.free
                .store(self.entry(free).object.load(Relaxed) as usize, Relaxed);
            free
        } else {
            self.grow()
        };
        self.chunk_live
            .store(self.chunk_live.load(Relaxed) + 1, Relaxed);
        self.used
            .store(self.used.load(Relaxed) | IN_CHUNKS, Relaxed);
        index
    }

    /// Owner only: a new entry in chunks, past `len` (all before it are in use).
    fn grow(&self) -> usize {
        let index = self.len.load(Relaxed);
        if (index - INLINE).is_multiple_of(CHUNK) {
            // The chunk for `index` may exist already (a list reused after a clear).
            let mut link = &self.chunks;
            for _ in 0..(index - INLINE) / CHUNK {
                // SAFETY: as in `entry_in_chunks`.
                link = unsafe { &(*link.load(Acquire)).next };
            }
            if link.load(Acquire).is_null() {
                let chunk = Box::new(Chunk {
                    entries: Default::default(),
                    next: AtomicPtr::new(std::ptr::null_mut()),
                });
                link.store(Box::into_raw(chunk), Release);
            }
        }
        self.len.store(index + 1, Release);
        index
    }

    /// Owner only: `index`, whose hold has ended, is free again.
    #[inline(always)]
    fn give_back(&self, index: usize) {
        if index < INLINE {
            self.used
                .store(self.used.load(Relaxed) & !(1 << index), Relaxed);
        } else {
            self.give_back_to_chunks(index);
        }
    }

    #[cold]
    #[inline(never)]
    fn give_back_to_chunks(&self, index: usize) {
        self.chain(index);
        let live = self.chunk_live.load(Relaxed) - 1;
        self.chunk_live.store(live, Relaxed);
        if live == 0 {
            self.used
                .store(self.used.load(Relaxed) & !IN_CHUNKS, Relaxed);
        }
    }

    /// Puts entries freed by claimers back on the free chain, and counts them out.
    #[cold]
    fn reclaim(&self) {
        self.claimed.swap(0, Relaxed);
        let used = self.used.load(Relaxed);
        for index in 0..self.len.load(Relaxed) {
            let entry = self.entry(index);
            let in_use = if index < INLINE {
                used & 1 << index != 0
            } else {
                entry.site.load(Relaxed) != ON_FREE_CHAIN
            };
            if in_use && entry.token.load(Acquire) == 0 {
                self.give_back(index);
            }
        }
    }

    /// Owner only: `index`, free, goes on the free chain.
    #[inline(always)]
    fn chain(&self, index: usize) {
        let entry = self.entry(index);
        entry.site.store(ON_FREE_CHAIN, Relaxed);
        entry.object.store(self.free.load(Relaxed) as u64, Relaxed);
        self.free.store(index, Relaxed);
    }

    /// Owner only: records a hold once the resource is held. Its token goes with the guard.
    #[inline(always)]
    pub(crate) fn push(
        &'static self,
        resource: Resource,
        mode: impl Into<LockMode>,
        site: Site,
        tag: &'static Tag,
    ) -> Token {
        let index = match self.take_inline() {
            Some(index) => index,
            None => self.free_entry_slow(),
        };
        Token {
            list: self,
            index: index as u32,
            token: self.write_new(index, resource, mode.into(), site, tag),
        }
    }

    /// `push` into a list the caller found holding nothing (`holding_in` said none, and only
    /// the owner adds holds): the first entry in place, with no search for a free one.
    #[inline(always)]
    pub(crate) fn push_first(
        &'static self,
        resource: Resource,
        mode: impl Into<LockMode>,
        site: Site,
        tag: &'static Tag,
    ) -> Token {
        debug_assert_eq!(self.used.load(Relaxed), 0, "a list found empty");
        self.used.store(1, Relaxed);
        Token {
            list: self,
            index: 0,
            token: self.write_new(0, resource, mode.into(), site, tag),
        }
    }

    /// `push` past the entries in place (all in use).
    #[cold]
    #[inline(never)]
    fn push_slow(
        &'static self,
        resource: Resource,
        mode: LockMode,
        site: Site,
        tag: &'static Tag,
    ) -> Token {
        let index = self.free_entry_slow();
        Token {
            list: self,
            index: index as u32,
            token: self.write_new(index, resource, mode, site, tag),
        }
    }

    /// Owner only: writes a new hold into `index`, just taken; its token.
    #[inline(always)]
    fn write_new(
        &self,
        index: usize,
        resource: Resource,
        mode: LockMode,
        site: Site,
        tag: &'static Tag,
    ) -> u64 {
        let token = self.tokens.load(Relaxed) + 1;
        self.tokens.store(token, Relaxed);
        self.entry(index).write(&Hold {
            resource,
            mode,
            site,
            tag,
            token,
        });
        token
    }

    /// Every live hold of this list, as read now.
    fn holds(&self) -> impl Iterator<Item = Hold> + '_ {
        (0..self.len.load(Acquire)).filter_map(|index| self.entry(index).read())
    }

    /// The wait published, if any.
    fn waiting_for(&self) -> Option<Hold> {
        let seq = self.wait.seq.load(SeqCst);
        if seq == 0 {
            return None;
        }
        let hold = self.wait.entry.read()?;
        fence(Acquire);
        (self.wait.seq.load(Relaxed) == seq).then_some(Hold { token: seq, ..hold })
    }

    fn owner(&self) -> Epoch {
        Epoch::from_bits(self.owner.load(Relaxed))
    }

    /// Owner only: an entry holds a hold (a guard or lock guard not yet released names it).
    fn names_a_hold(&self) -> bool {
        (0..self.len.load(Relaxed)).any(|index| self.entry(index).token.load(Relaxed) != 0)
    }

    /// Empties the list for its next owner.
    fn clear(&self) {
        self.wait.seq.store(0, Release);
        for index in 0..self.len.load(Relaxed) {
            self.entry(index).token.store(0, Release);
        }
        self.len.store(INLINE, Release);
        self.used.store(0, Relaxed);
        self.chunk_live.store(0, Relaxed);
        self.free.store(NO_ENTRY, Relaxed);
        self.claimed.store(0, Relaxed);
    }
}

/// A hold recorded in a list, kept by the lock guard that holds the resource (a DashMap guard
/// keeps a `GuardToken`).
#[derive(Debug)]
pub(crate) struct Token {
    list: &'static Held,
    index: u32,
    token: u64,
}

impl fmt::Debug for Held {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Held").finish_non_exhaustive()
    }
}

impl Token {
    /// Frees the entry in whichever list holds it, if it still holds it.
    #[cold]
    #[inline(never)]
    fn take_out(list: &Held, index: usize, token: u64) {
        let freed = list
            .entry(index)
            .token
            .compare_exchange(token, 0, Release, Relaxed)
            .is_ok();
        if freed {
            // The owner puts it back on its free chain later (`Held::grow`).
            list.claimed.fetch_add(1, Relaxed);
        }
    }

    /// The resource is being released (before the real unlock) on the thread that holds it
    /// (a lock guard never leaves its thread): the hold ends.
    #[inline]
    pub(crate) fn release(self, mine: Option<&'static Held>) {
        match mine {
            Some(mine) if std::ptr::eq(self.list, mine) => {
                mine.pop(self.index as usize, self.token)
            }
            _ => Token::take_out(self.list, self.index as usize, self.token),
        }
    }
}

impl Token {
    /// A lock guard's hold ends, on the thread that drops the guard: inline when the hold is
    /// in this thread's list, in place (the thread's list is read straight from the
    /// thread-local, never made: a thread whose list is gone or not made yet is not the
    /// hold's). Else (a guard dropped by a thread-local destructor after its thread's list went
    /// back to the pool) as `release`.
    #[inline(always)]
    fn end(self) {
        let index = self.index as usize;
        if index < INLINE && std::ptr::eq(self.list, MINE.get()) {
            self.list.pop_inline(index, self.token);
        } else {
            GuardToken::release_slow(self.list, index, self.token);
        }
    }
}

impl Held {
    /// Owner only: the hold `token` at `index` (in place) ends.
    #[inline(always)]
    fn pop_inline(&self, index: usize, token: u64) {
        let entry = &self.entries[index];
        if entry.token.load(Relaxed) == token {
            entry.token.store(0, Release);
            self.used
                .store(self.used.load(Relaxed) & !(1 << index), Relaxed);
        }
    }

    /// Owner only: the hold `token` at `index` ends.
    #[inline]
    fn pop(&self, index: usize, token: u64) {
        let entry = self.entry(index);
        if entry.token.load(Relaxed) == token {
            entry.token.store(0, Release);
            self.give_back(index);
        }
    }
}

/// A DashMap guard's hold. Guards are `Send` and `Sync`: the hold is in the list of the thread
/// that last used the guard, and a thread that uses it (even through `&`) moves it to its own
/// list first (`touch`). Until a receiver's first use, the hold stays in the sender's list:
/// `check_own` waits `SENT_GUARD_GRACE` for a receiver to take it over before it calls a
/// conflict a deadlock. No hold (checks off, or more than `MAX_INDEX` holds) is a null list.
///
/// The list's word also keeps 19 bits of the guard's own (`kept`: a guard's shard and flags),
/// in the bits a list's address leaves free: so a guard carries its hold and those in 16 bytes.
#[derive(Debug)]
pub(crate) struct GuardToken {
    /// `[kept:16][the list holding the hold: its address, bits 3..47][kept:3]` (see `LIST`).
    list: AtomicU64,
    /// `token << 16 | CLAIMING? | index`.
    packed: AtomicU64,
}

/// `GuardToken::packed`: set while a thread moves the hold to its own list.
const CLAIMING: u64 = 1 << 15;
/// The highest entry index a `GuardToken` can name; a thread's holds beyond it go unrecorded
/// (unchecked, never a wrong verdict).
const MAX_INDEX: u32 = (1 << 15) - 1;
/// `GuardToken::list`: the list's address. Lists are 8-byte aligned (`Held` is, as its atomics
/// are) and lie below `2^48` (`take_list` checks it), so the other bits are the guard's.
const LIST: u64 = ((1 << 48) - 1) & !7;
const _: () = assert!(std::mem::align_of::<Held>() >= 8);

impl GuardToken {
    /// No hold, and `kept` (bits outside `LIST`) for the guard.
    #[inline(always)]
    pub(crate) fn none(kept: u64) -> GuardToken {
        debug_assert_eq!(kept & LIST, 0);
        GuardToken {
            list: AtomicU64::new(kept),
            packed: AtomicU64::new(0),
        }
    }

    /// The guard's bits (see `none`), as they were given or last `set_kept`.
    #[inline(always)]
    pub(crate) fn kept(&self) -> u64 {
        self.list.load(Relaxed) & !LIST
    }

    /// `kept`, through `&mut` (a plain read, which the compiler may share with others).
    #[inline(always)]
    pub(crate) fn kept_mut(&mut self) -> u64 {
        *self.list.get_mut() & !LIST
    }

    /// Replaces the guard's bits (`&mut`: nothing else reads them meanwhile).
    #[inline(always)]
    pub(crate) fn set_kept(&mut self, kept: u64) {
        debug_assert_eq!(kept & LIST, 0);
        let word = self.list.get_mut();
        *word = *word & LIST | kept;
    }

    /// The list's address in a `list` word (0: none).
    #[inline(always)]
    fn list_of(word: u64) -> *const Held {
        (word & LIST) as *const Held
    }

    /// A `list` word naming `list`, with `kept`.
    #[inline(always)]
    fn word(list: &'static Held, kept: u64) -> u64 {
        list as *const Held as u64 | kept
    }

    /// Is there a hold?
    pub(crate) fn is_some(&self) -> bool {
        self.list.load(Relaxed) & LIST != 0
    }

    /// The guard's hold, just pushed; the guard keeps `kept`.
    #[inline]
    pub(crate) fn new(token: Token, kept: u64) -> GuardToken {
        if token.index > MAX_INDEX {
            let list = token.list;
            token.release(Some(list));
            return GuardToken::none(kept);
        }
        GuardToken {
            list: AtomicU64::new(GuardToken::word(token.list, kept)),
            packed: AtomicU64::new(token.token << 16 | u64::from(token.index)),
        }
    }

    /// Records `hold` in this thread's list (`mine`) for a guard being made, which keeps `kept`.
    #[inline(always)]
    pub(crate) fn push(mine: &'static Held, hold: &Hold, kept: u64) -> GuardToken {
        GuardToken::record(mine, hold.resource, hold.mode, hold.site, hold.tag, kept)
    }

    /// Records a hold of `resource` in this thread's list (`mine`) for a guard being made, which
    /// keeps `kept`. In place (the common case), the entry's index always fits, so only holds
    /// past them are tested against `MAX_INDEX`.
    #[inline(always)]
    pub(crate) fn record(
        mine: &'static Held,
        resource: Resource,
        mode: impl Into<LockMode>,
        site: Site,
        tag: &'static Tag,
        kept: u64,
    ) -> GuardToken {
        let mode = mode.into();
        match mine.take_inline() {
            Some(index) => {
                let token = mine.write_new(index, resource, mode, site, tag);
                GuardToken {
                    list: AtomicU64::new(GuardToken::word(mine, kept)),
                    packed: AtomicU64::new(token << 16 | index as u64),
                }
            }
            None => GuardToken::new(mine.push_slow(resource, mode, site, tag), kept),
        }
    }

    fn unpack(packed: u64) -> (usize, u64) {
        ((packed & u64::from(MAX_INDEX)) as usize, packed >> 16)
    }

    /// The guard is used on the current thread: if its hold is in another thread's list, it
    /// moves here. `hold` says what it is (the other list may have been cleared since).
    #[inline(always)]
    pub(crate) fn touch(&self, hold: impl FnOnce() -> Hold) {
        let list = GuardToken::list_of(self.list.load(Relaxed));
        // Inline, the common case: no hold, or one in this thread's list.
        if list.is_null() || std::ptr::eq(list, MINE.get()) {
            return;
        }
        if let Some(mine) = Held::mine()
            && !std::ptr::eq(list, mine)
        {
            self.claim(mine, hold());
        }
    }

    #[cold]
    #[inline(never)]
    fn claim(&self, mine: &'static Held, hold: Hold) {
        let packed = self.packed.load(Relaxed);
        if packed & CLAIMING != 0
            || self
                .packed
                .compare_exchange(packed, packed | CLAIMING, Acquire, Relaxed)
                .is_err()
        {
            return; // another thread is moving it (a guard shared through `&` by two threads)
        }
        // (The kept bits change only through `&mut`, so none changes while this runs.)
        let word = self.list.load(Relaxed);
        let kept = word & !LIST;
        let list = GuardToken::list_of(word);
        if list.is_null() {
            // Another claimer, done since `touch` read the word, found no entry free in its
            // list (past `MAX_INDEX`) and left the guard unrecorded.
            self.packed.store(packed, Release);
            return;
        }
        // SAFETY: not null (just tested), so the word names a list, and lists are leaked at
        // creation and never freed.
        let list = unsafe { &*list };
        if std::ptr::eq(list, mine) {
            self.packed.store(packed, Release);
            return;
        }
        let (index, token) = GuardToken::unpack(packed);
        Token::take_out(list, index, token);
        let moved = mine.push(hold.resource, hold.mode, hold.site, hold.tag);
        if moved.index > MAX_INDEX {
            moved.release(Some(mine));
            self.list.store(kept, Relaxed);
            self.packed.store(0, Release);
            return;
        }
        self.list.store(GuardToken::word(mine, kept), Relaxed);
        self.packed
            .store(moved.token << 16 | u64::from(moved.index), Release);
    }

    /// The hold ends, on whatever thread, the guard staying (a downgrade, an iterator's step:
    /// see `rewrite`); the kept bits stay.
    #[inline(always)]
    pub(crate) fn release(&mut self) {
        let word = *self.list.get_mut();
        *self.list.get_mut() = word & !LIST;
        GuardToken::end_of(word, *self.packed.get_mut());
    }

    /// The guard is dropped, on whatever thread: the hold ends. (`release` without forgetting
    /// the list, which the drop does not need; a second end would find the entry's token gone,
    /// as tokens are unique in a list's life, and change nothing.)
    #[inline(always)]
    pub(crate) fn end(&mut self) {
        GuardToken::end_of(*self.list.get_mut(), *self.packed.get_mut());
    }

    /// The end of the hold the words `word` and `packed` name, if any.
    #[inline(always)]
    fn end_of(word: u64, packed: u64) {
        let list = GuardToken::list_of(word);
        if list.is_null() {
            return;
        }
        // SAFETY: lists are leaked at creation and never freed.
        let list = unsafe { &*list };
        let (index, token) = GuardToken::unpack(packed);
        // Inline, the common case: the hold is in this thread's list, in place.
        if index < INLINE && std::ptr::eq(MINE.get(), list) {
            list.pop_inline(index, token);
        } else {
            GuardToken::release_slow(list, index, token);
        }
    }

    /// `release` of a hold in chunks, or in another thread's list (a guard sent here).
    #[cold]
    #[inline(never)]
    fn release_slow(list: &'static Held, index: usize, token: u64) {
        match Held::mine() {
            Some(mine) if std::ptr::eq(list, mine) => mine.pop(index, token),
            _ => Token::take_out(list, index, token),
        }
    }

    /// The hold changes (a downgrade, an iterator's move to another shard). The guard is used
    /// here, so the hold is taken over first.
    pub(crate) fn rewrite(&mut self, hold: Hold) {
        if !self.is_some() {
            return;
        }
        self.touch(|| hold);
        self.release();
        if let Some(mine) = Held::mine() {
            *self = GuardToken::push(mine, &hold, self.kept());
        }
    }
}

/// `MINE` once the thread's list went back to the pool.
const GONE: usize = 1;

thread_local! {
    /// The current thread's list: null until its first use, `GONE` once given back.
    static MINE: Cell<*const Held> = const { Cell::new(std::ptr::null()) };
    /// Gives the list back when the thread ends.
    static GIVE_BACK: GiveBack = const { GiveBack };
}

/// Every list ever made (scanned for cycles), and those free for a new thread.
struct Lists {
    all: Vec<&'static Held>,
    free: Vec<&'static Held>,
    /// Lists kept out of the pool because a live guard still names them (see `GiveBack`).
    retired: usize,
}

static LISTS: Mutex<Lists> = Mutex::new(Lists {
    all: Vec::new(),
    free: Vec::new(),
    retired: 0,
});

/// At most this many lists are kept out of the pool (see `GiveBack`): each is a few hundred
/// bytes, and a program that ends more threads than this while their guards live on (returned
/// by their joins, sent away unused) gets its later such guards checked as before the fix.
const RETIRED_MAX: usize = 4096;

fn lists() -> MutexGuard<'static, Lists> {
    lock(&LISTS)
}

/// Held lists made so far: at most the threads alive at once that took a guard or a lock,
/// plus those kept out of the pool (a thread's list goes back to the pool at its end, with its
/// wait, for the next thread, unless a live guard still names it).
pub(crate) fn lists_made() -> usize {
    lists().all.len()
}

#[cold]
#[inline(never)]
fn take_list() -> &'static Held {
    let list = {
        let mut lists = lists();
        match lists.free.pop() {
            Some(list) => list,
            None => {
                let list: &'static Held = Box::leak(Box::new(Held::new()));
                if list as *const Held as u64 & !LIST != 0 {
                    // (As read sets' chunks: see README's Limitations.)
                    super::fatal("a held-guard list above the 48-bit address space");
                }
                lists.all.push(list);
                list
            }
        }
    };
    let owner = thread::with(|me| me.map_epoch()).unwrap_or(Epoch::NONE);
    list.owner.store(owner.bits(), Relaxed);
    MINE.set(list);
    GIVE_BACK.with(|_| {});
    list
}

struct GiveBack;

impl Drop for GiveBack {
    /// The thread ends: what it still holds (a forgotten guard, or one sent away and not yet
    /// used by its receiver) is forgotten, and the list serves another thread, unless a guard
    /// still names it. Such a guard's next user must find the list another thread's, so that
    /// its first use records the hold in its own list (`GuardToken::touch`); had the pool given
    /// this list to that very user, the guard's list would be its own, no hold would be
    /// recorded, and its call on the guard's shard would hang unreported
    /// (`tests/guards_of_ended_threads.rs`).
    fn drop(&mut self) {
        let list = MINE.replace(GONE as *const Held);
        if list as usize > GONE {
            // SAFETY: lists are leaked at creation and never freed.
            let list = unsafe { &*list };
            let named = list.names_a_hold();
            list.clear();
            let mut lists = lists();
            if named && lists.retired < RETIRED_MAX {
                lists.retired += 1;
            } else {
                lists.free.push(list);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The checks.

/// Is the verdict sure (the call blocks in this run) or not (it blocks whenever the keys share
/// a shard)?
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Verdict {
    Certain,
    Latent,
}

/// How long a check waits for a conflicting guard of this thread's to be taken over by another
/// thread, before calling it a deadlock: a guard sent to another thread stays in the sender's
/// list until its receiver first uses it (see `Token::claim`).
const SENT_GUARD_GRACE: Duration = Duration::from_millis(250);

/// A call about to block: what it wants, and what it is.
pub(crate) struct Call<'a> {
    pub(crate) resource: Resource,
    pub(crate) mode: LockMode,
    pub(crate) site: Site,
    pub(crate) tag: &'static Tag,
    /// What the report's first line says about the call, e.g. `of key 7`, made only for a report.
    pub(crate) what: &'a dyn Fn() -> String,
}

/// The held guards of this thread that `conflict` says block the call, with the verdict each
/// gives. `None`: nothing blocks it.
pub(crate) fn check_own(
    list: &Held,
    call: Site,
    conflict: &dyn Fn(&Hold) -> Option<Verdict>,
) -> Option<(Verdict, Vec<Hold>)> {
    let found = |list: &Held| {
        let mut certain = Vec::new();
        let mut latent = Vec::new();
        for hold in list.holds() {
            match conflict(&hold) {
                Some(Verdict::Certain) => certain.push(hold),
                Some(Verdict::Latent) => latent.push(hold),
                None => {}
            }
        }
        if !certain.is_empty() {
            Some((Verdict::Certain, certain))
        } else if !latent.is_empty() {
            Some((Verdict::Latent, latent))
        } else {
            None
        }
    };
    let first = found(list)?;
    // A latent one reported already (a loop with `halt_on_error=0`) is not reported again:
    // nothing to wait for. A certain one is always looked at: it stops the program.
    if first.0 == Verdict::Latent
        && !report::is_new(FindingKind::Deadlock, own_identity(call, &first.1, first.0))
    {
        return None;
    }
    // A lock guard never leaves its thread; a DashMap guard may have been sent away.
    if first.1.iter().all(|hold| !hold.resource.is_map()) {
        return Some(first);
    }
    let deadline = Instant::now() + SENT_GUARD_GRACE;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
        let still = |hold: &Hold| list.holds().any(|now| now.token == hold.token);
        if !first.1.iter().all(still) {
            return found(list); // one was taken over: look again
        }
    }
    Some(first)
}

/// Before a blocking acquisition of a lock (maprace's `Mutex`, `RwLock`; parking_lot's): a hold
/// of the same lock by this thread that conflicts with `mode` is a certain self-deadlock, and
/// is reported. Otherwise the wait is published (the thread holds something, so it may close a
/// cycle): the caller calls `busy` on the result if the lock is taken, then blocks, then drops
/// it.
#[cold]
#[inline(never)]
pub(crate) fn before_lock(list: &'static Held, call: &Call<'_>) -> Waiting {
    let conflict = |hold: &Hold| {
        (hold.resource == call.resource && hold.mode.conflicts_with(call.mode))
            .then_some(Verdict::Certain)
    };
    if let Some((verdict, holds)) = check_own(list, call.site, &conflict) {
        report(call, verdict, Evidence::Own(holds), LOCK_HINT);
    }
    publish(list, call)
}

const LOCK_HINT: &str = "This thread already holds the lock the call waits for, in a mode that excludes the call's:\n\
     the call would wait for this thread itself, forever. Drop the guard before locking again\n\
     (end its scope, or `drop(guard)`), or pass the guard down instead of locking twice.";

/// "This thread is about to wait for `call.resource`": published for other threads' cycle
/// checks until dropped (after the blocking call returned).
pub(crate) struct Waiting {
    list: &'static Held,
}

/// Publishes the wait (sequentially consistent, so that of two threads that wait for each other,
/// at least one sees the other's wait when it looks).
pub(crate) fn publish(list: &'static Held, call: &Call<'_>) -> Waiting {
    let seq = list.tokens.load(Relaxed) + 1;
    list.tokens.store(seq, Relaxed);
    let hold = Hold {
        resource: call.resource,
        mode: call.mode,
        site: call.site,
        tag: call.tag,
        token: seq,
    };
    list.wait.seq.store(0, Relaxed);
    list.wait.entry.token.store(0, Relaxed);
    list.wait.entry.write(&hold);
    list.wait.seq.store(seq, SeqCst);
    Waiting { list }
}

impl Drop for Waiting {
    #[inline]
    fn drop(&mut self) {
        self.list.wait.seq.store(0, Release);
    }
}

/// One step of a cycle: `thread` (its list) holds `hold`, wanted by the previous step, and
/// waits for `waits`.
#[derive(Clone, Copy)]
pub(crate) struct Step {
    list: &'static Held,
    hold: Hold,
    waits: Hold,
}

/// How long a cycle must stay as it is before it is reported: a real deadlock never changes,
/// and a picture taken while threads move (one has just got what it waited for) does.
const CYCLE_SETTLE: Duration = Duration::from_millis(20);

impl Waiting {
    /// The resource the call waits for is taken: if its holders wait, through other threads, for
    /// what this thread holds, no one can go on. Then it is reported.
    #[cold]
    #[inline(never)]
    pub(crate) fn busy(&self, what: &dyn Fn() -> String) {
        let Some(call) = self.list.waiting_for() else {
            return;
        };
        let Some(cycle) = self.find_cycle() else {
            return;
        };
        std::thread::sleep(CYCLE_SETTLE);
        let Some(again) = self.find_cycle() else {
            return;
        };
        let same = cycle.len() == again.len()
            && cycle.iter().zip(&again).all(|(a, b)| {
                std::ptr::eq(a.list, b.list)
                    && a.hold.token == b.hold.token
                    && a.waits.token == b.waits.token
            });
        if !same {
            return;
        }
        let call = Call {
            resource: call.resource,
            mode: call.mode,
            site: call.site,
            tag: call.tag,
            what,
        };
        report(&call, Verdict::Certain, Evidence::Cycle(again), CYCLE_HINT);
    }

    /// A cycle of waits from this thread back to it, if there is one now.
    fn find_cycle(&self) -> Option<Vec<Step>> {
        let call = self.list.waiting_for()?;
        let all = lists().all.clone();
        let mut path = Vec::new();
        let mut visited = Vec::new();
        self.follow(&all, &call, &call, &mut path, &mut visited)
            .then_some(path)
    }

    /// Depth-first: the holders of what `wanted` asks for, and what each of them waits for.
    fn follow(
        &self,
        all: &[&'static Held],
        call: &Hold,
        wanted: &Hold,
        path: &mut Vec<Step>,
        visited: &mut Vec<*const Held>,
    ) -> bool {
        for &list in all {
            let holds = |hold: &Hold| {
                hold.resource == wanted.resource && hold.mode.conflicts_with(wanted.mode)
            };
            if std::ptr::eq(list, self.list) {
                // Back at this thread: the cycle closes if it holds what is wanted (not at the
                // first step: its own holds were checked before).
                if !path.is_empty()
                    && let Some(hold) = list.holds().find(holds)
                {
                    path.push(Step {
                        list,
                        hold,
                        waits: *call,
                    });
                    return true;
                }
                continue;
            }
            if visited.contains(&(list as *const Held)) {
                continue;
            }
            // The wait first: its `SeqCst` load, if it finds the wait, is ordered after that
            // thread's holds (recorded before it published the wait), so the holds read next
            // are complete. Of two threads that wait for each other, at least one finds the
            // other's wait (both are `SeqCst` stores made before each side's loads), and with it
            // the other's holds. Read the other way round, both could miss a hold.
            let Some(waits) = list.waiting_for() else {
                continue;
            };
            let Some(hold) = list.holds().find(holds) else {
                continue;
            };
            visited.push(list);
            path.push(Step { list, hold, waits });
            if self.follow(all, call, &waits, path, visited) {
                return true;
            }
            path.pop();
        }
        false
    }
}

const CYCLE_HINT: &str = "The threads above wait for each other in a cycle: each holds what the next one waits for,\n\
     so none of them can go on. Take the locks and guards in one order everywhere, or drop\n\
     what a thread holds before it waits for another one.";

// ---------------------------------------------------------------------------------------------
// The report.

/// Why the call would block.
pub(crate) enum Evidence {
    /// This thread's own guards.
    Own(Vec<Hold>),
    /// A cycle through other threads: each step holds what the one before waits for; the last
    /// is this thread.
    Cycle(Vec<Step>),
}

/// A deadlock report: the call that would block (with its stack), the guards that block it,
/// the verdict.
pub(crate) struct Report {
    verdict: Verdict,
    what: String,
    call: Hold,
    epoch: Epoch,
    stack: Vec<Frame>,
    evidence: Evidence,
    hint: &'static str,
}

/// Builds the report for `call` and hands it to the policy. A certain deadlock stops the program
/// (or panics in this thread with `action=panic`) whatever `halt_on_error` says: going on would
/// hang.
#[cold]
#[inline(never)]
pub(crate) fn report(call: &Call<'_>, verdict: Verdict, evidence: Evidence, hint: &'static str) {
    // A latent one already reported (a loop with `halt_on_error=0`) costs this lookup, not a
    // stack and its symbols; a certain one stops the program, and is always made.
    if verdict == Verdict::Latent
        && !report::is_new(
            FindingKind::Deadlock,
            identity(call.site, &evidence, verdict),
        )
    {
        return;
    }
    let mut stack = stack::capture();
    stack.resolve();
    let epoch = thread::with(|me| me.map_epoch()).unwrap_or(Epoch::NONE);
    let report = Report {
        verdict,
        what: (call.what)(),
        call: Hold {
            resource: call.resource,
            mode: call.mode,
            site: call.site,
            tag: call.tag,
            token: 0,
        },
        epoch,
        stack: stack::user_frames(&stack),
        evidence,
        hint,
    };
    report::emit(&report);
}

/// A deadlock's identity: the call site, the first guard's site and the verdict.
fn identity(call: Site, evidence: &Evidence, verdict: Verdict) -> [u64; 3] {
    match evidence {
        Evidence::Own(holds) => own_identity(call, holds, verdict),
        Evidence::Cycle(steps) => guard_identity(call, steps.first().map(|s| s.hold.site), verdict),
    }
}

/// The identity of a deadlock with this thread's own `holds`.
fn own_identity(call: Site, holds: &[Hold], verdict: Verdict) -> [u64; 3] {
    guard_identity(call, holds.first().map(|h| h.site), verdict)
}

fn guard_identity(call: Site, guard: Option<Site>, verdict: Verdict) -> [u64; 3] {
    let guard = guard.map(|site| site.bits());
    let verdict = match verdict {
        Verdict::Certain => 1,
        Verdict::Latent => 2,
    };
    [call.bits(), guard.unwrap_or(0), verdict]
}

impl Report {
    /// Where the call was made (see `stack::user_site`).
    fn call_site(&self) -> String {
        stack::user_site(self.call.site.location(), &self.stack)
    }
}

fn at(site: Site) -> String {
    match site.location() {
        Some(location) => SourcePos::of(location).to_string(),
        None => "an unknown site".to_owned(),
    }
}

impl Finding for Report {
    fn kind(&self) -> FindingKind {
        FindingKind::Deadlock
    }

    /// Two reports from the same call site with the same verdict and the same first guard site
    /// are one.
    fn identity(&self) -> [u64; 3] {
        identity(self.call.site, &self.evidence, self.verdict)
    }

    /// A certain deadlock stops the program (or panics in this thread with `action=panic`,
    /// which releases its guards): going on would hang.
    fn stops_the_program(&self) -> bool {
        self.verdict == Verdict::Certain
    }

    fn event(&self) {
        tracing::error!(
            target: "maprace",
            kind = "deadlock",
            verdict = self.verdict_word(),
            op = self.call.site.op().name(),
            resource = describe(self.call.resource, self.call.tag).as_str(),
            mode = self.call.mode.word(),
            site = self.call_site().as_str(),
            thread = ThreadLabel(self.epoch).to_string().as_str(),
            "WARNING: MAP DEADLOCK ({}): {} at {}",
            self.verdict_word(),
            self.call.site.op().name(),
            self.call_site()
        );
    }
}

impl Report {
    fn verdict_word(&self) -> &'static str {
        match self.verdict {
            Verdict::Certain => "certain",
            Verdict::Latent => "latent",
        }
    }
}

fn write_guard(f: &mut fmt::Formatter<'_>, hold: &Hold, by: Epoch, then: &str) -> fmt::Result {
    writeln!(
        f,
        "Guard {} on {} held since {}",
        hold.mode.word(),
        describe(hold.resource, hold.tag),
        at(hold.site)
    )?;
    writeln!(
        f,
        "  taken by {} in {}{then}",
        hold.site.op().name(),
        ThreadLabel(by)
    )
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{RULE}")?;
        writeln!(f, "WARNING: MAP DEADLOCK ({})", self.verdict_word())?;
        writeln!(
            f,
            "{} ({}){} on {} at {}",
            capitalized(self.call.site.op().name()),
            self.call.mode.word(),
            self.what,
            describe(self.call.resource, self.call.tag),
            self.call_site()
        )?;
        writeln!(f, "  by {}:", ThreadLabel(self.epoch))?;
        write!(f, "{}", Stack(&self.stack))?;
        writeln!(f)?;
        match &self.evidence {
            Evidence::Own(holds) => {
                for hold in holds {
                    write_guard(f, hold, self.epoch, "")?;
                }
            }
            Evidence::Cycle(steps) => {
                for step in steps {
                    let then =
                        if std::ptr::eq(step.list, steps.last().map_or(step.list, |s| s.list)) {
                            String::new()
                        } else {
                            format!(
                                ", which waits for {} ({}) at {}",
                                describe(step.waits.resource, step.waits.tag),
                                step.waits.mode.word(),
                                at(step.waits.site)
                            )
                        };
                    write_guard(f, &step.hold, step.list.owner(), &then)?;
                }
            }
        }
        // Where each other thread of a cycle was created, as a race report says.
        if let Evidence::Cycle(steps) = &self.evidence {
            let mut seen = vec![thread::info(self.epoch).map(|t| t.serial)];
            for step in steps {
                let epoch = step.list.owner();
                let serial = thread::info(epoch).map(|t| t.serial);
                if seen.contains(&serial) {
                    continue;
                }
                seen.push(serial);
                let Some(created_at) = thread::info(epoch).and_then(|t| t.created_at()) else {
                    continue; // the main thread, or one created before maprace could see it
                };
                writeln!(f)?;
                writeln!(f, "{} created at:", Capitalized(ThreadLabel(epoch)))?;
                write!(f, "{}", Stack(&stack::user_frames(&created_at)))?;
            }
        }
        // Every map the report names: the call's, then the guards'.
        let holds: Vec<&Hold> = match &self.evidence {
            Evidence::Own(holds) => holds.iter().collect(),
            Evidence::Cycle(steps) => steps.iter().map(|s| &s.hold).collect(),
        };
        let mut maps: Vec<u64> = Vec::new();
        let named = std::iter::once((self.call.resource.object, self.call.tag))
            .chain(holds.iter().map(|h| (h.resource.object, h.tag)));
        for (object, tag) in named {
            let Tag::Map(map) = tag else { continue };
            if maps.contains(&object) {
                continue;
            }
            if maps.is_empty() {
                writeln!(f)?;
            }
            maps.push(object);
            writeln!(
                f,
                "Map {} created at {}",
                map_name(object, map),
                SourcePos::of(map.created_at)
            )?;
        }
        writeln!(f)?;
        writeln!(f, "{}", self.hint)?;
        writeln!(f, "{RULE}")
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Locks: what a lock mirror calls.

/// The thread's list, when deadlock checks are on and it holds something (the common path of
/// every check is this test).
#[inline(always)]
pub(crate) fn holding() -> Option<&'static Held> {
    holding_in(lock_list(super::mode()))
}

/// `holding` for a caller that has read the mode already.
#[inline(always)]
pub(crate) fn holding_when_checking() -> Option<&'static Held> {
    holding_in(Held::mine())
}

/// `list`, if it holds something.
#[inline(always)]
pub(crate) fn holding_in(list: Option<&'static Held>) -> Option<&'static Held> {
    list.filter(|list| !list.is_empty() && !list.is_empty_after_claims())
}

/// A `try_*` result as `acquire` wants it: the guard (poisoned or not), or `None` when the lock
/// is taken.
#[inline(always)]
pub(crate) fn unless_taken<G>(result: TryLockResult<G>) -> Option<LockResult<G>> {
    match result {
        Ok(guard) => Some(Ok(guard)),
        Err(TryLockError::Poisoned(poisoned)) => Some(Err(poisoned)),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// A blocking acquisition of `lock` in `mode` at `site`: `try_lock` first when the thread holds
/// anything (a free lock needs no check), then the checks of `before_lock`, then `lock`.
#[inline(always)]
pub(crate) fn acquire<G>(
    lock: impl FnOnce() -> Resource,
    mode: Mode,
    site: Site,
    tag: &'static Tag,
    try_lock: impl FnOnce() -> Option<G>,
    blocking: impl FnOnce() -> G,
) -> G {
    acquire_in(
        lock_list(super::mode()),
        lock,
        mode,
        site,
        tag,
        try_lock,
        blocking,
    )
}

/// The thread's list for one lock call, given the run-time `mode` the caller read: `None` when
/// deadlock checks are off. A lock mirror that fetches it once passes it to `acquire_in` and
/// `LockHold::taken_in` (each fetch of the thread-local and the mode costs a few instructions
/// more on every lock).
#[inline(always)]
pub(crate) fn lock_list(mode: u8) -> Option<&'static Held> {
    const ON: u8 = super::ENABLED | super::DEADLOCK;
    if mode & ON != ON {
        return None;
    }
    Held::mine()
}

/// `acquire` with the thread's list fetched by `lock_list`. (A caller that tests
/// `holding_in(list)` itself calls `acquire_holding` when it holds something; when it holds
/// nothing, `blocking()` is the whole call, and the list still holds nothing after it: only its
/// owner adds holds, and `blocking` adds none, so `LockHold::taken_in` may be told so.)
#[inline(always)]
pub(crate) fn acquire_in<G>(
    list: Option<&'static Held>,
    lock: impl FnOnce() -> Resource,
    mode: Mode,
    site: Site,
    tag: &'static Tag,
    try_lock: impl FnOnce() -> Option<G>,
    blocking: impl FnOnce() -> G,
) -> G {
    match holding_in(list) {
        None => blocking(),
        Some(list) => acquire_holding(list, lock, mode, site, tag, try_lock, blocking),
    }
}

/// `acquire_in` for a thread whose `list` holds something (`holding_in`).
#[inline(always)]
pub(crate) fn acquire_holding<G>(
    list: &'static Held,
    lock: impl FnOnce() -> Resource,
    mode: Mode,
    site: Site,
    tag: &'static Tag,
    try_lock: impl FnOnce() -> Option<G>,
    blocking: impl FnOnce() -> G,
) -> G {
    match try_lock() {
        Some(guard) => guard,
        None => blocked(list, lock(), mode, site, tag, blocking),
    }
}

/// A blocking shared acquisition of a lock whose new readers wait behind a waiting writer
/// (std's `RwLock::read` on Linux): as `acquire`, but this thread's own read of the lock is
/// looked for first, whether or not the lock is free now, and reported as a latent deadlock
/// (the call hangs whenever another thread asks to write between the two reads).
#[inline(always)]
pub(crate) fn acquire_read<G>(
    lock: impl FnOnce() -> Resource,
    site: Site,
    tag: &'static Tag,
    try_lock: impl FnOnce() -> Option<G>,
    blocking: impl FnOnce() -> G,
) -> G {
    let Some(list) = holding() else {
        return blocking();
    };
    let resource = lock();
    reads_again(list, resource, site, tag);
    match try_lock() {
        Some(guard) => guard,
        None => blocked(list, resource, Mode::Shared, site, tag, blocking),
    }
}

/// The lock is taken: the checks of `before_lock`, then `blocking()` with the wait published.
#[cold]
#[inline(never)]
fn blocked<G>(
    list: &'static Held,
    resource: Resource,
    mode: Mode,
    site: Site,
    tag: &'static Tag,
    blocking: impl FnOnce() -> G,
) -> G {
    let what = String::new;
    let call = Call {
        resource,
        mode: mode.into(),
        site,
        tag,
        what: &what,
    };
    let waiting = before_lock(list, &call);
    waiting.busy(&what);
    let guard = blocking();
    drop(waiting);
    guard
}

/// A read of `resource` while this thread reads it already: a latent deadlock, reported.
#[cold]
#[inline(never)]
fn reads_again(list: &'static Held, resource: Resource, site: Site, tag: &'static Tag) {
    let conflict = |hold: &Hold| {
        (hold.resource == resource && hold.mode == LockMode::Shared).then_some(Verdict::Latent)
    };
    if let Some((verdict, holds)) = check_own(list, site, &conflict) {
        let what = String::new;
        let call = Call {
            resource,
            mode: LockMode::Shared,
            site,
            tag,
            what: &what,
        };
        report(&call, verdict, Evidence::Own(holds), STD_READ_AGAIN_HINT);
    }
}

const STD_READ_AGAIN_HINT: &str = "This thread already reads the lock, and std's RwLock makes a new reader wait while a writer\n\
     waits (on Linux; std's docs: `read` \"might panic when called if the lock is already held by\n\
     the current thread\"). Whenever another thread asks to write between the two reads, the writer\n\
     waits for this thread's first read and the call waits for the writer, forever. Pass the\n\
     guard down instead of reading again, or drop it first.";

/// A maprace lock's hold in its thread's list, kept by its guard: made once the lock is held,
/// dropped before the real unlock (a guard declares it before the real guard, or drops it
/// first by hand).
pub(crate) struct LockHold(Option<Token>);

impl LockHold {
    /// `lock` is now held in `mode`, taken at `site`.
    #[inline]
    pub(crate) fn taken(
        lock: impl FnOnce() -> Resource,
        mode: Mode,
        site: Site,
        tag: &'static Tag,
    ) -> LockHold {
        const ON: u8 = super::ENABLED | super::DEADLOCK;
        if super::mode() & ON != ON {
            return LockHold(None);
        }
        LockHold(Held::mine().map(|list| list.push(lock(), mode, site, tag)))
    }

    /// `taken`, with the thread's list fetched by `lock_list`; `empty`: the caller found it
    /// holding nothing (`holding_in`) before it took the lock (see `acquire_in`).
    #[inline(always)]
    pub(crate) fn taken_in(
        list: Option<&'static Held>,
        empty: bool,
        lock: impl FnOnce() -> Resource,
        mode: Mode,
        site: Site,
        tag: &'static Tag,
    ) -> LockHold {
        let Some(list) = list else {
            return LockHold(None);
        };
        LockHold(Some(match empty {
            true => list.push_first(lock(), mode, site, tag),
            false => list.push(lock(), mode, site, tag),
        }))
    }
}

impl Drop for LockHold {
    #[inline]
    fn drop(&mut self) {
        if let Some(token) = self.0.take() {
            token.end();
        }
    }
}

/// The tags of maprace's own locks.
pub(crate) static MUTEX: Tag = Tag::Lock("maprace::sync::Mutex");
pub(crate) static RWLOCK: Tag = Tag::Lock("maprace::sync::RwLock");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rt::site::Op;

    static TAG: Tag = Tag::Lock("test lock");

    /// The fork handler holds this module's locks from before the fork to after it, so that no
    /// other thread is inside one at the fork (a child would wait for it for good).
    #[test]
    fn the_fork_handler_holds_the_map_tags_numbers_and_held_lists() {
        let free = || {
            [
                TAGS.try_lock().is_ok(),
                NUMBERS.try_lock().is_ok(),
                LISTS.try_lock().is_ok(),
            ]
        };
        crate::rt::before_fork();
        // (The current thread holds them: a std mutex's `try_lock` fails for its holder too.)
        let during = free();
        crate::rt::after_fork_in_parent();
        assert_eq!((during, free()), ([false; 3], [true; 3]));
    }

    fn list() -> &'static Held {
        Box::leak(Box::new(Held::new()))
    }

    fn hold(object: u64, mode: Mode) -> Hold {
        Hold::new(
            Resource { object, part: 0 },
            mode,
            Site::new(Op::Lock, Location::caller()),
            &TAG,
        )
    }

    fn push(list: &'static Held, object: u64) -> Token {
        let h = hold(object, Mode::Exclusive);
        list.push(h.resource, h.mode, h.site, h.tag)
    }

    fn objects(list: &Held) -> Vec<u64> {
        let mut held: Vec<u64> = list.holds().map(|h| h.resource.object).collect();
        held.sort();
        held
    }

    #[test]
    fn holds_popped_in_any_order_free_their_entries_for_the_next_ones() {
        let list = list();
        let (a, b, c) = (push(list, 1), push(list, 2), push(list, 3));
        assert_eq!(objects(list), [1, 2, 3]);
        a.release(Some(list)); // out of order
        assert_eq!(objects(list), [2, 3]);
        let d = push(list, 4); // reuses a's entry
        assert_eq!(
            list.used.load(Relaxed),
            0b111,
            "no entry is added while one is free"
        );
        c.release(Some(list));
        b.release(Some(list));
        d.release(Some(list));
        assert!(list.is_empty());
        assert!(objects(list).is_empty());
        // A sliding window (take the next, then drop the previous) stays in two entries.
        let mut previous = push(list, 10);
        for object in 11..100 {
            let next = push(list, object);
            assert_eq!(list.used.load(Relaxed) & !0b11, 0, "in two entries");
            previous.release(Some(list));
            previous = next;
        }
        previous.release(Some(list));
        assert_eq!(list.len.load(Relaxed), INLINE, "none in chunks");
    }

    #[test]
    fn more_holds_than_fit_in_place_go_to_chunks_and_come_back() {
        let list = list();
        let tokens: Vec<Token> = (1..=100).map(|object| push(list, object)).collect();
        assert_eq!(objects(list), (1..=100).collect::<Vec<_>>());
        for token in tokens {
            token.release(Some(list));
        }
        assert!(list.is_empty() && objects(list).is_empty());
    }

    #[test]
    fn a_guard_used_on_another_thread_moves_its_hold_to_that_threads_list() {
        let (sender, receiver) = (list(), list());
        let token = GuardToken::new(push(sender, 7), 0);
        assert_eq!(objects(sender), [7]);
        // What `touch` does on the receiver's thread.
        token.claim(receiver, hold(7, Mode::Exclusive));
        assert!(objects(sender).is_empty(), "the sender no longer holds it");
        assert_eq!(objects(receiver), [7]);
        assert!(sender.is_empty_after_claims(), "the sender counts it out");
        // Dropped on the receiver's thread (here: released by its list).
        let (index, token_bits) = GuardToken::unpack(token.packed.load(Relaxed));
        receiver.pop(index, token_bits);
        assert!(receiver.is_empty());
    }

    /// What a claimer finds when another one, done since its `touch` read the token, had no
    /// entry to give the hold (past `MAX_INDEX`) and left the guard unrecorded: no list.
    #[test]
    fn a_claim_after_another_claimer_left_the_guard_unrecorded_leaves_it_so() {
        let kept = 5 << 48 | 3;
        let token = GuardToken::none(kept);
        token.claim(list(), hold(7, Mode::Exclusive));
        assert!(!token.is_some());
        assert_eq!((token.kept(), token.packed.load(Relaxed)), (kept, 0));
    }

    /// A guard's kept bits (its shard and flags) stay as they were through its hold's moves and
    /// end, and none of them reads as a list.
    #[test]
    fn a_guards_kept_bits_stay_through_its_holds_moves_and_end() {
        let (sender, receiver) = (list(), list());
        let kept = 0xFFFF << 48 | 7;
        let mut token = GuardToken::new(push(sender, 7), kept);
        assert_eq!(token.kept(), kept);
        token.claim(receiver, hold(7, Mode::Exclusive));
        assert_eq!(token.kept(), kept);
        assert!(objects(sender).is_empty());
        assert_eq!(objects(receiver), [7]);
        token.set_kept(1 << 48 | 1);
        token.release();
        assert!(!token.is_some() && objects(receiver).is_empty());
        assert_eq!(token.kept(), 1 << 48 | 1);
        let mut none = GuardToken::none(kept);
        none.release(); // no list: nothing to end
        assert!(!none.is_some());
    }

    #[test]
    fn a_cleared_list_forgets_its_holds_and_stale_tokens_match_nothing() {
        let list = list();
        let stale = push(list, 5);
        list.clear();
        assert!(list.is_empty() && objects(list).is_empty());
        let fresh = push(list, 6);
        Token::take_out(list, stale.index as usize, stale.token); // a claimer of the old guard
        assert_eq!(
            objects(list),
            [6],
            "the old token does not free the new hold"
        );
        fresh.release(Some(list));
    }

    #[test]
    fn a_published_wait_is_read_back_until_it_is_dropped() {
        let list = list();
        let what = String::new;
        let call = Call {
            resource: Resource { object: 9, part: 2 },
            mode: LockMode::Shared,
            site: Site::new(Op::Read, Location::caller()),
            tag: &TAG,
            what: &what,
        };
        let waiting = publish(list, &call);
        let read = list.waiting_for().expect("published");
        assert_eq!(
            (read.resource, read.mode),
            (call.resource, LockMode::Shared)
        );
        drop(waiting);
        assert!(list.waiting_for().is_none());
    }
}
