//! `hireplane rollout`: gradual rollouts of the installation's flags, guarded by the SLOs
//! (docs/flags.md, "Rollouts"). `plan` reads the guard's SLIs from an `slo.yaml` (an events SLO
//! for the error rate, a latency SLO's threshold and selector); `status` shows each plan's
//! step and state with its cohorts' SLIs side by side; `pause`, `resume`, `abort`, `history`.
//! Without `--as` the command acts as the operator; with `--as USER` as that user, authorized
//! as every flag operation is (`app::flags`).

use std::io::Write;
use std::path::PathBuf;

use ::flags::rollout::{ErrorGuard, Guard, LatencyGuard, PPM, Plan};
use anyhow::{Context, Result, bail};
use store::Store;

use crate::flags::{Who, actor, now};

#[derive(clap::Subcommand)]
pub enum RolloutCommand {
    /// Set a flag's rollout plan and start it at its first step: percentages of orgs, a hold
    /// time per step, and a guard from the SLOs of an `slo.yaml`
    Plan {
        flag: String,
        /// Percentages of orgs, strictly increasing (`1,5,25,100`)
        #[arg(long, value_delimiter = ',', default_value = "1,5,25,100")]
        steps: Vec<u8>,
        /// How long each step holds before it may advance (`90s`, `10m`, `2h`, `500ms`)
        #[arg(long, default_value = "10m", value_parser = duration_ms)]
        hold: u64,
        /// How many percentage points higher the flagged cohort's error rate may be than the
        /// control's (`0.5`)
        #[arg(long, default_value = "0.5", value_parser = points_ppm)]
        error_margin: u64,
        /// How many percentage points higher the flagged cohort's share of requests over the
        /// latency SLO's threshold may be
        #[arg(long, default_value = "1", value_parser = points_ppm)]
        latency_margin: u64,
        /// Requests each cohort needs (counted by an SLI) before it is judged
        #[arg(long, default_value_t = 500)]
        min_requests: u64,
        /// The SLO spec to take the SLIs from
        #[arg(long, default_value = "slo.yaml", value_name = "FILE")]
        slo: PathBuf,
        /// The events SLO of the error rate (`none`: not watched)
        #[arg(long, default_value = "api-availability")]
        error_slo: String,
        /// The latency SLO (`none`: not watched)
        #[arg(long, default_value = "api-latency")]
        latency_slo: String,
        /// Why (kept in the history)
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        who: Who,
    },
    /// Each plan: flag, state, step and percentage, and its cohorts' SLIs side by side
    Status {
        #[command(flatten)]
        who: Who,
    },
    /// Pause a running plan at its step (the flag keeps its percentage)
    Pause {
        flag: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        who: Who,
    },
    /// Resume a paused or halted plan at its step (which holds again from now)
    Resume {
        flag: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        who: Who,
    },
    /// Abort a plan: the flag goes back to 0%
    Abort {
        flag: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        who: Who,
    },
    /// The history of a flag's plans (or of all), newest first, with the figures behind each
    /// automatic advance, completion and halt
    History {
        flag: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[command(flatten)]
        who: Who,
    },
}

/// `90s`, `10m`, `2h`, `500ms`, `1d` as milliseconds.
fn duration_ms(text: &str) -> Result<u64, String> {
    let bad = || format!("`{text}` is not a duration such as `90s`, `10m`, `2h` or `500ms`");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = text.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let scale = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    n.checked_mul(scale).ok_or_else(bad)
}

/// Percentage points (`0.5`; at most four decimals) as parts per million.
fn points_ppm(text: &str) -> Result<u64, String> {
    let bad = || format!("`{text}` is not percentage points in 0..=100 such as `0.5`");
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && frac.is_empty() || frac.len() > 4 {
        return Err(bad());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let frac_ppm: u64 = if frac.is_empty() {
        0
    } else {
        let digits: u64 = frac.parse().map_err(|_| bad())?;
        digits * 10u64.pow(4 - u32::try_from(frac.len()).map_err(|_| bad())?)
    };
    let ppm = whole
        .checked_mul(10_000)
        .and_then(|w| w.checked_add(frac_ppm))
        .ok_or_else(bad)?;
    if ppm > PPM {
        return Err(bad());
    }
    Ok(ppm)
}

/// The guard's SLIs from the SLO spec at `file`.
fn guard(
    file: &PathBuf,
    error_slo: &str,
    latency_slo: &str,
    error_margin: u64,
    latency_margin: u64,
    min_requests: u64,
) -> Result<Guard> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the SLO spec `{}`", file.display()))?;
    let spec = ::slo::Spec::parse(&text, &file.display().to_string())?;
    let find = |name: &str| {
        spec.slos
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| anyhow::anyhow!("`{}` has no SLO named `{name}`", file.display()))
    };
    let errors = if error_slo == "none" {
        None
    } else {
        let s = find(error_slo)?;
        if !matches!(s.sli, ::slo::Sli::Events { .. }) {
            bail!("`--error-slo`: SLO `{error_slo}` is not an events SLO (an error rate)");
        }
        Some(ErrorGuard {
            slo: error_slo.to_owned(),
            margin_ppm: error_margin,
        })
    };
    let latency = if latency_slo == "none" {
        None
    } else {
        let s = find(latency_slo)?;
        let ::slo::Sli::Latency {
            threshold_seconds,
            selector,
            ..
        } = &s.sli
        else {
            bail!("`--latency-slo`: SLO `{latency_slo}` is not a latency SLO");
        };
        let ms = (threshold_seconds.to_f64() * 1000.0).round();
        Some(LatencyGuard {
            slo: latency_slo.to_owned(),
            threshold_ms: ms as u64,
            selector: ::flags::rollout::parse_selector(selector)
                .with_context(|| format!("SLO `{latency_slo}`'s selector"))?,
            margin_ppm: latency_margin,
        })
    };
    Ok(Guard {
        min_requests,
        errors,
        latency,
    })
}

fn pct(bad: u64, n: u64) -> String {
    if n == 0 {
        "-".to_owned()
    } else {
        format!("{:.3}%", bad as f64 * 100.0 / n as f64)
    }
}

pub fn run(store: &mut Store, command: RolloutCommand) -> Result<()> {
    let services = app::Services::new();
    let access = |store: &mut Store, who: &Who| who.access(&services, store);
    let mut out = std::io::stdout().lock();
    match command {
        RolloutCommand::Plan {
            flag,
            steps,
            hold,
            error_margin,
            latency_margin,
            min_requests,
            slo,
            error_slo,
            latency_slo,
            reason,
            who,
        } => {
            let plan = Plan {
                steps,
                hold_ms: hold,
                guard: guard(
                    &slo,
                    &error_slo,
                    &latency_slo,
                    error_margin,
                    latency_margin,
                    min_requests,
                )?,
            };
            let a = access(store, &who)?;
            let revision = services
                .set_rollout_plan(store, actor(&a), &flag, &plan, &reason, now())
                .with_context(|| format!("flag `{flag}`'s rollout is unchanged"))?;
            writeln!(
                out,
                "rollout of `{flag}` started at {}% (revision {revision})",
                plan.steps.first().copied().unwrap_or(0)
            )?;
        }
        RolloutCommand::Status { who } => {
            let a = access(store, &who)?;
            let all = services.rollout_status(store, actor(&a), now())?;
            if all.is_empty() {
                writeln!(out, "no rollout plans")?;
            }
            for s in all {
                let r = &s.rollout;
                let steps: Vec<String> = r.plan.steps.iter().map(|p| format!("{p}%")).collect();
                writeln!(
                    out,
                    "{}  {}  step {}/{} ({}%)  steps {}  hold {} ms  since {}  min {} requests",
                    r.flag,
                    r.state.phase.as_str(),
                    r.state.step + 1,
                    r.plan.steps.len(),
                    r.percent,
                    steps.join(" -> "),
                    r.plan.hold_ms,
                    r.state.step_started_at,
                    r.plan.guard.min_requests
                )?;
                writeln!(
                    out,
                    "  {:<8} {:>10} {:>10} {:>10} {:>10} {:>10}",
                    "cohort", "requests", "errors", "error%", "slow", "slow%"
                )?;
                for (name, c) in [("on", &s.figures.on), ("off", &s.figures.off)] {
                    writeln!(
                        out,
                        "  {:<8} {:>10} {:>10} {:>10} {:>10} {:>10}",
                        name,
                        c.requests,
                        c.errors,
                        pct(c.errors, c.requests),
                        c.slow,
                        pct(c.slow, c.latency_requests)
                    )?;
                }
                for c in &s.comparisons {
                    let verdict = match (c.judged, c.worse) {
                        (false, _) => "not judged yet",
                        (true, false) => "within the margin",
                        (true, true) => "WORSE than the margin",
                    };
                    writeln!(out, "  {c}: {verdict}")?;
                }
            }
        }
        RolloutCommand::Pause { flag, reason, who } => {
            let a = access(store, &who)?;
            let r = services.pause_rollout(store, actor(&a), &flag, &reason, now())?;
            writeln!(out, "rollout of `{flag}` paused at {}%", r.percent)?;
        }
        RolloutCommand::Resume { flag, reason, who } => {
            let a = access(store, &who)?;
            let r = services.resume_rollout(store, actor(&a), &flag, &reason, now())?;
            writeln!(out, "rollout of `{flag}` resumed at {}%", r.percent)?;
        }
        RolloutCommand::Abort { flag, reason, who } => {
            let a = access(store, &who)?;
            services.abort_rollout(store, actor(&a), &flag, &reason, now())?;
            writeln!(out, "rollout of `{flag}` aborted; the flag is at 0%")?;
        }
        RolloutCommand::History { flag, limit, who } => {
            let a = access(store, &who)?;
            let events =
                services.rollout_history(store, actor(&a), flag.as_deref(), limit, now())?;
            if events.is_empty() {
                writeln!(out, "no changes")?;
            }
            for e in events {
                writeln!(
                    out,
                    "{} `{}` {} by {} -> {} step {} ({}%): {}",
                    e.at,
                    e.flag,
                    e.action,
                    e.by,
                    e.phase,
                    e.step + 1,
                    e.percent,
                    e.reason
                )?;
                if let Some(f) = e.figures {
                    writeln!(out, "  figures: {f}")?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_points_parse() {
        assert_eq!(duration_ms("10m"), Ok(600_000));
        assert_eq!(duration_ms("500ms"), Ok(500));
        assert_eq!(duration_ms("2h"), Ok(7_200_000));
        assert!(duration_ms("10").is_err());
        assert!(duration_ms("m").is_err());
        assert_eq!(points_ppm("0.5"), Ok(5_000));
        assert_eq!(points_ppm("1"), Ok(10_000));
        assert_eq!(points_ppm("0.0001"), Ok(1));
        assert_eq!(points_ppm("100"), Ok(1_000_000));
        assert!(points_ppm("100.5").is_err());
        assert!(points_ppm("0.00001").is_err());
        assert!(points_ppm("x").is_err());
    }
}
