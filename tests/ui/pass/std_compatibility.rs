// Code that compiles with std's maps compiles with maprace's, and prints the same: what std's
// types allow at drop time, in `const` contexts, across threads and through `Default`/`Debug`.
use maprace::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, DefaultHasher};
use std::sync::Mutex;

// A map may hold references that die before it does (std's maps may, at drop time).
fn holds_a_borrow_of_a_later_local() -> usize {
    let mut hashed: HashMap<&str, u8> = HashMap::new();
    let mut ordered: BTreeMap<&str, u8> = BTreeMap::new();
    let key = String::from("k");
    hashed.insert(&key, 1);
    ordered.insert(&key, 1);
    hashed.len() + ordered.len()
}

// `with_hasher` and `BTreeMap::new` are `const`, as std's.
static BY_ID: Mutex<HashMap<u8, u8, BuildHasherDefault<DefaultHasher>>> =
    Mutex::new(HashMap::with_hasher(BuildHasherDefault::new()));
static SORTED: Mutex<BTreeMap<u8, u8>> = Mutex::new(BTreeMap::new());

fn is_send<T: Send>(_: &T) {}

fn main() {
    assert_eq!(holds_a_borrow_of_a_later_local(), 2);
    BY_ID.lock().unwrap().insert(1, 1);
    SORTED.lock().unwrap().insert(1, 1);

    let mut map = HashMap::from([(1, 10)]);
    let mut std_map = std::collections::HashMap::from([(1, 10)]);
    assert_eq!(format!("{:?}", map.iter()), format!("{:?}", std_map.iter()));
    assert_eq!(format!("{:?}", map.keys()), format!("{:?}", std_map.keys()));
    assert_eq!(format!("{:?}", map.values()), format!("{:?}", std_map.values()));
    assert_eq!(format!("{:?}", map.iter_mut()), format!("{:?}", std_map.iter_mut()));
    assert_eq!(format!("{:?}", map.clone().into_iter()), format!("{:?}", std_map.clone().into_iter()));
    {
        let extracting = map.extract_if(|_, v| *v > 100);
        is_send(&extracting);
    }
    let _ = std_map.extract_if(|_, v| *v > 100);

    let empty: maprace::collections::hash_map::Iter<'_, u8, u8> = Default::default();
    assert_eq!(empty.count(), 0);
    let empty: maprace::collections::hash_map::IntoValues<u8, u8> = Default::default();
    assert_eq!(empty.count(), 0);

    let mut tree = BTreeMap::from([(1, 10), (2, 20)]);
    is_send(&tree.extract_if(.., |_, v| *v > 100));
    assert_eq!(format!("{:?}", tree.range(1..)), "[(1, 10), (2, 20)]");
}
