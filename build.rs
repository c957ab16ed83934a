//! Decides once whether the detector is compiled in, and says so with one cfg, `maprace_detect`,
//! so the rest of the crate never repeats the rule (the README's "Switching it on and off"):
//! on with the `detect` feature in builds with debug assertions, or with `detect-in-release`.

use std::env;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(maprace_detect)");
    println!("cargo::rerun-if-changed=build.rs");
    let feature = |name: &str| env::var_os(format!("CARGO_FEATURE_{name}")).is_some();
    let debug_assertions = env::var_os("CARGO_CFG_DEBUG_ASSERTIONS").is_some();
    if feature("DETECT") && (debug_assertions || feature("DETECT_IN_RELEASE")) {
        println!("cargo::rustc-cfg=maprace_detect");
    }
}
