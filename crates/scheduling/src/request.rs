//! The scheduling request: its JSON shape (serde, unknown fields refused) and its validation into
//! the prepared form the solver works on (zones resolved, instants turned into minutes, references
//! turned into indexes). Every refusal names the field, e.g.
//! `loop.sessions[1].seats[0].pool: unknown pool `design``.
//!
//! # JSON format
//!
//! An abridged request (`crates/scheduling/examples/request.json` is a complete one):
//!
//! ```json
//! {
//!   "now": "2026-03-02T08:00:00Z",
//!   "grid_minutes": 15,
//!   "options": 5,
//!   "loop": {
//!     "sessions": [
//!       { "id": "coding", "duration_minutes": 60,
//!         "seats": [ { "pool": "coding", "count": 2 } ],
//!         "trainee": { "pool": "coding" } },
//!       { "id": "manager", "duration_minutes": 45, "seats": [ { "person": "u-ana" } ] }
//!     ],
//!     "order": [ { "fixed": ["coding", "manager"] }, { "before": ["coding", "manager"] },
//!                { "last": "manager" } ],
//!     "min_gap_minutes": 0,
//!     "max_gap_minutes": 60,
//!     "max_span_minutes": 300,
//!     "breaks": [["12:00", "13:00"]],
//!     "split_days": false
//!   },
//!   "candidate": {
//!     "zone": "Europe/Paris",
//!     "windows": [ ["2026-03-02T08:00:00Z", "2026-03-02T17:00:00Z"] ],
//!     "min_notice_minutes": 1440,
//!     "horizon_days": 14
//!   },
//!   "interviewers": [
//!     { "id": "u-ana", "zone": "America/New_York",
//!       "working_hours": { "mon": [["09:00", "12:00"], ["13:00", "17:00"]], "tue": [["09:00", "17:00"]] },
//!       "busy": [ ["2026-03-02T15:00:00Z", "2026-03-02T16:00:00Z"] ],
//!       "booked": [ ["2026-03-03T15:00:00Z", "2026-03-03T16:00:00Z"] ],
//!       "max_per_day": 2, "max_per_week": 6, "active": true }
//!   ],
//!   "pools": [
//!     { "id": "coding", "required_shadows": 2, "required_reverse_shadows": 1,
//!       "members": [ { "user": "u-ana", "status": "qualified" },
//!                    { "user": "u-bo", "status": "trainee", "shadows_completed": 1,
//!                      "reverse_shadows_completed": 0 } ] }
//!   ]
//! }
//! ```
//!
//! - Instants are RFC 3339 (`Z` or an offset). Intervals are `[start, end)` pairs. Busy blocks and
//!   booked interviews are widened to whole minutes; candidate windows are narrowed. An interval
//!   that ends before it starts is refused; an empty one (end = start) is no time at all: it
//!   blocks nothing, a booked one counts towards no load limit, a window offers nothing (the
//!   solver, the checker and the calendar readers all follow this one rule); so is an empty
//!   working span or break (`["12:00", "12:00"]`).
//! - `grid_minutes` (default 15) divides 1440; every session starts on the UTC grid (which is also
//!   the local grid in zones such as +05:30 and +05:45 for grids of 15 minutes or less) and every
//!   duration is a multiple of it. `options` (default 5) is how many ranked options to return.
//! - A seat is either `{"person": USER}` or `{"pool": POOL, "count": K}` (`count` default 1).
//!   The optional `trainee` seat is filled, when possible, by a trainee of that pool (see below).
//! - Order rules: `fixed` (the listed sessions in this order), `before` (`[a, b]`: a ends before b
//!   starts), `last` (this session ends the loop). Sessions never overlap (the candidate attends all).
//! - Gaps are between consecutive sessions of the same candidate-local day; `max_span_minutes` is
//!   from the first start to the last end of one day. Without `split_days` the whole loop lies in
//!   one local day of the candidate; with it, sessions may be on different days. `breaks` are
//!   candidate-local times of day (lunch) that no session overlaps.
//! - The candidate: IANA `zone`; the loop starts no earlier than `now + min_notice_minutes` and ends
//!   no later than `now + horizon_days` days (default 14).
//! - Interviewers: IANA `zone`; `working_hours` per weekday (`mon` .. `sun`) in local clock time
//!   (`"HH:MM"`, end may be `"24:00"`), resolved per date (a time in a daylight-saving gap moves
//!   forward, a time in a fold takes the earlier instant); `busy` and `booked` block time;
//!   `booked` also counts towards `max_per_day` (local day) and `max_per_week` (local ISO week,
//!   Monday to Sunday) by the local date of its start, as does each session of this loop.
//!   `active: false` (default true) people are never chosen.
//! - Pools: `members` with `status` `qualified` or `trainee`. A trainee with
//!   `shadows_completed < required_shadows` may take a trainee seat as a *shadow*; then, while
//!   `reverse_shadows_completed < required_reverse_shadows`, as a *reverse shadow*, which needs a
//!   qualified member of the same pool in a seat of that session. A trainee who has completed both
//!   counts as qualified.
//!
//! A person sits in at most one seat of a loop, so each session they join adds exactly one
//! interview to their day and week.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::RequestError;

/// A scheduling request, as read from JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The moment the request is made (RFC 3339); minimum notice and horizon count from it.
    pub now: String,
    /// Grid step in minutes (default 15).
    #[serde(default = "default_grid", deserialize_with = "whole::minutes")]
    pub grid_minutes: u32,
    /// How many ranked options to return (default 5).
    #[serde(default = "default_options", deserialize_with = "whole::number")]
    pub options: u32,
    /// The interview loop.
    #[serde(rename = "loop")]
    pub interview_loop: Loop,
    /// The candidate.
    pub candidate: Candidate,
    /// Everyone who may be asked to interview.
    pub interviewers: Vec<Interviewer>,
    /// Interviewer pools.
    #[serde(default)]
    pub pools: Vec<Pool>,
}

fn default_grid() -> u32 {
    15
}
fn default_options() -> u32 {
    5
}
fn default_horizon() -> u32 {
    DEFAULT_HORIZON_DAYS
}

/// The horizon of a request that does not say (`candidate.horizon_days`).
pub const DEFAULT_HORIZON_DAYS: u32 = 14;
fn default_true() -> bool {
    true
}

/// The loop: sessions and the rules that tie them together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Loop {
    pub sessions: Vec<Session>,
    #[serde(default)]
    pub order: Vec<OrderRule>,
    #[serde(default, deserialize_with = "whole::minutes")]
    pub min_gap_minutes: u32,
    #[serde(default, deserialize_with = "whole::opt_minutes")]
    pub max_gap_minutes: Option<u32>,
    #[serde(default, deserialize_with = "whole::opt_minutes")]
    pub max_span_minutes: Option<u32>,
    #[serde(default)]
    pub split_days: bool,
    /// Candidate-local times of day no session may overlap (lunch, breaks), `["HH:MM", "HH:MM"]`.
    #[serde(default)]
    pub breaks: Vec<[String; 2]>,
}

/// One session of the loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    pub id: String,
    #[serde(deserialize_with = "whole::minutes")]
    pub duration_minutes: u32,
    pub seats: Vec<Seat>,
    #[serde(default)]
    pub trainee: Option<TraineeSeat>,
}

/// A seat: exactly one of `person` or `pool` (with `count`, default 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seat {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole::opt_number"
    )]
    pub count: Option<u32>,
}

/// An optional seat for a trainee of a pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraineeSeat {
    pub pool: String,
}

/// An order rule between sessions (by session id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum OrderRule {
    /// These sessions in this order.
    Fixed(Vec<String>),
    /// The first ends before the second starts.
    Before(String, String),
    /// This session is the last of the loop.
    Last(String),
}

/// The candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    pub zone: String,
    pub windows: Vec<[String; 2]>,
    #[serde(default, deserialize_with = "whole::minutes")]
    pub min_notice_minutes: u32,
    #[serde(default = "default_horizon", deserialize_with = "whole::days")]
    pub horizon_days: u32,
}

/// An interviewer and their calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interviewer {
    pub id: String,
    pub zone: String,
    #[serde(default)]
    pub working_hours: WorkingHours,
    #[serde(default)]
    pub busy: Vec<[String; 2]>,
    #[serde(default)]
    pub booked: Vec<[String; 2]>,
    #[serde(default, deserialize_with = "whole::opt_number")]
    pub max_per_day: Option<u32>,
    #[serde(default, deserialize_with = "whole::opt_number")]
    pub max_per_week: Option<u32>,
    #[serde(default = "default_true")]
    pub active: bool,
}

/// Working hours per weekday, local clock times `["HH:MM", "HH:MM"]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    #[serde(default)]
    pub mon: Vec<[String; 2]>,
    #[serde(default)]
    pub tue: Vec<[String; 2]>,
    #[serde(default)]
    pub wed: Vec<[String; 2]>,
    #[serde(default)]
    pub thu: Vec<[String; 2]>,
    #[serde(default)]
    pub fri: Vec<[String; 2]>,
    #[serde(default)]
    pub sat: Vec<[String; 2]>,
    #[serde(default)]
    pub sun: Vec<[String; 2]>,
}

impl WorkingHours {
    /// The days, Monday first, with their field names.
    pub fn days(&self) -> [(&'static str, &[[String; 2]]); 7] {
        [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ]
    }
}

/// An interviewer pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    pub id: String,
    pub members: Vec<PoolMember>,
    #[serde(default, deserialize_with = "whole::number")]
    pub required_shadows: u32,
    #[serde(default, deserialize_with = "whole::number")]
    pub required_reverse_shadows: u32,
}

/// A member of a pool and their training state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolMember {
    pub user: String,
    pub status: MemberStatus,
    #[serde(default, deserialize_with = "whole::number")]
    pub shadows_completed: u32,
    #[serde(default, deserialize_with = "whole::number")]
    pub reverse_shadows_completed: u32,
}

/// Whether a pool member interviews on their own or is in training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    Qualified,
    Trainee,
}

/// The step of a trainee in their training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainingStep {
    /// Observes only.
    Shadow,
    /// Leads while a qualified member of the pool sits in.
    ReverseShadow,
    /// Done with training: counts as qualified.
    Graduated,
}

/// The training step of a trainee given the pool's requirements.
pub fn training_step(pool: &Pool, member: &PoolMember) -> TrainingStep {
    if member.shadows_completed < pool.required_shadows {
        TrainingStep::Shadow
    } else if member.reverse_shadows_completed < pool.required_reverse_shadows {
        TrainingStep::ReverseShadow
    } else {
        TrainingStep::Graduated
    }
}

/// Reads a request from JSON and validates it. A value of the wrong shape is refused naming
/// its JSON path (`loop.sessions[1].duration_minutes: invalid value: integer `-45`, expected a
/// non-negative whole number of minutes`; a missing field as `candidate.zone: missing`); text
/// that is not JSON at all with its line and column.
pub fn parse_request(json: &str) -> Result<Request, RequestError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let request: Request = serde_path_to_error::deserialize(&mut de).map_err(shape_error)?;
    de.end().map_err(|e| RequestError::Json(e.to_string()))?;
    prepare(&request)?;
    Ok(request)
}

/// A deserialization error as a refusal naming the JSON path.
fn shape_error(e: serde_path_to_error::Error<serde_json::Error>) -> RequestError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if inner.is_syntax() || inner.is_eof() || inner.is_io() {
        return RequestError::Json(inner.to_string());
    }
    let mut message = inner.to_string();
    // serde_json appends where it was; the path says it better.
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    let parent = if path == "." { String::new() } else { path };
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let path = if parent.is_empty() {
            field.to_owned()
        } else {
            format!("{parent}.{field}")
        };
        return err(path, "missing");
    }
    let path = if parent.is_empty() {
        "request".to_owned()
    } else {
        parent
    };
    err(path, message)
}

/// Deserializers of whole numbers that say what they expect in words (never a Rust type),
/// refusing negative and fractional numbers.
mod whole {
    use serde::Deserializer;
    use serde::de::{Error, Unexpected, Visitor};

    struct Whole(&'static str);

    impl<'de> Visitor<'de> for Whole {
        type Value = u32;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<u32, E> {
            u32::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<u32, E> {
            u32::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
        }
        fn visit_f64<E: Error>(self, v: f64) -> Result<u32, E> {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }

    struct Optional(&'static str);

    impl<'de> Visitor<'de> for Optional {
        type Value = Option<u32>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{} or null", self.0)
        }
        fn visit_none<E: Error>(self) -> Result<Option<u32>, E> {
            Ok(None)
        }
        fn visit_unit<E: Error>(self) -> Result<Option<u32>, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<u32>, D::Error> {
            d.deserialize_any(Whole(self.0)).map(Some)
        }
    }

    const MINUTES: &str = "a non-negative whole number of minutes";
    const DAYS: &str = "a non-negative whole number of days";
    const NUMBER: &str = "a non-negative whole number";

    pub fn minutes<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        d.deserialize_any(Whole(MINUTES))
    }
    pub fn opt_minutes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        d.deserialize_option(Optional(MINUTES))
    }
    pub fn days<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        d.deserialize_any(Whole(DAYS))
    }
    pub fn number<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        d.deserialize_any(Whole(NUMBER))
    }
    pub fn opt_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        d.deserialize_option(Optional(NUMBER))
    }
}

// ---------------------------------------------------------------------------------------------
// Prepared form.

/// A seat after validation: who may fill it.
#[derive(Debug, Clone)]
pub(crate) struct PSeat {
    /// Indexes of the people eligible (active, qualified), sorted.
    pub eligible: Vec<usize>,
    pub count: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct PSession {
    pub dur: i64,
    pub seats: Vec<PSeat>,
    /// Pool of the trainee seat.
    pub trainee_pool: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct PPerson {
    pub tz: TimeZone,
    /// Working hours in local minutes of the day, Monday first.
    pub working: [Vec<(i64, i64)>; 7],
    pub busy: Vec<(i64, i64)>,
    pub booked: Vec<(i64, i64)>,
    pub max_day: Option<u32>,
    pub max_week: Option<u32>,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct PPool {
    /// Active qualified (or graduated) members, sorted.
    pub qualified: Vec<usize>,
    /// Active trainees still in training, with their step.
    pub trainees: Vec<(usize, TrainingStep)>,
}

/// The validated request, in minutes since the Unix epoch.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub grid: i64,
    pub options: usize,
    /// First allowed start, on the grid.
    pub earliest: i64,
    /// Latest allowed end.
    pub horizon_end: i64,
    pub sessions: Vec<PSession>,
    /// `(a, b)`: session a before session b.
    pub before: Vec<(usize, usize)>,
    pub last: Option<usize>,
    pub min_gap: i64,
    pub max_gap: Option<i64>,
    pub max_span: Option<i64>,
    pub split_days: bool,
    pub cand_tz: TimeZone,
    pub cand_windows: Vec<(i64, i64)>,
    pub people: Vec<PPerson>,
    pub pools: Vec<PPool>,
}

fn err(path: impl Into<String>, problem: impl Into<String>) -> RequestError {
    RequestError::Invalid {
        path: path.into(),
        problem: problem.into(),
    }
}

/// The first second every instant of a request may name: 1970-01-01T00:00:00Z.
const FIRST_SECOND: i64 = 0;
/// The end (excluded) of the instants a request may name: 9000-01-01T00:00:00Z. Far from the
/// ends of what jiff represents (years -9999 to 9999), so that an instant plus any horizon,
/// notice, week or day the request may name is always an instant, in any zone.
const END_SECOND: i64 = 221_845_392_000;

/// Parses an RFC 3339 instant into a timestamp within the years 1970 to 8999.
pub(crate) fn parse_instant(s: &str, path: &str) -> Result<Timestamp, RequestError> {
    let ts = s
        .parse::<Timestamp>()
        .map_err(|_| err(path, format!("invalid instant `{s}` (expected RFC 3339)")))?;
    in_range(ts, s, || path.to_owned())
}

/// `ts` (read from `text`) when it lies within the years 1970 to 8999.
fn in_range(
    ts: Timestamp,
    text: &str,
    path: impl Fn() -> String,
) -> Result<Timestamp, RequestError> {
    if (FIRST_SECOND..END_SECOND).contains(&ts.as_second()) {
        Ok(ts)
    } else {
        Err(err(
            path(),
            format!("`{text}` is outside the years 1970 to 8999 that a request may name"),
        ))
    }
}

/// The loop's horizon `[now, now + horizon_days days)` from `now` and `horizon_days` alone
/// (what a plan must say before anything else is looked up): both validated as [`prepare`]
/// does, the end computed with checked arithmetic.
pub fn horizon(now: &str, horizon_days: u32) -> Result<(Timestamp, Timestamp), RequestError> {
    let now = parse_instant(now, "now")?;
    check_horizon_days(horizon_days)?;
    let end = now
        .checked_add(jiff::SignedDuration::from_hours(
            24 * i64::from(horizon_days),
        ))
        .map_err(|_| {
            err(
                "candidate.horizon_days",
                "the horizon ends beyond the year 9999",
            )
        })?;
    Ok((now, end))
}

fn check_horizon_days(horizon_days: u32) -> Result<(), RequestError> {
    if horizon_days == 0 || horizon_days > MAX_HORIZON_DAYS {
        return Err(err(
            "candidate.horizon_days",
            format!("must be between 1 and {MAX_HORIZON_DAYS}"),
        ));
    }
    Ok(())
}

impl Request {
    /// The loop's horizon `[now, now + horizon_days days)`, validated (see [`horizon`]).
    pub fn horizon(&self) -> Result<(Timestamp, Timestamp), RequestError> {
        horizon(&self.now, self.candidate.horizon_days)
    }
}

fn minute_floor(ts: Timestamp) -> i64 {
    ts.as_second().div_euclid(60)
}
fn minute_ceil(ts: Timestamp) -> i64 {
    let s = ts.as_second();
    let extra = i64::from(ts.subsec_nanosecond() > 0);
    (s + extra + 59).div_euclid(60)
}

fn parse_zone(s: &str, path: &str) -> Result<TimeZone, RequestError> {
    TimeZone::get(s).map_err(|_| err(path, format!("unknown time zone `{s}`")))
}

/// `"HH:MM"` to minutes of the day; `"24:00"` allowed.
fn parse_clock(s: &str, path: &str) -> Result<i64, RequestError> {
    let bad = || err(path, format!("invalid local time `{s}` (expected HH:MM)"));
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: i64 = h.parse().map_err(|_| bad())?;
    let m: i64 = m.parse().map_err(|_| bad())?;
    if !(0..60).contains(&m) || !(0..=24).contains(&h) || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// The common shape `YYYY-MM-DDTHH:MM:SSZ` read directly (jiff's general parser is the fallback
/// and has the last word on anything else).
fn fast_instant(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    if !shape_ok {
        return s.parse::<Timestamp>().ok();
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, se) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let dim = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d < 1 || d > dim || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Timestamp::from_second(days * 86_400 + h * 3600 + mi * 60 + se).ok()
}

/// A pair of instants, rounded outward (`widen`) or inward, in minutes; `None` when it is empty
/// (the end is the start): an empty interval is no time at all, so it blocks nothing, books
/// nothing and offers nothing. The path is built only on error (requests carry thousands of busy
/// blocks).
fn parse_pair(
    pair: &[String; 2],
    path: impl Fn() -> String,
    widen: bool,
) -> Result<Option<(i64, i64)>, RequestError> {
    let a = match fast_instant(&pair[0]) {
        Some(a) => in_range(a, &pair[0], || format!("{}[0]", path()))?,
        None => parse_instant(&pair[0], &format!("{}[0]", path()))?,
    };
    let b = match fast_instant(&pair[1]) {
        Some(b) => in_range(b, &pair[1], || format!("{}[1]", path()))?,
        None => parse_instant(&pair[1], &format!("{}[1]", path()))?,
    };
    if b < a {
        return Err(err(
            path(),
            format!("ends (`{}`) before it starts (`{}`)", pair[1], pair[0]),
        ));
    }
    if a == b {
        return Ok(None);
    }
    Ok(Some(if widen {
        (minute_floor(a), minute_ceil(b))
    } else {
        (minute_ceil(a), minute_floor(b))
    }))
}

const MAX_MINUTES: u32 = 7 * 24 * 60;

// The limits of a request, so that no request can make the engine's work or memory unbounded
// (each is refused naming its path, before anything is computed).
/// Longest horizon, in days.
pub const MAX_HORIZON_DAYS: u32 = 366;
/// Most ranked options a request may ask for.
pub const MAX_OPTIONS: u32 = 1000;
/// Most sessions of a loop.
pub const MAX_SESSIONS: usize = 12;
/// Most seats of a session.
pub const MAX_SEATS: usize = 12;
/// Most order rules.
pub const MAX_ORDER_RULES: usize = 100;
/// Most candidate windows.
pub const MAX_WINDOWS: usize = 1000;
/// Most breaks, and most working spans of one weekday.
pub const MAX_DAY_SPANS: usize = 48;
/// Most interviewers.
pub const MAX_INTERVIEWERS: usize = 5000;
/// Most busy blocks plus booked interviews of one interviewer.
pub const MAX_PERSON_BLOCKS: usize = 20_000;
/// Most busy blocks plus booked interviews of all interviewers together.
pub const MAX_BLOCKS: usize = 500_000;
/// Most pools.
pub const MAX_POOLS: usize = 500;
/// Most grid slots times people who could sit (the solver's tables).
pub const MAX_GRID_CELLS: usize = 10_000_000;
/// Highest `max_per_day` (one interview a minute).
pub const MAX_PER_DAY: u32 = 1440;
/// Highest `max_per_week`.
pub const MAX_PER_WEEK: u32 = 7 * 1440;

fn at_most<T>(items: &[T], max: usize, path: &str, what: &str) -> Result<(), RequestError> {
    if items.len() > max {
        return Err(err(path, format!("at most {max} {what}")));
    }
    Ok(())
}

/// Validates a request into its prepared form.
pub(crate) fn prepare(r: &Request) -> Result<Prepared, RequestError> {
    if r.grid_minutes == 0 || 1440 % r.grid_minutes != 0 {
        return Err(err(
            "grid_minutes",
            format!("{} does not divide a day of 1440 minutes", r.grid_minutes),
        ));
    }
    let grid = i64::from(r.grid_minutes);
    if r.options == 0 || r.options > MAX_OPTIONS {
        return Err(err(
            "options",
            format!("must be between 1 and {MAX_OPTIONS}"),
        ));
    }
    let now = parse_instant(&r.now, "now")?;
    let c = &r.candidate;
    let cand_tz = parse_zone(&c.zone, "candidate.zone")?;
    check_horizon_days(c.horizon_days)?;
    at_most(&c.windows, MAX_WINDOWS, "candidate.windows", "windows")?;
    at_most(
        &r.interview_loop.breaks,
        MAX_DAY_SPANS,
        "loop.breaks",
        "breaks",
    )?;
    at_most(
        &r.interviewers,
        MAX_INTERVIEWERS,
        "interviewers",
        "interviewers",
    )?;
    at_most(&r.pools, MAX_POOLS, "pools", "pools")?;
    at_most(
        &r.interview_loop.order,
        MAX_ORDER_RULES,
        "loop.order",
        "order rules",
    )?;
    let mut blocks = 0usize;
    for (i, p) in r.interviewers.iter().enumerate() {
        let n = p.busy.len() + p.booked.len();
        if n > MAX_PERSON_BLOCKS {
            return Err(err(
                format!("interviewers[{i}]"),
                format!("at most {MAX_PERSON_BLOCKS} busy blocks and booked interviews together"),
            ));
        }
        blocks += n;
    }
    if blocks > MAX_BLOCKS {
        return Err(err(
            "interviewers",
            format!("at most {MAX_BLOCKS} busy blocks and booked interviews in all"),
        ));
    }
    if c.min_notice_minutes > 366 * 1440 {
        return Err(err(
            "candidate.min_notice_minutes",
            "must be at most a year",
        ));
    }
    let now_min = minute_ceil(now);
    let earliest_raw = now_min + i64::from(c.min_notice_minutes);
    let earliest = earliest_raw.div_euclid(grid) * grid
        + if earliest_raw.rem_euclid(grid) == 0 {
            0
        } else {
            grid
        };
    let horizon_end = minute_floor(now) + i64::from(c.horizon_days) * 1440;
    if (horizon_end - earliest).max(0) / grid > crate::solver::MAX_SLOTS as i64 {
        return Err(err(
            "candidate.horizon_days",
            format!(
                "the horizon holds more than {} grid slots: shorten it or widen `grid_minutes`",
                crate::solver::MAX_SLOTS
            ),
        ));
    }
    let mut cand_windows = Vec::with_capacity(c.windows.len());
    for (i, w) in c.windows.iter().enumerate() {
        cand_windows.extend(parse_pair(w, || format!("candidate.windows[{i}]"), false)?);
    }
    let mut breaks = Vec::new();
    for (i, b) in r.interview_loop.breaks.iter().enumerate() {
        let path = format!("loop.breaks[{i}]");
        let x = parse_clock(&b[0], &format!("{path}[0]"))?;
        let y = parse_clock(&b[1], &format!("{path}[1]"))?;
        if y < x {
            return Err(err(
                path,
                format!("ends (`{}`) before it starts (`{}`)", b[1], b[0]),
            ));
        }
        if x < y {
            breaks.push((x, y));
        }
    }
    if !breaks.is_empty() {
        cand_windows = without_breaks(&cand_tz, &cand_windows, &breaks, earliest, horizon_end);
    }

    // People.
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    let mut zones: HashMap<&str, TimeZone> = HashMap::new();
    let mut people = Vec::with_capacity(r.interviewers.len());
    for (i, p) in r.interviewers.iter().enumerate() {
        let path = format!("interviewers[{i}]");
        if p.id.is_empty() {
            return Err(err(format!("{path}.id"), "must not be empty"));
        }
        if by_id.insert(p.id.as_str(), i).is_some() {
            return Err(err(
                format!("{path}.id"),
                format!("duplicate interviewer `{}`", p.id),
            ));
        }
        // Zone lookups read the bundled database: once per distinct name.
        let tz = match zones.get(p.zone.as_str()) {
            Some(tz) => tz.clone(),
            None => {
                let tz = parse_zone(&p.zone, &format!("{path}.zone"))?;
                zones.insert(p.zone.as_str(), tz.clone());
                tz
            }
        };
        for (name, limit, max) in [
            ("max_per_day", p.max_per_day, MAX_PER_DAY),
            ("max_per_week", p.max_per_week, MAX_PER_WEEK),
        ] {
            if limit.is_some_and(|m| m > max) {
                return Err(err(
                    format!("{path}.{name}"),
                    format!("must be at most {max}"),
                ));
            }
        }
        let mut working: [Vec<(i64, i64)>; 7] = Default::default();
        for (d, (name, spans)) in p.working_hours.days().iter().enumerate() {
            at_most(
                spans,
                MAX_DAY_SPANS,
                &format!("{path}.working_hours.{name}"),
                "working spans a day",
            )?;
            for (j, span) in spans.iter().enumerate() {
                let sp = format!("{path}.working_hours.{name}[{j}]");
                let a = parse_clock(&span[0], &format!("{sp}[0]"))?;
                let b = parse_clock(&span[1], &format!("{sp}[1]"))?;
                if b < a {
                    return Err(err(
                        sp,
                        format!("ends (`{}`) before it starts (`{}`)", span[1], span[0]),
                    ));
                }
                if a == b {
                    continue; // empty: no working time
                }
                if a == 1440 {
                    return Err(err(
                        format!("{sp}[0]"),
                        "a working span cannot start at `24:00`",
                    ));
                }
                working[d].push((a, b));
            }
        }
        let mut busy = Vec::new();
        for (j, b) in p.busy.iter().enumerate() {
            busy.extend(parse_pair(b, || format!("{path}.busy[{j}]"), true)?);
        }
        let mut booked = Vec::new();
        for (j, b) in p.booked.iter().enumerate() {
            booked.extend(parse_pair(b, || format!("{path}.booked[{j}]"), true)?);
        }
        people.push(PPerson {
            tz,
            working,
            busy,
            booked,
            max_day: p.max_per_day,
            max_week: p.max_per_week,
            active: p.active,
        });
    }

    // Pools.
    let mut pool_ids: HashMap<&str, usize> = HashMap::new();
    let mut pools = Vec::with_capacity(r.pools.len());
    for (i, pool) in r.pools.iter().enumerate() {
        let path = format!("pools[{i}]");
        if pool_ids.insert(pool.id.as_str(), i).is_some() {
            return Err(err(
                format!("{path}.id"),
                format!("duplicate pool `{}`", pool.id),
            ));
        }
        let mut qualified = Vec::new();
        let mut trainees = Vec::new();
        let mut seen = BTreeMap::new();
        for (j, m) in pool.members.iter().enumerate() {
            let mp = format!("{path}.members[{j}].user");
            let Some(&who) = by_id.get(m.user.as_str()) else {
                return Err(err(mp, format!("unknown interviewer `{}`", m.user)));
            };
            if seen.insert(who, j).is_some() {
                return Err(err(mp, format!("`{}` is listed twice", m.user)));
            }
            if !people[who].active {
                continue;
            }
            match (m.status, training_step(pool, m)) {
                (MemberStatus::Qualified, _) | (MemberStatus::Trainee, TrainingStep::Graduated) => {
                    qualified.push(who)
                }
                (MemberStatus::Trainee, step) => trainees.push((who, step)),
            }
        }
        qualified.sort_unstable();
        pools.push(PPool {
            qualified,
            trainees,
        });
    }

    // Sessions.
    let l = &r.interview_loop;
    if l.sessions.is_empty() {
        return Err(err("loop.sessions", "a loop needs at least one session"));
    }
    if l.sessions.len() > MAX_SESSIONS {
        return Err(err(
            "loop.sessions",
            format!("at most {MAX_SESSIONS} sessions per loop"),
        ));
    }
    let mut session_ids: HashMap<&str, usize> = HashMap::new();
    let mut sessions = Vec::new();
    let mut person_seat: HashMap<usize, String> = HashMap::new();
    for (i, s) in l.sessions.iter().enumerate() {
        let path = format!("loop.sessions[{i}]");
        if s.id.is_empty() {
            return Err(err(format!("{path}.id"), "must not be empty"));
        }
        if session_ids.insert(s.id.as_str(), i).is_some() {
            return Err(err(
                format!("{path}.id"),
                format!("duplicate session `{}`", s.id),
            ));
        }
        if s.duration_minutes == 0 || s.duration_minutes > 1440 {
            return Err(err(
                format!("{path}.duration_minutes"),
                "must be between 1 and 1440",
            ));
        }
        if s.duration_minutes % r.grid_minutes != 0 {
            return Err(err(
                format!("{path}.duration_minutes"),
                format!(
                    "{} is not a multiple of the {}-minute grid",
                    s.duration_minutes, r.grid_minutes
                ),
            ));
        }
        if s.seats.is_empty() {
            return Err(err(
                format!("{path}.seats"),
                "a session needs at least one seat",
            ));
        }
        at_most(
            &s.seats,
            MAX_SEATS,
            &format!("{path}.seats"),
            "seats a session",
        )?;
        let mut seats = Vec::new();
        for (j, seat) in s.seats.iter().enumerate() {
            let sp = format!("{path}.seats[{j}]");
            match (&seat.person, &seat.pool) {
                (Some(person), None) => {
                    if seat.count.is_some_and(|c| c != 1) {
                        return Err(err(format!("{sp}.count"), "a person seat has a count of 1"));
                    }
                    let Some(&who) = by_id.get(person.as_str()) else {
                        return Err(err(
                            format!("{sp}.person"),
                            format!("unknown interviewer `{person}`"),
                        ));
                    };
                    if let Some(other) = person_seat.insert(who, sp.clone()) {
                        return Err(err(
                            format!("{sp}.person"),
                            format!(
                                "`{person}` already sits in {other} (one seat per person per loop)"
                            ),
                        ));
                    }
                    let eligible = if people[who].active {
                        vec![who]
                    } else {
                        vec![]
                    };
                    seats.push(PSeat { eligible, count: 1 });
                }
                (None, Some(pool)) => {
                    let Some(&pi) = pool_ids.get(pool.as_str()) else {
                        return Err(err(format!("{sp}.pool"), format!("unknown pool `{pool}`")));
                    };
                    let count = seat.count.unwrap_or(1);
                    if count == 0 {
                        return Err(err(format!("{sp}.count"), "must be at least 1"));
                    }
                    let have = pools[pi].qualified.len();
                    if count as usize > have {
                        return Err(err(
                            format!("{sp}.count"),
                            format!(
                                "asks for {count} people but pool `{pool}` has {have} eligible (active, qualified) members"
                            ),
                        ));
                    }
                    seats.push(PSeat {
                        eligible: pools[pi].qualified.clone(),
                        count: count as usize,
                    });
                }
                (Some(_), Some(_)) => {
                    return Err(err(sp, "a seat has either `person` or `pool`, not both"));
                }
                (None, None) => return Err(err(sp, "a seat needs `person` or `pool`")),
            }
        }
        let trainee_pool = match &s.trainee {
            None => None,
            Some(t) => match pool_ids.get(t.pool.as_str()) {
                Some(&pi) => Some(pi),
                None => {
                    return Err(err(
                        format!("{path}.trainee.pool"),
                        format!("unknown pool `{}`", t.pool),
                    ));
                }
            },
        };
        sessions.push(PSession {
            dur: i64::from(s.duration_minutes),
            seats,
            trainee_pool,
        });
    }

    // One seat per person per loop: the pool seats of the whole loop must fit in the pool.
    let mut asked: BTreeMap<usize, usize> = BTreeMap::new();
    for (s, sess) in l.sessions.iter().enumerate() {
        for (j, seat) in sess.seats.iter().enumerate() {
            if let Some(pi) = seat.pool.as_ref().and_then(|p| pool_ids.get(p.as_str())) {
                *asked.entry(*pi).or_default() += sessions[s].seats[j].count;
            }
        }
    }
    for (pi, n) in asked {
        let have = pools[pi].qualified.len();
        if n > have {
            return Err(err(
                "loop.sessions",
                format!(
                    "the seats ask for {n} people from pool `{}` in all, it has {have} eligible (active, qualified) members and a person sits in one seat per loop",
                    r.pools[pi].id
                ),
            ));
        }
    }

    // Order rules.
    let mut before = Vec::new();
    let mut last = None;
    let lookup = |id: &str, path: String| -> Result<usize, RequestError> {
        session_ids
            .get(id)
            .copied()
            .ok_or_else(|| err(path, format!("unknown session `{id}`")))
    };
    for (i, rule) in l.order.iter().enumerate() {
        let path = format!("loop.order[{i}]");
        match rule {
            OrderRule::Fixed(ids) => {
                at_most(ids, MAX_SESSIONS, &format!("{path}.fixed"), "sessions")?;
                let mut prev: Option<usize> = None;
                for (j, id) in ids.iter().enumerate() {
                    let s = lookup(id, format!("{path}.fixed[{j}]"))?;
                    if let Some(p) = prev {
                        before.push((p, s));
                    }
                    prev = Some(s);
                }
            }
            OrderRule::Before(a, b) => {
                let a = lookup(a, format!("{path}.before[0]"))?;
                let b = lookup(b, format!("{path}.before[1]"))?;
                before.push((a, b));
            }
            OrderRule::Last(id) => {
                let s = lookup(id, format!("{path}.last"))?;
                if last.is_some_and(|x| x != s) {
                    return Err(err(path, "two different sessions cannot both be last"));
                }
                last = Some(s);
            }
        }
    }
    for (i, &(a, b)) in before.iter().enumerate() {
        if a == b {
            return Err(err(
                format!("loop.order[{i}]"),
                "a session cannot come before itself",
            ));
        }
    }
    if let Some(s) = last
        && before.iter().any(|&(a, _)| a == s)
    {
        return Err(err(
            "loop.order",
            format!(
                "session `{}` is last but must come before another",
                l.sessions[s].id
            ),
        ));
    }
    if has_cycle(sessions.len(), &before) {
        return Err(err(
            "loop.order",
            "the order rules contradict each other (a cycle)",
        ));
    }
    for (name, v) in [
        ("loop.min_gap_minutes", Some(l.min_gap_minutes)),
        ("loop.max_gap_minutes", l.max_gap_minutes),
        ("loop.max_span_minutes", l.max_span_minutes),
    ] {
        if v.is_some_and(|v| v > MAX_MINUTES) {
            return Err(err(name, format!("must be at most {MAX_MINUTES}")));
        }
    }
    if l.max_gap_minutes.is_some_and(|g| g < l.min_gap_minutes) {
        return Err(err(
            "loop.max_gap_minutes",
            "is less than `loop.min_gap_minutes`",
        ));
    }

    // The solver keeps, per person who could sit, a few numbers per grid slot: bounded.
    let mut involved = vec![false; people.len()];
    for sess in &sessions {
        for x in sess.seats.iter().flat_map(|seat| &seat.eligible) {
            involved[*x] = true;
        }
        if let Some(tp) = sess.trainee_pool {
            for &(x, _) in &pools[tp].trainees {
                involved[x] = true;
            }
        }
    }
    let involved = involved.iter().filter(|x| **x).count();
    let slots = usize::try_from((horizon_end - earliest).max(0) / grid).unwrap_or(usize::MAX);
    if slots.saturating_mul(involved) > MAX_GRID_CELLS {
        return Err(err(
            "candidate.horizon_days",
            format!(
                "the horizon's {slots} grid slots for each of the {involved} people who could sit are more than {MAX_GRID_CELLS}: shorten the horizon, widen `grid_minutes` or draw on fewer people"
            ),
        ));
    }

    Ok(Prepared {
        grid,
        options: r.options as usize,
        earliest,
        horizon_end,
        sessions,
        before,
        last,
        min_gap: i64::from(l.min_gap_minutes),
        max_gap: l.max_gap_minutes.map(i64::from),
        max_span: l.max_span_minutes.map(i64::from),
        split_days: l.split_days,
        cand_tz,
        cand_windows,
        people,
        pools,
    })
}

/// The candidate's windows minus the breaks of every local date between `from` and `to`.
fn without_breaks(
    tz: &TimeZone,
    windows: &[(i64, i64)],
    breaks: &[(i64, i64)],
    from: i64,
    to: i64,
) -> Vec<(i64, i64)> {
    use crate::interval::{Interval, IntervalSet, local_date, local_to_minute};
    let mut blocked = Vec::new();
    let (Ok(first), Ok(last)) = (
        local_date(tz, from).yesterday(),
        local_date(tz, to.max(from)).tomorrow(),
    ) else {
        return windows.to_vec();
    };
    let mut d = first;
    while d <= last {
        for &(x, y) in breaks {
            if let (Some(a), Some(b)) = (local_to_minute(tz, d, x), local_to_minute(tz, d, y)) {
                blocked.push(Interval::new(a, b));
            }
        }
        match d.tomorrow() {
            Ok(n) => d = n,
            Err(_) => break,
        }
    }
    IntervalSet::from_intervals(windows.iter().map(|&(a, b)| Interval::new(a, b)))
        .subtract(&IntervalSet::from_intervals(blocked))
        .intervals()
        .iter()
        .map(|i| (i.start, i.end))
        .collect()
}

fn has_cycle(n: usize, edges: &[(usize, usize)]) -> bool {
    let mut indegree = vec![0usize; n];
    for &(_, b) in edges {
        indegree[b] += 1;
    }
    let mut stack: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut seen = 0;
    while let Some(a) = stack.pop() {
        seen += 1;
        for &(x, b) in edges {
            if x == a {
                indegree[b] -= 1;
                if indegree[b] == 0 {
                    stack.push(b);
                }
            }
        }
    }
    seen != n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_instants_agree_with_jiff() {
        for s in [
            "2026-03-09T03:00:00Z",
            "2024-02-29T23:59:59Z",
            "1970-01-01T00:00:00Z",
            "2000-03-01T12:34:56Z",
            "1969-12-31T23:59:59Z",
            "2100-02-28T00:00:00Z",
        ] {
            assert_eq!(fast_instant(s), s.parse::<Timestamp>().ok(), "{s}");
        }
        for s in [
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T0a:00:00Z",
        ] {
            assert_eq!(fast_instant(s), None, "{s}");
        }
    }
}
