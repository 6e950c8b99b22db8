//! The org folder reader and writer on a generated org and on broken copies of it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use domain::format::{
    FileKind, OrgSink, OrgWriter, ReadError, Record, canonical_records, read_org,
};

/// The org the tests read: generated (seeded, so always the same files) with id `acme`, so its
/// ids read like the sample org's (`acme_job_1`, `acme_src_2`, ...): 300 applications.
fn acme() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    synth::generate(
        &synth::Config {
            org_id: "acme".into(),
            applications: 300,
            seed: 7,
        },
        dir.path(),
    )
    .unwrap();
    dir
}

/// The lines of `file` in the org folder `dir`.
fn lines(dir: &Path, file: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join(file))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

struct Writes(OrgWriter);
impl OrgSink for Writes {
    type Error = domain::format::WriteError;
    fn record(&mut self, r: Record<'_>) -> Result<(), Self::Error> {
        self.0.write(r)
    }
}

struct Nothing;
impl OrgSink for Nothing {
    type Error = std::convert::Infallible;
    fn record(&mut self, _: Record<'_>) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[test]
fn an_org_reads_cleanly_and_writes_back_the_same_records() {
    let acme = acme();
    let acme = acme.path();
    let out = tempfile::tempdir().unwrap();
    let mut sink = Writes(OrgWriter::create(out.path()).unwrap());
    let summary = read_org(acme, &mut sink, &mut |_| {}).unwrap();
    sink.0.finish().unwrap();
    // Every record is read: as many as the files have lines.
    assert_eq!(summary.count(FileKind::Applications), 300);
    for kind in FileKind::ALL {
        if kind.file_name().ends_with(".jsonl") {
            let n = lines(acme, kind.file_name()).len() as u64;
            assert_eq!(summary.count(kind), n, "{}", kind.file_name());
        }
    }
    assert!(summary.count(FileKind::StageTransitions) > 300);
    assert_eq!(
        canonical_records(acme).unwrap(),
        canonical_records(out.path()).unwrap()
    );
}

fn broken(edit: impl FnOnce(&Path)) -> Vec<String> {
    let acme = acme();
    let acme = acme.path();
    let dir = tempfile::tempdir().unwrap();
    for kind in FileKind::ALL {
        let from = acme.join(kind.file_name());
        if from.exists() {
            std::fs::copy(&from, dir.path().join(kind.file_name())).unwrap();
        }
    }
    edit(dir.path());
    match read_org(dir.path(), &mut Nothing, &mut |_| {}) {
        Err(ReadError::Invalid { problems, .. }) => {
            problems.iter().map(|p| p.to_string()).collect()
        }
        other => panic!("expected problems, got {other:?}"),
    }
}

fn replace_line(dir: &Path, file: &str, line: usize, f: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut v: serde_json::Value = serde_json::from_str(&lines[line - 1]).unwrap();
    f(&mut v);
    lines[line - 1] = v.to_string();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn every_kind_of_bad_input_is_reported_at_its_file_and_line() {
    let p = broken(|d| {
        replace_line(d, "applications.jsonl", 5, |v| {
            v["job_id"] = "acme_job_999".into()
        })
    });
    assert!(p.contains(&"applications.jsonl:5: job_id: unknown reference `acme_job_999`: no such id in jobs.jsonl".to_owned()), "{p:#?}");

    // The duplicate line is refused, so references to the id it replaced no longer resolve either.
    let p = broken(|d| replace_line(d, "sources.jsonl", 2, |v| v["id"] = "acme_src_1".into()));
    assert_eq!(
        p[0],
        "sources.jsonl:2: id: duplicate id `acme_src_1`: already used on line 1"
    );
    assert!(p.len() > 1, "acme_src_2 is referred to: {p:?}");
    assert!(
        p[1..].iter().all(|m| m
            .ends_with("source_id: unknown reference `acme_src_2`: no such id in sources.jsonl")),
        "{p:?}"
    );

    let p = broken(|d| replace_line(d, "sources.jsonl", 3, |v| v["kind"] = "billboard".into()));
    assert_eq!(
        p,
        [
            "sources.jsonl:3: kind: `billboard` is not one of `referral`, `agency`, `job_board`, `sourced`, `career_site`, `event`, `other`"
        ]
    );

    let p = broken(|d| {
        replace_line(d, "candidates.jsonl", 7, |v| {
            v["created_at"] = "2025-13-01T00:00:00Z".into()
        })
    });
    assert_eq!(
        p,
        [
            "candidates.jsonl:7: created_at: `2025-13-01T00:00:00Z` is not an RFC 3339 timestamp in UTC such as `2025-03-19T18:11:25Z`"
        ]
    );

    let p = broken(|d| {
        replace_line(d, "users.jsonl", 4, |v| {
            v["timezone"] = "Mars/Olympus_Mons".into()
        })
    });
    assert_eq!(
        p,
        [
            "users.jsonl:4: timezone: `Mars/Olympus_Mons` is not an IANA time zone such as `Europe/Berlin`"
        ]
    );

    let p = broken(|d| {
        replace_line(d, "candidates.jsonl", 2, |v| {
            v["custom_fields"]["years_of_experience"] = "lots".into()
        })
    });
    assert_eq!(
        p,
        [
            "candidates.jsonl:2: custom_fields: `years_of_experience` is a number field, got string `lots`"
        ]
    );

    let p = broken(|d| {
        replace_line(d, "candidates.jsonl", 2, |v| {
            v["custom_fields"]["shoe_size"] = 44.into()
        })
    });
    // The org's candidate fields, as the message lists them: sorted.
    let mut defined: Vec<String> = lines(acme().path(), "custom_fields.jsonl")
        .iter()
        .filter(|f| f["entity"] == "candidate")
        .map(|f| format!("`{}`", f["key"].as_str().unwrap()))
        .collect();
    defined.sort();
    assert!(defined.contains(&"`years_of_experience`".to_owned()));
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with(&format!(
            "candidates.jsonl:2: custom_fields: `shoe_size` is not a custom field of candidates; defined: {}",
            defined.join(", ")
        )),
        "{p:?}"
    );

    let p = broken(|d| {
        replace_line(d, "interviews.jsonl", 3, |v| {
            v["ends_at"] = v["starts_at"].clone()
        })
    });
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("interviews.jsonl:3: ends_at: `"), "{p:?}");
    assert!(p[0].contains("is not after `starts_at`"), "{p:?}");

    // A broken chain: the second transition of some application starts elsewhere.
    let p = broken(|d| {
        let text = std::fs::read_to_string(d.join("stage_transitions.jsonl")).unwrap();
        let line = text
            .lines()
            .position(|l| !l.contains("\"from_stage_id\":null"))
            .unwrap()
            + 1;
        replace_line(d, "stage_transitions.jsonl", line, |v| {
            v["from_stage_id"] = v["to_stage_id"].clone()
        });
    });
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains("from_stage_id: `") && p[0].contains("breaks the chain"),
        "{p:?}"
    );
}

/// Lines and texts are bounded (red team, pass 15: a 200 MB name imported at 1.28 GB of memory,
/// and every page that read it afterwards held it): a text over `MAX_TEXT_CHARS` characters and
/// a line over `MAX_LINE_BYTES` are problems at their file and line, the line read past without
/// being held, and the lines after it are still read.
#[test]
fn long_lines_and_texts_are_refused_at_their_line() {
    use domain::format::{MAX_LINE_BYTES, MAX_TEXT_CHARS};
    let p = broken(|d| {
        replace_line(d, "sources.jsonl", 2, |v| {
            v["name"] = "n".repeat(MAX_TEXT_CHARS + 1).into()
        })
    });
    assert_eq!(
        p,
        [format!(
            "sources.jsonl:2: name: longer than {MAX_TEXT_CHARS} characters ({})",
            MAX_TEXT_CHARS + 1
        )]
    );
    let p = broken(|d| replace_line(d, "sources.jsonl", 2, |v| v["name"] = "a\u{0}b".into()));
    assert_eq!(
        p,
        ["sources.jsonl:2: name: contains a NUL character (U+0000), which no store keeps"]
    );
    let p = broken(|d| {
        let path = d.join("sources.jsonl");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let long = format!("{{\"pad\": \"{}\"}}", "x".repeat(MAX_LINE_BYTES));
        lines.insert(1, long);
        // A broken line after it is still found.
        let mut v: serde_json::Value = serde_json::from_str(&lines[2]).unwrap();
        v["kind"] = "billboard".into();
        lines[2] = v.to_string();
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    });
    assert_eq!(
        p[0],
        format!("sources.jsonl:2: the line is longer than {MAX_LINE_BYTES} bytes")
    );
    assert!(
        p.iter()
            .any(|m| m.starts_with("sources.jsonl:3: kind: `billboard`")),
        "{p:?}"
    );
}

/// A folder that is not there, or a file given as the folder: one plain I/O error naming it, not
/// a problem per file the folder should hold ("org.json:0: missing").
#[test]
fn a_missing_folder_is_one_plain_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-org");
    match read_org(&missing, &mut Nothing, &mut |_| {}) {
        Err(ReadError::Io { path, source }) => {
            assert_eq!(path, missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
    let file = dir.path().join("org.json");
    std::fs::write(&file, "{}").unwrap();
    match read_org(&file, &mut Nothing, &mut |_| {}) {
        Err(ReadError::Io { path, source }) => {
            assert_eq!(path, file);
            assert_eq!(source.kind(), std::io::ErrorKind::NotADirectory);
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
    // An existing empty folder is still read, and says what it lacks.
    std::fs::remove_file(&file).unwrap();
    match read_org(dir.path(), &mut Nothing, &mut |_| {}) {
        Err(ReadError::Invalid { problems, .. }) => {
            assert!(problems[0].to_string().contains("missing"), "{problems:?}");
        }
        other => panic!("expected problems, got {other:?}"),
    }
}
