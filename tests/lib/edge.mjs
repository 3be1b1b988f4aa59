// The local stack's agent cluster `edge` (docs/agent.md, issue 12): a second apiserver fake
// that periscope is never told how to dial (its in-cluster listener, on a port only the
// agent is given), and a real periscope-agent registered with a token an admin mints
// through the API, holding its tunnel through the stack's web server. The fake gets the
// RBAC of the shipped manifests (deploy/agent/agent.yaml and cluster-shell.yaml) and no
// more, so every edge test shows they are enough; periscope calls it as the agent's
// ServiceAccount, with a token the fake minted (TokenRequest standing in for the
// manifest's service-account-token Secret, which the fake's controllers do not fill).
//
//   const stack = await startStack({ config: { clusters: [..., EDGE_CLUSTER] } });
//   const edge = await startEdge(stack, admin);   // admin: a signed-in Browser
//   ... edge.api (the fake), edge.agent.stop() / edge.agent.start(), await edge.stop();
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';

import { parseAllDocuments } from 'yaml';

import { startApiserver } from '../fakes/apiserver/server.mjs';
import { within } from './deadline.mjs';
import { BUILD_DIR, NODES, ROOT, sanitizerEnv, waitFor } from './stack.mjs';

export const EDGE_NAME = 'edge';
export const EDGE_CLUSTER = { name: EDGE_NAME, backend: 'agent', region: 'eu-west-1', environment: 'edge' };
const AGENT_NAMESPACE = 'periscope-system';
const AGENT_SA = 'periscope-agent';
const RBAC_KINDS = new Set(['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);

// The ServiceAccount and RBAC objects of the shipped manifests (the rest: the Namespace the
// fake has already, the Secret, the volume claim and the Deployment this process plays).
export function manifestRbac() {
	return ['agent.yaml', 'cluster-shell.yaml'].flatMap((f) =>
		parseAllDocuments(fs.readFileSync(path.join(ROOT, 'deploy/agent', f), 'utf8')).map((d) => d.toJS()))
		.filter((o) => o && RBAC_KINDS.has(o.kind));
}

// A token of the agent's ServiceAccount (TokenRequest, as the admin).
function serviceAccountToken(api) {
	const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 86400 } });
	return new Promise((resolve, reject) => {
		const req = https.request(`${api.url}/api/v1/namespaces/${AGENT_NAMESPACE}/serviceaccounts/${AGENT_SA}/token`, {
			method: 'POST', ca: api.caPem,
			headers: { authorization: `Bearer ${api.adminToken}`, 'content-type': 'application/json' },
		}, (res) => {
			let text = '';
			res.on('data', (c) => { text += c; });
			res.on('end', () => (res.statusCode === 201 ? resolve(JSON.parse(text).status.token)
				: reject(new Error(`TokenRequest for ${AGENT_SA}: HTTP ${res.statusCode} ${text}`))));
		});
		req.on('error', reject);
		req.end(body);
	});
}

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
	const api = await startApiserver({ readyDelayMs: 200, nodes: NODES, anonymousAuth: true, ...apiserver });
	api.createObjects(manifestRbac());
	const apiToken = await serviceAccountToken(api);
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
		...sanitizerEnv(),
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
		await within(`the ${cluster} apiserver fake to close`, api.close(), 20000);
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
