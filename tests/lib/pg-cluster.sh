#!/bin/sh
# A throwaway PostgreSQL for tests: Debian's server binaries, a cluster initdb'd into a fresh
# temporary directory, listening on a unix socket in that directory only (no TCP, no system
# service), stopped and removed by `stop`. Used by tests/lib/postgres.mjs and
# tests/unit/unit_pg.h, so both start it the same way.
#
#   pg-cluster.sh start        prints the directory, then the libpq connection string
#   pg-cluster.sh stop DIR     stops that cluster and removes DIR
#   pg-cluster.sh down DIR     stops its server (fast shutdown: connections are cut), keeps DIR
#   pg-cluster.sh up DIR       starts that server again, on the same socket
#   pg-cluster.sh restart DIR  down, then up (what a failover or a restart looks like to
#                              a client: its connection broken, the server back at once)
#
# PostgreSQL refuses to run as root, so as root the server runs as the system user
# periscope-test (created here on first use, no home, no shell); as anyone else it runs as
# the caller. Without the server binaries `start` exits 77 (skip), except under CI=true,
# where a missing PostgreSQL is a failure. PERISCOPE_PG_BINDIR overrides where they are.
set -eu

RUN_USER=periscope-test
DB_USER=periscope

bindir() {
	if [ -n "${PERISCOPE_PG_BINDIR:-}" ]; then
		echo "$PERISCOPE_PG_BINDIR"
		return
	fi
	# Debian installs the server per major version, off PATH; take the newest.
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return; }
	done
	command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
	return 0
}

# Runs a command as the server's user.
as_server() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$RUN_USER" -- "$@"
	else
		"$@"
	fi
}

# listen_addresses='' : unix socket only. fsync off: a test cluster is thrown away.
server_options() {
	echo "-c listen_addresses= -k $1 -c fsync=off -c full_page_writes=off -c max_connections=200"
}

start() {
	bin=$(bindir)
	if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
		echo "pg-cluster: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
		[ "${CI:-}" = true ] && exit 1
		exit 77
	fi
	if [ "$(id -u)" = 0 ] && ! id -u "$RUN_USER" >/dev/null 2>&1; then
		# Two test programs may get here at once: the loser of the race finds the user made.
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
			"$RUN_USER" 2>/dev/null || id -u "$RUN_USER" >/dev/null
	fi
	dir=$(mktemp -d "${TMPDIR:-/tmp}/periscope-pg-XXXXXX")
	# The socket's directory must be reachable by the client (the caller) and writable by
	# the server; the data directory beneath it the server makes 0700 itself.
	chmod 0755 "$dir"
	[ "$(id -u)" = 0 ] && chown "$RUN_USER" "$dir"
	cd "$dir"
	if ! as_server "$bin/initdb" -D "$dir/data" -U "$DB_USER" -A trust -E UTF8 \
		--locale=C --no-sync >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		rm -rf "$dir"
		exit 1
	fi
	if ! as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "$(server_options "$dir")" start >/dev/null 2>&1; then
		cat "$dir/server.log" >&2
		rm -rf "$dir"
		exit 1
	fi
	echo "$dir"
	echo "host=$dir port=5432 user=$DB_USER dbname=postgres"
}

stop() {
	dir=$1
	case "$dir" in
	*/periscope-pg-*) ;;
	*) echo "pg-cluster: not a test cluster: $dir" >&2; exit 2 ;;
	esac
	bin=$(bindir)
	if [ -f "$dir/data/postmaster.pid" ]; then
		(cd "$dir" && as_server "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1) || true
	fi
	rm -rf "$dir"
}

check_dir() {
	case "$1" in
	*/periscope-pg-*) [ -d "$1/data" ] && return 0 ;;
	esac
	echo "pg-cluster: not a test cluster: $1" >&2
	exit 2
}

down() {
	check_dir "$1"
	(cd "$1" && as_server "$(bindir)/pg_ctl" -D "$1/data" -m fast -w -t 60 stop >/dev/null)
}

up() {
	check_dir "$1"
	(cd "$1" && as_server "$(bindir)/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 60 \
		-o "$(server_options "$1")" start >/dev/null)
}

case "${1:-}" in
start) start ;;
stop) stop "${2:?usage: pg-cluster.sh stop DIR}" ;;
down) down "${2:?usage: pg-cluster.sh down DIR}" ;;
up) up "${2:?usage: pg-cluster.sh up DIR}" ;;
restart) down "${2:?usage: pg-cluster.sh restart DIR}" && up "$2" ;;
*) echo "usage: pg-cluster.sh start | stop DIR | down DIR | up DIR | restart DIR" >&2; exit 2 ;;
esac
