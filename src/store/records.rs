//! On-disk records: versioned types of their own, converted to and from domain types. Records
//! are postcard (compact, no field names, numbers in binary: fewer bytes per OTP to write and
//! flush); brands are a JSON document. A new version adds a variant; old variants keep
//! decoding.

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::config::RuntimeOverrides;
use crate::domain::audit::AuditEntry;
use crate::domain::limits::Usage;
use crate::domain::operator::PasswordHash;
use crate::domain::{
    Brand, BrandName, ChannelKind, DeliveryAttempt, DeliveryStatus, Destination, Flow, Identifier,
    IdentifierType, IssuanceRecord, IssuedCode, OutboxJob, Session, SessionId,
};
use crate::domain::{ConsoleSession, Operator, OperatorName, Role};
use crate::secrets::ServerKeys;
use serde_json::Value;

pub fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_stdvec(v).map_err(|e| StoreError::Encode(e.to_string()))
}

pub fn decode<'a, T: Deserialize<'a>>(
    bytes: &'a [u8],
    what: &'static str,
) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Decode(what, e.to_string()))
}

/// A brand name kept as text in a record of `kind`.
pub fn brand_name(kind: &'static str, name: &str) -> Result<BrandName, StoreError> {
    BrandName::parse(name).map_err(|e| StoreError::Decode(kind, e.to_string()))
}

/// A customer kept as its key (`Destination::key`) in a record of `kind`.
pub fn customer(kind: &'static str, key: &str) -> Result<Destination, StoreError> {
    Destination::parse_key(key).map_err(|_| StoreError::Decode(kind, "a bad customer".into()))
}

// ---- brands -------------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
#[serde(tag = "version")]
pub enum BrandRecord {
    #[serde(rename = "1")]
    V1(Brand),
}

/// Marks a sealed brand record; a record starting with `{` is plain JSON (written before
/// records were sealed) and still reads.
const SEALED: u8 = 1;

/// Brand records hold secrets (signing keys, provider passwords and tokens), so they are sealed
/// under the server's key ring, bound to the brand's name: a copy of the store alone reveals
/// none of them.
pub fn encode_brand(b: &Brand, keys: &ServerKeys) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(&BrandRecord::V1(b.clone()))
        .map_err(|e| StoreError::Encode(e.to_string()))?;
    let mut out = vec![SEALED];
    out.extend(
        keys.seal_bytes(&brand_aad(b.name.as_str()), &json)
            .map_err(|e| StoreError::Encode(e.to_string()))?,
    );
    Ok(out)
}

/// `name` is the record's key.
pub fn decode_brand(name: &[u8], bytes: &[u8], keys: &ServerKeys) -> Result<Brand, StoreError> {
    let opened;
    let json = match bytes.split_first() {
        Some((&SEALED, sealed)) => {
            let name = std::str::from_utf8(name).unwrap_or_default();
            opened = keys.unseal_bytes(&brand_aad(name), sealed).ok_or_else(|| {
                StoreError::Decode(
                    "brand",
                    "cannot open it with the server keys (was server-keys.json replaced?)".into(),
                )
            })?;
            &opened[..]
        }
        _ => bytes,
    };
    match serde_json::from_slice(json) {
        Ok(BrandRecord::V1(b)) => Ok(b),
        Err(e) => Err(StoreError::Decode("brand", e.to_string())),
    }
}

/// The id of the server key a brand record is sealed with (`None`: not sealed).
pub fn brand_sealed_with(bytes: &[u8]) -> Option<u32> {
    match bytes.split_first() {
        Some((&SEALED, rest)) => rest
            .get(..4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes),
        _ => None,
    }
}

fn brand_aad(name: &str) -> Vec<u8> {
    [b"otpd/brand/v1\0".as_slice(), name.as_bytes()].concat()
}

// ---- sessions -----------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
pub enum SessionRecord {
    V1(SessionV1),
}

#[derive(Serialize, Deserialize)]
pub struct SessionV1 {
    brand: String,
    identifier_type: IdentifierType,
    identifier_value: String,
    device: Option<String>,
    web: bool,
    created_ms: i64,
    expires_ms: i64,
    mobile: Option<String>,
    email: Option<String>,
    code: Option<CodeV1>,
    failed_attempts: u32,
    consumed: bool,
}

#[derive(Serialize, Deserialize)]
struct CodeV1 {
    key_id: u32,
    hash: [u8; 32],
    issued_ms: i64,
    expires_ms: i64,
    log_id: [u8; 16],
}

pub fn encode_session(s: &Session) -> Result<Vec<u8>, StoreError> {
    let dest_value = |d: &Option<Destination>| {
        d.as_ref().map(|d| match d {
            Destination::Mobile(v) | Destination::Email(v) => v.clone(),
        })
    };
    encode(&SessionRecord::V1(SessionV1 {
        brand: s.brand.as_str().to_owned(),
        identifier_type: s.identifier.kind(),
        identifier_value: s.identifier.value().to_owned(),
        device: s.device.clone(),
        web: s.flow == Flow::Web,
        created_ms: s.created_ms,
        expires_ms: s.expires_ms,
        mobile: dest_value(&s.mobile),
        email: dest_value(&s.email),
        code: s.code.as_ref().map(|c| CodeV1 {
            key_id: c.key_id,
            hash: c.hash,
            issued_ms: c.issued_ms,
            expires_ms: c.expires_ms,
            log_id: *c.log_id.as_bytes(),
        }),
        failed_attempts: s.failed_attempts,
        consumed: s.consumed,
    }))
}

pub fn decode_session(id: &SessionId, bytes: &[u8]) -> Result<Session, StoreError> {
    let SessionRecord::V1(r) = decode(bytes, "session")?;
    let bad = |what: &str| StoreError::Decode("session", what.to_owned());
    Ok(Session {
        id: id.clone(),
        brand: BrandName::parse(&r.brand).map_err(bad)?,
        identifier: Identifier::parse(r.identifier_type, &r.identifier_value).map_err(bad)?,
        device: r.device,
        flow: if r.web { Flow::Web } else { Flow::Mobile },
        created_ms: r.created_ms,
        expires_ms: r.expires_ms,
        mobile: r.mobile.map(Destination::Mobile),
        email: r.email.map(Destination::Email),
        code: r.code.map(|c| IssuedCode {
            key_id: c.key_id,
            hash: c.hash,
            issued_ms: c.issued_ms,
            expires_ms: c.expires_ms,
            log_id: uuid::Uuid::from_bytes(c.log_id),
        }),
        failed_attempts: r.failed_attempts,
        consumed: r.consumed,
    })
}

// ---- usage --------------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
pub enum UsageRecord {
    V1 {
        day: u32,
        count: u32,
        last_issued_ms: Option<i64>,
        recent_ms: Vec<i64>,
    },
}

pub fn encode_usage(u: &Usage) -> Result<Vec<u8>, StoreError> {
    encode(&UsageRecord::V1 {
        day: u.day,
        count: u.count,
        last_issued_ms: u.last_issued_ms,
        recent_ms: u.recent_ms.clone(),
    })
}

pub fn decode_usage(bytes: &[u8]) -> Result<Usage, StoreError> {
    let UsageRecord::V1 {
        day,
        count,
        last_issued_ms,
        recent_ms,
    } = decode(bytes, "usage")?;
    Ok(Usage {
        day,
        count,
        last_issued_ms,
        recent_ms,
    })
}

// ---- outbox -------------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
pub enum OutboxRecord {
    V1(OutboxV1),
}

#[derive(Serialize, Deserialize)]
pub struct OutboxV1 {
    id: [u8; 16],
    log_id: [u8; 16],
    brand: String,
    channel: ChannelKind,
    destination: Destination,
    sealed_code: Vec<u8>,
    locale: Option<String>,
    code_expires_ms: i64,
    attempts: u32,
    fallbacks: Vec<(ChannelKind, Destination)>,
    due_ms: i64,
}

pub fn encode_job(j: &OutboxJob) -> Result<Vec<u8>, StoreError> {
    encode(&OutboxRecord::V1(OutboxV1 {
        id: *j.id.as_bytes(),
        log_id: *j.log_id.as_bytes(),
        brand: j.brand.as_str().to_owned(),
        channel: j.channel,
        destination: j.destination.clone(),
        sealed_code: j.sealed_code.clone(),
        locale: j.locale.clone(),
        code_expires_ms: j.code_expires_ms,
        attempts: j.attempts,
        fallbacks: j.fallbacks.clone(),
        due_ms: j.due_ms,
    }))
}

pub fn decode_job(bytes: &[u8]) -> Result<OutboxJob, StoreError> {
    let OutboxRecord::V1(r) = decode(bytes, "outbox job")?;
    Ok(OutboxJob {
        id: uuid::Uuid::from_bytes(r.id),
        log_id: uuid::Uuid::from_bytes(r.log_id),
        brand: BrandName::parse(&r.brand)
            .map_err(|e| StoreError::Decode("outbox job", e.to_owned()))?,
        channel: r.channel,
        destination: r.destination,
        sealed_code: r.sealed_code,
        locale: r.locale,
        code_expires_ms: r.code_expires_ms,
        attempts: r.attempts,
        fallbacks: r.fallbacks,
        due_ms: r.due_ms,
    })
}

// ---- issuance log -------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
pub enum LogRecord {
    V1(LogV1),
}

#[derive(Serialize, Deserialize)]
pub struct LogV1 {
    id: [u8; 16],
    time_ms: i64,
    brand: String,
    path: String,
    identifier_type: String,
    identifier: String,
    destination: Option<String>,
    device_id: Option<String>,
    session_id: Option<String>,
    client_addr: String,
    outcome: u16,
    channel: Option<ChannelKind>,
    delivery: DeliveryStatus,
    test: bool,
    attempts: Vec<AttemptV1>,
    validated: bool,
}

#[derive(Serialize, Deserialize)]
struct AttemptV1 {
    time_ms: i64,
    channel: ChannelKind,
    ok: bool,
    provider_status: Option<String>,
    error: Option<String>,
}

pub fn encode_log(r: &IssuanceRecord) -> Result<Vec<u8>, StoreError> {
    encode(&LogRecord::V1(LogV1 {
        id: *r.id.as_bytes(),
        time_ms: r.time_ms,
        brand: r.brand.clone(),
        path: r.path.clone(),
        identifier_type: r.identifier_type.clone(),
        identifier: r.identifier.clone(),
        destination: r.destination.clone(),
        device_id: r.device_id.clone(),
        session_id: r.session_id.clone(),
        client_addr: r.client_addr.clone(),
        outcome: r.outcome,
        channel: r.channel,
        delivery: r.delivery,
        test: r.test,
        attempts: r
            .attempts
            .iter()
            .map(|a| AttemptV1 {
                time_ms: a.time_ms,
                channel: a.channel,
                ok: a.ok,
                provider_status: a.provider_status.clone(),
                error: a.error.clone(),
            })
            .collect(),
        validated: r.validated,
    }))
}

pub fn decode_log(bytes: &[u8]) -> Result<IssuanceRecord, StoreError> {
    let LogRecord::V1(r) = decode(bytes, "log record")?;
    Ok(IssuanceRecord {
        id: uuid::Uuid::from_bytes(r.id),
        time_ms: r.time_ms,
        brand: r.brand,
        path: r.path,
        identifier_type: r.identifier_type,
        identifier: r.identifier,
        destination: r.destination,
        device_id: r.device_id,
        session_id: r.session_id,
        client_addr: r.client_addr,
        outcome: r.outcome,
        channel: r.channel,
        delivery: r.delivery,
        test: r.test,
        attempts: r
            .attempts
            .into_iter()
            .map(|a| DeliveryAttempt {
                time_ms: a.time_ms,
                channel: a.channel,
                ok: a.ok,
                provider_status: a.provider_status,
                error: a.error,
            })
            .collect(),
        validated: r.validated,
    })
}

// ---- operators, console sessions, the audit trail, server settings -----------------------
// Rare records, kept as versioned JSON documents.

fn json<T: Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| StoreError::Encode(e.to_string()))
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "version")]
enum OperatorRecord {
    #[serde(rename = "1")]
    V1(OperatorV1),
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperatorV1 {
    name: String,
    role: Role,
    password: String,
    disabled: bool,
    must_change_password: bool,
    created_ms: i64,
    updated_ms: i64,
    last_login_ms: Option<i64>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "version")]
enum ConsoleSessionRecord {
    #[serde(rename = "1")]
    V1(ConsoleSessionV1),
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsoleSessionV1 {
    operator: String,
    csrf_token: String,
    created_ms: i64,
    last_seen_ms: i64,
}

pub fn encode_operator(o: &Operator) -> Result<Vec<u8>, StoreError> {
    json(&OperatorRecord::V1(OperatorV1 {
        name: o.name.to_string(),
        role: o.role,
        password: o.password.0.clone(),
        disabled: o.disabled,
        must_change_password: o.must_change_password,
        created_ms: o.created_ms,
        updated_ms: o.updated_ms,
        last_login_ms: o.last_login_ms,
    }))
}

pub fn decode_operator(bytes: &[u8]) -> Result<Operator, StoreError> {
    let bad = |e: String| StoreError::Decode("operator", e);
    let OperatorRecord::V1(r) = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    Ok(Operator {
        name: OperatorName::parse(&r.name).map_err(|e| bad(e.to_owned()))?,
        role: r.role,
        password: PasswordHash(r.password),
        disabled: r.disabled,
        must_change_password: r.must_change_password,
        created_ms: r.created_ms,
        updated_ms: r.updated_ms,
        last_login_ms: r.last_login_ms,
    })
}

pub fn encode_console_session(s: &ConsoleSession) -> Result<Vec<u8>, StoreError> {
    json(&ConsoleSessionRecord::V1(ConsoleSessionV1 {
        operator: s.operator.to_string(),
        csrf_token: s.csrf_token.clone(),
        created_ms: s.created_ms,
        last_seen_ms: s.last_seen_ms,
    }))
}

pub fn decode_console_session(bytes: &[u8]) -> Result<ConsoleSession, StoreError> {
    let bad = |e: String| StoreError::Decode("console session", e);
    let ConsoleSessionRecord::V1(r) =
        serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    Ok(ConsoleSession {
        operator: OperatorName::parse(&r.operator).map_err(|e| bad(e.to_owned()))?,
        csrf_token: r.csrf_token,
        created_ms: r.created_ms,
        last_seen_ms: r.last_seen_ms,
    })
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "version")]
enum AuditRecord {
    /// Before operators: one `detail` value.
    #[serde(rename = "1")]
    V1(AuditV1),
    #[serde(rename = "2")]
    V2(AuditV2),
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditV1 {
    at_ms: i64,
    actor: String,
    action: String,
    brand: Option<String>,
    detail: Value,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditV2 {
    at_ms: i64,
    actor: String,
    action: String,
    brand: Option<String>,
    target: Option<String>,
    before: Value,
    after: Value,
}

/// `id` is the engine's id of the entry (its paging cursor).
pub fn decode_audit(id: String, bytes: &[u8]) -> Result<AuditEntry, StoreError> {
    let record: AuditRecord =
        serde_json::from_slice(bytes).map_err(|e| StoreError::Decode("audit", e.to_string()))?;
    Ok(match record {
        AuditRecord::V1(r) => AuditEntry {
            id,
            at_ms: r.at_ms,
            actor: r.actor,
            action: r.action,
            brand: r.brand,
            target: None,
            before: Value::Null,
            after: r.detail,
        },
        AuditRecord::V2(r) => AuditEntry {
            id,
            at_ms: r.at_ms,
            actor: r.actor,
            action: r.action,
            brand: r.brand,
            target: r.target,
            before: r.before,
            after: r.after,
        },
    })
}

pub fn encode_audit(e: &AuditEntry) -> Result<Vec<u8>, StoreError> {
    json(&AuditRecord::V2(AuditV2 {
        at_ms: e.at_ms,
        actor: e.actor.clone(),
        action: e.action.clone(),
        brand: e.brand.clone(),
        target: e.target.clone(),
        before: e.before.clone(),
        after: e.after.clone(),
    }))
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "version")]
enum SettingsRecord {
    #[serde(rename = "1")]
    V1(RuntimeOverrides),
}

pub fn encode_settings(o: &RuntimeOverrides) -> Result<Vec<u8>, StoreError> {
    json(&SettingsRecord::V1(o.clone()))
}

pub fn decode_settings(bytes: &[u8]) -> Result<RuntimeOverrides, StoreError> {
    match serde_json::from_slice(bytes) {
        Ok(SettingsRecord::V1(o)) => Ok(o),
        Err(e) => Err(StoreError::Decode("server settings", e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// postcard writes an enum as its variant's index: these numbers are in every stored job
    /// and log record, so reordering or inserting a variant would misread them. Add new
    /// variants at the end, and their numbers here.
    #[test]
    fn stored_enums_keep_their_variant_numbers() {
        let number = |bytes: Vec<u8>| bytes[0];
        let channels = [
            (ChannelKind::Email, 0),
            (ChannelKind::Sms, 1),
            (ChannelKind::Whatsapp, 2),
            (ChannelKind::Zalo, 3),
        ];
        assert_eq!(channels.len(), ChannelKind::ALL.len());
        for (kind, n) in channels {
            assert_eq!(number(encode(&kind).unwrap()), n, "{kind:?}");
        }
        let statuses = [
            (DeliveryStatus::None, 0),
            (DeliveryStatus::Test, 1),
            (DeliveryStatus::Queued, 2),
            (DeliveryStatus::Sent, 3),
            (DeliveryStatus::Delivered, 4),
            (DeliveryStatus::Failed, 5),
            (DeliveryStatus::Expired, 6),
        ];
        assert_eq!(statuses.len(), DeliveryStatus::ALL.len());
        for (status, n) in statuses {
            assert_eq!(number(encode(&status).unwrap()), n, "{status:?}");
        }
        let mobile = Destination::mobile("+84901234567").unwrap();
        let email = Destination::Email("a@example.com".into());
        assert_eq!(number(encode(&mobile).unwrap()), 0);
        assert_eq!(number(encode(&email).unwrap()), 1);
    }
}
