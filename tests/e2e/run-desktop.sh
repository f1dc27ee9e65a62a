#!/usr/bin/env bash
# The desktop app's end-to-end test in a real window: Xvfb for the display, a D-Bus session for
# the tray, notifications (shown by dunst) and single-instance, tauri-driver for WebDriver. Needs the app built
# with its console (cargo build -p otpd-desktop --features custom-protocol) or $APP.
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules ] || npm ci --no-audit --no-fund
command -v tauri-driver >/dev/null || { echo "tauri-driver is missing: cargo install tauri-driver --locked" >&2; exit 1; }
command -v WebKitWebDriver >/dev/null || { echo "WebKitWebDriver is missing: apt-get install webkit2gtk-driver" >&2; exit 1; }
command -v dunst >/dev/null || { echo "dunst (the notification daemon the test reads) is missing: apt-get install dunst" >&2; exit 1; }
# dunst shows the app's desktop notifications inside the session; the test reads its history.
exec xvfb-run -a -s "-screen 0 1280x900x24" dbus-run-session -- \
  bash -c 'dunst >/dev/null 2>&1 & node desktop/desktop.e2e.mjs; rc=$?; kill %1 2>/dev/null; exit $rc'
