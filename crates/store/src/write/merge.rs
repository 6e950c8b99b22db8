//! Duplicate candidates: finding pairs that share an email (regardless of case) and merging one
//! into the other, as Greenhouse and Ashby do: the candidate kept stays with its id and its
//! applications; the duplicate's applications (and with them their stage history, interviews,
//! scorecards and offers, which hang off the application) become the kept candidate's; the
//! duplicate's contact details, location, time zone, tags and custom field values fill only what
//! the kept candidate lacks; its demographics are removed with it (never carried over: that would
//! move one person's answers between cells of an unchanged group, docs/privacy.md); the
//! duplicate is removed. One transaction.
//!
//! Refused when both have an active application to the same job (the pipeline would hold the
//! person twice): the job and both applications are named, so that one can be archived first.
//! Refused too when both have scheduled interviews at overlapping times (the person would sit
//! two at once, which a booking is never allowed to make): their times are named, not their
//! ids (either may be of a job the caller cannot see), so that one can be moved or cancelled.

use domain::Id;
use serde_json::json;

use super::WriteError;
use super::tx::Kind;
use crate::events;
use crate::rows::Val;
use crate::{Store, StoreError};

/// `mergeCandidates`: `merge` goes into `keep`.
#[derive(Clone, Debug)]
pub struct MergeCandidates {
    pub keep: Id,
    pub merge: Id,
}

/// What a merge did.
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    /// The applications that moved to the kept candidate, by id.
    pub application_ids: Vec<Id>,
    /// The kept candidate's fields that the duplicate filled (`email`, `tags`, ...).
    pub filled: Vec<String>,
}

/// The most candidates [`Store::duplicate_candidates_by_email`] returns.
pub const MAX_DUPLICATE_CANDIDATES: usize = 1000;

impl Store {
    /// Merges candidate `cmd.merge` into `cmd.keep` (see the module's doc).
    pub fn merge_candidates(
        &mut self,
        org: &str,
        cmd: MergeCandidates,
    ) -> Result<Merged, WriteError> {
        self.write_tx(org, |tx| {
            if cmd.keep == cmd.merge {
                return Err(WriteError::invalid(
                    "merge",
                    format!("`{}` is the candidate to keep; name another", cmd.merge),
                ));
            }
            let sql = format!(
                "SELECT email, phone, location, timezone, tags, custom_fields FROM candidates \
                 WHERE org_id = $1 AND id = $2{}",
                tx.lock()
            );
            let kinds = [
                Kind::Text,
                Kind::Text,
                Kind::Text,
                Kind::Text,
                Kind::Json,
                Kind::Json,
            ];
            // Locked in id order, so that two merges of the same pair wait for each other
            // instead of deadlocking.
            let mut rows = Vec::new();
            let mut ordered = [("keep", &cmd.keep), ("merge", &cmd.merge)];
            ordered.sort_by(|a, b| a.1.as_str().cmp(b.1.as_str()));
            for (field, id) in ordered {
                let row = tx
                    .query_opt(&sql, &[Val::Text(org), Val::Text(id.as_str())], &kinds)?
                    .ok_or_else(|| WriteError::not_found(field, "candidate", id.as_str()))?;
                rows.push((field, row));
            }
            let (mut kept, mut merged) = (None, None);
            for (field, row) in rows {
                if field == "keep" {
                    kept = Some(row);
                } else {
                    merged = Some(row);
                }
            }
            let (Some(kept), Some(merged)) = (kept, merged) else {
                return Err(
                    StoreError::Corrupt("merging: a candidate's row went missing".into()).into(),
                );
            };
            let both_active = tx.query_opt(
                "SELECT k.job_id, k.id, m.id FROM applications k JOIN applications m \
                 ON m.org_id = k.org_id AND m.job_id = k.job_id \
                 WHERE k.org_id = $1 AND k.candidate_id = $2 AND m.candidate_id = $3 \
                 AND k.status = 'active' AND m.status = 'active' ORDER BY k.job_id LIMIT 1",
                &[
                    Val::Text(org),
                    Val::Text(cmd.keep.as_str()),
                    Val::Text(cmd.merge.as_str()),
                ],
                &[Kind::Text, Kind::Text, Kind::Text],
            )?;
            if let Some(r) = both_active {
                return Err(WriteError::conflict(
                    "merge",
                    format!(
                        "candidates `{}` and `{}` both have an active application to job `{}` \
                         (`{}` and `{}`); archive one of them first",
                        cmd.keep,
                        cmd.merge,
                        r.text(0)?,
                        r.text(1)?,
                        r.text(2)?
                    ),
                ));
            }
            let moved: Vec<Id> = tx
                .query(
                    &format!(
                        "SELECT id FROM applications WHERE org_id = $1 AND candidate_id = $2 \
                         ORDER BY id{}",
                        tx.lock()
                    ),
                    &[Val::Text(org), Val::Text(cmd.merge.as_str())],
                    &[Kind::Text],
                )?
                .iter()
                .map(|r| r.id(0))
                .collect::<Result<_, _>>()?;
            // Bookings of either candidate wait for the merge, and the merge for them (after
            // the applications' rows, which a booking locks first).
            super::interviews::lock_candidate_seats(
                tx,
                org,
                &[cmd.keep.as_str(), cmd.merge.as_str()],
            )?;
            let overlapping = tx.query_opt(
                "SELECT a.starts_at, a.ends_at, b.starts_at, b.ends_at FROM interviews a \
                 JOIN applications aa ON aa.org_id = a.org_id AND aa.id = a.application_id \
                 JOIN interviews b ON b.org_id = a.org_id AND b.status = 'scheduled' \
                 AND b.starts_at < a.ends_at AND b.ends_at > a.starts_at \
                 JOIN applications ba ON ba.org_id = b.org_id AND ba.id = b.application_id \
                 WHERE a.org_id = $1 AND a.status = 'scheduled' AND aa.candidate_id = $2 \
                 AND ba.candidate_id = $3 ORDER BY a.starts_at, a.id, b.id LIMIT 1",
                &[
                    Val::Text(org),
                    Val::Text(cmd.keep.as_str()),
                    Val::Text(cmd.merge.as_str()),
                ],
                &[Kind::Instant, Kind::Instant, Kind::Instant, Kind::Instant],
            )?;
            if let Some(r) = overlapping {
                return Err(WriteError::conflict(
                    "merge",
                    format!(
                        "candidates `{}` and `{}` both have a scheduled interview at once (from \
                         `{}` to `{}`, and from `{}` to `{}`): one person cannot sit both; move \
                         or cancel one of them first",
                        cmd.keep,
                        cmd.merge,
                        r.instant(0)?,
                        r.instant(1)?,
                        r.instant(2)?,
                        r.instant(3)?
                    ),
                ));
            }
            tx.execute(
                "UPDATE applications SET candidate_id = $3 WHERE org_id = $1 AND candidate_id = $2",
                &[
                    Val::Text(org),
                    Val::Text(cmd.merge.as_str()),
                    Val::Text(cmd.keep.as_str()),
                ],
            )?;
            // What the kept candidate lacks, the duplicate fills.
            let mut filled = Vec::new();
            for (i, column) in ["email", "phone", "location", "timezone"]
                .into_iter()
                .enumerate()
            {
                if let (None, Some(v)) = (kept.opt_text(i)?, merged.opt_text(i)?) {
                    tx.execute(
                        &format!(
                            "UPDATE candidates SET {column} = $3 WHERE org_id = $1 AND id = $2"
                        ),
                        &[Val::Text(org), Val::Text(cmd.keep.as_str()), Val::Text(&v)],
                    )?;
                    filled.push(column.to_owned());
                }
            }
            let strings = |v: serde_json::Value| -> Vec<String> {
                serde_json::from_value(v).unwrap_or_default()
            };
            let mut tags = strings(kept.json(4)?);
            let before = tags.len();
            for t in strings(merged.json(4)?) {
                if !tags.contains(&t) {
                    tags.push(t);
                }
            }
            if tags.len() > before {
                let text =
                    serde_json::to_string(&tags).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                tx.execute(
                    "UPDATE candidates SET tags = $3 WHERE org_id = $1 AND id = $2",
                    &[
                        Val::Text(org),
                        Val::Text(cmd.keep.as_str()),
                        Val::Json(text),
                    ],
                )?;
                filled.push("tags".to_owned());
            }
            let (serde_json::Value::Object(mut values), serde_json::Value::Object(theirs)) =
                (kept.json(5)?, merged.json(5)?)
            else {
                return Err(StoreError::Corrupt(format!(
                    "`candidates.custom_fields` of `{}` or `{}` is not an object",
                    cmd.keep, cmd.merge
                ))
                .into());
            };
            let mut more = false;
            for (k, v) in theirs {
                if !values.contains_key(&k) {
                    values.insert(k, v);
                    more = true;
                }
            }
            if more {
                // Each record's values were valid; keys of one field hold values of its type.
                let text = serde_json::to_string(&values)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                tx.execute(
                    "UPDATE candidates SET custom_fields = $3 WHERE org_id = $1 AND id = $2",
                    &[
                        Val::Text(org),
                        Val::Text(cmd.keep.as_str()),
                        Val::Json(text),
                    ],
                )?;
                filled.push("custom_fields".to_owned());
            }
            // Demographics: the kept candidate's only; the duplicate's go with it. Carried
            // over, they would move one person's answers into the cells of a group whose
            // population stays the same (the kept candidate's): every other cell keeps its
            // people and its noise, and the one that changed tells the answer (red team,
            // pass 11: 5 of 5, docs/privacy.md). Answers are the person's own submission;
            // an admin's merge does not move them.
            tx.execute(
                "DELETE FROM candidate_demographics WHERE org_id = $1 AND candidate_id = $2",
                &[Val::Text(org), Val::Text(cmd.merge.as_str())],
            )?;
            tx.execute(
                "DELETE FROM candidates WHERE org_id = $1 AND id = $2",
                &[Val::Text(org), Val::Text(cmd.merge.as_str())],
            )?;
            tx.derive_candidate_flag(org, &cmd.keep)?;
            tx.emit(
                &events::CANDIDATE_MERGED,
                format!("candidate/{}", cmd.keep),
                json!({
                    "candidate_id": cmd.keep,
                    "merged_candidate_id": cmd.merge,
                    "application_ids": moved,
                }),
            );
            Ok(Merged {
                application_ids: moved,
                filled,
            })
        })
    }

    /// Org `org`'s candidates whose email another candidate has too, regardless of case (folded
    /// as [`Store::candidates_with_email`] folds it): groups of ids, each group by id, groups
    /// by their first id, at most [`MAX_DUPLICATE_CANDIDATES`] candidates in all. What the
    /// duplicate finder asks; the caller decides which it may tell.
    pub fn duplicate_candidates_by_email(&mut self, org: &str) -> Result<Vec<Vec<Id>>, StoreError> {
        self.read_tx(org, |tx| {
            let lower = if tx.is_postgres() {
                "lower"
            } else {
                "hp_lower"
            };
            let sql = format!(
                "SELECT c.id, {lower}(c.email) FROM candidates c \
                 WHERE c.org_id = $1 AND c.email IS NOT NULL AND {lower}(c.email) IN ( \
                   SELECT {lower}(d.email) FROM candidates d \
                   WHERE d.org_id = $1 AND d.email IS NOT NULL \
                   GROUP BY {lower}(d.email) HAVING count(*) > 1) \
                 ORDER BY {lower}(c.email), c.id LIMIT $2"
            );
            let limit = i64::try_from(MAX_DUPLICATE_CANDIDATES).unwrap_or(i64::MAX);
            let rows = tx.query(
                &sql,
                &[Val::Text(org), Val::Int(limit)],
                &[Kind::Text, Kind::Text],
            )?;
            let mut groups: Vec<(String, Vec<Id>)> = Vec::new();
            for r in &rows {
                let (id, email) = (r.id(0)?, r.text(1)?);
                match groups.last_mut() {
                    Some((e, ids)) if *e == email => ids.push(id),
                    _ => groups.push((email, vec![id])),
                }
            }
            let mut groups: Vec<Vec<Id>> = groups
                .into_iter()
                .map(|(_, ids)| ids)
                .filter(|ids| ids.len() > 1)
                .collect();
            groups.sort();
            Ok(groups)
        })
    }
}
