//! Operator passwords as argon2id hashes (OWASP's parameters: 19 MiB, 2 passes, 1 lane), in
//! PHC string form so the parameters travel with each hash. Hashing and checking take tens of
//! milliseconds on purpose: callers on the async runtime run them on a blocking thread.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::domain::operator::PasswordHash;

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` under a fresh random salt.
pub fn hash(password: &str) -> Result<PasswordHash, String> {
    let phc: argon2::password_hash::phc::PasswordHash = hasher()
        .hash_password(password.as_bytes())
        .map_err(|e| format!("hashing a password failed: {e}"))?;
    Ok(PasswordHash(phc.to_string()))
}

/// Whether `password` matches `stored` (constant time inside argon2). A malformed stored hash
/// matches nothing.
pub fn verify(password: &str, stored: &PasswordHash) -> bool {
    hasher()
        .verify_password(password.as_bytes(), stored.0.as_str())
        .is_ok()
}

/// A hash of nothing anyone knows, checked when the named operator does not exist, so that a
/// wrong name takes as long as a wrong password.
pub fn decoy() -> &'static PasswordHash {
    static DECOY: std::sync::OnceLock<PasswordHash> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let random: [u8; 16] = rand::random();
        hash(&hex::encode(random)).unwrap_or_else(|_| PasswordHash(String::new()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash("correct horse battery").unwrap();
        assert!(
            h.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            h.0
        );
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify("anything", &PasswordHash("not a hash".into())));
    }

    #[test]
    fn two_hashes_of_one_password_differ() {
        assert_ne!(
            hash("same password!").unwrap(),
            hash("same password!").unwrap()
        );
    }
}
