//! Admin operations (brands, channels and templates, per-customer limits, payload-signing
//! keys), shared by the admin API and, through it, the CLI. Every save validates the whole settings document and goes through
//! the store's brand methods, which also refresh the in-memory copy the request path reads.
//! Brands live here; `channels`, `limits` and `signing` add the other operations to [`Admin`].

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::Services;
use crate::domain::audit::{AuditEntry, Change, brand_change};
use crate::domain::signature::KeyState;
use crate::domain::{
    Brand, BrandName, BrandSettings, ChannelConfig, ChannelKind, Destination, SettingsError,
};
use crate::store::StoreError;

mod audit;
mod channels;
mod limits;
mod log;
mod operators;
mod server;
mod signing;
mod stats;

pub use audit::{AuditPage, AuditQuery};
pub use channels::{
    ChannelTemplatesView, ChannelView, TemplateInput, TemplatePreview, TestSendOutcome, parse_kind,
};
pub use limits::{LimitView, OverrideView};
pub use log::{LogPage, LogQuery};
pub use operators::{NewOperator, OperatorPatch, OperatorView, PasswordReset};
pub use server::{ServerSettings, ServerSettingsPatch};
pub use signing::{HashCheck, HashCheckRequest, HashVerdict, NewSecret, SigningOutcome};
pub use stats::{Dashboard, StatsQuery};

/// Why an admin operation was refused. The admin API maps each variant to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// 404: no brand (or signing key) of that name / id.
    #[error("{0}")]
    NotFound(String),
    /// 409: a brand of that name exists, or the change would break a rule of the current state
    /// (revoking the last verifying key while signing is on).
    #[error("{0}")]
    Conflict(String),
    /// 400 with code 1535: a limit of 0; names the setting or argument that held it.
    #[error("{0}: the OTP limit cannot be 0")]
    LimitZero(&'static str),
    /// 400: a setting or argument is invalid; the message names it.
    #[error("{0}")]
    Invalid(String),
    /// 401: no live session, or a wrong name or password (one message for both).
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the role may not do this, or the setup link is not valid.
    #[error("{0}")]
    Forbidden(String),
    /// 429 with `Retry-After`: too many failed logins; wait this long.
    #[error("too many failed logins; try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    /// 500: the store failed; logged once by the HTTP layer, never sent.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 500: something else failed inside (a blocking task, hashing); logged, never sent.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<SettingsError> for AdminError {
    fn from(e: SettingsError) -> Self {
        match e {
            SettingsError::LimitZero => Self::LimitZero("dailyOtpLimit"),
            SettingsError::Invalid(m) => Self::Invalid(m),
        }
    }
}

/// A signing key as operators see it: never its secret.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    pub id: u32,
    pub state: KeyState,
    pub created_ms: i64,
}

/// A brand as the admin API returns it: settings, redacted channels, keys without secrets.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrandView {
    pub name: String,
    pub settings: BrandSettings,
    pub channels: BTreeMap<ChannelKind, ChannelConfig>,
    pub signing_keys: Vec<KeyView>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl From<&Brand> for BrandView {
    fn from(b: &Brand) -> Self {
        Self {
            name: b.name.to_string(),
            settings: b.settings.redacted(),
            channels: b.channels.iter().map(|(k, c)| (*k, c.redacted())).collect(),
            signing_keys: b
                .signing_keys
                .iter()
                .map(|k| KeyView {
                    id: k.id,
                    state: k.state,
                    created_ms: k.created_ms,
                })
                .collect(),
            created_ms: b.created_ms,
            updated_ms: b.updated_ms,
        }
    }
}
/// The admin operations, acting for `actor` (recorded in the audit trail).
pub struct Admin<'a> {
    services: &'a Services,
    actor: &'a str,
}

impl Services {
    /// The admin operations, acting for `actor`.
    pub fn admin<'a>(&'a self, actor: &'a str) -> Admin<'a> {
        Admin {
            services: self,
            actor,
        }
    }
}

/// Brand names in paths are looked up, so a malformed one is simply not found.
fn lookup_name(raw: &str) -> Result<BrandName, AdminError> {
    BrandName::parse(raw).map_err(|_| AdminError::NotFound(format!("no brand named {raw:?}")))
}

fn not_found(name: &BrandName) -> AdminError {
    AdminError::NotFound(format!("no brand named {name}"))
}

fn parse_destination(raw: &str) -> Result<Destination, AdminError> {
    Destination::parse_key(raw).map_err(|e| AdminError::Invalid(format!("destination: {e}")))
}

impl Admin<'_> {
    fn now_ms(&self) -> i64 {
        self.services.clock.now_ms()
    }

    /// Records a change (already durable: the store acknowledged it) in the audit trail,
    /// secrets redacted.
    pub(crate) async fn commit(
        &self,
        action: &str,
        brand: Option<&BrandName>,
        target: Option<String>,
        change: Change,
    ) -> Result<(), AdminError> {
        let change = change.redacted();
        tracing::info!(
            actor = self.actor,
            action,
            brand = brand.map(BrandName::as_str),
            target,
            "admin change"
        );
        let entry = AuditEntry {
            id: String::new(),
            at_ms: self.now_ms(),
            actor: self.actor.to_owned(),
            action: action.to_owned(),
            brand: brand.map(BrandName::to_string),
            target,
            before: change.before,
            after: change.after,
        };
        // The change is saved; a failed audit append must not report it as failed.
        if let Err(e) = self.services.store.append_audit(&entry).await {
            tracing::error!(error = %e, action, "recording an admin change in the audit trail failed");
        }
        Ok(())
    }

    /// Records a change of one brand: what differs between `before` and `after`.
    async fn commit_brand(
        &self,
        action: &str,
        target: Option<String>,
        (before, after): &(Brand, Brand),
    ) -> Result<(), AdminError> {
        let change = brand_change(Some(before), Some(after));
        self.commit(action, Some(&after.name), target, change).await
    }

    /// Applies `change` to the stored brand (retried on concurrent writes) and stamps it;
    /// returns the brand before and after.
    async fn update(
        &self,
        name: &BrandName,
        change: impl Fn(&mut Brand) -> Result<(), AdminError> + Sync,
    ) -> Result<(Brand, Brand), AdminError> {
        let now_ms = self.now_ms();
        self.services
            .store
            .update_brand(name, |mut brand| {
                change(&mut brand)?;
                brand.updated_ms = now_ms;
                Ok::<_, AdminError>(brand)
            })
            .await?
            .ok_or_else(|| not_found(name))
    }

    async fn brand(&self, name: &BrandName) -> Result<Brand, AdminError> {
        self.services
            .store
            .brand(name)
            .await?
            .ok_or_else(|| not_found(name))
    }

    // ---- brands ---------------------------------------------------------------------------

    pub async fn list_brands(&self) -> Result<Vec<BrandView>, AdminError> {
        Ok(self
            .services
            .store
            .brands()
            .await?
            .iter()
            .map(BrandView::from)
            .collect())
    }

    pub async fn show_brand(&self, name: &str) -> Result<BrandView, AdminError> {
        Ok(BrandView::from(&self.brand(&lookup_name(name)?).await?))
    }

    /// Creates a brand with the default settings changed by `settings` (§9 names).
    pub async fn create_brand(
        &self,
        name: &str,
        settings: &Map<String, Value>,
    ) -> Result<BrandView, AdminError> {
        let name = BrandName::parse(name).map_err(|e| AdminError::Invalid(format!("name: {e}")))?;
        let settings = BrandSettings::default().apply(settings)?;
        let brand = Brand::new(name.clone(), settings, self.now_ms());
        if !self.services.store.create_brand(&brand).await? {
            return Err(AdminError::Conflict(format!(
                "a brand named {name} already exists"
            )));
        }
        self.commit(
            "brand.create",
            Some(&name),
            None,
            brand_change(None, Some(&brand)),
        )
        .await?;
        Ok(BrandView::from(&brand))
    }

    /// Changes the named settings; the rest keep their values.
    pub async fn update_brand(
        &self,
        name: &str,
        patch: &Map<String, Value>,
    ) -> Result<BrandView, AdminError> {
        if patch.is_empty() {
            return Err(AdminError::Invalid(
                "no settings given: send {\"<setting>\": <value>, …}".into(),
            ));
        }
        let name = lookup_name(name)?;
        let updated = self
            .update(&name, |b| {
                b.settings = b.settings.apply(patch)?;
                Ok(())
            })
            .await?;
        self.commit_brand("brand.update", None, &updated).await?;
        Ok(BrandView::from(&updated.1))
    }

    /// Switches a brand on or off; a disabled brand answers 1504 on the public API.
    pub async fn set_brand_enabled(
        &self,
        name: &str,
        enabled: bool,
    ) -> Result<BrandView, AdminError> {
        let name = lookup_name(name)?;
        let updated = self
            .update(&name, |b| {
                b.settings.enabled = enabled;
                Ok(())
            })
            .await?;
        let action = if enabled {
            "brand.enable"
        } else {
            "brand.disable"
        };
        self.commit_brand(action, None, &updated).await?;
        Ok(BrandView::from(&updated.1))
    }
}
