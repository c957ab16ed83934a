//! Stacks in reports: captured unresolved (cheap) where they are taken, symbolized only when a
//! report prints them, and cut to the user's part (maprace's own frames, the standard library's
//! and the unwinder's go).

use super::site::SourcePos;
use backtrace::Backtrace;
use std::fmt;

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

/// The stack of the access a report is about, unresolved (`Backtrace::resolve` before it is
/// printed).
pub(crate) fn capture() -> Backtrace {
    Backtrace::new_unresolved()
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

impl Frame {
    /// Not maprace, the unwinder, the standard library (by its sources: generic std code such
    /// as `<&mut T as Debug>::fmt` has no std path in its name) or the C runtime.
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
