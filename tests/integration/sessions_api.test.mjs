// The live terminals and their recordings through the API (docs/sessions-api.md): the live
// list (everyone's for audit admins, one's own otherwise), ending a terminal (an audit
// admin any, a user their own; from our own pages only), the close row and audit row that
// say who ended it, and the recording download with who may have it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { NODES, startStack, waitFor } from '../lib/stack.mjs';
import { auditRow, signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { chooseServer } from '../lib/webserver.mjs';

const CLUSTER = '/api/clusters/local/shell';
const NODE = `/api/clusters/local/nodes/${NODES[0].name}/shell`;
// The bridge reads its row every second and its loop wakes at least every second.
const ENDS_WITHIN_MS = 2000;

async function open(stack, who, p) {
	const t = await Terminal.open(stack, p, { cookie: `periscope_session=${who.cookie()}` });
	t.resize(100, 30);
	const hello = await t.waitFrame('hello', 30000);
	await t.waitOutput(/[$#] $/m, 20000);
	return { t, id: hello.sessionId };
}

function del(who, stack, id, headers = { origin: stack.url }) {
	return who.request(`/api/sessions/${id}`, { method: 'DELETE', headers });
}

describe(`live sessions and recordings through ${chooseServer()}`, () => {
	let stack;
	let admin;
	let viewer;
	before(async () => {
		// The read tier may open cluster shells here, so a user who is no audit admin has
		// terminals of their own.
		stack = await startStack({ config: { clusterShell: { tiers: ['admin', 'read'], maxSessionsPerUser: 10 }, nodeShell: { maxSessionsPerUser: 10 } } });
		admin = await signIn(stack, 'admin');
		viewer = await signIn(stack, 'viewer');
	});
	after(async () => stack && (await stack.stop()));

	it('lists everyone\'s live terminals to an audit admin and only one\'s own to others; a viewer cannot end or fetch another\'s', async () => {
		const a = await open(stack, admin, NODE);
		const v = await open(stack, viewer, CLUSTER);
		const all = await admin.get('/api/sessions');
		assert.equal(all.status, 200);
		assert.equal(all.json.scope, 'all');
		const ids = all.json.items.map((s) => s.id);
		assert.ok(ids.includes(a.id) && ids.includes(v.id), `both live terminals: ${ids}`);
		const mine = all.json.items.find((s) => s.id === a.id);
		assert.deepEqual([mine.kind, mine.cluster, mine.target, mine.actor.sub, mine.actor.email, mine.tier],
			['node_shell', 'local', NODES[0].name, 'user-admin', 'admin@periscope.local', 'admin']);
		assert.ok(Math.abs(Date.parse(mine.startedAt) - Date.now()) < 120000, `startedAt: ${mine.startedAt}`);
		assert.ok(Number.isInteger(mine.idleSeconds) && mine.idleSeconds >= 0);
		assert.ok(Number.isInteger(mine.bytesIn) && Number.isInteger(mine.bytesOut));
		const theirs = all.json.items.find((s) => s.id === v.id);
		assert.deepEqual([theirs.kind, theirs.target, theirs.actor.sub, theirs.tier], ['cluster_shell', null, 'user-viewer', 'read']);

		const own = await viewer.get('/api/sessions');
		assert.equal(own.json.scope, 'self');
		assert.deepEqual(own.json.items.map((s) => s.id), [v.id]);

		// Not the viewer's: answered as if it did not exist.
		const refused = await del(viewer, stack, a.id);
		assert.deepEqual([refused.status, refused.json.code], [404, 'E_NOT_FOUND']);
		const denied = await auditRow(viewer, 'verb=session_terminate&outcome=denied');
		assert.deepEqual([denied.actor.sub, denied.reason, denied.extra.requested_id], ['user-viewer', 'E_NOT_FOUND', a.id], 'the refusal is audited');
		const rec = await viewer.get(`/api/sessions/${a.id}/recording`);
		assert.deepEqual([rec.status, rec.json.code], [404, 'E_NOT_FOUND']);
		a.t.type('echo STILL-""HERE\n');
		await a.t.waitOutput(/^STILL-HERE\r?$/m, 10000);
		assert.ok((await admin.get('/api/sessions')).json.items.some((s) => s.id === a.id), 'still live');
		for (const x of [a, v]) { x.t.send({ type: 'close' }); await x.t.end(20000); }
	});

	it('refuses an end that another site asks for', async () => {
		const a = await open(stack, admin, CLUSTER);
		const r = await del(admin, stack, a.id, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
		assert.deepEqual([r.status, r.json.code], [403, 'E_ORIGIN']);
		a.t.type('echo ALIVE-""YET\n');
		await a.t.waitOutput(/^ALIVE-YET\r?$/m, 10000);
		a.t.send({ type: 'close' });
		await a.t.end(20000);
	});

	for (const [kind, p, who, closeVerb] of [['cluster shell', CLUSTER, 'viewer', 'cluster_shell_close'], ['node shell', NODE, 'ops', 'ssm_session_close']]) {
		it(`lets an audit admin end another user's ${kind}, within 2 s, audited with who ended it`, async () => {
			const owner = who === 'viewer' ? viewer : await signIn(stack, who);
			const s = await open(stack, owner, p);
			const asked = Date.now();
			const r = await del(admin, stack, s.id);
			assert.deepEqual([r.status, r.json], [202, { id: s.id, status: 'ending' }]);
			const closed = await s.t.end(ENDS_WITHIN_MS + 3000);
			const took = Date.now() - asked;
			console.log(`# ${kind}: ended ${took} ms after the DELETE`);
			assert.ok(took <= ENDS_WITHIN_MS + 500, `ended within 2 s (and the round trip): ${took} ms`);
			assert.deepEqual([closed.type, closed.reason, closed.terminatedBy], ['closed', 'terminated', 'admin@periscope.local']);
			const close = await auditRow(admin, `verb=${closeVerb}&session_id=${s.id}`);
			assert.equal(close.reason, 'terminated');
			assert.equal(close.actor.sub, `user-${who}`, 'the close row is the owner\'s');
			assert.deepEqual(close.extra.terminated_by, { sub: 'user-admin', email: 'admin@periscope.local' });
			const act = await auditRow(admin, `verb=session_terminate&session_id=${s.id}`);
			assert.deepEqual([act.actor.sub, act.outcome, act.cluster], ['user-admin', 'success', 'local']);
			assert.equal(act.extra.owner.sub, `user-${who}`);
			assert.ok(!(await admin.get('/api/sessions')).json.items.some((x) => x.id === s.id), 'gone from the live list');
			assert.deepEqual((await del(admin, stack, s.id)).status, 404, 'an ended session cannot be ended again');
		});
	}

	it('lets a user end their own session, and fetch its recording', async () => {
		const s = await open(stack, viewer, CLUSTER);
		s.t.type('echo OWN-""RECORDING\n');
		await s.t.waitOutput(/^OWN-RECORDING\r?$/m, 10000);
		const r = await del(viewer, stack, s.id);
		assert.equal(r.status, 202);
		const closed = await s.t.end(ENDS_WITHIN_MS + 3000);
		assert.deepEqual([closed.reason, closed.terminatedBy], ['terminated', 'viewer@periscope.local']);
		const close = await auditRow(viewer, `verb=cluster_shell_close&session_id=${s.id}`);
		assert.deepEqual(close.extra.terminated_by, { sub: 'user-viewer', email: 'viewer@periscope.local' });
		const act = await auditRow(viewer, `verb=session_terminate&session_id=${s.id}`);
		assert.equal(act.actor.sub, 'user-viewer');

		for (const who of [viewer, admin]) {
			const rec = await who.get(`/api/sessions/${s.id}/recording`, { headers: { accept: '*/*' } });
			assert.equal(rec.status, 200);
			assert.equal(rec.headers.get('content-type'), 'application/x-asciicast');
			assert.equal(rec.headers.get('content-disposition'), `attachment; filename="${s.id}.cast"`);
			const [header, ...events] = rec.text.trimEnd().split('\n').map((l) => JSON.parse(l));
			assert.equal(header.version, 2);
			assert.match(events.filter((e) => e[1] === 'o').map((e) => e[2]).join(''), /^OWN-RECORDING\r?$/m);
			assert.equal(Buffer.byteLength(rec.text), close.extra.recording.bytes, 'the file as closed');
		}
		const played = await auditRow(admin, `verb=session_playback&session_id=${s.id}`);
		assert.equal(played.actor.sub, 'user-admin');
		for (const id of ['00000000-0000-4000-8000-000000000000', 'NOT-A-UUID']) {
			const nf = await admin.get(`/api/sessions/${id}/recording`);
			assert.deepEqual([nf.status, nf.json?.code], [404, 'E_NOT_FOUND'], id);
		}
		// An encoded slash: lighttpd hands it to the router, which finds no such session;
		// Apache decodes it first, and the router refuses the path.
		const traversal = await admin.get('/api/sessions/..%2F..%2Fetc%2Fpasswd/recording');
		assert.ok([[404, 'E_NOT_FOUND'], [400, 'E_INVALID_REQUEST']].some(([st, c]) => traversal.status === st && traversal.json?.code === c), `${traversal.status} ${traversal.text}`);
	});

	it('lets an audit admin watch a live session: output typed after the watcher joined, the operator told, audited', async () => {
		const s = await open(stack, viewer, CLUSTER);
		const refused = await viewer.get(`/api/sessions/${s.id}/watch`);
		assert.deepEqual([refused.status, refused.json.code], [403, 'E_FORBIDDEN'], 'only audit admins watch');
		const denied = await auditRow(viewer, 'verb=session_watch&outcome=denied');
		assert.deepEqual([denied.actor.sub, denied.extra.requested_id], ['user-viewer', s.id]);

		let offset = 0;
		let seen = '';
		let last;
		const poll = async () => {
			const r = await admin.get(`/api/sessions/${s.id}/watch?offset=${offset}`);
			assert.equal(r.status, 200, r.text);
			assert.equal(r.json.offset, offset);
			// Written at least every second: the first poll may find nothing yet.
			if (offset === 0 && r.json.data) assert.equal(JSON.parse(r.json.data.split('\n')[0]).version, 2, 'the header first');
			for (const line of r.json.data.split('\n').filter(Boolean)) {
				const e = JSON.parse(line);
				if (Array.isArray(e) && e[1] === 'o') seen += e[2];
			}
			offset = r.json.next;
			last = r.json;
			return r.json;
		};
		const first = await poll();
		assert.equal(first.live, true);
		// The operator's browser hears that someone watches.
		const told = await s.t.waitFrame('watched', 5000);
		assert.equal(told.watchers, 1);
		assert.equal((await admin.get('/api/sessions')).json.items.find((x) => x.id === s.id).watchers, 1);
		const joined = await auditRow(admin, `verb=session_watch&session_id=${s.id}`);
		assert.deepEqual([joined.actor.sub, joined.outcome], ['user-admin', 'success']);

		s.t.type('echo AFTER-""JOIN\n');
		await s.t.waitOutput(/^AFTER-JOIN\r?$/m, 10000);
		await waitFor('the watcher to see the output typed after it joined', async () => /^AFTER-JOIN\r?$/m.test(seen) || (await poll(), /^AFTER-JOIN\r?$/m.test(seen)), { timeoutMs: 10000, intervalMs: 300 });
		assert.ok(Buffer.concat(s.t.raw).toString('utf8').endsWith(seen.slice(-200)), 'what the watcher saw is what the operator got');
		const watchRows = (await admin.get(`/api/audit?verb=session_watch&session_id=${s.id}&limit=10`)).json.items;
		assert.equal(watchRows.length, 1, 'one audit row per watch, not per poll');

		s.t.send({ type: 'close' });
		await s.t.end(20000);
		// After the end, the watcher reads the rest and learns the session is over.
		await waitFor('the watch to report the end', async () => (await poll(), !last.live && last.next === last.size), { timeoutMs: 10000, intervalMs: 300 });
		const gone = await admin.get(`/api/sessions/${s.id}/watch`);
		assert.deepEqual([gone.status, gone.json.code], [404, 'E_NOT_FOUND'], 'no new watch of a closed session');
		const bad = await admin.get(`/api/sessions/${s.id}/watch?offset=-1`);
		assert.deepEqual([bad.status, bad.json.code], [400, 'E_INVALID_REQUEST']);
	});
});
