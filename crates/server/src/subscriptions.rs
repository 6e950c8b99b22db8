//! GraphQL subscriptions over WebSocket: `GET /graphql` upgraded, speaking the
//! `graphql-transport-ws` protocol (what Apollo Client's and urql's `graphql-ws` link use) or the
//! legacy `graphql-ws` one (`subscriptions-transport-ws`), chosen by `Sec-WebSocket-Protocol`.
//!
//! The protocol loop is ours (not `async_graphql::http::WebSocket`) so that everything a client
//! controls is bounded and every refusal has the protocol's close code:
//! - **Auth**: the token in `connection_init`'s payload (`{"Authorization": "Bearer hpt_..."}`)
//!   or else the upgrade request's `Authorization` header, checked by the HTTP gate
//!   ([`crate::auth::Gate::admit`]: failed-authentication slow-down and the token's rate limit
//!   included). A bad token closes with 4403, a subscribe before the acknowledgement with 4401,
//!   a second `connection_init` with 4429, no `connection_init` within
//!   `subscriptions.init_timeout_ms` with 4408, a duplicate subscription id with 4409, an
//!   unreadable message with 4400. Every `subscribe` passes the gate again (one request of the
//!   token's rate), and every ping interval the token is checked again: revoked or expired,
//!   the connection closes with 4403.
//! - **Bounds**: `subscriptions.max_per_connection` subscriptions per connection (a further one
//!   gets an `error`), `max_connections_per_token` connections per token and
//!   `max_connections_per_user` per user, all their tokens together, and
//!   `max_connections_per_org` per org, all its users together (4429),
//!   `max_message_bytes` per message from the client (1009), `max_event_bytes` per message to
//!   it (the subscription ends with an `error`), and four of those queued per connection for a
//!   client that reads slowly (its subscriptions wait: red team, pass 6, held 1.1 GB with
//!   64 messages of up to 32 MiB queued per connection), [`MAX_SUBSCRIPTION_SELECTIONS`]
//!   fields in a subscription's document (each event builds them all), a ping every `ping_ms` and a close (3008) after two
//!   of them without a frame from the client, `send_timeout_ms` per message written. Only
//!   subscriptions run over the socket (queries and mutations go by POST, with idempotency and
//!   cost limits). The connection counts against its address's connections
//!   (`limits.max_connections_per_ip`) while it lives.
//! - **Shutdown**: the server's graceful shutdown closes every socket (1001) and waits for them.
//!
//! **Delivery**: one [`Heads`] task per replica reads, every `subscriptions.poll_ms`, the head
//! of each org that has subscribers (`Store::outbox_head`: one row by key, however many
//! subscribe) and wakes that org's subscriptions when it moved; each subscription then reads
//! the events after its cursor through `app::Services::events` as its caller (the same
//! function, so the same filter, as the `events` connection). Idle, a replica costs one
//! primary-key read per subscribed org per interval instead of one outbox scan per subscription;
//! on a change, the reads are the ones a per-subscriber filter needs anyway (each caller sees a
//! different subset). A replica polls for itself: events committed through another replica
//! reach its subscribers within the same interval.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use crate::auth::{Caller, Denied};
use crate::db::Db;
use crate::http::Shared;

/// The protocols, in the server's order of preference.
pub const PROTOCOLS: [&str; 2] = ["graphql-transport-ws", "graphql-ws"];

/// The two protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    /// `graphql-transport-ws` (the `graphql-ws` library; Apollo Client, urql).
    TransportWs,
    /// `graphql-ws`: the legacy `subscriptions-transport-ws`.
    Legacy,
}

/// The most selections (fields, spreads, inline fragments; fragments expanded) a subscription's
/// document may make: every event builds all of them (red team, pass 6: 3,500 aliases of
/// `cloudEvent` in each of 40 subscriptions), and a subscriber needs a few dozen.
pub const MAX_SUBSCRIPTION_SELECTIONS: u64 = 200;

/// How many of the largest messages (`subscriptions.max_event_bytes`) a connection queues for
/// its client: past it, its subscriptions wait for the client to read.
const QUEUED_EVENTS: usize = 4;

/// What a subscription's resolver needs: handed to the schema as the request's data.
pub struct SubscriptionCtx {
    /// The connection's caller as last checked (every ping and every subscribe): each read
    /// takes it anew, so a user whose role or policy changed reads as they now are (red team,
    /// pass 6: a demoted recruiter's subscription went on delivering what they no longer see).
    pub caller: Arc<std::sync::RwLock<Caller>>,
    pub services: Arc<app::Services>,
    pub db: Db,
    pub heads: Arc<Heads>,
    /// A read's deadline after it starts (`limits.request_timeout_ms`).
    pub request_timeout: Duration,
    /// The connection's queue ([`Connection::queue`]): before an event's message is built, the
    /// subscription takes room for the largest message there ([`SubscriptionCtx::room_to_build`]),
    /// so that no more messages are built, or wait built, than the queue holds (red team, pass
    /// 7: 80 subscriptions each building a 100 KB message, its tree several times that, held
    /// 350 MB before any asked for room).
    pub queue: Arc<tokio::sync::Semaphore>,
    /// The most bytes of one message (`subscriptions.max_event_bytes`), as the queue counts.
    pub event_bytes: u32,
    /// The room taken for the message being built, handed to the task that writes it.
    pub room: Mutex<Option<tokio::sync::OwnedSemaphorePermit>>,
}

impl SubscriptionCtx {
    /// Waits for room in the connection's queue for the largest message, and keeps it for the
    /// message about to be built; `false` when the connection is gone.
    pub async fn room_to_build(&self) -> bool {
        let Ok(permit) = self
            .queue
            .clone()
            .acquire_many_owned(self.event_bytes)
            .await
        else {
            return false;
        };
        match self.room.lock() {
            Ok(mut room) => *room = Some(permit),
            Err(poisoned) => *poisoned.into_inner() = Some(permit),
        }
        true
    }

    /// The room taken for the message just built, if any.
    fn take_room(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        match self.room.lock() {
            Ok(mut room) => room.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        }
    }

    /// The caller as last checked.
    pub fn caller(&self) -> Caller {
        match self.caller.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// Each subscribed org's last event sequence, polled by one task per replica.
#[derive(Default)]
pub struct Heads {
    orgs: Mutex<HashMap<String, watch::Sender<i64>>>,
}

impl Heads {
    /// A receiver that changes when org `org`'s head moves (while it is held, the org is
    /// polled).
    pub fn watch(&self, org: &str) -> watch::Receiver<i64> {
        let mut orgs = match self.orgs.lock() {
            Ok(o) => o,
            Err(poisoned) => poisoned.into_inner(),
        };
        orgs.entry(org.to_owned())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// The orgs someone is watching (the others are forgotten).
    fn watched(&self) -> Vec<(String, watch::Sender<i64>)> {
        let mut orgs = match self.orgs.lock() {
            Ok(o) => o,
            Err(poisoned) => poisoned.into_inner(),
        };
        orgs.retain(|_, tx| tx.receiver_count() > 0);
        orgs.iter()
            .map(|(org, tx)| (org.clone(), tx.clone()))
            .collect()
    }

    /// Polls every `every` until `stop` says so.
    pub fn start(
        self: &Arc<Self>,
        db: Db,
        every: Duration,
        mut stop: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let heads = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = stopped(&mut stop) => return,
                }
                for (org, tx) in heads.watched() {
                    let read = org.clone();
                    match db.run(move |store| store.outbox_head(&read)).await {
                        Ok(Ok(head)) => {
                            tx.send_if_modified(|seen| {
                                let moved = *seen != head;
                                *seen = head;
                                moved
                            });
                        }
                        Ok(Err(e)) => tracing::warn!(error = %e, %org, "reading the events' head"),
                        Err(e) => tracing::warn!(error = %e, %org, "reading the events' head"),
                    }
                }
            }
        })
    }
}

/// Connections open per token and per user on this replica (keys `token:<id>`,
/// `user:<org>/<user>`).
#[derive(Default)]
pub struct Sockets {
    open: Mutex<HashMap<String, usize>>,
}

/// One counted connection of its keys; uncounted when dropped.
struct TokenSlot {
    sockets: Arc<Sockets>,
    keys: Vec<String>,
}

impl Sockets {
    /// A connection counted under every key of `keys` (each with its most, 0: no limit), or
    /// the first key that has its most already, counting none.
    fn take(self: &Arc<Self>, keys: &[(String, usize)]) -> Result<TokenSlot, usize> {
        let mut map = match self.open.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        if let Some(full) = keys
            .iter()
            .position(|(k, max)| *max > 0 && map.get(k).is_some_and(|n| n >= max))
        {
            return Err(full);
        }
        for (k, _) in keys {
            *map.entry(k.clone()).or_insert(0) += 1;
        }
        Ok(TokenSlot {
            sockets: self.clone(),
            keys: keys.iter().map(|(k, _)| k.clone()).collect(),
        })
    }
}

impl Drop for TokenSlot {
    fn drop(&mut self) {
        let mut map = match self.sockets.open.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        for key in &self.keys {
            if let Some(n) = map.get_mut(key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    map.remove(key);
                }
            }
        }
    }
}

/// `GET /graphql` with `Upgrade: websocket`: the protocol chosen, the upgrade's bounds set.
pub fn upgrade(
    shared: Arc<Shared>,
    ws: WebSocketUpgrade,
    headers: &HeaderMap,
    client: Option<std::net::IpAddr>,
    slot: Option<crate::http::ConnectionSlot>,
) -> Response {
    let offered: Vec<String> = headers
        .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    // A client that names no protocol gets the current one; one that names only others is
    // told so once connected (4406), as the protocol asks.
    let protocol = if offered.is_empty() || offered.iter().any(|p| p == PROTOCOLS[0]) {
        Some(Protocol::TransportWs)
    } else if offered.iter().any(|p| p == PROTOCOLS[1]) {
        Some(Protocol::Legacy)
    } else {
        None
    };
    let header_token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let max = shared.settings.subscriptions.max_message_bytes;
    let ws = ws
        .protocols(match protocol {
            Some(Protocol::Legacy) => [PROTOCOLS[1]],
            _ => [PROTOCOLS[0]],
        })
        .max_message_size(max)
        .max_frame_size(max);
    ws.on_upgrade(move |socket| async move {
        let _slot = slot;
        metrics::gauge!("hireplane_subscription_connections").increment(1.0);
        match protocol {
            Some(protocol) => {
                Connection::new(shared, protocol, header_token, client)
                    .run(socket)
                    .await;
            }
            None => {
                let mut socket = socket;
                let _ = socket.send(close(4406, "Subprotocol not acceptable")).await;
            }
        }
        metrics::gauge!("hireplane_subscription_connections").decrement(1.0);
    })
    .into_response()
}

fn close(code: u16, reason: &str) -> Message {
    // A close frame's reason is at most 123 bytes.
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(reason[..end].to_owned()),
    }))
}

/// A client's message of either protocol.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Value>,
    },
    #[serde(alias = "start")]
    Subscribe {
        id: String,
        payload: Value,
    },
    #[serde(alias = "stop")]
    Complete {
        id: String,
    },
    /// Its payload, if any, is not read (nor answered: the pong has none).
    Ping {},
    Pong {},
    ConnectionTerminate,
}

/// What a subscription's task sends to the connection.
enum Out {
    /// A message, with the room it takes in the connection's queue (given back once written).
    Text(String, Option<tokio::sync::OwnedSemaphorePermit>),
    /// The subscription ended (its `complete` or `error` is sent already).
    Ended(String),
}

/// How a connection ends.
enum End {
    Close(u16, String),
    /// The client went away, or closed itself.
    Gone,
}

struct Connection {
    shared: Arc<Shared>,
    protocol: Protocol,
    header_token: Option<String>,
    client: Option<std::net::IpAddr>,
    /// The authenticated caller (shared with the subscriptions, which read as the caller last
    /// checked) and their connection's slot, once `connection_init` passed.
    caller: Option<(Arc<std::sync::RwLock<Caller>>, String, TokenSlot)>,
    /// Room for the messages queued for the client, in bytes: [`QUEUED_EVENTS`] of the
    /// largest.
    queue: Arc<tokio::sync::Semaphore>,
    subscriptions: HashMap<String, tokio::task::JoinHandle<()>>,
    /// Periodic checks in a row that could not be made ([`Connection::recheck`]).
    unchecked: u32,
}

impl Connection {
    fn new(
        shared: Arc<Shared>,
        protocol: Protocol,
        header_token: Option<String>,
        client: Option<std::net::IpAddr>,
    ) -> Connection {
        let queue = Arc::new(tokio::sync::Semaphore::new(queue_bytes(
            shared.settings.subscriptions.max_event_bytes,
        )));
        Connection {
            queue,
            shared,
            protocol,
            header_token,
            client,
            caller: None,
            subscriptions: HashMap::new(),
            unchecked: 0,
        }
    }

    async fn run(mut self, socket: WebSocket) {
        let settings = self.shared.settings.subscriptions.clone();
        let send_timeout = Duration::from_millis(settings.send_timeout_ms.max(1));
        let ping_every = Duration::from_millis(settings.ping_ms.max(10));
        let (mut sink, mut stream) = socket.split();
        let (out_tx, mut out_rx) = mpsc::channel::<Out>(64);
        let mut stop = self.shared.stop.clone();
        let init_deadline =
            tokio::time::Instant::now() + Duration::from_millis(settings.init_timeout_ms.max(1));
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
        let mut heard = tokio::time::Instant::now();
        let end = loop {
            let mut outgoing: Vec<Message> = Vec::new();
            // The queue's room the messages take, given back once they are written.
            let mut room = Vec::new();
            let step = tokio::select! {
                () = stopped(&mut stop) => Err(End::Close(1001, "the server is shutting down".into())),
                _ = tokio::time::sleep_until(init_deadline), if self.caller.is_none() => {
                    Err(End::Close(4408, "Connection initialisation timeout".into()))
                }
                _ = ping.tick() => {
                    if heard.elapsed() > 2 * ping_every {
                        Err(End::Close(3008, "no message from the client within two pings".into()))
                    } else {
                        outgoing.push(Message::Ping(Default::default()));
                        if self.protocol == Protocol::Legacy && self.caller.is_some() {
                            outgoing.push(text(json!({"type": "ka"})));
                        }
                        self.recheck().await
                    }
                }
                Some(out) = out_rx.recv() => {
                    match out {
                        Out::Text(t, permit) => {
                            outgoing.push(Message::Text(Utf8Bytes::from(t)));
                            room.extend(permit);
                        }
                        Out::Ended(id) => { self.subscriptions.remove(&id); }
                    }
                    Ok(())
                }
                received = stream.next() => {
                    heard = tokio::time::Instant::now();
                    match received {
                        None => Err(End::Gone),
                        Some(Err(e)) => {
                            // Over `max_message_bytes`, or a broken frame.
                            let too_big = e.to_string().to_ascii_lowercase().contains("too long")
                                || e.to_string().to_ascii_lowercase().contains("size");
                            if too_big {
                                Err(End::Close(1009, format!(
                                    "a message is larger than {} bytes (`subscriptions.max_message_bytes`)",
                                    settings.max_message_bytes
                                )))
                            } else {
                                tracing::debug!(error = %e, "websocket");
                                Err(End::Gone)
                            }
                        }
                        Some(Ok(Message::Close(_))) => Err(End::Gone),
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
                        Some(Ok(Message::Binary(_))) => {
                            Err(End::Close(4400, "messages are JSON text".into()))
                        }
                        Some(Ok(Message::Text(t))) => {
                            self.on_message(t.as_str(), &out_tx, &mut outgoing).await
                        }
                    }
                }
            };
            let mut written = true;
            for m in outgoing {
                if !matches!(
                    tokio::time::timeout(send_timeout, sink.send(m)).await,
                    Ok(Ok(()))
                ) {
                    written = false;
                    break;
                }
            }
            drop(room);
            if let Err(end) = step {
                break end;
            }
            // A client that does not read within `send_timeout_ms`, or a socket that broke:
            // the connection ends, and with it its subscriptions.
            if !written {
                break End::Gone;
            }
        };
        for (_, task) in self.subscriptions.drain() {
            task.abort();
        }
        if let End::Close(code, reason) = end {
            if code == 4403 && self.protocol == Protocol::Legacy {
                let _ = tokio::time::timeout(
                    send_timeout,
                    sink.send(text(
                        json!({"type": "connection_error", "payload": {"message": reason}}),
                    )),
                )
                .await;
            }
            let _ = tokio::time::timeout(send_timeout, sink.send(close(code, &reason))).await;
            // RFC 6455, 7.1.1: the server that closes waits (bounded) for the client's close
            // before dropping the connection, reading what the client still sends. Dropped at
            // once, a client that was reading pings would find its automatic pong refused and
            // lose the close frame behind them (seen as 1006 instead of the code).
            let linger = send_timeout.min(Duration::from_secs(5));
            let _ = tokio::time::timeout(linger, async {
                while let Some(Ok(m)) = stream.next().await {
                    if matches!(m, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
        let _ = tokio::time::timeout(send_timeout, sink.close()).await;
    }

    /// The token checked again (every ping), outside its rate limit: revoked, expired, the
    /// user deactivated: 4403; otherwise the subscriptions read as the caller now is. When the
    /// check cannot be made twice in a row (the database busy or away: something a caller can
    /// bring about for its own org), the connection closes (1013) rather than go on with an
    /// access that may be stale.
    async fn recheck(&mut self) -> Result<(), End> {
        let Some((_, header, _)) = &self.caller else {
            return Ok(());
        };
        let header = header.clone();
        let db = self.gate_db();
        let checked = self
            .shared
            .gate
            // No client address: the token was admitted already, so this is no guess, and other
            // clients' bad tokens from the same address (their slow-down) must not close it.
            .authenticate(&self.shared.services, &db, Some(&header), None)
            .await;
        match checked {
            Ok(fresh) => {
                self.unchecked = 0;
                self.set_caller(fresh);
                Ok(())
            }
            Err(e @ (Denied::Token(_) | Denied::Missing)) => {
                Err(End::Close(4403, format!("Forbidden: {e}")))
            }
            Err(e) => {
                self.unchecked += 1;
                if self.unchecked >= 2 {
                    Err(End::Close(
                        1013,
                        format!(
                            "the connection's access could not be checked again ({e}); reconnect"
                        ),
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The caller as just checked, for the connection and its subscriptions' next reads.
    fn set_caller(&self, fresh: Caller) {
        if let Some((current, _, _)) = &self.caller {
            match current.write() {
                Ok(mut c) => *c = fresh,
                Err(poisoned) => *poisoned.into_inner() = fresh,
            }
        }
    }

    /// The database as the gate checks a token: the client address's share, a request's time.
    fn gate_db(&self) -> Db {
        let deadline = std::time::Instant::now()
            + Duration::from_millis(self.shared.settings.limits.request_timeout_ms);
        match self.client {
            Some(addr) => self.shared.db.for_address(addr, deadline),
            None => self.shared.db.clone(),
        }
    }

    async fn admit(&self, header: Option<&str>) -> Result<Caller, Denied> {
        self.shared
            .gate
            .admit(&self.shared.services, &self.gate_db(), header, self.client)
            .await
    }

    async fn on_message(
        &mut self,
        message: &str,
        out: &mpsc::Sender<Out>,
        outgoing: &mut Vec<Message>,
    ) -> Result<(), End> {
        let message: ClientMessage = serde_json::from_str(message).map_err(|e| {
            End::Close(
                4400,
                format!("not a message of {}: {e}", self.protocol_name()),
            )
        })?;
        match message {
            ClientMessage::ConnectionInit { payload } => {
                if self.caller.is_some() {
                    return Err(End::Close(4429, "Too many initialisation requests".into()));
                }
                let header = payload
                    .as_ref()
                    .and_then(token_of_payload)
                    .or_else(|| self.header_token.clone());
                let caller = match self.admit(header.as_deref()).await {
                    Ok(c) => c,
                    Err(e @ (Denied::Token(_) | Denied::Missing)) => {
                        return Err(End::Close(4403, format!("Forbidden: {e}")));
                    }
                    Err(
                        e
                        @ (Denied::RateLimited { .. } | Denied::SlowDown { .. } | Denied::Busy(_)),
                    ) => {
                        return Err(End::Close(1013, e.to_string()));
                    }
                    Err(Denied::Unavailable(e)) => {
                        tracing::error!(error = %e, "authenticating a subscription");
                        return Err(End::Close(
                            1011,
                            "the database is not available; retry later".into(),
                        ));
                    }
                };
                let settings = &self.shared.settings.subscriptions;
                let keys = [
                    (
                        format!("token:{}", caller.token_id),
                        settings.max_connections_per_token,
                    ),
                    (
                        format!("user:{}/{}", caller.org(), caller.user()),
                        settings.max_connections_per_user,
                    ),
                    (
                        format!("org:{}", caller.org()),
                        settings.max_connections_per_org,
                    ),
                ];
                let slot = match self.shared.sockets.take(&keys) {
                    Ok(slot) => slot,
                    Err(0) => {
                        return Err(End::Close(
                            4429,
                            format!(
                                "token `{}` has {} connections open, the most one token may",
                                caller.token_id, settings.max_connections_per_token
                            ),
                        ));
                    }
                    Err(1) => {
                        return Err(End::Close(
                            4429,
                            format!(
                                "user `{}` has {} connections open, the most one user may",
                                caller.user(),
                                settings.max_connections_per_user
                            ),
                        ));
                    }
                    Err(_) => {
                        return Err(End::Close(
                            4429,
                            format!(
                                "org `{}` has {} connections open, the most one org may",
                                caller.org(),
                                settings.max_connections_per_org
                            ),
                        ));
                    }
                };
                self.caller = Some((
                    Arc::new(std::sync::RwLock::new(caller)),
                    header.unwrap_or_default(),
                    slot,
                ));
                outgoing.push(text(json!({"type": "connection_ack"})));
                Ok(())
            }
            ClientMessage::Subscribe { id, payload } => {
                self.subscribe(id, payload, out, outgoing).await
            }
            ClientMessage::Complete { id } => {
                if let Some(task) = self.subscriptions.remove(&id) {
                    task.abort();
                    if self.protocol == Protocol::Legacy {
                        outgoing.push(text(json!({"type": "complete", "id": id})));
                    }
                }
                Ok(())
            }
            ClientMessage::Ping { .. } => {
                if self.protocol == Protocol::TransportWs {
                    outgoing.push(text(json!({"type": "pong"})));
                }
                Ok(())
            }
            ClientMessage::Pong { .. } => Ok(()),
            ClientMessage::ConnectionTerminate => Err(End::Gone),
        }
    }

    fn protocol_name(&self) -> &'static str {
        match self.protocol {
            Protocol::TransportWs => PROTOCOLS[0],
            Protocol::Legacy => PROTOCOLS[1],
        }
    }

    /// An `error` for subscription `id` (the connection goes on).
    fn refusal(&self, id: &str, code: &str, message: &str) -> Message {
        let error = json!({"message": message, "extensions": {"code": code}});
        text(error_frame(self.protocol, id, json!([error])))
    }

    async fn subscribe(
        &mut self,
        id: String,
        payload: Value,
        out: &mpsc::Sender<Out>,
        outgoing: &mut Vec<Message>,
    ) -> Result<(), End> {
        let Some((_, header, _)) = &self.caller else {
            return Err(End::Close(4401, "Unauthorized".into()));
        };
        if self.subscriptions.contains_key(&id) {
            return Err(End::Close(
                4409,
                format!("Subscriber for {id} already exists"),
            ));
        }
        let settings = &self.shared.settings.subscriptions;
        if self.subscriptions.len() >= settings.max_per_connection {
            outgoing.push(self.refusal(
                &id,
                "RATE_LIMITED",
                &format!(
                    "this connection runs {} subscriptions, the most one may \
                     (`subscriptions.max_per_connection`); complete one first",
                    settings.max_per_connection
                ),
            ));
            return Ok(());
        }
        // One request of the token's rate, as a POST would be; a token revoked since is refused.
        let header = header.clone();
        let caller = match self.admit(Some(&header)).await {
            Ok(c) => c,
            Err(e @ (Denied::Token(_) | Denied::Missing)) => {
                return Err(End::Close(4403, format!("Forbidden: {e}")));
            }
            Err(e @ (Denied::RateLimited { .. } | Denied::SlowDown { .. } | Denied::Busy(_))) => {
                outgoing.push(self.refusal(&id, "RATE_LIMITED", &e.to_string()));
                return Ok(());
            }
            Err(Denied::Unavailable(_)) => {
                outgoing.push(self.refusal(
                    &id,
                    "UNAVAILABLE",
                    "the database is not available; retry later",
                ));
                return Ok(());
            }
        };
        self.set_caller(caller);
        let Some((current, _, _)) = &self.caller else {
            return Err(End::Close(4401, "Unauthorized".into()));
        };
        let current = current.clone();
        let request = match self.request(payload) {
            Ok(r) => r,
            Err((code, message)) => {
                outgoing.push(self.refusal(&id, code, &message));
                return Ok(());
            }
        };
        let ctx = SubscriptionCtx {
            caller: current,
            services: self.shared.services.clone(),
            db: self.shared.db.clone(),
            heads: self.shared.heads.clone(),
            request_timeout: Duration::from_millis(self.shared.settings.limits.request_timeout_ms),
            queue: self.queue.clone(),
            event_bytes: u32::try_from(
                queue_bytes(self.shared.settings.subscriptions.max_event_bytes) / QUEUED_EVENTS,
            )
            .unwrap_or(u32::MAX),
            room: Mutex::new(None),
        };
        let ctx = Arc::new(ctx);
        let mut responses = self.shared.schema.execute_stream(request.data(ctx.clone()));
        let (out, protocol, sub) = (out.clone(), self.protocol, id.clone());
        // Each message is bounded by `subscriptions.max_event_bytes`, and by the answer's limit
        // when that is smaller.
        let limit = crate::http::answer_limit(&self.shared.settings.limits)
            .min(self.shared.settings.subscriptions.max_event_bytes.max(1));
        let queue = self.queue.clone();
        let task = tokio::spawn(async move {
            let mut first = true;
            while let Some(mut response) = responses.next().await {
                crate::http::give_codes(&mut response, None);
                // A subscription refused before it streams (validation, arguments): `error`.
                let refused = first
                    && response.data == async_graphql::Value::Null
                    && !response.errors.is_empty();
                first = false;
                let message = if refused {
                    let errors = serde_json::to_value(&response.errors).unwrap_or(Value::Null);
                    error_frame(protocol, &sub, errors).to_string()
                } else {
                    // Each message is bounded (red team, pass 4: 3,000 aliases of `cloudEvent`
                    // made messages of 1 MB against a limit of 1 MB): past it the subscription
                    // ends with an error that says so.
                    let Ok(payload) = crate::http::json_within(&response, limit) else {
                        let errors = json!([{
                            "message": format!(
                                "a message of this subscription is larger than {limit} bytes \
                                 (`subscriptions.max_event_bytes`): select fewer fields or \
                                 aliases"
                            ),
                            "extensions": {"code": "BAD_USER_INPUT"},
                        }]);
                        let message = error_frame(protocol, &sub, errors);
                        let _ = out.send(Out::Ended(sub)).await;
                        let _ = out.send(Out::Text(message.to_string(), None)).await;
                        return;
                    };
                    let kind = match protocol {
                        Protocol::TransportWs => "next",
                        Protocol::Legacy => "data",
                    };
                    // The payload written once, as it is.
                    format!(
                        "{{\"type\":\"{kind}\",\"id\":{},\"payload\":{payload}}}",
                        Value::String(sub.clone())
                    )
                };
                if refused {
                    // Uncounted before the client reads why, so that its next subscribe has
                    // the place.
                    let _ = out.send(Out::Ended(sub)).await;
                    let _ = out.send(Out::Text(message, None)).await;
                    return;
                }
                // The room taken before the message was built, cut to its size; or, for a
                // message built without (none is), room now. While a client reads slowly, its
                // subscriptions wait for room before they build the next message.
                let size = u32::try_from(message.len()).unwrap_or(u32::MAX);
                let room = match ctx.take_room() {
                    Some(mut room) if room.num_permits() >= size as usize => {
                        room.split(size as usize).unwrap_or(room)
                    }
                    other => {
                        drop(other);
                        let Ok(room) = queue.clone().acquire_many_owned(size).await else {
                            return;
                        };
                        room
                    }
                };
                if out.send(Out::Text(message, Some(room))).await.is_err() {
                    return;
                }
                metrics::counter!("hireplane_subscription_messages_total").increment(1);
            }
            let _ = out.send(Out::Ended(sub.clone())).await;
            let _ = out
                .send(Out::Text(
                    json!({"type": "complete", "id": sub}).to_string(),
                    None,
                ))
                .await;
        });
        self.subscriptions.insert(id, task);
        Ok(())
    }

    /// The subscribe message's GraphQL request: nesting bounded before it is parsed, a
    /// subscription operation only.
    fn request(&self, payload: Value) -> Result<async_graphql::Request, (&'static str, String)> {
        let request: async_graphql::Request = serde_json::from_value(payload).map_err(|e| {
            (
                "BAD_REQUEST",
                format!("the payload is not a GraphQL request: {e}"),
            )
        })?;
        let max = self.shared.limits.max_nesting;
        if let Some(at) = crate::nesting::graphql(&request.query, max) {
            return Err((
                "BAD_USER_INPUT",
                format!(
                    "the query nests more than {max} levels deep at line {}, column {} \
                     (`limits.max_nesting`)",
                    at.line, at.column
                ),
            ));
        }
        if let Some(nul) = crate::nul::in_variables(&request.variables) {
            return Err(("BAD_USER_INPUT", nul.message()));
        }
        if let Ok(doc) = async_graphql::parser::parse_query(&request.query) {
            use async_graphql::parser::types::{DocumentOperations, OperationType};
            if let Some(nul) = crate::nul::in_document(&doc) {
                return Err(("BAD_USER_INPUT", nul.message()));
            }
            // Before async-graphql validates it, which expands every fragment where it is
            // spread: the same bound as a POST's (`cost::MAX_WALK_VISITS`).
            if let Some(pos) = crate::cost::overflow(&doc) {
                return Err((
                    "TOO_COSTLY",
                    format!(
                        "the query selects more than {} fields once its fragments are expanded \
                         where they are spread (line {}, column {}): spread each fragment fewer \
                         times",
                        crate::cost::MAX_WALK_VISITS,
                        pos.line,
                        pos.column
                    ),
                ));
            }
            // Each event builds every field the document selects.
            if let Some(pos) = crate::cost::selections_over(&doc, MAX_SUBSCRIPTION_SELECTIONS) {
                return Err((
                    "TOO_COSTLY",
                    format!(
                        "a subscription selects at most {MAX_SUBSCRIPTION_SELECTIONS} fields \
                         once its fragments are expanded where they are spread; this one more \
                         (line {}, column {}): select fewer fields or aliases",
                        pos.line, pos.column
                    ),
                ));
            }
            let kinds: Vec<OperationType> = match &doc.operations {
                DocumentOperations::Single(op) => vec![op.node.ty],
                DocumentOperations::Multiple(ops) => match &request.operation_name {
                    Some(name) => ops
                        .get(name.as_str())
                        .map(|op| vec![op.node.ty])
                        .unwrap_or_default(),
                    None => ops.values().map(|op| op.node.ty).collect(),
                },
            };
            if kinds.iter().any(|k| *k != OperationType::Subscription) {
                return Err((
                    "BAD_REQUEST",
                    "only subscriptions run over the WebSocket; send queries and mutations by \
                     POST /graphql"
                        .to_owned(),
                ));
            }
            // GraphQL's "single root field" rule, which async-graphql's dynamic schema does not
            // hold: each root field runs as a stream of its own (red team, pass 8: 100 aliased
            // `events` in one subscription were 100 readers, 8,000 for one user, 1.4 GB).
            for (_, op) in doc.operations.iter() {
                if let Some(pos) = second_root_field(&doc, &op.node.selection_set.node) {
                    return Err((
                        "BAD_USER_INPUT",
                        format!(
                            "a subscription selects exactly one root field (line {}, column {} \
                             is another): subscribe once per field",
                            pos.line, pos.column
                        ),
                    ));
                }
            }
        }
        Ok(request)
    }
}

/// Where the operation's second root field is (through fragments and inline fragments on the
/// root), if it has one; one field written twice is one (its response key), and `__typename`
/// counts, as GraphQL's rule says.
fn second_root_field(
    doc: &async_graphql::parser::types::ExecutableDocument,
    set: &async_graphql::parser::types::SelectionSet,
) -> Option<async_graphql::Pos> {
    let roots = crate::cost::root_fields(doc, set);
    let first = &roots.first()?.0;
    roots
        .iter()
        .find(|(key, _)| key != first)
        .map(|(_, pos)| *pos)
}

/// An `error` message for subscription `id`: the errors as the protocol carries them (all of
/// them for `graphql-transport-ws`, the first for the legacy protocol).
fn error_frame(protocol: Protocol, id: &str, errors: Value) -> Value {
    match protocol {
        Protocol::TransportWs => json!({"type": "error", "id": id, "payload": errors}),
        Protocol::Legacy => {
            json!({"type": "error", "id": id, "payload": errors.get(0).cloned().unwrap_or(Value::Null)})
        }
    }
}

/// The room of a connection's queue: [`QUEUED_EVENTS`] messages of `max_event_bytes`, within
/// what a semaphore counts. A message is never larger than the room, so it always fits once
/// the queue is empty.
fn queue_bytes(max_event_bytes: usize) -> usize {
    max_event_bytes
        .max(1)
        .saturating_mul(QUEUED_EVENTS)
        .min(tokio::sync::Semaphore::MAX_PERMITS)
        .min(u32::MAX as usize)
}

/// The `Authorization` of a `connection_init` payload: `{"Authorization": "Bearer ..."}` (any
/// case), also under `headers`, as some clients nest it.
fn token_of_payload(payload: &Value) -> Option<String> {
    let find = |v: &Value| {
        v.as_object()?.iter().find_map(|(k, v)| {
            k.eq_ignore_ascii_case("authorization")
                .then(|| v.as_str().map(str::to_owned))
                .flatten()
        })
    };
    find(payload).or_else(|| payload.get("headers").and_then(find))
}

/// Resolves once `stop` turns true (or its sender is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn text(v: Value) -> Message {
    Message::Text(Utf8Bytes::from(v.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tokens_are_found_in_the_init_payload() {
        for payload in [
            json!({"Authorization": "Bearer a"}),
            json!({"authorization": "Bearer a"}),
            json!({"headers": {"Authorization": "Bearer a"}}),
        ] {
            assert_eq!(token_of_payload(&payload).as_deref(), Some("Bearer a"));
        }
        assert_eq!(token_of_payload(&json!({"token": 1})), None);
    }

    #[test]
    fn both_protocols_messages_are_read() {
        let read = |t: &str| serde_json::from_str::<ClientMessage>(t);
        assert!(matches!(
            read(r#"{"type":"ping","payload":{"at":1}}"#),
            Ok(ClientMessage::Ping {})
        ));
        assert!(matches!(
            read(r#"{"type":"pong"}"#),
            Ok(ClientMessage::Pong {})
        ));
        for t in ["subscribe", "start"] {
            let m = read(&format!(
                r#"{{"type":"{t}","id":"1","payload":{{"query":"x"}}}}"#
            ));
            assert!(matches!(m, Ok(ClientMessage::Subscribe { .. })), "{t}");
        }
        for t in ["complete", "stop"] {
            let m = read(&format!(r#"{{"type":"{t}","id":"1"}}"#));
            assert!(matches!(m, Ok(ClientMessage::Complete { .. })), "{t}");
        }
        assert!(read(r#"{"type":"connection_init"}"#).is_ok());
        assert!(read(r#"{"type":"hello"}"#).is_err());
        assert!(read(r#"{"type":"subscribe","id":"1"}"#).is_err());
    }

    #[test]
    fn a_subscription_has_one_root_field() {
        let second = |q: &str| {
            let doc = async_graphql::parser::parse_query(q).unwrap();
            let (_, op) = doc.operations.iter().next().unwrap();
            super::second_root_field(&doc, &op.node.selection_set.node).map(|p| p.column)
        };
        assert_eq!(second("subscription { events { sequence } }"), None);
        // One field written twice is one field.
        assert_eq!(
            second("subscription { events { a: sequence } events { b: sequence } }"),
            None
        );
        assert_eq!(
            second("subscription { a: events { sequence } b: events { sequence } }"),
            Some(39)
        );
        assert!(
            second(
                "subscription { ...F } fragment F on Subscription { a: events { sequence } \
                 ... on Subscription { b: events { sequence } } }"
            )
            .is_some()
        );
        assert!(second("subscription { events { sequence } __typename }").is_some());
    }

    #[test]
    fn close_reasons_fit_a_frame() {
        let long = "é".repeat(100);
        let Message::Close(Some(frame)) = close(4403, &long) else {
            unreachable!()
        };
        assert!(frame.reason.len() <= 123);
    }
}
