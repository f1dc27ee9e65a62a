//! `otpd template …`: a brand's message templates per channel and locale — save, show, remove,
//! and preview one rendered with a sample code (with the SMS encoding and segment count). The
//! server validates; this file only parses arguments and prints answers.

use std::path::PathBuf;

use anyhow::Context;
use reqwest::Method;
use serde_json::{Value, json};

use super::output::{human, print_json, say};
use super::{AdminClient, Connection};

#[derive(clap::Args)]
pub struct TemplateArgs {
    #[command(subcommand)]
    action: TemplateAction,
    #[command(flatten)]
    conn: Connection,
}

const TEMPLATE_HELP: &str = "Placeholders: {otp} (required), {brand}, {validityMinutes}. \
E-mail templates need --subject; their HTML body (optional) must also hold {otp}, and values \
in it are HTML-escaped. SMS, WHATSAPP and ZALO take --text only (WhatsApp and Zalo send their \
approved provider templates; the text is used by the log provider). Without --locale the \
template is the channel's base one; a locale variant (vi-VN, vi, en) is picked for requests in \
that locale or language, then the brand's defaultLocale, then the base, then the built-in one.

Examples:
  otpd template set ACME SMS --text '{brand}: your code is {otp}, valid {validityMinutes} min'
  otpd template set ACME SMS --locale vi-VN --text 'Ma OTP {brand} cua ban: {otp}'
  otpd template set ACME EMAIL --subject 'Your {brand} code' --text 'Code: {otp}' \\
    --html-file otp-email.html";

#[derive(clap::Subcommand)]
enum TemplateAction {
    /// Save a channel's template (or one locale's variant of it).
    #[command(after_help = TEMPLATE_HELP)]
    Set {
        /// Brand name (any case).
        brand: String,
        /// EMAIL, SMS, WHATSAPP or ZALO.
        channel: String,
        /// A locale variant (e.g. vi-VN) instead of the base template.
        #[arg(long)]
        locale: Option<String>,
        /// E-mail subject.
        #[arg(long)]
        subject: Option<String>,
        /// The message text; must contain {otp}.
        #[arg(long)]
        text: String,
        /// E-mail HTML body.
        #[arg(long, conflicts_with = "html_file")]
        html: Option<String>,
        /// Read the e-mail HTML body from a file.
        #[arg(long, value_name = "FILE")]
        html_file: Option<PathBuf>,
    },
    /// Show the saved templates (and the built-in one where none is saved).
    #[command(
        after_help = "Examples:\n  otpd template show ACME\n  otpd template show ACME EMAIL --json"
    )]
    Show {
        /// Brand name (any case).
        brand: String,
        /// Only this channel.
        channel: Option<String>,
    },
    /// Remove a channel's base template or a locale variant; the next match applies again.
    #[command(after_help = "Example:\n  otpd template remove ACME SMS --locale vi-VN")]
    Remove {
        /// Brand name (any case).
        brand: String,
        /// EMAIL, SMS, WHATSAPP or ZALO.
        channel: String,
        /// Remove this locale's variant instead of the base template.
        #[arg(long)]
        locale: Option<String>,
    },
    /// Render the template the brand would send (for a locale) with a sample code (123456…);
    /// for mobile channels also print the SMS encoding, length and segment count.
    #[command(
        after_help = "Examples:\n  otpd template preview ACME SMS\n  otpd template preview ACME SMS --locale vi-VN"
    )]
    Preview {
        /// Brand name (any case).
        brand: String,
        /// EMAIL, SMS, WHATSAPP or ZALO.
        channel: String,
        /// Preview the template picked for this locale.
        #[arg(long)]
        locale: Option<String>,
    },
}

pub async fn run(args: TemplateArgs, data_dir: &std::path::Path) -> anyhow::Result<()> {
    let client = AdminClient::connect(&args.conn, data_dir)?;
    let answer = match &args.action {
        TemplateAction::Set {
            brand,
            channel,
            locale,
            subject,
            text,
            html,
            html_file,
        } => {
            let html = match html_file {
                Some(path) => Some(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?,
                ),
                None => html.clone(),
            };
            let body = json!({"subject": subject, "text": text, "html": html});
            let mut path = vec!["brands", brand.as_str(), "templates", channel.as_str()];
            path.extend(locale.as_deref());
            client.call(Method::PUT, &path, Some(body)).await?
        }
        TemplateAction::Show { brand, channel } => {
            let mut path = vec!["brands", brand.as_str(), "templates"];
            path.extend(channel.as_deref());
            client.call(Method::GET, &path, None).await?
        }
        TemplateAction::Remove {
            brand,
            channel,
            locale,
        } => {
            let mut path = vec!["brands", brand.as_str(), "templates", channel.as_str()];
            path.extend(locale.as_deref());
            client.call(Method::DELETE, &path, None).await?
        }
        TemplateAction::Preview {
            brand,
            channel,
            locale,
        } => {
            let query: Vec<(&str, &str)> = locale
                .as_deref()
                .map(|l| ("locale", l))
                .into_iter()
                .collect();
            client
                .call_with_query(
                    Method::POST,
                    &["brands", brand, "templates", channel, "preview"],
                    &query,
                    None,
                )
                .await?
        }
    };
    if args.conn.json {
        print_json(&answer);
        return Ok(());
    }
    match &args.action {
        TemplateAction::Set { .. } => {
            say!("Saved.");
            print_templates(&answer);
        }
        TemplateAction::Remove { .. } => {
            say!("Removed.");
            print_templates(&answer);
        }
        TemplateAction::Show {
            channel: Some(_), ..
        } => print_templates(&answer),
        TemplateAction::Show { channel: None, .. } => {
            for view in answer.as_array().into_iter().flatten() {
                print_templates(view);
            }
        }
        TemplateAction::Preview { .. } => print_preview(&answer),
    }
    Ok(())
}

/// One line per field; line breaks shown as `\n` so each template stays on its rows.
fn print_template(indent: &str, t: &Value) {
    for field in ["subject", "text", "html"] {
        if let Some(s) = t[field].as_str() {
            say!("{indent}{field:<8} {}", s.replace('\n', "\\n"));
        }
    }
}

fn print_templates(view: &Value) {
    say!("{}", human(&view["channel"]));
    let locales = view["locales"].as_object();
    let nothing_saved = view["default"].is_null() && locales.is_none_or(|l| l.is_empty());
    if nothing_saved {
        say!("  built-in (nothing saved):");
        print_template("    ", &view["builtIn"]);
        return;
    }
    if view["default"].is_null() {
        say!("  base: built-in");
    } else {
        say!("  base:");
        print_template("    ", &view["default"]);
    }
    for (tag, t) in locales.into_iter().flatten() {
        say!("  {tag}:");
        print_template("    ", t);
    }
}

fn print_preview(p: &Value) {
    if let Some(subject) = p["subject"].as_str() {
        say!("subject: {subject}");
    }
    say!("text:");
    for line in p["text"].as_str().unwrap_or_default().lines() {
        say!("  {line}");
    }
    if let Some(html) = p["html"].as_str() {
        say!("html:");
        for line in html.lines() {
            say!("  {line}");
        }
    }
    if let Some(sms) = p["sms"].as_object() {
        let segments = sms.get("segments").and_then(Value::as_u64).unwrap_or(0);
        say!(
            "{}, {segments} segment{} ({} chars)",
            sms.get("encoding").map(human).unwrap_or_default(),
            if segments == 1 { "" } else { "s" },
            sms.get("characters").map(human).unwrap_or_default()
        );
    }
}
