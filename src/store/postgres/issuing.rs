//! Sessions, issuing, the signature replay cache, usage and limit overrides. Lock order
//! everywhere: the session row, then the customer's usage row.

use deadpool_postgres::GenericClient;

use super::{PgStore, TRIES, back_off, retryable};
use crate::domain::limits::Usage;
use crate::domain::{BrandName, Destination, IssuanceRecord, Refusal, Session, SessionId};
use crate::store::{IssueInput, IssueWrite, StoreError, records, usage_expires_ms};

/// The limit an override row holds, as the domain counts it.
fn limit_of(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl PgStore {
    pub async fn session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached("SELECT body FROM sessions WHERE id = $1")
            .await?;
        client
            .query_opt(&stmt, &[&id.as_str()])
            .await?
            .map(|row| records::decode_session(id, row.get(0)))
            .transpose()
    }

    pub async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        let body = records::encode_session(s)?;
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO sessions (id, expires_ms, body) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET expires_ms = $2, body = $3",
            )
            .await?;
        client
            .execute(&stmt, &[&s.id.as_str(), &s.expires_ms, &body])
            .await?;
        Ok(())
    }

    /// Read-modify-write of one session under its row lock.
    pub async fn update_session<T>(
        &self,
        id: &SessionId,
        mut decide: impl FnMut(Option<&Session>) -> (Option<Session>, T) + Send,
    ) -> Result<T, StoreError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let mut client = self.pool.get().await?;
            let attempt = async {
                let tx = client.transaction().await?;
                let select = tx
                    .prepare_cached("SELECT body FROM sessions WHERE id = $1 FOR UPDATE")
                    .await?;
                let current = tx
                    .query_opt(&select, &[&id.as_str()])
                    .await?
                    .map(|row| records::decode_session(id, row.get(0)))
                    .transpose()?;
                let (next, outcome) = decide(current.as_ref());
                if let Some(next) = next {
                    let body = records::encode_session(&next)?;
                    let update = tx
                        .prepare_cached(
                            "UPDATE sessions SET expires_ms = $2, body = $3 WHERE id = $1",
                        )
                        .await?;
                    tx.execute(&update, &[&id.as_str(), &next.expires_ms, &body])
                        .await?;
                }
                tx.commit().await?;
                Ok::<_, Failure>(outcome)
            };
            match attempt.await {
                Ok(outcome) => return Ok(outcome),
                Err(Failure::Db(e)) if retryable(&e) && tries < TRIES => back_off(tries).await,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The issuing transaction: the session and the customer's usage locked in that order, the
    /// override read, `decide` run, then the session, the usage, the job and the log record
    /// written; the brand's hourly count follows the commit.
    pub async fn issue(
        &self,
        input: &IssueInput<'_>,
        decide: impl Fn(Option<&Session>, Option<&Usage>, Option<u32>) -> Result<IssueWrite, Refusal>
        + Send,
    ) -> Result<Result<(), Refusal>, StoreError> {
        let customer = input.destination.map(Destination::key);
        let job = input
            .job
            .map(|j| Ok::<_, StoreError>((j, records::encode_job(j)?)))
            .transpose()?;
        let log_body = records::encode_log(input.log)?;
        let brand = input.brand.as_str();
        let mut tries = 0;
        loop {
            tries += 1;
            let mut client = self.pool.get().await?;
            let attempt = async {
                let tx = client.transaction().await?;
                // Statements sent together go out in one flight (tokio-postgres pipelines
                // what is polled at once); PostgreSQL still runs them in order, so the locks
                // are taken session first, then usage.
                let (select_session, ensure_usage, select_usage) = tokio::try_join!(
                    tx.prepare_cached("SELECT body FROM sessions WHERE id = $1 FOR UPDATE"),
                    // The row must exist to be locked: the first code of a customer.
                    tx.prepare_cached(
                        "INSERT INTO usage (brand, customer) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    ),
                    tx.prepare_cached(
                        "SELECT u.body, o.daily_limit FROM usage u
                         LEFT JOIN limit_overrides o
                           ON o.brand = u.brand AND o.customer = u.customer
                         WHERE u.brand = $1 AND u.customer = $2 FOR UPDATE OF u",
                    ),
                )?;
                let session_id = input.session.id.as_str();
                let read_session = async { tx.query_opt(&select_session, &[&session_id]).await };
                let (session, usage_row) = match &customer {
                    Some(customer) => {
                        let (session, _, usage) = tokio::try_join!(
                            read_session,
                            async { tx.execute(&ensure_usage, &[&brand, customer]).await },
                            async { tx.query_one(&select_usage, &[&brand, customer]).await },
                        )?;
                        (session, Some(usage))
                    }
                    None => (read_session.await?, None),
                };
                let session = session
                    .map(|row| records::decode_session(&input.session.id, row.get(0)))
                    .transpose()?;
                let (usage, limit) = match usage_row {
                    Some(row) => (
                        row.get::<_, Option<&[u8]>>(0)
                            .map(records::decode_usage)
                            .transpose()?,
                        row.get::<_, Option<i64>>(1).map(limit_of),
                    ),
                    None => (None, None),
                };
                let write = match decide(session.as_ref(), usage.as_ref(), limit) {
                    Ok(write) => write,
                    // Dropping the transaction rolls it back: nothing is written.
                    Err(refusal) => return Ok(Err(refusal)),
                };
                let session_body = records::encode_session(&write.session)?;
                let usage_write = match (&write.usage, &customer) {
                    (Some(u), Some(customer)) => {
                        Some((customer, records::encode_usage(u)?, usage_expires_ms(u)))
                    }
                    _ => None,
                };
                let (upsert_session, update_usage, insert_job) = tokio::try_join!(
                    tx.prepare_cached(
                        "INSERT INTO sessions (id, expires_ms, body) VALUES ($1, $2, $3)
                         ON CONFLICT (id) DO UPDATE SET expires_ms = $2, body = $3",
                    ),
                    tx.prepare_cached(
                        "UPDATE usage SET body = $3, expires_ms = $4
                         WHERE brand = $1 AND customer = $2",
                    ),
                    tx.prepare_cached("INSERT INTO outbox (id, due_ms, body) VALUES ($1, $2, $3)"),
                )?;
                let writes = async {
                    tokio::try_join!(
                        async {
                            let expires_ms = write.session.expires_ms;
                            tx.execute(&upsert_session, &[&session_id, &expires_ms, &session_body])
                                .await
                        },
                        async {
                            match &usage_write {
                                Some((customer, body, expires_ms)) => {
                                    tx.execute(&update_usage, &[&brand, customer, body, expires_ms])
                                        .await
                                }
                                None => Ok(0),
                            }
                        },
                        async {
                            match &job {
                                Some((j, body)) => {
                                    tx.execute(&insert_job, &[&j.id, &j.due_ms, body]).await
                                }
                                None => Ok(0),
                            }
                        },
                    )
                };
                let (written, logged) = tokio::join!(writes, insert_log(&tx, input.log, &log_body));
                written?;
                logged?;
                tx.commit().await?;
                Ok::<_, Failure>(Ok(()))
            };
            match attempt.await {
                Ok(Ok(())) => {
                    self.count_outcome(input.log);
                    return Ok(Ok(()));
                }
                Ok(Err(refusal)) => return Ok(Err(refusal)),
                Err(Failure::Db(e)) if retryable(&e) && tries < TRIES => back_off(tries).await,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Remembers an accepted signature until `expires_ms`; false when it was already there
    /// (a replay). A hash signs its own timestamp: once the entry expires, the signature window
    /// refuses the request anyway.
    pub async fn remember_nonce(
        &self,
        brand: &BrandName,
        hash: &[u8],
        expires_ms: i64,
    ) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO nonces (brand, hash, expires_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (brand, hash) DO NOTHING",
            )
            .await?;
        let rows = client
            .execute(&stmt, &[&brand.as_str(), &hash, &expires_ms])
            .await?;
        Ok(rows == 1)
    }

    pub async fn usage(
        &self,
        brand: &BrandName,
        dest: &Destination,
    ) -> Result<Option<Usage>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached("SELECT body FROM usage WHERE brand = $1 AND customer = $2")
            .await?;
        let row = client
            .query_opt(&stmt, &[&brand.as_str(), &dest.key()])
            .await?;
        row.and_then(|r| r.get::<_, Option<&[u8]>>(0).map(records::decode_usage))
            .transpose()
    }

    /// Forgets a customer's count (an operator's reset); the cooldown is kept.
    pub async fn reset_usage(
        &self,
        brand: &BrandName,
        dest: &Destination,
    ) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let key = dest.key();
        let row = tx
            .query_opt(
                "SELECT body FROM usage WHERE brand = $1 AND customer = $2 FOR UPDATE",
                &[&brand.as_str(), &key],
            )
            .await?;
        let Some(body) = row.and_then(|r| r.get::<_, Option<Vec<u8>>>(0)) else {
            return Ok(());
        };
        let last = records::decode_usage(&body)
            .ok()
            .and_then(|u| u.last_issued_ms);
        let cleared = Usage {
            last_issued_ms: last,
            ..Usage::default()
        };
        tx.execute(
            "UPDATE usage SET body = $3, expires_ms = $4 WHERE brand = $1 AND customer = $2",
            &[
                &brand.as_str(),
                &key,
                &records::encode_usage(&cleared)?,
                &usage_expires_ms(&cleared),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn limit_override(
        &self,
        brand: &BrandName,
        dest: &Destination,
    ) -> Result<Option<u32>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT daily_limit FROM limit_overrides WHERE brand = $1 AND customer = $2",
                &[&brand.as_str(), &dest.key()],
            )
            .await?;
        Ok(row.map(|r| limit_of(r.get(0))))
    }

    pub async fn set_limit_override(
        &self,
        brand: &BrandName,
        dest: &Destination,
        limit: Option<u32>,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        match limit {
            Some(n) => {
                client
                    .execute(
                        "INSERT INTO limit_overrides (brand, customer, daily_limit)
                         VALUES ($1, $2, $3)
                         ON CONFLICT (brand, customer) DO UPDATE SET daily_limit = $3",
                        &[&brand.as_str(), &dest.key(), &i64::from(n)],
                    )
                    .await?
            }
            None => {
                client
                    .execute(
                        "DELETE FROM limit_overrides WHERE brand = $1 AND customer = $2",
                        &[&brand.as_str(), &dest.key()],
                    )
                    .await?
            }
        };
        Ok(())
    }

    /// Every override of a brand: (destination, limit).
    pub async fn limit_overrides(
        &self,
        brand: &BrandName,
    ) -> Result<Vec<(Destination, u32)>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT customer, daily_limit FROM limit_overrides WHERE brand = $1
                 ORDER BY customer",
                &[&brand.as_str()],
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let dest = Destination::parse_key(r.get(0)).ok()?;
                Some((dest, limit_of(r.get(1))))
            })
            .collect())
    }
}

/// What can end a transaction early: the database, or a record that does not encode.
pub(super) enum Failure {
    Db(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Db(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<Failure> for StoreError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Db(e) => e.into(),
            Failure::Store(e) => e,
        }
    }
}

/// Writes a log record on `db`: the columns queries filter on, and `body` (the record as
/// `records::encode_log` wrote it). A record already there (same id) stays as it is.
pub(super) async fn insert_log(
    db: &impl GenericClient,
    r: &IssuanceRecord,
    body: &[u8],
) -> Result<(), tokio_postgres::Error> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO issuance_log
                 (id, brand, customer, time_ms, outcome, channel, delivery, test, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (id) DO NOTHING",
        )
        .await?;
    db.execute(
        &stmt,
        &[
            &r.id,
            &r.brand,
            &r.destination,
            &r.time_ms,
            &i32::from(r.outcome),
            &r.channel.map(|c| c.as_str()),
            &r.delivery.as_str(),
            &r.test,
            &body,
        ],
    )
    .await?;
    Ok(())
}
