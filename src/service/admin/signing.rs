//! Payload-signing keys (docs/api.md §5): switching signing on and off, rotating and revoking keys.
//! A secret leaves the server once, in the answer to the call that created it.

use base64::Engine;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Admin, AdminError, BrandView, lookup_name};
use crate::domain::signature::{self, KeyState, SignatureProblem, SigningKey};
use crate::domain::{Brand, SignedEndpoint};
use crate::service::{Fields, SentForSigning};

/// A newly created signing secret: returned once, never stored anywhere it can be read back.
#[derive(Clone, Serialize, utoipa::ToSchema)]
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
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SigningOutcome {
    pub brand: BrandView,
    pub new_key: Option<NewSecret>,
}

/// A request to check: the path it goes to and its body, with `timeStamp` and `hash`.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HashCheckRequest {
    /// The request path as signed, e.g. `/auth/v1/otp/generate`.
    pub path: String,
    /// One request object as the client sends it.
    #[schema(value_type = std::collections::HashMap<String, Value>)]
    pub body: Map<String, Value>,
}

/// What the server would say of a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HashVerdict {
    /// A key that verifies made it, within the window (a replay would still be refused).
    Accepted,
    Missing,
    Malformed,
    /// `timeStamp` is outside the brand's window.
    Stale,
    /// Made by a revoked key.
    Revoked,
    /// No key of the brand made it: a wrong secret, or a field signed differently.
    NoMatch,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HashCheck {
    pub verdict: HashVerdict,
    /// The same, in words, with what to do.
    pub explanation: String,
    /// Whether the brand requires a signature on this endpoint now.
    pub required: bool,
    /// The signed message (lines joined by `\n`), to compare with the client's byte by byte.
    pub message: String,
    /// The key that made the hash, when one did.
    pub key_id: Option<u32>,
    pub key_state: Option<KeyState>,
    /// Server time minus `timeStamp`, in seconds.
    pub skew_seconds: Option<i64>,
}

/// The endpoint a signed path belongs to (mobile and web paths alike).
fn endpoint_of(path: &str) -> Option<SignedEndpoint> {
    match path.trim_end_matches('/') {
        "/auth/v1/token/generate" | "/auth/v1/web/token/generate" => {
            Some(SignedEndpoint::TokenGenerate)
        }
        "/auth/v1/otp/generate" | "/auth/v1/web/otp/generate" => Some(SignedEndpoint::OtpGenerate),
        "/auth/v1/otp/validate" | "/auth/v1/web/otp/validate" => Some(SignedEndpoint::OtpValidate),
        _ => None,
    }
}

impl Admin<'_> {
    /// Checks a client's hash against the brand's keys: which key made it, whether its
    /// timestamp is in the window, and the signed message. Never computes a hash for the
    /// caller (that would make this a signing oracle) and records no replay.
    pub async fn check_hash(
        &self,
        name: &str,
        req: &HashCheckRequest,
    ) -> Result<HashCheck, AdminError> {
        let name = lookup_name(name)?;
        let brand = self.brand(&name).await?;
        let endpoint = endpoint_of(&req.path).ok_or_else(|| {
            AdminError::Invalid(format!(
                "path: {:?} is not a signed path; use e.g. /auth/v1/otp/generate",
                req.path
            ))
        })?;
        let f = Fields(&req.body);
        let required = brand.settings.requires_signature(endpoint);
        let ts = f
            .timestamp_text()
            .map_err(|r| AdminError::Invalid(format!("body.timeStamp: {}", r.message())))?;
        let sent = SentForSigning::new(&f, ts.clone().unwrap_or_default());
        let fields = sent.fields(&req.path);
        let message = fields.message();
        let now_ms = self.now_ms();
        let skew_seconds = ts
            .as_deref()
            .and_then(|t| t.parse::<i64>().ok())
            .map(|t| (now_ms - t) / 1000);
        let hash = f.opt_str("hash").ok().flatten().unwrap_or_default();
        let key = signature::key_that_made(&brand.signing_keys, &fields, hash);
        let window = brand.settings.signature_window_seconds;
        let verdict = if hash.is_empty() || ts.is_none() {
            HashVerdict::Missing
        } else {
            match signature::verify(&brand.signing_keys, &fields, hash, now_ms, window) {
                Ok(()) => HashVerdict::Accepted,
                Err(SignatureProblem::Stale) => HashVerdict::Stale,
                Err(SignatureProblem::Missing) => HashVerdict::Missing,
                Err(SignatureProblem::Malformed) => HashVerdict::Malformed,
                Err(SignatureProblem::NoMatch | SignatureProblem::Replayed) => {
                    if key.is_some_and(|k| k.state == KeyState::Revoked) {
                        HashVerdict::Revoked
                    } else {
                        HashVerdict::NoMatch
                    }
                }
            }
        };
        let explanation = match verdict {
            HashVerdict::Accepted => format!(
                "made with key {} within the {window} s window: accepted (once; a replay answers 5004)",
                key.map_or(0, |k| k.id)
            ),
            HashVerdict::Missing => "hash or timeStamp is missing: the server answers 5004 where signing is required".into(),
            HashVerdict::Malformed => "hash must be 64 lower-case hex digits and timeStamp epoch milliseconds: 5004".into(),
            HashVerdict::Stale => format!(
                "timeStamp is {} s away from the server's clock, beyond the {window} s window: 5004. Check the client's clock, and that it sends milliseconds",
                skew_seconds.unwrap_or_default().abs()
            ),
            HashVerdict::Revoked => format!(
                "made with key {}, which is revoked: 5004. Ship the active key to the client",
                key.map_or(0, |k| k.id)
            ),
            HashVerdict::NoMatch => "no key of this brand made this hash: 5004. Compare the client's signed message with the one shown here, line by line, and check its secret".into(),
        };
        Ok(HashCheck {
            verdict,
            explanation,
            required,
            message,
            key_id: key.map(|k| k.id),
            key_state: key.map(|k| k.state),
            skew_seconds,
        })
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
                let current = self.brand(&name).await?.settings.signing_endpoints;
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
        let updated = self
            .update(&name, |b| {
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
            })
            .await?;
        let brand = &updated.1;
        // The stored ring holds the candidate only if this call added it.
        let created = reveal(brand, &candidate);
        self.commit_brand("signing.enable", None, &updated).await?;
        Ok(SigningOutcome {
            brand: BrandView::from(brand),
            new_key: created,
        })
    }

    /// Adds a new active key; the previous active key becomes retiring (it still verifies
    /// until revoked, so shipped clients keep working during the switch).
    pub async fn rotate_signing(&self, name: &str) -> Result<SigningOutcome, AdminError> {
        let name = lookup_name(name)?;
        let candidate = new_secret();
        let now_ms = self.now_ms();
        let updated = self
            .update(&name, |b| {
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
            })
            .await?;
        let brand = &updated.1;
        let key = reveal(brand, &candidate);
        self.commit_brand("signing.rotate", None, &updated).await?;
        Ok(SigningOutcome {
            brand: BrandView::from(brand),
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
        let updated = self.update(&name, |b| {
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
        }).await?;
        let brand = &updated.1;
        self.commit_brand("signing.revoke", Some(format!("key {key_id}")), &updated)
            .await?;
        Ok(SigningOutcome {
            brand: BrandView::from(brand),
            new_key: None,
        })
    }

    /// Stops requiring signatures (the keys are kept).
    pub async fn disable_signing(&self, name: &str) -> Result<SigningOutcome, AdminError> {
        let name = lookup_name(name)?;
        let updated = self
            .update(&name, |b| {
                b.settings.signing_endpoints.clear();
                Ok(())
            })
            .await?;
        let brand = &updated.1;
        self.commit_brand("signing.disable", None, &updated).await?;
        Ok(SigningOutcome {
            brand: BrandView::from(brand),
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
