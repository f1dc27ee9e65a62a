//! Brands (tenants) and their settings (docs/api.md §9). `BrandSettings` is the settings document:
//! its serialised field names are the public setting names used by the admin API, the CLI and
//! the store, so every save goes through [`BrandSettings::apply`] and [`BrandSettings::validate`].

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::channel::{ChannelConfig, ChannelKind};
use super::identifier::{Identifier, IdentifierType};
use super::signature::SigningKey;
use super::template::ChannelTemplates;

/// A brand name: matched case-insensitively, stored upper-case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BrandName(String);

impl BrandName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let ok = (1..=64).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if ok {
            Ok(Self(raw.to_ascii_uppercase()))
        } else {
            Err("a brand name has 1 to 64 of A-Z a-z 0-9 _ - .")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BrandName {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<BrandName> for String {
    fn from(b: BrandName) -> Self {
        b.0
    }
}

impl fmt::Display for BrandName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Endpoints on which a brand can require a payload signature (§5).
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
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SignedEndpoint {
    TokenGenerate,
    OtpGenerate,
    OtpValidate,
}

/// A fixed code for an identifier: nothing is sent and no limit is charged (§4). The code is
/// write-only: the admin API shows `"set"`, and `"set"` sent back keeps it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestIdentifier {
    pub identifier_type: IdentifierType,
    pub identifier_value: String,
    /// Exactly `otpLength` digits; shown as `"set"`.
    pub otp: String,
}

impl TestIdentifier {
    pub const SET: &'static str = "set";
}

impl fmt::Debug for TestIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestIdentifier")
            .field("identifier_type", &self.identifier_type)
            .field("identifier_value", &self.identifier_value)
            .finish_non_exhaustive()
    }
}

/// The per-brand settings, with their defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct BrandSettings {
    pub enabled: bool,
    pub otp_length: u8,
    pub otp_ttl_seconds: u32,
    pub session_ttl_seconds: u32,
    pub max_validate_attempts: u32,
    pub daily_otp_limit: u32,
    pub limit_window_minutes: Option<u32>,
    pub time_zone: String,
    pub resend_cooldown_seconds: u32,
    pub errors_as_http200: bool,
    pub access_token_ttl_seconds: u32,
    pub key_ttl_seconds: Option<u32>,
    pub signing_endpoints: Vec<SignedEndpoint>,
    pub signature_window_seconds: u32,
    pub test_identifiers: Vec<TestIdentifier>,
    pub mobile_channel: ChannelKind,
    pub fallback_channels: Vec<ChannelKind>,
    pub default_locale: Option<String>,
}

impl Default for BrandSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            otp_length: 6,
            otp_ttl_seconds: 600,
            session_ttl_seconds: 900,
            max_validate_attempts: 5,
            daily_otp_limit: 10,
            limit_window_minutes: None,
            time_zone: "UTC".to_owned(),
            resend_cooldown_seconds: 30,
            errors_as_http200: false,
            access_token_ttl_seconds: 900,
            key_ttl_seconds: None,
            signing_endpoints: Vec::new(),
            signature_window_seconds: 120,
            test_identifiers: Vec::new(),
            mobile_channel: ChannelKind::Sms,
            fallback_channels: Vec::new(),
            default_locale: None,
        }
    }
}

/// Why a settings change was refused: 1535 for a zero limit, else a message naming the setting.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("dailyOtpLimit: the OTP limit cannot be 0")]
    LimitZero,
    #[error("{0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> SettingsError {
    SettingsError::Invalid(msg.into())
}

/// serde's message in an operator's words: no Rust type names.
fn plain_serde_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let text = text.split(" at line ").next().unwrap_or(&text).to_owned();
    [
        ("u8", "a whole number"),
        ("u16", "a whole number"),
        ("u32", "a whole number"),
        ("u64", "a whole number"),
        ("a boolean", "true or false"),
        ("a sequence", "a list"),
        (
            "struct TestIdentifier",
            "an object with identifierType, identifierValue and otp",
        ),
    ]
    .iter()
    .fold(text, |t, (rust, plain)| {
        t.replace(&format!("expected {rust}"), &format!("expected {plain}"))
    })
}

fn check_range(name: &str, value: u64, min: u64, max: u64) -> Result<(), SettingsError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(invalid(format!(
            "{name}: {value} is outside the allowed range {min}–{max}"
        )))
    }
}

impl BrandSettings {
    /// Returns a copy with `patch` (setting name → JSON value) applied and validated. Unknown
    /// names and wrong types are refused with a message naming the setting.
    pub fn apply(
        &self,
        patch: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, SettingsError> {
        let serde_json::Value::Object(mut doc) = serde_json::to_value(self)
            .map_err(|e| invalid(format!("settings could not be encoded: {e}")))?
        else {
            return Err(invalid("settings could not be encoded"));
        };
        for (name, value) in patch {
            if !doc.contains_key(name) {
                return Err(invalid(format!("{name}: no such setting")));
            }
            let kept;
            let value = if name == "testIdentifiers" {
                kept = self.keep_test_codes(value)?;
                &kept
            } else {
                value
            };
            if name == "dailyOtpLimit" && value.as_u64() == Some(0) {
                return Err(SettingsError::LimitZero);
            }
            let mut one = doc.clone();
            one.insert(name.clone(), value.clone());
            serde_json::from_value::<Self>(serde_json::Value::Object(one))
                .map_err(|e| invalid(format!("{name}: {}", plain_serde_error(&e))))?;
            doc.insert(name.clone(), value.clone());
        }
        let next: Self = serde_json::from_value(serde_json::Value::Object(doc))
            .map_err(|e| invalid(e.to_string()))?;
        next.validate()?;
        Ok(next)
    }

    /// Checks every rule of §9 that a type alone cannot express.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.daily_otp_limit == 0 {
            return Err(SettingsError::LimitZero);
        }
        check_range("dailyOtpLimit", self.daily_otp_limit.into(), 1, 100_000)?;
        check_range("otpLength", self.otp_length.into(), 4, 10)?;
        check_range(
            "sessionTtlSeconds",
            self.session_ttl_seconds.into(),
            60,
            3600,
        )?;
        check_range("otpTtlSeconds", self.otp_ttl_seconds.into(), 60, 1800)?;
        if self.otp_ttl_seconds > self.session_ttl_seconds {
            return Err(invalid(format!(
                "otpTtlSeconds: {} is longer than sessionTtlSeconds ({}); a code cannot outlive its session",
                self.otp_ttl_seconds, self.session_ttl_seconds
            )));
        }
        check_range(
            "maxValidateAttempts",
            self.max_validate_attempts.into(),
            1,
            20,
        )?;
        if let Some(w) = self.limit_window_minutes {
            check_range("limitWindowMinutes", w.into(), 1, 10_080)?;
            if self.daily_otp_limit > 1_000 {
                return Err(invalid(
                    "dailyOtpLimit: with limitWindowMinutes set, the limit is at most 1000",
                ));
            }
        }
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            return Err(invalid(format!(
                "timeZone: {:?} is not an IANA time zone name",
                self.time_zone
            )));
        }
        check_range(
            "resendCooldownSeconds",
            self.resend_cooldown_seconds.into(),
            0,
            3600,
        )?;
        check_range(
            "accessTokenTtlSeconds",
            self.access_token_ttl_seconds.into(),
            60,
            86_400,
        )?;
        if let Some(k) = self.key_ttl_seconds {
            check_range("keyTtlSeconds", k.into(), 60, 31_536_000)?;
        }
        check_range(
            "signatureWindowSeconds",
            self.signature_window_seconds.into(),
            10,
            600,
        )?;
        if !self.mobile_channel.is_mobile() {
            return Err(invalid("mobileChannel: must be SMS, WHATSAPP or ZALO"));
        }
        for (i, c) in self.fallback_channels.iter().enumerate() {
            if self.fallback_channels[..i].contains(c) {
                return Err(invalid(format!(
                    "fallbackChannels: {} is listed twice",
                    c.as_str()
                )));
            }
        }
        for (i, t) in self.test_identifiers.iter().enumerate() {
            Identifier::parse(t.identifier_type, &t.identifier_value)
                .map_err(|e| invalid(format!("testIdentifiers[{i}].identifierValue: {e}")))?;
            let digits = t.otp.len() == usize::from(self.otp_length)
                && t.otp.bytes().all(|b| b.is_ascii_digit());
            if !digits {
                return Err(invalid(format!(
                    "testIdentifiers[{i}].otp: must be exactly otpLength ({}) digits",
                    self.otp_length
                )));
            }
        }
        if let Some(locale) = &self.default_locale {
            let ok = (2..=16).contains(&locale.len())
                && locale
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok {
                return Err(invalid(
                    "defaultLocale: use a language tag such as en or vi-VN",
                ));
            }
        }
        Ok(())
    }

    /// Test codes are write-only: a `testIdentifiers` entry whose `otp` reads `"set"` (as the
    /// console shows it) keeps the code stored for the same identifier.
    fn keep_test_codes(
        &self,
        value: &serde_json::Value,
    ) -> Result<serde_json::Value, SettingsError> {
        let mut value = value.clone();
        let Some(items) = value.as_array_mut() else {
            return Ok(value);
        };
        for (i, item) in items.iter_mut().enumerate() {
            if item.get("otp").and_then(|v| v.as_str()) != Some(TestIdentifier::SET) {
                continue;
            }
            let same = |t: &&TestIdentifier| {
                serde_json::to_value(t.identifier_type).ok().as_ref() == item.get("identifierType")
                    && item.get("identifierValue").and_then(|v| v.as_str())
                        == Some(t.identifier_value.as_str())
            };
            let code = self
                .test_identifiers
                .iter()
                .find(same)
                .map(|t| t.otp.clone());
            match code {
                Some(code) => item["otp"] = serde_json::Value::String(code),
                None => {
                    return Err(invalid(format!(
                        "testIdentifiers[{i}].otp: this identifier has no stored code to keep; enter one"
                    )));
                }
            }
        }
        Ok(value)
    }

    /// The settings as operators see them: test codes shown as `"set"`.
    pub fn redacted(&self) -> Self {
        let mut s = self.clone();
        for t in &mut s.test_identifiers {
            t.otp = TestIdentifier::SET.to_owned();
        }
        s
    }

    pub fn requires_signature(&self, endpoint: SignedEndpoint) -> bool {
        self.signing_endpoints.contains(&endpoint)
    }

    /// The fixed code configured for this identifier, if it is a test identifier.
    pub fn test_code_for(&self, id: &Identifier) -> Option<&str> {
        self.test_identifiers.iter().find_map(|t| {
            let parsed = Identifier::parse(t.identifier_type, &t.identifier_value).ok()?;
            (parsed == *id).then_some(t.otp.as_str())
        })
    }
}

/// A brand: settings, channels and payload-signing keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Brand {
    pub name: BrandName,
    pub settings: BrandSettings,
    #[serde(default)]
    pub channels: BTreeMap<ChannelKind, ChannelConfig>,
    #[serde(default)]
    pub signing_keys: Vec<SigningKey>,
    /// Operator templates per channel; channels without one use the built-in template.
    #[serde(default)]
    pub templates: BTreeMap<ChannelKind, ChannelTemplates>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl Brand {
    pub fn new(name: BrandName, settings: BrandSettings, now_ms: i64) -> Self {
        Self {
            name,
            settings,
            channels: BTreeMap::new(),
            signing_keys: Vec::new(),
            templates: BTreeMap::new(),
            created_ms: now_ms,
            updated_ms: now_ms,
        }
    }

    /// The demo brand created on first start: every channel is the LOG sink, so codes can be
    /// read from the server log.
    pub fn demo(now_ms: i64) -> Self {
        let name = BrandName("DEMO".to_owned());
        let mut brand = Self::new(name, BrandSettings::default(), now_ms);
        for kind in ChannelKind::ALL {
            brand.channels.insert(kind, ChannelConfig::Log);
        }
        brand
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn brand_names_are_upper_cased() {
        assert_eq!(BrandName::parse("DocDemo").unwrap().as_str(), "DOCDEMO");
        assert!(BrandName::parse("has space").is_err());
        assert!(BrandName::parse("").is_err());
    }

    #[test]
    fn defaults_are_valid() {
        BrandSettings::default().validate().unwrap();
    }

    #[test]
    fn a_zero_limit_is_refused_with_its_own_error() {
        let err = BrandSettings::default()
            .apply(&patch(json!({"dailyOtpLimit": 0})))
            .unwrap_err();
        assert_eq!(err, SettingsError::LimitZero);
    }

    #[test]
    fn errors_name_the_setting() {
        let s = BrandSettings::default();
        let cases = [
            (json!({"otpLength": 3}), "otpLength"),
            (json!({"otpLength": "six"}), "otpLength"),
            (json!({"nope": 1}), "nope"),
            (json!({"timeZone": "Mars/Olympus"}), "timeZone"),
            (json!({"otpTtlSeconds": 1200}), "otpTtlSeconds"),
            (json!({"mobileChannel": "EMAIL"}), "mobileChannel"),
            (
                json!({"fallbackChannels": ["SMS", "EMAIL", "SMS"]}),
                "fallbackChannels",
            ),
        ];
        for (p, name) in cases {
            let err = s.apply(&patch(p.clone())).unwrap_err().to_string();
            assert!(err.starts_with(name), "{p} gave {err}");
        }
    }

    #[test]
    fn type_errors_speak_the_operators_language() {
        let err = BrandSettings::default()
            .apply(&patch(json!({"otpLength": "six"})))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "otpLength: invalid type: string \"six\", expected a whole number"
        );
        let err = BrandSettings::default()
            .apply(&patch(json!({"enabled": "yes"})))
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("expected true or false"), "{err}");
    }

    #[test]
    fn apply_changes_only_what_is_named() {
        let s = BrandSettings::default()
            .apply(&patch(
                json!({"dailyOtpLimit": 5, "otpLength": 8, "timeZone": "Asia/Ho_Chi_Minh"}),
            ))
            .unwrap();
        assert_eq!((s.daily_otp_limit, s.otp_length), (5, 8));
        assert_eq!(s.time_zone, "Asia/Ho_Chi_Minh");
        assert_eq!(s.session_ttl_seconds, 900);
    }

    #[test]
    fn test_codes_are_write_only() {
        let s = BrandSettings::default()
            .apply(&patch(json!({"testIdentifiers": [
                {"identifierType": "MOBILE", "identifierValue": "+15550000000", "otp": "123456"}
            ]})))
            .unwrap();
        assert_eq!(s.redacted().test_identifiers[0].otp, "set");
        assert!(!format!("{s:?}").contains("123456"));
        // The console sends back what it was shown, plus a new entry.
        let kept = s
            .apply(&patch(json!({"testIdentifiers": [
                {"identifierType": "MOBILE", "identifierValue": "+15550000000", "otp": "set"},
                {"identifierType": "EMAIL", "identifierValue": "qa@example.com", "otp": "654321"}
            ]})))
            .unwrap();
        assert_eq!(kept.test_identifiers[0].otp, "123456");
        assert_eq!(kept.test_identifiers[1].otp, "654321");
        let err = s
            .apply(&patch(json!({"testIdentifiers": [
                {"identifierType": "EMAIL", "identifierValue": "new@example.com", "otp": "set"}
            ]})))
            .unwrap_err();
        assert!(
            err.to_string().starts_with("testIdentifiers[0].otp"),
            "{err}"
        );
    }

    #[test]
    fn test_identifier_codes_must_match_the_length() {
        let err = BrandSettings::default()
            .apply(&patch(json!({"testIdentifiers": [
                {"identifierType": "MOBILE", "identifierValue": "+15550000000", "otp": "1234"}
            ]})))
            .unwrap_err();
        assert!(err.to_string().contains("testIdentifiers[0].otp"));
    }
}
