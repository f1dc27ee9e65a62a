//! `App` wraps the shared test server and calls its admin API, its public API and the `otpd`
//! binary.

use std::process::Output;

use std::sync::Arc;

use crate::helpers::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const PHONE: &str = "84901234567";

/// A test server (see `crate::helpers::spawn_app`) with its admin and public base URLs.
pub struct App {
    pub inner: TestApp,
    pub server: RunningServerRef,
    pub dir: DataDir,
    pub http: reqwest::Client,
    pub admin: String,
    pub public: String,
}

/// The parts of the running server the admin tests read.
pub struct RunningServerRef {
    pub admin_token: Arc<str>,
    pub admin_addr: std::net::SocketAddr,
}

/// The server's data directory.
pub struct DataDir(std::path::PathBuf);

impl DataDir {
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

pub async fn spawn_app() -> App {
    wrap(crate::helpers::spawn_app().await)
}

/// The admin view of a running test server.
pub fn wrap(inner: TestApp) -> App {
    let running = inner.server.as_ref().unwrap();
    App {
        admin: format!("http://{}/admin/api", running.admin_addr),
        public: format!("http://{}", running.public_addr.unwrap()),
        server: RunningServerRef {
            admin_token: running.admin_token.clone(),
            admin_addr: running.admin_addr,
        },
        dir: DataDir(inner.config.data_dir.clone()),
        http: inner.client.clone(),
        inner,
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

/// A console login: its session cookie and CSRF token.
pub struct Console {
    pub http: reqwest::Client,
    pub admin: String,
    pub cookie: String,
    pub csrf: String,
}

pub const PASSWORD: &str = "correct horse battery";

impl App {
    /// Adds an operator through the CLI's token.
    pub async fn add_operator(&self, name: &str, role: &str) {
        let (status, body) = self
            .call(
                Method::POST,
                "/operators",
                Some(json!({"name": name, "role": role, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    /// Logs in; returns the raw answer (status, body, Set-Cookie).
    pub async fn try_login(
        &self,
        name: &str,
        password: &str,
    ) -> (StatusCode, Value, Option<String>) {
        let resp = self
            .http
            .post(format!("{}/auth/login", self.admin))
            .json(&json!({"name": name, "password": password}))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let cookie = resp
            .headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, resp.json().await.unwrap_or(Value::Null), cookie)
    }

    /// Adds an operator with `role` and logs them in.
    pub async fn console_as(&self, name: &str, role: &str) -> Console {
        self.add_operator(name, role).await;
        self.login(name, PASSWORD).await
    }

    pub async fn login(&self, name: &str, password: &str) -> Console {
        let (status, body, cookie) = self.try_login(name, password).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let cookie = cookie.unwrap();
        let value = cookie.split(';').next().unwrap().to_owned();
        Console {
            http: self.http.clone(),
            admin: self.admin.clone(),
            cookie: value,
            csrf: body["csrfToken"].as_str().unwrap().to_owned(),
        }
    }
}

impl Console {
    /// Calls the admin API with the session cookie and (on changes) the CSRF token.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let csrf = self.csrf.clone();
        self.call_with_csrf(method, path, body, Some(&csrf)).await
    }

    pub async fn call_with_csrf(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        csrf: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.admin))
            .header("cookie", &self.cookie);
        if let Some(t) = csrf {
            req = req.header("x-csrf-token", t);
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
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Copies `from` into `to`, recursively.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}
