// Benchmark of the terminals through the whole local stack (lighttpd, websocketd,
// wsbridge, the fakes): time from WebSocket open to `hello` and to the first prompt byte,
// wsbridge's resident memory per session, and the throughput of `cat` of a large file
// through each shell. Usage: node bench/shells.mjs [rounds=5] [megabytes=4]
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { findPtyhost } from '../tests/fakes/common/ptyhost.mjs';
import { BUILD_DIR, NODES, ROOT, startStack } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';
import { Terminal } from '../tests/lib/terminal.mjs';
import { rollup, sessionAnon } from './procmem.mjs';

const rounds = Number(process.argv[2] || 5);
const megabytes = Number(process.argv[3] || 4);
const PROMPT = /[$#] $/m;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function bridgePid(stack, sessionId) {
	return execFileSync('sqlite3', [path.join(stack.runDir, 'periscope.db'),
		`SELECT pid FROM shell_sessions WHERE id = '${sessionId}'`], { encoding: 'utf8' }).trim();
}

// Resident and private memory of the bridge, and what one more session costs: the
// anonymous pages of the bridge and of the node shell's guardian, counted once (private
// also counts a library's clean pages while no other process maps them, and misses the
// pages the guardian shares with the bridge after its fork; bench/procmem.mjs) in KiB.
function memoryKiB(pid) {
	const r = rollup(pid);
	return { rss: r.rss, private: r.private, session: sessionAnon(pid).total };
}

// Where the private memory is: per mapping name ([heap], anonymous, each library's data).
function privateByMapping(pid) {
	const totals = new Map();
	let name = '';
	for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
		const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
		if (head) { name = path.basename(head[1]) || '[anonymous]'; continue; }
		const m = /^Private_(?:Clean|Dirty):\s+(\d+)/.exec(line);
		if (m) totals.set(name, (totals.get(name) || 0) + Number(m[1]));
	}
	return [...totals].filter(([, kib]) => kib >= 64).sort((a, b) => b[1] - a[1])
		.map(([n, kib]) => `${n} ${kib}`).join(', ');
}

// The baseline: the same cat in a local pty (the fakes run their shells the same way), so
// the ratio shows what the whole path (web server, websocketd, wsbridge, the protocol,
// the fake's pty) costs over the terminal itself.
async function localPtyMBps() {
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
	return received / 1e6 / ((performance.now() - t0) / 1000);
}

async function measure(stack, browser, shellPath, label, baseline) {
	const hello = [], prompt = [], rss = [], priv = [], session = [];
	let where = '';
	for (let i = 0; i < rounds; i++) {
		const t0 = performance.now();
		const t = await Terminal.open(stack, shellPath, { cookie: `periscope_session=${browser.cookie()}` });
		t.resize(120, 40);
		const h = await t.waitFrame('hello', 60000);
		hello.push(performance.now() - t0);
		await t.until('first output', () => t.output.length > 0, 30000);
		prompt.push(performance.now() - t0);
		await t.waitOutput(PROMPT);
		const pid = bridgePid(stack, h.sessionId);
		const mem = memoryKiB(pid);
		rss.push(mem.rss);
		priv.push(mem.private);
		session.push(mem.session);
		if (i === 0) where = privateByMapping(pid);
		t.send({ type: 'close' });
		await t.end(30000);
	}
	// Throughput: cat of a file of `megabytes` MB made on the remote side.
	const t = await Terminal.open(stack, shellPath, { cookie: `periscope_session=${browser.cookie()}` });
	t.resize(120, 40);
	const catHello = await t.waitFrame('hello', 60000);
	const catPid = bridgePid(stack, catHello.sessionId);
	await t.waitOutput(PROMPT);
	const bytes = megabytes * 1000 * 1000;
	t.type(`head -c ${bytes * 3 / 4} /dev/zero | base64 -w 100 > /tmp/periscope-bench; echo RE""ADY\r`);
	await t.waitOutput(/^READY\r?$/m, 60000);
	const before = t.output.length;
	const s0 = performance.now();
	t.type('cat /tmp/periscope-bench; echo DO""NE\r');
	await t.waitOutput(/^DONE\r?$/m, 300000);
	const seconds = (performance.now() - s0) / 1000;
	const received = t.output.length - before;
	const after = memoryKiB(catPid);
	t.type('rm -f /tmp/periscope-bench; exit\r');
	await t.end(30000);
	console.log(`${label}: open->hello ${median(hello).toFixed(0)} ms, open->first prompt byte ${median(prompt).toFixed(0)} ms (median of ${rounds}); ` +
		`wsbridge RSS ${median(rss)} KiB, private ${median(priv)} KiB, the session's anonymous memory ${median(session)} KiB (idle at the prompt; private KiB by mapping: ${where}); cat ${(received / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s = ${(received / 1e6 / seconds).toFixed(2)} MB/s, ` +
		`ratio to a local pty ${((received / 1e6 / seconds) / baseline).toFixed(2)}; private after the cat ${after.private} KiB, the session's anonymous memory ${after.session} KiB`);
}

const baseline = await localPtyMBps();
console.log(`baseline: cat of ${megabytes} MB in a local pty: ${baseline.toFixed(2)} MB/s`);
const stack = await startStack();
try {
	const admin = await signIn(stack, 'admin');
	await measure(stack, admin, '/api/clusters/local/shell', 'cluster shell', baseline);
	await measure(stack, admin, `/api/clusters/local/nodes/${NODES[0].name}/shell`, 'node shell   ', baseline);
} finally {
	await stack.stop();
}
