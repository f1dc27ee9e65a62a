#!/usr/bin/env bash
# Builds the server package target/debian/otpd_<version>_amd64.deb (cargo-deb): the release
# binary, the systemd unit packaging/otpd.service, /etc/otpd/otpd.toml (config.example.toml
# with the package's data directory and no demo brand), the man page, shell completions and
# the docs. Needs `cargo install cargo-deb`. Prints the package's path.
#
# Usage: scripts/build-deb.sh [PROFILE]   (default release)
# `.ci/run` packages the dev build its tests already made (`scripts/build-deb.sh dev`): what it
# checks (the package's files, maintainer scripts and unit; that it installs and runs) does not
# depend on the binary's optimisation, and an optimised build of every dependency would cost CI
# several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
profile=${1:-release}
case $profile in
  release) out_dir=release ;;
  dev) out_dir=debug ;;
  *) echo "usage: scripts/build-deb.sh [release|dev]" >&2; exit 2 ;;
esac

command -v cargo-deb >/dev/null || {
  echo "cargo-deb is missing: cargo install cargo-deb --locked" >&2
  exit 1
}
cargo build --profile "$profile" --locked --bin otpd >&2
otpd="$target/$out_dir/otpd"

out=packaging/generated
rm -rf "$out"
mkdir -p "$out"
# The package's settings: the unit pins the data directory; a server gets no demo brand.
sed -e 's|^# dataDir = "/var/lib/otpd"|# The systemd unit sets the data directory: /var/lib/otpd.|' \
    -e 's|^demoBrand = true|demoBrand = false|' \
    config.example.toml > "$out/otpd.toml"
grep -q '^demoBrand = false' "$out/otpd.toml"
# The package's binary is copied here, so it is the same asset whichever profile built it, and
# stripped of symbols as Debian packages are (cargo-deb strips only what it builds itself).
cp "$otpd" "$out/otpd"
strip --strip-unneeded "$out/otpd"
"$otpd" manpage | gzip -9n > "$out/otpd.1.gz"
"$otpd" completions bash > "$out/otpd.bash"
"$otpd" completions zsh > "$out/_otpd"
"$otpd" completions fish > "$out/otpd.fish"

cargo deb --no-build --output "$target/debian/" >&2
ls "$target"/debian/otpd_*_amd64.deb | sort -V | tail -1
