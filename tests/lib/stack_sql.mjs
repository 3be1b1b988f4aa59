// One SQL statement on a test stack's database, whichever engine it runs on (stack.db):
// sqlite3 on the file in the run directory, or psql on the stack's throwaway PostgreSQL
// (stack.pg.url, trust authentication on its unix socket). Read as an operator would; the
// answer's columns are separated by one space, rows by newlines, as `sqlite3 -separator ' '`
// prints them.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

// Each call is synchronous, so it blocks the event loop and every test deadline with it; its
// own bound turns a client stuck on a lock into an error that names it.
const BOUND = { timeout: 60000 };

export function stackSql(stack, sql) {
	if (stack.db === 'postgres') {
		return execFileSync('psql', ['-X', '-q', '-A', '-t', '-F', ' ', '-v', 'ON_ERROR_STOP=1', '-d', stack.pg.url, '-c', sql],
			{ ...BOUND, encoding: 'utf8' }).trim();
	}
	return execFileSync('sqlite3', ['-separator', ' ', path.join(stack.runDir, 'periscope.db'), sql], { ...BOUND, encoding: 'utf8' }).trim();
}

// The rows of one SELECT as objects, whichever engine: `sqlite3 -json` on SQLite, json_agg
// on PostgreSQL. Integers come back as numbers on both; a JSON value (jsonValue below) as
// itself.
export function stackRows(stack, query) {
	if (stack.db === 'postgres') {
		const out = execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', stack.pg.url,
			'-c', `SELECT coalesce(json_agg(q), '[]'::json) FROM (${query}) AS q`], { ...BOUND, encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
		return JSON.parse(out);
	}
	const out = execFileSync('sqlite3', ['-json', path.join(stack.runDir, 'periscope.db'), query],
		{ ...BOUND, encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
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
		execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', stack.pg.url],
			{ ...BOUND, input: sqlText, encoding: 'utf8', maxBuffer: 64 << 20 });
		return;
	}
	execFileSync('sqlite3', ['-bail', path.join(stack.runDir, 'periscope.db')],
		{ ...BOUND, input: sqlText, encoding: 'utf8', maxBuffer: 64 << 20 });
}
