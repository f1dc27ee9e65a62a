//! What operators change: brands (sealed; a change is announced to the other nodes with
//! `NOTIFY otpd_brands`), operators, console sessions, the console's server settings and the
//! first-run setup token. Rare writes: plain statements, a row lock where a change reads first.

use serde_json::{Value, json};
use tokio_postgres::Row;

use super::PgStore;
use crate::config::RuntimeOverrides;
use crate::domain::operator::PasswordHash;
use crate::domain::{Brand, BrandName, ConsoleSession, Operator, OperatorName, Role};
use crate::store::{StoreError, TokenDigest, records};

const SETUP_TOKEN: &str = "setup_token";

fn role_name(role: Role) -> String {
    serde_json::to_value(role)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub(super) fn operator_of(r: &Row) -> Result<Operator, StoreError> {
    let bad = |e: &str| StoreError::Decode("operator", e.to_owned());
    Ok(Operator {
        name: OperatorName::parse(r.get(0)).map_err(bad)?,
        role: Role::parse(r.get(1)).ok_or_else(|| bad("unknown role"))?,
        password: PasswordHash(r.get(2)),
        disabled: r.get(3),
        must_change_password: r.get(4),
        created_ms: r.get(5),
        updated_ms: r.get(6),
        last_login_ms: r.get(7),
    })
}

pub(super) const OPERATOR_COLUMNS: &str = "name, role, password, disabled, must_change_password, \
                                created_ms, updated_ms, last_login_ms";

pub(super) fn console_session_of(r: &Row) -> Result<ConsoleSession, StoreError> {
    Ok(ConsoleSession {
        operator: OperatorName::parse(r.get(0))
            .map_err(|e| StoreError::Decode("console session", e.to_owned()))?,
        csrf_token: r.get(1),
        created_ms: r.get(2),
        last_seen_ms: r.get(3),
    })
}

/// The console's server settings from their `settings` row (none: nothing changed).
pub(super) fn overrides_of(v: Option<Value>) -> Result<RuntimeOverrides, StoreError> {
    match v {
        None => Ok(RuntimeOverrides::default()),
        Some(v) => serde_json::from_value(v)
            .map_err(|e| StoreError::Decode("server settings", e.to_string())),
    }
}

pub(super) const SERVER_SETTINGS: &str = "server_settings";

impl PgStore {
    // ---- brands -------------------------------------------------------------------------

    pub async fn brands(&self) -> Result<Vec<Brand>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query("SELECT name, body FROM brands ORDER BY name", &[])
            .await?;
        rows.iter()
            .map(|r| records::decode_brand(r.get::<_, &str>(0).as_bytes(), r.get(1), &self.keys))
            .collect()
    }

    pub async fn brand(&self, name: &BrandName) -> Result<Option<Brand>, StoreError> {
        let client = self.pool.get().await?;
        client
            .query_opt("SELECT body FROM brands WHERE name = $1", &[&name.as_str()])
            .await?
            .map(|r| records::decode_brand(name.as_str().as_bytes(), r.get(0), &self.keys))
            .transpose()
    }

    /// Creates a brand; false when one of that name exists.
    pub async fn create_brand(&self, brand: &Brand) -> Result<bool, StoreError> {
        let body = records::encode_brand(brand, &self.keys)?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let created = tx
            .execute(
                "INSERT INTO brands (name, body) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&brand.name.as_str(), &body],
            )
            .await?
            == 1;
        tx.execute(
            "SELECT pg_notify('otpd_brands', $1)",
            &[&brand.name.as_str()],
        )
        .await?;
        tx.commit().await?;
        if created {
            self.cache_brand(brand.clone());
        }
        Ok(created)
    }

    pub async fn put_brand(&self, brand: &Brand) -> Result<(), StoreError> {
        let body = records::encode_brand(brand, &self.keys)?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO brands (name, body) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET body = $2",
            &[&brand.name.as_str(), &body],
        )
        .await?;
        tx.execute(
            "SELECT pg_notify('otpd_brands', $1)",
            &[&brand.name.as_str()],
        )
        .await?;
        tx.commit().await?;
        self.cache_brand(brand.clone());
        Ok(())
    }

    /// Rewrites one brand with `change` under its row lock.
    pub async fn update_brand<E: From<StoreError>>(
        &self,
        name: &BrandName,
        mut change: impl FnMut(Brand) -> Result<Brand, E> + Send,
    ) -> Result<Option<(Brand, Brand)>, E> {
        let db = |e: tokio_postgres::Error| E::from(StoreError::from(e));
        let mut client = self
            .pool
            .get()
            .await
            .map_err(|e| E::from(StoreError::from(e)))?;
        let tx = client.transaction().await.map_err(db)?;
        let Some(row) = tx
            .query_opt(
                "SELECT body FROM brands WHERE name = $1 FOR UPDATE",
                &[&name.as_str()],
            )
            .await
            .map_err(db)?
        else {
            return Ok(None);
        };
        let before = records::decode_brand(name.as_str().as_bytes(), row.get(0), &self.keys)?;
        let next = change(before.clone())?;
        let body = records::encode_brand(&next, &self.keys)?;
        tx.execute(
            "UPDATE brands SET body = $2 WHERE name = $1",
            &[&name.as_str(), &body],
        )
        .await
        .map_err(db)?;
        tx.execute("SELECT pg_notify('otpd_brands', $1)", &[&name.as_str()])
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        self.cache_brand(next.clone());
        Ok(Some((before, next)))
    }

    /// Seals every brand with the active server key; returns how many were rewritten.
    pub async fn reseal_brands(&self) -> Result<usize, StoreError> {
        let active = self.keys.active_id();
        let client = self.pool.get().await?;
        let rows = client.query("SELECT name, body FROM brands", &[]).await?;
        let mut rewritten = 0;
        for r in &rows {
            let body: &[u8] = r.get(1);
            if records::brand_sealed_with(body) == Some(active) {
                continue;
            }
            let name: &str = r.get(0);
            let brand = records::decode_brand(name.as_bytes(), body, &self.keys)?;
            client
                .execute(
                    "UPDATE brands SET body = $2 WHERE name = $1",
                    &[&name, &records::encode_brand(&brand, &self.keys)?],
                )
                .await?;
            rewritten += 1;
        }
        Ok(rewritten)
    }

    // ---- operators ----------------------------------------------------------------------

    pub async fn operators(&self) -> Result<Vec<Operator>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!("SELECT {OPERATOR_COLUMNS} FROM operators ORDER BY name"),
                &[],
            )
            .await?;
        rows.iter().map(operator_of).collect()
    }

    pub async fn operator(&self, name: &OperatorName) -> Result<Option<Operator>, StoreError> {
        let client = self.pool.get().await?;
        client
            .query_opt(
                &format!("SELECT {OPERATOR_COLUMNS} FROM operators WHERE name = $1"),
                &[&name.as_str()],
            )
            .await?
            .as_ref()
            .map(operator_of)
            .transpose()
    }

    pub async fn has_operators(&self) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .query_one("SELECT EXISTS (SELECT 1 FROM operators)", &[])
            .await?
            .get(0))
    }

    /// Creates an operator; false when the name is taken.
    pub async fn create_operator(&self, o: &Operator) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .execute(
                &format!(
                    "INSERT INTO operators ({OPERATOR_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING"
                ),
                &[
                    &o.name.as_str(),
                    &role_name(o.role),
                    &o.password.0,
                    &o.disabled,
                    &o.must_change_password,
                    &o.created_ms,
                    &o.updated_ms,
                    &o.last_login_ms,
                ],
            )
            .await?;
        Ok(rows == 1)
    }

    /// Rewrites one operator with `change` under its row lock.
    pub async fn update_operator<E: From<StoreError>>(
        &self,
        name: &OperatorName,
        mut change: impl FnMut(Operator) -> Result<Operator, E> + Send,
    ) -> Result<Option<Operator>, E> {
        let db = |e: tokio_postgres::Error| E::from(StoreError::from(e));
        let mut client = self
            .pool
            .get()
            .await
            .map_err(|e| E::from(StoreError::from(e)))?;
        let tx = client.transaction().await.map_err(db)?;
        let Some(row) = tx
            .query_opt(
                &format!("SELECT {OPERATOR_COLUMNS} FROM operators WHERE name = $1 FOR UPDATE"),
                &[&name.as_str()],
            )
            .await
            .map_err(db)?
        else {
            return Ok(None);
        };
        let next = change(operator_of(&row)?)?;
        tx.execute(
            "UPDATE operators SET role = $2, password = $3, disabled = $4,
                 must_change_password = $5, updated_ms = $6, last_login_ms = $7
             WHERE name = $1",
            &[
                &name.as_str(),
                &role_name(next.role),
                &next.password.0,
                &next.disabled,
                &next.must_change_password,
                &next.updated_ms,
                &next.last_login_ms,
            ],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Some(next))
    }

    // ---- console sessions ---------------------------------------------------------------

    pub async fn create_console_session(
        &self,
        key: &TokenDigest,
        s: &ConsoleSession,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO console_sessions (digest, operator, csrf_token, created_ms, last_seen_ms)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &key.as_slice(),
                    &s.operator.as_str(),
                    &s.csrf_token,
                    &s.created_ms,
                    &s.last_seen_ms,
                ],
            )
            .await?;
        Ok(())
    }

    pub async fn console_session(
        &self,
        key: &TokenDigest,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "SELECT operator, csrf_token, created_ms, last_seen_ms FROM console_sessions
                 WHERE digest = $1",
            )
            .await?;
        client
            .query_opt(&stmt, &[&key.as_slice()])
            .await?
            .as_ref()
            .map(console_session_of)
            .transpose()
    }

    pub async fn touch_console_session(
        &self,
        key: &TokenDigest,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE console_sessions SET last_seen_ms = greatest(last_seen_ms, $2)
                 WHERE digest = $1",
                &[&key.as_slice(), &now_ms],
            )
            .await?;
        Ok(())
    }

    pub async fn end_console_session(&self, key: &TokenDigest) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "DELETE FROM console_sessions WHERE digest = $1",
                &[&key.as_slice()],
            )
            .await?;
        Ok(())
    }

    /// Ends every session of one operator except `keep`.
    pub async fn end_operator_sessions(
        &self,
        name: &OperatorName,
        keep: Option<&TokenDigest>,
    ) -> Result<usize, StoreError> {
        let client = self.pool.get().await?;
        let keep = keep.map(|k| k.as_slice());
        let ended = client
            .execute(
                "DELETE FROM console_sessions
                 WHERE operator = $1 AND ($2::bytea IS NULL OR digest <> $2)",
                &[&name.as_str(), &keep],
            )
            .await?;
        Ok(usize::try_from(ended).unwrap_or(usize::MAX))
    }

    /// Deletes sessions idle longer than `idle_ms` or older than `max_ms` (the complement
    /// of `ConsoleSession::is_live`).
    pub async fn sweep_console_sessions(
        &self,
        now_ms: i64,
        idle_ms: i64,
        max_ms: i64,
    ) -> Result<usize, StoreError> {
        let client = self.pool.get().await?;
        let removed = client
            .execute(
                "DELETE FROM console_sessions
                 WHERE $1 - last_seen_ms >= $2 OR $1 - created_ms >= $3",
                &[&now_ms, &idle_ms, &max_ms],
            )
            .await?;
        Ok(usize::try_from(removed).unwrap_or(usize::MAX))
    }

    // ---- server settings and the setup token --------------------------------------------

    async fn setting(&self, name: &str) -> Result<Option<Value>, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .query_opt("SELECT value FROM settings WHERE name = $1", &[&name])
            .await?
            .map(|r| r.get(0)))
    }

    async fn put_setting(&self, name: &str, value: &Value) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO settings (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = $2",
                &[&name, value],
            )
            .await?;
        Ok(())
    }

    pub async fn runtime_overrides(&self) -> Result<RuntimeOverrides, StoreError> {
        overrides_of(self.setting(SERVER_SETTINGS).await?)
    }

    pub async fn put_runtime_overrides(&self, o: &RuntimeOverrides) -> Result<(), StoreError> {
        let value = serde_json::to_value(o).map_err(|e| StoreError::Encode(e.to_string()))?;
        self.put_setting(SERVER_SETTINGS, &value).await
    }

    pub async fn put_setup_token(
        &self,
        digest: &TokenDigest,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        let value = json!({"digest": hex::encode(digest), "expiresMs": expires_ms});
        self.put_setting(SETUP_TOKEN, &value).await
    }

    /// Uses up the setup token if `digest` is it and it has not expired: true at most once.
    pub async fn take_setup_token(
        &self,
        digest: &TokenDigest,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let taken = client
            .execute(
                "DELETE FROM settings WHERE name = $1
                   AND value->>'digest' = $2 AND (value->>'expiresMs')::bigint > $3",
                &[&SETUP_TOKEN, &hex::encode(digest), &now_ms],
            )
            .await?;
        Ok(taken == 1)
    }
}
