//! Zalo Notification Service (ZNS): `POST {base}/message/template` with an `access_token`
//! header and `{"phone", "template_id", "template_data", "tracking_id"}`. Zalo answers HTTP 200
//! for outcomes: `{"error": 0, "data": {"msg_id"}}` on success, a negative `error` otherwise.
//!
//! Which `error` codes are retried: only -100 ("unknown error, try again later") and -129
//! ("cannot create RSA key, try again later"). The rest are permanent: bad token (-124; ZNS
//! access tokens expire after about 25 hours and need a refresh by the operator), invalid
//! phone (-108), template problems (-109, -111..-113, -131), the recipient cannot or will not
//! receive ZNS (-114, -118, -119, -139, -141), no balance (-115), daily quotas (-144, -147),
//! and the night-time ban (-133): none of these clear up within a code's lifetime, so the job
//! should move on to the brand's fallback channel instead of retrying.

use serde_json::json;

use super::http_client::{HttpClient, host_of, provider_text, status_error};
use super::{BoxFuture, OutgoingMessage, SendError, SendReceipt, Sender, phone_digits};
use crate::domain::channel::ZaloConfig;

const TEMPORARY_ERRORS: [i64; 2] = [-100, -129];

pub struct ZaloSender {
    config: ZaloConfig,
    http: HttpClient,
}

/// ZNS takes Vietnamese numbers as `84…`; a national `0…` form becomes `84…`.
fn zalo_phone(digits: &str) -> String {
    match digits.strip_prefix('0') {
        Some(national) => format!("84{national}"),
        None => digits.to_owned(),
    }
}

impl ZaloSender {
    pub fn new(config: ZaloConfig) -> Self {
        let http = HttpClient::new(config.timeout_seconds);
        Self { config, http }
    }

    async fn deliver(&self, msg: &OutgoingMessage<'_>) -> Result<SendReceipt, SendError> {
        let c = &self.config;
        let phone = zalo_phone(&phone_digits(msg)?);
        let url = format!("{}/message/template", c.base_url);
        let mut data = serde_json::Map::new();
        data.insert(c.otp_key.clone(), json!(msg.otp));
        // The outbox job id is not part of OutgoingMessage; a fresh id still lets an operator
        // match Zalo's delivery report to this attempt.
        let tracking_id = uuid::Uuid::new_v4().simple().to_string();
        let body = json!({
            "phone": phone,
            "template_id": c.template_id,
            "template_data": data,
            "tracking_id": tracking_id,
        });
        let request = self
            .http
            .client()?
            .post(&url)
            .header("access_token", c.access_token.expose())
            .json(&body);
        let answer = self.http.execute(request, &host_of(&url)).await?;
        let json = answer.json();
        if !answer.is_success() {
            return Err(status_error(answer.status, ""));
        }
        let Some(json) = json else {
            return Err(SendError::Permanent(format!(
                "HTTP {}: not a ZNS answer; check baseUrl",
                answer.status
            )));
        };
        match json["error"].as_i64() {
            Some(0) => {
                let id = json["data"]["msg_id"]
                    .as_str()
                    .map(str::to_owned)
                    .or_else(|| json["data"]["msg_id"].as_i64().map(|n| n.to_string()));
                Ok(SendReceipt {
                    provider_status: format!("msg_id {}", id.unwrap_or_default())
                        .trim_end()
                        .to_owned(),
                })
            }
            Some(code) => {
                let text = provider_text(json["message"].as_str().unwrap_or(""), msg);
                let detail = format!("Zalo {code}: {text}");
                if TEMPORARY_ERRORS.contains(&code) {
                    Err(SendError::Temporary(detail))
                } else {
                    Err(SendError::Permanent(detail))
                }
            }
            None => Err(SendError::Permanent(format!(
                "HTTP {}: not a ZNS answer; check baseUrl",
                answer.status
            ))),
        }
    }
}

impl Sender for ZaloSender {
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

    fn config(base: &str) -> ZaloConfig {
        ZaloConfig {
            access_token: Secret::new("zalo-token"),
            template_id: "231456".into(),
            otp_key: "otp".into(),
            base_url: base.into(),
            timeout_seconds: 2,
        }
    }

    #[tokio::test]
    async fn sends_the_documented_request() {
        let zalo = MockProvider::start(
            200,
            json!({"error": 0, "message": "Success", "data": {"msg_id": "a3f1c2", "sent_time": "1700000000000",
                   "quota": {"dailyQuota": "500", "remainingQuota": "499"}}}),
        )
        .await;
        let f = Fixture::mobile("84901234567");
        let receipt = ZaloSender::new(config(&zalo.base))
            .send(&f.msg())
            .await
            .unwrap();
        assert_eq!(receipt.provider_status, "msg_id a3f1c2");

        let req = zalo.one();
        assert_eq!(
            (req.method.as_str(), req.path.as_str()),
            ("POST", "/message/template")
        );
        assert_eq!(req.header("access_token"), Some("zalo-token"));
        assert_eq!(req.header("authorization"), None);
        let mut body = req.json();
        let tracking = body["tracking_id"].take();
        assert_eq!(tracking.as_str().map(str::len), Some(32));
        assert_eq!(
            body,
            json!({"phone": "84901234567", "template_id": "231456", "template_data": {"otp": OTP}, "tracking_id": null})
        );
    }

    #[tokio::test]
    async fn the_code_goes_under_the_configured_key_and_national_numbers_get_84() {
        let zalo = MockProvider::start(
            200,
            json!({"error": 0, "message": "Success", "data": {"msg_id": "1"}}),
        )
        .await;
        let mut c = config(&zalo.base);
        c.otp_key = "ma_otp".into();
        let f = Fixture::mobile("0901234567");
        ZaloSender::new(c).send(&f.msg()).await.unwrap();
        let body = zalo.one().json();
        assert_eq!(
            (&body["phone"], &body["template_data"]),
            (&json!("84901234567"), &json!({"ma_otp": OTP}))
        );
    }

    #[tokio::test]
    async fn a_bad_token_is_permanent_even_on_http_200() {
        let zalo = MockProvider::start(
            200,
            json!({"error": -124, "message": "Access token is invalid"}),
        )
        .await;
        let f = Fixture::mobile("84901234567");
        let err = ZaloSender::new(config(&zalo.base))
            .send(&f.msg())
            .await
            .unwrap_err();
        assert_eq!(
            err,
            SendError::Permanent("Zalo -124: Access token is invalid".into())
        );
    }

    #[tokio::test]
    async fn unknown_errors_and_server_trouble_are_temporary() {
        let f = Fixture::mobile("84901234567");
        let unknown =
            MockProvider::start(200, json!({"error": -100, "message": "Unknown error"})).await;
        assert!(
            ZaloSender::new(config(&unknown.base))
                .send(&f.msg())
                .await
                .unwrap_err()
                .is_temporary()
        );
        let down = MockProvider::start(502, json!({})).await;
        assert!(
            ZaloSender::new(config(&down.base))
                .send(&f.msg())
                .await
                .unwrap_err()
                .is_temporary()
        );
        let limited = MockProvider::start(429, json!({})).await;
        assert!(
            ZaloSender::new(config(&limited.base))
                .send(&f.msg())
                .await
                .unwrap_err()
                .is_temporary()
        );
    }

    #[tokio::test]
    async fn an_invalid_phone_is_permanent() {
        let zalo = MockProvider::start(
            200,
            json!({"error": -108, "message": "Phone number invalid"}),
        )
        .await;
        let f = Fixture::mobile("84901234567");
        let err = ZaloSender::new(config(&zalo.base))
            .send(&f.msg())
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::Permanent(_)));
    }
}
