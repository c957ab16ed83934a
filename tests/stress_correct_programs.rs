//! A hunt for false reports: seeded random multi-thread programs over maprace's maps that are
//! correctly synchronized through `maprace::sync` (Mutex, RwLock, Condvar, mpsc, atomics with
//! Release/Acquire, Barrier, OnceLock), `maprace::thread::scope`, and with the features
//! `maprace::parking_lot` and `maprace::crossbeam_channel`, with no check-then-act shape (every
//! write through a lock is an entry that looks and writes under one guard), must run with no
//! report at all, every check on. The mirror: the same program with one synchronization
//! removed (a Release/Acquire pair made Relaxed, a releasing count-down made Relaxed, one
//! barrier made std's, the scope made std's)
//! must be reported, at the sites that synchronization ordered.
//!
//! Seeds: `MAPRACE_STRESS_SEEDS` (default 12) programs for the clean run, from seed
//! `MAPRACE_STRESS_FIRST` (default 0; `MAPRACE_STRESS_PRINT` set prints each program's plan of
//! DashMap guards);
//! `MAPRACE_STRESS_SEED` (default 1) for each mirror. The child prints each seed it runs, so a
//! failure names the program that made it.
//!
//! Each phase of a program, on each of its threads: (A) writes key 0 of the plain map it owns
//! this phase (ownership rotates each phase; the barrier between phases orders it), (P) threads
//! 0 and 1 publish a write through an atomic flag, (L) random steps on the locked maps,
//! (H) hand-offs through a channel and through a Condvar, (C) a count-down latch whose
//! read-modify-writes continue each other's release sequences (some Relaxed, some after a
//! Release fence; the waiter loads Acquire, or Relaxed then an Acquire fence), (B) writes key 0 of its own map again,
//! then the barrier. After the last phase the scope joins the threads and this thread reads
//! every map.

mod common;
use maprace::sync::atomic::{AtomicU64, Ordering};
use maprace::sync::{Barrier, Condvar, Mutex, OnceLock, RwLock};
use std::cell::UnsafeCell;

type Map = maprace::HashMap<u64, u64>;
type Tree = maprace::BTreeMap<u64, u64>;

/// Made by the first thread that reads it, in whichever program that is.
static LAZY: maprace::sync::LazyLock<Map> =
    maprace::sync::LazyLock::new(|| (1..=6).map(|k| (k, 2 * k)).collect());

/// Prints the marks of this line once, one per label, then evaluates the expression.
macro_rules! once_at {
    ([$($label:literal),+], $access:expr) => {{
        static MARKED: std::sync::Once = std::sync::Once::new();
        MARKED.call_once(|| {
            $(common::mark($label, file!(), line!());)+
        });
        $access
    }};
}

/// The synchronization a mirror takes out (`None`: the correct program).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Removed {
    None,
    /// The flag of (P) stored and loaded Relaxed.
    ReleaseAcquire,
    /// The barrier after phase 0 is a std barrier (maprace does not see it).
    FirstBarrier,
    /// The threads are spawned in a `std::thread::scope`, whose end orders nothing.
    Scope,
    /// In phase 0, thread 1 writes its latch map and counts down Relaxed (no fence).
    LatchRelease,
    /// In phase 0, thread 0 sends its DashMap guard to thread 1 through a maprace channel,
    /// then writes its guard box again; thread 1 reads the box after a Relaxed std flag (which
    /// maprace does not see) says the write is done.
    GuardHandOff,
    /// In phase 0, thread 1 writes the map the DashMap lock guards without taking the guard
    /// (after thread 0's guarded write, which a Relaxed std flag says is done).
    DashLock,
}

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A step on a locked map, with its key.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// `maprace::sync::Mutex<HashMap>`: a get, an entry update, an entry remove, an iteration.
    Mutex(Op, u64),
    /// `maprace::sync::RwLock<BTreeMap>`: reads under a read guard, writes under a write guard.
    RwLock(Op, u64),
    /// `maprace::DashMap`: get, entry update, `remove_if`, iteration.
    Dash(Op, u64),
    /// `maprace::parking_lot::Mutex<HashMap>`.
    ParkingLot(Op, u64),
    /// A `OnceLock<HashMap>` initialized by whichever thread comes first, read by all (or a
    /// `LazyLock`'s, for odd keys).
    Once(u64),
    /// A plain map of this thread's own: an entry update or a get (no lock needed).
    Own(Op, u64),
    /// `maprace::parking_lot::RwLock<BTreeMap>`: reads under a read guard; writes under an
    /// upgradable read that looks first, then upgrades (one guard throughout).
    ParkingLotRwLock(Op, u64),
    /// `Mutex::try_lock` until it succeeds, then the step as `Mutex`.
    TryLock(Op, u64),
    /// A child thread spawned (std's spawn: maprace sees it below) that makes the steps on
    /// the locked maps and writes this thread's child map, joined right away; this thread then
    /// reads the child map.
    Child(Op, u64),
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Get,
    Update,
    Remove,
    Iterate,
}

struct Program {
    threads: usize,
    phases: usize,
    /// `steps[phase][thread]`.
    steps: Vec<Vec<Vec<Step>>>,
    /// Per phase: the hand-off of (H) goes through crossbeam-channel (else mpsc).
    crossbeam: Vec<bool>,
    /// `latch[phase][thread]`: how the thread counts down the latch of (C).
    latch: Vec<Vec<Count>>,
    /// `guards[phase][thread]`: the DashMap guard of (G).
    guards: Vec<Vec<GuardPlan>>,
}

/// (G): a guard thread t takes on its own DashMap `guard_map[t]` (after writing its plain
/// `guard_box[t]`), maybe held across the steps of (L), then moved to another thread or
/// dropped on its own, as `via` says.
#[derive(Clone, Copy, Debug)]
struct GuardPlan {
    kind: GuardKind,
    via: Via,
    /// Taken before the steps of (L) and held across them (else taken right before (G)).
    across: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum GuardKind {
    /// `get` of key 1: a `Ref`.
    Ref,
    /// `get_mut` of key 1, written through: a `RefMut`.
    Mut,
    /// `get_mut` of key 1, written, then `RefMut::downgrade`: a `Ref`.
    Downgraded,
    /// `entry` of key 1 (always there): an `OccupiedEntry`, written through `get_mut`.
    Occupied,
    /// `entry` of a key new this phase: a `VacantEntry`; the thread that ends up with it
    /// inserts.
    Vacant,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Via {
    /// Used and dropped by its own thread.
    Kept,
    /// Sent to the next thread through the phase's maprace channel (mpsc or crossbeam).
    Channel,
    /// Sent to the next thread through a std mpsc channel maprace does not see: the receiver
    /// writes through it or drops it before it reads the sender's guard box.
    StdChannel,
    /// Moved into a thread spawned in `maprace::thread::scope`, which uses and drops it.
    Scope,
    /// Moved into a thread spawned in `std::thread::scope` and joined.
    StdScope,
}

/// How a thread counts down (C)'s latch, a counter every thread adds 1 to after writing its
/// latch map (or not writing it), which one thread waits on and then reads every latch map:
/// the read-modify-writes continue each other's release sequences.
#[derive(Clone, Copy, Debug)]
enum Count {
    /// Writes, then `fetch_add` with this ordering (Release, AcqRel or SeqCst).
    Releasing(Ordering),
    /// Writes, then a Release fence and a Relaxed `fetch_add`.
    Fenced,
    /// Writes nothing, and adds Relaxed (it continues the others' release sequences).
    Relaxed,
}

impl Program {
    fn generate(seed: u64) -> Program {
        let mut rng = Rng::new(seed);
        let threads = 2 + rng.below(5) as usize;
        let phases = 2 + rng.below(4) as usize;
        let keys = 1 + rng.below(6);
        let steps = (0..phases)
            .map(|_| {
                (0..threads)
                    .map(|_| {
                        (0..rng.below(41))
                            .map(|_| {
                                let op = match rng.below(10) {
                                    0..=3 => Op::Get,
                                    4..=7 => Op::Update,
                                    8 => Op::Remove,
                                    _ => Op::Iterate,
                                };
                                let k = 1 + rng.below(keys);
                                match rng.below(10) {
                                    0 => Step::Mutex(op, k),
                                    1 => Step::RwLock(op, k),
                                    2 => Step::Dash(op, k),
                                    3 => Step::ParkingLot(op, k),
                                    4 => Step::Once(k),
                                    5 => Step::ParkingLotRwLock(op, k),
                                    6 => Step::TryLock(op, k),
                                    7 if rng.below(4) == 0 => Step::Child(op, k),
                                    _ => Step::Own(op, k),
                                }
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let crossbeam = (0..phases).map(|_| rng.below(2) == 0).collect();
        let latch = (0..phases)
            .map(|_| {
                (0..threads)
                    .map(|_| match rng.below(5) {
                        0 => Count::Releasing(Ordering::Release),
                        1 => Count::Releasing(Ordering::AcqRel),
                        2 => Count::Releasing(Ordering::SeqCst),
                        3 => Count::Fenced,
                        _ => Count::Relaxed,
                    })
                    .collect()
            })
            .collect();
        // From a stream of its own, so the rest of each seed's program stays as it was.
        let mut rng = Rng::new(seed ^ 0x6A09_E667_F3BC_C908);
        let guards = (0..phases)
            .map(|_| {
                (0..threads)
                    .map(|_| {
                        let kind = match rng.below(5) {
                            0 => GuardKind::Ref,
                            1 => GuardKind::Mut,
                            2 => GuardKind::Downgraded,
                            3 => GuardKind::Occupied,
                            _ => GuardKind::Vacant,
                        };
                        let via = match rng.below(6) {
                            0 => Via::Kept,
                            1 | 2 => Via::Channel,
                            3 => Via::StdChannel,
                            4 => Via::Scope,
                            _ => Via::StdScope,
                        };
                        GuardPlan {
                            kind,
                            via,
                            across: rng.below(3) == 0,
                        }
                    })
                    .collect()
            })
            .collect();
        Program {
            threads,
            phases,
            steps,
            crossbeam,
            latch,
            guards,
        }
    }
}

/// A map without a lock, shared by the threads: the program's synchronization orders every
/// access to it (the mirrors take one out on purpose).
struct Plain(UnsafeCell<Map>);

// SAFETY: the correct programs order every access to a `Plain` map (it is what they are made
// for; the detector checks it); the mirrors race on it on purpose, as maprace's racy
// scenarios do through `common::Shared`.
unsafe impl Sync for Plain {}

impl Plain {
    fn new() -> Plain {
        Plain(UnsafeCell::new(Map::new()))
    }
    #[allow(clippy::mut_from_ref)]
    fn get(&self) -> &mut Map {
        // SAFETY: see the `Sync` impl: no two accesses at once in a correct program.
        unsafe { &mut *self.0.get() }
    }
}

/// Everything the threads share.
struct World {
    mutex: Mutex<Map>,
    rwlock: RwLock<Tree>,
    #[cfg(feature = "dashmap")]
    dash: maprace::DashMap<u64, u64>,
    #[cfg(feature = "parking_lot")]
    parking_lot: maprace::parking_lot::Mutex<Map>,
    #[cfg(feature = "parking_lot")]
    parking_lot_rwlock: maprace::parking_lot::RwLock<Tree>,
    once: OnceLock<Map>,
    latch: AtomicU64,
    /// Plain maps, shared by pointer: `owned[s]` is written by its owner of the phase, and
    /// `mine[t]` by thread t only; `published` through the flag; `mailbox[t]` and
    /// `condvar_box[t]` by thread t, then read by another after the hand-off.
    owned: Vec<Plain>,
    mine: Vec<Plain>,
    published: Plain,
    mailbox: Vec<Plain>,
    condvar_box: Vec<Plain>,
    latch_box: Vec<Plain>,
    child_box: Vec<Plain>,
    flag: AtomicU64,
    arrived: Mutex<u64>,
    all_arrived: Condvar,
    barrier: Barrier,
    std_barrier: std::sync::Barrier,
    /// (G): `guard_map[t]` is locked by thread t only (its guards then move), and
    /// `guard_box[t]` written by t before its guard moves and read by whoever gets the guard.
    #[cfg(feature = "dashmap")]
    guard_map: Vec<maprace::DashMap<u64, u64>>,
    guard_box: Vec<Plain>,
    /// (D): `dash_locked` is written by threads 0 and 1 only while they hold the guard of key
    /// 0 of `dash_lock`, thread 1 after thread 0 (a Relaxed std flag, `dash_done`, says when).
    #[cfg(feature = "dashmap")]
    dash_lock: maprace::DashMap<u64, u64>,
    dash_locked: Plain,
    dash_done: std::sync::atomic::AtomicU64,
    /// The mirror `GuardHandOff`: thread 0 wrote its guard box after the send.
    sent_done: std::sync::atomic::AtomicU64,
}

/// A DashMap guard of (G), as it moves between threads.
#[cfg(feature = "dashmap")]
enum Guard<'w> {
    Ref(maprace::dashmap::mapref::one::Ref<'w, u64, u64>),
    Mut(maprace::dashmap::mapref::one::RefMut<'w, u64, u64>),
    Occupied(maprace::dashmap::mapref::entry::OccupiedEntry<'w, u64, u64>),
    Vacant(maprace::dashmap::mapref::entry::VacantEntry<'w, u64, u64>),
}

#[cfg(not(feature = "dashmap"))]
struct Guard<'w>(std::marker::PhantomData<&'w ()>);

/// The key of phase p's vacant entries (absent until then).
#[cfg(feature = "dashmap")]
fn vacant_key(p: usize) -> u64 {
    100 + p as u64
}

/// Thread t's guard of (G) in phase p: its guard box written, then the guard taken (and
/// written through, if it can be).
#[cfg(feature = "dashmap")]
fn take_guard<'w>(w: &'w World, t: usize, p: usize, kind: GuardKind) -> Guard<'w> {
    use maprace::dashmap::mapref::entry::Entry;
    w.guard_box[t].get().insert(p as u64, t as u64);
    let map = &w.guard_map[t];
    match kind {
        GuardKind::Ref => Guard::Ref(map.get(&1).unwrap()),
        GuardKind::Mut => {
            let mut guard = map.get_mut(&1).unwrap();
            *guard += 1;
            Guard::Mut(guard)
        }
        GuardKind::Downgraded => {
            let mut guard = map.get_mut(&1).unwrap();
            *guard += 1;
            let guard = guard.downgrade();
            std::hint::black_box(*guard);
            Guard::Ref(guard)
        }
        GuardKind::Occupied => match map.entry(1) {
            Entry::Occupied(mut entry) => {
                *entry.get_mut() += 1;
                Guard::Occupied(entry)
            }
            Entry::Vacant(_) => unreachable!("key 1 is always there"),
        },
        GuardKind::Vacant => match map.entry(vacant_key(p)) {
            Entry::Vacant(entry) => Guard::Vacant(entry),
            Entry::Occupied(_) => unreachable!("a new key each phase"),
        },
    }
}

/// Without DashMap, no guard: nothing written (a std channel would not order it).
#[cfg(not(feature = "dashmap"))]
fn take_guard<'w>(_: &'w World, _: usize, _: usize, _: GuardKind) -> Guard<'w> {
    Guard(std::marker::PhantomData)
}

/// The use of a guard by the thread that ends up with it (a read, a write if it can), which
/// then drops it.
#[cfg(feature = "dashmap")]
fn use_guard(guard: Guard<'_>) {
    match guard {
        Guard::Ref(guard) => drop(std::hint::black_box(*guard)),
        Guard::Mut(mut guard) => *guard += 1,
        Guard::Occupied(mut entry) => {
            std::hint::black_box(*entry.get());
            *entry.get_mut() += 1;
        }
        Guard::Vacant(entry) => *entry.insert(1) += 1,
    }
}

#[cfg(not(feature = "dashmap"))]
fn use_guard(_: Guard<'_>) {}

/// (D): threads 0 and 1 write `dash_locked` under the guard of `dash_lock`'s key 0.
fn dash_locked_writes(w: &World, removed: Removed, t: usize, p: usize) {
    use std::sync::atomic::Ordering::Relaxed;
    let p = p as u64;
    #[cfg(feature = "dashmap")]
    let lock = || w.dash_lock.get_mut(&0).unwrap();
    #[cfg(not(feature = "dashmap"))]
    let lock = || w.mutex.lock().unwrap();
    if t == 0 {
        let guard = lock();
        once_at!(["locked write"], w.dash_locked.get().insert(p, 0));
        drop(guard);
        w.dash_done.store(p + 1, Relaxed);
    } else if t == 1 {
        while w.dash_done.load(Relaxed) <= p {
            std::thread::yield_now();
        }
        if removed == Removed::DashLock && p == 0 {
            once_at!(["unlocked write"], w.dash_locked.get().insert(p, 1));
        } else {
            let guard = lock();
            w.dash_locked.get().insert(p, 1);
            drop(guard);
        }
    }
}

/// Thread t's plan of (G) in phase p (the mirror `GuardHandOff` makes thread 0's a `RefMut`
/// sent through a maprace channel in phase 0).
fn guard_plan(program: &Program, removed: Removed, p: usize, t: usize) -> GuardPlan {
    if removed == Removed::GuardHandOff && p == 0 && t == 0 {
        GuardPlan {
            kind: GuardKind::Mut,
            via: Via::Channel,
            across: false,
        }
    } else {
        program.guards[p][t]
    }
}

/// (G) on thread t: its guard moves (or not), and it gets the previous thread's, if that one
/// was sent.
#[allow(clippy::too_many_arguments)]
fn guard_hand_off<'w>(
    program: &Program,
    removed: Removed,
    w: &'w World,
    t: usize,
    p: usize,
    guard: Guard<'w>,
    inbox: &GuardInbox<'w>,
    outboxes: &[GuardOutbox<'w>],
) {
    let n = program.threads;
    let plan = guard_plan(program, removed, p, t);
    let crossbeam = program.crossbeam[p];
    let next = &outboxes[(t + 1) % n];
    match plan.via {
        Via::Kept => use_guard(guard),
        Via::Channel => next.send(guard, crossbeam),
        Via::StdChannel => next.std.send(guard).unwrap(),
        Via::Scope => {
            let body = move || {
                std::hint::black_box(w.guard_box[t].get().get(&(p as u64)));
                use_guard(guard);
                w.guard_box[t].get().insert(1000 + p as u64, 1);
            };
            maprace::thread::scope(|s| drop(s.spawn(body)));
        }
        Via::StdScope => {
            let body = move || {
                std::hint::black_box(w.guard_box[t].get().get(&(p as u64)));
                use_guard(guard);
                w.guard_box[t].get().insert(1000 + p as u64, 1);
            };
            std::thread::scope(|s| s.spawn(body).join().unwrap());
        }
    }
    if matches!(plan.via, Via::Scope | Via::StdScope) {
        std::hint::black_box(w.guard_box[t].get().get(&(1000 + p as u64)));
    }
    if removed == Removed::GuardHandOff && p == 0 && t == 0 {
        let after = w.guard_box[0].get();
        once_at!(["written after the send"], after.insert(5000, 1));
        w.sent_done.store(1, std::sync::atomic::Ordering::Relaxed);
    }
    // The previous thread's guard, if it sent it.
    let from = (t + n - 1) % n;
    let key = p as u64;
    match guard_plan(program, removed, p, from).via {
        Via::Channel => {
            let guard = inbox.recv(crossbeam);
            if removed == Removed::GuardHandOff && p == 0 && t == 1 {
                while w.sent_done.load(std::sync::atomic::Ordering::Relaxed) == 0 {
                    std::thread::yield_now();
                }
                let read = once_at!(["read after the hand-off"], w.guard_box[0].get().get(&key));
                std::hint::black_box(read);
            } else {
                std::hint::black_box(w.guard_box[from].get().get(&key));
            }
            use_guard(guard);
        }
        Via::StdChannel => {
            // maprace does not see this channel: the receiver's release (or write) of the
            // guard is what orders it after the sender.
            use_guard(inbox.std.recv().unwrap());
            std::hint::black_box(w.guard_box[from].get().get(&key));
        }
        Via::Kept | Via::Scope | Via::StdScope => {}
    }
}

/// A thread's receiving ends of (G): a maprace mpsc, a crossbeam mirror, and a std mpsc.
struct GuardInbox<'w> {
    mpsc: maprace::sync::mpsc::Receiver<Guard<'w>>,
    #[cfg(feature = "crossbeam-channel")]
    crossbeam: maprace::crossbeam_channel::Receiver<Guard<'w>>,
    std: std::sync::mpsc::Receiver<Guard<'w>>,
}

struct GuardOutbox<'w> {
    mpsc: maprace::sync::mpsc::Sender<Guard<'w>>,
    #[cfg(feature = "crossbeam-channel")]
    crossbeam: maprace::crossbeam_channel::Sender<Guard<'w>>,
    std: std::sync::mpsc::Sender<Guard<'w>>,
}

impl<'w> GuardInbox<'w> {
    fn recv(&self, crossbeam: bool) -> Guard<'w> {
        #[cfg(feature = "crossbeam-channel")]
        if crossbeam {
            return self.crossbeam.recv().unwrap();
        }
        let _ = crossbeam;
        self.mpsc.recv().unwrap()
    }
}

impl<'w> GuardOutbox<'w> {
    fn send(&self, guard: Guard<'w>, crossbeam: bool) {
        #[cfg(feature = "crossbeam-channel")]
        if crossbeam {
            return self
                .crossbeam
                .send(guard)
                .unwrap_or_else(|_| panic!("receiver gone"));
        }
        let _ = crossbeam;
        self.mpsc
            .send(guard)
            .unwrap_or_else(|_| panic!("receiver gone"));
    }
}

fn guard_channels<'w>(n: usize) -> (Vec<GuardInbox<'w>>, Vec<GuardOutbox<'w>>) {
    (0..n)
        .map(|_| {
            let (mpsc_send, mpsc_recv) = maprace::sync::mpsc::channel();
            #[cfg(feature = "crossbeam-channel")]
            let (cb_send, cb_recv) = maprace::crossbeam_channel::unbounded();
            let (std_send, std_recv) = std::sync::mpsc::channel();
            (
                GuardInbox {
                    mpsc: mpsc_recv,
                    #[cfg(feature = "crossbeam-channel")]
                    crossbeam: cb_recv,
                    std: std_recv,
                },
                GuardOutbox {
                    mpsc: mpsc_send,
                    #[cfg(feature = "crossbeam-channel")]
                    crossbeam: cb_send,
                    std: std_send,
                },
            )
        })
        .unzip()
}

fn update(map: &mut Map, k: u64) {
    *map.entry(k).or_insert(0) += 1;
}

fn remove(map: &mut Map, k: u64) {
    if let maprace::collections::hash_map::Entry::Occupied(entry) = map.entry(k) {
        entry.remove();
    }
}

fn step(world: &World, t: usize, step: Step) {
    let mine = world.mine[t].get();
    match step {
        Step::Mutex(op, k) | Step::ParkingLot(op, k) => {
            let locked = |map: &mut Map| match op {
                Op::Get => drop(std::hint::black_box(map.get(&k))),
                Op::Update => update(map, k),
                Op::Remove => remove(map, k),
                Op::Iterate => drop(std::hint::black_box(map.values().sum::<u64>())),
            };
            match step {
                #[cfg(feature = "parking_lot")]
                Step::ParkingLot(..) => locked(&mut world.parking_lot.lock()),
                _ => locked(&mut world.mutex.lock().unwrap()),
            }
        }
        Step::RwLock(op, k) => match op {
            Op::Get => drop(std::hint::black_box(world.rwlock.read().unwrap().get(&k))),
            Op::Iterate => {
                let sum = world.rwlock.read().unwrap().values().sum::<u64>();
                std::hint::black_box(sum);
            }
            Op::Update => *world.rwlock.write().unwrap().entry(k).or_insert(0) += 1,
            Op::Remove => {
                let mut tree = world.rwlock.write().unwrap();
                if let maprace::collections::btree_map::Entry::Occupied(entry) = tree.entry(k) {
                    entry.remove();
                }
            }
        },
        #[cfg(feature = "dashmap")]
        Step::Dash(op, k) => match op {
            Op::Get => drop(std::hint::black_box(world.dash.get(&k).map(|v| *v))),
            Op::Update => *world.dash.entry(k).or_insert(0) += 1,
            Op::Remove => drop(world.dash.remove_if(&k, |_, v| *v > 2)),
            Op::Iterate => drop(std::hint::black_box(
                world.dash.iter().map(|item| *item).sum::<u64>(),
            )),
        },
        #[cfg(not(feature = "dashmap"))]
        Step::Dash(op, k) => self::step(world, t, Step::Mutex(op, k)),
        Step::Once(k) => {
            let map = if k % 2 == 0 {
                world.once.get_or_init(|| (1..=6).map(|k| (k, k)).collect())
            } else {
                &*LAZY
            };
            std::hint::black_box(map.get(&k));
        }
        Step::ParkingLotRwLock(op, k) => parking_lot_rwlock(world, op, k),
        Step::TryLock(op, k) => {
            let mut map = loop {
                match world.mutex.try_lock() {
                    Ok(map) => break map,
                    Err(_) => std::thread::yield_now(),
                }
            };
            match op {
                Op::Get | Op::Iterate => drop(std::hint::black_box(map.get(&k))),
                Op::Update => update(&mut map, k),
                Op::Remove => remove(&mut map, k),
            }
        }
        Step::Child(op, k) => {
            let child = world.child_box[t].get();
            let body = move || {
                self::step(world, t, Step::Mutex(op, k));
                self::step(world, t, Step::RwLock(op, k));
                update(child, k);
            };
            if k % 2 == 0 {
                std::thread::scope(|s| {
                    // The join is seen below std; the end of a std scope is not.
                    s.spawn(body).join().unwrap();
                });
            } else {
                // The end of maprace's scope joins it.
                maprace::thread::scope(|s| drop(s.spawn(body)));
            }
            std::hint::black_box(world.child_box[t].get().get(&k));
        }
        Step::Own(op, k) => match op {
            Op::Get | Op::Iterate => drop(std::hint::black_box(mine.get(&k))),
            Op::Update => update(mine, k),
            Op::Remove => remove(mine, k),
        },
    }
}

#[cfg(feature = "parking_lot")]
fn parking_lot_rwlock(world: &World, op: Op, k: u64) {
    use maprace::parking_lot::RwLockUpgradableReadGuard;
    match op {
        Op::Get | Op::Iterate => {
            std::hint::black_box(world.parking_lot_rwlock.read().get(&k));
        }
        Op::Update | Op::Remove => {
            let tree = world.parking_lot_rwlock.upgradable_read();
            let present = tree.contains_key(&k);
            let mut tree = RwLockUpgradableReadGuard::upgrade(tree);
            match (op, present) {
                (Op::Remove, true) => drop(tree.remove(&k)),
                _ => *tree.entry(k).or_insert(0) += 1,
            }
        }
    }
}

#[cfg(not(feature = "parking_lot"))]
fn parking_lot_rwlock(world: &World, op: Op, k: u64) {
    step(world, 0, Step::RwLock(op, k)); // (the mine map of thread 0 is not touched by RwLock)
}

/// Thread `t`'s run of the program.
#[allow(clippy::too_many_arguments)]
fn thread_body<'w>(
    program: &Program,
    removed: Removed,
    w: &'w World,
    t: usize,
    inbox: Inbox,
    outboxes: &[Outbox],
    guard_inbox: GuardInbox<'w>,
    guard_outboxes: &[GuardOutbox<'w>],
) {
    let n = program.threads;
    for p in 0..program.phases {
        // (A) the map this thread owns this phase: its first write, before any acquire.
        let owned = (t + p) % n;
        once_at!(["owned A"], w.owned[owned].get().insert(0, p as u64));
        // (P) thread 0 publishes, thread 1 waits for it and reads.
        let (store, load) = if removed == Removed::ReleaseAcquire {
            (Ordering::Relaxed, Ordering::Relaxed)
        } else {
            (Ordering::Release, Ordering::Acquire)
        };
        if t == 0 {
            once_at!(["published"], w.published.get().insert(p as u64, 1));
            w.flag.store(p as u64 + 1, store);
        } else if t == 1 {
            while w.flag.load(load) <= p as u64 {
                std::thread::yield_now();
            }
            once_at!(["read published"], w.published.get().get(&(p as u64)));
        }
        // (D) threads 0 and 1 write a plain map under a DashMap guard.
        dash_locked_writes(w, removed, t, p);
        // (L) the locked maps, and this thread's own (with (G)'s guard held across, maybe).
        let plan = guard_plan(program, removed, p, t);
        let held = plan.across.then(|| take_guard(w, t, p, plan.kind));
        for &s in &program.steps[p][t] {
            step(w, t, s);
        }
        // (G) the guard moves to the next thread, or to a child, or stays.
        let guard = held.unwrap_or_else(|| take_guard(w, t, p, plan.kind));
        guard_hand_off(
            program,
            removed,
            w,
            t,
            p,
            guard,
            &guard_inbox,
            guard_outboxes,
        );
        // (H) a hand-off to the next thread through a channel (a map of the sender's, moved
        // through it, and a plain map it wrote), and through a Condvar.
        w.mailbox[t].get().insert(p as u64, 1);
        let sent: Map = (0..=p as u64).map(|k| (k, t as u64)).collect();
        outboxes[(t + 1) % n].send(sent, program.crossbeam[p]);
        let received = inbox.recv(program.crossbeam[p]);
        std::hint::black_box(received.get(&(p as u64)));
        drop(received); // made by another thread, dropped here
        std::hint::black_box(w.mailbox[(t + n - 1) % n].get().get(&(p as u64)));
        w.condvar_box[t].get().insert(p as u64, 1);
        {
            let mut arrived = w.arrived.lock().unwrap();
            *arrived += 1;
            w.all_arrived.notify_all();
            let target = (p as u64 + 1) * n as u64;
            let arrived = w
                .all_arrived
                .wait_while(arrived, |arrived| *arrived < target)
                .unwrap();
            drop(arrived);
        }
        std::hint::black_box(w.condvar_box[(t + 1) % n].get().get(&(p as u64)));
        // (C) the latch: every thread counts down, the phase's waiter reads every latch map.
        let count = if removed == Removed::LatchRelease && p == 0 && t == 1 {
            None
        } else {
            Some(program.latch[p][t])
        };
        match count {
            None => {
                once_at!(["latch write"], w.latch_box[t].get().insert(p as u64, 1));
                w.latch.fetch_add(1, Ordering::Relaxed);
            }
            Some(Count::Releasing(order)) => {
                w.latch_box[t].get().insert(p as u64, 1);
                w.latch.fetch_add(1, order);
            }
            Some(Count::Fenced) => {
                w.latch_box[t].get().insert(p as u64, 1);
                maprace::sync::atomic::fence(Ordering::Release);
                w.latch.fetch_add(1, Ordering::Relaxed);
            }
            Some(Count::Relaxed) => drop(w.latch.fetch_add(1, Ordering::Relaxed)),
        }
        if t == p % n {
            let target = (p as u64 + 1) * n as u64;
            if p % 2 == 0 {
                while w.latch.load(Ordering::Acquire) < target {
                    std::thread::yield_now();
                }
            } else {
                while w.latch.load(Ordering::Relaxed) < target {
                    std::thread::yield_now();
                }
                maprace::sync::atomic::fence(Ordering::Acquire);
            }
            for (u, latch_box) in w.latch_box.iter().enumerate() {
                let wrote = !matches!(program.latch[p][u], Count::Relaxed);
                if wrote || (removed == Removed::LatchRelease && p == 0 && u == 1) {
                    let (latch_box, key) = (latch_box.get(), p as u64);
                    std::hint::black_box(once_at!(["latch read"], latch_box.get(&key)));
                }
            }
        }
        // (B) the owned map again: the last access before the barrier.
        once_at!(["owned B"], w.owned[owned].get().insert(0, p as u64));
        if p == 0 && removed == Removed::FirstBarrier {
            w.std_barrier.wait();
        } else {
            w.barrier.wait();
        }
    }
}

/// A thread's receiving end: an mpsc and a crossbeam receiver (the phase says which).
struct Inbox {
    mpsc: maprace::sync::mpsc::Receiver<Map>,
    #[cfg(feature = "crossbeam-channel")]
    crossbeam: maprace::crossbeam_channel::Receiver<Map>,
}

struct Outbox {
    mpsc: maprace::sync::mpsc::Sender<Map>,
    #[cfg(feature = "crossbeam-channel")]
    crossbeam: maprace::crossbeam_channel::Sender<Map>,
}

impl Inbox {
    fn recv(&self, crossbeam: bool) -> Map {
        #[cfg(feature = "crossbeam-channel")]
        if crossbeam {
            return self.crossbeam.recv().unwrap();
        }
        let _ = crossbeam;
        self.mpsc.recv().unwrap()
    }
}

impl Outbox {
    fn send(&self, map: Map, crossbeam: bool) {
        #[cfg(feature = "crossbeam-channel")]
        if crossbeam {
            return self.crossbeam.send(map).unwrap();
        }
        let _ = crossbeam;
        self.mpsc.send(map).unwrap();
    }
}

fn run(seed: u64, removed: Removed) {
    let program = Program::generate(seed);
    println!(
        "maprace-test: seed {seed}: {} threads, {} phases, {removed:?} removed",
        program.threads, program.phases
    );
    if std::env::var_os("MAPRACE_STRESS_PRINT").is_some() {
        println!("maprace-test: guards {:?}", program.guards);
    }
    let n = program.threads;
    let maps = |count: usize| (0..count).map(|_| Plain::new()).collect::<Vec<_>>();
    let world = World {
        mutex: Mutex::new(Map::new()),
        rwlock: RwLock::new(Tree::new()),
        #[cfg(feature = "dashmap")]
        dash: maprace::DashMap::new(),
        #[cfg(feature = "parking_lot")]
        parking_lot: maprace::parking_lot::Mutex::new(Map::new()),
        #[cfg(feature = "parking_lot")]
        parking_lot_rwlock: maprace::parking_lot::RwLock::new(Tree::new()),
        once: OnceLock::new(),
        latch: AtomicU64::new(0),
        owned: maps(n),
        mine: maps(n),
        published: Plain::new(),
        mailbox: maps(n),
        condvar_box: maps(n),
        latch_box: maps(n),
        child_box: maps(n),
        flag: AtomicU64::new(0),
        arrived: Mutex::new(0),
        all_arrived: Condvar::new(),
        barrier: Barrier::new(n),
        std_barrier: std::sync::Barrier::new(n),
        #[cfg(feature = "dashmap")]
        guard_map: (0..n).map(|_| [(1, 0)].into_iter().collect()).collect(),
        guard_box: maps(n),
        #[cfg(feature = "dashmap")]
        dash_lock: [(0, 0)].into_iter().collect(),
        dash_locked: Plain::new(),
        dash_done: std::sync::atomic::AtomicU64::new(0),
        sent_done: std::sync::atomic::AtomicU64::new(0),
    };
    let (guard_inboxes, guard_outboxes) = guard_channels(n);
    let mut inboxes = Vec::new();
    let mut outboxes = Vec::new();
    for _ in 0..n {
        let (mpsc_send, mpsc_recv) = maprace::sync::mpsc::channel();
        #[cfg(feature = "crossbeam-channel")]
        let (cb_send, cb_recv) = maprace::crossbeam_channel::unbounded();
        inboxes.push(Inbox {
            mpsc: mpsc_recv,
            #[cfg(feature = "crossbeam-channel")]
            crossbeam: cb_recv,
        });
        outboxes.push(Outbox {
            mpsc: mpsc_send,
            #[cfg(feature = "crossbeam-channel")]
            crossbeam: cb_send,
        });
    }
    for map in &world.owned {
        map.get().insert(0, 0); // before the spawns: each write of (A) and (B) is key 0's only
    }
    let (program, outboxes, w) = (&program, &outboxes, &world);
    let guard_outboxes = &guard_outboxes;
    macro_rules! spawn_all {
        ($scope:ident, $builder:ty) => {
            for (t, (inbox, guard_inbox)) in inboxes.into_iter().zip(guard_inboxes).enumerate() {
                <$builder>::new()
                    .name(format!("t{t}"))
                    .spawn_scoped($scope, move || {
                        thread_body(
                            program,
                            removed,
                            w,
                            t,
                            inbox,
                            outboxes,
                            guard_inbox,
                            guard_outboxes,
                        )
                    })
                    .unwrap();
            }
        };
    }
    if removed == Removed::Scope {
        std::thread::scope(|s| spawn_all!(s, std::thread::Builder));
    } else {
        maprace::thread::scope(|s| spawn_all!(s, maprace::thread::Builder));
    }
    // Everything the threads did happens before this (the scope joined them).
    for map in &world.owned {
        once_at!(["after the scope"], std::hint::black_box(map.get().get(&0)));
    }
    for map in world
        .mine
        .iter()
        .chain(&world.mailbox)
        .chain(&world.condvar_box)
        .chain(&world.latch_box)
        .chain(&world.child_box)
        .chain(&world.guard_box)
        .chain([&world.dash_locked])
    {
        std::hint::black_box(map.get().iter().count());
    }
    std::hint::black_box(world.published.get().len());
    let mutex = world.mutex.lock().unwrap().iter().count();
    let tree = world.rwlock.read().unwrap().iter().count();
    std::hint::black_box((mutex, tree));
    #[cfg(feature = "dashmap")]
    std::hint::black_box(world.dash.len());
    #[cfg(feature = "dashmap")]
    for map in &world.guard_map {
        std::hint::black_box(map.iter().map(|item| *item).sum::<u64>());
    }
}

fn env_number(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

scenario!(
    correct_random_programs_run_clean_with_every_check_on,
    {
        let first = env_number("MAPRACE_STRESS_FIRST", 0);
        for seed in first..first + env_number("MAPRACE_STRESS_SEEDS", 12) {
            run(seed, Removed::None);
        }
    },
    |out| out.assert_clean()
);

/// One race reported, exit 66, the current access at the site marked `current` and the
/// previous one at the site marked `previous`, each by one of the program's threads (`t0`...)
/// or, for `this_thread`, the test's own.
fn assert_race_at(out: &common::Outcome, current: &str, previous: &str, this_thread: bool) {
    if !maprace::COMPILED_IN {
        return out.assert_clean();
    }
    out.assert_report_shape(66, "stopping at the first race (exit code 66)");
    let lines: Vec<&str> = out.stderr.lines().collect();
    let headline = lines
        .iter()
        .position(|l| *l == "WARNING: MAP RACE")
        .unwrap();
    let site = |label: &str| format!(" at {}:", out.site(label));
    assert!(
        lines[headline + 1].contains(&site(current)),
        "current access at {current:?}\n{out}"
    );
    let by_current = if this_thread {
        format!("  by thread '{}' (T", out.test)
    } else {
        "  by thread 't".to_owned()
    };
    assert!(
        lines[headline + 2].starts_with(&by_current),
        "current thread\n{out}"
    );
    let previous_at = lines
        .iter()
        .position(|l| l.starts_with("Previous "))
        .unwrap_or_else(|| panic!("no previous access\n{out}"));
    assert!(
        lines[previous_at].contains(&site(previous)),
        "previous access at {previous:?}\n{out}"
    );
    assert!(
        lines[previous_at + 1].starts_with("  by thread 't"),
        "previous thread\n{out}"
    );
}

scenario!(
    the_program_with_a_relaxed_flag_is_reported,
    {
        run(
            env_number("MAPRACE_STRESS_SEED", 1),
            Removed::ReleaseAcquire,
        )
    },
    |out| assert_race_at(&out, "read published", "published", false)
);

scenario!(
    the_program_with_its_first_barrier_invisible_is_reported,
    { run(env_number("MAPRACE_STRESS_SEED", 1), Removed::FirstBarrier) },
    |out| assert_race_at(&out, "owned A", "owned B", false)
);

scenario!(
    the_program_with_a_relaxed_count_down_after_a_write_is_reported,
    { run(env_number("MAPRACE_STRESS_SEED", 1), Removed::LatchRelease) },
    |out| assert_race_at(&out, "latch read", "latch write", false)
);

scenario!(
    the_program_in_a_std_scope_is_reported,
    { run(env_number("MAPRACE_STRESS_SEED", 1), Removed::Scope) },
    |out| assert_race_at(&out, "after the scope", "owned B", true)
);

scenario!(
    #[cfg(feature = "dashmap")]
    the_program_that_writes_after_a_guard_hand_off_is_reported,
    { run(env_number("MAPRACE_STRESS_SEED", 1), Removed::GuardHandOff) },
    |out| assert_race_at(
        &out,
        "read after the hand-off",
        "written after the send",
        false
    )
);

scenario!(
    #[cfg(feature = "dashmap")]
    the_program_with_a_write_outside_the_dashmap_guard_is_reported,
    { run(env_number("MAPRACE_STRESS_SEED", 1), Removed::DashLock) },
    |out| assert_race_at(&out, "unlocked write", "locked write", false)
);

#[test]
fn programs_are_made_from_their_seed() {
    let (a, b) = (Program::generate(7), Program::generate(7));
    assert_eq!(format!("{:?}", a.steps), format!("{:?}", b.steps));
    assert_ne!(
        format!("{:?}", a.steps),
        format!("{:?}", Program::generate(8).steps)
    );
}
