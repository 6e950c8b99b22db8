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

/// How long the solver may search (`--time-limit`), counted from when it starts.
#[derive(Clone, Copy, Debug)]
pub struct TimeLimit(pub std::time::Duration);

impl TimeLimit {
    /// The solver's budget: the clock against the limit (the engine reads no clock).
    fn budget(self) -> impl FnMut() -> bool {
        let stop_at = std::time::Instant::now().checked_add(self.0);
        move || stop_at.is_none_or(|at| std::time::Instant::now() < at)
    }
}

/// What a solve that stopped before finding anything says.
fn stopped(stop: scheduling::Stop, limit: TimeLimit) -> anyhow::Error {
    match stop {
        scheduling::Stop::TimeLimit => {
            anyhow::anyhow!("{stop} (--time-limit {} s)", limit.0.as_secs_f64())
        }
        scheduling::Stop::StepLimit => anyhow::anyhow!("{stop}"),
    }
}

/// Where interviewers' busy time comes from besides the request: `--ics PERSON=FILE` and
/// `--caldav PERSON=URL`.
#[derive(Clone, Copy, Debug)]
pub struct Calendars<'a> {
    pub ics: &'a [String],
    pub caldav: &'a [String],
}

/// `hireplane schedule REQUEST.json`
pub fn solve(
    request_path: &Path,
    calendars: Calendars<'_>,
    format: Format,
    limit: TimeLimit,
) -> Result<()> {
    let mut request = request(request_path)?;
    add_ics(&mut request, calendars.ics)?;
    add_caldav(&mut request, calendars.caldav)?;
    solve_and_print(&request, request_path, format, limit)
}

/// The request's horizon: `[now, now + horizon_days)` (validated, checked arithmetic).
fn horizon(request: &Request) -> Result<(jiff::Timestamp, jiff::Timestamp)> {
    Ok(request.horizon()?)
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

/// Solves within the time limit, checks every option independently, prints.
fn solve_and_print(
    request: &Request,
    source: &Path,
    format: Format,
    limit: TimeLimit,
) -> Result<()> {
    let solution = match scheduling::solve_within(request, &mut limit.budget()) {
        Ok(solution) => solution,
        Err(scheduling::SolveError::Stopped(stop)) => return Err(stopped(stop, limit)),
        Err(scheduling::SolveError::Request(e)) => {
            return Err(e).with_context(|| {
                format!("invalid scheduling request from `{}`", source.display())
            });
        }
    };
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
    calendars: Calendars<'_>,
    format: Format,
    limit: TimeLimit,
) -> Result<()> {
    let text = read(plan_path)?;
    let plan: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not valid JSON", plan_path.display()))?;
    let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
    let mut request = app::scheduling::request_from_store(store, org, application, plan, now)
        .with_context(|| format!("`{}`", plan_path.display()))?;
    add_ics(&mut request, calendars.ics)?;
    add_caldav(&mut request, calendars.caldav)?;
    solve_and_print(&request, plan_path, format, limit)
}

/// `hireplane schedule REQUEST.json --repair BOOKED.json (--declined USER | --candidate-unavailable)`
pub fn repair(
    request_path: &Path,
    booked_path: &Path,
    decline: Decline,
    format: Format,
    limit: TimeLimit,
) -> Result<()> {
    let request = request(request_path)?;
    let booked = booked(booked_path)?;
    let Repair { step, solution } =
        match scheduling::repair_within(&request, &booked, &decline, &mut limit.budget()) {
            Ok(repair) => repair,
            Err(scheduling::SolveError::Stopped(stop)) => return Err(stopped(stop, limit)),
            Err(scheduling::SolveError::Request(e)) => {
                return Err(e)
                    .with_context(|| format!("cannot repair `{}`", booked_path.display()));
            }
        };
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
        Solution::Options {
            options,
            unproven,
            stopped,
        } => {
            if *unproven {
                let limit = match stopped {
                    Some(scheduling::Stop::TimeLimit) => "time limit (--time-limit)",
                    _ => "step limit",
                };
                out!("(the search stopped at its {limit}: the best found, not proven optimal)");
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
                out!("{}", session_table(&o.sessions, zone.as_ref()).trim_end());
            }
        }
    }
    Ok(())
}

/// An option's sessions as a table in time order (ties by session id), each column as wide as
/// its longest cell, the candidate's local time beside the UTC times, the seats last.
fn session_table(
    sessions: &[scheduling::ScheduledSession],
    zone: Option<&jiff::tz::TimeZone>,
) -> String {
    let mut sorted: Vec<&scheduling::ScheduledSession> = sessions.iter().collect();
    sorted.sort_by_key(|s| (s.start.parse::<jiff::Timestamp>().ok(), s.session.clone()));
    let mut rows: Vec<[String; 5]> = vec![[
        "session".to_owned(),
        "start (UTC)".to_owned(),
        "end (UTC)".to_owned(),
        "for the candidate".to_owned(),
        "interviewers".to_owned(),
    ]];
    for s in sorted {
        let local = zone
            .and_then(|z| {
                let start: jiff::Timestamp = s.start.parse().ok()?;
                let end: jiff::Timestamp = s.end.parse().ok()?;
                Some(format!(
                    "{}–{} {}",
                    start
                        .to_zoned_datetime(z.clone())
                        .strftime("%a %d %b %H:%M"),
                    end.to_zoned_datetime(z.clone()).strftime("%H:%M"),
                    end.to_zoned_datetime(z.clone()).strftime("%Z")
                ))
            })
            .unwrap_or_default();
        let mut people: Vec<String> = s.seats.iter().map(|seat| seat.join(" + ")).collect();
        if let Some(t) = &s.trainee {
            let role = serde_json::to_value(t.role).ok();
            let role = role.as_ref().and_then(|r| r.as_str()).unwrap_or("trainee");
            people.push(format!("trainee {} ({role})", t.person));
        }
        rows.push([
            s.session.clone(),
            s.start.clone(),
            s.end.clone(),
            local,
            people.join(", "),
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        out.push_str("  ");
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            out.push_str(cell);
            if i + 1 < row.len() {
                let pad = w.saturating_sub(cell.chars().count()) + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}
