//! The build script's decision of where the detector is compiled in: `build.rs` compiled here as
//! a module, so that its own tests run (a build script is never built with `cfg(test)`).

#[allow(dead_code)] // its `main` is the build script's entry, not called here
#[path = "../build.rs"]
mod build;
