//! Canonical report text: `Display` for [`Report`] and [`Expr`], which parses back to the same
//! tree (spans aside).
//!
//! Keywords are printed lower case, one clause per line in a fixed order, strings in double
//! quotes, names spelled like keywords in backticks where a keyword could stand (`` `by`.id ``),
//! and parentheses only where precedence needs them. A tree read from JSON prints the
//! same way; the one thing that does not come back identical is a negative number literal
//! (`{"integer": -5}`), which prints as `-5` and so parses as the negation of `5`.

use std::fmt::{self, Display, Formatter, Write};

use crate::ast::*;

/// A name where a keyword cannot stand (a subject, an alias, the start of a path): in
/// backticks when it is spelled like a keyword (`` `by` ``), as it is otherwise.
struct Name<'a>(&'a str);

impl Display for Name<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if crate::is_keyword(self.0) {
            write!(f, "`{}`", self.0)
        } else {
            f.write_str(self.0)
        }
    }
}

impl Display for Report {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "report {}", Name(&self.subject.name))?;
        if let Some(zone) = &self.zone {
            let name = Literal::String(zone.name.clone());
            write!(f, "\nin zone {name}")?;
        }
        for filter in &self.filters {
            write!(f, "\nwhere {filter}")?;
        }
        if !self.group_by.is_empty() {
            f.write_str("\ngroup by ")?;
            items(f, &self.group_by)?;
        }
        if !self.show.is_empty() {
            f.write_str("\nshow ")?;
            items(f, &self.show)?;
        }
        for having in &self.having {
            write!(f, "\nhaving {having}")?;
        }
        if !self.order_by.is_empty() {
            f.write_str("\norder by ")?;
            for (n, item) in self.order_by.iter().enumerate() {
                if n > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}", item.expr)?;
                if item.descending {
                    f.write_str(" desc")?;
                }
            }
        }
        if let Some(limit) = &self.limit {
            write!(f, "\nlimit {}", limit.rows)?;
        }
        if let Some(funnel) = &self.funnel {
            f.write_str("\nfunnel ")?;
            list(f, &funnel.stages)?;
        }
        Ok(())
    }
}

fn items(f: &mut Formatter<'_>, items: &[Item]) -> fmt::Result {
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{}", item.expr)?;
        if let Some(alias) = &item.alias {
            write!(f, " as {}", Name(&alias.name))?;
        }
    }
    Ok(())
}

fn list(f: &mut Formatter<'_>, exprs: &[Expr]) -> fmt::Result {
    for (n, expr) in exprs.iter().enumerate() {
        if n > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{expr}")?;
    }
    Ok(())
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_expr(f, self, Prec::Or)
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("null"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Integer(n) => write!(f, "{n}"),
            Literal::Float(x) => {
                // `Display` for f64 prints every digit and never an exponent; keep the `.` so
                // that the number reads back as a float.
                let text = x.to_string();
                if text.contains('.') || !x.is_finite() {
                    f.write_str(&text)
                } else {
                    write!(f, "{text}.0")
                }
            }
            Literal::String(s) => {
                f.write_char('"')?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\t' => f.write_str("\\t")?,
                        c => f.write_char(c)?,
                    }
                }
                f.write_char('"')
            }
            Literal::Date(d) | Literal::Timestamp(d) => f.write_str(d),
            Literal::Today => f.write_str("today"),
        }
    }
}

impl Display for RelativeRange {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.which {
            RangeKind::Last => {
                let plural = if self.count == 1 { "" } else { "s" };
                write!(f, "last {} {}{plural}", self.count, self.unit.name())
            }
            RangeKind::Next => {
                let plural = if self.count == 1 { "" } else { "s" };
                write!(f, "next {} {}{plural}", self.count, self.unit.name())
            }
            RangeKind::This => write!(f, "this {}", self.unit.name()),
            RangeKind::Previous => write!(f, "previous {}", self.unit.name()),
        }
    }
}

/// Binding strength, loosest first; an operand weaker than its slot needs parentheses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Or,
    And,
    Not,
    Predicate,
    Additive,
    Multiplicative,
    Unary,
    Primary,
}

fn prec(expr: &Expr) -> Prec {
    match &expr.kind {
        ExprKind::Literal {
            value: Literal::Integer(n),
        } if *n < 0 => Prec::Unary,
        ExprKind::Literal {
            value: Literal::Float(x),
        } if x.is_sign_negative() => Prec::Unary,
        ExprKind::Literal { .. } | ExprKind::Path { .. } | ExprKind::Call { .. } => Prec::Primary,
        ExprKind::Unary {
            op: UnaryOp::Not, ..
        } => Prec::Not,
        ExprKind::Unary {
            op: UnaryOp::Neg, ..
        } => Prec::Unary,
        ExprKind::Binary { op, .. } => match op {
            BinaryOp::Or => Prec::Or,
            BinaryOp::And => Prec::And,
            BinaryOp::Add | BinaryOp::Sub => Prec::Additive,
            BinaryOp::Mul | BinaryOp::Div => Prec::Multiplicative,
            _ => Prec::Predicate,
        },
        ExprKind::In { .. }
        | ExprKind::Between { .. }
        | ExprKind::IsNull { .. }
        | ExprKind::Text { .. }
        | ExprKind::Within { .. } => Prec::Predicate,
    }
}

fn not(negated: bool) -> &'static str {
    if negated { "not " } else { "" }
}

/// Writes `expr` in a slot that needs at least `min` binding strength.
fn write_expr(f: &mut Formatter<'_>, expr: &Expr, min: Prec) -> fmt::Result {
    if prec(expr) < min {
        f.write_char('(')?;
        write_expr(f, expr, Prec::Or)?;
        return f.write_char(')');
    }
    match &expr.kind {
        ExprKind::Literal { value } => write!(f, "{value}"),
        ExprKind::Path { path } => {
            for (n, segment) in path.iter().enumerate() {
                if n > 0 {
                    f.write_char('.')?;
                }
                if n == 0 {
                    write!(f, "{}", Name(&segment.name))?;
                } else {
                    f.write_str(&segment.name)?;
                }
            }
            Ok(())
        }
        ExprKind::Call {
            function,
            distinct,
            args,
            filter,
        } => {
            write!(f, "{}(", function.name)?;
            if *distinct {
                f.write_str("distinct")?;
                if !args.is_empty() {
                    f.write_char(' ')?;
                }
            }
            list(f, args)?;
            if let Some(filter) = filter {
                if !args.is_empty() || *distinct {
                    f.write_char(' ')?;
                }
                write!(f, "where {filter}")?;
            }
            f.write_char(')')
        }
        ExprKind::Unary {
            op: UnaryOp::Not,
            expr,
        } => {
            f.write_str("not ")?;
            write_expr(f, expr, Prec::Not)
        }
        ExprKind::Unary {
            op: UnaryOp::Neg,
            expr,
        } => {
            f.write_char('-')?;
            if let ExprKind::Literal {
                value: Literal::Integer(_) | Literal::Float(_),
            } = &expr.kind
            {
                // `-5` would read back as a negative literal.
                f.write_char('(')?;
                write_expr(f, expr, Prec::Or)?;
                return f.write_char(')');
            }
            write_expr(f, expr, Prec::Unary)
        }
        ExprKind::Binary { op, left, right } => {
            let (left_min, right_min) = match prec(expr) {
                Prec::Or => (Prec::Or, Prec::And),
                Prec::And => (Prec::And, Prec::Not),
                Prec::Additive => (Prec::Additive, Prec::Multiplicative),
                Prec::Multiplicative => (Prec::Multiplicative, Prec::Unary),
                _ => (Prec::Additive, Prec::Additive),
            };
            write_expr(f, left, left_min)?;
            write!(f, " {} ", op.symbol())?;
            write_expr(f, right, right_min)
        }
        ExprKind::In {
            expr,
            list: items,
            negated,
        } => {
            write_expr(f, expr, Prec::Additive)?;
            write!(f, " {}in (", not(*negated))?;
            list(f, items)?;
            f.write_char(')')
        }
        ExprKind::Between {
            expr,
            low,
            high,
            negated,
        } => {
            write_expr(f, expr, Prec::Additive)?;
            write!(f, " {}between ", not(*negated))?;
            write_expr(f, low, Prec::Additive)?;
            f.write_str(" and ")?;
            write_expr(f, high, Prec::Additive)
        }
        ExprKind::IsNull { expr, negated } => {
            write_expr(f, expr, Prec::Additive)?;
            write!(f, " is {}null", not(*negated))
        }
        ExprKind::Text {
            op,
            expr,
            pattern,
            negated,
        } => {
            write_expr(f, expr, Prec::Additive)?;
            let op = match op {
                TextOp::Contains => "contains",
                TextOp::StartsWith => "starts with",
                TextOp::EndsWith => "ends with",
            };
            write!(f, " {}{op} ", not(*negated))?;
            write_expr(f, pattern, Prec::Additive)
        }
        ExprKind::Within {
            expr,
            range,
            negated,
        } => {
            write_expr(f, expr, Prec::Additive)?;
            write!(f, " {}in {range}", not(*negated))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::parse;

    /// `report r where TEXT`, parsed and printed back: the printed `where` expression.
    fn canonical(text: &str) -> String {
        let report = parse(&format!("report r where {text}")).unwrap();
        let printed = report.to_string();
        assert_eq!(
            parse(&printed).unwrap().without_spans(),
            report.without_spans(),
            "{printed}"
        );
        printed
            .strip_prefix("report r\nwhere ")
            .unwrap()
            .to_string()
    }

    #[test]
    fn parentheses_only_where_needed() {
        assert_eq!(canonical("((a or b)) and (c)"), "(a or b) and c");
        assert_eq!(canonical("a or (b and c)"), "a or b and c");
        assert_eq!(canonical("(a or b) or c"), "a or b or c");
        assert_eq!(canonical("a or (b or c)"), "a or (b or c)");
        assert_eq!(canonical("a - (b - c)"), "a - (b - c)");
        assert_eq!(canonical("(a - b) - c"), "a - b - c");
        assert_eq!(canonical("a / (b * c)"), "a / (b * c)");
        assert_eq!(canonical("(a + b) * -(c)"), "(a + b) * -c");
        assert_eq!(canonical("not (a and b)"), "not (a and b)");
        assert_eq!(canonical("not (a = b)"), "not a = b");
        assert_eq!(canonical("(not a) = b"), "(not a) = b");
        assert_eq!(canonical("(a = b) = c"), "(a = b) = c");
        assert_eq!(
            canonical("(a is null) is not null"),
            "(a is null) is not null"
        );
        assert_eq!(canonical("- - a"), "--a");
        assert_eq!(
            canonical("x between (a or b) and (c + d)"),
            "x between (a or b) and c + d"
        );
        assert_eq!(
            canonical("f((a or b), c where d or e)"),
            "f(a or b, c where d or e)"
        );
    }

    #[test]
    fn keywords_and_literals_print_canonically() {
        assert_eq!(
            canonical("X NOT IN (1, 2.50, 'it''s')".replace("''", "\\'").as_str()),
            "X not in (1, 2.5, \"it's\")"
        );
        assert_eq!(
            canonical("x = \"a\\\\b\\n\\t\\\"\""),
            "x = \"a\\\\b\\n\\t\\\"\""
        );
        assert_eq!(
            canonical("x in last 1 days or x in last 3 day"),
            "x in last 1 day or x in last 3 days"
        );
        assert_eq!(canonical("x NOT in THIS Quarters"), "x not in this quarter");
        assert_eq!(
            canonical("x not starts with 'a' and y ends with 'b' and z not contains 'c'"),
            "x not starts with \"a\" and y ends with \"b\" and z not contains \"c\""
        );
        assert_eq!(
            canonical("x = 2025-01-31 and y = TRUE and z = NULL"),
            "x = 2025-01-31 and y = true and z = null"
        );
        assert_eq!(
            canonical("count(distinct) = count(DISTINCT x where y)"),
            "count(distinct) = count(distinct x where y)"
        );
        assert_eq!(
            canonical("f(distinct where y) = 100.0"),
            "f(distinct where y) = 100.0"
        );
        assert_eq!(canonical("a.order.by = 1"), "a.order.by = 1");
        assert_eq!(
            canonical(
                "x >= 2025-01-01T00:00Z and x < 2025-01-01T09:30:00.5-05:00 or x = 2025-01-01T09:30"
            ),
            "x >= 2025-01-01T00:00Z and x < 2025-01-01T09:30:00.5-05:00 or x = 2025-01-01T09:30"
        );
    }

    #[test]
    fn the_zone_is_printed_after_the_subject() {
        let text = "report r where a IN ZONE 'Etc/GMT+5' show x";
        let report = parse(text).unwrap();
        let printed = report.to_string();
        assert_eq!(printed, "report r\nin zone \"Etc/GMT+5\"\nwhere a\nshow x");
        assert_eq!(
            parse(&printed).unwrap().without_spans(),
            report.without_spans()
        );
    }

    #[test]
    fn whole_reports() {
        let text = "report r where a show x as y, z having b order by x, y DESC limit 3 where c funnel 'A', kind('b') group by g";
        assert_eq!(
            parse(text).unwrap().to_string(),
            "report r\nwhere a\nwhere c\ngroup by g\nshow x as y, z\nhaving b\norder by x, y desc\nlimit 3\nfunnel \"A\", kind(\"b\")"
        );
    }
}
