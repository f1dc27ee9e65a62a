//! Per-customer limits: overrides of a brand's `dailyOtpLimit` for one destination, and that
//! customer's usage in the current day or rolling window (computed with `domain::limits`).

use serde::Serialize;
use serde_json::json;

use super::{Admin, AdminError, lookup_name, not_found, parse_destination};
use crate::domain::audit::Change;
use crate::domain::limits::{self, LimitPolicy};
use crate::domain::{BrandName, Destination};

/// One customer's limit: the override, what is in force, and today's usage.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
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
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OverrideView {
    pub destination: String,
    pub limit: u32,
}

impl Admin<'_> {
    /// The override, the limit in force and the usage of one customer.
    pub async fn show_limit(&self, name: &str, destination: &str) -> Result<LimitView, AdminError> {
        let name = lookup_name(name)?;
        let dest = parse_destination(destination)?;
        self.limit_view(&name, &dest).await
    }

    async fn limit_view(
        &self,
        name: &BrandName,
        dest: &Destination,
    ) -> Result<LimitView, AdminError> {
        let store = &self.services.store;
        let loaded = store.loaded_brand(name).ok_or_else(|| not_found(name))?;
        let settings = &loaded.brand.settings;
        let override_limit = store.limit_override(name, dest).await?;
        let effective = override_limit.unwrap_or(settings.daily_otp_limit);
        let policy = LimitPolicy {
            limit: effective,
            rolling_window_minutes: settings.limit_window_minutes,
            time_zone: &loaded.tz,
            cooldown_secs: settings.resend_cooldown_seconds,
        };
        let now = self.services.clock.now();
        let usage = store.usage(name, dest).await?.unwrap_or_default();
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
    pub async fn list_limits(&self, name: &str) -> Result<Vec<OverrideView>, AdminError> {
        let name = lookup_name(name)?;
        self.brand(&name).await?;
        Ok(self
            .services
            .store
            .limit_overrides(&name)
            .await?
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
        let brand = self.brand(&name).await?;
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
        let before = self.limit_view(&name, &dest).await?;
        self.services
            .store
            .set_limit_override(&name, &dest, Some(limit))
            .await?;
        self.commit_limit("limit.set", &name, &dest, &before).await
    }

    /// Removes a customer's override: the brand's limit applies again.
    pub async fn unset_limit(
        &self,
        name: &str,
        destination: &str,
    ) -> Result<LimitView, AdminError> {
        let name = lookup_name(name)?;
        let dest = parse_destination(destination)?;
        let before = self.limit_view(&name, &dest).await?;
        self.services
            .store
            .set_limit_override(&name, &dest, None)
            .await?;
        self.commit_limit("limit.unset", &name, &dest, &before)
            .await
    }

    /// Forgets what a customer was issued in the current day or window (not the cooldown).
    pub async fn reset_usage(
        &self,
        name: &str,
        destination: &str,
    ) -> Result<LimitView, AdminError> {
        let name = lookup_name(name)?;
        let dest = parse_destination(destination)?;
        let before = self.limit_view(&name, &dest).await?;
        self.services.store.reset_usage(&name, &dest).await?;
        self.commit_limit("limit.reset", &name, &dest, &before)
            .await
    }

    /// Records a change of one customer's limit or usage (the customer masked) and answers
    /// the view after it.
    async fn commit_limit(
        &self,
        action: &str,
        name: &BrandName,
        dest: &Destination,
        before: &LimitView,
    ) -> Result<LimitView, AdminError> {
        let after = self.limit_view(name, dest).await?;
        let json = |v: &LimitView| json!({"overrideLimit": v.override_limit, "effectiveLimit": v.effective_limit, "issued": v.issued});
        let change = Change::diff(&json(before), &json(&after));
        self.commit(action, Some(name), Some(dest.masked()), change)
            .await?;
        Ok(after)
    }
}
