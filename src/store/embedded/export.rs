//! Every record, decoded (`otpd migrate`): read while no server runs (the engine locks the store).

use super::{EmbeddedStore, StoreError, decode_i64, decode_u32, records, stats};
use crate::domain::{BrandName, Destination, SessionId};
use crate::store::{Record, StatRow, TokenDigest};

/// `brand 0 rest` keys (usage, overrides, nonces): the brand and the rest.
fn split_brand(k: &[u8]) -> Option<(BrandName, &[u8])> {
    let at = k.iter().position(|&b| b == 0)?;
    let brand = BrandName::parse(std::str::from_utf8(&k[..at]).ok()?).ok()?;
    Some((brand, &k[at + 1..]))
}

fn customer(rest: &[u8]) -> Option<Destination> {
    Destination::parse_key(std::str::from_utf8(rest).ok()?).ok()
}

impl EmbeddedStore {
    /// Hands every record to `each`, brands first; returns how many. A record that cannot be
    /// decoded stops the export with its kind named.
    pub fn export(
        &self,
        each: &mut dyn FnMut(Record) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        self.counts.write_out()?;
        let mut n = 0;
        let mut give = |r: Record| {
            n += 1;
            each(r)
        };
        for item in self.brands.iter() {
            let (k, v) = item?;
            give(Record::Brand(records::decode_brand(&k, &v, &self.keys)?))?;
        }
        for item in self.sessions.iter() {
            let (k, v) = item?;
            let id = std::str::from_utf8(&k)
                .ok()
                .and_then(|s| SessionId::parse(s).ok())
                .ok_or_else(|| StoreError::Decode("session", "a bad session id".into()))?;
            give(Record::Session(records::decode_session(&id, &v)?))?;
        }
        for item in self.usage.iter() {
            let (k, v) = item?;
            let (brand, rest) =
                split_brand(&k).ok_or_else(|| StoreError::Decode("usage", "a bad key".into()))?;
            let customer = customer(rest)
                .ok_or_else(|| StoreError::Decode("usage", "a bad customer".into()))?;
            let usage = records::decode_usage(&v)?;
            give(Record::Usage {
                brand,
                customer,
                usage,
            })?;
        }
        for item in self.overrides.iter() {
            let (k, v) = item?;
            let bad = || StoreError::Decode("limit override", "a bad record".into());
            let (brand, rest) = split_brand(&k).ok_or_else(bad)?;
            let customer = customer(rest).ok_or_else(bad)?;
            let limit = decode_u32(&v).ok_or_else(bad)?;
            give(Record::LimitOverride {
                brand,
                customer,
                limit,
            })?;
        }
        for item in self.outbox.iter() {
            let (_, v) = item?;
            give(Record::Job(records::decode_job(&v)?))?;
        }
        for item in self.log.iter() {
            let (_, v) = item?;
            give(Record::Log(records::decode_log(&v)?))?;
        }
        for item in self.nonces.iter() {
            let (k, v) = item?;
            let bad = || StoreError::Decode("nonce", "a bad record".into());
            let (brand, hash) = split_brand(&k).ok_or_else(bad)?;
            let expires_ms = decode_i64(&v).ok_or_else(bad)?;
            give(Record::Nonce {
                brand,
                hash: hash.to_vec(),
                expires_ms,
            })?;
        }
        for item in self.stats.iter() {
            let (k, v) = item?;
            let Some((hour, brand, counter)) = stats::parse_key(&k) else {
                continue;
            };
            let count = <[u8; 8]>::try_from(v.as_ref()).map_or(0, u64::from_be_bytes);
            give(Record::Stat(StatRow {
                hour,
                brand,
                counter,
                count,
            }))?;
        }
        for item in self.audit.iter() {
            let (k, v) = item?;
            give(Record::Audit(records::decode_audit(hex::encode(&k), &v)?))?;
        }
        for item in self.operators.iter() {
            let (_, v) = item?;
            give(Record::Operator(records::decode_operator(&v)?))?;
        }
        for item in self.console_sessions.iter() {
            let (k, v) = item?;
            let key = TokenDigest::try_from(k.as_ref())
                .map_err(|_| StoreError::Decode("console session", "a bad key".into()))?;
            let session = records::decode_console_session(&v)?;
            give(Record::ConsoleSession { key, session })?;
        }
        give(Record::ServerSettings(self.runtime_overrides()?))?;
        Ok(n)
    }
}
