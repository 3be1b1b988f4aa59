// An agent cluster end to end (issue 12, docs/agent.md): cluster `edge` is an apiserver fake
// periscope is never told how to dial; a real periscope-agent registered at start holds an
// OpenSSH remote forward over a WebSocket through the stack's web server. Its Nodes page, a
// node shell and a cluster shell (kubectl get pods) work through it; an agent reaches only
// its own port; a disconnected agent's cluster answers 503 E_CLUSTER_UNREACHABLE before any
// upgrade; an agent killed mid-session closes the shell with a reason and a close row, and
// the restarted agent serves the next shell within 30 s; a cluster removed from the config
// refuses its agent at the next connect.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { EDGE_CLUSTER, startEdge, tunnelStatus, mintToken } from '../lib/edge.mjs';
import { anonymous, auditRow, signIn } from '../lib/session.mjs';
import { BUILD_DIR, NODES, startStack, waitFor } from '../lib/stack.mjs';
import { execBounded } from '../lib/sync-child.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { chooseServer } from '../lib/webserver.mjs';
import { toYaml } from '../lib/yaml.mjs';

const PROMPT = /[$#] $/m;
const ONLINE = NODES[0].name;

function run(cmd, args, opts = {}) {
	return new Promise((resolve) => {
		execFile(cmd, args, { timeout: 30000, ...opts }, (error, stdout, stderr) => resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr }));
	});
}

describe(`an agent cluster through ${chooseServer()}`, () => {
	let stack;
	let admin;
	let edge;
	const cookie = () => `periscope_session=${admin.cookie()}`;
	before(async () => {
		stack = await startStack({
			config: {
				clusterShell: { maxSessionsTotal: 25, maxSessionsPerUser: 25 },
				clusters: [
					{ name: 'local', backend: 'kubeconfig', kubeconfigPath: '@KUBECONFIG@' },
					EDGE_CLUSTER,
					{ name: 'edge-b', backend: 'agent' },
				],
			},
		});
		admin = await signIn(stack, 'admin');
		edge = await startEdge(stack, admin);
	});
	after(async () => {
		if (edge) await edge.stop();
		if (stack) await stack.stop();
	});

	it('shows the tunnel in /api/clusters and lists the nodes through it', async () => {
		const t = await tunnelStatus(admin);
		assert.equal(t.status, 'connected');
		assert.ok(t.connectedSince > 0 && t.lastSeen >= t.connectedSince);
		const b = await tunnelStatus(admin, 'edge-b');
		assert.deepEqual(b, { status: 'unregistered', connected: false });
		const r = await admin.get('/api/clusters/edge/nodes');
		assert.equal(r.status, 200, r.text);
		assert.deepEqual(r.json.nodes.map((n) => n.name).sort(), NODES.map((n) => n.name).sort());
		// Answered by edge's apiserver, which periscope reached only through the tunnel.
		assert.ok(edge.api.state.requests.some((q) => q.path?.startsWith('/api/v1/nodes') && q.user?.username === 'system:serviceaccount:periscope-system:periscope-agent'),
			'edge\'s fake served the node list to the agent\'s ServiceAccount');
		assert.ok(edge.api.state.requests.some((q) => q.path === '/api/v1/namespaces/kube-public/configmaps/cluster-info' && q.user?.username === 'system:anonymous'),
			'the CA came from cluster-info, read anonymously through the tunnel');
	});

	it('opens a cluster shell whose kubectl get pods runs on edge', async () => {
		const t = await Terminal.open(stack, '/api/clusters/edge/shell', { cookie: cookie() });
		const hello = await t.waitFrame('hello', 60000);
		assert.equal(hello.cluster, 'edge');
		await t.waitOutput(PROMPT, 30000);
		t.type('kubectl get pods -n periscope-system\r');
		await t.waitOutput(new RegExp(`periscope-shell-${hello.sessionId}\\s+1/1\\s+Running`), 30000);
		assert.ok(!stack.api.state.requests.some((q) => q.path?.includes(hello.sessionId)), 'the stack\'s own apiserver saw nothing of it');
		t.send({ type: 'close' });
		await t.end(30000);
		const close = await auditRow(admin, `verb=cluster_shell_close&session_id=${hello.sessionId}`);
		assert.equal(close.cluster, 'edge');
	});

	it('opens a node shell on an edge node (SSM does not go through the tunnel)', async () => {
		const t = await Terminal.open(stack, `/api/clusters/edge/nodes/${ONLINE}/shell`, { cookie: cookie() });
		const hello = await t.waitFrame('hello', 60000);
		assert.equal(hello.kind, 'node_shell');
		assert.equal(hello.cluster, 'edge');
		await t.waitOutput(PROMPT, 30000);
		t.type('echo node-$((40+2))\r');
		await t.waitOutput(/node-42/);
		t.send({ type: 'close' });
		await t.end(30000);
	});

	it('lets an agent reach nothing but its own port', async () => {
		// edge-b registers (a fresh key), so it has a port of its own.
		const keyDir = fs.mkdtempSync(path.join(stack.runDir, 'b-key-'));
		execBounded('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(keyDir, 'id')]);
		const reg = await anonymous(stack, '/api/agents/register', { method: 'POST', json: {
			token: await mintToken(admin, 'edge-b'), cluster: 'edge-b', apiToken: 'b-token', caSha256: 'cd'.repeat(32),
			publicKey: fs.readFileSync(path.join(keyDir, 'id.pub'), 'utf8').trim(),
		} });
		assert.equal(reg.status, 200, reg.text);
		const portA = JSON.parse(fs.readFileSync(path.join(edge.agent.env.PERISCOPE_AGENT_STATE, 'registration.json'), 'utf8')).tunnelPort;
		const portB = reg.json.tunnelPort;
		assert.notEqual(portA, portB);
		const state = edge.agent.env.PERISCOPE_AGENT_STATE;
		const wsUrl = `${stack.wsUrl}/agent/tunnel`;
		const ssh = (extra) => run('ssh', ['-F', '/dev/null', '-N', '-T', '-i', path.join(state, 'id_ed25519'),
			'-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'ExitOnForwardFailure=yes',
			'-o', `UserKnownHostsFile=${path.join(state, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes',
			'-o', 'HostKeyAlias=periscope-tunnel', '-o', `ProxyCommand=${path.join(BUILD_DIR, 'agent/periscope-agent')} connect ${wsUrl}${stack.caFile ? ` ${stack.caFile}` : ''}`,
			...extra, `${reg.json.sshUser}@periscope-tunnel`]);
		const listen = await ssh(['-R', `127.0.0.1:${portB}:127.0.0.1:1`]);
		assert.notEqual(listen.code, 0);
		assert.match(listen.stderr, new RegExp(`remote port forwarding failed for listen port ${portB}`));
		const dial = await ssh(['-W', `127.0.0.1:${portB}`]);
		assert.notEqual(dial.code, 0);
		assert.match(dial.stderr, /administratively prohibited/);
		const command = await run('ssh', ['-F', '/dev/null', '-T', '-i', path.join(state, 'id_ed25519'), '-o', 'BatchMode=yes',
			'-o', `UserKnownHostsFile=${path.join(state, 'known_hosts')}`, '-o', 'HostKeyAlias=periscope-tunnel',
			'-o', `ProxyCommand=${path.join(BUILD_DIR, 'agent/periscope-agent')} connect ${wsUrl}${stack.caFile ? ` ${stack.caFile}` : ''}`,
			`${reg.json.sshUser}@periscope-tunnel`, 'id']);
		assert.notEqual(command.code, 0, 'no command runs');
		assert.doesNotMatch(command.stdout, /uid=/);
	});

	it('refuses the agent of a cluster removed from the config at its next connect', async () => {
		// The same database, a configuration without edge: the tunnel offers sshd no key of it.
		const cfg = structuredClone(stack.config);
		cfg.clusters = cfg.clusters.filter((c) => c.name !== 'edge');
		const cfgPath = path.join(stack.runDir, 'without-edge.yaml');
		fs.writeFileSync(cfgPath, toYaml(cfg));
		const state = edge.agent.env.PERISCOPE_AGENT_STATE;
		const r = await run('ssh', ['-F', '/dev/null', '-N', '-T', '-i', path.join(state, 'id_ed25519'), '-o', 'IdentitiesOnly=yes',
			'-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${path.join(state, 'known_hosts')}`, '-o', 'HostKeyAlias=periscope-tunnel',
			'-o', `ProxyCommand=${path.join(BUILD_DIR, 'agent/periscope-agent-tunnel')}`, `${os.userInfo().username}@periscope-tunnel`],
		{ env: { PATH: process.env.PATH, PERISCOPE_CONFIG: cfgPath } });
		assert.notEqual(r.code, 0);
		assert.match(r.stderr, /Permission denied \(publickey\)/);
		const row = await auditRow(admin, 'verb=agent_connect&outcome=denied');
		assert.match(row.reason, /no key of a registered agent of a configured agent cluster/);
	});

	it('rotates the key when the agent gets a new token: same port, the old key refused', async () => {
		const state = edge.agent.env.PERISCOPE_AGENT_STATE;
		const before = JSON.parse(fs.readFileSync(path.join(state, 'registration.json'), 'utf8'));
		const oldKey = path.join(stack.runDir, 'old_id_ed25519');
		fs.copyFileSync(path.join(state, 'id_ed25519'), oldKey);
		fs.chmodSync(oldKey, 0o600);
		const oldFp = execBounded('ssh-keygen', ['-lf', path.join(state, 'id_ed25519.pub')]).toString().split(' ')[1];
		await edge.agent.stop();
		fs.writeFileSync(edge.agent.files.token, await mintToken(admin));
		edge.agent.start();
		await waitFor('edge to register again', async () => (await auditRow(admin, 'verb=agent_register&outcome=success&cluster=edge')).extra.fingerprint !== oldFp, { timeoutMs: 30000 });
		await waitFor('edge\'s agent to reconnect with its new key', async () => (await tunnelStatus(admin))?.connected === true, { timeoutMs: 30000 });
		const after = JSON.parse(fs.readFileSync(path.join(state, 'registration.json'), 'utf8'));
		assert.equal(after.tunnelPort, before.tunnelPort, 'the cluster keeps its port');
		const nodes = await admin.get('/api/clusters/edge/nodes');
		assert.equal(nodes.status, 200, 'served with the new key (and the CA read again from cluster-info)');
		const old = await run('ssh', ['-F', '/dev/null', '-N', '-T', '-i', oldKey, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
			'-o', `UserKnownHostsFile=${path.join(state, 'known_hosts')}`, '-o', 'HostKeyAlias=periscope-tunnel',
			'-o', `ProxyCommand=${path.join(BUILD_DIR, 'agent/periscope-agent')} connect ${stack.wsUrl}/agent/tunnel${stack.caFile ? ` ${stack.caFile}` : ''}`,
			`${after.sshUser}@periscope-tunnel`]);
		assert.notEqual(old.code, 0);
		assert.match(old.stderr, /Permission denied \(publickey\)/);
	});

	it('trusts only the pinned cluster CA: an agent forwarding elsewhere, or pinning another CA, is not believed', async () => {
		const state = edge.agent.env.PERISCOPE_AGENT_STATE;
		const fingerprint = () => execBounded('ssh-keygen', ['-lf', path.join(state, 'id_ed25519.pub')]).toString().split(' ')[1];
		const restart = async (change, what) => {
			await edge.agent.stop();
			// The old tunnel must be seen gone first: its sshd can still hold the forward for a
			// moment, and "connected" would then describe it, not the restarted agent's (the
			// impostor check met the old tunnel and got 503 from the gap after it).
			await waitFor(`${what}: the old tunnel gone`, async () => (await tunnelStatus(admin))?.connected === false, { timeoutMs: 30000 });
			const fp = fingerprint();
			const reregister = change();
			edge.agent.start();
			if (reregister) await waitFor(`${what}: a new registration`, async () => (await auditRow(admin, 'verb=agent_register&outcome=success&cluster=edge')).extra.fingerprint !== fp, { timeoutMs: 30000 });
			await waitFor(`${what}: the tunnel`, async () => (await tunnelStatus(admin))?.connected === true, { timeoutMs: 30000 });
		};
		const env = edge.agent.env;
		const honest = { apiserver: env.PERISCOPE_APISERVER, ca: fs.readFileSync(edge.agent.files.apiCa, 'utf8') };
		// 1. The same registration, forwarding to another apiserver (another CA): TLS fails.
		await restart(() => {
			env.PERISCOPE_APISERVER = new URL(edge.api.url).host;
			return false;
		}, 'an impostor apiserver');
		const impostor = await admin.get('/api/clusters/edge/nodes');
		assert.equal(impostor.status, 502, impostor.text);
		assert.match(impostor.json.err, /certificate|SSL|verif/i);
		// 2. Registering with the pin of another CA: cluster-info's CA does not match it.
		const token = await mintToken(admin);
		await restart(() => {
			env.PERISCOPE_APISERVER = honest.apiserver;
			fs.writeFileSync(edge.agent.files.apiCa, edge.api.caPem);
			fs.writeFileSync(edge.agent.files.token, token);
			return true;
		}, 'a registration pinning another CA');
		const pinned = await admin.get('/api/clusters/edge/nodes');
		assert.equal(pinned.status, 502, pinned.text);
		assert.match(pinned.json.err, /does not match the one the agent registered/);
		// 3. Honest again.
		const again = await mintToken(admin);
		await restart(() => {
			fs.writeFileSync(edge.agent.files.apiCa, honest.ca);
			fs.writeFileSync(edge.agent.files.token, again);
			return true;
		}, 'an honest registration');
		assert.equal((await admin.get('/api/clusters/edge/nodes')).status, 200);
	});

	it('answers 503 E_CLUSTER_UNREACHABLE while the agent is down, and serves again once it is back', async () => {
		await edge.agent.stop();
		await waitFor('edge\'s tunnel to be marked down', async () => (await tunnelStatus(admin))?.connected === false, { timeoutMs: 30000 });
		const refused = await Terminal.open(stack, '/api/clusters/edge/shell', { cookie: cookie() }).then(() => null, (e) => e);
		assert.ok(refused, 'the upgrade is refused');
		assert.equal(refused.status, 503);
		assert.equal(refused.body.code, 'E_CLUSTER_UNREACHABLE');
		assert.equal(refused.body.retryable, true);
		const nodes = await admin.get('/api/clusters/edge/nodes');
		assert.equal(nodes.status, 503);
		assert.equal(nodes.json.code, 'E_CLUSTER_UNREACHABLE');
		const preflight = await admin.get(`/api/clusters/edge/nodes/${ONLINE}/shell/preflight`);
		assert.equal(preflight.status, 503);
		assert.equal(preflight.json.code, 'E_CLUSTER_UNREACHABLE');
		const down = await auditRow(admin, 'verb=agent_disconnect&cluster=edge');
		assert.equal(down.actor.sub, 'agent:edge');

		edge.agent.start();
		await waitFor('edge\'s agent to reconnect', async () => (await tunnelStatus(admin))?.connected === true, { timeoutMs: 30000 });
		const t = await Terminal.open(stack, '/api/clusters/edge/shell', { cookie: cookie() });
		const hello = await t.waitFrame('hello', 60000);
		await t.waitOutput(PROMPT, 30000);
		t.send({ type: 'close' });
		await t.end(30000);
		assert.equal(hello.cluster, 'edge');
	});

	it('closes a shell with a reason and a close row when the agent is killed, and the next shell works within 30 s', async () => {
		const t = await Terminal.open(stack, '/api/clusters/edge/shell', { cookie: cookie() });
		const hello = await t.waitFrame('hello', 60000);
		await t.waitOutput(PROMPT, 30000);
		await edge.agent.stop('SIGKILL');
		const killedAt = Date.now();
		const closed = await t.until('the shell to end after the agent was killed', () =>
			t.frames.find((f) => f.type === 'error' || f.type === 'closed'), 60000);
		const close = await auditRow(admin, `verb=cluster_shell_close&session_id=${hello.sessionId}`);
		// sshd ends the forwarded streams with the agent's connection, and its listener: the
		// bridge tells that from a stream that merely closed.
		assert.equal(close.reason, 'agent_disconnected', `the close row's reason; the terminal got ${JSON.stringify(closed)}`);
		assert.equal(closed.type, 'closed');
		assert.equal(closed.reason, 'agent_disconnected');

		assert.ok(Date.now() - killedAt < 60000);

		edge.agent.start();
		const restartedAt = Date.now();
		await waitFor('edge\'s agent to reconnect after the kill', async () => (await tunnelStatus(admin))?.connected === true, { timeoutMs: 30000 });
		const next = await Terminal.open(stack, '/api/clusters/edge/shell', { cookie: cookie() });
		await next.waitFrame('hello', 30000);
		await next.waitOutput(PROMPT, 30000);
		const took = Date.now() - restartedAt;
		next.send({ type: 'close' });
		await next.end(30000);
		assert.ok(took < 30000, `the next shell had its prompt ${took} ms after the agent restarted`);
	});
});
