//! What a browser gets: a start page on `GET /` (linking the console, [`crate::console`]), GraphiQL on
//! `GET /graphql` (when `graphiql` is on) and the files it loads, served from the binary under
//! `/assets/`, so that the pages work offline and load nothing from another host.
//!
//! The start page names the server and its version and links what it serves; under
//! `hireplane serve --demo` (and only then: [`crate::Settings::demo_users`] is set by the CLI
//! alone) it also lists the demo users' roles with their tokens and a link that opens GraphiQL
//! as each of them.
//!
//! React, ReactDOM and GraphiQL are vendored production builds (`crates/server/assets/graphiql/`,
//! whose README says their versions, sizes, licences and how to refresh them); the page and the
//! script that starts GraphiQL are ours (`crates/server/assets/graphiql.html`, `graphiql.js`).
//! Every asset's path names its version (ours: a hash of its content), so browsers may keep it
//! for a year (`immutable`); the pages themselves are revalidated.
//!
//! A token in the page's address (`/graphql#token=hpt_...`, or `?token=`) prefills GraphiQL's
//! `Authorization` header in the browser: the page never contains it, and the server never reads
//! it (a fragment is not sent; the request log has the path without the query). The script also
//! replaces GraphiQL's introspection query by one that fits `limits.max_depth`.

use std::fmt::Write as _;
use std::sync::LazyLock;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use sha2::Digest;

use crate::settings::{DemoUser, Settings};

/// The vendored React and ReactDOM (`react@`, `react-dom@`).
pub const REACT: &str = "18.3.1";
/// The vendored GraphiQL (`graphiql@`).
pub const GRAPHIQL: &str = "3.9.0";

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// How long a browser keeps an asset: a year, without asking again (its path changes with it).
const CACHE_ASSET: &str = "public, max-age=31536000, immutable";

/// What the GraphiQL page may load and do: its own scripts and styles (GraphiQL sets inline
/// styles), its CSS's `data:` fonts and images, requests to this server; nothing else.
const GRAPHIQL_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// One file under `/assets/`.
struct Asset {
    /// The path under `/assets/`, e.g. `graphiql-3.9.0/graphiql.min.js`.
    path: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// The assets and the GraphiQL page that names them, made once.
struct Assets {
    files: Vec<Asset>,
    graphiql_page: String,
}

static ASSETS: LazyLock<Assets> = LazyLock::new(Assets::new);

impl Assets {
    fn new() -> Assets {
        let vendored = |package: &str, version: &str, file: &str, content_type, bytes| Asset {
            path: format!("{package}-{version}/{file}"),
            content_type,
            bytes,
        };
        let react = vendored(
            "react",
            REACT,
            "react.production.min.js",
            JS,
            include_bytes!("../assets/graphiql/react.production.min.js"),
        );
        let react_dom = vendored(
            "react-dom",
            REACT,
            "react-dom.production.min.js",
            JS,
            include_bytes!("../assets/graphiql/react-dom.production.min.js"),
        );
        let graphiql_js = vendored(
            "graphiql",
            GRAPHIQL,
            "graphiql.min.js",
            JS,
            include_bytes!("../assets/graphiql/graphiql.min.js"),
        );
        let graphiql_css = vendored(
            "graphiql",
            GRAPHIQL,
            "graphiql.min.css",
            CSS,
            include_bytes!("../assets/graphiql/graphiql.min.css"),
        );
        let start: &'static [u8] = include_bytes!("../assets/graphiql.js");
        let start_js = Asset {
            path: format!("hireplane-{}/graphiql.js", short_hash(start)),
            content_type: JS,
            bytes: start,
        };
        // Relative to `/graphql`: the page also works behind a proxy that adds a path prefix.
        let graphiql_page = include_str!("../assets/graphiql.html")
            .replace("{{graphiql_css}}", &format!("assets/{}", graphiql_css.path))
            .replace("{{react_js}}", &format!("assets/{}", react.path))
            .replace("{{react_dom_js}}", &format!("assets/{}", react_dom.path))
            .replace("{{graphiql_js}}", &format!("assets/{}", graphiql_js.path))
            .replace("{{start_js}}", &format!("assets/{}", start_js.path));
        Assets {
            files: vec![react, react_dom, graphiql_js, graphiql_css, start_js],
            graphiql_page,
        }
    }
}

/// The first 12 hex digits of `bytes`' SHA-256: a version for a file of ours.
pub(crate) fn short_hash(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `GET /graphql`: GraphiQL.
pub async fn graphiql() -> Response {
    let mut r = Html(ASSETS.graphiql_page.as_str()).into_response();
    let headers = r.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(GRAPHIQL_CSP),
    );
    // The page's address may hold a token (`?token=`): not passed on to anyone.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// `GET /assets/{*path}`: one of the files the GraphiQL page loads, or 404.
pub async fn asset(Path(path): Path<String>) -> Response {
    let Some(asset) = ASSETS.files.iter().find(|a| a.path == path) else {
        return (StatusCode::NOT_FOUND, "no such asset\n").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, CACHE_ASSET),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        Bytes::from_static(asset.bytes),
    )
        .into_response()
}

/// The start page, `GET /`: made once from the settings.
#[derive(Clone)]
pub struct StartPage {
    html: Bytes,
    /// It shows tokens: not to be kept by a browser's cache or a proxy.
    secret: bool,
}

/// The documents of the repository a new user wants, with what each is for.
const DOCS: &[(&str, &str)] = &[
    ("README.md", "setting up, a tour, every setting, security"),
    (
        "docs/api.md",
        "this API: reads, mutations, errors, limits, logs",
    ),
    (
        "docs/policy.md",
        "who may see and do what: the access policy",
    ),
    ("docs/report-language.md", "the report language"),
    ("docs/slo.md", "service level objectives and their alerts"),
    ("docs/privacy.md", "privacy and demographic data"),
    ("ARCHITECTURE.md", "how the code is laid out"),
];

impl StartPage {
    pub fn new(settings: &Settings) -> StartPage {
        StartPage {
            html: Bytes::from(start_page(settings)),
            secret: !settings.demo_users.is_empty(),
        }
    }

    pub fn respond(&self) -> Response {
        let mut r = Html(self.html.clone()).into_response();
        let headers = r.headers_mut();
        let cache = if self.secret { "no-store" } else { "no-cache" };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        // Nothing but its own inline styles: no script, no other host.
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
                 form-action 'none'; frame-ancestors 'none'",
            ),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        r
    }
}

/// The start page's HTML. Links are relative (`graphql`, `metrics`), so that it also works
/// behind a proxy that adds a path prefix.
fn start_page(settings: &Settings) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let mut page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>hireplane {version}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>hireplane <small>{version}</small></h1>\n\
         <p>The server of hireplane, a recruiting platform core. What it serves:</p>\n<ul>\n\
         <li><a href=\"console\">The console</a>: boards, applications and scorecards in the \
         browser (sign in with your email and password, or an API token)</li>\n"
    );
    if settings.graphiql {
        page.push_str(
            "<li><a href=\"graphql\">GraphiQL</a>: the GraphQL API in the browser (the API \
             itself is <code>POST /graphql</code> with <code>Authorization: Bearer \
             hpt_...</code>, a token from <code>hireplane token create</code>)</li>\n",
        );
    } else {
        page.push_str(
            "<li>The GraphQL API: <code>POST /graphql</code> with <code>Authorization: Bearer \
             hpt_...</code>, a token from <code>hireplane token create</code> (GraphiQL is \
             off: <code>graphiql = false</code>)</li>\n",
        );
    }
    page.push_str(
        "<li><a href=\"metrics\">/metrics</a>: Prometheus metrics</li>\n\
         <li><a href=\"healthz\">/healthz</a> and <a href=\"readyz\">/readyz</a>: liveness \
         and readiness</li>\n</ul>\n",
    );
    if !settings.demo_users.is_empty() {
        demo_section(&mut page, &settings.demo_users, settings.graphiql);
    }
    page.push_str("<h2>Documentation</h2>\n<p>In the repository:</p>\n<ul>\n");
    for (file, what) in DOCS {
        let _ = writeln!(page, "<li><code>{file}</code>: {what}</li>");
    }
    page.push_str("</ul>\n");
    if settings.graphiql {
        page.push_str(
            "<p>GraphiQL's Docs pane (the book icon) shows every type and field of the \
             schema.</p>\n",
        );
    }
    page.push_str("</body>\n</html>\n");
    page
}

const STYLE: &str = "body { font: 16px/1.5 system-ui, sans-serif; max-width: 48em; \
     margin: 2em auto; padding: 0 1em; color: #222; } small { color: #777; font-weight: normal; } \
     code { font-size: 90%; background: #f2f2f2; padding: 0 .2em; } \
     table { border-collapse: collapse; } th, td { text-align: left; padding: .2em 1em .2em 0; \
     vertical-align: top; } code.token { word-break: break-all; }";

/// The demo users: role, user, a link to GraphiQL as them, and the token.
fn demo_section(page: &mut String, users: &[DemoUser], graphiql: bool) {
    page.push_str(
        "<h2>Demo users</h2>\n<p>This server runs <code>hireplane serve --demo</code>: one \
         token per role, valid 30 days. The same question shows different rows and fields to \
         each role (the access policy, <code>docs/policy.md</code>).</p>\n<table>\n\
         <tr><th>role</th><th>user</th>",
    );
    if graphiql {
        page.push_str("<th></th>");
    }
    page.push_str("<th>token</th></tr>\n");
    for user in users {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}<br><code>{}</code></td>",
            escape(&user.role),
            escape(&user.name),
            escape(&user.user_id)
        );
        if graphiql {
            // In the fragment: the browser does not send it to the server.
            let _ = write!(
                page,
                "<td><a href=\"graphql#token={}\">GraphiQL as {}</a></td>",
                escape(&percent_encode(&user.token)),
                escape(&user.role)
            );
        }
        let _ = writeln!(
            page,
            "<td><code class=\"token\">{}</code></td></tr>",
            escape(&user.token)
        );
    }
    page.push_str("</table>\n");
}

/// `text` for HTML text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` for a URL's fragment or query value: everything but letters, digits and `-._~`
/// percent-encoded.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_html_and_urls() {
        assert_eq!(
            escape("<a href=\"x\">O'Neil & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;"
        );
        assert_eq!(percent_encode("hpt_ab-1.~"), "hpt_ab-1.~");
        assert_eq!(percent_encode("a b&c#é"), "a%20b%26c%23%C3%A9");
    }
}
