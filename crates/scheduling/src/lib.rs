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
//! seats, optional `trainee` with its `role`; `"unproven": true` and `"stopped": "time_limit"` or
//! `"step_limit"` when the search was cut short) or `{"status": "infeasible", "reasons": [...]}`.
//!
//! Time: the engine reads no clock. [`solve_within`] takes a [`Budget`] ("may I go on?") that
//! it asks every [`BUDGET_STEPS`] steps; the edges answer it with their clock. Out of budget, the
//! best options found so far are the answer (marked not proven best), or, when there are none
//! yet, [`SolveError::Stopped`].

pub mod check;
mod explain;
pub mod interval;
pub mod repair;
pub mod request;
mod solver;

pub use check::{Violation, check};
pub use repair::{Decline, Repair, RepairStep, free_booked_times, repair, repair_within};
pub use request::{Request, TrainingStep, parse_request};
pub use solver::{Objective, ScheduleOption, ScheduledSession, Solution, Stop, TraineeAssignment};

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

/// Why solving gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SolveError {
    /// The request is refused.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The search stopped (its budget or its step limit) before it found any schedule: one may
    /// still exist, so this is not an answer of "infeasible".
    #[error("{0}")]
    Stopped(Stop),
}

/// Whether the search may go on: asked every [`BUDGET_STEPS`] search steps (and between the
/// stages of an explanation). The engine reads no clock; the edges implement this with one
/// (the server with the request's deadline, the CLI with `--time-limit`). Any
/// `FnMut() -> bool` is a budget.
pub trait Budget {
    /// `false` stops the search: what was found so far is the answer, marked as not proven best.
    fn keep_going(&mut self) -> bool;
}

impl<F: FnMut() -> bool> Budget for F {
    fn keep_going(&mut self) -> bool {
        self()
    }
}

/// A budget that never runs out (the step limit still holds).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unlimited;

impl Budget for Unlimited {
    fn keep_going(&mut self) -> bool {
        true
    }
}

/// How many search steps pass between two questions to the [`Budget`] (a step is well under a
/// microsecond, so a clock behind it is read about every millisecond or less).
pub const BUDGET_STEPS: u64 = 1024;

/// Solves a request: the best options (ranked, at most `options`), or why none exists.
///
/// Options are ranked by, in order: the end of the loop (earliest first); the load on the chosen
/// interviewers (for every non-trainee seat, the interviews that person already has booked in the
/// local ISO week of the session); the candidate's idle minutes between sessions of a day; the
/// number of empty trainee seats. The first option is an optimum, unless the search hit its step
/// limit, which the solution then says (`unproven`, `stopped`).
pub fn solve(request: &Request) -> Result<Solution, SolveError> {
    solve_within(request, &mut Unlimited)
}

/// [`solve`] under a [`Budget`]. When the budget runs out, the answer is the best options found
/// so far, marked `unproven` with `stopped: time_limit`; when none was found by then, it is
/// [`SolveError::Stopped`] (a schedule may still exist). An explanation of infeasibility that
/// runs out of budget is cut short and says so.
pub fn solve_within(request: &Request, budget: &mut dyn Budget) -> Result<Solution, SolveError> {
    let p = request::prepare(request)?;
    solve_prepared(request, &p, &solver::Pins::default(), budget)
}

pub(crate) fn solve_prepared(
    request: &Request,
    p: &request::Prepared,
    pins: &solver::Pins,
    budget: &mut dyn Budget,
) -> Result<Solution, SolveError> {
    let involved = solver::involved(p);
    let grid = solver::Grid::build(p, &involved);
    let (found, stopped) = match &grid {
        Some(grid) => solver::search(p, grid, pins, budget),
        None => (Vec::new(), None),
    };
    match (&grid, found.is_empty(), stopped) {
        (Some(grid), false, _) => Ok(Solution::Options {
            options: solver::to_options(request, p, grid, &found),
            unproven: stopped.is_some(),
            stopped,
        }),
        (_, true, Some(stop)) => Err(SolveError::Stopped(stop)),
        _ => Ok(Solution::Infeasible {
            reasons: explain::explain(request, p, grid.as_ref(), budget),
        }),
    }
}
