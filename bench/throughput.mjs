// Benchmark: relay throughput of both shells through the whole local stack (the web server,
// its FastCGI gate, websocketd, periscope-wsbridge, the fakes), each next to its anchor in
// the same run (issue 14):
//   cluster shell: `cat` of a file of MEGABYTES MB in the pod's terminal, next to websocketd
//     relaying the same JSON frames (the ones this run's bridge wrote, as the client got
//     them) with `cat`, through the same web server path and to the same client;
//   node shell: the same cat in the instance's terminal over the SSM data channel, next to
//     the same cat in a local pty. The agent's own pace is left aside: the AWS fake's agent
//     reads the pty in the agent's 1 KiB messages (StreamDataPayloadSize) but without the
//     real agent's 1 ms sleep after each read (amazon-ssm-agent agent/session/shell/shell.go
//     writePump), which alone caps a real agent near 1 MB/s.
// The client is bench/cat_load.c (its own process, no JSON parser on output frames); the
// fakes run in this process. For each cat: the CPU seconds of every program below this
// process over the cat's wall time, which names the one that is saturated.
// Usage: node bench/throughput.mjs [runs=3] [megabytes=16]. Loopback only; not a test.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Session } from 'node:inspector/promises';
import * as readline from 'node:readline';

import { findPtyhost } from '../tests/fakes/common/ptyhost.mjs';
import { BUILD_DIR, NODES, startStack, wsbridgeProcesses } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';

const runs = Number(process.argv[2] || 3);
const megabytes = Number(process.argv[3] || 16);

// On-CPU and run-queue nanoseconds so far of every process below this one (all its live
// threads, /proc/PID/task/TID/schedstat), by program; this process's main thread (the
// fakes' event loop) also on its own. A stage of the pipeline that is either on a CPU or
// waiting for one for the whole cat is the one that sets the pace.
function schedByProgram() {
	const procs = new Map();
	for (const name of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(name)) continue;
		try {
			const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
			const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
			const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			procs.set(Number(name), { comm, ppid: Number(f[1]) });
		} catch {
			// gone meanwhile
		}
	}
	const mine = (pid) => {
		for (let p = pid, hops = 0; p > 1 && hops < 64; p = procs.get(p)?.ppid ?? 0, hops++) if (p === process.pid) return true;
		return false;
	};
	const taskSched = (pid, tid) => {
		const [run, wait] = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
		return { run, wait };
	};
	const totals = {};
	const add = (program, v) => {
		const t = totals[program] ??= { run: 0, wait: 0 };
		t.run += v.run;
		t.wait += v.wait;
	};
	for (const [pid, p] of procs) {
		if (!mine(pid)) continue;
		const program = pid === process.pid ? 'node (fakes)' : p.comm;
		try {
			for (const tid of fs.readdirSync(`/proc/${pid}/task`)) add(program, taskSched(pid, tid));
		} catch {
			// gone meanwhile
		}
	}
	add('node main thread', taskSched(process.pid, process.pid));
	return totals;
}

// Each program over the span: [name, on-CPU share of the wall time (1.00: one core),
// run-queue wait share, CPU nanoseconds per relayed byte].
function shares(before, after, seconds, bytes) {
	return Object.entries(after).map(([k, v]) => {
		const b = before[k] || { run: 0, wait: 0 };
		return [k, (v.run - b.run) / 1e9 / seconds, (v.wait - b.wait) / 1e9 / seconds, (v.run - b.run) / bytes];
	}).sort((a, b) => b[1] - a[1]);
}
const showShares = (list) => list.filter(([, run]) => run >= 0.02)
	.map(([k, run, wait, ns]) => `${k} ${run.toFixed(2)}+${wait.toFixed(2)} (${ns.toFixed(1)} ns/B)`).join(', ');
// The relay's own programs (what a deployment runs per terminal byte) and the client; the
// rest are the fakes (the pod's or instance's side: node, ptyhost) and this driver.
const RELAY = ['lighttpd', 'websocketd', 'periscope-wsbri', 'cat-load'];
const nsPerByte = (r, names) => r.cpu.filter(([k]) => names.includes(k)).reduce((a, [, , , ns]) => a + ns, 0);
// Every program's CPU per byte together (the fakes' included; the tracers and the fakes'
// main thread, which 'node (fakes)' already holds, left out): two cores relay at most
// 2 / that many bytes a nanosecond, whatever the order of the stages.
const allNsPerByte = (r) => r.cpu.filter(([k]) => !['node main thread', 'perf', 'strace'].includes(k)).reduce((a, [, , , ns]) => a + ns, 0);
const CORES = os.cpus().length;

// THROUGHPUT_PROFILE=1: the fakes' main thread under V8's sampling profiler during each
// cat, its heaviest functions by self time printed as # lines.
const inspector = process.env.THROUGHPUT_PROFILE ? new Session() : null;
if (inspector) {
	inspector.connect();
	await inspector.post('Profiler.enable');
	await inspector.post('Profiler.setSamplingInterval', { interval: 200 });
}
async function profileTop() {
	const { profile } = await inspector.post('Profiler.stop');
	const self = new Map();
	const dt = new Map(profile.samples.map((id, i) => [i, profile.timeDeltas[i]]));
	const byId = new Map(profile.nodes.map((n) => [n.id, n]));
	const total = profile.timeDeltas.reduce((a, b) => a + b, 0);
	profile.samples.forEach((id, i) => {
		const f = byId.get(id).callFrame;
		const key = `${f.functionName || '(anon)'} ${path.basename(f.url)}:${f.lineNumber + 1}`;
		self.set(key, (self.get(key) || 0) + dt.get(i));
	});
	return [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)
		.map(([k, v]) => `${(100 * v / total).toFixed(1)}% ${k}`).join('; ');
}

// THROUGHPUT_STRACE=1: strace -c of the relay's programs during each cat (it slows them
// down: its counts are the figure, not the run's speed), as # lines: calls per program.
// THROUGHPUT_PERF=1: perf stat of the same programs instead: context switches per relayed
// MB (how often each one parked and woke; the machine's load changes that little) and CPU
// time per byte (task-clock). Software events only: hardware counters (instructions) are
// often missing in a virtual machine. THROUGHPUT_PERF=record: perf record (cpu-clock
// samples, kernel included) of each program, as its top shared objects and functions.
function relayPids(stack) {
	// The terminals' hosts: children of this process's ptyhost server (other work on the
	// machine runs ptyhosts of its own).
	const ptyhostParent = (n) => {
		try {
			return fs.readFileSync(`/proc/${n}/comm`, 'utf8').trim() === 'ptyhost'
				? Number(fs.readFileSync(`/proc/${n}/stat`, 'utf8').split(') ')[1].split(' ')[1]) : 0;
		} catch {
			return 0;
		}
	};
	const all = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map((n) => [Number(n), ptyhostParent(n)]).filter(([, pp]) => pp);
	const servers = new Set(all.filter(([, pp]) => pp === process.pid).map(([pid]) => pid));
	const ptyhosts = all.filter(([, pp]) => servers.has(pp)).map(([pid]) => pid);
	return {
		'periscope-wsbridge': wsbridgeProcesses(stack),
		websocketd: [stack.process('websocketd').child.pid],
		lighttpd: [stack.process('lighttpd')?.child.pid].filter(Boolean),
		'ptyhost (the terminal\'s host)': ptyhosts,
	};
}
function traceStart(stack, tool) {
	return Object.entries(relayPids(stack)).filter(([, pids]) => pids.length).map(([name, pids]) => {
		const out = path.join(dir, `${tool}-${name.split(' ')[0]}`);
		const args = {
			perf: ['stat', '-x', ',', '-e', 'task-clock,context-switches', '-o', out, '-p', pids.join(',')],
			record: ['record', '-q', '-e', 'cpu-clock', '-F', '2999', '-o', out, '-p', pids.join(',')],
			strace: ['-c', '-f', '-qq', '-o', out, ...pids.flatMap((p) => ['-p', String(p)])],
		}[tool];
		const child = spawn(tool === 'strace' ? 'strace' : 'perf', args, { stdio: 'ignore' });
		// Listened for from the start: a tracer whose processes all ended before the cat did
		// (a terminal host of the previous session) has exited by the time traceStop asks.
		const exited = new Promise((resolve) => child.on('exit', resolve));
		return { name, out, child, tool, exited };
	});
}
async function traceStop(traces, bytes) {
	const lines = [];
	for (const t of traces) {
		// perf stat may miss a SIGINT that comes while it is still attaching: ask again.
		const again = setInterval(() => t.child.kill('SIGINT'), 1000);
		t.child.kill('SIGINT');
		await t.exited;
		clearInterval(again);
		if (t.tool === 'record') {
			lines.push(`${t.name}: ${perfTop(t.out, 'dso', 5)} | ${perfTop(t.out, 'sym', 10)}`);
			continue;
		}
		const text = fs.readFileSync(t.out, 'utf8');
		if (t.tool === 'perf') {
			const v = Object.fromEntries(text.split('\n').map((l) => l.split(',')).filter((f) => f.length > 2 && /^[\d.]+$/.test(f[0])).map((f) => [f[2], Number(f[0])]));
			lines.push(v['task-clock'] === undefined ? `${t.name}: ended before the cat did`
				: `${t.name}: ${(1e6 * v['task-clock'] / bytes).toFixed(1)} CPU ns/B, ${(1e6 * v['context-switches'] / bytes).toFixed(0)} context switches/MB`);
			continue;
		}
		const rows = text.split('\n').filter((l) => /^\s*[\d.]+\s+[\d.]+\s+\d+\s+\d+/.test(l))
			.map((l) => l.trim().split(/\s+/)).map((f) => [f[f.length - 1], Number(f[3])]).sort((a, b) => b[1] - a[1]);
		lines.push(`${t.name}: ${rows.slice(0, 6).map(([n, c]) => `${n} ${c}`).join(', ')}`);
	}
	return lines.join('; ');
}
// The largest shares of a perf record file, by shared object or by function.
function perfTop(file, key, n) {
	const r = spawnSync('perf', ['report', '-i', file, '--stdio', '--no-children', '--sort', key], { encoding: 'utf8', timeout: 60000 });
	return (r.stdout || '').split('\n').filter((l) => /^\s+[\d.]+%/.test(l)).slice(0, n)
		.map((l) => l.trim().replace(/\s+/g, ' ').replace(/\[[.k]\] /, '')).join(', ');
}
const TRACE = { 1: 'perf', record: 'record' }[process.env.THROUGHPUT_PERF] ?? (process.env.THROUGHPUT_STRACE ? 'strace' : null);

const loadavg = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

// One cat-load run; mode shell (with --frames to keep what was received) or drain.
async function catLoad(stack, cookie, shellPath, mode, frames) {
	const child = spawn(path.join(BUILD_DIR, 'bench/cat-load'), [
		'--url', `${stack.wsUrl}${shellPath}`, '--origin', stack.url, '--mode', mode,
		'--megabytes', String(megabytes), ...(frames ? ['--frames', frames] : []),
	], { env: { ...process.env, PERISCOPE_BENCH_COOKIE: `periscope_session=${cookie}` }, stdio: ['pipe', 'pipe', 'inherit'] });
	const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
	let before = mode === 'drain' ? schedByProgram() : null;
	let result = null;
	let traces = null;
	for await (const line of readline.createInterface({ input: child.stdout })) {
		const ev = JSON.parse(line);
		if (ev.event === 'ready') {
			before = schedByProgram();
			if (inspector) await inspector.post('Profiler.start');
			if (TRACE && mode === 'shell') {
				traces = traceStart(stack, TRACE);
				await new Promise((resolve) => setTimeout(resolve, 500)); // attached
			}
			child.stdin.write('go\n');
		} else if (ev.event === 'cat') {
			result = { ...ev, cpu: shares(before, schedByProgram(), ev.seconds, ev.bytes), load: loadavg() };
			if (inspector && mode === 'shell') result.profile = await profileTop();
			if (traces) result.trace = await traceStop(traces, ev.bytes);
			if (mode === 'shell') child.stdin.write('end\n');
		}
	}
	const code = await exited;
	if (code !== 0 || !result) throw new Error(`cat-load ${mode} ${shellPath} failed (exit ${code})`);
	result.mbps = result.bytes / 1e6 / result.seconds;
	return result;
}

// The same cat in a local pty (the fakes run their shells in one the same way).
async function localPty() {
	const file = path.join(os.tmpdir(), `periscope-bench-cat-${process.pid}`);
	fs.writeFileSync(file, Buffer.alloc(megabytes * 750000).toString('base64').replace(/(.{100})/g, '$1\n'));
	const t0 = performance.now();
	let received = 0;
	await new Promise((resolve, reject) => {
		const p = spawn(findPtyhost(BUILD_DIR), ['--', 'cat', file], { stdio: ['pipe', 'pipe', 'inherit'] });
		p.stdout.on('data', (d) => { received += d.length; });
		p.on('exit', resolve);
		p.on('error', reject);
	});
	fs.rmSync(file);
	return { mbps: received / 1e6 / ((performance.now() - t0) / 1000) };
}

const spread = (xs) => {
	const s = [...xs].sort((a, b) => a - b);
	return `${s[0].toFixed(2)} / ${s[Math.floor(s.length / 2)].toFixed(2)} / ${s[s.length - 1].toFixed(2)}`;
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-bench-throughput-'));
const framesFile = path.join(dir, 'frames.jsonl');
// The anchor's terminal program: the frames this run's cluster shell sent, as they are.
const anchorProgram = path.join(dir, 'anchor.sh');
fs.writeFileSync(anchorProgram, `#!/bin/sh\nexec cat '${framesFile}'\n`, { mode: 0o755 });

const stacks = [];
try {
	const stack = await startStack();
	stacks.push(stack);
	const anchorStack = await startStack({ terminalProgram: anchorProgram });
	stacks.push(anchorStack);
	const cookie = (await signIn(stack, 'admin')).cookie();
	const anchorCookie = (await signIn(anchorStack, 'admin')).cookie();
	const rows = { cluster: [], anchor: [], node: [], pty: [] };
	// Interleaved, so that what else the machine does falls on both sides of each ratio.
	for (let i = 0; i < runs; i++) {
		rows.cluster.push(await catLoad(stack, cookie, '/api/clusters/local/shell', 'shell', framesFile));
		rows.anchor.push(await catLoad(anchorStack, anchorCookie, '/api/clusters/local/shell', 'drain'));
		rows.node.push(await catLoad(stack, cookie, `/api/clusters/local/nodes/${NODES[0].name}/shell`, 'shell'));
		rows.pty.push(await localPty());
	}
	for (const [name, list] of Object.entries(rows)) {
		for (const r of list) {
			if (!r.bytes) {
				console.log(`# ${name}: ${r.mbps.toFixed(2)} MB/s`);
				continue;
			}
			console.log(`# ${name}: ${(r.bytes / 1e6).toFixed(1)} MB in ${r.frames} frames, ${r.seconds.toFixed(3)} s = ${r.mbps.toFixed(2)} MB/s (load ${r.load}); per program, on-CPU + run-queue wait per wall second (CPU ns per byte): ${showShares(r.cpu)}`);
			if (r.profile) console.log(`#   fakes' main thread, self time: ${r.profile}`);
			if (r.trace) console.log(`#   ${TRACE}: ${r.trace}`);
		}
	}
	const ratio = (a, b) => a.map((r, i) => r.mbps / b[i].mbps);
	console.log('| what | ours (min / median / max) | anchor | ratio | goal |');
	console.log('|---|---|---|---|---|');
	console.log(`| cluster-shell relay throughput, cat of ${megabytes} MB | ${spread(rows.cluster.map((r) => r.mbps))} MB/s | ${spread(rows.anchor.map((r) => r.mbps))} MB/s (websocketd cat of the same frames) | ${spread(ratio(rows.cluster, rows.anchor))} | >= 0.9 |`);
	const cpuRatio = (a, b) => a.map((r, i) => nsPerByte(b[i], RELAY) / nsPerByte(r, RELAY));
	console.log(`| cluster-shell relay CPU per byte: client, web server, websocketd (+ bridge) | ${spread(rows.cluster.map((r) => nsPerByte(r, RELAY)))} ns | ${spread(rows.anchor.map((r) => nsPerByte(r, RELAY)))} ns | ${spread(cpuRatio(rows.cluster, rows.anchor))} (anchor / ours) | - |`);
	console.log(`| cluster-shell ratio the CPU allows: anchor's CPU per byte / ours, every program (the fakes' included) | ${spread(rows.cluster.map(allNsPerByte))} ns | ${spread(rows.anchor.map(allNsPerByte))} ns | ${spread(rows.cluster.map((r, i) => allNsPerByte(rows.anchor[i]) / allNsPerByte(r)))} | - |`);
	console.log(`| node-shell relay throughput, cat of ${megabytes} MB (the agent's 1 ms sleep per read aside) | ${spread(rows.node.map((r) => r.mbps))} MB/s | ${spread(rows.pty.map((r) => r.mbps))} MB/s (local pty) | ${spread(ratio(rows.node, rows.pty))} | >= 0.8 |`);
	console.log(`| node-shell relay CPU per byte: client, web server, websocketd, bridge / the fakes' | ${spread(rows.node.map((r) => nsPerByte(r, RELAY)))} ns | ${spread(rows.node.map((r) => nsPerByte(r, ['node (fakes)', 'ptyhost'])))} ns | - | - |`);
	const relayBound = rows.node.map((r) => 1000 * CORES / nsPerByte(r, RELAY));
	console.log(`| node-shell rate ${CORES} cores allow the relay with the agent aside (${CORES} / CPU per byte of client, web server, websocketd, bridge) | ${spread(relayBound)} MB/s | ${spread(rows.pty.map((r) => r.mbps))} MB/s (local pty) | ${spread(relayBound.map((b, i) => b / rows.pty[i].mbps))} | - |`);
} finally {
	for (const s of stacks.reverse()) await s.stop();
	fs.rmSync(dir, { recursive: true, force: true });
}
