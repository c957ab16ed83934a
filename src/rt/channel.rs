//! The clock each message of a `maprace::sync::mpsc` channel carries: its sender's, released at
//! the send and acquired at the receive. The edge is per message (precise): receiving one
//! message orders the receiver after what its sender did before sending *that* message, not
//! after everything ever sent on the channel.

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
