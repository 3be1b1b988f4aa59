// A SIGKILL storm through the real stack (issue 10): 50 terminals, 25 cluster shells and 25
// node shells, opened a few at a time and each SIGKILLed at a random moment after its
// admission (while its pod or SSM session is being set up, or live). Within 60 s of the
// last kill: 50 close rows with reason "lost", one per session; every SSM session of the
// storm Terminated at the AWS fake (by each bridge's guardian, with the operator's own
// credentials); no pod, Secret, ServiceAccount, ClusterRole or ClusterRoleBinding of a
// session left at the apiserver fake (the maintenance sweep, though nobody opens another
// session); and no file left in the temporary directories.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { NODES, startStack, waitFor, wsbridgeProcesses } from '../lib/stack.mjs';
import { signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { chooseServer } from '../lib/webserver.mjs';
import { stackSql } from '../lib/stack_sql.mjs';

const PER_KIND = 25;
const AT_ONCE = 5;
const AFTER_DEATH_MS = 60000;
const SESSION_OBJECTS = ['pods', 'secrets', 'serviceaccounts', 'clusterroles', 'clusterrolebindings'];
const SESSION_LABEL = 'periscope.io/session-id';

function registeredPids(stack) {
	const out = stackSql(stack, 'SELECT pid FROM shell_sessions');
	return out ? out.split('\n').map(Number) : [];
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe(`SIGKILL storm through ${chooseServer()}`, () => {
	let stack;
	let admin;
	let privateTmp;
	before(async () => {
		// The stack's programs get a temporary directory of their own, so that what they
		// leave there is theirs alone (other stacks may share the machine's).
		privateTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-storm-tmp-'));
		const caps = { maxSessionsPerUser: 50, maxSessionsTotal: 50 };
		// The maintenance pass every 2 s (database.sweepInterval; 15 s by default): the close
		// rows and the objects are its work alone here, and the 60 s promise holds for any
		// interval the key allows.
		stack = await startStack({ env: { TMPDIR: privateTmp }, config: { clusterShell: caps, nodeShell: caps, database: { sweepInterval: '2s' } } });
		admin = await signIn(stack, 'admin');
	});
	after(async () => {
		if (stack) await stack.stop();
		if (privateTmp) fs.rmSync(privateTmp, { recursive: true, force: true });
	});

	it('closes 50 killed terminals as lost within 60 s and leaves nothing behind', { timeout: 600000 }, async () => {
		const from = new Date().toISOString();
		const caFilesBefore = new Set(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('periscope-ca-')));
		const sessionsBefore = new Set(stack.aws.snapshot().sessions.map((s) => s.sessionId));
		const killed = new Set();
		const terminals = [];
		const paths = [];
		for (let i = 0; i < PER_KIND; i++) paths.push('/api/clusters/local/shell', `/api/clusters/local/nodes/${NODES[0].name}/shell`);
		let lastKill = 0;
		for (let b = 0; b < paths.length; b += AT_ONCE) {
			const batch = paths.slice(b, b + AT_ONCE);
			await Promise.all(batch.map(async (p) => {
				const t = await Terminal.open(stack, p, { cookie: `periscope_session=${admin.cookie()}` });
				t.resize(100, 30);
				terminals.push(t);
			}));
			// Each admitted bridge of the batch dies at its own random moment, 0-4 s after
			// admission: some while their pod or SSM session is set up, some live.
			let victims = [];
			await waitFor(`the ${batch.length} bridges of batch ${b / AT_ONCE + 1} to be admitted`, () => {
				victims = registeredPids(stack).filter((pid) => !killed.has(pid));
				return victims.length >= batch.length;
			}, { timeoutMs: 30000, intervalMs: 20 });
			await Promise.all(victims.map(async (pid) => {
				killed.add(pid);
				await sleep(Math.floor(Math.random() * 4000));
				process.kill(pid, 'SIGKILL');
				lastKill = Date.now();
			}));
		}
		assert.equal(killed.size, 2 * PER_KIND, 'every bridge of the storm was killed');

		// The close rows: one per session, all lost.
		let rows = [];
		await waitFor(`${2 * PER_KIND} "lost" close rows (within ${AFTER_DEATH_MS / 1000} s of the last SIGKILL)`, async () => {
			rows = [];
			for (const verb of ['cluster_shell_close', 'ssm_session_close']) {
				const r = await admin.get(`/api/audit?verb=${verb}&from=${from}&limit=500`);
				rows.push(...r.json.items);
			}
			return rows.length >= 2 * PER_KIND;
		}, { timeoutMs: AFTER_DEATH_MS - (Date.now() - lastKill), intervalMs: 1000 });
		const rowsAt = Date.now() - lastKill;
		assert.equal(rows.length, 2 * PER_KIND);
		assert.deepEqual([...new Set(rows.map((r) => r.reason))], ['lost']);
		assert.equal(new Set(rows.map((r) => r.extra.session_id)).size, 2 * PER_KIND, 'one close row per session');
		assert.equal(rows.filter((r) => r.verb === 'cluster_shell_close').length, PER_KIND);
		// Every open row of the storm has its close row.
		const opens = [];
		for (const verb of ['cluster_shell_open', 'ssm_session_open']) opens.push(...(await admin.get(`/api/audit?verb=${verb}&from=${from}&limit=500`)).json.items);
		const closed = new Set(rows.map((r) => r.extra.session_id));
		assert.deepEqual(opens.filter((o) => !closed.has(o.extra.session_id)), [], 'no open row without its close row');

		// The SSM sessions: each Terminated by its guardian.
		const storm = () => stack.aws.snapshot().sessions.filter((s) => !sessionsBefore.has(s.sessionId));
		await waitFor(`every SSM session of the storm Terminated (within ${AFTER_DEATH_MS / 1000} s of the last SIGKILL)`,
			() => storm().every((s) => s.status === 'Terminated' || s.status === 'Failed'),
			{ timeoutMs: Math.max(1000, AFTER_DEATH_MS - (Date.now() - lastKill)), intervalMs: 500 })
			.catch((e) => {
				e.message += `: ${JSON.stringify(storm().filter((s) => s.status !== 'Terminated').map((s) => [s.sessionId, s.status]))}`;
				throw e;
			});
		const ssmAt = Date.now() - lastKill;

		// The cluster objects: the sweep deletes them though no one opens another session.
		const left = () => SESSION_OBJECTS.flatMap((kind) => stack.api.state.store.list(kind, undefined,
			(o) => Boolean(o.metadata.labels?.[SESSION_LABEL])).items.map((o) => `${kind}/${o.metadata.name}`));
		await waitFor(`no object of a storm session at the apiserver (within ${AFTER_DEATH_MS / 1000} s of the last SIGKILL)`,
			() => left().length === 0, { timeoutMs: Math.max(1000, AFTER_DEATH_MS - (Date.now() - lastKill)), intervalMs: 500 })
			.catch((e) => {
				e.message += `: ${left().slice(0, 10).join(', ')}`;
				throw e;
			});
		const objectsAt = Date.now() - lastKill;

		await waitFor('every guardian to exit once its session was terminated', () => wsbridgeProcesses(stack).length === 0, { timeoutMs: 10000 });
		assert.deepEqual(fs.readdirSync(privateTmp), [], 'nothing in the stack\'s temporary directory');
		assert.deepEqual(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('periscope-ca-') && !caFilesBefore.has(n)), [],
			'no CA file in the machine\'s temporary directory');
		console.log(`# after the last SIGKILL: close rows ${rowsAt} ms, SSM sessions terminated ${ssmAt} ms, cluster objects gone ${objectsAt} ms; ${storm().length} SSM sessions started`);
		for (const t of terminals) t.terminate();
	});
});
