//! Forgetting where things were written: [`Report::strip_spans`] sets every span to empty, so
//! that a report parsed from text compares equal to the same report read from JSON or printed
//! and parsed again.

use crate::ast::*;

impl Report {
    /// Sets every span in the report to [`Span::default`].
    pub fn strip_spans(&mut self) {
        self.span = Span::default();
        self.subject.span = Span::default();
        if let Some(zone) = &mut self.zone {
            zone.span = Span::default();
        }
        let items = self.group_by.iter_mut().chain(self.show.iter_mut());
        for item in items {
            item.expr.strip_spans();
            if let Some(alias) = &mut item.alias {
                alias.span = Span::default();
            }
        }
        let exprs = self.filters.iter_mut().chain(self.having.iter_mut());
        let exprs = exprs.chain(self.order_by.iter_mut().map(|o| &mut o.expr));
        for expr in exprs {
            expr.strip_spans();
        }
        if let Some(limit) = &mut self.limit {
            limit.span = Span::default();
        }
        if let Some(funnel) = &mut self.funnel {
            funnel.span = Span::default();
            funnel.stages.iter_mut().for_each(Expr::strip_spans);
        }
    }

    /// A copy of the report with every span empty.
    pub fn without_spans(&self) -> Report {
        let mut report = self.clone();
        report.strip_spans();
        report
    }
}

impl Expr {
    /// Sets every span in the expression to [`Span::default`].
    pub fn strip_spans(&mut self) {
        self.span = Span::default();
        match &mut self.kind {
            ExprKind::Literal { .. } => {}
            ExprKind::Path { path } => path.iter_mut().for_each(|i| i.span = Span::default()),
            ExprKind::Call {
                function,
                args,
                filter,
                ..
            } => {
                function.span = Span::default();
                args.iter_mut().for_each(Expr::strip_spans);
                if let Some(filter) = filter {
                    filter.strip_spans();
                }
            }
            ExprKind::Unary { expr, .. }
            | ExprKind::IsNull { expr, .. }
            | ExprKind::Within { expr, .. } => expr.strip_spans(),
            ExprKind::Binary { left, right, .. } => {
                left.strip_spans();
                right.strip_spans();
            }
            ExprKind::In { expr, list, .. } => {
                expr.strip_spans();
                list.iter_mut().for_each(Expr::strip_spans);
            }
            ExprKind::Between {
                expr, low, high, ..
            } => {
                expr.strip_spans();
                low.strip_spans();
                high.strip_spans();
            }
            ExprKind::Text { expr, pattern, .. } => {
                expr.strip_spans();
                pattern.strip_spans();
            }
        }
    }
}
