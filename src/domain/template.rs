//! Message templates: per brand and channel, placeholders `{otp}`, `{brand}`,
//! `{validityMinutes}`. Values are HTML-escaped in HTML bodies.

use serde::{Deserialize, Serialize};

use super::brand::Brand;
use super::channel::ChannelKind;

/// A template as an operator saved it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// The template for `channel` of `brand` (operator templates arrive with the delivery work).
pub fn template_for(_brand: &Brand, channel: ChannelKind, _locale: Option<&str>) -> Template {
    default_template(channel)
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
}
