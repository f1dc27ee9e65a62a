//! WhatsApp through Meta's Cloud API: an approved authentication template, the code as the
//! body parameter and (for copy-code templates) again as the URL button parameter.
//! `POST {base}/{version}/{phone_number_id}/messages` with a Bearer token; errors are Meta's
//! `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`.

use serde_json::json;

use super::http_client::{HttpClient, host_of, provider_text, status_error};
use super::{BoxFuture, OutgoingMessage, SendError, SendReceipt, Sender, phone_digits};
use crate::domain::channel::WhatsappConfig;

/// Meta error codes that mean "try again later": unknown / temporarily unavailable API
/// errors, throttling and rate limits (Cloud API error-code reference). Everything else
/// (expired token 190, bad parameter 100, template problems 132xxx, undeliverable 131026)
/// needs a person or a different channel.
const TEMPORARY_CODES: [i64; 10] = [
    1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131056, 133004,
];

pub struct WhatsappSender {
    config: WhatsappConfig,
    http: HttpClient,
}

impl WhatsappSender {
    pub fn new(config: WhatsappConfig) -> Self {
        let http = HttpClient::new(config.timeout_seconds);
        Self { config, http }
    }

    /// The request body for one code.
    fn body(&self, to: &str, otp: &str) -> serde_json::Value {
        let c = &self.config;
        let mut components =
            vec![json!({"type": "body", "parameters": [{"type": "text", "text": otp}]})];
        if c.copy_code_button {
            components.push(json!({
                "type": "button", "sub_type": "url", "index": "0",
                "parameters": [{"type": "text", "text": otp}]
            }));
        }
        json!({
            "messaging_product": "whatsapp",
            "to": to,
            "type": "template",
            "template": {"name": c.template, "language": {"code": c.language}, "components": components}
        })
    }

    async fn deliver(&self, msg: &OutgoingMessage<'_>) -> Result<SendReceipt, SendError> {
        let c = &self.config;
        let to = phone_digits(msg)?;
        let url = format!(
            "{}/{}/{}/messages",
            c.base_url, c.api_version, c.phone_number_id
        );
        let request = self
            .http
            .client()?
            .post(&url)
            .bearer_auth(c.access_token.expose())
            .json(&self.body(&to, msg.otp));
        let answer = self.http.execute(request, &host_of(&url)).await?;
        let json = answer.json();
        if answer.is_success() {
            let id = json
                .as_ref()
                .and_then(|j| j["messages"][0]["id"].as_str())
                .unwrap_or("");
            return Ok(SendReceipt {
                provider_status: format!("{} {id}", answer.status).trim_end().to_owned(),
            });
        }
        let error = json.as_ref().map(|j| &j["error"]);
        let code = error.and_then(|e| e["code"].as_i64());
        let detail = match code {
            Some(code) => {
                let text = error.and_then(|e| e["message"].as_str()).unwrap_or("");
                format!("Meta {code}: {}", provider_text(text, msg))
            }
            None => String::new(),
        };
        match (code, status_error(answer.status, &detail)) {
            (Some(code), SendError::Permanent(text)) if TEMPORARY_CODES.contains(&code) => {
                Err(SendError::Temporary(text))
            }
            (_, e) => Err(e),
        }
    }
}

impl Sender for WhatsappSender {
    fn send<'a>(
        &'a self,
        msg: &'a OutgoingMessage<'a>,
    ) -> BoxFuture<'a, Result<SendReceipt, SendError>> {
        Box::pin(self.deliver(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::test_support::{Fixture, MockProvider, OTP};
    use crate::domain::channel::Secret;

    fn config(base: &str) -> WhatsappConfig {
        WhatsappConfig {
            phone_number_id: "106540352242922".into(),
            access_token: Secret::new("EAAGtoken"),
            template: "otp_login".into(),
            language: "en_US".into(),
            api_version: "v21.0".into(),
            base_url: base.into(),
            copy_code_button: true,
            timeout_seconds: 2,
        }
    }

    #[tokio::test]
    async fn sends_the_documented_authentication_template() {
        let meta = MockProvider::start(
            200,
            json!({"messaging_product": "whatsapp", "contacts": [{"input": "84901234567", "wa_id": "84901234567"}],
                   "messages": [{"id": "wamid.HBgLODQ5MDEyMzQ1NjcVAgARGBI"}]}),
        )
        .await;
        let f = Fixture::mobile("+84901234567");
        let receipt = WhatsappSender::new(config(&meta.base))
            .send(&f.msg())
            .await
            .unwrap();
        assert_eq!(
            receipt.provider_status,
            "200 wamid.HBgLODQ5MDEyMzQ1NjcVAgARGBI"
        );

        let req = meta.one();
        assert_eq!(
            (req.method.as_str(), req.path.as_str()),
            ("POST", "/v21.0/106540352242922/messages")
        );
        assert_eq!(req.header("authorization"), Some("Bearer EAAGtoken"));
        assert_eq!(req.header("content-type"), Some("application/json"));
        assert_eq!(
            req.json(),
            json!({
                "messaging_product": "whatsapp",
                "to": "84901234567",
                "type": "template",
                "template": {
                    "name": "otp_login",
                    "language": {"code": "en_US"},
                    "components": [
                        {"type": "body", "parameters": [{"type": "text", "text": OTP}]},
                        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": OTP}]}
                    ]
                }
            })
        );
    }

    #[tokio::test]
    async fn a_template_without_button_gets_only_the_body_parameter() {
        let meta = MockProvider::start(200, json!({"messages": [{"id": "wamid.X"}]})).await;
        let mut c = config(&meta.base);
        c.copy_code_button = false;
        let f = Fixture::mobile("84901234567");
        WhatsappSender::new(c).send(&f.msg()).await.unwrap();
        let components = &meta.one().json()["template"]["components"];
        assert_eq!(components.as_array().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_expired_token_is_permanent() {
        let meta = MockProvider::start(
            401,
            json!({"error": {"message": "Error validating access token: Session has expired.", "type": "OAuthException",
                             "code": 190, "error_subcode": 463, "fbtrace_id": "AbC"}}),
        )
        .await;
        let f = Fixture::mobile("84901234567");
        let err = WhatsappSender::new(config(&meta.base))
            .send(&f.msg())
            .await
            .unwrap_err();
        assert_eq!(
            err,
            SendError::Permanent(
                "HTTP 401: Meta 190: Error validating access token: Session has expired.".into()
            )
        );
    }

    #[tokio::test]
    async fn a_bad_template_is_permanent_and_throttling_is_temporary() {
        let f = Fixture::mobile("84901234567");
        let bad = MockProvider::start(
            400,
            json!({"error": {"message": "(#132001) Template name does not exist in the translation", "type": "OAuthException",
                             "code": 132001, "fbtrace_id": "x"}}),
        )
        .await;
        let err = WhatsappSender::new(config(&bad.base))
            .send(&f.msg())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SendError::Permanent(t) if t.contains("Meta 132001")),
            "{err:?}"
        );
        // Meta reports some rate limits with a 400 status: the code decides.
        let limited = MockProvider::start(
            400,
            json!({"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429, "fbtrace_id": "x"}}),
        )
        .await;
        let err = WhatsappSender::new(config(&limited.base))
            .send(&f.msg())
            .await
            .unwrap_err();
        assert!(err.is_temporary(), "{err:?}");
        let down = MockProvider::start(
            503,
            json!({"error": {"message": "Service temporarily unavailable", "code": 2}}),
        )
        .await;
        assert!(
            WhatsappSender::new(config(&down.base))
                .send(&f.msg())
                .await
                .unwrap_err()
                .is_temporary()
        );
    }

    #[tokio::test]
    async fn an_email_destination_is_refused() {
        let f = Fixture::email("a@example.com");
        let err = WhatsappSender::new(config("http://127.0.0.1:9"))
            .send(&f.msg())
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::Permanent(_)));
    }
}
