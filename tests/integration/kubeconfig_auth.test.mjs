// Real kubeconfigs through the stack: a user with an exec credential plugin (a small
// script printing a client.authentication.k8s.io/v1 ExecCredential) and users with client
// certificates reach the fake apiserver, which checks the token, or the certificate against
// its client CA, as kube-apiserver does. The plugin's credential is cached until its
// expirationTimestamp, and the plugin runs again when it passes or when the apiserver
// answers 401.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { NODES, startStack, waitFor } from '../lib/stack.mjs';
import { signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { makeClientCa } from '../fakes/apiserver/tls.mjs';

const PROMPT = /[$#] $/m;
const PLUGIN = `#!/bin/sh
echo run >> "$COUNT_FILE"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$INFO_FILE"
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}\\n' "$(cat "$TOKEN_FILE")" "$(cat "$EXPIRY_FILE")"
`;

describe('kubeconfig users: exec plugins and client certificates', () => {
	let stack;
	let admin;
	let dir;
	let other;
	const file = (n) => path.join(dir, n);
	const runs = () => (fs.existsSync(file('count')) ? fs.readFileSync(file('count'), 'utf8').trim().split('\n').length : 0);
	const token = () => `exec-token.${randomBytes(18).toString('base64url')}`;
	const expiryIn = (s) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

	const kubeconfig = (user) => JSON.stringify({
		apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
		clusters: [{ name: 'c', cluster: { server: stack.api.url, 'certificate-authority-data': Buffer.from(stack.api.caPem).toString('base64') } }],
		users: [{ name: 'u', user }],
		contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
	});

	before(async () => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-kcauth-'));
		const cluster = (name) => ({ name, backend: 'kubeconfig', kubeconfigPath: file(`${name}.kubeconfig`), region: 'eu-west-1' });
		stack = await startStack({ config: { clusters: [cluster('exec'), cluster('cert'), cluster('wrongca')] } });
		admin = await signIn(stack, 'admin');
		other = makeClientCa();
		fs.writeFileSync(file('plugin.sh'), PLUGIN, { mode: 0o755 });
		const first = token();
		stack.api.addUserToken(first, 'periscope');
		fs.writeFileSync(file('token'), first);
		fs.writeFileSync(file('expiry'), expiryIn(3600));
		fs.writeFileSync(file('exec.kubeconfig'), kubeconfig({
			exec: {
				apiVersion: 'client.authentication.k8s.io/v1', command: './plugin.sh', interactiveMode: 'Never', provideClusterInfo: true,
				env: [['COUNT_FILE', 'count'], ['INFO_FILE', 'info'], ['TOKEN_FILE', 'token'], ['EXPIRY_FILE', 'expiry']].map(([name, v]) => ({ name, value: file(v) })),
			},
		}));
		const cert = stack.api.issueClientCert({ cn: 'periscope' });
		fs.writeFileSync(file('client.crt'), cert.certPem);
		fs.writeFileSync(file('cert.kubeconfig'), kubeconfig({ 'client-certificate': 'client.crt', 'client-key-data': Buffer.from(cert.keyPem).toString('base64') }));
		const foreign = other.issue({ cn: 'periscope', groups: ['system:masters'] });
		fs.writeFileSync(file('wrongca.kubeconfig'), kubeconfig({
			'client-certificate-data': Buffer.from(foreign.certPem).toString('base64'), 'client-key-data': Buffer.from(foreign.keyPem).toString('base64'),
		}));
	});
	after(async () => {
		if (stack) await stack.stop();
		if (other) fs.rmSync(other.dir, { recursive: true, force: true });
		if (dir) fs.rmSync(dir, { recursive: true, force: true });
	});

	const nodeNames = async (cluster) => {
		const r = await admin.get(`/api/clusters/${cluster}/nodes`);
		assert.equal(r.status, 200, r.text);
		return r.json.nodes.map((n) => n.name).sort();
	};

	it('an exec plugin: its token reaches the apiserver, cached until it expires', async () => {
		assert.deepEqual(await nodeNames('exec'), NODES.map((n) => n.name).sort());
		assert.equal(runs(), 1);
		const info = JSON.parse(fs.readFileSync(file('info'), 'utf8'));
		assert.deepEqual([info.apiVersion, info.kind, info.spec.interactive], ['client.authentication.k8s.io/v1', 'ExecCredential', false]);
		assert.equal(info.spec.cluster.server, stack.api.url, 'provideClusterInfo hands the cluster to the plugin');
		await nodeNames('exec');
		assert.equal(runs(), 1, 'a second request uses the cached credential');
		// A credential that expires: the plugin runs again once the time is past.
		fs.writeFileSync(file('expiry'), expiryIn(2));
		stack.api.revokeToken(fs.readFileSync(file('token'), 'utf8'));
		const second = token();
		stack.api.addUserToken(second, 'periscope');
		fs.writeFileSync(file('token'), second);
		await nodeNames('exec');
		assert.equal(runs(), 2, 'a 401 ran the plugin again');
		const expiresAt = Date.parse(fs.readFileSync(file('expiry'), 'utf8'));
		await waitFor('the exec credential to expire', () => Date.now() > expiresAt + 1000, { timeoutMs: 10000 });
		fs.writeFileSync(file('expiry'), expiryIn(3600));
		await nodeNames('exec');
		assert.equal(runs(), 3, 'an expired credential ran the plugin again');
	});

	it('a client certificate the cluster CA signed reaches the apiserver; one from another CA does not', async () => {
		assert.deepEqual(await nodeNames('cert'), NODES.map((n) => n.name).sort());
		const fromCert = stack.api.state.requests.filter((q) => q.path === '/api/v1/nodes' && q.user?.username === 'periscope'
			&& !q.headers.some(([k]) => k.toLowerCase() === 'authorization'));
		assert.ok(fromCert.length >= 1, 'the apiserver saw the node list without a bearer token');
		const r = await admin.get('/api/clusters/wrongca/nodes');
		assert.deepEqual([r.status, r.json.code], [502, 'E_UPSTREAM']);
		assert.match(r.json.err, /HTTP 401/);
	});

	for (const cluster of ['cert', 'exec']) it(`a cluster shell on the ${cluster === 'cert' ? 'client-certificate' : 'exec-plugin'} cluster runs kubectl`, async () => {
		const t = await Terminal.open(stack, `/api/clusters/${cluster}/shell`, { cookie: `periscope_session=${admin.cookie()}` });
		t.resize(100, 30);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(PROMPT, 30000);
		t.type('kubectl get pods -n periscope-system\r');
		await t.waitOutput(new RegExp(`periscope-shell-${hello.sessionId}\\s+1/1\\s+Running`), 30000);
		t.send({ type: 'close' });
		assert.equal((await t.end(30000)).type, 'closed');
	});
});
