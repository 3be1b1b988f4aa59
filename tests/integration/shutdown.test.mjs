// Clean shutdown under SIGTERM, as systemd (or an operator) stops the services: a running
// periscope-wsbridge finishes its teardown (pod and secret deleted, close row written with
// reason "terminated"), and periscope.fcgi exits 0.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { NODES, startStack, waitFor } from '../lib/stack.mjs';
import { auditRow, signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { chooseServer } from '../lib/webserver.mjs';

// The processes websocketd started (one periscope-wsbridge per session), from /proc.
function childrenOf(pid) {
	const kids = [];
	for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
		const text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
		if (text) kids.push(...text.split(/\s+/).map(Number));
	}
	return kids.filter((k) => {
		try {
			return fs.readFileSync(`/proc/${k}/cmdline`, 'utf8').includes('periscope-wsbridge');
		} catch {
			return false;
		}
	});
}

describe(`SIGTERM through ${chooseServer()}`, () => {
	let stack;
	let admin;
	before(async () => {
		stack = await startStack();
		admin = await signIn(stack, 'admin');
	});
	after(async () => stack && (await stack.stop()));

	it('lets a terminated wsbridge delete its pod and secret and write its close row', async () => {
		const t = await Terminal.open(stack, '/api/clusters/local/shell', { cookie: `periscope_session=${admin.cookie()}` });
		t.resize(100, 30);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(/[$#] $/m);
		const name = `periscope-shell-${hello.sessionId}`;
		assert.ok(stack.api.state.store.has('pods', 'periscope-system', name), 'the session pod exists');

		const websocketd = stack.process('websocketd').child.pid;
		const bridges = childrenOf(websocketd);
		assert.equal(bridges.length, 1, `one wsbridge under websocketd (pid ${websocketd})`);
		process.kill(bridges[0], 'SIGTERM');

		const end = await t.end(20000);
		assert.equal(end.type, 'closed');
		assert.equal(end.reason, 'terminated');
		await waitFor('wsbridge exited', () => !fs.existsSync(`/proc/${bridges[0]}`) ||
			fs.readFileSync(`/proc/${bridges[0]}/stat`, 'utf8').split(' ')[2] === 'Z', { timeoutMs: 10000 });
		assert.equal(stack.api.state.store.has('pods', 'periscope-system', name), false, 'pod deleted');
		assert.equal(stack.api.state.store.has('secrets', 'periscope-system', name), false, 'secret deleted');
		let close;
		await waitFor('the close row', async () => {
			const r = await admin.get(`/api/audit?session_id=${hello.sessionId}&verb=cluster_shell_close`);
			close = r.json.items[0];
			return close;
		}, { timeoutMs: 20000 });
		assert.equal(close.reason, 'terminated');
		assert.equal(close.cluster, 'local');
		assert.ok(close.extra.duration_ms > 0);
	});

	it('lets a terminated node-shell wsbridge end its SSM session and write its close row', async () => {
		const t = await Terminal.open(stack, `/api/clusters/local/nodes/${NODES[0].name}/shell`, { cookie: `periscope_session=${admin.cookie()}` });
		t.resize(100, 30);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(/\$ $/m);
		const websocketd = stack.process('websocketd').child.pid;
		const bridges = childrenOf(websocketd);
		assert.equal(bridges.length, 1, `one wsbridge under websocketd (pid ${websocketd})`);
		process.kill(bridges[0], 'SIGTERM');
		const end = await t.end(20000);
		assert.deepEqual([end.type, end.reason], ['closed', 'terminated']);
		const close = await auditRow(admin, `verb=ssm_session_close&session_id=${hello.sessionId}`);
		assert.deepEqual([close.outcome, close.reason], ['success', 'terminated']);
		await waitFor('TerminateSession at the fake', () => stack.aws.snapshot().terminated.some((x) => x.sessionId === close.extra.ssm_session_id));
	});

	it('stops periscope.fcgi with exit status 0 on SIGTERM', async () => {
		const fcgi = stack.process('periscope-fcgi');
		fcgi.child.kill('SIGTERM');
		const r = await Promise.race([fcgi.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 10000))]);
		assert.deepEqual(r, { code: 0, signal: null });
		assert.match(stack.log('periscope-fcgi'), /shutting down/);
	});
});
