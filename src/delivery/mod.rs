//! Delivery: one [`Sender`] per channel provider, and the outbox worker that feeds them.
//! Senders are built from a brand's [`ChannelConfig`] and cached by config, so SMTP pools and
//! HTTP clients are reused; tests swap the LOG sink for a capture. A sender's error text goes
//! into the issuance log: it never holds the code or the message text.

pub mod health;
mod http_client;
pub mod http_sms;
pub mod log_sink;
pub mod outbox;
pub mod smtp;
#[cfg(test)]
pub(crate) mod test_support;
pub mod twilio;
pub mod whatsapp;
pub mod zalo;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use crate::domain::template::Rendered;
use crate::domain::{BrandName, ChannelConfig, ChannelKind, Destination};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One message to one destination. `otp` is there for providers that take the code as a
/// template parameter (WhatsApp, Zalo); text channels send `rendered`.
pub struct OutgoingMessage<'a> {
    pub brand: &'a BrandName,
    pub channel: ChannelKind,
    pub to: &'a Destination,
    pub otp: &'a str,
    pub validity_minutes: u32,
    pub locale: Option<&'a str>,
    pub rendered: &'a Rendered,
}

/// What a provider said when it took a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendReceipt {
    /// Short provider status: an HTTP status, an SMTP reply code, a message id.
    pub provider_status: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying: timeouts, connection errors, 5xx, 429.
    #[error("temporary: {0}")]
    Temporary(String),
    /// Retrying will not help: bad credentials, rejected destination, 4xx.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl SendError {
    pub fn is_temporary(&self) -> bool {
        matches!(self, Self::Temporary(_))
    }
}

/// A channel provider.
pub trait Sender: Send + Sync {
    fn send<'a>(
        &'a self,
        msg: &'a OutgoingMessage<'a>,
    ) -> BoxFuture<'a, Result<SendReceipt, SendError>>;
}

/// More distinct configs than this in the cache means configs are being edited a lot; the
/// cache starts over rather than grow (dropping a sender closes its idle connections).
const CACHE_LIMIT: usize = 64;

/// Builds senders from channel configurations, once per distinct config.
#[derive(Clone)]
pub struct Senders {
    /// Replaces the LOG sink (tests capture messages with it).
    log_override: Option<Arc<dyn Sender>>,
    log: Arc<dyn Sender>,
    /// serialised config → its sender. Shared by clones.
    cache: Arc<Mutex<HashMap<String, Arc<dyn Sender>>>>,
    /// SMTP connections kept per channel: as many as sends run at once, so that every worker
    /// reuses a connection instead of opening one per message.
    smtp_pool: u32,
}

impl Senders {
    pub fn new(log_override: Option<Arc<dyn Sender>>) -> Self {
        Self {
            log_override,
            log: Arc::new(log_sink::LogSink),
            cache: Arc::default(),
            smtp_pool: smtp::DEFAULT_POOL,
        }
    }

    /// Sizes each SMTP channel's connection pool to `sends_at_once` (`deliveryWorkers`).
    #[must_use]
    pub fn with_smtp_pool(mut self, sends_at_once: usize) -> Self {
        self.smtp_pool = u32::try_from(sends_at_once.max(1)).unwrap_or(u32::MAX);
        self
    }

    /// The sender for `config`: built on first use, then reused while the config is the same.
    /// Never does I/O (connections open on the first send) and never fails: a config that
    /// cannot work gives a sender whose every send fails permanently, saying why.
    pub fn for_config(&self, config: &ChannelConfig) -> Arc<dyn Sender> {
        if let ChannelConfig::Log = config {
            return self
                .log_override
                .clone()
                .unwrap_or_else(|| self.log.clone());
        }
        let Ok(key) = serde_json::to_string(config) else {
            return build(config, self.smtp_pool);
        };
        // A panic while holding the lock cannot leave the map half-updated: keep using it.
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(sender) = cache.get(&key) {
            return sender.clone();
        }
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        let sender = build(config, self.smtp_pool);
        cache.insert(key, sender.clone());
        sender
    }
}

fn build(config: &ChannelConfig, smtp_pool: u32) -> Arc<dyn Sender> {
    if let Err(reason) = config.validate() {
        return Arc::new(Misconfigured(format!(
            "{} channel is misconfigured: {reason}",
            config.provider()
        )));
    }
    match config {
        ChannelConfig::Log => Arc::new(log_sink::LogSink),
        ChannelConfig::Smtp(c) => Arc::new(smtp::SmtpSender::new(c.clone()).pool_size(smtp_pool)),
        ChannelConfig::HttpSms(c) => Arc::new(http_sms::HttpSmsSender::new(c.clone())),
        ChannelConfig::Twilio(c) => Arc::new(twilio::TwilioSender::new(c.clone())),
        ChannelConfig::Whatsapp(c) => Arc::new(whatsapp::WhatsappSender::new(c.clone())),
        ChannelConfig::Zalo(c) => Arc::new(zalo::ZaloSender::new(c.clone())),
    }
}

/// The sender of a config that cannot work: fails every send permanently with the reason.
pub struct Misconfigured(pub String);

impl Sender for Misconfigured {
    fn send<'a>(
        &'a self,
        _msg: &'a OutgoingMessage<'a>,
    ) -> BoxFuture<'a, Result<SendReceipt, SendError>> {
        Box::pin(async move { Err(SendError::Permanent(self.0.clone())) })
    }
}

/// The phone number of a mobile destination, as digits with country code; e-mail addresses
/// cannot go to a phone channel.
fn phone_digits(msg: &OutgoingMessage<'_>) -> Result<String, SendError> {
    match msg.to {
        Destination::Mobile(digits) => Ok(digits.clone()),
        Destination::Email(_) => Err(SendError::Permanent(format!(
            "{} needs a phone number, not an e-mail address",
            msg.channel.as_str()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::Fixture;
    use super::*;
    use crate::domain::channel::{Secret, ZaloConfig};

    fn zalo(token: &str) -> ChannelConfig {
        ChannelConfig::Zalo(ZaloConfig {
            access_token: Secret::new(token),
            template_id: "1".into(),
            otp_key: "otp".into(),
            base_url: "http://127.0.0.1:9".into(),
            timeout_seconds: 1,
        })
    }

    #[test]
    fn senders_are_cached_per_config_and_building_needs_no_runtime() {
        let senders = Senders::new(None);
        let a = senders.for_config(&zalo("a"));
        let again = senders.clone().for_config(&zalo("a"));
        let other = senders.for_config(&zalo("b"));
        assert!(Arc::ptr_eq(&a, &again));
        assert!(!Arc::ptr_eq(&a, &other));
    }

    #[tokio::test]
    async fn an_invalid_config_fails_permanently_with_the_reason() {
        let f = Fixture::mobile("84901234567");
        let sender = Senders::new(None).for_config(&zalo(""));
        let err = sender.send(&f.msg()).await.unwrap_err();
        assert_eq!(
            err,
            SendError::Permanent("ZALO channel is misconfigured: accessToken: is required".into())
        );
    }

    #[tokio::test]
    async fn the_log_override_replaces_the_log_sink() {
        struct Capture;
        impl Sender for Capture {
            fn send<'a>(
                &'a self,
                _: &'a OutgoingMessage<'a>,
            ) -> BoxFuture<'a, Result<SendReceipt, SendError>> {
                Box::pin(async {
                    Ok(SendReceipt {
                        provider_status: "captured".into(),
                    })
                })
            }
        }
        let f = Fixture::mobile("84901234567");
        let senders = Senders::new(Some(Arc::new(Capture)));
        let receipt = senders
            .for_config(&ChannelConfig::Log)
            .send(&f.msg())
            .await
            .unwrap();
        assert_eq!(receipt.provider_status, "captured");
    }
}
