#!/bin/sh
# Builds the web UI's vendored assets: copies xterm.js and its fit addon from node_modules
# into web/dist/ (git-ignored), so the browser never fetches anything from outside this
# server. Idempotent and cheap; dev/up and dev/test run it after installing npm packages.
set -eu
WEB=$(cd "$(dirname "$0")" && pwd)
MODULES=$(cd "$WEB/.." && pwd)/node_modules
DIST=$WEB/dist

for f in "$MODULES/@xterm/xterm/lib/xterm.mjs" "$MODULES/@xterm/addon-fit/lib/addon-fit.mjs"; do
	[ -f "$f" ] || { echo "web/build.sh: missing $f (run npm ci first)" >&2; exit 1; }
done
mkdir -p "$DIST"
copy() { # copy SRC NAME: only when the source is newer, so repeated runs touch nothing
	if [ ! -f "$DIST/$2" ] || [ "$1" -nt "$DIST/$2" ]; then cp "$1" "$DIST/$2"; fi
}
copy "$MODULES/@xterm/xterm/lib/xterm.mjs" xterm.mjs
copy "$MODULES/@xterm/xterm/lib/xterm.mjs.map" xterm.mjs.map
copy "$MODULES/@xterm/xterm/css/xterm.css" xterm.css
copy "$MODULES/@xterm/addon-fit/lib/addon-fit.mjs" addon-fit.mjs
copy "$MODULES/@xterm/addon-fit/lib/addon-fit.mjs.map" addon-fit.mjs.map
copy "$MODULES/@xterm/xterm/LICENSE" LICENSE.xterm
copy "$MODULES/@xterm/addon-fit/LICENSE" LICENSE.addon-fit
