//! Calendar busy time of the org's active users around the reference date.
//!
//! Each active user gets meetings on their working days from one week before to three weeks
//! after the reference date, placed inside (occasionally just before) their working hours in
//! their own time zone and converted to UTC, plus now and then a few days off.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use rand::RngExt;

use crate::SynthError;
use crate::model::Model;
use crate::out::Sink;
use crate::records::BusyRec;
use crate::rng::{Stream, chance, pick, stream, weighted};
use crate::time::{DAY, Ts, civil_from_days, weekday};

fn to_utc(tz: &TimeZone, day: i64, minute: u32) -> Result<i64, SynthError> {
    let (y, m, d) = civil_from_days(day + i64::from(minute / 1440));
    let minute = minute % 1440;
    let dt = DateTime::new(
        i16::try_from(y).unwrap_or(2026),
        i8::try_from(m).unwrap_or(1),
        i8::try_from(d).unwrap_or(1),
        i8::try_from(minute / 60).unwrap_or(0),
        i8::try_from(minute % 60).unwrap_or(0),
        0,
        0,
    )?;
    Ok(tz.to_timestamp(dt)?.as_second())
}

/// Writes the busy blocks of every active user.
pub fn write_busy_blocks(model: &Model, sink: &mut Sink) -> Result<(), SynthError> {
    let ids = model.ids();
    let reference_day = model.reference.div_euclid(DAY);
    for (u, user) in model.users.iter().enumerate() {
        if !user.active {
            continue;
        }
        let tz = TimeZone::get(user.timezone)?;
        let mut rng = stream(model.seed, Stream::Busy, u as u64);
        let first = reference_day - 7;
        let last = reference_day + 21;
        let time_off = chance(&mut rng, 0.05).then(|| {
            let start = rng.random_range(first..last);
            (start, start + rng.random_range(1..=5))
        });
        for day in first..last {
            let intervals = &user.hours[weekday(day)];
            if intervals.is_empty() {
                continue;
            }
            if let Some((off_from, off_to)) = time_off
                && (off_from..off_to).contains(&day)
            {
                sink.row(&BusyRec {
                    user_id: ids.user(u),
                    starts_at: Ts(to_utc(&tz, day, 0)?),
                    ends_at: Ts(to_utc(&tz, day, 1440)?),
                })?;
                continue;
            }
            let count = weighted(&mut rng, &[15.0, 25.0, 30.0, 20.0, 10.0]);
            let mut meetings: Vec<(u32, u32)> = Vec::with_capacity(count);
            for _ in 0..count {
                let (from, to) = *pick(&mut rng, intervals);
                let length = *pick(&mut rng, &[30_u32, 30, 45, 60, 60, 90]);
                if to < from + length {
                    continue;
                }
                let start = if from >= 30 && chance(&mut rng, 0.05) {
                    from - 30
                } else {
                    from + 15 * rng.random_range(0..=(to - from - length) / 15)
                };
                meetings.push((start, start + length));
            }
            meetings.sort_unstable();
            let mut busy_until = 0;
            for (start, end) in meetings {
                if start < busy_until {
                    continue;
                }
                busy_until = end;
                sink.row(&BusyRec {
                    user_id: ids.user(u),
                    starts_at: Ts(to_utc(&tz, day, start)?),
                    ends_at: Ts(to_utc(&tz, day, end)?),
                })?;
            }
        }
    }
    Ok(())
}
