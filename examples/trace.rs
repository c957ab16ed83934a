//! maprace's events next to the program's own: a scoped `tracing` subscriber (maprace installs
//! none) shows the stats trace (`maprace::trace`, INFO) and race reports (`maprace`, ERROR).
//!
//! ```text
//! MAPRACE_OPTIONS=trace=1 cargo run --example trace
//! ```
//!
//! The trace lines also go to stderr, each starting `maprace: `, whatever the subscriber.

use maprace::HashMap;

fn main() {
    let subscriber = tracing_subscriber::fmt()
        .with_target(true)
        .with_writer(std::io::stdout)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(target: "app", "loading the catalogue");
        let mut catalogue = HashMap::new();
        for id in 0..100u32 {
            catalogue.insert(id, format!("item {id}"));
        }
        tracing::info!(target: "app", items = catalogue.len(), "catalogue loaded");
        println!("maprace::stats(): {}", maprace::stats());
    });
}
