// Agent registration (issue 12, docs/agent.md §Registration) through the real web server:
// an audit admin mints a one-time token bound to one agent cluster; the agent trades it
// with its freshly generated SSH key for its tunnel port and the tunnel's host key. A
// reused, expired or forged attempt, or one naming the wrong cluster, gets one uniform 401;
// each is audited with its reason, and no token reaches a log or an audit row.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { anonymous, auditRow, signIn } from '../lib/session.mjs';
import { startStack, waitFor } from '../lib/stack.mjs';
import { execBounded } from '../lib/sync-child.mjs';
import { chooseServer } from '../lib/webserver.mjs';

const TTL = 5;
const REFUSED = { code: 'E_AGENT_UNAUTHORIZED', message: 'agent registration refused' };
const CA_SHA256 = 'ab'.repeat(32);

// A fresh key pair, as the agent makes at first start: its public line.
function newKey(dir, name) {
	const file = path.join(dir, name);
	execBounded('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@agent`, '-f', file]);
	return fs.readFileSync(`${file}.pub`, 'utf8').trim();
}

describe(`agent registration through ${chooseServer()}`, () => {
	let stack;
	let admin;
	let viewer;
	let keys;
	const minted = [];
	before(async () => {
		stack = await startStack({
			config: {
				agents: { tokenTTLSeconds: TTL },
				clusters: [
					{ name: 'local', backend: 'kubeconfig', kubeconfigPath: '@KUBECONFIG@' },
					{ name: 'edge', backend: 'agent' },
					{ name: 'edge-b', backend: 'agent' },
				],
			},
		});
		admin = await signIn(stack, 'admin');
		viewer = await signIn(stack, 'viewer');
		keys = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-agent-keys-'));
	});
	after(async () => {
		if (keys) fs.rmSync(keys, { recursive: true, force: true });
		if (stack) await stack.stop();
	});

	async function mint(cluster) {
		const r = await admin.request('/api/agents/tokens', { method: 'POST', json: { cluster } });
		assert.equal(r.status, 201, r.text);
		minted.push(r.json.token);
		return r.json;
	}
	const register = (body) => anonymous(stack, '/api/agents/register', { method: 'POST', json: { apiToken: 'sa-token-of-the-agent', caSha256: CA_SHA256, ...body } });

	it('mints only for audit admins and only for agent clusters', async () => {
		const denied = await viewer.request('/api/agents/tokens', { method: 'POST', json: { cluster: 'edge' } });
		assert.equal(denied.status, 403);
		assert.equal(denied.json.code, 'E_FORBIDDEN');
		const row = await auditRow(admin, 'verb=agent_token_create&outcome=denied');
		assert.equal(row.actor.sub, 'user-viewer');
		const notAgent = await admin.request('/api/agents/tokens', { method: 'POST', json: { cluster: 'local' } });
		assert.equal(notAgent.status, 400);
		const t = await mint('edge');
		assert.equal(t.cluster, 'edge');
		assert.equal(t.expiresInSeconds, TTL);
		assert.match(t.token, /^[A-Za-z0-9_-]{40,}$/);
		const ok = await auditRow(admin, 'verb=agent_token_create&outcome=success');
		assert.equal(ok.cluster, 'edge');
		assert.equal(ok.actor.sub, 'user-admin');
	});

	it('registers with a fresh key, and refuses the same token again', async () => {
		const t = await mint('edge');
		const key = newKey(keys, 'edge');
		const r = await register({ token: t.token, cluster: 'edge', publicKey: key });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.cluster, 'edge');
		assert.equal(r.json.tunnelPort, stack.config.agents.tunnelPortBase, 'the first agent gets the first port');
		assert.equal(r.json.tunnelPath, '/agent/tunnel');
		assert.equal(r.json.hostKey, fs.readFileSync(path.join(stack.runDir, 'agent-ssh', 'host_ed25519_key.pub'), 'utf8').trim());
		assert.equal(r.json.sshUser, os.userInfo().username);
		const row = await auditRow(admin, 'verb=agent_register&outcome=success');
		assert.equal(row.actor.sub, 'agent:edge');
		assert.equal(row.cluster, 'edge');
		const fp = execBounded('ssh-keygen', ['-lf', '-'], { input: key }).toString().split(' ')[1];
		assert.equal(row.extra.fingerprint, fp);

		const again = await register({ token: t.token, cluster: 'edge', publicKey: newKey(keys, 'edge2') });
		assert.equal(again.status, 401);
		assert.deepEqual(again.json, REFUSED);
		const refused = await auditRow(admin, 'verb=agent_register&outcome=denied');
		assert.equal(refused.reason, 'the registration token was already used');
		assert.equal(refused.cluster, 'edge');
	});

	it('burns a token presented with the wrong cluster name', async () => {
		const t = await mint('edge');
		const wrong = await register({ token: t.token, cluster: 'edge-b', publicKey: newKey(keys, 'b1') });
		assert.equal(wrong.status, 401);
		assert.deepEqual(wrong.json, REFUSED);
		const row = await auditRow(admin, 'verb=agent_register&outcome=denied');
		assert.match(row.reason, /for another cluster/);
		assert.equal(row.cluster, 'edge', 'the row names the cluster the token was minted for');
		const right = await register({ token: t.token, cluster: 'edge', publicKey: newKey(keys, 'b2') });
		assert.equal(right.status, 401);
		assert.equal((await auditRow(admin, 'verb=agent_register&outcome=denied')).reason, 'the registration token was already used');
	});

	it('refuses a forged key (an ECDSA blob declared as Ed25519) and another cluster\'s key', async () => {
		const t = await mint('edge-b');
		const ecdsa = path.join(keys, 'ec');
		execBounded('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', ecdsa]);
		const blob = fs.readFileSync(`${ecdsa}.pub`, 'utf8').split(' ')[1];
		const forged = await register({ token: t.token, cluster: 'edge-b', publicKey: `ssh-ed25519 ${blob}` });
		assert.equal(forged.status, 401);
		assert.deepEqual(forged.json, REFUSED);
		assert.match((await auditRow(admin, 'verb=agent_register&outcome=denied')).reason, /not a well-formed ssh-ed25519 key/);

		const t2 = await mint('edge-b');
		const edgeKey = fs.readFileSync(path.join(keys, 'edge.pub'), 'utf8').trim();
		const stolen = await register({ token: t2.token, cluster: 'edge-b', publicKey: edgeKey });
		assert.equal(stolen.status, 401);
		assert.deepEqual(stolen.json, REFUSED);
		assert.equal((await auditRow(admin, 'verb=agent_register&outcome=denied')).reason, 'the public key is registered for another cluster');
	});

	it('refuses an expired token', async () => {
		const t = await mint('edge-b');
		await waitFor(`the token to pass its expiry ${t.expiresAt}`, () => Date.now() / 1000 > t.expiresAt + 1, { timeoutMs: (TTL + 5) * 1000 });
		const r = await register({ token: t.token, cluster: 'edge-b', publicKey: newKey(keys, 'late') });
		assert.equal(r.status, 401);
		assert.deepEqual(r.json, REFUSED);
		assert.equal((await auditRow(admin, 'verb=agent_register&outcome=denied')).reason, 'the registration token expired');
	});

	it('refuses an unknown token and a body without one, the same way', async () => {
		for (const body of [{ token: 'never-minted', cluster: 'edge', publicKey: newKey(keys, 'x') }, { cluster: 'edge' }]) {
			const r = await register(body);
			assert.equal(r.status, 401);
			assert.deepEqual(r.json, REFUSED);
		}
	});

	it('keeps every token out of the logs and the audit rows', async () => {
		const rows = (await admin.get('/api/audit?limit=200')).text;
		const logs = stack.logs();
		for (const token of minted) {
			assert.ok(!rows.includes(token), 'no audit row holds a token');
			assert.ok(!logs.includes(token), 'no log holds a token');
		}
		assert.ok(!rows.includes('sa-token-of-the-agent') && !logs.includes('sa-token-of-the-agent'), 'nor the agent\'s apiToken');
	});
});
