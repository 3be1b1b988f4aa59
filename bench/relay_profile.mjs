// Instructions per relayed byte of a node shell: one periscope-wsbridge started as
// websocketd starts it (CGI variables, frames on stdin/stdout) runs under callgrind twice,
// each time opening a node shell on the local stack and printing `bytes` of text
// (base64 of zeros, 100 columns) before closing; the difference of the two instruction
// counts over the difference of the relayed bytes is the cost of relaying a byte, with
// the open and close taken out.
// Usage: node bench/relay_profile.mjs [small=100000] [large=1000000] [cluster|node]
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync } from 'node:fs';
import * as path from 'node:path';

import { BUILD_DIR, NODES, startStack } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';

const small = Number(process.argv[2] || 100000);
const large = Number(process.argv[3] || 1000000);
const kind = process.argv[4] || 'node';
const SHELL = kind === 'node' ? `/api/clusters/local/nodes/${NODES[0].name}/shell` : '/api/clusters/local/shell';

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

// One profiled session printing `bytes` bytes of text: resolves with the instruction
// count and the terminal bytes the bridge relayed.
function profiled(stack, cookie, bytes, out) {
	const child = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, '--trace-children=no',
		path.join(BUILD_DIR, 'wsbridge/periscope-wsbridge')], { env: bridgeEnv(stack, cookie), stdio: ['pipe', 'pipe', 'ignore'] });
	const type = (text) => child.stdin.write(`${JSON.stringify({ type: 'stdin', data: Buffer.from(text).toString('base64') })}\n`);
	let raw = '', screen = '', relayed = 0, typed = false, done = false;
	return new Promise((resolve, reject) => {
		child.stdin.write('{"type":"resize","cols":100,"rows":30}\n');
		child.stdout.on('data', (d) => {
			raw += d;
			const lines = raw.split('\n');
			raw = lines.pop();
			for (const line of lines) {
				const f = JSON.parse(line);
				if (f.type === 'error') reject(new Error(line));
				if (f.type !== 'stdout') continue;
				const chunk = Buffer.from(f.data, 'base64');
				relayed += chunk.length;
				screen = (screen + chunk.toString('latin1')).slice(-200);
				if (!typed && /[$#] $/.test(screen)) {
					typed = true;
					type(`head -c ${Math.floor(bytes * 3 / 4)} /dev/zero | base64 -w 100; echo DO""NE\r`);
				}
				if (typed && !done && screen.includes('DONE')) {
					done = true;
					child.stdin.write('{"type":"close"}\n');
				}
			}
		});
		child.on('exit', () => {
			if (!done) return reject(new Error('the bridge ended before DONE'));
			const annotate = execFileSync('callgrind_annotate', ['--inclusive=yes', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
			const total = Number(/([\d,]+)(?: \(100\.0%\))?\s+PROGRAM TOTALS/.exec(annotate)[1].replaceAll(',', ''));
			// SHA-256 (GnuTLS: the payload digests of SSM messages, the recording's hash, the
			// audit chain): valgrind emulates no SHA-NI, so it is counted apart.
			const inclusive = (fn) => Number(new RegExp(`^\\s*([\\d,]+) \\([\\d.]+%\\)\\s+\\?\\?\\?:${fn} \\[`, 'm').exec(annotate)?.[1].replaceAll(',', '') ?? 0);
			const sha = inclusive('gnutls_hash_fast') + inclusive('gnutls_hash');
			resolve({ total, relayed, sha });
		});
	});
}

// RELAY_PROFILE_RECORDING=off: the same with recording.enabled false (what the relay costs
// without the asciicast file and its SHA-256).
const stack = await startStack({
	apiserver: { readyDelayMs: 0 },
	...(process.env.RELAY_PROFILE_RECORDING === 'off' ? { config: { recording: { enabled: false } } } : {}),
});
try {
	const admin = await signIn(stack, 'admin');
	const cookie = `periscope_session=${admin.cookie()}`;
	const a = await profiled(stack, cookie, small, path.join(stack.runDir, 'callgrind.small'));
	const b = await profiled(stack, cookie, large, path.join(stack.runDir, 'callgrind.large'));
	console.log(`${kind} shell under callgrind: ${a.relayed} bytes relayed in ${a.total} instructions, ${b.relayed} bytes in ${b.total}`);
	const perByte = (x, y) => ((x - y) / (b.relayed - a.relayed)).toFixed(1);
	console.log(`instructions per relayed byte: ${perByte(b.total, a.total)}`);
	console.log(`of which SHA-256 (GnuTLS; SHA-NI natively, not under valgrind): ${perByte(b.sha, a.sha)}; the rest: ${perByte(b.total - b.sha, a.total - a.sha)}`);
	const annotate = execFileSync('callgrind_annotate', ['--inclusive=yes', path.join(stack.runDir, 'callgrind.large')], { encoding: 'utf8', maxBuffer: 64 << 20 });
	console.log(annotate.split('\n').filter((l) => /^\s*[\d,]+ \(/.test(l)).slice(0, 30).join('\n'));
	// RELAY_PROFILE_KEEP=DIR keeps both callgrind files for callgrind_annotate / kcachegrind.
	if (process.env.RELAY_PROFILE_KEEP) {
		for (const f of ['callgrind.small', 'callgrind.large'])
			copyFileSync(path.join(stack.runDir, f), path.join(process.env.RELAY_PROFILE_KEEP, `${kind}.${f}`));
	}
} finally {
	await stack.stop();
}
