#!/usr/bin/env bash
# Refresh the vendored front-end files under static/vendor/ from the npm registry (no CDN at run time).
# Usage: bash scripts/vendor_static.sh   — then review and commit static/vendor/.
set -euo pipefail
cd "$(dirname "$0")/.."
HTMX=htmx.org@2.0.11
PICO=@picocss/pico@2.1.1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$HTMX" "$PICO" >/dev/null && for f in *.tgz; do mkdir "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done)

mkdir -p static/vendor/htmx static/vendor/pico
cp "$work"/htmx.org-*/package/dist/htmx.min.js static/vendor/htmx/
cp "$work"/htmx.org-*/package/LICENSE static/vendor/htmx/LICENSE
cp "$work"/picocss-pico-*/package/css/pico.min.css static/vendor/pico/
cp "$work"/picocss-pico-*/package/LICENSE.md static/vendor/pico/LICENSE.md
printf '%s\n' "$HTMX" "$PICO" > static/vendor/VERSIONS
echo "vendored: $(tr '\n' ' ' < static/vendor/VERSIONS)"
