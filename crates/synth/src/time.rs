//! Time as plain Unix seconds, printed in the interchange format's shapes.
//!
//! The generator does a lot of timestamp arithmetic and prints millions of timestamps,
//! so it keeps times as `i64` seconds since the Unix epoch (UTC) and formats them itself
//! (`2025-03-19T18:11:25Z`, `2025-03-19`). Time zones are only needed for working hours
//! and calendars, where `jiff` does the conversion.

use serde::{Serialize, Serializer};

pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 3_600;
pub const DAY: i64 = 86_400;

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date `(year, month, day)` of a day number.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // The ranges are guaranteed by the algorithm: 1..=31 and 1..=12.
    (year, day_u32(month), day_u32(day))
}

fn day_u32(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(1)
}

/// Day of the week of a day number, 0 = Monday .. 6 = Sunday.
pub fn weekday(days: i64) -> usize {
    // 1970-01-01 was a Thursday (3).
    usize::try_from((days + 3).rem_euclid(7)).unwrap_or(0)
}

/// Rounds `t` up to the next multiple of `step` seconds.
pub fn ceil_to(t: i64, step: i64) -> i64 {
    let r = t.rem_euclid(step);
    if r == 0 { t } else { t + step - r }
}

fn push2(buf: &mut [u8], at: usize, v: u32) {
    buf[at] = b'0' + u8::try_from(v / 10 % 10).unwrap_or(0);
    buf[at + 1] = b'0' + u8::try_from(v % 10).unwrap_or(0);
}

fn write_date(buf: &mut [u8], days: i64) {
    let (y, m, d) = civil_from_days(days);
    let y = u32::try_from(y.clamp(0, 9999)).unwrap_or(0);
    push2(buf, 0, y / 100);
    push2(buf, 2, y % 100);
    buf[4] = b'-';
    push2(buf, 5, m);
    buf[7] = b'-';
    push2(buf, 8, d);
}

/// A timestamp, serialised as RFC 3339 UTC with whole seconds and a `Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ts(pub i64);

impl Ts {
    pub fn format(self, buf: &mut [u8; 20]) -> &str {
        let days = self.0.div_euclid(DAY);
        let secs = u32::try_from(self.0.rem_euclid(DAY)).unwrap_or(0);
        write_date(&mut buf[..], days);
        buf[10] = b'T';
        push2(&mut buf[..], 11, secs / 3600);
        buf[13] = b':';
        push2(&mut buf[..], 14, secs / 60 % 60);
        buf[16] = b':';
        push2(&mut buf[..], 17, secs % 60);
        buf[19] = b'Z';
        std::str::from_utf8(&buf[..]).unwrap_or("1970-01-01T00:00:00Z")
    }

    pub fn to_rfc3339(self) -> String {
        let mut buf = [0u8; 20];
        self.format(&mut buf).to_owned()
    }
}

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 20];
        serializer.serialize_str(self.format(&mut buf))
    }
}

/// A calendar date (days since 1970-01-01), serialised as `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Day(pub i64);

impl Day {
    pub fn of(ts: i64) -> Day {
        Day(ts.div_euclid(DAY))
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 10];
        write_date(&mut buf, self.0);
        serializer.serialize_str(std::str::from_utf8(&buf).unwrap_or("1970-01-01"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_jiff() {
        for t in [
            0_i64,
            1_742_407_885,
            951_782_400,
            4_102_444_799,
            1_709_164_800,
        ] {
            let ours = Ts(t).to_rfc3339();
            let theirs = jiff::Timestamp::from_second(t)
                .unwrap()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            assert_eq!(ours, theirs);
            let (y, m, d) = civil_from_days(t.div_euclid(DAY));
            assert_eq!(days_from_civil(y, m, d), t.div_euclid(DAY));
        }
        assert_eq!(Ts(1_742_407_885).to_rfc3339(), "2025-03-19T18:11:25Z");
        assert_eq!(weekday(days_from_civil(2026, 1, 5)), 0);
    }
}
