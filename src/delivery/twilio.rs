//! SMS through Twilio's Messages API: `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`,
//! HTTP Basic auth (account SID : auth token), form body `To`, `From` or
//! `MessagingServiceSid`, `Body`. 201 answers carry the message SID; errors carry
//! `{"code", "message", "more_info", "status"}`.

use super::http_client::{HttpClient, host_of, provider_text, status_error};
use super::{BoxFuture, OutgoingMessage, SendError, SendReceipt, Sender, phone_digits};
use crate::domain::channel::TwilioConfig;

pub struct TwilioSender {
    config: TwilioConfig,
    http: HttpClient,
}

impl TwilioSender {
    pub fn new(config: TwilioConfig) -> Self {
        let http = HttpClient::new(config.timeout_seconds);
        Self { config, http }
    }

    async fn deliver(&self, msg: &OutgoingMessage<'_>) -> Result<SendReceipt, SendError> {
        let c = &self.config;
        let to = format!("+{}", phone_digits(msg)?);
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            c.base_url, c.account_sid
        );
        let sender = match (&c.from, &c.messaging_service_sid) {
            (_, Some(service)) => ("MessagingServiceSid", service.as_str()),
            (Some(from), None) => ("From", from.as_str()),
            (None, None) => {
                return Err(SendError::Permanent(
                    "Twilio: neither from nor messagingServiceSid is set".into(),
                ));
            }
        };
        let form = [
            ("To", to.as_str()),
            sender,
            ("Body", msg.rendered.text.as_str()),
        ];
        let request = self
            .http
            .client()?
            .post(&url)
            .basic_auth(&c.account_sid, Some(c.auth_token.expose()))
            .form(&form);
        let answer = self.http.execute(request, &host_of(&url)).await?;
        let json = answer.json();
        if answer.is_success() {
            let sid = json.as_ref().and_then(|j| j["sid"].as_str()).unwrap_or("");
            return Ok(SendReceipt {
                provider_status: format!("{} {sid}", answer.status).trim_end().to_owned(),
            });
        }
        // Twilio's documented error body; anything else is described by the status alone.
        let code = json.as_ref().and_then(|j| j["code"].as_i64());
        let detail = match (code, json.as_ref().and_then(|j| j["message"].as_str())) {
            (Some(code), text) => {
                format!("Twilio {code}: {}", provider_text(text.unwrap_or(""), msg))
            }
            (None, _) => String::new(),
        };
        match (code, status_error(answer.status, &detail)) {
            // 20429 "Too Many Requests" is throttling whatever the status says.
            (Some(20429), SendError::Permanent(text)) => Err(SendError::Temporary(text)),
            (_, e) => Err(e),
        }
    }
}

impl Sender for TwilioSender {
    fn send<'a>(
        &'a self,
        msg: &'a OutgoingMessage<'a>,
    ) -> BoxFuture<'a, Result<SendReceipt, SendError>> {
        Box::pin(self.deliver(msg))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::delivery::test_support::{Fixture, MockProvider, OTP, silent_server};
    use crate::domain::channel::Secret;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";

    fn config(base: &str) -> TwilioConfig {
        TwilioConfig {
            account_sid: SID.into(),
            auth_token: Secret::new("tok3n"),
            from: Some("+15005550006".into()),
            messaging_service_sid: None,
            base_url: base.into(),
            timeout_seconds: 2,
        }
    }

    #[tokio::test]
    async fn sends_the_documented_request() {
        let twilio = MockProvider::start(
            201,
            json!({"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"}),
        )
        .await;
        let f = Fixture::mobile("+84 901 234 567");
        let receipt = TwilioSender::new(config(&twilio.base))
            .send(&f.msg())
            .await
            .unwrap();
        assert_eq!(
            receipt.provider_status,
            "201 SM0123456789abcdef0123456789abcdef"
        );

        let req = twilio.one();
        assert_eq!(req.method, "POST");
        assert_eq!(
            req.path,
            format!("/2010-04-01/Accounts/{SID}/Messages.json")
        );
        assert_eq!(req.query, None);
        // base64("AC…:tok3n")
        let basic = format!("Basic {}", base64_of(&format!("{SID}:tok3n")));
        assert_eq!(req.header("authorization"), Some(basic.as_str()));
        assert_eq!(
            req.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        let want = vec![
            ("To".to_owned(), "+84901234567".to_owned()),
            ("From".to_owned(), "+15005550006".to_owned()),
            ("Body".to_owned(), f.rendered.text.clone()),
        ];
        assert_eq!(req.form(), want);
    }

    #[tokio::test]
    async fn a_messaging_service_replaces_from() {
        let twilio = MockProvider::start(201, json!({"sid": "SMx"})).await;
        let mut c = config(&twilio.base);
        c.from = None;
        c.messaging_service_sid = Some("MG0123456789abcdef0123456789abcdef".into());
        let f = Fixture::mobile("15551234567");
        TwilioSender::new(c).send(&f.msg()).await.unwrap();
        let form = twilio.one().form();
        assert_eq!(
            form[1],
            (
                "MessagingServiceSid".into(),
                "MG0123456789abcdef0123456789abcdef".into()
            )
        );
    }

    #[tokio::test]
    async fn an_invalid_number_is_permanent_and_names_twilios_code() {
        let twilio = MockProvider::start(
            400,
            json!({"code": 21211, "message": "Invalid 'To' Phone Number", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}),
        )
        .await;
        let f = Fixture::mobile("15551234567");
        let err = TwilioSender::new(config(&twilio.base))
            .send(&f.msg())
            .await
            .unwrap_err();
        assert_eq!(
            err,
            SendError::Permanent("HTTP 400: Twilio 21211: Invalid 'To' Phone Number".into())
        );
    }

    #[tokio::test]
    async fn bad_credentials_are_permanent() {
        let twilio = MockProvider::start(
            401,
            json!({"code": 20003, "message": "Authenticate", "status": 401}),
        )
        .await;
        let f = Fixture::mobile("15551234567");
        let err = TwilioSender::new(config(&twilio.base))
            .send(&f.msg())
            .await
            .unwrap_err();
        assert_eq!(
            err,
            SendError::Permanent("HTTP 401: Twilio 20003: Authenticate".into())
        );
    }

    #[tokio::test]
    async fn throttling_and_server_errors_are_temporary() {
        let f = Fixture::mobile("15551234567");
        let limited = MockProvider::start(
            429,
            json!({"code": 20429, "message": "Too Many Requests", "status": 429}),
        )
        .await;
        let err = TwilioSender::new(config(&limited.base))
            .send(&f.msg())
            .await
            .unwrap_err();
        assert!(err.is_temporary(), "{err:?}");
        let down = MockProvider::start(
            500,
            json!({"code": 20500, "message": "Internal Server Error", "status": 500}),
        )
        .await;
        let err = TwilioSender::new(config(&down.base))
            .send(&f.msg())
            .await
            .unwrap_err();
        assert!(err.is_temporary(), "{err:?}");
        assert!(!err.to_string().contains(OTP));
    }

    #[tokio::test]
    async fn a_silent_server_times_out_as_temporary() {
        let (addr, _task) = silent_server().await;
        let mut c = config(&format!("http://{addr}"));
        c.timeout_seconds = 1;
        let f = Fixture::mobile("15551234567");
        let started = std::time::Instant::now();
        let err = TwilioSender::new(c).send(&f.msg()).await.unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
        assert_eq!(
            err,
            SendError::Temporary(format!("no answer from {addr} within 1 s"))
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_temporary_and_never_shows_the_url() {
        // Bind then drop to get a port nobody listens on.
        let addr = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let f = Fixture::mobile("15551234567");
        let err = TwilioSender::new(config(&format!("http://{addr}")))
            .send(&f.msg())
            .await
            .unwrap_err();
        let SendError::Temporary(text) = &err else {
            panic!("{err:?}")
        };
        assert!(
            text.starts_with(&format!("could not connect to {addr}")),
            "{text}"
        );
        assert!(!text.contains("Accounts"), "{text}");
    }

    fn base64_of(s: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(s)
    }
}
