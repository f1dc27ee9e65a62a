#!/usr/bin/env bash
# The console's end-to-end tests: Playwright with Debian's Chromium against a real `otpd serve`
# (target/debug/otpd, or $OTPD_BIN) and a real SMTP server, both started by the tests.
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules ] || npm ci --no-audit --no-fund
npx playwright test "$@"
