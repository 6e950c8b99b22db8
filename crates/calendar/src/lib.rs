//! iCalendar (RFC 5545) text to busy intervals, for the interview scheduler.
//!
//! [`busy_times`] reads the text of a calendar (`VCALENDAR` with `VEVENT`s) and returns the
//! intervals during which its owner is busy inside a window `[from, to)`, sorted by start.
//! The crate is pure: no IO, no clock, no async.
//!
//! # Handled
//! - Content lines: unfolding (CRLF or LF, continuation lines starting with a space or a tab),
//!   property parameters (quoted or not), escaped text (`\\`, `\;`, `\,`, `\n`, `\N`).
//! - `VEVENT` with `DTSTART` and `DTEND`, or `DTSTART` and `DURATION` (`P1W`, `P1D`, `PT1H30M`,
//!   `P1DT2H`; days and weeks are nominal, i.e. the same local time on a later day).
//!   Without either, an all-day event lasts one day and a timed event takes no time (and is not
//!   busy). Nested components (`VALARM`) are ignored.
//! - Times in UTC (`...Z`), floating (read in the owner's zone) and with `TZID`. A `TZID` is looked
//!   up by IANA name in jiff's bundled tzdb; the rules inside `VTIMEZONE` blocks are not read, but
//!   when a `TZID` is not an IANA name, the `X-LIC-LOCATION` of the `VTIMEZONE` with that `TZID`
//!   is used instead; otherwise the `TZID` is an error.
//! - All-day events (`VALUE=DATE`): from local midnight of the start date to local midnight of the
//!   end date (exclusive), in the owner's zone.
//! - `TRANSP:TRANSPARENT` and `STATUS:CANCELLED` events are not busy.
//! - `RRULE` with `FREQ=DAILY|WEEKLY|MONTHLY|YEARLY`, `INTERVAL`, `COUNT`, `UNTIL` (date or
//!   date-time), `BYDAY` (with ordinals such as `1MO`, `-1FR` for `MONTHLY`, and for `YEARLY`),
//!   `BYMONTHDAY` (negative values count from the end of the month), `BYMONTH`, `WKST`.
//!   Recurrences are expanded in local time of the event's own zone, so a weekly 09:00
//!   Europe/Berlin meeting stays at 09:00 Berlin time across daylight-saving changes. A local
//!   time that does not exist (in a spring-forward gap) is moved forward by the gap; an ambiguous
//!   one takes the earlier offset. `DTSTART` always counts as the first occurrence. Several
//!   `RRULE`s on one event give the union of their occurrences.
//! - `EXDATE` (several values per line and several lines; UTC, `TZID`, floating (read in the
//!   event's own zone) or dates) removes occurrences; `RECURRENCE-ID` overrides (same `UID`) replace the occurrence they name:
//!   the override's own time is used, or nothing when it is cancelled or transparent.
//!
//! Expansion stops at `to`. To guarantee termination whatever the rule, the expansion of one
//! `RRULE` visits at most [`MAX_ITERATIONS`] periods (days, weeks, months or years, from
//! `DTSTART` to `to`); a rule needing more is an error, never a silent truncation.
//!
//! # Not handled
//! - `FREQ=HOURLY|MINUTELY|SECONDLY` and the rule parts `BYSETPOS`, `BYYEARDAY`, `BYWEEKNO`,
//!   `BYHOUR`, `BYMINUTE`, `BYSECOND`, `RSCALE`, `SKIP`: refused with an error (never guessed).
//! - `RDATE`, `EXRULE` (deprecated) and `RANGE=THISANDFUTURE` on `RECURRENCE-ID` (treated as
//!   naming a single occurrence) are ignored.
//! - The transition rules written inside `VTIMEZONE` (zones are taken from the tzdb by name);
//!   Windows zone names without `X-LIC-LOCATION` are refused.
//! - `VFREEBUSY`, `VTODO`, `VJOURNAL` components, attendees' participation status
//!   (`PARTSTAT=DECLINED`), `STATUS:TENTATIVE` (counted as busy) and leap seconds
//!   (`:60` is read as `:59`).

use std::collections::{BTreeSet, HashMap, HashSet};

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};

/// The most periods one `RRULE` expansion may visit before it is refused.
pub const MAX_ITERATIONS: u32 = 1_000_000;

/// One busy interval `[start, end)` of a calendar's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    pub start: Timestamp,
    pub end: Timestamp,
    pub uid: String,
    pub summary: Option<String>,
}

/// A problem in the iCalendar text, with the line (1-based, where the unfolded property starts)
/// and the property it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: `{property}`: {message}")]
pub struct IcalError {
    pub line: usize,
    pub property: String,
    pub message: String,
}

fn err(line: usize, property: &str, message: impl Into<String>) -> IcalError {
    IcalError {
        line,
        property: property.to_string(),
        message: message.into(),
    }
}

/// The busy intervals of the calendar `ics` overlapping `[from, to)`, sorted by start.
///
/// Floating times and all-day events are placed in `owner_zone`.
pub fn busy_times(
    ics: &str,
    owner_zone: &TimeZone,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<Busy>, IcalError> {
    let roots = parse_components(ics)?;
    let mut vevents = Vec::new();
    let mut aliases = HashMap::new();
    for root in &roots {
        collect(root, &mut vevents, &mut aliases);
    }
    let ctx = Ctx {
        owner: owner_zone.clone(),
        aliases,
    };
    let mut events = Vec::with_capacity(vevents.len());
    for ev in vevents {
        events.push(read_event(&ctx, ev)?);
    }
    let mut overridden: HashMap<&str, HashSet<Timestamp>> = HashMap::new();
    for ev in &events {
        if let Some(rid) = ev.recurrence_id {
            overridden.entry(ev.uid.as_str()).or_default().insert(rid);
        }
    }
    let mut out = Vec::new();
    if from >= to {
        return Ok(out);
    }
    for ev in &events {
        if !ev.busy {
            continue;
        }
        let starts: Vec<DateTime> = if ev.recurrence_id.is_some() || ev.rrules.is_empty() {
            vec![ev.start_local]
        } else {
            let mut all = BTreeSet::new();
            for (line, rule) in &ev.rrules {
                all.extend(expand(rule, ev.start_local, &ev.zone, to, *line)?);
            }
            all.into_iter().collect()
        };
        let removed = if ev.recurrence_id.is_none() {
            overridden.get(ev.uid.as_str())
        } else {
            None
        };
        for dt in starts {
            let start = to_ts(&ev.zone, dt, ev.line, "DTSTART")?;
            if ev.exdates.contains(&start) || removed.is_some_and(|r| r.contains(&start)) {
                continue;
            }
            let end = ev.duration.end(&ev.zone, dt, start, ev.line)?;
            if end <= start || start >= to || end <= from {
                continue;
            }
            out.push(Busy {
                start,
                end,
                uid: ev.uid.clone(),
                summary: ev.summary.clone(),
            });
        }
    }
    out.sort_by(|a, b| (a.start, a.end, &a.uid).cmp(&(b.start, b.end, &b.uid)));
    Ok(out)
}

// ---------------------------------------------------------------- content lines and components

struct Prop {
    line: usize,
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

impl Prop {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Component {
    name: String,
    line: usize,
    props: Vec<Prop>,
    children: Vec<Component>,
}

impl Component {
    fn prop(&self, name: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.name == name)
    }
}

/// Unfolds the text into logical lines, each with the number of its first physical line.
fn unfold(ics: &str) -> Vec<(usize, String)> {
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (i, raw) in ics.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix([' ', '\t'])
            && let Some(last) = lines.last_mut()
        {
            last.1.push_str(rest);
            continue;
        }
        if raw.trim().is_empty() {
            continue;
        }
        lines.push((i + 1, raw.to_string()));
    }
    lines
}

fn parse_line(line: usize, text: &str) -> Result<Prop, IcalError> {
    let name_end = text.find([';', ':']).unwrap_or(text.len());
    let name = text[..name_end].trim().to_ascii_uppercase();
    if name.is_empty() {
        return Err(err(line, text, "not a property (no name)"));
    }
    let mut params = Vec::new();
    let mut rest = &text[name_end..];
    loop {
        if let Some(value) = rest.strip_prefix(':') {
            return Ok(Prop {
                line,
                name,
                params,
                value: value.to_string(),
            });
        }
        let Some(after) = rest.strip_prefix(';') else {
            return Err(err(line, &name, "missing `:` before the value"));
        };
        let eq = after
            .find(['=', ':', ';'])
            .filter(|&i| after.as_bytes()[i] == b'=')
            .ok_or_else(|| err(line, &name, "a parameter has no `=`"))?;
        let pname = after[..eq].trim().to_ascii_uppercase();
        let mut value = String::new();
        let mut in_quotes = false;
        let mut end = after.len();
        for (i, c) in after[eq + 1..].char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                ';' | ':' if !in_quotes => {
                    end = eq + 1 + i;
                    break;
                }
                _ => value.push(c),
            }
        }
        if in_quotes || end == after.len() {
            return Err(err(line, &name, "missing `:` before the value"));
        }
        params.push((pname, value));
        rest = &after[end..];
    }
}

fn parse_components(ics: &str) -> Result<Vec<Component>, IcalError> {
    let mut stack: Vec<Component> = Vec::new();
    let mut roots = Vec::new();
    for (line, text) in unfold(ics) {
        let prop = parse_line(line, &text)?;
        match prop.name.as_str() {
            "BEGIN" => stack.push(Component {
                name: prop.value.trim().to_ascii_uppercase(),
                line,
                props: Vec::new(),
                children: Vec::new(),
            }),
            "END" => {
                let name = prop.value.trim().to_ascii_uppercase();
                let Some(top) = stack.pop() else {
                    return Err(err(line, "END", format!("`END:{name}` without `BEGIN`")));
                };
                if top.name != name {
                    return Err(err(
                        line,
                        "END",
                        format!(
                            "`END:{name}` closes `BEGIN:{}` of line {}",
                            top.name, top.line
                        ),
                    ));
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(top),
                    None => roots.push(top),
                }
            }
            _ => {
                if let Some(top) = stack.last_mut() {
                    top.props.push(prop);
                }
            }
        }
    }
    if let Some(top) = stack.pop() {
        return Err(err(
            top.line,
            "BEGIN",
            format!("`BEGIN:{}` is never closed", top.name),
        ));
    }
    Ok(roots)
}

fn collect<'a>(
    c: &'a Component,
    events: &mut Vec<&'a Component>,
    aliases: &mut HashMap<String, String>,
) {
    match c.name.as_str() {
        "VEVENT" => events.push(c),
        "VTIMEZONE" => {
            if let (Some(id), Some(loc)) = (c.prop("TZID"), c.prop("X-LIC-LOCATION")) {
                aliases.insert(id.value.trim().to_string(), loc.value.trim().to_string());
            }
        }
        _ => {
            for child in &c.children {
                collect(child, events, aliases);
            }
        }
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(o @ ('\\' | ';' | ',' | ':' | '"')) => out.push(o),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    out
}

// ---------------------------------------------------------------- values

struct Ctx {
    owner: TimeZone,
    aliases: HashMap<String, String>,
}

#[derive(Clone)]
enum When {
    Date(Date),
    Utc(DateTime),
    Floating(DateTime),
    Zoned(DateTime, TimeZone),
}

impl When {
    /// The zone recurrences are expanded in, and the local start.
    fn local(&self, ctx: &Ctx) -> (TimeZone, DateTime) {
        match self {
            When::Date(d) => (ctx.owner.clone(), d.to_datetime(Time::midnight())),
            When::Utc(dt) => (TimeZone::UTC, *dt),
            When::Floating(dt) => (ctx.owner.clone(), *dt),
            When::Zoned(dt, tz) => (tz.clone(), *dt),
        }
    }

    fn timestamp(&self, ctx: &Ctx, line: usize, prop: &str) -> Result<Timestamp, IcalError> {
        let (tz, dt) = self.local(ctx);
        to_ts(&tz, dt, line, prop)
    }
}

fn to_ts(tz: &TimeZone, dt: DateTime, line: usize, prop: &str) -> Result<Timestamp, IcalError> {
    tz.to_ambiguous_timestamp(dt).compatible().map_err(|e| {
        err(
            line,
            prop,
            format!("`{dt}` cannot be placed in its zone: {e}"),
        )
    })
}

fn digits(s: &str) -> Option<i32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_date(s: &str) -> Option<Date> {
    if s.len() != 8 || !s.is_ascii() {
        return None;
    }
    let y = i16::try_from(digits(&s[0..4])?).ok()?;
    let m = i8::try_from(digits(&s[4..6])?).ok()?;
    let d = i8::try_from(digits(&s[6..8])?).ok()?;
    Date::new(y, m, d).ok()
}

/// `YYYYMMDDTHHMMSS` with an optional `Z`; returns the date-time and whether it is UTC.
fn parse_datetime(s: &str) -> Option<(DateTime, bool)> {
    let (s, utc) = match s.strip_suffix(['Z', 'z']) {
        Some(rest) => (rest, true),
        None => (s, false),
    };
    if s.len() != 15 || !s.is_ascii() || !matches!(s.as_bytes()[8], b'T' | b't') {
        return None;
    }
    let date = parse_date(&s[0..8])?;
    let h = i8::try_from(digits(&s[9..11])?).ok()?;
    let mi = i8::try_from(digits(&s[11..13])?).ok()?;
    let sec = i8::try_from(digits(&s[13..15])?).ok()?;
    let sec = if sec == 60 { 59 } else { sec };
    let time = Time::new(h, mi, sec, 0).ok()?;
    Some((date.to_datetime(time), utc))
}

fn resolve_tz(ctx: &Ctx, tzid: &str, line: usize, prop: &str) -> Result<TimeZone, IcalError> {
    let name = tzid.trim();
    if let Ok(tz) = TimeZone::get(name.trim_start_matches('/')) {
        return Ok(tz);
    }
    if let Some(loc) = ctx.aliases.get(name) {
        return TimeZone::get(loc).map_err(|_| {
            err(
                line,
                prop,
                format!("time zone `{name}`: its X-LIC-LOCATION `{loc}` is not an IANA time zone"),
            )
        });
    }
    Err(err(
        line,
        prop,
        format!("time zone `{name}` is not an IANA name and no VTIMEZONE gives its X-LIC-LOCATION"),
    ))
}

/// Every value of a date or date-time property (comma-separated lists allowed).
fn parse_whens(ctx: &Ctx, p: &Prop) -> Result<Vec<When>, IcalError> {
    let value_type = p.param("VALUE").map(str::to_ascii_uppercase);
    if value_type.as_deref() == Some("PERIOD") {
        return Err(err(p.line, &p.name, "`VALUE=PERIOD` is not supported"));
    }
    let tz = match p.param("TZID") {
        Some(id) => Some(resolve_tz(ctx, id, p.line, &p.name)?),
        None => None,
    };
    let mut out = Vec::new();
    for v in p.value.split(',') {
        let v = v.trim();
        let is_date =
            value_type.as_deref() == Some("DATE") || (v.len() == 8 && !v.contains(['T', 't']));
        if is_date {
            let d = parse_date(v)
                .ok_or_else(|| err(p.line, &p.name, format!("`{v}` is not a date")))?;
            out.push(When::Date(d));
            continue;
        }
        let (dt, utc) = parse_datetime(v)
            .ok_or_else(|| err(p.line, &p.name, format!("`{v}` is not a date-time")))?;
        out.push(match (utc, &tz) {
            (true, _) => When::Utc(dt),
            (false, Some(tz)) => When::Zoned(dt, tz.clone()),
            (false, None) => When::Floating(dt),
        });
    }
    if out.is_empty() {
        return Err(err(p.line, &p.name, "no value"));
    }
    Ok(out)
}

fn parse_when(ctx: &Ctx, p: &Prop) -> Result<When, IcalError> {
    let mut all = parse_whens(ctx, p)?;
    if all.len() != 1 {
        return Err(err(p.line, &p.name, "expected one value"));
    }
    all.pop().ok_or_else(|| err(p.line, &p.name, "no value"))
}

/// A duration: `days` nominal days (same local time), then `secs` exact seconds.
#[derive(Clone, Copy)]
struct Dur {
    days: i64,
    secs: i64,
}

impl Dur {
    fn end(
        &self,
        tz: &TimeZone,
        start_local: DateTime,
        start: Timestamp,
        line: usize,
    ) -> Result<Timestamp, IcalError> {
        let overflow = || err(line, "DURATION", "the end of the event is out of range");
        let base = if self.days == 0 {
            start
        } else {
            let span = Span::new().try_days(self.days).map_err(|_| overflow())?;
            let local = start_local.checked_add(span).map_err(|_| overflow())?;
            to_ts(tz, local, line, "DTEND")?
        };
        base.checked_add(SignedDuration::from_secs(self.secs))
            .map_err(|_| overflow())
    }
}

fn parse_duration(p: &Prop) -> Result<Dur, IcalError> {
    let bad = || err(p.line, &p.name, format!("`{}` is not a duration", p.value));
    let v = p.value.trim().to_ascii_uppercase();
    let (sign, v) = match v.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, v.strip_prefix('+').unwrap_or(&v)),
    };
    let v = v.strip_prefix('P').ok_or_else(bad)?;
    let (mut days, mut secs) = (0i64, 0i64);
    let mut num = String::new();
    let mut in_time = false;
    let mut any = false;
    for c in v.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        if c == 'T' {
            if in_time || !num.is_empty() {
                return Err(bad());
            }
            in_time = true;
            continue;
        }
        let n: i64 = num.parse().map_err(|_| bad())?;
        if n > 100_000_000 {
            return Err(bad());
        }
        num.clear();
        any = true;
        match (c, in_time) {
            ('W', false) => days += n * 7,
            ('D', false) => days += n,
            ('H', true) => secs += n * 3600,
            ('M', true) => secs += n * 60,
            ('S', true) => secs += n,
            _ => return Err(bad()),
        }
    }
    if !num.is_empty() || !any {
        return Err(bad());
    }
    Ok(Dur {
        days: sign * days,
        secs: sign * secs,
    })
}

// ---------------------------------------------------------------- events

struct Event {
    line: usize,
    uid: String,
    summary: Option<String>,
    zone: TimeZone,
    start_local: DateTime,
    duration: Dur,
    rrules: Vec<(usize, Rule)>,
    exdates: HashSet<Timestamp>,
    recurrence_id: Option<Timestamp>,
    busy: bool,
}

fn read_event(ctx: &Ctx, c: &Component) -> Result<Event, IcalError> {
    let dtstart_prop = c
        .prop("DTSTART")
        .ok_or_else(|| err(c.line, "DTSTART", "the VEVENT has no DTSTART"))?;
    let start = parse_when(ctx, dtstart_prop)?;
    let (zone, start_local) = start.local(ctx);
    let start_ts = start.timestamp(ctx, dtstart_prop.line, "DTSTART")?;
    let duration = if let Some(p) = c.prop("DTEND") {
        let end = parse_when(ctx, p)?;
        match (&start, &end) {
            (When::Date(s), When::Date(e)) => Dur {
                days: day_number(*e) - day_number(*s),
                secs: 0,
            },
            (When::Date(_), _) | (_, When::Date(_)) => {
                return Err(err(
                    p.line,
                    "DTEND",
                    "DTSTART and DTEND must both be dates or both date-times",
                ));
            }
            _ => Dur {
                days: 0,
                secs: end
                    .timestamp(ctx, p.line, "DTEND")?
                    .duration_since(start_ts)
                    .as_secs(),
            },
        }
    } else if let Some(p) = c.prop("DURATION") {
        parse_duration(p)?
    } else if matches!(start, When::Date(_)) {
        Dur { days: 1, secs: 0 }
    } else {
        Dur { days: 0, secs: 0 }
    };
    let upper = |name: &str| c.prop(name).map(|p| p.value.trim().to_ascii_uppercase());
    let busy = upper("TRANSP").as_deref() != Some("TRANSPARENT")
        && upper("STATUS").as_deref() != Some("CANCELLED");
    let mut rrules = Vec::new();
    let mut exdates = HashSet::new();
    for p in &c.props {
        match p.name.as_str() {
            "RRULE" => rrules.push((p.line, parse_rule(ctx, p, &start)?)),
            "EXDATE" => {
                for w in parse_whens(ctx, p)? {
                    exdates.insert(instance_ts(ctx, &w, &zone, p.line, "EXDATE")?);
                }
            }
            _ => {}
        }
    }
    let recurrence_id = match c.prop("RECURRENCE-ID") {
        Some(p) => Some(instance_ts(
            ctx,
            &parse_when(ctx, p)?,
            &zone,
            p.line,
            "RECURRENCE-ID",
        )?),
        None => None,
    };
    Ok(Event {
        line: dtstart_prop.line,
        uid: c
            .prop("UID")
            .map(|p| unescape(p.value.trim()))
            .unwrap_or_default(),
        summary: c.prop("SUMMARY").map(|p| unescape(&p.value)),
        zone,
        start_local,
        duration,
        rrules,
        exdates,
        recurrence_id,
        busy,
    })
}

/// The instant an `EXDATE` or `RECURRENCE-ID` names: a floating value is read in the event's
/// own zone (the zone its `DTSTART` is in).
fn instance_ts(
    ctx: &Ctx,
    w: &When,
    zone: &TimeZone,
    line: usize,
    prop: &str,
) -> Result<Timestamp, IcalError> {
    match w {
        When::Floating(dt) => to_ts(zone, *dt, line, prop),
        _ => w.timestamp(ctx, line, prop),
    }
}

/// Days since 1970-01-01 of a civil date.
fn day_number(d: Date) -> i64 {
    let (y, m, day) = (
        i64::from(d.year()),
        i64::from(d.month()),
        i64::from(d.day()),
    );
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ---------------------------------------------------------------- recurrence rules

#[derive(Clone, Copy, PartialEq, Eq)]
enum Freq {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

struct Rule {
    freq: Freq,
    interval: i64,
    count: Option<u64>,
    until: Option<When>,
    until_ts: Option<Timestamp>,
    /// (ordinal, 0 when none; weekday)
    byday: Vec<(i8, Weekday)>,
    bymonthday: Vec<i8>,
    bymonth: Vec<i8>,
    wkst: Weekday,
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "MO" => Weekday::Monday,
        "TU" => Weekday::Tuesday,
        "WE" => Weekday::Wednesday,
        "TH" => Weekday::Thursday,
        "FR" => Weekday::Friday,
        "SA" => Weekday::Saturday,
        "SU" => Weekday::Sunday,
        _ => return None,
    })
}

fn parse_rule(ctx: &Ctx, p: &Prop, start: &When) -> Result<Rule, IcalError> {
    let line = p.line;
    let e = |m: String| err(line, "RRULE", m);
    let mut rule = Rule {
        freq: Freq::Daily,
        interval: 1,
        count: None,
        until: None,
        until_ts: None,
        byday: Vec::new(),
        bymonthday: Vec::new(),
        bymonth: Vec::new(),
        wkst: Weekday::Monday,
    };
    let mut freq = None;
    for part in p.value.trim().split(';').filter(|s| !s.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| e(format!("`{part}` is not NAME=VALUE")))?;
        let k = k.trim().to_ascii_uppercase();
        let v = v.trim().to_ascii_uppercase();
        let bad = || e(format!("`{k}={v}` is not valid"));
        match k.as_str() {
            "FREQ" => {
                freq = Some(match v.as_str() {
                    "DAILY" => Freq::Daily,
                    "WEEKLY" => Freq::Weekly,
                    "MONTHLY" => Freq::Monthly,
                    "YEARLY" => Freq::Yearly,
                    "HOURLY" | "MINUTELY" | "SECONDLY" => {
                        return Err(e(format!("`FREQ={v}` is not supported")));
                    }
                    _ => return Err(bad()),
                })
            }
            "INTERVAL" => {
                rule.interval = digits(&v).filter(|&n| n >= 1).ok_or_else(bad)?.into();
            }
            "COUNT" => rule.count = Some(digits(&v).ok_or_else(bad)?.unsigned_abs().into()),
            "UNTIL" => {
                let fake = Prop {
                    line,
                    name: "RRULE".to_string(),
                    params: Vec::new(),
                    value: v.clone(),
                };
                let mut until = parse_when(ctx, &fake)?;
                // A floating UNTIL of a zoned start is read in the start's zone.
                if let (When::Floating(dt), When::Zoned(_, tz)) = (&until, start) {
                    until = When::Zoned(*dt, tz.clone());
                }
                rule.until_ts = Some(until.timestamp(ctx, line, "RRULE")?);
                rule.until = Some(until);
            }
            "BYDAY" => {
                for d in v.split(',') {
                    let d = d.trim();
                    let split = d.len().saturating_sub(2);
                    let wd = d.get(split..).and_then(weekday).ok_or_else(bad)?;
                    let ord = &d[..split];
                    let n: i8 = if ord.is_empty() {
                        0
                    } else {
                        let (sign, num) = match ord.strip_prefix('-') {
                            Some(r) => (-1, r),
                            None => (1, ord.strip_prefix('+').unwrap_or(ord)),
                        };
                        let n = digits(num)
                            .filter(|n| (1..=53).contains(n))
                            .ok_or_else(bad)?;
                        i8::try_from(sign * n).map_err(|_| bad())?
                    };
                    rule.byday.push((n, wd));
                }
            }
            "BYMONTHDAY" => {
                for d in v.split(',') {
                    let d = d.trim();
                    let (sign, num) = match d.strip_prefix('-') {
                        Some(r) => (-1, r),
                        None => (1, d.strip_prefix('+').unwrap_or(d)),
                    };
                    let n = digits(num)
                        .filter(|n| (1..=31).contains(n))
                        .ok_or_else(bad)?;
                    rule.bymonthday
                        .push(i8::try_from(sign * n).map_err(|_| bad())?);
                }
            }
            "BYMONTH" => {
                for m in v.split(',') {
                    let n = digits(m.trim())
                        .filter(|n| (1..=12).contains(n))
                        .ok_or_else(bad)?;
                    rule.bymonth.push(i8::try_from(n).map_err(|_| bad())?);
                }
            }
            "WKST" => rule.wkst = weekday(&v).ok_or_else(bad)?,
            "BYSETPOS" | "BYYEARDAY" | "BYWEEKNO" | "BYHOUR" | "BYMINUTE" | "BYSECOND"
            | "RSCALE" | "SKIP" => return Err(e(format!("`{k}` is not supported"))),
            _ if k.starts_with("X-") => {}
            _ => return Err(e(format!("unknown rule part `{k}`"))),
        }
    }
    rule.freq = freq.ok_or_else(|| e("no FREQ".to_string()))?;
    if rule.count.is_some() && rule.until.is_some() {
        return Err(e("COUNT and UNTIL together".to_string()));
    }
    if rule.freq != Freq::Monthly
        && rule.freq != Freq::Yearly
        && rule.byday.iter().any(|(n, _)| *n != 0)
    {
        return Err(e(
            "BYDAY ordinals are only valid with FREQ=MONTHLY or YEARLY".to_string(),
        ));
    }
    Ok(rule)
}

fn add_days(d: Date, n: i64) -> Option<Date> {
    d.checked_add(Span::new().try_days(n).ok()?).ok()
}

fn offset(from: Weekday, to: Weekday) -> i64 {
    i64::from((to.to_monday_zero_offset() - from.to_monday_zero_offset()).rem_euclid(7))
}

fn month_dates(rule: &Rule, y: i16, m: i8, default_day: i8) -> Vec<Date> {
    let Ok(first) = Date::new(y, m, 1) else {
        return Vec::new();
    };
    let dim = first.days_in_month();
    let by_md: Vec<Date> = rule
        .bymonthday
        .iter()
        .filter_map(|&md| {
            let day = if md > 0 { md } else { dim + 1 + md };
            (1..=dim)
                .contains(&day)
                .then(|| Date::new(y, m, day).ok())
                .flatten()
        })
        .collect();
    let mut by_wd: Vec<Date> = Vec::new();
    for &(n, wd) in &rule.byday {
        if n == 0 {
            let mut d = add_days(first, offset(first.weekday(), wd));
            while let Some(x) = d.filter(|x| x.month() == m) {
                by_wd.push(x);
                d = add_days(x, 7);
            }
        } else if let Ok(d) = first.nth_weekday_of_month(n, wd) {
            by_wd.push(d);
        }
    }
    match (rule.bymonthday.is_empty(), rule.byday.is_empty()) {
        (false, false) => by_md.into_iter().filter(|d| by_wd.contains(d)).collect(),
        (false, true) => by_md,
        (true, false) => by_wd,
        (true, true) => Date::new(y, m, default_day).ok().into_iter().collect(),
    }
}

fn year_weekdays(rule: &Rule, y: i16) -> Vec<Date> {
    let (Ok(first), Ok(last)) = (Date::new(y, 1, 1), Date::new(y, 12, 31)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for &(n, wd) in &rule.byday {
        let mut all = Vec::new();
        let mut d = add_days(first, offset(first.weekday(), wd));
        while let Some(x) = d.filter(|x| *x <= last) {
            all.push(x);
            d = add_days(x, 7);
        }
        match n {
            0 => out.extend(all),
            n if n > 0 => out.extend(all.get(usize::from(n.unsigned_abs()) - 1).copied()),
            n => out.extend(
                all.len()
                    .checked_sub(usize::from(n.unsigned_abs()))
                    .and_then(|i| all.get(i).copied()),
            ),
        }
    }
    out
}

/// The candidate dates of period number `k` (already multiplied by the interval) and the first
/// date of that period; `None` when the period is out of the representable range.
fn period(rule: &Rule, start: Date, k: i64) -> Option<(Date, Vec<Date>)> {
    let weekday_ok =
        |d: &Date| rule.byday.is_empty() || rule.byday.iter().any(|(_, w)| *w == d.weekday());
    let month_ok = |d: &Date| rule.bymonth.is_empty() || rule.bymonth.contains(&d.month());
    let monthday_ok = |d: &Date| {
        rule.bymonthday.is_empty()
            || rule.bymonthday.iter().any(|&md| {
                let dim = d.days_in_month();
                let day = if md > 0 { md } else { dim + 1 + md };
                day == d.day()
            })
    };
    let month_of = |k: i64| -> Option<(i16, i8)> {
        let total = i64::from(start.year()) * 12 + i64::from(start.month()) - 1 + k;
        let y = i16::try_from(total.div_euclid(12)).ok()?;
        let m = i8::try_from(total.rem_euclid(12) + 1).ok()?;
        Some((y, m))
    };
    let (first, mut dates) = match rule.freq {
        Freq::Daily => {
            let d = add_days(start, k)?;
            let keep = weekday_ok(&d) && month_ok(&d) && monthday_ok(&d);
            (d, if keep { vec![d] } else { Vec::new() })
        }
        Freq::Weekly => {
            let ws = add_days(start, k * 7 - offset(rule.wkst, start.weekday()))?;
            let days: Vec<Weekday> = if rule.byday.is_empty() {
                vec![start.weekday()]
            } else {
                rule.byday.iter().map(|(_, w)| *w).collect()
            };
            let dates = days
                .into_iter()
                .filter_map(|w| add_days(ws, offset(rule.wkst, w)))
                .filter(|d| month_ok(d) && monthday_ok(d))
                .collect();
            (ws, dates)
        }
        Freq::Monthly => {
            let (y, m) = month_of(k)?;
            let first = Date::new(y, m, 1).ok()?;
            let dates = if month_ok(&first) {
                month_dates(rule, y, m, start.day())
            } else {
                Vec::new()
            };
            (first, dates)
        }
        Freq::Yearly => {
            let y = i16::try_from(i64::from(start.year()) + k).ok()?;
            let first = Date::new(y, 1, 1).ok()?;
            let dates = if !rule.bymonth.is_empty() {
                rule.bymonth
                    .iter()
                    .flat_map(|&m| month_dates(rule, y, m, start.day()))
                    .collect()
            } else if !rule.bymonthday.is_empty() {
                (1..=12)
                    .flat_map(|m| month_dates(rule, y, m, start.day()))
                    .collect()
            } else if !rule.byday.is_empty() {
                year_weekdays(rule, y)
            } else {
                month_dates(rule, y, start.month(), start.day())
            };
            (first, dates)
        }
    };
    dates.sort();
    dates.dedup();
    Some((first, dates))
}

/// The local starts of the occurrences of `rule` from `dtstart`, stopping at `to`.
fn expand(
    rule: &Rule,
    dtstart: DateTime,
    zone: &TimeZone,
    to: Timestamp,
    line: usize,
) -> Result<Vec<DateTime>, IcalError> {
    let mut out = Vec::new();
    let mut count = 0u64;
    let to_date = zone.to_datetime(to).date();
    let start_date = dtstart.date();
    let time = dtstart.time();
    // Returns false when the expansion is over.
    let mut accept = |dt: DateTime, out: &mut Vec<DateTime>| -> Result<bool, IcalError> {
        let ts = to_ts(zone, dt, line, "RRULE")?;
        if ts >= to || rule.count.is_some_and(|c| count >= c) {
            return Ok(false);
        }
        let within = match (&rule.until, rule.until_ts) {
            (Some(When::Date(d)), _) => dt.date() <= *d,
            (Some(When::Floating(u)), _) => dt <= *u,
            (_, Some(u)) => ts <= u,
            _ => true,
        };
        if !within {
            return Ok(false);
        }
        count += 1;
        out.push(dt);
        Ok(true)
    };
    if !accept(dtstart, &mut out)? {
        return Ok(out);
    }
    for i in 0..i64::from(MAX_ITERATIONS) {
        let Some((first, dates)) = period(rule, start_date, i * rule.interval) else {
            return Ok(out);
        };
        if first > to_date {
            return Ok(out);
        }
        for d in dates.into_iter().filter(|d| *d > start_date) {
            if !accept(d.to_datetime(time), &mut out)? {
                return Ok(out);
            }
        }
    }
    Err(err(
        line,
        "RRULE",
        format!(
            "expanding this rule up to the end of the window takes more than {MAX_ITERATIONS} periods"
        ),
    ))
}
