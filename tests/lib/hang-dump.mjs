// What keeps a test process waiting: loaded with --import (node passes it on to each test
// file's process), it records where every handle (timer, socket, child process, ...) was
// made, and lists those still open with that place:
//   - on SIGUSR2, at any time;
//   - once, PERISCOPE_HANG_DUMP_MS after the file started, when that is set (dev/test sets
//     it a little below the runner's --test-timeout, whose SIGTERM leaves no report).
// Written to stderr, which the runner reports with the file's results. Promises are not
// recorded (too many; a promise nobody will settle shows as the handle that was meant to
// settle it, or as nothing at all when the process waits on no handle).
import { createHook } from 'node:async_hooks';
import { writeSync } from 'node:fs';

// The kinds of resource that keep the event loop alive (async_hooks type names).
const HANDLES = new Set(['Timeout', 'Immediate', 'TCPWRAP', 'TCPSERVERWRAP', 'PIPEWRAP', 'PIPESERVERWRAP',
	'PROCESSWRAP', 'TTYWRAP', 'UDPWRAP', 'FSEVENTWRAP', 'STATWATCHER', 'TLSWRAP']);
const origins = new Map(); // asyncId -> { type, stack }

function frames(stack) {
	return stack.split('\n').slice(1)
		.filter((l) => !l.includes('node:internal') && !l.includes('hang-dump.mjs') && !l.includes('(node:'))
		.slice(0, 6).map((l) => l.trim());
}

createHook({
	init(asyncId, type) {
		if (!HANDLES.has(type)) return;
		origins.set(asyncId, { type, stack: new Error().stack });
	},
	destroy(asyncId) {
		origins.delete(asyncId);
	},
}).enable();

// A handle as process._getActiveHandles() gives it, in words.
function describeHandle(h) {
	const name = h?.constructor?.name ?? typeof h;
	if (name === 'Socket' || name === 'TLSSocket') {
		const where = h.remotePort ? `${h.localAddress}:${h.localPort} -> ${h.remoteAddress}:${h.remotePort}` : (h._pipeName ?? h.fd ?? 'unconnected/pipe');
		return `${name} ${where}${h.destroyed ? ' (destroyed)' : ''}`;
	}
	if (name === 'Server') return `Server ${JSON.stringify(h.address?.())}`;
	if (name === 'ChildProcess') return `ChildProcess pid ${h.pid} ${h.spawnargs?.join(' ').slice(0, 160)}`;
	if (name === 'Timeout') return `Timeout ${h._idleTimeout} ms${h._repeat ? ' repeating' : ''}${h.hasRef?.() === false ? ' (unref)' : ''}`;
	return name;
}

export function dumpHandles(why) {
	const lines = [`hang-dump (pid ${process.pid}, ${why}):`];
	lines.push(`  active resources: ${process.getActiveResourcesInfo().join(', ') || 'none'}`);
	for (const h of process._getActiveHandles()) lines.push(`  handle: ${describeHandle(h)}`);
	for (const r of process._getActiveRequests()) lines.push(`  request: ${r?.constructor?.name}`);
	const byPlace = new Map();
	for (const { type, stack } of origins.values()) {
		const key = `${type} made ${frames(stack).join(' < ') || '(node internals)'}`;
		byPlace.set(key, (byPlace.get(key) ?? 0) + 1);
	}
	for (const [key, n] of byPlace) lines.push(`  open: ${n} x ${key}`);
	// Every line says what it is: the runner interleaves them with the file's other output.
	writeSync(2, `${lines.map((l, i) => (i ? `hang-dump: ${l}` : l)).join('\n')}\n`);
}

process.on('SIGUSR2', () => dumpHandles('SIGUSR2'));
const after = Number(process.env.PERISCOPE_HANG_DUMP_MS);
if (after > 0) setTimeout(() => dumpHandles(`still running ${after} ms after it started`), after).unref();
