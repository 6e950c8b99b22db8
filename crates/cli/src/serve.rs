//! `hireplane serve` and `hireplane token`: the server's command line.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use store::Store;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Make a token for a user; the token is printed once and never stored
    Create {
        /// The org of the user
        #[arg(long = "org", value_name = "ID")]
        org: String,
        /// The user the token acts as (their access policy applies to everything it does)
        #[arg(long, value_name = "USER_ID")]
        user: String,
        /// A name to recognise it by
        #[arg(long, default_value = "api")]
        name: String,
        /// How long it is valid: `90d`, `12h`, `30m` [default: never expires]
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
    },
    /// List an org's tokens (never their secrets)
    List {
        #[arg(long = "org", value_name = "ID")]
        org: String,
    },
    /// Revoke a token by its id (the part after `hpt_`, before the second `_`)
    Revoke {
        #[arg(long = "org", value_name = "ID")]
        org: String,
        /// The token's id
        id: String,
    },
}

#[derive(Subcommand)]
pub enum ConsoleCommand {
    /// Invite a user to the console: prints a one-time link to choose a password (the user
    /// then signs in with their email and that password)
    Invite {
        #[arg(long = "org", value_name = "ID")]
        org: String,
        #[arg(long, value_name = "USER_ID")]
        user: String,
        /// How long the link works: `7d`, `12h`
        #[arg(long, value_name = "DURATION", default_value = "7d")]
        expires_in: String,
    },
    /// A one-time sign-in link for a user (used once, expires)
    SignInLink {
        #[arg(long = "org", value_name = "ID")]
        org: String,
        #[arg(long, value_name = "USER_ID")]
        user: String,
        /// How long the link works: `1h`, `15m`
        #[arg(long, value_name = "DURATION", default_value = "1h")]
        expires_in: String,
    },
}

/// `hireplane console`: invitations and sign-in links, printed as paths under the server's
/// address (`/console/invitation/CODE`, `/console/code/CODE`).
pub fn console(store: &mut Store, command: ConsoleCommand) -> Result<()> {
    let services = app::Services::new();
    let (org, user, expires_in, purpose, path) = match command {
        ConsoleCommand::Invite {
            org,
            user,
            expires_in,
        } => (
            org,
            user,
            expires_in,
            store::CodePurpose::Invitation,
            "invitation",
        ),
        ConsoleCommand::SignInLink {
            org,
            user,
            expires_in,
        } => (org, user, expires_in, store::CodePurpose::SignIn, "code"),
    };
    let ttl = parse_duration(&expires_in)?;
    let code = services
        .create_code(store, &org, &user, purpose, now(), ttl, None)
        .with_context(|| format!("cannot make a console link for `{user}` of org `{org}`"))?;
    eprintln!(
        "a one-time link for user `{user}` of org `{org}`, valid {expires_in}, under the server's address:"
    );
    writeln!(std::io::stdout().lock(), "/console/{path}/{code}")?;
    Ok(())
}

fn now() -> domain::Instant {
    domain::Instant::from_timestamp(jiff::Timestamp::now())
}

/// `90d`, `12h`, `30m`, `45s` as seconds.
fn parse_duration(s: &str) -> Result<i64> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = n
        .parse()
        .with_context(|| format!("--expires-in `{s}`: expected a number and a unit, e.g. `90d`"))?;
    let per = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => bail!("--expires-in `{s}`: the unit must be `d`, `h`, `m` or `s`"),
    };
    if n <= 0 {
        bail!("--expires-in `{s}`: must be more than zero");
    }
    n.checked_mul(per)
        .with_context(|| format!("--expires-in `{s}`: too long"))
}

fn after(seconds: i64) -> Result<domain::Instant> {
    let at = now()
        .as_micros()
        .saturating_add(seconds.saturating_mul(1_000_000));
    domain::Instant::from_micros(at).context("the expiry is out of range")
}

pub fn token(store: &mut Store, command: TokenCommand) -> Result<()> {
    let services = app::Services::new();
    match command {
        TokenCommand::Create {
            org,
            user,
            name,
            expires_in,
        } => {
            let expires = expires_in
                .as_deref()
                .map(parse_duration)
                .transpose()?
                .map(after)
                .transpose()?;
            let made = services
                .create_token(store, &org, &user, &name, expires, now())
                .with_context(|| format!("cannot create a token for `{user}` of org `{org}`"))?;
            eprintln!(
                "token `{}` for user `{user}` of org `{org}`{}; shown once, keep it secret:",
                made.stored.id,
                match made.stored.expires_at {
                    Some(at) => format!(", expires {at}"),
                    None => ", does not expire".to_owned(),
                }
            );
            writeln!(std::io::stdout().lock(), "{}", made.token)?;
        }
        TokenCommand::List { org } => {
            let tokens = store
                .tokens(&org)
                .with_context(|| format!("cannot list the tokens of org `{org}`"))?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<32}  {:<16}  {:<12}  {:<20}  {:<20}  revoked",
                "id", "user", "name", "created", "expires"
            )?;
            for t in tokens {
                let show = |i: Option<domain::Instant>| i.map_or("-".to_owned(), |i| i.to_string());
                writeln!(
                    out,
                    "{:<32}  {:<16}  {:<12}  {:<20}  {:<20}  {}",
                    t.id,
                    t.user_id,
                    t.name,
                    t.created_at,
                    show(t.expires_at),
                    show(t.revoked_at)
                )?;
            }
        }
        TokenCommand::Revoke { org, id } => {
            if !store
                .revoke_token(&org, &id, now())
                .with_context(|| format!("cannot revoke token `{id}`"))?
            {
                bail!("org `{org}` has no token `{id}` (see `hireplane token list --org {org}`)");
            }
            eprintln!("token `{id}` revoked");
        }
    }
    Ok(())
}

/// How long `serve --demo`'s console sign-in links work.
const DEMO_LINK_S: i64 = 60 * 60;

pub fn serve(
    database: Option<&str>,
    config: Option<&Path>,
    listen: Option<SocketAddr>,
    demo: Option<super::DemoOrg>,
    canary: bool,
) -> Result<()> {
    let mut settings = server::Settings::load(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    if canary {
        settings.flags.canary = true;
    }
    if let Some(url) = database {
        settings.database = url.to_owned();
    }
    if let Some(addr) = listen {
        settings.listen = addr;
    }
    let mut banner = Vec::new();
    if let Some(demo) = demo {
        let url = database.unwrap_or(super::DEMO_DATABASE).to_owned();
        settings.database = url.clone();
        super::reset_demo_store(database)?;
        let (mut store, report, summary) = super::create_demo(&url, demo)?;
        let org = report.org_id.as_str();
        // The demo is an installation of one org: its admins operate the flags, unless the
        // settings name another org.
        if settings.flags.operator_org.is_empty() {
            settings.flags.operator_org = org.to_owned();
        }
        let users = store.active_users(org)?;
        let services = app::Services::new();
        banner.push(format!(
            "demo org `{org}` ({} applications, seed {}, data as of {}) in `{}`; one token per role (shown once, valid 30 days):",
            demo.applications,
            demo.seed,
            summary.reference_time.get(..10).unwrap_or(&summary.reference_time),
            store::redact(&url)
        ));
        let mut example = None;
        let mut console_links = Vec::new();
        for role in ["admin", "recruiter", "hiring_manager", "interviewer"] {
            let Some(user) = users.iter().find(|u| u.role == role) else {
                continue;
            };
            let made = services
                .create_token(
                    &mut store,
                    org,
                    &user.id,
                    "demo",
                    Some(after(30 * 86_400)?),
                    now(),
                )
                .with_context(|| format!("cannot create a demo token for `{}`", user.id))?;
            banner.push(format!("  {role:<15} {:<14} {}", user.id, made.token));
            // A one-time sign-in link to the console (no long-lived secret in a URL).
            let code = services
                .create_code(
                    &mut store,
                    org,
                    &user.id,
                    store::CodePurpose::SignIn,
                    now(),
                    DEMO_LINK_S,
                    None,
                )
                .with_context(|| format!("cannot make a console link for `{}`", user.id))?;
            console_links.push(format!(
                "  {role:<15} http://{}/console/code/{code}",
                settings.listen
            ));
            // For the start page (`GET /`), which links GraphiQL as each of them.
            settings.demo_users.push(server::settings::DemoUser {
                role: role.to_owned(),
                user_id: user.id.clone(),
                name: user.name.clone(),
                token: made.token.clone(),
            });
            example.get_or_insert(made.token);
        }
        if !console_links.is_empty() {
            banner.push(String::new());
            banner.push(format!(
                "the console, one sign-in link per role (each works once, for {} minutes; `hireplane console sign-in-link` makes more):",
                DEMO_LINK_S / 60
            ));
            banner.extend(console_links);
        }
        if let Some(token) = example {
            banner.push(String::new());
            banner.push("try (as the admin):".to_owned());
            banner.push(format!(
                "  curl -s http://{}/graphql -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\n    -d '{{\"query\": \"{{ viewer {{ name role }} applications(first: 3) {{ nodes {{ id status candidate {{ name }} job {{ title }} currentStage {{ name }} }} }} }}\"}}'",
                settings.listen
            ));
        }
    }
    server::init_logging(&settings);
    let graphiql = settings.graphiql;
    let is_demo = demo.is_some();
    // The banner's example names the address asked for; with port 0, the one bound is shown.
    let asked = settings.listen.to_string();
    server::serve_blocking_with_jobs(settings, crate::jobs::handlers(false), move |addr| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "hireplane API on http://{addr}/graphql{}",
            if graphiql {
                " (GraphiQL in a browser)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "health: http://{addr}/healthz, http://{addr}/readyz; metrics: http://{addr}/metrics"
        );
        let _ = writeln!(out, "console: http://{addr}/console");
        if is_demo {
            let _ = writeln!(
                out,
                "start page: http://{addr}/ (links, and GraphiQL as each demo role)"
            );
        }
        for line in &banner {
            let _ = writeln!(out, "{}", line.replace(&asked, &addr.to_string()));
        }
        let _ = out.flush();
    })
}
