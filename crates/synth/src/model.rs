//! The org-level model: departments, users, sources, jobs with their pipelines and hiring
//! teams, and interviewer pools.
//!
//! These are small (thousands of rows even at a million applications), so they are built in
//! memory first, written out, and then kept as compact state that the streaming application
//! generator (`flow`) draws references from.

use rand::RngExt;

use crate::fields::{self, Context};
use crate::out::Sink;
use crate::records::{
    CustomFieldRec, DepartmentRec, Fields, Ids, JobRec, MemberRec, PoolRec, SourceRec, StageRec,
    TeamRec, UserRec, Week, WorkingHours,
};
use crate::rng::{
    Cumulative, Rng, Stream, chance, distinct, pick, pick_weighted, stream, weighted,
};
use crate::time::{DAY, HOUR, Ts};
use crate::vocab::{
    DEPARTMENTS, FIRST_NAMES, Family, JOB_LOCATIONS, Kind, LAST_NAMES, LEVELS, PIPELINES, POOLS,
    SOURCES, STAFF_ZONES, WHOLE_NAMES,
};
use crate::{Config, SynthError};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Recruiter,
    HiringManager,
    Interviewer,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Recruiter => "recruiter",
            Role::HiringManager => "hiring_manager",
            Role::Interviewer => "interviewer",
        }
    }
}

pub struct User {
    pub name: String,
    pub email: String,
    pub role: Role,
    pub departments: Vec<usize>,
    pub timezone: &'static str,
    pub hours: Week,
    pub max_per_day: Option<u32>,
    pub max_per_week: Option<u32>,
    pub active: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Draft,
    Open,
    Closed,
    Archived,
}

impl JobStatus {
    fn as_str(self) -> &'static str {
        match self {
            JobStatus::Draft => "draft",
            JobStatus::Open => "open",
            JobStatus::Closed => "closed",
            JobStatus::Archived => "archived",
        }
    }
}

pub struct Stage {
    pub id: String,
    pub name: &'static str,
    pub kind: Kind,
}

pub struct Job {
    pub title: String,
    pub department: usize,
    pub location: usize,
    pub employment_type: &'static str,
    pub status: JobStatus,
    pub confidential: bool,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
    pub headcount: u32,
    pub hiring_manager: usize,
    pub recruiter: usize,
    pub coordinator: usize,
    pub interviewers: Vec<usize>,
    pub stages: Vec<Stage>,
    pub fields: Fields,
    pub level: usize,
    /// Base salary of an offer for this job, in `currency` per `period`.
    pub salary: f64,
    pub currency: &'static str,
    pub period: &'static str,
    /// Applications arrive in `[opened_at, horizon)`; the pipeline stops at `horizon`.
    pub horizon: i64,
}

pub struct Pool {
    pub name: &'static str,
    pub required_shadows: u32,
    pub required_reverse_shadows: u32,
    /// (user, shadows completed, reverse shadows completed, qualified)
    pub members: Vec<(usize, u32, u32, bool)>,
}

/// Everything about the org that applications refer to.
pub struct Model {
    pub org: String,
    pub seed: u64,
    /// The fixed "now" of the generated data.
    pub reference: i64,
    /// The org time zone's UTC offset (seconds) at the reference time; used to put interviews
    /// into office hours.
    pub org_offset: i64,
    pub org_timezone: &'static str,
    pub org_name: String,
    pub departments: usize,
    pub users: Vec<User>,
    pub jobs: Vec<Job>,
    pub pools: Vec<Pool>,
    /// Trainees that may join an interview: (user, role in the panel).
    pub trainees: Vec<(usize, &'static str)>,
    pub job_choice: Cumulative,
    pub source_choice: Cumulative,
    pub active_users: Vec<usize>,
}

fn day_hours(start: u32, end: u32) -> Vec<(u32, u32)> {
    vec![(start, end)]
}

fn week(days: &[usize], intervals: &[(u32, u32)]) -> Week {
    let mut w: Week = Default::default();
    for d in days {
        w[*d] = intervals.to_vec();
    }
    w
}

const WEEKDAYS_MF: &[usize] = &[0, 1, 2, 3, 4];

fn working_hours(rng: &mut Rng) -> Week {
    let h = |hh: u32, mm: u32| hh * 60 + mm;
    match weighted(rng, &[35.0, 10.0, 10.0, 20.0, 5.0, 4.0, 6.0, 3.0, 2.0]) {
        0 => week(WEEKDAYS_MF, &day_hours(h(9, 0), h(17, 0))),
        1 => week(WEEKDAYS_MF, &day_hours(h(8, 30), h(17, 0))),
        2 => week(WEEKDAYS_MF, &day_hours(h(10, 0), h(18, 0))),
        3 => week(WEEKDAYS_MF, &[(h(9, 0), h(12, 0)), (h(13, 0), h(17, 30))]),
        4 => week(&[0, 1, 2, 3], &day_hours(h(9, 0), h(13, 0))),
        5 => week(&[0, 2, 4], &day_hours(h(9, 0), h(17, 0))),
        6 => week(WEEKDAYS_MF, &day_hours(h(7, 0), h(15, 30))),
        7 => {
            let mut w = week(WEEKDAYS_MF, &day_hours(h(9, 0), h(17, 0)));
            w[5] = vec![(h(10, 0), h(14, 0))];
            w
        }
        _ => week(&[6, 0, 1, 2, 3], &day_hours(h(9, 0), h(17, 0))),
    }
}

/// A display name and its ASCII form for e-mail addresses.
pub fn person_name(rng: &mut Rng, whole_name_share: f64) -> (String, String) {
    if chance(rng, whole_name_share) {
        let (name, ascii) = pick(rng, WHOLE_NAMES);
        ((*name).to_owned(), (*ascii).to_owned())
    } else {
        let (first, first_ascii) = pick(rng, FIRST_NAMES);
        let (last, last_ascii) = pick(rng, LAST_NAMES);
        (
            format!("{first} {last}"),
            format!("{first_ascii}.{last_ascii}"),
        )
    }
}

fn slug(org: &str) -> String {
    let s: String = org
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    if s.is_empty() { "org".to_owned() } else { s }
}

fn title_case(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn build_users(config: &Config, count: usize, departments: usize) -> Vec<User> {
    let domain = format!("{}.example", slug(&config.org_id));
    (0..count)
        .map(|i| {
            let mut rng = stream(config.seed, Stream::User, i as u64);
            let role = match i {
                0 | 1 => Role::Admin,
                2..=5 => Role::Recruiter,
                6..=9 => Role::HiringManager,
                _ => *pick_weighted(
                    &mut rng,
                    &[
                        (Role::Admin, 1.0),
                        (Role::Recruiter, 9.0),
                        (Role::HiringManager, 16.0),
                        (Role::Interviewer, 74.0),
                    ],
                ),
            };
            let (name, ascii) = person_name(&mut rng, 0.05);
            let email = format!("{ascii}{}@{domain}", i + 1);
            let mut depts = vec![rng.random_range(0..departments)];
            if chance(&mut rng, 0.15) {
                let other = rng.random_range(0..departments);
                if other != depts[0] {
                    depts.push(other);
                }
            }
            let timezone = *pick_weighted(&mut rng, STAFF_ZONES);
            let hours = working_hours(&mut rng);
            let max_per_day = if chance(&mut rng, 0.3) {
                None
            } else {
                Some(rng.random_range(1..=4))
            };
            let max_per_week = if chance(&mut rng, 0.4) {
                None
            } else {
                Some(max_per_day.unwrap_or(3) * rng.random_range(2..=4))
            };
            let active = i < 10 || !chance(&mut rng, 0.04);
            User {
                name,
                email,
                role,
                departments: depts,
                timezone,
                hours,
                max_per_day,
                max_per_week,
                active,
            }
        })
        .collect()
}

fn pick_from(rng: &mut Rng, preferred: &[usize], fallback: &[usize]) -> usize {
    if !preferred.is_empty() {
        *pick(rng, preferred)
    } else {
        *pick(rng, fallback)
    }
}

struct UserIndex {
    recruiters_all: Vec<usize>,
    recruiters_active: Vec<usize>,
    managers_all: Vec<usize>,
    managers_active: Vec<usize>,
    interviewers_all: Vec<usize>,
    interviewers_active: Vec<usize>,
    by_department: Vec<Vec<usize>>,
}

impl UserIndex {
    fn new(users: &[User], departments: usize) -> UserIndex {
        let filter = |pred: &dyn Fn(&User) -> bool, active_only: bool| -> Vec<usize> {
            users
                .iter()
                .enumerate()
                .filter(|(_, u)| pred(u) && (u.active || !active_only))
                .map(|(i, _)| i)
                .collect()
        };
        let mut by_department = vec![Vec::new(); departments];
        for (i, u) in users.iter().enumerate() {
            if u.active && matches!(u.role, Role::Interviewer | Role::HiringManager) {
                for d in &u.departments {
                    by_department[*d].push(i);
                }
            }
        }
        let is_interviewer = |u: &User| matches!(u.role, Role::Interviewer | Role::HiringManager);
        UserIndex {
            recruiters_all: filter(&|u| u.role == Role::Recruiter, false),
            recruiters_active: filter(&|u| u.role == Role::Recruiter, true),
            managers_all: filter(&|u| u.role == Role::HiringManager, false),
            managers_active: filter(&|u| u.role == Role::HiringManager, true),
            interviewers_all: filter(&is_interviewer, false),
            interviewers_active: filter(&is_interviewer, true),
            by_department,
        }
    }
}

fn pipeline_for(rng: &mut Rng, family: Family, intern: bool) -> &'static [(&'static str, Kind)] {
    let choices: &[usize] = if intern {
        &[4]
    } else {
        match family {
            Family::Engineering | Family::Data => &[0, 1, 2, 7, 0],
            Family::Sales => &[3, 7, 6],
            Family::Product | Family::Marketing => &[5, 0, 3],
            _ => &[6, 0, 1, 3],
        }
    };
    PIPELINES.get(*pick(rng, choices)).copied().unwrap_or(&[])
}

fn build_jobs(
    config: &Config,
    count: usize,
    departments: usize,
    users: &[User],
    reference: i64,
) -> Vec<Job> {
    let index = UserIndex::new(users, departments);
    let ids = Ids {
        org: &config.org_id,
    };
    (0..count)
        .map(|j| {
            let mut rng = stream(config.seed, Stream::Job, j as u64);
            let department = rng.random_range(0..departments);
            let family = DEPARTMENTS
                .get(department)
                .map_or(Family::Engineering, |d| d.2);
            let employment_type = match j {
                0 => "full_time",
                1 => "part_time",
                2 => "contract",
                3 => "intern",
                _ => *pick_weighted(
                    &mut rng,
                    &[
                        ("full_time", 82.0),
                        ("part_time", 5.0),
                        ("contract", 8.0),
                        ("intern", 5.0),
                    ],
                ),
            };
            let intern = employment_type == "intern";
            let level = if intern {
                0
            } else {
                weighted(&mut rng, &[8.0, 20.0, 25.0, 25.0, 12.0, 6.0, 4.0])
            };
            let base_title = *pick(&mut rng, family.titles());
            let title = match LEVELS.get(level) {
                _ if intern => format!("{base_title} Intern"),
                Some((_, prefix, _)) => format!("{prefix}{base_title}"),
                None => base_title.to_owned(),
            };
            let status = match j {
                4 => JobStatus::Draft,
                5 => JobStatus::Open,
                6 => JobStatus::Closed,
                7 => JobStatus::Archived,
                _ => *pick_weighted(
                    &mut rng,
                    &[
                        (JobStatus::Open, 50.0),
                        (JobStatus::Closed, 33.0),
                        (JobStatus::Archived, 10.0),
                        (JobStatus::Draft, 7.0),
                    ],
                ),
            };
            let office_hour = rng.random_range(9..17) * HOUR;
            let (opened_at, closed_at) = match status {
                JobStatus::Draft => (
                    reference - rng.random_range(1..30) * DAY + office_hour,
                    None,
                ),
                JobStatus::Open => (
                    reference - rng.random_range(7..760) * DAY + office_hour,
                    None,
                ),
                JobStatus::Closed | JobStatus::Archived => {
                    let opened = reference - rng.random_range(60..790) * DAY + office_hour;
                    let closed = (opened + rng.random_range(30..240) * DAY).min(reference - DAY);
                    (opened, Some(closed))
                }
            };
            let horizon = closed_at.unwrap_or(reference);
            let location = rng.random_range(0..JOB_LOCATIONS.len());
            let (_, currency, multiplier) = JOB_LOCATIONS
                .get(location)
                .copied()
                .unwrap_or(("", "USD", 1.0));
            let annual = LEVELS.get(level).map_or(120_000.0, |l| l.2) * multiplier;
            let (salary, period) = match employment_type {
                "full_time" => (annual, "year"),
                "contract" => (annual / 2080.0 * 1.3, "hour"),
                "intern" => (annual / 2080.0 * 0.55, "hour"),
                _ => (annual / 2080.0, "hour"),
            };
            let confidential = j == 8 || chance(&mut rng, 0.06);
            let headcount = match weighted(&mut rng, &[40.0, 25.0, 15.0, 20.0]) {
                0 => 1,
                1 => 2,
                2 => 3,
                _ => rng.random_range(4..=10),
            };
            // Hiring teams of jobs that can still have interviews consist of active users only.
            let live = matches!(status, JobStatus::Open | JobStatus::Draft);
            let (recruiters, managers, interviewers) = if live {
                (
                    &index.recruiters_active,
                    &index.managers_active,
                    &index.interviewers_active,
                )
            } else {
                (
                    &index.recruiters_all,
                    &index.managers_all,
                    &index.interviewers_all,
                )
            };
            let hiring_manager = pick_from(&mut rng, managers, &[0]);
            let recruiter = pick_from(&mut rng, recruiters, &[0]);
            let mut coordinator = pick_from(&mut rng, recruiters, &[0]);
            for _ in 0..8 {
                if coordinator != recruiter || recruiters.len() < 2 {
                    break;
                }
                coordinator = pick_from(&mut rng, recruiters, &[0]);
            }
            let wanted = rng.random_range(3..=8);
            let mut panel: Vec<usize> = Vec::with_capacity(wanted);
            let local = index
                .by_department
                .get(department)
                .map_or(&[][..], |v| &v[..]);
            let mut attempts = 0;
            while panel.len() < wanted && attempts < 100 {
                attempts += 1;
                let from_local = !local.is_empty() && chance(&mut rng, 0.7);
                let candidate = if from_local {
                    *pick(&mut rng, local)
                } else {
                    pick_from(&mut rng, interviewers, &[0])
                };
                if candidate != hiring_manager && !panel.contains(&candidate) {
                    panel.push(candidate);
                }
            }
            let template = pipeline_for(&mut rng, family, intern);
            let job_id = ids.job(j);
            let stages = template
                .iter()
                .enumerate()
                .map(|(k, (name, kind))| Stage {
                    id: format!("{}_job_{}_stg_{}", job_id.org, job_id.n, k + 1),
                    name,
                    kind: *kind,
                })
                .collect();
            let fields = fields::draw(
                "job",
                &mut rng,
                &Context {
                    at: opened_at,
                    level,
                    serial: j as u64,
                },
            );
            Job {
                title,
                department,
                location,
                employment_type,
                status,
                confidential,
                opened_at,
                closed_at,
                headcount,
                hiring_manager,
                recruiter,
                coordinator,
                interviewers: panel,
                stages,
                fields,
                level,
                salary,
                currency,
                period,
                horizon,
            }
        })
        .collect()
}

fn build_pools(config: &Config, count: usize, users: &[User]) -> Vec<Pool> {
    let eligible: Vec<usize> = users
        .iter()
        .enumerate()
        .filter(|(_, u)| u.active && matches!(u.role, Role::Interviewer | Role::HiringManager))
        .map(|(i, _)| i)
        .collect();
    (0..count)
        .map(|p| {
            let mut rng = stream(config.seed, Stream::Pool, p as u64);
            let required_shadows = rng.random_range(1..=3);
            let required_reverse_shadows = rng.random_range(1..=2);
            let size = rng.random_range(6..=20);
            let members = distinct(&mut rng, eligible.len(), size)
                .into_iter()
                .map(|k| {
                    let user = eligible[k];
                    if chance(&mut rng, 0.65) {
                        (user, required_shadows, required_reverse_shadows, true)
                    } else {
                        let shadows = rng.random_range(0..=required_shadows);
                        let reverse = if shadows == required_shadows {
                            rng.random_range(0..required_reverse_shadows)
                        } else {
                            0
                        };
                        (user, shadows, reverse, false)
                    }
                })
                .collect();
            Pool {
                name: POOLS.get(p).copied().unwrap_or("Interviewers"),
                required_shadows,
                required_reverse_shadows,
                members,
            }
        })
        .collect()
}

/// The reference time ("now") of a generated org: a Monday, fixed by the seed.
pub fn reference_time(seed: u64) -> i64 {
    let base = crate::time::days_from_civil(2026, 1, 5);
    let weeks = i64::try_from(seed % 26).unwrap_or(0);
    (base + weeks * 7) * DAY
}

impl Model {
    /// The org-level entities of `config`, with "now" at `reference` (Unix seconds).
    pub fn build(config: &Config, reference: i64) -> Result<Model, SynthError> {
        let n = config.applications;
        let departments = usize::try_from((n / 20_000).max(6)).unwrap_or(6);
        let user_count = usize::try_from((n / 250).max(30)).unwrap_or(30);
        let job_count = usize::try_from((n / 250).max(10)).unwrap_or(10);
        let pool_count = usize::try_from(3 + n / 100_000)
            .unwrap_or(3)
            .min(POOLS.len());

        let mut rng = stream(config.seed, Stream::Org, 0);
        let org_timezone = *pick(&mut rng, crate::vocab::ORG_ZONES);
        let org_name = format!(
            "{} {}",
            title_case(&slug(&config.org_id)),
            pick(&mut rng, crate::vocab::ORG_SUFFIXES)
        );
        let tz = jiff::tz::TimeZone::get(org_timezone)?;
        let org_offset = i64::from(
            tz.to_offset(jiff::Timestamp::from_second(reference)?)
                .seconds(),
        );

        let users = build_users(config, user_count, departments);
        let jobs = build_jobs(config, job_count, departments, &users, reference);
        let pools = build_pools(config, pool_count, &users);

        let mut trainees = Vec::new();
        for pool in &pools {
            for (user, shadows, _, qualified) in &pool.members {
                if !qualified {
                    let role = if *shadows < pool.required_shadows {
                        "shadow"
                    } else {
                        "reverse_shadow"
                    };
                    trainees.push((*user, role));
                }
            }
        }
        let job_choice = Cumulative::new(jobs.iter().enumerate().map(|(j, job)| {
            if job.status == JobStatus::Draft {
                return 0.0;
            }
            let mut jr = stream(config.seed, Stream::Job, j as u64 + (1 << 40));
            let popularity: f64 = jr.random_range(0.2..2.0);
            let days = (job.horizon - job.opened_at) as f64 / DAY as f64;
            days.max(1.0) * popularity
        }));
        let source_choice = Cumulative::new(SOURCES.iter().map(|s| s.2));
        let active_users = users
            .iter()
            .enumerate()
            .filter(|(_, u)| u.active)
            .map(|(i, _)| i)
            .collect();
        Ok(Model {
            org: config.org_id.clone(),
            seed: config.seed,
            reference,
            org_offset,
            org_timezone,
            org_name,
            departments,
            users,
            jobs,
            pools,
            trainees,
            job_choice,
            source_choice,
            active_users,
        })
    }

    pub fn ids(&self) -> Ids<'_> {
        Ids { org: &self.org }
    }

    pub fn write_departments(&self, sink: &mut Sink) -> Result<(), SynthError> {
        let ids = self.ids();
        for d in 0..self.departments {
            let (name, parent) = match DEPARTMENTS.get(d) {
                Some((name, parent, _)) => ((*name).to_owned(), parent.map(|p| ids.department(p))),
                None => (
                    format!("Engineering Pod {}", d + 1 - DEPARTMENTS.len()),
                    Some(ids.department(0)),
                ),
            };
            sink.row(&DepartmentRec {
                id: ids.department(d),
                name: &name,
                parent_id: parent,
            })?;
        }
        Ok(())
    }

    pub fn write_users(&self, sink: &mut Sink) -> Result<(), SynthError> {
        let ids = self.ids();
        for (i, u) in self.users.iter().enumerate() {
            sink.row(&UserRec {
                id: ids.user(i),
                name: &u.name,
                email: &u.email,
                role: u.role.as_str(),
                department_ids: u.departments.iter().map(|d| ids.department(*d)).collect(),
                timezone: u.timezone,
                working_hours: WorkingHours(&u.hours),
                max_interviews_per_day: u.max_per_day,
                max_interviews_per_week: u.max_per_week,
                active: u.active,
            })?;
        }
        Ok(())
    }

    pub fn write_sources(&self, sink: &mut Sink) -> Result<(), SynthError> {
        let ids = self.ids();
        for (i, (name, kind, _)) in SOURCES.iter().enumerate() {
            sink.row(&SourceRec {
                id: ids.source(i),
                name,
                kind,
            })?;
        }
        Ok(())
    }

    pub fn write_custom_fields(&self, sink: &mut Sink) -> Result<(), SynthError> {
        let ids = self.ids();
        for (i, f) in fields::FIELDS.iter().enumerate() {
            sink.row(&CustomFieldRec {
                id: ids.custom_field(i),
                entity: f.entity,
                key: f.key,
                label: f.label,
                kind: f.kind,
                options: f.options,
                sensitive: f.sensitive,
            })?;
        }
        Ok(())
    }

    pub fn write_jobs(&self, sink: &mut Sink) -> Result<(), SynthError> {
        let ids = self.ids();
        for (j, job) in self.jobs.iter().enumerate() {
            let mut hiring_team = vec![
                TeamRec {
                    user_id: ids.user(job.hiring_manager),
                    role: "hiring_manager",
                },
                TeamRec {
                    user_id: ids.user(job.recruiter),
                    role: "recruiter",
                },
            ];
            if job.coordinator != job.recruiter {
                hiring_team.push(TeamRec {
                    user_id: ids.user(job.coordinator),
                    role: "coordinator",
                });
            }
            hiring_team.extend(job.interviewers.iter().map(|u| TeamRec {
                user_id: ids.user(*u),
                role: "interviewer",
            }));
            sink.row(&JobRec {
                id: ids.job(j),
                title: &job.title,
                department_id: ids.department(job.department),
                location: JOB_LOCATIONS.get(job.location).map_or("Remote", |l| l.0),
                employment_type: job.employment_type,
                status: job.status.as_str(),
                confidential: job.confidential,
                opened_at: Ts(job.opened_at),
                closed_at: job.closed_at.map(Ts),
                headcount: job.headcount,
                hiring_team,
                stages: job
                    .stages
                    .iter()
                    .enumerate()
                    .map(|(k, s)| StageRec {
                        id: &s.id,
                        name: s.name,
                        kind: s.kind.as_str(),
                        position: k + 1,
                    })
                    .collect(),
                custom_fields: &job.fields,
            })?;
        }
        Ok(())
    }

    pub fn write_pools(&self, sink: &mut Sink) -> Result<(), SynthError> {
        let ids = self.ids();
        for (p, pool) in self.pools.iter().enumerate() {
            sink.row(&PoolRec {
                id: ids.pool(p),
                name: pool.name,
                required_shadows: pool.required_shadows,
                required_reverse_shadows: pool.required_reverse_shadows,
                members: pool
                    .members
                    .iter()
                    .map(|(user, shadows, reverse, qualified)| MemberRec {
                        user_id: ids.user(*user),
                        status: if *qualified { "qualified" } else { "trainee" },
                        shadows_completed: *shadows,
                        reverse_shadows_completed: *reverse,
                    })
                    .collect(),
            })?;
        }
        Ok(())
    }
}
