//! The checks every public operation shares, in docs/api.md's order: the request's identifier and
//! brand (1519, 1546, 1504), the session binding (1505, 1541/1507, 1508, 1509) and the payload
//! signature (5004).

use std::sync::Arc;

use super::{Fields, RequestContext, SentForSigning, Services};
use crate::domain::signature::{self, SignatureProblem};
use crate::domain::{
    ApiCode, BrandName, Flow, Identifier, IdentifierType, Refusal, Session, SessionId,
    SignedEndpoint,
};
use crate::store::{LoadedBrand, ReadSession};

/// The parsed common part of a request.
pub struct Common {
    pub identifier: Identifier,
    pub brand: Arc<LoadedBrand>,
    pub device: Option<String>,
}

/// The raw fields of the common part, for the issuance log when parsing stops early.
pub struct RawCommon<'a> {
    pub identifier_type: Option<&'a str>,
    pub identifier_value: Option<&'a str>,
    pub brand: Option<&'a str>,
    pub device: Option<&'a str>,
    pub session: Option<&'a str>,
}

pub fn raw_common<'a>(f: &Fields<'a>) -> RawCommon<'a> {
    let text = |name| f.opt_str(name).ok().flatten();
    RawCommon {
        identifier_type: text("identifierType"),
        identifier_value: text("identifierValue"),
        brand: text("brand"),
        device: text("deviceId"),
        session: text("sessionId"),
    }
}

impl Services {
    /// Step 1: mandatory fields (1519), identifierType (1546), identifierValue (1519), brand
    /// (1504). `extra` names further mandatory fields of the operation.
    pub(super) fn parse_common(
        &self,
        f: &Fields<'_>,
        ctx: &RequestContext,
        extra: &[&'static str],
    ) -> Result<Common, Refusal> {
        let kind = f.req_str("identifierType")?;
        let value = f.req_str("identifierValue")?;
        let brand = f.req_str("brand")?;
        let device = f.opt_str("deviceId")?;
        if ctx.flow == Flow::Mobile && device.is_none_or(|d| d.trim().is_empty()) {
            return Err(Refusal::invalid("deviceId is required on the mobile path"));
        }
        for name in extra {
            match *name {
                "otp" if f.raw("otp").is_none() => return Err(Refusal::invalid("otp is required")),
                "otp" => {}
                other => {
                    f.req_str(other)?;
                }
            }
        }
        // The remaining optional fields must be well-formed too.
        for name in ["mobile", "email", "hash", "locale"] {
            f.opt_str(name)?;
        }
        let kind =
            IdentifierType::parse(kind).ok_or(Refusal::new(ApiCode::InvalidIdentifierType))?;
        let identifier = Identifier::parse(kind, value)
            .map_err(|e| Refusal::invalid(format!("identifierValue: {e}")))?;
        let brand = BrandName::parse(brand)
            .ok()
            .and_then(|b| self.store.loaded_brand(&b))
            .filter(|b| b.brand.settings.enabled)
            .ok_or(Refusal::new(ApiCode::UnsupportedBrand))?;
        let device = match ctx.flow {
            Flow::Mobile => device.map(str::to_owned),
            Flow::Web => None,
        };
        Ok(Common {
            identifier,
            brand,
            device,
        })
    }

    /// Step 2: the session exists, is live and is bound to this request. A consumed session is
    /// reported by the caller (validate answers 1506 for a used code).
    pub(super) async fn check_session(
        &self,
        raw_id: &str,
        c: &Common,
        ctx: &RequestContext,
        now_ms: i64,
    ) -> Result<ReadSession, Refusal> {
        let id =
            SessionId::parse(raw_id).map_err(|e| Refusal::invalid(format!("sessionId: {e}")))?;
        let session = self
            .store
            .read_session(&id)
            .await
            .map_err(|e| super::internal(ctx.operation.internal_code(), "reading a session", &e))?
            .filter(|s| now_ms < s.expires_ms && s.flow == ctx.flow)
            .ok_or(Refusal::new(ApiCode::InvalidSession))?;
        check_binding(&session, c)?;
        Ok(session)
    }

    /// Step 3: the payload signature, where the brand requires it for this endpoint.
    pub(super) async fn check_signature(
        &self,
        f: &Fields<'_>,
        c: &Common,
        ctx: &RequestContext,
        endpoint: SignedEndpoint,
        now_ms: i64,
    ) -> Result<(), Refusal> {
        let settings = &c.brand.brand.settings;
        if !settings.requires_signature(endpoint) {
            return Ok(());
        }
        let refuse = |problem: SignatureProblem| {
            tracing::info!(brand = %c.brand.brand.name, path = ctx.path, ?problem, "payload signature refused");
            Refusal::new(ApiCode::Tampered)
        };
        let hash = f
            .opt_str("hash")
            .ok()
            .flatten()
            .ok_or_else(|| refuse(SignatureProblem::Missing))?;
        let ts = f
            .timestamp_text()
            .map_err(|_| refuse(SignatureProblem::Malformed))?
            .ok_or_else(|| refuse(SignatureProblem::Missing))?;
        let sent = SentForSigning::new(f, ts);
        let fields = sent.fields(ctx.path);
        signature::verify(
            &c.brand.brand.signing_keys,
            &fields,
            hash,
            now_ms,
            settings.signature_window_seconds,
        )
        .map_err(refuse)?;
        let tag = hex::decode(hash).unwrap_or_default();
        // Remembered past the window on both sides, so a replay is caught for as long as the
        // timestamp could still be accepted.
        let expires = now_ms + 2 * i64::from(settings.signature_window_seconds) * 1000;
        let fresh = self
            .store
            .remember_nonce(&c.brand.brand.name, &tag, expires)
            .await
            .map_err(|e| {
                super::internal(ctx.operation.internal_code(), "recording a signature", &e)
            })?;
        if fresh {
            Ok(())
        } else {
            Err(refuse(SignatureProblem::Replayed))
        }
    }
}

/// The session's identifier (1541, or 1507 for mobiles), device (1508) and brand (1509).
pub fn check_binding(session: &Session, c: &Common) -> Result<(), Refusal> {
    if session.identifier != c.identifier {
        let both_mobile = session.identifier.kind() == IdentifierType::Mobile
            && c.identifier.kind() == IdentifierType::Mobile;
        return Err(Refusal::new(if both_mobile {
            ApiCode::MobileMismatch
        } else {
            ApiCode::IdentifierMismatch
        }));
    }
    if session.flow == Flow::Mobile && session.device != c.device {
        return Err(Refusal::new(ApiCode::DeviceMismatch));
    }
    if session.brand != c.brand.brand.name {
        return Err(Refusal::new(ApiCode::BrandMismatch));
    }
    Ok(())
}
