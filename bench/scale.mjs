// Benchmark: many concurrent cluster shells through the whole local stack (web server,
// periscope.fcgi's authorizer, websocketd, one periscope-wsbridge each, the apiserver fake's
// pods), driven by bench/scale_load.c (one lean C process; this script only starts the
// stack, signs in and reads the machine). Prints the opens per second, open -> first prompt,
// the keystroke round trip with every session typing, and what the sessions cost.
// Usage: node bench/scale.mjs [sessions=500] [openers=16] [keys=20]
// Loopback only, bounded by scale-load's own deadline; not a test.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

import { BUILD_DIR, startStack, wsbridgeProcesses } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';

const sessions = Number(process.argv[2] || 500);
const openers = Number(process.argv[3] || 16);
const keys = Number(process.argv[4] || 20);

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

function cpuDelta(before, after) {
	const out = Object.entries(after).map(([k, v]) => [k, v - (before[k] || 0)]).filter(([, v]) => v >= 0.05);
	return out.sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ');
}

const stack = await startStack({
	config: { clusterShell: { maxSessionsPerUser: sessions, maxSessionsTotal: sessions } },
});
let exitCode = 0;
try {
	const admin = await signIn(stack, 'admin');
	const child = spawn(path.join(BUILD_DIR, 'bench/scale-load'), [
		'--url', `${stack.wsUrl}/api/clusters/local/shell`, '--origin', stack.url,
		'--sessions', String(sessions), '--openers', String(openers), '--keys', String(keys),
	], { env: { ...process.env, PERISCOPE_BENCH_COOKIE: `periscope_session=${admin.cookie()}` }, stdio: ['ignore', 'pipe', 'inherit'] });
	const results = {};
	let cpuAtOpen;
	let programsAtStart = cpuByProgram(), programsAtOpen;
	for await (const line of readline.createInterface({ input: child.stdout })) {
		const r = JSON.parse(line);
		results[r.event] = r;
		if (r.event === 'opened') {
			// The sessions at rest: every bridge's private memory, websocketd's and the web server's.
			const bridges = wsbridgeProcesses(stack).map(memoryKiB);
			results.memory = {
				bridges: bridges.length,
				bridgePrivateMiB: bridges.reduce((a, m) => a + m.private, 0) / 1024,
				bridgePrivateMedianKiB: bridges.map((m) => m.private).sort((a, b) => a - b)[Math.floor(bridges.length / 2)],
				websocketdRssMiB: memoryKiB(stack.process('websocketd').child.pid).rss / 1024,
			};
			cpuAtOpen = machineCpu();
			programsAtOpen = cpuByProgram();
			results.openCpu = cpuDelta(programsAtStart, programsAtOpen);
		}
		if (r.event === 'typed' && cpuAtOpen) {
			const c = machineCpu();
			results.typedCpu = (c.busy - cpuAtOpen.busy) / (c.total - cpuAtOpen.total);
			results.typingCpu = cpuDelta(programsAtOpen, cpuByProgram());
		}
		console.log(line);
	}
	exitCode = await new Promise((resolve) => child.on('exit', (code) => resolve(code)));
	const o = results.opened, t = results.typed, m = results.memory;
	if (o && t && m) {
		console.log(`\n| what | ours | goal |\n|---|---|---|`);
		console.log(`| concurrent terminals | ${o.ready} of ${sessions} ready (${o.failed} failed), ${t.sessions} live after typing; websocketd --maxforks=${stack.maxforks} | 500 on 2 cores |`);
		console.log(`| keystroke round trip, all ${t.sessions} typing 1 key/s | p50 ${t.keystrokeRoundTripMs?.p50} ms, p99 ${t.keystrokeRoundTripMs?.p99} ms, max ${t.keystrokeRoundTripMs?.max} ms (${t.keystrokes} keys, ${t.lost} lost); machine CPU busy ${(100 * results.typedCpu).toFixed(0)} % | p99 < 10 ms |`);
		console.log(`| opens per second (${openers} at once) | ${o.opensPerSecond} | >= 50 |`);
		console.log(`| open -> first prompt under that load | p50 ${o.openToPromptMs?.p50} ms, p99 ${o.openToPromptMs?.p99} ms | - |`);
		console.log(`| CPU of the opens, by program | ${results.openCpu} | - |`);
		console.log(`| CPU while typing, by program | ${results.typingCpu} | - |`);
		console.log(`| memory at ${m.bridges} bridges | private ${m.bridgePrivateMiB.toFixed(0)} MiB in all (median ${m.bridgePrivateMedianKiB} KiB each); websocketd RSS ${m.websocketdRssMiB.toFixed(0)} MiB | - |`);
	}
} finally {
	await stack.stop();
}
process.exit(exitCode);
