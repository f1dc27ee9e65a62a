//! Delivery channels: the kinds a brand can use and how each is configured. Provider secrets
//! live here but never leave through the admin API (see [`ChannelConfig::redacted`]).

use serde::{Deserialize, Serialize};

/// A kind of channel a code can travel over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChannelKind {
    Email,
    Sms,
    Whatsapp,
    Zalo,
}

impl ChannelKind {
    pub const ALL: [Self; 4] = [Self::Email, Self::Sms, Self::Whatsapp, Self::Zalo];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "EMAIL" => Some(Self::Email),
            "SMS" => Some(Self::Sms),
            "WHATSAPP" => Some(Self::Whatsapp),
            "ZALO" => Some(Self::Zalo),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Email => "EMAIL",
            Self::Sms => "SMS",
            Self::Whatsapp => "WHATSAPP",
            Self::Zalo => "ZALO",
        }
    }

    /// Channels that deliver to a phone number.
    pub const fn is_mobile(self) -> bool {
        !matches!(self, Self::Email)
    }
}

/// How one channel of a brand is delivered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChannelConfig {
    /// Writes the rendered message to the server log: for development and the demo brand.
    Log,
}

impl ChannelConfig {
    /// The provider's name, as shown to operators.
    pub fn provider(&self) -> &'static str {
        match self {
            Self::Log => "LOG",
        }
    }

    /// A copy fit to return from the admin API: every secret replaced by `"set"`.
    pub fn redacted(&self) -> Self {
        self.clone()
    }
}
