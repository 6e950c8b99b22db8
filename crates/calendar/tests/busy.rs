#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use calendar::{Busy, busy_times};
use jiff::Timestamp;
use jiff::tz::TimeZone;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn cal(events: &str) -> String {
    format!("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{events}END:VCALENDAR\n")
}

/// The busy intervals as `start/end` strings in UTC.
fn spans(ics: &str, owner: &str, from: &str, to: &str) -> Vec<String> {
    busy_times(ics, &zone(owner), ts(from), ts(to))
        .unwrap()
        .iter()
        .map(|b| format!("{}/{}", b.start, b.end))
        .collect()
}

fn all(ics: &str, owner: &str) -> Vec<String> {
    spans(ics, owner, "2000-01-01T00:00:00Z", "2030-01-01T00:00:00Z")
}

/// The UTC start dates (`YYYY-MM-DD`) of [`all`] the busy intervals.
fn days(ics: &str, owner: &str) -> Vec<String> {
    all(ics, owner)
        .iter()
        .map(|s| s[..10].to_string())
        .collect()
}

// ------------------------------------------------------------------ content lines

#[test]
fn unfolds_crlf_and_lf_lines_reads_parameters_and_unescapes_text() {
    let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a@x\r\nSUMMARY:Interview\\, round 1\\; \r\n part two\\nnext\\\\end\r\nDTSTART;TZID=\"Europe/Berlin\";X-FOO=\"a:b;c\":2026\r\n\t0309T090000\r\nDTEND;TZID=Europe/Berlin:20260309T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let got = busy_times(
        ics,
        &zone("UTC"),
        ts("2026-03-01T00:00:00Z"),
        ts("2026-04-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(
        got,
        vec![Busy {
            start: ts("2026-03-09T08:00:00Z"),
            end: ts("2026-03-09T09:00:00Z"),
            uid: "a@x".to_string(),
            summary: Some("Interview, round 1; part two\nnext\\end".to_string()),
        }]
    );
    // The same calendar with LF line ends.
    let lf = ics.replace("\r\n", "\n");
    let got_lf = busy_times(
        &lf,
        &zone("UTC"),
        ts("2026-03-01T00:00:00Z"),
        ts("2026-04-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(got, got_lf);
}

#[test]
fn nested_alarm_properties_do_not_leak_into_the_event() {
    let ics = cal(
        "BEGIN:VEVENT\nUID:a\nDTSTART:20260309T090000Z\nDTEND:20260309T100000Z\nBEGIN:VALARM\nTRIGGER:-PT15M\nDURATION:PT5M\nACTION:DISPLAY\nEND:VALARM\nEND:VEVENT\n",
    );
    assert_eq!(
        all(&ics, "UTC"),
        ["2026-03-09T09:00:00Z/2026-03-09T10:00:00Z"]
    );
}

// ------------------------------------------------------------------ times and durations

#[test]
fn utc_floating_and_tzid_times() {
    let ics = cal(concat!(
        "BEGIN:VEVENT\nUID:utc\nDTSTART:20260310T090000Z\nDTEND:20260310T093000Z\nEND:VEVENT\n",
        "BEGIN:VEVENT\nUID:floating\nDTSTART:20260311T090000\nDTEND:20260311T093000\nEND:VEVENT\n",
        "BEGIN:VEVENT\nUID:tokyo\nDTSTART;TZID=Asia/Tokyo:20260312T090000\nDTEND;TZID=Asia/Tokyo:20260312T093000\nEND:VEVENT\n",
        "BEGIN:VEVENT\nUID:kathmandu\nDTSTART;TZID=Asia/Kathmandu:20260313T090000\nDURATION:PT15M\nEND:VEVENT\n",
    ));
    assert_eq!(
        all(&ics, "America/New_York"),
        [
            "2026-03-10T09:00:00Z/2026-03-10T09:30:00Z",
            // Floating: the owner's zone (New York, already on EDT).
            "2026-03-11T13:00:00Z/2026-03-11T13:30:00Z",
            "2026-03-12T00:00:00Z/2026-03-12T00:30:00Z",
            "2026-03-13T03:15:00Z/2026-03-13T03:30:00Z",
        ]
    );
}

#[test]
fn durations_hours_minutes_and_nominal_days() {
    let ics = cal(concat!(
        "BEGIN:VEVENT\nUID:a\nDTSTART:20260309T090000Z\nDURATION:PT1H30M\nEND:VEVENT\n",
        // P1D is the same local time the next day: 23 hours across Berlin's spring change.
        "BEGIN:VEVENT\nUID:b\nDTSTART;TZID=Europe/Berlin:20260328T120000\nDURATION:P1D\nEND:VEVENT\n",
        "BEGIN:VEVENT\nUID:c\nDTSTART:20260401T000000Z\nDURATION:P1W\nEND:VEVENT\n",
        // No DTEND and no DURATION: a timed event takes no time.
        "BEGIN:VEVENT\nUID:d\nDTSTART:20260402T000000Z\nEND:VEVENT\n",
    ));
    assert_eq!(
        all(&ics, "UTC"),
        [
            "2026-03-09T09:00:00Z/2026-03-09T10:30:00Z",
            "2026-03-28T11:00:00Z/2026-03-29T10:00:00Z",
            "2026-04-01T00:00:00Z/2026-04-08T00:00:00Z",
        ]
    );
}

#[test]
fn non_iana_tzid_falls_back_to_x_lic_location() {
    let ics = cal(concat!(
        "BEGIN:VTIMEZONE\nTZID:W. Europe Standard Time\nX-LIC-LOCATION:Europe/Berlin\n",
        "BEGIN:STANDARD\nDTSTART:16010101T030000\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nEND:STANDARD\nEND:VTIMEZONE\n",
        "BEGIN:VEVENT\nUID:a\nDTSTART;TZID=W. Europe Standard Time:20260309T090000\nDTEND;TZID=W. Europe Standard Time:20260309T100000\nEND:VEVENT\n",
    ));
    assert_eq!(
        all(&ics, "UTC"),
        ["2026-03-09T08:00:00Z/2026-03-09T09:00:00Z"]
    );
}

#[test]
fn unknown_tzid_without_location_is_an_error_naming_it() {
    let ics = cal(
        "BEGIN:VEVENT\nUID:a\nDTSTART;TZID=Mars/Olympus:20260309T090000\nDURATION:PT1H\nEND:VEVENT\n",
    );
    let e = busy_times(
        &ics,
        &zone("UTC"),
        ts("2026-01-01T00:00:00Z"),
        ts("2027-01-01T00:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(e.line, 6);
    assert_eq!(e.property, "DTSTART");
    assert!(e.to_string().contains("`Mars/Olympus`"), "{e}");
}

// ------------------------------------------------------------------ all-day events

#[test]
fn all_day_events_in_the_owners_zone() {
    let ics = cal(concat!(
        "BEGIN:VEVENT\nUID:one\nDTSTART;VALUE=DATE:20260309\nEND:VEVENT\n",
        "BEGIN:VEVENT\nUID:three\nDTSTART;VALUE=DATE:20260320\nDTEND;VALUE=DATE:20260323\nEND:VEVENT\n",
        // Berlin's spring change: this day lasts 23 hours.
        "BEGIN:VEVENT\nUID:dst\nDTSTART;VALUE=DATE:20260329\nDTEND;VALUE=DATE:20260330\nEND:VEVENT\n",
    ));
    assert_eq!(
        all(&ics, "Europe/Berlin"),
        [
            "2026-03-08T23:00:00Z/2026-03-09T23:00:00Z",
            "2026-03-19T23:00:00Z/2026-03-22T23:00:00Z",
            "2026-03-28T23:00:00Z/2026-03-29T22:00:00Z",
        ]
    );
    assert_eq!(
        all(&ics, "America/New_York")[0],
        "2026-03-09T04:00:00Z/2026-03-10T04:00:00Z"
    );
}

// ------------------------------------------------------------------ not busy

#[test]
fn transparent_and_cancelled_events_are_not_busy() {
    let ics = cal(concat!(
        "BEGIN:VEVENT\nUID:a\nDTSTART:20260309T090000Z\nDURATION:PT1H\nTRANSP:TRANSPARENT\nEND:VEVENT\n",
        "BEGIN:VEVENT\nUID:b\nDTSTART:20260309T110000Z\nDURATION:PT1H\nSTATUS:CANCELLED\nEND:VEVENT\n",
        "BEGIN:VEVENT\nUID:c\nDTSTART:20260309T130000Z\nDURATION:PT1H\nTRANSP:OPAQUE\nSTATUS:CONFIRMED\nEND:VEVENT\n",
    ));
    assert_eq!(
        all(&ics, "UTC"),
        ["2026-03-09T13:00:00Z/2026-03-09T14:00:00Z"]
    );
}

// ------------------------------------------------------------------ recurrence

#[test]
fn weekly_berlin_meeting_stays_at_nine_local_across_dst() {
    let ics = cal(
        "BEGIN:VEVENT\nUID:w\nDTSTART;TZID=Europe/Berlin:20260316T090000\nDTEND;TZID=Europe/Berlin:20260316T100000\nRRULE:FREQ=WEEKLY\nEND:VEVENT\n",
    );
    assert_eq!(
        spans(&ics, "UTC", "2026-03-01T00:00:00Z", "2026-04-07T00:00:00Z"),
        [
            "2026-03-16T08:00:00Z/2026-03-16T09:00:00Z",
            "2026-03-23T08:00:00Z/2026-03-23T09:00:00Z",
            "2026-03-30T07:00:00Z/2026-03-30T08:00:00Z",
            "2026-04-06T07:00:00Z/2026-04-06T08:00:00Z",
        ]
    );
}

#[test]
fn weekly_new_york_meeting_stays_at_nine_local_across_dst() {
    let ics = cal(
        "BEGIN:VEVENT\nUID:w\nDTSTART;TZID=America/New_York:20260302T090000\nDURATION:PT30M\nRRULE:FREQ=WEEKLY;COUNT=3\nEND:VEVENT\n",
    );
    assert_eq!(
        all(&ics, "Europe/Berlin"),
        [
            "2026-03-02T14:00:00Z/2026-03-02T14:30:00Z",
            "2026-03-09T13:00:00Z/2026-03-09T13:30:00Z",
            "2026-03-16T13:00:00Z/2026-03-16T13:30:00Z",
        ]
    );
}

#[test]
fn daily_with_interval_and_count() {
    let ics = cal(
        "BEGIN:VEVENT\nUID:d\nDTSTART:20260301T100000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY;INTERVAL=2;COUNT=3\nEND:VEVENT\n",
    );
    assert_eq!(
        all(&ics, "UTC"),
        [
            "2026-03-01T10:00:00Z/2026-03-01T11:00:00Z",
            "2026-03-03T10:00:00Z/2026-03-03T11:00:00Z",
            "2026-03-05T10:00:00Z/2026-03-05T11:00:00Z",
        ]
    );
}

#[test]
fn count_includes_occurrences_before_the_window() {
    let ics = cal(
        "BEGIN:VEVENT\nUID:d\nDTSTART:20260301T100000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY;COUNT=5\nEND:VEVENT\n",
    );
    assert_eq!(
        spans(&ics, "UTC", "2026-03-04T00:00:00Z", "2026-04-01T00:00:00Z"),
        [
            "2026-03-04T10:00:00Z/2026-03-04T11:00:00Z",
            "2026-03-05T10:00:00Z/2026-03-05T11:00:00Z",
        ]
    );
}

#[test]
fn until_as_date_and_as_date_time() {
    let by_date = cal(
        "BEGIN:VEVENT\nUID:d\nDTSTART;TZID=Europe/Berlin:20260301T230000\nDURATION:PT30M\nRRULE:FREQ=DAILY;UNTIL=20260303\nEND:VEVENT\n",
    );
    assert_eq!(all(&by_date, "UTC").len(), 3);
    // UNTIL is inclusive: the 2026-03-03T10:00Z occurrence is the last.
    let by_time = cal(
        "BEGIN:VEVENT\nUID:d\nDTSTART:20260301T100000Z\nDURATION:PT30M\nRRULE:FREQ=DAILY;UNTIL=20260303T100000Z\nEND:VEVENT\n",
    );
    assert_eq!(
        all(&by_time, "UTC").last().unwrap(),
        "2026-03-03T10:00:00Z/2026-03-03T10:30:00Z"
    );
    assert_eq!(all(&by_time, "UTC").len(), 3);
}

#[test]
fn weekly_byday_interval_and_wkst() {
    // RFC 5545's example: every other week on Tuesday and Sunday, WKST changes the result.
    let mo = cal(
        "BEGIN:VEVENT\nUID:w\nDTSTART:19970805T090000Z\nDURATION:PT1H\nRRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO\nEND:VEVENT\n",
    );
    let su = mo.replace("WKST=MO", "WKST=SU");
    let days = |ics: &str| -> Vec<String> {
        spans(ics, "UTC", "1997-01-01T00:00:00Z", "1998-01-01T00:00:00Z")
            .iter()
            .map(|s| s[..10].to_string())
            .collect()
    };
    assert_eq!(
        days(&mo),
        ["1997-08-05", "1997-08-10", "1997-08-19", "1997-08-24"]
    );
    assert_eq!(
        days(&su),
        ["1997-08-05", "1997-08-17", "1997-08-19", "1997-08-31"]
    );
}

#[test]
fn monthly_byday_with_ordinals() {
    let ics = cal(
        "BEGIN:VEVENT\nUID:m\nDTSTART:20260105T150000Z\nDURATION:PT1H\nRRULE:FREQ=MONTHLY;COUNT=6;BYDAY=1MO,-1FR\nEND:VEVENT\n",
    );
    let got = days(&ics, "UTC");
    assert_eq!(
        got,
        [
            "2026-01-05",
            "2026-01-30",
            "2026-02-02",
            "2026-02-27",
            "2026-03-02",
            "2026-03-27"
        ]
    );
}

#[test]
fn monthly_bymonthday_skips_short_months_and_counts_from_the_end() {
    let ics = cal(
        "BEGIN:VEVENT\nUID:m\nDTSTART:20260131T090000Z\nDURATION:PT1H\nRRULE:FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3\nEND:VEVENT\n",
    );
    let got = days(&ics, "UTC");
    assert_eq!(got, ["2026-01-31", "2026-03-31", "2026-05-31"]);
    let last = cal(
        "BEGIN:VEVENT\nUID:m\nDTSTART:20260131T090000Z\nDURATION:PT1H\nRRULE:FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3\nEND:VEVENT\n",
    );
    let got = days(&last, "UTC");
    assert_eq!(got, ["2026-01-31", "2026-02-28", "2026-03-31"]);
}

#[test]
fn monthly_without_by_parts_uses_the_start_day() {
    let ics = cal(
        "BEGIN:VEVENT\nUID:m\nDTSTART;TZID=Europe/Berlin:20260215T090000\nDURATION:PT1H\nRRULE:FREQ=MONTHLY;INTERVAL=2;COUNT=3\nEND:VEVENT\n",
    );
    assert_eq!(
        all(&ics, "UTC"),
        [
            "2026-02-15T08:00:00Z/2026-02-15T09:00:00Z",
            "2026-04-15T07:00:00Z/2026-04-15T08:00:00Z",
            "2026-06-15T07:00:00Z/2026-06-15T08:00:00Z",
        ]
    );
}

#[test]
fn yearly_rules() {
    let plain = cal(
        "BEGIN:VEVENT\nUID:y\nDTSTART;VALUE=DATE:20240229\nRRULE:FREQ=YEARLY;COUNT=2\nEND:VEVENT\n",
    );
    // 29 February only exists in leap years.
    let got = days(&plain, "UTC");
    assert_eq!(got, ["2024-02-29", "2028-02-29"]);
    let thanksgiving = cal(
        "BEGIN:VEVENT\nUID:t\nDTSTART;VALUE=DATE:20251127\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;COUNT=3\nEND:VEVENT\n",
    );
    let got = days(&thanksgiving, "America/New_York");
    assert_eq!(got, ["2025-11-27", "2026-11-26", "2027-11-25"]);
    let last_monday = cal(
        "BEGIN:VEVENT\nUID:t\nDTSTART:20261228T090000Z\nDURATION:PT1H\nRRULE:FREQ=YEARLY;BYDAY=-1MO;COUNT=2\nEND:VEVENT\n",
    );
    let got = days(&last_monday, "UTC");
    assert_eq!(got, ["2026-12-28", "2027-12-27"]);
}

#[test]
fn exdate_removes_occurrences_given_in_several_forms() {
    let ics = cal(concat!(
        "BEGIN:VEVENT\nUID:d\nDTSTART;TZID=Europe/Berlin:20260302T090000\nDURATION:PT1H\nRRULE:FREQ=DAILY;COUNT=6\n",
        "EXDATE;TZID=Europe/Berlin:20260303T090000,20260304T090000\n",
        "EXDATE:20260306T080000Z\n",
        "END:VEVENT\n",
    ));
    let got = days(&ics, "UTC");
    assert_eq!(got, ["2026-03-02", "2026-03-05", "2026-03-07"]);
}

#[test]
fn exdate_on_all_day_recurrence() {
    let ics = cal(
        "BEGIN:VEVENT\nUID:d\nDTSTART;VALUE=DATE:20260302\nRRULE:FREQ=DAILY;COUNT=3\nEXDATE;VALUE=DATE:20260303\nEND:VEVENT\n",
    );
    assert_eq!(
        all(&ics, "Europe/Berlin"),
        [
            "2026-03-01T23:00:00Z/2026-03-02T23:00:00Z",
            "2026-03-03T23:00:00Z/2026-03-04T23:00:00Z",
        ]
    );
}

#[test]
fn recurrence_id_overrides_move_or_cancel_an_occurrence() {
    let ics = cal(concat!(
        "BEGIN:VEVENT\nUID:s\nSUMMARY:Standup\nDTSTART;TZID=Europe/Berlin:20260302T090000\nDURATION:PT15M\nRRULE:FREQ=DAILY;COUNT=4\nEND:VEVENT\n",
        // Moved to the afternoon.
        "BEGIN:VEVENT\nUID:s\nSUMMARY:Standup (moved)\nRECURRENCE-ID;TZID=Europe/Berlin:20260303T090000\nDTSTART;TZID=Europe/Berlin:20260303T140000\nDURATION:PT15M\nEND:VEVENT\n",
        // Cancelled, named in UTC.
        "BEGIN:VEVENT\nUID:s\nRECURRENCE-ID:20260304T080000Z\nDTSTART;TZID=Europe/Berlin:20260304T090000\nDURATION:PT15M\nSTATUS:CANCELLED\nEND:VEVENT\n",
        // Another event's override does not touch this one.
        "BEGIN:VEVENT\nUID:other\nRECURRENCE-ID;TZID=Europe/Berlin:20260305T090000\nDTSTART;TZID=Europe/Berlin:20260305T090000\nDURATION:PT15M\nTRANSP:TRANSPARENT\nEND:VEVENT\n",
    ));
    let got = busy_times(
        &ics,
        &zone("UTC"),
        ts("2026-03-01T00:00:00Z"),
        ts("2026-04-01T00:00:00Z"),
    )
    .unwrap();
    let got: Vec<(String, Option<String>)> = got
        .iter()
        .map(|b| (b.start.to_string(), b.summary.clone()))
        .collect();
    let standup = Some("Standup".to_string());
    assert_eq!(
        got,
        [
            ("2026-03-02T08:00:00Z".to_string(), standup.clone()),
            (
                "2026-03-03T13:00:00Z".to_string(),
                Some("Standup (moved)".to_string())
            ),
            ("2026-03-05T08:00:00Z".to_string(), standup),
        ]
    );
}

// ------------------------------------------------------------------ window

#[test]
fn only_overlapping_occurrences_sorted_by_start() {
    let ics = cal(concat!(
        "BEGIN:VEVENT\nUID:late\nDTSTART:20260310T120000Z\nDURATION:PT1H\nEND:VEVENT\n",
        "BEGIN:VEVENT\nUID:straddles\nDTSTART:20260309T230000Z\nDURATION:PT2H\nEND:VEVENT\n",
        "BEGIN:VEVENT\nUID:ends-at-from\nDTSTART:20260309T220000Z\nDURATION:PT2H\nEND:VEVENT\n",
        "BEGIN:VEVENT\nUID:starts-at-to\nDTSTART:20260311T000000Z\nDURATION:PT1H\nEND:VEVENT\n",
        "BEGIN:VEVENT\nUID:early\nDTSTART:20260310T080000Z\nDURATION:PT1H\nEND:VEVENT\n",
    ));
    let got = busy_times(
        &ics,
        &zone("UTC"),
        ts("2026-03-10T00:00:00Z"),
        ts("2026-03-11T00:00:00Z"),
    )
    .unwrap();
    let uids: Vec<&str> = got.iter().map(|b| b.uid.as_str()).collect();
    assert_eq!(uids, ["straddles", "early", "late"]);
}

#[test]
fn unbounded_rules_stop_at_the_window_end() {
    let ics = cal(
        "BEGIN:VEVENT\nUID:d\nDTSTART:20000101T090000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY\nEND:VEVENT\n",
    );
    let got = spans(&ics, "UTC", "2026-03-09T00:00:00Z", "2026-03-16T00:00:00Z");
    assert_eq!(got.len(), 7);
    // A rule that never matches ends at the window too.
    let never = cal(
        "BEGIN:VEVENT\nUID:n\nDTSTART:20260101T090000Z\nDURATION:PT1H\nRRULE:FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30\nEND:VEVENT\n",
    );
    assert_eq!(all(&never, "UTC").len(), 1);
    // A window too long for the iteration cap is refused, not truncated.
    let e = busy_times(
        &ics,
        &zone("UTC"),
        ts("2026-01-01T00:00:00Z"),
        ts("9000-01-01T00:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(e.property, "RRULE");
}

// ------------------------------------------------------------------ errors

#[test]
fn errors_name_the_line_and_the_property() {
    let ics = cal("BEGIN:VEVENT\nUID:a\nDTSTART:20261301T090000\nEND:VEVENT\n");
    let e = busy_times(
        &ics,
        &zone("UTC"),
        ts("2026-01-01T00:00:00Z"),
        ts("2027-01-01T00:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 6: `DTSTART`: `20261301T090000` is not a date-time"
    );

    let cases = [
        (
            "BEGIN:VEVENT\nUID:a\nEND:VEVENT\n",
            "line 4: `DTSTART`: the VEVENT has no DTSTART",
        ),
        (
            "BEGIN:VEVENT\nDTSTART:20260101T000000Z\nDURATION:PT1X\nEND:VEVENT\n",
            "line 6: `DURATION`: `PT1X` is not a duration",
        ),
        (
            "BEGIN:VEVENT\nDTSTART:20260101T000000Z\nRRULE:FREQ=HOURLY\nEND:VEVENT\n",
            "line 6: `RRULE`: `FREQ=HOURLY` is not supported",
        ),
        (
            "BEGIN:VEVENT\nDTSTART:20260101T000000Z\nRRULE:FREQ=MONTHLY;BYSETPOS=1\nEND:VEVENT\n",
            "line 6: `RRULE`: `BYSETPOS` is not supported",
        ),
        (
            "BEGIN:VEVENT\nDTSTART:20260101T000000Z\nEND:VTODO\n",
            "line 6: `END`: `END:VTODO` closes `BEGIN:VEVENT` of line 4",
        ),
        (
            "BEGIN:VEVENT\nDTSTART;VALUE=DATE:2026010\nEND:VEVENT\n",
            "line 5: `DTSTART`: `2026010` is not a date",
        ),
        (
            "BEGIN:VEVENT\nDTSTART\nEND:VEVENT\n",
            "line 5: `DTSTART`: missing `:` before the value",
        ),
    ];
    for (events, want) in cases {
        let e = busy_times(
            &cal(events),
            &zone("UTC"),
            ts("2026-01-01T00:00:00Z"),
            ts("2027-01-01T00:00:00Z"),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), want);
    }
    let unclosed = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260101T000000Z\n";
    let e = busy_times(
        unclosed,
        &zone("UTC"),
        ts("2026-01-01T00:00:00Z"),
        ts("2027-01-01T00:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: `BEGIN`: `BEGIN:VEVENT` is never closed"
    );
}

#[test]
fn never_panics_on_truncated_or_mangled_input() {
    let ics = cal(concat!(
        "BEGIN:VTIMEZONE\nTZID:Custom\nX-LIC-LOCATION:Europe/Berlin\nEND:VTIMEZONE\n",
        "BEGIN:VEVENT\nUID:s\nSUMMARY:a\\,b\\\nDTSTART;TZID=Custom:20260302T090000\nDURATION:-P1DT2H\nRRULE:FREQ=YEARLY;BYDAY=-53SU,1MO;BYMONTHDAY=-31;INTERVAL=99999;UNTIL=99991231\n",
        "EXDATE;VALUE=DATE:20260303,20260304\nRECURRENCE-ID;TZID=\"Custom\":20260303T090000\nEND:VEVENT\n",
        "BEGIN:VEVENT\nDTSTART;VALUE=DATE:99991231\nDTEND;VALUE=DATE:00010101\nRRULE:FREQ=DAILY;INTERVAL=2147483647\nEND:VEVENT\n",
    ));
    let owner = zone("America/New_York");
    let (from, to) = (Timestamp::MIN, Timestamp::MAX);
    let mut cut = String::new();
    for c in ics.chars() {
        cut.push(c);
        let _ = busy_times(&cut, &owner, from, to);
        let _ = busy_times(&cut.replace(':', ";"), &owner, from, to);
        let _ = busy_times(&cut.replace('0', "9"), &owner, from, to);
        let _ = busy_times(&cut.replace('\n', "\n "), &owner, from, to);
    }
}

#[test]
fn floating_exdate_is_read_in_the_events_zone() {
    let ics = cal(
        "BEGIN:VEVENT\nUID:d\nDTSTART;TZID=Asia/Tokyo:20260302T090000\nDURATION:PT1H\nRRULE:FREQ=DAILY;COUNT=3\nEXDATE:20260303T090000\nEND:VEVENT\n",
    );
    let got: Vec<String> = all(&ics, "America/New_York")
        .iter()
        .map(|s| s[..13].to_string())
        .collect();
    assert_eq!(got, ["2026-03-02T00", "2026-03-04T00"]);
}

#[test]
fn recurring_all_day_events_follow_local_midnight_across_dst() {
    let ics = cal(
        "BEGIN:VEVENT\nUID:off\nDTSTART;VALUE=DATE:20260322\nDTEND;VALUE=DATE:20260323\nRRULE:FREQ=WEEKLY;UNTIL=20260405\nEND:VEVENT\n",
    );
    assert_eq!(
        all(&ics, "Europe/Berlin"),
        [
            "2026-03-21T23:00:00Z/2026-03-22T23:00:00Z",
            "2026-03-28T23:00:00Z/2026-03-29T22:00:00Z",
            "2026-04-04T22:00:00Z/2026-04-05T22:00:00Z",
        ]
    );
}

#[test]
fn instances_expanded_by_a_caldav_server_are_read_without_their_master() {
    // What a CalDAV server answers to `CALDAV:expand` (RFC 4791 §9.6.5): each instance a VEVENT
    // with a UTC RECURRENCE-ID, no RRULE, no master; an override keeps its own RECURRENCE-ID.
    let ics = cal("BEGIN:VEVENT\nUID:w\nRECURRENCE-ID:20260302T150000Z\n\
                   DTSTART:20260302T150000Z\nDTEND:20260302T160000Z\nEND:VEVENT\n\
                   BEGIN:VEVENT\nUID:w\nRECURRENCE-ID:20260309T140000Z\n\
                   DTSTART:20260309T140000Z\nDTEND:20260309T150000Z\nEND:VEVENT\n\
                   BEGIN:VEVENT\nUID:w\nRECURRENCE-ID:20260323T140000Z\n\
                   DTSTART:20260323T180000Z\nDTEND:20260323T190000Z\nEND:VEVENT\n\
                   BEGIN:VEVENT\nUID:w\nRECURRENCE-ID:20260330T140000Z\nTRANSP:TRANSPARENT\n\
                   DTSTART:20260330T140000Z\nDTEND:20260330T150000Z\nEND:VEVENT\n");
    assert_eq!(
        all(&ics, "America/New_York"),
        [
            "2026-03-02T15:00:00Z/2026-03-02T16:00:00Z",
            "2026-03-09T14:00:00Z/2026-03-09T15:00:00Z",
            "2026-03-23T18:00:00Z/2026-03-23T19:00:00Z",
        ]
    );
}
