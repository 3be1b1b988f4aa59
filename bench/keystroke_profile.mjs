// What one keystroke round trip costs inside the bridge: one terminal of a stack whose
// websocketd runs periscope-wsbridge under callgrind with instrumentation off until the
// prompt (the open's 70M instructions left out), typed into by bench/scale_load.c (`keys`
// keys 20 ms apart, each waiting for its echo); instrumentation is on from the first key to
// the last echo, so the total over the keys is the cost of one round trip (no difference of
// two runs needed). Prints the instructions a keystroke and the top functions (inclusive).
// With KEYSTROKE_PROFILE_TOOL=strace: the bridge's system calls a keystroke by name instead
// (strace -c attached for the typing only).
// Usage: node bench/keystroke_profile.mjs [cluster|node] [keys=300]
// The figures in docs/HACKING.md "Keystroke round trip" come from it. Not a test.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

import { BUILD_DIR, startStack } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';
import { annotate, BRIDGE, callgrindTotal, shellPath, straceCalls } from './bridge.mjs';

const kind = process.argv[2] || 'cluster';
const keys = Number(process.argv[3] || 300);
const strace = process.env.KEYSTROKE_PROFILE_TOOL === 'strace';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-keystroke-profile-'));
// websocketd runs this instead of the bridge; the bridge's pid names its callgrind file.
const wrapper = path.join(dir, 'bridge.sh');
fs.writeFileSync(wrapper, strace
	? `#!/bin/sh\necho $$ > '${dir}/pid'\nexec '${BRIDGE}' "$@"\n`
	: `#!/bin/sh\necho $$ > '${dir}/pid'\nexec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file='${dir}/callgrind.out' '${BRIDGE}' "$@"\n`,
{ mode: 0o700 });

const stack = await startStack({ terminalProgram: wrapper });
try {
	const admin = await signIn(stack, 'admin');
	const client = spawn(path.join(BUILD_DIR, 'bench/scale-load'), [
		'--url', `${stack.wsUrl}${shellPath(kind)}`, '--origin', stack.url, '--sessions', '1', '--openers', '1',
		'--keys', String(keys), '--interval-ms', '20', '--wait-go', '--hold-s', '1', '--deadline-s', '300',
	], { env: { ...process.env, PERISCOPE_BENCH_COOKIE: `periscope_session=${admin.cookie()}` }, stdio: ['pipe', 'pipe', 'inherit'] });
	let pid, tracer, typed;
	for await (const line of readline.createInterface({ input: client.stdout })) {
		const ev = JSON.parse(line);
		if (ev.event === 'opened') {
			if (ev.ready !== 1) throw new Error(`the terminal did not open: ${line}`);
			pid = fs.readFileSync(path.join(dir, 'pid'), 'utf8').trim();
			if (strace) {
				tracer = spawn('strace', ['-c', '-o', path.join(dir, 'strace.out'), '-p', pid], { stdio: 'ignore' });
				// strace says nothing when attached: its first line of the trace file is too late
				await new Promise((resolve) => setTimeout(resolve, 1000));
			} else {
				execFileSync('callgrind_control', ['-i', 'on', pid], { stdio: 'ignore', timeout: 60000 });
			}
			client.stdin.write('go\n');
		}
		if (ev.event === 'typed') {
			typed = ev;
			if (strace) {
				const gone = new Promise((resolve) => tracer.on('exit', resolve));
				tracer.kill('SIGINT');
				await gone;
			} else {
				execFileSync('callgrind_control', ['-i', 'off', pid], { stdio: 'ignore', timeout: 60000 });
			}
		}
	}
	if (!typed || typed.keystrokes < keys) throw new Error(`the client typed too little: ${JSON.stringify(typed)}`);
	if (strace) {
		const calls = straceCalls(path.join(dir, 'strace.out'));
		const total = Object.values(calls).reduce((a, b) => a + b, 0);
		console.log(`${kind} shell: ${(total / keys).toFixed(1)} system calls a keystroke in the bridge (${keys} keys): ` +
			Object.entries(calls).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v / keys).toFixed(2)}`).join(', '));
	} else {
		// The bridge writes its callgrind file when it exits (at the close frame).
		const out = path.join(dir, 'callgrind.out');
		const deadline = Date.now() + 60000;
		while (!fs.existsSync(out) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
		await new Promise((resolve) => setTimeout(resolve, 500));
		const text = annotate(out, true);
		const total = callgrindTotal(text);
		console.log(`${kind} shell: ${Math.round(total / keys)} instructions a keystroke round trip in the bridge (callgrind, ${keys} keys)`);
		const rows = [...text.matchAll(/^\s*([\d,]+) \(\s*([\d.]+)%\)\s+(\S+) \[/gm)]
			.map((m) => [Number(m[1].replaceAll(',', '')), m[3]])
			.filter(([, fn]) => !fn.startsWith('???:0x'));
		const seen = new Set();
		console.log('| function (inclusive) | instructions a keystroke |\n|---|---|');
		for (const [n, fn] of rows) {
			const name = fn.replace(/^.*:/, '');
			if (seen.has(name) || n < total * 0.04) continue;
			seen.add(name);
			console.log(`| ${name} | ${Math.round(n / keys)} |`);
		}
	}
} finally {
	await stack.stop();
	fs.rmSync(dir, { recursive: true, force: true });
}
