// Two replicas behind one web server (lighttpd or Apache, PERISCOPE_SERVER), sharing one
// database (PERISCOPE_DB: the SQLite file both open on this host, or PostgreSQL):
// docs/deployment.md "N replicas". Each replica is a periscope.fcgi and a websocketd of its
// own; the web server spreads the API and the terminals over both. What must hold across
// them: a sign-in valid on each, caps exact when opens race on both, a dead replica's
// sessions closed by the other, ends and recordings from either, and (PostgreSQL) a shell
// that outlives a database restart.
import assert from 'node:assert/strict';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { fetchWithin } from '../lib/deadline.mjs';
import { fcgiRequest } from '../lib/fcgi-client.mjs';
import { auditRow, signIn } from '../lib/session.mjs';
import { startStack, waitFor, wsbridgeProcesses } from '../lib/stack.mjs';
import { Terminal } from '../lib/terminal.mjs';

const SHELL = '/api/clusters/local/shell';
const PROMPT = /[$#] $/m;
const CAP = 5;
const POSTGRES = (process.env.PERISCOPE_DB || 'sqlite') === 'postgres';
// Another replica's lease (30 s without a heartbeat) plus a maintenance pass (15 s by
// default; the sessions stack passes every 2 s, database.sweepInterval): the promise is 60 s.
const REAPED_WITHIN_MS = 60000;

// A request as the web server hands it to one replica's periscope.fcgi (a FastCGI
// responder), with the browser's cookie and page origin.
function ask(replica, stack, uri, { cookie, method = 'GET' } = {}) {
	return fcgiRequest(replica.fcgiAddr, {
		GATEWAY_INTERFACE: 'CGI/1.1', SERVER_PROTOCOL: 'HTTP/1.1', SERVER_NAME: '127.0.0.1',
		SERVER_PORT: String(stack.port), REMOTE_ADDR: '127.0.0.1', REQUEST_METHOD: method,
		REQUEST_URI: uri, SCRIPT_NAME: uri.startsWith('/api') ? '/api' : uri,
		HTTP_HOST: `127.0.0.1:${stack.port}`, HTTP_ACCEPT: method === 'GET' && uri.endsWith('/recording') ? '*/*' : 'application/json',
		...(method === 'GET' ? {} : { HTTP_ORIGIN: stack.url }),
		...(cookie ? { HTTP_COOKIE: cookie } : {}),
	}, { role: 'RESPONDER' });
}

// A terminal through the web server (whichever replica it picks), or straight at one
// replica's websocketd (the bridge then checks cookie, origin and caps itself).
function connect(stack, browser, replica) {
	const target = replica ? { ...stack, wsUrl: `ws://127.0.0.1:${replica.wsPort}` } : stack;
	return Terminal.open(target, SHELL, { cookie: `periscope_session=${browser.cookie()}` });
}

async function openShell(stack, browser, replica) {
	const t = await connect(stack, browser, replica);
	t.resize(100, 30);
	const hello = await t.waitFrame('hello', 30000);
	await t.waitOutput(PROMPT, 30000);
	return { t, id: hello.sessionId };
}

// The shell answers what is typed into it (the answer is computed, so an echo of the
// typing alone does not match).
async function echoes(t, word) {
	t.type(`echo ${word}-$((6 * 7))\r`);
	await t.waitOutput(new RegExp(`${word}-42`), 15000);
}

function shellPods(stack) {
	return stack.api.state.store.list('pods', 'periscope-system').items.filter((o) => o.metadata.name.startsWith('periscope-shell-'));
}

async function closeAll(stack, terminals) {
	for (const t of terminals) t.close();
	await waitFor('the terminals\' bridges to exit', () => wsbridgeProcesses(stack).length === 0, { timeoutMs: 30000 });
}

describe(`two replicas sharing one ${POSTGRES ? 'PostgreSQL' : 'SQLite'} database behind the web server`, () => {
	let stack;
	let admin;
	before(async () => {
		stack = await startStack({ replicas: 2, config: { clusterShell: { maxSessionsPerUser: CAP, maxSessionsTotal: 40 }, database: { sweepInterval: '2s' } } });
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
			const res = await ask(r, stack, '/api/clusters', { cookie });
			assert.equal(res.status, 200, `replica ${r.name}: ${res.body}`);
			assert.deepEqual(res.json.clusters.map((c) => c.name), ['local', 'prod-eu']);
			const anon = await ask(r, stack, '/api/clusters');
			assert.deepEqual([anon.status, anon.json?.code], [401, 'E_AUTH'], `replica ${r.name} without a cookie`);
		}
	});

	it('/healthz of each replica reports its database reachable', async () => {
		for (const r of stack.replicas) {
			const res = await ask(r, stack, '/healthz');
			assert.equal(res.status, 200, res.body);
			assert.deepEqual(res.json, { status: 'ok', database: 'reachable' });
		}
	});

	it('the web server spreads terminals over both replicas, and every shell works', async () => {
		const shells = [];
		try {
			for (let i = 0; i < 4; i++) shells.push(await openShell(stack, admin));
			for (const [i, s] of shells.entries()) await echoes(s.t, `shell${i}`);
			const a = wsbridgeProcesses(stack, 'a').length;
			const b = wsbridgeProcesses(stack, 'b').length;
			assert.ok(a >= 1 && b >= 1, `bridges per replica: a ${a}, b ${b} (expected both to hold terminals)`);
			// Both replicas' sessions are in the one database: either replica lists all four.
			for (const r of stack.replicas) {
				const live = await ask(r, stack, '/api/sessions', { cookie: `periscope_session=${admin.cookie()}` });
				assert.equal(live.status, 200, live.body);
				const listed = new Set(live.json.items.map((x) => x.id));
				for (const s of shells) assert.ok(listed.has(s.id), `session ${s.id} listed by replica ${r.name}`);
			}
		} finally {
			await closeAll(stack, shells.map((s) => s.t));
		}
	});

	it(`20 concurrent opens, 10 at each replica, against a per-user cap of ${CAP} admit exactly ${CAP}`, async () => {
		const attempts = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
			const t = await connect(stack, admin, stack.replicas[i % 2]);
			const first = await t.until('hello or error', () => t.frames.find((f) => f.type === 'hello' || f.type === 'error'), 60000);
			return { t, first, replica: stack.replicas[i % 2].name };
		}));
		try {
			const admitted = attempts.filter((a) => a.first.type === 'hello');
			const refused = attempts.filter((a) => a.first.type === 'error');
			assert.equal(admitted.length, CAP, `admitted: ${admitted.map((a) => a.replica).join(',')}`);
			assert.equal(refused.length, 20 - CAP);
			for (const r of refused) assert.equal(r.first.code, 'E_CAP_USER', JSON.stringify(r.first));
			const live = await admin.get('/api/sessions');
			assert.equal(live.json.items.length, CAP);
		} finally {
			await closeAll(stack, attempts.map((a) => a.t));
		}
	});

	it('a session served by replica a is ended through replica b\'s API, and its recording is fetched from b', async () => {
		const [a, b] = stack.replicas;
		const cookie = `periscope_session=${admin.cookie()}`;
		const s = await openShell(stack, admin, a);
		assert.deepEqual(wsbridgeProcesses(stack, 'b'), []);
		s.t.type('echo ENDED-""ELSEWHERE\r');
		await s.t.waitOutput(/^ENDED-ELSEWHERE\r?$/m, 15000);
		const del = await ask(b, stack, `/api/sessions/${s.id}`, { cookie, method: 'DELETE' });
		assert.equal(del.status, 202, del.body);
		const closed = await s.t.end(10000);
		assert.equal(closed.reason, 'terminated');
		const close = await auditRow(admin, `verb=cluster_shell_close&session_id=${s.id}`);
		assert.equal(close.reason, 'terminated');
		const rec = await ask(b, stack, `/api/sessions/${s.id}/recording`, { cookie });
		assert.equal(rec.status, 200, rec.body);
		const [header, ...events] = rec.body.trimEnd().split('\n').map((l) => JSON.parse(l));
		assert.equal(header.version, 2);
		assert.match(events.filter((e) => e[1] === 'o').map((e) => e[2]).join(''), /^ENDED-ELSEWHERE\r?$/m);
		await waitFor('the bridge to exit', () => wsbridgeProcesses(stack).length === 0, { timeoutMs: 30000 });
	});

	if (POSTGRES) {
		it('a shell stays open through a PostgreSQL restart, and the next API call succeeds', async () => {
			const s = await openShell(stack, admin);
			try {
				await echoes(s.t, 'before');
				await stack.pg.restart();
				await echoes(s.t, 'during');
				const r = await admin.get('/api/clusters');
				assert.equal(r.status, 200, r.text);
				// Its heartbeats reach the database again: the live list still shows it.
				const live = await admin.get('/api/sessions');
				assert.equal(live.status, 200, live.text);
				assert.ok(live.json.items.some((x) => x.id === s.id));
				await echoes(s.t, 'after');
				assert.equal(s.t.frames.find((f) => f.type === 'closed' || f.type === 'error'), undefined);
			} finally {
				await closeAll(stack, [s.t]);
			}
		});
	}

	it('replica a killed with SIGKILL while it holds sessions: b closes them as lost within 60 s, and new sessions open through b', async () => {
		const [a] = stack.replicas;
		const held = [];
		for (let i = 0; i < 2; i++) held.push(await openShell(stack, admin, a));
		assert.equal(shellPods(stack).length, 2);
		// Every process of replica a: periscope.fcgi, websocketd and the bridges.
		const bridges = wsbridgeProcesses(stack, 'a');
		assert.equal(bridges.length, 2);
		for (const pid of bridges) process.kill(pid, 'SIGKILL');
		for (const p of [a.websocketd, a.fcgi]) {
			p.child.kill('SIGKILL');
			await p.exited;
		}
		const killedAt = Date.now();
		for (const s of held) {
			const close = await auditRow(admin, `verb=cluster_shell_close&session_id=${s.id}`, { timeoutMs: REAPED_WITHIN_MS });
			assert.equal(close.reason, 'lost', JSON.stringify(close));
		}
		await waitFor('the dead replica\'s pods to be deleted', () => shellPods(stack).length === 0, { timeoutMs: REAPED_WITHIN_MS - (Date.now() - killedAt) });
		// The API and new terminals go to b (the web server skips the dead backend).
		for (let i = 0; i < 4; i++) assert.equal((await admin.get('/api/clusters')).status, 200);
		const fresh = [];
		try {
			for (let i = 0; i < 2; i++) fresh.push(await openShell(stack, admin));
			for (const [i, s] of fresh.entries()) await echoes(s.t, `survivor${i}`);
			assert.equal(wsbridgeProcesses(stack, 'b').length, 2);
		} finally {
			await closeAll(stack, fresh.map((s) => s.t));
		}
	});
});

// Refresh stays serialized across replicas (issue 15): the IdP's access tokens live 5 s and
// each replica refreshes 2 s before expiry, so 3 s after sign-in every request finds them
// near expiry; eight at once, four straight at each replica's periscope.fcgi, make one
// refresh grant at the IdP, and every request is answered as the signed-in user.
describe(`two replicas on one ${POSTGRES ? 'PostgreSQL' : 'SQLite'} database refresh a sign-in's tokens once`, () => {
	let stack;
	before(async () => {
		stack = await startStack({ replicas: 2, idp: { accessTokenTtl: 5 }, config: { auth: { session: { refreshBefore: '2s' } } } });
	});
	after(async () => stack && (await stack.stop()));

	it('eight concurrent requests near expiry, four at each replica, refresh once', async () => {
		const admin = await signIn(stack, 'admin');
		const signedInAt = Date.now();
		const cookie = `periscope_session=${admin.cookie()}`;
		const refreshGrants = async () => JSON.parse((await fetchWithin(`${stack.idp.issuer}/__test/stats`)).text).refreshGrants;
		const before = await refreshGrants();
		await waitFor('the refresh window (3 s after sign-in)', () => Date.now() - signedInAt > 3500, { timeoutMs: 10000 });
		const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => ask(stack.replicas[i % 2], stack, '/api/auth/whoami', { cookie })));
		for (const [i, a] of answers.entries()) assert.equal(a.status, 200, `request ${i} (replica ${stack.replicas[i % 2].name}): ${a.body}`);
		assert.equal((await refreshGrants()) - before, 1, 'one refresh for eight concurrent requests on two replicas');
	});
});
