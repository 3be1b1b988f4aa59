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

# kubectl 1.32, the real client the apiserver fake is checked against and the shell pods
# run. It ships with the Google Cloud SDK (Debian package `kubectl` from Google's apt
# repository, which puts kubectl.1.NN beside its dispatcher); Debian's own
# kubernetes-client is 1.20, too old to stand in. Found wherever the SDK put it and
# exported as PERISCOPE_KUBECTL; installed with apt when a configured source offers the
# package; otherwise a failure under CI=true (the suites would skip) and a warning by hand.
KUBECTL_VERSIONED=kubectl.1.32
find_kubectl() {
	local dir tool
	if [ -n "${PERISCOPE_KUBECTL:-}" ] && [ -x "$PERISCOPE_KUBECTL" ]; then echo "$PERISCOPE_KUBECTL"; return 0; fi
	command -v "$KUBECTL_VERSIONED" && return 0
	for tool in kubectl gcloud; do
		command -v "$tool" >/dev/null || continue
		dir=$(dirname "$(readlink -f "$(command -v "$tool")")")
		[ -x "$dir/$KUBECTL_VERSIONED" ] && { echo "$dir/$KUBECTL_VERSIONED"; return 0; }
	done
	for dir in /usr/lib/google-cloud-sdk/bin /usr/share/google-cloud-sdk/bin /opt/google-cloud-sdk/bin /snap/google-cloud-cli/current/bin; do
		[ -x "$dir/$KUBECTL_VERSIONED" ] && { echo "$dir/$KUBECTL_VERSIONED"; return 0; }
	done
	return 1
}

ensure_kubectl() {
	local found
	if ! found=$(find_kubectl); then
		if apt-cache policy kubectl 2>/dev/null | grep -q 'Candidate: [^(]'; then
			say "installing kubectl (the Cloud SDK's, with $KUBECTL_VERSIONED)"
			as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends kubectl </dev/null
		fi
		found=$(find_kubectl) || found=
	fi
	if [ -z "$found" ]; then
		echo "$KUBECTL_VERSIONED not found (not on PATH, not beside kubectl or gcloud, not in a Google Cloud SDK bin directory), and no apt source offers the kubectl package; the apiserver fake's kubectl suites need it" >&2
		[ "${CI:-}" = true ] && return 1
		return 0
	fi
	export PERISCOPE_KUBECTL=$found
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
