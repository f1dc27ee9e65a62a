//! The audit trail's entries: who changed what, with the values before and after. Secrets never
//! enter an entry: [`redact`] blanks every value stored under a secret's name, and brand changes
//! are recorded from the brand's redacted view ([`brand_change`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Brand;

/// One change: who, when, what, and the changed values before → after.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Opaque and time-ordered: the cursor for the next page.
    pub id: String,
    pub at_ms: i64,
    /// The operator's name, `cli` (the local CLI's token) or `desktop` (the desktop app).
    pub actor: String,
    /// What was done, e.g. `brand.update`, `signing.rotate`, `operator.add`.
    pub action: String,
    pub brand: Option<String>,
    /// What inside the brand (a channel, a customer) or which operator.
    pub target: Option<String>,
    /// The changed values as they were (null for a creation) …
    pub before: Value,
    /// … and as they are (null for a removal; for actions, what was done).
    pub after: Value,
}

/// Before and after of a change.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Change {
    pub before: Value,
    pub after: Value,
}

impl Change {
    pub fn new(before: Value, after: Value) -> Self {
        Self { before, after }
    }

    /// An action that changes no stored value (a test message): only what was done.
    pub fn action(detail: Value) -> Self {
        Self {
            before: Value::Null,
            after: detail,
        }
    }

    /// Only the entries that differ, for two JSON objects of the same shape.
    pub fn diff(before: &Value, after: &Value) -> Self {
        let (Value::Object(b), Value::Object(a)) = (before, after) else {
            return Self::new(before.clone(), after.clone());
        };
        let mut old = Map::new();
        let mut new = Map::new();
        for key in b.keys().chain(a.keys().filter(|k| !b.contains_key(*k))) {
            let (x, y) = (b.get(key), a.get(key));
            if x != y {
                old.insert(key.clone(), x.cloned().unwrap_or(Value::Null));
                new.insert(key.clone(), y.cloned().unwrap_or(Value::Null));
            }
        }
        Self::new(Value::Object(old), Value::Object(new))
    }

    /// Both sides with every secret blanked.
    pub fn redacted(mut self) -> Self {
        redact(&mut self.before);
        redact(&mut self.after);
        self
    }
}

/// A brand as the audit trail sees it: settings one by one, each channel (secrets shown as
/// "set"), each channel's templates and the signing keys' ids and states, flattened so a diff
/// names exactly what changed (`dailyOtpLimit`, `channels.EMAIL`, `signingKeys`).
pub fn brand_view(b: &Brand) -> Value {
    let mut out = match serde_json::to_value(&b.settings) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for (kind, config) in &b.channels {
        out.insert(
            format!("channels.{}", kind.as_str()),
            serde_json::to_value(config.redacted()).unwrap_or_default(),
        );
    }
    for (kind, templates) in &b.templates {
        out.insert(
            format!("templates.{}", kind.as_str()),
            serde_json::to_value(templates).unwrap_or_default(),
        );
    }
    let keys: Vec<Value> = b
        .signing_keys
        .iter()
        .map(|k| serde_json::json!({"id": k.id, "state": k.state}))
        .collect();
    out.insert("signingKeys".into(), Value::Array(keys));
    Value::Object(out)
}

/// What changed between two states of a brand (either may be absent: created, removed).
pub fn brand_change(before: Option<&Brand>, after: Option<&Brand>) -> Change {
    let view = |b: Option<&Brand>| b.map_or(Value::Object(Map::new()), brand_view);
    let change = Change::diff(&view(before), &view(after));
    Change {
        before: if before.is_some() {
            change.before
        } else {
            Value::Null
        },
        after: if after.is_some() {
            change.after
        } else {
            Value::Null
        },
    }
    .redacted()
}

/// Names under which a value is a secret wherever it appears: provider credentials, signing
/// secrets, passwords, test identifiers' fixed codes.
const SECRET_NAMES: [&str; 9] = [
    "password",
    "secret",
    "authToken",
    "accessToken",
    "otp",
    "token",
    "newPassword",
    "currentPassword",
    "temporaryPassword",
];

/// Replaces every non-empty value stored under a secret's name with `"redacted"` (a `"set"`
/// marker stays as it is: it is not the secret).
pub fn redact(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                let secret = SECRET_NAMES.contains(&k.as_str());
                let blank = matches!(v, Value::Null) || v.as_str().is_some_and(str::is_empty);
                if secret && !blank && v.as_str() != Some("set") {
                    *v = Value::String("redacted".into());
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_diff_keeps_only_what_changed() {
        let c = Change::diff(
            &json!({"a": 1, "b": 2, "gone": true}),
            &json!({"a": 1, "b": 3, "new": "x"}),
        );
        assert_eq!(c.before, json!({"b": 2, "gone": true, "new": null}));
        assert_eq!(c.after, json!({"b": 3, "gone": null, "new": "x"}));
    }

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let mut v = json!({
            "testIdentifiers": [{"identifierType": "MOBILE", "identifierValue": "+84901", "otp": "123456"}],
            "config": {"provider": "SMTP", "password": "set", "host": "h"},
            "secret": "c2VjcmV0",
            "empty": {"password": ""}
        });
        redact(&mut v);
        assert_eq!(v["testIdentifiers"][0]["otp"], "redacted");
        assert_eq!(v["testIdentifiers"][0]["identifierValue"], "+84901");
        assert_eq!(v["config"]["password"], "set");
        assert_eq!(v["secret"], "redacted");
        assert_eq!(v["empty"]["password"], "");
    }

    #[test]
    fn a_brand_change_names_the_setting_and_hides_test_codes() {
        let before = Brand::demo(0);
        let mut after = before.clone();
        after.settings.daily_otp_limit = 3;
        after.settings.test_identifiers = vec![crate::domain::brand::TestIdentifier {
            identifier_type: crate::domain::IdentifierType::Mobile,
            identifier_value: "+84900000000".into(),
            otp: "123456".into(),
        }];
        let c = brand_change(Some(&before), Some(&after));
        assert_eq!(c.before["dailyOtpLimit"], 10);
        assert_eq!(c.after["dailyOtpLimit"], 3);
        assert!(!c.after.to_string().contains("123456"), "{}", c.after);
        assert!(c.after.get("otpLength").is_none());
    }
}
