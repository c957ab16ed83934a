// Map and lock types in fields, at any depth, and their constructors in an annotated `impl`.
// The module-level imports stay used (no `unused_imports` warning) after the rewrite.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[maprace::track]
struct Registry {
    by_id: std::collections::HashMap<u64, String>,
    shared: Arc<Mutex<HashMap<u64, u64>>>,
    shards: Vec<Option<::std::collections::HashMap<u8, u8>>>,
}

#[maprace::track]
impl Registry {
    fn new() -> Self {
        Self {
            by_id: HashMap::new(),
            shared: Arc::new(Mutex::new(HashMap::with_capacity(4))),
            shards: vec![None, None],
        }
    }
}

// Outside any annotated item: these only accept the maprace types.
fn tracked(_: &maprace::HashMap<u64, String>) {}
fn tracked_lock(_: &maprace::sync::Mutex<maprace::HashMap<u64, u64>>) {}

fn main() {
    let mut registry = Registry::new();
    registry.by_id.insert(1, "one".to_owned());
    registry.shared.lock().unwrap().insert(2, 4);
    registry.shards[0] = Some(maprace::HashMap::from([(1, 1)]));
    tracked(&registry.by_id);
    tracked_lock(&registry.shared);
    assert_eq!(registry.by_id[&1], "one");
    assert_eq!(registry.shared.lock().unwrap().get(&2), Some(&4));
    assert_eq!(registry.shards.iter().flatten().count(), 1);
}
