//! The access matrix of a policy set: for each role in each situation (what the user is to a
//! job and its application: on its hiring team, seated on its interview, neither), each entity
//! type and action, whether the policies allow it. Every cell is a single decision
//! ([`Policies::decide`]) over one small world of facts, so the table documents what the
//! policies decide, not what someone thought they did: docs/policy.md holds the shipped
//! policy's table, and a test fails when the two differ. `hireplane policy matrix` prints an
//! org's.

use crate::engine::{Action, Policies, PolicyError, Viewer};
use crate::facts::{Fact, Facts};

/// What the user is to the job and application every row asks about.
#[derive(Debug, Clone, Copy)]
pub struct Situation {
    pub role: &'static str,
    /// The column's heading.
    pub label: &'static str,
    pub confidential: bool,
    pub on_team: bool,
    pub interviews: bool,
}

/// The columns of the matrix.
pub const SITUATIONS: [Situation; 9] = [
    Situation {
        role: "admin",
        label: "admin",
        confidential: true,
        on_team: false,
        interviews: false,
    },
    Situation {
        role: "recruiter",
        label: "recruiter: job not confidential",
        confidential: false,
        on_team: false,
        interviews: false,
    },
    Situation {
        role: "recruiter",
        label: "recruiter: confidential, on its team",
        confidential: true,
        on_team: true,
        interviews: false,
    },
    Situation {
        role: "recruiter",
        label: "recruiter: confidential, not on its team",
        confidential: true,
        on_team: false,
        interviews: false,
    },
    Situation {
        role: "hiring_manager",
        label: "hiring manager: on its team",
        confidential: false,
        on_team: true,
        interviews: false,
    },
    Situation {
        role: "hiring_manager",
        label: "hiring manager: interviews on it (not on its team)",
        confidential: true,
        on_team: false,
        interviews: true,
    },
    Situation {
        role: "hiring_manager",
        label: "hiring manager: neither",
        confidential: false,
        on_team: false,
        interviews: false,
    },
    Situation {
        role: "interviewer",
        label: "interviewer: interviews on it",
        confidential: true,
        on_team: false,
        interviews: true,
    },
    Situation {
        role: "interviewer",
        label: "interviewer: does not",
        confidential: false,
        on_team: false,
        interviews: false,
    },
];

/// Which feedback a row asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scorecard {
    /// Not a feedback row.
    None,
    /// The user's own.
    Own,
    /// Another interviewer's, the user having submitted none on the application.
    Another,
    /// Another interviewer's, the user having submitted their own on the application.
    AnotherAfterOwn,
}

/// One row: an action on the entity of a type in the world.
struct Row {
    ty: &'static str,
    label: &'static str,
    id: &'static str,
    action: Action,
    scorecard: Scorecard,
}

const fn row(ty: &'static str, id: &'static str, action: Action) -> Row {
    Row {
        ty,
        label: ty,
        id,
        action,
        scorecard: Scorecard::None,
    }
}

const fn feedback(label: &'static str, id: &'static str, action: Action, s: Scorecard) -> Row {
    Row {
        ty: "Feedback",
        label,
        id,
        action,
        scorecard: s,
    }
}

/// Stands for the policies' org in [`rows`].
const ORG_ID: &str = "";

fn rows() -> Vec<Row> {
    use Action::*;
    vec![
        row("Org", ORG_ID, Edit),
        row("Org", ORG_ID, ViewDemographicsAggregate),
        row("Org", ORG_ID, ViewQueryPlan),
        row("Department", "d1", View),
        row("Department", "d1", Edit),
        row("Source", "s1", View),
        row("User", "u_other", View),
        row("Stage", "st1", View),
        row("Job", "j1", View),
        row("Job", "j1", Edit),
        row("Job", "j1", ManageHiringTeam),
        row("Job", "j1", ViewDetails),
        row("Job", "j1", ViewSensitiveCustomFields),
        row("HiringTeamMember", "h1", View),
        row("Candidate", "c1", View),
        row("Candidate", "c1", Edit),
        row("Candidate", "c1", ViewContactDetails),
        row("Candidate", "c1", ViewDetails),
        row("Candidate", "c1", ViewSensitiveCustomFields),
        row("Application", "a1", View),
        row("Application", "a1", Edit),
        row("Application", "a1", ViewDetails),
        row("Application", "a1", ViewStageHistory),
        row("Application", "a1", ViewSensitiveCustomFields),
        row("StageTransition", "t1", View),
        row("Interview", "i1", View),
        row("Interview", "i1", Edit),
        row("InterviewParticipant", "p1", View),
        feedback("Feedback (own)", "f_own", View, Scorecard::Own),
        feedback("Feedback (own)", "f_own", Edit, Scorecard::Own),
        feedback("Feedback (another's)", "f_other", View, Scorecard::Another),
        feedback("Feedback (another's)", "f_other", Edit, Scorecard::Another),
        feedback(
            "Feedback (another's, after submitting own)",
            "f_other",
            View,
            Scorecard::AnotherAfterOwn,
        ),
        row("Offer", "o1", View),
        row("Offer", "o1", Edit),
        row("Offer", "o1", ViewCompensation),
    ]
}

/// The world a situation's decisions look at: one job with its pipeline stage, one candidate's
/// application to it with an interview (the user seated when they interview), a stage
/// transition, scorecards by the user and by another interviewer, and an offer.
fn world(org: &str, s: &Situation, submitted_own: bool) -> Facts {
    use Fact::{Bool, Entities, Entity, Text};
    let me = "u_me";
    let other = "u_other";
    let users = |with_me: bool| {
        let mut v = vec![other.to_owned()];
        if with_me {
            v.insert(0, me.to_owned());
        }
        Entities("User", v)
    };
    let team = || users(s.on_team);
    let seats = || users(s.interviews);
    let mut f = Facts::new(org);
    f.add(
        "User",
        other,
        vec![("role", Text("interviewer".into())), ("active", Bool(true))],
    );
    f.add("Department", "d1", vec![]);
    f.add("Source", "s1", vec![("kind", Text("referral".into()))]);
    f.add(
        "Job",
        "j1",
        vec![
            ("status", Text("open".into())),
            ("confidential", Bool(s.confidential)),
            ("department", Entity("Department", "d1".into())),
            ("hiringTeam", team()),
            ("interviewers", seats()),
        ],
    );
    f.add(
        "HiringTeamMember",
        "h1",
        vec![
            ("job", Entity("Job", "j1".into())),
            ("user", Entity("User", other.into())),
            ("role", Text("recruiter".into())),
        ],
    );
    f.add(
        "Stage",
        "st1",
        vec![
            ("job", Entity("Job", "j1".into())),
            ("kind", Text("onsite".into())),
        ],
    );
    f.add(
        "Candidate",
        "c1",
        vec![
            ("hiringTeam", team()),
            ("interviewers", seats()),
            ("hasNonConfidentialJob", Bool(!s.confidential)),
        ],
    );
    f.add(
        "Application",
        "a1",
        vec![
            ("job", Entity("Job", "j1".into())),
            ("candidate", Entity("Candidate", "c1".into())),
            ("stage", Entity("Stage", "st1".into())),
            ("status", Text("active".into())),
            ("interviewers", seats()),
            ("feedbackAuthors", users(submitted_own)),
            ("source", Entity("Source", "s1".into())),
            ("creditedTo", Entity("User", other.into())),
        ],
    );
    f.add(
        "StageTransition",
        "t1",
        vec![
            ("application", Entity("Application", "a1".into())),
            ("byUser", Entity("User", other.into())),
        ],
    );
    f.add(
        "Interview",
        "i1",
        vec![
            ("application", Entity("Application", "a1".into())),
            ("stage", Entity("Stage", "st1".into())),
            ("status", Text("scheduled".into())),
            ("participants", seats()),
        ],
    );
    f.add(
        "InterviewParticipant",
        "p1",
        vec![
            ("interview", Entity("Interview", "i1".into())),
            ("user", Entity("User", other.into())),
            ("role", Text("interviewer".into())),
        ],
    );
    for (id, author) in [("f_own", me), ("f_other", other)] {
        f.add(
            "Feedback",
            id,
            vec![
                ("application", Entity("Application", "a1".into())),
                ("interview", Entity("Interview", "i1".into())),
                ("author", Entity("User", author.into())),
            ],
        );
    }
    f.add(
        "Offer",
        "o1",
        vec![
            ("application", Entity("Application", "a1".into())),
            ("status", Text("draft".into())),
        ],
    );
    f
}

/// Whether `s`'s user may `row`: asked as the API asks it (on top of `view` for everything
/// but `view` itself and the org's actions; `manageHiringTeam` on top of `edit` too).
fn allowed(p: &Policies, s: &Situation, row: &Row) -> Result<bool, PolicyError> {
    let org = p.org();
    let submitted_own = matches!(row.scorecard, Scorecard::Own | Scorecard::AnotherAfterOwn);
    let facts = world(org, s, submitted_own);
    let id = if row.ty == "Org" { org } else { row.id };
    let viewer = Viewer {
        org: org.to_owned(),
        user: "u_me".to_owned(),
        role: s.role.to_owned(),
        active: true,
    };
    let decide = |action| -> Result<bool, PolicyError> {
        Ok(p.decide(&viewer, action, row.ty, id, &facts)?.allowed)
    };
    let mut asked = vec![row.action];
    if row.ty != "Org" && row.action != Action::View {
        asked.insert(0, Action::View);
    }
    if row.action == Action::ManageHiringTeam {
        asked.insert(1, Action::Edit);
    }
    for action in asked {
        if !decide(action)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The matrix of `p` as a markdown table: a row per entity and action, a column per
/// [`Situation`]; `yes` where allowed. Asked in the policies' own org.
pub fn render(p: &Policies) -> Result<String, PolicyError> {
    let mut out = String::from("| entity | action |");
    for s in &SITUATIONS {
        out.push_str(&format!(" {} |", s.label));
    }
    out.push_str("\n|---|---|");
    for _ in &SITUATIONS {
        out.push_str("---|");
    }
    out.push('\n');
    for row in rows() {
        out.push_str(&format!("| {} | `{}` |", row.label, row.action.name()));
        for s in &SITUATIONS {
            out.push_str(if allowed(p, s, &row)? { " yes |" } else { " |" });
        }
        out.push('\n');
    }
    Ok(out)
}
