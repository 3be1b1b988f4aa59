// One agent under load (issue 12, docs/agent.md "Limits"): 20 cluster shells at once
// through one periscope-agent, a 4 MB output through the tunnel arriving intact, and the
// bound on an agent's concurrent streams (agents.maxStreams) refusing a shell with 503
// E_AGENT_BUSY before any upgrade.
import assert from 'node:assert/strict';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { EDGE_CLUSTER, startEdge, tunnelStatus } from '../lib/edge.mjs';
import { auditRow, signIn } from '../lib/session.mjs';
import { startStack, waitFor } from '../lib/stack.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { transfer } from '../lib/transfer.mjs';
import { chooseServer } from '../lib/webserver.mjs';

const PROMPT = /[$#] $/m;
const SHELLS = 20;

async function edgeStack(config) {
	const stack = await startStack({
		config: { ...config, clusters: [{ name: 'local', backend: 'kubeconfig', kubeconfigPath: '@KUBECONFIG@' }, EDGE_CLUSTER] },
	});
	try {
		const admin = await signIn(stack, 'admin');
		const edge = await startEdge(stack, admin);
		return { stack, admin, edge };
	} catch (e) {
		await stack.stop();
		throw e;
	}
}

describe(`one agent under load through ${chooseServer()}`, () => {
	let env;
	before(async () => {
		env = await edgeStack({ clusterShell: { maxSessionsTotal: SHELLS + 2, maxSessionsPerUser: SHELLS + 2 } });
	});
	after(async () => {
		if (env?.edge) await env.edge.stop();
		if (env?.stack) await env.stack.stop();
	});

	it(`carries ${SHELLS} cluster shells at once`, async () => {
		const { stack, admin } = env;
		const cookie = `periscope_session=${admin.cookie()}`;
		const shells = await Promise.all(Array.from({ length: SHELLS }, async (_, i) => {
			const t = await Terminal.open(stack, '/api/clusters/edge/shell', { cookie, timeoutMs: 60000 });
			const hello = await t.waitFrame('hello', 120000);
			await t.waitOutput(PROMPT, 120000);
			t.type(`echo shell-${i}-$((6*7))\r`);
			await t.waitOutput(new RegExp(`shell-${i}-42`), 60000);
			return { t, hello };
		}));
		assert.equal(new Set(shells.map((s) => s.hello.sessionId)).size, SHELLS);
		await Promise.all(shells.map(async ({ t }) => {
			t.send({ type: 'close' });
			await t.end(60000);
		}));
		for (const { hello } of shells) {
			const close = await auditRow(admin, `verb=cluster_shell_close&session_id=${hello.sessionId}`);
			assert.equal(close.cluster, 'edge');
		}
	});

	it('keeps lastSeen moving while the agent is connected (every 15 s)', async () => {
		const { admin } = env;
		const first = await tunnelStatus(admin);
		await waitFor('lastSeen to move past its first value', async () => (await tunnelStatus(admin)).lastSeen > first.lastSeen, { timeoutMs: 40000, intervalMs: 1000 });
		const later = await tunnelStatus(admin);
		assert.equal(later.connectedSince, first.connectedSince, 'the same connection');
	});

	it('delivers a 4 MB output through the tunnel intact', async () => {
		const { stack, admin } = env;
		const t = await Terminal.open(stack, '/api/clusters/edge/shell', { cookie: `periscope_session=${admin.cookie()}` });
		await t.waitFrame('hello', 60000);
		await t.waitOutput(PROMPT, 30000);
		const r = await transfer(t, 4 * 1024 * 1024);
		assert.equal(r.bytes, 4 * 1024 * 1024);
		assert.equal(r.got, r.sent, 'the bytes that arrived hash as the ones the shell wrote');
		t.send({ type: 'close' });
		await t.end(30000);
	});
});

describe(`an agent's stream bound through ${chooseServer()}`, () => {
	let env;
	before(async () => {
		env = await edgeStack({ agents: { maxStreams: 1 } });
	});
	after(async () => {
		if (env?.edge) await env.edge.stop();
		if (env?.stack) await env.stack.stop();
	});

	it('refuses a shell with 503 E_AGENT_BUSY while the agent carries maxStreams streams', async () => {
		const { stack, admin } = env;
		const cookie = `periscope_session=${admin.cookie()}`;
		const first = await Terminal.open(stack, '/api/clusters/edge/shell', { cookie });
		await first.waitFrame('hello', 60000);
		await first.waitOutput(PROMPT, 30000);
		// The first shell's exec stream is one stream through the tunnel: the bound is reached.
		const refused = await Terminal.open(stack, '/api/clusters/edge/shell', { cookie }).then(() => null, (e) => e);
		assert.ok(refused, 'the second upgrade is refused');
		assert.equal(refused.status, 503);
		assert.equal(refused.body.code, 'E_AGENT_BUSY');
		assert.equal(refused.body.limit, 1);
		assert.equal(refused.body.retryable, true);
		first.send({ type: 'close' });
		await first.end(30000);
	});
});
