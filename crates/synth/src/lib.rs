//! `synth`: a deterministic generator of synthetic recruiting orgs in the interchange format
//! `hireplane-org/1` (`spec/org-format.md`), for benchmarks, demos and tests.
//!
//! The CLI calls it as `hireplane generate --org-id ID --applications N --seed S DIR`, which
//! maps onto [`generate`] (or [`generate_with_progress`] for a progress bar). The output is a
//! folder with `org.json` and the 13 `.jsonl` files, realistic enough to exercise reports,
//! policies and scheduling: a department tree, users in many time zones with working hours
//! and load limits, sources of every kind, custom fields of every type, jobs with pipelines
//! and hiring teams, candidates with several applications, funnels with drop-off and
//! log-normal time in stage, interviews with panels and trainees, scorecards, offer
//! versions, interviewer pools and calendar busy time.
//!
//! How it is shaped:
//! - **Deterministic.** The same [`Config`] gives byte-identical files. There is no wall
//!   clock: "now" is a reference date derived from the seed, or the day the caller names
//!   ([`generate_as_of`]: the CLI passes today, so a demo has recent applications and
//!   upcoming interviews), at 00:00 UTC. Every entity draws from its own
//!   ChaCha8 stream derived from (seed, kind, index) (`rng`), so changing how one entity is
//!   generated does not shift every other one. Output never comes from iterating a hash map.
//! - **Streaming.** The org-level entities (`model`) are small and built in memory; the
//!   candidates and applications with their history, interviews, feedback and offers (`flow`)
//!   are generated and written one at a time through buffered writers, so memory stays flat
//!   up to millions of applications.
//! - **Independent of `domain`.** The rows are this crate's own `Serialize` structs
//!   (`records`) written from the spec, so the generator also serves as a second opinion on
//!   the reader in `domain`.

mod calendar;
mod fields;
mod flow;
mod model;
mod out;
mod records;
mod rng;
mod time;
mod vocab;

use std::path::{Path, PathBuf};

use crate::out::Sink;
use crate::records::OrgRec;
use crate::time::{DAY, Ts};

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The org id; also the prefix of every id (`{org_id}_app_17`).
    pub org_id: String,
    /// How many applications to generate; everything else scales from this.
    pub applications: u64,
    /// The seed; the same config always gives the same bytes.
    pub seed: u64,
}

/// How far generation has come, reported to a progress callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub applications_written: u64,
    pub applications_total: u64,
}

/// Rows written per file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub departments: u64,
    pub users: u64,
    pub sources: u64,
    pub custom_fields: u64,
    pub jobs: u64,
    pub candidates: u64,
    pub applications: u64,
    pub stage_transitions: u64,
    pub interviews: u64,
    pub feedback: u64,
    pub offers: u64,
    pub interviewer_pools: u64,
    pub busy_blocks: u64,
    /// The reference time ("now") of the generated data, RFC 3339.
    pub reference_time: String,
}

impl Summary {
    /// `(file name, rows)` for every file written, `org.json` first.
    pub fn files(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("org.json", 1),
            ("departments.jsonl", self.departments),
            ("users.jsonl", self.users),
            ("sources.jsonl", self.sources),
            ("custom_fields.jsonl", self.custom_fields),
            ("jobs.jsonl", self.jobs),
            ("candidates.jsonl", self.candidates),
            ("applications.jsonl", self.applications),
            ("stage_transitions.jsonl", self.stage_transitions),
            ("interviews.jsonl", self.interviews),
            ("feedback.jsonl", self.feedback),
            ("offers.jsonl", self.offers),
            ("interviewer_pools.jsonl", self.interviewer_pools),
            ("busy_blocks.jsonl", self.busy_blocks),
        ]
    }
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("invalid org id `{0}`: use letters, digits, `-` and `_` only")]
    InvalidOrgId(String),
    #[error("cannot create directory `{}`: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reference date `{0}` is outside the years 2000 to 2999")]
    ReferenceDate(jiff::civil::Date),
    #[error("time zone computation failed: {0}")]
    Time(#[from] jiff::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Generates an org into `dir` (created if missing), overwriting the files it writes.
pub fn generate(config: &Config, dir: &Path) -> Result<Summary, SynthError> {
    generate_with_progress(config, dir, &mut |_| {})
}

/// Like [`generate`], calling `progress` every 10,000 applications and at the end.
pub fn generate_with_progress(
    config: &Config,
    dir: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary, SynthError> {
    generate_at(config, model::reference_time(config.seed), dir, progress)
}

/// Like [`generate_with_progress`], with the data's "now" at the start (00:00 UTC) of `today`
/// instead of the seed's own reference date: applications up to it, interviews booked after
/// it. The same config and `today` give the same files; a `today` equal to the seed's
/// reference date gives the files of [`generate`].
pub fn generate_as_of(
    config: &Config,
    today: jiff::civil::Date,
    dir: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary, SynthError> {
    if !(2000..=2999).contains(&today.year()) {
        return Err(SynthError::ReferenceDate(today));
    }
    let days = time::days_from_civil(
        i64::from(today.year()),
        u32::try_from(today.month()).unwrap_or(1),
        u32::try_from(today.day()).unwrap_or(1),
    );
    generate_at(config, days * DAY, dir, progress)
}

/// The reference date ("now") [`generate`] uses for a seed: a Monday in the first half of 2026.
pub fn seed_reference_date(seed: u64) -> jiff::civil::Date {
    let (y, m, d) = time::civil_from_days(model::reference_time(seed).div_euclid(DAY));
    jiff::civil::Date::new(
        i16::try_from(y).unwrap_or(2026),
        i8::try_from(m).unwrap_or(1),
        i8::try_from(d).unwrap_or(1),
    )
    .unwrap_or(jiff::civil::date(2026, 1, 5))
}

fn generate_at(
    config: &Config,
    reference: i64,
    dir: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary, SynthError> {
    let valid = !config.org_id.is_empty()
        && config
            .org_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(SynthError::InvalidOrgId(config.org_id.clone()));
    }
    std::fs::create_dir_all(dir).map_err(|source| SynthError::CreateDir {
        path: dir.to_owned(),
        source,
    })?;

    let model = model::Model::build(config, reference)?;
    out::write_document(
        dir,
        "org.json",
        &OrgRec {
            format: "hireplane-org/1",
            id: &config.org_id,
            name: &model.org_name,
            timezone: model.org_timezone,
            created_at: Ts(model.reference - 3 * 365 * DAY),
        },
    )?;

    let small = |name: &str,
                 write: &dyn Fn(&mut Sink) -> Result<(), SynthError>|
     -> Result<u64, SynthError> {
        let mut sink = Sink::create(dir, name)?;
        write(&mut sink)?;
        sink.finish()
    };
    let mut summary = Summary {
        departments: small("departments.jsonl", &|s| model.write_departments(s))?,
        users: small("users.jsonl", &|s| model.write_users(s))?,
        sources: small("sources.jsonl", &|s| model.write_sources(s))?,
        custom_fields: small("custom_fields.jsonl", &|s| model.write_custom_fields(s))?,
        jobs: small("jobs.jsonl", &|s| model.write_jobs(s))?,
        interviewer_pools: small("interviewer_pools.jsonl", &|s| model.write_pools(s))?,
        busy_blocks: small("busy_blocks.jsonl", &|s| {
            calendar::write_busy_blocks(&model, s)
        })?,
        reference_time: Ts(model.reference).to_rfc3339(),
        ..Summary::default()
    };

    let mut sinks = flow::Sinks {
        candidates: Sink::create(dir, "candidates.jsonl")?,
        applications: Sink::create(dir, "applications.jsonl")?,
        transitions: Sink::create(dir, "stage_transitions.jsonl")?,
        interviews: Sink::create(dir, "interviews.jsonl")?,
        feedback: Sink::create(dir, "feedback.jsonl")?,
        offers: Sink::create(dir, "offers.jsonl")?,
    };
    flow::Flow::new(&model)?.run(config.applications, &mut sinks, progress)?;
    summary.candidates = sinks.candidates.finish()?;
    summary.applications = sinks.applications.finish()?;
    summary.stage_transitions = sinks.transitions.finish()?;
    summary.interviews = sinks.interviews.finish()?;
    summary.feedback = sinks.feedback.finish()?;
    summary.offers = sinks.offers.finish()?;
    Ok(summary)
}
