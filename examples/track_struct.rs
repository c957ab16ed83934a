//! `#[maprace::track]` on an app's state. The sessions map is behind a `Mutex`, which the
//! attribute makes visible to maprace, so its use from two threads is fine. The page cache is
//! filled by a render thread through a pointer, "to avoid the lock", while request handling reads
//! it: maprace reports the race and names the field, `page_cache`, in the headline.
//!
//! ```text
//! cargo run --example track_struct
//! ```

use std::collections::HashMap;
use std::sync::Mutex;
use std::thread;

#[maprace::track]
struct AppState {
    /// Every access takes the lock: correct.
    sessions: Mutex<HashMap<u64, String>>,
    /// Read by request handling, filled by the renderer, with nothing in between: the bug.
    page_cache: HashMap<String, String>,
}

#[maprace::track]
impl AppState {
    fn new() -> Self {
        AppState {
            sessions: Mutex::new(HashMap::new()),
            page_cache: HashMap::new(),
        }
    }

    fn log_in(&self, id: u64, user: &str) {
        self.sessions.lock().unwrap().insert(id, user.to_owned());
    }
}

/// The state's address, handed to the renderer so that it can fill the cache without a lock.
#[derive(Clone, Copy)]
struct StatePtr(*mut AppState);
// SAFETY: none; this is the bug maprace finds.
unsafe impl Send for StatePtr {}

fn main() {
    let mut state = AppState::new();
    let ptr = StatePtr(&mut state);

    let renderer = thread::Builder::new()
        .name("renderer".into())
        .spawn(move || {
            let ptr = ptr;
            for page in 0..1000u64 {
                // SAFETY: none; the request loop below reads the cache meanwhile.
                let state = unsafe { &mut *ptr.0 };
                state.log_in(page, "renderer");
                state
                    .page_cache
                    .insert(format!("/page/{page}"), format!("<h1>{page}</h1>"));
            }
        })
        .unwrap();

    let mut cached = 0;
    for page in 0..1000u64 {
        state.log_in(10_000 + page, "visitor");
        if state.page_cache.contains_key(&format!("/page/{page}")) {
            cached += 1;
        }
    }
    renderer.join().unwrap();
    println!(
        "{cached} of 1000 pages were cached; {} sessions",
        state.sessions.lock().unwrap().len()
    );
}
