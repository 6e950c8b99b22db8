//! Interval algebra on UTC minutes: half-open intervals `[start, end)` in minutes since the Unix
//! epoch, normalized sets of them (sorted, disjoint, non-adjacent, non-empty) with union,
//! intersection and difference, and working hours in a person's zone turned into such intervals
//! per local date, with daylight-saving changes resolved per date by jiff's *compatible* rule (a
//! local time in a gap moves forward by the gap, a local time in a fold takes the earlier instant).

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// A half-open interval of minutes since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    pub start: i64,
    pub end: i64,
}

impl Interval {
    pub fn new(start: i64, end: i64) -> Interval {
        Interval { start, end }
    }
    pub fn is_empty(self) -> bool {
        self.end <= self.start
    }
    pub fn len(self) -> i64 {
        (self.end - self.start).max(0)
    }
}

/// A normalized set of intervals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntervalSet {
    items: Vec<Interval>,
}

impl IntervalSet {
    /// The empty set.
    pub fn new() -> IntervalSet {
        IntervalSet::default()
    }

    /// Normalizes any list of intervals (empty ones dropped, overlapping or touching ones merged).
    pub fn from_intervals(items: impl IntoIterator<Item = Interval>) -> IntervalSet {
        let mut v: Vec<Interval> = items.into_iter().filter(|i| !i.is_empty()).collect();
        v.sort_unstable();
        let mut out: Vec<Interval> = Vec::with_capacity(v.len());
        for i in v {
            match out.last_mut() {
                Some(last) if i.start <= last.end => last.end = last.end.max(i.end),
                _ => out.push(i),
            }
        }
        IntervalSet { items: out }
    }

    pub fn intervals(&self) -> &[Interval] {
        &self.items
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// Total minutes covered.
    pub fn total(&self) -> i64 {
        self.items.iter().map(|i| i.len()).sum()
    }

    pub fn union(&self, other: &IntervalSet) -> IntervalSet {
        IntervalSet::from_intervals(self.items.iter().chain(other.items.iter()).copied())
    }

    pub fn intersect(&self, other: &IntervalSet) -> IntervalSet {
        let (a, b) = (&self.items, &other.items);
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while i < a.len() && j < b.len() {
            let s = a[i].start.max(b[j].start);
            let e = a[i].end.min(b[j].end);
            if s < e {
                out.push(Interval::new(s, e));
            }
            if a[i].end < b[j].end {
                i += 1;
            } else {
                j += 1;
            }
        }
        IntervalSet { items: out }
    }

    pub fn subtract(&self, other: &IntervalSet) -> IntervalSet {
        let mut out = Vec::new();
        let b = &other.items;
        let mut j = 0;
        for &a in &self.items {
            let mut cur = a.start;
            while j < b.len() && b[j].end <= cur {
                j += 1;
            }
            let mut k = j;
            while k < b.len() && b[k].start < a.end {
                if b[k].start > cur {
                    out.push(Interval::new(cur, b[k].start));
                }
                cur = cur.max(b[k].end);
                k += 1;
            }
            if cur < a.end {
                out.push(Interval::new(cur, a.end));
            }
        }
        IntervalSet { items: out }
    }

    /// Whether `[start, end)` lies entirely inside one interval of the set.
    pub fn contains(&self, i: Interval) -> bool {
        let idx = self.items.partition_point(|x| x.end < i.end);
        self.items
            .get(idx)
            .is_some_and(|x| x.start <= i.start && i.end <= x.end)
    }
}

/// Minutes since the epoch of a timestamp (floored).
pub fn minutes(ts: Timestamp) -> i64 {
    ts.as_second().div_euclid(60)
}

/// The timestamp of a minute since the epoch (saturating into jiff's range).
pub fn timestamp(minute: i64) -> Timestamp {
    Timestamp::from_second(minute.saturating_mul(60)).unwrap_or(if minute < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// The local date of an instant in a zone.
pub fn local_date(tz: &TimeZone, minute: i64) -> Date {
    tz.to_datetime(timestamp(minute)).date()
}

/// The instant of a local date and minute of the day (`1440` is the next midnight), resolved by
/// the compatible rule. `None` only outside jiff's range.
pub fn local_to_minute(tz: &TimeZone, date: Date, minute_of_day: i64) -> Option<i64> {
    let midnight = date.at(0, 0, 0, 0);
    let dt = midnight
        .checked_add(SignedDuration::from_mins(minute_of_day))
        .ok()?;
    let ts = tz.to_timestamp(dt).ok()?;
    Some(minutes(ts))
}

/// Working hours (local minutes of the day, Monday first) turned into UTC intervals for every
/// local date from `first` to `last` inclusive, each tagged with its local date.
pub fn working_intervals(
    tz: &TimeZone,
    hours: &[Vec<(i64, i64)>; 7],
    first: Date,
    last: Date,
) -> Vec<(Date, Interval)> {
    let mut out = Vec::new();
    let mut d = first;
    while d <= last {
        let wd = d.weekday().to_monday_zero_offset() as usize;
        for &(a, b) in &hours[wd % 7] {
            if let (Some(s), Some(e)) = (local_to_minute(tz, d, a), local_to_minute(tz, d, b))
                && s < e
            {
                out.push((d, Interval::new(s, e)));
            }
        }
        match d.tomorrow() {
            Ok(next) => d = next,
            Err(_) => break,
        }
    }
    out
}
