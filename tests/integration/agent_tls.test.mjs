// An agent over https:// (docs/agent.md §3): periscope served with a certificate from a
// private CA, which the agent trusts through PERISCOPE_SERVER_CA for both its registration
// and its tunnel's wss:// WebSocket; and refuses to connect without it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { Agent, setGlobalDispatcher } from 'undici';

import { EDGE_CLUSTER, startEdge, tunnelStatus } from '../lib/edge.mjs';
import { signIn } from '../lib/session.mjs';
import { BUILD_DIR, startStack } from '../lib/stack.mjs';
import { chooseServer } from '../lib/webserver.mjs';

describe(`an agent over https through ${chooseServer()}`, () => {
	let stack;
	let admin;
	let edge;
	before(async () => {
		stack = await startStack({ tls: true, config: { clusters: [{ name: 'local', backend: 'kubeconfig', kubeconfigPath: '@KUBECONFIG@' }, EDGE_CLUSTER] } });
		setGlobalDispatcher(new Agent({ connect: { ca: stack.ca } }));
		admin = await signIn(stack, 'admin');
		edge = await startEdge(stack, admin);
	});
	after(async () => {
		if (edge) await edge.stop();
		if (stack) await stack.stop();
	});

	it('registers and holds its tunnel over wss:// with the server CA it was given', async () => {
		assert.ok(edge.agent.env.PERISCOPE_URL.startsWith('https://'));
		assert.equal((await tunnelStatus(admin)).status, 'connected');
		const r = await admin.get('/api/clusters/edge/nodes');
		assert.equal(r.status, 200, r.text);
	});

	it('does not open the tunnel WebSocket to a server it cannot verify', async () => {
		const r = await new Promise((resolve) => {
			const child = execFile(path.join(BUILD_DIR, 'agent/periscope-agent'), ['connect', `${stack.wsUrl}/agent/tunnel`],
				{ timeout: 20000 }, (error, stdout, stderr) => resolve({ code: error ? (error.code ?? 1) : 0, stderr }));
			child.stdin.end();
		});
		assert.equal(r.code, 1);
		assert.match(r.stderr, /cannot open wss:\/\/.*\/agent\/tunnel/);
	});
});
