// periscope-db copy-from-sqlite (docs/deployment.md "From SQLite to PostgreSQL"): a SQLite
// database populated by a real stack (sign-ins, a cluster shell, API calls) is copied into
// a throwaway PostgreSQL 15; every table arrives with the same rows and ids, the audit hash
// chain verifies there, identity sequences continue after the copied ids, a database in
// use is not overwritten, and a tampered source is reported, not hidden.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { startPostgres } from '../lib/postgres.mjs';
import { signIn } from '../lib/session.mjs';
import { execBounded, spawnBounded } from '../lib/sync-child.mjs';
import { BUILD_DIR, startStack, waitFor, wsbridgeProcesses } from '../lib/stack.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { toYaml } from '../lib/yaml.mjs';

function sqlite(file, query) {
	const out = execBounded('sqlite3', ['-json', file, query], { encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
	return out ? JSON.parse(out) : [];
}

// One query's rows from PostgreSQL, as JSON (psql's unaligned output of json_agg).
function psql(url, query) {
	const out = execBounded('psql', ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c',
		`SELECT coalesce(json_agg(q), '[]') FROM (${query}) q`], { encoding: 'utf8', maxBuffer: 64 << 20 });
	return JSON.parse(out);
}

function copy(configPath, source) {
	const r = spawnBounded(path.join(BUILD_DIR, 'dbtool/periscope-db'), ['--config', configPath, 'copy-from-sqlite', source], {
		encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: 120000,
	});
	return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('periscope-db copy-from-sqlite', () => {
	let pg;
	let runDir;
	let source;
	let configPath;
	const tables = [];
	before(async () => {
		pg = await startPostgres();
		if (!pg) return;
		// A SQLite installation with some history.
		const stack = await startStack({ keepRunDir: true });
		runDir = stack.runDir;
		try {
			const admin = await signIn(stack, 'admin');
			await signIn(stack, 'viewer');
			assert.equal((await admin.get('/api/clusters')).status, 200);
			const t = await Terminal.open(stack, '/api/clusters/local/shell', { cookie: `periscope_session=${admin.cookie()}` });
			t.resize(100, 30);
			await t.waitOutput(/[$#] $/m, 30000);
			t.type('echo copied-$((6 * 7))\r');
			await t.waitOutput(/copied-42/, 15000);
			t.send({ type: 'close' });
			await t.end();
			await waitFor('the bridge to exit', () => wsbridgeProcesses(stack).length === 0, { timeoutMs: 30000 });
		} finally {
			await stack.stop();
		}
		source = path.join(runDir, 'periscope.db');
		configPath = path.join(runDir, 'periscope-postgres.yaml');
		fs.writeFileSync(configPath, toYaml({ ...stack.config, database: { url: pg.url } }));
		for (const { name } of sqlite(source, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")) {
			tables.push({ name, rows: sqlite(source, `SELECT count(*) AS n FROM "${name}"`)[0].n });
		}
	});
	after(async () => {
		if (pg) await pg.stop();
		if (runDir) fs.rmSync(runDir, { recursive: true, force: true });
	});

	it('copies every table with its rows and ids, and the audit chain verifies in PostgreSQL', (t) => {
		if (!pg) return t.skip('PostgreSQL is not installed');
		const r = copy(configPath, source);
		assert.equal(r.status, 0, r.stderr);
		const audit = tables.find((x) => x.name === 'audit_events');
		assert.ok(audit.rows >= 4, `the stack wrote audit rows (${audit.rows})`);
		assert.ok(tables.find((x) => x.name === 'login_sessions').rows >= 2);
		for (const { name, rows } of tables) {
			assert.match(r.stdout, new RegExp(`^copied ${name}: ${rows} rows$`, 'm'));
			assert.equal(psql(pg.url, `SELECT count(*) AS n FROM "${name}"`)[0].n, rows, `rows of ${name} in PostgreSQL`);
		}
		assert.match(r.stdout, new RegExp(`^audit chain intact: ${audit.rows} chained rows`, 'm'));
		// The same ids, hashes and content.
		const lite = sqlite(source, 'SELECT id, verb, outcome, actor_sub, session_id, prev_hash FROM audit_events ORDER BY id');
		const copied = psql(pg.url, 'SELECT id, verb, outcome, actor_sub, session_id, prev_hash FROM audit_events ORDER BY id');
		assert.deepEqual(copied, lite);
		assert.ok(lite.some((row) => row.verb === 'cluster_shell_close'), 'the shell\'s close row is among them');
		assert.deepEqual(psql(pg.url, 'SELECT id_hash, subject FROM login_sessions ORDER BY id_hash'),
			sqlite(source, 'SELECT id_hash, subject FROM login_sessions ORDER BY id_hash'));
		assert.deepEqual(psql(pg.url, 'SELECT head_id, head_hash FROM audit_chain'), sqlite(source, 'SELECT head_id, head_hash FROM audit_chain'));
		// New rows continue after the copied ids.
		const [{ next }] = psql(pg.url, "SELECT nextval(pg_get_serial_sequence('audit_events', 'id')) AS next");
		assert.equal(next, Math.max(...lite.map((row) => row.id)) + 1);
	});

	it('a PostgreSQL stack then serves the copied history: the audit log lists it and its chain verifies with new rows', async (t) => {
		if (!pg) return t.skip('PostgreSQL is not installed');
		const lite = sqlite(source, 'SELECT id, verb, session_id FROM audit_events ORDER BY id');
		const stack = await startStack({ pg });
		try {
			assert.equal(stack.db, 'postgres');
			const admin = await signIn(stack, 'admin');
			const listed = await admin.get(`/api/audit?limit=500`);
			assert.equal(listed.status, 200, listed.text);
			const ids = new Set(listed.json.items.map((row) => row.id));
			for (const row of lite) assert.ok(ids.has(row.id), `copied row ${row.id} (${row.verb}) listed`);
			const close = lite.find((row) => row.verb === 'cluster_shell_close');
			const found = await admin.get(`/api/audit?verb=cluster_shell_close&session_id=${close.session_id}`);
			assert.deepEqual(found.json.items.map((row) => row.id), [close.id]);
			// The new sign-in chained after the copied head: the whole chain verifies.
			const v = await admin.get('/api/audit/verify');
			assert.equal(v.status, 200, v.text);
			assert.equal(v.json.intact, true, v.text);
			assert.ok(v.json.rows > lite.length, `rows ${v.json.rows} include the copied ${lite.length} and the new sign-in`);
		} finally {
			await stack.stop();
		}
	});

	it('refuses to copy into a database that already holds audit rows, and changes nothing', (t) => {
		if (!pg) return t.skip('PostgreSQL is not installed');
		const before = psql(pg.url, 'SELECT count(*) AS n FROM audit_events')[0].n;
		assert.ok(before > 0);
		const r = copy(configPath, source);
		assert.equal(r.status, 3, r.stdout);
		assert.match(r.stderr, /already holds audit_events rows: copy into a new, empty database/);
		assert.equal(psql(pg.url, 'SELECT count(*) AS n FROM audit_events')[0].n, before);
	});

	it('a source whose audit row was edited is copied but reported: the chain does not verify at that row', (t) => {
		if (!pg) return t.skip('PostgreSQL is not installed');
		const tampered = path.join(runDir, 'tampered.db');
		fs.copyFileSync(source, tampered);
		const [{ id }] = sqlite(tampered, "SELECT min(id) AS id FROM audit_events WHERE verb = 'login'");
		execBounded('sqlite3', [tampered, `UPDATE audit_events SET outcome = 'failure' WHERE id = ${id}`]);
		execBounded('psql', ['-X', '-q', '-d', pg.url, '-c', 'CREATE DATABASE tampered']);
		const otherConfig = path.join(runDir, 'periscope-tampered.yaml');
		const config = fs.readFileSync(configPath, 'utf8').replace(pg.url, `${pg.url} dbname=tampered`);
		assert.notEqual(config, fs.readFileSync(configPath, 'utf8'));
		fs.writeFileSync(otherConfig, config);
		const r = copy(otherConfig, tampered);
		assert.equal(r.status, 1, r.stdout + r.stderr);
		// The edited row itself is named (its hash no longer matches its successor's prev_hash).
		assert.match(r.stderr, new RegExp(`the audit chain does not verify at row ${id}:`));
	});

	it('refuses a configuration whose database is SQLite (nothing to copy into)', (t) => {
		if (!pg) return t.skip('PostgreSQL is not installed');
		const liteConfig = path.join(runDir, 'periscope-sqlite.yaml');
		const config = fs.readFileSync(configPath, 'utf8').split('\n').filter((l) => !l.includes(pg.url)).join('\n');
		fs.writeFileSync(liteConfig, config);
		const r = copy(liteConfig, source);
		assert.equal(r.status, 2, r.stdout);
		assert.match(r.stderr, /database.url must name the PostgreSQL database to copy into/);
	});
});
