//! SMS through any HTTP gateway, described by a request template (method, URL, headers, JSON or
//! form body) with `{to}` `{toDigits}` `{message}` `{secret}` placeholders, each value encoded
//! for where it lands. Success is any 2xx; the gateway's own body format is not interpreted.

use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};

use super::http_client::{HttpClient, host_of, provider_text, status_error};
use super::{BoxFuture, OutgoingMessage, SendError, SendReceipt, Sender, phone_digits};
use crate::domain::channel::{BodyFormat, Encoding, HttpMethod, HttpSmsConfig, http_fill};

pub struct HttpSmsSender {
    config: HttpSmsConfig,
    http: HttpClient,
}

impl HttpSmsSender {
    pub fn new(config: HttpSmsConfig) -> Self {
        let http = HttpClient::new(config.timeout_seconds);
        Self { config, http }
    }

    async fn deliver(&self, msg: &OutgoingMessage<'_>) -> Result<SendReceipt, SendError> {
        let c = &self.config;
        let to = format!("+{}", phone_digits(msg)?);
        let text = msg.rendered.text.as_str();
        let secret = c.secret.expose();
        let url = http_fill(&c.url, &to, text, secret, Encoding::Url);
        let host = host_of(&url);
        let client = self.http.client()?;
        let mut request = match c.method {
            HttpMethod::Get => client.get(&url),
            HttpMethod::Post => {
                let (encoding, content_type) = match c.body_format {
                    BodyFormat::Json => (Encoding::Json, "application/json"),
                    BodyFormat::Form => (Encoding::Form, "application/x-www-form-urlencoded"),
                };
                client
                    .post(&url)
                    .header(CONTENT_TYPE, content_type)
                    .body(http_fill(&c.body, &to, text, secret, encoding))
            }
        };
        for (name, value) in &c.headers {
            let filled = http_fill(value, &to, text, secret, Encoding::Header);
            let (Ok(name), Ok(value)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(filled),
            ) else {
                return Err(SendError::Permanent(format!(
                    "header {name} cannot be sent; check the channel settings"
                )));
            };
            // A configured header (e.g. Content-Type) replaces the default one.
            request = request.header(name, value);
        }
        let answer = self.http.execute(request, &host).await?;
        if answer.is_success() {
            return Ok(SendReceipt {
                provider_status: answer.status.to_string(),
            });
        }
        Err(status_error(
            answer.status,
            &provider_text(&answer.body, msg),
        ))
    }
}

impl Sender for HttpSmsSender {
    fn send<'a>(
        &'a self,
        msg: &'a OutgoingMessage<'a>,
    ) -> BoxFuture<'a, Result<SendReceipt, SendError>> {
        Box::pin(self.deliver(msg))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::delivery::test_support::{Fixture, MockProvider, silent_server};
    use crate::domain::channel::Secret;

    fn config(method: HttpMethod, url: String, format: BodyFormat, body: &str) -> HttpSmsConfig {
        HttpSmsConfig {
            method,
            url,
            headers: BTreeMap::from([("X-Api-Key".to_owned(), "{secret}".to_owned())]),
            body_format: format,
            body: body.into(),
            secret: Secret::new("s3cret"),
            timeout_seconds: 2,
        }
    }

    #[tokio::test]
    async fn a_json_post_escapes_the_message() {
        let gw = MockProvider::start(200, json!({"ok": true})).await;
        let c = config(
            HttpMethod::Post,
            format!("{}/v1/sms", gw.base),
            BodyFormat::Json,
            r#"{"to":"{to}","from":"ACME","text":"{message}","n":1}"#,
        );
        let mut f = Fixture::mobile("84901234567");
        f.rendered.text = "Mã \"482916\"\nis yours & {brand}".into();
        let receipt = HttpSmsSender::new(c).send(&f.msg()).await.unwrap();
        assert_eq!(receipt.provider_status, "200");

        let req = gw.one();
        assert_eq!(
            (req.method.as_str(), req.path.as_str(), req.query.as_deref()),
            ("POST", "/v1/sms", None)
        );
        assert_eq!(req.header("x-api-key"), Some("s3cret"));
        assert_eq!(req.header("content-type"), Some("application/json"));
        assert_eq!(
            req.json(),
            json!({"to": "+84901234567", "from": "ACME", "text": "Mã \"482916\"\nis yours & {brand}", "n": 1})
        );
    }

    #[tokio::test]
    async fn a_form_post_encodes_the_values() {
        let gw = MockProvider::start(202, json!({})).await;
        let c = config(
            HttpMethod::Post,
            format!("{}/send", gw.base),
            BodyFormat::Form,
            "user=acme&dest={toDigits}&msg={message}",
        );
        let mut f = Fixture::mobile("84901234567");
        f.rendered.text = "482916 & more=yes".into();
        HttpSmsSender::new(c).send(&f.msg()).await.unwrap();
        let req = gw.one();
        assert_eq!(
            req.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        let want: Vec<(String, String)> = [
            ("user", "acme"),
            ("dest", "84901234567"),
            ("msg", "482916 & more=yes"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(req.form(), want);
    }

    #[tokio::test]
    async fn a_get_puts_everything_in_the_query() {
        let gw = MockProvider::start(200, json!("OK")).await;
        let c = config(
            HttpMethod::Get,
            format!("{}/api?key={{secret}}&to={{to}}&text={{message}}", gw.base),
            BodyFormat::Json,
            "",
        );
        let mut f = Fixture::mobile("84901234567");
        f.rendered.text = "482916 is your code".into();
        HttpSmsSender::new(c).send(&f.msg()).await.unwrap();
        let req = gw.one();
        assert_eq!((req.method.as_str(), req.path.as_str()), ("GET", "/api"));
        assert_eq!(
            req.query.as_deref(),
            Some("key=s3cret&to=%2B84901234567&text=482916%20is%20your%20code")
        );
        assert!(req.body.is_empty());
    }

    #[tokio::test]
    async fn failures_are_classified_and_an_echoed_message_is_withheld() {
        let f = Fixture::mobile("84901234567");
        let echo =
            MockProvider::start(400, json!({"error": "bad sender", "text": f.rendered.text})).await;
        let c = config(
            HttpMethod::Post,
            format!("{}/s", echo.base),
            BodyFormat::Json,
            r#"{"t":"{to}","m":"{message}"}"#,
        );
        let err = HttpSmsSender::new(c).send(&f.msg()).await.unwrap_err();
        assert_eq!(
            err,
            SendError::Permanent(
                "HTTP 400: (provider text withheld: it repeats the message)".into()
            )
        );

        let down = MockProvider::start(503, json!({"error": "maintenance"})).await;
        let c = config(
            HttpMethod::Post,
            format!("{}/s", down.base),
            BodyFormat::Json,
            r#"{"t":"{to}","m":"{message}"}"#,
        );
        let err = HttpSmsSender::new(c).send(&f.msg()).await.unwrap_err();
        assert_eq!(
            err,
            SendError::Temporary(r#"HTTP 503: {"error":"maintenance"}"#.into())
        );
    }

    #[tokio::test]
    async fn a_silent_gateway_times_out_without_showing_the_url() {
        let (addr, _task) = silent_server().await;
        let mut c = config(
            HttpMethod::Get,
            format!("http://{addr}/?to={{to}}&m={{message}}"),
            BodyFormat::Json,
            "",
        );
        c.timeout_seconds = 1;
        let f = Fixture::mobile("84901234567");
        let err = HttpSmsSender::new(c).send(&f.msg()).await.unwrap_err();
        assert_eq!(
            err,
            SendError::Temporary(format!("no answer from {addr} within 1 s"))
        );
    }
}
