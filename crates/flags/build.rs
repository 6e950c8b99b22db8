//! Sets cfg `hp_unleash_spec` when Unleash's client specification cases are beside the
//! repository (`../shared/conformance/unleash-client-specification/index.json`, or the folder
//! `HIREPLANE_TEST_UNLEASH_SPEC` names, for a worktree that lies elsewhere), and passes the
//! folder to the tests as `HIREPLANE_UNLEASH_SPEC_DIR`; without it the conformance test
//! (`tests/conformance.rs`) is reported as ignored, with the reason, rather than passing. Only
//! paths that exist are watched (cargo counts a missing watched path as changed on every
//! build): the folder when it is there, else the nearest folder above it that exists, whose
//! change tells when it appears.

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(hp_unleash_spec)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=HIREPLANE_TEST_UNLEASH_SPEC");
    let folder = match std::env::var("HIREPLANE_TEST_UNLEASH_SPEC") {
        Ok(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
            // crates/flags -> crates -> the workspace -> the folder it lies in.
            let Some(outside) = manifest.ancestors().nth(3) else {
                return;
            };
            outside.join("shared/conformance/unleash-client-specification")
        }
    };
    if folder.join("index.json").is_file() {
        println!("cargo::rerun-if-changed={}", folder.display());
        println!(
            "cargo::rustc-env=HIREPLANE_UNLEASH_SPEC_DIR={}",
            folder.display()
        );
        println!("cargo::rustc-cfg=hp_unleash_spec");
    }
}
