//! Time: UTC instants, calendar dates, IANA time zones and local clock times.
//!
//! The interchange format writes instants as RFC 3339 in UTC with a `Z` and dates as `YYYY-MM-DD`.
//! Zones are IANA names, resolved against the time zone database bundled into the binary (so a
//! machine without `/usr/share/zoneinfo` behaves the same as one with it).

use std::fmt;
use std::str::FromStr;

/// A point in time, in UTC, with microsecond precision (what both stores keep).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(jiff::Timestamp);

/// Why a string is not an [`Instant`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstantError {
    #[error("`{0}` is not an RFC 3339 timestamp in UTC such as `2025-03-19T18:11:25Z`")]
    Syntax(String),
    #[error("`{0}` must be in UTC, written with a `Z`")]
    NotUtc(String),
    #[error("`{0}` has more than microsecond precision")]
    TooPrecise(String),
    #[error("{0} microseconds since 1970 is out of range")]
    OutOfRange(i64),
}

impl Instant {
    pub fn parse(s: &str) -> Result<Instant, InstantError> {
        if !s.ends_with('Z') {
            // Tell a zone offset apart from plain garbage for a better message.
            return Err(match jiff::Timestamp::from_str(s) {
                Ok(_) => InstantError::NotUtc(s.to_owned()),
                Err(_) => InstantError::Syntax(s.to_owned()),
            });
        }
        // RFC 3339 requires the `T` (or `t`/space); jiff accepts a few more shapes, so insist on
        // the one the format uses: `YYYY-MM-DDTHH:MM:SS[.frac]Z`.
        let b = s.as_bytes();
        let shape_ok = b.len() >= 20
            && b.get(4) == Some(&b'-')
            && b.get(7) == Some(&b'-')
            && b.get(10) == Some(&b'T')
            && b.get(13) == Some(&b':')
            && b.get(16) == Some(&b':');
        if !shape_ok {
            return Err(InstantError::Syntax(s.to_owned()));
        }
        let ts = jiff::Timestamp::from_str(s).map_err(|_| InstantError::Syntax(s.to_owned()))?;
        if ts.subsec_nanosecond() % 1000 != 0 {
            return Err(InstantError::TooPrecise(s.to_owned()));
        }
        Ok(Instant(ts))
    }

    pub fn from_micros(us: i64) -> Result<Instant, InstantError> {
        jiff::Timestamp::from_microsecond(us)
            .map(Instant)
            .map_err(|_| InstantError::OutOfRange(us))
    }

    pub fn from_timestamp(ts: jiff::Timestamp) -> Instant {
        // Truncate to what the stores keep, so that a value survives a round trip unchanged.
        let us = ts.as_microsecond();
        Instant(jiff::Timestamp::from_microsecond(us).unwrap_or(ts))
    }

    /// Microseconds since the Unix epoch: how SQLite stores instants.
    pub fn as_micros(self) -> i64 {
        self.0.as_microsecond()
    }

    pub fn as_timestamp(self) -> jiff::Timestamp {
        self.0
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl serde::Serialize for Instant {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// A calendar date without a time or zone (`YYYY-MM-DD`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(jiff::civil::Date);

/// Why a string is not a [`Date`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a date `YYYY-MM-DD` from 0001-01-01 to 9999-12-31")]
pub struct DateError(pub String);

impl Date {
    pub fn parse(s: &str) -> Result<Date, DateError> {
        let b = s.as_bytes();
        let shape_ok = b.len() == 10
            && b.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                _ => c.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(DateError(s.to_owned()));
        }
        // Years 0001 to 9999, as both stores take them: jiff knows year 0000, PostgreSQL's
        // dates and timestamps do not agree with it (`date/time field value out of range`) and
        // SQLite's compare as text.
        jiff::civil::Date::from_str(s)
            .ok()
            .filter(|d| d.year() >= 1)
            .map(Date)
            .ok_or_else(|| DateError(s.to_owned()))
    }

    pub fn as_civil(self) -> jiff::civil::Date {
        self.0
    }

    pub fn from_civil(d: jiff::civil::Date) -> Date {
        Date(d)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// An IANA time zone (`Europe/Berlin`), known to the bundled time zone database.
#[derive(Clone)]
pub struct TimeZone {
    name: Box<str>,
    tz: jiff::tz::TimeZone,
}

/// Why a string is not a [`TimeZone`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IANA time zone such as `Europe/Berlin`")]
pub struct TimeZoneError(pub String);

impl TimeZone {
    pub fn parse(name: &str) -> Result<TimeZone, TimeZoneError> {
        // Offsets such as `+05:30` are not zones: they have no daylight-saving rules.
        if name.is_empty() || name.starts_with(['+', '-']) || name.chars().any(char::is_whitespace)
        {
            return Err(TimeZoneError(name.to_owned()));
        }
        let tz = jiff::tz::TimeZone::get(name).map_err(|_| TimeZoneError(name.to_owned()))?;
        Ok(TimeZone {
            name: name.into(),
            tz,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn as_jiff(&self) -> &jiff::tz::TimeZone {
        &self.tz
    }
}

impl PartialEq for TimeZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for TimeZone {}

impl fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl serde::Serialize for TimeZone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}

/// A wall-clock time of day `HH:MM`, as minutes since midnight; `24:00` is allowed as an end.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTime(u16);

/// Why a string is not a [`LocalTime`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a time of day `HH:MM` between `00:00` and `24:00`")]
pub struct LocalTimeError(pub String);

impl LocalTime {
    pub fn parse(s: &str) -> Result<LocalTime, LocalTimeError> {
        let err = || LocalTimeError(s.to_owned());
        let (h, m) = s.split_once(':').ok_or_else(err)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(err());
        }
        let h: u16 = h.parse().map_err(|_| err())?;
        let m: u16 = m.parse().map_err(|_| err())?;
        if m >= 60 || h > 24 || (h == 24 && m != 0) {
            return Err(err());
        }
        Ok(LocalTime(h * 60 + m))
    }

    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl fmt::Debug for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for LocalTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_utc_rfc3339() {
        let i = Instant::parse("2025-03-19T18:11:25Z").unwrap();
        assert_eq!(i.to_string(), "2025-03-19T18:11:25Z");
        assert_eq!(Instant::from_micros(i.as_micros()).unwrap(), i);
        assert_eq!(
            Instant::parse("2025-03-19T18:11:25.5Z")
                .unwrap()
                .to_string(),
            "2025-03-19T18:11:25.5Z"
        );
        assert!(matches!(
            Instant::parse("2025-03-19T18:11:25+01:00"),
            Err(InstantError::NotUtc(_))
        ));
        assert!(matches!(
            Instant::parse("2025-02-30T18:11:25Z"),
            Err(InstantError::Syntax(_))
        ));
        assert!(matches!(
            Instant::parse("yesterday"),
            Err(InstantError::Syntax(_))
        ));
        assert!(matches!(
            Instant::parse("2025-03-19T18:11:25.123456789Z"),
            Err(InstantError::TooPrecise(_))
        ));
    }

    #[test]
    fn dates_zones_and_clock_times() {
        assert_eq!(Date::parse("2025-06-16").unwrap().to_string(), "2025-06-16");
        assert!(Date::parse("2025-6-16").is_err());
        // Years 0001 to 9999 only: PostgreSQL has no year 0000.
        assert_eq!(
            Date::parse("0000-01-01").unwrap_err().to_string(),
            "`0000-01-01` is not a date `YYYY-MM-DD` from 0001-01-01 to 9999-12-31"
        );
        assert_eq!(Date::parse("0001-01-01").unwrap().to_string(), "0001-01-01");
        assert_eq!(Date::parse("9999-12-31").unwrap().to_string(), "9999-12-31");
        assert!(Date::parse("2025-02-29").is_err());
        assert_eq!(
            TimeZone::parse("Asia/Kathmandu").unwrap().name(),
            "Asia/Kathmandu"
        );
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert!(TimeZone::parse("+05:30").is_err());
        assert_eq!(LocalTime::parse("09:30").unwrap().minutes(), 570);
        assert_eq!(LocalTime::parse("24:00").unwrap().to_string(), "24:00");
        assert!(LocalTime::parse("24:30").is_err());
        assert!(LocalTime::parse("9:30").is_err());
    }
}
