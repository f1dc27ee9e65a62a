//! Sessions, the issuing transaction, and the payload-signature replay cache: the state the
//! request path reads and writes.

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

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
        // The expiry entry first: a crash in between leaves an entry the sweeper drops, never
        // a session it would not find.
        self.note_expiry(Expiring::Session, s.expires_ms, s.id.as_str().as_bytes())?;
        self.sessions
            .insert(s.id.as_str(), records::encode_session(s)?)?;
        Ok(())
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

    /// Read-modify-write of one session, retried on concurrent change (compare-and-swap), so
    /// at most one of many concurrent validations can consume a code. `decide` must be pure.
    /// Returns the outcome `decide` gave, with the session as written (or as found).
    pub fn update_session<T>(
        &self,
        id: &SessionId,
        mut decide: impl FnMut(Option<&Session>) -> (Option<Session>, T),
    ) -> Result<T, StoreError> {
        loop {
            let current = self.sessions.get(id.as_str())?;
            let session = current
                .as_ref()
                .map(|v| records::decode_session(id, v))
                .transpose()?;
            let (next, outcome) = decide(session.as_ref());
            let Some(next) = next else { return Ok(outcome) };
            if session
                .as_ref()
                .is_none_or(|s| s.expires_ms != next.expires_ms)
            {
                self.note_expiry(Expiring::Session, next.expires_ms, id.as_str().as_bytes())?;
            }
            let encoded = records::encode_session(&next)?;
            if self
                .sessions
                .compare_and_swap(id.as_str(), current, Some(encoded))?
                .is_ok()
            {
                return Ok(outcome);
            }
        }
    }

    /// The issuing transaction: re-reads the session and the customer's usage, lets `decide`
    /// apply the limits (with the customer's override, read just before), then writes the
    /// session (new code hash), the usage, the delivery job, the log record and their index
    /// entries together; the brand's hourly count follows the commit. `decide` may run more
    /// than once: it must be free of side effects. Nothing is written when it refuses.
    pub fn issue(
        &self,
        input: &IssueInput<'_>,
        decide: impl Fn(Option<&Session>, Option<&Usage>, Option<u32>) -> Result<IssueWrite, Refusal>,
    ) -> Result<Result<(), Refusal>, StoreError> {
        let customer = input.destination.map(|d| keys::customer(input.brand, d));
        let job = input
            .job
            .map(|j| Ok::<_, StoreError>((keys::outbox(j.due_ms, j.id), records::encode_job(j)?)))
            .transpose()?;
        let log_key = *input.log.id.as_bytes();
        let log_value = records::encode_log(input.log)?;
        let index_key = input
            .destination
            .map(|d| keys::log_by_dest(input.brand, d, input.log.id));
        let facet_keys: Vec<Vec<u8>> = keys::LogFacet::of(input.log)
            .map(|f| keys::log_facet(f, input.log.id))
            .collect();
        // Read outside the transaction: a limit an operator changes at this very moment may
        // apply from the next code on.
        let limit = match &customer {
            Some(customer) => self.overrides.get(customer)?.and_then(|v| decode_u32(&v)),
            None => None,
        };
        let result = (
            &self.sessions,
            &self.usage,
            &self.outbox,
            &self.log,
            &self.log_by_dest,
            &self.expiry,
        )
            .transaction(|(sessions, usage, outbox, log, log_by_dest, expiry)| {
                let abort = |e: StoreError| ConflictableTransactionError::Abort(Err(e));
                let session = sessions
                    .get(input.session_id.as_str())?
                    .map(|v| records::decode_session(input.session_id, &v))
                    .transpose()
                    .map_err(abort)?;
                let current = match &customer {
                    Some(customer) => usage
                        .get(customer)?
                        .map(|v| records::decode_usage(&v))
                        .transpose()
                        .map_err(abort)?,
                    None => None,
                };
                let write = decide(session.as_ref(), current.as_ref(), limit)
                    .map_err(|r| ConflictableTransactionError::Abort(Ok(r)))?;
                sessions.insert(
                    input.session_id.as_str(),
                    records::encode_session(&write.session).map_err(abort)?,
                )?;
                let id = input.session_id.as_str().as_bytes();
                let key = keys::expiry(Expiring::Session, write.session.expires_ms, id);
                expiry.insert(key, &[] as &[u8])?;
                if let (Some(u), Some(customer)) = (&write.usage, &customer) {
                    usage.insert(
                        customer.as_slice(),
                        records::encode_usage(u).map_err(abort)?,
                    )?;
                    let key = keys::expiry(Expiring::Usage, usage_expires_ms(u), customer);
                    expiry.insert(key, &[] as &[u8])?;
                }
                if let Some((k, v)) = &job {
                    outbox.insert(&k[..], v.as_slice())?;
                }
                log.insert(&log_key[..], log_value.as_slice())?;
                for k in index_key.iter().chain(&facet_keys) {
                    log_by_dest.insert(k.as_slice(), &[] as &[u8])?;
                }
                Ok(())
            });
        match result {
            Ok(()) => {
                // The brand's hourly count, after the commit: every issuing transaction would
                // otherwise write this one key, and conflict with all the others in flight.
                // A crash in between loses one count on the dashboard, never a code or a charge.
                self.count(
                    input.log.time_ms,
                    input.brand.as_str(),
                    crate::domain::stats::outcome_counter(input.log),
                )?;
                Ok(Ok(()))
            }
            Err(TransactionError::Abort(Ok(refusal))) => Ok(Err(refusal)),
            Err(TransactionError::Abort(Err(e))) => Err(e),
            Err(TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    /// Remembers an accepted signature until `expires_ms`; false when it was already there.
    pub fn remember_nonce(
        &self,
        brand: &BrandName,
        hash: &[u8],
        expires_ms: i64,
    ) -> Result<bool, StoreError> {
        let key = keys::nonce(brand, hash);
        self.note_expiry(Expiring::Nonce, expires_ms, &key)?;
        let fresh = self
            .nonces
            .compare_and_swap(
                key,
                None as Option<&[u8]>,
                Some(&expires_ms.to_be_bytes()[..]),
            )?
            .is_ok();
        Ok(fresh)
    }
}
