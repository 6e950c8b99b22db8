//! `hireplane events`: an org's domain events from the outbox (`tail`, one CloudEvents JSON per
//! line; `--follow` polls), and the event catalogue docs/events.md is generated from
//! (`catalogue`). A thin edge: `tail --as USER` reads through `app::Services::events`, the same
//! function as the API's `events` connection, so the user sees only events whose subject their
//! policy lets them see; without `--as` it is the operator's view (every event of the org) with
//! the database's own credentials, through `app::events::operator_events`.

use std::io::Write as _;

use anyhow::{Context, Result, anyhow};
use store::Store;

#[derive(clap::Subcommand, Debug)]
pub enum EventsCommand {
    /// Print an org's events as CloudEvents JSON, one per line, in commit order
    Tail {
        /// The org (default: the only org in the store)
        #[arg(long, value_name = "ID")]
        org: Option<String>,
        /// Only events of this type, `application.moved` or `hireplane.application.moved.v1`
        /// (repeatable)
        #[arg(long = "type", value_name = "TYPE")]
        types: Vec<String>,
        /// Only events after this sequence number (the events' `orgseq`)
        #[arg(long, value_name = "SEQ", default_value_t = 0)]
        since: i64,
        /// Keep polling for new events (every --poll-ms) until interrupted
        #[arg(long)]
        follow: bool,
        /// With --follow: milliseconds between polls
        #[arg(long, value_name = "MS", default_value_t = 1000)]
        poll_ms: u64,
        /// Read as this user: only events whose subject their policy lets them see. Without it,
        /// every event of the org (the operator's view)
        #[arg(long = "as", env = "HIREPLANE_AS", value_name = "USER_ID")]
        as_user: Option<String>,
    },
    /// Print the event catalogue (Markdown, as docs/events.md) generated from the code
    Catalogue,
}

/// `events catalogue`: needs no store.
pub fn run_catalogue() -> Result<()> {
    let text = store::events::catalogue_markdown()?;
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

pub fn run(store: &mut Store, command: EventsCommand) -> Result<()> {
    match command {
        EventsCommand::Catalogue => run_catalogue(),
        EventsCommand::Tail {
            org,
            types,
            since,
            follow,
            poll_ms,
            as_user,
        } => {
            let org = crate::report::pick_org(store, org)?;
            let services = app::Services::new();
            let access = match &as_user {
                Some(user) => Some(
                    services
                        .access(store, &org, user)
                        .with_context(|| format!("cannot read events as `{user}`"))?,
                ),
                None => None,
            };
            let mut request = app::events::EventsRequest {
                after_seq: since,
                types,
                first: app::events::MAX_EVENTS_PAGE,
            };
            loop {
                let at = domain::Instant::from_timestamp(jiff::Timestamp::now());
                let page = match &access {
                    Some(access) => services.events(store, access, &request, at),
                    None => app::events::operator_events(store, &org, &request),
                }
                .map_err(refused)?;
                let mut out = std::io::stdout().lock();
                for e in &page.events {
                    writeln!(out, "{}", e.cloudevent())?;
                }
                out.flush()?;
                request.after_seq = page.end_seq;
                if page.has_next_page {
                    continue;
                }
                if !follow {
                    return Ok(());
                }
                std::thread::sleep(std::time::Duration::from_millis(poll_ms));
            }
        }
    }
}

/// A refusal as the API says it; other failures keep their detail.
fn refused(e: app::AppError) -> anyhow::Error {
    match e.refusal() {
        Some(r) => anyhow!(r.message),
        None => anyhow::Error::new(e),
    }
}
