//! The `hireplane` binary, run as a user runs it: real processes, real files, a real SQLite store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

fn hireplane(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hireplane"))
        .args(args)
        .current_dir(cwd)
        .env_remove("HIREPLANE_DATABASE")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts that the command failed and that its stderr says `needle`; returns the stderr.
fn fails_with(out: &Output, needle: &str) -> String {
    let err = text(&out.stderr);
    assert!(
        !out.status.success(),
        "expected a failure, got success: {err}"
    );
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    err
}

#[test]
fn generate_import_export_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let out = hireplane(
        t,
        &[
            "generate",
            "--org-id",
            "tour",
            "--applications",
            "500",
            "--seed",
            "3",
            "org",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = hireplane(t, &["import", "org"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("imported org `tour`"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        t.join("hireplane.db").exists(),
        "the default store is sqlite://hireplane.db"
    );
    let out = hireplane(t, &["export", "--org", "tour", "back"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        domain::format::canonical_records(&t.join("org")).unwrap(),
        domain::format::canonical_records(&t.join("back")).unwrap()
    );
    let out = hireplane(t, &["orgs"]);
    let listing = text(&out.stdout);
    assert!(listing.contains("org `tour`"), "{listing}");
    assert!(
        listing
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["applications", "500"]),
        "{listing}"
    );
}

#[test]
fn bad_input_exits_non_zero_with_file_and_line_and_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    assert!(
        hireplane(
            t,
            &[
                "generate",
                "--org-id",
                "bad",
                "--applications",
                "200",
                "org"
            ]
        )
        .status
        .success()
    );
    let path = t.join("org/applications.jsonl");
    let body = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = body.lines().map(str::to_owned).collect();
    let mut v: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    v["status"] = "maybe".into();
    lines[1] = v.to_string();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();

    let out = hireplane(t, &["import", "org"]);
    let err = fails_with(
        &out,
        "applications.jsonl:2: status: `maybe` is not one of `active`, `hired`, `archived`",
    );
    assert!(err.contains("nothing was imported"), "{err}");
    let out = hireplane(t, &["orgs"]);
    assert!(
        text(&out.stdout).contains("no orgs yet"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn reimport_is_refused_without_replace() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    assert!(
        hireplane(
            t,
            &[
                "generate",
                "--org-id",
                "again",
                "--applications",
                "100",
                "org"
            ]
        )
        .status
        .success()
    );
    assert!(hireplane(t, &["import", "org"]).status.success());
    let out = hireplane(t, &["import", "org"]);
    fails_with(
        &out,
        "org `again` already exists in the store; pass `--replace` to replace it",
    );
    let out = hireplane(t, &["import", "--replace", "org"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("replaced org `again`"));
}

#[test]
fn demo_builds_a_fresh_store_and_shows_it() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for _ in 0..2 {
        let out = hireplane(
            t,
            &["demo", "--applications", "300", "--today", "2031-05-14"],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let shown = text(&out.stdout);
        assert!(shown.contains("org `demo`"), "{shown}");
        assert!(shown.contains("data as of 2031-05-14T00:00:00Z"), "{shown}");
        assert!(
            shown
                .lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["applications", "300"]),
            "{shown}"
        );
    }
    assert!(t.join("hireplane-demo.db").exists());
}

/// `generate` and `demo` place the data around a date (today unless `--today` names one): the
/// README's headline report over the last 90 days, and upcoming interviews, are never empty.
#[test]
fn generated_data_is_placed_around_its_date() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let out = hireplane(
        t,
        &[
            "generate",
            "--org-id",
            "dated",
            "--applications",
            "400",
            "--seed",
            "5",
            "--today",
            "2030-10-02",
            "org",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(hireplane(t, &["import", "org"]).status.success());
    let count = |today: &str, report: &str| {
        number(&hireplane(
            t,
            &[
                "report",
                "--as",
                "dated_usr_1",
                "--today",
                today,
                report,
                "--format",
                "csv",
            ],
        ))
    };
    let recent = "report applications where applied_at in last 90 days show count() as n";
    let upcoming = "report interviews where starts_at >= today show count() as n";
    assert!(count("2030-10-02", recent) > 0);
    assert!(count("2030-10-02", upcoming) > 0);
    assert_eq!(
        count(
            "2030-10-02",
            "report applications where applied_at > today show count() as n"
        ),
        0
    );
    // Seen from a year later, the same data is old.
    assert_eq!(count("2031-10-02", recent), 0);
    assert_eq!(count("2031-10-02", upcoming), 0);
    // Without --today, the data is around today's date.
    let out = hireplane(
        t,
        &[
            "generate",
            "--org-id",
            "now",
            "--applications",
            "200",
            "now",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let org: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(t.join("now/org.json")).unwrap()).unwrap();
    let created: jiff::Timestamp = org["created_at"].as_str().unwrap().parse().unwrap();
    let age = jiff::Timestamp::now().duration_since(created).as_hours() / 24;
    // The org was created three years (3 x 365 days) before its data's date, today.
    assert!((3 * 365 - 1..=3 * 365 + 1).contains(&age), "{age} days");
    fails_with(
        &hireplane(
            t,
            &[
                "generate",
                "--org-id",
                "x",
                "--applications",
                "10",
                "--today",
                "2030-02-30",
                "x",
            ],
        ),
        "`2030-02-30` is not a date such as `2026-03-02`",
    );
}

/// `serve --demo` takes `demo`'s options; without `--demo` they are refused.
#[test]
fn serve_demo_takes_the_demo_options() {
    use std::io::BufRead as _;
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hireplane"))
        .args([
            "serve",
            "--demo",
            "--applications",
            "120",
            "--seed",
            "3",
            "--today",
            "2029-04-18",
            "--listen",
            "127.0.0.1:0",
        ])
        .current_dir(t)
        .env_remove("HIREPLANE_DATABASE")
        .env("HIREPLANE_LOG_LEVEL", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut banner = String::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.contains("-d '{") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        banner.contains("demo org `demo` (120 applications, seed 3, data as of 2029-04-18)"),
        "{banner}"
    );
    // The example names the port bound, not port 0.
    assert!(!banner.contains("127.0.0.1:0"), "{banner}");
    let bound = banner
        .split("http://")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    assert!(
        banner.contains(&format!("curl -s http://{bound}/graphql")),
        "{banner}"
    );
    // One one-time console sign-in link per role, on the port bound; no token in a URL.
    let links: Vec<&str> = banner
        .lines()
        .filter(|l| l.contains(&format!("http://{bound}/console/code/")))
        .collect();
    assert_eq!(links.len(), 4, "{banner}");
    assert!(links.iter().all(|l| !l.contains("hpt_")), "{banner}");
    let out = hireplane(t, &["--database", "sqlite://hireplane-demo.db", "orgs"]);
    let listing = text(&out.stdout);
    assert!(
        listing
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["applications", "120"]),
        "{listing}"
    );
    fails_with(&hireplane(t, &["serve", "--applications", "10"]), "--demo");
}

#[test]
fn importing_a_missing_folder_says_no_such_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = hireplane(tmp.path(), &["import", "nowhere/"]);
    let err = fails_with(&out, "no such directory");
    assert!(err.contains("`nowhere/`"), "{err}");
    assert!(!err.contains("org.json:0"), "{err}");
}

#[test]
fn a_bad_database_url_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = hireplane(tmp.path(), &["--database", "mysql://x", "orgs"]);
    fails_with(
        &out,
        "`mysql://x` is not a database URL: expected `sqlite://PATH` or `postgres://USER@HOST/DB`",
    );
}

#[test]
fn export_of_an_unknown_org_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = hireplane(tmp.path(), &["export", "--org", "ghost", "out"]);
    fails_with(&out, "no org `ghost` in the store");
}

/// `hireplane warehouse export`: a full export, a delta after a change made by hand, and the
/// refusals, as a user runs them (the exports' contents: crates/warehouse/tests).
#[test]
fn warehouse_export_writes_full_exports_and_deltas() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let out = hireplane(
        t,
        &["generate", "--org-id", "wh", "--applications", "60", "org"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(hireplane(t, &["import", "org"]).status.success());
    let out = hireplane(t, &["warehouse", "export", "--org", "wh", "full"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("full export of org `wh` at event 0 to full: 18 files"),
        "{}",
        text(&out.stdout)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(t.join("full/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["format"], "hireplane-warehouse/1");
    assert_eq!(manifest["kind"], "full");

    let out = hireplane(
        t,
        &[
            "candidate",
            "create",
            "--as",
            "wh_usr_1",
            "--name",
            "Ware House",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = hireplane(
        t,
        &[
            "warehouse",
            "export",
            "--org",
            "wh",
            "--since",
            "full",
            "delta",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("delta export of org `wh` at event 1 to delta: 19 files"),
        "{}",
        text(&out.stdout)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(t.join("delta/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["follows"]["seq"], 0);
    let rows = |table: &str| {
        manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["table"] == table)
            .unwrap()["rows"]
            .clone()
    };
    assert_eq!(rows("candidates"), 1);
    assert_eq!(rows("events"), 1);
    assert_eq!(rows("applications"), 0);

    let out = hireplane(t, &["warehouse", "export", "--org", "wh", "full"]);
    fails_with(&out, "`full` exists and is not an empty folder");
    let out = hireplane(
        t,
        &["warehouse", "export", "--org", "wh", "--since", "org", "d2"],
    );
    fails_with(&out, "`--since`: no manifest at `org`");
    let out = hireplane(t, &["warehouse", "export", "--org", "ghost", "g"]);
    fails_with(&out, "no org `ghost` in the store");
    assert!(!t.join("d2").exists() && !t.join("g").exists());
}

fn example_request() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scheduling/examples/request.json")
}

#[test]
fn schedule_prints_ranked_options_and_repairs_a_decline() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let req = example_request();
    let req = req.to_str().unwrap();
    let out = hireplane(t, &["schedule", req]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.starts_with("option 1: ends "), "{table}");

    let out = hireplane(t, &["schedule", req, "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let solution: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(solution["status"], "options");
    let first = &solution["options"][0];
    assert_eq!(first["rank"], 1);
    let coding = first["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session"] == "coding")
        .unwrap();
    let declined = coding["seats"][0][0].as_str().unwrap().to_owned();
    std::fs::write(t.join("booked.json"), out.stdout).unwrap();

    let out = hireplane(
        t,
        &[
            "schedule",
            req,
            "--repair",
            "booked.json",
            "--declined",
            &declined,
            "--format",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let repaired: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        ["swap_seat", "move_session", "replan"].contains(&repaired["step"].as_str().unwrap()),
        "{repaired}"
    );
    for option in repaired["solution"]["options"].as_array().unwrap() {
        for session in option["sessions"].as_array().unwrap() {
            for seat in session["seats"].as_array().unwrap() {
                assert!(
                    !seat
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p == declined.as_str()),
                    "{declined} still booked: {option}"
                );
            }
        }
    }
}

/// `--time-limit`: a request whose search would run for a long time (infeasible only once
/// people are assigned, over a year) stops soon after the limit with a clear error.
#[test]
fn schedule_stops_at_its_time_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let day = serde_json::json!([["00:00", "24:00"]]);
    let hours = serde_json::json!({ "mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day });
    let people: Vec<_> = (0..11)
        .map(
            |i| serde_json::json!({ "id": format!("u{i}"), "zone": "UTC", "working_hours": hours }),
        )
        .collect();
    let members: Vec<_> = (0..11)
        .map(|i| serde_json::json!({ "user": format!("u{i}"), "status": "qualified" }))
        .collect();
    let sessions: Vec<_> = (0..12)
        .map(|s| {
            serde_json::json!({ "id": format!("s{s}"), "duration_minutes": 15,
            "seats": [ { "pool": if s % 2 == 0 { "a" } else { "b" } } ] })
        })
        .collect();
    let heavy = serde_json::json!({
        "now": "2026-03-01T00:00:00Z",
        "loop": { "sessions": sessions, "split_days": true },
        "candidate": { "zone": "UTC", "windows": [["2026-03-01T00:00:00Z", "2027-03-01T00:00:00Z"]], "horizon_days": 366 },
        "interviewers": people,
        "pools": [ { "id": "a", "members": members }, { "id": "b", "members": members } ]
    });
    std::fs::write(t.join("heavy.json"), heavy.to_string()).unwrap();
    let started = std::time::Instant::now();
    let out = hireplane(t, &["schedule", "heavy.json", "--time-limit", "0.5"]);
    let took = started.elapsed();
    fails_with(
        &out,
        "the search ran out of time before it found any schedule",
    );
    assert!(
        took < std::time::Duration::from_secs(3),
        "took {took:?} with a limit of 0.5 s"
    );
    let out = hireplane(t, &["schedule", "heavy.json", "--time-limit=0"]);
    fails_with(&out, "`0` is not a number of seconds");
}

#[test]
fn a_bad_scheduling_request_names_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let mut req: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example_request()).unwrap()).unwrap();
    req["loop"]["sessions"][1]["seats"][0]["pool"] = "juggling".into();
    std::fs::write(t.join("bad.json"), req.to_string()).unwrap();
    let out = hireplane(t, &["schedule", "bad.json"]);
    let err = fails_with(&out, "invalid scheduling request `bad.json`");
    assert!(
        err.contains("loop.sessions[1].seats[0].pool: unknown pool `juggling`"),
        "{err}"
    );
}

/// The README's scheduling example on an org generated here, with id `acme` so that its ids are
/// the plan's (`acme_pool_1`, `acme_usr_8`, `acme_app_115`): a generated org's eighth user is always
/// an active hiring manager, and its first pools are its coding and system design interviewers.
#[test]
fn schedule_builds_the_request_from_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let out = hireplane(
        t,
        &[
            "generate",
            "--org-id",
            "acme",
            "--applications",
            "300",
            "--seed",
            "7",
            "--today",
            DEMO_DAY,
            "acme",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let acme = t.join("acme");
    let records = |file: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(acme.join(file))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let users = records("users.jsonl");
    let hm = users.iter().find(|u| u["id"] == "acme_usr_8").unwrap();
    assert_eq!(
        (&hm["role"], &hm["active"]),
        (&"hiring_manager".into(), &true.into()),
        "{hm}"
    );
    let pools = records("interviewer_pools.jsonl");
    assert_eq!(pools[0]["id"], "acme_pool_1");
    assert_eq!(pools[1]["id"], "acme_pool_2");
    assert!(
        records("applications.jsonl")
            .iter()
            .any(|a| a["id"] == "acme_app_115")
    );
    assert!(hireplane(t, &["import", "acme"]).status.success());
    // The README's plan as is: no `now` (the clock) and no candidate windows (the whole horizon).
    let plan = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/acme-plan.json");
    let args = [
        "schedule",
        "--org",
        "acme",
        "--application",
        "acme_app_115",
        "--plan",
        plan.to_str().unwrap(),
    ];
    let out = hireplane(t, &[&args[..], &["--format", "json"]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let solution: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(solution["status"], "options", "{solution}");
    let best = &solution["options"][0];
    let hm = best["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session"] == "hiring-manager")
        .unwrap();
    assert_eq!(hm["seats"][0][0], "acme_usr_8");
    // Pool seats are filled by members of the org's pools, as the store has them.
    let members: Vec<&serde_json::Value> = pools[0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["user_id"])
        .collect();
    let coding = best["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session"] == "coding")
        .unwrap();
    let seated = coding["seats"][0].as_array().unwrap();
    assert_eq!(seated.len(), 2, "{coding}");
    for person in seated {
        assert!(members.contains(&person), "{person} is not in acme_pool_1");
    }

    // The plan names no windows: every session falls in the candidate's working hours, weekdays
    // 09:00 to 17:00 in their zone (the README's example once offered 4 a.m.).
    let app = records("applications.jsonl")
        .into_iter()
        .find(|a| a["id"] == "acme_app_115")
        .unwrap();
    let candidate = records("candidates.jsonl")
        .into_iter()
        .find(|c| c["id"] == app["candidate_id"])
        .unwrap();
    let zone = jiff::tz::TimeZone::get(candidate["timezone"].as_str().unwrap()).unwrap();
    for option in solution["options"].as_array().unwrap() {
        for s in option["sessions"].as_array().unwrap() {
            let local = |key: &str| {
                s[key]
                    .as_str()
                    .unwrap()
                    .parse::<jiff::Timestamp>()
                    .unwrap()
                    .to_zoned_datetime(zone.clone())
            };
            let (start, end) = (local("start"), local("end"));
            assert_eq!(start.date(), end.date(), "{s}");
            assert!(start.weekday().to_monday_one_offset() <= 5, "{s}: {start}");
            assert!(start.hour() >= 9, "{s}: starts {start} for the candidate");
            assert!(
                end.hour() < 17 || (end.hour() == 17 && end.minute() == 0),
                "{s}: ends {end} for the candidate"
            );
        }
    }
    // `acme_app_5`'s candidate is in Chicago, whose working hours never meet the hiring
    // manager's in Kolkata: no schedule, rather than one at 4 a.m. for the candidate.
    let mut chicago = args.to_vec();
    chicago[4] = "acme_app_5";
    let out = hireplane(t, &[&chicago[..], &["--format", "json"]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let solution: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(solution["status"], "infeasible", "{solution}");
    assert!(
        solution["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("`acme_usr_8` is not free for 30 min inside working hours and the candidate's windows")),
        "{solution}"
    );
    // The table lists each option's sessions in time order, under one header whose columns
    // line up whatever the names' lengths.
    let out = hireplane(t, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let option1: Vec<&str> = table
        .lines()
        .skip_while(|l| !l.starts_with("option 1:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert!(option1[0].trim_start().starts_with("session"), "{table}");
    assert_eq!(option1.len(), 4, "{table}");
    let column = option1[0].find("start (UTC)").unwrap();
    let starts: Vec<&str> = option1[1..]
        .iter()
        .map(|l| l[column..].split_whitespace().next().unwrap())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted, "{table}");
    assert!(
        option1[3].trim_start().starts_with("hiring-manager"),
        "{table}"
    );

    // An application the org does not have is a clear error.
    let mut bad = args.to_vec();
    bad[4] = "acme_app_nope";
    let out = hireplane(t, &bad);
    fails_with(&out, "no application `acme_app_nope` in the org");
}

#[test]
fn schedule_takes_busy_time_from_icalendar_files() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // A weekly Monday meeting 15:00-17:00 in Kolkata (09:30-11:30 UTC).
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:sync@raj\r\nSUMMARY:Team sync\r\n\
               DTSTART;TZID=Asia/Kolkata:20260302T150000\r\nDTEND;TZID=Asia/Kolkata:20260302T170000\r\n\
               RRULE:FREQ=WEEKLY;BYDAY=MO\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    std::fs::write(t.join("raj.ics"), ics).unwrap();
    let req = example_request();
    let out = hireplane(
        t,
        &[
            "schedule",
            req.to_str().unwrap(),
            "--ics",
            "u-raj=raj.ics",
            "--format",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let solution: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(solution["status"], "options", "{solution}");
    for option in solution["options"].as_array().unwrap() {
        for s in option["sessions"].as_array().unwrap() {
            let with_raj = s["seats"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|x| x.as_array().unwrap())
                .any(|p| p == "u-raj");
            let (start, end) = (s["start"].as_str().unwrap(), s["end"].as_str().unwrap());
            let overlaps = start.starts_with("2026-03-09")
                && start < "2026-03-09T11:30:00Z"
                && end > "2026-03-09T09:30:00Z";
            assert!(
                !(with_raj && overlaps),
                "u-raj booked over his meeting: {s}"
            );
        }
    }
    // Without the calendar, the best loop puts u-raj in exactly that meeting's time.
    let out = hireplane(t, &["schedule", req.to_str().unwrap(), "--format", "json"]);
    let plain: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(plain["options"][0], solution["options"][0]);

    std::fs::write(t.join("bad.ics"), "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART:20261301T090000Z\nEND:VEVENT\nEND:VCALENDAR\n").unwrap();
    let out = hireplane(
        t,
        &["schedule", req.to_str().unwrap(), "--ics", "u-raj=bad.ics"],
    );
    let err = fails_with(&out, "cannot read the calendar `bad.ics`");
    assert!(err.contains("line 4: `DTSTART`"), "{err}");
}

#[path = "../../caldav/tests/support/radicale.rs"]
mod radicale;

#[test]
#[cfg_attr(
    not(hp_radicale),
    ignore = "needs HIREPLANE_TEST_RADICALE: a python with radicale installed (see .ci/run)"
)]
fn schedule_takes_busy_time_from_a_caldav_server() {
    let server = radicale::Radicale::start_with_user("raj", "pw");
    server.mkcalendar("/raj/work/");
    // A weekly Monday meeting 15:00-17:00 in Kolkata (09:30-11:30 UTC), as in the --ics test.
    server.put(
        "/raj/work/sync.ics",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hireplane//cli tests//EN\r\n\
         BEGIN:VTIMEZONE\r\nTZID:Asia/Kolkata\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0530\r\n\
         TZOFFSETTO:+0530\r\nTZNAME:IST\r\nDTSTART:19700101T000000\r\nEND:STANDARD\r\n\
         END:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:sync@raj\r\nDTSTAMP:20260101T000000Z\r\n\
         SUMMARY:Team sync\r\nDTSTART;TZID=Asia/Kolkata:20260302T150000\r\n\
         DTEND;TZID=Asia/Kolkata:20260302T170000\r\nRRULE:FREQ=WEEKLY;BYDAY=MO\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    let tmp = tempfile::tempdir().unwrap();
    let req = example_request();
    let run = |spec: &str, password: &str| {
        Command::new(env!("CARGO_BIN_EXE_hireplane"))
            .args(["schedule", req.to_str().unwrap(), "--caldav", spec])
            .args(["--format", "json"])
            .current_dir(tmp.path())
            .env_remove("HIREPLANE_DATABASE")
            .env("HIREPLANE_CALDAV_USER", "raj")
            .env("HIREPLANE_CALDAV_PASSWORD", password)
            .output()
            .unwrap()
    };
    let spec = format!("u-raj={}", server.url("/raj/work/"));
    let out = run(&spec, "pw");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let solution: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(solution["status"], "options", "{solution}");
    for option in solution["options"].as_array().unwrap() {
        for s in option["sessions"].as_array().unwrap() {
            let with_raj = s["seats"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|x| x.as_array().unwrap())
                .any(|p| p == "u-raj");
            let (start, end) = (s["start"].as_str().unwrap(), s["end"].as_str().unwrap());
            let overlaps = start.starts_with("2026-03-09")
                && start < "2026-03-09T11:30:00Z"
                && end > "2026-03-09T09:30:00Z";
            assert!(
                !(with_raj && overlaps),
                "u-raj booked over his meeting: {s}"
            );
        }
    }
    // Without the calendar, the best loop puts u-raj in exactly that meeting's time.
    let plain = hireplane(
        tmp.path(),
        &["schedule", req.to_str().unwrap(), "--format", "json"],
    );
    let plain: serde_json::Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert_ne!(plain["options"][0], solution["options"][0]);

    // Errors name the --caldav spec and the URL.
    let err = fails_with(&run(&spec, "wrong"), &format!("--caldav `{spec}`"));
    assert!(err.contains("answered 401 unauthorized"), "{err}");
    let bad = format!("u-raj={}", server.url("/raj/nope/"));
    let err = fails_with(&run(&bad, "pw"), &format!("--caldav `{bad}`"));
    assert!(err.contains("answered 404 not found"), "{err}");
    fails_with(&run("u-raj", "pw"), "--caldav `u-raj`: expected PERSON=URL");
    fails_with(
        &run(&format!("nobody={}", server.url("/raj/work/")), "pw"),
        "`nobody` is not an interviewer of the request",
    );
}

/// The demo org's first admin (ids are deterministic).
const ADMIN: &str = "demo_usr_1";
/// The demo's data date in tests: seed 7's own reference date (the data of `generate` without a
/// date), so that tests do not depend on the day they run.
const DEMO_DAY: &str = "2026-02-23";

/// A demo store of 300 applications in `dir`; returns its `--database` argument.
fn demo_store(dir: &Path) -> String {
    let out = hireplane(dir, &["demo", "--applications", "300", "--today", DEMO_DAY]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    "sqlite://hireplane-demo.db".to_owned()
}

#[test]
fn report_runs_text_files_and_standard_reports_in_each_format() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let db = demo_store(t);
    let q = "report applications group by status show count() as n order by status";
    let out = hireplane(
        t,
        &[
            "--database",
            &db,
            "report",
            "--as",
            ADMIN,
            q,
            "--format",
            "csv",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("status,n"));
    let total: i64 = lines
        .map(|l| l.rsplit(',').next().unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(total, 300, "{csv}");

    // The same report from a file and in its JSON form gives the same rows.
    std::fs::write(t.join("by-status.report"), q).unwrap();
    let from_file = hireplane(
        t,
        &[
            "--database",
            &db,
            "report",
            "--as",
            ADMIN,
            "--file",
            "by-status.report",
            "--format",
            "csv",
        ],
    );
    assert_eq!(text(&from_file.stdout), csv);
    let json_form = r#"{"subject":"applications","group_by":[{"expr":{"kind":"path","path":["status"]}}],
        "show":[{"expr":{"kind":"call","function":"count","args":[]},"as":"n"}],
        "order_by":[{"expr":{"kind":"path","path":["status"]}}]}"#;
    let from_json = hireplane(
        t,
        &[
            "--database",
            &db,
            "report",
            "--as",
            ADMIN,
            json_form,
            "--format",
            "csv",
        ],
    );
    assert_eq!(text(&from_json.stdout), csv, "{}", text(&from_json.stderr));

    let out = hireplane(
        t,
        &[
            "--database",
            &db,
            "report",
            "--as",
            ADMIN,
            q,
            "--format",
            "json",
        ],
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r["n"].as_i64().unwrap())
            .sum::<i64>(),
        300
    );

    let list = text(&hireplane(t, &["report", "--list"]).stdout);
    assert!(list.lines().count() >= 15, "{list}");
    for name in list.lines().map(|l| l.split_whitespace().next().unwrap()) {
        let out = hireplane(
            t,
            &[
                "--database",
                &db,
                "report",
                "--as",
                ADMIN,
                "--name",
                name,
                "--today",
                "2026-01-31",
            ],
        );
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains(" row"), "{name}");
    }
}

#[test]
fn a_wrong_report_points_at_the_mistake() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let db = demo_store(t);
    let out = hireplane(
        t,
        &[
            "--database",
            &db,
            "report",
            "--as",
            ADMIN,
            "report applications\nwhere job.departmnet.name = \"x\"",
        ],
    );
    let err = fails_with(&out, "unknown field `departmnet` on jobs");
    assert!(err.contains("--> <report>:2:11"), "{err}");
    assert!(err.contains("^^^^^^^^^^"), "{err}");
    assert!(err.contains("did you mean `department`?"), "{err}");

    let out = hireplane(
        t,
        &[
            "--database",
            &db,
            "report",
            "--as",
            ADMIN,
            "report applications where status = \"hird\"",
        ],
    );
    let err = fails_with(&out, "`hird` is not one of the values");
    assert!(err.contains("did you mean `hired`?"), "{err}");

    let out = hireplane(
        t,
        &[
            "--database",
            &db,
            "report",
            "--as",
            ADMIN,
            "report applications where",
        ],
    );
    fails_with(&out, "<report>:1:26");

    let out = hireplane(
        t,
        &[
            "--database",
            &db,
            "report",
            "--as",
            ADMIN,
            "--name",
            "funel",
        ],
    );
    fails_with(&out, "did you mean `funnel`?");
}

#[test]
fn explain_shows_every_stage() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let db = demo_store(t);
    let out = hireplane(
        t,
        &[
            "--database",
            &db,
            "explain",
            "--as",
            ADMIN,
            "--name",
            "funnel",
            "--today",
            "2026-01-31",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    for section in [
        "== report",
        "== AST",
        "== IR",
        "== SQL (sqlite)",
        "== parameters",
        "== plan (EXPLAIN QUERY PLAN)",
        "== timings",
    ] {
        assert!(shown.contains(section), "{section} missing in {shown}");
    }
    assert!(shown.contains("?1 = \"demo\" (the org)"), "{shown}");
    // Relative dates are bound for the given day: the last 365 days up to 2026-01-31.
    assert!(shown.contains("?2 = "), "{shown}");

    // A report over demographics is explained, not run (red team, pass 14: running it spent
    // the budget and recorded populations that later reports are compared with).
    let mut store = store::Store::open(&format!(
        "sqlite://{}",
        t.join("hireplane-demo.db").display()
    ))
    .unwrap();
    let since = domain::Instant::from_micros(0).unwrap();
    let runs =
        |store: &mut store::Store| store.demographic_runs("demo", ADMIN, since).unwrap().len();
    let before = runs(&mut store);
    let out = hireplane(
        t,
        &[
            "--database",
            &db,
            "explain",
            "--as",
            ADMIN,
            "--name",
            "eeo-applicants",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("== SQL (sqlite)"), "{shown}");
    assert!(
        shown.contains("plan of a report over demographics"),
        "{shown}"
    );
    assert!(
        shown.contains("not run: a report over demographics"),
        "{shown}"
    );
    assert_eq!(runs(&mut store), before, "explain ran the report");
}

/// A report's single number in CSV output.
fn number(out: &Output) -> i64 {
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    csv.lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn reports_run_as_a_user_and_show_what_their_role_allows() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let db = demo_store(t);
    let q = "report applications show count() as n";
    // No viewer: refused, with users to choose from.
    let err = fails_with(
        &hireplane(t, &["--database", &db, "report", q]),
        "a report runs as a user",
    );
    assert!(err.contains("--as USER_ID"), "{err}");
    assert!(err.contains("demo_usr_1 (admin"), "{err}");
    let err = fails_with(
        &hireplane(t, &["--database", &db, "report", "--as", "nobody", q]),
        "org `demo` has no user `nobody`",
    );
    assert!(err.contains("admin: demo_usr_1"), "{err}");

    let count = |user: &str, q: &str| {
        number(&hireplane(
            t,
            &[
                "--database",
                &db,
                "report",
                "--as",
                user,
                q,
                "--format",
                "csv",
            ],
        ))
    };
    let users = text(
        &hireplane(
            t,
            &[
                "--database",
                &db,
                "report",
                "--as",
                ADMIN,
                "report users group by role, id order by role, id show count() as n",
                "--format",
                "csv",
            ],
        )
        .stdout,
    );
    let first = |role: &str| {
        users
            .lines()
            .find(|l| l.starts_with(&format!("{role},")))
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .to_owned()
    };
    let interviewer = first("interviewer");
    let all = count(ADMIN, q);
    assert_eq!(all, 300);
    let some = count(&interviewer, q);
    assert!(some < all, "{some} of {all}");
    // No salary for interviewers, whatever the report does with it.
    let pay = "report offers where salary > 0 show count() as n";
    assert!(count(ADMIN, pay) > 0);
    assert_eq!(count(&interviewer, pay), 0);

    // explain shows the viewer's filters and the policies behind them.
    let out = hireplane(t, &["--database", &db, "explain", "--as", &interviewer, q]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("== policy (as `"), "{shown}");
    assert!(shown.contains("rows of applications: filtered"), "{shown}");
    assert!(
        shown.contains("interviewer-applications: when { resource.interviewers.contains("),
        "{shown}"
    );
    // The database's plan is an operator's tool: not for an interviewer (its row counts
    // include rows they may not see), said in its place.
    assert!(!shown.contains("== plan (EXPLAIN"), "{shown}");
    assert!(
        shown.contains("not shown: the database's plan is an operator's tool"),
        "{shown}"
    );
    // The audit log has the denied salary read, without any value.
    let out = hireplane(
        t,
        &["--database", &db, "audit", "--denied", "--format", "csv"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let log = text(&out.stdout);
    assert!(
        log.lines()
            .any(|l| l.contains(&format!(",{interviewer},viewCompensation,offers,denied,"))),
        "{log}"
    );
}

/// `policy decide` answers scripts through its exit status: 0 allowed, 1 denied (the decision
/// printed either way, no error line), and an error is not a decision.
#[test]
fn policy_decide_exits_non_zero_when_denied() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let db = demo_store(t);
    // Only admins may do anything: a recruiter is denied.
    std::fs::write(
        t.join("admins.cedar"),
        "@id(\"admins\")\npermit (principal, action, resource)\nwhen { principal.role == \"admin\" };\n",
    )
    .unwrap();
    let out = hireplane(t, &["--database", &db, "policy", "set", "admins.cedar"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let users = text(
        &hireplane(
            t,
            &[
                "--database",
                &db,
                "report",
                "--as",
                ADMIN,
                "report users where role = \"recruiter\" group by id order by id show count() as n",
                "--format",
                "csv",
            ],
        )
        .stdout,
    );
    let recruiter = users
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_owned();
    let decide = |user: &str| {
        hireplane(
            t,
            &[
                "--database",
                &db,
                "policy",
                "decide",
                "view",
                "Application",
                "demo_app_1",
                "--as",
                user,
            ],
        )
    };
    let allowed = decide(ADMIN);
    assert_eq!(allowed.status.code(), Some(0), "{}", text(&allowed.stderr));
    assert!(
        text(&allowed.stdout).starts_with("allowed: "),
        "{}",
        text(&allowed.stdout)
    );
    let denied = decide(&recruiter);
    assert_eq!(denied.status.code(), Some(1), "{}", text(&denied.stderr));
    assert!(
        text(&denied.stdout).starts_with("denied: "),
        "{}",
        text(&denied.stdout)
    );
    assert_eq!(
        text(&denied.stderr),
        "",
        "a denial is an answer, not an error"
    );
    // An unknown user is an error, with its message.
    fails_with(&decide("nobody"), "error:");
}

#[test]
fn org_policy_files_are_validated_set_and_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let db = demo_store(t);
    let q = "report applications show count() as n";
    std::fs::write(
        t.join("bad.cedar"),
        "@id(\"pay\")\npermit (principal, action, resource is Hireplane::Offer)\nwhen { resource.salary > 1 };\n",
    )
    .unwrap();
    let err = fails_with(
        &hireplane(t, &["--database", &db, "policy", "validate", "bad.cedar"]),
        "bad.cedar:3:",
    );
    assert!(err.contains("policy `pay`"), "{err}");
    std::fs::write(
        t.join("peek.cedar"),
        "@id(\"peek\") permit (principal, action, resource) when { principal.org == Hireplane::Org::\"globex\" };\n",
    )
    .unwrap();
    fails_with(
        &hireplane(t, &["--database", &db, "policy", "set", "peek.cedar"]),
        "names org `globex`",
    );
    let shown = text(&hireplane(t, &["--database", &db, "policy", "show"]).stdout);
    assert!(
        shown.starts_with("// org `demo` uses the shipped default policy"),
        "{shown}"
    );
    // The access matrix of the policies in force: the shipped one's, as docs/policy.md has it.
    let out = hireplane(t, &["--database", &db, "policy", "matrix"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let matrix = text(&out.stdout);
    assert!(
        matrix.starts_with("Access matrix of org `demo` ("),
        "{matrix}"
    );
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/policy.md"),
    )
    .unwrap();
    let table = &matrix[matrix.find("| entity |").unwrap()..];
    assert!(doc.contains(table), "{matrix}");

    // Admins see only active applications under the org's own file.
    std::fs::write(
        t.join("active.cedar"),
        "@id(\"admin-active\")\npermit (principal, action, resource)\nwhen { principal.role == \"admin\" };\n\n@id(\"no-archived\")\nforbid (principal, action == Hireplane::Action::\"view\", resource is Hireplane::Application)\nwhen { resource.status == \"archived\" };\n",
    )
    .unwrap();
    let out = hireplane(
        t,
        &["--database", &db, "policy", "validate", "active.cedar"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = hireplane(
        t,
        &[
            "--database",
            &db,
            "policy",
            "set",
            "active.cedar",
            "--by",
            ADMIN,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("policy version 1"));
    let shown = text(&hireplane(t, &["--database", &db, "policy", "show"]).stdout);
    assert!(shown.starts_with("// org `demo` policy v1 set "), "{shown}");
    assert!(shown.contains("no-archived"), "{shown}");
    let visible = number(&hireplane(
        t,
        &[
            "--database",
            &db,
            "report",
            "--as",
            ADMIN,
            q,
            "--format",
            "csv",
        ],
    ));
    let not_archived = number(&hireplane(
        t,
        &[
            "--database",
            &db,
            "report",
            "--as",
            ADMIN,
            "report applications where status != \"archived\" show count() as n",
            "--format",
            "csv",
        ],
    ));
    assert_eq!(visible, not_archived);
    assert!(visible < 300);
}

/// Every change of an org's policy is in the audit log (who, the version, the text's hash), and
/// `policy reset` returns the org to the shipped default, also audited.
#[test]
fn policy_changes_are_audited_and_reset_returns_to_the_default() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let db = demo_store(t);
    let all = "report applications show count() as n";
    let count = || {
        number(&hireplane(
            t,
            &[
                "--database",
                &db,
                "report",
                "--as",
                ADMIN,
                all,
                "--format",
                "csv",
            ],
        ))
    };
    assert_eq!(count(), 300);
    let policy = "@id(\"admin-active\")\npermit (principal, action, resource)\nwhen { principal.role == \"admin\" };\n\n@id(\"no-archived\")\nforbid (principal, action == Hireplane::Action::\"view\", resource is Hireplane::Application)\nwhen { resource.status == \"archived\" };\n";
    std::fs::write(t.join("mine.cedar"), policy).unwrap();
    let out = hireplane(
        t,
        &[
            "--database",
            &db,
            "policy",
            "set",
            "mine.cedar",
            "--by",
            ADMIN,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("(policy version 1, sha256 "), "{said}");
    assert!(count() < 300);
    // An empty file is not a way back to the default.
    std::fs::write(t.join("empty.cedar"), "").unwrap();
    fails_with(
        &hireplane(t, &["--database", &db, "policy", "set", "empty.cedar"]),
        "the policy file `empty.cedar` is empty; `hireplane policy reset` returns an org to the shipped default",
    );
    let out = hireplane(t, &["--database", &db, "policy", "reset", "--by", ADMIN]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "org `demo` now uses the shipped default policy (policy version 2)\n"
    );
    assert_eq!(count(), 300);
    let shown = text(&hireplane(t, &["--database", &db, "policy", "show"]).stdout);
    assert!(
        shown.starts_with("// org `demo` uses the shipped default policy (reset at v2 "),
        "{shown}"
    );
    assert!(shown.contains(&format!(" by {ADMIN})")), "{shown}");
    // The log, newest first: the reset, then the change (the empty file changed nothing).
    let out = hireplane(t, &["--database", &db, "audit", "--format", "csv"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let log = text(&out.stdout);
    let changes: Vec<&str> = log.lines().filter(|l| l.contains("Policy,")).collect();
    assert_eq!(changes.len(), 2, "{log}");
    assert!(
        changes[0].contains(&format!(
            ",{ADMIN},resetPolicy,policy v2,allowed,,,the shipped default, sha256 "
        )) || changes[0].contains(&format!(
            ",{ADMIN},resetPolicy,policy v2,allowed,,,\"the shipped default, sha256 "
        )),
        "{log}"
    );
    assert!(
        changes[1].contains(&format!(",{ADMIN},setPolicy,policy v1,allowed,,,sha256 ")),
        "{log}"
    );
    // The hash in the log is the one `policy set` printed.
    let hash = said
        .split("sha256 ")
        .nth(1)
        .unwrap()
        .trim_end_matches(")\n");
    assert!(changes[1].ends_with(hash), "{log}");
}

/// The hiring workflow's commands by hand (`candidate create`, `application move|archive|hire`,
/// `interview schedule|cancel`, `feedback submit`, `offer create`), on the store at `db` (an
/// empty database): each changes the store as the API's mutation does, prints the record as
/// the caller reads it, and refuses with the API's own messages.
fn workflow_commands_by_hand(db: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let run = |args: &[&str]| hireplane(t, &[&["--database", db][..], args].concat());
    let ok = |args: &[&str]| -> serde_json::Value {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let out = hireplane(
        t,
        &[
            "generate",
            "--org-id",
            "wf",
            "--applications",
            "60",
            "--seed",
            "7",
            "--today",
            DEMO_DAY,
            "org",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["import", "org"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows = |user: &str, report: &str| -> Vec<serde_json::Value> {
        let v = ok(&["report", "--as", user, "--format", "json", report]);
        v.as_array().unwrap().clone()
    };
    let admin = "wf_usr_1";
    let users = rows(admin, "report users show id, role order by id");
    let of_role = |role: &str| -> String {
        users.iter().find(|u| u["role"] == role).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(of_role("admin"), admin);
    let interviewer = of_role("interviewer");
    // An active application and the stages of its job.
    let app = &rows(
        admin,
        r#"report applications where status = "active" and job.status = "open" show id, job.id as job, current_stage.id as stage order by id limit 1"#,
    )[0];
    let application = app["id"].as_str().unwrap().to_owned();
    let job = app["job"].as_str().unwrap().to_owned();
    let stages = rows(
        admin,
        &format!(r#"report stages where job.id = "{job}" show id, name, kind order by position"#),
    );
    let other = stages
        .iter()
        .find(|s| s["id"] != app["stage"] && s["kind"] != "hired")
        .unwrap();
    let to_stage = other["id"].as_str().unwrap();

    // application move: the record as the caller reads it.
    let moved = ok(&[
        "application",
        "move",
        "--as",
        admin,
        "--application-id",
        &application,
        "--to-stage-id",
        to_stage,
    ]);
    assert_eq!(moved["id"], application.as_str());
    assert_eq!(moved["stage"], other["name"]);
    assert_eq!(moved["status"], "active");
    let stored = rows(
        admin,
        &format!(r#"report applications where id = "{application}" show current_stage.id as s"#),
    );
    assert_eq!(stored[0]["s"], to_stage);
    // The API's refusals, word for word (crates/server/tests/it/api.rs).
    let out = run(&[
        "application",
        "move",
        "--as",
        admin,
        "--application-id",
        &application,
        "--to-stage-id",
        "no_such_stage",
    ]);
    let err = fails_with(
        &out,
        "error: `toStageId`: no stage `no_such_stage` (or the caller may not see it)",
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let out = run(&[
        "application",
        "move",
        "--as",
        admin,
        "--application-id",
        "wf_app_nope",
        "--to-stage-id",
        to_stage,
    ]);
    fails_with(
        &out,
        "error: no Application `wf_app_nope` (or the caller may not see it)",
    );
    // An interviewer may not move applications: they see no application they are not on.
    let out = run(&[
        "application",
        "move",
        "--as",
        &interviewer,
        "--application-id",
        &application,
        "--to-stage-id",
        to_stage,
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("(or the caller may not see it)") || err.contains("may not `edit`"),
        "{err}"
    );
    // `--as` someone who is not a user of the org.
    let out = run(&[
        "application",
        "hire",
        "--as",
        "nobody",
        "--application-id",
        &application,
    ]);
    fails_with(&out, "org `wf` has no user `nobody`");

    // candidate create, applied to the job at once; a source without a job is refused.
    let created = ok(&[
        "candidate",
        "create",
        "--as",
        admin,
        "--name",
        "Ada Lovelace",
        "--email",
        "ada@example.com",
        "--tag",
        "referral",
        "--job-id",
        &job,
    ]);
    assert_eq!(created["name"], "Ada Lovelace");
    assert_eq!(created["email"], "ada@example.com");
    let candidate = created["id"].as_str().unwrap().to_owned();
    let theirs = rows(
        admin,
        &format!(r#"report applications where candidate.id = "{candidate}" show id, status"#),
    );
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["status"], "active");
    let new_application = theirs[0]["id"].as_str().unwrap().to_owned();
    let out = run(&[
        "candidate",
        "create",
        "--as",
        admin,
        "--name",
        "Grace",
        "--source-id",
        "wf_src_1",
    ]);
    fails_with(
        &out,
        "error: `sourceId` needs `jobId`: a source is where an application came from",
    );

    // candidate merge: a second record of the same person, tied to no job, merged into the
    // first (admins only by default); the interviewer is refused with the API's message.
    let loose = ok(&[
        "candidate",
        "create",
        "--as",
        admin,
        "--name",
        "Ada L.",
        "--phone",
        "+44 20 7946 0000",
    ]);
    let loose = loose["id"].as_str().unwrap().to_owned();
    let out = run(&[
        "candidate",
        "merge",
        "--as",
        &interviewer,
        &candidate,
        &loose,
    ]);
    assert!(!out.status.success());
    let merged = ok(&["candidate", "merge", "--as", admin, &candidate, &loose]);
    assert_eq!(merged["id"], candidate.as_str());
    assert_eq!(
        merged["phone"], "+44 20 7946 0000",
        "filled from the duplicate"
    );
    let out = run(&["candidate", "merge", "--as", admin, &candidate, &candidate]);
    fails_with(&out, "error: `merge`: `");
    let out = run(&["candidate", "duplicates", "--as", admin]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for line in text(&out.stdout).lines() {
        let group: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            group["candidateIds"].as_array().unwrap().len() >= 2,
            "{line}"
        );
    }

    // interview schedule: one ahead, then cancelled; one that took place, recorded completed.
    let interview_stage = stages[0]["id"].as_str().unwrap();
    let ahead = ok(&[
        "interview",
        "schedule",
        "--as",
        admin,
        "--application-id",
        &new_application,
        "--stage-id",
        interview_stage,
        "--title",
        "Phone screen",
        "--starts-at",
        "2099-03-02T09:00:00Z",
        "--ends-at",
        "2099-03-02T09:45:00Z",
        "--participant",
        &interviewer,
    ]);
    assert_eq!(ahead["status"], "scheduled");
    assert_eq!(ahead["application"], new_application.as_str());
    let cancelled = ok(&[
        "interview",
        "cancel",
        "--as",
        admin,
        "--interview-id",
        ahead["id"].as_str().unwrap(),
    ]);
    assert_eq!(cancelled["status"], "cancelled");
    let out = run(&[
        "interview",
        "cancel",
        "--as",
        admin,
        "--interview-id",
        ahead["id"].as_str().unwrap(),
    ]);
    fails_with(&out, "only a scheduled one can be cancelled");
    let out = run(&[
        "interview",
        "schedule",
        "--as",
        admin,
        "--application-id",
        &new_application,
        "--stage-id",
        interview_stage,
        "--title",
        "Backwards",
        "--starts-at",
        "2099-03-02T09:00:00Z",
        "--ends-at",
        "nonsense",
        "--participant",
        &interviewer,
    ]);
    fails_with(&out, "error: `endsAt`: ");
    let done = ok(&[
        "interview",
        "schedule",
        "--as",
        admin,
        "--application-id",
        &new_application,
        "--stage-id",
        interview_stage,
        "--title",
        "Coding",
        "--starts-at",
        "2026-01-05T09:00:00Z",
        "--ends-at",
        "2026-01-05T10:00:00Z",
        "--status",
        "completed",
        "--participant",
        &format!("{interviewer}:interviewer"),
    ]);
    assert_eq!(done["status"], "completed");
    let done = done["id"].as_str().unwrap().to_owned();

    // feedback submit: only a participant; scores as the API checks them.
    let out = run(&[
        "feedback",
        "submit",
        "--as",
        admin,
        "--interview-id",
        &done,
        "--recommendation",
        "yes",
    ]);
    fails_with(&out, "error: `interviewId`: ");
    let out = run(&[
        "feedback",
        "submit",
        "--as",
        &interviewer,
        "--interview-id",
        &done,
        "--recommendation",
        "yes",
        "--score",
        "coding=x",
    ]);
    fails_with(
        &out,
        r#"error: `scores["coding"]` must be a whole number 1 to 4"#,
    );
    let scorecard = ok(&[
        "feedback",
        "submit",
        "--as",
        &interviewer,
        "--interview-id",
        &done,
        "--recommendation",
        "strong_yes",
        "--score",
        "coding=4",
        "--notes",
        "clear and careful",
    ]);
    assert_eq!(scorecard["recommendation"], "strong_yes");
    assert_eq!(scorecard["interview"], done.as_str());

    // offer create, then hire: a draft offer is no hire; an accepted one is.
    let out = run(&[
        "offer",
        "create",
        "--as",
        admin,
        "--application-id",
        &new_application,
        "--salary",
        "90000",
    ]);
    fails_with(
        &out,
        "error: `terms.salaryCurrency` is required with a salary",
    );
    let draft = ok(&[
        "offer",
        "create",
        "--as",
        admin,
        "--application-id",
        &new_application,
        "--salary",
        "90000",
        "--salary-currency",
        "EUR",
        "--start-date",
        "2099-04-01",
    ]);
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["version"], 1);
    let out = run(&[
        "application",
        "hire",
        "--as",
        admin,
        "--application-id",
        &new_application,
    ]);
    fails_with(&out, "an application is hired on an accepted offer");
    // Without an offer, a hire needs none: another candidate applied to the job is hired.
    let second = ok(&[
        "candidate",
        "create",
        "--as",
        admin,
        "--name",
        "Alan Turing",
        "--job-id",
        &job,
    ]);
    let second = rows(
        admin,
        &format!(
            r#"report applications where candidate.id = "{}" show id"#,
            second["id"].as_str().unwrap()
        ),
    )[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hired = ok(&[
        "application",
        "hire",
        "--as",
        admin,
        "--application-id",
        &second,
    ]);
    assert_eq!(hired["status"], "hired");

    // application archive: with a reason; a second time is a conflict.
    let archived = ok(&[
        "application",
        "archive",
        "--as",
        admin,
        "--application-id",
        &application,
        "--reason",
        "withdrew",
    ]);
    assert_eq!(archived["status"], "archived");
    assert_eq!(archived["archiveReason"], "withdrew");
    let out = run(&[
        "application",
        "archive",
        "--as",
        admin,
        "--application-id",
        &application,
        "--reason",
        "withdrew",
    ]);
    fails_with(&out, "error: `applicationId`: ");
    // application unarchive: active again, in its stage, the reason cleared.
    let back = ok(&[
        "application",
        "unarchive",
        "--as",
        admin,
        "--application-id",
        &application,
    ]);
    assert_eq!(back["status"], "active");
    assert_eq!(back["stage"], other["name"]);
    assert_eq!(back["archiveReason"], serde_json::Value::Null);
    // A reason not on the org's list, in the API's words.
    let out = run(&[
        "application",
        "archive",
        "--as",
        admin,
        "--application-id",
        &application,
        "--reason",
        "x",
    ]);
    fails_with(
        &out,
        "error: `reason`: `x` is not one of the org's archive reasons: not a fit,",
    );
    // interview mark: the completed interview was a no-show after all.
    let marked = ok(&[
        "interview",
        "mark",
        "--as",
        admin,
        "--interview-id",
        &done,
        "--status",
        "no_show",
    ]);
    assert_eq!(marked["status"], "no_show");

    // events tail: every command above wrote its events; one CloudEvents JSON per line.
    let lines = |args: &[&str]| -> Vec<serde_json::Value> {
        let out = run(&[&["events", "tail"][..], args].concat());
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let all = lines(&[]);
    assert!(
        all.iter()
            .all(|e| e["specversion"] == "1.0" && e["orgid"] == "wf")
    );
    let seqs: Vec<i64> = all.iter().map(|e| e["orgseq"].as_i64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=i64::try_from(seqs.len()).unwrap()).collect::<Vec<_>>()
    );
    let moves = lines(&["--as", admin, "--type", "application.moved"]);
    assert!(!moves.is_empty());
    assert!(
        moves
            .iter()
            .all(|e| e["type"] == "hireplane.application.moved.v1")
    );
    assert!(
        moves
            .iter()
            .any(|e| e["subject"] == format!("application/{application}")
                && e["data"]["to_stage_id"] == to_stage
                && e["data"]["actor_id"] == admin)
    );
    // The interviewer sees fewer, and no offer's; the operator sees the offers.
    let theirs = lines(&["--as", &interviewer]);
    assert!(theirs.len() < all.len());
    let offers = |events: &[serde_json::Value]| {
        events
            .iter()
            .filter(|e| e["type"].as_str().unwrap().starts_with("hireplane.offer."))
            .count()
    };
    assert!(offers(&all) > 0);
    assert_eq!(offers(&theirs), 0);
    // --since: only what came after.
    let last = seqs.last().unwrap().to_string();
    assert!(lines(&["--since", &last]).is_empty());
    assert_eq!(
        lines(&["--since", &seqs[seqs.len() - 2].to_string()]).len(),
        1
    );
    // --follow: a change made while it polls comes out as it commits.
    let mut follower = Command::new(env!("CARGO_BIN_EXE_hireplane"))
        .args([
            "--database",
            db,
            "events",
            "tail",
            "--as",
            admin,
            "--follow",
            "--poll-ms",
            "50",
            "--since",
            &last,
        ])
        .current_dir(t)
        .env_remove("HIREPLANE_DATABASE")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = follower.stdout.take().unwrap();
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    ok(&[
        "candidate",
        "create",
        "--as",
        admin,
        "--name",
        "Followed Person",
    ]);
    let line = receive.recv_timeout(std::time::Duration::from_secs(20));
    let _ = follower.kill();
    let _ = follower.wait();
    let followed: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
    assert_eq!(followed["type"], "hireplane.candidate.created.v1");
    assert_eq!(followed["orgseq"], seqs.last().unwrap() + 1);
    // An unknown type, in the API's words.
    let out = run(&["events", "tail", "--as", admin, "--type", "nope"]);
    fails_with(
        &out,
        "error: `nope` is no event type; the catalogue (docs/events.md) has",
    );
}

#[test]
fn workflow_commands_by_hand_on_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("wf.db").display());
    workflow_commands_by_hand(&db);
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "needs PostgreSQL: set HIREPLANE_TEST_POSTGRES to a server URL"
)]
fn workflow_commands_by_hand_on_postgres() {
    let admin = std::env::var("HIREPLANE_TEST_POSTGRES").unwrap();
    let name = format!(
        "cli_wf_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            % 1_000_000
    );
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let scheme_end = admin.find("://").unwrap() + 3;
    let url = match admin.rfind('/') {
        Some(i) if i > scheme_end => format!("{}/{name}", &admin[..i]),
        _ => format!("{admin}/{name}"),
    };
    let result = std::panic::catch_unwind(|| workflow_commands_by_hand(&url));
    let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn flags_set_list_history_evaluate_import_export() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let out = hireplane(
        t,
        &[
            "generate",
            "--org-id",
            "fl",
            "--applications",
            "40",
            "--seed",
            "3",
            "org",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(hireplane(t, &["import", "org"]).status.success());
    let users = std::fs::read_to_string(t.join("org/users.jsonl")).unwrap();
    let user = |role: &str| -> String {
        users
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|u| u["role"] == role && u["active"] == true)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (admin, recruiter) = (user("admin"), user("recruiter"));
    std::fs::write(
        t.join("board.json"),
        r#"{"name": "board", "enabled": true, "strategies": [{"name": "default",
            "constraints": [{"contextName": "role", "operator": "IN", "values": ["admin"]}]}]}"#,
    )
    .unwrap();
    std::fs::write(
        t.join("bad.json"),
        r#"{"name": "board", "enabled": true, "strategies": [{"name": "default",
            "constraints": [{"contextName": "role", "operator": "FOO", "values": ["admin"]}]}]}"#,
    )
    .unwrap();
    // A bad definition names the file and the JSON path; nothing is stored.
    let out = hireplane(t, &["flags", "set", "board", "bad.json", "--reason", "try"]);
    fails_with(
        &out,
        "`bad.json`: `strategies[0].constraints[0].operator`: unknown operator `FOO`",
    );
    // A recruiter may not set flags; the operator and an admin may.
    let out = hireplane(
        t,
        &[
            "flags",
            "set",
            "board",
            "board.json",
            "--reason",
            "try",
            "--as",
            &recruiter,
        ],
    );
    fails_with(&out, "may not `edit` Org `fl`");
    let out = hireplane(
        t,
        &[
            "flags",
            "set",
            "board",
            "board.json",
            "--reason",
            "new board",
            "--as",
            &admin,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "flag `board` set (version 1)\n");
    let out = hireplane(t, &["flags", "list"]);
    assert!(text(&out.stdout).contains("board"), "{}", text(&out.stdout));
    let out = hireplane(t, &["flags", "history", "board"]);
    let h = text(&out.stdout);
    assert!(
        h.starts_with("v1 ") && h.contains(&format!("created by fl/{admin}: new board")),
        "{h}"
    );
    // Evaluated per user.
    let out = hireplane(t, &["flags", "evaluate", "--as", &admin]);
    assert!(
        text(&out.stdout).starts_with("board") && text(&out.stdout).contains(" on "),
        "{}",
        text(&out.stdout)
    );
    let out = hireplane(t, &["flags", "evaluate", "board", "--as", &recruiter]);
    assert!(text(&out.stdout).contains(" off "), "{}", text(&out.stdout));
    // Export, then import into a fresh store: the same flags.
    let out = hireplane(t, &["flags", "export"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(t.join("export.json"), &out.stdout).unwrap();
    let out = hireplane(
        t,
        &[
            "--database",
            "sqlite://other.db",
            "flags",
            "import",
            "export.json",
            "--reason",
            "copy",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "imported `export.json`: 1 change\n");
    let out = hireplane(
        t,
        &["--database", "sqlite://other.db", "flags", "show", "board"],
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        shown["strategies"][0]["constraints"][0]["values"][0],
        "admin"
    );
}

/// `hireplane rollout`: a plan whose guard comes from the repository's `slo.yaml`, its status
/// with both cohorts side by side, pause, resume, abort and the history; refusals name what is
/// wrong and change nothing.
#[test]
fn rollout_plan_status_pause_resume_abort_history() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let slo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../slo.yaml");
    let slo = slo.to_str().unwrap();
    std::fs::write(t.join("f.json"), r#"{"name": "board", "enabled": false}"#).unwrap();
    let out = hireplane(t, &["flags", "set", "board", "f.json", "--reason", "new"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan = |extra: &[&str]| {
        let mut args = vec![
            "rollout",
            "plan",
            "board",
            "--steps",
            "1,5,25,100",
            "--hold",
            "10m",
            "--slo",
            slo,
            "--reason",
            "org by org",
        ];
        args.extend_from_slice(extra);
        hireplane(t, &args)
    };
    fails_with(&plan(&["--error-slo", "nope"]), "has no SLO named `nope`");
    fails_with(
        &plan(&["--error-slo", "api-latency"]),
        "`--error-slo`: SLO `api-latency` is not an events SLO",
    );
    fails_with(
        &hireplane(
            t,
            &[
                "rollout", "plan", "board", "--steps", "5,1", "--slo", slo, "--reason", "x",
            ],
        ),
        "`steps[1]`: 1 is not above the step before it",
    );
    let out = hireplane(t, &["rollout", "status"]);
    assert_eq!(text(&out.stdout), "no rollout plans\n");
    let out = plan(&["--error-margin", "0.5", "--min-requests", "200"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "rollout of `board` started at 1% (revision 1)\n"
    );
    let out = hireplane(t, &["rollout", "status"]);
    let status = text(&out.stdout);
    assert!(
        status.starts_with(
            "board  running  step 1/4 (1%)  steps 1% -> 5% -> 25% -> 100%  hold 600000 ms"
        ),
        "{status}"
    );
    assert!(status.contains("  on  "), "{status}");
    assert!(status.contains("  off "), "{status}");
    assert!(
        status.contains(
            "errors: on 0/0 (0.000%), off 0/0 (0.000%), margin 0.5 points: not judged yet"
        ),
        "{status}"
    );
    assert!(status.contains("latency: on 0/0"), "{status}");
    // The flag's definition is at 1%, by the operator, in the flag's history.
    let out = hireplane(t, &["flags", "show", "board"]);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["strategies"][0]["parameters"]["rollout"], "1");
    assert_eq!(shown["enabled"], true);
    let out = hireplane(t, &["rollout", "pause", "board", "--reason", "look"]);
    assert_eq!(text(&out.stdout), "rollout of `board` paused at 1%\n");
    fails_with(
        &hireplane(t, &["rollout", "pause", "board", "--reason", "again"]),
        "cannot pause the rollout plan of flag `board`: it is paused",
    );
    let out = hireplane(t, &["rollout", "resume", "board", "--reason", "fine"]);
    assert_eq!(text(&out.stdout), "rollout of `board` resumed at 1%\n");
    let out = hireplane(t, &["rollout", "abort", "board", "--reason", "not now"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = hireplane(t, &["flags", "show", "board"]);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["strategies"][0]["parameters"]["rollout"], "0");
    let out = hireplane(t, &["rollout", "history", "board"]);
    let h = text(&out.stdout);
    let actions: Vec<&str> = h
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    assert_eq!(actions, ["abort", "resume", "pause", "plan"], "{h}");
    assert!(
        h.contains("plan by cli -> running step 1 (1%): org by org"),
        "{h}"
    );
}

/// The README's first command, `cargo run --release -- serve --demo`, needs cargo to know which
/// of the crate's binaries to run once there are several (`hireplane-privacy-bench` beside
/// `hireplane`): `default-run`. Without it that command fails before building anything.
#[test]
fn cargo_run_runs_hireplane() {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let bins = manifest.matches("[[bin]]").count();
    assert!(bins >= 1);
    if bins > 1 {
        assert!(
            manifest
                .lines()
                .any(|l| l.trim() == "default-run = \"hireplane\""),
            "crates/cli/Cargo.toml has {bins} binaries and no `default-run = \"hireplane\"`"
        );
    }
}
