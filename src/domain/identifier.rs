//! Customer identifiers (docs/api.md §2): parsed and normalised once at the boundary. Normalised
//! values are what sessions, limits and logs store and compare.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `identifierType` on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum IdentifierType {
    Mobile,
    Email,
    Username,
}

impl IdentifierType {
    /// Exact match on the upper-case wire names; anything else is 1546.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "MOBILE" => Some(Self::Mobile),
            "EMAIL" => Some(Self::Email),
            "USERNAME" => Some(Self::Username),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Mobile => "MOBILE",
            Self::Email => "EMAIL",
            Self::Username => "USERNAME",
        }
    }
}

/// A validated identifier: its type and normalised value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Identifier {
    kind: IdentifierType,
    value: String,
}

impl Identifier {
    /// Parses and normalises `raw` as `kind`. The error says what is wrong, for a 1519 message.
    pub fn parse(kind: IdentifierType, raw: &str) -> Result<Self, &'static str> {
        let value = match kind {
            IdentifierType::Mobile => normalise_mobile(raw)?,
            IdentifierType::Email => normalise_email(raw)?,
            IdentifierType::Username => parse_username(raw)?,
        };
        Ok(Self { kind, value })
    }

    pub fn kind(&self) -> IdentifierType {
        self.kind
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// The destination this identifier is itself, if it is one (USERNAME is not).
    pub fn as_destination(&self) -> Option<Destination> {
        match self.kind {
            IdentifierType::Mobile => Some(Destination::Mobile(self.value.clone())),
            IdentifierType::Email => Some(Destination::Email(self.value.clone())),
            IdentifierType::Username => None,
        }
    }
}

impl fmt::Display for Identifier {
    /// `TYPE|value`, the form of a token's `sub` claim.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}|{}", self.kind.as_str(), self.value)
    }
}

/// Where a code goes: a mobile number (digits with country code, no `+`) or an e-mail address.
/// The daily limit counts per (brand, destination).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Destination {
    Mobile(String),
    Email(String),
}

impl Destination {
    /// Parses the `mobile` / `email` body fields.
    pub fn mobile(raw: &str) -> Result<Self, &'static str> {
        normalise_mobile(raw).map(Self::Mobile)
    }

    pub fn email(raw: &str) -> Result<Self, &'static str> {
        normalise_email(raw).map(Self::Email)
    }

    /// The stable key used in the store: `MOBILE:<digits>` or `EMAIL:<address>`, the address
    /// case-folded whole. The daily limit, the cooldown, overrides and the log's customer
    /// index key on it: `Jane@x.com` and `jane@x.com` are one inbox, so one limit (a client
    /// cannot get a fresh limit by changing the case). Delivery uses the address as given.
    pub fn key(&self) -> String {
        match self {
            Self::Mobile(m) => format!("MOBILE:{m}"),
            Self::Email(e) => format!("EMAIL:{}", e.to_lowercase()),
        }
    }

    /// Inverse of [`Destination::key`], also the CLI's `TYPE:value` form. A bare value is
    /// taken as EMAIL when it has an `@`, else MOBILE.
    pub fn parse_key(s: &str) -> Result<Self, &'static str> {
        match s.split_once(':') {
            Some(("MOBILE", v)) => Self::mobile(v),
            Some(("EMAIL", v)) => Self::email(v),
            _ if s.contains('@') => Self::email(s),
            _ => Self::mobile(s),
        }
    }

    /// The address a provider needs: `+<digits>` for phones.
    pub fn address(&self) -> String {
        match self {
            Self::Mobile(m) => format!("+{m}"),
            Self::Email(e) => e.clone(),
        }
    }

    /// A masked form for logs and lists: `+8490*****67`, `j***@example.com`.
    pub fn masked(&self) -> String {
        match self {
            Self::Mobile(m) => {
                // Counted in characters, not bytes: an outbox job's destination is read back
                // from its record without being parsed again, and a damaged or restored record
                // must not make a log line panic (slicing bytes did, inside a multi-byte
                // character; found by `fuzz/fuzz_targets/identifier.rs`).
                let chars: Vec<char> = m.chars().collect();
                let keep_head = 4.min(chars.len());
                let keep_tail = 2.min(chars.len() - keep_head);
                let hidden = chars.len() - keep_head - keep_tail;
                let head: String = chars[..keep_head].iter().collect();
                let tail: String = chars[chars.len() - keep_tail..].iter().collect();
                format!("+{head}{}{tail}", "*".repeat(hidden))
            }
            Self::Email(e) => match e.split_once('@') {
                Some((local, domain)) => {
                    let first = local.chars().next().unwrap_or('*');
                    format!("{first}***@{domain}")
                }
                None => "***".to_owned(),
            },
        }
    }
}

fn normalise_mobile(raw: &str) -> Result<String, &'static str> {
    let trimmed = raw.trim();
    let without_plus = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let mut digits = String::with_capacity(without_plus.len());
    for c in without_plus.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' => {}
            _ => {
                return Err(
                    "a mobile number holds only digits, an optional leading +, spaces and -",
                );
            }
        }
    }
    if !(8..=15).contains(&digits.len()) {
        return Err("a mobile number has 8 to 15 digits with its country code");
    }
    Ok(digits)
}

fn normalise_email(raw: &str) -> Result<String, &'static str> {
    let trimmed = raw.trim();
    if trimmed.len() > 254 {
        return Err("an e-mail address has at most 254 characters");
    }
    let Some((local, domain)) = trimmed.split_once('@') else {
        return Err("an e-mail address needs one @");
    };
    let valid_local = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_graphic() && !"@<>()[]\\,;:\"".contains(c));
    if !valid_local {
        return Err("the part of the e-mail address before the @ is not valid");
    }
    let valid_domain = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !valid_domain {
        return Err("the domain of the e-mail address is not valid");
    }
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

fn parse_username(raw: &str) -> Result<String, &'static str> {
    let ok = (1..=64).contains(&raw.len())
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err("a username has 1 to 64 of A-Z a-z 0-9 . _ - @")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mobile_numbers_are_normalised_to_digits() {
        let id = Identifier::parse(IdentifierType::Mobile, "+84 901-234 567").unwrap();
        assert_eq!(id.value(), "84901234567");
        assert_eq!(id.as_destination().unwrap().address(), "+84901234567");
    }

    #[test]
    fn bad_mobiles_are_refused() {
        for bad in [
            "1234567",
            "1234567890123456",
            "+84 90x 234",
            "",
            "++84901234567",
        ] {
            assert!(
                Identifier::parse(IdentifierType::Mobile, bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn email_domain_is_lower_cased_but_local_part_kept() {
        let id = Identifier::parse(IdentifierType::Email, "Jane.Doe@Example.COM").unwrap();
        assert_eq!(id.value(), "Jane.Doe@example.com");
    }

    #[test]
    fn email_keys_ignore_case_so_one_inbox_has_one_limit() {
        let a = Destination::email("Jane.Doe@Example.com").unwrap();
        let b = Destination::email("jane.doe@example.COM").unwrap();
        assert_ne!(a, b, "delivery keeps the address as given");
        assert_eq!(a.key(), b.key());
        assert_eq!(a.key(), "EMAIL:jane.doe@example.com");
        assert_eq!(a.address(), "Jane.Doe@example.com");
    }

    #[test]
    fn bad_emails_are_refused() {
        for bad in [
            "plain",
            "a@b",
            "@example.com",
            "a@@example.com",
            "a@.example.com",
            "a b@x.com",
        ] {
            assert!(
                Identifier::parse(IdentifierType::Email, bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn masks_hide_the_middle() {
        assert_eq!(
            Destination::Mobile("84901234567".into()).masked(),
            "+8490*****67"
        );
        assert_eq!(
            Destination::Email("jane@example.com".into()).masked(),
            "j***@example.com"
        );
    }

    #[test]
    fn masking_counts_characters_not_bytes() {
        // Regression (cargo fuzz, target `identifier`): the mask sliced the number by bytes
        // and panicked when a record held a multi-byte character at the cut.
        assert_eq!(
            Destination::Mobile("+\u{fffd}\u{fffd}\u{fffd}\u{fffd}".into()).masked(),
            "++\u{fffd}\u{fffd}\u{fffd}\u{fffd}"
        );
        assert_eq!(
            Destination::Mobile("849\u{fffd}0123456".into()).masked(),
            "+849\u{fffd}*****56"
        );
        assert_eq!(Destination::Mobile("84".into()).masked(), "+84");
        assert_eq!(Destination::Mobile(String::new()).masked(), "+");
    }

    proptest! {
        #[test]
        fn normalising_a_normalised_mobile_is_identity(digits in "[0-9]{8,15}") {
            let once = Identifier::parse(IdentifierType::Mobile, &format!("+{digits}")).unwrap();
            let twice = Identifier::parse(IdentifierType::Mobile, once.value()).unwrap();
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn destination_keys_round_trip(digits in "[0-9]{8,15}", local in "[a-z0-9._]{1,20}") {
            for d in [Destination::Mobile(digits.clone()), Destination::Email(format!("{local}@example.org"))] {
                prop_assert_eq!(Destination::parse_key(&d.key()).unwrap(), d);
            }
        }

        #[test]
        fn parse_never_panics(raw in "\\PC{0,300}") {
            for kind in [IdentifierType::Mobile, IdentifierType::Email, IdentifierType::Username] {
                let _ = Identifier::parse(kind, &raw);
            }
        }
    }
}
