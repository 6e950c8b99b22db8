//! The org's domain events in the API: `events(first, after, type)`, a connection in commit
//! order (docs/api.md, docs/events.md). A thin translator: the arguments parsed, then
//! `app::Services::events`, which reads the caller's org's outbox and keeps the events whose
//! subject the caller may see (the same function as `hireplane events tail --as`).
//!
//! The subscription `events(type, after)` streams the same events as they commit, over
//! WebSocket ([`crate::subscriptions`]): woken when the org's head moves, it reads the events
//! after its cursor through the same `app::Services::events`, as its caller.

use super::json_field;
use std::collections::VecDeque;

use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputValue, Object, ResolverContext, SubscriptionField,
    SubscriptionFieldFuture, Type, TypeRef,
};
use serde_json::Value;

use super::mutations::{Failure, failure};
use super::{Code, RequestCtx, error, internal};

/// The cursor of sequence number `seq`: opaque to clients (hex of `events:<seq>`).
fn cursor(seq: i64) -> String {
    format!("events:{seq}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The sequence number of an `after` cursor.
fn after_seq(text: &str) -> async_graphql::Result<i64> {
    super::order::unhex(text)
        .and_then(|t| t.strip_prefix("events:").and_then(|n| n.parse().ok()))
        .filter(|n: &i64| *n >= 0)
        .ok_or_else(|| {
            error(
                Code::BadUserInput,
                Some("after"),
                format!("`after`: `{text}` is not a cursor of `events`"),
            )
        })
}

/// One event as the API shows it: its CloudEvents fields, by the API's names.
fn event_json(e: &store::OutboxEvent) -> Value {
    serde_json::json!({
        "id": e.id,
        "sequence": e.seq,
        "cursor": cursor(e.seq),
        "type": e.event_type,
        "source": store::events::source(&e.org_id),
        "subject": e.subject,
        "time": e.time.to_string(),
        "data": e.data,
        "cloudEvent": e.cloudevent(),
    })
}

/// The page handed to the connection's fields.
struct Page {
    events: Vec<Value>,
    page_info: Value,
}

pub fn types() -> Vec<Type> {
    let event = Object::new("Event")
        .description(
            "A domain event of the org (CloudEvents 1.0; the types and their `data` are in \
             docs/events.md)",
        )
        .field(json_field(
            "id",
            TypeRef::named_nn(TypeRef::STRING),
            "The event's id (a UUID): consumers de-duplicate by it",
        ))
        .field(json_field(
            "sequence",
            TypeRef::named_nn(TypeRef::INT),
            "Its place in the org's commit order (`orgseq`)",
        ))
        .field(json_field(
            "cursor",
            TypeRef::named_nn(TypeRef::STRING),
            "The `after` of the events after this one (the connection's and the subscription's)",
        ))
        .field(json_field(
            "type",
            TypeRef::named_nn(TypeRef::STRING),
            "The CloudEvents type, e.g. `hireplane.application.moved.v1`",
        ))
        .field(json_field(
            "source",
            TypeRef::named_nn(TypeRef::STRING),
            "`/hireplane/orgs/<org>`",
        ))
        .field(json_field(
            "subject",
            TypeRef::named_nn(TypeRef::STRING),
            "What it is about: `application/<id>`, `org/<org>`, ...",
        ))
        .field(json_field(
            "time",
            TypeRef::named_nn("DateTime"),
            "When the change was made",
        ))
        .field(json_field(
            "data",
            TypeRef::named_nn("JSON"),
            "The type's payload",
        ))
        .field(json_field(
            "cloudEvent",
            TypeRef::named_nn("JSON"),
            "The whole event as CloudEvents JSON (what `hireplane events tail` prints)",
        ));
    let edge = Object::new("EventEdge")
        .description("An event with its cursor")
        .field(json_field(
            "cursor",
            TypeRef::named_nn(TypeRef::STRING),
            "The `after` of the page after this event",
        ))
        .field(
            Field::new("node", TypeRef::named_nn("Event"), |ctx| {
                FieldFuture::new(async move {
                    let e = ctx.parent_value.try_downcast_ref::<Value>()?;
                    Ok(Some(FieldValue::owned_any(e.clone())))
                })
            })
            .description("The event"),
        );
    let connection = Object::new("EventConnection")
        .description("A page of the org's events the caller may see, in commit order")
        .field(
            Field::new("edges", TypeRef::named_nn_list_nn("EventEdge"), |ctx| {
                FieldFuture::new(async move {
                    let page = ctx.parent_value.try_downcast_ref::<Page>()?;
                    Ok(Some(FieldValue::list(
                        page.events.iter().cloned().map(FieldValue::owned_any),
                    )))
                })
            })
            .description("The page's events with their cursors"),
        )
        .field(
            Field::new("nodes", TypeRef::named_nn_list_nn("Event"), |ctx| {
                FieldFuture::new(async move {
                    let page = ctx.parent_value.try_downcast_ref::<Page>()?;
                    Ok(Some(FieldValue::list(
                        page.events.iter().cloned().map(FieldValue::owned_any),
                    )))
                })
            })
            .description("The page's events"),
        )
        .field(
            Field::new("pageInfo", TypeRef::named_nn("PageInfo"), |ctx| {
                FieldFuture::new(async move {
                    let page = ctx.parent_value.try_downcast_ref::<Page>()?;
                    Ok(Some(FieldValue::owned_any(page.page_info.clone())))
                })
            })
            .description(
                "`endCursor` is where the next page starts: past the last event, and past \
                 events read after it that the caller may not see; it is set even on an empty \
                 page once anything was read, so a client polling for new events asks with it",
            ),
        );
    vec![event.into(), edge.into(), connection.into()]
}

/// `events(first, after, type)`.
pub fn field() -> Field {
    Field::new("events", TypeRef::named_nn("EventConnection"), |ctx| {
        super::spans::traced(super::spans::resolver(&ctx), events(ctx))
    })
    .argument(
        InputValue::new("first", TypeRef::named(TypeRef::INT))
            .description("At most this many events (default 50, at most 500)"),
    )
    .argument(
        InputValue::new("after", TypeRef::named(TypeRef::STRING))
            .description("A cursor from `pageInfo.endCursor` or an edge: the events after it"),
    )
    .argument(
        InputValue::new("type", TypeRef::named_list(TypeRef::STRING)).description(
            "Only events of these types: `application.moved` or `hireplane.application.moved.v1` \
             (default: every type)",
        ),
    )
    .description(
        "The org's domain events (docs/events.md) in commit order, oldest first: only those \
         whose subject the caller may see (its row visible to them, as in reports; `org/...` \
         events to whoever may view the org). Poll with `after: pageInfo.endCursor` for new \
         ones",
    )
}

async fn events(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let rc = ctx.data::<RequestCtx>()?;
    let first = match ctx.args.get("first") {
        Some(v) if !v.is_null() => v.i64()?,
        _ => 50,
    };
    let first = u32::try_from(first)
        .ok()
        .filter(|n| (1..=app::events::MAX_EVENTS_PAGE).contains(n))
        .ok_or_else(|| {
            error(
                Code::BadUserInput,
                Some("first"),
                format!(
                    "`first` is {first}; give 1 to {}",
                    app::events::MAX_EVENTS_PAGE
                ),
            )
        })?;
    let after = match ctx.args.get("after") {
        Some(v) if !v.is_null() => Some(after_seq(v.string()?)?),
        _ => None,
    };
    let types = type_argument(&ctx)?;
    let request = app::events::EventsRequest {
        after_seq: after.unwrap_or(0),
        types,
        first,
    };
    let services = rc.services.clone();
    let access = rc.caller.access.clone();
    // A read: run on a worker without marking the request as having committed.
    let page = rc
        .db
        .run(move |store| {
            let at = domain::Instant::from_timestamp(jiff::Timestamp::now());
            services.events(store, &access, &request, at)
        })
        .await
        .map_err(|e| internal("reaching the database", e))?
        .map_err(|e| failure(Failure::App(e)))?;
    let end = (page.end_seq > 0).then(|| cursor(page.end_seq));
    Ok(Some(FieldValue::owned_any(Page {
        events: page.events.iter().map(event_json).collect(),
        page_info: serde_json::json!({
            "hasNextPage": page.has_next_page,
            "hasPreviousPage": after.is_some(),
            "endCursor": end,
        }),
    })))
}

/// The `type` argument: a list, or one type alone (GraphQL's input coercion of a single value
/// to a list); each checked against the catalogue.
fn type_argument(ctx: &ResolverContext<'_>) -> async_graphql::Result<Vec<String>> {
    let types = match ctx.args.get("type").map(|v| v.as_value().clone()) {
        Some(async_graphql::Value::List(items)) => items
            .into_iter()
            .map(|t| match t {
                async_graphql::Value::String(s) => Ok(s),
                other => Err(error(
                    Code::BadUserInput,
                    Some("type"),
                    format!("`type`: expected type names, got {other}"),
                )),
            })
            .collect::<async_graphql::Result<Vec<_>>>()?,
        Some(async_graphql::Value::String(s)) => vec![s],
        _ => Vec::new(),
    };
    for t in &types {
        app::events::event_type_name(t).map_err(|e| failure(Failure::App(e)))?;
    }
    Ok(types)
}

/// `subscription { events(type, after) }`: the caller's events as they commit (docs/api.md).
pub fn subscription_field() -> SubscriptionField {
    SubscriptionField::new("events", TypeRef::named_nn("Event"), |ctx| {
        SubscriptionFieldFuture::new(subscribe(ctx))
    })
    .argument(
        InputValue::new("after", TypeRef::named(TypeRef::STRING)).description(
            "A cursor (an event's `cursor`, or `pageInfo.endCursor` of the `events` \
             connection): the events after it first, then the new ones. Default: only events \
             committed after the subscription started",
        ),
    )
    .argument(
        InputValue::new("type", TypeRef::named_list(TypeRef::STRING)).description(
            "Only events of these types: `application.moved` or `hireplane.application.moved.v1` \
             (default: every type)",
        ),
    )
    .description(
        "The org's domain events as they commit, in commit order: exactly those the `events` \
         connection shows the caller (whose subject the caller may see). Over WebSocket \
         (`graphql-transport-ws`, or the legacy `graphql-ws`) at `/graphql`; an event reaches \
         subscribers within `subscriptions.poll_ms`",
    )
}

/// How many events a subscription reads at once: what it holds before its messages are built.
const SUBSCRIPTION_PAGE: u32 = 50;

/// Where a subscription is: its cursor, what it has read and not yet sent, whether the outbox
/// may hold more for it right now.
struct Follow {
    ctx: std::sync::Arc<crate::subscriptions::SubscriptionCtx>,
    heads: tokio::sync::watch::Receiver<i64>,
    types: Vec<String>,
    cursor: i64,
    ready: VecDeque<Value>,
    more: bool,
}

impl Follow {
    /// Reads the caller's events after the cursor (one page, as the caller).
    async fn read(&mut self) -> async_graphql::Result<()> {
        let ctx = &self.ctx;
        // The caller as last checked (every ping): a changed role or policy applies.
        let caller = ctx.caller();
        let deadline = std::time::Instant::now() + ctx.request_timeout;
        let db = ctx
            .db
            .for_caller(caller.org(), &caller.user_key(), deadline);
        let (services, access) = (ctx.services.clone(), caller.access);
        let request = app::events::EventsRequest {
            after_seq: self.cursor,
            types: self.types.clone(),
            first: SUBSCRIPTION_PAGE,
        };
        let page = db
            .run(move |store| {
                let at = domain::Instant::from_timestamp(jiff::Timestamp::now());
                services.events(store, &access, &request, at)
            })
            .await
            .map_err(|e| internal("reaching the database", e))?
            .map_err(|e| failure(Failure::App(e)))?;
        self.ready.extend(page.events.iter().map(event_json));
        self.cursor = self.cursor.max(page.end_seq);
        self.more = page.has_next_page;
        Ok(())
    }

    /// The next event the caller may see, waiting for one as long as it takes; `None` when the
    /// replica stops watching (it is shutting down).
    async fn next(&mut self) -> Option<async_graphql::Result<Value>> {
        loop {
            if let Some(e) = self.ready.pop_front() {
                // Room in the connection's queue before its message is built.
                if !self.ctx.room_to_build().await {
                    return None;
                }
                return Some(Ok(e));
            }
            if !self.more {
                // Woken when the org's head moves; a read that failed is retried after a while.
                self.heads.changed().await.ok()?;
            }
            self.more = false;
            if let Err(e) = self.read().await {
                let busy = e.extensions.as_ref().and_then(|x| x.get("code")).is_some_and(|c| {
                    matches!(c, async_graphql::Value::String(s) if s == "BUSY" || s == "UNAVAILABLE")
                });
                if busy {
                    // Not the caller's fault: try again after a pause, then go on.
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    self.more = true;
                    continue;
                }
                return Some(Err(e));
            }
        }
    }
}

async fn subscribe<'a>(
    ctx: ResolverContext<'a>,
) -> async_graphql::Result<
    impl futures_util::Stream<Item = async_graphql::Result<FieldValue<'a>>> + Send + 'a,
> {
    let sub = ctx
        .data::<std::sync::Arc<crate::subscriptions::SubscriptionCtx>>()?
        .clone();
    let after = match ctx.args.get("after") {
        Some(v) if !v.is_null() => Some(after_seq(v.string()?)?),
        _ => None,
    };
    let types = type_argument(&ctx)?;
    let caller = sub.caller();
    let heads = sub.heads.watch(caller.org());
    let cursor = match after {
        Some(seq) => seq,
        None => {
            // From now on: the org's head when the subscription starts.
            let org = caller.org().to_owned();
            let deadline = std::time::Instant::now() + sub.request_timeout;
            sub.db
                .for_caller(&org, &caller.user_key(), deadline)
                .run(move |store| store.outbox_head(&org))
                .await
                .map_err(|e| internal("reaching the database", e))?
                .map_err(|e| internal("reading the events' head", e))?
        }
    };
    let follow = Follow {
        ctx: sub,
        heads,
        types,
        cursor,
        ready: VecDeque::new(),
        more: after.is_some(),
    };
    Ok(futures_util::stream::unfold(
        (follow, false),
        |(mut follow, failed)| async move {
            if failed {
                return None;
            }
            match follow.next().await? {
                Ok(e) => Some((Ok(FieldValue::owned_any(e)), (follow, false))),
                // An error ends the subscription after it is sent.
                Err(e) => Some((Err(e), (follow, true))),
            }
        },
    ))
}
