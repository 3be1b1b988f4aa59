// An idle shell is not cut by what sits between periscope-wsbridge and the upstream: a
// proxy that drops connections silent for 3 s (an L7 proxy's 60 s, an NLB's 350 s, scaled
// down) stands in front of the SSM data channel, and the node shell pings every second
// (nodeShell.upstreamPingSeconds: 1), so the shell stays open and answers after ten idle
// seconds. The control shows the proxy really cuts a silent connection.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { startStack, waitFor, NODES } from '../lib/stack.mjs';
import { signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { startIdleProxy } from '../lib/idle-proxy.mjs';

const IDLE_CUT_MS = 3000;
const PROMPT = /\$ $/m;

describe('upstream keepalive', () => {
	let stack;
	let admin;
	let proxy;
	before(async () => {
		stack = await startStack({ config: { nodeShell: { upstreamPingSeconds: 1 } } });
		admin = await signIn(stack, 'admin');
		proxy = await startIdleProxy({ targetPort: Number(new URL(stack.aws.ssmUrl).port), idleMs: IDLE_CUT_MS });
		stack.aws.setStreamBase(`wss://127.0.0.1:${proxy.port}`);
	});
	after(async () => {
		await proxy?.close();
		if (stack) await stack.stop();
	});

	it('the proxy cuts a connection that stays silent (control)', async () => {
		const cutsBefore = proxy.stats.cuts;
		const sock = net.connect(proxy.port, '127.0.0.1');
		sock.on('error', () => {});
		const closedAt = await new Promise((resolve) => sock.on('close', () => resolve(Date.now())));
		const conn = proxy.connections().at(-1);
		assert.equal(conn.cut, true);
		assert.ok(closedAt - conn.openedAt >= IDLE_CUT_MS - 50, `cut after ${closedAt - conn.openedAt} ms`);
		assert.equal(proxy.stats.cuts, cutsBefore + 1);
	});

	it('an idle node shell stays open through it: the data channel pings', async () => {
		const cutsBefore = proxy.stats.cuts;
		const t = await Terminal.open(stack, `/api/clusters/local/nodes/${NODES[0].name}/shell`, { cookie: `periscope_session=${admin.cookie()}` });
		await t.waitFrame('hello', 30000);
		await t.waitOutput(PROMPT);
		const channel = () => proxy.connections().find((c) => c.closedAt === null && c.bytesUp > 0);
		await waitFor('the data channel through the proxy', () => channel());
		const opened = channel().openedAt;
		// Idle: no keystroke, for more than three times the proxy's cut.
		await waitFor(`the data channel open through ${3 * IDLE_CUT_MS + 1000} ms of idle`, () => Date.now() - opened > 3 * IDLE_CUT_MS + 1000 || proxy.stats.cuts > cutsBefore, { timeoutMs: 30000 });
		assert.equal(proxy.stats.cuts, cutsBefore, 'the proxy cut the idle data channel');
		t.type('echo still-$((40+2))\r');
		await t.waitOutput(/still-42/, 15000);
		assert.ok(channel(), 'the same data channel is still open');
		assert.equal(channel().openedAt, opened);
		t.type('exit\r');
		const end = await t.end();
		assert.equal(end.reason, 'exit');
	});
});

// The same for the cluster shell: the proxy fronts the apiserver (all of periscope's calls go
// through it), and the exec stream pings every clusterShell.upstreamPingSeconds (1 s here,
// client-go's 5 s by default).
describe('upstream keepalive of the cluster shell', () => {
	let stack;
	let admin;
	let proxy;
	before(async () => {
		proxy = await startIdleProxy({ idleMs: IDLE_CUT_MS });
		stack = await startStack({
			config: { clusterShell: { upstreamPingSeconds: 1 } },
			kubeconfigServer: (api) => {
				proxy.setTarget(Number(new URL(api.url).port));
				return `https://127.0.0.1:${proxy.port}`;
			},
		});
		admin = await signIn(stack, 'admin');
	});
	after(async () => {
		if (stack) await stack.stop();
		await proxy?.close();
	});

	it('an idle cluster shell stays open through it: the exec stream pings', async () => {
		const t = await Terminal.open(stack, '/api/clusters/local/shell', { cookie: `periscope_session=${admin.cookie()}` });
		const heartbeat = setInterval(() => t.ping(Date.now()), 5000);
		try {
			await t.waitFrame('hello', 60000);
			await t.waitOutput(/[$#] $/m, 30000);
			const opened = Date.now();
			await waitFor(`the exec stream open through ${3 * IDLE_CUT_MS + 1000} ms of idle`, () => Date.now() - opened > 3 * IDLE_CUT_MS + 1000 || t.frames.some((f) => f.type === 'closed' || f.type === 'error'), { timeoutMs: 30000 });
			assert.ok(!t.frames.some((f) => f.type === 'closed' || f.type === 'error'), JSON.stringify(t.frames.filter((f) => f.type !== 'stdout')));
			t.type('echo cluster-$((40+2))\r');
			await t.waitOutput(/cluster-42/, 15000);
			// Idle connections of the short API calls may be cut; the exec stream was not.
			assert.ok(proxy.connections().some((c) => c.closedAt === null && Date.now() - c.openedAt > 3 * IDLE_CUT_MS), 'a connection (the exec stream) lived through the idle time');
			t.type('exit\r');
			await t.end();
		} finally {
			clearInterval(heartbeat);
		}
	});
});
