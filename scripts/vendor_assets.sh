#!/bin/sh
# Copy the vendored front-end assets from node_modules into static/vendor/.
# Nothing is served from a CDN: the Content-Security-Policy only allows 'self'.
#
# Upgrade: edit the exact versions in package.json, then
#   npm install && sh scripts/vendor_assets.sh
# and commit static/vendor/ (node_modules/ is git-ignored).
set -eu

ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
NM="$ROOT/node_modules"
OUT="$ROOT/static/vendor"

if [ ! -d "$NM/bootstrap" ] || [ ! -d "$NM/htmx.org" ] || [ ! -d "$NM/bootstrap-icons" ] || [ ! -d "$NM/echarts" ]; then
    echo "node_modules is missing packages; run 'npm ci' (or 'npm install') in $ROOT first" >&2
    exit 1
fi

version() {
    node -p "require('$NM/$1/package.json').version"
}

rm -rf "$OUT/bootstrap" "$OUT/htmx" "$OUT/bootstrap-icons"
mkdir -p "$OUT/bootstrap/css" "$OUT/bootstrap/js" "$OUT/htmx" "$OUT/bootstrap-icons"

# Bootstrap (the bundle includes Popper, MIT-licensed as well).
cp "$NM/bootstrap/dist/css/bootstrap.min.css" "$OUT/bootstrap/css/"
cp "$NM/bootstrap/dist/css/bootstrap.min.css.map" "$OUT/bootstrap/css/"
cp "$NM/bootstrap/dist/js/bootstrap.bundle.min.js" "$OUT/bootstrap/js/"
cp "$NM/bootstrap/dist/js/bootstrap.bundle.min.js.map" "$OUT/bootstrap/js/"
cp "$NM/bootstrap/LICENSE" "$OUT/bootstrap/LICENSE"
if [ -f "$NM/@popperjs/core/LICENSE.md" ]; then
    cp "$NM/@popperjs/core/LICENSE.md" "$OUT/bootstrap/LICENSE-popper.md"
fi
version bootstrap > "$OUT/bootstrap/VERSION"

# htmx 2.x
cp "$NM/htmx.org/dist/htmx.min.js" "$OUT/htmx/"
cp "$NM/htmx.org/LICENSE" "$OUT/htmx/LICENSE"
version htmx.org > "$OUT/htmx/VERSION"

# Bootstrap Icons: no web font and not the whole 1 MB sprite, only a sprite of the icons the
# templates use, built from the individual SVGs. Use one as
#   <svg class="bi" aria-hidden="true"><use href="{% static 'vendor/bootstrap-icons/icons.svg' %}#search"></use></svg>
# To add an icon, add its name (see https://icons.getbootstrap.com/) to ICONS and rerun.
ICONS="
    arrow-left-right arrow-right award bar-chart-line box-arrow-in-right box-arrow-right briefcase
    building buildings card-list cash-coin check-circle-fill check2 check2-circle chevron-double-left
    chevron-double-right chevron-left chevron-right clipboard-check clock-history code-slash
    currency-yen diagram-3 envelope exclamation-octagon exclamation-triangle
    exclamation-triangle-fill eye file-earmark-text folder2-open geo-alt globe grid house-door
    inbox info-circle info-circle-fill journal-bookmark journal-text key list list-check lock
    megaphone patch-check people person-circle person-plus search shield-check shield-lock
    speedometer2 telephone x-circle x-lg
"
ICON_DIR="$NM/bootstrap-icons/icons" ICONS="$ICONS" node -e '
const fs = require("fs");
const dir = process.env.ICON_DIR;
const names = process.env.ICONS.split(/\s+/).filter(Boolean).sort();
let out = "<svg xmlns=\"http://www.w3.org/2000/svg\">\n";
for (const name of names) {
  const svg = fs.readFileSync(`${dir}/${name}.svg`, "utf8");
  const viewBox = /viewBox="([^"]+)"/.exec(svg)[1];
  const inner = svg.replace(/^[\s\S]*?<svg[^>]*>/, "").replace(/<\/svg>\s*$/, "").trim();
  out += `<symbol id="${name}" viewBox="${viewBox}">${inner.replace(/\n\s*/g, "")}</symbol>\n`;
}
out += "</svg>\n";
fs.writeFileSync(process.argv[1], out);
' "$OUT/bootstrap-icons/icons.svg"
cp "$NM/bootstrap-icons/LICENSE" "$OUT/bootstrap-icons/LICENSE"
version bootstrap-icons > "$OUT/bootstrap-icons/VERSION"

# Apache ECharts (the regulator dashboards' charts): the full minified build, no CDN.
rm -rf "$OUT/echarts"
mkdir -p "$OUT/echarts"
cp "$NM/echarts/dist/echarts.min.js" "$OUT/echarts/"
cp "$NM/echarts/LICENSE" "$OUT/echarts/LICENSE"
cp "$NM/echarts/NOTICE" "$OUT/echarts/NOTICE"
version echarts > "$OUT/echarts/VERSION"

echo "Vendored into $OUT:"
for pkg in bootstrap htmx bootstrap-icons echarts; do
    printf '  %-16s %s\n' "$pkg" "$(cat "$OUT/$pkg/VERSION")"
done
