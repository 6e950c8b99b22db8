//! The hiring workflow's mutations, as thin translators: each one reads its input object
//! (types, required fields, ids, enums and instants, with errors that name the field), calls its
//! command in `app` (`app::hiring`: the checks beyond types, the one authorization path of
//! commands `app::Services::authorize_command`, one store transaction), and answers with the
//! changed object read back as the caller (so masks apply to the answer too). What the caller
//! may not see is NOT_FOUND, what it sees but may not change is FORBIDDEN; the command's
//! refusals keep their field and message ([`failure`]). No mutation asks the policy engine or
//! writes to the store itself.

use app::hiring;
use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputObject, InputValue, Object, ObjectAccessor,
    ResolverContext, Type, TypeRef,
};
use domain::{Id, Instant};
use query_compiler::catalog::EntityId;
use store::Store;

use super::{Code, RequestCtx, error, internal};

/// Why a command run as the caller (a mutation, a scheduling question) did not answer.
pub(super) enum Failure {
    App(app::AppError),
    /// A scheduling plan that does not make a request (field `plan`).
    Plan(app::scheduling::PlanError),
    Request(scheduling::RequestError),
    /// An answer our own checker refuses: our fault.
    Broken(String),
}

impl From<app::AppError> for Failure {
    fn from(e: app::AppError) -> Failure {
        Failure::App(e)
    }
}

impl From<store::StoreError> for Failure {
    fn from(e: store::StoreError) -> Failure {
        Failure::App(app::AppError::Store(e))
    }
}

pub(super) fn failure(f: Failure) -> async_graphql::Error {
    match f {
        Failure::App(app::AppError::Flags(e)) => super::flags::flag_error(&e),
        Failure::App(e) => match e.refusal() {
            Some(r) => {
                let code = match r.kind {
                    app::hiring::RefusalKind::Invalid => Code::BadUserInput,
                    app::hiring::RefusalKind::NotFound => Code::NotFound,
                    app::hiring::RefusalKind::Forbidden => Code::Forbidden,
                    app::hiring::RefusalKind::Conflict => Code::Conflict,
                    app::hiring::RefusalKind::Timeout => Code::Timeout,
                };
                error(code, r.field.as_deref(), r.message)
            }
            // The whole chain of causes in the log: `PostgreSQL` alone tells the operator
            // nothing.
            None => internal("a command", super::error_chain(&e)),
        },
        Failure::Plan(app::scheduling::PlanError::Store(e)) => {
            internal("scheduling", super::error_chain(&e))
        }
        Failure::Plan(e) => error(Code::BadUserInput, Some("plan"), e.to_string()),
        Failure::Request(e) => error(Code::BadUserInput, Some("plan"), e.to_string()),
        Failure::Broken(e) => internal("checking the options", e),
    }
}

fn now() -> Instant {
    Instant::from_timestamp(jiff::Timestamp::now())
}

/// Reads of one input object, with errors that name the field.
struct Input<'a> {
    obj: ObjectAccessor<'a>,
}

/// The most characters of a text input field: [`LONG_TEXT_CHARS`] for notes, this for the
/// rest (names, titles, locations, reasons, ...). Every read of the record shows the value,
/// so a long one is multiplied by every alias that selects it (red team, pass 3: a candidate
/// name of 100,000 characters and 1,000 aliases made an answer of 100 MB).
pub const TEXT_CHARS: usize = 1_000;

/// The most characters of notes (a scorecard's, feedback's): a few pages.
pub const LONG_TEXT_CHARS: usize = 20_000;

/// `text` of input field `name`, refused when it holds the NUL character (PostgreSQL keeps no
/// NUL in text, SQLSTATE 22021, so no store takes one) or is longer than the field takes
/// ([`TEXT_CHARS`], [`LONG_TEXT_CHARS`]), the caller told which field.
fn text_of(name: &str, text: &str) -> async_graphql::Result<String> {
    if text.contains('\0') {
        return Err(error(
            Code::BadUserInput,
            Some(name),
            format!("`{name}` must not contain the NUL character (U+0000)"),
        ));
    }
    let max = if name == "notes" {
        LONG_TEXT_CHARS
    } else {
        TEXT_CHARS
    };
    if text.len() > max && text.chars().count() > max {
        return Err(error(
            Code::BadUserInput,
            Some(name),
            format!(
                "`{name}` holds at most {max} characters, not {}",
                text.chars().count()
            ),
        ));
    }
    Ok(text.to_owned())
}

impl Input<'_> {
    fn opt_str(&self, name: &str) -> async_graphql::Result<Option<String>> {
        match self.obj.get(name) {
            Some(v) if !v.is_null() => Ok(Some(text_of(name, v.string()?)?)),
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
            Some(v) => Ok(Some(Some(text_of(name, v.string()?)?))),
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
                .enumerate()
                .map(|(i, s)| text_of(&format!("{name}[{i}]"), s.string()?))
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

/// [`run_as`] for a mutation whose command `f` (an `app::hiring` command) returns the id of the
/// changed object of `entity`, which is then read back as the caller.
async fn mutate<F>(
    ctx: &ResolverContext<'_>,
    entity: EntityId,
    f: F,
) -> async_graphql::Result<Option<FieldValue<'static>>>
where
    F: FnOnce(&mut Store, &app::Services, &app::Access, Instant) -> Result<Id, app::AppError>
        + Send
        + 'static,
{
    let id = run_as(
        ctx.data::<RequestCtx>()?,
        move |store, services, access, _, at| Ok(f(store, services, access, at)?.to_string()),
    )
    .await?;
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
            "Adds a candidate, with `jobId` also applied to that job in the same transaction. Who may: with `jobId`, whoever may edit the job; without, whoever may edit a candidate tied to no job (admins by default). Checks: a name; `sourceId` only with `jobId`; custom fields of their types; an `email` another candidate has (regardless of case) is `CONFLICT` on `email` when the caller may see that candidate and their email, and is otherwise created as any new email (docs/api.md, duplicate candidates). Answers with the candidate as the caller reads it",
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
            "mergeCandidates",
            EntityId::Candidates,
            "MergeCandidatesInput",
            "Merges a duplicate candidate into the one kept, as Greenhouse does: the duplicate's applications (with their stage history, interviews, scorecards and offers) become the kept candidate's; its email, phone, location, time zone, tags and custom field values fill only what the kept one lacks; its demographic answers are deleted with it, never carried over (an answer moved into an unchanged group would tell whose it was); the duplicate is removed (`duplicateCandidates` finds them). One transaction; emits `candidate.merged`. Who may: whoever may edit the org and edit and see the contact details of both (admins by default; others get `FORBIDDEN`, a candidate they may not see is `NOT_FOUND`). Checks: two different candidates; `CONFLICT` on `merge` when both have an active application to the same job (named, with both applications: archive one first), or scheduled interviews at overlapping times (their times named: move or cancel one first). Answers with the kept candidate",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), merge_candidates(ctx)),
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
            "Archives an active application with a reason from the org's list (`archiveReasons`); `unarchiveApplication` brings it back. Who may: whoever may edit the application. Checks: active (`CONFLICT` otherwise); a listed reason (`BAD_USER_INPUT` on `reason`, listing them). Answers with the application",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), archive_application(ctx)),
        ),
        mutation(
            "unarchiveApplication",
            EntityId::Applications,
            "UnarchiveApplicationInput",
            "Brings an archived application back: `active` again in the stage it was archived in, its archive time and reason cleared (its history, interviews, scorecards and offers are kept). Who may: whoever may edit the application. Checks: archived, its job draft or open, and no other active application of the candidate to the job (`CONFLICT` otherwise). Answers with the application",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), unarchive_application(ctx)),
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
            "markInterview",
            EntityId::Interviews,
            "MarkInterviewInput",
            "Records what became of a scheduled interview: `completed` once it has ended, `no_show` (the candidate did not come) once it has started (`BAD_USER_INPUT` on `status` before); a mark recorded wrongly is corrected to the other. Who may: whoever may edit the interview. Checks: not cancelled, not the same mark again (`CONFLICT`). Answers with the interview",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), mark_interview(ctx)),
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
        Field::new("updateCustomField", TypeRef::named_nn("JSON"), |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), update_custom_field(ctx))
        })
        .argument(
            InputValue::new("input", TypeRef::named_nn("UpdateCustomFieldInput"))
                .description("The field and what to change"),
        )
        .description("Changes a custom field's label, sensitivity or options (options may be added, never removed: stored values keep their option). Who may: whoever may edit the org (admins by default; others get `FORBIDDEN`). Emits `custom_field.updated`. Answers with the field's definition as JSON"),
        mutation(
            "updateUser",
            EntityId::Users,
            "UpdateUserInput",
            "Changes a user's role or whether they are active, as the org's admin. Who may: admins (`edit` on the org and the admin role, which no org policy widens; others get `FORBIDDEN`). Checks: `userId` a user of the org (`NOT_FOUND`); `role` one of admin, recruiter, hiring_manager, interviewer; the org keeps at least one active admin (`CONFLICT` on `role` or `active`). A role change applies to the user's next request (within `auth.cache_ms` for a token checked just before); a deactivated user's tokens and console sessions stop working. Emits `user.updated` when something changed. Answers with the user",
            |ctx| super::spans::traced(super::spans::resolver(&ctx), update_user(ctx)),
        ),
        Field::new(
            "setArchiveReasons",
            TypeRef::named_nn_list_nn(TypeRef::STRING),
            |ctx| super::spans::traced(super::spans::resolver(&ctx), set_archive_reasons(ctx)),
        )
        .argument(
            InputValue::new("input", TypeRef::named_nn("SetArchiveReasonsInput"))
                .description("The org's whole list of archive reasons, in order"),
        )
        .description("Replaces the org's archive reasons, the list `archiveApplication` takes its reason from (every org starts with a default list). Who may: whoever may edit the org (admins by default; others get `FORBIDDEN`). Checks: 1 to 100 reasons, each not empty, at most 200 characters, unique regardless of case. Archived applications keep the reasons they have. Answers with the list as stored"),
        Field::new("setCustomFieldValue", TypeRef::named_nn("JSON"), |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), set_custom_field_value(ctx))
        })
        .argument(
            InputValue::new("input", TypeRef::named_nn("SetCustomFieldValueInput"))
                .description("The record, the field's key and the value"),
        )
        .description("Sets (or with null, removes) one custom field value of a record. Who may: whoever may edit the record. Checks: the value is of the field's type (a date in years 0001 to 9999, a number below 10^15 in magnitude, a text without NUL); answers with the record's custom fields the caller may read (as `custom(key:)` reads them)"),
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
                "Why: one of the org's `archiveReasons` (any case; stored as the list spells \
                 it), reads back as `archiveReason`",
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
        InputObject::new("MergeCandidatesInput")
            .description("Which duplicate to merge into which candidate: `mergeCandidates`")
            .field(id_nn(
                "keep",
                "The candidate kept: its id, its applications and its details stay",
            ))
            .field(id_nn(
                "merge",
                "The duplicate: its applications move to `keep`, its details fill what `keep` lacks, it is removed",
            ))
            .into(),
        InputObject::new("UpdateCustomFieldInput")
            .description("Changes to a custom field: `updateCustomField` (parts left out stay)")
            .field(id_nn("id", "The field (`cf_...`)"))
            .field(s("label", "The field's new name as people see it"))
            .field(
                InputValue::new("sensitive", TypeRef::named(TypeRef::BOOLEAN))
                    .description("Whether its values are sensitive (masked for all but admins by default)"),
            )
            .field(
                InputValue::new("options", TypeRef::named_nn_list(TypeRef::STRING)).description(
                    "The whole new list of options of a select or multi_select field: every current option must stay",
                ),
            )
            .into(),
        InputObject::new("UnarchiveApplicationInput")
            .description("Which application to bring back: `unarchiveApplication`")
            .field(id_nn("applicationId", "The archived application"))
            .into(),
        InputObject::new("MarkInterviewInput")
            .description("What became of an interview: `markInterview`")
            .field(id_nn("interviewId", "The scheduled (or already marked) interview"))
            .field(t_nn(
                "status",
                "InterviewStatus",
                "`completed` (it took place; once it has ended) or `no_show` (the candidate did \
                 not come; once it has started)",
            ))
            .into(),
        InputObject::new("UpdateUserInput")
            .description("A user and what to change: `updateUser`")
            .field(id_nn("userId", "The user of the caller's org"))
            .field(
                InputValue::new("role", TypeRef::named(TypeRef::STRING)).description(
                    "The new role: `admin`, `recruiter`, `hiring_manager` or `interviewer`",
                ),
            )
            .field(
                InputValue::new("active", TypeRef::named(TypeRef::BOOLEAN))
                    .description("False: the user can no longer sign in or use a token; true: again"),
            )
            .into(),
        InputObject::new("SetArchiveReasonsInput")
            .description("The org's archive reasons: `setArchiveReasons`")
            .field(
                InputValue::new("reasons", TypeRef::named_nn_list_nn(TypeRef::STRING))
                    .description("The whole list, in the order people pick from"),
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

fn timezone(text: Option<String>) -> async_graphql::Result<Option<domain::TimeZone>> {
    text.map(|z| {
        domain::TimeZone::parse(&z).map_err(|e| {
            error(
                Code::BadUserInput,
                Some("timezone"),
                format!("`timezone`: {e}"),
            )
        })
    })
    .transpose()
}

fn terms(input: &Input<'_>) -> async_graphql::Result<Option<hiring::OfferTerms>> {
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
    Ok(Some(hiring::OfferTerms {
        start_date,
        salary: t.opt_f64("salary")?,
        salary_currency: t.opt_str("salaryCurrency")?,
        salary_period: t.opt_enum("salaryPeriod", domain::enums::SalaryPeriod::parse)?,
        bonus: t.opt_f64("bonus")?,
        equity: t.opt_str("equity")?,
    }))
}

async fn create_candidate(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let cmd = hiring::CreateCandidate {
        timezone: timezone(i.opt_str("timezone")?)?,
        name: i.str("name")?,
        email: i.opt_str("email")?,
        phone: i.opt_str("phone")?,
        location: i.opt_str("location")?,
        tags: i.strings("tags")?,
        custom_fields: i.map("customFields")?,
        job_id: i.opt_id("jobId")?,
        source_id: i.opt_id("sourceId")?,
    };
    mutate(
        &ctx,
        EntityId::Candidates,
        move |store, services, access, at| services.create_candidate(store, access, cmd, at),
    )
    .await
}

async fn apply_to_job(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let cmd = hiring::ApplyToJob {
        candidate_id: i.id("candidateId")?,
        job_id: i.id("jobId")?,
        source_id: i.opt_id("sourceId")?,
        credited_to_id: i.opt_id(i.alias("creditedToId", "creditedToUserId")?)?,
        custom_fields: i.map("customFields")?,
    };
    mutate(
        &ctx,
        EntityId::Applications,
        move |store, services, access, at| services.apply_to_job(store, access, cmd, at),
    )
    .await
}

async fn move_application(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let cmd = hiring::MoveApplication {
        application_id: i.id("applicationId")?,
        to_stage_id: i.id("toStageId")?,
    };
    mutate(
        &ctx,
        EntityId::Applications,
        move |store, services, access, at| services.move_application(store, access, cmd, at),
    )
    .await
}

async fn archive_application(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let cmd = hiring::ArchiveApplication {
        application_id: i.id("applicationId")?,
        reason: i.str("reason")?,
    };
    mutate(
        &ctx,
        EntityId::Applications,
        move |store, services, access, at| services.archive_application(store, access, cmd, at),
    )
    .await
}

async fn unarchive_application(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let cmd = hiring::UnarchiveApplication {
        application_id: i.id("applicationId")?,
    };
    mutate(
        &ctx,
        EntityId::Applications,
        move |store, services, access, at| services.unarchive_application(store, access, cmd, at),
    )
    .await
}

async fn mark_interview(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let cmd = hiring::MarkInterview {
        interview_id: i.id("interviewId")?,
        status: i
            .opt_enum("status", domain::enums::InterviewStatus::parse)?
            .ok_or_else(|| error(Code::BadUserInput, Some("status"), "`status` is required"))?,
    };
    mutate(
        &ctx,
        EntityId::Interviews,
        move |store, services, access, at| services.mark_interview(store, access, cmd, at),
    )
    .await
}

async fn update_user(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    i.not_null(&["role", "active"])?;
    let cmd = store::UpdateUser {
        user_id: i.id("userId")?,
        role: i.opt_enum("role", domain::enums::Role::parse)?,
        active: i.opt_bool("active")?,
    };
    mutate(&ctx, EntityId::Users, move |store, services, access, at| {
        Ok(services.update_user(store, access, cmd, at)?.user_id)
    })
    .await
}

async fn set_archive_reasons(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let cmd = hiring::SetArchiveReasons {
        reasons: i.strings("reasons")?,
    };
    let list = run_as(
        ctx.data::<RequestCtx>()?,
        move |store, services, access, _, at| {
            Ok(services.set_archive_reasons(store, access, cmd, at)?)
        },
    )
    .await?;
    Ok(Some(FieldValue::list(list.into_iter().map(|r| {
        FieldValue::value(async_graphql::Value::String(r))
    }))))
}

/// `archiveReasons`: the org's list, which every user of the org may read.
pub fn archive_reasons_field() -> Field {
    Field::new(
        "archiveReasons",
        TypeRef::named_nn_list_nn(TypeRef::STRING),
        |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), async move {
                // A read: run on a worker without marking the request as having committed.
                let rc = ctx.data::<RequestCtx>()?;
                let services = rc.services.clone();
                let access = rc.caller.access.clone();
                let list = rc
                    .db
                    .run(move |store| services.archive_reasons(store, &access))
                    .await
                    .map_err(|e| internal("reaching the database", e))?
                    .map_err(|e| failure(Failure::App(e)))?;
                Ok(Some(FieldValue::list(list.into_iter().map(|r| {
                    FieldValue::value(async_graphql::Value::String(r))
                }))))
            })
        },
    )
    .description(
        "The org's archive reasons, in order: what `archiveApplication` takes as its `reason` \
         (a default list until an admin sets one with `setArchiveReasons`). Every user of the \
         org may read them",
    )
}

async fn hire_application(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let cmd = hiring::HireApplication {
        application_id: i.id("applicationId")?,
    };
    mutate(
        &ctx,
        EntityId::Applications,
        move |store, services, access, at| services.hire_application(store, access, cmd, at),
    )
    .await
}

async fn schedule_interview(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let application_id = i.id("applicationId")?;
    let mut participants = Vec::new();
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
        participants.push(domain::entity::InterviewParticipant { user_id, role });
    }
    let cmd = hiring::ScheduleInterview {
        application_id,
        stage_id: i.id("stageId")?,
        title: i.str("title")?,
        starts_at: instant(&i, "startsAt")?,
        ends_at: instant(&i, "endsAt")?,
        status: i
            .opt_enum("status", domain::enums::InterviewStatus::parse)?
            .unwrap_or(domain::enums::InterviewStatus::Scheduled),
        interview_participants: participants,
    };
    mutate(
        &ctx,
        EntityId::Interviews,
        move |store, services, access, at| services.schedule_interview(store, access, cmd, at),
    )
    .await
}

async fn submit_feedback(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let interview_id = i.id("interviewId")?;
    let scores = i.json("scores")?;
    let recommendation = i
        .opt_enum("recommendation", domain::enums::Recommendation::parse)?
        .ok_or_else(|| {
            error(
                Code::BadUserInput,
                Some("recommendation"),
                "`recommendation` is required",
            )
        })?;
    let cmd = hiring::SubmitFeedback {
        interview_id,
        recommendation,
        scores,
        notes: i.opt_str("notes")?,
    };
    mutate(
        &ctx,
        EntityId::Feedback,
        move |store, services, access, at| services.submit_feedback(store, access, cmd, at),
    )
    .await
}

async fn update_feedback(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    i.not_null(&["recommendation", "scores"])?;
    let feedback_id = i.id("feedbackId")?;
    let recommendation = i.opt_enum("recommendation", domain::enums::Recommendation::parse)?;
    let scores = i.json("scores")?;
    let cmd = hiring::UpdateFeedback {
        feedback_id,
        recommendation,
        scores,
        notes: i.nullable_str("notes")?,
    };
    mutate(
        &ctx,
        EntityId::Feedback,
        move |store, services, access, at| services.update_feedback(store, access, cmd, at),
    )
    .await
}

async fn create_offer(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let application_id = i.id("applicationId")?;
    let terms = terms(&i)?;
    let cmd = hiring::CreateOffer {
        application_id,
        terms,
        status: i
            .opt_enum("status", domain::enums::OfferStatus::parse)?
            .unwrap_or(domain::enums::OfferStatus::Draft),
    };
    mutate(
        &ctx,
        EntityId::Offers,
        move |store, services, access, at| services.create_offer(store, access, cmd, at),
    )
    .await
}

async fn update_offer(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    i.not_null(&["status", "terms"])?;
    let offer_id = i.id("offerId")?;
    let terms = terms(&i)?;
    let cmd = hiring::UpdateOffer {
        offer_id,
        terms,
        status: i.opt_enum("status", domain::enums::OfferStatus::parse)?,
    };
    mutate(
        &ctx,
        EntityId::Offers,
        move |store, services, access, at| services.update_offer(store, access, cmd, at),
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
    let department_id = i.id("departmentId")?;
    let mut stages = Vec::new();
    for st in i.objects("stages")? {
        stages.push(hiring::StageInput {
            name: st.str("name")?,
            kind: st
                .enum_of("kind", domain::enums::StageKind::parse)?
                .ok_or_else(|| st.bad("kind", "is required"))?,
        });
    }
    let cmd = hiring::CreateJob {
        title: i.str("title")?,
        department_id,
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
        headcount: i.opt_u32("headcount")?.unwrap_or(1),
        hiring_team: hiring_team(&i)?.unwrap_or_default(),
        stages,
        custom_fields: i.map("customFields")?,
    };
    mutate(&ctx, EntityId::Jobs, move |store, services, access, at| {
        services.create_job(store, access, cmd, at)
    })
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
    let cmd = hiring::UpdateJob {
        job_id: i.id("jobId")?,
        title: i.opt_str("title")?,
        location: i.opt_str("location")?,
        status: i.opt_enum("status", domain::enums::JobStatus::parse)?,
        confidential: i.opt_bool("confidential")?,
        headcount: i.opt_u32("headcount")?,
        hiring_team: hiring_team(&i)?,
    };
    mutate(&ctx, EntityId::Jobs, move |store, services, access, at| {
        services.update_job(store, access, cmd, at)
    })
    .await
}

async fn update_candidate(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    i.not_null(&["name", "tags"])?;
    let candidate_id = i.id("candidateId")?;
    let timezone = match i.nullable_str("timezone")? {
        None => None,
        Some(z) => Some(timezone(z)?),
    };
    let cmd = hiring::UpdateCandidate {
        candidate_id,
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
    mutate(
        &ctx,
        EntityId::Candidates,
        move |store, services, access, at| services.update_candidate(store, access, cmd, at),
    )
    .await
}

async fn merge_candidates(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let cmd = hiring::MergeCandidates {
        keep: i.id("keep")?,
        merge: i.id("merge")?,
    };
    mutate(
        &ctx,
        EntityId::Candidates,
        move |store, services, access, at| services.merge_candidates(store, access, cmd, at),
    )
    .await
}

async fn update_custom_field(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    i.not_null(&["label", "sensitive", "options"])?;
    let cmd = hiring::UpdateCustomField {
        id: i.id("id")?,
        label: i.opt_str("label")?,
        sensitive: i.opt_bool("sensitive")?,
        options: match i.obj.get("options") {
            Some(v) if !v.is_null() => Some(i.strings("options")?),
            _ => None,
        },
    };
    let def = run_as(
        ctx.data::<RequestCtx>()?,
        move |store, services, access, _, at| {
            Ok(services.update_custom_field(store, access, cmd, at)?)
        },
    )
    .await?;
    let def = serde_json::to_value(&def).unwrap_or(serde_json::Value::Null);
    Ok(Some(FieldValue::value(super::json_value(def))))
}

/// `duplicateCandidates`: groups of candidates that share an email, as the caller sees them.
pub fn duplicates_field() -> Field {
    Field::new(
        "duplicateCandidates",
        TypeRef::named_nn_list_nn("DuplicateCandidates"),
        |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), async move {
                let rc = ctx.data::<RequestCtx>()?;
                let services = rc.services.clone();
                let access = rc.caller.access.clone();
                let groups = rc
                    .db
                    .run(move |store| services.duplicate_candidates(store, &access, now()))
                    .await
                    .map_err(|e| internal("reaching the database", e))?
                    .map_err(|e| failure(Failure::App(e)))?;
                Ok(Some(FieldValue::list(groups.into_iter().map(|g| {
                    FieldValue::owned_any(serde_json::json!({
                        "email": g.email,
                        "candidateIds": g.candidate_ids,
                    }))
                }))))
            })
        },
    )
    .description(
        "Candidates that share an email (compared regardless of case), for `mergeCandidates`: \
         only groups of two or more candidates the caller may see, email included (the same \
         row filter and contact-details mask as reports), so an admin by default sees every \
         group and others only what their policy shows. At most 1,000 candidates are looked at",
    )
}

/// The type `duplicateCandidates` lists.
pub fn duplicates_type() -> Type {
    let field = |name: &'static str, ty: TypeRef, doc: &'static str| {
        Field::new(name, ty, move |ctx| {
            FieldFuture::new(async move {
                let parent = ctx.parent_value.try_downcast_ref::<serde_json::Value>()?;
                Ok(Some(FieldValue::value(super::json_value(
                    parent.get(name).cloned().unwrap_or(serde_json::Value::Null),
                ))))
            })
        })
        .description(doc)
    };
    Object::new("DuplicateCandidates")
        .description("Candidates that share an email")
        .field(field(
            "email",
            TypeRef::named_nn(TypeRef::STRING),
            "The email, as the first of them has it",
        ))
        .field(field(
            "candidateIds",
            TypeRef::named_nn_list_nn(TypeRef::ID),
            "The candidates, by id (look them up with `candidate(id:)`)",
        ))
        .into()
}

async fn cancel_interview(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let cmd = hiring::CancelInterview {
        interview_id: i.id("interviewId")?,
    };
    mutate(
        &ctx,
        EntityId::Interviews,
        move |store, services, access, at| services.cancel_interview(store, access, cmd, at),
    )
    .await
}

async fn add_stage(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let cmd = hiring::AddStage {
        job_id: i.id("jobId")?,
        name: i.str("name")?,
        kind: i
            .opt_enum("kind", domain::enums::StageKind::parse)?
            .ok_or_else(|| error(Code::BadUserInput, Some("kind"), "`kind` is required"))?,
        before_stage_id: i.opt_id("beforeStageId")?,
    };
    mutate(&ctx, EntityId::Jobs, move |store, services, access, at| {
        services.add_stage(store, access, cmd, at)
    })
    .await
}

async fn rename_stage(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let cmd = hiring::RenameStage {
        stage_id: i.id("stageId")?,
        name: i.str("name")?,
    };
    mutate(
        &ctx,
        EntityId::Stages,
        move |store, services, access, at| services.rename_stage(store, access, cmd, at),
    )
    .await
}

async fn remove_stage(ctx: ResolverContext<'_>) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let cmd = hiring::RemoveStage {
        stage_id: i.id("stageId")?,
    };
    mutate(&ctx, EntityId::Jobs, move |store, services, access, at| {
        services.remove_stage(store, access, cmd, at)
    })
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

async fn create_custom_field(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let ty = i.str("type")?;
    let cmd = hiring::CreateCustomField {
        entity: custom_entity(&i)?,
        key: i.str("key")?,
        label: i.str("label")?,
        field_type: domain::enums::CustomFieldType::parse(&ty)
            .map_err(|e| error(Code::BadUserInput, Some("type"), format!("`type`: {e}")))?,
        options: i.strings("options")?,
        sensitive: i.opt_bool("sensitive")?.unwrap_or(false),
    };
    let def = run_as(
        ctx.data::<RequestCtx>()?,
        move |store, services, access, _, at| {
            Ok(services.create_custom_field(store, access, cmd, at)?)
        },
    )
    .await?;
    let def = serde_json::to_value(&def).unwrap_or(serde_json::Value::Null);
    Ok(Some(FieldValue::value(super::json_value(def))))
}

async fn set_custom_field_value(
    ctx: ResolverContext<'_>,
) -> async_graphql::Result<Option<FieldValue<'_>>> {
    let i = input(&ctx)?;
    let entity = custom_entity(&i)?;
    let cmd = hiring::SetCustomFieldValue {
        entity,
        record_id: i.id("recordId")?,
        key: i.str("key")?,
        value: i.json("value")?.unwrap_or(serde_json::Value::Null),
    };
    let subject = match entity {
        domain::enums::CustomEntity::Candidate => EntityId::Candidates,
        domain::enums::CustomEntity::Application => EntityId::Applications,
        domain::enums::CustomEntity::Job => EntityId::Jobs,
    };
    let rc = ctx.data::<RequestCtx>()?;
    let id = cmd.record_id.to_string();
    let keys = run_as(rc, move |store, services, access, _, at| {
        Ok(services.set_custom_field_value(store, access, cmd, at)?)
    })
    .await?;
    // Answered as the caller reads the record: `edit` does not let them read every field
    // (sensitive custom fields are masked for all but admins by default).
    let values = super::read::custom_values_as_caller(rc, subject, &id, &keys).await?;
    Ok(Some(FieldValue::value(super::json_value(
        serde_json::Value::Object(values),
    ))))
}
