//! The dashboard's numbers, from the store's hourly counters (never a scan of the log): codes
//! issued per hour for the last 24 hours and per day for the last 30 days, by brand and by
//! channel; outcome codes; deliveries; limit hits; the issued → sent → validated funnel per
//! brand. Days are calendar days in the asked time zone; an hour counts in the day it starts in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Admin, AdminError, lookup_name};
use crate::delivery::health::FailingChannel;
use crate::domain::stats::{Counter, HOUR_MS, hour_of};
use crate::store::StatRow;

pub const HOURS: u32 = 24;
pub const DAYS: i16 = 30;

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Only this brand (default: all).
    pub brand: Option<String>,
    /// IANA time zone the days are counted in (default UTC).
    pub time_zone: Option<String>,
}

/// Codes issued in one hour or day.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsBucket {
    pub start_ms: i64,
    pub issued: u64,
    pub by_brand: BTreeMap<String, u64>,
    /// `EMAIL`, `SMS`, `WHATSAPP`, `ZALO`, or `TEST` (test identifiers: nothing sent).
    pub by_channel: BTreeMap<String, u64>,
}

/// Refusals by the limits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitHits {
    /// 1534: the daily (or rolling-window) limit.
    pub daily_limit: u64,
    /// 1701: the resend cooldown.
    pub resend_cooldown: u64,
    /// 1702: the per-client-address rate limit.
    pub client_rate: u64,
}

/// Everything counted in a period.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsTotals {
    pub issued: u64,
    pub by_channel: BTreeMap<String, u64>,
    /// otp/generate answers by code (`"200"` is an issued code).
    pub outcomes: BTreeMap<String, u64>,
    pub sent: u64,
    pub failed: u64,
    pub expired: u64,
    /// sent / (sent + failed + expired); null when no delivery ended.
    pub delivery_success_rate: Option<f64>,
    pub limit_hits: LimitHits,
    pub validated: u64,
}

/// One brand's funnel over the last 30 days.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrandFunnel {
    pub brand: String,
    pub issued: u64,
    pub sent: u64,
    pub validated: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    pub time_zone: String,
    pub generated_at_ms: i64,
    /// 24 hours, oldest first; the last is the current hour.
    pub hourly: Vec<StatsBucket>,
    /// 30 days, oldest first; the last is today.
    pub daily: Vec<StatsBucket>,
    pub last24h: StatsTotals,
    pub last30d: StatsTotals,
    pub brands: Vec<BrandFunnel>,
    /// Channels whose last deliveries all failed (since this server started).
    pub failing_channels: Vec<FailingChannel>,
}

impl StatsBucket {
    fn add(&mut self, row: &StatRow) {
        if let Counter::Issued(channel) = row.counter {
            self.issued += row.count;
            *self.by_brand.entry(row.brand.clone()).or_default() += row.count;
            let channel = channel.map_or("TEST", |c| c.as_str());
            *self.by_channel.entry(channel.to_owned()).or_default() += row.count;
        }
    }
}

impl StatsTotals {
    fn add(&mut self, row: &StatRow) {
        let n = row.count;
        match row.counter {
            Counter::Issued(channel) => {
                self.issued += n;
                let channel = channel.map_or("TEST", |c| c.as_str());
                *self.by_channel.entry(channel.to_owned()).or_default() += n;
                *self.outcomes.entry("200".to_owned()).or_default() += n;
            }
            Counter::Refused(code) => {
                *self.outcomes.entry(code.to_string()).or_default() += n;
                match code {
                    1534 => self.limit_hits.daily_limit += n,
                    1701 => self.limit_hits.resend_cooldown += n,
                    1702 => self.limit_hits.client_rate += n,
                    _ => {}
                }
            }
            Counter::Sent(_) => self.sent += n,
            Counter::Failed(_) => self.failed += n,
            Counter::Expired(_) => self.expired += n,
            Counter::Validated => self.validated += n,
        }
    }

    fn finish(mut self) -> Self {
        let ended = self.sent + self.failed + self.expired;
        // Counts stay far below 2^52: the conversion is exact.
        #[allow(clippy::cast_precision_loss)] // reason: counts are far below 2^52
        let rate = (ended > 0).then(|| self.sent as f64 / ended as f64);
        self.delivery_success_rate = rate;
        self
    }
}

impl Admin<'_> {
    pub async fn dashboard(&self, q: &StatsQuery) -> Result<Dashboard, AdminError> {
        let brand = q.brand.as_deref().map(lookup_name).transpose()?;
        let zone_name = q.time_zone.clone().unwrap_or_else(|| "UTC".to_owned());
        let tz = jiff::tz::TimeZone::get(&zone_name).map_err(|_| {
            AdminError::Invalid(format!(
                "timeZone: {zone_name:?} is not an IANA time zone name"
            ))
        })?;
        let now_ms = self.now_ms();
        let now_hour = hour_of(now_ms);
        let first_hour = now_hour.saturating_sub(HOURS - 1);
        let day_starts = day_starts(now_ms, &tz)?;
        let first_day_hour = day_starts.first().map_or(first_hour, |&ms| hour_of(ms));
        let rows: Vec<StatRow> = self
            .services
            .store
            .stats(first_day_hour.min(first_hour), now_hour)
            .await?
            .into_iter()
            .filter(|r| brand.as_ref().is_none_or(|b| r.brand == b.as_str()))
            .collect();

        let mut hourly: Vec<StatsBucket> = (first_hour..=now_hour)
            .map(|h| StatsBucket {
                start_ms: i64::from(h) * HOUR_MS,
                ..StatsBucket::default()
            })
            .collect();
        let mut daily: Vec<StatsBucket> = day_starts
            .iter()
            .map(|&start_ms| StatsBucket {
                start_ms,
                ..StatsBucket::default()
            })
            .collect();
        let (mut last24h, mut last30d) = (StatsTotals::default(), StatsTotals::default());
        let mut funnels: BTreeMap<String, BrandFunnel> = BTreeMap::new();
        for row in &rows {
            let start_ms = i64::from(row.hour) * HOUR_MS;
            if row.hour >= first_hour
                && let Some(bucket) = hourly.get_mut((row.hour - first_hour) as usize)
            {
                bucket.add(row);
                last24h.add(row);
            }
            let day = day_starts.partition_point(|&d| d <= start_ms);
            if day == 0 {
                continue;
            }
            if let Some(bucket) = daily.get_mut(day - 1) {
                bucket.add(row);
                last30d.add(row);
                let funnel = funnels
                    .entry(row.brand.clone())
                    .or_insert_with(|| BrandFunnel {
                        brand: row.brand.clone(),
                        ..BrandFunnel::default()
                    });
                match row.counter {
                    Counter::Issued(_) => funnel.issued += row.count,
                    Counter::Sent(_) => funnel.sent += row.count,
                    Counter::Validated => funnel.validated += row.count,
                    _ => {}
                }
            }
        }
        Ok(Dashboard {
            time_zone: zone_name,
            generated_at_ms: now_ms,
            hourly,
            daily,
            last24h: last24h.finish(),
            last30d: last30d.finish(),
            brands: funnels.into_values().collect(),
            failing_channels: self
                .services
                .delivery_health
                .failing()
                .into_iter()
                .filter(|f| brand.as_ref().is_none_or(|b| f.brand == b.as_str()))
                .collect(),
        })
    }
}

/// The starts (epoch ms) of the last 30 calendar days in `tz`, oldest first; the last is today.
fn day_starts(now_ms: i64, tz: &jiff::tz::TimeZone) -> Result<Vec<i64>, AdminError> {
    let bad = |e: jiff::Error| AdminError::Internal(format!("calendar arithmetic: {e}"));
    let today = jiff::Timestamp::from_millisecond(now_ms)
        .map_err(bad)?
        .to_zoned_datetime(tz.clone())
        .date();
    (0..DAYS)
        .rev()
        .map(|back| {
            let day = today
                .checked_sub(jiff::Span::new().days(back))
                .map_err(bad)?;
            Ok(day
                .to_zoned_datetime(tz.clone())
                .map_err(bad)?
                .timestamp()
                .as_millisecond())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_start_at_local_midnight() {
        let tz = jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").unwrap();
        // 2026-11-29 10:00 UTC = 17:00 in Ho Chi Minh City (UTC+7).
        let now: jiff::Timestamp = "2026-11-29T10:00:00Z".parse().unwrap();
        let starts = day_starts(now.as_millisecond(), &tz).unwrap();
        assert_eq!(starts.len(), 30);
        let today: jiff::Timestamp = "2026-11-28T17:00:00Z".parse().unwrap();
        assert_eq!(*starts.last().unwrap(), today.as_millisecond());
        assert_eq!(starts[28], today.as_millisecond() - 86_400_000);
    }
}
