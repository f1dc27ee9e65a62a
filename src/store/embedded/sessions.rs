//! Sessions, the issuing transaction, and the payload-signature replay cache: the state the
//! request path reads and writes.

use std::borrow::Cow;
use std::sync::atomic::Ordering;

use super::keys::Expiring;
use super::{EmbeddedStore, IssueInput, IssueWrite, StoreError, decode_u32, keys, records};
use crate::domain::limits::Usage;
use crate::domain::{BrandName, Refusal, Session, SessionId};
use crate::store::{ReadSession, usage_expires_ms};

impl EmbeddedStore {
    pub fn session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.sessions
            .get(id.as_str())?
            .map(|v| records::decode_session(id, &v))
            .transpose()
    }

    /// A session with its key's write stamp, taken before the read (see `ReadSession`).
    pub fn read_session(&self, id: &SessionId) -> Result<Option<ReadSession>, StoreError> {
        let stamp = self.sessions.stamp(id.as_str());
        Ok(self
            .session(id)?
            .map(|session| ReadSession { session, stamp }))
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

    /// The issuing transaction: takes the session as the request read it when no write to it
    /// has committed since (reads it again otherwise), reads the customer's usage, lets `decide`
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
            Some(customer) if self.any_override.load(Ordering::Acquire) => {
                self.overrides.get(customer)?.and_then(|v| decode_u32(&v))
            }
            _ => None,
        };
        let id = input.session.id.as_str();
        let issued = self.db.write(|tx| {
            let session = match input.session.stamp {
                Some(stamp) if tx.unchanged(&self.sessions, id, stamp) => {
                    Some(Cow::Borrowed(&input.session.session))
                }
                _ => tx
                    .get(&self.sessions, id)?
                    .map(|v| records::decode_session(&input.session.id, &v).map(Cow::Owned))
                    .transpose()?,
            };
            let current = match &customer {
                Some(customer) => tx
                    .get(&self.usage, customer)?
                    .map(|v| records::decode_usage(&v))
                    .transpose()?,
                None => None,
            };
            let write = match decide(session.as_deref(), current.as_ref(), limit) {
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
            let id = id.as_bytes();
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::{NOW, issue_on, open, session};
    use super::*;

    /// A write to the session between the request's read and the issuing transaction, each
    /// way one can happen.
    type Write = fn(&EmbeddedStore, &Session);

    const WRITES: [(&str, Write); 5] = [
        ("a validation counts a failed attempt", |store, s| {
            store
                .update_session(&s.id, |now| {
                    let mut next = now.unwrap().clone();
                    next.failed_attempts += 1;
                    (Some(next), ())
                })
                .unwrap();
        }),
        ("an import writes it again", |store, s| {
            let mut next = s.clone();
            next.consumed = true;
            store.insert_session(&next).unwrap();
        }),
        ("a restore writes it outside a transaction", |store, s| {
            let mut next = s.clone();
            next.expires_ms -= 1;
            let value = records::encode_session(&next).unwrap();
            store.sessions.insert(s.id.as_str(), value).unwrap();
        }),
        ("the sweep removes it", |store, s| {
            store
                .db
                .write(|tx| {
                    tx.remove(&store.sessions, s.id.as_str());
                    Ok::<_, StoreError>(())
                })
                .unwrap();
        }),
        ("it is removed outside a transaction", |store, s| {
            store.sessions.remove(s.id.as_str()).unwrap();
        }),
    ];

    #[test]
    fn the_issuing_transaction_takes_the_session_as_read_when_nothing_wrote_it_since() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let s = session();
        store.insert_session(&s).unwrap();
        let mut read = store.read_session(&s.id).unwrap().unwrap();
        assert!(read.stamp.is_some(), "sessions keep write stamps");
        // Marked, so that the decision shows which copy it was given.
        read.session.failed_attempts = 2;
        let (_, seen) = issue_on(&store, &read, NOW);
        assert_eq!(seen.unwrap().failed_attempts, 2, "the session as read");
    }

    #[test]
    fn the_issuing_transaction_reads_a_session_written_since_the_request_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        for (what, write) in WRITES {
            let s = session();
            store.insert_session(&s).unwrap();
            let read = store.read_session(&s.id).unwrap().unwrap();
            write(&store, &s);
            let now = store.session(&s.id).unwrap();
            assert_ne!(
                now.as_ref(),
                Some(&*read),
                "{what}: the write changed nothing"
            );
            let (_, seen) = issue_on(&store, &read, NOW);
            assert_eq!(
                seen, now,
                "{what}: the decision must see the session as it is"
            );
        }
    }
}
