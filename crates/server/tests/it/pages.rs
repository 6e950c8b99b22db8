//! What a browser gets from the real server over HTTP: GraphiQL on `GET /graphql`, which must
//! load only files the server itself serves (issue 23: the page was blank offline), and those
//! files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// `on_both!` is not needed: the pages do not depend on the store.
use crate::common;

/// A server on a fresh SQLite store (the pages need no data), with `tweak` applied.
fn start(tweak: impl FnOnce(&mut server::Settings)) -> (common::Server, common::Db) {
    let db = common::sqlite_db();
    let mut settings = server::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: db.url.clone(),
        ..server::Settings::default()
    };
    settings.pool.size = 2;
    tweak(&mut settings);
    (common::Server::start(settings), db)
}

/// An answer: status, the headers asked for (lower case; "" when missing), the body.
struct Got {
    status: u16,
    headers: std::collections::HashMap<String, String>,
    body: Vec<u8>,
}

impl Got {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

fn get(server: &common::Server, path: &str) -> Got {
    let mut resp = server
        .agent
        .get(format!("{}{path}", server.base))
        .call()
        .unwrap();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = resp
        .body_mut()
        .with_config()
        .limit(16 * 1024 * 1024)
        .read_to_vec()
        .unwrap();
    Got {
        status: resp.status().as_u16(),
        headers,
        body,
    }
}

/// The values of every `attribute="..."` in `html`.
fn attributes(html: &str, attribute: &str) -> Vec<String> {
    let needle = format!("{attribute}=\"");
    html.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

#[test]
fn graphiql_loads_only_files_the_server_serves() {
    let (server, _db) = start(|_| {});
    // Opened as from a demo link with the token in the query: the page must not echo it.
    let page = get(&server, "/graphql?token=hpt_abc_secretvalue");
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").starts_with("text/html"));
    let html = page.text();
    assert!(!html.contains("secretvalue"), "{html}");
    assert!(
        page.header("content-security-policy")
            .contains("script-src 'self';"),
        "{:?}",
        page.headers
    );
    assert_eq!(page.header("referrer-policy"), "no-referrer");
    let scripts = attributes(&html, "src");
    let styles = attributes(&html, "href")
        .into_iter()
        .filter(|h| h.ends_with(".css"))
        .collect::<Vec<_>>();
    // React, ReactDOM, GraphiQL and the script that starts it; GraphiQL's styles.
    assert_eq!(scripts.len(), 4, "{scripts:?}");
    assert_eq!(styles.len(), 1, "{styles:?}");
    for url in attributes(&html, "src")
        .into_iter()
        .chain(attributes(&html, "href"))
    {
        assert!(
            !url.contains("//") && !url.contains(':'),
            "the page names another host or scheme: `{url}`"
        );
    }
    let mut total = 0;
    for (url, content_type, at_least) in scripts
        .iter()
        .map(|s| (s, "text/javascript; charset=utf-8", 500))
        .chain(
            styles
                .iter()
                .map(|s| (s, "text/css; charset=utf-8", 100_000)),
        )
    {
        assert!(url.starts_with("assets/"), "{url}");
        // Relative to the page's `/graphql`.
        let file = get(&server, &format!("/{url}"));
        assert_eq!(file.status, 200, "{url}");
        assert_eq!(file.header("content-type"), content_type, "{url}");
        assert_eq!(
            file.header("cache-control"),
            "public, max-age=31536000, immutable",
            "{url}"
        );
        assert_eq!(file.header("x-content-type-options"), "nosniff", "{url}");
        assert!(
            file.body.len() >= at_least,
            "{url}: {} bytes",
            file.body.len()
        );
        total += file.body.len();
        let text = file.text();
        if url.contains("react-") || url.contains("graphiql-") {
            // The vendored files are production builds, with their versions in their paths.
            assert!(
                !text.contains("development"),
                "{url} is a development build"
            );
        }
        if url.ends_with("graphiql.min.js") {
            assert!(text.contains("createFetcher"), "{url}");
        }
        if url.contains("hireplane-") {
            // Ours: it reads the token from the address and sets the header.
            assert!(
                text.contains("'token'") && text.contains("'Bearer '"),
                "{text}"
            );
        }
    }
    assert!(
        (1_000_000..2_000_000).contains(&total),
        "the page loads {total} bytes"
    );
    let missing = get(&server, "/assets/graphiql-3.9.0/nothing.js");
    assert_eq!(missing.status, 404);
}

#[test]
fn without_graphiql_there_is_no_page_and_no_assets() {
    let (server, _db) = start(|s| s.graphiql = false);
    let page = get(&server, "/graphql");
    assert_eq!(page.status, 405, "only POST: {}", page.text());
    let file = get(
        &server,
        &format!(
            "/assets/react-{}/react.production.min.js",
            server::pages::REACT
        ),
    );
    assert_eq!(file.status, 404);
    // With GraphiQL on, that very path is served.
    let (on, _db) = start(|_| {});
    let file = get(
        &on,
        &format!(
            "/assets/react-{}/react.production.min.js",
            server::pages::REACT
        ),
    );
    assert_eq!(file.status, 200);
}

/// A small generated org in `db` with one user per role, and a token for each, as
/// `hireplane serve --demo` makes them.
fn demo_users(db: &common::Db) -> Vec<server::settings::DemoUser> {
    common::generated_org(
        db,
        "demo",
        30,
        7,
        &["admin", "recruiter", "hiring_manager", "interviewer"],
    )
    .into_iter()
    .map(|t| server::settings::DemoUser {
        role: t.role,
        user_id: t.user_id,
        name: t.name,
        token: t.token,
    })
    .collect()
}

/// Whether `text` holds something shaped like an API token (`hpt_` and hex digits).
fn has_token(text: &str) -> bool {
    text.match_indices("hpt_").any(|(at, _)| {
        text[at + 4..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_hexdigit())
    })
}

/// The start page's own links (relative to `/`) answer.
fn links_answer(server: &common::Server, html: &str) -> Vec<String> {
    let links = attributes(html, "href");
    for link in &links {
        assert!(!link.contains("//") && !link.contains(':'), "{link}");
        let path = link.split('#').next().unwrap();
        assert_eq!(get(server, &format!("/{path}")).status, 200, "{link}");
    }
    assert!(
        !html.contains("src=") && !html.contains("<link") && !html.contains("<script"),
        "{html}"
    );
    links
}

#[test]
fn the_start_page_links_what_the_server_serves_and_no_token() {
    let db = common::sqlite_db();
    // Tokens exist in the store, but a normal server shows none.
    let made = demo_users(&db);
    let mut settings = server::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: db.url.clone(),
        ..server::Settings::default()
    };
    settings.pool.size = 2;
    let server = common::Server::start(settings.clone());
    let page = get(&server, "/");
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").starts_with("text/html"));
    assert_eq!(page.header("cache-control"), "no-cache");
    let html = page.text();
    assert!(
        html.contains(&format!(
            "hireplane <small>{}</small>",
            env!("CARGO_PKG_VERSION")
        )),
        "{html}"
    );
    let links = links_answer(&server, &html);
    for want in ["graphql", "metrics", "healthz", "readyz"] {
        assert!(links.iter().any(|l| l == want), "{want}: {links:?}");
    }
    assert!(html.contains("docs/api.md"), "{html}");
    assert!(!has_token(&html), "{html}");
    assert!(!html.contains("Demo users"), "{html}");
    for user in &made {
        assert!(!html.contains(&user.token));
    }
    drop(server);

    // Without GraphiQL the page does not link it.
    settings.graphiql = false;
    let server = common::Server::start(settings);
    let html = get(&server, "/").text();
    let links = links_answer(&server, &html);
    assert!(!links.iter().any(|l| l.starts_with("graphql")), "{links:?}");
    assert!(html.contains("POST /graphql"), "{html}");
}

#[test]
fn under_serve_demo_the_start_page_opens_graphiql_as_each_role() {
    let db = common::sqlite_db();
    let users = demo_users(&db);
    let mut settings = server::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: db.url.clone(),
        ..server::Settings::default()
    };
    settings.pool.size = 2;
    settings.demo_users = users.clone();
    let server = common::Server::start(settings);
    let page = get(&server, "/");
    assert_eq!(page.status, 200);
    assert_eq!(page.header("cache-control"), "no-store");
    let html = page.text();
    assert!(html.contains("Demo users"), "{html}");
    let links = links_answer(&server, &html);
    let as_role: Vec<&String> = links
        .iter()
        .filter(|l| l.starts_with("graphql#token="))
        .collect();
    assert_eq!(as_role.len(), users.len(), "{links:?}");
    for (link, user) in as_role.into_iter().zip(&users) {
        assert!(html.contains(&format!(">{}</td>", user.role)), "{html}");
        assert!(
            html.contains(&format!("GraphiQL as {}<", user.role)),
            "{html}"
        );
        // The link's token is the user's, and it works as that user.
        let token = link.strip_prefix("graphql#token=").unwrap();
        assert_eq!(token, user.token);
        let mut resp = server
            .agent
            .post(format!("{}/graphql", server.base))
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(r#"{"query": "{ viewer { user role } }"}"#)
            .unwrap();
        let body: serde_json::Value =
            serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(
            body["data"]["viewer"]["user"],
            user.user_id.as_str(),
            "{body}"
        );
        assert_eq!(body["data"]["viewer"]["role"], user.role.as_str(), "{body}");
    }
}
