//! The policy engine's costs (issue: "a single decision: median at most 10 us; compiling a
//! standard report with the viewer's filters and masks: at most 100 us median (cached
//! filters)"):
//! - `decide/ROLE`: one Cedar decision with the deciding policy ids, shipped policy, facts of an
//!   application and what it references, converted beforehand (`Policies::prepare`), answered
//!   from the viewer's residual policies (`ViewerGuard::decide_prepared`, guard cached);
//!   `decide/ROLE/every-policy` the same decision evaluating every policy in scope
//!   (`Policies::decide_prepared`); `decide/ROLE+facts` the first with the facts converted (and
//!   schema-checked) in each call;
//! - `guard/*`: building a viewer's row filters and masks from scratch (partial evaluation of
//!   every entity type and field action, residuals translated to SQL): what a cache miss costs;
//! - `compile_as_recruiter/*`: every standard report compiled (PostgreSQL) through a recruiter's
//!   cached guard, against the example catalog; `compile_as_admin/*` the same for an admin.
//!
//! ```text
//! cargo bench -p policy --bench policy
//! ```

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use policy::{Action, Fact, Facts, Policies, Viewer};
use query_compiler::{Dialect, MemoryCatalog, compile, library};

fn viewer(user: &str, role: &str) -> Viewer {
    Viewer {
        org: "acme".into(),
        user: user.into(),
        role: role.into(),
        active: true,
    }
}

fn facts() -> Facts {
    let users = |ids: &[&str]| Fact::Entities("User", ids.iter().map(|s| s.to_string()).collect());
    let mut f = Facts::new("acme");
    f.add("Department", "eng", vec![]);
    f.add(
        "Job",
        "j1",
        vec![
            ("status", Fact::Text("open".into())),
            ("confidential", Fact::Bool(true)),
            ("department", Fact::Entity("Department", "eng".into())),
            ("hiringTeam", users(&["r1", "hm1", "c1"])),
        ],
    );
    f.add(
        "Stage",
        "s1",
        vec![
            ("job", Fact::Entity("Job", "j1".into())),
            ("kind", Fact::Text("onsite".into())),
        ],
    );
    f.add(
        "Candidate",
        "c1",
        vec![
            ("hiringTeam", users(&["r1", "hm1", "c1"])),
            ("interviewers", users(&["i1", "i2"])),
            ("hasNonConfidentialJob", Fact::Bool(false)),
        ],
    );
    f.add(
        "Application",
        "a1",
        vec![
            ("job", Fact::Entity("Job", "j1".into())),
            ("candidate", Fact::Entity("Candidate", "c1".into())),
            ("stage", Fact::Entity("Stage", "s1".into())),
            ("status", Fact::Text("active".into())),
            ("interviewers", users(&["i1", "i2"])),
        ],
    );
    f
}

fn bench(c: &mut Criterion) {
    let policies = match Policies::shipped("acme") {
        Ok(p) => p,
        Err(e) => return eprintln!("the shipped policies do not load: {e}"),
    };
    let facts = facts();
    let mut group = c.benchmark_group("decide");
    for (user, role) in [("r1", "recruiter"), ("i9", "interviewer"), ("a1", "admin")] {
        let v = viewer(user, role);
        let Ok(prepared) = policies.prepare(&v, &facts) else {
            return eprintln!("the facts do not convert");
        };
        let guard = match policies.guard(&v) {
            Ok(g) => g,
            Err(e) => return eprintln!("no guard for {role}: {e}"),
        };
        group.bench_function(role, |b| {
            b.iter(|| {
                guard.decide_prepared(
                    &policies,
                    Action::View,
                    "Application",
                    black_box("a1"),
                    &prepared,
                )
            })
        });
        group.bench_function(format!("{role}/every-policy"), |b| {
            b.iter(|| {
                policies.decide_prepared(
                    &v,
                    Action::View,
                    "Application",
                    black_box("a1"),
                    &prepared,
                )
            })
        });
        group.bench_function(format!("{role}+facts"), |b| {
            b.iter(|| {
                guard.decide(
                    &policies,
                    Action::View,
                    "Application",
                    black_box("a1"),
                    &facts,
                )
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("guard");
    for role in ["recruiter", "interviewer"] {
        let v = viewer("u1", role);
        group.bench_function(role, |b| b.iter(|| policies.guard(black_box(&v))));
    }
    group.finish();

    let catalog = MemoryCatalog::example();
    for (label, role) in [
        ("compile_as_recruiter", "recruiter"),
        ("compile_as_admin", "admin"),
    ] {
        let guard = match policies.guard(&viewer("u1", role)) {
            Ok(g) => g,
            Err(e) => return eprintln!("no guard for {role}: {e}"),
        };
        let mut group = c.benchmark_group(label);
        for (name, text) in library::STANDARD {
            if let Err(d) = compile(text, &catalog, Dialect::Postgres, &guard) {
                eprintln!("{label}/{name} does not compile:\n{}", d.render(text, name));
                continue;
            }
            group.bench_function(*name, |b| {
                b.iter(|| compile(black_box(text), &catalog, Dialect::Postgres, &guard))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
