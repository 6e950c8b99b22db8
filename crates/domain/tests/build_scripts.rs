//! The workspace's build scripts (`build/test-cfg.rs`, included by every `crates/*/build.rs`)
//! never watch a path that does not exist: cargo counts a missing watched path as changed, so the
//! crate and everything above it would be rebuilt on every `cargo run` (a fresh clone without
//! `../shared` beside it waited a minute per command).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

mod cfg {
    include!("../../../build/test-cfg.rs");

    pub fn directives(env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
        test_cfg(env)
    }
}

fn watched(lines: &[String]) -> Vec<PathBuf> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("cargo::rerun-if-changed="))
        .map(PathBuf::from)
        .collect()
}

/// A clone on its own, with no environment: nothing is watched, and no test is switched on or
/// off by anything outside the repository.
#[test]
fn a_lone_clone_watches_no_missing_path() {
    let lines = cfg::directives(&|_| None);
    assert_eq!(watched(&lines), Vec::<PathBuf>::new(), "{lines:#?}");
    assert!(
        lines
            .iter()
            .all(|l| !l.starts_with("cargo::rustc-cfg=") && !l.starts_with("cargo::rustc-env=")),
        "{lines:#?}"
    );
}

/// The tests make their own orgs: a sample org beside the repository (the layout the tests once
/// read `../shared/samples/acme` from) is neither watched nor a cfg, whatever the environment.
#[test]
fn sample_orgs_outside_the_repository_are_not_looked_at() {
    let dir = tempfile::tempdir().unwrap();
    let acme = dir.path().join("samples/acme");
    std::fs::create_dir_all(&acme).unwrap();
    std::fs::write(acme.join("org.json"), "{}").unwrap();
    let samples = dir.path().join("samples").display().to_string();
    let env = |name: &str| (name == "HIREPLANE_SAMPLES").then(|| samples.clone());
    let lines = cfg::directives(&env);
    assert_eq!(lines, cfg::directives(&|_| None));
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("acme") || l.contains("SAMPLES"))
    );
}

/// On this machine, as the build scripts ran: every watched path exists.
#[test]
fn this_build_watches_only_existing_paths() {
    let lines = cfg::directives(&|name| std::env::var(name).ok());
    for path in watched(&lines) {
        assert!(
            path.exists(),
            "the build scripts watch `{}`, which does not exist",
            path.display()
        );
    }
}

/// Every build script of the workspace is the shared one, so the tests above cover them all.
#[test]
fn every_build_script_is_the_shared_one() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut seen = 0;
    for entry in std::fs::read_dir(&crates).unwrap() {
        let build = entry.unwrap().path().join("build.rs");
        let Ok(text) = std::fs::read_to_string(&build) else {
            continue;
        };
        seen += 1;
        assert!(
            text.contains("include!(\"../../build/test-cfg.rs\")")
                && !text.contains("rerun-if-changed"),
            "`{}` must use build/test-cfg.rs and watch nothing of its own",
            build.display()
        );
    }
    assert!(
        seen > 0,
        "no build script found under `{}`",
        crates.display()
    );
}

/// Crate `slo`'s promtool: a missing one is not watched and its tests are off (reported ignored);
/// one that runs is watched and passed to the tests.
#[test]
fn promtool_is_found_or_its_tests_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("bin/promtool").display().to_string();
    let env = |name: &str| match name {
        "CARGO_PKG_NAME" => Some("slo".to_string()),
        "HIREPLANE_TEST_PROMTOOL" => Some(missing.clone()),
        _ => None,
    };
    let lines = cfg::directives(&env);
    assert_eq!(watched(&lines), Vec::<PathBuf>::new(), "{lines:#?}");
    assert!(!lines.iter().any(|l| l == "cargo::rustc-cfg=hp_promtool"));
    assert!(lines.contains(&"cargo::rerun-if-env-changed=HIREPLANE_TEST_PROMTOOL".to_string()));

    // A program that answers `--version` stands in for promtool: the cargo that builds this test
    // (there on every machine that runs it).
    let fake = env!("CARGO");
    assert!(Path::new(fake).is_file(), "`{fake}`");
    let env = |name: &str| match name {
        "CARGO_PKG_NAME" => Some("slo".to_string()),
        "HIREPLANE_TEST_PROMTOOL" => Some(fake.to_string()),
        _ => None,
    };
    let lines = cfg::directives(&env);
    assert_eq!(watched(&lines), vec![PathBuf::from(fake)]);
    assert!(
        lines.iter().any(|l| l == "cargo::rustc-cfg=hp_promtool"),
        "{lines:#?}"
    );
    assert!(lines.contains(&format!("cargo::rustc-env=HIREPLANE_PROMTOOL={fake}")));

    // Other crates never look for it.
    let env = |name: &str| (name == "HIREPLANE_TEST_PROMTOOL").then(|| fake.to_string());
    assert!(
        !cfg::directives(&env)
            .iter()
            .any(|l| l.contains("PROMTOOL=") || l.ends_with("hp_promtool"))
    );
}

/// Crate `flags`' conformance cases: a folder without `index.json` is neither watched nor a cfg
/// (the test is reported ignored); one with it is watched and passed to the tests.
#[test]
fn unleash_cases_are_found_or_the_conformance_test_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().display().to_string();
    let env = |name: &str| match name {
        "CARGO_PKG_NAME" => Some("flags".to_owned()),
        "HIREPLANE_TEST_UNLEASH_SPEC" => Some(folder.clone()),
        _ => None,
    };
    let lines = cfg::directives(&env);
    assert_eq!(watched(&lines), Vec::<PathBuf>::new(), "{lines:#?}");
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("hp_unleash_spec") && l.starts_with("cargo::rustc-cfg"))
    );
    std::fs::write(dir.path().join("index.json"), "[]").unwrap();
    let lines = cfg::directives(&env);
    assert_eq!(watched(&lines), vec![dir.path().to_path_buf()]);
    assert!(lines.contains(&"cargo::rustc-cfg=hp_unleash_spec".to_owned()));
    assert!(lines.contains(&format!(
        "cargo::rustc-env=HIREPLANE_UNLEASH_SPEC_DIR={folder}"
    )));
}

/// Crate `warehouse`'s DuckDB: its tests run when `HIREPLANE_TEST_DUCKDB` is set (else they are
/// reported ignored); no path is watched, and other crates never look at the variable.
#[test]
fn duckdb_is_a_cfg_of_the_warehouse_only() {
    let python = "/opt/venv/bin/python".to_owned();
    let env = |name: &str| match name {
        "CARGO_PKG_NAME" => Some("warehouse".to_owned()),
        "HIREPLANE_TEST_DUCKDB" => Some(python.clone()),
        _ => None,
    };
    let lines = cfg::directives(&env);
    assert_eq!(watched(&lines), Vec::<PathBuf>::new(), "{lines:#?}");
    assert!(lines.contains(&"cargo::rustc-cfg=hp_duckdb".to_owned()));
    let unset = |name: &str| (name == "CARGO_PKG_NAME").then(|| "warehouse".to_owned());
    assert!(!cfg::directives(&unset).contains(&"cargo::rustc-cfg=hp_duckdb".to_owned()));
    let other = |name: &str| (name == "HIREPLANE_TEST_DUCKDB").then(|| python.clone());
    assert!(!cfg::directives(&other).iter().any(|l| l.contains("duckdb")));
}

/// The release binary's debug sections are compressed by the linker on Linux (build/test-cfg.rs):
/// only the `cli` package's binaries, only in release, only where the flag is known.
#[test]
fn the_release_binary_compresses_its_debug_sections() {
    let flag = "cargo::rustc-link-arg-bins=-Wl,--compress-debug-sections=zlib".to_owned();
    let env = |package: &'static str, profile: &'static str, os: &'static str| {
        move |name: &str| match name {
            "CARGO_PKG_NAME" => Some(package.to_owned()),
            "PROFILE" => Some(profile.to_owned()),
            "CARGO_CFG_TARGET_OS" => Some(os.to_owned()),
            _ => None,
        }
    };
    assert!(cfg::directives(&env("cli", "release", "linux")).contains(&flag));
    for (package, profile, os) in [
        ("cli", "debug", "linux"),
        ("cli", "release", "macos"),
        ("server", "release", "linux"),
    ] {
        assert!(
            !cfg::directives(&env(package, profile, os)).contains(&flag),
            "{package} {profile} {os}"
        );
    }
}
