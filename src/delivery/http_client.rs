//! What the HTTP senders share: one lazily built reqwest client per sender (built on the first
//! send, so building a sender does no I/O), error classification, and the rule that provider
//! text quoted in an error never carries the code or the message.

use std::sync::OnceLock;
use std::time::Duration;

use super::{OutgoingMessage, SendError};

/// Bodies above this are cut: an answer only needs to say "ok" or why not.
const MAX_BODY: usize = 64 * 1024;
/// Provider text quoted in an error is cut to this many characters.
const MAX_DETAIL: usize = 200;

pub(crate) struct HttpClient {
    timeout: Duration,
    client: OnceLock<Result<reqwest::Client, String>>,
}

/// A provider's answer: status and (possibly cut) body.
pub(crate) struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

impl HttpClient {
    pub fn new(timeout_seconds: u32) -> Self {
        Self {
            timeout: Duration::from_secs(timeout_seconds.into()),
            client: OnceLock::new(),
        }
    }

    pub fn client(&self) -> Result<&reqwest::Client, SendError> {
        let built = self.client.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(self.timeout)
                .connect_timeout(self.timeout)
                .user_agent(concat!("otpd/", env!("CARGO_PKG_VERSION")))
                // A redirect would mean a wrong base URL; following it could carry credentials
                // somewhere unexpected.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| format!("HTTP client could not be built: {}", e.without_url()))
        });
        built.as_ref().map_err(|e| SendError::Permanent(e.clone()))
    }

    /// Sends the request and reads the answer. Transport failures are temporary; their text
    /// names the host but never the URL (a GET gateway carries the message in it).
    pub async fn execute(
        &self,
        request: reqwest::RequestBuilder,
        host: &str,
    ) -> Result<Answer, SendError> {
        let mut response = request
            .send()
            .await
            .map_err(|e| self.transport_error(&e, host))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk);
                    if body.len() >= MAX_BODY {
                        body.truncate(MAX_BODY);
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => return Err(self.transport_error(&e, host)),
            }
        }
        Ok(Answer {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    fn transport_error(&self, e: &reqwest::Error, host: &str) -> SendError {
        if e.is_timeout() {
            return SendError::Temporary(format!(
                "no answer from {host} within {} s",
                self.timeout.as_secs()
            ));
        }
        let what = if e.is_connect() {
            format!("could not connect to {host}")
        } else if e.is_body() || e.is_decode() {
            format!("the answer from {host} broke off")
        } else {
            format!("request to {host} failed")
        };
        let cause = std::error::Error::source(e)
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        SendError::Temporary(format!("{what}{}", cut(&cause, MAX_DETAIL)))
    }
}

/// The host of a URL, for error messages.
pub(crate) fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_owned(),
            })
        })
        .unwrap_or_else(|| "the provider".to_owned())
}

/// Provider text fit for an error: withheld entirely when it repeats the code or the
/// message, else cut and stripped of control characters.
pub(crate) fn provider_text(text: &str, msg: &OutgoingMessage<'_>) -> String {
    let repeats = (!msg.otp.is_empty() && text.contains(msg.otp))
        || (!msg.rendered.text.is_empty() && text.contains(msg.rendered.text.as_str()));
    if repeats {
        return "(provider text withheld: it repeats the message)".to_owned();
    }
    let clean: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cut(&clean, MAX_DETAIL)
}

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Whether an HTTP status is worth retrying: overload, throttling, server trouble.
pub(crate) fn is_temporary_status(status: u16) -> bool {
    matches!(status, 408 | 425 | 429) || status >= 500
}

/// A non-2xx answer as an error, with `detail` (already made safe by [`provider_text`]).
pub(crate) fn status_error(status: u16, detail: &str) -> SendError {
    let text = if detail.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {detail}")
    };
    if is_temporary_status(status) {
        SendError::Temporary(text)
    } else {
        SendError::Permanent(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::test_support::Fixture;

    #[test]
    fn provider_text_never_repeats_the_code_or_message() {
        let f = Fixture::mobile("84901234567");
        let msg = f.msg();
        assert!(provider_text(&format!("bad {}", msg.otp), &msg).contains("withheld"));
        assert!(provider_text(&format!("echo: {}", msg.rendered.text), &msg).contains("withheld"));
        assert_eq!(provider_text(" line\nbreak ", &msg), "line break");
        assert_eq!(
            provider_text(&"x".repeat(300), &msg).chars().count(),
            MAX_DETAIL + 1
        );
    }

    #[test]
    fn statuses_are_classified() {
        assert!(status_error(503, "").is_temporary());
        assert!(status_error(429, "").is_temporary());
        assert!(!status_error(400, "").is_temporary());
        assert!(!status_error(401, "").is_temporary());
        assert_eq!(
            status_error(404, "x"),
            SendError::Permanent("HTTP 404: x".into())
        );
        assert_eq!(
            host_of("https://api.twilio.com/2010-04-01/x?y"),
            "api.twilio.com"
        );
        assert_eq!(host_of("http://127.0.0.1:8080/x"), "127.0.0.1:8080");
    }
}
