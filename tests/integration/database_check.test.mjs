// database.url as an operator meets it before starting the service: `periscope.fcgi
// --check-config` connects to the database and reports its schema version against the
// newest this build knows, against a real PostgreSQL 15 started for this file
// (tests/lib/postgres.mjs) and a SQLite file. docs/configuration.md "database".
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { startPostgres } from '../lib/postgres.mjs';
import { BUILD_DIR } from '../lib/stack.mjs';

const run = promisify(execFile);
const FCGI = path.join(BUILD_DIR, 'fcgi/periscope.fcgi');
const DBTOOL = path.join(BUILD_DIR, 'dbtool/periscope-db');
const SQL_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../sql');
// The newest migration in the source tree: what this build embeds.
const LATEST = Math.max(...fs.readdirSync(SQL_DIR).filter((f) => /^\d{3}_.*\.sql$/.test(f)).map((f) => Number(f.slice(0, 3))));

const BASE_ENV = {
	PATH: process.env.PATH,
	PERISCOPE_OIDC_ISSUER: 'https://idp.example',
	PERISCOPE_OIDC_CLIENT_ID: 'periscope',
	PERISCOPE_OIDC_REDIRECT_URL: 'https://periscope.example/api/auth/callback',
};

// Runs periscope.fcgi with these settings; resolves to { code, stdout, stderr }.
async function fcgi(args, env) {
	try {
		const { stdout, stderr } = await run(FCGI, args, { env: { ...BASE_ENV, ...env }, timeout: 60000 });
		return { code: 0, stdout, stderr };
	} catch (e) {
		if (typeof e.code !== 'number') throw e;
		return { code: e.code, stdout: e.stdout, stderr: e.stderr };
	}
}

describe('--check-config and database.url', () => {
	let pg, tmp;
	before(async () => {
		pg = await startPostgres();
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-dbcheck-'));
	});
	after(async () => {
		await pg?.stop();
		if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
	});

	it('reports an empty PostgreSQL as reachable at schema version 0, migrated at start', async (t) => {
		if (!pg) return t.skip('PostgreSQL server binaries are not installed');
		const secret = path.join(tmp, 'pg-password');
		fs.writeFileSync(secret, 'pg-hunter2\n', { mode: 0o600 });
		const r = await fcgi(['--check-config'], { PERISCOPE_DATABASE_URL: pg.url, PERISCOPE_DATABASE_PASSWORD: `file:${secret}` });
		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stdout.split('\n')[1], `database postgres ${pg.url}: schema version 0 (this periscope: ${LATEST}, migrates at start)`);
		assert.ok(!r.stdout.includes('pg-hunter2') && !r.stderr.includes('pg-hunter2'), 'the password is never printed');
	});

	it('fails on a PostgreSQL written by a newer periscope', async (t) => {
		if (!pg) return t.skip('PostgreSQL server binaries are not installed');
		await run('psql', [pg.url, '-X', '-v', 'ON_ERROR_STOP=1', '-c', 'CREATE DATABASE newer']);
		const url = pg.url.replace('dbname=postgres', 'dbname=newer');
		await run('psql', [url, '-X', '-v', 'ON_ERROR_STOP=1', '-c',
			`CREATE TABLE schema_version (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL);
			 INSERT INTO schema_version VALUES (${LATEST + 1}, 'from-the-future.sql', 0)`]);
		const r = await fcgi(['--check-config'], { PERISCOPE_DATABASE_URL: url });
		assert.equal(r.code, 1);
		assert.equal(r.stdout.split('\n')[1], `database postgres ${url}: schema version ${LATEST + 1}, newer than this periscope knows (${LATEST}): upgrade periscope or restore a backup`);
	});

	it('fails, saying why, on a database it cannot reach', async (t) => {
		if (!pg) return t.skip('PostgreSQL server binaries are not installed');
		const url = pg.url.replace('dbname=postgres', 'dbname=nosuchdb');
		const r = await fcgi(['--check-config'], { PERISCOPE_DATABASE_URL: url });
		assert.equal(r.code, 1);
		assert.match(r.stdout.split('\n')[1], /^database postgres host=\S+ port=5432 user=periscope dbname=nosuchdb: NOT REACHABLE: cannot connect to PostgreSQL: .*database "nosuchdb" does not exist$/);
	});

	it('reports a SQLite file not created yet, and creates nothing', async () => {
		const file = path.join(tmp, 'not-yet.db');
		const r = await fcgi(['--check-config'], { PERISCOPE_DATABASE_URL: `sqlite:${file}` });
		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stdout.split('\n')[1], `database sqlite ${file}: not created yet (created at first start with schema version ${LATEST})`);
		assert.equal(fs.existsSync(file), false);
	});

	it('reports an existing SQLite file\'s version, and fails on a newer one', async () => {
		const file = path.join(tmp, 'old.db');
		await run('sqlite3', [file, 'PRAGMA user_version = 5']);
		let r = await fcgi(['--check-config'], { PERISCOPE_DATABASE_URL: `sqlite:${file}` });
		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stdout.split('\n')[1], `database sqlite ${file}: schema version 5 (this periscope: ${LATEST}, migrates at start)`);
		await run('sqlite3', [file, `PRAGMA user_version = ${LATEST + 1}`]);
		r = await fcgi(['--check-config'], { PERISCOPE_AUDIT_DB_PATH: file });
		assert.equal(r.code, 1);
		assert.equal(r.stdout.split('\n')[1], `database sqlite ${file}: schema version ${LATEST + 1}, newer than this periscope knows (${LATEST}): upgrade periscope or restore a backup`);
	});

	it('periscope-db says libpq\'s reason for a database it cannot reach, never the password', async () => {
		const secret = path.join(tmp, 'pg-password-db');
		fs.writeFileSync(secret, 'pg-hunter3\n', { mode: 0o600 });
		const file = path.join(tmp, 'source.db');
		fs.writeFileSync(file, '');
		let r;
		try {
			const out = await run(DBTOOL, ['copy-from-sqlite', file], { env: { ...BASE_ENV, PERISCOPE_DATABASE_URL: 'host=/nonexistent dbname=periscope', PERISCOPE_DATABASE_PASSWORD: `file:${secret}` }, timeout: 60000 });
			r = { code: 0, ...out };
		} catch (e) {
			if (typeof e.code !== 'number') throw e;
			r = { code: e.code, stdout: e.stdout, stderr: e.stderr };
		}
		assert.equal(r.code, 3, r.stderr);
		assert.match(r.stderr, /^periscope-db: cannot connect to PostgreSQL: .*\/nonexistent/m);
		assert.ok(!r.stdout.includes('pg-hunter3') && !r.stderr.includes('pg-hunter3'), 'the password is never printed');
	});

	it('does not start serving without its PostgreSQL, and says why', async () => {
		const r = await fcgi(['--socket', path.join(tmp, 'fcgi.sock')], { PERISCOPE_DATABASE_URL: 'host=/nonexistent dbname=periscope' });
		assert.equal(r.code, 1);
		assert.match(r.stderr, /^periscope\.fcgi: cannot connect to PostgreSQL: .*\/nonexistent/m);
		assert.equal(fs.existsSync(path.join(tmp, 'fcgi.sock')), false, 'no socket: nothing is served');
	});
});
