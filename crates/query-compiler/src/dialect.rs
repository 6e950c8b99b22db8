//! What differs between PostgreSQL and SQLite, as capability methods that build SQL: time
//! buckets in the report's zone, day differences, percentiles, JSON access to custom fields, list
//! membership, case-insensitive matching, null-safe equality and output normalisation.
//!
//! Both dialects give the same answers on the same data: SQLite lacks time zones, ISO weeks and
//! percentiles, so the store registers `hp_bucket`, `hp_lower` and `hp_percentile` (implemented
//! with jiff and the same interpolation as PostgreSQL's `percentile_cont`) on every connection.

use crate::catalog::Type;
use crate::sql::{Dialect, SqlExpr};
use query_syntax::{TextOp, TimeUnit};

fn b(e: SqlExpr) -> Box<SqlExpr> {
    Box::new(e)
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
        }
    }

    /// A floating-point copy of a number, so that `/` never truncates.
    pub fn float(self, e: SqlExpr) -> SqlExpr {
        match self {
            Dialect::Postgres => SqlExpr::Cast(b(e), "double precision"),
            Dialect::Sqlite => SqlExpr::Cast(b(e), "REAL"),
        }
    }

    /// `a / b` as a float, null when `b` is zero.
    pub fn divide(self, a: SqlExpr, d: SqlExpr) -> SqlExpr {
        SqlExpr::bin(
            "/",
            self.float(a),
            SqlExpr::Func("NULLIF", vec![d, SqlExpr::Int(0)]),
        )
    }

    /// The label of the local day, ISO week, month, quarter or year of an instant (in `zone`) or
    /// of a date: `2025-01-31`, `2025-W05`, `2025-01`, `2025-Q1`, `2025`.
    pub fn bucket(
        self,
        unit: TimeUnit,
        e: SqlExpr,
        instant: bool,
        zone: Option<SqlExpr>,
    ) -> SqlExpr {
        match self {
            Dialect::Postgres => {
                let format = match unit {
                    TimeUnit::Day => "YYYY-MM-DD",
                    TimeUnit::Week => "IYYY-\"W\"IW",
                    TimeUnit::Month => "YYYY-MM",
                    TimeUnit::Quarter => "YYYY-\"Q\"Q",
                    TimeUnit::Year => "YYYY",
                };
                let local = match (instant, zone) {
                    (true, Some(z)) => SqlExpr::AtTimeZone(b(e), b(z)),
                    _ => e,
                };
                SqlExpr::Func("to_char", vec![local, SqlExpr::Const(format)])
            }
            Dialect::Sqlite => {
                let mut args = vec![SqlExpr::Const(unit.name()), e];
                if instant && let Some(z) = zone {
                    args.push(z);
                }
                SqlExpr::Func("hp_bucket", args)
            }
        }
    }

    /// `to - from` in days: fractional for instants, whole for dates.
    pub fn days_between(self, from: SqlExpr, to: SqlExpr, instant: bool) -> SqlExpr {
        match (self, instant) {
            (Dialect::Postgres, true) => SqlExpr::bin(
                "/",
                SqlExpr::Cast(
                    b(SqlExpr::Epoch(b(SqlExpr::bin("-", to, from)))),
                    "double precision",
                ),
                SqlExpr::Float(86400.0),
            ),
            (Dialect::Postgres, false) => {
                SqlExpr::Cast(b(SqlExpr::bin("-", to, from)), "double precision")
            }
            (Dialect::Sqlite, true) => SqlExpr::bin(
                "/",
                SqlExpr::bin("-", to, from),
                SqlExpr::Float(86_400_000_000.0),
            ),
            (Dialect::Sqlite, false) => SqlExpr::bin(
                "-",
                SqlExpr::Func("julianday", vec![to]),
                SqlExpr::Func("julianday", vec![from]),
            ),
        }
    }

    /// `percentile_cont(fraction)` over `e` (nulls ignored).
    pub fn percentile(self, e: SqlExpr, fraction: SqlExpr) -> SqlExpr {
        match self {
            Dialect::Postgres => SqlExpr::WithinGroup {
                func: "percentile_cont",
                fraction: b(fraction),
                order: b(e),
            },
            Dialect::Sqlite => SqlExpr::Func("hp_percentile", vec![e, fraction]),
        }
    }

    /// A custom field's value from the `custom_fields` JSON column, typed.
    pub fn custom_field(self, column: SqlExpr, key: SqlExpr, ty: &Type) -> SqlExpr {
        match self {
            Dialect::Postgres => {
                if let Type::Multi(_) = ty {
                    return SqlExpr::bin("->", column, key);
                }
                let text = SqlExpr::bin("->>", column, key);
                match ty {
                    Type::Number => SqlExpr::Cast(b(text), "double precision"),
                    Type::Bool => SqlExpr::Cast(b(text), "boolean"),
                    Type::Date => SqlExpr::Cast(b(text), "date"),
                    _ => text,
                }
            }
            Dialect::Sqlite => {
                let path = SqlExpr::bin(
                    "||",
                    SqlExpr::Const("$."),
                    SqlExpr::Func("json_quote", vec![key]),
                );
                SqlExpr::Func("json_extract", vec![column, path])
            }
        }
    }

    /// Whether the JSON array `list` holds `value`.
    pub fn list_contains(self, list: SqlExpr, value: SqlExpr) -> SqlExpr {
        match self {
            Dialect::Postgres => SqlExpr::bin("?", list, value),
            // `json_each(NULL)` is empty: a missing list must give null, not false.
            Dialect::Sqlite => SqlExpr::Case {
                whens: vec![(SqlExpr::IsNull(b(list.clone()), false), SqlExpr::Null)],
                otherwise: Some(b(SqlExpr::Exists(Box::new(crate::sql::Select {
                    columns: vec![(SqlExpr::Int(1), "hit".into())],
                    from: Some((
                        crate::sql::TableSource::Function("json_each", vec![list]),
                        "item".into(),
                    )),
                    filter: Some(SqlExpr::eq(
                        SqlExpr::Ref("item".into(), "value".into()),
                        value,
                    )),
                    ..Default::default()
                })))),
            },
        }
    }

    /// A text lower-cased, the same in both dialects (SQLite's `hp_lower` is the store's).
    fn fold_case(self, e: SqlExpr) -> SqlExpr {
        match self {
            Dialect::Postgres => SqlExpr::Func("lower", vec![e]),
            Dialect::Sqlite => SqlExpr::Func("hp_lower", vec![e]),
        }
    }

    /// Two texts equal regardless of case (an email compared with `=`).
    pub fn text_equal_folded(self, left: SqlExpr, right: SqlExpr) -> SqlExpr {
        SqlExpr::eq(self.fold_case(left), self.fold_case(right))
    }

    /// Case-insensitive text matching.
    pub fn text_match(self, op: TextOp, text: SqlExpr, pattern: SqlExpr) -> SqlExpr {
        let lower = |e: SqlExpr| self.fold_case(e);
        let (t, p) = (lower(text), lower(pattern));
        let len = |e: SqlExpr| match self {
            Dialect::Postgres => SqlExpr::Func("char_length", vec![e]),
            Dialect::Sqlite => SqlExpr::Func("length", vec![e]),
        };
        match op {
            TextOp::Contains => {
                let f = if self == Dialect::Postgres {
                    "strpos"
                } else {
                    "instr"
                };
                SqlExpr::bin(">", SqlExpr::Func(f, vec![t, p]), SqlExpr::Int(0))
            }
            TextOp::StartsWith => SqlExpr::eq(
                SqlExpr::Func("substr", vec![t, SqlExpr::Int(1), len(p.clone())]),
                p,
            ),
            TextOp::EndsWith => {
                // substr(t, length(t) - length(p) + 1) works the same in both dialects.
                let start = SqlExpr::bin(
                    "+",
                    SqlExpr::bin("-", len(t.clone()), len(p.clone())),
                    SqlExpr::Int(1),
                );
                let tail = SqlExpr::Func(
                    "substr",
                    vec![
                        t.clone(),
                        SqlExpr::Func(
                            if self == Dialect::Postgres {
                                "GREATEST"
                            } else {
                                "MAX"
                            },
                            vec![start, SqlExpr::Int(1)],
                        ),
                    ],
                );
                SqlExpr::and(
                    SqlExpr::bin(">=", len(t), len(p.clone())),
                    SqlExpr::eq(tail, p),
                )
            }
        }
    }

    /// Rounded to `digits` decimals, half away from zero in both dialects.
    /// A candidate's record key for the perturbation of reports over demographics: the `n`th
    /// of two independent hashes of its id, a whole number in `[0, 2^31)` (so that the sum
    /// over a million candidates fits a 64-bit integer). PostgreSQL's `hashtextextended`
    /// seeded by `n`; SQLite's `hp_record_key` (the store's). Not secret: the org's secret is
    /// applied to the cell key's sums after (`crate::demographics`).
    pub fn record_key(self, id: SqlExpr, n: u8) -> SqlExpr {
        match self {
            Dialect::Postgres => SqlExpr::bin(
                "&",
                SqlExpr::Func("hashtextextended", vec![id, SqlExpr::Int(i64::from(n))]),
                SqlExpr::Int(0x7fff_ffff),
            ),
            Dialect::Sqlite => SqlExpr::Func("hp_record_key", vec![id, SqlExpr::Int(i64::from(n))]),
        }
    }

    pub fn round(self, e: SqlExpr, digits: i64) -> SqlExpr {
        match self {
            Dialect::Postgres => SqlExpr::Cast(
                b(SqlExpr::Func(
                    "round",
                    vec![SqlExpr::Cast(b(e), "numeric"), SqlExpr::Int(digits)],
                )),
                "double precision",
            ),
            // SQLite's round() rounds the binary value; hp_round rounds the 15-digit decimal,
            // as PostgreSQL's float8 -> numeric does.
            Dialect::Sqlite => SqlExpr::Func("hp_round", vec![e, SqlExpr::Int(digits)]),
        }
    }

    /// Whether a page may be driven from the sets of its filter (`Lower::page_driver`): a
    /// `LATERAL` subquery per member of a set. PostgreSQL; SQLite has no `LATERAL` (and probes
    /// a page's sets per row anyway).
    pub fn drives_pages_from_sets(self) -> bool {
        matches!(self, Dialect::Postgres)
    }

    /// A sort key that orders text alike in both dialects (by code point).
    pub fn sort_key(self, e: SqlExpr, text: bool) -> SqlExpr {
        match (self, text) {
            (Dialect::Postgres, true) => SqlExpr::CollateC(b(e)),
            _ => e,
        }
    }

    /// A NULL of the type family of `ty`, for UNION branches (PostgreSQL types an untyped NULL
    /// as text when two branches hold one).
    pub fn typed_null(self, ty: &Type) -> SqlExpr {
        match self {
            Dialect::Sqlite => SqlExpr::Null,
            Dialect::Postgres => SqlExpr::Cast(
                b(SqlExpr::Null),
                match ty {
                    Type::Integer | Type::Number => "numeric",
                    Type::Instant => "timestamptz",
                    Type::Date => "date",
                    Type::Bool => "boolean",
                    _ => "text",
                },
            ),
        }
    }

    /// Equality that treats two nulls as equal (joining grains on group keys).
    pub fn null_safe_eq(self, a: SqlExpr, b: SqlExpr) -> SqlExpr {
        match self {
            Dialect::Postgres => SqlExpr::bin("IS NOT DISTINCT FROM", a, b),
            Dialect::Sqlite => SqlExpr::bin("IS", a, b),
        }
    }

    /// A result column in a form both dialects return alike: instants as UTC microseconds,
    /// dates as `YYYY-MM-DD` text, integers as 64-bit, numbers as doubles.
    pub fn output(self, e: SqlExpr, ty: &Type) -> SqlExpr {
        match (self, ty) {
            (Dialect::Postgres, Type::Instant) => SqlExpr::Cast(
                b(SqlExpr::bin(
                    "*",
                    SqlExpr::Epoch(b(e)),
                    SqlExpr::Int(1_000_000),
                )),
                "bigint",
            ),
            (Dialect::Postgres, Type::Date) => {
                SqlExpr::Func("to_char", vec![e, SqlExpr::Const("YYYY-MM-DD")])
            }
            (Dialect::Postgres, Type::Integer) => SqlExpr::Cast(b(e), "bigint"),
            (Dialect::Postgres, Type::Number) => SqlExpr::Cast(b(e), "double precision"),
            (Dialect::Postgres, Type::Multi(_) | Type::Map) => SqlExpr::Cast(b(e), "text"),
            (Dialect::Sqlite, Type::Number) => SqlExpr::Cast(b(e), "REAL"),
            _ => e,
        }
    }
}
