// `#[maprace::track]` on items that use dashmap: `DashMap`, `DashSet` (bare or `dashmap::`),
// their constructors and the `use dashmap::…` inside the item become maprace's mirrors, which
// are dashmap's own types when the detector is compiled out.
use dashmap::DashMap;

#[maprace::track]
mod cache {
    use dashmap::mapref::one::Ref;
    use dashmap::{DashMap, DashSet};

    pub struct Cache {
        pub pages: DashMap<u64, String>,
        pub seen: DashSet<u64>,
    }

    impl Cache {
        pub fn new() -> Self {
            Cache {
                pages: DashMap::with_shard_amount(4),
                seen: dashmap::DashSet::new(),
            }
        }

        pub fn page(&self, id: u64) -> Option<Ref<'_, u64, String>> {
            self.seen.insert(id);
            self.pages.get(&id)
        }
    }
}

#[maprace::track]
fn counts() -> DashMap<&'static str, u32> {
    let counts = DashMap::new();
    *counts.entry("a").or_insert(0) += 1;
    counts
}

// Outside any annotated item: maprace's types (dashmap's when the detector is compiled out).
fn tracked(_: &maprace::DashMap<u64, String>, _: &maprace::DashSet<u64>) {}

fn main() {
    let cache = cache::Cache::new();
    cache.pages.insert(1, "one".into());
    assert_eq!(cache.page(1).as_deref().map(String::as_str), Some("one"));
    tracked(&cache.pages, &cache.seen);
    assert_eq!(*counts().get("a").unwrap(), 1);
}
