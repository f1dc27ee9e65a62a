//! Sessions, the issuing transaction, and the payload-signature replay cache: the state the
//! request path reads and writes.

use super::keys::Expiring;
use super::{EmbeddedStore, IssueInput, IssueWrite, StoreError, decode_u32, keys, records};
use crate::domain::limits::Usage;
use crate::domain::{BrandName, Refusal, Session, SessionId};
use crate::store::usage_expires_ms;

impl EmbeddedStore {
    pub fn session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.sessions
            .get(id.as_str())?
            .map(|v| records::decode_session(id, &v))
            .transpose()
    }

    pub fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        let id = s.id.as_str().as_bytes();
        let value = records::encode_session(s)?;
        self.db.write(|tx| {
            let expiry = keys::expiry(Expiring::Session, s.expires_ms, id);
            tx.insert(&self.expiry, expiry, &[] as &[u8]);
            tx.insert(&self.sessions, id, value);
            Ok::<_, StoreError>(())
        })
    }

    /// Indexes a record by when it expires (see `keys::expiry`).
    pub(super) fn note_expiry(
        &self,
        kind: Expiring,
        expires_ms: i64,
        record: &[u8],
    ) -> Result<(), StoreError> {
        self.expiry
            .insert(keys::expiry(kind, expires_ms, record), &[] as &[u8])?;
        Ok(())
    }

    /// Read-modify-write of one session in one transaction, so at most one of many concurrent
    /// validations can consume a code. Returns the outcome `decide` gave, with the session as
    /// written (or as found).
    pub fn update_session<T>(
        &self,
        id: &SessionId,
        decide: impl FnOnce(Option<&Session>) -> (Option<Session>, T),
    ) -> Result<T, StoreError> {
        self.db.write(|tx| {
            let session = tx
                .get(&self.sessions, id.as_str())?
                .map(|v| records::decode_session(id, &v))
                .transpose()?;
            let (next, outcome) = decide(session.as_ref());
            let Some(next) = next else { return Ok(outcome) };
            if session
                .as_ref()
                .is_none_or(|s| s.expires_ms != next.expires_ms)
            {
                let key = keys::expiry(Expiring::Session, next.expires_ms, id.as_str().as_bytes());
                tx.insert(&self.expiry, key, &[] as &[u8]);
            }
            tx.insert(&self.sessions, id.as_str(), records::encode_session(&next)?);
            Ok(outcome)
        })
    }

    /// The issuing transaction: reads the session and the customer's usage, lets `decide`
    /// apply the limits (with the customer's override, read just before), then writes the
    /// session (new code hash), the usage, the delivery job, the log record and their index
    /// entries together; the brand's hourly count follows the commit. Nothing is written when
    /// `decide` refuses.
    pub fn issue(
        &self,
        input: &IssueInput<'_>,
        decide: impl FnOnce(
            Option<&Session>,
            Option<&Usage>,
            Option<u32>,
        ) -> Result<IssueWrite, Refusal>,
    ) -> Result<Result<(), Refusal>, StoreError> {
        let customer = input.destination.map(|d| keys::customer(input.brand, d));
        let job = input
            .job
            .map(|j| Ok::<_, StoreError>((keys::outbox(j.due_ms, j.id), records::encode_job(j)?)))
            .transpose()?;
        let log_value = records::encode_log(input.log)?;
        // Everything that does not depend on `decide` is made before the writer lock is taken.
        let group_key = keys::log_group(keys::LogGroup::of(input.log), input.log.id);
        let dest_key = input
            .destination
            .map(|d| keys::log_by_dest(input.brand, d, input.log.id));
        // Read outside the transaction: a limit an operator changes at this very moment may
        // apply from the next code on.
        let limit = match &customer {
            Some(customer) => self.overrides.get(customer)?.and_then(|v| decode_u32(&v)),
            None => None,
        };
        let issued = self.db.write(|tx| {
            let session = tx
                .get(&self.sessions, input.session_id.as_str())?
                .map(|v| records::decode_session(input.session_id, &v))
                .transpose()?;
            let current = match &customer {
                Some(customer) => tx
                    .get(&self.usage, customer)?
                    .map(|v| records::decode_usage(&v))
                    .transpose()?,
                None => None,
            };
            let write = match decide(session.as_ref(), current.as_ref(), limit) {
                Ok(write) => write,
                Err(refusal) => return Ok::<_, StoreError>(Err(refusal)),
            };
            let encoded_session = records::encode_session(&write.session)?;
            let usage = match (&write.usage, &customer) {
                (Some(u), Some(customer)) => Some((customer, u, records::encode_usage(u)?)),
                _ => None,
            };
            // An expiry entry is written only when it moved (to another minute): a record
            // already has the entry of the expiry it was written with.
            let moved = |before: Option<i64>, after: i64| {
                before.is_none_or(|b| keys::expiry_minute(b) != keys::expiry_minute(after))
            };
            let id = input.session_id.as_str().as_bytes();
            tx.insert(&self.sessions, id, encoded_session);
            let expires_ms = write.session.expires_ms;
            if moved(session.map(|s| s.expires_ms), expires_ms) {
                let key = keys::expiry(Expiring::Session, expires_ms, id);
                tx.insert(&self.expiry, key, &[] as &[u8]);
            }
            if let Some((customer, u, encoded)) = usage {
                tx.insert(&self.usage, customer.as_slice(), encoded);
                let expires_ms = usage_expires_ms(u);
                if moved(current.as_ref().map(usage_expires_ms), expires_ms) {
                    let key = keys::expiry(Expiring::Usage, expires_ms, customer);
                    tx.insert(&self.expiry, key, &[] as &[u8]);
                }
            }
            if let Some((k, v)) = job {
                tx.insert(&self.outbox, k, v);
            }
            tx.insert(&self.log, input.log.id.as_bytes(), log_value);
            tx.insert(&self.log_by_dest, group_key, &[] as &[u8]);
            if let Some(key) = dest_key {
                tx.insert(&self.log_by_dest, key, &[] as &[u8]);
            }
            Ok(Ok(()))
        })?;
        if let (Ok(()), Some(job)) = (&issued, input.job) {
            self.job_queued(job);
        }
        if issued.is_ok() {
            // The brand's hourly count, in memory until the next flush (see `stats.rs`).
            self.count(
                input.log.time_ms,
                input.brand.as_str(),
                crate::domain::stats::outcome_counter(input.log),
            );
        }
        Ok(issued)
    }

    /// Remembers an accepted signature until `expires_ms`; false when it was already there.
    pub fn remember_nonce(
        &self,
        brand: &BrandName,
        hash: &[u8],
        expires_ms: i64,
    ) -> Result<bool, StoreError> {
        let key = keys::nonce(brand, hash);
        self.db.write(|tx| {
            if tx.get(&self.nonces, &key)?.is_some() {
                return Ok(false);
            }
            let expiry = keys::expiry(Expiring::Nonce, expires_ms, &key);
            tx.insert(&self.expiry, expiry, &[] as &[u8]);
            tx.insert(&self.nonces, key.as_slice(), expires_ms.to_be_bytes());
            Ok(true)
        })
    }
}
