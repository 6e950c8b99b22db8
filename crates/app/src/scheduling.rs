//! Scheduling from the store: a plan (the loop and the candidate's windows, a scheduling
//! request without `interviewers` and `pools`) completed with the org's calendars: the people
//! the plan can seat (named, and the members of its pools) with their zones, working hours, load
//! limits, busy time and booked interviews, the pools with their training, and the candidate's
//! zone from their profile (else the org's). `now` comes from the plan, else the caller's clock.
//! A plan without the candidate's windows offers the candidate's working hours
//! ([`CANDIDATE_HOURS`], weekdays in their zone) over the horizon, never the middle of their night.
//!
//! What a plan may see: only the people the plan can seat (named in a seat, or members of a
//! pool a seat or trainee seat draws from), and only forward from the clock: a plan's `now`
//! more than a few minutes before the caller's clock is refused, and busy time is read for the
//! loop's window `[now, now + horizon)` only (booked interviews a week either side, which count
//! towards weekly limits but are never shown). So scheduling cannot be used to read anyone's
//! past, or anyone outside the loop.
//!
//! Also here, read through the same [`Store::calendars`]: people's busy time as a scheduler may
//! see it ([`Services::busy_time`]: others' time opaque, the viewer's own interviews titled;
//! bounded, forward only), and the booked loops the store keeps for their repair
//! ([`Services::interview_loops`], [`Services::apply_interview_loop_repair`]: the changed
//! sessions cancelled and booked again in one transaction).

use scheduling::Request;
use store::{Store, StoreError};

use crate::Services;

/// The candidate's working hours when a plan names no windows: Monday to Friday, from 09:00 to
/// 17:00 on the candidate's local clock (local hours, whole).
pub const CANDIDATE_HOURS: (i8, i8) = (9, 17);

/// How far before the clock a plan's `now` may be (clock skew between client and server).
pub const MAX_CLOCK_SKEW_MINUTES: i64 = 5;

/// Why a plan does not make a request.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("the plan: {0}")]
    Plan(String),
    #[error("the plan with the org's calendars is not a valid request: {0}")]
    Request(#[from] scheduling::RequestError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The scheduling request for application `application` of `org` from `plan`.
pub fn request_from_store(
    store: &mut Store,
    org: &str,
    application: &str,
    plan: serde_json::Value,
    now: domain::Instant,
) -> Result<Request, PlanError> {
    request_beside(store, org, application, plan, now, None)
}

/// The org's interviewer pools, which a plan's seats and trainee seats draw from
/// (`{"pool": "<id>"}`), each with its training rules and members: what a plan for application
/// `application` can use, read as `request_from_store` reads them (the caller is one who may
/// schedule that application).
pub fn pools(
    store: &mut Store,
    org: &str,
    application: &str,
    now: domain::Instant,
) -> Result<Vec<domain::entity::InterviewerPool>, PlanError> {
    // An empty window: no one's busy time is read, only the pools.
    Ok(store.calendars(org, application, now, now)?.pools)
}

/// The request for repairing `booked` (already in the store): its own interviews do not count
/// as its interviewers' booked time, or the loop would collide with itself.
pub fn request_for_repair(
    store: &mut Store,
    org: &str,
    application: &str,
    plan: serde_json::Value,
    now: domain::Instant,
    booked: &scheduling::ScheduleOption,
) -> Result<Request, PlanError> {
    request_beside(store, org, application, plan, now, Some(booked))
}

fn request_beside(
    store: &mut Store,
    org: &str,
    application: &str,
    mut plan: serde_json::Value,
    now: domain::Instant,
    own: Option<&scheduling::ScheduleOption>,
) -> Result<Request, PlanError> {
    // A booked interview of `own`: the person sits in a session with exactly these times.
    let is_own = |who: &str, a: domain::Instant, b: domain::Instant| {
        own.is_some_and(|o| {
            o.sessions.iter().any(|s| {
                domain::Instant::parse(&s.start).is_ok_and(|t| t == a)
                    && domain::Instant::parse(&s.end).is_ok_and(|t| t == b)
                    && (s.seats.iter().flatten().any(|p| p == who)
                        || s.trainee.as_ref().is_some_and(|t| t.person == who))
            })
        })
    };
    let Some(obj) = plan.as_object_mut() else {
        return Err(PlanError::Plan("a plan is a JSON object".to_owned()));
    };
    for field in ["interviewers", "pools"] {
        if obj.contains_key(field) {
            return Err(PlanError::Plan(format!(
                "`{field}` comes from the store; remove it from the plan"
            )));
        }
    }
    // The window looks forward from the clock: a plan may start later, never earlier (else it
    // would show anyone's past free/busy). A few minutes of clock skew are forgiven.
    let clock = now;
    let now = match obj.get("now") {
        None => clock,
        Some(v) => {
            let Some(s) = v.as_str() else {
                return Err(PlanError::Plan(format!("`now`: `{v}` is not an instant")));
            };
            let at =
                domain::Instant::parse(s).map_err(|e| PlanError::Plan(format!("`now`: {e}")))?;
            let skew = jiff::SignedDuration::from_mins(MAX_CLOCK_SKEW_MINUTES);
            if at
                .as_timestamp()
                .checked_add(skew)
                .is_ok_and(|t| t < clock.as_timestamp())
            {
                return Err(PlanError::Plan(format!(
                    "`now`: `{at}` is in the past (the clock says `{clock}`): scheduling looks forward only; leave `now` out to start from the current time"
                )));
            }
            at.max(clock)
        }
    };
    obj.insert("now".into(), now.to_string().into());
    // `now` and the horizon are validated (bounded) before any date is computed from them.
    let horizon_days = match obj.get("candidate").and_then(|c| c.get("horizon_days")) {
        None => scheduling::request::DEFAULT_HORIZON_DAYS,
        Some(h) => h
            .as_u64()
            .and_then(|h| u32::try_from(h).ok())
            .ok_or_else(|| scheduling::RequestError::Invalid {
                path: "candidate.horizon_days".to_owned(),
                problem: format!("`{h}` is not a whole number of days"),
            })?,
    };
    let (start, end) = scheduling::request::horizon(&now.to_string(), horizon_days)?;
    // A week either side, so that weekly load limits count what is already booked.
    let week = jiff::SignedDuration::from_hours(24 * 7);
    let (Ok(from), Ok(to)) = (start.checked_sub(week), end.checked_add(week)) else {
        return Err(PlanError::Plan(format!(
            "`now`: `{now}` is too close to the end of time"
        )));
    };
    let (from, to) = (
        domain::Instant::from_timestamp(from),
        domain::Instant::from_timestamp(to),
    );
    let window = (
        domain::Instant::from_timestamp(start),
        domain::Instant::from_timestamp(end),
    );
    let cal = store.calendars(org, application, from, to)?;
    if let Some(candidate) = obj.get_mut("candidate").and_then(|c| c.as_object_mut()) {
        if !candidate.contains_key("zone") {
            let zone = cal
                .candidate_timezone
                .as_ref()
                .or(cal.org_timezone.as_ref());
            if let Some(zone) = zone {
                candidate.insert("zone".into(), zone.name().into());
            }
        }
        // A plan without the candidate's windows: the candidate's working hours over the
        // horizon (interviewers' working hours and calendars, the notice and the loop's rules
        // still decide).
        if !candidate.contains_key("windows") {
            let zone = candidate
                .get("zone")
                .and_then(|z| z.as_str())
                .and_then(|z| jiff::tz::TimeZone::get(z).ok())
                .unwrap_or(jiff::tz::TimeZone::UTC);
            let windows = working_windows(&zone, window.0.as_timestamp(), window.1.as_timestamp());
            candidate.insert("windows".into(), windows.into());
        }
    }

    // Who the plan can seat: named people and the members of the pools it draws from.
    let mut pool_ids = std::collections::BTreeSet::new();
    let mut people = std::collections::BTreeSet::new();
    if let Some(sessions) = obj
        .get("loop")
        .and_then(|l| l.get("sessions"))
        .and_then(|s| s.as_array())
    {
        for session in sessions {
            for seat in session
                .get("seats")
                .and_then(|s| s.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(p) = seat.get("pool").and_then(|p| p.as_str()) {
                    pool_ids.insert(p.to_owned());
                }
                if let Some(p) = seat.get("person").and_then(|p| p.as_str()) {
                    people.insert(p.to_owned());
                }
            }
            if let Some(p) = session
                .get("trainee")
                .and_then(|t| t.get("pool"))
                .and_then(|p| p.as_str())
            {
                pool_ids.insert(p.to_owned());
            }
        }
    }
    let mut pools = Vec::new();
    for pool in cal
        .pools
        .iter()
        .filter(|p| pool_ids.contains(p.id.as_str()))
    {
        people.extend(pool.members.iter().map(|m| m.user_id.to_string()));
        pools.push(serde_json::json!({
            "id": pool.id,
            "required_shadows": pool.required_shadows,
            "required_reverse_shadows": pool.required_reverse_shadows,
            "members": pool.members.iter().map(|m| serde_json::json!({
                "user": m.user_id,
                "status": m.status,
                "shadows_completed": m.shadows_completed,
                "reverse_shadows_completed": m.reverse_shadows_completed,
            })).collect::<Vec<_>>(),
        }));
    }
    let pair =
        |a: domain::Instant, b: domain::Instant| serde_json::json!([a.to_string(), b.to_string()]);
    let interviewers: Vec<serde_json::Value> = cal
        .users
        .iter()
        .filter(|u| people.contains(u.id.as_str()))
        .map(|u| {
            serde_json::json!({
                "id": u.id,
                "zone": u.timezone,
                "working_hours": u.working_hours,
                // Busy time only inside the loop's window (booked interviews a week either side
                // count towards weekly limits; the solver places nothing outside the window).
                "busy": cal.busy.iter().filter(|b| b.user_id == u.id && b.ends_at > window.0 && b.starts_at < window.1).map(|b| pair(b.starts_at, b.ends_at)).collect::<Vec<_>>(),
                "booked": cal.booked.iter().filter(|(who, a, b, _)| *who == u.id && !is_own(who.as_str(), *a, *b)).map(|(_, a, b, _)| pair(*a, *b)).collect::<Vec<_>>(),
                "max_per_day": u.max_interviews_per_day,
                "max_per_week": u.max_interviews_per_week,
                "active": u.active,
            })
        })
        .collect();
    obj.insert("interviewers".into(), interviewers.into());
    obj.insert("pools".into(), pools.into());
    Ok(scheduling::parse_request(&plan.to_string())?)
}

/// The longest window [`Services::busy_time`] reads, in days.
pub const MAX_BUSY_DAYS: i64 = 14;
/// The most people [`Services::busy_time`] reads at once.
pub const MAX_BUSY_PEOPLE: usize = 20;

/// `interviewerBusyTime`: whose busy time, for which application, over which window.
#[derive(Debug, Clone)]
pub struct BusyTimeQuery {
    pub application_id: String,
    pub user_ids: Vec<String>,
    pub from: domain::Instant,
    pub to: domain::Instant,
}

/// One person's busy time in the window, as the viewer may see it.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonBusy {
    pub user_id: domain::Id,
    /// Sorted by start, clipped to the window; another person's intervals are merged where
    /// they touch or overlap (what made them busy is not told).
    pub busy: Vec<BusyInterval>,
}

/// An interval in which a person is busy.
#[derive(Debug, Clone, PartialEq)]
pub struct BusyInterval {
    pub start: domain::Instant,
    pub end: domain::Instant,
    /// The interview's title, for the viewer's own interviews only; `None` for everything
    /// else (another person's time, a busy block of a calendar).
    pub title: Option<String>,
}

/// A booked loop that can be repaired, as `interviewLoops` answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct BookedLoop {
    pub id: domain::Id,
    pub stage_id: domain::Id,
    /// The plan it was booked from (without its `now`), to repair it with.
    pub plan: serde_json::Value,
    /// The option as booked: `repairInterviewLoop`'s `booked`.
    pub booked: scheduling::ScheduleOption,
    /// Its interviews, in session order.
    pub interview_ids: Vec<domain::Id>,
    pub booked_at: domain::Instant,
}

/// `applyInterviewLoopRepair`: a repaired option of `repairInterviewLoop` for a booked loop.
#[derive(Debug, Clone)]
pub struct ApplyInterviewLoopRepair {
    pub application_id: String,
    pub loop_id: String,
    pub decline: scheduling::Decline,
    /// The plan to check against; `None`: the loop's own (an interviewer declined). When the
    /// candidate cannot make it, the plan with their new windows.
    pub plan: Option<serde_json::Value>,
    pub option: scheduling::ScheduleOption,
}

/// What applying a repair did.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedRepair {
    /// The repaired loop (a new loop; the old one is replaced).
    pub loop_id: domain::Id,
    pub cancelled: Vec<domain::Id>,
    pub booked: Vec<domain::Id>,
    /// The repaired loop's interviews, in session order (kept and booked).
    pub interview_ids: Vec<domain::Id>,
}

impl Services {
    /// `interviewerBusyTime`: the busy time of `user_ids` (people of the org) between `from` and
    /// `to`, for one who may schedule application `application_id` (`edit` on it; else the
    /// application does not exist for them: [`AppError::NoSuchEntity`]). Read from the same
    /// calendars as the scheduling request ([`Store::calendars`]: busy blocks and scheduled or
    /// completed interviews). What the viewer sees of another person: opaque intervals (start,
    /// end), merged, never what the time is taken by; of themselves, their interviews with
    /// their titles. Bounded: at most [`MAX_BUSY_DAYS`] days and [`MAX_BUSY_PEOPLE`] people,
    /// forward from the clock only (as scheduling: nobody's past); a user id the org does not
    /// have is [`AppError::NoSuchInput`] on `userIds`.
    pub fn busy_time(
        &self,
        store: &mut Store,
        access: &crate::Access,
        query: BusyTimeQuery,
        at: domain::Instant,
    ) -> Result<Vec<PersonBusy>, crate::AppError> {
        use crate::AppError;
        let (from, to) = (query.from, query.to);
        if to <= from {
            return Err(AppError::invalid(
                "to",
                format!("`to` `{to}` is not after `from` `{from}`"),
            ));
        }
        if to.as_micros() - from.as_micros() > MAX_BUSY_DAYS * 24 * 3_600 * 1_000_000 {
            return Err(AppError::invalid(
                "to",
                format!(
                    "the window from `{from}` to `{to}` is longer than {MAX_BUSY_DAYS} days; ask for at most {MAX_BUSY_DAYS} days at a time"
                ),
            ));
        }
        let skew = MAX_CLOCK_SKEW_MINUTES * 60 * 1_000_000;
        if from.as_micros() + skew < at.as_micros() {
            return Err(AppError::invalid(
                "from",
                format!(
                    "`from` `{from}` is in the past (the clock says `{at}`): busy time is read forward only"
                ),
            ));
        }
        if query.user_ids.is_empty() || query.user_ids.len() > MAX_BUSY_PEOPLE {
            return Err(AppError::invalid(
                "userIds",
                format!(
                    "`userIds`: {} people; ask for 1 to {MAX_BUSY_PEOPLE} at a time",
                    query.user_ids.len()
                ),
            ));
        }
        let command = crate::Command::BusyTime {
            application: &query.application_id,
        };
        self.authorize_command(store, access, &command, at)?;
        let org = access.viewer.org.clone();
        let cal = store
            .calendars(&org, &query.application_id, from, to)
            .map_err(AppError::Store)?;
        let me = access.viewer.user.as_str();
        let mut out: Vec<PersonBusy> = Vec::new();
        for who in &query.user_ids {
            let Some(user) = cal.users.iter().find(|u| u.id.as_str() == who.as_str()) else {
                return Err(AppError::NoSuchInput {
                    org: org.clone(),
                    field: "user_ids".to_owned(),
                    ty: "user".to_owned(),
                    id: who.clone(),
                });
            };
            if out.iter().any(|p| p.user_id == user.id) {
                continue;
            }
            let clip = |a: domain::Instant, b: domain::Instant| (a.max(from), b.min(to));
            let own = user.id.as_str() == me;
            let mut busy: Vec<BusyInterval> = cal
                .busy
                .iter()
                .filter(|b| b.user_id == user.id && b.ends_at > from && b.starts_at < to)
                .map(|b| clip(b.starts_at, b.ends_at))
                .map(|(start, end)| BusyInterval {
                    start,
                    end,
                    title: None,
                })
                .chain(
                    cal.booked
                        .iter()
                        .filter(|(p, a, b, _)| *p == user.id && *b > from && *a < to)
                        .map(|(_, a, b, title)| {
                            let (start, end) = clip(*a, *b);
                            BusyInterval {
                                start,
                                end,
                                title: own.then(|| title.clone()),
                            }
                        }),
                )
                .filter(|b| b.start < b.end)
                .collect();
            busy.sort_by_key(|x| (x.start, x.end));
            if !own {
                busy = merged(busy);
            }
            out.push(PersonBusy {
                user_id: user.id.clone(),
                busy,
            });
        }
        Ok(out)
    }

    /// `interviewLoops`: the loops booked for application `application_id` that can still be
    /// repaired (not replaced, every interview still scheduled), newest first, for one who may
    /// schedule the application.
    pub fn interview_loops(
        &self,
        store: &mut Store,
        access: &crate::Access,
        application_id: &str,
        at: domain::Instant,
    ) -> Result<Vec<BookedLoop>, crate::AppError> {
        let command = crate::Command::InterviewLoops {
            application: application_id,
        };
        self.authorize_command(store, access, &command, at)?;
        let loops = store
            .interview_loops(&access.viewer.org, application_id)
            .map_err(crate::AppError::Store)?;
        loops.into_iter().map(booked_loop).collect()
    }

    /// `applyInterviewLoopRepair`: applies a repaired option to a booked loop, in one
    /// transaction: the sessions the option changes (other times or other people) have their
    /// interviews cancelled and are booked again as the option has them; the others keep their
    /// interviews. The option is checked first against the calendars as they are now, with
    /// the loop's own interviews taken out and, when an interviewer declined, that interviewer
    /// unavailable: an option that still seats them, or no longer fits, is refused on
    /// `option`, and nothing changes. A booking that fails cancels nothing.
    pub fn apply_interview_loop_repair(
        &self,
        store: &mut Store,
        access: &crate::Access,
        input: ApplyInterviewLoopRepair,
        at: domain::Instant,
    ) -> Result<AppliedRepair, crate::AppError> {
        use crate::AppError;
        let org = access.viewer.org.clone();
        let application = input.application_id;
        let command = crate::Command::RepairInterviewLoop {
            application: &application,
        };
        self.authorize_command(store, access, &command, at)?;
        let loops = store
            .interview_loops(&org, &application)
            .map_err(AppError::Store)?;
        let Some(stored) = loops
            .into_iter()
            .find(|l| l.id.as_str() == input.loop_id.as_str())
        else {
            return Err(AppError::NotFound {
                field: "loopId".to_owned(),
                message: format!(
                    "`loopId`: application `{application}` has no booked loop `{}` that can be repaired (repaired already, or one of its interviews is no longer scheduled)",
                    input.loop_id
                ),
            });
        };
        let command = crate::Command::ApplyInterviewLoopRepair {
            application: &application,
            stage: stored.stage_id.as_str(),
        };
        self.authorize_command(store, access, &command, at)?;
        let booked = booked_loop(stored.clone())?;
        let plan = input
            .plan
            .map(crate::hiring::plan_to_keep)
            .unwrap_or_else(|| booked.plan.clone());
        let option = input.option;
        let mut request =
            request_for_repair(store, &org, &application, plan.clone(), at, &booked.booked)
                .map_err(crate::hiring::plan_error)?;
        // The loop's own times are not in its people's way, as the repair took them out.
        scheduling::free_booked_times(&mut request, &booked.booked).map_err(|e| {
            AppError::Store(StoreError::Corrupt(format!(
                "interview loop `{}`: the booked option: {e}",
                booked.id
            )))
        })?;
        if let scheduling::Decline::Interviewer { person } = &input.decline {
            let sits = booked.booked.sessions.iter().any(|s| {
                s.seats.iter().flatten().any(|p| p == person)
                    || s.trainee.as_ref().is_some_and(|t| &t.person == person)
            });
            if !sits {
                return Err(AppError::invalid(
                    "declined",
                    format!("`declined`: `{person}` sits in no session of the loop"),
                ));
            }
            for p in request.interviewers.iter_mut().filter(|p| &p.id == person) {
                p.active = false;
            }
        }
        let sessions = &booked.booked.sessions;
        if option.sessions.len() != sessions.len()
            || option
                .sessions
                .iter()
                .zip(sessions)
                .any(|(o, b)| o.session != b.session)
        {
            return Err(AppError::invalid(
                "option",
                "`option`: its sessions are not the booked loop's",
            ));
        }
        if let Err(v) = scheduling::check(&request, &option) {
            let list: Vec<String> = v.iter().map(ToString::to_string).collect();
            return Err(AppError::invalid(
                "option",
                format!("the option does not fit: {}", list.join("; ")),
            ));
        }
        let app_id = stored.application_id.clone();
        let mut cancel = Vec::new();
        let mut book = Vec::new();
        let mut kept = Vec::new();
        for ((o, b), id) in option
            .sessions
            .iter()
            .zip(sessions)
            .zip(&booked.interview_ids)
        {
            if o == b {
                kept.push(Some(id.clone()));
            } else {
                cancel.push(id.clone());
                book.push(crate::hiring::session_interview(
                    &app_id,
                    &stored.stage_id,
                    o,
                    at,
                )?);
                kept.push(None);
            }
        }
        if cancel.is_empty() {
            return Err(AppError::invalid(
                "option",
                "`option` is the loop as booked: nothing to repair",
            ));
        }
        for id in &cancel {
            let command = crate::Command::CancelInterview {
                interview: id.as_str(),
            };
            self.authorize_command(store, access, &command, at)?;
        }
        let repaired = store::NewInterviewLoop {
            plan,
            booked: serde_json::to_value(&option)
                .map_err(|e| AppError::invalid("option", format!("`option`: {e}")))?,
            booked_at: at,
            booked_by: crate::hiring::caller(access),
        };
        let done = store
            .acting_as(Some(&access.viewer.user), at)
            .repair_interview_loop(
                &org,
                store::RepairLoop {
                    loop_id: stored.id.clone(),
                    cancel,
                    book,
                    sessions: kept,
                    repaired,
                },
            )?;
        Ok(AppliedRepair {
            loop_id: done.loop_id,
            cancelled: done.cancelled,
            booked: done.booked.into_iter().map(|i| i.id).collect(),
            interview_ids: done.interview_ids,
        })
    }
}

/// A stored loop as the API gives it: its option parsed.
fn booked_loop(l: store::InterviewLoop) -> Result<BookedLoop, crate::AppError> {
    let booked: scheduling::ScheduleOption = serde_json::from_value(l.booked).map_err(|e| {
        crate::AppError::Store(StoreError::Corrupt(format!(
            "interview loop `{}`: the booked option: {e}",
            l.id
        )))
    })?;
    Ok(BookedLoop {
        id: l.id,
        stage_id: l.stage_id,
        plan: l.plan,
        booked,
        interview_ids: l.interview_ids,
        booked_at: l.booked_at,
    })
}

/// Sorted intervals with those that touch or overlap merged (their titles dropped).
fn merged(sorted: Vec<BusyInterval>) -> Vec<BusyInterval> {
    let mut out: Vec<BusyInterval> = Vec::new();
    for b in sorted {
        match out.last_mut() {
            Some(last) if b.start <= last.end => {
                last.end = last.end.max(b.end);
                last.title = None;
            }
            _ => out.push(BusyInterval { title: None, ..b }),
        }
    }
    out
}

/// The candidate's working hours ([`CANDIDATE_HOURS`], weekdays) in `zone` between `from` and
/// `to`, as the request's windows (RFC 3339 UTC pairs); on a day the clocks change, the local
/// hours as they fall.
pub fn working_windows(
    zone: &jiff::tz::TimeZone,
    from: jiff::Timestamp,
    to: jiff::Timestamp,
) -> Vec<[String; 2]> {
    let (open, close) = CANDIDATE_HOURS;
    let mut out = Vec::new();
    let mut day = from.to_zoned_datetime(zone.clone()).date();
    let last = to.to_zoned_datetime(zone.clone()).date();
    while day <= last {
        let weekday = day.weekday().to_monday_one_offset();
        if weekday <= 5 {
            let at = |hour: i8| {
                day.at(hour, 0, 0, 0)
                    .to_zoned_datetime(zone.clone())
                    .ok()
                    .map(|z| z.timestamp())
            };
            if let (Some(start), Some(end)) = (at(open), at(close)) {
                let (start, end) = (start.max(from), end.min(to));
                if start < end {
                    out.push([
                        domain::Instant::from_timestamp(start).to_string(),
                        domain::Instant::from_timestamp(end).to_string(),
                    ]);
                }
            }
        }
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(text: &str) -> jiff::Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn working_windows_are_weekdays_nine_to_five_on_the_local_clock() {
        // Friday 27 March 2026, 10:00 in Berlin, to Tuesday 31 March, 12:00: the clocks go
        // forward on Sunday 29 March (CET, UTC+1, to CEST, UTC+2).
        let zone = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
        let windows = working_windows(
            &zone,
            at("2026-03-27T09:00:00Z"),
            at("2026-03-31T10:00:00Z"),
        );
        let expected: Vec<[String; 2]> = [
            ["2026-03-27T09:00:00Z", "2026-03-27T16:00:00Z"],
            ["2026-03-30T07:00:00Z", "2026-03-30T15:00:00Z"],
            ["2026-03-31T07:00:00Z", "2026-03-31T10:00:00Z"],
        ]
        .iter()
        .map(|[a, b]| [a.to_string(), b.to_string()])
        .collect();
        assert_eq!(windows, expected);
        // West of UTC, a local day spans two UTC dates.
        let zone = jiff::tz::TimeZone::get("America/Los_Angeles").unwrap();
        let windows = working_windows(
            &zone,
            at("2026-12-07T00:00:00Z"),
            at("2026-12-08T00:00:00Z"),
        );
        assert_eq!(
            windows,
            vec![[
                "2026-12-07T17:00:00Z".to_string(),
                "2026-12-08T00:00:00Z".to_string()
            ]]
        );
        // Nothing on a weekend.
        assert!(
            working_windows(
                &zone,
                at("2026-12-05T12:00:00Z"),
                at("2026-12-07T08:00:00Z")
            )
            .is_empty()
        );
    }
}
