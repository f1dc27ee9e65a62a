//! Console operators, managed by admins: add, change role, disable and enable, reset a password
//! (a temporary one, shown once, that must be changed at the next login). At least one enabled
//! admin always remains. Disabling an operator or resetting their password ends their sessions.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Admin, AdminError};
use crate::domain::audit::Change;
use crate::domain::{Operator, OperatorName, Role};
use crate::service::auth::{check_new_password, hash_password, new_operator_name};

/// An operator as the console shows it: never a password hash.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperatorView {
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub must_change_password: bool,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub last_login_ms: Option<i64>,
}

impl From<&Operator> for OperatorView {
    fn from(o: &Operator) -> Self {
        Self {
            name: o.name.to_string(),
            role: o.role,
            disabled: o.disabled,
            must_change_password: o.must_change_password,
            created_ms: o.created_ms,
            updated_ms: o.updated_ms,
            last_login_ms: o.last_login_ms,
        }
    }
}

/// A new operator.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewOperator {
    pub name: String,
    pub role: Role,
    /// At least 12 characters.
    pub password: String,
}

impl std::fmt::Debug for NewOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOperator")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// A change of an operator; absent fields keep their values.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperatorPatch {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// A reset password: shown once, to hand to the operator, who must change it at login.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordReset {
    pub operator: OperatorView,
    pub temporary_password: String,
}

impl std::fmt::Debug for PasswordReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordReset")
            .field("operator", &self.operator)
            .finish_non_exhaustive()
    }
}

fn operator_name(raw: &str) -> Result<OperatorName, AdminError> {
    OperatorName::parse(raw).map_err(|_| no_operator(raw))
}

fn no_operator(name: &str) -> AdminError {
    AdminError::NotFound(format!("no operator named {name:?}"))
}

fn view_json(o: &Operator) -> Value {
    json!({"role": o.role, "disabled": o.disabled, "mustChangePassword": o.must_change_password})
}

/// 20 characters from an alphabet without look-alikes: about 100 bits.
fn temporary_password() -> String {
    use rand::RngExt;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

impl Admin<'_> {
    pub async fn list_operators(&self) -> Result<Vec<OperatorView>, AdminError> {
        Ok(self
            .services
            .store
            .operators()
            .await?
            .iter()
            .map(OperatorView::from)
            .collect())
    }

    pub async fn add_operator(&self, new: &NewOperator) -> Result<OperatorView, AdminError> {
        let name = new_operator_name(&new.name)?;
        check_new_password("password", &new.password)?;
        let now_ms = self.now_ms();
        let operator = Operator {
            name,
            role: new.role,
            password: hash_password(&new.password).await?,
            disabled: false,
            must_change_password: false,
            created_ms: now_ms,
            updated_ms: now_ms,
            last_login_ms: None,
        };
        if !self.services.store.create_operator(&operator).await? {
            return Err(AdminError::Conflict(format!(
                "name: an operator named {} already exists",
                operator.name
            )));
        }
        self.commit(
            "operator.add",
            None,
            Some(operator.name.to_string()),
            Change::new(Value::Null, view_json(&operator)),
        )
        .await?;
        Ok(OperatorView::from(&operator))
    }

    /// Changes an operator's role or switches them off. Refuses to leave no enabled admin.
    pub async fn update_operator(
        &self,
        name: &str,
        patch: &OperatorPatch,
    ) -> Result<OperatorView, AdminError> {
        let name = operator_name(name)?;
        let _guard = self.services.operator_changes.lock().await;
        let current = self
            .services
            .store
            .operator(&name)
            .await?
            .ok_or_else(|| no_operator(name.as_str()))?;
        let mut next = current.clone();
        next.role = patch.role.unwrap_or(current.role);
        next.disabled = patch.disabled.unwrap_or(current.disabled);
        next.updated_ms = self.now_ms();
        let was_admin = current.role == Role::Admin && !current.disabled;
        let is_admin = next.role == Role::Admin && !next.disabled;
        if was_admin && !is_admin && self.enabled_admins().await? <= 1 {
            return Err(AdminError::Conflict(
                "this is the last enabled admin; make another operator an admin first".into(),
            ));
        }
        self.services
            .store
            .update_operator(&name, |_| Ok::<_, AdminError>(next.clone()))
            .await?;
        if next.disabled && !current.disabled {
            self.services
                .store
                .end_operator_sessions(&name, None)
                .await?;
        }
        let action = match (current.disabled, next.disabled) {
            (false, true) => "operator.disable",
            (true, false) => "operator.enable",
            _ => "operator.update",
        };
        let change = Change::diff(&view_json(&current), &view_json(&next));
        self.commit(action, None, Some(name.to_string()), change)
            .await?;
        Ok(OperatorView::from(&next))
    }

    /// Gives an operator a temporary password (returned once) to change at the next login,
    /// and ends their sessions.
    pub async fn reset_password(&self, name: &str) -> Result<PasswordReset, AdminError> {
        let name = operator_name(name)?;
        let temporary = temporary_password();
        let hash = hash_password(&temporary).await?;
        let now_ms = self.now_ms();
        let (before, after) = {
            let mut before = None;
            let after = self
                .services
                .store
                .update_operator(&name, |o| {
                    before = Some(o.clone());
                    Ok::<_, AdminError>(Operator {
                        password: hash.clone(),
                        must_change_password: true,
                        updated_ms: now_ms,
                        ..o
                    })
                })
                .await?
                .ok_or_else(|| no_operator(name.as_str()))?;
            (before, after)
        };
        self.services
            .store
            .end_operator_sessions(&name, None)
            .await?;
        let change = Change::diff(
            &before.as_ref().map(view_json).unwrap_or_default(),
            &view_json(&after),
        );
        self.commit(
            "operator.reset-password",
            None,
            Some(name.to_string()),
            change,
        )
        .await?;
        Ok(PasswordReset {
            operator: OperatorView::from(&after),
            temporary_password: temporary,
        })
    }

    async fn enabled_admins(&self) -> Result<usize, AdminError> {
        Ok(self
            .services
            .store
            .operators()
            .await?
            .iter()
            .filter(|o| o.role == Role::Admin && !o.disabled)
            .count())
    }
}

#[cfg(test)]
mod tests {
    use super::temporary_password;

    #[test]
    fn temporary_passwords_pass_the_rule_and_differ() {
        let a = temporary_password();
        assert_eq!(a.len(), 20);
        assert!(crate::domain::operator::check_password_rule(&a).is_ok());
        assert_ne!(a, temporary_password());
    }
}
