//! The test server and its clients: `spawn_app()` starts a real server on loopback ports with a
//! temporary data directory; `App` calls its admin API, its public API and the `otpd` binary.

use std::process::Output;

use otpd::config::Config;
use otpd::{RunOptions, RunningServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

pub const PHONE: &str = "84901234567";

pub struct App {
    pub server: RunningServer,
    pub dir: TempDir,
    pub http: reqwest::Client,
    pub admin: String,
    pub public: String,
}

pub async fn spawn_app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        public_listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        client_rate_limit_per_minute: 0,
        ..Default::default()
    };
    let server = otpd::run(config, RunOptions::default()).await.unwrap();
    App {
        admin: format!("http://{}/admin/api", server.admin_addr),
        public: format!("http://{}", server.public_addr),
        server,
        dir,
        http: reqwest::Client::new(),
    }
}

impl App {
    /// Calls the admin API with the right token.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let token = self.server.admin_token.to_string();
        self.call_with(method, path, body, Some(&token)).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.admin));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Posts to the public API.
    pub async fn public(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.public))
            .json(&body)
            .send()
            .await
            .unwrap();
        (resp.status(), resp.json().await.unwrap())
    }

    /// Issues one OTP to PHONE through the public API (DEMO delivers to the LOG sink).
    pub async fn issue_otp(&self) {
        let id = json!({"identifierType": "MOBILE", "identifierValue": PHONE, "brand": "DEMO", "deviceId": "dev-1"});
        let (status, token) = self.public("/auth/v1/token/generate", id.clone()).await;
        assert_eq!(status, StatusCode::OK, "{token}");
        let mut req = id;
        req["sessionId"] = token["user"]["sessionId"].clone();
        let (status, answer) = self.public("/auth/v1/otp/generate", req).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }

    /// Runs the `otpd` binary against this server, found through `--data-dir`.
    pub async fn cli(&self, args: &[&str]) -> Output {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .env_remove("OTPD_ADMIN_URL")
            .env_remove("OTPD_ADMIN_TOKEN")
            .env_remove("OTPD_DATA_DIR")
            .output()
            .await
            .unwrap()
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
