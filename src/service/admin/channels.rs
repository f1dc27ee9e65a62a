//! Delivery channels and message templates of a brand: set, show and remove a channel's
//! provider, send a test message through it, and save, show, remove and preview templates.
//! Secrets never leave: every config returned is [`ChannelConfig::redacted`], and the audit
//! trail records redacted configs only. A test message skips the outbox and the limits, and its
//! text is never logged here.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Admin, AdminError, lookup_name};
use crate::delivery::OutgoingMessage;
use crate::domain::template::{
    self, ChannelTemplates, SmsInfo, Template, Values, sms_info, validate_channel_templates,
    validate_template,
};
use crate::domain::{Brand, BrandName, ChannelConfig, ChannelKind, Destination};

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
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelView {
    pub brand: String,
    pub channel: ChannelKind,
    pub config: ChannelConfig,
}

/// The provider's answer to a test message.
#[derive(Clone, Debug, Serialize)]
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

/// A brand's templates for one channel: what is saved, and the built-in template that applies
/// where nothing is.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelTemplatesView {
    pub channel: ChannelKind,
    #[serde(flatten)]
    pub saved: ChannelTemplates,
    pub built_in: Template,
}

/// A template as it would be sent, with a sample code.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplatePreview {
    pub channel: ChannelKind,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
    /// Encoding, length and segments of the text; mobile channels only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsInfo>,
}

/// A template as the admin API takes it. Empty `subject` / `html` mean "none", because a form
/// sends its empty fields as `""`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    #[serde(default)]
    pub subject: Option<String>,
    pub text: String,
    #[serde(default)]
    pub html: Option<String>,
}

impl From<TemplateInput> for Template {
    fn from(t: TemplateInput) -> Self {
        let present = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        Template {
            subject: present(t.subject),
            text: t.text,
            html: present(t.html),
        }
    }
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

/// Language tags compare ignoring case and `_` vs `-` (as `template_for` matches them).
fn same_tag(a: &str, b: &str) -> bool {
    a.replace('_', "-")
        .eq_ignore_ascii_case(&b.replace('_', "-"))
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

fn templates_view(brand: &Brand, kind: ChannelKind) -> ChannelTemplatesView {
    ChannelTemplatesView {
        channel: kind,
        saved: brand.templates.get(&kind).cloned().unwrap_or_default(),
        built_in: template::default_template(kind),
    }
}

impl Admin<'_> {
    // ---- channels -------------------------------------------------------------------------

    /// The configured channels of a brand, secrets redacted.
    pub fn list_channels(&self, name: &str) -> Result<Vec<ChannelView>, AdminError> {
        Ok(views(&self.brand(&lookup_name(name)?)?))
    }

    pub fn show_channel(&self, name: &str, kind: &str) -> Result<ChannelView, AdminError> {
        let kind = parse_kind(kind)?;
        view(&self.brand(&lookup_name(name)?)?, kind)
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
        let brand = self.update(&name, |b| {
            let config = ChannelConfig::from_settings(kind, settings, b.channels.get(&kind))
                .and_then(|c| c.validate_for(kind).map(|()| c))
                .map_err(AdminError::Invalid)?;
            b.channels.insert(kind, config);
            Ok(())
        })?;
        let shown = view(&brand, kind)?;
        let keys: Vec<&String> = settings.keys().collect();
        self.commit(
            "channel.set",
            &name,
            json!({"channel": kind, "keys": keys, "config": shown.config}),
        )
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
        let brand = self.update(&name, |b| {
            let merged = config.clone().keep_secrets_from(b.channels.get(&kind));
            merged.validate_for(kind).map_err(AdminError::Invalid)?;
            b.channels.insert(kind, merged);
            Ok(())
        })?;
        let shown = view(&brand, kind)?;
        self.commit(
            "channel.set",
            &name,
            json!({"channel": kind, "config": shown.config}),
        )
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
        let brand = self.update(&name, |b| {
            b.channels
                .remove(&kind)
                .map(drop)
                .ok_or_else(|| no_channel(&b.name, kind))
        })?;
        self.commit("channel.remove", &name, json!({"channel": kind}))
            .await?;
        Ok(views(&brand))
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
        let brand = self.brand(&name)?;
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
            &name,
            json!({"channel": kind, "to": outcome.to, "ok": outcome.ok,
                   "providerStatus": outcome.provider_status, "error": outcome.error}),
        )
        .await?;
        Ok(outcome)
    }

    // ---- templates ------------------------------------------------------------------------

    /// Every channel's saved templates and built-in template.
    pub fn list_templates(&self, name: &str) -> Result<Vec<ChannelTemplatesView>, AdminError> {
        let brand = self.brand(&lookup_name(name)?)?;
        Ok(ChannelKind::ALL
            .iter()
            .map(|kind| templates_view(&brand, *kind))
            .collect())
    }

    pub fn show_templates(
        &self,
        name: &str,
        kind: &str,
    ) -> Result<ChannelTemplatesView, AdminError> {
        let kind = parse_kind(kind)?;
        let brand = self.brand(&lookup_name(name)?)?;
        Ok(templates_view(&brand, kind))
    }

    /// Saves the channel's base template (`locale` `None`) or a locale variant; a variant
    /// replaces one whose tag differs only in case or `_` vs `-`.
    pub async fn set_template(
        &self,
        name: &str,
        kind: &str,
        locale: Option<&str>,
        input: TemplateInput,
    ) -> Result<ChannelTemplatesView, AdminError> {
        let kind = parse_kind(kind)?;
        let name = lookup_name(name)?;
        let template = Template::from(input);
        validate_template(kind, &template).map_err(AdminError::Invalid)?;
        let locale = locale.map(str::trim);
        let brand = self.update(&name, |b| {
            let set = b.templates.entry(kind).or_default();
            match locale {
                None => set.default = Some(template.clone()),
                Some(tag) => {
                    set.locales.retain(|k, _| !same_tag(k, tag));
                    set.locales.insert(tag.to_owned(), template.clone());
                }
            }
            // Checks the tag (the template itself passed above).
            validate_channel_templates(kind, set).map_err(AdminError::Invalid)
        })?;
        self.commit(
            "template.set",
            &name,
            json!({"channel": kind, "locale": locale, "template": template}),
        )
        .await?;
        Ok(templates_view(&brand, kind))
    }

    /// Removes the base template or a locale variant; the next match (or the built-in
    /// template) applies again.
    pub async fn remove_template(
        &self,
        name: &str,
        kind: &str,
        locale: Option<&str>,
    ) -> Result<ChannelTemplatesView, AdminError> {
        let kind = parse_kind(kind)?;
        let name = lookup_name(name)?;
        // Names the variants there are, since `vi` does not remove `vi-VN`.
        let missing = |set: Option<&ChannelTemplates>| {
            let tags: Vec<&str> = set
                .into_iter()
                .flat_map(|s| s.locales.keys().map(String::as_str))
                .collect();
            let saved = if tags.is_empty() {
                String::new()
            } else {
                format!(" (saved locales: {})", tags.join(", "))
            };
            AdminError::NotFound(match locale {
                None => format!(
                    "brand {name} has no base template for {}{saved}",
                    kind.as_str()
                ),
                Some(tag) => format!(
                    "brand {name} has no {} template for locale {tag:?}{saved}",
                    kind.as_str()
                ),
            })
        };
        let brand = self.update(&name, |b| {
            let Some(set) = b.templates.get_mut(&kind) else {
                return Err(missing(None));
            };
            let removed = match locale {
                None => set.default.take().is_some(),
                Some(tag) => {
                    let before = set.locales.len();
                    set.locales.retain(|k, _| !same_tag(k, tag));
                    set.locales.len() < before
                }
            };
            if !removed {
                return Err(missing(Some(set)));
            }
            if set.default.is_none() && set.locales.is_empty() {
                b.templates.remove(&kind);
            }
            Ok(())
        })?;
        self.commit(
            "template.remove",
            &name,
            json!({"channel": kind, "locale": locale}),
        )
        .await?;
        Ok(templates_view(&brand, kind))
    }

    /// Renders `template` (checked first, so an editor sees what is wrong) or else the one
    /// the brand would send for `locale`, with a sample code; mobile channels also get the SMS
    /// encoding and segment count.
    pub fn preview_template(
        &self,
        name: &str,
        kind: &str,
        locale: Option<&str>,
        input: Option<TemplateInput>,
    ) -> Result<TemplatePreview, AdminError> {
        let kind = parse_kind(kind)?;
        let brand = self.brand(&lookup_name(name)?)?;
        let template = match input {
            Some(input) => {
                let t = Template::from(input);
                validate_template(kind, &t).map_err(AdminError::Invalid)?;
                t
            }
            None => template::template_for(&brand, kind, locale),
        };
        let code = sample_code(&brand);
        let rendered = template::render(&template, &sample_values(&brand, &code));
        Ok(TemplatePreview {
            channel: kind,
            sms: kind.is_mobile().then(|| sms_info(&rendered.text)),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
        })
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

    #[test]
    fn tags_match_ignoring_case_and_separator() {
        assert!(same_tag("vi-VN", "vi_vn"));
        assert!(!same_tag("vi", "vi-VN"));
    }

    #[test]
    fn empty_subject_and_html_mean_none() {
        let t = Template::from(TemplateInput {
            subject: Some(" ".into()),
            text: "{otp}".into(),
            html: Some(String::new()),
        });
        assert_eq!((t.subject, t.html), (None, None));
    }
}
