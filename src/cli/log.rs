//! `otpd log …`: read the issuance log of a running server — one line per generate request
//! with its outcome and delivery — filter it, page through it, open one record with its
//! delivery attempts, or export it as CSV.

use anyhow::bail;
use reqwest::Method;
use serde_json::Value;

use super::output::{human, print_json, print_pairs, print_table, say, time};
use super::{AdminClient, Connection};

#[derive(clap::Args)]
pub struct LogArgs {
    #[command(subcommand)]
    action: LogAction,
    #[command(flatten)]
    conn: Connection,
}

#[derive(clap::Args, Default)]
struct Filters {
    /// Only this brand.
    #[arg(long)]
    brand: Option<String>,
    /// Only this customer (MOBILE:<number>, EMAIL:<address>, or a bare number or address);
    /// needs --brand.
    #[arg(long)]
    customer: Option<String>,
    /// Only this answer code (200, 1534, 1519, …).
    #[arg(long)]
    outcome: Option<u16>,
    /// Only this channel: EMAIL, SMS, WHATSAPP, ZALO.
    #[arg(long)]
    channel: Option<String>,
    /// Only this delivery status: NONE, TEST, QUEUED, SENT, DELIVERED, FAILED, EXPIRED.
    #[arg(long)]
    delivery: Option<String>,
    /// Only records newer than this: a duration back from now (30m, 6h, 7d) or a timestamp
    /// (2026-11-26T08:00:00Z).
    #[arg(long)]
    since: Option<String>,
    /// How many records at most (a page holds 500 at most; an export 100,000).
    #[arg(long)]
    limit: Option<usize>,
    /// Continue after this record id (the "next" cursor a page printed).
    #[arg(long)]
    before: Option<String>,
}

#[derive(clap::Subcommand)]
enum LogAction {
    /// The newest records, newest first.
    #[command(after_help = "Examples:
  otpd log list --since 1h
  otpd log list --brand ACME --outcome 1534 --since 7d
  otpd log list --brand ACME --customer +84901234567
  otpd log list --delivery FAILED --limit 20")]
    List(Filters),
    /// One record, with every delivery attempt.
    #[command(after_help = "Example:\n  otpd log show 0193a4c2-7f1e-7c3a-9d2b-5e8f0a1b2c3d")]
    Show {
        /// The record id (from `otpd log list`).
        id: String,
    },
    /// The selected records as CSV on standard output.
    #[command(after_help = "Examples:
  otpd log export --brand ACME --since 30d > acme-november.csv
  otpd log export --outcome 1534 --since 2026-11-01T00:00:00Z --limit 100000 > limit-hits.csv")]
    Export(Filters),
}

pub async fn run(args: LogArgs, data_dir: &std::path::Path) -> anyhow::Result<()> {
    let client = AdminClient::connect(&args.conn, data_dir)?;
    match &args.action {
        LogAction::List(f) => {
            let query = f.query()?;
            let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let answer = client
                .call_with_query(Method::GET, &["log"], &pairs, None)
                .await?;
            if args.conn.json {
                print_json(&answer);
            } else {
                print_page(&answer);
            }
        }
        LogAction::Show { id } => {
            let answer = client.call(Method::GET, &["log", id], None).await?;
            if args.conn.json {
                print_json(&answer);
            } else {
                print_record(&answer);
            }
        }
        LogAction::Export(f) => {
            let query = f.query()?;
            let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            super::output::write_out(format_args!(
                "{}",
                client.get_text(&["log.csv"], &pairs).await?
            ));
        }
    }
    Ok(())
}

impl Filters {
    fn query(&self) -> anyhow::Result<Vec<(&'static str, String)>> {
        let mut q = Vec::new();
        let mut push = |k: &'static str, v: Option<String>| {
            if let Some(v) = v {
                q.push((k, v));
            }
        };
        push("brand", self.brand.clone());
        push("destination", self.customer.clone());
        push("outcome", self.outcome.map(|o| o.to_string()));
        push(
            "channel",
            self.channel.as_ref().map(|c| c.to_ascii_uppercase()),
        );
        push(
            "delivery",
            self.delivery.as_ref().map(|d| d.to_ascii_uppercase()),
        );
        push("limit", self.limit.map(|l| l.to_string()));
        push("before", self.before.clone());
        if let Some(since) = &self.since {
            push("sinceMs", Some(since_ms(since)?.to_string()));
        }
        Ok(q)
    }
}

/// `30m`, `6h`, `7d` back from now, or an RFC 3339 timestamp, as epoch milliseconds.
fn since_ms(text: &str) -> anyhow::Result<i64> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t.as_millisecond());
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let per_unit = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => bail!(
            "--since: use a duration such as 30m, 6h or 7d, or a timestamp such as 2026-11-26T08:00:00Z"
        ),
    };
    let Ok(n) = number.parse::<i64>() else {
        bail!("--since: {text:?} is not a duration such as 30m, 6h or 7d");
    };
    #[allow(clippy::disallowed_methods)] // reason: the CLI's "now" is the operator's clock
    let now = jiff::Timestamp::now().as_millisecond();
    Ok(now - n * per_unit)
}

fn print_page(answer: &Value) {
    let records = answer["records"].as_array().cloned().unwrap_or_default();
    if records.is_empty() {
        say!("No records.");
        return;
    }
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                time(&r["timeMs"]),
                human(&r["brand"]),
                format!(
                    "{} {}",
                    human(&r["identifierType"]),
                    human(&r["identifier"])
                ),
                human(&r["outcome"]),
                human(&r["channel"]),
                human(&r["delivery"]),
                human(&r["id"]),
            ]
        })
        .collect();
    print_table(
        &[
            "TIME",
            "BRAND",
            "IDENTIFIER",
            "OUTCOME",
            "CHANNEL",
            "DELIVERY",
            "ID",
        ],
        &rows,
    );
    if let Some(next) = answer["nextBefore"].as_str() {
        say!("\nMore: add --before {next}");
    }
}

fn print_record(r: &Value) {
    let field = |k: &str| human(&r[k]);
    print_pairs(
        0,
        &[
            ("id".into(), field("id")),
            ("time".into(), time(&r["timeMs"])),
            ("brand".into(), field("brand")),
            ("path".into(), field("path")),
            (
                "identifier".into(),
                format!("{} {}", field("identifierType"), field("identifier")),
            ),
            ("destination".into(), field("destination")),
            ("device".into(), field("deviceId")),
            ("session".into(), field("sessionId")),
            ("client".into(), field("clientAddr")),
            ("outcome".into(), field("outcome")),
            ("channel".into(), field("channel")),
            ("delivery".into(), field("delivery")),
            ("test".into(), field("test")),
            ("validated".into(), field("validated")),
        ],
    );
    let attempts = r["attempts"].as_array().cloned().unwrap_or_default();
    if attempts.is_empty() {
        return;
    }
    say!("\nAttempts:");
    let rows: Vec<Vec<String>> = attempts
        .iter()
        .map(|a| {
            vec![
                time(&a["timeMs"]),
                human(&a["channel"]),
                if a["ok"] == Value::Bool(true) {
                    "ok".into()
                } else {
                    "failed".into()
                },
                human(&a["providerStatus"]),
                human(&a["error"]),
            ]
        })
        .collect();
    print_table(&["TIME", "CHANNEL", "RESULT", "PROVIDER", "ERROR"], &rows);
}
