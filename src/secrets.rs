//! The server's key ring, kept outside the store: an owner-only file in the data
//! directory (`server-keys.json`, mode 0600) or the `OTPD_SERVER_KEYS` environment variable.
//! Every master key derives three sub-keys: one for code HMACs, one sealing codes inside
//! outbox jobs, one Ed25519 seed for tokens. The first key is active; older keys still verify
//! and unseal, so rotating means putting a new key first.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::domain::{BrandName, Identifier, OtpCode, SessionId};

type HmacSha256 = Hmac<Sha256>;

pub const KEY_FILE: &str = "server-keys.json";
pub const KEY_ENV: &str = "OTPD_SERVER_KEYS";
/// In the data directory: the id of the key the store's brand records were last sealed
/// under (written at every start), so `otpd keys remove` can refuse to remove it.
pub const SEALED_WITH_FILE: &str = "store-sealed-with";

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("server keys: {0}")]
    Io(#[from] std::io::Error),
    #[error("server keys: {0}")]
    Format(String),
    #[error(
        "{0} holds a store but no {KEY_FILE}: its brands are sealed under the keys of the server \
         that wrote it. Copy that server's {KEY_FILE} here (or set {KEY_ENV}); otpd does not make \
         new keys for an existing store"
    )]
    MissingForStore(String),
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    keys: Vec<KeyFileEntry>,
}

#[derive(Serialize, Deserialize)]
struct KeyFileEntry {
    id: u32,
    secret: String,
}

struct MasterKey {
    id: u32,
    otp_hash: [u8; 32],
    seal: ChaCha20Poly1305,
    /// Kept expanded: jsonwebtoken's signer would re-derive it (a scalar multiplication) for
    /// every token.
    jwt: ed25519_dalek::SigningKey,
    /// `{"alg":"EdDSA","typ":"JWT","kid":…}`, base64url, precomputed.
    jwt_header: String,
    jwk: jsonwebtoken::jwk::Jwk,
}

/// The loaded key ring.
pub struct ServerKeys {
    keys: Vec<MasterKey>,
}

impl std::fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKeys")
            .field("ids", &self.keys.iter().map(|k| k.id).collect::<Vec<_>>())
            .finish()
    }
}

fn derive(master: &[u8], label: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(master)
        .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()));
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

/// PKCS#8 v1 wrapping of an Ed25519 seed (RFC 8410): a fixed 16-byte header, then the seed.
fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    const HEADER: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let mut der = HEADER.to_vec();
    der.extend_from_slice(seed);
    der
}

impl ServerKeys {
    /// From the environment if set, else from the key file, created (0600) on first start;
    /// never created beside an existing store (new keys could not open it).
    pub fn load_or_create(data_dir: &Path) -> Result<Self, SecretsError> {
        if let Some(keys) = Self::load_existing(data_dir)? {
            return Ok(keys);
        }
        // A store that is there (any file in its directory) was sealed with other keys.
        let store = data_dir.join("store").read_dir();
        if store.is_ok_and(|mut entries| entries.next().is_some()) {
            return Err(SecretsError::MissingForStore(
                data_dir.display().to_string(),
            ));
        }
        let text = Self::new_key_file(1)?;
        write_owner_only(&data_dir.join(KEY_FILE), text.as_bytes())?;
        Self::from_json(&text)
    }

    /// From the environment if set, else from the key file if there is one; never creates
    /// keys (a restore needs the ring of the server that wrote the backup, not a new one).
    pub fn load_existing(data_dir: &Path) -> Result<Option<Self>, SecretsError> {
        if let Ok(text) = std::env::var(KEY_ENV) {
            return Self::from_json(&text).map(Some);
        }
        let path = data_dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                warn_if_readable_by_others(&path);
                Self::from_json(&text).map(Some)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A fresh key-file text holding one random key.
    pub fn new_key_file(id: u32) -> Result<String, SecretsError> {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let file = KeyFile {
            keys: vec![KeyFileEntry {
                id,
                secret: B64.encode(secret),
            }],
        };
        serde_json::to_string_pretty(&file).map_err(|e| SecretsError::Format(e.to_string()))
    }

    /// The key-file text with a new random key put first (active); the others stay and keep
    /// verifying and opening what they made.
    pub fn rotated_key_file(text: &str) -> Result<(String, u32), SecretsError> {
        let mut file: KeyFile =
            serde_json::from_str(text).map_err(|e| SecretsError::Format(e.to_string()))?;
        let id = file.keys.iter().map(|k| k.id).max().unwrap_or(0) + 1;
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        file.keys.insert(
            0,
            KeyFileEntry {
                id,
                secret: B64.encode(secret),
            },
        );
        let text =
            serde_json::to_string_pretty(&file).map_err(|e| SecretsError::Format(e.to_string()))?;
        Ok((text, id))
    }

    /// The key-file text without key `id`. The active key cannot be removed.
    pub fn key_file_without(text: &str, id: u32) -> Result<String, SecretsError> {
        let mut file: KeyFile =
            serde_json::from_str(text).map_err(|e| SecretsError::Format(e.to_string()))?;
        match file.keys.iter().position(|k| k.id == id) {
            None => return Err(SecretsError::Format(format!("there is no key {id}"))),
            Some(0) => {
                return Err(SecretsError::Format(format!(
                    "key {id} is the active key; rotate first"
                )));
            }
            Some(i) => {
                file.keys.remove(i);
            }
        }
        serde_json::to_string_pretty(&file).map_err(|e| SecretsError::Format(e.to_string()))
    }

    pub fn from_json(text: &str) -> Result<Self, SecretsError> {
        let file: KeyFile =
            serde_json::from_str(text).map_err(|e| SecretsError::Format(e.to_string()))?;
        if file.keys.is_empty() {
            return Err(SecretsError::Format("the key ring holds no key".into()));
        }
        let keys = file
            .keys
            .iter()
            .map(|k| {
                let master = B64
                    .decode(&k.secret)
                    .map_err(|e| SecretsError::Format(format!("key {}: {e}", k.id)))?;
                if master.len() < 32 {
                    return Err(SecretsError::Format(format!(
                        "key {}: needs at least 32 bytes",
                        k.id
                    )));
                }
                let seal = ChaCha20Poly1305::new((&derive(&master, "otpd/outbox-seal/v1")).into());
                let seed = derive(&master, "otpd/jwt-ed25519/v1");
                let jwt = ed25519_dalek::SigningKey::from_bytes(&seed);
                let encoding = jsonwebtoken::EncodingKey::from_ed_der(&ed25519_pkcs8(&seed));
                let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(
                    &encoding,
                    jsonwebtoken::Algorithm::EdDSA,
                )
                .map_err(|e| SecretsError::Format(format!("key {}: {e}", k.id)))?;
                jwk.common.key_id = Some(k.id.to_string());
                jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
                let header =
                    serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": k.id.to_string()});
                let jwt_header = B64URL.encode(header.to_string());
                Ok(MasterKey {
                    id: k.id,
                    otp_hash: derive(&master, "otpd/otp-hash/v1"),
                    seal,
                    jwt,
                    jwt_header,
                    jwk,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { keys })
    }

    fn active(&self) -> &MasterKey {
        &self.keys[0]
    }

    /// The id of the key new material is made with.
    pub fn active_id(&self) -> u32 {
        self.active().id
    }

    /// The ids of the ring, active first.
    pub fn ids(&self) -> Vec<u32> {
        self.keys.iter().map(|k| k.id).collect()
    }

    fn by_id(&self, id: u32) -> Option<&MasterKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// The keyed hash a session stores: HMAC-SHA256 over the code bound to its session.
    /// Returns the key id used with it.
    pub fn hash_code(
        &self,
        brand: &BrandName,
        session: &SessionId,
        id: &Identifier,
        code: &OtpCode,
    ) -> (u32, [u8; 32]) {
        let key = self.active();
        (key.id, code_mac(&key.otp_hash, brand, session, id, code))
    }

    /// Constant-time check of a candidate against a stored hash.
    pub fn code_matches(
        &self,
        key_id: u32,
        stored: &[u8; 32],
        brand: &BrandName,
        session: &SessionId,
        id: &Identifier,
        candidate: &OtpCode,
    ) -> bool {
        let Some(key) = self.by_id(key_id) else {
            return false;
        };
        code_mac(&key.otp_hash, brand, session, id, candidate)
            .ct_eq(stored)
            .into()
    }

    /// Encrypts a code for an outbox job; `job_id` is bound as associated data.
    pub fn seal(&self, job_id: &uuid::Uuid, code: &OtpCode) -> Result<Vec<u8>, SecretsError> {
        self.seal_bytes(job_id.as_bytes(), code.expose().as_bytes())
    }

    pub fn unseal(&self, job_id: &uuid::Uuid, sealed: &[u8]) -> Option<OtpCode> {
        let plain = self.unseal_bytes(job_id.as_bytes(), sealed)?;
        String::from_utf8(plain).ok().map(|s| OtpCode::fixed(&s))
    }

    /// Encrypts `plain` under the active key (ChaCha20-Poly1305, random nonce), binding `aad`:
    /// `key id (4 bytes BE) · nonce (12) · ciphertext+tag`. Older keys still open what they
    /// sealed, so rotation needs no re-encryption pass.
    pub fn seal_bytes(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, SecretsError> {
        let key = self.active();
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = key
            .seal
            .encrypt(&Nonce::from(nonce), Payload { msg: plain, aad })
            .map_err(|_| SecretsError::Format("sealing failed".into()))?;
        let mut out = Vec::with_capacity(4 + 12 + ciphertext.len());
        out.extend_from_slice(&key.id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Opens what [`ServerKeys::seal_bytes`] sealed with the same `aad`; `None` when the key is
    /// gone or anything was changed.
    pub fn unseal_bytes(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let id = u32::from_be_bytes(sealed.get(..4)?.try_into().ok()?);
        let nonce: [u8; 12] = sealed.get(4..16)?.try_into().ok()?;
        let key = self.by_id(id)?;
        key.seal
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed.get(16..)?,
                    aad,
                },
            )
            .ok()
    }

    /// A compact JWS (EdDSA) of `claims` under the active key, `kid` = key id.
    pub fn sign_jwt<T: Serialize>(&self, claims: &T) -> Result<String, serde_json::Error> {
        use ed25519_dalek::Signer;
        let key = self.active();
        let payload = serde_json::to_vec(claims)?;
        let mut token = String::with_capacity(key.jwt_header.len() + payload.len() * 4 / 3 + 90);
        token.push_str(&key.jwt_header);
        token.push('.');
        B64URL.encode_string(&payload, &mut token);
        let signature = key.jwt.sign(token.as_bytes());
        token.push('.');
        B64URL.encode_string(signature.to_bytes(), &mut token);
        Ok(token)
    }

    /// The public keys, for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> jsonwebtoken::jwk::JwkSet {
        jsonwebtoken::jwk::JwkSet {
            keys: self.keys.iter().map(|k| k.jwk.clone()).collect(),
        }
    }
}

fn code_mac(
    key: &[u8; 32],
    brand: &BrandName,
    session: &SessionId,
    id: &Identifier,
    code: &OtpCode,
) -> [u8; 32] {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()));
    for part in [
        brand.as_str(),
        session.as_str(),
        id.kind().as_str(),
        id.value(),
        code.expose(),
    ] {
        mac.update(part.as_bytes());
        mac.update(&[0]);
    }
    mac.finalize().into_bytes().into()
}

/// Writes a file only its owner can read (0600 on Unix), atomically: the bytes go to a
/// temporary file beside it, which is synced and then renamed over `path`, so a crash leaves
/// the old file or the new one, never a truncated key ring.
pub fn write_owner_only(path: &Path, bytes: &[u8]) -> Result<(), std::io::Error> {
    use std::io::Write;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    // The rename itself is durable once the directory is synced.
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "server key file is readable by others; chmod 600 it");
        }
    }
}

#[cfg(test)]
impl ServerKeys {
    /// A new key ring of one key (id 1), for tests.
    pub fn for_tests() -> Self {
        Self::from_json(&Self::new_key_file(1).unwrap()).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::IdentifierType;

    fn ring() -> ServerKeys {
        ServerKeys::from_json(&ServerKeys::new_key_file(7).unwrap()).unwrap()
    }

    #[test]
    fn owner_only_files_are_replaced_whole_and_stay_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server-keys.json");
        write_owner_only(&path, b"first").unwrap();
        write_owner_only(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        // Only the file itself: the temporary one was renamed over it.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["server-keys.json"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_code_matches_only_its_own_session_and_identifier() {
        let keys = ring();
        let brand = BrandName::parse("demo").unwrap();
        let s1 = SessionId::new_random();
        let s2 = SessionId::new_random();
        let id = Identifier::parse(IdentifierType::Mobile, "+84901234567").unwrap();
        let other = Identifier::parse(IdentifierType::Mobile, "+84901234568").unwrap();
        let code = OtpCode::fixed("123456");
        let (kid, hash) = keys.hash_code(&brand, &s1, &id, &code);
        assert_eq!(kid, 7);
        assert!(keys.code_matches(kid, &hash, &brand, &s1, &id, &code));
        assert!(!keys.code_matches(kid, &hash, &brand, &s2, &id, &code));
        assert!(!keys.code_matches(kid, &hash, &brand, &s1, &other, &code));
        assert!(!keys.code_matches(kid, &hash, &brand, &s1, &id, &OtpCode::fixed("123457")));
        assert!(!keys.code_matches(99, &hash, &brand, &s1, &id, &code));
    }

    #[test]
    fn sealed_codes_open_only_for_their_job() {
        let keys = ring();
        let job = uuid::Uuid::new_v4();
        let sealed = keys.seal(&job, &OtpCode::fixed("987654")).unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"987654"));
        assert_eq!(keys.unseal(&job, &sealed).unwrap().expose(), "987654");
        assert!(keys.unseal(&uuid::Uuid::new_v4(), &sealed).is_none());
    }

    #[test]
    fn rotation_puts_a_new_key_first_and_old_material_still_opens() {
        let first = ServerKeys::new_key_file(1).unwrap();
        let old = ServerKeys::from_json(&first).unwrap();
        let job = uuid::Uuid::new_v4();
        let sealed = old.seal(&job, &OtpCode::fixed("123456")).unwrap();
        let (text, id) = ServerKeys::rotated_key_file(&first).unwrap();
        assert_eq!(id, 2);
        let ring = ServerKeys::from_json(&text).unwrap();
        assert_eq!((ring.active_id(), ring.ids()), (2, vec![2, 1]));
        assert_eq!(ring.unseal(&job, &sealed).unwrap().expose(), "123456");
        assert!(
            ServerKeys::key_file_without(&text, 2).is_err(),
            "the active key stays"
        );
        let trimmed =
            ServerKeys::from_json(&ServerKeys::key_file_without(&text, 1).unwrap()).unwrap();
        assert_eq!(trimmed.ids(), vec![2]);
        assert!(trimmed.unseal(&job, &sealed).is_none());
    }

    #[test]
    fn tokens_verify_with_the_published_jwks() {
        let keys = ring();
        let token = keys
            .sign_jwt(&serde_json::json!({"sub": "x", "exp": 4_000_000_000u64}))
            .unwrap();
        let jwk = &keys.jwks().keys[0];
        let decoding = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
        v.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &v).unwrap();
        assert_eq!(data.claims["sub"], "x");
    }
}
