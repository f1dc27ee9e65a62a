//! Console operators: their names, roles and the password rule. Passwords are never kept: the
//! store holds an argon2id PHC string (`secrets::hash_password`), and `Debug` never prints it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An operator's login name: 1–64 of `a-z 0-9 . _ - @`, matched case-insensitively, kept lower-case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OperatorName(String);

impl OperatorName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let raw = raw.trim();
        let ok = (1..=64).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if ok {
            Ok(Self(raw.to_ascii_lowercase()))
        } else {
            Err("an operator name has 1 to 64 of a-z 0-9 . _ - @")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OperatorName {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<OperatorName> for String {
    fn from(n: OperatorName) -> Self {
        n.0
    }
}

impl fmt::Display for OperatorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an operator may do.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything, changes nothing.
    Viewer,
    /// Reads and changes settings, brands, keys and operators.
    Admin,
}

impl Role {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "admin" => Some(Self::Admin),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Viewer => "viewer",
        }
    }
}

/// An argon2id hash in PHC string form. Opaque: only `secrets` makes and checks one.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(pub String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

/// One console account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    pub name: OperatorName,
    pub role: Role,
    pub password: PasswordHash,
    pub disabled: bool,
    /// Set by an admin's password reset: the operator must choose a new one before anything else.
    pub must_change_password: bool,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub last_login_ms: Option<i64>,
}

/// Passwords: 12 to 256 characters, nothing else demanded (NIST SP 800-63B: length, not
/// composition rules). Returns the problem in the operator's words.
pub fn check_password_rule(password: &str) -> Result<(), &'static str> {
    let chars = password.chars().count();
    if chars < 12 {
        Err("use at least 12 characters")
    } else if chars > 256 {
        Err("use at most 256 characters")
    } else if password.trim().is_empty() {
        Err("a password cannot be only spaces")
    } else {
        Ok(())
    }
}

/// A console login. The browser holds a random token; the store keeps only its SHA-256, so a
/// copy of the store opens no session. Mutating calls must also carry `csrf_token`.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub operator: OperatorName,
    pub csrf_token: String,
    pub created_ms: i64,
    pub last_seen_ms: i64,
}

impl ConsoleSession {
    /// Live until idle for `idle_ms`, and never longer than `max_ms` after login.
    pub fn is_live(&self, now_ms: i64, idle_ms: i64, max_ms: i64) -> bool {
        now_ms - self.last_seen_ms < idle_ms && now_ms - self.created_ms < max_ms
    }
}

impl fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleSession")
            .field("operator", &self.operator)
            .field("created_ms", &self.created_ms)
            .field("last_seen_ms", &self.last_seen_ms)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_cased_and_checked() {
        assert_eq!(OperatorName::parse("Alice").unwrap().as_str(), "alice");
        assert_eq!(
            OperatorName::parse("ops@example.com").unwrap().as_str(),
            "ops@example.com"
        );
        assert!(OperatorName::parse("").is_err());
        assert!(OperatorName::parse("has space").is_err());
        assert!(OperatorName::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn the_password_rule_is_about_length() {
        assert!(check_password_rule("short").is_err());
        assert!(check_password_rule("            ").is_err());
        assert!(check_password_rule("correct horse").is_ok());
        assert!(check_password_rule(&"x".repeat(257)).is_err());
        // Characters, not bytes: 12 Vietnamese letters pass.
        assert!(check_password_rule("ăâđêôơưăâđêô").is_ok());
    }

    #[test]
    fn a_session_ends_when_idle_or_too_old() {
        let s = ConsoleSession {
            operator: OperatorName::parse("alice").unwrap(),
            csrf_token: "c".repeat(64),
            created_ms: 0,
            last_seen_ms: 1_000,
        };
        assert!(s.is_live(1_000 + 59_999, 60_000, 3_600_000));
        assert!(!s.is_live(1_000 + 60_000, 60_000, 3_600_000));
        let busy = ConsoleSession {
            last_seen_ms: 3_599_000,
            ..s.clone()
        };
        assert!(!busy.is_live(3_600_000, 60_000, 3_600_000));
        assert!(!format!("{s:?}").contains("ccc"));
    }

    #[test]
    fn debug_never_prints_a_hash() {
        let h = PasswordHash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
        assert_eq!(format!("{h:?}"), "PasswordHash(..)");
    }
}
