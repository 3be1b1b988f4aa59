// The cluster shell end to end: lighttpd (FastCGI authorizer, then mod_proxy) ->
// websocketd -> periscope-wsbridge -> the fake apiserver, which runs the "pod" as a real
// bash in a pty with kubectl wired back to it through the session's kubeconfig.
import assert from 'node:assert/strict';
import * as https from 'node:https';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { startStack, waitFor, within } from '../lib/stack.mjs';
import { auditRow, signIn } from '../lib/session.mjs';
import { describeHeartbeatAndMaxDuration } from '../lib/shell-timers.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { stackSql } from '../lib/stack_sql.mjs';

const SHELL = '/api/clusters/local/shell';
const PROMPT = /[$#] $/m;

function sessionCookie(browser) {
	return `periscope_session=${browser.cookie()}`;
}

async function openShell(stack, browser, path = SHELL) {
	const t = await Terminal.open(stack, path, { cookie: sessionCookie(browser) });
	t.resize(100, 30);
	return t;
}

// The upgrade answered before websocketd: status and JSON body, as an API client sees it.
async function refusal(stack, path, { cookie, origin = stack.url } = {}) {
	try {
		const t = await Terminal.open(stack, path, { cookie, origin });
		t.terminate();
		return { status: 101 };
	} catch (e) {
		if (!e.status) throw e;
		return { status: e.status, body: e.body };
	}
}

// The close row of one session: every way a session ends writes one.
function closeRow(browser, sessionId) {
	return auditRow(browser, `verb=cluster_shell_close&session_id=${sessionId}`);
}

// Deletes a pod the way another client of the cluster would (kubectl delete pod).
function deletePod(stack, name) {
	return new Promise((resolve, reject) => {
		const u = new URL(`${stack.api.url}/api/v1/namespaces/periscope-system/pods/${name}`);
		const req = https.request(u, { method: 'DELETE', ca: stack.api.caPem, headers: { authorization: `Bearer ${stack.api.adminToken}` } }, (res) => {
			res.resume();
			res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`DELETE pod answered ${res.statusCode}`))));
		});
		req.on('error', reject);
		req.end();
	});
}

function shellObjects(stack, kind) {
	return stack.api.state.store.list(kind, 'periscope-system').items.filter((o) => o.metadata.name.startsWith('periscope-shell-'));
}

describe('cluster shell', () => {
	let stack;
	let admin;
	let viewer;
	before(async () => {
		stack = await startStack({
			config: {
				clusters: [
					{ name: 'local', backend: 'kubeconfig', kubeconfigPath: '@KUBECONFIG@' },
					{ name: 'noshell', backend: 'kubeconfig', kubeconfigPath: '@KUBECONFIG@', clusterShell: { enabled: false } },
					{ name: 'prod-eu', backend: 'eks', arn: 'arn:aws:eks:eu-west-1:111122223333:cluster/prod-eu', region: 'eu-west-1' },
				],
			},
		});
		admin = await signIn(stack, 'admin');
		viewer = await signIn(stack, 'viewer');
	});
	after(async () => stack && (await stack.stop()));

	it('opens a shell whose kubectl impersonates the operator and their tier', async () => {
		const t = await openShell(stack, admin);
		const hello = await t.waitFrame('hello', 30000);
		assert.equal(hello.kind, 'cluster_shell');
		assert.equal(hello.cluster, 'local');
		assert.equal(hello.tier, 'admin');
		assert.match(hello.sessionId, /^[0-9a-f-]{36}$/);
		await t.waitOutput(PROMPT);
		t.type('kubectl get pods -n periscope-system\r');
		await t.waitOutput(new RegExp(`periscope-shell-${hello.sessionId}\\s+1/1\\s+Running`));
		const fromShell = stack.api.state.requests.filter((r) =>
			r.impersonation?.extra?.['audit.periscope.io/session-id']?.[0] === hello.sessionId);
		assert.ok(fromShell.length > 0, 'the fake saw kubectl calls carrying the session id');
		for (const r of fromShell) {
			assert.equal(r.impersonation.user, 'user-admin');
			assert.deepEqual(r.impersonation.groups, ['periscope-tier:admin']);
			assert.deepEqual(r.impersonation.extra['audit.periscope.io/actor'], ['user-admin']);
			assert.equal(r.user.username, `system:serviceaccount:periscope-system:periscope-shell-${hello.sessionId}`);
		}
		t.type('stty size\r');
		await t.waitOutput(/^30 100\r?$/m);
		t.resize(132, 43);
		t.type('stty size\r');
		// A resize racing the typed line makes readline redraw it: the answer may then
		// follow the echoed command on the same line.
		await t.waitOutput(/(^|stty size)43 132\r?$/m);
		t.type('exit 3\r');
		const end = await t.end();
		assert.deepEqual(end, { type: 'closed', reason: 'exit', exitCode: 3 });
		const close = await closeRow(admin, hello.sessionId);
		assert.deepEqual([close.outcome, close.reason, close.extra.exit_code], ['success', 'exit', 3]);
		await waitFor('pod and secret deleted', () => shellObjects(stack, 'pods').length === 0 && shellObjects(stack, 'secrets').length === 0);
	});

	it('ends, with its close row, when another client deletes the pod under the session', async () => {
		const t = await openShell(stack, admin);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(PROMPT);
		await deletePod(stack, `periscope-shell-${hello.sessionId}`);
		// The container is killed: the exec stream ends with the shell's signal status.
		const end = await t.end();
		assert.deepEqual([end.type, end.reason], ['closed', 'exit']);
		assert.ok(end.exitCode > 128, `killed by a signal: ${end.exitCode}`);
		const close = await closeRow(admin, hello.sessionId);
		assert.deepEqual([close.reason, close.extra.exit_code], ['exit', end.exitCode]);
		assert.match(close.extra.commands_error, /404/, 'the command log could not be read from a deleted pod');
	});

	it('answers pings and survives malformed and oversized frames', async () => {
		const t = await openShell(stack, admin);
		const hello = await t.waitFrame('hello', 30000);
		t.ping(42);
		assert.deepEqual(await t.waitFrame('pong'), { type: 'pong', ts: 42 });
		t.ws.send('this is not json');
		await t.until('a bad-frame error', () => t.frames.find((f) => f.code === 'E_BAD_FRAME'));
		t.ws.send(JSON.stringify({ type: 'stdin', data: 'A'.repeat(70000) }));
		await t.until('a too-large error', () => t.frames.find((f) => f.code === 'E_FRAME_TOO_LARGE' || f.code === 'E_BAD_FRAME' && /longer/.test(f.message)));
		t.type('echo still-$((40+2))\r');
		await t.waitOutput(/still-42/);
		t.send({ type: 'close' });
		const end = await t.end();
		assert.equal(end.reason, 'client_closed');
		assert.equal((await closeRow(admin, hello.sessionId)).reason, 'client_closed');
	});

	it('cleans up and writes the close row with the commands when the client disconnects', async () => {
		const t = await openShell(stack, admin);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(PROMPT);
		t.type('kubectl get pods -n periscope-system -o name\r');
		await t.waitOutput(/pod\/periscope-shell-/);
		t.terminate();
		await waitFor('pod and secret deleted', () => !stack.api.state.store.has('pods', 'periscope-system', `periscope-shell-${hello.sessionId}`)
			&& !stack.api.state.store.has('secrets', 'periscope-system', `periscope-shell-${hello.sessionId}`), { timeoutMs: 20000 });
		let close;
		await waitFor('the close row', async () => {
			const r = await admin.get(`/api/audit?session_id=${hello.sessionId}&verb=cluster_shell_close`);
			close = r.json.items[0];
			return close;
		}, { timeoutMs: 20000 });
		assert.equal(close.outcome, 'success');
		assert.equal(close.reason, 'client_closed');
		assert.equal(close.cluster, 'local');
		assert.equal(close.extra.mode, 'bash');
		assert.equal(close.extra.tier, 'admin');
		assert.ok(close.extra.duration_ms > 0);
		assert.ok(close.extra.bytes_in > 0 && close.extra.bytes_out > 0);
		assert.equal(close.extra.commands_count, 1);
		assert.deepEqual(close.extra.commands[0].argv, ['kubectl', 'get', 'pods', '-n', 'periscope-system', '-o', 'name']);
		assert.ok(close.extra.commands[0].timestamp && close.extra.commands[0].pid > 0);
		const open = await admin.get(`/api/audit?session_id=${hello.sessionId}&verb=cluster_shell_open`);
		assert.equal(open.json.items.length, 1);
		assert.equal(open.json.items[0].actor.sub, 'user-admin');
	});

	it('sweeps what a SIGKILLed session left behind when the next session starts', async () => {
		const t = await openShell(stack, admin);
		const hello = await t.waitFrame('hello', 30000);
		const pod = `periscope-shell-${hello.sessionId}`;
		const pid = Number(stackSql(stack, `SELECT pid FROM shell_sessions WHERE id = '${hello.sessionId}'`));
		assert.ok(pid > 0, 'the session is registered with its process');
		process.kill(pid, 'SIGKILL');
		await within('the WebSocket to close after its wsbridge was killed', t.closed, 20000);
		assert.ok(stack.api.state.store.has('pods', 'periscope-system', pod), 'a killed process cleans nothing up');
		const next = await openShell(stack, admin);
		await next.waitFrame('hello', 30000);
		assert.equal(stack.api.state.store.has('pods', 'periscope-system', pod), false);
		assert.equal(stack.api.state.store.has('secrets', 'periscope-system', pod), false);
		next.send({ type: 'close' });
		await next.end();
	});

	// The maintenance sweep of periscope.fcgi (every 15 s, no open needed) against the
	// objects of a session whose row is gone (a bridge reaped on another replica leaves
	// those): they go, those of the live terminal beside them stay, and it still answers.
	it('sweeps a dead session\'s objects by label and keeps a live one\'s', { timeout: 120000 }, async () => {
		const t = await openShell(stack, admin);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(PROMPT);
		const store = stack.api.state.store;
		const kinds = [['pods', 'periscope-system'], ['secrets', 'periscope-system'], ['serviceaccounts', 'periscope-system'], ['clusterroles', undefined], ['clusterrolebindings', undefined]];
		const liveName = `periscope-shell-${hello.sessionId}`;
		const deadId = '00000000-0000-4000-8000-00000000dead';
		const deadName = `periscope-shell-${deadId}`;
		for (const [kind, ns] of kinds) {
			const copy = JSON.parse(JSON.stringify(store.peek(kind, ns, liveName)).replaceAll(hello.sessionId, deadId));
			delete copy.metadata.uid;
			delete copy.metadata.resourceVersion;
			store.create(kind, ns, copy);
		}
		assert.deepEqual(kinds.map(([kind, ns]) => store.has(kind, ns, deadName)), [true, true, true, true, true]);
		await waitFor('the sweep to delete the dead session\'s five objects (one pass: 15 s)',
			() => kinds.every(([kind, ns]) => !store.has(kind, ns, deadName)), { timeoutMs: 45000, intervalMs: 200 });
		assert.deepEqual(kinds.map(([kind, ns]) => store.has(kind, ns, liveName)), [true, true, true, true, true], 'the live session\'s objects stay');
		t.type('echo still-$((6 * 7))\r');
		await t.waitOutput(/still-42/);
		t.send({ type: 'close' });
		await t.end();
	});

	it('refuses before the upgrade, in the seeds order, with JSON bodies', async () => {
		const cookie = sessionCookie(admin);
		let r = await refusal(stack, SHELL);
		assert.equal(r.status, 401, 'an unauthenticated upgrade never reaches websocketd');
		assert.equal(r.body.code, 'E_AUTH');
		r = await refusal(stack, '/api/clusters/nope/shell', { cookie });
		assert.deepEqual([r.status, r.body.code], [404, 'E_NOT_FOUND']);
		r = await refusal(stack, '/api/clusters/noshell/shell', { cookie });
		assert.deepEqual([r.status, r.body.code], [403, 'E_CLUSTER_SHELL_DISABLED']);
		r = await refusal(stack, SHELL, { cookie: sessionCookie(viewer) });
		assert.deepEqual([r.status, r.body.code], [403, 'E_FORBIDDEN']);
		assert.equal(r.body.tier, 'read');
		assert.deepEqual(r.body.allowed_tiers, ['admin']);
		r = await refusal(stack, `${SHELL}?mode=kubectl-only`, { cookie });
		assert.deepEqual([r.status, r.body.code], [400, 'E_NOT_IMPLEMENTED']);
		r = await refusal(stack, `${SHELL}?mode=zsh`, { cookie });
		assert.deepEqual([r.status, r.body.code], [400, 'E_INVALID_REQUEST']);
		assert.deepEqual(r.body.want, ['bash']);
		r = await refusal(stack, SHELL, { cookie, origin: 'http://evil.example' });
		assert.equal(r.status, 403);
	});

	it('caps sessions per user with 429 E_CAP_USER listing the open ones', async () => {
		const a = await openShell(stack, admin);
		const b = await openShell(stack, admin);
		const ids = [(await a.waitFrame('hello', 30000)).sessionId, (await b.waitFrame('hello', 30000)).sessionId];
		const r = await refusal(stack, SHELL, { cookie: sessionCookie(admin) });
		assert.equal(r.status, 429);
		assert.equal(r.body.code, 'E_CAP_USER');
		assert.equal(r.body.limit, 2);
		assert.deepEqual(r.body.activeSessions.map((s) => s.id).sort(), ids.sort());
		// The web UI learns why with a plain GET (a browser cannot read a refused handshake).
		const plain = await admin.get(SHELL);
		assert.deepEqual([plain.status, plain.json?.code], [429, 'E_CAP_USER']);
		a.send({ type: 'close' });
		b.send({ type: 'close' });
		await a.end();
		await b.end();
	});
});

describe('cluster shell caps under concurrency', () => {
	let stack;
	before(async () => {
		stack = await startStack({ config: { clusterShell: { maxSessionsPerUser: 50, maxSessionsTotal: 10 } } });
	});
	after(async () => stack && (await stack.stop()));

	it('admits exactly 10 of 20 concurrent opens against a cap of 10', async () => {
		const admin = await signIn(stack, 'admin');
		const attempts = await Promise.all(Array.from({ length: 20 }, async () => {
			try {
				const t = await openShell(stack, admin);
				const first = await t.until('hello or error', () => t.frames.find((f) => f.type === 'hello' || f.type === 'error'), 60000);
				return { t, first };
			} catch (e) {
				return { status: e.status, body: e.body };
			}
		}));
		const admitted = attempts.filter((a) => a.first?.type === 'hello');
		const refused = attempts.filter((a) => a.status === 429 || a.first?.code === 'E_CAP_CLUSTER');
		assert.equal(admitted.length, 10);
		assert.equal(refused.length, 10);
		for (const a of refused) assert.equal(a.body?.code ?? a.first.code, 'E_CAP_CLUSTER');
		for (const a of admitted) a.t.send({ type: 'close' });
		await Promise.all(admitted.map((a) => a.t.end(30000)));
		await waitFor('every pod deleted', () => shellObjects(stack, 'pods').length === 0, { timeoutMs: 30000 });
	});
});

describe('cluster shell timers and failures', () => {
	let stack;
	before(async () => {
		stack = await startStack({ config: { clusterShell: { idleSeconds: 4, idleWarnSeconds: 2, podStartTimeoutSeconds: 3 } } });
	});
	after(async () => stack && (await stack.stop()));

	it('warns, then cuts an idle session', async () => {
		const admin = await signIn(stack, 'admin');
		const t = await openShell(stack, admin);
		const hello = await t.waitFrame('hello', 30000);
		const warn = await t.waitFrame('idle_warn', 10000);
		assert.ok(warn.secondsRemaining >= 1 && warn.secondsRemaining <= 2);
		const end = await t.end(10000);
		assert.equal(end.reason, 'idle');
		assert.ok(t.frames.indexOf(warn) < t.frames.indexOf(end));
		const close = await closeRow(admin, hello.sessionId);
		assert.deepEqual([close.outcome, close.reason], ['success', 'idle']);
	});
});

describe('cluster shell pod that never starts', () => {
	let stack;
	before(async () => {
		stack = await startStack({ config: { clusterShell: { podStartTimeoutSeconds: 3, image: { repository: 'registry.example/never-ready', tag: '1' } } } });
	});
	after(async () => stack && (await stack.stop()));

	it('reports E_SHELL_POD_FAILED with the pod reason and leaves nothing behind', async () => {
		const admin = await signIn(stack, 'admin');
		const t = await openShell(stack, admin);
		const end = await t.end(30000);
		assert.equal(end.type, 'error');
		assert.equal(end.code, 'E_SHELL_POD_FAILED');
		assert.match(end.message, /ImagePullBackOff|ErrImagePull/);
		assert.equal(t.frames.some((f) => f.type === 'hello'), false);
		await waitFor('pod and secret deleted', () => shellObjects(stack, 'pods').length === 0 && shellObjects(stack, 'secrets').length === 0);
		const rows = await admin.get('/api/audit?verb=cluster_shell_close');
		assert.equal(rows.json.items[0].outcome, 'failure');
		assert.equal(rows.json.items[0].extra.err_code, 'E_SHELL_POD_FAILED');
	});
});

describe('cluster shell outside tier mode', () => {
	let stack;
	before(async () => {
		stack = await startStack({ config: { auth: { authorization: { mode: 'shared' } } } });
	});
	after(async () => stack && (await stack.stop()));

	it('answers 403 E_CLUSTER_SHELL_REQUIRES_TIER', async () => {
		const admin = await signIn(stack, 'admin');
		const r = await refusal(stack, SHELL, { cookie: sessionCookie(admin) });
		assert.deepEqual([r.status, r.body.code, r.body.current_mode], [403, 'E_CLUSTER_SHELL_REQUIRES_TIER', 'shared']);
	});
});

describeHeartbeatAndMaxDuration('cluster shell heartbeat and maximum duration', {
	kind: 'clusterShell', open: openShell, verb: 'cluster_shell_close', maxDurationSeconds: 5,
});

describe('cluster shell over v4.channel.k8s.io', () => {
	let stack;
	before(async () => {
		stack = await startStack({ apiserver: { execProtocols: ['v4.channel.k8s.io'] } });
	});
	after(async () => stack && (await stack.stop()));

	it('falls back to v4 and still carries resize and the exit code', async () => {
		const admin = await signIn(stack, 'admin');
		const t = await openShell(stack, admin);
		await t.waitFrame('hello', 30000);
		await t.waitOutput(PROMPT);
		t.type('stty size\r');
		await t.waitOutput(/^30 100\r?$/m);
		t.type('exit 7\r');
		assert.deepEqual(await t.end(), { type: 'closed', reason: 'exit', exitCode: 7 });
		assert.ok(stack.api.state.execs.some((e) => e.protocol === 'v4.channel.k8s.io'), 'the fake served v4');
	});
});
