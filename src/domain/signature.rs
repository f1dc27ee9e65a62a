//! Payload signing v1 (docs/api.md §5): the canonical message, HMAC-SHA256 under a brand's key ring,
//! verified in constant time against every key that is not revoked.

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum KeyState {
    /// Signs new client builds; verifies.
    Active,
    /// Replaced by a newer key; still verifies until revoked.
    Retiring,
    /// Verifies nothing.
    Revoked,
}

/// One 32-byte secret of a brand's key ring. The secret is shown once, when created.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningKey {
    pub id: u32,
    #[serde(with = "secret_b64")]
    pub secret: Vec<u8>,
    pub state: KeyState,
    pub created_ms: i64,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .field("state", &self.state)
            .finish()
    }
}

mod secret_b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// The fields that are signed, as the client sent them.
#[derive(Clone, Copy, Debug, Default)]
pub struct SignedFields<'a> {
    pub time_stamp: &'a str,
    pub path: &'a str,
    pub brand: &'a str,
    pub identifier_type: &'a str,
    pub identifier_value: &'a str,
    pub device_id: &'a str,
    pub session_id: &'a str,
    pub otp: &'a str,
}

impl SignedFields<'_> {
    /// `v1`, timeStamp, path, brand, identifierType, identifierValue, deviceId, sessionId, otp,
    /// joined by `\n` with no trailing newline.
    pub fn message(&self) -> String {
        [
            "v1",
            self.time_stamp,
            self.path,
            self.brand,
            self.identifier_type,
            self.identifier_value,
            self.device_id,
            self.session_id,
            self.otp,
        ]
        .join("\n")
    }
}

/// Lower-case hex HMAC-SHA256 of the message: what a client puts in `hash` (and `otpd sign`).
pub fn sign(secret: &[u8], fields: &SignedFields<'_>) -> String {
    let mut mac = mac_for(secret);
    mac.update(fields.message().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Why a signature was refused (always 5004 on the wire; the reason goes to the server log).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureProblem {
    Missing,
    Malformed,
    Stale,
    NoMatch,
    Replayed,
}

/// Checks `hash` against every non-revoked key, and `timeStamp` against the window.
/// Replay is checked by the caller, which owns the nonce store.
pub fn verify(
    keys: &[SigningKey],
    fields: &SignedFields<'_>,
    hash_hex: &str,
    now_ms: i64,
    window_secs: u32,
) -> Result<(), SignatureProblem> {
    let Ok(ts) = fields.time_stamp.parse::<i64>() else {
        return Err(SignatureProblem::Malformed);
    };
    let tag = match hex::decode(hash_hex) {
        Ok(t) if t.len() == 32 && hash_hex.bytes().all(|b| !b.is_ascii_uppercase()) => t,
        _ => return Err(SignatureProblem::Malformed),
    };
    if now_ms.abs_diff(ts) > u64::from(window_secs) * 1000 {
        return Err(SignatureProblem::Stale);
    }
    let message = fields.message();
    let matched = keys
        .iter()
        .filter(|k| k.state != KeyState::Revoked)
        .fold(false, |hit, k| {
            let mut mac = mac_for(&k.secret);
            mac.update(message.as_bytes());
            // No early exit: every key is tried, each with a constant-time tag comparison.
            mac.verify_slice(&tag).is_ok() | hit
        });
    if matched {
        Ok(())
    } else {
        Err(SignatureProblem::NoMatch)
    }
}

/// The key (revoked ones included) that made `hash_hex` for these fields, if any: for
/// operators diagnosing a client, never for accepting a request.
pub fn key_that_made<'k>(
    keys: &'k [SigningKey],
    fields: &SignedFields<'_>,
    hash_hex: &str,
) -> Option<&'k SigningKey> {
    let tag = hex::decode(hash_hex).ok()?;
    let message = fields.message();
    keys.iter().find(|k| {
        let mut mac = mac_for(&k.secret);
        mac.update(message.as_bytes());
        mac.verify_slice(&tag).is_ok()
    })
}

fn mac_for(secret: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail; an empty MAC would verify nothing.
    HmacSha256::new_from_slice(secret).unwrap_or_else(|_| HmacSha256::new(&Default::default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(id: u32, state: KeyState) -> SigningKey {
        SigningKey {
            id,
            secret: vec![id as u8; 32],
            state,
            created_ms: 0,
        }
    }

    fn fields(ts: &str) -> SignedFields<'_> {
        SignedFields {
            time_stamp: ts,
            path: "/auth/v1/otp/generate",
            brand: "DEMO",
            identifier_type: "MOBILE",
            identifier_value: "+84901234567",
            device_id: "dev-1",
            session_id: "P-6ec5fcc9-2bca-4778-9672-4ee5097d8313",
            otp: "",
        }
    }

    #[test]
    fn message_layout_is_fixed() {
        assert_eq!(
            fields("1700000000000").message(),
            "v1\n1700000000000\n/auth/v1/otp/generate\nDEMO\nMOBILE\n+84901234567\ndev-1\nP-6ec5fcc9-2bca-4778-9672-4ee5097d8313\n"
        );
    }

    #[test]
    fn retiring_keys_verify_and_revoked_do_not() {
        let f = fields("1700000000000");
        let keys = [
            key(1, KeyState::Retiring),
            key(2, KeyState::Active),
            key(3, KeyState::Revoked),
        ];
        assert_eq!(
            verify(
                &keys,
                &f,
                &sign(&keys[0].secret, &f),
                1_700_000_000_000,
                120
            ),
            Ok(())
        );
        assert_eq!(
            verify(
                &keys,
                &f,
                &sign(&keys[1].secret, &f),
                1_700_000_000_000,
                120
            ),
            Ok(())
        );
        assert_eq!(
            verify(
                &keys,
                &f,
                &sign(&keys[2].secret, &f),
                1_700_000_000_000,
                120
            ),
            Err(SignatureProblem::NoMatch)
        );
    }

    #[test]
    fn stale_and_malformed_are_refused() {
        let keys = [key(1, KeyState::Active)];
        let f = fields("1700000000000");
        let good = sign(&keys[0].secret, &f);
        assert_eq!(
            verify(&keys, &f, &good, 1_700_000_121_000, 120),
            Err(SignatureProblem::Stale)
        );
        assert_eq!(
            verify(&keys, &f, &good, 1_699_999_879_000, 120),
            Err(SignatureProblem::Stale)
        );
        assert_eq!(verify(&keys, &f, &good, 1_700_000_119_000, 120), Ok(()));
        assert_eq!(
            verify(&keys, &f, &good.to_uppercase(), 1_700_000_000_000, 120),
            Err(SignatureProblem::Malformed)
        );
        assert_eq!(
            verify(&keys, &f, "abc", 1_700_000_000_000, 120),
            Err(SignatureProblem::Malformed)
        );
        assert_eq!(
            verify(&keys, &fields("soon"), &good, 1_700_000_000_000, 120),
            Err(SignatureProblem::Malformed)
        );
    }

    proptest! {
        #[test]
        fn changing_any_signed_field_breaks_the_hash(which in 0usize..8, extra in "[a-z0-9]{1,8}") {
            let keys = [key(1, KeyState::Active)];
            let f = fields("1700000000000");
            let good = sign(&keys[0].secret, &f);
            let mut g = f;
            let changed_ts = format!("170000000000{}", extra.len() % 10);
            let changed = format!("{}{extra}", "x");
            match which {
                0 => g.time_stamp = &changed_ts,
                1 => g.path = "/auth/v1/otp/validate",
                2 => g.brand = &changed,
                3 => g.identifier_type = &changed,
                4 => g.identifier_value = &changed,
                5 => g.device_id = &changed,
                6 => g.session_id = &changed,
                _ => g.otp = &changed,
            }
            if g.message() != f.message() {
                prop_assert_eq!(verify(&keys, &g, &good, 1_700_000_000_000, 120), Err(SignatureProblem::NoMatch));
            }
        }
    }
}
