#!/usr/bin/env bash
# Renders icon.svg into the PNGs the desktop bundle, the tray and the console's favicon use
# (RGBA, as Tauri requires). Needs rsvg-convert (Debian: librsvg2-bin).
set -euo pipefail
cd "$(dirname "$0")"
for s in 32 64 128; do rsvg-convert -w "$s" -h "$s" icon.svg -o "${s}x${s}.png"; done
rsvg-convert -w 256 -h 256 icon.svg -o 128x128@2x.png
rsvg-convert -w 512 -h 512 icon.svg -o icon.png
cp icon.svg ../ui/static/favicon.svg
rsvg-convert -w 180 -h 180 icon.svg -o ../ui/static/apple-touch-icon.png
