// The local stack, for the tests and for dev/up: the OIDC IdP, the apiserver and AWS
// fakes, periscope.fcgi, websocketd (one periscope-wsbridge per terminal) and a web server
// in front, each on loopback, in a fresh run directory. Real programs only: what runs here
// is what ships.
//
//   const stack = await startStack({ config: { session: { refreshBefore: '2s' } } });
//   fetch(`${stack.url}/healthz`); ...; await stack.stop();
//
// The web server is lighttpd or Apache: opts.server, else PERISCOPE_SERVER (default
// lighttpd). opts.tls (else PERISCOPE_TLS=1) serves https:// with a certificate from a
// throwaway CA (stack.ca is its PEM, for clients to trust).
//
// opts.db (else PERISCOPE_DB): 'sqlite' (default, the file in the run directory) or
// 'postgres' (a throwaway PostgreSQL started for the stack, tests/lib/postgres.mjs, as
// database.url; stack.pg restarts or stops it). opts.pg: a PostgreSQL of the caller's
// (startPostgres()) to use instead, left running at stop. opts.replicas (else PERISCOPE_REPLICAS,
// default 1): how many periscope.fcgi + websocketd sets (replicas "a", "b", ...) share the
// database behind the one web server, which spreads the API and the terminals over them
// (docs/deployment.md "N replicas"). Replica "a" also serves the agent tunnel.
// opts.terminalProgram: what websocketd runs per terminal instead of periscope-wsbridge
// (dev/bench's anchors: websocketd sending pre-framed output, or bench/frame_echo.c
// answering keystrokes, through the same web server, authorizer and websocketd).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { randomBytes } from 'node:crypto';

import { startApiserver } from '../fakes/apiserver/server.mjs';
import { startAws } from '../fakes/aws/server.mjs';
import { startIdp } from '../fakes/idp/server.mjs';
import { startPostgres } from './postgres.mjs';
import { nodeReaderRbac, provisionerRbac, tierBindings } from './cluster-rbac.mjs';
import { within } from './deadline.mjs';
import { execBounded } from './sync-child.mjs';
import { makeCertificates } from './tls.mjs';
import { apacheGateReplica, chooseServer, fcgiAddress, fcgiApiSocket, webServerCommand } from './webserver.mjs';
import { toYaml } from './yaml.mjs';

export { within };

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD_DIR = process.env.PERISCOPE_BUILD_DIR || path.join(ROOT, 'build');
export const CLIENT = { id: 'periscope', secret: 'periscope-dev-secret' };
export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const NODE_ROLE = `arn:aws:iam::${ACCOUNT}:role/periscope-node-shell`;
// The server's own IAM role (EKS Pod Identity in the stack), mapped in the fake apiserver to
// the same Kubernetes user `periscope` as the kubeconfig's token, and the eks cluster the
// fake EKS API describes: the fake apiserver again, reached with EKS tokens. Tests add it
// to their clusters with EKS_CLUSTER.
export const SERVER_ROLE = `arn:aws:iam::${ACCOUNT}:role/periscope-server`;
export const EKS_NAME = 'local-eks';
export const EKS_CLUSTER = { name: EKS_NAME, backend: 'eks', arn: `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/${EKS_NAME}`, region: REGION };

// The fake cluster's nodes: two EC2 instances (one with its SSM agent online, one lost)
// and one node that is not on EC2.
export const NODES = [
	{ name: 'ip-10-0-1-10.eu-west-1.compute.internal', providerID: `aws:///${REGION}a/i-0123456789abcdef0` },
	{ name: 'ip-10-0-2-20.eu-west-1.compute.internal', providerID: `aws:///${REGION}b/i-0fedcba9876543210` },
	{ name: 'gke-node-1', providerID: 'gce://project/europe-west1-b/gke-node-1' },
];
export const INSTANCES = [
	{ id: 'i-0123456789abcdef0', tags: { 'eks:cluster-name': 'local' }, pingStatus: 'Online', platform: 'Amazon Linux' },
	{ id: 'i-0fedcba9876543210', tags: { 'eks:cluster-name': 'local' }, pingStatus: 'ConnectionLost', platform: 'Amazon Linux' },
];

// A port nobody listens on at the moment of asking. Another process may take it before the
// caller binds it: only for a port the caller then binds itself, through spawnOnFreePort
// (which retries), or for tests that need a port number and nothing listening.
export function freePort() {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.unref();
		srv.on('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address();
			srv.close(() => resolve(port));
		});
	});
}

// n ports nobody listens on, all different and none in exclude. Each is held until all are
// picked: picked one by one and released in between, the kernel may hand out the same port
// twice (about once in 10,000 stacks here), and a site whose PERISCOPE_PORT equals its
// PERISCOPE_METRICS_PORT starts without a word under lighttpd, which merges the two binds
// into one socket whose $SERVER["socket"] block (conf/lighttpd/periscope.conf) then maps
// only /metrics: every /healthz fell through to a 404 (lighttpd's own page, the error
// handler /api/_server_error unmapped too) until the stack's wait gave up.
export async function freePorts(n, { exclude = [] } = {}) {
	const held = [];
	const ports = [];
	try {
		while (ports.length < n) {
			const srv = net.createServer();
			srv.unref();
			await new Promise((resolve, reject) => {
				srv.once('error', reject);
				srv.listen(0, '127.0.0.1', resolve);
			});
			held.push(srv);
			const { port } = srv.address();
			if (!exclude.includes(port)) ports.push(port);
		}
	} finally {
		await Promise.all(held.map((srv) => new Promise((resolve) => srv.close(resolve))));
	}
	return ports;
}

// The inodes of the sockets listening on 127.0.0.1:port (or any address) in this network
// namespace, from /proc/net/tcp (state 0A = LISTEN).
function listeningInodes(port) {
	const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
	const inodes = new Set();
	for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
		let text;
		try {
			text = fs.readFileSync(file, 'utf8');
		} catch {
			continue;
		}
		for (const line of text.split('\n').slice(1)) {
			const f = line.trim().split(/\s+/);
			if (f.length > 9 && f[1].endsWith(`:${hexPort}`) && f[3] === '0A') inodes.add(f[9]);
		}
	}
	return inodes;
}

// True when the process pid itself holds a socket listening on port: not merely "something
// answers there", which another suite's server on the same port would also satisfy.
export function listensOn(pid, port) {
	const inodes = listeningInodes(port);
	if (inodes.size === 0) return false;
	let fds;
	try {
		fds = fs.readdirSync(`/proc/${pid}/fd`);
	} catch {
		return false;
	}
	for (const fd of fds) {
		try {
			const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
			if (m && inodes.has(m[1])) return true;
		} catch {
			// the fd closed meanwhile
		}
	}
	return false;
}

// A program that is to listen on a port of its own, started on a free one. start(port)
// spawns it and returns { child, output }, output() being what it has said so far (its
// log). When it exits saying the address is in use (another process bound the port between
// the pick and the program's bind), it is started again on another port. Resolves once
// the child itself listens there (not merely "something answers"): { child, port }.
export async function spawnOnFreePort(what, start, { attempts = 8, timeoutMs = 15000 } = {}) {
	for (let attempt = 1; ; attempt++) {
		const port = await freePort();
		const { child, output } = start(port);
		const deadline = Date.now() + timeoutMs;
		while (child.exitCode === null && child.signalCode === null) {
			if (listensOn(child.pid, port)) return { child, port };
			if (Date.now() > deadline) {
				child.kill('SIGKILL');
				throw new Error(`timed out waiting for ${what} to listen on port ${port}: ${output().slice(-2000)}`);
			}
			await new Promise((r) => setTimeout(r, 50));
		}
		const said = output();
		if (!/address already in use/i.test(said) || attempt >= attempts) throw new Error(`${what} exited before listening on port ${port}: ${said.slice(-2000)}`);
	}
}

// Polls check() until it returns something truthy; each check is itself bounded by the
// deadline (a check that hangs, such as a request nobody answers, fails the wait too).
export async function waitFor(what, check, { timeoutMs = 15000, intervalMs = 50 } = {}) {
	const deadline = Date.now() + timeoutMs;
	let last;
	while (Date.now() < deadline) {
		try {
			if (await within(what, Promise.resolve().then(check), Math.max(1, deadline - Date.now()))) return;
		} catch (e) {
			last = e;
		}
		await new Promise((r) => setTimeout(r, intervalMs));
	}
	throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

export function deepMerge(base, extra) {
	for (const [k, v] of Object.entries(extra || {})) {
		if (v && typeof v === 'object' && !Array.isArray(v) && base[k] && typeof base[k] === 'object')
			deepMerge(base[k], v);
		else base[k] = v;
	}
	return base;
}

// Whether any process is in the process group pgid (/proc/PID/stat: the fields after the
// command's closing parenthesis are state, ppid, pgrp).
export function groupHasMembers(pgid) {
	for (const name of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(name)) continue;
		try {
			const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
			if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid) return true;
		} catch {
			// gone meanwhile
		}
	}
	return false;
}

// A child process whose output goes to a log file in the run dir; stop() ends it by pid.
// With group, it leads a process group of its own and stop() also ends whatever it forked
// and left behind (an Apache worker holding a tunnel outlives its parent's SIGKILL).
function launch(name, cmd, args, { env, runDir, group = false }) {
	const log = fs.openSync(path.join(runDir, `${name}.log`), 'a');
	const child = spawn(cmd, args, { env, stdio: ['ignore', log, log], detached: group });
	fs.closeSync(log);
	// A program that could not be started at all ('error', ENOENT) never emits 'exit'.
	const exited = new Promise((resolve) => {
		child.on('exit', (code, signal) => resolve({ code, signal }));
		child.on('error', (error) => resolve({ code: null, signal: null, error }));
	});
	// Only while some process is still in the group: the kernel keeps a group's number from
	// being reused until its last member is gone, but once it is, the number may be another
	// group's (pids wrap in minutes on this machine), and -pid would kill that one.
	const killGroup = () => {
		if (!groupHasMembers(child.pid)) return;
		try {
			process.kill(-child.pid, 'SIGKILL');
		} catch {
			// ESRCH: its last member left meanwhile
		}
	};
	return {
		name,
		child,
		exited,
		async stop() {
			if (child.exitCode === null && child.signalCode === null) {
				child.kill('SIGTERM');
				const t = setTimeout(() => (group ? killGroup() : child.kill('SIGKILL')), 5000);
				await within(`${name} (pid ${child.pid}) to exit after SIGTERM, then SIGKILL at 5 s`, exited, 15000);
				clearTimeout(t);
			}
			if (group) killGroup();
			return exited;
		},
	};
}

// The agent tunnel's sshd host key (docs/agent.md), made in the run dir as an operator
// would with ssh-keygen; its public half is what registration hands to agents to pin.
function makeTunnelHostKey(runDir) {
	// sshd started by root (a CI container) insists on its privilege separation directory,
	// which the package's service would make at boot; as any other user it needs none.
	if (process.getuid?.() === 0 && !fs.existsSync('/run/sshd')) fs.mkdirSync('/run/sshd', { mode: 0o755 });
	const dir = path.join(runDir, 'agent-ssh');
	fs.mkdirSync(dir, { mode: 0o700 });
	const key = path.join(dir, 'host_ed25519_key');
	execBounded('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'periscope-tunnel', '-f', key], { stdio: ['ignore', 'pipe', 'inherit'] });
	return key;
}

export function baseConfig({ url, issuer, runDir, aws, tunnelPortBase = 47100 }) {
	return {
		// The bridges' own lines in a file of the run (the default, syslog, would reach the
		// machine's journal).
		server: { publicURL: url, workers: 4, wsbridgeLog: path.join(runDir, 'periscope-wsbridge.log') },
		auth: {
			oidc: {
				issuer,
				clientID: CLIENT.id,
				clientSecret: CLIENT.secret,
				redirectURL: `${url}/api/auth/callback`,
				providerName: 'Local IdP',
				postLogoutRedirect: `${url}/?signedOut=1`,
			},
			session: { idleTimeout: '30m', absoluteTimeout: '8h' },
			authorization: {
				mode: 'tier',
				groupsClaim: 'groups',
				groupTiers: { 'platform-admins': 'admin', viewers: 'read' },
			},
		},
		audit: { dbPath: path.join(runDir, 'periscope.db'), retentionDays: 30, maxSizeMB: 1024 },
		clusterShell: { enabled: true, tiers: ['admin'], image: { repository: 'periscope-shell', tag: 'test' } },
		nodeShell: {
			enabled: true, tiers: ['admin'], region: REGION, awsRoleArn: NODE_ROLE, oidcAudience: CLIENT.id,
			endpoints: aws ? { sts: aws.stsUrl, ssm: aws.ssmUrl, kms: aws.kmsUrl, caFile: aws.caFile } : {},
		},
		eks: {
			credentialSources: ['podIdentity', 'irsa', 'instanceProfile'],
			endpoints: aws ? { sts: aws.stsUrl, eks: aws.eksUrl, imds: aws.metadataUrl, caFile: aws.caFile } : {},
		},
		// Agents' tunnel ports from a free one up (several stacks share the machine).
		agents: { hostKeyFile: path.join(runDir, 'agent-ssh', 'host_ed25519_key.pub'), tunnelPortBase },
		clusters: [
			{ name: 'local', backend: 'kubeconfig', kubeconfigPath: path.join(runDir, 'local.kubeconfig'), region: 'eu-west-1', environment: 'dev' },
			{ name: 'prod-eu', backend: 'eks', arn: 'arn:aws:eks:eu-west-1:111122223333:cluster/prod-eu', region: 'eu-west-1' },
		],
	};
}

// The kubeconfig periscope uses for the fake apiserver: its CA and the token of its own
// identity, the user `periscope`, which has only the RBAC the docs tell operators to apply.
// server: another URL for the same apiserver (a proxy in front of it), else api.url.
function writeKubeconfig(file, api, token, server = api.url) {
	fs.writeFileSync(file, toYaml({
		apiVersion: 'v1',
		kind: 'Config',
		clusters: [{ name: 'local', cluster: { server, 'certificate-authority-data': Buffer.from(api.caPem).toString('base64') } }],
		users: [{ name: 'periscope', user: { token } }],
		contexts: [{ name: 'local', context: { cluster: 'local', user: 'periscope' } }],
		'current-context': 'local',
	}), { mode: 0o600 });
}

// A port taken by someone else between our pick and the program's bind: pick again.
class PortTaken extends Error {}

// Waits until proc itself listens on port. A program that exits first, saying its address
// is in use (lighttpd, Apache, websocketd and periscope.fcgi all say "address already in
// use"), raises PortTaken; any other early exit is an error with its log.
async function listening(proc, port, runDir, logMarks, timeoutMs = 15000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
			const said = newLogText(runDir, logMarks);
			if (/address already in use/i.test(said)) throw new PortTaken(`${proc.name}: port ${port} was taken`);
			throw new Error(`${proc.name} exited before listening on port ${port}: ${said.slice(-2000)}`);
		}
		if (listensOn(proc.child.pid, port)) return;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${proc.name} to listen on port ${port}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

function logSizes(runDir) {
	const marks = {};
	for (const f of fs.readdirSync(runDir).filter((n) => n.endsWith('.log'))) marks[f] = fs.statSync(path.join(runDir, f)).size;
	return marks;
}

// What the logs of the run directory gained since logSizes() took marks.
function newLogText(runDir, marks) {
	return fs.readdirSync(runDir).filter((n) => n.endsWith('.log')).map((f) => {
		const text = fs.readFileSync(path.join(runDir, f));
		return text.subarray(marks[f] ?? 0).toString('utf8');
	}).join('\n');
}

// The sanitizers' settings of this process (dev/test's stack pass over the ASan+UBSan
// build sets them, with log_path, to collect every report): periscope.fcgi gets them, and
// websocketd passes them on to each bridge and agent tunnel (--passenv below).
const SANITIZER_ENV = ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS'];
export function sanitizerEnv() {
	return Object.fromEntries(SANITIZER_ENV.filter((k) => process.env[k]).map((k) => [k, process.env[k]]));
}

// A sanitizer's report in the logs of the stack's programs: UBSan's non-recoverable handlers
// (the build's -fno-sanitize-recover=undefined) write to stderr even when log_path is set,
// so a bridge's report lands in websocketd's log, and periscope.fcgi's in its own.
const SANITIZER_REPORT = /runtime error:|ERROR: (AddressSanitizer|LeakSanitizer)/;
// Under dev/test's sanitized stack pass (PERISCOPE_SANITIZER_REPORTS, the directory its
// log_path points into), each log of the run that holds such a report is copied there
// before the run directory goes, for dev/test to count and show.
function keepSanitizerReports(runDir) {
	const into = process.env.PERISCOPE_SANITIZER_REPORTS;
	if (!into || !fs.existsSync(runDir)) return;
	for (const f of fs.readdirSync(runDir).filter((n) => n.endsWith('.log'))) {
		const text = fs.readFileSync(path.join(runDir, f), 'utf8');
		if (SANITIZER_REPORT.test(text)) fs.writeFileSync(path.join(into, `${path.basename(runDir)}-${f}`), text);
	}
}

const PORT_ATTEMPTS = 8;
// What the server's own AWS identity is read from (eks clusters); websocketd passes them on.
const SERVER_IDENTITY_ENV = 'AWS_CONTAINER_CREDENTIALS_FULL_URI,AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,AWS_ROLE_ARN,AWS_WEB_IDENTITY_TOKEN_FILE,AWS_ROLE_SESSION_NAME,AWS_EC2_METADATA_DISABLED';

// Process names of a replica's programs: replica "a" keeps the single-replica names.
export function replicaProcessName(program, replica) {
	return replica === 'a' ? program : `${program}-${replica}`;
}

function stackShape(opts) {
	const db = opts.db ?? (process.env.PERISCOPE_DB || 'sqlite');
	if (!['sqlite', 'postgres'].includes(db)) throw new Error(`PERISCOPE_DB must be sqlite or postgres, not ${JSON.stringify(db)}`);
	const replicas = Number(opts.replicas ?? (process.env.PERISCOPE_REPLICAS || 1));
	if (!Number.isInteger(replicas) || replicas < 1 || replicas > 8) throw new Error(`PERISCOPE_REPLICAS must be 1 to 8, not ${JSON.stringify(replicas)}`);
	return { db, names: 'abcdefgh'.slice(0, replicas).split('') };
}

export async function startStack(opts = {}) {
	const { db: dbEngine, names: replicaNames } = stackShape(opts);
	const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-stack-'));
	fs.mkdirSync(path.join(runDir, 'spool'));
	const server = chooseServer(opts.server);
	const tlsWanted = opts.tls ?? process.env.PERISCOPE_TLS === '1';
	const scheme = tlsWanted ? 'https' : 'http';
	// Each port is bound by the program that serves it; when another process took one
	// between our pick and that bind, the programs are started again on new ports.
	let port;
	let wsPort;
	let tunnelPort;
	let fcgiPort;
	let metricsPort;
	let url;
	// The replicas after "a": { name, wsPort, fcgiPort } each.
	let others = [];
	const pickPorts = async () => {
		// All at once (freePorts): two of them alike would be one socket for two programs,
		// or for lighttpd's site and its /metrics listener, silently.
		const extra = replicaNames.length - 1;
		const picked = await freePorts((opts.port ? 4 : 5) + 2 * extra, { exclude: opts.port ? [opts.port] : [] });
		port = opts.port ?? picked.shift();
		[wsPort, tunnelPort, fcgiPort, metricsPort] = picked.splice(0, 4);
		others = replicaNames.slice(1).map((name) => ({ name, wsPort: picked.shift(), fcgiPort: picked.shift() }));
		url = `${scheme}://127.0.0.1:${port}`;
	};
	await pickPorts();
	const client = () => ({
		client_id: CLIENT.id,
		client_secret: CLIENT.secret,
		redirect_uris: [`${url}/api/auth/callback`],
		post_logout_redirect_uris: [`${url}/?signedOut=1`],
	});
	const procs = [];
	let idp;
	let api;
	let aws;
	let tls;
	let config;
	let configPath;
	let env;
	let maxforks;
	let fcgiAddr;
	let awsServerEnv = {};
	let pg = null;
	let replicas = [];
	const stop = async () => {
		for (const p of [...procs].reverse()) await p.stop();
		if (pg && !opts.pg) await pg.stop();
		if (aws) await within('the AWS fake to close (its host shells to exit)', aws.close(), 20000);
		if (api) await within('the apiserver fake to close (its pod shells to exit)', api.close(), 20000);
		if (idp) await within('the IdP to close', idp.close(), 20000);
		keepSanitizerReports(runDir);
		if (!opts.keepRunDir && !process.env.PERISCOPE_KEEP_RUN_DIR) fs.rmSync(runDir, { recursive: true, force: true });
		const apiSocket = fcgiApiSocket(server, { runDir });
		if (apiSocket) fs.rmSync(path.dirname(apiSocket), { recursive: true, force: true });
	};
	try {
		if (opts.pg) {
			pg = opts.pg;
		} else if (dbEngine === 'postgres') {
			pg = await startPostgres();
			if (!pg) throw new Error('PERISCOPE_DB=postgres: PostgreSQL is not installed (apt-get install postgresql)');
		}
		if (tlsWanted) tls = makeCertificates(runDir);
		makeTunnelHostKey(runDir);
		idp = await startIdp({ port: opts.idpPort ?? 0, clients: [client()], ...(opts.idp || {}) });
		const periscopeToken = `periscope-token.${randomBytes(24).toString('base64url')}`;
		const shellNamespace = opts.config?.clusterShell?.namespace ?? 'periscope-system';
		api = await startApiserver({
			readyDelayMs: 200, nodes: NODES, shellNamespace,
			users: [{ username: 'periscope', token: periscopeToken }],
			...(opts.apiserver || {}),
		});
		// The server's own identity: the EKS Pod Identity agent's token, in a file as the
		// kubelet projects it.
		const podIdentityToken = `pod-identity.${randomBytes(24).toString('base64url')}`;
		const podIdentityTokenFile = path.join(runDir, 'eks-pod-identity-token');
		fs.writeFileSync(podIdentityTokenFile, podIdentityToken, { mode: 0o600 });
		aws = await startAws({
			idpIssuer: idp.issuer, region: REGION, account: ACCOUNT, clusterName: 'local',
			roles: [{ arn: NODE_ROLE, trust: { aud: CLIENT.id } }], instances: INSTANCES,
			podIdentity: { roleArn: SERVER_ROLE, token: podIdentityToken, durationSeconds: opts.podIdentitySeconds ?? 3600,
				permissions: [{ Effect: 'Allow', Action: 'eks:DescribeCluster', Resource: EKS_CLUSTER.arn }] },
			eksClusters: [{ name: EKS_NAME, endpoint: api.url, caPem: api.caPem }],
			...(opts.aws || {}),
		});
		// The cluster's side of the IAM mapping (an access entry, or aws-auth mapRoles).
		api.setEksAuth({ clusterId: EKS_NAME, stsUrl: aws.stsUrl, stsCaPem: aws.caPem,
			mapRoles: [{ rolearn: SERVER_ROLE, username: 'periscope', groups: [] }] });
		awsServerEnv = {
			AWS_CONTAINER_CREDENTIALS_FULL_URI: aws.podIdentityUrl,
			AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: podIdentityTokenFile,
		};
		// opts.kubeconfigServer(api): the URL periscope is to use for the fake apiserver.
		writeKubeconfig(path.join(runDir, 'local.kubeconfig'), api, periscopeToken, opts.kubeconfigServer?.(api));
		for (let attempt = 1; ; attempt++) {
			const started = procs.length;
			try {
				if (attempt > 1 && !opts.idp?.clients) await idp.addClient(client());
				config = deepMerge(baseConfig({ url, issuer: idp.issuer, runDir, aws, tunnelPortBase: await freePort() }), structuredClone(opts.config ?? {}));
				if (pg) config.database = { ...(config.database || {}), url: pg.url };
				// Tests name the fake cluster's kubeconfig before they know the run directory.
				for (const c of config.clusters) if (c.kubeconfigPath === '@KUBECONFIG@') c.kubeconfigPath = path.join(runDir, 'local.kubeconfig');
				configPath = path.join(runDir, 'periscope.yaml');
				fs.writeFileSync(configPath, toYaml(config));
				// What an operator applies (docs/cluster-shell.md §3), and tier bindings as one would
				// choose them: the admin tier may do anything, the read tier only read.
				if (attempt === 1) {
					api.createObjects([
						...provisionerRbac({ namespace: shellNamespace, tiers: opts.provisionerTiers ?? config.clusterShell.tiers }),
						...nodeReaderRbac(),
						...(opts.tierBindings ? tierBindings(opts.tierBindings) : tierBindings()),
					]);
				}
				env = {
					PATH: process.env.PATH,
					PERISCOPE_CONFIG: configPath,
					PERISCOPE_RUN_DIR: runDir,
					PERISCOPE_WEB_ROOT: path.join(ROOT, 'web'),
					PERISCOPE_PORT: String(port),
					PERISCOPE_WS_PORT: String(wsPort),
					PERISCOPE_TUNNEL_PORT: String(tunnelPort),
					PERISCOPE_METRICS_PORT: String(metricsPort),
					...awsServerEnv,
					...sanitizerEnv(),
					...(opts.env || {}),
				};
				const marks = logSizes(runDir);
				// opts.websocketdOrigin false leaves the page origin to periscope's own checks
				// (the authorizer and wsbridge), which the gate tests must reach.
				// websocketd's fork limit from the caps, as dev/up and the systemd unit set it
				// (shell/fork_limit.h): above them, so periscope's JSON 429 answers first.
				maxforks = execBounded(path.join(BUILD_DIR, 'fcgi/periscope.fcgi'), ['--print-maxforks'],
					{ env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
				// Each replica: its periscope.fcgi and its websocketd (one bridge per terminal),
				// told apart by PERISCOPE_REPLICA_ID (database.replicaId).
				replicas = [];
				for (const r of [{ name: 'a', wsPort, fcgiPort }, ...others]) {
					const renv = replicaNames.length > 1 ? { ...env, PERISCOPE_REPLICA_ID: r.name } : env;
					const addr = replicaNames.length > 1 && server !== 'apache'
						? path.join(runDir, r.name === 'a' ? 'periscope.sock' : `periscope-${r.name}.sock`)
						: fcgiAddress(server, { runDir, fcgiPort: r.fcgiPort });
					// Apache, one replica: the API over a Unix socket besides the gate's TCP port.
					const apiSocket = replicaNames.length > 1 ? null : fcgiApiSocket(server, { runDir });
					if (server !== 'apache') fs.rmSync(addr, { force: true });
					if (apiSocket) {
						fs.mkdirSync(path.dirname(apiSocket), { recursive: true, mode: 0o711 });
						fs.rmSync(apiSocket, { force: true });
					}
					const fcgi = launch(replicaProcessName('periscope-fcgi', r.name), path.join(BUILD_DIR, 'fcgi/periscope.fcgi'),
						['--socket', addr, ...(apiSocket ? ['--socket', apiSocket] : [])], { env: renv, runDir });
					procs.push(fcgi);
					if (server === 'apache') await listening(fcgi, r.fcgiPort, runDir, marks);
					else await waitFor(`periscope.fcgi socket of replica ${r.name}`, () => fs.existsSync(addr));
					if (apiSocket) {
						await waitFor('periscope.fcgi\'s API socket for Apache', () => fs.existsSync(apiSocket));
						// As root, Apache's workers run as nobody (tests/lib/webserver.mjs); the
						// product's systemd socket gives the web server's group access instead.
						fs.chmodSync(path.dirname(apiSocket), 0o711);
						fs.chmodSync(apiSocket, 0o666);
					}
					const ws = launch(replicaProcessName('websocketd', r.name), 'websocketd', [
						'--address=127.0.0.1', `--port=${r.wsPort}`, `--maxforks=${maxforks}`, '--closems=5000',
						...(opts.websocketdOrigin === false ? [] : [`--origin=${url}`]),
						`--passenv=PATH,PERISCOPE_CONFIG,PERISCOPE_REPLICA_ID,${SANITIZER_ENV.join(',')},${SERVER_IDENTITY_ENV}${opts.passAwsEnv ? ',HOME,AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_SESSION_TOKEN,AWS_PROFILE' : ''}`,
						'--loglevel=access', opts.terminalProgram ?? path.join(BUILD_DIR, 'wsbridge/periscope-wsbridge'),
					], { env: renv, runDir });
					procs.push(ws);
					await listening(ws, r.wsPort, runDir, marks);
					replicas.push({ name: r.name, fcgiAddr: addr, wsPort: r.wsPort, fcgi, websocketd: ws });
				}
				fcgiAddr = replicas[0].fcgiAddr;
				// The agent tunnel (docs/agent.md): binary mode, one periscope-agent-tunnel
				// (and its sshd) per agent connection; no origin, agents are not browsers.
				const tunnel = launch('websocketd-tunnel', 'websocketd', [
					'--address=127.0.0.1', `--port=${tunnelPort}`, '--binary=true', '--maxforks=16', '--closems=5000',
					`--passenv=PATH,PERISCOPE_CONFIG,${SANITIZER_ENV.join(',')}`,
					'--loglevel=access', path.join(BUILD_DIR, 'agent/periscope-agent-tunnel'),
				], { env, runDir });
				procs.push(tunnel);
				await listening(tunnel, tunnelPort, runDir, marks);
				const web = webServerCommand(server, {
					root: ROOT, runDir, port, wsPort, tunnelPort, metricsPort, fcgiAddr, webRoot: env.PERISCOPE_WEB_ROOT, tls, env,
					tunnels: opts.webServerTunnels, replicas: replicas.map((r) => ({ fcgiAddr: r.fcgiAddr, wsPort: r.wsPort })),
				});
				const front = launch(web.name, web.cmd, web.args, { env: web.env, runDir, group: true });
				procs.push(front);
				await listening(front, port, runDir, marks);
				await listening(front, metricsPort, runDir, marks);
				await waitFor(`${web.name} and /healthz`, () => healthy(port, tls));
				break;
			} catch (e) {
				if (!(e instanceof PortTaken) || opts.port || attempt >= PORT_ATTEMPTS) throw e;
				for (const p of procs.splice(started).reverse()) await p.stop();
				await pickPorts();
			}
		}
	} catch (e) {
		const logs = fs.existsSync(runDir) ? readLogs(runDir) : '';
		await stop();
		e.message += logs ? `\n--- logs ---\n${logs}` : '';
		throw e;
	}
	return {
		url, port, wsPort, tunnelPort, runDir, idp, api, aws, stop, server,
		// The database: 'sqlite' or 'postgres'; pg is the PostgreSQL test cluster ({ dir, url,
		// stop }) when there is one. replicas: [{ name, fcgiAddr, wsPort, fcgi, websocketd }].
		db: pg ? 'postgres' : dbEngine, pg, replicas,
		// The replicas whose periscope.fcgi the web server asks as the terminal gate: all of
		// them under lighttpd, one under Apache (docs/deployment.md "N replicas").
		gateReplicas: server === 'apache' && replicas.length > 1 ? [apacheGateReplica(replicaNames)] : replicaNames,
		// GET /metrics: the web server's loopback-only listener for it (never the public site).
		maxforks: Number(maxforks),
		metricsPort, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
		tls: Boolean(tls), ca: tls?.caPem, caFile: tls?.caFile,
		wsUrl: `${tlsWanted ? 'wss' : 'ws'}://127.0.0.1:${port}`,
		// The generated periscope.yaml, as an object and as a file, the environment the
		// stack's programs run with and where periscope.fcgi listens (for tests that start
		// periscope-wsbridge or ask the authorizer themselves).
		config, configPath, env, fcgiAddress: fcgiAddr,
		// One of the programs the stack runs (periscope-fcgi, websocketd, lighttpd or
		// apache): { child, exited, stop() }.
		process: (name) => procs.find((p) => p.name === name),
		log: (name) => fs.readFileSync(path.join(runDir, `${name}.log`), 'utf8'),
		logs: () => readLogs(runDir),
	};
}

// The periscope-wsbridge processes of this stack (bridges and their SSM session guardians,
// wherever they were reparented), found by the configuration in their environment; with
// replica, only that replica's (PERISCOPE_REPLICA_ID, set when the stack has several).
export function wsbridgeProcesses(stack, replica) {
	const pids = [];
	for (const name of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(name)) continue;
		try {
			if (!fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0')[0].endsWith('/periscope-wsbridge')) continue;
			if (fs.readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1].startsWith('Z')) continue;
			const environ = fs.readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
			if (!environ.includes(`PERISCOPE_CONFIG=${stack.configPath}`)) continue;
			if (replica && !environ.includes(`PERISCOPE_REPLICA_ID=${replica}`)) continue;
			pids.push(Number(name));
		} catch {
			// gone meanwhile, or another user's
		}
	}
	return pids;
}

// GET /healthz over http or https (trusting the stack's CA): true once it answers 200.
// Another answer is thrown (waitFor keeps polling) so that a timeout names the last one: a
// backend not up yet is a 503, while a 404 means the site does not route /healthz at all.
function healthy(port, tls) {
	return new Promise((resolve, reject) => {
		const mod = tls ? https : http;
		const req = mod.get({ host: '127.0.0.1', port, path: '/healthz', ca: tls?.caPem, timeout: 2000 }, (res) => {
			res.resume();
			if (res.statusCode === 200) resolve(true);
			else reject(new Error(`the last GET /healthz answered ${res.statusCode}`));
		});
		req.on('error', () => resolve(false));
		req.on('timeout', () => req.destroy());
	});
}

function readLogs(runDir) {
	return fs.readdirSync(runDir).filter((f) => f.endsWith('.log'))
		.map((f) => `== ${f}\n${fs.readFileSync(path.join(runDir, f), 'utf8').slice(-4000)}`).join('\n');
}
