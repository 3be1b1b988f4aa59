// Tamper evidence through the real stack (lighttpd or Apache, PERISCOPE_SERVER): the audit
// rows form a hash chain as docs/audit-api.md defines it (recomputed here from that
// definition, not from the product), it survives a retention pass, and an edit of one
// row in the database makes periscope-audit verify and GET /api/audit/verify name that
// row. On either engine (PERISCOPE_DB): the canonical form is the same on both.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { auditCli } from '../lib/audit-cli.mjs';
import { anonymous, signIn } from '../lib/session.mjs';
import { startStack } from '../lib/stack.mjs';
import { stackExec, stackRows } from '../lib/stack_sql.mjs';
import { chooseServer } from '../lib/webserver.mjs';

const ZERO = '0'.repeat(64);
// docs/audit-api.md, "Tamper evidence": the canonical form's fields, in order.
const FIELDS = ['id', 'ts_unix_nano', 'request_id', 'route', 'actor_sub', 'actor_email', 'actor_groups', 'verb',
	'outcome', 'cluster', 'res_group', 'res_version', 'res_type', 'res_namespace', 'res_name', 'reason',
	'session_id', 'extra', 'prev_hash'];
const DAY_NS = 86400n * 1000000000n;

function netstring(value) {
	if (value === null || value === undefined) return Buffer.from('-,');
	const bytes = Buffer.from(String(value), 'utf8');
	return Buffer.concat([Buffer.from(`${bytes.length}:`), bytes, Buffer.from(',')]);
}

function canonicalHash(row) {
	const parts = [netstring('periscope-audit-chain-v1'), ...FIELDS.map((f) => netstring(row[f]))];
	return createHash('sha256').update(Buffer.concat(parts)).digest('hex');
}

// The stack's rows and statements, on either engine. 19-digit timestamps are selected as
// text (CHAIN_COLUMNS), so that they keep every digit.
const rows = stackRows;
const exec = stackExec;

const CHAIN_COLUMNS = FIELDS.map((f) => (f === 'ts_unix_nano' ? 'CAST(ts_unix_nano AS TEXT) AS ts_unix_nano' : f)).join(', ');

function sqlText(v) {
	return v === null ? 'NULL' : `'${String(v).replace(/'/g, "''")}'`;
}

// n rows of 40 days ago appended the way the docs say a writer must: each carries the
// head's hash, and the head moves to it, all in one transaction.
function appendOldRows(stack, n) {
	let [{ head_hash: prev, head_id: headId }] = rows(stack, 'SELECT head_id, head_hash FROM audit_chain');
	const start = BigInt(Date.now()) * 1000000n - 40n * DAY_NS;
	const lines = [stack.db === 'postgres' ? 'BEGIN;' : 'BEGIN IMMEDIATE;'];
	for (let i = 1; i <= n; i++) {
		const row = {
			id: headId + i, ts_unix_nano: String(start + BigInt(i)), request_id: `req-${i}`, route: null,
			actor_sub: i % 2 ? 'user-admin' : 'user-viewer', actor_email: null, actor_groups: null, verb: 'login',
			outcome: 'success', cluster: null, res_group: null, res_version: null, res_type: null, res_namespace: null,
			res_name: null, reason: null, session_id: null, extra: JSON.stringify({ provider: 'Local IdP', n: i }), prev_hash: prev,
		};
		lines.push(`INSERT INTO audit_events (${FIELDS.join(', ')}) VALUES (${FIELDS.map((f) => (f === 'id' || f === 'ts_unix_nano' ? row[f] : sqlText(row[f]))).join(', ')});`);
		prev = canonicalHash(row);
	}
	headId += n;
	lines.push(`UPDATE audit_chain SET head_id = ${headId}, head_hash = '${prev}';`);
	// PostgreSQL's identity does not see ids written explicitly: it goes on after them, as
	// SQLite's AUTOINCREMENT does by itself.
	if (stack.db === 'postgres') lines.push(`SELECT setval(pg_get_serial_sequence('audit_events', 'id'), ${headId});`);
	lines.push('COMMIT;');
	exec(stack, lines.join('\n'));
}

// The chain recomputed from the docs' definition: every row carries its predecessor's hash.
function recompute(stack) {
	const [chain] = rows(stack, 'SELECT anchor_id, anchor_hash, head_id, head_hash FROM audit_chain');
	const all = rows(stack, `SELECT ${CHAIN_COLUMNS} FROM audit_events WHERE id > ${chain.anchor_id} ORDER BY id`);
	let expected = chain.anchor_hash;
	for (const row of all) {
		assert.equal(row.prev_hash, expected, `row ${row.id} carries the hash of the row before it`);
		expected = canonicalHash(row);
	}
	assert.equal(chain.head_hash, expected, 'the head is the newest row\'s hash');
	return { chain, count: all.length };
}

describe(`the audit hash chain through ${chooseServer()}`, () => {
	let stack;
	let admin;
	let viewer;
	before(async () => {
		stack = await startStack();
	});
	after(async () => stack && (await stack.stop()));

	it('10,000 rows and the real writers chain; a retention pass keeps the chain verifiable', async () => {
		appendOldRows(stack, 10000);
		admin = await signIn(stack, 'admin');
		viewer = await signIn(stack, 'viewer');
		await signIn(stack, 'admin');
		const first = await auditCli(stack, ['verify']);
		assert.equal(first.status, 0, first.stderr);
		assert.equal(first.json.intact, true);
		assert.equal(first.json.rows, 10003);
		assert.equal(recompute(stack).count, 10003);

		const pass = await auditCli(stack, ['retention']);
		assert.equal(pass.status, 0, pass.stderr);
		assert.equal(pass.json.deletedByAge, 10000);
		const [{ n }] = rows(stack, 'SELECT count(*) AS n FROM audit_events');
		assert.equal(n, 3, 'the three sign-ins of today are kept');

		const after = await auditCli(stack, ['verify']);
		assert.equal(after.status, 0, after.stderr);
		assert.deepEqual([after.json.intact, after.json.rows, after.json.anchor.id], [true, 3, 10000]);
		assert.equal(recompute(stack).chain.anchor_id, 10000);
		const api = await admin.get('/api/audit/verify');
		assert.equal(api.status, 200, api.text);
		assert.deepEqual([api.json.intact, api.json.rows, api.json.firstId, api.json.lastId], [true, 3, 10001, 10003]);
	});

	it('an edit of one row in the database makes the command and the API name that row', async () => {
		await signIn(stack, 'viewer');
		const ids = rows(stack, 'SELECT id FROM audit_events ORDER BY id').map((r) => r.id);
		const victim = ids[1];
		const [{ actor_sub: original }] = rows(stack, `SELECT actor_sub FROM audit_events WHERE id = ${victim}`);
		exec(stack, `UPDATE audit_events SET actor_sub = 'someone-else' WHERE id = ${victim};`);

		const cli = await auditCli(stack, ['verify']);
		assert.equal(cli.status, 1, 'exit status 1: broken');
		assert.deepEqual([cli.json.intact, cli.json.brokenId], [false, victim], JSON.stringify(cli.json));
		assert.match(cli.stderr, new RegExp(`broken at row ${victim}:`));
		const api = await admin.get('/api/audit/verify');
		assert.equal(api.status, 200, api.text);
		assert.deepEqual([api.json.intact, api.json.brokenId], [false, victim], api.text);
		assert.match(api.json.problem, /altered/);

		// Only audit admins may ask; strangers are told to sign in.
		const v = await viewer.get('/api/audit/verify');
		assert.deepEqual([v.status, v.json?.code], [403, 'E_FORBIDDEN'], v.text);
		const a = await anonymous(stack, '/api/audit/verify');
		assert.deepEqual([a.status, a.json?.code], [401, 'E_AUTH'], a.text);

		exec(stack, `UPDATE audit_events SET actor_sub = '${original}' WHERE id = ${victim};`);
		const again = await auditCli(stack, ['verify']);
		assert.equal(again.status, 0, again.stderr);
		assert.equal(again.json.intact, true);
	});
});
