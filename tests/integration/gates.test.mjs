// Every terminal gate proven at each layer that enforces it, without the other layers'
// help (a layer that silently stopped checking must fail here, even when another layer
// would have refused anyway):
// - periscope-wsbridge started on its own, exactly as websocketd starts it: CGI variables
//   (libwebsocketd/env.go createEnv: REQUEST_URI, SERVER_*, REMOTE_*, REMOTE_USER cleared)
//   plus one HTTP_* per request header, which a client chooses freely. It must answer a
//   refusal with one error frame and nothing else;
// - the FastCGI authorizer asked directly over its socket, with no web server in front;
// - the whole stack with websocketd's own --origin filter off, so that what refuses a
//   foreign page is periscope's own Origin check.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { fcgiRequest } from '../lib/fcgi-client.mjs';
import { BUILD_DIR, NODES, deepMerge, startStack } from '../lib/stack.mjs';
import { signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { toYaml } from '../lib/yaml.mjs';
import { stackSql } from '../lib/stack_sql.mjs';

const CLUSTER_SHELL = '/api/clusters/local/shell';
const NODE_SHELL = `/api/clusters/local/nodes/${NODES[0].name}/shell`;
const KINDS = [['cluster shell', CLUSTER_SHELL], ['node shell', NODE_SHELL]];
// Headers a client may send to claim an identity; none may count.
const FORGED_IDENTITY = {
	'Remote-User': 'user-admin',
	'X-Remote-User': 'user-admin',
	'X-Forwarded-User': 'user-admin',
	'X-Forwarded-Groups': 'platform-admins',
	'X-Periscope-User': 'user-admin',
	'Variable-Periscope-User': 'user-admin',
	'X-Auth-Request-User': 'user-admin',
	Authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyLWFkbWluIn0.',
};

function headerVariables(headers) {
	return Object.fromEntries(Object.entries(headers).map(([k, v]) => [`HTTP_${k.toUpperCase().replace(/-/g, '_')}`, v]));
}

// The environment websocketd gives the program it forks for one connection.
function websocketdEnv(stack, { uri, cookie, origin, headers = {}, configPath = stack.configPath }) {
	const u = new URL(uri, stack.url);
	const env = {
		PATH: process.env.PATH,
		PERISCOPE_CONFIG: configPath,
		...(process.env.ASAN_OPTIONS ? { ASAN_OPTIONS: process.env.ASAN_OPTIONS } : {}),
		SERVER_SOFTWARE: 'websocketd/0.4.1',
		REMOTE_ADDR: '127.0.0.1',
		REMOTE_HOST: '127.0.0.1',
		SERVER_NAME: '127.0.0.1',
		SERVER_PORT: String(stack.wsPort),
		SERVER_PROTOCOL: 'HTTP/1.1',
		GATEWAY_INTERFACE: 'CGI/1.1',
		REQUEST_METHOD: 'GET',
		SCRIPT_NAME: '',
		PATH_INFO: u.pathname,
		PATH_TRANSLATED: u.pathname,
		QUERY_STRING: u.search.slice(1),
		AUTH_TYPE: '',
		CONTENT_LENGTH: '',
		CONTENT_TYPE: '',
		REMOTE_IDENT: '',
		REMOTE_USER: '',
		UNIQUE_ID: randomBytes(8).toString('hex'),
		REMOTE_PORT: '40000',
		REQUEST_URI: uri,
		...headerVariables({
			Host: `127.0.0.1:${stack.wsPort}`,
			Upgrade: 'websocket',
			Connection: 'Upgrade',
			'Sec-Websocket-Version': '13',
			'Sec-Websocket-Key': randomBytes(16).toString('base64'),
			...(cookie ? { Cookie: cookie } : {}),
			...(origin ? { Origin: origin } : {}),
			...headers,
		}),
	};
	return env;
}

// One periscope-wsbridge, as websocketd runs it: frames come back on stdout, one per line.
class Bridge {
	constructor(stack, opts) {
		this.uri = opts.uri;
		this.frames = [];
		this.raw = '';
		this.child = spawn(path.join(BUILD_DIR, 'wsbridge/periscope-wsbridge'), [], {
			env: websocketdEnv(stack, opts),
			stdio: ['pipe', 'pipe', 'pipe'],
		});
		this.stderr = '';
		this.child.stderr.on('data', (d) => { this.stderr += d; });
		this.child.stdout.on('data', (d) => {
			this.raw += d;
			const lines = this.raw.split('\n');
			this.raw = lines.pop();
			for (const line of lines) this.frames.push(JSON.parse(line));
		});
		this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
	}

	async until(what, predicate, timeoutMs = 30000) {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const v = predicate();
			if (v) return v;
			if (Date.now() > deadline) {
				this.child.kill('SIGKILL');
				throw new Error(`timed out waiting for ${what} from periscope-wsbridge (${this.uri}); frames: ${JSON.stringify(this.frames)}; stderr: ${this.stderr.slice(-1000)}`);
			}
			await new Promise((r) => setTimeout(r, 25));
		}
	}

	// Waits for the process to end on its own: { code, frames }.
	async end(timeoutMs = 30000) {
		const done = { exited: false };
		this.exited.then(() => { done.exited = true; });
		await this.until('its exit', () => done.exited, timeoutMs);
		return { ...(await this.exited), frames: this.frames };
	}

	send(frame) {
		this.child.stdin.write(`${JSON.stringify(frame)}\n`);
	}
}

// A refusal: the bridge must answer with exactly one fatal error frame and exit non-zero.
async function refusedByBridge(stack, opts) {
	const b = new Bridge(stack, opts);
	const { code, frames } = await b.end();
	assert.equal(frames.length, 1, `one frame, got ${JSON.stringify(frames)}`);
	const [frame] = frames;
	assert.equal(frame.type, 'error', JSON.stringify(frame));
	assert.equal(frame.fatal, true);
	assert.notEqual(code, 0, 'a refused session exits non-zero');
	return frame;
}

function shellRows(stack) {
	return Number(stackSql(stack, 'SELECT count(*) FROM shell_sessions'));
}

// The stack's periscope.yaml with a change, as a file of its own for a bridge to load.
function configVariant(stack, name, patch) {
	const file = path.join(stack.runDir, `variant-${name}.yaml`);
	fs.writeFileSync(file, toYaml(deepMerge(structuredClone(stack.config), patch)));
	return file;
}

describe('periscope-wsbridge on its own, started as websocketd starts it', () => {
	let stack;
	let admin;
	let viewer;
	let adminCookie;
	before(async () => {
		stack = await startStack({
			config: {
				clusters: [
					{ name: 'local', backend: 'kubeconfig', kubeconfigPath: '@KUBECONFIG@', region: 'eu-west-1' },
					{ name: 'noshell', backend: 'kubeconfig', kubeconfigPath: '@KUBECONFIG@', clusterShell: { enabled: false } },
				],
			},
		});
		admin = await signIn(stack, 'admin');
		viewer = await signIn(stack, 'viewer');
		adminCookie = `periscope_session=${admin.cookie()}`;
	});
	after(async () => stack && (await stack.stop()));

	it('admits the admin from this page (the harness is what websocketd does), then closes on request', async () => {
		const b = new Bridge(stack, { uri: CLUSTER_SHELL, cookie: adminCookie, origin: stack.url });
		const hello = await b.until('the hello frame', () => b.frames.find((f) => f.type === 'hello'));
		assert.equal(hello.kind, 'cluster_shell');
		b.send({ type: 'close' });
		const { code, frames } = await b.end();
		assert.deepEqual(frames.at(-1), { type: 'closed', reason: 'client_closed', exitCode: -1 });
		assert.equal(code, 0);
	});

	for (const [kind, uri] of KINDS) {
		it(`${kind}: no session cookie is E_AUTH whatever identity headers the client sent`, async () => {
			const rows = shellRows(stack);
			const frame = await refusedByBridge(stack, { uri, origin: stack.url, headers: FORGED_IDENTITY });
			assert.equal(frame.code, 'E_AUTH');
			const forgedCookie = await refusedByBridge(stack, {
				uri, origin: stack.url, cookie: `periscope_session=${'A'.repeat(43)}; user=user-admin`, headers: FORGED_IDENTITY,
			});
			assert.equal(forgedCookie.code, 'E_AUTH');
			assert.equal(shellRows(stack), rows, 'a refused session takes no slot');
		});

		it(`${kind}: a missing or foreign page Origin is E_ORIGIN, even with the admin's cookie`, async () => {
			const port = new URL(stack.url).port;
			for (const origin of [undefined, 'http://evil.example', `http://127.0.0.1:${Number(port) + 1}`, `http://127.0.0.1:${port}.evil.example`, 'null']) {
				const frame = await refusedByBridge(stack, { uri, cookie: adminCookie, origin });
				assert.equal(frame.code, 'E_ORIGIN', `origin ${origin}`);
			}
		});

		it(`${kind}: a viewer's cookie is E_FORBIDDEN naming the tier`, async () => {
			const frame = await refusedByBridge(stack, { uri, cookie: `periscope_session=${viewer.cookie()}`, origin: stack.url, headers: FORGED_IDENTITY });
			assert.equal(frame.code, 'E_FORBIDDEN');
			assert.equal(frame.tier, 'read');
			assert.deepEqual(frame.allowed_tiers, ['admin']);
		});

		it(`${kind}: outside tier mode it is refused with the mode named`, async () => {
			const configPath = configVariant(stack, 'shared', { auth: { authorization: { mode: 'shared' } } });
			const frame = await refusedByBridge(stack, { uri, cookie: adminCookie, origin: stack.url, configPath });
			assert.equal(frame.code, uri === CLUSTER_SHELL ? 'E_CLUSTER_SHELL_REQUIRES_TIER' : 'E_NODE_SHELL_REQUIRES_TIER');
			assert.equal(frame.current_mode, 'shared');
		});

		it(`${kind}: at the per-user cap the next session is E_CAP_USER listing the open one`, async () => {
			const configPath = configVariant(stack, 'cap1', { clusterShell: { maxSessionsPerUser: 1 }, nodeShell: { maxSessionsPerUser: 1 } });
			const first = new Bridge(stack, { uri, cookie: adminCookie, origin: stack.url, configPath });
			try {
				const hello = await first.until('the first session\'s hello', () => first.frames.find((f) => f.type === 'hello'));
				const frame = await refusedByBridge(stack, { uri, cookie: adminCookie, origin: stack.url, configPath });
				assert.equal(frame.code, 'E_CAP_USER');
				assert.equal(frame.limit, 1);
				assert.deepEqual(frame.activeSessions.map((s) => s.id), [hello.sessionId]);
			} finally {
				first.send({ type: 'close' });
				await first.end();
			}
		});
	}

	it('cluster shell: a cluster with the shell disabled is E_CLUSTER_SHELL_DISABLED', async () => {
		const frame = await refusedByBridge(stack, { uri: '/api/clusters/noshell/shell', cookie: adminCookie, origin: stack.url });
		assert.equal(frame.code, 'E_CLUSTER_SHELL_DISABLED');
	});

	it('cluster shell: the whole feature off is E_CLUSTER_SHELL_DISABLED', async () => {
		const configPath = configVariant(stack, 'no-cluster-shell', { clusterShell: { enabled: false } });
		const frame = await refusedByBridge(stack, { uri: CLUSTER_SHELL, cookie: adminCookie, origin: stack.url, configPath });
		assert.equal(frame.code, 'E_CLUSTER_SHELL_DISABLED');
	});

	it('node shell: nodeShell.enabled false is E_NODE_SHELL_DISABLED', async () => {
		const configPath = configVariant(stack, 'no-node-shell', { nodeShell: { enabled: false } });
		const frame = await refusedByBridge(stack, { uri: NODE_SHELL, cookie: adminCookie, origin: stack.url, configPath });
		assert.equal(frame.code, 'E_NODE_SHELL_DISABLED');
	});

	it('an unknown cluster or a path that is no terminal is E_NOT_FOUND', async () => {
		for (const uri of ['/api/clusters/nope/shell', '/api/clusters', '/api/clusters/local/nodes/x/y/shell']) {
			const frame = await refusedByBridge(stack, { uri, cookie: adminCookie, origin: stack.url });
			assert.equal(frame.code, 'E_NOT_FOUND', uri);
		}
	});
});

describe('the FastCGI authorizer asked directly, with no web server in front', () => {
	let stack;
	let admin;
	let viewer;
	before(async () => {
		stack = await startStack();
		admin = await signIn(stack, 'admin');
		viewer = await signIn(stack, 'viewer');
	});
	after(async () => stack && (await stack.stop()));

	// The variables lighttpd and Apache pass to an authorizer for an upgrade request.
	function authorize(uri, { cookie, origin, headers = {}, extra = {} } = {}) {
		return fcgiRequest(stack.fcgiAddress, {
			GATEWAY_INTERFACE: 'CGI/1.1',
			SERVER_SOFTWARE: 'test',
			SERVER_PROTOCOL: 'HTTP/1.1',
			SERVER_NAME: '127.0.0.1',
			SERVER_PORT: String(stack.port),
			REMOTE_ADDR: '127.0.0.1',
			REQUEST_METHOD: 'GET',
			REQUEST_URI: uri,
			...headerVariables({
				Host: `127.0.0.1:${stack.port}`, Upgrade: 'websocket', Connection: 'Upgrade',
				...(cookie ? { Cookie: cookie } : {}), ...(origin ? { Origin: origin } : {}), ...headers,
			}),
			...extra,
		});
	}

	for (const [kind, uri] of KINDS) {
		it(`${kind}: passes the admin from this page`, async () => {
			const r = await authorize(uri, { cookie: `periscope_session=${admin.cookie()}`, origin: stack.url });
			assert.equal(r.status, 200, r.body);
		});

		it(`${kind}: 401 E_AUTH without a session, whatever the client or the server variables claim`, async () => {
			const r = await authorize(uri, { origin: stack.url, headers: FORGED_IDENTITY, extra: { REMOTE_USER: 'user-admin', AUTH_TYPE: 'Basic' } });
			assert.deepEqual([r.status, r.json?.code], [401, 'E_AUTH'], r.body);
		});

		it(`${kind}: 403 E_ORIGIN for an upgrade from no page or a foreign one`, async () => {
			for (const origin of [undefined, 'http://evil.example', 'null']) {
				const r = await authorize(uri, { cookie: `periscope_session=${admin.cookie()}`, origin });
				assert.deepEqual([r.status, r.json?.code], [403, 'E_ORIGIN'], `origin ${origin}: ${r.body}`);
			}
		});

		it(`${kind}: 403 E_FORBIDDEN for a viewer`, async () => {
			const r = await authorize(uri, { cookie: `periscope_session=${viewer.cookie()}`, origin: stack.url, headers: FORGED_IDENTITY });
			assert.deepEqual([r.status, r.json?.code, r.json?.tier], [403, 'E_FORBIDDEN', 'read'], r.body);
		});
	}
});

describe('the stack without websocketd\'s own Origin filter', () => {
	let stack;
	let admin;
	before(async () => {
		stack = await startStack({ websocketdOrigin: false });
		admin = await signIn(stack, 'admin');
	});
	after(async () => stack && (await stack.stop()));

	// lighttpd shows the authorizer the Upgrade header, so the refusal is an HTTP 403 before
	// the upgrade; Apache's mod_authnz_fcgi hides it, so wsbridge refuses with its frame.
	async function openFrom(uri, origin) {
		try {
			const t = await Terminal.open(stack, uri, { cookie: `periscope_session=${admin.cookie()}`, origin });
			const first = await t.until('the first frame', () => t.frames[0]);
			t.terminate();
			return { frame: first };
		} catch (e) {
			if (!e.status) throw e;
			return { status: e.status, body: e.body };
		}
	}

	for (const [kind, uri] of KINDS) {
		it(`${kind}: a foreign or missing page Origin is refused by periscope itself`, async () => {
			// null: Terminal.open then sends no Origin at all (undefined would mean the stack's).
			for (const origin of ['http://evil.example', null]) {
				const r = await openFrom(uri, origin);
				if (stack.server === 'lighttpd') assert.deepEqual([r.status, r.body?.code], [403, 'E_ORIGIN'], JSON.stringify(r));
				else assert.deepEqual([r.frame?.type, r.frame?.code], ['error', 'E_ORIGIN'], JSON.stringify(r));
			}
		});
	}
});
