// Instructions a cluster-shell bridge spends per idle second and per keystroke: one
// periscope-wsbridge started as websocketd starts it runs under callgrind three times:
// idle `short` then `long` seconds after the prompt, then `short` seconds with `keys`
// keystrokes (one every 100 ms, each waiting for its echo). The differences are the cost of
// an idle second (heartbeats, control polls, timers) and of a keystroke's round trip.
// With IDLE_PROFILE_TOOL=strace, the same three runs under strace -c count system calls
// instead (by name), e.g. the wake-ups (poll) an idle bridge makes. With
// IDLE_PROFILE_TOOL=echo, one run with `keys` keystrokes under strace -ttt: how each echo
// crossed the bridge, from the read that brought it from the apiserver to its write to
// websocketd (the time, and whether the bridge polled in between: lib/shell/out_batch.h
// must never hold an echo that follows a quiet spell).
// Usage: node bench/idle_profile.mjs [short=2] [long=12] [keys=50]
import { copyFileSync } from 'node:fs';
import * as path from 'node:path';

import { startStack } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';
import { annotate, callgrindTotal, outputWrites, runBridge, shellPath, straceCalls } from './bridge.mjs';

const short = Number(process.argv[2] || 2);
const long = Number(process.argv[3] || 12);
const keys = Number(process.argv[4] || 50);
// IDLE_PROFILE_TOOL=strace: system calls (strace -c) instead of instructions.
const strace = process.env.IDLE_PROFILE_TOOL === 'strace';
const echo = process.env.IDLE_PROFILE_TOOL === 'echo';

// One profiled session: idle `seconds` after the prompt, typing `n` keys meanwhile.
async function profiled(stack, cookie, seconds, n, out) {
	let screen = '', prompted = false, typed = 0, echoes = 0;
	const typeOne = (send) => {
		if (typed >= n) return;
		typed++;
		send({ type: 'stdin', data: Buffer.from('x').toString('base64') });
	};
	await runBridge({
		stack, cookie, shell: shellPath('cluster'), tool: echo ? 'syscalls' : strace ? 'strace' : 'callgrind', out,
		onFrame(f, send) {
			if (f.type !== 'stdout') return;
			screen = (screen + Buffer.from(f.data, 'base64').toString('latin1')).slice(-200);
			if (!prompted && /[$#] $/.test(screen)) {
				prompted = true;
				setTimeout(() => send({ type: 'close' }), seconds * 1000);
				typeOne(send);
			} else if (prompted && typed > echoes) {
				echoes++;
				setTimeout(() => typeOne(send), 100);
			}
		},
	});
	if (echo) return { writes: outputWrites(out), echoes };
	if (strace) {
		const calls = straceCalls(out);
		return { total: Object.values(calls).reduce((a, b) => a + b, 0), calls, echoes };
	}
	return { total: callgrindTotal(annotate(out)), echoes };
}

const stack = await startStack({ apiserver: { readyDelayMs: 0 } });
try {
	const admin = await signIn(stack, 'admin');
	const cookie = `periscope_session=${admin.cookie()}`;
	if (echo) {
		// The first writes are the hello and the prompt; the rest are the echoes.
		const r = await profiled(stack, cookie, short, keys, path.join(stack.runDir, 'syscalls'));
		const echoes = r.writes.slice(-r.echoes);
		const us = echoes.map((w) => w.us).sort((x, y) => x - y);
		console.log(`echoes: ${r.echoes}, held for a later pass: ${echoes.filter((w) => w.held).length}; ` +
			`echo read -> written (us, strace's own cost included): min ${us[0]}, median ${us[us.length >> 1]}, max ${us[us.length - 1]}`);
	} else {
		const a = await profiled(stack, cookie, short, 0, path.join(stack.runDir, 'callgrind.a'));
		const b = await profiled(stack, cookie, long, 0, path.join(stack.runDir, 'callgrind.b'));
		const c = await profiled(stack, cookie, short, keys, path.join(stack.runDir, 'callgrind.c'));
		const what = strace ? 'system calls' : 'instructions';
		console.log(`${what} per idle second: ${((b.total - a.total) / (long - short)).toFixed(strace ? 1 : 0)}`);
		console.log(`${what} per keystroke round trip: ${((c.total - a.total) / c.echoes).toFixed(strace ? 1 : 0)} (${c.echoes} echoed)`);
		if (strace) {
			const per = (x, y, n) => Object.keys({ ...x.calls, ...y.calls }).map((k) => [k, ((y.calls[k] || 0) - (x.calls[k] || 0)) / n])
				.filter(([, v]) => v >= 0.05).sort((p, q) => q[1] - p[1]).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
			console.log(`per idle second: ${per(a, b, long - short)}`);
			console.log(`per keystroke: ${per(a, c, c.echoes)}`);
		}
		if (process.env.IDLE_PROFILE_KEEP) {
			for (const f of ['a', 'b', 'c'])
				copyFileSync(path.join(stack.runDir, `callgrind.${f}`), path.join(process.env.IDLE_PROFILE_KEEP, `callgrind.${f}`));
		}
	}
} finally {
	await stack.stop();
}
