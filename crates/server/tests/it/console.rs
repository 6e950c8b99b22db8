//! The web console over HTTP, against a real server on a generated org (SQLite, and PostgreSQL
//! when `HIREPLANE_TEST_POSTGRES` is set): sessions (sign-in by token, password and one-time
//! code; the cookie's attributes; sign-out; expiry), CSRF and origin refusals, bounded sign-in
//! attempts, an attacker of another org, and the board's moves as the API sees them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{Db, RoleToken};
use serde_json::{Value, json};

const ORG: &str = "acme";
const OTHER: &str = "other";

fn now() -> domain::Instant {
    domain::Instant::from_timestamp(jiff::Timestamp::now())
}

struct Console {
    server: common::Server,
    settings: server::Settings,
    db: Db,
    roles: Vec<RoleToken>,
    other: Vec<RoleToken>,
    /// An agent that follows no redirect (the test reads them).
    agent: ureq::Agent,
}

/// An answer: status, headers we look at, body.
struct Answer {
    status: u16,
    location: String,
    set_cookie: String,
    /// Every `Set-Cookie`'s name and value (`name=value`).
    cookies: Vec<String>,
    csp: String,
    cache: String,
    body: String,
}

impl Console {
    fn new(db: Db) -> Console {
        Console::with(db, |_| {})
    }

    /// [`Console::new`] with `change` made to the server's settings.
    fn with(db: Db, change: impl FnOnce(&mut server::Settings)) -> Console {
        let roles = common::generated_org(
            &db,
            ORG,
            300,
            7,
            &["admin", "recruiter", "hiring_manager", "interviewer"],
        );
        let other = common::generated_org(&db, OTHER, 100, 8, &["admin", "recruiter"]);
        let mut settings = server::Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            database: db.url.clone(),
            ..server::Settings::default()
        };
        settings.auth.cache_ms = 0;
        settings.pool.size = 4;
        settings.console.sign_in_failures_per_minute = 2;
        settings.console.sign_in_failure_burst = 3;
        change(&mut settings);
        let server = common::Server::start(settings.clone());
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_global(Some(std::time::Duration::from_secs(120)))
                .build(),
        );
        Console {
            server,
            settings,
            db,
            roles,
            other,
            agent,
        }
    }

    fn role(&self, role: &str) -> &RoleToken {
        self.roles.iter().find(|r| r.role == role).unwrap()
    }

    fn answer(mut resp: ureq::http::Response<ureq::Body>) -> Answer {
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let (location, set_cookie) = (header("location"), header("set-cookie"));
        let cookies = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_owned())
            .collect();
        let (csp, cache) = (header("content-security-policy"), header("cache-control"));
        Answer {
            status: resp.status().as_u16(),
            location,
            set_cookie,
            cookies,
            csp,
            cache,
            body: resp.body_mut().read_to_string().unwrap_or_default(),
        }
    }

    fn get(&self, path: &str, cookie: Option<&str>) -> Answer {
        let mut req = self.agent.get(format!("{}{path}", self.server.base));
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        Console::answer(req.call().unwrap())
    }

    fn post(
        &self,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Answer {
        let mut req = self.agent.post(format!("{}{path}", self.server.base));
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        Console::answer(req.send_form(form.iter().copied()).unwrap())
    }

    /// [`Console::post`] through a trusted proxy that forwards for `client`
    /// (`X-Forwarded-For`).
    fn post_from(
        &self,
        client: &str,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> Answer {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.server.base))
            .header("X-Forwarded-For", client);
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        Console::answer(req.send_form(form.iter().copied()).unwrap())
    }

    /// A one-time code of `purpose` for `user`, good for `seconds`.
    fn code(&self, user: &str, purpose: store::CodePurpose, seconds: i64) -> String {
        app::Services::new()
            .create_code(&mut self.store(), ORG, user, purpose, now(), seconds, None)
            .unwrap()
    }

    /// Stops the server and starts another on the same database with the same settings, as a
    /// restart or another replica would be.
    fn restart(&mut self) {
        self.server = common::Server::start(self.settings.clone());
    }

    /// Signs in with `token`: the cookie (`hp_session=...`) to send back.
    fn sign_in_token(&self, token: &str) -> String {
        let a = self.post(
            "/console/sign-in",
            None,
            &[("method", "token"), ("token", token)],
            None,
        );
        assert_eq!(a.status, 303, "{}", a.body);
        assert_eq!(a.location, "/console/jobs");
        cookie_of(&a.set_cookie)
    }

    /// The session's CSRF token, read from a page.
    fn csrf(&self, cookie: &str) -> String {
        let page = self.get("/console/jobs", Some(cookie));
        assert_eq!(page.status, 200, "{}", page.body);
        let at = page.body.find("name=\"csrf\" value=\"").unwrap() + 19;
        page.body[at..at + 64].to_owned()
    }

    /// A GraphQL query with an API token.
    fn api(&self, token: &str, query: &str) -> Value {
        let mut resp = self
            .server
            .agent
            .post(format!("{}/graphql", self.server.base))
            .header("Authorization", format!("Bearer {token}"))
            .send_json(json!({ "query": query }))
            .unwrap();
        let v: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
        assert!(v.get("errors").is_none(), "{query}: {v}");
        v["data"].clone()
    }

    fn store(&self) -> store::Store {
        store::Store::open(&self.db.url).unwrap()
    }
}

/// `hp_session=...` out of a `Set-Cookie` header.
fn cookie_of(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap().trim().to_owned();
    assert!(pair.starts_with("hp_session="), "{set_cookie}");
    pair
}

/// An active application of the org with its job, its stage and another stage of the job, as
/// the recruiter sees them through the API.
fn movable(c: &Console, token: &str) -> (String, String, String, String) {
    let data = c.api(
        token,
        "{ applications(first: 20, filter: {status: active}) { nodes { id job { id } currentStage { id } } } }",
    );
    for app in data["applications"]["nodes"].as_array().unwrap() {
        let job = app["job"]["id"].as_str().unwrap().to_owned();
        let stage = app["currentStage"]["id"].as_str().unwrap().to_owned();
        let stages = c.api(
            token,
            &format!(
                "{{ stages(first: 30, filter: {{jobId: {job:?}}}) {{ nodes {{ id kind }} }} }}"
            ),
        );
        if let Some(other) = stages["stages"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] != stage.as_str() && s["kind"] != "hired")
        {
            return (
                app["id"].as_str().unwrap().to_owned(),
                job,
                stage,
                other["id"].as_str().unwrap().to_owned(),
            );
        }
    }
    panic!("no movable application");
}

fn stage_of(c: &Console, token: &str, app: &str) -> String {
    let data = c.api(
        token,
        &format!("{{ application(id: {app:?}) {{ currentStage {{ id }} }} }}"),
    );
    data["application"]["currentStage"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn sessions_sign_in_and_out(db: Db) {
    let c = Console::new(db);
    // Signed out: every page leads to the sign-in page.
    let a = c.get("/console/jobs", None);
    assert_eq!((a.status, a.location.as_str()), (303, "/console/sign-in"));
    let a = c.get("/console/sign-in", None);
    assert_eq!(a.status, 200);
    assert!(a.body.contains("<label for=\"email\">"), "{}", a.body);

    // By token: a session cookie, HttpOnly, SameSite=Lax, not Secure over plain HTTP.
    let recruiter = c.role("recruiter");
    let a = c.post(
        "/console/sign-in",
        None,
        &[("method", "token"), ("token", &recruiter.token)],
        None,
    );
    assert_eq!(a.status, 303, "{}", a.body);
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/console", "Max-Age=28800"] {
        assert!(a.set_cookie.contains(attribute), "{}", a.set_cookie);
    }
    assert!(!a.set_cookie.contains("Secure"), "{}", a.set_cookie);
    let cookie = cookie_of(&a.set_cookie);
    // The store keeps the hash of the id, never the id.
    let id = cookie.trim_start_matches("hp_session=");
    let mut store = c.store();
    assert!(store.session(id).unwrap().is_none());
    let stored = store
        .session(&app::tokens::secret_hash(id))
        .unwrap()
        .unwrap();
    assert_eq!(stored.user_id, recruiter.user_id);
    assert_eq!(stored.via, store::SessionVia::Token);

    let page = c.get("/console/jobs", Some(&cookie));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&recruiter.name), "{}", page.body);
    assert!(page.body.contains("(recruiter)"));
    // No inline script or style, nothing from another host, no framing, never cached.
    assert!(page.csp.contains("script-src 'self'"), "{}", page.csp);
    assert!(page.csp.contains("frame-ancestors 'none'"), "{}", page.csp);
    assert!(!page.csp.contains("unsafe"), "{}", page.csp);
    assert_eq!(page.cache, "no-store");

    // A wrong token: refused, no cookie.
    let a = c.post(
        "/console/sign-in",
        None,
        &[("method", "token"), ("token", "hpt_00000000000000000000000000000000_0000000000000000000000000000000000000000000000000000000000000000")],
        None,
    );
    assert_eq!(a.status, 401, "{}", a.body);
    assert!(a.set_cookie.is_empty());

    // Sign-out needs the CSRF token; with it the session is gone from the store.
    let a = c.post(
        "/console/sign-out",
        Some(&cookie),
        &[("csrf", "nope")],
        None,
    );
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(c.get("/console/jobs", Some(&cookie)).status, 200);
    let csrf = c.csrf(&cookie);
    let a = c.post("/console/sign-out", Some(&cookie), &[("csrf", &csrf)], None);
    assert_eq!((a.status, a.location.as_str()), (303, "/console/sign-in"));
    assert!(a.set_cookie.contains("Max-Age=0"), "{}", a.set_cookie);
    assert!(
        store
            .session(&app::tokens::secret_hash(id))
            .unwrap()
            .is_none()
    );
    let a = c.get("/console/jobs", Some(&cookie));
    assert_eq!((a.status, a.location.as_str()), (303, "/console/sign-in"));
}
on_both!(sessions_sign_in_and_out);

fn sessions_expire(db: Db) {
    let c = Console::new(db);
    let services = app::Services::new();
    let mut store = c.store();
    let user = c.role("interviewer");
    let (session, _) = services
        .open_session(
            &mut store,
            ORG,
            &user.user_id,
            store::SessionVia::Code,
            now(),
            1,
        )
        .unwrap();
    let cookie = format!("hp_session={}", session.id);
    assert_eq!(c.get("/console/jobs", Some(&cookie)).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(1_200));
    let a = c.get("/console/jobs", Some(&cookie));
    assert_eq!((a.status, a.location.as_str()), (303, "/console/sign-in"));
    // The expired session was deleted when it was presented.
    assert!(store.session(&session.stored.id_hash).unwrap().is_none());
    // An expired session found by the cleanup is deleted too.
    let (old, _) = services
        .open_session(
            &mut store,
            ORG,
            &user.user_id,
            store::SessionVia::Code,
            now(),
            1,
        )
        .unwrap();
    let later = domain::Instant::from_micros(now().as_micros() + 5_000_000).unwrap();
    assert!(store.delete_expired_sessions(later, 100).unwrap() >= 1);
    assert!(store.session(&old.stored.id_hash).unwrap().is_none());
}
on_both!(sessions_expire);

/// A session opened with an API token ends when the token is revoked: revoking deletes it, and a
/// session the revocation missed (opened while it committed) is refused when presented.
fn a_token_session_ends_with_its_token(db: Db) {
    let c = Console::new(db);
    let services = app::Services::new();
    let mut store = c.store();
    let recruiter = c.role("recruiter");
    let made = services
        .create_token(&mut store, ORG, &recruiter.user_id, "laptop", None, now())
        .unwrap();
    let cookie = c.sign_in_token(&made.token);
    let other = c.sign_in_token(&recruiter.token);
    let hash = app::tokens::secret_hash(cookie.trim_start_matches("hp_session="));
    let stored = store.session(&hash).unwrap().unwrap();
    assert_eq!(stored.token_id.as_deref(), Some(made.stored.id.as_str()));
    assert_eq!(c.get("/console/jobs", Some(&cookie)).status, 200);
    // GraphiQL's token, made by the console for this session.
    let csrf = c.csrf(&cookie);
    let a = c.post("/console/api", Some(&cookie), &[("csrf", &csrf)], None);
    assert_eq!(a.status, 303, "{}", a.body);
    let graphiql = a
        .location
        .strip_prefix("/graphql#token=")
        .unwrap()
        .to_owned();
    assert_eq!(
        c.api(&graphiql, "{ viewer { role } }")["viewer"]["role"],
        "recruiter"
    );
    // It opens no console session of its own (whose GraphiQL token would outlive it).
    let a = c.post(
        "/console/sign-in",
        None,
        &[("method", "token"), ("token", &graphiql)],
        None,
    );
    assert_eq!(a.status, 401, "{}", a.body);

    assert!(store.revoke_token(ORG, &made.stored.id, now()).unwrap());
    assert!(store.session(&hash).unwrap().is_none());
    // GraphiQL's token of the session is revoked with it (red team, pass 14: it answered for
    // the rest of its hour, and opened sessions that made more).
    let id = app::tokens::parse(&graphiql).unwrap().0.to_owned();
    assert!(store.token(&id).unwrap().unwrap().revoked_at.is_some());
    let a = c.get("/console/jobs", Some(&cookie));
    assert_eq!((a.status, a.location.as_str()), (303, "/console/sign-in"));
    // The user's session opened with another token goes on.
    assert_eq!(c.get("/console/jobs", Some(&other)).status, 200);

    // The race: the session row written after the revocation deleted the others.
    store.create_session(&stored).unwrap();
    let a = c.get("/console/jobs", Some(&cookie));
    assert_eq!((a.status, a.location.as_str()), (303, "/console/sign-in"));
    assert!(
        store.session(&hash).unwrap().is_none(),
        "refused and deleted"
    );
    // Signing in again with the revoked token is refused.
    let a = c.post(
        "/console/sign-in",
        None,
        &[("method", "token"), ("token", &made.token)],
        None,
    );
    assert_eq!(a.status, 401, "{}", a.body);
}
on_both!(a_token_session_ends_with_its_token);

/// GraphiQL's tokens made while the session's token is revoked, or while it signs out, never
/// outlive them (red team, pass 15: 9 live tokens of deleted sessions in 20 rounds on
/// PostgreSQL, 2 on SQLite): a thread makes them as fast as it can while another revokes or
/// signs out; afterwards none of the session's is live, and the next one is refused.
fn console_tokens_do_not_outlive_their_session(db: Db) {
    let c = Console::new(db);
    let services = app::Services::new();
    let recruiter = c.role("recruiter");
    for round in 0..12 {
        let mut store = c.store();
        let made = services
            .create_token(&mut store, ORG, &recruiter.user_id, "laptop", None, now())
            .unwrap();
        let (session, _) = services
            .sign_in_with_token(&mut store, &made.token, now(), 3_600)
            .unwrap();
        let stored = session.stored.clone();
        let url = c.db.url.clone();
        let maker = std::thread::spawn(move || {
            let services = app::Services::new();
            let mut store = store::Store::open(&url).unwrap();
            let mut made = 0;
            while services
                .session_api_token(&mut store, &stored, now())
                .is_ok()
            {
                made += 1;
                assert!(made < 10_000, "the session never ended");
            }
            made
        });
        std::thread::sleep(std::time::Duration::from_millis(5 + round));
        if round % 2 == 0 {
            assert!(store.revoke_token(ORG, &made.stored.id, now()).unwrap());
        } else {
            services.sign_out(&mut store, &session.id, now()).unwrap();
        }
        maker.join().unwrap();
        let name = app::sessions::console_token_name(&session.stored.id_hash);
        let live: Vec<String> = store
            .tokens(ORG)
            .unwrap()
            .into_iter()
            .filter(|t| t.name == name && t.revoked_at.is_none())
            .map(|t| t.id)
            .collect();
        assert!(live.is_empty(), "round {round}: live tokens {live:?}");
        assert!(
            services
                .session_api_token(&mut store, &session.stored, now())
                .is_err()
        );
    }
}
on_both!(console_tokens_do_not_outlive_their_session);

fn passwords_codes_and_bounded_attempts(db: Db) {
    let c = Console::new(db);
    let mut store = c.store();
    let hm = c.role("hiring_manager");
    let email = store.user_email(ORG, &hm.user_id).unwrap().unwrap();

    // An invitation: a password too short is refused and the link still works.
    let code = c.code(&hm.user_id, store::CodePurpose::Invitation, 3_600);
    let path = format!("/console/invitation/{code}");
    assert_eq!(c.get(&path, None).status, 200);
    let a = c.post(
        &path,
        None,
        &[("password", "short"), ("again", "short")],
        None,
    );
    assert_eq!(a.status, 422, "{}", a.body);
    let password = "correct horse battery";
    let a = c.post(
        &path,
        None,
        &[("password", password), ("again", password)],
        None,
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert!(a.set_cookie.starts_with("hp_session="));
    // Once only.
    let a = c.post(
        &path,
        None,
        &[("password", password), ("again", password)],
        None,
    );
    assert_eq!(a.status, 401, "{}", a.body);
    // The store holds an Argon2id hash, not the password.
    let record = store.password(&email.to_lowercase()).unwrap().unwrap();
    assert!(record.phc.starts_with("$argon2id$"), "{}", record.phc);
    assert!(!record.phc.contains(password));

    // Email (any case) and password sign in; a wrong password does not, with a message that
    // does not tell whether the email exists.
    let a = c.post(
        "/console/sign-in",
        None,
        &[
            ("method", "password"),
            ("email", &email.to_uppercase()),
            ("password", password),
        ],
        None,
    );
    assert_eq!(a.status, 303, "{}", a.body);
    let cookie = cookie_of(&a.set_cookie);
    assert!(
        c.get("/console/jobs", Some(&cookie))
            .body
            .contains(&hm.name)
    );
    let wrong = c.post(
        "/console/sign-in",
        None,
        &[
            ("method", "password"),
            ("email", &email),
            ("password", "not the password"),
        ],
        None,
    );
    let nobody = c.post(
        "/console/sign-in",
        None,
        &[
            ("method", "password"),
            ("email", "nobody@example.com"),
            ("password", "whatever it is"),
        ],
        None,
    );
    assert_eq!((wrong.status, nobody.status), (401, 401));
    assert!(wrong.body.contains("the email or the password is wrong"));
    assert!(nobody.body.contains("the email or the password is wrong"));
    // Bounded: after the burst (3) of failures for the account, even the right password is
    // refused at once (429) until the limit allows again.
    for _ in 0..3 {
        c.post(
            "/console/sign-in",
            None,
            &[
                ("method", "password"),
                ("email", &email),
                ("password", "still wrong!"),
            ],
            None,
        );
    }
    let a = c.post(
        "/console/sign-in",
        None,
        &[
            ("method", "password"),
            ("email", &email),
            ("password", password),
        ],
        None,
    );
    assert_eq!(a.status, 429, "{}", a.body);
    assert!(a.body.contains("too many failed sign-ins"), "{}", a.body);

    // A one-time sign-in link: a page with a button (GET uses nothing), then once only.
    let admin = c.role("admin");
    let code = c.code(&admin.user_id, store::CodePurpose::SignIn, 600);
    let path = format!("/console/code/{code}");
    assert_eq!(c.get(&path, None).status, 200);
    assert_eq!(c.get(&path, None).status, 200);
    let a = c.post(&path, None, &[], None);
    assert_eq!(a.status, 303, "{}", a.body);
    assert!(
        c.get("/console/jobs", Some(&cookie_of(&a.set_cookie)))
            .body
            .contains(&admin.name)
    );
    assert_eq!(c.post(&path, None, &[], None).status, 401);
    // An invitation code is no sign-in code.
    let invite = c.code(&admin.user_id, store::CodePurpose::Invitation, 600);
    assert_eq!(
        c.post(&format!("/console/code/{invite}"), None, &[], None)
            .status,
        401
    );
    // An expired code is refused.
    let expired = c.code(&admin.user_id, store::CodePurpose::SignIn, 0);
    assert_eq!(
        c.post(&format!("/console/code/{expired}"), None, &[], None)
            .status,
        401
    );
}
on_both!(passwords_codes_and_bounded_attempts);

/// A browser's device cookie is signed with the installation's key, kept in the database, so
/// that after a restart (or on another replica) the browser that signed in before still gets in
/// while its account is over its limit, and a new browser does not. Clients come through a
/// trusted proxy (`console.trusted_proxies`), each with the address it forwards.
fn a_device_cookie_outlives_a_restart(db: Db) {
    let mut c = Console::with(db, |s| {
        s.console.trusted_proxies = vec!["127.0.0.1/32".into(), "::1/128".into()];
    });
    let mut store = c.store();
    let hm = c.role("hiring_manager");
    let email = store.user_email(ORG, &hm.user_id).unwrap().unwrap();
    let code = c.code(&hm.user_id, store::CodePurpose::Invitation, 3_600);
    let password = "correct horse battery";
    let form = [("password", password), ("again", password)];
    let a = c.post(&format!("/console/invitation/{code}"), None, &form, None);
    assert_eq!(a.status, 303, "{}", a.body);
    let sign_in = |c: &Console, pw: &str, client: &str, cookie: Option<&str>| {
        c.post_from(
            client,
            "/console/sign-in",
            cookie,
            &[("method", "password"), ("email", &email), ("password", pw)],
        )
    };
    let right =
        |c: &Console, client: &str, cookie: Option<&str>| sign_in(c, password, client, cookie);
    let wrong = |c: &Console, client: &str| sign_in(c, "not the password", client, None);
    let a = right(&c, "203.0.113.1", None);
    assert_eq!(a.status, 303, "{}", a.body);
    let device = a
        .cookies
        .iter()
        .find(|p| p.starts_with("hp_device="))
        .unwrap_or_else(|| panic!("no device cookie in {:?}", a.cookies))
        .clone();

    c.restart();
    // Guesses from many addresses put the account over its own limit.
    for i in 0..30 {
        wrong(&c, &format!("198.51.100.{i}"));
    }
    let a = right(&c, "203.0.113.2", None);
    assert_eq!(a.status, 429, "a new browser waits: {}", a.body);
    let a = right(&c, "203.0.113.2", Some(&device));
    assert_eq!(
        a.status, 303,
        "the browser known before the restart: {}",
        a.body
    );
}
on_both!(a_device_cookie_outlives_a_restart);

/// An invitation whose user's email is already another account's login: refused with a message
/// that does not repeat the email, and the link is not used up (it works once the email is
/// another).
fn an_email_taken_elsewhere_keeps_the_link(db: Db) {
    let c = Console::new(db);
    let services = app::Services::new();
    let mut store = c.store();
    // A second org whose users have the first org's emails.
    let dir = tempfile::tempdir().unwrap();
    synth::generate(
        &synth::Config {
            org_id: "twin".into(),
            applications: 50,
            seed: 7,
        },
        dir.path(),
    )
    .unwrap();
    let users = dir.path().join("users.jsonl");
    let text = std::fs::read_to_string(&users).unwrap();
    std::fs::write(
        &users,
        text.replace("@twin.example", &format!("@{ORG}.example")),
    )
    .unwrap();
    store
        .import(dir.path(), store::ImportOptions::default(), &mut |_| {})
        .unwrap();
    let hm = c.role("hiring_manager");
    let email = store.user_email(ORG, &hm.user_id).unwrap().unwrap();
    let twin = store
        .active_users("twin")
        .unwrap()
        .into_iter()
        .find(|u| store.user_email("twin", &u.id).unwrap().as_deref() == Some(email.as_str()))
        .expect("a twin user with the same email");

    let invite = |store: &mut store::Store, org: &str, user: &str| {
        services
            .create_code(
                store,
                org,
                user,
                store::CodePurpose::Invitation,
                now(),
                3_600,
                None,
            )
            .unwrap()
    };
    let password = "correct horse battery";
    let form = [("password", password), ("again", password)];
    let first = invite(&mut store, ORG, &hm.user_id);
    let a = c.post(&format!("/console/invitation/{first}"), None, &form, None);
    assert_eq!(a.status, 303, "{}", a.body);

    let code = invite(&mut store, "twin", &twin.id);
    let path = format!("/console/invitation/{code}");
    for _ in 0..2 {
        let a = c.post(&path, None, &form, None);
        assert_eq!(a.status, 401, "{}", a.body);
        assert!(a.body.contains("signs in to another account"), "{}", a.body);
        assert!(
            !a.body.contains(&email),
            "the page names no email: {}",
            a.body
        );
    }
    // The code is still there (the second try was refused for the email, not the code).
    assert!(
        store
            .take_code(
                &app::tokens::secret_hash(&code),
                store::CodePurpose::Invitation
            )
            .unwrap()
            .is_some()
    );
    // The first account's password is unchanged.
    let record = store.password(&email.to_lowercase()).unwrap().unwrap();
    assert_eq!(record.org_id, ORG);
}
on_both!(an_email_taken_elsewhere_keeps_the_link);

fn csrf_and_origin_are_checked(db: Db) {
    let c = Console::new(db);
    let recruiter = c.role("recruiter");
    let cookie = c.sign_in_token(&recruiter.token);
    let csrf = c.csrf(&cookie);
    let (app_id, job, stage, to) = movable(&c, &recruiter.token);
    let path = format!("/console/applications/{app_id}/move");
    // No token, a wrong one, another session's: refused, nothing moved.
    let other_cookie = c.sign_in_token(&recruiter.token);
    let other_csrf = c.csrf(&other_cookie);
    assert_ne!(csrf, other_csrf);
    for token in ["", "0000", other_csrf.as_str()] {
        let a = c.post(
            &path,
            Some(&cookie),
            &[("csrf", token), ("job", &job), ("to_stage", &to)],
            None,
        );
        assert_eq!(a.status, 403, "{}", a.body);
    }
    // From another site's page: refused even with the right token.
    let a = c.post(
        &path,
        Some(&cookie),
        &[("csrf", &csrf), ("job", &job), ("to_stage", &to)],
        Some("http://evil.example"),
    );
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(stage_of(&c, &recruiter.token, &app_id), stage);
    // Signed out (no cookie): to the sign-in page, nothing moved.
    let a = c.post(
        &path,
        None,
        &[("csrf", &csrf), ("job", &job), ("to_stage", &to)],
        None,
    );
    assert_eq!((a.status, a.location.as_str()), (303, "/console/sign-in"));
    assert_eq!(stage_of(&c, &recruiter.token, &app_id), stage);

    // The real thing: moved, as the API says, and back to the board.
    let a = c.post(
        &path,
        Some(&cookie),
        &[("csrf", &csrf), ("job", &job), ("to_stage", &to)],
        None,
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.location, format!("/console/jobs/{job}"));
    assert_eq!(stage_of(&c, &recruiter.token, &app_id), to);
    // The board shows it in its new column.
    let board = c.get(&format!("/console/jobs/{job}"), Some(&cookie));
    assert_eq!(board.status, 200, "{}", board.body);
    let column = board.body.find(&format!("data-stage=\"{to}\"")).unwrap();
    let card = board.body.find(&format!("data-card=\"{app_id}\"")).unwrap();
    assert!(card > column, "the card is not in the column it moved to");
    // The column's count is the API's.
    let n = c.api(
        &recruiter.token,
        &format!(
            "{{ applications(filter: {{jobId: {job:?}, currentStageId: {to:?}, status: active}}) {{ totalCount }} }}"
        ),
    )["applications"]["totalCount"]
        .as_u64()
        .unwrap();
    let shown = &board.body[column..];
    let count = shown[shown.find("class=\"count\"").unwrap()..]
        .split('>')
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert_eq!(count, n.to_string(), "the column's count");
    // Archiving with a reason not on the org's list: the API's refusal, shown on the board.
    let a = c.post(
        &format!("/console/applications/{app_id}/archive"),
        Some(&cookie),
        &[("csrf", &csrf), ("job", &job), ("reason", "because")],
        None,
    );
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(a.body.contains("role=\"alert\""), "{}", a.body);
    let a = c.post(
        &format!("/console/applications/{app_id}/archive"),
        Some(&cookie),
        &[("csrf", &csrf), ("job", &job), ("reason", "withdrew")],
        None,
    );
    assert_eq!(a.status, 303, "{}", a.body);
    let data = c.api(
        &recruiter.token,
        &format!("{{ application(id: {app_id:?}) {{ status archiveReason }} }}"),
    );
    assert_eq!(data["application"]["status"], "archived");
    assert_eq!(data["application"]["archiveReason"], "withdrew");
}
on_both!(csrf_and_origin_are_checked);

fn another_orgs_user_sees_and_moves_nothing(db: Db) {
    let c = Console::new(db);
    let victim = c.role("recruiter");
    let (app_id, job, stage, to) = movable(&c, &victim.token);
    let attacker = c.other.iter().find(|r| r.role == "admin").unwrap();
    let cookie = c.sign_in_token(&attacker.token);
    let csrf = c.csrf(&cookie);
    // Their pages: 404, the same as for an id that does not exist.
    for path in [
        format!("/console/applications/{app_id}"),
        format!("/console/jobs/{job}"),
        "/console/applications/no-such-application".to_owned(),
        "/console/no/such/page".to_owned(),
    ] {
        let a = c.get(&path, Some(&cookie));
        assert_eq!(a.status, 404, "{path}: {}", a.body);
        assert!(
            !a.body.contains(&app_id) || path.contains("no-such"),
            "{path}"
        );
    }
    // The jobs list holds none of theirs.
    let list = c.get("/console/jobs", Some(&cookie));
    assert!(
        !list.body.contains(&format!("/console/jobs/{job}\"")),
        "{}",
        list.body
    );
    // A move of theirs with the attacker's own valid session and CSRF token: NOT_FOUND from the
    // API, nothing moved.
    let a = c.post(
        &format!("/console/applications/{app_id}/move"),
        Some(&cookie),
        &[("csrf", &csrf), ("job", &job), ("to_stage", &to)],
        None,
    );
    assert_eq!(a.status, 404, "{}", a.body);
    assert_eq!(stage_of(&c, &victim.token, &app_id), stage);
    // A session id of the right shape that is no one's: signed out.
    let forged = format!("hp_session={}", "ab".repeat(32));
    assert_eq!(c.get("/console/jobs", Some(&forged)).status, 303);
}
on_both!(another_orgs_user_sees_and_moves_nothing);

fn pages_render_for_every_role(db: Db) {
    let c = Console::new(db);
    let admin = c.role("admin");
    let (app_id, job, _, _) = movable(&c, &admin.token);
    for role in ["admin", "recruiter", "hiring_manager", "interviewer"] {
        let r = c.role(role);
        let cookie = c.sign_in_token(&r.token);
        let a = c.get("/console/jobs", Some(&cookie));
        assert_eq!(a.status, 200, "{role}: {}", a.body);
        for path in [
            format!("/console/jobs/{job}"),
            format!("/console/applications/{app_id}"),
        ] {
            let a = c.get(&path, Some(&cookie));
            assert!(
                matches!(a.status, 200 | 404),
                "{role} {path}: {} {}",
                a.status,
                a.body
            );
        }
    }
    // The name filter is text, whatever it holds: quotes find nothing and break nothing.
    let cookie = c.sign_in_token(&admin.token);
    let a = c.get(
        &format!("/console/jobs/{job}?q=%22%20or%20true%20or%20%22"),
        Some(&cookie),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(!a.body.contains("data-card="), "{}", a.body);
    // Bounded input: a control character, or too long, is refused with the field named.
    let a = c.get(&format!("/console/jobs/{job}?q=a%01b"), Some(&cookie));
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(a.body.contains("`q`"), "{}", a.body);
    let long = "a".repeat(500);
    let a = c.get(&format!("/console/jobs/{job}?q={long}"), Some(&cookie));
    assert_eq!(a.status, 422, "{}", a.body);
    // Assets: versioned paths, cached for a year.
    let page = c.get("/console/jobs", Some(&cookie)).body;
    let at = page.find("/console/assets/htmx.org-").unwrap();
    let path = &page[at..at + page[at..].find('"').unwrap()];
    let resp = c
        .agent
        .get(format!("{}{path}", c.server.base))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
}
on_both!(pages_render_for_every_role);

fn reports_run_explain_csv_and_errors(db: Db) {
    let c = Console::new(db);
    let admin = c.sign_in_token(&c.role("admin").token);
    let interviewer = c.sign_in_token(&c.role("interviewer").token);
    // A standard report: a table, and a chart for its shape (a key and a count).
    let a = c.get(
        "/console/reports?name=applications-by-source&action=run",
        Some(&admin),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("<table>"), "{}", a.body);
    assert!(a.body.contains("role=\"img\""), "no chart: {}", a.body);
    // Opened from a link on another site (the browser says so): shown, not run, not exported.
    let cross = |path: &str| {
        Console::answer(
            c.agent
                .get(format!("{}{path}", c.server.base))
                .header("Cookie", &admin)
                .header("Sec-Fetch-Site", "cross-site")
                .call()
                .unwrap(),
        )
    };
    let a = cross("/console/reports?name=applications-by-source&action=run");
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(a.body.contains("was not run"), "{}", a.body);
    assert!(!a.body.contains("<table>"), "{}", a.body);
    let a = cross("/console/reports.csv?name=applications-by-source");
    assert_eq!(a.status, 403, "{}", a.body);
    // A mistake: the span marked in the text, the diagnostic with its suggestion.
    let a = c.get(
        "/console/reports?text=report%20applications%20group%20by%20statsu&action=run",
        Some(&admin),
    );
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(a.body.contains("<mark>statsu</mark>"), "{}", a.body);
    assert!(a.body.contains("status"), "{}", a.body);
    assert!(a.body.contains("role=\"alert\""), "{}", a.body);
    // Explain: the SQL for admins only.
    let text = "report%20applications%20group%20by%20status";
    let a = c.get(
        &format!("/console/reports?text={text}&action=explain"),
        Some(&admin),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("SELECT"), "{}", a.body);
    let a = c.get(
        &format!("/console/reports?text={text}&action=explain"),
        Some(&interviewer),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(!a.body.contains("SELECT"), "{}", a.body);
    assert!(a.body.contains("rows filtered"), "{}", a.body);
    // CSV: the same rows as the API gives the same viewer.
    let a = c.get(&format!("/console/reports.csv?text={text}"), Some(&admin));
    assert_eq!(a.status, 200, "{}", a.body);
    let api = c.api(
        &c.role("admin").token,
        "{ report(text: \"report applications group by status\") { rows } }",
    );
    let lines: Vec<&str> = a.body.lines().collect();
    assert_eq!(lines[0], "status,count", "{}", a.body);
    assert_eq!(
        lines.len() - 1,
        api["report"]["rows"].as_array().unwrap().len()
    );
    // A number out of range is the viewer's mistake (422), not the server's (500), on the
    // page and in CSV.
    let overflow = "report%20interviews%20show%20sum(9223372036854775807)%20as%20s";
    for path in [
        format!("/console/reports?text={overflow}&action=run"),
        format!("/console/reports.csv?text={overflow}"),
    ] {
        let a = c.get(&path, Some(&admin));
        assert_eq!(a.status, 422, "{path}: {}", a.body);
        assert!(a.body.contains("out of range"), "{path}: {}", a.body);
    }
    // Signed out: no report.
    let a = c.get(&format!("/console/reports.csv?text={text}"), None);
    assert_eq!(a.status, 303);
}
on_both!(reports_run_explain_csv_and_errors);

fn admins_invite_users_others_may_not(db: Db) {
    let c = Console::new(db);
    let admin = c.sign_in_token(&c.role("admin").token);
    let recruiter = c.sign_in_token(&c.role("recruiter").token);
    let target = c.role("interviewer");
    let page = c.get("/console/admin/users", Some(&admin));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&target.name), "{}", page.body);
    let path = format!("/console/admin/users/{}/invite", target.user_id);
    // A recruiter (not an admin) is refused, with a valid session and CSRF token.
    let csrf = c.csrf(&recruiter);
    let a = c.post(&path, Some(&recruiter), &[("csrf", &csrf)], None);
    assert_eq!(a.status, 403, "{}", a.body);
    // An admin gets a one-time link, which lets the user choose a password.
    let csrf = c.csrf(&admin);
    let a = c.post(&path, Some(&admin), &[("csrf", &csrf)], None);
    assert_eq!(a.status, 200, "{}", a.body);
    let link_of = |body: &str| {
        let at = body.find("/console/invitation/").unwrap();
        // The link starts with the address the admin reached the console at.
        assert!(
            body[..at].ends_with(&c.server.base),
            "{}",
            &body[at.saturating_sub(60)..at]
        );
        body[at..at + "/console/invitation/".len() + 32].to_owned()
    };
    let first = link_of(&a.body);
    // A second invitation replaces the first: one working link per user.
    let a = c.post(&path, Some(&admin), &[("csrf", &csrf)], None);
    assert_eq!(a.status, 200, "{}", a.body);
    let link = &link_of(&a.body);
    assert_ne!(&first, link);
    let password = "a long enough password";
    let b = c.post(
        &first,
        None,
        &[("password", password), ("again", password)],
        None,
    );
    assert_eq!(b.status, 401, "the replaced link: {}", b.body);
    let b = c.post(
        link,
        None,
        &[("password", password), ("again", password)],
        None,
    );
    assert_eq!(b.status, 303, "{}", b.body);
    let jobs = c.get("/console/jobs", Some(&cookie_of(&b.set_cookie)));
    assert!(jobs.body.contains(&target.name), "{}", jobs.body);
    // Another org's user cannot be invited by this org's admin.
    let stranger = &c.other[0];
    let a = c.post(
        &format!("/console/admin/users/{}/invite", stranger.user_id),
        Some(&admin),
        &[("csrf", &csrf)],
        None,
    );
    assert_eq!(a.status, 404, "{}", a.body);

    // The links an admin made in a session opened with a token, on the users page or with the
    // session's GraphiQL token, die with that token while unused (red team, pass 17: a stolen
    // admin token's invitation outlived its revocation).
    let laptop = app::Services::new()
        .create_token(
            &mut c.store(),
            ORG,
            &c.role("admin").user_id,
            "laptop",
            None,
            now(),
        )
        .unwrap();
    let session = c.sign_in_token(&laptop.token);
    let csrf = c.csrf(&session);
    let a = c.post(
        &format!(
            "/console/admin/users/{}/invite",
            c.role("hiring_manager").user_id
        ),
        Some(&session),
        &[("csrf", &csrf)],
        None,
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let from_page = link_of(&a.body);
    let a = c.post("/console/api", Some(&session), &[("csrf", &csrf)], None);
    let graphiql = a.location.strip_prefix("/graphql#token=").unwrap();
    let made = c.api(
        graphiql,
        &format!(
            "mutation {{ inviteUser(userId: \"{}\") {{ path }} }}",
            c.role("recruiter").user_id
        ),
    );
    let from_graphiql = made["inviteUser"]["path"].as_str().unwrap().to_owned();
    assert!(
        c.store()
            .revoke_token(ORG, &laptop.stored.id, now())
            .unwrap()
    );
    for link in [&from_page, &from_graphiql] {
        let b = c.post(
            link,
            None,
            &[("password", password), ("again", password)],
            None,
        );
        assert_eq!(b.status, 401, "{link}: {}", b.body);
    }
}
on_both!(admins_invite_users_others_may_not);

/// An admin changes a user's role and deactivates them from the users page (the API's
/// `updateUser`); a recruiter's form is refused.
fn admins_change_roles_others_may_not(db: Db) {
    let c = Console::new(db);
    let admin = c.sign_in_token(&c.role("admin").token);
    let recruiter = c.sign_in_token(&c.role("recruiter").token);
    let target = c.role("interviewer");
    let path = format!("/console/admin/users/{}", target.user_id);
    let page = c.get("/console/admin/users", Some(&admin));
    assert!(
        page.body
            .contains(&format!("id=\"role-{}\"", target.user_id)),
        "{}",
        page.body
    );
    let csrf = c.csrf(&recruiter);
    let a = c.post(
        &path,
        Some(&recruiter),
        &[("csrf", &csrf), ("role", "admin"), ("active", "true")],
        None,
    );
    assert_eq!(a.status, 403, "{}", a.body);
    let csrf = c.csrf(&admin);
    let a = c.post(
        &path,
        Some(&admin),
        &[
            ("csrf", &csrf),
            ("role", "hiring_manager"),
            ("active", "true"),
        ],
        None,
    );
    assert_eq!(
        (a.status, a.location.as_str()),
        (303, "/console/admin/users"),
        "{}",
        a.body
    );
    let me = c.api(&target.token, "{ viewer { role } }");
    assert_eq!(me["viewer"]["role"], "hiring_manager");
    // The box unticked: deactivated, their token stops.
    let a = c.post(
        &path,
        Some(&admin),
        &[("csrf", &csrf), ("role", "interviewer")],
        None,
    );
    assert_eq!(a.status, 303, "{}", a.body);
    let status = c
        .server
        .agent
        .post(format!("{}/graphql", c.server.base))
        .header("Authorization", format!("Bearer {}", target.token))
        .send_json(json!({ "query": "{ viewer { role } }" }))
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 401, "a deactivated user");
    // A bad role is shown on the page, with the API's message.
    let a = c.post(
        &path,
        Some(&admin),
        &[("csrf", &csrf), ("role", "ceo"), ("active", "true")],
        None,
    );
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(a.body.contains("ceo"), "{}", a.body);
}
on_both!(admins_change_roles_others_may_not);

fn the_api_link_opens_graphiql_as_the_user(db: Db) {
    let c = Console::new(db);
    let hm = c.role("hiring_manager");
    let cookie = c.sign_in_token(&hm.token);
    let a = c.post("/console/api", Some(&cookie), &[("csrf", "wrong")], None);
    assert_eq!(a.status, 403, "{}", a.body);
    let csrf = c.csrf(&cookie);
    let a = c.post("/console/api", Some(&cookie), &[("csrf", &csrf)], None);
    assert_eq!(a.status, 303, "{}", a.body);
    let token = a.location.strip_prefix("/graphql#token=").unwrap();
    assert_ne!(token, hm.token);
    let me = c.api(token, "{ viewer { name role } }");
    assert_eq!(me["viewer"]["name"], hm.name.as_str());
    assert_eq!(me["viewer"]["role"], "hiring_manager");
    // Valid an hour at most.
    let id = app::tokens::parse(token).unwrap().0.to_owned();
    let stored = c.store().token(&id).unwrap().unwrap();
    let left = stored.expires_at.unwrap().as_micros() - now().as_micros();
    assert!(left <= 3_600_000_000 && left > 3_500_000_000, "{left}");
    // Opening the API again replaces it: one live token per session (each token has its own
    // rate limit), so the first is revoked.
    let a = c.post("/console/api", Some(&cookie), &[("csrf", &csrf)], None);
    let second = a
        .location
        .strip_prefix("/graphql#token=")
        .unwrap()
        .to_owned();
    assert!(c.store().token(&id).unwrap().unwrap().revoked_at.is_some());
    let second_id = app::tokens::parse(&second).unwrap().0.to_owned();
    assert!(
        c.store()
            .token(&second_id)
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
    // Signing out revokes it: the link stays in the browser's history, the token must not work.
    let other = c.sign_in_token(&hm.token);
    let csrf_other = c.csrf(&other);
    // An expired console token of the user's is deleted when the console makes another.
    let past = domain::Instant::from_micros(now().as_micros() - 1_000_000).unwrap();
    let stale = app::Services::new()
        .create_token(
            &mut c.store(),
            ORG,
            &hm.user_id,
            &app::sessions::console_token_name("0123456789abcdef"),
            Some(past),
            past,
        )
        .unwrap();
    let kept = c.post("/console/api", Some(&other), &[("csrf", &csrf_other)], None);
    let kept = kept
        .location
        .strip_prefix("/graphql#token=")
        .unwrap()
        .to_owned();
    assert!(
        c.store().token(&stale.stored.id).unwrap().is_none(),
        "the stale token is gone"
    );
    let a = c.post("/console/sign-out", Some(&cookie), &[("csrf", &csrf)], None);
    assert_eq!(a.status, 303, "{}", a.body);
    let refused = c
        .server
        .agent
        .post(format!("{}/graphql", c.server.base))
        .header("Authorization", format!("Bearer {second}"))
        .send_json(json!({ "query": "{ viewer { name } }" }))
        .unwrap();
    assert_eq!(
        refused.status().as_u16(),
        401,
        "the signed-out session's token"
    );
    assert!(
        c.store()
            .token(&second_id)
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    // The user's other session and its token go on.
    let me = c.api(&kept, "{ viewer { name } }");
    assert_eq!(me["viewer"]["name"], hm.name.as_str());
}
on_both!(the_api_link_opens_graphiql_as_the_user);

fn the_recruiter_finds_and_books_a_loop(db: Db) {
    let c = Console::new(db);
    let recruiter = c.role("recruiter");
    let interviewer = c.role("interviewer");
    let cookie = c.sign_in_token(&recruiter.token);
    let (app_id, _, _, stage) = movable(&c, &recruiter.token);
    let path = format!("/console/applications/{app_id}/schedule");
    let a = c.get(&path, Some(&cookie));
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("duration_minutes"), "{}", a.body);
    // One hour seated by the interviewer, in the next ten days.
    let plan = serde_json::json!({
        "options": 3,
        "loop": {"sessions": [{"id": "technical", "duration_minutes": 60,
            "seats": [{"person": interviewer.user_id}]}]},
        "candidate": {"min_notice_minutes": 1440, "horizon_days": 10},
    })
    .to_string();
    let mut resp = c
        .agent
        .get(format!("{}{path}", c.server.base))
        .header("Cookie", &cookie)
        .query("plan", &plan)
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body = resp.body_mut().read_to_string().unwrap();
    assert!(body.contains("Book option 1"), "{body}");
    // The options on a week calendar: a table per week, each session in its day's column.
    let calendar = &body[body
        .find("<table class=\"calendar\"")
        .expect("a week calendar")..];
    let calendar = &calendar[..calendar.find("</table>").unwrap()];
    assert!(
        calendar.contains("<caption>Options and busy time in the week of "),
        "{calendar}"
    );
    assert!(calendar.contains("Option 1: technical "), "{calendar}");
    assert!(calendar.contains("<td class=\"slot\">"), "{calendar}");
    // Book the first option: the option's JSON is in the form, as the API gave it.
    let at = body.find("name=\"option\" value=\"").unwrap() + "name=\"option\" value=\"".len();
    let option = body[at..at + body[at..].find('"').unwrap()].replace("&quot;", "\"");
    let csrf = c.csrf(&cookie);
    let before = c.api(
        &recruiter.token,
        &format!("{{ application(id: {app_id:?}) {{ interviews(first: 100) {{ totalCount }} }} }}"),
    )["application"]["interviews"]["totalCount"]
        .as_u64()
        .unwrap();
    let a = c.post(
        &path,
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("plan", &plan),
            ("option", &option),
            ("stage", &stage),
        ],
        None,
    );
    assert_eq!(a.status, 303, "{}", a.body);
    let after = c.api(
        &recruiter.token,
        &format!("{{ application(id: {app_id:?}) {{ interviews(first: 100) {{ totalCount }} }} }}"),
    )["application"]["interviews"]["totalCount"]
        .as_u64()
        .unwrap();
    assert_eq!(after, before + 1);
    // Without the CSRF token: refused.
    let a = c.post(
        &path,
        Some(&cookie),
        &[("plan", &plan), ("option", &option), ("stage", &stage)],
        None,
    );
    assert_eq!(a.status, 403, "{}", a.body);
    // The booked loop is on the application's page, with the form that starts a repair; an
    // interviewer, who may not schedule, gets no such section.
    let page = c.get(&format!("/console/applications/{app_id}"), Some(&cookie));
    assert!(
        page.body.contains("Booked interview loops"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("value=\"declined:{}\"", interviewer.user_id)),
        "{}",
        page.body
    );
    let loops = c.api(
        &recruiter.token,
        &format!("{{ interviewLoops(applicationId: {app_id:?}) {{ id }} }}"),
    );
    let loop_id = loops["interviewLoops"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The interviewer declines: they were named in the only seat, so nothing fits, and the
    // page says so.
    let repair = format!("/console/applications/{app_id}/repair");
    let a = c.get(
        &format!(
            "{repair}?loop={loop_id}&what=declined:{}",
            interviewer.user_id
        ),
        Some(&cookie),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("Proposed repair"), "{}", a.body);
    assert!(a.body.contains("Nothing fits"), "{}", a.body);
    // The candidate's case asks for the plan with their new windows first.
    let a = c.get(
        &format!("{repair}?loop={loop_id}&what=candidate"),
        Some(&cookie),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("new windows"), "{}", a.body);
    // Someone outside the loop, a loop that is not there: refused.
    let a = c.get(
        &format!(
            "{repair}?loop={loop_id}&what=declined:{}",
            recruiter.user_id
        ),
        Some(&cookie),
    );
    assert_eq!(a.status, 422, "{}", a.body);
    let a = c.get(
        &format!("{repair}?loop=loop_nope&what=candidate"),
        Some(&cookie),
    );
    assert_eq!(a.status, 404, "{}", a.body);
    // Applying without the CSRF token: refused, the loop as it was.
    let a = c.post(
        &repair,
        Some(&cookie),
        &[
            ("loop", loop_id.as_str()),
            ("what", "candidate"),
            ("option", option.as_str()),
        ],
        None,
    );
    assert_eq!(a.status, 403, "{}", a.body);
    let again = c.api(
        &recruiter.token,
        &format!("{{ interviewLoops(applicationId: {app_id:?}) {{ id }} }}"),
    );
    assert_eq!(again, loops);
    let interviewer_cookie = c.sign_in_token(&interviewer.token);
    let page = c.get(
        &format!("/console/applications/{app_id}"),
        Some(&interviewer_cookie),
    );
    assert!(
        !page.body.contains("Booked interview loops"),
        "{}",
        page.body
    );
}
on_both!(the_recruiter_finds_and_books_a_loop);

/// A policy that lets admins do everything and nobody else anything.
const ADMINS_ONLY: &str =
    "@id(\"admin\")\npermit (principal, action, resource)\nwhen { principal.role == \"admin\" };\n";
/// A policy with a syntax error on line 3.
const BROKEN: &str = "// broken\n@id(\"admin\")\npermit (principal, action, resource\nwhen { principal.role == \"admin\" };\n";

/// The admin pages: only admins see the navigation and the pages (others get the API's
/// refusal, and their forms change nothing); the policy is validated with its problems at their
/// lines, set (in force at once, in the audit log with its author) and reset, each `POST` with
/// the CSRF token; custom fields are created; the application page shows custom values as the
/// viewer reads them ("hidden" where masked) and changes them through the API.
fn admin_pages_policy_audit_and_custom_fields(db: Db) {
    let c = Console::new(db);
    let admin = c.role("admin");
    let recruiter = c.role("recruiter");
    let admin_cookie = c.sign_in_token(&admin.token);
    let recruiter_cookie = c.sign_in_token(&recruiter.token);
    let versions = || {
        c.api(&admin.token, "{ policy { versionCount } }")["policy"]["versionCount"]
            .as_u64()
            .unwrap()
    };
    let recruiter_apps = || {
        c.api(
            &recruiter.token,
            "{ applications(first: 5) { nodes { id } } }",
        )["applications"]["nodes"]
            .as_array()
            .unwrap()
            .len()
    };

    // The navigation: "Admin" for admins only; the pages: admins only.
    let jobs = c.get("/console/jobs", Some(&admin_cookie)).body;
    assert!(jobs.contains("href=\"/console/admin/users\""), "{jobs}");
    let jobs = c.get("/console/jobs", Some(&recruiter_cookie)).body;
    assert!(!jobs.contains("href=\"/console/admin/"), "{jobs}");
    for page in ["policy", "audit", "custom-fields"] {
        let a = c.get(&format!("/console/admin/{page}"), Some(&admin_cookie));
        assert_eq!(a.status, 200, "{page}: {}", a.body);
        assert!(a.body.contains("aria-label=\"Admin\""), "{page}");
    }
    // Flags are the installation's: this org is not the operator org (`flags.operator_org`),
    // so its admin gets the API's refusal, in the admin frame.
    let a = c.get("/console/admin/flags", Some(&admin_cookie));
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(a.body.contains("aria-label=\"Admin\""), "{}", a.body);
    assert!(a.body.contains("operator"), "{}", a.body);
    for page in ["policy", "audit", "flags"] {
        let a = c.get(&format!("/console/admin/{page}"), Some(&recruiter_cookie));
        assert_eq!(a.status, 403, "recruiter {page}: {}", a.body);
        assert!(!a.body.contains("policy-text"), "{}", a.body);
    }
    let csrf = c.csrf(&recruiter_cookie);
    for (path, form) in [
        (
            "/console/admin/policy",
            vec![
                ("csrf", csrf.as_str()),
                ("action", "set"),
                ("text", ADMINS_ONLY),
            ],
        ),
        ("/console/admin/policy/reset", vec![("csrf", csrf.as_str())]),
    ] {
        let a = c.post(path, Some(&recruiter_cookie), &form, None);
        assert_eq!(a.status, 403, "recruiter {path}: {}", a.body);
    }
    assert_eq!(versions(), 0, "a recruiter's forms changed nothing");

    // Validate: the problems listed, their lines marked in the text.
    let csrf = c.csrf(&admin_cookie);
    let a = c.post(
        "/console/admin/policy",
        Some(&admin_cookie),
        &[("csrf", &csrf), ("action", "validate"), ("text", BROKEN)],
        None,
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("href=\"#pl-"), "{}", a.body);
    assert!(a.body.contains("<mark id=\"pl-"), "{}", a.body);
    // Set a broken text: refused with its problems, nothing stored.
    let a = c.post(
        "/console/admin/policy",
        Some(&admin_cookie),
        &[("csrf", &csrf), ("action", "set"), ("text", BROKEN)],
        None,
    );
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(a.body.contains("<mark id=\"pl-"), "{}", a.body);
    assert_eq!(versions(), 0);
    // Without the CSRF token: refused.
    let a = c.post(
        "/console/admin/policy",
        Some(&admin_cookie),
        &[("action", "set"), ("text", ADMINS_ONLY)],
        None,
    );
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(versions(), 0);
    // Set (CR LF as a browser sends a textarea): in force at once, in the audit log.
    let a = c.post(
        "/console/admin/policy",
        Some(&admin_cookie),
        &[
            ("csrf", &csrf),
            ("action", "set"),
            ("text", &ADMINS_ONLY.replace('\n', "\r\n")),
        ],
        None,
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.location, "/console/admin/policy?done=set");
    assert_eq!(versions(), 1);
    let text = c.api(&admin.token, "{ policy { text } }")["policy"]["text"].clone();
    assert_eq!(text, ADMINS_ONLY);
    assert_eq!(recruiter_apps(), 0, "under the admins-only policy");
    let audit = c.get("/console/admin/audit", Some(&admin_cookie));
    assert_eq!(audit.status, 200, "{}", audit.body);
    assert!(audit.body.contains("setPolicy"), "{}", audit.body);
    assert!(audit.body.contains("policy v1"), "{}", audit.body);
    assert!(audit.body.contains(&admin.user_id), "{}", audit.body);
    let mine = c.get(
        &format!("/console/admin/audit?actor={}&denied=1", admin.user_id),
        Some(&admin_cookie),
    );
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert!(!mine.body.contains("setPolicy"), "{}", mine.body);
    // Reset.
    let a = c.post(
        "/console/admin/policy/reset",
        Some(&admin_cookie),
        &[("csrf", &csrf)],
        None,
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(versions(), 2);
    assert!(recruiter_apps() > 0, "back on the shipped default");
    let page = c.get("/console/admin/policy?done=reset", Some(&admin_cookie));
    assert!(
        page.body.contains("back on the shipped default"),
        "{}",
        page.body
    );

    // Custom fields: an admin creates one; a recruiter may not.
    let create = |cookie: &str, csrf: &str, key: &str| {
        c.post(
            "/console/admin/custom-fields",
            Some(cookie),
            &[
                ("csrf", csrf),
                ("entity", "application"),
                ("key", key),
                ("label", "Console note"),
                ("type", "text"),
            ],
            None,
        )
    };
    let a = create(&admin_cookie, &csrf, "console_note");
    assert_eq!(a.status, 303, "{}", a.body);
    let page = c
        .get("/console/admin/custom-fields", Some(&admin_cookie))
        .body;
    assert!(page.contains("console_note"), "{page}");
    let rcsrf = c.csrf(&recruiter_cookie);
    let a = create(&recruiter_cookie, &rcsrf, "recruiter_note");
    assert_eq!(a.status, 403, "{}", a.body);
    let defs = c.api(&admin.token, "{ customFields { key } }");
    assert!(
        !defs.to_string().contains("recruiter_note"),
        "the recruiter's field was not created"
    );

    // The application page: values as the viewer reads them, changed through the API.
    let (app_id, _, _, _) = movable(&c, &recruiter.token);
    let page = c.get(
        &format!("/console/applications/{app_id}"),
        Some(&recruiter_cookie),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let custom = &page.body[page.body.find("id=\"h-custom\"").unwrap()..];
    let custom = &custom[..custom.find("id=\"h-history\"").unwrap()];
    assert!(custom.contains("Console note"), "{custom}");
    // The shipped policy masks sensitive custom fields from recruiters: "hidden", not blank.
    assert!(custom.contains("Needs visa sponsorship"), "{custom}");
    assert!(custom.contains("hidden-value"), "{custom}");
    let a = c.post(
        &format!("/console/applications/{app_id}/custom"),
        Some(&recruiter_cookie),
        &[
            ("csrf", &rcsrf),
            ("entity", "application"),
            ("record", &app_id),
            ("key", "console_note"),
            ("type", "text"),
            ("value", "  called back  "),
        ],
        None,
    );
    assert_eq!(a.status, 303, "{}", a.body);
    let v = c.api(
        &recruiter.token,
        &format!("{{ application(id: {app_id:?}) {{ custom(key: \"console_note\") }} }}"),
    );
    assert_eq!(v["application"]["custom"], "called back");
    let page = c.get(
        &format!("/console/applications/{app_id}"),
        Some(&recruiter_cookie),
    );
    assert!(page.body.contains("called back"), "{}", page.body);
}
on_both!(admin_pages_policy_audit_and_custom_fields);
