//! Repair: after an interviewer declines (or the candidate can no longer make a booked time), the
//! new schedule that changes the least, trying in order:
//! 1. [`RepairStep::SwapSeat`]: same times, the same people everywhere else, another eligible
//!    person in the declined person's seat (interviewer declines only);
//! 2. [`RepairStep::MoveSession`]: the other sessions keep their times and people, the affected
//!    session(s) move (and may get new people);
//! 3. [`RepairStep::Replan`]: the whole loop is planned again.
//!
//! The declined interviewer is made inactive. The booked loop's own interviews are taken out of
//! the calendars first: a `booked` or `busy` entry of a person of the loop with exactly the times
//! of their session is that session, not a conflict. For a candidate decline, the request must
//! carry the candidate's new windows; the affected sessions are those no longer inside them.
//! Trainee seats are re-chosen freely at every step.

use serde::{Deserialize, Serialize};

use crate::request::{Request, Seat, prepare};
use crate::solver::{Pins, ScheduleOption, ScheduledSession, Solution};
use crate::{Budget, RequestError, SolveError, Unlimited, solve_prepared};

/// What went wrong with a booked loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Decline {
    /// This interviewer declined.
    Interviewer { person: String },
    /// The candidate can no longer make it: the request holds their new windows.
    Candidate,
}

/// Which repair step produced the solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepairStep {
    /// Nothing needed to change.
    Unchanged,
    SwapSeat,
    MoveSession,
    Replan,
}

/// A repaired schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repair {
    pub step: RepairStep,
    /// Options for the original request (with the decline applied), or why none exists.
    pub solution: Solution,
}

fn instant(s: &str) -> Option<jiff::Timestamp> {
    s.parse().ok()
}

/// Repairs `booked` after `decline`.
pub fn repair(
    request: &Request,
    booked: &ScheduleOption,
    decline: &Decline,
) -> Result<Repair, SolveError> {
    repair_within(request, booked, decline, &mut Unlimited)
}

/// Takes a booked loop's own times out of its people's calendars (busy and booked): the loop
/// is what is being repaired, so its sessions do not stand in the way of its repair, nor count
/// twice towards a load limit. Used by [`repair_within`] and by whoever checks a repaired
/// option against the calendars afterwards.
pub fn free_booked_times(
    request: &mut Request,
    booked: &ScheduleOption,
) -> Result<(), RequestError> {
    for b in &booked.sessions {
        let (Some(a), Some(e)) = (instant(&b.start), instant(&b.end)) else {
            return Err(RequestError::Invalid {
                path: format!("booked.sessions[`{}`]", b.session),
                problem: "start or end is not an instant".into(),
            });
        };
        let people: Vec<&String> = b
            .seats
            .iter()
            .flatten()
            .chain(b.trainee.iter().map(|t| &t.person))
            .collect();
        for person in request
            .interviewers
            .iter_mut()
            .filter(|p| people.contains(&&p.id))
        {
            let own =
                |pair: &[String; 2]| instant(&pair[0]) == Some(a) && instant(&pair[1]) == Some(e);
            person.booked.retain(|x| !own(x));
            person.busy.retain(|x| !own(x));
        }
    }
    Ok(())
}

/// [`repair`] under a [`Budget`] shared by its steps (see [`crate::solve_within`]).
pub fn repair_within(
    request: &Request,
    booked: &ScheduleOption,
    decline: &Decline,
    budget: &mut dyn Budget,
) -> Result<Repair, SolveError> {
    let sessions = &request.interview_loop.sessions;
    if booked.sessions.len() != sessions.len()
        || booked
            .sessions
            .iter()
            .zip(sessions)
            .any(|(b, s)| b.session != s.id || b.seats.len() != s.seats.len())
    {
        return Err(RequestError::Invalid {
            path: "booked.sessions".into(),
            problem: "do not match the loop's sessions and seats".into(),
        }
        .into());
    }
    // The request as it is now: own interviews out of the calendars, the decliner inactive.
    let mut base = request.clone();
    free_booked_times(&mut base, booked)?;
    let declined = match decline {
        Decline::Interviewer { person } => {
            let Some(p) = base.interviewers.iter_mut().find(|p| &p.id == person) else {
                return Err(RequestError::Invalid {
                    path: "declined".into(),
                    problem: format!("unknown interviewer `{person}`"),
                }
                .into());
            };
            p.active = false;
            Some(person.clone())
        }
        Decline::Candidate => None,
    };
    let full = prepare(&base)?;
    // Which sessions are affected.
    let windows: Vec<(jiff::Timestamp, jiff::Timestamp)> = base
        .candidate
        .windows
        .iter()
        .filter_map(|w| Some((instant(&w[0])?, instant(&w[1])?)))
        .collect();
    let affected: Vec<usize> = booked
        .sessions
        .iter()
        .enumerate()
        .filter(|(_, b)| {
            let in_loop = declined.as_ref().is_some_and(|d| {
                b.seats.iter().flatten().any(|p| p == d)
                    || b.trainee.as_ref().is_some_and(|t| &t.person == d)
            });
            let fits = match (instant(&b.start), instant(&b.end)) {
                (Some(a), Some(e)) => windows.iter().any(|&(x, y)| x <= a && e <= y),
                _ => false,
            };
            in_loop || (declined.is_none() && !fits)
        })
        .map(|(i, _)| i)
        .collect();
    if affected.is_empty() {
        return Ok(Repair {
            step: RepairStep::Unchanged,
            solution: Solution::Options {
                options: vec![booked.clone()],
                unproven: false,
                stopped: None,
            },
        });
    }
    // 1. Swap the seat at the same time.
    if let Some(d) = &declined
        && let Some(solution) = pinned(&base, booked, &affected, Some(d), false, budget)?
    {
        return Ok(Repair {
            step: RepairStep::SwapSeat,
            solution,
        });
    }
    // 2. Move the affected sessions, everything else pinned.
    if let Some(solution) = pinned(&base, booked, &affected, declined.as_ref(), true, budget)? {
        return Ok(Repair {
            step: RepairStep::MoveSession,
            solution,
        });
    }
    // 3. Re-plan.
    Ok(Repair {
        step: RepairStep::Replan,
        solution: solve_prepared(&base, &full, &Pins::default(), budget)?,
    })
}

/// Solves with pins: every session not affected keeps its time and people; affected sessions keep
/// their time unless `move_affected`, and keep their people except the decliner unless
/// `move_affected` (then their seats are open). `None` when nothing fits.
fn pinned(
    base: &Request,
    booked: &ScheduleOption,
    affected: &[usize],
    declined: Option<&String>,
    move_affected: bool,
    budget: &mut dyn Budget,
) -> Result<Option<Solution>, SolveError> {
    let mut r = base.clone();
    // seat_map[s][j]: the modified seats that make up original seat j.
    let mut seat_map: Vec<Vec<Vec<usize>>> = Vec::new();
    let mut pins = Pins::default();
    for (s, (sess, b)) in r
        .interview_loop
        .sessions
        .iter_mut()
        .zip(&booked.sessions)
        .enumerate()
    {
        let is_affected = affected.contains(&s);
        pins.start.push(if is_affected && move_affected {
            None
        } else {
            instant(&b.start).map(crate::interval::minutes)
        });
        if is_affected && move_affected {
            seat_map.push((0..sess.seats.len()).map(|j| vec![j]).collect());
            continue;
        }
        let mut seats = Vec::new();
        let mut map = Vec::new();
        for (seat, people) in sess.seats.iter().zip(&b.seats) {
            let mut idx = Vec::new();
            let mut open = 0;
            for p in people {
                if Some(p) == declined {
                    open += 1;
                } else {
                    idx.push(seats.len());
                    seats.push(Seat {
                        person: Some(p.clone()),
                        pool: None,
                        count: None,
                    });
                }
            }
            if open > 0 {
                if seat.pool.is_none() {
                    return Ok(None);
                }
                idx.push(seats.len());
                seats.push(Seat {
                    person: None,
                    pool: seat.pool.clone(),
                    count: Some(open),
                });
            }
            map.push(idx);
        }
        sess.seats = seats;
        seat_map.push(map);
    }
    let Ok(p) = prepare(&r) else {
        return Ok(None);
    };
    let solution = solve_prepared(&r, &p, &pins, budget)?;
    let Solution::Options {
        options,
        unproven,
        stopped,
    } = solution
    else {
        return Ok(None);
    };
    let options = options
        .into_iter()
        .map(|o| ScheduleOption {
            rank: o.rank,
            objective: o.objective,
            sessions: o
                .sessions
                .into_iter()
                .enumerate()
                .map(|(s, x)| ScheduledSession {
                    seats: seat_map[s]
                        .iter()
                        .map(|idx| idx.iter().flat_map(|&k| x.seats[k].clone()).collect())
                        .collect(),
                    ..x
                })
                .collect(),
        })
        .collect();
    Ok(Some(Solution::Options {
        options,
        unproven,
        stopped,
    }))
}
