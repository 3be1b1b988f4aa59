// One SQL statement on a test stack's database, whichever engine it runs on (stack.db):
// sqlite3 on the file in the run directory, or psql on the stack's throwaway PostgreSQL
// (stack.pg.url, trust authentication on its unix socket). Read as an operator would; the
// answer's columns are separated by one space, rows by newlines, as `sqlite3 -separator ' '`
// prints them.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export function stackSql(stack, sql) {
	if (stack.db === 'postgres') {
		return execFileSync('psql', ['-X', '-q', '-A', '-t', '-F', ' ', '-v', 'ON_ERROR_STOP=1', '-d', stack.pg.url, '-c', sql],
			{ encoding: 'utf8' }).trim();
	}
	return execFileSync('sqlite3', ['-separator', ' ', path.join(stack.runDir, 'periscope.db'), sql], { encoding: 'utf8' }).trim();
}
