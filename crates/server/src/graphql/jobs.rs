//! Durable jobs in the API, for admins of the caller's org: `backgroundJobs(first, after,
//! state)`, a connection over the org's jobs newest first (named apart from `jobs`, the org's
//! hiring jobs; the type is `BackgroundJob`), and the mutations `retryJob(id)` (a dead job) and
//! `cancelJob(id)`. Thin translators over `app::Services`' job functions, whose one
//! authorization is `authorize_command(ManageJobs)` plus the admin role (`app::jobs`).

use super::json_field;
use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputValue, Object, ResolverContext, Type, TypeRef,
};
use serde_json::{Value, json};
use store::jobs::{JobRecord, JobState};

use super::mutations::{Failure, failure, run_as};
use super::{Code, RequestCtx, error, internal};
use app::jobs::JobsActor;

/// The cursor of job `id`: opaque to clients (hex of `jobs:<id>`).
fn cursor(id: i64) -> String {
    format!("jobs:{id}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The job id of an `after` cursor.
fn after_id(text: &str) -> async_graphql::Result<i64> {
    super::order::unhex(text)
        .and_then(|t| t.strip_prefix("jobs:").and_then(|n| n.parse().ok()))
        .filter(|n: &i64| *n > 0)
        .ok_or_else(|| {
            error(
                Code::BadUserInput,
                Some("after"),
                format!("`after`: `{text}` is not a cursor of `jobs`"),
            )
        })
}

/// A job id argument (`ID`: the digits of the id).
fn id_argument(ctx: &ResolverContext<'_>) -> async_graphql::Result<i64> {
    let text = ctx.args.try_get("id")?.string()?.to_owned();
    text.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
        error(
            Code::BadUserInput,
            Some("id"),
            format!("`id`: `{text}` is not a job id"),
        )
    })
}

fn job_json(r: &JobRecord) -> Value {
    let t = |i: Option<domain::Instant>| i.map(|i| i.to_string());
    json!({
        "id": r.job.id.to_string(),
        "cursor": cursor(r.job.id),
        "kind": r.job.kind,
        "state": r.state.as_str(),
        "priority": r.priority,
        "attempt": r.job.attempt,
        "maxAttempts": r.job.max_attempts,
        "uniqueKey": r.job.unique_key,
        "payload": r.job.payload,
        "enqueuedAt": r.job.enqueued_at.to_string(),
        "runAt": r.job.run_at.to_string(),
        "lockedUntil": t(r.locked_until),
        "finishedAt": t(r.finished_at),
        "lastError": r.last_error,
    })
}

/// The page handed to the connection's fields.
struct Page {
    jobs: Vec<Value>,
    page_info: Value,
}

/// The types: `BackgroundJob`, `BackgroundJobEdge`, `BackgroundJobConnection`.
pub fn types() -> Vec<Type> {
    let job = Object::new("BackgroundJob")
        .description("A durable background job of the org (automation's work: emails, webhooks, ...; not a hiring `Job`), as an admin sees it")
        .field(json_field("id", TypeRef::named_nn(TypeRef::ID), "The job's id"))
        .field(json_field(
            "kind",
            TypeRef::named_nn(TypeRef::STRING),
            "What runs it: the handler of this kind",
        ))
        .field(json_field(
            "state",
            TypeRef::named_nn(TypeRef::STRING),
            "`available` (waiting for `runAt`: a first run or a retry), `running`, `done`, \
             `dead` (failed for good; `retryJob` runs it again) or `cancelled`",
        ))
        .field(json_field(
            "priority",
            TypeRef::named_nn(TypeRef::INT),
            "Higher runs first; 0 is normal",
        ))
        .field(json_field(
            "attempt",
            TypeRef::named_nn(TypeRef::INT),
            "Runs so far (1 during the first run)",
        ))
        .field(json_field(
            "maxAttempts",
            TypeRef::named_nn(TypeRef::INT),
            "Runs it gets before it is dead",
        ))
        .field(json_field(
            "uniqueKey",
            TypeRef::named(TypeRef::STRING),
            "While a job of the org with this key is available or running, no other is enqueued",
        ))
        .field(json_field(
            "payload",
            TypeRef::named_nn("JSON"),
            "What the job's handler is given",
        ))
        .field(json_field(
            "enqueuedAt",
            TypeRef::named_nn("DateTime"),
            "When it was enqueued",
        ))
        .field(json_field(
            "runAt",
            TypeRef::named_nn("DateTime"),
            "When it runs (next)",
        ))
        .field(json_field(
            "lockedUntil",
            TypeRef::named("DateTime"),
            "While running: when its lease ends unless its worker's heartbeat extends it",
        ))
        .field(json_field(
            "finishedAt",
            TypeRef::named("DateTime"),
            "When it became done, dead or cancelled",
        ))
        .field(json_field(
            "lastError",
            TypeRef::named(TypeRef::STRING),
            "The error of its last failed run",
        ));
    let edge = Object::new("BackgroundJobEdge")
        .description("A job with its cursor")
        .field(json_field(
            "cursor",
            TypeRef::named_nn(TypeRef::STRING),
            "The `after` of the page after this job",
        ))
        .field(
            Field::new("node", TypeRef::named_nn("BackgroundJob"), |ctx| {
                FieldFuture::new(async move {
                    let j = ctx.parent_value.try_downcast_ref::<Value>()?;
                    Ok(Some(FieldValue::owned_any(j.clone())))
                })
            })
            .description("The job"),
        );
    let connection = Object::new("BackgroundJobConnection")
        .description("A page of the org's jobs, newest first")
        .field(
            Field::new(
                "edges",
                TypeRef::named_nn_list_nn("BackgroundJobEdge"),
                |ctx| {
                    FieldFuture::new(async move {
                        let page = ctx.parent_value.try_downcast_ref::<Page>()?;
                        Ok(Some(FieldValue::list(
                            page.jobs.iter().cloned().map(FieldValue::owned_any),
                        )))
                    })
                },
            )
            .description("The page's jobs with their cursors"),
        )
        .field(
            Field::new("nodes", TypeRef::named_nn_list_nn("BackgroundJob"), |ctx| {
                FieldFuture::new(async move {
                    let page = ctx.parent_value.try_downcast_ref::<Page>()?;
                    Ok(Some(FieldValue::list(
                        page.jobs.iter().cloned().map(FieldValue::owned_any),
                    )))
                })
            })
            .description("The page's jobs"),
        )
        .field(
            Field::new("pageInfo", TypeRef::named_nn("PageInfo"), |ctx| {
                FieldFuture::new(async move {
                    let page = ctx.parent_value.try_downcast_ref::<Page>()?;
                    Ok(Some(FieldValue::owned_any(page.page_info.clone())))
                })
            })
            .description("`endCursor`: the last job's cursor, where the next (older) page starts"),
        );
    vec![job.into(), edge.into(), connection.into()]
}

/// `backgroundJobs(first, after, state)`.
pub fn query_field() -> Field {
    Field::new("backgroundJobs", TypeRef::named_nn("BackgroundJobConnection"), |ctx| {
        super::spans::traced(super::spans::resolver(&ctx), jobs(ctx))
    })
    .argument(
        InputValue::new("first", TypeRef::named(TypeRef::INT))
            .description("At most this many jobs (default 50, at most 500)"),
    )
    .argument(
        InputValue::new("after", TypeRef::named(TypeRef::STRING))
            .description("A cursor from `pageInfo.endCursor` or an edge: the jobs older than it"),
    )
    .argument(
        InputValue::new("state", TypeRef::named(TypeRef::STRING)).description(
            "Only jobs in this state: `available`, `running`, `done`, `dead` or `cancelled` \
             (default: every state)",
        ),
    )
    .description(
        "The org's durable background jobs (not its hiring `jobs`), newest first. Who may: admins allowed `edit` on their org \
         (others get `FORBIDDEN`)",
    )
}

async fn jobs(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let rc = ctx.data::<RequestCtx>()?;
    let first = match ctx.args.get("first") {
        Some(v) if !v.is_null() => v.i64()?,
        _ => 50,
    };
    let first = u32::try_from(first)
        .ok()
        .filter(|n| (1..=app::jobs::MAX_JOBS_PAGE).contains(n))
        .ok_or_else(|| {
            error(
                Code::BadUserInput,
                Some("first"),
                format!("`first` is {first}; give 1 to {}", app::jobs::MAX_JOBS_PAGE),
            )
        })?;
    let after = match ctx.args.get("after") {
        Some(v) if !v.is_null() => Some(after_id(v.string()?)?),
        _ => None,
    };
    let state = match ctx.args.get("state") {
        Some(v) if !v.is_null() => {
            let text = v.string()?;
            Some(JobState::parse(text).ok_or_else(|| {
                error(
                    Code::BadUserInput,
                    Some("state"),
                    format!(
                        "`state`: `{text}` is not a job state; expected available, running, done, dead or cancelled"
                    ),
                )
            })?)
        }
        _ => None,
    };
    let services = rc.services.clone();
    let access = rc.caller.access.clone();
    // A read: run on a worker without marking the request as having committed.
    let page = rc
        .db
        .run(move |store| {
            let at = domain::Instant::from_timestamp(jiff::Timestamp::now());
            services.list_jobs(store, JobsActor::User(&access), state, after, first, at)
        })
        .await
        .map_err(|e| internal("reaching the database", e))?
        .map_err(|e| failure(Failure::App(e)))?;
    let end = page.jobs.last().map(|r| cursor(r.job.id));
    Ok(Some(FieldValue::owned_any(Page {
        jobs: page.jobs.iter().map(job_json).collect(),
        page_info: json!({
            "hasNextPage": page.has_next_page,
            "hasPreviousPage": after.is_some(),
            "endCursor": end,
        }),
    })))
}

/// `retryJob(id)` and `cancelJob(id)`.
pub fn mutation_fields() -> Vec<Field> {
    vec![
        Field::new("retryJob", TypeRef::named_nn("BackgroundJob"), |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), async move {
                let rc = ctx.data::<RequestCtx>()?;
                let id = id_argument(&ctx)?;
                let r = run_as(rc, move |store, services, access, _org, at| {
                    Ok(services.retry_job(store, JobsActor::User(access), id, at)?)
                })
                .await?;
                Ok(Some(FieldValue::owned_any(job_json(&r))))
            })
        })
        .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::ID)).description("The dead job"))
        .description(
            "Runs a dead background job again, at once, with all its attempts again. Who may: admins \
             allowed `edit` on their org. `CONFLICT` when the job is not dead, or another \
             active job holds its unique key. Answers with the job",
        ),
        Field::new("cancelJob", TypeRef::named_nn("BackgroundJob"), |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), async move {
                let rc = ctx.data::<RequestCtx>()?;
                let id = id_argument(&ctx)?;
                let r = run_as(rc, move |store, services, access, _org, at| {
                    Ok(services.cancel_job(store, JobsActor::User(access), id, at)?)
                })
                .await?;
                Ok(Some(FieldValue::owned_any(job_json(&r))))
            })
        })
        .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::ID)).description("The job"))
        .description(
            "Cancels an available, running or dead background job (not a hiring `Job`) (a running one's outcome is then not \
             recorded). Who may: admins allowed `edit` on their org. `CONFLICT` when it is done \
             or cancelled already. Answers with the job",
        ),
    ]
}
