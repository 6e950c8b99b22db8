//! `hireplane report` and `hireplane explain`: run a report (text, JSON form, file or standard
//! name) against the store and print it; or show every stage of its compilation with timings.

use anyhow::{Context, Result, bail};
use query_compiler::{Column, Dialect, Value, library};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;
use store::{ReportRows, Store};
use unicode_width::UnicodeWidthStr;

/// Where the report comes from: exactly one of these.
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
pub struct ReportSource {
    /// The report's text (or its JSON form)
    pub text: Option<String>,
    /// Read the report from a file
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Run a standard report by name (`hireplane report --list` shows them)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// List the standard reports
    #[arg(long)]
    pub list: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// The report's text and what to call it in messages.
struct Loaded {
    text: String,
    origin: String,
}

impl Loaded {
    fn is_json(&self) -> bool {
        self.text.trim_start().starts_with('{')
    }

    /// The source to show under diagnostics: none for the JSON form (its spans are empty).
    fn shown(&self) -> &str {
        if self.is_json() { "" } else { &self.text }
    }
}

fn load(source: &ReportSource) -> Result<Loaded> {
    if let Some(name) = &source.name {
        let Some(text) = library::get(name) else {
            let names: Vec<&str> = library::STANDARD
                .iter()
                .chain(library::DEMOGRAPHIC)
                .map(|(n, _)| *n)
                .collect();
            let hint = query_syntax::closest(name, names.iter().copied())
                .map(|n| format!("did you mean `{n}`? "))
                .unwrap_or_default();
            bail!(
                "no standard report named `{name}`; {hint}the standard reports are: {}",
                names.join(", ")
            );
        };
        return Ok(Loaded {
            text: text.to_owned(),
            origin: format!("reports/{name}.report"),
        });
    }
    if let Some(file) = &source.file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read `{}`", file.display()))?;
        return Ok(Loaded {
            text,
            origin: file.display().to_string(),
        });
    }
    match &source.text {
        Some(text) => Ok(Loaded {
            text: text.clone(),
            origin: "<report>".into(),
        }),
        None => bail!("give the report as text, with --file, or with --name"),
    }
}

/// A diagnostic as an error: `main` prints `error: ` before it, so the rendering's own is dropped.
pub fn diagnostic(d: &query_syntax::Diagnostic, text: &str, origin: &str) -> anyhow::Error {
    let rendered = d.render(text, origin);
    let rendered = rendered.strip_prefix("error: ").unwrap_or(&rendered);
    anyhow::anyhow!("{}", rendered.trim_end())
}

fn parse(loaded: &Loaded) -> Result<query_syntax::Report> {
    let parsed = if loaded.is_json() {
        query_syntax::from_json(&loaded.text)
    } else {
        query_syntax::parse(&loaded.text)
    };
    parsed.map_err(|d| diagnostic(&d, loaded.shown(), &loaded.origin))
}

pub fn list() -> Result<()> {
    let width = library::STANDARD
        .iter()
        .chain(library::DEMOGRAPHIC)
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(0);
    for (name, text) in library::STANDARD.iter().chain(library::DEMOGRAPHIC) {
        writeln!(
            std::io::stdout().lock(),
            "{name:width$}  {}",
            library::summary(text)
        )?;
    }
    Ok(())
}

/// The org to report on: the one given, or the only one in the store.
pub fn pick_org(store: &mut Store, org: Option<String>) -> Result<String> {
    if let Some(org) = org {
        return Ok(org);
    }
    let orgs = store.orgs()?;
    match orgs.as_slice() {
        [(id, _)] => Ok(id.clone()),
        [] => bail!(
            "the store has no orgs: import one first (`hireplane import DIR`), or try `hireplane demo`"
        ),
        many => bail!(
            "the store holds {} orgs; choose one with --org: {}",
            many.len(),
            many.iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The zone a report's `today` is in: its own (`in zone`) when the zone exists, else the org's
/// (an unknown zone is then refused by the compiler, with its span).
fn report_zone<'a>(report: &'a query_syntax::Report, org_zone: &'a str) -> &'a str {
    match &report.zone {
        Some(z) if jiff::tz::TimeZone::get(&z.name).is_ok() => &z.name,
        _ => org_zone,
    }
}

/// `--today`, else today's date in `zone` (the report's).
fn today(zone: &str, given: Option<&str>) -> Result<jiff::civil::Date> {
    if let Some(d) = given {
        return d
            .parse()
            .with_context(|| format!("--today `{d}`: expected a date such as 2025-06-30"));
    }
    let tz = jiff::tz::TimeZone::get(zone).with_context(|| format!("the time zone `{zone}`"))?;
    Ok(jiff::Timestamp::now().to_zoned_datetime(tz).date())
}

pub fn dialect(store: &Store) -> Dialect {
    match store.dialect() {
        store::Dialect::Sqlite => Dialect::Sqlite,
        store::Dialect::Postgres => Dialect::Postgres,
    }
}

/// The user a report runs as: `--as` (or `HIREPLANE_AS`); without it, an error that names a
/// few users per role.
pub fn viewer_id(store: &mut Store, org: &str, as_user: Option<String>) -> Result<String> {
    if let Some(user) = as_user {
        return Ok(user);
    }
    let users = store.active_users(org).unwrap_or_default();
    let mut examples = Vec::new();
    for role in ["admin", "recruiter", "hiring_manager", "interviewer"] {
        if let Some(u) = users.iter().find(|u| u.role == role) {
            examples.push(format!("{} ({role}, {})", u.id, u.name));
        }
    }
    let hint = if examples.is_empty() {
        String::new()
    } else {
        format!("; users of org `{org}`: {}", examples.join(", "))
    };
    bail!(
        "a report runs as a user, whose access policy decides what it shows: give --as USER_ID (or set HIREPLANE_AS){hint}"
    )
}

/// An app error as a CLI error: report diagnostics rendered under the report's text.
fn app_error(e: app::AppError, loaded: &Loaded) -> anyhow::Error {
    match e {
        app::AppError::Report(d) => diagnostic(&d, loaded.shown(), &loaded.origin),
        other => anyhow::Error::new(other),
    }
}

pub fn run(
    store: &mut Store,
    org: Option<String>,
    as_user: Option<String>,
    source: &ReportSource,
    format: Format,
    today_arg: Option<&str>,
) -> Result<()> {
    let loaded = load(source)?;
    let report = parse(&loaded)?;
    let org = pick_org(store, org)?;
    let user = viewer_id(store, &org, as_user)?;
    let catalog = store
        .catalog(&org)
        .with_context(|| format!("cannot read the catalog of org `{org}`"))?;
    let today = today(report_zone(&report, &catalog.time_zone), today_arg)?;
    let services = app::Services::new();
    let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
    let run = services
        .run_report(store, &org, &user, &report, today, now)
        .map_err(|e| app_error(e, &loaded))
        .with_context(|| format!("cannot run {} as `{user}`", loaded.origin))?;
    print(&run.rows, format)?;
    if !run.withheld.is_empty() {
        eprintln!("{}", withheld_note(&run.withheld));
    }
    if !run.compiled.guarded.is_empty() {
        eprintln!("{}", restrictions_note(&run.access, &run.compiled));
    }
    Ok(())
}

/// One line on the groups of a report over demographics withheld so that no one can be
/// singled out (docs/privacy.md), for stderr.
fn withheld_note(withheld: &[Vec<(String, query_compiler::Value)>]) -> String {
    let groups: Vec<String> = withheld
        .iter()
        .map(|group| {
            if group.is_empty() {
                return "the whole report".to_owned();
            }
            group
                .iter()
                .map(|(name, value)| format!("{name} = {}", value.to_json()))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    const SHOWN: usize = 10;
    let more = match groups.len().saturating_sub(SHOWN) {
        0 => String::new(),
        n => format!("; and {n} more"),
    };
    format!(
        "note: withheld so that no one can be singled out (docs/privacy.md): {}{more}",
        groups[..groups.len().min(SHOWN)].join("; ")
    )
}

/// One line on what the viewer's policies hid, for stderr.
fn restrictions_note(access: &app::Access, compiled: &query_compiler::Compiled) -> String {
    let mut filtered = Vec::new();
    let mut masked = Vec::new();
    for g in &compiled.guarded {
        let name = query_compiler::Entity::get(g.entity).name;
        let what = match g.visibility {
            query_compiler::GuardKind::None => "none",
            query_compiler::GuardKind::Rows | query_compiler::GuardKind::Implied => "some",
        };
        match g.group {
            None => filtered.push(format!("{name} ({what} visible)")),
            Some(group) => masked.push(format!("{} of {name} ({what} visible)", group_name(group))),
        }
    }
    let mut parts = Vec::new();
    if !filtered.is_empty() {
        parts.push(format!("rows of {}", filtered.join(", ")));
    }
    if !masked.is_empty() {
        parts.push(format!("fields: {}", masked.join(", ")));
    }
    format!(
        "note: as `{}` ({}, {}), the policy restricted {}; `explain --as {}` shows the filters",
        access.viewer.user,
        access.viewer.role,
        access.policies.source(),
        parts.join("; "),
        access.viewer.user
    )
}

pub fn group_name(group: query_compiler::catalog::FieldGroup) -> &'static str {
    use query_compiler::catalog::FieldGroup;
    match group {
        FieldGroup::Plain => "plain",
        FieldGroup::Compensation => "compensation",
        FieldGroup::ContactDetails => "contact details",
        FieldGroup::Demographics => "demographics",
        FieldGroup::SensitiveCustom => "sensitive custom fields",
        FieldGroup::Details => "details",
        FieldGroup::StageHistory => "stage history",
    }
}

pub fn print(rows: &ReportRows, format: Format) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Table => out.write_all(table(&rows.columns, &rows.rows).as_bytes())?,
        Format::Json => {
            let list: Vec<serde_json::Value> = rows
                .rows
                .iter()
                .map(|r| {
                    serde_json::Value::Object(
                        rows.columns
                            .iter()
                            .zip(r)
                            .map(|(c, v)| (c.name.clone(), v.to_json()))
                            .collect(),
                    )
                })
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
        }
        Format::Csv => {
            let header: Vec<String> = rows.columns.iter().map(|c| csv_field(&c.name)).collect();
            writeln!(out, "{}", header.join(","))?;
            for r in &rows.rows {
                let fields: Vec<String> = r.iter().map(|v| csv_field(&v.to_string())).collect();
                writeln!(out, "{}", fields.join(","))?;
            }
        }
    }
    Ok(())
}

/// RFC 4180: quote a field holding a comma, quote or line break, doubling its quotes.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// An aligned text table; numbers right-aligned.
pub fn table(columns: &[Column], rows: &[Vec<Value>]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|v| v.to_string()).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].width())
                .chain([c.name.width()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let numeric: Vec<bool> = columns
        .iter()
        .map(|c| {
            matches!(
                c.kind,
                query_compiler::ValueKind::Integer | query_compiler::ValueKind::Number
            )
        })
        .collect();
    let mut out = String::new();
    let line = |out: &mut String, values: &[String]| {
        let parts: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if numeric[i] {
                    format!("{}{v}", " ".repeat(widths[i].saturating_sub(v.width())))
                } else {
                    format!("{v}{}", " ".repeat(widths[i].saturating_sub(v.width())))
                }
            })
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(
        &mut out,
        &columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
    );
    line(
        &mut out,
        &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
    );
    for r in &cells {
        line(&mut out, r);
    }
    out.push_str(&format!(
        "({} row{})\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    ));
    out
}

/// The viewer, the policies in force, and what they add to this statement: per entity and
/// field group the statement reads, the outcome and the deciding or residual policies.
fn explain_policy(
    out: &mut dyn Write,
    access: &app::Access,
    guarded: &[query_compiler::Guarded],
) -> Result<()> {
    writeln!(
        out,
        "== policy (as `{}`, {}, {}; {} policies in force)",
        access.viewer.user,
        access.viewer.role,
        access.policies.source(),
        access.policies.ids().len()
    )?;
    if guarded.is_empty() {
        writeln!(
            out,
            "no filter or mask: the viewer sees every row and field this report reads\n"
        )?;
        return Ok(());
    }
    for g in guarded {
        let name = query_compiler::Entity::get(g.entity).name;
        let what = match g.group {
            None => format!("rows of {name}"),
            Some(group) => format!("{} of {name}", group_name(group)),
        };
        let outcome = match g.visibility {
            query_compiler::GuardKind::None => "none visible",
            query_compiler::GuardKind::Rows => "filtered",
            query_compiler::GuardKind::Implied => {
                "filtered by the rows that reach them (each reaches only visible ones)"
            }
        };
        writeln!(out, "{what}: {outcome}")?;
        if let Some(note) = access
            .guard
            .notes()
            .iter()
            .find(|n| n.entity == g.entity && n.group == g.group)
        {
            writeln!(out, "  action `{}`", note.action)?;
            if note.residuals.is_empty() {
                let by = if note.policies.is_empty() {
                    "no policy permits it".to_owned()
                } else {
                    format!("decided by {}", note.policies.join(", "))
                };
                writeln!(out, "  {by}")?;
            }
            for r in &note.residuals {
                writeln!(out, "  {r}")?;
            }
        }
    }
    writeln!(out)?;
    Ok(())
}

/// Prints each stage: the source, AST (JSON form), IR, SQL with parameters, the database's plan,
/// and the time of each stage.
pub fn explain(
    store: &mut Store,
    org: Option<String>,
    as_user: Option<String>,
    source: &ReportSource,
    today_arg: Option<&str>,
) -> Result<()> {
    let loaded = load(source)?;
    let mut out = std::io::stdout().lock();
    let render = |d: query_syntax::Diagnostic| diagnostic(&d, loaded.shown(), &loaded.origin);
    let t = Instant::now();
    let report = parse(&loaded)?;
    let parse_time = t.elapsed();
    let org = pick_org(store, org)?;
    let user = viewer_id(store, &org, as_user)?;
    let t = Instant::now();
    let services = app::Services::new();
    let access = services
        .access(store, &org, &user)
        .with_context(|| format!("cannot load the access of `{user}`"))?;
    let policy_time = t.elapsed();
    let t = Instant::now();
    let catalog = store
        .catalog(&org)
        .with_context(|| format!("cannot read the catalog of org `{org}`"))?;
    let catalog_time = t.elapsed();
    let t = Instant::now();
    let ir = query_compiler::resolve(&report, &catalog).map_err(render)?;
    let resolve_time = t.elapsed();
    let d = dialect(store);
    let t = Instant::now();
    let (select, params, guarded) = query_compiler::lower_guarded(&ir, d, access.guard.as_ref());
    let lower_time = t.elapsed();
    let t = Instant::now();
    let sql = query_compiler::render(&select, d);
    let render_time = t.elapsed();
    let today = today(&ir.time_zone, today_arg)?;
    let bound = query_compiler::bind(&params, &ir.time_zone, today)?;
    let compiled = query_compiler::Compiled {
        sql: sql.clone(),
        columns: query_compiler::columns(&ir),
        params: params.clone(),
        dialect: d,
        time_zone: ir.time_zone.clone(),
        guarded: guarded.clone(),
        subject: Some(ir.subject),
        restricted: ir.restricted_reads(),
        suppression: query_compiler::suppression(&ir),
        reads_a_page: query_compiler::reads_a_page(&ir),
    };
    writeln!(
        out,
        "== report ({})\n{}\n",
        loaded.origin,
        loaded.text.trim_end()
    )?;
    writeln!(
        out,
        "== AST (the report's JSON form)\n{}\n",
        query_syntax::to_json(&report)
    )?;
    writeln!(
        out,
        "== IR (resolved against org `{org}`, catalog version {:016x})\n{}\n",
        catalog.version,
        serde_json::to_string_pretty(&ir)?
    )?;
    explain_policy(&mut out, &access, &guarded)?;
    writeln!(out, "== SQL ({})\n{sql}\n", d.name())?;
    writeln!(out, "== parameters")?;
    let mark = |i: usize| {
        if d == Dialect::Postgres {
            format!("${i}")
        } else {
            format!("?{i}")
        }
    };
    writeln!(out, "{} = {org:?} (the org)", mark(1))?;
    for (i, b) in bound.iter().enumerate() {
        writeln!(out, "{} = {}", mark(i + 2), serde_json::to_string(b)?)?;
    }
    let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
    let t = Instant::now();
    let title = if d == Dialect::Postgres {
        "EXPLAIN (ANALYZE, BUFFERS)"
    } else {
        "EXPLAIN QUERY PLAN"
    };
    // A report over demographics publishes when it runs (the daily budget, the populations
    // later reports are compared with: docs/privacy.md): `explain` neither shows its plan nor
    // runs it.
    let demographics = compiled.suppression.is_some();
    match services.query_plan(store, &access, &compiled, today, now) {
        Ok(plan) => writeln!(out, "\n== plan ({title})\n{}", plan.trim_end())?,
        Err(app::AppError::Forbidden { .. }) if demographics => writeln!(
            out,
            "\n== plan\nnot shown: the plan of a report over demographics holds true counts of \
             candidates, which are only published perturbed, whoever asks"
        )?,
        Err(app::AppError::Forbidden { .. }) => writeln!(
            out,
            "\n== plan\nnot shown: the database's plan is an operator's tool (its row counts include \
             rows `{user}` may not see); the policy grants `viewQueryPlan` to admins by default"
        )?,
        Err(e) => return Err(anyhow::Error::new(e).context("cannot explain the statement")),
    }
    let plan_time = t.elapsed();
    // Run as the viewer, through the same path as `report` (audit), unless it publishes.
    let t = Instant::now();
    let rows = if demographics {
        None
    } else {
        Some(
            services
                .run_report_as(store, access, &report, Some(today), now)?
                .rows,
        )
    };
    let run_time = t.elapsed();
    writeln!(out, "\n== timings")?;
    for (stage, time) in [
        ("parse", parse_time),
        ("policy (store+cedar)", policy_time),
        ("catalog (store)", catalog_time),
        ("resolve", resolve_time),
        ("lower", lower_time),
        ("render", render_time),
        ("explain (database)", plan_time),
        ("execute (database)", run_time),
    ] {
        writeln!(out, "{stage:<20} {time:>10.1?}")?;
    }
    match rows {
        Some(rows) => writeln!(out, "rows                 {:>10}", rows.rows.len())?,
        None => writeln!(
            out,
            "rows                 not run: a report over demographics publishes when it runs \
             (its budget, what later reports are compared with); run it with `report`"
        )?,
    }
    Ok(())
}
