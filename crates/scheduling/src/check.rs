//! The independent checker: validates a schedule against every hard rule straight from the raw
//! request, with its own code (it shares nothing with the solver but the request types), and
//! recomputes the objective values the option claims. Every test runs it on every option.

use std::collections::{HashMap, HashSet};
use std::fmt;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::request::{MemberStatus, OrderRule, Request, TrainingStep, training_step};
use crate::solver::ScheduleOption;

/// A broken rule, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn ts(s: &str) -> Option<Timestamp> {
    s.parse::<Timestamp>().ok()
}

fn date_of(tz: &TimeZone, t: Timestamp) -> Date {
    tz.to_datetime(t).date()
}

fn clock(s: &str) -> Option<i64> {
    let (h, m) = s.split_once(':')?;
    Some(h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?)
}

fn local(tz: &TimeZone, d: Date, minute: i64) -> Option<Timestamp> {
    let dt = d
        .at(0, 0, 0, 0)
        .checked_add(SignedDuration::from_mins(minute))
        .ok()?;
    tz.to_timestamp(dt).ok()
}

/// Whether `[a, b)` lies inside the person's working hours (dates around `a`, spans merged).
fn inside_working(r: &Request, who: usize, a: Timestamp, b: Timestamp) -> bool {
    let person = &r.interviewers[who];
    let Ok(tz) = TimeZone::get(&person.zone) else {
        return false;
    };
    let d = date_of(&tz, a);
    let mut spans: Vec<(Timestamp, Timestamp)> = Vec::new();
    for date in [d.yesterday().ok(), Some(d), d.tomorrow().ok()]
        .into_iter()
        .flatten()
    {
        let idx = date.weekday().to_monday_zero_offset() as usize;
        let days = person.working_hours.days();
        let Some((_, list)) = days.get(idx) else {
            continue;
        };
        for span in list.iter() {
            if let (Some(x), Some(y)) = (clock(&span[0]), clock(&span[1]))
                && let (Some(x), Some(y)) = (local(&tz, date, x), local(&tz, date, y))
                && x < y
            {
                spans.push((x, y));
            }
        }
    }
    spans.sort();
    // Walk the merged spans.
    let mut cover: Option<(Timestamp, Timestamp)> = None;
    for (x, y) in spans {
        cover = match cover {
            Some((cx, cy)) if x <= cy => Some((cx, cy.max(y))),
            Some((cx, cy)) => {
                if cx <= a && b <= cy {
                    return true;
                }
                Some((x, y))
            }
            None => Some((x, y)),
        };
    }
    cover.is_some_and(|(cx, cy)| cx <= a && b <= cy)
}

/// Checks `option` against every hard rule of `request`.
pub fn check(request: &Request, option: &ScheduleOption) -> Result<(), Vec<Violation>> {
    let mut v: Vec<String> = Vec::new();
    check_into(request, option, &mut v);
    if v.is_empty() {
        Ok(())
    } else {
        Err(v.into_iter().map(|message| Violation { message }).collect())
    }
}

fn check_into(r: &Request, o: &ScheduleOption, v: &mut Vec<String>) {
    let Some(now) = ts(&r.now) else {
        v.push("request: `now` is not an instant".into());
        return;
    };
    let Ok(ctz) = TimeZone::get(&r.candidate.zone) else {
        v.push("request: unknown candidate zone".into());
        return;
    };
    let sessions = &r.interview_loop.sessions;
    if o.sessions.len() != sessions.len() {
        v.push(format!(
            "the option has {} sessions, the loop {}",
            o.sessions.len(),
            sessions.len()
        ));
        return;
    }
    let ids: HashMap<&str, usize> = r
        .interviewers
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let grid = i64::from(r.grid_minutes.max(1));
    // Checked: the checker also sees requests nobody validated, and options from outside.
    let (Ok(earliest), Ok(horizon)) = (
        now.checked_add(SignedDuration::from_mins(i64::from(
            r.candidate.min_notice_minutes,
        ))),
        now.checked_add(SignedDuration::from_hours(
            24 * i64::from(r.candidate.horizon_days),
        )),
    ) else {
        v.push("request: `now` plus the minimum notice or the horizon is out of range".into());
        return;
    };
    let mut times: Vec<(Timestamp, Timestamp)> = Vec::new();
    for (i, (s, placed)) in sessions.iter().zip(&o.sessions).enumerate() {
        let name = &s.id;
        if placed.session != *name {
            v.push(format!(
                "sessions[{i}]: is `{}`, expected `{name}`",
                placed.session
            ));
        }
        let (Some(a), Some(b)) = (ts(&placed.start), ts(&placed.end)) else {
            v.push(format!("session `{name}`: start or end is not an instant"));
            return;
        };
        times.push((a, b));
        if b.duration_since(a) != SignedDuration::from_mins(i64::from(s.duration_minutes)) {
            v.push(format!(
                "session `{name}`: lasts {} instead of {} min",
                b.duration_since(a),
                s.duration_minutes
            ));
        }
        if a.as_second().rem_euclid(grid * 60) != 0 || a.subsec_nanosecond() != 0 {
            v.push(format!(
                "session `{name}`: starts off the {grid}-minute grid"
            ));
        }
        if a < earliest {
            v.push(format!(
                "session `{name}`: starts before now plus minimum notice"
            ));
        }
        if b > horizon {
            v.push(format!("session `{name}`: ends after the horizon"));
        }
        let in_window = r
            .candidate
            .windows
            .iter()
            .any(|w| match (ts(&w[0]), ts(&w[1])) {
                (Some(x), Some(y)) => x <= a && b <= y,
                _ => false,
            });
        if !in_window {
            v.push(format!("session `{name}`: outside the candidate's windows"));
        }
        for brk in &r.interview_loop.breaks {
            let d = date_of(&ctz, a);
            for day in [d.yesterday().ok(), Some(d), d.tomorrow().ok()]
                .into_iter()
                .flatten()
            {
                let x = clock(&brk[0]).and_then(|m| local(&ctz, day, m));
                let y = clock(&brk[1]).and_then(|m| local(&ctz, day, m));
                if let (Some(x), Some(y)) = (x, y)
                    && x < y
                    && x < b
                    && a < y
                {
                    v.push(format!(
                        "session `{name}`: overlaps the break {}-{} on {day}",
                        brk[0], brk[1]
                    ));
                }
            }
        }
        let last_minute = b.checked_sub(SignedDuration::from_mins(1)).unwrap_or(b);
        if date_of(&ctz, a) != date_of(&ctz, last_minute) {
            v.push(format!(
                "session `{name}`: crosses the candidate's midnight"
            ));
        }
    }
    // No overlap between sessions.
    for i in 0..times.len() {
        for j in i + 1..times.len() {
            if times[i].0 < times[j].1 && times[j].0 < times[i].1 {
                v.push(format!(
                    "sessions `{}` and `{}` overlap",
                    sessions[i].id, sessions[j].id
                ));
            }
        }
    }
    // Order rules.
    let sid: HashMap<&str, usize> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let mut before_pairs: Vec<(usize, usize)> = Vec::new();
    for rule in &r.interview_loop.order {
        match rule {
            OrderRule::Fixed(list) => {
                for w in list.windows(2) {
                    if let (Some(&a), Some(&b)) = (sid.get(w[0].as_str()), sid.get(w[1].as_str())) {
                        before_pairs.push((a, b));
                    }
                }
            }
            OrderRule::Before(a, b) => {
                if let (Some(&a), Some(&b)) = (sid.get(a.as_str()), sid.get(b.as_str())) {
                    before_pairs.push((a, b));
                }
            }
            OrderRule::Last(x) => {
                if let Some(&x) = sid.get(x.as_str()) {
                    for i in 0..times.len() {
                        if i != x {
                            before_pairs.push((i, x));
                        }
                    }
                }
            }
        }
    }
    for (a, b) in before_pairs {
        if times[a].1 > times[b].0 {
            v.push(format!(
                "order: `{}` must end before `{}` starts",
                sessions[a].id, sessions[b].id
            ));
        }
    }
    // Days, gaps, span.
    let mut by_start: Vec<usize> = (0..times.len()).collect();
    by_start.sort_by_key(|&i| times[i].0);
    let l = &r.interview_loop;
    let mut idle: i64 = 0;
    let days: HashSet<Date> = times.iter().map(|t| date_of(&ctz, t.0)).collect();
    if !l.split_days && days.len() > 1 {
        v.push("the loop spans several candidate-local days without `split_days`".into());
    }
    for w in by_start.windows(2) {
        let (a, b) = (times[w[0]], times[w[1]]);
        if date_of(&ctz, a.0) != date_of(&ctz, b.0) {
            continue;
        }
        let gap = b.0.duration_since(a.1).as_mins();
        idle += gap.max(0);
        if gap < i64::from(l.min_gap_minutes) {
            v.push(format!(
                "gap of {gap} min between `{}` and `{}` is below the minimum",
                sessions[w[0]].id, sessions[w[1]].id
            ));
        }
        if l.max_gap_minutes.is_some_and(|m| gap > i64::from(m)) {
            v.push(format!(
                "gap of {gap} min between `{}` and `{}` is above the maximum",
                sessions[w[0]].id, sessions[w[1]].id
            ));
        }
    }
    if let Some(max_span) = l.max_span_minutes {
        for d in &days {
            let on: Vec<&(Timestamp, Timestamp)> =
                times.iter().filter(|t| date_of(&ctz, t.0) == *d).collect();
            let first = on.iter().map(|t| t.0).min();
            let last = on.iter().map(|t| t.1).max();
            if let (Some(f), Some(e)) = (first, last)
                && e.duration_since(f).as_mins() > i64::from(max_span)
            {
                v.push(format!("the loop spans more than {max_span} min on {d}"));
            }
        }
    }
    // People.
    let mut seen: HashMap<&str, String> = HashMap::new();
    let mut load: u32 = 0;
    let mut missing: u32 = 0;
    for (i, (s, placed)) in sessions.iter().zip(&o.sessions).enumerate() {
        let (a, b) = times[i];
        let name = &s.id;
        if placed.seats.len() != s.seats.len() {
            v.push(format!(
                "session `{name}`: {} seats filled, {} requested",
                placed.seats.len(),
                s.seats.len()
            ));
            continue;
        }
        let mut people_here: Vec<(&str, Option<&str>)> = Vec::new();
        for (j, (seat, who)) in s.seats.iter().zip(&placed.seats).enumerate() {
            let want = if seat.person.is_some() {
                1
            } else {
                seat.count.unwrap_or(1) as usize
            };
            if who.len() != want {
                v.push(format!(
                    "session `{name}` seat {j}: {} people, {want} needed",
                    who.len()
                ));
            }
            for p in who {
                if let Some(person) = &seat.person
                    && p != person
                {
                    v.push(format!(
                        "session `{name}` seat {j}: `{p}` instead of `{person}`"
                    ));
                }
                if let Some(pool_id) = &seat.pool {
                    let ok = r
                        .pools
                        .iter()
                        .find(|x| &x.id == pool_id)
                        .is_some_and(|pool| {
                            pool.members.iter().any(|m| {
                                &m.user == p
                                    && (m.status == MemberStatus::Qualified
                                        || training_step(pool, m) == TrainingStep::Graduated)
                            })
                        });
                    if !ok {
                        v.push(format!("session `{name}` seat {j}: `{p}` is not a qualified member of pool `{pool_id}`"));
                    }
                }
                people_here.push((p.as_str(), seat.pool.as_deref()));
            }
        }
        if let Some(t) = &placed.trainee {
            match &s.trainee {
                None => v.push(format!(
                    "session `{name}`: a trainee without a trainee seat"
                )),
                Some(seat) => {
                    let pool = r.pools.iter().find(|x| x.id == seat.pool);
                    let member = pool.and_then(|pool| {
                        pool.members
                            .iter()
                            .find(|m| m.user == t.person)
                            .map(|m| (pool, m))
                    });
                    match member {
                        Some((pool, m)) if m.status == MemberStatus::Trainee => {
                            let step = training_step(pool, m);
                            if step != t.role || step == TrainingStep::Graduated {
                                v.push(format!(
                                    "session `{name}`: trainee `{}` is at step {step:?}, not {:?}",
                                    t.person, t.role
                                ));
                            }
                            if step == TrainingStep::ReverseShadow {
                                let qualified = people_here.iter().any(|(p, _)| {
                                    pool.members.iter().any(|m| {
                                        m.user == *p
                                            && (m.status == MemberStatus::Qualified
                                                || training_step(pool, m)
                                                    == TrainingStep::Graduated)
                                    })
                                });
                                if !qualified {
                                    v.push(format!("session `{name}`: reverse shadow `{}` without a qualified member of `{}`", t.person, pool.id));
                                }
                            }
                        }
                        _ => v.push(format!(
                            "session `{name}`: `{}` is not a trainee of `{}`",
                            t.person, seat.pool
                        )),
                    }
                }
            }
        } else if s.trainee.is_some() {
            missing += 1;
        }
        let mut everyone: Vec<(&str, bool)> =
            people_here.iter().map(|(p, _)| (*p, false)).collect();
        if let Some(t) = &placed.trainee {
            everyone.push((t.person.as_str(), true));
        }
        for (p, is_trainee) in everyone {
            if let Some(other) = seen.insert(p, name.clone()) {
                v.push(format!(
                    "`{p}` sits in `{other}` and `{name}` (one seat per person per loop)"
                ));
            }
            let Some(&who) = ids.get(p) else {
                v.push(format!("session `{name}`: unknown person `{p}`"));
                continue;
            };
            let person = &r.interviewers[who];
            if !person.active {
                v.push(format!("session `{name}`: `{p}` is inactive"));
            }
            if !inside_working(r, who, a, b) {
                v.push(format!(
                    "session `{name}`: outside the working hours of `{p}`"
                ));
            }
            // An empty block (end = start) is no time at all: it blocks nothing, counts nothing.
            for blk in person.busy.iter().chain(person.booked.iter()) {
                if let (Some(x), Some(y)) = (ts(&blk[0]), ts(&blk[1]))
                    && x < y
                    && x < b
                    && a < y
                {
                    v.push(format!("session `{name}`: `{p}` is busy from {x} to {y}"));
                }
            }
            let Ok(tz) = TimeZone::get(&person.zone) else {
                continue;
            };
            let d = date_of(&tz, a);
            let wk = d.iso_week_date();
            let booked: Vec<Date> = person
                .booked
                .iter()
                .filter_map(|blk| match (ts(&blk[0]), ts(&blk[1])) {
                    (Some(x), Some(y)) if x < y => Some(x),
                    _ => None,
                })
                .map(|x| date_of(&tz, x))
                .collect();
            let on_day = booked.iter().filter(|x| **x == d).count() as u32;
            let in_week = booked
                .iter()
                .filter(|x| {
                    let w = x.iso_week_date();
                    (w.year(), w.week()) == (wk.year(), wk.week())
                })
                .count() as u32;
            if person.max_per_day.is_some_and(|m| on_day >= m) {
                v.push(format!(
                    "session `{name}`: `{p}` is over their daily limit on {d}"
                ));
            }
            if person.max_per_week.is_some_and(|m| in_week >= m) {
                v.push(format!(
                    "session `{name}`: `{p}` is over their weekly limit in the week of {d}"
                ));
            }
            if !is_trainee {
                load = load.saturating_add(in_week);
            }
        }
    }
    // The objective the option claims.
    let end = times.iter().map(|t| t.1).max();
    if end.map(|e| e.to_string()) != Some(o.objective.end.clone()) {
        v.push(format!(
            "objective.end is `{}`, the loop ends at {:?}",
            o.objective.end,
            end.map(|e| e.to_string())
        ));
    }
    if o.objective.load != load {
        v.push(format!(
            "objective.load is {}, recomputed {load}",
            o.objective.load
        ));
    }
    if i64::from(o.objective.idle_minutes) != idle {
        v.push(format!(
            "objective.idle_minutes is {}, recomputed {idle}",
            o.objective.idle_minutes
        ));
    }
    if o.objective.trainees_missing != missing {
        v.push(format!(
            "objective.trainees_missing is {}, recomputed {missing}",
            o.objective.trainees_missing
        ));
    }
}
