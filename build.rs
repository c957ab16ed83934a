//! Decides once whether the detector is compiled in, and says so with one cfg, `maprace_detect`,
//! so the rest of the crate never repeats the rule (the README's "Switching it on and off"):
//! on with the `detect` feature in builds with debug assertions, or with `detect-in-release`,
//! on the targets the runtime supports. Elsewhere it is compiled out, with a build warning that
//! says why, and the crate builds as the plain std types there.

use std::env;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(maprace_detect)");
    println!("cargo::rerun-if-changed=build.rs");
    let feature = |name: &str| env::var_os(format!("CARGO_FEATURE_{name}")).is_some();
    let cfg = |name: &str| env::var(format!("CARGO_CFG_{name}")).unwrap_or_default();
    let debug_assertions = env::var_os("CARGO_CFG_DEBUG_ASSERTIONS").is_some();
    if !(feature("DETECT") && (debug_assertions || feature("DETECT_IN_RELEASE"))) {
        return;
    }
    let target = Target {
        os: &cfg("TARGET_OS"),
        env: &cfg("TARGET_ENV"),
        features: &cfg("TARGET_FEATURE"),
        atomics: &cfg("TARGET_HAS_ATOMIC"),
    };
    match target.unsupported() {
        None => println!("cargo::rustc-cfg=maprace_detect"),
        Some(why) => println!(
            "cargo::warning=maprace: the detector is compiled out for target `{}`: {why}; \
             maprace's types are std's there",
            env::var("TARGET").unwrap_or_default()
        ),
    }
}

/// What the build script knows of the target (the `CARGO_CFG_*` values cargo gives it).
struct Target<'a> {
    /// `target_os`.
    os: &'a str,
    /// `target_env`.
    env: &'a str,
    /// `target_feature`, comma-separated.
    features: &'a str,
    /// `target_has_atomic`, comma-separated widths.
    atomics: &'a str,
}

impl Target<'_> {
    /// Why the runtime cannot run on this target, if it cannot. It needs what it uses: thread
    /// creation and join seen by interposing `pthread_create`/`pthread_join` in a dynamically
    /// linked ELF program (with the C library's own found by `dlsym(RTLD_NEXT)`), a start-up
    /// hook in `.init_array`, and 64-bit atomics for its shadow cells. That is Linux with glibc,
    /// linked dynamically: what it is built and tested on. Other ELF systems with pthreads (the
    /// BSDs, Android) may work but are not tested, so they get the plain types rather than a
    /// detector that could miss a thread's edges and report falsely. musl is left out too: its
    /// programs are linked statically by default, and a build script cannot tell (cargo asks
    /// rustc for the target's cfg with the dylib crate types too, for which musl turns
    /// `crt-static` off, so `CARGO_CFG_TARGET_FEATURE` never says `crt-static` there).
    fn unsupported(&self) -> Option<&'static str> {
        let has = |list: &str, item: &str| list.split(',').any(|x| x == item);
        if self.os != "linux" {
            return Some(
                "the runtime needs Linux (ELF symbol interposition of pthread_create and \
                 pthread_join, and an .init_array start-up hook)",
            );
        }
        if self.env != "gnu" {
            return Some(
                "the runtime needs glibc (with musl, programs are linked statically by default, \
                 and then pthread_create and pthread_join cannot be interposed)",
            );
        }
        if has(self.features, "crt-static") {
            return Some(
                "a statically linked program (crt-static) cannot interpose the C library's \
                 pthread_create and pthread_join",
            );
        }
        if !has(self.atomics, "64") {
            return Some("the runtime's shadow cells need 64-bit atomics");
        }
        None
    }
}

// Run by `tests/build_script.rs`, which compiles this file as a module (a build script itself is
// never compiled with `cfg(test)`).
#[cfg(test)]
mod tests {
    use super::Target;

    const X86_64: &str = "fxsr,sse,sse2";
    const ATOMICS: &str = "16,32,64,8,ptr";

    fn target<'a>(os: &'a str, env: &'a str) -> Target<'a> {
        Target {
            os,
            env,
            features: X86_64,
            atomics: ATOMICS,
        }
    }

    #[test]
    fn linux_with_glibc_dynamically_linked_gets_the_detector() {
        assert_eq!(target("linux", "gnu").unsupported(), None);
    }

    #[test]
    fn other_systems_get_the_plain_types_and_a_reason() {
        for (os, env) in [
            ("windows", "msvc"),
            ("windows", "gnu"),
            ("macos", ""),
            ("ios", ""),
            ("freebsd", ""),
            ("android", ""),
            ("none", ""),
        ] {
            let why = target(os, env).unsupported();
            assert!(
                why.is_some_and(|why| why.contains("needs Linux")),
                "{os}: {why:?}"
            );
        }
        for env in ["musl", "uclibc", "ohos", ""] {
            let why = target("linux", env).unsupported();
            assert!(
                why.is_some_and(|why| why.contains("needs glibc")),
                "linux {env}: {why:?}"
            );
        }
    }

    #[test]
    fn static_linking_or_no_64_bit_atomics_gets_the_plain_types() {
        let glibc_static = Target {
            features: "crt-static,fxsr,sse,sse2",
            ..target("linux", "gnu")
        };
        assert!(
            glibc_static
                .unsupported()
                .is_some_and(|why| why.contains("crt-static"))
        );
        let mips32 = Target {
            atomics: "16,32,8,ptr",
            ..target("linux", "gnu")
        };
        assert!(
            mips32
                .unsupported()
                .is_some_and(|why| why.contains("64-bit atomics"))
        );
    }
}
