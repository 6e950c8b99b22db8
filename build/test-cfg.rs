// Shared by the build scripts of crates whose tests need outside things. Included with
// `include!`; it sets cfgs so that such tests are *reported as ignored, with the reason*,
// rather than passing silently when what they need is missing:
// - `hp_postgres`: `HIREPLANE_TEST_POSTGRES` holds a PostgreSQL server URL;
// - `hp_radicale`: `HIREPLANE_TEST_RADICALE` holds the path of a Python interpreter that has the
//   CalDAV server Radicale installed (`python -m radicale`);
// - `hp_nats`: `HIREPLANE_TEST_NATS_SERVER` holds the path of the `nats-server` binary (the tests
//   start their own servers with JetStream, on free ports, to stop and restart them);
// - `hp_promtool` (crate `slo` only): Prometheus' `promtool` runs, as `HIREPLANE_TEST_PROMTOOL`
//   names it or else as `promtool` on `PATH` (Debian: `apt-get install prometheus`);
// - `hp_unleash_spec` (crate `flags` only): Unleash's client specification cases are beside the
//   repository (`../shared/conformance/unleash-client-specification/index.json`), or in the
//   folder `HIREPLANE_TEST_UNLEASH_SPEC` names (a worktree elsewhere); the folder is passed to the
//   tests as `HIREPLANE_UNLEASH_SPEC_DIR` and watched only when it exists;
// - `hp_duckdb` (crate `warehouse` only): `HIREPLANE_TEST_DUCKDB` holds the path of a Python
//   interpreter that has the `duckdb` package installed (the tests load the Parquet files with it);
// - `hp_smtp` (crate `effects` only): `HIREPLANE_TEST_SMTP` holds the path of a Python interpreter
//   that has the SMTP server `aiosmtpd` installed (the tests start it as a sink that counts
//   messages by `Message-ID`).
// - `hp_chromium` (crate `server` only): `HIREPLANE_TEST_CHROMIUM` holds the path of a Chromium
//   binary and `HIREPLANE_TEST_CHROMEDRIVER` that of its `chromedriver` (Debian: `apt-get install
//   chromium chromium-driver`); the console's browser tests drive it over WebDriver.
//
// The tests make their own fixtures (generated orgs, files under the repository): nothing here
// looks outside the repository but the tools named above and the specification's cases.
//
// A build script reruns when something it watches changes, and cargo counts a watched path that
// does not exist as changed on every build: so only paths that exist are watched (a missing
// promtool is looked for again when `HIREPLANE_TEST_PROMTOOL` or this file changes). Checked by
// `crates/domain/tests/build_scripts.rs`.

#[allow(dead_code)]
fn main() {
    for line in test_cfg(&|name| std::env::var(name).ok()) {
        println!("{line}");
    }
}

/// The build script's directives, with `env` the environment.
fn test_cfg(env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let mut out = vec![
        "cargo::rustc-check-cfg=cfg(hp_postgres)".to_string(),
        "cargo::rustc-check-cfg=cfg(hp_radicale)".to_string(),
        "cargo::rustc-check-cfg=cfg(hp_nats)".to_string(),
        "cargo::rustc-check-cfg=cfg(hp_promtool)".to_string(),
        "cargo::rustc-check-cfg=cfg(hp_unleash_spec)".to_string(),
        "cargo::rerun-if-env-changed=HIREPLANE_TEST_POSTGRES".to_string(),
        "cargo::rerun-if-env-changed=HIREPLANE_TEST_RADICALE".to_string(),
        "cargo::rerun-if-env-changed=HIREPLANE_TEST_NATS_SERVER".to_string(),
    ];
    let set = |name: &str| env(name).is_some_and(|v| !v.is_empty());
    if set("HIREPLANE_TEST_POSTGRES") {
        out.push("cargo::rustc-cfg=hp_postgres".into());
    }
    if set("HIREPLANE_TEST_RADICALE") {
        out.push("cargo::rustc-cfg=hp_radicale".into());
    }
    if set("HIREPLANE_TEST_NATS_SERVER") {
        out.push("cargo::rustc-cfg=hp_nats".into());
    }
    if env("CARGO_PKG_NAME").as_deref() == Some("warehouse") {
        out.push("cargo::rustc-check-cfg=cfg(hp_duckdb)".into());
        out.push("cargo::rerun-if-env-changed=HIREPLANE_TEST_DUCKDB".into());
        if set("HIREPLANE_TEST_DUCKDB") {
            out.push("cargo::rustc-cfg=hp_duckdb".into());
        }
    }
    if env("CARGO_PKG_NAME").as_deref() == Some("effects") {
        out.push("cargo::rustc-check-cfg=cfg(hp_smtp)".into());
        out.push("cargo::rerun-if-env-changed=HIREPLANE_TEST_SMTP".into());
        if set("HIREPLANE_TEST_SMTP") {
            out.push("cargo::rustc-cfg=hp_smtp".into());
        }
    }
    if env("CARGO_PKG_NAME").as_deref() == Some("server") {
        out.push("cargo::rustc-check-cfg=cfg(hp_chromium)".into());
        out.push("cargo::rerun-if-env-changed=HIREPLANE_TEST_CHROMIUM".into());
        out.push("cargo::rerun-if-env-changed=HIREPLANE_TEST_CHROMEDRIVER".into());
        if set("HIREPLANE_TEST_CHROMIUM") && set("HIREPLANE_TEST_CHROMEDRIVER") {
            out.push("cargo::rustc-cfg=hp_chromium".into());
        }
    }
    if env("CARGO_PKG_NAME").as_deref() == Some("flags") {
        out.push("cargo::rerun-if-env-changed=HIREPLANE_TEST_UNLEASH_SPEC".into());
        let folder = match env("HIREPLANE_TEST_UNLEASH_SPEC").filter(|v| !v.is_empty()) {
            Some(dir) => Some(std::path::PathBuf::from(dir)),
            // crates/flags -> crates -> the repository -> the folder it lies in.
            None => env("CARGO_MANIFEST_DIR").and_then(|m| {
                std::path::Path::new(&m)
                    .ancestors()
                    .nth(3)
                    .map(|outside| outside.join("shared/conformance/unleash-client-specification"))
            }),
        };
        if let Some(folder) = folder.filter(|f| f.join("index.json").is_file()) {
            out.push(format!("cargo::rerun-if-changed={}", folder.display()));
            out.push(format!(
                "cargo::rustc-env=HIREPLANE_UNLEASH_SPEC_DIR={}",
                folder.display()
            ));
            out.push("cargo::rustc-cfg=hp_unleash_spec".into());
        }
    }
    if env("CARGO_PKG_NAME").as_deref() == Some("slo") {
        out.push("cargo::rerun-if-env-changed=HIREPLANE_TEST_PROMTOOL".into());
        let program = env("HIREPLANE_TEST_PROMTOOL")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "promtool".into());
        let found = if program.contains('/') {
            Some(std::path::PathBuf::from(&program))
        } else {
            env("PATH").and_then(|path| {
                std::env::split_paths(&path)
                    .map(|dir| dir.join(&program))
                    .find(|p| p.is_file())
            })
        };
        let runs = |p: &std::path::Path| {
            std::process::Command::new(p)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if let Some(found) = found.filter(|p| p.exists() && runs(p)) {
            out.push(format!("cargo::rerun-if-changed={}", found.display()));
            out.push(format!("cargo::rustc-env=HIREPLANE_PROMTOOL={}", found.display()));
            out.push("cargo::rustc-cfg=hp_promtool".into());
        }
    }
    // The release binary's debug information (line tables of our own crates, for backtraces;
    // `Cargo.toml` gives dependencies none) compressed by the linker: 120 MB -> 65 MB, and the
    // standard library reads compressed sections for backtraces' file and line. Linux's
    // linkers (GNU ld, gold, lld, mold) all take the flag.
    if env("CARGO_PKG_NAME").as_deref() == Some("cli")
        && env("PROFILE").as_deref() == Some("release")
        && env("CARGO_CFG_TARGET_OS").as_deref() == Some("linux")
    {
        out.push("cargo::rustc-link-arg-bins=-Wl,--compress-debug-sections=zlib".into());
    }
    out
}
