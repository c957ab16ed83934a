//! The clocks of the channel mirrors (`maprace::sync::mpsc`, `maprace::crossbeam_channel`).
//!
//! Each message carries its sender's clock (`MessageClock`), released at the send and acquired
//! at the receive. The edge is per message (precise): receiving one message orders the receiver
//! after what its sender did before sending *that* message, not after everything ever sent on
//! the channel. A message dropped undelivered (the channel went away with it) is acquired by the
//! thread that drops it: that drop comes after the send, through the channel's own
//! synchronization.
//!
//! And a channel's hang-ups (`Ends`): a sender's drop releases into the clock of the senders'
//! ends, and a receive that finds every sender gone (disconnected) acquires it; a receiver's
//! drop releases into the receivers' clock, and a send that finds every receiver gone acquires
//! it.

use super::clock::VectorClock;
use super::thread::{self, SyncClock};

pub(crate) struct MessageClock(VectorClock);

impl MessageClock {
    /// The sender's clock, released now (empty with the detector off).
    pub(crate) fn sent() -> MessageClock {
        let mut clock = VectorClock::new();
        if super::enabled() {
            thread::release(&mut clock);
        }
        MessageClock(clock)
    }

    /// The message is received: the receiver acquires its sender's clock.
    pub(crate) fn received(&self) {
        if super::enabled() {
            thread::acquire(&self.0);
        }
    }
}

/// A value in flight, with the clock of its sender at the send: what both channel mirrors send
/// over the real channel.
pub(crate) struct Message<T> {
    /// `None` once taken out (received, or handed back undelivered).
    value: Option<T>,
    clock: MessageClock,
}

impl<T> Message<T> {
    /// The sender's side, just before the real send.
    #[inline]
    pub(crate) fn seal(value: T) -> Message<T> {
        Message {
            value: Some(value),
            clock: MessageClock::sent(),
        }
    }

    /// The receiver's side, just after the real receive.
    #[inline]
    pub(crate) fn open(mut self) -> T {
        self.clock.received();
        self.value.take().expect("a message is opened once")
    }

    /// A message handed back undelivered (the send failed): no edge.
    #[inline]
    pub(crate) fn undelivered(mut self) -> T {
        self.value.take().expect("a message is opened once")
    }
}

impl<T> Drop for Message<T> {
    /// A message dropped with its value in it was sent and never received: the channel drops it
    /// (the last of its ends went away), after the send. Its value's drop comes after what the
    /// sender did before sending it, as a receive's would.
    fn drop(&mut self) {
        if self.value.is_some() {
            self.clock.received();
        }
    }
}

/// The clocks of a channel's hang-ups, shared by all its ends (see the module's docs).
#[derive(Default)]
pub(crate) struct Ends {
    senders: SyncClock,
    receivers: SyncClock,
}

impl Ends {
    /// A sender is dropped (before the real drop).
    pub(crate) fn sender_gone(&self) {
        self.senders.release();
    }

    /// A receiver is dropped (before the real drop).
    pub(crate) fn receiver_gone(&self) {
        self.receivers.release();
    }

    /// A receive found every sender gone: their drops happen before what follows.
    pub(crate) fn senders_gone_seen(&self) {
        self.senders.acquire();
    }

    /// A send found every receiver gone: their drops happen before what follows.
    pub(crate) fn receivers_gone_seen(&self) {
        self.receivers.acquire();
    }
}
