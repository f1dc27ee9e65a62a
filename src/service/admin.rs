//! Admin operations (brands, per-customer limits, payload-signing keys), shared by the admin API
//! and, through it, the CLI. Every save validates the whole settings document and goes through
//! the store's brand methods, which also refresh the in-memory copy the request path reads.
//! Signing secrets leave this module once, in the answer to the call that created them.

use std::collections::BTreeMap;

use base64::Engine;
use rand::Rng;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::Services;
use crate::domain::limits::{self, LimitPolicy};
use crate::domain::signature::{KeyState, SigningKey};
use crate::domain::{
    Brand, BrandName, BrandSettings, ChannelConfig, ChannelKind, Destination, SettingsError,
    SignedEndpoint,
};
use crate::store::{AuditEntry, StoreError};

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
    /// 500: the store failed; logged once by the HTTP layer, never sent.
    #[error(transparent)]
    Store(#[from] StoreError),
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
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    pub id: u32,
    pub state: KeyState,
    pub created_ms: i64,
}

/// A brand as the admin API returns it: settings, redacted channels, keys without secrets.
#[derive(Clone, Debug, Serialize)]
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
            settings: b.settings.clone(),
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

/// One customer's limit: the override, what is in force, and today's usage.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitView {
    pub brand: String,
    /// `MOBILE:<digits>` or `EMAIL:<address>`.
    pub destination: String,
    /// The per-customer override, if any.
    pub override_limit: Option<u32>,
    pub brand_limit: u32,
    /// The override if set, else the brand's limit.
    pub effective_limit: u32,
    /// `None`: the calendar day in `timeZone`; else a rolling window of this many minutes.
    pub limit_window_minutes: Option<u32>,
    pub time_zone: String,
    /// OTPs counted in the current day or window.
    pub issued: u32,
    pub remaining: u32,
    /// Seconds until the count next drops (midnight, or the oldest OTP leaving the window);
    /// `None` when nothing is counted in a rolling window.
    pub resets_in_seconds: Option<u64>,
}

/// A brand's override of one customer.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OverrideView {
    pub destination: String,
    pub limit: u32,
}

/// A newly created signing secret: returned once, never stored anywhere it can be read back.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSecret {
    pub key_id: u32,
    /// 32 random bytes, standard base64.
    pub secret: String,
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSecret")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// The answer of a signing operation: the brand as it now is, and a new secret if one was made.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningOutcome {
    pub brand: BrandView,
    pub new_key: Option<NewSecret>,
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

    /// Makes a change durable (per the durability setting) and records it.
    async fn commit(
        &self,
        action: &str,
        brand: &BrandName,
        detail: Value,
    ) -> Result<(), AdminError> {
        self.services.store.settle().await?;
        tracing::info!(actor = self.actor, action, brand = %brand, "admin change");
        let entry = AuditEntry {
            at_ms: self.now_ms(),
            actor: self.actor.to_owned(),
            action: action.to_owned(),
            brand: Some(brand.to_string()),
            detail,
        };
        // The change is saved; a failed audit append must not report it as failed.
        if let Err(e) = self.services.store.append_audit(&entry) {
            tracing::error!(error = %e, action, "recording an admin change in the audit trail failed");
        }
        Ok(())
    }

    /// Applies `change` to the stored brand (retried on concurrent writes) and stamps it.
    fn update(
        &self,
        name: &BrandName,
        change: impl Fn(&mut Brand) -> Result<(), AdminError>,
    ) -> Result<Brand, AdminError> {
        let now_ms = self.now_ms();
        self.services
            .store
            .update_brand(name, |mut brand| {
                change(&mut brand)?;
                brand.updated_ms = now_ms;
                Ok::<_, AdminError>(brand)
            })?
            .ok_or_else(|| not_found(name))
    }

    fn brand(&self, name: &BrandName) -> Result<Brand, AdminError> {
        self.services
            .store
            .brand(name)?
            .ok_or_else(|| not_found(name))
    }

    // ---- brands ---------------------------------------------------------------------------

    pub fn list_brands(&self) -> Result<Vec<BrandView>, AdminError> {
        Ok(self
            .services
            .store
            .brands()?
            .iter()
            .map(BrandView::from)
            .collect())
    }

    pub fn show_brand(&self, name: &str) -> Result<BrandView, AdminError> {
        Ok(BrandView::from(&self.brand(&lookup_name(name)?)?))
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
        if !self.services.store.create_brand(&brand)? {
            return Err(AdminError::Conflict(format!(
                "a brand named {name} already exists"
            )));
        }
        self.commit(
            "brand.create",
            &name,
            serde_json::to_value(&brand.settings).unwrap_or_default(),
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
        let brand = self.update(&name, |b| {
            b.settings = b.settings.apply(patch)?;
            Ok(())
        })?;
        self.commit("brand.update", &name, Value::Object(patch.clone()))
            .await?;
        Ok(BrandView::from(&brand))
    }

    /// Switches a brand on or off; a disabled brand answers 1504 on the public API.
    pub async fn set_brand_enabled(
        &self,
        name: &str,
        enabled: bool,
    ) -> Result<BrandView, AdminError> {
        let name = lookup_name(name)?;
        let brand = self.update(&name, |b| {
            b.settings.enabled = enabled;
            Ok(())
        })?;
        let action = if enabled {
            "brand.enable"
        } else {
            "brand.disable"
        };
        self.commit(action, &name, Value::Null).await?;
        Ok(BrandView::from(&brand))
    }

    // ---- per-customer limits --------------------------------------------------------------

    /// The override, the limit in force and the usage of one customer.
    pub fn show_limit(&self, name: &str, destination: &str) -> Result<LimitView, AdminError> {
        let name = lookup_name(name)?;
        let dest = parse_destination(destination)?;
        self.limit_view(&name, &dest)
    }

    fn limit_view(&self, name: &BrandName, dest: &Destination) -> Result<LimitView, AdminError> {
        let store = &self.services.store;
        let loaded = store.loaded_brand(name).ok_or_else(|| not_found(name))?;
        let settings = &loaded.brand.settings;
        let override_limit = store.limit_override(name, dest)?;
        let effective = override_limit.unwrap_or(settings.daily_otp_limit);
        let policy = LimitPolicy {
            limit: effective,
            rolling_window_minutes: settings.limit_window_minutes,
            time_zone: &loaded.tz,
            cooldown_secs: settings.resend_cooldown_seconds,
        };
        let now = self.services.clock.now();
        let usage = store.usage(name, dest)?.unwrap_or_default();
        let issued = usage.issued_in_window(now, &policy);
        let resets_in_seconds = match settings.limit_window_minutes {
            None => Some(limits::secs_to_next_midnight(now, &loaded.tz)),
            Some(minutes) => {
                let window_ms = i64::from(minutes) * 60_000;
                let now_ms = now.as_millisecond();
                usage
                    .recent_ms
                    .iter()
                    .filter(|&&t| t > now_ms - window_ms)
                    .min()
                    .and_then(|oldest| {
                        u64::try_from((oldest + window_ms - now_ms + 999) / 1000).ok()
                    })
            }
        };
        Ok(LimitView {
            brand: name.to_string(),
            destination: dest.key(),
            override_limit,
            brand_limit: settings.daily_otp_limit,
            effective_limit: effective,
            limit_window_minutes: settings.limit_window_minutes,
            time_zone: settings.time_zone.clone(),
            issued,
            remaining: effective.saturating_sub(issued),
            resets_in_seconds,
        })
    }

    /// Every override of a brand.
    pub fn list_limits(&self, name: &str) -> Result<Vec<OverrideView>, AdminError> {
        let name = lookup_name(name)?;
        self.brand(&name)?;
        Ok(self
            .services
            .store
            .limit_overrides(&name)?
            .into_iter()
            .map(|(d, limit)| OverrideView {
                destination: d.key(),
                limit,
            })
            .collect())
    }

    /// Gives one customer their own limit (≥ 1, within the bounds of `dailyOtpLimit`).
    pub async fn set_limit(
        &self,
        name: &str,
        destination: &str,
        limit: u32,
    ) -> Result<LimitView, AdminError> {
        let name = lookup_name(name)?;
        let dest = parse_destination(destination)?;
        let brand = self.brand(&name)?;
        if limit == 0 {
            return Err(AdminError::LimitZero("limit"));
        }
        // The same bounds as the brand setting: a rolling window keeps one timestamp per OTP.
        let max = if brand.settings.limit_window_minutes.is_some() {
            1_000
        } else {
            100_000
        };
        if limit > max {
            return Err(AdminError::Invalid(format!(
                "limit: {limit} is outside the allowed range 1–{max}"
            )));
        }
        self.services
            .store
            .set_limit_override(&name, &dest, Some(limit))?;
        self.commit(
            "limit.set",
            &name,
            json!({"destination": dest.masked(), "limit": limit}),
        )
        .await?;
        self.limit_view(&name, &dest)
    }

    /// Removes a customer's override: the brand's limit applies again.
    pub async fn unset_limit(
        &self,
        name: &str,
        destination: &str,
    ) -> Result<LimitView, AdminError> {
        let name = lookup_name(name)?;
        let dest = parse_destination(destination)?;
        self.brand(&name)?;
        self.services.store.set_limit_override(&name, &dest, None)?;
        self.commit("limit.unset", &name, json!({"destination": dest.masked()}))
            .await?;
        self.limit_view(&name, &dest)
    }

    /// Forgets what a customer was issued in the current day or window (not the cooldown).
    pub async fn reset_usage(
        &self,
        name: &str,
        destination: &str,
    ) -> Result<LimitView, AdminError> {
        let name = lookup_name(name)?;
        let dest = parse_destination(destination)?;
        self.brand(&name)?;
        self.services.store.reset_usage(&name, &dest)?;
        self.commit("limit.reset", &name, json!({"destination": dest.masked()}))
            .await?;
        self.limit_view(&name, &dest)
    }

    // ---- payload signing ------------------------------------------------------------------

    /// Requires signatures on `endpoints` (default: those already on, else OTP_GENERATE),
    /// optionally with a new window; creates an active key if the brand has none and returns its secret.
    pub async fn enable_signing(
        &self,
        name: &str,
        endpoints: Option<Vec<SignedEndpoint>>,
        window_seconds: Option<u32>,
    ) -> Result<SigningOutcome, AdminError> {
        let name = lookup_name(name)?;
        // Without a list, keep what is on (re-running `enable` must not narrow it), else the
        // default of §5.
        let mut endpoints = match endpoints {
            Some(e) => e,
            None => {
                let current = self.brand(&name)?.settings.signing_endpoints;
                if current.is_empty() {
                    vec![SignedEndpoint::OtpGenerate]
                } else {
                    current
                }
            }
        };
        endpoints.sort();
        endpoints.dedup();
        if endpoints.is_empty() {
            return Err(AdminError::Invalid(
                "endpoints: name at least one of TOKEN_GENERATE, OTP_GENERATE, OTP_VALIDATE (to switch signing off, use disable)".into(),
            ));
        }
        let mut patch = Map::new();
        patch.insert("signingEndpoints".into(), json!(endpoints));
        if let Some(w) = window_seconds {
            patch.insert("signatureWindowSeconds".into(), json!(w));
        }
        // Drawn once, outside the retried closure, so a retry cannot hand out a different key.
        let candidate = new_secret();
        let now_ms = self.now_ms();
        let mut created = None;
        let brand = self.update(&name, |b| {
            b.settings = b.settings.apply(&patch)?;
            if !b.signing_keys.iter().any(|k| k.state == KeyState::Active) {
                b.signing_keys.push(SigningKey {
                    id: next_key_id(b),
                    secret: candidate.clone(),
                    state: KeyState::Active,
                    created_ms: now_ms,
                });
            }
            Ok(())
        })?;
        // The stored ring holds the candidate only if this call added it.
        if let Some(k) = brand
            .signing_keys
            .iter()
            .find(|k| k.state == KeyState::Active && k.secret == candidate)
        {
            created = Some(NewSecret {
                key_id: k.id,
                secret: base64::engine::general_purpose::STANDARD.encode(&k.secret),
            });
        }
        self.commit(
            "signing.enable",
            &name,
            json!({"endpoints": endpoints, "windowSeconds": brand.settings.signature_window_seconds,
                   "createdKeyId": created.as_ref().map(|c| c.key_id)}),
        )
        .await?;
        Ok(SigningOutcome {
            brand: BrandView::from(&brand),
            new_key: created,
        })
    }

    /// Adds a new active key; the previous active key becomes retiring (it still verifies
    /// until revoked, so shipped clients keep working during the switch).
    pub async fn rotate_signing(&self, name: &str) -> Result<SigningOutcome, AdminError> {
        let name = lookup_name(name)?;
        let candidate = new_secret();
        let now_ms = self.now_ms();
        let brand = self.update(&name, |b| {
            for k in &mut b.signing_keys {
                if k.state == KeyState::Active {
                    k.state = KeyState::Retiring;
                }
            }
            b.signing_keys.push(SigningKey {
                id: next_key_id(b),
                secret: candidate.clone(),
                state: KeyState::Active,
                created_ms: now_ms,
            });
            Ok(())
        })?;
        let key = brand
            .signing_keys
            .iter()
            .find(|k| k.secret == candidate)
            .map(|k| NewSecret {
                key_id: k.id,
                secret: base64::engine::general_purpose::STANDARD.encode(&k.secret),
            });
        self.commit(
            "signing.rotate",
            &name,
            json!({"createdKeyId": key.as_ref().map(|k| k.key_id)}),
        )
        .await?;
        Ok(SigningOutcome {
            brand: BrandView::from(&brand),
            new_key: key,
        })
    }

    /// Revokes a key. Refuses to revoke the last key that verifies while signing is on (every
    /// signed request would then fail) unless `force`.
    pub async fn revoke_signing_key(
        &self,
        name: &str,
        key_id: u32,
        force: bool,
    ) -> Result<SigningOutcome, AdminError> {
        let name = lookup_name(name)?;
        let brand = self.update(&name, |b| {
            let signing_on = !b.settings.signing_endpoints.is_empty();
            let verifying_others = b
                .signing_keys
                .iter()
                .filter(|k| k.id != key_id && k.state != KeyState::Revoked)
                .count();
            let key = b
                .signing_keys
                .iter_mut()
                .find(|k| k.id == key_id)
                .ok_or_else(|| {
                    AdminError::NotFound(format!("brand {} has no signing key {key_id}", b.name))
                })?;
            if key.state != KeyState::Revoked && signing_on && verifying_others == 0 && !force {
                return Err(AdminError::Conflict(format!(
                    "key {key_id} is the only key that verifies while signing is on; every signed request would fail. Rotate first, disable signing, or force it"
                )));
            }
            key.state = KeyState::Revoked;
            Ok(())
        })?;
        self.commit(
            "signing.revoke",
            &name,
            json!({"keyId": key_id, "force": force}),
        )
        .await?;
        Ok(SigningOutcome {
            brand: BrandView::from(&brand),
            new_key: None,
        })
    }

    /// Stops requiring signatures (the keys are kept).
    pub async fn disable_signing(&self, name: &str) -> Result<SigningOutcome, AdminError> {
        let name = lookup_name(name)?;
        let brand = self.update(&name, |b| {
            b.settings.signing_endpoints.clear();
            Ok(())
        })?;
        self.commit("signing.disable", &name, Value::Null).await?;
        Ok(SigningOutcome {
            brand: BrandView::from(&brand),
            new_key: None,
        })
    }

    /// The newest `limit` changes, newest first.
    pub fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>, AdminError> {
        Ok(self.services.store.audit_entries(limit)?)
    }
}

fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    secret
}

/// Key ids are never reused, so a revoked id cannot come back as a different key.
fn next_key_id(b: &Brand) -> u32 {
    b.signing_keys.iter().map(|k| k.id).max().unwrap_or(0) + 1
}
