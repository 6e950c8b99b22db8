//! Gradual rollouts guarded by the SLOs: the pure engine that decides what a rollout plan does
//! next (docs/flags.md, "Rollouts").
//!
//! A [`Plan`] rolls a flag out org by org in steps of a percentage (`1 -> 5 -> 25 -> 100`),
//! holding each step for a time, under a [`Guard`]: the SLIs of `slo.yaml` it watches (the
//! error rate of an events SLO, the share of requests slower than a latency SLO's threshold),
//! the margin by which the flagged cohort (`on`: requests for which the flag was on) may be
//! worse than the control cohort (`off`), and the requests each cohort needs before it is
//! judged. [`decide`] takes the plan, its [`State`], the time and the cohorts' [`Figures`]
//! since the step began, and answers one [`Decision`]: hold, advance, complete, or halt (the
//! flag goes back to 0%). [`apply`] gives the state after it, [`percent`] the flag's
//! percentage in a state.
//!
//! The rules:
//! - Only a `running` plan moves; `paused`, `halted`, `completed` and `aborted` plans hold.
//! - A cohort is judged on an SLI once both cohorts have at least `min_requests` requests that
//!   SLI counts. The flagged cohort is worse by more than the margin when
//!   `bad_on / n_on - bad_off / n_off > margin` (a difference of exactly the margin is allowed).
//!   Such a judgement halts the plan at once, whatever the hold time left.
//! - A step advances once its hold time has passed **and** every SLI of the guard was judged
//!   and found within the margin: a step without enough traffic holds (no advance on no
//!   evidence).
//! - Reaching a step of 100% completes the plan (no control cohort is left to compare with);
//!   a plan whose last step is below 100 completes once that step passed like any other.
//!
//! **Pure:** no IO, no clock (`now` is the caller's), exact integer comparisons.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The most steps a plan has.
pub const MAX_STEPS: usize = 20;
/// A ratio of one, in parts per million (margins are in ppm).
pub const PPM: u64 = 1_000_000;

/// A rollout plan: the steps, the hold time of each, the guard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Percentages of orgs, strictly increasing, each in 1..=100.
    pub steps: Vec<u8>,
    /// How long each step holds before it may advance, in milliseconds.
    pub hold_ms: u64,
    pub guard: Guard,
}

/// What a plan watches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guard {
    /// Requests a cohort needs (counted by an SLI) before the cohorts are compared on it.
    pub min_requests: u64,
    /// The error rate of an events SLO (requests that failed through our fault).
    pub errors: Option<ErrorGuard>,
    /// The share of requests slower than a latency SLO's threshold.
    pub latency: Option<LatencyGuard>,
}

/// The error-rate part of a guard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorGuard {
    /// The SLO of `slo.yaml` (an `events` SLO).
    pub slo: String,
    /// How much higher the flagged cohort's error rate may be, in ppm (5,000: 0.5 points).
    pub margin_ppm: u64,
}

/// The latency part of a guard: the SLO's threshold and selector, as `slo.yaml` has them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyGuard {
    /// The SLO of `slo.yaml` (a `latency` SLO).
    pub slo: String,
    /// Slower than this is bad (the SLO's `threshold_seconds`), in milliseconds.
    pub threshold_ms: u64,
    /// The requests the SLI counts: the SLO's `selector` on the `operation` label.
    pub selector: Vec<Matcher>,
    /// How much higher the flagged cohort's share of slow requests may be, in ppm.
    pub margin_ppm: u64,
}

/// One matcher of a selector on the `operation` label: `operation="x"` or `operation!="x"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    pub equal: bool,
    pub value: String,
}

impl LatencyGuard {
    /// Whether the SLI counts a request of `operation` (every matcher holds).
    pub fn counts(&self, operation: &str) -> bool {
        self.selector
            .iter()
            .all(|m| (m.value == operation) == m.equal)
    }
}

/// Reads a Prometheus selector of `slo.yaml` (`operation!="report"`, matchers separated by
/// commas) as [`Matcher`]s. Only the `operation` label with `=` and `!=` is understood: the
/// server's duration histogram has no other label, and a regular expression is refused rather
/// than guessed at.
pub fn parse_selector(text: &str) -> Result<Vec<Matcher>, PlanError> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || PlanError::Selector(part.to_owned());
        let (label, equal, value) = if let Some((l, v)) = part.split_once("!=") {
            (l, false, v)
        } else if let Some((l, v)) = part.split_once('=') {
            if v.starts_with('~') {
                return Err(bad());
            }
            (l, true, v)
        } else {
            return Err(bad());
        };
        if label.trim() != "operation" || value.starts_with('~') {
            return Err(bad());
        }
        let value = value
            .trim()
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .filter(|v| !v.contains('"') && !v.contains('\\'))
            .ok_or_else(bad)?;
        out.push(Matcher {
            equal,
            value: value.to_owned(),
        });
    }
    Ok(out)
}

/// Why a plan was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("`steps`: give 1 to {MAX_STEPS} percentages")]
    StepCount,
    #[error("`steps[{0}]`: {1} is not a percentage in 1..=100")]
    StepRange(usize, u8),
    #[error("`steps[{0}]`: {1} is not above the step before it")]
    StepOrder(usize, u8),
    #[error("`guard.min_requests`: at least 1")]
    MinRequests,
    #[error("`guard`: watch at least one SLI (errors or latency)")]
    NoSli,
    #[error("`guard.{0}.margin_ppm`: {1} is over {PPM} (100%)")]
    Margin(&'static str, u64),
    #[error("`guard.latency.threshold_ms`: at least 1")]
    Threshold,
    #[error(
        "`guard.latency.selector`: `{0}` is not a matcher on `operation` with `=` or `!=` and a quoted value"
    )]
    Selector(String),
    #[error("`plan`: not a rollout plan: {0}")]
    Json(String),
}

impl Plan {
    /// Checks the plan's shape: steps, margins, the guard.
    pub fn check(&self) -> Result<(), PlanError> {
        if self.steps.is_empty() || self.steps.len() > MAX_STEPS {
            return Err(PlanError::StepCount);
        }
        for (i, &p) in self.steps.iter().enumerate() {
            if !(1..=100).contains(&p) {
                return Err(PlanError::StepRange(i, p));
            }
            if i > 0 && self.steps.get(i - 1).is_some_and(|&before| p <= before) {
                return Err(PlanError::StepOrder(i, p));
            }
        }
        let g = &self.guard;
        if g.min_requests == 0 {
            return Err(PlanError::MinRequests);
        }
        if g.errors.is_none() && g.latency.is_none() {
            return Err(PlanError::NoSli);
        }
        if let Some(e) = &g.errors
            && e.margin_ppm > PPM
        {
            return Err(PlanError::Margin("errors", e.margin_ppm));
        }
        if let Some(l) = &g.latency {
            if l.margin_ppm > PPM {
                return Err(PlanError::Margin("latency", l.margin_ppm));
            }
            if l.threshold_ms == 0 {
                return Err(PlanError::Threshold);
            }
        }
        Ok(())
    }

    /// Reads a plan from its JSON form (as stored) and checks it.
    pub fn from_json(text: &str) -> Result<Plan, PlanError> {
        let plan: Plan = serde_json::from_str(text).map_err(|e| PlanError::Json(e.to_string()))?;
        plan.check()?;
        Ok(plan)
    }

    /// The plan's JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The hold time of a step.
    pub fn hold(&self) -> Duration {
        Duration::from_millis(self.hold_ms)
    }
}

/// Where a plan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Advancing by itself.
    Running,
    /// Stopped by an operator at its step (the flag keeps its percentage).
    Paused,
    /// Stopped by its guard; the flag is back at 0%.
    Halted,
    /// Every step passed.
    Completed,
    /// Stopped by an operator; the flag is back at 0%.
    Aborted,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Running => "running",
            Phase::Paused => "paused",
            Phase::Halted => "halted",
            Phase::Completed => "completed",
            Phase::Aborted => "aborted",
        }
    }

    pub fn parse(s: &str) -> Option<Phase> {
        Some(match s {
            "running" => Phase::Running,
            "paused" => Phase::Paused,
            "halted" => Phase::Halted,
            "completed" => Phase::Completed,
            "aborted" => Phase::Aborted,
            _ => return None,
        })
    }

    /// Whether the plan still manages its flag (its cohorts are measured).
    pub fn is_active(self) -> bool {
        matches!(self, Phase::Running | Phase::Paused)
    }
}

/// A plan's state: its phase, its step (an index into `steps`) and when the step began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    pub phase: Phase,
    pub step: usize,
    pub step_started_at: jiff::Timestamp,
}

impl State {
    /// A plan starting now at its first step.
    pub fn start(now: jiff::Timestamp) -> State {
        State {
            phase: Phase::Running,
            step: 0,
            step_started_at: now,
        }
    }
}

/// One cohort's requests since its step began, as the SLIs count them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cohort {
    /// Every request (the error rate's total).
    pub requests: u64,
    /// Requests that failed through our fault (a server error or a timeout).
    pub errors: u64,
    /// Requests the latency SLI counts (its selector holds).
    pub latency_requests: u64,
    /// Of those, the requests slower than the threshold.
    pub slow: u64,
}

impl Cohort {
    /// Adds `other`'s counts (saturating).
    pub fn add(&mut self, other: &Cohort) {
        self.requests = self.requests.saturating_add(other.requests);
        self.errors = self.errors.saturating_add(other.errors);
        self.latency_requests = self.latency_requests.saturating_add(other.latency_requests);
        self.slow = self.slow.saturating_add(other.slow);
    }
}

/// Both cohorts' figures: `on` (the flag was on for the request) and `off` (the control).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub on: Cohort,
    pub off: Cohort,
}

/// Which SLI a comparison is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sli {
    Errors,
    Latency,
}

impl Sli {
    pub fn as_str(self) -> &'static str {
        match self {
            Sli::Errors => "errors",
            Sli::Latency => "latency",
        }
    }
}

/// How the cohorts compare on one SLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    pub sli: Sli,
    /// Bad requests and requests counted, flagged cohort.
    pub on: (u64, u64),
    /// Bad requests and requests counted, control cohort.
    pub off: (u64, u64),
    pub margin_ppm: u64,
    /// Whether both cohorts had `min_requests`.
    pub judged: bool,
    /// Judged, and the flagged cohort is worse by more than the margin.
    pub worse: bool,
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = |(bad, n): (u64, u64)| {
            if n == 0 {
                0.0
            } else {
                bad as f64 * 100.0 / n as f64
            }
        };
        write!(
            f,
            "{}: on {}/{} ({:.3}%), off {}/{} ({:.3}%), margin {} points",
            self.sli.as_str(),
            self.on.0,
            self.on.1,
            pct(self.on),
            self.off.0,
            self.off.1,
            pct(self.off),
            self.margin_ppm as f64 / 10_000.0
        )
    }
}

/// Whether `on` is worse than `off` by more than `margin_ppm`, exactly:
/// `bad_on / n_on - bad_off / n_off > margin / 10^6`, with both counts above zero.
pub fn worse_by_more_than(on: (u64, u64), off: (u64, u64), margin_ppm: u64) -> bool {
    let (bad_on, n_on) = (u128::from(on.0), u128::from(on.1));
    let (bad_off, n_off) = (u128::from(off.0), u128::from(off.1));
    if n_on == 0 || n_off == 0 {
        return false;
    }
    // bad_on * n_off * PPM > (bad_off * n_on * PPM) + margin * n_on * n_off; with counts under
    // 2^40 every product fits in 128 bits, otherwise fall back to floating point.
    let exact = || -> Option<bool> {
        let left = bad_on.checked_mul(n_off)?.checked_mul(u128::from(PPM))?;
        let right = bad_off
            .checked_mul(n_on)?
            .checked_mul(u128::from(PPM))?
            .checked_add(
                u128::from(margin_ppm)
                    .checked_mul(n_on)?
                    .checked_mul(n_off)?,
            )?;
        Some(left > right)
    };
    exact().unwrap_or_else(|| {
        bad_on as f64 / n_on as f64 - bad_off as f64 / n_off as f64 > margin_ppm as f64 / 1e6
    })
}

/// The cohorts compared on every SLI of `guard`.
pub fn compare(guard: &Guard, figures: &Figures) -> Vec<Comparison> {
    let mut out = Vec::new();
    let mut one = |sli, on: (u64, u64), off: (u64, u64), margin_ppm| {
        let judged = on.1 >= guard.min_requests && off.1 >= guard.min_requests;
        out.push(Comparison {
            sli,
            on,
            off,
            margin_ppm,
            judged,
            worse: judged && worse_by_more_than(on, off, margin_ppm),
        });
    };
    let (on, off) = (&figures.on, &figures.off);
    if let Some(e) = &guard.errors {
        one(
            Sli::Errors,
            (on.errors, on.requests),
            (off.errors, off.requests),
            e.margin_ppm,
        );
    }
    if let Some(l) = &guard.latency {
        one(
            Sli::Latency,
            (on.slow, on.latency_requests),
            (off.slow, off.latency_requests),
            l.margin_ppm,
        );
    }
    out
}

/// Why a plan holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// The plan is not running (paused, halted, completed, aborted).
    NotRunning(Phase),
    /// The step's hold time has not passed; this much is left.
    Holding(Duration),
    /// The hold time passed, but a cohort has fewer requests than the guard needs.
    TooFewRequests,
}

/// What a plan does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Hold(Hold),
    /// Go to step `step` (of `percent`).
    Advance {
        step: usize,
        percent: u8,
    },
    /// Every step passed; the flag stays at `percent`.
    Complete {
        percent: u8,
    },
    /// The guard found the flagged cohort worse: the flag goes back to 0%.
    Halt {
        reason: String,
    },
}

/// A decision with the comparisons behind it (what the history records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub decision: Decision,
    pub comparisons: Vec<Comparison>,
}

/// Decides what a plan in `state` does at `now`, given its cohorts' figures since the step
/// began (see the module's rules).
pub fn decide(plan: &Plan, state: &State, now: jiff::Timestamp, figures: &Figures) -> Verdict {
    let comparisons = compare(&plan.guard, figures);
    let decision = decide_from(plan, state, now, &comparisons);
    Verdict {
        decision,
        comparisons,
    }
}

fn decide_from(
    plan: &Plan,
    state: &State,
    now: jiff::Timestamp,
    comparisons: &[Comparison],
) -> Decision {
    if state.phase != Phase::Running {
        return Decision::Hold(Hold::NotRunning(state.phase));
    }
    let worse: Vec<String> = comparisons
        .iter()
        .filter(|c| c.worse)
        .map(|c| c.to_string())
        .collect();
    if !worse.is_empty() {
        let percent = plan.steps.get(state.step).copied().unwrap_or(0);
        return Decision::Halt {
            reason: format!(
                "at step {} ({percent}%) the flagged cohort is worse than the control by more than the margin: {}",
                state.step + 1,
                worse.join("; ")
            ),
        };
    }
    let elapsed = now.duration_since(state.step_started_at);
    let hold = plan.hold();
    let elapsed = Duration::try_from(elapsed).unwrap_or(Duration::ZERO);
    if elapsed < hold {
        return Decision::Hold(Hold::Holding(hold.saturating_sub(elapsed)));
    }
    if comparisons.iter().any(|c| !c.judged) {
        return Decision::Hold(Hold::TooFewRequests);
    }
    let next = state.step + 1;
    match plan.steps.get(next) {
        Some(&100) => Decision::Complete { percent: 100 },
        Some(&percent) => Decision::Advance {
            step: next,
            percent,
        },
        None => Decision::Complete {
            percent: plan.steps.last().copied().unwrap_or(0),
        },
    }
}

/// The state after `decision` at `now`.
pub fn apply(plan: &Plan, state: &State, decision: &Decision, now: jiff::Timestamp) -> State {
    match decision {
        Decision::Hold(_) => *state,
        Decision::Advance { step, .. } => State {
            phase: Phase::Running,
            step: *step,
            step_started_at: now,
        },
        Decision::Complete { .. } => State {
            phase: Phase::Completed,
            step: plan.steps.len().saturating_sub(1),
            step_started_at: now,
        },
        Decision::Halt { .. } => State {
            phase: Phase::Halted,
            step: state.step,
            step_started_at: state.step_started_at,
        },
    }
}

/// The flag's percentage in `state`: its step's while running, paused or completed; 0 once
/// halted or aborted.
pub fn percent(plan: &Plan, state: &State) -> u8 {
    match state.phase {
        Phase::Halted | Phase::Aborted => 0,
        Phase::Completed => plan.steps.last().copied().unwrap_or(0),
        Phase::Running | Phase::Paused => plan.steps.get(state.step).copied().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn t(s: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_780_000_000 + s).unwrap()
    }

    fn plan() -> Plan {
        Plan {
            steps: vec![1, 5, 25, 100],
            hold_ms: 600_000,
            guard: Guard {
                min_requests: 100,
                errors: Some(ErrorGuard {
                    slo: "api-availability".into(),
                    margin_ppm: 5_000,
                }),
                latency: Some(LatencyGuard {
                    slo: "api-latency".into(),
                    threshold_ms: 250,
                    selector: parse_selector(r#"operation!="report""#).unwrap(),
                    margin_ppm: 10_000,
                }),
            },
        }
    }

    fn cohort(requests: u64, errors: u64, slow: u64) -> Cohort {
        Cohort {
            requests,
            errors,
            latency_requests: requests,
            slow,
        }
    }

    fn figures(on: Cohort, off: Cohort) -> Figures {
        Figures { on, off }
    }

    fn healthy() -> Figures {
        figures(cohort(200, 0, 1), cohort(20_000, 10, 100))
    }

    #[test]
    fn a_step_holds_for_its_hold_time_then_advances() {
        let p = plan();
        let s = State::start(t(0));
        let v = decide(&p, &s, t(599), &healthy());
        assert_eq!(
            v.decision,
            Decision::Hold(Hold::Holding(Duration::from_secs(1)))
        );
        let v = decide(&p, &s, t(600), &healthy());
        assert_eq!(
            v.decision,
            Decision::Advance {
                step: 1,
                percent: 5
            }
        );
        let s = apply(&p, &s, &v.decision, t(600));
        assert_eq!(
            (s.phase, s.step, s.step_started_at),
            (Phase::Running, 1, t(600))
        );
        assert_eq!(percent(&p, &s), 5);
        let s = apply(
            &p,
            &s,
            &decide(&p, &s, t(1200), &healthy()).decision,
            t(1200),
        );
        assert_eq!(percent(&p, &s), 25);
        // 100% has no control cohort: reaching it completes the plan.
        let v = decide(&p, &s, t(1800), &healthy());
        assert_eq!(v.decision, Decision::Complete { percent: 100 });
        let s = apply(&p, &s, &v.decision, t(1800));
        assert_eq!((s.phase, percent(&p, &s)), (Phase::Completed, 100));
        assert_eq!(
            decide(&p, &s, t(9999), &healthy()).decision,
            Decision::Hold(Hold::NotRunning(Phase::Completed))
        );
    }

    #[test]
    fn a_last_step_below_100_completes_after_its_hold() {
        let mut p = plan();
        p.steps = vec![10, 50];
        let s = State {
            phase: Phase::Running,
            step: 1,
            step_started_at: t(0),
        };
        assert!(matches!(
            decide(&p, &s, t(10), &healthy()).decision,
            Decision::Hold(Hold::Holding(_))
        ));
        let v = decide(&p, &s, t(600), &healthy());
        assert_eq!(v.decision, Decision::Complete { percent: 50 });
        assert_eq!(percent(&p, &apply(&p, &s, &v.decision, t(600))), 50);
    }

    #[test]
    fn nothing_is_judged_before_both_cohorts_have_the_minimum() {
        let p = plan();
        let s = State::start(t(0));
        // 99 flagged requests, all failed: not judged yet, whatever the hold.
        let f = figures(cohort(99, 99, 99), cohort(10_000, 0, 0));
        let v = decide(&p, &s, t(1), &f);
        assert!(matches!(v.decision, Decision::Hold(Hold::Holding(_))));
        assert!(v.comparisons.iter().all(|c| !c.judged && !c.worse));
        // Nor does the step advance on too little evidence after its hold.
        assert_eq!(
            decide(&p, &s, t(601), &f).decision,
            Decision::Hold(Hold::TooFewRequests)
        );
        // The control cohort needs the minimum too.
        let f = figures(cohort(1000, 1000, 0), cohort(99, 0, 0));
        assert_eq!(
            decide(&p, &s, t(601), &f).decision,
            Decision::Hold(Hold::TooFewRequests)
        );
        // At exactly the minimum it is judged, and halts before the hold is over.
        let f = figures(cohort(100, 100, 0), cohort(100, 0, 0));
        let v = decide(&p, &s, t(1), &f);
        assert!(matches!(v.decision, Decision::Halt { .. }), "{v:?}");
    }

    #[test]
    fn a_flag_failing_five_percent_halts_at_once() {
        let p = plan();
        let s = State::start(t(0));
        let f = figures(cohort(200, 10, 0), cohort(20_000, 20, 0));
        let v = decide(&p, &s, t(5), &f);
        let Decision::Halt { reason } = &v.decision else {
            panic!("{v:?}")
        };
        assert!(
            reason.contains("errors: on 10/200 (5.000%), off 20/20000 (0.100%)"),
            "{reason}"
        );
        assert!(reason.starts_with("at step 1 (1%)"), "{reason}");
        let s = apply(&p, &s, &v.decision, t(5));
        assert_eq!((s.phase, percent(&p, &s)), (Phase::Halted, 0));
        // A halted plan stays halted.
        assert_eq!(
            decide(&p, &s, t(10_000), &healthy()).decision,
            Decision::Hold(Hold::NotRunning(Phase::Halted))
        );
    }

    #[test]
    fn the_margin_is_allowed_and_no_more() {
        // margin 0.5 points: off 1.0%, on 1.5% is exactly the margin; one more error is over.
        let on_at = |errors| (errors, 1000);
        assert!(!worse_by_more_than(on_at(15), (10, 1000), 5_000));
        assert!(worse_by_more_than(on_at(16), (10, 1000), 5_000));
        // Different denominators: 3/200 = 1.5% against 1/100 = 1.0%.
        assert!(!worse_by_more_than((3, 200), (1, 100), 5_000));
        assert!(worse_by_more_than((3, 200), (1, 100), 4_999));
        // Margin 0: any worse halts, equal does not; better never does.
        assert!(!worse_by_more_than((1, 100), (10, 1000), 0));
        assert!(worse_by_more_than((2, 100), (10, 1000), 0));
        assert!(!worse_by_more_than((0, 100), (50, 100), 0));
        // A full margin (100%) never halts.
        assert!(!worse_by_more_than((100, 100), (0, 100), PPM));
        // Empty cohorts are never worse.
        assert!(!worse_by_more_than((0, 0), (0, 100), 0));
        // Huge counts fall back to floating point instead of overflowing.
        assert!(worse_by_more_than(
            (u64::MAX / 2, u64::MAX),
            (0, u64::MAX),
            1
        ));
    }

    #[test]
    fn latency_compares_the_share_over_the_threshold_on_the_selected_requests() {
        let p = plan();
        let s = State::start(t(0));
        // 1% margin: on 2.0% slow against off 1.0% is one point over.
        let f = figures(
            Cohort {
                requests: 1000,
                errors: 0,
                latency_requests: 1000,
                slow: 21,
            },
            Cohort {
                requests: 1000,
                errors: 0,
                latency_requests: 1000,
                slow: 10,
            },
        );
        let v = decide(&p, &s, t(1), &f);
        let Decision::Halt { reason } = &v.decision else {
            panic!("{v:?}")
        };
        assert!(reason.contains("latency: on 21/1000"), "{reason}");
        assert!(!reason.contains("errors:"), "{reason}");
        let mut f = f;
        f.on.slow = 20;
        assert!(matches!(
            decide(&p, &s, t(1), &f).decision,
            Decision::Hold(Hold::Holding(_))
        ));
        // The latency SLI counts only requests its selector takes: too few of them, no judgement.
        f.on.latency_requests = 50;
        f.on.slow = 50;
        let v = decide(&p, &s, t(601), &f);
        assert_eq!(v.decision, Decision::Hold(Hold::TooFewRequests));
        let g = p.guard.latency.as_ref().unwrap();
        assert!(g.counts("candidates"));
        assert!(!g.counts("report"));
    }

    #[test]
    fn a_guard_without_latency_judges_errors_only() {
        let mut p = plan();
        p.guard.latency = None;
        let s = State::start(t(0));
        let f = figures(
            Cohort {
                requests: 100,
                errors: 0,
                latency_requests: 0,
                slow: 0,
            },
            cohort(100, 0, 0),
        );
        assert_eq!(
            decide(&p, &s, t(600), &f).decision,
            Decision::Advance {
                step: 1,
                percent: 5
            }
        );
    }

    #[test]
    fn paused_and_aborted_plans_hold() {
        let p = plan();
        for phase in [Phase::Paused, Phase::Aborted] {
            let s = State {
                phase,
                step: 1,
                step_started_at: t(0),
            };
            let bad = figures(cohort(1000, 1000, 0), cohort(1000, 0, 0));
            assert_eq!(
                decide(&p, &s, t(10_000), &bad).decision,
                Decision::Hold(Hold::NotRunning(phase))
            );
        }
        let paused = State {
            phase: Phase::Paused,
            step: 1,
            step_started_at: t(0),
        };
        assert_eq!(percent(&p, &paused), 5);
        let aborted = State {
            phase: Phase::Aborted,
            ..paused
        };
        assert_eq!(percent(&p, &aborted), 0);
    }

    #[test]
    fn plans_are_checked() {
        let bad = |f: &dyn Fn(&mut Plan)| {
            let mut p = plan();
            f(&mut p);
            p.check().unwrap_err().to_string()
        };
        assert_eq!(
            bad(&|p| p.steps = vec![]),
            "`steps`: give 1 to 20 percentages"
        );
        assert_eq!(
            bad(&|p| p.steps = vec![0, 5]),
            "`steps[0]`: 0 is not a percentage in 1..=100"
        );
        assert_eq!(
            bad(&|p| p.steps = vec![5, 101]),
            "`steps[1]`: 101 is not a percentage in 1..=100"
        );
        assert_eq!(
            bad(&|p| p.steps = vec![5, 5]),
            "`steps[1]`: 5 is not above the step before it"
        );
        assert_eq!(
            bad(&|p| p.guard.min_requests = 0),
            "`guard.min_requests`: at least 1"
        );
        assert_eq!(
            bad(&|p| {
                p.guard.errors = None;
                p.guard.latency = None;
            }),
            "`guard`: watch at least one SLI (errors or latency)"
        );
        assert!(
            bad(&|p| p.guard.errors.as_mut().unwrap().margin_ppm = PPM + 1).contains("margin_ppm")
        );
        let p = plan();
        assert_eq!(Plan::from_json(&p.to_json()).unwrap(), p);
        assert!(Plan::from_json(r#"{"steps":[1]}"#).is_err());
    }

    #[test]
    fn selectors_take_operation_matchers_only() {
        assert_eq!(
            parse_selector(r#"operation!="report", operation="jobs""#).unwrap(),
            vec![
                Matcher {
                    equal: false,
                    value: "report".into()
                },
                Matcher {
                    equal: true,
                    value: "jobs".into()
                }
            ]
        );
        assert_eq!(parse_selector("").unwrap(), vec![]);
        for bad in [
            r#"operation=~"rep.*""#,
            r#"operation!~"x""#,
            r#"route!="/x""#,
            "operation=report",
            "operation",
        ] {
            assert!(parse_selector(bad).is_err(), "{bad}");
        }
    }
}
