//! GraphQL subscriptions over WebSocket, end to end: the real server on port 0 (SQLite and,
//! when `HIREPLANE_TEST_POSTGRES` is set, PostgreSQL), a real WebSocket client
//! (tokio-tungstenite) speaking `graphql-transport-ws` and the legacy `graphql-ws`, mutations
//! over HTTP. A recruiter subscribed sees the move of an application they may see and never
//! that of one on a confidential job hidden from them; bad tokens, protocol mistakes and every
//! bound close or refuse as the protocol says; shutting down closes open sockets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::common;
use common::Db;

const ORG: &str = "ta";

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a test waits for a message it expects.
const WAIT: Duration = Duration::from_secs(20);

async fn connect(addr: std::net::SocketAddr, protocol: &str, header: Option<&str>) -> Socket {
    let mut request = format!("ws://{addr}/graphql")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
    if let Some(h) = header {
        request
            .headers_mut()
            .insert("Authorization", h.parse().unwrap());
    }
    let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some(protocol)
    );
    socket
}

async fn send(socket: &mut Socket, v: Value) {
    socket.send(Message::text(v.to_string())).await.unwrap();
}

/// The next JSON message (pings skipped); panics on a close.
async fn next(socket: &mut Socket) -> Value {
    loop {
        let m = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a message in time")
            .expect("the socket open")
            .unwrap();
        match m {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

/// The close code the server ends with (messages before it skipped).
async fn closed_with(socket: &mut Socket) -> u16 {
    loop {
        let m = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a close in time");
        match m {
            Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
            Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return 1006,
            Some(Ok(_)) => {}
        }
    }
}

/// Connected and acknowledged as `token` (in the init payload).
async fn ready(addr: std::net::SocketAddr, token: &str) -> Socket {
    let mut s = connect(addr, "graphql-transport-ws", None).await;
    send(
        &mut s,
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}),
    )
    .await;
    assert_eq!(next(&mut s).await["type"], "connection_ack");
    s
}

/// Subscribes `query` as `id` and expects an `error` for it whose message says `why`.
async fn refused_subscription(socket: &mut Socket, id: &str, query: &str, why: &str) {
    send(
        socket,
        json!({"type": "subscribe", "id": id, "payload": {"query": query}}),
    )
    .await;
    let m = next(socket).await;
    assert_eq!(
        (m["type"].as_str(), m["id"].as_str()),
        (Some("error"), Some(id)),
        "{m}"
    );
    let message = m["payload"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(why), "{m}");
}

/// A server on `db` that checks tokens on every request (no cache), to be changed further.
fn settings(db: &Db) -> server::Settings {
    let mut settings = server::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: db.url.clone(),
        ..server::Settings::default()
    };
    settings.auth.cache_ms = 0;
    settings
}

fn subscribe(id: &str, args: &str) -> Value {
    let args = if args.is_empty() {
        String::new()
    } else {
        format!("({args})")
    };
    json!({"type": "subscribe", "id": id, "payload": {
        "query": format!("subscription {{ events{args} {{ type subject cursor sequence data }} }}")
    }})
}

/// The subject of the next event of subscription `id`.
async fn next_subject(socket: &mut Socket, id: &str) -> String {
    let m = next(socket).await;
    assert_eq!(m["type"], "next", "{m}");
    assert_eq!(m["id"], id, "{m}");
    m["payload"]["data"]["events"]["subject"]
        .as_str()
        .unwrap_or_else(|| panic!("{m}"))
        .to_owned()
}

fn post(server: &common::Server, token: &str, query: &str) -> Value {
    let mut resp = server
        .agent
        .post(format!("{}/graphql", server.base))
        .header("Authorization", format!("Bearer {token}"))
        .send_json(json!({ "query": query }))
        .unwrap();
    let v: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert!(v.get("errors").is_none(), "{query}: {v}");
    v["data"].clone()
}

/// An active application's id and a stage of its job to move it to (not its own, not a hire).
fn movable(node: &Value) -> (String, String) {
    let current = node["currentStage"]["id"].as_str().unwrap();
    let to = node["job"]["stages"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] != current && s["kind"] != "hired")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (node["id"].as_str().unwrap().to_owned(), to)
}

fn move_application(server: &common::Server, token: &str, (app, to): &(String, String)) {
    post(
        server,
        token,
        &format!(
            r#"mutation {{ moveApplication(input: {{applicationId: "{app}", toStageId: "{to}"}}) {{ id }} }}"#
        ),
    );
}

fn subscriptions_stream_what_the_caller_may_see(db: Db) {
    let tokens = common::generated_org(&db, ORG, 200, 5, &["admin", "recruiter"]);
    let (admin, recruiter) = (tokens[0].token.clone(), tokens[1].token.clone());
    let mut settings = settings(&db);
    settings.pool.size = 4;
    settings.subscriptions.poll_ms = 50;
    settings.subscriptions.max_per_connection = 2;
    settings.subscriptions.max_connections_per_token = 3;
    settings.subscriptions.max_message_bytes = 4096;
    settings.subscriptions.init_timeout_ms = 500;
    let mut server = common::Server::start(settings);
    let addr = server.running.as_ref().unwrap().addr;

    // An application the recruiter sees, and one of a confidential job hidden from them, each
    // made by the admin.
    let jobs = "{ jobs(first: 200, filter: {status: open}) { nodes { id confidential } } }";
    let seen: Vec<Value> = post(&server, &recruiter, jobs)["jobs"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].clone())
        .collect();
    let all = post(&server, &admin, jobs)["jobs"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    let open_job = all
        .iter()
        .find(|j| j["confidential"] == false && seen.contains(&j["id"]))
        .expect("an open job the recruiter sees")["id"]
        .clone();
    // A confidential job with nobody on its team: the recruiter does not see it.
    let department = post(
        &server,
        &admin,
        "{ departments(first: 1) { nodes { id } } }",
    )["departments"]["nodes"][0]["id"]
        .clone();
    let hidden_job = post(
        &server,
        &admin,
        &format!(
            r#"mutation {{ createJob(input: {{title: "Secret project", departmentId: {department}, location: "Remote", employmentType: full_time, status: open, confidential: true, stages: [{{name: "Screen", kind: screen}}, {{name: "Onsite", kind: onsite}}], hiringTeam: []}}) {{ id }} }}"#
        ),
    )["createJob"]["id"]
        .clone();
    assert!(!seen.contains(&hidden_job));
    let apply = |job: &Value, name: &str| {
        let d = post(
            &server,
            &admin,
            &format!(
                r#"mutation {{ createCandidate(input: {{name: "{name}", jobId: {job}}}) {{ applications {{ nodes {{ id currentStage {{ id }} job {{ stages {{ nodes {{ id kind }} }} }} }} }} }} }}"#
            ),
        );
        movable(&d["createCandidate"]["applications"]["nodes"][0])
    };
    let visible = apply(&open_job, "Seen Person");
    let hidden = apply(&hidden_job, "Hidden Person");
    let start_of_visible = post(
        &server,
        &admin,
        &format!(
            r#"{{ application(id: "{}") {{ currentStage {{ id }} }} }}"#,
            visible.0
        ),
    )["application"]["currentStage"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Where the org's events stand now.
    let cursor = post(
        &server,
        &admin,
        "{ events(first: 500) { pageInfo { endCursor } } }",
    )["events"]["pageInfo"]["endCursor"]
        .clone();
    let after = if cursor.is_null() {
        String::new()
    } else {
        format!(", after: {cursor}")
    };

    let rt = &server.rt;
    let (mut rec, mut adm, mut rec_now, mut legacy) = rt.block_on(async {
        let mut rec = ready(addr, &recruiter).await;
        send(
            &mut rec,
            subscribe("moves", &format!("type: \"application.moved\"{after}")),
        )
        .await;
        let mut adm = ready(addr, &admin).await;
        send(
            &mut adm,
            subscribe("all", &format!("type: [\"application.moved\"]{after}")),
        )
        .await;
        // Without `after`: from the subscription's start on.
        let mut rec_now = ready(addr, &recruiter).await;
        send(&mut rec_now, subscribe("now", "")).await;
        // The legacy protocol, the token in the upgrade's header.
        let mut legacy = connect(addr, "graphql-ws", Some(&format!("Bearer {recruiter}"))).await;
        send(&mut legacy, json!({"type": "connection_init", "payload": {}})).await;
        assert_eq!(next(&mut legacy).await["type"], "connection_ack");
        send(
            &mut legacy,
            json!({"type": "start", "id": "old", "payload": {
                "query": format!("subscription {{ events(type: \"application.moved\"{after}) {{ subject }} }}")
            }}),
        )
        .await;
        // Let the subscription without `after` read where the org stands.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        (rec, adm, rec_now, legacy)
    });

    move_application(&server, &admin, &visible);
    move_application(&server, &admin, &hidden);
    // Moved back: a second event of the visible one, after the hidden one's.
    let back = (visible.0.clone(), start_of_visible);
    move_application(&server, &admin, &back);

    let subject = |app: &str| format!("application/{app}");
    rt.block_on(async {
        // The recruiter: the visible application's two moves, nothing of the hidden one's in
        // between (it committed between them).
        assert_eq!(next_subject(&mut rec, "moves").await, subject(&visible.0));
        assert_eq!(next_subject(&mut rec, "moves").await, subject(&visible.0));
        // The admin sees all three, in commit order, with cursors that follow.
        let mut cursors = Vec::new();
        for expected in [&visible.0, &hidden.0, &visible.0] {
            let m = next(&mut adm).await;
            assert_eq!(m["type"], "next", "{m}");
            let e = &m["payload"]["data"]["events"];
            assert_eq!(e["subject"], subject(expected), "{m}");
            assert_eq!(e["type"], "hireplane.application.moved.v1");
            cursors.push(e["cursor"].as_str().unwrap().to_owned());
        }
        // Every type, from the start on: the same two moves, nothing from before.
        assert_eq!(
            next_subject(&mut rec_now, "now").await,
            subject(&visible.0)
        );
        assert_eq!(
            next_subject(&mut rec_now, "now").await,
            subject(&visible.0)
        );
        // The legacy protocol: `data` messages.
        for _ in 0..2 {
            let m = next(&mut legacy).await;
            assert_eq!(m["type"], "data", "{m}");
            assert_eq!(m["payload"]["data"]["events"]["subject"], subject(&visible.0));
        }
        // Resuming from the admin's first cursor replays the rest.
        send(
            &mut adm,
            subscribe("resume", &format!("after: \"{}\", type: \"application.moved\"", cursors[0])),
        )
        .await;
        assert_eq!(next_subject(&mut adm, "resume").await, subject(&hidden.0));
        assert_eq!(next_subject(&mut adm, "resume").await, subject(&visible.0));

        // At most two subscriptions per connection: a third gets an error, the connection
        // stays.
        send(&mut adm, subscribe("third", "")).await;
        let m = next(&mut adm).await;
        assert_eq!((m["type"].as_str(), m["id"].as_str()), (Some("error"), Some("third")), "{m}");
        assert_eq!(m["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{m}");
        // Completing one frees its place.
        send(&mut adm, json!({"type": "complete", "id": "resume"})).await;
        // A bad argument: an error for that subscription.
        send(&mut adm, subscribe("bad", "type: \"interview.teleported\"")).await;
        let m = next(&mut adm).await;
        assert_eq!((m["type"].as_str(), m["id"].as_str()), (Some("error"), Some("bad")), "{m}");
        assert_eq!(m["payload"][0]["extensions"]["code"], "BAD_USER_INPUT", "{m}");
        // Queries go by POST.
        send(
            &mut adm,
            json!({"type": "subscribe", "id": "q", "payload": {"query": "{ viewer { id } }"}}),
        )
        .await;
        let m = next(&mut adm).await;
        assert_eq!((m["type"].as_str(), m["id"].as_str()), (Some("error"), Some("q")), "{m}");
        assert!(m["payload"][0]["message"].as_str().unwrap().contains("POST"), "{m}");
        // Fragments spread again and again (2^30 fields from a kilobyte): refused before
        // async-graphql validates the document, which expands them the same way.
        let mut bomb = "subscription { ...F0 }\n".to_owned();
        for i in 0..30 {
            bomb.push_str(&format!(
                "fragment F{i} on Subscription {{ ...F{} ...F{} }}\n",
                i + 1,
                i + 1
            ));
        }
        bomb.push_str("fragment F30 on Subscription { events { type } }\n");
        send(
            &mut adm,
            json!({"type": "subscribe", "id": "bomb", "payload": {"query": bomb}}),
        )
        .await;
        let m = next(&mut adm).await;
        assert_eq!((m["type"].as_str(), m["id"].as_str()), (Some("error"), Some("bomb")), "{m}");
        assert_eq!(m["payload"][0]["extensions"]["code"], "TOO_COSTLY", "{m}");
        // The same id twice: 4409.
        send(&mut adm, subscribe("all", "")).await;
        assert_eq!(closed_with(&mut adm).await, 4409);

        // Three connections of the recruiter's token are open: a fourth is closed at init.
        let mut fourth = connect(addr, "graphql-transport-ws", None).await;
        send(
            &mut fourth,
            json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {recruiter}")}}),
        )
        .await;
        assert_eq!(closed_with(&mut fourth).await, 4429);
        // Once one closes, a new one is let in.
        legacy.close(None).await.unwrap();
        drop(legacy);
        let mut again = None;
        for _ in 0..50 {
            let mut s = connect(addr, "graphql-transport-ws", None).await;
            send(
                &mut s,
                json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {recruiter}")}}),
            )
            .await;
            let m = tokio::time::timeout(WAIT, s.next()).await.unwrap();
            if let Some(Ok(Message::Text(t))) = m {
                assert!(t.as_str().contains("connection_ack"), "{t}");
                again = Some(s);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(again.is_some(), "a closed connection's place is given back");

        // A bad token: 4403; the header's token when the payload has none.
        let mut bad = connect(addr, "graphql-transport-ws", None).await;
        send(
            &mut bad,
            json!({"type": "connection_init", "payload": {"Authorization": "Bearer hpt_nope_nope"}}),
        )
        .await;
        assert_eq!(closed_with(&mut bad).await, 4403);
        let mut none = connect(addr, "graphql-transport-ws", Some("Bearer hpt_nope_nope")).await;
        send(&mut none, json!({"type": "connection_init"})).await;
        assert_eq!(closed_with(&mut none).await, 4403);
        // Subscribing before the acknowledgement: 4401.
        let mut early = connect(addr, "graphql-transport-ws", None).await;
        send(&mut early, subscribe("1", "")).await;
        assert_eq!(closed_with(&mut early).await, 4401);
        // No init in time: 4408.
        let mut silent = connect(addr, "graphql-transport-ws", None).await;
        assert_eq!(closed_with(&mut silent).await, 4408);
        // Not a message of the protocol: 4400. Too large: 1009.
        let mut odd = connect(addr, "graphql-transport-ws", None).await;
        send(&mut odd, json!({"type": "hello"})).await;
        assert_eq!(closed_with(&mut odd).await, 4400);
        let mut big = ready(addr, &admin).await;
        big.send(Message::text("x".repeat(5000))).await.unwrap();
        assert_eq!(closed_with(&mut big).await, 1009);
        // A second init: 4429.
        let mut twice = ready(addr, &admin).await;
        send(&mut twice, json!({"type": "connection_init"})).await;
        assert_eq!(closed_with(&mut twice).await, 4429);
    });

    // Stopping the server closes what is open (1001), and the stop waits for it.
    let running = server.running.take().unwrap();
    let closed = server.rt.block_on(async move {
        let stopping = tokio::spawn(running.stop());
        let code = closed_with(&mut rec).await;
        stopping.await.unwrap().unwrap();
        drop(rec_now);
        code
    });
    assert_eq!(closed, 1001);
}

on_both!(subscriptions_stream_what_the_caller_may_see);

/// A client that answers no ping is closed (3008); a token revoked while its connection is
/// open closes it (4403) at the next check, one ping interval later.
fn idle_and_revoked_connections_close(db: Db) {
    let tokens = common::generated_org(&db, ORG, 40, 7, &["admin", "recruiter"]);
    let mut settings = settings(&db);
    settings.pool.size = 4;
    settings.subscriptions.ping_ms = 200;
    let server = common::Server::start(settings);
    let addr = server.running.as_ref().unwrap().addr;
    let mut store = store::Store::open(&db.url).unwrap();
    server.rt.block_on(async {
        // Not read for a while: its pongs are never sent.
        let mut idle = ready(addr, &tokens[0].token).await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(closed_with(&mut idle).await, 3008);
        // Read all along (tungstenite answers pings while it reads): open until revoked.
        let mut live = ready(addr, &tokens[1].token).await;
        send(&mut live, subscribe("s", "")).await;
        let until = tokio::time::Instant::now() + Duration::from_millis(1000);
        while let Ok(m) = tokio::time::timeout_at(until, live.next()).await {
            assert!(
                matches!(m, Some(Ok(Message::Ping(_) | Message::Pong(_)))),
                "a live connection stays open: {m:?}"
            );
        }
        let id = tokens[1].token.split('_').nth(1).unwrap().to_owned();
        // On a thread of its own (PostgreSQL's client runs a runtime of its own), while this
        // one goes on reading, so the connection keeps answering pings however long the
        // revocation takes on a busy machine (else it may close as idle first).
        let revoking = std::thread::spawn(move || {
            store
                .revoke_token(
                    ORG,
                    &id,
                    domain::Instant::from_timestamp(jiff::Timestamp::now()),
                )
                .unwrap()
        });
        assert_eq!(closed_with(&mut live).await, 4403);
        assert!(revoking.join().unwrap());
    });
}

on_both!(idle_and_revoked_connections_close);

/// A subscription's message is bounded (`subscriptions.max_event_bytes`): past it the
/// subscription ends with an error that says so (red team, pass 4: 3,000 aliases of
/// `cloudEvent` made messages of 1 MB each against a limit of 1 MB); and a subscription selects
/// at most `MAX_SUBSCRIPTION_SELECTIONS` fields, since every event builds them all (pass 6:
/// 3,500 aliases in each of 40 subscriptions held 1.1 GB).
fn subscription_messages_are_bounded_in_bytes(db: Db) {
    let tokens = common::generated_org(&db, ORG, 50, 5, &["admin"]);
    let admin = tokens[0].token.clone();
    let mut settings = settings(&db);
    settings.subscriptions.poll_ms = 50;
    settings.subscriptions.max_message_bytes = 64 * 1024;
    settings.subscriptions.max_event_bytes = 5_000;
    let server = common::Server::start(settings);
    let addr = server.running.as_ref().unwrap().addr;
    let many: String = (0..2000).map(|i| format!("d{i}: data ")).collect();
    let aliases: String = (0..150).map(|i| format!("d{i}: data ")).collect();
    let rt = &server.rt;
    let mut s = rt.block_on(async {
        let mut s = ready(addr, &admin).await;
        // Too many fields: refused before it runs.
        let many_fields = format!("subscription {{ events {{ {many} }} }}");
        refused_subscription(&mut s, "many", &many_fields, "at most 200 fields").await;
        // One root field: aliases of `events` would each read the outbox on their own.
        refused_subscription(
            &mut s,
            "two",
            "subscription { a: events { sequence } b: events { sequence } }",
            "exactly one root field",
        )
        .await;
        send(
            &mut s,
            json!({"type": "subscribe", "id": "big", "payload": {
                "query": format!("subscription {{ events {{ {aliases} }} }}")
            }}),
        )
        .await;
        send(
            &mut s,
            json!({"type": "subscribe", "id": "small", "payload": {
                "query": "subscription { events { subject } }"
            }}),
        )
        .await;
        // Let the subscriptions read where the org stands.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        s
    });
    post(
        &server,
        &admin,
        r#"mutation { createCandidate(input: {name: "Ada Lovelace"}) { id } }"#,
    );
    rt.block_on(async {
        let (mut big, mut small) = (None, None);
        for _ in 0..2 {
            let m = next(&mut s).await;
            match m["id"].as_str() {
                Some("big") => big = Some(m),
                Some("small") => small = Some(m),
                _ => panic!("{m}"),
            }
        }
        let big = big.unwrap();
        assert_eq!(big["type"], "error", "{big}");
        let message = big["payload"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("larger than 5000 bytes")
                && message.contains("`subscriptions.max_event_bytes`"),
            "{big}"
        );
        // The small one on the same connection streams as before.
        let small = small.unwrap();
        assert_eq!(small["type"], "next", "{small}");
    });
}
on_both!(subscription_messages_are_bounded_in_bytes);

/// An org's users hold at most `subscriptions.max_connections_per_org` connections together
/// (an admin who invites users would otherwise multiply the per-user bound); another org's
/// users are not held back by it, and a connection that closes gives its room back.
fn an_org_holds_a_bounded_number_of_connections(db: Db) {
    let tokens = common::generated_org(&db, ORG, 30, 9, &["admin", "recruiter", "hiring_manager"]);
    let other = common::generated_org(&db, "tb", 30, 10, &["admin"]);
    let mut settings = settings(&db);
    settings.subscriptions.max_connections_per_org = 2;
    let server = common::Server::start(settings);
    let addr = server.running.as_ref().unwrap().addr;
    server.rt.block_on(async {
        let mut a = ready(addr, &tokens[0].token).await;
        let _b = ready(addr, &tokens[1].token).await;
        // A third user of the org: refused, the reason naming the org's bound.
        let mut c = connect(addr, "graphql-transport-ws", None).await;
        send(
            &mut c,
            json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", tokens[2].token)}}),
        )
        .await;
        let frame = loop {
            match tokio::time::timeout(WAIT, c.next()).await.expect("a close in time") {
                Some(Ok(Message::Close(Some(frame)))) => break frame,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("expected a close, got {other:?}"),
            }
        };
        assert_eq!(u16::from(frame.code), 4429);
        assert!(
            frame.reason.contains(&format!("org `{ORG}`")),
            "{}",
            frame.reason
        );
        // Another org is not held back.
        let _d = ready(addr, &other[0].token).await;
        // A connection that ends gives its room back.
        a.close(None).await.unwrap();
        while let Ok(Some(Ok(_))) = tokio::time::timeout(WAIT, a.next()).await {}
        let mut e = None;
        for _ in 0..100 {
            let mut s = connect(addr, "graphql-transport-ws", None).await;
            send(
                &mut s,
                json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", tokens[2].token)}}),
            )
            .await;
            match tokio::time::timeout(WAIT, s.next()).await.expect("an answer in time") {
                Some(Ok(Message::Text(t))) if t.as_str().contains("connection_ack") => {
                    e = Some(s);
                    break;
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        assert!(e.is_some(), "the org's room was not given back");
    });
}
on_both!(an_org_holds_a_bounded_number_of_connections);

/// A user holds at most `subscriptions.max_connections_per_user` connections, whatever tokens
/// they use (red team, pass 6: 50 tokens from console sessions multiplied the per-token bound);
/// and a subscription reads as its caller now is: a recruiter demoted to interviewer stops
/// getting the events of what an interviewer does not see, at the next check (a ping).
fn subscriptions_follow_the_user_not_the_token(db: Db) {
    let tokens = common::generated_org(&db, ORG, 100, 9, &["admin", "recruiter"]);
    let (admin, recruiter) = (tokens[0].token.clone(), tokens[1].token.clone());
    let recruiter_id = tokens[1].user_id.clone();
    let mut settings = settings(&db);
    settings.subscriptions.poll_ms = 50;
    settings.subscriptions.ping_ms = 200;
    settings.subscriptions.max_connections_per_token = 2;
    settings.subscriptions.max_connections_per_user = 3;
    // A small rate, which the connection's token keeps used up below.
    settings.limits.rate_per_second = 2;
    settings.limits.rate_burst = 10;
    let server = common::Server::start(settings);
    let addr = server.running.as_ref().unwrap().addr;
    // A second token of the recruiter.
    let mut store = store::Store::open(&db.url).unwrap();
    let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
    let second = app::Services::new()
        .create_token(&mut store, ORG, &recruiter_id, "second", None, now)
        .unwrap()
        .token;
    let open_job = post(
        &server,
        &recruiter,
        "{ jobs(first: 50, filter: {status: open}) { nodes { id confidential } } }",
    )["jobs"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["confidential"] == false)
        .expect("an open job the recruiter sees")["id"]
        .clone();
    let rt = &server.rt;
    let (_a, _b, mut c) = rt.block_on(async {
        // Two of the first token, one of the second: the user's third; a fourth is refused
        // on either token.
        let a = ready(addr, &recruiter).await;
        let b = ready(addr, &recruiter).await;
        let mut c = ready(addr, &second).await;
        let mut d = connect(addr, "graphql-transport-ws", None).await;
        send(
            &mut d,
            json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {second}")}}),
        )
        .await;
        assert_eq!(closed_with(&mut d).await, 4429);
        send(&mut c, subscribe("made", "type: \"candidate.created\"")).await;
        (a, b, c)
    });
    // Read all along on the runtime from now on (so the connection answers its pings, every
    // 200 ms: two unanswered close it), its texts handed over here.
    let (tx, mut texts) = tokio::sync::mpsc::unbounded_channel::<String>();
    rt.spawn(async move {
        while let Some(Ok(m)) = c.next().await {
            if let Message::Text(t) = m {
                let _ = tx.send(t.as_str().to_owned());
            }
        }
    });
    // Let the subscription read where the org stands.
    rt.block_on(async { tokio::time::sleep(Duration::from_millis(500)).await });
    let create = |name: &str| {
        post(
            &server,
            &admin,
            &format!(
                r#"mutation {{ createCandidate(input: {{name: "{name}", jobId: {open_job}}}) {{ id }} }}"#
            ),
        )["createCandidate"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let seen = create("Seen Before");
    rt.block_on(async {
        let t = tokio::time::timeout(WAIT, texts.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(t.contains(&format!("candidate/{seen}")), "{t}");
    });
    // The connection's token keeps itself over its rate limit: the periodic check is not a
    // request of the token's and must not be refused for it (red team, pass 7: a flooded
    // token kept its old access).
    let flooding = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flood = {
        let (flooding, agent, url, second) = (
            flooding.clone(),
            server.agent.clone(),
            format!("{}/graphql", server.base),
            second.clone(),
        );
        std::thread::spawn(move || {
            while flooding.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = agent
                    .post(&url)
                    .header("Authorization", format!("Bearer {second}"))
                    .send_json(json!({"query": "{ __typename }"}));
            }
        })
    };
    post(
        &server,
        &admin,
        &format!(
            r#"mutation {{ updateUser(input: {{userId: "{recruiter_id}", role: "interviewer"}}) {{ id role }} }}"#
        ),
    );
    // Pings: the connection has checked its caller again.
    rt.block_on(async { tokio::time::sleep(Duration::from_millis(1000)).await });
    let hidden = create("Not Seen After");
    let also = create("Also Not Seen");
    rt.block_on(async {
        let until = tokio::time::Instant::now() + Duration::from_millis(1500);
        while let Ok(Some(t)) = tokio::time::timeout_at(until, texts.recv()).await {
            assert!(
                !t.contains(&hidden) && !t.contains(&also),
                "an interviewer got the event of a candidate they do not see: {t}"
            );
        }
    });
    flooding.store(false, std::sync::atomic::Ordering::Relaxed);
    flood.join().unwrap();
}

on_both!(subscriptions_follow_the_user_not_the_token);
