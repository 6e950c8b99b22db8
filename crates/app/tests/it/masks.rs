//! Masked field groups never leak, in any part of a report.
//!
//! For compensation (offers: `salary`, `salary_currency`), contact details (candidates: `email`,
//! `phone`) and the sensitive custom fields the generated org marks sensitive (found in the
//! store's `custom_fields` table), for viewers of every role (including recruiters who may see
//! compensation for some offers only, so the mask is row-dependent), under the shipped policy
//! and under an org file that adds row-dependent grants of sensitive custom fields: reports
//! that use the field in `where`, `group by`, `order by`, formulas, aggregates (`sum`, `avg`,
//! `min`, `max`, `count`, `count(distinct)`) and through relations (`candidate.email`,
//! `offers.salary`, `applications.offers.salary`, `current_offer.salary`) give exactly what this
//! test computes from the rows Cedar allows (`view`) with the field read as null where Cedar
//! denies the field group's action (`viewCompensation`, `viewContactDetails`,
//! `viewSensitiveCustomFields`). The values come from the store's tables read with plain SQL.
//! SQLite always; PostgreSQL when `HIREPLANE_TEST_POSTGRES` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{Fresh, OrgFacts, UserRow};
use policy::{Action, Policies, PolicySource, Viewer};
use query_compiler::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A value as compared.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Null,
    Num(f64),
    Text(String),
}

fn v(value: &Value) -> V {
    match value {
        Value::Null => V::Null,
        Value::Integer(i) | Value::Instant(i) => V::Num(*i as f64),
        Value::Number(f) => V::Num(*f),
        Value::Bool(b) => V::Num(if *b { 1.0 } else { 0.0 }),
        Value::Text(s) | Value::Date(s) | Value::List(s) | Value::Map(s) => V::Text(s.clone()),
    }
}

fn close(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::Num(x), V::Num(y)) => x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
        _ => a == b,
    }
}

fn key(value: &V) -> String {
    match value {
        V::Null => "<null>".into(),
        V::Num(n) => format!("{n}"),
        V::Text(t) => format!("{t:?}"),
    }
}

/// One row of a subject: its id, the row it belongs to for relations, and field values.
#[derive(Debug, Clone)]
struct Row {
    id: String,
    /// The application of an offer, the candidate of an application, the job of an application.
    parent: Option<String>,
    other: Option<String>,
    fields: BTreeMap<String, V>,
}

/// The data the masks guard, read with plain SQL.
struct Data {
    offers: Vec<Row>,
    candidates: Vec<Row>,
    applications: Vec<Row>,
    jobs: Vec<Row>,
    /// Sensitive custom fields: (entity, key, type).
    sensitive: Vec<(String, String, String)>,
    /// Every source: id and name.
    sources: Vec<(String, String)>,
}

fn load(path: &std::path::Path, org: &str) -> Data {
    let c = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let cell = |r: &rusqlite::Row<'_>, i: usize| -> V {
        match r.get_ref(i).unwrap() {
            rusqlite::types::ValueRef::Null => V::Null,
            rusqlite::types::ValueRef::Integer(n) => V::Num(n as f64),
            rusqlite::types::ValueRef::Real(f) => V::Num(f),
            rusqlite::types::ValueRef::Text(t) => V::Text(String::from_utf8(t.to_vec()).unwrap()),
            other => panic!("{other:?}"),
        }
    };
    let text = |x: V| match x {
        V::Text(t) => Some(t),
        _ => None,
    };
    let sensitive: Vec<(String, String, String)> = {
        let mut stmt = c
            .prepare("SELECT entity, key, type FROM custom_fields WHERE org_id = ?1 AND sensitive = 1 ORDER BY entity, key")
            .unwrap();
        stmt.query_map([org], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let sources: Vec<(String, String)> = {
        let mut stmt = c
            .prepare("SELECT id, name FROM sources WHERE org_id = ?1")
            .unwrap();
        stmt.query_map([org], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let rows = |sql: &str, fields: &[String]| -> Vec<Row> {
        let mut stmt = c.prepare(sql).unwrap();
        let mut out = Vec::new();
        let mut rows = stmt.query([org]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            out.push(Row {
                id: text(cell(r, 0)).unwrap(),
                parent: text(cell(r, 1)),
                other: text(cell(r, 2)),
                fields: fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (f.clone(), cell(r, 3 + i)))
                    .collect(),
            });
        }
        out
    };
    let custom = |entity: &str| -> (String, Vec<String>) {
        let keys: Vec<&(String, String, String)> =
            sensitive.iter().filter(|(e, _, _)| e == entity).collect();
        let sql: String = keys
            .iter()
            .map(|(_, k, _)| format!(", json_extract(custom_fields, '$.{k}')"))
            .collect();
        (
            sql,
            keys.iter().map(|(_, k, _)| format!("custom.{k}")).collect(),
        )
    };
    let (cand_sql, cand_fields) = custom("candidate");
    let (app_sql, app_fields) = custom("application");
    let (job_sql, job_fields) = custom("job");
    let mut candidate_fields = vec![
        "email".to_owned(),
        "phone".to_owned(),
        "location".to_owned(),
    ];
    candidate_fields.extend(cand_fields);
    let mut application_fields = vec![
        "archive_reason".to_owned(),
        "source.name".to_owned(),
        "reached_screen".to_owned(),
    ];
    application_fields.extend(app_fields);
    Data {
        offers: rows(
            "SELECT id, application_id, NULL, salary_amount, salary_currency, version FROM offers WHERE org_id = ?1",
            &["salary".into(), "salary_currency".into(), "version".into()],
        ),
        candidates: rows(
            &format!(
                "SELECT id, NULL, NULL, email, phone, location{cand_sql} FROM candidates WHERE org_id = ?1"
            ),
            &candidate_fields,
        ),
        applications: rows(
            &format!(
                "SELECT a.id, a.candidate_id, a.job_id, a.archive_reason, \
                 (SELECT s.name FROM sources s WHERE s.org_id = a.org_id AND s.id = a.source_id), \
                 (SELECT 1 FROM stage_transitions t JOIN stages st ON st.org_id = t.org_id AND st.id = t.to_stage_id \
                  WHERE t.org_id = a.org_id AND t.application_id = a.id AND st.kind = 'screen' LIMIT 1){app_sql} \
                 FROM applications a WHERE a.org_id = ?1"
            ),
            &application_fields,
        ),
        jobs: rows(
            &format!("SELECT id, NULL, NULL{job_sql} FROM jobs WHERE org_id = ?1"),
            &job_fields,
        ),
        sensitive,
        sources,
    }
}

/// One viewer's view of one subject: the rows they see, with a field group read as null where
/// the group's action is denied.
struct Seen {
    rows: Vec<Row>,
}

impl Seen {
    fn value(&self, id: &str, field: &str) -> V {
        self.rows
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.fields[field].clone())
            .unwrap_or(V::Null)
    }
}

fn seen(
    facts: &OrgFacts,
    policies: &Policies,
    viewer: &Viewer,
    ty: &'static str,
    rows: &[Row],
    masked: &[(&str, Action)],
) -> Seen {
    let visible = facts.allowed(policies, viewer, Action::View, ty);
    let mut allowed: BTreeMap<Action, BTreeSet<String>> = BTreeMap::new();
    for (_, action) in masked {
        allowed
            .entry(*action)
            .or_insert_with(|| facts.allowed(policies, viewer, *action, ty));
    }
    Seen {
        rows: rows
            .iter()
            .filter(|r| visible.contains(&r.id))
            .map(|r| {
                let mut r = r.clone();
                for (field, action) in masked {
                    if !allowed[action].contains(&r.id)
                        && let Some(x) = r.fields.get_mut(*field)
                    {
                        *x = V::Null;
                    }
                }
                r
            })
            .collect(),
    }
}

/// Checks reports of one viewer against expectations, collecting disagreements.
struct Checker<'a> {
    services: &'a app::Services,
    store: &'a mut Fresh,
    org: &'a str,
    user: &'a UserRow,
    today: jiff::civil::Date,
    context: String,
    problems: Vec<String>,
    reports: usize,
}

impl Checker<'_> {
    /// Runs a report; a report that fails is a problem (and `None`).
    fn run(&mut self, text: &str) -> Option<Vec<Vec<V>>> {
        self.reports += 1;
        let report = query_syntax::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        match self.services.run_report(
            self.store.store(),
            self.org,
            &self.user.id,
            &report,
            self.today,
            common::at(),
        ) {
            Ok(run) => Some(
                run.rows
                    .rows
                    .iter()
                    .map(|r| r.iter().map(v).collect())
                    .collect(),
            ),
            Err(e) => {
                self.fail(text, format!("the report fails: {e}: {e:?}"));
                None
            }
        }
    }

    fn fail(&mut self, text: &str, what: String) {
        self.problems.push(format!(
            "{} ({}, viewer {} {}): {text}\n    {what}",
            self.store.name(),
            self.context,
            self.user.id,
            self.user.role
        ));
    }

    /// A report whose rows are `key, value` against expected values per key (rows in any order).
    fn pairs(&mut self, text: &str, expected: BTreeMap<String, V>) {
        let Some(rows) = self.run(text) else { return };
        let mut actual = BTreeMap::new();
        for r in rows {
            actual.insert(key(&r[0]), r[1].clone());
        }
        let mut bad: Vec<String> = Vec::new();
        for k in expected
            .keys()
            .chain(actual.keys())
            .collect::<BTreeSet<_>>()
        {
            match (expected.get(k), actual.get(k)) {
                (Some(e), Some(a)) if close(e, a) => {}
                (e, a) => bad.push(format!("{k}: expected {e:?}, got {a:?}")),
            }
        }
        if !bad.is_empty() {
            let n = bad.len();
            bad.truncate(6);
            self.fail(text, format!("{n} rows differ: {}", bad.join("; ")));
        }
    }

    /// A report whose single row is `expected`.
    fn single(&mut self, text: &str, expected: Vec<V>) {
        let Some(rows) = self.run(text) else { return };
        let ok = rows.len() == 1
            && rows[0].len() == expected.len()
            && rows[0].iter().zip(&expected).all(|(a, e)| close(a, e));
        if !ok {
            self.fail(text, format!("expected {expected:?}, got {rows:?}"));
        }
    }

    /// A report whose rows are the first column only, in this order.
    fn list(&mut self, text: &str, expected: Vec<String>) {
        let Some(rows) = self.run(text) else { return };
        let actual: Vec<String> = rows.iter().map(|r| key(&r[0])).collect();
        let expected: Vec<String> = expected.iter().map(|s| key(&V::Text(s.clone()))).collect();
        if actual != expected {
            self.fail(text, format!("expected {expected:?}, got {actual:?}"));
        }
    }
}

fn count_by(rows: &[Row], field: &str) -> BTreeMap<String, V> {
    let mut out: BTreeMap<String, V> = BTreeMap::new();
    for r in rows {
        let k = key(&r.fields[field]);
        let n = match out.get(&k) {
            Some(V::Num(n)) => *n,
            _ => 0.0,
        };
        out.insert(k, V::Num(n + 1.0));
    }
    out
}

fn by_id(rows: &[Row], f: impl Fn(&Row) -> V) -> BTreeMap<String, V> {
    rows.iter()
        .map(|r| (key(&V::Text(r.id.clone())), f(r)))
        .collect()
}

fn num(x: &V) -> Option<f64> {
    match x {
        V::Num(n) => Some(*n),
        _ => None,
    }
}

/// `count(), sum, avg, min, max, count(distinct), count(x)` of a numeric field.
fn number_aggregates(rows: &[Row], field: &str) -> Vec<V> {
    let values: Vec<f64> = rows.iter().filter_map(|r| num(&r.fields[field])).collect();
    let opt = |x: Option<f64>| x.map_or(V::Null, V::Num);
    let sum = (!values.is_empty()).then(|| values.iter().sum::<f64>());
    let distinct: BTreeSet<u64> = values.iter().map(|x| x.to_bits()).collect();
    vec![
        V::Num(rows.len() as f64),
        opt(sum),
        opt(sum.map(|s| s / values.len() as f64)),
        opt(values.iter().copied().reduce(f64::min)),
        opt(values.iter().copied().reduce(f64::max)),
        V::Num(distinct.len() as f64),
        V::Num(values.len() as f64),
    ]
}

/// Ids ordered by a field descending (missing values first), ties by id; the first `n`.
fn top_desc(rows: &[Row], field: &str, n: usize) -> Vec<String> {
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by(|a, b| {
        let (x, y) = (&a.fields[field], &b.fields[field]);
        let order = match (x, y) {
            (V::Null, V::Null) => std::cmp::Ordering::Equal,
            (V::Null, _) => std::cmp::Ordering::Less,
            (_, V::Null) => std::cmp::Ordering::Greater,
            (V::Num(p), V::Num(q)) => q.partial_cmp(p).unwrap(),
            (V::Text(p), V::Text(q)) => q.cmp(p),
            _ => panic!("mixed types"),
        };
        order.then_with(|| a.id.cmp(&b.id))
    });
    sorted.into_iter().take(n).map(|r| r.id.clone()).collect()
}

/// The extra grants of the org file: sensitive custom fields per row.
const SENSITIVE_GRANTS: &str = r#"
@id("recruiter-sensitive-candidates")
permit (principal, action == Hireplane::Action::"viewSensitiveCustomFields", resource is Hireplane::Candidate)
when { principal.role == "recruiter" && resource.hiringTeam.contains(principal) };

@id("interviewer-sensitive-candidates")
permit (principal, action == Hireplane::Action::"viewSensitiveCustomFields", resource is Hireplane::Candidate)
when { principal.role == "interviewer" && resource.interviewers.contains(principal) };

@id("team-sensitive-applications")
permit (principal, action == Hireplane::Action::"viewSensitiveCustomFields", resource is Hireplane::Application)
when { resource.job.hiringTeam.contains(principal) };

@id("team-sensitive-jobs")
permit (principal, action == Hireplane::Action::"viewSensitiveCustomFields", resource is Hireplane::Job)
when { resource.hiringTeam.contains(principal) && !resource.confidential };
"#;

fn masks(with_pg: bool) {
    let org = "masks";
    let generated = common::generate(org, 320, 11);
    let mut stores = vec![common::sqlite()];
    if with_pg {
        stores.push(common::postgres());
    }
    for s in &mut stores {
        s.import(generated.dir.path());
    }
    let path = stores[0].sqlite_path().unwrap();
    let facts = OrgFacts::load(&path, org);
    let data = load(&path, org);
    assert!(
        data.sensitive.iter().any(|(e, _, _)| e == "candidate")
            && data.sensitive.iter().any(|(e, _, _)| e == "application"),
        "the generated org marks candidate and application fields sensitive: {:?}",
        data.sensitive
    );
    let services = app::Services::new();
    let file = format!("{}\n{SENSITIVE_GRANTS}", policy::DEFAULT_POLICY);
    let mut problems = Vec::new();
    let mut reports = 0;
    let mut row_dependent_compensation = false;
    for (name, text) in [("shipped default", None), ("sensitive grants", Some(&file))] {
        let policies = match text {
            None => Policies::shipped(org).unwrap(),
            Some(text) => {
                for s in &mut stores {
                    services
                        .set_policy(s.store(), org, text, name, None, common::at())
                        .unwrap();
                }
                Policies::from_text(org, text, name, PolicySource::Org { version: 1 }).unwrap()
            }
        };
        for (why, user) in facts.viewers() {
            let viewer = facts.viewer(&user);
            let offers = seen(
                &facts,
                &policies,
                &viewer,
                "Offer",
                &data.offers,
                &[
                    ("salary", Action::ViewCompensation),
                    ("salary_currency", Action::ViewCompensation),
                ],
            );
            let with_salary = offers
                .rows
                .iter()
                .filter(|r| r.fields["salary"] != V::Null)
                .count();
            let all_salaries = data
                .offers
                .iter()
                .filter(|r| {
                    offers.rows.iter().any(|o| o.id == r.id) && r.fields["salary"] != V::Null
                })
                .count();
            if user.role == "recruiter" && with_salary > 0 && with_salary < all_salaries {
                row_dependent_compensation = true;
            }
            let mut contact: Vec<(&str, Action)> = vec![
                ("email", Action::ViewContactDetails),
                ("phone", Action::ViewContactDetails),
            ];
            let custom_keys: Vec<String> = data
                .sensitive
                .iter()
                .map(|(_, k, _)| format!("custom.{k}"))
                .collect();
            let sensitive_of = |entity: &str| -> Vec<(&str, Action)> {
                data.sensitive
                    .iter()
                    .zip(&custom_keys)
                    .filter(|((e, _, _), _)| e == entity)
                    .map(|(_, k)| (k.as_str(), Action::ViewSensitiveCustomFields))
                    .collect()
            };
            contact.extend(sensitive_of("candidate"));
            contact.push(("location", Action::ViewDetails));
            let candidates = seen(
                &facts,
                &policies,
                &viewer,
                "Candidate",
                &data.candidates,
                &contact,
            );
            let mut app_masks = sensitive_of("application");
            app_masks.extend([
                ("archive_reason", Action::ViewDetails),
                ("source.name", Action::ViewDetails),
                ("reached_screen", Action::ViewStageHistory),
            ]);
            let applications = seen(
                &facts,
                &policies,
                &viewer,
                "Application",
                &data.applications,
                &app_masks,
            );
            let jobs = seen(
                &facts,
                &policies,
                &viewer,
                "Job",
                &data.jobs,
                &sensitive_of("job"),
            );
            // Sources are directory data: every active user of the org sees them all.
            let visible_sources = facts.allowed(&policies, &viewer, Action::View, "Source");
            let sources: Vec<String> = data
                .sources
                .iter()
                .filter(|(id, _)| visible_sources.contains(id))
                .map(|(_, name)| name.clone())
                .collect();
            for store in &mut stores {
                let mut c = Checker {
                    services: &services,
                    store,
                    org,
                    user: &user,
                    today: generated.today,
                    context: format!("policy {name}, {why}"),
                    problems: Vec::new(),
                    reports: 0,
                };
                check_compensation(&mut c, &offers, &applications, &jobs, &data);
                check_contact(&mut c, &candidates, &applications);
                check_details(&mut c, &candidates, &applications, &sources);
                for ((entity, k, ty), field) in data.sensitive.iter().zip(&custom_keys) {
                    let (subject, seen) = match entity.as_str() {
                        "candidate" => ("candidates", &candidates),
                        "application" => ("applications", &applications),
                        _ => ("jobs", &jobs),
                    };
                    check_sensitive(&mut c, subject, seen, field, ty);
                    if entity == "candidate" && ty == "number" {
                        // Through the to-one relation from applications.
                        let expected = by_id(&applications.rows, |a| {
                            candidates.value(a.parent.as_deref().unwrap(), field)
                        });
                        c.pairs(
                            &format!(
                                "report applications group by id show max(candidate.custom.{k}) as v"
                            ),
                            expected,
                        );
                    }
                }
                reports += c.reports;
                problems.extend(c.problems);
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} masked values leak or differ:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        row_dependent_compensation,
        "some recruiter sees compensation for some offers only"
    );
    assert!(reports > 100, "{reports} reports");
}

/// Details (a candidate's location, an application's archive reason and source) and stage
/// history (`reached(...)`): read, grouped by and filtered on, only where Cedar allows
/// `viewDetails` / `viewStageHistory` on the row.
fn check_details(c: &mut Checker<'_>, candidates: &Seen, apps: &Seen, sources: &[String]) {
    let text = |r: &Row, f: &str| r.fields[f].clone();
    c.pairs(
        "report candidates group by id show max(location) as v",
        by_id(&candidates.rows, |r| text(r, "location")),
    );
    c.pairs(
        "report candidates group by location show count() as n",
        count_by(&candidates.rows, "location"),
    );
    c.pairs(
        "report applications group by id show max(archive_reason) as v",
        by_id(&apps.rows, |r| text(r, "archive_reason")),
    );
    c.pairs(
        "report applications group by id show max(source.name) as v",
        by_id(&apps.rows, |r| text(r, "source.name")),
    );
    c.pairs(
        "report applications group by source.name show count() as n",
        count_by(&apps.rows, "source.name"),
    );
    c.pairs(
        "report applications group by candidate.location show count() as n",
        count_by(
            &apps
                .rows
                .iter()
                .map(|a| {
                    let mut a = a.clone();
                    let loc = candidates.value(a.parent.as_deref().unwrap_or_default(), "location");
                    a.fields.insert("candidate.location".into(), loc);
                    a
                })
                .collect::<Vec<_>>(),
            "candidate.location",
        ),
    );
    // From the other end of the masked relation: a source's applications are those whose
    // source the viewer sees.
    let mut per_source: BTreeMap<String, V> = sources
        .iter()
        .map(|n| (key(&V::Text(n.clone())), V::Num(0.0)))
        .collect();
    let sourced: Vec<Row> = apps
        .rows
        .iter()
        .filter(|r| r.fields["source.name"] != V::Null)
        .cloned()
        .collect();
    per_source.extend(count_by(&sourced, "source.name"));
    c.pairs(
        "report sources group by name show count(applications) as n",
        per_source,
    );
    let screened: Vec<Row> = apps
        .rows
        .iter()
        .filter(|r| r.fields["reached_screen"] != V::Null)
        .cloned()
        .collect();
    c.pairs(
        "report applications where reached(kind(\"screen\")) group by id show count() as n",
        by_id(&screened, |_| V::Num(1.0)),
    );
    c.single(
        "report applications show count(where archive_reason is not null) as n",
        vec![V::Num(
            apps.rows
                .iter()
                .filter(|r| r.fields["archive_reason"] != V::Null)
                .count() as f64,
        )],
    );
}

fn check_compensation(c: &mut Checker<'_>, offers: &Seen, apps: &Seen, jobs: &Seen, data: &Data) {
    let o = &offers.rows;
    // where
    let expected = by_id(
        &o.iter()
            .filter(|r| num(&r.fields["salary"]).is_some_and(|s| s > 0.0))
            .cloned()
            .collect::<Vec<_>>(),
        |_| V::Num(1.0),
    );
    c.pairs(
        "report offers where salary > 0 group by id show count() as n",
        expected,
    );
    let expected = by_id(
        &o.iter()
            .filter(|r| r.fields["salary"] == V::Null)
            .cloned()
            .collect::<Vec<_>>(),
        |_| V::Num(1.0),
    );
    c.pairs(
        "report offers where salary is null group by id show count() as n",
        expected,
    );
    // group by
    c.pairs(
        "report offers group by salary_currency show count() as n",
        count_by(o, "salary_currency"),
    );
    // order by
    c.list(
        "report offers show id order by salary desc limit 12",
        top_desc(o, "salary", 12),
    );
    // formula
    c.pairs(
        "report offers show id, salary * 2 + 1 as f",
        by_id(o, |r| match r.fields["salary"] {
            V::Num(s) => V::Num(s * 2.0 + 1.0),
            _ => V::Null,
        }),
    );
    // aggregates
    c.single(
        "report offers show count() as n, sum(salary) as s, avg(salary) as a, min(salary) as mn, max(salary) as mx, count(distinct salary) as d, count(salary) as k",
        number_aggregates(o, "salary"),
    );
    // through lists: an application's offers, a job's applications' offers
    let max_of = |rows: Vec<&Row>| -> V {
        rows.iter()
            .filter_map(|r| num(&r.fields["salary"]))
            .reduce(f64::max)
            .map_or(V::Null, V::Num)
    };
    c.pairs(
        "report applications group by id show max(offers.salary) as m",
        by_id(&apps.rows, |a| {
            max_of(
                o.iter()
                    .filter(|r| r.parent.as_deref() == Some(a.id.as_str()))
                    .collect(),
            )
        }),
    );
    c.pairs(
        "report jobs group by id show max(applications.offers.salary) as m",
        by_id(&jobs.rows, |j| {
            max_of(
                o.iter()
                    .filter(|r| {
                        apps.rows.iter().any(|a| {
                            Some(a.id.as_str()) == r.parent.as_deref()
                                && a.other.as_deref() == Some(j.id.as_str())
                        })
                    })
                    .collect(),
            )
        }),
    );
    // The current offer's salary: whatever it is, it is the salary of a visible offer of that
    // application whose compensation the viewer may see, and of the highest version among them.
    let rows = c.run("report applications group by id show max(current_offer.salary) as s");
    for r in rows.unwrap_or_default() {
        let (V::Text(app), value) = (&r[0], &r[1]) else {
            panic!("{r:?}");
        };
        if *value == V::Null {
            continue;
        }
        let ok = o.iter().any(|x| {
            x.parent.as_deref() == Some(app.as_str()) && close(&x.fields["salary"], value)
        });
        let highest = data
            .offers
            .iter()
            .filter(|x| x.parent.as_deref() == Some(app.as_str()))
            .max_by(|a, b| {
                num(&a.fields["version"])
                    .partial_cmp(&num(&b.fields["version"]))
                    .unwrap()
            })
            .map(|x| x.id.clone());
        let current_allowed = highest.as_ref().is_some_and(|h| {
            o.iter()
                .any(|x| &x.id == h && x.fields["salary"] != V::Null)
        });
        if !ok || !current_allowed {
            c.fail(
                "report applications group by id show max(current_offer.salary) as s",
                format!("application {app}: salary {value:?} is not one the viewer may see (current offer {highest:?})"),
            );
        }
    }
}

fn check_contact(c: &mut Checker<'_>, candidates: &Seen, apps: &Seen) {
    let rows = &candidates.rows;
    let present = |f: &str| -> BTreeMap<String, V> {
        by_id(
            &rows
                .iter()
                .filter(|r| r.fields[f] != V::Null)
                .cloned()
                .collect::<Vec<_>>(),
            |_| V::Num(1.0),
        )
    };
    c.pairs(
        "report candidates where email is not null group by id show count() as n",
        present("email"),
    );
    c.pairs(
        "report candidates where phone is not null group by id show count() as n",
        present("phone"),
    );
    c.pairs(
        "report candidates group by phone show count() as n",
        count_by(rows, "phone"),
    );
    c.list(
        "report candidates show id order by email desc limit 12",
        top_desc(rows, "email", 12),
    );
    c.pairs(
        "report candidates show id, coalesce(email, \"hidden\") as e",
        by_id(rows, |r| match &r.fields["email"] {
            V::Null => V::Text("hidden".into()),
            x => x.clone(),
        }),
    );
    let texts = |f: &str| -> Vec<String> {
        rows.iter()
            .filter_map(|r| match &r.fields[f] {
                V::Text(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    };
    let (emails, phones) = (texts("email"), texts("phone"));
    let opt = |x: Option<String>| x.map_or(V::Null, V::Text);
    c.single(
        "report candidates show count(distinct email) as d, min(email) as mn, max(phone) as mx, count(email) as k, count() as n",
        vec![
            V::Num(emails.iter().collect::<BTreeSet<_>>().len() as f64),
            opt(emails.iter().min().cloned()),
            opt(phones.iter().max().cloned()),
            V::Num(emails.len() as f64),
            V::Num(rows.len() as f64),
        ],
    );
    // Through the to-one relation from applications.
    c.pairs(
        "report applications group by id show min(candidate.email) as e",
        by_id(&apps.rows, |a| {
            candidates.value(a.parent.as_deref().unwrap(), "email")
        }),
    );
    c.pairs(
        "report applications group by candidate.phone show count() as n",
        {
            let mut out: BTreeMap<String, V> = BTreeMap::new();
            for a in &apps.rows {
                let k = key(&candidates.value(a.parent.as_deref().unwrap(), "phone"));
                let n = out.get(&k).and_then(num).unwrap_or(0.0);
                out.insert(k, V::Num(n + 1.0));
            }
            out
        },
    );
}

fn check_sensitive(c: &mut Checker<'_>, subject: &str, seen: &Seen, field: &str, ty: &str) {
    let rows = &seen.rows;
    match ty {
        "number" => {
            c.pairs(
                &format!("report {subject} where {field} > 0 group by id show count() as n"),
                by_id(
                    &rows
                        .iter()
                        .filter(|r| num(&r.fields[field]).is_some_and(|x| x > 0.0))
                        .cloned()
                        .collect::<Vec<_>>(),
                    |_| V::Num(1.0),
                ),
            );
            c.single(
                &format!("report {subject} show count() as n, sum({field}) as s, avg({field}) as a, min({field}) as mn, max({field}) as mx, count(distinct {field}) as d, count({field}) as k"),
                number_aggregates(rows, field),
            );
            c.list(
                &format!("report {subject} show id order by {field} desc limit 12"),
                top_desc(rows, field, 12),
            );
            c.pairs(
                &format!("report {subject} show id, {field} * 2 as f"),
                by_id(rows, |r| match r.fields[field] {
                    V::Num(x) => V::Num(x * 2.0),
                    _ => V::Null,
                }),
            );
        }
        _ => {
            c.pairs(
                &format!("report {subject} group by {field} show count() as n"),
                count_by(rows, field),
            );
            c.pairs(
                &format!(
                    "report {subject} where {field} is not null group by id show count() as n"
                ),
                by_id(
                    &rows
                        .iter()
                        .filter(|r| r.fields[field] != V::Null)
                        .cloned()
                        .collect::<Vec<_>>(),
                    |_| V::Num(1.0),
                ),
            );
        }
    }
}

#[test]
fn masked_fields_read_as_null_everywhere_on_sqlite() {
    masks(false);
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn masked_fields_read_as_null_everywhere_on_postgres_and_sqlite() {
    masks(true);
}

/// Reports over a field group masked for every row (the viewer may see none of it) run on
/// both databases and read the field as null: in aggregates, as a group key, as a sort key and
/// through a list. (The masked column must stay typed: PostgreSQL cannot pick `sum` of an
/// untyped null, nor group or order by a constant.)
fn masked_everywhere(store: &mut Fresh) {
    let org = "maskall";
    let generated = common::generate(org, 80, 5);
    store.import(generated.dir.path());
    let facts = OrgFacts::load(&common::sqlite_copy(store, &generated), org);
    let services = app::Services::new();
    let recruiter = facts
        .users
        .iter()
        .find(|u| u.active && u.role == "recruiter")
        .unwrap();
    let interviewer = facts
        .users
        .iter()
        .find(|u| u.active && u.role == "interviewer")
        .unwrap();
    // The column that must be null in every row (`None`: only that the report runs).
    let mut problems = Vec::new();
    for (user, text, null_column) in [
        (
            recruiter,
            "report applications show sum(custom.current_salary) as s",
            Some(0),
        ),
        (
            recruiter,
            "report applications show avg(custom.current_salary) as s",
            Some(0),
        ),
        (
            recruiter,
            "report candidates show max(custom.expected_salary) as s",
            Some(0),
        ),
        (interviewer, "report offers show sum(salary) as s", Some(0)),
        (interviewer, "report offers show avg(salary) as s", Some(0)),
        (
            interviewer,
            "report candidates show min(email) as s",
            Some(0),
        ),
        (
            recruiter,
            "report candidates group by custom.expected_salary show count() as n",
            Some(0),
        ),
        (
            recruiter,
            "report applications show id order by custom.current_salary desc limit 3",
            None,
        ),
        (
            recruiter,
            "report jobs group by id show max(applications.custom.current_salary) as m",
            Some(1),
        ),
        (
            interviewer,
            "report applications group by id show max(offers.salary) as m",
            Some(1),
        ),
    ] {
        let report = query_syntax::parse(text).unwrap();
        let access = services.access(store.store(), org, &user.id).unwrap();
        let sql = services
            .compile(store.store(), org, &access, &report)
            .map(|c| c.sql)
            .unwrap_or_default();
        let who = format!("{text}  [as {} ({})]", user.id, user.role);
        match services.run_report(
            store.store(),
            org,
            &user.id,
            &report,
            generated.today,
            common::at(),
        ) {
            Ok(run) => {
                if let Some(i) = null_column
                    && let Some(row) = run.rows.rows.iter().find(|r| r[i] != Value::Null)
                {
                    problems.push(format!("{who}: a masked value shows: {row:?}"));
                }
            }
            Err(e) => problems.push(format!("{who}: {e:?}\n  SQL: {sql}")),
        }
    }
    assert!(
        problems.is_empty(),
        "{}:\n{}",
        store.name(),
        problems.join("\n")
    );
}

#[test]
fn reports_over_a_field_masked_everywhere_run_and_read_null_on_sqlite() {
    masked_everywhere(&mut common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn reports_over_a_field_masked_everywhere_run_and_read_null_on_postgres() {
    masked_everywhere(&mut common::postgres());
}
