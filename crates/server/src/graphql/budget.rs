//! The answer's byte budget, counted as its fields resolve.
//!
//! `limits.max_response_bytes` bounds what one request may answer. The store counts what it
//! reads ([`store::RequestScope`]) and the HTTP edge refuses an answer whose text is over the
//! limit ([`crate::http::json_within`]), but neither stops a document that repeats cheap fields
//! under many aliases (in fragments, say) from being built whole in memory first: red team, pass
//! 4, took a server from 224 to 486 MB with a 1 MB limit. This extension counts each field's share
//! of the answer as it resolves (its key, its own JSON text and [`PER_VALUE`] bytes for the value
//! itself, which the server holds while it builds the answer). Once the count passes the limit,
//! no further field of the request resolves (a mutation still runs: the client asked for it, and
//! the refusal says it was applied), and the answer is one `BAD_USER_INPUT` error.
//!
//! Each execution is counted on its own: a request's, or one message of a subscription's
//! (async-graphql executes the selection once per event), which is also bounded where it is
//! written (`subscriptions.max_event_bytes`, [`crate::subscriptions`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextResolve, ResolveInfo,
};
use async_graphql::registry::MetaType;
use async_graphql::{Response, ServerError, ServerResult, Value};

use super::{Code, RequestCtx};

/// What one value costs beside its text: the server holds each as a `Value` (an enum, a map
/// entry, a key) while it builds the answer, several times the bytes of its JSON text.
pub const PER_VALUE: usize = 32;

/// Counts each request's answer against `limit` bytes (`limits.max_response_bytes`).
pub struct AnswerBudget {
    pub limit: usize,
}

impl ExtensionFactory for AnswerBudget {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Counter {
            limit: self.limit,
            used: AtomicUsize::new(0),
            executing: AtomicBool::new(false),
        })
    }
}

/// One request's count (async-graphql makes one extension per request).
struct Counter {
    limit: usize,
    used: AtomicUsize,
    /// Set while `execute` runs: a subscription's fields are not counted here.
    executing: AtomicBool,
}

impl Counter {
    fn over(&self) -> bool {
        self.used.load(Ordering::Relaxed) > self.limit
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Counter {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        // Each execution its own count: a subscription executes once per message (red team,
        // pass 7: a subscriber was cut off after 32 MiB in all).
        self.used.store(0, Ordering::Relaxed);
        self.executing.store(true, Ordering::Relaxed);
        let response = next.run(ctx, operation_name).await;
        self.executing.store(false, Ordering::Relaxed);
        if !self.over() {
            return response;
        }
        let applied = ctx
            .data_opt::<RequestCtx>()
            .is_some_and(|r| r.committed.load(Ordering::Acquire));
        let error = super::error(
            Code::BadUserInput,
            None,
            too_large_message(self.limit, applied),
        );
        let mut refusal = Response::new(Value::Null);
        refusal.errors = vec![ServerError::new(error.message.clone(), None)];
        refusal.errors[0].extensions = error.extensions;
        refusal
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if !self.executing.load(Ordering::Relaxed) {
            return next.run(ctx, info).await;
        }
        if self.over() && ctx.schema_env.registry.mutation_type.as_deref() != Some(info.parent_type)
        {
            // The answer is refused whatever this field holds: do not build it. A null, not
            // `None`: async-graphql's own lists (introspection's) take `None` for a bug and
            // panic (red team, pass 6); nor an error, which would add one for every field.
            return Ok(Some(Value::Null));
        }
        // A list's items have no key; a field's is `"key":` and a comma.
        let key = if info.parent_type.starts_with('[') {
            0
        } else {
            info.alias.unwrap_or(info.name).len() + 4
        };
        let return_type = info.return_type;
        let resolved = next.run(ctx, info).await;
        let own = match &resolved {
            Ok(Some(value)) => own_bytes(ctx, return_type, value),
            Ok(None) => 4,
            Err(e) => e.message.len() + PER_VALUE,
        };
        self.used
            .fetch_add(key + own + PER_VALUE, Ordering::Relaxed);
        resolved
    }
}

/// The bytes `value` adds to the answer beside what its own resolved fields count: all of its
/// text for a scalar or an enum (the JSON scalar may hold objects and lists, which no resolver
/// visits), only the brackets for an object or a list (its fields and items count themselves),
/// and an object's `__typename`s, which async-graphql writes without calling any extension
/// (red team, pass 5: 4,990 aliases of `__typename` on each of 40,000 nodes took a server to
/// 2.3 GB with a 1 MB limit): every member whose value is the object's type name is counted
/// here (a field of another kind that holds that name is counted twice, a few bytes).
fn own_bytes(ctx: &ExtensionContext<'_>, return_type: &str, value: &Value) -> usize {
    match value {
        Value::Object(_) | Value::List(_) => {
            let base = return_type.trim_end_matches('!');
            let scalar = !base.starts_with('[')
                && matches!(
                    ctx.schema_env.registry.types.get(base),
                    Some(MetaType::Scalar { .. })
                );
            match value {
                _ if scalar => text_bytes(value),
                Value::Object(fields) => fields
                    .iter()
                    .filter(|(_, v)| matches!(v, Value::String(s) if s == base))
                    .fold(2, |n, (k, _)| n + k.len() + base.len() + 6 + PER_VALUE),
                _ => 2,
            }
        }
        _ => text_bytes(value),
    }
}

/// About how many bytes `value` takes as JSON text (strings without their escapes), plus
/// [`PER_VALUE`] for each value inside a container.
fn text_bytes(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Boolean(_) => 5,
        // Digits and sign, without writing the number out; a float at most 24.
        Value::Number(n) => n.as_i64().map_or(24, |i| {
            usize::from(i < 0)
                + i.unsigned_abs()
                    .checked_ilog10()
                    .map_or(1, |d| d as usize + 1)
        }),
        Value::String(s) => s.len() + 2,
        Value::Enum(e) => e.len() + 2,
        Value::Binary(b) => b.len() * 4 / 3 + 4,
        Value::List(items) => items
            .iter()
            .fold(2, |n, v| n + text_bytes(v) + 1 + PER_VALUE),
        Value::Object(fields) => fields
            .iter()
            .fold(2, |n, (k, v)| n + k.len() + 4 + text_bytes(v) + PER_VALUE),
    }
}

/// The refusal of an answer over `limit` bytes, saying so when mutations were applied.
pub(crate) fn too_large_message(limit: usize, applied: bool) -> String {
    let applied = if applied {
        "; the request's mutations were applied (ask for less of their answer)"
    } else {
        ""
    };
    format!(
        "the answer is larger than {limit} bytes (`limits.max_response_bytes`): select fewer \
         fields, aliases or rows{applied}"
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_graphql::dynamic::{Field, FieldFuture, Object, Schema, TypeRef};
    use async_graphql::{Request, Value};

    use super::AnswerBudget;

    /// A schema whose `word` field counts how often it resolves.
    fn schema(limit: usize, resolved: Arc<AtomicUsize>) -> Schema {
        let word = Field::new("word", TypeRef::named_nn(TypeRef::STRING), move |_| {
            let resolved = resolved.clone();
            FieldFuture::new(async move {
                resolved.fetch_add(1, Ordering::Relaxed);
                Ok(Some(Value::from("x".repeat(100))))
            })
        });
        let thing = Object::new("Thing").field(word);
        let things = Field::new("things", TypeRef::named_nn_list_nn("Thing"), |_| {
            FieldFuture::new(async {
                Ok(Some(async_graphql::dynamic::FieldValue::list((0..10).map(
                    |_| async_graphql::dynamic::FieldValue::owned_any(()),
                ))))
            })
        });
        Schema::build("Query", None, None)
            .register(Object::new("Query").field(things))
            .register(thing)
            .extension(AnswerBudget { limit })
            .finish()
            .unwrap()
    }

    /// Past the budget no field resolves any more, and the answer is one error; below it the
    /// answer is whole (red team, pass 4: aliases in a fragment were all built before the
    /// answer was refused).
    #[tokio::test]
    async fn fields_stop_resolving_once_the_answer_is_over_its_budget() {
        let aliases: String = (0..1000).map(|i| format!("w{i}: word ")).collect();
        let document = format!("{{ things {{ ...f }} }} fragment f on Thing {{ {aliases} }}");
        let resolved = Arc::new(AtomicUsize::new(0));
        let response = schema(50_000, resolved.clone())
            .execute(Request::new(document.clone()))
            .await;
        assert_eq!(response.errors.len(), 1, "{:?}", response.errors);
        let message = &response.errors[0].message;
        assert!(
            message.contains("the answer is larger than 50000 bytes"),
            "{message}"
        );
        assert_eq!(response.data, Value::Null);
        // Each word costs about 100 + 4 + 6 + 32 bytes: about 350 of the 10,000 resolved.
        let n = resolved.load(Ordering::Relaxed);
        assert!((300..=2 * 350).contains(&n), "{n} fields resolved");

        // `__typename` resolves without the extension: an object's are counted with it, and
        // the next objects are not built.
        let typenames: String = (0..1000).map(|i| format!("t{i}: __typename ")).collect();
        let resolved = Arc::new(AtomicUsize::new(0));
        let response = schema(20_000, resolved.clone())
            .execute(Request::new(format!("{{ things {{ {typenames} word }} }}")))
            .await;
        assert_eq!(response.errors.len(), 1, "{:?}", response.errors);
        assert_eq!(response.data, Value::Null);
        let n = resolved.load(Ordering::Relaxed);
        assert!(n <= 2, "{n} of the 10 things' words resolved");

        // Introspection's lists are async-graphql's own: past the budget they are skipped
        // without a panic (red team, pass 6: `You definitely encountered a bug!`).
        let schemas: String = (0..50)
            .map(|i| format!("s{i}: __schema {{ types {{ name fields {{ name }} }} }} "))
            .collect();
        let response = schema(5_000, Arc::new(AtomicUsize::new(0)))
            .execute(Request::new(format!("{{ {schemas} }}")))
            .await;
        assert_eq!(response.errors.len(), 1, "{:?}", response.errors);
        assert!(
            response.errors[0]
                .message
                .contains("larger than 5000 bytes")
        );

        // The same document within a larger budget is answered whole.
        let resolved = Arc::new(AtomicUsize::new(0));
        let response = schema(10_000_000, resolved.clone())
            .execute(Request::new(document))
            .await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        assert_eq!(resolved.load(Ordering::Relaxed), 10_000);
    }
}
