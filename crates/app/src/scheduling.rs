//! Scheduling from the store: a plan (the loop and the candidate's windows, a scheduling
//! request without `interviewers` and `pools`) completed with the org's calendars: the people
//! the plan can seat (named, and the members of its pools) with their zones, working hours, load
//! limits, busy time and booked interviews, the pools with their training, and the candidate's
//! zone from their profile (else the org's). `now` comes from the plan, else the caller's clock.
//!
//! What a plan may see: only the people the plan can seat (named in a seat, or members of a
//! pool a seat or trainee seat draws from), and only forward from the clock: a plan's `now`
//! more than a few minutes before the caller's clock is refused, and busy time is read for the
//! loop's window `[now, now + horizon)` only (booked interviews a week either side, which count
//! towards weekly limits but are never shown). So scheduling cannot be used to read anyone's
//! past, or anyone outside the loop.

use scheduling::Request;
use store::{Store, StoreError};

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
    // A plan without the candidate's windows: the candidate is free for the whole horizon
    // (interviewers' working hours and calendars, the notice and the loop's rules still decide).
    if let Some(candidate) = obj.get_mut("candidate").and_then(|c| c.as_object_mut()) {
        candidate
            .entry("windows")
            .or_insert_with(|| serde_json::json!([[window.0.to_string(), window.1.to_string()]]));
    }
    let cal = store.calendars(org, application, from, to)?;

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
                "booked": cal.booked.iter().filter(|(who, a, b)| *who == u.id && !is_own(who.as_str(), *a, *b)).map(|(_, a, b)| pair(*a, *b)).collect::<Vec<_>>(),
                "max_per_day": u.max_interviews_per_day,
                "max_per_week": u.max_interviews_per_week,
                "active": u.active,
            })
        })
        .collect();
    obj.insert("interviewers".into(), interviewers.into());
    obj.insert("pools".into(), pools.into());
    if let Some(candidate) = obj.get_mut("candidate").and_then(|c| c.as_object_mut())
        && !candidate.contains_key("zone")
    {
        let zone = cal
            .candidate_timezone
            .as_ref()
            .or(cal.org_timezone.as_ref());
        if let Some(zone) = zone {
            candidate.insert("zone".into(), zone.name().into());
        }
    }
    Ok(scheduling::parse_request(&plan.to_string())?)
}
