//! Sessions (docs/api.md §3): what a `sessionId` is bound to, and the code it currently holds.

use std::fmt;

use super::brand::BrandName;
use super::identifier::{Destination, Identifier};

/// The `X-<uuid>` session identifier. We issue `P-` + UUIDv4; any upper-case letter prefix is
/// accepted on input.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    pub fn new_random() -> Self {
        Self(format!("P-{}", uuid::Uuid::new_v4()))
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let bytes = raw.as_bytes();
        let ok = bytes.len() == 38
            && bytes[0].is_ascii_uppercase()
            && bytes[1] == b'-'
            && uuid::Uuid::try_parse(&raw[2..]).is_ok()
            && raw[2..].bytes().all(|b| b == b'-' || b.is_ascii_hexdigit());
        if ok {
            Ok(Self(format!(
                "{}-{}",
                &raw[..1],
                raw[2..].to_ascii_lowercase()
            )))
        } else {
            Err("a sessionId looks like P-<uuid>")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which path family a request came on: the mobile one needs a `deviceId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flow {
    Mobile,
    Web,
}

impl Flow {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Mobile => "MOBILE",
            Self::Web => "WEB",
        }
    }
}

/// The keyed hash of the code a session holds; the code itself is never stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCode {
    pub key_id: u32,
    pub hash: [u8; 32],
    pub issued_ms: i64,
    pub expires_ms: i64,
    /// The issuance-log record of this code, marked VALIDATED on success.
    pub log_id: uuid::Uuid,
}

/// A session and its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub brand: BrandName,
    pub identifier: Identifier,
    pub device: Option<String>,
    pub flow: Flow,
    pub created_ms: i64,
    pub expires_ms: i64,
    /// Destinations given at token/generate (`mobile`, `email`), for USERNAME and fallbacks.
    pub mobile: Option<Destination>,
    pub email: Option<Destination>,
    pub code: Option<IssuedCode>,
    /// Wrong codes so far; a resend does not reset it.
    pub failed_attempts: u32,
    /// Set once a code was validated: the session is single use.
    pub consumed: bool,
}

impl Session {
    pub fn is_live(&self, now_ms: i64) -> bool {
        !self.consumed && now_ms < self.expires_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_parse_and_keep_their_prefix() {
        let id = SessionId::new_random();
        assert_eq!(SessionId::parse(id.as_str()).unwrap(), id);
        let d = SessionId::parse("D-502259D3-D4D6-4458-BC5F-B89D3D8E4C7B").unwrap();
        assert_eq!(d.as_str(), "D-502259d3-d4d6-4458-bc5f-b89d3d8e4c7b");
        for bad in [
            "",
            "P-123",
            "p-502259d3-d4d6-4458-bc5f-b89d3d8e4c7b",
            "PP502259d3-d4d6-4458-bc5f-b89d3d8e4c7b",
        ] {
            assert!(SessionId::parse(bad).is_err(), "{bad}");
        }
    }
}
