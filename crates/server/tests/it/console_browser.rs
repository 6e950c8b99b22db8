//! The console in a real Chromium, driven over WebDriver (W3C, spoken directly with `ureq`: a
//! dozen endpoints did not justify a WebDriver crate and its tree), against a server on a fresh
//! generated org: the recruiter signs in and moves a candidate on the board with the mouse and
//! with the keyboard alone, the interviewer fills a scorecard, the recruiter sees an offer's compensation
//! (which the shipped policy masks for them) as "hidden"; the admin visits the admin pages,
//! checks and sets a policy with the keyboard alone and finds it in the audit log, then resets
//! it; the recruiter sees an interviewer's busy time on the schedule's week calendar, books a
//! loop and repairs it after a decline; a recruiter gets no admin navigation and a refusal; axe-core (vendored for tests, `tests/assets/axe-core/`) finds no
//! serious or critical violation on any page; a screenshot of every page goes to
//! `target/console-screenshots/`.
//!
//! Needs `HIREPLANE_TEST_CHROMIUM` and `HIREPLANE_TEST_CHROMEDRIVER` (cfg `hp_chromium`,
//! `build/test-cfg.rs`); without them the test reports as ignored with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use serde_json::{Value, json};

const ORG: &str = "acme";

/// A chromedriver process on a free port, stopped when dropped.
struct Driver {
    child: std::process::Child,
    base: String,
    agent: ureq::Agent,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session.
struct Browser<'a> {
    driver: &'a Driver,
    session: String,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Driver {
    fn start() -> Driver {
        let path = std::env::var("HIREPLANE_TEST_CHROMEDRIVER").unwrap();
        let port = free_port();
        let mut child = std::process::Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(std::time::Duration::from_secs(120)))
                .build(),
        );
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if agent.get(format!("{base}/status")).call().is_ok() {
                return Driver { child, base, agent };
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("chromedriver did not start on port {port}");
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let mut resp = match (method, body) {
            ("GET", _) => self.agent.get(&url).call().unwrap(),
            ("DELETE", _) => self.agent.delete(&url).call().unwrap(),
            (_, body) => self
                .agent
                .post(&url)
                .send_json(body.unwrap_or_else(|| json!({})))
                .unwrap(),
        };
        let status = resp.status().as_u16();
        let v: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(status, 200, "{method} {path}: {v}");
        v["value"].clone()
    }

    fn browser(&self) -> Browser<'_> {
        let profile = tempfile::tempdir().unwrap();
        let chromium = std::env::var("HIREPLANE_TEST_CHROMIUM").unwrap();
        let v = self.call(
            "POST",
            "/session",
            Some(json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", "--window-size=1280,900",
                        format!("--user-data-dir={}", profile.path().display()),
                    ],
                },
            }}})),
        );
        Browser {
            driver: self,
            session: v["sessionId"].as_str().unwrap().to_owned(),
            _profile: profile,
        }
    }
}

impl Drop for Browser<'_> {
    fn drop(&mut self) {
        let _ = self
            .driver
            .agent
            .delete(format!("{}/session/{}", self.driver.base, self.session))
            .call();
    }
}

/// An element reference's key in W3C WebDriver.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser<'_> {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.session), body)
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap().to_owned()
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element `{css}`: {v}"))
            .to_owned()
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/click"), None);
    }

    /// Types `text` into the element (keys: `\u{E007}` is Enter, `\u{E004}` Tab).
    fn keys(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// Empties an input or a textarea.
    fn clear(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/clear"), None);
    }

    /// Waits until an element matches `css`; panics with the page otherwise.
    fn wait_for(&self, css: &str) {
        for _ in 0..100 {
            let found = self.call(
                "POST",
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            );
            if found.as_array().is_some_and(|a| !a.is_empty()) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let source = self.source();
        let at = source.find("<main").unwrap_or(0);
        panic!("waited for `{css}`, at {}: {}", self.url(), &source[at..]);
    }

    /// Waits until the address contains `part`; panics with the page otherwise.
    fn wait_for_url(&self, part: &str) {
        for _ in 0..100 {
            if self.url().contains(part) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let source = self.source();
        let at = source.find("<main").unwrap_or(0);
        panic!("waited for `{part}`, at {}: {}", self.url(), &source[at..]);
    }

    fn script(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    fn source(&self) -> String {
        self.call("GET", "/source", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Keeps a screenshot as `target/console-screenshots/NAME.png`.
    fn screenshot(&self, name: &str) {
        let png = self.call("GET", "/screenshot", None);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/console-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("{name}.png")),
            base64_decode(png.as_str().unwrap()),
        )
        .unwrap();
    }

    /// Runs axe-core on the page: no serious or critical violation of WCAG 2.x A and AA.
    fn axe(&self, page: &str) {
        let axe = include_str!("../assets/axe-core/axe.min.js");
        self.script(axe, json!([]));
        let v = self.call(
            "POST",
            "/execute/async",
            Some(json!({
                "script": "const done = arguments[arguments.length - 1]; \
                    axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}) \
                    .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help})))) \
                    .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e)}]));",
                "args": [],
            })),
        );
        let serious: Vec<&Value> = v
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| matches!(x["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        assert!(serious.is_empty(), "axe on {page}: {serious:#?}");
    }
}

/// Standard base64 (what WebDriver's screenshots are) to bytes.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes() {
        let Some(v) = value(c) else { continue };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn api(server: &common::Server, token: &str, query: &str) -> Value {
    let mut resp = server
        .agent
        .post(format!("{}/graphql", server.base))
        .header("Authorization", format!("Bearer {token}"))
        .send_json(json!({ "query": query }))
        .unwrap();
    let v: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert!(v.get("errors").is_none(), "{query}: {v}");
    v["data"].clone()
}

/// [`api`] with variables.
fn api_vars(server: &common::Server, token: &str, query: &str, variables: Value) -> Value {
    let mut resp = server
        .agent
        .post(format!("{}/graphql", server.base))
        .header("Authorization", format!("Bearer {token}"))
        .send_json(json!({ "query": query, "variables": variables }))
        .unwrap();
    let v: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert!(v.get("errors").is_none(), "{query}: {v}");
    v["data"].clone()
}

/// `text` as a query string's value.
fn encode(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Waits until the address no longer contains `part`.
fn wait_until_gone(b: &Browser, part: &str) {
    for _ in 0..100 {
        if !b.url().contains(part) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let source = b.source();
    let at = source.find("<main").unwrap_or(0);
    panic!("still at {}: {}", b.url(), &source[at..]);
}

/// The recruiter schedules the README's loop (the generated org's pools) for `app_id`: the week
/// calendar shows the hiring manager's busy time (another interview of theirs, booked by the
/// admin) as "busy: NAME ..." without its title; they book the first option, and on the
/// application page mark that an interviewer declined, read the proposed repair and apply it.
fn busy_time_and_repair(
    b: &Browser,
    server: &common::Server,
    base: &str,
    app_id: &str,
    recruiter: &str,
    admin: &str,
) {
    let mut plan: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../cli/tests/data/acme-plan.json"),
        )
        .unwrap(),
    )
    .unwrap();
    plan.as_object_mut().unwrap().remove("now");
    let midnight = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .start_of_day()
        .unwrap()
        .timestamp();
    let day = |d: i64| (midnight + jiff::SignedDuration::from_hours(24 * d)).to_string();
    plan["candidate"]["windows"] = json!([[day(2), day(10)]]);
    plan["candidate"]["horizon_days"] = json!(12);
    let found = api_vars(
        server,
        recruiter,
        "query($p: JSON!, $a: ID!) { schedulingOptions(applicationId: $a, plan: $p) }",
        json!({"p": plan, "a": app_id}),
    );
    let best = found["schedulingOptions"]["options"][0].clone();
    let hm_session = best["sessions"]
        .as_array()
        .unwrap_or_else(|| panic!("no option: {found}"))
        .iter()
        .find(|s| s["session"] == "hiring-manager")
        .unwrap()
        .clone();
    let hm = hm_session["seats"][0][0].as_str().unwrap().to_owned();
    // Another interview of the hiring manager, later the same day, for another candidate.
    let end: jiff::Timestamp = hm_session["end"].as_str().unwrap().parse().unwrap();
    let (s, e) = (
        end + jiff::SignedDuration::from_hours(2),
        end + jiff::SignedDuration::from_hours(3),
    );
    let other = api(
        server,
        admin,
        "{ applications(first: 10, filter: {status: active}) { nodes { id job { stages(first: 1) { nodes { id } } } } } }",
    );
    let other = other["applications"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] != app_id)
        .unwrap()
        .clone();
    api_vars(
        server,
        admin,
        "mutation($a: ID!, $st: ID!, $s: DateTime!, $e: DateTime!, $u: ID!) { scheduleInterview(input: {applicationId: $a, stageId: $st, title: \"Confidential sync\", startsAt: $s, endsAt: $e, interviewParticipants: [{userId: $u, role: interviewer}]}) { id } }",
        json!({"a": other["id"], "st": other["job"]["stages"]["nodes"][0]["id"], "s": s.to_string(), "e": e.to_string(), "u": hm}),
    );
    let hm_name = api(
        server,
        recruiter,
        &format!("{{ user(id: {hm:?}) {{ name }} }}"),
    )["user"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    b.go(&format!(
        "{base}/console/applications/{app_id}/schedule?plan={}",
        encode(&plan.to_string())
    ));
    let page = b.source();
    assert!(
        page.contains(&format!("busy: {hm_name}")),
        "the hiring manager's busy time is not on the calendar: {}",
        &page[page.find("<main").unwrap_or(0)..]
    );
    assert!(
        !page.contains("Confidential sync"),
        "another's interview title shown"
    );
    b.script(
        "document.querySelector('table.calendar div.busy').scrollIntoView({block: 'center'});",
        json!([]),
    );
    b.screenshot("schedule-busy-time");
    b.axe("schedule (busy time)");
    // Book the first option (into the job's first stage), back to the application.
    b.click("form[method=post][action$=\"/schedule\"] button[type=submit]");
    wait_until_gone(b, "/schedule");
    let loops = api_vars(
        server,
        recruiter,
        "query($a: ID!) { interviewLoops(applicationId: $a) { id booked } }",
        json!({"a": app_id}),
    );
    let booked = loops["interviewLoops"][0]["booked"].clone();
    assert!(!booked.is_null(), "no loop booked: {loops}");
    let decliner = booked["sessions"][0]["seats"][0][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(b.source().contains("Booked interview loops"));
    b.screenshot("application-booked-loop");
    b.axe("application (booked loop)");
    // An interviewer declined: choose them, propose, read, apply.
    b.script(
        "document.getElementById('what-0').value = arguments[0];",
        json!([format!("declined:{decliner}")]),
    );
    b.click("form[action$=\"/repair\"] button[type=submit]");
    b.wait_for_url("what=declined");
    let page = b.source();
    assert!(
        page.contains("Proposed repair"),
        "{}",
        &page[page.find("<main").unwrap_or(0)..]
    );
    b.screenshot("repair-proposed");
    b.axe("repair (proposed)");
    b.click("form[method=post][action$=\"/repair\"] button[type=submit]");
    wait_until_gone(b, "/repair");
    let loops = api_vars(
        server,
        recruiter,
        "query($a: ID!) { interviewLoops(applicationId: $a) { id booked } }",
        json!({"a": app_id}),
    );
    let repaired = loops["interviewLoops"][0]["booked"].to_string();
    assert!(
        !repaired.contains(&format!("\"{decliner}\"")),
        "the decliner still sits: {repaired}"
    );
    b.screenshot("application-after-repair");
    b.axe("application (after the repair)");
}

fn sign_in(b: &Browser, base: &str, token: &str) {
    b.go(&format!("{base}/console/sign-in"));
    b.keys("#token", token);
    b.click("form:nth-of-type(2) button[type=submit]");
    // A click may return before the navigation it starts has finished.
    for _ in 0..50 {
        if b.url().ends_with("/console/jobs") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if !b.url().ends_with("/console/jobs") {
        let source = b.source();
        let at = source.find("<main").unwrap_or(0);
        panic!("signing in ended at {}: {}", b.url(), &source[at..]);
    }
}

#[test]
#[cfg_attr(
    not(hp_chromium),
    ignore = "set HIREPLANE_TEST_CHROMIUM and HIREPLANE_TEST_CHROMEDRIVER (Debian: chromium, chromium-driver) to run the console in a browser"
)]
fn roles_journeys_in_chromium() {
    let db = common::sqlite_db();
    let roles = common::generated_org(
        &db,
        ORG,
        300,
        7,
        &["admin", "recruiter", "hiring_manager", "interviewer"],
    );
    let token = |role: &str| roles.iter().find(|r| r.role == role).unwrap();
    let mut settings = server::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: db.url.clone(),
        ..server::Settings::default()
    };
    settings.auth.cache_ms = 0;
    // The admin's flags page lists the installation's flags.
    settings.flags.operator_org = ORG.into();
    let server = common::Server::start(settings);
    let base = server.base.clone();
    let driver = Driver::start();

    // The recruiter: the sign-in page, the jobs, a board; a move with the mouse, then one with
    // the keyboard alone (focus the stage menu, choose by typing, Enter on the button).
    let recruiter = token("recruiter");
    let apps = api(
        &server,
        &recruiter.token,
        "{ applications(first: 30, filter: {status: active}) { nodes { id job { id } currentStage { id } } } }",
    );
    let mut target = None;
    for app in apps["applications"]["nodes"].as_array().unwrap() {
        let job = app["job"]["id"].as_str().unwrap();
        let stages = api(
            &server,
            &recruiter.token,
            &format!(
                "{{ stages(first: 30, filter: {{jobId: {job:?}}}, orderBy: {{field: POSITION, direction: ASC}}) {{ nodes {{ id name kind }} }} }}"
            ),
        );
        let others: Vec<Value> = stages["stages"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["id"] != app["currentStage"]["id"] && s["kind"] != "hired")
            .cloned()
            .collect();
        if others.len() >= 2 {
            target = Some((
                app["id"].as_str().unwrap().to_owned(),
                job.to_owned(),
                others,
            ));
            break;
        }
    }
    let (app_id, job, others) = target.expect("an application with two stages to move to");
    {
        let b = driver.browser();
        b.go(&format!("{base}/console/sign-in"));
        b.screenshot("sign-in");
        b.axe("sign-in");
        sign_in(&b, &base, &recruiter.token);
        b.screenshot("jobs");
        b.axe("jobs");
        b.go(&format!("{base}/console/jobs/{job}"));
        b.screenshot("board");
        b.axe("board");
        let stage_of = || {
            api(
                &server,
                &recruiter.token,
                &format!("{{ application(id: {app_id:?}) {{ currentStage {{ id }} }} }}"),
            )["application"]["currentStage"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        // With the mouse: choose the stage in the card's menu, click Move (htmx swaps the board).
        let first = others[0]["id"].as_str().unwrap();
        b.script(
            "document.getElementById(arguments[0]).value = arguments[1];",
            json!([format!("to-{app_id}"), first]),
        );
        b.click(&format!("[data-card=\"{app_id}\"] form[data-move] button"));
        for _ in 0..50 {
            if stage_of() == first {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert_eq!(stage_of(), first);
        // The store has the move before htmx has swapped the board: wait for the new board (the
        // card in its new column), or the keyboard would type into the old board's menu.
        b.wait_for(&format!(
            "section.column[data-stage=\"{first}\"] [data-card=\"{app_id}\"]"
        ));
        // With the keyboard alone: typing a stage's name in the focused menu selects it, Enter
        // on the focused button submits.
        let second = &others[1];
        let name = second["name"].as_str().unwrap();
        b.keys(&format!("#to-{app_id}"), name);
        b.keys(
            &format!("[data-card=\"{app_id}\"] form[data-move] button"),
            "\u{E007}",
        );
        for _ in 0..50 {
            if stage_of() == second["id"].as_str().unwrap() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert_eq!(stage_of(), second["id"].as_str().unwrap(), "keyboard move");
        b.screenshot("board-after-moves");
        b.go(&format!("{base}/console/applications/{app_id}"));
        b.screenshot("application-recruiter");
        b.axe("application");
        b.go(&format!(
            "{base}/console/reports?name=applications-by-source&action=run"
        ));
        b.screenshot("reports");
        b.axe("reports");
        b.go(&format!(
            "{base}/console/reports?text=report%20applications%20group%20by%20statsu"
        ));
        b.screenshot("reports-error");
        b.axe("reports (error)");
        b.go(&format!("{base}/console/applications/{app_id}/schedule"));
        b.click("#main form button[type=submit]");
        for _ in 0..50 {
            if b.url().contains("plan=") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        b.screenshot("schedule");
        b.axe("schedule");
        busy_time_and_repair(
            &b,
            &server,
            &base,
            &app_id,
            &recruiter.token,
            &token("admin").token,
        );
        b.go(&format!("{base}/console/admin/users"));
        b.screenshot("users");
        b.axe("users");
        b.go(&format!("{base}/console/no-such-page"));
        b.screenshot("not-found");
        b.axe("not-found");
    }

    // The interviewer: an interview they sat, started, without their scorecard: the form.
    let interviewer = token("interviewer");
    let ivs = api(
        &server,
        &interviewer.token,
        "{ interviews(first: 200) { nodes { id startsAt status application { id } \
           interviewParticipants(first: 20) { nodes { user { id } } } feedback(first: 20) { nodes { author { id } } } } } }",
    );
    let me = interviewer.user_id.as_str();
    let now = jiff::Timestamp::now().to_string();
    let open = ivs["interviews"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|iv| {
            iv["startsAt"].as_str().is_some_and(|t| t < now.as_str())
                && iv["status"] != "cancelled"
                && iv["interviewParticipants"]["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["user"]["id"] == me)
                && !iv["feedback"]["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["author"]["id"] == me)
                && !iv["application"].is_null()
        });
    if let Some(iv) = open {
        let iv_id = iv["id"].as_str().unwrap();
        let app = iv["application"]["id"].as_str().unwrap();
        let b = driver.browser();
        sign_in(&b, &base, &interviewer.token);
        b.go(&format!("{base}/console/applications/{app}"));
        b.screenshot("application-interviewer");
        b.axe("application (interviewer)");
        let form = format!("form[action=\"/console/interviews/{iv_id}/feedback\"]");
        b.click(&format!("{form} input[value=yes]"));
        b.keys(&format!("{form} select"), "3");
        b.keys(
            &format!("{form} textarea"),
            "Clear thinking; asked good questions.",
        );
        b.click(&format!("{form} button[type=submit]"));
        // The form posts, the server redirects back to the page: wait for the scorecard.
        let mut mine = None;
        for _ in 0..50 {
            let fb = api(
                &server,
                &interviewer.token,
                &format!(
                    "{{ interview(id: {iv_id:?}) {{ feedback(first: 20) {{ nodes {{ recommendation notes author {{ id }} }} }} }} }}"
                ),
            );
            mine = fb["interview"]["feedback"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["author"]["id"] == me)
                .cloned();
            if mine.is_some() && b.source().contains("Clear thinking") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let mine = mine.expect("the scorecard was submitted");
        assert_eq!(mine["recommendation"], "yes");
        assert!(b.source().contains("Clear thinking"));
    } else {
        panic!("the generated org has no interview for the interviewer to score");
    }

    // Compensation the policy masks reads "hidden". Under the shipped policy (docs/policy.md)
    // hiring managers see their jobs' compensation and recruiters see offers but not their
    // compensation (on jobs that are not confidential): the recruiter's view of an offer.
    let (hm, app) = ["recruiter", "hiring_manager"]
        .iter()
        .find_map(|role| {
            let who = token(role);
            let seen = api(
                &server,
                &who.token,
                "{ applications(first: 200) { nodes { id offers(first: 3) { nodes { id salary } } } } }",
            );
            seen["applications"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| {
                    a["offers"]["nodes"]
                        .as_array()
                        .unwrap()
                        .first()
                        .is_some_and(|o| o["salary"].is_null())
                })
                .map(|a| (who, a.clone()))
        })
        .expect("an offer whose compensation the API masks for a recruiter or a hiring manager");
    let b = driver.browser();
    sign_in(&b, &base, &hm.token);
    b.go(&format!(
        "{base}/console/applications/{}",
        app["id"].as_str().unwrap()
    ));
    b.screenshot("application-offer-masked");
    b.axe("application (offer, compensation masked)");
    let page = b.source();
    let offers = &page[page.find("id=\"h-offers\"").unwrap()..];
    assert!(
        offers.contains("hidden-value"),
        "compensation not shown as hidden"
    );
    drop(b);

    // The admin: the admin pages, then a policy checked and set in the console with the
    // keyboard alone (typed into the text, Enter on the buttons), and its audit entry.
    let admin = token("admin");
    let b = driver.browser();
    sign_in(&b, &base, &admin.token);
    for (path, name) in [
        ("custom-fields", "admin-custom-fields"),
        ("policy", "admin-policy"),
        ("audit", "admin-audit"),
        ("flags", "admin-flags"),
    ] {
        b.go(&format!("{base}/console/admin/{path}"));
        b.screenshot(name);
        b.axe(name);
    }
    b.go(&format!("{base}/console/applications/{app_id}"));
    b.screenshot("application-admin-custom-fields");
    b.axe("application (admin, custom fields)");
    b.go(&format!("{base}/console/admin/policy"));
    b.clear("#policy-text");
    b.keys(
        "#policy-text",
        "// broken\n@id(\"admin\")\npermit (principal, action, resource\nwhen { principal.role == \"admin\" };",
    );
    b.keys("button[value=validate]", "\u{E007}");
    for _ in 0..50 {
        if b.source().contains("<mark id=\"pl-") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        b.source().contains("<mark id=\"pl-"),
        "the problem's line is marked"
    );
    b.screenshot("admin-policy-problems");
    b.axe("admin policy (problems)");
    b.clear("#policy-text");
    b.keys(
        "#policy-text",
        "// admins only, set in the console\n@id(\"admin\")\npermit (principal, action, resource)\nwhen { principal.role == \"admin\" };\n",
    );
    b.keys("button[value=set]", "\u{E007}");
    b.wait_for_url("done=set");
    assert!(b.source().contains("The new policy is in force."));
    b.screenshot("admin-policy-set");
    b.axe("admin policy (set)");
    let p = api(&server, &admin.token, "{ policy { version setBy text } }");
    assert_eq!(p["policy"]["version"], 1);
    assert_eq!(p["policy"]["setBy"], admin.user_id.as_str());
    assert!(
        p["policy"]["text"]
            .as_str()
            .unwrap()
            .starts_with("// admins only, set in the console")
    );
    b.go(&format!("{base}/console/admin/audit"));
    let audit = b.source();
    let table = &audit[audit.find("<tbody").unwrap()..];
    assert!(table.contains("setPolicy"), "{table}");
    assert!(table.contains("policy v1"), "{table}");
    b.screenshot("admin-audit-after-set");
    b.axe("admin audit (after the set)");
    // Back to the shipped default, from the keyboard too.
    b.go(&format!("{base}/console/admin/policy"));
    b.keys(
        "form[action=\"/console/admin/policy/reset\"] button",
        "\u{E007}",
    );
    b.wait_for_url("done=reset");
    let p = api(
        &server,
        &admin.token,
        "{ policy { version shippedDefault } }",
    );
    assert_eq!(p["policy"]["shippedDefault"], true);
    drop(b);

    // A recruiter sees no admin navigation, and the admin pages refuse them.
    let b = driver.browser();
    sign_in(&b, &base, &recruiter.token);
    assert!(!b.source().contains("href=\"/console/admin/"));
    b.go(&format!("{base}/console/admin/policy"));
    let page = b.source();
    assert!(!page.contains("policy-text"), "{page}");
    b.screenshot("admin-policy-refused");
    b.axe("admin policy (refused)");
}
