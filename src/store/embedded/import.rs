//! Records restored from a backup (`otpd restore`): each written as this engine writes it,
//! with its index entries (expiry, log facets, by customer), into a store that holds nothing
//! an operator made yet. Nothing is flushed per record; closing the store flushes once.

use super::keys::Expiring;
use super::{EmbeddedStore, StoreError, keys, records, stats};
use crate::secrets::ServerKeys;
use crate::store::{Record, usage_expires_ms};

impl EmbeddedStore {
    pub fn import(&self, record: Record) -> Result<(), StoreError> {
        match record {
            Record::Brand(b) => self.put_brand(&b)?,
            Record::Session(s) => self.insert_session(&s)?,
            Record::Usage {
                brand,
                customer,
                usage,
            } => {
                let key = keys::customer(&brand, &customer);
                self.note_expiry(Expiring::Usage, usage_expires_ms(&usage), &key)?;
                self.usage.insert(key, records::encode_usage(&usage)?)?;
            }
            Record::LimitOverride {
                brand,
                customer,
                limit,
            } => self.set_limit_override(&brand, &customer, Some(limit))?,
            Record::Job(j) => {
                let key = keys::outbox(j.due_ms, j.id);
                let new = !self.outbox.contains_key(key)?;
                self.outbox.insert(key, records::encode_job(&j)?)?;
                self.unclaimed_job(j.due_ms);
                if new {
                    self.outbox_depth.queued(1);
                }
            }
            Record::Log(r) => self.append_log(&r)?,
            Record::Nonce {
                brand,
                hash,
                expires_ms,
            } => {
                self.remember_nonce(&brand, &hash, expires_ms)?;
            }
            Record::Stat(row) => {
                let key = stats::stat_key(row.hour, &row.brand, row.counter);
                self.stats.insert(key, row.count.to_be_bytes())?;
            }
            Record::Audit(e) => self.append_audit(&e)?,
            Record::Operator(o) => {
                self.create_operator(&o)?;
            }
            Record::ConsoleSession { key, session } => {
                self.create_console_session(&key, &session)?;
            }
            Record::ServerSettings(o) => self.put_runtime_overrides(&o)?,
        }
        Ok(())
    }

    /// Whether the store holds nothing an operator made (no brand, no operator).
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.brands.is_empty()? && self.operators.is_empty()?)
    }

    pub fn keys(&self) -> &ServerKeys {
        &self.keys
    }
}
