//! Manual happens-before edges, for synchronization maprace cannot see: parking_lot, crossbeam,
//! tokio, hand-rolled atomics, FFI.
//!
//! [`release`] on an address, then [`acquire`] on the same address in another thread, orders
//! everything the first thread did before `release` before everything the second does after
//! `acquire` — provided the real synchronization makes the acquire come after the release (as
//! with a lock, a flag, a message). Call `release` just *before* the real release operation
//! (unlock, store, send) and `acquire` just *after* the real acquire operation (lock, load,
//! receive). Any address works; the synchronization object's own is the natural choice.
//!
//! ```
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use std::sync::Arc;
//!
//! let ready = Arc::new(AtomicBool::new(false));
//! let mut map = maprace::HashMap::new();
//! # struct Shared(*mut maprace::HashMap<i32, i32>);
//! # unsafe impl Send for Shared {}
//! let shared = Shared(&mut map);
//! let writer = {
//!     let ready = Arc::clone(&ready);
//!     std::thread::spawn(move || {
//!         let shared = shared;
//!         unsafe { (*shared.0).insert(1, 1) };
//!         maprace::annotate::release(&*ready); // before the real release
//!         ready.store(true, Ordering::Release);
//!     })
//! };
//! while !ready.load(Ordering::Acquire) {
//!     std::hint::spin_loop();
//! }
//! maprace::annotate::acquire(&*ready); // after the real acquire
//! assert_eq!(map.get(&1), Some(&1));
//! # writer.join().unwrap();
//! ```
//!
//! Each annotated address keeps a clock for the rest of the program (a few bytes per thread
//! that released through it). With the detector compiled out, both functions are empty
//! `#[inline]` functions.

/// What this thread did so far happens before whatever a thread does after it calls
/// [`acquire`] on the same address (and the real synchronization orders that call after this).
#[inline]
pub fn release<T: ?Sized>(address: &T) {
    #[cfg(maprace_detect)]
    crate::rt::annotate::release(std::ptr::from_ref(address).cast::<()>() as usize);
    #[cfg(not(maprace_detect))]
    let _ = address;
}

/// Everything every thread did before calling [`release`] on this address so far happens before
/// what this thread does next.
#[inline]
pub fn acquire<T: ?Sized>(address: &T) {
    #[cfg(maprace_detect)]
    crate::rt::annotate::acquire(std::ptr::from_ref(address).cast::<()>() as usize);
    #[cfg(not(maprace_detect))]
    let _ = address;
}
