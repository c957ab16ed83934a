//! The `#[maprace::track]` attribute, compiled as users compile it: `ui/pass` must build and run,
//! `ui/fail` must fail with the error in its `.stderr` snapshot (one mistake per file).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    #[cfg(feature = "dashmap")]
    t.pass("tests/ui/pass_dashmap/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
