//! `otpd operator …`: console accounts on a running server — add one (the first admin, too),
//! list them, change a role, disable or enable one, reset a password.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::{Value, json};

use super::output::{print_json, print_table, say, time};
use super::{AdminClient, Connection};

#[derive(clap::Args)]
pub struct OperatorArgs {
    #[command(subcommand)]
    action: OperatorAction,
    #[command(flatten)]
    conn: Connection,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    /// Changes settings, brands, keys and operators.
    Admin,
    /// Reads everything, changes nothing.
    Viewer,
}

impl RoleArg {
    fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Viewer => "viewer",
        }
    }
}

#[derive(clap::Subcommand)]
enum OperatorAction {
    /// Add a console operator. Asks for the password twice on a terminal; otherwise reads one
    /// line from standard input.
    #[command(after_help = "Examples:
  otpd operator add alice --role admin
  printf '%s\\n' \"$PASSWORD\" | otpd operator add bob --role viewer")]
    Add {
        /// Login name: 1–64 of a-z 0-9 . _ - @.
        name: String,
        /// What the operator may do.
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// List the operators.
    #[command(after_help = "Example:\n  otpd operator list")]
    List,
    /// Change an operator's role, or disable or enable them (a disabled operator's sessions end).
    #[command(after_help = "Examples:
  otpd operator set bob --role admin
  otpd operator set bob --disable
  otpd operator set bob --enable --role viewer")]
    Set {
        /// The operator's login name.
        name: String,
        /// The new role.
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// Disable the operator: they cannot log in, and their sessions end.
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        /// Enable a disabled operator.
        #[arg(long)]
        enable: bool,
    },
    /// Give an operator a temporary password (printed once) to change at their next login.
    #[command(after_help = "Example (a forgotten password):\n  otpd operator reset-password alice")]
    ResetPassword {
        /// The operator's login name.
        name: String,
    },
}

pub async fn run(args: OperatorArgs, data_dir: &std::path::Path) -> anyhow::Result<()> {
    let client = AdminClient::connect(&args.conn, data_dir)?;
    let answer = match &args.action {
        OperatorAction::Add { name, role } => {
            let password = read_new_password()?;
            client
                .call(
                    Method::POST,
                    &["operators"],
                    Some(json!({"name": name, "role": role.as_str(), "password": password})),
                )
                .await?
        }
        OperatorAction::List => client.call(Method::GET, &["operators"], None).await?,
        OperatorAction::Set {
            name,
            role,
            disable,
            enable,
        } => {
            let mut patch = serde_json::Map::new();
            if let Some(role) = role {
                patch.insert("role".into(), json!(role.as_str()));
            }
            if *disable || *enable {
                patch.insert("disabled".into(), json!(*disable));
            }
            if patch.is_empty() {
                bail!("nothing to change: name --role, --disable or --enable");
            }
            client
                .call(
                    Method::PATCH,
                    &["operators", name],
                    Some(Value::Object(patch)),
                )
                .await?
        }
        OperatorAction::ResetPassword { name } => {
            client
                .call(Method::POST, &["operators", name, "reset-password"], None)
                .await?
        }
    };
    if args.conn.json {
        print_json(&answer);
        return Ok(());
    }
    match &args.action {
        OperatorAction::List => print_operators(&answer),
        OperatorAction::ResetPassword { name } => {
            say!(
                "temporary password for {name} (shown once; they must change it at login):\n  {}",
                answer["temporaryPassword"].as_str().unwrap_or_default()
            );
        }
        OperatorAction::Add { .. } | OperatorAction::Set { .. } => {
            print_operators(&Value::Array(vec![answer]));
        }
    }
    Ok(())
}

fn print_operators(list: &Value) {
    let rows: Vec<Vec<String>> = list
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            vec![
                o["name"].as_str().unwrap_or_default().to_owned(),
                o["role"].as_str().unwrap_or_default().to_owned(),
                if o["disabled"] == true {
                    "disabled"
                } else {
                    "enabled"
                }
                .to_owned(),
                if o["lastLoginMs"].is_null() {
                    "never".to_owned()
                } else {
                    time(&o["lastLoginMs"])
                },
            ]
        })
        .collect();
    print_table(&["NAME", "ROLE", "STATE", "LAST LOGIN"], &rows);
}

/// The new operator's password: asked twice without echo on a terminal, else one line of stdin.
fn read_new_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password (at least 12 characters): ")
            .context("reading the password")?;
        let again =
            rpassword::prompt_password("Password again: ").context("reading the password")?;
        if first != again {
            bail!("the two passwords differ; nothing was changed");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}
