// Where a cluster-shell open goes: one periscope-wsbridge started as websocketd starts it
// (CGI variables, frames on stdin/stdout) against the local stack with the apiserver fake's
// pod-readiness delay set to 0, so what is left is the product's own time plus the fake's
// processing. Prints open -> hello and open -> first prompt byte (median of N plain runs),
// then runs one open under callgrind and prints its instruction count and the top
// functions (inclusive). With held=N, N other cluster shells stay open meanwhile (opened by
// bench/scale_load.c), to see what an open costs beside many live terminals.
// IDLE_MS=N keeps the profiled bridge open and idle N ms after its prompt (what idling costs).
// Usage: node bench/open_profile.mjs [runs=5] [cluster|node] [held=0]
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { BUILD_DIR, NODES, startStack } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';

const runs = Number(process.argv[2] || 5);
const kind = process.argv[3] || 'cluster';
const held = Number(process.argv[4] || 0);
const SHELL = kind === 'node' ? `/api/clusters/local/nodes/${NODES[0].name}/shell` : '/api/clusters/local/shell';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The environment websocketd gives periscope-wsbridge (libwebsocketd/env.go createEnv).
function bridgeEnv(stack, cookie) {
	return {
		PATH: process.env.PATH,
		PERISCOPE_CONFIG: stack.configPath,
		...Object.fromEntries(Object.entries(stack.env).filter(([k]) => k.startsWith('AWS_'))),
		SERVER_SOFTWARE: 'websocketd/0.4.1', REMOTE_ADDR: '127.0.0.1', REMOTE_HOST: '127.0.0.1',
		SERVER_NAME: '127.0.0.1', SERVER_PORT: String(stack.wsPort), SERVER_PROTOCOL: 'HTTP/1.1',
		GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'GET', SCRIPT_NAME: '', PATH_INFO: SHELL,
		QUERY_STRING: '', REQUEST_URI: SHELL, REMOTE_PORT: '40000',
		UNIQUE_ID: randomBytes(8).toString('hex'),
		HTTP_HOST: `127.0.0.1:${stack.wsPort}`, HTTP_UPGRADE: 'websocket', HTTP_CONNECTION: 'Upgrade',
		HTTP_SEC_WEBSOCKET_VERSION: '13', HTTP_SEC_WEBSOCKET_KEY: randomBytes(16).toString('base64'),
		HTTP_COOKIE: cookie, HTTP_ORIGIN: stack.url,
	};
}

// One open: resolves with the times (ms) of hello and the first stdout frame, then closes.
function openOnce(stack, cookie, prefix = []) {
	const [cmd, ...args] = [...prefix, path.join(BUILD_DIR, 'wsbridge/periscope-wsbridge')];
	const t0 = performance.now();
	const child = spawn(cmd, args, { env: bridgeEnv(stack, cookie), stdio: ['pipe', 'pipe', 'inherit'] });
	const times = {};
	let raw = '';
	return new Promise((resolve, reject) => {
		child.stdin.write('{"type":"resize","cols":100,"rows":30}\n');
		child.stdout.on('data', (d) => {
			raw += d;
			const lines = raw.split('\n');
			raw = lines.pop();
			for (const line of lines) {
				const f = JSON.parse(line);
				if (f.type === 'hello') times.hello = performance.now() - t0;
				if (f.type === 'error') reject(new Error(line));
				if (f.type === 'stdout' && !times.prompt) {
					times.prompt = performance.now() - t0;
					// IDLE_MS: stay open and idle that long first (what an idle terminal costs).
					setTimeout(() => child.stdin.write('{"type":"close"}\n'), prefix.length ? Number(process.env.IDLE_MS || 0) : 0);
				}
			}
		});
		child.on('exit', () => (times.prompt ? resolve(times) : reject(new Error('the bridge ended before a prompt'))));
	});
}

const stack = await startStack({
	apiserver: { readyDelayMs: 0 },
	config: { clusterShell: { maxSessionsPerUser: held + 10, maxSessionsTotal: held + 10 } },
});
let holder;
for (const sig of ['SIGINT', 'SIGTERM']) {
	process.on(sig, async () => {
		holder?.kill('SIGKILL');
		await stack.stop();
		process.exit(130);
	});
}
try {
	const admin = await signIn(stack, 'admin');
	const cookie = `periscope_session=${admin.cookie()}`;
	if (held > 0) {
		holder = spawn(path.join(BUILD_DIR, 'bench/scale-load'), ['--url', `${stack.wsUrl}/api/clusters/local/shell`, '--origin', stack.url,
			'--sessions', String(held), '--openers', '8', '--keys', '0', '--hold-s', '3600'],
		{ env: { ...process.env, PERISCOPE_BENCH_COOKIE: cookie }, stdio: ['ignore', 'pipe', 'inherit'] });
		await new Promise((resolve, reject) => {
			holder.stdout.on('data', (d) => { if (String(d).includes('"opened"')) resolve(); });
			holder.on('exit', () => reject(new Error('scale-load ended before its sessions were open')));
		});
		console.log(`${held} other cluster shells open`);
	}
	const hello = [], prompt = [];
	for (let i = 0; i < runs; i++) {
		const t = await openOnce(stack, cookie);
		hello.push(t.hello);
		prompt.push(t.prompt);
	}
	console.log(`${kind} shell, fake readiness delay 0, ${held} others open: open -> hello ${median(hello).toFixed(1)} ms, open -> first prompt byte ${median(prompt).toFixed(1)} ms (median of ${runs}; all: ${prompt.map((p) => p.toFixed(0)).join(' ')})`);
	const out = path.join(stack.runDir, 'callgrind.out');
	await openOnce(stack, cookie, ['valgrind', '--tool=callgrind', `--callgrind-out-file=${out}`, '--trace-children=no']);
	const annotate = execFileSync('callgrind_annotate', ['--inclusive=yes', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
	const total = /([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS/.exec(annotate)?.[1] ?? /([\d,]+)\s+PROGRAM TOTALS/.exec(annotate)?.[1];
	console.log(`callgrind, one ${kind}-shell open to the first prompt and close: ${total} instructions`);
	console.log(annotate.split('\n').filter((l) => /^\s*[\d,]+ \(/.test(l)).slice(0, 40).join('\n'));
	if (process.env.KEEP_PROFILE) fs.copyFileSync(out, process.env.KEEP_PROFILE);
} finally {
	holder?.kill('SIGKILL');
	await stack.stop();
}
