//! Model-based tests of the session, attempt and limit rules as the public operations apply
//! them: random sequences of token/generate, otp/generate, otp/validate (right, wrong and
//! superseded codes) and clock moves run through the real services over a real store, and
//! every answer is compared with a plain reference model — a list of sessions and, per
//! customer, the times a code was issued. The rules live in `domain/` (`limits::charge`,
//! `Session::is_live`) and in the issuing and validating transactions of `service/`; this
//! checks them together, where a customer meets them.
//!
//! Besides agreeing with the model answer by answer, the history must keep the rules on its
//! own terms: no more than `dailyOtpLimit` codes per customer and calendar day in the brand's
//! zone, codes at least `resendCooldownSeconds` apart, a session validated at most once, never
//! after its expiry, its code's expiry or `maxValidateAttempts` wrong codes.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::clock::Clock;
use crate::config::Config;
use crate::delivery::Senders;
use crate::domain::{
    ApiCode, Brand, BrandName, BrandSettings, ChannelConfig, ChannelKind, Flow, Refusal,
};
use crate::secrets::ServerKeys;
use crate::service::{Fields, Operation, RequestContext, Services};
use crate::store::{Durability, Store};

/// The customers: one mobile, one e-mail address (each has its own limit).
const CUSTOMERS: [(&str, &str); 2] = [("MOBILE", "84901234567"), ("EMAIL", "jane@example.com")];

/// Zones whose days are not all 24 hours long, and one far from UTC.
const ZONES: [&str; 4] = [
    "UTC",
    "Asia/Ho_Chi_Minh",
    "America/New_York",
    "Australia/Lord_Howe",
];

#[derive(Clone, Debug)]
enum Op {
    /// token/generate for a customer, on the mobile or the web path.
    Token { customer: usize, web: bool },
    /// otp/generate on one of the sessions so far: `session` counts back from the newest.
    Generate { session: usize },
    /// otp/validate with the session's current code, a wrong one, or one it held before.
    Validate { session: usize, guess: Guess },
    /// The clock moves forward.
    Wait { ms: i64 },
    /// The clock moves to a millisecond (sometimes up to a second and a half) either side of a
    /// time where an answer changes: a
    /// cooldown's end, a code's or a session's expiry, the next midnight in the brand's zone.
    /// Off-by-one mistakes live there, and random waits rarely land on them.
    WaitToEdge { edge: u8, offset_ms: i64 },
}

#[derive(Clone, Copy, Debug)]
enum Guess {
    Current,
    Wrong,
    Superseded,
}

/// Where a wait to an edge stops: mostly a millisecond either side of it, sometimes within a
/// second and a half.
fn offset() -> impl Strategy<Value = i64> {
    prop_oneof![3 => -1i64..=1, 1 => -1500i64..=1500]
}

/// Mostly the newest sessions (older ones have mostly expired), sometimes any.
fn session() -> impl Strategy<Value = usize> {
    prop_oneof![3 => 0usize..2, 1 => any::<usize>()]
}

fn op() -> impl Strategy<Value = Op> {
    let guess = prop_oneof![
        Just(Guess::Current),
        Just(Guess::Wrong),
        Just(Guess::Superseded)
    ];
    prop_oneof![
        3 => (0..CUSTOMERS.len(), any::<bool>()).prop_map(|(customer, web)| Op::Token { customer, web }),
        4 => session().prop_map(|session| Op::Generate { session }),
        4 => (session(), guess).prop_map(|(session, guess)| Op::Validate { session, guess }),
        1 => (0i64..=60_000).prop_map(|ms| Op::Wait { ms }),
        1 => (0i64..=20 * 60_000).prop_map(|ms| Op::Wait { ms }),
        1 => (0i64..=30 * 3_600_000).prop_map(|ms| Op::Wait { ms }),
        2 => (prop_oneof![3 => 0u8..2, 1 => any::<u8>()], offset())
            .prop_map(|(edge, offset_ms)| Op::WaitToEdge { edge, offset_ms }),
    ]
}

/// The brand's rules for one run.
#[derive(Clone, Debug)]
struct Rules {
    limit: u32,
    cooldown_secs: u32,
    max_attempts: u32,
    otp_ttl_secs: u32,
    session_ttl_secs: u32,
    zone: &'static str,
}

fn rules() -> impl Strategy<Value = Rules> {
    (
        1u32..=3,
        prop::sample::select(vec![0u32, 30, 120]),
        1u32..=3,
        prop::sample::select(vec![60u32, 300]),
        prop::sample::select(vec![120u32, 900]),
        prop::sample::select(ZONES.to_vec()),
    )
        .prop_map(
            |(limit, cooldown_secs, max_attempts, otp_ttl_secs, session_ttl_secs, zone)| Rules {
                limit,
                cooldown_secs,
                max_attempts,
                otp_ttl_secs,
                session_ttl_secs,
                zone,
            },
        )
}

/// The reference model of a session.
#[derive(Debug)]
struct ModelSession {
    id: String,
    customer: usize,
    web: bool,
    expires_ms: i64,
    failed: u32,
    consumed: bool,
    /// The code it holds and when that code expires.
    code: Option<(String, i64)>,
    /// Codes it held before a resend replaced them.
    superseded: Vec<String>,
}

/// What happened, for the checks over the whole history.
#[derive(Debug)]
enum Event {
    Issued {
        customer: usize,
        at: i64,
    },
    Validated {
        session: usize,
        at: i64,
        code_expires: i64,
        failed_before: u32,
    },
}

/// A real server's services over a store in a temporary directory, on a manual clock.
struct Harness {
    runtime: tokio::runtime::Runtime,
    services: Services,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn new(rules: &Rules, start: Timestamp) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let keys = Arc::new(ServerKeys::for_tests());
        let services = runtime.block_on(async {
            let store = Store::open(
                &dir.path().join("store"),
                Durability::Periodic,
                keys.clone(),
            )
            .unwrap();
            let config = Config {
                data_dir: dir.path().to_owned(),
                client_rate_limit_per_minute: 0,
                durability: Durability::Periodic,
                ..Config::default()
            };
            Services::new(
                store,
                keys,
                Clock::manual(start),
                Senders::new(None),
                Arc::new(config),
            )
        });
        let settings = BrandSettings {
            daily_otp_limit: rules.limit,
            resend_cooldown_seconds: rules.cooldown_secs,
            max_validate_attempts: rules.max_attempts,
            otp_ttl_seconds: rules.otp_ttl_secs,
            session_ttl_seconds: rules.session_ttl_secs,
            time_zone: rules.zone.to_owned(),
            ..BrandSettings::default()
        };
        let mut brand = Brand::new(BrandName::parse("MODEL").unwrap(), settings, 0);
        for kind in ChannelKind::ALL {
            brand.channels.insert(kind, ChannelConfig::Log);
        }
        assert!(
            runtime
                .block_on(services.store.create_brand(&brand))
                .unwrap()
        );
        Self {
            runtime,
            services,
            _dir: dir,
        }
    }

    fn now_ms(&self) -> i64 {
        self.services.clock.now_ms()
    }

    fn context(operation: Operation, web: bool) -> RequestContext {
        let (flow, path) = match (operation, web) {
            (Operation::Token, false) => (Flow::Mobile, "/auth/v1/token/generate"),
            (Operation::Token, true) => (Flow::Web, "/auth/v1/web/token/generate"),
            (Operation::Generate, false) => (Flow::Mobile, "/auth/v1/otp/generate"),
            (Operation::Generate, true) => (Flow::Web, "/auth/v1/web/otp/generate"),
            (Operation::Validate, false) => (Flow::Mobile, "/auth/v1/otp/validate"),
            (Operation::Validate, true) => (Flow::Web, "/auth/v1/web/otp/validate"),
        };
        RequestContext {
            operation,
            flow,
            path,
            client: IpAddr::V4(Ipv4Addr::LOCALHOST),
            fallback_channel: None,
        }
    }

    fn body(customer: usize, web: bool, extra: Value) -> Map<String, Value> {
        let (kind, value) = CUSTOMERS[customer];
        let mut body = json!({"identifierType": kind, "identifierValue": value, "brand": "MODEL"});
        if !web {
            body["deviceId"] = json!("device-1");
        }
        let mut map = body.as_object().cloned().unwrap();
        map.extend(extra.as_object().cloned().unwrap_or_default());
        map
    }

    fn token(&self, customer: usize, web: bool) -> String {
        let body = Self::body(customer, web, json!({}));
        let ctx = Self::context(Operation::Token, web);
        let reply = self
            .runtime
            .block_on(self.services.issue_token(&Fields(&body), &ctx));
        reply.result.unwrap().session_id.to_string()
    }

    /// otp/generate; on success, the code as the customer receives it (from the outbox).
    fn generate(&self, s: &ModelSession) -> Result<String, Refusal> {
        let body = Self::body(s.customer, s.web, json!({"sessionId": s.id}));
        let ctx = Self::context(Operation::Generate, s.web);
        self.runtime
            .block_on(self.services.generate_otp(&Fields(&body), &ctx))
            .result?;
        let store = &self.services.store;
        let jobs = self
            .runtime
            .block_on(store.claim_jobs(i64::MAX, usize::MAX))
            .unwrap();
        assert_eq!(jobs.len(), 1, "one delivery per issued code");
        let queued = || self.runtime.block_on(store.queued_jobs()).unwrap();
        assert_eq!(queued(), 1, "the outbox depth counts the job");
        self.runtime
            .block_on(store.finish_deliveries(
                &[crate::store::Finished {
                    job: jobs[0].clone(),
                    status: crate::domain::DeliveryStatus::Sent,
                    attempt: None,
                }],
                0,
            ))
            .unwrap();
        assert_eq!(queued(), 0, "the outbox depth counts the job's end");
        let code = self
            .services
            .keys
            .unseal(&jobs[0].id, &jobs[0].sealed_code)
            .unwrap();
        Ok(code.expose().to_owned())
    }

    fn validate(&self, s: &ModelSession, otp: &str) -> Result<(), Refusal> {
        let body = Self::body(s.customer, s.web, json!({"sessionId": s.id, "otp": otp}));
        let ctx = Self::context(Operation::Validate, s.web);
        self.runtime
            .block_on(self.services.validate_otp(&Fields(&body), &ctx))
            .result
            .map(|_| ())
    }
}

fn date(ms: i64, tz: &TimeZone) -> jiff::civil::Date {
    Timestamp::from_millisecond(ms)
        .unwrap()
        .to_zoned_datetime(tz.clone())
        .date()
}

/// A six-digit code that is not `code`.
fn other_than(code: &str) -> String {
    let n: u32 = code.parse().unwrap_or(0);
    format!("{:06}", (n + 1) % 1_000_000)
}

/// The model's answer to otp/generate, or `Ok` when a code is issued.
fn expect_generate(
    s: &ModelSession,
    issued: &[i64],
    now: i64,
    rules: &Rules,
    tz: &TimeZone,
) -> Result<(), ApiCode> {
    if now >= s.expires_ms || s.consumed {
        return Err(ApiCode::InvalidSession);
    }
    if s.failed >= rules.max_attempts {
        return Err(ApiCode::MaxAttempts);
    }
    if issued
        .last()
        .is_some_and(|&last| now < last + i64::from(rules.cooldown_secs) * 1000)
    {
        return Err(ApiCode::ResendTooSoon);
    }
    let today = issued
        .iter()
        .filter(|&&t| date(t, tz) == date(now, tz))
        .count();
    if today >= usize::try_from(rules.limit).unwrap() {
        return Err(ApiCode::DailyLimit);
    }
    Ok(())
}

/// The model's answer to otp/validate with `guess`.
fn expect_validate(s: &ModelSession, guess: &str, now: i64, rules: &Rules) -> Result<(), ApiCode> {
    if now >= s.expires_ms {
        return Err(ApiCode::InvalidSession);
    }
    if s.failed >= rules.max_attempts {
        return Err(ApiCode::MaxAttempts);
    }
    let Some((code, expires)) = &s.code else {
        return Err(ApiCode::NoOtpGenerated);
    };
    if !s.consumed && now < *expires && guess == code {
        Ok(())
    } else {
        Err(ApiCode::InvalidOtp)
    }
}

fn run(rules: &Rules, start_ms: i64, ops: &[Op]) -> Result<(), TestCaseError> {
    let tz = TimeZone::get(rules.zone).unwrap();
    let h = Harness::new(rules, Timestamp::from_millisecond(start_ms).unwrap());
    let mut sessions: Vec<ModelSession> = Vec::new();
    let mut issued: Vec<Vec<i64>> = vec![Vec::new(); CUSTOMERS.len()];
    let mut history: Vec<Event> = Vec::new();

    for op in ops {
        let now = h.now_ms();
        match *op {
            Op::Token { customer, web } => {
                let id = h.token(customer, web);
                sessions.push(ModelSession {
                    id,
                    customer,
                    web,
                    expires_ms: now + i64::from(rules.session_ttl_secs) * 1000,
                    failed: 0,
                    consumed: false,
                    code: None,
                    superseded: Vec::new(),
                });
            }
            Op::Generate { session } if !sessions.is_empty() => {
                let i = sessions.len() - 1 - session % sessions.len();
                let s = &mut sessions[i];
                let want = expect_generate(s, &issued[s.customer], now, rules, &tz);
                let got = h.generate(s);
                match (want, got) {
                    (Ok(()), Ok(code)) => {
                        let expires =
                            (now + i64::from(rules.otp_ttl_secs) * 1000).min(s.expires_ms);
                        if let Some((old, _)) = s.code.replace((code, expires)) {
                            s.superseded.push(old);
                        }
                        issued[s.customer].push(now);
                        history.push(Event::Issued {
                            customer: s.customer,
                            at: now,
                        });
                    }
                    (Err(want), Err(got)) => {
                        prop_assert_eq!(got.code, want, "generate on {:?} at {}", s, now);
                        check_retry_after(&got, &issued[s.customer], now, rules, &tz)?;
                    }
                    (want, got) => {
                        prop_assert!(
                            false,
                            "generate on {:?} at {}: model {:?}, otpd {:?}",
                            s,
                            now,
                            want,
                            got
                        )
                    }
                }
            }
            Op::Validate { session, guess } if !sessions.is_empty() => {
                let i = sessions.len() - 1 - session % sessions.len();
                let s = &mut sessions[i];
                let current = s.code.as_ref().map(|(c, _)| c.clone());
                let otp = match guess {
                    Guess::Current => current.clone().unwrap_or_else(|| "000000".into()),
                    Guess::Wrong => other_than(current.as_deref().unwrap_or("999999")),
                    Guess::Superseded => match s.superseded.last() {
                        // A code can come round again; then it is the current one.
                        Some(old) => old.clone(),
                        None => other_than(current.as_deref().unwrap_or("999999")),
                    },
                };
                let want = expect_validate(s, &otp, now, rules);
                let got = h.validate(s, &otp);
                match (want, got) {
                    (Ok(()), Ok(())) => {
                        s.consumed = true;
                        history.push(Event::Validated {
                            session: i,
                            at: now,
                            code_expires: s.code.as_ref().map_or(i64::MIN, |(_, e)| *e),
                            failed_before: s.failed,
                        });
                    }
                    (Err(want), Err(got)) => {
                        prop_assert_eq!(got.code, want, "validate {} on {:?} at {}", otp, s, now);
                        if want == ApiCode::InvalidOtp {
                            s.failed += 1;
                        }
                    }
                    (want, got) => {
                        prop_assert!(
                            false,
                            "validate {} on {:?} at {}: model {:?}, otpd {:?}",
                            otp,
                            s,
                            now,
                            want,
                            got
                        )
                    }
                }
            }
            Op::Generate { .. } | Op::Validate { .. } => {}
            Op::Wait { ms } => h
                .services
                .clock
                .advance(std::time::Duration::from_millis(u64::try_from(ms).unwrap())),
            Op::WaitToEdge { edge, offset_ms } => {
                let edges = edges(&sessions, &issued, now, rules, &tz);
                let to = (edges[usize::from(edge) % edges.len()] + offset_ms).max(now);
                h.services
                    .clock
                    .set(Timestamp::from_millisecond(to).unwrap());
            }
        }
    }

    check_history(&history, &sessions, rules, &tz)
}

/// The times after `now` where the model's answers can change.
fn edges(
    sessions: &[ModelSession],
    issued: &[Vec<i64>],
    now: i64,
    rules: &Rules,
    tz: &TimeZone,
) -> Vec<i64> {
    let cooldown_ends = issued
        .iter()
        .filter_map(|times| times.last())
        .map(|last| last + i64::from(rules.cooldown_secs) * 1000);
    // The newest sessions' expiries: the ones the operations mostly touch.
    let expiries = sessions
        .iter()
        .rev()
        .take(2)
        .flat_map(|s| [Some(s.expires_ms), s.code.as_ref().map(|(_, e)| *e)])
        .flatten();
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
    let mut edges: Vec<i64> = cooldown_ends
        .chain(expiries)
        .chain([midnight])
        .filter(|&e| e > now)
        .collect();
    // Nearest first: the walk mostly goes to the next one.
    edges.sort_unstable();
    edges
}

/// A refusal for the cooldown or the limit says when to come back: the cooldown's end, or
/// the next midnight in the brand's zone.
fn check_retry_after(
    refusal: &Refusal,
    issued: &[i64],
    now: i64,
    rules: &Rules,
    tz: &TimeZone,
) -> Result<(), TestCaseError> {
    match refusal.code {
        ApiCode::ResendTooSoon => {
            let last = *issued.last().unwrap();
            let left = last + i64::from(rules.cooldown_secs) * 1000 - now;
            let wait = i64::try_from(refusal.retry_after_secs.unwrap()).unwrap();
            prop_assert!(
                wait * 1000 >= left && (wait - 1) * 1000 < left,
                "wait {}s for {}ms",
                wait,
                left
            );
        }
        ApiCode::DailyLimit => {
            let wait = i64::try_from(refusal.retry_after_secs.unwrap()).unwrap();
            prop_assert!(
                date(now + wait * 1000, tz) > date(now, tz),
                "still today after {}s",
                wait
            );
            prop_assert!(
                wait == 1 || date(now + (wait - 1) * 1000, tz) == date(now, tz),
                "tomorrow before {}s",
                wait
            );
        }
        _ => {}
    }
    Ok(())
}

/// The rules, checked on what happened rather than against the model.
fn check_history(
    history: &[Event],
    sessions: &[ModelSession],
    rules: &Rules,
    tz: &TimeZone,
) -> Result<(), TestCaseError> {
    for customer in 0..CUSTOMERS.len() {
        let times: Vec<i64> = history
            .iter()
            .filter_map(|e| match e {
                Event::Issued { customer: c, at } if *c == customer => Some(*at),
                _ => None,
            })
            .collect();
        for pair in times.windows(2) {
            prop_assert!(
                pair[1] - pair[0] >= i64::from(rules.cooldown_secs) * 1000,
                "cooldown broken: {:?}",
                times
            );
        }
        for &t in &times {
            let same_day = times
                .iter()
                .filter(|&&u| date(u, tz) == date(t, tz))
                .count();
            prop_assert!(
                same_day <= usize::try_from(rules.limit).unwrap(),
                "{} codes on {}",
                same_day,
                date(t, tz)
            );
        }
    }
    for (i, s) in sessions.iter().enumerate() {
        let validated: Vec<(i64, i64, u32)> = history
            .iter()
            .filter_map(|e| match e {
                Event::Validated {
                    session,
                    at,
                    code_expires,
                    failed_before,
                } if *session == i => Some((*at, *code_expires, *failed_before)),
                _ => None,
            })
            .collect();
        prop_assert!(
            validated.len() <= 1,
            "session {} validated {} times",
            s.id,
            validated.len()
        );
        for (at, code_expires, failed_before) in validated {
            prop_assert!(
                at < s.expires_ms,
                "session {} validated after it expired",
                s.id
            );
            prop_assert!(
                at < code_expires,
                "session {} validated an expired code",
                s.id
            );
            prop_assert!(
                failed_before < rules.max_attempts,
                "session {} validated when locked",
                s.id
            );
        }
    }
    Ok(())
}

proptest! {
    // Each case opens a store of its own; 256 cases take a few seconds.
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sessions_attempts_and_limits_agree_with_the_model(
        rules in rules(),
        start_ms in 1_704_067_200_000i64..1_893_456_000_000,
        ops in prop::collection::vec(op(), 1..80),
    ) {
        run(&rules, start_ms, &ops)?;
    }
}

#[test]
fn a_wrong_code_budget_locks_the_session_even_for_the_right_code() {
    // A fixed walk of the property above: two wrong codes with a budget of two, then the right
    // one is refused with 1518, and so is a resend.
    let rules = Rules {
        limit: 10,
        cooldown_secs: 0,
        max_attempts: 2,
        otp_ttl_secs: 300,
        session_ttl_secs: 900,
        zone: "UTC",
    };
    let h = Harness::new(&rules, "2026-03-01T10:00:00Z".parse().unwrap());
    let mut s = ModelSession {
        id: h.token(0, false),
        customer: 0,
        web: false,
        expires_ms: 0,
        failed: 0,
        consumed: false,
        code: None,
        superseded: Vec::new(),
    };
    let code = h.generate(&s).unwrap();
    s.code = Some((code.clone(), 0));
    for _ in 0..2 {
        assert_eq!(
            h.validate(&s, &other_than(&code)).unwrap_err().code,
            ApiCode::InvalidOtp
        );
    }
    assert_eq!(
        h.validate(&s, &code).unwrap_err().code,
        ApiCode::MaxAttempts
    );
    assert_eq!(h.generate(&s).unwrap_err().code, ApiCode::MaxAttempts);
}

#[test]
fn codes_and_sessions_end_on_the_millisecond() {
    // The edges of the property above, walked exactly: a code is accepted one millisecond
    // before it expires and refused from the millisecond it does; a session likewise.
    let rules = Rules {
        limit: 10,
        cooldown_secs: 0,
        max_attempts: 5,
        otp_ttl_secs: 60,
        session_ttl_secs: 120,
        zone: "UTC",
    };
    let start: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
    let h = Harness::new(&rules, start);
    let at = |ms: i64| {
        h.services
            .clock
            .set(Timestamp::from_millisecond(start.as_millisecond() + ms).unwrap())
    };
    let new_session = |customer| ModelSession {
        id: h.token(customer, false),
        customer,
        web: false,
        expires_ms: 0,
        failed: 0,
        consumed: false,
        code: None,
        superseded: Vec::new(),
    };

    // The code's own expiry (60 s, before the session's 120 s).
    let s = new_session(0);
    let code = h.generate(&s).unwrap();
    at(60_000);
    assert_eq!(h.validate(&s, &code).unwrap_err().code, ApiCode::InvalidOtp);
    let code = h.generate(&s).unwrap();
    at(119_999);
    assert_eq!(h.validate(&s, &code), Ok(()));

    // The session's expiry, which caps the code's.
    at(0);
    let s = new_session(1);
    at(110_000);
    let code = h.generate(&s).unwrap();
    at(119_999);
    assert_eq!(h.validate(&s, &code), Ok(()));
    at(60_000);
    let s = new_session(1);
    at(170_000);
    let code = h.generate(&s).unwrap();
    at(180_000);
    assert_eq!(
        h.validate(&s, &code).unwrap_err().code,
        ApiCode::InvalidSession
    );
}
