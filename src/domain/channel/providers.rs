//! The provider configurations a channel can have, with their serialised names and defaults.
//! Defaults are filled in on load (`serde(default = …)`), so records saved before a field
//! existed still read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Secret;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text: only for a relay on the same host or network.
    None,
    /// Plain connection upgraded with STARTTLS; refuses to continue without it (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte, "SMTPS" (port 465).
    Tls,
}

impl SmtpTls {
    pub const fn default_port(self) -> u16 {
        match self {
            Self::None => 25,
            Self::Starttls => 587,
            Self::Tls => 465,
        }
    }
}

pub const DEFAULT_TIMEOUT_SECONDS: u32 = 10;
pub const MAX_TIMEOUT_SECONDS: u32 = 60;

fn default_timeout() -> u32 {
    DEFAULT_TIMEOUT_SECONDS
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub tls: SmtpTls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    #[schema(value_type = String)]
    pub password: Secret,
    /// The sender address.
    pub from: String,
    #[serde(default)]
    pub from_name: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    #[default]
    Post,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BodyFormat {
    #[default]
    Json,
    Form,
}

/// A generic SMS gateway. `url`, header values and `body` may use the placeholders
/// `{to}` (`+8490…`), `{toDigits}` (`8490…`), `{message}` and `{secret}`; each value is
/// encoded for where it lands (percent-encoded in the URL, JSON-escaped in a JSON body,
/// form-encoded in a form body). Keys go in `secret`, so the rest stays readable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpSmsConfig {
    #[serde(default)]
    pub method: HttpMethod,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body_format: BodyFormat,
    /// Ignored for GET.
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    #[schema(value_type = String)]
    pub secret: Secret,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
}

pub const HTTP_PLACEHOLDERS: [&str; 4] = ["to", "toDigits", "message", "secret"];

impl HttpSmsConfig {
    pub fn default_body(format: BodyFormat) -> &'static str {
        match format {
            BodyFormat::Json => r#"{"to":"{to}","message":"{message}"}"#,
            BodyFormat::Form => "to={to}&message={message}",
        }
    }
}

pub const TWILIO_BASE_URL: &str = "https://api.twilio.com";

fn twilio_base() -> String {
    TWILIO_BASE_URL.to_owned()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TwilioConfig {
    pub account_sid: String,
    #[serde(default)]
    #[schema(value_type = String)]
    pub auth_token: Secret,
    /// A Twilio number (`+1…`) or alphanumeric sender ID; or use `messaging_service_sid`.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    #[serde(default = "twilio_base")]
    pub base_url: String,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
}

pub const WHATSAPP_BASE_URL: &str = "https://graph.facebook.com";
pub const WHATSAPP_API_VERSION: &str = "v21.0";

fn whatsapp_base() -> String {
    WHATSAPP_BASE_URL.to_owned()
}
fn whatsapp_version() -> String {
    WHATSAPP_API_VERSION.to_owned()
}
fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhatsappConfig {
    pub phone_number_id: String,
    #[serde(default)]
    #[schema(value_type = String)]
    pub access_token: Secret,
    /// The approved authentication template's name.
    pub template: String,
    /// The template's language code (`en_US`, `vi`).
    pub language: String,
    #[serde(default = "whatsapp_version")]
    pub api_version: String,
    #[serde(default = "whatsapp_base")]
    pub base_url: String,
    /// Authentication templates with a copy-code button need the code again as a button
    /// parameter; templates without one must not get it.
    #[serde(default = "yes")]
    pub copy_code_button: bool,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
}

pub const ZALO_BASE_URL: &str = "https://business.openapi.zalo.me";

fn zalo_base() -> String {
    ZALO_BASE_URL.to_owned()
}
fn zalo_otp_key() -> String {
    "otp".to_owned()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ZaloConfig {
    #[serde(default)]
    #[schema(value_type = String)]
    pub access_token: Secret,
    pub template_id: String,
    /// The template parameter that receives the code.
    #[serde(default = "zalo_otp_key")]
    pub otp_key: String,
    #[serde(default = "zalo_base")]
    pub base_url: String,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
}
