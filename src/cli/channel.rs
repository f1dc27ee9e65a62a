//! `otpd channel …`: a brand's delivery channels — set a provider with `key=value` settings,
//! show them (secrets read "set"), remove one, and send a test message through one. The server
//! checks every key; this file only parses arguments and prints answers.

use std::collections::BTreeMap;

use anyhow::bail;
use otpd::domain::ChannelKind;
use otpd::domain::channel::provider_keys;
use reqwest::Method;
use serde_json::{Value, json};

use super::output::{human, print_json, print_pairs, say};
use super::{AdminClient, Connection};

#[derive(clap::Args)]
pub struct ChannelArgs {
    #[command(subcommand)]
    action: ChannelAction,
    #[command(flatten)]
    conn: Connection,
}

#[derive(clap::Subcommand)]
enum ChannelAction {
    /// Set a channel's provider and settings. The first set names the provider; later sets
    /// change only the keys they name (secrets stay unless given again).
    #[command(after_help = set_help())]
    Set {
        /// Brand name (any case).
        brand: String,
        /// EMAIL, SMS, WHATSAPP or ZALO.
        channel: String,
        /// Settings as key=value (at least one), e.g. provider=smtp host=smtp.example.com.
        #[arg(value_name = "KEY=VALUE", required = true)]
        settings: Vec<String>,
    },
    /// Show a brand's channels, or one channel, with every setting; secrets read "set".
    #[command(after_help = concat!(
        "CHANNEL is EMAIL, SMS, WHATSAPP or ZALO (any case).\n\n",
        "Examples:\n  otpd channel show ACME\n  otpd channel show ACME email --json"
    ))]
    Show {
        /// Brand name (any case).
        brand: String,
        /// Only this channel.
        channel: Option<String>,
    },
    /// Remove a channel: codes for it are refused (1603) until one is set again.
    #[command(after_help = concat!(
        "CHANNEL is EMAIL, SMS, WHATSAPP or ZALO (any case).\n\n",
        "Example:\n  otpd channel remove ACME WHATSAPP"
    ))]
    Remove {
        /// Brand name (any case).
        brand: String,
        /// EMAIL, SMS, WHATSAPP or ZALO.
        channel: String,
    },
    /// Send a test message through a channel now, rendered from the brand's template with a
    /// sample code (123456…, as long as the brand's codes), and print the provider's answer.
    /// Exits non-zero when the send failed. It skips the outbox and counts against no limit.
    #[command(
        after_help = "DESTINATION is a phone number with country code (+84901234567) \
for SMS, WHATSAPP and ZALO, or an e-mail address for EMAIL.

Examples:
  otpd channel test ACME EMAIL alice@example.com
  otpd channel test ACME SMS +84901234567"
    )]
    Test {
        /// Brand name (any case).
        brand: String,
        /// EMAIL, SMS, WHATSAPP or ZALO.
        channel: String,
        /// Where to send it.
        destination: String,
        /// Use the template for this locale (e.g. vi-VN).
        #[arg(long)]
        locale: Option<String>,
    },
}

/// `channel set --help`: the providers of each channel and the keys of each provider.
fn set_help() -> String {
    let mut out = String::from(
        "Settings are key=value pairs (see docs/channels.md). Keys ignore case, `_` and `-`.
An empty value (fromName=) unsets an optional key or restores its default.
Secrets (password, authToken, accessToken, secret) are write-only and shown as \"set\";
put them in a shell variable (password=\"$SMTP_PASSWORD\"), not in your shell history.
timeoutSeconds (1-60, default 10) limits one send.

Providers per channel:
",
    );
    for kind in ChannelKind::ALL {
        out.push_str(&format!(
            "  {:<9} {}\n",
            kind.as_str(),
            kind.providers().join(", ")
        ));
    }
    out.push_str("\nKeys per provider (besides provider=…):\n");
    for provider in ["smtp", "http", "twilio", "whatsapp", "zalo"] {
        out.push_str(&format!(
            "  {provider:<9} {}\n",
            provider_keys(provider).join(", ")
        ));
    }
    out.push_str("  log       none: writes the message, code included, to the server log\n");
    out.push_str(
        r#"
Examples:
  otpd channel set ACME EMAIL provider=smtp host=smtp.example.com port=587 tls=starttls \
    username=apikey password="$SMTP_PASSWORD" from=otp@example.com
  otpd channel set ACME EMAIL port=465 tls=tls
  otpd channel set ACME SMS provider=http url=https://sms.example.net/v1/send \
    header.Authorization='Bearer {secret}' secret="$GATEWAY_TOKEN" \
    body='{"to":"{to}","text":"{message}"}'"#,
    );
    out
}

/// `key=value` pairs; the value may hold `=` (URLs, bodies).
fn parse_pairs(pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            bail!("expected KEY=VALUE, got {pair:?}");
        };
        let key = key.trim();
        if key.is_empty() {
            bail!("expected KEY=VALUE, got {pair:?}");
        }
        if out.insert(key.to_owned(), value.to_owned()).is_some() {
            bail!("{key}: given twice");
        }
    }
    Ok(out)
}

pub async fn run(args: ChannelArgs, data_dir: &std::path::Path) -> anyhow::Result<()> {
    let client = AdminClient::connect(&args.conn, data_dir)?;
    let answer = match &args.action {
        ChannelAction::Set {
            brand,
            channel,
            settings,
        } => {
            let pairs = parse_pairs(settings)?;
            if !pairs.keys().any(|k| normalise_key(k) == "provider") {
                check_provider_is_implied(&client, brand, channel).await?;
            }
            let body = json!({"settings": pairs});
            client
                .call(
                    Method::PUT,
                    &["brands", brand, "channels", channel],
                    Some(body),
                )
                .await?
        }
        ChannelAction::Show {
            brand,
            channel: Some(channel),
        } => {
            client
                .call(Method::GET, &["brands", brand, "channels", channel], None)
                .await?
        }
        ChannelAction::Show {
            brand,
            channel: None,
        } => {
            client
                .call(Method::GET, &["brands", brand, "channels"], None)
                .await?
        }
        ChannelAction::Remove { brand, channel } => {
            client
                .call(
                    Method::DELETE,
                    &["brands", brand, "channels", channel],
                    None,
                )
                .await?
        }
        ChannelAction::Test {
            brand,
            channel,
            destination,
            locale,
        } => {
            let body = json!({"to": destination, "locale": locale});
            client
                .call(
                    Method::POST,
                    &["brands", brand, "channels", channel, "test"],
                    Some(body),
                )
                .await?
        }
    };
    if let ChannelAction::Test { .. } = &args.action {
        return report_test(&answer, args.conn.json);
    }
    if args.conn.json {
        print_json(&answer);
        return Ok(());
    }
    match &args.action {
        ChannelAction::Set { .. } => {
            say!("Saved.");
            print_channel(&answer);
        }
        ChannelAction::Show {
            channel: Some(_), ..
        } => print_channel(&answer),
        ChannelAction::Show {
            brand,
            channel: None,
        } => print_channels(brand, &answer),
        ChannelAction::Remove { brand, channel } => {
            say!("Removed {}.", channel.to_ascii_uppercase());
            print_channels(brand, &answer);
        }
        ChannelAction::Test { .. } => {}
    }
    Ok(())
}

/// A key as the server compares it: case, `_` and `-` ignored.
fn normalise_key(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// `channel set` without `provider=` changes the provider the channel has. When that is none
/// (not configured) or `log` (which takes no settings), says to name one, with an example.
async fn check_provider_is_implied(
    client: &AdminClient,
    brand: &str,
    channel: &str,
) -> anyhow::Result<()> {
    let list = client
        .call(Method::GET, &["brands", brand, "channels"], None)
        .await?;
    let Some(kind) = ChannelKind::ALL
        .iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(channel))
    else {
        return Ok(()); // the server names the valid channels
    };
    let current = list
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["channel"] == kind.as_str())
        .and_then(|v| v["config"]["provider"].as_str())
        .map(str::to_ascii_lowercase);
    let (brand, channel) = (brand.to_ascii_uppercase(), kind.as_str());
    let real = kind.providers().iter().copied().find(|p| *p != "log");
    let example = real.map_or_else(String::new, |p| {
        format!(
            ", e.g. `otpd channel set {brand} {channel} provider={p} {}=…`",
            match p {
                "smtp" => "host",
                "http" => "url",
                "twilio" => "accountSid",
                "whatsapp" => "phoneNumberId",
                _ => "accessToken",
            }
        )
    });
    let choices = kind.providers().join(", ");
    match current.as_deref() {
        None => {
            bail!("{channel} is not configured for {brand}: name its provider ({choices}){example}")
        }
        Some("log") => bail!(
            "{brand}'s {channel} channel uses the log provider, which takes no settings: name \
             the provider to switch to ({choices}){example}"
        ),
        Some(_) => Ok(()),
    }
}

/// The provider's answer; a failed send is an error, so scripts see a non-zero exit.
fn report_test(answer: &Value, json: bool) -> anyhow::Result<()> {
    if json {
        print_json(answer);
    }
    let elapsed = human(&answer["elapsedMs"]);
    let to = human(&answer["to"]);
    if answer["ok"].as_bool() == Some(true) {
        if !json {
            say!(
                "Sent to {to} through {}: the provider answered {} ({elapsed} ms).",
                human(&answer["provider"]).to_ascii_lowercase(),
                human(&answer["providerStatus"])
            );
        }
        return Ok(());
    }
    let retry = if answer["temporary"].as_bool() == Some(true) {
        " (the outbox would retry this)"
    } else {
        ""
    };
    bail!(
        "the test message to {to} failed after {elapsed} ms: {}{retry}",
        human(&answer["error"])
    )
}

/// A config's settings as `key  value` rows, in the names `channel set` takes.
fn setting_rows(config: &Value) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for (key, value) in config.as_object().into_iter().flatten() {
        match (key.as_str(), value) {
            ("provider", _) => {}
            ("headers", Value::Object(headers)) => {
                for (name, v) in headers {
                    rows.push((format!("header.{name}"), human(v)));
                }
            }
            // A secret reads "set", or "" when it has none.
            (_, Value::String(s)) if s.is_empty() => rows.push((key.clone(), "not set".into())),
            _ => rows.push((key.clone(), human(value))),
        }
    }
    rows
}

fn print_channel(view: &Value) {
    say!(
        "{}  {}",
        human(&view["channel"]),
        human(&view["config"]["provider"]).to_ascii_lowercase()
    );
    print_pairs(2, &setting_rows(&view["config"]));
}

fn print_channels(brand: &str, list: &Value) {
    let views = list.as_array().map(Vec::as_slice).unwrap_or_default();
    for view in views {
        print_channel(view);
    }
    let missing: Vec<&str> = ChannelKind::ALL
        .iter()
        .map(|k| k.as_str())
        .filter(|k| !views.iter().any(|v| v["channel"] == *k))
        .collect();
    if !missing.is_empty() {
        say!(
            "Not configured for {}: {}",
            brand.to_ascii_uppercase(),
            missing.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_split_at_the_first_equals_sign() {
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let parsed = parse_pairs(&owned(&["url=https://x.test/?a=b", "fromName="])).unwrap();
        assert_eq!(parsed["url"], "https://x.test/?a=b");
        assert_eq!(parsed["fromName"], "");
        assert!(parse_pairs(&owned(&["host"])).is_err());
        assert!(parse_pairs(&owned(&["port=1", "port=2"])).is_err());
    }

    #[test]
    fn rows_spell_headers_as_channel_set_takes_them() {
        let rows = setting_rows(&json!({"provider": "HTTP", "url": "u",
            "headers": {"X-Key": "{secret}"}, "secret": "set"}));
        let row = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            rows,
            [
                row("header.X-Key", "{secret}"),
                row("secret", "set"),
                row("url", "u")
            ]
        );
    }
}
