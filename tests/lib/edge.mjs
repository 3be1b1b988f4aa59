// The local stack's agent cluster `edge` (docs/agent.md, issue 12): a second apiserver fake
// that periscope is never told how to dial (its in-cluster listener, on a port only the
// agent is given), and a real periscope-agent registered with a token an admin mints
// through the API, holding its tunnel through the stack's web server.
//
//   const stack = await startStack({ config: { clusters: [..., EDGE_CLUSTER] } });
//   const edge = await startEdge(stack, admin);   // admin: a signed-in Browser
//   ... edge.api (the fake), edge.agent.stop() / edge.agent.start(), await edge.stop();
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { startApiserver } from '../fakes/apiserver/server.mjs';
import { clusterInfoRbac, nodeReaderRbac, provisionerRbac, tierBindings } from './cluster-rbac.mjs';
import { within } from './deadline.mjs';
import { BUILD_DIR, NODES, waitFor } from './stack.mjs';

export const EDGE_NAME = 'edge';
export const EDGE_CLUSTER = { name: EDGE_NAME, backend: 'agent', region: 'eu-west-1', environment: 'edge' };
// The identity the agent registers for periscope's calls: in a real cluster the agent's
// ServiceAccount token; here a static token of the fake (its --token-auth-file).
const AGENT_USER = 'periscope-agent';

// The tunnel status /api/clusters shows for edge.
export async function tunnelStatus(browser, cluster = EDGE_NAME) {
	const r = await browser.get('/api/clusters');
	return r.json?.clusters?.find((c) => c.name === cluster)?.tunnel;
}

export async function mintToken(browser, cluster = EDGE_NAME) {
	const r = await browser.request('/api/agents/tokens', { method: 'POST', json: { cluster } });
	if (r.status !== 201) throw new Error(`minting an agent token for ${cluster}: HTTP ${r.status} ${r.text}`);
	return r.json.token;
}

export async function startEdge(stack, admin, { cluster = EDGE_NAME, apiserver = {} } = {}) {
	const dir = path.join(stack.runDir, `agent-${cluster}`);
	fs.mkdirSync(path.join(dir, 'state'), { recursive: true, mode: 0o700 });
	const apiToken = `agent-sa.${randomBytes(24).toString('base64url')}`;
	const api = await startApiserver({
		readyDelayMs: 200, nodes: NODES, anonymousAuth: true,
		users: [{ username: AGENT_USER, token: apiToken }],
		...apiserver,
	});
	const identity = { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: AGENT_USER };
	api.createObjects([
		...provisionerRbac({ identity }), ...nodeReaderRbac({ identity }), ...tierBindings(), ...clusterInfoRbac(),
	]);
	const files = {
		token: path.join(dir, 'registration-token'),
		apiToken: path.join(dir, 'sa-token'),
		apiCa: path.join(dir, 'cluster-ca.crt'),
	};
	fs.writeFileSync(files.token, await mintToken(admin, cluster), { mode: 0o600 });
	fs.writeFileSync(files.apiToken, apiToken, { mode: 0o600 });
	fs.writeFileSync(files.apiCa, api.clusterCaPem);
	const env = {
		PATH: process.env.PATH,
		PERISCOPE_URL: stack.url,
		PERISCOPE_CLUSTER: cluster,
		PERISCOPE_AGENT_STATE: path.join(dir, 'state'),
		PERISCOPE_AGENT_TOKEN_FILE: files.token,
		// The in-cluster listener: what kubernetes.default.svc is inside a pod.
		PERISCOPE_APISERVER: new URL(api.clusterUrl).host,
		PERISCOPE_APISERVER_TOKEN_FILE: files.apiToken,
		PERISCOPE_APISERVER_CA: files.apiCa,
		...(stack.caFile ? { PERISCOPE_SERVER_CA: stack.caFile } : {}),
		...(process.env.ASAN_OPTIONS ? { ASAN_OPTIONS: process.env.ASAN_OPTIONS } : {}),
	};
	let child = null;
	let exited = null;
	const agent = {
		env, dir, files,
		get pid() {
			return child?.pid;
		},
		start() {
			const log = fs.openSync(path.join(stack.runDir, `periscope-agent-${cluster}.log`), 'a');
			child = spawn(path.join(BUILD_DIR, 'agent/periscope-agent'), [], { env, stdio: ['ignore', log, log], detached: true });
			fs.closeSync(log);
			exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
		},
		// Ends the agent (its ssh and connector with it: they are its process group).
		async stop(signal = 'SIGTERM') {
			if (!child || child.exitCode !== null || child.signalCode !== null) return exited;
			try {
				process.kill(-child.pid, signal);
			} catch {
				// gone already
			}
			const t = setTimeout(() => {
				try {
					process.kill(-child.pid, 'SIGKILL');
				} catch {
					// gone
				}
			}, 5000);
			const r = await exited;
			clearTimeout(t);
			return r;
		},
		exited: () => exited,
	};
	agent.start();
	const up = async () => (await tunnelStatus(admin, cluster))?.connected === true;
	try {
		await waitFor(`the agent of ${cluster} to connect its tunnel`, up, { timeoutMs: 30000 });
	} catch (e) {
		await agent.stop();
		await api.close();
		const log = fs.readFileSync(path.join(stack.runDir, `periscope-agent-${cluster}.log`), 'utf8');
		e.message += `\n--- periscope-agent ---\n${log.slice(-3000)}\n--- stack ---\n${stack.logs()}`;
		throw e;
	}
	return {
		api, agent, cluster,
		async stop() {
			await agent.stop();
			await within(`the ${cluster} apiserver fake to close`, api.close(), 20000);
		},
	};
}
