// One SQL statement on a test stack's database, whichever engine it runs on (stack.db):
// sqlite3 on the file in the run directory, or psql on the stack's throwaway PostgreSQL
// (stack.pg.url, trust authentication on its unix socket). Read as an operator would; the
// answer's columns are separated by one space, rows by newlines, as `sqlite3 -separator ' '`
// prints them.
import path from 'node:path';

import { execBounded } from './sync-child.mjs';

// Each call is synchronous (sync-child.mjs bounds it): a client stuck on a lock fails naming itself.

export function stackSql(stack, sql) {
	if (stack.db === 'postgres') {
		return execBounded('psql', ['-X', '-q', '-A', '-t', '-F', ' ', '-v', 'ON_ERROR_STOP=1', '-d', stack.pg.url, '-c', sql],
			{ encoding: 'utf8' }).trim();
	}
	return execBounded('sqlite3', ['-separator', ' ', path.join(stack.runDir, 'periscope.db'), sql], { encoding: 'utf8' }).trim();
}

// The rows of one SELECT as objects, whichever engine: `sqlite3 -json` on SQLite, json_agg
// on PostgreSQL. Integers come back as numbers on both; a JSON value (jsonValue below) as
// itself.
export function stackRows(stack, query) {
	if (stack.db === 'postgres') {
		const out = execBounded('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', stack.pg.url,
			'-c', `SELECT coalesce(json_agg(q), '[]'::json) FROM (${query}) AS q`], { encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
		return JSON.parse(out);
	}
	const out = execBounded('sqlite3', ['-json', path.join(stack.runDir, 'periscope.db'), query],
		{ encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
	return out ? JSON.parse(out) : [];
}

// SQL for the member `key` of a JSON text column, in the stack's engine's words: json_extract
// on SQLite; on PostgreSQL the JSON value itself (selected: a number stays a number, true
// stays true), or as a bigint for comparing with a number (asInteger).
export function jsonValue(stack, column, key, { asInteger = false } = {}) {
	if (stack.db === 'postgres') {
		return asInteger ? `((${column})::json->>'${key}')::bigint` : `((${column})::json->'${key}')`;
	}
	return `json_extract(${column}, '$.${key}')`;
}

// Runs SQL text (several statements) on the stack's database, whichever engine: sqlite3 or
// psql reading it on standard input, stopping at the first error.
export function stackExec(stack, sqlText) {
	if (stack.db === 'postgres') {
		execBounded('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', stack.pg.url],
			{ input: sqlText, encoding: 'utf8', maxBuffer: 64 << 20 });
		return;
	}
	execBounded('sqlite3', ['-bail', path.join(stack.runDir, 'periscope.db')],
		{ input: sqlText, encoding: 'utf8', maxBuffer: 64 << 20 });
}
