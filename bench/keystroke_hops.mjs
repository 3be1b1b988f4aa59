// Where a keystroke's round trip goes, hop by hop: one terminal through the whole stack
// (bench/scale_load.c typing a key every 50 ms, each waiting for its echo) while `perf
// trace` records the system calls of every process on the path. Each keystroke is followed
// from the client's send through the web server, websocketd, the bridge, the fake (Node),
// the pty host and bash, and back; each process's share is the time from its receive
// returning to its send starting, each hop's the time from a send starting to the next
// process's receive returning (the kernel and the wake-up). Medians over the keystrokes.
// Tracing slows every system call, so the sum is longer than the untraced round trip
// (bench/keystroke.mjs); the system calls each process makes per keystroke are exact.
// Usage: node bench/keystroke_hops.mjs [cluster|node] [keys=100]
// Needs perf (linux-perf) and the right to trace (root or perf_event_paranoid <= 1).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

import { BUILD_DIR, NODES, startStack } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';
import { processTree } from './process-tree.mjs';

const kind = process.argv[2] || 'cluster';
const keys = Number(process.argv[3] || 100);
const INTERVAL_MS = 50;


// perf trace's lines: "TS ( DUR ms): COMM/TID CALL(ARGS) = RET", a call that blocked split
// into "CALL(ARGS) ..." and "... [continued]: CALL()) = RET". Times in ms.
function parseTrace(text) {
	const events = [], open = new Map();
	for (const line of text.split('\n')) {
		const m = /^\s*([\d.]+) \(\s*([\d.]*)\s*ms\): (\S+?)\/(\d+) (.*)$/.exec(line);
		if (!m) continue;
		const [, ts, dur, comm, tid, rest] = m;
		const cont = /^\.\.\. \[continued\]: (\w+)\(\)\)\s+= (-?\d+)/.exec(rest);
		if (cont) {
			const first = open.get(tid);
			open.delete(tid);
			if (first && first.call === cont[1]) events.push({ ...first, end: Number(ts) + Number(dur || 0), ret: Number(cont[2]) });
			continue;
		}
		const call = /^(\w+)\((.*?)\)\s*(?:= (-?\d+))?/.exec(rest);
		if (!call) continue;
		const ev = { comm, tid, call: call[1], args: call[2], start: Number(ts) };
		if (call[3] === undefined) open.set(tid, ev);
		else events.push({ ...ev, end: Number(ts) + Number(dur || 0), ret: Number(call[3]) });
	}
	return events.sort((a, b) => a.start - b.start);
}

// The path of a keystroke and its echo: [program, 'recv' | 'send', calls, what it is].
const RECV = ['read', 'recvfrom', 'readv'], SEND = ['write', 'writev', 'sendto', 'sendmsg'];
const PATH = [
	['lighttpd', 'recv'], ['lighttpd', 'send'], ['websocketd', 'recv'], ['websocketd', 'send'],
	['periscope-wsbr', 'recv'], ['periscope-wsbr', 'send'], ['node', 'recv'], ['node', 'send'],
	['ptyhost', 'recv', (e) => !e.args.includes('ptmx')], ['ptyhost', 'send', (e) => e.args.includes('ptmx')],
	['bash', 'recv'], ['bash', 'send'],
	['ptyhost', 'recv', (e) => e.args.includes('ptmx')], ['ptyhost', 'send', (e) => !e.args.includes('ptmx')],
	['node', 'recv'], ['node', 'send'], ['periscope-wsbr', 'recv'], ['periscope-wsbr', 'send'],
	['websocketd', 'recv'], ['websocketd', 'send'], ['lighttpd', 'recv'], ['lighttpd', 'send'],
	['scale-load', 'recv'],
];
const OWNER = { lighttpd: 'product (web server)', 'periscope-wsbr': 'product (bridge)', websocketd: 'websocketd (in the anchor too)', node: 'fake (Node)', ptyhost: 'fake (pty host)', bash: 'shell (the anchor echoes)', 'scale-load': 'client' };

// Follows each client send along PATH: the segments' durations (ms), or null when the
// chain breaks (another event in between that the matching cannot tell apart).
function follow(events, send) {
	const seg = [];
	let t = send.start, prev = 'scale-load';
	for (const [comm, dir, pred] of PATH) {
		const calls = dir === 'recv' ? RECV : SEND;
		const e = events.find((x) => x.comm.startsWith(comm) && calls.includes(x.call) && x.ret > 0 &&
			(dir === 'recv' ? x.end >= t : x.start >= t) && (!pred || pred(x)));
		if (!e) return null;
		const at = dir === 'recv' ? e.end : e.start;
		seg.push({ name: dir === 'recv' ? `${prev} -> ${comm} (kernel, wake-up)` : `in ${comm}`, owner: OWNER[dir === 'recv' ? comm : comm], ms: at - t });
		t = at;
		prev = comm;
	}
	return seg;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const stack = await startStack();
const out = path.join(os.tmpdir(), `periscope-keystroke-trace-${process.pid}.txt`);
try {
	const admin = await signIn(stack, 'admin');
	const url = kind === 'node' ? `${stack.wsUrl}/api/clusters/local/nodes/${NODES[0].name}/shell` : `${stack.wsUrl}/api/clusters/local/shell`;
	const client = spawn(path.join(BUILD_DIR, 'bench/scale-load'), ['--url', url, '--origin', stack.url, '--sessions', '1', '--openers', '1',
		'--keys', String(keys), '--interval-ms', String(INTERVAL_MS), '--wait-go'],
	{ env: { ...process.env, PERISCOPE_BENCH_COOKIE: `periscope_session=${admin.cookie()}` }, stdio: ['pipe', 'pipe', 'inherit'] });
	let perf, typed;
	for await (const line of readline.createInterface({ input: client.stdout })) {
		const ev = JSON.parse(line);
		if (ev.event === 'opened') {
			const pids = [process.pid, ...processTree().keys()];
			perf = spawn('perf', ['trace', '-o', out, '-p', pids.join(',')], { stdio: ['ignore', 'ignore', 'inherit'] });
			// perf attaches within a moment: the first keystrokes may go untraced (only whole chains count).
			await new Promise((resolve) => setTimeout(resolve, 1000));
			client.stdin.write('go\n');
		}
		if (ev.event === 'typed') {
			typed = ev;
			const stopped = new Promise((resolve) => perf.on('exit', resolve));
			perf.kill('SIGINT');
			await stopped;
		}
	}
	const events = parseTrace(fs.readFileSync(out, 'utf8'));
	const sends = events.filter((e) => e.comm === 'scale-load' && e.call === 'sendto' && e.ret > 30);
	const chains = sends.map((s) => follow(events, s)).filter(Boolean);
	console.log(`${kind} shell: ${chains.length} of ${sends.length} keystrokes followed end to end under perf trace ` +
		`(round trip p50 ${typed?.keystrokeRoundTripMs?.p50} ms traced; load average ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]})`);
	console.log('| segment | owner | median us |\n|---|---|---|');
	const byOwner = {};
	for (let i = 0; i < PATH.length; i++) {
		const v = median(chains.map((c) => c[i].ms)) * 1000;
		console.log(`| ${chains[0][i].name} | ${chains[0][i].owner} | ${v.toFixed(0)} |`);
		byOwner[chains[0][i].owner] = (byOwner[chains[0][i].owner] || 0) + v;
	}
	console.log('| **by owner** | | |');
	for (const [owner, v] of Object.entries(byOwner)) console.log(`| | ${owner} | ${v.toFixed(0)} |`);
	// System calls per keystroke, by program: all of them between the first and last send.
	const span = [sends[0].start, sends[sends.length - 1].start];
	const calls = {};
	for (const e of events) if (e.start >= span[0] && e.start < span[1]) calls[e.comm] = (calls[e.comm] || 0) + 1;
	const per = Object.entries(calls).map(([k, v]) => `${k} ${(v / (sends.length - 1)).toFixed(1)}`).join(', ');
	console.log(`system calls per keystroke (all threads, idle work included): ${per}`);
} finally {
	fs.rmSync(out, { force: true });
	await stack.stop();
}
