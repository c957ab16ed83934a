// `enum`, `type` alias, `const` and `trait` (signatures and default bodies).
use std::collections::HashMap;

// `HashMap` outside the annotated items stays std's.
fn plain() -> HashMap<u8, u8> {
    HashMap::new()
}
#[maprace::track]
enum Index {
    Empty,
    Built(std::collections::HashMap<String, Vec<usize>>),
}

#[maprace::track]
type Shared = std::sync::Arc<std::sync::Mutex<HashMap<u32, u32>>>;

#[maprace::track]
const NONE: Option<HashMap<u8, u8>> = None;

#[maprace::track]
trait Indexed {
    fn words(&self) -> Vec<&str>;

    fn index(&self) -> HashMap<String, Vec<usize>> {
        let mut index = HashMap::new();
        for (at, word) in self.words().into_iter().enumerate() {
            index
                .entry(word.to_owned())
                .or_insert_with(Vec::new)
                .push(at);
        }
        index
    }
}

impl Indexed for &str {
    fn words(&self) -> Vec<&str> {
        self.split(' ').collect()
    }
}

fn tracked<K, V>(_: &maprace::HashMap<K, V>) {}
fn tracked_shared(_: &std::sync::Arc<maprace::sync::Mutex<maprace::HashMap<u32, u32>>>) {}

fn main() {
    let index = "to be or not to be".index();
    tracked(&index);
    assert_eq!(index["to"], [0, 4]);
    let built = Index::Built(index);
    assert!(matches!(built, Index::Built(ref m) if m.len() == 4));
    assert!(matches!(Index::Empty, Index::Empty));
    let shared: Shared = Default::default();
    shared.lock().unwrap().insert(1, 1);
    tracked_shared(&shared);
    assert!(NONE.is_none());
    let _: std::collections::HashMap<u8, u8> = plain();
}
