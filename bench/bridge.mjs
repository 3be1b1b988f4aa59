// One periscope-wsbridge started as websocketd starts it (CGI variables, frames on stdin
// and stdout), optionally under a measuring tool: the driver shared by the profiles
// (relay_profile.mjs, idle_profile.mjs, open_profile.mjs).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { BUILD_DIR, NODES } from '../tests/lib/stack.mjs';

export const BRIDGE = path.join(BUILD_DIR, 'wsbridge/periscope-wsbridge');

export function shellPath(kind) {
	return kind === 'node' ? `/api/clusters/local/nodes/${NODES[0].name}/shell` : '/api/clusters/local/shell';
}

// The environment websocketd gives periscope-wsbridge (libwebsocketd/env.go createEnv).
export function bridgeEnv(stack, cookie, shell) {
	return {
		PATH: process.env.PATH,
		PERISCOPE_CONFIG: stack.configPath,
		...Object.fromEntries(Object.entries(stack.env).filter(([k]) => k.startsWith('AWS_'))),
		SERVER_SOFTWARE: 'websocketd/0.4.1', REMOTE_ADDR: '127.0.0.1', REMOTE_HOST: '127.0.0.1',
		SERVER_NAME: '127.0.0.1', SERVER_PORT: String(stack.wsPort), SERVER_PROTOCOL: 'HTTP/1.1',
		GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'GET', SCRIPT_NAME: '', PATH_INFO: shell,
		QUERY_STRING: '', REQUEST_URI: shell, REMOTE_PORT: '40000',
		UNIQUE_ID: randomBytes(8).toString('hex'),
		HTTP_HOST: `127.0.0.1:${stack.wsPort}`, HTTP_UPGRADE: 'websocket', HTTP_CONNECTION: 'Upgrade',
		HTTP_SEC_WEBSOCKET_VERSION: '13', HTTP_SEC_WEBSOCKET_KEY: randomBytes(16).toString('base64'),
		HTTP_COOKIE: cookie, HTTP_ORIGIN: stack.url,
	};
}

// The command line that runs the bridge under a tool, writing its report to `out`:
// callgrind (instructions), strace (system calls by name, strace -c), cpu (user and system
// CPU time, perf stat), syscalls (each relay system call with its time, strace -ttt),
// heaptrack (the heap by caller; bench/memory.mjs), maxrss (the peak RSS in KiB to its exit,
// or since VmHWM was last reset; /usr/bin/time), or none.
export function toolPrefix(tool, out) {
	switch (tool) {
	case 'callgrind': return ['valgrind', '--tool=callgrind', `--callgrind-out-file=${out}`, '--trace-children=no'];
	case 'strace': return ['strace', '-c', '-o', out];
	case 'syscalls': return ['strace', '-ttt', '-e', 'trace=read,write,recvfrom,sendto,poll', '-o', out];
	case 'cpu': return ['perf', 'stat', '-x,', '-o', out, '-e', 'task-clock,user_time,system_time'];
	case 'heaptrack': return ['heaptrack', '-o', out];
	case 'maxrss': return ['/usr/bin/time', '-f', '%M', '-o', out];
	case 'none': return [];
	default: throw new Error(`unknown tool ${tool}`);
	}
}

// Starts the bridge for `shell`; onFrame(frame, send) sees every frame it writes (send
// writes one frame to its stdin), onSpawn(child) the process started. Resolves when it
// exits; an error frame rejects.
export function runBridge({ stack, cookie, shell, tool = 'none', out, stderr = 'ignore', onFrame, onSpawn }) {
	const [cmd, ...args] = [...toolPrefix(tool, out), BRIDGE];
	const child = spawn(cmd, args, { env: bridgeEnv(stack, cookie, shell), stdio: ['pipe', 'pipe', stderr] });
	const send = (o) => child.stdin.write(`${JSON.stringify(o)}\n`);
	onSpawn?.(child);
	let raw = '';
	return new Promise((resolve, reject) => {
		child.stdout.on('data', (d) => {
			raw += d;
			const lines = raw.split('\n');
			raw = lines.pop();
			for (const line of lines) {
				if (tool === 'heaptrack' && !line.startsWith('{')) continue; // heaptrack's own lines
				const f = JSON.parse(line);
				if (f.type === 'error') reject(new Error(line));
				onFrame(f, send);
			}
		});
		child.on('close', resolve);
		send({ type: 'resize', cols: 100, rows: 30 });
	});
}

// callgrind_annotate's text for a callgrind file (inclusive costs when asked), every function
// listed (the default threshold leaves out the smallest, which a difference of two runs needs).
export function annotate(file, inclusive = false) {
	return execFileSync('callgrind_annotate', ['--threshold=100', `--inclusive=${inclusive ? 'yes' : 'no'}`, file], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

// The instruction count of a whole callgrind run.
export function callgrindTotal(text) {
	return Number(/([\d,]+)(?: \(100\.0%\))?\s+PROGRAM TOTALS/.exec(text)[1].replaceAll(',', ''));
}

// The inclusive count of functions whose name matches `fn` (a regex source), summed.
export function inclusiveOf(text, fn) {
	let sum = 0;
	for (const m of text.matchAll(new RegExp(`^\\s*([\\d,]+) \\(\\s*[\\d.]+%\\)\\s+\\S*?(?:${fn}) \\[`, 'gm')))
		sum += Number(m[1].replaceAll(',', ''));
	return sum;
}

// strace -c's table ("% time seconds usecs/call calls errors syscall"): calls by name.
export function straceCalls(file) {
	const calls = {};
	for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
		const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$/.exec(line);
		if (m && m[2] !== 'total') calls[m[2]] = Number(m[1]);
	}
	return calls;
}

// How each output piece crosses the bridge (a `syscalls` trace): for every write of frames to
// websocketd (fd 1), the time since the upstream read that brought its bytes (the last
// recvfrom that returned data) and whether the bridge polled in between, i.e. whether it
// held the output for a later pass. Returns [{ us, held }], one per write, in order.
export function outputWrites(file) {
	let lastRead = null, polled = false;
	const r = [];
	for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
		const m = /^([\d.]+) (\w+)\((\d+)?.*= (-?\d+)/.exec(line);
		if (!m) continue;
		const [, t, call, fd, ret] = m;
		if (call === 'recvfrom' && Number(ret) > 0) {
			lastRead = Number(t);
			polled = false;
		} else if (call === 'poll') {
			polled = true;
		} else if (call === 'write' && fd === '1' && lastRead !== null) {
			r.push({ us: Math.round((Number(t) - lastRead) * 1e6), held: polled });
			lastRead = null;
		}
	}
	return r;
}

// perf stat -x, output: CPU seconds in all (task-clock, ns-precise), and the user and
// system split (from rusage: coarser). "<not counted>" is a zero.
export function cpuSeconds(file) {
	const text = fs.readFileSync(file, 'utf8');
	const value = (unit, name) => {
		const m = new RegExp(`^([^,\\n]*),${unit},${name},`, 'm').exec(text);
		if (!m) throw new Error(`no ${name} in ${file}`);
		return /^[\d.]+$/.test(m[1]) ? Number(m[1]) : 0;
	};
	return { total: value('msec', 'task-clock') / 1e3, user: value('ns', 'user_time') / 1e9, system: value('ns', 'system_time') / 1e9 };
}
