//! `otpd brand …`: create, list, show, change, disable and enable brands. Settings are given
//! as `name=value` pairs with the names of docs/api.md §9; the server validates them.

use anyhow::bail;
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::output::{human, print_json, print_pairs, print_table, say, time};
use super::{AdminClient, Connection};

#[derive(clap::Args)]
pub struct BrandArgs {
    #[command(subcommand)]
    action: BrandAction,
    #[command(flatten)]
    conn: Connection,
}

const SETTINGS_HELP: &str = "Settings are name=value pairs with the names of docs/api.md §9.
Values that are JSON (numbers, true/false, null, [..], {..}) are taken as JSON; `none` means
null; for the list settings signingEndpoints and fallbackChannels a comma list becomes a list;
anything else is a string.

Examples:
  otpd brand create ACME dailyOtpLimit=5 timeZone=Asia/Ho_Chi_Minh
  otpd brand set ACME otpLength=8 limitWindowMinutes=none
  otpd brand set ACME signingEndpoints=OTP_GENERATE,OTP_VALIDATE fallbackChannels=EMAIL
  otpd brand set ACME 'testIdentifiers=[{\"identifierType\":\"MOBILE\",\"identifierValue\":\"84900000000\",\"otp\":\"999999\"}]'";

#[derive(clap::Subcommand)]
enum BrandAction {
    /// Create a brand; settings not given keep their defaults.
    #[command(after_help = SETTINGS_HELP)]
    Create {
        /// Brand name: 1–64 of A-Z a-z 0-9 _ - . (stored upper-case).
        name: String,
        /// Settings as name=value.
        #[arg(value_name = "SETTING=VALUE")]
        settings: Vec<String>,
    },
    /// List every brand with its main settings.
    #[command(
        after_help = "Examples:\n  otpd brand list\n  otpd brand list --json | jq '.[].name'"
    )]
    List,
    /// Show one brand: every setting, its channels (secrets hidden) and signing keys.
    #[command(after_help = "Examples:\n  otpd brand show acme\n  otpd brand show ACME --json")]
    Show {
        /// Brand name (any case).
        name: String,
    },
    /// Change settings of a brand; the others keep their values.
    #[command(after_help = SETTINGS_HELP)]
    Set {
        /// Brand name (any case).
        name: String,
        /// Settings as name=value (at least one).
        #[arg(value_name = "SETTING=VALUE", required = true)]
        settings: Vec<String>,
    },
    /// Disable a brand: its requests are refused with 1504 until it is enabled again.
    #[command(after_help = "Example:\n  otpd brand disable ACME")]
    Disable {
        /// Brand name (any case).
        name: String,
    },
    /// Enable a disabled brand.
    #[command(after_help = "Example:\n  otpd brand enable ACME")]
    Enable {
        /// Brand name (any case).
        name: String,
    },
}

/// Settings whose value is a list, so that `a,b` means `["a", "b"]`.
const LIST_SETTINGS: &[&str] = &["signingEndpoints", "fallbackChannels"];

/// Parses `name=value` pairs into a settings patch (see [`SETTINGS_HELP`]).
pub fn parse_settings(pairs: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut out = Map::new();
    for pair in pairs {
        let Some((name, raw)) = pair.split_once('=') else {
            bail!("expected SETTING=VALUE, got {pair:?}");
        };
        let name = name.trim();
        if name.is_empty() {
            bail!("expected SETTING=VALUE, got {pair:?}");
        }
        out.insert(name.to_owned(), parse_value(name, raw));
    }
    Ok(out)
}

fn parse_value(name: &str, raw: &str) -> Value {
    if raw == "none" {
        return Value::Null;
    }
    if LIST_SETTINGS.contains(&name) && !raw.trim_start().starts_with('[') {
        return raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Value::from)
            .collect();
    }
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()))
}

pub async fn run(args: BrandArgs, data_dir: &std::path::Path) -> anyhow::Result<()> {
    let client = AdminClient::connect(&args.conn, data_dir)?;
    let answer = match &args.action {
        BrandAction::Create { name, settings } => {
            let body = json!({"name": name, "settings": parse_settings(settings)?});
            client.call(Method::POST, &["brands"], Some(body)).await?
        }
        BrandAction::List => client.call(Method::GET, &["brands"], None).await?,
        BrandAction::Show { name } => client.call(Method::GET, &["brands", name], None).await?,
        BrandAction::Set { name, settings } => {
            let patch = Value::Object(parse_settings(settings)?);
            client
                .call(Method::PATCH, &["brands", name], Some(patch))
                .await?
        }
        BrandAction::Disable { name } => {
            client
                .call(Method::POST, &["brands", name, "disable"], None)
                .await?
        }
        BrandAction::Enable { name } => {
            client
                .call(Method::POST, &["brands", name, "enable"], None)
                .await?
        }
    };
    if args.conn.json {
        print_json(&answer);
        return Ok(());
    }
    match &args.action {
        BrandAction::List => print_list(&answer),
        BrandAction::Create { name, .. } => {
            say!("Created brand {}.", name.to_ascii_uppercase());
            print_brand(&answer);
        }
        BrandAction::Set { .. } => {
            say!("Saved.");
            print_brand(&answer);
        }
        BrandAction::Disable { name } => say!(
            "Brand {} is disabled: its requests are answered 1504.",
            name.to_ascii_uppercase()
        ),
        BrandAction::Enable { name } => {
            say!("Brand {} is enabled.", name.to_ascii_uppercase());
        }
        BrandAction::Show { .. } => print_brand(&answer),
    }
    Ok(())
}

fn print_list(answer: &Value) {
    let brands = answer.as_array().map(Vec::as_slice).unwrap_or_default();
    if brands.is_empty() {
        say!("No brands yet. Create one with: otpd brand create NAME");
        return;
    }
    let rows: Vec<Vec<String>> = brands
        .iter()
        .map(|b| {
            let s = &b["settings"];
            let signing = match s["signingEndpoints"].as_array() {
                Some(e) if !e.is_empty() => human(&s["signingEndpoints"]),
                _ => "off".to_owned(),
            };
            let window = match s["limitWindowMinutes"].as_u64() {
                Some(m) => format!("{} per {m} min", human(&s["dailyOtpLimit"])),
                None => format!("{} per day", human(&s["dailyOtpLimit"])),
            };
            vec![
                human(&b["name"]),
                human(&s["enabled"]),
                window,
                human(&s["otpLength"]),
                human(&s["timeZone"]),
                signing,
            ]
        })
        .collect();
    print_table(
        &["NAME", "ENABLED", "LIMIT", "DIGITS", "TIME ZONE", "SIGNING"],
        &rows,
    );
}

fn print_brand(b: &Value) {
    print_pairs(
        0,
        &[
            ("name".into(), human(&b["name"])),
            ("created".into(), time(&b["createdMs"])),
            ("updated".into(), time(&b["updatedMs"])),
        ],
    );
    say!("settings:");
    let settings: Vec<(String, String)> = b["settings"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), human(v))).collect())
        .unwrap_or_default();
    print_pairs(2, &settings);
    say!("channels:");
    match b["channels"].as_object() {
        Some(c) if !c.is_empty() => {
            let rows: Vec<(String, String)> = c
                .iter()
                .map(|(k, v)| (k.clone(), human(&v["provider"])))
                .collect();
            print_pairs(2, &rows);
        }
        _ => say!("  none configured"),
    }
    say!("signing keys:");
    print_keys(&b["signingKeys"]);
}

/// The key ring, without secrets (the server never returns them after creation).
pub fn print_keys(keys: &Value) {
    match keys.as_array() {
        Some(k) if !k.is_empty() => {
            let rows: Vec<(String, String)> = k
                .iter()
                .map(|k| {
                    (
                        format!("key {}", human(&k["id"])),
                        format!(
                            "{:<8}  created {}",
                            human(&k["state"]),
                            time(&k["createdMs"])
                        ),
                    )
                })
                .collect();
            print_pairs(2, &rows);
        }
        _ => say!("  none"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[&str]) -> Value {
        let owned: Vec<String> = pairs.iter().map(|s| (*s).to_owned()).collect();
        Value::Object(parse_settings(&owned).unwrap())
    }

    #[test]
    fn values_are_json_when_they_can_be() {
        assert_eq!(
            parse(&[
                "dailyOtpLimit=5",
                "errorsAsHttp200=true",
                "timeZone=Asia/Ho_Chi_Minh",
                "limitWindowMinutes=none",
                "keyTtlSeconds=null",
                "signingEndpoints=OTP_GENERATE,OTP_VALIDATE",
                "fallbackChannels=",
                "testIdentifiers=[]",
            ]),
            json!({
                "dailyOtpLimit": 5,
                "errorsAsHttp200": true,
                "timeZone": "Asia/Ho_Chi_Minh",
                "limitWindowMinutes": null,
                "keyTtlSeconds": null,
                "signingEndpoints": ["OTP_GENERATE", "OTP_VALIDATE"],
                "fallbackChannels": [],
                "testIdentifiers": [],
            })
        );
    }

    #[test]
    fn a_pair_needs_an_equals_sign() {
        assert!(parse_settings(&["otpLength".to_owned()]).is_err());
        assert!(parse_settings(&["=5".to_owned()]).is_err());
    }
}
