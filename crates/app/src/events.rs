//! Reading an org's domain events as a user: [`Services::events`], what the API's `events`
//! connection and `hireplane events tail --as` both call.
//!
//! A user sees an event only when they may see its subject, decided by the path every read
//! takes: the subject's row visible through the policy's row filter, i.e. one report run as the
//! caller per kind of subject in a batch (`report applications where id in (...) show id`);
//! an org's own events (`org/<org>`: custom fields defined, archive reasons, policy versions)
//! need `view` on the org, one single decision. Events of another org are never read: the
//! store reads one org's outbox, the caller's.
//!
//! What a visible event's `data` holds is then cut to what the caller may read of its subject
//! ([`store::events::Guard`], declared with each type in the catalogue): without
//! `viewStageHistory` on an application its moves are left out, without `viewDetails` its
//! source reads as null, and so on (red team, pass 9: an interviewer read the stage history
//! and source the API hides from them). Each guard is decided by the caller's field masks:
//! shown on every row, on none, or per row by one decision on the subject (the path writes
//! take). Lists of other subjects' ids keep those the caller sees, by the same reports.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use policy::Action;
use query_compiler::catalog::Entity;
use query_compiler::catalog::FieldGroup;
use query_compiler::{EntityId, Guard as _, Visibility};
use serde_json::Value;
use store::events::{Guard, Hides};
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
        let mut readers = Readers::default();
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
                let seq = e.seq;
                if visible.contains(&e.subject)
                    && let Some(e) = readers.cut(self, store, access, e, &visible, at)?
                {
                    if out.len() == first {
                        // One more than asked: there is a next page, after the last returned.
                        return Ok(EventsPage {
                            events: out,
                            end_seq: cursor,
                            has_next_page: true,
                        });
                    }
                    out.push(e);
                }
                cursor = seq;
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
            // The ids of other subjects the event lists: the caller gets those they see.
            for (field, kind) in event_type(&e.event_type).map_or(&[][..], |t| t.refers) {
                if let Some(Value::Array(ids)) = e.data.get(field) {
                    let ids = ids.iter().filter_map(Value::as_str);
                    by_kind.entry(kind).or_default().extend(ids);
                }
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

/// The catalogue's type of CloudEvents type `name` (`hireplane.application.moved.v1`).
fn event_type(name: &str) -> Option<&'static store::events::EventType> {
    static BY_NAME: std::sync::OnceLock<HashMap<String, &'static store::events::EventType>> =
        std::sync::OnceLock::new();
    BY_NAME
        .get_or_init(|| {
            store::events::CATALOGUE
                .iter()
                .map(|t| (t.type_name(), *t))
                .collect()
        })
        .get(name)
        .copied()
}

/// The caller's answers to the guards of the events one call reads, each asked once.
#[derive(Default)]
struct Readers {
    /// Per (entity, field group): shown on every row (`Some(true)`), on none (`Some(false)`),
    /// or decided per row (`None`).
    masks: HashMap<(EntityId, FieldGroup), Option<bool>>,
    /// Per (action, subject): the decisions asked per row.
    decided: HashMap<(Action, String), bool>,
    /// Whether each of the org's custom fields is sensitive, by id; read on first need.
    sensitive: Option<HashMap<String, bool>>,
}

impl Readers {
    /// Event `e`, whose subject the caller sees (`visible`, with the other subjects its lists
    /// name), as the caller may read it: `None` when a guard hides the whole event.
    fn cut(
        &mut self,
        services: &Services,
        store: &mut Store,
        access: &Access,
        mut e: OutboxEvent,
        visible: &HashSet<String>,
        at: domain::Instant,
    ) -> Result<Option<OutboxEvent>, AppError> {
        // A type the catalogue does not know has no guards to apply: nobody's.
        let Some(t) = event_type(&e.event_type) else {
            return Ok(None);
        };
        for (field, kind) in t.refers {
            if let Some(Value::Array(ids)) = e.data.get_mut(field) {
                ids.retain(|id| {
                    id.as_str()
                        .is_some_and(|id| visible.contains(&format!("{kind}/{id}")))
                });
            }
        }
        let Some((kind, id)) = e.subject_parts() else {
            return Ok(Some(e));
        };
        let (kind, id) = (kind.to_owned(), id.to_owned());
        for g in t.guards {
            if !self.applies(store, access, g, &e.data)? {
                continue;
            }
            if self.may(services, store, access, g.action, &kind, &id, at)? {
                continue;
            }
            match g.hides {
                Hides::Event => return Ok(None),
                Hides::Fields(names) => {
                    if let Some(data) = e.data.as_object_mut() {
                        for name in names {
                            if let Some(v) = data.get_mut(*name) {
                                *v = Value::Null;
                            }
                        }
                    }
                }
                Hides::Changed(names) => {
                    if let Some(Value::Array(changed)) = e.data.get_mut("changed") {
                        changed.retain(|n| !n.as_str().is_some_and(|n| names.contains(&n)));
                        if changed.is_empty() {
                            return Ok(None);
                        }
                    }
                }
            }
        }
        Ok(Some(e))
    }

    /// Whether guard `g` applies to an event with `data`: a guard of a custom field's
    /// sensitivity applies to the values of fields of that sensitivity (a field the store no
    /// longer knows counts as sensitive).
    fn applies(
        &mut self,
        store: &mut Store,
        access: &Access,
        g: &Guard,
        data: &Value,
    ) -> Result<bool, AppError> {
        let Some(wanted) = g.sensitive else {
            return Ok(true);
        };
        if self.sensitive.is_none() {
            let defs = store.custom_fields(&access.viewer.org)?;
            self.sensitive = Some(
                defs.into_iter()
                    .map(|d| (d.id.to_string(), d.sensitive))
                    .collect(),
            );
        }
        let sensitive = data
            .get("custom_field_id")
            .and_then(Value::as_str)
            .and_then(|id| self.sensitive.as_ref().and_then(|s| s.get(id)))
            .copied()
            .unwrap_or(true);
        Ok(sensitive == wanted)
    }

    /// Whether the caller may `action` (a guard's action's name) the subject `kind`/`id`:
    /// from their field masks when those show the field group on every row or on none, else
    /// by one decision on the subject.
    #[allow(clippy::too_many_arguments)]
    fn may(
        &mut self,
        services: &Services,
        store: &mut Store,
        access: &Access,
        action: &str,
        kind: &str,
        id: &str,
        at: domain::Instant,
    ) -> Result<bool, AppError> {
        // The guard's field group on the subject's entity, as the policy engine pairs them;
        // an action that guards nothing there is not granted.
        let found = Action::parse(action).and_then(|action| {
            let entity = Entity::by_name(report_subject(kind)?)?.id;
            let (group, resource_type) = policy::field_guard(entity, action)?;
            Some((action, entity, group, resource_type))
        });
        let Some((action, entity, group, resource_type)) = found else {
            return Ok(false);
        };
        let everywhere = *self.masks.entry((entity, group)).or_insert_with(|| {
            match access.guard.fields(entity, group) {
                Visibility::All => Some(true),
                Visibility::None => Some(false),
                Visibility::Rows(_) => None,
            }
        });
        if let Some(answer) = everywhere {
            return Ok(answer);
        }
        let key = (action, format!("{kind}/{id}"));
        if let Some(answer) = self.decided.get(&key) {
            return Ok(*answer);
        }
        let request = crate::Request {
            action,
            resource_type,
            resource_id: id,
        };
        let allowed = match services.decide_entity(store, access, request, at) {
            Ok(decision) => decision.allowed,
            // Gone since the event (a merged candidate): nothing of it to read.
            Err(AppError::NoSuchEntity { .. }) => false,
            Err(e) => return Err(e),
        };
        self.decided.insert(key, allowed);
        Ok(allowed)
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
