//! Records moved in from another engine or a backup (`otpd migrate`, `otpd restore`): each written as this engine writes
//! it, none overwriting what is there (the move goes into an empty database).

use tokio::task::JoinSet;

use super::PgStore;
use super::issuing::insert_log;
use crate::store::{Record, StoreError, records, usage_expires_ms};

/// Records a restore or a migration writes at once, each on its own pooled connection.
const AT_ONCE: usize = 8;

/// Writes records several at a time (one round trip each would make a large log slow to move).
/// Audit entries go in one after another: their sequence is the trail's order.
pub struct Importer {
    store: PgStore,
    in_flight: JoinSet<Result<(), StoreError>>,
}

impl Importer {
    pub fn new(store: &PgStore) -> Self {
        Self {
            store: store.clone(),
            in_flight: JoinSet::new(),
        }
    }

    /// Starts writing `record`, once there is room (and, for an audit entry, once every
    /// earlier record is in).
    pub async fn add(&mut self, record: Record) -> Result<(), StoreError> {
        let ordered = matches!(record, Record::Audit(_));
        while (ordered && !self.in_flight.is_empty()) || self.in_flight.len() >= AT_ONCE {
            self.settle_one().await?;
        }
        let store = self.store.clone();
        self.in_flight
            .spawn(async move { store.import(record).await });
        Ok(())
    }

    /// Waits for every record started.
    pub async fn finish(mut self) -> Result<(), StoreError> {
        while !self.in_flight.is_empty() {
            self.settle_one().await?;
        }
        Ok(())
    }

    async fn settle_one(&mut self) -> Result<(), StoreError> {
        match self.in_flight.join_next().await {
            Some(done) => {
                done.map_err(|e| StoreError::Engine(format!("an import task failed: {e}")))?
            }
            None => Ok(()),
        }
    }
}

impl PgStore {
    pub async fn import(&self, record: Record) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        match record {
            Record::Brand(b) => {
                drop(client);
                self.put_brand(&b).await?;
            }
            Record::Session(s) => {
                client
                    .execute(
                        "INSERT INTO sessions (id, expires_ms, body) VALUES ($1, $2, $3)
                         ON CONFLICT DO NOTHING",
                        &[&s.id.as_str(), &s.expires_ms, &records::encode_session(&s)?],
                    )
                    .await?;
            }
            Record::Usage {
                brand,
                customer,
                usage,
            } => {
                client
                    .execute(
                        "INSERT INTO usage (brand, customer, expires_ms, body)
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                        &[
                            &brand.as_str(),
                            &customer.key(),
                            &usage_expires_ms(&usage),
                            &records::encode_usage(&usage)?,
                        ],
                    )
                    .await?;
            }
            Record::LimitOverride {
                brand,
                customer,
                limit,
            } => {
                drop(client);
                self.set_limit_override(&brand, &customer, Some(limit))
                    .await?;
            }
            Record::Job(j) => {
                client
                    .execute(
                        "INSERT INTO outbox (id, due_ms, body) VALUES ($1, $2, $3)
                         ON CONFLICT DO NOTHING",
                        &[&j.id, &j.due_ms, &records::encode_job(&j)?],
                    )
                    .await?;
            }
            Record::Log(r) => insert_log(&client, &r, &records::encode_log(&r)?).await?,
            Record::Nonce {
                brand,
                hash,
                expires_ms,
            } => {
                drop(client);
                self.remember_nonce(&brand, &hash, expires_ms).await?;
            }
            Record::Stat(row) => {
                let hour = i32::try_from(row.hour).unwrap_or(i32::MAX);
                let count = i64::try_from(row.count).unwrap_or(i64::MAX);
                client
                    .execute(
                        "INSERT INTO stats (hour, brand, counter, count) VALUES ($1, $2, $3, $4)
                         ON CONFLICT DO NOTHING",
                        &[&hour, &row.brand, &row.counter.name(), &count],
                    )
                    .await?;
            }
            Record::Audit(e) => {
                drop(client);
                self.append_audit(&e).await?;
            }
            Record::Operator(o) => {
                drop(client);
                self.create_operator(&o).await?;
            }
            Record::ConsoleSession { key, session } => {
                drop(client);
                self.create_console_session(&key, &session).await?;
            }
            Record::ServerSettings(o) => {
                drop(client);
                self.put_runtime_overrides(&o).await?;
            }
        }
        Ok(())
    }

    pub fn keys(&self) -> &crate::secrets::ServerKeys {
        &self.keys
    }

    /// Whether the database holds nothing an operator made (no brand, no operator): what
    /// `otpd migrate` moves into.
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .query_one(
                "SELECT NOT EXISTS (SELECT 1 FROM brands) AND NOT EXISTS (SELECT 1 FROM operators)",
                &[],
            )
            .await?
            .get(0))
    }
}
