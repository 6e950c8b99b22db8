//! The hiring workflow's mutations. Each one: reads and checks its input (errors name the
//! field), asks the policy engine through the one authorization path of commands
//! (`app::Services::authorize_command`, whose doc lists what each command asks; what the caller
//! may not see is NOT_FOUND, what it sees but may not change is FORBIDDEN), runs one store
//! command (one transaction: all or nothing), and answers with the changed object read back as
//! the caller (so masks apply to the answer too). No mutation asks the policy engine anything
//! else.

use std::collections::BTreeMap;

use app::Command;
use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputObject, InputValue, ObjectAccessor, ResolverContext, Type,
    TypeRef,
};
use domain::{Id, Instant};
use query_compiler::catalog::EntityId;
use store::{Store, WriteError};

use super::{Code, RequestCtx, error, internal};

/// Why a command run as the caller (a mutation, a scheduling question) did not answer.
pub(super) enum Failure {
    App(app::AppError),
    Write(WriteError),
    /// A scheduling plan that does not make a request (field `plan`).
    Plan(app::scheduling::PlanError),
    Request(scheduling::RequestError),
    /// An option to book that is not (or no longer) one (field `option`).
    Option(String),
    /// An answer our own checker refuses: our fault.
    Broken(String),
}

impl From<app::AppError> for Failure {
    fn from(e: app::AppError) -> Failure {
        Failure::App(e)
    }
}

impl From<WriteError> for Failure {
    fn from(e: WriteError) -> Failure {
        Failure::Write(e)
    }
}

impl From<store::StoreError> for Failure {
    fn from(e: store::StoreError) -> Failure {
        Failure::App(app::AppError::Store(e))
    }
}

fn failure(f: Failure) -> async_graphql::Error {
    match f {
        Failure::App(app::AppError::NoSuchEntity { ty, id, .. }) => error(
            Code::NotFound,
            None,
            format!("no {ty} `{id}` (or the caller may not see it)"),
        ),
        Failure::App(app::AppError::NoSuchInput { field, ty, id, .. }) => {
            let field = api_path(&field);
            error(
                Code::NotFound,
                Some(&field),
                format!("`{field}`: no {ty} `{id}` (or the caller may not see it)"),
            )
        }
        Failure::App(e @ app::AppError::Forbidden { .. }) => {
            error(Code::Forbidden, None, e.to_string())
        }
        Failure::App(app::AppError::Store(store::StoreError::Timeout))
        | Failure::Write(WriteError::Store(store::StoreError::Timeout)) => error(
            Code::Timeout,
            None,
            "the command ran longer than the server's statement timeout; nothing was changed",
        ),
        Failure::App(app::AppError::Flags(e)) => super::flags::flag_error(&e),
        Failure::App(e) => internal("a command", e),
        Failure::Write(WriteError::Store(e)) => internal("a command", e),
        Failure::Write(e) => {
            let code = match &e {
                WriteError::NotFound { .. } => Code::NotFound,
                WriteError::Conflict { .. } => Code::Conflict,
                _ => Code::BadUserInput,
            };
            let field = e.field().map(api_path);
            error(code, field.as_deref(), camel_message(&e))
        }
        Failure::Plan(app::scheduling::PlanError::Store(e)) => internal("scheduling", e),
        Failure::Plan(e) => error(Code::BadUserInput, Some("plan"), e.to_string()),
        Failure::Request(e) => error(Code::BadUserInput, Some("plan"), e.to_string()),
        Failure::Option(e) => error(Code::BadUserInput, Some("option"), e),
        Failure::Broken(e) => internal("checking the options", e),
    }
}

/// The fields store commands name that the API takes in another shape, and the input that
/// holds them there (in the store's spelling; [`camel_path`] follows): an offer's terms are
/// one `terms` object; `addStage` takes the stage's fields flat; a scorecard's author and time
/// are the caller and now, so what is wrong with them is about the interview; a booked loop's
/// interviews come from its `option`, except the application and stage it names itself. Each
/// store name here is used by those commands only.
const API_SHAPES: &[(&str, &str)] = &[
    ("salary.amount", "terms.salary"),
    ("salary.currency", "terms.salary_currency"),
    ("salary.period", "terms.salary_period"),
    ("bonus", "terms.bonus"),
    ("equity", "terms.equity"),
    ("start_date", "terms.start_date"),
    ("stage.name", "name"),
    ("author_id", "interview_id"),
    ("submitted_at", "interview_id"),
    ("credited_to_user_id", "credited_to_id"),
];

/// A store path as the API spells its input: moved per [`API_SHAPES`], then camel-cased.
fn api_path(path: &str) -> String {
    if let Some((_, api)) = API_SHAPES.iter().find(|(store, _)| *store == path) {
        return camel_path(api);
    }
    // A new interview's participants, which the store calls `interviewers`.
    if let Some(rest) = path.strip_prefix("interviewers") {
        return camel_path(&format!("interview_participants{rest}"));
    }
    // `interviews[N].…` of a booked loop.
    if let Some(rest) = path
        .strip_prefix("interviews[")
        .and_then(|r| r.split_once("]."))
        .map(|(_, rest)| rest)
    {
        return match rest {
            "application_id" => "applicationId".to_owned(),
            "stage_id" => "stageId".to_owned(),
            _ => "option".to_owned(),
        };
    }
    camel_path(path)
}

/// A store path in the API's names: `to_stage_id` → `toStageId`, also inside
/// `interviews[1].stage_id`. The keys of a map the caller gave are the caller's own and stay as
/// they are: the store writes them as JSON strings in brackets (`scores["system_design"]`,
/// `custom_fields["years_at_company"]` → `customFields["years_at_company"]`,
/// [`store::map_entry_path`]), so only what lies outside quotes is renamed.
fn camel_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut name = String::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            name.push(c);
            continue;
        }
        // A quoted key: copied as it is, up to its closing quote (`\"` does not close it).
        out.push_str(&super::model::camel(&name));
        name.clear();
        out.push(c);
        let mut escaped = false;
        for k in chars.by_ref() {
            out.push(k);
            match k {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => break,
                _ => escaped = false,
            }
        }
    }
    out.push_str(&super::model::camel(&name));
    out
}

/// A refusal's message with its field in the API's names: the store's messages start with the
/// field in backticks (`` `custom_fields["level"]`: ... ``).
fn camel_message(e: &WriteError) -> String {
    let message = e.to_string();
    if let Some(field) = e.field()
        && let Some(tail) = message.strip_prefix(&format!("`{field}`"))
    {
        return format!("`{}`{tail}", api_path(field));
    }
    message
}

/// The caller's user id, as a store command records who did it.
fn caller_id(ctx: &ResolverContext<'_>) -> async_graphql::Result<Option<Id>> {
    Ok(Id::parse(ctx.data::<RequestCtx>()?.caller.user().to_owned()).ok())
}

fn now() -> Instant {
    Instant::from_timestamp(jiff::Timestamp::now())
}

/// Reads of one input object, with errors that name the field.
struct Input<'a> {
    obj: ObjectAccessor<'a>,
}

impl Input<'_> {
    fn opt_str(&self, name: &str) -> async_graphql::Result<Option<String>> {
        match self.obj.get(name) {
            Some(v) if !v.is_null() => Ok(Some(v.string()?.to_owned())),
            _ => Ok(None),
        }
    }
    /// Refuses an explicit null for fields of an update that cannot be cleared: left out, a
    /// field keeps its value; null would silently do the same, which reads as a clear that did
    /// not happen.
    fn not_null(&self, fields: &[&str]) -> async_graphql::Result<()> {
        match fields
            .iter()
            .find(|f| self.obj.get(f).is_some_and(|v| v.is_null()))
        {
            Some(f) => Err(error(
                Code::BadUserInput,
                Some(f),
                format!("`{f}` cannot be cleared: leave it out to keep its value"),
            )),
            None => Ok(()),
        }
    }
    /// A text field that may be absent (`None`), null (`Some(None)`: clear it) or given.
    fn nullable_str(&self, name: &str) -> async_graphql::Result<Option<Option<String>>> {
        match self.obj.get(name) {
            None => Ok(None),
            Some(v) if v.is_null() => Ok(Some(None)),
            Some(v) => Ok(Some(Some(v.string()?.to_owned()))),
        }
    }
    /// Which of an input field and its deprecated alias the caller gave (`name` when neither);
    /// both at once are refused.
    fn alias<'n>(&self, name: &'n str, old: &'n str) -> async_graphql::Result<&'n str> {
        let given = |n: &str| self.obj.get(n).is_some_and(|v| !v.is_null());
        match (given(name), given(old)) {
            (true, true) => Err(error(
                Code::BadUserInput,
                Some(old),
                format!("`{old}` is the old name of `{name}`: give one of the two"),
            )),
            (false, true) => Ok(old),
            _ => Ok(name),
        }
    }
    fn str(&self, name: &str) -> async_graphql::Result<String> {
        self.opt_str(name)?.ok_or_else(|| {
            error(
                Code::BadUserInput,
                Some(name),
                format!("`{name}` is required"),
            )
        })
    }
    fn opt_id(&self, name: &str) -> async_graphql::Result<Option<Id>> {
        self.opt_str(name)?
            .map(|s| {
                Id::parse(s.clone()).map_err(|e| {
                    error(
                        Code::BadUserInput,
                        Some(name),
                        format!("`{name}`: `{s}`: {e}"),
                    )
                })
            })
            .transpose()
    }
    fn id(&self, name: &str) -> async_graphql::Result<Id> {
        self.opt_id(name)?.ok_or_else(|| {
            error(
                Code::BadUserInput,
                Some(name),
                format!("`{name}` is required"),
            )
        })
    }
    fn opt_enum<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, domain::enums::EnumError>,
    ) -> async_graphql::Result<Option<T>> {
        match self.obj.get(name) {
            Some(v) if !v.is_null() => {
                let s = v.enum_name().or_else(|_| v.string())?;
                parse(s)
                    .map(Some)
                    .map_err(|e| error(Code::BadUserInput, Some(name), format!("`{name}`: {e}")))
            }
            _ => Ok(None),
        }
    }
    fn opt_bool(&self, name: &str) -> async_graphql::Result<Option<bool>> {
        match self.obj.get(name) {
            Some(v) if !v.is_null() => Ok(Some(v.boolean()?)),
            _ => Ok(None),
        }
    }
    fn opt_f64(&self, name: &str) -> async_graphql::Result<Option<f64>> {
        match self.obj.get(name) {
            Some(v) if !v.is_null() => Ok(Some(v.f64()?)),
            _ => Ok(None),
        }
    }
    fn opt_u32(&self, name: &str) -> async_graphql::Result<Option<u32>> {
        match self.obj.get(name) {
            Some(v) if !v.is_null() => {
                let n = v.i64()?;
                u32::try_from(n).map(Some).map_err(|_| {
                    error(
                        Code::BadUserInput,
                        Some(name),
                        format!("`{name}` must be positive, got {n}"),
                    )
                })
            }
            _ => Ok(None),
        }
    }
    fn json(&self, name: &str) -> async_graphql::Result<Option<serde_json::Value>> {
        match self.obj.get(name) {
            Some(v) if !v.is_null() => {
                Ok(Some(v.as_value().clone().into_json().map_err(|e| {
                    error(Code::BadUserInput, Some(name), format!("`{name}`: {e}"))
                })?))
            }
            _ => Ok(None),
        }
    }
    fn map(&self, name: &str) -> async_graphql::Result<serde_json::Map<String, serde_json::Value>> {
        match self.json(name)? {
            None => Ok(serde_json::Map::new()),
            Some(serde_json::Value::Object(m)) => Ok(m),
            Some(_) => Err(error(
                Code::BadUserInput,
                Some(name),
                format!("`{name}` must be an object of custom field keys and values"),
            )),
        }
    }
    fn strings(&self, name: &str) -> async_graphql::Result<Vec<String>> {
        match self.obj.get(name) {
            Some(v) if !v.is_null() => v
                .list()?
                .iter()
                .map(|s| s.string().map(str::to_owned))
                .collect(),
            _ => Ok(Vec::new()),
        }
    }
    /// A list of input objects, as JSON (nested inputs are small).
    fn objects(&self, name: &str) -> async_graphql::Result<Vec<Nested>> {
        match self.json(name)? {
            None => Ok(Vec::new()),
            Some(serde_json::Value::Array(items)) => Ok(items
                .into_iter()
                .enumerate()
                .map(|(n, v)| Nested {
                    path: format!("{name}[{n}]"),
                    map: match v {
                        serde_json::Value::Object(m) => m,
                        _ => serde_json::Map::new(),
                    },
                })
                .collect()),
            Some(_) => Err(error(
                Code::BadUserInput,
                Some(name),
                format!("`{name}` must be a list"),
            )),
        }
    }
}

/// One nested input object (`stages[2]`), read with errors that name its path.
struct Nested {
    path: String,
    map: serde_json::Map<String, serde_json::Value>,
}

impl Nested {
    fn bad(&self, key: &str, what: &str) -> async_graphql::Error {
        let field = format!("{}.{key}", self.path);
        error(
            Code::BadUserInput,
            Some(&field),
            format!("`{field}` {what}"),
        )
    }
    fn opt_str(&self, key: &str) -> async_graphql::Result<Option<String>> {
        match self.map.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.bad(key, "must be text")),
        }
    }
    fn str(&self, key: &str) -> async_graphql::Result<String> {
        self.opt_str(key)?
            .ok_or_else(|| self.bad(key, "is required"))
    }
    fn id(&self, key: &str) -> async_graphql::Result<Id> {
        let s = self.str(key)?;
        Id::parse(s.clone()).map_err(|e| self.bad(key, &format!("`{s}`: {e}")))
    }
    fn enum_of<T>(
        &self,
        key: &str,
        parse: impl Fn(&str) -> Result<T, domain::enums::EnumError>,
    ) -> async_graphql::Result<Option<T>> {
        self.opt_str(key)?
            .map(|s| parse(&s).map_err(|e| self.bad(key, &e.to_string())))
            .transpose()
    }
}

fn input<'a>(ctx: &'a ResolverContext<'a>) -> async_graphql::Result<Input<'a>> {
    Ok(Input {
        obj: ctx.args.try_get("input")?.object()?,
    })
}

/// Runs `f` (authorize, then the store command) on a database worker as the caller; when `f`
/// succeeds, its transaction committed and the request is marked so ([`RequestCtx::committed`]).
pub(super) async fn run_as<T, F>(rc: &RequestCtx, f: F) -> async_graphql::Result<T>
where
    F: FnOnce(&mut Store, &app::Services, &app::Access, &str, Instant) -> Result<T, Failure>
        + Send
        + 'static,
    T: Send + 'static,
{
    let services = rc.services.clone();
    let access = rc.caller.access.clone();
    // Set on the worker as soon as the command succeeds, so that it counts even if this
    // request stops waiting for it.
    let committed = rc.committed.clone();
    rc.db
        .run(move |store| {
            let org = access.viewer.org.clone();
            let done = f(store, &services, &access, &org, now());
            if done.is_ok() {
                committed.store(true, std::sync::atomic::Ordering::Release);
            }
            done
        })
        .await
        .map_err(|e| internal("reaching the database", e))?
        .map_err(failure)
}

/// [`run_as`] for a mutation whose `f` returns the id of the changed object of `entity`,
/// which is then read back as the caller.
async fn mutate<F>(
    ctx: &ResolverContext<'_>,
    entity: EntityId,
    f: F,
) -> async_graphql::Result<Option<FieldValue<'static>>>
where
    F: FnOnce(&mut Store, &app::Services, &app::Access, &str, Instant) -> Result<String, Failure>
        + Send
        + 'static,
{
    let id = run_as(ctx.data::<RequestCtx>()?, f).await?;
    metrics::counter!("hireplane_mutations_total", "entity" => format!("{entity:?}")).increment(1);
    let node = super::read::lookup_by_id(ctx, entity, &id).await?;
    Ok(node.map(FieldValue::owned_any))
}

fn mutation(
    name: &str,
    returns: EntityId,
    input_type: &str,
    doc: &str,
    resolver: Resolver,
) -> Field {
    Field::new(
        name,
        TypeRef::named(super::model::type_name(returns)),
        resolver,
    )
    .argument(
        InputValue::new("input", TypeRef::named_nn(input_type))
            .description(format!("What to change: see `{input_type}`")),
    )
    .description(doc)
}

type Resolver = fn(ResolverContext<'_>) -> FieldFuture<'_>;

pub fn fields() -> Vec<Field> {
    vec![
        mutation(
            "createCandidate",
            EntityId::Candidates,
            "CreateCandidateInput",
            "Adds a candidate, with `jobId` also applied to that job in the same transaction. Who may: with `jobId`, whoever may edit the job; without, whoever may edit a candidate tied to no job (admins by default). Checks: a name; `sourceId` only with `jobId`; custom fields of their types. Answers with the candidate as the caller reads it",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), create_candidate(ctx)),
        ),
        mutation(
            "updateCandidate",
            EntityId::Candidates,
            "UpdateCandidateInput",
            "Changes a candidate's own fields: those given are set (null clears an optional one), the others stay. Who may: whoever may edit the candidate; `viewContactDetails` too when `email` or `phone` change. Answers with the candidate",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), update_candidate(ctx)),
        ),
        mutation(
            "applyToJob",
            EntityId::Applications,
            "ApplyToJobInput",
            "Applies a candidate to a job: the application enters the job's first stage as `active`. Who may: whoever may edit the job and view the candidate. Checks: one active application per candidate and job; a draft or open job. Answers with the application",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), apply_to_job(ctx)),
        ),
        mutation(
            "moveApplication",
            EntityId::Applications,
            "MoveApplicationInput",
            "Moves an active application to another stage of its own job, recorded in its stage history. Who may: whoever may edit the application (admins, the job's recruiters and hiring managers by default). Checks: active, and the stage is of its job (`BAD_USER_INPUT` on `toStageId`). Answers with the application",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), move_application(ctx)),
        ),
        mutation(
            "archiveApplication",
            EntityId::Applications,
            "ArchiveApplicationInput",
            "Archives an active application with a reason; it becomes read-only. Who may: whoever may edit the application. Checks: active (`CONFLICT` otherwise); a reason. Answers with the application",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), archive_application(ctx)),
        ),
        mutation(
            "hireApplication",
            EntityId::Applications,
            "HireApplicationInput",
            "Hires: the application enters its job's hired stage and becomes `hired`. Who may: whoever may edit the application. Checks: active. Answers with the application",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), hire_application(ctx)),
        ),
        mutation(
            "scheduleInterview",
            EntityId::Interviews,
            "ScheduleInterviewInput",
            "Books one interview of an application with its participants. Who may: whoever may edit the application. Checks: an active application, a stage of its job, `endsAt` after `startsAt`, participants active users each at most once, at least one with role `interviewer`. Answers with the interview (`scheduled`); feedback on it is taken only once it has started",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), schedule_interview(ctx)),
        ),
        mutation(
            "cancelInterview",
            EntityId::Interviews,
            "CancelInterviewInput",
            "Cancels a scheduled interview; its participants and feedback are kept, and no feedback is taken after. Who may: whoever may edit the interview. Checks: `scheduled` (`CONFLICT` otherwise). Answers with the interview",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), cancel_interview(ctx)),
        ),
        mutation(
            "submitFeedback",
            EntityId::Feedback,
            "SubmitFeedbackInput",
            "Submits the caller's scorecard for an interview. Who may: whoever may view the interview and edit a new feedback whose author is the caller. Checks: only after the interview starts (`BAD_USER_INPUT` on `interviewId` before), not for a cancelled one (`CONFLICT`), one scorecard per author and interview, scores 1 to 4. Answers with the feedback",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), submit_feedback(ctx)),
        ),
        mutation(
            "updateFeedback",
            EntityId::Feedback,
            "UpdateFeedbackInput",
            "Changes a submitted scorecard: those given of recommendation, scores (the whole map) and notes (null clears them) are set, the others stay; at least one. Who may: whoever may edit the feedback (its author by default). Checks: not for a cancelled interview (`CONFLICT` on `feedbackId`). Answers with the feedback",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), update_feedback(ctx)),
        ),
        mutation(
            "createOffer",
            EntityId::Offers,
            "CreateOfferInput",
            "Makes a new offer version for an application; it becomes the application's current offer. Who may: whoever may edit the application and the new offer; `viewCompensation` when terms are given. Checks: an active application, terms of their types. Answers with the offer",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), create_offer(ctx)),
        ),
        mutation(
            "updateOffer",
            EntityId::Offers,
            "UpdateOfferInput",
            "Moves an offer's status forward, or changes its terms before it is sent. Who may: whoever may edit the offer; `viewCompensation` when terms change. Checks: only the current version, not yet accepted, declined or rescinded (`CONFLICT`); a status only forward (`BAD_USER_INPUT` on `status`); terms only before `sent` (`CONFLICT` on `terms`). Answers with the offer",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), update_offer(ctx)),
        ),
        mutation(
            "createJob",
            EntityId::Jobs,
            "CreateJobInput",
            "Creates a job with its pipeline and hiring team. Who may: whoever may edit the department (admins by default); `manageHiringTeam` on the new job when it is confidential. Checks: a `draft` or `open` status, at least one stage, a headcount of at least 1, each team member once. Answers with the job",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), create_job(ctx)),
        ),
        mutation(
            "updateJob",
            EntityId::Jobs,
            "UpdateJobInput",
            "Changes a job (status changes: draft→open, open⇄closed, any→archived); fields left out keep their value. Who may: whoever may edit the job; `manageHiringTeam` too when `hiringTeam` or `confidential` change. Answers with the job",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), update_job(ctx)),
        ),
        mutation(
            "addStage",
            EntityId::Jobs,
            "AddStageInput",
            "Adds a stage to a job's pipeline, at the end or before one of its stages. Who may: whoever may edit the job. Checks: `beforeStageId` is a stage of the same job. Answers with the job",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), add_stage(ctx)),
        ),
        mutation(
            "renameStage",
            EntityId::Stages,
            "RenameStageInput",
            "Renames a stage of a job's pipeline. Who may: whoever may edit the stage's job. Answers with the stage",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), rename_stage(ctx)),
        ),
        mutation(
            "removeStage",
            EntityId::Jobs,
            "RemoveStageInput",
            "Removes a stage no application, history entry or interview refers to (a job keeps at least one). Who may: whoever may edit the stage's job. Answers with the job",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), remove_stage(ctx)),
        ),
        Field::new("createCustomField", TypeRef::named_nn("JSON"), |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), create_custom_field(ctx))
        })
        .argument(
            InputValue::new("input", TypeRef::named_nn("CreateCustomFieldInput"))
                .description("The field's entity, key, label, type and options"),
        )
        .description("Defines a custom field of candidates, applications or jobs. Who may: whoever may edit the org (admins by default; others get `FORBIDDEN`). Checks: a key unique per entity, options for select types. Answers with the field's definition as JSON"),
        Field::new("setCustomFieldValue", TypeRef::named_nn("JSON"), |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), set_custom_field_value(ctx))
        })
        .argument(
            InputValue::new("input", TypeRef::named_nn("SetCustomFieldValueInput"))
                .description("The record, the field's key and the value"),
        )
        .description("Sets (or with null, removes) one custom field value of a record. Who may: whoever may edit the record. Checks: the value is of the field's type; answers with the record's custom fields the caller may read (as `custom(key:)` reads them)"),
    ]
}

pub fn types() -> Vec<Type> {
    let s = |n: &str, d: &str| InputValue::new(n, TypeRef::named(TypeRef::STRING)).description(d);
    let s_nn =
        |n: &str, d: &str| InputValue::new(n, TypeRef::named_nn(TypeRef::STRING)).description(d);
    let id = |n: &str, d: &str| InputValue::new(n, TypeRef::named(TypeRef::ID)).description(d);
    let id_nn =
        |n: &str, d: &str| InputValue::new(n, TypeRef::named_nn(TypeRef::ID)).description(d);
    let t = |n: &str, ty: &str, d: &str| InputValue::new(n, TypeRef::named(ty)).description(d);
    let t_nn =
        |n: &str, ty: &str, d: &str| InputValue::new(n, TypeRef::named_nn(ty)).description(d);
    let custom = |what: &str| {
        t(
            "customFields",
            "JSON",
            &format!(
                "The {what}'s custom field values, an object of key → value (keys defined by \
                 `createCustomField`; each value of its field's type); they read back as `custom(key:)`"
            ),
        )
    };
    let zone = "The candidate's IANA time zone, e.g. Europe/Berlin (scheduling reads the \
                candidate's windows in it)";
    let tags = "Free-form labels; the whole list, replacing the old one";
    vec![
        InputObject::new("CreateCandidateInput")
            .description("A new candidate: `createCandidate`")
            .field(s_nn("name", "The candidate's full name; not empty"))
            .field(s("email", "Contact email (masked for callers without `viewContactDetails`)"))
            .field(s("phone", "Contact phone number (masked like `email`)"))
            .field(s("location", "Where the candidate lives or wants to work, free text"))
            .field(s("timezone", zone))
            .field(
                InputValue::new("tags", TypeRef::named_nn_list(TypeRef::STRING))
                    .description("Free-form labels"),
            )
            .field(custom("candidate"))
            .field(id(
                "jobId",
                "Apply the new candidate to this job at once (one transaction); without it, \
                 only whom the policy lets add unattached candidates (admins by default) may",
            ))
            .field(id(
                "sourceId",
                "With `jobId` only (refused without it): where the application came from",
            ))
            .into(),
        InputObject::new("ApplyToJobInput")
            .description("A new application of an existing candidate to a job: `applyToJob`")
            .field(id_nn("candidateId", "The candidate who applies"))
            .field(id_nn(
                "jobId",
                "The job applied to; the candidate may hold one active application per job",
            ))
            .field(id("sourceId", "Where the application came from (a `Source`)"))
            .field(id(
                "creditedToId",
                "The user credited with the application (a referrer or sourcer): reads back \
                 as `Application.creditedTo`",
            ))
            .field(id(
                "creditedToUserId",
                "Deprecated alias of `creditedToId` (the same value; give one of the two)",
            ))
            .field(custom("application"))
            .into(),
        InputObject::new("MoveApplicationInput")
            .description("Where to move an application: `moveApplication`")
            .field(id_nn("applicationId", "The active application to move"))
            .field(id_nn(
                "toStageId",
                "The stage of the application's own job it moves to; becomes its `currentStage`",
            ))
            .into(),
        InputObject::new("ArchiveApplicationInput")
            .description("Which application to archive and why: `archiveApplication`")
            .field(id_nn("applicationId", "The active application to archive"))
            .field(s_nn(
                "reason",
                "Why (rejected, withdrew, ...): reads back as `archiveReason`; not empty",
            ))
            .into(),
        InputObject::new("HireApplicationInput")
            .description("Which application to hire: `hireApplication`")
            .field(id_nn(
                "applicationId",
                "The active application whose candidate is hired",
            ))
            .into(),
        InputObject::new("InterviewerInput")
            .description(
                "One participant of an interview: reads back as an `InterviewParticipant` of \
                 `Interview.interviewParticipants`",
            )
            .field(id_nn("userId", "The participant, an active user: reads back as `user`"))
            .field(t_nn(
                "role",
                "InterviewParticipantRole",
                "How they sit on the interview: `interviewer` scores it, trainees shadow",
            ))
            .into(),
        InputObject::new("ScheduleInterviewInput")
            .description("A new interview: `scheduleInterview`")
            .field(id_nn("applicationId", "The active application the interview is for"))
            .field(id_nn("stageId", "The stage of the application's job the interview belongs to"))
            .field(s_nn("title", "What the interview is called (`Technical`, `Onsite: design`)"))
            .field(t_nn("startsAt", "DateTime", "When it starts"))
            .field(t_nn("endsAt", "DateTime", "When it ends; after `startsAt`"))
            .field(
                InputValue::new(
                    "interviewParticipants",
                    TypeRef::named_nn_list("InterviewerInput"),
                )
                .description(
                    "Who sits on it, each an active user at most once: reads back as \
                     `interviewParticipants` (give this or `interviewers`)",
                ),
            )
            .field(
                InputValue::new("interviewers", TypeRef::named_nn_list("InterviewerInput"))
                    .description(
                        "Deprecated alias of `interviewParticipants` (the same list; give one \
                         of the two)",
                    ),
            )
            .field(t(
                "status",
                "InterviewStatus",
                "`scheduled` (the default): it lies ahead, and nobody on it, the candidate included, is in another scheduled interview at that time; `completed`: records an interview that took place (it has ended)",
            ))
            .into(),
        InputObject::new("SubmitFeedbackInput")
            .description("The caller's scorecard for an interview: `submitFeedback`")
            .field(id_nn(
                "interviewId",
                "The interview; it must have started and not been cancelled, and the caller \
                 submits one scorecard per interview",
            ))
            .field(t_nn(
                "recommendation",
                "FeedbackRecommendation",
                "The caller's hiring recommendation",
            ))
            .field(t(
                "scores",
                "JSON",
                "Attribute → score 1 to 4, e.g. `{\"coding\": 3}`",
            ))
            .field(s("notes", "Free-text notes"))
            .into(),
        InputObject::new("UpdateFeedbackInput")
            .description("Changes to a submitted scorecard: `updateFeedback` (at least one)")
            .field(id_nn("feedbackId", "The scorecard to change"))
            .field(t(
                "recommendation",
                "FeedbackRecommendation",
                "The new recommendation",
            ))
            .field(t(
                "scores",
                "JSON",
                "Attribute → score 1 to 4: the whole map, replacing the old one",
            ))
            .field(s("notes", "The new notes; null clears them"))
            .into(),
        InputObject::new("OfferTermsInput")
            .description(
                "An offer's terms (masked for callers without `viewCompensation`, who may not \
                 give them either)",
            )
            .field(t("startDate", "Date", "The proposed first day"))
            .field(
                InputValue::new("salary", TypeRef::named(TypeRef::FLOAT))
                    .description("The base salary, per `salaryPeriod`, in `salaryCurrency`"),
            )
            .field(s("salaryCurrency", "ISO 4217 code of the salary, e.g. EUR"))
            .field(t(
                "salaryPeriod",
                "OfferSalaryPeriod",
                "Whether `salary` is per year or per hour",
            ))
            .field(
                InputValue::new("bonus", TypeRef::named(TypeRef::FLOAT))
                    .description("A one-off or yearly bonus, in `salaryCurrency`"),
            )
            .field(s("equity", "Equity offered, free text (e.g. `0.1%` or `1000 options`)"))
            .into(),
        InputObject::new("CreateOfferInput")
            .description("A new offer version for an application: `createOffer`")
            .field(id_nn(
                "applicationId",
                "The active application the offer is for; the new version becomes its current offer",
            ))
            .field(t("status", "OfferStatus", "The new offer's status; default draft"))
            .field(t("terms", "OfferTermsInput", "The offer's terms"))
            .into(),
        InputObject::new("UpdateOfferInput")
            .description("Changes to an offer: `updateOffer`")
            .field(id_nn("offerId", "The offer to change"))
            .field(t(
                "status",
                "OfferStatus",
                "The new status, only forward (draft → pending_approval → approved → sent; steps may \
                 be skipped); accepted or declined only from sent; rescinded from any status not final",
            ))
            .field(t(
                "terms",
                "OfferTermsInput",
                "New terms, only before the offer is sent; fields left out keep their value",
            ))
            .into(),
        InputObject::new("StageInput")
            .description("One stage of a new job's pipeline, in pipeline order")
            .field(s_nn("name", "The stage's name as the org calls it"))
            .field(t_nn(
                "kind",
                "StageKind",
                "What the stage is, for reports that compare pipelines (hiring needs a `hired` stage)",
            ))
            .into(),
        InputObject::new("HiringTeamInput")
            .description("One member of a job's hiring team: reads back as a `HiringTeamMember`")
            .field(id_nn("userId", "The member, an active user: reads back as `user`"))
            .field(t_nn(
                "role",
                "HiringTeamMemberRole",
                "Their role on the job; the policy grants access per role",
            ))
            .into(),
        InputObject::new("CreateJobInput")
            .description("A new job with its pipeline and hiring team: `createJob`")
            .field(s_nn("title", "The job's title; not empty"))
            .field(id_nn("departmentId", "The department the job belongs to"))
            .field(s_nn("location", "Where the job is, free text"))
            .field(t_nn(
                "employmentType",
                "JobEmploymentType",
                "Full-time, part-time, contract or internship",
            ))
            .field(t("status", "JobStatus", "The new job's status: draft (the default) or open"))
            .field(
                InputValue::new("confidential", TypeRef::named(TypeRef::BOOLEAN)).description(
                    "Whether only the hiring team (and admins) may see the job; default false",
                ),
            )
            .field(
                InputValue::new("headcount", TypeRef::named(TypeRef::INT))
                    .description("How many people the job hires, at least 1; default 1"),
            )
            .field(
                InputValue::new("stages", TypeRef::named_nn_list_nn("StageInput"))
                    .description("The pipeline, in order: reads back as the job's stages"),
            )
            .field(
                InputValue::new("hiringTeam", TypeRef::named_nn_list("HiringTeamInput"))
                    .description("The hiring team: reads back as `hiringTeam`"),
            )
            .field(custom("job"))
            .into(),
        InputObject::new("UpdateJobInput")
            .description("Changes to a job: `updateJob` (fields left out keep their value)")
            .field(id_nn("jobId", "The job to change"))
            .field(s("title", "The new title; cannot be cleared"))
            .field(s("location", "The new location"))
            .field(t(
                "status",
                "JobStatus",
                "The new status: draft → open, open ⇄ closed, any → archived",
            ))
            .field(
                InputValue::new("confidential", TypeRef::named(TypeRef::BOOLEAN))
                    .description("Whether only the hiring team (and admins) may see the job"),
            )
            .field(
                InputValue::new("headcount", TypeRef::named(TypeRef::INT))
                    .description("How many people the job hires"),
            )
            .field(
                InputValue::new("hiringTeam", TypeRef::named_nn_list("HiringTeamInput"))
                    .description("The whole hiring team, replacing the old one"),
            )
            .into(),
        InputObject::new("UpdateCandidateInput")
            .description(
                "Changes to a candidate: `updateCandidate` (fields left out keep their value, \
                 null clears an optional one)",
            )
            .field(id_nn("candidateId", "The candidate to change"))
            .field(s("name", "The new full name; cannot be cleared"))
            .field(s("email", "The new email; needs `viewContactDetails`"))
            .field(s("phone", "The new phone number; needs `viewContactDetails`"))
            .field(s("location", "Where the candidate lives or wants to work"))
            .field(s("timezone", zone))
            .field(
                InputValue::new("tags", TypeRef::named_nn_list(TypeRef::STRING))
                    .description(tags),
            )
            .into(),
        InputObject::new("CancelInterviewInput")
            .description("Which interview to cancel: `cancelInterview`")
            .field(id_nn("interviewId", "The scheduled interview to cancel"))
            .into(),
        InputObject::new("AddStageInput")
            .description("A new stage of a job's pipeline: `addStage`")
            .field(id_nn("jobId", "The job whose pipeline gets the stage"))
            .field(s_nn("name", "The new stage's name"))
            .field(t_nn("kind", "StageKind", "What the stage is, for reports"))
            .field(id(
                "beforeStageId",
                "Insert before this stage of the job; at the end when absent",
            ))
            .into(),
        InputObject::new("RenameStageInput")
            .description("A stage's new name: `renameStage`")
            .field(id_nn("stageId", "The stage to rename"))
            .field(s_nn("name", "The stage's new name"))
            .into(),
        InputObject::new("RemoveStageInput")
            .description("Which stage to remove: `removeStage`")
            .field(id_nn(
                "stageId",
                "The stage to remove: no application, history entry or interview may refer to it",
            ))
            .into(),
        InputObject::new("CreateCustomFieldInput")
            .description("A new custom field of the org: `createCustomField`")
            .field(s_nn("entity", "What the field belongs to: candidate, application or job"))
            .field(s_nn(
                "key",
                "The field's key (letters, digits and `_`), unique per entity: read it as `custom(key:)`",
            ))
            .field(s_nn("label", "The field's name as people see it"))
            .field(s_nn(
                "type",
                "The type of its values: text, number, boolean, date, select, multi_select",
            ))
            .field(
                InputValue::new("options", TypeRef::named_nn_list(TypeRef::STRING)).description(
                    "The allowed values of a select or multi_select field (required for those)",
                ),
            )
            .field(
                InputValue::new("sensitive", TypeRef::named(TypeRef::BOOLEAN)).description(
                    "Whether only callers with `viewSensitiveCustomFields` may read it; default false",
                ),
            )
            .into(),
        InputObject::new("SetCustomFieldValueInput")
            .description("One custom field value of one record: `setCustomFieldValue`")
            .field(s_nn("entity", "What the record is: candidate, application or job"))
            .field(id_nn("recordId", "The record's id"))
            .field(s_nn("key", "The custom field's key"))
            .field(t(
                "value",
                "JSON",
                "The value, of the field's type (a select's one of its options); null removes it",
            ))
            .into(),
    ]
}

fn instant(input: &Input<'_>, name: &str) -> async_graphql::Result<Instant> {
    let s = input.str(name)?;
    Instant::parse(&s).map_err(|e| error(Code::BadUserInput, Some(name), format!("`{name}`: {e}")))
}

fn terms(input: &Input<'_>) -> async_graphql::Result<Option<store::OfferTerms>> {
    let Some(obj) = input.obj.get("terms").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let t = Input { obj: obj.object()? };
    let start_date = t
        .opt_str("startDate")?
        .map(|d| {
            domain::Date::parse(&d).map_err(|e| {
                error(
                    Code::BadUserInput,
                    Some("terms.startDate"),
                    format!("`terms.startDate`: {e}"),
                )
            })
        })
        .transpose()?;
    let salary = match t.opt_f64("salary")? {
        None => None,
        Some(amount) => Some(domain::entity::Salary {
            amount: domain::entity::Amount(amount),
            currency: t.opt_str("salaryCurrency")?.ok_or_else(|| {
                error(
                    Code::BadUserInput,
                    Some("terms.salaryCurrency"),
                    "`terms.salaryCurrency` is required with a salary",
                )
            })?,
            period: t
                .opt_enum("salaryPeriod", domain::enums::SalaryPeriod::parse)?
                .unwrap_or(domain::enums::SalaryPeriod::Year),
        }),
    };
    Ok(Some(store::OfferTerms {
        start_date,
        salary,
        bonus: t.opt_f64("bonus")?.map(domain::entity::Amount),
        equity: t.opt_str("equity")?,
    }))
}

async fn create_candidate(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let timezone = i
        .opt_str("timezone")?
        .map(|z| {
            domain::TimeZone::parse(&z).map_err(|e| {
                error(
                    Code::BadUserInput,
                    Some("timezone"),
                    format!("`timezone`: {e}"),
                )
            })
        })
        .transpose()?;
    let cmd = store::NewCandidate {
        id: None,
        name: i.str("name")?,
        email: i.opt_str("email")?,
        phone: i.opt_str("phone")?,
        location: i.opt_str("location")?,
        timezone,
        tags: i.strings("tags")?,
        custom_fields: i.map("customFields")?,
        demographics: None,
        at: now(),
    };
    let job = i.opt_id("jobId")?;
    let source = i.opt_id("sourceId")?;
    if source.is_some() && job.is_none() {
        // A source is where an application came from: without one, it would be dropped.
        return Err(error(
            Code::BadUserInput,
            Some("sourceId"),
            "`sourceId` needs `jobId`: a source is where an application came from",
        ));
    }
    let by = caller_id(&ctx)?;
    let at = cmd.at;
    mutate(
        &ctx,
        EntityId::Candidates,
        move |store, services, access, org, now| {
            let command = Command::CreateCandidate {
                job: job.as_ref().map(Id::as_str),
            };
            services.authorize_command(store, access, &command, now)?;
            match job {
                // Added to a job: candidate and application are written in one transaction.
                Some(job) => {
                    let apply = store::NewApplication {
                        id: None,
                        candidate_id: job.clone(),
                        job_id: job,
                        source_id: source,
                        credited_to_user_id: None,
                        custom_fields: serde_json::Map::new(),
                        at,
                        by_user_id: by,
                    };
                    let (candidate, _) = store.create_candidate_and_apply(org, cmd, apply)?;
                    Ok(candidate.id.to_string())
                }
                None => Ok(store.create_candidate(org, cmd)?.id.to_string()),
            }
        },
    )
    .await
}

async fn apply_to_job(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let candidate = i.id("candidateId")?;
    let job = i.id("jobId")?;
    let by = caller_id(&ctx)?;
    let cmd = store::NewApplication {
        id: None,
        candidate_id: candidate.clone(),
        job_id: job.clone(),
        source_id: i.opt_id("sourceId")?,
        credited_to_user_id: i.opt_id(i.alias("creditedToId", "creditedToUserId")?)?,
        custom_fields: i.map("customFields")?,
        at: now(),
        by_user_id: by,
    };
    mutate(
        &ctx,
        EntityId::Applications,
        move |store, services, access, org, at| {
            let command = Command::ApplyToJob {
                candidate: candidate.as_str(),
                job: job.as_str(),
            };
            services.authorize_command(store, access, &command, at)?;
            Ok(store.apply(org, cmd)?.id.to_string())
        },
    )
    .await
}

async fn move_application(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let application = i.id("applicationId")?;
    let cmd = store::MoveStage {
        application_id: application.clone(),
        to_stage_id: i.id("toStageId")?,
        by_user_id: caller_id(&ctx)?,
        at: now(),
        transition_id: None,
    };
    mutate(
        &ctx,
        EntityId::Applications,
        move |store, services, access, org, at| {
            let command = Command::MoveApplication {
                application: application.as_str(),
                to_stage: cmd.to_stage_id.as_str(),
            };
            services.authorize_command(store, access, &command, at)?;
            Ok(store.move_stage(org, cmd)?.application.id.to_string())
        },
    )
    .await
}

async fn archive_application(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let application = i.id("applicationId")?;
    let cmd = store::Archive {
        application_id: application.clone(),
        reason: i.str("reason")?,
        at: now(),
    };
    mutate(
        &ctx,
        EntityId::Applications,
        move |store, services, access, org, at| {
            let command = Command::ArchiveApplication {
                application: application.as_str(),
            };
            services.authorize_command(store, access, &command, at)?;
            Ok(store.archive(org, cmd)?.id.to_string())
        },
    )
    .await
}

async fn hire_application(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let application = i.id("applicationId")?;
    let cmd = store::Hire {
        application_id: application.clone(),
        by_user_id: caller_id(&ctx)?,
        at: now(),
        transition_id: None,
    };
    mutate(
        &ctx,
        EntityId::Applications,
        move |store, services, access, org, at| {
            let command = Command::HireApplication {
                application: application.as_str(),
            };
            services.authorize_command(store, access, &command, at)?;
            Ok(store.hire(org, cmd)?.application.id.to_string())
        },
    )
    .await
}

async fn schedule_interview(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let application = i.id("applicationId")?;
    let mut interviewers = Vec::new();
    let seats = i.alias("interviewParticipants", "interviewers")?;
    if i.obj.get(seats).is_none_or(|v| v.is_null()) {
        return Err(error(
            Code::BadUserInput,
            Some("interviewParticipants"),
            "`interviewParticipants` is required",
        ));
    }
    for seat in i.objects(seats)? {
        let user_id = seat.id("userId")?;
        let role = seat
            .enum_of("role", domain::enums::InterviewerRole::parse)?
            .unwrap_or(domain::enums::InterviewerRole::Interviewer);
        interviewers.push(domain::entity::InterviewParticipant { user_id, role });
    }
    let cmd = store::NewInterview {
        id: None,
        application_id: application.clone(),
        stage_id: i.id("stageId")?,
        title: i.str("title")?,
        starts_at: instant(&i, "startsAt")?,
        ends_at: instant(&i, "endsAt")?,
        status: i
            .opt_enum("status", domain::enums::InterviewStatus::parse)?
            .unwrap_or(domain::enums::InterviewStatus::Scheduled),
        interviewers,
        booked_at: Some(now()),
    };
    mutate(
        &ctx,
        EntityId::Interviews,
        move |store, services, access, org, at| {
            let command = Command::ScheduleInterview {
                application: application.as_str(),
                stage: cmd.stage_id.as_str(),
            };
            services.authorize_command(store, access, &command, at)?;
            Ok(store.create_interview(org, cmd)?.id.to_string())
        },
    )
    .await
}

async fn submit_feedback(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let interview = i.id("interviewId")?;
    let author = Id::parse(ctx.data::<RequestCtx>()?.caller.user().to_owned())
        .map_err(|e| internal("the caller's id", e))?;
    let scores = scores(&i)?.unwrap_or_default();
    let recommendation = i
        .opt_enum("recommendation", domain::enums::Recommendation::parse)?
        .ok_or_else(|| {
            error(
                Code::BadUserInput,
                Some("recommendation"),
                "`recommendation` is required",
            )
        })?;
    let cmd = store::NewFeedback {
        id: None,
        interview_id: interview.clone(),
        author_id: author.clone(),
        submitted_at: now(),
        recommendation,
        scores,
        notes: i.opt_str("notes")?,
    };
    mutate(
        &ctx,
        EntityId::Feedback,
        move |store, services, access, org, at| {
            let command = Command::SubmitFeedback {
                interview: interview.as_str(),
            };
            services.authorize_command(store, access, &command, at)?;
            Ok(store.submit_feedback(org, cmd)?.id.to_string())
        },
    )
    .await
}

/// A scorecard's `scores` when given: an object of attribute → whole number (the store checks
/// 1 to 4); a value that is no whole number is refused naming it as the store would
/// (`scores["coding"]`).
fn scores(i: &Input<'_>) -> async_graphql::Result<Option<BTreeMap<String, u8>>> {
    let Some(v) = i.json("scores")? else {
        return Ok(None);
    };
    let serde_json::Value::Object(m) = v else {
        return Err(error(
            Code::BadUserInput,
            Some("scores"),
            "`scores` must be an object of attribute → 1..4",
        ));
    };
    let mut scores = BTreeMap::new();
    for (k, v) in m {
        let field = camel_path(&store::map_entry_path("scores", &k));
        let n = v
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .ok_or_else(|| {
                error(
                    Code::BadUserInput,
                    Some(&field),
                    format!("`{field}` must be a whole number 1 to 4"),
                )
            })?;
        scores.insert(k, n);
    }
    Ok(Some(scores))
}

async fn update_feedback(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    i.not_null(&["recommendation", "scores"])?;
    let feedback = i.id("feedbackId")?;
    let cmd = store::UpdateFeedback {
        feedback_id: feedback.clone(),
        recommendation: i.opt_enum("recommendation", domain::enums::Recommendation::parse)?,
        scores: scores(&i)?,
        notes: i.nullable_str("notes")?,
    };
    mutate(
        &ctx,
        EntityId::Feedback,
        move |store, services, access, org, at| {
            let command = Command::UpdateFeedback {
                feedback: feedback.as_str(),
            };
            services.authorize_command(store, access, &command, at)?;
            Ok(store.update_feedback(org, cmd)?.id.to_string())
        },
    )
    .await
}

async fn create_offer(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let application = i.id("applicationId")?;
    let terms = terms(&i)?;
    let status = i
        .opt_enum("status", domain::enums::OfferStatus::parse)?
        .unwrap_or(domain::enums::OfferStatus::Draft);
    let cmd = store::NewOffer {
        id: None,
        application_id: application.clone(),
        created_at: now(),
        status,
        terms: terms.clone().unwrap_or_default(),
    };
    mutate(
        &ctx,
        EntityId::Offers,
        move |store, services, access, org, at| {
            let command = Command::CreateOffer {
                application: application.as_str(),
                status: status.as_str(),
                terms: terms.is_some(),
            };
            services.authorize_command(store, access, &command, at)?;
            Ok(store.create_offer(org, cmd)?.id.to_string())
        },
    )
    .await
}

async fn update_offer(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    i.not_null(&["status", "terms"])?;
    let offer = i.id("offerId")?;
    let terms = terms(&i)?;
    let cmd = store::UpdateOffer {
        offer_id: offer.clone(),
        at: now(),
        status: i.opt_enum("status", domain::enums::OfferStatus::parse)?,
        terms: terms.clone(),
    };
    mutate(
        &ctx,
        EntityId::Offers,
        move |store, services, access, org, at| {
            let command = Command::UpdateOffer {
                offer: offer.as_str(),
                terms: terms.is_some(),
            };
            services.authorize_command(store, access, &command, at)?;
            Ok(store.update_offer(org, cmd)?.id.to_string())
        },
    )
    .await
}

fn hiring_team(
    i: &Input<'_>,
) -> async_graphql::Result<Option<Vec<domain::entity::HiringTeamMember>>> {
    if i.obj.get("hiringTeam").is_none_or(|v| v.is_null()) {
        return Ok(None);
    }
    let mut team = Vec::new();
    for m in i.objects("hiringTeam")? {
        team.push(domain::entity::HiringTeamMember {
            user_id: m.id("userId")?,
            role: m
                .enum_of("role", domain::enums::HiringTeamRole::parse)?
                .ok_or_else(|| m.bad("role", "is required"))?,
        });
    }
    Ok(Some(team))
}

async fn create_job(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let department = i.id("departmentId")?;
    let mut stages = Vec::new();
    for st in i.objects("stages")? {
        stages.push(store::NewStage {
            id: None,
            name: st.str("name")?,
            kind: st
                .enum_of("kind", domain::enums::StageKind::parse)?
                .ok_or_else(|| st.bad("kind", "is required"))?,
        });
    }
    let cmd = store::NewJob {
        id: None,
        title: i.str("title")?,
        department_id: department.clone(),
        location: i.str("location")?,
        employment_type: i
            .opt_enum("employmentType", domain::enums::EmploymentType::parse)?
            .ok_or_else(|| {
                error(
                    Code::BadUserInput,
                    Some("employmentType"),
                    "`employmentType` is required",
                )
            })?,
        status: i
            .opt_enum("status", domain::enums::JobStatus::parse)?
            .unwrap_or(domain::enums::JobStatus::Draft),
        confidential: i.opt_bool("confidential")?.unwrap_or(false),
        opened_at: now(),
        headcount: i.opt_u32("headcount")?.unwrap_or(1),
        hiring_team: hiring_team(&i)?.unwrap_or_default(),
        stages,
        custom_fields: i.map("customFields")?,
    };
    mutate(
        &ctx,
        EntityId::Jobs,
        move |store, services, access, org, at| {
            let command = Command::CreateJob {
                department: department.as_str(),
                status: cmd.status.as_str(),
                confidential: cmd.confidential,
                team: &cmd.hiring_team,
            };
            services.authorize_command(store, access, &command, at)?;
            let job = store.create_job(org, cmd)?;
            services.forget_catalog(org); // its stage names
            Ok(job.id.to_string())
        },
    )
    .await
}

async fn update_job(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    i.not_null(&[
        "title",
        "location",
        "status",
        "confidential",
        "headcount",
        "hiringTeam",
    ])?;
    let job = i.id("jobId")?;
    let mut cmd = store::UpdateJob::new(job.clone(), now());
    cmd.title = i.opt_str("title")?;
    cmd.location = i.opt_str("location")?;
    cmd.status = i.opt_enum("status", domain::enums::JobStatus::parse)?;
    cmd.confidential = i.opt_bool("confidential")?;
    cmd.headcount = i.opt_u32("headcount")?;
    cmd.hiring_team = hiring_team(&i)?;
    mutate(
        &ctx,
        EntityId::Jobs,
        move |store, services, access, org, at| {
            let command = Command::UpdateJob {
                job: job.as_str(),
                confidential: cmd.confidential,
                team: cmd.hiring_team.as_deref(),
            };
            services.authorize_command(store, access, &command, at)?;
            Ok(store.update_job(org, cmd)?.id.to_string())
        },
    )
    .await
}

async fn update_candidate(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    i.not_null(&["name", "tags"])?;
    let candidate = i.id("candidateId")?;
    let timezone = match i.nullable_str("timezone")? {
        None => None,
        Some(None) => Some(None),
        Some(Some(z)) => Some(Some(domain::TimeZone::parse(&z).map_err(|e| {
            error(
                Code::BadUserInput,
                Some("timezone"),
                format!("`timezone`: {e}"),
            )
        })?)),
    };
    let cmd = store::UpdateCandidate {
        candidate_id: candidate.clone(),
        name: i.opt_str("name")?,
        email: i.nullable_str("email")?,
        phone: i.nullable_str("phone")?,
        location: i.nullable_str("location")?,
        timezone,
        tags: match i.obj.get("tags") {
            Some(v) if !v.is_null() => Some(i.strings("tags")?),
            _ => None,
        },
    };
    let contact = cmd.email.is_some() || cmd.phone.is_some();
    mutate(
        &ctx,
        EntityId::Candidates,
        move |store, services, access, org, at| {
            let command = Command::UpdateCandidate {
                candidate: candidate.as_str(),
                contact_details: contact,
            };
            services.authorize_command(store, access, &command, at)?;
            store.update_candidate(org, cmd)?;
            Ok(candidate.to_string())
        },
    )
    .await
}

async fn cancel_interview(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let interview = i.id("interviewId")?;
    mutate(
        &ctx,
        EntityId::Interviews,
        move |store, services, access, org, at| {
            let command = Command::CancelInterview {
                interview: interview.as_str(),
            };
            services.authorize_command(store, access, &command, at)?;
            store.cancel_interview(org, &interview)?;
            Ok(interview.to_string())
        },
    )
    .await
}

async fn add_stage(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let job = i.id("jobId")?;
    let cmd = store::AddStage {
        job_id: job.clone(),
        stage: store::NewStage {
            id: None,
            name: i.str("name")?,
            kind: i
                .opt_enum("kind", domain::enums::StageKind::parse)?
                .ok_or_else(|| error(Code::BadUserInput, Some("kind"), "`kind` is required"))?,
        },
        before_stage_id: i.opt_id("beforeStageId")?,
    };
    mutate(
        &ctx,
        EntityId::Jobs,
        move |store, services, access, org, at| {
            let command = Command::AddStage {
                job: job.as_str(),
                before_stage: cmd.before_stage_id.as_ref().map(Id::as_str),
            };
            services.authorize_command(store, access, &command, at)?;
            let job = store.add_stage(org, cmd)?;
            services.forget_catalog(org); // its stage names
            Ok(job.id.to_string())
        },
    )
    .await
}

async fn rename_stage(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let stage = i.id("stageId")?;
    let cmd = store::UpdateStage {
        stage_id: stage.clone(),
        name: i.str("name")?,
    };
    mutate(
        &ctx,
        EntityId::Stages,
        move |store, services, access, org, at| {
            let command = Command::RenameStage {
                stage: stage.as_str(),
            };
            services.authorize_command(store, access, &command, at)?;
            let stage = store.update_stage(org, cmd)?;
            services.forget_catalog(org);
            Ok(stage.id.to_string())
        },
    )
    .await
}

async fn remove_stage(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let stage = i.id("stageId")?;
    mutate(
        &ctx,
        EntityId::Jobs,
        move |store, services, access, org, at| {
            let command = Command::RemoveStage {
                stage: stage.as_str(),
            };
            services.authorize_command(store, access, &command, at)?;
            let job = store.remove_stage(org, &stage)?;
            services.forget_catalog(org);
            Ok(job.id.to_string())
        },
    )
    .await
}

fn custom_entity(i: &Input<'_>) -> async_graphql::Result<domain::enums::CustomEntity> {
    let e = i.str("entity")?;
    domain::enums::CustomEntity::parse(&e).map_err(|err| {
        error(
            Code::BadUserInput,
            Some("entity"),
            format!("`entity`: {err}"),
        )
    })
}

/// [`run_as`] for a command whose answer is JSON.
async fn run_json<F>(
    ctx: &ResolverContext<'_>,
    f: F,
) -> async_graphql::Result<Option<FieldValue<'static>>>
where
    F: FnOnce(
            &mut Store,
            &app::Services,
            &app::Access,
            &str,
            Instant,
        ) -> Result<serde_json::Value, Failure>
        + Send
        + 'static,
{
    let v = run_as(ctx.data::<RequestCtx>()?, f).await?;
    Ok(Some(FieldValue::value(super::json_value(v))))
}

async fn create_custom_field(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let ty = i.str("type")?;
    let cmd = store::NewCustomField {
        id: None,
        entity: custom_entity(&i)?,
        key: i.str("key")?,
        label: i.str("label")?,
        field_type: domain::enums::CustomFieldType::parse(&ty)
            .map_err(|e| error(Code::BadUserInput, Some("type"), format!("`type`: {e}")))?,
        options: i.strings("options")?,
        sensitive: i.opt_bool("sensitive")?.unwrap_or(false),
    };
    run_json(&ctx, move |store, services, access, org, at| {
        services.authorize_command(store, access, &Command::CreateCustomField, at)?;
        let def = store.create_custom_field(org, cmd)?;
        services.forget_catalog(org);
        Ok(serde_json::to_value(&def).unwrap_or(serde_json::Value::Null))
    })
    .await
}

async fn set_custom_field_value(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let entity = custom_entity(&i)?;
    let record = i.id("recordId")?;
    let cmd = store::CustomFieldValue {
        entity,
        record_id: record.clone(),
        key: i.str("key")?,
        value: i.json("value")?.unwrap_or(serde_json::Value::Null),
    };
    let subject = match entity {
        domain::enums::CustomEntity::Candidate => EntityId::Candidates,
        domain::enums::CustomEntity::Application => EntityId::Applications,
        domain::enums::CustomEntity::Job => EntityId::Jobs,
    };
    let rc = ctx.data::<RequestCtx>()?;
    let id = record.to_string();
    let keys = run_as(rc, move |store, services, access, org, at| {
        let command = Command::SetCustomFieldValue {
            entity,
            record: record.as_str(),
        };
        services.authorize_command(store, access, &command, at)?;
        let values = store.set_custom_field_value(org, cmd)?;
        Ok(values.0.into_keys().collect::<Vec<String>>())
    })
    .await?;
    // Answered as the caller reads the record: `edit` does not let them read every field
    // (sensitive custom fields are masked for all but admins by default).
    let values = super::read::custom_values_as_caller(rc, subject, &id, &keys).await?;
    Ok(Some(FieldValue::value(super::json_value(
        serde_json::Value::Object(values),
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_fields_of_another_shape_name_the_apis_input() {
        for (store, api) in [
            ("salary.amount", "terms.salary"),
            ("salary.currency", "terms.salaryCurrency"),
            ("bonus", "terms.bonus"),
            ("start_date", "terms.startDate"),
            ("stage.name", "name"),
            ("author_id", "interviewId"),
            ("interviews[0].application_id", "applicationId"),
            ("interviews[2].stage_id", "stageId"),
            ("interviews[1].interviewers[0].user_id", "option"),
            ("interviews[1].ends_at", "option"),
            // Everything else: camel-cased as it is.
            ("to_stage_id", "toStageId"),
            (r#"scores["system_design"]"#, r#"scores["system_design"]"#),
        ] {
            assert_eq!(api_path(store), api, "{store}");
        }
    }

    #[test]
    fn paths_camel_case_names_and_keep_map_keys() {
        for (store, api) in [
            ("to_stage_id", "toStageId"),
            ("stages[0].name", "stages[0].name"),
            ("interviews[1].stage_id", "interviews[1].stageId"),
            (r#"scores["system_design"]"#, r#"scores["system_design"]"#),
            (
                r#"custom_fields["years_at_company"]"#,
                r#"customFields["years_at_company"]"#,
            ),
            (
                r#"interviews[1].custom_fields["a_b"].x_y"#,
                r#"interviews[1].customFields["a_b"].xY"#,
            ),
            // A key may hold anything, quotes and brackets too (JSON escapes).
            (
                r#"scores["say \"a_b\"]"].to_x"#,
                r#"scores["say \"a_b\"]"].toX"#,
            ),
        ] {
            assert_eq!(camel_path(store), api, "{store}");
        }
    }

    #[test]
    fn messages_name_the_field_as_the_api_spells_it() {
        let e = WriteError::Invalid {
            field: r#"custom_fields["years_at_company"]"#.to_owned(),
            message: "expected a number, got `x`".to_owned(),
        };
        assert_eq!(
            camel_message(&e),
            r#"`customFields["years_at_company"]`: expected a number, got `x`"#
        );
        let e = WriteError::Conflict {
            field: "feedback_id".to_owned(),
            message: "interview `iv_1` was cancelled".to_owned(),
        };
        assert_eq!(
            camel_message(&e),
            "`feedbackId`: interview `iv_1` was cancelled"
        );
    }
}
