//! Explanations when nothing fits: for each session and seat, on which candidate-local days it
//! cannot be filled and by which rule (no candidate window, nobody free inside working hours,
//! everyone free already at their load limit, inactive person); when every seat can be filled on
//! its own, the rules that tie the loop together are named. The caller's budget is asked before
//! each day of each session; out of budget, the reasons so far are given and say so.

use crate::Budget;
use crate::interval::{local_date, timestamp};
use crate::request::{Prepared, Request};
use crate::solver::{Grid, involved};

pub(crate) fn explain(
    r: &Request,
    p: &Prepared,
    grid: Option<&Grid>,
    budget: &mut dyn Budget,
) -> Vec<String> {
    let Some(grid) = grid else {
        return vec![format!(
            "candidate.windows: no availability window of at least one grid slot between {} (now plus minimum notice) and {} (horizon)",
            timestamp(p.earliest),
            timestamp(p.horizon_end)
        )];
    };
    // The same grid without load limits, to tell "busy" from "at the limit".
    let mut unlimited = p.clone();
    for person in &mut unlimited.people {
        person.max_day = None;
        person.max_week = None;
    }
    let free_grid = Grid::build(&unlimited, &involved(p));
    let g = grid.g;
    let n = grid.n;
    let mut days: Vec<(u32, usize)> = Vec::new(); // (day number, first slot)
    for t in 0..n {
        if days.last().is_none_or(|&(d, _)| d != grid.day_of[t]) {
            days.push((grid.day_of[t], t));
        }
    }
    let mut reasons = Vec::new();
    for (s, sess) in p.sessions.iter().enumerate() {
        let id = &r.interview_loop.sessions[s].id;
        let d = usize::try_from(sess.dur / g).unwrap_or(0);
        for (j, seat) in sess.seats.iter().enumerate() {
            if seat.eligible.is_empty() {
                let who = r.interview_loop.sessions[s].seats[j]
                    .person
                    .clone()
                    .unwrap_or_default();
                reasons.push(format!(
                    "session `{id}` seat {j} (person `{who}`): `{who}` is inactive"
                ));
            }
        }
        for &(day, first) in &days {
            if !budget.keep_going() {
                reasons.push(
                    "the explanation ran out of time: the reasons above are not all of them"
                        .to_owned(),
                );
                return reasons;
            }
            let date = local_date(&p.cand_tz, grid.origin + first as i64 * g);
            let starts: Vec<usize> = (first..n)
                .take_while(|&t| grid.day_of[t] == day)
                .filter(|&t| {
                    t + d <= n && grid.cand_run[t] as usize >= d && grid.day_of[t + d - 1] == day
                })
                .collect();
            if starts.is_empty() {
                reasons.push(format!(
                    "session `{id}`: on {date} the candidate has no window of {} min",
                    sess.dur
                ));
                continue;
            }
            for (j, seat) in sess.seats.iter().enumerate() {
                if seat.eligible.is_empty() {
                    continue;
                }
                let label = match &r.interview_loop.sessions[s].seats[j] {
                    x if x.person.is_some() => {
                        format!("person `{}`", x.person.clone().unwrap_or_default())
                    }
                    x => format!("pool `{}`", x.pool.clone().unwrap_or_default()),
                };
                let count_free = |gr: &Grid| {
                    seat.eligible
                        .iter()
                        .filter(|&&x| starts.iter().any(|&t| gr.free(x, t, d)))
                        .count()
                };
                let free = free_grid.as_ref().map_or(0, count_free);
                let under = count_free(grid);
                let person = r.interview_loop.sessions[s].seats[j].person.as_ref();
                let prefix = format!("session `{id}` seat {j} ({label}): on {date}");
                let minutes = sess.dur;
                if let (Some(who), true) = (person, free < seat.count) {
                    reasons.push(format!(
                        "{prefix} `{who}` is not free for {minutes} min inside working hours and the candidate's windows"
                    ));
                } else if let (Some(who), true) = (person, under < seat.count) {
                    reasons.push(format!(
                        "{prefix} `{who}` is at their daily or weekly limit"
                    ));
                } else if free < seat.count {
                    reasons.push(if free == 0 {
                        format!(
                            "{prefix} no member free for {minutes} min inside working hours and the candidate's windows"
                        )
                    } else {
                        format!(
                            "{prefix} only {free} of the {} needed free for {minutes} min inside working hours and the candidate's windows",
                            seat.count
                        )
                    });
                } else if under < seat.count {
                    reasons.push(if under == 0 {
                        format!("{prefix} all {free} free members are at their daily or weekly limit")
                    } else {
                        format!(
                            "{prefix} only {under} of the {free} free members are under their daily and weekly limits, {} needed",
                            seat.count
                        )
                    });
                }
            }
        }
    }
    if reasons.is_empty() {
        reasons.push(
            "every session can be staffed on its own on some day, but not all together: check the order rules, the gaps, the maximum span, the one-day rule and that enough distinct people exist (one seat per person per loop)"
                .to_owned(),
        );
    }
    reasons
}
