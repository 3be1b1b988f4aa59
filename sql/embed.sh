#!/bin/sh
# Turns sql/NNN_*.sql into a C array of migrations, so the binary carries its own schema
# and knows the newest version it understands. Usage: embed.sh OUT.c SQLDIR
set -e
out=$1
set -- "$2"/[0-9][0-9][0-9]_*.sql
{
	echo '/* Generated from the files in sql/ by sql/embed.sh: do not edit. */'
	echo '#include "store/migrations.h"'
	echo 'const struct migration migrations[] = {'
	for f in "$@"; do
		base=$(basename "$f")
		version=$(echo "$base" | sed -n 's/^0*\([0-9][0-9]*\)_.*/\1/p')
		[ -n "$version" ] || { echo "bad migration name: $base" >&2; exit 1; }
		printf '\t{ %s, "%s",\n' "$version" "$base"
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t  "/' -e 's/$/\\n"/' "$f"
		printf '\t},\n'
	done
	echo '};'
	echo 'const size_t migrations_count = sizeof migrations / sizeof migrations[0];'
} > "$out.tmp"
mv "$out.tmp" "$out"
