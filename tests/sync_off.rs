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
