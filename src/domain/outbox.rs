//! A delivery job: committed with the code it carries (sealed), picked up after the commit.

use serde::{Deserialize, Serialize};

use super::brand::BrandName;
use super::channel::ChannelKind;
use super::identifier::Destination;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxJob {
    pub id: uuid::Uuid,
    pub log_id: uuid::Uuid,
    pub brand: BrandName,
    pub channel: ChannelKind,
    pub destination: Destination,
    /// The code, encrypted under the server's sealing key; deleted with the job.
    pub sealed_code: Vec<u8>,
    pub locale: Option<String>,
    pub code_expires_ms: i64,
    /// Tries on the current channel.
    pub attempts: u32,
    /// Channels still to try, in order, each with its destination, when this one gives up.
    pub fallbacks: Vec<(ChannelKind, Destination)>,
    pub due_ms: i64,
}
