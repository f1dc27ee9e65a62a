//! The outbox worker. Jobs are committed with the code they carry (sealed) in the issuing
//! transaction; this worker claims due jobs from the store, so no job is sent twice at once. A
//! job stays in the store until its send ends: after a crash mid-send it is claimed again, so
//! delivery is at least once. A failed send is retried with exponential backoff and jitter
//! until it succeeds,
//! the code expires (EXPIRED: a dead code is never sent), or the attempts run out (the next
//! fallback channel, else FAILED). A finished job is deleted, and its sealed code with it.
//! Each step updates the job's issuance-log record. Jobs whose sends end meanwhile are ended
//! together, in one store call (one transaction on the embedded store).

use std::sync::Arc;
use std::time::Duration;

use rand::RngExt;
use tokio::sync::{Notify, Semaphore, mpsc, watch};

use super::health::DeliveryHealth;
use super::{OutgoingMessage, SendError, Senders};
use crate::clock::Clock;
use crate::domain::template::{self, Values};
use crate::domain::{DeliveryAttempt, DeliveryStatus, OutboxJob};
use crate::metrics::{DeliveryLabels, Metrics};
use crate::secrets::ServerKeys;
use crate::store::{Finished, Store};

/// Tries per channel before moving to the next fallback.
pub const MAX_ATTEMPTS_PER_CHANNEL: u32 = 4;
/// How long one send may take when its channel sets no timeout of its own (LOG).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Added to a channel's own timeout: the sender should give up first, with its own error.
const TIMEOUT_MARGIN: Duration = Duration::from_secs(2);
/// The longest a send may take (the longest channel timeout allowed, 60 s, plus the margin):
/// how long shutdown waits for sends in flight.
const MAX_SEND: Duration = Duration::from_secs(62);
const BACKOFF_BASE_MS: i64 = 1_000;
const BACKOFF_CAP_MS: i64 = 60_000;
/// How often the worker looks for due jobs when nothing wakes it.
const POLL: Duration = Duration::from_millis(100);
/// The most jobs ended in one store call.
const FINISH_BATCH: usize = 256;
/// How often the `otpd_outbox_jobs` gauge is measured.
const DEPTH_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Outbox {
    pub store: Store,
    pub keys: Arc<ServerKeys>,
    pub senders: Senders,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    pub wake: Arc<Notify>,
    pub health: Arc<DeliveryHealth>,
    pub workers: usize,
}

impl Outbox {
    /// Runs until `shutdown` turns true, then waits for the sends in flight.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(self.workers));
        let (ends, ending) = mpsc::channel(self.workers);
        let finisher = tokio::spawn(finish_jobs(self.store.clone(), self.clock.clone(), ending));
        let mut depth_measured: Option<std::time::Instant> = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            self.dispatch_due(&slots, &ends).await;
            // On PostgreSQL counting the queue is a query: once a second is enough for a
            // gauge, and the loop runs after every finished send.
            if depth_measured.is_none_or(|t| t.elapsed() >= DEPTH_EVERY) {
                match self.store.queued_jobs().await {
                    Ok(n) => {
                        let n = i64::try_from(n).unwrap_or(i64::MAX);
                        self.metrics.outbox_depth.set(n);
                    }
                    Err(e) => tracing::warn!(error = %e, "counting the outbox failed"),
                }
                depth_measured = Some(std::time::Instant::now());
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => {}
            }
        }
        // Let sends in flight finish (each is bounded by its timeout), and then their ends.
        let all = u32::try_from(self.workers).unwrap_or(u32::MAX);
        let drained = tokio::time::timeout(MAX_SEND, slots.acquire_many(all)).await;
        drop(ends);
        // Every send handed its job's end in before giving its slot back: the finisher ends
        // them and stops as soon as their tasks are gone. (A send stuck past its timeout holds
        // a sender: not waited.)
        if drained.is_ok() {
            let _ = finisher.await;
        }
    }

    /// Claims due jobs for the free workers (the store says how many ahead), and starts a send
    /// for each.
    async fn dispatch_due(&self, slots: &Arc<Semaphore>, ends: &mpsc::Sender<Finished>) {
        let now = self.clock.now_ms();
        let max = self
            .store
            .claim_size(slots.available_permits(), self.workers);
        if max == 0 {
            return;
        }
        let due = match self.store.claim_jobs(now, max).await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::error!(error = %e, "claiming outbox jobs failed");
                return;
            }
        };
        for job in due {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let this = self.clone();
            let ends = ends.clone();
            // Boxed, as a request's task is (`http::public`): a send's state machine is large.
            tokio::spawn(Box::pin(async move {
                this.deliver(job, &ends).await;
                drop(permit);
                // A worker is free: claim the next due jobs now, not at the next poll.
                this.wake.notify_one();
            }));
        }
    }

    /// One try at one job, and what follows from it.
    async fn deliver(&self, claimed: OutboxJob, ends: &mpsc::Sender<Finished>) {
        let mut job = claimed.clone();
        let now = self.clock.now_ms();
        if now >= job.code_expires_ms {
            return finish(ends, claimed, DeliveryStatus::Expired, None).await;
        }
        let outcome = self.send_once(&job).await;
        let attempt = DeliveryAttempt {
            time_ms: self.clock.now_ms(),
            channel: job.channel,
            ok: outcome.is_ok(),
            provider_status: outcome.as_ref().ok().cloned(),
            error: outcome
                .as_ref()
                .err()
                .map(|e| e.to_string().chars().take(200).collect()),
        };
        let label = match &outcome {
            Ok(_) => "sent",
            Err(SendError::Temporary(_)) => "temporary_failure",
            Err(SendError::Permanent(_)) => "permanent_failure",
        };
        self.metrics
            .deliveries
            .get_or_create(&DeliveryLabels {
                channel: job.channel.as_str(),
                outcome: label,
            })
            .inc();
        let error = outcome.as_ref().err().map(ToString::to_string);
        self.health.record(
            &job.brand,
            job.channel,
            error.as_deref().map_or(Ok(()), Err),
            attempt.time_ms,
        );
        job.attempts += 1;
        if let Err(e) = &outcome {
            tracing::warn!(job = %job.id, channel = job.channel.as_str(), to = %job.destination.masked(), attempt = job.attempts, error = %e, "delivery attempt failed");
        }
        let give_up_on_channel = match &outcome {
            Ok(_) => {
                return finish(ends, claimed, DeliveryStatus::Sent, Some(attempt)).await;
            }
            Err(SendError::Permanent(_)) => true,
            Err(SendError::Temporary(_)) => job.attempts >= MAX_ATTEMPTS_PER_CHANNEL,
        };
        if give_up_on_channel {
            if job.fallbacks.is_empty() {
                return finish(ends, claimed, DeliveryStatus::Failed, Some(attempt)).await;
            }
            let (channel, destination) = job.fallbacks.remove(0);
            tracing::info!(job = %job.id, from = job.channel.as_str(), to = channel.as_str(), "moving delivery to the fallback channel");
            job.channel = channel;
            job.destination = destination;
            job.attempts = 0;
            job.due_ms = self.clock.now_ms();
        } else {
            job.due_ms = self.clock.now_ms() + backoff_ms(job.attempts);
            if job.due_ms >= job.code_expires_ms {
                return finish(ends, claimed, DeliveryStatus::Expired, Some(attempt)).await;
            }
        }
        match self.store.retry_job(&claimed, &job).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(job = %job.id, "an outbox job's claim was lost before its retry")
            }
            Err(e) => tracing::error!(error = %e, "rescheduling an outbox job failed"),
        }
        self.record(&job, DeliveryStatus::Queued, Some(attempt))
            .await;
        self.wake.notify_one();
    }

    /// Renders and sends; the code exists in the clear only inside this call.
    async fn send_once(&self, job: &OutboxJob) -> Result<String, SendError> {
        let brand = self
            .store
            .loaded_brand(&job.brand)
            .ok_or_else(|| SendError::Permanent("the brand no longer exists".into()))?;
        let config = brand.brand.channels.get(&job.channel).ok_or_else(|| {
            SendError::Permanent(format!("{} is not configured", job.channel.as_str()))
        })?;
        let code = self.keys.unseal(&job.id, &job.sealed_code).ok_or_else(|| {
            SendError::Permanent("the sealed code could not be opened (server key missing?)".into())
        })?;
        let validity_minutes =
            u32::try_from((job.code_expires_ms - self.clock.now_ms()).max(0) / 60_000 + 1)
                .unwrap_or(1)
                .min(brand.brand.settings.otp_ttl_seconds.div_ceil(60));
        let locale = job.locale.as_deref();
        let tpl = template::template_for(&brand.brand, job.channel, locale);
        let values = Values {
            otp: code.expose(),
            brand: brand.brand.name.as_str(),
            validity_minutes,
        };
        let rendered = template::render(&tpl, &values);
        let msg = OutgoingMessage {
            brand: &brand.brand.name,
            channel: job.channel,
            to: &job.destination,
            otp: code.expose(),
            validity_minutes,
            locale,
            rendered: &rendered,
        };
        let sender = self.senders.for_config(config);
        let limit = config
            .timeout()
            .map_or(SEND_TIMEOUT, |t| t + TIMEOUT_MARGIN);
        match tokio::time::timeout(limit, sender.send(&msg)).await {
            Ok(Ok(receipt)) => Ok(receipt.provider_status),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(SendError::Temporary(format!(
                "no answer within {} s",
                limit.as_secs()
            ))),
        }
    }

    async fn record(
        &self,
        job: &OutboxJob,
        status: DeliveryStatus,
        attempt: Option<DeliveryAttempt>,
    ) {
        let result = self
            .store
            .record_delivery(
                job.log_id,
                status,
                job.channel,
                attempt.as_ref(),
                self.clock.now_ms(),
            )
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "updating an issuance-log record failed");
        }
    }
}

/// Hands a claimed job whose delivery ended to [`finish_jobs`]. The worker slot is free once
/// it is handed in: the job stays claimed until it is ended, and a finisher that falls behind
/// holds the workers here (the channel is as long as there are workers).
async fn finish(
    ends: &mpsc::Sender<Finished>,
    job: OutboxJob,
    status: DeliveryStatus,
    attempt: Option<DeliveryAttempt>,
) {
    let finished = Finished {
        job,
        status,
        attempt,
    };
    // Closed only once every worker is gone.
    let _ = ends.send(finished).await;
}

/// Ends the jobs whose deliveries ended, as many as are waiting in one store call (one
/// transaction on the embedded store): under load the workers end jobs faster than one
/// transaction each would let them. Runs until every sender is gone.
async fn finish_jobs(store: Store, clock: Clock, mut ending: mpsc::Receiver<Finished>) {
    let mut done = Vec::new();
    while ending.recv_many(&mut done, FINISH_BATCH).await > 0 {
        if let Err(e) = store.finish_deliveries(&done, clock.now_ms()).await {
            tracing::error!(error = %e, jobs = done.len(), "finishing outbox jobs failed");
        }
        for f in &done {
            let job = &f.job;
            // A sent message is in the issuance log; one that never arrives needs an operator.
            if f.status == DeliveryStatus::Sent {
                tracing::debug!(job = %job.id, log_id = %job.log_id, channel = job.channel.as_str(), to = %job.destination.masked(), status = ?f.status, "delivery finished");
            } else {
                tracing::warn!(job = %job.id, log_id = %job.log_id, channel = job.channel.as_str(), to = %job.destination.masked(), status = ?f.status, "delivery gave up");
            }
        }
        done.clear();
    }
}

/// Exponential backoff plus up to 50 % random jitter: attempt 1 → 1–1.5 s, 2 → 2–3 s, …
/// capped at 60 s (+ jitter), so many failing jobs do not retry in lockstep.
fn backoff_ms(attempts: u32) -> i64 {
    let exp = BACKOFF_BASE_MS
        .saturating_mul(1 << attempts.saturating_sub(1).min(16))
        .min(BACKOFF_CAP_MS);
    exp + rand::rng().random_range(0..=exp / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for _ in 0..100 {
            let first = backoff_ms(1);
            assert!((1_000..=1_500).contains(&first), "{first}");
            let late = backoff_ms(20);
            assert!((60_000..=90_000).contains(&late), "{late}");
        }
    }
}
