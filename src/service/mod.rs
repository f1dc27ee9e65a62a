//! Use-cases: one function per public operation (`issue_token`, `generate_otp`,
//! `validate_otp`) and the admin operations. Each takes `now` from the clock, applies the rules
//! of `domain/` in the order docs/api.md gives, and reads and writes through `store/`.

pub mod admin;
pub mod auth;
mod checks;
mod fields;
mod generate;
mod token;
mod validate;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{Quota, RateLimiter};
use tokio::sync::Notify;

pub use fields::{Fields, SentForSigning};
pub use generate::GenerateOutcome;
pub use token::{IssuedTokens, TokenOutcome};

use crate::clock::Clock;
use crate::config::Config;
use crate::delivery::Senders;
use crate::domain::{ApiCode, Flow, Refusal};
use crate::metrics::Metrics;
use crate::secrets::ServerKeys;
use crate::store::Store;

type ClientLimiter = RateLimiter<
    IpAddr,
    governor::state::keyed::DefaultKeyedStateStore<IpAddr>,
    Clock,
    governor::middleware::NoOpMiddleware<governor::nanos::Nanos>,
>;

/// Everything the use-cases share: one per running server.
pub struct Services {
    pub store: Store,
    pub keys: Arc<ServerKeys>,
    pub clock: Clock,
    pub senders: Senders,
    pub metrics: Arc<Metrics>,
    pub config: Arc<Config>,
    /// Woken after a delivery job is committed.
    pub outbox_wake: Arc<Notify>,
    /// Where the public API listens, or why it could not.
    pub public_api: std::sync::OnceLock<Result<std::net::SocketAddr, String>>,
    /// Which channels are delivering, from the outbox's attempts.
    pub delivery_health: Arc<crate::delivery::health::DeliveryHealth>,
    client_limiter: Option<ClientLimiter>,
    /// Failed console logins, per account and client address.
    pub login_throttle: auth::LoginThrottle,
    /// Serialises operator changes, so two admins cannot demote each other at once and leave
    /// no admin.
    pub operator_changes: tokio::sync::Mutex<()>,
    /// Issuance-log records older than this are swept; the console may change it at run time.
    pub log_retention_days: std::sync::atomic::AtomicU32,
    /// Orders the issuance log's ids (see `generate::new_log_id`). This server's own: servers
    /// in one process (tests, the desktop) on other clocks must not push each other's ids.
    log_ids: std::sync::Mutex<uuid::ContextV7>,
    /// The public requests' tasks at work, at most `max_concurrent_requests`. A task goes on
    /// after its client has gone (see `http::public`) and keeps its slot until it ends, so
    /// abandoned work cannot pile up past the limit the listener sheds at.
    pub request_slots: Arc<tokio::sync::Semaphore>,
}

/// Where a request came from and on which path.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub operation: Operation,
    pub flow: Flow,
    /// The request path, as signed (`/auth/v1/otp/generate`).
    pub path: &'static str,
    pub client: IpAddr,
    /// The raw `fallbackChannel` query parameter (generate only).
    pub fallback_channel: Option<String>,
}

/// The three public operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Token,
    Generate,
    Validate,
}

impl Operation {
    /// The endpoint name, for metrics.
    pub fn endpoint(self) -> &'static str {
        match self {
            Self::Token => "token/generate",
            Self::Generate => "otp/generate",
            Self::Validate => "otp/validate",
        }
    }

    /// The generic answer to an internal failure: 1502 when validating, else 1503.
    pub fn internal_code(self) -> ApiCode {
        match self {
            Self::Validate => ApiCode::UnableToValidate,
            Self::Token | Self::Generate => ApiCode::UnableToGenerate,
        }
    }
}

/// A use-case's answer and how to send errors for this brand (`errorsAsHttp200`).
#[derive(Debug)]
pub struct Reply<T> {
    pub result: Result<T, Refusal>,
    pub errors_as_http200: bool,
}

impl Services {
    pub fn new(
        store: Store,
        keys: Arc<ServerKeys>,
        clock: Clock,
        senders: Senders,
        config: Arc<Config>,
    ) -> Self {
        let client_limiter = NonZeroU32::new(config.client_rate_limit_per_minute)
            .map(|n| RateLimiter::new(Quota::per_minute(n), Default::default(), clock.clone()));
        let log_retention_days = std::sync::atomic::AtomicU32::new(config.log_retention_days);
        let request_slots = Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_requests));
        Self {
            request_slots,
            log_retention_days,
            store,
            keys,
            clock,
            senders,
            metrics: Arc::new(Metrics::new()),
            config,
            outbox_wake: Arc::new(Notify::new()),
            delivery_health: Arc::default(),
            public_api: std::sync::OnceLock::new(),
            client_limiter,
            login_throttle: auth::LoginThrottle::default(),
            operator_changes: tokio::sync::Mutex::new(()),
            log_ids: std::sync::Mutex::new(uuid::ContextV7::new()),
        }
    }

    /// The per-client-address limit (1702).
    fn check_client_rate(&self, client: IpAddr) -> Result<(), Refusal> {
        let Some(limiter) = &self.client_limiter else {
            return Ok(());
        };
        limiter.check_key(&rate_key(client)).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&self.clock));
            Refusal::retry_after(ApiCode::ClientRateLimited, wait.as_secs() + 1)
        })
    }

    /// Forgets idle client-limiter keys (called by the sweeper).
    pub fn trim_rate_limiter(&self) {
        if let Some(limiter) = &self.client_limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// The key the per-client limit counts under: the IPv4 address, or the /64 network of an IPv6
/// address (one host usually holds a whole /64 and could rotate through it).
fn rate_key(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(std::net::Ipv6Addr::from(network))
        }
    }
}

/// Logs an internal failure once and turns it into the generic answer for the operation.
fn internal(code: ApiCode, what: &str, error: &dyn std::fmt::Display) -> Refusal {
    tracing::error!(error = %error, "{what} failed");
    Refusal::new(code)
}

#[cfg(test)]
mod tests {
    use super::rate_key;

    #[test]
    fn ipv6_clients_count_per_64_ipv4_per_address() {
        let a = rate_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = rate_key("2001:db8:1:2:bbbb::9".parse().unwrap());
        let other = rate_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(a, "2001:db8:1:2::".parse::<std::net::IpAddr>().unwrap());
        let v4 = "198.51.100.7".parse().unwrap();
        assert_eq!(rate_key(v4), v4);
    }
}
