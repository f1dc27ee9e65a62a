//! `otpd limit …`: one customer's daily OTP limit — give them their own limit, look up how many
//! codes they were issued today, reset that count, or go back to the brand's limit.

use reqwest::Method;
use serde_json::{Value, json};

use super::output::{duration, human, print_json, print_pairs, print_table, say};
use super::{AdminClient, Connection};

#[derive(clap::Args)]
pub struct LimitArgs {
    #[command(subcommand)]
    action: LimitAction,
    #[command(flatten)]
    conn: Connection,
}

const IDENTIFIER_HELP: &str = "IDENTIFIER is the customer's destination: MOBILE:84901234567, \
EMAIL:a@example.com, or a bare phone number or e-mail address (an @ means e-mail). Numbers are \
normalised as the public API does (+, spaces and - dropped).

Examples:
  otpd limit set ACME +84901234567 20        this customer may get 20 codes a day
  otpd limit show ACME alice@example.com     their limit, today's count, when it resets
  otpd limit reset ACME MOBILE:84901234567   forget today's count (they can get codes again)
  otpd limit unset ACME +84901234567         the brand's dailyOtpLimit applies again";

#[derive(clap::Subcommand)]
enum LimitAction {
    /// Give one customer their own limit (at least 1; 0 is refused with 1535).
    #[command(after_help = IDENTIFIER_HELP)]
    Set {
        /// Brand name (any case).
        brand: String,
        /// The customer: MOBILE:<number>, EMAIL:<address>, or a bare number or address.
        identifier: String,
        /// OTPs per day (or per the brand's rolling window).
        limit: u32,
    },
    /// Show a customer's limit, how many OTPs they were issued today, and when that resets.
    #[command(after_help = IDENTIFIER_HELP)]
    Show {
        /// Brand name (any case).
        brand: String,
        /// The customer: MOBILE:<number>, EMAIL:<address>, or a bare number or address.
        identifier: String,
    },
    /// Forget what a customer was issued today, so they can get codes again at once.
    #[command(after_help = IDENTIFIER_HELP)]
    Reset {
        /// Brand name (any case).
        brand: String,
        /// The customer: MOBILE:<number>, EMAIL:<address>, or a bare number or address.
        identifier: String,
    },
    /// Remove a customer's own limit: the brand's dailyOtpLimit applies again.
    #[command(after_help = IDENTIFIER_HELP)]
    Unset {
        /// Brand name (any case).
        brand: String,
        /// The customer: MOBILE:<number>, EMAIL:<address>, or a bare number or address.
        identifier: String,
    },
    /// List the customers of a brand that have their own limit.
    #[command(after_help = "Examples:\n  otpd limit list ACME\n  otpd limit list ACME --json")]
    List {
        /// Brand name (any case).
        brand: String,
    },
}

pub async fn run(args: LimitArgs, data_dir: &std::path::Path) -> anyhow::Result<()> {
    let client = AdminClient::connect(&args.conn, data_dir)?;
    let answer = match &args.action {
        LimitAction::Set {
            brand,
            identifier,
            limit,
        } => {
            client
                .call(
                    Method::PUT,
                    &["brands", brand, "limits", identifier],
                    Some(json!({"limit": limit})),
                )
                .await?
        }
        LimitAction::Show { brand, identifier } => {
            client
                .call(Method::GET, &["brands", brand, "limits", identifier], None)
                .await?
        }
        LimitAction::Reset { brand, identifier } => {
            client
                .call(
                    Method::POST,
                    &["brands", brand, "limits", identifier, "reset"],
                    None,
                )
                .await?
        }
        LimitAction::Unset { brand, identifier } => {
            client
                .call(
                    Method::DELETE,
                    &["brands", brand, "limits", identifier],
                    None,
                )
                .await?
        }
        LimitAction::List { brand } => {
            client
                .call(Method::GET, &["brands", brand, "limits"], None)
                .await?
        }
    };
    if args.conn.json {
        print_json(&answer);
        return Ok(());
    }
    match &args.action {
        LimitAction::List { brand } => print_list(brand, &answer),
        LimitAction::Set { .. } => {
            say!("Saved.");
            print_limit(&answer);
        }
        LimitAction::Reset { .. } => {
            say!("Today's count is reset.");
            print_limit(&answer);
        }
        LimitAction::Unset { .. } => {
            say!("The brand's limit applies again.");
            print_limit(&answer);
        }
        LimitAction::Show { .. } => print_limit(&answer),
    }
    Ok(())
}

fn print_list(brand: &str, answer: &Value) {
    let rows: Vec<Vec<String>> = answer
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|o| vec![human(&o["destination"]), human(&o["limit"])])
        .collect();
    if rows.is_empty() {
        say!(
            "No customer of {} has their own limit.",
            brand.to_ascii_uppercase()
        );
    } else {
        print_table(&["DESTINATION", "LIMIT"], &rows);
    }
}

fn print_limit(v: &Value) {
    let limit = match v["overrideLimit"].as_u64() {
        Some(n) => format!(
            "{n} (this customer's own; the brand's is {})",
            human(&v["brandLimit"])
        ),
        None => format!("{} (the brand's)", human(&v["brandLimit"])),
    };
    let window = match v["limitWindowMinutes"].as_u64() {
        Some(m) => format!("rolling, {m} minutes"),
        None => format!("calendar day in {}", human(&v["timeZone"])),
    };
    let resets = v["resetsInSeconds"]
        .as_u64()
        .map_or_else(|| "nothing counted".to_owned(), duration);
    print_pairs(
        0,
        &[
            ("brand".into(), human(&v["brand"])),
            ("destination".into(), human(&v["destination"])),
            ("limit".into(), limit),
            ("window".into(), window),
            ("issued".into(), human(&v["issued"])),
            ("remaining".into(), human(&v["remaining"])),
            ("resets in".into(), resets),
        ],
    );
}
