//! The off switch of `maprace::sync` and `maprace::thread`: with the detector compiled out each
//! type is std's own (same `TypeId`); with it compiled in, each is maprace's.

use std::any::TypeId;

fn same<A: 'static, B: 'static>() -> bool {
    TypeId::of::<A>() == TypeId::of::<B>()
}

macro_rules! std_exactly_when_off {
    ($($ours:ty => $std:ty),* $(,)?) => {$(
        assert_eq!(
            same::<$ours, $std>(),
            !maprace::COMPILED_IN,
            "{} vs {}", stringify!($ours), stringify!($std)
        );
    )*};
}

#[test]
fn sync_types_are_std_exactly_when_the_detector_is_compiled_out() {
    use maprace::sync as ms;
    use std::sync as ss;
    std_exactly_when_off!(
        ms::Mutex<u8> => ss::Mutex<u8>,
        ms::MutexGuard<'static, u8> => ss::MutexGuard<'static, u8>,
        ms::RwLock<u8> => ss::RwLock<u8>,
        ms::RwLockReadGuard<'static, u8> => ss::RwLockReadGuard<'static, u8>,
        ms::RwLockWriteGuard<'static, u8> => ss::RwLockWriteGuard<'static, u8>,
        ms::Condvar => ss::Condvar,
        ms::Barrier => ss::Barrier,
        ms::OnceLock<u8> => ss::OnceLock<u8>,
        ms::LazyLock<u8> => ss::LazyLock<u8>,
        ms::Once => ss::Once,
        ms::mpsc::Sender<u8> => ss::mpsc::Sender<u8>,
        ms::mpsc::SyncSender<u8> => ss::mpsc::SyncSender<u8>,
        ms::mpsc::Receiver<u8> => ss::mpsc::Receiver<u8>,
        ms::mpsc::IntoIter<u8> => ss::mpsc::IntoIter<u8>,
        ms::atomic::AtomicBool => ss::atomic::AtomicBool,
        ms::atomic::AtomicU8 => ss::atomic::AtomicU8,
        ms::atomic::AtomicI16 => ss::atomic::AtomicI16,
        ms::atomic::AtomicU32 => ss::atomic::AtomicU32,
        ms::atomic::AtomicI64 => ss::atomic::AtomicI64,
        ms::atomic::AtomicUsize => ss::atomic::AtomicUsize,
        ms::atomic::AtomicIsize => ss::atomic::AtomicIsize,
        ms::atomic::AtomicPtr<u8> => ss::atomic::AtomicPtr<u8>,
    );
    // std's own in both builds.
    assert!(same::<ms::Arc<u8>, ss::Arc<u8>>());
    assert!(same::<ms::Weak<u8>, ss::Weak<u8>>());
    assert!(same::<ms::LockResult<u8>, ss::LockResult<u8>>());
    assert!(same::<ms::PoisonError<u8>, ss::PoisonError<u8>>());
    assert!(same::<ms::mpsc::SendError<u8>, ss::mpsc::SendError<u8>>());
    assert!(same::<ms::mpsc::RecvError, ss::mpsc::RecvError>());
    assert!(same::<ms::atomic::Ordering, ss::atomic::Ordering>());
}

#[test]
fn thread_types_are_std_exactly_when_the_detector_is_compiled_out() {
    use maprace::thread as mt;
    use std::thread as st;
    std_exactly_when_off!(
        mt::Thread => st::Thread,
        mt::JoinHandle<u8> => st::JoinHandle<u8>,
        mt::Builder => st::Builder,
        mt::ScopedJoinHandle<'static, u8> => st::ScopedJoinHandle<'static, u8>,
        mt::Scope<'static, 'static> => st::Scope<'static, 'static>,
    );
    assert!(same::<mt::ThreadId, st::ThreadId>());
    assert!(same::<mt::Result<u8>, st::Result<u8>>());
}

#[test]
fn annotate_compiles_in_both_builds() {
    let flag = 0u8;
    maprace::annotate::release(&flag);
    maprace::annotate::acquire(&flag);
    maprace::annotate::release("any ?Sized value");
}

#[cfg(feature = "parking_lot")]
#[test]
fn parking_lot_types_are_parking_lots_exactly_when_the_detector_is_compiled_out() {
    use maprace::parking_lot as mp;
    std_exactly_when_off!(
        mp::Mutex<u8> => parking_lot::Mutex<u8>,
        mp::MutexGuard<'static, u8> => parking_lot::MutexGuard<'static, u8>,
        mp::MappedMutexGuard<'static, u8> => parking_lot::MappedMutexGuard<'static, u8>,
        mp::RawMutex => parking_lot::RawMutex,
        mp::RwLock<u8> => parking_lot::RwLock<u8>,
        mp::RwLockReadGuard<'static, u8> => parking_lot::RwLockReadGuard<'static, u8>,
        mp::RwLockWriteGuard<'static, u8> => parking_lot::RwLockWriteGuard<'static, u8>,
        mp::RwLockUpgradableReadGuard<'static, u8> => parking_lot::RwLockUpgradableReadGuard<'static, u8>,
        mp::MappedRwLockReadGuard<'static, u8> => parking_lot::MappedRwLockReadGuard<'static, u8>,
        mp::MappedRwLockWriteGuard<'static, u8> => parking_lot::MappedRwLockWriteGuard<'static, u8>,
        mp::RawRwLock => parking_lot::RawRwLock,
        mp::ReentrantMutex<u8> => parking_lot::ReentrantMutex<u8>,
        mp::ReentrantMutexGuard<'static, u8> => parking_lot::ReentrantMutexGuard<'static, u8>,
        mp::MappedReentrantMutexGuard<'static, u8> => parking_lot::MappedReentrantMutexGuard<'static, u8>,
        mp::Condvar => parking_lot::Condvar,
        mp::Once => parking_lot::Once,
    );
    let _: mp::Mutex<u8> = mp::const_mutex(0);
    let _: mp::RwLock<u8> = mp::const_rwlock(0);
    let _: mp::ReentrantMutex<u8> = mp::const_reentrant_mutex(0);
    // parking_lot's own in both builds.
    assert!(same::<mp::OnceState, parking_lot::OnceState>());
    assert!(same::<mp::WaitTimeoutResult, parking_lot::WaitTimeoutResult>());
    assert!(same::<mp::RawThreadId, parking_lot::RawThreadId>());
}

#[cfg(feature = "crossbeam-channel")]
#[test]
fn crossbeam_channel_types_are_crossbeams_exactly_when_the_detector_is_compiled_out() {
    use crossbeam_channel as cc;
    use maprace::crossbeam_channel as mc;
    std_exactly_when_off!(
        mc::Sender<u8> => cc::Sender<u8>,
        mc::Receiver<u8> => cc::Receiver<u8>,
        mc::Iter<'static, u8> => cc::Iter<'static, u8>,
        mc::TryIter<'static, u8> => cc::TryIter<'static, u8>,
        mc::IntoIter<u8> => cc::IntoIter<u8>,
    );
    let (tx, rx) = mc::unbounded::<u8>();
    let (btx, brx) = mc::bounded::<u8>(1);
    assert_eq!(
        (
            same_as(&tx, &cc::unbounded::<u8>().0),
            same_as(&rx, &cc::bounded::<u8>(0).1)
        ),
        (!maprace::COMPILED_IN, !maprace::COMPILED_IN)
    );
    drop((btx, brx));
    // crossbeam's own in both builds.
    assert!(same::<mc::SendError<u8>, cc::SendError<u8>>());
    assert!(same::<mc::TrySendError<u8>, cc::TrySendError<u8>>());
    assert!(same::<mc::SendTimeoutError<u8>, cc::SendTimeoutError<u8>>());
    assert!(same::<mc::RecvError, cc::RecvError>());
    assert!(same::<mc::TryRecvError, cc::TryRecvError>());
    assert!(same::<mc::RecvTimeoutError, cc::RecvTimeoutError>());
}

#[cfg(feature = "crossbeam-channel")]
fn same_as<A: 'static, B: 'static>(_: &A, _: &B) -> bool {
    same::<A, B>()
}
