//! The HTTP edge: routes, the GraphQL endpoint (auth, rate limit, idempotency, timeout,
//! metrics), health checks and `/metrics`.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | a start page: links, and the demo users' tokens under `serve --demo` ([`crate::pages`]) |
//! | `POST /graphql` | the API; `Authorization: Bearer hpt_...`; `Idempotency-Key` on mutations |
//! | `GET /graphql` | GraphiQL (when `graphiql` is on; [`crate::pages`]); with `Upgrade: websocket`, subscriptions ([`crate::subscriptions`]) |
//! | `GET /assets/...` | the files GraphiQL loads, from the binary (when `graphiql` is on) |
//! | `GET, POST /console/...` | the web console ([`crate::console`]): sign-in, boards, applications |
//! | `GET /healthz` | 200 while the process can serve (a database worker is running), else 503 |
//! | `GET /readyz` | 200 when the database answers and its schema is current, else 503 |
//! | `GET /metrics` | Prometheus text format |

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_graphql::dynamic::Schema;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, State};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use sha2::Digest;
use store::IdempotencyBegin;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::auth::{Caller, Denied, Gate};
use crate::db::Db;
use crate::documents::Parsed;
use crate::graphql::RequestCtx;
use crate::settings::Settings;
use tracing::Instrument;

/// The client's address (the TCP peer), put on every request by the server's accept loop.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub std::net::IpAddr);

/// The TCP connection a request came on, counted against its address while it lives: an
/// upgraded WebSocket keeps it ([`crate::subscriptions`]) after hyper lets the connection go.
#[derive(Clone)]
pub struct ConnectionSlot(pub Arc<dyn std::any::Any + Send + Sync>);

/// Everything the handlers share.
pub struct Shared {
    pub settings: Settings,
    pub limits: Arc<crate::settings::Limits>,
    pub schema: Schema,
    pub services: Arc<app::Services>,
    pub db: Db,
    pub gate: Gate,
    pub metrics: PrometheusHandle,
    /// Parsed query documents by text.
    pub documents: crate::documents::Documents,
    /// The replica's copy of the feature flags.
    pub flags: Arc<crate::flags::FlagsCache>,
    /// The rollout cohorts' counters.
    pub cohorts: Arc<crate::rollouts::Cohorts>,
    /// Requests failed on purpose (tests of the rollouts' guard).
    pub faults: Option<Arc<dyn crate::rollouts::Faults>>,
    /// The outbox relay, when `events.nats.url` is set.
    pub relay: Option<Arc<crate::relay::Relay>>,
    /// The automation dispatcher, when this replica runs job workers.
    pub automation: Option<Arc<crate::automation::Automation>>,
    /// Turns true when the server shuts down: open WebSockets close.
    pub stop: tokio::sync::watch::Receiver<bool>,
    /// The subscribed orgs' event heads, polled once per replica.
    pub heads: Arc<crate::subscriptions::Heads>,
    /// WebSocket connections per token.
    pub sockets: Arc<crate::subscriptions::Sockets>,
    /// The console's bounds on failed sign-ins.
    pub console: crate::console::signin::Attempts,
}

pub fn router(shared: Arc<Shared>) -> Router {
    let body_limit = shared.settings.limits.max_body_bytes;
    let graphiql = shared.settings.graphiql;
    let graphql = axum::routing::post(graphql).get(
        move |state: State<Arc<Shared>>, request: Request<axum::body::Body>| {
            get_graphql(state, request, graphiql)
        },
    );
    let start = crate::pages::StartPage::new(&shared.settings);
    let mut router = Router::new().route(
        "/",
        get(move || {
            let start = start.clone();
            async move { start.respond() }
        }),
    );
    if graphiql {
        router = router.route("/assets/{*path}", get(crate::pages::asset));
    }
    router
        .merge(crate::console::router())
        .route("/graphql", graphql)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_page))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(log_request)
                .on_body_chunk(())
                .on_eos(())
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::x_request_id(Counter::new()))
        .layer(axum::middleware::map_request(drop_odd_request_id))
        .with_state(shared)
}

/// `GET /graphql`: a WebSocket upgrade for subscriptions, else GraphiQL (when it is on).
async fn get_graphql(
    State(shared): State<Arc<Shared>>,
    request: Request<axum::body::Body>,
    graphiql: bool,
) -> Response {
    use axum::extract::FromRequestParts;
    let upgrading = request
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgrading {
        if graphiql {
            return crate::pages::graphiql().await;
        }
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let (mut parts, _) = request.into_parts();
    let client = parts.extensions.get::<ClientAddr>().map(|c| c.0);
    let slot = parts.extensions.get::<ConnectionSlot>().cloned();
    let ws =
        match axum::extract::ws::WebSocketUpgrade::from_request_parts(&mut parts, &shared).await {
            Ok(ws) => ws,
            Err(rejection) => return rejection.into_response(),
        };
    crate::subscriptions::upgrade(shared, ws, &parts.headers, client, slot)
}

/// The longest path the log keeps of a request (a client chooses it).
const LOGGED_PATH: usize = 256;

/// The span every request is served in: its id, method and path (without the query, which may
/// hold a token: `/graphql?token=`), and, once the GraphQL handler knows them, the request's
/// `operation` (its `operationName`) and `root_field` (the metrics' `operation` label). Every
/// log line of the request carries these ([`crate::logs`]).
fn request_span(req: &Request<axum::body::Body>) -> tracing::Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let path = req.uri().path();
    let path = match path.char_indices().nth(LOGGED_PATH) {
        Some((cut, _)) => format!("{}...", &path[..cut]),
        None => path.to_owned(),
    };
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %path,
        operation = tracing::field::Empty,
        root_field = tracing::field::Empty,
    )
}

/// The request's one line at `info`, in its span, once the response's head is ready.
fn log_request(response: &Response, latency: Duration, _: &tracing::Span) {
    let ms = (latency.as_secs_f64() * 1_000_000.0).round() / 1000.0;
    tracing::info!(
        status = response.status().as_u16(),
        duration_ms = ms,
        "request"
    );
}

/// Records the request's GraphQL `operationName` on its span, when it is a GraphQL name of at
/// most 128 characters (anything else a client sends is not logged).
fn record_operation(name: Option<&str>) {
    let is_name = |n: &str| {
        (1..=128).contains(&n.len())
            && n.bytes()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
            && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
    };
    if let Some(name) = name.filter(|n| is_name(n)) {
        tracing::Span::current().record("operation", name);
    }
}

/// A client's `x-request-id` is kept (to follow a request through several services) when it
/// looks like an id: 1 to 128 characters of letters, digits and `-_.:`. Anything else (8,000
/// characters, spaces, JSON) is dropped and the server makes one: what lands in every log line
/// stays short and cannot forge the shape of the log.
async fn drop_odd_request_id<B>(mut req: Request<B>) -> Request<B> {
    let fine = |v: &HeaderValue| {
        let b = v.as_bytes();
        (1..=128).contains(&b.len())
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(c))
    };
    if req.headers().get("x-request-id").is_some_and(|v| !fine(v)) {
        req.headers_mut().remove("x-request-id");
    }
    req
}

/// Request ids: a per-process random prefix and a counter (unique across replicas in practice,
/// and sortable within one).
#[derive(Clone)]
struct Counter {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl Counter {
    fn new() -> Counter {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Counter {
            prefix: format!("{:08x}{:04x}", nanos, std::process::id() & 0xffff).into(),
            next: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for Counter {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

/// Liveness: the process can serve as long as one database worker runs (a job's panic does not
/// stop one; see [`crate::db`]). Without any, every request would fail until a restart.
async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    if shared.db.live_workers() == 0 {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not live: every database worker has stopped; restart the process\n",
        )
            .into_response();
    }
    (StatusCode::OK, "ok\n").into_response()
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    let check = shared.db.run(|store| store.schema_version());
    match tokio::time::timeout(Duration::from_secs(3), check).await {
        Ok(Ok(Ok(v))) if v == store::latest_schema_version() => {
            // The relay's state is detail, not readiness: the API works while NATS is down.
            let detail = shared
                .relay
                .as_ref()
                .map(|r| format!("{}\n", r.status().detail()))
                .unwrap_or_default();
            (StatusCode::OK, format!("ready\n{detail}")).into_response()
        }
        Ok(Ok(Ok(v))) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: database schema is at version {v}, this binary needs {}\n",
                store::latest_schema_version()
            ),
        )
            .into_response(),
        Ok(Ok(Err(e))) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: database: {e}\n"),
        )
            .into_response(),
        Ok(Err(e)) => {
            (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}\n")).into_response()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the database did not answer within 3 s\n",
        )
            .into_response(),
    }
}

async fn metrics_page(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let token = &shared.settings.metrics_token;
    if !token.is_empty() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !app::sessions::same(given, token) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "`/metrics` needs `Authorization: Bearer <metrics_token>`\n",
            )
                .into_response();
        }
    }
    let (open, busy, max) = shared.db.state();
    metrics::gauge!("hireplane_db_pool_connections", "state" => "open").set(f64::from(open));
    metrics::gauge!("hireplane_db_pool_connections", "state" => "busy").set(f64::from(busy));
    metrics::gauge!("hireplane_db_pool_connections", "state" => "max").set(f64::from(max));
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        shared.metrics.render(),
    )
        .into_response()
}

/// A response in GraphQL's shape (`{"errors": [...]}`) with an HTTP status, for what fails before
/// the query runs.
fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{"message": message, "extensions": {"code": code}}]
    });
    (status, axum::Json(body)).into_response()
}

/// The operation's name for the metrics: its first root field, or `invalid`. Only names of the
/// schema's own root fields (of `Query` for a query, of `Mutation` for a mutation) are labels,
/// whatever the client sends: a client that makes up names cannot add series.
fn operation_of(
    registry: &async_graphql::registry::Registry,
    doc: &async_graphql::parser::types::ExecutableDocument,
    operation_name: Option<&str>,
) -> (String, bool) {
    use async_graphql::parser::types::{OperationType, Selection};
    let invalid = || ("invalid".to_owned(), false);
    // The operation that runs: the one `operationName` names (a document of a query and a
    // mutation is a mutation when the mutation is named, and its `Idempotency-Key` counts).
    let Some((_, op)) = doc
        .operations
        .iter()
        .find(|(name, _)| operation_name.is_none() || name.map(|n| n.as_str()) == operation_name)
    else {
        return invalid();
    };
    let mutation = op.node.ty == OperationType::Mutation;
    let root = match op.node.ty {
        OperationType::Query => Some(registry.query_type.as_str()),
        OperationType::Mutation => registry.mutation_type.as_deref(),
        OperationType::Subscription => None,
    };
    let Some(root) = root.and_then(|name| registry.types.get(name)) else {
        return invalid();
    };
    let first = op
        .node
        .selection_set
        .node
        .items
        .iter()
        .find_map(|s| match &s.node {
            Selection::Field(f) => Some(f.node.name.node.as_str()),
            _ => None,
        })
        .filter(|name| root.field_by_name(name).is_some());
    match first {
        Some(name) => (name.to_owned(), mutation),
        None => ("invalid".to_owned(), mutation),
    }
}

fn observe(operation: &str, outcome: &'static str, started: Instant) {
    metrics::counter!("hireplane_api_requests_total", "operation" => operation.to_owned(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("hireplane_api_request_duration_seconds", "operation" => operation.to_owned())
        .record(started.elapsed());
}

/// The response header of a read answered by a direct plan ([`crate::graphql::direct`]).
pub const DIRECT_HEADER: header::HeaderName =
    header::HeaderName::from_static("x-hireplane-answered-by");

async fn graphql(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    request: Request<axum::body::Body>,
) -> Response {
    let started = Instant::now();
    let client = request.extensions().get::<ClientAddr>().map(|c| c.0);
    // The request's whole budget runs from here (its headers are in): reading the body, then
    // running the query, get what is left of it.
    let timeout = Duration::from_millis(shared.settings.limits.request_timeout_ms);
    let deadline = tokio::time::Instant::now() + timeout;
    let body = match tokio::time::timeout_at(deadline, Bytes::from_request(request, &())).await {
        Ok(Ok(body)) => body,
        // Over `limits.max_body_bytes` (413), or the connection failed.
        Ok(Err(rejection)) => {
            observe("invalid", "client_error", started);
            return rejection.into_response();
        }
        Err(_) => {
            observe("invalid", "client_error", started);
            let mut r = refuse(
                StatusCode::REQUEST_TIMEOUT,
                "TIMEOUT",
                &format!(
                    "the request body did not arrive within {} ms",
                    timeout.as_millis()
                ),
            );
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return r;
        }
    };
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    // Checking the token counts against the client address's share of the database workers.
    let auth_db = match client {
        Some(addr) => shared.db.for_address(addr, deadline.into_std()),
        None => shared.db.clone(),
    };
    let caller = match shared
        .gate
        .admit(&shared.services, &auth_db, auth, client)
        .await
    {
        Ok(c) => c,
        Err(
            e
            @ (Denied::RateLimited { retry_after_s, .. } | Denied::SlowDown { retry_after_s, .. }),
        ) => {
            observe("any", "rate_limited", started);
            let mut r = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                &e.to_string(),
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after_s.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
        Err(Denied::Busy(e)) => {
            observe("any", "rate_limited", started);
            let mut r = refuse(StatusCode::TOO_MANY_REQUESTS, "BUSY", &e);
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return r;
        }
        Err(Denied::Unavailable(e)) => {
            tracing::error!(error = %e, "authenticating");
            observe("any", "server_error", started);
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "the database is not available; retry later",
            );
        }
        Err(e) => {
            observe("any", "client_error", started);
            let mut r = refuse(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", &e.to_string());
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"hireplane\""),
            );
            return r;
        }
    };
    // The request's rollout cohorts: each flag under a plan evaluated for the caller
    // ([`crate::rollouts`]); every outcome from here is counted in them too.
    let labels = if shared.cohorts.is_idle() {
        crate::rollouts::Labels::default()
    } else {
        let loaded = shared.flags.get();
        let cx = app::flags::context_for(
            &caller.access,
            shared.flags.deployment(),
            domain::Instant::from_timestamp(jiff::Timestamp::now()),
        );
        shared.cohorts.label(&loaded.flags, &cx)
    };
    // Owns what it needs, so that the part of the request that may run in a task of its own
    // (below) takes it along.
    let record = {
        let (shared, labels) = (shared.clone(), labels.clone());
        move |operation: &str, outcome: &'static str, started: Instant| {
            observe(operation, outcome, started);
            shared
                .cohorts
                .record(&labels, operation, outcome, started.elapsed());
        }
    };
    if let Some(faults) = &shared.faults
        && faults.fail(&labels.flags_on())
    {
        record("invalid", "server_error", started);
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "a failure injected for a test of the rollouts' guard",
        );
    }
    // Bounded before anything recursive (serde, async-graphql's parser and validation, the
    // resolvers) sees it: deep nesting would overflow the stack ([`crate::nesting`]).
    let max_nesting = shared.limits.max_nesting;
    if let Some(at) = crate::nesting::json(&body, max_nesting) {
        record("invalid", "client_error", started);
        return too_deep("the request body's JSON", at, max_nesting);
    }
    // Everything the request does on the database from here counts against its org's and its
    // token's shares of the workers ([`crate::db`]).
    let db = shared
        .db
        .for_caller(caller.org(), &caller.user_key(), deadline.into_std());
    let mut request: async_graphql::Request = match parse_request(&body) {
        Ok(r) => r,
        Err(detail) => {
            record("invalid", "client_error", started);
            return refuse(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                &format!("{NOT_A_REQUEST}: {detail}"),
            );
        }
    };
    record_operation(request.operation_name.as_deref());
    if let Some(at) = crate::nesting::graphql(&request.query, max_nesting) {
        record("invalid", "client_error", started);
        return too_deep("the query", at, max_nesting);
    }
    // Parsed once, or copied from the cache: the schema executes the document kept in the
    // request. A text that does not parse is left to the schema, which reports where.
    // A kept document is not copied when its direct plan answers ([`crate::graphql::direct`]).
    let mut kept = None;
    if let Some(nul) = crate::nul::in_variables(&request.variables) {
        record("invalid", "client_error", started);
        return nul_refused(&nul);
    }
    let parsed = match shared.documents.parse_kept(&request.query) {
        Ok(parsed) => {
            // A kept text was looked at before it was kept.
            if let Parsed::Fresh(doc) = &parsed
                && let Some(nul) = crate::nul::in_document(doc)
            {
                record("invalid", "client_error", started);
                return nul_refused(&nul);
            }
            let registry = shared.schema.registry();
            let seen = operation_of(registry, parsed.doc(), request.operation_name.as_deref());
            let cost = crate::cost::measure(
                registry,
                parsed.doc(),
                request.operation_name.as_deref(),
                &request.variables,
                &shared.limits,
            );
            match parsed {
                Parsed::Kept(k) if !seen.1 => kept = Some(k),
                other => request.set_parsed_query(other.into_doc()),
            }
            Ok((seen, cost.refusal(&shared.limits)))
        }
        Err(_) => Err(()),
    };
    let (operation, is_mutation) = match parsed {
        Ok((seen, None)) => seen,
        Ok(((operation, _), Some(refusal))) => {
            tracing::Span::current().record("root_field", operation.as_str());
            record(&operation, "client_error", started);
            return too_costly(&refusal);
        }
        Err(()) => ("invalid".to_owned(), false),
    };
    tracing::Span::current().record("root_field", operation.as_str());
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|_| is_mutation)
        .map(str::to_owned);
    if let Some(key) = &key
        && (key.is_empty() || key.len() > 200)
    {
        record(&operation, "client_error", started);
        return refuse(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "`Idempotency-Key` must be 1 to 200 characters",
        );
    }
    // With an idempotency key the rest runs in a task of its own, from the key's reservation
    // on: a client that goes away drops this handler, but not the reservation, the mutation,
    // nor the storing of its answer (red team, pass 4: a client that closed at once left its
    // key reserved for a day, the change made, and every retry refused with
    // `IDEMPOTENCY_KEY_IN_USE`).
    let keyed = key.is_some();
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let tail = async move {
        if let Some(key) = &key {
            let request_hash = sha256_hex(&body);
            match idempotency_begin(&db, &caller, key, &request_hash).await {
                Ok(IdempotencyBegin::New) => {}
                Ok(IdempotencyBegin::Replay(response)) => {
                    record(&operation, "ok", started);
                    let mut r = (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "application/json")],
                        response,
                    )
                        .into_response();
                    r.headers_mut()
                        .insert("idempotent-replayed", HeaderValue::from_static("true"));
                    return r;
                }
                Ok(IdempotencyBegin::Mismatch) => {
                    record(&operation, "client_error", started);
                    return refuse(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "IDEMPOTENCY_KEY_REUSED",
                        &format!("`Idempotency-Key` `{key}` was used with a different request"),
                    );
                }
                Ok(IdempotencyBegin::InProgress) => {
                    record(&operation, "client_error", started);
                    return refuse(
                        StatusCode::CONFLICT,
                        "IDEMPOTENCY_KEY_IN_USE",
                        &format!(
                            "a request with `Idempotency-Key` `{key}` is still running; retry later"
                        ),
                    );
                }
                Err(e) => {
                    tracing::error!(error = %e, "idempotency key");
                    record(&operation, "server_error", started);
                    return refuse(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "UNAVAILABLE",
                        "the database is not available; retry later",
                    );
                }
            }
        }
        let committed = Arc::new(AtomicBool::new(false));
        let secret_answer = Arc::new(AtomicBool::new(false));
        let ctx = RequestCtx {
            caller: caller.clone(),
            services: shared.services.clone(),
            db: db.clone(),
            limits: shared.limits.clone(),
            committed: committed.clone(),
            secret_answer: secret_answer.clone(),
            scheduling_until: Default::default(),
            deadline: deadline.into_std(),
            flags: shared.flags.clone(),
        };
        let span = tracing::info_span!("graphql");
        // A read whose document async-graphql has answered before without an error, and whose
        // plan writes its answer directly: the same reads as the caller, without the per-field
        // resolution. `None` from the plan: the request runs the usual way below.
        let plan = kept
            .as_ref()
            .and_then(|k| k.direct.get().cloned().flatten());
        if let Some(plan) = plan {
            let direct = tokio::time::timeout_at(
                deadline,
                plan.run(
                    &ctx,
                    request.operation_name.as_deref(),
                    &request.variables,
                    answer_limit(&shared.limits),
                )
                .instrument(span.clone()),
            )
            .await;
            let answered = !matches!(direct, Ok(crate::graphql::direct::Run::Fallback));
            metrics::counter!("hireplane_api_direct_total", "outcome" => if answered { "answered" } else { "fell_back" })
                .increment(1);
            match direct {
                Ok(crate::graphql::direct::Run::TooLarge) => {
                    record(&operation, "client_error", started);
                    return (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "application/json")],
                        too_large_answer(shared.limits.max_response_bytes, false),
                    )
                        .into_response();
                }
                Ok(crate::graphql::direct::Run::Answer(text)) => {
                    record(&operation, "ok", started);
                    // Which way answered, for operators and for the test that holds the two
                    // ways to the same bytes.
                    return (
                        StatusCode::OK,
                        [
                            (header::CONTENT_TYPE, "application/json"),
                            (DIRECT_HEADER, "direct"),
                        ],
                        text,
                    )
                        .into_response();
                }
                Ok(crate::graphql::direct::Run::Fallback) => {}
                Err(_) => {
                    record(&operation, "timeout", started);
                    return refuse(
                        StatusCode::GATEWAY_TIMEOUT,
                        "TIMEOUT",
                        &format!("the request took longer than {} ms", timeout.as_millis()),
                    );
                }
            }
        }
        if let Some(k) = &kept {
            request.set_parsed_query(k.doc.clone());
        }
        let executed = tokio::time::timeout_at(
            deadline,
            shared.schema.execute(request.data(ctx)).instrument(span),
        )
        .await;
        let response = match executed {
            Ok(r) => r,
            Err(_) => {
                if let Some(key) = &key {
                    // The mutation may still finish: keep the key reserved, so that a retry does
                    // not run it a second time.
                    tracing::warn!(key = %key, "mutation timed out; its idempotency key stays reserved");
                }
                record(&operation, "timeout", started);
                return refuse(
                    StatusCode::GATEWAY_TIMEOUT,
                    "TIMEOUT",
                    &format!("the request took longer than {} ms", timeout.as_millis()),
                );
            }
        };
        if committed.load(Ordering::Acquire) {
            if let Some(relay) = &shared.relay {
                relay.wake();
            }
            if let Some(automation) = &shared.automation {
                automation.wake();
            }
        }
        let mut response = response;
        let answered_cleanly = response.errors.is_empty();
        give_codes(&mut response, request_id.as_deref());
        let outcome = outcome_of(&response);
        record(&operation, outcome, started);
        // Written up to `limits.max_response_bytes`: past it the answer is refused, whatever
        // made it large (aliases of one field, which the store's byte budget counts once; long
        // texts; errors), and the refusal is what an idempotency key keeps.
        let text = match json_within(&response, answer_limit(&shared.limits)) {
            Ok(text) => {
                // Answered without an error, within the limit: the document passed every
                // validation rule, so it may get a direct plan (decided once per kept document).
                if answered_cleanly && let Some(k) = &kept {
                    k.direct
                        .get_or_init(|| crate::graphql::direct::plan(&k.doc).map(Arc::new));
                }
                text
            }
            Err(e) if e.is_io() => too_large_answer(
                shared.limits.max_response_bytes,
                committed.load(Ordering::Acquire),
            ),
            Err(e) => {
                tracing::error!(error = %e, "serializing a response");
                return refuse(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL",
                    "serializing the response failed",
                );
            }
        };
        if let Some(key) = &key {
            // Kept when anything committed, even beside errors (a later mutation of the request
            // failed, or reading the changed object back did): a retry must not write again.
            // Released only when nothing changed, so that a corrected retry may run.
            let changed = committed.load(Ordering::Acquire) || response.errors.is_empty();
            // A replay gets the answer when it is small, as mutations' answers are; a larger one
            // is not kept (red team, pass 3: 1,000 aliases of a long field kept 100 MB per key).
            let stored = if secret_answer.load(Ordering::Acquire) {
                serde_json::json!({
                    "errors": [{
                        "message": "this request was applied; its answer held a one-time \
                            secret, which is never kept for replays: make a new one",
                        "extensions": {"code": "ANSWER_NOT_KEPT"},
                    }]
                })
                .to_string()
            } else if text.len() <= KEPT_ANSWER_BYTES {
                text.clone()
            } else {
                serde_json::json!({
                    "errors": [{
                        "message": format!(
                            "this request was applied; its answer ({} bytes) is not kept for \
                             replays, which keep answers of up to {KEPT_ANSWER_BYTES} bytes: read \
                             what it changed again",
                            text.len()
                        ),
                        "extensions": {"code": "ANSWER_NOT_KEPT"},
                    }]
                })
                .to_string()
            };
            let (db, org, user, key) = (
                db.clone(),
                caller.org().to_owned(),
                caller.user().to_owned(),
                key.clone(),
            );
            let done = db
                .run(move |store| {
                    if changed {
                        store.idempotency_finish(&org, &user, &key, &stored)
                    } else {
                        // No command committed (each mutation is one transaction, and a failed one
                        // changes nothing): let a retry run again.
                        store.idempotency_abandon(&org, &user, &key)
                    }
                })
                .await;
            if !matches!(done, Ok(Ok(()))) {
                tracing::error!("storing an idempotent response failed");
            }
        }
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            text,
        )
            .into_response()
    };
    if keyed {
        match tokio::spawn(tail).await {
            Ok(response) => response,
            Err(_) => refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "the request failed",
            ),
        }
    } else {
        tail.await
    }
}

/// The largest answer an idempotency key keeps for its replays (bigger ones are replaced by a
/// short `ANSWER_NOT_KEPT` error saying the request was applied).
const KEPT_ANSWER_BYTES: usize = 64 * 1024;

/// The most bytes an answer may take (`limits.max_response_bytes`, 0: no limit).
pub(crate) fn answer_limit(limits: &crate::settings::Limits) -> usize {
    match limits.max_response_bytes {
        0 => usize::MAX,
        n => n,
    }
}

/// The refusal of an answer larger than `limit` bytes, saying so when mutations were applied.
fn too_large_answer(limit: usize, applied: bool) -> String {
    serde_json::json!({
        "errors": [{
            "message": crate::graphql::budget::too_large_message(limit, applied),
            "extensions": {"code": "BAD_USER_INPUT"},
        }]
    })
    .to_string()
}

/// A buffer that takes at most `limit` bytes, then fails the write (serde_json stops there).
struct Capped {
    buf: Vec<u8>,
    limit: usize,
}

/// `value` as JSON text of at most `limit` bytes: past it, an IO error (`is_io`), for which
/// serde_json stopped writing.
pub(crate) fn json_within(
    value: &impl serde::Serialize,
    limit: usize,
) -> Result<String, serde_json::Error> {
    let mut out = Capped {
        buf: Vec::new(),
        limit,
    };
    serde_json::to_writer(&mut out, value)?;
    // serde_json writes UTF-8.
    String::from_utf8(out.buf).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

impl std::io::Write for Capped {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.buf.len().saturating_add(bytes.len()) > self.limit {
            return Err(std::io::Error::other("the answer is over its limit"));
        }
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A request refused before it runs for what it asks ([`crate::cost`]): a GraphQL error with
/// code `TOO_COSTLY` and the place in the query, HTTP 200 as for async-graphql's own limits.
fn too_costly(refusal: &crate::cost::Refusal) -> Response {
    let mut error = serde_json::json!({
        "message": refusal.message,
        "extensions": {"code": "TOO_COSTLY"},
    });
    if let Some(pos) = refusal.pos {
        error["locations"] = serde_json::json!([{"line": pos.line, "column": pos.column}]);
    }
    (
        StatusCode::OK,
        axum::Json(serde_json::json!({ "errors": [error] })),
    )
        .into_response()
}

/// An argument holding NUL ([`crate::nul`]): `BAD_USER_INPUT`, as a resolver refuses a value
/// (200), with the literal's place.
fn nul_refused(nul: &crate::nul::Nul) -> Response {
    let mut error = serde_json::json!({
        "message": nul.message(),
        "extensions": {"code": "BAD_USER_INPUT"},
    });
    if let Some(pos) = nul.pos {
        error["locations"] = serde_json::json!([{"line": pos.line, "column": pos.column}]);
    }
    (
        StatusCode::OK,
        axum::Json(serde_json::json!({ "errors": [error] })),
    )
        .into_response()
}

/// A request nested deeper than `limits.max_nesting`: 400, `BAD_USER_INPUT`, where.
fn too_deep(what: &str, at: crate::nesting::TooDeep, max: usize) -> Response {
    let body = serde_json::json!({
        "errors": [{
            "message": format!(
                "{what} nests lists, objects or selections more than {max} levels deep at line {}, \
                 column {} (`limits.max_nesting`)",
                at.line, at.column
            ),
            "locations": [{"line": at.line, "column": at.column}],
            "extensions": {"code": "BAD_USER_INPUT"},
        }]
    });
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// The start of the message for a body that is not a GraphQL request.
const NOT_A_REQUEST: &str = "the body is not a GraphQL request (JSON with `query`, optional `variables` and `operationName`)";

/// The GraphQL request in `body`: a JSON object with a `query` that is not blank. Serde alone
/// would take `{}` (no query) and even an array (a struct's fields in order); both are refused
/// here, with what is wrong.
fn parse_request(body: &[u8]) -> Result<async_graphql::Request, String> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err("expected a JSON object".to_owned());
    }
    let request: async_graphql::Request = serde_json::from_slice(body)
        .map_err(|e| format!("line {}, column {}: {e}", e.line(), e.column()))?;
    if request.query.trim().is_empty() {
        return Err("`query` is missing or empty".to_owned());
    }
    Ok(request)
}

/// The most errors one answer carries.
pub(crate) const MAX_ERRORS: usize = 100;

/// Every error gets a code. Ours carry one; async-graphql's own do not: those of the document
/// (it does not parse, names what the schema lacks, has wrong argument types, is too deep or
/// too complex) are `GRAPHQL_VALIDATION_FAILED`, a client's mistake; one raised while resolving
/// a field (it has a path) without a code is a fault of ours that escaped the resolvers' error
/// mapping: `INTERNAL`, and logged.
///
/// An `INTERNAL` error also carries the request's id (`extensions.requestId`, as in the
/// `x-request-id` header), under which the log has what failed.
///
/// At most [`MAX_ERRORS`] errors are answered, the last saying how many more there were: a
/// document can repeat one mistake as often as its size allows (red team, pass 19: one
/// argument repeated 30,000 times in 240 KB gave 4.8 MB of errors).
pub(crate) fn give_codes(response: &mut async_graphql::Response, request_id: Option<&str>) {
    if response.errors.len() > MAX_ERRORS {
        let more = response.errors.len() - (MAX_ERRORS - 1);
        response.errors.truncate(MAX_ERRORS - 1);
        response.errors.push(async_graphql::ServerError::new(
            format!("and {more} more errors, not shown"),
            None,
        ));
    }
    for e in &mut response.errors {
        let code = e.extensions.as_ref().and_then(|x| x.get("code").cloned());
        if let Some(code) = code {
            if let (async_graphql::Value::String(c), Some(id)) = (&code, request_id)
                && c == "INTERNAL"
            {
                e.extensions
                    .get_or_insert_with(Default::default)
                    .set("requestId", id);
            }
            continue;
        }
        let code = if e.path.is_empty() {
            "GRAPHQL_VALIDATION_FAILED"
        } else {
            let field = e
                .path
                .iter()
                .map(|segment| match segment {
                    async_graphql::PathSegment::Field(name) => name.clone(),
                    async_graphql::PathSegment::Index(i) => i.to_string(),
                })
                .collect::<Vec<_>>()
                .join(".");
            tracing::error!(error = %e.message, %field, "a resolver failed without a code");
            "INTERNAL"
        };
        let extensions = e.extensions.get_or_insert_with(Default::default);
        extensions.set("code", code);
        if let (Some(id), "INTERNAL") = (request_id, code) {
            extensions.set("requestId", id);
        }
    }
}

fn outcome_of(response: &async_graphql::Response) -> &'static str {
    let code = |e: &async_graphql::ServerError| {
        e.extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .and_then(|v| match v {
                async_graphql::Value::String(s) => Some(s.clone()),
                _ => None,
            })
    };
    let mut outcome = "ok";
    for e in &response.errors {
        match code(e).as_deref() {
            Some("INTERNAL") => return "server_error",
            Some("TIMEOUT") => outcome = "timeout",
            Some("BUSY") if outcome != "timeout" => outcome = "rate_limited",
            _ if outcome == "ok" => outcome = "client_error",
            _ => {}
        }
    }
    outcome
}

async fn idempotency_begin(
    db: &Db,
    caller: &Caller,
    key: &str,
    hash: &str,
) -> Result<IdempotencyBegin, String> {
    let (org, user, key, hash) = (
        caller.org().to_owned(),
        caller.user().to_owned(),
        key.to_owned(),
        hash.to_owned(),
    );
    let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
    match db
        .run(move |store| store.idempotency_begin(&org, &user, &key, &hash, now))
        .await
    {
        Ok(Ok(b)) => Ok(b),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn internal_errors_carry_the_request_id() {
        let mut response = async_graphql::Response::from_errors(vec![
            crate::graphql::internal(
                "reaching the database",
                crate::db::DbError::Panicked("boom".into()),
            )
            .into_server_error(async_graphql::Pos::default()),
            crate::graphql::error(crate::graphql::Code::NotFound, None, "no such thing")
                .into_server_error(async_graphql::Pos::default()),
        ]);
        give_codes(&mut response, Some("abc-1"));
        let v = serde_json::to_value(&response).unwrap();
        assert_eq!(v["errors"][0]["extensions"]["code"], "INTERNAL", "{v}");
        assert_eq!(v["errors"][0]["extensions"]["requestId"], "abc-1", "{v}");
        assert!(
            v["errors"][1]["extensions"].get("requestId").is_none(),
            "{v}"
        );
    }
}
