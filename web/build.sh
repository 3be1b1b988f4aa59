#!/bin/sh
# Builds the web UI's vendored assets: copies xterm.js and its fit addon, and the
# asciinema-player (its ES module build: index.js and the chunks it imports, and its CSS),
# from node_modules into web/dist/ (git-ignored), so the browser never fetches anything from
# outside this server. Idempotent and cheap; dev/up and dev/test run it after installing npm
# packages.
set -eu
WEB=$(cd "$(dirname "$0")" && pwd)
MODULES=$(cd "$WEB/.." && pwd)/node_modules
DIST=$WEB/dist

PLAYER=$MODULES/asciinema-player/dist
for f in "$MODULES/@xterm/xterm/lib/xterm.mjs" "$MODULES/@xterm/addon-fit/lib/addon-fit.mjs" "$PLAYER/index.js"; do
	[ -f "$f" ] || { echo "web/build.sh: missing $f (run npm ci first)" >&2; exit 1; }
done
mkdir -p "$DIST" "$DIST/asciinema-player"
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
# The player's chunks have content hashes in their names: copy whatever index.js imports
# (every top-level .js of dist/ but the worker-based ui.js/worker.js entry points).
for f in "$PLAYER"/*.js; do
	case "$(basename "$f")" in ui.js | worker.js) continue ;; esac
	copy "$f" "asciinema-player/$(basename "$f")"
done
copy "$PLAYER/bundle/asciinema-player.css" asciinema-player/asciinema-player.css
copy "$MODULES/asciinema-player/LICENSE" LICENSE.asciinema-player
