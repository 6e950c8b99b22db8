//! `app` owns every command; the edges translate (ARCHITECTURE.md, "Architecture invariant:
//! every write of the hiring workflow goes through `app`").
//!
//! The store's write paths are the public functions of `crates/store/src/write/` that answer
//! with a `WriteError` (read from the source here, so a new one is covered the day it is
//! added). No source file of an edge crate (`server`, `cli`) may call one: a call there would
//! skip the command's validation, its authorization or its read-back as the caller. The test
//! names every such call as `file:line`. What must stay is listed in [`ALLOWED`] with its
//! reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

/// Calls an edge may keep: (file under `crates/`, write function, why). Empty today: the
/// import (`hireplane import`) is the store's bulk load (`Store::import`), not a write path
/// of the workflow, and everything else goes through `app::hiring`.
const ALLOWED: &[(&str, &str, &str)] = &[];

/// The edge crates whose sources are scanned.
const EDGES: &[&str] = &["server/src", "cli/src", "cli/bench"];

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crates/")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The write paths: `pub fn NAME(&mut self, ...) -> Result<_, WriteError>` in `text`.
fn write_paths(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("pub fn ") {
        rest = &rest[at + "pub fn ".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let signature = &rest[..rest.find('{').unwrap_or(rest.len())];
        if signature.contains("&mut self") && signature.contains("WriteError") {
            names.push(name);
        }
    }
    names
}

/// Every call `.NAME(` (a method call; whitespace and line breaks allowed around the dot and
/// before the parenthesis) of one of `names` in `text`, as (line, name), except on a receiver
/// named `services`: `app::Services`, whose commands carry the same names as the store's write
/// paths they wrap, is called so in the edges (a name this test holds them to). Comments are
/// skipped.
fn calls(text: &str, names: &[String]) -> Vec<(usize, String)> {
    // The code without comments, and the line of each byte.
    let mut code = String::new();
    let mut line_of = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let kept = line.split("//").next().unwrap_or("");
        code.push_str(kept);
        code.push('\n');
        line_of.extend(std::iter::repeat_n(n + 1, kept.len() + 1));
    }
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut found = Vec::new();
    for name in names {
        let mut from = 0;
        while let Some(at) = code[from..].find(name.as_str()) {
            let start = from + at;
            let end = start + name.len();
            from = end;
            // The whole identifier, a method call: `.` before it, `(` or `::<` after it.
            if code[end..].chars().next().is_some_and(is_ident)
                || code[..start].chars().next_back().is_some_and(is_ident)
            {
                continue;
            }
            let before = code[..start].trim_end();
            let after = code[end..].trim_start();
            if !before.ends_with('.') || !(after.starts_with('(') || after.starts_with("::<")) {
                continue;
            }
            let receiver: String = before[..before.len() - 1]
                .trim_end()
                .chars()
                .rev()
                .take_while(|c| is_ident(*c))
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if receiver == "services" {
                continue;
            }
            found.push((line_of.get(start).copied().unwrap_or(0), name.clone()));
        }
    }
    found.sort();
    found
}

fn store_write_paths() -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&crates_dir().join("store/src/write"), &mut files);
    let mut names: Vec<String> = files
        .iter()
        .flat_map(|f| write_paths(&std::fs::read_to_string(f).unwrap()))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_write_paths_are_found_in_the_store() {
    let names = store_write_paths();
    // The list is read from the source: it must hold the workflow's commands, or the scan
    // below would pass for lack of names.
    for expected in [
        "create_candidate",
        "create_candidate_and_apply",
        "update_candidate",
        "apply",
        "move_stage",
        "archive",
        "hire",
        "create_interview",
        "create_interviews",
        "cancel_interview",
        "submit_feedback",
        "update_feedback",
        "create_offer",
        "update_offer",
        "create_job",
        "update_job",
        "add_stage",
        "update_stage",
        "remove_stage",
        "create_custom_field",
        "update_custom_field",
        "set_custom_field_value",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "`{expected}` is not among the write paths found: {names:?}"
        );
    }
    // Reads in the same files are not write paths.
    for read in ["application", "job", "stage_job", "offers", "feedback"] {
        assert!(!names.iter().any(|n| n == read), "{read} is a read");
    }
}

#[test]
fn the_scan_finds_a_call_and_skips_comments_and_other_names() {
    let names = vec!["archive".to_owned(), "apply".to_owned()];
    let text = "let a = store.archive(org, cmd)?;\n\
                // store.archive(org, cmd) in a comment\n\
                let b = store\n    .apply (org, cmd);\n\
                let c = x.archived(1); let d = x.apply_all(2); let e = archive(3);\n\
                let f = services.archive(store, access, cmd, at)?;\n\
                let g = services\n    .apply(store);\n\
                let h = rc.store().archive::<X>(y);";
    assert_eq!(
        calls(text, &names),
        vec![
            (1, "archive".to_owned()),
            (4, "apply".to_owned()),
            (9, "archive".to_owned())
        ]
    );
}

#[test]
fn edge_crates_call_no_write_path_of_the_store() {
    let names = store_write_paths();
    let root = crates_dir();
    let mut files = Vec::new();
    for edge in EDGES {
        rust_files(&root.join(edge), &mut files);
    }
    assert!(
        files.len() > 10,
        "the edges' sources were not found under {}",
        root.display()
    );
    let mut offences = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap().display().to_string();
        let text = std::fs::read_to_string(file).unwrap();
        for (line, name) in calls(&text, &names) {
            if ALLOWED.iter().any(|(f, n, _)| *f == rel && *n == name) {
                continue;
            }
            offences.push(format!(
                "crates/{rel}:{line}: calls the store's write path `{name}`; call its command in `app` (app::hiring) instead"
            ));
        }
    }
    assert!(
        offences.is_empty(),
        "edges translate, `app` owns every command:\n{}",
        offences.join("\n")
    );
}
