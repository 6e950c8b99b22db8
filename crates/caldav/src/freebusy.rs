//! The busy periods of a `VFREEBUSY` (RFC 5545 §3.6.4, §3.8.2.6): `FREEBUSY` properties whose
//! `FBTYPE` is not `FREE` (`BUSY` by default; unknown types count as busy, as §3.2.9 asks), each
//! value a comma-separated list of UTC periods `start/end` or `start/duration` (§3.3.9).

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// A problem: the property (or component) it concerns, and what is wrong.
pub(crate) type Problem = (String, String);

fn problem(field: &str, message: impl Into<String>) -> Problem {
    (field.to_owned(), message.into())
}

/// Unfolded content lines (RFC 5545 §3.1): CRLF or LF, continuations start with a space or a tab.
fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix([' ', '\t'])
            && let Some(last) = lines.last_mut()
        {
            last.push_str(rest);
        } else if !raw.is_empty() {
            lines.push(raw.to_owned());
        }
    }
    lines
}

/// A property's upper-case name, its parameters (upper-case names) and its value.
type Property<'a> = (String, Vec<(String, String)>, &'a str);

/// A content line split into its name, its parameters and its value (quotes respected).
fn split(line: &str) -> Option<Property<'_>> {
    let mut in_quotes = false;
    let colon = line.char_indices().find_map(|(i, c)| match c {
        '"' => {
            in_quotes = !in_quotes;
            None
        }
        ':' if !in_quotes => Some(i),
        _ => None,
    })?;
    let (head, value) = (&line[..colon], &line[colon + 1..]);
    let mut parts = Vec::new();
    let mut part = String::new();
    in_quotes = false;
    for c in head.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            ';' if !in_quotes => parts.push(std::mem::take(&mut part)),
            _ => part.push(c),
        }
    }
    parts.push(part);
    let mut parts = parts.into_iter();
    let name = parts.next()?.to_ascii_uppercase();
    let params = parts
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_ascii_uppercase(), v.to_owned()),
            None => (p.to_ascii_uppercase(), String::new()),
        })
        .collect();
    Some((name, params, value))
}

/// `YYYYMMDDTHHMMSSZ`.
fn utc(text: &str) -> Result<Timestamp, String> {
    let Some(local) = text.strip_suffix(['Z', 'z']) else {
        return Err(format!(
            "`{text}` is not a UTC date-time (`YYYYMMDDTHHMMSSZ`)"
        ));
    };
    DateTime::strptime("%Y%m%dT%H%M%S", local)
        .ok()
        .and_then(|dt| TimeZone::UTC.to_ambiguous_timestamp(dt).unambiguous().ok())
        .ok_or_else(|| format!("`{text}` is not a UTC date-time (`YYYYMMDDTHHMMSSZ`)"))
}

/// A duration, zero or more (`P1W`, `P1D`, `PT1H30M`, `P1DT2H`, `PT0S`); days are 24 hours in UTC.
fn duration(text: &str) -> Result<SignedDuration, String> {
    let bad = || format!("`{text}` is not a duration");
    let rest = text.strip_prefix('+').unwrap_or(text);
    let rest = rest.strip_prefix('P').ok_or_else(bad)?;
    let mut seconds: i64 = 0;
    let mut number = String::new();
    let mut in_time = false;
    let mut any = false;
    for c in rest.chars() {
        match c {
            '0'..='9' => number.push(c),
            'T' if !in_time && number.is_empty() => in_time = true,
            _ => {
                let n: i64 = number.parse().map_err(|_| bad())?;
                number.clear();
                let unit = match (c, in_time) {
                    ('W', false) => 7 * 86_400,
                    ('D', false) => 86_400,
                    ('H', true) => 3_600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return Err(bad()),
                };
                seconds = n
                    .checked_mul(unit)
                    .and_then(|s| seconds.checked_add(s))
                    .ok_or_else(bad)?;
                any = true;
            }
        }
    }
    // Zero (`PT0S`) is a duration: the period it ends is empty, no busy time.
    if !number.is_empty() || !any {
        return Err(bad());
    }
    Ok(SignedDuration::from_secs(seconds))
}

fn period(text: &str) -> Result<(Timestamp, Timestamp), String> {
    let Some((start, rest)) = text.split_once('/') else {
        return Err(format!(
            "`{text}` is not a period (`start/end` or `start/duration`)"
        ));
    };
    let start = utc(start)?;
    let end = if rest.starts_with(['P', '+']) {
        start
            .checked_add(duration(rest)?)
            .map_err(|_| format!("`{text}` ends out of range"))?
    } else {
        utc(rest)?
    };
    if end < start {
        return Err(format!("`{text}` ends before it starts"));
    }
    Ok((start, end))
}

/// The busy periods of every `VFREEBUSY` of `text`, in order of appearance.
pub(crate) fn busy_periods(text: &str) -> Result<Vec<(Timestamp, Timestamp)>, Problem> {
    let mut out = Vec::new();
    let mut depth_in_freebusy = 0usize;
    let mut saw_freebusy = false;
    for line in unfold(text) {
        let Some((name, params, value)) = split(&line) else {
            continue;
        };
        match name.as_str() {
            "BEGIN" if value.eq_ignore_ascii_case("VFREEBUSY") => {
                depth_in_freebusy += 1;
                saw_freebusy = true;
            }
            "END" if value.eq_ignore_ascii_case("VFREEBUSY") => {
                depth_in_freebusy = depth_in_freebusy.saturating_sub(1);
            }
            "FREEBUSY" if depth_in_freebusy > 0 => {
                let free = params
                    .iter()
                    .any(|(k, v)| k == "FBTYPE" && v.eq_ignore_ascii_case("FREE"));
                if free {
                    continue;
                }
                for p in value.split(',') {
                    let (start, end) = period(p.trim()).map_err(|m| problem("FREEBUSY", m))?;
                    // An empty period (end = start) is no busy time: the scheduler's one rule.
                    if start < end {
                        out.push((start, end));
                    }
                }
            }
            _ => {}
        }
    }
    if !saw_freebusy {
        return Err(problem(
            "VFREEBUSY",
            "the answer holds no `VFREEBUSY` component",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn busy_types_count_and_free_does_not() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VFREEBUSY\r\n\
                    DTSTART:20260301T000000Z\r\nDTEND:20260401T000000Z\r\n\
                    FREEBUSY;FBTYPE=BUSY:20260302T150000Z/20260302T160000Z\r\n\
                    FREEBUSY:20260303T150000Z/PT30M,20260304T150000Z/P1D\r\n\
                    FREEBUSY;FBTYPE=FREE:20260305T150000Z/20260305T160000Z\r\n\
                    FREEBUSY;FBTYPE=BUSY-TENTATIVE:20260306T150000Z/PT1H\r\n\
                    FREEBUSY;FBTYPE=\"BUSY-UNAVAILABLE\";X-NOTE=\"a:b\":20260307T150000Z/P1W\r\n\
                    FREEBUSY;FBTYPE=X-OUT-OF-OFFICE:20260320T10\r\n 0000Z/PT1H15M20S\r\n\
                    END:VFREEBUSY\r\nEND:VCALENDAR\r\n";
        let got = busy_periods(text).unwrap();
        assert_eq!(
            got,
            [
                (ts("2026-03-02T15:00:00Z"), ts("2026-03-02T16:00:00Z")),
                (ts("2026-03-03T15:00:00Z"), ts("2026-03-03T15:30:00Z")),
                (ts("2026-03-04T15:00:00Z"), ts("2026-03-05T15:00:00Z")),
                (ts("2026-03-06T15:00:00Z"), ts("2026-03-06T16:00:00Z")),
                (ts("2026-03-07T15:00:00Z"), ts("2026-03-14T15:00:00Z")),
                (ts("2026-03-20T10:00:00Z"), ts("2026-03-20T11:15:20Z")),
            ]
        );
    }

    #[test]
    fn bad_periods_name_the_property() {
        let wrap = |line: &str| format!("BEGIN:VFREEBUSY\n{line}\nEND:VFREEBUSY\n");
        for (line, message) in [
            (
                "FREEBUSY:20260302T150000/20260302T160000Z",
                "`20260302T150000` is not a UTC date-time (`YYYYMMDDTHHMMSSZ`)",
            ),
            (
                "FREEBUSY:20260302T150000Z",
                "`20260302T150000Z` is not a period (`start/end` or `start/duration`)",
            ),
            ("FREEBUSY:20260302T150000Z/PT", "`PT` is not a duration"),
            ("FREEBUSY:20260302T150000Z/P1H", "`P1H` is not a duration"),
            (
                "FREEBUSY:20260302T150000Z/20260302T140000Z",
                "`20260302T150000Z/20260302T140000Z` ends before it starts",
            ),
        ] {
            assert_eq!(
                busy_periods(&wrap(line)),
                Err(("FREEBUSY".to_owned(), message.to_owned())),
                "{line}"
            );
        }
        // An empty period is no busy time, not an error.
        assert_eq!(
            busy_periods(&wrap(
                "FREEBUSY:20260302T150000Z/20260302T150000Z,20260302T160000Z/PT1H,20260302T180000Z/PT0S"
            )),
            Ok(vec![(
                ts("2026-03-02T16:00:00Z"),
                ts("2026-03-02T17:00:00Z")
            )])
        );
        assert_eq!(
            busy_periods("BEGIN:VCALENDAR\nEND:VCALENDAR\n")
                .unwrap_err()
                .0,
            "VFREEBUSY"
        );
    }

    #[test]
    fn freebusy_outside_vfreebusy_is_ignored() {
        let text = "BEGIN:VCALENDAR\nFREEBUSY:20260302T150000Z/PT1H\nBEGIN:VFREEBUSY\nEND:VFREEBUSY\nEND:VCALENDAR\n";
        assert_eq!(busy_periods(text), Ok(vec![]));
    }
}
