//! What automation rules need of the store (migration 22): each org's rules and every version
//! of them, the dispatch cursor over the org's outbox, and what each rule did with each event.
//!
//! The store keeps a rule's definition as the text `app` checked (crate `workflow` reads it);
//! it copies out what the dispatcher filters on (`event_type`, `enabled`) and who the rule runs
//! as. A save checks the revision the caller read (`expected_version`), so two admins editing
//! one rule cannot overwrite each other unknowingly.
//!
//! Dispatch: the orgs whose outbox head is past their cursor and that have an enabled rule
//! ([`Store::automation_backlog`]); their events past the cursor
//! ([`Store::automation_events`]); and [`Store::automation_advance`], which enqueues the jobs
//! the dispatcher decided on and moves the cursor in one transaction, only if the cursor is
//! still where the dispatcher read it (so two dispatchers never queue an event twice; the jobs'
//! unique keys are a second guard).

use domain::Instant;

use crate::events::{EVENT_COLUMNS, EVENT_KINDS, OutboxEvent};
use crate::jobs::NewJob;
use crate::rows::Val;
use crate::write::WriteError;
use crate::write::tx::{Kind, Row};
use crate::{Store, StoreError};

/// A rule as stored now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRule {
    pub id: String,
    pub version: i64,
    pub name: String,
    /// The bare event type (`application.moved`).
    pub event_type: String,
    pub enabled: bool,
    pub deleted: bool,
    pub owner_user_id: String,
    /// The JSON document, as checked when it was saved.
    pub definition: String,
    /// The org's outbox head when this version was saved: it applies to later events only.
    pub since_seq: i64,
    pub updated_at: Instant,
    pub updated_by: String,
}

/// One version of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleVersion {
    pub version: i64,
    pub enabled: bool,
    pub deleted: bool,
    pub owner_user_id: String,
    pub definition: String,
    pub changed_at: Instant,
    pub changed_by: String,
    pub reason: String,
}

/// A change of a rule: a new rule (`id` not taken yet, `expected_version` `None`), a new
/// version of one, or its deletion.
#[derive(Clone, Debug)]
pub struct RuleChange<'a> {
    pub id: &'a str,
    /// The version the caller read; `None` for a new rule.
    pub expected_version: Option<i64>,
    pub name: &'a str,
    pub event_type: &'a str,
    pub enabled: bool,
    pub deleted: bool,
    pub owner_user_id: &'a str,
    pub definition: &'a str,
    pub by: &'a str,
    pub reason: &'a str,
    pub at: Instant,
    /// The API token the change was made with (migration 36), if any: revoking it disables
    /// the rule ([`Store::revoke_token`]); saved only while the token lives.
    pub token_id: Option<&'a str>,
}

/// What a rule did with an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRun {
    pub rule_id: String,
    pub event_id: String,
    pub rule_version: i64,
    pub seq: i64,
    pub subject: String,
    /// `fired`, `skipped` or `failed`.
    pub outcome: String,
    pub detail: String,
    pub at: Instant,
}

/// An org with events its rules have not looked at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutomationBacklog {
    pub org_id: String,
    /// The last `seq` dispatched.
    pub cursor: i64,
    /// The last `seq` committed.
    pub head: i64,
}

const RULE_COLUMNS: &str = "id, version, name, event_type, enabled, deleted, owner_user_id, \
     definition, since_seq, updated_at, updated_by";
const RULE_KINDS: [Kind; 11] = [
    Kind::Text,
    Kind::Int,
    Kind::Text,
    Kind::Text,
    Kind::Bool,
    Kind::Bool,
    Kind::Text,
    Kind::Text,
    Kind::Int,
    Kind::Instant,
    Kind::Text,
];

fn rule_of(r: &Row) -> Result<StoredRule, StoreError> {
    Ok(StoredRule {
        id: r.text(0)?,
        version: r.int(1)?,
        name: r.text(2)?,
        event_type: r.text(3)?,
        enabled: r.boolean(4)?,
        deleted: r.boolean(5)?,
        owner_user_id: r.text(6)?,
        definition: r.text(7)?,
        since_seq: r.int(8)?,
        updated_at: r.instant(9)?,
        updated_by: r.text(10)?,
    })
}

impl Store {
    /// Saves a rule change as the rule's next version, with its history row, in one
    /// transaction; the first rule of an org sets its dispatch cursor to the org's head.
    /// Refused when the org does not exist, when a new rule's id is taken, or when the rule
    /// changed since the caller read `expected_version`.
    pub fn save_rule(
        &mut self,
        org: &str,
        change: &RuleChange<'_>,
    ) -> Result<StoredRule, WriteError> {
        self.write_tx(org, |tx| {
            // Made with a token: only while it lives, its row locked until commit, so that its
            // revocation waits and then disables this version, or comes first (red team, pass
            // 18: a request the auth cache let in after a revocation).
            if let Some(token) = change.token_id {
                let live = tx.query_opt(
                    // `FOR UPDATE`, not `lock_shared`'s `FOR KEY SHARE`: the revocation's
                    // update of `revoked_at` (not a key) would not wait for that.
                    &format!("{}{}", crate::tokens::LIVE_TOKEN, tx.lock()),
                    &[Val::Text(token)],
                    &[Kind::Text],
                )?;
                if live.is_none() {
                    return Err(StoreError::TokenRevoked(token.to_owned()).into());
                }
            }
            let current = tx.query_opt(
                &format!(
                    "SELECT version FROM automation_rules WHERE org_id = $1 AND id = $2{}",
                    tx.lock()
                ),
                &[Val::Text(org), Val::Text(change.id)],
                &[Kind::Int],
            )?;
            let current = current.map(|r| r.int(0)).transpose()?;
            let version = match (current, change.expected_version) {
                (None, None) => 1,
                (Some(_), None) => {
                    return Err(WriteError::conflict(
                        "id",
                        format!("`{}` is already the id of a rule", change.id),
                    ));
                }
                (None, Some(_)) => {
                    return Err(WriteError::not_found("id", "rule", change.id));
                }
                (Some(now), Some(read)) if now != read => {
                    return Err(WriteError::conflict(
                        "version",
                        format!(
                            "rule `{}` is at version {now}, not {read}: it changed meanwhile; read it again",
                            change.id
                        ),
                    ));
                }
                (Some(now), Some(_)) => now + 1,
            };
            let head = tx
                .query_opt(
                    "SELECT last_seq FROM outbox_heads WHERE org_id = $1",
                    &[Val::Text(org)],
                    &[Kind::Int],
                )?
                .map(|r| r.int(0))
                .transpose()?
                .unwrap_or(0);
            let vals = [
                Val::Text(org),
                Val::Text(change.id),
                Val::Int(version),
                Val::Text(change.name),
                Val::Text(change.event_type),
                Val::Bool(change.enabled),
                Val::Bool(change.deleted),
                Val::Text(change.owner_user_id),
                Val::Text(change.definition),
                Val::Instant(change.at),
                Val::Text(change.by),
                Val::Int(head),
                change.token_id.map_or(Val::Null, Val::Text),
            ];
            if version == 1 {
                tx.execute(
                    "INSERT INTO automation_rules (org_id, id, version, name, event_type, \
                     enabled, deleted, owner_user_id, definition, updated_at, updated_by, since_seq, \
                     saved_with_token) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                    &vals,
                )?;
            } else {
                tx.execute(
                    "UPDATE automation_rules SET version = $3, name = $4, event_type = $5, \
                     enabled = $6, deleted = $7, owner_user_id = $8, definition = $9, \
                     updated_at = $10, updated_by = $11, since_seq = $12, saved_with_token = $13 \
                     WHERE org_id = $1 AND id = $2",
                    &vals,
                )?;
            }
            tx.execute(
                "INSERT INTO automation_rule_versions (org_id, rule_id, version, enabled, \
                 deleted, owner_user_id, definition, changed_at, changed_by, reason) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &[
                    Val::Text(org),
                    Val::Text(change.id),
                    Val::Int(version),
                    Val::Bool(change.enabled),
                    Val::Bool(change.deleted),
                    Val::Text(change.owner_user_id),
                    Val::Text(change.definition),
                    Val::Instant(change.at),
                    Val::Text(change.by),
                    Val::Text(change.reason),
                ],
            )?;
            // The org's first rule starts the dispatch at the head: nothing before it is
            // looked at (and `since_seq` keeps each version to the events after it).
            tx.execute(
                "INSERT INTO automation_cursors (org_id, seq, updated_at) \
                 SELECT $1, $3, $2 \
                 WHERE NOT EXISTS (SELECT 1 FROM automation_cursors WHERE org_id = $1)",
                &[Val::Text(org), Val::Instant(change.at), Val::Int(head)],
            )?;
            Ok(StoredRule {
                id: change.id.to_owned(),
                version,
                name: change.name.to_owned(),
                event_type: change.event_type.to_owned(),
                enabled: change.enabled,
                deleted: change.deleted,
                owner_user_id: change.owner_user_id.to_owned(),
                definition: change.definition.to_owned(),
                since_seq: head,
                updated_at: change.at,
                updated_by: change.by.to_owned(),
            })
        })
    }

    /// The org's rules, deleted ones only when `with_deleted`, by id.
    pub fn rules(&mut self, org: &str, with_deleted: bool) -> Result<Vec<StoredRule>, StoreError> {
        self.read_tx(org, |tx| {
            let rows = tx.query(
                &format!(
                    "SELECT {RULE_COLUMNS} FROM automation_rules WHERE org_id = $1 \
                     AND (deleted = $2 OR deleted = FALSE) ORDER BY id"
                ),
                &[Val::Text(org), Val::Bool(with_deleted)],
                &RULE_KINDS,
            )?;
            rows.iter().map(rule_of).collect()
        })
    }

    /// One rule of the org (deleted or not).
    pub fn rule(&mut self, org: &str, id: &str) -> Result<Option<StoredRule>, StoreError> {
        self.read_tx(org, |tx| {
            tx.query_opt(
                &format!(
                    "SELECT {RULE_COLUMNS} FROM automation_rules WHERE org_id = $1 AND id = $2"
                ),
                &[Val::Text(org), Val::Text(id)],
                &RULE_KINDS,
            )?
            .as_ref()
            .map(rule_of)
            .transpose()
        })
    }

    /// Every version of a rule, oldest first.
    pub fn rule_versions(&mut self, org: &str, id: &str) -> Result<Vec<RuleVersion>, StoreError> {
        self.read_tx(org, |tx| {
            let rows = tx.query(
                "SELECT version, enabled, deleted, owner_user_id, definition, changed_at, \
                 changed_by, reason FROM automation_rule_versions \
                 WHERE org_id = $1 AND rule_id = $2 ORDER BY version",
                &[Val::Text(org), Val::Text(id)],
                &[
                    Kind::Int,
                    Kind::Bool,
                    Kind::Bool,
                    Kind::Text,
                    Kind::Text,
                    Kind::Instant,
                    Kind::Text,
                    Kind::Text,
                ],
            )?;
            rows.iter()
                .map(|r| {
                    Ok(RuleVersion {
                        version: r.int(0)?,
                        enabled: r.boolean(1)?,
                        deleted: r.boolean(2)?,
                        owner_user_id: r.text(3)?,
                        definition: r.text(4)?,
                        changed_at: r.instant(5)?,
                        changed_by: r.text(6)?,
                        reason: r.text(7)?,
                    })
                })
                .collect()
        })
    }

    /// The orgs with an enabled rule whose outbox head is past their dispatch cursor, most
    /// behind first (from the small tables: never a scan of the outbox).
    pub fn automation_backlog(&mut self) -> Result<Vec<AutomationBacklog>, StoreError> {
        self.plain_tx(|tx| {
            let rows = tx.query(
                "SELECT c.org_id, c.seq, h.last_seq FROM automation_cursors c \
                 JOIN outbox_heads h ON h.org_id = c.org_id \
                 WHERE h.last_seq > c.seq AND EXISTS (SELECT 1 FROM automation_rules r \
                   WHERE r.org_id = c.org_id AND r.enabled AND NOT r.deleted) \
                 ORDER BY h.last_seq - c.seq DESC, c.org_id",
                &[],
                &[Kind::Text, Kind::Int, Kind::Int],
            )?;
            rows.iter()
                .map(|r| {
                    Ok(AutomationBacklog {
                        org_id: r.text(0)?,
                        cursor: r.int(1)?,
                        head: r.int(2)?,
                    })
                })
                .collect()
        })
    }

    /// Org `org`'s events with `seq` in `after+1 ..= up_to`, at most `limit`, in order.
    pub fn automation_events(
        &mut self,
        org: &str,
        after: i64,
        up_to: i64,
        limit: u32,
    ) -> Result<Vec<(OutboxEvent, Option<i64>)>, StoreError> {
        self.plain_tx(|tx| {
            let sql = format!(
                "SELECT {EVENT_COLUMNS}, automation_depth FROM outbox \
                 WHERE org_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4"
            );
            let mut kinds = EVENT_KINDS.to_vec();
            kinds.push(Kind::Int);
            let rows = tx.query(
                &sql,
                &[
                    Val::Text(org),
                    Val::Int(after),
                    Val::Int(up_to),
                    Val::Int(i64::from(limit)),
                ],
                &kinds,
            )?;
            rows.iter()
                .map(|r| {
                    Ok((
                        OutboxEvent::from_row(org, r)?,
                        r.opt_int(EVENT_KINDS.len())?,
                    ))
                })
                .collect()
        })
    }

    /// One event of the org by its `seq`.
    pub fn outbox_event_at(
        &mut self,
        org: &str,
        seq: i64,
    ) -> Result<Option<OutboxEvent>, StoreError> {
        self.plain_tx(|tx| {
            let sql = format!("SELECT {EVENT_COLUMNS} FROM outbox WHERE org_id = $1 AND seq = $2");
            tx.query_opt(&sql, &[Val::Text(org), Val::Int(seq)], &EVENT_KINDS)?
                .as_ref()
                .map(|r| OutboxEvent::from_row(org, r))
                .transpose()
        })
    }

    /// One event of the org by its id, for a dry run.
    pub fn outbox_event(&mut self, org: &str, id: &str) -> Result<Option<OutboxEvent>, StoreError> {
        self.plain_tx(|tx| {
            let sql = format!("SELECT {EVENT_COLUMNS} FROM outbox WHERE org_id = $1 AND id = $2");
            tx.query_opt(&sql, &[Val::Text(org), Val::Text(id)], &EVENT_KINDS)?
                .as_ref()
                .map(|r| OutboxEvent::from_row(org, r))
                .transpose()
        })
    }

    /// Org `org`'s dispatch cursor (0 when no rule was ever saved).
    pub fn automation_cursor(&mut self, org: &str) -> Result<i64, StoreError> {
        self.plain_tx(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT seq FROM automation_cursors WHERE org_id = $1",
                    &[Val::Text(org)],
                    &[Kind::Int],
                )?
                .map(|r| r.int(0))
                .transpose()?
                .unwrap_or(0))
        })
    }

    /// Enqueues `jobs` and moves org `org`'s dispatch cursor from `from` to `to`, in one
    /// transaction, if the cursor is still at `from`. Returns whether it was (false: another
    /// dispatcher moved it; nothing was written).
    pub fn automation_advance(
        &mut self,
        org: &str,
        from: i64,
        to: i64,
        jobs: &[NewJob],
        now: Instant,
    ) -> Result<bool, StoreError> {
        self.plain_tx(|tx| {
            let moved = tx.execute(
                "UPDATE automation_cursors SET seq = $3, updated_at = $4 \
                 WHERE org_id = $1 AND seq = $2",
                &[
                    Val::Text(org),
                    Val::Int(from),
                    Val::Int(to),
                    Val::Instant(now),
                ],
            )?;
            if moved != 1 {
                return Ok(false);
            }
            for job in jobs {
                tx.enqueue_job(job, now)?;
            }
            Ok(true)
        })
    }

    /// Records what a rule did with an event (the first record of a rule and event stands: a
    /// job run again after a crash does not change it).
    pub fn record_rule_run(&mut self, org: &str, run: &RuleRun) -> Result<(), StoreError> {
        self.plain_tx(|tx| {
            tx.execute(
                "INSERT INTO automation_runs (org_id, rule_id, event_id, rule_version, seq, \
                 subject, outcome, detail, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (org_id, rule_id, event_id) DO NOTHING",
                &[
                    Val::Text(org),
                    Val::Text(&run.rule_id),
                    Val::Text(&run.event_id),
                    Val::Int(run.rule_version),
                    Val::Int(run.seq),
                    Val::Text(&run.subject),
                    Val::Text(&run.outcome),
                    Val::Text(&run.detail),
                    Val::Instant(run.at),
                ],
            )?;
            Ok(())
        })
    }

    /// How many rule runs of org `org` on `subject` (only those that fired, with `fired_only`)
    /// at or after `since`, on the index (`org_id`, `at`): the loop guard's budgets
    /// (`app::automation::MAX_CHAINED_RUNS` of fired runs, `MAX_CHAINED_JOBS` of all).
    pub fn rule_runs_since(
        &mut self,
        org: &str,
        subject: &str,
        since: Instant,
        fired_only: bool,
    ) -> Result<i64, StoreError> {
        let outcome = if fired_only {
            "AND outcome = 'fired'"
        } else {
            ""
        };
        self.read_tx(org, |tx| {
            let rows = tx.query(
                &format!(
                    "SELECT count(*) FROM automation_runs WHERE org_id = $1 AND at >= $2 \
                     AND subject = $3 {outcome}"
                ),
                &[Val::Text(org), Val::Instant(since), Val::Text(subject)],
                &[Kind::Int],
            )?;
            rows.first().map_or(Ok(0), |r| r.int(0))
        })
    }

    /// The org's latest rule runs (of one rule, when given), newest first, at most `limit`.
    pub fn rule_runs(
        &mut self,
        org: &str,
        rule: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RuleRun>, StoreError> {
        self.read_tx(org, |tx| {
            let rows = tx.query(
                "SELECT rule_id, event_id, rule_version, seq, subject, outcome, detail, at \
                 FROM automation_runs WHERE org_id = $1 AND (CAST($2 AS TEXT) IS NULL OR rule_id = CAST($2 AS TEXT)) \
                 ORDER BY at DESC, seq DESC, rule_id LIMIT $3",
                &[
                    Val::Text(org),
                    rule.map_or(Val::Null, Val::Text),
                    Val::Int(i64::from(limit)),
                ],
                &[
                    Kind::Text,
                    Kind::Text,
                    Kind::Int,
                    Kind::Int,
                    Kind::Text,
                    Kind::Text,
                    Kind::Text,
                    Kind::Instant,
                ],
            )?;
            rows.iter()
                .map(|r| {
                    Ok(RuleRun {
                        rule_id: r.text(0)?,
                        event_id: r.text(1)?,
                        rule_version: r.int(2)?,
                        seq: r.int(3)?,
                        subject: r.text(4)?,
                        outcome: r.text(5)?,
                        detail: r.text(6)?,
                        at: r.instant(7)?,
                    })
                })
                .collect()
        })
    }
}
