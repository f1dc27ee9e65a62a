//! The server's own settings as the console shows them: every bootstrap setting with where its
//! value comes from, and the few an operator may change here (`config::RuntimeOverrides`) —
//! the log retention at once, the public address at the next start. A setting pinned by the
//! config file, the environment or a flag is shown read-only.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Admin, AdminError};
use crate::config::{RuntimeOverrides, Source};
use crate::domain::audit::Change;

/// Settings the console may change, and whether a change waits for a restart.
const EDITABLE: [(&str, bool); 2] = [("logRetentionDays", false), ("publicListen", true)];

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingView {
    /// The value in force.
    pub value: Value,
    pub source: Source,
    /// Whether the console may change it (not pinned by the config file, environment or a flag).
    pub editable: bool,
    /// Whether a change takes effect only at the next start.
    pub needs_restart: bool,
    /// A saved value that takes effect at the next start.
    pub pending: Option<Value>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerKeysView {
    /// The key that hashes new codes, seals and signs.
    pub active_id: u32,
    /// Every key in the ring, active first (older ones still verify).
    pub ids: Vec<u32>,
}

/// Whether the public API is listening.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicApiStatus {
    /// Where it listens (or was to listen).
    pub address: String,
    pub listening: bool,
    /// Why it is not listening (the address is taken, …).
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerSettings {
    pub version: String,
    pub public_api: PublicApiStatus,
    pub data_dir: String,
    /// Every bootstrap setting by name (`publicListen`, `durability`, …).
    pub settings: BTreeMap<String, SettingView>,
    pub server_keys: ServerKeysView,
}

/// The settings to change; absent ones keep their values.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerSettingsPatch {
    /// 1–3650 days; applies at the next sweep.
    pub log_retention_days: Option<u32>,
    /// `host:port`; applies at the next start.
    pub public_listen: Option<String>,
}

impl Admin<'_> {
    pub async fn server_settings(&self) -> Result<ServerSettings, AdminError> {
        let config = &self.services.config;
        let stored = self.services.store.runtime_overrides().await?;
        let Value::Object(values) = serde_json::to_value(config.as_ref())
            .map_err(|e| AdminError::Internal(e.to_string()))?
        else {
            return Err(AdminError::Internal("the config is not an object".into()));
        };
        let retention = self.services.log_retention_days.load(Ordering::Relaxed);
        let settings = values
            .into_iter()
            .filter(|(name, _)| name != "dataDir")
            .map(|(name, value)| {
                let editable = EDITABLE.iter().find(|(n, _)| *n == name);
                let pending = match name.as_str() {
                    "publicListen" => stored
                        .public_listen
                        .filter(|a| *a != config.public_listen && !config.is_pinned(&name))
                        .map(|a| json!(a)),
                    _ => None,
                };
                let value = if name == "logRetentionDays" {
                    json!(retention)
                } else {
                    value
                };
                let source = if name == "logRetentionDays"
                    && stored.log_retention_days.is_some()
                    && !config.is_pinned(&name)
                {
                    Source::Console
                } else {
                    config.source(&name)
                };
                let view = SettingView {
                    value,
                    source,
                    editable: editable.is_some() && !config.is_pinned(&name),
                    needs_restart: editable.is_none_or(|(_, restart)| *restart),
                    pending,
                };
                (name, view)
            })
            .collect();
        let public_api = match self.services.public_api.get() {
            Some(Ok(addr)) => PublicApiStatus {
                address: addr.to_string(),
                listening: true,
                error: None,
            },
            Some(Err(e)) => PublicApiStatus {
                address: config.public_listen.to_string(),
                listening: false,
                error: Some(e.clone()),
            },
            None => PublicApiStatus {
                address: config.public_listen.to_string(),
                listening: false,
                error: Some("the server is starting".into()),
            },
        };
        Ok(ServerSettings {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            public_api,
            data_dir: config.data_dir.display().to_string(),
            settings,
            server_keys: ServerKeysView {
                active_id: self.services.keys.active_id(),
                ids: self.services.keys.ids(),
            },
        })
    }

    pub async fn update_server_settings(
        &self,
        patch: &ServerSettingsPatch,
    ) -> Result<ServerSettings, AdminError> {
        let config = &self.services.config;
        let pinned = |name: &str| {
            AdminError::Conflict(format!(
                "{name}: set by the {} ({:?}); change it there",
                match config.source(name) {
                    Source::File => "config file",
                    Source::Environment => "environment",
                    _ => "command line",
                },
                name
            ))
        };
        let before = self.services.store.runtime_overrides().await?;
        let mut next = before.clone();
        if let Some(days) = patch.log_retention_days {
            if config.is_pinned("logRetentionDays") {
                return Err(pinned("logRetentionDays"));
            }
            next.log_retention_days = Some(days);
        }
        if let Some(addr) = &patch.public_listen {
            if config.is_pinned("publicListen") {
                return Err(pinned("publicListen"));
            }
            let addr = addr.trim().parse().map_err(|_| {
                AdminError::Invalid(format!(
                    "publicListen: {addr:?} is not an address such as 0.0.0.0:8080"
                ))
            })?;
            next.public_listen = Some(addr);
        }
        next.validate()
            .map_err(|e| AdminError::Invalid(e.to_string()))?;
        self.services.store.put_runtime_overrides(&next).await?;
        if let Some(days) = next.log_retention_days {
            self.services
                .log_retention_days
                .store(days, Ordering::Relaxed);
        }
        let json = |o: &RuntimeOverrides| serde_json::to_value(o).unwrap_or_default();
        self.commit(
            "settings.update",
            None,
            None,
            Change::diff(&json(&before), &json(&next)),
        )
        .await?;
        self.server_settings().await
    }
}
