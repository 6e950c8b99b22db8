//! Shared by the policy tests of `app`: fresh stores (SQLite in a temporary folder, PostgreSQL in
//! a freshly created database that is dropped afterwards), generated orgs, the org's Cedar facts
//! computed here from the store's tables with plain SQL (independently of the policy crate's
//! SQL translation), the viewers to test with, and the ids a report returns.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use policy::{Action, Fact, Facts, Policies, Viewer};
use query_compiler::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use store::{ImportOptions, Store};

/// Every report subject keyed by `id`, with the Cedar type of its rows.
pub const SUBJECTS: [(&str, &str); 11] = [
    ("applications", "Application"),
    ("candidates", "Candidate"),
    ("jobs", "Job"),
    ("interviews", "Interview"),
    ("feedback", "Feedback"),
    ("offers", "Offer"),
    ("stage_transitions", "StageTransition"),
    ("users", "User"),
    ("stages", "Stage"),
    ("departments", "Department"),
    ("sources", "Source"),
];

/// A store on a fresh database; dropping it removes the database.
pub struct Fresh {
    store: Option<Store>,
    dir: Option<tempfile::TempDir>,
    /// The admin URL and the database's name.
    pg: Option<(String, String)>,
}

impl Fresh {
    pub fn store(&mut self) -> &mut Store {
        self.store.as_mut().unwrap()
    }

    /// `sqlite` or `postgres`.
    pub fn name(&self) -> &'static str {
        if self.pg.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// The SQLite file (for reading the tables with plain SQL); `None` for PostgreSQL.
    /// The store's URL, to open another connection to it.
    pub fn url(&self) -> String {
        match (&self.pg, self.sqlite_path()) {
            (Some((admin, name)), _) => db_url(admin, name),
            (None, Some(path)) => format!("sqlite://{}", path.display()),
            (None, None) => unreachable!("a fresh store is SQLite or PostgreSQL"),
        }
    }

    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.path().join("store.db"))
    }

    /// Imports an org folder (and gives PostgreSQL statistics, so that plans stay sane).
    pub fn import(&mut self, dir: &Path) {
        self.store()
            .import(dir, ImportOptions::default(), &mut |_| {})
            .unwrap();
        if let Some((admin, name)) = &self.pg {
            let mut c = postgres::Client::connect(&db_url(admin, name), postgres::NoTls).unwrap();
            c.batch_execute("ANALYZE").unwrap();
        }
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        self.store = None;
        if let Some((admin, name)) = &self.pg
            && let Ok(mut c) = postgres::Client::connect(admin, postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

pub fn sqlite() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    Fresh {
        store: Some(Store::open(&url).unwrap()),
        dir: Some(dir),
        pg: None,
    }
}

fn db_url(admin: &str, name: &str) -> String {
    let base = match admin.rfind('/') {
        Some(i)
            if admin[..i].contains("://") && admin[..i].len() > admin.find("://").unwrap() + 2 =>
        {
            &admin[..i]
        }
        _ => admin,
    };
    format!("{base}/{name}")
}

pub fn postgres() -> Fresh {
    static N: AtomicU32 = AtomicU32::new(0);
    let admin = std::env::var("HIREPLANE_TEST_POSTGRES").expect("HIREPLANE_TEST_POSTGRES");
    let name = format!(
        "hp_apptest_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        jiff::Timestamp::now().as_millisecond() % 1_000_000
    );
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let url = db_url(&admin, &name);
    Fresh {
        store: Some(Store::open(&url).unwrap()),
        dir: None,
        pg: Some((admin, name)),
    }
}

/// A generated org folder and the `today` its data is about.
pub struct Generated {
    pub dir: tempfile::TempDir,
    pub org: String,
    pub today: jiff::civil::Date,
}

pub fn generate(org: &str, applications: u64, seed: u64) -> Generated {
    let dir = tempfile::tempdir().unwrap();
    let summary = synth::generate(
        &synth::Config {
            org_id: org.into(),
            applications,
            seed,
        },
        dir.path(),
    )
    .unwrap();
    Generated {
        dir,
        org: org.into(),
        today: summary.reference_time[..10].parse().unwrap(),
    }
}

/// The instant audit events and policy versions are recorded at.
pub fn at() -> domain::Instant {
    domain::Instant::parse("2026-03-01T12:00:00Z").unwrap()
}

/// `HP_POLICY_CASES=N` runs N generated orgs instead of `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("HP_POLICY_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: String,
    pub role: String,
    pub active: bool,
}

/// What the tables say about one org, as Cedar entities with every attribute of
/// `policies/hireplane.cedarschema`, computed here with plain SQL and Rust.
pub struct OrgFacts {
    pub org: String,
    /// `(type, id)` → attributes (without `org`, which `Facts` adds).
    pub entities: BTreeMap<(&'static str, String), Vec<(&'static str, Fact)>>,
    pub users: Vec<UserRow>,
    /// Job id → (confidential, hiring team).
    pub jobs: BTreeMap<String, (bool, BTreeSet<String>)>,
    /// User id → the interviews they have a seat on.
    pub seats: BTreeMap<String, BTreeSet<String>>,
    pub departments: Vec<String>,
}

fn bool_of(v: i64) -> bool {
    v != 0
}

impl OrgFacts {
    /// Reads org `org` from the SQLite file `path`.
    pub fn load(path: &Path, org: &str) -> OrgFacts {
        let c =
            rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        let rows = |sql: &str, n: usize| -> Vec<Vec<Option<String>>> {
            let mut stmt = c.prepare(sql).unwrap();
            let mut out = Vec::new();
            let mut rows = stmt.query([org]).unwrap();
            while let Some(r) = rows.next().unwrap() {
                out.push(
                    (0..n)
                        .map(|i| match r.get_ref(i).unwrap() {
                            rusqlite::types::ValueRef::Null => None,
                            rusqlite::types::ValueRef::Integer(v) => Some(v.to_string()),
                            rusqlite::types::ValueRef::Text(t) => {
                                Some(String::from_utf8(t.to_vec()).unwrap())
                            }
                            other => panic!("unexpected cell {other:?}"),
                        })
                        .collect(),
                );
            }
            out
        };
        let s = |v: &Option<String>| v.clone().unwrap();
        let b = |v: &Option<String>| bool_of(v.as_deref().unwrap().parse().unwrap());
        let mut e: BTreeMap<(&'static str, String), Vec<(&'static str, Fact)>> = BTreeMap::new();

        let users: Vec<UserRow> = rows(
            "SELECT id, role, active FROM users WHERE org_id = ?1 ORDER BY id",
            3,
        )
        .iter()
        .map(|r| UserRow {
            id: s(&r[0]),
            role: s(&r[1]),
            active: b(&r[2]),
        })
        .collect();
        for u in &users {
            e.insert(
                ("User", u.id.clone()),
                vec![
                    ("role", Fact::Text(u.role.clone())),
                    ("active", Fact::Bool(u.active)),
                ],
            );
        }
        let departments: Vec<String> = rows(
            "SELECT id FROM departments WHERE org_id = ?1 ORDER BY id",
            1,
        )
        .iter()
        .map(|r| s(&r[0]))
        .collect();
        for d in &departments {
            e.insert(("Department", d.clone()), vec![]);
        }
        for r in rows("SELECT id, kind FROM sources WHERE org_id = ?1", 2) {
            e.insert(("Source", s(&r[0])), vec![("kind", Fact::Text(s(&r[1])))]);
        }
        let mut team: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in rows(
            "SELECT job_id, user_id, role FROM hiring_team WHERE org_id = ?1",
            3,
        ) {
            team.entry(s(&r[0])).or_default().insert(s(&r[1]));
            // Link rows have no key of their own: named here by their columns.
            e.insert(
                (
                    "HiringTeamMember",
                    format!("{}|{}|{}", s(&r[0]), s(&r[1]), s(&r[2])),
                ),
                vec![
                    ("job", Fact::Entity("Job", s(&r[0]))),
                    ("user", Fact::Entity("User", s(&r[1]))),
                    ("role", Fact::Text(s(&r[2]))),
                ],
            );
        }
        let mut jobs = BTreeMap::new();
        for r in rows(
            "SELECT id, status, confidential, department_id FROM jobs WHERE org_id = ?1",
            4,
        ) {
            let id = s(&r[0]);
            let members = team.get(&id).cloned().unwrap_or_default();
            jobs.insert(id.clone(), (b(&r[2]), members.clone()));
            e.insert(
                ("Job", id),
                vec![
                    ("status", Fact::Text(s(&r[1]))),
                    ("confidential", Fact::Bool(b(&r[2]))),
                    ("department", Fact::Entity("Department", s(&r[3]))),
                    (
                        "hiringTeam",
                        Fact::Entities("User", members.into_iter().collect()),
                    ),
                ],
            );
        }
        for r in rows("SELECT id, job_id, kind FROM stages WHERE org_id = ?1", 3) {
            e.insert(
                ("Stage", s(&r[0])),
                vec![
                    ("job", Fact::Entity("Job", s(&r[1]))),
                    ("kind", Fact::Text(s(&r[2]))),
                ],
            );
        }
        // Seats: interview → users, application → users.
        let mut participants: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut seats: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in rows(
            "SELECT interview_id, user_id, role FROM interview_participants WHERE org_id = ?1",
            3,
        ) {
            e.insert(
                ("InterviewParticipant", format!("{}|{}", s(&r[0]), s(&r[1]))),
                vec![
                    ("interview", Fact::Entity("Interview", s(&r[0]))),
                    ("user", Fact::Entity("User", s(&r[1]))),
                    ("role", Fact::Text(s(&r[2]))),
                ],
            );
            participants.entry(s(&r[0])).or_default().insert(s(&r[1]));
            seats.entry(s(&r[1])).or_default().insert(s(&r[0]));
        }
        let interviews = rows(
            "SELECT id, application_id, stage_id, status FROM interviews WHERE org_id = ?1",
            4,
        );
        let mut app_interviewers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in &interviews {
            let users = participants.get(&s(&r[0])).cloned().unwrap_or_default();
            app_interviewers
                .entry(s(&r[1]))
                .or_default()
                .extend(users.iter().cloned());
            e.insert(
                ("Interview", s(&r[0])),
                vec![
                    ("application", Fact::Entity("Application", s(&r[1]))),
                    ("stage", Fact::Entity("Stage", s(&r[2]))),
                    ("status", Fact::Text(s(&r[3]))),
                    (
                        "participants",
                        Fact::Entities("User", users.into_iter().collect()),
                    ),
                ],
            );
        }
        // Scorecard authors per application.
        let mut authors: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in rows(
            "SELECT application_id, author_id FROM feedback WHERE org_id = ?1",
            2,
        ) {
            authors.entry(s(&r[0])).or_default().insert(s(&r[1]));
        }
        // Jobs' interviewers: unions over their applications.
        let mut job_interviewers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        // Candidates: unions over their applications.
        let mut cand: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>, bool)> =
            rows("SELECT id FROM candidates WHERE org_id = ?1", 1)
                .iter()
                .map(|r| (s(&r[0]), Default::default()))
                .collect();
        for r in rows(
            "SELECT id, job_id, candidate_id, current_stage_id, status, source_id, credited_to_user_id FROM applications WHERE org_id = ?1",
            7,
        ) {
            let (id, job, candidate) = (s(&r[0]), s(&r[1]), s(&r[2]));
            let interviewers = app_interviewers.get(&id).cloned().unwrap_or_default();
            let (confidential, members) = jobs.get(&job).cloned().unwrap();
            let c = cand.get_mut(&candidate).unwrap();
            c.0.extend(members);
            c.1.extend(interviewers.iter().cloned());
            c.2 |= !confidential;
            job_interviewers
                .entry(job.clone())
                .or_default()
                .extend(interviewers.iter().cloned());
            let wrote = authors.get(&id).cloned().unwrap_or_default();
            let mut attrs = vec![
                ("job", Fact::Entity("Job", job)),
                ("candidate", Fact::Entity("Candidate", candidate)),
                ("stage", Fact::Entity("Stage", s(&r[3]))),
                ("status", Fact::Text(s(&r[4]))),
                (
                    "interviewers",
                    Fact::Entities("User", interviewers.into_iter().collect()),
                ),
                (
                    "feedbackAuthors",
                    Fact::Entities("User", wrote.into_iter().collect()),
                ),
            ];
            if let Some(source) = &r[5] {
                attrs.push(("source", Fact::Entity("Source", source.clone())));
            }
            if let Some(user) = &r[6] {
                attrs.push(("creditedTo", Fact::Entity("User", user.clone())));
            }
            e.insert(("Application", id), attrs);
        }
        for job in jobs.keys() {
            let seated = job_interviewers.remove(job).unwrap_or_default();
            if let Some(attrs) = e.get_mut(&("Job", job.clone())) {
                attrs.push((
                    "interviewers",
                    Fact::Entities("User", seated.into_iter().collect()),
                ));
            }
        }
        for (id, (team, interviewers, non_confidential)) in cand {
            e.insert(
                ("Candidate", id),
                vec![
                    (
                        "hiringTeam",
                        Fact::Entities("User", team.into_iter().collect()),
                    ),
                    (
                        "interviewers",
                        Fact::Entities("User", interviewers.into_iter().collect()),
                    ),
                    ("hasNonConfidentialJob", Fact::Bool(non_confidential)),
                ],
            );
        }
        for r in rows(
            "SELECT id, application_id, by_user_id FROM stage_transitions WHERE org_id = ?1",
            3,
        ) {
            let mut attrs = vec![("application", Fact::Entity("Application", s(&r[1])))];
            if let Some(user) = &r[2] {
                attrs.push(("byUser", Fact::Entity("User", user.clone())));
            }
            e.insert(("StageTransition", s(&r[0])), attrs);
        }
        for r in rows(
            "SELECT id, application_id, interview_id, author_id FROM feedback WHERE org_id = ?1",
            4,
        ) {
            e.insert(
                ("Feedback", s(&r[0])),
                vec![
                    ("application", Fact::Entity("Application", s(&r[1]))),
                    ("interview", Fact::Entity("Interview", s(&r[2]))),
                    ("author", Fact::Entity("User", s(&r[3]))),
                ],
            );
        }
        for r in rows(
            "SELECT id, application_id, status FROM offers WHERE org_id = ?1",
            3,
        ) {
            e.insert(
                ("Offer", s(&r[0])),
                vec![
                    ("application", Fact::Entity("Application", s(&r[1]))),
                    ("status", Fact::Text(s(&r[2]))),
                ],
            );
        }
        OrgFacts {
            org: org.to_owned(),
            entities: e,
            users,
            jobs,
            seats,
            departments,
        }
    }

    /// The ids of every entity of Cedar type `ty`.
    pub fn ids(&self, ty: &str) -> Vec<&str> {
        self.entities
            .keys()
            .filter(|(t, _)| *t == ty)
            .map(|(_, id)| id.as_str())
            .collect()
    }

    /// A text attribute of an entity.
    pub fn text_attr(&self, ty: &'static str, id: &str, attr: &str) -> String {
        let attrs = &self.entities[&(ty, id.to_owned())];
        match attrs.iter().find(|(n, _)| *n == attr) {
            Some((_, Fact::Text(t))) => t.clone(),
            other => panic!("{ty}::{id}.{attr}: {other:?}"),
        }
    }

    /// The id a reference attribute of an entity points to.
    pub fn ref_attr(&self, ty: &'static str, id: &str, attr: &str) -> String {
        let attrs = &self.entities[&(ty, id.to_owned())];
        match attrs.iter().find(|(n, _)| *n == attr) {
            Some((_, Fact::Entity(_, target))) => target.clone(),
            other => panic!("{ty}::{id}.{attr}: {other:?}"),
        }
    }

    /// The facts a decision about `(ty, id)` needs: the entity and every entity its references
    /// reach (sets of users are references to users that decisions only test membership of).
    pub fn facts_for(&self, ty: &'static str, id: &str) -> Facts {
        let mut facts = Facts::new(&self.org);
        let mut seen: BTreeSet<(&'static str, String)> = BTreeSet::new();
        let mut queue = VecDeque::from([(ty, id.to_owned())]);
        while let Some(key) = queue.pop_front() {
            if !seen.insert(key.clone()) {
                continue;
            }
            let Some(attrs) = self.entities.get(&key) else {
                continue;
            };
            for (_, f) in attrs {
                if let Fact::Entity(t, i) = f {
                    queue.push_back((t, i.clone()));
                }
            }
            facts.add(key.0, &key.1, attrs.clone());
        }
        facts
    }

    /// The whole org as facts (every entity).
    pub fn all_facts(&self) -> Facts {
        let mut facts = Facts::new(&self.org);
        for ((t, id), attrs) in &self.entities {
            facts.add(t, id, attrs.clone());
        }
        facts
    }

    /// The ids of type `ty` for which Cedar allows `viewer` to do `action`.
    pub fn allowed(
        &self,
        policies: &Policies,
        viewer: &Viewer,
        action: Action,
        ty: &'static str,
    ) -> BTreeSet<String> {
        // Decisions dominate the tests' time: spread them over the machine's cores.
        let ids = self.ids(ty);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = ids.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let handles: Vec<_> = ids
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .filter(|id| self.decide(policies, viewer, action, ty, id))
                            .map(|id| (*id).to_owned())
                            .collect::<Vec<String>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        })
    }

    /// One decision; a decision with evaluation errors means the facts are incomplete.
    pub fn decide(
        &self,
        policies: &Policies,
        viewer: &Viewer,
        action: Action,
        ty: &'static str,
        id: &str,
    ) -> bool {
        let d = policies
            .decide(viewer, action, ty, id, &self.facts_for(ty, id))
            .unwrap();
        assert!(
            d.errors.is_empty(),
            "{action} on {ty}::{id} for {}: {:?}",
            viewer.user,
            d.errors
        );
        d.allowed
    }

    pub fn viewer(&self, user: &UserRow) -> Viewer {
        Viewer {
            org: self.org.clone(),
            user: user.id.clone(),
            role: user.role.clone(),
            active: user.active,
        }
    }

    fn on_confidential_team(&self, user: &str) -> bool {
        self.jobs
            .values()
            .any(|(conf, team)| *conf && team.contains(user))
    }

    fn on_some_team(&self, user: &str) -> bool {
        self.jobs.values().any(|(_, team)| team.contains(user))
    }

    /// Viewers of every role, chosen to cover the policies' cases: an admin; recruiters on and
    /// off confidential jobs' hiring teams; hiring managers on teams and off; interviewers who
    /// sit on interviews and one who does not; an inactive user. Each with why it was chosen.
    pub fn viewers(&self) -> Vec<(String, UserRow)> {
        let mut out: Vec<(String, UserRow)> = Vec::new();
        let mut take = |why: &str, pred: &dyn Fn(&UserRow) -> bool, n: usize| {
            let mut taken = 0;
            for u in &self.users {
                if taken == n {
                    break;
                }
                if pred(u) && !out.iter().any(|(_, o)| o.id == u.id) {
                    out.push((why.to_owned(), u.clone()));
                    taken += 1;
                }
            }
        };
        let seats = |u: &UserRow| self.seats.get(&u.id).is_some_and(|s| !s.is_empty());
        take("admin", &|u| u.active && u.role == "admin", 1);
        take(
            "recruiter on a confidential job's team",
            &|u| u.active && u.role == "recruiter" && self.on_confidential_team(&u.id),
            1,
        );
        take(
            "recruiter on a team, no confidential job",
            &|u| {
                u.active
                    && u.role == "recruiter"
                    && self.on_some_team(&u.id)
                    && !self.on_confidential_team(&u.id)
            },
            1,
        );
        take(
            "recruiter on no team",
            &|u| u.active && u.role == "recruiter" && !self.on_some_team(&u.id),
            1,
        );
        take(
            "hiring manager on a team",
            &|u| u.active && u.role == "hiring_manager" && self.on_some_team(&u.id),
            1,
        );
        take(
            "hiring manager with seats",
            &|u| u.active && u.role == "hiring_manager" && seats(u),
            1,
        );
        take(
            "interviewer with seats",
            &|u| u.active && u.role == "interviewer" && seats(u),
            2,
        );
        take(
            "interviewer without seats",
            &|u| u.active && u.role == "interviewer" && !seats(u),
            1,
        );
        take("inactive user", &|u| !u.active, 1);
        out
    }
}

/// The ids of `subject` that a report run as `user` returns, checking that each id is one row
/// counted once.
pub fn report_ids(
    services: &app::Services,
    store: &mut Store,
    org: &str,
    user: &str,
    subject: &str,
    today: jiff::civil::Date,
) -> BTreeSet<String> {
    let text = format!("report {subject} group by id show count() as n");
    let report = query_syntax::parse(&text).unwrap();
    let run = services
        .run_report(store, org, user, &report, today, at())
        .unwrap_or_else(|e| panic!("{text} as {user}: {e}: {e:?}"));
    let mut ids = BTreeSet::new();
    for row in &run.rows.rows {
        let (Value::Text(id), Value::Integer(n)) = (&row[0], &row[1]) else {
            panic!("{text}: unexpected row {row:?}");
        };
        assert_eq!(*n, 1, "{text} as {user}: {id} counted {n} times");
        assert!(ids.insert(id.clone()), "{text} as {user}: {id} twice");
    }
    ids
}

/// An application as a page of the API reads it: its id, and its candidate's and job's ids
/// (null where the viewer may not see them).
pub type PageRow = (String, Option<String>, Option<String>);

/// Every application `user` sees, read in keyset pages of `size` (`where id > last ... order by
/// id limit size`): the statements the compiler writes in their page form
/// (`query_compiler::Guard::rows_in_page`).
pub fn page_rows(
    services: &app::Services,
    store: &mut Store,
    org: &str,
    user: &str,
    size: usize,
    today: jiff::civil::Date,
) -> Vec<PageRow> {
    let text_of = |v: &Value| match v {
        Value::Text(s) => Some(s.clone()),
        Value::Null => None,
        other => panic!("a page read {other:?} for an id"),
    };
    let mut out: Vec<PageRow> = Vec::new();
    loop {
        let after = match out.last() {
            Some((id, _, _)) => format!("where id > \"{id}\"\n"),
            None => String::new(),
        };
        let text = format!(
            "report applications\n{after}show id, candidate.id as c, job.id as j\norder by id\nlimit {size}"
        );
        let rows = run(services, store, org, user, &text, today);
        let n = rows.len();
        for row in rows {
            let id =
                text_of(&row[0]).unwrap_or_else(|| panic!("{text}: an application without id"));
            out.push((id, text_of(&row[1]), text_of(&row[2])));
        }
        if n < size {
            return out;
        }
    }
}

/// Runs a report as `user`, returning its rows.
pub fn run(
    services: &app::Services,
    store: &mut Store,
    org: &str,
    user: &str,
    text: &str,
    today: jiff::civil::Date,
) -> Vec<Vec<Value>> {
    let report = query_syntax::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
    services
        .run_report(store, org, user, &report, today, at())
        .unwrap_or_else(|e| panic!("{text} as {user}: {e}: {e:?}"))
        .rows
        .rows
}

/// A difference between two id sets, short enough to read.
pub fn diff(expected: &BTreeSet<String>, actual: &BTreeSet<String>) -> String {
    let missing: Vec<&String> = expected.difference(actual).take(8).collect();
    let extra: Vec<&String> = actual.difference(expected).take(8).collect();
    format!(
        "expected {} ids, report returned {}; allowed by Cedar but not returned: {missing:?}; returned but denied by Cedar: {extra:?}",
        expected.len(),
        actual.len()
    )
}

/// The SQLite file holding `generated`: the store's own file, or for PostgreSQL a fresh SQLite
/// copy of the same folder (the facts are always read from SQLite with plain SQL).
pub fn sqlite_copy(store: &Fresh, generated: &Generated) -> PathBuf {
    if let Some(path) = store.sqlite_path() {
        return path;
    }
    static COPIES: std::sync::Mutex<Vec<Fresh>> = std::sync::Mutex::new(Vec::new());
    let mut copy = sqlite();
    copy.import(generated.dir.path());
    let path = copy.sqlite_path().unwrap();
    COPIES.lock().unwrap().push(copy);
    path
}
