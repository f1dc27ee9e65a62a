//! Who may use the admin API and how they prove it. Console operators log in with a password
//! (argon2id) and get a session: a random token the browser keeps in an HttpOnly cookie (the
//! store keeps only its SHA-256) and a CSRF token every mutating call must echo. The local CLI
//! presents the token file (actor `cli`); the desktop app calls in-process as the local
//! operator (actor `desktop`). The first operator comes from `otpd operator add` or from a
//! one-time setup link printed at a start without operators.

mod throttle;

use std::net::IpAddr;

use rand::RngExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use throttle::LoginThrottle;

use super::Services;
use super::admin::AdminError;
use crate::domain::operator::check_password_rule;
use crate::domain::{ConsoleSession, Operator, OperatorName, Role};
use crate::store::TokenDigest;

/// A session lives at most this long after login, however busy.
pub const SESSION_MAX_MS: i64 = 12 * 3_600_000;
/// A setup link works for this long after the start that printed it.
pub const SETUP_TOKEN_TTL_MS: i64 = 3_600_000;
/// A session's last-seen time is written at most this often.
const TOUCH_EVERY_MS: i64 = 60_000;
/// Names the audit trail uses for callers that are not operators.
pub const RESERVED_NAMES: [&str; 3] = ["cli", "desktop", "system"];

/// Who is calling the admin API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// A console operator with a live session.
    Operator {
        name: OperatorName,
        role: Role,
        session: TokenDigest,
        csrf_token: String,
        must_change_password: bool,
    },
    /// The local CLI, holding the token file.
    Cli,
    /// The desktop app's own window, in-process.
    Desktop,
}

impl Principal {
    pub fn role(&self) -> Role {
        match self {
            Self::Operator { role, .. } => *role,
            Self::Cli | Self::Desktop => Role::Admin,
        }
    }

    /// The name the audit trail records.
    pub fn actor(&self) -> &str {
        match self {
            Self::Operator { name, .. } => name.as_str(),
            Self::Cli => "cli",
            Self::Desktop => "desktop",
        }
    }
}

/// The operator a session belongs to, as the console shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionOperator {
    pub name: String,
    pub role: Role,
    /// Set after an admin reset the password: change it before anything else.
    pub must_change_password: bool,
}

/// The answer to login, setup and "who am I".
#[derive(Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub operator: SessionOperator,
    /// Send it back as `X-CSRF-Token` on every call that is not GET or HEAD (empty for the
    /// CLI and the desktop app, which need none).
    pub csrf_token: String,
}

impl std::fmt::Debug for SessionView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionView")
            .field("operator", &self.operator)
            .finish_non_exhaustive()
    }
}

impl SessionView {
    pub fn of(p: &Principal) -> Self {
        let (csrf_token, must_change_password) = match p {
            Principal::Operator {
                csrf_token,
                must_change_password,
                ..
            } => (csrf_token.clone(), *must_change_password),
            Principal::Cli | Principal::Desktop => (String::new(), false),
        };
        Self {
            operator: SessionOperator {
                name: p.actor().to_owned(),
                role: p.role(),
                must_change_password,
            },
            csrf_token,
        }
    }
}

/// A new login: the token for the cookie, and what the console needs to know.
pub struct NewSession {
    pub token: String,
    pub view: SessionView,
}

pub fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

const WRONG_LOGIN: &str = "wrong name or password";

fn unauthorized(msg: &str) -> AdminError {
    AdminError::Unauthorized(msg.to_owned())
}

/// Hashes on a blocking thread: argon2id takes tens of milliseconds on purpose.
pub(crate) async fn hash_password(
    password: &str,
) -> Result<crate::domain::operator::PasswordHash, AdminError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || crate::password::hash(&password))
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?
        .map_err(AdminError::Internal)
}

/// Password checks running at once, at most: each takes 19 MiB and a core for tens of
/// milliseconds, so a flood of logins queues here instead of exhausting memory.
static VERIFY_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

async fn password_matches(password: &str, stored: Option<&Operator>) -> bool {
    let password = password.to_owned();
    let hash = stored.map_or_else(|| crate::password::decoy().clone(), |o| o.password.clone());
    let Ok(_slot) = VERIFY_SLOTS.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || crate::password::verify(&password, &hash))
        .await
        .unwrap_or(false)
}

/// Checks a new password against the rule, naming `field` in the error.
pub(crate) fn check_new_password(field: &str, password: &str) -> Result<(), AdminError> {
    check_password_rule(password).map_err(|e| AdminError::Invalid(format!("{field}: {e}")))
}

/// Parses a name for a new operator (reserved names refused).
pub(crate) fn new_operator_name(raw: &str) -> Result<OperatorName, AdminError> {
    let name = OperatorName::parse(raw).map_err(|e| AdminError::Invalid(format!("name: {e}")))?;
    if RESERVED_NAMES.contains(&name.as_str()) {
        return Err(AdminError::Invalid(format!(
            "name: {name:?} is reserved for the audit trail; choose another"
        )));
    }
    Ok(name)
}

impl Services {
    /// Checks a name and password; on success opens a session. Failures are slowed down per
    /// account and per client address (429 with the wait), and a wrong name costs the same
    /// time as a wrong password.
    pub async fn login(
        &self,
        name: &str,
        password: &str,
        client: IpAddr,
    ) -> Result<NewSession, AdminError> {
        let now_ms = self.clock.now_ms();
        let account: String = name.trim().to_ascii_lowercase().chars().take(64).collect();
        self.login_throttle
            .begin(&account, client, now_ms)
            .map_err(|retry_after_secs| AdminError::Throttled { retry_after_secs })?;
        let operator = match OperatorName::parse(name) {
            Ok(n) => self.store.operator(&n).await?,
            Err(_) => None,
        };
        if !password_matches(password, operator.as_ref()).await {
            // The name only when it is an operator's: a password typed into the name field
            // must not reach the log.
            let known = operator
                .as_ref()
                .map_or("(not an operator)", |o| o.name.as_str());
            tracing::info!(account = %known, client = %client, "console login failed");
            return Err(unauthorized(WRONG_LOGIN));
        }
        let Some(operator) = operator else {
            return Err(unauthorized(WRONG_LOGIN));
        };
        if operator.disabled {
            return Err(unauthorized("this account is disabled; ask an admin"));
        }
        self.login_throttle.succeeded(&account, client);
        self.store
            .update_operator(&operator.name, |mut o| {
                o.last_login_ms = Some(now_ms);
                Ok::<_, AdminError>(o)
            })
            .await?;
        tracing::info!(operator = %operator.name, client = %client, "console login");
        self.open_session(&operator, now_ms).await
    }

    async fn open_session(
        &self,
        operator: &Operator,
        now_ms: i64,
    ) -> Result<NewSession, AdminError> {
        let token = random_token();
        let session = ConsoleSession {
            operator: operator.name.clone(),
            csrf_token: random_token(),
            created_ms: now_ms,
            last_seen_ms: now_ms,
        };
        self.store
            .create_console_session(&digest(&token), &session)
            .await?;
        let principal = Principal::Operator {
            name: operator.name.clone(),
            role: operator.role,
            session: digest(&token),
            csrf_token: session.csrf_token,
            must_change_password: operator.must_change_password,
        };
        Ok(NewSession {
            token,
            view: SessionView::of(&principal),
        })
    }

    /// The operator behind a session token, if the session is live and the operator still
    /// enabled. Refreshes the session's idle timer.
    pub async fn session_principal(&self, token: &str) -> Result<Option<Principal>, AdminError> {
        let key = digest(token);
        let Some(session) = self.store.console_session(&key).await? else {
            return Ok(None);
        };
        let now_ms = self.clock.now_ms();
        let idle_ms = i64::from(self.config.console_session_idle_minutes) * 60_000;
        if !session.is_live(now_ms, idle_ms, SESSION_MAX_MS) {
            self.store.end_console_session(&key).await?;
            return Ok(None);
        }
        let Some(operator) = self
            .store
            .operator(&session.operator)
            .await?
            .filter(|o| !o.disabled)
        else {
            self.store.end_console_session(&key).await?;
            return Ok(None);
        };
        if now_ms - session.last_seen_ms >= TOUCH_EVERY_MS {
            self.store.touch_console_session(&key, now_ms).await?;
        }
        Ok(Some(Principal::Operator {
            name: operator.name,
            role: operator.role,
            session: key,
            csrf_token: session.csrf_token,
            must_change_password: operator.must_change_password,
        }))
    }

    pub async fn logout(&self, principal: &Principal) -> Result<(), AdminError> {
        if let Principal::Operator { session, name, .. } = principal {
            self.store.end_console_session(session).await?;
            tracing::info!(operator = %name, "console logout");
        }
        Ok(())
    }

    /// An operator changes their own password; their other sessions end.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: &str,
        new: &str,
    ) -> Result<(), AdminError> {
        let Principal::Operator { name, session, .. } = principal else {
            return Err(AdminError::Invalid(
                "only console operators have a password to change".into(),
            ));
        };
        let operator = self
            .store
            .operator(name)
            .await?
            .ok_or_else(|| unauthorized("no such operator"))?;
        if !password_matches(current, Some(&operator)).await {
            return Err(AdminError::Invalid(
                "currentPassword: this is not your current password".into(),
            ));
        }
        check_new_password("newPassword", new)?;
        if new == current {
            return Err(AdminError::Invalid(
                "newPassword: choose a password different from the current one".into(),
            ));
        }
        let hash = hash_password(new).await?;
        let now_ms = self.clock.now_ms();
        self.store
            .update_operator(name, |mut o| {
                o.password = hash.clone();
                o.must_change_password = false;
                o.updated_ms = now_ms;
                Ok::<_, AdminError>(o)
            })
            .await?;
        self.store
            .end_operator_sessions(name, Some(session))
            .await?;
        self.admin(principal.actor())
            .commit(
                "operator.password",
                None,
                Some(name.to_string()),
                Default::default(),
            )
            .await
    }

    /// Whether the console must offer first-run setup (no operator exists yet).
    pub async fn setup_needed(&self) -> Result<bool, AdminError> {
        Ok(!self.store.has_operators().await?)
    }

    /// When no operator exists: a fresh setup token (the previous one stops working), valid
    /// for an hour. `None` once an operator exists.
    pub async fn issue_setup_token(&self) -> Result<Option<String>, AdminError> {
        if !self.setup_needed().await? {
            return Ok(None);
        }
        let token = random_token();
        let expires_ms = self.clock.now_ms() + SETUP_TOKEN_TTL_MS;
        self.store
            .put_setup_token(&digest(&token), expires_ms)
            .await?;
        Ok(Some(token))
    }

    /// Creates the first admin with the setup token (single use) and logs them in.
    pub async fn setup(
        &self,
        token: &str,
        name: &str,
        password: &str,
    ) -> Result<NewSession, AdminError> {
        let name = new_operator_name(name)?;
        check_new_password("password", password)?;
        let now_ms = self.clock.now_ms();
        if !self.setup_needed().await?
            || !self.store.take_setup_token(&digest(token), now_ms).await?
        {
            return Err(AdminError::Forbidden(
                "this setup link is not valid: it was used, has expired, or an operator already exists. Restart otpd for a new link, or use `otpd operator add`".into(),
            ));
        }
        let operator = Operator {
            name,
            role: Role::Admin,
            password: hash_password(password).await?,
            disabled: false,
            must_change_password: false,
            created_ms: now_ms,
            updated_ms: now_ms,
            last_login_ms: Some(now_ms),
        };
        if !self.store.create_operator(&operator).await? {
            return Err(AdminError::Conflict(format!(
                "an operator named {} already exists",
                operator.name
            )));
        }
        self.admin(operator.name.as_str())
            .commit(
                "operator.setup",
                None,
                Some(operator.name.to_string()),
                crate::domain::audit::Change::new(
                    serde_json::Value::Null,
                    serde_json::json!({"role": operator.role}),
                ),
            )
            .await?;
        self.open_session(&operator, now_ms).await
    }
}
