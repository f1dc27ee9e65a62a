//! Delivery channels: the kinds a brand can use and how each is configured. Provider secrets
//! live here but never leave through the admin API: [`ChannelConfig::redacted`] replaces them
//! with `"set"`, `Debug` never prints them, and a `"set"` sent back keeps the stored value.
//! Every config that reaches the store has passed [`ChannelConfig::validate`].

mod http_template;
mod providers;
mod settings;
mod validate;

pub(crate) use http_template::{Encoding, http_fill, placeholders};
pub use providers::*;
pub use settings::keys_of as provider_keys;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A kind of channel a code can travel over.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
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

    /// The providers (CLI names, lower case) this kind of channel can use.
    pub const fn providers(self) -> &'static [&'static str] {
        match self {
            Self::Email => &["smtp", "log"],
            Self::Sms => &["http", "twilio", "log"],
            Self::Whatsapp => &["whatsapp", "log"],
            Self::Zalo => &["zalo", "log"],
        }
    }
}

/// A write-only value (password, API token). Stored in full; `Debug` and
/// [`ChannelConfig::redacted`] show only whether it is set. Empty means unset.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// What the admin API shows for a secret that is set; sent back, it keeps the stored value.
    pub const SET: &'static str = "set";

    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must send it to a provider.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_set(&self) -> bool {
        !self.0.is_empty()
    }

    fn redacted(&self) -> Self {
        Self(if self.is_set() {
            Self::SET.to_owned()
        } else {
            String::new()
        })
    }

    /// `"set"` means "keep what is stored" (the console sends back what it was shown).
    fn or_keep(self, existing: Option<&Secret>) -> Self {
        if self.0 == Self::SET {
            existing.cloned().unwrap_or_default()
        } else {
            self
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_set() { "\"set\"" } else { "\"\"" })
    }
}

/// How one channel of a brand is delivered. Serialised with a `provider` tag (`"SMTP"`, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "provider", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChannelConfig {
    /// Writes the rendered message to the server log: for development and the demo brand.
    Log,
    /// E-mail through an SMTP server.
    Smtp(SmtpConfig),
    /// SMS through any HTTP gateway, described by a request template.
    #[serde(rename = "HTTP")]
    HttpSms(HttpSmsConfig),
    /// SMS through Twilio's Messages API.
    Twilio(TwilioConfig),
    /// WhatsApp authentication template through Meta's Cloud API.
    Whatsapp(WhatsappConfig),
    /// Zalo Notification Service (ZNS) template message.
    Zalo(ZaloConfig),
}

impl ChannelConfig {
    /// The provider's name, as shown to operators (the serialised tag).
    pub fn provider(&self) -> &'static str {
        match self {
            Self::Log => "LOG",
            Self::Smtp(_) => "SMTP",
            Self::HttpSms(_) => "HTTP",
            Self::Twilio(_) => "TWILIO",
            Self::Whatsapp(_) => "WHATSAPP",
            Self::Zalo(_) => "ZALO",
        }
    }

    /// How long one send may take (the provider's `timeoutSeconds`); `None` for LOG. Senders
    /// enforce it themselves; a caller's outer timeout should leave them a little more.
    pub fn timeout(&self) -> Option<std::time::Duration> {
        let secs = match self {
            Self::Log => return None,
            Self::Smtp(c) => c.timeout_seconds,
            Self::HttpSms(c) => c.timeout_seconds,
            Self::Twilio(c) => c.timeout_seconds,
            Self::Whatsapp(c) => c.timeout_seconds,
            Self::Zalo(c) => c.timeout_seconds,
        };
        Some(std::time::Duration::from_secs(secs.into()))
    }

    /// Whether this provider can serve `kind` (e.g. SMTP only serves EMAIL; LOG serves all).
    pub fn serves(&self, kind: ChannelKind) -> bool {
        kind.providers()
            .contains(&self.provider().to_ascii_lowercase().as_str())
    }

    /// A copy fit to return from the admin API: every secret replaced by `"set"` (or `""`
    /// when unset).
    pub fn redacted(&self) -> Self {
        let mut c = self.clone();
        match &mut c {
            Self::Log => {}
            Self::Smtp(s) => s.password = s.password.redacted(),
            Self::HttpSms(h) => h.secret = h.secret.redacted(),
            Self::Twilio(t) => t.auth_token = t.auth_token.redacted(),
            Self::Whatsapp(w) => w.access_token = w.access_token.redacted(),
            Self::Zalo(z) => z.access_token = z.access_token.redacted(),
        }
        c
    }

    /// For a config that came back from the console: each secret that reads `"set"` takes the
    /// stored value of `existing` (same provider), or becomes unset when there is none.
    pub fn keep_secrets_from(mut self, existing: Option<&ChannelConfig>) -> Self {
        match (&mut self, existing) {
            (Self::Smtp(s), Some(Self::Smtp(e))) => {
                s.password = std::mem::take(&mut s.password).or_keep(Some(&e.password))
            }
            (Self::HttpSms(h), Some(Self::HttpSms(e))) => {
                h.secret = std::mem::take(&mut h.secret).or_keep(Some(&e.secret))
            }
            (Self::Twilio(t), Some(Self::Twilio(e))) => {
                t.auth_token = std::mem::take(&mut t.auth_token).or_keep(Some(&e.auth_token));
            }
            (Self::Whatsapp(w), Some(Self::Whatsapp(e))) => {
                w.access_token = std::mem::take(&mut w.access_token).or_keep(Some(&e.access_token));
            }
            (Self::Zalo(z), Some(Self::Zalo(e))) => {
                z.access_token = std::mem::take(&mut z.access_token).or_keep(Some(&e.access_token));
            }
            (Self::Log, _) => {}
            (Self::Smtp(s), _) => s.password = std::mem::take(&mut s.password).or_keep(None),
            (Self::HttpSms(h), _) => h.secret = std::mem::take(&mut h.secret).or_keep(None),
            (Self::Twilio(t), _) => t.auth_token = std::mem::take(&mut t.auth_token).or_keep(None),
            (Self::Whatsapp(w), _) => {
                w.access_token = std::mem::take(&mut w.access_token).or_keep(None)
            }
            (Self::Zalo(z), _) => {
                z.access_token = std::mem::take(&mut z.access_token).or_keep(None)
            }
        }
        self
    }

    /// Builds a config from CLI-style `key=value` settings (`otpd channel set BRAND CHANNEL
    /// provider=smtp host=… port=587 …`; every key in `docs/channels.md`). With the same
    /// provider as `existing`, unnamed keys keep their stored values (secrets included), so a
    /// single key can be changed; an empty value unsets an optional key. The error names the
    /// offending key.
    pub fn from_settings(
        kind: ChannelKind,
        settings: &BTreeMap<String, String>,
        existing: Option<&ChannelConfig>,
    ) -> Result<ChannelConfig, String> {
        settings::from_settings(kind, settings, existing)
    }

    /// Checks every field; the error starts with the setting's name (`port: …`).
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Self::Log => Ok(()),
            Self::Smtp(s) => s.validate(),
            Self::HttpSms(h) => h.validate(),
            Self::Twilio(t) => t.validate(),
            Self::Whatsapp(w) => w.validate(),
            Self::Zalo(z) => z.validate(),
        }
    }

    /// Validates and checks that the provider suits `kind` (what a save should call).
    pub fn validate_for(&self, kind: ChannelKind) -> Result<(), String> {
        if !self.serves(kind) {
            return Err(format!(
                "provider: {} cannot deliver {}; use one of {}",
                self.provider().to_ascii_lowercase(),
                kind.as_str(),
                kind.providers().join(", ")
            ));
        }
        self.validate()
    }
}

fn err<T>(key: &str, msg: impl fmt::Display) -> Result<T, String> {
    Err(format!("{key}: {msg}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp() -> ChannelConfig {
        ChannelConfig::Smtp(SmtpConfig {
            host: "smtp.example.com".into(),
            port: 587,
            tls: SmtpTls::Starttls,
            username: Some("apikey".into()),
            password: Secret::new("hunter2"),
            from: "otp@example.com".into(),
            from_name: Some("Example".into()),
            timeout_seconds: 10,
        })
    }

    #[test]
    fn redacted_hides_every_secret_and_debug_never_prints_one() {
        let c = smtp();
        let ChannelConfig::Smtp(r) = c.redacted() else {
            panic!()
        };
        assert_eq!(r.password.expose(), "set");
        assert!(!format!("{c:?}").contains("hunter2"));
        let json = serde_json::to_value(c.redacted()).unwrap();
        assert_eq!(json["password"], "set");
        assert_eq!(json["provider"], "SMTP");
    }

    #[test]
    fn unset_secrets_redact_to_empty() {
        let c = ChannelConfig::Zalo(ZaloConfig {
            access_token: Secret::default(),
            template_id: "1".into(),
            otp_key: "otp".into(),
            base_url: ZALO_BASE_URL.into(),
            timeout_seconds: 10,
        });
        assert_eq!(
            serde_json::to_value(c.redacted()).unwrap()["accessToken"],
            ""
        );
    }

    #[test]
    fn a_redacted_config_sent_back_keeps_the_stored_secret() {
        let stored = smtp();
        let back = stored.redacted().keep_secrets_from(Some(&stored));
        assert_eq!(back, stored);
        let fresh = stored.redacted().keep_secrets_from(None);
        assert_eq!(
            fresh.validate().unwrap_err(),
            "password: is required when username is set"
        );
    }

    #[test]
    fn configs_round_trip_through_json_with_defaults_filled() {
        let c = smtp();
        let back: ChannelConfig =
            serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let minimal: ChannelConfig =
            serde_json::from_str(r#"{"provider":"ZALO","accessToken":"t","templateId":"123"}"#)
                .unwrap();
        let ChannelConfig::Zalo(z) = minimal else {
            panic!()
        };
        assert_eq!(
            (z.otp_key.as_str(), z.base_url.as_str(), z.timeout_seconds),
            ("otp", ZALO_BASE_URL, 10)
        );
        let log: ChannelConfig = serde_json::from_str(r#"{"provider":"LOG"}"#).unwrap();
        assert_eq!(log, ChannelConfig::Log);
        let http: ChannelConfig = serde_json::from_str(
            r#"{"provider":"HTTP","url":"https://x.test/?to={to}&m={message}"}"#,
        )
        .unwrap();
        assert_eq!(http.provider(), "HTTP");
    }

    #[test]
    fn providers_serve_only_their_kinds() {
        assert!(smtp().serves(ChannelKind::Email));
        assert!(!smtp().serves(ChannelKind::Sms));
        assert!(ChannelConfig::Log.serves(ChannelKind::Zalo));
        assert!(
            smtp()
                .validate_for(ChannelKind::Sms)
                .unwrap_err()
                .starts_with("provider:")
        );
    }
}
