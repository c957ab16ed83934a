// `name = "..."` names every map of the item; `maps_only` leaves the std locks alone.
use std::collections::HashMap;
use std::sync::Mutex;

#[maprace::track(name = "routes")]
fn routes() -> HashMap<&'static str, u16> {
    let mut routes = HashMap::new();
    routes.insert("/", 200);
    routes
}

#[maprace::track(maps_only, name = "cache")]
struct Cache {
    map: Mutex<HashMap<u8, u8>>,
}

#[maprace::track(maps_only)]
impl Cache {
    fn new() -> Self {
        Cache {
            map: Mutex::new(HashMap::new()),
        }
    }
}

fn tracked<K, V>(_: &maprace::HashMap<K, V>) {}
// With `maps_only` the lock is std's.
fn std_lock<T>(_: &std::sync::Mutex<T>) {}

fn main() {
    let routes = routes();
    tracked(&routes);
    assert_eq!(routes["/"], 200);
    let cache = Cache::new();
    std_lock(&cache.map);
    cache.map.lock().unwrap().insert(1, 2);
    tracked(&cache.map.lock().unwrap());
    assert_eq!(cache.map.lock().unwrap()[&1], 2);
}
