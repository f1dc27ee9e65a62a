//! The per-customer OTP limits (docs/api.md §4): the resend cooldown (1701) and the daily limit
//! (1534), on a calendar day in the brand's time zone or on a rolling window. Pure: the store
//! runs [`charge`] inside the issuing transaction, which makes the count exact.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::code::{ApiCode, Refusal};

/// What is remembered per (brand, destination).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// The calendar day counted (`YYYYMMDD` in the brand's zone); 0 for rolling windows.
    pub day: u32,
    /// OTPs issued on `day`.
    pub count: u32,
    pub last_issued_ms: Option<i64>,
    /// Issue times inside the rolling window (rolling windows only).
    pub recent_ms: Vec<i64>,
}

/// The limit in force for one customer.
#[derive(Clone, Debug)]
pub struct LimitPolicy<'a> {
    pub limit: u32,
    pub rolling_window_minutes: Option<u32>,
    pub time_zone: &'a TimeZone,
    pub cooldown_secs: u32,
}

/// `YYYYMMDD` of `now` in `tz`.
pub fn day_of(now: Timestamp, tz: &TimeZone) -> u32 {
    let date = now.to_zoned_datetime(tz.clone()).date();
    let year = u32::try_from(date.year()).unwrap_or(0);
    year * 10_000
        + u32::from(date.month().unsigned_abs()) * 100
        + u32::from(date.day().unsigned_abs())
}

/// Seconds from `now` to the next midnight in `tz`.
pub fn secs_to_next_midnight(now: Timestamp, tz: &TimeZone) -> u64 {
    let zoned = now.to_zoned_datetime(tz.clone());
    let next = zoned
        .date()
        .tomorrow()
        .and_then(|d| d.to_zoned_datetime(tz.clone()))
        .map(|z| z.timestamp());
    match next {
        Ok(midnight) => {
            u64::try_from((midnight.as_millisecond() - now.as_millisecond() + 999) / 1000)
                .unwrap_or(1)
        }
        Err(_) => 86_400,
    }
}

impl Usage {
    /// Today's count as of `now` (0 when the stored day is over).
    pub fn issued_in_window(&self, now: Timestamp, policy: &LimitPolicy<'_>) -> u32 {
        match policy.rolling_window_minutes {
            Some(minutes) => {
                let from = now.as_millisecond() - i64::from(minutes) * 60_000;
                u32::try_from(self.recent_ms.iter().filter(|&&t| t > from).count())
                    .unwrap_or(u32::MAX)
            }
            None if self.day == day_of(now, policy.time_zone) => self.count,
            None => 0,
        }
    }
}

/// Checks the cooldown, then the limit; on success returns the usage with this OTP counted.
pub fn charge(
    usage: Option<&Usage>,
    now: Timestamp,
    policy: &LimitPolicy<'_>,
) -> Result<Usage, Refusal> {
    let now_ms = now.as_millisecond();
    let current = usage.cloned().unwrap_or_default();
    if let Some(last) = current.last_issued_ms {
        let ready_at = last + i64::from(policy.cooldown_secs) * 1000;
        if now_ms < ready_at {
            let wait = u64::try_from((ready_at - now_ms + 999) / 1000).unwrap_or(1);
            return Err(Refusal::retry_after(ApiCode::ResendTooSoon, wait));
        }
    }
    match policy.rolling_window_minutes {
        Some(minutes) => {
            let window_ms = i64::from(minutes) * 60_000;
            let mut recent: Vec<i64> = current
                .recent_ms
                .into_iter()
                .filter(|&t| t > now_ms - window_ms)
                .collect();
            if recent.len() >= usize::try_from(policy.limit).unwrap_or(usize::MAX) {
                let oldest = recent.iter().copied().min().unwrap_or(now_ms);
                let wait = u64::try_from((oldest + window_ms - now_ms + 999) / 1000).unwrap_or(1);
                return Err(Refusal::retry_after(ApiCode::DailyLimit, wait));
            }
            recent.push(now_ms);
            Ok(Usage {
                day: 0,
                count: 0,
                last_issued_ms: Some(now_ms),
                recent_ms: recent,
            })
        }
        None => {
            let today = day_of(now, policy.time_zone);
            let count = if current.day == today {
                current.count
            } else {
                0
            };
            if count >= policy.limit {
                return Err(Refusal::retry_after(
                    ApiCode::DailyLimit,
                    secs_to_next_midnight(now, policy.time_zone),
                ));
            }
            Ok(Usage {
                day: today,
                count: count + 1,
                last_issued_ms: Some(now_ms),
                recent_ms: Vec::new(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn policy(tz: &TimeZone, limit: u32, window: Option<u32>, cooldown: u32) -> LimitPolicy<'_> {
        LimitPolicy {
            limit,
            rolling_window_minutes: window,
            time_zone: tz,
            cooldown_secs: cooldown,
        }
    }

    #[test]
    fn the_daily_limit_counts_to_n_then_refuses_until_midnight() {
        let tz = TimeZone::UTC;
        let p = policy(&tz, 3, None, 0);
        let now = ts("2026-11-26T22:00:00Z");
        let mut u: Option<Usage> = None;
        for expected in 1..=3 {
            let next = charge(u.as_ref(), now, &p).unwrap();
            assert_eq!(next.count, expected);
            u = Some(next);
        }
        let refused = charge(u.as_ref(), now, &p).unwrap_err();
        assert_eq!(refused.code, ApiCode::DailyLimit);
        assert_eq!(refused.retry_after_secs, Some(7200));
        let tomorrow = charge(u.as_ref(), ts("2026-11-27T00:00:00Z"), &p).unwrap();
        assert_eq!(tomorrow.count, 1);
    }

    #[test]
    fn the_day_starts_at_midnight_in_the_brand_zone() {
        let tz = TimeZone::get("Asia/Ho_Chi_Minh").unwrap(); // UTC+7
        let now = ts("2026-11-26T16:59:59Z"); // 23:59:59 local
        assert_eq!(day_of(now, &tz), 20261126);
        assert_eq!(secs_to_next_midnight(now, &tz), 1);
        assert_eq!(day_of(ts("2026-11-26T17:00:00Z"), &tz), 20261127);
    }

    #[test]
    fn the_cooldown_comes_first() {
        let tz = TimeZone::UTC;
        let p = policy(&tz, 10, None, 30);
        let now = ts("2026-11-26T10:00:00Z");
        let u = charge(None, now, &p).unwrap();
        let refused = charge(Some(&u), ts("2026-11-26T10:00:10Z"), &p).unwrap_err();
        assert_eq!(
            (refused.code, refused.retry_after_secs),
            (ApiCode::ResendTooSoon, Some(20))
        );
        assert!(charge(Some(&u), ts("2026-11-26T10:00:30Z"), &p).is_ok());
    }

    #[test]
    fn a_rolling_window_frees_a_slot_when_the_oldest_leaves_it() {
        let tz = TimeZone::UTC;
        let p = policy(&tz, 2, Some(60), 0);
        let a = charge(None, ts("2026-11-26T10:00:00Z"), &p).unwrap();
        let b = charge(Some(&a), ts("2026-11-26T10:30:00Z"), &p).unwrap();
        let refused = charge(Some(&b), ts("2026-11-26T10:45:00Z"), &p).unwrap_err();
        assert_eq!(
            (refused.code, refused.retry_after_secs),
            (ApiCode::DailyLimit, Some(900))
        );
        let c = charge(Some(&b), ts("2026-11-26T11:00:01Z"), &p).unwrap();
        assert_eq!(c.recent_ms.len(), 2);
    }
}
