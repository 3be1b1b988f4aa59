// The cost of session recordings (docs/recordings.md): relay throughput and the bridge's
// CPU time for the same `cat` of a large file through each shell, with recording off and
// on, in the same run: two local stacks side by side (recording.enabled false / true),
// their rounds interleaved so that the machine's load falls on both alike.
// Usage: node bench/recording.mjs [rounds=3] [megabytes=8]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { NODES, startStack } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';
import { Terminal } from '../tests/lib/terminal.mjs';

const rounds = Number(process.argv[2] || 3);
const megabytes = Number(process.argv[3] || 8);
const PROMPT = /[$#] $/m;
const TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function bridgePid(stack, sessionId) {
	return execFileSync('sqlite3', [path.join(stack.runDir, 'periscope.db'),
		`SELECT pid FROM shell_sessions WHERE id = '${sessionId}'`], { encoding: 'utf8' }).trim();
}

// utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15).
function cpuSeconds(pid) {
	const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
	const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

async function catOnce(stack, browser, shellPath) {
	const t = await Terminal.open(stack, shellPath, { cookie: `periscope_session=${browser.cookie()}` });
	t.resize(120, 40);
	const hello = await t.waitFrame('hello', 60000);
	const pid = bridgePid(stack, hello.sessionId);
	await t.waitOutput(PROMPT, 30000);
	const bytes = megabytes * 1000 * 1000;
	t.type(`head -c ${bytes * 3 / 4} /dev/zero | base64 -w 100 > /tmp/periscope-bench-rec; echo RE""ADY\r`);
	await t.waitOutput(/^READY\r?$/m, 60000);
	const before = t.output.length;
	const cpu0 = cpuSeconds(pid);
	const s0 = performance.now();
	t.type('cat /tmp/periscope-bench-rec; echo DO""NE\r');
	await t.waitOutput(/^DONE\r?$/m, 300000);
	const seconds = (performance.now() - s0) / 1000;
	const cpu = cpuSeconds(pid) - cpu0;
	const received = t.output.length - before;
	t.type('rm -f /tmp/periscope-bench-rec; exit\r');
	await t.end(30000);
	const castFile = path.join(stack.runDir, 'recordings', `${hello.sessionId}.cast`);
	const cast = fs.existsSync(castFile) ? fs.statSync(castFile).size : 0;
	return { mbps: received / 1e6 / seconds, cpuPerMB: (cpu * 1000) / (received / 1e6), cast, received };
}

const stacks = {};
try {
	stacks.off = await startStack({ config: { recording: { enabled: false } } });
	stacks.on = await startStack({ config: { recording: { enabled: true } } });
	const browsers = { off: await signIn(stacks.off, 'admin'), on: await signIn(stacks.on, 'admin') };
	for (const [kind, shellPath] of [['cluster shell', '/api/clusters/local/shell'], ['node shell', `/api/clusters/local/nodes/${NODES[0].name}/shell`]]) {
		const results = { off: [], on: [] };
		for (let i = 0; i < rounds; i++) {
			// Alternate which goes first, so neither always runs on a warmer machine.
			for (const mode of i % 2 ? ['on', 'off'] : ['off', 'on']) results[mode].push(await catOnce(stacks[mode], browsers[mode], shellPath));
		}
		const sum = (mode) => ({
			mbps: median(results[mode].map((r) => r.mbps)),
			cpu: median(results[mode].map((r) => r.cpuPerMB)),
		});
		const off = sum('off'), on = sum('on');
		const cast = results.on[0];
		console.log(`${kind}: cat of ${megabytes} MB, median of ${rounds}: recording off ${off.mbps.toFixed(2)} MB/s, bridge CPU ${off.cpu.toFixed(1)} ms/MB; ` +
			`recording on ${on.mbps.toFixed(2)} MB/s, bridge CPU ${on.cpu.toFixed(1)} ms/MB; throughput ${(100 * (on.mbps / off.mbps - 1)).toFixed(1)} %, ` +
			`CPU ${(100 * (on.cpu / off.cpu - 1)).toFixed(1)} %; the .cast ${(cast.cast / 1e6).toFixed(1)} MB for ${(cast.received / 1e6).toFixed(1)} MB relayed`);
	}
} finally {
	for (const s of Object.values(stacks)) await s.stop();
}
