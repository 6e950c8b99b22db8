//! `hireplane flags`: the installation's feature flags (Unleash definitions; docs/flags.md).
//! Without `--as` the command acts as the operator (whoever holds the database, recorded as
//! `cli`); with `--as USER` it acts as that user, who must be an admin allowed `edit` on their
//! org. `evaluate` always evaluates for a user.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use app::flags::{Deployment, FlagsActor};
use store::Store;

use crate::report::pick_org;

#[derive(clap::Subcommand)]
pub enum FlagsCommand {
    /// List the flags: name, on or off, strategies, version and last change
    List {
        #[command(flatten)]
        who: Who,
    },
    /// Print a flag's definition (Unleash's feature JSON, as set)
    Show {
        name: String,
        #[command(flatten)]
        who: Who,
    },
    /// Set a flag from its definition (Unleash's feature JSON; `-` reads standard input),
    /// checked first; recorded in the history with the reason
    Set {
        name: String,
        file: PathBuf,
        /// Why (kept in the history)
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        who: Who,
    },
    /// Remove a flag (recorded in the history with the reason)
    Remove {
        name: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        who: Who,
    },
    /// The history of a flag (or of all), newest first: who, when, why, before and after
    History {
        name: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Print each change's definitions before and after
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        who: Who,
    },
    /// Evaluate the flags (or one) for a user: their org, id and role
    Evaluate {
        /// Only this flag
        name: Option<String>,
        /// The user to evaluate for
        #[arg(long = "as", env = "HIREPLANE_AS", value_name = "USER_ID")]
        as_user: String,
        /// The user's org (default: the only org in the store)
        #[arg(long = "org", value_name = "ID")]
        org: Option<String>,
        /// The environment the context carries
        #[arg(long)]
        environment: Option<String>,
    },
    /// Import Unleash's features document (`{"features": [...], "segments": [...]}`), all or
    /// nothing; flags it does not name stay
    Import {
        file: PathBuf,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        who: Who,
    },
    /// Print the flags as Unleash's features document
    Export {
        #[command(flatten)]
        who: Who,
    },
}

/// Who acts: the operator, or a user (an admin) of an org.
#[derive(clap::Args)]
pub(crate) struct Who {
    /// Act as this user (an admin); without it, as the operator
    #[arg(long = "as", value_name = "USER_ID")]
    as_user: Option<String>,
    /// The user's org (default: the only org in the store)
    #[arg(long = "org", value_name = "ID", requires = "as_user")]
    org: Option<String>,
}

impl Who {
    /// The user who acts, or None for the operator.
    pub(crate) fn access(
        &self,
        services: &app::Services,
        store: &mut Store,
    ) -> Result<Option<app::Access>> {
        match &self.as_user {
            None => Ok(None),
            Some(user) => {
                let org = pick_org(store, self.org.clone())?;
                Ok(Some(services.access(store, &org, user)?))
            }
        }
    }
}

pub(crate) fn actor(a: &Option<app::Access>) -> FlagsActor<'_> {
    match a {
        // The CLI runs with the database's own credentials, as the installation's operator:
        // `--as` names the user (an admin, allowed `edit` on their org) who acts, whatever
        // org it is in.
        Some(a) => FlagsActor::User(a, Some(a.viewer.org.as_str())),
        None => FlagsActor::Operator,
    }
}

pub(crate) fn now() -> domain::Instant {
    domain::Instant::from_timestamp(jiff::Timestamp::now())
}

fn read(file: &PathBuf) -> Result<(String, String)> {
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        return Ok((text, "-".to_owned()));
    }
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read `{}`", file.display()))?;
    Ok((text, file.display().to_string()))
}

pub fn run(store: &mut Store, command: FlagsCommand) -> Result<()> {
    let services = app::Services::new();
    let access = |store: &mut Store, who: &Who| -> Result<Option<app::Access>> {
        match &who.as_user {
            None => Ok(None),
            Some(user) => {
                let org = pick_org(store, who.org.clone())?;
                Ok(Some(services.access(store, &org, user)?))
            }
        }
    };
    let mut out = std::io::stdout().lock();
    match command {
        FlagsCommand::List { who } => {
            let a = access(store, &who)?;
            let rows = services.list_flags(store, actor(&a), now())?;
            if rows.is_empty() {
                writeln!(out, "no flags")?;
            }
            for r in rows {
                let v: serde_json::Value = serde_json::from_str(&r.definition).unwrap_or_default();
                let state = match v.get("enabled").and_then(serde_json::Value::as_bool) {
                    Some(true) => "on ",
                    Some(false) => "off",
                    None => "-  ",
                };
                let strategies: Vec<&str> = v
                    .get("strategies")
                    .and_then(serde_json::Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.get("name").and_then(serde_json::Value::as_str))
                    .collect();
                writeln!(
                    out,
                    "{:<8} {:<40} {state} [{}]  v{} {} by {}",
                    r.kind.as_str(),
                    r.name,
                    strategies.join(", "),
                    r.version,
                    r.updated_at,
                    r.updated_by
                )?;
            }
        }
        FlagsCommand::Show { name, who } => {
            let a = access(store, &who)?;
            let r = services.show_flag(store, actor(&a), &name, now())?;
            let v: serde_json::Value = serde_json::from_str(&r.definition)
                .with_context(|| format!("stored flag `{name}` is not JSON"))?;
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        }
        FlagsCommand::Set {
            name,
            file,
            reason,
            who,
        } => {
            let a = access(store, &who)?;
            let (text, origin) = read(&file)?;
            let version = services
                .set_flag(store, actor(&a), &name, &text, &origin, &reason, now())
                .with_context(|| format!("flag `{name}` is unchanged"))?;
            match version {
                Some(v) => writeln!(out, "flag `{name}` set (version {v})")?,
                None => writeln!(out, "flag `{name}` already has this definition")?,
            }
        }
        FlagsCommand::Remove { name, reason, who } => {
            let a = access(store, &who)?;
            let v = services.remove_flag(store, actor(&a), &name, &reason, now())?;
            writeln!(out, "flag `{name}` removed (version {v})")?;
        }
        FlagsCommand::History {
            name,
            limit,
            full,
            who,
        } => {
            let a = access(store, &who)?;
            let changes = services.flag_history(store, actor(&a), name.as_deref(), limit, now())?;
            if changes.is_empty() {
                writeln!(out, "no changes")?;
            }
            for c in changes {
                let what = match (&c.before, &c.after) {
                    (None, _) => "created",
                    (_, None) => "removed",
                    _ => "changed",
                };
                writeln!(
                    out,
                    "v{} {} {} `{}` {what} by {}: {}",
                    c.version,
                    c.changed_at,
                    c.kind.as_str(),
                    c.name,
                    c.changed_by,
                    c.reason
                )?;
                if full {
                    writeln!(out, "  before: {}", c.before.as_deref().unwrap_or("-"))?;
                    writeln!(out, "  after:  {}", c.after.as_deref().unwrap_or("-"))?;
                }
            }
        }
        FlagsCommand::Evaluate {
            name,
            as_user,
            org,
            environment,
        } => {
            let org = pick_org(store, org)?;
            let a = services.access(store, &org, &as_user)?;
            let loaded = services.load_flags(store)?;
            let deployment = Deployment {
                replica_version: env!("CARGO_PKG_VERSION").to_owned(),
                environment,
                operator_org: None,
                canary: false,
            };
            let mut found = false;
            for f in services.evaluate_flags(&loaded.flags, &a, &deployment, now()) {
                if name.as_ref().is_some_and(|n| *n != f.name) {
                    continue;
                }
                found = true;
                let payload = f
                    .variant
                    .payload
                    .map(|p| format!(" ({} {})", p.kind, p.value))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{:<40} {} variant {}{payload}",
                    f.name,
                    if f.enabled { "on " } else { "off" },
                    f.variant.name
                )?;
            }
            if let Some(n) = name
                && !found
            {
                anyhow::bail!("no flag `{n}`");
            }
        }
        FlagsCommand::Import { file, reason, who } => {
            let a = access(store, &who)?;
            let (text, origin) = read(&file)?;
            let versions = services
                .import_flags(store, actor(&a), &text, &origin, &reason, now())
                .with_context(|| format!("nothing of `{origin}` was imported"))?;
            writeln!(
                out,
                "imported `{origin}`: {} {}",
                versions.len(),
                if versions.len() == 1 {
                    "change"
                } else {
                    "changes"
                }
            )?;
        }
        FlagsCommand::Export { who } => {
            let a = access(store, &who)?;
            let doc = services.export_flags(store, actor(&a), now())?;
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
    }
    Ok(())
}
