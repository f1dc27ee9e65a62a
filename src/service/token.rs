//! `token/generate` (docs/api.md §3): opens a session bound to (brand, identifier, device, path).
//! The answer never reveals whether the identifier is a known customer.

use serde::Serialize;

use super::checks::Common;
use super::{Fields, Reply, RequestContext, Services};
use crate::domain::{ApiCode, Destination, Refusal, Session, SessionId, SignedEndpoint};

pub struct TokenOutcome {
    pub session_id: SessionId,
    pub token: String,
}

/// The JWTs a successful validation hands out.
pub struct IssuedTokens {
    pub token: String,
    pub key: Option<String>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'static str,
    sub: String,
    brand: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dev: Option<&'a str>,
    role: &'static str,
    iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
}

impl Services {
    pub async fn issue_token(&self, f: &Fields<'_>, ctx: &RequestContext) -> Reply<TokenOutcome> {
        let mut http200 = false;
        let result = self.issue_token_checked(f, ctx, &mut http200).await;
        Reply {
            result,
            errors_as_http200: http200,
        }
    }

    async fn issue_token_checked(
        &self,
        f: &Fields<'_>,
        ctx: &RequestContext,
        http200: &mut bool,
    ) -> Result<TokenOutcome, Refusal> {
        let now_ms = self.clock.now_ms();
        {
            let c = self.parse_common(f, ctx, &[])?;
            *http200 = c.brand.brand.settings.errors_as_http200;
            let mobile = f
                .opt_str("mobile")?
                .map(Destination::mobile)
                .transpose()
                .map_err(|e| Refusal::invalid(format!("mobile: {e}")))?;
            let email = f
                .opt_str("email")?
                .map(Destination::email)
                .transpose()
                .map_err(|e| Refusal::invalid(format!("email: {e}")))?;
            self.check_signature(f, &c, ctx, SignedEndpoint::TokenGenerate, now_ms)
                .await?;
            self.check_client_rate(ctx.client)?;
            let settings = &c.brand.brand.settings;
            let session = Session {
                id: SessionId::new_random(),
                brand: c.brand.brand.name.clone(),
                identifier: c.identifier.clone(),
                device: c.device.clone(),
                flow: ctx.flow,
                created_ms: now_ms,
                expires_ms: now_ms + i64::from(settings.session_ttl_seconds) * 1000,
                mobile,
                email,
                code: None,
                failed_attempts: 0,
                consumed: false,
            };
            let token = self.jwt(&c, "VIEW", now_ms, Some(settings.access_token_ttl_seconds))?;
            self.store
                .insert_session(&session)
                .await
                .map_err(|e| super::internal(ApiCode::UnableToGenerate, "storing a session", &e))?;
            Ok(TokenOutcome {
                session_id: session.id,
                token,
            })
        }
    }

    /// Signs a token for the request's identifier with `role`, living `ttl_secs` (None: no expiry).
    pub(super) fn jwt(
        &self,
        c: &Common,
        role: &'static str,
        now_ms: i64,
        ttl_secs: Option<u32>,
    ) -> Result<String, Refusal> {
        let iat = now_ms / 1000;
        let claims = Claims {
            iss: "otpd",
            sub: c.identifier.to_string(),
            brand: c.brand.brand.name.as_str(),
            dev: c.device.as_deref(),
            role,
            iat,
            exp: ttl_secs.map(|t| iat + i64::from(t)),
        };
        self.keys.sign_jwt(&claims).map_err(|e| {
            super::internal(
                if role == "VIEW" {
                    ApiCode::UnableToGenerate
                } else {
                    ApiCode::UnableToValidate
                },
                "signing a token",
                &e,
            )
        })
    }
}
