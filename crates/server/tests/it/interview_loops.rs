//! Issue 21's scheduling leftovers through the API, on a generated org (and a second one), on
//! SQLite and (with `HIREPLANE_TEST_POSTGRES`) PostgreSQL:
//! - `interviewerBusyTime`: a recruiter who schedules an application sees an interviewer's
//!   interviews as opaque intervals (no title, merged where they touch), their own interviews
//!   with titles; another org's user ids, another org's caller and an interviewer get
//!   NOT_FOUND; the bounds (14 days, 20 people, forward from the clock) are refused naming
//!   the argument.
//! - `interviewLoops` and `applyInterviewLoopRepair`: a booked loop is kept by the store; after
//!   a decline the API's repair is applied in one transaction (the changed sessions cancelled
//!   and booked again, the rest kept); an option that still seats the decliner is refused and
//!   changes nothing; a booking that fails inside the transaction leaves the cancelled
//!   interviews scheduled and writes no event.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use store::Store;

use crate::common;
use common::Db;

const ORG: &str = "acme";
const OTHER: &str = "zeta";

fn now() -> domain::Instant {
    domain::Instant::from_timestamp(jiff::Timestamp::now())
}

struct Api {
    /// First, so that it stops before the database goes.
    server: common::Server,
    _db: Db,
    store: Store,
    admin: String,
    recruiter: String,
    recruiter_id: String,
    interviewer: String,
    other_admin: String,
    /// An active application of a job the recruiter is on the team of, and a stage of it.
    application: String,
    stage: String,
}

impl Api {
    fn post(&self, token: &str, query: &str, variables: Value) -> Value {
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

    fn data(&self, token: &str, query: &str, variables: Value) -> Value {
        let v = self.post(token, query, variables);
        assert!(v.get("errors").is_none(), "{query}: {v}");
        v["data"].clone()
    }
}

fn code(v: &Value) -> String {
    v["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn field(v: &Value) -> String {
    v["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn start(db: Db) -> Api {
    let mut store = Store::open(&db.url).unwrap();
    for (org, n, seed) in [(ORG, 300, 7), (OTHER, 60, 8)] {
        let dir = tempfile::tempdir().unwrap();
        synth::generate(
            &synth::Config {
                org_id: org.into(),
                applications: n,
                seed,
            },
            dir.path(),
        )
        .unwrap();
        store
            .import(dir.path(), store::ImportOptions::default(), &mut |_| {})
            .unwrap();
    }
    let services = app::Services::new();
    let users = store.active_users(ORG).unwrap();
    let token = |store: &mut Store, org: &str, user: &str| {
        services
            .create_token(store, org, user, "test", None, now())
            .unwrap()
            .token
    };
    let admin_id = users.iter().find(|u| u.role == "admin").unwrap().id.clone();
    let interviewer_id = users
        .iter()
        .find(|u| u.role == "interviewer")
        .unwrap()
        .id
        .clone();
    let admin = token(&mut store, ORG, &admin_id);
    let interviewer = token(&mut store, ORG, &interviewer_id);
    let other_admin_id = store
        .active_users(OTHER)
        .unwrap()
        .into_iter()
        .find(|u| u.role == "admin")
        .unwrap()
        .id;
    let other_admin = token(&mut store, OTHER, &other_admin_id);
    let mut settings = server::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: db.url.clone(),
        ..server::Settings::default()
    };
    settings.auth.cache_ms = 0;
    settings.pool.size = 4;
    let server = common::Server::start(settings);
    let mut api = Api {
        server,
        _db: db,
        store,
        admin,
        recruiter: String::new(),
        recruiter_id: String::new(),
        interviewer,
        other_admin,
        application: String::new(),
        stage: String::new(),
    };
    // An active application whose job has a recruiter on its team and an interview stage.
    let d = api.data(
        &api.admin,
        "{ applications(first: 100, filter: {status: active}) { nodes { id job { id stages { nodes { id kind } } } } } }",
        json!({}),
    );
    for a in d["applications"]["nodes"].as_array().unwrap() {
        let job = api
            .store
            .job(ORG, a["job"]["id"].as_str().unwrap())
            .unwrap()
            .unwrap();
        let recruiter = job
            .hiring_team
            .iter()
            .find(|m| m.role.as_str() == "recruiter")
            .map(|m| m.user_id.to_string());
        let stage = a["job"]["stages"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == "onsite" || s["kind"] == "interview")
            .map(|s| s["id"].as_str().unwrap().to_owned());
        if let (Some(recruiter), Some(stage)) = (recruiter, stage)
            && users.iter().any(|u| u.id == recruiter)
        {
            api.recruiter = token(&mut api.store, ORG, &recruiter);
            api.recruiter_id = recruiter;
            api.application = a["id"].as_str().unwrap().to_owned();
            api.stage = stage;
            break;
        }
    }
    assert!(!api.application.is_empty(), "no application to schedule");
    api
}

/// Midnight UTC `d` days from today.
fn day(d: i64) -> jiff::Timestamp {
    jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .start_of_day()
        .unwrap()
        .timestamp()
        + jiff::SignedDuration::from_hours(24 * d)
}

fn hours(t: jiff::Timestamp, h: i64) -> jiff::Timestamp {
    t + jiff::SignedDuration::from_mins(h * 60)
}

const BUSY: &str = "query($a: ID!, $u: [ID!]!, $f: DateTime!, $t: DateTime!) { interviewerBusyTime(applicationId: $a, userIds: $u, from: $f, to: $t) { userId busy { start end title } } }";

fn busy_time_is_opaque_bounded_and_scoped(db: Db) {
    let mut api = start(db);
    let interviewer = api
        .store
        .active_users(ORG)
        .unwrap()
        .into_iter()
        .find(|u| u.role == "interviewer" && u.id != api.recruiter_id)
        .unwrap()
        .id;
    let outsider = api
        .store
        .active_users(OTHER)
        .unwrap()
        .into_iter()
        .next()
        .unwrap()
        .id;
    let api = api;
    // Another active application (its candidate), for interviews that are not this loop's.
    let d = api.data(
        &api.admin,
        "{ applications(first: 50, filter: {status: active}) { nodes { id job { stages { nodes { id kind } } } } } }",
        json!({}),
    );
    let other_app = d["applications"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] != api.application.as_str())
        .unwrap()
        .clone();
    let other_stage = other_app["job"]["stages"]["nodes"][0]["id"].clone();
    let schedule = |title: &str, s: jiff::Timestamp, e: jiff::Timestamp, who: &[&str]| {
        let people: Vec<Value> = who
            .iter()
            .map(|u| json!({"userId": u, "role": "interviewer"}))
            .collect();
        api.data(
            &api.admin,
            "mutation($app: ID!, $st: ID!, $t: String!, $s: DateTime!, $e: DateTime!, $p: [InterviewerInput!]!) { scheduleInterview(input: {applicationId: $app, stageId: $st, title: $t, startsAt: $s, endsAt: $e, interviewParticipants: $p}) { id } }",
            json!({"app": other_app["id"], "st": other_stage, "t": title, "s": s.to_string(), "e": e.to_string(), "p": people}),
        );
    };
    // Two touching interviews of the interviewer, one of the recruiter's own, eight days out.
    let d8 = day(8);
    schedule(
        "Secret panel one",
        hours(d8, 10),
        hours(d8, 11),
        &[&interviewer],
    );
    schedule(
        "Secret panel two",
        hours(d8, 11),
        hours(d8, 12),
        &[&interviewer],
    );
    schedule(
        "My own debrief",
        hours(d8, 14),
        hours(d8, 15),
        &[&api.recruiter_id],
    );
    let (from, to) = (day(7), day(14));
    let ask = |token: &str, app: &str, users: Value, f: jiff::Timestamp, t: jiff::Timestamp| {
        api.post(
            token,
            BUSY,
            json!({"a": app, "u": users, "f": f.to_string(), "t": t.to_string()}),
        )
    };
    let v = ask(
        &api.recruiter,
        &api.application,
        json!([interviewer, api.recruiter_id]),
        from,
        to,
    );
    assert!(v.get("errors").is_none(), "{v}");
    let people = v["data"]["interviewerBusyTime"].as_array().unwrap();
    assert_eq!(people.len(), 2, "{v}");
    assert_eq!(people[0]["userId"], interviewer.as_str());
    // The interviewer's two interviews: one opaque interval, merged, no title anywhere.
    let theirs = people[0]["busy"].as_array().unwrap();
    let block = theirs
        .iter()
        .find(|b| b["start"] == hours(d8, 10).to_string())
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(block["end"], hours(d8, 12).to_string(), "{v}");
    assert!(theirs.iter().all(|b| b["title"].is_null()), "{v}");
    assert!(!v.to_string().contains("Secret panel"), "{v}");
    // The recruiter's own interview keeps its title.
    let mine = people[1]["busy"].as_array().unwrap();
    assert!(
        mine.iter()
            .any(|b| b["title"] == "My own debrief" && b["start"] == hours(d8, 14).to_string()),
        "{v}"
    );
    // Clipped to the window.
    let v = ask(
        &api.recruiter,
        &api.application,
        json!([interviewer]),
        hours(d8, 10) + jiff::SignedDuration::from_mins(30),
        hours(d8, 20),
    );
    let first = &v["data"]["interviewerBusyTime"][0]["busy"][0];
    assert_eq!(
        first["start"],
        (hours(d8, 10) + jiff::SignedDuration::from_mins(30)).to_string(),
        "{v}"
    );
    // Another org's user: NOT_FOUND naming `userIds`, and nothing of theirs.
    let v = ask(
        &api.recruiter,
        &api.application,
        json!([interviewer, outsider]),
        from,
        to,
    );
    assert_eq!(code(&v), "NOT_FOUND", "{v}");
    assert_eq!(field(&v), "userIds", "{v}");
    assert!(v["data"].is_null() || v["data"]["interviewerBusyTime"].is_null());
    // Another org's caller: the application is not there for them. An interviewer may not
    // schedule it (NOT_FOUND, or FORBIDDEN when they interview on it and so see it).
    let v = ask(
        &api.other_admin,
        &api.application,
        json!([interviewer]),
        from,
        to,
    );
    assert_eq!(code(&v), "NOT_FOUND", "{v}");
    let v = ask(
        &api.interviewer,
        &api.application,
        json!([interviewer]),
        from,
        to,
    );
    assert!(
        matches!(code(&v).as_str(), "NOT_FOUND" | "FORBIDDEN"),
        "{v}"
    );
    assert!(!v.to_string().contains("Secret"), "{v}");
    // Bounds, each naming its argument.
    let many: Vec<String> = (0..21).map(|_| interviewer.clone()).collect();
    for (users, f, t, arg) in [
        (json!([interviewer]), day(1), day(16), "to"),
        (json!([interviewer]), day(3), day(2), "to"),
        (json!([interviewer]), day(-2), day(1), "from"),
        (json!(many), day(1), day(2), "userIds"),
        (json!([]), day(1), day(2), "userIds"),
    ] {
        let v = ask(&api.recruiter, &api.application, users, f, t);
        assert_eq!(code(&v), "BAD_USER_INPUT", "{arg}: {v}");
        assert_eq!(field(&v), arg, "{v}");
    }
}

on_both!(busy_time_is_opaque_bounded_and_scoped);

const LOOPS: &str = "query($a: ID!) { interviewLoops(applicationId: $a) { id stageId plan booked interviewIds bookedAt } }";
const APPLY: &str = "mutation($i: ApplyInterviewLoopRepairInput!) { applyInterviewLoopRepair(input: $i) { loopId cancelledInterviewIds bookedInterviewIds interviewIds } }";

fn statuses(api: &Api, ids: &[Value]) -> Vec<String> {
    ids.iter()
        .map(|id| {
            let d = api.data(
                &api.admin,
                "query($id: ID!) { interview(id: $id) { status } }",
                json!({"id": id}),
            );
            d["interview"]["status"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn event_count(api: &Api) -> usize {
    let d = api.data(
        &api.admin,
        "{ events(first: 500) { edges { cursor } } }",
        json!({}),
    );
    d["events"]["edges"].as_array().unwrap().len()
}

fn a_declined_loop_is_repaired_in_one_transaction(db: Db) {
    let mut api = start(db);
    let mut plan: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../cli/tests/data/acme-plan.json"),
        )
        .unwrap(),
    )
    .unwrap();
    plan.as_object_mut().unwrap().remove("now");
    plan["candidate"]["windows"] = json!([[day(2).to_string(), day(10).to_string()]]);
    plan["candidate"]["horizon_days"] = json!(12);
    let app = api.application.clone();
    let d = api.data(
        &api.recruiter,
        "query($plan: JSON!, $a: ID!) { schedulingOptions(applicationId: $a, plan: $plan) }",
        json!({"plan": plan, "a": app}),
    );
    let best = d["schedulingOptions"]["options"][0].clone();
    assert!(!best.is_null(), "{d}");
    let booked = api.data(
        &api.recruiter,
        "mutation($plan: JSON!, $o: JSON!, $st: ID!, $a: ID!) { bookInterviewLoop(input: {applicationId: $a, stageId: $st, plan: $plan, option: $o}) { id } }",
        json!({"plan": plan, "o": best, "st": api.stage, "a": app}),
    );
    let booked_ids: Vec<Value> = booked["bookInterviewLoop"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    // The store keeps the loop: its plan (without `now`), the option and its interviews.
    let loops = api.data(&api.recruiter, LOOPS, json!({"a": app}))["interviewLoops"].clone();
    assert_eq!(loops.as_array().unwrap().len(), 1, "{loops}");
    let stored = &loops[0];
    assert_eq!(stored["booked"], best);
    assert_eq!(stored["plan"], plan);
    assert_eq!(stored["stageId"], api.stage.as_str());
    assert_eq!(stored["interviewIds"], json!(booked_ids));
    let loop_id = stored["id"].as_str().unwrap().to_owned();
    // Not for another org, nor for an interviewer.
    let v = api.post(&api.other_admin, LOOPS, json!({"a": app}));
    assert_eq!(code(&v), "NOT_FOUND", "{v}");
    let v = api.post(&api.interviewer, LOOPS, json!({"a": app}));
    assert!(
        matches!(code(&v).as_str(), "NOT_FOUND" | "FORBIDDEN"),
        "{v}"
    );
    // The first seat of the first session declines; the API proposes a repair.
    let decliner = best["sessions"][0]["seats"][0][0]
        .as_str()
        .unwrap()
        .to_owned();
    let r = api.data(
        &api.recruiter,
        "query($p: JSON!, $b: JSON!, $a: ID!, $who: ID!) { repairInterviewLoop(applicationId: $a, plan: $p, booked: $b, declined: $who) }",
        json!({"p": stored["plan"], "b": stored["booked"], "a": app, "who": decliner}),
    )["repairInterviewLoop"]
        .clone();
    assert!(
        matches!(
            r["step"].as_str(),
            Some("swap_seat" | "move_session" | "replan")
        ),
        "{r}"
    );
    let repaired = r["solution"]["options"][0].clone();
    assert!(!repaired.is_null(), "{r}");
    assert!(!repaired.to_string().contains(&format!("\"{decliner}\"")));
    let input = |option: &Value, loop_id: &str| json!({"i": {"applicationId": app, "loopId": loop_id, "declined": decliner, "option": option}});
    let events_before = event_count(&api);
    // An option that still seats the decliner (the loop as booked) is refused; nothing changes.
    let v = api.post(&api.recruiter, APPLY, input(&best, &loop_id));
    assert_eq!(code(&v), "BAD_USER_INPUT", "{v}");
    assert_eq!(field(&v), "option", "{v}");
    // Not the interviewer's to apply.
    let v = api.post(&api.interviewer, APPLY, input(&repaired, &loop_id));
    assert!(
        matches!(code(&v).as_str(), "NOT_FOUND" | "FORBIDDEN"),
        "{v}"
    );
    // A booking that fails inside the transaction: the candidate is already (in the store,
    // outside any calendar the check reads) in an interview when the first changed session
    // would start, so booking it is refused after its old interview was cancelled.
    let changed = repaired["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .zip(best["sessions"].as_array().unwrap())
        .position(|(a, b)| a != b)
        .unwrap();
    let s = &repaired["sessions"][changed];
    let admin_id = api
        .store
        .active_users(ORG)
        .unwrap()
        .into_iter()
        .find(|u| u.role == "admin")
        .unwrap()
        .id;
    let blocker = api
        .store
        .create_interview(
            ORG,
            store::NewInterview {
                id: None,
                application_id: domain::Id::parse(app.clone()).unwrap(),
                stage_id: domain::Id::parse(api.stage.clone()).unwrap(),
                title: "Blocker".to_owned(),
                starts_at: domain::Instant::parse(s["start"].as_str().unwrap()).unwrap(),
                ends_at: domain::Instant::parse(s["end"].as_str().unwrap()).unwrap(),
                status: domain::enums::InterviewStatus::Scheduled,
                interviewers: vec![domain::entity::InterviewParticipant {
                    user_id: domain::Id::parse(admin_id).unwrap(),
                    role: domain::enums::InterviewerRole::Interviewer,
                }],
                booked_at: None,
            },
        )
        .unwrap();
    let events_with_blocker = event_count(&api);
    let v = api.post(&api.recruiter, APPLY, input(&repaired, &loop_id));
    assert_eq!(code(&v), "CONFLICT", "{v}");
    assert!(
        statuses(&api, &booked_ids).iter().all(|s| s == "scheduled"),
        "a failed repair cancelled an interview"
    );
    assert_eq!(
        event_count(&api),
        events_with_blocker,
        "a failed repair wrote events"
    );
    let loops = api.data(&api.recruiter, LOOPS, json!({"a": app}))["interviewLoops"].clone();
    assert_eq!(loops[0]["id"], loop_id.as_str(), "{loops}");
    // Without the blocker, it applies: the changed sessions cancelled and booked again.
    api.data(
        &api.admin,
        "mutation($iv: ID!) { cancelInterview(input: {interviewId: $iv}) { id } }",
        json!({"iv": blocker.id.to_string()}),
    );
    assert!(events_before < event_count(&api));
    let before_apply = event_count(&api);
    let done =
        api.data(&api.recruiter, APPLY, input(&repaired, &loop_id))["applyInterviewLoopRepair"]
            .clone();
    let cancelled = done["cancelledInterviewIds"].as_array().unwrap().clone();
    let fresh = done["bookedInterviewIds"].as_array().unwrap().clone();
    assert!(
        !cancelled.is_empty() && cancelled.len() == fresh.len(),
        "{done}"
    );
    for (i, (new, old)) in repaired["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .zip(best["sessions"].as_array().unwrap())
        .enumerate()
    {
        let id = &done["interviewIds"][i];
        if new == old {
            assert_eq!(
                id, &booked_ids[i],
                "an unchanged session kept its interview"
            );
        } else {
            assert!(cancelled.contains(&booked_ids[i]), "{done}");
            assert!(fresh.contains(id), "{done}");
            let d = api.data(
                &api.admin,
                "query($id: ID!) { interview(id: $id) { status startsAt interviewParticipants(first: 10) { nodes { user { id } } } } }",
                json!({"id": id}),
            );
            assert_eq!(d["interview"]["status"], "scheduled");
            assert_eq!(d["interview"]["startsAt"], new["start"]);
            assert!(!d.to_string().contains(&format!("\"{decliner}\"")), "{d}");
        }
    }
    assert!(statuses(&api, &cancelled).iter().all(|s| s == "cancelled"));
    // Its events: a cancellation and a booking per changed session, then the loop.
    let d = api.data(
        &api.admin,
        "{ events(first: 500) { edges { node { type data } } } }",
        json!({}),
    );
    let types: Vec<String> = d["events"]["edges"].as_array().unwrap()[before_apply..]
        .iter()
        .map(|e| e["node"]["type"].as_str().unwrap().to_owned())
        .collect();
    let mut expected = vec!["hireplane.interview.cancelled.v1".to_owned(); cancelled.len()];
    expected.extend(vec![
        "hireplane.interview.scheduled.v1".to_owned();
        fresh.len()
    ]);
    expected.push("hireplane.interview_loop.booked.v1".to_owned());
    assert_eq!(types, expected);
    // The repaired loop replaces the old one, which cannot be repaired twice.
    let loops = api.data(&api.recruiter, LOOPS, json!({"a": app}))["interviewLoops"].clone();
    assert_eq!(loops.as_array().unwrap().len(), 1, "{loops}");
    assert_eq!(loops[0]["id"], done["loopId"]);
    assert_eq!(loops[0]["booked"], repaired);
    assert_eq!(loops[0]["interviewIds"], done["interviewIds"]);
    let v = api.post(&api.recruiter, APPLY, input(&repaired, &loop_id));
    assert_eq!(code(&v), "NOT_FOUND", "{v}");
    assert_eq!(field(&v), "loopId", "{v}");
    // Then the candidate can no longer make the first days: their new windows are in the plan
    // given with the repair, which the repaired loop keeps.
    let current = loops[0].clone();
    let first: jiff::Timestamp = current["booked"]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["start"]
                .as_str()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .unwrap()
        })
        .min()
        .unwrap();
    let mut later = current["plan"].clone();
    let from = first
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .start_of_day()
        .unwrap()
        .timestamp()
        + jiff::SignedDuration::from_hours(24);
    later["candidate"]["windows"] = json!([[from.to_string(), day(11).to_string()]]);
    let r = api.data(
        &api.recruiter,
        "query($p: JSON!, $b: JSON!, $a: ID!) { repairInterviewLoop(applicationId: $a, plan: $p, booked: $b, candidateUnavailable: true) }",
        json!({"p": later, "b": current["booked"], "a": app}),
    )["repairInterviewLoop"]
        .clone();
    let moved = r["solution"]["options"][0].clone();
    assert!(!moved.is_null(), "{r}");
    // Applied with the candidate's new plan (the loop's own has their old windows).
    let done = api.data(
        &api.recruiter,
        APPLY,
        json!({"i": {"applicationId": app, "loopId": current["id"], "candidateUnavailable": true, "plan": later, "option": moved}}),
    )["applyInterviewLoopRepair"]
        .clone();
    assert!(
        !done["cancelledInterviewIds"].as_array().unwrap().is_empty(),
        "{done}"
    );
    let loops = api.data(&api.recruiter, LOOPS, json!({"a": app}))["interviewLoops"].clone();
    assert_eq!(loops[0]["id"], done["loopId"]);
    assert_eq!(loops[0]["plan"], later);
    for s in loops[0]["booked"]["sessions"].as_array().unwrap() {
        assert!(
            s["start"].as_str().unwrap() >= from.to_string().as_str(),
            "{loops}"
        );
    }
}

on_both!(a_declined_loop_is_repaired_in_one_transaction);
