//! Reading an org's domain events as a user: [`Services::events`], what the API's `events`
//! connection and `hireplane events tail --as` both call.
//!
//! A user sees an event only when they may see its subject, decided by the path every read
//! takes: the subject's row visible through the policy's row filter, i.e. one report run as the
//! caller per kind of subject in a batch (`report applications where id in (...) show id`);
//! an org's own events (`org/<org>`: custom fields defined, archive reasons, policy versions)
//! need `view` on the org, one single decision. Events of another org are never read: the
//! store reads one org's outbox, the caller's.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use store::{EventQuery, OutboxEvent, Store};

use crate::{Access, AppError, Services};

/// The most events one call answers with.
pub const MAX_EVENTS_PAGE: u32 = 500;

/// Events read from the outbox per round while filtering.
const SCAN_BATCH: u32 = 500;

/// The most events one call reads from the outbox (visible or not) before it answers with what
/// it found, so a caller who sees few events of a busy org gets an answer in bounded time.
const MAX_SCANNED: usize = 10_000;

/// Which events to read ([`Services::events`]).
#[derive(Clone, Debug, Default)]
pub struct EventsRequest {
    /// Only events after this sequence number (`orgseq`; 0 for the first).
    pub after_seq: i64,
    /// Only these types: the CloudEvents type (`hireplane.application.moved.v1`) or the
    /// catalogue's name (`application.moved`); all when empty.
    pub types: Vec<String>,
    /// At most this many events, 1 to [`MAX_EVENTS_PAGE`].
    pub first: u32,
}

/// A page of events the caller may see, in sequence order.
#[derive(Clone, Debug)]
pub struct EventsPage {
    pub events: Vec<OutboxEvent>,
    /// Where the next page starts (`after_seq` of the next request): the last event's
    /// sequence, or further when the events after it were read and none was the caller's.
    pub end_seq: i64,
    /// Whether there may be more events for the caller after `end_seq`: true when a further one
    /// was found, or when the scan stopped at its bound before the end of the outbox.
    pub has_next_page: bool,
}

/// The report subject whose rows decide who sees events about `kind` (`application/<id>`).
fn report_subject(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "candidate" => "candidates",
        "application" => "applications",
        "interview" => "interviews",
        "feedback" => "feedback",
        "offer" => "offers",
        "job" => "jobs",
        _ => return None,
    })
}

/// The CloudEvents type of a `--type` / `type:` given as either form, or a refusal that lists
/// the catalogue.
pub fn event_type_name(given: &str) -> Result<String, AppError> {
    let found = store::events::CATALOGUE
        .iter()
        .find(|t| t.type_name() == given || t.name == given);
    match found {
        Some(t) => Ok(t.type_name()),
        None => Err(AppError::invalid(
            "type",
            format!(
                "`{given}` is no event type; the catalogue (docs/events.md) has {}",
                store::events::CATALOGUE
                    .iter()
                    .map(|t| t.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

impl Services {
    /// The caller's org's events after `request.after_seq` that the caller may see (see the
    /// module's doc), at most `request.first`.
    pub fn events(
        &self,
        store: &mut Store,
        access: &Access,
        request: &EventsRequest,
        at: domain::Instant,
    ) -> Result<EventsPage, AppError> {
        if !(1..=MAX_EVENTS_PAGE).contains(&request.first) {
            return Err(AppError::invalid(
                "first",
                format!("`first` is {}; give 1 to {MAX_EVENTS_PAGE}", request.first),
            ));
        }
        if request.after_seq < 0 {
            return Err(AppError::invalid(
                "after",
                format!(
                    "`after` is {}; sequence numbers start at 1",
                    request.after_seq
                ),
            ));
        }
        let types = request
            .types
            .iter()
            .map(|t| event_type_name(t))
            .collect::<Result<Vec<_>, _>>()?;
        let org = access.viewer.org.clone();
        let first = usize::try_from(request.first).unwrap_or(usize::MAX);
        let mut out = Vec::new();
        let mut cursor = request.after_seq;
        let mut scanned = 0usize;
        loop {
            let batch = store.outbox_events(
                &org,
                &EventQuery {
                    after_seq: cursor,
                    types: types.clone(),
                    limit: SCAN_BATCH,
                },
            )?;
            let full = batch.len() == usize::try_from(SCAN_BATCH).unwrap_or(usize::MAX);
            scanned += batch.len();
            let visible = self.visible_subjects(store, access, &batch, at)?;
            for e in batch {
                if visible.contains(&e.subject) {
                    if out.len() == first {
                        // One more than asked: there is a next page, after the last returned.
                        return Ok(EventsPage {
                            events: out,
                            end_seq: cursor,
                            has_next_page: true,
                        });
                    }
                    out.push(e.clone());
                }
                cursor = e.seq;
            }
            if !full {
                return Ok(EventsPage {
                    events: out,
                    end_seq: cursor,
                    has_next_page: false,
                });
            }
            if scanned >= MAX_SCANNED {
                return Ok(EventsPage {
                    events: out,
                    end_seq: cursor,
                    has_next_page: true,
                });
            }
        }
    }

    /// The subjects of `events` the caller may see.
    fn visible_subjects(
        &self,
        store: &mut Store,
        access: &Access,
        events: &[OutboxEvent],
        at: domain::Instant,
    ) -> Result<HashSet<String>, AppError> {
        let mut by_kind: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for e in events {
            if let Some((kind, id)) = e.subject_parts() {
                by_kind.entry(kind).or_default().insert(id);
            }
        }
        let mut visible = HashSet::new();
        for (kind, ids) in by_kind {
            if kind == "org" {
                // The org's own events: whoever may view the org (never another org's: the
                // outbox read was the caller's org's).
                let org = access.viewer.org.clone();
                let decision = self.decide_entity(
                    store,
                    access,
                    crate::Request {
                        action: policy::Action::View,
                        resource_type: "Org",
                        resource_id: &org,
                    },
                    at,
                )?;
                if decision.allowed && ids.contains(&org.as_str()) {
                    visible.insert(format!("org/{org}"));
                }
                continue;
            }
            let Some(subject) = report_subject(kind) else {
                continue; // a kind no report shows: nobody's
            };
            let ids: Vec<&str> = ids.into_iter().collect();
            for chunk in ids.chunks(200) {
                let list: Vec<String> = chunk
                    .iter()
                    .map(|id| format!("\"{}\"", id.replace('\\', "\\\\").replace('"', "\\\"")))
                    .collect();
                let text = format!(
                    "report {subject}\nwhere id in ({})\nshow id\nlimit {}",
                    list.join(", "),
                    chunk.len()
                );
                let report =
                    query_syntax::parse(&text).map_err(|d| AppError::Report(Box::new(d)))?;
                let run = self.run_report_as(store, access.clone(), &report, None, at)?;
                for row in run.rows.rows {
                    if let Some(serde_json::Value::String(id)) =
                        row.into_iter().next().map(|v| v.to_json())
                    {
                        visible.insert(format!("{kind}/{id}"));
                    }
                }
            }
        }
        Ok(visible)
    }
}

/// Every event of org `org` after `request.after_seq`, unfiltered: the operator's view (the
/// CLI without `--as`, with the database's own credentials; no user's token reaches it).
pub fn operator_events(
    store: &mut Store,
    org: &str,
    request: &EventsRequest,
) -> Result<EventsPage, AppError> {
    let types = request
        .types
        .iter()
        .map(|t| event_type_name(t))
        .collect::<Result<Vec<_>, _>>()?;
    let limit = request.first.clamp(1, MAX_EVENTS_PAGE);
    let events = store.outbox_events(
        org,
        &EventQuery {
            after_seq: request.after_seq,
            types,
            limit,
        },
    )?;
    let full = events.len() == usize::try_from(limit).unwrap_or(usize::MAX);
    Ok(EventsPage {
        end_seq: events.last().map_or(request.after_seq, |e| e.seq),
        events,
        has_next_page: full,
    })
}
