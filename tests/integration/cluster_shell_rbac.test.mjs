// What the cluster shell's credential is worth, through the real stack (web server,
// websocketd, periscope-wsbridge) against the fake apiserver, which authorizes
// impersonation and RBAC as kube-apiserver does. periscope's own identity there has only
// the RBAC of docs/cluster-shell.md §3, and the tiers only what an operator bound them to
// (admin: cluster-admin, read: view). The token in the pod may be this operator in this
// tier and session, nothing else; it dies with the session on every path; a token the
// apiserver shortened is refreshed before it expires.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { findKubectl } from '../fakes/apiserver/kubectl.mjs';
import { startStack, waitFor, within } from '../lib/stack.mjs';
import { signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { stackSql } from '../lib/stack_sql.mjs';

const SHELL = '/api/clusters/local/shell';
const NS = 'periscope-system';
const PROMPT = /[$#] $/m;
const KINDS = ['pods', 'secrets', 'serviceaccounts', 'clusterroles', 'clusterrolebindings'];
const KUBECTL = findKubectl();

async function openShell(stack, browser) {
	const t = await Terminal.open(stack, SHELL, { cookie: `periscope_session=${browser.cookie()}` });
	t.resize(200, 50);
	const hello = await t.waitFrame('hello', 30000);
	await t.waitOutput(PROMPT, 30000);
	return { t, hello, name: `periscope-shell-${hello.sessionId}` };
}

// Types a command and waits for its own end marker; returns what it printed.
let marks = 0;
async function run(t, command, timeoutMs = 30000) {
	const mark = `end-of-command-${++marks}`;
	const from = t.output.length;
	t.type(`${command}; echo "${mark}:$?"\r`);
	// The echoed command line shows the marker followed by `$?`, the output by digits.
	await t.until(`${mark} in the output`, () => new RegExp(`${mark}:\\d+`).test(t.output.slice(from)), timeoutMs);
	const out = t.output.slice(from);
	const status = Number(new RegExp(`${mark}:(\\d+)`).exec(out)[1]);
	return { out, status };
}

// Which of the session's objects the fake cluster holds.
function present(stack, name) {
	return KINDS.filter((k) => stack.api.state.store.has(k, k.startsWith('cluster') ? undefined : NS, name));
}

// The token as anyone who copies it out of the pod has it (`cat $KUBECONFIG`).
async function copyToken(t) {
	const { out } = await run(t, 'cat "$KUBECONFIG"');
	const all = [...out.matchAll(/"token":\s*"([^"]+)"/g)];
	assert.ok(all.length, `a token in the kubeconfig:\n${out}`);
	return all[all.length - 1][1];
}

// kubectl 1.32 outside the pod, with only the copied token (no impersonation), against the
// cluster's front route: what a thief would do with it.
function kubectlWithToken(stack, token, args) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-stolen-'));
	const kc = path.join(dir, 'kubeconfig');
	fs.writeFileSync(kc, JSON.stringify({
		apiVersion: 'v1', kind: 'Config',
		clusters: [{ name: 'c', cluster: { server: stack.api.url, 'certificate-authority-data': Buffer.from(stack.api.caPem).toString('base64') } }],
		users: [{ name: 'u', user: { token } }],
		contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
		'current-context': 'c',
	}));
	return new Promise((resolve) => {
		execFile(KUBECTL, ['--kubeconfig', kc, '--cache-dir', path.join(dir, 'cache'), ...args],
			{ env: { PATH: process.env.PATH, HOME: dir }, encoding: 'utf8', timeout: 30000 },
			(err, stdout, stderr) => {
				fs.rmSync(dir, { recursive: true, force: true });
				resolve({ code: err ? err.code ?? -1 : 0, stdout, stderr });
			});
	});
}

// A live token authenticates, but without impersonation it may only discover and ask who
// it is.
async function assertTokenLives(stack, token, name) {
	let r = await kubectlWithToken(stack, token, ['auth', 'whoami']);
	assert.equal(r.code, 0, r.stderr);
	assert.match(r.stdout, new RegExp(`Username\\s+system:serviceaccount:${NS}:${name}`));
	r = await kubectlWithToken(stack, token, ['get', 'pods', '-n', NS]);
	assert.notEqual(r.code, 0);
	assert.match(r.stderr, new RegExp(`pods is forbidden: User "system:serviceaccount:${NS}:${name}" cannot list resource "pods" in API group "" in the namespace "${NS}"`));
}

async function assertTokenDead(stack, token) {
	const r = await kubectlWithToken(stack, token, ['auth', 'whoami']);
	assert.notEqual(r.code, 0);
	assert.match(r.stderr, /error: You must be logged in to the server \(Unauthorized\)/);
}

function wsbridgePid(stack, sessionId) {
	return Number(stackSql(stack, `SELECT pid FROM shell_sessions WHERE id = '${sessionId}'`));
}

describe('the cluster shell credential', () => {
	let stack;
	let viewer;
	let admin;
	before(async () => {
		stack = await startStack({ config: { clusterShell: { tiers: ['admin', 'read'], maxSessionsPerUser: 10 } } });
		viewer = await signIn(stack, 'viewer');
		admin = await signIn(stack, 'admin');
	});
	after(async () => stack && (await stack.stop()));

	it('is one ServiceAccount, ClusterRole and binding per session, allowing exactly this operator, tier and session, all deleted at the end', async () => {
		const { t, hello, name } = await openShell(stack, viewer);
		assert.equal(hello.tier, 'read');
		assert.deepEqual(present(stack, name), KINDS);
		const role = stack.api.state.store.get('clusterroles', undefined, name);
		assert.deepEqual(role.rules, [
			{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'], resourceNames: ['user-viewer'] },
			{ apiGroups: [''], resources: ['groups'], verbs: ['impersonate'], resourceNames: ['periscope-tier:read'] },
			{ apiGroups: ['authentication.k8s.io'], resources: ['userextras/audit.periscope.io/session-id'], verbs: ['impersonate'], resourceNames: [hello.sessionId] },
			{ apiGroups: ['authentication.k8s.io'], resources: ['userextras/audit.periscope.io/actor'], verbs: ['impersonate'], resourceNames: ['user-viewer'] },
		]);
		const binding = stack.api.state.store.get('clusterrolebindings', undefined, name);
		assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name });
		assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name, namespace: NS }]);
		for (const k of KINDS) {
			const o = stack.api.state.store.get(k, k.startsWith('cluster') ? undefined : NS, name);
			assert.equal(o.metadata.labels['periscope.io/session-id'], hello.sessionId, `${k} labelled with the session`);
			assert.equal(o.metadata.labels['periscope.io/namespace'], NS);
		}
		assert.equal(stack.api.state.store.get('pods', NS, name).spec.serviceAccountName, name);
		t.type('exit\r');
		assert.equal((await t.end()).reason, 'exit');
		// Deleted by the session's own teardown, which the bridge finishes before its closed
		// frame: not left for periscope.fcgi's sweep (every 15 s), which would hide a teardown
		// that forgot a kind. The pod may still be terminating (its grace period).
		assert.deepEqual(present(stack, name).filter((k) => k !== 'pods'), [], 'deleted before the closed frame');
		await waitFor('the pod of the session gone', () => present(stack, name).length === 0);
	});

	it('from inside a read-tier shell: kubectl as yourself works; another user, group or session extra is Forbidden', async () => {
		const { t, hello, name } = await openShell(stack, viewer);
		const caller = `User "system:serviceaccount:${NS}:${name}"`;
		let r = await run(t, `kubectl get pods -n ${NS}`);
		assert.equal(r.status, 0, r.out);
		assert.match(r.out, new RegExp(`${name}\\s+1/1\\s+Running`));
		// What the read tier may do is its binding's business: `view` reads no secrets.
		r = await run(t, 'kubectl get secrets -A');
		assert.equal(r.status, 1);
		assert.match(r.out, /secrets is forbidden: User "user-viewer" cannot list resource "secrets" in API group "" at the cluster scope/);
		r = await run(t, 'kubectl --as=system:kube-controller-manager get secrets -A');
		assert.equal(r.status, 1);
		assert.match(r.out, new RegExp(`users "system:kube-controller-manager" is forbidden: ${caller} cannot impersonate resource "users" in API group "" at the cluster scope`));
		r = await run(t, 'kubectl --as=other-user get pods');
		assert.equal(r.status, 1);
		assert.match(r.out, new RegExp(`users "other-user" is forbidden: ${caller} cannot impersonate resource "users"`));
		r = await run(t, 'kubectl --as-group=system:masters get pods');
		assert.equal(r.status, 1);
		assert.match(r.out, new RegExp(`groups "system:masters" is forbidden: ${caller} cannot impersonate resource "groups"`));
		// kubectl has no flag for extras: a copy of the kubeconfig naming another session.
		const other = '11111111-2222-4333-8444-555555555555';
		r = await run(t, `d=$(dirname "$KUBECONFIG"); cp "$d/ca.crt" ~/ca.crt && sed 's/${hello.sessionId}/${other}/g' "$KUBECONFIG" > ~/other.kubeconfig && KUBECONFIG=~/other.kubeconfig kubectl get pods`);
		assert.equal(r.status, 1);
		assert.match(r.out, new RegExp(`userextras.authentication.k8s.io "${other}" is forbidden: ${caller} cannot impersonate resource "userextras/audit.periscope.io/session-id" in API group "authentication.k8s.io"`));
		t.type('exit\r');
		await t.end();
	});

	it('trusts the cluster\'s own CA from kube-root-ca.crt, beside the kubeconfig, not the CA of periscope\'s route', async () => {
		const { t, name } = await openShell(stack, admin);
		const written = JSON.parse(Buffer.from(stack.api.state.store.get('secrets', NS, name).data.kubeconfig, 'base64').toString('utf8'));
		assert.deepEqual(written.clusters, [{ name: 'in-cluster', cluster: { server: 'https://kubernetes.default.svc', 'certificate-authority': 'ca.crt' } }]);
		// In the fake's pods, kubernetes.default.svc resolves to its in-cluster endpoint.
		const kc = await run(t, 'cat "$KUBECONFIG"');
		assert.ok(kc.out.includes(`"server": "${stack.api.clusterUrl}"`), kc.out);
		assert.match(kc.out, /"certificate-authority": "ca\.crt"/);
		assert.doesNotMatch(kc.out, /certificate-authority-data/);
		const ca = await run(t, 'cat "$(dirname "$KUBECONFIG")/ca.crt"');
		assert.ok(ca.out.replace(/\r/g, '').includes(stack.api.clusterCaPem), 'the pod holds the cluster CA');
		assert.notEqual(stack.api.clusterCaPem, stack.api.caPem, 'periscope reaches the cluster through a route with another CA');
		t.type('exit\r');
		await t.end();
	});

	it('a SIGKILLed session\'s objects, cluster-scoped ones too, are swept when the next session starts', async () => {
		const { t, hello, name } = await openShell(stack, admin);
		process.kill(wsbridgePid(stack, hello.sessionId), 'SIGKILL');
		await within('the WebSocket to close after its wsbridge was SIGKILLed', t.closed, 20000);
		assert.deepEqual(present(stack, name), KINDS, 'a killed process cleans nothing up');
		const next = await openShell(stack, admin);
		assert.deepEqual(present(stack, name), []);
		next.t.type('exit\r');
		await next.t.end();
	});
});

describe('a token copied out of a shell', () => {
	let stack;
	let admin;
	before(async () => {
		stack = await startStack({ config: { clusterShell: { maxSessionsPerUser: 10 } } });
		admin = await signIn(stack, 'admin');
	});
	after(async () => stack && (await stack.stop()));

	// Each way a session ends, and the close reason its audit row then gives.
	const closePaths = [
		['exit', 'exit', ({ t }) => t.type('exit\r')],
		['the browser gone', 'client_closed', ({ t }) => t.terminate()],
		['SIGTERM', 'terminated', ({ hello }) => process.kill(wsbridgePid(stack, hello.sessionId), 'SIGTERM')],
	];

	for (const [how, reason, close] of closePaths) {
		it(`authenticates while the session lives and is refused (401) once it ended by ${how}`, async () => {
			const session = await openShell(stack, admin);
			const token = await copyToken(session.t);
			await assertTokenLives(stack, token, session.name);
			close(session);
			let row;
			await waitFor('the close row', async () => {
				row = (await admin.get(`/api/audit?session_id=${session.hello.sessionId}&verb=cluster_shell_close`)).json.items[0];
				return row;
			}, { timeoutMs: 20000 });
			assert.equal(row.reason, reason);
			assert.deepEqual(present(stack, session.name), [], 'the session\'s objects are gone once the close row is written');
			await assertTokenDead(stack, token);
		});
	}
});

describe('a token copied out of a shell cut for idleness', () => {
	let stack;
	before(async () => {
		stack = await startStack({ config: { clusterShell: { idleSeconds: 6, idleWarnSeconds: 2 } } });
	});
	after(async () => stack && (await stack.stop()));

	it('is refused (401) once the idle cut ended the session', async () => {
		const admin = await signIn(stack, 'admin');
		const session = await openShell(stack, admin);
		const token = await copyToken(session.t);
		await assertTokenLives(stack, token, session.name);
		assert.equal((await session.t.end(20000)).reason, 'idle');
		await waitFor('the session\'s objects deleted', () => present(stack, session.name).length === 0, { timeoutMs: 20000 });
		await assertTokenDead(stack, token);
	});
});

describe('a token the apiserver shortened', () => {
	let stack;
	before(async () => {
		// At most 10 minutes per token; the session may last the sign-in's 8 hours.
		stack = await startStack({
			apiserver: { maxTokenExpirationSeconds: 600, volumeSyncMs: 200 },
			config: { clusterShell: { tokenRefreshCheckSeconds: 1 } },
		});
	});
	after(async () => stack && (await stack.stop()));

	const secretToken = (name) => {
		const kc = Buffer.from(stack.api.state.store.get('secrets', NS, name).data.kubeconfig, 'base64').toString('utf8');
		return JSON.parse(kc).users[0].user.token;
	};

	it('is refreshed at half its lifetime, so kubectl in the pod still works after the first token expired', async () => {
		const admin = await signIn(stack, 'admin');
		const { t, name } = await openShell(stack, admin);
		const first = await copyToken(t);
		assert.equal(secretToken(name), first);
		let r = await run(t, `kubectl get pods -n ${NS} -o name`);
		assert.match(r.out, new RegExp(`pod/${name}`));
		// Just past half of the 600 s on the apiserver's clock: periscope notices and refreshes.
		stack.api.clock.advance(305);
		await waitFor('a new token in the Secret', () => secretToken(name) !== first, { timeoutMs: 15000 });
		const second = secretToken(name);
		await waitFor('the new token in the pod\'s kubeconfig file', () =>
			fs.readFileSync(stack.api.podPath(NS, name, '/etc/periscope/kubeconfig'), 'utf8').includes(second), { timeoutMs: 15000 });
		// Past the first token's expiry.
		stack.api.clock.advance(300);
		await assertTokenDead(stack, first);
		r = await run(t, `kubectl get pods -n ${NS} -o name`);
		assert.equal(r.status, 0, r.out);
		assert.match(r.out, new RegExp(`pod/${name}`));
		assert.doesNotMatch(r.out, /Unauthorized|must be logged in/);
		t.type('exit\r');
		await t.end();
	});
});

describe('periscope\'s own rights bound what a session may be', () => {
	let stack;
	before(async () => {
		// The read tier may open a shell, but periscope's ClusterRole lists only the admin
		// tier's group: it does not hold what a read-tier session's role would grant.
		stack = await startStack({ config: { clusterShell: { tiers: ['admin', 'read'] } }, provisionerTiers: ['admin'] });
	});
	after(async () => stack && (await stack.stop()));

	it('refuses a session for a tier periscope may not impersonate, and leaves nothing behind', async () => {
		const viewer = await signIn(stack, 'viewer');
		const t = await Terminal.open(stack, SHELL, { cookie: `periscope_session=${viewer.cookie()}` });
		const end = await t.end(30000);
		assert.equal(end.type, 'error');
		assert.equal(end.code, 'E_FORBIDDEN');
		assert.match(end.message, /creating the session cluster role was refused \(HTTP 403\): clusterroles.rbac.authorization.k8s.io "periscope-shell-[0-9a-f-]+" is forbidden: user "periscope" \(groups=\["system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\[""\], Resources:\["groups"\], ResourceNames:\["periscope-tier:read"\], Verbs:\["impersonate"\]\}/);
		const leftovers = (kind, ns) => stack.api.state.store.list(kind, ns).items.filter((o) => o.metadata.labels?.['periscope.io/session-id']);
		const left = () => [...['pods', 'secrets', 'serviceaccounts'].flatMap((k) => leftovers(k, NS).map((o) => `${k}/${o.metadata.name}`)),
			...['clusterroles', 'clusterrolebindings'].flatMap((k) => leftovers(k, undefined).map((o) => `${k}/${o.metadata.name}`))];
		await waitFor('no session object left', () => left().length === 0).catch((e) => assert.fail(`${e.message}: ${left().join(', ')}`));
		// The admin tier, which periscope holds, still works.
		const admin = await signIn(stack, 'admin');
		const ok = await openShell(stack, admin);
		ok.t.type('exit\r');
		assert.equal((await ok.t.end()).reason, 'exit');
	});
});
