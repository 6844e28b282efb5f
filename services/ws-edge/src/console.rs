//! The web console at `/console/`: a seeker pane and a provider pane that run one session
//! live through the TypeScript SDK. Its files in `services/ws-edge/console/` are compiled
//! into the binary, so every edge serves the same console with nothing to deploy: the page
//! and stylesheet (`index.html`, `console.css`) are written there, and the script
//! (`console.js`) is built there from `clients/typescript/console/console.ts` by
//! `npm run console` (committed; `scripts/test` fails when it drifts).
//!
//! The console is an ordinary client: it holds no secret and the edge gives it none. It
//! takes tokens minted elsewhere (`tether-token`; `scripts/up` prints a console address
//! with two demo tokens in the URL fragment, which browsers never send to a server), so
//! serving it adds no way in.

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tether_proto::ErrorCode;
use tether_proto::errors::NOT_FOUND;

use crate::http_error;
use crate::state::EdgeState;

/// The served files: name, content type, bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_bytes!("../console/index.html"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../console/console.js"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("../console/console.css"),
    ),
];

/// Same-origin everything: no inline script, no third party, not framable (the page
/// handles tokens), and sockets only to this edge.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Routes under `/console`.
pub fn router() -> Router<Arc<EdgeState>> {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(|| async { file("index.html") }))
        .route(
            "/console/{name}",
            get(|Path(name): Path<String>| async move { file(&name) }),
        )
}

fn file(name: &str) -> Response {
    let Some((_, content_type, bytes)) = FILES.iter().find(|(file, _, _)| *file == name) else {
        return http_error(StatusCode::NOT_FOUND, ErrorCode::NotFound, NOT_FOUND);
    };
    let mut response = (StatusCode::OK, *bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Rebuilt with the binary: always revalidate rather than serve a stale console.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
