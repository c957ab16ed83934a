//! std's lock results, poisoned or not, with std's guard turned into maprace's: what `Mutex`,
//! `RwLock` and `Condvar` return keeps std's poisoning exactly.

use std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};

/// `result` with its guard (poisoned or not) turned into `guard(inner)`.
#[inline(always)]
pub(super) fn wrap<G, W>(result: LockResult<G>, guard: impl FnOnce(G) -> W) -> LockResult<W> {
    match result {
        Ok(inner) => Ok(guard(inner)),
        Err(poisoned) => Err(PoisonError::new(guard(poisoned.into_inner()))),
    }
}

/// `wrap` for the `try_*` methods.
#[inline(always)]
pub(super) fn try_wrap<G, W>(
    result: TryLockResult<G>,
    guard: impl FnOnce(G) -> W,
) -> TryLockResult<W> {
    match result {
        Ok(inner) => Ok(guard(inner)),
        Err(TryLockError::Poisoned(poisoned)) => Err(TryLockError::Poisoned(PoisonError::new(
            guard(poisoned.into_inner()),
        ))),
        Err(TryLockError::WouldBlock) => Err(TryLockError::WouldBlock),
    }
}
