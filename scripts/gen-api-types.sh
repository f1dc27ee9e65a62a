#!/usr/bin/env bash
# Regenerates the console's API types from the Rust types: the admin OpenAPI document (utoipa)
# into ui/src/lib/api/openapi.json, then TypeScript (openapi-typescript) into schema.d.ts.
# .ci/run runs it and fails when the committed files differ: never edit them by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
OTPD_CONSOLE_PREBUILT=1 cargo run -q -- openapi admin > ui/src/lib/api/openapi.json
npm --prefix ui run --silent gen:api
