// Where a cluster-shell open goes: one periscope-wsbridge started as websocketd starts it
// (CGI variables, frames on stdin/stdout) against the local stack with the apiserver fake's
// pod-readiness delay set to 0, so what is left is the product's own time plus the fake's
// processing. Prints open -> hello and open -> first prompt byte (median of N plain runs),
// then runs one open under callgrind and prints its instruction count and the top
// functions (inclusive). With held=N, N other cluster shells stay open meanwhile (opened by
// bench/scale_load.c), to see what an open costs beside many live terminals.
// IDLE_MS=N keeps the profiled bridge open and idle N ms after its prompt (what idling costs).
// Usage: node bench/open_profile.mjs [runs=5] [cluster|node] [held=0]
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { BUILD_DIR, startStack } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';
import { annotate, callgrindTotal, runBridge, shellPath } from './bridge.mjs';

const runs = Number(process.argv[2] || 5);
const kind = process.argv[3] || 'cluster';
const held = Number(process.argv[4] || 0);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// One open: resolves with the times (ms) of hello and the first stdout frame, then closes.
async function openOnce(stack, cookie, tool = 'none', out = undefined) {
	const t0 = performance.now();
	const times = {};
	await runBridge({
		stack, cookie, shell: shellPath(kind), tool, out, stderr: 'inherit',
		onFrame(f, send) {
			if (f.type === 'hello') times.hello = performance.now() - t0;
			if (f.type === 'stdout' && !times.prompt) {
				times.prompt = performance.now() - t0;
				// IDLE_MS: stay open and idle that long first (what an idle terminal costs).
				setTimeout(() => send({ type: 'close' }), tool !== 'none' ? Number(process.env.IDLE_MS || 0) : 0);
			}
		},
	});
	if (!times.prompt) throw new Error('the bridge ended before a prompt');
	return times;
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
	await openOnce(stack, cookie, 'callgrind', out);
	const text = annotate(out, true);
	console.log(`callgrind, one ${kind}-shell open to the first prompt and close: ${callgrindTotal(text).toLocaleString('en')} instructions`);
	console.log(text.split('\n').filter((l) => /^\s*[\d,]+ \(/.test(l)).slice(0, 40).join('\n'));
	if (process.env.KEEP_PROFILE) fs.copyFileSync(out, process.env.KEEP_PROFILE);
} finally {
	holder?.kill('SIGKILL');
	await stack.stop();
}
