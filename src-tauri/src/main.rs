//! The otpd desktop app: see `lib.rs`.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    otpd_desktop::run()
}
