//! Payload-signing keys (API.md §5): switching signing on and off, rotating and revoking keys.
//! A secret leaves the server once, in the answer to the call that created it.

use base64::Engine;
use rand::Rng;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{Admin, AdminError, BrandView, lookup_name};
use crate::domain::signature::{KeyState, SigningKey};
use crate::domain::{Brand, SignedEndpoint};

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

impl Admin<'_> {
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
        let created = reveal(&brand, &candidate);
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
        let key = reveal(&brand, &candidate);
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

/// The one-time view of `candidate`, if it is in the brand's ring.
fn reveal(brand: &Brand, candidate: &[u8]) -> Option<NewSecret> {
    brand
        .signing_keys
        .iter()
        .find(|k| k.state == KeyState::Active && k.secret == candidate)
        .map(|k| NewSecret {
            key_id: k.id,
            secret: base64::engine::general_purpose::STANDARD.encode(&k.secret),
        })
}
