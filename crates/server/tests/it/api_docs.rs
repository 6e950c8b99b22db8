//! The examples of docs/api.md run as written: every ```graphql block with a `# runs as: ROLE`
//! line is sent, in the order of the document, to a real server on a generated org with ROLE's
//! token, and must answer without errors. Placeholders (`$APPLICATION`, ...; the list is in
//! docs/api.md, "Worked examples") are replaced by ids the test reads first through the API, and
//! `bookInterviewLoop`'s `$plan` and `$option` variables by a plan and the first option
//! `schedulingOptions` finds for it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use serde_json::{Value, json};
use store::Store;

// The examples run on SQLite: what they show does not depend on the store.
use crate::common;

const ORG: &str = "ta";

struct Api {
    server: common::Server,
    _db: common::Db,
    /// (role, user, token).
    tokens: Vec<(String, String, String)>,
}

impl Api {
    fn start() -> Api {
        let db = common::sqlite_db();
        let tokens = common::generated_org(
            &db,
            ORG,
            400,
            7,
            &["admin", "recruiter", "hiring_manager", "interviewer"],
        )
        .into_iter()
        .map(|t| (t.role, t.user_id, t.token))
        .collect();
        let mut settings = server::Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            database: db.url.clone(),
            ..server::Settings::default()
        };
        settings.auth.cache_ms = 0;
        // The docs' flag examples run as this org's admin, the installation's operator org.
        settings.flags.operator_org = ORG.into();
        let server = common::Server::start(settings);
        Api {
            server,
            _db: db,
            tokens,
        }
    }

    fn user(&self, role: &str) -> &str {
        &self.tokens.iter().find(|t| t.0 == role).unwrap().1
    }

    /// The answer to `query` with `variables`, sent with `role`'s token.
    fn run(&self, role: &str, query: &str, variables: &Value) -> Value {
        let token = &self
            .tokens
            .iter()
            .find(|t| t.0 == role)
            .unwrap_or_else(|| panic!("no token for role `{role}`"))
            .2;
        let mut resp = self
            .server
            .agent
            .post(format!("{}/graphql", self.server.base))
            .header("Authorization", format!("Bearer {token}"))
            .send_json(json!({ "query": query, "variables": variables }))
            .unwrap();
        let text = resp.body_mut().read_to_string().unwrap();
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }

    /// `run` as admin, which must answer without errors.
    fn read(&self, query: &str) -> Value {
        let v = self.run("admin", query, &json!({}));
        assert!(v.get("errors").is_none(), "{query}: {v}");
        v["data"].clone()
    }
}

fn nodes(v: &Value) -> Vec<Value> {
    v["nodes"].as_array().cloned().unwrap_or_default()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// One runnable example: its role and its text.
struct Example {
    role: String,
    text: String,
    line: usize,
}

fn examples(doc: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut current: Option<(usize, Vec<&str>)> = None;
    for (n, line) in doc.lines().enumerate() {
        match &mut current {
            None if line.trim() == "```graphql" => current = Some((n + 2, Vec::new())),
            None => {}
            Some((start, body)) if line.trim() == "```" => {
                let role = body
                    .iter()
                    .find_map(|l| l.trim().strip_prefix("# runs as:"))
                    .map(|r| r.trim().to_owned());
                if let Some(role) = role {
                    out.push(Example {
                        role,
                        text: body.join("\n"),
                        line: *start,
                    });
                }
                current = None;
            }
            Some((_, body)) => body.push(line),
        }
    }
    out
}

/// For `applyInterviewLoopRepair`'s example: a loop of one session seated from a pool of two
/// or more qualified members, booked for `app` in `stage`, its interviewer declined, and the
/// first option of the repair: `{loop, who, option}`.
fn booked_and_repaired(api: &Api, app: &str, stage: &str, tomorrow: jiff::Timestamp) -> Value {
    let data = |v: Value, name: &str| -> Value {
        assert!(v.get("errors").is_none(), "{name}: {v}");
        v["data"][name].clone()
    };
    let pools = data(
        api.run(
            "admin",
            "query($a: ID!) { interviewerPools(applicationId: $a) { id members { userId status } } }",
            &json!({ "a": app }),
        ),
        "interviewerPools",
    );
    let pool = pools
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["members"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["status"] == "qualified")
                .count()
                >= 2
        })
        .expect("a pool of two or more qualified members")["id"]
        .clone();
    let plan = json!({
        "loop": { "sessions": [
            { "id": "technical", "duration_minutes": 60, "seats": [ { "pool": pool } ] }
        ] },
        "candidate": { "min_notice_minutes": 1440, "horizon_days": 10,
            "windows": [[
                tomorrow.to_string(),
                (tomorrow + jiff::SignedDuration::from_hours(24 * 10)).to_string()
            ]] }
    });
    let solution = data(
        api.run(
            "admin",
            "query($plan: JSON!, $a: ID!) { schedulingOptions(applicationId: $a, plan: $plan) }",
            &json!({ "plan": plan, "a": app }),
        ),
        "schedulingOptions",
    );
    let option = solution["options"][0].clone();
    assert!(!option.is_null(), "no option to book: {solution}");
    data(
        api.run(
            "admin",
            "mutation($plan: JSON!, $o: JSON!, $a: ID!, $st: ID!) { bookInterviewLoop(input: {applicationId: $a, stageId: $st, plan: $plan, option: $o}) { id } }",
            &json!({ "plan": plan, "o": option, "a": app, "st": stage }),
        ),
        "bookInterviewLoop",
    );
    let booked = data(
        api.run(
            "admin",
            "query($a: ID!) { interviewLoops(applicationId: $a) { id plan booked } }",
            &json!({ "a": app }),
        ),
        "interviewLoops",
    )[0]
    .clone();
    let who = booked["booked"]["sessions"][0]["seats"][0][0].clone();
    let repair = data(
        api.run(
            "admin",
            "query($a: ID!, $p: JSON!, $b: JSON!, $who: ID!) { repairInterviewLoop(applicationId: $a, plan: $p, booked: $b, declined: $who) }",
            &json!({ "a": app, "p": booked["plan"], "b": booked["booked"], "who": who }),
        ),
        "repairInterviewLoop",
    );
    let repaired = repair["solution"]["options"][0].clone();
    assert!(!repaired.is_null(), "no repair: {repair}");
    json!({ "loop": booked["id"], "who": who, "option": repaired })
}

/// Resolves the placeholders of docs/api.md for one example.
struct Ids<'a> {
    api: &'a Api,
    used: BTreeSet<String>,
    /// The second "Ada Lovelace" written to the store directly, once made.
    duplicate: Option<String>,
}

impl Ids<'_> {
    /// An active application no earlier example used, with a stage of its job it is not in.
    fn application(&mut self) -> (String, String, String) {
        let data = self.api.read(
            "{ applications(first: 200, filter: {status: active}) { nodes { id currentStage { id } job { id stages { nodes { id kind } } } } } }",
        );
        for a in nodes(&data["applications"]) {
            let app = id(&a);
            if self.used.contains(&app) {
                continue;
            }
            let current = a["currentStage"]["id"].as_str().unwrap_or_default();
            let next = nodes(&a["job"]["stages"])
                .into_iter()
                .find(|s| s["id"] != current && s["kind"] != "hired");
            if let Some(next) = next {
                self.used.insert(app.clone());
                return (app, id(&next), id(&a["job"]));
            }
        }
        panic!(
            "no unused active application with a stage to move to among {}",
            nodes(&data["applications"]).len()
        );
    }

    fn substitute(&mut self, text: &str) -> (String, Value) {
        let api = self.api;
        let mut text = text.to_owned();
        let mut variables = json!({});
        let tomorrow = jiff::Timestamp::now()
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .start_of_day()
            .unwrap()
            .timestamp()
            + jiff::SignedDuration::from_hours(24 + 10);
        let start = tomorrow.to_string();
        let end = (tomorrow + jiff::SignedDuration::from_hours(1)).to_string();
        text = text.replace("$INTERVIEWER", api.user("interviewer"));
        // Background jobs, written to the store as a producer and a worker would: a dead one
        // (its one attempt failed), and one waiting for its time.
        if text.contains("$DEAD_BACKGROUND_JOB") || text.contains("$BACKGROUND_JOB") {
            let mut store = Store::open(&api._db.url).unwrap();
            let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
            let hour = std::time::Duration::from_secs(3600);
            if text.contains("$DEAD_BACKGROUND_JOB") {
                let mut dead = store::jobs::NewJob::new(
                    ORG,
                    "example.webhook",
                    json!({"url": "https://example.com/hook"}),
                    now,
                );
                dead.max_attempts = 1;
                dead.priority = i16::MAX;
                let id = store.enqueue_job(&dead, now).unwrap().id;
                let claimed = store
                    .claim_jobs("docs", 1, now, store::jobs::later(now, hour))
                    .unwrap();
                assert_eq!(claimed[0].id, id);
                store
                    .fail_job(id, "docs", "503 Service Unavailable", Some(now), now)
                    .unwrap();
                text = text.replace("$DEAD_BACKGROUND_JOB", &id.to_string());
            }
            if text.contains("$BACKGROUND_JOB") {
                let waiting = store::jobs::NewJob::new(
                    ORG,
                    "example.email",
                    json!({"template": "reminder"}),
                    store::jobs::later(now, hour),
                );
                let id = store.enqueue_job(&waiting, now).unwrap().id;
                text = text.replace("$BACKGROUND_JOB", &id.to_string());
            }
        }
        if text.contains("$APPLICATION") || text.contains("$NEXT_STAGE") {
            let (app, next, job) = self.application();
            text = text
                .replace("$APPLICATION", &app)
                .replace("$NEXT_STAGE", &next);
            let _ = job;
            if text.contains("$loop") {
                variables = booked_and_repaired(api, &app, &next, tomorrow);
            }
            if text.contains("$plan") {
                let plan = json!({
                    "loop": { "sessions": [
                        { "id": "technical", "duration_minutes": 60,
                          "seats": [ { "person": api.user("interviewer") } ] }
                    ] },
                    // The candidate's availability: any time over the horizon (without
                    // windows, their working hours, which may miss the interviewer's).
                    "candidate": { "min_notice_minutes": 1440, "horizon_days": 10,
                        "windows": [[
                            tomorrow.to_string(),
                            (tomorrow + jiff::SignedDuration::from_hours(24 * 10)).to_string()
                        ]] }
                });
                let v = api.run(
                    "admin",
                    "query($plan: JSON!, $app: ID!) { schedulingOptions(applicationId: $app, plan: $plan) }",
                    &json!({ "plan": plan, "app": app }),
                );
                let option = v["data"]["schedulingOptions"]["options"][0].clone();
                assert!(!option.is_null(), "no option to book: {v}");
                variables = json!({ "plan": plan, "option": option });
            }
        }
        if text.contains("$JOB") || text.contains("$CANDIDATE") {
            let data = api.read(
                "{ jobs(first: 50, filter: {status: open}) { nodes { id } } candidates(first: 200) { nodes { id applications { nodes { job { id } } } } } }",
            );
            let job = nodes(&data["jobs"]).first().map(id).expect("an open job");
            let candidate = nodes(&data["candidates"])
                .into_iter()
                .find(|c| {
                    !self.used.contains(&id(c))
                        && !nodes(&c["applications"])
                            .iter()
                            .any(|a| a["job"]["id"] == job.as_str())
                })
                .map(|c| id(&c))
                .expect("a candidate who did not apply to the job");
            self.used.insert(candidate.clone());
            text = text.replace("$JOB", &job).replace("$CANDIDATE", &candidate);
        }
        if text.contains("$DUPLICATE") || text.contains("$KEEP") {
            // A duplicate of the first example's Ada Lovelace, as an import or another channel
            // would write it (the API refuses it to whoever may see the first): the same email
            // in other letters' case.
            let duplicate = match &self.duplicate {
                Some(d) => d.clone(),
                None => {
                    let mut store = Store::open(&api._db.url).unwrap();
                    let made = store
                        .create_candidate(
                            ORG,
                            store::NewCandidate {
                                id: None,
                                name: "Ada Lovelace".into(),
                                email: Some("ADA@example.com".into()),
                                phone: Some("+44 20 7946 0000".into()),
                                location: None,
                                timezone: None,
                                tags: vec!["conference".into()],
                                custom_fields: serde_json::Map::new(),
                                demographics: None,
                                at: domain::Instant::from_timestamp(jiff::Timestamp::now()),
                            },
                        )
                        .unwrap();
                    self.duplicate = Some(made.id.to_string());
                    made.id.to_string()
                }
            };
            let data = api.read(
                "{ candidates(first: 10, where: \"email = \\\"ada@example.com\\\"\") { nodes { id } } }",
            );
            let keep = nodes(&data["candidates"])
                .iter()
                .map(id)
                .find(|c| *c != duplicate)
                .expect("the first example's Ada Lovelace");
            text = text
                .replace("$DUPLICATE", &duplicate)
                .replace("$KEEP", &keep);
        }
        if text.contains("$CUSTOM_FIELD") {
            // The field the `createCustomField` example defined, as its event names it.
            let data = api
                .read("{ events(first: 500, type: \"custom_field.created\") { nodes { data } } }");
            let field = nodes(&data["events"])
                .iter()
                .find(|e| e["data"]["key"] == "notice_period")
                .and_then(|e| e["data"]["custom_field_id"].as_str())
                .expect("the field the `createCustomField` example defined")
                .to_owned();
            text = text.replace("$CUSTOM_FIELD", &field);
        }
        if text.contains("$DEPARTMENT") {
            let data = api.read("{ departments(first: 1) { nodes { id } } }");
            text = text.replace("$DEPARTMENT", &id(&nodes(&data["departments"])[0]));
        }
        if text.contains("$SCHEDULED_INTERVIEW") {
            let data = api
                .read("{ interviews(first: 200, filter: {status: scheduled}) { nodes { id } } }");
            let interview = nodes(&data["interviews"])
                .into_iter()
                .map(|i| id(&i))
                .find(|i| !self.used.contains(i))
                .expect("a scheduled interview");
            self.used.insert(interview.clone());
            text = text.replace("$SCHEDULED_INTERVIEW", &interview);
        }
        if text.contains("$STARTED_INTERVIEW") {
            // An interview that took place in the last hour (recorded as completed: a
            // scheduled one lies ahead), with the interviewer on it.
            let (app, next, _) = self.application();
            let now = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap();
            let v = api.run(
                "admin",
                "mutation($app: ID!, $stage: ID!, $s: DateTime!, $e: DateTime!, $u: ID!) { scheduleInterview(input: {applicationId: $app, stageId: $stage, title: \"Started\", startsAt: $s, endsAt: $e, interviewParticipants: [{userId: $u, role: interviewer}], status: completed}) { id } }",
                &json!({
                    "app": app, "stage": next, "u": api.user("interviewer"),
                    "s": (now - jiff::SignedDuration::from_hours(1)).to_string(),
                    "e": now.to_string(),
                }),
            );
            let interview = v["data"]["scheduleInterview"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{v}"))
                .to_owned();
            text = text.replace("$STARTED_INTERVIEW", &interview);
        }
        if text.contains("$FEEDBACK") {
            let v = api.run(
                "interviewer",
                &format!(
                    "{{ feedback(first: 50, filter: {{authorId: \"{}\"}}) {{ nodes {{ id interview {{ status }} }} }} }}",
                    api.user("interviewer")
                ),
                &json!({}),
            );
            let fb = nodes(&v["data"]["feedback"])
                .into_iter()
                .find(|f| f["interview"]["status"] != "cancelled")
                .map(|f| id(&f))
                .unwrap_or_else(|| panic!("no feedback of the interviewer: {v}"));
            text = text.replace("$FEEDBACK", &fb);
        }
        if text.contains("$DRAFT_OFFER") {
            let data = api.read("{ offers(first: 1, filter: {status: draft}) { nodes { id } } }");
            let offer = nodes(&data["offers"])
                .first()
                .map(id)
                .expect("a draft offer (made by the `createOffer` example)");
            text = text.replace("$DRAFT_OFFER", &offer);
        }
        if text.contains("$NEW_STAGE") {
            let data = api.read(
                "{ stages(first: 1, where: \"name in (\\\"Reference check\\\", \\\"References\\\")\") { nodes { id } } }",
            );
            let stage = nodes(&data["stages"])
                .first()
                .map(id)
                .expect("the stage the `addStage` example added");
            text = text.replace("$NEW_STAGE", &stage);
        }
        if text.contains("$RULE") {
            let data = api.read("{ automationRules { id } }");
            let rule = data["automationRules"][0]["id"]
                .as_str()
                .expect("the rule the `saveAutomationRule` example saved")
                .to_owned();
            text = text.replace("$RULE", &rule);
        }
        // Last: `$START` is a prefix of `$STARTED_INTERVIEW`.
        text = text.replace("$START", &start).replace("$END", &end);
        (text, variables)
    }
}

#[test]
fn every_runnable_example_of_the_api_docs_runs() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api.md"),
    )
    .unwrap();
    let examples = examples(&doc);
    let api = Api::start();
    let mut ids = Ids {
        api: &api,
        used: BTreeSet::new(),
        duplicate: None,
    };
    // Every mutation of the schema has a runnable example.
    let mutations = api.read("{ __type(name: \"Mutation\") { fields { name } } }");
    for m in mutations["__type"]["fields"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        assert!(
            examples
                .iter()
                .any(|e| e.text.contains(&format!("{name}("))),
            "docs/api.md has no runnable example of `{name}`"
        );
    }
    for e in &examples {
        let (text, variables) = ids.substitute(&e.text);
        assert!(
            !text.contains("$APPLICATION") && !text.contains("$STAGE"),
            "docs/api.md:{}: a placeholder is left: {text}",
            e.line
        );
        let v = api.run(&e.role, &text, &variables);
        assert!(
            v.get("errors").is_none() && v.get("data").is_some_and(|d| !d.is_null()),
            "docs/api.md:{} as {}:\n{text}\nanswered {v}",
            e.line,
            e.role
        );
    }
}

/// Inputs take the names reads use; the old names stay as aliases, one of the two at a time,
/// and errors name the new spelling.
#[test]
fn inputs_take_the_read_names_and_the_old_ones_as_aliases() {
    let api = Api::start();
    let mut ids = Ids {
        api: &api,
        used: BTreeSet::new(),
        duplicate: None,
    };
    let schedule = |ids: &mut Ids<'_>, seats: &str| {
        let (text, _) = ids.substitute(&format!(
            "mutation {{ scheduleInterview(input: {{applicationId: \"$APPLICATION\", stageId: \"$NEXT_STAGE\", title: \"x\", startsAt: \"$START\", endsAt: \"$END\", {seats}}}) {{ id interviewParticipants {{ nodes {{ role user {{ id }} }} }} }} }}"
        ));
        api.run("admin", &text, &json!({}))
    };
    let me = api.user("interviewer");
    let seat = format!("[{{userId: \"{me}\", role: interviewer}}]");
    // Each with its own interviewer: nobody sits two interviews at once.
    for (name, who) in [
        ("interviewParticipants", me),
        ("interviewers", api.user("hiring_manager")),
    ] {
        let v = schedule(
            &mut ids,
            &format!("{name}: [{{userId: \"{who}\", role: interviewer}}]"),
        );
        assert_eq!(
            v["data"]["scheduleInterview"]["interviewParticipants"]["nodes"][0]["user"]["id"], who,
            "{name}: {v}"
        );
    }
    let v = schedule(
        &mut ids,
        &format!("interviewParticipants: {seat}, interviewers: {seat}"),
    );
    assert_eq!(v["errors"][0]["extensions"]["field"], "interviewers", "{v}");
    let v = schedule(&mut ids, "interviewParticipants: []");
    assert_eq!(
        v["errors"][0]["extensions"]["field"], "interviewParticipants",
        "{v}"
    );
    // `creditedToId`, as `Application.creditedTo` reads it, and its alias.
    for name in ["creditedToId", "creditedToUserId"] {
        let (text, _) = ids.substitute(&format!(
            "mutation {{ applyToJob(input: {{candidateId: \"$CANDIDATE\", jobId: \"$JOB\", {name}: \"{me}\"}}) {{ creditedTo {{ id }} }} }}"
        ));
        let v = api.run("admin", &text, &json!({}));
        assert_eq!(
            v["data"]["applyToJob"]["creditedTo"]["id"], me,
            "{name}: {v}"
        );
    }
    let (text, _) = ids.substitute(
        "mutation { applyToJob(input: {candidateId: \"$CANDIDATE\", jobId: \"$JOB\", creditedToId: \"nobody_1\"}) { id } }",
    );
    let v = api.run("admin", &text, &json!({}));
    assert_eq!(v["errors"][0]["extensions"]["field"], "creditedToId", "{v}");
}

/// `interviewerPools` shows the org's pools, as the store holds them, to whoever may schedule
/// the application, and to no one else.
#[test]
fn interviewer_pools_are_read_for_whoever_may_schedule() {
    let api = Api::start();
    let mut ids = Ids {
        api: &api,
        used: BTreeSet::new(),
        duplicate: None,
    };
    let (app, _, _) = ids.application();
    let query = format!(
        "{{ interviewerPools(applicationId: \"{app}\") {{ id name requiredShadows members {{ userId status shadowsCompleted }} }} }}"
    );
    let v = api.run("admin", &query, &json!({}));
    let pools = v["data"]["interviewerPools"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"));
    let mut store = Store::open(&api._db.url).unwrap();
    let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
    let held = store.calendars(ORG, &app, now, now).unwrap().pools;
    assert!(!held.is_empty(), "the generated org has pools");
    assert_eq!(pools.len(), held.len(), "{v}");
    for (got, want) in pools.iter().zip(&held) {
        assert_eq!(got["id"], want.id.as_str());
        assert_eq!(got["name"], want.name.as_str());
        assert_eq!(got["requiredShadows"], want.required_shadows);
        let members = got["members"].as_array().unwrap();
        assert_eq!(members.len(), want.members.len());
        for (m, w) in members.iter().zip(&want.members) {
            assert_eq!(m["userId"], w.user_id.as_str());
            assert_eq!(m["status"], w.status.as_str());
            assert_eq!(m["shadowsCompleted"], w.shadows_completed);
        }
    }
    // An interviewer may not schedule the application: no pools, an error instead.
    let v = api.run("interviewer", &query, &json!({}));
    assert!(v["errors"][0]["extensions"]["code"].is_string(), "{v}");
    assert!(v["data"].is_null(), "{v}");
}
