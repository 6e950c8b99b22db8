//! What a mutation's domain event costs (`bench/mutations.sh`): `moveApplication` and
//! `createCandidate` as the API runs them (`app::hiring`: authorization, one store transaction,
//! the answer's id), with the outbox write on and off (`store::Store::set_emit_events`, a knob
//! for this benchmark only), side by side in one run: each round times a batch of each
//! mutation in both modes, the modes' order alternating from round to round; the medians of
//! the rounds' per-mutation times and their ratio are printed. On SQLite (a file in a
//! temporary folder) and, when `HIREPLANE_BENCH_POSTGRES` names a server, on a fresh
//! PostgreSQL database there. `ROUNDS` (default 15) and `BATCH` (default 100) set the size.
//!
//! Not a test: `cargo bench --workspace --bench mutations` (harness off).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant as Clock};

use app::Services;
use app::hiring::{ApplyToJob, CreateCandidate, CreateJob, MoveApplication, StageInput};
use domain::enums::{EmploymentType, JobStatus, StageKind};
use domain::{Id, Instant};
use store::Store;

const ORG: &str = "mbench";

fn now() -> Instant {
    Instant::from_timestamp(jiff::Timestamp::now())
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// One store's run: the medians (on, off) per mutation.
fn run(url: &str, rounds: usize, batch: usize) -> Vec<(&'static str, Duration, Duration)> {
    let mut store = Store::open(url).unwrap();
    let dir = tempfile::tempdir().unwrap();
    synth::generate(
        &synth::Config {
            org_id: ORG.into(),
            applications: 2_000,
            seed: 1,
        },
        dir.path(),
    )
    .unwrap();
    store
        .import(dir.path(), store::ImportOptions::default(), &mut |_| {})
        .unwrap();
    let services = Services::new();
    let admin = store
        .active_users(ORG)
        .unwrap()
        .into_iter()
        .find(|u| u.role == "admin")
        .unwrap()
        .id;
    let admin = services.access(&mut store, ORG, &admin).unwrap();
    let department = {
        let report = query_syntax::parse("report departments show id order by id limit 1").unwrap();
        let run = services
            .run_report_as(&mut store, admin.clone(), &report, None, now())
            .unwrap();
        let id = run.rows.rows[0][0].to_json();
        Id::parse(id.as_str().unwrap().to_owned()).unwrap()
    };
    let job = services
        .create_job(
            &mut store,
            &admin,
            CreateJob {
                title: "Benchmark Engineer".into(),
                department_id: department,
                location: "Remote".into(),
                employment_type: EmploymentType::FullTime,
                status: JobStatus::Open,
                confidential: false,
                headcount: 1,
                stages: [
                    ("Review", StageKind::ApplicationReview),
                    ("Screen", StageKind::Screen),
                    ("Onsite", StageKind::Onsite),
                    ("Hired", StageKind::Hired),
                ]
                .into_iter()
                .map(|(name, kind)| StageInput {
                    name: name.into(),
                    kind,
                })
                .collect(),
                hiring_team: Vec::new(),
                custom_fields: serde_json::Map::new(),
            },
            now(),
        )
        .unwrap();
    let stages = store.job(ORG, job.as_str()).unwrap().unwrap().stages;
    let (screen, onsite) = (stages[1].id.clone(), stages[2].id.clone());
    // The applications the moves go through, each moved between two stages in turn.
    let mut apps: Vec<(Id, bool)> = Vec::new();
    for i in 0..batch {
        let candidate = services
            .create_candidate(
                &mut store,
                &admin,
                CreateCandidate {
                    name: format!("Mover {i}"),
                    ..CreateCandidate::default()
                },
                now(),
            )
            .unwrap();
        let app = services
            .apply_to_job(
                &mut store,
                &admin,
                ApplyToJob {
                    candidate_id: candidate,
                    job_id: job.clone(),
                    source_id: None,
                    credited_to_id: None,
                    custom_fields: serde_json::Map::new(),
                },
                now(),
            )
            .unwrap();
        apps.push((app, false));
    }
    let mut created = 0usize;
    let mut times: [(&'static str, Vec<Duration>, Vec<Duration>); 2] = [
        ("moveApplication", Vec::new(), Vec::new()),
        ("createCandidate", Vec::new(), Vec::new()),
    ];
    let per = |d: Duration| d / u32::try_from(batch).unwrap();
    // One round of warm-up, not counted.
    for round in 0..=rounds {
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for emit in order {
            store.set_emit_events(emit);
            let started = Clock::now();
            for (app, at_onsite) in apps.iter_mut() {
                let to = if *at_onsite { &screen } else { &onsite };
                services
                    .move_application(
                        &mut store,
                        &admin,
                        MoveApplication {
                            application_id: app.clone(),
                            to_stage_id: to.clone(),
                        },
                        now(),
                    )
                    .unwrap();
                *at_onsite = !*at_onsite;
            }
            let moved = per(started.elapsed());
            let started = Clock::now();
            for _ in 0..batch {
                created += 1;
                services
                    .create_candidate(
                        &mut store,
                        &admin,
                        CreateCandidate {
                            name: format!("Candidate {created}"),
                            email: Some(format!("c{created}@bench.example")),
                            ..CreateCandidate::default()
                        },
                        now(),
                    )
                    .unwrap();
            }
            let made = per(started.elapsed());
            if round > 0 {
                let slot = |t: &mut (&'static str, Vec<Duration>, Vec<Duration>), d| {
                    if emit { t.1.push(d) } else { t.2.push(d) }
                };
                slot(&mut times[0], moved);
                slot(&mut times[1], made);
            }
        }
    }
    store.set_emit_events(true);
    times
        .into_iter()
        .map(|(name, on, off)| (name, median(on), median(off)))
        .collect()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let rounds = env("ROUNDS", 15);
    let batch = env("BATCH", 100);
    let dir = tempfile::tempdir().unwrap();
    let mut stores = vec![(
        "SQLite",
        format!("sqlite://{}", dir.path().join("bench.db").display()),
        None,
    )];
    if let Ok(admin) = std::env::var("HIREPLANE_BENCH_POSTGRES") {
        let name = format!("hp_bench_mutations_{}", std::process::id());
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let base = &admin[..admin.rfind('/').unwrap()];
        stores.push(("PostgreSQL", format!("{base}/{name}"), Some((admin, name))));
    }
    println!(
        "mutation overhead of the outbox: {rounds} rounds of {batch} per mutation and mode, \
         alternated; medians per mutation"
    );
    println!("| store | mutation | with event | without | ratio |");
    println!("|---|---|---|---|---|");
    let mut worst: f64 = 0.0;
    for (label, url, pg) in stores {
        for (name, on, off) in run(&url, rounds, batch) {
            let ratio = on.as_secs_f64() / off.as_secs_f64();
            worst = worst.max(ratio);
            println!(
                "| {label} | {name} | {:.3} ms | {:.3} ms | {ratio:.3}x |",
                on.as_secs_f64() * 1e3,
                off.as_secs_f64() * 1e3
            );
        }
        if let Some((admin, name)) = pg
            && let Ok(mut c) = postgres::Client::connect(&admin, postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
    println!("worst ratio {worst:.3}x (target: at most 1.15x)");
}
