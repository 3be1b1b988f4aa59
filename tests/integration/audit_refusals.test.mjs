// Refused terminals are audited, through the real stack (lighttpd or Apache,
// PERISCOPE_SERVER): each kind of refusal (401 anonymous, 403 tier, 403 foreign Origin,
// 429 cap) leaves an audit row with outcome denied, the open verb of the shell's kind, the
// code and the client's address, whether the FastCGI authorizer or periscope-wsbridge
// refused it; and 10,000 identical refusals, asked of the authorizer directly over
// FastCGI, leave a bounded number of rows that still account for every one of them.
//
// The stack aggregates refusals over 10 s windows (audit.refusalWindow; a minute by
// default) and sweeps every 2 s (database.sweepInterval; 15 s by default): the flood's
// summary row waits for its window to end and then for a pass, not for a minute.
import assert from 'node:assert/strict';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { fcgiRequest } from '../lib/fcgi-client.mjs';
import { signIn } from '../lib/session.mjs';
import { NODES, startStack, waitFor } from '../lib/stack.mjs';
import { jsonValue, stackRows } from '../lib/stack_sql.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { chooseServer } from '../lib/webserver.mjs';

const CLUSTER_SHELL = '/api/clusters/local/shell';
const NODE_SHELL = `/api/clusters/local/nodes/${NODES[0].name}/shell`;
// The browser's address as the web server sees it: not the stack's own 127.0.0.1.
const CLIENT = '127.0.0.3';
const FLOOD = 10000;
const CONCURRENCY = 32;
const WINDOW_S = 10;

// The stack's own rows, on either engine (PERISCOPE_DB).
const rows = stackRows;

// Opens a terminal that must be refused: the HTTP status of a refused upgrade, or the
// error frame of a refusal after it.
async function refused(stack, uri, { cookie, origin = stack.url } = {}) {
	let t;
	try {
		t = await Terminal.open(stack, uri, { cookie, origin, localAddress: CLIENT });
	} catch (e) {
		if (!e.status) throw e;
		return { status: e.status, code: e.body?.code };
	}
	const frame = await t.until('the refusal frame', () => t.frames.find((f) => f.type === 'error'));
	t.terminate();
	return { code: frame.code };
}

// The newest denied row of actor with code, as an audit admin reads it (polled: wsbridge
// writes its row in its own process).
async function deniedRow(admin, actor, code, verb = 'cluster_shell_open') {
	let row;
	await waitFor(`a denied ${verb} row of ${actor} with ${code}`, async () => {
		const list = await admin.get(`/api/audit?outcome=denied&verb=${verb}&actor=${encodeURIComponent(actor)}&limit=500`);
		row = list.json?.items?.find((r) => r.reason === code);
		return row;
	});
	return row;
}

function assertDenied(row, { actor, code, status }) {
	assert.equal(row.outcome, 'denied');
	assert.equal(row.actor.sub, actor);
	assert.equal(row.reason, code);
	assert.equal(row.cluster, 'local');
	assert.equal(row.extra.code, code);
	assert.equal(row.extra.status, status);
	assert.equal(row.extra.client, CLIENT, `the client's address: ${JSON.stringify(row)}`);
	assert.ok(['authorizer', 'wsbridge'].includes(row.extra.via), JSON.stringify(row));
	assert.equal(typeof row.extra.message, 'string');
}

describe(`refusals in the audit log, through ${chooseServer()}`, () => {
	let stack;
	let admin;
	let viewer;
	before(async () => {
		// websocketd's own Origin filter off: a foreign page must reach periscope's checks
		// (under Apache the authorizer cannot see the upgrade, wsbridge refuses it).
		stack = await startStack({
			websocketdOrigin: false,
			config: { clusterShell: { maxSessionsPerUser: 1 }, audit: { refusalWindow: `${WINDOW_S}s` }, database: { sweepInterval: '2s' } },
		});
		admin = await signIn(stack, 'admin');
		viewer = await signIn(stack, 'viewer');
	});
	after(async () => stack && (await stack.stop()));

	it('401 anonymous: a denied row for anonymous with E_AUTH', async () => {
		const r = await refused(stack, CLUSTER_SHELL);
		assert.equal(r.code, 'E_AUTH');
		assertDenied(await deniedRow(admin, 'anonymous', 'E_AUTH'), { actor: 'anonymous', code: 'E_AUTH', status: 401 });
	});

	it('403 tier: a denied row for the viewer with E_FORBIDDEN, which the viewer sees too', async () => {
		const r = await refused(stack, NODE_SHELL, { cookie: `periscope_session=${viewer.cookie()}` });
		assert.equal(r.code, 'E_FORBIDDEN');
		const row = await deniedRow(admin, 'user-viewer', 'E_FORBIDDEN', 'ssm_session_open');
		assertDenied(row, { actor: 'user-viewer', code: 'E_FORBIDDEN', status: 403 });
		const own = await viewer.get('/api/audit?outcome=denied');
		assert.equal(own.status, 200);
		assert.ok(own.json.items.some((i) => i.id === row.id), 'the viewer sees their own refusal');
		assert.ok(own.json.items.every((i) => i.actor.sub === 'user-viewer'), 'and only their own');
	});

	it('403 foreign Origin: a denied row for the admin with E_ORIGIN', async () => {
		const r = await refused(stack, CLUSTER_SHELL, { cookie: `periscope_session=${admin.cookie()}`, origin: 'http://evil.example' });
		assert.equal(r.code, 'E_ORIGIN');
		const row = await deniedRow(admin, 'user-admin', 'E_ORIGIN');
		assertDenied(row, { actor: 'user-admin', code: 'E_ORIGIN', status: 403 });
		// lighttpd shows the authorizer the upgrade; Apache does not, and wsbridge refuses.
		assert.equal(row.extra.via, stack.server === 'apache' ? 'wsbridge' : 'authorizer');
	});

	it('429 cap: a denied row for the admin with E_CAP_USER', async () => {
		const first = await Terminal.open(stack, CLUSTER_SHELL, { cookie: `periscope_session=${admin.cookie()}` });
		try {
			await first.until('the first session\'s hello', () => first.frames.find((f) => f.type === 'hello'), 60000);
			const r = await refused(stack, CLUSTER_SHELL, { cookie: `periscope_session=${admin.cookie()}` });
			assert.equal(r.code, 'E_CAP_USER');
			assertDenied(await deniedRow(admin, 'user-admin', 'E_CAP_USER'), { actor: 'user-admin', code: 'E_CAP_USER', status: 429 });
		} finally {
			first.send({ type: 'close' });
			await first.until('the first session\'s end', () => first.frames.find((f) => f.type === 'closed'), 60000);
		}
		const all = await admin.get('/api/audit?outcome=denied&limit=500');
		assert.deepEqual([...new Set(all.json.items.map((i) => i.reason))].sort(), ['E_AUTH', 'E_CAP_USER', 'E_FORBIDDEN', 'E_ORIGIN']);
	});

	it(`${FLOOD} identical refusals asked of the authorizer make a bounded number of rows that count every one, summed up by the sweep after their window; the chain holds`, async () => {
		const ask = () => fcgiRequest(stack.fcgiAddress, {
			GATEWAY_INTERFACE: 'CGI/1.1', SERVER_PROTOCOL: 'HTTP/1.1', SERVER_NAME: '127.0.0.1',
			SERVER_PORT: String(stack.port), REMOTE_ADDR: '192.0.2.10', REQUEST_METHOD: 'GET',
			REQUEST_URI: NODE_SHELL, HTTP_HOST: `127.0.0.1:${stack.port}`, HTTP_UPGRADE: 'websocket',
			HTTP_CONNECTION: 'Upgrade', HTTP_ORIGIN: stack.url,
		});
		const startS = Math.floor(Date.now() / 1000);
		let next = 0;
		const statuses = {};
		await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
			while (next < FLOOD) {
				next += 1;
				const r = await ask();
				statuses[r.status] = (statuses[r.status] ?? 0) + 1;
			}
		}));
		const endS = Math.floor(Date.now() / 1000);
		assert.deepEqual(statuses, { 401: FLOOD });

		const key = "verb = 'ssm_session_open' AND outcome = 'denied' AND actor_sub = 'anonymous' AND reason = 'E_AUTH'";
		// The open windows first, then the rows: a sweep between the two reads moves a window's
		// count into a summary row that the second read sees.
		const open = Object.fromEntries(rows(stack, "SELECT first_id, count FROM audit_refusal_windows WHERE verb = 'ssm_session_open' AND actor_sub = 'anonymous' AND code = 'E_AUTH'").map((w) => [w.first_id, w.count]));
		const written = rows(stack, `SELECT id, ${jsonValue(stack, 'extra', 'count')} AS count, ${jsonValue(stack, 'extra', 'first_id')} AS first_id,
			${jsonValue(stack, 'extra', 'aggregated')} AS aggregated FROM audit_events WHERE ${key} ORDER BY id`);
		const windows = Math.floor(endS / WINDOW_S) - Math.floor(startS / WINDOW_S) + 1;
		assert.ok(written.length >= 1 && written.length <= 2 * windows,
			`at most a first row and a summary per window (${windows} windows of ${WINDOW_S} s): ${written.length} rows`);
		// Every refusal is accounted for: a window's summary row has its count; a window
		// still open has its count in audit_refusal_windows; a window of one has its row.
		const firsts = written.filter((r) => !r.aggregated);
		const summaries = Object.fromEntries(written.filter((r) => r.aggregated).map((r) => [r.first_id, r.count]));
		const accounted = firsts.reduce((sum, f) => sum + (summaries[f.id] ?? open[f.id] ?? 1), 0);
		assert.equal(accounted, FLOOD, `rows ${JSON.stringify(written)}, open windows ${JSON.stringify(open)}`);
		const first = (await admin.get(`/api/audit/${firsts[0].id}`)).json;
		assert.deepEqual([first.verb, first.outcome, first.reason, first.extra.client, first.extra.via], ['ssm_session_open', 'denied', 'E_AUTH', '192.0.2.10', 'authorizer']);
		console.log(`${FLOOD} refusals in ${endS - startS} s: ${written.length} rows`);

		// Once its window is over, periscope.fcgi's sweep writes the summary of a window still
		// open, with no further refusal to do it (at most a window plus a 2 s sweep). The
		// flood's last window may be summed up already: more refusals, one at a time, open one
		// and count in it (two within one window).
		let window;
		await waitFor('an open window of more than one refusal', async () => {
			[window] = rows(stack, "SELECT first_id, count FROM audit_refusal_windows WHERE verb = 'ssm_session_open' AND actor_sub = 'anonymous' AND code = 'E_AUTH' AND count > 1");
			if (!window) assert.equal((await ask()).status, 401);
			return window;
		}, { timeoutMs: 30000, intervalMs: 100 });
		let summary;
		await waitFor(`the summary row of the window of row ${window.first_id}`, () => {
			[summary] = rows(stack, `SELECT ${jsonValue(stack, 'extra', 'count')} AS count FROM audit_events WHERE ${key} AND ${jsonValue(stack, 'extra', 'first_id', { asInteger: true })} = ${window.first_id}`);
			return summary;
		}, { timeoutMs: (WINDOW_S + 2) * 1000 + 30000, intervalMs: 500 });
		assert.equal(summary.count, window.count);

		// Refusals, sign-ins and sessions came from periscope.fcgi's workers and from
		// several periscope-wsbridge processes: the chain holds.
		const verify = await admin.get('/api/audit/verify');
		assert.equal(verify.status, 200, verify.text);
		assert.equal(verify.json.intact, true, verify.text);
	});
});
