//! The client against a real Radicale server (run when `HIREPLANE_TEST_RADICALE` names a python
//! with radicale installed), and the free-busy fallback against a scripted server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/radicale.rs"]
mod radicale;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;

use caldav::{CaldavError, Client};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use radicale::Radicale;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const NEW_YORK: &str = "BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\n\
BEGIN:DAYLIGHT\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nTZNAME:EDT\r\n\
DTSTART:19700308T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\nEND:DAYLIGHT\r\n\
BEGIN:STANDARD\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nTZNAME:EST\r\n\
DTSTART:19701101T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\nEND:STANDARD\r\n\
END:VTIMEZONE\r\n";

const KOLKATA: &str = "BEGIN:VTIMEZONE\r\nTZID:Asia/Kolkata\r\n\
BEGIN:STANDARD\r\nTZOFFSETFROM:+0530\r\nTZOFFSETTO:+0530\r\nTZNAME:IST\r\n\
DTSTART:19700101T000000\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";

fn vcalendar(body: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hireplane//caldav tests//EN\r\n{body}END:VCALENDAR\r\n"
    )
}

/// The test calendar of an interviewer in New York, March 2026 (US DST starts on March 8).
fn seed(server: &Radicale, collection: &str) {
    server.mkcalendar(collection);
    // Mondays 10:00-11:00 New York time: 15:00Z before March 8, 14:00Z after. March 16 is
    // cancelled (EXDATE), March 23 moved to 14:00-15:00 (RECURRENCE-ID override).
    server.put(
        &format!("{collection}weekly.ics"),
        &vcalendar(&format!(
            "{NEW_YORK}BEGIN:VEVENT\r\nUID:weekly@hireplane.test\r\nDTSTAMP:20260101T000000Z\r\n\
             DTSTART;TZID=America/New_York:20260302T100000\r\n\
             DTEND;TZID=America/New_York:20260302T110000\r\n\
             RRULE:FREQ=WEEKLY;BYDAY=MO\r\n\
             EXDATE;TZID=America/New_York:20260316T100000\r\n\
             SUMMARY:Weekly sync\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:weekly@hireplane.test\r\nDTSTAMP:20260101T000000Z\r\n\
             RECURRENCE-ID;TZID=America/New_York:20260323T100000\r\n\
             DTSTART;TZID=America/New_York:20260323T140000\r\n\
             DTEND;TZID=America/New_York:20260323T150000\r\n\
             SUMMARY:Weekly sync (moved)\r\nEND:VEVENT\r\n"
        )),
    );
    // All day on Wednesday March 11: midnight to midnight in the owner's zone.
    server.put(
        &format!("{collection}offsite.ics"),
        &vcalendar(
            "BEGIN:VEVENT\r\nUID:offsite@hireplane.test\r\nDTSTAMP:20260101T000000Z\r\n\
             DTSTART;VALUE=DATE:20260311\r\nDTEND;VALUE=DATE:20260312\r\n\
             SUMMARY:Offsite\r\nEND:VEVENT\r\n",
        ),
    );
    // Transparent: not busy.
    server.put(
        &format!("{collection}reminder.ics"),
        &vcalendar(
            "BEGIN:VEVENT\r\nUID:reminder@hireplane.test\r\nDTSTAMP:20260101T000000Z\r\n\
             DTSTART:20260304T120000Z\r\nDTEND:20260304T130000Z\r\nTRANSP:TRANSPARENT\r\n\
             SUMMARY:Reminder\r\nEND:VEVENT\r\n",
        ),
    );
    // 15:30-16:30 in Kolkata (+05:30) is 10:00-11:00Z.
    server.put(
        &format!("{collection}bangalore.ics"),
        &vcalendar(&format!(
            "{KOLKATA}BEGIN:VEVENT\r\nUID:bangalore@hireplane.test\r\nDTSTAMP:20260101T000000Z\r\n\
             DTSTART;TZID=Asia/Kolkata:20260305T153000\r\nDTEND;TZID=Asia/Kolkata:20260305T163000\r\n\
             SUMMARY:Sync with Bangalore\r\nEND:VEVENT\r\n"
        )),
    );
    // Outside the window: not returned.
    server.put(
        &format!("{collection}april.ics"),
        &vcalendar(
            "BEGIN:VEVENT\r\nUID:april@hireplane.test\r\nDTSTAMP:20260101T000000Z\r\n\
             DTSTART:20260415T120000Z\r\nDTEND:20260415T130000Z\r\n\
             SUMMARY:April\r\nEND:VEVENT\r\n",
        ),
    );
}

const FROM: &str = "2026-03-01T00:00:00Z";
const TO: &str = "2026-04-01T00:00:00Z";

fn pairs(busy: &[calendar::Busy]) -> Vec<(String, String, String)> {
    busy.iter()
        .map(|b| (b.start.to_string(), b.end.to_string(), b.uid.clone()))
        .collect()
}

#[test]
#[cfg_attr(
    not(hp_radicale),
    ignore = "needs HIREPLANE_TEST_RADICALE: a python with radicale installed (see .ci/run)"
)]
fn busy_time_from_radicale_is_exact() {
    let server = Radicale::start();
    seed(&server, "/alice/work/");
    let client = Client::new(&server.base(), None);
    let (from, to) = (ts(FROM), ts(TO));

    let bodies = client.calendar_query("/alice/work/", from, to).unwrap();
    assert_eq!(bodies.len(), 4, "{bodies:#?}");
    assert!(!bodies.iter().any(|b| b.contains("april@")), "{bodies:#?}");
    let weekly = bodies.iter().find(|b| b.contains("weekly@")).unwrap();
    // Expanded by the server, in UTC: no RRULE left, the DST change applied.
    assert!(!weekly.contains("RRULE"), "{weekly}");
    assert!(weekly.contains("DTSTART:20260309T140000Z"), "{weekly}");

    let zone = TimeZone::get("America/New_York").unwrap();
    let busy = client
        .busy_times(&server.url("/alice/work/"), &zone, from, to)
        .unwrap();
    let w = "weekly@hireplane.test";
    assert_eq!(
        pairs(&busy),
        [
            ("2026-03-02T15:00:00Z", "2026-03-02T16:00:00Z", w),
            (
                "2026-03-05T10:00:00Z",
                "2026-03-05T11:00:00Z",
                "bangalore@hireplane.test"
            ),
            ("2026-03-09T14:00:00Z", "2026-03-09T15:00:00Z", w),
            (
                "2026-03-11T04:00:00Z",
                "2026-03-12T04:00:00Z",
                "offsite@hireplane.test"
            ),
            ("2026-03-23T18:00:00Z", "2026-03-23T19:00:00Z", w),
            ("2026-03-30T14:00:00Z", "2026-03-30T15:00:00Z", w),
        ]
        .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()))
    );
    assert_eq!(busy[4].summary.as_deref(), Some("Weekly sync (moved)"));

    // The same from the server's own free-busy, except the all-day event, which the server
    // places in its own zone (UTC), not in the owner's: why busy_times prefers the query.
    let periods = client.free_busy("/alice/work/", from, to).unwrap();
    let periods: Vec<(String, String)> = periods
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(
        periods,
        [
            ("2026-03-02T15:00:00Z", "2026-03-02T16:00:00Z"),
            ("2026-03-05T10:00:00Z", "2026-03-05T11:00:00Z"),
            ("2026-03-09T14:00:00Z", "2026-03-09T15:00:00Z"),
            ("2026-03-11T00:00:00Z", "2026-03-12T00:00:00Z"),
            ("2026-03-23T18:00:00Z", "2026-03-23T19:00:00Z"),
            ("2026-03-30T14:00:00Z", "2026-03-30T15:00:00Z"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );

    // A narrower window: only what overlaps it.
    let busy = client
        .busy_times(
            "/alice/work/",
            &zone,
            ts("2026-03-09T14:30:00Z"),
            ts("2026-03-11T05:00:00Z"),
        )
        .unwrap();
    assert_eq!(busy.len(), 2, "{busy:#?}");
    assert_eq!(busy[0].start, ts("2026-03-09T14:00:00Z"));
    assert_eq!(busy[1].uid, "offsite@hireplane.test");
}

#[test]
#[cfg_attr(
    not(hp_radicale),
    ignore = "needs HIREPLANE_TEST_RADICALE: a python with radicale installed (see .ci/run)"
)]
fn a_wrong_collection_url_is_a_clear_error() {
    let server = Radicale::start();
    seed(&server, "/alice/work/");
    let client = Client::new(&server.base(), None);
    let zone = TimeZone::get("America/New_York").unwrap();
    let url = server.url("/alice/nope/");
    for err in [
        client.calendar_query(&url, ts(FROM), ts(TO)).unwrap_err(),
        client
            .busy_times(&url, &zone, ts(FROM), ts(TO))
            .unwrap_err(),
    ] {
        assert!(
            matches!(err, CaldavError::Status { status: 404, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("`{url}`: the server answered 404 not found")
        );
    }
    // Nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/alice/work/");
    let err = client.calendar_query(&url, ts(FROM), ts(TO)).unwrap_err();
    assert!(matches!(err, CaldavError::Transport { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&format!("`{url}`: ")), "{err}");
}

#[test]
#[cfg_attr(
    not(hp_radicale),
    ignore = "needs HIREPLANE_TEST_RADICALE: a python with radicale installed (see .ci/run)"
)]
fn basic_auth_is_sent_and_a_refusal_is_clear() {
    let server = Radicale::start_with_user("alice", "s3cret:with colon");
    seed(&server, "/alice/work/");
    let zone = TimeZone::get("America/New_York").unwrap();
    let good = Client::new(
        &server.base(),
        Some(("alice".into(), "s3cret:with colon".into())),
    );
    let busy = good
        .busy_times("/alice/work/", &zone, ts(FROM), ts(TO))
        .unwrap();
    assert_eq!(busy.len(), 6);
    for client in [
        Client::new(&server.base(), Some(("alice".into(), "wrong".into()))),
        Client::new(&server.base(), None),
    ] {
        let err = client
            .busy_times("/alice/work/", &zone, ts(FROM), ts(TO))
            .unwrap_err();
        assert!(
            matches!(err, CaldavError::Status { status: 401, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().ends_with("answered 401 unauthorized"),
            "{err}"
        );
    }
}

/// A scripted HTTP server: `respond` gives the status line and the body for a request body;
/// serves `answers` requests and returns them.
fn scripted_server(
    answers: usize,
    respond: fn(&str) -> (&'static str, &'static str),
) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/bob/calendar/", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..answers {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut head = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                head.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let body = String::from_utf8(body).unwrap();
            let (status, text) = respond(&body);
            let answer = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/calendar\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
            reader.get_mut().write_all(answer.as_bytes()).unwrap();
            seen.push(format!("{head}{body}"));
        }
        seen
    });
    (url, handle)
}

/// An account with only the `read-free-busy` privilege: the calendar-query is forbidden.
const FREE_BUSY_ONLY: fn(&str) -> (&'static str, &'static str) = |body| {
    if body.contains("free-busy-query") {
        (
            "200 OK",
            "BEGIN:VCALENDAR\r\nBEGIN:VFREEBUSY\r\n\
             FREEBUSY;FBTYPE=BUSY:20260302T150000Z/PT1H,20260301T230000Z/20260302T010000Z\r\n\
             FREEBUSY;FBTYPE=FREE:20260303T150000Z/PT1H\r\n\
             END:VFREEBUSY\r\nEND:VCALENDAR\r\n",
        )
    } else {
        ("403 Forbidden", "")
    }
};

#[test]
fn busy_times_falls_back_to_free_busy_when_the_query_is_forbidden() {
    let (url, server) = scripted_server(2, FREE_BUSY_ONLY);
    let client = Client::new(&url, Some(("bob".into(), "pw".into())));
    let zone = TimeZone::get("Europe/Berlin").unwrap();
    let busy = client.busy_times(&url, &zone, ts(FROM), ts(TO)).unwrap();
    assert_eq!(
        busy.iter().map(|b| (b.start, b.end)).collect::<Vec<_>>(),
        [
            (ts("2026-03-01T23:00:00Z"), ts("2026-03-02T01:00:00Z")),
            (ts("2026-03-02T15:00:00Z"), ts("2026-03-02T16:00:00Z")),
        ]
    );
    assert!(busy.iter().all(|b| b.uid.is_empty() && b.summary.is_none()));
    let seen = server.join().unwrap();
    assert!(
        seen[0].starts_with("REPORT /bob/calendar/ HTTP/1.1\r\n"),
        "{}",
        seen[0]
    );
    assert!(seen[0].contains("<C:calendar-query"), "{}", seen[0]);
    assert!(seen[1].contains("<C:free-busy-query"), "{}", seen[1]);
    for request in &seen {
        let lower = request.to_ascii_lowercase();
        assert!(lower.contains("\r\ndepth: 1\r\n"), "{request}");
        assert!(
            lower.contains("\r\nauthorization: basic ym9ionb3\r\n"),
            "{request}"
        );
    }
}

#[test]
fn a_server_without_free_busy_gives_its_own_error() {
    let (url, server) = scripted_server(1, |_| ("501 Not Implemented", ""));
    let err = Client::new(&url, None)
        .free_busy(&url, ts(FROM), ts(TO))
        .unwrap_err();
    assert!(
        matches!(err, CaldavError::FreeBusyUnsupported { status: 501, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("`{url}`: the server does not support `free-busy-query` (it answered 501)")
    );
    server.join().unwrap();
}

#[test]
fn a_server_that_forbids_both_reports_gives_the_refusal_of_the_query() {
    let (url, server) = scripted_server(2, |_| ("403 Forbidden", ""));
    let zone = TimeZone::get("Europe/Berlin").unwrap();
    let err = Client::new(&url, None)
        .busy_times(&url, &zone, ts(FROM), ts(TO))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("`{url}`: the server answered 403 forbidden")
    );
    server.join().unwrap();
}

#[test]
fn a_non_multistatus_answer_is_a_clear_error() {
    let (url, server) = scripted_server(1, |_| ("207 Multi-Status", "<html>oops</html>"));
    let err = Client::new(&url, None)
        .calendar_query(&url, ts(FROM), ts(TO))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "`{url}`: invalid WebDAV multistatus XML: the root element is `html`, not `DAV:multistatus`"
        )
    );
    server.join().unwrap();
}
