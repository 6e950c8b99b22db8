//! When a failed job or external call is tried again.
//!
//! Exponential backoff with *full jitter* (AWS's "Exponential Backoff And Jitter"): the n-th
//! retry waits a uniformly random time in `[0, min(cap, base * 2^(n-1))]`, so that many
//! clients failing together do not retry together. A destination's `Retry-After` is a floor:
//! the wait is never shorter than what the server asked for (bounded by `max_retry_after`, so a
//! hostile or broken server cannot park a job for a year).
//!
//! The random number is the caller's (`unit` in `[0, 1)`), so the schedule is reproducible.

use std::time::Duration;

/// A retry schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry's wait.
    pub base: Duration,
    /// The largest wait, whatever the attempt.
    pub cap: Duration,
    /// The longest `Retry-After` honoured; a longer one is cut to this.
    pub max_retry_after: Duration,
}

impl Default for Backoff {
    /// 1 s, doubling, up to 1 hour; `Retry-After` honoured up to 1 hour.
    fn default() -> Backoff {
        Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(3600),
            max_retry_after: Duration::from_secs(3600),
        }
    }
}

impl Backoff {
    /// The ceiling of the wait before retry `retry` (1 = the first retry): `base * 2^(retry-1)`,
    /// at most `cap` (no overflow whatever `retry` is).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let shift = retry.saturating_sub(1).min(63);
        let factor = 1u64 << shift;
        let base = u64::try_from(self.base.as_millis()).unwrap_or(u64::MAX);
        let ms = base.saturating_mul(factor);
        Duration::from_millis(ms).min(self.cap)
    }

    /// The wait before retry `retry`, with `unit` a random number in `[0, 1)` (full jitter),
    /// and at least `retry_after` (bounded by `max_retry_after`) when the destination said so.
    pub fn delay(&self, retry: u32, unit: f64, retry_after: Option<Duration>) -> Duration {
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let jittered = self.ceiling(retry).mul_f64(unit);
        match retry_after {
            Some(after) => jittered.max(after.min(self.max_retry_after)),
            None => jittered,
        }
    }
}

/// Reads an HTTP `Retry-After` value: whole seconds (`120`) or an HTTP date, which needs the
/// caller's clock (`now_unix`, seconds) and parses the IMF-fixdate form
/// (`Sun, 06 Nov 1994 08:49:37 GMT`). `None` for anything else.
pub fn parse_retry_after(value: &str, now_unix: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_imf_fixdate(value)?;
    Some(Duration::from_secs(
        u64::try_from(at - now_unix).unwrap_or(0),
    ))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` as Unix seconds. Written here rather than taken from a
/// crate: one fixed format of RFC 9110 (the obsolete ones are optional to accept), and this
/// crate stays without dependencies beyond serde.
fn parse_imf_fixdate(s: &str) -> Option<i64> {
    let rest = s.split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day: u32 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':');
    let h: i64 = hms.next()?.parse().ok()?;
    let m: i64 = hms.next()?.parse().ok()?;
    let sec: i64 = hms.next()?.parse().ok()?;
    if parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 || !(1970..=9999).contains(&year) {
        return None;
    }
    Some(days_from_civil(year, month, i64::from(day)) * 86_400 + h * 3600 + m * 60 + sec)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_up_to_the_cap_without_overflow() {
        let b = Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(600),
        };
        assert_eq!(b.ceiling(1), Duration::from_secs(1));
        assert_eq!(b.ceiling(2), Duration::from_secs(2));
        assert_eq!(b.ceiling(6), Duration::from_secs(32));
        assert_eq!(b.ceiling(7), Duration::from_secs(60));
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn full_jitter_spans_zero_to_the_ceiling_and_retry_after_is_a_floor() {
        let b = Backoff::default();
        assert_eq!(b.delay(3, 0.0, None), Duration::ZERO);
        assert_eq!(b.delay(3, 0.5, None), Duration::from_secs(2));
        assert_eq!(b.delay(3, f64::NAN, None), Duration::ZERO);
        let after = Some(Duration::from_secs(30));
        assert_eq!(b.delay(1, 0.9, after), Duration::from_secs(30));
        // A huge Retry-After is cut to the bound.
        let year = Some(Duration::from_secs(365 * 86_400));
        assert_eq!(b.delay(1, 0.0, year), Duration::from_secs(3600));
    }

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        assert_eq!(parse_retry_after("120", 0), Some(Duration::from_secs(120)));
        // 1994-11-06T08:49:37Z is 784111777.
        let now = 784_111_777 - 90;
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(90))
        );
        // A date in the past means now.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now + 1000),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", 0), None);
        assert_eq!(parse_retry_after("-5", 0), None);
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 25:49:37 GMT", 0), None);
    }
}
