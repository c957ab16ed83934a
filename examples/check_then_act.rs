//! A lost update that correct locking still allows: a page-hit counter read in one critical
//! section and written in the next, while another thread counts a visit in between. Every
//! access holds the lock, so there is no race; the other visit is lost all the same. maprace
//! reports the check-then-act and exits with 66.
//!
//! ```text
//! cargo run --example check_then_act
//! ```

use std::sync::Arc;
use std::thread;
use std::time::Duration;

#[maprace::track]
mod hits {
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// Hits per page, behind a std-named lock that `track` makes visible.
    pub(crate) struct Hits {
        pub(crate) by_page: Mutex<HashMap<&'static str, u64>>,
    }

    impl Hits {
        pub(crate) fn new() -> Hits {
            Hits {
                by_page: Mutex::new(HashMap::new()),
            }
        }

        /// Correct: the read and the write of the count under one guard.
        pub(crate) fn count(&self, page: &'static str) {
            *self.by_page.lock().unwrap().entry(page).or_insert(0) += 1;
        }
    }
}

fn main() {
    let hits = Arc::new(hits::Hits::new());
    hits.count("/home");
    let other = Arc::clone(&hits);
    let visitor = thread::Builder::new()
        .name("visitor".into())
        .spawn(move || {
            thread::sleep(Duration::from_millis(20));
            other.count("/home");
        })
        .unwrap();

    // The bug: the check in one critical section...
    let pages = &hits.by_page;
    let seen = pages.lock().unwrap().get("/home").copied().unwrap_or(0);
    thread::sleep(Duration::from_millis(100)); // (the visitor's count lands here)
    // ...and the act in the next, based on what the check saw.
    pages.lock().unwrap().insert("/home", seen + 1);

    visitor.join().unwrap();
    let counted = hits.by_page.lock().unwrap()["/home"];
    println!("counted {counted} visits of /home (there were 3)");
}
