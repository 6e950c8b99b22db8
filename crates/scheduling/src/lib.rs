//! Interview scheduling ("Calendar Tetris"): given an interview loop, a candidate and the
//! interviewers' calendars, find the earliest feasible schedules, ranked, explain why none exists,
//! check any schedule independently, and repair a booked schedule after a decline.
//!
//! The crate is pure: no IO, no clock (the request carries `now`), no threads. Its pieces:
//! - [`request`]: the JSON request (documented there) and its validation;
//! - [`interval`]: half-open UTC intervals and working hours resolved per local date;
//! - `solver`: exact branch and bound on the time grid (objective in [`solve`]'s doc);
//! - `explain`: reasons when nothing fits;
//! - [`check`](mod@check): an independent checker of a schedule against every hard rule, sharing nothing with
//!   the solver but the request types;
//! - [`repair`](mod@repair): the smallest change after a decline.
//!
//! A [`Solution`] serializes as `{"status": "options", "options": [...]}` (each option with its
//! `rank`, `objective` and `sessions`: `session`, `start`, `end`, `seats` aligned with the request's
//! seats, optional `trainee` with its `role`) or `{"status": "infeasible", "reasons": [...]}`.

pub mod check;
mod explain;
pub mod interval;
pub mod repair;
pub mod request;
mod solver;

pub use check::{Violation, check};
pub use repair::{Decline, Repair, RepairStep, repair};
pub use request::{Request, TrainingStep, parse_request};
pub use solver::{Objective, ScheduleOption, ScheduledSession, Solution, TraineeAssignment};

/// Why a request is refused. Messages are lower case and name the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not valid JSON, or not the request's shape.
    #[error("invalid request: {0}")]
    Json(String),
    /// A field holds a value the request cannot have.
    #[error("{path}: {problem}")]
    Invalid { path: String, problem: String },
}

/// Solves a request: the best options (ranked, at most `options`), or why none exists.
///
/// Options are ranked by, in order: the end of the loop (earliest first); the load on the chosen
/// interviewers (for every non-trainee seat, the interviews that person already has booked in the
/// local ISO week of the session); the candidate's idle minutes between sessions of a day; the
/// number of empty trainee seats. The first option is an optimum, unless the search hit its step
/// limit, which the solution then says (`unproven`).
pub fn solve(request: &Request) -> Result<Solution, RequestError> {
    let p = request::prepare(request)?;
    Ok(solve_prepared(request, &p, &solver::Pins::default()))
}

pub(crate) fn solve_prepared(
    request: &Request,
    p: &request::Prepared,
    pins: &solver::Pins,
) -> Solution {
    let involved = solver::involved(p);
    let grid = solver::Grid::build(p, &involved);
    let (found, cut_short) = match &grid {
        Some(grid) => solver::search(p, grid, pins),
        None => (Vec::new(), false),
    };
    match (&grid, found.is_empty()) {
        (Some(grid), false) => Solution::Options {
            options: solver::to_options(request, p, grid, &found),
            unproven: cut_short,
        },
        _ => {
            let mut reasons = explain::explain(request, p, grid.as_ref());
            if cut_short {
                reasons.push(
                    "the search stopped at its step limit before trying everything: a schedule may still exist".to_owned(),
                );
            }
            Solution::Infeasible { reasons }
        }
    }
}
