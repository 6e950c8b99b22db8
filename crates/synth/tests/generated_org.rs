//! Checks generated orgs against the rules of `spec/org-format.md`, reading the files as
//! plain JSON (independently of the generator's own record types).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use synth::{Config, Summary, generate};

const FILES: &[&str] = &[
    "departments.jsonl",
    "users.jsonl",
    "sources.jsonl",
    "custom_fields.jsonl",
    "jobs.jsonl",
    "candidates.jsonl",
    "applications.jsonl",
    "stage_transitions.jsonl",
    "interviews.jsonl",
    "feedback.jsonl",
    "offers.jsonl",
    "interviewer_pools.jsonl",
    "busy_blocks.jsonl",
];

fn config(applications: u64, seed: u64) -> Config {
    Config {
        org_id: "acme".to_owned(),
        applications,
        seed,
    }
}

fn rows(dir: &Path, file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let v: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{file}:{}: {e}", i + 1));
            assert!(v.is_object(), "{file}:{}: not an object", i + 1);
            v
        })
        .collect()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` is not a string in {v}"))
}

fn opt<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    match &v[key] {
        Value::Null => None,
        Value::String(x) => Some(x),
        other => panic!("`{key}` is neither null nor a string: {other}"),
    }
}

/// Seconds since the epoch of an RFC 3339 UTC timestamp `YYYY-MM-DDTHH:MM:SSZ`, checked.
fn ts(text: &str) -> i64 {
    let t: jiff::Timestamp = text
        .parse()
        .unwrap_or_else(|e| panic!("bad timestamp `{text}`: {e}"));
    assert_eq!(text.len(), 20, "not whole seconds in UTC: `{text}`");
    assert!(text.ends_with('Z'), "not UTC: `{text}`");
    t.as_second()
}

fn is_date(text: &str) -> bool {
    text.len() == 10 && text.parse::<jiff::civil::Date>().is_ok()
}

fn ids(rows: &[Value], file: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for r in rows {
        let id = s(r, "id");
        assert!(
            id.starts_with("acme_"),
            "{file}: id `{id}` lacks the org prefix"
        );
        assert!(seen.insert(id.to_owned()), "{file}: duplicate id `{id}`");
    }
    seen
}

fn one_of(v: &str, allowed: &[&str], what: &str) {
    assert!(
        allowed.contains(&v),
        "{what}: `{v}` is not one of {allowed:?}"
    );
}

/// Checks every rule the generator promises; returns row counts per file.
fn check_org(dir: &Path, summary: &Summary) -> BTreeMap<&'static str, usize> {
    let reference = ts(&summary.reference_time);
    let org: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("org.json")).unwrap()).unwrap();
    assert_eq!(org["format"], "hireplane-org/1");
    assert_eq!(org["id"], "acme");
    jiff::tz::TimeZone::get(s(&org, "timezone")).unwrap();
    ts(s(&org, "created_at"));

    let data: BTreeMap<&str, Vec<Value>> = FILES.iter().map(|f| (*f, rows(dir, f))).collect();
    let counts = data
        .iter()
        .map(|(f, r)| (*f, r.len()))
        .collect::<BTreeMap<_, _>>();
    for (file, count) in summary.files().into_iter().skip(1) {
        assert_eq!(counts[file] as u64, count, "{file}: summary count");
    }

    // Departments: a tree.
    let departments = &data["departments.jsonl"];
    let dep_ids = ids(departments, "departments");
    let parents: BTreeMap<&str, Option<&str>> = departments
        .iter()
        .map(|d| (s(d, "id"), opt(d, "parent_id")))
        .collect();
    for (id, parent) in &parents {
        if let Some(p) = parent {
            assert!(dep_ids.contains(*p), "department {id}: unknown parent {p}");
        }
        let mut cur = *id;
        for _ in 0..=parents.len() {
            match parents[cur] {
                Some(p) => cur = p,
                None => break,
            }
        }
        assert!(parents[cur].is_none(), "department {id}: cycle");
    }

    // Users.
    let users = &data["users.jsonl"];
    let user_ids = ids(users, "users");
    let mut emails = BTreeSet::new();
    let mut active_users = BTreeSet::new();
    let mut roles = BTreeSet::new();
    for u in users {
        assert!(
            emails.insert(s(u, "email")),
            "duplicate email {}",
            s(u, "email")
        );
        one_of(
            s(u, "role"),
            &["admin", "recruiter", "hiring_manager", "interviewer"],
            "user role",
        );
        roles.insert(s(u, "role"));
        for d in u["department_ids"].as_array().unwrap() {
            assert!(dep_ids.contains(d.as_str().unwrap()));
        }
        jiff::tz::TimeZone::get(s(u, "timezone")).unwrap();
        for (day, intervals) in u["working_hours"].as_object().unwrap() {
            one_of(
                day,
                &["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "weekday",
            );
            for pair in intervals.as_array().unwrap() {
                let a = pair[0].as_str().unwrap();
                let b = pair[1].as_str().unwrap();
                assert!(
                    a.len() == 5 && b.len() == 5 && a < b,
                    "bad interval {a}..{b}"
                );
            }
        }
        for key in ["max_interviews_per_day", "max_interviews_per_week"] {
            assert!(u[key].is_null() || u[key].as_u64().is_some());
        }
        if u["active"].as_bool().unwrap() {
            active_users.insert(s(u, "id").to_owned());
        }
    }
    assert_eq!(roles.len(), 4, "all roles present");
    assert!(active_users.len() < users.len(), "some users are inactive");
    let zones: BTreeSet<&str> = users.iter().map(|u| s(u, "timezone")).collect();
    assert!(zones.len() >= 5, "users in several time zones: {zones:?}");

    // Sources.
    let sources = &data["sources.jsonl"];
    let source_ids = ids(sources, "sources");
    let kinds: BTreeSet<&str> = sources.iter().map(|x| s(x, "kind")).collect();
    let all_kinds = [
        "referral",
        "agency",
        "job_board",
        "sourced",
        "career_site",
        "event",
        "other",
    ];
    assert_eq!(
        kinds,
        all_kinds.iter().copied().collect(),
        "every source kind"
    );

    // Custom field definitions.
    let defs = &data["custom_fields.jsonl"];
    ids(defs, "custom_fields");
    let mut def_map: BTreeMap<(&str, &str), (&str, Vec<&str>)> = BTreeMap::new();
    for d in defs {
        one_of(
            s(d, "entity"),
            &["candidate", "application", "job"],
            "custom field entity",
        );
        let ty = s(d, "type");
        one_of(
            ty,
            &[
                "text",
                "number",
                "boolean",
                "date",
                "select",
                "multi_select",
            ],
            "custom field type",
        );
        let options: Vec<&str> = d["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap())
            .collect();
        if ty == "select" || ty == "multi_select" {
            assert!(!options.is_empty());
        }
        assert!(d["sensitive"].is_boolean());
        assert!(
            def_map
                .insert((s(d, "entity"), s(d, "key")), (ty, options))
                .is_none(),
            "duplicate key"
        );
    }
    let types: BTreeSet<&str> = def_map.values().map(|(t, _)| *t).collect();
    assert_eq!(types.len(), 6, "every custom field type");
    assert!(defs.iter().any(|d| d["sensitive"] == true));
    let mut used_types = BTreeSet::new();
    let mut check_fields = |entity: &str, record: &Value| {
        for (key, value) in record["custom_fields"].as_object().unwrap() {
            let (ty, options) = def_map
                .get(&(entity, key.as_str()))
                .unwrap_or_else(|| panic!("{entity}: undefined field {key}"));
            let ok = match *ty {
                "text" => value.is_string(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                "date" => value.as_str().is_some_and(is_date),
                "select" => value.as_str().is_some_and(|v| options.contains(&v)),
                _ => value.as_array().is_some_and(|a| {
                    a.iter()
                        .all(|v| v.as_str().is_some_and(|v| options.contains(&v)))
                }),
            };
            assert!(ok, "{entity}: field {key} of type {ty} has value {value}");
            used_types.insert((entity.to_owned(), *ty));
        }
    };

    // Jobs and their stages.
    let jobs = &data["jobs.jsonl"];
    let job_ids = ids(jobs, "jobs");
    let mut stage_job: BTreeMap<String, (String, usize, String)> = BTreeMap::new();
    let mut first_stage: BTreeMap<&str, &str> = BTreeMap::new();
    let mut employment = BTreeSet::new();
    let mut statuses = BTreeSet::new();
    for j in jobs {
        let id = s(j, "id");
        assert!(dep_ids.contains(s(j, "department_id")));
        one_of(
            s(j, "employment_type"),
            &["full_time", "part_time", "contract", "intern"],
            "employment type",
        );
        one_of(
            s(j, "status"),
            &["draft", "open", "closed", "archived"],
            "job status",
        );
        employment.insert(s(j, "employment_type"));
        statuses.insert(s(j, "status"));
        let opened = ts(s(j, "opened_at"));
        match (s(j, "status"), opt(j, "closed_at")) {
            ("closed" | "archived", Some(c)) => assert!(ts(c) > opened),
            ("draft" | "open", None) => {}
            (st, c) => panic!("job {id}: status {st} with closed_at {c:?}"),
        }
        assert!(j["headcount"].as_u64().unwrap() >= 1);
        let team = j["hiring_team"].as_array().unwrap();
        let team_roles: BTreeSet<&str> = team.iter().map(|m| s(m, "role")).collect();
        assert!(
            team_roles.contains("hiring_manager") && team_roles.contains("recruiter"),
            "job {id}: team {team_roles:?}"
        );
        for m in team {
            assert!(user_ids.contains(s(m, "user_id")));
            one_of(
                s(m, "role"),
                &["hiring_manager", "recruiter", "coordinator", "interviewer"],
                "team role",
            );
        }
        let stages = j["stages"].as_array().unwrap();
        assert!(
            (5..=8).contains(&stages.len()),
            "job {id}: {} stages",
            stages.len()
        );
        for (k, st) in stages.iter().enumerate() {
            assert_eq!(st["position"].as_u64().unwrap() as usize, k + 1);
            one_of(
                s(st, "kind"),
                &[
                    "lead",
                    "application_review",
                    "screen",
                    "assessment",
                    "interview",
                    "onsite",
                    "offer",
                    "hired",
                ],
                "stage kind",
            );
            let prev = stage_job.insert(
                s(st, "id").to_owned(),
                (id.to_owned(), k + 1, s(st, "kind").to_owned()),
            );
            assert!(
                prev.is_none(),
                "stage id {} not unique across the org",
                s(st, "id")
            );
        }
        first_stage.insert(id, s(&stages[0], "id"));
        check_fields("job", j);
    }
    assert_eq!(employment.len(), 4, "every employment type");
    assert_eq!(statuses.len(), 4, "every job status");

    // Candidates.
    let candidates = &data["candidates.jsonl"];
    let cand_ids = ids(candidates, "candidates");
    let mut genders = BTreeSet::new();
    for c in candidates {
        ts(s(c, "created_at"));
        jiff::tz::TimeZone::get(s(c, "timezone")).unwrap();
        opt(c, "email");
        opt(c, "phone");
        assert!(c["tags"].is_array());
        check_fields("candidate", c);
        if let Some(d) = c["demographics"].as_object() {
            for key in [
                "gender",
                "race_ethnicity",
                "veteran_status",
                "disability_status",
            ] {
                assert!(d[key].is_null() || d[key].is_string());
            }
            if let Some(g) = d["gender"].as_str() {
                genders.insert(g.to_owned());
            }
        }
    }
    assert!(genders.len() >= 3);
    assert!(
        candidates.iter().any(|c| c["email"].is_null())
            && candidates.iter().any(|c| c["phone"].is_null())
    );
    assert!(candidates.iter().any(|c| c["demographics"].is_null()));
    assert!(
        candidates.iter().any(|c| s(c, "name").contains('\'')),
        "names with apostrophes"
    );
    assert!(
        candidates.iter().any(|c| !s(c, "name").is_ascii()),
        "names beyond ASCII"
    );

    // Applications.
    let apps = &data["applications.jsonl"];
    let app_ids = ids(apps, "applications");
    let mut app_by_id: BTreeMap<&str, &Value> = BTreeMap::new();
    let mut per_candidate: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for a in apps {
        let id = s(a, "id");
        assert!(cand_ids.contains(s(a, "candidate_id")));
        assert!(job_ids.contains(s(a, "job_id")));
        assert!(
            per_candidate
                .entry(s(a, "candidate_id"))
                .or_default()
                .insert(s(a, "job_id")),
            "app {id}: candidate applied twice to a job"
        );
        if let Some(src) = opt(a, "source_id") {
            assert!(source_ids.contains(src));
        }
        if let Some(u) = opt(a, "credited_to_user_id") {
            assert!(user_ids.contains(u));
        }
        let applied = ts(s(a, "applied_at"));
        assert!(applied < reference);
        let (stage_job_id, _, kind) = &stage_job[s(a, "current_stage_id")];
        assert_eq!(
            stage_job_id,
            s(a, "job_id"),
            "app {id}: current stage of another job"
        );
        match s(a, "status") {
            "hired" => {
                assert!(ts(s(a, "hired_at")) >= applied);
                assert_eq!(kind, "hired");
                assert!(a["archived_at"].is_null() && a["archive_reason"].is_null());
            }
            "archived" => {
                assert!(ts(s(a, "archived_at")) >= applied);
                assert!(!s(a, "archive_reason").is_empty());
                assert!(a["hired_at"].is_null());
            }
            "active" => {
                assert!(
                    a["hired_at"].is_null()
                        && a["archived_at"].is_null()
                        && a["archive_reason"].is_null()
                );
            }
            other => panic!("app {id}: status {other}"),
        }
        check_fields("application", a);
        app_by_id.insert(id, a);
    }
    assert!(
        per_candidate.values().any(|jobs| jobs.len() > 1),
        "some candidates apply to several jobs"
    );
    let statuses: BTreeSet<&str> = apps.iter().map(|a| s(a, "status")).collect();
    assert_eq!(statuses.len(), 3, "every application status: {statuses:?}");

    // Stage transitions: one valid chain per application.
    let transitions = &data["stage_transitions.jsonl"];
    ids(transitions, "stage_transitions");
    let mut chains: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for t in transitions {
        assert!(app_ids.contains(s(t, "application_id")));
        if let Some(u) = opt(t, "by_user_id") {
            assert!(user_ids.contains(u));
        }
        chains.entry(s(t, "application_id")).or_default().push(t);
    }
    assert_eq!(chains.len(), apps.len(), "every application has a history");
    for (app_id, chain) in &mut chains {
        chain.sort_by_key(|t| ts(s(t, "at")));
        let app = app_by_id[app_id];
        let first = chain[0];
        assert!(
            first["from_stage_id"].is_null(),
            "app {app_id}: first transition has a from"
        );
        assert_eq!(
            s(first, "to_stage_id"),
            first_stage[s(app, "job_id")],
            "app {app_id}: not entering the first stage"
        );
        assert_eq!(s(first, "at"), s(app, "applied_at"));
        for pair in chain.windows(2) {
            assert_eq!(
                opt(pair[1], "from_stage_id"),
                Some(s(pair[0], "to_stage_id")),
                "app {app_id}: broken chain"
            );
            assert!(
                ts(s(pair[1], "at")) > ts(s(pair[0], "at")),
                "app {app_id}: times not increasing"
            );
            let (j0, p0, _) = &stage_job[s(pair[0], "to_stage_id")];
            let (j1, p1, _) = &stage_job[s(pair[1], "to_stage_id")];
            assert!(
                j0 == s(app, "job_id") && j1 == j0 && p1 > p0,
                "app {app_id}: not moving forward in its job"
            );
        }
        assert_eq!(
            s(chain[chain.len() - 1], "to_stage_id"),
            s(app, "current_stage_id")
        );
        if let Some(h) = opt(app, "hired_at") {
            assert_eq!(s(chain[chain.len() - 1], "at"), h);
        }
    }

    // Interviews.
    let interviews = &data["interviews.jsonl"];
    ids(interviews, "interviews");
    let mut interview_by_id: BTreeMap<&str, &Value> = BTreeMap::new();
    let mut roles_seen = BTreeSet::new();
    for iv in interviews {
        let id = s(iv, "id");
        let app = app_by_id[s(iv, "application_id")];
        assert_eq!(
            stage_job[s(iv, "stage_id")].0,
            s(app, "job_id"),
            "interview {id}: stage of another job"
        );
        let start = ts(s(iv, "starts_at"));
        let end = ts(s(iv, "ends_at"));
        assert!(end > start, "interview {id}: ends before it starts");
        assert!(
            (30 * 60..=90 * 60).contains(&(end - start)) && start % 900 == 0,
            "interview {id}: off the grid"
        );
        match s(iv, "status") {
            "scheduled" => assert!(start >= reference, "interview {id}: scheduled in the past"),
            "completed" | "cancelled" | "no_show" => {
                assert!(end <= reference, "interview {id}: done in the future")
            }
            other => panic!("interview {id}: status {other}"),
        }
        let panel = iv["interviewers"].as_array().unwrap();
        let people: BTreeSet<&str> = panel.iter().map(|p| s(p, "user_id")).collect();
        assert_eq!(
            people.len(),
            panel.len(),
            "interview {id}: interviewer twice"
        );
        assert!(panel.iter().any(|p| p["role"] == "interviewer"));
        for p in panel {
            assert!(user_ids.contains(s(p, "user_id")));
            one_of(
                s(p, "role"),
                &["interviewer", "shadow", "reverse_shadow"],
                "panel role",
            );
            roles_seen.insert(s(p, "role"));
            if s(iv, "status") == "scheduled" {
                assert!(
                    active_users.contains(s(p, "user_id")),
                    "interview {id}: inactive user scheduled"
                );
            }
        }
        interview_by_id.insert(id, iv);
    }
    assert_eq!(
        roles_seen.len(),
        3,
        "shadows and reverse shadows appear: {roles_seen:?}"
    );

    // Feedback.
    let feedback = &data["feedback.jsonl"];
    ids(feedback, "feedback");
    for f in feedback {
        let iv = interview_by_id[s(f, "interview_id")];
        assert_eq!(s(iv, "status"), "completed");
        assert_eq!(s(f, "application_id"), s(iv, "application_id"));
        assert!(
            iv["interviewers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["user_id"] == f["author_id"]),
            "author not on the panel"
        );
        assert!(ts(s(f, "submitted_at")) > ts(s(iv, "ends_at")));
        one_of(
            s(f, "recommendation"),
            &["strong_no", "no", "yes", "strong_yes"],
            "recommendation",
        );
        let scores = f["scores"].as_object().unwrap();
        assert!(!scores.is_empty());
        assert!(
            scores
                .values()
                .all(|v| (1..=4).contains(&v.as_u64().unwrap()))
        );
        assert!(f["notes"].is_string());
    }

    // Offers.
    let offers = &data["offers.jsonl"];
    ids(offers, "offers");
    let mut versions: BTreeMap<&str, Vec<(u64, &Value)>> = BTreeMap::new();
    for o in offers {
        assert!(app_ids.contains(s(o, "application_id")));
        one_of(
            s(o, "status"),
            &[
                "draft",
                "pending_approval",
                "approved",
                "sent",
                "accepted",
                "declined",
                "rescinded",
            ],
            "offer status",
        );
        let created = ts(s(o, "created_at"));
        if let Some(r) = opt(o, "resolved_at") {
            assert!(ts(r) >= created);
        }
        if let Some(d) = opt(o, "start_date") {
            assert!(is_date(d));
        }
        let salary = &o["salary"];
        assert!(salary["amount"].as_f64().unwrap() > 0.0);
        let currency = s(salary, "currency");
        assert!(currency.len() == 3 && currency.chars().all(|c| c.is_ascii_uppercase()));
        one_of(s(salary, "period"), &["year", "hour"], "salary period");
        assert!(o["bonus"].is_null() || o["bonus"].is_number());
        assert!(o["equity"].is_null() || o["equity"].is_string());
        versions
            .entry(s(o, "application_id"))
            .or_default()
            .push((o["version"].as_u64().unwrap(), o));
    }
    for (app_id, list) in &mut versions {
        list.sort_by_key(|(v, _)| *v);
        let numbers: Vec<u64> = list.iter().map(|(v, _)| *v).collect();
        assert_eq!(
            numbers,
            (1..=list.len() as u64).collect::<Vec<_>>(),
            "app {app_id}: offer versions"
        );
    }
    for a in apps {
        if a["status"] == "hired" {
            let list = versions
                .get(s(a, "id"))
                .expect("hired application without an offer");
            assert_eq!(s(list[list.len() - 1].1, "status"), "accepted");
        }
    }

    // Interviewer pools.
    let pools = &data["interviewer_pools.jsonl"];
    ids(pools, "interviewer_pools");
    let mut trainee_steps = BTreeSet::new();
    for p in pools {
        let req_s = p["required_shadows"].as_u64().unwrap();
        let req_r = p["required_reverse_shadows"].as_u64().unwrap();
        let members = p["members"].as_array().unwrap();
        let people: BTreeSet<&str> = members.iter().map(|m| s(m, "user_id")).collect();
        assert_eq!(people.len(), members.len(), "pool member twice");
        for m in members {
            assert!(user_ids.contains(s(m, "user_id")));
            let sh = m["shadows_completed"].as_u64().unwrap();
            let rs = m["reverse_shadows_completed"].as_u64().unwrap();
            match s(m, "status") {
                "qualified" => assert!(sh >= req_s && rs >= req_r),
                "trainee" => {
                    assert!(sh <= req_s && rs < req_r && (rs == 0 || sh == req_s));
                    trainee_steps.insert(sh == req_s);
                }
                other => panic!("pool member status {other}"),
            }
        }
    }
    assert_eq!(trainee_steps.len(), 2, "trainees at both steps");

    // Busy blocks.
    for b in &data["busy_blocks.jsonl"] {
        assert!(active_users.contains(s(b, "user_id")));
        assert!(ts(s(b, "ends_at")) > ts(s(b, "starts_at")));
    }

    for entity in ["candidate", "application", "job"] {
        let n = used_types.iter().filter(|(e, _)| e == entity).count();
        assert!(n >= 5, "{entity}: values of only {n} types");
    }
    counts
}

fn generate_into(dir: &Path, config: &Config) -> Summary {
    generate(config, dir).unwrap()
}

#[test]
fn small_org_follows_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate_into(dir.path(), &config(3_000, 7));
    check_org(dir.path(), &summary);
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    generate_into(a.path(), &config(1_500, 11));
    generate_into(b.path(), &config(1_500, 11));
    generate_into(c.path(), &config(1_500, 12));
    let mut differing = 0;
    for file in FILES.iter().chain(&["org.json"]) {
        let x = std::fs::read(a.path().join(file)).unwrap();
        let y = std::fs::read(b.path().join(file)).unwrap();
        let z = std::fs::read(c.path().join(file)).unwrap();
        assert!(x == y, "{file} differs between runs with the same seed");
        if x != z {
            differing += 1;
        }
    }
    assert!(
        differing >= 10,
        "another seed changes the data ({differing} files differ)"
    );
}

#[test]
fn a_given_reference_date_places_the_data_around_it() {
    // A Thursday, far from the seed's own dates: the org still follows the spec, with
    // applications up to that day and interviews booked after it.
    let today = jiff::civil::date(2031, 7, 17);
    let a = tempfile::tempdir().unwrap();
    let summary = synth::generate_as_of(&config(2_000, 7), today, a.path(), &mut |_| {}).unwrap();
    assert_eq!(summary.reference_time, "2031-07-17T00:00:00Z");
    check_org(a.path(), &summary);
    let reference = ts(&summary.reference_time);
    let applied: Vec<i64> = rows(a.path(), "applications.jsonl")
        .iter()
        .map(|r| ts(s(r, "applied_at")))
        .collect();
    assert!(applied.iter().all(|&t| t <= reference));
    let recent = applied
        .iter()
        .filter(|&&t| t > reference - 90 * 86_400)
        .count();
    assert!(recent >= 100, "{recent} applications in the last 90 days");
    let upcoming = rows(a.path(), "interviews.jsonl")
        .iter()
        .filter(|r| ts(s(r, "starts_at")) > reference)
        .count();
    assert!(upcoming >= 5, "{upcoming} interviews after the reference");

    // Deterministic for a seed and a date; the seed's own date gives `generate`'s files.
    let b = tempfile::tempdir().unwrap();
    synth::generate_as_of(&config(2_000, 7), today, b.path(), &mut |_| {}).unwrap();
    let c = tempfile::tempdir().unwrap();
    let own = synth::seed_reference_date(7);
    synth::generate_as_of(&config(2_000, 7), own, c.path(), &mut |_| {}).unwrap();
    let d = tempfile::tempdir().unwrap();
    let seeded = generate_into(d.path(), &config(2_000, 7));
    assert_eq!(&seeded.reference_time[..10], own.to_string());
    for file in FILES.iter().chain(&["org.json"]) {
        let read = |dir: &tempfile::TempDir| std::fs::read(dir.path().join(file)).unwrap();
        assert!(read(&a) == read(&b), "{file} differs for the same date");
        assert!(
            read(&c) == read(&d),
            "{file}: the seed's date is not `generate`"
        );
    }

    let err = synth::generate_as_of(
        &config(10, 1),
        jiff::civil::date(1999, 12, 31),
        a.path(),
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "reference date `1999-12-31` is outside the years 2000 to 2999"
    );
}

#[test]
fn creates_the_directory_and_reports_progress() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a").join("b");
    let mut reports = Vec::new();
    let summary = synth::generate_with_progress(&config(25_000, 3), &nested, &mut |p| {
        reports.push(p.applications_written)
    })
    .unwrap();
    assert_eq!(summary.applications, 25_000);
    assert_eq!(reports.last(), Some(&25_000));
    assert!(reports.windows(2).all(|w| w[0] < w[1]));
    assert!(nested.join("org.json").is_file());
}

#[test]
fn bad_org_id_and_unwritable_directory_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bad = Config {
        org_id: "a b".to_owned(),
        applications: 10,
        seed: 1,
    };
    let err = generate(&bad, dir.path()).unwrap_err();
    assert!(err.to_string().starts_with("invalid org id `a b`"), "{err}");

    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err = generate(&config(10, 1), &file).unwrap_err();
    assert!(
        err.to_string().starts_with("cannot create directory `"),
        "{err}"
    );
}

#[test]
fn twenty_thousand_applications_scale_as_expected() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate_into(dir.path(), &config(20_000, 99));
    let counts = check_org(dir.path(), &summary);
    assert_eq!(counts["applications.jsonl"], 20_000);
    assert_eq!(counts["users.jsonl"], 80);
    assert_eq!(counts["jobs.jsonl"], 80);
    assert_eq!(counts["departments.jsonl"], 6);
    let candidates = counts["candidates.jsonl"];
    assert!(
        (13_000..18_500).contains(&candidates),
        "{candidates} candidates"
    );
    assert!(counts["stage_transitions.jsonl"] > 30_000);
    assert!(counts["interviews.jsonl"] > 5_000);
    assert!(counts["offers.jsonl"] > 200);
    assert!(counts["busy_blocks.jsonl"] > 1_000);
}
