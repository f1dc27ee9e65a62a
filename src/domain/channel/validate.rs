//! Validation of every provider configuration: each error starts with the setting's name
//! (`port: …`) so the CLI and the console can point at it.

use super::http_template::{Encoding, SAMPLE_TO, http_fill, placeholders};
use super::{
    BodyFormat, HTTP_PLACEHOLDERS, HttpMethod, HttpSmsConfig, MAX_TIMEOUT_SECONDS, Secret,
    SmtpConfig, TwilioConfig, WhatsappConfig, ZaloConfig, err,
};

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
    pub(super) fn validate(&self) -> Result<(), String> {
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

impl HttpSmsConfig {
    pub(super) fn validate(&self) -> Result<(), String> {
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

fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s.chars().all(|c| c.is_ascii_alphanumeric())
}

impl TwilioConfig {
    pub(super) fn validate(&self) -> Result<(), String> {
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
    pub(super) fn validate(&self) -> Result<(), String> {
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
    pub(super) fn validate(&self) -> Result<(), String> {
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
