//! Builds the operator console (`ui/`, a SvelteKit app) into `ui/build`, which the binary
//! embeds (`src/http/console.rs`), so `cargo build` / `cargo run` alone make a complete otpd.
//! Runs again only when the console's sources change. Needs Node.js and npm; without them a
//! console built earlier is used, or the build stops and says what to install.
//! `OTPD_CONSOLE_PREBUILT=1` uses `ui/build` as it is (CI builds it once, before cargo).
//!
//! It also records the commit the binary is built from (`otpd --version`): `git rev-parse`,
//! or `$OTPD_BUILD_COMMIT` where there is no Git checkout (a source tarball), else "unknown".

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::SystemTime;

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
    record_commit();
    for path in WATCHED {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-env-changed=OTPD_CONSOLE_PREBUILT");
    let built = Path::new("ui/build/index.html").exists();
    if built && (std::env::var_os("OTPD_CONSOLE_PREBUILT").is_some() || console_is_fresh()) {
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

/// Sets `OTPD_BUILD_COMMIT` for the crate, and reruns this script when HEAD moves.
fn record_commit() {
    println!("cargo:rerun-if-env-changed=OTPD_BUILD_COMMIT");
    // Only files that exist: cargo reruns a script whose watched path is missing every time
    // (and then rebuilds the crate).
    let watch = |path: String| {
        if Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    };
    watch(".git/HEAD".to_owned());
    if let Ok(head) = std::fs::read_to_string(".git/HEAD")
        && let Some(reference) = head.trim().strip_prefix("ref: ")
    {
        watch(format!(".git/{reference}"));
        watch(".git/packed-refs".to_owned());
    }
    let from_git = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let commit = from_git
        .or_else(|| std::env::var("OTPD_BUILD_COMMIT").ok())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=OTPD_BUILD_COMMIT={commit}");
}

/// Whether `ui/build` is newer than every input of the console: then a rerun of this script
/// for another reason (a new commit) does not build the console again.
fn console_is_fresh() -> bool {
    let Some(built) = modified(Path::new("ui/build/index.html")) else {
        return false;
    };
    WATCHED
        .iter()
        .all(|input| newest(Path::new(input)).is_none_or(|m| m <= built))
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The latest modification time of a file, or of anything under a directory.
fn newest(path: &Path) -> Option<SystemTime> {
    let own = modified(path);
    let Ok(entries) = std::fs::read_dir(path) else {
        return own;
    };
    entries
        .flatten()
        .filter_map(|e| newest(&e.path()))
        .chain(own)
        .max()
}
