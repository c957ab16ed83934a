//! Stacks in reports: captured unresolved (cheap) where they are taken, symbolized only when a
//! report prints them, and cut to the user's part (maprace's own frames, the standard library's
//! and the unwinder's go).

use super::lock;
use super::site::SourcePos;
use backtrace::Backtrace;
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::sync::{Mutex, PoisonError, RwLock, RwLockWriteGuard};

/// Held shared around each stack capture and symbolization of maprace's, and exclusively by the
/// fork handler (`rt::before_fork`): so no other thread of maprace's is inside the unwinder, or
/// holds the `backtrace` crate's global lock, at a fork, where the child could never take them.
static CAPTURE: RwLock<()> = RwLock::new(());

/// Runs `f`, which captures or symbolizes a stack, out of the way of a fork.
pub(crate) fn capturing<R>(f: impl FnOnce() -> R) -> R {
    let _capturing = CAPTURE.read().unwrap_or_else(PoisonError::into_inner);
    f()
}

/// For the fork handler: no capture runs until the guard is dropped.
pub(crate) fn hold_for_fork() -> RwLockWriteGuard<'static, ()> {
    CAPTURE.write().unwrap_or_else(PoisonError::into_inner)
}

/// For the fork handler: `drop_path`'s cache stays as it is until the guard is dropped (it is
/// taken before the capture lock, which `drop_path` takes under it).
pub(crate) fn hold_frames_for_fork() -> impl Sized {
    lock(&SEEN_FRAMES)
}

/// One symbolized stack frame.
pub(crate) struct Frame {
    pub(crate) function: String,
    pub(crate) file: Option<SourcePos>,
}

/// The user's part of a stack: from the first frame that is not maprace, the standard library
/// or the unwinder, to the frame above the runtime's entry into user code.
pub(crate) fn user_frames(bt: &Backtrace) -> Vec<Frame> {
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
    capturing(|| {
        for &address in addresses {
            backtrace::resolve(address as *mut std::ffi::c_void, |symbol| {
                let file = symbol.filename().map(|f| {
                    let position = (symbol.lineno(), symbol.colno());
                    (f.to_string_lossy().into_owned(), position)
                });
                symbols.push((symbol.name().map(|name| format!("{name:#}")), file));
            });
        }
    });
    select_user(symbols.into_iter())
}

/// The stack of the access a report is about, unresolved (`Backtrace::resolve` before it is
/// printed).
pub(crate) fn capture() -> Backtrace {
    capturing(Backtrace::new_unresolved)
}

/// Symbolizes `stack` (see `capture`).
pub(crate) fn resolve(stack: &mut Backtrace) {
    capturing(|| stack.resolve());
}

/// How a map's drop was reached, as the stack of the drop tells.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum DropPath {
    /// Through the last `Arc` to the map going away (`Arc::drop_slow`, which std never
    /// inlines): the reference count synchronized every access made through any clone (each
    /// clone's drop releases, the last one acquires), so they all happen before this drop.
    LastArc,
    /// Any other way: the end of a scope, an assignment, `drop_in_place`, `Rc`'s last reference
    /// (whose clones never leave their thread, so it orders no other thread's access), ...
    Other,
    /// The stack has no symbols (a stripped binary): it cannot tell.
    Unknown,
}

/// What a return address in a drop's stack is, as `drop_path` needs it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FrameIs {
    ArcDropSlow,
    Named,
    Unnamed,
}

/// Each return address `drop_path` has met, resolved once: a program that frees snapshots
/// through the last `Arc` over and over meets the same few, and symbolizing a whole stack
/// costs milliseconds. Bounded by the code's size.
static SEEN_FRAMES: Mutex<Option<HashMap<usize, FrameIs>>> = Mutex::new(None);

/// How the drop whose stack (resolved or not) is `stack` was reached.
pub(crate) fn drop_path(stack: &Backtrace) -> DropPath {
    let mut seen = lock(&SEEN_FRAMES);
    let seen = seen.get_or_insert_with(HashMap::new);
    let frames = stack.frames().iter().map(|frame| {
        let ip = frame.ip() as usize;
        *seen.entry(ip).or_insert_with(|| {
            let mut names = Vec::new();
            // A return address is one past its call: look up the call's own byte.
            capturing(|| {
                backtrace::resolve(ip.saturating_sub(1) as *mut std::ffi::c_void, |symbol| {
                    names.push(symbol.name().map(|name| format!("{name:#}")));
                });
            });
            match drop_path_of(names.iter().map(Option::as_deref)) {
                DropPath::LastArc => FrameIs::ArcDropSlow,
                DropPath::Other => FrameIs::Named,
                DropPath::Unknown => FrameIs::Unnamed,
            }
        })
    });
    let mut named = false;
    for frame in frames {
        match frame {
            FrameIs::ArcDropSlow => return DropPath::LastArc,
            FrameIs::Named => named = true,
            FrameIs::Unnamed => {}
        }
    }
    if named {
        DropPath::Other
    } else {
        DropPath::Unknown
    }
}

/// `drop_path`, from the stack's function names (`None`: a frame without a symbol).
fn drop_path_of<'a>(names: impl Iterator<Item = Option<&'a str>>) -> DropPath {
    let mut named = false;
    for name in names.flatten() {
        named = true;
        // `alloc::sync::Arc<T,A>::drop_slow` (legacy mangling) or
        // `<alloc::sync::Arc<..>>::drop_slow` (v0).
        if name
            .trim_start_matches('<')
            .starts_with("alloc::sync::Arc<")
            && name.ends_with("::drop_slow")
        {
            return DropPath::LastArc;
        }
    }
    if named {
        DropPath::Other
    } else {
        DropPath::Unknown
    }
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
            .map(|(path, (line, col))| SourcePos::new(&path, line.unwrap_or(0), col.unwrap_or(0)));
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
pub(crate) fn is_std_source(file: &str) -> bool {
    file.starts_with("/rustc/")
}

/// maprace's own sources, as `Location` names them in this build.
fn is_own_source(file: &str) -> bool {
    let own = file!(); // `<maprace's src>/rt/stack.rs`
    let src = &own[..own.len() - "rt/stack.rs".len()];
    !src.is_empty() && file.starts_with(src)
}

/// Where an operation was called: `location`, its `#[track_caller]` site, unless that is not
/// the user's: `#[track_caller]` does not cross the standard library's dynamic calls (`Debug`
/// through `format!`), which leave the site in std's sources or in maprace's own, and drop glue
/// has no caller location at all (`None`). Then the user's line is the first of `stack` (the
/// operation's; for a drop, the frame that dropped the map, at the line the compiler attributes
/// the drop to: the end of the scope, the assignment, the `drop_in_place` call).
pub(crate) fn user_site(location: Option<&'static Location<'static>>, stack: &[Frame]) -> String {
    if let Some(location) =
        location.filter(|l| !is_std_source(l.file()) && !is_own_source(l.file()))
    {
        return SourcePos::of(location).to_string();
    }
    let from_stack = stack
        .iter()
        .filter(|frame| frame.is_user())
        .find_map(|frame| frame.file.as_ref());
    match (from_stack, location) {
        (Some(pos), _) => pos.to_string(),
        (None, Some(location)) => SourcePos::of(location).to_string(),
        (None, None) => "an unknown site".to_owned(),
    }
}

impl Frame {
    /// Not maprace (nor dashmap, the base of its mirror), the unwinder, the standard library
    /// (by its sources: generic std code such as `<&mut T as Debug>::fmt` has no std path in
    /// its name) or the C runtime.
    pub(crate) fn is_user(&self) -> bool {
        if self
            .file
            .as_ref()
            .is_some_and(|pos| is_std_source(&pos.file))
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
        // The DashMap mirror's base: a check-then-act's act is checked inside dashmap's
        // `remove_if`/`entry` (under the shard's lock), whose frames are maprace's machinery.
        "dashmap::",
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

/// A stack as reports print it: a frame a line, each followed by its `at file:line:col`.
pub(crate) struct Stack<'a>(pub(crate) &'a [Frame]);

impl fmt::Display for Stack<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for frame in self.0 {
            writeln!(f, "    {}", frame.function)?;
            if let Some(pos) = &frame.file {
                writeln!(f, "      at {pos}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drop_through_the_last_arc_is_known_by_arc_drop_slow() {
        let path = |names: &[Option<&str>]| drop_path_of(names.iter().copied());
        let inner = [
            Some("maprace::rt::map::Access::report"),
            Some("<maprace::rt::map::MapShadow as core::ops::drop::Drop>::drop"),
            Some("core::ptr::drop_in_place<maprace::rt::map::MapShadow>"),
        ];
        for arc in [
            "alloc::sync::Arc<T,A>::drop_slow",
            "<alloc::sync::Arc<maprace::HashMap<u32, u32>>>::drop_slow",
        ] {
            let stack = [&inner[..], &[Some(arc), Some("app::main")]].concat();
            assert_eq!(path(&stack), DropPath::LastArc, "{arc}");
        }
        let scope_end = [&inner[..], &[Some("app::main")]].concat();
        assert_eq!(path(&scope_end), DropPath::Other);
        let rc = [&inner[..], &[Some("alloc::rc::Rc<T,A>::drop_slow")]].concat();
        assert_eq!(path(&rc), DropPath::Other);
        assert_eq!(path(&[Some("app::Arc<T>::drop_slow")]), DropPath::Other);
        assert_eq!(path(&[None, None, None]), DropPath::Unknown);
    }
}
