// Instructions a cluster-shell bridge spends per idle second and per keystroke: one
// periscope-wsbridge started as websocketd starts it runs under callgrind three times:
// idle `short` then `long` seconds after the prompt, then `short` seconds with `keys`
// keystrokes (one every 100 ms, each waiting for its echo). The differences are the cost of
// an idle second (heartbeats, control polls, timers) and of a keystroke's round trip.
// With IDLE_PROFILE_TOOL=strace, the same three runs under strace -c count system calls
// instead (by name), e.g. the wake-ups (poll) an idle bridge makes.
// Usage: node bench/idle_profile.mjs [short=2] [long=12] [keys=50]
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { BUILD_DIR, startStack } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';

const short = Number(process.argv[2] || 2);
const long = Number(process.argv[3] || 12);
const keys = Number(process.argv[4] || 50);
const SHELL = '/api/clusters/local/shell';
// IDLE_PROFILE_TOOL=strace: system calls (strace -c) instead of instructions.
const strace = process.env.IDLE_PROFILE_TOOL === 'strace';

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
	const bridge = path.join(BUILD_DIR, 'wsbridge/periscope-wsbridge');
	const child = strace
		? spawn('strace', ['-c', '-o', out, bridge], { env: bridgeEnv(stack, cookie), stdio: ['pipe', 'pipe', 'ignore'] })
		: spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, '--trace-children=no', bridge],
			{ env: bridgeEnv(stack, cookie), stdio: ['pipe', 'pipe', 'ignore'] });
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
			if (strace) {
				// strace -c's table: "% time seconds usecs/call calls errors syscall".
				const calls = {};
				for (const line of fs.readFileSync(out, 'utf8').split('\n')) {
					const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$/.exec(line);
					if (m && m[2] !== 'total') calls[m[2]] = Number(m[1]);
				}
				return resolve({ total: Object.values(calls).reduce((a, b) => a + b, 0), calls, echoes });
			}
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
	const what = strace ? 'system calls' : 'instructions';
	console.log(`${what} per idle second: ${((b.total - a.total) / (long - short)).toFixed(strace ? 1 : 0)}`);
	console.log(`${what} per keystroke round trip: ${((c.total - a.total) / c.echoes).toFixed(strace ? 1 : 0)} (${c.echoes} echoed)`);
	if (strace) {
		const per = (x, y, n) => Object.keys({ ...x.calls, ...y.calls }).map((k) => [k, ((y.calls[k] || 0) - (x.calls[k] || 0)) / n])
			.filter(([, v]) => v >= 0.05).sort((p, q) => q[1] - p[1]).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
		console.log(`per idle second: ${per(a, b, long - short)}`);
		console.log(`per keystroke: ${per(a, c, c.echoes)}`);
	}
	if (process.env.IDLE_PROFILE_KEEP) {
		for (const f of ['a', 'b', 'c'])
			execFileSync('cp', [path.join(stack.runDir, `callgrind.${f}`), process.env.IDLE_PROFILE_KEEP]);
	}
} finally {
	await stack.stop();
}
