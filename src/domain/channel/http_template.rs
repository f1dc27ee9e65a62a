//! The HTTP gateway's request template: finding `{name}` placeholders and filling them, each
//! value encoded for where it lands (URL, JSON string, form body, header).

/// The `{name}` placeholders in `s`: a `{` followed by word characters and `}`. Other braces
/// (JSON, CSS) are literal text.
pub(crate) fn placeholders(s: &str) -> impl Iterator<Item = &str> {
    s.match_indices('{').filter_map(move |(i, _)| {
        let rest = &s[i + 1..];
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
        (end > 0 && rest[end..].starts_with('}')).then(|| &rest[..end])
    })
}

/// A sample number used to check that a template still makes a valid URL / JSON body.
pub(crate) const SAMPLE_TO: &str = "+84901234567";

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

#[cfg(test)]
mod tests {
    use super::*;

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
