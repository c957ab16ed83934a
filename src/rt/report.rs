//! A race report is a value (`Report`, with `Display` in Go's `-race` shape); where it goes and
//! what happens next (exit, abort, panic, go on) is the policy in `emit`.

use super::cell::{Kind, Previous};
use super::clock::Epoch;
use super::lock;
use super::options::{self, Action};
use super::site::{Op, Site};
use super::{os, thread};
use backtrace::Backtrace;
use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::panic::Location;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

const RULE: &str = "==================";

/// The map an access was made on, as a report names it.
pub(crate) struct MapLabel {
    pub(crate) name: String,
    pub(crate) type_name: String,
    pub(crate) created_at: &'static Location<'static>,
}

/// The access that found the race.
pub(crate) struct Current {
    pub(crate) kind: Kind,
    pub(crate) op: Op,
    pub(crate) location: &'static Location<'static>,
    /// The key it was made with, if any (`len` has none).
    pub(crate) key: Option<String>,
    /// The epoch of the access: its thread's slot and clock (slots are reused over time).
    pub(crate) epoch: Epoch,
}

/// A map race: two accesses to the same cell, from different threads, at least one a write,
/// neither happening before the other (or overlapping in time).
pub(crate) struct Report {
    pub(crate) current: Current,
    pub(crate) previous: Previous,
    /// The conflict is on the previous access's key (`true`) or on the map's structure.
    pub(crate) on_key: bool,
    pub(crate) map: MapLabel,
    /// Symbolized stack of the current access, maprace's own frames cut.
    pub(crate) stack: Vec<Frame>,
    /// The previous access's stack, when `history=full` kept it.
    pub(crate) previous_stack: Option<Vec<Frame>>,
}

/// One symbolized stack frame.
pub(crate) struct Frame {
    function: String,
    file: Option<(String, u32, u32)>,
}

/// The user's part of a stack: from the first frame that is not maprace, the standard library
/// or the unwinder, to the frame above the runtime's entry into user code.
fn user_frames(bt: &Backtrace) -> Vec<Frame> {
    let symbols = bt.frames().iter().flat_map(|frame| frame.symbols());
    select_user(symbols.map(|symbol| {
        let file = symbol.filename().map(|f| {
            let position = (symbol.lineno(), symbol.colno());
            (f.to_string_lossy().into_owned(), position)
        });
        (symbol.name().map(|name| format!("{name:#}")), file)
    }))
}

/// `user_frames` of a stack kept as raw return addresses (`history=full`), symbolized now.
pub(crate) fn user_frames_at(addresses: &[usize]) -> Vec<Frame> {
    let mut symbols = Vec::new();
    for &address in addresses {
        backtrace::resolve(address as *mut std::ffi::c_void, |symbol| {
            let file = symbol.filename().map(|f| {
                let position = (symbol.lineno(), symbol.colno());
                (f.to_string_lossy().into_owned(), position)
            });
            symbols.push((symbol.name().map(|name| format!("{name:#}")), file));
        });
    }
    select_user(symbols.into_iter())
}

type Symbol = (Option<String>, Option<(String, (Option<u32>, Option<u32>))>);

fn select_user(symbols: impl Iterator<Item = Symbol>) -> Vec<Frame> {
    let mut frames = Vec::new();
    for (name, file) in symbols {
        let Some(function) = name else { continue };
        if function.contains("__rust_begin_short_backtrace")
            || function.starts_with("std::rt::lang_start")
        {
            break;
        }
        let file = file
            .map(|(path, (line, col))| (display_path(&path), line.unwrap_or(0), col.unwrap_or(0)));
        let frame = Frame { function, file };
        if frames.is_empty() && !frame.is_user() {
            continue;
        }
        frames.push(frame);
    }
    // What is left below the user's outermost frame is the runtime's (`FnOnce::call_once`...).
    while frames.last().is_some_and(|f| !f.is_user()) {
        frames.pop();
    }
    frames
}

/// Where the Rust toolchain's own sources are, as its debug info names them.
fn is_std_source(file: &str) -> bool {
    file.starts_with("/rustc/")
}

impl Frame {
    /// Not maprace, the unwinder, the standard library (by its sources: generic std code such
    /// as `<&mut T as Debug>::fmt` has no std path in its name) or the C runtime.
    fn is_user(&self) -> bool {
        if self
            .file
            .as_ref()
            .is_some_and(|(file, ..)| is_std_source(file))
        {
            return false;
        }
        is_user(&self.function)
    }
}

fn is_user(function: &str) -> bool {
    let function = function.trim_start_matches('<');
    ![
        "maprace::",
        "backtrace::",
        "std::",
        "core::",
        "alloc::",
        "__",
    ]
    .iter()
    .any(|prefix| function.starts_with(prefix))
        && !matches!(
            function,
            "pthread_create" | "start_thread" | "clone" | "clone3"
        )
}

/// A path as reports print it: relative to the current directory when under it, then with
/// `strip_path_prefix` cut.
pub(crate) fn display_path(path: &str) -> String {
    let mut path = path;
    let cwd = std::env::current_dir().ok();
    let cwd = cwd.as_ref().and_then(|d| d.to_str());
    if let Some(rest) = cwd.and_then(|cwd| path.strip_prefix(cwd)) {
        path = rest.trim_start_matches('/');
    }
    if let Some(rest) = options::get()
        .strip_path_prefix
        .as_deref()
        .and_then(|prefix| path.strip_prefix(prefix))
    {
        path = rest;
    }
    path.to_owned()
}

struct At(&'static Location<'static>);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = self.0;
        write!(f, "{}:{}:{}", display_path(l.file()), l.line(), l.column())
    }
}

/// A thread as reports name it, found by the epoch of one of its accesses.
struct ThreadLabel(Epoch);

impl fmt::Display for ThreadLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match thread::info(self.0) {
            Some(t) => write!(f, "thread '{}' (T{})", t.name(), t.serial),
            None => write!(f, "thread '?' (slot {})", self.0.tid()),
        }
    }
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Read => "read",
        Kind::Write => "write",
    }
}

fn write_stack(f: &mut fmt::Formatter<'_>, frames: &[Frame]) -> fmt::Result {
    for frame in frames {
        writeln!(f, "    {}", frame.function)?;
        if let Some((file, line, col)) = &frame.file {
            writeln!(f, "      at {file}:{line}:{col}")?;
        }
    }
    Ok(())
}

impl Report {
    pub(crate) fn new(current: Current, previous: Previous, on_key: bool, map: MapLabel) -> Report {
        Report {
            current,
            previous,
            on_key,
            map,
            stack: user_frames(&Backtrace::new()),
            previous_stack: None,
        }
    }

    /// Adds the previous access's stack (`history=full`).
    pub(crate) fn with_previous_stack(mut self, stack: Option<Vec<Frame>>) -> Report {
        self.previous_stack = stack.filter(|frames| !frames.is_empty());
        self
    }

    /// The report as a `tracing` event (target `maprace`, ERROR), for programs that collect
    /// their diagnostics through a subscriber. maprace installs none.
    fn event(&self) {
        let (current, previous) = (&self.current, &self.previous);
        let previous_site = previous
            .site
            .location()
            .map_or_else(|| "an unknown site".to_owned(), |l| At(l).to_string());
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
            previous_site = previous_site.as_str(),
            previous_thread = ThreadLabel(previous.epoch).to_string().as_str(),
            map_created_at = At(self.map.created_at).to_string().as_str(),
            "WARNING: MAP RACE: {} ({}) in {} at {}",
            kind_word(current.kind),
            current.op.name(),
            self.map.name,
            self.current_site()
        );
    }

    /// Two accesses that the same operation site makes over and over are one race.
    fn identity(&self) -> (u64, u64) {
        let here = Site::new(self.current.op, self.current.location).bits();
        (here, self.previous.site.bits())
    }

    /// Where the current access happened. `#[track_caller]` does not cross the standard
    /// library's dynamic calls (`Debug` through `format!`, drop glue): then the user's line is
    /// the stack's first.
    fn current_site(&self) -> String {
        let location = self.current.location;
        if !is_std_source(location.file()) {
            return At(location).to_string();
        }
        self.stack
            .iter()
            .filter(|frame| frame.is_user())
            .find_map(|frame| frame.file.as_ref())
            .map_or_else(
                || At(location).to_string(),
                |(file, line, col)| format!("{file}:{line}:{col}"),
            )
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
        let general = "maprace saw no synchronization between these two accesses. If something does order\n\
             them, make it visible: use maprace::sync and maprace::thread (or put #[maprace::track]\n\
             on the item that declares the lock), mark it with maprace::annotate::{release, acquire},\n\
             or run with MAPRACE_OPTIONS=sync=assume to report only accesses that overlap in time.";
        let other_info = thread::info(other);
        let created_here = other_info
            .as_ref()
            .zip(thread::info(self.current.epoch))
            .is_some_and(|(other, me)| other.parent() == Some(me.serial));
        if !created_here && !other_info.is_some_and(|t| t.has_ended()) {
            return general.to_owned();
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

impl fmt::Display for Report {
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
        write_stack(f, &self.stack)?;
        writeln!(f)?;

        let of = match (&current.key, self.on_key) {
            (Some(key), true) => format!("of key {key}"),
            _ => "of the map's structure".to_owned(),
        };
        let site = match previous.site.location() {
            Some(location) => At(location).to_string(),
            None => "an unknown site".to_owned(),
        };
        let status = if previous.in_progress {
            ", still in progress,"
        } else {
            ""
        };
        writeln!(
            f,
            "Previous {} ({}) {of}{status} at {site}",
            kind_word(previous.kind),
            previous.site.op().name(),
        )?;
        match &self.previous_stack {
            Some(stack) => {
                writeln!(f, "  by {}:", ThreadLabel(previous.epoch))?;
                write_stack(f, stack)?;
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
            write_stack(f, &user_frames(&created_at))?;
        }
        writeln!(f)?;
        writeln!(f, "Map {} created at {}", map.name, At(map.created_at))?;
        writeln!(f)?;
        writeln!(f, "{}", self.hint())?;
        writeln!(f, "{RULE}")
    }
}

struct Capitalized<T>(T);

impl<T: fmt::Display> fmt::Display for Capitalized<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        let mut chars = text.chars();
        if let Some(first) = chars.next() {
            f.write_char(first.to_ascii_uppercase())?;
        }
        f.write_str(chars.as_str())
    }
}

/// Races reported so far.
static RACES: AtomicUsize = AtomicUsize::new(0);

/// Races reported so far.
pub(crate) fn races() -> usize {
    RACES.load(Ordering::Relaxed)
}

/// Serializes reports, remembers which were printed, and is never released once the program
/// is stopping, so no other report interleaves with the last one.
static PRINTED: Mutex<Option<HashSet<(u64, u64)>>> = Mutex::new(None);

/// Prints `report` and applies the policy of `halt_on_error` and `action`.
#[cold]
#[inline(never)]
pub(crate) fn emit(report: Report) {
    // A report made while this thread is already reporting is dropped: the lock is not
    // reentrant. That is a `tracing` subscriber that uses a tracked map, or a thread-local
    // destructor that the stopping report's `exit` runs on this thread and that races again
    // (waiting for the lock would hang the exit). Other threads that report meanwhile wait for
    // the lock, which a stopping report never releases, and end with the process.
    if REPORTING.get() {
        return;
    }
    REPORTING.set(true);
    let _reporting = OnDrop(|| REPORTING.set(false));
    let options = options::get();
    let mut printed = lock(&PRINTED);
    if !printed
        .get_or_insert_with(HashSet::new)
        .insert(report.identity())
    {
        return;
    }
    let count = RACES.fetch_add(1, Ordering::Relaxed) + 1;
    let mut text = report.to_string();
    let stopping = options.halt_on_error || options.action == Action::Abort;
    match options.action {
        Action::Exit if stopping => {
            let _ = writeln!(
                text,
                "maprace: stopping at the first race (exit code {})",
                options.exitcode
            );
        }
        Action::Abort => text.push_str("maprace: stopping at the first race (abort)\n"),
        _ => {}
    }
    write_out(&text);
    report.event();
    match options.action {
        Action::Exit if stopping => {
            std::mem::forget(printed);
            std::process::exit(options.exitcode)
        }
        Action::Abort => {
            std::mem::forget(printed);
            std::process::abort()
        }
        Action::Panic => {
            drop(printed);
            // A second panic while unwinding would abort the process, not fail one test.
            if !std::thread::panicking() {
                panic!("maprace: map race (see the report above)");
            }
        }
        Action::Exit => {
            if count == 1 {
                os::at_exit(at_exit_with_races);
            }
        }
    }
}

thread_local! {
    /// This thread is inside `emit`.
    static REPORTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs a closure when dropped (also when unwinding).
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

extern "C" fn at_exit_with_races() {
    super::stats::exit_summary();
    let races = RACES.load(Ordering::Relaxed);
    write_out(&format!("maprace: found {races} race(s)\n"));
    os::exit_now(options::get().exitcode);
}

/// Writes to stderr, or to `<log_path>.<pid>` (falling back to stderr if it cannot be opened).
pub(crate) fn write_out(text: &str) {
    if let Some(path) = &options::get().log_path {
        let path = format!("{path}.{}", std::process::id());
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path);
        if file
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .is_ok()
        {
            return;
        }
        eprintln!("maprace: cannot write to {path}; reporting on stderr");
    }
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}
