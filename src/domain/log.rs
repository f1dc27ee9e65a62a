//! The issuance log: one record per generate request, accepted or refused, updated as its
//! delivery progresses. Never holds a code.

use serde::{Deserialize, Serialize};

use super::channel::ChannelKind;

/// Where a record's delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum DeliveryStatus {
    /// Refused before issuing: nothing to deliver.
    None,
    /// A test identifier: nothing is sent.
    Test,
    Queued,
    Sent,
    Delivered,
    Failed,
    Expired,
}

impl DeliveryStatus {
    pub const ALL: [Self; 7] = [
        Self::None,
        Self::Test,
        Self::Queued,
        Self::Sent,
        Self::Delivered,
        Self::Failed,
        Self::Expired,
    ];

    pub const fn is_final(self) -> bool {
        !matches!(self, Self::Queued)
    }

    /// The wire name (as serde writes it), also what the store's log index is keyed by.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Test => "TEST",
            Self::Queued => "QUEUED",
            Self::Sent => "SENT",
            Self::Delivered => "DELIVERED",
            Self::Failed => "FAILED",
            Self::Expired => "EXPIRED",
        }
    }
}

/// One try at sending, for the record's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttempt {
    pub time_ms: i64,
    pub channel: ChannelKind,
    pub ok: bool,
    /// The provider's answer (status code or id), short.
    pub provider_status: Option<String>,
    pub error: Option<String>,
}

/// One generate request and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuanceRecord {
    pub id: uuid::Uuid,
    pub time_ms: i64,
    /// Upper-cased brand as sent (it may be unknown).
    pub brand: String,
    pub path: String,
    pub identifier_type: String,
    /// The normalised identifier, or what was sent (cut to 64 chars) when it did not parse.
    pub identifier: String,
    /// The destination key the limit counts against, when known.
    pub destination: Option<String>,
    pub device_id: Option<String>,
    pub session_id: Option<String>,
    pub client_addr: String,
    /// The answer's application code (200 on success).
    pub outcome: u16,
    pub channel: Option<ChannelKind>,
    pub delivery: DeliveryStatus,
    pub test: bool,
    pub attempts: Vec<DeliveryAttempt>,
    /// Set when the code was validated (the issued → validated funnel).
    pub validated: bool,
}

#[cfg(test)]
mod tests {
    use super::DeliveryStatus;

    /// The store's log index keys on these names: they must not drift from the wire's.
    #[test]
    fn delivery_status_names_are_the_wire_names() {
        for status in DeliveryStatus::ALL {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
    }
}
