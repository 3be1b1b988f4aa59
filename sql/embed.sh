#!/bin/sh
# Turns sql/NNN_*.sql into a C array of migrations, so the binary carries its own schema
# and knows the newest version it understands. Usage: embed.sh OUT.c SQLDIR [ARRAY]
# (ARRAY: the C name, "migrations" for sql/, "pg_migrations" for sql/pg/).
set -e
out=$1
dir=$2
array=${3:-migrations}
set -- "$dir"/[0-9][0-9][0-9]_*.sql
{
	echo "/* Generated from the migrations in $(basename "$dir")/ by sql/embed.sh: do not edit. */"
	echo '#include "store/migrations.h"'
	echo "const struct migration ${array}[] = {"
	for f in "$@"; do
		base=$(basename "$f")
		version=$(echo "$base" | sed -n 's/^0*\([0-9][0-9]*\)_.*/\1/p')
		[ -n "$version" ] || { echo "bad migration name: $base" >&2; exit 1; }
		printf '\t{ %s, "%s",\n' "$version" "$base"
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t  "/' -e 's/$/\\n"/' "$f"
		printf '\t},\n'
	done
	echo '};'
	echo "const size_t ${array}_count = sizeof ${array} / sizeof ${array}[0];"
} > "$out.tmp"
mv "$out.tmp" "$out"
