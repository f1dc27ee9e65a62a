//! Console operators, their login sessions and the first-run setup token. Operators are rare
//! writes and flush before returning; a session's key is the SHA-256 of the browser's token, so
//! the store alone opens no session.

use serde::{Deserialize, Serialize};

use super::{EmbeddedStore, StoreError, TokenDigest};
use crate::domain::{ConsoleSession, Operator, OperatorName};
use crate::store::records::{
    decode_console_session as decode_session, decode_operator,
    encode_console_session as encode_session, encode_operator,
};

const SETUP_TOKEN: &str = "setup_token";

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetupTokenV1 {
    digest: String,
    expires_ms: i64,
}

fn encode_json<T: Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| StoreError::Encode(e.to_string()))
}

impl EmbeddedStore {
    pub fn operators(&self) -> Result<Vec<Operator>, StoreError> {
        self.operators
            .iter()
            .map(|kv| kv.and_then(|(_, v)| decode_operator(&v)))
            .collect()
    }

    pub fn operator(&self, name: &OperatorName) -> Result<Option<Operator>, StoreError> {
        self.operators
            .get(name.as_str())?
            .map(|v| decode_operator(&v))
            .transpose()
    }

    pub fn has_operators(&self) -> Result<bool, StoreError> {
        Ok(!self.operators.is_empty()?)
    }

    /// Inserts an operator unless one of that name exists; returns whether it was inserted.
    pub fn create_operator(&self, o: &Operator) -> Result<bool, StoreError> {
        let value = encode_operator(o)?;
        let inserted = self.db.write(|tx| {
            if tx.get(&self.operators, o.name.as_str())?.is_some() {
                return Ok::<_, StoreError>(false);
            }
            tx.insert(&self.operators, o.name.as_str(), value);
            Ok(true)
        })?;
        if inserted {
            self.sync.flush()?;
            self.manifest_add(None, Some(o.name.as_str()))?;
        }
        Ok(inserted)
    }

    /// Rewrites one operator with `change`, in one transaction. `Ok(None)` when no operator
    /// has that name.
    pub fn update_operator<E: From<StoreError>>(
        &self,
        name: &OperatorName,
        change: impl FnOnce(Operator) -> Result<Operator, E>,
    ) -> Result<Option<Operator>, E> {
        let changed = self.db.write(|tx| -> Result<_, E> {
            let Some(current) = tx.get(&self.operators, name.as_str())? else {
                return Ok(None);
            };
            let next = change(decode_operator(&current)?)?;
            tx.insert(&self.operators, name.as_str(), encode_operator(&next)?);
            Ok(Some(next))
        })?;
        if changed.is_some() {
            self.sync.flush()?;
        }
        Ok(changed)
    }

    // ---- console sessions ---------------------------------------------------------------

    pub fn create_console_session(
        &self,
        key: &TokenDigest,
        s: &ConsoleSession,
    ) -> Result<(), StoreError> {
        self.console_sessions.insert(key, encode_session(s)?)?;
        Ok(())
    }

    pub fn console_session(&self, key: &TokenDigest) -> Result<Option<ConsoleSession>, StoreError> {
        self.console_sessions
            .get(key)?
            .map(|v| decode_session(&v))
            .transpose()
    }

    /// Marks a session as used at `now_ms` (what its idle timeout counts from).
    pub fn touch_console_session(&self, key: &TokenDigest, now_ms: i64) -> Result<(), StoreError> {
        self.console_sessions.fetch_and_update(key, |old| {
            let mut s = decode_session(old?).ok()?;
            s.last_seen_ms = s.last_seen_ms.max(now_ms);
            encode_session(&s).ok()
        })?;
        Ok(())
    }

    pub fn end_console_session(&self, key: &TokenDigest) -> Result<(), StoreError> {
        self.console_sessions.remove(key)?;
        Ok(())
    }

    /// Ends every session of one operator (disabled, password changed or reset), except
    /// `keep` (the session that changed its own password stays logged in).
    pub fn end_operator_sessions(
        &self,
        name: &OperatorName,
        keep: Option<&TokenDigest>,
    ) -> Result<usize, StoreError> {
        let mut ended = 0;
        for item in self.console_sessions.iter() {
            let (k, v) = item?;
            let belongs = decode_session(&v).is_ok_and(|s| &s.operator == name);
            if belongs && keep.is_none_or(|keep| k.as_ref() != keep.as_slice()) {
                self.console_sessions.remove(k)?;
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Deletes sessions that can no longer be used (swept with the rest).
    pub fn sweep_console_sessions(
        &self,
        now_ms: i64,
        idle_ms: i64,
        max_ms: i64,
    ) -> Result<usize, StoreError> {
        let mut removed = 0;
        for item in self.console_sessions.iter() {
            let (k, v) = item?;
            if !decode_session(&v).is_ok_and(|s| s.is_live(now_ms, idle_ms, max_ms)) {
                self.console_sessions.remove(k)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    // ---- the first-run setup token ------------------------------------------------------

    /// Replaces the setup token (one at a time; printed at a start without operators).
    pub fn put_setup_token(&self, digest: &TokenDigest, expires_ms: i64) -> Result<(), StoreError> {
        let record = SetupTokenV1 {
            digest: hex::encode(digest),
            expires_ms,
        };
        self.meta.insert(SETUP_TOKEN, encode_json(&record)?)?;
        self.sync.flush()?;
        Ok(())
    }

    /// Uses up the setup token if `digest` is it and it has not expired: true at most once.
    pub fn take_setup_token(&self, digest: &TokenDigest, now_ms: i64) -> Result<bool, StoreError> {
        let Some(current) = self.meta.get(SETUP_TOKEN)? else {
            return Ok(false);
        };
        let Ok(record) = serde_json::from_slice::<SetupTokenV1>(&current) else {
            return Ok(false);
        };
        let matches = bool::from(subtle::ConstantTimeEq::ct_eq(
            record.digest.as_bytes(),
            hex::encode(digest).as_bytes(),
        ));
        if !matches || record.expires_ms <= now_ms {
            return Ok(false);
        }
        // Taken only if still the same token: a second use at the same moment finds it gone.
        self.db.write(|tx| {
            if tx.get(&self.meta, SETUP_TOKEN)?.as_deref() != Some(&current[..]) {
                return Ok(false);
            }
            tx.remove(&self.meta, SETUP_TOKEN);
            Ok(true)
        })
    }
}
