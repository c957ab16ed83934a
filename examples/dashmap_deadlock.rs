//! A cache refresh that hangs with plain dashmap. The `Ref` that `get` returns lives for the
//! whole `match`: when the page is cached but stale, the `_` arm's `insert` waits for the shard
//! that its own thread's guard holds, forever. maprace reports it instead:
//!
//! ```text
//! cargo run --example dashmap_deadlock    # prints a WARNING: MAP DEADLOCK report, exits 66
//! ```
//!
//! The attribute turns `dashmap::DashMap` into `maprace::DashMap` (and names the map after its
//! field); a release build gets dashmap's own map, and hangs.

#[maprace::track]
mod pages {
    use dashmap::DashMap;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Seconds since start, on a clock the example can move forward.
    pub(crate) static NOW: AtomicU64 = AtomicU64::new(0);
    const TTL: u64 = 60;

    pub(crate) struct Page {
        body: String,
        fetched_at: u64,
    }

    impl Page {
        fn is_fresh(&self) -> bool {
            NOW.load(Ordering::Relaxed) - self.fetched_at < TTL
        }
    }

    fn fetch(url: &str) -> Page {
        Page {
            body: format!(
                "<html>{url}, version {}</html>",
                NOW.load(Ordering::Relaxed)
            ),
            fetched_at: NOW.load(Ordering::Relaxed),
        }
    }

    pub(crate) struct Site {
        cache: DashMap<String, Page>,
    }

    impl Site {
        pub(crate) fn new() -> Site {
            Site {
                cache: DashMap::new(),
            }
        }

        pub(crate) fn page(&self, url: &str) -> String {
            match self.cache.get(url) {
                Some(page) if page.is_fresh() => page.body.clone(),
                _ => {
                    let page = fetch(url);
                    let body = page.body.clone();
                    self.cache.insert(url.to_owned(), page); // the get's guard is still alive
                    body
                }
            }
        }
    }
}

fn main() {
    use std::sync::atomic::Ordering;
    let site = pages::Site::new();
    println!("{}", site.page("/home")); // not cached: fetched, then cached
    println!("{}", site.page("/home")); // cached and fresh
    pages::NOW.store(3600, Ordering::Relaxed); // an hour later
    println!("{}", site.page("/home")); // cached but stale: the refresh
}
