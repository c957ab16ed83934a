//! The race report: a value (`RaceReport`, with `Display` in Go's `-race` shape) that
//! `report::emit` prints under the policy every finding shares.

use super::cell::{Kind, Previous};
use super::clock::Epoch;
use super::report::{Capitalized, Finding, RULE, ThreadLabel};
use super::site::{Op, Site, SourcePos};
use super::stack::{self, Frame, Stack};
use super::stats::FindingKind;
use super::thread;
use backtrace::Backtrace;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The map an access was made on, as a report names it.
pub(crate) struct MapLabel {
    pub(crate) name: String,
    pub(crate) type_name: String,
    pub(crate) created_at: &'static Location<'static>,
}

/// The access that found the race.
pub(crate) struct CurrentAccess {
    pub(crate) kind: Kind,
    pub(crate) op: Op,
    /// Where it was made, when the call site is known (a drop's is not: see `current_site`).
    pub(crate) location: Option<&'static Location<'static>>,
    /// The key it was made with, if any (`len` has none).
    pub(crate) key: Option<String>,
    /// The epoch of the access: its thread's slot and clock (slots are reused over time).
    pub(crate) epoch: Epoch,
}

/// A map race: two accesses to the same cell, from different threads, at least one a write,
/// neither happening before the other (or overlapping in time).
pub(crate) struct RaceReport {
    pub(crate) current: CurrentAccess,
    pub(crate) previous: Previous,
    /// The conflict is on the previous access's key (`true`) or on the map's structure.
    pub(crate) on_key: bool,
    pub(crate) map: MapLabel,
    /// Symbolized stack of the current access, maprace's own frames cut.
    pub(crate) stack: Vec<Frame>,
    /// The previous access's stack, when `history=full` kept it.
    pub(crate) previous_stack: Option<Vec<Frame>>,
}

/// A race's identity (see `Finding::identity`): the two sites. Known before the report is
/// made, so `report::is_new` can be asked first.
pub(crate) fn identity(current: Site, previous: Site) -> [u64; 3] {
    [current.bits(), previous.bits(), 0]
}

/// Race reports made, each with its stack captured and symbolized (`reports_made`).
static MADE: AtomicU64 = AtomicU64::new(0);

/// How many race reports were made: a repeated race must not make one (the tests count).
pub(crate) fn reports_made() -> u64 {
    MADE.load(Relaxed)
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Read => "read",
        Kind::Write => "write",
    }
}

impl RaceReport {
    /// The report of `current`, whose stack is `stack`.
    pub(crate) fn new(
        current: CurrentAccess,
        previous: Previous,
        on_key: bool,
        map: MapLabel,
        stack: &Backtrace,
    ) -> RaceReport {
        MADE.fetch_add(1, Relaxed);
        RaceReport {
            current,
            previous,
            on_key,
            map,
            stack: stack::user_frames(stack),
            previous_stack: None,
        }
    }

    /// Adds the previous access's stack (`history=full`).
    pub(crate) fn with_previous_stack(mut self, stack: Option<Vec<Frame>>) -> RaceReport {
        self.previous_stack = stack.filter(|frames| !frames.is_empty());
        self
    }

    /// Where the current access happened. `#[track_caller]` does not cross the standard
    /// library's dynamic calls (`Debug` through `format!`), and drop glue has no caller
    /// location at all: then the user's line is the stack's first (for a drop, the frame that
    /// dropped the map, at the line the compiler attributes the drop to: the end of the scope,
    /// the assignment, the `drop_in_place` call).
    fn current_site(&self) -> String {
        stack::user_site(self.current.location, &self.stack)
    }

    /// Where the previous access happened.
    fn previous_site(&self) -> String {
        match self.previous.site.location() {
            Some(location) => SourcePos::of(location).to_string(),
            None => "an unknown site".to_owned(),
        }
    }

    fn hint(&self) -> String {
        let other = self.previous.epoch;
        if self.previous.in_progress {
            return format!(
                "The two accesses overlapped in time: {} was still inside its {} when this one began.",
                ThreadLabel(other),
                self.previous.site.op().name()
            );
        }
        let general = format!(
            "maprace saw no synchronization between these two accesses. If something does order\n\
             them, make it visible: use maprace::sync and maprace::thread (or put #[maprace::track]\n\
             on the item that declares the lock), mark it with maprace::annotate::{{release, acquire}},\n\
             or run with MAPRACE_OPTIONS=sync=assume to report only accesses that overlap in time.{}",
            MIRRORS_HINT
        );
        let other_info = thread::info(other);
        let created_here = other_info
            .as_ref()
            .zip(thread::info(self.current.epoch))
            .is_some_and(|(other, me)| other.parent() == Some(me.serial));
        if !created_here && !other_info.is_some_and(|t| t.has_ended()) {
            return general;
        }
        let how = if created_here {
            "was created by this thread"
        } else {
            "had ended"
        };
        format!(
            "{general}\n{} {how}, and nothing maprace sees waited for it: a join\n\
             does, the end of a std::thread::scope does not (use maprace::thread::scope, or\n\
             #[maprace::track], which rewrites thread::scope).",
            Capitalized(ThreadLabel(other))
        )
    }
}

impl Finding for RaceReport {
    fn kind(&self) -> FindingKind {
        FindingKind::Race
    }

    /// Two accesses that the same operation site makes over and over are one race.
    fn identity(&self) -> [u64; 3] {
        let location = self.current.location.unwrap_or(self.map.created_at);
        identity(Site::new(self.current.op, location), self.previous.site)
    }

    fn event(&self) {
        let (current, previous) = (&self.current, &self.previous);
        tracing::error!(
            target: "maprace",
            kind = "race",
            access = kind_word(current.kind),
            op = current.op.name(),
            key = current.key.as_deref(),
            map = self.map.name.as_str(),
            map_type = self.map.type_name.as_str(),
            site = self.current_site().as_str(),
            thread = ThreadLabel(current.epoch).to_string().as_str(),
            previous_access = kind_word(previous.kind),
            previous_op = previous.site.op().name(),
            previous_site = self.previous_site().as_str(),
            previous_thread = ThreadLabel(previous.epoch).to_string().as_str(),
            map_created_at = SourcePos::of(self.map.created_at).to_string().as_str(),
            "WARNING: MAP RACE: {} ({}) in {} at {}",
            kind_word(current.kind),
            current.op.name(),
            self.map.name,
            self.current_site()
        );
    }
}

impl fmt::Display for RaceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (current, previous, map) = (&self.current, &self.previous, &self.map);
        writeln!(f, "{RULE}")?;
        writeln!(f, "WARNING: MAP RACE")?;
        let kind = match current.kind {
            Kind::Read => "Read",
            Kind::Write => "Write",
        };
        let what = match &current.key {
            Some(key) => format!("of key {key} in {}", map.name),
            None => format!("of {}", map.name),
        };
        writeln!(
            f,
            "{kind} ({}) {what} ({}) at {}",
            current.op.name(),
            map.type_name,
            self.current_site()
        )?;
        writeln!(f, "  by {}:", ThreadLabel(current.epoch))?;
        write!(f, "{}", Stack(&self.stack))?;
        writeln!(f)?;

        let of = match (&current.key, self.on_key) {
            (Some(key), true) => format!("of key {key}"),
            _ => "of the map's structure".to_owned(),
        };
        let status = if previous.in_progress {
            ", still in progress,"
        } else {
            ""
        };
        writeln!(
            f,
            "Previous {} ({}) {of}{status} at {}",
            kind_word(previous.kind),
            previous.site.op().name(),
            self.previous_site(),
        )?;
        match &self.previous_stack {
            Some(stack) => {
                writeln!(f, "  by {}:", ThreadLabel(previous.epoch))?;
                write!(f, "{}", Stack(stack))?;
            }
            None => writeln!(f, "  by {}", ThreadLabel(previous.epoch))?,
        }

        let mut threads = vec![current.epoch, previous.epoch];
        threads.dedup_by_key(|epoch| thread::info(*epoch).map(|t| t.serial));
        for epoch in threads {
            let Some(created_at) = thread::info(epoch).and_then(|t| t.created_at()) else {
                continue; // the main thread, or one created before maprace could see it
            };
            writeln!(f)?;
            writeln!(f, "{} created at:", Capitalized(ThreadLabel(epoch)))?;
            write!(f, "{}", Stack(&stack::user_frames(&created_at)))?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "Map {} created at {}",
            map.name,
            SourcePos::of(map.created_at)
        )?;
        writeln!(f)?;
        writeln!(f, "{}", self.hint())?;
        writeln!(f, "{RULE}")
    }
}

/// The diagnosis's sentence about the mirrors of other crates that maprace was built with: the
/// program then depends on those crates, and a lock maprace saw nothing of is likely theirs.
const MIRRORS_HINT: &str = match (
    cfg!(feature = "parking_lot"),
    cfg!(feature = "crossbeam-channel"),
) {
    (true, true) => {
        "\nThis program uses parking_lot and crossbeam-channel (maprace has both features): their\n\
         locks and channels are visible as maprace::parking_lot and maprace::crossbeam_channel,\n\
         which #[maprace::track] puts in place of parking_lot:: and crossbeam_channel:: paths."
    }
    (true, false) => {
        "\nThis program uses parking_lot (maprace has its parking_lot feature): its locks are\n\
         visible as maprace::parking_lot, which #[maprace::track] puts in place of parking_lot::\n\
         paths."
    }
    (false, true) => {
        "\nThis program uses crossbeam-channel (maprace has its crossbeam-channel feature): its\n\
         channels are visible as maprace::crossbeam_channel, which #[maprace::track] puts in\n\
         place of crossbeam_channel:: paths."
    }
    (false, false) => "",
};
