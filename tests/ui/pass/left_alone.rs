// What the attribute leaves as written, and how it shows: paths qualified with another crate (one
// without a maprace mirror: `parking_lot::` paths are rewritten where maprace has the feature), the
// bodies of macro calls, and a type alias declared outside the item.
use std::collections::HashMap;

mod tokio {
    pub struct Mutex<T>(pub T);
}

/// Declared outside the annotated item, so the attribute does not see through it: inside `build`
/// it still names std's map.
type StdMap = std::collections::HashMap<u8, u8>;

#[maprace::track]
fn build() -> (tokio::Mutex<u8>, Vec<StdMap>, Vec<HashMap<u8, u8>>) {
    // `vec![..]` is an opaque token stream: the `HashMap::new()` inside it stays std's, so it
    // must be typed as std's (here through the alias).
    let untouched: Vec<StdMap> = vec![HashMap::new()];
    // Outside a macro call the same constructor is rewritten (and named "tracked").
    let tracked = Vec::from([HashMap::new()]);
    (tokio::Mutex(3), untouched, tracked)
}

// Outside any annotated item: the first takes std's maps only, the second maprace's (the same
// type when the detector is compiled out).
fn std_maps(_: &[std::collections::HashMap<u8, u8>]) {}
fn tracked_maps(_: &[maprace::HashMap<u8, u8>]) {}

fn main() {
    let (lock, untouched, tracked) = build();
    assert_eq!(lock.0, 3);
    std_maps(&untouched);
    tracked_maps(&tracked);
    assert_eq!(untouched.len() + tracked.len(), 2);
}
