//! Org policies and the audit log on both backends: versions, history, the audit log's order,
//! filters and numbering, isolation between orgs, org replacement keeping both, and refusals.
//! SQLite tests always run; PostgreSQL tests run when `HIREPLANE_TEST_POSTGRES` holds a server
//! URL, each in a freshly created database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use domain::Instant;
use store::{AuditEvent, AuditOutcome, AuditQuery, ImportOptions, Store, StoreError};

use crate::common;
use common::{Fresh, generated, on_both, pg_url};

fn import(store: &mut Store, dir: &Path, replace: bool) {
    store
        .import(dir, ImportOptions { replace }, &mut |_| {})
        .unwrap();
}

/// A small org `org_id` in the store.
fn with_org(store: &mut Store, org_id: &str) {
    let dir = generated(org_id, 20, 1);
    import(store, dir.path(), false);
}

fn at(s: &str) -> Instant {
    Instant::parse(s).unwrap()
}

fn event(when: &str, actor: &str, outcome: AuditOutcome) -> AuditEvent {
    AuditEvent {
        at: at(when),
        actor: actor.into(),
        action: "read_compensation".into(),
        subject: "cand_1".into(),
        outcome,
        policies: vec!["p_recruiters".into(), "p_forbid_contractors".into()],
        query_hash: Some("sha256:ab12".into()),
        detail: Some("compensation, contact_details".into()),
    }
}

fn seqs(entries: &[(i64, AuditEvent)]) -> Vec<i64> {
    entries.iter().map(|(s, _)| *s).collect()
}

fn all(store: &mut Store, org: &str) -> Vec<(i64, AuditEvent)> {
    store.audit(org, &AuditQuery::latest(usize::MAX)).unwrap()
}

/// The first column of `sql`'s rows as text, on either backend.
fn strings(store: &mut Store, sql: &str) -> Vec<String> {
    match store {
        Store::Sqlite(s) => s.query_strings(sql).unwrap(),
        Store::Postgres(s) => s.query_strings(sql).unwrap(),
    }
}

on_both!(
    "hp_test_audit",
    migration_creates_tables_and_indexes,
    |mut f| {
        assert_eq!(
            f.store().schema_version().unwrap(),
            store::latest_schema_version()
        );
        let sql = match f.store() {
            Store::Sqlite(_) => {
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('audit_log', 'org_policies') ORDER BY name"
            }
            Store::Postgres(_) => {
                "SELECT indexname::text FROM pg_indexes WHERE tablename IN ('audit_log', 'org_policies') ORDER BY indexname"
            }
        };
        let indexes = strings(f.store(), sql);
        assert!(
            indexes.iter().any(|i| i == "audit_log_actor"),
            "{indexes:?}"
        );
        // Primary keys: (org_id, seq) and (org_id, version), serving the log newest first.
        assert_eq!(indexes.len(), 3, "{indexes:?}");
        // Opening again finds the schema current.
        assert_eq!(
            Store::open(&f.url).unwrap().schema_version().unwrap(),
            store::latest_schema_version()
        );
    }
);

on_both!(
    "hp_test_audit",
    policy_versions_increase_and_history_is_kept,
    |mut f| {
        let s = f.store();
        with_org(s, "acme");
        with_org(s, "other");
        assert_eq!(s.org_policy("acme").unwrap(), None);
        assert!(s.org_policy_history("acme").unwrap().is_empty());

        let t1 = at("2025-03-19T18:11:25.123456Z");
        let t2 = at("2025-03-20T09:00:00Z");
        let t3 = at("2025-03-21T09:00:00.000001Z");
        assert_eq!(
            s.set_org_policy(
                "acme",
                "permit(principal, action, resource);",
                Some("u_admin"),
                t1
            )
            .unwrap(),
            1
        );
        assert_eq!(
            s.set_org_policy("acme", "forbid(principal, action, resource);", None, t2)
                .unwrap(),
            2
        );
        // The store keeps the text as given, byte for byte: validating it is the caller's job.
        let odd = "// ünïcödé\n\tpermit(principal, action, resource)\r\n;\\ 'quoted' \"x\"";
        assert_eq!(s.set_org_policy("acme", odd, Some("u_2"), t3).unwrap(), 3);

        let current = s.org_policy("acme").unwrap().unwrap();
        assert_eq!(current.version, 3);
        assert_eq!(current.text, odd);
        assert_eq!(current.set_at, t3);
        assert_eq!(current.set_by.as_deref(), Some("u_2"));

        let history = s.org_policy_history("acme").unwrap();
        let versions: Vec<i64> = history.iter().map(|p| p.version).collect();
        assert_eq!(versions, [3, 2, 1]);
        assert_eq!(history[2].text, "permit(principal, action, resource);");
        assert_eq!(history[2].set_at, t1);
        assert_eq!(history[2].set_by.as_deref(), Some("u_admin"));
        assert_eq!(history[1].set_by, None);
        // The newest few, read with a limit: the same rows as the head of the history.
        assert_eq!(s.org_policy_newest("acme", 2).unwrap(), history[..2]);
        assert_eq!(s.org_policy_newest("acme", 0).unwrap(), history[..1]);
        assert_eq!(s.org_policy_newest("acme", 100).unwrap(), history);

        // Another org's versions start at 1 and do not show through the first.
        assert_eq!(s.org_policy("other").unwrap(), None);
        assert_eq!(s.set_org_policy("other", "b", None, t1).unwrap(), 1);
        assert_eq!(s.org_policy("acme").unwrap().unwrap().version, 3);
        assert_eq!(s.org_policy_history("other").unwrap().len(), 1);
        assert_eq!(s.org_policy_newest("other", 5).unwrap().len(), 1);
    }
);

on_both!(
    "hp_test_audit",
    an_unknown_org_is_a_clear_error_and_nothing_is_written,
    |mut f| {
        let s = f.store();
        with_org(s, "acme");
        let t = at("2025-03-19T18:11:25Z");
        let expect_no_org = |r: Result<(), StoreError>| match r {
            Err(e @ StoreError::NoSuchOrg(_)) => {
                assert_eq!(e.to_string(), "no org `nobody` in the store");
            }
            other => panic!("expected NoSuchOrg, got {other:?}"),
        };
        expect_no_org(
            s.set_org_policy("nobody", "permit(principal, action, resource);", None, t)
                .map(drop),
        );
        expect_no_org(s.org_policy("nobody").map(drop));
        expect_no_org(s.org_policy_history("nobody").map(drop));
        expect_no_org(s.org_policy_newest("nobody", 5).map(drop));
        expect_no_org(s.record_audit(
            "nobody",
            &[event("2025-03-19T18:11:25Z", "u_1", AuditOutcome::Allowed)],
        ));
        expect_no_org(s.record_audit("nobody", &[]));
        expect_no_org(s.audit("nobody", &AuditQuery::latest(10)).map(drop));
        // Case matters: ids are compared byte for byte.
        assert!(matches!(
            s.org_policy("ACME"),
            Err(StoreError::NoSuchOrg(_))
        ));
        assert_eq!(
            strings(s, "SELECT CAST(count(*) AS text) FROM org_policies"),
            ["0"]
        );
        assert_eq!(
            strings(s, "SELECT CAST(count(*) AS text) FROM audit_log"),
            ["0"]
        );
    }
);

on_both!(
    "hp_test_audit",
    audit_reads_newest_first_with_filters_and_limit,
    |mut f| {
        let s = f.store();
        with_org(s, "acme");
        assert!(all(s, "acme").is_empty());
        s.record_audit("acme", &[]).unwrap();
        assert!(all(s, "acme").is_empty());

        let mut first = vec![
            event("2025-03-01T10:00:00Z", "u_alice", AuditOutcome::Allowed),
            event("2025-03-02T10:00:00.000001Z", "u_bob", AuditOutcome::Denied),
            event("2025-03-03T10:00:00Z", "u_alice", AuditOutcome::Denied),
        ];
        first[1].policies = vec![];
        first[1].query_hash = None;
        first[1].detail = None;
        s.record_audit("acme", &first).unwrap();
        // A later batch may carry an earlier time: `seq` is the order of recording.
        let second = vec![
            event("2025-03-04T10:00:00Z", "u_bob", AuditOutcome::Allowed),
            event(
                "1969-12-31T23:59:59.999999Z",
                "u_carol",
                AuditOutcome::Allowed,
            ),
        ];
        s.record_audit("acme", &second).unwrap();

        let log = all(s, "acme");
        assert_eq!(seqs(&log), [5, 4, 3, 2, 1]);
        // Every field reads back exactly as written.
        let written: Vec<AuditEvent> = first.iter().chain(&second).cloned().collect();
        for (seq, e) in &log {
            assert_eq!(e, &written[*seq as usize - 1], "entry {seq}");
        }

        let q = |limit, actor: Option<&str>, outcome, since: Option<&str>| AuditQuery {
            limit,
            actor: actor.map(str::to_owned),
            outcome,
            since: since.map(at),
        };
        assert_eq!(
            seqs(&s.audit("acme", &q(2, None, None, None)).unwrap()),
            [5, 4]
        );
        assert!(s.audit("acme", &q(0, None, None, None)).unwrap().is_empty());
        assert_eq!(
            seqs(
                &s.audit("acme", &q(10, Some("u_alice"), None, None))
                    .unwrap()
            ),
            [3, 1]
        );
        assert_eq!(
            seqs(&s.audit("acme", &q(1, Some("u_alice"), None, None)).unwrap()),
            [3]
        );
        assert!(
            s.audit("acme", &q(10, Some("u_nobody"), None, None))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            seqs(
                &s.audit("acme", &q(10, None, Some(AuditOutcome::Denied), None))
                    .unwrap()
            ),
            [3, 2]
        );
        assert_eq!(
            seqs(
                &s.audit("acme", &q(10, None, Some(AuditOutcome::Allowed), None))
                    .unwrap()
            ),
            [5, 4, 1]
        );
        // `since` is inclusive and compares the events' own times.
        assert_eq!(
            seqs(
                &s.audit(
                    "acme",
                    &q(10, None, None, Some("2025-03-02T10:00:00.000001Z"))
                )
                .unwrap()
            ),
            [4, 3, 2]
        );
        assert_eq!(
            seqs(
                &s.audit(
                    "acme",
                    &q(
                        10,
                        Some("u_bob"),
                        Some(AuditOutcome::Denied),
                        Some("2025-03-01T00:00:00Z")
                    )
                )
                .unwrap()
            ),
            [2]
        );
        assert_eq!(
            seqs(
                &s.audit(
                    "acme",
                    &q(
                        10,
                        Some("u_bob"),
                        Some(AuditOutcome::Allowed),
                        Some("2025-03-05T00:00:00Z")
                    )
                )
                .unwrap()
            ),
            Vec::<i64>::new()
        );
    }
);

on_both!(
    "hp_test_audit",
    seq_counts_per_org_and_orgs_do_not_see_each_other,
    |mut f| {
        let s = f.store();
        with_org(s, "org_a");
        with_org(s, "org_b");
        let a = |n: u32| {
            event(
                &format!("2025-03-01T10:00:{n:02}Z"),
                "u_a",
                AuditOutcome::Allowed,
            )
        };
        let b = |n: u32| {
            event(
                &format!("2025-03-01T11:00:{n:02}Z"),
                "u_b",
                AuditOutcome::Denied,
            )
        };
        s.record_audit("org_a", &[a(1), a(2)]).unwrap();
        s.record_audit("org_b", &[b(1)]).unwrap();
        s.record_audit("org_a", &[a(3)]).unwrap();
        s.record_audit("org_b", &[b(2), b(3), b(4)]).unwrap();
        s.set_org_policy("org_b", "b's policy", None, at("2025-03-01T00:00:00Z"))
            .unwrap();

        let log_a = all(s, "org_a");
        let log_b = all(s, "org_b");
        assert_eq!(seqs(&log_a), [3, 2, 1]);
        assert_eq!(seqs(&log_b), [4, 3, 2, 1]);
        assert!(log_a.iter().all(|(_, e)| e.actor == "u_a"));
        assert!(log_b.iter().all(|(_, e)| e.actor == "u_b"));
        // Filters that match only the other org's entries find nothing.
        let by_b = AuditQuery {
            actor: Some("u_b".into()),
            ..AuditQuery::latest(100)
        };
        assert!(s.audit("org_a", &by_b).unwrap().is_empty());
        let denied = AuditQuery {
            outcome: Some(AuditOutcome::Denied),
            ..AuditQuery::latest(100)
        };
        assert!(s.audit("org_a", &denied).unwrap().is_empty());
        assert_eq!(s.org_policy("org_a").unwrap(), None);
        assert!(s.org_policy_history("org_a").unwrap().is_empty());
        assert_eq!(s.org_policy("org_b").unwrap().unwrap().text, "b's policy");
    }
);

on_both!(
    "hp_test_audit",
    replacing_an_org_keeps_its_log_and_policies,
    |mut f| {
        let s = f.store();
        let dir = generated("acme", 60, 2);
        import(s, dir.path(), false);
        s.set_org_policy("acme", "v1", Some("u_admin"), at("2025-03-01T00:00:00Z"))
            .unwrap();
        s.set_org_policy("acme", "v2", Some("u_admin"), at("2025-03-02T00:00:00Z"))
            .unwrap();
        s.record_audit(
            "acme",
            &[
                event("2025-03-01T10:00:00Z", "u_a", AuditOutcome::Allowed),
                event("2025-03-01T10:00:01Z", "u_b", AuditOutcome::Denied),
            ],
        )
        .unwrap();
        let log_before = all(s, "acme");

        // Replace the org with different data under the same id.
        let dir2 = generated("acme", 30, 3);
        import(s, dir2.path(), true);
        assert_eq!(all(s, "acme"), log_before);
        assert_eq!(s.org_policy("acme").unwrap().unwrap().text, "v2");
        assert_eq!(s.org_policy_history("acme").unwrap().len(), 2);
        assert!(s.dangling_references("acme").unwrap().is_empty());
        if let Store::Sqlite(db) = s {
            assert!(
                db.query_strings("PRAGMA foreign_key_check")
                    .unwrap()
                    .is_empty()
            );
        }

        // Numbering goes on after the replacement.
        s.record_audit(
            "acme",
            &[event("2025-03-05T10:00:00Z", "u_c", AuditOutcome::Allowed)],
        )
        .unwrap();
        assert_eq!(seqs(&all(s, "acme")), [3, 2, 1]);
        assert_eq!(
            s.set_org_policy("acme", "v3", None, at("2025-03-06T00:00:00Z"))
                .unwrap(),
            3
        );

        // A refused import (the org exists, no replace) changes nothing either.
        let refused = s.import(dir2.path(), ImportOptions { replace: false }, &mut |_| {});
        assert!(matches!(
            refused,
            Err(store::ImportError::Store(StoreError::OrgExists(_)))
        ));
        assert_eq!(seqs(&all(s, "acme")), [3, 2, 1]);
    }
);

on_both!(
    "hp_test_audit",
    concurrent_writers_never_share_a_seq_or_version,
    |mut f| {
        with_org(f.store(), "acme");
        let url = f.url.clone();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let mut s = Store::open(&url).unwrap();
                    for i in 0..15 {
                        let e = event(
                            &format!("2025-03-01T10:{t:02}:{i:02}Z"),
                            &format!("u_{t}"),
                            AuditOutcome::Allowed,
                        );
                        s.record_audit("acme", &[e.clone(), e]).unwrap();
                        if i % 5 == 0 {
                            s.set_org_policy(
                                "acme",
                                &format!("{t}/{i}"),
                                None,
                                at("2025-03-01T00:00:00Z"),
                            )
                            .unwrap();
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let log = all(f.store(), "acme");
        assert_eq!(seqs(&log), (1..=120).rev().collect::<Vec<i64>>());
        // Each batch of two got consecutive numbers.
        for pair in log.chunks(2) {
            assert_eq!(pair[0].1, pair[1].1);
        }
        let versions: Vec<i64> = f
            .store()
            .org_policy_history("acme")
            .unwrap()
            .iter()
            .map(|p| p.version)
            .collect();
        assert_eq!(versions, (1..=12).rev().collect::<Vec<i64>>());
    }
);

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to a PostgreSQL URL to run"
)]
fn replacing_an_org_as_an_ordinary_role_keeps_its_log_and_policies() {
    // A role that may not skip foreign key triggers: the replacement deletes and re-inserts the
    // `orgs` row with every trigger firing, which must neither fail nor touch the log.
    let admin = std::env::var("HIREPLANE_TEST_POSTGRES").unwrap();
    let n = format!(
        "{}_{}",
        std::process::id(),
        jiff::Timestamp::now().as_millisecond() % 1_000_000
    );
    let (role, db) = (
        format!("hp_role_audit_{n}"),
        format!("hp_test_audit_role_{n}"),
    );
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    for sql in [
        format!("CREATE ROLE {role} LOGIN"),
        format!("CREATE DATABASE {db} OWNER {role}"),
    ] {
        c.batch_execute(&sql).unwrap();
    }
    let base = pg_url(&admin, &db);
    let url = match base
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
    {
        Some((_, host)) => format!("postgres://{role}@{host}"),
        None => base.replacen("://", &format!("://{role}@"), 1),
    };
    let result = std::panic::catch_unwind(|| {
        let mut s = Store::open(&url).unwrap();
        let dir = generated("plain", 60, 4);
        let report = s
            .import(dir.path(), ImportOptions { replace: false }, &mut |_| {})
            .unwrap();
        assert_eq!(report.foreign_keys, store::ForeignKeyChecks::PerRow);
        s.set_org_policy("plain", "v1", None, at("2025-03-01T00:00:00Z"))
            .unwrap();
        s.record_audit(
            "plain",
            &[event("2025-03-01T10:00:00Z", "u_a", AuditOutcome::Denied)],
        )
        .unwrap();
        let log = all(&mut s, "plain");
        let dir2 = generated("plain", 30, 5);
        let report = s
            .import(dir2.path(), ImportOptions { replace: true }, &mut |_| {})
            .unwrap();
        assert!(report.replaced);
        assert_eq!(all(&mut s, "plain"), log);
        assert_eq!(s.org_policy("plain").unwrap().unwrap().text, "v1");
        assert!(s.dangling_references("plain").unwrap().is_empty());
    });
    let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
    let _ = c.batch_execute(&format!("DROP ROLE IF EXISTS {role}"));
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn outcomes_parse_exactly() {
    for o in [AuditOutcome::Allowed, AuditOutcome::Denied] {
        assert_eq!(AuditOutcome::parse(o.as_str()).unwrap(), o);
        assert_eq!(o.to_string().parse::<AuditOutcome>().unwrap(), o);
    }
    let e = AuditOutcome::parse("Allowed").unwrap_err();
    assert!(matches!(&e, StoreError::BadAuditOutcome(s) if s == "Allowed"));
    assert_eq!(
        e.to_string(),
        "`Allowed` is not an audit outcome: expected `allowed` or `denied`"
    );
}

/// Writes rows the store would never write, past the table's checks, with a connection of its
/// own: a bad outcome at `seq` 2 (actor `u_bad_outcome`) and policies that are not an array at
/// `seq` 3 (actor `u_bad_policies`).
fn tamper(f: &Fresh) {
    let insert =
        "INSERT INTO audit_log (org_id, seq, at, actor, action, subject, outcome, policies) VALUES";
    let bad_outcome = "('acme', 2, TIME, 'u_bad_outcome', 'a', 's', 'maybe', '[]')";
    let bad_policies = "('acme', 3, TIME, 'u_bad_policies', 'a', 's', 'allowed', '{\"p\": 1}')";
    match &f.pg {
        None => {
            let path = f.url.strip_prefix("sqlite://").unwrap();
            let c = rusqlite::Connection::open(path).unwrap();
            c.pragma_update(None, "ignore_check_constraints", true)
                .unwrap();
            c.execute_batch(
                &format!("{insert} {bad_outcome}, {bad_policies}").replace("TIME", "0"),
            )
            .unwrap();
        }
        Some(_) => {
            let mut c = postgres::Client::connect(&f.url, postgres::NoTls).unwrap();
            c.batch_execute(
                &format!(
                    "ALTER TABLE audit_log DROP CONSTRAINT audit_log_outcome; \
                     ALTER TABLE audit_log DROP CONSTRAINT audit_log_policies_check; \
                     {insert} {bad_outcome}, {bad_policies}"
                )
                .replace("TIME", "now()"),
            )
            .unwrap();
        }
    }
}

on_both!(
    "hp_test_audit",
    a_bad_row_is_a_typed_error_not_a_panic,
    |mut f| {
        with_org(f.store(), "acme");
        let good = event("2025-03-01T10:00:00Z", "u_a", AuditOutcome::Allowed);
        f.store().record_audit("acme", &[good]).unwrap();
        tamper(&f);
        let by = |actor: &str| AuditQuery {
            actor: Some(actor.into()),
            ..AuditQuery::latest(10)
        };
        match f.store().audit("acme", &by("u_bad_outcome")) {
            Err(e @ StoreError::Corrupt(_)) => assert_eq!(
                e.to_string(),
                "the stored data is inconsistent: audit entry 2 of org `acme`: \
             `maybe` is not an audit outcome: expected `allowed` or `denied`"
            ),
            other => panic!("expected Corrupt, got {other:?}"),
        }
        match f.store().audit("acme", &by("u_bad_policies")) {
            Err(StoreError::Corrupt(m)) => {
                assert!(
                    m.starts_with("audit entry 3 of org `acme`: `policies` is not a JSON array"),
                    "{m}"
                );
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        assert!(matches!(
            f.store().audit("acme", &AuditQuery::latest(10)),
            Err(StoreError::Corrupt(_))
        ));
        // Queries that do not reach the bad rows still work.
        assert_eq!(seqs(&f.store().audit("acme", &by("u_a")).unwrap()), [1]);
        // Numbering goes on after them.
        let next = event("2025-03-02T10:00:00Z", "u_a", AuditOutcome::Denied);
        f.store().record_audit("acme", &[next]).unwrap();
        assert_eq!(seqs(&f.store().audit("acme", &by("u_a")).unwrap()), [4, 1]);
    }
);

on_both!(
    "hp_test_audit",
    idempotency_keys_are_forgotten_after_a_day_and_past_a_thousand,
    |mut f| {
        use store::IdempotencyBegin;
        let s = f.store();
        with_org(s, "org_i");
        let (org, user) = ("org_i", "org_i_usr_1");
        let t0 = at("2026-01-01T00:00:00Z");
        let later =
            |seconds: i64| Instant::from_micros(t0.as_micros() + seconds * 1_000_000).unwrap();
        assert!(matches!(
            s.idempotency_begin(org, user, "k0", "h0", t0).unwrap(),
            IdempotencyBegin::New
        ));
        s.idempotency_finish(org, user, "k0", "{\"data\":0}")
            .unwrap();
        // Within a day, a replay; another request under the key is refused.
        assert!(matches!(
            s.idempotency_begin(org, user, "k0", "h0", later(3600)).unwrap(),
            IdempotencyBegin::Replay(r) if r == "{\"data\":0}"
        ));
        assert!(matches!(
            s.idempotency_begin(org, user, "k0", "other", later(3600))
                .unwrap(),
            IdempotencyBegin::Mismatch
        ));
        // After a day the key is forgotten: new again.
        assert!(matches!(
            s.idempotency_begin(org, user, "k0", "other", later(86_401))
                .unwrap(),
            IdempotencyBegin::New
        ));
        s.idempotency_finish(org, user, "k0", "{\"data\":1}")
            .unwrap();
        // A user keeps at most 1,000 answered keys (forgotten 100 at a time, oldest first).
        let n = store::IDEMPOTENCY_KEYS_KEPT + 150;
        for i in 1..=n {
            let key = format!("k{i}");
            let when = later(86_401 + i as i64);
            assert!(matches!(
                s.idempotency_begin(org, user, &key, "h", when).unwrap(),
                IdempotencyBegin::New
            ));
            s.idempotency_finish(org, user, &key, "{}").unwrap();
        }
        let kept: usize = strings(
            s,
            &format!(
                "SELECT CAST(count(*) AS text) FROM idempotency_keys WHERE org_id = '{org}' AND user_id = '{user}'"
            ),
        )[0]
        .parse()
        .unwrap();
        assert!(
            (store::IDEMPOTENCY_KEYS_KEPT..=store::IDEMPOTENCY_KEYS_KEPT + 100).contains(&kept),
            "{kept} kept"
        );
        // The newest are the ones kept, the oldest forgotten.
        assert!(matches!(
            s.idempotency_begin(
                org,
                user,
                &format!("k{n}"),
                "h",
                later(86_401 + n as i64 + 1)
            )
            .unwrap(),
            IdempotencyBegin::Replay(_)
        ));
        assert!(matches!(
            s.idempotency_begin(org, user, "k1", "h", later(86_401 + n as i64 + 2))
                .unwrap(),
            IdempotencyBegin::New
        ));
    }
);
