//! The "bare" endpoint of `scripts/bench.sh`: an axum server on the public API's paths that
//! parses the same JSON bodies as otpd's token/generate, otp/generate and otp/validate
//! (into structs with the same fields) and answers a JSON body of about the same size, with
//! no store, no checks and no crypto. What a web service could reach on this machine: the
//! benchmark reports otpd's throughput as a ratio to it, measured in the same run.
//!
//! Run: `cargo run --release --example bare_endpoint -- [ADDR]` (default `127.0.0.1:0`). It
//! prints `listening on http://ADDR` once it accepts connections.

#![allow(dead_code)] // reason: the request fields are parsed, as otpd parses them, and not read

use std::net::SocketAddr;
use std::process::ExitCode;

use axum::Json;
use axum::routing::post;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The allocator otpd runs with (src/main.rs), so that the ratio compares like with like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The fields of otpd's token/generate body (`src/http/public.rs`, docs/api.md §3).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenRequest {
    identifier_type: String,
    identifier_value: String,
    brand: String,
    device_id: Option<String>,
    mobile: Option<String>,
    email: Option<String>,
    hash: Option<String>,
    time_stamp: Option<i64>,
}

/// The fields of otp/generate (docs/api.md §4).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateRequest {
    identifier_type: String,
    identifier_value: String,
    brand: String,
    session_id: String,
    device_id: Option<String>,
    mobile: Option<String>,
    email: Option<String>,
    locale: Option<String>,
    hash: Option<String>,
    time_stamp: Option<i64>,
}

/// The fields of otp/validate (docs/api.md §6).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ValidateRequest {
    identifier_type: String,
    identifier_value: String,
    brand: String,
    session_id: String,
    device_id: Option<String>,
    otp: Value,
    hash: Option<String>,
    time_stamp: Option<i64>,
}

#[derive(Serialize)]
struct Status {
    success: bool,
    code: u16,
    message: &'static str,
}

const SUCCESS: Status = Status {
    success: true,
    code: 200,
    message: "SUCCESS",
};

#[derive(Serialize)]
struct Auth {
    token: String,
    key: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct User {
    app_registered: bool,
    session_id: Option<String>,
    role: &'static str,
    user_registered_for_password: bool,
}

#[derive(Serialize)]
struct SessionResponse {
    status: Status,
    auth: Auth,
    user: User,
}

#[derive(Serialize)]
struct Envelope {
    status: Status,
}

/// A stand-in for a signed JWT of the length otpd's tokens have (an EdDSA header, the
/// claims of docs/api.md §6 and a 64-byte signature, base64url: about 300 characters).
fn fake_jwt(sub: &str, role: &str) -> String {
    let mut token = String::with_capacity(320);
    token.push_str("eyJhbGciOiJFZERTQSIsImtpZCI6IjEiLCJ0eXAiOiJKV1QifQ.");
    token.push_str(&"x".repeat(110 + sub.len() + role.len()));
    token.push('.');
    token.push_str(&"s".repeat(86));
    token
}

async fn token(Json(r): Json<TokenRequest>) -> Json<SessionResponse> {
    Json(SessionResponse {
        status: SUCCESS,
        auth: Auth {
            token: fake_jwt(&r.identifier_value, "VIEW"),
            key: None,
        },
        user: User {
            app_registered: false,
            session_id: Some(format!("P-{}", uuid::Uuid::new_v4())),
            role: "VIEW",
            user_registered_for_password: false,
        },
    })
}

async fn generate(Json(_r): Json<GenerateRequest>) -> Json<Envelope> {
    Json(Envelope { status: SUCCESS })
}

async fn validate(Json(r): Json<ValidateRequest>) -> Json<SessionResponse> {
    Json(SessionResponse {
        status: SUCCESS,
        auth: Auth {
            token: fake_jwt(&r.identifier_value, "USER"),
            key: r
                .device_id
                .as_ref()
                .map(|_| fake_jwt(&r.identifier_value, "AUTH")),
        },
        user: User {
            app_registered: false,
            session_id: None,
            role: "USER",
            user_registered_for_password: false,
        },
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let addr: SocketAddr = match std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("127.0.0.1:0")
        .parse()
    {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bare_endpoint: the address to listen on: {e}");
            return ExitCode::FAILURE;
        }
    };
    let app = axum::Router::new()
        .route("/auth/v1/token/generate", post(token))
        .route("/auth/v1/web/token/generate", post(token))
        .route("/auth/v1/otp/generate", post(generate))
        .route("/auth/v1/web/otp/generate", post(generate))
        .route("/auth/v1/otp/validate", post(validate))
        .route("/auth/v1/web/otp/validate", post(validate));
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bare_endpoint: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(a) => println!("listening on http://{a}"),
        Err(e) => {
            eprintln!("bare_endpoint: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("bare_endpoint: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
