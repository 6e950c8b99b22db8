//! Interview scheduling through the API: `schedulingOptions(applicationId, plan)` completes the
//! plan (the loop and the candidate's windows) with the org's calendars
//! (`app::scheduling::request_from_store`), solves it, checks every option with the independent
//! checker, and answers with the ranked options (or why none fits) as JSON, the form
//! `hireplane schedule --format json` prints. Authorized by `app::Services::authorize_command`.
//! The solver runs under the request's deadline ([`RequestCtx::deadline`]): out of time, the
//! options found so far (marked `unproven`, `stopped: time_limit`), or `TIMEOUT` when none was
//! found yet.

use async_graphql::dynamic::{Field, FieldFuture, FieldValue, InputValue, Object, TypeRef};

use super::mutations::{Failure, run_as};
use super::{Code, RequestCtx, error, json_value};

pub fn fields() -> Vec<Field> {
    vec![
        Field::new("schedulingOptions", TypeRef::named_nn("JSON"), |ctx| {
            let span = super::spans::resolver(&ctx);
            super::spans::traced(span, async move {
                let rc = ctx.data::<RequestCtx>()?;
                let application = ctx.args.try_get("applicationId")?.string()?.to_owned();
                let plan = json_arg(&ctx, "plan")?;
                let deadline = rc.deadline;
                let v = run_as(rc, move |store, services, access, org, now| {
                    let command = app::Command::SchedulingOptions {
                        application: &application,
                    };
                    services
                        .authorize_command(store, access, &command, now)
                        .map_err(Failure::App)?;
                    let request =
                        app::scheduling::request_from_store(store, org, &application, plan, now)
                            .map_err(Failure::Plan)?;
                    let solution = match scheduling::solve_within(&request, &mut budget(deadline)) {
                        Ok(solution) => solution,
                        Err(scheduling::SolveError::Request(e)) => {
                            return Err(Failure::Request(e));
                        }
                        Err(scheduling::SolveError::Stopped(stop)) => return Ok(Err(stop)),
                    };
                    checked(&request, &solution)?;
                    serde_json::to_value(&solution)
                        .map(Ok)
                        .map_err(|e| Failure::Broken(e.to_string()))
                })
                .await?
                .map_err(stopped)?;
                Ok(Some(FieldValue::value(json_value(v))))
            })
        })
        .argument(
            InputValue::new("applicationId", TypeRef::named_nn(TypeRef::ID))
                .description("The application whose candidate the loop is for"),
        )
        .argument(
            InputValue::new("plan", TypeRef::named_nn("JSON")).description(
                "The loop and the candidate's windows: a scheduling request without `interviewers` \
             and `pools` (see crates/scheduling/examples); the org's calendars fill the rest",
            ),
        )
        .description(
            "The earliest interview loops that fit everyone for an application, ranked, each \
             checked by an independent checker; or why none fits",
        ),
    ]
}

/// The scheduler's budget: the request's deadline, less a margin to answer in (a fifth of the
/// time left, at most 200 ms). The engine reads no clock; this is where the clock is.
fn budget(deadline: std::time::Instant) -> impl FnMut() -> bool {
    let left = deadline.saturating_duration_since(std::time::Instant::now());
    let margin = (left / 5).min(std::time::Duration::from_millis(200));
    let stop_at = deadline.checked_sub(margin).unwrap_or(deadline);
    move || std::time::Instant::now() < stop_at
}

/// A search stopped before it found any schedule: `TIMEOUT` (a schedule may still exist).
fn stopped(stop: scheduling::Stop) -> async_graphql::Error {
    error(Code::Timeout, None, stop.to_string())
}

/// Every option of `solution` passes the independent checker (else it is our bug).
fn checked(request: &scheduling::Request, solution: &scheduling::Solution) -> Result<(), Failure> {
    for option in solution.options() {
        if let Err(v) = scheduling::check(request, option) {
            let list: Vec<String> = v.iter().map(ToString::to_string).collect();
            return Err(Failure::Broken(list.join("; ")));
        }
    }
    Ok(())
}

fn json_arg(
    ctx: &async_graphql::dynamic::ResolverContext<'_>,
    name: &str,
) -> async_graphql::Result<serde_json::Value> {
    ctx.args
        .try_get(name)?
        .as_value()
        .clone()
        .into_json()
        .map_err(|e| error(Code::BadUserInput, Some(name), format!("`{name}`: {e}")))
}

/// `bookInterviewLoop`: books one option (checked again against the calendars as they are now)
/// as one interview per session, all in one transaction.
pub fn book_field() -> Field {
    Field::new(
        "bookInterviewLoop",
        TypeRef::named_nn_list_nn("Interview"),
        |ctx| {
            let span = super::spans::resolver(&ctx);
            super::spans::traced(span, async move {
                let rc = ctx.data::<RequestCtx>()?;
                let input = ctx.args.try_get("input")?.object()?;
                let get = |n: &str| -> async_graphql::Result<String> {
                    Ok(input.try_get(n)?.string()?.to_owned())
                };
                let application = get("applicationId")?;
                let stage = domain::Id::parse(get("stageId")?).map_err(|e| {
                    error(
                        Code::BadUserInput,
                        Some("stageId"),
                        format!("`stageId`: {e}"),
                    )
                })?;
                let to_json = |n: &str| -> async_graphql::Result<serde_json::Value> {
                    input
                        .try_get(n)?
                        .as_value()
                        .clone()
                        .into_json()
                        .map_err(|e| error(Code::BadUserInput, Some(n), format!("`{n}`: {e}")))
                };
                let plan = to_json("plan")?;
                let option: scheduling::ScheduleOption = serde_json::from_value(to_json("option")?)
                    .map_err(|e| {
                        error(
                            Code::BadUserInput,
                            Some("option"),
                            format!("`option` is not an option of `schedulingOptions`: {e}"),
                        )
                    })?;
                let cmd = app::hiring::BookInterviewLoop {
                    application_id: application,
                    stage_id: stage,
                    plan,
                    option,
                };
                let ids = run_as(rc, move |store, services, access, _, now| {
                    let booked = services.book_interview_loop(store, access, cmd, now)?;
                    Ok(booked.iter().map(ToString::to_string).collect::<Vec<_>>())
                })
                .await?;
                let nodes = super::read::lookup_ids(
                    &ctx,
                    query_compiler::catalog::EntityId::Interviews,
                    &ids,
                )
                .await?;
                Ok(Some(FieldValue::list(
                    nodes.into_iter().map(FieldValue::owned_any),
                )))
            })
        },
    )
    .argument(
        InputValue::new("input", TypeRef::named_nn("BookInterviewLoopInput"))
            .description("The application, stage, plan and the chosen option"),
    )
    .description(
        "Books an option of `schedulingOptions` for the same plan. Who may: whoever may schedule \
         the application's interviews (admins, the job's recruiters and coordinators by \
         default). Checks: the option is checked again against the calendars as they are now \
         (`BAD_USER_INPUT` on `option` when it no longer fits). Books one `scheduled` interview \
         per session, titled with the session's name, its seats as `interviewer` participants \
         and its trainee as `shadow` or `reverse_shadow`, all or none in one transaction. \
         Answers with the booked interviews, in the option's session order",
    )
}

/// `repairInterviewLoop`: the smallest change to a booked loop after a decline.
pub fn repair_field() -> Field {
    Field::new("repairInterviewLoop", TypeRef::named_nn("JSON"), |ctx| {
        let span = super::spans::resolver(&ctx);
        super::spans::traced(span, async move {
            let rc = ctx.data::<RequestCtx>()?;
            let application = ctx.args.try_get("applicationId")?.string()?.to_owned();
            let plan = json_arg(&ctx, "plan")?;
            let booked: scheduling::ScheduleOption = serde_json::from_value(json_arg(&ctx, "booked")?)
                .map_err(|e| error(Code::BadUserInput, Some("booked"), format!("`booked` is not an option: {e}")))?;
            let decline = match ctx.args.get("declined").filter(|v| !v.is_null()) {
                Some(p) => scheduling::Decline::Interviewer { person: p.string()?.to_owned() },
                None if ctx.args.get("candidateUnavailable").is_some_and(|v| v.boolean().unwrap_or(false)) => {
                    scheduling::Decline::Candidate
                }
                None => {
                    return Err(error(
                        Code::BadUserInput,
                        Some("declined"),
                        "give `declined` (the interviewer who declined) or `candidateUnavailable: true`",
                    ));
                }
            };
            let deadline = rc.deadline;
            let v = run_as(rc, move |store, services, access, org, now| {
                let command = app::Command::RepairInterviewLoop { application: &application };
                services.authorize_command(store, access, &command, now).map_err(Failure::App)?;
                let request =
                    app::scheduling::request_for_repair(store, org, &application, plan, now, &booked)
                        .map_err(Failure::Plan)?;
                let repaired = match scheduling::repair_within(&request, &booked, &decline, &mut budget(deadline)) {
                    Ok(repaired) => repaired,
                    Err(scheduling::SolveError::Request(e)) => return Err(Failure::Request(e)),
                    Err(scheduling::SolveError::Stopped(stop)) => return Ok(Err(stop)),
                };
                checked(&request, &repaired.solution)?;
                serde_json::to_value(&repaired).map(Ok).map_err(|e| Failure::Broken(e.to_string()))
            })
            .await?
            .map_err(stopped)?;
            Ok(Some(FieldValue::value(json_value(v))))
        })
    })
    .argument(
        InputValue::new("applicationId", TypeRef::named_nn(TypeRef::ID))
            .description("The application whose loop was booked"),
    )
    .argument(
        InputValue::new("plan", TypeRef::named_nn("JSON"))
            .description("The plan the booked option came from (with the candidate's new windows when they cannot make it)"),
    )
    .argument(
        InputValue::new("booked", TypeRef::named_nn("JSON"))
            .description("The booked option, as `schedulingOptions` answered it"),
    )
    .argument(
        InputValue::new("declined", TypeRef::named(TypeRef::ID))
            .description("The user id of the interviewer who declined"),
    )
    .argument(
        InputValue::new("candidateUnavailable", TypeRef::named(TypeRef::BOOLEAN))
            .description("True when the candidate cannot make the booked times (instead of `declined`)"),
    )
    .description(
        "The smallest repair of a booked loop after an interviewer declined or the candidate \
         can no longer make it (their new windows in the plan): same times with another \
         interviewer, one session moved, or a new plan; `{step, solution}`",
    )
}

pub fn book_input() -> async_graphql::dynamic::InputObject {
    async_graphql::dynamic::InputObject::new("BookInterviewLoopInput")
        .description("What `bookInterviewLoop` books: one option of `schedulingOptions`")
        .field(
            InputValue::new("applicationId", TypeRef::named_nn(TypeRef::ID))
                .description("The application the loop is for (the same as `schedulingOptions`')"),
        )
        .field(
            InputValue::new("stageId", TypeRef::named_nn(TypeRef::ID))
                .description("The stage the interviews belong to"),
        )
        .field(
            InputValue::new("plan", TypeRef::named_nn("JSON"))
                .description("The plan the option came from"),
        )
        .field(
            InputValue::new("option", TypeRef::named_nn("JSON"))
                .description("One option of `schedulingOptions`"),
        )
}

/// `interviewerPools(applicationId)`: the pools a plan for the application can draw seats from,
/// read-only, for whoever may ask `schedulingOptions` for it.
pub fn pools_field() -> Field {
    Field::new(
        "interviewerPools",
        TypeRef::named_nn_list_nn("InterviewerPool"),
        |ctx| {
            let span = super::spans::resolver(&ctx);
            super::spans::traced(span, async move {
                let rc = ctx.data::<RequestCtx>()?;
                let application = ctx.args.try_get("applicationId")?.string()?.to_owned();
                let pools = run_as(rc, move |store, services, access, org, now| {
                    let command = app::Command::SchedulingOptions {
                        application: &application,
                    };
                    services
                        .authorize_command(store, access, &command, now)
                        .map_err(Failure::App)?;
                    let pools = app::scheduling::pools(store, org, &application, now)
                        .map_err(Failure::Plan)?;
                    serde_json::to_value(&pools).map_err(|e| Failure::Broken(e.to_string()))
                })
                .await?;
                let list = match pools {
                    serde_json::Value::Array(items) => items,
                    _ => Vec::new(),
                };
                Ok(Some(FieldValue::list(
                    list.into_iter().map(FieldValue::owned_any),
                )))
            })
        },
    )
    .argument(
        InputValue::new("applicationId", TypeRef::named_nn(TypeRef::ID))
            .description("The application a loop is planned for"),
    )
    .description(
        "The org's interviewer pools, which a plan's seats draw from (`{\"pool\": id}` in \
         `schedulingOptions`' plan), with their training rules and members. Who may: whoever \
         may ask `schedulingOptions` for the application (`edit` on it). Read-only",
    )
}

/// The object types of `interviewerPools`, read from the pools' JSON.
pub fn pool_types() -> Vec<async_graphql::dynamic::Type> {
    let from_json = |name: &'static str, key: &'static str, ty: TypeRef, doc: &'static str| {
        Field::new(name, ty, move |ctx| {
            FieldFuture::new(async move {
                let v = ctx.parent_value.try_downcast_ref::<serde_json::Value>()?;
                Ok(Some(FieldValue::value(json_value(
                    v.get(key).cloned().unwrap_or(serde_json::Value::Null),
                ))))
            })
        })
        .description(doc)
    };
    let pool = Object::new("InterviewerPool")
        .description("Who may run one kind of interview, and who is training for it")
        .field(from_json(
            "id",
            "id",
            TypeRef::named_nn(TypeRef::ID),
            "The pool's id, as a plan's seat names it (`{\"pool\": id}`)",
        ))
        .field(from_json(
            "name",
            "name",
            TypeRef::named_nn(TypeRef::STRING),
            "What the pool interviews for, as people call it",
        ))
        .field(from_json(
            "requiredShadows",
            "required_shadows",
            TypeRef::named_nn(TypeRef::INT),
            "How many interviews a trainee shadows before reverse shadowing",
        ))
        .field(from_json(
            "requiredReverseShadows",
            "required_reverse_shadows",
            TypeRef::named_nn(TypeRef::INT),
            "How many interviews a trainee leads, watched, before qualifying",
        ))
        .field(
            Field::new(
                "members",
                TypeRef::named_nn_list_nn("InterviewerPoolMember"),
                |ctx| {
                    FieldFuture::new(async move {
                        let v = ctx.parent_value.try_downcast_ref::<serde_json::Value>()?;
                        let members = v
                            .get("members")
                            .and_then(|m| m.as_array())
                            .cloned()
                            .unwrap_or_default();
                        Ok(Some(FieldValue::list(
                            members.into_iter().map(FieldValue::owned_any),
                        )))
                    })
                },
            )
            .description("The pool's qualified interviewers and trainees"),
        );
    let member = Object::new("InterviewerPoolMember")
        .description("One person of an interviewer pool, with their training progress")
        .field(from_json(
            "userId",
            "user_id",
            TypeRef::named_nn(TypeRef::ID),
            "The member's user id (`user(id:)` reads them)",
        ))
        .field(from_json(
            "status",
            "status",
            TypeRef::named_nn(TypeRef::STRING),
            "`qualified` (may take a seat) or `trainee` (shadows, then reverse shadows)",
        ))
        .field(from_json(
            "shadowsCompleted",
            "shadows_completed",
            TypeRef::named_nn(TypeRef::INT),
            "How many interviews the member has shadowed",
        ))
        .field(from_json(
            "reverseShadowsCompleted",
            "reverse_shadows_completed",
            TypeRef::named_nn(TypeRef::INT),
            "How many interviews the member has led while watched",
        ));
    vec![pool.into(), member.into()]
}
