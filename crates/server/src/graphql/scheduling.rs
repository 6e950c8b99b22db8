//! Interview scheduling through the API: `schedulingOptions(applicationId, plan)` completes the
//! plan (the loop and the candidate's windows) with the org's calendars
//! (`app::scheduling::request_from_store`), solves it, checks every option with the independent
//! checker, and answers with the ranked options (or why none fits) as JSON, the form
//! `hireplane schedule --format json` prints. Authorized by `app::Services::authorize_command`.
//! The solver runs under the request's deadline ([`RequestCtx::deadline`]): out of time, the
//! options found so far (marked `unproven`, `stopped: time_limit`), or `TIMEOUT` when none was
//! found yet.
//!
//! Beside it: `interviewerBusyTime` (people's busy time as the viewer may see it),
//! `interviewLoops` (the booked loops that can be repaired), `repairInterviewLoop` (a repair's
//! proposal) and `applyInterviewLoopRepair` (applied in one transaction), each through its `app`
//! function.

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
                let (deadline, search_ms, until) = (
                    rc.deadline,
                    rc.limits.max_scheduling_ms,
                    rc.scheduling_until.clone(),
                );
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
                    let solution = match scheduling::solve_within(
                        &request,
                        &mut budget(deadline, search_ms, &until),
                    ) {
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

/// The scheduler's budget: until `limits.max_scheduling_ms` after the request's first search
/// started (`until`, shared by every search of the request), within the request's deadline less a
/// margin to answer in (a fifth of the time left, at most 200 ms). The engine reads no clock;
/// this is where the clock is.
fn budget(
    deadline: std::time::Instant,
    search_ms: u64,
    until: &std::sync::OnceLock<std::time::Instant>,
) -> impl FnMut() -> bool + use<> {
    let now = std::time::Instant::now();
    let left = deadline.saturating_duration_since(now);
    let margin = (left / 5).min(std::time::Duration::from_millis(200));
    let shared = *until.get_or_init(|| now + std::time::Duration::from_millis(search_ms));
    let stop_at = deadline.checked_sub(margin).unwrap_or(deadline).min(shared);
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

/// The JSON of input field `n`; `None` when it is absent or null.
fn input_json(
    input: &async_graphql::dynamic::ObjectAccessor<'_>,
    n: &str,
) -> async_graphql::Result<Option<serde_json::Value>> {
    match input.get(n).filter(|v| !v.is_null()) {
        None => Ok(None),
        Some(v) => v
            .as_value()
            .clone()
            .into_json()
            .map(Some)
            .map_err(|e| error(Code::BadUserInput, Some(n), format!("`{n}`: {e}"))),
    }
}

/// The input's `option`, as the query `from` answered it.
fn option_of(
    input: &async_graphql::dynamic::ObjectAccessor<'_>,
    from: &str,
) -> async_graphql::Result<scheduling::ScheduleOption> {
    serde_json::from_value(input_json(input, "option")?.unwrap_or_default()).map_err(|e| {
        error(
            Code::BadUserInput,
            Some("option"),
            format!("`option` is not an option of `{from}`: {e}"),
        )
    })
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
                let plan = input_json(&input, "plan")?.unwrap_or_default();
                let option = option_of(&input, "schedulingOptions")?;
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
            let (deadline, search_ms, until) = (rc.deadline, rc.limits.max_scheduling_ms, rc.scheduling_until.clone());
            let v = run_as(rc, move |store, services, access, org, now| {
                let command = app::Command::RepairInterviewLoop { application: &application };
                services.authorize_command(store, access, &command, now).map_err(Failure::App)?;
                let request =
                    app::scheduling::request_for_repair(store, org, &application, plan, now, &booked)
                        .map_err(Failure::Plan)?;
                let repaired = match scheduling::repair_within(&request, &booked, &decline, &mut budget(deadline, search_ms, &until)) {
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

/// A field holding a list of JSON objects of type `ty`, read from the parent's JSON.
fn objects_field(name: &'static str, ty: &'static str, doc: &'static str) -> Field {
    Field::new(name, TypeRef::named_nn_list_nn(ty), move |ctx| {
        FieldFuture::new(async move {
            let parent = ctx.parent_value.try_downcast_ref::<serde_json::Value>()?;
            let items = parent
                .get(name)
                .and_then(serde_json::Value::as_array)
                .cloned()
                .unwrap_or_default();
            Ok(Some(FieldValue::list(
                items.into_iter().map(FieldValue::owned_any),
            )))
        })
    })
    .description(doc)
}

fn instant_arg(
    ctx: &async_graphql::dynamic::ResolverContext<'_>,
    name: &str,
) -> async_graphql::Result<domain::Instant> {
    let text = ctx.args.try_get(name)?.string()?.to_owned();
    domain::Instant::parse(&text)
        .map_err(|e| error(Code::BadUserInput, Some(name), format!("`{name}`: {e}")))
}

/// `interviewerBusyTime(applicationId, userIds, from, to)`: people's busy time as one who
/// schedules the application may see it (`app::Services::busy_time`).
pub fn busy_field() -> Field {
    Field::new(
        "interviewerBusyTime",
        TypeRef::named_nn_list_nn("InterviewerBusyTime"),
        |ctx| {
            let span = super::spans::resolver(&ctx);
            super::spans::traced(span, async move {
                let rc = ctx.data::<RequestCtx>()?;
                let application = ctx.args.try_get("applicationId")?.string()?.to_owned();
                let mut user_ids = Vec::new();
                for v in ctx.args.try_get("userIds")?.list()?.iter() {
                    user_ids.push(v.string()?.to_owned());
                }
                let query = app::scheduling::BusyTimeQuery {
                    application_id: application,
                    user_ids,
                    from: instant_arg(&ctx, "from")?,
                    to: instant_arg(&ctx, "to")?,
                };
                let people = run_as(rc, move |store, services, access, _, now| {
                    Ok(services.busy_time(store, access, query, now)?)
                })
                .await?;
                let list = people.into_iter().map(|p| {
                    FieldValue::owned_any(serde_json::json!({
                        "userId": p.user_id,
                        "busy": p.busy.iter().map(|b| serde_json::json!({
                            "start": b.start.to_string(),
                            "end": b.end.to_string(),
                            "title": b.title,
                        })).collect::<Vec<_>>(),
                    }))
                });
                Ok(Some(FieldValue::list(list)))
            })
        },
    )
    .argument(
        InputValue::new("applicationId", TypeRef::named_nn(TypeRef::ID))
            .description("The application a loop is planned for"),
    )
    .argument(
        InputValue::new("userIds", TypeRef::named_nn_list_nn(TypeRef::ID)).description(
            "The people (users of the org), at most 20; an id the org does not have is NOT_FOUND",
        ),
    )
    .argument(
        InputValue::new("from", TypeRef::named_nn("DateTime"))
            .description("The window's start: not before the clock (busy time looks forward)"),
    )
    .argument(
        InputValue::new("to", TypeRef::named_nn("DateTime"))
            .description("The window's end: at most 14 days after `from`"),
    )
    .description(
        "The busy time of interviewers over a window, as one who schedules the application may \
         see it: the same calendars `schedulingOptions` plans with (busy blocks and scheduled or \
         completed interviews). Another person's time comes as opaque intervals (start and end, \
         merged where they touch), never what takes it; the viewer's own interviews carry their \
         title. Who may: whoever may ask `schedulingOptions` for the application (`edit` on \
         it); else NOT_FOUND. Bounds: at most 14 days and 20 people, from the clock on \
         (BAD_USER_INPUT)",
    )
}

/// `interviewLoops(applicationId)`: the application's booked loops that can be repaired.
pub fn loops_field() -> Field {
    Field::new(
        "interviewLoops",
        TypeRef::named_nn_list_nn("InterviewLoop"),
        |ctx| {
            let span = super::spans::resolver(&ctx);
            super::spans::traced(span, async move {
                let rc = ctx.data::<RequestCtx>()?;
                let application = ctx.args.try_get("applicationId")?.string()?.to_owned();
                let loops = run_as(rc, move |store, services, access, _, now| {
                    let loops = services.interview_loops(store, access, &application, now)?;
                    let mut out = Vec::new();
                    for l in loops {
                        out.push(serde_json::json!({
                            "id": l.id,
                            "stageId": l.stage_id,
                            "plan": l.plan,
                            "booked": serde_json::to_value(&l.booked)
                                .map_err(|e| Failure::Broken(e.to_string()))?,
                            "interviewIds": l.interview_ids,
                            "bookedAt": l.booked_at.to_string(),
                        }));
                    }
                    Ok(out)
                })
                .await?;
                Ok(Some(FieldValue::list(
                    loops.into_iter().map(FieldValue::owned_any),
                )))
            })
        },
    )
    .argument(
        InputValue::new("applicationId", TypeRef::named_nn(TypeRef::ID))
            .description("The application whose loops were booked"),
    )
    .description(
        "The interview loops booked for an application (`bookInterviewLoop`) that can still be \
         repaired, newest first: not replaced by a repair, every interview still scheduled. \
         Each gives the plan and the option as booked, which `repairInterviewLoop` takes. Who \
         may: whoever may ask `schedulingOptions` for the application",
    )
}

/// `applyInterviewLoopRepair`: cancels and books what a repair changes, in one transaction.
pub fn apply_repair_field() -> Field {
    Field::new(
        "applyInterviewLoopRepair",
        TypeRef::named_nn("InterviewLoopRepairApplied"),
        |ctx| {
            let span = super::spans::resolver(&ctx);
            super::spans::traced(span, async move {
                let rc = ctx.data::<RequestCtx>()?;
                let input = ctx.args.try_get("input")?.object()?;
                let get = |n: &str| -> async_graphql::Result<String> {
                    Ok(input.try_get(n)?.string()?.to_owned())
                };
                let decline = match input.get("declined").filter(|v| !v.is_null()) {
                    Some(p) => scheduling::Decline::Interviewer {
                        person: p.string()?.to_owned(),
                    },
                    None if input
                        .get("candidateUnavailable")
                        .is_some_and(|v| v.boolean().unwrap_or(false)) =>
                    {
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
                let option = option_of(&input, "repairInterviewLoop")?;
                let cmd = app::scheduling::ApplyInterviewLoopRepair {
                    application_id: get("applicationId")?,
                    loop_id: get("loopId")?,
                    decline,
                    plan: input_json(&input, "plan")?,
                    option,
                };
                let done = run_as(rc, move |store, services, access, _, now| {
                    Ok(services.apply_interview_loop_repair(store, access, cmd, now)?)
                })
                .await?;
                let ids = |v: &[domain::Id]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
                Ok(Some(FieldValue::owned_any(serde_json::json!({
                    "loopId": done.loop_id,
                    "cancelledInterviewIds": ids(&done.cancelled),
                    "bookedInterviewIds": ids(&done.booked),
                    "interviewIds": ids(&done.interview_ids),
                }))))
            })
        },
    )
    .argument(
        InputValue::new("input", TypeRef::named_nn("ApplyInterviewLoopRepairInput"))
            .description("The loop, what went wrong, and the repaired option to apply"),
    )
    .description(
        "Applies a repair of `repairInterviewLoop` to a booked loop (`interviewLoops`), all or \
         nothing in one transaction: the sessions the option changes have their interviews \
         cancelled and booked again as the option has them; the others keep theirs. Checked \
         first against the calendars as they are now, with the loop's own interviews taken out \
         and the interviewer who declined unavailable: an option that still seats them or no \
         longer fits is BAD_USER_INPUT on `option`, an option equal to the booked loop too. A \
         loop already repaired, or whose interviews are no longer all scheduled, is NOT_FOUND \
         on `loopId`. Who may: whoever may book the loop's interviews and cancel each one it \
         changes",
    )
}

/// The types of `interviewerBusyTime`, `interviewLoops` and `applyInterviewLoopRepair`.
pub fn loop_types() -> Vec<async_graphql::dynamic::Type> {
    use super::json_field;
    let person = Object::new("InterviewerBusyTime")
        .description("One person's busy time over a window, as the viewer may see it")
        .field(json_field(
            "userId",
            TypeRef::named_nn(TypeRef::ID),
            "The person (`user(id:)` reads them as the viewer may)",
        ))
        .field(objects_field(
            "busy",
            "BusyInterval",
            "Their busy intervals in the window, by start, clipped to it",
        ));
    let interval = Object::new("BusyInterval")
        .description("A time in which a person is busy")
        .field(json_field(
            "start",
            TypeRef::named_nn("DateTime"),
            "When it starts",
        ))
        .field(json_field(
            "end",
            TypeRef::named_nn("DateTime"),
            "When it ends",
        ))
        .field(json_field(
            "title",
            TypeRef::named(TypeRef::STRING),
            "The interview's title, on the viewer's own interviews only; null for another \
             person's time and for busy blocks (opaque)",
        ));
    let booked = Object::new("InterviewLoop")
        .description("A booked interview loop that can be repaired")
        .field(json_field(
            "id",
            TypeRef::named_nn(TypeRef::ID),
            "The loop (`applyInterviewLoopRepair`'s `loopId`)",
        ))
        .field(json_field(
            "stageId",
            TypeRef::named_nn(TypeRef::ID),
            "The stage of its interviews",
        ))
        .field(json_field(
            "plan",
            TypeRef::named_nn("JSON"),
            "The plan it was booked from, without its `now` (`repairInterviewLoop`'s `plan`)",
        ))
        .field(json_field(
            "booked",
            TypeRef::named_nn("JSON"),
            "The option as booked (`repairInterviewLoop`'s `booked`)",
        ))
        .field(json_field(
            "interviewIds",
            TypeRef::named_nn_list_nn(TypeRef::ID),
            "Its interviews, in session order",
        ))
        .field(json_field(
            "bookedAt",
            TypeRef::named_nn("DateTime"),
            "When it was booked (or repaired)",
        ));
    let applied = Object::new("InterviewLoopRepairApplied")
        .description("What `applyInterviewLoopRepair` did")
        .field(json_field(
            "loopId",
            TypeRef::named_nn(TypeRef::ID),
            "The repaired loop (a new loop; the old one is no longer offered for repair)",
        ))
        .field(json_field(
            "cancelledInterviewIds",
            TypeRef::named_nn_list_nn(TypeRef::ID),
            "The interviews it cancelled",
        ))
        .field(json_field(
            "bookedInterviewIds",
            TypeRef::named_nn_list_nn(TypeRef::ID),
            "The interviews it booked",
        ))
        .field(json_field(
            "interviewIds",
            TypeRef::named_nn_list_nn(TypeRef::ID),
            "The repaired loop's interviews in session order, kept and booked",
        ));
    let input = async_graphql::dynamic::InputObject::new("ApplyInterviewLoopRepairInput")
        .description("What `applyInterviewLoopRepair` applies")
        .field(
            InputValue::new("applicationId", TypeRef::named_nn(TypeRef::ID))
                .description("The application whose loop was booked"),
        )
        .field(
            InputValue::new("loopId", TypeRef::named_nn(TypeRef::ID))
                .description("The booked loop (`interviewLoops`)"),
        )
        .field(
            InputValue::new("declined", TypeRef::named(TypeRef::ID))
                .description("The user id of the interviewer who declined"),
        )
        .field(
            InputValue::new("candidateUnavailable", TypeRef::named(TypeRef::BOOLEAN))
                .description("True when the candidate cannot make the booked times"),
        )
        .field(InputValue::new("plan", TypeRef::named("JSON")).description(
            "The plan to check against (with the candidate's new windows when they cannot \
                 make it); the loop's own when left out",
        ))
        .field(
            InputValue::new("option", TypeRef::named_nn("JSON"))
                .description("One option of `repairInterviewLoop`'s solution"),
        );
    vec![
        person.into(),
        interval.into(),
        booked.into(),
        applied.into(),
        input.into(),
    ]
}
