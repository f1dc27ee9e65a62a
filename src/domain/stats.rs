//! The dashboard's counters: what happened to a brand's codes, counted per hour. The store keeps
//! one number per (hour, brand, counter), updated with the event that it counts — an issued
//! code in the issuing transaction, a refusal with its log record, a delivery or validation
//! with the log record's change — so the dashboard never scans the issuance log.

use std::fmt;

use super::channel::ChannelKind;
use super::{DeliveryStatus, IssuanceRecord};

pub const HOUR_MS: i64 = 3_600_000;

/// The counter an issuance record's outcome adds to: an issued code by its channel, or a
/// refusal by its code.
pub fn outcome_counter(r: &IssuanceRecord) -> Counter {
    if r.outcome == 200 {
        Counter::Issued(if r.test { None } else { r.channel })
    } else {
        Counter::Refused(r.outcome)
    }
}

/// The counter a delivery that ended with `status` on `channel` adds to.
pub fn delivery_counter(status: DeliveryStatus, channel: ChannelKind) -> Option<Counter> {
    match status {
        DeliveryStatus::Sent | DeliveryStatus::Delivered => Some(Counter::Sent(channel)),
        DeliveryStatus::Failed => Some(Counter::Failed(channel)),
        DeliveryStatus::Expired => Some(Counter::Expired(channel)),
        DeliveryStatus::None | DeliveryStatus::Test | DeliveryStatus::Queued => None,
    }
}

/// One counted event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Counter {
    /// A code issued for delivery on this channel, or (None) for a test identifier.
    Issued(Option<ChannelKind>),
    /// An otp/generate refused with this code (1534, 1701, 1702, 1505, …).
    Refused(u16),
    /// A delivery that ended on this channel.
    Sent(ChannelKind),
    Failed(ChannelKind),
    Expired(ChannelKind),
    /// A code of this brand validated.
    Validated,
}

impl Counter {
    /// The stable name the store keys the counter by, e.g. `issued.SMS`, `refused.1534`.
    pub fn name(self) -> String {
        match self {
            Self::Issued(Some(c)) => format!("issued.{}", c.as_str()),
            Self::Issued(None) => "issued.TEST".to_owned(),
            Self::Refused(code) => format!("refused.{code}"),
            Self::Sent(c) => format!("sent.{}", c.as_str()),
            Self::Failed(c) => format!("failed.{}", c.as_str()),
            Self::Expired(c) => format!("expired.{}", c.as_str()),
            Self::Validated => "validated".to_owned(),
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        if name == "validated" {
            return Some(Self::Validated);
        }
        let (kind, arg) = name.split_once('.')?;
        let channel = || ChannelKind::parse(arg);
        match kind {
            "issued" if arg == "TEST" => Some(Self::Issued(None)),
            "issued" => channel().map(|c| Self::Issued(Some(c))),
            "refused" => arg.parse().ok().map(Self::Refused),
            "sent" => channel().map(Self::Sent),
            "failed" => channel().map(Self::Failed),
            "expired" => channel().map(Self::Expired),
            _ => None,
        }
    }
}

impl fmt::Display for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The hour an instant falls in, as hours since the epoch.
pub fn hour_of(ms: i64) -> u32 {
    u32::try_from(ms.max(0) / HOUR_MS).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let all = [
            Counter::Issued(Some(ChannelKind::Sms)),
            Counter::Issued(None),
            Counter::Refused(1534),
            Counter::Sent(ChannelKind::Email),
            Counter::Failed(ChannelKind::Whatsapp),
            Counter::Expired(ChannelKind::Zalo),
            Counter::Validated,
        ];
        for c in all {
            assert_eq!(Counter::parse(&c.name()), Some(c), "{c}");
        }
        assert_eq!(Counter::parse("issued.FAX"), None);
        assert_eq!(Counter::parse("refused.x"), None);
    }

    #[test]
    fn hours_start_at_the_epoch() {
        assert_eq!(hour_of(0), 0);
        assert_eq!(hour_of(HOUR_MS - 1), 0);
        assert_eq!(hour_of(HOUR_MS), 1);
        assert_eq!(hour_of(-5), 0);
    }
}
