//! Builds the operator console (`ui/`, a SvelteKit app) into `ui/build`, which the binary
//! embeds (`src/http/console.rs`), so `cargo build` / `cargo run` alone make a complete otpd.
//! Runs again only when the console's sources change. Needs Node.js and npm; without them a
//! console built earlier is used, or the build stops and says what to install.
//! `OTPD_CONSOLE_PREBUILT=1` uses `ui/build` as it is (CI builds it once, before cargo).

use std::path::Path;
use std::process::{Command, ExitCode};

const WATCHED: [&str; 8] = [
    "ui/src",
    "ui/static",
    "ui/package.json",
    "ui/package-lock.json",
    "ui/svelte.config.js",
    "ui/vite.config.ts",
    "ui/tsconfig.json",
    "ui/node_modules/.package-lock.json",
];

fn main() -> ExitCode {
    for path in WATCHED {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-env-changed=OTPD_CONSOLE_PREBUILT");
    let built = Path::new("ui/build/index.html").exists();
    if std::env::var_os("OTPD_CONSOLE_PREBUILT").is_some() && built {
        return ExitCode::SUCCESS;
    }
    let npm_works = Command::new("npm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !npm_works {
        if built {
            println!(
                "cargo:warning=npm not found: embedding the console built earlier in ui/build"
            );
            return ExitCode::SUCCESS;
        }
        eprintln!(
            "\notpd embeds its web console, which is built with Node.js (20 or newer) and npm.\n\
             Install them first, e.g. on Debian or Ubuntu: sudo apt-get install nodejs npm\n\
             (or from https://nodejs.org), then run cargo again.\n"
        );
        return ExitCode::FAILURE;
    }
    if !Path::new("ui/node_modules/.package-lock.json").exists()
        && !npm(
            &["ci", "--no-audit", "--no-fund"],
            "installing the console's packages",
        )
    {
        return ExitCode::FAILURE;
    }
    if !npm(&["run", "build"], "building the console") {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Runs `npm <args>` in `ui/`; on failure prints what was being done.
fn npm(args: &[&str], what: &str) -> bool {
    // npm's output goes to stderr: a build script's stdout is read for cargo directives.
    let status = Command::new("npm")
        .args(args)
        .current_dir("ui")
        .stdout(std::io::stderr())
        .status();
    match status {
        Ok(s) if s.success() => true,
        Ok(s) => {
            eprintln!(
                "\n{what} failed (npm {} exited with {s}); see the output above\n",
                args.join(" ")
            );
            false
        }
        Err(e) => {
            eprintln!("\n{what}: could not run npm: {e}\n");
            false
        }
    }
}
