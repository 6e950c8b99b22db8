//! The console's files, served from the binary under `/console/assets/`: our stylesheet and
//! script under a hash of their content (`hireplane-<hash>/console.css`), the vendored htmx
//! under its version (`htmx.org-2.0.11/htmx.min.js`; `crates/server/assets/console/vendor/`,
//! whose README gives its size, hash and licence). Every path names its version, so browsers
//! keep the files for a year (`immutable`), as for GraphiQL's ([`crate::pages`]).

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The vendored htmx (`htmx.org@`).
pub const HTMX: &str = "2.0.11";

/// One file under `/console/assets/`.
struct Asset {
    path: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// The console's files and their paths, made once.
pub struct Assets {
    files: Vec<Asset>,
    /// `/console/assets/...` of each.
    pub css: String,
    pub js: String,
    pub htmx: String,
}

const CSS_BYTES: &[u8] = include_bytes!("../../assets/console/console.css");
const JS_BYTES: &[u8] = include_bytes!("../../assets/console/console.js");
const HTMX_BYTES: &[u8] = include_bytes!("../../assets/console/vendor/htmx.min.js");

pub static ASSETS: LazyLock<Assets> = LazyLock::new(|| {
    let ours = |file: &str, content_type, bytes: &'static [u8]| Asset {
        path: format!("hireplane-{}/{file}", crate::pages::short_hash(bytes)),
        content_type,
        bytes,
    };
    let css = ours("console.css", "text/css; charset=utf-8", CSS_BYTES);
    let js = ours("console.js", "text/javascript; charset=utf-8", JS_BYTES);
    let htmx = Asset {
        path: format!("htmx.org-{HTMX}/htmx.min.js"),
        content_type: "text/javascript; charset=utf-8",
        bytes: HTMX_BYTES,
    };
    let url = |a: &Asset| format!("/console/assets/{}", a.path);
    Assets {
        css: url(&css),
        js: url(&js),
        htmx: url(&htmx),
        files: vec![css, js, htmx],
    }
});

/// `GET /console/assets/{*path}`: one of the console's files, or 404.
pub async fn asset(Path(path): Path<String>) -> Response {
    let Some(asset) = ASSETS.files.iter().find(|a| a.path == path) else {
        return (StatusCode::NOT_FOUND, "no such asset\n").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        Bytes::from_static(asset.bytes),
    )
        .into_response()
}
