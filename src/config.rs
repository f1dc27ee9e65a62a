//! Bootstrap settings: a TOML file, then `OTPD_*` environment variables, then `otpd serve`
//! flags. Unknown keys are refused; everything is validated before the server starts. Runtime
//! settings (brands, channels, limits) live in the store instead.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::domain::channel::Secret;
use crate::store::Durability;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Config {
    /// Where the store, the key file and the admin token live.
    pub data_dir: PathBuf,
    pub public_listen: SocketAddr,
    pub admin_listen: SocketAddr,
    /// OTP and token requests per client address per minute (1702); 0 switches it off.
    pub client_rate_limit_per_minute: u32,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    pub durability: Durability,
    pub log_retention_days: u32,
    /// Requests in flight per listener before shedding with 503.
    pub max_concurrent_requests: usize,
    pub request_timeout_seconds: u64,
    pub header_read_timeout_seconds: u64,
    /// Sends in flight at once across all channels.
    pub delivery_workers: usize,
    /// `human` or `json`.
    pub log_format: LogFormat,
    /// Create the demo brand DEMO on first start.
    pub demo_brand: bool,
    /// A console session ends after this many minutes without a request (and always 12 hours
    /// after login).
    pub console_session_idle_minutes: u32,
    /// TLS on the public listener: a PEM certificate chain and its private key (both or
    /// neither; reloaded on SIGHUP).
    pub public_tls_cert: Option<PathBuf>,
    pub public_tls_key: Option<PathBuf>,
    /// TLS on the admin listener (the console's cookie then gets `Secure`).
    pub admin_tls_cert: Option<PathBuf>,
    pub admin_tls_key: Option<PathBuf>,
    /// The PostgreSQL database several otpd nodes share (`postgres://user:password@host/db`);
    /// unset, the embedded store in `data_dir`. Write-only: it may hold a password, so it
    /// serialises as `"set"`.
    #[serde(serialize_with = "redacted")]
    pub store_url: Option<Secret>,
    /// How long a node keeps a delivery job it claimed before another node may take it (a
    /// node that dies mid-send). Shorter than a send (channels time out after up to 60 s),
    /// another node may send the same code again: harmless, but a second message.
    pub delivery_lease_seconds: u64,
    /// Where each setting that is not a default came from (setting name → source).
    #[serde(skip)]
    pub sources: BTreeMap<String, Source>,
}

/// Where a setting's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Default,
    File,
    Environment,
    Flag,
    /// Changed in the console (stored with the data; see [`RuntimeOverrides`]).
    Console,
}

/// Settings an operator may change in the console, stored with the data. A value set in the
/// config file, the environment or a flag wins over them (it is "pinned").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_retention_days: Option<u32>,
    /// Applied at the next start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_listen: Option<SocketAddr>,
}

impl RuntimeOverrides {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(days) = self.log_retention_days
            && !(1..=3650).contains(&days)
        {
            return Err(ConfigError::Invalid(
                "logRetentionDays: keep records between 1 and 3650 days".into(),
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: default_data_dir(),
            public_listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
            client_rate_limit_per_minute: 60,
            trusted_proxies: Vec::new(),
            durability: Durability::FlushEach,
            log_retention_days: 90,
            max_concurrent_requests: 1024,
            request_timeout_seconds: 10,
            header_read_timeout_seconds: 5,
            delivery_workers: 16,
            log_format: LogFormat::Human,
            demo_brand: true,
            console_session_idle_minutes: 30,
            public_tls_cert: None,
            public_tls_key: None,
            admin_tls_cert: None,
            admin_tls_key: None,
            store_url: None,
            delivery_lease_seconds: 90,
            sources: BTreeMap::new(),
        }
    }
}

/// `$OTPD_DATA_DIR`, else `$XDG_DATA_HOME/otpd`, else `~/.local/share/otpd`, else `./otpd-data`.
pub fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OTPD_DATA_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(xdg).join("otpd");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/otpd"),
        None => PathBuf::from("otpd-data"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0}: {1}")]
    File(PathBuf, String),
    #[error("environment variable {0}: {1}")]
    Env(String, String),
    #[error("{0}")]
    Invalid(String),
}

/// Environment variable → setting name (the upper snake case of each setting).
const ENV_SETTINGS: &[(&str, &str)] = &[
    ("OTPD_DATA_DIR", "dataDir"),
    ("OTPD_PUBLIC_LISTEN", "publicListen"),
    ("OTPD_ADMIN_LISTEN", "adminListen"),
    (
        "OTPD_CLIENT_RATE_LIMIT_PER_MINUTE",
        "clientRateLimitPerMinute",
    ),
    ("OTPD_TRUSTED_PROXIES", "trustedProxies"),
    ("OTPD_DURABILITY", "durability"),
    ("OTPD_LOG_RETENTION_DAYS", "logRetentionDays"),
    ("OTPD_MAX_CONCURRENT_REQUESTS", "maxConcurrentRequests"),
    ("OTPD_REQUEST_TIMEOUT_SECONDS", "requestTimeoutSeconds"),
    (
        "OTPD_HEADER_READ_TIMEOUT_SECONDS",
        "headerReadTimeoutSeconds",
    ),
    ("OTPD_DELIVERY_WORKERS", "deliveryWorkers"),
    ("OTPD_LOG_FORMAT", "logFormat"),
    ("OTPD_DEMO_BRAND", "demoBrand"),
    (
        "OTPD_CONSOLE_SESSION_IDLE_MINUTES",
        "consoleSessionIdleMinutes",
    ),
    ("OTPD_PUBLIC_TLS_CERT", "publicTlsCert"),
    ("OTPD_PUBLIC_TLS_KEY", "publicTlsKey"),
    ("OTPD_ADMIN_TLS_CERT", "adminTlsCert"),
    ("OTPD_ADMIN_TLS_KEY", "adminTlsKey"),
    ("OTPD_STORE_URL", "storeUrl"),
    ("OTPD_DELIVERY_LEASE_SECONDS", "deliveryLeaseSeconds"),
];

/// A listener's TLS certificate chain and private key, PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Config {
    /// The public listener's TLS files, when it serves TLS.
    pub fn public_tls(&self) -> Option<TlsFiles> {
        Some(TlsFiles {
            cert: self.public_tls_cert.clone()?,
            key: self.public_tls_key.clone()?,
        })
    }

    /// The admin listener's TLS files, when it serves TLS.
    pub fn admin_tls(&self) -> Option<TlsFiles> {
        Some(TlsFiles {
            cert: self.admin_tls_cert.clone()?,
            key: self.admin_tls_key.clone()?,
        })
    }

    /// Reads `file` (if given), then applies `OTPD_*` variables from `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut doc = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::File(path.into(), e.to_string()))?;
                let table: toml::Table = toml::from_str(&text)
                    .map_err(|e| ConfigError::File(path.into(), e.to_string()))?;
                serde_json::to_value(table)
                    .map_err(|e| ConfigError::File(path.into(), e.to_string()))?
            }
            None => serde_json::json!({}),
        };
        let mut sources: BTreeMap<String, Source> = doc
            .as_object()
            .map(|o| o.keys().map(|k| (k.clone(), Source::File)).collect())
            .unwrap_or_default();
        for (var, setting) in ENV_SETTINGS {
            if let Some(raw) = env(var) {
                let value = env_value(setting, &raw);
                if let Some(obj) = doc.as_object_mut() {
                    obj.insert((*setting).to_owned(), value);
                }
                sources.insert((*setting).to_owned(), Source::Environment);
            }
        }
        let mut config: Self =
            serde_json::from_value(doc).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        config.sources = sources;
        config.validate()?;
        Ok(config)
    }

    /// Where `setting` (its camelCase name) comes from.
    pub fn source(&self, setting: &str) -> Source {
        self.sources
            .get(setting)
            .copied()
            .unwrap_or(Source::Default)
    }

    /// Whether the config file, the environment or a flag set `setting`: the console cannot
    /// change it then.
    pub fn is_pinned(&self, setting: &str) -> bool {
        !matches!(self.source(setting), Source::Default | Source::Console)
    }

    /// Applies the console's stored changes where nothing pins the setting.
    pub fn apply_overrides(&mut self, o: &RuntimeOverrides) {
        if let Some(days) = o.log_retention_days
            && !self.is_pinned("logRetentionDays")
        {
            self.log_retention_days = days;
            self.sources
                .insert("logRetentionDays".into(), Source::Console);
        }
        if let Some(addr) = o.public_listen
            && !self.is_pinned("publicListen")
        {
            self.public_listen = addr;
            self.sources.insert("publicListen".into(), Source::Console);
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if !(1..=3650).contains(&self.log_retention_days) {
            return bad("logRetentionDays must be between 1 and 3650");
        }
        if !(10..=3600).contains(&self.delivery_lease_seconds) {
            return bad("deliveryLeaseSeconds must be between 10 and 3600");
        }
        if let Some(url) = &self.store_url
            && !(url.expose().starts_with("postgres://")
                || url.expose().starts_with("postgresql://"))
        {
            return bad("storeUrl must be a postgres:// URL (unset: the embedded store)");
        }
        for (listener, cert, key) in [
            ("public", &self.public_tls_cert, &self.public_tls_key),
            ("admin", &self.admin_tls_cert, &self.admin_tls_key),
        ] {
            if cert.is_some() != key.is_some() {
                return Err(ConfigError::Invalid(format!(
                    "{listener}TlsCert and {listener}TlsKey go together: set both for TLS on the \
                     {listener} listener, or neither"
                )));
            }
        }
        if self.max_concurrent_requests == 0 || self.delivery_workers == 0 {
            return bad("maxConcurrentRequests and deliveryWorkers must be at least 1");
        }
        if !(1..=1440).contains(&self.console_session_idle_minutes) {
            return bad("consoleSessionIdleMinutes must be between 1 and 1440");
        }
        if self.request_timeout_seconds == 0 || self.header_read_timeout_seconds == 0 {
            return bad("requestTimeoutSeconds and headerReadTimeoutSeconds must be at least 1");
        }
        Ok(())
    }
}

/// Environment values are strings: lists are comma-separated, numbers and booleans parsed.
fn redacted<S: serde::Serializer>(v: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str(Secret::SET),
        None => s.serialize_none(),
    }
}

fn env_value(setting: &str, raw: &str) -> serde_json::Value {
    if setting == "trustedProxies" {
        return raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(serde_json::Value::from)
            .collect();
    }
    if let Ok(n) = raw.parse::<u64>() {
        return n.into();
    }
    match raw {
        "true" => true.into(),
        "false" => false.into(),
        _ => raw.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses_and_env_overrides_it() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
        let env = |k: &str| match k {
            "OTPD_CLIENT_RATE_LIMIT_PER_MINUTE" => Some("0".to_owned()),
            "OTPD_TRUSTED_PROXIES" => Some("10.0.0.1, ::1".to_owned()),
            _ => None,
        };
        let c = Config::load(Some(&example), env).unwrap();
        assert_eq!(c.client_rate_limit_per_minute, 0);
        assert_eq!(c.trusted_proxies.len(), 2);
        assert_eq!(c.public_listen, "127.0.0.1:8080".parse().unwrap());
    }

    #[test]
    fn sources_say_where_each_value_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "logRetentionDays = 30\n").unwrap();
        let env = |k: &str| (k == "OTPD_DURABILITY").then(|| "periodic".to_owned());
        let mut c = Config::load(Some(&path), env).unwrap();
        assert_eq!(c.source("logRetentionDays"), Source::File);
        assert_eq!(c.source("durability"), Source::Environment);
        assert_eq!(c.source("publicListen"), Source::Default);
        let o = RuntimeOverrides {
            log_retention_days: Some(7),
            public_listen: Some("0.0.0.0:9000".parse().unwrap()),
        };
        c.apply_overrides(&o);
        assert_eq!(c.log_retention_days, 30, "the file pins it");
        assert_eq!(c.public_listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(c.source("publicListen"), Source::Console);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "publicListn = \"0.0.0.0:80\"\n").unwrap();
        let err = Config::load(Some(&path), |_| None).unwrap_err().to_string();
        assert!(err.contains("publicListn"), "{err}");
    }
}
