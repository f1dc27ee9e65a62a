//! Test parts for the senders: a message fixture, a loopback HTTP server that records each
//! request exactly and answers as a provider would, and a TCP listener that never answers.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::OutgoingMessage;
use crate::domain::template::Rendered;
use crate::domain::{BrandName, ChannelKind, Destination};

pub const OTP: &str = "482916";

/// Owns what an [`OutgoingMessage`] borrows.
pub struct Fixture {
    pub brand: BrandName,
    pub channel: ChannelKind,
    pub to: Destination,
    pub rendered: Rendered,
}

impl Fixture {
    pub fn mobile(digits: &str) -> Self {
        Self {
            brand: BrandName::parse("Acme").unwrap(),
            channel: ChannelKind::Sms,
            to: Destination::mobile(digits).unwrap(),
            rendered: Rendered {
                subject: None,
                text: format!(
                    "{OTP} is your ACME code. It expires in 10 minutes. Do not share it."
                ),
                html: None,
            },
        }
    }

    pub fn email(address: &str) -> Self {
        Self {
            brand: BrandName::parse("Acme").unwrap(),
            channel: ChannelKind::Email,
            to: Destination::email(address).unwrap(),
            rendered: Rendered {
                subject: Some("Your ACME verification code".into()),
                text: format!("Your ACME verification code is {OTP}. It expires in 10 minutes."),
                html: Some(format!("<p>Your ACME code is</p><p><b>{OTP}</b></p>")),
            },
        }
    }

    pub fn msg(&self) -> OutgoingMessage<'_> {
        OutgoingMessage {
            brand: &self.brand,
            channel: self.channel,
            to: &self.to,
            otp: OTP,
            validity_minutes: 10,
            locale: None,
            rendered: &self.rendered,
        }
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The form body as ordered pairs.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }
}

#[derive(Clone)]
struct Shared {
    seen: Arc<Mutex<Vec<Recorded>>>,
    status: u16,
    answer: String,
}

/// A provider stand-in on 127.0.0.1: answers every request with one status and JSON body.
pub struct MockProvider {
    pub base: String,
    seen: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl MockProvider {
    pub async fn start(status: u16, answer: serde_json::Value) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            seen: seen.clone(),
            status,
            answer: answer.to_string(),
        };
        let app = axum::Router::new().fallback(record).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { base, seen, task }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }

    /// The only request received.
    pub fn one(&self) -> Recorded {
        let all = self.requests();
        assert_eq!(
            all.len(),
            1,
            "expected exactly one request, got {}",
            all.len()
        );
        all.into_iter().next().unwrap()
    }
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    s.seen.lock().unwrap().push(Recorded {
        method,
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body,
    });
    let status = StatusCode::from_u16(s.status).unwrap();
    (status, [("content-type", "application/json")], s.answer).into_response()
}

/// A TCP server that accepts connections and never says a word: for timeout tests.
pub async fn silent_server() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (addr, task)
}
