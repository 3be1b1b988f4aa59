// Two replicas behind one web server (lighttpd or Apache, PERISCOPE_SERVER), sharing one
// database (PERISCOPE_DB: the SQLite file both open on this host, or PostgreSQL):
// docs/deployment.md "N replicas". Each replica is a periscope.fcgi and a websocketd of its
// own; the web server spreads the API and the terminals over both.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { fcgiRequest } from '../lib/fcgi-client.mjs';
import { signIn } from '../lib/session.mjs';
import { startStack, waitFor, wsbridgeProcesses } from '../lib/stack.mjs';
import { Terminal } from '../lib/terminal.mjs';

const SHELL = '/api/clusters/local/shell';
const PROMPT = /[$#] $/m;

// A GET as the web server hands it to one replica's periscope.fcgi (a FastCGI responder).
function getFrom(replica, stack, uri, cookie) {
	return fcgiRequest(replica.fcgiAddr, {
		GATEWAY_INTERFACE: 'CGI/1.1', SERVER_PROTOCOL: 'HTTP/1.1', SERVER_NAME: '127.0.0.1',
		SERVER_PORT: String(stack.port), REMOTE_ADDR: '127.0.0.1', REQUEST_METHOD: 'GET',
		REQUEST_URI: uri, SCRIPT_NAME: uri.startsWith('/api') ? '/api' : uri,
		HTTP_HOST: `127.0.0.1:${stack.port}`, HTTP_ACCEPT: 'application/json',
		...(cookie ? { HTTP_COOKIE: cookie } : {}),
	}, { role: 'RESPONDER' });
}

async function openShell(stack, browser) {
	const t = await Terminal.open(stack, SHELL, { cookie: `periscope_session=${browser.cookie()}` });
	t.resize(100, 30);
	await t.waitFrame('hello', 30000);
	await t.waitOutput(PROMPT, 30000);
	return t;
}

// The shell answers what is typed into it.
async function echoes(t, word) {
	t.type(`echo ${word}-$((6 * 7))\r`);
	await t.waitOutput(new RegExp(`${word}-42`), 15000);
}

describe('two replicas sharing one database behind the web server', () => {
	let stack;
	let admin;
	before(async () => {
		stack = await startStack({ replicas: 2, config: { clusterShell: { maxSessionsPerUser: 5 } } });
		admin = await signIn(stack, 'admin');
	});
	after(async () => stack && (await stack.stop()));

	it('runs two periscope.fcgi and two websocketd, one set per replica', () => {
		assert.deepEqual(stack.replicas.map((r) => r.name), ['a', 'b']);
		for (const r of stack.replicas) {
			assert.equal(r.fcgi.child.exitCode, null, `periscope.fcgi of replica ${r.name} runs`);
			assert.equal(r.websocketd.child.exitCode, null, `websocketd of replica ${r.name} runs`);
		}
		assert.notEqual(stack.replicas[0].fcgiAddr, stack.replicas[1].fcgiAddr);
		assert.notEqual(stack.replicas[0].wsPort, stack.replicas[1].wsPort);
	});

	it('a sign-in through the web server is valid on each replica: both list the clusters', async () => {
		const cookie = `periscope_session=${admin.cookie()}`;
		for (const r of stack.replicas) {
			const res = await getFrom(r, stack, '/api/clusters', cookie);
			assert.equal(res.status, 200, `replica ${r.name}: ${res.body}`);
			assert.deepEqual(res.json.clusters.map((c) => c.name), ['local', 'prod-eu']);
			const anon = await getFrom(r, stack, '/api/clusters');
			assert.deepEqual([anon.status, anon.json?.code], [401, 'E_AUTH'], `replica ${r.name} without a cookie`);
		}
	});

	it('/healthz of each replica reports its database reachable', async () => {
		for (const r of stack.replicas) {
			const res = await getFrom(r, stack, '/healthz');
			assert.equal(res.status, 200, res.body);
			assert.deepEqual(res.json, { status: 'ok', database: 'reachable' });
		}
	});

	it('the web server spreads terminals over both replicas, and every shell works', async () => {
		const terminals = [];
		try {
			for (let i = 0; i < 4; i++) terminals.push(await openShell(stack, admin));
			for (const [i, t] of terminals.entries()) await echoes(t, `shell${i}`);
			const a = wsbridgeProcesses(stack, 'a').length;
			const b = wsbridgeProcesses(stack, 'b').length;
			assert.ok(a >= 1 && b >= 1, `bridges per replica: a ${a}, b ${b} (expected both to hold terminals)`);
			const ids = new Set(terminals.map((t) => t.frame('hello').sessionId));
			assert.equal(ids.size, 4);
			// Both replicas' sessions are in the one database: the API lists all four.
			const live = await admin.get('/api/sessions');
			assert.equal(live.status, 200, live.text);
			const listed = new Set(live.json.items.map((s) => s.id));
			for (const id of ids) assert.ok(listed.has(id), `session ${id} listed`);
		} finally {
			for (const t of terminals) t.close();
			await waitFor('the terminals\' bridges to exit', () => wsbridgeProcesses(stack).length === 0, { timeoutMs: 30000 });
		}
	});

	it('with replica b killed, the API and new terminals are served by replica a', async () => {
		const b = stack.replicas[1];
		for (const p of [b.websocketd, b.fcgi]) {
			p.child.kill('SIGKILL');
			await p.exited;
		}
		for (let i = 0; i < 6; i++) {
			const r = await admin.get('/api/clusters');
			assert.equal(r.status, 200, `request ${i}: ${r.text}`);
		}
		for (let i = 0; i < 2; i++) {
			const t = await openShell(stack, admin);
			try {
				await echoes(t, `after${i}`);
				assert.equal(wsbridgeProcesses(stack, 'b').length, 0);
			} finally {
				t.close();
			}
		}
	});
});
