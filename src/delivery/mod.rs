//! Delivery: one [`Sender`] per channel provider, and the outbox worker that feeds them.
//! Senders are built from a brand's [`ChannelConfig`]; tests swap the LOG sink for a capture.

pub mod log_sink;
pub mod outbox;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

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

/// A channel provider.
pub trait Sender: Send + Sync {
    fn send<'a>(
        &'a self,
        msg: &'a OutgoingMessage<'a>,
    ) -> BoxFuture<'a, Result<SendReceipt, SendError>>;
}

/// Builds senders from channel configurations.
#[derive(Clone)]
pub struct Senders {
    /// Replaces the LOG sink (tests capture messages with it).
    log_override: Option<Arc<dyn Sender>>,
    log: Arc<dyn Sender>,
}

impl Senders {
    pub fn new(log_override: Option<Arc<dyn Sender>>) -> Self {
        Self {
            log_override,
            log: Arc::new(log_sink::LogSink),
        }
    }

    pub fn for_config(&self, config: &ChannelConfig) -> Arc<dyn Sender> {
        match config {
            ChannelConfig::Log => self
                .log_override
                .clone()
                .unwrap_or_else(|| self.log.clone()),
        }
    }
}
