//! Automation rules (docs/automation.md): "when EVENT [if CONDITION] then ACTIONS [after
//! DELAY]", per org, managed by admins, run as their owner.
//!
//! - Managing: [`Services::save_rule`], [`Services::delete_rule`], the lists and the history,
//!   authorized through the one path ([`Command::ManageAutomation`]: `edit` on the org and the
//!   admin role, since a rule acts and reads as its owner, any user of the org), each change a version of the rule and an entry of the audit log. A definition is
//!   checked in full before it is stored: its shape (crate `workflow`, errors with the JSON
//!   path), its event type (the catalogue), its condition and its templates' fields compiled in
//!   the report language *as the owner* (errors with the span inside the condition), its stages
//!   and archive reasons.
//! - Dispatching ([`Services::dispatch_automation`]): the events of the orgs with rules, past
//!   each org's cursor, become one `automation.rule` job per rule they trigger (due at the
//!   event's time plus the rule's delay), queued with the cursor's move in one transaction.
//! - Running: an `automation.rule` job ([`Services::run_rule_job`]) checks the condition as
//!   the owner when it is due (a subject the owner may not see never passes; an inactive owner
//!   runs nothing) and queues one `automation.action` job per action; an action job
//!   ([`Services::run_action_job`]) does one action: move or archive through the same
//!   commands as the API (authorized as the owner), or an effect outside through [`Outside`]
//!   (email, webhook, calendar), with an idempotency key that is the same on every retry.
//!
//! Rules that trigger each other stop after [`MAX_CHAIN`] steps: the events an action makes
//! carry their depth. What each rule did with each event is recorded (`automation_runs`), and
//! [`Services::dry_run`] tells which rules an event would trigger and why, without doing
//! anything.

use std::time::Duration;

use domain::{Id, Instant};
use query_compiler::Value;
use serde_json::{Value as Json, json};
use store::automation::{RuleChange, RuleRun, RuleVersion, StoredRule};
use store::jobs::{Job, NewJob};
use store::{AuditEvent, AuditOutcome, OutboxEvent, Store};
use workflow::rules::{self, Action, Piece, Recipient, Rule};

use crate::hiring::{ArchiveApplication, MoveApplication};
use crate::{Access, AppError, Command, Services};

/// The job kind that checks one rule against one event.
pub const RULE_JOB: &str = "automation.rule";
/// The job kind that does one action of a rule that fired.
pub const ACTION_JOB: &str = "automation.action";
/// How many times a rule or action job is tried before it is dead-lettered.
pub const MAX_ATTEMPTS: i32 = 10;
/// The most rules of one org.
pub const MAX_RULES: usize = 200;
/// The most events one dispatch pass reads of one org.
pub const DISPATCH_BATCH: u32 = 500;
/// The longest reason of a change.
pub const MAX_REASON: usize = 2_000;
/// The loop guard: the longest chain of rules, each triggered by the previous one's action
/// (an event a person's change made is at depth 0; one an action made, at its rule's event's
/// depth + 1, `outbox.automation_depth`). Rules that trigger each other forever, such as two
/// moves back and forth, stop here; the run records why.
pub const MAX_CHAIN: i64 = 5;
/// The loop guard's fan-out budget: a rule whose event an action made (depth 1 or more) does
/// not fire on a subject on which rules fired this often within [`CHAINED_WINDOW_MINUTES`].
/// The chain's length alone bounded nothing: a rule of four moves on `application.moved`
/// fired 3 times as often at each step (red team, pass 15: 278 events and 682 jobs from one
/// move; 10 actions and 200 rules could make 2,000 per step). Every action works on the
/// event's application or interview, so a chain stays on its subjects.
pub const MAX_CHAINED_RUNS: i64 = 25;
/// The window of [`MAX_CHAINED_RUNS`] and [`MAX_CHAINED_JOBS`].
pub const CHAINED_WINDOW_MINUTES: i64 = 10;
/// The dispatch's budget: an event an action made queues no more rule jobs on a subject that
/// had this many rule runs (whatever they did) within [`CHAINED_WINDOW_MINUTES`], counting
/// the jobs the same pass queues. Fired runs alone bounded nothing: every event still queued
/// one job per rule, so 60 rules of ten moves made 13,980 jobs from one move (red team,
/// pass 17).
pub const MAX_CHAINED_JOBS: i64 = 250;

/// The audit log's action for a saved rule.
pub const SAVE_RULE: &str = "saveAutomationRule";
/// The audit log's action for a deleted rule.
pub const DELETE_RULE: &str = "deleteAutomationRule";

/// A rule to save: new (`id` `None`), or a new version of rule `id` as read at
/// `expected_version`.
#[derive(Clone, Debug)]
pub struct SaveRule {
    pub id: Option<String>,
    pub expected_version: Option<i64>,
    /// The rule's JSON document.
    pub definition: String,
    pub reason: String,
    /// The API token the caller presented (None for the operator's CLI, or a console
    /// session's token): revoking it disables the rule (red team, pass 18).
    pub token: Option<String>,
}

/// What a rule would do with an event ([`Services::dry_run`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DryRun {
    pub rule_id: String,
    pub rule_name: String,
    pub rule_version: i64,
    /// Whether it would fire.
    pub fires: bool,
    /// Why, or why not.
    pub why: String,
    /// When its condition is checked and its actions run (the event's time plus the delay).
    pub due: Option<Instant>,
    /// Its actions, by name.
    pub actions: Vec<String>,
}

/// An effect outside hireplane that a rule's action asks for. The edge (crate `effects`,
/// through the server's or worker's adapter) does it with timeouts, retries, a circuit breaker
/// and a bulkhead per destination; `app` only says what and with which idempotency key.
pub trait Outside: Send + Sync {
    /// Sends an email; `message_id` is the same on every retry (receivers deduplicate by it).
    fn email(&self, email: &OutgoingEmail) -> Result<(), EffectError>;
    /// Calls a webhook; `id` is the Standard Webhooks `webhook-id`, the same on every retry.
    fn webhook(&self, hook: &OutgoingWebhook) -> Result<(), EffectError>;
    /// Creates or replaces one event on a CalDAV calendar (`{calendar}/{uid}.ics`).
    fn calendar_put(&self, event: &OutgoingCalendarEvent) -> Result<(), EffectError>;
}

/// An email a rule sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    /// `<...@hireplane>`: the idempotency key.
    pub message_id: String,
}

/// A webhook call a rule makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingWebhook {
    pub url: String,
    /// `whsec_` + base64.
    pub secret: String,
    /// `webhook-id`: the idempotency key.
    pub id: String,
    /// The JSON body.
    pub body: String,
}

/// A calendar event a rule puts on a CalDAV calendar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingCalendarEvent {
    /// The collection's URL.
    pub calendar: String,
    /// The event's UID (and its resource name): the idempotency key.
    pub uid: String,
    /// The iCalendar object (`VCALENDAR` with one `VEVENT`).
    pub ics: String,
}

/// Why an effect outside did not happen.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EffectError {
    /// It may work later (timeout, 5xx, 429, circuit open): try again, not before `after`.
    #[error("{error}")]
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// It will not work as asked (4xx, a refused address): do not try again.
    #[error("{error}")]
    Permanent { error: String },
}

/// How a rule or action job ended: the job queue's outcome, with what to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Done (what happened).
    Done(String),
    /// Failed for now: try again, not before `after`.
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// Failed for good: dead-letter the job.
    Fail(String),
}

impl From<AppError> for Step {
    fn from(e: AppError) -> Step {
        match &e {
            AppError::Store(_) | AppError::Random(_) => Step::Retry {
                error: e.to_string(),
                after: None,
            },
            _ => Step::Fail(e.to_string()),
        }
    }
}

/// The report subject of an event's subject kind (`application` -> `applications`); `None`
/// for the org (no record to test a condition on).
pub fn report_subject(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "application" => "applications",
        "candidate" => "candidates",
        "job" => "jobs",
        "interview" => "interviews",
        "feedback" => "feedback",
        "offer" => "offers",
        _ => return None,
    })
}

/// The subject kind of an event type's events (`application.moved` -> `application`), from the
/// catalogue's subject pattern; `None` when the catalogue has no such type.
fn subject_kind_of(event_type: &str) -> Option<&'static str> {
    let t = store::events::CATALOGUE
        .iter()
        .find(|t| t.name == event_type)?;
    Some(t.subject.split('/').next().unwrap_or(""))
}

/// How `application` is reached from a subject kind in reports (`interview` ->
/// `application.`), or `None` when the subject has no application.
fn application_path(kind: &str) -> Option<&'static str> {
    match kind {
        "application" => Some(""),
        "interview" | "feedback" | "offer" => Some("application."),
        _ => None,
    }
}

/// A text literal of the report language.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What a condition check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    Passes,
    Fails,
    /// The owner may not see the subject (or it is gone).
    Hidden,
}

/// The text of a value read for a template or a recipient (`None`: empty or hidden).
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// A rule's id: `rule_` and 16 random hex digits.
fn new_rule_id() -> Result<String, AppError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Random(e.to_string()))?;
    Ok(format!(
        "rule_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

impl Services {
    /// The owner's access, refused when the owner is no longer an active user of the org.
    fn owner_access(&self, store: &mut Store, org: &str, owner: &str) -> Result<Access, AppError> {
        let access = self.access(store, org, owner)?;
        if !access.user.active {
            return Err(AppError::InactiveUser {
                org: org.to_owned(),
                user: owner.to_owned(),
            });
        }
        Ok(access)
    }

    /// Runs `report` as `access`, returning its rows.
    fn rows_as(
        &self,
        store: &mut Store,
        access: &Access,
        report: &str,
        at: Instant,
    ) -> Result<Vec<Vec<Value>>, AppError> {
        let parsed = query_syntax::parse(report).map_err(|d| AppError::Report(Box::new(d)))?;
        let run = self.run_report_as(store, access.clone(), &parsed, None, at)?;
        Ok(run.rows.rows)
    }

    /// Compiles (without running) `report` as `access`; errors keep their span in `report`.
    fn compiles_as(
        &self,
        store: &mut Store,
        access: &Access,
        report: &str,
    ) -> Result<(), query_syntax::Diagnostic> {
        let parsed = query_syntax::parse(report)?;
        let org = access.viewer.org.clone();
        match self.compile(store, &org, access, &parsed) {
            Ok(_) => Ok(()),
            Err(AppError::Report(d)) => Err(*d),
            Err(e) => Err(query_syntax::Diagnostic::new(
                e.to_string(),
                query_syntax::ast::Span { start: 0, end: 0 },
            )),
        }
    }

    /// Checks a rule's definition against the org, as its owner: event type, condition,
    /// templates, stages, archive reasons. Errors name the JSON path (and, for a condition or
    /// template, the byte span inside it).
    fn check_rule(
        &self,
        store: &mut Store,
        owner: &Access,
        rule: &Rule,
        now: Instant,
    ) -> Result<(), AppError> {
        let org = owner.viewer.org.clone();
        let Some(kind) = subject_kind_of(&rule.when) else {
            let names: Vec<&str> = store::events::CATALOGUE.iter().map(|t| t.name).collect();
            let hint = query_syntax::closest(&rule.when, names.iter().copied())
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            return Err(AppError::invalid(
                "definition.when",
                format!("`definition.when`: `{}` is no event type{hint}", rule.when),
            ));
        };
        let subject = report_subject(kind);
        if let Some(condition) = &rule.condition {
            let Some(subject) = subject else {
                return Err(AppError::invalid(
                    "definition.if",
                    format!(
                        "`definition.if`: events of `{}` are about the org, not a record, so a rule on them takes no condition",
                        rule.when
                    ),
                ));
            };
            let prefix = format!("report {subject} where ");
            let text = format!("{prefix}{condition} show id");
            if let Err(d) = self.compiles_as(store, owner, &text) {
                let start = (d.span.start as usize).saturating_sub(prefix.len());
                let start = start.min(condition.len());
                return Err(AppError::invalid(
                    "definition.if",
                    format!(
                        "`definition.if` at byte {start}: {}{}",
                        d.message,
                        d.help
                            .first()
                            .map(|h| format!(" ({h})"))
                            .unwrap_or_default()
                    ),
                ));
            }
            // The condition is spliced into a report's text: it must be one condition and
            // nothing else (red team, pass 15: `status = "active" show id limit 0 #` saved, its
            // `#` commenting out the `show id` the rule appends).
            let one_condition = query_syntax::parse(&text).is_ok_and(|r| {
                r.filters.len() == 1
                    && r.show.len() == 1
                    && r.show[0].expr.to_string() == "id"
                    && r.show[0].alias.is_none()
                    && r.group_by.is_empty()
                    && r.having.is_empty()
                    && r.order_by.is_empty()
                    && r.limit.is_none()
                    && r.funnel.is_none()
                    && r.zone.is_none()
            });
            if !one_condition {
                return Err(AppError::invalid(
                    "definition.if",
                    "`definition.if`: one condition on the record, as after `where` (no `show`, \
                     `group by`, `limit`, `in zone`, another `where` or a comment)"
                        .to_owned(),
                ));
            }
        }
        for (i, action) in rule.then.iter().enumerate() {
            let at = format!("definition.then[{i}]");
            if action.needs_application() && subject.and_then(|_| application_path(kind)).is_none()
            {
                return Err(AppError::invalid(
                    &at,
                    format!(
                        "`{at}`: `{}` acts on an application, and events of `{}` have none",
                        action.name(),
                        rule.when
                    ),
                ));
            }
            if (action.needs_interview() && kind != "interview")
                || (matches!(action, Action::RequestFeedback)
                    && !matches!(kind, "interview" | "application"))
            {
                return Err(AppError::invalid(
                    &at,
                    format!(
                        "`{at}`: `{}` acts on an interview, and events of `{}` are not about one",
                        action.name(),
                        rule.when
                    ),
                ));
            }
            for (path, template) in action.templates(&at) {
                let pieces = rules::placeholders(template)
                    .map_err(|m| AppError::invalid(&path, format!("`{path}`: {m}")))?;
                let fields: Vec<&str> = pieces
                    .iter()
                    .filter_map(|p| match p {
                        Piece::Field(f) => Some(*f),
                        Piece::Text(_) => None,
                    })
                    .collect();
                if fields.is_empty() {
                    continue;
                }
                let Some(subject) = subject else {
                    return Err(AppError::invalid(
                        &path,
                        format!(
                            "`{path}`: events of `{}` are about the org, so a template has no fields to fill",
                            rule.when
                        ),
                    ));
                };
                for field in fields {
                    let text = format!("report {subject} show {field}");
                    if let Err(d) = self.compiles_as(store, owner, &text) {
                        return Err(AppError::invalid(
                            &path,
                            format!("`{path}`: `{{{{ {field} }}}}`: {}", d.message),
                        ));
                    }
                }
            }
            match action {
                Action::Move { to_stage } => {
                    let seen = format!("report stages where id = {} show id", quote(to_stage));
                    if self.rows_as(store, owner, &seen, now)?.is_empty() {
                        return Err(AppError::invalid(
                            format!("{at}.to_stage"),
                            format!(
                                "`{at}.to_stage`: org `{org}` has no stage `{to_stage}` (or the owner may not see it)"
                            ),
                        ));
                    }
                }
                Action::ScheduleLoop { stage, .. } => {
                    let seen = format!("report stages where id = {} show id", quote(stage));
                    if self.rows_as(store, owner, &seen, now)?.is_empty() {
                        return Err(AppError::invalid(
                            format!("{at}.stage"),
                            format!(
                                "`{at}.stage`: org `{org}` has no stage `{stage}` (or the owner may not see it)"
                            ),
                        ));
                    }
                }
                Action::Archive { reason } => {
                    let reasons = store.archive_reasons(&org)?;
                    if !reasons.iter().any(|r| r == reason) {
                        return Err(AppError::invalid(
                            format!("{at}.reason"),
                            format!(
                                "`{at}.reason`: `{reason}` is not one of the org's archive reasons: {}",
                                reasons
                                    .iter()
                                    .map(|r| format!("`{r}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ));
                    }
                }
                Action::Email { to, .. } => {
                    for (j, r) in Recipient::all(to).iter().enumerate() {
                        if let Recipient::User(id) = r
                            && store.user_access(&org, id)?.is_none()
                        {
                            return Err(AppError::invalid(
                                format!("{at}.to[{j}]"),
                                format!("`{at}.to[{j}]`: org `{org}` has no user `{id}`"),
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The user a rule runs as (its `owner`, else the caller) and their access; an owner who
    /// is no active user of the org is the caller's mistake at `definition.owner`.
    fn rule_owner(
        &self,
        store: &mut Store,
        access: &Access,
        rule: &Rule,
    ) -> Result<(String, Access), AppError> {
        let org = &access.viewer.org;
        let owner_id = rule
            .owner
            .clone()
            .unwrap_or_else(|| access.viewer.user.clone());
        match self.owner_access(store, org, &owner_id) {
            Ok(owner) => Ok((owner_id, owner)),
            Err(AppError::NoSuchUser { .. } | AppError::InactiveUser { .. }) => {
                Err(AppError::invalid(
                    "definition.owner",
                    format!("`definition.owner`: `{owner_id}` is no active user of org `{org}`"),
                ))
            }
            Err(e) => Err(e),
        }
    }

    /// Saves a rule (new, or a new version of one): checked in full as its owner (the user
    /// it names, else the caller), stored with its history, audited. Admins only, by default.
    pub fn save_rule(
        &self,
        store: &mut Store,
        access: &Access,
        input: SaveRule,
        at: Instant,
    ) -> Result<StoredRule, AppError> {
        self.authorize_command(store, access, &Command::ManageAutomation, at)?;
        let org = access.viewer.org.clone();
        if input.reason.len() > MAX_REASON {
            return Err(AppError::invalid(
                "reason",
                format!("`reason`: at most {MAX_REASON} bytes"),
            ));
        }
        let rule = rules::parse(&input.definition).map_err(|e| {
            let field = if e.path.is_empty() {
                "definition".to_owned()
            } else {
                format!("definition.{}", e.path)
            };
            AppError::invalid(&field, format!("`{field}`: {}", e.message))
        })?;
        let (owner_id, owner) = self.rule_owner(store, access, &rule)?;
        self.check_rule(store, &owner, &rule, at)?;
        let id = match &input.id {
            Some(id) => id.clone(),
            None => {
                if store.rules(&org, false)?.len() >= MAX_RULES {
                    return Err(AppError::invalid(
                        "definition",
                        format!("org `{org}` has {MAX_RULES} rules, the most it may have"),
                    ));
                }
                new_rule_id()?
            }
        };
        let made_with = Self::revoking_token(store, access, input.token.as_deref())?;
        // The stored text is the rule as read, with its owner made explicit.
        let stored = Rule {
            owner: Some(owner_id.clone()),
            ..rule
        };
        let definition = serde_json::to_string_pretty(&stored)
            .map_err(|e| AppError::invalid("definition", e.to_string()))?;
        let change = RuleChange {
            id: &id,
            expected_version: input.expected_version,
            name: &stored.name,
            event_type: &stored.when,
            enabled: stored.enabled,
            deleted: false,
            owner_user_id: &owner_id,
            definition: &definition,
            by: &access.viewer.user,
            reason: &input.reason,
            at,
            token_id: made_with.as_deref(),
        };
        let saved = store.save_rule(&org, &change).map_err(|e| match e {
            store::WriteError::Store(store::StoreError::TokenRevoked(_)) => {
                crate::sessions::revoked(access, SAVE_RULE)
            }
            e => e.into(),
        })?;
        self.audit_rule(store, access, SAVE_RULE, &saved, at)?;
        Ok(saved)
    }

    /// Deletes a rule (a last version that is deleted: it triggers nothing more; its history
    /// and runs stay), audited.
    pub fn delete_rule(
        &self,
        store: &mut Store,
        access: &Access,
        id: &str,
        expected_version: Option<i64>,
        reason: &str,
        at: Instant,
    ) -> Result<StoredRule, AppError> {
        self.authorize_command(store, access, &Command::ManageAutomation, at)?;
        let org = access.viewer.org.clone();
        let Some(current) = store.rule(&org, id)?.filter(|r| !r.deleted) else {
            return Err(AppError::NoSuchEntity {
                org,
                ty: "rule".to_owned(),
                id: id.to_owned(),
            });
        };
        let change = RuleChange {
            id,
            expected_version: Some(expected_version.unwrap_or(current.version)),
            name: &current.name,
            event_type: &current.event_type,
            enabled: false,
            deleted: true,
            owner_user_id: &current.owner_user_id,
            definition: &current.definition,
            by: &access.viewer.user,
            reason,
            at,
            token_id: None,
        };
        let saved = store.save_rule(&org, &change)?;
        self.audit_rule(store, access, DELETE_RULE, &saved, at)?;
        Ok(saved)
    }

    fn audit_rule(
        &self,
        store: &mut Store,
        access: &Access,
        action: &str,
        rule: &StoredRule,
        at: Instant,
    ) -> Result<(), AppError> {
        let event = AuditEvent {
            at,
            actor: access.viewer.user.clone(),
            action: action.to_owned(),
            subject: format!("rule/{}", rule.id),
            outcome: AuditOutcome::Allowed,
            policies: Vec::new(),
            query_hash: None,
            detail: Some(format!(
                "version {}, owner {}, when {}{}",
                rule.version,
                rule.owner_user_id,
                rule.event_type,
                if rule.enabled { "" } else { ", disabled" }
            )),
        };
        store.record_audit(&access.viewer.org, &[event])?;
        Ok(())
    }

    /// The org's rules (admins only, by default).
    pub fn automation_rules(
        &self,
        store: &mut Store,
        access: &Access,
        with_deleted: bool,
        at: Instant,
    ) -> Result<Vec<StoredRule>, AppError> {
        self.authorize_command(store, access, &Command::ManageAutomation, at)?;
        Ok(store.rules(&access.viewer.org, with_deleted)?)
    }

    /// One rule and its versions.
    pub fn automation_rule(
        &self,
        store: &mut Store,
        access: &Access,
        id: &str,
        at: Instant,
    ) -> Result<(StoredRule, Vec<RuleVersion>), AppError> {
        self.authorize_command(store, access, &Command::ManageAutomation, at)?;
        let org = access.viewer.org.clone();
        let Some(rule) = store.rule(&org, id)? else {
            return Err(AppError::NoSuchEntity {
                org,
                ty: "rule".to_owned(),
                id: id.to_owned(),
            });
        };
        let versions = store.rule_versions(&org, id)?;
        Ok((rule, versions))
    }

    /// What the org's rules did lately (of one rule, when given), newest first.
    pub fn automation_runs(
        &self,
        store: &mut Store,
        access: &Access,
        rule: Option<&str>,
        limit: u32,
        at: Instant,
    ) -> Result<Vec<RuleRun>, AppError> {
        self.authorize_command(store, access, &Command::ManageAutomation, at)?;
        Ok(store.rule_runs(&access.viewer.org, rule, limit.min(1000))?)
    }

    /// Checks a rule's condition on a subject as the owner, now.
    fn check_subject(
        &self,
        store: &mut Store,
        owner: &Access,
        rule: &Rule,
        subject: &str,
        at: Instant,
    ) -> Result<Check, AppError> {
        let Some((kind, id)) = rules::subject_parts(subject) else {
            return Ok(Check::Passes);
        };
        let Some(report) = report_subject(kind) else {
            // The org: no record to see or test.
            return Ok(Check::Passes);
        };
        let seen = format!("report {report} where id = {} show id", quote(id));
        if self.rows_as(store, owner, &seen, at)?.is_empty() {
            return Ok(Check::Hidden);
        }
        let Some(condition) = &rule.condition else {
            return Ok(Check::Passes);
        };
        let tested = format!(
            "report {report} where id = {} where {condition} show id",
            quote(id)
        );
        Ok(if self.rows_as(store, owner, &tested, at)?.is_empty() {
            Check::Fails
        } else {
            Check::Passes
        })
    }

    /// Which of the org's rules event `event_id` triggers, and why (or why not), as their
    /// owners see it now; nothing is queued or recorded. A rule not saved yet can be tried
    /// too (`definition`).
    pub fn dry_run(
        &self,
        store: &mut Store,
        access: &Access,
        event_id: &str,
        definition: Option<&str>,
        at: Instant,
    ) -> Result<Vec<DryRun>, AppError> {
        self.authorize_command(store, access, &Command::ManageAutomation, at)?;
        let org = access.viewer.org.clone();
        let Some(event) = store.outbox_event(&org, event_id)? else {
            return Err(AppError::NoSuchEntity {
                org,
                ty: "event".to_owned(),
                id: event_id.to_owned(),
            });
        };
        let mut candidates: Vec<(String, i64, i64, Rule)> = Vec::new();
        if let Some(text) = definition {
            let rule = rules::parse(text).map_err(|e| {
                let field = format!("definition.{}", e.path);
                AppError::invalid(&field, format!("`{field}`: {}", e.message))
            })?;
            // Checked as saving checks it, so that a condition or template that does not
            // compile is the caller's mistake at its field (red team, pass 18: a condition on
            // a demographic field was `INTERNAL`).
            let (_, owner) = self.rule_owner(store, access, &rule)?;
            self.check_rule(store, &owner, &rule, at)?;
            candidates.push(("(unsaved)".to_owned(), 0, 0, rule));
        } else {
            for stored in store.rules(&org, false)? {
                match serde_json::from_str::<Rule>(&stored.definition) {
                    Ok(mut rule) => {
                        // Disabled in the store alone by a revocation (`Store::revoke_token`).
                        rule.enabled &= stored.enabled;
                        candidates.push((stored.id, stored.version, stored.since_seq, rule))
                    }
                    Err(e) => {
                        return Err(AppError::Store(store::StoreError::Corrupt(format!(
                            "rule `{}` v{}: {e}",
                            stored.id, stored.version
                        ))));
                    }
                }
            }
        }
        let mut out = Vec::new();
        for (id, version, since, rule) in candidates {
            let mut row = DryRun {
                rule_id: id,
                rule_name: rule.name.clone(),
                rule_version: version,
                fires: false,
                why: String::new(),
                due: None,
                actions: rule.then.iter().map(|a| a.name().to_owned()).collect(),
            };
            if !rule.enabled {
                row.why = "the rule is disabled".to_owned();
            } else if !rule.triggered_by(&event.event_type) {
                row.why = format!(
                    "it runs on `{}`, the event is `{}`",
                    rule.when,
                    rules::bare_event_type(&event.event_type)
                );
            } else if version > 0 && event.seq <= since {
                row.why = format!(
                    "the event (seq {}) came before this version of the rule was saved (at seq {since})",
                    event.seq
                );
            } else {
                row.due = Some(due_at(&event, &rule, at));
                let owner_id = rule
                    .owner
                    .clone()
                    .unwrap_or_else(|| access.viewer.user.clone());
                match self.owner_access(store, &access.viewer.org, &owner_id) {
                    Err(e) => row.why = format!("its owner cannot run it: {e}"),
                    Ok(owner) => {
                        match self.check_subject(store, &owner, &rule, &event.subject, at)? {
                            Check::Hidden => {
                                row.why = format!(
                                    "its owner `{owner_id}` may not see `{}`",
                                    event.subject
                                )
                            }
                            Check::Fails => {
                                row.why = format!(
                                    "its condition is false for `{}` (as `{owner_id}` sees it now)",
                                    event.subject
                                )
                            }
                            Check::Passes => {
                                row.fires = true;
                                row.why = match &rule.condition {
                                    Some(_) => format!(
                                        "its condition holds for `{}` (as `{owner_id}` sees it now)",
                                        event.subject
                                    ),
                                    None => "it has no condition".to_owned(),
                                };
                                if rule.after.is_some() {
                                    row.why.push_str(
                                        "; delayed: the condition is checked again when due",
                                    );
                                }
                            }
                        }
                    }
                }
            }
            out.push(row);
        }
        Ok(out)
    }

    /// One dispatch pass: for each org with rules and new events, at most
    /// [`DISPATCH_BATCH`] events become rule jobs, queued with the cursor's move. Returns the
    /// events looked at. A rule whose definition no longer reads is skipped (and logged by the
    /// caller through the error of the next save).
    pub fn dispatch_automation(&self, store: &mut Store, now: Instant) -> Result<usize, AppError> {
        let mut seen = 0;
        for backlog in store.automation_backlog()? {
            let org = backlog.org_id.as_str();
            let rules: Vec<(StoredRule, Rule)> = store
                .rules(org, false)?
                .into_iter()
                .filter(|r| r.enabled)
                .filter_map(|r| {
                    let parsed = serde_json::from_str::<Rule>(&r.definition).ok()?;
                    Some((r, parsed))
                })
                .collect();
            let events =
                store.automation_events(org, backlog.cursor, backlog.head, DISPATCH_BATCH)?;
            let last = events.last().map_or(backlog.head, |(e, _)| e.seq);
            let mut jobs = Vec::new();
            let since = Instant::from_micros(now.as_micros() - CHAINED_WINDOW_MINUTES * 60_000_000)
                .unwrap_or(now);
            // Per subject, the rule jobs events that actions made may still queue.
            let mut left: std::collections::HashMap<String, i64> = Default::default();
            for (event, depth) in &events {
                for (stored, rule) in &rules {
                    if event.seq <= stored.since_seq || !rule.triggered_by(&event.event_type) {
                        continue;
                    }
                    if depth.unwrap_or(0) >= 1 {
                        let budget = match left.get_mut(&event.subject) {
                            Some(budget) => budget,
                            None => {
                                let ran =
                                    store.rule_runs_since(org, &event.subject, since, false)?;
                                left.entry(event.subject.clone())
                                    .or_insert(MAX_CHAINED_JOBS - ran)
                            }
                        };
                        if *budget <= 0 {
                            continue;
                        }
                        *budget -= 1;
                    }
                    jobs.push(NewJob {
                        org_id: org.to_owned(),
                        kind: RULE_JOB.to_owned(),
                        payload: json!({
                            "rule": stored.id,
                            "version": stored.version,
                            "event": event.id,
                            "seq": event.seq,
                            "type": event.event_type,
                            "subject": event.subject,
                            "time": event.time.as_micros(),
                            "depth": depth.unwrap_or(0),
                        }),
                        priority: 0,
                        run_at: due_at(event, rule, now),
                        max_attempts: MAX_ATTEMPTS,
                        unique_key: Some(format!("rule:{}:{}", stored.id, event.id)),
                    });
                }
            }
            seen += events.len();
            store.automation_advance(org, backlog.cursor, last, &jobs, now)?;
        }
        Ok(seen)
    }

    /// Runs an `automation.rule` job: the rule as it is now (a rule deleted, disabled or
    /// changed to another event since does nothing), its condition checked as its owner, and
    /// one action job queued per action when it holds. What it decided is recorded.
    pub fn run_rule_job(&self, store: &mut Store, job: &Job, now: Instant) -> Step {
        match self.rule_job(store, job, now) {
            Ok(step) => step,
            Err(e) => e.into(),
        }
    }

    fn rule_job(&self, store: &mut Store, job: &Job, now: Instant) -> Result<Step, AppError> {
        let org = job.org_id.as_str();
        let p = &job.payload;
        let field = |name: &str| p.get(name).and_then(Json::as_str).unwrap_or("").to_owned();
        let (rule_id, event_id, subject) = (field("rule"), field("event"), field("subject"));
        let seq = p.get("seq").and_then(Json::as_i64).unwrap_or(0);
        let Some(stored) = store.rule(org, &rule_id)? else {
            return Ok(Step::Done(format!("rule `{rule_id}` is gone")));
        };
        let mut run = RuleRun {
            rule_id: rule_id.clone(),
            event_id: event_id.clone(),
            rule_version: stored.version,
            seq,
            subject: subject.clone(),
            outcome: "skipped".to_owned(),
            detail: String::new(),
            at: now,
        };
        let rule = match serde_json::from_str::<Rule>(&stored.definition) {
            // `enabled` as stored, too: a revocation disables a rule in the store alone.
            Ok(rule) if !stored.deleted && stored.enabled && rule.triggered_by(&field("type")) => {
                rule
            }
            Ok(_) => {
                run.detail = format!(
                    "rule `{rule_id}` was deleted, disabled or changed since the event (now version {})",
                    stored.version
                );
                store.record_rule_run(org, &run)?;
                return Ok(Step::Done(run.detail));
            }
            Err(e) => {
                return Ok(Step::Fail(format!(
                    "rule `{rule_id}` v{} does not read: {e}",
                    stored.version
                )));
            }
        };
        let owner = match self.owner_access(store, org, &stored.owner_user_id) {
            Ok(owner) => owner,
            Err(e @ (AppError::NoSuchUser { .. } | AppError::InactiveUser { .. })) => {
                run.outcome = "failed".to_owned();
                run.detail = format!("its owner cannot run it: {e}");
                store.record_rule_run(org, &run)?;
                return Ok(Step::Done(run.detail));
            }
            Err(e) => return Err(e),
        };
        let depth = p.get("depth").and_then(Json::as_i64).unwrap_or(0);
        if depth >= MAX_CHAIN {
            run.detail = format!(
                "loop guard: the event comes from a chain of {depth} rules' actions (at most {MAX_CHAIN})"
            );
            store.record_rule_run(org, &run)?;
            return Ok(Step::Done(run.detail));
        }
        if depth >= 1 {
            let since = now.as_micros() - CHAINED_WINDOW_MINUTES * 60_000_000;
            let since = Instant::from_micros(since).unwrap_or(now);
            let fired = store.rule_runs_since(org, &subject, since, true)?;
            if fired >= MAX_CHAINED_RUNS {
                run.detail = format!(
                    "loop guard: rules fired {fired} times on `{subject}` within \
                     {CHAINED_WINDOW_MINUTES} minutes (at most {MAX_CHAINED_RUNS} for a rule's \
                     action's event)"
                );
                store.record_rule_run(org, &run)?;
                return Ok(Step::Done(run.detail));
            }
        }
        match self.check_subject(store, &owner, &rule, &subject, now)? {
            Check::Hidden => {
                run.detail = format!(
                    "its owner `{}` may not see `{subject}`",
                    stored.owner_user_id
                );
            }
            Check::Fails => run.detail = "its condition is false".to_owned(),
            Check::Passes => {
                // The application and interview the actions work on, as the owner sees them.
                let (application, interview) = self.targets(store, &owner, &subject, now)?;
                for (i, action) in rule.then.iter().enumerate() {
                    let payload = json!({
                        "rule": rule_id,
                        "version": stored.version,
                        "event": event_id,
                        "seq": seq,
                        "subject": subject,
                        "owner": stored.owner_user_id,
                        "index": i,
                        "action": action,
                        "application": application,
                        "interview": interview,
                        "depth": depth + 1,
                    });
                    store.enqueue_job(
                        &NewJob {
                            org_id: org.to_owned(),
                            kind: ACTION_JOB.to_owned(),
                            payload,
                            priority: 0,
                            run_at: now,
                            max_attempts: MAX_ATTEMPTS,
                            unique_key: Some(format!("action:{rule_id}:{event_id}:{i}")),
                        },
                        now,
                    )?;
                }
                run.outcome = "fired".to_owned();
                run.detail = format!(
                    "{} action(s) queued: {}",
                    rule.then.len(),
                    rule.then
                        .iter()
                        .map(Action::name)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        store.record_rule_run(org, &run)?;
        Ok(Step::Done(run.detail))
    }

    /// The application and interview a subject is about, as `owner` sees them.
    fn targets(
        &self,
        store: &mut Store,
        owner: &Access,
        subject: &str,
        at: Instant,
    ) -> Result<(Option<String>, Option<String>), AppError> {
        let Some((kind, id)) = rules::subject_parts(subject) else {
            return Ok((None, None));
        };
        let interview = (kind == "interview").then(|| id.to_owned());
        let application = match (kind, report_subject(kind), application_path(kind)) {
            ("application", _, _) => Some(id.to_owned()),
            (_, Some(report), Some(path)) => {
                let text = format!("report {report} where id = {} show {path}id", quote(id));
                self.rows_as(store, owner, &text, at)?
                    .first()
                    .and_then(|r| r.first())
                    .and_then(text_of)
            }
            _ => None,
        };
        Ok((application, interview))
    }

    /// Runs an `automation.action` job: one action, as the rule's owner.
    pub fn run_action_job(
        &self,
        store: &mut Store,
        outside: &dyn Outside,
        job: &Job,
        now: Instant,
    ) -> Step {
        // What the action changes carries its depth, so rules on its events know the chain.
        let depth = job.payload.get("depth").and_then(Json::as_i64).unwrap_or(1);
        store.set_automation_depth(Some(depth));
        let step = match self.action_job(store, outside, job, now) {
            Ok(step) => step,
            Err(e) => e.into(),
        };
        store.set_automation_depth(None);
        step
    }

    fn action_job(
        &self,
        store: &mut Store,
        outside: &dyn Outside,
        job: &Job,
        now: Instant,
    ) -> Result<Step, AppError> {
        let org = job.org_id.as_str();
        let p = &job.payload;
        let field = |name: &str| p.get(name).and_then(Json::as_str).map(str::to_owned);
        let action: Action = match p.get("action").cloned().map(serde_json::from_value) {
            Some(Ok(a)) => a,
            _ => return Ok(Step::Fail("the job names no action that reads".to_owned())),
        };
        let owner_id = field("owner").unwrap_or_default();
        let owner = match self.owner_access(store, org, &owner_id) {
            Ok(owner) => owner,
            Err(e @ (AppError::NoSuchUser { .. } | AppError::InactiveUser { .. })) => {
                return Ok(Step::Fail(format!("its owner cannot run it: {e}")));
            }
            Err(e) => return Err(e),
        };
        let rule = field("rule").unwrap_or_default();
        // A rule deleted or disabled since it fired (by an admin, or by revoking the token it
        // was saved with) does none of its queued actions (red team, pass 18: they ran on).
        match store.rule(org, &rule)? {
            Some(stored) if stored.enabled && !stored.deleted => {}
            _ => {
                return Ok(Step::Done(format!(
                    "rule `{rule}` was deleted or disabled since it fired: nothing done"
                )));
            }
        }
        let event = field("event").unwrap_or_default();
        let index = p.get("index").and_then(Json::as_u64).unwrap_or(0);
        let key = format!("{rule}.{event}.{index}");
        let subject = field("subject").unwrap_or_default();
        let application = field("application");
        let effect = |r: Result<(), EffectError>, what: String| match r {
            Ok(()) => Step::Done(what),
            Err(EffectError::Retry { error, after }) => Step::Retry { error, after },
            Err(EffectError::Permanent { error }) => Step::Fail(error),
        };
        match &action {
            Action::Move { to_stage } => {
                let Some(application) = application else {
                    return Ok(Step::Fail(format!(
                        "`{subject}` has no application its owner may see"
                    )));
                };
                // Already there: this job ran before and its move committed (or someone
                // moved it): nothing to do, so a job run again moves nothing twice.
                let now_in = format!(
                    "report applications where id = {} show current_stage.id",
                    quote(&application)
                );
                let now_in = self
                    .rows_as(store, &owner, &now_in, now)?
                    .first()
                    .and_then(|r| r.first())
                    .and_then(text_of);
                if now_in.as_deref() == Some(to_stage.as_str()) {
                    return Ok(Step::Done(format!(
                        "not moved: `{application}` is already in `{to_stage}`"
                    )));
                }
                let input = MoveApplication {
                    application_id: id(&application)?,
                    to_stage_id: id(to_stage)?,
                };
                match self.move_application(store, &owner, input, now) {
                    Ok(_) => Ok(Step::Done(format!("moved `{application}` to `{to_stage}`"))),
                    // Already there (a retry after the move committed), or no longer active.
                    Err(AppError::Conflict { message, .. }) => {
                        Ok(Step::Done(format!("not moved: {message}")))
                    }
                    Err(e) => Err(e),
                }
            }
            Action::Archive { reason } => {
                let Some(application) = application else {
                    return Ok(Step::Fail(format!(
                        "`{subject}` has no application its owner may see"
                    )));
                };
                let input = ArchiveApplication {
                    application_id: id(&application)?,
                    reason: reason.clone(),
                };
                match self.archive_application(store, &owner, input, now) {
                    Ok(_) => Ok(Step::Done(format!("archived `{application}`"))),
                    Err(AppError::Conflict { message, .. }) => {
                        Ok(Step::Done(format!("not archived: {message}")))
                    }
                    Err(e) => Err(e),
                }
            }
            Action::Email {
                to,
                subject: s,
                body,
            } => {
                let to =
                    self.addresses(store, &owner, &subject, application.as_deref(), to, now)?;
                if to.is_empty() {
                    return Ok(Step::Done("no recipient has an address".to_owned()));
                }
                let values = self.fill(store, &owner, &subject, &[s, body], now)?;
                let email = OutgoingEmail {
                    to: to.clone(),
                    subject: values[0].replace(['\r', '\n'], " "),
                    body: values[1].clone(),
                    message_id: format!("<{key}@hireplane>"),
                };
                Ok(effect(
                    outside.email(&email),
                    format!("emailed {}", to.join(", ")),
                ))
            }
            Action::Webhook { url, secret } => {
                let seq = p.get("seq").and_then(Json::as_i64).unwrap_or(0);
                let Some(ev) = store.outbox_event_at(org, seq)?.filter(|e| e.id == event) else {
                    return Ok(Step::Done(format!("event `{event}` is no longer kept")));
                };
                let body = json!({
                    "rule": {"id": rule, "version": p.get("version")},
                    "event": ev.cloudevent(),
                });
                let hook = OutgoingWebhook {
                    url: url.clone(),
                    secret: secret.clone(),
                    id: format!("msg_{key}"),
                    body: body.to_string(),
                };
                Ok(effect(outside.webhook(&hook), format!("called {url}")))
            }
            Action::RequestFeedback => {
                let (subject_kind, subject_id) = rules::subject_parts(&subject).unwrap_or(("", ""));
                let which = if subject_kind == "interview" {
                    format!("interview.id = {}", quote(subject_id))
                } else {
                    format!("interview.application.id = {}", quote(subject_id))
                };
                // Seats on interviews that are over, whose person has written nothing.
                let seats = format!(
                    "report interview_participants where {which} where interview.status = \"completed\" \
                     show interview.id, user.id, user.email, interview.title, interview.application.candidate.name"
                );
                let seats = self.rows_as(store, &owner, &seats, now)?;
                let written = format!(
                    "report feedback where {} show interview.id, author.id",
                    which
                );
                let written: Vec<(Option<String>, Option<String>)> = self
                    .rows_as(store, &owner, &written, now)?
                    .iter()
                    .map(|r| (r.first().and_then(text_of), r.get(1).and_then(text_of)))
                    .collect();
                let mut sent = Vec::new();
                for seat in &seats {
                    let cell = |i: usize| seat.get(i).and_then(text_of);
                    let (interview, user, email) = (cell(0), cell(1), cell(2));
                    if written.contains(&(interview.clone(), user.clone())) {
                        continue;
                    }
                    let (Some(interview), Some(email)) = (interview, email) else {
                        continue;
                    };
                    let title = cell(3).unwrap_or_else(|| "your interview".to_owned());
                    let candidate = cell(4).unwrap_or_else(|| "[hidden]".to_owned());
                    let mail = OutgoingEmail {
                        to: vec![email.clone()],
                        subject: format!("Feedback requested: {title} with {candidate}")
                            .replace(['\r', '\n'], " "),
                        body: format!(
                            "Please submit your scorecard for {title} with {candidate} (interview {interview})."
                        ),
                        message_id: format!(
                            "<{key}.{interview}.{}@hireplane>",
                            user.unwrap_or_default()
                        ),
                    };
                    if let Err(e) = outside.email(&mail) {
                        return Ok(effect(Err(e), String::new()));
                    }
                    sent.push(email);
                }
                Ok(Step::Done(format!(
                    "asked {} interviewer(s) for feedback",
                    sent.len()
                )))
            }
            Action::ScheduleLoop { stage, plan } => {
                let Some(application) = application else {
                    return Ok(Step::Fail(format!(
                        "`{subject}` has no application its owner may see"
                    )));
                };
                self.schedule_loop(store, &owner, &application, stage, plan.clone(), now)
            }
            Action::CalendarEvent { calendar } => {
                let Some(interview) = field("interview") else {
                    return Ok(Step::Fail("the rule's subject is no interview".to_owned()));
                };
                let text = format!(
                    "report interviews where id = {} show title, starts_at, ends_at, status, \
                     application.candidate.name, application.job.title",
                    quote(&interview)
                );
                let rows = self.rows_as(store, &owner, &text, now)?;
                let Some(row) = rows.first() else {
                    return Ok(Step::Fail(format!(
                        "its owner may not see interview `{interview}`"
                    )));
                };
                let attendees = format!(
                    "report interview_participants where interview.id = {} show user.email",
                    quote(&interview)
                );
                let attendees: Vec<String> = self
                    .rows_as(store, &owner, &attendees, now)?
                    .iter()
                    .filter_map(|r| r.first().and_then(text_of))
                    .collect();
                let ics = interview_ics(&interview, row, &attendees, now);
                let put = OutgoingCalendarEvent {
                    calendar: calendar.clone(),
                    uid: format!("{interview}@hireplane"),
                    ics,
                };
                Ok(effect(
                    outside.calendar_put(&put),
                    format!("put `{interview}` on {calendar}"),
                ))
            }
        }
    }

    /// The `schedule_loop` action: the earliest loop that fits, booked as the owner (the
    /// same authorization, request, solver, checker and booking as the API's
    /// `schedulingOptions` and `bookInterviewLoop`), unless the application already has
    /// interviews scheduled in the stage (a job run again books nothing twice).
    fn schedule_loop(
        &self,
        store: &mut Store,
        owner: &Access,
        application: &str,
        stage: &str,
        plan: Json,
        now: Instant,
    ) -> Result<Step, AppError> {
        let booked = format!(
            "report interviews where application.id = {} where stage.id = {} where status = \"scheduled\" show id",
            quote(application),
            quote(stage)
        );
        if !self.rows_as(store, owner, &booked, now)?.is_empty() {
            return Ok(Step::Done(format!(
                "`{application}` already has interviews scheduled in `{stage}`"
            )));
        }
        let org = owner.viewer.org.clone();
        self.authorize_command(
            store,
            owner,
            &Command::SchedulingOptions { application },
            now,
        )?;
        let request =
            crate::scheduling::request_from_store(store, &org, application, plan.clone(), now)
                .map_err(|e| AppError::invalid("plan", format!("`plan`: {e}")))?;
        // The scheduler reads no clock: its budget is here (10 s of search at most).
        let stop_at = std::time::Instant::now() + Duration::from_secs(10);
        let mut budget = move || std::time::Instant::now() < stop_at;
        let solution = match scheduling::solve_within(&request, &mut budget) {
            Ok(solution) => solution,
            Err(scheduling::SolveError::Stopped(stop)) => {
                return Ok(Step::Retry {
                    error: format!("the scheduler found no loop in time: {stop}"),
                    after: None,
                });
            }
            Err(e) => return Ok(Step::Fail(format!("`plan`: {e}"))),
        };
        let Some(best) = solution.options().first().cloned() else {
            let why = match &solution {
                scheduling::Solution::Infeasible { reasons } => reasons.join("; "),
                scheduling::Solution::Options { .. } => "no option".to_owned(),
            };
            return Ok(Step::Fail(format!("no loop fits: {why}")));
        };
        let ids = self.book_interview_loop(
            store,
            owner,
            crate::hiring::BookInterviewLoop {
                application_id: application.to_owned(),
                stage_id: id(stage)?,
                plan,
                option: best,
            },
            now,
        )?;
        Ok(Step::Done(format!(
            "booked {} interview(s) for `{application}`",
            ids.len()
        )))
    }

    /// The addresses of an email action's recipients, as the owner may read them.
    fn addresses(
        &self,
        store: &mut Store,
        owner: &Access,
        _subject: &str,
        application: Option<&str>,
        to: &[String],
        at: Instant,
    ) -> Result<Vec<String>, AppError> {
        let mut out: Vec<String> = Vec::new();
        for r in Recipient::all(to) {
            let found: Vec<String> = match r {
                Recipient::Address(a) => vec![a],
                Recipient::Owner | Recipient::User(_) => {
                    let user = match &r {
                        Recipient::User(u) => u.clone(),
                        _ => owner.viewer.user.clone(),
                    };
                    let text = format!("report users where id = {} show email", quote(&user));
                    self.rows_as(store, owner, &text, at)?
                        .iter()
                        .filter_map(|row| row.first().and_then(text_of))
                        .collect()
                }
                Recipient::Team(role) => {
                    let Some(application) = application else {
                        continue;
                    };
                    let job = format!(
                        "report applications where id = {} show job.id",
                        quote(application)
                    );
                    let job = self
                        .rows_as(store, owner, &job, at)?
                        .first()
                        .and_then(|r| r.first())
                        .and_then(text_of);
                    let Some(job) = job else { continue };
                    let text = format!(
                        "report hiring_team where job.id = {} where role = {} show user.email",
                        quote(&job),
                        quote(&role)
                    );
                    self.rows_as(store, owner, &text, at)?
                        .iter()
                        .filter_map(|row| row.first().and_then(text_of))
                        .collect()
                }
            };
            for a in found {
                if rules::is_address(&a) && !out.contains(&a) {
                    out.push(a);
                }
            }
        }
        Ok(out)
    }

    /// Fills templates with the subject's fields as the owner may read them (a field they
    /// may not read: `[hidden]`).
    fn fill(
        &self,
        store: &mut Store,
        owner: &Access,
        subject: &str,
        templates: &[&String],
        at: Instant,
    ) -> Result<Vec<String>, AppError> {
        let pieces: Vec<Vec<Piece<'_>>> = templates
            .iter()
            .map(|t| rules::placeholders(t).unwrap_or_default())
            .collect();
        let mut fields: Vec<&str> = Vec::new();
        for p in pieces.iter().flatten() {
            if let Piece::Field(f) = p
                && !fields.contains(f)
            {
                fields.push(f);
            }
        }
        let mut values: Vec<Option<String>> = vec![None; fields.len()];
        if let (false, Some((kind, id))) = (fields.is_empty(), rules::subject_parts(subject))
            && let Some(report) = report_subject(kind)
        {
            let shown: Vec<String> = fields
                .iter()
                .enumerate()
                .map(|(i, f)| format!("{f} as f{i}"))
                .collect();
            let text = format!(
                "report {report} where id = {} show {}",
                quote(id),
                shown.join(", ")
            );
            if let Some(row) = self.rows_as(store, owner, &text, at)?.first() {
                values = row.iter().map(text_of).collect();
            }
        }
        Ok(pieces
            .iter()
            .map(|p| {
                rules::render(p, |f| {
                    fields
                        .iter()
                        .position(|x| *x == f)
                        .and_then(|i| values.get(i).cloned().flatten())
                })
            })
            .collect())
    }
}

fn id(s: &str) -> Result<Id, AppError> {
    Id::parse(s.to_owned()).map_err(|e| AppError::invalid("id", format!("`{s}`: {e}")))
}

/// When a rule's job is due: the event's time plus the rule's delay, not before now.
fn due_at(event: &OutboxEvent, rule: &Rule, now: Instant) -> Instant {
    let delay = i64::try_from(rule.delay().as_micros()).unwrap_or(i64::MAX);
    let due = Instant::from_micros(event.time.as_micros().saturating_add(delay)).unwrap_or(now);
    if due.as_micros() < now.as_micros() {
        now
    } else {
        due
    }
}

/// An iCalendar text value, escaped (RFC 5545 3.3.11).
fn ics_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace(['\r', '\n'], "\\n")
}

/// `20261206T190000Z` of an instant (from a report cell).
fn ics_time(v: Option<&Value>) -> Option<String> {
    let micros = match v? {
        Value::Instant(m) => *m,
        _ => return None,
    };
    let ts = jiff::Timestamp::from_microsecond(micros).ok()?;
    Some(ts.strftime("%Y%m%dT%H%M%SZ").to_string())
}

/// The iCalendar object of an interview (title, time, candidate and job as the owner may
/// read them; attendees by email; cancelled when it is).
fn interview_ics(interview: &str, row: &[Value], attendees: &[String], now: Instant) -> String {
    let cell = |i: usize| row.get(i).and_then(text_of);
    let title = cell(0).unwrap_or_else(|| "Interview".to_owned());
    let candidate = cell(4).unwrap_or_else(|| "[hidden]".to_owned());
    let job = cell(5).unwrap_or_else(|| "[hidden]".to_owned());
    let status = if cell(3).as_deref() == Some("cancelled") {
        "CANCELLED"
    } else {
        "CONFIRMED"
    };
    let stamp = ics_time(Some(&Value::Instant(now.as_micros()))).unwrap_or_default();
    let mut out = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hireplane//automation//EN\r\nBEGIN:VEVENT\r\n",
    );
    out.push_str(&format!("UID:{interview}@hireplane\r\nDTSTAMP:{stamp}\r\n"));
    if let Some(start) = ics_time(row.get(1)) {
        out.push_str(&format!("DTSTART:{start}\r\n"));
    }
    if let Some(end) = ics_time(row.get(2)) {
        out.push_str(&format!("DTEND:{end}\r\n"));
    }
    out.push_str(&format!(
        "SUMMARY:{}\r\nDESCRIPTION:{}\r\nSTATUS:{status}\r\n",
        ics_text(&format!("{title}: {candidate}")),
        ics_text(&format!("{job} (hireplane interview {interview})"))
    ));
    for a in attendees {
        if rules::is_address(a) {
            out.push_str(&format!("ATTENDEE;ROLE=REQ-PARTICIPANT:mailto:{a}\r\n"));
        }
    }
    out.push_str("END:VEVENT\r\nEND:VCALENDAR\r\n");
    out
}
