//! `otpd signing …`: payload signing of a brand (docs/api.md §5). A new key's secret is printed
//! once, when it is created; the server cannot show it again.

use reqwest::Method;
use serde_json::json;

use super::brand::print_keys;
use super::output::{human, print_json, say};
use super::{AdminClient, Connection};

#[derive(clap::Args)]
pub struct SigningArgs {
    #[command(subcommand)]
    action: SigningAction,
    #[command(flatten)]
    conn: Connection,
}

#[derive(clap::Subcommand)]
enum SigningAction {
    /// Require a signed `hash` on some endpoints; creates a key (and prints its secret once)
    /// if the brand has no active one.
    #[command(after_help = "Examples:
  otpd signing enable ACME
  otpd signing enable ACME --endpoints OTP_GENERATE,OTP_VALIDATE --window 300")]
    Enable {
        /// Brand name (any case).
        brand: String,
        /// Comma list of TOKEN_GENERATE, OTP_GENERATE, OTP_VALIDATE [default: the endpoints
        /// already signed, else OTP_GENERATE].
        #[arg(long, value_delimiter = ',')]
        endpoints: Option<Vec<String>>,
        /// Accepted clock difference for `timeStamp`, in seconds (10–600).
        #[arg(long, value_name = "SECONDS")]
        window: Option<u32>,
    },
    /// Create a new active key (its secret is printed once); the old active key keeps
    /// verifying as RETIRING until you revoke it, so shipped apps keep working meanwhile.
    #[command(after_help = "Example:\n  otpd signing rotate ACME")]
    Rotate {
        /// Brand name (any case).
        brand: String,
    },
    /// Revoke a key: requests signed with it are refused with 5004.
    #[command(
        after_help = "Examples:\n  otpd brand show ACME          (lists the key ids)\n  otpd signing revoke ACME 1"
    )]
    Revoke {
        /// Brand name (any case).
        brand: String,
        /// The key's id, as `otpd brand show` lists it.
        key_id: u32,
        /// Revoke even the last key that verifies while signing is on (every signed request
        /// then fails until a new key is created).
        #[arg(long)]
        force: bool,
    },
    /// Stop requiring signatures (the keys are kept for when it is switched on again).
    #[command(after_help = "Example:\n  otpd signing disable ACME")]
    Disable {
        /// Brand name (any case).
        brand: String,
    },
}

pub async fn run(args: SigningArgs, data_dir: &std::path::Path) -> anyhow::Result<()> {
    let client = AdminClient::connect(&args.conn, data_dir)?;
    let (brand, answer) = match &args.action {
        SigningAction::Enable {
            brand,
            endpoints,
            window,
        } => {
            let mut body = json!({});
            if let Some(e) = endpoints {
                body["endpoints"] = json!(e);
            }
            if let Some(w) = window {
                body["windowSeconds"] = json!(w);
            }
            let path = ["brands", brand.as_str(), "signing", "enable"];
            (brand, client.call(Method::POST, &path, Some(body)).await?)
        }
        SigningAction::Rotate { brand } => {
            let path = ["brands", brand.as_str(), "signing", "rotate"];
            (brand, client.call(Method::POST, &path, None).await?)
        }
        SigningAction::Revoke {
            brand,
            key_id,
            force,
        } => {
            let body = json!({"keyId": key_id, "force": force});
            let path = ["brands", brand.as_str(), "signing", "revoke"];
            (brand, client.call(Method::POST, &path, Some(body)).await?)
        }
        SigningAction::Disable { brand } => {
            let path = ["brands", brand.as_str(), "signing", "disable"];
            (brand, client.call(Method::POST, &path, None).await?)
        }
    };
    if args.conn.json {
        print_json(&answer);
        return Ok(());
    }
    let settings = &answer["brand"]["settings"];
    let name = answer["brand"]["name"]
        .as_str()
        .map_or_else(|| brand.to_ascii_uppercase(), str::to_owned);
    match settings["signingEndpoints"].as_array() {
        Some(e) if !e.is_empty() => say!(
            "Signing is required for {name} on {} (window {} s).",
            human(&settings["signingEndpoints"]),
            human(&settings["signatureWindowSeconds"])
        ),
        _ => say!("Signing is off for {name}."),
    }
    say!("Keys:");
    print_keys(&answer["brand"]["signingKeys"]);
    if let Some(key) = answer["newKey"].as_object() {
        print_secret(&name, &human(&key["keyId"]), &human(&key["secret"]));
    }
    Ok(())
}

fn print_secret(brand: &str, key_id: &str, secret: &str) {
    say!();
    say!("New key {key_id} secret (shown ONCE; store it now, it cannot be shown again):");
    say!("  {secret}");
    say!("Try it:");
    say!(
        "  otpd sign --secret '{secret}' --path /auth/v1/otp/generate --body '{{\"brand\":\"{brand}\",\"identifierType\":\"MOBILE\",\"identifierValue\":\"84901234567\",\"deviceId\":\"dev-1\",\"sessionId\":\"P-…\"}}'"
    );
}
