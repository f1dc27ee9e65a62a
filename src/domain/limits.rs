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
    // No cooldown, no check: with several nodes (or a request that waited for the customer's
    // lock) `now` may be a few milliseconds before the last issue, which is not "too soon".
    if let Some(last) = current.last_issued_ms.filter(|_| policy.cooldown_secs > 0) {
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
    fn without_a_cooldown_an_issue_stamped_just_before_the_last_is_not_too_soon() {
        // Another node (or a request that waited for the customer's lock) issued at 10:00:00.005;
        // this request's clock read 10:00:00.
        let tz = TimeZone::UTC;
        let p = policy(&tz, 10, None, 0);
        let last = charge(None, ts("2026-11-26T10:00:00.005Z"), &p).unwrap();
        assert!(charge(Some(&last), ts("2026-11-26T10:00:00Z"), &p).is_ok());
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

    mod model {
        //! A model of the limits: the list of times an OTP was issued to one customer, and the
        //! rules in their plainest form — a resend needs `cooldown` seconds since the last
        //! issue; a calendar day (in the brand's zone) or a rolling window holds at most
        //! `limit` issues. Random walks of time and issue attempts must get the same answer
        //! from [`charge`] as from the model, and the history must keep the rules.

        use super::*;
        use proptest::prelude::*;

        /// Zones with a day that is not 24 hours: DST at 02:00 (New York), at midnight
        /// (Havana), by half an hour (Lord Howe), at +14 (Kiritimati), at -3:30 (St John's).
        const ZONES: [&str; 7] = [
            "UTC",
            "Asia/Ho_Chi_Minh",
            "America/New_York",
            "America/Havana",
            "Australia/Lord_Howe",
            "Pacific/Kiritimati",
            "America/St_Johns",
        ];

        fn date(ms: i64, tz: &TimeZone) -> jiff::civil::Date {
            Timestamp::from_millisecond(ms)
                .unwrap()
                .to_zoned_datetime(tz.clone())
                .date()
        }

        /// How the walk moves the clock before the next attempt.
        #[derive(Clone, Debug)]
        enum Pause {
            /// Seconds (cooldowns), hours (within a day), days (the next day).
            For(i64),
            /// To a millisecond (sometimes up to a second and a half) either side of where the
            /// answer changes: the end of the cooldown, the oldest issue leaving the rolling
            /// window, the next midnight in the brand's zone. Off-by-one mistakes live there
            /// and random pauses rarely land on them.
            ToEdge { edge: u8, offset_ms: i64 },
        }

        fn pause() -> impl Strategy<Value = Pause> {
            prop_oneof![
                (0i64..=90_000).prop_map(Pause::For),
                (0i64..=6 * 3_600_000).prop_map(Pause::For),
                (0i64..=2 * 86_400_000).prop_map(Pause::For),
                (
                    any::<u8>(),
                    prop_oneof![3 => -1i64..=1, 1 => -1500i64..=1500]
                )
                    .prop_map(|(edge, offset_ms)| Pause::ToEdge { edge, offset_ms }),
            ]
        }

        /// The times after `now` where the model's answer can change.
        fn edges(
            issued: &[i64],
            now: i64,
            window_minutes: Option<u32>,
            cooldown_secs: u32,
            tz: &TimeZone,
        ) -> Vec<i64> {
            let mut edges = Vec::new();
            if let Some(&last) = issued.last() {
                edges.push(last + i64::from(cooldown_secs) * 1000);
            }
            if let Some(m) = window_minutes {
                edges.extend(issued.iter().map(|&t| t + i64::from(m) * 60_000));
            }
            let midnight = Timestamp::from_millisecond(now)
                .unwrap()
                .to_zoned_datetime(tz.clone())
                .date()
                .tomorrow()
                .unwrap()
                .to_zoned_datetime(tz.clone())
                .unwrap()
                .timestamp()
                .as_millisecond();
            edges.push(midnight);
            edges.retain(|&e| e > now);
            edges
        }

        /// What the model expects of an attempt at `now`, given the earlier issues.
        fn expected(
            issued: &[i64],
            now: i64,
            limit: u32,
            window_minutes: Option<u32>,
            cooldown_secs: u32,
            tz: &TimeZone,
        ) -> Result<(), (ApiCode, u64)> {
            if let Some(&last) = issued.last() {
                let ready = last + i64::from(cooldown_secs) * 1000;
                if now < ready {
                    let wait = u64::try_from((ready - now).div_euclid(1000)).unwrap()
                        + u64::from((ready - now) % 1000 != 0);
                    return Err((ApiCode::ResendTooSoon, wait));
                }
            }
            let counted: Vec<i64> = match window_minutes {
                Some(m) => issued
                    .iter()
                    .copied()
                    .filter(|&t| t > now - i64::from(m) * 60_000)
                    .collect(),
                None => issued
                    .iter()
                    .copied()
                    .filter(|&t| date(t, tz) == date(now, tz))
                    .collect(),
            };
            if counted.len() >= usize::try_from(limit).unwrap() {
                // The wait is checked against the calendar below, not computed here.
                return Err((ApiCode::DailyLimit, 0));
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn charge_agrees_with_a_model_of_issue_times(
                zone in prop::sample::select(ZONES.to_vec()),
                limit in 1u32..=4,
                window_minutes in prop::option::of(1u32..=1440),
                cooldown_secs in prop::sample::select(vec![0u32, 1, 30, 60, 3600]),
                start in 1_704_067_200_000i64..1_893_456_000_000,
                pauses in prop::collection::vec(pause(), 1..80),
            ) {
                let tz = TimeZone::get(zone).unwrap();
                let policy = LimitPolicy {
                    limit,
                    rolling_window_minutes: window_minutes,
                    time_zone: &tz,
                    cooldown_secs,
                };
                let mut usage: Option<Usage> = None;
                let mut issued: Vec<i64> = Vec::new();
                let mut now = start;
                for p in pauses {
                    now = match p {
                        Pause::For(ms) => now + ms,
                        Pause::ToEdge { edge, offset_ms } => {
                            let edges = edges(&issued, now, window_minutes, cooldown_secs, &tz);
                            let e = edges[usize::from(edge) % edges.len()];
                            (e + offset_ms).max(now)
                        }
                    };
                    let at = Timestamp::from_millisecond(now).unwrap();
                    let want = expected(&issued, now, limit, window_minutes, cooldown_secs, &tz);
                    let got = charge(usage.as_ref(), at, &policy);
                    match (&want, got) {
                        (Ok(()), Ok(next)) => {
                            issued.push(now);
                            usage = Some(next);
                        }
                        (Err((ApiCode::ResendTooSoon, wait)), Err(refusal)) => {
                            prop_assert_eq!(refusal.code, ApiCode::ResendTooSoon);
                            prop_assert_eq!(refusal.retry_after_secs, Some(*wait));
                        }
                        (Err((ApiCode::DailyLimit, _)), Err(refusal)) => {
                            prop_assert_eq!(refusal.code, ApiCode::DailyLimit);
                            let wait = i64::try_from(refusal.retry_after_secs.unwrap()).unwrap();
                            prop_assert!(wait >= 1);
                            let after = now + wait * 1000;
                            // Retry-After is the first whole second at which a slot is free
                            // again: at it the attempt is no longer refused for the limit, a
                            // second earlier it still is.
                            prop_assert!(
                                !matches!(
                                    expected(&issued, after, limit, window_minutes, 0, &tz),
                                    Err((ApiCode::DailyLimit, _))
                                ),
                                "still full {wait}s later"
                            );
                            prop_assert!(
                                wait == 1
                                    || expected(&issued, after - 1000, limit, window_minutes, 0, &tz)
                                        .is_err(),
                                "free before {wait}s"
                            );
                        }
                        (want, got) => prop_assert!(false, "at {}: model {:?}, charge {:?}", at, want, got),
                    }
                    // The stored usage counts what the model counts.
                    let count = issued
                        .iter()
                        .filter(|&&t| match window_minutes {
                            Some(m) => t > now - i64::from(m) * 60_000,
                            None => date(t, &tz) == date(now, &tz),
                        })
                        .count();
                    let in_window = usage.as_ref().map_or(0, |u| u.issued_in_window(at, &policy));
                    prop_assert_eq!(usize::try_from(in_window).unwrap(), count);
                }

                // The history keeps the rules on its own terms.
                for pair in issued.windows(2) {
                    prop_assert!(pair[1] - pair[0] >= i64::from(cooldown_secs) * 1000, "cooldown broken");
                }
                for (i, &t) in issued.iter().enumerate() {
                    let same_period = issued[..=i]
                        .iter()
                        .filter(|&&u| match window_minutes {
                            Some(m) => u > t - i64::from(m) * 60_000,
                            None => date(u, &tz) == date(t, &tz),
                        })
                        .count();
                    prop_assert!(same_period <= usize::try_from(limit).unwrap(), "limit exceeded at {}", t);
                }
            }

            #[test]
            fn the_first_attempt_of_a_new_day_is_allowed(
                zone in prop::sample::select(ZONES.to_vec()),
                limit in 1u32..=3,
                start in 1_704_067_200_000i64..1_893_456_000_000,
                days in 1i64..=3,
            ) {
                // The limit used up, then the next calendar day in the brand's zone: allowed,
                // and counted from one again.
                let tz = TimeZone::get(zone).unwrap();
                let policy = LimitPolicy { limit, rolling_window_minutes: None, time_zone: &tz, cooldown_secs: 0 };
                let at = Timestamp::from_millisecond(start).unwrap();
                let mut usage = None;
                for _ in 0..limit {
                    usage = Some(charge(usage.as_ref(), at, &policy).unwrap());
                }
                let refused = charge(usage.as_ref(), at, &policy).unwrap_err();
                prop_assert_eq!(refused.code, ApiCode::DailyLimit);
                let next_day = at
                    .to_zoned_datetime(tz.clone())
                    .date()
                    .checked_add(jiff::Span::new().days(days))
                    .unwrap()
                    .to_zoned_datetime(tz.clone())
                    .unwrap()
                    .timestamp();
                let again = charge(usage.as_ref(), next_day, &policy).unwrap();
                prop_assert_eq!(again.count, 1);
                prop_assert_eq!(again.day, day_of(next_day, &tz));
            }
        }
    }
}
