// Every terminal's open row gets exactly one close row, whatever happens to its
// periscope-wsbridge (docs/audit-api.md, "Every open has a close"): a bridge killed by
// SIGKILL is found by the maintenance sweep of periscope.fcgi, which writes the close row
// itself (reason "lost") with the bytes of the last heartbeat, within 60 s of the death.
import assert from 'node:assert/strict';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { NODES, startStack, waitFor, wsbridgeProcesses } from '../lib/stack.mjs';
import { signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { chooseServer } from '../lib/webserver.mjs';
import { stackSql } from '../lib/stack_sql.mjs';

const LOST_WITHIN_MS = 60000;
const CLUSTER = '/api/clusters/local/shell';
const NODE = `/api/clusters/local/nodes/${NODES[0].name}/shell`;

// The live-session registry, read as an operator would, on either engine (tests/lib/stack_sql.mjs).
function registry(stack, sql) {
	return stackSql(stack, sql);
}

function bridgePid(stack, sessionId) {
	return Number(registry(stack, `SELECT pid FROM shell_sessions WHERE id = '${sessionId}'`));
}

// Every close row of one session (not only the newest: there must be exactly one).
async function closeRows(admin, sessionId) {
	const r = await admin.get(`/api/audit?session_id=${sessionId}&limit=10`);
	return r.json.items.filter((x) => x.verb.endsWith('_close'));
}

async function open(stack, admin, p) {
	const t = await Terminal.open(stack, p, { cookie: `periscope_session=${admin.cookie()}` });
	t.resize(100, 30);
	return t;
}

describe(`close rows on every path through ${chooseServer()}`, () => {
	let stack;
	let admin;
	before(async () => {
		stack = await startStack();
		admin = await signIn(stack, 'admin');
	});
	after(async () => stack && (await stack.stop()));

	for (const [kind, p, verb] of [['cluster shell', CLUSTER, 'cluster_shell_close'], ['node shell', NODE, 'ssm_session_close']]) {
		it(`writes one "lost" close row for a SIGKILLed ${kind}, with the bytes of its last heartbeat`, async () => {
			const t = await open(stack, admin, p);
			const hello = await t.waitFrame('hello', 30000);
			await t.waitOutput(/[$#] $/m, 20000);
			t.type('echo heartbeat-$((6*7))\n');
			await t.waitOutput(/heartbeat-42/, 10000);
			// The bridge records its bytes every 10 s: wait for a heartbeat that has them.
			let beat;
			await waitFor('a heartbeat with the bytes of the echo in the registry', () => {
				beat = registry(stack, `SELECT bytes_in, bytes_out, heartbeat_at_ms - started_at_ms FROM shell_sessions WHERE id = '${hello.sessionId}'`)
					.split(' ').map(Number);
				return beat[0] > 0 && beat[1] > 0;
			}, { timeoutMs: 25000, intervalMs: 500 });
			const pid = bridgePid(stack, hello.sessionId);
			assert.ok(pid > 0, 'the session is registered with its process');
			process.kill(pid, 'SIGKILL');
			const killedAt = Date.now();
			let rows;
			await waitFor(`the "lost" close row of ${hello.sessionId} (at most ${LOST_WITHIN_MS / 1000} s after the SIGKILL)`, async () => {
				rows = await closeRows(admin, hello.sessionId);
				return rows.length > 0;
			}, { timeoutMs: LOST_WITHIN_MS, intervalMs: 500 });
			const took = Date.now() - killedAt;
			assert.equal(rows.length, 1, 'one close row');
			const [row] = rows;
			assert.deepEqual([row.verb, row.outcome, row.reason, row.cluster], [verb, 'failure', 'lost', 'local']);
			assert.equal(row.actor.sub, 'user-admin');
			assert.equal(row.extra.close_reason, 'lost');
			assert.ok(row.extra.bytes_in >= beat[0] && row.extra.bytes_out >= beat[1], `bytes of the last heartbeat: ${JSON.stringify(row.extra)}`);
			assert.ok(row.extra.duration_ms >= beat[2], 'duration up to the last heartbeat');
			assert.equal(registry(stack, `SELECT count(*) FROM shell_sessions WHERE id = '${hello.sessionId}'`), '0', 'its cap slot is free');
			console.log(`# ${kind}: lost close row ${took} ms after the SIGKILL`);
			t.terminate();
		});
	}

	it('writes the bridge\'s own close row once, and no "lost" one, when a terminal ends normally', async () => {
		const t = await open(stack, admin, CLUSTER);
		const hello = await t.waitFrame('hello', 30000);
		t.send({ type: 'close' });
		const end = await t.end(20000);
		assert.deepEqual([end.type, end.reason], ['closed', 'client_closed']);
		let rows;
		await waitFor('the close row', async () => (rows = await closeRows(admin, hello.sessionId)).length > 0, { timeoutMs: 20000 });
		// The row went with the close row, so no sweep can find it and write another.
		assert.deepEqual(rows.map((r) => r.reason), ['client_closed']);
		assert.equal(registry(stack, `SELECT count(*) FROM shell_sessions WHERE id = '${hello.sessionId}'`), '0');
	});

	it('closes a SIGTERMed node shell once, as terminated: its bridge ends the SSM session and releases its guardian', async () => {
		const t = await open(stack, admin, NODE);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(/\$ $/m, 20000);
		// The bridge and the guardian it forked after StartSession.
		await waitFor('the bridge and its guardian', () => wsbridgeProcesses(stack).length === 2, { timeoutMs: 10000 });
		const terminateCalls = () => stack.aws.snapshot().requests.filter((q) => q.action === 'TerminateSession').length;
		const callsBefore = terminateCalls();
		process.kill(bridgePid(stack, hello.sessionId), 'SIGTERM');
		const end = await t.end(20000);
		assert.deepEqual([end.type, end.reason], ['closed', 'terminated']);
		let rows;
		await waitFor('the close row', async () => (rows = await closeRows(admin, hello.sessionId)).length > 0, { timeoutMs: 20000 });
		assert.deepEqual(rows.map((r) => [r.reason, r.outcome]), [['terminated', 'success']]);
		const ssm = rows[0].extra.ssm_session_id;
		assert.equal(stack.aws.snapshot().sessions.find((x) => x.sessionId === ssm)?.status, 'Terminated');
		await waitFor('no bridge or guardian left', () => wsbridgeProcesses(stack).length === 0, { timeoutMs: 10000 });
		// One TerminateSession: the bridge's; the released guardian made none.
		assert.equal(terminateCalls() - callsBefore, 1);
	});
});
