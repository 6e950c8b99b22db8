//! The GraphQL API: a schema built at start from the report catalog ([`model`]), whose reads
//! are reports run as the caller ([`read`]): every list, lookup and nested object is fetched by
//! one report compiled with the caller's row filters and field masks, so the API shows exactly
//! what the caller's reports show. Reports themselves ([`reports`]) and the hiring workflow's
//! mutations ([`mutations`]) complete it.

pub mod admin;
pub mod automation;
pub mod budget;
pub mod direct;
pub mod events;
pub mod flags;
pub mod jobs;
pub mod model;
pub mod mutations;
pub mod order;
pub mod read;
pub mod reports;
pub mod rollouts;
pub mod scheduling;
pub mod spans;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use async_graphql::dynamic::{Object, Scalar, Schema, SchemaError};
use async_graphql::{ErrorExtensions, Value};

use crate::auth::Caller;
use crate::db::Db;
use crate::settings::Limits;

/// What every resolver of one request can reach.
pub struct RequestCtx {
    pub caller: Caller,
    pub services: Arc<app::Services>,
    pub db: Db,
    pub limits: Arc<Limits>,
    /// Set once a store command run as the caller has finished without an error (a mutation's
    /// transaction committed): the HTTP edge then keeps the request's idempotency key and its
    /// answer, errors included, instead of releasing the key.
    pub committed: Arc<AtomicBool>,
    /// Set by a resolver whose answer holds a one-time secret (`inviteUser`'s code): the HTTP
    /// edge then keeps no answer for the request's idempotency key, only that it was applied
    /// (red team, pass 18: invitation codes sat in `idempotency_keys` for a day, in clear).
    pub secret_answer: Arc<AtomicBool>,
    /// When the request's time is up (`limits.request_timeout_ms` after it arrived): work that can
    /// stop early (the scheduler, long loops) stops by then instead of running on unseen.
    pub deadline: std::time::Instant,
    /// When the request's scheduling time is up (`limits.max_scheduling_ms` after its first
    /// search started): set by the first `schedulingOptions` or `repairInterviewLoop`, shared by
    /// every other search of the request, so that ten aliased searches get one search's time
    /// (red team, pass 7 left 10 x 1 s of CPU per request).
    pub scheduling_until: Arc<std::sync::OnceLock<std::time::Instant>>,
    /// The replica's copy of the feature flags (`viewer { flags }`, `setFlag`).
    pub flags: Arc<crate::flags::FlagsCache>,
}

/// The error codes of the API (`extensions.code`), documented in docs/api.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// An argument is wrong: `extensions.field` names it.
    BadUserInput,
    /// The thing does not exist, or the caller may not know it exists.
    NotFound,
    /// The caller may see the thing but not do this to it.
    Forbidden,
    /// A mutation conflicts with the current state (e.g. an archived application).
    Conflict,
    /// The query ran longer than the server allows.
    Timeout,
    /// The caller's org or token already uses its share of the database workers; retry later.
    Busy,
    /// The caller has used up a budget (the daily budget of reports over demographics); the
    /// message says which and when it comes back.
    RateLimited,
    /// The database cannot be reached; retry later.
    Unavailable,
    /// Something on our side failed; the log has the details under the request id.
    Internal,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::NotFound => "NOT_FOUND",
            Code::Forbidden => "FORBIDDEN",
            Code::Conflict => "CONFLICT",
            Code::Timeout => "TIMEOUT",
            Code::Busy => "BUSY",
            Code::RateLimited => "RATE_LIMITED",
            Code::Unavailable => "UNAVAILABLE",
            Code::Internal => "INTERNAL",
        }
    }
}

/// An API error with its code and, for bad input, the field.
pub fn error(code: Code, field: Option<&str>, message: impl Into<String>) -> async_graphql::Error {
    let field = field.map(str::to_owned);
    async_graphql::Error::new(message).extend_with(move |_, e| {
        e.set("code", code.as_str());
        if let Some(f) = &field {
            e.set("field", f.as_str());
        }
    })
}

/// `e` and the whole chain of its causes, `: `-separated, for the log (`PostgreSQL` alone
/// tells the operator nothing; the database's message is in a source).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

/// An internal failure: logged with its detail, told to the caller without it. When the detail
/// is a [`crate::db::DbError`] that is not our fault (the caller's share of the workers is used
/// up, the database is down), it gets its own code and message instead: `BUSY`, `UNAVAILABLE`.
pub fn internal(what: &str, detail: impl std::fmt::Display + 'static) -> async_graphql::Error {
    use crate::db::DbError;
    match (&detail as &dyn std::any::Any).downcast_ref::<DbError>() {
        Some(e @ (DbError::Throttled { .. } | DbError::Busy(_))) => {
            return error(Code::Busy, None, e.to_string());
        }
        Some(e @ DbError::Unavailable(_)) => {
            tracing::warn!(error = %e, "{what}");
            return error(
                Code::Unavailable,
                None,
                "the database is not available; retry later",
            );
        }
        _ => {}
    }
    // At most `MAX_LOGGED` bytes of it: a database's message can quote the whole statement,
    // which a request makes as long as its text allows (red team, pass 19: a 220 KB report
    // wrote a 420 KB line per request).
    const MAX_LOGGED: usize = 4_096;
    let mut text = detail.to_string();
    if text.len() > MAX_LOGGED {
        let cut = (0..=MAX_LOGGED)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        let more = text.len() - cut;
        text.truncate(cut);
        text.push_str(&format!("... ({more} bytes more)"));
    }
    tracing::error!(error = %text, "{what}");
    error(
        Code::Internal,
        None,
        format!("{what} failed; see the server log"),
    )
}

/// The schema, with the limits of `limits`.
pub fn schema(limits: &Limits) -> Result<Schema, SchemaError> {
    let mut query = Object::new("Query").description(
        "Reads: every entity of the data model as the caller sees it (the caller's access \
         policy filters rows and masks restricted fields exactly as in reports).",
    );
    let mut builder_types = Vec::new();
    let shapes = read::shapes();
    for shape in shapes {
        let (types, fields) = read::types_for(shape);
        builder_types.extend(types);
        for f in fields {
            query = query.field(f);
        }
    }
    query = query.field(read::viewer_field());
    query = query.field(mutations::archive_reasons_field());
    query = query.field(mutations::duplicates_field());
    query = query.field(events::field());
    for f in self::flags::query_fields() {
        query = query.field(f);
    }
    query = query.field(rollouts::query_field());
    for f in automation::query_fields() {
        query = query.field(f);
    }
    query = query.field(jobs::query_field());
    for f in admin::query_fields() {
        query = query.field(f);
    }
    for f in reports::fields()
        .into_iter()
        .chain(scheduling::fields())
        .chain([
            scheduling::repair_field(),
            scheduling::pools_field(),
            scheduling::busy_field(),
            scheduling::loops_field(),
        ])
    {
        query = query.field(f);
    }
    let mut mutation_fields = mutations::fields();
    mutation_fields.push(scheduling::book_field());
    mutation_fields.push(scheduling::apply_repair_field());
    mutation_fields.push(self::flags::set_flag_field());
    mutation_fields.extend(rollouts::mutation_fields());
    mutation_fields.extend(automation::mutation_fields());
    mutation_fields.extend(jobs::mutation_fields());
    mutation_fields.extend(admin::mutation_fields());
    let has_mutations = !mutation_fields.is_empty();
    let mut mutation = Object::new("Mutation").description(
        "The hiring workflow. Every mutation is checked by the access policy and accepts an \
         `Idempotency-Key` header: a retry with the same key is applied once.",
    );
    for f in mutation_fields {
        mutation = mutation.field(f);
    }
    let subscription = async_graphql::dynamic::Subscription::new("Subscription")
        .description(
            "Live data over WebSocket (`GET /graphql` upgraded, protocol `graphql-transport-ws` \
             or the legacy `graphql-ws`; docs/api.md): the token in `connection_init`'s payload \
             or the upgrade's `Authorization` header.",
        )
        .field(events::subscription_field());
    let mut builder = Schema::build(
        "Query",
        has_mutations.then_some("Mutation"),
        Some("Subscription"),
    )
    .register(query)
    .register(subscription)
    .register(Scalar::new("DateTime").description("An instant, RFC 3339 in UTC"))
    .register(Scalar::new("Date").description("A calendar date, YYYY-MM-DD"))
    .register(Scalar::new("JSON").description("Any JSON value"))
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity)
    .limit_recursive_depth(limits.max_depth.max(16) * 2)
    .limit_directives(8);
    if has_mutations {
        builder = builder.register(mutation);
    }
    if limits.max_response_bytes > 0 {
        builder = builder.extension(budget::AnswerBudget {
            limit: limits.max_response_bytes,
        });
    }
    for t in builder_types
        .into_iter()
        .chain(reports::types())
        .chain(mutations::types())
        .chain([mutations::duplicates_type()])
        .chain([scheduling::book_input().into()])
        .chain(scheduling::pool_types())
        .chain(scheduling::loop_types())
        .chain(self::flags::types())
        .chain(events::types())
        .chain(rollouts::types())
        .chain(automation::types())
        .chain(jobs::types())
        .chain(admin::types())
        .chain(read::common_types())
    {
        builder = builder.register(t);
    }
    builder.finish()
}

/// A field read from its parent's JSON object (an object type whose value is `serde_json`'s).
pub(crate) fn json_field(
    name: &'static str,
    ty: async_graphql::dynamic::TypeRef,
    doc: &'static str,
) -> async_graphql::dynamic::Field {
    use async_graphql::dynamic::{Field, FieldFuture, FieldValue};
    Field::new(name, ty, move |ctx| {
        FieldFuture::new(async move {
            let parent = ctx.parent_value.try_downcast_ref::<serde_json::Value>()?;
            Ok(Some(FieldValue::value(json_value(
                parent.get(name).cloned().unwrap_or(serde_json::Value::Null),
            ))))
        })
    })
    .description(doc)
}

/// A JSON value as a GraphQL value.
pub fn json_value(v: serde_json::Value) -> Value {
    Value::from_json(v).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// An internal failure of a mutation is logged with its causes: PostgreSQL's own message
    /// is a source of `StoreError::Postgres`, whose `Display` is only "PostgreSQL".
    #[test]
    fn internal_errors_are_logged_with_their_whole_chain() {
        let e = app::AppError::Store(store::StoreError::Migration {
            version: 3,
            name: "stages",
            source: Box::new(store::StoreError::Corrupt("no such column `x`".into())),
        });
        assert_eq!(
            super::error_chain(&e),
            "migration 3 (`stages`) failed: the stored data is inconsistent: no such column `x`"
        );
    }
}
