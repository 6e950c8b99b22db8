//! The lexer: report text to tokens, each with its byte span.
//!
//! Words are not classified here: whether `month` is a field, a function or a time unit, and
//! whether `order` after a `.` is a field name, depends on where it stands, so the parser decides.
//! Literals are decoded and checked here: string escapes, integer overflow, calendar dates, and
//! timestamps (`2025-01-01T09:30`, `2025-01-01T09:30:00Z`, `2025-01-01T09:30:00.5+02:00`): their
//! form, calendar date, time of day and offset.

use crate::ast::Span;
use crate::diagnostic::Diagnostic;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    /// An identifier or a keyword, `[A-Za-z_][A-Za-z0-9_]*`; its text is in the source.
    Word,
    /// A name in backticks, `` `by` ``: always a name, even when it is spelled like a keyword.
    /// Its text is the source inside the backticks, a word as above.
    QuotedWord,
    String(String),
    Integer(i64),
    Float(f64),
    /// `YYYY-MM-DD`, already checked to be a calendar date.
    Date(String),
    /// `YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|+HH:MM|-HH:MM]`, already checked ([`check_timestamp`]).
    Timestamp(String),
    LParen,
    RParen,
    Comma,
    Dot,
    Plus,
    Minus,
    Star,
    Slash,
    /// `=` or `==`.
    Eq,
    /// `!=` or `<>`.
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

/// All the tokens of `text`, without the end-of-input token, or the first lexical error.
pub(crate) fn lex(text: &str) -> Result<Vec<Token>, Diagnostic> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let start = i;
        let kind = match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' => {
                i = bytes[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'A'..=b'Z' | b'a'..=b'z' | b'_' => {
                i = scan_while(bytes, i, is_word_byte);
                TokenKind::Word
            }
            b'`' => {
                i = quoted_name(text, start)?;
                TokenKind::QuotedWord
            }
            b'0'..=b'9' => {
                let (kind, end) = number(text, start)?;
                i = end;
                kind
            }
            b'"' | b'\'' => {
                let (value, end) = string(text, start)?;
                i = end;
                TokenKind::String(value)
            }
            _ => {
                let next = bytes.get(i + 1).copied();
                let (kind, len) = match (b, next) {
                    (b'(', _) => (TokenKind::LParen, 1),
                    (b')', _) => (TokenKind::RParen, 1),
                    (b',', _) => (TokenKind::Comma, 1),
                    (b'.', _) => (TokenKind::Dot, 1),
                    (b'+', _) => (TokenKind::Plus, 1),
                    (b'-', _) => (TokenKind::Minus, 1),
                    (b'*', _) => (TokenKind::Star, 1),
                    (b'/', _) => (TokenKind::Slash, 1),
                    (b'=', Some(b'=')) => (TokenKind::Eq, 2),
                    (b'=', _) => (TokenKind::Eq, 1),
                    (b'!', Some(b'=')) => (TokenKind::NotEq, 2),
                    (b'<', Some(b'>')) => (TokenKind::NotEq, 2),
                    (b'<', Some(b'=')) => (TokenKind::LtEq, 2),
                    (b'<', _) => (TokenKind::Lt, 1),
                    (b'>', Some(b'=')) => (TokenKind::GtEq, 2),
                    (b'>', _) => (TokenKind::Gt, 1),
                    (b'!', _) => {
                        return Err(
                            Diagnostic::new("unexpected `!`", Span::new(start, start + 1))
                                .with_help("write `!=` for not equal, or `not` to negate"),
                        );
                    }
                    _ => {
                        let c = text[start..].chars().next().unwrap_or('?');
                        let end = start + c.len_utf8();
                        let shown = if c.is_control() {
                            c.escape_default().to_string()
                        } else {
                            c.to_string()
                        };
                        return Err(Diagnostic::new(
                            format!("unexpected character `{shown}`"),
                            Span::new(start, end),
                        ));
                    }
                };
                i += len;
                kind
            }
        };
        tokens.push(Token {
            kind,
            span: Span::new(start, i),
        });
    }
    Ok(tokens)
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn scan_while(bytes: &[u8], mut i: usize, keep: impl Fn(u8) -> bool) -> usize {
    while bytes.get(i).is_some_and(|&b| keep(b)) {
        i += 1;
    }
    i
}

/// Where the quoted name starting at `start` (a backtick) ends: after its closing backtick. The
/// name inside is a word (`[A-Za-z_][A-Za-z0-9_]*`), so no escapes are needed.
fn quoted_name(text: &str, start: usize) -> Result<usize, Diagnostic> {
    let bytes = text.as_bytes();
    let end = scan_while(bytes, start + 1, is_word_byte);
    let name = &text[start + 1..end];
    let starts_well = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    if bytes.get(end) != Some(&b'`') {
        return Err(Diagnostic::new(
            "unterminated quoted name",
            Span::new(start, end.max(start + 1)),
        )
        .with_help("a quoted name is letters, digits and `_` between backticks, e.g. `by`"));
    }
    if name.is_empty() {
        return Err(Diagnostic::new(
            "a quoted name cannot be empty",
            Span::new(start, end + 1),
        ));
    }
    if !starts_well {
        return Err(
            Diagnostic::new(format!("`{name}` is not a name"), Span::new(start, end + 1))
                .with_help("a name starts with a letter or `_`"),
        );
    }
    Ok(end + 1)
}

/// An integer, a float or a date starting at `start` (a digit), and where it ends.
fn number(text: &str, start: usize) -> Result<(TokenKind, usize), Diagnostic> {
    let bytes = text.as_bytes();
    if let Some(end) = date_end(bytes, start) {
        if bytes.get(end) == Some(&b'T') {
            return timestamp(text, start);
        }
        let literal = &text[start..end];
        check_date(literal).map_err(|why| {
            Diagnostic::new(
                format!("invalid date `{literal}`: {why}"),
                Span::new(start, end),
            )
            .with_label("not a calendar date")
        })?;
        return Ok((TokenKind::Date(literal.to_string()), end));
    }
    let digits_end = scan_while(bytes, start, |b| b.is_ascii_digit());
    let is_float = bytes.get(digits_end) == Some(&b'.')
        && bytes
            .get(digits_end + 1)
            .is_some_and(|b| b.is_ascii_digit());
    if is_float {
        let end = scan_while(bytes, digits_end + 1, |b| b.is_ascii_digit());
        let literal = &text[start..end];
        return match literal.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok((TokenKind::Float(value), end)),
            _ => Err(Diagnostic::new(
                format!("number `{literal}` is too large"),
                Span::new(start, end),
            )),
        };
    }
    let literal = &text[start..digits_end];
    match literal.parse::<i64>() {
        Ok(value) => Ok((TokenKind::Integer(value), digits_end)),
        Err(_) => Err(Diagnostic::new(
            format!("integer `{literal}` is too large"),
            Span::new(start, digits_end),
        )
        .with_help(format!("the largest integer is {}", i64::MAX))),
    }
}

/// The end of a `DDDD-DD-DD` at `start`, when exactly that stands there (no digit after it).
fn date_end(bytes: &[u8], start: usize) -> Option<usize> {
    let shape = b"0000-00-00";
    for (n, want) in shape.iter().enumerate() {
        let b = *bytes.get(start + n)?;
        let ok = if *want == b'-' {
            b == b'-'
        } else {
            b.is_ascii_digit()
        };
        if !ok {
            return None;
        }
    }
    let end = start + shape.len();
    if bytes.get(end).is_some_and(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(end)
}

/// Whether a `YYYY-MM-DD` names a day of the proleptic Gregorian calendar (years 1 to 9999).
pub fn check_date(literal: &str) -> Result<(), String> {
    let bytes = literal.as_bytes();
    if date_end(bytes, 0) != Some(bytes.len()) {
        return Err("expected the form YYYY-MM-DD".to_string());
    }
    let field = |range: std::ops::Range<usize>| {
        literal
            .get(range)
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let (year, month, day) = (field(0..4), field(5..7), field(8..10));
    if year == 0 {
        return Err("there is no year 0000".to_string());
    }
    if !(1..=12).contains(&month) {
        return Err(format!("month {month:02} is not between 01 and 12"));
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day == 0 || day > days {
        return Err(format!(
            "{} {year} has {days} days",
            MONTH_NAMES.get(month as usize - 1).unwrap_or(&"")
        ));
    }
    Ok(())
}

/// The form of a timestamp literal, for messages.
pub(crate) const TIMESTAMP_FORM: &str = "YYYY-MM-DDTHH:MM[:SS[.ffffff]] with `Z`, `+HH:MM` or `-HH:MM` after it, or nothing for the report's time zone";

/// A timestamp literal starting at `start` (a date followed by `T`) and where it ends.
fn timestamp(text: &str, start: usize) -> Result<(TokenKind, usize), Diagnostic> {
    let bytes = text.as_bytes();
    let end = timestamp_end(bytes, start);
    // Anything glued to the literal belongs to it, for the message.
    let glued = scan_while(bytes, end, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'_')
    });
    let literal = &text[start..glued];
    check_timestamp(literal).map_err(|why| {
        Diagnostic::new(
            format!("invalid timestamp `{literal}`: {why}"),
            Span::new(start, glued),
        )
        .with_label("not a timestamp")
        .with_help(format!("a timestamp is written {TIMESTAMP_FORM}"))
    })?;
    Ok((TokenKind::Timestamp(literal.to_string()), glued))
}

/// Where the timestamp at `start` ends: the longest prefix of the form that stands there (the
/// check then says what is wrong with the rest).
fn timestamp_end(bytes: &[u8], start: usize) -> usize {
    let digits =
        |at: usize, n: usize| (0..n).all(|k| bytes.get(at + k).is_some_and(u8::is_ascii_digit));
    // `YYYY-MM-DDT`
    let mut at = start + 11;
    if !(digits(at, 2) && bytes.get(at + 2) == Some(&b':') && digits(at + 3, 2)) {
        return at;
    }
    at += 5;
    if bytes.get(at) == Some(&b':') && digits(at + 1, 2) {
        at += 3;
        if bytes.get(at) == Some(&b'.') && digits(at + 1, 1) {
            at = scan_while(bytes, at + 1, |b| b.is_ascii_digit());
        }
    }
    match bytes.get(at) {
        Some(b'Z') => at + 1,
        Some(b'+' | b'-')
            if digits(at + 1, 2) && bytes.get(at + 3) == Some(&b':') && digits(at + 4, 2) =>
        {
            at + 6
        }
        Some(b'+' | b'-') if digits(at + 1, 1) => {
            scan_while(bytes, at + 1, |b| b.is_ascii_digit() || b == b':')
        }
        _ => at,
    }
}

/// Whether `literal` is a timestamp of the form [`TIMESTAMP_FORM`]: a calendar date, a time of
/// day (seconds and up to six digits of fraction optional), and an offset (`Z`, `+HH:MM`,
/// `-HH:MM`) or none (a local time, read in the report's time zone).
pub(crate) fn check_timestamp(literal: &str) -> Result<(), String> {
    let form = || format!("expected the form {TIMESTAMP_FORM}");
    let (date, rest) = match (literal.get(..10), literal.get(10..)) {
        (Some(date), Some(rest)) if rest.starts_with('T') => (date, &rest[1..]),
        _ => return Err(form()),
    };
    check_date(date)?;
    let bytes = rest.as_bytes();
    let two = |at: usize| -> Option<u32> {
        let s = rest.get(at..at + 2)?;
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (Some(hour), Some(b':'), Some(minute)) = (two(0), bytes.get(2), two(3)) else {
        return Err(form());
    };
    let mut at = 5;
    let mut second = 0;
    if bytes.get(at) == Some(&b':') {
        second = two(at + 1).ok_or_else(form)?;
        at += 3;
        if bytes.get(at) == Some(&b'.') {
            let digits = rest[at + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            if digits == 0 {
                return Err(form());
            }
            if digits > 6 {
                return Err(format!(
                    "{digits} digits of a second; timestamps keep at most 6 (microseconds)"
                ));
            }
            at += 1 + digits;
        }
    }
    if hour > 23 {
        return Err(format!("hour {hour:02} is not between 00 and 23"));
    }
    if minute > 59 {
        return Err(format!("minute {minute:02} is not between 00 and 59"));
    }
    if second > 59 {
        return Err(format!("second {second:02} is not between 00 and 59"));
    }
    match &rest[at..] {
        "" | "Z" => Ok(()),
        offset if offset.starts_with('+') || offset.starts_with('-') => {
            let sign = &offset[..1];
            let (Some(h), Some(b':'), Some(m), 6) =
                (two(at + 1), bytes.get(at + 3), two(at + 4), offset.len())
            else {
                return Err(format!("offset `{offset}`: expected `{sign}HH:MM`"));
            };
            if h > 23 || m > 59 {
                return Err(format!(
                    "offset `{offset}` is not between -23:59 and +23:59"
                ));
            }
            Ok(())
        }
        _ => Err(form()),
    }
}

const MONTH_NAMES: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// A quoted string starting at `start`: its decoded value and where it ends.
fn string(text: &str, start: usize) -> Result<(String, usize), Diagnostic> {
    let rest = &text[start..];
    let mut chars = rest.char_indices();
    let quote = chars.next().map_or('"', |(_, c)| c);
    let mut value = String::new();
    while let Some((offset, c)) = chars.next() {
        if c == quote {
            return Ok((value, start + offset + 1));
        }
        if c == '\0' {
            // No database stores a NUL in text (PostgreSQL refuses it outright): refused here,
            // where the caller can be told where it is.
            return Err(Diagnostic::new(
                "a string must not contain the NUL character (U+0000)",
                Span::new(start + offset, start + offset + 1),
            )
            .with_label("NUL here"));
        }
        if c != '\\' {
            value.push(c);
            continue;
        }
        let decoded = match chars.next() {
            Some((_, '"')) => '"',
            Some((_, '\'')) => '\'',
            Some((_, '\\')) => '\\',
            Some((_, 'n')) => '\n',
            Some((_, 't')) => '\t',
            Some((_, other)) => {
                let span = Span::new(start + offset, start + offset + 1 + other.len_utf8());
                return Err(Diagnostic::new(
                    format!("unknown escape `\\{other}` in a string"),
                    span,
                )
                .with_help("the escapes are `\\\"`, `\\'`, `\\\\`, `\\n` and `\\t`"));
            }
            None => break,
        };
        value.push(decoded);
    }
    Err(Diagnostic::new(
        "unterminated string",
        Span::new(start, start + quote.len_utf8()),
    )
    .with_label("this string is never closed")
    .with_help(format!("add a closing `{quote}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        lex(text).unwrap().into_iter().map(|t| t.kind).collect()
    }

    fn error(text: &str) -> (String, Span) {
        let d = lex(text).unwrap_err();
        (d.message, d.span)
    }

    #[test]
    fn words_numbers_and_operators() {
        use TokenKind::*;
        assert_eq!(
            kinds("a_1 >= 12 <> 1.5 == != <= < > = ( ) , . + - * /"),
            vec![
                Word,
                GtEq,
                Integer(12),
                NotEq,
                Float(1.5),
                Eq,
                NotEq,
                LtEq,
                Lt,
                Gt,
                Eq,
                LParen,
                RParen,
                Comma,
                Dot,
                Plus,
                Minus,
                Star,
                Slash
            ]
        );
    }

    #[test]
    fn comments_and_whitespace_are_skipped() {
        let tokens = lex("a # comment = 1\r\n\tb#c").unwrap();
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens[1].span, Span::new(18, 19));
    }

    #[test]
    fn dates_versus_subtraction() {
        use TokenKind::*;
        assert_eq!(kinds("2025-01-01"), vec![Date("2025-01-01".into())]);
        assert_eq!(kinds("3-1"), vec![Integer(3), Minus, Integer(1)]);
        assert_eq!(
            kinds("2025-1-01"),
            vec![Integer(2025), Minus, Integer(1), Minus, Integer(1)]
        );
        assert_eq!(
            kinds("2025 -01-01"),
            vec![Integer(2025), Minus, Integer(1), Minus, Integer(1)]
        );
        assert_eq!(
            kinds("2025-01-011"),
            vec![Integer(2025), Minus, Integer(1), Minus, Integer(11)]
        );
        assert_eq!(kinds("2024-02-29"), vec![Date("2024-02-29".into())]);
        assert_eq!(kinds("2000-02-29"), vec![Date("2000-02-29".into())]);
    }

    #[test]
    fn impossible_dates_are_errors_at_the_literal() {
        assert_eq!(
            error("x = 2025-02-30"),
            (
                "invalid date `2025-02-30`: february 2025 has 28 days".into(),
                Span::new(4, 14)
            )
        );
        assert_eq!(
            error("1900-02-29").0,
            "invalid date `1900-02-29`: february 1900 has 28 days"
        );
        assert_eq!(
            error("2025-13-01").0,
            "invalid date `2025-13-01`: month 13 is not between 01 and 12"
        );
        assert_eq!(
            error("2025-04-31").0,
            "invalid date `2025-04-31`: april 2025 has 30 days"
        );
        assert_eq!(
            error("2025-04-00").0,
            "invalid date `2025-04-00`: april 2025 has 30 days"
        );
        assert_eq!(
            error("0000-01-01").0,
            "invalid date `0000-01-01`: there is no year 0000"
        );
    }

    #[test]
    fn timestamps() {
        use TokenKind::*;
        for t in [
            "2025-01-01T00:00Z",
            "2025-01-01T09:30:00+02:00",
            "2025-01-01T09:30",
            "2025-01-01T09:30:15",
            "2025-01-01T09:30:15.123456-05:30",
            "2024-02-29T23:59:59.5Z",
        ] {
            assert_eq!(kinds(t), vec![Timestamp(t.into())], "{t}");
        }
        assert_eq!(
            kinds("x>=2025-01-01T00:00Z)"),
            vec![Word, GtEq, Timestamp("2025-01-01T00:00Z".into()), RParen]
        );
        // A minus after a local time that is not an offset is subtraction.
        assert_eq!(
            kinds("2025-01-01T09:30 - x"),
            vec![Timestamp("2025-01-01T09:30".into()), Minus, Word]
        );
        assert_eq!(
            kinds("2025-01-01T09:30-x"),
            vec![Timestamp("2025-01-01T09:30".into()), Minus, Word]
        );
    }

    #[test]
    fn malformed_timestamps_are_errors_at_the_literal() {
        let form = format!("expected the form {TIMESTAMP_FORM}");
        for (text, why, span) in [
            (
                "x = 2025-01-01T25:00Z",
                "hour 25 is not between 00 and 23".to_string(),
                (4, 21),
            ),
            (
                "2025-01-01T09:60",
                "minute 60 is not between 00 and 59".to_string(),
                (0, 16),
            ),
            (
                "2025-01-01T09:30:61Z",
                "second 61 is not between 00 and 59".to_string(),
                (0, 20),
            ),
            (
                "2025-02-30T00:00Z",
                "february 2025 has 28 days".to_string(),
                (0, 17),
            ),
            ("2025-01-01T9:30", form.clone(), (0, 15)),
            ("2025-01-01T and", form.clone(), (0, 11)),
            ("2025-01-01T09", form.clone(), (0, 13)),
            ("2025-01-01T09:30:00.Z", form.clone(), (0, 21)),
            ("2025-01-01T09:30Zulu", form.clone(), (0, 20)),
            (
                "2025-01-01T09:30:00.1234567Z",
                "7 digits of a second; timestamps keep at most 6 (microseconds)".to_string(),
                (0, 28),
            ),
            (
                "2025-01-01T09:30+2",
                "offset `+2`: expected `+HH:MM`".to_string(),
                (0, 18),
            ),
            (
                "2025-01-01T09:30-0500",
                "offset `-0500`: expected `-HH:MM`".to_string(),
                (0, 21),
            ),
            (
                "2025-01-01T09:30+24:00",
                "offset `+24:00` is not between -23:59 and +23:59".to_string(),
                (0, 22),
            ),
        ] {
            let d = lex(text).unwrap_err();
            let literal = &text[span.0..span.1];
            assert_eq!(
                (d.message, d.span),
                (
                    format!("invalid timestamp `{literal}`: {why}"),
                    Span::new(span.0, span.1)
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn string_escapes() {
        use TokenKind::*;
        assert_eq!(
            kinds(r#""a\"b\\c\nd\te\'f" 'it\'s "q"'"#),
            vec![
                String("a\"b\\c\nd\te'f".into()),
                String("it's \"q\"".into())
            ]
        );
        assert_eq!(kinds("'é\n'"), vec![String("é\n".into())]);
    }

    #[test]
    fn string_errors() {
        assert_eq!(
            error("x = \"abc"),
            ("unterminated string".into(), Span::new(4, 5))
        );
        assert_eq!(
            error("'abc\\'"),
            ("unterminated string".into(), Span::new(0, 1))
        );
        assert_eq!(
            error("'a\\qb'"),
            ("unknown escape `\\q` in a string".into(), Span::new(2, 4))
        );
        assert_eq!(
            error("x = \"a\u{0}b\""),
            (
                "a string must not contain the NUL character (U+0000)".into(),
                Span::new(6, 7)
            )
        );
        assert_eq!(
            error("'\u{0}'"),
            (
                "a string must not contain the NUL character (U+0000)".into(),
                Span::new(1, 2)
            )
        );
    }

    #[test]
    fn number_errors() {
        assert_eq!(
            kinds("9223372036854775807"),
            vec![TokenKind::Integer(i64::MAX)]
        );
        assert_eq!(
            error("9223372036854775808"),
            (
                "integer `9223372036854775808` is too large".into(),
                Span::new(0, 19)
            )
        );
        let huge = format!("{}.5", "9".repeat(400));
        let message = error(&huge).0;
        // Cut in the middle: what the caller wrote quoted, whatever its length.
        assert!(
            message.starts_with("number `999")
                && message.contains('…')
                && message.ends_with("99.5` is too large")
                && message.chars().count() <= 400,
            "{message}"
        );
    }

    #[test]
    fn stray_characters() {
        assert_eq!(
            error("a @ b"),
            ("unexpected character `@`".into(), Span::new(2, 3))
        );
        assert_eq!(
            error("é"),
            ("unexpected character `é`".into(), Span::new(0, 2))
        );
        assert_eq!(error("a ! b"), ("unexpected `!`".into(), Span::new(2, 3)));
    }
}
