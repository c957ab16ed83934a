//! A drop-in for [`std::sync::mpsc`]: each message carries its sender's clock, released when it
//! is sent and acquired when it is received (`rt::channel`), so receiving a message orders the
//! receiver after what its sender did before sending it. A receive that finds every sender gone
//! is ordered after their drops, and a send that finds the receiver gone after its drop.

use crate::rt::channel::{Ends, Message};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use std::sync::mpsc::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};

/// The sending half of a [`channel`]. See [`std::sync::mpsc::Sender`].
pub struct Sender<T> {
    inner: std::sync::mpsc::Sender<Message<T>>,
    ends: Arc<Ends>,
}

/// The sending half of a [`sync_channel`]. See [`std::sync::mpsc::SyncSender`].
pub struct SyncSender<T> {
    inner: std::sync::mpsc::SyncSender<Message<T>>,
    ends: Arc<Ends>,
}

/// The receiving half of a channel. See [`std::sync::mpsc::Receiver`].
pub struct Receiver<T> {
    inner: std::sync::mpsc::Receiver<Message<T>>,
    ends: Arc<Ends>,
}

/// Creates an unbounded channel whose messages order the receiver after the sender.
/// See [`std::sync::mpsc::channel`].
///
/// ```
/// use maprace::sync::mpsc;
///
/// let (tx, rx) = mpsc::channel();
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
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let ends = Arc::new(Ends::default());
    (
        Sender {
            inner: tx,
            ends: Arc::clone(&ends),
        },
        Receiver { inner: rx, ends },
    )
}

/// Creates a bounded channel whose messages order the receiver after the sender.
/// See [`std::sync::mpsc::sync_channel`].
///
/// ```
/// let (tx, rx) = maprace::sync::mpsc::sync_channel(1);
/// std::thread::spawn(move || tx.send(7).unwrap());
/// assert_eq!(rx.recv(), Ok(7));
/// ```
#[must_use]
pub fn sync_channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    let (tx, rx) = std::sync::mpsc::sync_channel(bound);
    let ends = Arc::new(Ends::default());
    (
        SyncSender {
            inner: tx,
            ends: Arc::clone(&ends),
        },
        Receiver { inner: rx, ends },
    )
}

impl<T> Sender<T> {
    /// Sends a value; fails only if the receiver is gone. See [`std::sync::mpsc::Sender::send`].
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        self.inner.send(Message::seal(t)).map_err(|SendError(msg)| {
            self.ends.receivers_gone_seen();
            SendError(msg.undelivered())
        })
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

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.ends.sender_gone(); // before `inner`'s drop, the real one
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> SyncSender<T> {
    /// Sends a value, blocking while the channel is full.
    /// See [`std::sync::mpsc::SyncSender::send`].
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        self.inner.send(Message::seal(t)).map_err(|SendError(msg)| {
            self.ends.receivers_gone_seen();
            SendError(msg.undelivered())
        })
    }

    /// Sends a value if there is room. See [`std::sync::mpsc::SyncSender::try_send`].
    pub fn try_send(&self, t: T) -> Result<(), TrySendError<T>> {
        self.inner.try_send(Message::seal(t)).map_err(|e| match e {
            TrySendError::Full(msg) => TrySendError::Full(msg.undelivered()),
            TrySendError::Disconnected(msg) => {
                self.ends.receivers_gone_seen();
                TrySendError::Disconnected(msg.undelivered())
            }
        })
    }
}

impl<T> Clone for SyncSender<T> {
    fn clone(&self) -> SyncSender<T> {
        SyncSender {
            inner: self.inner.clone(),
            ends: Arc::clone(&self.ends),
        }
    }
}

impl<T> Drop for SyncSender<T> {
    fn drop(&mut self) {
        self.ends.sender_gone(); // before `inner`'s drop, the real one
    }
}

impl<T> fmt::Debug for SyncSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncSender").finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// A value if one is waiting. See [`std::sync::mpsc::Receiver::try_recv`].
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let result = self.inner.try_recv();
        if let Err(TryRecvError::Disconnected) = result {
            self.ends.senders_gone_seen();
        }
        result.map(Message::open)
    }

    /// Blocks for a value. See [`std::sync::mpsc::Receiver::recv`].
    pub fn recv(&self) -> Result<T, RecvError> {
        self.inner.recv().map(Message::open).inspect_err(|_| {
            self.ends.senders_gone_seen(); // the one error: every sender is gone
        })
    }

    /// Blocks for a value, at most `timeout`. See [`std::sync::mpsc::Receiver::recv_timeout`].
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let result = self.inner.recv_timeout(timeout);
        if let Err(RecvTimeoutError::Disconnected) = result {
            self.ends.senders_gone_seen();
        }
        result.map(Message::open)
    }

    /// An iterator that blocks for each value. See [`std::sync::mpsc::Receiver::iter`].
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the values already waiting. See [`std::sync::mpsc::Receiver::try_iter`].
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.ends.receiver_gone(); // before `inner`'s drop, the real one
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// Blocks for each value until the channel is closed. See [`std::sync::mpsc::Iter`].
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

/// The values already waiting. See [`std::sync::mpsc::TryIter`].
#[derive(Debug)]
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

/// An owning iterator that blocks for each value. See [`std::sync::mpsc::IntoIter`].
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

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
