//! The operator console: the SvelteKit app built into `ui/build` (by `build.rs`) and embedded
//! in the binary, served by the admin listener at `/`. Hashed assets under `/_app/immutable/`
//! are cached for a year; any other path that is not a file gets `index.html`, and the app's
//! router takes over. Every answer carries a strict Content-Security-Policy (scripts from this
//! origin plus the hash of SvelteKit's inline bootstrap) and refuses to be framed.

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

#[derive(rust_embed::Embed)]
#[folder = "ui/build"]
struct Assets;

/// Serves a console file, or `index.html` for the app's own routes.
pub async fn serve(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path.starts_with("admin/api/") {
        return super::admin::not_found();
    }
    match Assets::get(path).filter(|_| !path.is_empty()) {
        Some(file) => {
            let cache = if path.starts_with("_app/immutable/") {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            respond(file.metadata.mimetype(), cache, file.data.into_owned())
        }
        None => match Assets::get("index.html") {
            Some(index) => respond(
                "text/html; charset=utf-8",
                "no-cache",
                index.data.into_owned(),
            ),
            None => (
                StatusCode::NOT_FOUND,
                "this otpd was built without its console (ui/build was empty)",
            )
                .into_response(),
        },
    }
}

fn respond(content_type: &str, cache: &'static str, bytes: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(bytes));
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(csp()) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// The policy, with the hash of every inline script of `index.html` (computed once).
fn csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let index = Assets::get("index.html")
            .map(|f| String::from_utf8_lossy(&f.data).into_owned())
            .unwrap_or_default();
        let hashes: String = inline_scripts(&index)
            .map(|s| {
                let digest = Sha256::digest(s.as_bytes());
                format!(
                    " 'sha256-{}'",
                    base64::engine::general_purpose::STANDARD.encode(digest)
                )
            })
            .collect();
        format!(
            "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
             base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
        )
    })
}

/// The contents of `<script>` elements without attributes.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</script>").map(|(body, _)| body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_found() {
        let html = "<head><script src=\"/a.js\"></script></head><body><script>\n boot() \n</script></body>";
        assert_eq!(inline_scripts(html).collect::<Vec<_>>(), ["\n boot() \n"]);
    }

    #[test]
    fn the_policy_allows_the_embedded_bootstrap() {
        let index = Assets::get("index.html").expect("the console is embedded");
        let index = String::from_utf8_lossy(&index.data).into_owned();
        let script = inline_scripts(&index).next().expect("an inline bootstrap");
        let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script));
        assert!(csp().contains(&digest), "{}", csp());
        assert!(csp().contains("frame-ancestors 'none'"));
    }
}
