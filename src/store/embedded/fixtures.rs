//! What the embedded store's unit tests share: a store in a temporary directory, a session,
//! and a code issued as otp/generate issues it.

use std::sync::Arc;

use super::EmbeddedStore;
use crate::domain::{
    BrandName, ChannelKind, DeliveryStatus, Destination, Flow, Identifier, IdentifierType,
    IssuanceRecord, OutboxJob, Session, SessionId,
};
use crate::store::{Durability, IssueInput, IssueWrite, OnDamage, ReadSession};

pub const NOW: i64 = 1_800_000_000_000;

/// Opens a store in `dir/store`: its manifest goes beside it, inside `dir`, so that nothing is
/// left behind when the test's directory is removed.
pub fn open(dir: &std::path::Path) -> EmbeddedStore {
    let keys = Arc::new(crate::secrets::ServerKeys::for_tests());
    let store = dir.join("store");
    EmbeddedStore::open(&store, Durability::Periodic, keys, OnDamage::Refuse).unwrap()
}

/// A new web session of ACME's customer 84901234567, live for ten minutes from `NOW`.
pub fn session() -> Session {
    Session {
        id: SessionId::new_random(),
        brand: BrandName::parse("ACME").unwrap(),
        identifier: Identifier::parse(IdentifierType::Mobile, "84901234567").unwrap(),
        device: None,
        flow: Flow::Web,
        created_ms: NOW,
        expires_ms: NOW + 600_000,
        mobile: None,
        email: None,
        code: None,
        failed_attempts: 0,
        consumed: false,
    }
}

/// Issues a code on `read` whose delivery job is due at `due_ms`, writing the session as read
/// back; returns the job and the session the transaction's decision was given.
pub fn issue_on(
    store: &EmbeddedStore,
    read: &ReadSession,
    due_ms: i64,
) -> (OutboxJob, Option<Session>) {
    let (job, seen, _) = issue_seeing(store, read, due_ms);
    (job, seen)
}

/// [`issue_on`], answering also the customer's limit override the decision was given.
pub fn issue_seeing(
    store: &EmbeddedStore,
    read: &ReadSession,
    due_ms: i64,
) -> (OutboxJob, Option<Session>, Option<u32>) {
    let brand = read.brand.clone();
    let to = Destination::mobile("84901234567").unwrap();
    let log = IssuanceRecord {
        id: uuid::Uuid::now_v7(),
        time_ms: NOW,
        brand: brand.to_string(),
        path: "/auth/v1/web/otp/generate".into(),
        identifier_type: "MOBILE".into(),
        identifier: "84901234567".into(),
        destination: Some(to.key()),
        device_id: None,
        session_id: Some(read.id.to_string()),
        client_addr: "127.0.0.1".into(),
        outcome: 200,
        channel: Some(ChannelKind::Sms),
        delivery: DeliveryStatus::Queued,
        test: false,
        attempts: Vec::new(),
        validated: false,
    };
    let job = OutboxJob {
        id: uuid::Uuid::new_v4(),
        log_id: log.id,
        brand: brand.clone(),
        channel: ChannelKind::Sms,
        destination: to.clone(),
        sealed_code: vec![1, 2, 3],
        locale: None,
        code_expires_ms: NOW + 300_000,
        attempts: 0,
        fallbacks: Vec::new(),
        due_ms,
    };
    let input = IssueInput {
        session: read,
        brand: &brand,
        destination: Some(&to),
        job: Some(&job),
        log: &log,
    };
    let mut seen = None;
    let mut limit = None;
    let write = |current: Option<&Session>, _: Option<&_>, override_: Option<u32>| {
        seen = current.cloned();
        limit = override_;
        Ok(IssueWrite {
            session: (**read).clone(),
            usage: None,
        })
    };
    store.issue(&input, write).unwrap().unwrap();
    (job, seen, limit)
}
