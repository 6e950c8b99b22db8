//! The warehouse export against real stores (SQLite always, PostgreSQL with
//! `HIREPLANE_TEST_POSTGRES`) and a real consumer: the Parquet files are loaded into DuckDB from
//! Python (`HIREPLANE_TEST_DUCKDB` names a python with the `duckdb` package; `.ci/run` installs
//! it). Without them the tests are reported as ignored, with the reason.
//! - Three standard questions (applications and hires per source kind, a stage funnel per
//!   department, accepted offers per department) asked in SQL over the files equal the report
//!   language's answers to them, run through `app` as the org's admin.
//! - A delta (`--since`) after a few commands (a move, a new candidate with an application, an
//!   archive, a job's hiring team cut, a stage removed), applied to the first export as
//!   docs/warehouse.md says, equals a full export taken at the same point, table by table.
//! - Types, row groups of bounded size, the manifest's rows and SHA-256.
//! - One snapshot: a change committed by another connection while the export reads is in neither
//!   its rows nor its `seq`.
//! - Bad input (a missing org, a folder that is not empty or cannot be written, `--since`
//!   without a manifest or of another org) is refused with a clear error and leaves nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use app::hiring::{ArchiveApplication, CreateCandidate, MoveApplication, RemoveStage, UpdateJob};
use app::{Access, Services};
use domain::Id;
use serde_json::{Value, json};
use store::warehouse::{WarehouseSink, WarehouseTable};
use store::{Get, ImportOptions, Store, StoreError};
use warehouse::{Kind, Manifest, Options, WarehouseError};

const ORG: &str = "whs";

/// A store on a fresh database; dropping it removes the database.
struct Fresh {
    store: Option<Store>,
    /// The store's URL, for a second connection.
    url: String,
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Fresh {
    fn store(&mut self) -> &mut Store {
        self.store.as_mut().unwrap()
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        self.store = None;
        if let Some((admin, name)) = &self.pg
            && let Ok(mut c) = postgres::Client::connect(admin, postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn sqlite() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    Fresh {
        store: Some(Store::open(&url).unwrap()),
        url,
        pg: None,
        _dir: dir,
    }
}

fn postgres() -> Fresh {
    static N: AtomicU32 = AtomicU32::new(0);
    let admin = std::env::var("HIREPLANE_TEST_POSTGRES").expect("HIREPLANE_TEST_POSTGRES");
    let name = format!(
        "hp_whtest_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        jiff::Timestamp::now().as_millisecond() % 1_000_000
    );
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let base = &admin[..admin.rfind('/').unwrap()];
    let url = format!("{base}/{name}");
    Fresh {
        store: Some(Store::open(&url).unwrap()),
        url,
        pg: Some((admin, name)),
        _dir: tempfile::tempdir().unwrap(),
    }
}

/// A fresh store holding a generated org of `applications` applications; returns the day the
/// data is about.
fn with_org(f: &mut Fresh, applications: u64) -> jiff::civil::Date {
    let dir = tempfile::tempdir().unwrap();
    let summary = synth::generate(
        &synth::Config {
            org_id: ORG.into(),
            applications,
            seed: 7,
        },
        dir.path(),
    )
    .unwrap();
    f.store()
        .import(dir.path(), ImportOptions::default(), &mut |_| {})
        .unwrap();
    summary.reference_time[..10].parse().unwrap()
}

fn now() -> domain::Instant {
    domain::Instant::from_timestamp(jiff::Timestamp::now())
}

fn options(dir: &Path, since: Option<&Path>) -> Options {
    Options {
        org: ORG.into(),
        dir: dir.to_owned(),
        since: since.map(Path::to_owned),
        at: now(),
        row_group_rows: warehouse::parquet_table::ROW_GROUP_ROWS,
    }
}

/// Runs `setup` and `queries` in DuckDB (tests/duckdb_run.py); each query's rows as JSON.
fn duckdb(setup: &[String], queries: &[(&str, String)]) -> BTreeMap<String, Vec<Vec<Value>>> {
    use std::io::Write as _;
    let python = std::env::var("HIREPLANE_TEST_DUCKDB").expect("HIREPLANE_TEST_DUCKDB");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/duckdb_run.py");
    let request = json!({
        "setup": setup,
        "queries": queries.iter().map(|(n, q)| (n.to_string(), json!(q))).collect::<serde_json::Map<_, _>>(),
    });
    let mut child = std::process::Command::new(python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "duckdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// DuckDB views named after the tables over the files of the export in `dir`.
fn views(dir: &Path, manifest: &Manifest) -> Vec<String> {
    manifest
        .files
        .iter()
        .map(|f| {
            format!(
                "CREATE VIEW {} AS SELECT * FROM read_parquet('{}')",
                f.table,
                dir.join(&f.file).display()
            )
        })
        .collect()
}

fn admin(store: &mut Store, services: &Services) -> Access {
    let users = store.active_users(ORG).unwrap();
    let admin = users.iter().find(|u| u.role == "admin").unwrap();
    services.access(store, ORG, &admin.id).unwrap()
}

/// The rows of a report run as the org's admin, as JSON, sorted.
fn report_rows(
    store: &mut Store,
    services: &Services,
    text: &str,
    today: jiff::civil::Date,
) -> Vec<Vec<Value>> {
    let access = admin(store, services);
    let report = query_syntax::parse(text).unwrap();
    let run = services
        .run_report_as(store, access, &report, Some(today), now())
        .unwrap();
    let mut rows: Vec<Vec<Value>> = run
        .rows
        .rows
        .iter()
        .map(|r| r.iter().map(|v| v.to_json()).collect())
        .collect();
    rows.sort_by_key(|r| serde_json::to_string(r).unwrap());
    rows
}

fn sorted(mut rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    rows.sort_by_key(|r| serde_json::to_string(r).unwrap());
    rows
}

/// The three questions, in the report language and in SQL over the Parquet files.
const QUESTIONS: [(&str, &str, &str); 3] = [
    (
        "applications per source kind",
        r#"report applications
           group by source.kind as source
           show count() as applications, count(where status = "hired") as hires"#,
        "SELECT s.kind, count(*), count(*) FILTER (WHERE a.status = 'hired')
         FROM applications a LEFT JOIN sources s ON s.id = a.source_id
         GROUP BY s.kind",
    ),
    (
        "stage funnel per department",
        r#"report applications
           group by job.department.name as department
           show count() as applications,
                count(where reached(kind("screen"))) as screen,
                count(where reached(kind("onsite"))) as onsite,
                count(where reached(kind("offer"))) as offer,
                count(where reached(kind("hired"))) as hired"#,
        // From the stage history, not from the stored bitmask the report reads.
        "WITH reached AS (
             SELECT t.application_id,
                    bool_or(s.kind = 'screen') AS screen, bool_or(s.kind = 'onsite') AS onsite,
                    bool_or(s.kind = 'offer') AS offer, bool_or(s.kind = 'hired') AS hired
             FROM stage_transitions t JOIN stages s ON s.id = t.to_stage_id
             GROUP BY t.application_id)
         SELECT d.name, count(*),
                count(*) FILTER (WHERE r.screen), count(*) FILTER (WHERE r.onsite),
                count(*) FILTER (WHERE r.offer), count(*) FILTER (WHERE r.hired)
         FROM applications a
         JOIN jobs j ON j.id = a.job_id JOIN departments d ON d.id = j.department_id
         LEFT JOIN reached r ON r.application_id = a.id
         GROUP BY d.name",
    ),
    (
        "accepted offers per department",
        r#"report offers
           where current and status = "accepted"
           group by application.job.department.name as department
           show count() as accepted, round(avg(salary), 2) as avg_salary"#,
        "SELECT d.name, count(*), round(avg(o.salary_amount), 2)
         FROM offers o
         JOIN (SELECT application_id, max(version) AS version FROM offers GROUP BY 1) c
           ON c.application_id = o.application_id AND c.version = o.version
         JOIN applications a ON a.id = o.application_id
         JOIN jobs j ON j.id = a.job_id JOIN departments d ON d.id = j.department_id
         WHERE o.status = 'accepted'
         GROUP BY d.name",
    ),
];

macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            #[cfg_attr(
                not(hp_duckdb),
                ignore = "needs HIREPLANE_TEST_DUCKDB: a python with duckdb installed (see .ci/run)"
            )]
            fn sqlite() {
                let f: fn(Fresh) = $body;
                f(super::sqlite());
            }
            #[test]
            #[cfg_attr(
                not(all(hp_postgres, hp_duckdb)),
                ignore = "needs HIREPLANE_TEST_POSTGRES (a PostgreSQL URL) and HIREPLANE_TEST_DUCKDB (a python with duckdb, see .ci/run)"
            )]
            fn postgres() {
                let f: fn(Fresh) = $body;
                f(super::postgres());
            }
        }
    };
}

on_both!(
    reports_in_sql_over_the_files_equal_the_report_language,
    |mut f| {
        let today = with_org(&mut f, 600);
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("full");
        let mut opts = options(&dir, None);
        // Small row groups, so that the tables are written in several.
        opts.row_group_rows = 100;
        let manifest = warehouse::export(f.store(), &opts).unwrap();
        assert_eq!(manifest.kind, Kind::Full);
        assert_eq!(manifest.follows, None);

        let services = Services::new();
        let queries: Vec<(&str, String)> = QUESTIONS
            .iter()
            .map(|(name, _, sql)| (*name, sql.to_string()))
            .chain([
                (
                    "applications row groups",
                    format!(
                        "SELECT count(DISTINCT row_group_id), max(row_group_num_rows) FROM parquet_metadata('{}')",
                        dir.join("applications.parquet").display()
                    ),
                ),
                (
                    "types",
                    "SELECT column_name, column_type FROM (DESCRIBE SELECT applied_at, hired_at, custom_fields FROM applications) \
                     UNION ALL SELECT column_name, column_type FROM (DESCRIBE SELECT start_date, salary_amount, version FROM offers) \
                     UNION ALL SELECT column_name, column_type FROM (DESCRIBE SELECT confidential FROM jobs)"
                        .to_owned(),
                ),
            ])
            .chain(manifest.files.iter().map(|file| {
                (
                    file.table.as_str(),
                    format!("SELECT count(*) FROM {}", file.table),
                )
            }))
            .collect();
        let answers = duckdb(&views(&dir, &manifest), &queries);
        for (name, report, _) in QUESTIONS {
            let expected = report_rows(f.store(), &services, report, today);
            assert!(expected.len() > 1, "{name}: {expected:?}");
            assert_eq!(sorted(answers[name].clone()), expected, "{name}");
        }
        let groups = &answers["applications row groups"][0];
        assert_eq!(groups[0], json!(6), "600 applications in groups of 100");
        assert_eq!(groups[1], json!(100));
        let types: BTreeMap<String, String> = answers["types"]
            .iter()
            .map(|r| {
                (
                    r[0].as_str().unwrap().to_owned(),
                    r[1].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(types["applied_at"], "TIMESTAMP WITH TIME ZONE");
        assert_eq!(types["hired_at"], "TIMESTAMP WITH TIME ZONE");
        assert_eq!(types["custom_fields"], "VARCHAR");
        assert_eq!(types["start_date"], "DATE");
        assert_eq!(types["salary_amount"], "DOUBLE");
        assert_eq!(types["version"], "BIGINT");
        assert_eq!(types["confidential"], "BOOLEAN");

        // The manifest says what the files hold.
        let counts = f.store().org_counts(ORG).unwrap();
        for file in &manifest.files {
            assert_eq!(
                answers[file.table.as_str()][0][0],
                json!(file.rows),
                "{}",
                file.table
            );
            let bytes = std::fs::read(dir.join(&file.file)).unwrap();
            use sha2::Digest;
            assert_eq!(
                warehouse::parquet_table::hex(&sha2::Sha256::digest(&bytes)),
                file.sha256
            );
            if let Some(table) = store::warehouse::TABLES
                .iter()
                .find(|t| t.name == file.table)
                .and_then(|t| t.table)
            {
                assert_eq!(file.rows, counts.get(table), "{}", file.table);
            }
        }
        assert_eq!(
            manifest.files.len(),
            store::warehouse::TABLES.len() + 1,
            "every table and the events"
        );
        let (read, _) = warehouse::read_manifest(&dir).unwrap();
        assert_eq!(read, manifest);
    }
);

on_both!(
    a_delta_applied_to_the_first_export_equals_a_full_export,
    |mut f| {
        with_org(&mut f, 300);
        let services = Services::new();
        let at = now();
        let access = admin(f.store(), &services);
        let tmp = tempfile::tempdir().unwrap();

        // A stage nothing refers to, to be removed after the first export.
        let first_dir = tmp.path().join("first");
        let pick = |dir: &Path, manifest: &Manifest, sql: &str| -> Vec<Vec<Value>> {
            duckdb(&views(dir, manifest), &[("pick", sql.to_owned())])
                .remove("pick")
                .unwrap()
        };
        let probe =
            warehouse::export(f.store(), &options(&tmp.path().join("probe"), None)).unwrap();
        let picked = pick(
            &tmp.path().join("probe"),
            &probe,
            "SELECT j.id, (SELECT count(*) FROM hiring_team h WHERE h.job_id = j.id) AS team
         FROM jobs j WHERE j.status = 'open' ORDER BY team DESC, j.id LIMIT 1",
        );
        let job = Id::parse(picked[0][0].as_str().unwrap().to_owned()).unwrap();
        assert!(
            picked[0][1].as_i64().unwrap() >= 2,
            "a job with a team of two or more"
        );
        services
            .add_stage(
                f.store(),
                &access,
                app::hiring::AddStage {
                    job_id: job.clone(),
                    name: "Warehouse check".into(),
                    kind: domain::enums::StageKind::Assessment,
                    before_stage_id: None,
                },
                at,
            )
            .unwrap();

        let first = warehouse::export(f.store(), &options(&first_dir, None)).unwrap();
        let seq_first = first.seq;
        assert!(seq_first >= 1, "the stage added is an event");
        let rows = pick(
        &first_dir,
        &first,
        &format!(
            "SELECT a.id, (SELECT s2.id FROM stages s2 WHERE s2.job_id = a.job_id AND s2.position > s.position AND s2.kind <> 'hired' ORDER BY s2.position LIMIT 1)
             FROM applications a JOIN stages s ON s.id = a.current_stage_id
             WHERE a.status = 'active' AND a.job_id <> '{job}'
             ORDER BY a.id LIMIT 3"
        ),
    );
        let moved = Id::parse(rows[0][0].as_str().unwrap().to_owned()).unwrap();
        let to_stage = Id::parse(rows[0][1].as_str().unwrap().to_owned()).unwrap();
        let archived = Id::parse(rows[1][0].as_str().unwrap().to_owned()).unwrap();
        let team = pick(
            &first_dir,
            &first,
            &format!(
                "SELECT user_id, role FROM hiring_team WHERE job_id = '{job}' ORDER BY position LIMIT 1"
            ),
        );
        let removed_stage = pick(
            &first_dir,
            &first,
            &format!("SELECT id FROM stages WHERE job_id = '{job}' AND name = 'Warehouse check'"),
        )[0][0]
            .as_str()
            .unwrap()
            .to_owned();

        // The changes.
        services
            .move_application(
                f.store(),
                &access,
                MoveApplication {
                    application_id: moved.clone(),
                    to_stage_id: to_stage,
                },
                at,
            )
            .unwrap();
        services
            .create_candidate(
                f.store(),
                &access,
                CreateCandidate {
                    name: "Delta Candidate".into(),
                    email: Some("delta-candidate@example.com".into()),
                    job_id: Some(job.clone()),
                    ..CreateCandidate::default()
                },
                at,
            )
            .unwrap();
        services
            .archive_application(
                f.store(),
                &access,
                ArchiveApplication {
                    application_id: archived,
                    reason: store::DEFAULT_ARCHIVE_REASONS[0].to_owned(),
                },
                at,
            )
            .unwrap();
        services
            .update_job(
                f.store(),
                &access,
                UpdateJob {
                    job_id: job.clone(),
                    title: None,
                    location: None,
                    status: None,
                    confidential: None,
                    headcount: None,
                    hiring_team: Some(vec![domain::entity::HiringTeamMember {
                        user_id: Id::parse(team[0][0].as_str().unwrap().to_owned()).unwrap(),
                        role: domain::enums::HiringTeamRole::parse(team[0][1].as_str().unwrap())
                            .unwrap(),
                    }]),
                },
                at,
            )
            .unwrap();
        services
            .remove_stage(
                f.store(),
                &access,
                RemoveStage {
                    stage_id: Id::parse(removed_stage.clone()).unwrap(),
                },
                at,
            )
            .unwrap();

        let delta_dir = tmp.path().join("delta");
        let delta = warehouse::export(f.store(), &options(&delta_dir, Some(&first_dir))).unwrap();
        let full_dir = tmp.path().join("full");
        let full = warehouse::export(f.store(), &options(&full_dir, None)).unwrap();
        assert_eq!(delta.kind, Kind::Delta);
        assert_eq!(delta.follows.as_ref().unwrap().seq, seq_first);
        assert_eq!(delta.seq, full.seq);
        assert_eq!(
            delta.file("events").unwrap().rows as i64,
            delta.seq - seq_first
        );
        assert!(delta.seq - seq_first >= 5, "an event per command");
        // Only what changed: the entities the events name.
        let applications = delta.file("applications").unwrap().rows;
        assert!(
            (2..10).contains(&applications),
            "the moved, the new and the archived application, and the job's? {applications}"
        );
        assert!(delta.file("candidates").unwrap().rows < full.file("candidates").unwrap().rows);

        // Applied as docs/warehouse.md says: per table, delete the rows in the delta's scope, then
        // insert the delta's rows; events are appended.
        let mut setup = Vec::new();
        for file in &first.files {
            setup.push(format!(
                "CREATE TABLE {} AS SELECT * FROM read_parquet('{}')",
                file.table,
                first_dir.join(&file.file).display()
            ));
        }
        setup.push(format!(
            "CREATE TABLE scope AS SELECT * FROM read_parquet('{}')",
            delta_dir.join("scope.parquet").display()
        ));
        for file in &delta.files {
            if file.table == "scope" {
                continue;
            }
            if file.table != "events" {
                setup.push(format!(
                "DELETE FROM {t} WHERE {c} IN (SELECT value FROM scope WHERE \"table\" = '{t}')",
                t = file.table,
                c = file.scope
            ));
            }
            setup.push(format!(
                "INSERT INTO {} SELECT * FROM read_parquet('{}')",
                file.table,
                delta_dir.join(&file.file).display()
            ));
        }
        let mut queries = Vec::new();
        for file in &full.files {
            let full_file = full_dir.join(&file.file).display().to_string();
            queries.push((
            file.table.as_str(),
            format!(
                "SELECT (SELECT count(*) FROM (SELECT * FROM {t} EXCEPT ALL SELECT * FROM read_parquet('{full_file}'))),
                        (SELECT count(*) FROM (SELECT * FROM read_parquet('{full_file}') EXCEPT ALL SELECT * FROM {t})),
                        (SELECT count(*) FROM {t})",
                t = file.table
            ),
        ));
        }
        queries.push((
            "removed stage",
            format!("SELECT count(*) FROM stages WHERE id = '{removed_stage}'"),
        ));
        let answers = duckdb(&setup, &queries);
        for file in &full.files {
            let row = &answers[file.table.as_str()][0];
            assert_eq!(
                (row[0].as_i64(), row[1].as_i64(), row[2].as_u64()),
                (Some(0), Some(0), Some(file.rows)),
                "`{}`: rows only in the applied delta, rows only in the full export, rows",
                file.table
            );
        }
        assert_eq!(answers["removed stage"][0][0], json!(0));

        // A delta of a delta: nothing changed, so nothing but the configuration tables.
        let again = warehouse::export(
            f.store(),
            &options(&tmp.path().join("again"), Some(&delta_dir)),
        )
        .unwrap();
        assert_eq!(again.seq, delta.seq);
        assert_eq!(again.file("events").unwrap().rows, 0);
        assert_eq!(again.file("applications").unwrap().rows, 0);
    }
);

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    out.sort();
    out
}

#[test]
fn bad_input_is_refused_and_nothing_is_left_behind() {
    let mut f = sqlite();
    with_org(&mut f, 50);
    let tmp = tempfile::tempdir().unwrap();
    let message = |e: WarehouseError| {
        let mut s = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            s.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        s
    };

    // A missing org.
    let mut opts = options(&tmp.path().join("x"), None);
    opts.org = "nope".into();
    let e = message(warehouse::export(f.store(), &opts).unwrap_err());
    assert!(e.contains("no org `nope`"), "{e}");
    assert_eq!(entries(tmp.path()), Vec::<PathBuf>::new());

    // A folder that is not empty, and a file.
    let full = tmp.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("keep.txt"), "mine").unwrap();
    let e = message(warehouse::export(f.store(), &options(&full, None)).unwrap_err());
    assert!(e.contains("is not an empty folder"), "{e}");
    assert_eq!(entries(&full), vec![full.join("keep.txt")]);
    let e =
        message(warehouse::export(f.store(), &options(&full.join("keep.txt"), None)).unwrap_err());
    assert!(e.contains("is not an empty folder"), "{e}");

    // A folder that cannot be written: its parent is a file (permissions do not stop root).
    let e = message(
        warehouse::export(f.store(), &options(&full.join("keep.txt/sub"), None)).unwrap_err(),
    );
    assert!(e.contains("cannot write"), "{e}");
    std::fs::remove_dir_all(&full).unwrap();
    assert_eq!(entries(tmp.path()), Vec::<PathBuf>::new());

    // `--since` without a manifest, or with one of another org.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let e = message(
        warehouse::export(f.store(), &options(&tmp.path().join("d"), Some(&empty))).unwrap_err(),
    );
    assert!(e.contains("`--since`: no manifest at"), "{e}");
    std::fs::write(empty.join("manifest.json"), "{\"format\": 1}").unwrap();
    let e = message(
        warehouse::export(f.store(), &options(&tmp.path().join("d"), Some(&empty))).unwrap_err(),
    );
    assert!(e.contains("is not a warehouse manifest"), "{e}");
    let ok = tmp.path().join("ok");
    let manifest = warehouse::export(f.store(), &options(&ok, None)).unwrap();
    assert!(ok.join("manifest.json").is_file());
    let mut other = manifest.clone();
    other.org = "another".into();
    std::fs::write(
        empty.join("manifest.json"),
        serde_json::to_string(&other).unwrap(),
    )
    .unwrap();
    let e = message(
        warehouse::export(f.store(), &options(&tmp.path().join("d"), Some(&empty))).unwrap_err(),
    );
    assert!(e.contains("of org `another`, not `whs`"), "{e}");
    // A previous export ahead of the store (of another store, or an org replaced since).
    let mut ahead = manifest.clone();
    ahead.seq = 1_000;
    std::fs::write(
        empty.join("manifest.json"),
        serde_json::to_string(&ahead).unwrap(),
    )
    .unwrap();
    let e = message(
        warehouse::export(f.store(), &options(&tmp.path().join("d"), Some(&empty))).unwrap_err(),
    );
    assert!(e.contains("is at event 1000"), "{e}");
    // An org imported again since the previous export (`--replace` writes no events).
    let dir = tempfile::tempdir().unwrap();
    synth::generate(
        &synth::Config {
            org_id: ORG.into(),
            applications: 50,
            seed: 8,
        },
        dir.path(),
    )
    .unwrap();
    f.store()
        .import(dir.path(), ImportOptions { replace: true }, &mut |_| {})
        .unwrap();
    let e = message(
        warehouse::export(f.store(), &options(&tmp.path().join("d"), Some(&ok))).unwrap_err(),
    );
    assert!(
        e.contains("was imported again since the previous export (import generation 1, now 2)"),
        "{e}"
    );
    // Nothing half-written: only what the test made, and the good export.
    assert_eq!(entries(tmp.path()), vec![empty.clone(), ok.clone()]);

    // An empty folder is fine.
    let empty_target = tmp.path().join("empty-target");
    std::fs::create_dir(&empty_target).unwrap();
    warehouse::export(f.store(), &options(&empty_target, None)).unwrap();
    assert!(empty_target.join("applications.parquet").is_file());
}

/// Keeps the rows of some tables (their text and integer columns as text) and counts every
/// table's rows; before reading `act_before` it runs `act` (a change committed by another
/// connection while the export reads).
struct Collect<'a> {
    keep: &'a [&'a str],
    rows: BTreeMap<&'static str, Vec<Vec<Option<String>>>>,
    counts: BTreeMap<&'static str, u64>,
    table: Option<&'static WarehouseTable>,
    act_before: &'a str,
    act: Option<Box<dyn FnOnce() + 'a>>,
}

impl<'a> Collect<'a> {
    fn new(keep: &'a [&'a str]) -> Collect<'a> {
        Collect {
            keep,
            rows: BTreeMap::new(),
            counts: BTreeMap::new(),
            table: None,
            act_before: "",
            act: None,
        }
    }
}

impl WarehouseSink for Collect<'_> {
    fn begin(&mut self, table: &'static WarehouseTable) -> Result<(), StoreError> {
        if table.name == self.act_before
            && let Some(act) = self.act.take()
        {
            act();
        }
        self.table = Some(table);
        self.counts.insert(table.name, 0);
        Ok(())
    }
    fn row(&mut self, row: &dyn Get) -> Result<(), StoreError> {
        let table = self.table.unwrap();
        *self.counts.get_mut(table.name).unwrap() += 1;
        if self.keep.contains(&table.name) {
            let cells = table
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| match c.ty {
                    store::warehouse::ColumnType::Integer => {
                        row.int(i).unwrap().map(|n| n.to_string())
                    }
                    store::warehouse::ColumnType::Text => row.text(i).unwrap(),
                    _ => None,
                })
                .collect();
            self.rows.entry(table.name).or_default().push(cells);
        }
        Ok(())
    }
    fn end(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The export reads one snapshot: a move committed by another connection while it reads (after
/// the applications, before the stage history) is in neither its rows nor its `seq`, and is in
/// the next export's.
fn one_snapshot(mut f: Fresh) {
    with_org(&mut f, 200);
    let keep = ["applications", "stages"];
    let mut first = Collect::new(&keep);
    let before = f.store().warehouse_read(ORG, None, &mut first).unwrap();
    let col = |table: &str, name: &str| {
        table_named(table)
            .columns
            .iter()
            .position(|c| c.name == name)
            .unwrap()
    };
    let (app_id, app_job, app_stage, app_status) = (
        col("applications", "id"),
        col("applications", "job_id"),
        col("applications", "current_stage_id"),
        col("applications", "status"),
    );
    let (stage_id, stage_job, stage_position, stage_kind) = (
        col("stages", "id"),
        col("stages", "job_id"),
        col("stages", "position"),
        col("stages", "kind"),
    );
    let stages = &first.rows["stages"];
    let position = |id: &str| -> i64 {
        let s = stages
            .iter()
            .find(|s| s[stage_id].as_deref() == Some(id))
            .unwrap();
        s[stage_position].as_ref().unwrap().parse().unwrap()
    };
    let (application, to_stage) = first.rows["applications"]
        .iter()
        .filter(|a| a[app_status].as_deref() == Some("active"))
        .find_map(|a| {
            let at = position(a[app_stage].as_deref().unwrap());
            let next = stages
                .iter()
                .filter(|s| {
                    s[stage_job] == a[app_job]
                        && s[stage_kind].as_deref() != Some("hired")
                        && position(s[stage_id].as_deref().unwrap()) > at
                })
                .min_by_key(|s| position(s[stage_id].as_deref().unwrap()))?;
            Some((a[app_id].clone()?, next[stage_id].clone()?))
        })
        .unwrap();

    let services = Services::new();
    let mut other = Store::open(&f.url).unwrap();
    let access = admin(&mut other, &services);
    let mut during = Collect::new(&[]);
    during.act_before = "stage_transitions";
    let other_store = &mut other;
    let services_ref = &services;
    during.act = Some(Box::new(move || {
        services_ref
            .move_application(
                other_store,
                &access,
                MoveApplication {
                    application_id: Id::parse(application).unwrap(),
                    to_stage_id: Id::parse(to_stage).unwrap(),
                },
                now(),
            )
            .unwrap();
    }));
    let read = f.store().warehouse_read(ORG, None, &mut during).unwrap();
    assert!(during.act.is_none(), "the move ran during the export");
    assert_eq!(
        read.seq, before.seq,
        "the snapshot's seq is before the move"
    );
    assert_eq!(
        during.counts["stage_transitions"], first.counts["stage_transitions"],
        "the transition the move committed is not in the snapshot"
    );
    let mut after = Collect::new(&[]);
    let read = f.store().warehouse_read(ORG, None, &mut after).unwrap();
    assert_eq!(read.seq, before.seq + 1);
    assert_eq!(
        after.counts["stage_transitions"],
        first.counts["stage_transitions"] + 1
    );
}

fn table_named(name: &str) -> &'static WarehouseTable {
    store::warehouse::TABLES
        .iter()
        .find(|t| t.name == name)
        .unwrap()
}

#[test]
fn the_export_reads_one_snapshot_on_sqlite() {
    one_snapshot(sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to a PostgreSQL URL to run"
)]
fn the_export_reads_one_snapshot_on_postgres() {
    one_snapshot(postgres());
}
