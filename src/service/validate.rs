//! `otp/validate` (docs/api.md §6): one constant-time comparison against the session's keyed hash,
//! inside a compare-and-swap on the session, so a code is accepted at most once even under
//! concurrent attempts. Wrong, expired and used codes get the same 1506; every 1506 counts
//! against the session, and a resend does not reset that count.

use super::{Fields, IssuedTokens, Reply, RequestContext, Services};
use crate::domain::{ApiCode, OtpCode, Refusal, Session, SignedEndpoint};

enum Verdict {
    Accepted(uuid::Uuid),
    Refused(Refusal),
}

impl Services {
    pub async fn validate_otp(&self, f: &Fields<'_>, ctx: &RequestContext) -> Reply<IssuedTokens> {
        let mut http200 = false;
        let result = self.validate_checked(f, ctx, &mut http200).await;
        Reply {
            result,
            errors_as_http200: http200,
        }
    }

    async fn validate_checked(
        &self,
        f: &Fields<'_>,
        ctx: &RequestContext,
        http200: &mut bool,
    ) -> Result<IssuedTokens, Refusal> {
        let now_ms = self.clock.now_ms();
        let c = self.parse_common(f, ctx, &["sessionId", "otp"])?;
        *http200 = c.brand.brand.settings.errors_as_http200;
        let settings = &c.brand.brand.settings;
        let candidate = f
            .raw("otp")
            .map(|v| OtpCode::from_client(v, settings.otp_length))
            .transpose()
            .map_err(|e| Refusal::invalid(format!("otp: {e}")))?
            .ok_or_else(|| Refusal::invalid("otp is required"))?;
        let session = self
            .check_session(f.req_str("sessionId")?, &c, ctx, now_ms)
            .await?;
        self.check_signature(f, &c, ctx, SignedEndpoint::OtpValidate, now_ms)
            .await?;
        self.check_client_rate(ctx.client)?;

        let max = settings.max_validate_attempts;
        let verdict = self
            .store
            .update_session(&session.id, |current: Option<&Session>| {
                let Some(s) = current.filter(|s| now_ms < s.expires_ms) else {
                    return (
                        None,
                        Verdict::Refused(Refusal::new(ApiCode::InvalidSession)),
                    );
                };
                if s.failed_attempts >= max {
                    return (None, Verdict::Refused(Refusal::new(ApiCode::MaxAttempts)));
                }
                let Some(code) = &s.code else {
                    return (
                        None,
                        Verdict::Refused(Refusal::new(ApiCode::NoOtpGenerated)),
                    );
                };
                let matches = !s.consumed
                    && now_ms < code.expires_ms
                    && self.keys.code_matches(
                        code.key_id,
                        &code.hash,
                        &s.brand,
                        &s.id,
                        &s.identifier,
                        &candidate,
                    );
                let mut next = s.clone();
                if matches {
                    next.consumed = true;
                    (Some(next), Verdict::Accepted(code.log_id))
                } else {
                    next.failed_attempts += 1;
                    (
                        Some(next),
                        Verdict::Refused(Refusal::new(ApiCode::InvalidOtp)),
                    )
                }
            })
            .await
            .map_err(|e| super::internal(ApiCode::UnableToValidate, "updating a session", &e))?;
        match verdict {
            Verdict::Refused(r) => Err(r),
            Verdict::Accepted(log_id) => {
                if let Err(e) = self.store.record_validated(log_id, now_ms).await {
                    tracing::warn!(error = %e, "marking a log record validated failed");
                }
                let token =
                    self.jwt(&c, "USER", now_ms, Some(settings.access_token_ttl_seconds))?;
                let key = match ctx.flow {
                    crate::domain::Flow::Mobile => {
                        Some(self.jwt(&c, "AUTH", now_ms, settings.key_ttl_seconds)?)
                    }
                    crate::domain::Flow::Web => None,
                };
                Ok(IssuedTokens { token, key })
            }
        }
    }
}
