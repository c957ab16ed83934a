//! The clock each message of a channel mirror (`maprace::sync::mpsc`,
//! `maprace::crossbeam_channel`) carries: its sender's, released at the send and acquired at the
//! receive. The edge is per message (precise): receiving one message orders the receiver after
//! what its sender did before sending *that* message, not after everything ever sent on the
//! channel.

use super::clock::VectorClock;
use super::thread;

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
    value: T,
    clock: MessageClock,
}

impl<T> Message<T> {
    /// The sender's side, just before the real send.
    #[inline]
    pub(crate) fn seal(value: T) -> Message<T> {
        Message {
            value,
            clock: MessageClock::sent(),
        }
    }

    /// The receiver's side, just after the real receive.
    #[inline]
    pub(crate) fn open(self) -> T {
        self.clock.received();
        self.value
    }

    /// A message handed back undelivered (the send failed): no edge.
    #[inline]
    pub(crate) fn undelivered(self) -> T {
        self.value
    }
}
