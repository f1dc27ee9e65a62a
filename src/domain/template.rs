//! Message templates: per brand and channel, with optional per-locale variants; placeholders
//! `{otp}`, `{brand}`, `{validityMinutes}` (values are HTML-escaped in HTML bodies). Every
//! template an operator saves passes [`validate_template`]; [`sms_info`] counts GSM 03.38 /
//! UCS-2 characters and segments for the editor.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::brand::Brand;
use super::channel::{ChannelKind, placeholders};

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 3] = ["otp", "brand", "validityMinutes"];

/// A template as an operator saved it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    /// E-mail only.
    pub subject: Option<String>,
    pub text: String,
    /// E-mail only.
    pub html: Option<String>,
}

/// A message ready to send. Holds the code: never logged, never stored unsealed.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rendered(<redacted>)")
    }
}

/// The values a template can use.
#[derive(Clone, Copy, Debug)]
pub struct Values<'a> {
    pub otp: &'a str,
    pub brand: &'a str,
    pub validity_minutes: u32,
}

/// The built-in template of a channel, used until an operator saves one.
pub fn default_template(channel: ChannelKind) -> Template {
    match channel {
        ChannelKind::Email => Template {
            subject: Some("Your {brand} verification code".to_owned()),
            text: "Your {brand} verification code is {otp}. It expires in {validityMinutes} minutes. \
                   If you did not ask for it, ignore this message."
                .to_owned(),
            html: Some(
                "<p>Your {brand} verification code is</p><p style=\"font-size:24px;letter-spacing:4px\"><b>{otp}</b></p>\
                 <p>It expires in {validityMinutes} minutes. If you did not ask for it, ignore this message.</p>"
                    .to_owned(),
            ),
        },
        _ => Template {
            subject: None,
            text: "{otp} is your {brand} code. It expires in {validityMinutes} minutes. Do not share it.".to_owned(),
            html: None,
        },
    }
}

/// A brand's templates for one channel: a base template and per-locale variants keyed by
/// language tag (`vi-VN`, `vi`, `en`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelTemplates {
    /// Used when no locale variant matches; the built-in template when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Template>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub locales: BTreeMap<String, Template>,
}

/// `vi_VN`, `VI-vn` → `vi-vn`: tags compare ignoring case and `_` vs `-`.
fn tag_key(tag: &str) -> String {
    tag.trim().replace('_', "-").to_ascii_lowercase()
}

impl ChannelTemplates {
    /// The variant for `tag`: exact tag, then its language (`vi-VN` → `vi`), then any variant
    /// of that language (`vi` → `vi-VN`).
    fn variant(&self, tag: &str) -> Option<&Template> {
        let wanted = tag_key(tag);
        let language = wanted.split('-').next().unwrap_or_default();
        let find = |matches: &dyn Fn(&str) -> bool| {
            self.locales
                .iter()
                .find(|(k, _)| matches(&tag_key(k)))
                .map(|(_, t)| t)
        };
        find(&|k| k == wanted)
            .or_else(|| find(&|k| k == language))
            .or_else(|| find(&|k| k.split('-').next() == Some(language)))
    }
}

/// The template for `channel` of `brand` in `locale`: the brand's variant for the requested
/// locale (exact, then language), then for the brand's `defaultLocale`, then the brand's base
/// template for the channel, then the built-in one.
pub fn template_for(brand: &Brand, channel: ChannelKind, locale: Option<&str>) -> Template {
    let Some(set) = brand.templates.get(&channel) else {
        return default_template(channel);
    };
    [locale, brand.settings.default_locale.as_deref()]
        .into_iter()
        .flatten()
        .find_map(|tag| set.variant(tag))
        .or(set.default.as_ref())
        .cloned()
        .unwrap_or_else(|| default_template(channel))
}

/// Longest text a mobile template may have (Twilio's limit; ten GSM-7 segments).
const MAX_MOBILE_TEXT: usize = 1600;
const MAX_EMAIL_TEXT: usize = 20_000;
const MAX_HTML: usize = 100_000;
const MAX_SUBJECT: usize = 200;

fn check_placeholders(field: &str, s: &str) -> Result<(), String> {
    match placeholders(s).find(|p| !PLACEHOLDERS.contains(p)) {
        Some(p) => Err(format!(
            "{field}: unknown placeholder {{{p}}}; use {{otp}}, {{brand}}, {{validityMinutes}}"
        )),
        None => Ok(()),
    }
}

fn has_otp(s: &str) -> bool {
    placeholders(s).any(|p| p == "otp")
}

/// Checks a template for `channel`; the error starts with the field (`text: …`). Refused: a
/// text without `{otp}`, an unknown placeholder, an e-mail template without subject, an HTML
/// body without `{otp}`, and subject or HTML on a channel that is not e-mail.
pub fn validate_template(channel: ChannelKind, t: &Template) -> Result<(), String> {
    if t.text.trim().is_empty() {
        return Err("text: is required".to_owned());
    }
    check_placeholders("text", &t.text)?;
    if !has_otp(&t.text) {
        return Err("text: must contain {otp}".to_owned());
    }
    if channel == ChannelKind::Email {
        let subject = t.subject.as_deref().unwrap_or("");
        if subject.trim().is_empty() {
            return Err("subject: an e-mail template needs a subject".to_owned());
        }
        if subject.chars().any(char::is_control) || subject.chars().count() > MAX_SUBJECT {
            return Err(format!(
                "subject: at most {MAX_SUBJECT} characters, no line breaks"
            ));
        }
        check_placeholders("subject", subject)?;
        if t.text.chars().count() > MAX_EMAIL_TEXT {
            return Err(format!("text: at most {MAX_EMAIL_TEXT} characters"));
        }
        if let Some(html) = &t.html {
            check_placeholders("html", html)?;
            if !has_otp(html) {
                return Err("html: must contain {otp}".to_owned());
            }
            if html.len() > MAX_HTML {
                return Err(format!("html: at most {MAX_HTML} bytes"));
            }
        }
    } else {
        if t.subject.is_some() {
            return Err(format!(
                "subject: only e-mail templates have a subject, not {}",
                channel.as_str()
            ));
        }
        if t.html.is_some() {
            return Err(format!(
                "html: only e-mail templates have an HTML body, not {}",
                channel.as_str()
            ));
        }
        if t.text.chars().count() > MAX_MOBILE_TEXT {
            return Err(format!("text: at most {MAX_MOBILE_TEXT} characters"));
        }
    }
    Ok(())
}

/// Checks a channel's whole template set: locale tags and every template, the error naming
/// where (`locales.vi-VN.text: …`).
pub fn validate_channel_templates(
    channel: ChannelKind,
    set: &ChannelTemplates,
) -> Result<(), String> {
    if let Some(t) = &set.default {
        validate_template(channel, t).map_err(|e| format!("default.{e}"))?;
    }
    let mut seen = std::collections::BTreeSet::new();
    for (tag, t) in &set.locales {
        let ok = (2..=16).contains(&tag.len())
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && tag.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        if !ok {
            return Err(format!(
                "locales.{tag}: use a language tag such as en or vi-VN"
            ));
        }
        if !seen.insert(tag_key(tag)) {
            return Err(format!(
                "locales.{tag}: given twice (tags ignore case and _ vs -)"
            ));
        }
        validate_template(channel, t).map_err(|e| format!("locales.{tag}.{e}"))?;
    }
    Ok(())
}

/// How an SMS text travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum SmsEncoding {
    /// The GSM 03.38 7-bit alphabet: 160 characters in one SMS, 153 per part when split.
    #[serde(rename = "GSM-7")]
    Gsm7,
    /// Anything outside it (Vietnamese diacritics, emoji): 70 in one SMS, 67 per part.
    #[serde(rename = "UCS-2")]
    Ucs2,
}

/// What the template editor shows under an SMS text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SmsInfo {
    pub encoding: SmsEncoding,
    /// Septets for GSM-7 (an extension character such as `€` counts 2); UTF-16 units for UCS-2
    /// (an emoji counts 2).
    pub characters: usize,
    pub segments: usize,
}

/// GSM 03.38 basic character set (one septet each).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                         ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// GSM 03.38 extension table (escape + one septet each).
const GSM_EXTENSION: &str = "\u{000C}^{}\\[~]|€";

/// Encoding, length and segment count of an SMS `text` (rendered, placeholders filled).
/// A split message never breaks an extension character or a surrogate pair across parts.
pub fn sms_info(text: &str) -> SmsInfo {
    let gsm_width = |c: char| {
        if GSM_BASIC.contains(c) {
            Some(1)
        } else if GSM_EXTENSION.contains(c) {
            Some(2)
        } else {
            None
        }
    };
    let gsm: Option<Vec<usize>> = text.chars().map(gsm_width).collect();
    let (encoding, widths, single, part) = match gsm {
        Some(w) => (SmsEncoding::Gsm7, w, 160, 153),
        None => (
            SmsEncoding::Ucs2,
            text.chars().map(char::len_utf16).collect(),
            70,
            67,
        ),
    };
    let characters = widths.iter().sum();
    let segments = if characters == 0 {
        0
    } else if characters <= single {
        1
    } else {
        let mut segments = 1;
        let mut used = 0;
        for w in widths {
            if used + w > part {
                segments += 1;
                used = 0;
            }
            used += w;
        }
        segments
    };
    SmsInfo {
        encoding,
        characters,
        segments,
    }
}

/// Fills the placeholders.
pub fn render(t: &Template, v: &Values<'_>) -> Rendered {
    Rendered {
        subject: t.subject.as_deref().map(|s| fill(s, v, false)),
        text: fill(&t.text, v, false),
        html: t.html.as_deref().map(|s| fill(s, v, true)),
    }
}

fn fill(src: &str, v: &Values<'_>, html: bool) -> String {
    let minutes = v.validity_minutes.to_string();
    let mut out = String::with_capacity(src.len() + 16);
    let mut rest = src;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let (value, used) = if after.starts_with("{otp}") {
            (Some(v.otp), 5)
        } else if after.starts_with("{brand}") {
            (Some(v.brand), 7)
        } else if after.starts_with("{validityMinutes}") {
            (Some(minutes.as_str()), 17)
        } else {
            (None, 1)
        };
        match value {
            Some(val) if html => out.push_str(&escape_html(val)),
            Some(val) => out.push_str(val),
            None => out.push('{'),
        }
        rest = &after[used..];
    }
    out.push_str(rest);
    out
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_html_is_escaped() {
        let t = Template {
            subject: Some("{brand} code".into()),
            text: "{otp} for {brand}, {validityMinutes} min {unknown}".into(),
            html: Some("<b>{brand}</b>".into()),
        };
        let r = render(
            &t,
            &Values {
                otp: "123456",
                brand: "A&B",
                validity_minutes: 10,
            },
        );
        assert_eq!(r.text, "123456 for A&B, 10 min {unknown}");
        assert_eq!(r.subject.as_deref(), Some("A&B code"));
        assert_eq!(r.html.as_deref(), Some("<b>A&amp;B</b>"));
    }

    fn sms(text: &str) -> Template {
        Template {
            subject: None,
            text: text.into(),
            html: None,
        }
    }

    fn brand_with(default_locale: Option<&str>, set: ChannelTemplates) -> Brand {
        let settings = crate::domain::BrandSettings {
            default_locale: default_locale.map(str::to_owned),
            ..Default::default()
        };
        let mut b = Brand::new(
            crate::domain::BrandName::parse("acme").unwrap(),
            settings,
            0,
        );
        b.templates.insert(ChannelKind::Sms, set);
        b
    }

    #[test]
    fn template_for_picks_exact_then_language_then_brand_locale_then_default() {
        let set = ChannelTemplates {
            default: Some(sms("base {otp}")),
            locales: BTreeMap::from([
                ("vi-VN".to_owned(), sms("vi-VN {otp}")),
                ("vi".to_owned(), sms("vi {otp}")),
                ("en_GB".to_owned(), sms("en-GB {otp}")),
                ("fr".to_owned(), sms("fr {otp}")),
            ]),
        };
        let b = brand_with(Some("fr"), set.clone());
        let pick = |locale: Option<&str>| template_for(&b, ChannelKind::Sms, locale).text;
        assert_eq!(pick(Some("vi-VN")), "vi-VN {otp}");
        assert_eq!(pick(Some("vi_vn")), "vi-VN {otp}");
        assert_eq!(pick(Some("vi-US")), "vi {otp}");
        assert_eq!(pick(Some("en")), "en-GB {otp}");
        assert_eq!(pick(Some("de-DE")), "fr {otp}");
        assert_eq!(pick(None), "fr {otp}");
        let no_default_locale = brand_with(None, set);
        assert_eq!(
            template_for(&no_default_locale, ChannelKind::Sms, Some("de")).text,
            "base {otp}"
        );
        let only_variants = brand_with(
            None,
            ChannelTemplates {
                default: None,
                locales: BTreeMap::new(),
            },
        );
        assert_eq!(
            template_for(&only_variants, ChannelKind::Sms, Some("de")),
            default_template(ChannelKind::Sms)
        );
        assert_eq!(
            template_for(&only_variants, ChannelKind::Email, None),
            default_template(ChannelKind::Email)
        );
    }

    #[test]
    fn brand_templates_round_trip_and_old_brands_load_without_them() {
        let b = brand_with(
            Some("vi"),
            ChannelTemplates {
                default: Some(sms("{otp}")),
                locales: BTreeMap::new(),
            },
        );
        let json = serde_json::to_value(&b).unwrap();
        assert_eq!(json["templates"]["SMS"]["default"]["text"], "{otp}");
        assert_eq!(serde_json::from_value::<Brand>(json.clone()).unwrap(), b);
        let mut old = json;
        old.as_object_mut().unwrap().remove("templates");
        assert!(
            serde_json::from_value::<Brand>(old)
                .unwrap()
                .templates
                .is_empty()
        );
    }

    #[test]
    fn the_built_in_templates_are_valid() {
        for channel in ChannelKind::ALL {
            validate_template(channel, &default_template(channel)).unwrap();
        }
    }

    #[test]
    fn validate_template_names_the_problem() {
        let email = |subject: Option<&str>, text: &str, html: Option<&str>| Template {
            subject: subject.map(str::to_owned),
            text: text.into(),
            html: html.map(str::to_owned),
        };
        let cases = [
            (
                ChannelKind::Sms,
                sms("your code"),
                "text: must contain {otp}",
            ),
            (ChannelKind::Sms, sms(""), "text: is required"),
            (
                ChannelKind::Sms,
                sms("{otp} {code}"),
                "text: unknown placeholder {code}",
            ),
            (
                ChannelKind::Sms,
                sms(&format!("{{otp}}{}", "x".repeat(1600))),
                "text: at most 1600",
            ),
            (
                ChannelKind::Zalo,
                email(Some("s"), "{otp}", None),
                "subject: only e-mail",
            ),
            (
                ChannelKind::Whatsapp,
                email(None, "{otp}", Some("<b>{otp}</b>")),
                "html: only e-mail",
            ),
            (
                ChannelKind::Email,
                email(None, "{otp}", None),
                "subject: an e-mail template needs a subject",
            ),
            (
                ChannelKind::Email,
                email(Some("  "), "{otp}", None),
                "subject: an e-mail template needs a subject",
            ),
            (
                ChannelKind::Email,
                email(Some("a\r\nBcc: x"), "{otp}", None),
                "subject: at most",
            ),
            (
                ChannelKind::Email,
                email(Some("{Brand} code"), "{otp}", None),
                "subject: unknown placeholder {Brand}",
            ),
            (
                ChannelKind::Email,
                email(Some("s"), "{otp}", Some("<p>hi</p>")),
                "html: must contain {otp}",
            ),
            (
                ChannelKind::Email,
                email(Some("s"), "{otp}", Some("<p>{otp} {minutes}</p>")),
                "html: unknown placeholder {minutes}",
            ),
        ];
        for (channel, t, want) in cases {
            let got = validate_template(channel, &t).unwrap_err();
            assert!(got.starts_with(want), "{t:?}: {got}");
        }
        // CSS and JSON braces are text, not placeholders.
        let css = email(
            Some("{brand}"),
            "{otp}",
            Some("<style>p{color:red}</style><p>{otp}</p>"),
        );
        validate_template(ChannelKind::Email, &css).unwrap();
    }

    #[test]
    fn channel_template_sets_name_the_locale() {
        let set = ChannelTemplates {
            default: None,
            locales: BTreeMap::from([("vi-VN".to_owned(), sms("no code"))]),
        };
        assert_eq!(
            validate_channel_templates(ChannelKind::Sms, &set).unwrap_err(),
            "locales.vi-VN.text: must contain {otp}"
        );
        let twice = ChannelTemplates {
            default: Some(sms("x")),
            locales: BTreeMap::new(),
        };
        assert_eq!(
            validate_channel_templates(ChannelKind::Sms, &twice).unwrap_err(),
            "default.text: must contain {otp}"
        );
        let dup = ChannelTemplates {
            default: None,
            locales: BTreeMap::from([
                ("vi-VN".to_owned(), sms("{otp}")),
                ("vi_vn".to_owned(), sms("{otp}")),
            ]),
        };
        assert!(
            validate_channel_templates(ChannelKind::Sms, &dup)
                .unwrap_err()
                .contains("given twice")
        );
        let bad = ChannelTemplates {
            default: None,
            locales: BTreeMap::from([("v i".to_owned(), sms("{otp}"))]),
        };
        assert!(
            validate_channel_templates(ChannelKind::Sms, &bad)
                .unwrap_err()
                .starts_with("locales.v i:")
        );
    }

    fn info(text: &str) -> (SmsEncoding, usize, usize) {
        let i = sms_info(text);
        (i.encoding, i.characters, i.segments)
    }

    #[test]
    fn sms_info_counts_gsm7() {
        assert_eq!(info(""), (SmsEncoding::Gsm7, 0, 0));
        assert_eq!(
            info("123456 is your ACME code."),
            (SmsEncoding::Gsm7, 25, 1)
        );
        assert_eq!(info(&"a".repeat(160)), (SmsEncoding::Gsm7, 160, 1));
        assert_eq!(info(&"a".repeat(161)), (SmsEncoding::Gsm7, 161, 2));
        assert_eq!(info(&"a".repeat(306)), (SmsEncoding::Gsm7, 306, 2));
        assert_eq!(info(&"a".repeat(307)), (SmsEncoding::Gsm7, 307, 3));
        // Basic-set letters outside ASCII stay GSM-7; extension characters count 2.
        assert_eq!(info("Ñandù @ £5 ¿Δ? é"), (SmsEncoding::Gsm7, 16, 1));
        assert_eq!(info("€{}[]~|^\\\u{c}"), (SmsEncoding::Gsm7, 20, 1));
        assert_eq!(info(&"€".repeat(80)), (SmsEncoding::Gsm7, 160, 1));
        assert_eq!(info(&"€".repeat(81)), (SmsEncoding::Gsm7, 162, 2));
        // An escape pair is never split: 152 + € does not fit in the first part's 153.
        assert_eq!(
            info(&format!("{}€{}", "a".repeat(152), "a".repeat(152))),
            (SmsEncoding::Gsm7, 306, 3)
        );
    }

    #[test]
    fn sms_info_counts_ucs2() {
        // Letters outside the GSM set (ú, Vietnamese diacritics) switch the whole message to UCS-2.
        assert_eq!(info("Ñandú").0, SmsEncoding::Ucs2);
        assert_eq!(info("Mã OTP của bạn là 123456"), (SmsEncoding::Ucs2, 24, 1));
        assert_eq!(info(&"ă".repeat(70)), (SmsEncoding::Ucs2, 70, 1));
        assert_eq!(info(&"ă".repeat(71)), (SmsEncoding::Ucs2, 71, 2));
        assert_eq!(info(&"ă".repeat(134)), (SmsEncoding::Ucs2, 134, 2));
        assert_eq!(info(&"ă".repeat(135)), (SmsEncoding::Ucs2, 135, 3));
        // An emoji is a surrogate pair: 2 units, never split.
        assert_eq!(info("🔐 123456"), (SmsEncoding::Ucs2, 9, 1));
        assert_eq!(
            info(&format!("{}🔐", "ă".repeat(66))),
            (SmsEncoding::Ucs2, 68, 1)
        );
        assert_eq!(
            info(&format!("{}🔐{}", "ă".repeat(66), "ă".repeat(5))),
            (SmsEncoding::Ucs2, 73, 2)
        );
        assert_eq!(
            info(&format!("{}🔐{}", "ă".repeat(66), "ă".repeat(66))),
            (SmsEncoding::Ucs2, 134, 3)
        );
        assert_eq!(
            serde_json::to_value(sms_info("ă")).unwrap(),
            serde_json::json!({"encoding": "UCS-2", "characters": 1, "segments": 1})
        );
        assert_eq!(serde_json::to_value(SmsEncoding::Gsm7).unwrap(), "GSM-7");
    }
}
