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

use scheduling::Request;
use store::{Store, StoreError};

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
                "booked": cal.booked.iter().filter(|(who, a, b)| *who == u.id && !is_own(who.as_str(), *a, *b)).map(|(_, a, b)| pair(*a, *b)).collect::<Vec<_>>(),
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
