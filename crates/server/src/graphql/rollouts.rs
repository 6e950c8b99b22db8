//! Gradual rollouts in the API (docs/flags.md, "Rollouts"): `rollouts` (each plan's step and
//! state with its cohorts' SLIs side by side), `setRolloutPlan`, `pauseRollout`,
//! `resumeRollout`, `abortRollout`. Who may: exactly who manages flags (`app::flags`' one
//! authorization: admins of the operator org, `flags.operator_org`); this module makes no
//! check of its own.

use super::json_field;
use async_graphql::dynamic::{
    Field, FieldValue, InputValue, Object, ResolverContext, Type, TypeRef,
};
use serde_json::{Value, json};

use super::mutations::run_as;
use super::{Code, RequestCtx, error};
use app::flags::FlagsActor;
use app::rollouts::{Rollout, RolloutStatus};

fn rollout_json(r: &Rollout, status: Option<&RolloutStatus>) -> Value {
    let plan = serde_json::to_value(&r.plan).unwrap_or(Value::Null);
    let mut v = json!({
        "flag": r.flag,
        "phase": r.state.phase.as_str(),
        "step": r.state.step + 1,
        "percent": r.percent,
        "stepStartedAt": r.state.step_started_at.to_string(),
        "plan": plan,
        "revision": r.revision,
        "updatedAt": r.updated_at.to_string(),
        "updatedBy": r.updated_by,
        "on": Value::Null,
        "off": Value::Null,
        "comparisons": [],
    });
    if let Some(s) = status {
        v["on"] = serde_json::to_value(s.figures.on).unwrap_or(Value::Null);
        v["off"] = serde_json::to_value(s.figures.off).unwrap_or(Value::Null);
        v["comparisons"] = serde_json::to_value(&s.comparisons).unwrap_or(Value::Null);
    }
    v
}

/// The type `Rollout`.
pub fn types() -> Vec<Type> {
    let t = Object::new("Rollout")
        .description("A flag's rollout plan, its state and its cohorts' SLIs in the current step")
        .field(json_field("flag", TypeRef::named_nn(TypeRef::STRING), "The flag"))
        .field(json_field(
            "phase",
            TypeRef::named_nn(TypeRef::STRING),
            "`running`, `paused`, `halted` (by its guard; the flag is at 0%), `completed` or `aborted`",
        ))
        .field(json_field("step", TypeRef::named_nn(TypeRef::INT), "The current step, from 1"))
        .field(json_field(
            "percent",
            TypeRef::named_nn(TypeRef::INT),
            "The percentage of orgs the flag is on for",
        ))
        .field(json_field(
            "stepStartedAt",
            TypeRef::named_nn("DateTime"),
            "When the current step began (its hold runs from here)",
        ))
        .field(json_field(
            "plan",
            TypeRef::named_nn("JSON"),
            "The plan: `steps`, `hold_ms`, `guard` (`min_requests`, `errors`, `latency`)",
        ))
        .field(json_field(
            "revision",
            TypeRef::named_nn(TypeRef::INT),
            "Grows at every change of the plan",
        ))
        .field(json_field("updatedAt", TypeRef::named_nn("DateTime"), "Its last change"))
        .field(json_field(
            "updatedBy",
            TypeRef::named_nn(TypeRef::STRING),
            "Who changed it last: `ORG/USER`, `cli`, or `rollout` (the driver)",
        ))
        .field(json_field(
            "on",
            TypeRef::named("JSON"),
            "The flagged cohort in this step, summed over the replicas: `requests`, `errors`, `latency_requests`, `slow` (null in a mutation's answer)",
        ))
        .field(json_field(
            "off",
            TypeRef::named("JSON"),
            "The control cohort, likewise",
        ))
        .field(json_field(
            "comparisons",
            TypeRef::named_nn("JSON"),
            "How the cohorts compare on each SLI of the guard (`judged`, `worse`)",
        ));
    vec![t.into()]
}

/// `rollouts`: every plan with its cohorts' figures.
pub fn query_field() -> Field {
    Field::new("rollouts", TypeRef::named_nn_list_nn("Rollout"), |ctx| {
        super::spans::traced(super::spans::resolver(&ctx), async move {
            let rc = ctx.data::<RequestCtx>()?;
            let operator = rc.flags.deployment().operator_org.clone();
            let all = run_as(rc, move |store, services, access, _org, at| {
                Ok(services.rollout_status(
                    store,
                    FlagsActor::User(access, operator.as_deref()),
                    at,
                )?)
            })
            .await?;
            Ok(Some(FieldValue::list(all.iter().map(|s| {
                FieldValue::owned_any(rollout_json(&s.rollout, Some(s)))
            }))))
        })
    })
    .description(
        "The flags' rollout plans, by flag: step, state, and each cohort's SLIs side by side. \
         Who may: admins of the operator org (`flags.operator_org`; none by default)",
    )
}

/// The mutations.
pub fn mutation_fields() -> Vec<Field> {
    let reason = || {
        InputValue::new("reason", TypeRef::named_nn(TypeRef::STRING))
            .description("Why (kept in the history; not empty)")
    };
    let flag =
        || InputValue::new("flag", TypeRef::named_nn(TypeRef::STRING)).description("The flag");
    let mut out = vec![
        Field::new("setRolloutPlan", TypeRef::named_nn("Rollout"), |ctx| {
            super::spans::traced(super::spans::resolver(&ctx), operate(ctx, "plan"))
        })
        .argument(flag())
        .argument(
            InputValue::new("plan", TypeRef::named_nn("JSON")).description(
                "The plan: `{\"steps\": [1, 5, 25, 100], \"hold_ms\": 600000, \"guard\": \
             {\"min_requests\": 500, \"errors\": {\"slo\": \"api-availability\", \
             \"margin_ppm\": 5000}, \"latency\": {\"slo\": \"api-latency\", \"threshold_ms\": \
             250, \"selector\": [{\"equal\": false, \"value\": \"report\"}], \"margin_ppm\": \
             10000}}}` (docs/flags.md)",
            ),
        )
        .argument(reason())
        .description(
            "Sets a flag's rollout plan and starts it at its first step (a running or paused \
             plan must be aborted first). Who may: admins of the operator org",
        ),
    ];
    for (name, action, doc) in [
        (
            "pauseRollout",
            "pause",
            "Pauses a running plan at its step (the flag keeps its percentage)",
        ),
        (
            "resumeRollout",
            "resume",
            "Resumes a paused or halted plan at its step, which holds again from now",
        ),
        (
            "abortRollout",
            "abort",
            "Aborts a plan: the flag goes back to 0%",
        ),
    ] {
        out.push(
            Field::new(name, TypeRef::named_nn("Rollout"), move |ctx| {
                super::spans::traced(super::spans::resolver(&ctx), operate(ctx, action))
            })
            .argument(flag())
            .argument(reason())
            .description(format!("{doc}. Who may: admins of the operator org")),
        );
    }
    out
}

async fn operate<'a>(
    ctx: ResolverContext<'a>,
    action: &'static str,
) -> async_graphql::Result<Option<FieldValue<'a>>> {
    let rc = ctx.data::<RequestCtx>()?;
    let flag = ctx.args.try_get("flag")?.string()?.to_owned();
    let reason = ctx.args.try_get("reason")?.string()?.to_owned();
    let plan = match ctx.args.get("plan") {
        Some(v) => {
            let text = v
                .as_value()
                .clone()
                .into_json()
                .map_err(|e| error(Code::BadUserInput, Some("plan"), format!("`plan`: {e}")))?
                .to_string();
            Some(
                flags::rollout::Plan::from_json(&text)
                    .map_err(|e| error(Code::BadUserInput, Some("plan"), format!("`plan`: {e}")))?,
            )
        }
        None => None,
    };
    let operator = rc.flags.deployment().operator_org.clone();
    let r = run_as(rc, move |store, services, access, _org, at| {
        let actor = FlagsActor::User(access, operator.as_deref());
        match (action, &plan) {
            ("plan", Some(p)) => {
                services.set_rollout_plan(store, actor, &flag, p, &reason, at)?;
                Ok(services
                    .rollout_status(store, actor, at)?
                    .into_iter()
                    .find(|s| s.rollout.flag == flag)
                    .map(|s| s.rollout)
                    .ok_or_else(|| app::flags::FlagError::NoRollout(flag.clone()))
                    .map_err(app::AppError::from)?)
            }
            ("pause", _) => Ok(services.pause_rollout(store, actor, &flag, &reason, at)?),
            ("resume", _) => Ok(services.resume_rollout(store, actor, &flag, &reason, at)?),
            _ => Ok(services.abort_rollout(store, actor, &flag, &reason, at)?),
        }
    })
    .await?;
    if let Err(e) = rc.flags.refresh(&rc.db, &rc.services).await {
        tracing::warn!(error = %e, "cannot reload the flags after a rollout change; the poll will");
    }
    Ok(Some(FieldValue::owned_any(rollout_json(&r, None))))
}
