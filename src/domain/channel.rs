//! Delivery channels: the kinds a brand can use and how each is configured. Provider secrets
//! live here but never leave through the admin API: [`ChannelConfig::redacted`] replaces them
//! with `"set"`, `Debug` never prints them, and a `"set"` sent back keeps the stored value.
//! Every config that reaches the store has passed [`ChannelConfig::validate`].

mod settings;

pub use settings::keys_of as provider_keys;

use std::collections::BTreeMap;
use std::fmt;

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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub tls: SmtpTls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Secret,
    /// The sender address.
    pub from: String,
    #[serde(default)]
    pub from_name: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    #[default]
    Post,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TwilioConfig {
    pub account_sid: String,
    #[serde(default)]
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WhatsappConfig {
    pub phone_number_id: String,
    #[serde(default)]
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZaloConfig {
    #[serde(default)]
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

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn check_timeout(t: u32) -> Result<(), String> {
    if (1..=MAX_TIMEOUT_SECONDS).contains(&t) {
        Ok(())
    } else {
        err(
            "timeoutSeconds",
            format_args!("{t} is outside 1–{MAX_TIMEOUT_SECONDS}"),
        )
    }
}

fn check_required(key: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        err(key, "is required")
    } else if has_control(value) {
        err(key, "must not contain control characters")
    } else {
        Ok(())
    }
}

fn check_secret(key: &str, s: &Secret) -> Result<(), String> {
    if !s.is_set() {
        err(key, "is required")
    } else if has_control(s.expose()) {
        err(key, "must not contain control characters")
    } else {
        Ok(())
    }
}

/// An absolute http(s) URL with a host, and nothing after the path (a base to append to).
pub(crate) fn check_http_url(key: &str, raw: &str, allow_query: bool) -> Result<url::Url, String> {
    let parsed = url::Url::parse(raw).or_else(|e| err(key, format_args!("not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return err(key, "must start with http:// or https://");
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return err(key, "has no host");
    }
    if !allow_query && (parsed.query().is_some() || parsed.fragment().is_some()) {
        return err(key, "must not have a query or fragment");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return err(
            key,
            "must not carry credentials; use the provider's secret setting",
        );
    }
    Ok(parsed)
}

fn is_email_address(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | '"'))
        && !domain.contains('@')
}

impl SmtpConfig {
    fn validate(&self) -> Result<(), String> {
        check_required("host", &self.host)?;
        let host_ok = self.host.len() <= 253
            && self
                .host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !host_ok {
            return err("host", "must be a host name or IP address");
        }
        if self.port == 0 {
            return err("port", "must be 1–65535");
        }
        if !is_email_address(&self.from) {
            return err("from", "must be an e-mail address such as otp@example.com");
        }
        if let Some(name) = &self.from_name {
            // A line break in a header value would let it inject headers.
            if has_control(name) || name.len() > 100 {
                return err("fromName", "at most 100 characters, no line breaks");
            }
        }
        match (&self.username, self.password.is_set()) {
            (Some(u), true) => check_required("username", u)?,
            (Some(_), false) => return err("password", "is required when username is set"),
            (None, true) => return err("username", "is required when password is set"),
            (None, false) => {}
        }
        if self.password.is_set() {
            check_secret("password", &self.password)?;
        }
        check_timeout(self.timeout_seconds)
    }
}

/// The `{name}` placeholders in `s`: a `{` followed by word characters and `}`. Other braces
/// (JSON, CSS) are literal text.
pub(crate) fn placeholders(s: &str) -> impl Iterator<Item = &str> {
    s.match_indices('{').filter_map(move |(i, _)| {
        let rest = &s[i + 1..];
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
        (end > 0 && rest[end..].starts_with('}')).then(|| &rest[..end])
    })
}

/// Sample values used to check that a template still makes a valid URL / JSON body.
pub(crate) const SAMPLE_TO: &str = "+84901234567";

impl HttpSmsConfig {
    fn validate(&self) -> Result<(), String> {
        let mut fields: Vec<(String, &str)> = vec![
            ("url".to_owned(), self.url.as_str()),
            ("body".to_owned(), self.body.as_str()),
        ];
        for (name, value) in &self.headers {
            fields.push((format!("header.{name}"), value.as_str()));
        }
        let mut used = Vec::new();
        for (key, value) in &fields {
            if key == "body" && self.method == HttpMethod::Get {
                continue;
            }
            for p in placeholders(value) {
                if !HTTP_PLACEHOLDERS.contains(&p) {
                    return err(
                        key,
                        format_args!(
                            "unknown placeholder {{{p}}}; use {{to}}, {{toDigits}}, {{message}}, {{secret}}"
                        ),
                    );
                }
                used.push(p);
            }
        }
        if !used.iter().any(|p| *p == "to" || *p == "toDigits") {
            return err(
                "url",
                "the request must carry {to} or {toDigits} (in url, body or a header)",
            );
        }
        if !used.contains(&"message") {
            return err(
                "url",
                "the request must carry {message} (in url, body or a header)",
            );
        }
        if used.contains(&"secret") {
            check_secret("secret", &self.secret)?;
        }
        let sample_url = http_fill(&self.url, SAMPLE_TO, "sample message", "x", Encoding::Url);
        check_http_url("url", &sample_url, true)?;
        for (name, value) in &self.headers {
            let name_ok = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !name_ok {
                return err(&format!("header.{name}"), "not a valid header name");
            }
            if has_control(value) {
                return err(
                    &format!("header.{name}"),
                    "must not contain control characters",
                );
            }
        }
        if self.method == HttpMethod::Post {
            check_required("body", &self.body)?;
            if self.body_format == BodyFormat::Json {
                let sample = http_fill(
                    &self.body,
                    SAMPLE_TO,
                    "a \"quoted\"\nmessage",
                    "x",
                    Encoding::Json,
                );
                serde_json::from_str::<serde_json::Value>(&sample).or_else(|e| {
                    err(
                        "body",
                        format_args!("is not valid JSON once filled in ({e})"),
                    )
                })?;
            }
        }
        check_timeout(self.timeout_seconds)
    }
}

/// How a placeholder value is encoded where it lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Percent-encoded: every byte but unreserved characters.
    Url,
    /// Escaped for the inside of a JSON string.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// As is, with control characters turned into spaces (header values).
    Header,
}

/// Fills the HTTP gateway placeholders of `template`, encoding each value for `enc`.
pub(crate) fn http_fill(
    template: &str,
    to: &str,
    message: &str,
    secret: &str,
    enc: Encoding,
) -> String {
    let digits = to.trim_start_matches('+');
    let mut out = String::with_capacity(template.len() + message.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let hit = [
            ("{toDigits}", digits),
            ("{to}", to),
            ("{message}", message),
            ("{secret}", secret),
        ]
        .into_iter()
        .find(|(p, _)| after.starts_with(p));
        match hit {
            Some((p, value)) => {
                out.push_str(&encode(value, enc));
                rest = &after[p.len()..];
            }
            None => {
                out.push('{');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn encode(value: &str, enc: Encoding) -> String {
    match enc {
        Encoding::Url => {
            let mut out = String::with_capacity(value.len() * 3);
            for b in value.bytes() {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                    out.push(char::from(b));
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            out
        }
        Encoding::Json => {
            let quoted = serde_json::Value::String(value.to_owned()).to_string();
            quoted[1..quoted.len() - 1].to_owned()
        }
        Encoding::Form => url::form_urlencoded::byte_serialize(value.as_bytes()).collect(),
        Encoding::Header => value
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
    }
}

fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s.chars().all(|c| c.is_ascii_alphanumeric())
}

impl TwilioConfig {
    fn validate(&self) -> Result<(), String> {
        if !is_sid(&self.account_sid, "AC") {
            return err(
                "accountSid",
                "must be AC followed by 32 characters (see the Twilio console)",
            );
        }
        check_secret("authToken", &self.auth_token)?;
        match (&self.from, &self.messaging_service_sid) {
            (Some(_), Some(_)) => {
                return err("from", "set either from or messagingServiceSid, not both");
            }
            (None, None) => return err("from", "is required (or set messagingServiceSid)"),
            (Some(from), None) => {
                check_required("from", from)?;
                let number = from.strip_prefix('+').is_some_and(|d| {
                    (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit())
                });
                let sender_id = (1..=11).contains(&from.len())
                    && from.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ')
                    && from.chars().any(|c| c.is_ascii_alphabetic());
                if !number && !sender_id {
                    return err(
                        "from",
                        "must be a number such as +15005550006 or an alphanumeric sender ID",
                    );
                }
            }
            (None, Some(sid)) => {
                if !is_sid(sid, "MG") {
                    return err(
                        "messagingServiceSid",
                        "must be MG followed by 32 characters",
                    );
                }
            }
        }
        check_http_url("baseUrl", &self.base_url, false)?;
        check_timeout(self.timeout_seconds)
    }
}

impl WhatsappConfig {
    fn validate(&self) -> Result<(), String> {
        if self.phone_number_id.is_empty()
            || !self.phone_number_id.bytes().all(|b| b.is_ascii_digit())
        {
            return err(
                "phoneNumberId",
                "must be the numeric phone number ID from the WhatsApp Manager",
            );
        }
        check_secret("accessToken", &self.access_token)?;
        let name_ok = (1..=512).contains(&self.template.len())
            && self
                .template
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !name_ok {
            return err("template", "must be a template name of a-z, 0-9 and _");
        }
        let lang_ok = (2..=10).contains(&self.language.len())
            && self
                .language
                .bytes()
                .all(|b| b.is_ascii_alphabetic() || b == b'_');
        if !lang_ok {
            return err("language", "must be a language code such as en_US or vi");
        }
        let version_ok = self.api_version.strip_prefix('v').is_some_and(|v| {
            v.split_once('.').is_some_and(|(a, b)| {
                !a.is_empty()
                    && !b.is_empty()
                    && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
            })
        });
        if !version_ok {
            return err("apiVersion", "must look like v21.0");
        }
        check_http_url("baseUrl", &self.base_url, false)?;
        check_timeout(self.timeout_seconds)
    }
}

impl ZaloConfig {
    fn validate(&self) -> Result<(), String> {
        check_secret("accessToken", &self.access_token)?;
        if self.template_id.is_empty()
            || self.template_id.len() > 32
            || !self.template_id.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return err("templateId", "must be the ZNS template ID (digits)");
        }
        if self.otp_key.is_empty()
            || self.otp_key.len() > 64
            || !self
                .otp_key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return err("otpKey", "must be the template parameter name, e.g. otp");
        }
        check_http_url("baseUrl", &self.base_url, false)?;
        check_timeout(self.timeout_seconds)
    }
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

    #[test]
    fn placeholders_are_found_and_braces_of_json_are_not() {
        let found: Vec<_> =
            placeholders(r#"{"to":"{to}","m":"{message}","x":{"y":1}} {bad-one} {}"#).collect();
        assert_eq!(found, ["to", "message"]);
    }

    #[test]
    fn values_are_encoded_for_where_they_land() {
        let msg = "Mã 123 \"ok\" & more\n";
        assert_eq!(
            http_fill("{to}|{toDigits}", "+8490", msg, "", Encoding::Url),
            "%2B8490|8490"
        );
        assert_eq!(
            http_fill(r#"{"m":"{message}"}"#, "+1", msg, "", Encoding::Json),
            r#"{"m":"Mã 123 \"ok\" & more\n"}"#
        );
        assert_eq!(
            http_fill("m={message}", "+1", msg, "", Encoding::Form),
            "m=M%C3%A3+123+%22ok%22+%26+more%0A"
        );
        assert_eq!(
            http_fill("Bearer {secret}", "+1", msg, "k\r\ny", Encoding::Header),
            "Bearer k  y"
        );
        assert_eq!(
            http_fill("{unknown} {", "+1", msg, "", Encoding::Url),
            "{unknown} {"
        );
    }
}
