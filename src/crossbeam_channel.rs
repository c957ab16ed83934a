//! A drop-in for [`crossbeam_channel`](https://docs.rs/crossbeam-channel/0.5) whose messages
//! are visible to maprace (the `crossbeam-channel` feature): each message carries its sender's
//! clock, released when it is sent and acquired when it is received, as
//! [`maprace::sync::mpsc`](crate::sync::mpsc)'s do.
//!
//! Mirrored: `unbounded`, `bounded`, `Sender`, `Receiver` (both cloneable: many producers and
//! many consumers) with their sends, receives (`recv`, `try_recv`, `recv_timeout`,
//! `recv_deadline`) and iterators. Not mirrored: `select!`/`Select` and the timer channels
//! (`after`, `tick`, `at`, `never`), which work on crossbeam's own types. The error types are
//! crossbeam's own. With the detector compiled out, every item here is crossbeam's own.

#[cfg(maprace_detect)]
mod mirror;

#[cfg(maprace_detect)]
pub use mirror::{IntoIter, Iter, Receiver, Sender, TryIter, bounded, unbounded};

#[cfg(not(maprace_detect))]
pub use crossbeam_channel::{IntoIter, Iter, Receiver, Sender, TryIter, bounded, unbounded};

pub use crossbeam_channel::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
