//! `key=value` settings (the CLI's `otpd channel set`) → a validated [`ChannelConfig`]. Keys
//! are the config's camelCase field names, matched ignoring case, `_` and `-`; HTTP headers are
//! `header.<Name>`. Unnamed keys keep the stored value when the provider stays the same.

use std::collections::BTreeMap;

use super::{
    BodyFormat, ChannelConfig, ChannelKind, HttpMethod, HttpSmsConfig, MAX_TIMEOUT_SECONDS, Secret,
    SmtpConfig, SmtpTls, TwilioConfig, WhatsappConfig, ZaloConfig, err,
};

const SMTP_KEYS: &[&str] = &[
    "host",
    "port",
    "tls",
    "username",
    "password",
    "from",
    "fromName",
    "timeoutSeconds",
];
const HTTP_KEYS: &[&str] = &[
    "method",
    "url",
    "bodyFormat",
    "body",
    "secret",
    "timeoutSeconds",
    "header.<Name>",
];
const TWILIO_KEYS: &[&str] = &[
    "accountSid",
    "authToken",
    "from",
    "messagingServiceSid",
    "baseUrl",
    "timeoutSeconds",
];
const WHATSAPP_KEYS: &[&str] = &[
    "phoneNumberId",
    "accessToken",
    "template",
    "language",
    "apiVersion",
    "baseUrl",
    "copyCodeButton",
    "timeoutSeconds",
];
const ZALO_KEYS: &[&str] = &[
    "accessToken",
    "templateId",
    "otpKey",
    "baseUrl",
    "timeoutSeconds",
];

/// The keys each provider takes (for `--help` and error messages).
pub fn keys_of(provider: &str) -> &'static [&'static str] {
    match provider {
        "smtp" => SMTP_KEYS,
        "http" => HTTP_KEYS,
        "twilio" => TWILIO_KEYS,
        "whatsapp" => WHATSAPP_KEYS,
        "zalo" => ZALO_KEYS,
        _ => &[],
    }
}

fn normalise(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The settings, consumed key by key.
struct Input<'a> {
    /// normalised key → (key as given, trimmed value)
    plain: BTreeMap<String, (&'a str, &'a str)>,
    /// header name → value
    headers: BTreeMap<&'a str, &'a str>,
}

impl<'a> Input<'a> {
    fn new(settings: &'a BTreeMap<String, String>) -> Result<Self, String> {
        let mut plain = BTreeMap::new();
        let mut headers = BTreeMap::new();
        for (key, value) in settings {
            let value = value.trim();
            let is_header = key.len() > 7 && key[..7].eq_ignore_ascii_case("header.");
            if is_header {
                headers.insert(&key[7..], value);
            } else if plain
                .insert(normalise(key), (key.as_str(), value))
                .is_some()
            {
                return err(key, "given twice");
            }
        }
        Ok(Self { plain, headers })
    }

    fn take(&mut self, key: &str) -> Option<&'a str> {
        self.plain.remove(&normalise(key)).map(|(_, v)| v)
    }

    /// Refuses any key the provider does not know, naming it and listing the known ones.
    fn reject_unknown(&self, provider: &str) -> Result<(), String> {
        let known = keys_of(provider);
        let takes_headers = provider == "http";
        if let Some((given, _)) = self
            .plain
            .values()
            .find(|(k, _)| !known.iter().any(|n| normalise(n) == normalise(k)))
        {
            return Err(unknown_key(given, provider, known));
        }
        if let (false, Some(name)) = (takes_headers, self.headers.keys().next()) {
            return Err(unknown_key(&format!("header.{name}"), provider, known));
        }
        Ok(())
    }
}

fn unknown_key(key: &str, provider: &str, known: &[&str]) -> String {
    if known.is_empty() {
        format!("{key}: the {provider} provider takes no settings")
    } else {
        format!(
            "{key}: not a setting of the {provider} provider (it takes {})",
            known.join(", ")
        )
    }
}

/// Empty means "unset".
fn optional(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_owned())
}

fn required(key: &str, v: Option<&str>, existing: Option<&String>) -> Result<String, String> {
    match (v, existing) {
        (Some(v), _) if !v.is_empty() => Ok(v.to_owned()),
        (None, Some(e)) => Ok(e.clone()),
        _ => err(key, "is required"),
    }
}

/// A given secret replaces the stored one, `"set"` keeps it, empty unsets it.
fn secret(v: Option<&str>, existing: Option<&Secret>) -> Secret {
    match v {
        Some(v) => Secret::new(v).or_keep(existing),
        None => existing.cloned().unwrap_or_default(),
    }
}

fn timeout(v: Option<&str>, existing: Option<u32>) -> Result<u32, String> {
    match v {
        None => Ok(existing.unwrap_or(super::DEFAULT_TIMEOUT_SECONDS)),
        Some(v) => v.parse::<u32>().or_else(|_| {
            err(
                "timeoutSeconds",
                format_args!("{v:?} is not a whole number of seconds (1–{MAX_TIMEOUT_SECONDS})"),
            )
        }),
    }
}

fn base_url(v: Option<&str>, existing: Option<&String>, default: &str) -> String {
    match v {
        Some("") => default.to_owned(),
        Some(v) => v.trim_end_matches('/').to_owned(),
        None => existing.cloned().unwrap_or_else(|| default.to_owned()),
    }
}

fn boolean(key: &str, v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => err(key, format_args!("{v:?} is not true or false")),
    }
}

pub(super) fn from_settings(
    kind: ChannelKind,
    settings: &BTreeMap<String, String>,
    existing: Option<&ChannelConfig>,
) -> Result<ChannelConfig, String> {
    let mut input = Input::new(settings)?;
    let allowed = kind.providers().join(", ");
    let provider = match (input.take("provider"), existing) {
        (Some(p), _) => p.to_ascii_lowercase(),
        (None, Some(e)) => e.provider().to_ascii_lowercase(),
        (None, None) => {
            return err(
                "provider",
                format_args!("is required; {} takes {allowed}", kind.as_str()),
            );
        }
    };
    if !kind.providers().contains(&provider.as_str()) {
        return err(
            "provider",
            format_args!(
                "{provider:?} cannot deliver {}; use one of {allowed}",
                kind.as_str()
            ),
        );
    }
    input.reject_unknown(&provider)?;
    let config = match provider.as_str() {
        "smtp" => ChannelConfig::Smtp(smtp(&mut input, existing)?),
        "http" => ChannelConfig::HttpSms(http(&mut input, existing)?),
        "twilio" => ChannelConfig::Twilio(twilio(&mut input, existing)?),
        "whatsapp" => ChannelConfig::Whatsapp(whatsapp(&mut input, existing)?),
        "zalo" => ChannelConfig::Zalo(zalo(&mut input, existing)?),
        _ => ChannelConfig::Log,
    };
    config.validate()?;
    Ok(config)
}

fn smtp(input: &mut Input<'_>, existing: Option<&ChannelConfig>) -> Result<SmtpConfig, String> {
    let e = match existing {
        Some(ChannelConfig::Smtp(e)) => Some(e),
        _ => None,
    };
    let tls = match input.take("tls") {
        Some("none") => SmtpTls::None,
        Some("starttls") => SmtpTls::Starttls,
        Some("tls") => SmtpTls::Tls,
        Some(other) => {
            return err(
                "tls",
                format_args!("{other:?} is not none, starttls or tls"),
            );
        }
        None => e.map(|e| e.tls).unwrap_or_default(),
    };
    let port = match input.take("port") {
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return err("port", format_args!("{p:?} is not a port number (1–65535)")),
        },
        // A port that was the old TLS mode's default follows the new mode.
        None => match e {
            Some(e) if e.port != e.tls.default_port() => e.port,
            _ => tls.default_port(),
        },
    };
    Ok(SmtpConfig {
        host: required("host", input.take("host"), e.map(|e| &e.host))?,
        port,
        tls,
        username: match input.take("username") {
            Some(u) => optional(u),
            None => e.and_then(|e| e.username.clone()),
        },
        password: secret(input.take("password"), e.map(|e| &e.password)),
        from: required("from", input.take("from"), e.map(|e| &e.from))?,
        from_name: match input.take("fromName") {
            Some(n) => optional(n),
            None => e.and_then(|e| e.from_name.clone()),
        },
        timeout_seconds: timeout(input.take("timeoutSeconds"), e.map(|e| e.timeout_seconds))?,
    })
}

fn http(input: &mut Input<'_>, existing: Option<&ChannelConfig>) -> Result<HttpSmsConfig, String> {
    let e = match existing {
        Some(ChannelConfig::HttpSms(e)) => Some(e),
        _ => None,
    };
    let method = match input.take("method").map(str::to_ascii_uppercase).as_deref() {
        Some("GET") => HttpMethod::Get,
        Some("POST") => HttpMethod::Post,
        Some(other) => return err("method", format_args!("{other:?} is not GET or POST")),
        None => e.map(|e| e.method).unwrap_or_default(),
    };
    let body_format = match input.take("bodyFormat") {
        Some("json") => BodyFormat::Json,
        Some("form") => BodyFormat::Form,
        Some(other) => return err("bodyFormat", format_args!("{other:?} is not json or form")),
        None => e.map(|e| e.body_format).unwrap_or_default(),
    };
    let format_changed = e.is_some_and(|e| e.body_format != body_format);
    let body = match input.take("body") {
        Some("") => HttpSmsConfig::default_body(body_format).to_owned(),
        Some(b) => b.to_owned(),
        None => match e {
            Some(e) if !format_changed && !e.body.is_empty() => e.body.clone(),
            _ if method == HttpMethod::Get => String::new(),
            _ => HttpSmsConfig::default_body(body_format).to_owned(),
        },
    };
    let mut headers = e.map(|e| e.headers.clone()).unwrap_or_default();
    for (name, value) in &input.headers {
        // Header names are case-insensitive: one entry per name, whatever case was stored.
        headers.retain(|k, _| !k.eq_ignore_ascii_case(name));
        if !value.is_empty() {
            headers.insert((*name).to_owned(), (*value).to_owned());
        }
    }
    Ok(HttpSmsConfig {
        method,
        url: required("url", input.take("url"), e.map(|e| &e.url))?,
        headers,
        body_format,
        body,
        secret: secret(input.take("secret"), e.map(|e| &e.secret)),
        timeout_seconds: timeout(input.take("timeoutSeconds"), e.map(|e| e.timeout_seconds))?,
    })
}

fn twilio(input: &mut Input<'_>, existing: Option<&ChannelConfig>) -> Result<TwilioConfig, String> {
    let e = match existing {
        Some(ChannelConfig::Twilio(e)) => Some(e),
        _ => None,
    };
    let from_given = input.take("from");
    let service_given = input.take("messagingServiceSid");
    // Naming one sender kind replaces the other, so switching needs one key.
    let (from, messaging_service_sid) = match (from_given, service_given) {
        (None, None) => (
            e.and_then(|e| e.from.clone()),
            e.and_then(|e| e.messaging_service_sid.clone()),
        ),
        (Some(f), None) => (
            optional(f),
            if f.is_empty() {
                e.and_then(|e| e.messaging_service_sid.clone())
            } else {
                None
            },
        ),
        (None, Some(s)) => (
            if s.is_empty() {
                e.and_then(|e| e.from.clone())
            } else {
                None
            },
            optional(s),
        ),
        (Some(f), Some(s)) => (optional(f), optional(s)),
    };
    Ok(TwilioConfig {
        account_sid: required(
            "accountSid",
            input.take("accountSid"),
            e.map(|e| &e.account_sid),
        )?,
        auth_token: secret(input.take("authToken"), e.map(|e| &e.auth_token)),
        from,
        messaging_service_sid,
        base_url: base_url(
            input.take("baseUrl"),
            e.map(|e| &e.base_url),
            super::TWILIO_BASE_URL,
        ),
        timeout_seconds: timeout(input.take("timeoutSeconds"), e.map(|e| e.timeout_seconds))?,
    })
}

fn whatsapp(
    input: &mut Input<'_>,
    existing: Option<&ChannelConfig>,
) -> Result<WhatsappConfig, String> {
    let e = match existing {
        Some(ChannelConfig::Whatsapp(e)) => Some(e),
        _ => None,
    };
    let api_version = match input.take("apiVersion") {
        Some("") => super::WHATSAPP_API_VERSION.to_owned(),
        Some(v) => v.to_owned(),
        None => e.map_or_else(
            || super::WHATSAPP_API_VERSION.to_owned(),
            |e| e.api_version.clone(),
        ),
    };
    Ok(WhatsappConfig {
        phone_number_id: required(
            "phoneNumberId",
            input.take("phoneNumberId"),
            e.map(|e| &e.phone_number_id),
        )?,
        access_token: secret(input.take("accessToken"), e.map(|e| &e.access_token)),
        template: required("template", input.take("template"), e.map(|e| &e.template))?,
        language: required("language", input.take("language"), e.map(|e| &e.language))?,
        api_version,
        base_url: base_url(
            input.take("baseUrl"),
            e.map(|e| &e.base_url),
            super::WHATSAPP_BASE_URL,
        ),
        copy_code_button: match input.take("copyCodeButton") {
            Some(v) => boolean("copyCodeButton", v)?,
            None => e.is_none_or(|e| e.copy_code_button),
        },
        timeout_seconds: timeout(input.take("timeoutSeconds"), e.map(|e| e.timeout_seconds))?,
    })
}

fn zalo(input: &mut Input<'_>, existing: Option<&ChannelConfig>) -> Result<ZaloConfig, String> {
    let e = match existing {
        Some(ChannelConfig::Zalo(e)) => Some(e),
        _ => None,
    };
    Ok(ZaloConfig {
        access_token: secret(input.take("accessToken"), e.map(|e| &e.access_token)),
        template_id: required(
            "templateId",
            input.take("templateId"),
            e.map(|e| &e.template_id),
        )?,
        otp_key: match input.take("otpKey") {
            Some("") => "otp".to_owned(),
            Some(k) => k.to_owned(),
            None => e.map_or_else(|| "otp".to_owned(), |e| e.otp_key.clone()),
        },
        base_url: base_url(
            input.take("baseUrl"),
            e.map(|e| &e.base_url),
            super::ZALO_BASE_URL,
        ),
        timeout_seconds: timeout(input.take("timeoutSeconds"), e.map(|e| e.timeout_seconds))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn set(
        kind: ChannelKind,
        pairs: &[(&str, &str)],
        existing: Option<&ChannelConfig>,
    ) -> Result<ChannelConfig, String> {
        ChannelConfig::from_settings(kind, &kv(pairs), existing)
    }

    const SID: &str = "AC0123456789abcdef0123456789abcdef";

    #[test]
    fn smtp_from_settings_with_defaults() {
        let c = set(
            ChannelKind::Email,
            &[
                ("provider", "smtp"),
                ("host", "smtp.example.com"),
                ("username", "apikey"),
                ("password", "pw"),
                ("from", "otp@example.com"),
                ("from_name", "Example Co"),
            ],
            None,
        )
        .unwrap();
        let ChannelConfig::Smtp(s) = &c else {
            panic!("{c:?}")
        };
        assert_eq!(
            (s.port, s.tls, s.timeout_seconds),
            (587, SmtpTls::Starttls, 10)
        );
        assert_eq!(s.from_name.as_deref(), Some("Example Co"));
        assert_eq!(s.password.expose(), "pw");
    }

    #[test]
    fn existing_secrets_are_kept_and_single_keys_change() {
        let base = set(
            ChannelKind::Email,
            &[
                ("provider", "smtp"),
                ("host", "h.example.com"),
                ("username", "u"),
                ("password", "pw"),
                ("from", "a@b.co"),
            ],
            None,
        )
        .unwrap();
        let c = set(ChannelKind::Email, &[("tls", "tls")], Some(&base)).unwrap();
        let ChannelConfig::Smtp(s) = &c else { panic!() };
        assert_eq!(
            (s.port, s.password.expose(), s.host.as_str()),
            (465, "pw", "h.example.com")
        );
        let c = set(ChannelKind::Email, &[("password", "set")], Some(&base)).unwrap();
        assert_eq!(c, base);
        let c = set(
            ChannelKind::Email,
            &[("username", ""), ("password", "")],
            Some(&base),
        )
        .unwrap();
        let ChannelConfig::Smtp(s) = &c else { panic!() };
        assert!(s.username.is_none() && !s.password.is_set());
    }

    #[test]
    fn switching_provider_starts_fresh() {
        let base = set(ChannelKind::Sms, &[("provider", "log")], None).unwrap();
        assert_eq!(base, ChannelConfig::Log);
        let err = set(
            ChannelKind::Sms,
            &[("provider", "twilio"), ("accountSid", SID)],
            Some(&base),
        )
        .unwrap_err();
        assert_eq!(err, "authToken: is required");
    }

    #[test]
    fn errors_name_the_key() {
        type Case<'a> = (ChannelKind, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case<'_>] = &[
            (
                ChannelKind::Email,
                &[("host", "x")],
                "provider: is required",
            ),
            (
                ChannelKind::Email,
                &[("provider", "twilio")],
                "provider: \"twilio\" cannot deliver EMAIL",
            ),
            (
                ChannelKind::Whatsapp,
                &[("provider", "smtp")],
                "provider: \"smtp\" cannot deliver WHATSAPP",
            ),
            (
                ChannelKind::Email,
                &[("provider", "smtp"), ("hots", "x")],
                "hots: not a setting of the smtp provider",
            ),
            (
                ChannelKind::Email,
                &[
                    ("provider", "smtp"),
                    ("host", "h"),
                    ("from", "a@b.co"),
                    ("port", "70000"),
                ],
                "port:",
            ),
            (
                ChannelKind::Email,
                &[
                    ("provider", "smtp"),
                    ("host", "h"),
                    ("from", "a@b.co"),
                    ("port", "0"),
                ],
                "port:",
            ),
            (
                ChannelKind::Email,
                &[("provider", "smtp"), ("host", "h"), ("from", "nope")],
                "from:",
            ),
            (
                ChannelKind::Email,
                &[
                    ("provider", "smtp"),
                    ("host", "h"),
                    ("from", "a@b.co"),
                    ("tls", "ssl"),
                ],
                "tls:",
            ),
            (
                ChannelKind::Email,
                &[
                    ("provider", "smtp"),
                    ("host", "h"),
                    ("from", "a@b.co"),
                    ("timeoutSeconds", "0"),
                ],
                "timeoutSeconds:",
            ),
            (
                ChannelKind::Email,
                &[("provider", "log"), ("host", "h")],
                "host: the log provider takes no settings",
            ),
            (
                ChannelKind::Sms,
                &[("provider", "http"), ("url", "ftp://x/?t={to}&m={message}")],
                "url: must start with http",
            ),
            (
                ChannelKind::Sms,
                &[
                    ("provider", "http"),
                    ("method", "GET"),
                    ("url", "https://x.test/send"),
                ],
                "url: the request must carry {to}",
            ),
            (
                ChannelKind::Sms,
                &[
                    ("provider", "http"),
                    ("method", "GET"),
                    ("url", "https://x.test/send?to={to}"),
                ],
                "url: the request must carry {message}",
            ),
            (
                ChannelKind::Sms,
                &[
                    ("provider", "http"),
                    ("url", "https://x.test/"),
                    ("body", r#"{"to":"{to}","m":"{msg}"}"#),
                ],
                "body: unknown placeholder {msg}",
            ),
            (
                ChannelKind::Sms,
                &[
                    ("provider", "http"),
                    ("url", "https://x.test/"),
                    ("body", r#"{"to":{to}","m":"{message}"}"#),
                ],
                "body: is not valid JSON",
            ),
            (
                ChannelKind::Sms,
                &[
                    ("provider", "http"),
                    ("url", "https://x.test/"),
                    ("header.X-Key", "{secret}"),
                ],
                "secret: is required",
            ),
            (
                ChannelKind::Sms,
                &[
                    ("provider", "http"),
                    ("url", "https://x.test/"),
                    ("header.Bad Name", "v"),
                ],
                "header.Bad Name: not a valid header name",
            ),
            (
                ChannelKind::Sms,
                &[
                    ("provider", "twilio"),
                    ("accountSid", "AC1"),
                    ("authToken", "t"),
                    ("from", "+15005550006"),
                ],
                "accountSid:",
            ),
            (
                ChannelKind::Sms,
                &[
                    ("provider", "twilio"),
                    ("accountSid", SID),
                    ("authToken", "t"),
                ],
                "from: is required",
            ),
            (
                ChannelKind::Sms,
                &[
                    ("provider", "twilio"),
                    ("accountSid", SID),
                    ("authToken", "t"),
                    ("from", "+1"),
                    ("baseUrl", "localhost:1"),
                ],
                "from:",
            ),
            (
                ChannelKind::Sms,
                &[
                    ("provider", "twilio"),
                    ("accountSid", SID),
                    ("authToken", "t"),
                    ("from", "+15005550006"),
                    ("baseUrl", "mailto:x@y"),
                ],
                "baseUrl:",
            ),
            (
                ChannelKind::Whatsapp,
                &[
                    ("provider", "whatsapp"),
                    ("phoneNumberId", "12a"),
                    ("accessToken", "t"),
                    ("template", "otp"),
                    ("language", "en"),
                ],
                "phoneNumberId:",
            ),
            (
                ChannelKind::Whatsapp,
                &[
                    ("provider", "whatsapp"),
                    ("phoneNumberId", "12"),
                    ("accessToken", "t"),
                    ("template", "otp"),
                    ("language", "en"),
                    ("apiVersion", "21"),
                ],
                "apiVersion:",
            ),
            (
                ChannelKind::Whatsapp,
                &[
                    ("provider", "whatsapp"),
                    ("phoneNumberId", "12"),
                    ("accessToken", "t"),
                    ("template", "otp"),
                    ("language", "en"),
                    ("copyCodeButton", "maybe"),
                ],
                "copyCodeButton:",
            ),
            (
                ChannelKind::Zalo,
                &[("provider", "zalo"), ("templateId", "1")],
                "accessToken: is required",
            ),
            (
                ChannelKind::Zalo,
                &[("provider", "zalo"), ("accessToken", "t")],
                "templateId: is required",
            ),
            (
                ChannelKind::Zalo,
                &[
                    ("provider", "zalo"),
                    ("accessToken", "t"),
                    ("templateId", "1"),
                    ("otpKey", "o-t-p"),
                ],
                "otpKey:",
            ),
        ];
        for (kind, pairs, want) in cases {
            let got = set(*kind, pairs, None).unwrap_err();
            assert!(got.starts_with(want), "{pairs:?}: {got}");
        }
    }

    #[test]
    fn http_gateway_from_settings() {
        let c = set(
            ChannelKind::Sms,
            &[
                ("provider", "http"),
                ("url", "https://sms.example.com/api/send"),
                ("bodyFormat", "form"),
                ("secret", "k3y"),
                ("header.Authorization", "Bearer {secret}"),
            ],
            None,
        )
        .unwrap();
        let ChannelConfig::HttpSms(h) = &c else {
            panic!()
        };
        assert_eq!(
            (h.method, h.body.as_str()),
            (HttpMethod::Post, "to={to}&message={message}")
        );
        assert_eq!(h.headers["Authorization"], "Bearer {secret}");
        // A header with an empty value is removed, whatever case it was stored under.
        let c = set(ChannelKind::Sms, &[("header.authorization", "")], Some(&c)).unwrap();
        let ChannelConfig::HttpSms(h) = &c else {
            panic!()
        };
        assert!(h.headers.is_empty());
        let get = set(
            ChannelKind::Sms,
            &[
                ("provider", "http"),
                ("method", "get"),
                ("url", "http://10.0.0.5/send?to={toDigits}&text={message}"),
            ],
            None,
        )
        .unwrap();
        let ChannelConfig::HttpSms(g) = &get else {
            panic!()
        };
        assert_eq!((g.method, g.body.as_str()), (HttpMethod::Get, ""));
    }

    #[test]
    fn twilio_sender_kinds_replace_each_other() {
        let c = set(
            ChannelKind::Sms,
            &[
                ("provider", "twilio"),
                ("accountSid", SID),
                ("authToken", "tok"),
                ("from", "+15005550006"),
            ],
            None,
        )
        .unwrap();
        let ChannelConfig::Twilio(t) = &c else {
            panic!()
        };
        assert_eq!(t.base_url, "https://api.twilio.com");
        let mg = "MG0123456789abcdef0123456789abcdef";
        let c = set(
            ChannelKind::Sms,
            &[
                ("messagingServiceSid", mg),
                ("baseUrl", "http://127.0.0.1:9/"),
            ],
            Some(&c),
        )
        .unwrap();
        let ChannelConfig::Twilio(t) = &c else {
            panic!()
        };
        assert_eq!(
            (t.from.as_deref(), t.messaging_service_sid.as_deref()),
            (None, Some(mg))
        );
        assert_eq!(
            (t.base_url.as_str(), t.auth_token.expose()),
            ("http://127.0.0.1:9", "tok")
        );
    }

    #[test]
    fn whatsapp_and_zalo_defaults() {
        let c = set(
            ChannelKind::Whatsapp,
            &[
                ("provider", "whatsapp"),
                ("phoneNumberId", "1065"),
                ("accessToken", "EAAG"),
                ("template", "otp_code"),
                ("language", "en_US"),
            ],
            None,
        )
        .unwrap();
        let ChannelConfig::Whatsapp(w) = &c else {
            panic!()
        };
        assert_eq!(
            (
                w.api_version.as_str(),
                w.base_url.as_str(),
                w.copy_code_button
            ),
            ("v21.0", "https://graph.facebook.com", true)
        );
        let c = set(
            ChannelKind::Whatsapp,
            &[("copyCodeButton", "false")],
            Some(&c),
        )
        .unwrap();
        let ChannelConfig::Whatsapp(w) = &c else {
            panic!()
        };
        assert!(!w.copy_code_button);
        assert_eq!(
            (w.access_token.expose(), w.api_version.as_str()),
            ("EAAG", "v21.0")
        );
        let z = set(
            ChannelKind::Zalo,
            &[
                ("provider", "zalo"),
                ("accessToken", "t"),
                ("templateId", "231"),
            ],
            None,
        )
        .unwrap();
        let ChannelConfig::Zalo(z) = &z else { panic!() };
        assert_eq!(
            (z.otp_key.as_str(), z.base_url.as_str()),
            ("otp", "https://business.openapi.zalo.me")
        );
    }
}
