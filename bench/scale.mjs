// Benchmark: many concurrent cluster shells through the whole local stack (web server,
// periscope.fcgi's authorizer, websocketd, one periscope-wsbridge each, the apiserver fake's
// pods), driven by bench/scale_load.c (one lean C process; this script only starts the
// stack, signs in and reads the machine). Prints the opens per second, open -> first prompt,
// the keystroke round trip with every session typing, and what the sessions cost.
// Usage: node bench/scale.mjs [sessions=500] [openers=16] [keys=20] [runs=3]
// Loopback only, bounded by scale-load's own deadline; not a test.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as readline from 'node:readline';

import { BUILD_DIR, freePort, listensOn, startStack, waitFor, wsbridgeProcesses } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';

const sessions = Number(process.argv[2] || 500);
const openers = Number(process.argv[3] || 16);
const keys = Number(process.argv[4] || 20);
// Seconds the sessions rest between the opens and the typing (one maintenance pass: 15 s).
const IDLE_S = 16;
const rounds = Number(process.argv[5] || 3);

// Private memory (what one more process costs) and RSS of a process, in KiB.
function memoryKiB(pid) {
	try {
		const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
		const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(rollup)[1]);
		return { rss: field('Rss'), private: field('Private_Clean') + field('Private_Dirty') };
	} catch {
		return { rss: 0, private: 0 };
	}
}

// Time spent runnable but waiting for a CPU, and times scheduled in, of a set of processes
// (/proc/PID/schedstat: on-CPU ns, run-queue wait ns, timeslices): how much of a keystroke's
// round trip is the machine being busy rather than work of the product.
function runQueue(pids) {
	let wait = 0, slices = 0;
	for (const pid of pids) {
		try {
			const [, w, n] = fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
			wait += w;
			slices += n;
		} catch {
			// gone meanwhile
		}
	}
	return { wait, slices };
}

// The machine's CPU time so far (jiffies): busy and total, for the share busy while typing.
function machineCpu() {
	const [, ...v] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/);
	const n = v.map(Number);
	return { busy: n[0] + n[1] + n[2] + n[5] + n[6] + n[7], total: n.slice(0, 8).reduce((a, b) => a + b, 0) };
}

// CPU seconds so far of every process descended from this one (the stack, its fakes and
// their pod shells, the load client), by program: where the machine's time goes.
function cpuByProgram() {
	const procs = new Map();
	for (const name of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(name)) continue;
		try {
			const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
			const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
			const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			procs.set(Number(name), { comm, ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK });
		} catch {
			// gone meanwhile
		}
	}
	const mine = (pid) => {
		for (let p = pid, hops = 0; p > 1 && hops < 64; p = procs.get(p)?.ppid ?? 0, hops++) if (p === process.pid) return true;
		return false;
	};
	const totals = {};
	for (const [pid, p] of procs) {
		if (!mine(pid)) continue;
		const program = pid === process.pid ? 'node (fakes, driver)' : p.comm;
		totals[program] = (totals[program] || 0) + p.cpu;
	}
	return totals;
}
const CLK_TCK = 100;

// CPU seconds spent by each program between two cpuByProgram() readings.
function cpuDelta(before, after) {
	return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] || 0)]));
}

const show = (cpu) => Object.entries(cpu).filter(([, v]) => v >= 0.05).sort((a, b) => b[1] - a[1])
	.map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ');
// The product's programs (what a deployment runs), as /proc names them; the rest of the
// processes below the bench are the fakes (node, their pod shells) and the load client.
const PRODUCT = ['periscope-wsbri', 'periscope.fcgi', 'websocketd', 'lighttpd', 'apache2'];
const sum = (cpu, names) => Object.entries(cpu).filter(([k]) => names.includes(k)).reduce((a, [, v]) => a + v, 0);
const LOAD_CLIENT = 'scale-load';

// Interrupted (Ctrl-C, SIGTERM): the stack of the run in progress and its load client go too.
let running = null;
for (const sig of ['SIGINT', 'SIGTERM']) {
	process.on(sig, async () => {
		running?.child?.kill('SIGKILL');
		running?.anchor?.kill('SIGKILL');
		await running?.stack?.stop();
		process.exit(130);
	});
}

// One run on a fresh stack: the client's three JSON lines, the memory at rest, CPU by program.
async function runOnce() {
	const stack = await startStack({
		config: { clusterShell: { maxSessionsPerUser: sessions, maxSessionsTotal: sessions } },
		// Apache keeps a worker thread per proxied WebSocket: room for every session.
		webServerTunnels: sessions + 64,
	});
	running = { stack };
	try {
		const admin = await signIn(stack, 'admin');
		const child = spawn(path.join(BUILD_DIR, 'bench/scale-load'), [
			'--url', `${stack.wsUrl}/api/clusters/local/shell`, '--origin', stack.url,
			'--sessions', String(sessions), '--openers', String(openers), '--keys', String(keys), '--wait-go',
		], { env: { ...process.env, PERISCOPE_BENCH_COOKIE: `periscope_session=${admin.cookie()}` }, stdio: ['pipe', 'pipe', 'inherit'] });
		running.child = child;
		const r = { maxforks: stack.maxforks };
		let machineAtOpen;
		const programsAtStart = cpuByProgram();
		let programsAtOpen;
		for await (const line of readline.createInterface({ input: child.stdout })) {
			const ev = JSON.parse(line);
			r[ev.event] = ev;
			if (ev.event === 'opened') {
				// The sessions at rest: every bridge's private memory, websocketd's RSS.
				const bridges = wsbridgeProcesses(stack).map(memoryKiB);
				r.memory = {
					bridges: bridges.length,
					bridgePrivateMiB: bridges.reduce((a, m) => a + m.private, 0) / 1024,
					bridgePrivateMedianKiB: bridges.map((m) => m.private).sort((a, b) => a - b)[Math.floor(bridges.length / 2)],
					websocketdRssMiB: memoryKiB(stack.process('websocketd').child.pid).rss / 1024,
				};
				r.openCpu = cpuDelta(programsAtStart, cpuByProgram());
				// At rest for IDLE_S: what live terminals cost when nobody types (each
				// bridge's timers, registry polls and heartbeats, the maintenance pass), so
				// that the typing's own cost can be told from it.
				const idleFrom = cpuByProgram();
				await new Promise((resolve) => setTimeout(resolve, IDLE_S * 1000));
				r.idleCpu = cpuDelta(idleFrom, cpuByProgram());
				machineAtOpen = machineCpu();
				r.bridgePids = wsbridgeProcesses(stack);
				r.queueAtOpen = runQueue(r.bridgePids);
				// The fakes run in this process's one thread: how late it is to answer is part
				// of every keystroke's round trip.
				r.loopDelay = monitorEventLoopDelay({ resolution: 1 });
				r.loopDelay.enable();
				programsAtOpen = cpuByProgram();
				r.typingFrom = Date.now();
				// Only now: these reads of every bridge's /proc ran in the fakes' thread, and
				// keystrokes sent meanwhile waited for them (the first second's tail).
				child.stdin.write('go\n');
			}
			if (ev.event === 'typed' && machineAtOpen) {
				const c = machineCpu();
				r.machineBusy = (c.busy - machineAtOpen.busy) / (c.total - machineAtOpen.total);
				r.typingCpu = cpuDelta(programsAtOpen, cpuByProgram());
				r.typingSeconds = (Date.now() - r.typingFrom) / 1000;
				const q = runQueue(r.bridgePids);
				r.bridgeQueueWaitMs = (q.wait - r.queueAtOpen.wait) / 1e6 / Math.max(1, q.slices - r.queueAtOpen.slices);
				r.loadAvg = Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
				r.loopDelay.disable();
				r.fakeDelayP99 = r.loopDelay.percentile(99) / 1e6;
				r.fakeDelayMax = r.loopDelay.max / 1e6;
			}
			console.log(`# ${line}`);
		}
		r.exit = await new Promise((resolve) => child.on('exit', (code) => resolve(code)));
		return r;
	} finally {
		running = null;
		await stack.stop();
	}
}

// The anchor, in the same run: the same client and as many sessions against websocketd
// alone, each connection's program an echo in sh (a prompt, then one output frame per input
// frame; it ends at a close frame). Its keystroke round trip is what this machine (and
// whatever else runs on it), websocketd and the client cost at that many sessions.
async function anchorOnce() {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-bench-echo-'));
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
	const port = await freePort();
	const ws = spawn('websocketd', ['--address=127.0.0.1', `--port=${port}`, `--maxforks=${sessions + 16}`, '--loglevel=error', script], { stdio: 'ignore' });
	running = { anchor: ws };
	try {
		await waitFor('the anchor websocketd to listen', () => listensOn(ws.pid, port), { timeoutMs: 15000 });
		const child = spawn(path.join(BUILD_DIR, 'bench/scale-load'), [
			'--url', `ws://127.0.0.1:${port}/`, '--origin', 'http://127.0.0.1',
			'--sessions', String(sessions), '--openers', String(openers), '--keys', String(keys),
		], { env: { ...process.env, PERISCOPE_BENCH_COOKIE: 'unused=1' }, stdio: ['ignore', 'pipe', 'inherit'] });
		running.child = child;
		const r = {};
		for await (const line of readline.createInterface({ input: child.stdout })) {
			const ev = JSON.parse(line);
			r[ev.event] = ev;
			console.log(`# anchor ${line}`);
		}
		return r;
	} finally {
		running = null;
		const gone = new Promise((resolve) => ws.on('exit', resolve));
		ws.kill('SIGTERM');
		await gone;
		fs.rmSync(dir, { recursive: true, force: true });
	}
}

// min / median / max of a list of numbers.
function spread(xs, digits = 1) {
	const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
	if (!v.length) return 'n/a';
	return [v[0], v[Math.floor((v.length - 1) / 2)], v[v.length - 1]].map((x) => x.toFixed(digits)).join(' / ');
}

const runs = [], anchors = [];
for (let i = 0; i < rounds; i++) {
	anchors.push(await anchorOnce());
	runs.push(await runOnce());
}
const anchorRtt = (q) => anchors.map((a) => a.typed?.keystrokeRoundTripMs?.[q]);
const ok = runs.filter((r) => r.opened && r.typed && r.memory);
const col = (f) => ok.map(f);
console.log(`\n${sessions} cluster shells through ${ok[0]?.maxforks ? `websocketd --maxforks=${ok[0].maxforks}` : 'the stack'}, ${openers} opening at once, ${keys} keystrokes each (min / median / max of ${ok.length} runs)`);
console.log('| what | ours | anchor: websocketd + an echo in sh, same client, same run | goal |\n|---|---|---|---|');
console.log(`| terminals ready (of ${sessions}) | ${spread(col((r) => r.opened.ready), 0)}; live after typing ${spread(col((r) => r.typed.sessions), 0)} | ${spread(anchors.map((a) => a.opened?.ready), 0)} | 500 on 2 cores |`);
console.log(`| keystroke round trip p50, all typing 1 key/s | ${spread(col((r) => r.typed.keystrokeRoundTripMs?.p50), 2)} ms | ${spread(anchorRtt('p50'), 2)} ms | - |`);
console.log(`| keystroke round trip p99 | ${spread(col((r) => r.typed.keystrokeRoundTripMs?.p99), 2)} ms (keys lost: ${spread(col((r) => r.typed.lost), 0)}; machine CPU busy ${spread(col((r) => 100 * r.machineBusy), 0)} %) | ${spread(anchorRtt('p99'), 2)} ms | < 10 ms |`);
console.log(`| a bridge's wait for a CPU each time it wakes, while typing (schedstat run delay / timeslices) | ${spread(col((r) => r.bridgeQueueWaitMs), 2)} ms (load average ${spread(col((r) => r.loadAvg), 1)} on ${os.cpus().length} CPUs) | - | - |`);
console.log(`| the fakes' event loop (one node thread for the apiserver fake and its 500 exec streams) late by, while typing: p99 | ${spread(col((r) => r.fakeDelayP99), 1)} ms (max ${spread(col((r) => r.fakeDelayMax), 0)} ms) | - | - |`);
console.log(`| opens per second | ${spread(col((r) => r.opened.opensPerSecond))} | - | >= 50 |`);
console.log(`| open -> first prompt p50 under that load | ${spread(col((r) => r.opened.openToPromptMs?.p50), 0)} ms | - | - |`);
console.log(`| product CPU per open (bridge, fcgi, websocketd, web server) | ${spread(col((r) => 1000 * sum(r.openCpu, PRODUCT) / r.opened.ready))} ms | - | <= 40 ms (50 opens/s on 2 cores) |`);
console.log(`| fakes' CPU per open (apiserver in node, pod shells) | ${spread(col((r) => 1000 * (Object.values(r.openCpu).reduce((a, b) => a + b, 0) - sum(r.openCpu, PRODUCT) - (r.openCpu[LOAD_CLIENT] || 0)) / r.opened.ready))} ms | - | - |`);
console.log(`| product CPU per keystroke, all sessions live | ${spread(col((r) => 1000 * sum(r.typingCpu, PRODUCT) / Math.max(1, r.typed.keystrokes)), 2)} ms | - | - |`);
console.log(`| product CPU per live terminal and second at rest (${IDLE_S} s: timers, registry polls, heartbeats, the maintenance pass) | ${spread(col((r) => 1000 * sum(r.idleCpu, PRODUCT) / IDLE_S / r.opened.ready), 3)} ms; periscope.fcgi ${spread(col((r) => r.idleCpu['periscope.fcgi'] || 0), 2)} s in all | - | - |`);
console.log(`| product CPU per keystroke beyond that rest | ${spread(col((r) => 1000 * (sum(r.typingCpu, PRODUCT) - sum(r.idleCpu, PRODUCT) * r.typingSeconds / IDLE_S) / Math.max(1, r.typed.keystrokes)), 3)} ms | - | - |`);
console.log(`| bridges' private memory at rest | ${spread(col((r) => r.memory.bridgePrivateMiB), 0)} MiB in all, ${spread(col((r) => r.memory.bridgePrivateMedianKiB), 0)} KiB each; websocketd RSS ${spread(col((r) => r.memory.websocketdRssMiB), 0)} MiB | - | - |`);
for (const [i, r] of ok.entries()) console.log(`# run ${i + 1} CPU, opens: ${show(r.openCpu)}; ${IDLE_S} s at rest: ${show(r.idleCpu)}; typing (${r.typingSeconds.toFixed(0)} s): ${show(r.typingCpu)}`);
// A tail that comes back at a period has a periodic cause (the 15 s maintenance pass, 10 s
// heartbeats, 30 s token checks); one spread over every second is the machine's.
for (const [i, r] of ok.entries()) console.log(`# run ${i + 1} keystrokes over 10 ms by second of typing: ours [${r.typed.over10msBySecond ?? ''}], anchor [${anchors[i]?.typed?.over10msBySecond ?? ''}]`);
process.exit(ok.length === rounds && runs.every((r) => r.exit === 0) ? 0 : 1);
