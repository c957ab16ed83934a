//! The channel mirror: crossbeam's channel of `rt::channel::Message`s (each a value and its
//! sender's clock), and the channel's `rt::channel::Ends` (a receive that finds every sender
//! gone is ordered after their drops, a send that finds every receiver gone after theirs).

use crate::rt::channel::{Ends, Message};
use crossbeam_channel::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use std::fmt;
use std::iter::FusedIterator;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The sending side of a channel. See crossbeam's `Sender`.
pub struct Sender<T> {
    inner: crossbeam_channel::Sender<Message<T>>,
    ends: Arc<Ends>,
}

/// The receiving side of a channel. See crossbeam's `Receiver`.
pub struct Receiver<T> {
    inner: crossbeam_channel::Receiver<Message<T>>,
    ends: Arc<Ends>,
}

/// Creates a channel of unbounded capacity whose messages order each receiver after its
/// sender. See crossbeam's `unbounded`.
///
/// ```
/// use maprace::crossbeam_channel::unbounded;
///
/// let (tx, rx) = unbounded();
/// let producer = std::thread::spawn(move || {
///     let mut map = maprace::HashMap::new();
///     map.insert("k", 1);
///     tx.send(map).unwrap();
/// });
/// let map = rx.recv().unwrap();
/// assert_eq!(map["k"], 1);
/// producer.join().unwrap();
/// ```
#[must_use]
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    ends(tx, rx)
}

/// Creates a channel of bounded capacity (zero: a rendezvous). See crossbeam's `bounded`.
///
/// ```
/// let (tx, rx) = maprace::crossbeam_channel::bounded(1);
/// std::thread::spawn(move || tx.send(7).unwrap());
/// assert_eq!(rx.recv(), Ok(7));
/// ```
#[must_use]
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = crossbeam_channel::bounded(cap);
    ends(tx, rx)
}

/// The two ends of a new channel.
fn ends<T>(
    tx: crossbeam_channel::Sender<Message<T>>,
    rx: crossbeam_channel::Receiver<Message<T>>,
) -> (Sender<T>, Receiver<T>) {
    let ends = Arc::new(Ends::default());
    (
        Sender {
            inner: tx,
            ends: Arc::clone(&ends),
        },
        Receiver { inner: rx, ends },
    )
}

fn send_error<T>(SendError(msg): SendError<Message<T>>) -> SendError<T> {
    SendError(msg.undelivered())
}

impl<T> Sender<T> {
    /// Sends a message if it can without blocking. See crossbeam's `Sender::try_send`.
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        self.inner
            .try_send(Message::seal(msg))
            .map_err(|e| match e {
                TrySendError::Full(m) => TrySendError::Full(m.undelivered()),
                TrySendError::Disconnected(m) => {
                    self.ends.receivers_gone_seen();
                    TrySendError::Disconnected(m.undelivered())
                }
            })
    }

    /// Sends a message, blocking while the channel is full. See crossbeam's `Sender::send`.
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        let result = self.inner.send(Message::seal(msg));
        if result.is_err() {
            self.ends.receivers_gone_seen(); // the one error: every receiver is gone
        }
        result.map_err(send_error)
    }

    /// `send`, waiting `timeout` at most. See crossbeam's `Sender::send_timeout`.
    pub fn send_timeout(&self, msg: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        let result = self.inner.send_timeout(Message::seal(msg), timeout);
        if let Err(SendTimeoutError::Disconnected(_)) = result {
            self.ends.receivers_gone_seen();
        }
        result.map_err(send_timeout_error)
    }

    /// `send`, waiting until `deadline` at most. See crossbeam's `Sender::send_deadline`.
    pub fn send_deadline(&self, msg: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        let result = self.inner.send_deadline(Message::seal(msg), deadline);
        if let Err(SendTimeoutError::Disconnected(_)) = result {
            self.ends.receivers_gone_seen();
        }
        result.map_err(send_timeout_error)
    }

    /// Whether the channel is empty. See crossbeam's `Sender::is_empty`.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Whether the channel is full. See crossbeam's `Sender::is_full`.
    pub fn is_full(&self) -> bool {
        self.inner.is_full()
    }

    /// The number of messages in the channel. See crossbeam's `Sender::len`.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// The channel's capacity, if bounded. See crossbeam's `Sender::capacity`.
    pub fn capacity(&self) -> Option<usize> {
        self.inner.capacity()
    }

    /// Whether both senders belong to the same channel. See crossbeam's `Sender::same_channel`.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        self.inner.same_channel(&other.inner)
    }
}

fn send_timeout_error<T>(e: SendTimeoutError<Message<T>>) -> SendTimeoutError<T> {
    match e {
        SendTimeoutError::Timeout(m) => SendTimeoutError::Timeout(m.undelivered()),
        SendTimeoutError::Disconnected(m) => SendTimeoutError::Disconnected(m.undelivered()),
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        Sender {
            inner: self.inner.clone(),
            ends: Arc::clone(&self.ends),
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Sender { .. }")
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.ends.sender_gone(); // before `inner`'s drop, the real one
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.ends.receiver_gone(); // before `inner`'s drop, the real one
    }
}

impl<T> Receiver<T> {
    /// A timed receive's result, with its edge.
    fn timed_out_or_open(
        &self,
        result: Result<Message<T>, RecvTimeoutError>,
    ) -> Result<T, RecvTimeoutError> {
        if let Err(RecvTimeoutError::Disconnected) = result {
            self.ends.senders_gone_seen();
        }
        result.map(Message::open)
    }

    /// A message if one is waiting. See crossbeam's `Receiver::try_recv`.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let result = self.inner.try_recv();
        if let Err(TryRecvError::Disconnected) = result {
            self.ends.senders_gone_seen();
        }
        result.map(Message::open)
    }

    /// Blocks for a message. See crossbeam's `Receiver::recv`.
    pub fn recv(&self) -> Result<T, RecvError> {
        self.inner.recv().map(Message::open).inspect_err(|_| {
            self.ends.senders_gone_seen(); // the one error: every sender is gone
        })
    }

    /// Blocks for a message, `timeout` at most. See crossbeam's `Receiver::recv_timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.timed_out_or_open(self.inner.recv_timeout(timeout))
    }

    /// Blocks for a message, until `deadline` at most. See crossbeam's `Receiver::recv_deadline`.
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.timed_out_or_open(self.inner.recv_deadline(deadline))
    }

    /// Whether the channel is empty. See crossbeam's `Receiver::is_empty`.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Whether the channel is full. See crossbeam's `Receiver::is_full`.
    pub fn is_full(&self) -> bool {
        self.inner.is_full()
    }

    /// The number of messages in the channel. See crossbeam's `Receiver::len`.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// The channel's capacity, if bounded. See crossbeam's `Receiver::capacity`.
    pub fn capacity(&self) -> Option<usize> {
        self.inner.capacity()
    }

    /// An iterator that blocks for each message until the channel is closed.
    /// See crossbeam's `Receiver::iter`.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the messages already waiting. See crossbeam's `Receiver::try_iter`.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    /// Whether both receivers belong to the same channel.
    /// See crossbeam's `Receiver::same_channel`.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        self.inner.same_channel(&other.inner)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        Receiver {
            inner: self.inner.clone(),
            ends: Arc::clone(&self.ends),
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Receiver { .. }")
    }
}

/// Blocks for each message until the channel is closed. See crossbeam's `Iter`.
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

/// The messages already waiting. See crossbeam's `TryIter`.
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

/// An owning iterator that blocks for each message. See crossbeam's `IntoIter`.
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<T> FusedIterator for Iter<'_, T> {}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<T> FusedIterator for IntoIter<T> {}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Iter { .. }")
    }
}

impl<T> fmt::Debug for TryIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("TryIter { .. }")
    }
}

impl<T> fmt::Debug for IntoIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("IntoIter { .. }")
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}
