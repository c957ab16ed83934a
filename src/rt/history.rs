//! `history=full`: the stack of each recorded access, kept beside the shadow (a 32-byte cell has
//! no room for it) and symbolized only when a report prints it.
//!
//! The side table is keyed by the cell's address, the access's kind and its thread, the same
//! history the cell keeps (its last write, and its reads since, one per thread), and each entry
//! says which access it is (epoch and site), so a report takes a stack only if it belongs to
//! the access the cell remembers. Stacks are raw return addresses, captured by walking the
//! stack with the unwinder: no symbols, no allocation beyond the addresses. With
//! `history=location` nothing here runs (`Access::check` tests one mode bit).

use super::cell::{Cell, Kind, Previous};
use super::clock::{Epoch, Tid};
use super::site::Site;
use super::stack::{Frame, user_frames_at};
use super::table::ShardedTable;

/// Frames kept per stack (the innermost ones, maprace's own among them).
const DEPTH: usize = 40;
/// Entries per shard before the shard is emptied (a bound on memory, not a cache policy: a long
/// run that touches millions of keys from many threads forgets the oldest stacks wholesale,
/// and a report then shows the previous access's location only).
const SHARD_LIMIT: usize = 1 << 16;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    /// The cell's address; 0 for a key's first write, made before the cell had its address.
    cell: usize,
    kind: u8,
    tid: Tid,
}

struct Entry {
    epoch: u64,
    site: u64,
    stack: Box<[usize]>,
}

static TABLE: ShardedTable<Key, Entry> = ShardedTable::new();

impl Key {
    /// What tells keys apart: cells are 32-byte aligned in practice, so their low bits say
    /// little.
    fn spread(&self) -> usize {
        (self.cell >> 5) ^ self.tid as usize
    }
}

fn kind_bits(kind: Kind) -> u8 {
    match kind {
        Kind::Read => 0,
        Kind::Write => 1,
    }
}

/// Keeps the stack of the access just checked on `cell` (`None`: a key's first write), unless
/// the cell already remembers an access of this thread's epoch that it would not replace:
/// a read stays the first of its epoch, a write the last at its site.
pub(crate) fn record(cell: Option<&Cell>, kind: Kind, epoch: Epoch, site: Site) {
    let key = Key {
        cell: cell.map_or(0, |c| c as *const Cell as usize),
        kind: kind_bits(kind),
        tid: epoch.tid(),
    };
    let epoch = epoch.without_flag().bits();
    let kept = TABLE.with(key.spread(), |table| {
        table.get(&key).is_some_and(|entry| {
            let same = entry.epoch == epoch && (kind == Kind::Read || entry.site == site.bits());
            same && key.cell != 0
        })
    });
    if kept {
        return;
    }
    let stack = capture();
    TABLE.with(key.spread(), |table| {
        if table.len() >= SHARD_LIMIT {
            table.clear();
        }
        let site = site.bits();
        table.insert(key, Entry { epoch, site, stack });
    });
}

/// The current stack's return addresses, innermost first.
fn capture() -> Box<[usize]> {
    let mut stack = [0usize; DEPTH];
    let mut len = 0;
    // SAFETY: `trace_unsynchronized` is unsafe only because it skips the crate's global lock,
    // which serializes Windows' dbghelp; the unwinder used on the platforms maprace supports
    // (unix: `_Unwind_Backtrace`) is thread-safe. The callback does not unwind.
    super::stack::capturing(|| unsafe {
        backtrace::trace_unsynchronized(|frame| {
            stack[len] = frame.ip() as usize;
            len += 1;
            len < DEPTH
        });
    });
    stack[..len].into()
}

/// For the fork handler: the table stays as it is until the guards are dropped.
pub(crate) fn hold_for_fork() -> impl Sized {
    TABLE.hold_all()
}

/// The user's part of the stack kept for `previous` on `cell`, symbolized now.
pub(crate) fn find(cell: &Cell, previous: &Previous) -> Option<Vec<Frame>> {
    if super::mode() & super::HISTORY == 0 {
        return None;
    }
    let key = Key {
        cell: cell as *const Cell as usize,
        kind: kind_bits(previous.kind),
        tid: previous.epoch.tid(),
    };
    let (epoch, site) = (previous.epoch.without_flag().bits(), previous.site.bits());
    let matches = |entry: &Entry| entry.epoch == epoch && entry.site == site;
    let exact = TABLE.with(key.spread(), |table| {
        table
            .get(&key)
            .filter(|e| matches(e))
            .map(|e| e.stack.clone())
    });
    // Not under the cell's address: the key's first write (made before the cell had one), or a
    // cell the table moved when it grew. Any stack of the same access (thread, epoch, site) is
    // the one: the same site in the same epoch is, but for recursion, the same call path.
    let stack = exact.or_else(|| {
        TABLE.find_map(|table| {
            table
                .iter()
                .find(|(k, e)| k.kind == key.kind && k.tid == key.tid && matches(e))
                .map(|(_, e)| e.stack.clone())
        })
    })?;
    Some(user_frames_at(&stack))
}
