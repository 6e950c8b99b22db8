//! Errors about a report's text: a message, the span it is about, and help, rendered the way
//! rustc and ariadne do, with the source line and a caret under the span.

use crate::ast::Span;

/// One problem with a report. Messages are lower case and name the input in backticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub span: Span,
    /// Printed under the caret, for example "unknown field".
    pub label: Option<String>,
    /// Printed after the source, one per line: suggestions and what is available.
    pub help: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic of `message`, cut in the middle to [`MESSAGE_CHARS`] characters (a message
    /// that quotes what the caller wrote stays short however long that was).
    pub fn new(message: impl Into<String>, span: Span) -> Diagnostic {
        let message = message.into();
        let message = match message.char_indices().nth(MESSAGE_CHARS) {
            // Its start and its end kept (what is wrong is often said last), the middle cut.
            Some(_) => {
                let chars: Vec<char> = message.chars().collect();
                let (head, tail) = (MESSAGE_CHARS * 3 / 4, MESSAGE_CHARS / 4 - 1);
                let mut cut: String = chars[..head].iter().collect();
                cut.push('…');
                cut.extend(&chars[chars.len() - tail..]);
                cut
            }
            None => message,
        };
        Diagnostic {
            message,
            span,
            label: None,
            help: Vec::new(),
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help.push(help.into());
        self
    }

    /// Adds "did you mean `x`?" when one of `candidates` is close to `name`.
    pub fn suggest<'a>(
        self,
        name: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Diagnostic {
        match closest(name, candidates) {
            Some(best) => self.with_help(format!("did you mean `{best}`?")),
            None => self,
        }
    }

    /// The line and column (both from 1, columns in characters) where the span starts.
    pub fn location(&self, source: &str) -> (usize, usize) {
        let start = (self.span.start as usize).min(source.len());
        let start = floor_char_boundary(source, start);
        let before = &source[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, source[line_start..start].chars().count() + 1)
    }

    /// `error: message` then `--> origin:line:col`, the source line, carets under the span (on
    /// its first line), the label, and the help lines. JSON reports (empty source) get no snippet.
    /// A line longer than twice [`SNIPPET_CHARS`] is shown that many characters either side of
    /// the span (`…` where it is cut), and a long message is cut too: a rendering stays a few hundred bytes whatever the
    /// report (red team, pass 3: a line of 100,000 characters, shown whole with as many spaces
    /// before the caret, made 200 KB per error and 200 MB for 1,000 aliases).
    pub fn render(&self, source: &str, origin: &str) -> String {
        let mut out = format!("error: {}\n", clip(&self.message, MESSAGE_CHARS));
        if source.is_empty() {
            out.push_str(&format!("  --> {origin}\n"));
        } else {
            let (line, column) = self.location(source);
            let width = line.to_string().len();
            let pad = " ".repeat(width);
            let start = floor_char_boundary(source, (self.span.start as usize).min(source.len()));
            let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = source[start..]
                .find('\n')
                .map_or(source.len(), |i| start + i);
            let end = floor_char_boundary(source, (self.span.end as usize).clamp(start, line_end));
            let carets = source[start..end].chars().count().clamp(1, SNIPPET_CHARS);
            // The line around the span: a line of up to twice SNIPPET_CHARS whole, a longer
            // one SNIPPET_CHARS characters before the span, and the span (or SNIPPET_CHARS of
            // it) with SNIPPET_CHARS after.
            let whole = source[line_start..line_end].chars().count() <= 2 * SNIPPET_CHARS;
            let window = if whole { usize::MAX } else { SNIPPET_CHARS };
            let head = &source[line_start..start];
            let head_chars = head.chars().count();
            let cut_head = head_chars > window;
            let shown_head: String = head
                .chars()
                .skip(head_chars.saturating_sub(window))
                .collect();
            let tail = &source[start..line_end];
            let shown_tail: String = tail.chars().take(carets.saturating_add(window)).collect();
            let cut_tail = shown_tail.len() < tail.len();
            let text = format!(
                "{}{shown_head}{shown_tail}{}",
                if cut_head { "…" } else { "" },
                if cut_tail { "…" } else { "" }
            );
            let indent = shown_head.chars().count() + usize::from(cut_head);
            out.push_str(&format!("{pad}--> {origin}:{line}:{column}\n"));
            out.push_str(&format!("{pad} |\n{line} | {text}\n"));
            out.push_str(&format!(
                "{pad} | {}{}",
                " ".repeat(indent),
                "^".repeat(carets)
            ));
            if let Some(label) = &self.label {
                out.push(' ');
                out.push_str(label);
            }
            out.push('\n');
        }
        for help in &self.help {
            out.push_str(&format!("  = help: {help}\n"));
        }
        out
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (at {}..{})",
            self.message, self.span.start, self.span.end
        )
    }
}

impl std::error::Error for Diagnostic {}

/// The candidate nearest to `name` if it is near enough to be a likely typo.
/// Names longer than [`SUGGESTED_CHARS`] get no suggestion, and a candidate whose length alone
/// is farther than a typo is not compared: the distance costs the product of the two lengths
/// (red team, pass 4: a literal of 100,000 characters against 40 long stage names took 13 s).
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let n = name.chars().count();
    if n > SUGGESTED_CHARS {
        return None;
    }
    let lower = name.to_lowercase();
    let near = |m: usize| n.abs_diff(m) <= (m.max(n) / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| near(c.chars().count()))
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d > 0 && *d <= (c.chars().count().max(n) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The longest name [`closest`] suggests for.
pub const SUGGESTED_CHARS: usize = 64;

/// How many characters of a long line a rendering shows either side of the span.
pub const SNIPPET_CHARS: usize = 120;

/// How many characters of a message a rendering shows.
const MESSAGE_CHARS: usize = 400;

/// `text` cut to `max` characters, with `…` where it is cut.
fn clip(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]).into(),
        None => text.into(),
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_get_no_suggestion_and_cost_nothing() {
        let long = "x".repeat(100_000);
        let stages: Vec<String> = (0..40)
            .map(|i| format!("{i}{}", "y".repeat(1_000)))
            .collect();
        let started = std::time::Instant::now();
        assert_eq!(closest(&long, stages.iter().map(String::as_str)), None);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(closest("Onsit", ["Onsite", "Offer"]), Some("Onsite"));
        assert_eq!(
            closest("Onsite interveiw", ["Onsite interview", "Offer"]),
            Some("Onsite interview")
        );
        let d = Diagnostic::new(format!("no stage `{long}`"), Span::new(0, 1));
        assert!(
            d.message.chars().count() <= MESSAGE_CHARS + 1,
            "{}",
            d.message.len()
        );
    }

    #[test]
    fn long_lines_and_messages_are_shown_around_the_span() {
        let long = "x".repeat(100_000);
        let source = format!("report applications where status = \"{long}\" and (((");
        let at = source.len() - 3;
        let d = Diagnostic::new(
            format!("unexpected `(` after \"{long}\""),
            Span::new(at, at + 1),
        );
        let text = d.render(&source, "report");
        assert!(text.len() < 1_200, "{} bytes", text.len());
        // The real column, the caret under the span, cut marks.
        assert!(text.contains(&format!("--> report:1:{}", at + 1)), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        let shown = lines.iter().find(|l| l.starts_with("1 | ")).unwrap();
        let carets = lines.iter().find(|l| l.contains('^')).unwrap();
        assert!(
            shown.starts_with("1 | …x") && shown.ends_with("((("),
            "{shown}"
        );
        let caret_at = carets.find('^').unwrap();
        assert_eq!(
            shown.chars().nth(carets[..caret_at].chars().count()),
            Some('('),
            "{shown}\n{carets}"
        );
        assert!(
            lines[0].contains('…') && lines[0].ends_with("xx\"") && lines[0].chars().count() < 420,
            "{}",
            lines[0]
        );
        // Short lines are shown whole, as before.
        let d = Diagnostic::new("bad", Span::new(7, 10));
        assert_eq!(
            d.render("report foo", "r"),
            "error: bad\n --> r:1:8\n  |\n1 | report foo\n  |        ^^^\n"
        );
    }

    #[test]
    fn renders_a_caret_under_the_span() {
        let source = "report applications\nwhere statsu = \"hired\"";
        let d = Diagnostic::new(
            "unknown field `statsu` on `applications`",
            Span::new(26, 32),
        )
        .with_label("unknown field")
        .suggest("statsu", ["status", "source", "stage"]);
        let text = d.render(source, "<report>");
        assert_eq!(
            text,
            "error: unknown field `statsu` on `applications`\n --> <report>:2:7\n  |\n2 | where statsu = \"hired\"\n  |       ^^^^^^ unknown field\n  = help: did you mean `status`?\n"
        );
    }

    #[test]
    fn far_names_are_not_suggested() {
        assert_eq!(closest("salary", ["status", "name"]), None);
        assert_eq!(
            closest("departmnet", ["department", "job"]),
            Some("department")
        );
    }
}
