//! `otp/generate` (docs/api.md §4), the heart of otpd. Checks in the contract's order — request,
//! session, signature, short-window limits, daily limit — then ONE store transaction issues
//! the code (keyed hash only), charges the limit, queues the sealed delivery and writes the
//! issuance-log record. Every request, accepted or refused, leaves exactly one log record.

use super::checks::{self, Common, raw_common};
use super::{Fields, Reply, RequestContext, Services};
use crate::domain::limits::{self, LimitPolicy};
use crate::domain::{
    ApiCode, BrandName, ChannelKind, DeliveryStatus, Destination, IdentifierType, IssuanceRecord,
    IssuedCode, OtpCode, OutboxJob, Refusal, Session, SignedEndpoint,
};
use crate::store::{IssueInput, IssueWrite};

/// A successful generate answers only the envelope.
#[derive(Debug)]
pub struct GenerateOutcome;

/// Where the code will go.
struct Route {
    channel: ChannelKind,
    destination: Destination,
    fallbacks: Vec<(ChannelKind, Destination)>,
}

/// A new log id (UUIDv7) on the server's clock, strictly increasing: within one millisecond a
/// counter orders ids as they were made, so "newest first" is the order of arrival.
fn new_log_id(context: &std::sync::Mutex<uuid::ContextV7>, now_ms: i64) -> uuid::Uuid {
    let ms = u64::try_from(now_ms).unwrap_or(0);
    let (secs, nanos) = (ms / 1000, u32::try_from(ms % 1000).unwrap_or(0) * 1_000_000);
    match context.lock() {
        Ok(context) => uuid::Uuid::new_v7(uuid::Timestamp::from_unix(&*context, secs, nanos)),
        // A poisoned lock only means another thread panicked mid-call; order is best effort.
        Err(poisoned) => uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
            &*poisoned.into_inner(),
            secs,
            nanos,
        )),
    }
}

impl Services {
    pub async fn generate_otp(
        &self,
        f: &Fields<'_>,
        ctx: &RequestContext,
    ) -> Reply<GenerateOutcome> {
        let started = std::time::Instant::now();
        let now_ms = self.clock.now_ms();
        let mut log = self.log_skeleton(ctx, now_ms);
        let raw = raw_common(f);
        log.brand = raw.brand.map(str::to_ascii_uppercase).unwrap_or_default();
        log.identifier_type = raw
            .identifier_type
            .unwrap_or_default()
            .chars()
            .take(16)
            .collect();
        log.identifier = raw
            .identifier_value
            .unwrap_or_default()
            .chars()
            .take(64)
            .collect();
        log.device_id = raw.device.map(|d| d.chars().take(128).collect());
        log.session_id = raw.session.map(|s| s.chars().take(64).collect());
        let mut http200 = false;
        let result = self
            .generate_checked(f, ctx, now_ms, &mut log, &mut http200)
            .await;
        if let Err(refusal) = &result {
            self.record_refusal(&mut log, refusal).await;
        }
        self.metrics
            .latency
            .get_or_create(&crate::metrics::EndpointLabels {
                endpoint: "otp/generate",
            })
            .observe(started.elapsed().as_secs_f64());
        Reply {
            result,
            errors_as_http200: http200,
        }
    }

    /// Counts a generate request whose body could not even be read as a request object.
    pub fn record_malformed_generate(&self, refusal: &Refusal) {
        self.count_unattributed(refusal);
    }

    /// A refusal that names no brand otpd knows leaves no issuance-log record — an anonymous
    /// client could otherwise fill the disk — and is counted in the metrics instead.
    fn count_unattributed(&self, refusal: &Refusal) {
        self.metrics
            .unattributed_refusals
            .get_or_create(&crate::metrics::CodeLabels {
                code: refusal.code.code(),
            })
            .inc();
    }

    fn log_skeleton(&self, ctx: &RequestContext, now_ms: i64) -> IssuanceRecord {
        IssuanceRecord {
            id: new_log_id(&self.log_ids, now_ms),
            time_ms: now_ms,
            brand: String::new(),
            path: ctx.path.to_owned(),
            identifier_type: String::new(),
            identifier: String::new(),
            destination: None,
            device_id: None,
            session_id: None,
            client_addr: ctx.client.to_string(),
            outcome: 0,
            channel: None,
            delivery: DeliveryStatus::None,
            test: false,
            attempts: Vec::new(),
            validated: false,
        }
    }

    async fn record_refusal(&self, log: &mut IssuanceRecord, refusal: &Refusal) {
        let known = BrandName::parse(&log.brand)
            .ok()
            .is_some_and(|b| self.store.loaded_brand(&b).is_some());
        if !known {
            return self.count_unattributed(refusal);
        }
        log.outcome = refusal.code.code();
        log.delivery = DeliveryStatus::None;
        if matches!(
            refusal.code,
            ApiCode::DailyLimit | ApiCode::ResendTooSoon | ApiCode::ClientRateLimited
        ) {
            self.metrics
                .limit_hits
                .get_or_create(&crate::metrics::LimitLabels {
                    brand: log.brand.clone(),
                    code: refusal.code.code(),
                })
                .inc();
        }
        if let Err(e) = self.store.record_refusal(log).await {
            tracing::error!(error = %e, "writing an issuance-log record failed");
        }
    }

    async fn generate_checked(
        &self,
        f: &Fields<'_>,
        ctx: &RequestContext,
        now_ms: i64,
        log: &mut IssuanceRecord,
        http200: &mut bool,
    ) -> Result<GenerateOutcome, Refusal> {
        // 1. The request: fields, identifierType, brand.
        let c = self.parse_common(f, ctx, &["sessionId"])?;
        *http200 = c.brand.brand.settings.errors_as_http200;
        log.brand = c.brand.brand.name.to_string();
        log.identifier = c.identifier.value().to_owned();
        log.device_id = c.device.clone();
        // 2. The session.
        let session = self
            .check_session(f.req_str("sessionId")?, &c, ctx, now_ms)
            .await?;
        log.session_id = Some(session.id.to_string());
        if session.consumed {
            return Err(Refusal::new(ApiCode::InvalidSession));
        }
        let settings = &c.brand.brand.settings;
        if session.failed_attempts >= settings.max_validate_attempts {
            return Err(Refusal::new(ApiCode::MaxAttempts));
        }
        // 3. The payload signature.
        self.check_signature(f, &c, ctx, SignedEndpoint::OtpGenerate, now_ms)
            .await?;
        // Where the code goes (1540, 1601–1603), before anything is charged.
        let test_code = settings.test_code_for(&c.identifier).map(OtpCode::fixed);
        let route = match test_code {
            Some(_) => None,
            None => Some(self.route(f, &c, &session, ctx)?),
        };
        // 4. Short-window limits, then (in the transaction) cooldown and daily limit.
        self.check_client_rate(ctx.client)?;
        // A test identifier charges no limit and sends nothing; when it has a destination,
        // its records still join that customer's history.
        let destination = match &route {
            Some(r) => Some(r.destination.clone()),
            None => c
                .identifier
                .as_destination()
                .or_else(|| session.mobile.clone())
                .or_else(|| session.email.clone()),
        };
        log.destination = destination.as_ref().map(Destination::key);
        log.channel = route.as_ref().map(|r| r.channel);

        let is_test = test_code.is_some();
        let code = test_code.unwrap_or_else(|| OtpCode::generate(settings.otp_length));
        let (key_id, hash) =
            self.keys
                .hash_code(&c.brand.brand.name, &session.id, &c.identifier, &code);
        let expires_ms =
            (now_ms + i64::from(settings.otp_ttl_seconds) * 1000).min(session.expires_ms);
        let issued = IssuedCode {
            key_id,
            hash,
            issued_ms: now_ms,
            expires_ms,
            log_id: log.id,
        };
        let job = route
            .map(|r| {
                let id = uuid::Uuid::new_v4();
                Ok::<_, Refusal>(OutboxJob {
                    id,
                    log_id: log.id,
                    brand: c.brand.brand.name.clone(),
                    channel: r.channel,
                    destination: r.destination,
                    sealed_code: self.keys.seal(&id, &code).map_err(|e| {
                        super::internal(ApiCode::UnableToGenerate, "sealing a code", &e)
                    })?,
                    locale: f.opt_str("locale").ok().flatten().map(str::to_owned),
                    code_expires_ms: expires_ms,
                    attempts: 0,
                    fallbacks: r.fallbacks,
                    due_ms: now_ms,
                })
            })
            .transpose()?;
        drop(code);
        log.outcome = 200;
        log.test = is_test;
        log.delivery = if is_test {
            DeliveryStatus::Test
        } else {
            DeliveryStatus::Queued
        };

        let now = self.clock.now();
        let decide = |current: Option<&Session>,
                      usage: Option<&limits::Usage>,
                      override_limit: Option<u32>| {
            let current = current
                .filter(|s| s.is_live(now_ms) && s.flow == ctx.flow)
                .ok_or(Refusal::new(ApiCode::InvalidSession))?;
            checks::check_binding(current, &c)?;
            if current.failed_attempts >= settings.max_validate_attempts {
                return Err(Refusal::new(ApiCode::MaxAttempts));
            }
            let usage = if is_test {
                None
            } else {
                let policy = LimitPolicy {
                    limit: override_limit.unwrap_or(settings.daily_otp_limit),
                    rolling_window_minutes: settings.limit_window_minutes,
                    time_zone: &c.brand.tz,
                    cooldown_secs: settings.resend_cooldown_seconds,
                };
                Some(limits::charge(usage, now, &policy)?)
            };
            let mut session = current.clone();
            session.code = Some(issued.clone());
            Ok(IssueWrite { session, usage })
        };
        let input = IssueInput {
            session: &session,
            brand: &c.brand.brand.name,
            destination: destination.as_ref(),
            job: job.as_ref(),
            log,
        };
        // Counted as soon as it is committed: a client that goes away while the store makes
        // it durable drops this future, but its code is issued and will be delivered.
        let counted = || {
            if let Some(job) = &job {
                self.metrics
                    .otps_issued
                    .get_or_create(&crate::metrics::IssueLabels {
                        brand: job.brand.to_string(),
                        channel: job.channel.as_str(),
                    })
                    .inc();
            }
        };
        self.store
            .issue(&input, decide, counted)
            .await
            .map_err(|e| super::internal(ApiCode::UnableToGenerate, "issuing a code", &e))??;
        // Delivery starts now, not at the outbox's next poll.
        if job.is_some() {
            self.outbox_wake.notify_one();
        }
        tracing::debug!(
            brand = %c.brand.brand.name,
            to = %destination.as_ref().map_or_else(|| "-".to_owned(), Destination::masked),
            channel = log.channel.map_or("TEST", ChannelKind::as_str),
            log_id = %log.id,
            "OTP issued"
        );
        Ok(GenerateOutcome)
    }

    /// The primary channel and destination, or the `?fallbackChannel=` one, plus the ordered
    /// fallbacks the outbox moves to when a channel gives up.
    fn route(
        &self,
        f: &Fields<'_>,
        c: &Common,
        session: &Session,
        ctx: &RequestContext,
    ) -> Result<Route, Refusal> {
        let brand = &c.brand.brand;
        let configured = |k: ChannelKind| brand.channels.contains_key(&k);
        let body_mobile = f
            .opt_str("mobile")?
            .map(Destination::mobile)
            .transpose()
            .map_err(|e| Refusal::invalid(format!("mobile: {e}")))?;
        let body_email = f
            .opt_str("email")?
            .map(Destination::email)
            .transpose()
            .map_err(|e| Refusal::invalid(format!("email: {e}")))?;
        let own = c.identifier.as_destination();
        let mobile = own
            .clone()
            .filter(|d| matches!(d, Destination::Mobile(_)))
            .or(body_mobile)
            .or_else(|| session.mobile.clone());
        let email = own
            .filter(|d| matches!(d, Destination::Email(_)))
            .or(body_email)
            .or_else(|| session.email.clone());
        let destination_for = |k: ChannelKind| {
            if k.is_mobile() {
                mobile.clone()
            } else {
                email.clone()
            }
        };

        let (channel, destination) = match &ctx.fallback_channel {
            Some(raw) => {
                let k = ChannelKind::parse(raw).ok_or_else(|| {
                    Refusal::invalid("fallbackChannel must be SMS, EMAIL, WHATSAPP or ZALO")
                })?;
                if !brand.settings.fallback_channels.contains(&k) || !configured(k) {
                    return Err(Refusal::new(ApiCode::ChannelNotConfigured));
                }
                let dest = destination_for(k).ok_or(Refusal::new(if k.is_mobile() {
                    ApiCode::FallbackNeedsMobile
                } else {
                    ApiCode::FallbackNeedsEmail
                }))?;
                (k, dest)
            }
            None => {
                let (k, dest) = match c.identifier.kind() {
                    IdentifierType::Mobile => (brand.settings.mobile_channel, mobile.clone()),
                    IdentifierType::Email => (ChannelKind::Email, email.clone()),
                    IdentifierType::Username => {
                        match (session.mobile.clone(), session.email.clone()) {
                            (Some(m), _) => (brand.settings.mobile_channel, Some(m)),
                            (None, Some(e)) => (ChannelKind::Email, Some(e)),
                            (None, None) => return Err(Refusal::new(ApiCode::DestinationRequired)),
                        }
                    }
                };
                let dest = dest.ok_or(Refusal::new(ApiCode::DestinationRequired))?;
                if !configured(k) {
                    return Err(Refusal::new(ApiCode::ChannelNotConfigured));
                }
                (k, dest)
            }
        };
        let fallbacks = brand
            .settings
            .fallback_channels
            .iter()
            .filter(|&&k| k != channel && configured(k))
            .filter_map(|&k| destination_for(k).map(|d| (k, d)))
            .collect();
        Ok(Route {
            channel,
            destination,
            fallbacks,
        })
    }
}
