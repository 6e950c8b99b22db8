//! Reads answered by a direct plan (`server::graphql::direct`) are byte for byte what
//! async-graphql answers to the same caller: for every role, documents using every part the
//! plans write (aliases, `__typename`, edges and cursors, page info, totals, enums, dates,
//! masked fields, hidden relations, custom fields, two roots, variables and literals), the
//! answer through async-graphql (a text seen for the first time) and the direct one (the same
//! document after an admin's requests made its plan) are compared; the plan is made by one
//! user and used by others, also of another org, who must each get their own rows. What a plan
//! cannot answer (an unknown operation name, a bad cursor, a variable of the wrong type) is
//! answered by async-graphql, with its errors. On SQLite and, with `HIREPLANE_TEST_POSTGRES`,
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};

use crate::common;
use common::Db;

/// The page of bench/api.sh, and documents that use every part a plan writes.
const DOCS: &[(&str, &str)] = &[
    (
        "query Page($after: String) { applications(first: 50, after: $after, orderBy: {field: ID}) { pageInfo { hasNextPage endCursor } nodes { id status appliedAt candidate { id name } job { id title } currentStage { id name kind } } } }",
        r#"{"after": null}"#,
    ),
    (
        "query Everything($n: Int, $w: String) { a: applications(first: $n, where: $w, orderBy: {field: APPLIED_AT, direction: DESC}) { __typename total: totalCount pageInfo { __typename hasNextPage hasPreviousPage endCursor } edges { __typename cursor node { __typename id } } nodes { __typename id status appliedAt hiredAt archivedAt archiveReason timeToHire screening: custom(key: \"screening_rating\") skills: custom(key: \"assessed_skills\") candidate { __typename id name email phone location timezone createdAt languages: custom(key: \"languages\") } job { id title confidential headcount employmentType status department { id name } } currentStage { id name kind } currentOffer { id version current status startDate salary salaryCurrency salaryPeriod bonus equity } source { id name } creditedTo { id name } } } }",
        r#"{"n": 40, "w": "status = \"archived\" or status = \"hired\""}"#,
    ),
    (
        "{ candidates(first: 7, orderBy: {field: NAME}) { nodes { id name email phone custom(key: \"linkedin_url\") } } offers(first: 20, filter: {status: accepted}) { totalCount nodes { id salary bonus salaryPeriod application { id candidate { name email } job { title } } } } }",
        "{}",
    ),
];

/// The header of an answer a direct plan wrote.
const DIRECT: &str = "x-hireplane-answered-by";

struct Answer {
    body: String,
    direct: bool,
}

fn post(server: &common::Server, token: &str, body: &Value) -> Answer {
    let mut resp = server
        .agent
        .post(format!("{}/graphql", server.base))
        .header("Authorization", format!("Bearer {token}"))
        .send_json(body)
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let direct = resp.headers().get(DIRECT).is_some();
    Answer {
        body: resp.body_mut().read_to_string().unwrap(),
        direct,
    }
}

fn request(query: &str, variables: &str) -> Value {
    json!({ "query": query, "variables": serde_json::from_str::<Value>(variables).unwrap() })
}

fn ids(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(id)) = m.get("id") {
                    out.push(id.clone());
                }
                m.values().for_each(|v| walk(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(&serde_json::from_str(body).unwrap(), &mut out);
    out
}

fn direct_answers_are_async_graphqls(db: Db) {
    let roles = ["admin", "recruiter", "hiring_manager", "interviewer"];
    let ours = common::generated_org(&db, "da", 160, 7, &roles);
    let theirs = common::generated_org(&db, "db", 60, 8, &["admin", "interviewer"]);
    let mut settings = server::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: db.url.clone(),
        ..server::Settings::default()
    };
    settings.pool.size = 2;
    let server = common::Server::start(settings);
    let admin = &ours[0].token;

    let mut fresh = 0;
    for (query, variables) in DOCS {
        // Through async-graphql: each caller's text is new (a different number of trailing
        // spaces), so it is parsed for this request only and has no plan.
        let mut expected = Vec::new();
        for caller in ours.iter().chain(&theirs) {
            fresh += 1;
            let text = format!("{query}{}", " ".repeat(fresh));
            let a = post(&server, &caller.token, &request(&text, variables));
            assert!(!a.direct, "a text seen once has no plan");
            assert!(
                !a.body.contains("\"errors\""),
                "{}: {}",
                caller.role,
                a.body
            );
            expected.push(a);
        }
        // The admin's requests make the plan: kept the second time, planned after an answer
        // without errors; then every caller's request is answered by it.
        for _ in 0..2 {
            post(&server, admin, &request(query, variables));
        }
        for (caller, expected) in ours.iter().chain(&theirs).zip(&expected) {
            let b = post(&server, &caller.token, &request(query, variables));
            assert!(
                b.direct,
                "{}: not answered by the plan: {query}",
                caller.role
            );
            assert_eq!(
                b.body, expected.body,
                "{} of {}: the plan's answer and async-graphql's differ for {query}",
                caller.role, caller.user_id
            );
        }
    }

    // The roles saw different rows (the filters ran), and the other org none of ours.
    let page = request(DOCS[0].0, DOCS[0].1);
    let seen: Vec<Vec<String>> = ours
        .iter()
        .chain(&theirs)
        .map(|c| ids(&post(&server, &c.token, &page).body))
        .collect();
    assert!(
        seen[0].len() > seen[3].len(),
        "the interviewer saw as much as the admin"
    );
    assert_ne!(seen[1], seen[2]);
    assert!(!seen[4].is_empty(), "the other org's admin saw nothing");
    for other in &seen[4..] {
        assert!(
            other.iter().all(|id| id.starts_with("db_")),
            "another org's rows: {other:?}"
        );
    }
    assert!(seen[..4].iter().flatten().all(|id| id.starts_with("da_")));

    // What the plan cannot answer goes to async-graphql, which reports it.
    let (query, _) = DOCS[0];
    let cases = [
        (
            json!({ "query": query, "operationName": "Other", "variables": {} }),
            "Other",
        ),
        (
            json!({ "query": query, "variables": { "after": "zz" } }),
            "cursor",
        ),
        (
            json!({ "query": query, "variables": { "after": 5 } }),
            "after",
        ),
    ];
    for (body, needle) in cases {
        let answer = post(&server, admin, &body);
        assert!(!answer.direct, "{body}");
        assert!(
            answer.body.contains("\"errors\"") && answer.body.contains(needle),
            "{body}: {}",
            answer.body
        );
    }
    // And the plan still answers afterwards.
    assert!(post(&server, admin, &page).direct);
}
on_both!(direct_answers_are_async_graphqls);
