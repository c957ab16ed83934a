//! The switch: with the detector compiled out (no `detect` feature, or a release build without
//! `detect-in-release`), maprace's types are std's own, so nothing is left in the program.

use std::any::TypeId;

fn same<A: 'static, B: 'static>() -> bool {
    TypeId::of::<A>() == TypeId::of::<B>()
}

#[test]
fn compiled_in_follows_the_features_and_the_profile() {
    let expected = cfg!(all(
        feature = "detect",
        any(debug_assertions, feature = "detect-in-release")
    ));
    assert_eq!(maprace::COMPILED_IN, expected);
}

#[test]
fn the_types_are_std_exactly_when_the_detector_is_compiled_out() {
    let off = !maprace::COMPILED_IN;
    assert_eq!(
        same::<maprace::HashMap<u8, String>, std::collections::HashMap<u8, String>>(),
        off
    );
    assert_eq!(
        same::<
            maprace::collections::hash_map::Entry<'static, u8, u8>,
            std::collections::hash_map::Entry<'static, u8, u8>,
        >(),
        off
    );
    assert_eq!(
        same::<maprace::sync::Mutex<u8>, std::sync::Mutex<u8>>(),
        off
    );
    assert_eq!(
        same::<maprace::sync::MutexGuard<'static, u8>, std::sync::MutexGuard<'static, u8>>(),
        off
    );
    assert_eq!(
        same::<maprace::BTreeMap<u8, u8>, std::collections::BTreeMap<u8, u8>>(),
        off
    );
    // A join handle carries its thread's park clock when the detector is on.
    assert_eq!(
        same::<maprace::thread::JoinHandle<u8>, std::thread::JoinHandle<u8>>(),
        off
    );
    // Always std's, in both builds.
    assert!(same::<maprace::sync::Arc<u8>, std::sync::Arc<u8>>());
    assert!(same::<maprace::thread::ThreadId, std::thread::ThreadId>());
}

/// `maprace::DashMap` is `dashmap::DashMap`, and every type of `maprace::dashmap` is dashmap's
/// at the same path, exactly when the detector is compiled out.
#[cfg(feature = "dashmap")]
#[test]
fn the_dashmap_types_are_dashmaps_exactly_when_the_detector_is_compiled_out() {
    macro_rules! dashmaps_exactly_when_off {
        ($($path:tt)*) => {
            assert_eq!(
                same::<maprace::dashmap::$($path)*, dashmap::$($path)*>(),
                !maprace::COMPILED_IN,
                "{}",
                stringify!($($path)*)
            );
        };
    }
    let off = !maprace::COMPILED_IN;
    assert_eq!(
        same::<maprace::DashMap<u8, String>, dashmap::DashMap<u8, String>>(),
        off
    );
    assert_eq!(same::<maprace::DashSet<u8>, dashmap::DashSet<u8>>(), off);
    dashmaps_exactly_when_off!(DashMap<u8, u8>);
    dashmaps_exactly_when_off!(DashSet<u8>);
    dashmaps_exactly_when_off!(ReadOnlyView<u8, u8>);
    dashmaps_exactly_when_off!(Entry<'static, u8, u8>);
    dashmaps_exactly_when_off!(mapref::one::Ref<'static, u8, u8>);
    dashmaps_exactly_when_off!(mapref::one::RefMut<'static, u8, u8>);
    dashmaps_exactly_when_off!(mapref::one::MappedRef<'static, u8, u8, u8>);
    dashmaps_exactly_when_off!(mapref::one::MappedRefMut<'static, u8, u8, u8>);
    dashmaps_exactly_when_off!(mapref::entry::Entry<'static, u8, u8>);
    dashmaps_exactly_when_off!(mapref::entry::OccupiedEntry<'static, u8, u8>);
    dashmaps_exactly_when_off!(mapref::entry::VacantEntry<'static, u8, u8>);
    dashmaps_exactly_when_off!(mapref::multiple::RefMulti<'static, u8, u8>);
    dashmaps_exactly_when_off!(mapref::multiple::RefMutMulti<'static, u8, u8>);
    dashmaps_exactly_when_off!(iter::Iter<'static, u8, u8>);
    dashmaps_exactly_when_off!(iter::IterMut<'static, u8, u8>);
    dashmaps_exactly_when_off!(iter::OwningIter<u8, u8>);
    dashmaps_exactly_when_off!(setref::one::Ref<'static, u8>);
    dashmaps_exactly_when_off!(setref::multiple::RefMulti<'static, u8>);
    dashmaps_exactly_when_off!(iter_set::OwningIter<u8, std::hash::RandomState>);
    // dashmap's own in both builds (they hold no guard of their own).
    assert!(same::<
        maprace::dashmap::try_result::TryResult<u8>,
        dashmap::try_result::TryResult<u8>,
    >());
    assert!(same::<
        maprace::dashmap::TryReserveError,
        dashmap::TryReserveError,
    >());
}
