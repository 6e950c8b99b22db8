// Shared by the build scripts of crates whose tests need outside things. Included with
// `include!`; it sets two cfgs so that such tests are *reported as ignored, with the reason*,
// rather than passing silently when what they need is missing:
// - `hp_postgres`: `HIREPLANE_TEST_POSTGRES` holds a PostgreSQL server URL;
// - `hp_acme`: the sample org `shared/samples/acme` (beside the repository, or under
//   `HIREPLANE_SAMPLES`) is on this machine;
// - `hp_radicale`: `HIREPLANE_TEST_RADICALE` holds the path of a Python interpreter that has the
//   CalDAV server Radicale installed (`python -m radicale`).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(hp_postgres)");
    println!("cargo::rustc-check-cfg=cfg(hp_acme)");
    println!("cargo::rustc-check-cfg=cfg(hp_radicale)");
    println!("cargo::rerun-if-env-changed=HIREPLANE_TEST_POSTGRES");
    println!("cargo::rerun-if-env-changed=HIREPLANE_SAMPLES");
    println!("cargo::rerun-if-env-changed=HIREPLANE_TEST_RADICALE");
    if std::env::var("HIREPLANE_TEST_POSTGRES").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=hp_postgres");
    }
    if std::env::var("HIREPLANE_TEST_RADICALE").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=hp_radicale");
    }
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let samples = std::env::var("HIREPLANE_SAMPLES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::Path::new(&manifest).join("../../../shared/samples"));
    let acme = samples.join("acme").join("org.json");
    println!("cargo::rerun-if-changed={}", acme.display());
    if acme.exists() {
        println!("cargo::rustc-cfg=hp_acme");
    }
}
