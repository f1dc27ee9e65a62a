//! Delivery channels of a brand: set, show and remove a channel's provider, and send a test
//! message through one; `templates` holds the message templates. Secrets never leave: every
//! config returned is [`ChannelConfig::redacted`], and the audit trail records redacted configs
//! only. A test message skips the outbox and the limits, and its text is never logged here.

mod templates;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use super::{Admin, AdminError, lookup_name};
use crate::delivery::OutgoingMessage;
use crate::domain::audit::Change;
use crate::domain::template::{self, Values};
use crate::domain::{Brand, BrandName, ChannelConfig, ChannelKind, Destination};

pub use templates::{ChannelTemplatesView, TemplateInput, TemplatePreview};

/// Outer limit of a test send when the provider sets none (LOG); with a provider timeout the
/// sender enforces it, and this leaves it a margin to report its own error first.
const DEFAULT_TEST_TIMEOUT: Duration = Duration::from_secs(15);
const TIMEOUT_MARGIN: Duration = Duration::from_secs(2);
/// Time kept back from the listener's request timeout to answer before it fires.
const ANSWER_MARGIN: Duration = Duration::from_millis(500);

/// How long a test send may take: the provider's timeout plus a margin, but always short
/// enough to answer within the admin listener's request timeout — past it the operator would
/// get a bare 503 instead of the provider's silence reported as `ok: false`.
fn test_send_limit(provider: Option<Duration>, request_timeout: Duration) -> Duration {
    let wanted = provider.map_or(DEFAULT_TEST_TIMEOUT, |t| t + TIMEOUT_MARGIN);
    let ceiling = request_timeout
        .saturating_sub(ANSWER_MARGIN)
        .max(Duration::from_millis(100));
    wanted.min(ceiling)
}

/// One channel of a brand as operators see it: secrets read `"set"` (or `""` when unset).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelView {
    pub brand: String,
    pub channel: ChannelKind,
    pub config: ChannelConfig,
}

/// The provider's answer to a test message.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestSendOutcome {
    pub ok: bool,
    pub channel: ChannelKind,
    pub provider: &'static str,
    /// The destination, masked.
    pub to: String,
    /// What the provider said when it took the message (an HTTP status, an SMTP reply, an id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_status: Option<String>,
    /// Why the send failed; never holds the message text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether the outbox would retry this failure (timeouts, 5xx, 429, SMTP 4xx).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary: Option<bool>,
    pub elapsed_ms: u64,
}

/// Channel names in paths and arguments, in any case; an unknown one is named in the error.
pub fn parse_kind(raw: &str) -> Result<ChannelKind, AdminError> {
    ChannelKind::parse(&raw.trim().to_ascii_uppercase()).ok_or_else(|| {
        AdminError::Invalid(format!(
            "channel: {raw:?} is not a channel; use EMAIL, SMS, WHATSAPP or ZALO"
        ))
    })
}

/// A test destination of the kind the channel delivers to.
fn parse_to(kind: ChannelKind, raw: &str) -> Result<Destination, AdminError> {
    let parsed = if kind.is_mobile() {
        Destination::mobile(raw).map_err(|e| {
            format!(
                "to: {e}; {} delivers to a phone number such as +84901234567",
                kind.as_str()
            )
        })
    } else {
        Destination::email(raw)
            .map_err(|e| format!("to: {e}; EMAIL delivers to an address such as a@example.com"))
    };
    parsed.map_err(AdminError::Invalid)
}

/// `123456` (as long as the brand's codes): visibly a sample, never a real code.
fn sample_code(brand: &Brand) -> String {
    "1234567890"
        .chars()
        .cycle()
        .take(usize::from(brand.settings.otp_length))
        .collect()
}

/// The values a preview or a test message renders with.
fn sample_values<'a>(brand: &'a Brand, code: &'a str) -> Values<'a> {
    Values {
        otp: code,
        brand: brand.name.as_str(),
        validity_minutes: brand.settings.otp_ttl_seconds.div_ceil(60),
    }
}

fn no_channel(name: &BrandName, kind: ChannelKind) -> AdminError {
    AdminError::NotFound(format!(
        "brand {name} has no {} channel; set one with `otpd channel set {name} {} provider=…`",
        kind.as_str(),
        kind.as_str()
    ))
}

fn view(brand: &Brand, kind: ChannelKind) -> Result<ChannelView, AdminError> {
    let config = brand
        .channels
        .get(&kind)
        .ok_or_else(|| no_channel(&brand.name, kind))?;
    Ok(ChannelView {
        brand: brand.name.to_string(),
        channel: kind,
        config: config.redacted(),
    })
}

fn views(brand: &Brand) -> Vec<ChannelView> {
    brand
        .channels
        .iter()
        .map(|(kind, config)| ChannelView {
            brand: brand.name.to_string(),
            channel: *kind,
            config: config.redacted(),
        })
        .collect()
}

impl Admin<'_> {
    // ---- channels -------------------------------------------------------------------------

    /// The configured channels of a brand, secrets redacted.
    pub async fn list_channels(&self, name: &str) -> Result<Vec<ChannelView>, AdminError> {
        Ok(views(&self.brand(&lookup_name(name)?).await?))
    }

    pub async fn show_channel(&self, name: &str, kind: &str) -> Result<ChannelView, AdminError> {
        let kind = parse_kind(kind)?;
        view(&self.brand(&lookup_name(name)?).await?, kind)
    }

    /// Sets a channel from `key=value` settings (docs/channels.md): with the stored provider,
    /// unnamed keys keep their values, secrets included. The error names the key.
    pub async fn set_channel(
        &self,
        name: &str,
        kind: &str,
        settings: &BTreeMap<String, String>,
    ) -> Result<ChannelView, AdminError> {
        let kind = parse_kind(kind)?;
        let name = lookup_name(name)?;
        if settings.is_empty() {
            return Err(AdminError::Invalid(
                "settings: none given; send {\"settings\": {\"provider\": \"…\", …}}".into(),
            ));
        }
        // Built inside the retried closure: it must start from the config being replaced.
        let updated = self
            .update(&name, |b| {
                let config = ChannelConfig::from_settings(kind, settings, b.channels.get(&kind))
                    .and_then(|c| c.validate_for(kind).map(|()| c))
                    .map_err(AdminError::Invalid)?;
                b.channels.insert(kind, config);
                Ok(())
            })
            .await?;
        let brand = &updated.1;
        let shown = view(brand, kind)?;
        self.commit_brand("channel.set", Some(kind.as_str().to_owned()), &updated)
            .await?;
        Ok(shown)
    }

    /// Sets a channel from a whole config, as the console sends it back: a secret that reads
    /// `"set"` keeps the stored value.
    pub async fn put_channel_config(
        &self,
        name: &str,
        kind: &str,
        config: Value,
    ) -> Result<ChannelView, AdminError> {
        let kind = parse_kind(kind)?;
        let name = lookup_name(name)?;
        let config: ChannelConfig = serde_json::from_value(config)
            .map_err(|e| AdminError::Invalid(format!("config: {e}")))?;
        let updated = self
            .update(&name, |b| {
                let merged = config.clone().keep_secrets_from(b.channels.get(&kind));
                merged.validate_for(kind).map_err(AdminError::Invalid)?;
                b.channels.insert(kind, merged);
                Ok(())
            })
            .await?;
        let brand = &updated.1;
        let shown = view(brand, kind)?;
        self.commit_brand("channel.set", Some(kind.as_str().to_owned()), &updated)
            .await?;
        Ok(shown)
    }

    /// Removes a channel; codes for it are then refused with 1603 until one is set again.
    /// Returns the channels left.
    pub async fn remove_channel(
        &self,
        name: &str,
        kind: &str,
    ) -> Result<Vec<ChannelView>, AdminError> {
        let kind = parse_kind(kind)?;
        let name = lookup_name(name)?;
        let updated = self
            .update(&name, |b| {
                b.channels
                    .remove(&kind)
                    .map(drop)
                    .ok_or_else(|| no_channel(&b.name, kind))
            })
            .await?;
        let brand = &updated.1;
        self.commit_brand("channel.remove", Some(kind.as_str().to_owned()), &updated)
            .await?;
        Ok(views(brand))
    }

    /// Sends the brand's template for `kind`, rendered with a sample code, to `to` through the
    /// stored provider, and reports the provider's answer. Skips the outbox and the limits;
    /// a failed send is an answer (`ok: false`), not an error.
    pub async fn test_channel(
        &self,
        name: &str,
        kind: &str,
        to: &str,
        locale: Option<&str>,
    ) -> Result<TestSendOutcome, AdminError> {
        let kind = parse_kind(kind)?;
        let name = lookup_name(name)?;
        let to = parse_to(kind, to)?;
        let brand = self.brand(&name).await?;
        let config = brand
            .channels
            .get(&kind)
            .ok_or_else(|| no_channel(&name, kind))?;
        let code = sample_code(&brand);
        let values = sample_values(&brand, &code);
        let rendered = template::render(&template::template_for(&brand, kind, locale), &values);
        let msg = OutgoingMessage {
            brand: &brand.name,
            channel: kind,
            to: &to,
            otp: &code,
            validity_minutes: values.validity_minutes,
            locale,
            rendered: &rendered,
        };
        let limit = test_send_limit(
            config.timeout(),
            Duration::from_secs(self.services.config.request_timeout_seconds),
        );
        let sender = self.services.senders.for_config(config);
        let started = Instant::now();
        let result = tokio::time::timeout(limit, sender.send(&msg)).await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut outcome = TestSendOutcome {
            ok: false,
            channel: kind,
            provider: config.provider(),
            to: to.masked(),
            provider_status: None,
            error: None,
            temporary: None,
            elapsed_ms,
        };
        match result {
            Ok(Ok(receipt)) => {
                outcome.ok = true;
                outcome.provider_status = Some(receipt.provider_status);
            }
            Ok(Err(e)) => {
                outcome.temporary = Some(e.is_temporary());
                outcome.error = Some(e.to_string());
            }
            Err(_) => {
                outcome.temporary = Some(true);
                outcome.error = Some(format!(
                    "temporary: no answer within {:.1} s",
                    limit.as_secs_f64()
                ));
            }
        }
        // Who sent a message to whom, and how it went; the text stays out of the trail.
        self.commit(
            "channel.test",
            Some(&name),
            Some(kind.as_str().to_owned()),
            Change::action(json!({"to": outcome.to, "ok": outcome.ok,
                   "providerStatus": outcome.provider_status, "error": outcome.error})),
        )
        .await?;
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_in_any_case_and_unknown_ones_are_named() {
        assert_eq!(parse_kind("sms").unwrap(), ChannelKind::Sms);
        assert_eq!(parse_kind(" Email ").unwrap(), ChannelKind::Email);
        let err = parse_kind("FAX").unwrap_err().to_string();
        assert!(err.contains("\"FAX\""), "{err}");
    }

    #[test]
    fn destinations_must_suit_the_channel() {
        assert_eq!(
            parse_to(ChannelKind::Sms, "+84 901 234 567").unwrap(),
            Destination::Mobile("84901234567".into())
        );
        assert!(parse_to(ChannelKind::Email, "+84901234567").is_err());
        let err = parse_to(ChannelKind::Zalo, "a@example.com")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("to: "), "{err}");
    }

    #[test]
    fn a_test_send_answers_before_the_request_timeout() {
        let secs = Duration::from_secs;
        assert_eq!(test_send_limit(Some(secs(5)), secs(30)), secs(7));
        assert_eq!(test_send_limit(None, secs(30)), secs(15));
        assert_eq!(
            test_send_limit(Some(secs(10)), secs(10)),
            Duration::from_millis(9_500)
        );
        assert_eq!(
            test_send_limit(Some(secs(10)), Duration::from_millis(200)),
            Duration::from_millis(100)
        );
    }
}
