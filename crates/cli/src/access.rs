//! `hireplane policy ...` and `hireplane audit`: an org's access policy (validate, set, show,
//! decide, matrix) and its audit log.

use crate::report::{Format, pick_org};
use anyhow::{Context, Result, bail};
use query_compiler::Value;
use std::io::Write;
use std::path::PathBuf;
use store::{AuditOutcome, AuditQuery, Store};

#[derive(clap::Subcommand, Debug)]
pub enum PolicyCommand {
    /// Check a Cedar policy file for an org without storing it: strict validation against the
    /// schema, the org boundary, and that every role's row filters can be built from it
    Validate {
        /// The policy file
        file: PathBuf,
        /// The org it is for (default: the only org in the store)
        #[arg(long = "org", value_name = "ID")]
        org: Option<String>,
    },
    /// Replace an org's policies with a file (validated first; stored as a new version;
    /// recorded in the audit log)
    Set {
        /// The policy file
        file: PathBuf,
        /// The org (default: the only org in the store)
        #[arg(long = "org", value_name = "ID")]
        org: Option<String>,
        /// Who sets it (recorded with the version)
        #[arg(long, value_name = "USER_ID")]
        by: Option<String>,
    },
    /// Return an org to the shipped default policy (a new version; the history keeps its own
    /// files; recorded in the audit log)
    Reset {
        /// The org (default: the only org in the store)
        #[arg(long = "org", value_name = "ID")]
        org: Option<String>,
        /// Who resets it (recorded with the version)
        #[arg(long, value_name = "USER_ID")]
        by: Option<String>,
    },
    /// Print the policies in force for an org: its own latest version, or the shipped default
    Show {
        /// The org (default: the only org in the store)
        #[arg(long = "org", value_name = "ID")]
        org: Option<String>,
    },
    /// Print the Cedar schema policies are written against
    Schema,
    /// Print the access matrix of the policies in force for an org: per role and situation
    /// (on a job's hiring team, interviewing on its application, neither), each entity and
    /// action, whether the policies allow it (rendered from their decisions)
    Matrix {
        /// The org (default: the only org in the store)
        #[arg(long = "org", value_name = "ID")]
        org: Option<String>,
    },
    /// One decision: may a user do ACTION on an entity? Prints the deciding policies
    Decide {
        /// The action: view, edit, viewCompensation, viewContactDetails,
        /// viewSensitiveCustomFields, viewDetails, viewStageHistory, viewDemographicsAggregate,
        /// viewQueryPlan, manageHiringTeam
        action: String,
        /// The entity type (Application, Candidate, Job, Offer, ...)
        #[arg(value_name = "TYPE")]
        resource_type: String,
        /// The entity's id
        #[arg(value_name = "ID")]
        resource_id: String,
        /// The user who asks
        #[arg(long = "as", env = "HIREPLANE_AS", value_name = "USER_ID")]
        as_user: String,
        /// The org (default: the only org in the store)
        #[arg(long = "org", value_name = "ID")]
        org: Option<String>,
    },
}

pub fn policy(store: &mut Store, command: PolicyCommand) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        PolicyCommand::Validate { file, org } => {
            let org = pick_org(store, org)?;
            let text = read(&file)?;
            let policies = app::check_policy(&org, &text, &file.display().to_string())?;
            let own = policies.ids().len().saturating_sub(2);
            writeln!(
                out,
                "`{}` is valid for org `{org}`: {own} {}, plus the org boundary ({})",
                file.display(),
                if own == 1 { "policy" } else { "policies" },
                policies
                    .ids()
                    .iter()
                    .take(2)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        PolicyCommand::Set { file, org, by } => {
            let org = pick_org(store, org)?;
            let text = read(&file)?;
            let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
            let version = app::Services::new()
                .set_policy(
                    store,
                    &org,
                    &text,
                    &file.display().to_string(),
                    by.as_deref(),
                    now,
                )
                .with_context(|| format!("the policies of org `{org}` are unchanged"))?;
            writeln!(
                out,
                "org `{org}` now uses `{}` (policy version {version}, sha256 {})",
                file.display(),
                app::policy_changes::policy_hash(&text)
            )?;
        }
        PolicyCommand::Reset { org, by } => {
            let org = pick_org(store, org)?;
            let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
            let version = app::Services::new()
                .reset_policy(store, &org, by.as_deref(), now)
                .with_context(|| format!("the policies of org `{org}` are unchanged"))?;
            writeln!(
                out,
                "org `{org}` now uses the shipped default policy (policy version {version})"
            )?;
        }
        PolicyCommand::Show { org } => {
            let org = pick_org(store, org)?;
            match store.org_policy(&org)? {
                Some(p) if p.is_shipped_default() => {
                    writeln!(
                        out,
                        "// org `{org}` uses the shipped default policy (reset at v{} {}{})",
                        p.version,
                        p.set_at,
                        p.set_by.map(|b| format!(" by {b}")).unwrap_or_default()
                    )?;
                    out.write_all(policy::DEFAULT_POLICY.as_bytes())?;
                }
                Some(p) => {
                    writeln!(
                        out,
                        "// org `{org}` policy v{} set {}{}",
                        p.version,
                        p.set_at,
                        p.set_by.map(|b| format!(" by {b}")).unwrap_or_default()
                    )?;
                    out.write_all(p.text.as_bytes())?;
                }
                None => {
                    writeln!(out, "// org `{org}` uses the shipped default policy")?;
                    out.write_all(policy::DEFAULT_POLICY.as_bytes())?;
                }
            }
        }
        PolicyCommand::Schema => out.write_all(policy::SCHEMA.as_bytes())?,
        PolicyCommand::Matrix { org } => {
            let org = pick_org(store, org)?;
            let policies = app::Services::new().policies(store, &org)?;
            writeln!(
                out,
                "Access matrix of org `{org}` ({})\n",
                policies.source()
            )?;
            out.write_all(policy::matrix::render(&policies)?.as_bytes())?;
        }
        PolicyCommand::Decide {
            action,
            resource_type,
            resource_id,
            as_user,
            org,
        } => {
            let Some(action) = policy::Action::parse(&action) else {
                let names: Vec<&str> = policy::Action::ALL.iter().map(|a| a.name()).collect();
                bail!(
                    "unknown action `{action}`; expected one of {}",
                    names.join(", ")
                );
            };
            let org = pick_org(store, org)?;
            let services = app::Services::new();
            let access = services.access(store, &org, &as_user)?;
            let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
            let request = app::Request {
                action,
                resource_type: &resource_type,
                resource_id: &resource_id,
            };
            let decision = services.decide_entity(store, &access, request, now)?;
            let by = if decision.policies.is_empty() {
                "no policy permits it".to_owned()
            } else {
                format!("policies: {}", decision.policies.join(", "))
            };
            writeln!(
                out,
                "{}: `{as_user}` ({}) {action} {resource_type} `{resource_id}` ({by})",
                if decision.allowed {
                    "allowed"
                } else {
                    "denied"
                },
                access.viewer.role
            )?;
            for e in &decision.errors {
                writeln!(out, "  not evaluated: {e}")?;
            }
            if !decision.allowed {
                return Err(Denied.into());
            }
        }
    }
    Ok(())
}

/// `policy decide` said "denied": the command exits with status 1 (as `grep` does when nothing
/// matches), having printed the decision; not an error to report.
#[derive(Debug)]
pub struct Denied;

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("denied")
    }
}

impl std::error::Error for Denied {}

fn read(file: &PathBuf) -> Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("cannot read `{}`", file.display()))
}

/// Shows (and changes) an org's settings of reports over demographics as `user`.
pub fn privacy(
    store: &mut Store,
    org: Option<String>,
    user: &str,
    change: app::PrivacyChange,
) -> Result<()> {
    let org = pick_org(store, org)?;
    let services = app::Services::new();
    let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
    let access = services
        .access(store, &org, user)
        .with_context(|| format!("cannot act as `{user}` in org `{org}`"))?;
    let settings = services
        .set_privacy_settings(store, &access, change, now)
        .with_context(|| format!("cannot change the privacy settings of org `{org}`"))?;
    println!(
        "threshold {}\nnoise {} (variance {:.2})\ndaily budget {}",
        settings.threshold,
        settings.table.text(),
        settings.table.variance(),
        settings.daily_budget
    );
    Ok(())
}

pub fn audit(
    store: &mut Store,
    org: Option<String>,
    limit: usize,
    actor: Option<String>,
    denied: bool,
    format: Format,
) -> Result<()> {
    if limit == 0 {
        bail!("--limit must be at least 1");
    }
    let org = pick_org(store, org)?;
    let query = AuditQuery {
        limit,
        actor,
        outcome: denied.then_some(AuditOutcome::Denied),
        since: None,
    };
    let entries = store
        .audit(&org, &query)
        .with_context(|| format!("cannot read the audit log of org `{org}`"))?;
    let columns: Vec<query_compiler::Column> = [
        "seq", "at", "actor", "action", "subject", "outcome", "policies", "query", "detail",
    ]
    .iter()
    .map(|n| query_compiler::Column {
        name: (*n).to_owned(),
        kind: if *n == "seq" {
            query_compiler::ValueKind::Integer
        } else {
            query_compiler::ValueKind::Text
        },
    })
    .collect();
    let text = |s: &str| Value::Text(s.to_owned());
    let rows: Vec<Vec<Value>> = entries
        .iter()
        .map(|(seq, e)| {
            vec![
                Value::Integer(*seq),
                text(&e.at.to_string()),
                text(&e.actor),
                text(&e.action),
                text(&e.subject),
                text(e.outcome.as_str()),
                text(&e.policies.join(" ")),
                e.query_hash.as_deref().map(text).unwrap_or(Value::Null),
                e.detail.as_deref().map(text).unwrap_or(Value::Null),
            ]
        })
        .collect();
    crate::report::print(&store::ReportRows { columns, rows }, format)?;
    Ok(())
}
