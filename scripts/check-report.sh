#!/usr/bin/env bash
# Renders the demo's HTML report in a headless browser and checks the page: it loads from the
# file alone (no network: the browser runs with networking off), draws a full page, and every
# figure is an inline SVG. Skips, saying so, where no Chromium is installed (Debian: apt-get
# install chromium). Usage: scripts/check-report.sh [OUT.png]
set -euo pipefail
cd "$(dirname "$0")/.."
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "skipped: no Chromium to render the report"
  exit 0
fi
shot=${1:-target/report.png}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cargo run --release -q -p strata-cli -- demo --out "$dir/report" > /dev/null 2>&1
html="$dir/report/report.html"
grep -q '<figure><svg' "$html" || { echo "no inline figure in the report"; exit 1; }
if grep -Eq '<(script|link|img)[ >]' "$html"; then echo "the report loads an external resource"; exit 1; fi
"$browser" --headless --no-sandbox --disable-gpu --proxy-server='127.0.0.1:9' --window-size=1200,6000 \
  --screenshot="$shot" "file://$html" > "$dir/browser.log" 2>&1
size=$(stat -c %s "$shot")
[ "$size" -gt 100000 ] || { echo "the screenshot is nearly empty ($size bytes)"; exit 1; }
echo "report rendered: $shot ($size bytes)"
