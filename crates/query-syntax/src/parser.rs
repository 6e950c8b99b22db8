//! The parser: tokens to a [`Report`], by recursive descent, one function per grammar rule.
//!
//! Precedence, loosest first: `or`, `and`, `not`, predicates (comparisons, `in`, `between`,
//! `is null`, `contains`, `starts with`, `ends with`; not chainable), `+ -`, `* /`, unary `-`.
//! Keywords are case-insensitive and are never names, except after a `.` in a path or quoted in
//! backticks (`` `by`.name ``: a quoted name is always a name). The time
//! units (`day`, `months`, ...) are keywords only right after `last N`, `next N`, `this` and
//! `previous`. `today` is a literal: the report's date when it runs.
//!
//! Nesting is capped at [`MAX_DEPTH`] levels, counted the way the JSON form nests, so that any
//! parsed report also reads back from its JSON and nothing recurses without bound.

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::lexer::{Token, TokenKind, lex};

/// The deepest an expression may nest, in JSON levels (a call counts two: itself and its
/// argument list).
pub const MAX_DEPTH: usize = 64;

/// Every keyword of the language, lower case. None of them can be a name.
pub const KEYWORDS: &[&str] = &[
    "report", "where", "group", "by", "show", "having", "order", "limit", "funnel", "as", "asc",
    "desc", "and", "or", "not", "in", "between", "is", "null", "true", "false", "contains",
    "starts", "ends", "with", "last", "next", "this", "previous", "distinct", "today",
];

const CLAUSES: &[&str] = &[
    "where", "group", "show", "having", "order", "limit", "funnel",
];

/// Whether `word` is a keyword, in any case.
pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// Whether `name` can be written as a name in report text: a word that is not a keyword.
pub fn is_identifier(name: &str) -> bool {
    is_word(name) && !is_keyword(name)
}

/// Whether `text` is `[A-Za-z_][A-Za-z0-9_]*` (a path segment after a `.` may be any word).
pub fn is_word(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

pub(crate) fn parse_report(text: &str) -> Result<Report, Diagnostic> {
    let mut parser = Parser::new(text)?;
    let report = parser.report()?;
    for clauses in [&report.filters, &report.having] {
        if let Some(e) = conjunction_too_deep(clauses) {
            return Err(too_many_clauses(e.span));
        }
    }
    Ok(report)
}

/// The first of `clauses` at which they, joined by `and` as the compiler joins a report's
/// `where` (or `having`) clauses, one more level per clause, nest deeper than [`MAX_DEPTH`]:
/// two thousand `where` clauses of one condition each are as deep as a chain of two thousand
/// `and`s, and every step after the parser recurses on that depth.
pub(crate) fn conjunction_too_deep(clauses: &[Expr]) -> Option<&Expr> {
    let mut joined = 0;
    for (i, e) in clauses.iter().enumerate() {
        joined = if i == 0 {
            depth(e)
        } else {
            joined.max(depth(e)) + 1
        };
        if joined > MAX_DEPTH {
            return Some(e);
        }
    }
    None
}

fn too_many_clauses(span: Span) -> Diagnostic {
    Diagnostic::new(
        format!(
            "too many `where` or `having` clauses: joined by `and`, they nest more than {MAX_DEPTH} levels"
        ),
        span,
    )
    .with_help("each clause counts as a level of nesting: ask for fewer conditions, or use `in (...)` for a list of values")
}

type Parsed<T> = Result<T, Diagnostic>;

struct Parser<'a> {
    source: &'a str,
    tokens: Vec<Token>,
    eof: Token,
    pos: usize,
    /// How many nested `parse_expr`, `not` and unary `-` calls are open.
    nesting: usize,
}

impl<'a> Parser<'a> {
    fn new(source: &'a str) -> Parsed<Parser<'a>> {
        let tokens = lex(source)?;
        // The end of input is shown right after the last token, not past trailing blank lines
        // or comments (where an editor would show a line that holds nothing).
        let end = tokens.last().map_or(0, |t| t.span.end as usize);
        let eof = Token {
            kind: TokenKind::Eof,
            span: Span::new(end, end),
        };
        Ok(Parser {
            source,
            tokens,
            eof,
            pos: 0,
            nesting: 0,
        })
    }

    // ---- token helpers ----

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> &Token {
        self.tokens.get(self.pos + n).unwrap_or(&self.eof)
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        token
    }

    fn text(&self, token: &Token) -> &'a str {
        self.source.get(token.span.range()).unwrap_or("")
    }

    /// The name a token spells when it can be a name at the start of a path or as an alias: a
    /// word that is not a keyword, or any quoted name (without its backticks).
    fn name_of(&self, token: &Token) -> Option<&'a str> {
        match token.kind {
            TokenKind::Word if !is_keyword(self.text(token)) => Some(self.text(token)),
            TokenKind::QuotedWord => quoted(self.text(token)),
            _ => None,
        }
    }

    fn is_keyword_at(&self, n: usize, keyword: &str) -> bool {
        let token = self.peek_at(n);
        token.kind == TokenKind::Word && self.text(token).eq_ignore_ascii_case(keyword)
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        self.is_keyword_at(0, keyword)
    }

    fn eat_keyword(&mut self, keyword: &str) -> Option<Span> {
        self.at_keyword(keyword).then(|| self.advance().span)
    }

    fn eat(&mut self, kind: &TokenKind) -> Option<Span> {
        (&self.peek().kind == kind).then(|| self.advance().span)
    }

    /// How a token is named in a message: `` `text` `` or "end of input".
    fn describe(&self, token: &Token) -> String {
        if token.kind == TokenKind::Eof {
            return "end of input".to_string();
        }
        let text = self.text(token);
        let mut shown: String = text.chars().take(40).collect();
        if shown.len() < text.len() {
            shown.push_str("...");
        }
        format!("`{}`", shown.replace('\n', "\\n"))
    }

    /// "expected WHAT after `previous`, found `next`" at the next token.
    fn expected(&self, what: &str) -> Diagnostic {
        let token = self.peek();
        let found = self.describe(token);
        let message = match self.pos.checked_sub(1).and_then(|p| self.tokens.get(p)) {
            Some(previous) => format!(
                "expected {what} after {}, found {found}",
                self.describe(previous)
            ),
            None => format!("expected {what}, found {found}"),
        };
        Diagnostic::new(message, token.span)
    }

    fn expect(&mut self, kind: &TokenKind, shown: &str) -> Parsed<Span> {
        match self.eat(kind) {
            Some(span) => Ok(span),
            None => Err(self.expected(&format!("`{shown}`"))),
        }
    }

    fn expect_keyword(&mut self, keyword: &str) -> Parsed<Span> {
        match self.eat_keyword(keyword) {
            Some(span) => Ok(span),
            None => Err(self.expected(&format!("`{keyword}`"))),
        }
    }

    /// A name: a word that is not a keyword, or a quoted name (`` `by` ``).
    fn identifier(&mut self, what: &str) -> Parsed<Ident> {
        let token = self.peek();
        if let Some(name) = self.name_of(token) {
            let token = self.advance();
            return Ok(Ident::new(name, token.span));
        }
        let mut error = self.expected(what);
        if token.kind == TokenKind::Word {
            error = error.with_help(format!(
                "{} is a keyword; write it in backticks to use it as a name",
                self.describe(token)
            ));
        }
        Err(error)
    }

    // ---- depth ----

    fn enter(&mut self) -> Parsed<()> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(too_deep(self.peek().span));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nesting = self.nesting.saturating_sub(1);
    }

    /// Builds a node, refusing one that nests deeper than [`MAX_DEPTH`].
    fn node(&self, kind: ExprKind, span: Span) -> Parsed<Expr> {
        let expr = Expr::new(kind, span);
        if depth(&expr) > MAX_DEPTH {
            return Err(too_deep(span));
        }
        Ok(expr)
    }

    // ---- report and clauses ----

    fn report(&mut self) -> Parsed<Report> {
        if self.eat_keyword("report").is_none() {
            let error = self.expected("`report`");
            let word = self.text(self.peek()).to_string();
            return Err(error.suggest(&word, ["report"]));
        }
        let subject = self.identifier("the report's subject")?;
        let mut report = Report {
            subject,
            zone: None,
            filters: Vec::new(),
            group_by: Vec::new(),
            show: Vec::new(),
            having: Vec::new(),
            order_by: Vec::new(),
            limit: None,
            funnel: None,
            span: Span::new(0, self.source.len()),
        };
        let mut seen_group = false;
        let mut seen_show = false;
        let mut seen_order = false;
        loop {
            let token = self.peek().clone();
            if token.kind == TokenKind::Eof {
                return Ok(report);
            }
            if self.eat_keyword("where").is_some() {
                report.filters.push(self.parse_expr()?);
            } else if self.eat_keyword("having").is_some() {
                report.having.push(self.parse_expr()?);
            } else if self.at_keyword("group") {
                let span = self.clause_with_by()?;
                once(&mut seen_group, "group by", span)?;
                report.group_by = self.list(Parser::item)?;
            } else if self.at_keyword("show") {
                let span = self.advance().span;
                once(&mut seen_show, "show", span)?;
                report.show = self.list(Parser::item)?;
            } else if self.at_keyword("order") {
                let span = self.clause_with_by()?;
                once(&mut seen_order, "order by", span)?;
                report.order_by = self.list(Parser::order_item)?;
            } else if self.at_keyword("limit") {
                let start = self.advance().span;
                let mut seen = report.limit.is_some();
                once(&mut seen, "limit", start)?;
                let rows = match self.peek().kind {
                    TokenKind::Integer(n) => u64::try_from(n).ok(),
                    _ => None,
                };
                let Some(rows) = rows else {
                    return Err(self.expected("a number of rows"));
                };
                let end = self.advance().span;
                report.limit = Some(Limit {
                    rows,
                    span: start.to(end),
                });
            } else if self.at_keyword("in") && self.is_keyword_at(1, "zone") {
                let start = self.advance().span;
                let mut seen = report.zone.is_some();
                once(&mut seen, "in zone", start.to(self.advance().span))?;
                report.zone = Some(self.zone()?);
            } else if self.at_keyword("funnel") {
                let start = self.advance().span;
                let mut seen = report.funnel.is_some();
                once(&mut seen, "funnel", start)?;
                let stages = self.list(Parser::parse_expr)?;
                let end = stages.last().map_or(start, |e| e.span);
                report.funnel = Some(Funnel {
                    stages,
                    span: start.to(end),
                });
            } else {
                let mut error =
                    Diagnostic::new(format!("unexpected {}", self.describe(&token)), token.span)
                        .with_label("expected a clause");
                if token.kind == TokenKind::Word {
                    error = error.suggest(self.text(&token), CLAUSES.iter().copied());
                }
                return Err(error.with_help(
                    "the clauses are `where`, `group by`, `show`, `having`, `order by`, `limit`, `funnel` and `in zone`",
                ));
            }
        }
    }

    /// The zone's name after `in zone`: a string spelled like an IANA name.
    fn zone(&mut self) -> Parsed<Zone> {
        const HELP: &str = "write the IANA name of a time zone in quotes: `in zone \"UTC\"`, `in zone \"America/New_York\"`";
        let token = self.peek().clone();
        let TokenKind::String(name) = &token.kind else {
            return Err(self.expected("a time zone name in quotes").with_help(HELP));
        };
        if !is_zone_name(name) {
            let message = if name.is_empty() {
                "a time zone name cannot be empty".to_string()
            } else {
                format!("`{name}` is not a time zone name")
            };
            return Err(Diagnostic::new(message, token.span)
                .with_label("not a time zone")
                .with_help(HELP));
        }
        self.advance();
        Ok(Zone::new(name.clone(), token.span))
    }

    /// `group by` or `order by`: the span of both words.
    fn clause_with_by(&mut self) -> Parsed<Span> {
        let start = self.advance().span;
        let end = self.expect_keyword("by")?;
        Ok(start.to(end))
    }

    fn list<T>(&mut self, mut element: impl FnMut(&mut Self) -> Parsed<T>) -> Parsed<Vec<T>> {
        let mut items = vec![element(self)?];
        while self.eat(&TokenKind::Comma).is_some() {
            items.push(element(self)?);
        }
        Ok(items)
    }

    fn item(&mut self) -> Parsed<Item> {
        let expr = self.parse_expr()?;
        let alias = match self.eat_keyword("as") {
            Some(_) => Some(self.identifier("a name")?),
            None => None,
        };
        Ok(Item { expr, alias })
    }

    fn order_item(&mut self) -> Parsed<OrderItem> {
        let expr = self.parse_expr()?;
        let descending = if self.eat_keyword("desc").is_some() {
            true
        } else {
            self.eat_keyword("asc");
            false
        };
        Ok(OrderItem { expr, descending })
    }

    // ---- expressions ----

    fn parse_expr(&mut self) -> Parsed<Expr> {
        self.enter()?;
        let expr = self.parse_or()?;
        self.leave();
        Ok(expr)
    }

    fn parse_or(&mut self) -> Parsed<Expr> {
        let mut left = self.parse_and()?;
        while self.eat_keyword("or").is_some() {
            let right = self.parse_and()?;
            left = self.binary(BinaryOp::Or, left, right)?;
        }
        Ok(left)
    }

    fn parse_and(&mut self) -> Parsed<Expr> {
        let mut left = self.parse_not()?;
        while self.eat_keyword("and").is_some() {
            let right = self.parse_not()?;
            left = self.binary(BinaryOp::And, left, right)?;
        }
        Ok(left)
    }

    fn parse_not(&mut self) -> Parsed<Expr> {
        let Some(start) = self.eat_keyword("not") else {
            return self.parse_predicate();
        };
        self.enter()?;
        let operand = self.parse_not()?;
        self.leave();
        let span = start.to(operand.span);
        self.node(
            ExprKind::Unary {
                op: UnaryOp::Not,
                expr: Box::new(operand),
            },
            span,
        )
    }

    fn binary(&self, op: BinaryOp, left: Expr, right: Expr) -> Parsed<Expr> {
        let span = left.span.to(right.span);
        self.node(
            ExprKind::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            },
            span,
        )
    }

    fn parse_predicate(&mut self) -> Parsed<Expr> {
        let left = self.parse_additive()?;
        let expr = self.predicate_suffix(left)?;
        if comparison(&self.peek().kind).is_some() {
            let token = self.peek();
            return Err(Diagnostic::new(
                format!(
                    "comparisons cannot be chained: unexpected {}",
                    self.describe(token)
                ),
                token.span,
            )
            .with_help("join the comparisons with `and`"));
        }
        Ok(expr)
    }

    fn predicate_suffix(&mut self, left: Expr) -> Parsed<Expr> {
        if let Some(op) = comparison(&self.peek().kind) {
            self.advance();
            let right = self.parse_additive()?;
            return self.binary(op, left, right);
        }
        if self.at_keyword("is") {
            self.advance();
            let negated = self.eat_keyword("not").is_some();
            let end = self.expect_keyword("null")?;
            let span = left.span.to(end);
            return self.node(
                ExprKind::IsNull {
                    expr: Box::new(left),
                    negated,
                },
                span,
            );
        }
        let negated = self.at_keyword("not");
        let at = usize::from(negated);
        // `in zone "..."` after an expression is the next clause, never a predicate.
        let zone_clause = !negated && self.is_keyword_at(0, "in") && self.is_keyword_at(1, "zone");
        let starts_predicate = !zone_clause
            && ["in", "between", "contains", "starts", "ends"]
                .iter()
                .any(|k| self.is_keyword_at(at, k));
        if !starts_predicate {
            if negated {
                self.advance();
                return Err(
                    self.expected("`in`, `between`, `contains`, `starts with` or `ends with`")
                );
            }
            return Ok(left);
        }
        if negated {
            self.advance();
        }
        if self.eat_keyword("in").is_some() {
            return self.in_suffix(left, negated);
        }
        if self.eat_keyword("between").is_some() {
            let low = self.parse_additive()?;
            self.expect_keyword("and")?;
            let high = self.parse_additive()?;
            let span = left.span.to(high.span);
            let kind = ExprKind::Between {
                expr: Box::new(left),
                low: Box::new(low),
                high: Box::new(high),
                negated,
            };
            return self.node(kind, span);
        }
        let op = if self.eat_keyword("contains").is_some() {
            TextOp::Contains
        } else if self.eat_keyword("starts").is_some() {
            self.expect_keyword("with")?;
            TextOp::StartsWith
        } else {
            self.expect_keyword("ends")?;
            self.expect_keyword("with")?;
            TextOp::EndsWith
        };
        let pattern = self.parse_additive()?;
        let span = left.span.to(pattern.span);
        self.node(
            ExprKind::Text {
                op,
                expr: Box::new(left),
                pattern: Box::new(pattern),
                negated,
            },
            span,
        )
    }

    /// After `in` (and `not`): a list in parentheses or a relative range.
    fn in_suffix(&mut self, left: Expr, negated: bool) -> Parsed<Expr> {
        if self.eat(&TokenKind::LParen).is_some() {
            let list = self.list(Parser::parse_expr)?;
            let end = match self.eat(&TokenKind::RParen) {
                Some(span) => span,
                None => return Err(self.expected("`,` or `)`")),
            };
            let span = left.span.to(end);
            return self.node(
                ExprKind::In {
                    expr: Box::new(left),
                    list,
                    negated,
                },
                span,
            );
        }
        let which = if self.eat_keyword("last").is_some() {
            RangeKind::Last
        } else if self.eat_keyword("next").is_some() {
            RangeKind::Next
        } else if self.eat_keyword("this").is_some() {
            RangeKind::This
        } else if self.eat_keyword("previous").is_some() {
            RangeKind::Previous
        } else {
            return Err(self
                .expected("`(` or a range")
                .with_help("write a list such as `in (\"a\", \"b\")` or a range such as `in last 90 days`, `in next 7 days`, `in this month` or `in previous quarter`"));
        };
        let count = if matches!(which, RangeKind::Last | RangeKind::Next) {
            let word = if which == RangeKind::Last {
                "last"
            } else {
                "next"
            };
            let token = self.peek().clone();
            let count = match token.kind {
                TokenKind::Integer(n) => n,
                _ => return Err(self.expected("a number of units")),
            };
            match u32::try_from(count) {
                Ok(count) if count >= 1 => {
                    self.advance();
                    count
                }
                _ => {
                    return Err(Diagnostic::new(
                        format!(
                            "`{word} {count}` is not a range: the count must be between 1 and {}",
                            u32::MAX
                        ),
                        token.span,
                    ));
                }
            }
        } else {
            1
        };
        let unit_token = self.peek().clone();
        let word = self.text(&unit_token).to_ascii_lowercase();
        let unit = match (&unit_token.kind, word.strip_suffix('s').unwrap_or(&word)) {
            (TokenKind::Word, "day") => TimeUnit::Day,
            (TokenKind::Word, "week") => TimeUnit::Week,
            (TokenKind::Word, "month") => TimeUnit::Month,
            (TokenKind::Word, "quarter") => TimeUnit::Quarter,
            (TokenKind::Word, "year") => TimeUnit::Year,
            _ => {
                let units = [
                    "day", "days", "week", "weeks", "month", "months", "quarter", "quarters",
                    "year", "years",
                ];
                return Err(self
                    .expected("a time unit (`day`, `week`, `month`, `quarter` or `year`)")
                    .suggest(&word, units));
            }
        };
        self.advance();
        let span = left.span.to(unit_token.span);
        let range = RelativeRange { which, count, unit };
        self.node(
            ExprKind::Within {
                expr: Box::new(left),
                range,
                negated,
            },
            span,
        )
    }

    fn parse_additive(&mut self) -> Parsed<Expr> {
        let mut left = self.parse_multiplicative()?;
        loop {
            let op = match self.peek().kind {
                TokenKind::Plus => BinaryOp::Add,
                TokenKind::Minus => BinaryOp::Sub,
                _ => return Ok(left),
            };
            self.advance();
            let right = self.parse_multiplicative()?;
            left = self.binary(op, left, right)?;
        }
    }

    fn parse_multiplicative(&mut self) -> Parsed<Expr> {
        let mut left = self.parse_unary()?;
        loop {
            let op = match self.peek().kind {
                TokenKind::Star => BinaryOp::Mul,
                TokenKind::Slash => BinaryOp::Div,
                _ => return Ok(left),
            };
            self.advance();
            let right = self.parse_unary()?;
            left = self.binary(op, left, right)?;
        }
    }

    fn parse_unary(&mut self) -> Parsed<Expr> {
        let Some(start) = self.eat(&TokenKind::Minus) else {
            return self.parse_primary();
        };
        // `-5` and `-1.5` are negative literals (so that they type like any literal); `-(5)`
        // stays a negation.
        let number_next = matches!(
            self.peek().kind,
            TokenKind::Integer(_) | TokenKind::Float(_)
        );
        self.enter()?;
        let operand = self.parse_unary()?;
        self.leave();
        let span = start.to(operand.span);
        if number_next {
            let negated = match &operand.kind {
                ExprKind::Literal {
                    value: Literal::Integer(i),
                } => i.checked_neg().map(Literal::Integer),
                ExprKind::Literal {
                    value: Literal::Float(f),
                } => Some(Literal::Float(-f)),
                _ => None,
            };
            if let Some(value) = negated {
                return self.node(ExprKind::Literal { value }, span);
            }
        }
        self.node(
            ExprKind::Unary {
                op: UnaryOp::Neg,
                expr: Box::new(operand),
            },
            span,
        )
    }

    fn parse_primary(&mut self) -> Parsed<Expr> {
        let token = self.peek().clone();
        let literal = match &token.kind {
            TokenKind::String(s) => Some(Literal::String(s.clone())),
            TokenKind::Integer(n) => Some(Literal::Integer(*n)),
            TokenKind::Float(x) => Some(Literal::Float(*x)),
            TokenKind::Date(d) => Some(Literal::Date(d.clone())),
            TokenKind::Timestamp(t) => Some(Literal::Timestamp(t.clone())),
            TokenKind::Word if self.at_keyword("true") => Some(Literal::Bool(true)),
            TokenKind::Word if self.at_keyword("false") => Some(Literal::Bool(false)),
            TokenKind::Word if self.at_keyword("null") => Some(Literal::Null),
            TokenKind::Word if self.at_keyword("today") => Some(Literal::Today),
            _ => None,
        };
        if let Some(value) = literal {
            self.advance();
            if value == Literal::Today && self.peek().kind == TokenKind::Dot {
                return Err(Diagnostic::new(
                    "`today` is a date, not a record with fields",
                    token.span,
                )
                .with_help("a field named `today` is written in backticks: `` `today` ``"));
            }
            return self.node(ExprKind::Literal { value }, token.span);
        }
        match token.kind {
            TokenKind::LParen => {
                self.advance();
                let mut inner = self.parse_expr()?;
                let end = self.expect(&TokenKind::RParen, ")")?;
                inner.span = token.span.to(end);
                Ok(inner)
            }
            TokenKind::Word if !is_keyword(self.text(&token)) => {
                if self.peek_at(1).kind == TokenKind::LParen {
                    self.call()
                } else {
                    self.path()
                }
            }
            TokenKind::QuotedWord => self.path(),
            TokenKind::Word => Err(self.expected("an expression").with_help(format!(
                "{} is a keyword; write it in backticks to use it as a field name",
                self.describe(&token)
            ))),
            _ => Err(self.expected("an expression")),
        }
    }

    fn call(&mut self) -> Parsed<Expr> {
        let name = self.advance();
        let function = Ident::new(self.text(&name), name.span);
        self.advance(); // `(`
        self.enter()?;
        let distinct = self.eat_keyword("distinct").is_some();
        let mut args = Vec::new();
        if self.peek().kind != TokenKind::RParen && !self.at_keyword("where") {
            args = self.list(Parser::parse_expr)?;
        }
        let filter = match self.eat_keyword("where") {
            Some(_) => Some(Box::new(self.parse_expr()?)),
            None => None,
        };
        let Some(end) = self.eat(&TokenKind::RParen) else {
            let what = if filter.is_some() {
                "`)`"
            } else {
                "`,`, `where` or `)`"
            };
            return Err(self.expected(what));
        };
        self.leave();
        let span = name.span.to(end);
        self.node(
            ExprKind::Call {
                function,
                distinct,
                args,
                filter,
            },
            span,
        )
    }

    /// A path; its first token is a name ([`Parser::name_of`]). After a `.` any word is a name,
    /// keywords included, and so is a quoted name.
    fn path(&mut self) -> Parsed<Expr> {
        let first = self.advance();
        let mut path = vec![Ident::new(self.name_of(&first).unwrap_or(""), first.span)];
        while self.eat(&TokenKind::Dot).is_some() {
            let token = self.peek().clone();
            let name = match token.kind {
                TokenKind::Word => self.text(&token),
                TokenKind::QuotedWord => quoted(self.text(&token)).unwrap_or(""),
                _ => return Err(self.expected("a field name")),
            };
            self.advance();
            path.push(Ident::new(name, token.span));
        }
        let span = first.span.to(path.last().map_or(first.span, |i| i.span));
        self.node(ExprKind::Path { path }, span)
    }
}

/// The name inside a quoted name's text (`` `by` `` → `by`).
fn quoted(text: &str) -> Option<&str> {
    text.strip_prefix('`')?.strip_suffix('`')
}

fn comparison(kind: &TokenKind) -> Option<BinaryOp> {
    Some(match kind {
        TokenKind::Eq => BinaryOp::Eq,
        TokenKind::NotEq => BinaryOp::NotEq,
        TokenKind::Lt => BinaryOp::Lt,
        TokenKind::LtEq => BinaryOp::LtEq,
        TokenKind::Gt => BinaryOp::Gt,
        TokenKind::GtEq => BinaryOp::GtEq,
        _ => return None,
    })
}

/// Marks a once-only clause as seen, or says it came twice.
fn once(seen: &mut bool, clause: &str, span: Span) -> Parsed<()> {
    if std::mem::replace(seen, true) {
        return Err(
            Diagnostic::new(format!("duplicate `{clause}` clause"), span)
                .with_label("second `".to_string() + clause + "` here")
                .with_help(format!(
                    "a report has at most one `{clause}`; list all its items in one clause"
                )),
        );
    }
    Ok(())
}

fn too_deep(span: Span) -> Diagnostic {
    Diagnostic::new(
        format!("expression is nested too deeply (more than {MAX_DEPTH} levels)"),
        span,
    )
    .with_help("split it into simpler expressions; long chains of operators count as nesting too")
}

/// How deeply an expression nests in its JSON form: 2 for a literal or a path, one more for each
/// operator above it, two more for a call or an `in` list.
pub(crate) fn depth(expr: &Expr) -> usize {
    let deepest = |exprs: &mut dyn Iterator<Item = &Expr>| exprs.map(depth).max().unwrap_or(0);
    match &expr.kind {
        ExprKind::Literal { .. } | ExprKind::Path { .. } => 2,
        ExprKind::Call { args, filter, .. } => {
            let args = deepest(&mut args.iter()) + 2;
            let filter = filter.as_deref().map_or(0, depth) + 1;
            args.max(filter)
        }
        ExprKind::Unary { expr, .. } | ExprKind::IsNull { expr, .. } => depth(expr) + 1,
        ExprKind::Within { expr, .. } => (depth(expr) + 1).max(3),
        ExprKind::Binary { left, right, .. } => depth(left).max(depth(right)) + 1,
        ExprKind::In { expr, list, .. } => (depth(expr) + 1).max(deepest(&mut list.iter()) + 2),
        ExprKind::Between {
            expr, low, high, ..
        } => depth(expr).max(depth(low)).max(depth(high)) + 1,
        ExprKind::Text { expr, pattern, .. } => depth(expr).max(depth(pattern)) + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse, to_json};

    /// An expression as an s-expression: `(= status "hired")`, `(in x 1 2)`.
    fn sexp(expr: &Expr) -> String {
        let all = |exprs: &[Expr]| exprs.iter().map(sexp).collect::<Vec<_>>().join(" ");
        match &expr.kind {
            ExprKind::Literal { value } => format!("{value}"),
            ExprKind::Path { path } => path
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join("."),
            ExprKind::Call {
                function,
                distinct,
                args,
                filter,
            } => {
                let mut out = format!("({}", function.name);
                if *distinct {
                    out.push_str(" distinct");
                }
                for arg in args {
                    out.push(' ');
                    out.push_str(&sexp(arg));
                }
                if let Some(filter) = filter {
                    out.push_str(&format!(" where {}", sexp(filter)));
                }
                out + ")"
            }
            ExprKind::Unary {
                op: UnaryOp::Not,
                expr,
            } => format!("(not {})", sexp(expr)),
            ExprKind::Unary {
                op: UnaryOp::Neg,
                expr,
            } => format!("(neg {})", sexp(expr)),
            ExprKind::Binary { op, left, right } => {
                format!("({} {} {})", op.symbol(), sexp(left), sexp(right))
            }
            ExprKind::In {
                expr,
                list,
                negated,
            } => {
                format!(
                    "({}in {} {})",
                    if *negated { "not-" } else { "" },
                    sexp(expr),
                    all(list)
                )
            }
            ExprKind::Between {
                expr,
                low,
                high,
                negated,
            } => format!(
                "({}between {} {} {})",
                if *negated { "not-" } else { "" },
                sexp(expr),
                sexp(low),
                sexp(high)
            ),
            ExprKind::IsNull { expr, negated } => {
                format!(
                    "({} {})",
                    if *negated { "is-not-null" } else { "is-null" },
                    sexp(expr)
                )
            }
            ExprKind::Text {
                op,
                expr,
                pattern,
                negated,
            } => {
                let op = match op {
                    TextOp::Contains => "contains",
                    TextOp::StartsWith => "starts-with",
                    TextOp::EndsWith => "ends-with",
                };
                format!(
                    "({}{op} {} {})",
                    if *negated { "not-" } else { "" },
                    sexp(expr),
                    sexp(pattern)
                )
            }
            ExprKind::Within {
                expr,
                range,
                negated,
            } => {
                let which = match range.which {
                    RangeKind::Last => "last",
                    RangeKind::Next => "next",
                    RangeKind::This => "this",
                    RangeKind::Previous => "previous",
                };
                format!(
                    "({}within {} {which} {} {})",
                    if *negated { "not-" } else { "" },
                    sexp(expr),
                    range.count,
                    range.unit.name()
                )
            }
        }
    }

    /// The single `where` expression of `report r where TEXT`, as an s-expression.
    fn expr(text: &str) -> String {
        let report =
            parse(&format!("report r where {text}")).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(report.filters.len(), 1);
        sexp(&report.filters[0])
    }

    /// The error of parsing `text`: message and span.
    fn error(text: &str) -> (String, std::ops::Range<usize>) {
        let d = parse(text).unwrap_err();
        (d.message, d.span.range())
    }

    #[test]
    fn clauses_joined_by_and_count_as_nesting() {
        let clauses = |n: usize, clause: &str| format!("report r{}", clause.repeat(n));
        // A few dozen clauses are a report; thousands are a chain as deep as thousands of `and`s.
        assert!(parse(&clauses(40, " where x = 1")).is_ok());
        assert!(parse(&clauses(40, " having count() > 1")).is_ok());
        for clause in [" where x = 1", " having count() > 1"] {
            let text = clauses(2_000, clause);
            let (message, span) = error(&text);
            assert!(
                message.starts_with("too many `where` or `having` clauses"),
                "{message}"
            );
            // At the first clause past the limit.
            assert!(span.start < 70 * clause.len(), "{span:?}");
        }
        // The JSON form is held to the same.
        let json = format!(
            r#"{{"subject": "r", "where": [{}]}}"#,
            vec![r#"{"kind": "path", "path": ["x"]}"#; 2_000].join(", ")
        );
        let message = crate::from_json(&json).unwrap_err().message;
        assert!(
            message.contains("`where` has too many conditions"),
            "{message}"
        );
    }

    #[test]
    fn minus_before_a_number_is_a_negative_literal() {
        assert_eq!(expr("x > -5"), "(> x -5)");
        assert_eq!(expr("x > -1.5"), "(> x -1.5)");
        assert_eq!(expr("x - -5 = 1"), "(= (- x -5) 1)");
        assert_eq!(expr("x = -(5)"), "(= x (neg 5))");
        assert_eq!(expr("x = -y"), "(= x (neg y))");
        let report = parse("report r where x = -(5) and y = -5").unwrap();
        assert_eq!(report.to_string(), "report r\nwhere x = -(5) and y = -5");
    }

    #[test]
    fn precedence() {
        assert_eq!(expr("a or b and not c = 1"), "(or a (and b (not (= c 1))))");
        assert_eq!(expr("a and b or c"), "(or (and a b) c)");
        assert_eq!(expr("a or b or c"), "(or (or a b) c)");
        assert_eq!(expr("not not a"), "(not (not a))");
        assert_eq!(expr("1 + 2 * 3 - 4 / 5"), "(- (+ 1 (* 2 3)) (/ 4 5))");
        assert_eq!(expr("a - b - c"), "(- (- a b) c)");
        assert_eq!(expr("-a * -(b + 1)"), "(* (neg a) (neg (+ b 1)))");
        assert_eq!(expr("(a or b) and c"), "(and (or a b) c)");
        assert_eq!(expr("a + 1 >= b * 2"), "(>= (+ a 1) (* b 2))");
        assert_eq!(expr("not a in (1, 2) and b"), "(and (not (in a 1 2)) b)");
        assert_eq!(expr("x between 1 and 2 and y"), "(and (between x 1 2) y)");
    }

    #[test]
    fn comparisons() {
        assert_eq!(expr("a = 1"), "(= a 1)");
        assert_eq!(expr("a == 1"), "(= a 1)");
        assert_eq!(expr("a != 1"), "(!= a 1)");
        assert_eq!(expr("a <> 1"), "(!= a 1)");
        assert_eq!(expr("a < 1"), "(< a 1)");
        assert_eq!(expr("a <= 1"), "(<= a 1)");
        assert_eq!(expr("a > 1"), "(> a 1)");
        assert_eq!(expr("a >= 1"), "(>= a 1)");
    }

    #[test]
    fn predicates() {
        assert_eq!(expr("x in (\"a\", 'b')"), "(in x \"a\" \"b\")");
        assert_eq!(expr("x NOT IN (1)"), "(not-in x 1)");
        assert_eq!(
            expr("x between 1 + 1 and y * 2"),
            "(between x (+ 1 1) (* y 2))"
        );
        assert_eq!(expr("x not between 1 and 2"), "(not-between x 1 2)");
        assert_eq!(expr("x is null"), "(is-null x)");
        assert_eq!(expr("x is not null"), "(is-not-null x)");
        assert_eq!(expr("x contains \"eng\""), "(contains x \"eng\")");
        assert_eq!(expr("x not contains \"eng\""), "(not-contains x \"eng\")");
        assert_eq!(expr("x starts with \"Sen\""), "(starts-with x \"Sen\")");
        assert_eq!(
            expr("x not starts with \"Sen\""),
            "(not-starts-with x \"Sen\")"
        );
        assert_eq!(expr("x ends with \"II\""), "(ends-with x \"II\")");
        assert_eq!(expr("x not ends with \"II\""), "(not-ends-with x \"II\")");
    }

    #[test]
    fn today_is_a_literal() {
        assert_eq!(expr("starts_at >= today"), "(>= starts_at today)");
        assert_eq!(expr("TODAY > applied_at"), "(> today applied_at)");
        assert_eq!(
            expr("x between today and 2030-01-01"),
            "(between x today 2030-01-01)"
        );
        // A keyword: a field called `today` is written in backticks.
        assert_eq!(expr("`today` = 1"), "(= today 1)");
        assert_eq!(
            error("report r where today.x = 1"),
            ("`today` is a date, not a record with fields".into(), 15..20)
        );
    }

    #[test]
    fn relative_ranges() {
        assert_eq!(
            expr("applied_at in last 90 days"),
            "(within applied_at last 90 day)"
        );
        assert_eq!(
            expr("applied_at in last 1 day"),
            "(within applied_at last 1 day)"
        );
        assert_eq!(
            expr("applied_at in LAST 2 Week"),
            "(within applied_at last 2 week)"
        );
        assert_eq!(
            expr("hired_at in this quarter"),
            "(within hired_at this 1 quarter)"
        );
        assert_eq!(
            expr("hired_at in this months"),
            "(within hired_at this 1 month)"
        );
        assert_eq!(
            expr("x not in previous year"),
            "(not-within x previous 1 year)"
        );
        assert_eq!(expr("x in previous weeks"), "(within x previous 1 week)");
        assert_eq!(
            expr("starts_at in next 7 days"),
            "(within starts_at next 7 day)"
        );
        assert_eq!(
            expr("starts_at not in NEXT 1 month"),
            "(not-within starts_at next 1 month)"
        );
        assert_eq!(
            error("report r where x in next 0 weeks"),
            (
                "`next 0` is not a range: the count must be between 1 and 4294967295".into(),
                25..26
            )
        );
        assert_eq!(
            error("report r where x in next week"),
            (
                "expected a number of units after `next`, found `week`".into(),
                25..29
            )
        );
        assert_eq!(
            error("report r where x in last 0 days").0,
            "`last 0` is not a range: the count must be between 1 and 4294967295"
        );
        assert_eq!(error("report r where x in last 5000000000 days").1, 25..35);
        assert_eq!(
            error("report r where x in this fortnight"),
            ("expected a time unit (`day`, `week`, `month`, `quarter` or `year`) after `this`, found `fortnight`".into(), 25..34)
        );
        let d = parse("report r where x in last 3 monts").unwrap_err();
        assert_eq!(d.help, vec!["did you mean `month`?".to_string()]);
        assert_eq!(
            error("report r where x in last days").0,
            "expected a number of units after `last`, found `days`"
        );
        assert_eq!(
            error("report r where x in 5").0,
            "expected `(` or a range after `in`, found `5`"
        );
    }

    #[test]
    fn unit_words_are_names_outside_ranges() {
        assert_eq!(expr("month(applied_at) = 3"), "(= (month applied_at) 3)");
        assert_eq!(
            expr("day + week + months + quarter + years = year"),
            "(= (+ (+ (+ (+ day week) months) quarter) years) year)"
        );
        let report =
            parse("report r group by month(applied_at) as month order by month desc").unwrap();
        assert_eq!(report.group_by[0].alias.as_ref().unwrap().name, "month");
        assert_eq!(sexp(&report.order_by[0].expr), "month");
        assert!(report.order_by[0].descending);
    }

    #[test]
    fn literals() {
        assert_eq!(
            expr("x = 'it\\'s' and y = \"a\\\\b\\n\\t\\\"\""),
            "(and (= x \"it's\") (= y \"a\\\\b\\n\\t\\\"\"))"
        );
        let report = parse("report r where x = 'it\\'s\\n'").unwrap();
        let ExprKind::Binary { right, .. } = &report.filters[0].kind else {
            panic!()
        };
        assert_eq!(
            right.kind,
            ExprKind::Literal {
                value: Literal::String("it's\n".into())
            }
        );
        assert_eq!(
            expr("x in (1, 1.5, 2025-01-31, true, FALSE, Null)"),
            "(in x 1 1.5 2025-01-31 true false null)"
        );
        assert_eq!(expr("x = 2024-02-29"), "(= x 2024-02-29)");
        assert_eq!(expr("x = 2025-01-01 - 3-1"), "(= x (- (- 2025-01-01 3) 1))");
        assert_eq!(expr("a - 1"), "(- a 1)");
        assert_eq!(
            error("report r where x = 2025-02-30"),
            (
                "invalid date `2025-02-30`: february 2025 has 28 days".into(),
                19..29
            )
        );
        assert_eq!(error("report r where x = 2023-02-29").1, 19..29);
    }

    #[test]
    fn calls_and_paths() {
        assert_eq!(expr("count() > 0"), "(> (count) 0)");
        assert_eq!(
            expr("count(distinct candidate) > 0"),
            "(> (count distinct candidate) 0)"
        );
        assert_eq!(
            expr("count(where status = \"hired\") > 0"),
            "(> (count where (= status \"hired\")) 0)"
        );
        assert_eq!(
            expr("count(applications where status = \"hired\") > 0"),
            "(> (count applications where (= status \"hired\")) 0)"
        );
        assert_eq!(
            expr("percentile(time_to_hire, 90) > 0"),
            "(> (percentile time_to_hire 90) 0)"
        );
        assert_eq!(expr("kind(\"onsite\")"), "(kind \"onsite\")");
        assert_eq!(expr("f(distinct a, b where c)"), "(f distinct a b where c)");
        assert_eq!(expr("job.department.name = 1"), "(= job.department.name 1)");
        assert_eq!(
            expr("candidate.custom.years_of_experience"),
            "candidate.custom.years_of_experience"
        );
        assert_eq!(
            expr("application.status.order.by"),
            "application.status.order.by"
        );
        assert_eq!(
            error("report r where a.1").0,
            "expected a field name after `.`, found `1`"
        );
        assert_eq!(
            error("report r where f(a b)").0,
            "expected `,`, `where` or `)` after `a`, found `b`"
        );
        assert_eq!(
            error("report r where f(where a").0,
            "expected `)` after `a`, found end of input"
        );
    }

    #[test]
    fn quoted_names_may_be_spelled_like_keywords() {
        // A stage transition's `by` (who moved it) and the like.
        assert_eq!(expr("`by`.id = \"u1\""), "(= by.id \"u1\")");
        assert_eq!(expr("`by`"), "by");
        assert_eq!(expr("`status` = 1"), "(= status 1)");
        assert_eq!(expr("job.`order`.`x`"), "job.order.x");
        assert_eq!(expr("`Order` in (1)"), "(in Order 1)");
        let report =
            parse("report `by` show `by`.name as `limit`, x as `y` order by `limit`").unwrap();
        assert_eq!(report.subject.name, "by");
        assert_eq!(sexp(&report.show[0].expr), "by.name");
        assert_eq!(report.show[0].alias.as_ref().unwrap().name, "limit");
        assert_eq!(report.show[1].alias.as_ref().unwrap().name, "y");
        assert_eq!(sexp(&report.order_by[0].expr), "limit");
        // The span of a quoted name covers its backticks.
        let report = parse("report r where `by`.id").unwrap();
        assert_eq!(report.filters[0].span.range(), 15..22);
        // Printed back with the backticks where a keyword could stand.
        assert_eq!(
            report.to_string(),
            "report r\nwhere `by`.id",
            "printed: {report}"
        );
        // A quoted name is never a function, nor anything but a word.
        assert_eq!(error("report r where `count`()").0, "unexpected `(`");
        assert_eq!(
            error("report r where `by.id` = 1"),
            ("unterminated quoted name".into(), 15..18)
        );
        assert_eq!(
            error("report r where `by"),
            ("unterminated quoted name".into(), 15..18)
        );
        assert_eq!(
            error("report r where ``"),
            ("a quoted name cannot be empty".into(), 15..17)
        );
        assert_eq!(
            error("report r where `1by`"),
            ("`1by` is not a name".into(), 15..20)
        );
        // Unquoted, a keyword is no name, and the help says how to write it.
        let d = parse("report r where by.id = 1").unwrap_err();
        assert_eq!(
            d.message,
            "expected an expression after `where`, found `by`"
        );
        assert!(
            d.help.iter().any(|h| h.contains("backticks")),
            "{:?}",
            d.help
        );
    }

    #[test]
    fn keywords_are_case_insensitive_and_names_keep_their_case() {
        let report =
            parse("REPORT Applications WHERE Status = 'x' Group BY Job.Title SHOW Count() As N")
                .unwrap();
        assert_eq!(report.subject.name, "Applications");
        assert_eq!(sexp(&report.filters[0]), "(= Status \"x\")");
        assert_eq!(sexp(&report.group_by[0].expr), "Job.Title");
        assert_eq!(report.show[0].alias.as_ref().unwrap().name, "N");
        assert_eq!(
            error("report r where Order = 1"),
            (
                "expected an expression after `where`, found `Order`".into(),
                15..20
            )
        );
        assert_eq!(
            error("report r show x as limit").0,
            "expected a name after `as`, found `limit`"
        );
    }

    #[test]
    fn the_example_report() {
        let text = r#"report applications
where job.department.name = "Engineering" and applied_at in last 90 days
group by month(applied_at) as month
show count() as applicants, count(where status = "hired") as hires, hires / applicants as rate
having applicants >= 10
order by month desc
limit 12
"#;
        let report = parse(text).unwrap();
        let expected = r#"{
  "subject": "applications",
  "where": [
    {
      "kind": "binary",
      "op": "and",
      "left": {
        "kind": "binary",
        "op": "=",
        "left": {
          "kind": "path",
          "path": [
            "job",
            "department",
            "name"
          ]
        },
        "right": {
          "kind": "literal",
          "value": {
            "string": "Engineering"
          }
        }
      },
      "right": {
        "kind": "within",
        "expr": {
          "kind": "path",
          "path": [
            "applied_at"
          ]
        },
        "range": {
          "which": "last",
          "count": 90,
          "unit": "day"
        }
      }
    }
  ],
  "group_by": [
    {
      "expr": {
        "kind": "call",
        "function": "month",
        "args": [
          {
            "kind": "path",
            "path": [
              "applied_at"
            ]
          }
        ]
      },
      "as": "month"
    }
  ],
  "show": [
    {
      "expr": {
        "kind": "call",
        "function": "count",
        "args": []
      },
      "as": "applicants"
    },
    {
      "expr": {
        "kind": "call",
        "function": "count",
        "args": [],
        "where": {
          "kind": "binary",
          "op": "=",
          "left": {
            "kind": "path",
            "path": [
              "status"
            ]
          },
          "right": {
            "kind": "literal",
            "value": {
              "string": "hired"
            }
          }
        }
      },
      "as": "hires"
    },
    {
      "expr": {
        "kind": "binary",
        "op": "/",
        "left": {
          "kind": "path",
          "path": [
            "hires"
          ]
        },
        "right": {
          "kind": "path",
          "path": [
            "applicants"
          ]
        }
      },
      "as": "rate"
    }
  ],
  "having": [
    {
      "kind": "binary",
      "op": ">=",
      "left": {
        "kind": "path",
        "path": [
          "applicants"
        ]
      },
      "right": {
        "kind": "literal",
        "value": {
          "integer": 10
        }
      }
    }
  ],
  "order_by": [
    {
      "expr": {
        "kind": "path",
        "path": [
          "month"
        ]
      },
      "descending": true
    }
  ],
  "limit": {
    "rows": 12
  }
}"#;
        assert_eq!(to_json(&report), expected);
        assert_eq!(report.span, Span::new(0, text.len()));
        assert_eq!(
            report.limit.as_ref().unwrap().span.range(),
            text.find("limit 12").map(|s| s..s + 8).unwrap()
        );
        assert_eq!(
            report.to_string(),
            "report applications\nwhere job.department.name = \"Engineering\" and applied_at in last 90 days\ngroup by month(applied_at) as month\nshow count() as applicants, count(where status = \"hired\") as hires, hires / applicants as rate\nhaving applicants >= 10\norder by month desc\nlimit 12"
        );
    }

    #[test]
    fn timestamp_literals() {
        assert_eq!(
            expr("applied_at >= 2025-01-01T00:00Z and applied_at < 2025-01-01T09:30:00+02:00"),
            "(and (>= applied_at 2025-01-01T00:00Z) (< applied_at 2025-01-01T09:30:00+02:00))"
        );
        assert_eq!(
            expr("x between 2025-01-01T09:30 and 2025-01-02"),
            "(between x 2025-01-01T09:30 2025-01-02)"
        );
        // Until this literal existed, the `:` was "unexpected character".
        assert_eq!(
            error("report r where applied_at >= 2025-01-01T00:60Z"),
            (
                "invalid timestamp `2025-01-01T00:60Z`: minute 60 is not between 00 and 59".into(),
                29..46
            )
        );
    }

    #[test]
    fn the_zone_clause() {
        let text =
            "report applications in zone \"America/New_York\" where x group by month(applied_at)";
        let report = parse(text).unwrap();
        let zone = report.zone.as_ref().unwrap();
        assert_eq!(zone.name, "America/New_York");
        assert_eq!(&text[zone.span.range()], "\"America/New_York\"");
        assert_eq!(report.filters.iter().map(sexp).collect::<Vec<_>>(), ["x"]);
        // Anywhere among the clauses, also right after an expression that `in` could continue.
        for text in [
            "report r where x in zone 'UTC'",
            "report r where a = 1 IN ZONE \"UTC\" show b",
            "report r show b order by b desc in zone \"UTC\"",
            "report r funnel \"A\" in zone \"UTC\"",
        ] {
            let report = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                report.zone.map(|z| z.name).as_deref(),
                Some("UTC"),
                "{text}"
            );
        }
        // `zone` is a name everywhere else.
        assert_eq!(expr("zone = 1"), "(= zone 1)");
        assert_eq!(
            error("report r in zone \"UTC\" in zone \"UTC\""),
            ("duplicate `in zone` clause".into(), 23..30)
        );
        assert_eq!(
            error("report r in zone UTC"),
            (
                "expected a time zone name in quotes after `zone`, found `UTC`".into(),
                17..20
            )
        );
        assert_eq!(
            error("report r in zone \"Europe Berlin\""),
            ("`Europe Berlin` is not a time zone name".into(), 17..32)
        );
        assert_eq!(
            error("report r in zone \"\""),
            ("a time zone name cannot be empty".into(), 17..19)
        );
        assert_eq!(
            error("report r where x in zonee \"UTC\"").0,
            "expected `(` or a range after `in`, found `zonee`"
        );
    }

    #[test]
    fn clauses() {
        let text = "report interviews where a having b where c having d show x, y as z order by x asc, y desc funnel \"Phone Screen\", kind(\"onsite\") limit 0";
        let report = parse(text).unwrap();
        assert_eq!(
            report.filters.iter().map(sexp).collect::<Vec<_>>(),
            ["a", "c"]
        );
        assert_eq!(
            report.having.iter().map(sexp).collect::<Vec<_>>(),
            ["b", "d"]
        );
        assert_eq!(report.show.len(), 2);
        assert_eq!(
            report
                .order_by
                .iter()
                .map(|o| o.descending)
                .collect::<Vec<_>>(),
            [false, true]
        );
        assert_eq!(report.limit.as_ref().unwrap().rows, 0);
        let funnel = report.funnel.as_ref().unwrap();
        assert_eq!(
            funnel.stages.iter().map(sexp).collect::<Vec<_>>(),
            ["\"Phone Screen\"", "(kind \"onsite\")"]
        );
        assert_eq!(
            &text[funnel.span.range()],
            "funnel \"Phone Screen\", kind(\"onsite\")"
        );
        assert_eq!(
            parse("report candidates").unwrap().subject.name,
            "candidates"
        );
    }

    #[test]
    fn spans_cover_the_whole_text() {
        let text = "report r where (a + b) * f(x) >= -c.d and x not in (1, 2)";
        let report = parse(text).unwrap();
        let all = &report.filters[0];
        assert_eq!(
            &text[all.span.range()],
            "(a + b) * f(x) >= -c.d and x not in (1, 2)"
        );
        let ExprKind::Binary { left, right, .. } = &all.kind else {
            panic!()
        };
        assert_eq!(&text[left.span.range()], "(a + b) * f(x) >= -c.d");
        assert_eq!(&text[right.span.range()], "x not in (1, 2)");
        let ExprKind::Binary {
            left: product,
            right: neg,
            ..
        } = &left.kind
        else {
            panic!()
        };
        assert_eq!(&text[product.span.range()], "(a + b) * f(x)");
        assert_eq!(&text[neg.span.range()], "-c.d");
        let ExprKind::Binary {
            left: sum,
            right: call,
            ..
        } = &product.kind
        else {
            panic!()
        };
        assert_eq!(&text[sum.span.range()], "(a + b)");
        assert_eq!(&text[call.span.range()], "f(x)");
        let ExprKind::Call { function, .. } = &call.kind else {
            panic!()
        };
        assert_eq!(&text[function.span.range()], "f");
        let ExprKind::Unary { expr: path, .. } = &neg.kind else {
            panic!()
        };
        let ExprKind::Path { path: segments } = &path.kind else {
            panic!()
        };
        assert_eq!(
            segments
                .iter()
                .map(|s| &text[s.span.range()])
                .collect::<Vec<_>>(),
            ["c", "d"]
        );
        assert_eq!(&text[report.subject.span.range()], "r");
    }

    #[test]
    fn errors_point_at_the_problem() {
        assert_eq!(
            error("report r where status = "),
            (
                "expected an expression after `=`, found end of input".into(),
                23..23
            )
        );
        assert_eq!(
            error("report r where group by x"),
            (
                "expected an expression after `where`, found `group`".into(),
                15..20
            )
        );
        assert_eq!(
            error("report r where x = 1 2"),
            ("unexpected `2`".into(), 21..22)
        );
        assert_eq!(error("report r show x)"), ("unexpected `)`".into(), 15..16));
        assert_eq!(
            error("report"),
            (
                "expected the report's subject after `report`, found end of input".into(),
                6..6
            )
        );
        assert_eq!(
            error("report where"),
            (
                "expected the report's subject after `report`, found `where`".into(),
                7..12
            )
        );
        assert_eq!(
            error(""),
            ("expected `report`, found end of input".into(), 0..0)
        );
        // Trailing blank lines and comments: the end is shown after the last token.
        assert_eq!(
            error("report applications\nwhere\n\n# nothing here\n"),
            (
                "expected an expression after `where`, found end of input".into(),
                25..25
            )
        );
        assert_eq!(
            error("  select x"),
            ("expected `report`, found `select`".into(), 2..8)
        );
        assert_eq!(
            error("report r where (a"),
            ("expected `)` after `a`, found end of input".into(), 17..17)
        );
        assert_eq!(
            error("report r where x in (1, 2"),
            (
                "expected `,` or `)` after `2`, found end of input".into(),
                25..25
            )
        );
        assert_eq!(
            error("report r where x is 1").0,
            "expected `null` after `is`, found `1`"
        );
        assert_eq!(
            error("report r where x not = 1").0,
            "expected `in`, `between`, `contains`, `starts with` or `ends with` after `not`, found `=`"
        );
        assert_eq!(
            error("report r where x starts \"a\"").0,
            "expected `with` after `starts`, found `\"a\"`"
        );
        assert_eq!(
            error("report r where x between 1 or 2").0,
            "expected `and` after `1`, found `or`"
        );
        assert_eq!(
            error("report r where a = b = c"),
            (
                "comparisons cannot be chained: unexpected `=`".into(),
                21..22
            )
        );
        assert_eq!(
            error("report r group x"),
            ("expected `by` after `group`, found `x`".into(), 15..16)
        );
        assert_eq!(
            error("report r limit -1").0,
            "expected a number of rows after `limit`, found `-`"
        );
        assert_eq!(
            error("report r limit 1.5").0,
            "expected a number of rows after `limit`, found `1.5`"
        );
        assert_eq!(error("report r where x = \"abc").1, 19..20);
        let long = format!("report r where f(\"{}\nb\" c)", "a".repeat(50));
        assert_eq!(
            error(&long).0,
            format!(
                "expected `,`, `where` or `)` after `\"{}...`, found `c`",
                "a".repeat(39)
            )
        );
        let d = parse("report r wher x = 1").unwrap_err();
        assert_eq!(
            (d.message.as_str(), d.span.range()),
            ("unexpected `wher`", 9..13)
        );
        assert_eq!(d.help[0], "did you mean `where`?");
    }

    #[test]
    fn once_only_clauses_are_named_at_their_second_occurrence() {
        assert_eq!(
            error("report r group by a group by b"),
            ("duplicate `group by` clause".into(), 20..28)
        );
        assert_eq!(
            error("report r show a show b"),
            ("duplicate `show` clause".into(), 16..20)
        );
        assert_eq!(
            error("report r order by a ORDER by b"),
            ("duplicate `order by` clause".into(), 20..28)
        );
        assert_eq!(
            error("report r limit 1 limit 2"),
            ("duplicate `limit` clause".into(), 17..22)
        );
        assert_eq!(
            error("report r funnel a funnel b"),
            ("duplicate `funnel` clause".into(), 18..24)
        );
    }

    #[test]
    fn nesting_is_capped() {
        let deep = |open: &str, close: &str, n: usize| {
            format!("report r where {}x{}", open.repeat(n), close.repeat(n))
        };
        assert!(parse(&deep("(", ")", 40)).is_ok());
        for text in [
            deep("(", ")", 100_000),
            deep("not ", "", 100_000),
            deep("-", "", 100_000),
            deep("f(", ")", 100_000),
            deep("f(where ", ")", 100_000),
            deep("x in (", ")", 100_000),
            format!("report r where x{}", " + x".repeat(100_000)),
            format!("report r where x{}", " or x".repeat(100_000)),
        ] {
            let d = parse(&text).unwrap_err();
            assert_eq!(
                d.message,
                "expression is nested too deeply (more than 64 levels)"
            );
        }
        let wide = format!("report r where x in ({})", vec!["1"; 100_000].join(", "));
        assert!(parse(&wide).is_ok());
    }

    #[test]
    fn the_deepest_reports_read_back_from_json() {
        for (open, close) in [
            ("(x + ", ")"),
            ("f(", ")"),
            ("not ", ""),
            ("-", ""),
            ("x in (", ")"),
            ("f(where ", ")"),
        ] {
            let mut n = 1;
            let mut deepest = None;
            while let Ok(report) = parse(&format!(
                "report r show {}x{}",
                open.repeat(n),
                close.repeat(n)
            )) {
                deepest = Some(report);
                n += 1;
            }
            let report = deepest.unwrap();
            let back =
                crate::from_json(&to_json(&report)).unwrap_or_else(|e| panic!("{open}: {e}"));
            assert_eq!(back, report.without_spans());
        }
    }
}
