//! `hireplane rule`: an org's automation rules (docs/automation.md), `--as` an admin:
//! `save FILE` (new, or `--id` and `--version` for a new version), `list`, `show ID` (with
//! every version), `delete ID`, `runs` (what the rules did lately) and `dry-run EVENT_ID`
//! (which rules the event triggers and why; `--definition FILE` tries a rule not saved yet).
//! A thin edge over `app::automation`, the same functions as the API's; a refusal prints the
//! API's message. Output is JSON, one object per line.

use std::io::Write as _;

use anyhow::{Context, Result};
use domain::Instant;
use serde_json::json;
use store::Store;
use store::automation::StoredRule;

use crate::hiring::{Caller, refused};

#[derive(clap::Subcommand, Debug)]
pub enum RuleCommand {
    /// Save a rule from its JSON file: a new rule, or with --id a new version of one
    Save {
        #[command(flatten)]
        caller: Caller,
        /// The rule's JSON document (`-`: standard input)
        file: String,
        /// The rule to change (default: a new rule)
        #[arg(long, value_name = "RULE_ID")]
        id: Option<String>,
        /// With --id: the version you read (refused if the rule changed since)
        #[arg(long, value_name = "N", requires = "id")]
        version: Option<i64>,
        /// Why (kept in the rule's history)
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// List the org's rules
    List {
        #[command(flatten)]
        caller: Caller,
        /// Also deleted rules
        #[arg(long)]
        deleted: bool,
    },
    /// Show a rule and every version of it
    Show {
        #[command(flatten)]
        caller: Caller,
        id: String,
    },
    /// Delete a rule (it triggers nothing more; its history stays)
    Delete {
        #[command(flatten)]
        caller: Caller,
        id: String,
        /// Why (kept in the rule's history)
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// What the rules did with recent events, newest first
    Runs {
        #[command(flatten)]
        caller: Caller,
        /// Only this rule's
        #[arg(long, value_name = "RULE_ID")]
        rule: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Which rules an event would trigger, and why, without doing anything
    DryRun {
        #[command(flatten)]
        caller: Caller,
        /// The event's id (`hireplane events tail` shows them)
        event: String,
        /// Try this rule (a JSON file) instead of the saved ones
        #[arg(long, value_name = "FILE")]
        definition: Option<String>,
    },
}

fn rule_json(r: &StoredRule) -> serde_json::Value {
    json!({
        "id": r.id,
        "version": r.version,
        "name": r.name,
        "when": r.event_type,
        "enabled": r.enabled,
        "deleted": r.deleted,
        "owner": r.owner_user_id,
        "updatedAt": r.updated_at.to_string(),
        "updatedBy": r.updated_by,
        "definition": serde_json::from_str::<serde_json::Value>(&r.definition)
            .unwrap_or(serde_json::Value::Null),
    })
}

fn read(file: &str) -> Result<String> {
    if file == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("cannot read the rule from standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(file).with_context(|| format!("cannot read `{file}`"))
}

pub fn run(store: &mut Store, command: RuleCommand) -> Result<()> {
    let caller = match &command {
        RuleCommand::Save { caller, .. }
        | RuleCommand::List { caller, .. }
        | RuleCommand::Show { caller, .. }
        | RuleCommand::Delete { caller, .. }
        | RuleCommand::Runs { caller, .. }
        | RuleCommand::DryRun { caller, .. } => caller,
    };
    let org = crate::report::pick_org(store, caller.org.clone())?;
    let services = app::Services::new();
    let access = services
        .access(store, &org, &caller.as_user)
        .with_context(|| format!("cannot run the command as `{}`", caller.as_user))?;
    let at = Instant::from_timestamp(jiff::Timestamp::now());
    let mut lines = Vec::new();
    match &command {
        RuleCommand::Save {
            file,
            id,
            version,
            reason,
            ..
        } => {
            let input = app::automation::SaveRule {
                id: id.clone(),
                expected_version: *version,
                definition: read(file)?,
                reason: reason.clone(),
                token: None,
            };
            let saved = services
                .save_rule(store, &access, input, at)
                .map_err(refused)?;
            lines.push(rule_json(&saved));
        }
        RuleCommand::List { deleted, .. } => {
            for r in services
                .automation_rules(store, &access, *deleted, at)
                .map_err(refused)?
            {
                lines.push(rule_json(&r));
            }
        }
        RuleCommand::Show { id, .. } => {
            let (rule, versions) = services
                .automation_rule(store, &access, id, at)
                .map_err(refused)?;
            let mut out = rule_json(&rule);
            out["versions"] = versions
                .iter()
                .map(|v| {
                    json!({
                        "version": v.version,
                        "enabled": v.enabled,
                        "deleted": v.deleted,
                        "owner": v.owner_user_id,
                        "changedAt": v.changed_at.to_string(),
                        "changedBy": v.changed_by,
                        "reason": v.reason,
                        "definition": serde_json::from_str::<serde_json::Value>(&v.definition)
                            .unwrap_or(serde_json::Value::Null),
                    })
                })
                .collect();
            lines.push(out);
        }
        RuleCommand::Delete { id, reason, .. } => {
            let deleted = services
                .delete_rule(store, &access, id, None, reason, at)
                .map_err(refused)?;
            lines.push(rule_json(&deleted));
        }
        RuleCommand::Runs { rule, limit, .. } => {
            for r in services
                .automation_runs(store, &access, rule.as_deref(), *limit, at)
                .map_err(refused)?
            {
                lines.push(json!({
                    "rule": r.rule_id,
                    "ruleVersion": r.rule_version,
                    "event": r.event_id,
                    "seq": r.seq,
                    "subject": r.subject,
                    "outcome": r.outcome,
                    "detail": r.detail,
                    "at": r.at.to_string(),
                }));
            }
        }
        RuleCommand::DryRun {
            event, definition, ..
        } => {
            let text = definition.as_deref().map(read).transpose()?;
            for d in services
                .dry_run(store, &access, event, text.as_deref(), at)
                .map_err(refused)?
            {
                lines.push(json!({
                    "rule": d.rule_id,
                    "name": d.rule_name,
                    "version": d.rule_version,
                    "fires": d.fires,
                    "why": d.why,
                    "due": d.due.map(|t| t.to_string()),
                    "actions": d.actions,
                }));
            }
        }
    }
    let mut out = std::io::stdout().lock();
    for line in lines {
        out.write_all(format!("{line}\n").as_bytes())?;
    }
    Ok(())
}

#[derive(clap::Subcommand, Debug)]
pub enum WorkflowCommand {
    /// The workflow engine now: jobs by state, automation dispatch behind, and each external
    /// destination's circuit breaker as each replica last reported it (the operator's view,
    /// with the database's credentials)
    Status,
}

/// `hireplane workflow status`.
pub fn workflow(store: &mut Store, command: WorkflowCommand) -> Result<()> {
    let WorkflowCommand::Status = command;
    let mut out = String::new();
    let counts = store.job_counts(None).context("reading the job counts")?;
    out.push_str("jobs:");
    for (state, n) in &counts {
        out.push_str(&format!(" {} {n}", state.as_str()));
    }
    out.push('\n');
    let behind = store
        .automation_backlog()
        .context("reading the automation backlog")?;
    let events: i64 = behind.iter().map(|b| b.head - b.cursor).sum();
    out.push_str(&format!(
        "automation: {events} event(s) not yet dispatched, in {} org(s)\n",
        behind.len()
    ));
    let destinations = store
        .destination_statuses()
        .context("reading the destinations' status")?;
    if destinations.is_empty() {
        out.push_str("destinations: none called yet\n");
    } else {
        out.push_str("destinations (breaker state as each replica last wrote it):\n");
        for d in destinations {
            let r = &d.report;
            let rate = r
                .failure_rate
                .map(|f| format!("{:.0}%", f * 100.0))
                .unwrap_or_else(|| "-".to_owned());
            out.push_str(&format!(
                "  {}  {}  failures {rate} of {} in window, {} attempts, {} failed, {} refused, {} in flight{}  (replica {}, {})\n",
                r.destination,
                r.state.as_str(),
                r.window_calls,
                r.attempts,
                r.failures,
                r.rejected,
                r.in_flight,
                r.last_error
                    .as_deref()
                    .map(|e| format!(", last error: {e}"))
                    .unwrap_or_default(),
                d.replica_id,
                d.updated_at,
            ));
        }
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}
