#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ (request parsing, identifier normalisation, payload
# signatures) for SECONDS each, starting from the kept corpus in fuzz/corpus/<target>, and fails
# if any of them finds a crash (the input is left in fuzz/artifacts/<target>/).
# Usage: scripts/fuzz-targets.sh [SECONDS]   (default 30 per target)
#
# Needs the nightly toolchain; installs cargo-fuzz when it is missing. What the runs discover is
# written to a scratch directory, so the kept corpus only changes on purpose: to grow it, run
# `cargo +nightly fuzz run -s none <target>` by hand and then `cargo +nightly fuzz cmin -s none
# <target>`. Builds go to $CARGO_TARGET_DIR (default fuzz/target).
#
# No address sanitizer (`-s none`): otpd forbids unsafe code, the targets look for panics and
# broken invariants, and without it builds and runs are about twice as fast. Sixteen codegen
# units instead of cargo fuzz's one: one unit compiles each crate (hundreds of them) on a single
# core, which made the build several minutes of a CI run; the runs are a little slower.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}

cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/fuzz/target}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# request_parsing opens its store under the temporary directory.
export TMPDIR=$scratch

flags=(-s none --codegen-units 16)
cargo +nightly fuzz build "${flags[@]}"
failed=()
for target in $(cargo +nightly fuzz list); do
  mkdir -p "$scratch/$target" "fuzz/corpus/$target"
  options=(-max_total_time="$seconds" -timeout=30 -print_final_stats=1)
  [ -f "fuzz/$target.dict" ] && options+=(-dict="fuzz/$target.dict")
  echo "== $target: ${seconds}s" >&2
  if ! cargo +nightly fuzz run "${flags[@]}" "$target" "$scratch/$target" "fuzz/corpus/$target" \
      -- "${options[@]}"; then
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzzing: no crash in $(cargo +nightly fuzz list | wc -l) targets, ${seconds}s each" >&2
