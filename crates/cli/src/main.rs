//! `hireplane`: the command line of the recruiting platform core.
//!
//! A thin edge: it parses arguments, opens the store named by `--database`, calls into the
//! libraries and prints. Every failure is reported with its cause chain and a non-zero exit status.

use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};

/// mimalloc instead of the system allocator: an API request allocates thousands of small
/// objects (GraphQL values, rows, strings) across threads, where glibc's malloc was a quarter of
/// the server's time (`bench/api.sh`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use store::{ImportError, ImportOptions, Store, Table};

/// `println!` that returns an error instead of panicking when stdout is closed (`| head`).
macro_rules! out {
    () => {
        writeln!(std::io::stdout().lock())?
    };
    ($($arg:tt)*) => {
        writeln!(std::io::stdout().lock(), $($arg)*)?
    };
}

mod access;
mod automation;
mod events;
mod flags;
mod hiring;
mod jobs;
mod report;
mod rollout;
mod schedule;
mod serve;
mod slo;
mod warehouse;

const DEFAULT_DATABASE: &str = "sqlite://hireplane.db";
const DEMO_DATABASE: &str = "sqlite://hireplane-demo.db";

#[derive(Parser)]
#[command(
    name = "hireplane",
    version,
    about = "hireplane: an open-source recruiting platform core"
)]
struct Cli {
    /// The store: `sqlite://PATH` (embedded, created on first use) or `postgres://USER@HOST/DB`
    /// [default: sqlite://hireplane.db]
    #[arg(long, global = true, env = "HIREPLANE_DATABASE", value_name = "URL")]
    database: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import an org folder in `hireplane-org/1`, all or nothing
    Import {
        /// The org folder (org.json plus one .jsonl file per entity)
        dir: PathBuf,
        /// Replace an org with the same id, atomically, instead of refusing
        #[arg(long)]
        replace: bool,
    },
    /// Export an org into a folder in `hireplane-org/1`
    Export {
        /// The id of the org to export
        #[arg(long = "org", value_name = "ID")]
        org: String,
        /// The folder to write (created if missing)
        dir: PathBuf,
    },
    /// Generate a deterministic synthetic org in `hireplane-org/1`
    Generate {
        /// Id of the generated org (also the prefix of every id in it)
        #[arg(long, value_name = "ID")]
        org_id: String,
        /// How many applications; everything else scales from it
        #[arg(long, value_name = "N")]
        applications: u64,
        /// Random seed: the same seed and --today give the same files
        #[arg(long, value_name = "S", default_value_t = 1)]
        seed: u64,
        /// The data's "now": applications up to this day, interviews booked after it
        /// [default: today, in UTC]
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = reference_date)]
        today: Option<jiff::civil::Date>,
        /// The folder to write (created if missing)
        dir: PathBuf,
    },
    /// List the orgs in the store with their row counts
    Orgs,
    /// Find the earliest interview loops that fit everyone, ranked; or repair a booked one
    Schedule {
        /// The scheduling request (JSON; example: crates/scheduling/examples/request.json)
        #[arg(required_unless_present = "plan")]
        request: Option<PathBuf>,
        /// Build the request from the store: the org
        #[arg(long = "org", value_name = "ID", requires_all = ["application", "plan"])]
        org: Option<String>,
        /// Build the request from the store: the application to schedule
        #[arg(long, value_name = "ID", requires = "plan")]
        application: Option<String>,
        /// Build the request from the store: the loop and the candidate's windows (a request
        /// without `interviewers` and `pools`)
        #[arg(long, value_name = "PLAN.json", requires_all = ["org", "application"], conflicts_with_all = ["request", "repair"])]
        plan: Option<PathBuf>,
        /// Repair this booked schedule (an option, or a solution as `--format json` prints it)
        #[arg(long, value_name = "BOOKED.json")]
        repair: Option<PathBuf>,
        /// With --repair: the interviewer who declined
        #[arg(
            long,
            value_name = "USER_ID",
            requires = "repair",
            conflicts_with = "candidate_unavailable"
        )]
        declined: Option<String>,
        /// With --repair: the candidate can no longer make it (the request holds their new windows)
        #[arg(long, requires = "repair")]
        candidate_unavailable: bool,
        /// Busy time from an iCalendar file for an interviewer (repeatable): `PERSON=FILE`
        #[arg(long, value_name = "PERSON=FILE")]
        ics: Vec<String>,
        /// Busy time from a CalDAV calendar collection for an interviewer (repeatable):
        /// `PERSON=URL`; HTTP Basic credentials from HIREPLANE_CALDAV_USER and
        /// HIREPLANE_CALDAV_PASSWORD when set
        #[arg(long, value_name = "PERSON=URL")]
        caldav: Vec<String>,
        /// Output format
        #[arg(long, value_enum, default_value = "table")]
        format: schedule::Format,
        /// How long the solver may search, in seconds: then the best options found so far
        /// (marked as not proven best), or an error when none was found yet
        #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = time_limit)]
        time_limit: f64,
    },
    /// Run a report (text, JSON form, --file or a standard --name) as a user and print its result
    Report {
        #[command(flatten)]
        source: report::ReportSource,
        /// The user the report runs as: their org's policies decide what it shows
        #[arg(long = "as", env = "HIREPLANE_AS", value_name = "USER_ID")]
        as_user: Option<String>,
        /// The org to report on (default: the only org in the store)
        #[arg(long = "org", value_name = "ID")]
        org: Option<String>,
        /// Output format
        #[arg(long, value_enum, default_value = "table")]
        format: report::Format,
        /// Resolve relative dates (`last 90 days`) from this date instead of today
        #[arg(long, value_name = "YYYY-MM-DD")]
        today: Option<String>,
    },
    /// Show how a report compiles for a user: AST, IR, the filters and masks their policies
    /// add, SQL with parameters, the database's plan, timings
    Explain {
        #[command(flatten)]
        source: report::ReportSource,
        /// The user the report runs as
        #[arg(long = "as", env = "HIREPLANE_AS", value_name = "USER_ID")]
        as_user: Option<String>,
        /// The org to report on (default: the only org in the store)
        #[arg(long = "org", value_name = "ID")]
        org: Option<String>,
        /// Resolve relative dates (`last 90 days`) from this date instead of today
        #[arg(long, value_name = "YYYY-MM-DD")]
        today: Option<String>,
    },
    /// Candidates: `create` (as `createCandidate`), as a user
    Candidate {
        #[command(subcommand)]
        command: hiring::CandidateCommand,
    },
    /// Applications: `move`, `archive`, `unarchive`, `hire` (as the API's mutations), as a user
    Application {
        #[command(subcommand)]
        command: hiring::ApplicationCommand,
    },
    /// Interviews: `schedule`, `cancel`, `mark` (as the API's mutations), as a user
    Interview {
        #[command(subcommand)]
        command: hiring::InterviewCommand,
    },
    /// Scorecards: `submit` (as `submitFeedback`), as a user
    Feedback {
        #[command(subcommand)]
        command: hiring::FeedbackCommand,
    },
    /// Offers: `create` (as `createOffer`), as a user
    Offer {
        #[command(subcommand)]
        command: hiring::OfferCommand,
    },
    /// Automation rules: `save`, `list`, `show`, `delete`, `runs`, `dry-run`, as an admin
    Rule {
        #[command(subcommand)]
        command: automation::RuleCommand,
    },
    /// Access policies (Cedar): validate a file, set an org's, show the one in force, decide
    Policy {
        #[command(subcommand)]
        command: access::PolicyCommand,
    },
    /// Settings of reports over demographics (docs/privacy.md): show or change the threshold,
    /// the noise table and the daily budget, or rotate the perturbation secret
    Privacy {
        /// Who changes them (must be allowed `viewDemographicsAggregate`)
        #[arg(long = "as", env = "HIREPLANE_AS", value_name = "USER_ID")]
        as_user: String,
        /// The org (default: the only org in the store)
        #[arg(long = "org", value_name = "ID")]
        org: Option<String>,
        /// Counts under it after perturbation are suppressed (at least 5)
        #[arg(long)]
        threshold: Option<i64>,
        /// The perturbation table's weights for the offsets -d..d, e.g. `10,20,40,20,10` (the default)
        #[arg(long, value_name = "WEIGHTS")]
        noise: Option<String>,
        /// Reports over demographics per user per 24 hours
        #[arg(long, value_name = "N")]
        daily_budget: Option<i64>,
        /// Draw a new perturbation secret (every cell's noise changes; only if it leaked)
        #[arg(long)]
        rotate_secret: bool,
    },
    /// The audit log of an org: accesses to restricted data and denied requests
    Audit {
        /// The org (default: the only org in the store)
        #[arg(long = "org", value_name = "ID")]
        org: Option<String>,
        /// How many entries, newest first
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Only this user's entries
        #[arg(long, value_name = "USER_ID")]
        actor: Option<String>,
        /// Only denied requests
        #[arg(long)]
        denied: bool,
        /// Output format
        #[arg(long, value_enum, default_value = "table")]
        format: report::Format,
    },
    /// Run the API server (GraphQL on /graphql, /healthz, /readyz, /metrics)
    Serve {
        /// A settings file (TOML); the `HIREPLANE_*` environment overrides it
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Where to listen [default: 127.0.0.1:8080]
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// Start on a fresh embedded store with the demo org, and print a token per role
        #[arg(long)]
        demo: bool,
        /// This replica is a canary: flag contexts carry `canary` = `true`, so flags can
        /// target it (docs/flags.md, "Canaries")
        #[arg(long)]
        canary: bool,
        /// With --demo: size of the demo org [default: 5000]
        #[arg(long, value_name = "N", requires = "demo")]
        applications: Option<u64>,
        /// With --demo: random seed of the demo org [default: 7]
        #[arg(long, value_name = "S", requires = "demo")]
        seed: Option<u64>,
        /// With --demo: the demo data's "now" [default: today]
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = reference_date, requires = "demo")]
        today: Option<jiff::civil::Date>,
    },
    /// Service level objectives: Prometheus rules and burn-rate alerts from an `slo.yaml`
    Slo(slo::SloArgs),
    /// Feature flags of the installation (Unleash definitions): list, show, set, remove,
    /// history, evaluate for a user, import and export Unleash's features document
    Flags {
        #[command(subcommand)]
        command: flags::FlagsCommand,
    },
    /// Domain events: tail an org's outbox as CloudEvents JSON lines (as a user, or all as the
    /// operator), and print the event catalogue
    Events {
        #[command(subcommand)]
        command: events::EventsCommand,
    },
    /// The warehouse export: an org's tables and events as Parquet files with a manifest, in
    /// full or as a delta since a previous export (docs/warehouse.md)
    Warehouse {
        #[command(subcommand)]
        command: warehouse::WarehouseCommand,
    },
    /// Gradual rollouts of flags guarded by the SLOs: plan, status, pause, resume, abort,
    /// history
    Rollout {
        #[command(subcommand)]
        command: rollout::RolloutCommand,
    },
    /// The workflow engine: `status` (jobs by state, dispatch backlog, circuit breakers)
    Workflow {
        #[command(subcommand)]
        command: automation::WorkflowCommand,
    },
    /// Durable jobs: list an org's jobs by state, counts, retry a dead job, cancel one
    Jobs {
        #[command(subcommand)]
        command: jobs::JobsCommand,
    },
    /// Run a pool of job workers without HTTP (beside or instead of those inside `serve`)
    Worker(jobs::WorkerArgs),
    /// API tokens: create (printed once), list, revoke
    Token {
        #[command(subcommand)]
        command: serve::TokenCommand,
    },
    /// The web console's sign-in: invite a user to choose a password, or make a one-time
    /// sign-in link
    Console {
        #[command(subcommand)]
        command: serve::ConsoleCommand,
    },
    /// Create a fresh embedded store with a generated demo org and show what is in it
    Demo {
        /// Size of the demo org
        #[arg(long, value_name = "N", default_value_t = 5000)]
        applications: u64,
        /// Random seed of the demo org
        #[arg(long, value_name = "S", default_value_t = 7)]
        seed: u64,
        /// The demo data's "now": applications up to this day, interviews booked after it
        /// [default: today, in UTC]
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = reference_date)]
        today: Option<jiff::civil::Date>,
    },
}

/// `--today` of `generate` and `demo`: a calendar date.
fn reference_date(text: &str) -> Result<jiff::civil::Date, String> {
    text.parse::<jiff::civil::Date>()
        .map_err(|_| format!("`{text}` is not a date such as `2026-03-02`"))
}

/// Generated data's "now": the date given, else today's date in UTC.
fn data_date(today: Option<jiff::civil::Date>) -> jiff::civil::Date {
    today.unwrap_or_else(|| {
        jiff::tz::TimeZone::UTC
            .to_datetime(jiff::Timestamp::now())
            .date()
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed stdout (`hireplane orgs | head`) is where the reader stopped, not a failure.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        // `policy decide` printed "denied"; the status says it to scripts.
        Err(e) if e.downcast_ref::<access::Denied>().is_some() => ExitCode::FAILURE,
        Err(e) => {
            if let Some(ImportError::Invalid {
                problems, total, ..
            }) = e.downcast_ref::<ImportError>()
            {
                for p in problems {
                    eprintln!("{p}");
                }
                if *total > problems.len() as u64 {
                    eprintln!("... and {} more problems", *total - problems.len() as u64);
                }
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let database = cli.database.clone();
    let open = |default: &str| -> Result<Store> {
        let url = database.as_deref().unwrap_or(default);
        Store::open(url).with_context(|| format!("cannot open the store `{}`", store::redact(url)))
    };
    match cli.command {
        Command::Import { dir, replace } => {
            let mut store = open(DEFAULT_DATABASE)?;
            import(&mut store, &dir, replace)?;
        }
        Command::Export { org, dir } => {
            let mut store = open(DEFAULT_DATABASE)?;
            let started = Instant::now();
            store
                .export(&org, &dir)
                .with_context(|| format!("cannot export org `{org}` to `{}`", dir.display()))?;
            eprintln!(
                "exported org `{org}` to {} in {:.1?}",
                dir.display(),
                started.elapsed()
            );
        }
        Command::Generate {
            org_id,
            applications,
            seed,
            today,
            dir,
        } => {
            generate(&org_id, applications, seed, data_date(today), &dir)?;
        }
        Command::Orgs => {
            let mut store = open(DEFAULT_DATABASE)?;
            let orgs = store.orgs()?;
            if orgs.is_empty() {
                out!(
                    "no orgs yet: try `hireplane generate --org-id demo --applications 1000 demo-org` and `hireplane import demo-org`"
                );
            }
            for (id, _) in orgs {
                print_counts(&store.org_counts(&id)?)?;
            }
        }
        Command::Schedule {
            request,
            org,
            application,
            plan,
            repair,
            declined,
            candidate_unavailable,
            ics,
            caldav,
            format,
            time_limit,
        } => {
            let limit = schedule::TimeLimit(std::time::Duration::from_secs_f64(time_limit));
            let calendars = schedule::Calendars {
                ics: &ics,
                caldav: &caldav,
            };
            match (request, plan, repair) {
                (_, Some(plan), _) => {
                    let (Some(org), Some(application)) = (org, application) else {
                        anyhow::bail!("--plan needs --org ID and --application ID");
                    };
                    let mut store = open(DEFAULT_DATABASE)?;
                    schedule::from_store(
                        &mut store,
                        &org,
                        &application,
                        &plan,
                        calendars,
                        format,
                        limit,
                    )?;
                }
                (None, None, _) => {
                    anyhow::bail!("give a REQUEST.json, or --org, --application and --plan")
                }
                (Some(request), None, None) => schedule::solve(&request, calendars, format, limit)?,
                (Some(request), None, Some(booked)) => {
                    let decline = match (declined, candidate_unavailable) {
                        (Some(person), _) => scheduling::Decline::Interviewer { person },
                        (None, true) => scheduling::Decline::Candidate,
                        (None, false) => anyhow::bail!(
                            "--repair needs --declined USER_ID or --candidate-unavailable"
                        ),
                    };
                    schedule::repair(&request, &booked, decline, format, limit)?;
                }
            }
        }
        Command::Report { source, .. } if source.list => report::list()?,
        Command::Report {
            source,
            as_user,
            org,
            format,
            today,
        } => {
            let mut store = open(DEFAULT_DATABASE)?;
            report::run(&mut store, org, as_user, &source, format, today.as_deref())?;
        }
        Command::Explain { source, .. } if source.list => report::list()?,
        Command::Explain {
            source,
            as_user,
            org,
            today,
        } => {
            let mut store = open(DEFAULT_DATABASE)?;
            report::explain(&mut store, org, as_user, &source, today.as_deref())?;
        }
        Command::Candidate { command } => hiring::candidate(&mut open(DEFAULT_DATABASE)?, command)?,
        Command::Application { command } => {
            hiring::application(&mut open(DEFAULT_DATABASE)?, command)?
        }
        Command::Interview { command } => hiring::interview(&mut open(DEFAULT_DATABASE)?, command)?,
        Command::Feedback { command } => hiring::feedback(&mut open(DEFAULT_DATABASE)?, command)?,
        Command::Offer { command } => hiring::offer(&mut open(DEFAULT_DATABASE)?, command)?,
        Command::Rule { command } => automation::run(&mut open(DEFAULT_DATABASE)?, command)?,
        Command::Policy { command } => {
            let mut store = open(DEFAULT_DATABASE)?;
            access::policy(&mut store, command)?;
        }
        Command::Privacy {
            as_user,
            org,
            threshold,
            noise,
            daily_budget,
            rotate_secret,
        } => {
            let mut store = open(DEFAULT_DATABASE)?;
            access::privacy(
                &mut store,
                org,
                &as_user,
                app::PrivacyChange {
                    threshold,
                    noise,
                    daily_budget,
                    rotate: rotate_secret,
                },
            )?;
        }
        Command::Audit {
            org,
            limit,
            actor,
            denied,
            format,
        } => {
            let mut store = open(DEFAULT_DATABASE)?;
            access::audit(&mut store, org, limit, actor, denied, format)?;
        }
        Command::Demo {
            applications,
            seed,
            today,
        } => demo(
            database.as_deref(),
            DemoOrg {
                applications,
                seed,
                today: data_date(today),
            },
        )?,
        Command::Serve {
            config,
            listen,
            demo,
            canary,
            applications,
            seed,
            today,
        } => {
            let demo = demo.then(|| DemoOrg {
                applications: applications.unwrap_or(5000),
                seed: seed.unwrap_or(7),
                today: data_date(today),
            });
            serve::serve(database.as_deref(), config.as_deref(), listen, demo, canary)?
        }
        Command::Slo(args) => slo::run(args)?,
        Command::Token { command } => {
            let mut store = open(DEFAULT_DATABASE)?;
            serve::token(&mut store, command)?;
        }
        Command::Console { command } => {
            let mut store = open(DEFAULT_DATABASE)?;
            serve::console(&mut store, command)?;
        }
        Command::Flags { command } => {
            let mut store = open(DEFAULT_DATABASE)?;
            flags::run(&mut store, command)?;
        }
        Command::Events {
            command: events::EventsCommand::Catalogue,
        } => events::run_catalogue()?,
        Command::Events { command } => {
            let mut store = open(DEFAULT_DATABASE)?;
            events::run(&mut store, command)?;
        }
        Command::Workflow { command } => {
            automation::workflow(&mut open(DEFAULT_DATABASE)?, command)?
        }
        Command::Jobs { command } => {
            let mut store = open(DEFAULT_DATABASE)?;
            jobs::run(&mut store, command)?;
        }
        Command::Worker(args) => jobs::worker(database.as_deref(), args)?,
        Command::Rollout { command } => {
            let mut store = open(DEFAULT_DATABASE)?;
            rollout::run(&mut store, command)?;
        }
        Command::Warehouse { command } => {
            let mut store = open(DEFAULT_DATABASE)?;
            warehouse::run(&mut store, command)?;
        }
    }
    Ok(())
}

fn bar(len: u64, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

fn generate(
    org_id: &str,
    applications: u64,
    seed: u64,
    today: jiff::civil::Date,
    dir: &Path,
) -> Result<synth::Summary> {
    let started = Instant::now();
    let bar = bar(
        applications,
        "generating {bar:40} {pos}/{len} applications ({eta})",
    );
    let config = synth::Config {
        org_id: org_id.to_owned(),
        applications,
        seed,
    };
    let summary = synth::generate_as_of(&config, today, dir, &mut |p| {
        bar.set_position(p.applications_written)
    })
    .with_context(|| format!("cannot generate org `{org_id}` into `{}`", dir.display()))?;
    bar.finish_and_clear();
    let rows: u64 = summary.files().iter().map(|(_, n)| n).sum();
    eprintln!(
        "generated org `{org_id}` ({rows} records) in {} in {:.1?}",
        dir.display(),
        started.elapsed()
    );
    Ok(summary)
}

fn import(store: &mut Store, dir: &Path, replace: bool) -> Result<store::ImportReport> {
    let started = Instant::now();
    let bar = bar(0, "importing {bar:40} {bytes}/{total_bytes} {msg} ({eta})");
    let report = store.import(dir, ImportOptions { replace }, &mut |p| {
        bar.set_length(p.bytes_total);
        bar.set_position(p.bytes_done);
        bar.set_message(p.file.file_name());
    });
    bar.finish_and_clear();
    let report = report.with_context(|| format!("cannot import `{}`", dir.display()))?;
    let records: u64 = report.summary.counts.values().sum();
    eprintln!(
        "{} org `{}`: {records} records in {:.1?}",
        if report.replaced {
            "replaced"
        } else {
            "imported"
        },
        report.org_id,
        started.elapsed()
    );
    if report.foreign_keys == store::ForeignKeyChecks::PerRow {
        eprintln!(
            "note: PostgreSQL checked foreign keys row by row because this role may not set \
             `session_replication_role`; imports, and above all `--replace` of large orgs, are much \
             faster after `GRANT SET ON PARAMETER session_replication_role TO <role>`"
        );
    }
    Ok(report)
}

fn print_counts(c: &store::OrgCounts) -> Result<()> {
    out!("org `{}` ({})", c.org_id, c.name);
    for (table, n) in &c.counts {
        if *table != Table::Orgs {
            out!("  {:<24} {n:>10}", table.name());
        }
    }
    Ok(())
}

fn print_overview(o: &store::Overview) -> Result<()> {
    let line = |counts: &[(String, u64)]| {
        counts
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    out!();
    out!("jobs:         {}", line(&o.jobs));
    out!("applications: {}", line(&o.applications));
    out!("funnel (applications that reached each kind of stage):");
    let top = o.funnel.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    for (kind, n) in &o.funnel {
        let bar = "#".repeat(usize::try_from(n * 40 / top).unwrap_or(0));
        out!("  {kind:<20} {n:>8}  {bar}");
    }
    Ok(())
}

/// Opens the store at `url` and imports a generated demo org into it (replacing an earlier one).
fn create_demo(url: &str, org: DemoOrg) -> Result<(Store, store::ImportReport, synth::Summary)> {
    let mut store = Store::open(url)
        .with_context(|| format!("cannot open the store `{}`", store::redact(url)))?;
    let dir = std::env::temp_dir().join(format!("hireplane-demo-{}", std::process::id()));
    let summary = generate("demo", org.applications, org.seed, org.today, &dir)?;
    let result = import(&mut store, &dir, true);
    let _ = std::fs::remove_dir_all(&dir);
    Ok((store, result?, summary))
}

/// Removes the default demo store's files (a store the user named is only added to).
fn reset_demo_store(database: Option<&str>) -> Result<()> {
    let url = database.unwrap_or(DEMO_DATABASE);
    if database.is_none()
        && let Ok(store::DatabaseUrl::Sqlite(path)) = store::DatabaseUrl::parse(url)
    {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!(
                            "cannot remove the old demo store `{}`",
                            PathBuf::from(p).display()
                        )
                    });
                }
            }
        }
    }
    Ok(())
}

/// The demo org to generate: `demo`'s and `serve --demo`'s options.
#[derive(Clone, Copy, Debug)]
pub struct DemoOrg {
    pub applications: u64,
    pub seed: u64,
    /// The data's "now".
    pub today: jiff::civil::Date,
}

fn demo(database: Option<&str>, org: DemoOrg) -> Result<()> {
    let url = database.unwrap_or(DEMO_DATABASE);
    // The default demo store is ours to recreate; a store the user named is only added to.
    reset_demo_store(database)?;
    let (mut store, report, summary) = create_demo(url, org)?;
    out!();
    out!("hireplane demo: store `{}`", store::redact(url));
    out!("data as of {}", summary.reference_time);
    print_counts(&store.org_counts(report.org_id.as_str())?)?;
    print_overview(&store.overview(report.org_id.as_str())?)?;
    // A few standard reports, as of the data's own "now" so relative ranges mean something.
    let org = report.org_id.as_str();
    let as_of = domain::Instant::parse(&summary.reference_time)
        .with_context(|| format!("the demo's reference time `{}`", summary.reference_time))?;
    let catalog = store.catalog(org)?;
    let zone = jiff::tz::TimeZone::get(&catalog.time_zone)
        .with_context(|| format!("the org's time zone `{}`", catalog.time_zone))?;
    let today = as_of.as_timestamp().to_zoned_datetime(zone).date();
    // Every report runs as someone: the demo's reports as the first admin, then one report as
    // one user of each role, to show what the default access policy lets each see.
    let users = store.active_users(org)?;
    let first = |role: &str| users.iter().find(|u| u.role == role);
    let admin = first("admin").context("the demo org has no active admin")?;
    let services = app::Services::new();
    let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
    for name in ["funnel", "time-to-hire", "jobs-activity"] {
        let text = query_compiler::library::get(name)
            .with_context(|| format!("the standard report `{name}` is missing"))?;
        let parsed = query_syntax::parse(text).map_err(|d| report::diagnostic(&d, text, name))?;
        let run = services.run_report(&mut store, org, &admin.id, &parsed, today, now)?;
        out!();
        out!(
            "report `{name}` as `{}` (admin): {}",
            admin.id,
            query_compiler::library::summary(text)
        );
        std::io::stdout()
            .lock()
            .write_all(report::table(&run.rows.columns, &run.rows.rows).as_bytes())?;
    }
    let who_sees = "report applications show count() as applications, count(distinct job) as jobs, count(distinct candidate) as candidates, count(offers where salary is not null) as offers_with_visible_salary";
    out!();
    out!("what each role sees under the default access policy:");
    out!("  {who_sees}");
    let mut rows = Vec::new();
    let mut columns = Vec::new();
    for role in ["admin", "recruiter", "hiring_manager", "interviewer"] {
        let Some(user) = first(role) else { continue };
        let parsed =
            query_syntax::parse(who_sees).map_err(|d| report::diagnostic(&d, who_sees, "demo"))?;
        let run = services.run_report(&mut store, org, &user.id, &parsed, today, now)?;
        if columns.is_empty() {
            columns.push(query_compiler::Column {
                name: "as".into(),
                kind: query_compiler::ValueKind::Text,
            });
            columns.extend(run.rows.columns.iter().cloned());
        }
        for r in run.rows.rows {
            let mut row = vec![query_compiler::Value::Text(format!("{} ({role})", user.id))];
            row.extend(r);
            rows.push(row);
        }
    }
    std::io::stdout()
        .lock()
        .write_all(report::table(&columns, &rows).as_bytes())?;
    let interviewer = first("interviewer").map_or("USER_ID", |u| u.id.as_str());
    out!();
    out!("try next:");
    let admin = &admin.id;
    out!("  hireplane --database {url} report --list");
    out!(
        "  hireplane --database {url} report --as {admin} --name source-effectiveness --today {today}"
    );
    out!(
        "  hireplane --database {url} report --as {admin} 'report applications group by source.kind show count(), rate(status = \"hired\")'"
    );
    out!("  hireplane --database {url} explain --as {interviewer} --name funnel");
    out!("  hireplane --database {url} policy show");
    out!("  hireplane --database {url} audit");
    out!("  hireplane --database {url} export --org demo demo-export");
    out!("  hireplane generate --org-id big --applications 100000 --seed 1 big-org");
    out!("  hireplane --database {url} import big-org");
    Ok(())
}

/// `--time-limit`: a positive number of seconds, at most a day.
fn time_limit(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err(format!(
            "`{s}` is not a number of seconds between 0 and 86400"
        )),
    }
}
