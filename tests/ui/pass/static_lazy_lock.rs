// A `static` named after itself: the map built in the `LazyLock` closure gets "SESSIONS".
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

#[maprace::track]
static SESSIONS: LazyLock<Mutex<HashMap<u64, String>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn tracked(_: &maprace::sync::LazyLock<maprace::sync::Mutex<maprace::HashMap<u64, String>>>) {}

fn main() {
    SESSIONS.lock().unwrap().insert(1, "a".to_owned());
    tracked(&SESSIONS);
    assert_eq!(SESSIONS.lock().unwrap()[&1], "a");
}
