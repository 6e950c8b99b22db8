//! What a browser gets: GraphiQL on `GET /graphql` (when `graphiql` is on) and the files it
//! loads, served from the binary under `/assets/`, so that the page works offline and loads
//! nothing from another host.
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

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use sha2::Digest;

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
fn short_hash(bytes: &[u8]) -> String {
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
