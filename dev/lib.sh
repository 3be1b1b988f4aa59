# Shared set-up for dev/up and dev/test: installs what is missing, then builds.
# Sourced, not run. Everything here is idempotent and cheap when nothing changed.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${PERISCOPE_BUILD_DIR:-$ROOT/build}
ASAN_BUILD_DIR=${PERISCOPE_ASAN_BUILD_DIR:-$ROOT/build-asan}

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_apt_packages() {
	local missing=() pkg
	while read -r pkg; do
		case "$pkg" in ''|'#'*) continue ;; esac
		# Some tools (node, npm) may come from outside Debian: accept a command on PATH.
		case "$pkg" in nodejs) command -v node >/dev/null && continue ;; npm) command -v npm >/dev/null && continue ;; esac
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
	done < "$ROOT/dev/apt-packages.txt"
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing Debian packages: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	# lighttpd's postinst would start a system-wide server on port 80: keep services down.
	printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
	as_root chmod +x /usr/sbin/policy-rc.d
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
	as_root rm -f /usr/sbin/policy-rc.d
}

ensure_npm_packages() {
	local stamp="$ROOT/node_modules/.periscope-stamp"
	if ! { [ -f "$stamp" ] && [ "$stamp" -nt "$ROOT/package-lock.json" ] && [ "$stamp" -nt "$ROOT/package.json" ]; }; then
		say "installing npm packages"
		(cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
		touch "$stamp"
	fi
	# The web UI's vendored assets (xterm.js) come from node_modules into web/dist/.
	"$ROOT/web/build.sh"
}

# configure_and_make DIR [configure flags...]
configure_and_make() {
	local dir=$1; shift
	if [ ! -x "$ROOT/configure" ] || [ "$ROOT/configure.ac" -nt "$ROOT/configure" ]; then
		say "autogen"
		"$ROOT/autogen.sh" >/dev/null
	fi
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ] || [ "$dir/config.status" -ot "$ROOT/configure" ]; then
		say "configure $(basename "$dir")"
		(cd "$dir" && "$ROOT/configure" --enable-werror "$@" >configure.out 2>&1) || { cat "$dir/configure.out"; return 1; }
	fi
	say "make $(basename "$dir")"
	if ! make -C "$dir" -j"$(nproc)" --no-print-directory -s all >"$dir/make.out" 2>&1; then
		cat "$dir/make.out"
		return 1
	fi
}

ensure_built() {
	ensure_apt_packages
	ensure_npm_packages
	configure_and_make "$BUILD_DIR"
}
