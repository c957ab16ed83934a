// `BTreeMap` and the items of the `hash_map` / `btree_map` modules. A bare `Entry` is not a name
// the attribute matches (it could be either map's), so it is imported inside the item, where the
// `use` is rewritten; a `use std::collections::hash_map::Entry;` outside would stay std's.
use std::collections::{BTreeMap, HashMap};

#[maprace::track]
fn tally(words: &[&str]) -> (HashMap<String, u32>, BTreeMap<u32, Vec<String>>) {
    use std::collections::hash_map::Entry;

    let mut counts = HashMap::new();
    for word in words {
        match counts.entry((*word).to_owned()) {
            Entry::Occupied(mut o) => *o.get_mut() += 1,
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(1);
            }
        }
    }
    let mut by_count: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for (word, n) in &counts {
        by_count.entry(*n).or_default().push(word.clone());
    }
    let _: Option<std::collections::btree_map::Iter<'_, u32, Vec<String>>> = Some(by_count.iter());
    (counts, by_count)
}

fn tracked<K, V>(_: &maprace::BTreeMap<K, V>) {}

fn main() {
    let (counts, by_count) = tally(&["a", "b", "a"]);
    tracked(&by_count);
    assert_eq!(counts["a"], 2);
    assert_eq!(by_count[&1], ["b"]);
}
