//! The request log (issue 23: at `info` the server logged only "resolver failed" lines): every
//! request answered gives exactly one JSON line with its id, method, path, GraphQL operation,
//! status and duration, and a resolver's error line carries the same request id. The real
//! server over HTTP, logging with its own JSON format into a buffer (this test binary's global
//! subscriber: the tests here tell their lines apart by request id).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Mutex, Once};

use serde_json::Value;

// `on_both!` is not needed: logging does not depend on the store.
use crate::common;

/// Every line logged in this process.
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Sink;

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_to_buffer() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let settings = server::Settings {
            log_format: server::settings::LogFormat::Json,
            log_level: "info".to_owned(),
            ..server::Settings::default()
        };
        server::init_logging_with(&settings, || Sink);
    });
}

/// Every line logged so far, each a JSON object.
fn lines() -> Vec<Value> {
    let text = String::from_utf8(LOG.lock().unwrap().clone()).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The lines of request `id`.
fn lines_of(id: &str) -> Vec<Value> {
    lines()
        .into_iter()
        .filter(|l| l["request_id"] == id)
        .collect()
}

/// The one `request` line of request `id`.
fn request_line(id: &str) -> Value {
    let mut found: Vec<Value> = lines_of(id)
        .into_iter()
        .filter(|l| l["message"] == "request")
        .collect();
    assert_eq!(found.len(), 1, "request `{id}`: {found:?}");
    found.remove(0)
}

/// A server on a generated org, with an admin token.
struct Api {
    server: common::Server,
    _db: common::Db,
    token: String,
}

impl Api {
    fn start() -> Api {
        log_to_buffer();
        let db = common::sqlite_db();
        let token = common::generated_org(&db, "logs", 20, 3, &["admin"])
            .remove(0)
            .token;
        let mut settings = server::Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            database: db.url.clone(),
            ..server::Settings::default()
        };
        settings.pool.size = 2;
        Api {
            server: common::Server::start(settings),
            _db: db,
            token,
        }
    }

    /// GET `path` with request id `id`: the status.
    fn get(&self, path: &str, id: &str) -> u16 {
        self.server
            .agent
            .get(format!("{}{path}", self.server.base))
            .header("x-request-id", id)
            .call()
            .unwrap()
            .status()
            .as_u16()
    }

    /// POST `body` to `/graphql` (with the token when `auth`) and request id `id`, if any:
    /// the status, the id answered and the body.
    fn post(&self, body: &Value, auth: bool, id: Option<&str>) -> (u16, String, Value) {
        let mut req = self
            .server
            .agent
            .post(format!("{}/graphql", self.server.base))
            .header("Content-Type", "application/json");
        if auth {
            req = req.header("Authorization", &format!("Bearer {}", self.token));
        }
        if let Some(id) = id {
            req = req.header("x-request-id", id);
        }
        let mut resp = req.send(body.to_string()).unwrap();
        let answered = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        let text = resp.body_mut().read_to_string().unwrap();
        (
            resp.status().as_u16(),
            answered,
            serde_json::from_str(&text).unwrap(),
        )
    }
}

#[test]
fn every_request_logs_one_line_with_its_fields() {
    let api = Api::start();

    assert_eq!(api.get("/healthz", "logs-health"), 200);
    let line = request_line("logs-health");
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["method"], "GET", "{line}");
    assert_eq!(line["path"], "/healthz", "{line}");
    assert_eq!(line["status"], 200, "{line}");
    assert!(line["duration_ms"].as_f64().unwrap() >= 0.0, "{line}");
    assert!(line.get("operation").is_none(), "{line}");
    let at: jiff::Timestamp = line["timestamp"].as_str().unwrap().parse().unwrap();
    assert!(
        jiff::Timestamp::now().duration_since(at).as_secs() < 60,
        "{line}"
    );

    // A GraphQL request: its operationName and its root field. Without an id of the client's,
    // the line has the one the server made and answered.
    let (status, made, body) = api.post(
        &serde_json::json!({
            "query": "query WhoAmI { viewer { role } }",
            "operationName": "WhoAmI",
        }),
        true,
        None,
    );
    assert_eq!(
        (status, &body["data"]["viewer"]["role"]),
        (200, &"admin".into())
    );
    let line = request_line(&made);
    assert_eq!(line["method"], "POST", "{line}");
    assert_eq!(line["path"], "/graphql", "{line}");
    assert_eq!(line["operation"], "WhoAmI", "{line}");
    assert_eq!(line["root_field"], "viewer", "{line}");
    assert_eq!(line["status"], 200, "{line}");
    assert_eq!(lines_of(&made).len(), 1, "{:?}", lines_of(&made));

    // Refused before the body is read: no operation, the status.
    let (status, _, _) = api.post(
        &serde_json::json!({"query": "{ viewer { role } }"}),
        false,
        Some("logs-anonymous"),
    );
    assert_eq!(status, 401);
    let line = request_line("logs-anonymous");
    assert_eq!(line["status"], 401, "{line}");
    assert!(line.get("operation").is_none(), "{line}");

    // A path nothing serves, and GraphiQL opened with a token in the query: the path is
    // logged without the query, and the token nowhere.
    assert_eq!(api.get("/nothing/here", "logs-404"), 404);
    assert_eq!(request_line("logs-404")["path"], "/nothing/here");
    assert_eq!(
        api.get("/graphql?token=hpt_0123_notinthelog", "logs-graphiql"),
        200
    );
    assert_eq!(request_line("logs-graphiql")["path"], "/graphql");
    let all = String::from_utf8(LOG.lock().unwrap().clone()).unwrap();
    assert!(!all.contains("notinthelog"));
    assert!(!all.contains(&api.token), "the log holds a token");

    // A long path is cut.
    let long = format!("/{}", "a".repeat(1000));
    assert_eq!(api.get(&long, "logs-long"), 404);
    let path = request_line("logs-long")["path"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(path.len(), 256 + 3, "{path}");
}

#[test]
fn a_resolver_error_carries_its_requests_id() {
    let api = Api::start();
    let (status, _, body) = api.post(
        &serde_json::json!({
            "query": "mutation Archive { archiveApplication(input: {applicationId: \"no_such_application\", reason: \"x\"}) { id } }",
            "operationName": "Archive",
        }),
        true,
        Some("logs-failing"),
    );
    assert_eq!(status, 200);
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{body}"
    );
    let lines = lines_of("logs-failing");
    assert_eq!(lines.len(), 2, "{lines:?}");
    let error = &lines[0];
    assert_eq!(error["message"], "resolver failed", "{error}");
    assert_eq!(error["field"], "archiveApplication", "{error}");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("no_such_application"),
        "{error}"
    );
    // The request's own fields too, at the top level.
    assert_eq!(error["operation"], "Archive", "{error}");
    assert_eq!(error["path"], "/graphql", "{error}");
    let request = &lines[1];
    assert_eq!(request["message"], "request", "{request}");
    assert_eq!(request["operation"], "Archive", "{request}");
    assert_eq!(request["root_field"], "archiveApplication", "{request}");
    assert_eq!(request["status"], 200, "{request}");
    assert!(request.get("field").is_none(), "{request}");
}
