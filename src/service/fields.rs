//! Typed access to the fields of one request object. Every problem becomes a 1519 whose message
//! names the field; control characters are refused everywhere.

use serde_json::{Map, Value};

use crate::domain::Refusal;
use crate::domain::signature::SignedFields;

pub struct Fields<'a>(pub &'a Map<String, Value>);

impl<'a> Fields<'a> {
    /// A string field; `None` when absent or null.
    pub fn opt_str(&self, name: &'static str) -> Result<Option<&'a str>, Refusal> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.len() > 1024 => {
                Err(Refusal::invalid(format!("{name} is too long")))
            }
            Some(Value::String(s)) if s.chars().any(char::is_control) => Err(Refusal::invalid(
                format!("{name} contains a control character"),
            )),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(Refusal::invalid(format!("{name} must be a string"))),
        }
    }

    /// A mandatory, non-empty string field.
    pub fn req_str(&self, name: &'static str) -> Result<&'a str, Refusal> {
        match self.opt_str(name)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(Refusal::invalid(format!("{name} is empty"))),
            None => Err(Refusal::invalid(format!("{name} is required"))),
        }
    }

    /// A raw value (for `otp`, which may be a string or a number).
    pub fn raw(&self, name: &'static str) -> Option<&'a Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// `timeStamp`: epoch milliseconds as an integer or a string of digits, as text.
    pub fn timestamp_text(&self) -> Result<Option<String>, Refusal> {
        match self.0.get("timeStamp") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
            Some(Value::String(s))
                if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Ok(Some(s.clone()))
            }
            Some(_) => Err(Refusal::invalid(
                "timeStamp must be epoch milliseconds as an integer",
            )),
        }
    }

    /// The text of a field as it was sent, for the signed message (`""` when absent).
    pub fn as_sent(&self, name: &'static str) -> String {
        match self.0.get(name) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        }
    }
}

/// The text of the signed fields as a request sent them (docs/api.md §5), for building the signed
/// message.
pub struct SentForSigning {
    time_stamp: String,
    brand: String,
    identifier_type: String,
    identifier_value: String,
    device_id: String,
    session_id: String,
    otp: String,
}

impl SentForSigning {
    pub fn new(f: &Fields<'_>, time_stamp: String) -> Self {
        Self {
            time_stamp,
            brand: f.as_sent("brand"),
            identifier_type: f.as_sent("identifierType"),
            identifier_value: f.as_sent("identifierValue"),
            device_id: f.as_sent("deviceId"),
            session_id: f.as_sent("sessionId"),
            otp: f.as_sent("otp"),
        }
    }

    /// The fields as signed on `path`.
    pub fn fields<'a>(&'a self, path: &'a str) -> SignedFields<'a> {
        SignedFields {
            time_stamp: &self.time_stamp,
            path,
            brand: &self.brand,
            identifier_type: &self.identifier_type,
            identifier_value: &self.identifier_value,
            device_id: &self.device_id,
            session_id: &self.session_id,
            otp: &self.otp,
        }
    }
}
