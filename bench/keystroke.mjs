// Benchmark: one terminal's keystroke round trip on a quiet path, both shells, next to
// anchors measured in the same run with the same client (bench/scale_load.c, one session,
// one key at a time, each waiting for its echo):
//   - websocketd alone, its program bench/frame_echo.c (one read and one write a key: the
//     issue's "websocketd cat"); and the echo in sh that bench/scale.mjs uses;
//   - the same frame-echo behind the stack's web server, authorizer and websocketd (what
//     the deployment puts in front of any terminal program);
//   - a byte round a ring of sleeping processes (bench/pingpong.c, a gap between rounds as
//     between keys): what one more process on the path costs on this machine.
// ours - web-server anchor = what the bridge and everything behind it cost; the fakes' share
// of that (the apiserver fake in Node, the pty host) is shown by KEYSTROKE_TRACE=1, which
// decomposes one shell's round trips by hop (bench/keystroke_hops.mjs).
// Usage: node bench/keystroke.mjs [keys=200] [interval-ms=20] [runs=3]
// Loopback only, bounded (scale-load's own deadline); not a test.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

import { BUILD_DIR, NODES, freePort, listensOn, startStack, waitFor } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';
import { processTree } from './process-tree.mjs';

const keys = Number(process.argv[2] || 200);
const intervalMs = Number(process.argv[3] || 20);
const rounds = Number(process.argv[4] || 3);
const FRAME_ECHO = path.join(BUILD_DIR, 'bench/frame-echo');

// Every task (thread) of this process and its descendants: program -> [on-CPU ns, ns
// waiting for a CPU once woken] (/proc/PID/task/TID/schedstat). Read before and after the
// typing, the difference per keystroke is what each program on the path cost the round
// trip, untraced: its work, and its wake-up (the run-queue wait covers the time from being
// woken to running, idle CPUs' exit included).
function schedByProgram() {
	const totals = {};
	for (const [pid, comm] of processTree()) {
		const program = pid === process.pid ? 'node (the fakes)' : comm;
		try {
			for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
				const [cpu, wait] = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
				totals[program] ??= [0, 0];
				totals[program][0] += cpu;
				totals[program][1] += wait;
			}
		} catch {
			// gone meanwhile
		}
	}
	return totals;
}

// One terminal driven by scale-load: the round trips' p50/p99/max in ms, and per program
// the microseconds on a CPU and waiting for one per keystroke while typing.
async function typeInto(url, origin, cookie) {
	const child = spawn(path.join(BUILD_DIR, 'bench/scale-load'), [
		'--url', url, '--origin', origin, '--sessions', '1', '--openers', '1', '--wait-go',
		'--keys', String(keys), '--interval-ms', String(intervalMs), '--deadline-s', '120',
		// Open a second past the typing: the programs read at "typed" are all still there
		// (frame-echo ends at the close frame, before this thread reads the line).
		'--hold-s', '1',
	], { env: { ...process.env, PERISCOPE_BENCH_COOKIE: cookie }, stdio: ['pipe', 'pipe', 'inherit'] });
	const r = {};
	let before, after;
	for await (const line of readline.createInterface({ input: child.stdout })) {
		const ev = JSON.parse(line);
		r[ev.event] = ev;
		if (ev.event === 'opened') {
			before = schedByProgram();
			child.stdin.write('go\n');
		}
		if (ev.event === 'typed') after = schedByProgram();
	}
	if (child.exitCode === null) await new Promise((resolve) => child.on('exit', resolve));
	if (!r.typed || r.typed.keystrokes < keys / 2) throw new Error(`the client typed too little: ${JSON.stringify(r)}`);
	const perKey = {};
	for (const [program, [cpu, wait]] of Object.entries(after)) {
		const [cpu0, wait0] = before[program] ?? [0, 0];
		perKey[program] = { cpuUs: (cpu - cpu0) / 1000 / r.typed.keystrokes, waitUs: (wait - wait0) / 1000 / r.typed.keystrokes };
	}
	return { ...r.typed.keystrokeRoundTripMs, perKey };
}

// bench/scale.mjs's anchor program: an echo in sh (its `read` takes a byte per call).
function shEcho(dir) {
	const script = path.join(dir, 'echo.sh');
	fs.writeFileSync(script, [
		'#!/bin/sh',
		`printf '%s\\n' '{"type":"stdout","data":"JCA="}'`,
		'while read -r line; do',
		'\tcase $line in',
		`\t*'"close"'*) exit 0 ;;`,
		`\t*'"stdin"'*) printf '%s\\n' '{"type":"stdout","data":"YQ=="}' ;;`,
		'\tesac',
		'done', '',
	].join('\n'), { mode: 0o700 });
	return script;
}

// websocketd alone on a free port, running program.
async function websocketdAlone(program, fn) {
	const port = await freePort();
	const ws = spawn('websocketd', ['--address=127.0.0.1', `--port=${port}`, '--loglevel=error', program], { stdio: 'ignore' });
	try {
		await waitFor('the anchor websocketd to listen', () => listensOn(ws.pid, port), { timeoutMs: 15000 });
		return await fn(`ws://127.0.0.1:${port}/`);
	} finally {
		const gone = new Promise((resolve) => ws.on('exit', resolve));
		ws.kill('SIGTERM');
		await gone;
	}
}

// A stack (the web server, periscope.fcgi's authorizer, websocketd) running program (or
// the bridge) per terminal; fn(stack, cookie).
async function withStack(program, fn) {
	const stack = await startStack(program ? { terminalProgram: program } : {});
	try {
		const admin = await signIn(stack, 'admin');
		return await fn(stack, `periscope_session=${admin.cookie()}`);
	} finally {
		await stack.stop();
	}
}

function pingpong(relays) {
	const out = execFileSync(path.join(BUILD_DIR, 'bench/pingpong'), ['--relays', String(relays), '--rounds', '300', '--gap-us', String(intervalMs * 1000)],
		{ encoding: 'utf8', timeout: 120000 });
	return JSON.parse(out).roundTripUs.p50;
}

function spread(xs, digits = 3) {
	const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
	if (!v.length) return 'n/a';
	return [v[0], v[Math.floor((v.length - 1) / 2)], v[v.length - 1]].map((x) => x.toFixed(digits)).join(' / ');
}

const rows = { echo: [], shEcho: [], frontEcho: [], cluster: [], node: [], hop: [], loads: [] };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-bench-keystroke-'));
try {
	for (let i = 0; i < rounds; i++) {
		rows.loads.push(Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]));
		rows.echo.push(await websocketdAlone(FRAME_ECHO, (url) => typeInto(url, 'http://127.0.0.1', 'unused=1')));
		rows.shEcho.push(await websocketdAlone(shEcho(dir), (url) => typeInto(url, 'http://127.0.0.1', 'unused=1')));
		rows.frontEcho.push(await withStack(FRAME_ECHO, (stack, cookie) => typeInto(`${stack.wsUrl}/api/clusters/local/shell`, stack.url, cookie)));
		await withStack(null, async (stack, cookie) => {
			rows.cluster.push(await typeInto(`${stack.wsUrl}/api/clusters/local/shell`, stack.url, cookie));
			rows.node.push(await typeInto(`${stack.wsUrl}/api/clusters/local/nodes/${NODES[0].name}/shell`, stack.url, cookie));
		});
		// One more sleeping process in each direction of a round trip: two more hops.
		rows.hop.push((pingpong(3) - pingpong(1)) / 1000);
	}
} finally {
	fs.rmSync(dir, { recursive: true, force: true });
}
const p50 = (rs) => rs.map((r) => r.p50);
const minus = (a, b) => a.map((r, i) => r.p50 - b[i].p50);
console.log(`keystroke round trip, one terminal, ${keys} keys ${intervalMs} ms apart, min / median / max of ${rounds} runs ` +
	`(load average ${spread(rows.loads, 1)} on ${os.cpus().length} CPUs)`);
console.log('| what | p50 ms | p99 ms | over websocketd + frame-echo, p50 ms | goal |\n|---|---|---|---|---|');
const row = (what, rs, goal = '-') => console.log(`| ${what} | ${spread(p50(rs))} | ${spread(rs.map((r) => r.p99))} | ${spread(minus(rs, rows.echo))} | ${goal} |`);
row('anchor: websocketd + frame-echo (one read, one write a key)', rows.echo);
row('websocketd + an echo in sh (bench/scale.mjs\'s anchor)', rows.shEcho);
row('frame-echo behind the web server, authorizer and websocketd', rows.frontEcho);
row('cluster shell (bridge, TLS, apiserver fake in Node, pty host, bash)', rows.cluster, '<= +0.1 ms');
row('node shell (bridge, TLS, SSM fake in Node, pty host, bash)', rows.node, '<= +0.1 ms');
console.log(`| the web server's hop (front echo - echo) | ${spread(minus(rows.frontEcho, rows.echo))} | - | - | - |`);
console.log(`| bridge and all behind it, cluster shell (cluster - front echo) | ${spread(minus(rows.cluster, rows.frontEcho))} | - | - | - |`);
console.log(`| bridge and all behind it, node shell (node - front echo) | ${spread(minus(rows.node, rows.frontEcho))} | - | - | - |`);
console.log(`| one more sleeping process on the path, both ways (pingpong 3 relays - 1, ${intervalMs} ms apart) | ${spread(rows.hop)} | - | - | - |`);
// Per program, per keystroke: microseconds on a CPU (min / median / max of the runs), and
// the median microseconds it waited for a CPU once woken (on a loaded machine that is the
// other work's, not the program's: the on-CPU figure is the one to compare).
const OWNERS = [
	['lighttpd', 'product: web server'], ['periscope.fcgi', 'product: authorizer, maintenance'], ['periscope-wsbri', 'product: bridge'],
	['websocketd', 'websocketd (the anchor has it too)'], ['frame-echo', 'anchor\'s echo'], ['node (the fakes)', 'fake: apiserver / SSM in Node (and this script)'],
	['ptyhost', 'fake: pty host'], ['bash', 'the shell in the pod / on the node'], ['scale-load', 'client'],
];
const medianOf = (v) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];
const cost = (rs, program) => {
	const v = rs.map((r) => r.perKey[program]).filter(Boolean);
	return v.length ? `${spread(v.map((k) => k.cpuUs), 0)} (${medianOf(v.map((k) => k.waitUs)).toFixed(0)})` : '-';
};
console.log('\nper keystroke, by program: microseconds on a CPU, min / median / max of the runs (median microseconds waiting for a CPU once woken); /proc/*/task/*/schedstat, untraced');
console.log('| program | owner | websocketd + frame-echo | frame-echo behind the web server | cluster shell | node shell |\n|---|---|---|---|---|---|');
for (const [program, owner] of OWNERS)
	console.log(`| ${program} | ${owner} | ${cost(rows.echo, program)} | ${cost(rows.frontEcho, program)} | ${cost(rows.cluster, program)} | ${cost(rows.node, program)} |`);
const share = (rs, programs) => spread(rs.map((r) => programs.reduce((a, p) => a + (r.perKey[p] ? r.perKey[p].cpuUs : 0), 0)), 0);
const PRODUCT = ['lighttpd', 'periscope.fcgi', 'periscope-wsbri'], FAKES = ['node (the fakes)', 'ptyhost'];
console.log(`| **the product's share** (web server, authorizer, bridge) | on a CPU | ${share(rows.echo, PRODUCT)} | ${share(rows.frontEcho, PRODUCT)} | ${share(rows.cluster, PRODUCT)} | ${share(rows.node, PRODUCT)} |`);
console.log(`| **the fakes' share** (Node, pty host) | on a CPU | ${share(rows.echo, FAKES)} | ${share(rows.frontEcho, FAKES)} | ${share(rows.cluster, FAKES)} | ${share(rows.node, FAKES)} |`);
