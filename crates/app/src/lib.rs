//! hireplane's use cases, combining the store, the report compiler and the policy engine: what
//! the CLI and the server call.
//!
//! - [`Services::access`]: who a user is to the policy engine (role, active) and the org's
//!   policies in force (its own file's latest version, or the shipped default).
//! - [`Services::run_report`]: a report as a viewer: compiled with the viewer's row filters and
//!   masks, run, and audited (each restricted field group read, each denial).
//! - [`Services::set_policy`]: validate an org's policy file and store it as a new version.
//! - [`Services::decide`]: one decision for the API, audited when denied.
//! - [`Services::query_plan`]: the database's plan of a report, for whom the policy grants
//!   `viewQueryPlan` (admins by default).
//! - [`Services::authorize_command`]: the one authorization path of every command (mutation,
//!   scheduling call): every entity it touches, with the facts of what they reference
//!   ([`commands`]).
//! - [`hiring`]: the hiring workflow's commands (`createCandidate` ... `bookInterviewLoop`):
//!   input checks, that authorization, one store transaction, the id to read back; the API's
//!   mutations and the CLI's commands call them, and [`AppError::refusal`] is what both show.
//!
//! - [`sessions`]: the web console's sign-in (sessions by API token, password or one-time
//!   code; invitations to choose a password; Argon2id hashes).
//! - [`jobs`]: what runs a durable job (handlers by kind, the outcome's retry or dead letter) and
//!   the operators' use cases on the queue.
//!
//! Invariant: no report runs without a viewer; nothing here talks to a database except through
//! `store`.

pub mod api_names;
pub mod audit_log;
pub mod automation;
pub mod commands;
pub mod demographics;
pub mod events;
pub mod flags;
pub mod hiring;
pub mod jobs;
pub mod policy_changes;
pub mod rollouts;
pub mod scheduling;
pub mod sessions;
pub mod tokens;

pub use commands::Command;
use policy::{Action, GuardCache, Policies, PolicyError, PolicySource, Viewer, ViewerGuard};
use query_compiler::catalog::FieldGroup;
use query_compiler::{Compiled, EntityId, GuardKind};
use sha2::Digest;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use store::{AuditEvent, AuditOutcome, ReportRows, Store, StoreError, UserAccess};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("org `{org}` has no user `{user}`{hint}")]
    NoSuchUser {
        org: String,
        user: String,
        hint: String,
    },
    #[error("org `{org}`'s policy v{version} is no longer valid: {source}")]
    StoredPolicy {
        org: String,
        version: i64,
        source: Box<PolicyError>,
    },
    #[error(transparent)]
    Policy(Box<PolicyError>),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The report does not compile (the diagnostic carries the span).
    #[error("{0}")]
    Report(Box<query_syntax::Diagnostic>),
    #[error("org `{org}` has no {ty} `{id}`")]
    NoSuchEntity { org: String, ty: String, id: String },
    /// An id given in the input `field` names nothing the caller may see: nothing of the org,
    /// or something hidden from the caller (told apart by nothing).
    #[error("`{field}`: org `{org}` has no {ty} `{id}`")]
    NoSuchInput {
        org: String,
        field: String,
        ty: String,
        id: String,
    },
    /// The caller may see the thing but not do this to it.
    #[error("`{user}` may not `{action}` {subject}")]
    Forbidden {
        user: String,
        action: String,
        subject: String,
    },
    #[error("user `{user}` of org `{org}` is not active")]
    InactiveUser { org: String, user: String },
    #[error("cannot draw random bytes from the operating system: {0}")]
    Random(String),
    #[error("user `{user}` may not run reports over demographics: {why}")]
    Demographics { user: String, why: String },
    #[error(
        "user `{user}` has run {budget} reports over demographics in the last 24 hours, the org's daily budget; try again later or ask an admin to raise `daily_budget`"
    )]
    DemographicsBudget { user: String, budget: i64 },
    /// A privacy setting that cannot be stored.
    #[error("{0}")]
    PrivacySetting(String),
    #[error(
        "the policy file `{origin}` is empty; `hireplane policy reset` returns an org to the shipped default"
    )]
    EmptyPolicy { origin: String },
    /// A command's input breaks a rule: `field` is its path in the input's names
    /// (`terms.salaryCurrency`, `scores["coding"]`), and the message names it too. Nothing was
    /// written.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// A command's input is well formed but conflicts with the stored state (an application no
    /// longer active, an offer already resolved). Nothing was written.
    #[error("{message}")]
    Conflict { field: String, message: String },
    /// An id in the input `field` names nothing of the org (the store's word; what exists but
    /// is hidden from the caller is [`AppError::NoSuchInput`] or [`AppError::NoSuchEntity`],
    /// told apart from this by nothing the caller sees). Nothing was written.
    #[error("{message}")]
    NotFound { field: String, message: String },
    #[error(transparent)]
    Flags(Box<crate::flags::FlagError>),
}

impl AppError {
    /// A refusal of the input `field` (in the input's names) with `message`, which names it.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> AppError {
        AppError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A store command's refusal as the command's: its field in the input's names
/// ([`api_names::api_path`]), so that every edge says the same.
impl From<store::WriteError> for AppError {
    fn from(e: store::WriteError) -> AppError {
        let message = api_names::api_message(&e);
        match e {
            store::WriteError::Store(e) => AppError::Store(e),
            store::WriteError::NotFound { field, .. } => AppError::NotFound {
                field: api_names::api_path(&field),
                message,
            },
            store::WriteError::Invalid { field, .. } => AppError::Invalid {
                field: api_names::api_path(&field),
                message,
            },
            store::WriteError::Conflict { field, .. } => AppError::Conflict {
                field: api_names::api_path(&field),
                message,
            },
        }
    }
}

impl From<PolicyError> for AppError {
    fn from(e: PolicyError) -> AppError {
        AppError::Policy(Box::new(e))
    }
}

/// A user as the policy engine sees them, with the policies in force in their org.
#[derive(Debug, Clone)]
pub struct Access {
    pub user: UserAccess,
    pub viewer: Viewer,
    pub policies: Arc<Policies>,
    pub guard: Arc<ViewerGuard>,
}

/// What a single decision is about: an action on one entity.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub action: Action,
    /// The Cedar entity type (`Application`).
    pub resource_type: &'a str,
    pub resource_id: &'a str,
}

/// A report's run as a viewer.
#[derive(Debug)]
pub struct ReportRun {
    pub rows: ReportRows,
    pub compiled: Compiled,
    pub access: Access,
    /// A report over demographics: the groups withheld so that no one can be singled out
    /// (each by its coarse group keys' names and values; no keys: the whole report), decided
    /// only on what the viewer can count without demographics
    /// (`query_compiler::demographics::Publication`). Empty otherwise.
    pub withheld: Vec<Vec<(String, query_compiler::Value)>>,
    /// The audit events recorded for this run.
    pub audited: Vec<AuditEvent>,
    /// Reading the catalog and compiling (with the viewer's cached guard).
    pub compile_time: std::time::Duration,
    /// Running the statement and reading its rows.
    pub execute_time: std::time::Duration,
}

/// A change of an org's privacy settings ([`Services::set_privacy_settings`]).
#[derive(Debug, Clone, Default)]
pub struct PrivacyChange {
    pub threshold: Option<i64>,
    /// Perturbation weights, `10,20,40,20,10`.
    pub noise: Option<String>,
    pub daily_budget: Option<i64>,
    /// Draw a new secret.
    pub rotate: bool,
}

/// Caches shared by every request of a process: policies per (org, version) and guards per
/// viewer (the translated filters, so a viewer's filters are built once per policy version).
#[derive(Default)]
pub struct Services {
    policies: Mutex<HashMap<(String, PolicySource), Arc<Policies>>>,
    guards: GuardCache,
    /// Each org's report catalog (zone, custom fields, stage names) and when it was read.
    catalogs: Mutex<HashMap<String, (std::time::Instant, Arc<query_compiler::MemoryCatalog>)>>,
    /// How long a catalog is reused; zero (the default) reads it for every report.
    catalog_ttl: std::time::Duration,
    /// The API's pages compiled once per shape ([`Services::run_page_as`]).
    templates: query_compiler::Templates,
}

impl Services {
    pub fn new() -> Services {
        Services::default()
    }

    /// Services that reuse an org's catalog for `ttl` (a server: a custom field or stage name
    /// added on another replica is known here within `ttl`; this process's own changes call
    /// [`Services::forget_catalog`]).
    pub fn with_catalog_ttl(ttl: std::time::Duration) -> Services {
        Services {
            catalog_ttl: ttl,
            ..Services::default()
        }
    }

    /// The org's report catalog, from the cache while fresh.
    pub fn catalog(
        &self,
        store: &mut Store,
        org: &str,
    ) -> Result<Arc<query_compiler::MemoryCatalog>, AppError> {
        if !self.catalog_ttl.is_zero()
            && let Ok(cache) = self.catalogs.lock()
            && let Some((at, c)) = cache.get(org)
            && at.elapsed() < self.catalog_ttl
        {
            return Ok(c.clone());
        }
        let catalog = Arc::new(store.catalog(org)?);
        if !self.catalog_ttl.is_zero()
            && let Ok(mut cache) = self.catalogs.lock()
        {
            cache.insert(org.to_owned(), (std::time::Instant::now(), catalog.clone()));
        }
        Ok(catalog)
    }

    /// Drops the cached catalog of `org` (after a change of its custom fields or stages).
    pub fn forget_catalog(&self, org: &str) {
        if let Ok(mut cache) = self.catalogs.lock() {
            cache.remove(org);
        }
    }

    /// The org's policies in force: its own file's latest version, or the shipped default
    /// (never set, or reset).
    pub fn policies(&self, store: &mut Store, org: &str) -> Result<Arc<Policies>, AppError> {
        let stored = store.org_policy(org)?.filter(|p| !p.is_shipped_default());
        let source = match &stored {
            Some(p) => PolicySource::Org { version: p.version },
            None => PolicySource::Shipped,
        };
        let key = (org.to_owned(), source);
        if let Ok(cache) = self.policies.lock()
            && let Some(hit) = cache.get(&key)
        {
            return Ok(hit.clone());
        }
        let policies = match stored {
            Some(p) => Policies::from_text(
                org,
                &p.text,
                &format!("org `{org}` policy v{}", p.version),
                source,
            )
            .map_err(|e| AppError::StoredPolicy {
                org: org.to_owned(),
                version: p.version,
                source: Box::new(e),
            })?,
            None => Policies::shipped(org)?,
        };
        let policies = Arc::new(policies);
        if let Ok(mut cache) = self.policies.lock() {
            cache.insert(key, policies.clone());
        }
        Ok(policies)
    }

    /// Who `user` is in `org`, and the policies in force.
    pub fn access(&self, store: &mut Store, org: &str, user: &str) -> Result<Access, AppError> {
        let Some(found) = store.user_access(org, user)? else {
            let users = store.active_users(org).unwrap_or_default();
            let mut by_role: Vec<String> = Vec::new();
            for role in ["admin", "recruiter", "hiring_manager", "interviewer"] {
                let some: Vec<&str> = users
                    .iter()
                    .filter(|u| u.role == role)
                    .take(2)
                    .map(|u| u.id.as_str())
                    .collect();
                if !some.is_empty() {
                    by_role.push(format!("{role}: {}", some.join(", ")));
                }
            }
            let hint = if by_role.is_empty() {
                String::new()
            } else {
                format!(" (for example {})", by_role.join("; "))
            };
            return Err(AppError::NoSuchUser {
                org: org.to_owned(),
                user: user.to_owned(),
                hint,
            });
        };
        let viewer = Viewer {
            org: org.to_owned(),
            user: found.id.clone(),
            role: found.role.clone(),
            active: found.active,
        };
        let policies = self.policies(store, org)?;
        let guard = self.guards.guard(&policies, &viewer, dialect(store))?;
        Ok(Access {
            user: found,
            viewer,
            policies,
            guard,
        })
    }

    /// Compiles a report for a viewer (their filters and masks in the SQL).
    pub fn compile(
        &self,
        store: &mut Store,
        org: &str,
        access: &Access,
        report: &query_syntax::Report,
    ) -> Result<Compiled, AppError> {
        let catalog = self.catalog(store, org)?;
        query_compiler::compile_report(
            report,
            catalog.as_ref(),
            dialect(store),
            access.guard.as_ref(),
        )
        .map_err(|d| AppError::Report(Box::new(d)))
    }

    /// Runs a report as `user` and records the audit events it causes: one per restricted
    /// field group it reads (allowed, or denied when masked everywhere) and one when the
    /// subject's rows are all hidden.
    pub fn run_report(
        &self,
        store: &mut Store,
        org: &str,
        user: &str,
        report: &query_syntax::Report,
        today: jiff::civil::Date,
        at: domain::Instant,
    ) -> Result<ReportRun, AppError> {
        let access = self.access(store, org, user)?;
        self.run_report_as(store, access, report, Some(today), at)
    }

    /// A report whose text `render` writes with the literals `fills` in its holes (an API
    /// page, whose cursor is the holes), run as a viewer already known: the same statement,
    /// filters, masks and audit as [`Services::run_report_as`] of that text, compiled once per
    /// shape ([`query_compiler::template`]). A report over demographics runs through
    /// [`Services::run_report_as`] itself.
    pub fn run_page_as(
        &self,
        store: &mut Store,
        access: Access,
        render: &dyn Fn(&[query_compiler::Fill]) -> String,
        fills: &[query_compiler::Fill],
        at: domain::Instant,
    ) -> Result<ReportRun, AppError> {
        let started = std::time::Instant::now();
        let org = access.viewer.org.clone();
        let org = org.as_str();
        let catalog = self.catalog(store, org)?;
        let compiled = self
            .templates
            .compile(
                render,
                fills,
                catalog.as_ref(),
                dialect(store),
                access.guard.as_ref(),
            )
            .map_err(|d| AppError::Report(Box::new(d)))?;
        if compiled.suppression.is_some() {
            let report =
                query_syntax::parse(&render(fills)).map_err(|d| AppError::Report(Box::new(d)))?;
            return self.run_report_as(store, access, &report, None, at);
        }
        let mut audited = audit_events(&access, &compiled, at);
        if !audited.is_empty() {
            // The hash of the report as `run_report_as` hashes it; the text compiled above.
            let text = render(fills);
            let canonical = query_syntax::parse(&text)
                .map(|r| query_syntax::to_json(&r))
                .unwrap_or(text);
            let hash = query_hash(org, &canonical);
            for e in &mut audited {
                e.query_hash = Some(hash.clone());
            }
            store.record_audit(org, &audited)?;
        }
        let compile_time = started.elapsed();
        let today = today_of(&compiled, org, at)?;
        let rows = store.run_report(org, &compiled, today)?;
        let execute_time = started.elapsed() - compile_time;
        Ok(ReportRun {
            rows,
            compiled,
            access,
            withheld: Vec::new(),
            audited,
            compile_time,
            execute_time,
        })
    }

    /// [`Services::run_report`] for a viewer already known (the server's authenticated caller).
    pub fn run_report_as(
        &self,
        store: &mut Store,
        access: Access,
        report: &query_syntax::Report,
        today: Option<jiff::civil::Date>,
        at: domain::Instant,
    ) -> Result<ReportRun, AppError> {
        let started = std::time::Instant::now();
        let org = access.viewer.org.clone();
        let org = org.as_str();
        let user = access.viewer.user.clone();
        let user = user.as_str();
        let compiled = self.compile(store, org, &access, report)?;
        // The query's hash goes into audit events only: computed when there is one.
        let hash = || query_hash(org, &query_syntax::to_json(report));
        // Demographics: only for viewers allowed aggregates; the refusal is audited too.
        // A refused report over demographics, as audited.
        let denied = |detail: String| AuditEvent {
            at,
            actor: access.viewer.user.clone(),
            action: Action::ViewDemographicsAggregate.name().to_owned(),
            subject: "demographics".to_owned(),
            outcome: AuditOutcome::Denied,
            policies: Vec::new(),
            query_hash: Some(hash()),
            detail: Some(detail),
        };
        if compiled.suppression.is_some() && !access.guard.demographics_aggregates() {
            store.record_audit(org, &[denied("report refused".to_owned())])?;
            return Err(AppError::Demographics {
                user: user.to_owned(),
                why: format!(
                    "no policy in force ({}) permits `viewDemographicsAggregate` for role `{}`",
                    access.policies.source(),
                    access.viewer.role
                ),
            });
        }
        if compiled.suppression.is_some()
            && let Some(hidden) = query_compiler::demographics::partial_view(access.guard.as_ref())
                .or_else(|| query_compiler::demographics::partial_statement(&compiled))
        {
            store.record_audit(org, &[denied("report refused: a partial view".to_owned())])?;
            return Err(AppError::Demographics {
                user: user.to_owned(),
                why: format!(
                    "a report over demographics counts the whole org, and the policy in force \
                     ({}) does not show role `{}` {hidden}: groups seen in part would be \
                     compared with the same groups seen whole (docs/privacy.md)",
                    access.policies.source(),
                    access.viewer.role
                ),
            });
        }
        let mut audited = audit_events(&access, &compiled, at);
        // A report over demographics: its settings, and the user's budget before it runs.
        let privacy = match &compiled.suppression {
            Some(_) => {
                let stored = store.privacy_settings(org, &random_secret()?, at)?;
                let settings = demographics::Settings::of(&stored);
                let day_ago =
                    domain::Instant::from_micros(at.as_micros() - 86_400_000_000).unwrap_or(at);
                // The run takes its place in the budget before it runs, under the org's lock:
                // runs sent at once cannot all pass the check (red team R7).
                let this_run = store::DemographicRun {
                    user: user.to_owned(),
                    at,
                    report_hash: hash(),
                    shape_hash: query_hash(
                        org,
                        &query_syntax::to_json(&demographics::shape(report)),
                    ),
                    population: 0,
                };
                let (runs, reserved) = store.reserve_demographic_run(
                    org,
                    &this_run,
                    day_ago,
                    settings.daily_budget,
                )?;
                if !reserved {
                    let detail = format!(
                        "report refused: daily budget of {} spent",
                        settings.daily_budget
                    );
                    store.record_audit(org, &[denied(detail)])?;
                    return Err(AppError::DemographicsBudget {
                        user: user.to_owned(),
                        budget: settings.daily_budget,
                    });
                }
                Some((stored.secret, settings, runs, this_run))
            }
            None => None,
        };
        if privacy.is_none() && !audited.is_empty() {
            let hash = hash();
            for e in &mut audited {
                e.query_hash = Some(hash.clone());
            }
            store.record_audit(org, &audited)?;
        }
        let compile_time = started.elapsed();
        // Today in the report's zone (`in zone`, else the org's), unless the caller fixed it.
        let today = match today {
            Some(d) => d,
            None => today_of(&compiled, org, at)?,
        };
        // A report over demographics filtered by equalities runs as the report grouped by
        // them, whose rows with those values it publishes (`demographics::Grouped`).
        let grouped = match compiled
            .suppression
            .as_ref()
            .and_then(|s| s.grouped.as_ref())
        {
            // A grouped form the compiler refuses (a key it cannot group by): the report
            // runs filtered, under the atom rule.
            Some(g) if privacy.is_some() => match self.compile(store, org, &access, &g.report) {
                Ok(statement) if statement.suppression.is_some() => {
                    Some((g.as_ref().clone(), statement))
                }
                _ => None,
            },
            _ => None,
        };
        let statement = grouped.as_ref().map_or(&compiled, |(_, c)| c);
        let mut rows = store.run_report(org, statement, today)?;
        let execute_time = started.elapsed() - compile_time;
        let mut withheld = Vec::new();
        if let (Some(s), Some((secret, settings, runs, this_run))) =
            (&statement.suppression, privacy)
        {
            // Every count perturbed; cells under the threshold, and those that would reveal
            // them, never leave here, and neither does how many there were.
            let population: i64 = rows
                .rows
                .iter()
                .filter(|r| grouped.as_ref().is_none_or(|(g, _)| g.selects(r)))
                .map(|r| match r.get(s.candidates_column) {
                    Some(query_compiler::Value::Integer(n)) => *n,
                    _ => 0,
                })
                .sum();
            let mut spec = s.clone();
            spec.min_candidates = settings.threshold;
            // Counted as the same viewer without demographics: a filtered report's atoms
            // (without its filters: `query_compiler::demographics::tiny_atoms`), and with
            // several rows per candidate the margins of its coarse keys.
            let mut count = |report: &query_syntax::Report| -> Result<_, AppError> {
                let compiled = self.compile(store, org, &access, report)?;
                Ok(store.run_report(org, &compiled, today)?.rows)
            };
            // A filtered report's atoms are counted only where its statement gives no
            // population sketches: the check against populations published before withholds
            // whatever a filter's pair could tell (docs/privacy.md).
            if s.population {
                spec.atoms = None;
            }
            let atoms = spec.atoms.as_ref().map(|a| count(&a.report)).transpose()?;
            // The margins of the coarse keys, where the statement gives no population sketches
            // (`Suppression::margins`).
            let hidden = query_compiler::demographics::take_hidden(s, &mut rows.rows);
            let margins = s
                .margins
                .iter()
                .map(&mut count)
                .collect::<Result<Vec<_>, _>>()?;
            // Populations a few people apart from one published before, or from another
            // group of this report, are withheld (`demographics::near_groups`).
            let shown =
                |r: &[query_compiler::Value]| grouped.as_ref().is_none_or(|(g, _)| g.selects(r));
            // All the statement's groups, shown or not: a report filtered by equalities
            // withholds exactly what its grouped report does.
            let groups = demographics::groups(s, &rows.rows, &hidden.populations);
            // And the answered part of each: what only the candidates change (docs/privacy.md,
            // "Answered people").
            let answered = demographics::groups(s, &rows.rows, &hidden.answered);
            // The most groups one counted candidate of each group is in: the noise widens by
            // it. The statement leaves out candidates above `MAX_MULTIPLICITY`; a group whose
            // count is above it anyway (not returned, or not a number) is withheld.
            let mut multiplicity: std::collections::HashMap<Vec<String>, i64> =
                std::collections::HashMap::new();
            for (row, m) in rows.rows.iter().zip(&hidden.multiplicity) {
                let group = query_compiler::demographics::group_of(s, row);
                let at = multiplicity.entry(group).or_insert(1);
                *at = (*at).max(*m);
            }
            let min = i64::from(settings.threshold);
            let mut totals = demographics::totals_near(&groups, min);
            totals.extend(demographics::totals_near(&answered, min));
            totals.sort_unstable();
            totals.dedup();
            // Under the org's publication lock: what was published before, this report's
            // publication, and its populations recorded, so that two runs at once cannot
            // both publish populations a few people apart.
            let unpublished = std::mem::take(&mut rows.rows);
            let mut published = store.publish_populations(org, at, &hash(), &totals, |before| {
                use query_compiler::demographics::Population;
                // Answered parts of the same questions only (`answered|gender|...`).
                let marker = demographics::answered_marker(&s.demographic_fields);
                let answered_before: Vec<Population> = before
                    .iter()
                    .filter_map(|t| Population::parse(t.strip_prefix(marker.as_str())?))
                    .collect();
                let before: Vec<Population> =
                    before.iter().filter_map(|t| Population::parse(t)).collect();
                let mut near = demographics::near_groups(&groups, &before, min);
                near.extend(demographics::near_answered(
                    &answered,
                    &answered_before,
                    min,
                ));
                near.extend(
                    multiplicity
                        .iter()
                        .filter(|(_, m)| **m > query_compiler::demographics::MAX_MULTIPLICITY)
                        .map(|(g, _)| g.clone()),
                );
                // Each cell's noise is seeded with its group's answered people too: a new
                // draw for every cell when they change (never by 1 to 4: withheld), the
                // same draw however the population is padded around them.
                let sketches: std::collections::HashMap<&Vec<String>, String> = answered
                    .iter()
                    .filter_map(|(g, p)| Some((g, p.as_ref()?.text())))
                    .collect();
                let published = query_compiler::demographics::publish(
                    &spec,
                    unpublished,
                    atoms.as_deref(),
                    &margins,
                    &near,
                    &settings.table,
                    &|row, cell| {
                        let group = query_compiler::demographics::group_of(s, row);
                        let sketch = sketches.get(&group).map(String::as_str);
                        demographics::cell_bits(&secret, cell, sketch)
                    },
                    &|row| {
                        let group = query_compiler::demographics::group_of(s, row);
                        multiplicity.get(&group).copied().unwrap_or(1)
                    },
                );
                // What this report published is known from now on.
                let out: std::collections::HashSet<Vec<String>> = published
                    .rows
                    .iter()
                    .filter(|r| shown(r))
                    .map(|r| query_compiler::demographics::group_of(s, r))
                    .collect();
                let mut populations: Vec<(i64, String)> = groups
                    .iter()
                    .filter(|(g, _)| out.contains(g))
                    .filter_map(|(_, p)| p.as_ref().map(|p| (p.total(), p.text())))
                    .collect();
                populations.extend(
                    answered
                        .iter()
                        .filter(|(g, _)| out.contains(g))
                        .filter_map(|(_, p)| p.as_ref())
                        .filter(|p| p.total() > 0)
                        .map(|p| (p.total(), format!("{marker}{}", p.text()))),
                );
                (published, populations)
            })?;
            if let Some((g, _)) = &grouped {
                published = g.select(published);
                rows.columns = compiled.columns.clone();
            }
            rows.rows = published.rows;
            // The withheld groups by their coarse keys' names and values.
            if let Some(own) = &compiled.suppression {
                withheld = published
                    .withheld
                    .iter()
                    .map(|group| {
                        own.other_keys
                            .iter()
                            .filter_map(|k| {
                                Some((
                                    compiled.columns.get(*k)?.name.clone(),
                                    group.get(*k)?.clone(),
                                ))
                            })
                            .collect()
                    })
                    .collect();
            }
            let report_hash = this_run.report_hash.clone();
            let shape_hash = this_run.shape_hash.clone();
            store.set_demographic_run_population(
                org,
                &store::DemographicRun {
                    population,
                    ..this_run
                },
            )?;
            for e in &mut audited {
                e.query_hash = Some(report_hash.clone());
                if e.action == Action::ViewDemographicsAggregate.name() {
                    e.detail = Some(format!(
                        "report over demographics; population {population}; threshold {}; noise {}",
                        settings.threshold,
                        settings.table.text()
                    ));
                }
            }
            // Bursts of near-identical runs (same shape, other values) are an alert.
            let window = at.as_micros() - demographics::BURST_WINDOW_MINUTES * 60_000_000;
            let similar = 1 + runs
                .iter()
                .filter(|r| r.shape_hash == shape_hash && r.at.as_micros() >= window)
                .count();
            if similar >= demographics::BURST_RUNS {
                audited.push(AuditEvent {
                    at,
                    actor: access.viewer.user.clone(),
                    action: Action::ViewDemographicsAggregate.name().to_owned(),
                    subject: "demographics".to_owned(),
                    outcome: AuditOutcome::Allowed,
                    policies: Vec::new(),
                    query_hash: Some(report_hash),
                    detail: Some(format!(
                        "alert: {similar} runs of reports of the same shape within {} minutes",
                        demographics::BURST_WINDOW_MINUTES
                    )),
                });
            }
            store.record_audit(org, &audited)?;
            // The statement's rows were counted by their groups (`store::Meter`: how many cells
            // a group has depends on its answers); what is shown is counted once published.
            if let Some(limit) = store.row_limit()
                && rows.rows.len() > limit
            {
                return Err(AppError::Store(store::StoreError::TooManyRows { limit }));
            }
        }
        Ok(ReportRun {
            rows,
            compiled,
            access,
            withheld,
            audited,
            compile_time,
            execute_time,
        })
    }

    /// Changes the org's privacy settings for reports over demographics (each `None` kept)
    /// and, with `rotate`, draws a new perturbation secret (every cell's noise changes: only
    /// when the secret may have leaked). Only for users allowed `viewDemographicsAggregate`;
    /// audited. Returns the settings in force (the secret left out).
    pub fn set_privacy_settings(
        &self,
        store: &mut Store,
        access: &Access,
        change: PrivacyChange,
        at: domain::Instant,
    ) -> Result<demographics::Settings, AppError> {
        let org = access.viewer.org.as_str();
        let user = access.viewer.user.as_str();
        if !access.guard.demographics_aggregates() {
            return Err(AppError::Demographics {
                user: user.to_owned(),
                why: format!(
                    "no policy in force ({}) permits `viewDemographicsAggregate` for role `{}`, which changing its settings needs",
                    access.policies.source(),
                    access.viewer.role
                ),
            });
        }
        demographics::validate(
            change.threshold,
            change.noise.as_deref(),
            change.daily_budget,
        )
        .map_err(AppError::PrivacySetting)?;
        let stored = store.set_privacy_settings(
            org,
            &random_secret()?,
            at,
            change.threshold,
            change.noise.as_deref(),
            change.daily_budget,
        )?;
        if change.rotate {
            store.rotate_privacy_secret(org, &random_secret()?, at)?;
        }
        let settings = demographics::Settings::of(&stored);
        store.record_audit(
            org,
            &[AuditEvent {
                at,
                actor: user.to_owned(),
                action: Action::ViewDemographicsAggregate.name().to_owned(),
                subject: "privacy settings".to_owned(),
                outcome: AuditOutcome::Allowed,
                policies: Vec::new(),
                query_hash: None,
                detail: Some(format!(
                    "settings: threshold {}, noise {}, daily budget {}{}",
                    settings.threshold,
                    settings.table.text(),
                    settings.daily_budget,
                    if change.rotate {
                        "; secret rotated"
                    } else {
                        ""
                    }
                )),
            }],
        )?;
        Ok(settings)
    }

    /// The database's plan of `compiled` as run for `access`'s viewer (PostgreSQL: `EXPLAIN
    /// (ANALYZE, BUFFERS)`; SQLite: `EXPLAIN QUERY PLAN`). An operator's tool: a plan's row
    /// counts and estimates are those of every row a step read, before the policy's filters
    /// drop the rows the viewer may not see, so it is shown only to viewers the policy grants
    /// `viewQueryPlan` on their org (admins by default); others get [`AppError::Forbidden`]
    /// (audited). The one path for the CLI's `explain` and any API.
    pub fn query_plan(
        &self,
        store: &mut Store,
        access: &Access,
        compiled: &Compiled,
        today: jiff::civil::Date,
        at: domain::Instant,
    ) -> Result<String, AppError> {
        let org = access.viewer.org.clone();
        let request = Request {
            action: Action::ViewQueryPlan,
            resource_type: "Org",
            resource_id: &org,
        };
        if !self.decide_entity(store, access, request, at)?.allowed {
            return Err(AppError::Forbidden {
                user: access.viewer.user.clone(),
                action: Action::ViewQueryPlan.name().to_owned(),
                subject: format!(
                    "the database's plan of a report in org `{org}`: an operator's tool (its row counts include rows the viewer may not see), for admins by default"
                ),
            });
        }
        // Its row counts are true counts of candidates, which are only ever published
        // perturbed (docs/privacy.md): not for a report over demographics, whoever asks.
        if compiled.suppression.is_some() {
            return Err(AppError::Forbidden {
                user: access.viewer.user.clone(),
                action: Action::ViewQueryPlan.name().to_owned(),
                subject: "the database's plan of a report over demographics: its row counts are true counts of candidates, which are only published perturbed".to_owned(),
            });
        }
        Ok(store.explain_report(&org, compiled, today)?)
    }

    /// One decision for `user`: Cedar with the facts given, from the viewer's residual policies
    /// (the viewer's cached guard); denials are audited.
    pub fn decide(
        &self,
        store: &mut Store,
        access: &Access,
        request: Request<'_>,
        facts: &policy::Facts,
        at: domain::Instant,
    ) -> Result<policy::Decision, AppError> {
        let Request {
            action,
            resource_type,
            resource_id,
        } = request;
        let decision =
            access
                .guard
                .decide(&access.policies, action, resource_type, resource_id, facts)?;
        if !decision.allowed || restricted_action(action) {
            store.record_audit(
                &access.viewer.org,
                &[AuditEvent {
                    at,
                    actor: access.viewer.user.clone(),
                    action: action.name().to_owned(),
                    subject: format!("{resource_type}::{resource_id}"),
                    outcome: if decision.allowed {
                        AuditOutcome::Allowed
                    } else {
                        AuditOutcome::Denied
                    },
                    policies: decision.policies.clone(),
                    query_hash: None,
                    detail: None,
                }],
            )?;
        }
        Ok(decision)
    }
}

impl Services {
    /// One decision about a stored entity: its facts are loaded from the store (the entity and
    /// everything it references), then [`Services::decide`].
    /// Whether the caller may `action` the existing `resource_type` `resource_id`: one it may
    /// not even see is [`AppError::NoSuchEntity`] (its existence is not told), one it sees but
    /// may not act on is [`AppError::Forbidden`]. Denials are audited.
    pub fn authorize(
        &self,
        store: &mut Store,
        access: &Access,
        action: Action,
        resource_type: &str,
        resource_id: &str,
        at: domain::Instant,
    ) -> Result<(), AppError> {
        let not_found = || AppError::NoSuchEntity {
            org: access.viewer.org.clone(),
            ty: resource_type.to_owned(),
            id: resource_id.to_owned(),
        };
        let mut request = Request {
            action: Action::View,
            resource_type,
            resource_id,
        };
        if !self.decide_entity(store, access, request, at)?.allowed {
            return Err(not_found());
        }
        if action == Action::View {
            return Ok(());
        }
        request.action = action;
        if !self.decide_entity(store, access, request, at)?.allowed {
            return Err(AppError::Forbidden {
                user: access.viewer.user.clone(),
                action: action.name().to_owned(),
                subject: format!("{resource_type} `{resource_id}`"),
            });
        }
        Ok(())
    }

    /// Whether the caller may `action` a `resource_type` about to be created with `attrs`, whose
    /// references (`parents`: type and id) exist and are loaded from the store.
    #[allow(clippy::too_many_arguments)]
    pub fn authorize_new(
        &self,
        store: &mut Store,
        access: &Access,
        action: Action,
        resource_type: &'static str,
        attrs: Vec<(&'static str, policy::Fact)>,
        parents: &[(&'static str, &str)],
        at: domain::Instant,
    ) -> Result<(), AppError> {
        let org = access.viewer.org.clone();
        let mut facts = policy::Facts::new(&org);
        for (ty, id) in parents {
            let Some(found) = store.entity_facts(&org, ty, id)? else {
                return Err(AppError::NoSuchEntity {
                    org,
                    ty: (*ty).to_owned(),
                    id: (*id).to_owned(),
                });
            };
            for entity in found {
                facts.add(entity.ty, &entity.id, entity_attrs(entity.attrs));
            }
        }
        facts.add(resource_type, "new", attrs);
        let request = Request {
            action,
            resource_type,
            resource_id: "new",
        };
        if !self.decide(store, access, request, &facts, at)?.allowed {
            return Err(AppError::Forbidden {
                user: access.viewer.user.clone(),
                action: action.name().to_owned(),
                subject: format!("a new {resource_type}"),
            });
        }
        Ok(())
    }

    pub fn decide_entity(
        &self,
        store: &mut Store,
        access: &Access,
        request: Request<'_>,
        at: domain::Instant,
    ) -> Result<policy::Decision, AppError> {
        let Request {
            resource_type,
            resource_id,
            ..
        } = request;
        let org = access.viewer.org.clone();
        let Some(found) = store.entity_facts(&org, resource_type, resource_id)? else {
            return Err(AppError::NoSuchEntity {
                org,
                ty: resource_type.to_owned(),
                id: resource_id.to_owned(),
            });
        };
        let mut facts = policy::Facts::new(&org);
        for entity in found {
            facts.add(entity.ty, &entity.id, entity_attrs(entity.attrs));
        }
        self.decide(store, access, request, &facts, at)
    }
}

/// Checks a policy file for an org without storing it: strict validation, the org boundary,
/// and a dry run of the row-filter translation for every role (a file the translator cannot
/// express would make reports fail later; it is refused now instead).
pub fn check_policy(org: &str, text: &str, origin: &str) -> Result<Policies, AppError> {
    let policies = Policies::from_text(org, text, origin, PolicySource::Org { version: 0 })?;
    for role in ["admin", "recruiter", "hiring_manager", "interviewer"] {
        policies.guard(&Viewer {
            org: org.to_owned(),
            user: format!("policy-check-{role}"),
            role: role.to_owned(),
            active: true,
        })?;
    }
    Ok(policies)
}

/// The compiler's dialect for the store's database.
fn dialect(store: &Store) -> query_compiler::Dialect {
    match store.dialect() {
        store::Dialect::Sqlite => query_compiler::Dialect::Sqlite,
        store::Dialect::Postgres => query_compiler::Dialect::Postgres,
    }
}

/// A fresh perturbation secret (used only if the org has none yet).
fn random_secret() -> Result<[u8; 32], AppError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| AppError::Random(e.to_string()))?;
    Ok(secret)
}

/// Whether allowed decisions about `action` are audited too: reads of restricted data are,
/// permissions to change things (`edit`, `manageHiringTeam`) are not (their denials are).
fn restricted_action(action: Action) -> bool {
    !matches!(
        action,
        Action::View | Action::Edit | Action::ManageHiringTeam
    )
}

/// A hash of the report (its canonical JSON form) within the org: which query it was, never
/// what it returned.
pub fn query_hash(org: &str, canonical: &str) -> String {
    let mut h = sha2::Sha256::new();
    h.update(org.as_bytes());
    h.update([0u8]);
    h.update(canonical.as_bytes());
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn group_action(group: FieldGroup) -> Option<Action> {
    match group {
        FieldGroup::Plain => None,
        FieldGroup::Compensation => Some(Action::ViewCompensation),
        FieldGroup::ContactDetails => Some(Action::ViewContactDetails),
        FieldGroup::SensitiveCustom => Some(Action::ViewSensitiveCustomFields),
        FieldGroup::Demographics => Some(Action::ViewDemographicsAggregate),
        // Masked like the others, but not restricted data: reads are not audited.
        FieldGroup::Details | FieldGroup::StageHistory => None,
    }
}

fn entity_name(entity: EntityId) -> &'static str {
    query_compiler::Entity::get(entity).name
}

/// The audit events of one report run (their `query_hash` left for the caller to set).
/// Today at `at` in the report's zone (`in zone`, else the org's).
fn today_of(
    compiled: &Compiled,
    org: &str,
    at: domain::Instant,
) -> Result<jiff::civil::Date, AppError> {
    jiff::tz::TimeZone::get(&compiled.time_zone)
        .map(|tz| at.as_timestamp().to_zoned_datetime(tz).date())
        .map_err(|e| {
            AppError::Store(StoreError::Corrupt(format!(
                "org `{org}`: the report's time zone `{}`: {e}",
                compiled.time_zone
            )))
        })
}

fn audit_events(access: &Access, compiled: &Compiled, at: domain::Instant) -> Vec<AuditEvent> {
    let notes = access.guard.notes();
    let policies_for = |entity: EntityId, group: Option<FieldGroup>| -> Vec<String> {
        notes
            .iter()
            .find(|n| n.entity == entity && n.group == group)
            .map(|n| n.policies.clone())
            .unwrap_or_default()
    };
    let mut events = Vec::new();
    for &(entity, group) in &compiled.restricted {
        let Some(action) = group_action(group) else {
            continue;
        };
        let masked_everywhere = compiled.guarded.iter().any(|g| {
            g.entity == entity && g.group == Some(group) && g.visibility == GuardKind::None
        });
        events.push(AuditEvent {
            at,
            actor: access.viewer.user.clone(),
            action: action.name().to_owned(),
            subject: entity_name(entity).to_owned(),
            outcome: if masked_everywhere {
                AuditOutcome::Denied
            } else {
                AuditOutcome::Allowed
            },
            policies: policies_for(entity, Some(group)),
            query_hash: None,
            detail: Some(
                if masked_everywhere {
                    "report; masked on every row (read as null)"
                } else if compiled
                    .guarded
                    .iter()
                    .any(|g| g.entity == entity && g.group == Some(group))
                {
                    "report; visible on some rows"
                } else {
                    "report; visible on every row"
                }
                .to_owned(),
            ),
        });
    }
    // A report whose subject the viewer cannot see at all.
    if let Some(subject) = compiled.subject
        && compiled
            .guarded
            .iter()
            .any(|g| g.entity == subject && g.group.is_none() && g.visibility == GuardKind::None)
    {
        events.push(AuditEvent {
            at,
            actor: access.viewer.user.clone(),
            action: Action::View.name().to_owned(),
            subject: entity_name(subject).to_owned(),
            outcome: AuditOutcome::Denied,
            policies: policies_for(subject, None),
            query_hash: None,
            detail: Some("no row of the subject is visible".to_owned()),
        });
    }
    events
}

/// The store's facts about an entity in the policy engine's terms.
fn entity_attrs(attrs: Vec<(&'static str, store::FactValue)>) -> Vec<(&'static str, policy::Fact)> {
    attrs
        .into_iter()
        .map(|(name, value)| {
            let fact = match value {
                store::FactValue::Bool(b) => policy::Fact::Bool(b),
                store::FactValue::Text(t) => policy::Fact::Text(t),
                store::FactValue::Ref(ty, id) => policy::Fact::Entity(ty, id),
                store::FactValue::Refs(ty, ids) => policy::Fact::Entities(ty, ids),
            };
            (name, fact)
        })
        .collect()
}
