//! Property tests: any text at all is handled without panicking and quickly, and every tree the
//! language can express prints as text that parses back to that tree.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use query_syntax::*;

/// Parses, and when that succeeds checks that printing and parsing again gives the same tree.
fn parse_is_sound(text: &str) {
    let start = Instant::now();
    let result = parse(text);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "parsing took {:?}",
        start.elapsed()
    );
    if let Ok(report) = result {
        let printed = report.to_string();
        let again =
            parse(&printed).unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}: {e}"));
        assert_eq!(
            again.without_spans(),
            report.without_spans(),
            "{text:?} printed as {printed:?}"
        );
        assert_json_round_trip(&report);
    }
}

/// `report` survives `to_json` then `from_json`. Floats may come back a unit in the last place
/// off: the workspace's serde_json does not enable its exact `float_roundtrip` parsing.
fn assert_json_round_trip(report: &Report) {
    let json = to_json(report);
    let back = from_json(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    let value = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    assert!(
        json_equivalent(&value(&json), &value(&to_json(&back))),
        "{json}\ncame back as\n{back:?}"
    );
    let mut back = back;
    back.strip_spans();
    if !json.contains('.') {
        assert_eq!(back, report.without_spans());
    }
}

fn json_equivalent(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            (x - y).abs() <= 1e-14 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equivalent(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equivalent(v, w)))
        }
        _ => a == b,
    }
}

const FRAGMENTS: &[&str] = &[
    "report",
    "applications",
    "where",
    "group",
    "by",
    "show",
    "having",
    "order",
    "limit",
    "funnel",
    "as",
    "asc",
    "desc",
    "and",
    "or",
    "not",
    "in",
    "between",
    "is",
    "null",
    "true",
    "false",
    "contains",
    "starts",
    "ends",
    "with",
    "last",
    "this",
    "previous",
    "distinct",
    "day",
    "days",
    "month",
    "quarters",
    "year",
    "x",
    "status",
    "job",
    ".",
    ",",
    "(",
    ")",
    "(",
    ")",
    "+",
    "-",
    "*",
    "/",
    "=",
    "==",
    "!=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "0",
    "1",
    "90",
    "1.5",
    "2025-01-01",
    "2024-02-29",
    "2025-02-30",
    "\"hired\"",
    "'it\\'s'",
    "\"unterminated",
    "# comment\n",
    "count",
    "f",
    "9223372036854775808",
    "!",
    "@",
    "é",
    "`by`",
    "`",
    "`1x`",
    "\n",
    "\\",
];

fn token_soup() -> impl Strategy<Value = String> {
    let token = prop::sample::select(FRAGMENTS);
    let separator = prop_oneof![Just(" "), Just(""), Just("\n")];
    (
        any::<bool>(),
        prop::collection::vec((token, separator), 0..60),
    )
        .prop_map(|(prefix, tokens)| {
            let mut text = if prefix {
                "report applications ".to_string()
            } else {
                String::new()
            };
            for (token, separator) in tokens {
                text.push_str(token);
                text.push_str(separator);
            }
            text
        })
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,7}".prop_filter("keywords are not names", |n| !is_keyword(n))
}

fn ident() -> impl Strategy<Value = Ident> {
    name().prop_map(|n| Ident::new(n, Span::default()))
}

/// A path segment after a `.`, the start of a path, an alias or a subject: any word, keywords
/// included (text writes those in backticks where a keyword could stand).
fn segment() -> impl Strategy<Value = Ident> {
    prop_oneof![
        name(),
        prop::sample::select(KEYWORDS).prop_map(str::to_string)
    ]
    .prop_map(|n| Ident::new(n, Span::default()))
}

fn literal() -> impl Strategy<Value = Literal> {
    // Any character but NUL, which a string may not hold (the lexer refuses it, with its
    // place: no database keeps it the same way).
    let text = prop::collection::vec(
        prop_oneof![
            any::<char>().prop_filter("NUL", |c| *c != '\0'),
            Just('"'),
            Just('\''),
            Just('\\'),
            Just('\n'),
            Just('\t')
        ],
        0..8,
    )
    .prop_map(|chars| chars.into_iter().collect::<String>());
    let date =
        (1..=9999u32, 1..=12u32, 1..=28u32).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"));
    let timestamp = (
        (1..=9999u32, 1..=12u32, 1..=28u32),
        (0..24u32, 0..60u32),
        prop::option::of((0..60u32, prop::option::of(1..=999_999u32))),
        prop_oneof![
            Just(String::new()),
            Just("Z".to_string()),
            (any::<bool>(), 0..24u32, 0..60u32)
                .prop_map(|(plus, h, m)| format!("{}{h:02}:{m:02}", if plus { '+' } else { '-' })),
        ],
    )
        .prop_map(|((y, mo, d), (h, mi), seconds, offset)| {
            let seconds = match seconds {
                None => String::new(),
                Some((s, None)) => format!(":{s:02}"),
                Some((s, Some(f))) => format!(":{s:02}.{f}"),
            };
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}{seconds}{offset}")
        });
    prop_oneof![
        Just(Literal::Null),
        any::<bool>().prop_map(Literal::Bool),
        (0..=i64::MAX).prop_map(Literal::Integer),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| Literal::Float(x.abs())),
        (0..1000u32, 0..100u32)
            .prop_map(|(a, b)| Literal::Float(f64::from(a) + f64::from(b) / 100.0)),
        text.prop_map(Literal::String),
        date.prop_map(Literal::Date),
        timestamp.prop_map(Literal::Timestamp),
        Just(Literal::Today),
    ]
}

fn expr_of(kind: ExprKind) -> Expr {
    Expr::new(kind, Span::default())
}

fn boxed(expr: Expr) -> Box<Expr> {
    Box::new(expr)
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        literal().prop_map(|value| expr_of(ExprKind::Literal { value })),
        (segment(), prop::collection::vec(segment(), 0..3)).prop_map(|(first, rest)| {
            let mut path = vec![first];
            path.extend(rest);
            expr_of(ExprKind::Path { path })
        }),
    ];
    leaf.prop_recursive(4, 40, 4, |inner| {
        let binary_op = prop::sample::select(vec![
            BinaryOp::Or,
            BinaryOp::And,
            BinaryOp::Eq,
            BinaryOp::NotEq,
            BinaryOp::Lt,
            BinaryOp::LtEq,
            BinaryOp::Gt,
            BinaryOp::GtEq,
            BinaryOp::Add,
            BinaryOp::Sub,
            BinaryOp::Mul,
            BinaryOp::Div,
        ]);
        let text_op =
            prop::sample::select(vec![TextOp::Contains, TextOp::StartsWith, TextOp::EndsWith]);
        let unit = prop::sample::select(vec![
            TimeUnit::Day,
            TimeUnit::Week,
            TimeUnit::Month,
            TimeUnit::Quarter,
            TimeUnit::Year,
        ]);
        let range = prop_oneof![
            (1..=u32::MAX, unit.clone()).prop_map(|(count, unit)| RelativeRange {
                which: RangeKind::Last,
                count,
                unit
            }),
            (1..=u32::MAX, unit.clone()).prop_map(|(count, unit)| RelativeRange {
                which: RangeKind::Next,
                count,
                unit
            }),
            unit.clone().prop_map(|unit| RelativeRange {
                which: RangeKind::This,
                count: 1,
                unit
            }),
            unit.prop_map(|unit| RelativeRange {
                which: RangeKind::Previous,
                count: 1,
                unit
            }),
        ];
        let list = prop::collection::vec(inner.clone(), 1..4);
        prop_oneof![
            (
                ident(),
                any::<bool>(),
                prop::collection::vec(inner.clone(), 0..3),
                prop::option::of(inner.clone())
            )
                .prop_map(|(function, distinct, args, filter)| expr_of(
                    ExprKind::Call {
                        function,
                        distinct,
                        args,
                        filter: filter.map(boxed),
                    }
                )),
            (any::<bool>(), inner.clone()).prop_map(|(not, expr)| expr_of(ExprKind::Unary {
                op: if not { UnaryOp::Not } else { UnaryOp::Neg },
                expr: boxed(expr),
            })),
            (binary_op, inner.clone(), inner.clone()).prop_map(|(op, left, right)| expr_of(
                ExprKind::Binary {
                    op,
                    left: boxed(left),
                    right: boxed(right),
                }
            )),
            (inner.clone(), list, any::<bool>()).prop_map(|(expr, list, negated)| expr_of(
                ExprKind::In {
                    expr: boxed(expr),
                    list,
                    negated,
                }
            )),
            (inner.clone(), inner.clone(), inner.clone(), any::<bool>()).prop_map(
                |(expr, low, high, negated)| {
                    expr_of(ExprKind::Between {
                        expr: boxed(expr),
                        low: boxed(low),
                        high: boxed(high),
                        negated,
                    })
                }
            ),
            (inner.clone(), any::<bool>()).prop_map(|(expr, negated)| expr_of(ExprKind::IsNull {
                expr: boxed(expr),
                negated
            })),
            (text_op, inner.clone(), inner.clone(), any::<bool>()).prop_map(
                |(op, expr, pattern, negated)| {
                    expr_of(ExprKind::Text {
                        op,
                        expr: boxed(expr),
                        pattern: boxed(pattern),
                        negated,
                    })
                }
            ),
            (inner, range, any::<bool>()).prop_map(|(expr, range, negated)| expr_of(
                ExprKind::Within {
                    expr: boxed(expr),
                    range,
                    negated,
                }
            )),
        ]
    })
}

fn item() -> impl Strategy<Value = Item> {
    (expr(), prop::option::of(segment())).prop_map(|(expr, alias)| Item { expr, alias })
}

fn report() -> impl Strategy<Value = Report> {
    let exprs = || prop::collection::vec(expr(), 0..3);
    let items = || prop::collection::vec(item(), 0..3);
    let order = prop::collection::vec((expr(), any::<bool>()), 0..3).prop_map(|v| {
        v.into_iter()
            .map(|(expr, descending)| OrderItem { expr, descending })
            .collect()
    });
    let limit = prop::option::of((0..=i64::MAX as u64).prop_map(|rows| Limit {
        rows,
        span: Span::default(),
    }));
    let funnel = prop::option::of(
        prop::collection::vec(expr(), 1..4).prop_map(|stages| Funnel {
            stages,
            span: Span::default(),
        }),
    );
    let zone = prop::option::of(
        prop::sample::select(vec![
            "UTC",
            "Europe/Berlin",
            "Etc/GMT+5",
            "America/Port-au-Prince",
        ])
        .prop_map(|z| Zone::new(z, Span::default())),
    );
    (
        (segment(), zone),
        exprs(),
        items(),
        items(),
        exprs(),
        order,
        limit,
        funnel,
    )
        .prop_map(
            |((subject, zone), filters, group_by, show, having, order_by, limit, funnel)| Report {
                subject,
                zone,
                filters,
                group_by,
                show,
                having,
                order_by,
                limit,
                funnel,
                span: Span::default(),
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_handled(text in any::<String>()) {
        parse_is_sound(&text);
        parse_is_sound(&format!("report r where {text}"));
    }

    #[test]
    fn token_soups_are_handled(text in token_soup()) {
        parse_is_sound(&text);
    }

    #[test]
    fn generated_trees_print_and_parse_back(report in report()) {
        let printed = report.to_string();
        let parsed = parse(&printed).map_err(|e| TestCaseError::fail(e.render(&printed, "<printed>")))?;
        prop_assert_eq!(parsed.without_spans(), report.clone(), "printed as\n{}", printed);
        assert_json_round_trip(&report);
    }
}

#[test]
fn pathological_inputs_are_quick() {
    for text in [
        "(".repeat(1_000_000),
        "report r where ".to_string() + &"(".repeat(1_000_000),
        "report r where ".to_string() + &"not ".repeat(250_000),
        "report r where ".to_string() + &"-".repeat(1_000_000),
        "report r where x".to_string() + &" + x".repeat(250_000),
        "report r where ".to_string() + &"f(".repeat(500_000),
        "report r show ".to_string() + &"x, ".repeat(300_000) + "x",
        "report r where x in (".to_string() + &"1, ".repeat(300_000) + "1)",
        "\"".repeat(1_000_000),
        "#".repeat(1_000_000),
    ] {
        parse_is_sound(&text);
    }
}
