//! The `otpd` binary against a running test server: brand, limit and signing commands, `otpd
//! sign`, and the messages when the server cannot be found or refuses the token.

use base64::Engine;
use otpd::domain::signature::{SignedFields, sign};
use serde_json::{Value, json};

use super::helpers::{PHONE, spawn_app, stderr, stdout};

#[tokio::test]
async fn cli_brand_set_and_show() {
    let app = spawn_app().await;

    let set = app
        .cli(&[
            "brand",
            "set",
            "DEMO",
            "dailyOtpLimit=5",
            "otpLength=8",
            "limitWindowMinutes=none",
            "signingEndpoints=OTP_GENERATE,OTP_VALIDATE",
        ])
        .await;
    assert!(set.status.success(), "{}", stderr(&set));

    let show = app.cli(&["brand", "show", "DEMO", "--json"]).await;
    assert!(show.status.success(), "{}", stderr(&show));
    let brand: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(brand["settings"]["dailyOtpLimit"], 5);
    assert_eq!(brand["settings"]["otpLength"], 8);
    assert_eq!(
        brand["settings"]["signingEndpoints"],
        json!(["OTP_GENERATE", "OTP_VALIDATE"])
    );

    let human = app.cli(&["brand", "show", "demo"]).await;
    let text = stdout(&human);
    assert!(
        text.contains("dailyOtpLimit") && text.contains("5"),
        "{text}"
    );

    let zero = app.cli(&["brand", "set", "DEMO", "dailyOtpLimit=0"]).await;
    assert!(!zero.status.success());
    let err = stderr(&zero);
    assert!(err.starts_with("otpd: "), "{err}");
    assert!(
        err.contains("dailyOtpLimit") && err.contains("1535"),
        "{err}"
    );

    let created = app.cli(&["brand", "create", "acme", "otpLength=4"]).await;
    assert!(created.status.success(), "{}", stderr(&created));
    let list = app.cli(&["brand", "list"]).await;
    let text = stdout(&list);
    assert!(text.contains("ACME") && text.contains("DEMO"), "{text}");

    let missing = app.cli(&["brand", "show", "NOPE"]).await;
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("NOPE"));
}

#[tokio::test]
async fn cli_limits() {
    let app = spawn_app().await;

    let set = app
        .cli(&["limit", "set", "DEMO", "+84 901 234 567", "4"])
        .await;
    assert!(set.status.success(), "{}", stderr(&set));
    let show = app.cli(&["limit", "show", "DEMO", PHONE, "--json"]).await;
    let view: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(view["effectiveLimit"], 4);
    let human = stdout(&app.cli(&["limit", "show", "DEMO", PHONE]).await);
    assert!(
        human.contains("remaining") && human.contains("4"),
        "{human}"
    );

    let list = stdout(&app.cli(&["limit", "list", "DEMO"]).await);
    assert!(list.contains(&format!("MOBILE:{PHONE}")), "{list}");
    let zero = app.cli(&["limit", "set", "DEMO", PHONE, "0"]).await;
    assert!(!zero.status.success());
    assert!(stderr(&zero).contains("1535"));
    assert!(
        app.cli(&["limit", "reset", "DEMO", PHONE])
            .await
            .status
            .success()
    );
    let unset = app.cli(&["limit", "unset", "DEMO", PHONE, "--json"]).await;
    let view: Value = serde_json::from_slice(&unset.stdout).unwrap();
    assert_eq!(view["effectiveLimit"], 10);
}

#[tokio::test]
async fn cli_signing_prints_the_secret_once_and_otpd_sign_matches() {
    let app = spawn_app().await;

    let enable = app
        .cli(&[
            "signing",
            "enable",
            "DEMO",
            "--endpoints",
            "OTP_GENERATE,OTP_VALIDATE",
        ])
        .await;
    assert!(enable.status.success(), "{}", stderr(&enable));
    let text = stdout(&enable);
    assert!(text.contains("shown ONCE"), "{text}");
    let secret = text
        .lines()
        .skip_while(|l| !l.contains("shown ONCE"))
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&secret)
        .unwrap();
    assert_eq!(raw.len(), 32);

    let body = json!({"brand": "DEMO", "identifierType": "MOBILE", "identifierValue": PHONE,
                      "deviceId": "dev-1", "sessionId": "P-6ec5fcc9-2bca-4778-9672-4ee5097d8313",
                      "timeStamp": 1_700_000_000_000_i64});
    let signed = tokio::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .args([
            "sign",
            "--secret",
            &secret,
            "--path",
            "/auth/v1/otp/generate",
            "--body",
        ])
        .arg(body.to_string())
        .output()
        .await
        .unwrap();
    assert!(signed.status.success(), "{}", stderr(&signed));
    let hash = stdout(&signed).trim().to_owned();
    assert_eq!(hash.len(), 64);
    let expected = sign(
        &raw,
        &SignedFields {
            time_stamp: "1700000000000",
            path: "/auth/v1/otp/generate",
            brand: "DEMO",
            identifier_type: "MOBILE",
            identifier_value: PHONE,
            device_id: "dev-1",
            session_id: "P-6ec5fcc9-2bca-4778-9672-4ee5097d8313",
            otp: "",
        },
    );
    assert_eq!(hash, expected);

    let rotate = stdout(&app.cli(&["signing", "rotate", "DEMO"]).await);
    assert!(
        rotate.contains("RETIRING") && rotate.contains("shown ONCE"),
        "{rotate}"
    );
    let show = stdout(&app.cli(&["brand", "show", "DEMO"]).await);
    assert!(!show.contains(&secret), "show never prints a secret");
    let revoke = app.cli(&["signing", "revoke", "DEMO", "1"]).await;
    assert!(revoke.status.success(), "{}", stderr(&revoke));
    let refused = app.cli(&["signing", "revoke", "DEMO", "2"]).await;
    assert!(!refused.status.success());
    assert!(
        app.cli(&["signing", "revoke", "DEMO", "2", "--force"])
            .await
            .status
            .success()
    );
    let off = stdout(&app.cli(&["signing", "disable", "DEMO"]).await);
    assert!(off.contains("off"), "{off}");
}

#[tokio::test]
async fn cli_explains_a_missing_server() {
    let empty = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .args(["brand", "list", "--data-dir"])
        .arg(empty.path())
        .env_remove("OTPD_ADMIN_URL")
        .env_remove("OTPD_ADMIN_TOKEN")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("is otpd serve running with this data directory?"),
        "{err}"
    );
}

#[tokio::test]
async fn cli_uses_url_and_token_flags_and_reports_a_wrong_token() {
    let app = spawn_app().await;
    let url = format!("http://{}", app.server.admin_addr);
    let elsewhere = tempfile::tempdir().unwrap();

    let ok = tokio::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .args(["brand", "list", "--json", "--data-dir"])
        .arg(elsewhere.path())
        .env("OTPD_ADMIN_URL", &url)
        .env("OTPD_ADMIN_TOKEN", app.server.admin_token.to_string())
        .output()
        .await
        .unwrap();
    assert!(ok.status.success(), "{}", stderr(&ok));

    let wrong = tokio::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .args([
            "brand",
            "list",
            "--admin-url",
            &url,
            "--admin-token",
            "nope",
        ])
        .output()
        .await
        .unwrap();
    assert!(!wrong.status.success());
    assert!(stderr(&wrong).contains("token"), "{}", stderr(&wrong));
}

#[tokio::test]
async fn output_into_a_closed_pipe_ends_quietly() {
    let app = spawn_app().await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .args(["brand", "show", "DEMO", "--data-dir"])
        .arg(app.dir.path())
        .env_remove("OTPD_ADMIN_URL")
        .env_remove("OTPD_ADMIN_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // like `otpd brand show DEMO | head -0`
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn cli_operator_add_reads_the_password_from_stdin_and_the_operator_can_log_in() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .args(["operator", "add", "Alice", "--role", "admin", "--data-dir"])
        .arg(app.dir.path())
        .env_remove("OTPD_ADMIN_URL")
        .env_remove("OTPD_ADMIN_TOKEN")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"a long enough password\n").await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("alice"), "{}", stdout(&out));
    app.login("alice", "a long enough password").await;

    let list = stdout(&app.cli(&["operator", "list"]).await);
    assert!(list.contains("alice") && list.contains("admin"), "{list}");
    let reset = app.cli(&["operator", "reset-password", "alice"]).await;
    assert!(
        stdout(&reset).contains("temporary password"),
        "{}",
        stdout(&reset)
    );
    let demote = app
        .cli(&["operator", "set", "alice", "--role", "viewer"])
        .await;
    assert!(!demote.status.success(), "the last admin stays one");
    assert!(
        stderr(&demote).contains("last enabled admin"),
        "{}",
        stderr(&demote)
    );
    let short = app
        .cli(&["operator", "add", "bob", "--role", "viewer"])
        .await;
    assert!(!short.status.success());
    assert!(stderr(&short).contains("no password"), "{}", stderr(&short));
    // The trail records the CLI as `cli`.
    let (_, audit) = app.call(reqwest::Method::GET, "/audit", None).await;
    assert_eq!(audit["entries"][0]["actor"], "cli");
}

/// Runs the `otpd` binary with no server and no data directory of the environment.
fn otpd(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_otpd"))
        .args(args)
        .env_remove("OTPD_DATA_DIR")
        .output()
        .unwrap()
}

#[test]
fn version_names_the_commit() {
    let out = otpd(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let rest = text
        .trim()
        .strip_prefix(&format!("otpd {} (commit ", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("{text}"));
    let commit = rest.strip_suffix(')').unwrap_or_else(|| panic!("{text}"));
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{text}"
    );
}

#[test]
fn completions_and_man_page_cover_the_commands() {
    for (shell, marker) in [
        ("bash", "_otpd()"),
        ("zsh", "#compdef otpd"),
        ("fish", "complete -c otpd"),
    ] {
        let out = otpd(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}: {script:.300}");
        for command in ["serve", "brand", "reset-password", "data-dir"] {
            assert!(script.contains(command), "{shell} completes {command}");
        }
    }
    let refused = otpd(&["completions", "tcsh"]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("bash"), "{}", stderr(&refused));

    let man = otpd(&["manpage"]);
    assert!(man.status.success());
    let page = stdout(&man);
    assert!(
        page.starts_with(".ie") || page.contains(".TH otpd"),
        "{page:.300}"
    );
    assert!(
        page.contains("operator") && page.contains("data\\-dir"),
        "{page:.300}"
    );
}
