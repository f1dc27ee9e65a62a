//! `otpd sign`: computes the v1 payload hash of a request body for client developers.

use super::output::say;
use std::path::PathBuf;

use anyhow::{Context, bail};
use base64::Engine;
use otpd::domain::signature::{SignedFields, sign};

#[derive(clap::Args)]
#[command(after_help = "Examples:
  otpd sign --secret \"$SECRET\" --path /auth/v1/otp/generate --fill --body \\
    '{\"brand\":\"ACME\",\"identifierType\":\"MOBILE\",\"identifierValue\":\"+84901234567\",\"deviceId\":\"dev-1\",\"sessionId\":\"P-…\"}'
  otpd sign --secret \"$SECRET\" --path /auth/v1/otp/validate --body-file request.json")]
pub struct SignArgs {
    /// The brand's signing secret, base64 (as shown once by `otpd signing enable|rotate`).
    #[arg(long, env = "OTPD_SIGNING_SECRET")]
    secret: String,
    /// The request path, e.g. /auth/v1/otp/generate.
    #[arg(long)]
    path: String,
    /// The JSON request body; `-` or omitted reads standard input.
    #[arg(long)]
    body: Option<String>,
    /// Epoch milliseconds; default: the body's `timeStamp`, else now.
    #[arg(long)]
    timestamp: Option<i64>,
    /// Print the body with `timeStamp` and `hash` filled in, instead of the bare hash.
    #[arg(long)]
    fill: bool,
    /// Read the body from this file.
    #[arg(long, conflicts_with = "body")]
    body_file: Option<PathBuf>,
}

pub fn run(args: &SignArgs) -> anyhow::Result<()> {
    let secret = base64::engine::general_purpose::STANDARD
        .decode(args.secret.trim())
        .context("--secret is not base64")?;
    let text = match (&args.body, &args.body_file) {
        (Some(b), _) if b != "-" => b.clone(),
        (_, Some(path)) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        _ => std::io::read_to_string(std::io::stdin())
            .context("reading the body from standard input")?,
    };
    let mut body: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).context("the body is not a JSON object")?;
    let field = |name: &str| match body.get(name) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    #[allow(clippy::disallowed_methods)] // reason: a client-side tool signing "now"
    let now = jiff::Timestamp::now().as_millisecond();
    let ts = match args.timestamp {
        Some(t) => t.to_string(),
        None if !field("timeStamp").is_empty() => field("timeStamp"),
        None => now.to_string(),
    };
    if ts.parse::<i64>().is_err() {
        bail!("timeStamp must be epoch milliseconds");
    }
    let (brand, kind, value, device, session, otp) = (
        field("brand"),
        field("identifierType"),
        field("identifierValue"),
        field("deviceId"),
        field("sessionId"),
        field("otp"),
    );
    let hash = sign(
        &secret,
        &SignedFields {
            time_stamp: &ts,
            path: &args.path,
            brand: &brand,
            identifier_type: &kind,
            identifier_value: &value,
            device_id: &device,
            session_id: &session,
            otp: &otp,
        },
    );
    if args.fill {
        body.insert(
            "timeStamp".into(),
            serde_json::Value::from(ts.parse::<i64>().unwrap_or_default()),
        );
        body.insert("hash".into(), hash.into());
        say!("{}", serde_json::Value::Object(body));
    } else {
        say!("{hash}");
    }
    Ok(())
}
