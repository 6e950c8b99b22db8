//! `hireplane schedule`: interview loops from a JSON request (see the `scheduling` crate's
//! `request` module for the format), printed as a table or as JSON, and repairs after a decline.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use scheduling::{Decline, Repair, Request, ScheduleOption, Solution};

/// How to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
}

fn request(path: &Path) -> Result<Request> {
    scheduling::parse_request(&read(path)?)
        .with_context(|| format!("invalid scheduling request `{}`", path.display()))
}

/// `hireplane schedule REQUEST.json`
pub fn solve(request_path: &Path, ics: &[String], caldav: &[String], format: Format) -> Result<()> {
    let mut request = request(request_path)?;
    add_ics(&mut request, ics)?;
    add_caldav(&mut request, caldav)?;
    solve_and_print(&request, request_path, format)
}

/// The request's horizon: `[now, now + horizon_days)`.
fn horizon(request: &Request) -> Result<(jiff::Timestamp, jiff::Timestamp)> {
    let now: jiff::Timestamp = request
        .now
        .parse()
        .with_context(|| format!("`now`: `{}` is not an RFC 3339 timestamp", request.now))?;
    let horizon = jiff::SignedDuration::from_hours(24 * i64::from(request.candidate.horizon_days));
    Ok((now, now + horizon))
}

/// Adds the busy time of iCalendar files (`PERSON=FILE`) to the request's interviewers, for the
/// request's horizon; each file is read in its person's zone (all-day events, floating times).
pub fn add_ics(request: &mut Request, ics: &[String]) -> Result<()> {
    if ics.is_empty() {
        return Ok(());
    }
    let (now, to) = horizon(request)?;
    for spec in ics {
        let Some((person, file)) = spec.split_once('=') else {
            bail!("--ics `{spec}`: expected PERSON=FILE");
        };
        let Some(who) = request.interviewers.iter_mut().find(|i| i.id == person) else {
            bail!("--ics `{spec}`: `{person}` is not an interviewer of the request");
        };
        let zone = jiff::tz::TimeZone::get(&who.zone)
            .with_context(|| format!("--ics `{spec}`: `{}` is not a time zone", who.zone))?;
        let text = read(Path::new(file))?;
        let busy = calendar::busy_times(&text, &zone, now, to)
            .with_context(|| format!("cannot read the calendar `{file}`"))?;
        who.busy.extend(
            busy.into_iter()
                .map(|b| [b.start.to_string(), b.end.to_string()]),
        );
    }
    Ok(())
}

/// Adds the busy time of CalDAV calendar collections (`PERSON=URL`) to the request's
/// interviewers, for the request's horizon, read in each person's zone. HTTP Basic credentials
/// come from `HIREPLANE_CALDAV_USER` and `HIREPLANE_CALDAV_PASSWORD` when set.
pub fn add_caldav(request: &mut Request, caldav: &[String]) -> Result<()> {
    if caldav.is_empty() {
        return Ok(());
    }
    let (now, to) = horizon(request)?;
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let credentials = match (
        var("HIREPLANE_CALDAV_USER"),
        var("HIREPLANE_CALDAV_PASSWORD"),
    ) {
        (Some(user), password) => Some((user, password.unwrap_or_default())),
        (None, Some(_)) => {
            bail!("HIREPLANE_CALDAV_PASSWORD is set but HIREPLANE_CALDAV_USER is not")
        }
        (None, None) => None,
    };
    for spec in caldav {
        let Some((person, url)) = spec.split_once('=') else {
            bail!("--caldav `{spec}`: expected PERSON=URL");
        };
        let Some(who) = request.interviewers.iter_mut().find(|i| i.id == person) else {
            bail!("--caldav `{spec}`: `{person}` is not an interviewer of the request");
        };
        let zone = jiff::tz::TimeZone::get(&who.zone)
            .with_context(|| format!("--caldav `{spec}`: `{}` is not a time zone", who.zone))?;
        let client = caldav::Client::new(url, credentials.clone());
        let busy = client
            .busy_times(url, &zone, now, to)
            .with_context(|| format!("--caldav `{spec}`: cannot read the busy time"))?;
        who.busy.extend(
            busy.into_iter()
                .map(|b| [b.start.to_string(), b.end.to_string()]),
        );
    }
    Ok(())
}

/// Solves, checks every option independently, prints.
fn solve_and_print(request: &Request, source: &Path, format: Format) -> Result<()> {
    let solution = scheduling::solve(request)
        .with_context(|| format!("invalid scheduling request from `{}`", source.display()))?;
    self::check_all(request, &solution)?;
    match format {
        Format::Json => out!("{}", serde_json::to_string_pretty(&solution)?),
        Format::Table => print_solution(request, &solution)?,
    }
    Ok(())
}

/// `hireplane schedule --org ID --application ID --plan PLAN.json`: the request built from the
/// store. The plan is a request without `interviewers` and `pools` (and, optionally, without the
/// candidate's `zone` and without `now`): the loop and the candidate's windows. Interviewers and
/// pools come from the org, with working hours, load limits, busy blocks and booked interviews;
/// the candidate's zone from their profile (else the org's); `now` from the plan, else the clock.
pub fn from_store(
    store: &mut store::Store,
    org: &str,
    application: &str,
    plan_path: &Path,
    ics: &[String],
    caldav: &[String],
    format: Format,
) -> Result<()> {
    let text = read(plan_path)?;
    let mut plan: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not valid JSON", plan_path.display()))?;
    let Some(obj) = plan.as_object_mut() else {
        bail!("`{}`: a plan is a JSON object", plan_path.display());
    };
    for field in ["interviewers", "pools"] {
        if obj.contains_key(field) {
            bail!(
                "`{}`: `{field}` comes from the store; remove it from the plan",
                plan_path.display()
            );
        }
    }
    let now = match obj.get("now").and_then(|v| v.as_str()) {
        Some(s) => {
            domain::Instant::parse(s).with_context(|| format!("`{}`: now", plan_path.display()))?
        }
        None => domain::Instant::from_timestamp(jiff::Timestamp::now()),
    };
    obj.insert("now".into(), now.to_string().into());
    let horizon_days = obj
        .get("candidate")
        .and_then(|c| c.get("horizon_days"))
        .and_then(|h| h.as_i64())
        .unwrap_or(14);
    // A week either side, so that weekly load limits count what is already booked.
    let span = |days: i64| jiff::SignedDuration::from_hours(24 * days);
    let from = domain::Instant::from_timestamp(now.as_timestamp() - span(7));
    let to = domain::Instant::from_timestamp(now.as_timestamp() + span(horizon_days + 7));
    let cal = store
        .calendars(org, application, from, to)
        .with_context(|| format!("cannot read the calendars of org `{org}`"))?;

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
                "busy": cal.busy.iter().filter(|b| b.user_id == u.id).map(|b| pair(b.starts_at, b.ends_at)).collect::<Vec<_>>(),
                "booked": cal.booked.iter().filter(|(who, _, _)| *who == u.id).map(|(_, a, b)| pair(*a, *b)).collect::<Vec<_>>(),
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
    let mut request = scheduling::parse_request(&plan.to_string()).with_context(|| {
        format!(
            "the plan `{}` with the calendars of org `{org}` is not a valid request",
            plan_path.display()
        )
    })?;
    add_ics(&mut request, ics)?;
    add_caldav(&mut request, caldav)?;
    solve_and_print(&request, plan_path, format)
}

/// `hireplane schedule REQUEST.json --repair BOOKED.json (--declined USER | --candidate-unavailable)`
pub fn repair(
    request_path: &Path,
    booked_path: &Path,
    decline: Decline,
    format: Format,
) -> Result<()> {
    let request = request(request_path)?;
    let booked = booked(booked_path)?;
    let Repair { step, solution } = scheduling::repair(&request, &booked, &decline)
        .with_context(|| format!("cannot repair `{}`", booked_path.display()))?;
    self::check_all(&request, &solution)?;
    match format {
        Format::Json => out!(
            "{}",
            serde_json::to_string_pretty(&Repair { step, solution })?
        ),
        Format::Table => {
            let how = match step {
                scheduling::RepairStep::Unchanged => "nothing had to change",
                scheduling::RepairStep::SwapSeat => "swapped the declined seat, same times",
                scheduling::RepairStep::MoveSession => "moved the affected session",
                scheduling::RepairStep::Replan => "re-planned the loop",
            };
            out!("repair: {how}");
            print_solution(&request, &solution)?;
        }
    }
    Ok(())
}

/// A booked schedule: one option, or a solution whose first option is the booked one.
fn booked(path: &Path) -> Result<ScheduleOption> {
    let text = read(path)?;
    if let Ok(option) = serde_json::from_str::<ScheduleOption>(&text) {
        return Ok(option);
    }
    match serde_json::from_str::<Solution>(&text) {
        Ok(Solution::Options { options, .. }) => match options.into_iter().next() {
            Some(first) => Ok(first),
            None => bail!("`{}` holds no option to repair", path.display()),
        },
        Ok(Solution::Infeasible { .. }) => {
            bail!("`{}` holds no schedule: it is infeasible", path.display())
        }
        Err(e) => Err(e).with_context(|| {
            format!(
                "`{}` is neither a schedule option nor a solution as `--format json` prints them",
                path.display()
            )
        }),
    }
}

/// Every option printed has passed the independent checker: a wrong schedule is never shown.
fn check_all(request: &Request, solution: &Solution) -> Result<()> {
    for option in solution.options() {
        if let Err(violations) = scheduling::check(request, option) {
            let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
            bail!(
                "internal error: option {} breaks rules: {}",
                option.rank,
                list.join("; ")
            );
        }
    }
    Ok(())
}

fn print_solution(request: &Request, solution: &Solution) -> Result<()> {
    match solution {
        Solution::Infeasible { reasons } => {
            out!("no schedule fits:");
            for r in reasons {
                out!("  - {r}");
            }
        }
        Solution::Options { options, unproven } => {
            if *unproven {
                out!("(the search stopped at its step limit: the best found, not proven optimal)");
            }
            let zone = jiff::tz::TimeZone::get(&request.candidate.zone).ok();
            for o in options {
                out!(
                    "option {}: ends {}, load {}, candidate idle {} min, trainee seats empty {}",
                    o.rank,
                    o.objective.end,
                    o.objective.load,
                    o.objective.idle_minutes,
                    o.objective.trainees_missing
                );
                for s in &o.sessions {
                    let local = zone
                        .as_ref()
                        .and_then(|z| {
                            let start: jiff::Timestamp = s.start.parse().ok()?;
                            Some(format!(
                                " ({} for the candidate)",
                                start.to_zoned_datetime(z.clone()).strftime("%a %H:%M %Z")
                            ))
                        })
                        .unwrap_or_default();
                    let people: Vec<String> = s.seats.iter().map(|seat| seat.join(" + ")).collect();
                    let trainee = s
                        .trainee
                        .as_ref()
                        .map(|t| {
                            let role = serde_json::to_value(t.role).ok();
                            let role = role.as_ref().and_then(|r| r.as_str()).unwrap_or("trainee");
                            format!("; trainee {} ({role})", t.person)
                        })
                        .unwrap_or_default();
                    out!(
                        "  {:<12} {} – {}{local}  {}{trainee}",
                        s.session,
                        s.start,
                        s.end,
                        people.join(", ")
                    );
                }
            }
        }
    }
    Ok(())
}
