//! Automation rules: "when EVENT [if CONDITION] then ACTIONS [after DELAY]".
//!
//! A rule is a JSON document (docs/automation.md):
//!
//! ```json
//! { "name": "Remind the recruiter of offers waiting 3 days",
//!   "when": "application.moved",
//!   "if": "current_stage.kind = \"offer\" and status = \"active\"",
//!   "after": "3d",
//!   "then": [ { "do": "email", "to": ["recruiter"],
//!               "subject": "{{ candidate.name }} has been in Offer for 3 days",
//!               "body": "Job: {{ job.title }}" } ] }
//! ```
//!
//! This module reads and checks the document's shape ([`parse`]: every error names its JSON
//! path), its delays and templates, and decides which rules an event triggers
//! ([`Rule::triggered_by`]). What needs the org (the event type's existence, the condition in
//! the report language's filter syntax, compiled as the rule's owner; stage ids) is checked by
//! `app`, which also runs the rules.
//!
//! A delayed rule's condition is checked when the delay has passed, not when the event
//! happened: "3 days after entering Offer, if still there" is `after: "3d"` with the condition
//! "still in Offer".

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The longest rule name, in bytes.
pub const MAX_NAME: usize = 200;
/// The longest condition, in bytes.
pub const MAX_CONDITION: usize = 4_000;
/// The most actions of one rule.
pub const MAX_ACTIONS: usize = 10;
/// The longest template (an email's subject or body), in bytes.
pub const MAX_TEMPLATE: usize = 20_000;
/// The most `{{ field }}` placeholders of one template.
pub const MAX_PLACEHOLDERS: usize = 50;
/// The most recipients of one email action.
pub const MAX_RECIPIENTS: usize = 20;
/// The longest delay: 180 days.
pub const MAX_DELAY: Duration = Duration::from_secs(180 * 86_400);
/// The longest URL of a webhook or calendar, in bytes.
pub const MAX_URL: usize = 2_000;

/// A rule as its author wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// What people call it (unique in the org is not required; the id is the key).
    pub name: String,
    /// The event type that triggers it, without the `hireplane.` prefix or version
    /// (`application.moved`).
    pub when: String,
    /// A filter in the report language over the event's subject (`current_stage.kind =
    /// "offer"`), evaluated as the rule's owner: a subject the owner may not see never passes.
    #[serde(default, rename = "if", skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// How long after the event the rule runs (`30m`, `12h`, `3d`, `1d 12h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// What it does, in order (each action is its own durable job).
    pub then: Vec<Action>,
    /// The user the rule runs as (a user of the org): its condition sees, and its actions
    /// do, only what this user's policy allows. By default the user who saves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// A rule that is off triggers nothing.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// One action of a rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// An email through the org's SMTP server. `subject` and `body` are templates over the
    /// event's subject (`{{ candidate.name }}`); a field the owner may not read renders as
    /// `[hidden]`.
    Email {
        /// Who it goes to: each a [`Recipient`] as written (`recruiter`, `owner`, `user:ID`,
        /// an address).
        to: Vec<String>,
        subject: String,
        body: String,
    },
    /// A POST of the event (CloudEvents JSON) to `url`, signed per the Standard Webhooks
    /// specification with `secret` (`whsec_` + base64).
    Webhook { url: String, secret: String },
    /// Moves the application to stage `to_stage` (an id of a stage of its job).
    Move { to_stage: String },
    /// Archives the application with `reason` (one of the org's archive reasons).
    Archive { reason: String },
    /// Emails the interview's (or the application's loop's) interviewers who have not
    /// submitted feedback yet, asking for it.
    RequestFeedback,
    /// Puts the interview on a CalDAV calendar (`calendar`: the collection's URL), as one
    /// event per interview (created, or replaced when it runs again).
    CalendarEvent { calendar: String },
    /// Finds the earliest interview loop that fits everyone (the scheduler, with `plan`: the
    /// loop and the candidate's windows, as `schedulingOptions` takes it) and books it in
    /// stage `stage`, holding the interviewers' time; nothing when the application already
    /// has interviews scheduled in that stage.
    ScheduleLoop {
        stage: String,
        plan: serde_json::Value,
    },
}

/// The largest plan of a `schedule_loop` action, in bytes of JSON.
pub const MAX_PLAN: usize = 20_000;

impl Action {
    /// The action's name as written in `do`.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Email { .. } => "email",
            Action::Webhook { .. } => "webhook",
            Action::Move { .. } => "move",
            Action::Archive { .. } => "archive",
            Action::RequestFeedback => "request_feedback",
            Action::CalendarEvent { .. } => "calendar_event",
            Action::ScheduleLoop { .. } => "schedule_loop",
        }
    }

    /// Whether it acts on an application (the event's subject, or the application of its
    /// interview, feedback or offer).
    pub fn needs_application(&self) -> bool {
        matches!(
            self,
            Action::Move { .. } | Action::Archive { .. } | Action::ScheduleLoop { .. }
        )
    }

    /// Whether it acts on an interview (the event's subject).
    pub fn needs_interview(&self) -> bool {
        matches!(self, Action::CalendarEvent { .. })
    }

    /// The templates it renders, with their JSON paths.
    pub fn templates(&self, at: &str) -> Vec<(String, &str)> {
        match self {
            Action::Email { subject, body, .. } => vec![
                (format!("{at}.subject"), subject.as_str()),
                (format!("{at}.body"), body.as_str()),
            ],
            _ => Vec::new(),
        }
    }
}

/// Who an email goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    /// The application's job's hiring team members with this role (`recruiter`,
    /// `coordinator`, `hiring_manager`, `interviewer`).
    Team(String),
    /// The rule's owner.
    Owner,
    /// A user of the org, by id (`user:ID`).
    User(String),
    /// An address (`someone@example.com`).
    Address(String),
}

/// The hiring team roles an email may go to.
pub const TEAM_ROLES: &[&str] = &["recruiter", "coordinator", "hiring_manager", "interviewer"];

impl TryFrom<String> for Recipient {
    type Error = String;

    fn try_from(s: String) -> Result<Recipient, String> {
        if s == "owner" {
            return Ok(Recipient::Owner);
        }
        if TEAM_ROLES.contains(&s.as_str()) {
            return Ok(Recipient::Team(s));
        }
        if let Some(id) = s.strip_prefix("user:") {
            if id.is_empty() || id.len() > 200 {
                return Err(format!("`{s}`: a user id after `user:`"));
            }
            return Ok(Recipient::User(id.to_owned()));
        }
        if is_address(&s) {
            return Ok(Recipient::Address(s));
        }
        Err(format!(
            "`{s}` is no recipient: one of {}, `owner`, `user:ID` or an email address",
            TEAM_ROLES
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

impl Recipient {
    /// The recipients of an email action (checked by [`check`]; one that is not is left out).
    pub fn all(to: &[String]) -> Vec<Recipient> {
        to.iter()
            .filter_map(|r| Recipient::try_from(r.clone()).ok())
            .collect()
    }
}

/// A plausible email address: one `@`, something on both sides, no spaces or control
/// characters or angle brackets (which would let a value break out of an SMTP command), at
/// most 254 bytes.
pub fn is_address(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && s.chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '<' && c != '>' && c != ',')
}

/// A rule that does not hold: `path` is where in the document (`then[1].to[0]`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{path}`: {message}")]
pub struct RuleError {
    pub path: String,
    pub message: String,
}

impl RuleError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> RuleError {
        RuleError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Reads a rule from its JSON text and checks what needs no org: sizes, the delay, the
/// templates' placeholders, URLs, recipients. Errors name the JSON path.
pub fn parse(text: &str) -> Result<Rule, RuleError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let rule: Rule = match serde_path_to_error::deserialize(de) {
        Ok(rule) => rule,
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            return Err(RuleError::new(path, e.into_inner().to_string()));
        }
    };
    check(&rule)?;
    Ok(rule)
}

/// The checks of [`parse`] on a rule already read.
pub fn check(rule: &Rule) -> Result<(), RuleError> {
    if rule.name.trim().is_empty() || rule.name.len() > MAX_NAME {
        return Err(RuleError::new(
            "name",
            format!("a name of 1 to {MAX_NAME} bytes"),
        ));
    }
    if rule.when.is_empty() || rule.when.len() > 100 {
        return Err(RuleError::new(
            "when",
            "an event type, e.g. `application.moved`",
        ));
    }
    if let Some(c) = &rule.condition
        && (c.trim().is_empty() || c.len() > MAX_CONDITION)
    {
        return Err(RuleError::new(
            "if",
            format!("a condition of 1 to {MAX_CONDITION} bytes, or no `if` at all"),
        ));
    }
    if let Some(after) = &rule.after {
        parse_delay(after).map_err(|m| RuleError::new("after", m))?;
    }
    if rule.then.is_empty() || rule.then.len() > MAX_ACTIONS {
        return Err(RuleError::new(
            "then",
            format!("1 to {MAX_ACTIONS} actions"),
        ));
    }
    for (i, action) in rule.then.iter().enumerate() {
        let at = format!("then[{i}]");
        match action {
            Action::Email { to, .. } => {
                if to.is_empty() || to.len() > MAX_RECIPIENTS {
                    return Err(RuleError::new(
                        format!("{at}.to"),
                        format!("1 to {MAX_RECIPIENTS} recipients"),
                    ));
                }
                for (j, r) in to.iter().enumerate() {
                    Recipient::try_from(r.clone())
                        .map_err(|m| RuleError::new(format!("{at}.to[{j}]"), m))?;
                }
            }
            Action::Webhook { url, secret } => {
                check_url(url).map_err(|m| RuleError::new(format!("{at}.url"), m))?;
                check_secret(secret).map_err(|m| RuleError::new(format!("{at}.secret"), m))?;
            }
            Action::CalendarEvent { calendar } => {
                check_url(calendar).map_err(|m| RuleError::new(format!("{at}.calendar"), m))?;
            }
            Action::ScheduleLoop { stage, plan } => {
                if stage.is_empty() {
                    return Err(RuleError::new(format!("{at}.stage"), "a stage id"));
                }
                if !plan.is_object() || plan.to_string().len() > MAX_PLAN {
                    return Err(RuleError::new(
                        format!("{at}.plan"),
                        format!("a scheduling plan: a JSON object of at most {MAX_PLAN} bytes"),
                    ));
                }
            }
            Action::Move { to_stage } if to_stage.is_empty() => {
                return Err(RuleError::new(format!("{at}.to_stage"), "a stage id"));
            }
            Action::Archive { reason } if reason.is_empty() => {
                return Err(RuleError::new(
                    format!("{at}.reason"),
                    "one of the org's archive reasons",
                ));
            }
            _ => {}
        }
        for (path, template) in action.templates(&at) {
            placeholders(template).map_err(|m| RuleError::new(path, m))?;
        }
    }
    Ok(())
}

/// An `http` or `https` URL with a host, of at most [`MAX_URL`] bytes, without credentials.
fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("`{url}`: an `http://` or `https://` URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if url.len() > MAX_URL
        || host.is_empty()
        || host.contains('@')
        || url.contains(char::is_whitespace)
    {
        return Err(format!(
            "`{url}`: a URL of at most {MAX_URL} bytes with a host and no credentials or spaces"
        ));
    }
    Ok(())
}

/// A Standard Webhooks secret: `whsec_` + base64 of 24 to 64 bytes (the spec's range).
fn check_secret(secret: &str) -> Result<(), String> {
    let Some(b64) = secret.strip_prefix("whsec_") else {
        return Err("a Standard Webhooks secret: `whsec_` followed by base64".to_owned());
    };
    let ok = b64
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=');
    let bytes = b64.trim_end_matches('=').len() * 3 / 4;
    if !ok || !(24..=64).contains(&bytes) {
        return Err(
            "a Standard Webhooks secret: `whsec_` followed by the base64 of 24 to 64 random bytes"
                .to_owned(),
        );
    }
    Ok(())
}

/// Reads a delay: one or more `<n><unit>` separated by spaces or not, units `d`, `h`, `m`,
/// `s` (`3d`, `1d 12h`, `90m`), at most [`MAX_DELAY`].
pub fn parse_delay(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "`{text}` is no delay: write it like `30m`, `12h`, `3d` or `1d 12h` (at most {} days)",
            MAX_DELAY.as_secs() / 86_400
        )
    };
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut parts = 0;
    for c in text.chars() {
        match c {
            '0'..='9' => {
                if digits.len() >= 9 {
                    return Err(bad());
                }
                digits.push(c);
            }
            'd' | 'h' | 'm' | 's' => {
                let n: u64 = digits.parse().map_err(|_| bad())?;
                digits.clear();
                let unit = match c {
                    'd' => 86_400,
                    'h' => 3_600,
                    'm' => 60,
                    _ => 1,
                };
                total = total.saturating_add(n.saturating_mul(unit));
                parts += 1;
            }
            ' ' if digits.is_empty() => {}
            _ => return Err(bad()),
        }
    }
    if !digits.is_empty() || parts == 0 || total == 0 || total > MAX_DELAY.as_secs() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// A piece of a template: text, or a field path to fill in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Field(&'a str),
}

/// Splits a template into text and `{{ path }}` placeholders (a path is dotted names:
/// `candidate.name`, `custom.level`). Refuses an unclosed `{{`, an empty or malformed path,
/// more than [`MAX_PLACEHOLDERS`] placeholders, or a template over [`MAX_TEMPLATE`] bytes.
pub fn placeholders(template: &str) -> Result<Vec<Piece<'_>>, String> {
    if template.len() > MAX_TEMPLATE {
        return Err(format!("a template of at most {MAX_TEMPLATE} bytes"));
    }
    let mut out = Vec::new();
    let mut rest = template;
    let mut fields = 0;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            out.push(Piece::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| {
            let at = template.len() - rest.len() + open;
            format!("`{{{{` at byte {at} is not closed by `}}}}`")
        })?;
        let path = after[..close].trim();
        let valid = !path.is_empty()
            && path.split('.').all(|name| {
                !name.is_empty()
                    && name.len() <= 64
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
        if !valid {
            return Err(format!(
                "`{{{{{}}}}}`: a placeholder holds a field path, like `{{{{ candidate.name }}}}`",
                &after[..close]
            ));
        }
        fields += 1;
        if fields > MAX_PLACEHOLDERS {
            return Err(format!("at most {MAX_PLACEHOLDERS} placeholders"));
        }
        out.push(Piece::Field(path));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

/// Fills a template's placeholders with `value` (the field's rendered value, or `None` for a
/// field the owner may not read, shown as `[hidden]`, or empty).
pub fn render(pieces: &[Piece<'_>], mut value: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Field(f) => out.push_str(&value(f).unwrap_or_else(|| "[hidden]".to_owned())),
        }
    }
    out
}

impl Rule {
    /// The delay, if any (checked by [`parse`]).
    pub fn delay(&self) -> Duration {
        self.after
            .as_deref()
            .and_then(|a| parse_delay(a).ok())
            .unwrap_or(Duration::ZERO)
    }

    /// Whether an event of type `event_type` (as stored: `hireplane.application.moved.v1`, or
    /// bare: `application.moved`) triggers this rule, before its condition.
    pub fn triggered_by(&self, event_type: &str) -> bool {
        self.enabled && bare_event_type(event_type) == self.when
    }
}

/// `hireplane.application.moved.v1` -> `application.moved`; a bare name stays as it is.
pub fn bare_event_type(event_type: &str) -> &str {
    let t = event_type.strip_prefix("hireplane.").unwrap_or(event_type);
    match t.rsplit_once('.') {
        Some((name, v)) if v.starts_with('v') && v[1..].bytes().all(|b| b.is_ascii_digit()) => name,
        _ => t,
    }
}

/// The kind of record an event's subject names (`application/app_1` -> `application`, id
/// `app_1`).
pub fn subject_parts(subject: &str) -> Option<(&str, &str)> {
    subject
        .split_once('/')
        .filter(|(k, id)| !k.is_empty() && !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = r#"{
        "name": "remind",
        "when": "application.moved",
        "if": "current_stage.kind = \"offer\"",
        "after": "3d",
        "then": [{"do": "email", "to": ["recruiter", "ops@example.com"],
                  "subject": "{{ candidate.name }} waits", "body": "Job {{job.title}}."}]
    }"#;

    #[test]
    fn a_rule_reads_and_triggers_on_its_event_type_only() {
        let rule = parse(OFFER).unwrap();
        assert_eq!(rule.delay(), Duration::from_secs(3 * 86_400));
        assert!(rule.triggered_by("hireplane.application.moved.v1"));
        assert!(rule.triggered_by("application.moved"));
        assert!(!rule.triggered_by("hireplane.application.archived.v1"));
        let off = Rule {
            enabled: false,
            ..rule
        };
        assert!(!off.triggered_by("application.moved"));
    }

    #[test]
    fn errors_name_the_json_path() {
        let e = parse(r#"{"name": "x", "when": "application.moved", "then": [{"do": "email", "to": ["nobody"], "subject": "", "body": ""}]}"#).unwrap_err();
        assert_eq!(e.path, "then[0].to[0]", "{e}");
        let e = parse(r#"{"name": "x", "when": "a", "then": [{"do": "fax"}]}"#).unwrap_err();
        assert_eq!(e.path, "then[0].do", "{e}");
        assert!(e.message.contains("fax"), "{e}");
        let e = parse(r#"{"name": "x", "when": "a", "then": [], "extra": 1}"#).unwrap_err();
        assert!(e.message.contains("extra"), "{e}");
        let e = parse(r#"{"name": "x", "when": "a", "then": []}"#).unwrap_err();
        assert_eq!(e.path, "then");
        let e = parse(r#"{"name": "x", "when": "a", "after": "3 weeks", "then": [{"do": "request_feedback"}]}"#).unwrap_err();
        assert_eq!(e.path, "after");
        let e = parse(r#"{"name": "x", "when": "a", "then": [{"do": "webhook", "url": "ftp://x", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]}"#).unwrap_err();
        assert_eq!(e.path, "then[0].url");
        let e = parse(r#"{"name": "x", "when": "a", "then": [{"do": "webhook", "url": "http://u:p@x/", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]}"#).unwrap_err();
        assert_eq!(e.path, "then[0].url");
        let e = parse(r#"{"name": "x", "when": "a", "then": [{"do": "webhook", "url": "http://x/", "secret": "hunter2"}]}"#).unwrap_err();
        assert_eq!(e.path, "then[0].secret");
        let e = parse(r#"{"name": "x", "when": "a", "then": [{"do": "email", "to": ["owner"], "subject": "{{ a b }}", "body": ""}]}"#).unwrap_err();
        assert_eq!(e.path, "then[0].subject");
    }

    #[test]
    fn delays_read_units_and_refuse_the_rest() {
        assert_eq!(parse_delay("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_delay("1d 12h"), Ok(Duration::from_secs(129_600)));
        assert_eq!(parse_delay("1d12h"), Ok(Duration::from_secs(129_600)));
        for bad in [
            "",
            "0s",
            "3",
            "d",
            "3w",
            "-1d",
            "181d",
            "99999999999d",
            "1 d",
        ] {
            assert!(parse_delay(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_delay("180d"), Ok(MAX_DELAY));
    }

    #[test]
    fn recipients_are_roles_users_or_addresses_that_cannot_break_an_smtp_command() {
        assert_eq!(
            Recipient::try_from("recruiter".to_owned()),
            Ok(Recipient::Team("recruiter".into()))
        );
        assert_eq!(
            Recipient::try_from("user:u_1".to_owned()),
            Ok(Recipient::User("u_1".into()))
        );
        assert!(Recipient::try_from("a@b.example".to_owned()).is_ok());
        for bad in [
            "a@b",
            "a b@c.d",
            "a@b.c>\r\nRCPT TO:<x@y.z",
            "<a@b.c>",
            "@b.c",
            "user:",
        ] {
            assert!(Recipient::try_from(bad.to_owned()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn templates_fill_fields_and_hide_what_cannot_be_read() {
        let pieces = placeholders("Hi {{ candidate.name }}, {{job.title}}!").unwrap();
        let text = render(&pieces, |f| {
            (f == "job.title").then(|| "Engineer".to_owned())
        });
        assert_eq!(text, "Hi [hidden], Engineer!");
        assert!(placeholders("{{ open").is_err());
        assert!(placeholders("{{}}").is_err());
        assert!(placeholders(&"{{a}}".repeat(MAX_PLACEHOLDERS + 1)).is_err());
        assert_eq!(
            placeholders("no fields").unwrap(),
            vec![Piece::Text("no fields")]
        );
    }

    #[test]
    fn event_types_and_subjects_split() {
        assert_eq!(
            bare_event_type("hireplane.interview.no_show.v1"),
            "interview.no_show"
        );
        assert_eq!(bare_event_type("job.created"), "job.created");
        assert_eq!(
            subject_parts("application/app_1"),
            Some(("application", "app_1"))
        );
        assert_eq!(subject_parts("nothing"), None);
    }

    #[test]
    fn a_rule_serializes_back_to_what_parses_to_it() {
        let rule = parse(OFFER).unwrap();
        let text = serde_json::to_string(&rule).unwrap();
        assert_eq!(parse(&text).unwrap(), rule);
    }
}
