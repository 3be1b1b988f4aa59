// The cost of relaying a byte: one periscope-wsbridge started as websocketd starts it
// (bench/bridge.mjs) runs twice, each time opening a shell on the local stack and printing
// `bytes` of text (base64 of zeros, 100 columns) before closing; the difference of the
// two costs over the difference of the relayed bytes is the cost of relaying a byte, with
// the open and close taken out.
//   RELAY_PROFILE_TOOL=callgrind (default): instructions, under valgrind. valgrind has no
//     SHA-NI, so SHA-256 (the SSM payload digests, the acks' digests, the recording's
//     hash) is counted apart: natively it runs on SHA-NI (bench/hash_bench.c).
//   RELAY_PROFILE_TOOL=cpu: the bridge's own user and system CPU time (perf stat), natively,
//     next to `cat` moving the same bytes from a file to /dev/null in the same run.
//   RELAY_PROFILE_TOOL=strace: system calls per KiB relayed, by name (strace -c).
// RELAY_PROFILE_RECORDING=off: with recording.enabled false (no asciicast file, no hash).
// Usage: node bench/relay_profile.mjs [small=100000] [large=1000000] [cluster|node]
import { execFileSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { startStack } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';
import { annotate, callgrindTotal, cpuSeconds, inclusiveOf, runBridge, shellPath, straceCalls, toolPrefix } from './bridge.mjs';

const small = Number(process.argv[2] || 100000);
const large = Number(process.argv[3] || 1000000);
const kind = process.argv[4] || 'node';
const tool = process.env.RELAY_PROFILE_TOOL || 'callgrind';
// SHA-256 through GnuTLS's public entry points, whichever pass calls them, and the acks'
// digests (nettle, from the prefix state: aws/ssm_ack_digest.c).
const SHA = 'gnutls_hash_fast|gnutls_hash|gnutls_hash_deinit|gnutls_hash_output|gnutls_hash_copy|ssm_ack_digest';

// One session printing `bytes` bytes of text: resolves with the terminal bytes relayed.
async function session(stack, cookie, bytes, out) {
	let screen = '', relayed = 0, typed = false, done = false;
	await runBridge({
		stack, cookie, shell: shellPath(kind), tool, out,
		onFrame(f, send) {
			if (f.type !== 'stdout') return;
			const chunk = Buffer.from(f.data, 'base64');
			relayed += chunk.length;
			screen = (screen + chunk.toString('latin1')).slice(-200);
			if (!typed && /[$#] $/.test(screen)) {
				typed = true;
				const line = `head -c ${Math.floor(bytes * 3 / 4)} /dev/zero | base64 -w 100; echo DO""NE\r`;
				send({ type: 'stdin', data: Buffer.from(line).toString('base64') });
			}
			if (typed && !done && screen.includes('DONE')) {
				done = true;
				send({ type: 'close' });
			}
		},
	});
	if (!done) throw new Error('the bridge ended before DONE');
	return relayed;
}

const stack = await startStack({
	apiserver: { readyDelayMs: 0 },
	...(process.env.RELAY_PROFILE_RECORDING === 'off' ? { config: { recording: { enabled: false } } } : {}),
});
try {
	const admin = await signIn(stack, 'admin');
	const cookie = `periscope_session=${admin.cookie()}`;
	const outA = path.join(stack.runDir, `${tool}.small`), outB = path.join(stack.runDir, `${tool}.large`);
	const a = await session(stack, cookie, small, outA);
	const b = await session(stack, cookie, large, outB);
	const perByte = (x, y) => (x - y) / (b - a);
	if (tool === 'callgrind') {
		const [ta, tb] = [annotate(outA, true), annotate(outB, true)];
		const [totA, totB] = [callgrindTotal(ta), callgrindTotal(tb)];
		const [shaA, shaB] = [inclusiveOf(ta, SHA), inclusiveOf(tb, SHA)];
		console.log(`${kind} shell under callgrind: ${a} bytes relayed in ${totA} instructions, ${b} bytes in ${totB}`);
		console.log(`instructions per relayed byte: ${perByte(totB, totA).toFixed(1)}`);
		console.log(`of which SHA-256 (GnuTLS; SHA-NI natively, not under valgrind): ${perByte(shaB, shaA).toFixed(1)}; the rest: ${perByte(totB - shaB, totA - shaA).toFixed(1)}`);
		console.log(annotate(outB, true).split('\n').filter((l) => /^\s*[\d,]+ \(/.test(l)).slice(0, 30).join('\n'));
	} else if (tool === 'cpu') {
		const [ca, cb] = [cpuSeconds(outA), cpuSeconds(outB)];
		// The anchor: the same number of bytes through one pipe (cat FILE | cat > /dev/null).
		const file = path.join(stack.runDir, 'anchor.bin'), anchorOut = path.join(stack.runDir, 'anchor.cpu');
		writeFileSync(file, Buffer.alloc(b - a, 'A'));
		execFileSync(toolPrefix('cpu', anchorOut)[0], [...toolPrefix('cpu', anchorOut).slice(1), 'sh', '-c', `cat '${file}' | cat > /dev/null`]);
		const anchor = cpuSeconds(anchorOut);
		const ns = (x, y) => (perByte(x, y) * 1e9).toFixed(2);
		console.log(`${kind} shell, native CPU time: ${a} bytes relayed in ${ca.total.toFixed(3)} s, ${b} bytes in ${cb.total.toFixed(3)} s`);
		console.log(`ns of bridge CPU per relayed byte: ${ns(cb.total, ca.total)} (user ${ns(cb.user, ca.user)}, system ${ns(cb.system, ca.system)})`);
		console.log(`anchor, the same ${b - a} bytes through one pipe (cat | cat): ${(anchor.total / (b - a) * 1e9).toFixed(2)} ns per byte`);
		console.log(`ratio bridge / pipe: ${(perByte(cb.total, ca.total) / (anchor.total / (b - a))).toFixed(1)}`);
	}
	if (tool === 'strace') {
		// System calls per KiB relayed, by name (what the system time of the cpu tool is).
		const [ca, cb] = [straceCalls(outA), straceCalls(outB)];
		const rows = Object.keys({ ...ca, ...cb }).map((k) => [k, perByte(cb[k] || 0, ca[k] || 0) * 1024])
			.filter(([, v]) => v >= 0.01).sort((p, q) => q[1] - p[1]);
		console.log(`${kind} shell, system calls per KiB relayed: ${rows.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
	}
	// RELAY_PROFILE_KEEP=DIR keeps both reports (callgrind files for callgrind_annotate).
	if (process.env.RELAY_PROFILE_KEEP) {
		for (const f of [outA, outB])
			copyFileSync(f, path.join(process.env.RELAY_PROFILE_KEEP, `${kind}.${path.basename(f)}`));
	}
} finally {
	await stack.stop();
}
