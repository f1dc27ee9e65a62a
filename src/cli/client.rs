//! A small client of the admin API: finds the server (flags, environment, or the data
//! directory's `admin.url` / `admin.token`), sends JSON and turns error answers into messages.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::Connection;

pub struct AdminClient {
    http: reqwest::Client,
    base: Url,
    token: String,
}

const HINT: &str = "is otpd serve running with this data directory?";

fn read_file(dir: &Path, name: &str) -> anyhow::Result<String> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow!("cannot read {}: {e}; {HINT}", path.display()))?;
    let text = text.trim();
    if text.is_empty() {
        bail!("{} is empty; {HINT}", path.display());
    }
    Ok(text.to_owned())
}

impl AdminClient {
    /// Flags and environment win; what they leave out comes from the data directory.
    /// `data_dir` is the running server's: its `admin.url` and `admin.token` say where the
    /// admin API is and how to authenticate.
    pub fn connect(conn: &Connection, data_dir: &Path) -> anyhow::Result<Self> {
        let url = match &conn.admin_url {
            Some(u) => u.clone(),
            None => read_file(data_dir, otpd::ADMIN_URL_FILE)?,
        };
        let token = match &conn.admin_token {
            Some(t) => t.clone(),
            None => read_file(data_dir, otpd::ADMIN_TOKEN_FILE)?,
        };
        let base = Url::parse(&url).with_context(|| format!("admin URL {url:?}"))?;
        if base.cannot_be_a_base() {
            bail!("admin URL {url:?} is not an http(s) URL");
        }
        let mut builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(10));
        // An admin listener on TLS: trust its certificate, which the server copies here.
        let cert = data_dir.join(otpd::ADMIN_CERT_FILE);
        if base.scheme() == "https"
            && let Ok(pem) = std::fs::read(&cert)
        {
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .with_context(|| format!("reading {}", cert.display()))?;
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let http = builder.build().context("building the HTTP client")?;
        Ok(Self { http, base, token })
    }

    /// `/admin/api/<segments…>`, each segment percent-encoded (destinations hold `@`, `+`, `:`).
    fn url(&self, segments: &[&str]) -> anyhow::Result<Url> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| anyhow!("admin URL {} is not an http(s) URL", self.base))?
            .pop_if_empty()
            .extend(["admin", "api"])
            .extend(segments);
        Ok(url)
    }

    /// Sends one request; a non-2xx answer becomes an error carrying the server's message.
    pub async fn call(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        self.call_with_query(method, segments, &[], body).await
    }

    /// [`AdminClient::call`] with query parameters (encoded here, so values may hold anything).
    pub async fn call_with_query(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let text = self.send(method, segments, query, body).await?;
        serde_json::from_str(&text)
            .map_err(|_| anyhow!("the admin API answered something that is not JSON"))
    }

    /// A GET whose answer is text (CSV exports).
    pub async fn get_text(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> anyhow::Result<String> {
        self.send(Method::GET, segments, query, None).await
    }

    /// Sends one request and returns the body of a 2xx answer; anything else becomes an error
    /// carrying the server's message.
    async fn send(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> anyhow::Result<String> {
        let resp = self
            .request(method, segments, query, body, REQUEST_TIMEOUT)
            .await?;
        resp.text().await.context("reading the admin API's answer")
    }

    /// Streams a GET's answer into `out` (backups); returns the bytes written.
    pub async fn download(
        &self,
        segments: &[&str],
        out: &mut impl std::io::Write,
    ) -> anyhow::Result<u64> {
        let mut resp = self
            .request(Method::GET, segments, &[], None, DOWNLOAD_TIMEOUT)
            .await?;
        let mut written = 0u64;
        while let Some(chunk) = resp.chunk().await.context("the download broke off")? {
            out.write_all(&chunk)?;
            written += chunk.len() as u64;
        }
        out.flush()?;
        Ok(written)
    }

    /// Sends one request; a non-2xx answer becomes an error carrying the server's message.
    async fn request(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<Value>,
        timeout: Duration,
    ) -> anyhow::Result<reqwest::Response> {
        let mut url = self.url(segments)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut req = self
            .http
            .request(method, url)
            .timeout(timeout)
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| {
            anyhow!(
                "cannot reach the admin API at {}: {}; {HINT}",
                self.base,
                root_cause(&e)
            )
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp
            .text()
            .await
            .context("reading the admin API's answer")?;
        let json: Option<Value> = serde_json::from_str(&text).ok();
        let message = json
            .as_ref()
            .and_then(|j| j["error"]["message"].as_str())
            .map_or_else(|| format!("{status}: {text}"), str::to_owned);
        let code = json.as_ref().and_then(|j| j["error"]["code"].as_u64());
        match (status, code) {
            (StatusCode::UNAUTHORIZED, _) => bail!(
                "the admin API refused the token ({message}); the token changes at every start: {HINT}"
            ),
            (_, Some(code)) => bail!("{message} (code {code})"),
            _ => bail!("{message}"),
        }
    }
}

/// How long one admin call may take; a backup download may take much longer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(3600);

/// The innermost error: reqwest's own text ("error sending request") says little.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
