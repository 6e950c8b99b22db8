//! Feature flags through the API and across replicas: `viewer { flags }` evaluated for each
//! caller, `setFlag` / `flags` / `flagHistory` for admins only (errors name the definition's
//! JSON path); on PostgreSQL, two replicas of one database see a change within 1 s and keep
//! evaluating their last copy while the database refuses connections.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use store::Store;

use crate::common;
use common::{Db, postgres_db};

const ORG: &str = "fl";

fn now() -> domain::Instant {
    domain::Instant::from_timestamp(jiff::Timestamp::now())
}

/// A store with one generated org and a token per role (admin, recruiter).
fn prepare(db: &Db) -> Vec<(String, String)> {
    common::generated_org(db, ORG, 40, 3, &["admin", "recruiter"])
        .into_iter()
        .map(|t| (t.role, t.token))
        .collect()
}

fn settings(db: &Db) -> server::Settings {
    let mut s = server::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: db.url.clone(),
        ..server::Settings::default()
    };
    s.pool.size = 4;
    s.limits.rate_per_second = 0;
    // This org's admins operate the installation's flags.
    s.flags.operator_org = ORG.into();
    s
}

fn post(server: &common::Server, base: &str, token: &str, query: &str, variables: Value) -> Value {
    let mut resp = server
        .agent
        .post(format!("{base}/graphql"))
        .header("Authorization", format!("Bearer {token}"))
        .send_json(json!({"query": query, "variables": variables}))
        .unwrap();
    serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
}

const SET: &str = "mutation($name: String!, $definition: JSON!, $reason: String!) { \
    setFlag(name: $name, definition: $definition, reason: $reason) { name version updatedBy definition } }";
const VIEWER: &str = "{ viewer { flags { name enabled variant payload } } }";

fn admins_only(definition: Value) -> Value {
    json!({"name": "board", "enabled": true,
        "strategies": [{"name": "default", "constraints": [
            {"contextName": "role", "operator": "IN", "values": ["admin"]}]}],
        "variants": [{"name": "wide", "weight": 1000, "payload": {"type": "string", "value": "w"}}]})
    .as_object()
    .unwrap()
    .clone()
    .into_iter()
    .chain(definition.as_object().cloned().unwrap_or_default())
    .collect()
}

fn flags_through_the_api(db: Db) {
    let tokens = prepare(&db);
    let (admin, recruiter) = (&tokens[0].1, &tokens[1].1);
    // By default no org operates the flags: an org's admin may not switch features for every
    // tenant through the API.
    {
        let mut s = settings(&db);
        s.flags.operator_org = String::new();
        let server = common::Server::start(s);
        let r = post(
            &server,
            &server.base,
            admin,
            SET,
            json!({"name": "board", "definition": admins_only(json!({})), "reason": "try"}),
        );
        assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
        let r = post(
            &server,
            &server.base,
            admin,
            "{ flags { name } }",
            json!({}),
        );
        assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    }
    let server = common::Server::start(settings(&db));
    let base = server.base.clone();
    let set = |token: &str, definition: Value| {
        post(
            &server,
            &base,
            token,
            SET,
            json!({"name": "board", "definition": definition, "reason": "try the board"}),
        )
    };
    // No flags yet: an empty list for everyone.
    let r = post(&server, &base, recruiter, VIEWER, json!({}));
    assert_eq!(r["data"]["viewer"]["flags"], json!([]), "{r}");
    // A recruiter may not set or read definitions.
    let r = set(recruiter, admins_only(json!({})));
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    let r = post(&server, &base, recruiter, "{ flags { name } }", json!({}));
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    // A bad definition: the JSON path in the message.
    let bad = json!({"name": "board", "enabled": true, "strategies": [{"name": "default",
        "constraints": [{"contextName": "role", "operator": "FOO", "values": ["x"]}]}]});
    let r = set(admin, bad);
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{r}"
    );
    assert_eq!(r["errors"][0]["extensions"]["field"], "definition", "{r}");
    assert_eq!(
        r["errors"][0]["message"],
        "`definition`: `strategies[0].constraints[0].operator`: unknown operator `FOO`"
    );
    // The admin sets it; this replica evaluates it at once.
    let r = set(admin, admins_only(json!({})));
    assert!(r.get("errors").is_none(), "{r}");
    assert_eq!(r["data"]["setFlag"]["version"], 1);
    assert!(
        r["data"]["setFlag"]["updatedBy"]
            .as_str()
            .unwrap()
            .starts_with("fl/"),
        "{r}"
    );
    let r = post(&server, &base, admin, VIEWER, json!({}));
    assert_eq!(
        r["data"]["viewer"]["flags"],
        json!([{"name": "board", "enabled": true, "variant": "wide",
                "payload": {"type": "string", "value": "w"}}]),
        "{r}"
    );
    let r = post(&server, &base, recruiter, VIEWER, json!({}));
    assert_eq!(
        r["data"]["viewer"]["flags"],
        json!([{"name": "board", "enabled": false, "variant": "disabled", "payload": null}]),
        "{r}"
    );
    // The history, for admins.
    let r = post(
        &server,
        &base,
        admin,
        "{ flags { name kind version } flagHistory(name: \"board\") { version reason before after } }",
        json!({}),
    );
    assert_eq!(
        r["data"]["flags"],
        json!([{"name": "board", "kind": "flag", "version": 1}]),
        "{r}"
    );
    assert_eq!(r["data"]["flagHistory"][0]["reason"], "try the board");
    assert_eq!(r["data"]["flagHistory"][0]["before"], Value::Null);
    assert_eq!(r["data"]["flagHistory"][0]["after"]["name"], "board");
}

on_both!(flags_through_the_api);

/// The version `running` evaluates, polled until it is `version` or `within` passed.
fn seen_within(running: &server::Running, version: i64, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < within {
        if running.flags().version == version {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
)]
fn two_replicas_see_a_change_within_a_second_and_keep_their_copy_without_the_database() {
    let db = postgres_db();
    let tokens = prepare(&db);
    // A recruiter's: an admin's token is never cached (checked on every request).
    let viewer = &tokens[1].1;
    let mut s = settings(&db);
    // A checked token is trusted for a minute: the requests below need no database.
    s.auth.cache_ms = 60_000;
    let first = common::Server::start(s.clone());
    let second_running = first.rt.block_on(server::start(s)).unwrap();
    let second_base = format!("http://{}", second_running.addr);
    let first_running = first.running.as_ref().unwrap();
    // A change made outside both replicas (the CLI, as the operator).
    let mut store = Store::open(&db.url).unwrap();
    let services = app::Services::new();
    for (version, enabled) in [(1, true), (2, false), (3, true)] {
        let definition = json!({"name": "everyone", "enabled": enabled,
            "strategies": [{"name": "default"}]})
        .to_string();
        let v = services
            .set_flag(
                &mut store,
                app::flags::FlagsActor::Operator,
                "everyone",
                &definition,
                "everyone.json",
                "test",
                now(),
            )
            .unwrap();
        assert_eq!(v, Some(version));
        for (name, running) in [("first", first_running), ("second", &second_running)] {
            let took = seen_within(running, version, Duration::from_secs(5));
            assert!(
                took.is_some_and(|t| t < Duration::from_secs(1)),
                "{name} replica saw version {version} after {took:?}"
            );
        }
    }
    // Both answer with it (and warm the token cache).
    for base in [&first.base, &second_base] {
        let r = post(&first, base, viewer, VIEWER, json!({}));
        assert_eq!(r["data"]["viewer"]["flags"][0]["enabled"], true, "{r}");
    }
    // The database refuses connections and drops the replicas' ones.
    let (admin_url, name) = db.pg.clone().unwrap();
    let mut c = postgres::Client::connect(&admin_url, postgres::NoTls).unwrap();
    c.batch_execute(&format!(
        "ALTER DATABASE {name} ALLOW_CONNECTIONS false; \
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    ))
    .unwrap();
    drop(store);
    // Several polls fail; both keep evaluating their last copy.
    std::thread::sleep(Duration::from_millis(1500));
    for (base, running) in [
        (&first.base, first_running),
        (&second_base, &second_running),
    ] {
        assert_eq!(running.flags().version, 3);
        let r = post(&first, base, viewer, VIEWER, json!({}));
        assert_eq!(r["data"]["viewer"]["flags"][0]["enabled"], true, "{r}");
    }
    // The database is back: a new change arrives again.
    c.batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .unwrap();
    let mut store = Store::open(&db.url).unwrap();
    services
        .remove_flag(
            &mut store,
            app::flags::FlagsActor::Operator,
            "everyone",
            "done",
            now(),
        )
        .unwrap();
    for running in [first_running, &second_running] {
        assert!(
            seen_within(running, 4, Duration::from_secs(10)).is_some(),
            "a replica did not see the change after the database came back"
        );
        assert!(running.flags().flags.names().is_empty());
    }
    first.rt.block_on(second_running.stop()).unwrap();
}

/// The OpenFeature provider (`server::openfeature`): a client of a running server evaluates the
/// replica's flags as `viewer { flags }` does for the same user, maps variants and their payloads
/// to OpenFeature's types, and answers an unknown flag or a wrong type with OpenFeature's error
/// codes. (The provider reads the replica's copy only: one store suffices.)
#[test]
fn openfeature_clients_evaluate_the_replicas_flags() {
    use open_feature::{EvaluationErrorCode, StructValue, Value as OfValue};
    let db = common::sqlite_db();
    let tokens = prepare(&db);
    let mut store = Store::open(&db.url).unwrap();
    let services = app::Services::new();
    let users = store.active_users(ORG).unwrap();
    let user_of = |role: &str| users.iter().find(|u| u.role == role).unwrap().id.clone();
    let definitions = [
        admins_only(json!({})),
        json!({"name": "limit", "enabled": true, "strategies": [{"name": "default"}],
            "variants": [{"name": "ten", "weight": 1000, "payload": {"type": "number", "value": "10"}}]}),
        json!({"name": "layout", "enabled": true, "strategies": [{"name": "default"}],
            "variants": [{"name": "grid", "weight": 1000,
                "payload": {"type": "json", "value": "{\"columns\": 3, \"dense\": true, \"tags\": [\"a\"]}"}}]}),
    ];
    for d in &definitions {
        let name = d["name"].as_str().unwrap();
        services
            .set_flag(
                &mut store,
                app::flags::FlagsActor::Operator,
                name,
                &d.to_string(),
                "test.json",
                "test",
                now(),
            )
            .unwrap();
    }
    let server = common::Server::start(settings(&db));
    let running = server.running.as_ref().unwrap();
    assert!(seen_within(running, 3, Duration::from_secs(5)).is_some());
    let client = server.rt.block_on(running.feature_client());
    let cx = |role: &str| server::openfeature::user_context(ORG, &user_of(role), role);
    let (admin, recruiter) = (cx("admin"), cx("recruiter"));

    server.rt.block_on(async {
        // As `viewer { flags }` answers each user.
        for ((role, token), of_cx) in tokens.iter().zip([&admin, &recruiter]) {
            let r = post(&server, &server.base, token, VIEWER, json!({}));
            for f in r["data"]["viewer"]["flags"].as_array().unwrap() {
                let name = f["name"].as_str().unwrap();
                let on = client
                    .get_bool_value(name, Some(of_cx), None)
                    .await
                    .unwrap();
                assert_eq!(json!(on), f["enabled"], "{role}: {name}");
                let variant = client.get_string_value(name, Some(of_cx), None).await;
                match f["variant"].as_str().unwrap() {
                    "disabled" => assert!(variant.is_err(), "{role}: {name}: {variant:?}"),
                    v => assert_eq!(variant.unwrap(), v, "{role}: {name}"),
                }
            }
        }
        assert!(
            client
                .get_bool_value("board", Some(&admin), None)
                .await
                .unwrap()
        );
        assert!(
            !client
                .get_bool_value("board", Some(&recruiter), None)
                .await
                .unwrap()
        );
        let details = client
            .get_bool_details("board", Some(&admin), None)
            .await
            .unwrap();
        assert_eq!(details.variant.as_deref(), Some("on"));
        // Payloads as numbers and objects.
        assert_eq!(
            client
                .get_int_value("limit", Some(&admin), None)
                .await
                .unwrap(),
            10
        );
        assert_eq!(
            client.get_float_value("limit", None, None).await.unwrap(),
            10.0
        );
        let layout: StructValue = client.get_struct_value("layout", None, None).await.unwrap();
        assert_eq!(layout.fields["columns"], OfValue::Int(3));
        assert_eq!(layout.fields["dense"], OfValue::Bool(true));
        assert_eq!(
            layout.fields["tags"],
            OfValue::Array(vec![OfValue::String("a".into())])
        );
        // Errors: an unknown flag, a payload of another type.
        let e = client
            .get_bool_value("nope", Some(&admin), None)
            .await
            .unwrap_err();
        assert_eq!(e.code, EvaluationErrorCode::FlagNotFound);
        let e = client
            .get_int_value("board", Some(&admin), None)
            .await
            .unwrap_err();
        assert_eq!(e.code, EvaluationErrorCode::TypeMismatch, "{e:?}");
        let e = client
            .get_int_value("layout", None, None)
            .await
            .unwrap_err();
        assert_eq!(e.code, EvaluationErrorCode::TypeMismatch, "{e:?}");
    });
}
