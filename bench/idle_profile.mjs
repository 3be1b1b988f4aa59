// Instructions a cluster-shell bridge spends per idle second and per keystroke: one
// periscope-wsbridge started as websocketd starts it runs under callgrind three times:
// idle `short` then `long` seconds after the prompt, then `short` seconds with `keys`
// keystrokes (one every 100 ms, each waiting for its echo). The differences are the cost of
// an idle second (heartbeats, control polls, timers) and of a keystroke's round trip.
// Usage: node bench/idle_profile.mjs [short=2] [long=12] [keys=50]
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';

import { BUILD_DIR, startStack } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';

const short = Number(process.argv[2] || 2);
const long = Number(process.argv[3] || 12);
const keys = Number(process.argv[4] || 50);
const SHELL = '/api/clusters/local/shell';

// The environment websocketd gives periscope-wsbridge (libwebsocketd/env.go createEnv).
function bridgeEnv(stack, cookie) {
	return {
		PATH: process.env.PATH,
		PERISCOPE_CONFIG: stack.configPath,
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

// One profiled session: idle `seconds` after the prompt, typing `n` keys meanwhile.
function profiled(stack, cookie, seconds, n, out) {
	const child = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, '--trace-children=no',
		path.join(BUILD_DIR, 'wsbridge/periscope-wsbridge')], { env: bridgeEnv(stack, cookie), stdio: ['pipe', 'pipe', 'ignore'] });
	const send = (o) => child.stdin.write(`${JSON.stringify(o)}\n`);
	let raw = '', screen = '', prompted = false, typed = 0, echoes = 0;
	return new Promise((resolve, reject) => {
		const typeOne = () => {
			if (typed >= n) return;
			typed++;
			send({ type: 'stdin', data: Buffer.from('x').toString('base64') });
		};
		send({ type: 'resize', cols: 100, rows: 30 });
		child.stdout.on('data', (d) => {
			raw += d;
			const lines = raw.split('\n');
			raw = lines.pop();
			for (const line of lines) {
				const f = JSON.parse(line);
				if (f.type === 'error') reject(new Error(line));
				if (f.type !== 'stdout') continue;
				screen = (screen + Buffer.from(f.data, 'base64').toString('latin1')).slice(-200);
				if (!prompted && /[$#] $/.test(screen)) {
					prompted = true;
					setTimeout(() => send({ type: 'close' }), seconds * 1000);
					typeOne();
				} else if (prompted && typed > echoes) {
					echoes++;
					setTimeout(typeOne, 100);
				}
			}
		});
		child.on('exit', () => {
			const annotate = execFileSync('callgrind_annotate', [out], { encoding: 'utf8', maxBuffer: 64 << 20 });
			resolve({ total: Number(/([\d,]+)(?: \(100\.0%\))?\s+PROGRAM TOTALS/.exec(annotate)[1].replaceAll(',', '')), echoes });
		});
	});
}

const stack = await startStack({ apiserver: { readyDelayMs: 0 } });
try {
	const admin = await signIn(stack, 'admin');
	const cookie = `periscope_session=${admin.cookie()}`;
	const a = await profiled(stack, cookie, short, 0, path.join(stack.runDir, 'callgrind.a'));
	const b = await profiled(stack, cookie, long, 0, path.join(stack.runDir, 'callgrind.b'));
	const c = await profiled(stack, cookie, short, keys, path.join(stack.runDir, 'callgrind.c'));
	console.log(`instructions per idle second: ${((b.total - a.total) / (long - short)).toFixed(0)}`);
	console.log(`instructions per keystroke round trip: ${((c.total - a.total) / c.echoes).toFixed(0)} (${c.echoes} echoed)`);
	if (process.env.IDLE_PROFILE_KEEP) {
		for (const f of ['a', 'b', 'c'])
			execFileSync('cp', [path.join(stack.runDir, `callgrind.${f}`), process.env.IDLE_PROFILE_KEEP]);
	}
} finally {
	await stack.stop();
}
