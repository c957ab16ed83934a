// An inline `mod`: its `use` declarations are split (`Arc` stays std), a field names its map with
// `#[maprace(name = "...")]` (stripped from the output), and `Self { .. }` literals use it.
#[maprace::track]
mod store {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    pub struct Store {
        #[maprace(name = "sessions by id")]
        pub sessions: Arc<Mutex<HashMap<u64, String>>>,
        pub hits: HashMap<String, u32>,
    }

    impl Store {
        pub fn new() -> Self {
            let hits: HashMap<String, u32> = HashMap::from_iter([("/".to_owned(), 0)]);
            Self {
                sessions: Arc::new(Mutex::new(HashMap::new())),
                hits,
            }
        }

        pub fn pair() -> (HashMap<u8, u8>, HashMap<u8, u8>) {
            let left = [(1, 2)].into_iter().collect::<HashMap<_, _>>();
            (left, HashMap::from([(3, 4)]))
        }
    }

    pub mod nested {
        pub fn fresh() -> Option<HashMap<u8, Vec<u8>>> {
            Some(HashMap::new())
        }
    }
}

fn tracked<K, V>(_: &maprace::HashMap<K, V>) {}

fn main() {
    let mut store = store::Store::new();
    store.sessions.lock().unwrap().insert(7, "alice".to_owned());
    *store.hits.get_mut("/").unwrap() += 1;
    tracked(&store.hits);
    tracked(&store.sessions.lock().unwrap());
    assert_eq!(store.sessions.lock().unwrap()[&7], "alice");
    assert_eq!(store.hits["/"], 1);
    let (left, right) = store::Store::pair();
    assert_eq!((left[&1], right[&3]), (2, 4));
    assert!(store::nested::fresh().unwrap().is_empty());
}
