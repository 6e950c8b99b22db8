//! Gradual rollouts of the installation's flags (docs/flags.md, "Rollouts"): set a plan, pause,
//! resume, abort, status and history for whoever manages flags (the same authorization as
//! every flag operation, [`crate::flags`]: the CLI's operator, or an admin of the operator
//! org through the API), and what the replicas run without a user: the plans to measure
//! ([`Services::measured_rollouts`]) and one drive of every running plan
//! ([`Services::drive_rollouts`]), which asks crate `flags`' engine
//! ([`::flags::rollout::decide`]) and writes what it decided.
//!
//! A plan drives its flag's `flexibleRollout` strategy with stickiness `orgId` (added when the
//! flag has no strategy; a flag with other strategies and no such one is refused, since its
//! other strategies would switch it on beside the rollout). Every write of a plan sets the
//! flag's definition with the step's percentage in the same transaction, through the store's
//! flag path: the flag's history shows each step (by `rollout`, with the reason), and the
//! replicas' polling picks it up like any other change.

use ::flags::rollout::{self, Cohort, Decision, Figures, Phase, Plan, State};
use serde_json::Value;
use store::{CohortSums, FlagAuthor, FlagKind, RolloutEvent, RolloutWrite, Store, StoredRollout};

use crate::flags::{FlagError, FlagsActor, MAX_HISTORY};
use crate::{AppError, Services};

/// Who the history names for the driver's changes.
pub const DRIVER: &str = "rollout";
/// The lease the driving replica holds.
pub const LEASE: &str = "rollouts";

/// A plan as `app` reads it.
#[derive(Debug, Clone)]
pub struct Rollout {
    pub flag: String,
    pub plan: Plan,
    pub state: State,
    pub revision: i64,
    /// The flag's percentage in this state.
    pub percent: u8,
    pub updated_at: domain::Instant,
    pub updated_by: String,
}

/// A plan with its cohorts' figures in the current step (summed over the replicas) and how
/// they compare.
#[derive(Debug, Clone)]
pub struct RolloutStatus {
    pub rollout: Rollout,
    pub figures: Figures,
    pub comparisons: Vec<rollout::Comparison>,
}

/// What a replica measures for a plan: its flag, the revision its counts belong to, its guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasuredRollout {
    pub flag: String,
    pub revision: i64,
    pub guard: rollout::Guard,
}

/// What one drive did to a plan (plans that hold are not listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Driven {
    pub flag: String,
    /// The decision written, or why the plan could not be driven (a plan that is no longer
    /// valid, a flag removed under it): the other plans are driven all the same.
    pub decision: Result<Decision, String>,
}

fn instant_to_ts(at: domain::Instant) -> jiff::Timestamp {
    jiff::Timestamp::from_microsecond(at.as_micros()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn ts_to_instant(t: jiff::Timestamp) -> domain::Instant {
    domain::Instant::from_timestamp(t)
}

fn cohort(s: CohortSums) -> Cohort {
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    Cohort {
        requests: n(s.requests),
        errors: n(s.errors),
        latency_requests: n(s.latency_requests),
        slow: n(s.slow),
    }
}

fn read(row: &StoredRollout) -> Result<Rollout, FlagError> {
    let stored = |message: String| FlagError::Stored {
        name: row.flag.clone(),
        version: row.revision,
        message,
    };
    let plan = Plan::from_json(&row.plan).map_err(|e| stored(e.to_string()))?;
    let phase = Phase::parse(&row.phase).ok_or_else(|| stored(format!("phase `{}`", row.phase)))?;
    let step = usize::try_from(row.step)
        .ok()
        .filter(|s| *s < plan.steps.len())
        .ok_or_else(|| stored(format!("step {} of {}", row.step, plan.steps.len())))?;
    let state = State {
        phase,
        step,
        step_started_at: instant_to_ts(row.step_started_at),
    };
    Ok(Rollout {
        flag: row.flag.clone(),
        percent: rollout::percent(&plan, &state),
        plan,
        state,
        revision: row.revision,
        updated_at: row.updated_at,
        updated_by: row.updated_by.clone(),
    })
}

/// Flag definition `definition` with its org rollout at `percent` and enabled: every
/// `flexibleRollout` strategy with stickiness `orgId` gets the percentage; a flag without
/// strategies gets one.
pub fn with_rollout(flag: &str, definition: &str, percent: u8) -> Result<String, FlagError> {
    let stored = |message: String| FlagError::Stored {
        name: flag.to_owned(),
        version: 0,
        message,
    };
    let mut v: Value = serde_json::from_str(definition).map_err(|e| stored(e.to_string()))?;
    let obj = v
        .as_object_mut()
        .ok_or_else(|| stored("not an object".into()))?;
    obj.insert("enabled".into(), Value::Bool(true));
    let strategies = obj
        .entry("strategies")
        .or_insert_with(|| Value::Array(Vec::new()));
    if strategies.is_null() {
        *strategies = Value::Array(Vec::new());
    }
    let list = strategies
        .as_array_mut()
        .ok_or_else(|| stored("`strategies` is not a list".into()))?;
    let is_org_rollout = |s: &Value| {
        s.get("name").and_then(Value::as_str) == Some("flexibleRollout")
            && s.pointer("/parameters/stickiness").and_then(Value::as_str)
                == Some(::flags::ORG_PROPERTY)
    };
    if list.is_empty() {
        list.push(serde_json::json!({
            "name": "flexibleRollout",
            "parameters": {"rollout": "0", "stickiness": ::flags::ORG_PROPERTY, "groupId": flag},
        }));
    }
    if !list.iter().all(is_org_rollout) {
        return Err(FlagError::NotRolloutShaped(flag.to_owned()));
    }
    for s in list.iter_mut() {
        if let Some(p) = s.get_mut("parameters").and_then(Value::as_object_mut) {
            p.insert("rollout".into(), Value::String(percent.to_string()));
        }
    }
    ::flags::check_feature(&v).map_err(|e| stored(e.to_string()))?;
    Ok(v.to_string())
}

/// The JSON the history keeps beside an automatic change: both cohorts and the comparisons.
fn figures_json(figures: &Figures, comparisons: &[rollout::Comparison]) -> String {
    serde_json::json!({"on": figures.on, "off": figures.off, "comparisons": comparisons})
        .to_string()
}

impl Services {
    fn figures_of(&self, store: &mut Store, r: &Rollout) -> Result<Figures, AppError> {
        let (on, off) = store.rollout_counts(&r.flag, r.revision)?;
        Ok(Figures {
            on: cohort(on),
            off: cohort(off),
        })
    }

    /// Writes plan `r`'s new `state`, with its flag at the state's percentage.
    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        store: &mut Store,
        flag: &str,
        plan: &Plan,
        state: &State,
        expected_revision: Option<i64>,
        action: &str,
        figures: Option<&str>,
        by: &str,
        reason: &str,
        at: domain::Instant,
    ) -> Result<i64, AppError> {
        let percent = rollout::percent(plan, state);
        // A plan whose flag was removed can still be aborted (nothing to set then).
        let definition = match store.flag(FlagKind::Flag, flag)? {
            Some(current) => Some(with_rollout(flag, &current.definition, percent)?),
            None if action == "abort" => None,
            None => return Err(FlagError::NoSuchFlag(flag.to_owned()).into()),
        };
        let text = plan.to_json();
        let written = store.write_rollout(RolloutWrite {
            flag,
            plan: &text,
            phase: state.phase.as_str(),
            step: i64::try_from(state.step).unwrap_or(0),
            step_started_at: ts_to_instant(state.step_started_at),
            expected_revision,
            action,
            percent: i64::from(percent),
            figures,
            definition: definition.as_deref(),
            author: FlagAuthor { by, reason, at },
        })?;
        written.ok_or_else(|| FlagError::RolloutChanged(flag.to_owned()).into())
    }

    /// Sets flag `flag`'s rollout plan and starts it at its first step now. A plan that still
    /// manages the flag (running or paused) must be aborted first. Returns the plan's revision.
    pub fn set_rollout_plan(
        &self,
        store: &mut Store,
        actor: FlagsActor<'_>,
        flag: &str,
        plan: &Plan,
        reason: &str,
        at: domain::Instant,
    ) -> Result<i64, AppError> {
        self.authorize_flags(store, actor, at)?;
        crate::flags::check_reason(reason)?;
        plan.check().map_err(FlagError::Plan)?;
        let existing = store.rollout(flag)?;
        if let Some(row) = &existing
            && Phase::parse(&row.phase).is_some_and(Phase::is_active)
        {
            return Err(FlagError::RolloutActive(flag.to_owned()).into());
        }
        let state = State::start(instant_to_ts(at));
        self.write(
            store,
            flag,
            plan,
            &state,
            existing.map(|r| r.revision),
            "plan",
            None,
            &actor.name(),
            reason,
            at,
        )
    }

    fn operate(
        &self,
        store: &mut Store,
        actor: FlagsActor<'_>,
        flag: &str,
        action: &'static str,
        reason: &str,
        at: domain::Instant,
    ) -> Result<Rollout, AppError> {
        self.authorize_flags(store, actor, at)?;
        crate::flags::check_reason(reason)?;
        let row = store
            .rollout(flag)?
            .ok_or_else(|| FlagError::NoRollout(flag.to_owned()))?;
        let r = read(&row)?;
        let from = r.state.phase;
        let to = match (action, from) {
            ("pause", Phase::Running) => Phase::Paused,
            ("resume", Phase::Paused | Phase::Halted) => Phase::Running,
            ("abort", Phase::Running | Phase::Paused | Phase::Halted) => Phase::Aborted,
            _ => {
                return Err(FlagError::RolloutPhase {
                    flag: flag.to_owned(),
                    action,
                    phase: from.as_str(),
                }
                .into());
            }
        };
        // A resumed step holds again from now, judged on requests from now.
        let started = if to == Phase::Running {
            instant_to_ts(at)
        } else {
            r.state.step_started_at
        };
        let state = State {
            phase: to,
            step: r.state.step,
            step_started_at: started,
        };
        self.write(
            store,
            flag,
            &r.plan,
            &state,
            Some(r.revision),
            action,
            None,
            &actor.name(),
            reason,
            at,
        )?;
        self.rollout_of(store, flag)
    }

    /// Pauses a running plan at its step (the flag keeps its percentage).
    pub fn pause_rollout(
        &self,
        store: &mut Store,
        actor: FlagsActor<'_>,
        flag: &str,
        reason: &str,
        at: domain::Instant,
    ) -> Result<Rollout, AppError> {
        self.operate(store, actor, flag, "pause", reason, at)
    }

    /// Resumes a paused or halted plan at its step, which holds again from now.
    pub fn resume_rollout(
        &self,
        store: &mut Store,
        actor: FlagsActor<'_>,
        flag: &str,
        reason: &str,
        at: domain::Instant,
    ) -> Result<Rollout, AppError> {
        self.operate(store, actor, flag, "resume", reason, at)
    }

    /// Aborts a plan: the flag goes back to 0%.
    pub fn abort_rollout(
        &self,
        store: &mut Store,
        actor: FlagsActor<'_>,
        flag: &str,
        reason: &str,
        at: domain::Instant,
    ) -> Result<Rollout, AppError> {
        self.operate(store, actor, flag, "abort", reason, at)
    }

    fn rollout_of(&self, store: &mut Store, flag: &str) -> Result<Rollout, AppError> {
        let row = store
            .rollout(flag)?
            .ok_or_else(|| FlagError::NoRollout(flag.to_owned()))?;
        Ok(read(&row)?)
    }

    /// Every plan with its cohorts' figures in the current step, by flag.
    pub fn rollout_status(
        &self,
        store: &mut Store,
        actor: FlagsActor<'_>,
        at: domain::Instant,
    ) -> Result<Vec<RolloutStatus>, AppError> {
        self.authorize_flags(store, actor, at)?;
        let mut out = Vec::new();
        for row in store.rollouts()? {
            let r = read(&row)?;
            let figures = self.figures_of(store, &r)?;
            out.push(RolloutStatus {
                comparisons: rollout::compare(&r.plan.guard, &figures),
                figures,
                rollout: r,
            });
        }
        Ok(out)
    }

    /// The history of flag `flag`'s plans (or of all), newest first.
    pub fn rollout_history(
        &self,
        store: &mut Store,
        actor: FlagsActor<'_>,
        flag: Option<&str>,
        limit: u32,
        at: domain::Instant,
    ) -> Result<Vec<RolloutEvent>, AppError> {
        self.authorize_flags(store, actor, at)?;
        Ok(store.rollout_history(flag, limit.min(MAX_HISTORY))?)
    }

    /// The plans a replica measures (running or paused), with their revisions and guards. No
    /// authorization: what every replica loads.
    pub fn measured_rollouts(&self, store: &mut Store) -> Result<Vec<MeasuredRollout>, AppError> {
        let mut out = Vec::new();
        for row in store.rollouts()? {
            let r = read(&row)?;
            if r.state.phase.is_active() {
                out.push(MeasuredRollout {
                    flag: r.flag,
                    revision: r.revision,
                    guard: r.plan.guard,
                });
            }
        }
        Ok(out)
    }

    /// Drives every running plan once at `at`: the engine decides from the cohorts' figures
    /// summed over the replicas, and an advance, completion or halt is written with the figures
    /// behind it. No authorization: run by the replica holding the lease [`LEASE`]. A plan
    /// another writer changed meanwhile is left for the next drive; one that cannot be driven
    /// (no longer valid, its flag removed) is reported and the others are driven.
    pub fn drive_rollouts(
        &self,
        store: &mut Store,
        at: domain::Instant,
    ) -> Result<Vec<Driven>, AppError> {
        let now = instant_to_ts(at);
        let mut out = Vec::new();
        for row in store.rollouts()? {
            if row.phase != Phase::Running.as_str() {
                continue;
            }
            let r = match read(&row) {
                Ok(r) => r,
                Err(e) => {
                    out.push(Driven {
                        flag: row.flag.clone(),
                        decision: Err(e.to_string()),
                    });
                    continue;
                }
            };
            let figures = self.figures_of(store, &r)?;
            let verdict = rollout::decide(&r.plan, &r.state, now, &figures);
            let (action, reason) = match &verdict.decision {
                Decision::Hold(_) => continue,
                Decision::Advance { step, percent } => (
                    "advance",
                    format!(
                        "step {} ({percent}%) after holding step {} for {} ms within the guard",
                        step + 1,
                        r.state.step + 1,
                        r.plan.hold_ms
                    ),
                ),
                Decision::Complete { percent } => (
                    "complete",
                    format!("every step passed within the guard; the flag stays at {percent}%"),
                ),
                Decision::Halt { reason } => ("halt", format!("{reason}; rolled back to 0%")),
            };
            let state = rollout::apply(&r.plan, &r.state, &verdict.decision, now);
            let figures = figures_json(&figures, &verdict.comparisons);
            match self.write(
                store,
                &r.flag,
                &r.plan,
                &state,
                Some(r.revision),
                action,
                Some(&figures),
                DRIVER,
                &reason,
                at,
            ) {
                Ok(_) => out.push(Driven {
                    flag: r.flag,
                    decision: Ok(verdict.decision),
                }),
                Err(AppError::Flags(e)) if matches!(*e, FlagError::RolloutChanged(_)) => {}
                Err(e @ AppError::Store(_)) => return Err(e),
                Err(e) => out.push(Driven {
                    flag: r.flag,
                    decision: Err(e.to_string()),
                }),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_plan_sets_the_org_rollout_and_refuses_other_strategies() {
        let d = with_rollout("f", r#"{"name":"f","enabled":false}"#, 5).unwrap();
        let v: Value = serde_json::from_str(&d).unwrap();
        assert_eq!(v["enabled"], true);
        assert_eq!(v["strategies"][0]["parameters"]["rollout"], "5");
        assert_eq!(v["strategies"][0]["parameters"]["stickiness"], "orgId");
        let again = with_rollout("f", &d, 25).unwrap();
        let v: Value = serde_json::from_str(&again).unwrap();
        assert_eq!(v["strategies"].as_array().unwrap().len(), 1);
        assert_eq!(v["strategies"][0]["parameters"]["rollout"], "25");
        let other = r#"{"name":"f","enabled":true,"strategies":[{"name":"default"}]}"#;
        assert!(matches!(
            with_rollout("f", other, 5),
            Err(FlagError::NotRolloutShaped(_))
        ));
        let by_user = r#"{"name":"f","enabled":true,"strategies":[{"name":"flexibleRollout","parameters":{"rollout":"5","stickiness":"userId","groupId":"f"}}]}"#;
        assert!(with_rollout("f", by_user, 5).is_err());
    }
}
