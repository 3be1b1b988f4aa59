// What one maintenance sweep of cluster-shell objects costs with N live terminals
// (lib/k8s/cluster_shell_sweep.c, every 15 s in periscope.fcgi): instructions (callgrind,
// counted inside cluster_shell_sweep_all only), and how long the apiserver fake's event loop,
// which also carries every terminal's exec stream, is held by the sweep's requests.
//
// One real cluster shell is opened; its registry row and its five objects (Pod, Secret,
// ServiceAccount, ClusterRole, ClusterRoleBinding) are copied N-1 times under other session
// ids, so every copy looks live (the row names the real bridge's pid) and is as large as a
// real one; D more sessions have objects and no row (dead: the sweep must delete them). The
// stack's own periscope.fcgi is paused; a second one with the same configuration runs under
// callgrind until the dead sessions' objects are gone, then stops (its maintenance thread
// finishes the pass first).
// Usage: node bench/sweep_profile.mjs [N=500] [D=2]   (SQLite stack; SWEEP_PROFILE_FCGI: another
// periscope.fcgi to profile, such as an older build's, for a before/after)
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { BUILD_DIR, startStack, waitFor } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';
import { stackSql } from '../tests/lib/stack_sql.mjs';
import { Terminal } from '../tests/lib/terminal.mjs';

const live = Number(process.argv[2] || 500);
const dead = Number(process.argv[3] || 2);
const SESSION_LABEL = 'periscope.io/session-id';
const KINDS = [['pods', true], ['secrets', true], ['serviceaccounts', true], ['clusterroles', false], ['clusterrolebindings', false]];
const NS = 'periscope-system';

const fakeId = (tag, i) => `00000000-0000-4000-${tag}-${String(i).padStart(12, '0')}`;

// The session's objects copied under another id: names and labels follow the id.
function copyObjects(store, realId, id) {
	const realName = `periscope-shell-${realId}`;
	const name = `periscope-shell-${id}`;
	for (const [resource, namespaced] of KINDS) {
		const ns = namespaced ? NS : undefined;
		const obj = store.peek(resource, ns, realName);
		if (!obj) throw new Error(`the real session has no ${resource} ${realName}`);
		const copy = JSON.parse(JSON.stringify(obj).replaceAll(realId, id));
		delete copy.metadata.uid;
		delete copy.metadata.resourceVersion;
		copy.metadata.name = name;
		store.create(resource, ns, copy);
	}
}

const stack = await startStack({ config: { clusterShell: { maxSessionsPerUser: 10, maxSessionsTotal: 10 } } });
try {
	if (stack.db !== 'sqlite') throw new Error('bench/sweep_profile.mjs copies rows with SQLite\'s SQL: run it on the SQLite stack');
	const admin = await signIn(stack, 'admin');
	const t = await Terminal.open(stack, '/api/clusters/local/shell', { cookie: `periscope_session=${admin.cookie()}` });
	const hello = await t.waitFrame('hello', 60000);
	const realId = hello.sessionId;
	const store = stack.api.state.store;
	await waitFor('the real session\'s five objects', () => KINDS.every(([r, namespaced]) => store.has(r, namespaced ? NS : undefined, `periscope-shell-${realId}`)), { timeoutMs: 60000 });
	const columns = stackSql(stack, "SELECT group_concat(name, ',') FROM pragma_table_info('shell_sessions') WHERE name <> 'id'");
	stackSql(stack, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${live - 1})
		INSERT INTO shell_sessions (id, ${columns}) SELECT '00000000-0000-4000-8000-' || printf('%012d', i), ${columns}
		FROM n, shell_sessions WHERE id = '${realId}'`);
	for (let i = 1; i < live; i++) copyObjects(store, realId, fakeId('8000', i));
	for (let i = 1; i <= dead; i++) copyObjects(store, realId, fakeId('9000', i));
	const rows = Number(stackSql(stack, 'SELECT count(*) FROM shell_sessions'));
	const objects = () => KINDS.reduce((a, [r, namespaced]) => a + store.list(r, namespaced ? NS : undefined, (o) => o.metadata.labels?.[SESSION_LABEL]).items.length, 0);
	console.log(`${rows} live rows, ${objects()} labelled objects (${dead} dead sessions' among them)`);

	// The event loop with no sweep, as long as a sweep under callgrind takes at least: on a
	// shared machine a thread waits for a CPU too, which is no request's doing.
	const idle = monitorEventLoopDelay({ resolution: 1 });
	idle.enable();
	await new Promise((resolve) => setTimeout(resolve, 5000));
	idle.disable();
	const own = stack.process('periscope-fcgi').child.pid;
	process.kill(own, 'SIGSTOP');
	const out = path.join(stack.runDir, 'callgrind.sweep');
	const sock = path.join(stack.runDir, 'profiled.sock');
	const loop = monitorEventLoopDelay({ resolution: 1 });
	const before = stack.api.state.requests.length;
	loop.enable();
	const child = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, '--toggle-collect=cluster_shell_sweep_all',
		process.env.SWEEP_PROFILE_FCGI || path.join(BUILD_DIR, 'fcgi/periscope.fcgi'), '--socket', sock], { env: stack.env, stdio: ['ignore', 'ignore', 'ignore'] });
	const exited = new Promise((resolve) => child.on('exit', resolve));
	try {
		await waitFor('the sweep to delete the dead sessions\' objects', () => {
			for (let i = 1; i <= dead; i++) if (KINDS.some(([r, namespaced]) => store.has(r, namespaced ? NS : undefined, `periscope-shell-${fakeId('9000', i)}`))) return false;
			return true;
		}, { timeoutMs: 1800000, intervalMs: 200 });
	} finally {
		child.kill('SIGTERM');
		await exited;
		loop.disable();
		process.kill(own, 'SIGCONT');
	}
	const left = Number(stackSql(stack, 'SELECT count(*) FROM shell_sessions'));
	if (left !== rows || objects() !== 5 * live) throw new Error(`the sweep took live sessions: ${left} rows and ${objects()} objects left of ${rows} and ${5 * live}`);
	const lists = stack.api.state.requests.slice(before).filter((r) => r.method === 'GET' && /labelSelector/.test(r.query));
	const annotate = execFileSync('callgrind_annotate', ['--inclusive=yes', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
	const total = Number(/([\d,]+)(?: \(100\.0%\))?\s+PROGRAM TOTALS/.exec(annotate)[1].replaceAll(',', ''));
	console.log(`one sweep over ${live} live sessions and ${dead} dead ones: ${total} instructions in cluster_shell_sweep_all (${lists.length} list requests)`);
	console.log(`the apiserver fake's event loop during the sweep: max ${(loop.max / 1e6).toFixed(1)} ms late, p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms;`
		+ ` for 5 s before it: max ${(idle.max / 1e6).toFixed(1)} ms, p99 ${(idle.percentile(99) / 1e6).toFixed(1)} ms (load average ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]})`);
	console.log(annotate.split('\n').filter((l) => /^\s*[\d,]+ \(/.test(l)).slice(0, 30).join('\n'));
	t.send({ type: 'close' });
	await t.end(30000);
} finally {
	await stack.stop();
}
