//! The XML of the two reports: fixed request templates, and the `207 Multi-Status` answer read
//! by namespace (the prefixes a server picks do not matter).

use jiff::{SignedDuration, Timestamp};
use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};

const DAV: &str = "DAV:";
const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";

/// `YYYYMMDDTHHMMSSZ` (RFC 4791 §9.9), rounded down for a start and up for an end, so that the
/// asked window always covers `[from, to)`.
fn utc(ts: Timestamp, round_up: bool) -> String {
    let ts = if round_up && ts.subsec_nanosecond() != 0 {
        ts.checked_add(SignedDuration::from_secs(1)).unwrap_or(ts)
    } else {
        ts
    };
    ts.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// `CALDAV:calendar-query` for the `VEVENT`s overlapping `[from, to)`, expanded.
pub(crate) fn calendar_query_body(from: Timestamp, to: Timestamp) -> String {
    let (start, end) = (utc(from, false), utc(to, true));
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop>
    <C:calendar-data>
      <C:expand start="{start}" end="{end}"/>
    </C:calendar-data>
  </D:prop>
  <C:filter>
    <C:comp-filter name="VCALENDAR">
      <C:comp-filter name="VEVENT">
        <C:time-range start="{start}" end="{end}"/>
      </C:comp-filter>
    </C:comp-filter>
  </C:filter>
</C:calendar-query>
"#
    )
}

/// `CALDAV:free-busy-query` for `[from, to)`.
pub(crate) fn free_busy_query_body(from: Timestamp, to: Timestamp) -> String {
    let (start, end) = (utc(from, false), utc(to, true));
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
  <C:time-range start="{start}" end="{end}"/>
</C:free-busy-query>
"#
    )
}

/// One `DAV:response` of a multistatus.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Response {
    pub href: String,
    /// The `DAV:status` of the whole response, when given (RFC 4918 §14.24).
    pub status: Option<String>,
    /// The `DAV:status` of each `DAV:propstat`.
    pub propstat_statuses: Vec<String>,
    /// The non-empty `CALDAV:calendar-data` of the response.
    pub calendar_data: Vec<String>,
}

impl Response {
    /// The first status line that is not 2xx (an unreadable one counts as failed).
    pub fn failed_status(&self) -> Option<&str> {
        self.status
            .iter()
            .chain(&self.propstat_statuses)
            .map(|s| s.trim())
            .find(|s| !is_success(s))
    }
}

/// `HTTP/1.1 200 OK` and the like.
fn is_success(status_line: &str) -> bool {
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .is_some_and(|code| (200..300).contains(&code))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Name {
    Response,
    Href,
    Status,
    Propstat,
    CalendarData,
    Other,
}

fn name(ns: &ResolveResult<'_>, local: &str) -> Name {
    match (ns, local) {
        (ResolveResult::Bound(Namespace(DAV)), "response") => Name::Response,
        (ResolveResult::Bound(Namespace(DAV)), "href") => Name::Href,
        (ResolveResult::Bound(Namespace(DAV)), "status") => Name::Status,
        (ResolveResult::Bound(Namespace(DAV)), "propstat") => Name::Propstat,
        (ResolveResult::Bound(Namespace(CALDAV)), "calendar-data") => Name::CalendarData,
        _ => Name::Other,
    }
}

/// The entity or character reference `&name;` as text.
fn reference(name: &str) -> Result<char, String> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => num.parse::<u32>(),
        };
        return code
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| format!("`&{name};` is not a character"));
    }
    match name {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        _ => Err(format!("unknown entity `&{name};`")),
    }
}

/// The `DAV:response`s of a `DAV:multistatus` document, in order.
pub(crate) fn parse_multistatus(text: &str) -> Result<Vec<Response>, String> {
    let mut reader = NsReader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Name> = Vec::new();
    let mut responses = Vec::new();
    let mut current: Option<Response> = None;
    let mut buffer = String::new();
    let mut saw_multistatus = false;
    loop {
        let position = reader.buffer_position();
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| format!("after byte {position}: {e}"))?;
        match event {
            Event::Start(start) => {
                let local = start.local_name();
                if stack.is_empty() {
                    if !(matches!(ns, ResolveResult::Bound(Namespace(DAV)))
                        && local.as_ref() == "multistatus")
                    {
                        return Err(format!(
                            "the root element is `{}`, not `DAV:multistatus`",
                            local.as_ref()
                        ));
                    }
                    saw_multistatus = true;
                }
                let n = name(&ns, local.as_ref());
                if n == Name::Response {
                    current = Some(Response::default());
                }
                buffer.clear();
                stack.push(n);
            }
            Event::End(_) => {
                let Some(n) = stack.pop() else {
                    return Err("an end tag without its start".into());
                };
                let parent = stack.last().copied();
                if let Some(response) = current.as_mut() {
                    match (n, parent) {
                        (Name::Href, Some(Name::Response)) => {
                            response.href = buffer.trim().to_owned();
                        }
                        (Name::Status, Some(Name::Response)) => {
                            response.status = Some(buffer.trim().to_owned());
                        }
                        (Name::Status, Some(Name::Propstat)) => {
                            response.propstat_statuses.push(buffer.trim().to_owned());
                        }
                        (Name::CalendarData, _) if !buffer.trim().is_empty() => {
                            response.calendar_data.push(std::mem::take(&mut buffer));
                        }
                        (Name::Response, _) => {
                            responses.extend(current.take());
                        }
                        _ => {}
                    }
                }
                buffer.clear();
            }
            Event::Text(t) => buffer.push_str(&t.xml10_content()),
            Event::CData(c) => buffer.push_str(&c.xml10_content()),
            Event::GeneralRef(r) => buffer.push(reference(&r)?),
            Event::Eof => {
                if !stack.is_empty() {
                    return Err("the document ends before its elements are closed".into());
                }
                break;
            }
            Event::Empty(_)
            | Event::Comment(_)
            | Event::Decl(_)
            | Event::PI(_)
            | Event::DocType(_) => {}
        }
    }
    if !saw_multistatus {
        return Err("no `DAV:multistatus` element".into());
    }
    Ok(responses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies_carry_the_window_in_utc_basic_format() {
        let from: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
        let to: Timestamp = "2026-04-01T05:06:07.5Z".parse().unwrap();
        let body = calendar_query_body(from, to);
        assert!(
            body.contains(r#"<C:expand start="20260301T000000Z" end="20260401T050608Z"/>"#),
            "{body}"
        );
        assert!(
            body.contains(r#"<C:time-range start="20260301T000000Z" end="20260401T050608Z"/>"#),
            "{body}"
        );
        let body = free_busy_query_body(from, to);
        assert!(
            body.contains(r#"<C:time-range start="20260301T000000Z" end="20260401T050608Z"/>"#)
        );
    }

    #[test]
    fn multistatus_is_read_by_namespace_not_by_prefix() {
        let text = r#"<?xml version="1.0"?>
<x:multistatus xmlns:x="DAV:" xmlns:cal="urn:ietf:params:xml:ns:caldav">
  <x:response>
    <x:href>/alice/work/a.ics</x:href>
    <x:propstat>
      <x:prop><cal:calendar-data><![CDATA[BEGIN:VCALENDAR
END:VCALENDAR
]]></cal:calendar-data></x:prop>
      <x:status>HTTP/1.1 200 OK</x:status>
    </x:propstat>
  </x:response>
  <x:response>
    <x:href>/alice/work/b.ics</x:href>
    <x:propstat>
      <x:prop><cal:calendar-data>BEGIN:VCALENDAR&#13;
SUMMARY:R&amp;D &lt;sync&gt;&#13;
END:VCALENDAR&#13;
</cal:calendar-data><other:calendar-data xmlns:other="urn:example">no</other:calendar-data></x:prop>
      <x:status>HTTP/1.1 200 OK</x:status>
    </x:propstat>
  </x:response>
  <x:response><x:href>/alice/work/gone.ics</x:href><x:status>HTTP/1.1 404 Not Found</x:status></x:response>
  <x:response><x:href>/alice/work/empty.ics</x:href><x:propstat><x:prop><cal:calendar-data/></x:prop><x:status>HTTP/1.1 403 Forbidden</x:status></x:propstat></x:response>
</x:multistatus>"#;
        let r = parse_multistatus(text).unwrap();
        assert_eq!(r.len(), 4);
        assert_eq!(r[0].href, "/alice/work/a.ics");
        assert_eq!(r[0].calendar_data, ["BEGIN:VCALENDAR\nEND:VCALENDAR\n"]);
        assert_eq!(r[0].failed_status(), None);
        assert_eq!(
            r[1].calendar_data,
            ["BEGIN:VCALENDAR\r\nSUMMARY:R&D <sync>\r\nEND:VCALENDAR\r\n"]
        );
        assert_eq!(r[2].failed_status(), Some("HTTP/1.1 404 Not Found"));
        assert!(r[3].calendar_data.is_empty());
        assert_eq!(r[3].failed_status(), Some("HTTP/1.1 403 Forbidden"));
    }

    #[test]
    fn not_a_multistatus_is_an_error() {
        let err = parse_multistatus("<html><body>hello</body></html>").unwrap_err();
        assert_eq!(err, "the root element is `html`, not `DAV:multistatus`");
        assert!(
            parse_multistatus("")
                .unwrap_err()
                .contains("no `DAV:multistatus`")
        );
        let err = parse_multistatus(r#"<D:multistatus xmlns:D="DAV:"><D:response>"#).unwrap_err();
        assert_eq!(err, "the document ends before its elements are closed");
        let err = parse_multistatus(r#"<D:multistatus xmlns:D="DAV:">&bogus;</D:multistatus>"#)
            .unwrap_err();
        assert_eq!(err, "unknown entity `&bogus;`");
    }
}
