//! Whether each brand's channels are delivering, from the outbox's attempts: a channel is
//! *failing* after [`FAILING_AFTER`] attempts in a row failed, and *recovered* at its next
//! success. Each change is announced once (the desktop app turns it into one notification, not
//! one per message) and the failing channels are listed for the dashboard and the tray.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::domain::{BrandName, ChannelKind};

/// Failed attempts in a row that make a channel "failing".
pub const FAILING_AFTER: u32 = 3;

/// A channel that stopped or started delivering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HealthChange {
    Failing {
        brand: String,
        channel: ChannelKind,
        error: String,
    },
    Recovered {
        brand: String,
        channel: ChannelKind,
    },
}

/// A channel whose deliveries are failing now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailingChannel {
    pub brand: String,
    pub channel: ChannelKind,
    pub since_ms: i64,
    pub failed_attempts: u32,
    /// The provider's last error (never holds a code or message text).
    pub last_error: String,
}

#[derive(Default)]
struct State {
    failures: u32,
    failing_since_ms: Option<i64>,
    last_error: String,
}

pub struct DeliveryHealth {
    channels: Mutex<HashMap<(BrandName, ChannelKind), State>>,
    changes: broadcast::Sender<HealthChange>,
}

impl Default for DeliveryHealth {
    fn default() -> Self {
        Self {
            channels: Mutex::default(),
            changes: broadcast::channel(64).0,
        }
    }
}

impl DeliveryHealth {
    /// Records one attempt's outcome; announces the change it makes, if any.
    pub fn record(
        &self,
        brand: &BrandName,
        channel: ChannelKind,
        outcome: Result<(), &str>,
        now_ms: i64,
    ) -> Option<HealthChange> {
        let change = {
            let mut channels = self.channels.lock().ok()?;
            let state = channels.entry((brand.clone(), channel)).or_default();
            match outcome {
                Ok(()) => {
                    let was_failing = state.failing_since_ms.take().is_some();
                    state.failures = 0;
                    was_failing.then(|| HealthChange::Recovered {
                        brand: brand.to_string(),
                        channel,
                    })
                }
                Err(error) => {
                    state.failures += 1;
                    state.last_error = error.chars().take(200).collect();
                    let starts =
                        state.failures >= FAILING_AFTER && state.failing_since_ms.is_none();
                    starts.then(|| {
                        state.failing_since_ms = Some(now_ms);
                        HealthChange::Failing {
                            brand: brand.to_string(),
                            channel,
                            error: state.last_error.clone(),
                        }
                    })
                }
            }
        };
        if let Some(c) = &change {
            // Nobody listening (headless) is fine.
            let _ = self.changes.send(c.clone());
        }
        change
    }

    /// Changes as they happen.
    pub fn subscribe(&self) -> broadcast::Receiver<HealthChange> {
        self.changes.subscribe()
    }

    /// The channels failing now, longest-failing first.
    pub fn failing(&self) -> Vec<FailingChannel> {
        let Ok(channels) = self.channels.lock() else {
            return Vec::new();
        };
        let mut out: Vec<FailingChannel> = channels
            .iter()
            .filter_map(|((brand, channel), s)| {
                s.failing_since_ms.map(|since_ms| FailingChannel {
                    brand: brand.to_string(),
                    channel: *channel,
                    since_ms,
                    failed_attempts: s.failures,
                    last_error: s.last_error.clone(),
                })
            })
            .collect();
        out.sort_by_key(|f| f.since_ms);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_is_announced_once_and_recovery_once() {
        let h = DeliveryHealth::default();
        let mut rx = h.subscribe();
        let acme = BrandName::parse("ACME").unwrap();
        assert_eq!(h.record(&acme, ChannelKind::Sms, Err("503"), 1), None);
        assert_eq!(h.record(&acme, ChannelKind::Sms, Err("503"), 2), None);
        let failing = h.record(&acme, ChannelKind::Sms, Err("timeout"), 3);
        assert!(
            matches!(failing, Some(HealthChange::Failing { ref error, .. }) if error == "timeout")
        );
        assert_eq!(h.record(&acme, ChannelKind::Sms, Err("503"), 4), None);
        assert_eq!(h.failing().len(), 1);
        assert_eq!(h.failing()[0].failed_attempts, 4);
        // Another channel is unaffected.
        assert_eq!(h.record(&acme, ChannelKind::Email, Ok(()), 5), None);
        let recovered = h.record(&acme, ChannelKind::Sms, Ok(()), 6);
        assert!(matches!(recovered, Some(HealthChange::Recovered { .. })));
        assert!(h.failing().is_empty());
        assert!(matches!(rx.try_recv(), Ok(HealthChange::Failing { .. })));
        assert!(matches!(rx.try_recv(), Ok(HealthChange::Recovered { .. })));
        assert!(rx.try_recv().is_err());
    }
}
