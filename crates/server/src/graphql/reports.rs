//! Reports through the API: `report(text | json)` runs one as the caller (the same compiler,
//! filters, masks, suppression and audit as `hireplane report --as`), `explain(text)` tells what
//! the caller's policies add. Every read of the API ends in [`run`].

use async_graphql::ErrorExtensions;
use async_graphql::dynamic::{Field, FieldFuture, FieldValue, InputValue, Object, Type, TypeRef};

use super::{Code, RequestCtx, error, internal, json_value};

/// What kind of run, for the metrics: a report asked for, or a read of the API.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Report,
    Read,
}

/// Runs `report` as the caller; `source` is its text, for error locations.
pub async fn run(
    rc: &RequestCtx,
    report: query_syntax::Report,
    source: &str,
) -> async_graphql::Result<app::ReportRun> {
    run_kind(rc, report, source, Kind::Read).await
}

pub async fn run_kind(
    rc: &RequestCtx,
    report: query_syntax::Report,
    source: &str,
    kind: Kind,
) -> async_graphql::Result<app::ReportRun> {
    run_source(
        rc,
        Source::Report(Box::new(report)),
        &|| source.to_owned(),
        kind,
    )
    .await
}

/// A page of a list as the caller: its report's text, `page` written with the cursor's
/// literals `holes`, compiled once per shape (`app::Services::run_page_as`).
pub async fn run_page(
    rc: &RequestCtx,
    page: super::read::PageText,
    holes: Vec<query_compiler::Fill>,
) -> async_graphql::Result<app::ReportRun> {
    // Shared with the database worker, so that the text (for an error's location only) is
    // written when an error comes, without copying the page on every request.
    let page = std::sync::Arc::new((page, holes));
    let shared = page.clone();
    run_source(
        rc,
        Source::Page(page),
        &|| shared.0.render(&shared.1),
        Kind::Read,
    )
    .await
}

/// What a run reads: a report, or a page of a list (its text and the cursor's literals).
enum Source {
    Report(Box<query_syntax::Report>),
    Page(std::sync::Arc<(super::read::PageText, Vec<query_compiler::Fill>)>),
}

async fn run_source(
    rc: &RequestCtx,
    what: Source,
    source: &(dyn Fn() -> String + Sync),
    kind: Kind,
) -> async_graphql::Result<app::ReportRun> {
    let services = rc.services.clone();
    let access = rc.caller.access.clone();
    let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
    let outcome = rc
        .db
        .run(move |store| match what {
            Source::Report(report) => services.run_report_as(store, access, &report, None, now),
            Source::Page(page) => {
                services.run_page_as(store, access, &|f| page.0.render(f), &page.1, now)
            }
        })
        .await;
    let record = |outcome: &'static str| {
        if kind == Kind::Report {
            metrics::counter!("hireplane_report_runs_total", "outcome" => outcome).increment(1);
        }
    };
    let run = match outcome {
        Err(e) => {
            record("error");
            return Err(internal("reaching the database", e));
        }
        Ok(Err(e)) => {
            // The caller's mistakes (a report that does not compile, demographics not allowed)
            // are `rejected`, not errors of the service.
            record(match &e {
                app::AppError::Store(s) if is_timeout(s) => "timeout",
                app::AppError::Report(_)
                | app::AppError::Demographics { .. }
                | app::AppError::DemographicsBudget { .. }
                | app::AppError::Store(
                    store::StoreError::TooManyRows { .. }
                    | store::StoreError::TooManyGroups { .. }
                    | store::StoreError::TooManyBytes { .. },
                ) => "rejected",
                _ => "error",
            });
            return Err(app_error(e, &source()));
        }
        Ok(Ok(run)) => run,
    };
    record("ok");
    let label = if kind == Kind::Report {
        "report"
    } else {
        "read"
    };
    metrics::histogram!("hireplane_report_compile_seconds", "kind" => label)
        .record(run.compile_time);
    if kind == Kind::Report {
        metrics::histogram!("hireplane_report_execution_seconds").record(run.execute_time);
    } else {
        metrics::histogram!("hireplane_read_execution_seconds").record(run.execute_time);
    }
    Ok(run)
}

/// Whether the statement timeout stopped the run (the store classifies its errors).
fn is_timeout(e: &store::StoreError) -> bool {
    matches!(e, store::StoreError::Timeout)
}

/// An app error as an API error; report diagnostics located in `source`.
pub fn app_error(e: app::AppError, source: &str) -> async_graphql::Error {
    match e {
        app::AppError::Report(d) => {
            let rendered = d.render(source, "report");
            let (line, column) = d.location(source);
            let message = d.message.clone();
            async_graphql::Error::new(message).extend_with(move |_, ext| {
                ext.set("code", Code::BadUserInput.as_str());
                ext.set("line", line as u64);
                ext.set("column", column as u64);
                ext.set("detail", rendered.as_str());
            })
        }
        e @ app::AppError::Demographics { .. } => error(Code::Forbidden, None, e.to_string()),
        // Spent for today: the caller's to wait for, not the server's fault.
        e @ app::AppError::DemographicsBudget { .. } => {
            error(Code::RateLimited, None, e.to_string())
        }
        app::AppError::Store(s) if is_timeout(&s) => error(
            Code::Timeout,
            None,
            "the query ran longer than the server's statement timeout",
        ),
        // The caller's doing, not the server's: a date range past the calendar (`in last
        // 999999999 days`), a report wider than the database takes. Not `INTERNAL`, which
        // pages the on-call (the availability SLO counts it).
        // A number out of the database's range (`sum(9223372036854775807)`, an overflowing
        // product) is the caller's too.
        app::AppError::Store(
            s @ (store::StoreError::Report(_)
            | store::StoreError::TooLarge(_)
            | store::StoreError::TooManyRows { .. }
            | store::StoreError::TooManyGroups { .. }
            | store::StoreError::TooManyBytes { .. }
            | store::StoreError::BadValue(_)),
        ) => {
            let message = match &s {
                store::StoreError::TooLarge(m) => format!(
                    "the report is larger than the database takes ({m}): ask for fewer columns, \
                     group keys, orderings or aggregates over other entities"
                ),
                store::StoreError::TooManyRows { limit } => format!(
                    "the report returns more than {limit} rows (`limits.max_report_rows`): add a \
                     `limit` or narrow the report"
                ),
                store::StoreError::TooManyGroups { limit } => format!(
                    "the report over demographics has more than {limit} groups \
                     (`limits.max_report_rows`): group by fewer or coarser keys, or filter"
                ),
                store::StoreError::TooManyBytes { limit } => format!(
                    "the reports and lists of this request return more than {limit} bytes \
                     (`limits.max_response_bytes`): show fewer columns or rows, or split the \
                     request"
                ),
                store::StoreError::BadValue(m) => format!(
                    "a number or a date the report computes is out of range ({m}): aggregate \
                     or multiply smaller values"
                ),
                other => other.to_string(),
            };
            error(Code::BadUserInput, None, message)
        }
        other => {
            // The whole chain of causes in the log (`SQLite` alone tells the operator nothing).
            internal("running a report", super::error_chain(&other))
        }
    }
}

pub fn types() -> Vec<Type> {
    let from_json = |name: &'static str, ty: TypeRef| {
        Field::new(name, ty, move |ctx| {
            FieldFuture::new(async move {
                let v = ctx.parent_value.try_downcast_ref::<serde_json::Value>()?;
                Ok(Some(FieldValue::value(json_value(
                    v.get(name).cloned().unwrap_or(serde_json::Value::Null),
                ))))
            })
        })
    };
    let column = Object::new("ReportColumn")
        .description("One column of a report's result")
        .field(
            from_json("name", TypeRef::named_nn(TypeRef::STRING))
                .description("The column's name: its `as` alias, or the expression as written"),
        )
        .field(
            from_json("kind", TypeRef::named_nn(TypeRef::STRING)).description(
                "The type of the column's values (text, integer, number, boolean, instant, date, ...)",
            ),
        );
    let result = Object::new("ReportResult")
        .description("A report's result as the caller sees it")
        .field(Field::new(
            "columns",
            TypeRef::named_nn_list_nn("ReportColumn"),
            |ctx| {
                FieldFuture::new(async move {
                    let v = ctx.parent_value.try_downcast_ref::<serde_json::Value>()?;
                    let cols = v
                        .get("columns")
                        .and_then(|c| c.as_array())
                        .cloned()
                        .unwrap_or_default();
                    Ok(Some(FieldValue::list(
                        cols.into_iter().map(FieldValue::owned_any),
                    )))
                })
            },
        )
        .description("The result's columns, in the order of `show`"))
        .field(
            from_json("rows", TypeRef::named_nn("JSON"))
                .description("One array of values per row, in column order"),
        )
        .field(
            from_json("restrictions", TypeRef::named_nn_list_nn(TypeRef::STRING))
                .description("What the caller's access policy filtered or masked"),
        )
        .field(
            from_json("withheld", TypeRef::named_nn("JSON")).description(
                "A report over demographics: the groups withheld so that no one can be singled out, each an object of its coarse group keys and values (`{}`: the whole report). Decided only on what the caller can count without demographics; cells hidden because their perturbed counts are small are not listed, and how many there were is said nowhere (docs/privacy.md)",
            ),
        )
        .field(
            from_json("sql", TypeRef::named(TypeRef::STRING))
                .description("The SQL (explain only, admins only)"),
        );
    vec![column.into(), result.into()]
}

pub fn fields() -> Vec<Field> {
    let report = Field::new("report", TypeRef::named_nn("ReportResult"), |ctx| {
        let span = super::spans::resolver(&ctx);
        super::spans::traced(span, async move {
            let rc = ctx.data::<RequestCtx>()?;
            let (report, source) = report_arg(&ctx)?;
            let run = run_kind(rc, report, &source, Kind::Report).await?;
            Ok(Some(FieldValue::owned_any(result_json(&run, false))))
        })
    })
    .description("Runs a report as the caller");
    let explain = Field::new("explain", TypeRef::named_nn("ReportResult"), |ctx| {
        let span = super::spans::resolver(&ctx);
        super::spans::traced(span, async move {
            let rc = ctx.data::<RequestCtx>()?;
            let (report, source) = report_arg(&ctx)?;
            let services = rc.services.clone();
            let access = rc.caller.access.clone();
            let org = rc.caller.org().to_owned();
            let compiled = rc
                .db
                .run(move |store| services.compile(store, &org, &access, &report))
                .await
                .map_err(|e| internal("reaching the database", e))?
                .map_err(|e| app_error(e, &source))?;
            let admin = rc.caller.access.viewer.role == "admin";
            let mut v = serde_json::json!({
                "columns": columns_json(&compiled.columns),
                "rows": [],
                "restrictions": restrictions(&compiled),
                "withheld": [],
            });
            if admin {
                v["sql"] = serde_json::Value::String(compiled.sql.clone());
            }
            Ok(Some(FieldValue::owned_any(v)))
        })
    })
    .description("Compiles a report as the caller without running it: its columns and what the caller's policy filters and masks");
    vec![report_arguments(report), report_arguments(explain)]
}

/// The report a field takes: `text`, `json` or `name`, one of the three ([`report_arg`]).
fn report_arguments(field: Field) -> Field {
    field
        .argument(InputValue::new("text", TypeRef::named(TypeRef::STRING)).description(
            "The report in the report language, e.g. `report applications group by status` (give `text`, `json` or `name`)",
        ))
        .argument(
            InputValue::new("json", TypeRef::named("JSON"))
                .description("The report in its JSON form (give `text`, `json` or `name`)"),
        )
        .argument(
            InputValue::new("name", TypeRef::named(TypeRef::STRING))
                .description("A standard report by name (`funnel`, `time-to-hire`, ...)"),
        )
}

fn report_arg(
    ctx: &async_graphql::dynamic::ResolverContext<'_>,
) -> async_graphql::Result<(query_syntax::Report, String)> {
    let text = ctx.args.get("text").filter(|v| !v.is_null());
    let json = ctx.args.get("json").filter(|v| !v.is_null());
    let name = ctx.args.get("name").filter(|v| !v.is_null());
    let text = match (name, &text) {
        (Some(n), None) if json.is_none() => {
            let n = n.string()?;
            let Some(t) = query_compiler::library::get(n) else {
                return Err(error(
                    Code::BadUserInput,
                    Some("name"),
                    format!(
                        "`{n}` is not a standard report; they are: {}",
                        query_compiler::library::STANDARD
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            };
            let report = query_syntax::parse(t)
                .map_err(|d| app_error(app::AppError::Report(Box::new(d)), t))?;
            return Ok((report, t.to_owned()));
        }
        (Some(_), _) => {
            return Err(error(
                Code::BadUserInput,
                Some("name"),
                "give one of `text`, `json` or `name`",
            ));
        }
        (None, _) => text,
    };
    match (text, json) {
        (Some(t), None) => {
            let t = t.string()?.to_owned();
            let report = query_syntax::parse(&t)
                .map_err(|d| app_error(app::AppError::Report(Box::new(d)), &t))?;
            Ok((report, t))
        }
        (None, Some(j)) => {
            let value = j
                .as_value()
                .clone()
                .into_json()
                .map_err(|e| error(Code::BadUserInput, Some("json"), format!("`json`: {e}")))?;
            let t = value.to_string();
            let report = query_syntax::from_json(&t).map_err(|d| {
                error(
                    Code::BadUserInput,
                    Some("json"),
                    format!("`json`: {}", d.message),
                )
            })?;
            Ok((report, t))
        }
        _ => Err(error(
            Code::BadUserInput,
            Some("text"),
            "give the report as `text` or as `json`, not both and not neither",
        )),
    }
}

fn columns_json(columns: &[query_compiler::Column]) -> serde_json::Value {
    columns
        .iter()
        .map(|c| serde_json::json!({"name": c.name, "kind": c.kind}))
        .collect()
}

fn restrictions(compiled: &query_compiler::Compiled) -> Vec<String> {
    compiled
        .guarded
        .iter()
        .map(|g| {
            let name = query_compiler::Entity::get(g.entity).name;
            let what = match g.visibility {
                query_compiler::GuardKind::None => "none visible",
                query_compiler::GuardKind::Rows | query_compiler::GuardKind::Implied => {
                    "some visible"
                }
            };
            match g.group {
                None => format!("{name}: rows filtered ({what})"),
                Some(group) => format!(
                    "{name}: {} masked ({what})",
                    serde_json::to_value(group)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                ),
            }
        })
        .collect()
}

fn result_json(run: &app::ReportRun, with_sql: bool) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = run
        .rows
        .rows
        .iter()
        .map(|r| r.iter().map(query_compiler::Value::to_json).collect())
        .collect();
    let withheld: Vec<serde_json::Value> = run
        .withheld
        .iter()
        .map(|group| {
            group
                .iter()
                .map(|(name, value)| (name.clone(), value.to_json()))
                .collect::<serde_json::Map<_, _>>()
                .into()
        })
        .collect();
    let mut v = serde_json::json!({
        "columns": columns_json(&run.compiled.columns),
        "rows": rows,
        "restrictions": restrictions(&run.compiled),
        "withheld": withheld,
    });
    if with_sql {
        v["sql"] = serde_json::Value::String(run.compiled.sql.clone());
    }
    v
}
