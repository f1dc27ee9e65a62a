//! Every record, decoded (`otpd backup`): read in one read-only snapshot, so a backup taken
//! while nodes serve is consistent across tables, and fetched a thousand rows at a time, so a
//! large log never sits in memory whole.

use tokio_postgres::{IsolationLevel, Row, Transaction};

use super::PgStore;
use super::admin::{
    OPERATOR_COLUMNS, SERVER_SETTINGS, console_session_of, operator_of, overrides_of,
};
use super::log::{AUDIT_COLUMNS, audit_entry_of};
use crate::domain::SessionId;
use crate::domain::stats::Counter;
use crate::store::{Record, StatRow, StoreError, TokenDigest, records};

const ROWS_PER_FETCH: i32 = 1000;

/// Calls `f` with every row `sql` selects.
async fn each_row(
    tx: &Transaction<'_>,
    sql: &str,
    mut f: impl FnMut(&Row) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let portal = tx.bind(sql, &[]).await?;
    loop {
        let rows = tx.query_portal(&portal, ROWS_PER_FETCH).await?;
        if rows.is_empty() {
            return Ok(());
        }
        rows.iter().try_for_each(&mut f)?;
    }
}

impl PgStore {
    /// Hands every record to `each`, brands first; returns how many. A record that cannot be
    /// decoded stops the export with its kind named.
    pub async fn export(
        &self,
        each: &mut dyn FnMut(Record) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let mut client = self.pool.get().await?;
        // What this node counted goes into the backup too.
        self.counts.write_out(&client).await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let mut n = 0u64;
        let mut give = |r: Record| {
            n += 1;
            each(r)
        };
        each_row(&tx, "SELECT name, body FROM brands ORDER BY name", |r| {
            let name: &str = r.get(0);
            give(Record::Brand(records::decode_brand(
                name.as_bytes(),
                r.get(1),
                &self.keys,
            )?))
        })
        .await?;
        each_row(&tx, "SELECT id, body FROM sessions", |r| {
            let id = SessionId::parse(r.get(0))
                .map_err(|_| StoreError::Decode("session", "a bad session id".into()))?;
            give(Record::Session(records::decode_session(&id, r.get(1))?))
        })
        .await?;
        // A usage row without a body only exists to be locked: no code was issued on it.
        each_row(
            &tx,
            "SELECT brand, customer, body FROM usage WHERE body IS NOT NULL",
            |r| {
                give(Record::Usage {
                    brand: records::brand_name("usage", r.get(0))?,
                    customer: records::customer("usage", r.get(1))?,
                    usage: records::decode_usage(r.get(2))?,
                })
            },
        )
        .await?;
        each_row(
            &tx,
            "SELECT brand, customer, daily_limit FROM limit_overrides",
            |r| {
                let limit = u32::try_from(r.get::<_, i64>(2))
                    .map_err(|_| StoreError::Decode("limit override", "a bad limit".into()))?;
                give(Record::LimitOverride {
                    brand: records::brand_name("limit override", r.get(0))?,
                    customer: records::customer("limit override", r.get(1))?,
                    limit,
                })
            },
        )
        .await?;
        each_row(&tx, "SELECT body FROM outbox ORDER BY due_ms", |r| {
            give(Record::Job(records::decode_job(r.get(0))?))
        })
        .await?;
        each_row(&tx, "SELECT body FROM issuance_log ORDER BY id", |r| {
            give(Record::Log(records::decode_log(r.get(0))?))
        })
        .await?;
        each_row(&tx, "SELECT brand, hash, expires_ms FROM nonces", |r| {
            give(Record::Nonce {
                brand: records::brand_name("nonce", r.get(0))?,
                hash: r.get(1),
                expires_ms: r.get(2),
            })
        })
        .await?;
        each_row(
            &tx,
            "SELECT hour, brand, counter, count FROM stats ORDER BY hour",
            |r| {
                let bad = || StoreError::Decode("dashboard counter", "a bad row".into());
                give(Record::Stat(StatRow {
                    hour: u32::try_from(r.get::<_, i32>(0)).map_err(|_| bad())?,
                    brand: r.get(1),
                    counter: Counter::parse(r.get(2)).ok_or_else(bad)?,
                    count: u64::try_from(r.get::<_, i64>(3)).map_err(|_| bad())?,
                }))
            },
        )
        .await?;
        let audit = format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY seq");
        each_row(&tx, &audit, |r| give(Record::Audit(audit_entry_of(r)))).await?;
        let operators = format!("SELECT {OPERATOR_COLUMNS} FROM operators ORDER BY name");
        each_row(&tx, &operators, |r| give(Record::Operator(operator_of(r)?))).await?;
        each_row(
            &tx,
            "SELECT operator, csrf_token, created_ms, last_seen_ms, digest FROM console_sessions",
            |r| {
                let key = TokenDigest::try_from(r.get::<_, &[u8]>(4))
                    .map_err(|_| StoreError::Decode("console session", "a bad key".into()))?;
                give(Record::ConsoleSession {
                    key,
                    session: console_session_of(r)?,
                })
            },
        )
        .await?;
        let settings = tx
            .query_opt(
                "SELECT value FROM settings WHERE name = $1",
                &[&SERVER_SETTINGS],
            )
            .await?
            .map(|r| r.get(0));
        give(Record::ServerSettings(overrides_of(settings)?))?;
        tx.commit().await?;
        Ok(n)
    }
}
