//! Guarded statements run on a real SQLite database (the store's migrations and a tiny org), in
//! memory through `rusqlite` (a dev-dependency: the compiler itself has no database driver).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use query_compiler::sql::SqlExpr;
use query_compiler::{
    Dialect, EntityId, FieldGroup, Guard, MemoryCatalog, OrgScope, Visibility, compile,
};
use rusqlite::types::ValueRef;

/// Confidential jobs hidden, and applications as given.
struct Hide {
    applications: Visibility,
    compensation: Visibility,
}

impl Guard for Hide {
    fn rows(&self, entity: EntityId) -> Visibility {
        match entity {
            EntityId::Jobs => Visibility::Rows(SqlExpr::eq(
                SqlExpr::RowColumn("confidential"),
                SqlExpr::Bool(false),
            )),
            EntityId::Applications => self.applications.clone(),
            _ => Visibility::All,
        }
    }
    fn fields(&self, entity: EntityId, group: FieldGroup) -> Visibility {
        match (entity, group) {
            (EntityId::Offers, FieldGroup::Compensation) => self.compensation.clone(),
            _ => Visibility::All,
        }
    }
}

/// Archived applications hidden; compensation of accepted offers only.
fn archived_hidden() -> Hide {
    Hide {
        applications: Visibility::Rows(SqlExpr::bin(
            "<>",
            SqlExpr::RowColumn("status"),
            SqlExpr::Text("archived".into()),
        )),
        compensation: Visibility::Rows(SqlExpr::eq(
            SqlExpr::RowColumn("status"),
            SqlExpr::Text("accepted".into()),
        )),
    }
}

const DATA: &str = "
INSERT INTO orgs VALUES ('o','O','UTC',0), ('p','P','UTC',0);
INSERT INTO departments VALUES ('o','d','D',NULL);
INSERT INTO jobs VALUES
  ('o','J1','Open job','d','x','full_time','open',0,0,NULL,1,'{}'),
  ('o','J2','Secret job','d','x','full_time','open',1,0,NULL,1,'{}');
INSERT INTO stages VALUES ('o','S1','J1','Onsite','onsite',1), ('o','S2','J2','Onsite','onsite',1);
INSERT INTO candidates VALUES ('o','c','C',NULL,NULL,NULL,NULL,0,'[]','{}');
INSERT INTO applications VALUES
  ('o','A1','c','J1',NULL,NULL,0,'active','S1',NULL,NULL,NULL,'{}'),
  ('o','A2','c','J1',NULL,NULL,0,'archived','S1',NULL,NULL,NULL,'{}'),
  ('o','A3','c','J2',NULL,NULL,0,'active','S2',NULL,NULL,NULL,'{}');
INSERT INTO interviews VALUES
  ('o','I1','A1','S1','t',0,1,'completed'),
  ('o','I2','A2','S1','t',0,1,'completed'),
  ('o','I3','A3','S2','t',0,1,'completed');
INSERT INTO offers (org_id, id, application_id, version, created_at, status, salary_amount,
  salary_currency, salary_period)
SELECT 'o', 'F1', 'A1', 1, 0, 'accepted', 100, 'USD', 'year'
UNION ALL SELECT 'o', 'F2', 'A1', 2, 0, 'declined', 200, 'USD', 'year'
UNION ALL SELECT 'o', 'F3', 'A2', 1, 0, 'accepted', 300, 'USD', 'year';
";

/// The rows of `text` compiled under `guard`, run on a fresh in-memory SQLite database (the
/// store's first migrations and [`DATA`]), each row as the `sqlite3` shell prints it: values
/// separated by `|`, NULL as nothing, one line per row.
fn run(text: &str, guard: &dyn Guard) -> String {
    let compiled = compile(text, &MemoryCatalog::example(), Dialect::Sqlite, guard)
        .unwrap_or_else(|d| panic!("{}", d.render(text, "<test>")));
    let db = rusqlite::Connection::open_in_memory().unwrap();
    let migrations = concat!(env!("CARGO_MANIFEST_DIR"), "/../store/migrations/sqlite");
    let migrate = |names: &[&str]| {
        for name in names {
            let path = format!("{migrations}/{name}");
            let sql = std::fs::read_to_string(&path).unwrap();
            db.execute_batch(&sql)
                .unwrap_or_else(|e| panic!("migration `{path}`: {e}"));
        }
    };
    migrate(&[
        "0001_init.sql",
        "0002_application_stage_kinds.sql",
        "0003_stage_transitions_left_at.sql",
    ]);
    db.execute_batch(DATA).unwrap();
    // The data was written for the first migrations; 0006 derives the stored job ids from it.
    migrate(&[
        "0004_policies_audit.sql",
        "0005_policy_indexes.sql",
        "0006_job_id_below_applications.sql",
    ]);
    let mut statement = db
        .prepare(&compiled.sql)
        .unwrap_or_else(|e| panic!("{e}\n{}", compiled.sql));
    // The org is always the first parameter.
    statement.raw_bind_parameter(1, "o").unwrap();
    let width = statement.column_count();
    let mut out = String::new();
    let mut rows = statement.raw_query();
    while let Some(row) = rows.next().unwrap() {
        let cells: Vec<String> = (0..width)
            .map(|i| match row.get_ref(i).unwrap() {
                ValueRef::Null => String::new(),
                ValueRef::Integer(n) => n.to_string(),
                ValueRef::Real(x) => format!("{x:?}"),
                ValueRef::Text(t) => String::from_utf8(t.to_vec()).unwrap(),
                ValueRef::Blob(b) => panic!("a blob in the result: {b:?}"),
            })
            .collect();
        out.push_str(&cells.join("|"));
        out.push('\n');
    }
    out
}

#[test]
fn rows_below_a_hidden_row_are_not_counted() {
    let text = "report jobs show count(applications.interviews) as n";
    let plain = run(text, &OrgScope);
    assert_eq!(plain, "3\n");
    // J2 hidden: I3 goes. A2 hidden: I2 goes, though the interview itself is visible.
    assert_eq!(run(text, &archived_hidden()), "1\n");
    // Grouped by job: the same through the per-parent path.
    let by_job = "report jobs group by title show count(applications.interviews) as n";
    assert_eq!(run(by_job, &archived_hidden()), "Open job|1\n");
}

/// Applications of confidential jobs hidden (a filter that reads the application's job alone).
fn applications_of_open_jobs() -> Hide {
    let jobs = query_compiler::sql::Select {
        columns: vec![(SqlExpr::col("z1", "id"), "k".into())],
        from: Some((query_compiler::sql::TableSource::Table("jobs"), "z1".into())),
        filter: Some(SqlExpr::and(
            SqlExpr::eq(SqlExpr::col("z1", "org_id"), SqlExpr::Org),
            SqlExpr::eq(SqlExpr::col("z1", "confidential"), SqlExpr::Bool(false)),
        )),
        ..Default::default()
    };
    Hide {
        applications: Visibility::Rows(SqlExpr::InSelect(
            Box::new(SqlExpr::RowColumn("job_id")),
            Box::new(jobs),
            false,
        )),
        compensation: Visibility::All,
    }
}

#[test]
fn rows_below_an_application_filtered_by_its_job_read_the_stored_job() {
    // The compiler reads the job each interview stores instead of joining its application,
    // applying the applications' filter to it: the same rows as through the application.
    let hide = applications_of_open_jobs();
    let count = "report jobs group by title show count(applications.interviews) as n";
    let rows = run(count, &hide);
    assert_eq!(rows, "Open job|2\n");
    let text = "report interviews show id, application.status, application.job.title order by id";
    assert_eq!(
        run(text, &hide),
        "I1|active|Open job\nI2|archived|Open job\nI3||\n"
    );
    let compiled = compile(count, &MemoryCatalog::example(), Dialect::Sqlite, &hide).unwrap();
    assert!(
        !compiled.sql.contains("\"applications\""),
        "{}",
        compiled.sql
    );
    assert!(compiled.sql.contains("\"job_id\""), "{}", compiled.sql);
}

#[test]
fn a_hidden_target_of_a_required_reference_keeps_the_row() {
    let text = "report interviews show id, application.status, application.job.title order by id";
    let plain = run(text, &OrgScope);
    assert_eq!(
        plain,
        "I1|active|Open job\nI2|archived|Open job\nI3|active|Secret job\n"
    );
    assert_eq!(
        run(text, &archived_hidden()),
        "I1|active|Open job\nI2||\nI3|active|\n"
    );
}

#[test]
fn masks_and_current_offers_follow_the_visible_rows() {
    let text = "report offers group by status show sum(salary) as total order by status";
    let plain = run(text, &OrgScope);
    assert_eq!(plain, "accepted|400.0\ndeclined|200.0\n");
    // Declined offers' salaries masked; the offers of hidden applications are still offers
    // (offers themselves are not filtered here), so F3 counts.
    assert_eq!(run(text, &archived_hidden()), "accepted|400.0\ndeclined|\n");
    // The current offer is the newest the viewer sees.
    let current = "report applications show id, current_offer.version order by id";
    let mut hide_declined = archived_hidden();
    hide_declined.applications = Visibility::All;
    let rows = run(current, &OrgScope);
    assert_eq!(rows, "A1|2\nA2|1\nA3|\n");
    struct NoDeclined(Hide);
    impl Guard for NoDeclined {
        fn rows(&self, entity: EntityId) -> Visibility {
            match entity {
                EntityId::Offers => Visibility::Rows(SqlExpr::bin(
                    "<>",
                    SqlExpr::RowColumn("status"),
                    SqlExpr::Text("declined".into()),
                )),
                e => self.0.rows(e),
            }
        }
        fn fields(&self, entity: EntityId, group: FieldGroup) -> Visibility {
            self.0.fields(entity, group)
        }
    }
    assert_eq!(
        run(current, &NoDeclined(hide_declined)),
        "A1|1\nA2|1\nA3|\n"
    );
}
