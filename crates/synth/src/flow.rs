//! The streaming part: candidates and their applications, with each application's stage
//! history, interviews, feedback and offers, generated and written one at a time.
//!
//! Nothing per application is kept after it is written, so memory does not grow with the
//! number of applications. Each candidate and each application draws from its own random
//! stream (interviews and offers from further streams of their own), so the content of one
//! record does not depend on how many random numbers earlier records used.

use rand::RngExt;
use rand_distr::{Distribution, LogNormal};

use crate::fields::{self, Context};
use crate::model::{Job, JobStatus, Model};
use crate::out::Sink;
use crate::records::{
    ApplicationRec, CandidateRec, Demographics, FeedbackRec, Id, InterviewRec, OfferRec, PanelRec,
    Salary, Scores, TransitionRec,
};
use crate::rng::{Rng, Stream, chance, pick, pick_str, pick_weighted, stream, weighted};
use crate::time::{DAY, Day, HOUR, MINUTE, Ts, ceil_to};
use crate::vocab::{
    ARCHIVE_REASONS, INTERVIEW_SESSIONS, Kind, NOTES_NEGATIVE, NOTES_POSITIVE, PLACES,
    SCORE_ATTRIBUTES, SCORE_ATTRIBUTES_SCREEN, SOURCES, TAGS,
};
use crate::{Progress, SynthError};

/// The files written while streaming.
pub struct Sinks {
    pub candidates: Sink,
    pub applications: Sink,
    pub transitions: Sink,
    pub interviews: Sink,
    pub feedback: Sink,
    pub offers: Sink,
}

/// Running id counters of the per-application child rows.
#[derive(Default)]
struct Counters {
    transitions: u64,
    interviews: u64,
    feedback: u64,
    offers: u64,
}

/// How long an application stays in a stage of a kind, as a log-normal in hours.
struct Durations {
    by_kind: [LogNormal<f64>; 8],
}

fn kind_index(kind: Kind) -> usize {
    match kind {
        Kind::Lead => 0,
        Kind::ApplicationReview => 1,
        Kind::Screen => 2,
        Kind::Assessment => 3,
        Kind::Interview => 4,
        Kind::Onsite => 5,
        Kind::Offer => 6,
        Kind::Hired => 7,
    }
}

fn interviewing(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Screen | Kind::Assessment | Kind::Interview | Kind::Onsite
    )
}

/// Share of applications that pass a stage of a kind.
fn pass_rate(kind: Kind) -> f64 {
    match kind {
        Kind::Lead => 0.4,
        Kind::ApplicationReview => 0.35,
        Kind::Screen => 0.5,
        Kind::Assessment => 0.55,
        Kind::Interview => 0.45,
        Kind::Onsite => 0.3,
        Kind::Offer => 0.8,
        Kind::Hired => 1.0,
    }
}

impl Durations {
    fn new() -> Result<Durations, SynthError> {
        // Median hours in stage per kind.
        let medians = [36.0_f64, 60.0, 100.0, 110.0, 130.0, 150.0, 80.0, 1.0];
        let mut by_kind = Vec::with_capacity(8);
        for m in medians {
            by_kind.push(
                LogNormal::new(m.ln(), 0.75).map_err(|e| SynthError::Internal(e.to_string()))?,
            );
        }
        let by_kind = by_kind
            .try_into()
            .map_err(|_| SynthError::Internal("stage duration table".to_owned()))?;
        Ok(Durations { by_kind })
    }

    fn sample(&self, rng: &mut Rng, kind: Kind) -> i64 {
        let hours = self.by_kind[kind_index(kind)].sample(rng);
        let min = if interviewing(kind) { 26.0 } else { 2.0 };
        (hours.clamp(min, 24.0 * 120.0) * HOUR as f64) as i64 + rng.random_range(0..3600)
    }
}

/// Entry of an application into a stage.
struct Visit {
    stage: usize,
    at: i64,
}

enum Outcome {
    Active,
    Hired(i64),
    Rejected(i64),
    /// The job closed while the application was in flight.
    Closed(i64),
}

/// Streams candidates and applications until `total` applications are written.
pub struct Flow<'m> {
    model: &'m Model,
    durations: Durations,
    feedback_delay: LogNormal<f64>,
    counters: Counters,
    domains: [&'static str; 4],
}

impl<'m> Flow<'m> {
    pub fn new(model: &'m Model) -> Result<Flow<'m>, SynthError> {
        Ok(Flow {
            model,
            durations: Durations::new()?,
            feedback_delay: LogNormal::new(3.0_f64.ln(), 1.0)
                .map_err(|e| SynthError::Internal(e.to_string()))?,
            counters: Counters::default(),
            domains: [
                "mail.example",
                "inbox.example",
                "post.example",
                "correo.example",
            ],
        })
    }

    pub fn run(
        &mut self,
        total: u64,
        sinks: &mut Sinks,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), SynthError> {
        let mut written = 0_u64;
        let mut candidate = 0_u64;
        let mut last_report = 0_u64;
        if self.model.job_choice.is_empty() {
            return Ok(());
        }
        while written < total {
            written += self.candidate(candidate, written, total - written, sinks)?;
            candidate += 1;
            if written - last_report >= 10_000 || written == total {
                last_report = written;
                progress(Progress {
                    applications_written: written,
                    applications_total: total,
                });
            }
        }
        Ok(())
    }

    /// Writes candidate `ci` and its applications (at most `room`); returns how many.
    fn candidate(
        &mut self,
        ci: u64,
        first_app: u64,
        room: u64,
        sinks: &mut Sinks,
    ) -> Result<u64, SynthError> {
        let model = self.model;
        let ids = model.ids();
        let mut rng = stream(model.seed, Stream::Candidate, ci);
        let wanted = (weighted(&mut rng, &[79.0, 14.0, 5.0, 2.0]) as u64 + 1).min(room);

        // Which jobs, when: the first application anywhere in the job's window, the others
        // within a few months of it, to other jobs open at that time.
        let mut plans: Vec<(usize, i64)> = Vec::with_capacity(wanted as usize);
        let first_job = model.job_choice.sample(&mut rng);
        let first_at = applied_within(&mut rng, &model.jobs[first_job], None);
        plans.push((first_job, first_at));
        let mut attempts = 0;
        while (plans.len() as u64) < wanted && attempts < 20 {
            attempts += 1;
            let job = model.job_choice.sample(&mut rng);
            if plans.iter().any(|(j, _)| *j == job) {
                continue;
            }
            let target = first_at + rng.random_range(-10 * DAY..120 * DAY);
            let at = applied_within(&mut rng, &model.jobs[job], Some(target));
            if (at - target).abs() <= 30 * DAY {
                plans.push((job, at));
            }
        }
        plans.sort_by_key(|(_, at)| *at);
        let created_at = plans.first().map_or(first_at, |p| p.1) - rng.random_range(0..72 * HOUR);

        let whole_names = 0.06;
        let (name, ascii) = crate::model::person_name(&mut rng, whole_names);
        let email = (!chance(&mut rng, 0.06))
            .then(|| format!("{ascii}.{}@{}", ci + 1, pick(&mut rng, &self.domains)));
        let (location, timezone) = {
            let total: f64 = PLACES.iter().map(|p| p.2).sum();
            let mut x = rng.random_range(0.0..total);
            let mut chosen = (PLACES[0].0, PLACES[0].1);
            for place in PLACES {
                if x < place.2 {
                    chosen = (place.0, place.1);
                    break;
                }
                x -= place.2;
            }
            chosen
        };
        let phone = (!chance(&mut rng, 0.25)).then(|| phone_number(&mut rng, timezone));
        let tag_count = weighted(&mut rng, &[55.0, 30.0, 12.0, 3.0]);
        let mut tags: Vec<&'static str> = Vec::with_capacity(tag_count);
        while tags.len() < tag_count {
            let t = *pick(&mut rng, TAGS);
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        let custom_fields = fields::draw(
            "candidate",
            &mut rng,
            &Context {
                at: created_at,
                level: 0,
                serial: ci + 1,
            },
        );
        let demographics = demographics(&mut rng);
        sinks.candidates.row(&CandidateRec {
            id: ids.candidate(ci),
            name: &name,
            email: email.as_deref(),
            phone: phone.as_deref(),
            location,
            timezone,
            created_at: Ts(created_at),
            tags,
            custom_fields,
            demographics,
        })?;

        for (k, (job, applied_at)) in plans.iter().enumerate() {
            self.application(first_app + k as u64, ci, *job, *applied_at, sinks)?;
        }
        Ok(plans.len() as u64)
    }

    fn application(
        &mut self,
        ai: u64,
        ci: u64,
        j: usize,
        applied_at: i64,
        sinks: &mut Sinks,
    ) -> Result<(), SynthError> {
        let model = self.model;
        let ids = model.ids();
        let job = &model.jobs[j];
        let mut rng = stream(model.seed, Stream::Application, ai);
        let app_id = ids.application(ai);

        let source = (!chance(&mut rng, 0.08)).then(|| model.source_choice.sample(&mut rng));
        let credited = match source.and_then(|s| SOURCES.get(s)).map(|s| s.1) {
            Some("referral") => Some(*pick(&mut rng, &model.active_users)),
            Some("sourced") => Some(job.recruiter),
            _ if chance(&mut rng, 0.08) => Some(job.recruiter),
            _ => None,
        };

        // Walk the pipeline.
        let mut visits = vec![Visit {
            stage: 0,
            at: applied_at,
        }];
        let mut stage = 0;
        let mut t = applied_at;
        let outcome = loop {
            let Some(current) = job.stages.get(stage) else {
                break Outcome::Active;
            };
            if current.kind == Kind::Hired {
                break Outcome::Hired(t);
            }
            let next_at = t + self.durations.sample(&mut rng, current.kind);
            if next_at >= job.horizon {
                break if job.status == JobStatus::Open {
                    Outcome::Active
                } else {
                    Outcome::Closed(job.horizon)
                };
            }
            if !chance(&mut rng, pass_rate(current.kind)) {
                break Outcome::Rejected(next_at);
            }
            let mut next = stage + 1;
            let skippable = |s: usize| {
                job.stages
                    .get(s)
                    .is_some_and(|st| !matches!(st.kind, Kind::Offer | Kind::Hired))
            };
            if skippable(next) && skippable(next + 1) && chance(&mut rng, 0.04) {
                next += 1;
            }
            stage = next;
            t = next_at;
            visits.push(Visit { stage, at: t });
        };
        let current_stage = visits.last().map_or(0, |v| v.stage);
        let current_kind = job.stages.get(current_stage).map_or(Kind::Lead, |s| s.kind);

        let (status, hired_at, archived_at, archive_reason) = match outcome {
            Outcome::Active => ("active", None, None, None),
            Outcome::Hired(at) => ("hired", Some(Ts(at)), None, None),
            Outcome::Rejected(at) => {
                let reason = if current_kind == Kind::Offer {
                    "offer declined"
                } else {
                    *pick_weighted(&mut rng, ARCHIVE_REASONS)
                };
                ("archived", None, Some(Ts(at)), Some(reason))
            }
            Outcome::Closed(at) => (
                "archived",
                None,
                Some(Ts(at + rng.random_range(0..2 * DAY))),
                Some(if chance(&mut rng, 0.7) {
                    "position filled"
                } else {
                    "job closed"
                }),
            ),
        };
        let custom_fields = fields::draw(
            "application",
            &mut rng,
            &Context {
                at: applied_at,
                level: job.level,
                serial: ai + 1,
            },
        );
        let stage_id = |s: usize| job.stages.get(s).map_or("", |st| st.id.as_str());
        sinks.applications.row(&ApplicationRec {
            id: app_id,
            candidate_id: ids.candidate(ci),
            job_id: ids.job(j),
            source_id: source.map(|s| ids.source(s)),
            credited_to_user_id: credited.map(|u| ids.user(u)),
            applied_at: Ts(applied_at),
            status,
            current_stage_id: stage_id(current_stage),
            hired_at,
            archived_at,
            archive_reason,
            custom_fields,
        })?;

        for (k, visit) in visits.iter().enumerate() {
            let by = if k == 0 {
                (chance(&mut rng, 0.3)).then_some(job.recruiter)
            } else {
                match weighted(&mut rng, &[60.0, 20.0, 5.0, 15.0]) {
                    0 => Some(job.recruiter),
                    1 => Some(job.hiring_manager),
                    2 => Some(job.coordinator),
                    _ => None,
                }
            };
            let id = ids.transition(self.counters.transitions);
            self.counters.transitions += 1;
            sinks.transitions.row(&TransitionRec {
                id,
                application_id: app_id,
                from_stage_id: k
                    .checked_sub(1)
                    .and_then(|p| visits.get(p))
                    .map(|p| stage_id(p.stage)),
                to_stage_id: stage_id(visit.stage),
                at: Ts(visit.at),
                by_user_id: by.map(|u| ids.user(u)),
            })?;
        }

        // Interviews and offers, from streams of their own.
        let mut irng = stream(model.seed, Stream::Interviews, ai);
        let mut orng = stream(model.seed, Stream::Offers, ai);
        let end_of_last = match outcome {
            Outcome::Active => None,
            Outcome::Hired(at) | Outcome::Rejected(at) | Outcome::Closed(at) => Some(at),
        };
        for (k, visit) in visits.iter().enumerate() {
            let Some(stage) = job.stages.get(visit.stage) else {
                continue;
            };
            let exit = visits.get(k + 1).map(|v| v.at).or(end_of_last);
            let passed = k + 1 < visits.len();
            let rejected_here = !passed && matches!(outcome, Outcome::Rejected(_));
            if interviewing(stage.kind)
                && (stage.kind != Kind::Assessment || chance(&mut irng, 0.3))
            {
                self.interviews(
                    &mut irng,
                    sinks,
                    app_id,
                    job,
                    visit,
                    exit,
                    passed,
                    rejected_here,
                )?;
            }
            if stage.kind == Kind::Offer {
                self.offers(&mut orng, sinks, app_id, job, visit.at, exit, &outcome)?;
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn interviews(
        &mut self,
        rng: &mut Rng,
        sinks: &mut Sinks,
        app_id: Id<'m>,
        job: &'m Job,
        visit: &Visit,
        exit: Option<i64>,
        passed: bool,
        rejected_here: bool,
    ) -> Result<(), SynthError> {
        let model = self.model;
        let ids = model.ids();
        let Some(stage) = job.stages.get(visit.stage) else {
            return Ok(());
        };
        let sessions: Vec<(&'static str, i64)> = match stage.kind {
            Kind::Screen => vec![(stage.name, *pick(rng, &[30, 30, 45]) * MINUTE)],
            Kind::Assessment => vec![("Assessment review", 60 * MINUTE)],
            Kind::Interview => {
                let n = if chance(rng, 0.7) { 1 } else { 2 };
                (0..n)
                    .map(|_| {
                        (
                            *pick(rng, INTERVIEW_SESSIONS),
                            *pick(rng, &[45, 60, 60]) * MINUTE,
                        )
                    })
                    .collect()
            }
            _ => {
                let n = rng.random_range(3..=5);
                (0..n)
                    .map(|_| {
                        (
                            *pick(rng, INTERVIEW_SESSIONS),
                            *pick(rng, &[45, 60, 60, 90]) * MINUTE,
                        )
                    })
                    .collect()
            }
        };
        let total: i64 = sessions.iter().map(|s| s.1 + 15 * MINUTE).sum();
        let earliest = visit.at + HOUR;
        let latest = exit.unwrap_or(visit.at + 14 * DAY) - total - HOUR;
        if latest <= earliest {
            return Ok(());
        }
        let raw = rng.random_range(earliest..latest);
        // Move to office hours in the org's time zone on that day when that fits.
        let local_day = (raw + model.org_offset).div_euclid(DAY);
        let quarter = 15 * MINUTE;
        let last_slot = ((17 * HOUR - total) / quarter).max(36);
        let office =
            local_day * DAY + rng.random_range(36..=last_slot) * quarter - model.org_offset;
        let mut start = if office >= earliest && office <= latest {
            office
        } else {
            ceil_to(raw, quarter)
        };
        let reference = model.reference;
        if start < reference && start + total > reference {
            // Never in progress at the reference time: push it into the future.
            start = ceil_to(reference, quarter) + DAY;
        }
        for (title, length) in sessions {
            let ends = start + length;
            let status = if start >= reference {
                "scheduled"
            } else {
                *pick_weighted(
                    rng,
                    &[("completed", 90.0), ("cancelled", 6.0), ("no_show", 4.0)],
                )
            };
            let mut panel: Vec<(usize, &'static str)> = Vec::with_capacity(3);
            match stage.kind {
                Kind::Screen => {
                    let who = if chance(rng, 0.75) {
                        job.recruiter
                    } else {
                        job.hiring_manager
                    };
                    panel.push((who, "interviewer"));
                }
                _ => {
                    let wanted = if chance(rng, 0.6) { 1 } else { 2 };
                    if chance(rng, 0.2) {
                        panel.push((job.hiring_manager, "interviewer"));
                    }
                    let mut attempts = 0;
                    while panel.len() < wanted && attempts < 10 && !job.interviewers.is_empty() {
                        attempts += 1;
                        let u = *pick(rng, &job.interviewers);
                        if !panel.iter().any(|(p, _)| *p == u) {
                            panel.push((u, "interviewer"));
                        }
                    }
                    if panel.is_empty() {
                        panel.push((job.hiring_manager, "interviewer"));
                    }
                }
            }
            if !model.trainees.is_empty() && chance(rng, 0.15) {
                let (u, role) = *pick(rng, &model.trainees);
                if !panel.iter().any(|(p, _)| *p == u) {
                    panel.push((u, role));
                }
            }
            let interview_id = ids.interview(self.counters.interviews);
            self.counters.interviews += 1;
            sinks.interviews.row(&InterviewRec {
                id: interview_id,
                application_id: app_id,
                stage_id: &stage.id,
                title,
                starts_at: Ts(start),
                ends_at: Ts(ends),
                status,
                interviewers: panel
                    .iter()
                    .map(|(u, role)| PanelRec {
                        user_id: ids.user(*u),
                        role,
                    })
                    .collect(),
            })?;
            if status == "completed" {
                for (user, role) in &panel {
                    if *role == "shadow" || !chance(rng, 0.88) {
                        continue;
                    }
                    let delay = (self.feedback_delay.sample(rng).min(24.0 * 10.0) * HOUR as f64)
                        as i64
                        + 5 * MINUTE;
                    let mut submitted = ends + delay;
                    if let Some(exit) = exit
                        && submitted >= exit
                        && exit - MINUTE > ends
                    {
                        submitted = rng.random_range(ends + 1..exit);
                    }
                    if submitted >= reference {
                        continue;
                    }
                    let weights: &[f64] = if passed {
                        &[0.05, 0.15, 0.55, 0.25]
                    } else if rejected_here {
                        &[0.3, 0.5, 0.18, 0.02]
                    } else {
                        &[0.1, 0.3, 0.45, 0.15]
                    };
                    let rec = weighted(rng, weights);
                    let attributes = if stage.kind == Kind::Screen {
                        SCORE_ATTRIBUTES_SCREEN
                    } else {
                        SCORE_ATTRIBUTES
                    };
                    let n = rng.random_range(2..=attributes.len().min(4));
                    let mut scores: Vec<(&'static str, u8)> = Vec::with_capacity(n);
                    while scores.len() < n {
                        let a = *pick(rng, attributes);
                        if !scores.iter().any(|(x, _)| *x == a) {
                            let centre = rec as i64 + 1;
                            let s = (centre + rng.random_range(-1..=1)).clamp(1, 4);
                            scores.push((a, u8::try_from(s).unwrap_or(1)));
                        }
                    }
                    let feedback_id = ids.feedback(self.counters.feedback);
                    self.counters.feedback += 1;
                    sinks.feedback.row(&FeedbackRec {
                        id: feedback_id,
                        interview_id,
                        application_id: app_id,
                        author_id: ids.user(*user),
                        submitted_at: Ts(submitted),
                        recommendation: ["strong_no", "no", "yes", "strong_yes"][rec.min(3)],
                        scores: Scores(scores),
                        notes: if rec >= 2 {
                            pick_str(rng, NOTES_POSITIVE)
                        } else {
                            pick_str(rng, NOTES_NEGATIVE)
                        },
                    })?;
                }
            }
            start = ends + 15 * MINUTE;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn offers(
        &mut self,
        rng: &mut Rng,
        sinks: &mut Sinks,
        app_id: Id<'m>,
        job: &'m Job,
        entered: i64,
        exit: Option<i64>,
        outcome: &Outcome,
    ) -> Result<(), SynthError> {
        let model = self.model;
        let ids = model.ids();
        let end = exit.unwrap_or(model.reference);
        let span = end - entered;
        let mut versions = match weighted(rng, &[78.0, 16.0, 6.0]) {
            0 => 1,
            1 => 2,
            _ => 3,
        };
        if span < i64::from(versions) * 4 * HOUR {
            versions = 1;
        }
        if span < 2 * MINUTE {
            return Ok(());
        }
        let slot = span / i64::from(versions);
        let hourly = job.period == "hour";
        let round = |x: f64| {
            if hourly {
                (x * 2.0).round() / 2.0
            } else {
                (x / 500.0).round() * 500.0
            }
        };
        let mut amount = round(job.salary * rng.random_range(0.92..1.08));
        for v in 1..=versions {
            let slot_start = entered + slot * i64::from(v - 1);
            let created = slot_start + 1 + (slot as f64 * rng.random_range(0.02..0.3)) as i64;
            let current = v == versions;
            let (status, resolved) = if !current {
                let status = if chance(rng, 0.7) {
                    "declined"
                } else {
                    "rescinded"
                };
                let resolved = created
                    + ((slot_start + slot - created) as f64 * rng.random_range(0.3..0.9)) as i64;
                (status, Some(resolved))
            } else {
                match outcome {
                    Outcome::Hired(at) => (
                        "accepted",
                        Some(created + ((at - created) as f64 * rng.random_range(0.2..0.9)) as i64),
                    ),
                    Outcome::Rejected(at) => (
                        if chance(rng, 0.8) {
                            "declined"
                        } else {
                            "rescinded"
                        },
                        Some(*at),
                    ),
                    Outcome::Closed(at) => ("rescinded", Some(*at)),
                    Outcome::Active => (
                        *pick_weighted(
                            rng,
                            &[
                                ("draft", 15.0),
                                ("pending_approval", 20.0),
                                ("approved", 20.0),
                                ("sent", 45.0),
                            ],
                        ),
                        None,
                    ),
                }
            };
            let start_date = match (status, outcome) {
                ("accepted", Outcome::Hired(at)) => {
                    Some(Day::of(at + rng.random_range(14..45) * DAY))
                }
                ("draft", _) if chance(rng, 0.5) => None,
                _ => Some(Day::of(created + rng.random_range(21..60) * DAY)),
            };
            let bonus = (!hourly && chance(rng, 0.55))
                .then(|| ((amount * rng.random_range(0.05..0.15) / 500.0).round() * 500.0) as u64);
            let equity =
                (job.employment_type == "full_time" && chance(rng, 0.5)).then(|| {
                    match rng.random_range(0..3) {
                        0 => format!("{} RSUs", rng.random_range(1..40) * 250),
                        1 => format!("0.{:02}%", rng.random_range(1..50)),
                        _ => format!("{} options", rng.random_range(1..20) * 1000),
                    }
                });
            let id = ids.offer(self.counters.offers);
            self.counters.offers += 1;
            sinks.offers.row(&OfferRec {
                id,
                application_id: app_id,
                version: v,
                created_at: Ts(created),
                status,
                resolved_at: resolved.map(Ts),
                start_date,
                salary: Salary {
                    amount,
                    currency: job.currency,
                    period: job.period,
                },
                bonus,
                equity,
            })?;
            amount = round(amount * rng.random_range(1.02..1.08));
        }
        Ok(())
    }
}

/// An application time inside the job's window, near `target` when given.
fn applied_within(rng: &mut Rng, job: &Job, target: Option<i64>) -> i64 {
    let lo = job.opened_at;
    let hi = (job.horizon - 2 * HOUR).max(lo + 1);
    match target {
        Some(t) => t.clamp(lo, hi - 1),
        None => rng.random_range(lo..hi),
    }
}

fn phone_number(rng: &mut Rng, timezone: &str) -> String {
    let a = rng.random_range(100..1000);
    let b = rng.random_range(1000..10_000);
    if timezone.starts_with("America/") {
        format!("+1-555-{a}-{b}")
    } else if timezone == "Europe/London" {
        format!("+44 20 7946 0{a}")
    } else if timezone.starts_with("Europe/") {
        format!("+49 30 {a}{b}")
    } else if timezone == "Asia/Kolkata" {
        format!("+91 98{a} {b}{}", rng.random_range(0..10))
    } else {
        format!("+65 6{a} {b}")
    }
}

fn maybe(rng: &mut Rng, items: &[(&'static str, f64)]) -> Option<&'static str> {
    (!chance(rng, 0.08)).then(|| *pick_weighted(rng, items))
}

fn demographics(rng: &mut Rng) -> Option<Demographics> {
    if chance(rng, 0.4) {
        return None;
    }
    Some(Demographics {
        gender: maybe(
            rng,
            &[
                ("female", 45.0),
                ("male", 45.0),
                ("non_binary", 4.0),
                ("decline_to_answer", 6.0),
            ],
        ),
        race_ethnicity: maybe(
            rng,
            &[
                ("asian", 22.0),
                ("black", 13.0),
                ("hispanic_or_latino", 17.0),
                ("white", 38.0),
                ("native_american", 1.0),
                ("pacific_islander", 1.0),
                ("two_or_more", 4.0),
                ("decline_to_answer", 4.0),
            ],
        ),
        veteran_status: maybe(
            rng,
            &[
                ("not_veteran", 88.0),
                ("veteran", 5.0),
                ("decline_to_answer", 7.0),
            ],
        ),
        disability_status: maybe(
            rng,
            &[("no", 82.0), ("yes", 8.0), ("decline_to_answer", 10.0)],
        ),
    })
}
