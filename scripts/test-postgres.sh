#!/usr/bin/env bash
# The API suite (tests/api) on the PostgreSQL engine: starts a throwaway cluster from Debian's
# postgresql package (scripts/pg-cluster.sh), runs the suite with every test server on a fresh
# database of it, and removes the cluster. Extra arguments go to `cargo test`.
# Without PostgreSQL installed it fails, saying what to install.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -u /tmp/otpd-test-pg.XXXXXX)
url=$(scripts/pg-cluster.sh start "$dir")
trap 'scripts/pg-cluster.sh stop "$dir"' EXIT
echo "PostgreSQL for the tests: $url" >&2
# What only the embedded engine has: its files (damaged, from older versions, the binary
# killed on them). Said here, not skipped quietly.
skip=(embedded::)
echo "not run on PostgreSQL (the embedded engine's own files): ${skip[*]}" >&2
OTPD_TEST_PG="$url" OTPD_TEST_PG_ROOT_CERT="$dir/root.crt" cargo test --test api "$@" -- "${skip[@]/#/--skip=}"
