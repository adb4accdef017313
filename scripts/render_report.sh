#!/usr/bin/env bash
# Render a compress report.html in headless Chromium to a PNG screenshot, to see it as a
# browser does (CI calls this when Chromium is installed).
#
#   scripts/render_report.sh OUT_DIR|OUT_DIR/report.html [SCREENSHOT.png]
#
# Default screenshot: report.png beside report.html.  Chromium comes from Debian's
# packages (apt-get install chromium); set CHROMIUM=/path/to/browser to use another.
# Exit codes: 0 written, 1 Chromium ran but wrote no screenshot, 2 bad input or no browser.
# The screenshot is written in a temporary directory and moved into place, so a failure
# leaves no partial PNG.
set -euo pipefail

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
}

if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  usage
  exit 0
fi
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  usage >&2
  exit 2
fi

input=$1
if [ -d "$input" ]; then
  input=$input/report.html
fi
if [ ! -f "$input" ]; then
  echo "error: $input: no such report.html (run compress first)" >&2
  exit 2
fi
html_path=$(cd "$(dirname "$input")" && pwd)/$(basename "$input")
output=${2:-$(dirname "$html_path")/report.png}

browser=${CHROMIUM:-}
if [ -z "$browser" ]; then
  for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then
      browser=$candidate
      break
    fi
  done
fi
if [ -z "$browser" ] || ! command -v "$browser" >/dev/null 2>&1; then
  echo "error: no Chromium found (apt-get install chromium, or set CHROMIUM=/path/to/browser)" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A throwaway profile and no network services: the report is self-contained, so nothing
# should be fetched, and a shared profile would make runs depend on each other.
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --user-data-dir="$work/profile" \
  --window-size=1280,2400 --screenshot="$work/shot.png" "file://$html_path" \
  >"$work/browser.log" 2>&1 || true
if [ ! -s "$work/shot.png" ]; then
  echo "error: $browser wrote no screenshot of $html_path; its log:" >&2
  tail -n 5 "$work/browser.log" >&2
  exit 1
fi
mkdir -p "$(dirname "$output")"
mv "$work/shot.png" "$output"
echo "$output"
